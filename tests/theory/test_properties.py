"""Property tests over every registered claim and every variant.

Points are drawn from each claim's own parameter declarations. Size ranges are moderate (T <= 200)
where float64 can reproduce the mpmath value to 1e-12; the Var W2^2 form cancels O(1) terms down to
O(g^2/T^2), so its NumPy check stops at T = 40.
"""

import math

import mpmath
import pytest
import sympy as sp
from hypothesis import assume, given
from hypothesis import strategies as st

from theory import CLAIMS
from theory import symbols as S
from theory.gaussian import c4

VARIANTS = [(cid, tuple(sorted(v.items()))) for cid in CLAIMS for v in CLAIMS[cid].variants()]
IDS = [f"{cid}[{','.join(x for _, x in v)}]" for cid, v in VARIANTS]

RANGES = {"g": (0, 40), "t": (1, 40), "d": (1, 8), "sigma": None, "sigma2": None}


def _range(cid: str, name: str) -> tuple[int, int]:
    if name == "T":
        return (2, 200)
    if name == "n":
        return (1, 40) if cid.startswith("regression") else (2, 100)
    return RANGES[name]


@st.composite
def points(draw, cid: str, caps: dict | None = None):
    claim = CLAIMS[cid]
    out = {}
    for p in claim.params:
        if p.kind == "choice":
            continue
        if p.kind == "positive":
            out[p.name] = draw(st.floats(0.1, 10.0))
        else:
            lo, hi = _range(cid, p.name)
            hi = min(hi, (caps or {}).get(p.name, hi))
            out[p.name] = draw(st.integers(max(lo, p.minimum), hi))
    if cid.startswith("regression"):
        out["T"] = out["d"] + 2 + draw(st.integers(0, 60))
    return out


def generation_param(cid):
    return CLAIMS[cid].generation


@pytest.mark.parametrize("cid,variant", VARIANTS, ids=IDS)
@given(data=st.data())
def test_value_is_finite_with_the_right_sign(cid, variant, data):
    point = data.draw(points(cid))
    value = CLAIMS[cid].evaluate(**point, **dict(variant))
    assert math.isfinite(value)
    if cid == "gaussian.log_sigma2_drift":
        assert value <= 0
    else:
        assert value >= 0
        if not cid.endswith("det_ratio") and point.get("g", 1) > 0:
            assert value > 0


MONOTONE = [(cid, v) for cid, v in VARIANTS if CLAIMS[cid].form(**dict(v)).monotone]


@pytest.mark.parametrize("cid,variant", MONOTONE, ids=[f"{c}[{','.join(x for _, x in v)}]" for c, v in MONOTONE])
@given(data=st.data())
def test_monotone_in_the_generation(cid, variant, data):
    claim = CLAIMS[cid]
    point = data.draw(points(cid))
    gen = claim.generation
    a = claim.evaluate_mp(**point, **dict(variant))
    b = claim.evaluate_mp(**{**point, gen: point[gen] + 1}, **dict(variant))
    kind = claim.form(**dict(variant)).monotone
    with mpmath.workdps(40):  # compare at the evaluation's precision
        tol = mpmath.mpf(10) ** -30 * max(abs(a), 1)
        if kind == "nondecreasing":
            assert b >= a - tol
        elif kind == "nonincreasing":
            assert b <= a + tol
        else:
            assert abs(b - a) <= tol


CLOSED = [(cid, v) for cid, v in VARIANTS if CLAIMS[cid].form(**dict(v)).recursion is None]


@pytest.mark.parametrize("cid,variant", CLOSED, ids=[f"{c}[{','.join(x for _, x in v)}]" for c, v in CLOSED])
@given(data=st.data())
def test_numpy_agrees_with_mpmath(cid, variant, data):
    caps = {"T": 40} if cid == "gaussian.w2_risk_var" else None
    point = data.draw(points(cid, caps))
    claim = CLAIMS[cid]
    fast = float(claim.lambdify(**dict(variant))(**point))
    exact = claim.evaluate(**point, **dict(variant))
    assert fast == pytest.approx(exact, rel=1e-12, abs=1e-300)


# -- domain errors -----------------------------------------------------------------------------

VALID = {
    "gaussian": dict(sigma=1.0, T=20, g=3),
    "mvgaussian": dict(sigma2=1.0, d=3, n=20, t=3),
    "regression": dict(sigma=1.0, d=3, T=20, n=3),
}


def valid_point(cid):
    claim = CLAIMS[cid]
    base = VALID[cid.split(".")[0]]
    return {p.name: base[p.name] for p in claim.params if p.kind != "choice"}


BAD_VALUES = [float("nan"), float("inf"), -1, "x", True]


