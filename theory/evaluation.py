"""Numeric evaluation of claim expressions: mpmath at a working precision, bounded in work and time.

Numeric evaluation walks the SymPy tree: ``Sum`` and ``Product`` nodes become loops, everything else
is lambdified to mpmath and evaluated at ``DPS`` significant digits, so results carry at least 15
correct digits. The same code evaluates constant-size forms, sample-size schedules, the values a user
gives (``--at``) and expressions a user typed (``collapse check``), so every evaluation is bounded by
construction: it ends within seconds or fails with an :class:`EvaluationError` that names what was
too large.

* Nothing is computed exactly by SymPy: numbers beyond a few digits are replaced by symbols before an
  expression is rewritten and compiled (``c4(10**6)`` would otherwise expand into an exact Gamma
  function of 499999.5), functions SymPy's printers lack go to guarded mpmath functions rather than
  SymPy rewrites (``binomial`` rewritten at numbers is an exact factorial), and the constants a user
  writes reach SymPy :class:`Held` (opaque), to be evaluated here on their own.
* Loops: one evaluation runs at most :data:`MAX_TERMS` loop terms in all, nested loops together
  (the product of their lengths); a loop nest that the rest of the budget cannot pay for is refused
  before it starts.
* Functions whose cost grows with their arguments (``exp``, powers, the trigonometric, error and
  gamma families, the orders of ``polygamma``, ``zeta`` and ``harmonic``) go through guards that
  refuse an argument beyond :data:`MAX_ARGUMENT` or an order beyond :data:`MAX_ORDER` before mpmath
  sees it (mpmath would work with as many bits as the argument has: ``exp(exp(exp(20)))`` needs
  some 10**8 of them), and that turn mpmath's own failures (poles, no convergence) into
  :class:`EvaluationError`.
* Time: a deadline (:data:`MAX_SECONDS`), checked at every loop term and every guarded call, is the
  last line of defence.

A :class:`Budget` spans one evaluation (:func:`budget`); evaluations inside it share it.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import inspect
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple

import mpmath
import sympy as sp
from sympy.printing.numpy import SciPyPrinter
from sympy.printing.pycode import MpmathPrinter

from .errors import UserError

#: Working precision (decimal digits) of claim evaluation.
DPS = 40

#: Most loop terms (sum and product terms, recursion steps) one evaluation runs, nested loops counted
#: together: under two seconds of the simplest terms (some 8 us each).
MAX_TERMS = 200_000
#: Longest one evaluation may run, in seconds: the last line of defence, checked at each loop term and
#: each guarded function call.
MAX_SECONDS = 5.0
#: Largest absolute value of an argument of a guarded function (exp, powers, sin, gamma, zeta, ...):
#: beyond it mpmath's work grows with the argument's size. Gamma at the largest sizes (1e18) is within.
MAX_ARGUMENT = 10**30
#: Largest order of polygamma, zeta and harmonic (polygamma(1000, x) takes about 0.1 s), and farthest
#: left of 0 the argument of polygamma or of Hurwitz's zeta may be where mpmath recurses to the right.
MAX_ORDER = 1000
#: Numerators and denominators up to this stay literal when an expression is compiled; larger numbers
#: become symbols, so that SymPy cannot compute with them exactly.
_SMALL = 64


class EvaluationError(UserError, ValueError):
    """An evaluation that would not end in reasonable time, or gave no finite number."""


class Budget:
    """What one evaluation may still spend: loop terms, and time until its deadline."""

    __slots__ = ("terms", "deadline")

    def __init__(self) -> None:
        self.terms = MAX_TERMS
        self.deadline = time.monotonic() + MAX_SECONDS

    def reserve(self, what: str, count: int) -> None:
        """Refuse, before it starts, a loop nest of ``count`` terms that the rest of the budget cannot pay."""
        if count > self.terms:
            left = "" if self.terms == MAX_TERMS else f" ({self.terms:,} are left)"
            raise EvaluationError(f"{what} has {count:,} terms; at most {MAX_TERMS:,} are evaluated in all{left}")

    def spend(self, what: str) -> None:
        """Pay for one loop term; past the budget (a nest whose size was underestimated), refuse."""
        self.terms -= 1
        if self.terms < 0:
            raise EvaluationError(f"{what}: the loops ran past {MAX_TERMS:,} terms; at most {MAX_TERMS:,} are "
                                  "evaluated in all")
        self.tick(what)

    def tick(self, what: str) -> None:
        """Refuse to go on past the deadline."""
        if time.monotonic() > self.deadline:
            raise EvaluationError(f"the evaluation took more than {MAX_SECONDS:g} s (stopped at {what})")


_ACTIVE: contextvars.ContextVar[Budget | None] = contextvars.ContextVar("evaluation_budget", default=None)


@contextlib.contextmanager
def budget() -> Iterator[Budget]:
    """The budget of the evaluation under way, or a new one for the duration of the block: everything
    evaluated inside, in however many calls, shares it."""
    active = _ACTIVE.get()
    if active is not None:
        yield active
        return
    token = _ACTIVE.set(Budget())
    try:
        yield _ACTIVE.get()
    finally:
        _ACTIVE.reset(token)


def check_terms(what: str, count: int) -> None:
    """Refuse a loop of more than :data:`MAX_TERMS` steps (or more than the budget under way has left),
    naming it."""
    if count > MAX_TERMS:
        raise EvaluationError(f"{what} has {count:,} terms; at most {MAX_TERMS:,} are evaluated")
    active = _ACTIVE.get()
    if active is not None:
        active.reserve(what, count)


class _Seq:
    """A schedule or a vector as the lambdified code sees it: indexable by mpmath integers.

    ``offset`` is the index of the first value (0 for schedules T_0, T_1, ...; 1 for vectors and h_t).
    """

    __slots__ = ("values", "offset")

    def __init__(self, values: Sequence, offset: int = 0):
        self.values = [mpmath.mpf(v) for v in values]
        self.offset = offset

    def __getitem__(self, idx: Any) -> mpmath.mpf:
        return self.values[int(idx) - self.offset]


def _harmonic_as_zeta(e: sp.harmonic) -> sp.Expr:
    # H_n^(m) = zeta(m) - zeta(m, n + 1); for m = 1, H_n = digamma(n + 1) + EulerGamma.
    nn, m = (e.args + (sp.S.One,))[:2]
    if m == 1:
        return sp.polygamma(0, nn + 1) + sp.EulerGamma
    return sp.zeta(m) - sp.zeta(m, nn + 1)


class NamedFunction(sp.Function):
    """A special function that prints under its own name but evaluates through its definition.

    Subclasses implement ``definition(*args)`` (an expression in elementary and gamma functions) and
    set ``latex_name`` / ``pretty_name``.
    """

    latex_name = ""
    pretty_name = ""

    def __new__(cls, *args, **options):
        # SymPy checks the argument count of its own functions only; without this, c4() would fail
        # later, deep inside the definition.
        count = len(inspect.signature(cls.definition).parameters)
        if len(args) != count:
            raise TypeError(f"{cls.pretty_name or cls.__name__} takes {count} argument{'s' * (count != 1)} "
                            f"({len(args)} given)")
        return super().__new__(cls, *args, **options)

    @classmethod
    def definition(cls, *args: sp.Expr) -> sp.Expr:  # pragma: no cover - abstract
        raise NotImplementedError

    def expand_definition(self) -> sp.Expr:
        return self.definition(*self.args)

    def _eval_rewrite_as_gamma(self, *args, **kwargs):
        return self.definition(*args)

    def _latex(self, printer, exp=None):
        body = rf"{self.latex_name}\left({', '.join(printer._print(a) for a in self.args)}\right)"
        return rf"{body}^{{{exp}}}" if exp else body

    def _sympystr(self, printer):
        return f"{self.pretty_name or self.func.__name__}({', '.join(printer._print(a) for a in self.args)})"

    def _pretty(self, printer):
        from sympy.printing.pretty.stringpict import prettyForm

        name = prettyForm(self.pretty_name or self.func.__name__)
        args = printer._print_seq(self.args, "(", ")")
        return prettyForm(*name.right(args))

    def _eval_evalf(self, prec):
        return self.expand_definition()._eval_evalf(prec)


class Held(sp.AtomicExpr):
    """A constant a user wrote, such as ``sin(exp(exp(10)))`` or ``polygamma(10**6, 3)``, held from SymPy.

    SymPy answers a question such as "is this negative?" about a constant by evaluating it, and some of
    its functions rebuild their arguments with exact evaluation (``gamma(10**6)`` written out), neither
    bounded in work: ``sqrt(sin(exp(exp(exp(10)))))`` or ``polygamma(T, gamma(10**6))`` would not be
    built in minutes. To SymPy a held constant is an atom with no known value or sign; it prints as
    what it holds, and the evaluation here computes it (within the budget).
    """

    is_number = True

    def __new__(cls, value: sp.Expr):
        obj = super().__new__(cls)
        obj.value = value
        return obj

    def __getnewargs__(self):
        return (self.value,)

    def _hashable_content(self):
        return (self.value,)

    def _eval_evalf(self, prec):
        return None

    def _sympystr(self, printer):
        return printer._print(self.value)

    def _latex(self, printer, exp=None):
        body = printer._print(self.value)
        return rf"\left({body}\right)^{{{exp}}}" if exp else body

    def _pretty(self, printer):
        return printer._print(self.value)


def expand_named(expr: sp.Expr) -> sp.Expr:
    """Replace every :class:`NamedFunction` by its definition."""
    return expr.replace(lambda e: isinstance(e, NamedFunction), lambda e: e.expand_definition())


def _for_mpmath(expr: sp.Expr) -> sp.Expr:
    """Rewrite functions that SymPy's numeric printers lack (for the float64 form: the mpmath
    evaluation below calls guarded functions instead)."""
    expr = expand_named(expr)
    return expr.replace(lambda e: isinstance(e, sp.harmonic), _harmonic_as_zeta)


# --------------------------------------------------------------------------------------------------
# Guarded functions: what the compiled code calls for the functions whose cost grows with their arguments
# --------------------------------------------------------------------------------------------------


def _show(x: Any) -> str:
    return mpmath.nstr(x, 6) if isinstance(x, (mpmath.mpf, mpmath.mpc)) else str(x)


def _bounded(call: Callable[[], str], *args: Any) -> None:
    """Refuse a non-finite argument, or one beyond MAX_ARGUMENT in absolute value."""
    for a in args:
        if not mpmath.isfinite(a):
            raise EvaluationError(f"{call()}: the argument {_show(a)} is not a finite number")
        if abs(a) > MAX_ARGUMENT:
            raise EvaluationError(f"{call()}: arguments beyond {MAX_ARGUMENT:.0e} in absolute value are not "
                                  "evaluated (the work grows with the argument)")


def _order(call: Callable[[], str], what: str, m: Any, integer: bool = False) -> None:
    """Refuse an order beyond MAX_ORDER in absolute value (or, for polygamma, one that is not an integer >= 0)."""
    if integer and not (isinstance(m, (int, mpmath.mpf)) and mpmath.isint(m) and 0 <= m <= MAX_ORDER):
        raise EvaluationError(f"{call()}: the {what} must be an integer from 0 to {MAX_ORDER}")
    if abs(m) > MAX_ORDER:
        raise EvaluationError(f"{call()}: the {what} is beyond {MAX_ORDER} in absolute value, which is not evaluated")


def _near(call: Callable[[], str], what: str, x: Any) -> None:
    """Refuse an argument left of -MAX_ORDER or off the real line beyond MAX_ORDER (mpmath recurses
    from there towards the right half-plane, one step per unit)."""
    if (isinstance(x, mpmath.mpc) or x < 0) and abs(x) > MAX_ORDER:
        raise EvaluationError(f"{call()}: the {what} {_show(x)} is beyond {MAX_ORDER} from 0, away from the "
                              "positive reals, which is not evaluated")


def _guard(name: str, fn: Callable, check: Callable | None = None) -> Callable:
    """``fn`` behind the budget's deadline, ``check`` (which raises EvaluationError), and a translation
    of mpmath's own failures (a pole, no convergence) into EvaluationError. A division by zero is left
    as it is: the callers name the pole."""

    def guarded(*args):
        def call() -> str:
            return f"{name}({', '.join(_show(a) for a in args)})"

        active = _ACTIVE.get()
        if active is not None:
            active.tick(name)
        if check is None:
            _bounded(call, *args)
        else:
            check(call, *args)
        try:
            return fn(*args)
        except (EvaluationError, ZeroDivisionError):
            raise
        except (ValueError, ArithmeticError, TypeError, RecursionError, mpmath.libmp.NoConvergence) as e:
            raise EvaluationError(f"{call()}: {e}") from None

    guarded.__name__ = name
    return guarded


def _check_power(call: Callable[[], str], x: Any, y: Any) -> None:
    _bounded(call, y)
    if not mpmath.isfinite(x):
        raise EvaluationError(f"{call()}: the base {_show(x)} is not a finite number")
    if x == 0 or x == 1 or y == 0:
        return
    with mpmath.workprec(24):  # x**y = exp(y log x): exp's bound on y log x, roughly
        exponent = abs(y * mpmath.log(x))
    if exponent > MAX_ARGUMENT:
        raise EvaluationError(f"{call()}: the power is exp of {_show(exponent)}, beyond {MAX_ARGUMENT:.0e}, which "
                              "is not evaluated (the work grows with it)")


def _check_polygamma(call: Callable[[], str], m: Any, x: Any) -> None:
    _order(call, "order", m, integer=True)
    _bounded(call, x)
    _near(call, "argument", x)


def _check_zeta(call: Callable[[], str], s: Any, a: Any = None) -> None:
    _order(call, "argument s", s)
    _bounded(call, s)
    if a is not None:
        _bounded(call, a)
        if isinstance(s, mpmath.mpc) or s < 1:
            if abs(a) > MAX_ORDER:
                raise EvaluationError(f"{call()}: with s < 1, a beyond {MAX_ORDER} in absolute value is not "
                                      "evaluated")
        else:
            _near(call, "argument a", a)


def _check_harmonic(call: Callable[[], str], n: Any, m: Any = 1) -> None:
    _order(call, "order", m)
    _bounded(call, n, m)


def _harmonic(n: Any, m: Any = 1) -> Any:
    """H_n^(m), numerically as :func:`_harmonic_as_zeta` writes it, through the guarded functions."""
    if m == 1:
        return _GUARDED["polygamma"](0, n + 1) + mpmath.euler
    return _GUARDED["zeta"](m) - _GUARDED["zeta"](m, n + 1)


def _check_order_free(call: Callable[[], str], *args: Any) -> None:
    for a in args:
        if isinstance(a, mpmath.mpc):
            raise EvaluationError(f"{call()}: {_show(a)} is not real, and complex numbers have no order")


_GUARDED: dict[str, Callable] = {
    **{name: _guard(name, getattr(mpmath, name)) for name in
       ("exp", "sinh", "cosh", "tanh", "sin", "cos", "tan", "erf", "erfc", "gamma", "loggamma", "factorial",
        "beta", "binomial")},
    "power": _guard("power", mpmath.power, _check_power),
    "polygamma": _guard("polygamma", mpmath.polygamma, _check_polygamma),
    "zeta": _guard("zeta", mpmath.zeta, _check_zeta),
    "harmonic": _guard("harmonic", _harmonic, _check_harmonic),
    "digamma": _guard("digamma", mpmath.digamma, lambda call, x: _check_polygamma(call, 0, x)),
    "min": _guard("Min", min, _check_order_free),
    "max": _guard("Max", max, _check_order_free),
}


class _GuardedPrinter(MpmathPrinter):
    """SymPy's mpmath printer, with powers other than small integer and square-root ones, binomial
    (which SymPy would rewrite, exactly, as factorials) and harmonic as calls of the guarded functions."""

    def _print_Pow(self, expr, rational=False):
        e = expr.exp
        if (e.is_Integer and abs(e) <= _SMALL) or e in (sp.S.Half, -sp.S.Half):
            return super()._print_Pow(expr, rational=rational)
        return f"power({self._print(expr.base)}, {self._print(e)})"

    def _print_binomial(self, expr):
        return f"binomial({self._print(expr.args[0])}, {self._print(expr.args[1])})"

    def _print_harmonic(self, expr):
        return f"harmonic({', '.join(self._print(a) for a in expr.args)})"


_PRINTER = _GuardedPrinter({"fully_qualified_modules": False, "inline": True, "allow_unknown_functions": True,
                            "user_functions": {}})


# --------------------------------------------------------------------------------------------------
# Compilation and evaluation
# --------------------------------------------------------------------------------------------------


class _Code(NamedTuple):
    """An expression compiled: ``fn(*args)`` computes it once ``loops`` (its Sum/Product children, which
    are evaluated as loops, and its held constants, evaluated on their own) and ``numbers`` (large
    numbers, as symbols) have their values."""

    fn: Callable
    args: list
    loops: list[tuple[sp.Dummy, sp.Expr]]
    numbers: tuple[tuple[sp.Dummy, sp.Number], ...]


def _is_loop(e: sp.Basic) -> bool:
    return isinstance(e, (sp.Sum, sp.Product))


def _is_cut(e: sp.Basic) -> bool:
    """Whether ``e`` is evaluated on its own rather than in its parent's compiled code."""
    return isinstance(e, (sp.Sum, sp.Product, Held))


