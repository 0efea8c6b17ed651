"""Numeric evaluation of claim expressions: mpmath at a working precision, bounded in work.

Numeric evaluation walks the SymPy tree: ``Sum`` and ``Product`` nodes become loops, everything else
is lambdified to mpmath and evaluated at ``DPS`` significant digits, so results carry at least 15
correct digits. The same code evaluates constant-size forms, sample-size schedules and expressions a
user typed (``collapse check``): nothing here evaluates SymPy exactly (an exact power or factorial of
a large number can take hours), and every loop is bounded (:data:`MAX_TERMS`), so evaluation at any
point ends quickly or fails with a message that names the loop.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

import mpmath
import sympy as sp
from sympy.printing.numpy import SciPyPrinter

from .errors import UserError

#: Working precision (decimal digits) of claim evaluation.
DPS = 40

#: Most terms a sum, a product or a recursion is evaluated for (a larger one is refused by name).
MAX_TERMS = 1_000_000


class EvaluationError(UserError, ValueError):
    """An evaluation that would not end in reasonable time, or gave no finite number."""


def check_terms(what: str, count: int) -> None:
    """Refuse a loop of more than :data:`MAX_TERMS` steps, naming it."""
    if count > MAX_TERMS:
        raise EvaluationError(f"{what} has {count:,} terms; at most {MAX_TERMS:,} are evaluated")



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


def expand_named(expr: sp.Expr) -> sp.Expr:
    """Replace every :class:`NamedFunction` by its definition."""
    return expr.replace(lambda e: isinstance(e, NamedFunction), lambda e: e.expand_definition())


def _for_mpmath(expr: sp.Expr) -> sp.Expr:
    """Rewrite functions that SymPy's mpmath printer lacks."""
    expr = expand_named(expr)
    return expr.replace(lambda e: isinstance(e, sp.harmonic), _harmonic_as_zeta)


@functools.lru_cache(maxsize=4096)
def _compile(expr: sp.Expr):
    """Split ``expr`` into a lambdified skeleton and its Sum/Product children (evaluated by loops)."""
    loops: list[tuple[sp.Dummy, sp.Expr]] = []

    def is_loop(e):
        return isinstance(e, (sp.Sum, sp.Product))

    def cut(e):
        if is_loop(e):
            dummy = sp.Dummy("L")
            loops.append((dummy, e))
            return dummy
        if not e.args or not e.has(sp.Sum, sp.Product):
            return e
        return e.func(*[cut(a) for a in e.args])

    skeleton = cut(_for_mpmath(expr)) if not is_loop(expr) else None
    if skeleton is None:
        return None, [], None
    args = sorted(skeleton.free_symbols, key=lambda s: s.sort_key())
    bases = sorted({ix.base for ix in skeleton.atoms(sp.Indexed)}, key=lambda b: str(b))
    # Indexed objects' own symbols (the base label) appear in free_symbols: keep the bases instead.
    labels = {b.label for b in bases}
    args = [a for a in args if a not in labels and not isinstance(a, sp.Indexed)]
    fn = sp.lambdify(args + bases, skeleton, modules="mpmath")
    return fn, loops, args + bases


def mp_eval(expr: sp.Expr, env: Mapping) -> mpmath.mpf:
    """Evaluate ``expr`` with mpmath, given values for its free symbols (and schedule bases)."""
    if isinstance(expr, (sp.Sum, sp.Product)):
        # The last limit is the outermost loop.
        var, lo, hi = expr.limits[-1]
        lo, hi = int(mp_eval(lo, env)), int(mp_eval(hi, env))
        check_terms(f"the {type(expr).__name__.lower()} over {var}", hi - lo + 1)
        body = expr.func(expr.function, *expr.limits[:-1]) if len(expr.limits) > 1 else expr.function
        local = dict(env)
        if isinstance(expr, sp.Sum):
            acc = mpmath.mpf(0)
            for idx in range(lo, hi + 1):
                local[var] = mpmath.mpf(idx)
                acc += mp_eval(body, local)
        else:
            acc = mpmath.mpf(1)
            for idx in range(lo, hi + 1):
                local[var] = mpmath.mpf(idx)
                acc *= mp_eval(body, local)
        return acc
    if isinstance(expr, sp.Number) or expr in (sp.oo, -sp.oo):
        return mpmath.mpf(sp.N(expr, DPS + 5)) if expr.is_finite else mpmath.inf * (1 if expr.is_positive else -1)
    fn, loops, args = _compile(expr)
    local = dict(env)
    for dummy, sub in loops:
        local[dummy] = mp_eval(sub, env)
    try:
        return fn(*[local[a] for a in args])
    except KeyError as e:  # pragma: no cover - a claim author's error
        raise RuntimeError(f"no value for symbol {e} in {expr}") from None


class _Printer(SciPyPrinter):
    """SciPy printer that also prints Product as a loop (SymPy's prints only Sum)."""

    def _print_Product(self, expr):
        loops = " ".join(
            f"for {self._print(v)} in range({self._print(lo)}, {self._print(hi)}+1)" for v, lo, hi in expr.limits
        )
        return f"(math.prod({self._print(expr.function)} {loops}))"

