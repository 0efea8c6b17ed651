"""The theory column of a sweep: the claim of the quantity each metric measures, along the generations.

For a cell and a metric, the quantity is the one the simulator declares its metric measures at the
cell's settings (numerics.catalog.Produces, the first that applies), and the claim is the first of that
quantity's claims (exact ones first, theory.registry) that holds at the cell's coordinates. Its values
are computed where they are representable: the float64 (lambdify) form where it exists and agrees with
the 40-digit evaluation at the last generation, otherwise mpmath at 40 digits (a value beyond the
float range becomes +-inf).

A derived claim (theory.derive_claims) is a claim here like any: where one is registered for the cell's
workflow and one of the simulator's own productions measures its quantity there, it is the column's claim.
Where no claim holds (a declared workflow, or real-fraction and real-plus-synthetic, which no claim
covers) and the metric is one that :mod:`theory.derive` derives for any workflow (:data:`DERIVED`: the
Gaussian chain's ``variance_ratio``, fixed-design OLS's ``test_error``, the categorical chain's
``diversity_ratio``), the column holds the derived exact values from the workflow itself
(``theory.derive.exact_values``; the limit over generations from ``theory.derive.limit_of`` where the
markov or window structure gives it), with the claim column ``theory.derive:QUANTITY``. Anything that still fails (a point outside the claim's domain, a recursion
too long to run, any other error) gives NaN with the reason in ``theory_note``: a theory value never
crashes a finished simulation (tests/numerics/test_faults.py).
"""

from __future__ import annotations

import json
import math

import numpy as np

from .catalog import Produces, Simulator, same_value

#: The columns of a metric without a theory.
EMPTY = {"claim": "", "theory_kind": "", "limit": float("nan"), "theory_note": ""}


def _gaussian(s: dict) -> bool:
    return s.get("first_fit", "real") == "real" and s.get("train_size") is None and s.get("synthetic") is None


def _regression(s: dict) -> bool:
    return s.get("design", "fixed") == "fixed"


def _categorical(s: dict) -> bool:
    return s.get("train_size") is None and s.get("synthetic") is None


#: (simulator, metric) -> (the quantity theory.derive gives, its kind, where it applies, the settings that
#: give the derivation's sizes): the metrics whose theory is derived for any workflow no claim covers. The
#: Gaussian ratio is Dey & Donoho's n -> oo limit (asymptotic); OLS on a fixed design and the categorical
#: chain are exact at finite size.
DERIVED = {
    ("gaussian", "variance_ratio"): ("variance_ratio", "asymptotic", _gaussian, ()),
    ("regression", "test_error"): ("test_error", "exact", _regression, ("d", "T", "sigma")),
    ("categorical", "diversity_ratio"): ("diversity", "exact", _categorical, ("n",)),
}


