"""The verification table, the planted errors it must reject, and its calibration."""

import numpy as np
import pytest
import sympy as sp
from scipy import stats

from numerics.stats import Moments, holm
from numerics.verify import MIN_TRIALS_VARIANCE, default_checks, make_check, run
from theory import CLAIMS
from theory import symbols as S


def test_default_verify_passes_for_every_simulated_claim():
    checks, skipped = default_checks()
    rows = run(checks, seed=0)
    failed = [(r.claim, r.variant, r.generation, r.z) for r in rows if r.verdict != "pass"]
    assert not failed
    simulated = {r.claim for r in rows}
    assert simulated | {key.split(" (")[0] for key in skipped} == set(CLAIMS)
    assert {r.kind for r in rows} == {"exact", "lower", "upper", "asymptotic"}


def _reject(claim_id, expr, variant=None, **at):
    check = make_check(claim_id, variant, **at)
    check.expression = sp.sympify(expr, locals={p.name: p.symbol for p in CLAIMS[claim_id].params if p.kind != "choice"})
    return [r.verdict for r in run([check], seed=0)]


def test_planted_errors_are_rejected():
    # sum 1/i in place of sum 1/i^2 in the accumulate regression error
    assert "FAIL" in _reject("regression.accumulate.test_error", "sigma**2*d/(T-d-1)*harmonic(n)")
    # the survey's sum up to g in the first-order W2 risk, at small T
    assert "FAIL" in _reject("gaussian.w2_risk", "3*sigma**2*(g+1)/(2*T)", g=10)
    # the unbiased formula for an MLE chain
    assert "FAIL" in _reject("gaussian.w2_risk", CLAIMS["gaussian.w2_risk"].form(estimator="unbiased").expr, {"estimator": "mle"})
    # T0 - d in place of T0 - d - 1
    assert "FAIL" in _reject("ridge.test_error", "sigma**2*d/(T-d-1) + n*sigma0**2*d/(T0-d)")
    # log E det (Jensen) in place of E log det for the log-determinant drift
    assert "FAIL" in _reject("mvgaussian.log_det_ratio", "t*log(Product((n-k)/n, (k, 1, d)))")
    # ... while the right expressions pass
    assert set(_reject("ridge.test_error", "sigma**2*d/(T-d-1) + n*sigma0**2*d/(T0-d-1)")) == {"pass"}
    assert set(_reject("regression.accumulate.test_error", "sigma**2*d/(T-d-1)*harmonic(n, 2)")) == {"pass"}


CALIBRATION = [("regression.accumulate.test_error", {"n": 10}), ("gaussian.w2_risk", {"g": 10}), ("mvgaussian.trace_ratio", {"t": 5})]


@pytest.mark.parametrize("claim_id,at", CALIBRATION)
def test_a_correct_claim_is_rejected_at_the_nominal_rate(claim_id, at):
    """Over 150 seeds at alpha = 0.05 (one comparison per run, so no correction) the rejection count is
    Binomial(150, 0.05) if the test is calibrated: accept counts inside its central 99.8%."""
    seeds, alpha = 150, 0.05
    check = make_check(claim_id, None, **at)
    rejected = sum(run([check], trials=1500, seed=s)[0].p < alpha for s in range(seeds))
    lo, hi = stats.binom.ppf([0.001, 0.999], seeds, alpha)
    assert lo <= rejected <= hi, rejected


@pytest.mark.slow
@pytest.mark.parametrize("claim_id,variant,at,trials", [
    ("gaussian.w2_risk_var", {"estimator": "unbiased"}, {"g": 5}, MIN_TRIALS_VARIANCE),
    ("mvgaussian.mean_sq_error", {"workflow": "accumulate-subsample"}, {"t": 10}, 2000),
    ("ridge.test_error", None, {"n": 5}, 2000),
    ("gaussian.log_sigma2_drift", {"estimator": "mle"}, {"g": 10}, 2000),
])
def test_calibration_slow(claim_id, variant, at, trials):
    seeds, alpha = 400, 0.05
    check = make_check(claim_id, variant, **at)
    rejected = sum(run([check], trials=trials, seed=s)[0].p < alpha for s in range(seeds))
    lo, hi = stats.binom.ppf([0.001, 0.999], seeds, alpha)
    assert lo <= rejected <= hi, rejected


