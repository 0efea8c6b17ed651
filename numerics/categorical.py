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
from .catalog import Bind, Metric, Produces, Simulator, register
from .driver import Family
from .schema import SettingError, Settings, schema, setting
from .workflows import (ArrayPool, real_fraction_setting, stored_all, synthetic_setting, train_size_setting,
                        workflow_from, workflow_setting)

OUTPUTS = ("diversity", "surviving", "lost_rarest", "collapsed", "collapse_time")
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
        self.real = real
        self.accumulate = workflow.name == "accumulate"
        self.sizes = [real.sizes_]
        self.current = real.counts.copy()

    def add(self, batch: Counts) -> None:
        self.current = self.current + batch.counts if self.accumulate else batch.counts
        self.sizes.append(batch.sizes_)

    def gather(self, plan) -> Counts:
        return Counts(self.current)

    def state(self) -> dict:
        return {"sizes": list(self.sizes), "real": self.real, "current": self.current}

    def restore(self, state: dict) -> None:
        self.sizes, self.current = [int(x) for x in state["sizes"]], state["current"]


@schema
class CategoricalSettings(Settings):
    """The categorical chain's settings (the ``categorical`` simulator; :func:`simulate`)."""

    n: int = setting(doc="samples per generation (and real samples)", low=2)
    K: int = setting(10, "symbols of the truth (Zipf-like unless probabilities are given)", low=2)
    zipf: float = setting(1.0, "exponent of the truth: p0_j proportional to j^-zipf (0: uniform)", low=0)
    probabilities: tuple[float, ...] | None = setting(None, "the truth's probabilities (instead of K and zipf); they "
                                                      "must sum to 1")
    workflow: str = workflow_setting()
    real_fraction: float | None = real_fraction_setting()
    train_size: int | None = train_size_setting()
    synthetic: int | None = synthetic_setting()
    sampler: str = setting("points", "draw the symbols, or a batch's counts from their multinomial law (counts: replace "
                           "and accumulate)", options=SAMPLERS)

    def validate(self) -> None:
        try:
            truth(self.K, self.zipf, self.probabilities)
        except ValueError as e:
            raise SettingError(str(e), "probabilities") from None
        flow = workflow_from(self, self.n)
        if self.sampler == "counts" and (self.workflow not in COUNT_WORKFLOWS or flow.synthetic_size(2) != self.n):
            raise SettingError(f"sampler='counts' serves {' and '.join(COUNT_WORKFLOWS)} with batches of n; "
                               f"{self.workflow!r} picks individual symbols (use sampler='points')", "sampler")


class CategoricalFamily(Family):
    """Frequencies refitted on samples of themselves (see the module docstring). The first iteration at which
    each trial's fit is a point mass is kept in ``chain.state['time']``."""

    saved_types = (Counts,)

    def __init__(self, config: CategoricalSettings, wanted):
        self.config, self.wanted = config, wanted
        self.p0 = truth(config.K, config.zipf, config.probabilities)
        self.K, self.n, self.sampler = self.p0.size, config.n, config.sampler

    def absorbed(self, chain) -> bool:
        # Replace fits each generation to its predecessor's samples alone, and a point mass samples only its
        # own symbol: once every trial's fit is one, nothing changes again.
        return self.config.workflow == "replace" and bool(np.isfinite(chain.state["time"]).all())

    def real(self, chain, rng):
        probs = np.broadcast_to(self.p0, (chain.trials, self.K))
        if self.sampler == "counts":
            return Counts(rng.multinomial(self.n, probs))
        return draw_symbols(np.ascontiguousarray(probs), self.n, rng)

    def pool(self, real, workflow, generations):
        return CountPool(real, workflow) if self.sampler == "counts" else ArrayPool(real, workflow, generations)

    def fit(self, train, chain, rng):
        counts = train.counts if isinstance(train, Counts) else counts_of(train, self.K)
        return counts / counts.sum(axis=1, keepdims=True)

    def sample(self, model, size, chain, rng):
        if self.sampler == "counts":
            return Counts(rng.multinomial(size, model))
        return draw_symbols(model, size, rng)

    def measure(self, model, chain, rng, samples=None):
        fits = chain.generation
        present = model > 0
        collapsed = present.sum(axis=1) == 1
        time = chain.state.get("time")
        if time is None:
            time = np.full(len(model), np.inf)
        time = chain.state["time"] = np.where(np.isinf(time) & collapsed, float(fits), time)
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
            out["collapse_time"] = np.minimum(time, float(fits))
        return out


