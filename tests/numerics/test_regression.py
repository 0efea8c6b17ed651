"""The regression simulators (numerics.regression): bad input."""

import numpy as np
import pytest

from numerics import regression


def test_regression_simulator_bad_input():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="T must be at least d \\+ 2"):
        regression.simulate_fixed_design(4, rng, d=5, T=6, generations=2, workflow="replace")
    with pytest.raises(ValueError, match="Sigma must be positive definite"):
        regression.simulate_fixed_design(4, rng, d=2, T=10, generations=2, workflow="replace", eigenvalues=[1.0, -1.0])
    with pytest.raises(ValueError, match="eigenvalues must have d = 3 entries"):
        regression.simulate_fixed_design(4, rng, d=3, T=10, generations=2, workflow="replace", eigenvalues=[1.0, 2.0])
    with pytest.raises(ValueError, match="T0 must be at least d \\+ 2"):
        regression.simulate_dohmatob(4, rng, T=20, T0=6, lam=0, sigma=1, sigma0=1, generations=2, d=5)
    with pytest.raises(ValueError, match="T0 must be less than d"):
        regression.simulate_min_norm(4, rng, d=5, T0=5, generations=2)
    with pytest.raises(ValueError, match="lam must be a finite number"):
        regression.simulate_dohmatob(4, rng, T=20, T0=20, lam=float("nan"), sigma=1, sigma0=1, generations=2, d=5)


def test_dohmatob_measures_the_clean_ridge_first():
    out = regression.simulate_dohmatob(7, np.random.default_rng(0), T=20, T0=20, lam=0.1, sigma=1, sigma0=1,
                                       generations=3, d=5)
    assert out["test_error"].shape == (7, 4)
    zero = regression.simulate_dohmatob(7, np.random.default_rng(0), T=20, T0=20, lam=0.1, sigma=1, sigma0=1,
                                        generations=0, d=5)
    np.testing.assert_array_equal(zero["test_error"][:, 0], out["test_error"][:, 0])


# -- the ridge simulator's sufficient-statistics shortcut has the law of the plain loop ----------------

RIDGE_LAW = dict(spectrum="given", eigenvalues=(3.0, 1.0, 0.2), T=14, T0=14, lam=0.1, sigma=0.5, sigma0=1.0,
                 generations=3)
LAW_TRIALS = 20_000


def _ridge_paths(seed, plain_kw=None):
    """The shortcut and the plain loop (drawn rows) on independent streams (two children of one seed)."""
    rng_a, rng_b = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    fast = regression.simulate_dohmatob(LAW_TRIALS, rng_a, shortcut=True, **RIDGE_LAW)["test_error"]
    slow = regression.simulate_dohmatob(LAW_TRIALS, rng_b, shortcut=False, **{**RIDGE_LAW, **(plain_kw or {})})
    return fast, slow["test_error"]


def _assert_same_ridge_law(a, b, seed):
    """Two-sample tests, per generation 0-3, of the mean and the variance of the test error: each difference
    over sqrt(se_a^2 + se_b^2) (a variance's se by the delta method: fourth moments are finite at T0 = 14,
    d = 3). The 2 x 4 = 8 comparisons pass at family-wise alpha 1e-3 under the same law but with probability
    1e-3."""
    from numerics.stats import Summary
    from numerics.testing import assert_agrees

    diff, se = [], []
    sa, sb = Summary.of(a), Summary.of(b)
    for stat in ("mean", "variance"):
        (ea, se_a), (eb, se_b) = sa.estimate(stat), sb.estimate(stat)
        diff.append(ea - eb)
        se.append(np.hypot(se_a, se_b))
    assert_agrees(np.array(diff), np.array(se), 0.0, alpha=1e-3, seed=seed,
                  what="ridge shortcut vs plain loop (rows: mean, variance of the test error)")


def test_the_ridge_shortcut_has_the_law_of_the_plain_loop(collapse_seed):
    """Bartlett's factor and X^T e given it against OLS and ridge fits to drawn rows (a non-isotropic
    spectrum, lam > 0, three generations)."""
    _assert_same_ridge_law(*_ridge_paths(collapse_seed), collapse_seed)


def test_the_ridge_law_comparison_rejects_a_wrong_shortcut(collapse_seed):
    """The same test against the plain loop at T0 = 15 must fail: the generator's error per generation,
    sigma0^2 Tr(Sigma Sigma^-1) / (T0 - d - 1) before the ridge, falls from 0.30 to 0.27, which moves the
    mean test error at generation 3 (0.70, sd 0.65) by about 0.08: 12 standard errors of the difference at
    20,000 trials per path, far beyond the 3.9 of alpha 1e-3 over 8 comparisons."""
    from numerics.testing import DisagreementError

    with pytest.raises(DisagreementError, match="ridge shortcut vs plain loop"):
        _assert_same_ridge_law(*_ridge_paths(collapse_seed, {"T0": 15}), collapse_seed)