@pytest.mark.parametrize("cid", list(CLAIMS))
def test_bad_values_are_rejected_by_name(cid):
    claim = CLAIMS[cid]
    point = valid_point(cid)
    claim.evaluate(**point)  # the base point is valid
    for name in point:
        for bad in BAD_VALUES:
            with pytest.raises(ValueError, match=rf"^{name}\b|: {name}\b|\b{name} "):
                claim.evaluate(**{**point, name: bad})
        if claim.param(name).kind != "positive":
            with pytest.raises(ValueError, match=rf"{name} must be an integer"):
                claim.evaluate(**{**point, name: 2.5})
    with pytest.raises(ValueError, match=r"missing parameter"):
        claim.evaluate(**dict(list(point.items())[1:]))
    with pytest.raises(ValueError, match=r"unknown parameter"):
        claim.evaluate(**point, bogus=1)
    for choice in claim.choices:
        with pytest.raises(ValueError, match=rf"{choice} must be one of"):
            claim.evaluate(**point, **{choice: "bogus"})


@pytest.mark.parametrize("cid", [c for c in CLAIMS if c.startswith("gaussian.")])
def test_variance_needs_two_samples(cid):
    point = valid_point(cid)
    with pytest.raises(ValueError, match=r"T must be >= 2"):
        CLAIMS[cid].evaluate(**{**point, "T": 1})
    with pytest.raises(ValueError, match=r"T\[1\] must be >= 2"):
        CLAIMS[cid].evaluate(**{**point, "T": [5, 1, 5]})


@pytest.mark.parametrize("cid", [c for c in CLAIMS if c.startswith("regression.")])
@given(d=st.integers(1, 30), gap=st.integers(-30, 1))
def test_ols_claims_need_T_above_d_plus_one(cid, d, gap):
    point = {**valid_point(cid), "d": d, "T": max(1, d + gap)}
    with pytest.raises(ValueError, match=r"T must be greater than d \+ 1"):
        CLAIMS[cid].evaluate(**point)


def test_unknown_id_suggests_close_ids():
    with pytest.raises(KeyError, match="did you mean gaussian.w2_risk"):
        CLAIMS["gaussian.w2risk"]


# -- the first generation ----------------------------------------------------------------------


@given(sigma=st.floats(0.1, 10), T=st.integers(2, 300))
def test_gaussian_first_fit(sigma, T):
    s2 = sigma**2
    c = float(c4.definition(sp.Integer(T)))
    for est, shrink in (("unbiased", 1.0), ("mle", (T - 1) / T)):
        ev = lambda cid: CLAIMS[cid].evaluate(sigma=sigma, T=T, g=1, estimator=est)  # noqa: E731
        assert ev("gaussian.mean_sq_error") == pytest.approx(s2 / T, rel=1e-13)
        assert ev("gaussian.sigma2_mean") == pytest.approx(s2 * shrink, rel=1e-13)
        assert ev("gaussian.w2_risk") == pytest.approx(s2 * (1 / T + 1 + shrink - 2 * c * math.sqrt(shrink)), rel=1e-9)
        assert CLAIMS["gaussian.w2_risk"].evaluate(sigma=sigma, T=T, g=0, estimator=est) == 0


@given(d=st.integers(1, 10), n=st.integers(2, 500), sigma2=st.floats(0.1, 10))
def test_all_workflows_agree_at_the_first_fit(d, n, sigma2):
    for est in ("mle", "unbiased"):
        f = (n - 1) / n if est == "mle" else 1.0
        for wf in ("replace", "accumulate", "accumulate-subsample", "accumulate-subsample-replacement"):
            kw = dict(sigma2=sigma2, d=d, n=n, t=1, estimator=est, workflow=wf)
            assert CLAIMS["mvgaussian.mean_sq_error"].evaluate(**kw) == pytest.approx(d * sigma2 / n, rel=1e-13)
            assert CLAIMS["mvgaussian.trace_ratio"].evaluate(**kw) == pytest.approx(f, rel=1e-13)


# -- limits ------------------------------------------------------------------------------------


@pytest.mark.parametrize("cid,variant", [(c, v) for c, v in VARIANTS if c.startswith("gaussian.")],
                         ids=[i for (c, v), i in zip(VARIANTS, IDS) if c.startswith("gaussian.")])
@given(g=st.integers(1, 20))
def test_gaussian_series_is_the_large_T_limit(cid, variant, g):
    """The error of the leading-order form shrinks like 1/T relative to the first-order term."""
    claim, form = CLAIMS[cid], CLAIMS[cid].form(**dict(variant))
    point = {"sigma": 1, "g": g} if cid != "gaussian.log_sigma2_drift" else {"g": g}
    series = form.series.subs({S.sigma: 1, S.g: g})
    zeroth = mpmath.mpf(sp.N(sp.limit(series, S.T, sp.oo), 40))
    errs = []
    with mpmath.workdps(40):
        for T in (10**4, 10**5):
            exact = claim.evaluate_mp(**point, T=T, **dict(variant))
            approx = mpmath.mpf(sp.N(series.subs(S.T, T), 40))
            scale = abs(approx - zeroth) or 1  # the first-order term (or 1 where the series is exact)
            errs.append(abs(exact - approx) / scale)
    assert errs[1] <= errs[0] / 5 or errs[1] < 1e-25