def run(trials: int, rng: np.random.Generator, config: CategoricalSettings, generations: int, *,
        outputs=None, checkpoint: str | None = None) -> dict[str, np.ndarray]:
    """Run ``trials`` chains of a checked config; each output of :data:`OUTPUTS` (or those asked for) as
    (trials, G)."""
    wanted = OUTPUTS if outputs is None else tuple(outputs)
    unknown = set(wanted) - set(OUTPUTS)
    if unknown:
        raise ValueError(f"outputs must be among {', '.join(OUTPUTS)}; got {sorted(unknown)[0]!r}")
    header = None
    if checkpoint is not None:
        from .checkpoint import header_of

        header = header_of("categorical", config.as_dict(), trials, generations, rng)
    return driver.run(CategoricalFamily(config, wanted), workflow_from(config, config.n), generations, trials, rng,
                      checkpoint=checkpoint, header=header)


def simulate(trials: int, rng: np.random.Generator, *, generations: int, outputs=None, **settings) -> dict[str, np.ndarray]:
    """:func:`run` with ``settings`` (:class:`CategoricalSettings`) checked here."""
    return run(trials, rng, CategoricalSettings.build(settings), generations, outputs=outputs)


# -- the catalog's entry -------------------------------------------------------------------------------

def p0_of(c) -> np.ndarray:
    """The truth of a config with K, zipf and probabilities (this simulator's, or the language bridge's)."""
    return truth(c.K, c.zipf, c.probabilities)


def _p0(s: dict) -> np.ndarray:
    return truth(s["K"], s["zipf"], s["probabilities"])


_PLAIN = {"train_size": None, "synthetic": None}
#: The real-fraction workflow's share is a coordinate of the diversity only under that workflow (a sweep may
#: fix real_fraction for every cell, configs read it only where it applies).
REAL_FRACTION = Bind("real_fraction", derive=lambda s: s["real_fraction"] if s["workflow"] == "real-fraction" else None,
                     invert=lambda v: {"real_fraction": v})
#: The truth of a symbol's loss, realised as the last of two symbols.
RARE_SYMBOL = Bind("p", derive=lambda s: float(_p0(s)[-1]), invert=lambda p: {"probabilities": (1 - p, p)})
TRUTH = Bind("probabilities", derive=lambda s: [float(x) for x in _p0(s)], invert=lambda v: {"probabilities": tuple(v)})


def produces(note: str = "", share: float = 1.0, verify_diversity=None) -> tuple[Produces, ...]:
    """The categorical quantities a simulator with this schema's settings (n, K, zipf, probabilities, workflow
    and its sizes) measures through its metrics diversity_ratio, lost_rarest, surviving (and collapse_time)."""
    kw = {"note": note, "share": share}
    return (
        Produces("categorical.diversity", "diversity_ratio", (Bind("n"), Bind("workflow"), REAL_FRACTION),
                 when={"workflow": ("replace", "accumulate", "real-fraction"), **_PLAIN},
                 verify=verify_diversity or {}, **kw),
        Produces("categorical.lost", "lost_rarest", (Bind("n"), RARE_SYMBOL), when={"workflow": "replace", **_PLAIN}, **kw),
        Produces("categorical.surviving", "surviving", (Bind("n"), TRUTH), when={"workflow": "replace", **_PLAIN}, **kw),
    )


register(Simulator(
    name="categorical",
    target=f"{__name__}:run",
    doc="a categorical distribution refitted by its frequencies on its own samples (Shumailov et al.; Seddik et al.)",
    schema=CategoricalSettings,
    metrics={
        "diversity_ratio": Metric("D_t / D_0, D = 1 - sum p^2 (Gini-Simpson)", "diversity",
                                  lambda v, c: v / (1 - (p0_of(c) ** 2).sum())),
        "lost_rarest": Metric("whether the truth's rarest symbol has count 0", "lost_rarest"),
        "surviving": Metric("symbols with nonzero count", "surviving"),
        "collapsed": Metric("whether the fit is a point mass", "collapsed"),
        "collapse_time": Metric("min(T, t), T the first iteration whose fit is a point mass", "collapse_time"),
    },
    produces=(
        *produces(verify_diversity={"K": 5, "zipf": 1.0}),
        Produces("categorical.collapse_time", "collapse_time", (Bind("n"), TRUTH), when={"workflow": "replace", **_PLAIN},
                 verify={"sampler": "counts"}, note="chains run until collapse by multinomial counts"),
    ),
    memory=lambda c, G: 8.0 * (c.n * (G if stored_all(c.workflow) else 3) + 4 * c.K) + 8.0 * G * 5,
    # Seconds per trial (fitted to the verify cells and the shipped sweep: within 0.92-0.94 of the measured
    # time); the counts sampler's cost is the per-block term.
    work=lambda c, G: G * (5.1e-8 * c.n + 5.7e-9 * c.n * G / 2 * stored_all(c.workflow))
    if c.sampler == "points" else 0.0,
    block_seconds=lambda c, G: 4.8e-4 * G,
    outputs=True,
))
