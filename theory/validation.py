"""Parameters of a claim and how their values are checked.

Every check raises ``ValueError`` with a message that names the parameter (``T must be >= 2, got 1``).
Values arrive as Python numbers, SymPy numbers (from the command line's safe parser) or sequences
(schedules and vectors); sizes come back as ints, reals as mpmath numbers.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import mpmath
import sympy as sp

from . import symbols as S
from .evaluation import DPS, EvaluationError, budget, check_terms, mp_eval, number
from .workflows import CLAIM_WORKFLOWS

#: Largest size (sample size, dimension, generation) a claim is evaluated at.
MAX_SIZE = 10**18


@dataclass(frozen=True)
class Param:
    """One parameter of a claim: its symbol, what values it takes, and what it means."""

    name: str
    #: "size" (integer >= minimum), "positive", "nonnegative" (reals), "choice" (one of ``options``),
    #: "schedule" (a size, or a sequence of sizes / an expression in i), "positive_schedule" (a positive
    #: number or a sequence of them), "vector" (a sequence of finite reals), "positive_vector",
    #: "probability_vector" (positive entries summing to 1: the claim's prepare step checks the sum).
    kind: str
    doc: str
    minimum: int = 0
    options: tuple[str, ...] = ()
    #: An optional parameter may be left out; the claim's constraints say when it is needed.
    optional: bool = False
    #: Its SymPy symbol, for a parameter that theory.symbols does not name (a plugin's own); by default the
    #: symbol of theory.symbols with the parameter's name.
    sym: sp.Basic | None = None

    @property
    def symbol(self) -> sp.Basic | None:
        if self.kind == "choice":
            return None
        return self.sym if self.sym is not None else getattr(S, self.name)


#: A check on a whole parameter point: returns an error message, or None when the point is valid.
Constraint = Callable[[Mapping[str, Any]], "str | None"]


# --------------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------------


def _is_real_number(x: Any) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def _check_finite(name: str, value: Any) -> None:
    if isinstance(value, (int, sp.Rational)):  # exact, so finite (and perhaps beyond a float's range)
        return
    try:
        f = value if isinstance(value, mpmath.mpf) else float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if mpmath.isnan(f):
        raise ValueError(f"{name} must be a number, got NaN")
    if mpmath.isinf(f):
        raise ValueError(f"{name} must be finite, got {value!r}")


def _real(name: str, value: sp.Basic) -> mpmath.mpf:
    """The value of a SymPy number a user gave (e.g. sqrt(2)) at DPS + 5 digits, within the evaluation
    budget (SymPy's own evalf is not bounded in work), which must be real."""
    try:
        v = number(value, DPS + 5)
    except EvaluationError as e:
        raise EvaluationError(f"{name}: {e}") from None
    if isinstance(v, mpmath.mpc):
        raise ValueError(f"{name} must be a real number, got {value} = {mpmath.nstr(v, 6)}")
    return v


def _as_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not (_is_real_number(value) or isinstance(value, sp.Number)):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    _check_finite(name, value)
    if isinstance(value, sp.Number):
        if not value.is_integer:
            raise ValueError(f"{name} must be an integer, got {value}")
        value = int(value)
    elif not float(value).is_integer():
        raise ValueError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if value > MAX_SIZE:
        raise ValueError(f"{name} must be at most {MAX_SIZE:.0e}, got {mpmath.nstr(mpmath.mpf(value), 3)}")
    return value


def _as_positive(name: str, value: Any) -> mpmath.mpf:
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    if isinstance(value, sp.Basic):
        if not value.is_number:
            raise ValueError(f"{name} must be a positive number, got {value}")
        value = _real(name, value)
    elif isinstance(value, str):
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    _check_finite(name, value)
    v = mpmath.mpf(value)
    if not v > 0:
        raise ValueError(f"{name} must be positive, got {value!r}")
    return v


def _as_schedule(name: str, value: Any, minimum: int) -> int | tuple[int, ...] | sp.Expr:
    """A size, or a schedule: a sequence of sizes, or a SymPy expression in the index ``i``."""
    if isinstance(value, str):
        raise ValueError(f"{name} must be an integer or a schedule, got the string {value!r}")
    if isinstance(value, sp.Expr) and not value.is_number:
        extra = value.free_symbols - {S.i}
        if extra:
            names = ", ".join(sorted(s.name for s in extra))
            raise ValueError(f"{name} schedule may depend only on the generation index i, not on {names}")
        return value
    if isinstance(value, Iterable) and not isinstance(value, (str, bytes)):
        seq = list(value)
        if not seq:
            raise ValueError(f"{name} schedule is empty")
        return tuple(_as_int(f"{name}[{idx}]", v, minimum) for idx, v in enumerate(seq))
    return _as_int(name, value, minimum)


def _as_nonnegative(name: str, value: Any) -> mpmath.mpf:
    if isinstance(value, (bool, str)):
        raise ValueError(f"{name} must be a non-negative number, got {value!r}")
    if isinstance(value, sp.Basic):
        if not value.is_number:
            raise ValueError(f"{name} must be a non-negative number, got {value}")
        value = _real(name, value)
    _check_finite(name, value)
    v = mpmath.mpf(value)
    if v < 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return v


def _as_vector(name: str, value: Any, positive: bool) -> list:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise ValueError(f"{name} must be a sequence of numbers, got {value!r}")
    seq = list(value)
    if not seq:
        raise ValueError(f"{name} is empty")
    if positive:
        return [_as_positive(f"{name}[{idx}]", v) for idx, v in enumerate(seq)]
    out = []
    for idx, v in enumerate(seq):
        if isinstance(v, (bool, str)):
            raise ValueError(f"{name}[{idx}] must be a number, got {v!r}")
        if isinstance(v, sp.Basic) and v.is_number:
            v = _real(f"{name}[{idx}]", v)
        _check_finite(f"{name}[{idx}]", v)
        out.append(mpmath.mpf(v))
    return out


def _expand_schedule(name: str, sched: tuple | sp.Expr, length: int, minimum: int) -> list:
    if isinstance(sched, tuple):
        if len(sched) < length:
            raise ValueError(f"{name} schedule has {len(sched)} entries but {length} generations need {length}")
        return list(sched[:length])
    out = []
    # Numerically (an exact power such as 10**(1000 i) would take long), all terms in one budget.
    with budget(), mpmath.workdps(DPS):
        check_terms(f"the {name} schedule", length)
        values = []
        for idx in range(length):
            try:
                values.append(mp_eval(sched, {S.i: mpmath.mpf(idx)}))
            except ZeroDivisionError:
                raise EvaluationError(f"{name}[{idx}]: {sched} divides by zero at i = {idx}") from None
    for idx, value in enumerate(values):
        if isinstance(value, mpmath.mpc):
            raise ValueError(f"{name}[{idx}] must be a real number, got {mpmath.nstr(value, 4)}")
        if not mpmath.isfinite(value) or abs(value) > MAX_SIZE:
            raise ValueError(f"{name}[{idx}] must be at most {MAX_SIZE:.0e}, got {mpmath.nstr(value, 4)}")
        out.append(_as_int(f"{name}[{idx}]", int(mpmath.nint(value)) if mpmath.isint(value) else float(value), minimum))
    return out

# Parameter templates shared by several claims.
def size(name: str, doc: str, minimum: int = 1) -> Param:
    return Param(name, "size", doc, minimum=minimum)


def positive(name: str, doc: str) -> Param:
    return Param(name, "positive", doc)


def choice(name: str, doc: str, *options: str) -> Param:
    return Param(name, "choice", doc, options=tuple(options))


ESTIMATOR = choice(
    "estimator",
    "variance estimator: 'unbiased' (ddof=1, Shumailov) or 'mle' (ddof=0, Kazdan)",
    "unbiased",
    "mle",
)

#: The data workflows the claims distinguish (Kazdan et al.; Dey & Donoho), one choice for all of them.
WORKFLOW = choice("workflow", "data workflow: " + ", ".join(CLAIM_WORKFLOWS), *CLAIM_WORKFLOWS)
