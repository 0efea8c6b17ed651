"""Hypothesis strategies that draw valid parameter points for any claim: for property tests of closed
forms, and of a researcher's own formulas against them.

>>> from hypothesis import given
>>> from theory.strategies import points
>>> @given(points("gaussian.w2_risk", T=(50, 500)))
... def test_positive(point):
...     assert CLAIMS["gaussian.w2_risk"].evaluate(**point) >= 0

:func:`points` reads the claim's own declarations (each parameter's kind, minimum and whether it is
optional; the choices and the forms they have) and keeps only the points the claim accepts (its
constraints, such as T > d + 1, and its ``prepare`` step): so it works for any registered claim,
including one a user registers. Ranges can be narrowed by keyword (``T=(50, 500)``, ``sigma=(0.5, 2)``)
or a parameter fixed (``g=10``, ``estimator="mle"``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import CLAIMS

#: Default ranges of the parameter kinds (sizes: from the parameter's minimum, this many above it).
SIZE_SPAN = 60
REALS = (0.1, 10.0)
VECTOR_LENGTH = (1, 8)


def points(claim_id: str, variant: Mapping[str, str] | None = None, **bounds: Any):
    """A strategy of valid parameter points (numeric parameters and choices) for ``claim_id``.

    ``variant`` fixes the choices (default: drawn among those the claim has a form for). Each keyword
    is a parameter's range ``(low, high)`` or its fixed value. Optional parameters (such as ``h`` for
    a fixed bandwidth, or ``w0`` against ``w0_norm``) are drawn in or left out, and only the points the
    claim's ``validate`` accepts are kept.
    """
    from hypothesis import strategies as st

    claim = CLAIMS[claim_id]
    unknown = set(bounds) - {p.name for p in claim.params}
    if unknown:
        raise ValueError(f"{claim_id} has no parameter {sorted(unknown)[0]!r}")
    variants = claim.variants()
    if variant:
        variants = [v for v in variants if all(v.get(k) == val for k, val in variant.items())]
        if not variants:
            raise ValueError(f"{claim_id} has no form for {dict(variant)}")

    def draw_param(draw, p, vector_length):
        given = bounds.get(p.name)
        if given is not None and not isinstance(given, tuple):
            return given
        if p.kind in ("size", "schedule"):
            lo, hi = given or (p.minimum, p.minimum + SIZE_SPAN)
            return draw(st.integers(int(lo), int(hi)))
        if p.kind == "nonnegative" and given is None:
            # 0 itself, or a value of the positive range: not a subnormal 1e-178, at which a claim finite for
            # every positive value (ridge at lam -> 0 and T = d) is within 40 digits of its pole.
            return draw(st.one_of(st.just(0.0), st.floats(*REALS, allow_nan=False, allow_infinity=False)))
        if p.kind in ("positive", "nonnegative", "positive_schedule"):
            lo, hi = given or REALS
            return draw(st.floats(lo, hi, allow_nan=False, allow_infinity=False,
                                  exclude_min=p.kind != "nonnegative" and lo == 0))
        if p.kind == "probability_vector":  # a point of the simplex with at least two entries
            weights = draw(st.lists(st.integers(1, 20), min_size=max(2, vector_length), max_size=max(2, vector_length)))
            return [w / sum(weights) for w in weights]
        if p.kind in ("vector", "positive_vector"):
            lo, hi = given or ((REALS[0], REALS[1]) if p.kind == "positive_vector" else (-REALS[1], REALS[1]))
            elem = st.floats(lo, hi, allow_nan=False, allow_infinity=False)
            return draw(st.lists(elem, min_size=vector_length, max_size=vector_length))
        raise ValueError(f"{claim_id}: no strategy for parameter {p.name} of kind {p.kind}")

    @st.composite
    def one(draw):
        out = dict(draw(st.sampled_from(variants)))
        length = draw(st.integers(*VECTOR_LENGTH))
        for p in claim.params:
            if p.kind == "choice":
                continue
            if p.optional and p.name not in bounds and not draw(st.booleans()):
                continue
            out[p.name] = draw_param(draw, p, length)
        return out

    def valid(point) -> bool:
        try:
            claim.validate(**point)
        except ValueError:
            return False
        return True

    return one().filter(valid)
