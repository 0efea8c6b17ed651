"""Property tests over every registered claim and every variant.

Points are drawn from each claim's own parameter declarations. Size ranges are moderate (T <= 200)
where float64 can reproduce the mpmath value to 1e-12; the Var W2^2 form cancels O(1) terms down to
O(g^2/T^2), losing about log10(T^2) digits, so its NumPy check stops at T = 20 (at T = 36 the MLE
form is off by 1.2e-12 relative).
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

from theory.plugins import is_own  # noqa: E402
from theory.derive import MAX_EXACT  # noqa: E402
from theory.strategies import points as theory_points  # noqa: E402

#: The toolkit's own claims (an installed plugin's are its own tests' business; theory.strategies serves them).
OWN = [cid for cid in CLAIMS if is_own(CLAIMS[cid].provider)]
VARIANTS = [(cid, tuple(sorted(v.items()))) for cid in OWN for v in CLAIMS[cid].variants()]
IDS = [f"{cid}[{','.join(x for _, x in v)}]" for cid, v in VARIANTS]

RANGES = {"g": (0, 40), "t": (1, 40), "d": (1, 8), "k": (1, 60), "l": (1, 60), "m": (1, 4)}


def _range(cid: str, name: str) -> tuple[int, int]:
    if name == "T":
        return (2, 200)
    if name == "n":
        if cid.startswith("regression"):
            return (1, 40)
        if cid.startswith("ridge"):
            return (0, 20)
        return (2, 100)
    return RANGES[name]


reals = lambda lo, hi: st.floats(lo, hi, allow_nan=False, allow_infinity=False)  # noqa: E731


@st.composite
def ridge_point(draw, cid: str, spectrum: str):
    out: dict = {"spectrum": spectrum}
    if spectrum == "given":
        eigs = draw(st.lists(reals(0.01, 10), min_size=1, max_size=12))
        out["eigenvalues"], dim = eigs, len(eigs)
    else:
        dim = out["d"] = draw(st.integers(1, 30))
        if spectrum == "power-law":
            out["beta"] = draw(reals(0.3, 3))
    names = {p.name for p in CLAIMS[cid].params}
    if "lam" in names:
        out["lam"] = draw(st.one_of(st.just(0.0), reals(1e-3, 10)))
    if "T" in names:
        ridgeless_ols = out.get("lam") == 0 and cid in ("ridge.rho", "ridge.test_error")
        low = dim + 2 if ridgeless_ols else 1
        out["T"] = draw(st.integers(low, low + 300))
        if out.get("lam") == 0 and cid in ("ridge.bias", "ridge.variance"):
            assume(out["T"] != dim)  # the interpolation threshold (rejected by name: tested below)
    if "T0" in names:
        out["T0"] = draw(st.integers(dim + 2, dim + 300))
    for name in ("sigma", "sigma0"):
        if name in names:
            out[name] = draw(reals(0.1, 5))
    if "n" in names:
        out["n"] = draw(st.integers(0, 20))
    if "m" in names:
        out["m"], out["kappa"] = draw(st.integers(1, 4)), draw(reals(0, 10))
    if "w0_norm" in names:
        if draw(st.booleans()):
            out["w0_norm"] = draw(reals(0.1, 5))
        else:
            out["w0"] = draw(st.lists(reals(-3, 3), min_size=dim, max_size=dim))
    return out


@st.composite
def categorical_point(draw, cid: str, choices: dict):
    names = {p.name for p in CLAIMS[cid].params}
    out: dict = {"n": draw(st.integers(2, 40))}
    if "t" in names:
        out["t"] = draw(st.integers(1, 30))
    if "p" in names:
        out["p"] = draw(reals(1e-3, 1 - 1e-3))
    if "probabilities" in names:
        weights = draw(st.lists(st.integers(1, 20), min_size=2, max_size=6))
        out["probabilities"] = [w / sum(weights) for w in weights]
    if choices.get("workflow") == "real-fraction":
        out["real_fraction"] = draw(reals(0, 1))
    return out


@st.composite
def points(draw, cid: str, variant: tuple = (), caps: dict | None = None):
    """A valid parameter point (numeric parameters and the variant's choices) for claim ``cid``."""
    claim, choices = CLAIMS[cid], dict(variant)
    if cid.startswith("derived."):  # a workflow's derived claim (theory.derive_claims): the generic strategy
        return draw(theory_points(cid, choices))
    if cid == "ridge.overparam_noise_free":
        dim = draw(st.integers(2, 60))
        return dict(w0_norm=draw(reals(0.1, 5)), d=dim, T0=draw(st.integers(1, dim - 1)), n=draw(st.integers(0, 30)))
    if cid.startswith("ridge."):
        return {**draw(ridge_point(cid, choices.get("spectrum", "isotropic"))), **choices}
    if cid.startswith("categorical."):
        return {**draw(categorical_point(cid, choices)), **choices}
    out = dict(choices)
    for p in claim.params:
        if p.kind == "choice":
            continue
        if p.name == "h":
            if choices.get("bandwidth", "fixed") == "fixed":
                out["h"] = draw(reals(0.01, 2))
        elif p.kind == "positive":
            out[p.name] = draw(reals(0.05, 10) if p.name == "alpha" else reals(0.1, 10))
        else:
            lo, hi = _range(cid, p.name)
            hi = min(hi, (caps or {}).get(p.name, hi))
            out[p.name] = draw(st.integers(max(lo, p.minimum), hi))
    if cid.startswith("regression"):
        out["T"] = out["d"] + 2 + draw(st.integers(0, 60))
    if cid == "mvgaussian.log_det_ratio":  # needs n > d
        out["n"] = out["d"] + 1 + draw(st.integers(0, 60))
    return out


def generation_param(cid):
    return CLAIMS[cid].generation


@pytest.mark.parametrize("cid,variant", VARIANTS, ids=IDS)
@given(data=st.data())
def test_value_is_finite_with_the_right_sign(cid, variant, data):
    point = data.draw(points(cid, variant))
    value = CLAIMS[cid].evaluate(**point)
    assert math.isfinite(value)
    if cid in ("gaussian.log_sigma2_drift", "mvgaussian.log_det_ratio"):
        assert value <= 0
    elif cid.startswith("universality."):
        assert value >= 1 - 1e-15 if cid != "universality.gaussian_process" else value > 0
    else:
        assert value >= 0
        # zero where it should be: a singular covariance (n <= d), an unbiased fit (lam = 0), no
        # generations yet (n = 0), kappa at lam = 0 with T >= d.
        zero_ok = cid.endswith(("det_ratio", "ridge.bias", "overparam_noise_free", "ridge.kappa"))
        if not zero_ok and point.get("g", 1) > 0:
            assert value > 0


MONOTONE = [(cid, v) for cid, v in VARIANTS if CLAIMS[cid].form(**dict(v)).monotone]


@pytest.mark.parametrize("cid,variant", MONOTONE, ids=[f"{c}[{','.join(x for _, x in v)}]" for c, v in MONOTONE])
@given(data=st.data())
def test_monotone_in_the_generation(cid, variant, data):
    claim = CLAIMS[cid]
    point = data.draw(points(cid, variant))
    gen = claim.generation
    a = claim.evaluate_mp(**point)
    b = claim.evaluate_mp(**{**point, gen: point[gen] + 1})
    kind = claim.form(**dict(variant)).monotone
    with mpmath.workdps(40):  # compare at the evaluation's precision
        tol = mpmath.mpf(10) ** -30 * max(abs(a), 1)
        if kind == "nondecreasing":
            assert b >= a - tol
        elif kind == "nonincreasing":
            assert b <= a + tol
        else:
            assert abs(b - a) <= tol


def _has_numpy_form(cid, variant):
    try:
        CLAIMS[cid].lambdify(**dict(variant))
    except ValueError:
        return False
    return True


CLOSED = [(cid, v) for cid, v in VARIANTS if _has_numpy_form(cid, v)]


@pytest.mark.parametrize("cid,variant", CLOSED, ids=[f"{c}[{','.join(x for _, x in v)}]" for c, v in CLOSED])
@given(data=st.data())
def test_numpy_agrees_with_mpmath(cid, variant, data):
    caps = {"T": 20} if cid == "gaussian.w2_risk_var" else None
    point = data.draw(points(cid, variant, caps))
    claim = CLAIMS[cid]
    # The NumPy function takes the parameters the expression is written in: the validated point,
    # after the claim's own preparation (e.g. an isotropic ridge uses only ||w0||, not w0).
    prepared = claim.validate(**point)
    scalars = {
        k: v if isinstance(v, int) else float(v)
        for k, v in prepared.items()
        if k not in claim.choices and v is not None and not isinstance(v, list)
    }
    fast = float(claim.lambdify(**dict(variant))(**scalars))
    exact = claim.evaluate(**point)
    assert fast == pytest.approx(exact, rel=1e-12, abs=1e-300)


# -- domain errors -----------------------------------------------------------------------------

VALID = {
    "gaussian": dict(sigma=1.0, T=20, g=3),
    "mvgaussian": dict(sigma2=1.0, d=3, n=20, t=3),
    "regression": dict(sigma=1.0, d=3, T=20, n=3),
    "universality": dict(k=3, l=5, alpha=0.5),
    "ridge": dict(d=10, lam=0.1, T=40, T0=30, sigma=0.5, sigma0=1.0, n=3, w0_norm=1.0, m=2, kappa=0.3),
    "ridge.overparam_noise_free": dict(w0_norm=1.0, T0=5, d=10, n=3),
    "kde": dict(sigma=1.0, n=20, t=3, h=0.3),
    "categorical": dict(n=10, t=3),
    "categorical.loss_probability": dict(p=0.1, n=10, t=3),
    "categorical.surviving_symbols": dict(probabilities=[0.5, 0.3, 0.2], n=10, t=3),
    "categorical.collapse_time": dict(probabilities=[0.5, 0.3, 0.2], n=10),
    "derived": dict(k=3, real_fraction=0.25, sigma=1.0, d=3, T=20, n=3),  # theory.derive_claims
}


def valid_point(cid, variant=()):
    claim = CLAIMS[cid]
    base = VALID.get(cid) or VALID[cid.split(".")[0]]
    point = {p.name: base[p.name] for p in claim.params if p.kind != "choice" and p.name in base}
    if dict(variant).get("bandwidth", "fixed") != "fixed":
        del point["h"]  # the bandwidth rule sets it
    if dict(variant).get("workflow") == "real-fraction":
        point["real_rows"] = 3  # (its limit is written in n_r)
    return point


BAD_VALUES = [float("nan"), float("inf"), -1, "x", True]


@pytest.mark.parametrize("cid", OWN)
def test_bad_values_are_rejected_by_name(cid):
    claim = CLAIMS[cid]
    point = valid_point(cid)
    claim.evaluate(**point)  # the base point is valid
    for name in point:
        for bad in BAD_VALUES:
            with pytest.raises(ValueError, match=rf"^{name}\b|: {name}\b|\b{name} "):
                claim.evaluate(**{**point, name: bad})
        if claim.param(name).kind in ("size", "schedule"):
            with pytest.raises(ValueError, match=rf"{name} must be an integer"):
                claim.evaluate(**{**point, name: 2.5})
    required = next(p.name for p in claim.params if p.kind != "choice" and not p.optional)
    with pytest.raises(ValueError, match=rf"missing parameter {required}\b"):
        claim.evaluate(**{k: v for k, v in point.items() if k != required})
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


@pytest.mark.parametrize("cid", ["ridge.bias", "ridge.variance"])
def test_ridgeless_equivalents_reject_the_interpolation_threshold(cid):
    point = {**valid_point(cid), "lam": 0, "T": 10, "d": 10}
    with pytest.raises(ValueError, match="interpolation threshold T = d"):
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
    base = valid_point(cid, variant)
    gen = claim.generation
    lim_values = {claim.param(k).symbol: v for k, v in base.items() if k != gen and not isinstance(v, list)}
    limit = float(sp.N(form.limit.subs(lim_values), 30))
    # (a derived claim's exact chain is computed up to theory.derive.MAX_EXACT generations; it approaches
    # its limit geometrically where it has one)
    far = claim.evaluate(**{**base, gen: MAX_EXACT if cid.startswith("derived.") else 4000}, **dict(variant))
    # (harmonic-number limits approach like 1/k: 2.5e-4 relative at k = 4000)
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
