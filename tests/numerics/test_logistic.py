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