def _hide_numbers(expr: sp.Expr) -> tuple[sp.Expr, tuple[tuple[sp.Dummy, sp.Number], ...]]:
    """``expr`` with its large numbers (a numerator or denominator above _SMALL, any float) as symbols."""
    large = [a for a in expr.atoms(sp.Number)
             if isinstance(a, sp.Float) or (isinstance(a, sp.Rational) and (abs(a.p) > _SMALL or a.q > _SMALL))]
    dummies = {a: sp.Dummy("K") for a in large}
    return expr.xreplace(dummies), tuple((d, a) for a, d in dummies.items())


@functools.lru_cache(maxsize=4096)
def _compile(expr: sp.Expr) -> _Code:
    """Split ``expr`` into its Sum/Product children and held constants, and a skeleton lambdified to
    guarded mpmath."""
    loops: list[tuple[sp.Dummy, sp.Expr]] = []

    def cut(e):
        if _is_cut(e):
            dummy = sp.Dummy("L")
            loops.append((dummy, e))
            return dummy
        if not e.args or not e.has(sp.Sum, sp.Product, Held):
            return e
        return e.func(*[cut(a) for a in e.args])

    skeleton, numbers = _hide_numbers(cut(expr))
    skeleton = expand_named(skeleton)
    if skeleton.has(sp.zoo, sp.nan):
        raise EvaluationError(f"{expr} is not a number (its definition divides by zero)")
    if skeleton.has(sp.AccumBounds):
        raise EvaluationError(f"{expr} is not a number (it has no single value: a bound such as sin(oo))")
    args = sorted(skeleton.free_symbols, key=lambda s: s.sort_key())
    bases = sorted({ix.base for ix in skeleton.atoms(sp.Indexed)}, key=lambda b: str(b))
    # Indexed objects' own symbols (the base label) appear in free_symbols: keep the bases instead.
    labels = {b.label for b in bases}
    args = [a for a in args if a not in labels and not isinstance(a, sp.Indexed)]
    try:
        fn = sp.lambdify(args + bases, skeleton, modules=[_GUARDED, "mpmath"], printer=_PRINTER)
    except (ValueError, KeyError, TypeError, NotImplementedError) as e:  # SymPy cannot print it (a complex infinity
        # hidden in a Min, a function no printer knows): not a number this evaluator can compute
        raise EvaluationError(f"{expr} cannot be evaluated ({type(e).__name__}: {' '.join(str(e).split())})") from None
    return _Code(fn, args + bases, loops, numbers)


