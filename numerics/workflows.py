"""The data workflows as plans: which stored batches, and which rows of them, the next model trains on.

What a workflow is, is owned by ``theory.workflows``: a :class:`~theory.workflows.WorkflowSpec` lists
the parts of each training set from generation 2 on (the fixed real set, fresh real draws, the latest
synthetic batch, the last K batches, every synthetic batch, everything), how many rows of each (all, a
share of n, a count, drawn with or without replacement; shares may follow a schedule in g), and the
synthetic batch size; the six named workflows are instances (``theory.workflows.NAMED``). Here a
:class:`Workflow` binds a spec to its sizes and turns it into a :class:`Plan` for each generation, given
how many rows each stored batch holds: one generic builder for every spec, named or declared.

Batch 0 is the real data; batch g (g >= 1) the synthetic batch sampled from the model of generation g;
:data:`FRESH` the real data drawn afresh for the generation being fitted (a pool holds one such draw at
a time, as many rows as the real data). A plan names batches and, where it subsamples, the rows of
their concatenation for each trial: an index array with a leading trial axis. It holds no data, so the
same plan gathers numpy arrays with a trial axis (:class:`ArrayPool`, here), torch tensors with a
replica axis and token corpora (the deep layer's pools) alike.

The named workflows, as the builder plans them:

* ``replace``: the latest batch;
* ``accumulate``: every batch (the real data and all synthetic batches so far);
* ``accumulate-subsample``: ``train_size`` rows drawn from every batch without replacement (fixed compute);
* ``accumulate-subsample-replacement``: the same, drawn with replacement;
* ``real-fraction``: ``round(real_fraction * train_size)`` real rows drawn afresh without replacement,
  and the latest batch, which holds the rest (Shumailov et al.'s 10% preservation);
* ``real-plus-synthetic``: every real row and the latest batch (Kazdan et al.'s scarce-real setting:
  ``n_real`` real points and ``synthetic`` points sampled from a model fitted on them).

Generation 1 trains on the real data under every workflow (or, with ``bootstrap_first``, on a bootstrap
resample of them: Dey & Donoho's first_fit='bootstrap'). Generation g >= 2 samples
:meth:`Workflow.synthetic_size` (g) points from the latest model: the spec's ``batch`` (a share of n, or
``"rest"``: n minus the real and fresh rows the training set takes), else the family's ``synthetic``
(default: the real data's size; Dey & Donoho's batches of alpha n points are ``synthetic = alpha n``).

In a family's settings, the ``workflow`` setting holds a named workflow's name, or a declared spec's
canonical text (:func:`canonical`: the JSON of its ``take`` and ``batch``, keys sorted), which is what
a cell's stream key and the results table see: two equal specs share their random numbers, and a named
workflow keeps the key it always had.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from theory.workflows import NAMED, WORKFLOWS, Schedule, WorkflowError, WorkflowSpec, workflow_spec

__all__ = ["WORKFLOWS", "NAMED", "FRESH", "Workflow", "Plan", "Part", "ArrayPool", "workflow_of",
           "spec_of", "canonical", "distinct_indices", "subsample"]

#: The batch number of the real data drawn afresh for the generation being fitted (spec source ``fresh``).
FRESH = -1


def distinct_indices(rng: np.random.Generator, R: int, N: int, k: int) -> np.ndarray:
    """k distinct indices of range(N) per trial, (R, k): a uniformly random k-subset, in random order.

    The first k distinct values of an i.i.d. uniform sequence on range(N) (each new value is uniform
    over the values not yet taken, so the subset is uniform), found for all trials at once: draw a
    chunk, mark each value's first occurrence by a sort, and draw more while a trial has fewer than k.
    About k (1 + k / 2N) draws and a sort of them per trial, instead of N random keys.
    """
    extra = int(k * k / (2 * (N - k + 1))) + int(3 * np.sqrt(k)) + 8  # expected excess + a margin
    draws = rng.integers(0, N, size=(R, k + extra))
    while True:
        K = draws.shape[1]
        # Shortcut (exact, named): each draw and its position as one integer key, value << bits | position,
        # sorted (np.sort, no argsort; 32-bit keys where they fit): equal values come out in the order of
        # their positions, as a stable argsort of the draws gives them, so in each run of equal values
        # the first key is the value's first occurrence and every later one a repeat.
        bits = max(K - 1, 1).bit_length()
        keys = draws.astype(np.int32 if N << bits <= 2**31 else np.int64)
        keys <<= bits
        keys |= np.arange(K, dtype=keys.dtype)
        keys.sort(axis=1)
        # Shortcut (exact, named): the positions of the first occurrences are found in that sorted order
        # (a repeat's position set to K, past every real one) and sorted again (16-bit where they fit), so
        # that the first k columns are the positions of the first k distinct values, in draw order: the
        # same rows as marking the repeats back in draw order and counting them off (a scatter, a
        # cumulative count and a masked copy of every draw), for a sort of small integers.
        pos = (keys & ((1 << bits) - 1)).astype(np.int16 if K < 2**15 else keys.dtype)
        value = keys >> bits
        np.copyto(pos[:, 1:], K, where=value[:, 1:] == value[:, :-1])
        pos.sort(axis=1)
        if (pos[:, k - 1] < K).all():
            break
        draws = np.concatenate([draws, rng.integers(0, N, size=(R, k))], axis=1)
    first = pos[:, :k].astype(np.intp)
    first += (np.arange(R) * K)[:, None]  # flat positions in draws (C-ordered: from integers or concatenate)
    return draws.ravel()[first]


def sample_rows(rng: np.random.Generator, R: int, N: int, k: int, replace: bool) -> np.ndarray:
    """k row indices of range(N) per trial, (R, k), drawn with or without replacement.

    Without replacement: a uniformly random subset, by :func:`distinct_indices` when k <= N / 2 (the
    accumulate workflows: N grows with the generations), otherwise the rows with the k smallest of N
    uniform keys (argpartition, O(N) per trial).
    """
    if replace:
        return rng.integers(0, N, size=(R, k))
    if k > N:
        raise ValueError(f"cannot draw {k} points without replacement from a pool of {N}")
    if 2 * k <= N:
        return distinct_indices(rng, R, N, k)
    keys = rng.random((R, N))
    return np.argpartition(keys, k - 1, axis=1)[:, :k] if k < N else np.argsort(keys, axis=1)


def subsample(data: np.ndarray, size: int, rng: np.random.Generator, replace: bool, count: int | None = None) -> np.ndarray:
    """``size`` points per trial from the first ``count`` points of ``data`` (R, N, ...)."""
    R, N = data.shape[:2]
    N = N if count is None else count
    idx = sample_rows(rng, R, N, size, replace)
    return take_rows(data[:, :N], idx)


def take_rows(data: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """``data[r, idx[r]]`` for every trial r: (R, k, ...) from (R, N, ...) and (R, k).

    Where each trial's rows are a whole number of rows apart (a C-ordered array, or a slice of the rows
    of one, as a pool's stored batches are), the trials' rows are one strided sequence of rows, and one
    np.take of the flat row numbers gathers them all: several times faster than take_along_axis, whose
    index arrays span every element, not every row (the same values).
    """
    R, N = data.shape[:2]
    row, trial = data.strides[1], data.strides[0]
    if R > 1 and (row <= 0 or trial < 0 or trial % row):
        return np.take_along_axis(data, idx.reshape(idx.shape + (1,) * (data.ndim - 2)), axis=1)
    step = trial // row if R > 1 else 0
    rows = np.lib.stride_tricks.as_strided(data, shape=((R - 1) * step + N,) + data.shape[2:], strides=data.strides[1:])
    flat = (idx + (np.arange(R) * step)[:, None]).ravel()
    return np.take(rows, flat, axis=0).reshape(idx.shape + data.shape[2:])


#: What each source's rows are, in errors.
_SOURCE = {"real": "the real data", "fresh": "the fresh real draw", "latest": "the latest synthetic batch",
           "window": "the window of synthetic batches", "synthetic": "the synthetic batches", "all": "the whole pool"}


def _rows_of(sizes: Sequence[int], b: int) -> int:
    """Rows of batch ``b``: a fresh draw holds as many as the real data (batch 0)."""
    return sizes[0] if b == FRESH else sizes[b]


@dataclass(frozen=True)
class Part:
    """Rows of some stored batches: ``batches`` concatenated in order (0 is the real data, :data:`FRESH`
    this generation's fresh real draw), and of their concatenation either every row (``rows`` None),
    the first ``count`` rows, or the rows ``rows[r]`` for trial r (an (R, k) integer array)."""

    batches: tuple[int, ...]
    rows: np.ndarray | None = None
    count: int | None = None

    def size(self, sizes: Sequence[int]) -> int:
        if self.rows is not None:
            return self.rows.shape[1]
        total = sum(_rows_of(sizes, b) for b in self.batches)
        return total if self.count is None else min(self.count, total)


@dataclass(frozen=True)
class Plan:
    """What a model trains on: its parts, concatenated in order."""

    parts: tuple[Part, ...]

    def size(self, sizes: Sequence[int]) -> int:
        return sum(p.size(sizes) for p in self.parts)


# -- specs as setting values ------------------------------------------------------------------------------


def _named_texts() -> dict[str, str]:
    return {_text(spec): name for name, spec in NAMED.items() if not spec.params}


def _text(spec: WorkflowSpec) -> str:
    d = spec.as_dict()
    d.pop("doc", None)  # a description: it changes no draw
    return json.dumps(d, sort_keys=True, separators=(",", ":"))


def canonical(spec: WorkflowSpec, names: Sequence[str] = tuple(WORKFLOWS)) -> str:
    """The setting value of a spec: the name of the named workflow it equals (among ``names``), else the
    JSON of its ``take`` and ``batch`` (keys sorted, no ``doc`` or ``name``): equal specs, equal text."""
    if spec.params:
        if spec.name in NAMED and spec == NAMED[spec.name] and spec.name in names:
            return spec.name
        raise WorkflowError(f"workflow {spec.label}: a declared workflow's shares are numbers, lists or expressions "
                            f"in g, not in {', '.join(spec.params)}")
    text = _text(spec)
    name = _named_texts().get(text)
    return name if name is not None and name in names else text


@functools.lru_cache(maxsize=512)
def _spec_of_text(text: str) -> WorkflowSpec:
    if text in NAMED:
        return NAMED[text]
    if not text.lstrip().startswith("{"):
        raise WorkflowError(f"workflow must be one of {', '.join(WORKFLOWS)}, or a workflow table; got {text!r}")
    try:
        table = json.loads(text)
    except json.JSONDecodeError as e:
        raise WorkflowError(f"workflow {text[:40]!r} is neither a name nor a workflow's JSON text ({e.msg})") from None
    return workflow_spec(table)


def spec_of(value: object) -> WorkflowSpec:
    """The :class:`WorkflowSpec` of a name, a canonical text (:func:`canonical`), a TOML table or a spec;
    :class:`~theory.workflows.WorkflowError` (a ValueError, naming the field) otherwise."""
    if isinstance(value, str):
        return _spec_of_text(value)
    return workflow_spec(value)


@functools.lru_cache(maxsize=4096)
def _share(schedule: Schedule, g: int, where: str) -> float:
    """A schedule's value at generation g (kept: an expression schedule is evaluated by SymPy once per g)."""
    return schedule.at(g, where)


# -- a spec bound to its sizes -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Workflow:
    """A workflow spec with its sizes (see the module docstring).

    ``spec`` is a :class:`~theory.workflows.WorkflowSpec`, a named workflow's name, or a spec's canonical
    text. ``n_real`` is the size of the real data. ``train_size`` (default ``n_real``) is n, the size a
    share counts in (the subsample and real-fraction workflows' training-set size); ``synthetic``
    (default ``n_real``) the number of points sampled from each model where the spec does not set its
    ``batch``; ``real_fraction`` the real share of the named real-fraction workflow (its parameter;
    ignored by specs without one).
    """

    spec: WorkflowSpec | str
    n_real: int
    train_size: int | None = None
    synthetic: int | None = None
    real_fraction: float | None = None
    #: Generation 1 fits a bootstrap resample of the real data (n_real points drawn with replacement)
    #: instead of the real data as they are (Dey & Donoho's first_fit='bootstrap').
    bootstrap_first: bool = False
    #: Each take's share with the spec's parameters bound (None where the take has no share), and the batch.
    shares: tuple[Schedule | None, ...] = field(init=False, repr=False, compare=False)
    batch: Schedule | str | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        spec = spec_of(self.spec)
        object.__setattr__(self, "spec", spec)
        for key in ("n_real", "train_size", "synthetic"):
            v = getattr(self, key)
            if v is not None and (isinstance(v, bool) or int(v) != v or v < 1):
                raise ValueError(f"{key} must be an integer >= 1, got {v!r}")
        values: dict[str, float] = {}
        if spec.params:  # the named real-fraction: its share is the family's real_fraction setting
            unknown = set(spec.params) - {"real_fraction"}
            if unknown:
                raise ValueError(f"workflow {spec.label} has parameter {sorted(unknown)[0]!r}, which no setting gives")
            f = self.real_fraction
            if f is None or isinstance(f, bool) or not (isinstance(f, (int, float)) and 0 <= f <= 1):
                raise ValueError(f"real_fraction must be in [0, 1] for workflow={spec.label!r}, got {f!r}")
            values["real_fraction"] = f
        # Schedule.bind, not WorkflowSpec.bind: a bound share of 0 (real_fraction = 0) is a valid setting,
        # though a declared spec may not write one.
        object.__setattr__(self, "shares", tuple(t.share.bind(values) if t.share is not None else None
                                                 for t in spec.takes))
        object.__setattr__(self, "batch", spec.batch.bind(values) if isinstance(spec.batch, Schedule) else spec.batch)
        if self.batch is not None and self.synthetic is not None and (
                isinstance(self.batch, Schedule) or self.synthetic != self.synthetic_size(2)):
            raise ValueError(f"{self.where} sets its synthetic batch size (batch = {self.batch}); "
                             "do not set synthetic or alpha")
        self.check(2)

    @property
    def name(self) -> str | None:
        """The named workflow's name (None for a declared spec)."""
        return self.spec.name if self.spec.name in NAMED and self.spec == NAMED[self.spec.name] else None

    @property
    def label(self) -> str:
        return self.spec.label

    @property
    def where(self) -> str:
        """How errors name the workflow: ``workflow last3``, or ``workflow`` for an unnamed one."""
        return f"workflow {self.spec.name}" if self.spec.name else "workflow"

    @property
    def n(self) -> int:
        """The size shares count in: ``train_size``, else the real data's size."""
        return self.n_real if self.train_size is None else int(self.train_size)

    @property
    def keeps_all(self) -> bool:
        """Whether every synthetic batch stays stored (a take reads batches older than the last window)."""
        return self.spec.keeps_all

    @property
    def fresh(self) -> bool:
        """Whether each generation draws real data afresh (a take from ``fresh``)."""
        return self.spec.fresh

    def take_rows(self, i: int, generation: int) -> int | None:
        """Rows that take ``i`` draws at ``generation`` (None: every row of its batches)."""
        take = self.spec.takes[i]
        if take.count is not None:
            return take.count
        if self.shares[i] is None:
            return None
        return int(round(_share(self.shares[i], generation, f"{self.where}: take[{i}].share") * self.n))

    def synthetic_size(self, generation: int) -> int:
        """Points to sample from the latest model for ``generation`` (>= 2) to train on."""
        if self.batch is None:
            return self.n_real if self.synthetic is None else int(self.synthetic)
        if isinstance(self.batch, Schedule):
            return max(1, int(round(_share(self.batch, generation, f"{self.where}: batch") * self.n)))
        real = 0  # batch = 'rest': n minus the real and fresh rows
        for i, t in enumerate(self.spec.takes):
            if t.source in ("real", "fresh"):
                k = self.take_rows(i, generation)
                real += self.n_real if k is None else k
        if real > self.n:
            raise ValueError(f"{self.where}: batch = 'rest' leaves no synthetic rows at generation "
                             f"{generation}: the real and fresh rows ({real}) are more than n = {self.n}")
        return self.n - real

    def batches(self, i: int, generation: int) -> tuple[int, ...]:
        """The batches take ``i`` reads at ``generation`` (>= 2)."""
        take = self.spec.takes[i]
        if take.source == "real":
            return (0,)
        if take.source == "fresh":
            return (FRESH,)
        if take.source == "all":
            return tuple(range(generation))
        first = {"latest": generation - 1, "synthetic": 1}.get(take.source) or max(1, generation - take.window)
        return tuple(range(first, generation))

    @property
    def constant(self) -> bool:
        """Whether every share and the batch size are the same at every generation (no schedule in g)."""
        return all(s is None or s.constant for s in self.shares) and not (
            isinstance(self.batch, Schedule) and not self.batch.constant)

    def capacity(self, generations: int) -> int:
        """Rows the store holds at most over ``generations`` generations (every batch kept)."""
        if self.constant:
            return self.n_real + max(generations - 1, 0) * self.synthetic_size(2)
        return self.n_real + sum(self.synthetic_size(g) for g in range(2, generations + 1))

    def check(self, generations: int) -> None:
        """Check that every draw without replacement fits its batches at generations 2 .. ``generations``:
        ValueError naming the take and the generation otherwise (run before any fit). Without schedules,
        generation 2 is the tightest (every source holds at least as many rows later), so it alone is checked."""
        if generations < 2 or not any(t.subsampled and not t.replace for t in self.spec.takes):
            return
        rows = [0, self.n_real]  # rows[b + 1]: the rows of batches 0 .. b (prefix sums; a take reads a run of batches)
        for g in range(2, (2 if self.constant else generations) + 1):
            rows.append(rows[-1] + self.synthetic_size(g))
            for i, t in enumerate(self.spec.takes):
                k = None if t.replace else self.take_rows(i, g)
                if k is None:
                    continue
                b = self.batches(i, g)
                N = self.n_real if b == (FRESH,) else rows[b[-1] + 1] - rows[b[0]]
                if k > N:
                    raise ValueError(f"{self.where}: take[{i}] draws {k} rows without replacement from "
                                     f"{_SOURCE[t.source]}, which hold{'s' if t.source in ('real', 'fresh', 'latest') else ''}"
                                     f" {N} at generation {g} (lower the share or count, or set replace = true)")

    def plan(self, generation: int, sizes: Sequence[int], rng: np.random.Generator, trials: int) -> Plan:
        """The training set of ``generation`` (1 = the fit on real data); ``sizes[b]`` is the row count
        of batch b (0 the real data, then one batch per earlier generation). Takes that draw rows draw
        them from ``rng``, in the spec's order, for ``trials`` trials at once."""
        if generation < 1 or len(sizes) != generation:
            raise ValueError(f"generation {generation} needs {generation} stored batches, got {len(sizes)}")
        if generation == 1:
            if self.bootstrap_first:
                return Plan((Part((0,), sample_rows(rng, trials, sizes[0], sizes[0], replace=True)),))
            return Plan((Part((0,)),))
        parts = []
        for i, take in enumerate(self.spec.takes):
            batches, k = self.batches(i, generation), self.take_rows(i, generation)
            if k is None:
                parts.append(Part(batches))
            elif k == 0:
                parts.append(Part(batches, count=0))
            else:
                N = sum(_rows_of(sizes, b) for b in batches)
                parts.append(Part(batches, sample_rows(rng, trials, N, k, replace=take.replace)))
        return Plan(tuple(parts))


# -- the workflow's settings, as every family's schema declares them (numerics.schema) -------------------


def workflow_setting(options: tuple[str, ...] = tuple(WORKFLOWS), default=None):
    """The ``workflow`` setting of a schema (``default`` None: it must be given)."""
    from .schema import REQUIRED, setting

    return setting(REQUIRED if default is None else default, "data workflow: a name, or a declared workflow table "
                   "(docs/workflows.md)", options=options, kind="workflow")


def workflow_value(name: str, value: object, options: Sequence[str]) -> str:
    """A ``workflow`` setting's value checked: a name of ``options``, or a declared spec (a TOML table, a
    WorkflowSpec or its canonical text) as its :func:`canonical` text; SettingError naming ``name``."""
    from .schema import SettingError

    if isinstance(value, str) and not value.lstrip().startswith("{"):
        if value not in options:
            raise SettingError(f"{name} must be one of {', '.join(options)}, or a workflow table; got {value!r}", name)
        return value
    try:
        return canonical(spec_of(value), options)
    except WorkflowError as e:
        message = str(e).removeprefix("workflow custom workflow: ").removeprefix("workflow ")
        raise SettingError(f"{name}: {message}", name) from None


def stored_all(workflow: str) -> bool:
    """Whether a ``workflow`` setting's value keeps every synthetic batch (what memory estimates ask)."""
    return spec_of(workflow).keeps_all


def draws_rows(workflow: str) -> bool:
    """Whether a ``workflow`` setting's value subsamples some source (what time estimates ask)."""
    return any(t.subsampled for t in spec_of(workflow).takes)


def real_fraction_setting(what: str = "points", extra: str = ""):
    from .schema import setting

    return setting(None, f"share of real {what} in each training set (workflow real-fraction{extra})", low=0, high=1)


def train_size_setting():
    from .schema import setting

    return setting(None, "training-set size of the subsample and real-fraction workflows (default n)", low=1)


def synthetic_setting(what: str = "points", extra: str = ""):
    from .schema import setting

    return setting(None, f"{what} sampled from each model (default n{extra})", low=1)


def alpha_setting():
    from .schema import setting

    return setting(None, "points sampled from each model as a fraction of n (Dey & Donoho's alpha n; instead of "
                   "synthetic)", low=0, open_low=True)


def first_fit_setting():
    from .schema import setting

    return setting("real", "generation 1 fits the real data as they are, or a bootstrap resample",
                   options=("real", "bootstrap"))


def workflow_from(config, n_real: int) -> Workflow:
    """The Workflow of a family's config (its workflow setting and whichever of train_size, synthetic, alpha,
    real_fraction and first_fit its schema has); SettingError naming the setting where they do not fit."""
    from .schema import SettingError

    try:
        return workflow_of(config.workflow, n_real, train_size=getattr(config, "train_size", None),
                           synthetic=getattr(config, "synthetic", None), alpha=getattr(config, "alpha", None),
                           real_fraction=getattr(config, "real_fraction", None),
                           first_fit=getattr(config, "first_fit", "real"))
    except ValueError as e:
        raise SettingError(str(e), "workflow") from None


def workflow_of(name: WorkflowSpec | str, n_real: int, *, train_size: int | None = None, synthetic: int | None = None,
                alpha: float | None = None, real_fraction: float | None = None, first_fit: str = "real") -> Workflow:
    """A Workflow from a simulator's settings (``name``: a named workflow, a spec or its canonical text):
    ``alpha`` is the synthetic batch as a fraction of n_real (exclusive with ``synthetic``), ``first_fit``
    'real' or 'bootstrap'."""
    if alpha is not None:
        if synthetic is not None:
            raise ValueError("give synthetic (a count) or alpha (a fraction of n), not both")
        if isinstance(alpha, bool) or not alpha > 0 or not np.isfinite(alpha):
            raise ValueError(f"alpha must be a positive number, got {alpha!r}")
        synthetic = max(1, int(round(alpha * n_real)))
    if first_fit not in ("real", "bootstrap"):
        raise ValueError(f"first_fit must be 'real' or 'bootstrap', got {first_fit!r}")
    return Workflow(name, n_real=n_real, train_size=train_size, synthetic=synthetic,
                    real_fraction=real_fraction, bootstrap_first=first_fit == "bootstrap")


class ArrayPool:
    """The stored batches of a generational loop as numpy arrays with a leading trial axis (R, m, ...).

    What is kept follows the workflow: the real data; every batch, contiguously in one preallocated
    array, where a take reads them all (so that ``accumulate`` gathers a view, without copying);
    otherwise the last ``spec.window`` synthetic batches; and this generation's fresh real draw where a
    take reads one (:meth:`add_fresh`). The array operations are three methods (``_empty``,
    ``_concat``, ``_take``), which a pool of torch tensors (the deep layer's) overrides; everything
    else is shared.
    """

    def __init__(self, real, workflow: Workflow, generations: int):
        if real.ndim < 2 or real.shape[1] < 1:
            raise ValueError("real data must have shape (trials, points, ...) with at least one point")
        if real.shape[1] != workflow.n_real:
            raise ValueError(f"the real data have {real.shape[1]} points; the workflow expects {workflow.n_real}")
        self.workflow = workflow
        self.sizes: list[int] = [real.shape[1]]
        self.real = real
        self.recent: list = []  # the last spec.window synthetic batches, oldest first (unless every batch is kept)
        self.fresh = None
        self._slot = None  # the view :meth:`slot` handed out for the next batch, if any
        if workflow.keeps_all:
            self.data = self._empty((real.shape[0], workflow.capacity(generations)) + tuple(real.shape[2:]), real)
            self.data[:, : real.shape[1]] = real

    # -- the array operations -------------------------------------------------------------------
    @staticmethod
    def _empty(shape: tuple, like):
        return np.empty(shape, dtype=like.dtype)

    @staticmethod
    def _concat(arrays: list):
        return np.concatenate(arrays, axis=1)

    @staticmethod
    def _take(data, idx: np.ndarray):
        return take_rows(data, idx)

    # -- storing and gathering ------------------------------------------------------------------
    def slot(self, m: int):
        """Where the next batch of ``m`` rows will be stored, as a view to write it into (None where the
        pool keeps its batches apart): a family may sample straight into it and hand :meth:`add` that very
        view, which is then stored without a copy."""
        self._slot = None
        if self.workflow.keeps_all:
            start = sum(self.sizes)
            if start + m <= self.data.shape[1]:
                self._slot = self.data[:, start : start + m]
        return self._slot

    def add(self, batch) -> None:
        """Store the synthetic batch sampled from the latest model."""
        m = batch.shape[1]
        if self.workflow.keeps_all:
            start = sum(self.sizes)
            if start + m > self.data.shape[1]:
                raise ValueError("pool is full: more generations than the pool was made for")
            if batch is not self._slot:  # sampled straight into the slot: already stored
                self.data[:, start : start + m] = batch
            self._slot = None
        else:
            self.recent.append(batch)
            del self.recent[: -self.workflow.spec.window]
        self.sizes.append(m)

    @property
    def latest(self):
        """The latest synthetic batch (None before the first)."""
        return self._batches((len(self.sizes) - 1,)) if len(self.sizes) > 1 else None

    def add_fresh(self, batch) -> None:
        """Store the real data drawn afresh for the generation about to be fitted (replacing the last draw)."""
        if batch.shape[1] != self.sizes[0]:
            raise ValueError(f"a fresh draw holds as many points as the real data ({self.sizes[0]}), got {batch.shape[1]}")
        self.fresh = batch

    def _batches(self, batches: tuple[int, ...]):
        if batches == (FRESH,):
            if self.fresh is None:
                raise ValueError("no fresh real data drawn for this generation (numerics.driver draws them)")
            return self.fresh
        if self.workflow.keeps_all:
            starts = np.cumsum([0] + self.sizes)
            if list(batches) != list(range(batches[0], batches[-1] + 1)):
                return self._concat([self._batches((b,)) for b in batches])
            return self.data[:, int(starts[batches[0]]) : int(starts[batches[-1] + 1])]
        last = len(self.sizes) - 1
        out = []
        for b in batches:
            if b == 0:
                out.append(self.real)
            elif last - len(self.recent) < b <= last:
                out.append(self.recent[b - last - 1])
            else:
                raise ValueError(f"batches {batches} are no longer stored (workflow {self.workflow.label})")
        return out[0] if len(out) == 1 else self._concat(out)

    def state(self) -> dict:
        """The stored batches and sizes, for a checkpoint (only what later plans can still read)."""
        out = {"sizes": list(self.sizes), "real": self.real, "latest": self.latest}
        if len(self.recent) > 1:
            out["recent"] = list(self.recent)
        if self.fresh is not None:
            out["fresh"] = self.fresh
        if self.workflow.keeps_all:
            out["data"] = self.data[:, : sum(self.sizes)]
        return out

    def restore(self, state: dict) -> None:
        """Take back what :meth:`state` saved (into a pool made from the same real data)."""
        self.sizes = [int(s) for s in state["sizes"]]
        self.real = state["real"]
        self.fresh = state.get("fresh")
        if self.workflow.keeps_all:
            self.data[:, : sum(self.sizes)] = state["data"]
        else:
            self.recent = list(state["recent"]) if "recent" in state else [] if state["latest"] is None else [state["latest"]]

    def holds(self, x) -> bool:
        """Whether ``x`` may be (a view of) stored rows: what a caller must not overwrite. A training set
        :meth:`gather` made by drawing rows or concatenating is a fresh array the caller owns."""
        stored = [self.data] if self.workflow.keeps_all else [self.real, *self.recent]
        return any(np.may_share_memory(x, a) for a in stored + ([self.fresh] if self.fresh is not None else []))

    def gather(self, plan: Plan):
        """The training set a plan describes, (R, m, ...)."""
        pieces = []
        for part in plan.parts:
            data = self._batches(part.batches)
            if part.rows is not None:
                data = self._take(data, part.rows)
            elif part.count is not None:
                data = data[:, : part.count]
            pieces.append(data)
        return pieces[0] if len(pieces) == 1 else self._concat(pieces)
