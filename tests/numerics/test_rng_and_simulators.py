import numpy as np
import pytest

from numerics import gaussian, regression
from numerics.rng import BLOCK, blocks, seed_sequence, stable_key
from numerics.verify import make_check, run


def test_a_block_depends_only_on_seed_key_and_index():
    ss = seed_sequence(123)
    whole = [b.rng.standard_normal(5) for b in blocks(3 * BLOCK, ss, key=(7,))]
    alone = next(blocks(3 * BLOCK, ss, key=(7,), first=2, count=1)).rng.standard_normal(5)
    assert np.array_equal(whole[2], alone)
    shorter = next(blocks(BLOCK + 5, ss, key=(7,))).rng.standard_normal(5)
    assert np.array_equal(whole[0], shorter)
    other_key = next(blocks(BLOCK, ss, key=(8,))).rng.standard_normal(5)
    assert not np.array_equal(whole[0], other_key)
    assert stable_key("a", 1) == stable_key("a", 1) != stable_key("a", 2)


def test_bit_exact_pin():
    # Regression pin: seed 0 with numpy's PCG64 and this simulator (recorded 2026-11-21, numpy 2.4).
    # It changes when the simulator's draws or arithmetic change; update it deliberately if so.
    out = gaussian.simulate(3, np.random.default_rng(0), d=1, n=5, generations=2, estimator="unbiased", workflow="replace")
    assert out["mean_sq_error"][:, 1].tolist() == [0.0008283872144735121, 0.2774157542507147, 1.4793119424871966]


def test_runs_are_reproducible_and_independent_of_what_else_is_checked():
    a = make_check("gaussian.w2_risk")
    b = make_check("gaussian.sigma_mean")
    alone = run([a], trials=3000, seed=5)
    together = run([a, b], trials=3000, seed=5)
    assert [r.estimate for r in alone] == [r.estimate for r in together[: len(alone)]]
    again = run([a], trials=3000, seed=5)
    assert [r.estimate for r in alone] == [r.estimate for r in again]
    assert [r.estimate for r in run([a], trials=3000, seed=6)] != [r.estimate for r in alone]


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(d=0, n=5, generations=2, estimator="mle", workflow="replace"), "d must be an integer >= 1"),
        (dict(d=1, n=1, generations=2, estimator="mle", workflow="replace"), "n must be an integer >= 2"),
        (dict(d=1, n=5, generations=2, estimator="ddof2", workflow="replace"), "estimator must be"),
        (dict(d=1, n=5, generations=2, estimator="mle", workflow="nope"), "workflow must be one of"),
        (dict(d=1, n=5, generations=2, estimator="mle", workflow="replace", sigma=float("nan")), "sigma must be positive"),
    ],
)
def test_gaussian_simulator_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        gaussian.simulate(4, np.random.default_rng(0), **kwargs)


def test_regression_simulator_bad_input():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="T must be at least d \\+ 2"):
        regression.simulate_fixed_design(4, rng, d=5, T=6, fits=2)
    with pytest.raises(ValueError, match="Sigma must be positive definite"):
        regression.simulate_fixed_design(4, rng, d=2, T=10, fits=2, eigenvalues=[1.0, -1.0])
    with pytest.raises(ValueError, match="T0 must be at least d \\+ 2"):
        regression.simulate_dohmatob(4, rng, T=20, T0=6, lam=0, sigma=1, sigma0=1, generations=2, d=5)


def test_accumulate_shortcut_equals_refitting_on_the_stacked_pool():
    """Chan's merge (the accumulate shortcut) against a plain refit on the stored pool: same numbers."""
    from numerics.gaussian import _fit

    kw = dict(d=3, n=6, generations=4, estimator="unbiased", sigma=1.0)
    fast = gaussian.simulate(50, np.random.default_rng(9), workflow="accumulate", **kw)
    # The same random numbers through the generic pool path: real-plus-synthetic would differ, so
    # rebuild accumulate by hand with the same draws.
    rng = np.random.default_rng(9)
    real = rng.standard_normal((50, 6, 3))
    pool = [real]
    for t in range(4):
        mu, cov, _ = _fit(np.concatenate(pool, axis=1), 1)
        np.testing.assert_allclose((mu * mu).sum(1), fast["mean_sq_error"][:, t], rtol=1e-10)
        np.testing.assert_allclose(np.trace(cov, axis1=1, axis2=2), fast["trace"][:, t], rtol=1e-10)
        if t == 3:
            break
        pool.append(mu[:, None, :] + rng.standard_normal((50, 6, 3)) @ np.linalg.cholesky(cov).swapaxes(1, 2))


def test_kde_and_min_norm_simulators_bad_input():
    from numerics import kde

    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="bandwidth='fixed' needs h > 0"):
        kde.simulate(4, rng, sigma=1, n=5, generations=3, workflow="replace")
    with pytest.raises(ValueError, match="bandwidth='fixed' needs h > 0"):
        kde.simulate(4, rng, sigma=1, n=5, generations=3, workflow="replace", h=[0.1, 0.2])
    with pytest.raises(ValueError, match="bandwidth must be"):
        kde.simulate(4, rng, sigma=1, n=5, generations=3, workflow="replace", bandwidth="auto")
    with pytest.raises(ValueError, match="T0 must be less than d"):
        regression.simulate_min_norm(4, rng, d=5, T0=5, generations=2)


def test_kde_sampling_is_a_point_plus_kernel_noise():
    """With a tiny bandwidth the sampled points are (almost) copies of the fitted ones."""
    from numerics import kde

    out = kde.simulate(200, np.random.default_rng(3), sigma=1, n=10, generations=2, workflow="replace", h=1e-9)
    # A resample of n of the fitted points has, on average, (n-1)/n of their (MLE) variance; 200 trials
    # put the ratio within about 0.02 of 0.9 (one standard error), so 0.05 is 2.5 of them.
    ratio = out["variance"][:, 1].mean() / out["variance"][:, 0].mean()
    assert ratio == pytest.approx(0.9, abs=0.05)


def test_batched_logistic_newton_finds_the_mle():
    from scipy.optimize import minimize
    from scipy.special import expit, log_expit

    from numerics import logistic

    rng = np.random.default_rng(4)
    x = rng.standard_normal((5, 200, 3))
    y = (rng.random((5, 200)) < expit(x @ np.array([0.5, -0.5, 0.25]))).astype(float)
    theta, ok = logistic.fit(x, y, np.zeros((5, 3)))
    assert ok.all()
    for r in range(5):
        nll = lambda t: -(y[r] * log_expit(x[r] @ t) + (1 - y[r]) * log_expit(-(x[r] @ t))).sum()  # noqa: E731
        ref = minimize(nll, np.zeros(3), method="BFGS", options={"gtol": 1e-10}).x
        np.testing.assert_allclose(theta[r], ref, atol=1e-5)


def test_logistic_separation_is_reported_not_dropped():
    from numerics import logistic

    x = np.array([[[1.0, 0.0], [2.0, 0.0], [-1.0, 0.0], [-2.0, 0.0], [0.5, 1.0], [-0.5, 1.0]]])
    y = np.array([[1.0, 1.0, 0.0, 0.0, 1.0, 0.0]])  # separable by the first coordinate
    _, ok = logistic.fit(x, y, np.zeros((1, 2)))
    assert not ok.any()
    with pytest.raises(ValueError, match="n must be an integer > d"):
        logistic.simulate(4, np.random.default_rng(0), n=3, generations=2, workflow="replace")