def _number(x: sp.Basic) -> mpmath.mpf:
    """A SymPy number at the working precision."""
    if isinstance(x, sp.Rational):
        return mpmath.mpf(int(x.p)) / int(x.q)
    if x.is_finite:
        return mpmath.mpf(sp.N(x, mpmath.mp.dps + 5))
    return mpmath.inf * (1 if x.is_positive else -1)


def mp_eval(expr: sp.Expr, env: Mapping) -> mpmath.mpf:
    """Evaluate ``expr`` with mpmath, given values for its free symbols (and schedule bases), within
    the budget under way (a new one if none is)."""
    with budget() as b:
        return _eval(expr, env, b)


def number(expr: sp.Expr, dps: int = DPS) -> mpmath.mpf | mpmath.mpc:
    """The value of a constant expression (a value a user gave) at ``dps`` digits, within the budget."""
    with mpmath.workdps(dps):
        try:
            return +mp_eval(expr, {})
        except ZeroDivisionError:
            raise EvaluationError(f"{expr} divides by zero") from None


def _eval(expr: sp.Expr, env: Mapping, b: Budget) -> mpmath.mpf:
    if _is_loop(expr):
        return _loop(expr, env, b)
    if isinstance(expr, Held):
        return _eval(expr.value, env, b)
    if isinstance(expr, sp.Number) or expr in (sp.oo, -sp.oo):
        return _number(expr)
    code = _compile(expr)
    local = dict(env)
    for dummy, value in code.numbers:
        local[dummy] = _number(value)
    for dummy, sub in code.loops:
        local[dummy] = _eval(sub, env, b)
    try:
        return code.fn(*[local[a] for a in code.args])
    except KeyError as e:  # pragma: no cover - a claim author's error
        raise RuntimeError(f"no value for symbol {e} in {expr}") from None


