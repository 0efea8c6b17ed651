"""One generational loop for every model family: fit, measure, sample, pool by the workflow, refit.

A model family (a Gaussian fit, OLS, a KDE, logistic regression, a VAE, a language model) supplies
what differs between them, for all trials of a block at once (a leading trial axis, or the replica
axis of a batched torch model). Every method gets the :class:`Chain`, the loop's whole state, and the
one ``rng``; a family object holds only its configuration, never anything of a run:

* ``real(chain, rng)``: the real data, batch 0 of the pool (fixed per-run data a family needs later,
  such as a fixed design or held-out test data, go into ``chain.state``);
* ``fit(train, chain, rng)``: a model fitted to a training set (``chain.model`` is the last
  generation's model, for warm starts; None at generation 1; ``chain.generation`` is the generation
  being fitted); what a fit measures about itself (its training loss) goes into ``chain.state``;
* ``sample(model, size, chain, rng)``: a batch of ``size`` points from each trial's model;
* ``measure(model, chain, rng)``: the quantities recorded at each generation, ``{name: (trials,)
  values}``; a family with ``measures_samples = True`` gets, as ``samples``, the very batch its model
  hands to the next generation (drawn before it is measured), so its metrics describe that data;
* ``fresh(chain, rng)``: real data drawn afresh, for workflows that take them each generation (by
  default ``real`` again);
* ``pool(real, workflow, generations)``: where the batches are kept (numpy arrays by default; torch
  tensors, token corpora, or sufficient statistics for the families that need them).

The driver owns the loop and the workflow, any :class:`~theory.workflows.WorkflowSpec` (named or
declared; numerics.workflows plans it): generation 1 fits the real data; each later generation g
samples ``workflow.synthetic_size(g)`` points from the latest model, adds them to the pool (and, for a
workflow that takes fresh real data, a fresh draw of the family's real data), fits the training set the
workflow's plan gathers, and measures. The workflow's draws without replacement are checked against
the pool's sizes for every generation before the first fit. A family with ``first = 0`` also measures its
``truth(chain)`` before any fit (generation 0). The random numbers are drawn in that order from the one
``rng``, so a family's numbers depend only on the seed. Given a ``checkpoint`` path, the chain is saved
after every generation and a killed run resumes from it to the same numbers (numerics.checkpoint:
numpy and torch families alike).
"""

from __future__ import annotations

import abc
import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .workflows import ArrayPool, Workflow


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
    #: The family's own state between generations (arrays, tensors, models, numbers), saved with the chain.
    state: dict[str, Any] = field(default_factory=dict)

    @property
    def generation(self) -> int:
        """The generation being computed (the last one done, after the loop)."""
        return self.done + 1 if self.done < self.generations else self.done

    def record(self, values: dict[str, Any]) -> None:
        for name, v in values.items():
            self.records.setdefault(name, []).append(v)

    def outputs(self) -> dict[str, np.ndarray]:
        """Each recorded quantity as a (trials, columns) array, one column per generation measured."""
        return {name: np.stack([np.asarray(v, dtype=float) for v in vs], axis=1) for name, vs in self.records.items()}


