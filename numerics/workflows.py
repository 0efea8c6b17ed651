"""The data workflows of the model-collapse literature, once, for R trials at a time.

A :class:`Pool` holds the data of a generational loop with a leading trial axis: arrays of shape
``(R, m, *event)``. Generation 1 trains on the real data; after each generation the caller adds the
synthetic batch sampled from its model, and ``training_set()`` returns what the next model trains on:

* ``replace``: the latest synthetic batch only;
* ``accumulate``: the real data and every synthetic batch so far;
* ``accumulate-subsample``: n points drawn from that pool without replacement (fixed compute);
* ``accumulate-subsample-replacement``: the same, drawn with replacement;
* ``real-fraction``: a fixed share of each training set is real data, drawn afresh from the real
  points without replacement, the rest from the latest batch (Shumailov et al.'s 10% preservation);
* ``real-plus-synthetic``: all the real points plus the latest synthetic batch (Kazdan et al.'s
  scarce-real setting: n_real real points and n_syn synthetic ones from a model fitted on them).
"""

from __future__ import annotations

import numpy as np

WORKFLOWS = (
    "replace",
    "accumulate",
    "accumulate-subsample",
    "accumulate-subsample-replacement",
    "real-fraction",
    "real-plus-synthetic",
)


def check_workflow(workflow: str) -> str:
    if workflow not in WORKFLOWS:
        raise ValueError(f"workflow must be one of {', '.join(WORKFLOWS)}; got {workflow!r}")
    return workflow


def distinct_indices(rng: np.random.Generator, R: int, N: int, k: int) -> np.ndarray:
    """k distinct indices of range(N) per trial, (R, k): a uniformly random k-subset, in random order.

    The first k distinct values of an i.i.d. uniform sequence on range(N) (each new value is uniform
    over the values not yet taken, so the subset is uniform), found for all trials at once: draw a
    chunk, mark each value's first occurrence with a stable sort, and draw more while a trial has
    fewer than k. About k (1 + k / 2N) draws and a sort of them per trial, instead of N random keys.
    """
    extra = int(k * k / (2 * (N - k + 1))) + int(3 * np.sqrt(k)) + 8  # expected excess + a margin
    draws = rng.integers(0, N, size=(R, k + extra))
    while True:
        order = np.argsort(draws, axis=1, kind="stable")  # equal values keep their order in the draws
        ranked = np.take_along_axis(draws, order, axis=1)
        new = np.ones(ranked.shape, dtype=bool)
        new[:, 1:] = ranked[:, 1:] != ranked[:, :-1]
        first = np.empty_like(new)
        np.put_along_axis(first, order, new, axis=1)
        seen = np.cumsum(first, axis=1)
        if (seen[:, -1] >= k).all():
            break
        draws = np.concatenate([draws, rng.integers(0, N, size=(R, k))], axis=1)
    return draws[first & (seen <= k)].reshape(R, k)


def subsample(data: np.ndarray, size: int, rng: np.random.Generator, replace: bool, count: int | None = None) -> np.ndarray:
    """``size`` points per trial from the first ``count`` points of ``data`` (R, N, ...).

    Without replacement: a uniformly random subset of the N points, by :func:`distinct_indices` when
    size <= N / 2 (the accumulate workflows: N grows with the generations), otherwise the points with
    the ``size`` smallest of N uniform keys (argpartition, O(N) per trial).
    """
    R, N = data.shape[:2]
    N = N if count is None else count
    if replace:
        idx = rng.integers(0, N, size=(R, size))
    else:
        if size > N:
            raise ValueError(f"cannot draw {size} points without replacement from a pool of {N}")
        if 2 * size <= N:
            idx = distinct_indices(rng, R, N, size)
        else:
            keys = rng.random((R, N))
            idx = np.argpartition(keys, size - 1, axis=1)[:, :size] if size < N else np.argsort(keys, axis=1)
    idx = idx.reshape(idx.shape + (1,) * (data.ndim - 2))
    return np.take_along_axis(data[:, :N], idx, axis=1)


class Pool:
    """The training data of a generational loop, for R trials at once (see the module docstring)."""

    def __init__(self, workflow: str, real: np.ndarray, rng: np.random.Generator, generations: int,
                 batch: int | None = None, real_fraction: float | None = None):
        self.workflow = check_workflow(workflow)
        if real.ndim < 2 or real.shape[1] < 1:
            raise ValueError("real data must have shape (trials, points, ...) with at least one point")
        self.real = real
        self.rng = rng
        self.n = real.shape[1] if batch is None else batch  # training-set size for the subsample workflows
        if workflow == "real-fraction":
            if real_fraction is None or not 0 <= real_fraction <= 1:
                raise ValueError(f"real_fraction must be in [0, 1] for workflow='real-fraction', got {real_fraction!r}")
            self.n_real = int(round(real_fraction * self.n))
        self.latest: np.ndarray | None = None
        self.generation = 1
        if workflow.startswith("accumulate"):
            cap = real.shape[1] + max(generations - 1, 0) * self.n
            self.data = np.empty((real.shape[0], cap) + real.shape[2:], dtype=real.dtype)
            self.data[:, : real.shape[1]] = real
            self.size = real.shape[1]

    def add(self, synthetic: np.ndarray) -> None:
        """Add the synthetic batch sampled from the latest model."""
        self.latest = synthetic
        self.generation += 1
        if self.workflow.startswith("accumulate"):
            m = synthetic.shape[1]
            if self.size + m > self.data.shape[1]:
                raise ValueError("pool is full: more generations than the pool was made for")
            self.data[:, self.size : self.size + m] = synthetic
            self.size += m

    @property
    def pool_size(self) -> int:
        return self.size if self.workflow.startswith("accumulate") else self.real.shape[1]

    def training_set(self) -> np.ndarray:
        """What the next model trains on."""
        if self.latest is None:  # generation 1: the real data
            return self.real
        wf = self.workflow
        if wf == "replace":
            return self.latest
        if wf == "accumulate":
            return self.data[:, : self.size]
        if wf.startswith("accumulate-subsample"):
            return subsample(self.data, self.n, self.rng, replace=wf.endswith("replacement"), count=self.size)
        if wf == "real-fraction":
            real = subsample(self.real, self.n_real, self.rng, replace=False) if self.n_real else self.real[:, :0]
            return np.concatenate([real, self.latest[:, : self.n - self.n_real]], axis=1)
        return np.concatenate([self.real, self.latest], axis=1)  # real-plus-synthetic
