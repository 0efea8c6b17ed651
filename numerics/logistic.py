"""Logistic regression refitted on labels resampled from its own fit (Dey & Donoho's universality check).

Covariates are N(0, I_d) (drawn afresh for every synthetic batch, from the same distribution as the
real ones); labels are Bernoulli(sigmoid(x . theta)) with theta the latest fit (theta0 for the real
data). Each generation fits the maximum-likelihood theta to the training set the workflow gives
(through numerics.driver), by batched Newton steps (IRLS) warm-started from the previous fit.

Separation (a training set on which the MLE does not exist) makes Newton diverge. It is detected
(|theta| beyond ``MAX_NORM`` or no convergence) and reported, never silently dropped: the simulator
raises ValueError, naming how many trials separated, and the check uses sizes where it does not
happen (at n = 100 one trial in about 4,000 separated by the third generation; the check uses n >= 200).
"""

from __future__ import annotations

import functools

import numpy as np
from scipy.special import expit

from . import driver
from .driver import Family
from .workflows import check_workflow, workflow_of

THETA0 = (0.5, -0.5, 0.25)
MAX_NORM = 50.0


def fit(x: np.ndarray, y: np.ndarray, start: np.ndarray, steps: int = 50, tol: float = 1e-10) -> tuple[np.ndarray, np.ndarray]:
    """Batched logistic MLE by Newton's method: x (R, m, d), y (R, m) -> (theta (R, d), converged (R,))."""
    theta = start.copy()
    R, d = theta.shape
    done = np.zeros(R, dtype=bool)
    eye = 1e-12 * np.eye(d)
    for _ in range(steps):
        eta = np.einsum("rmd,rd->rm", x, theta)
        p = expit(eta)
        w = p * (1 - p)
        grad = np.einsum("rmd,rm->rd", x, y - p)
        hess = np.einsum("rmd,rm,rme->rde", x, w, x) + eye
        step = np.linalg.solve(hess, grad[:, :, None])[:, :, 0]
        step[done] = 0
        theta = theta + step
        done |= np.abs(step).max(axis=1) < tol
        if done.all():
            break
    ok = done & (np.linalg.norm(theta, axis=1) < MAX_NORM)
    return theta, ok


def _batch(rng, R, n, theta):
    x = rng.standard_normal((R, n, theta.shape[1]))
    p = expit(np.einsum("rmd,rd->rm", x, theta))
    y = (rng.random((R, n)) < p).astype(float)
    return np.concatenate([x, y[:, :, None]], axis=2)


class LogisticFamily(Family):
    """Logistic regression through the origin; a batch is (R, m, d + 1): covariates, then the label."""

    def __init__(self, theta0: np.ndarray, n: int):
        self.theta0, self.n = theta0, n
        self.fits = 0

    def real(self, trials, rng):
        return _batch(rng, trials, self.n, np.broadcast_to(self.theta0, (trials, self.theta0.size)))

    def fit(self, train, rng, previous):
        d = self.theta0.size
        start = np.broadcast_to(self.theta0, (train.shape[0], d)).copy() if previous is None else previous
        theta, ok = fit(train[:, :, :d], train[:, :, d], start)
        self.fits += 1
        if not ok.all():
            raise ValueError(
                f"logistic MLE did not exist or did not converge in {int((~ok).sum())} of {len(ok)} trials at "
                f"generation {self.fits} (separation; n={self.n} is too small for this theta0)"
            )
        return theta

    def measure(self, model, rng):
        diff = model - self.theta0
        return {"sq_error": (diff * diff).sum(axis=1)}

    def sample(self, model, size, rng):
        return _batch(rng, len(model), size, model)


def simulate(trials: int, rng: np.random.Generator, *, n: int, generations: int, workflow: str,
             theta0=THETA0, real_fraction: float | None = None, train_size: int | None = None,
             synthetic: int | None = None, alpha: float | None = None, first_fit: str = "real") -> dict[str, np.ndarray]:
    """{'sq_error': (trials, generations)}: ||theta_k - theta0||^2 after k fits (the workflow's sizes as
    for numerics.gaussian.simulate)."""
    check_workflow(workflow)
    theta0 = np.asarray(theta0, dtype=float)
    d = theta0.size
    if isinstance(n, bool) or int(n) != n or n <= d or int(generations) != generations or generations < 1:
        raise ValueError(f"n must be an integer > d = {d} and generations >= 1, got n={n!r}, generations={generations!r}")
    family = LogisticFamily(theta0, n)
    flow = workflow_of(workflow, n, train_size=train_size, synthetic=synthetic, alpha=alpha,
                       real_fraction=real_fraction, first_fit=first_fit)
    return driver.run(family, flow, generations, trials, rng)


@functools.lru_cache(maxsize=16)
def fisher_trace_inverse(theta0: tuple = THETA0) -> float:
    """tr I(theta0)^{-1} for covariates N(0, I_d): the asymptotic n E||theta_hat - theta0||^2 of one fit.

    I(theta) = E[x x^T s'(x . theta)] with s the logistic function. With u = theta / |theta| and
    t = x . u ~ N(0, 1), I = E[s'(|theta| t)] (I - u u^T) + E[t^2 s'(|theta| t)] u u^T, so its inverse's
    trace is (d - 1) / E[s'(|theta| t)] + 1 / E[t^2 s'(|theta| t)] (two 1-D integrals, by quadrature).
    A property of the data distribution (the normalisation of Dey & Donoho's ratios), not of the chain.
    """
    from scipy.integrate import quad
    from scipy.stats import norm

    theta0 = np.asarray(theta0, dtype=float)
    c = float(np.linalg.norm(theta0))
    slope = lambda t: expit(c * t) * (1 - expit(c * t)) * norm.pdf(t)  # noqa: E731
    e0 = quad(slope, -np.inf, np.inf)[0]
    e2 = quad(lambda t: t * t * slope(t), -np.inf, np.inf)[0]
    return (theta0.size - 1) / e0 + 1 / e2
