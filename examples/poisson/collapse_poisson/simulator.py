"""The Poisson chain on the toolkit's generational driver, declared in its catalog.

The family fits the rate by the sample mean of whatever training set the workflow hands over (so every
workflow of the toolkit runs), and draws the next batch from Poisson(fitted rate). Its settings are
declared once (a schema); its metrics say which of the plugin's quantities they measure.
"""

from __future__ import annotations

import numpy as np

from numerics import driver
from numerics.catalog import Bind, Metric, Produces, Simulator, register
from numerics.driver import Family
from numerics.schema import Settings, schema, setting
from numerics.workflows import WORKFLOWS, workflow_from, workflow_setting


@schema
class PoissonSettings(Settings):
    """The Poisson chain's settings."""

    n: int = setting(doc="real counts (and counts per generation)", low=1)
    rate: float = setting(2.0, "the true rate lambda", low=0, open_low=True)
    workflow: str = workflow_setting(tuple(WORKFLOWS))

    def validate(self) -> None:
        workflow_from(self, self.n)


class PoissonFamily(Family):
    """A Poisson rate fitted by the sample mean; real data Poisson(rate). Data are counts (trials, m)."""

    def __init__(self, config: PoissonSettings):
        self.config = config

    def real(self, chain, rng):
        return rng.poisson(self.config.rate, (chain.trials, self.config.n)).astype(float)

    def fit(self, train, chain, rng):
        return train.mean(axis=1)

    def sample(self, model, size, chain, rng):
        return rng.poisson(model[:, None], (len(model), size)).astype(float)

    def measure(self, model, chain, rng, samples=None):
        return {"sq_error": (model - self.config.rate) ** 2, "extinct": (model == 0).astype(float)}


def run(trials, rng, config: PoissonSettings, generations: int) -> dict[str, np.ndarray]:
    """``trials`` chains of ``generations`` fits: the squared error of the fitted rate and whether it is 0."""
    return driver.run(PoissonFamily(config), workflow_from(config, config.n), generations, trials, rng)


register(Simulator(
    name="poisson",
    target=f"{__name__}:run",
    doc="a Poisson rate refitted by its sample mean on its own samples (the collapse-poisson plugin)",
    schema=PoissonSettings,
    metrics={
        "sq_error": Metric("(lambda_g - lambda)^2", "sq_error"),
        "extinct": Metric("whether the fitted rate is 0", "extinct"),
    },
    produces=(
        Produces("poisson.mean_sq_error", "sq_error", (Bind("rate"), Bind("n"), Bind("workflow")),
                 when={"workflow": ("replace", "accumulate")}),
        Produces("poisson.extinct", "extinct", (Bind("rate"), Bind("n")), when={"workflow": "replace"}),
    ),
    memory=lambda c, G: 8.0 * c.n * (G + 4),
    # Seconds per trial: measured 5.3e-7 per trial and generation at n = 10 replace, 7.0e-6 at n = 100 accumulate
    # (20,000 trials x 10 generations, CPU seconds after a warm-up call, 2 cores under load 8; this: 0.82, 1.15).
    work=lambda c, G: (5e-8 + 6e-8 * c.n) * G,
    # A block's loop costs about 0.1 ms per generation (the smoke cells, 500 trials x 10 generations: 1.5x without it).
    block_seconds=lambda c, G: 1e-4 * G,
))
