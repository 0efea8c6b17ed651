"""The theory column of a sweep: each metric's claim along the generations, for one cell.

The claim comes from the catalog (the first link of the metric that applies to the cell). Its values
are computed where they are representable: the float64 (lambdify) form where it exists and agrees with
the 40-digit evaluation at the last generation, otherwise mpmath at 40 digits (a value beyond the
float range becomes +-inf). Anything that still fails (a point outside the claim's domain, a recursion
too long to run, any other error) gives NaN with the reason in ``theory_note``: a theory value never
crashes a finished simulation (tests/numerics/test_faults.py).
"""

from __future__ import annotations

import json
import math

import numpy as np

from .catalog import Link


class Theory:
    """The claims' values along the generations, cached (cells often share them)."""

    #: Largest relative difference allowed between the float64 form and the 40-digit value.
    FAST_RTOL = 1e-9

    def __init__(self) -> None:
        self.cache: dict = {}
        self.fns: dict = {}

    def column(self, link: Link, settings: dict, generations: list[int]) -> dict:
        """{claim, theory (a list), theory_kind, limit, theory_note} of a link at a cell's settings."""
        from theory import CLAIMS

        values = {k: v for k, v in link.claim_values(settings).items() if v is not None}
        key = (link.claim, json.dumps(values, sort_keys=True, default=str), link.generation, tuple(generations))
        if key in self.cache:
            return self.cache[key]
        claim = CLAIMS[link.claim]
        missing = [float("nan")] * len(generations)
        note, curve = "", missing
        try:
            if link.generation is None:
                values_at = [claim.evaluate(**values)] * len(generations)
            else:
                values_at = self._fast(claim, values, link.generation, generations)
                if values_at is None:
                    values_at = claim.evaluate_along(link.generation, generations, **values)
            curve = [float(v) for v in values_at]
            if len(curve) != len(generations):
                raise ValueError(f"{len(curve)} values for {len(generations)} generations")
        except (ValueError, ArithmeticError) as e:  # outside the claim's domain, not representable
            note, curve = f"theory not computed: {e}", missing
        except Exception as e:  # anything else (a recursion too deep, a bug): reported, never a crash
            note, curve = f"theory not computed: {type(e).__name__}: {e}", missing
        kind = link.alternative or ("asymptotic" if claim.kind == "asymptotic" else "exact")
        try:
            limit = self._limit(claim, values)
        except Exception:  # the limit is a convenience column: missing rather than a crash
            limit = float("nan")
        out = {"claim": link.claim, "theory": curve, "theory_kind": kind, "limit": limit, "theory_note": note}
        self.cache[key] = out
        return out

    @staticmethod
    def _limit(claim, values: dict) -> float:
        """The claim's limit over generations at these values (NaN where it has none or it is symbolic)."""
        import sympy as sp

        from theory import symbols as S

        try:
            form = claim.form(**{k: v for k, v in values.items() if k in claim.choices})
        except ValueError:
            return float("nan")
        if form.limit is None:
            return float("nan")
        subs = {getattr(S, k): v for k, v in values.items()
                if k not in claim.choices and hasattr(S, k) and not isinstance(v, (list, tuple))}
        lim = form.limit.subs(subs)
        if lim.is_infinite:
            return float("inf") if lim == sp.oo else float("-inf")
        try:
            return float(lim) if not lim.free_symbols else float("nan")
        except (TypeError, ValueError, OverflowError):
            return float("nan")

    def _fast(self, claim, given: dict, gen: str, generations: list[int]) -> list[float] | None:
        """The curve from the claim's float64 (lambdify) form, where it has one and it is accurate.

        A closed form with a sum over the generations costs O(G) per point at 40 digits, O(G^2) per
        curve; its float64 form is much faster. It is used only when every value is finite and the
        value at the last generation agrees with the 40-digit evaluation to FAST_RTOL (this guards
        against overflow and cancellation); otherwise the curve is evaluated at 40 digits.
        """
        choices = {k: v for k, v in given.items() if k in claim.choices}
        fkey = (claim.id, json.dumps(choices, sort_keys=True))
        if fkey not in self.fns:
            try:
                self.fns[fkey] = claim.lambdify(**choices)
            except ValueError:  # a recursion, a vector or a numerically solved fixed point
                self.fns[fkey] = None
        fn = self.fns[fkey]
        if fn is None:
            return None
        # floats, not ints: an integer power such as 49**183 is exact in Python and overflows on conversion
        numeric = {k: float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v
                   for k, v in given.items() if k not in claim.choices}
        try:
            with np.errstate(all="ignore"):
                curve = [float(fn(**numeric, **{gen: float(g)})) for g in generations]
        except (OverflowError, ZeroDivisionError, ValueError, TypeError):
            return None
        exact = claim.evaluate(**given, **{gen: generations[-1]})
        if not all(map(math.isfinite, curve)) or abs(curve[-1] - exact) > self.FAST_RTOL * abs(exact):
            return None
        return curve
