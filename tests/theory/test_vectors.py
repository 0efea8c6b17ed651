"""docs/formulas.md's test vectors (exact values computed there with mpmath; MC columns are not used here)."""

import pytest

from theory import CLAIMS

G = dict(sigma=1, T=20, g=10)

GAUSSIAN = [
    ("gaussian.sigma_mean", G, "unbiased", 0.8767631),
    ("gaussian.mean_sq_error", G, "unbiased", 0.5),
    ("gaussian.marginal_var", G, "unbiased", 1.5),
    ("gaussian.w2_risk", G, "unbiased", 0.7464737),
    ("gaussian.w2_risk_var", G, "unbiased", 1.2273201),
    ("gaussian.w2_risk_var", dict(sigma=1, T=20, g=1), "unbiased", 6.3305e-3),
    ("gaussian.w2_risk_var", dict(sigma=1, T=200, g=2), "unbiased", 2.5164e-4),
    ("gaussian.w2_risk", G, "mle", 0.643155),
    ("gaussian.marginal_var", G, "mle", 1.0),
    ("gaussian.log_sigma2_drift", dict(T=20, g=1), "unbiased", -0.053554),
]


@pytest.mark.parametrize("cid,point,estimator,expected", GAUSSIAN)
def test_gaussian_vectors(cid, point, estimator, expected):
    value = CLAIMS[cid].evaluate(**point, estimator=estimator)
    # docs/formulas.md prints 5-8 significant digits: agree to the last one printed.
    assert value == pytest.approx(expected, rel=2e-5, abs=1e-7)


def test_gaussian_fourth_moment_of_sigma():
    # E sigma_g^4 = sigma^4 prod (T_i+1)/(T_i-1) = 2.7205514 at T=20, g=10 (docs/formulas.md 1b); from the
    # derived moment function M(T, 2).
    from theory.gaussian import moment
    from theory.symbols import T

    assert float(moment(T, 2, "unbiased").subs(T, 20) ** 10) == pytest.approx(2.7205514, rel=1e-7)


def test_halving_time_of_the_median_variance():
    # T=20: log sigma^2 drifts by -0.053554 per generation, so the median halves every ~12.9 generations.
    drift = CLAIMS["gaussian.log_sigma2_drift"].evaluate(T=20, g=1)
    assert -0.6931471805599453 / drift == pytest.approx(12.9, abs=0.05)


MV = dict(sigma2=1, d=5, n=20, t=10)
KAZDAN_TABLE = {  # (workflow, estimator): (E||mu_t - mu_0||^2, E Tr ratio), docs/formulas.md sec. 5
    ("replace", "mle"): (2.00632, 0.59874),
    ("replace", "unbiased"): (2.5, 1.0),
    ("accumulate", "mle"): (0.37927, 0.92415),
    ("accumulate", "unbiased"): (0.38604, 0.97229),
    ("accumulate-subsample", "mle"): (0.63066, 0.87387),
    ("accumulate-subsample", "unbiased"): (0.66442, 1.01383),
    ("accumulate-subsample-replacement", "mle"): (0.67267, 0.86547),
    ("accumulate-subsample-replacement", "unbiased"): (0.70902, 1.00315),
}


@pytest.mark.parametrize("workflow,estimator", sorted(KAZDAN_TABLE))
def test_kazdan_table(workflow, estimator):
    mse, tr = KAZDAN_TABLE[workflow, estimator]
    kw = dict(MV, workflow=workflow, estimator=estimator)
    assert CLAIMS["mvgaussian.mean_sq_error"].evaluate(**kw) == pytest.approx(mse, abs=6e-6)
    assert CLAIMS["mvgaussian.trace_ratio"].evaluate(**kw) == pytest.approx(tr, abs=6e-6)
    assert CLAIMS["mvgaussian.w2_risk_lower_bound"].evaluate(**kw) == pytest.approx(mse, abs=6e-6)


def test_det_ratio_multivariate_shumailov():
    # E det Sigma_g = det Sigma [prod_{k<d} (1 - k/(T-1))]^g: 0.0032299 at d=5, T=20, g=10 (docs/formulas.md 1g).
    value = CLAIMS["mvgaussian.det_ratio"].evaluate(**MV, estimator="unbiased")
    assert value == pytest.approx(0.0032299, rel=2e-5)


def test_unbiased_replace_lower_bound_is_trace_times_sum():
    # E||mu_g - mu||^2 = Tr Sigma * g/T = 2.5 at d=5, Sigma=I, T=20, g=10 (docs/formulas.md 1g).
    kw = dict(MV, workflow="replace", estimator="unbiased")
    assert CLAIMS["mvgaussian.w2_risk_lower_bound"].evaluate(**kw) == 2.5


REG = dict(sigma=1, d=5, T=20)


def test_gerstgrasser_vectors():
    assert CLAIMS["regression.replace.test_error"].evaluate(**REG, n=1) == pytest.approx(5 / 14, rel=1e-15)
    assert CLAIMS["regression.replace.test_error"].evaluate(**REG, n=10) == pytest.approx(3.571429, rel=1e-6)
    assert CLAIMS["regression.accumulate.test_error"].evaluate(**REG, n=10) == pytest.approx(0.553489, rel=1e-6)
    assert CLAIMS["regression.accumulate.bound"].evaluate(**REG) == pytest.approx(0.587476, rel=1e-6)
    # H^(2)_10 = 1.5497677
    assert CLAIMS["regression.accumulate.test_error"].evaluate(**REG, n=10) / (5 / 14) == pytest.approx(1.5497677, rel=1e-7)


def test_evaluate_has_at_least_15_digits():
    # mpmath at 60 digits as the reference: 0.74647371523887...
    c = CLAIMS["gaussian.w2_risk"]
    ref = c.evaluate_mp(dps=60, sigma=1, T=20, g=10)
    assert abs(c.evaluate(sigma=1, T=20, g=10) - float(ref)) <= 1e-15 * abs(float(ref))