FINITE_LIMITS = [
    (c, v) for c, v in VARIANTS
    if CLAIMS[c].form(**dict(v)).limit is not None and CLAIMS[c].form(**dict(v)).limit.is_finite is not False
    and CLAIMS[c].generation
]


@pytest.mark.parametrize("cid,variant", FINITE_LIMITS, ids=[f"{c}[{','.join(x for _, x in v)}]" for c, v in FINITE_LIMITS])
def test_finite_generation_limits_are_approached(cid, variant):
    claim, form = CLAIMS[cid], CLAIMS[cid].form(**dict(variant))
    base = valid_point(cid)
    gen = claim.generation
    lim_values = {claim.param(k).symbol: v for k, v in base.items() if k != gen}
    limit = float(sp.N(form.limit.subs(lim_values), 30))
    far = claim.evaluate(**{**base, gen: 4000}, **dict(variant))
    # Geometric approach for the Gaussian chains; O(1/t) for the regression and accumulate ones.
    assert far == pytest.approx(limit, rel=2e-3, abs=1e-12)


# -- schedules ---------------------------------------------------------------------------------


@pytest.mark.parametrize("cid", [c for c in CLAIMS if c.startswith("gaussian.")])
@given(T=st.integers(2, 100), g=st.integers(0, 12), est=st.sampled_from(["unbiased", "mle"]))
def test_constant_schedule_equals_constant_T(cid, T, g, est):
    point = {"sigma": 1.5, "g": g} if cid != "gaussian.log_sigma2_drift" else {"g": g}
    a = CLAIMS[cid].evaluate_mp(**point, T=T, estimator=est)
    b = CLAIMS[cid].evaluate_mp(**point, T=[T] * (g + 1), estimator=est)
    assert abs(a - b) <= mpmath.mpf(10) ** -30 * max(1, abs(a))


def test_schedule_as_expression_in_i():
    i = sp.Symbol("i", integer=True, nonnegative=True)
    c = CLAIMS["gaussian.mean_sq_error"]
    assert c.evaluate(sigma=1, T=10 * (i + 1), g=4) == pytest.approx(sum(1 / (10 * (k + 1)) for k in range(4)), rel=1e-15)
    assert c.evaluate(sigma=1, T=[10, 20, 30, 40, 999], g=4) == c.evaluate(sigma=1, T=10 * (i + 1), g=4)
    with pytest.raises(ValueError, match=r"T schedule has 2 entries but 4 generations need 4"):
        c.evaluate(sigma=1, T=[10, 20], g=4)
    with pytest.raises(ValueError, match="T schedule may depend only on the generation index i"):
        c.evaluate(sigma=1, T=10 * sp.Symbol("j") + 2, g=4)
    with pytest.raises(ValueError, match="T schedule is empty"):
        c.evaluate(sigma=1, T=[], g=4)


def test_superlinear_schedule_keeps_the_w2_risk_bounded():
    """Sum 1/T_i < oo (T_i = 10 (i+1)^2) keeps E W2^2 bounded; linear growth T_i = 10 (i+1) does not."""
    i = sp.Symbol("i", integer=True, nonnegative=True)
    c = CLAIMS["gaussian.w2_risk"]
    quad = [c.evaluate(sigma=1, T=10 * (i + 1) ** 2, g=g) for g in (50, 100, 200)]
    lin = [c.evaluate(sigma=1, T=10 * (i + 1), g=g) for g in (50, 100, 200)]
    # Quadratic: the increment from g to 2g is about (3/2) sum_{i=g}^{2g} 1/(10 i^2) = 3/(40 g): it
    # halves each time g doubles (a convergent tail). Linear: about (3/20) log 2 each time (no limit).
    assert (quad[2] - quad[1]) / (quad[1] - quad[0]) == pytest.approx(0.5, rel=0.05)
    assert quad[2] - quad[1] == pytest.approx(3 / 4000, rel=0.05)
    assert (lin[2] - lin[1]) / (lin[1] - lin[0]) == pytest.approx(1.0, rel=0.05)
    assert lin[2] - lin[1] == pytest.approx(0.15 * math.log(2), rel=0.05)


def test_variance_leading_order_is_five_halves():
    """Var W2^2 ~ (5/2) sigma^4 g^2/T^2 for both estimators (the transcribed leading order)."""
    for est in ("unbiased", "mle"):
        for g in (1, 3):
            ratios = [CLAIMS["gaussian.w2_risk_var"].evaluate(sigma=1, T=T, g=g, estimator=est) * T**2 / g**2 for T in (10**4, 10**5)]
            assert abs(ratios[1] - 2.5) < abs(ratios[0] - 2.5) / 5 + 1e-12
            assert ratios[1] == pytest.approx(2.5, rel=1e-3)