class Theory:
    """The claims' values along the generations, cached (cells often share them)."""

    #: Largest relative difference allowed between the float64 form and the 40-digit value.
    FAST_RTOL = 1e-9

    def __init__(self) -> None:
        self.cache: dict = {}
        self.fns: dict = {}

    def for_metric(self, sim: Simulator, metric: str, settings: dict, generations: list[int]) -> dict:
        """{claim, theory (a list), theory_kind, limit, theory_note} of a cell's metric (NaN theory without one)."""
        from theory import CLAIMS, QUANTITIES

        refused = []
        for produces in sim.produces:
            if produces.metric != metric or not produces.applies(settings):
                continue
            coords = produces.coordinates(settings)
            gen_name = QUANTITIES[produces.quantity].generation
            for claim in CLAIMS.predicting(produces.quantity):
                fixed = {k: v for k, v in claim.fixed.items() if k != gen_name}
                if any(k in coords and not same_value(coords[k], v) for k, v in fixed.items()):
                    continue
                values = {p.name: coords[p.name] for p in claim.params if p.name in coords}
                at = {gen_name: generations[-1]} if any(p.name == gen_name for p in claim.params) else {}
                try:
                    claim.validate(**values, **at)
                except (ValueError, ArithmeticError) as e:
                    refused.append(f"{claim.id}: {e}")
                    continue
                return self.column(claim, produces, values, gen_name, generations)
        note = f"no claim holds here ({'; '.join(refused)})" if refused else ""
        derived = self.derived(sim, metric, settings, generations)
        if derived is not None:
            return derived
        return {**EMPTY, "theory_note": note, "theory": [float("nan")] * len(generations)}

    def derived(self, sim: Simulator, metric: str, settings: dict, generations: list[int]) -> dict | None:
        """The derived column of a workflow no claim covers (:data:`DERIVED`), or None where none applies."""
        entry = DERIVED.get((sim.name, metric))
        if entry is None or "workflow" not in settings:
            return None
        quantity, kind, applies, sizes = entry
        if not applies(settings):
            return None
        from theory.workflows import NAMED

        from .workflows import spec_of

        spec = spec_of(settings["workflow"])
        values = {k: settings[k] for k in sizes}
        if "real_fraction" in spec.params:
            if settings.get("real_fraction") is None:
                return None
            values["real_fraction"] = settings["real_fraction"]
        alpha = settings.get("alpha") or 1
        key = ("derive", quantity, settings["workflow"], json.dumps(values, sort_keys=True), alpha, tuple(generations))
        if key in self.cache:
            return self.cache[key]
        missing = [float("nan")] * len(generations)
        note, curve, limit = "", missing, float("nan")
        try:
            from theory.derive import exact_values, limit_of

            value = exact_values(spec, quantity, alpha=alpha, values=values)
            curve = [float(value(g)) for g in generations]
            lim, _ = limit_of(spec, quantity, alpha=alpha, values=values)
            limit = float("inf") if lim is not None and lim.is_infinite else float(lim) if lim is not None else limit
        except (ValueError, ArithmeticError) as e:  # a feature the derivation refuses (a count), too many generations
            note = f"theory not derived: {e}"
        except Exception as e:  # reported, never a crash
            note, curve = f"theory not derived: {type(e).__name__}: {e}", missing
        name = spec.name if spec.name in NAMED else "a declared workflow"
        out = {"claim": f"theory.derive:{quantity}", "theory": curve, "theory_kind": kind, "limit": limit,
               "theory_note": note or f"derived from {name} (theory.derive)"}
        self.cache[key] = out
        return out

    def column(self, claim, produces: Produces, values: dict, gen_name: str | None, generations: list[int]) -> dict:
        key = (claim.id, json.dumps(values, sort_keys=True, default=str), tuple(generations))
        if key in self.cache:
            return self.cache[key]
        missing = [float("nan")] * len(generations)
        note, curve = "", missing
        takes_gen = any(p.name == gen_name for p in claim.params)
        fixed_gen = claim.fixed.get(gen_name) if gen_name else None
        try:
            if not takes_gen:
                value = claim.evaluate(**values)
                values_at = [value if fixed_gen is None or g == fixed_gen else float("nan") for g in generations]
            else:
                values_at = self._fast(claim, values, gen_name, generations)
                if values_at is None:
                    values_at = claim.evaluate_along(gen_name, generations, **values)
            curve = [float(v) for v in values_at]
            if len(curve) != len(generations):
                raise ValueError(f"{len(curve)} values for {len(generations)} generations")
        except (ValueError, ArithmeticError) as e:  # outside the claim's domain, not representable
            note, curve = f"theory not computed: {e}", missing
        except Exception as e:  # anything else (a recursion too deep, a bug): reported, never a crash
            note, curve = f"theory not computed: {type(e).__name__}: {e}", missing
        kind = claim.alternative or ("asymptotic" if claim.kind == "asymptotic" else "exact")
        try:
            limit = self._limit(claim, values)
        except Exception:  # the limit is a convenience column: missing rather than a crash
            limit = float("nan")
        out = {"claim": claim.id, "theory": curve, "theory_kind": kind, "limit": limit, "theory_note": note}
        self.cache[key] = out
        return out

    @staticmethod
    def _limit(claim, values: dict) -> float:
        """The claim's limit over generations at these values (NaN where it has none or it is symbolic)."""
        import sympy as sp

        try:
            form = claim.form(**{k: v for k, v in values.items() if k in claim.choices})
        except ValueError:
            return float("nan")
        if form.limit is None:
            return float("nan")
        subs = {claim.param(k).symbol: v for k, v in values.items()
                if k not in claim.choices and not isinstance(v, (list, tuple))}
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
        # Parameters as floats, not ints: an integer power such as 49**183 is exact in Python and overflows on
        # conversion. The generation stays an int: it bounds the lambdified sums (range(1, g + 1)); as a float
        # it made every sum over the generations fail here and fall back to 40 digits, O(G^2) per curve (62 s
        # of the Kazdan grid's parent process).
        numeric = {k: float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v
                   for k, v in given.items() if k not in claim.choices}
        try:
            with np.errstate(all="ignore"):
                curve = [float(fn(**numeric, **{gen: int(g)})) for g in generations]
        except (OverflowError, ZeroDivisionError, ValueError, TypeError):
            return None
        exact = claim.evaluate(**given, **{gen: generations[-1]})
        if not all(map(math.isfinite, curve)) or abs(curve[-1] - exact) > self.FAST_RTOL * abs(exact):
            return None
        return curve
