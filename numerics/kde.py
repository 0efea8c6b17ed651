"""Kernel density estimation refitted on its own samples (Kazdan et al.), run for real, in 1-D.

A Gaussian-kernel KDE with bandwidth h fitted to m points is sampled by picking one of the points
uniformly and adding h z, z ~ N(0, 1) (exactly how scikit-learn's KernelDensity.sample works). Each
iteration fits the training set the workflow gives (numerics.workflows.Pool) and samples n points.
``bandwidth``: 'fixed' (``h``, a number or one value per fit), or scikit-learn's rules on the fitted
data of size N, which are not scale-adaptive: 'scott' N^(-1/5), 'silverman' (3N/4)^(-1/5) (1-D).
"""

from __future__ import annotations

import numpy as np

from .workflows import Pool, check_workflow

RULES = {"scott": lambda N: N ** (-1 / 5), "silverman": lambda N: (3 * N / 4) ** (-1 / 5)}


def simulate(trials: int, rng: np.random.Generator, *, sigma: float, n: int, generations: int, workflow: str,
             bandwidth: str = "fixed", h=None) -> dict[str, np.ndarray]:
    """{'variance': (trials, generations)}: the MLE variance of the data fitted at each iteration."""
    check_workflow(workflow)
    if int(n) != n or n < 2 or int(generations) != generations or generations < 1:
        raise ValueError(f"n must be an integer >= 2 and generations >= 1, got n={n!r}, generations={generations!r}")
    if bandwidth == "fixed":
        hs = np.broadcast_to(np.asarray(h, dtype=float), (generations,)) if h is not None and np.ndim(h) == 0 else np.asarray(h, dtype=float)
        if h is None or hs.shape != (generations,) or not np.all(hs > 0):
            raise ValueError("bandwidth='fixed' needs h > 0: a number or one value per fit")
    elif bandwidth not in RULES:
        raise ValueError(f"bandwidth must be 'fixed', 'scott' or 'silverman', got {bandwidth!r}")
    R = trials
    pool = Pool(workflow, sigma * rng.standard_normal((R, n)), rng, generations)
    out = np.empty((R, generations))
    for t in range(generations):
        train = pool.training_set()
        out[:, t] = train.var(axis=1)  # MLE variance (ddof = 0)
        if t == generations - 1:
            break
        m = train.shape[1]
        hh = hs[t] if bandwidth == "fixed" else RULES[bandwidth](m)
        idx = rng.integers(0, m, size=(R, n))
        pool.add(np.take_along_axis(train, idx, axis=1) + hh * rng.standard_normal((R, n)))
    return {"variance": out}
