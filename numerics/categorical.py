"""A categorical distribution refitted by its own frequencies, run for real (the language-model side).

The truth p0 over K symbols is Zipf-like (p0_j proportional to j^-zipf, j = 1..K; zipf = 0 is uniform)
or given. Each generation fits the empirical frequencies of the training set the workflow gives
(through numerics.driver) and samples the next batch from them. Data are symbols: arrays of integer ids
with a trial axis, (R, m). Generation 1 fits n real samples.

Recorded per generation (each (R,)): ``diversity`` D_t = 1 - sum_j p_t,j^2, ``surviving`` the number of
symbols with nonzero frequency, ``lost_rarest`` whether the rarest symbol of the truth (the last) has
frequency 0, ``collapsed`` whether the fit is a point mass, and ``collapse_time`` min(T, t) with T the
first iteration whose fit is a point mass (its mean over trials tends to E T as t grows).

Shortcut (exact in distribution, named; ``sampler='counts'``): the fit reads a batch only through its
symbol counts, whose law is multinomial, so ``replace`` and ``accumulate`` can draw the counts directly
(K numbers per trial instead of m symbols). It serves long chains (the collapse time needs about 12 n
generations); the verification of the exact claims draws the symbols (``sampler='points'``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import driver
from .driver import Family
from .workflows import ArrayPool, check_workflow, workflow_of

QUANTITIES = ("diversity", "surviving", "lost_rarest", "collapsed", "collapse_time")
SAMPLERS = ("points", "counts")
COUNT_WORKFLOWS = ("replace", "accumulate")


def truth(K: int | None = None, zipf: float = 1.0, probabilities=None) -> np.ndarray:
    """The true probabilities: given, or proportional to j^-zipf over j = 1..K (sorted, largest first)."""
    if probabilities is not None:
        p = np.asarray(probabilities, dtype=float)
        if p.ndim != 1 or p.size < 2 or not np.all(np.isfinite(p)) or np.any(p <= 0):
            raise ValueError("probabilities must be at least two positive numbers")
        if abs(p.sum() - 1) > 1e-9:
            raise ValueError(f"probabilities must sum to 1, got {p.sum():.12g}")
        return p / p.sum()
    if K is None or isinstance(K, bool) or int(K) != K or K < 2:
        raise ValueError(f"K must be an integer >= 2, got {K!r}")
    if not np.isfinite(zipf) or zipf < 0:
        raise ValueError(f"zipf must be a number >= 0, got {zipf!r}")
    w = np.arange(1, int(K) + 1, dtype=float) ** -float(zipf)
    return w / w.sum()


def counts_of(symbols: np.ndarray, K: int) -> np.ndarray:
    """Symbol counts per trial, (R, K), from symbols (R, m) (one bincount with trial offsets)."""
    R = symbols.shape[0]
    flat = (symbols + K * np.arange(R)[:, None]).ravel()
    return np.bincount(flat, minlength=R * K).reshape(R, K)


def draw_symbols(probs: np.ndarray, m: int, rng: np.random.Generator) -> np.ndarray:
    """m symbols per trial from each trial's probabilities (R, K), by inverse CDF: (R, m) ids."""
    R, K = probs.shape
    cum = np.cumsum(probs, axis=1)
    cum[:, -1] = 1.0  # guard rounding: the last edge is exactly 1
    offsets = np.arange(R, dtype=float)[:, None]
    u = rng.random((R, m)) + offsets  # trial r's uniforms in [r, r + 1), so one search serves all trials
    idx = np.searchsorted((cum + offsets).ravel(), u.ravel(), side="right").reshape(R, m)
    return np.minimum(idx - K * np.arange(R)[:, None], K - 1)


@dataclass
class Counts:
    """A batch (or the pool) through its counts, (R, K)."""

    counts: np.ndarray

    @property
    def sizes_(self) -> int:
        return int(self.counts[0].sum())