class Family(abc.ABC):
    """A model family: implement ``real``, ``fit``, ``sample`` and ``measure`` (see the module docstring)."""

    #: 0 if the family measures its truth before the first fit (a generation-0 column), else 1.
    first: int = 1
    #: measure() gets the batch the model hands to the next generation (drawn before measuring it).
    measures_samples: bool = False
    #: Dataclasses a model or the chain's state may hold, saved field by field in a checkpoint.
    saved_types: tuple[type, ...] = ()

    @abc.abstractmethod
    def real(self, chain: Chain, rng: np.random.Generator) -> Any:
        """The real data: batch 0 of the pool, for ``chain.trials`` trials."""

    @abc.abstractmethod
    def fit(self, train: Any, chain: Chain, rng: np.random.Generator) -> Any:
        """A model fitted to a training set (``chain.model``: the last generation's model, or None)."""

    @abc.abstractmethod
    def sample(self, model: Any, size: int, chain: Chain, rng: np.random.Generator) -> Any:
        """``size`` points from each trial's model."""

    @abc.abstractmethod
    def measure(self, model: Any, chain: Chain, rng: np.random.Generator, samples: Any = None) -> dict[str, np.ndarray]:
        """The quantities recorded for a model, ``{name: (trials,) values}``."""

    def truth(self, chain: Chain) -> Any:
        """Model 0 (the data's own distribution), measured first when ``first == 0``."""
        raise ValueError(f"{type(self).__name__} has no generation-0 model (first = {self.first})")

    def fresh(self, chain: Chain, rng: np.random.Generator) -> Any:
        """Real data drawn afresh, as many points as :meth:`real` gives, for a workflow that takes them each
        generation (source ``fresh``): by default :meth:`real` again (override where ``real`` also sets up
        fixed per-run data, such as a fixed design or held-out data, that must stay)."""
        return self.real(chain, rng)

    def pool(self, real: Any, workflow: Workflow, generations: int) -> Any:
        """Where the batches are kept: numpy arrays with a trial axis, unless the family says otherwise."""
        return ArrayPool(real, workflow, generations)

    def resumed(self, chain: Chain) -> None:
        """Check a chain read back from a checkpoint before it is used (raise a UserError saying what is wrong
        and what to do); nothing by default."""

    # -- what a checkpoint saves (numerics.checkpoint) -------------------------------------------------
    def freeze(self, obj: Any) -> tuple[str, Any]:
        """An object that is not an array, a number, a string or a container, as (kind, tree of those):
        by default a dataclass of ``saved_types``, field by field."""
        if dataclasses.is_dataclass(obj) and type(obj) in self.saved_types:
            return type(obj).__name__, {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
        raise TypeError(f"{type(self).__name__} cannot save a {type(obj).__name__} in a checkpoint "
                        "(list its type in saved_types, or override freeze/thaw)")

    def thaw(self, kind: str, tree: Any) -> Any:
        """The object :meth:`freeze` saved as (kind, tree)."""
        for t in self.saved_types:
            if t.__name__ == kind:
                return t(**tree)
        raise ValueError(f"a checkpoint of {type(self).__name__} holds an object of unknown kind {kind!r}")


def run(family: Family, workflow: Workflow, generations: int, trials: int, rng: np.random.Generator, *,
        checkpoint: str | None = None, header: dict | None = None) -> dict[str, np.ndarray]:
    """Run ``trials`` chains for ``generations`` generations (resuming from ``checkpoint`` if it holds a
    saved chain of the same run, ``header``; saving it there after every generation).

    Returns each measured quantity as a (trials, G) array, column k for generation k + family.first.
    """
    return run_chain(family, workflow, generations, trials, rng, checkpoint=checkpoint, header=header).outputs()


def run_chain(family: Family, workflow: Workflow, generations: int, trials: int, rng: np.random.Generator, *,
              checkpoint: str | None = None, header: dict | None = None) -> Chain:
    """:func:`run`, returning the finished chain itself (its state holds what a family keeps besides the
    records, e.g. the images drawn for a sample grid)."""
    if isinstance(generations, bool) or int(generations) != generations or generations < 1:
        raise ValueError(f"generations must be an integer >= 1, got {generations!r}")
    if isinstance(trials, bool) or int(trials) != trials or trials < 1:
        raise ValueError(f"trials must be an integer >= 1, got {trials!r}")
    chain = None
    if checkpoint is not None:
        from . import checkpoint as ckpt

        if header is None:
            raise ValueError("a checkpointed run needs a header (numerics.checkpoint.header_of)")
        chain = ckpt.load(checkpoint, header, family, workflow, generations, trials, rng)
        if chain is not None:
            family.resumed(chain)
        if chain is not None and chain.done >= generations:
            return chain
    if chain is None:
        chain = Chain(workflow, generations, trials)
        if family.first == 0:
            chain.record(family.measure(family.truth(chain), chain, rng))
        chain.pool = family.pool(family.real(chain, rng), workflow, generations)
    workflow.check(generations)
    for g in range(chain.done + 1, generations + 1):
        if g > 1:
            batch = chain.state.pop("next_batch") if family.measures_samples else \
                family.sample(chain.model, workflow.synthetic_size(g), chain, rng)
            chain.pool.add(batch)
            if workflow.fresh:
                chain.pool.add_fresh(family.fresh(chain, rng))
        plan = workflow.plan(g, chain.pool.sizes, rng, trials)
        chain.model = family.fit(chain.pool.gather(plan), chain, rng)
        if family.measures_samples:
            samples = family.sample(chain.model, workflow.synthetic_size(g + 1), chain, rng)
            chain.record(family.measure(chain.model, chain, rng, samples))
            if g < generations:
                chain.state["next_batch"] = samples
        else:
            chain.record(family.measure(chain.model, chain, rng))
        chain.done = g
        if checkpoint is not None:
            ckpt.save(checkpoint, header, family, chain, rng)
    return chain
