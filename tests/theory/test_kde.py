"""KDE workflows (docs/formulas.md sec. 5, KDE)."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from theory import CLAIMS

REPLACE, ACCUMULATE = CLAIMS["kde.replace.variance"], CLAIMS["kde.accumulate.variance"]


def test_vectors():
    # 1-D, sigma = 1, n = 50, h = 0.3, t = 30: replace 2.5008 (MC 2.5047), accumulate 1.2357 (MC 1.2325).
    assert REPLACE.evaluate(sigma=1, n=50, t=30, h=0.3) == pytest.approx(2.5008, abs=5e-5)
    assert ACCUMULATE.evaluate(sigma=1, n=50, t=30, h=0.3) == pytest.approx(1.2357, abs=5e-5)


@given(sigma=st.floats(0.1, 10), n=st.integers(2, 500), h=st.floats(0.01, 3))
def test_first_fit_is_the_real_data(sigma, n, h):
    for claim in (REPLACE, ACCUMULATE):
        assert claim.evaluate(sigma=sigma, n=n, t=1, h=h) == pytest.approx((1 - 1 / n) * sigma**2, rel=1e-14)


@given(n=st.integers(2, 200), h=st.floats(0.01, 3))
def test_replace_converges_to_n_minus_one_h_squared(n, h):
    assert REPLACE.form().limit.subs({"n": n}) is not None
    far = REPLACE.evaluate(sigma=1, n=n, t=200 * n, h=h)
    assert far == pytest.approx((n - 1) * h**2, rel=1e-12)


def test_replace_with_sklearn_rules_uses_constant_bandwidths():
    for rule, hh in (("scott", 50 ** (-1 / 5)), ("silverman", (3 * 50 / 4) ** (-1 / 5))):
        assert REPLACE.evaluate(sigma=1, n=50, t=7, bandwidth=rule) == pytest.approx(REPLACE.evaluate(sigma=1, n=50, t=7, h=hh), rel=1e-14)


def test_accumulate_grows_like_h_squared_log_t():
    h = 0.3
    gaps = [ACCUMULATE.evaluate(sigma=1, n=50, t=t, h=h) - h**2 * math.log(t) for t in (100, 1000, 10000)]
    # E V_t - h^2 log t converges: its changes shrink tenfold per decade (the next term is O(1/t)).
    assert abs(gaps[2] - gaps[1]) < abs(gaps[1] - gaps[0]) / 5
    assert ACCUMULATE.form().asymptote is not None


def test_accumulate_with_a_refitted_rule_stays_bounded():
    values = [ACCUMULATE.evaluate(sigma=1, n=50, t=t, bandwidth="scott") for t in (500, 1000, 2000, 4000)]
    steps = [b - a for a, b in zip(values, values[1:])]
    # increments of a convergent series: sum h_t^2/t with h_t^2 = (tn)^(-2/5) decays like t^(-2/5)
    assert all(s2 < s1 for s1, s2 in zip(steps, steps[1:]))
    assert steps[-1] / steps[-2] == pytest.approx(2 ** (-2 / 5), rel=0.05)


@given(t=st.integers(1, 30), h=st.floats(0.01, 2))
def test_constant_schedule_equals_fixed_h(t, h):
    for claim in (REPLACE, ACCUMULATE):
        assert claim.evaluate(sigma=1.3, n=17, t=t, h=[h] * t) == pytest.approx(claim.evaluate(sigma=1.3, n=17, t=t, h=h), rel=1e-14)


def test_bad_input():
    with pytest.raises(ValueError, match="bandwidth='fixed' needs h"):
        REPLACE.evaluate(sigma=1, n=50, t=3)
    with pytest.raises(ValueError, match="h is for bandwidth='fixed'"):
        REPLACE.evaluate(sigma=1, n=50, t=3, h=0.2, bandwidth="scott")
    with pytest.raises(ValueError, match=r"h\[1\] must be positive"):
        ACCUMULATE.evaluate(sigma=1, n=50, t=3, h=[0.2, -0.1, 0.3])
    with pytest.raises(ValueError, match="h schedule has 2 entries but 3 generations need 3"):
        ACCUMULATE.evaluate(sigma=1, n=50, t=3, h=[0.2, 0.1])
    with pytest.raises(ValueError, match="n must be >= 2"):
        REPLACE.evaluate(sigma=1, n=1, t=3, h=0.2)
