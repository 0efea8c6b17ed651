"""User text to SymPy, safely: one parser for every place a person types an expression.

``collapse check EXPR``, the values of ``--at`` (``T=10*(i+1)**2``, ``lam=1/3``), ``--where`` and the
test helpers all come here. ``sympy.sympify`` would run the text through Python's ``eval``
(``__import__('os').system(...)`` runs); this parser never evaluates Python. It parses the text with
Python's own parser into a syntax tree (``ast.parse`` builds the tree and runs nothing) and builds the
SymPy expression from that tree, allowing only:

* numbers (a decimal like ``0.1`` is read exactly, as 1/10), the names it is given (a claim's
  parameters, the schedule index ``i``), the constants ``pi``, ``E``, ``EulerGamma``, ``oo``;
* ``+ - * / **`` and unary minus; calls of the functions in :data:`FUNCTIONS` (and the claims'
  named functions such as ``c4``) with positional arguments; tuples as the limits of ``Sum`` and
  ``Product``.

Anything else (attribute access, subscripts, strings, keywords, lambdas, comprehensions, unknown
names) is refused with an :class:`ExpressionError` that names the construct. Sizes are bounded: the
text's length, the depth and node count of the tree, and any number built while parsing (a power of
numbers with more than :data:`MAX_DIGITS` digits, such as ``10**10**10``, is refused rather than
computed), and so are the arguments of a call (``c4()`` is refused here, naming the count). Expressions
that are not finite real numbers (``1/0``, ``0/0``, ``I``, ``nan``) are refused here too. Building the
expression computes nothing that grows with the numbers in it: functions SymPy would evaluate exactly
or by comparing numbers stay unevaluated, and constants SymPy would compute to learn their sign
(``sin(exp(exp(exp(10))))``) are held from it (:class:`theory.evaluation.Held`). Evaluating the result
numerically is bounded in work and time by ``theory.evaluation``.

>>> from theory import symbols as S
>>> parse("sigma**2*d/(T-d-1)*harmonic(n, 2)", {"sigma": S.sigma, "d": S.d, "T": S.T, "n": S.n})
d*sigma**2*harmonic(n, 2)/(T - d - 1)
>>> parse("0.1")
1/10
>>> parse("__import__('os').system('true')")
Traceback (most recent call last):
    ...
theory.expressions.ExpressionError: "__import__('os').system": only named functions can be called
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Mapping

import sympy as sp

from .errors import UserError
from .evaluation import Held

#: Longest text accepted, in characters.
MAX_LENGTH = 2000
#: Deepest nesting and most nodes of the syntax tree.
MAX_DEPTH = 60
MAX_NODES = 2000
#: Most decimal digits of a number built while parsing (e.g. by a power of numbers).
MAX_DIGITS = 1000


class ExpressionError(UserError, ValueError):
    """Text that is not an allowed expression; the message names what is wrong."""


#: Functions an expression may call, by the name a user types.
FUNCTIONS: dict[str, Callable] = {
    "sqrt": sp.sqrt, "exp": sp.exp, "log": sp.log, "sin": sp.sin, "cos": sp.cos, "tan": sp.tan,
    "atan": sp.atan, "sinh": sp.sinh, "cosh": sp.cosh, "tanh": sp.tanh, "erf": sp.erf, "erfc": sp.erfc,
    "gamma": sp.gamma, "loggamma": sp.loggamma, "digamma": sp.digamma, "polygamma": sp.polygamma,
    "harmonic": sp.harmonic, "zeta": sp.zeta, "factorial": sp.factorial, "binomial": sp.binomial,
    "beta": sp.beta, "Abs": sp.Abs, "Min": sp.Min, "Max": sp.Max, "floor": sp.floor, "ceiling": sp.ceiling,
    "Sum": sp.Sum, "Product": sp.Product, "Rational": sp.Rational,
}
#: Functions SymPy computes exactly at integers, without a bound on the work (gamma(10**6) written out,
#: harmonic(10**6, T) as a sum of 10**6 terms): kept unevaluated, and evaluated numerically later.
_EXACT_AT_NUMBERS = {"gamma", "loggamma", "digamma", "polygamma", "harmonic", "zeta", "factorial", "binomial",
                     "beta"}
#: Functions SymPy evaluates at numbers by comparing them or taking their integer part, numerically and
#: without a bound on the work (Max(exp(exp(exp(10))), exp(exp(exp(11)))) takes seconds): kept
#: unevaluated where an argument is a number that is not rational, and evaluated (bounded) later.
_COMPARING = {"Abs", "Min", "Max", "floor", "ceiling"}
#: Functions taking limits (symbol, lower, upper) as tuples.
_LIMITED = {"Sum", "Product"}

CONSTANTS: dict[str, sp.Basic] = {"pi": sp.pi, "E": sp.E, "EulerGamma": sp.EulerGamma, "oo": sp.oo}

_REFUSED_NAMES = {
    "nan": "NaN is not a value an expression can take",
    "NaN": "NaN is not a value an expression can take",
    "inf": "write oo for infinity",
    "zoo": "complex infinity is not a value an expression can take",
    "I": "complex numbers are not supported",
    "j": "complex numbers are not supported",
}

_OPS = {ast.Add: sp.Add, ast.Sub: None, ast.Mult: sp.Mul, ast.Div: None, ast.Pow: None}


def _named_functions() -> dict[str, Callable]:
    """The claims' own named functions (c4, ...), by their printed names."""
    from .evaluation import NamedFunction

    out = {}
    stack = list(NamedFunction.__subclasses__())
    while stack:
        cls = stack.pop()
        out[cls.pretty_name or cls.__name__] = cls
        stack += cls.__subclasses__()
    return out


