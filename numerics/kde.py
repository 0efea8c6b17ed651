"""Kernel density estimation refitted on its own samples (Kazdan et al.), run for real, in 1-D.

A Gaussian-kernel KDE with bandwidth h fitted to m points is sampled by picking one of the points
uniformly and adding h z, z ~ N(0, 1) (exactly how scikit-learn's KernelDensity.sample works). Each
iteration fits the training set the workflow gives (through numerics.driver) and samples n points.
``bandwidth``: 'fixed' (``h``, a number or one value per fit), or scikit-learn's rules on the fitted
data of size N, which are not scale-adaptive: 'scott' N^(-1/5), 'silverman' (3N/4)^(-1/5) (1-D).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import driver
from .driver import Family
from .workflows import Workflow, check_workflow

RULES = {"scott": lambda N: N ** (-1 / 5), "silverman": lambda N: (3 * N / 4) ** (-1 / 5)}


@dataclass
class KDE:
    points: np.ndarray  # (R, m): the fitted data
    h: float  # bandwidth


class KDEFamily(Family):
    """A 1-D Gaussian-kernel KDE: fitting keeps the points and picks the bandwidth; real data N(0, sigma^2)."""

    def __init__(self, sigma: float, n: int, bandwidth: str, hs: np.ndarray | None):
        self.sigma, self.n, self.bandwidth, self.hs = sigma, n, bandwidth, hs
        self.fits = 0

    def real(self, trials, rng):
        return self.sigma * rng.standard_normal((trials, self.n))

    def fit(self, train, rng, previous):
        m = train.shape[1]
        h = self.hs[self.fits] if self.bandwidth == "fixed" else RULES[self.bandwidth](m)
        self.fits += 1
        return KDE(train, h)

    def measure(self, model, rng):
        return {"variance": model.points.var(axis=1)}  # MLE variance (ddof = 0) of the fitted data

    def sample(self, model, size, rng):  # a fitted point chosen uniformly, plus h z (scikit-learn's sampler)
        R, m = model.points.shape
        idx = rng.integers(0, m, size=(R, size))
        return np.take_along_axis(model.points, idx, axis=1) + model.h * rng.standard_normal((R, size))


def simulate(trials: int, rng: np.random.Generator, *, sigma: float, n: int, generations: int, workflow: str,
             bandwidth: str = "fixed", h=None) -> dict[str, np.ndarray]:
    """{'variance': (trials, generations)}: the MLE variance of the data fitted at each iteration."""
    check_workflow(workflow)
    if isinstance(n, bool) or int(n) != n or n < 2 or int(generations) != generations or generations < 1:
        raise ValueError(f"n must be an integer >= 2 and generations >= 1, got n={n!r}, generations={generations!r}")
    if not np.isfinite(sigma) or sigma <= 0:
        raise ValueError(f"sigma must be positive, got {sigma!r}")
    hs = None
    if bandwidth == "fixed":
        hs = np.broadcast_to(np.asarray(h, dtype=float), (generations,)) if h is not None and np.ndim(h) == 0 else np.asarray(h, dtype=float)
        if h is None or hs.shape != (generations,) or not np.all(hs > 0) or not np.all(np.isfinite(hs)):
            raise ValueError("bandwidth='fixed' needs h > 0: a number or one value per fit")
    elif bandwidth not in RULES:
        raise ValueError(f"bandwidth must be 'fixed', 'scott' or 'silverman', got {bandwidth!r}")
    family = KDEFamily(sigma, n, bandwidth, hs)
    return driver.run(family, Workflow(workflow, n_real=n), generations, trials, rng)
