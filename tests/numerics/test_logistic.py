"""The logistic simulator (numerics.logistic): batched Newton, separation."""

import numpy as np
import pytest

from numerics import logistic


def test_batched_logistic_newton_finds_the_mle():
    from scipy.optimize import minimize
    from scipy.special import expit, log_expit

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
    x = np.array([[[1.0, 0.0], [2.0, 0.0], [-1.0, 0.0], [-2.0, 0.0], [0.5, 1.0], [-0.5, 1.0]]])
    y = np.array([[1.0, 1.0, 0.0, 0.0, 1.0, 0.0]])  # separable by the first coordinate
    _, ok = logistic.fit(x, y, np.zeros((1, 2)))
    assert not ok.any()
    with pytest.raises(ValueError, match="n must be >= 4"):
        logistic.simulate(4, np.random.default_rng(0), n=3, generations=2, workflow="replace")



def test_fisher_information_normalisation_against_a_direct_computation():
    """tr I(theta0)^-1 by quadrature against I(theta0) = E[x x^T s'(x.theta0)] by Monte Carlo (10^6 points)."""
    from scipy.special import expit

    x = np.random.default_rng(0).standard_normal((1_000_000, 3))
    theta0 = np.array(logistic.THETA0)
    p = expit(x @ theta0)
    info = (x * (p * (1 - p))[:, None]).T @ x / len(x)
    # Monte Carlo error of the information at 10^6 points is about 1e-3 relative: 5e-3 is five of those
    assert logistic.fisher_trace_inverse() == pytest.approx(np.trace(np.linalg.inv(info)), rel=5e-3)


def test_blocks_of_trials_change_no_fit(monkeypatch):
    """Newton a block of trials at a time, converged trials left out of later steps: each trial's numbers are its
    own, so any blocking gives the same bits as one block of every trial."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((300, 120, 4))[:, :, :3]  # strided, as the pool's covariates are
    y = (rng.random((300, 120)) < 0.5).astype(float)
    start = np.tile(logistic.THETA0, (300, 1))
    monkeypatch.setattr(logistic, "BLOCK_POINTS", 10**9)
    whole, ok_whole = logistic.fit(x, y, start)
    monkeypatch.setattr(logistic, "BLOCK_POINTS", 120 * 8)
    blocked, ok_blocked = logistic.fit(x, y, start)
    np.testing.assert_array_equal(blocked, whole)
    np.testing.assert_array_equal(ok_blocked, ok_whole)


def _plain_newton(x, y, theta, steps, tol=1e-6):
    """The textbook Newton iteration, the whole batch at once: p by scipy's expit, the Hessian as (W X)^T X, every
    trial stepped until all have taken a step below tol (a converged trial's later steps are below tol^2)."""
    from scipy.special import expit

    theta = theta.copy()
    for _ in range(steps):
        p = expit((x @ theta[:, :, None])[:, :, 0])
        grad = (x * (y - p)[:, :, None]).sum(axis=1)
        hess = (x * (p * (1 - p))[:, :, None]).swapaxes(1, 2) @ x
        step = np.linalg.solve(hess, grad[:, :, None])[:, :, 0]
        theta += step
        if np.abs(step).max() < tol:
            break
    return theta


@pytest.mark.parametrize("m", [40, 300])
def test_newton_shortcuts_take_the_textbook_steps(m):
    """The fit's shortcuts (the Hessian from each point's fixed products x_i x_j, the logistic function by
    numpy's exp, the buffers reused across blocks) change each Newton step only by rounding: one and two steps
    from the same start agree with the textbook iteration's to 1e-12 (a step is of order 0.1-1e-3 here), and the
    converged fits to 1e-9, far inside the stopping tolerance 1e-6 (both are within about tol^2 of the MLE)."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((200, m, 4))[:, :, :3]  # strided, as the pool's covariates are
    y = (rng.random((200, m)) < 1 / (1 + np.exp(-(x @ np.array(logistic.THETA0))))).astype(float)
    start = np.tile(logistic.THETA0, (200, 1)) + 0.3 * rng.standard_normal((200, 3))
    for steps in (1, 2):
        theta, _ = logistic.fit(x, y, start, steps=steps)
        np.testing.assert_allclose(theta, _plain_newton(x, y, start, steps, tol=0), rtol=0, atol=1e-12)
    theta, ok = logistic.fit(x, y, start)
    assert ok.all()
    np.testing.assert_allclose(theta, _plain_newton(x, y, start, 50), rtol=0, atol=1e-9)


def test_logistic_function_is_scipys_to_two_ulps():
    from scipy.special import expit

    eta = np.concatenate([np.linspace(-750, 750, 30001), np.random.default_rng(0).standard_normal(10**5) * 3])
    p = logistic._expit(-eta, out=np.empty_like(eta))
    ref = expit(eta)
    normal = eta > -708  # beyond, both are below 1e-307 (subnormal, and 0 where exp(-eta) overflows)
    assert np.all(np.abs(p - ref)[normal] <= 2 * np.spacing(ref[normal]))
    assert np.all(p[~normal] < 1e-307) and np.all(ref[~normal] < 1e-307) and p[0] == 0.0
    assert p[30000] == 1.0


def test_sampling_draws_the_plain_paths_numbers(monkeypatch):
    """Covariates copied a column at a time, -x . theta kept in the labels' column, blocks of trials: the same
    covariates and labels as every covariate drawn at once, then every label by scipy's expit (a label could
    differ only where its uniform falls within two ulps of p), into a fresh array or a strided pool slot."""
    from scipy.special import expit

    theta = np.tile(logistic.THETA0, (30, 1)) + 0.2 * np.random.default_rng(1).standard_normal((30, 3))
    rng = np.random.default_rng(2)
    x = rng.standard_normal((30, 50, 3))
    y = rng.random((30, 50)) < expit((x @ theta[:, :, None])[:, :, 0])
    monkeypatch.setattr(logistic, "BLOCK_POINTS", 50 * 7)  # blocks of 7 trials
    pool = np.full((30, 80, 4), np.nan)
    for out in (None, pool[:, 20:70]):
        got = logistic._batch(np.random.default_rng(2), 30, 50, theta, out=out)
        np.testing.assert_array_equal(got[:, :, :3], x)
        np.testing.assert_array_equal(got[:, :, 3], y)
    assert np.isnan(pool[:, :20]).all() and np.isnan(pool[:, 70:]).all()