def _digits(x: sp.Basic) -> float:
    """Decimal digits of a rational number's numerator plus denominator (0 for other numbers)."""
    if isinstance(x, sp.Rational):
        p, q = abs(int(x.p)), int(x.q)
        return (math.log10(p) if p else 0) + math.log10(q)
    return 0.0


def _power(base: sp.Basic, exp: sp.Basic, text: str) -> sp.Basic:
    """base**exp, refusing a power of numbers that would have more than MAX_DIGITS digits."""
    if base.is_number and exp.is_number and isinstance(exp, sp.Rational):
        if isinstance(base, sp.Rational) and abs(base) not in (0, 1):
            size = max(_digits(base), math.log10(2)) * abs(float(exp))
            if size > MAX_DIGITS:
                raise ExpressionError(f"{text}: the number would have about {size:.3g} digits "
                                      f"(at most {MAX_DIGITS} are allowed)")
        elif not isinstance(base, sp.Rational):
            return sp.Pow(base, exp, evaluate=abs(exp) <= 64)  # e.g. pi**1000000: keep it symbolic
    return sp.Pow(base, exp)


class _Builder:
    def __init__(self, text: str, names: Mapping[str, sp.Basic], functions: Mapping[str, Callable]):
        self.text = text
        self.names = dict(names)
        self.functions = dict(functions)
        self.nodes = 0

    def segment(self, node: ast.AST) -> str:
        return ast.get_source_segment(self.text, node) or self.text

    def build(self, node: ast.AST, depth: int = 0, in_limits: bool = False) -> sp.Basic:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise ExpressionError(f"the expression is too long (more than {MAX_NODES} parts)")
        if depth > MAX_DEPTH:
            raise ExpressionError(f"the expression is nested too deeply (more than {MAX_DEPTH} levels)")
        d = depth + 1
        if isinstance(node, ast.Constant):
            return self.constant(node)
        if isinstance(node, ast.Name):
            return self.name(node.id)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            value = self.build(node.operand, d)
            return -value if isinstance(node.op, ast.USub) else value
        if isinstance(node, ast.BinOp):
            return _hold(self.binop(node, d), self.segment(node))
        if isinstance(node, ast.Call):
            return _hold(self.call(node, d), self.segment(node))
        if isinstance(node, ast.Tuple) and in_limits:
            return sp.Tuple(*[self.build(e, d) for e in node.elts])
        raise ExpressionError(f"{self.segment(node)!r}: {_describe(node)} is not allowed in an expression")

    def constant(self, node: ast.Constant) -> sp.Basic:
        v = node.value
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            what = "a string" if isinstance(v, str) else "a complex number" if isinstance(v, complex) else repr(v)
            raise ExpressionError(f"{self.segment(node)!r}: {what} is not allowed in an expression")
        if isinstance(v, int):
            if v and math.log10(abs(v)) > MAX_DIGITS:
                raise ExpressionError(f"a number with more than {MAX_DIGITS} digits is not allowed")
            return sp.Integer(v)
        if not math.isfinite(v):
            raise ExpressionError(f"{self.segment(node)!r} is not a finite number")
        text = self.segment(node).replace("_", "")
        try:
            return sp.Rational(text)  # exact: 0.1 is 1/10, not the float nearest to it
        except (TypeError, ValueError):
            return sp.Float(v)

    def name(self, name: str) -> sp.Basic:
        if name in self.names:
            return self.names[name]
        if name in CONSTANTS:
            return CONSTANTS[name]
        if name in _REFUSED_NAMES:
            raise ExpressionError(f"{name!r}: {_REFUSED_NAMES[name]}")
        if name in self.functions:
            raise ExpressionError(f"{name!r} is a function: call it, e.g. {name}(...)")
        known = sorted(self.names) + sorted(CONSTANTS)
        raise ExpressionError(f"unknown name {name!r} (names: {', '.join(known)})")

    def binop(self, node: ast.BinOp, d: int) -> sp.Basic:
        if isinstance(node.op, ast.BitXor):
            raise ExpressionError(f"{self.segment(node)!r}: '^' is not a power here; write '**'")
        if type(node.op) not in _OPS:
            raise ExpressionError(f"{self.segment(node)!r}: the operator {type(node.op).__name__} is not allowed "
                                  "(use + - * / **)")
        a, b = self.build(node.left, d), self.build(node.right, d)
        op = node.op
        if isinstance(op, ast.Add):
            return a + b
        if isinstance(op, ast.Sub):
            return a - b
        if isinstance(op, ast.Mult):
            return a * b
        if isinstance(op, ast.Div):
            if b == 0:
                raise ExpressionError(f"{self.segment(node)!r}: division by zero")
            return a / b
        return _power(a, b, self.segment(node))

    def call(self, node: ast.Call, d: int) -> sp.Basic:
        if not isinstance(node.func, ast.Name):
            raise ExpressionError(f"{self.segment(node.func)!r}: only named functions can be called")
        fname = node.func.id
        if fname not in self.functions:
            raise ExpressionError(f"unknown function {fname!r} (functions: {', '.join(sorted(self.functions))})")
        if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
            raise ExpressionError(f"{self.segment(node)!r}: {fname} takes positional arguments only")
        limited = fname in _LIMITED
        args = [self.build(a, d, in_limits=limited and i > 0) for i, a in enumerate(node.args)]
        fn = self.functions[fname]
        if limited:
            if len(args) < 2 or not all(isinstance(a, sp.Tuple) and len(a) == 3 and isinstance(a[0], sp.Symbol)
                                        for a in args[1:]):
                raise ExpressionError(f"{self.segment(node)!r}: {fname} takes a body and limits (symbol, lower, upper)")
        try:
            if fname in _EXACT_AT_NUMBERS or (
                    fname in _COMPARING and any(a.is_number and not isinstance(a, sp.Rational) for a in args)):
                return fn(*args, evaluate=False)
            return fn(*args)
        except ExpressionError:
            raise
        except (TypeError, ValueError, ArithmeticError) as e:
            raise ExpressionError(f"{self.segment(node)!r}: {e}") from None