def test_the_ridge_shortcut_needs_t_at_least_d():
    """Below T = d the downstream X^T X is a singular Wishart: the plain loop runs (the same numbers as off)."""
    kw = dict(d=6, T=4, T0=9, lam=0.1, sigma=0.5, generations=2)
    on = regression.simulate_dohmatob(5, np.random.default_rng(3), **kw)
    off = regression.simulate_dohmatob(5, np.random.default_rng(3), shortcut=False, **kw)
    np.testing.assert_array_equal(on["test_error"], off["test_error"])


# -- the min-norm simulator's shortcut (each fit's projection drawn from its law) has the law of the plain loop --

MIN_NORM_LAW = dict(d=20, T0=8, w0_norm=1.5, generations=3)


def _min_norm_paths(seed, settings, plain_kw=None):
    """The shortcut and the plain loop (drawn designs, min-norm solves) on independent streams."""
    rng_a, rng_b = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    fast = regression.simulate_min_norm(LAW_TRIALS, rng_a, **settings)["error"]
    slow = regression.simulate_min_norm(LAW_TRIALS, rng_b, shortcut=False, **{**settings, **(plain_kw or {})})
    return fast, slow["error"]


def _assert_same_min_norm_law(a, b, seed):
    """Two-sample tests, per generation 1-3, of the mean and the variance of the error (bounded by 4 |w0|^2, so
    every moment is finite): 6 comparisons at family-wise alpha 1e-3."""
    from numerics.stats import Summary
    from numerics.testing import assert_agrees

    sa, sb = Summary.of(a), Summary.of(b)
    diff, se = [], []
    for stat in ("mean", "variance"):
        (ea, se_a), (eb, se_b) = sa.estimate(stat), sb.estimate(stat)
        diff.append(ea - eb)
        se.append(np.hypot(se_a, se_b))
    assert_agrees(np.array(diff), np.array(se), 0.0, alpha=1e-3, seed=seed,
                  what="min-norm shortcut vs plain loop (rows: mean, variance of the error)")


@pytest.mark.parametrize("settings", [MIN_NORM_LAW, dict(d=3, T0=2, generations=3), dict(d=2, T0=1, generations=3)],
                         ids=["d20", "d3", "d2"])
def test_the_min_norm_shortcut_has_the_law_of_the_plain_loop(settings, collapse_seed):
    """Beta-distributed projections and the new weights' angle to w0 against min-norm interpolators of drawn
    designs (d = 2: the orthogonal complement's sphere is two points)."""
    fast, slow = _min_norm_paths(collapse_seed, settings)
    _assert_same_min_norm_law(fast, slow, collapse_seed)


def test_the_min_norm_law_comparison_rejects_a_wrong_shortcut(collapse_seed):
    """The same test against the plain loop at T0 = 9 must fail: the mean error after one generation,
    |w0|^2 (1 - T0 / d), falls from 1.35 to 1.24, about 35 standard errors of the difference (sd 0.33, 20,000
    trials per path), far beyond the 3.8 of alpha 1e-3 over 6 comparisons."""
    from numerics.testing import DisagreementError

    with pytest.raises(DisagreementError, match="min-norm shortcut vs plain loop"):
        _assert_same_min_norm_law(*_min_norm_paths(collapse_seed, MIN_NORM_LAW, {"T0": 9}), collapse_seed)


def test_the_min_norm_shortcut_is_exact_in_the_mean():
    """E||w_n - w0||^2 = |w0|^2 (1 - (T0 / d)^n) (each projection keeps T0 / d of |w|^2 in mean and
    E[w_n] = (T0 / d)^n w0); the shortcut at 200,000 trials within 4 standard errors."""
    out = regression.simulate_min_norm(200_000, np.random.default_rng(11), d=50, T0=30, generations=5)["error"]
    expected = 1 - (30 / 50) ** np.arange(1, 6)
    se = out.std(axis=0) / np.sqrt(len(out))
    assert np.all(np.abs(out.mean(axis=0) - expected) < 4 * se)


@pytest.mark.parametrize("d", [1, 5, 40])
def test_the_generator_refit_back_substitution_equals_a_general_solve(d):
    """A^-T z by back substitution against np.linalg.solve on Bartlett factors: the same solution to rounding."""
    rng = np.random.default_rng(d)
    a = regression._bartlett(rng, 50, d, d + 3)
    z = rng.standard_normal((50, d))
    np.testing.assert_allclose(regression._solve_lower_transposed(a, z),
                               np.linalg.solve(a.swapaxes(1, 2), z[:, :, None])[:, :, 0], rtol=1e-10, atol=1e-12)
