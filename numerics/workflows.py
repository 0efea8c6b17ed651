"""The data workflows as plans: which stored batches, and which rows of them, the next model trains on.

The workflow names are owned by ``theory.workflows`` (one list for every layer). Here a
:class:`Workflow` turns a name and its sizes into a :class:`Plan` for each generation, given how many
rows each stored batch holds. Batch 0 is the real data; batch g (g >= 1) the synthetic batch sampled
from the model of generation g. A plan names batches and, where it subsamples, the rows of their
concatenation for each trial: an index array with a leading trial axis. It holds no data, so the same
plan gathers numpy arrays with a trial axis (:class:`ArrayPool`, here), torch tensors with a replica
axis and token corpora (the deep layer's pools) alike.

* ``replace``: the latest batch;
* ``accumulate``: every batch (the real data and all synthetic batches so far);
* ``accumulate-subsample``: ``train_size`` rows drawn from every batch without replacement (fixed compute);
* ``accumulate-subsample-replacement``: the same, drawn with replacement;
* ``real-fraction``: ``round(real_fraction * train_size)`` real rows drawn afresh without replacement,
  and the latest batch, which holds the rest (Shumailov et al.'s 10% preservation);
* ``real-plus-synthetic``: every real row and the latest batch (Kazdan et al.'s scarce-real setting:
  ``n_real`` real points and ``synthetic`` points sampled from a model fitted on them).

Generation 1 trains on the real data under every workflow (or, with ``bootstrap_first``, on a bootstrap
resample of them: Dey & Donoho's first_fit='bootstrap'). Each generation after the first samples
:meth:`Workflow.synthetic_size` points from the latest model: ``synthetic`` (default: the real data's
size; Dey & Donoho's batches of alpha n points are ``synthetic = alpha n``), or for ``real-fraction``
exactly the synthetic share of the training set.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from theory.workflows import WORKFLOWS, check_workflow

__all__ = ["WORKFLOWS", "Workflow", "Plan", "Part", "ArrayPool", "check_workflow", "workflow_of", "distinct_indices",
           "subsample"]


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
        # every key after the first is a later occurrence. Those are few (about k^2 / 2N per trial), so
        # they are marked off an all-true mask rather than the first occurrences marked on an empty one.
        bits = max(K - 1, 1).bit_length()
        keys = draws.astype(np.int32 if N << bits <= 2**31 else np.int64)
        keys <<= bits
        keys |= np.arange(K, dtype=keys.dtype)
        keys.sort(axis=1)
        value = keys >> bits
        later = np.zeros(keys.shape, dtype=bool)
        np.equal(value[:, 1:], value[:, :-1], out=later[:, 1:])
        rows, cols = np.nonzero(later)
        first = np.ones(keys.shape, dtype=bool)
        first[rows, keys[rows, cols] & ((1 << bits) - 1)] = False
        seen = np.cumsum(first, axis=1, dtype=np.int32)
        if (seen[:, -1] >= k).all():
            break
        draws = np.concatenate([draws, rng.integers(0, N, size=(R, k))], axis=1)
    return draws[first & (seen <= k)].reshape(R, k)


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


@dataclass(frozen=True)
class Part:
    """Rows of some stored batches: ``batches`` concatenated in order (0 is the real data), and of
    their concatenation either every row (``rows`` None), the first ``count`` rows, or the rows
    ``rows[r]`` for trial r (an (R, k) integer array)."""

    batches: tuple[int, ...]
    rows: np.ndarray | None = None
    count: int | None = None

    def size(self, sizes: Sequence[int]) -> int:
        if self.rows is not None:
            return self.rows.shape[1]
        total = sum(sizes[b] for b in self.batches)
        return total if self.count is None else min(self.count, total)


@dataclass(frozen=True)
class Plan:
    """What a model trains on: its parts, concatenated in order."""

    parts: tuple[Part, ...]

    def size(self, sizes: Sequence[int]) -> int:
        return sum(p.size(sizes) for p in self.parts)


@dataclass(frozen=True)
class Workflow:
    """A workflow with its sizes: see the module docstring.

    ``n_real`` is the size of the real data. ``train_size`` (default ``n_real``) is the training-set
    size of the subsample and real-fraction workflows; ``synthetic`` (default ``n_real``) the number of
    points sampled from each model; ``real_fraction`` the real share of a real-fraction training set.
    """

    name: str
    n_real: int
    train_size: int | None = None
    synthetic: int | None = None
    real_fraction: float | None = None
    #: Generation 1 fits a bootstrap resample of the real data (n_real points drawn with replacement)
    #: instead of the real data as they are (Dey & Donoho's first_fit='bootstrap').
    bootstrap_first: bool = False

    def __post_init__(self) -> None:
        check_workflow(self.name)
        for key in ("n_real", "train_size", "synthetic"):
            v = getattr(self, key)
            if v is not None and (isinstance(v, bool) or int(v) != v or v < 1):
                raise ValueError(f"{key} must be an integer >= 1, got {v!r}")
        if self.name == "real-fraction":
            f = self.real_fraction
            if f is None or not (isinstance(f, (int, float)) and 0 <= f <= 1):
                raise ValueError(f"real_fraction must be in [0, 1] for workflow='real-fraction', got {f!r}")
            if self.real_rows > self.n_real:
                raise ValueError(f"real-fraction needs {self.real_rows} real points per training set, "
                                 f"but the real data have {self.n_real}")
            if self.synthetic is not None and self.synthetic != self.n - self.real_rows:
                raise ValueError("real-fraction samples the synthetic share of its training set; do not set synthetic")
        if self.name == "accumulate-subsample" and self.n > self.n_real + self.synthetic_size():
            raise ValueError(f"train_size {self.n} is more than the {self.n_real + self.synthetic_size()} pooled "
                             "points the first subsample draws from without replacement")

    @property
    def n(self) -> int:
        """The training-set size of the subsample and real-fraction workflows."""
        return self.n_real if self.train_size is None else int(self.train_size)

    @property
    def real_rows(self) -> int:
        """Real rows in a real-fraction training set."""
        return int(round(self.real_fraction * self.n)) if self.name == "real-fraction" else 0

    def synthetic_size(self) -> int:
        """Points to sample from each model for the next generation."""
        if self.name == "real-fraction":
            return self.n - self.real_rows
        return self.n_real if self.synthetic is None else int(self.synthetic)

    @property
    def keeps_all(self) -> bool:
        """Whether earlier synthetic batches are ever read again (the accumulating workflows)."""
        return self.name.startswith("accumulate")

    def capacity(self, generations: int) -> int:
        """Rows the store holds at most over ``generations`` generations."""
        if self.keeps_all:
            return self.n_real + max(generations - 1, 0) * self.synthetic_size()
        return self.n_real + self.synthetic_size()

    def plan(self, generation: int, sizes: Sequence[int], rng: np.random.Generator, trials: int) -> Plan:
        """The training set of ``generation`` (1 = the fit on real data); ``sizes[b]`` is the row count
        of batch b (0 the real data, then one batch per earlier generation). Subsampling workflows
        draw their rows from ``rng``, for ``trials`` trials at once."""
        if generation < 1 or len(sizes) != generation:
            raise ValueError(f"generation {generation} needs {generation} stored batches, got {len(sizes)}")
        if generation == 1:
            if self.bootstrap_first:
                return Plan((Part((0,), sample_rows(rng, trials, sizes[0], sizes[0], replace=True)),))
            return Plan((Part((0,)),))
        latest = generation - 1
        wf = self.name
        if wf == "replace":
            return Plan((Part((latest,)),))
        every = tuple(range(generation))
        if wf == "accumulate":
            return Plan((Part(every),))
        if wf.startswith("accumulate-subsample"):
            rows = sample_rows(rng, trials, sum(sizes), self.n, replace=wf.endswith("replacement"))
            return Plan((Part(every, rows),))
        if wf == "real-fraction":
            real = Part((0,), sample_rows(rng, trials, sizes[0], self.real_rows, replace=False)) if self.real_rows \
                else Part((0,), count=0)
            return Plan((real, Part((latest,))))
        return Plan((Part((0,)), Part((latest,))))  # real-plus-synthetic


# -- the workflow's settings, as every family's schema declares them (numerics.schema) -------------------


def workflow_setting(options: tuple[str, ...] = tuple(WORKFLOWS), default=None):
    """The ``workflow`` setting of a schema (``default`` None: it must be given)."""
    from .schema import REQUIRED, setting

    return setting(REQUIRED if default is None else default, "data workflow (theory.workflows)", options=options)


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
        raise SettingError(str(e)) from None


def workflow_of(name: str, n_real: int, *, train_size: int | None = None, synthetic: int | None = None,
                alpha: float | None = None, real_fraction: float | None = None, first_fit: str = "real") -> Workflow:
    """A Workflow from a simulator's settings: ``alpha`` is the synthetic batch as a fraction of n_real
    (exclusive with ``synthetic``), ``first_fit`` 'real' or 'bootstrap'."""
    if alpha is not None:
        if synthetic is not None:
            raise ValueError("give synthetic (a count) or alpha (a fraction of n), not both")
        if isinstance(alpha, bool) or not alpha > 0 or not np.isfinite(alpha):
            raise ValueError(f"alpha must be a positive number, got {alpha!r}")
        synthetic = max(1, int(round(alpha * n_real)))
    if first_fit not in ("real", "bootstrap"):
        raise ValueError(f"first_fit must be 'real' or 'bootstrap', got {first_fit!r}")
    return Workflow(check_workflow(name), n_real=n_real, train_size=train_size, synthetic=synthetic,
                    real_fraction=real_fraction, bootstrap_first=first_fit == "bootstrap")


class ArrayPool:
    """The stored batches of a generational loop as numpy arrays with a leading trial axis (R, m, ...).

    The accumulating workflows keep every batch, contiguously in one preallocated array (so that
    ``accumulate`` gathers a view, without copying); the others keep the real data and the latest batch.
    The array operations are three methods (``_empty``, ``_concat``, ``_take``), which a pool of torch
    tensors (the deep layer's) overrides; everything else is shared.
    """

    def __init__(self, real, workflow: Workflow, generations: int):
        if real.ndim < 2 or real.shape[1] < 1:
            raise ValueError("real data must have shape (trials, points, ...) with at least one point")
        if real.shape[1] != workflow.n_real:
            raise ValueError(f"the real data have {real.shape[1]} points; the workflow expects {workflow.n_real}")
        self.workflow = workflow
        self.sizes: list[int] = [real.shape[1]]
        self.real = real
        self.latest = None
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
    def add(self, batch) -> None:
        """Store the synthetic batch sampled from the latest model."""
        m = batch.shape[1]
        if self.workflow.keeps_all:
            start = sum(self.sizes)
            if start + m > self.data.shape[1]:
                raise ValueError("pool is full: more generations than the pool was made for")
            self.data[:, start : start + m] = batch
        self.latest = batch
        self.sizes.append(m)

    def _batches(self, batches: tuple[int, ...]):
        if self.workflow.keeps_all:
            starts = np.cumsum([0] + self.sizes)
            if list(batches) != list(range(batches[0], batches[-1] + 1)):
                return self._concat([self._batches((b,)) for b in batches])
            return self.data[:, int(starts[batches[0]]) : int(starts[batches[-1] + 1])]
        if any(b not in (0, len(self.sizes) - 1) for b in batches):
            raise ValueError(f"batches {batches} are no longer stored (workflow {self.workflow.name})")
        out = [self.real if b == 0 else self.latest for b in batches]
        return out[0] if len(out) == 1 else self._concat(out)

    def state(self) -> dict:
        """The stored batches and sizes, for a checkpoint (only what later plans can still read)."""
        out = {"sizes": list(self.sizes), "real": self.real, "latest": self.latest}
        if self.workflow.keeps_all:
            out["data"] = self.data[:, : sum(self.sizes)]
        return out

    def restore(self, state: dict) -> None:
        """Take back what :meth:`state` saved (into a pool made from the same real data)."""
        self.sizes = [int(s) for s in state["sizes"]]
        self.real, self.latest = state["real"], state["latest"]
        if self.workflow.keeps_all:
            self.data[:, : sum(self.sizes)] = state["data"]

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
