"""Iterated Gaussian fitting, run for real: sample, fit mean and covariance, sample from the fit.

One simulator serves the 1-D chain (Shumailov et al.; d = 1) and the multivariate workflows (Kazdan et
al.). The real data are N(0, sigma^2 I_d). Every generation fits the sample mean and the covariance
(``estimator``: 'unbiased' divides the scatter by m - 1, 'mle' by m) to the training set the workflow
gives, and samples the next batch of n points from N(mu_t, Sigma_t) as mu_t + Sigma_t^{1/2} z.

Shortcut (exact, named): under ``accumulate`` the pool's mean and scatter matrix are merged batch by
batch with Chan et al.'s update, scatter = S_pool + S_batch + (N m / (N + m)) delta delta^T, which is
the same arithmetic as refitting on the stacked pool, in flat memory. Every other workflow draws its
training set from an actual pool of points (numerics.workflows.Pool).
"""

from __future__ import annotations

import numpy as np

from .workflows import Pool, check_workflow

#: Per-trial quantities recorded at every generation, each of shape (R, G).
QUANTITIES = ("mean_sq_error", "trace", "det", "w2", "sigma", "log_var", "marginal_var")


def _fit(x: np.ndarray, ddof: int) -> tuple[np.ndarray, np.ndarray]:
    """Sample mean (R, d) and covariance (R, d, d) of x (R, m, d)."""
    mu = x.mean(axis=1)
    c = x - mu[:, None, :]
    return mu, (c.swapaxes(1, 2) @ c) / (x.shape[1] - ddof)


def _sqrt_psd(cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric square root of each covariance, and its eigenvalues (clipped at 0)."""
    if cov.shape[-1] == 1:
        ev = np.maximum(cov[:, :, 0], 0.0)
        return np.sqrt(ev)[:, :, None], ev
    ev, vec = np.linalg.eigh(cov)
    ev = np.maximum(ev, 0.0)
    return (vec * np.sqrt(ev)[:, None, :]) @ vec.swapaxes(1, 2), ev


def simulate(trials: int, rng: np.random.Generator, *, d: int, n: int, generations: int, estimator: str,
             workflow: str, sigma: float = 1.0, real_fraction: float | None = None) -> dict[str, np.ndarray]:
    """Run ``trials`` independent chains; return each quantity of :data:`QUANTITIES` as (trials, G).

    ``mean_sq_error`` is ||mu_t - mu_0||^2, ``trace`` Tr Sigma_t, ``det`` det Sigma_t, ``w2`` the squared
    W2 distance from N(mu_t, Sigma_t) to N(0, sigma^2 I) (closed form for Gaussians), ``sigma`` and
    ``log_var`` sqrt(Sigma_t) and log(Sigma_t / sigma^2) (d = 1), and ``marginal_var`` the variance of a
    point drawn from model t about mu_0 per coordinate, E[||X_t - mu_0||^2 | model] / d =
    (||mu_t - mu_0||^2 + Tr Sigma_t) / d (its conditional expectation given the fitted model, so no
    extra draw is needed).
    """
    check_workflow(workflow)
    if estimator not in ("unbiased", "mle"):
        raise ValueError(f"estimator must be 'unbiased' or 'mle', got {estimator!r}")
    for name, value, low in (("d", d, 1), ("n", n, 2), ("generations", generations, 1), ("trials", trials, 1)):
        if int(value) != value or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    if not np.isfinite(sigma) or sigma <= 0:
        raise ValueError(f"sigma must be positive, got {sigma!r}")
    ddof = 1 if estimator == "unbiased" else 0
    R, G = trials, generations
    out = {q: np.empty((R, G)) for q in QUANTITIES}
    real = sigma * rng.standard_normal((R, n, d))
    pool = Pool(workflow, real, rng, G, real_fraction=real_fraction)
    if workflow == "accumulate":
        count = n
        mean, c = real.mean(axis=1), real - real.mean(axis=1, keepdims=True)
        scatter = c.swapaxes(1, 2) @ c
    for t in range(G):
        if workflow == "accumulate":
            mu, cov = mean, scatter / (count - ddof)
        else:
            mu, cov = _fit(pool.training_set(), ddof)
        root, ev = _sqrt_psd(cov)
        mse = (mu * mu).sum(axis=1)
        tr = ev.sum(axis=1)
        out["mean_sq_error"][:, t] = mse
        out["trace"][:, t] = tr
        out["det"][:, t] = ev.prod(axis=1)
        out["w2"][:, t] = mse + tr + d * sigma**2 - 2 * sigma * np.sqrt(ev).sum(axis=1)
        out["marginal_var"][:, t] = (mse + tr) / d
        if d == 1:
            out["sigma"][:, t] = np.sqrt(ev[:, 0])
            with np.errstate(divide="ignore"):
                out["log_var"][:, t] = np.log(ev[:, 0] / sigma**2)
        else:
            out["sigma"][:, t] = np.nan
            out["log_var"][:, t] = np.nan
        if t == G - 1:
            break
        batch = mu[:, None, :] + rng.standard_normal((R, n, d)) @ root  # root is symmetric
        if workflow == "accumulate":  # Chan et al.'s merge: the stacked-pool fit, in flat memory
            b_mean = batch.mean(axis=1)
            bc = batch - b_mean[:, None, :]
            delta = b_mean - mean
            scatter = scatter + bc.swapaxes(1, 2) @ bc + (count * n / (count + n)) * (delta[:, :, None] * delta[:, None, :])
            mean = mean + delta * (n / (count + n))
            count += n
        else:
            pool.add(batch)
    return out