def _exposed(value: sp.Basic) -> bool:
    """Whether SymPy may see ``value`` as it is: not a constant, or one whose sign SymPy finds without
    computing much (a number, pi, a polynomial in them), or one already held."""
    if not value.is_number or isinstance(value, (sp.Number, sp.NumberSymbol, Held)):
        return True
    if isinstance(value, (sp.Add, sp.Mul)):
        return all(_exposed(a) for a in value.args)
    return isinstance(value, sp.Pow) and value.exp.is_Integer and _exposed(value.base)


def _hold(value: sp.Basic, text: str) -> sp.Basic:
    """``value``, held from SymPy (:class:`theory.evaluation.Held`) if it is a constant SymPy would have
    to compute to answer questions about it (``sin(exp(exp(exp(10))))``), so that the expressions built
    on it (a square root of it asks whether it is negative) compute nothing."""
    if _exposed(value):
        return value
    check_real(value, text)  # (a held constant is opaque to the check of the whole expression)
    return Held(value)


def _describe(node: ast.AST) -> str:
    kinds = {ast.Attribute: "attribute access", ast.Subscript: "indexing", ast.Lambda: "a lambda",
             ast.Compare: "a comparison", ast.BoolOp: "a logical operator", ast.IfExp: "a conditional",
             ast.List: "a list", ast.Dict: "a dict", ast.Set: "a set", ast.Tuple: "a tuple",
             ast.ListComp: "a comprehension", ast.GeneratorExp: "a comprehension", ast.NamedExpr: "an assignment",
             ast.JoinedStr: "a string", ast.Await: "await", ast.Starred: "unpacking"}
    for cls, what in kinds.items():
        if isinstance(node, cls):
            return what
    return type(node).__name__


def parse(text: str, names: Mapping[str, sp.Basic] | None = None, *,
          functions: Mapping[str, Callable] | None = None) -> sp.Expr:
    """The SymPy expression written in ``text``, built without running any Python.

    ``names`` maps the names the text may use to SymPy symbols (or values); ``functions`` defaults to
    :data:`FUNCTIONS` and the claims' named functions. Raises :class:`ExpressionError`, naming what is
    not allowed, for anything else.
    """
    if not isinstance(text, str):
        raise ExpressionError(f"an expression must be text, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"the expression is too long ({len(text)} characters; at most {MAX_LENGTH})")
    if not text.strip():
        raise ExpressionError("the expression is empty")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as e:
        raise ExpressionError(f"cannot read {text.strip()!r}: {e.msg}") from None
    except (ValueError, RecursionError, MemoryError):
        raise ExpressionError(f"cannot read {text.strip()!r}") from None
    fns = {**FUNCTIONS, **_named_functions()} if functions is None else dict(functions)
    builder = _Builder(text.strip(), names or {}, fns)
    try:
        expr = builder.build(tree.body)
    except RecursionError:
        raise ExpressionError(f"the expression is nested too deeply (more than {MAX_DEPTH} levels)") from None
    check_real(expr, text.strip())
    return expr


def check_real(expr: sp.Basic, text: str) -> None:
    """Refuse an expression that is not a finite real quantity (NaN, complex infinity, I)."""
    if expr.has(sp.nan, sp.zoo):
        raise ExpressionError(f"{text!r} is not a number (it contains NaN or a division by zero)")
    if expr.has(sp.I):
        raise ExpressionError(f"{text!r}: complex numbers are not supported")
    if not isinstance(expr, sp.Expr):
        raise ExpressionError(f"{text!r} is not an arithmetic expression")
