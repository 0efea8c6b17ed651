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

A call of :func:`run` is sized before it draws anything (:func:`size_of`: one trial's peak memory, from a
probe of one trial for one generation with a throwaway generator and the pool's growth under the
workflow's plan). A call whose trials need more than :data:`CALL_MEMORY` (or the process's budget,
numerics.execute.memory_limit, where that is smaller) runs in blocks of trials one after another, each
drawing from the caller's ``rng`` in turn, and their outputs are concatenated along the trial axis: so a
blocked call is deterministic in its seed, and equal in law to the same call in one block (the trials
are independent), though not equal to it number for number. A call that fits in one block runs as it
always did. Calls from numerics.execute's block runner come sized already (by the simulator's declared
memory) and run as they come.
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from theory.errors import UserError

from .workflows import ArrayPool, Workflow

#: A direct call of :func:`run` whose trials are estimated to need more memory than this runs in blocks of
#: trials of at most this much each. A constant, not a property of the machine (as catalog.BLOCK_MEMORY for
#: the block runner): a blocked call's numbers are the same everywhere, except where the process's budget
#: (numerics.execute.memory_limit) is smaller, which then sizes the blocks.
CALL_MEMORY = 512 * 2**20

#: True while numerics.execute's block runner calls a simulator: its blocks are sized already.
_SIZED: ContextVar[bool] = ContextVar("numerics.driver.sized", default=False)


class TooLarge(UserError, MemoryError):
    """A run that cannot fit in memory as asked; the message names the setting to change."""


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

    def absorbed(self, chain: Chain) -> bool:
        """Whether every trial's model now stays what it is at every later generation, and so every measure
        (an absorbing state: a categorical fit that is a point mass, refitted on its own samples alone). The
        driver then records the last generation's measures for the generations left instead of running them
        (the same outputs: what those generations would draw cannot change them). False by default."""
        return False

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


@contextmanager
def sized() -> Iterator[None]:
    """Within this block, :func:`run` takes its trials as one block, unsized: for numerics.execute's block
    runner, which sizes its blocks by the simulator's declared memory before anything runs."""
    token = _SIZED.set(True)
    try:
        yield
    finally:
        _SIZED.reset(token)


def run(family: Family, workflow: Workflow, generations: int, trials: int, rng: np.random.Generator, *,
        checkpoint: str | None = None, header: dict | None = None) -> dict[str, np.ndarray]:
    """Run ``trials`` chains for ``generations`` generations (resuming from ``checkpoint`` if it holds a
    saved chain of the same run, ``header``; saving it there after every generation).

    Returns each measured quantity as a (trials, G) array, column k for generation k + family.first.
    Sized first (see the module docstring): trials that need more than :data:`CALL_MEMORY` run in blocks,
    one after another from ``rng`` (deterministic in the seed, equal in law to one block); a run that
    cannot fit one trial in the process's budget, or a checkpointed run that does not fit one block, is
    refused (:class:`TooLarge`, one line naming the setting) before anything is drawn.
    """
    _check_counts(generations, trials)
    if _SIZED.get():
        return run_chain(family, workflow, generations, trials, rng, checkpoint=checkpoint, header=header).outputs()
    block = block_trials(family, workflow, generations, trials, checkpoint=checkpoint is not None)
    if block >= trials:
        return run_chain(family, workflow, generations, trials, rng, checkpoint=checkpoint, header=header).outputs()
    parts = [run_chain(family, workflow, generations, min(block, trials - start), rng).outputs()
             for start in range(0, trials, block)]
    return {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}


def _check_counts(generations: int, trials: int) -> None:
    if isinstance(generations, bool) or int(generations) != generations or generations < 1:
        raise ValueError(f"generations must be an integer >= 1, got {generations!r}")
    if isinstance(trials, bool) or int(trials) != trials or trials < 1:
        raise ValueError(f"trials must be an integer >= 1, got {trials!r}")


