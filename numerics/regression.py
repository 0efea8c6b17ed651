"""Linear regression retrained on its own labels (Gerstgrasser et al.; Dohmatob et al.), run for real.

Shortcuts (exact, named):
* fixed design: X is drawn once per trial and reused, so its pseudo-inverse X^+ = (X^T X)^-1 X^T is
  computed once (a batched solve) and each OLS refit is one matrix-vector product, w = X^+ y;
* accumulate with a fixed design: OLS on the stacked design [X; ...; X] with labels [y_1; ...; y_k]
  is X^+ applied to the mean label vector, so a running sum of the labels is kept.
The subsample workflows draw T rows from the actual pool of (x, y) rows (numerics.workflows.Pool) and
solve OLS on them.

Sigma is diagonal in its eigenbasis (``eigenvalues``); the test error is (w - w*)^T Sigma (w - w*).
"""

from __future__ import annotations

import numpy as np

from .workflows import Pool, check_workflow


def _check_sizes(**sizes: int) -> None:
    for name, value in sizes.items():
        if int(value) != value or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _eigs(eigenvalues, d: int | None) -> np.ndarray:
    eig = np.ones(d) if eigenvalues is None else np.asarray(eigenvalues, dtype=float)
    if eig.ndim != 1 or eig.size < 1 or not np.all(np.isfinite(eig)) or np.any(eig <= 0):
        raise ValueError("eigenvalues must be a non-empty sequence of positive numbers (Sigma must be positive definite)")
    return eig


def _design(rng, R, rows, eig):
    return rng.standard_normal((R, rows, eig.size)) * np.sqrt(eig)


def _ols(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Batched OLS through the normal equations: x (R, m, d), y (R, m) -> (R, d)."""
    return np.linalg.solve(x.swapaxes(1, 2) @ x, (x.swapaxes(1, 2) @ y[:, :, None]))[:, :, 0]


def _error(w, w_star, eig):
    diff = w - w_star
    return (diff * diff * eig).sum(axis=1)


def simulate_fixed_design(trials: int, rng: np.random.Generator, *, d: int, T: int, fits: int, sigma: float = 1.0,
                          workflow: str = "accumulate", eigenvalues=None) -> dict[str, np.ndarray]:
    """Gerstgrasser et al.'s chain: {'test_error': (trials, fits)}, column k-1 after k fits."""
    check_workflow(workflow)
    _check_sizes(d=d, T=T, fits=fits, trials=trials)
    if T < d + 2:
        raise ValueError(f"T must be at least d + 2 for OLS, got T={T}, d={d}")
    eig = _eigs(eigenvalues, d)
    R = trials
    X = _design(rng, R, T, eig)
    w_star = np.full((R, d), 1 / np.sqrt(d))
    pinv = np.linalg.solve(X.swapaxes(1, 2) @ X, X.swapaxes(1, 2))  # (R, d, T), once per trial
    Xt = np.ascontiguousarray(X.swapaxes(1, 2))  # (R, d, T): the layout einsum contracts fastest
    out = np.empty((R, fits))
    w = w_star
    label_sum = np.zeros((R, T))
    pool = None
    y = np.empty((R, T))
    for k in range(1, fits + 1):
        rng.standard_normal(out=y)  # labels: X w_{k-1} + sigma E, built in place
        if sigma != 1:
            y *= sigma
        y += np.einsum("rdt,rd->rt", Xt, w)
        if workflow == "replace":
            w = np.einsum("rdt,rt->rd", pinv, y)
        elif workflow == "accumulate":  # stacked OLS = X^+ (mean label vector)
            label_sum += y
            w = np.einsum("rdt,rt->rd", pinv, label_sum) / k
        else:
            rows = np.concatenate([X, y[:, :, None]], axis=2)  # (copies y)
            if pool is None:
                pool = Pool(workflow, rows, rng, fits)
            else:
                pool.add(rows)
            train = pool.training_set()
            w = _ols(train[:, :, :d], train[:, :, d])
        out[:, k - 1] = _error(w, w_star, eig)
    return {"test_error": out}


def simulate_dohmatob(trials: int, rng: np.random.Generator, *, T: int, T0: int, lam: float, sigma: float,
                      sigma0: float, generations: int, eigenvalues=None, d: int | None = None,
                      w0=None) -> dict[str, np.ndarray]:
    """Dohmatob et al.'s pipeline: {'test_error': (trials, generations + 1)}, column n after n generations.

    Generation k refits an OLS generator on T0 fresh points labelled by generator k-1 plus N(0, sigma0^2)
    noise (generator 0 is w0); the downstream ridge w = (X^T X / T + lam I)^-1 X^T y / T is fitted on T
    fresh points labelled by generator n plus N(0, sigma^2) noise.
    """
    eig = _eigs(eigenvalues, d)
    d = eig.size
    _check_sizes(T=T, T0=T0, trials=trials)
    if int(generations) != generations or generations < 0:
        raise ValueError(f"generations must be an integer >= 0, got {generations!r}")
    if T0 < d + 2:
        raise ValueError(f"T0 must be at least d + 2 (OLS generator), got T0={T0}, d={d}")
    if not lam >= 0:
        raise ValueError(f"lam must be >= 0, got {lam!r}")
    if lam == 0 and T < d + 2:
        raise ValueError(f"with lam = 0, T must be at least d + 2, got T={T}, d={d}")
    R = trials
    w_true = np.broadcast_to(np.full(d, 1 / np.sqrt(d)) if w0 is None else np.asarray(w0, float), (R, d))
    out = np.empty((R, generations + 1))
    gen = w_true
    for k in range(generations + 1):
        if k > 0:
            Xg = _design(rng, R, T0, eig)
            gen = _ols(Xg, (Xg @ gen[:, :, None])[:, :, 0] + sigma0 * rng.standard_normal((R, T0)))
        X = _design(rng, R, T, eig)
        y = (X @ gen[:, :, None])[:, :, 0] + sigma * rng.standard_normal((R, T))
        A = X.swapaxes(1, 2) @ X / T + lam * np.eye(d)
        w = np.linalg.solve(A, X.swapaxes(1, 2) @ y[:, :, None] / T)[:, :, 0]
        out[:, k] = _error(w, w_true, eig)
    return {"test_error": out}


def simulate_min_norm(trials: int, rng: np.random.Generator, *, d: int, T0: int, generations: int,
                      w0_norm: float = 1.0) -> dict[str, np.ndarray]:
    """Over-parametrised noise-free chain: {'error': (trials, generations)}, ||w_n - w0||^2 after n fits.

    Each generation draws a fresh isotropic design X (T0 x d, T0 < d), labels it noise-free with the
    previous weights, and fits the minimum-norm interpolator w = X^T (X X^T)^-1 y.
    """
    _check_sizes(d=d, T0=T0, generations=generations, trials=trials)
    if T0 >= d:
        raise ValueError(f"T0 must be less than d (over-parametrised), got T0={T0}, d={d}")
    R = trials
    w0 = np.zeros((R, d))
    w0[:, 0] = w0_norm
    w = w0
    out = np.empty((R, generations))
    for k in range(generations):
        X = rng.standard_normal((R, T0, d))
        y = np.einsum("rtd,rd->rt", X, w)
        alpha = np.linalg.solve(X @ X.swapaxes(1, 2), y[:, :, None])  # (X X^T)^-1 y
        w = (X.swapaxes(1, 2) @ alpha)[:, :, 0]
        diff = w - w0
        out[:, k] = (diff * diff).sum(axis=1)
    return {"error": out}