def test_moments_match_numpy_and_are_chunk_invariant():
    rng = np.random.default_rng(3)
    x = 1e6 + rng.standard_normal((10_000, 3))  # a large offset: the shift keeps precision
    whole, parts = Moments(), Moments()
    whole.add(x)
    for chunk in np.array_split(x, 7):
        parts.add(chunk)
    m, se = whole.mean()
    # Two float64 summations of values near 1e6 agree to about log2(n) ulp(1e6) ~ 14 * 1.2e-10.
    np.testing.assert_allclose(m, x.mean(0), rtol=0, atol=1e-8)
    np.testing.assert_allclose(se, x.std(0, ddof=1) / 100, rtol=1e-9)
    v, _ = whole.variance()
    np.testing.assert_allclose(v, x.var(0, ddof=1), rtol=1e-9)
    np.testing.assert_allclose(parts.mean()[0], m, rtol=0, atol=1e-8)


def test_variance_rows_below_the_calibrated_trial_count_are_skipped():
    rows = run([make_check("gaussian.w2_risk_var")], trials=2000, seed=0)
    assert {r.verdict for r in rows} == {"skip"}
    assert all("calibrated from" in r.note for r in rows)
    rows = run([make_check("gaussian.w2_risk_var")], trials=MIN_TRIALS_VARIANCE, seed=0)
    assert {r.verdict for r in rows} == {"pass"}


def test_ridge_study_rejects_a_shifted_claim():
    """The lam > 0 convergence study has power: the random-matrix test error plus 0.05 n is rejected."""
    check = make_check("ridge.test_error", {"spectrum": "isotropic"}, lam=0.1, sigma=0.5)
    check.expression = CLAIMS["ridge.test_error"].form(spectrum="isotropic").closed_expr() + sp.Rational(1, 20) * S.n
    verdicts = [r.verdict for r in run([check], seed=0)]
    assert verdicts[0] == "pass" and verdicts[-1] == "FAIL"  # n = 0 unchanged; n = 3 shifted by 0.15


def test_every_ridge_spectrum_is_checked_exactly_at_lam_0():
    checks, _ = default_checks(["ridge.test_error"])
    kinds = sorted((c.variant["spectrum"], c.kind) for c in checks)
    assert kinds == [("given", "exact"), ("isotropic", "asymptotic"), ("isotropic", "exact"), ("power-law", "exact")]


def test_extrapolation_recovers_the_limit():
    from numerics.stats import extrapolate

    sizes = (50, 100, 200, 400)
    fit = extrapolate(sizes, [2 + 3 / s for s in sizes], [0.01] * 4)
    assert fit["a"] == pytest.approx(2, abs=1e-12) and fit["b"] == pytest.approx(3) and fit["chi2"] < 1e-20
    # se(a) for equal errors e: e * sqrt(sum x^2 / (n sum x^2 - (sum x)^2)), x = 1/size
    x = np.array([1 / s for s in sizes])
    expected = 0.01 * np.sqrt((x**2).sum() / (4 * (x**2).sum() - x.sum() ** 2))
    assert fit["se_a"] == pytest.approx(expected, rel=1e-12)


def test_convergence_study_rejects_a_wrong_limit():
    # The accumulate ratio sum 1/j^2 offered for the subsample workflow: rejected at every k.
    assert set(_reject("universality.variance_ratio", "harmonic(k, 2)", {"workflow": "accumulate-subsample"})) == {"FAIL"}
    assert set(_reject("universality.variance_ratio", "3*harmonic(k, 2) - 2", {"workflow": "accumulate-subsample"})) == {"pass"}


@pytest.mark.slow
def test_convergence_study_calibration():
    """Extrapolated limits of a correct claim: rejections at about the nominal 5% over seeds."""
    seeds, alpha = 200, 0.05
    check = make_check("universality.variance_ratio", {"workflow": "accumulate-subsample"}, k=3)
    rejected = sum(run([check], trials=4000, seed=s)[0].p < alpha for s in range(seeds))
    lo, hi = stats.binom.ppf([0.001, 0.999], seeds, alpha)
    assert lo <= rejected <= hi, rejected


def test_holm():
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5]) == [0.5]
