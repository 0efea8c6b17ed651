"""One generational loop for every model family: fit, measure, sample, pool by the workflow, refit.

A model family (a Gaussian fit, OLS, a KDE, logistic regression, a VAE, a language model) supplies
what differs between them, for all trials of a block at once (a leading trial axis, or the replica
axis of a batched torch model):

* ``real(trials, rng)``: the real data, batch 0 of the pool;
* ``fit(train, rng, previous)``: a model fitted to a training set (``previous`` is the last
  generation's model, for warm starts; None at generation 1);
* ``sample(model, size, rng)``: a batch of ``size`` points from each trial's model;
* ``measure(model, rng)``: the quantities recorded at each generation, ``{name: (trials,) values}``;
* ``pool(real, workflow, generations)``: where the batches are kept (numpy arrays by default;
  torch tensors, token corpora, or sufficient statistics for the families that need them).

The driver owns the loop and the workflow: generation 1 fits the real data; each later generation
samples ``workflow.synthetic_size()`` points from the latest model, adds them to the pool, fits the
training set the workflow's plan gathers, and measures. A family with ``first = 0`` also measures its
``truth()`` before any fit (generation 0). The random numbers are drawn in that order from the one
``rng``, so a family's numbers depend only on the seed; and the loop's whole state is a
:class:`Chain`, which a long run (the deep layer) saves after each generation and resumes from.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .workflows import ArrayPool, Workflow


class Family(abc.ABC):
    """A model family: implement ``real``, ``fit``, ``sample`` and ``measure`` (see the module docstring)."""

    #: 0 if the family measures its truth before the first fit (a generation-0 column), else 1.
    first: int = 1

    @abc.abstractmethod
    def real(self, trials: int, rng: np.random.Generator) -> Any:
        """The real data: batch 0 of the pool, for ``trials`` trials."""

    @abc.abstractmethod
    def fit(self, train: Any, rng: np.random.Generator, previous: Any) -> Any:
        """A model fitted to a training set (``previous``: the last generation's model, or None)."""

    @abc.abstractmethod
    def sample(self, model: Any, size: int, rng: np.random.Generator) -> Any:
        """``size`` points from each trial's model."""

    @abc.abstractmethod
    def measure(self, model: Any, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """The quantities recorded for a model, ``{name: (trials,) values}``."""

    def truth(self) -> Any:
        """Model 0 (the data's own distribution), measured first when ``first == 0``."""
        raise ValueError(f"{type(self).__name__} has no generation-0 model (first = {self.first})")

    def pool(self, real: Any, workflow: Workflow, generations: int) -> Any:
        """Where the batches are kept: numpy arrays with a trial axis, unless the family says otherwise."""
        return ArrayPool(real, workflow, generations)


@dataclass
class Chain:
    """The state of a generational run after ``done`` generations: everything needed to go on."""

    workflow: Workflow
    generations: int
    trials: int
    done: int = 0
    model: Any = None
    pool: Any = None
    records: dict[str, list] = field(default_factory=dict)

    def record(self, values: dict[str, Any]) -> None:
        for name, v in values.items():
            self.records.setdefault(name, []).append(v)

    def outputs(self) -> dict[str, np.ndarray]:
        """Each recorded quantity as a (trials, columns) array, one column per generation measured."""
        return {name: np.stack([np.asarray(v, dtype=float) for v in vs], axis=1) for name, vs in self.records.items()}


def run(family: Family, workflow: Workflow, generations: int, trials: int, rng: np.random.Generator, *,
        chain: Chain | None = None, after=None) -> dict[str, np.ndarray]:
    """Run (or, given a saved ``chain``, resume) ``trials`` chains for ``generations`` generations.

    Returns each measured quantity as a (trials, G) array, column k for generation k + family.first.
    ``after(chain)``, if given, is called when each generation is done (to save a checkpoint).
    """
    if isinstance(generations, bool) or int(generations) != generations or generations < 1:
        raise ValueError(f"generations must be an integer >= 1, got {generations!r}")
    if isinstance(trials, bool) or int(trials) != trials or trials < 1:
        raise ValueError(f"trials must be an integer >= 1, got {trials!r}")
    if chain is None:
        chain = Chain(workflow, generations, trials)
        if family.first == 0:
            chain.record(family.measure(family.truth(), rng))
        chain.pool = family.pool(family.real(trials, rng), workflow, generations)
    for g in range(chain.done + 1, generations + 1):
        if g > 1:
            chain.pool.add(family.sample(chain.model, workflow.synthetic_size(), rng))
        plan = workflow.plan(g, chain.pool.sizes, rng, trials)
        chain.model = family.fit(chain.pool.gather(plan), rng, chain.model)
        chain.record(family.measure(chain.model, rng))
        chain.done = g
        if after is not None:
            after(chain)
    return chain.outputs()