# -- sizing ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Size:
    """One trial's memory at its peak, in bytes, by part (:func:`size_of`)."""

    pool: float  # the stored batches at the last generation
    train: float  # the largest training set: a fit's work of its size, and the copy gathered where it is not a view
    other: float  # a model, the family's state, one synthetic batch, the recorded outputs (twice: stacked at the end)
    rows: int  # rows the pool keeps at the last generation (0 for a family's own pool)

    @property
    def total(self) -> float:
        return self.pool + self.train + self.other


def size_of(family: Family, workflow: Workflow, generations: int) -> Size:
    """One trial's peak memory over ``generations`` generations, estimated before the run draws anything.

    A probe runs one trial for one generation (real data, pool, fit, measure) on a throwaway generator:
    the bytes of a row of data, of the model, of the family's state and the number of recorded outputs.
    The pool's growth comes from the workflow's plan: the rows it keeps at the last generation (every batch
    where a take reads them all, else the real data, the last ``window`` batches and a fresh draw) times
    the bytes of a row; a family with a pool of its own (sufficient statistics) is taken at what its pool
    holds after the first generation. Shortcut (named): the largest training set of a workflow without
    schedules is at generation 2 or the last (every source's rows grow or stay); with schedules it is
    bounded by the pool's rows.
    """
    probe = Chain(workflow, 1, 1)
    rng = np.random.default_rng(0)  # the caller's generator draws nothing for the probe
    if family.first == 0:
        probe.record(family.measure(family.truth(probe), probe, rng))
    real = family.real(probe, rng)
    probe.pool = family.pool(real, workflow, 1)
    row = _nbytes(real) / workflow.n_real
    batches = [workflow.synthetic_size(g) for g in ((2,) if workflow.constant else range(2, generations + 1))]
    try:
        probe.model = family.fit(probe.pool.gather(workflow.plan(1, probe.pool.sizes, rng, 1)), probe, rng)
        samples = family.sample(probe.model, batches[0], probe, rng) if family.measures_samples else None
        probe.record(family.measure(probe.model, probe, rng, samples))
        model = _nbytes(probe.model)
    except (ValueError, ArithmeticError, np.linalg.LinAlgError):
        # the probe's one trial failed where the run's may not (a logistic fit on separated data): the model
        # taken as large as the real data, one quantity recorded
        model = _nbytes(real)
    copies = 2.0  # a gathered training set is a copy, and a fit works on something of its size
    if isinstance(probe.pool, ArrayPool):
        spec = workflow.spec
        rows = workflow.capacity(generations) if workflow.keeps_all else \
            workflow.n_real + spec.window * max(batches) + (workflow.n_real if workflow.fresh else 0)
        if workflow.constant:
            train = max(_plan_rows(workflow, g) for g in {1, min(2, generations), generations})
            if len(spec.takes) == 1 and workflow.keeps_all and workflow.take_rows(0, generations) is None:
                copies = 1.0  # every stored row, a view of the pool (accumulate)
        else:
            train = rows
        pool = rows * row
    else:
        rows, train, pool = 0, workflow.n_real + max(batches), _nbytes(probe.pool)
    outputs = 8.0 * (generations + 1) * max(len(probe.records), 1)
    other = model + _nbytes(probe.state) + max(batches) * row + 2 * outputs
    return Size(pool, copies * train * row, other, rows)


def _plan_rows(workflow: Workflow, generation: int) -> int:
    """Rows of the training set of ``generation`` (every take's rows: its draws, or every row it reads)."""
    if generation == 1:
        return workflow.n_real
    total = 0
    for i in range(len(workflow.spec.takes)):
        k = workflow.take_rows(i, generation)
        if k is None:
            k = sum(workflow.n_real if b <= 0 else workflow.synthetic_size(b + 1) for b in workflow.batches(i, generation))
        total += k
    return total