def _limits(expr: sp.Expr, env: Mapping, b: Budget) -> tuple[sp.Symbol, int, int, sp.Expr, str]:
    """The outermost loop of a Sum/Product: its index, integer bounds, body (the inner limits) and name."""
    var, lo, hi = expr.limits[-1]  # the last limit is the outermost loop
    what = f"the {type(expr).__name__.lower()} over {var}"
    bounds = []
    for bound in (lo, hi):
        value = _eval(bound, env, b)
        if not (isinstance(value, mpmath.mpf) and mpmath.isfinite(value) and mpmath.isint(value)):
            raise EvaluationError(f"{what}: the bound {bound} is {_show(value)}, not an integer")
        bounds.append(int(value))
    body = expr.func(expr.function, *expr.limits[:-1]) if len(expr.limits) > 1 else expr.function
    return var, bounds[0], bounds[1], body, what


def _terms(expr: sp.Expr, env: Mapping, b: Budget) -> int:
    """Loop terms evaluating ``expr`` takes, estimated before it starts."""
    if isinstance(expr, Held):
        return _terms(expr.value, env, b)
    if not _is_loop(expr):
        return sum(_terms(sub, env, b) for _, sub in _compile(expr).loops)
    var, lo, hi, body, _ = _limits(expr, env, b)
    return _nest(var, lo, hi, body, env, b)


