"""Seeds and streams: one SeedSequence per run, one stream per block of trials.

Trials are simulated in fixed blocks of ``BLOCK`` trials. Block b of a run draws from
``SeedSequence(entropy, spawn_key=key + (b,))``, so each block's random numbers depend only on the
run's seed, the check's key and the block index: results are bit-identical whatever the number of
blocks processed together (the chunk size) or the process that runs them.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

#: Trials per block: the unit of randomness (and of vectorised work).
BLOCK = 4096


def seed_sequence(seed: int | np.random.SeedSequence | None) -> np.random.SeedSequence:
    """A SeedSequence from an int, a SeedSequence, or None (fresh OS entropy)."""
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, (bool, np.bool_)) or (seed is not None and not isinstance(seed, (int, np.integer))):
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if seed is not None and seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    return np.random.SeedSequence(seed)


def stable_key(*parts: object) -> tuple[int, ...]:
    """A spawn key from names (stable across runs and platforms, unlike hash())."""
    return tuple(zlib.crc32(str(p).encode()) for p in parts)


@dataclass(frozen=True)
class Block:
    start: int
    stop: int
    rng: np.random.Generator

    @property
    def size(self) -> int:
        return self.stop - self.start


def blocks(trials: int, seed: np.random.SeedSequence, key: tuple[int, ...] = (), first: int = 0,
           count: int | None = None, size: int = BLOCK) -> Iterator[Block]:
    """The blocks of a run of ``trials`` trials (or ``count`` of them from block ``first``).

    ``size`` is the number of trials per block (the last may be smaller); it is part of what the
    numbers depend on, like the seed and the key.
    """
    if trials < 1:
        raise ValueError(f"trials must be >= 1, got {trials}")
    if size < 1:
        raise ValueError(f"block size must be >= 1, got {size}")
    n_blocks = -(-trials // size)
    last = n_blocks if count is None else min(n_blocks, first + count)
    for b in range(first, last):
        ss = np.random.SeedSequence(seed.entropy, spawn_key=tuple(seed.spawn_key) + tuple(key) + (b,))
        yield Block(b * size, min((b + 1) * size, trials), np.random.default_rng(ss))
