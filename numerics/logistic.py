"""Logistic regression refitted on labels resampled from its own fit (Dey & Donoho's universality check).

Covariates are N(0, I_d) (drawn afresh for every synthetic batch, from the same distribution as the
real ones); labels are Bernoulli(sigmoid(x . theta)) with theta the latest fit (theta0 for the real
data). Each generation fits the maximum-likelihood theta to the training set the workflow gives
(through numerics.driver), by batched Newton steps (IRLS) warm-started from the previous fit.

Separation (a training set on which the MLE does not exist) makes Newton diverge. It is detected
(``|theta|`` beyond ``MAX_NORM`` or no convergence) and reported, never silently dropped: the simulator
raises ValueError, naming how many trials separated, and the check uses sizes where it does not
happen (at n = 100 one trial in about 4,000 separated by the third generation; the check uses n >= 200).
"""

from __future__ import annotations

import functools

import numpy as np
from scipy.special import expit

from theory.workflows import CLAIM_WORKFLOWS

from . import driver
from .catalog import Bind, Metric, Produces, Simulator, register
from .driver import Family
from .schema import SettingError, Settings, schema, setting
from .workflows import (ArrayPool, alpha_setting, draws_rows, first_fit_setting, real_fraction_setting, stored_all, synthetic_setting,
                        train_size_setting, workflow_from, workflow_setting)

THETA0 = (0.5, -0.5, 0.25)
MAX_NORM = 50.0


#: Points a block of trials holds in :func:`fit` (so that a block's arrays stay in the CPU's cache).
BLOCK_POINTS = 1 << 16