def _nest(var: sp.Symbol, lo: int, hi: int, body: sp.Expr, env: Mapping, b: Budget) -> int:
    """Terms of a loop and the loops in its body: its length times one plus the body's terms with the
    index at its middle value (exact where the inner lengths are linear in the index, as in a triangular
    sum; elsewhere :meth:`Budget.spend` stops a nest that runs over)."""
    count = max(0, hi - lo + 1)
    if not count or not body.has(sp.Sum, sp.Product, Held):
        return count
    return count * (1 + _terms(body, {**env, var: mpmath.mpf((lo + hi) // 2)}, b))


def _loop(expr: sp.Expr, env: Mapping, b: Budget) -> mpmath.mpf:
    var, lo, hi, body, what = _limits(expr, env, b)
    b.reserve(what, max(0, hi - lo + 1))  # before estimating the nest, which evaluates the inner bounds
    if body.has(sp.Sum, sp.Product, Held):
        b.reserve(f"{what}, with the loops inside it,", _nest(var, lo, hi, body, env, b))
    local = dict(env)
    acc = mpmath.mpf(0) if isinstance(expr, sp.Sum) else mpmath.mpf(1)
    for idx in range(lo, hi + 1):
        b.spend(what)
        local[var] = mpmath.mpf(idx)
        if isinstance(expr, sp.Sum):
            acc += _eval(body, local, b)
        else:
            acc *= _eval(body, local, b)
    return acc


class _Printer(SciPyPrinter):
    """SciPy printer that also prints Product as a loop (SymPy's prints only Sum)."""

    def _print_Product(self, expr):
        loops = " ".join(
            f"for {self._print(v)} in range({self._print(lo)}, {self._print(hi)}+1)" for v, lo, hi in expr.limits
        )
        return f"(math.prod({self._print(expr.function)} {loops}))"