def _nbytes(obj: Any, seen: set[int] | None = None) -> float:
    """Bytes of the arrays an object holds (in containers, dataclasses and object attributes; each buffer once)."""
    seen = set() if seen is None else seen
    if isinstance(obj, np.ndarray):
        base = obj
        while isinstance(base.base, np.ndarray):
            base = base.base
        if id(base) in seen:
            return 0.0
        seen.add(id(base))
        return float(base.nbytes)
    if id(obj) in seen or obj is None or isinstance(obj, (str, bytes, int, float, bool, Workflow)):
        return 0.0
    seen.add(id(obj))
    if isinstance(obj, dict):
        return sum(_nbytes(v, seen) for v in obj.values())
    if isinstance(obj, (list, tuple, set)):
        return sum(_nbytes(v, seen) for v in obj)
    if hasattr(obj, "nbytes"):  # a tensor, or an array of another library
        return float(obj.nbytes)
    fields = getattr(obj, "__dict__", None)
    return _nbytes(fields, seen) if isinstance(fields, dict) else 0.0


def block_trials(family: Family, workflow: Workflow, generations: int, trials: int, *, checkpoint: bool = False) -> int:
    """Trials a call of :func:`run` runs at once: all of them where they fit :data:`CALL_MEMORY` (or the
    process's budget, where that is smaller), else as many as fit it. :class:`TooLarge` where one trial
    does not fit the budget, or a checkpointed run (one chain, saved as one) does not fit one block."""
    from .execute import budget_text, bytes_text, memory_limit

    workflow.check(generations)
    limit = memory_limit()
    try:
        size = size_of(family, workflow, generations)
    except MemoryError:
        raise TooLarge(f"one trial of this run does not fit in memory (its probe of one trial and one generation "
                       f"ran out; {budget_text(limit)}): use a smaller dimension or data size") from None
    per = size.total
    if per > limit:
        parts = {"pool": size.pool, "training set": size.train, "model and outputs": size.other}
        most = max(parts, key=parts.get)
        fix = {"pool": f"fewer generations (its pool keeps {size.rows:,} rows of {bytes_text(size.pool / max(size.rows, 1))} "
                       f"under {workflow.label})" + (", or a workflow that does not keep every batch"
                                                    if workflow.keeps_all else ""),
               "training set": "a smaller training set (train_size) or fewer generations",
               "model and outputs": "a smaller dimension, or fewer generations"}[most]
        raise TooLarge(f"one trial of this run needs about {bytes_text(per)} (most of it its {most}), over the memory "
                       f"budget ({budget_text(limit)}): use {fix}")
    target = min(CALL_MEMORY, limit)
    if trials * per <= target:
        return trials
    if checkpoint:
        raise TooLarge(f"trials = {trials:,} need about {bytes_text(trials * per)}, more than one block of a checkpointed "
                       f"run may hold ({bytes_text(target)}): use trials <= {max(1, int(target // per)):,} per checkpointed "
                       "run, or run without a checkpoint (in blocks)")
    return max(1, int(target // per))


def run_chain(family: Family, workflow: Workflow, generations: int, trials: int, rng: np.random.Generator, *,
              checkpoint: str | None = None, header: dict | None = None) -> Chain:
    """:func:`run` in one block, unsized, returning the finished chain itself (its state holds what a family
    keeps besides the records, e.g. the images drawn for a sample grid): for callers that need the chain
    and size their runs themselves (the deep layer: its families are built for their replicas, its memory
    declared to the block runner and watched by deep.train)."""
    _check_counts(generations, trials)
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
        if g < generations and family.absorbed(chain):
            last = {name: values[-1] for name, values in chain.records.items()}
            for _ in range(g, generations):
                chain.record(last)
            chain.done = generations
        if checkpoint is not None:
            ckpt.save(checkpoint, header, family, chain, rng)
        if chain.done == generations:
            break
    return chain
