"""The public hypothesis strategy (theory.strategies.points): valid points for every claim and variant."""

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from theory import CLAIMS
from theory.strategies import points

VARIANTS = [(cid, v) for cid in CLAIMS for v in CLAIMS[cid].variants()]


@pytest.mark.parametrize("cid,variant", VARIANTS, ids=[f"{c}[{','.join(v.values())}]" for c, v in VARIANTS])
@settings(max_examples=10, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(data=st.data())
def test_every_claim_gets_valid_points(cid, variant, data):
    point = data.draw(points(cid, variant))
    assert all(point[k] == v for k, v in variant.items())
    assert math.isfinite(CLAIMS[cid].evaluate(**point))


@given(points("gaussian.w2_risk", {"estimator": "mle"}, T=(50, 60), g=3))
def test_ranges_and_fixed_values_are_kept(point):
    assert 50 <= point["T"] <= 60 and point["g"] == 3 and point["estimator"] == "mle"


def test_unknown_parameters_and_variants_are_named():
    with pytest.raises(ValueError, match="has no parameter 'Tee'"):
        points("gaussian.w2_risk", Tee=(1, 2))
    with pytest.raises(ValueError, match="has no form for"):
        points("mvgaussian.det_ratio", {"workflow": "accumulate"})
