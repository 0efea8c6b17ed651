"""Kernel density estimation refitted on its own samples (Kazdan et al.), run for real, in 1-D.

A Gaussian-kernel KDE with bandwidth h fitted to m points is sampled by picking one of the points
uniformly and adding h z, z ~ N(0, 1) (exactly how scikit-learn's KernelDensity.sample works). Each
iteration fits the training set the workflow gives (through numerics.driver) and samples n points.
``bandwidth``: 'fixed' (``h``), or scikit-learn's rules on the fitted
data of size N, which are not scale-adaptive: 'scott' N^(-1/5), 'silverman' (3N/4)^(-1/5) (1-D).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import driver
from .catalog import Bind, Metric, Produces, Simulator, register
from .driver import Family
from .schema import SettingError, Settings, schema, setting
from .workflows import Workflow, draws_rows, stored_all, workflow_setting

RULES = {"scott": lambda N: N ** (-1 / 5), "silverman": lambda N: (3 * N / 4) ** (-1 / 5)}


@dataclass
class KDE:
    points: np.ndarray  # (R, m): the fitted data
    h: float  # bandwidth


@schema
class KDESettings(Settings):
    """The KDE chain's settings (the ``kde`` simulator; :func:`simulate`)."""

    n: int = setting(doc="points per iteration", low=2)
    sigma: float = setting(1.0, "standard deviation of the real data", low=0, open_low=True)
    workflow: str = workflow_setting(("replace", "accumulate", "accumulate-subsample", "accumulate-subsample-replacement"))
    bandwidth: str = setting("fixed", "bandwidth rule", options=("fixed", "scott", "silverman"))
    h: float | None = setting(None, "bandwidth (bandwidth = fixed)", low=0, open_low=True)

    def validate(self) -> None:
        if self.bandwidth == "fixed" and self.h is None:
            raise SettingError("bandwidth='fixed' needs h > 0", "h")
        if self.bandwidth != "fixed" and self.h is not None:
            raise SettingError(f"h is the bandwidth of bandwidth='fixed'; bandwidth={self.bandwidth!r} picks its own", "h")


class KDEFamily(Family):
    """A 1-D Gaussian-kernel KDE: fitting keeps the points and picks the bandwidth; real data N(0, sigma^2)."""

    saved_types = (KDE,)

    def __init__(self, config: KDESettings):
        self.config = config

    def real(self, chain, rng):
        return self.config.sigma * rng.standard_normal((chain.trials, self.config.n))

    def fit(self, train, chain, rng):
        c = self.config
        return KDE(train, c.h if c.bandwidth == "fixed" else RULES[c.bandwidth](train.shape[1]))

    def measure(self, model, chain, rng, samples=None):
        return {"variance": model.points.var(axis=1)}  # MLE variance (ddof = 0) of the fitted data

    def sample(self, model, size, chain, rng):  # a fitted point chosen uniformly, plus h z (scikit-learn's sampler)
        R, m = model.points.shape
        idx = rng.integers(0, m, size=(R, size))
        return np.take_along_axis(model.points, idx, axis=1) + model.h * rng.standard_normal((R, size))


def run(trials: int, rng: np.random.Generator, config: KDESettings, generations: int) -> dict[str, np.ndarray]:
    """{'variance': (trials, generations)}: the MLE variance of the data fitted at each iteration."""
    return driver.run(KDEFamily(config), Workflow(config.workflow, n_real=config.n), generations, trials, rng)


def simulate(trials: int, rng: np.random.Generator, *, generations: int, **settings) -> dict[str, np.ndarray]:
    """:func:`run` with ``settings`` (:class:`KDESettings`) checked here."""
    return run(trials, rng, KDESettings.build(settings), generations)


def _work(c, G: int) -> float:
    """Seconds per trial: 1.15e-8 per point sampled, 1.23e-8 per training point (the pool's mean size
    under accumulate), 4.7e-8 per row a subsample draws. Measured per trial and generation, 2,500 trials x
    30 generations, one BLAS thread, CPU seconds after a warm-up call, 2 cores under load 8: 1.19e-6 at
    n = 50 replace, 1.01e-5 at n = 50 accumulate, 1.43e-5 at n = 200 accumulate-subsample (this formula:
    1.0, 1.0, 1.0)."""
    rows = c.n * ((G + 1) / 2 if stored_all(c.workflow) and not draws_rows(c.workflow) else 1)
    return G * (1.15e-8 * c.n + 1.23e-8 * rows + 4.7e-8 * c.n * draws_rows(c.workflow))


register(Simulator(
    name="kde",
    target=f"{__name__}:run",
    doc="1-D Gaussian-kernel KDE refitted on its own samples (Kazdan et al.)",
    schema=KDESettings,
    metrics={"variance": Metric("variance of the data fitted at iteration t", "variance")},
    produces=(Produces("kde.variance", "variance", (Bind("sigma"), Bind("n"), Bind("bandwidth"), Bind("h"),
                                                     Bind("workflow"))),),
    memory=lambda c, G: 8.0 * c.n * (G if stored_all(c.workflow) else 4) * 3,
    work=_work,
))