class CountPool:
    """The counts shortcut's pool: the latest batch's counts (replace) or their running sum (accumulate)."""

    def __init__(self, real: Counts, workflow):
        self.accumulate = workflow.name == "accumulate"
        self.sizes = [real.sizes_]
        self.current = real.counts.copy()

    def add(self, batch: Counts) -> None:
        self.current = self.current + batch.counts if self.accumulate else batch.counts
        self.sizes.append(batch.sizes_)

    def gather(self, plan) -> Counts:
        return Counts(self.current)


class CategoricalFamily(Family):
    """Frequencies refitted on samples of themselves (see the module docstring)."""

    def __init__(self, p0: np.ndarray, n: int, sampler: str, wanted):
        self.p0, self.n, self.K, self.sampler = p0, n, p0.size, sampler
        self.wanted = wanted
        self.fits = 0
        self.time: np.ndarray | None = None

    def real(self, trials, rng):
        probs = np.broadcast_to(self.p0, (trials, self.K))
        if self.sampler == "counts":
            return Counts(rng.multinomial(self.n, probs))
        return draw_symbols(np.ascontiguousarray(probs), self.n, rng)

    def pool(self, real, workflow, generations):
        return CountPool(real, workflow) if self.sampler == "counts" else ArrayPool(real, workflow, generations)

    def fit(self, train, rng, previous):
        counts = train.counts if isinstance(train, Counts) else counts_of(train, self.K)
        return counts / counts.sum(axis=1, keepdims=True)

    def sample(self, model, size, rng):
        if self.sampler == "counts":
            return Counts(rng.multinomial(size, model))
        return draw_symbols(model, size, rng)

    def measure(self, model, rng):
        self.fits += 1
        present = model > 0
        collapsed = present.sum(axis=1) == 1
        if self.time is None:
            self.time = np.full(len(model), np.inf)
        self.time = np.where(np.isinf(self.time) & collapsed, float(self.fits), self.time)
        out = {}
        if "diversity" in self.wanted:
            out["diversity"] = 1.0 - (model * model).sum(axis=1)
        if "surviving" in self.wanted:
            out["surviving"] = present.sum(axis=1).astype(float)
        if "lost_rarest" in self.wanted:
            out["lost_rarest"] = (~present[:, -1]).astype(float)
        if "collapsed" in self.wanted:
            out["collapsed"] = collapsed.astype(float)
        if "collapse_time" in self.wanted:
            out["collapse_time"] = np.minimum(self.time, float(self.fits))
        return out


def simulate(trials: int, rng: np.random.Generator, *, n: int, generations: int, workflow: str, K: int | None = None,
             zipf: float = 1.0, probabilities=None, real_fraction: float | None = None, train_size: int | None = None,
             synthetic: int | None = None, sampler: str = "points", quantities=None) -> dict[str, np.ndarray]:
    """Run ``trials`` chains; each quantity of :data:`QUANTITIES` (or those asked for) as (trials, G)."""
    check_workflow(workflow)
    if isinstance(n, bool) or int(n) != n or n < 2:
        raise ValueError(f"n must be an integer >= 2, got {n!r}")
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler must be one of {', '.join(SAMPLERS)}; got {sampler!r}")
    p0 = truth(K, zipf, probabilities)
    flow = workflow_of(workflow, int(n), train_size=train_size, synthetic=synthetic, real_fraction=real_fraction)
    if sampler == "counts" and (workflow not in COUNT_WORKFLOWS or flow.synthetic_size() != n):
        raise ValueError(f"sampler='counts' serves {' and '.join(COUNT_WORKFLOWS)} with batches of n; "
                         f"{workflow!r} picks individual symbols (use sampler='points')")
    wanted = QUANTITIES if quantities is None else tuple(quantities)
    unknown = set(wanted) - set(QUANTITIES)
    if unknown:
        raise ValueError(f"quantities must be among {', '.join(QUANTITIES)}; got {sorted(unknown)[0]!r}")
    family = CategoricalFamily(p0, int(n), sampler, wanted)
    return driver.run(family, flow, generations, trials, rng)