def fit(x: np.ndarray, y: np.ndarray, start: np.ndarray, steps: int = 50, tol: float = 1e-6) -> tuple[np.ndarray, np.ndarray]:
    """Batched logistic MLE by Newton's method: x (R, m, d), y (R, m) -> (theta (R, d), converged (R,)).

    A trial stops after a Newton step below ``tol`` in every coordinate. Newton converges quadratically, so
    the error left after that step is of order tol squared: at 1e-6 every fit was within 6e-13 of the one
    iterated on to steps below 1e-10 (12,000 trials at m = 200, 800 and 2,400), and it takes one step fewer.

    The trials are fitted a block at a time, every Newton step of a block before the next (about
    ``BLOCK_POINTS`` points a block, a few MB of arrays, which stay in the cache over its steps: on the whole
    batch each step streamed every array through memory, 2-3x slower on a loaded 2-core machine). Each
    trial's numbers are its own products, so blocking changes none of them.
    """
    theta = np.array(start, dtype=float)
    R, m, d = x.shape
    ok = np.zeros(R, dtype=bool)
    block = min(R, max(8, BLOCK_POINTS // max(m, 1)))
    # Every array of a block's Newton steps is written into these, made once for all blocks (made afresh for
    # each block, their pages were faulted in again each time: a third of the cost of setting a block up).
    work = (np.empty((block, d + d * (d + 1) // 2, m)), *(np.empty((block, m)) for _ in range(4)), np.empty((block, d, d)))
    for i in range(0, R, block):
        theta[i:i + block], ok[i:i + block] = _newton(x[i:i + block], y[i:i + block], theta[i:i + block], steps, tol, work)
    return theta, ok


def _newton(x: np.ndarray, y: np.ndarray, theta: np.ndarray, steps: int, tol: float, work: tuple) -> tuple[np.ndarray, np.ndarray]:
    """:func:`fit` on one block, in the arrays ``work`` (at least as many trials as the block). A trial has
    converged when its Newton step is below ``tol`` in every coordinate (3 to 5 steps from the previous
    generation's fit at verify's sizes); it is then left out of the later steps, whose arrays hold the trials
    still moving."""
    theta = theta.copy()
    R, d = theta.shape
    m = x.shape[1]
    done = np.zeros(R, dtype=bool)
    eye = 1e-12 * np.eye(d)
    upper = np.triu_indices(d)
    # (R, d + d(d+1)/2, m): each point's covariates, then its products x_i x_j (i <= j), the points along the
    # contiguous axis, so that every sum over the points below is a batched BLAS matmul. Shortcut (exact up to
    # rounding, named): the Hessian X^T W X is sum_points w x_i x_j, its d(d+1)/2 distinct entries one product
    # of these fixed products with w per step (on (R, m, d) the inner axis has d = 3 entries: weighting the
    # covariates by w, then X^T (W X), took two passes more of each step).
    q, eta, p, w, r, hess = (a[:R] for a in work)
    xt = q[:, :d]
    xt[...] = x.swapaxes(1, 2)
    for k, (i, j) in enumerate(zip(*upper)):
        np.multiply(xt[:, i], xt[:, j], out=q[:, d + k])
    live = np.arange(R)  # the trials the arrays hold (those not converged when they were last gathered)
    for _ in range(steps):
        k = len(live)
        e, pk, wk, rk, hk = eta[:k], p[:k], w[:k], r[:k], hess[:k]
        th = theta[live]
        np.matmul(-th[:, None, :], xt, out=e[:, None, :])  # -x . theta
        _expit(e, out=pk)
        np.subtract(1.0, pk, out=wk)
        wk *= pk  # p (1 - p)
        np.subtract(y, pk, out=rk)
        grad = (xt @ rk[:, :, None])[:, :, 0]
        h = (q[:, d:] @ wk[:, :, None])[:, :, 0]  # the distinct entries of X^T W X
        hk[:, upper[0], upper[1]] = h
        hk[:, upper[1], upper[0]] = h
        hk += eye
        step = np.linalg.solve(hk, grad[:, :, None])[:, :, 0]
        step[done[live]] = 0
        theta[live] = th + step
        done[live] |= np.abs(step).max(axis=1) < tol
        moving = ~done[live]
        if not moving.any():
            break
        if moving.sum() <= 0.75 * k:  # gather the trials still moving (a copy of theirs only)
            live, q, y = live[moving], q[moving], y[moving]
            xt = q[:, :d]
    return theta, done & (np.linalg.norm(theta, axis=1) < MAX_NORM)


def _expit(minus_eta: np.ndarray, out: np.ndarray) -> np.ndarray:
    """The logistic function of eta, 1 / (1 + exp(-eta)), from ``minus_eta`` = -eta, into ``out``.

    Shortcut (the same function, named): numpy's vectorised exp, then 1 + and 1 /, within two ulps of
    scipy.special.expit (it differs in 2% of points) at a third of its cost. exp overflows to inf (the value 0,
    where expit's is below 1e-307) only where eta < -709, on trials diverging under separation."""
    with np.errstate(over="ignore"):
        np.exp(minus_eta, out=out)
    out += 1.0
    return np.reciprocal(out, out=out)


def _batch(rng, R, n, theta, out=None):
    """(R, n, d + 1) points: covariates N(0, I_d), then labels Bernoulli(sigmoid(x . theta)) (into ``out``).

    Every covariate is drawn before any label's uniform (the stream of one draw of each), a block of trials at
    a time (a generator's draws in blocks are its draws at once), each block's arithmetic while it is in the
    cache."""
    d = theta.shape[1]
    batch = np.empty((R, n, d + 1)) if out is None else out
    block = max(1, BLOCK_POINTS // max(n, 1))
    for i in range(0, R, block):
        x = rng.standard_normal((len(batch[i:i + block]), n, d))
        for j in range(d):  # a column at a time: long strided loops (one assignment of all: loops of d entries, 3x slower)
            batch[i:i + block, :, j] = x[:, :, j]
        # -x . theta from the contiguous draws, kept in the labels' column until their uniforms are drawn
        batch[i:i + block, :, d] = (x @ -theta[i:i + block, :, None])[:, :, 0]
    for i in range(0, R, block):
        p = batch[i:i + block, :, d]
        _expit(p, out=p)
        np.less(rng.random(p.shape), p, out=p)  # 1.0 or 0.0
    return batch


@schema
class LogisticSettings(Settings):
    """The logistic chain's settings (the ``logistic`` simulator; :func:`simulate`)."""

    n: int = setting(doc="points per generation", low=4)
    workflow: str = workflow_setting()
    real_fraction: float | None = real_fraction_setting()
    train_size: int | None = train_size_setting()
    synthetic: int | None = synthetic_setting()
    alpha: float | None = alpha_setting()
    first_fit: str = first_fit_setting()

    def validate(self) -> None:
        if self.n <= len(THETA0):
            raise SettingError(f"n must be more than d = {len(THETA0)}, got {self.n}", "n")
        workflow_from(self, self.n)


class LogisticFamily(Family):
    """Logistic regression through the origin; a batch is (R, m, d + 1): covariates, then the label."""

    def __init__(self, config: LogisticSettings, theta0=THETA0):
        self.config, self.theta0 = config, np.asarray(theta0, dtype=float)

    def real(self, chain, rng):
        return _batch(rng, chain.trials, self.config.n, np.broadcast_to(self.theta0, (chain.trials, self.theta0.size)))

    def fit(self, train, chain, rng):
        d = self.theta0.size
        previous = chain.model
        start = np.broadcast_to(self.theta0, (train.shape[0], d)).copy() if previous is None else previous
        theta, ok = fit(train[:, :, :d], train[:, :, d], start)
        if not ok.all():
            raise ValueError(
                f"logistic MLE did not exist or did not converge in {int((~ok).sum())} of {len(ok)} trials at "
                f"generation {chain.generation} (separation; n={self.config.n} is too small for this theta0)"
            )
        return theta

    def measure(self, model, chain, rng, samples=None):
        diff = model - self.theta0
        return {"sq_error": (diff * diff).sum(axis=1)}

    def sample(self, model, size, chain, rng):
        # Straight into the pool's next rows where it keeps every batch in one array (no copy there).
        slot = chain.pool.slot(size) if isinstance(chain.pool, ArrayPool) else None
        return _batch(rng, len(model), size, model, out=slot)


def run(trials: int, rng: np.random.Generator, config: LogisticSettings, generations: int) -> dict[str, np.ndarray]:
    """{'sq_error': (trials, generations)}: ||theta_k - theta0||^2 after k fits (the workflow's sizes as for
    numerics.gaussian.simulate)."""
    return driver.run(LogisticFamily(config), workflow_from(config, config.n), generations, trials, rng)


def simulate(trials: int, rng: np.random.Generator, *, generations: int, **settings) -> dict[str, np.ndarray]:
    """:func:`run` with ``settings`` (:class:`LogisticSettings`) checked here."""
    return run(trials, rng, LogisticSettings.build(settings), generations)


@functools.lru_cache(maxsize=16)
def fisher_trace_inverse(theta0: tuple = THETA0) -> float:
    """tr I(theta0)^{-1} for covariates N(0, I_d): the asymptotic n E||theta_hat - theta0||^2 of one fit.

    ``I(theta) = E[x x^T s'(x . theta)]`` with s the logistic function. With ``u = theta / |theta|`` and
    ``t = x . u ~ N(0, 1)``, ``I = E[s'(|theta| t)] (I - u u^T) + E[t^2 s'(|theta| t)] u u^T``, so its inverse's
    trace is ``(d - 1) / E[s'(|theta| t)] + 1 / E[t^2 s'(|theta| t)]`` (two 1-D integrals, by quadrature).
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


_PLAIN = {"train_size": None, "synthetic": None, "alpha": None}
_NOTE = f"logistic MLE (Newton), d = 3, theta0 = {THETA0}, a quarter of the trials"

def _work(c, G: int) -> float:
    """Seconds per trial: 0.85e-7 per point sampled and 0.65e-7 per training point (Newton passes over it;
    the pool's mean size under accumulate). Measured on verify's cells (5,000 trials x 3 generations, one
    BLAS thread, CPU seconds, 2 cores under load 9; blocked Newton): 0.55 s at n = 200 replace, 1.88 s at
    n = 800 replace, 1.55 s at n = 400 accumulate, 2.60 s at n = 800 accumulate, 2.59 s at n = 800
    accumulate-subsample, 4.75 s at n = 1,600 accumulate-subsample-replacement from a bootstrap; then scaled by
    each of the 15 cells' CPU with the Hessian from fixed products and the logistic function by exp against
    the code before, interleaved in one session (load 2-3): 0.70 to 0.96 of it, 0.85 in all (this formula /
    those scaled figures: 0.87 to 1.19). The sampling's column copies since: 0.83 in all (the least of 3 to 7
    runs of each cell, either code)."""
    rows = c.n * ((G + 1) / 2 if stored_all(c.workflow) and not draws_rows(c.workflow) else 1)
    return G * (0.85e-7 * c.n + 0.65e-7 * rows)


register(Simulator(
    name="logistic",
    target=f"{__name__}:run",
    doc=f"logistic regression refitted on labels from its own fit, theta0 = {THETA0} (Dey & Donoho)",
    schema=LogisticSettings,
    metrics={
        "sq_error": Metric("||theta_k - theta0||^2", "sq_error"),
        "variance_ratio": Metric("E||theta_k - theta0||^2 / E||theta_1 - theta0||^2", "sq_error", statistic="ratio"),
        "scaled_sq_error": Metric("n ||theta_k - theta0||^2 / tr I(theta0)^-1: the error in units of one fit on the "
                                  "real data as they are (I: the Fisher information, by quadrature)", "sq_error",
                                  lambda v, c: v * c.n / fisher_trace_inverse()),
    },
    produces=(
        Produces("logistic.variance_ratio", "variance_ratio", (Bind("workflow"), Bind("n"), Bind("first_fit", const="real")),
                 when={"workflow": CLAIM_WORKFLOWS, "first_fit": "real", **_PLAIN}, share=0.25, note=_NOTE),
        Produces("logistic.variance_ratio", "scaled_sq_error", (Bind("workflow"), Bind("n"), Bind("first_fit")),
                 when={"first_fit": "bootstrap", **_PLAIN}, share=0.25, note=_NOTE),
    ),
    memory=lambda c, G: 8.0 * 4 * c.n * (G if stored_all(c.workflow) else 2) * 6,
    work=_work,
))
