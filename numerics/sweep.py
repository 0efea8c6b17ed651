"""Sweeps: a grid of simulator settings, run on local processes or a Dask cluster, into a results store.

A sweep is read from a TOML file (see ``configs/`` for the shipped ones)::

    simulator = "gaussian"             # a name of SIMULATORS
    generations = 100                  # generations simulated (every one is recorded)
    trials = 100                       # independent chains per cell
    seed = 0                           # optional: without it, fresh entropy (saved for resuming)
    metrics = ["mean_sq_error", "trace_ratio", "det_ratio"]

    [fixed]                            # settings shared by every cell
    estimator = "mle"

    [grid]                             # every combination is one cell, in this order
    d = [1, 3, 10]
    n = [10, 100]
    workflow = ["replace", "accumulate"]

Each cell is simulated in blocks of trials. Block b of a cell draws from
``SeedSequence(entropy, spawn_key=key(simulator, cell settings) + (b,))``, its block size is a function
of the cell's settings alone (a memory budget per block), and each block is summarised on its own
(numerics.stats.MeanVar, RatioMoments) and merged in block order. So the numbers depend on the seed and
the cell only: not on the other cells of the grid, on how many processes run it, or on the backend.

The table has one row per cell, generation and metric: the cell's settings, ``generation`` (1 to
``generations``; from 0, before any synthetic data, for ``ridge``), ``metric``, ``statistic``
(``mean``, or ``ratio``: the mean at generation k over the mean at the first generation),
``estimate``, ``se``, ``trials``, and, wherever a claim predicts the quantity, ``claim``, ``theory``,
``theory_kind`` (exact or asymptotic) and ``limit`` (the claim's limit over generations, where it has
one).
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import gaussian, kde, logistic, regression
from .rng import BLOCK, blocks, seed_sequence, stable_key
from .stats import MeanVar, RatioMoments
from .store import Store, git_revision, versions
from .workflows import WORKFLOWS

#: Memory a block of trials may take (an estimate per simulator). A constant, not a property of the
#: machine: the block size, and so the random numbers, must be the same everywhere.
BLOCK_MEMORY = 256 * 2**20


class ConfigError(ValueError):
    """A sweep configuration that cannot be run; the message names the key."""


# -- simulators a sweep can run -----------------------------------------------------------------

REQUIRED = object()


@dataclass(frozen=True)
class Param:
    kind: str  # int, float, choice
    default: object = REQUIRED
    options: tuple = ()
    doc: str = ""

    def check(self, key: str, value):
        """The value converted to its kind; ConfigError naming ``key`` otherwise."""
        if self.kind == "int":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
                raise ConfigError(f"{key} must be an integer, got {value!r}")
            return int(value)
        if self.kind == "float":
            if value is None and self.default is None:
                return None
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ConfigError(f"{key} must be a finite number, got {value!r}")
            return float(value)
        if self.kind == "choice":
            if value not in self.options:
                raise ConfigError(f"{key} must be one of {', '.join(map(str, self.options))}; got {value!r}")
            return value
        raise AssertionError(self.kind)


@dataclass(frozen=True)
class Metric:
    doc: str
    extract: Callable[[dict, dict], np.ndarray]  # (simulator output, cell settings) -> (trials, G)
    statistic: str = "mean"  # mean, or ratio (mean at generation k / mean at generation 1)
    #: The simulator outputs it reads, for simulators that can skip the others (gaussian: w2, det).
    needs: tuple = ()
    #: The claim predicting it at these settings: (claim id, its values except the generation, the
    #: claim's generation parameter), or None.
    theory: Callable[[dict], tuple[str, dict, str] | None] = lambda p: None


@dataclass(frozen=True)
class Sweepable:
    fn: Callable[..., dict]
    doc: str
    params: dict
    metrics: dict
    generations: str = "generations"  # the simulator's keyword for the number of generations
    first: int = 1  # the generation of the simulator's first column (0: a column before any synthetic data)
    bytes_per_trial: Callable[[dict, int], float] = lambda p, G: 1e4
    selective: bool = False  # takes quantities=... (what the metrics need)

    def call(self, trials: int, rng: np.random.Generator, settings: dict, G: int, metrics=()) -> dict:
        extra = {}
        if self.selective:
            extra["quantities"] = sorted({q for m in metrics for q in self.metrics[m].needs})
        return self.fn(trials, rng, **settings, **{self.generations: G}, **extra)


def _workflow_claim(claim_id: str, p: dict, values: dict, gen: str, workflows=None):
    from theory import CLAIMS  # theory is only needed by the process that writes the table

    allowed = workflows or CLAIMS[claim_id].choices.get("workflow", ())
    if p.get("workflow") not in allowed:
        return None
    if "workflow" in CLAIMS[claim_id].choices:
        values = {**values, "workflow": p["workflow"]}
    return claim_id, values, gen


def _gaussian_1d(claim_id: str, p: dict, **values):
    if p["d"] != 1 or p["workflow"] != "replace":
        return None
    return claim_id, {"sigma": p["sigma"], "T": p["n"], "estimator": p["estimator"], **values}, "g"


def _mv(claim_id: str, workflows=None):
    return lambda p: _workflow_claim(claim_id, p, {"sigma2": p["sigma"] ** 2, "d": p["d"], "n": p["n"],
                                                   "estimator": p["estimator"]}, "t", workflows)


def _gaussian_bytes(p: dict, G: int) -> float:
    d, n = p["d"], p["n"]
    if gaussian.resolve_sampler(p["sampler"], p["workflow"]) == "sufficient":
        return 8.0 * d * d * 12
    pool = n * G if p["workflow"].startswith("accumulate-subsample") else 2 * n
    return 8.0 * d * (pool + 4 * n) + 8.0 * d * d * 6


SIMULATORS: dict[str, Sweepable] = {
    "gaussian": Sweepable(
        gaussian.simulate,
        "Gaussian fitted by mean and covariance, N(0, sigma^2 I_d) real data (Shumailov et al.; Kazdan et al.)",
        params={
            "d": Param("int", 1, doc="dimension"),
            "n": Param("int", doc="points per generation"),
            "sigma": Param("float", 1.0, doc="standard deviation of the real data"),
            "estimator": Param("choice", "mle", ("unbiased", "mle"), "covariance estimator"),
            "workflow": Param("choice", options=WORKFLOWS, doc="data workflow"),
            "real_fraction": Param("float", None, doc="share of real points (workflow real-fraction)"),
            "sampler": Param("choice", "points", gaussian.SAMPLERS,
                             "points, or a batch's mean and scatter from their laws (sufficient; auto where exact)"),
        },
        metrics={
            "mean_sq_error": Metric("||mu_t - mu_0||^2", lambda o, p: o["mean_sq_error"],
                                    theory=_mv("mvgaussian.mean_sq_error")),
            "trace_ratio": Metric("Tr Sigma_t / Tr Sigma_0", lambda o, p: o["trace"] / (p["d"] * p["sigma"] ** 2),
                                  theory=_mv("mvgaussian.trace_ratio")),
            "det_ratio": Metric("det Sigma_t / det Sigma_0", lambda o, p: o["det"] / p["sigma"] ** (2 * p["d"]),
                                needs=("det",), theory=_mv("mvgaussian.det_ratio", ("replace",))),
            "log_det_ratio": Metric("log(det Sigma_t / det Sigma_0) (-inf when n <= d)",
                                    lambda o, p: o["log_det"] - 2 * p["d"] * np.log(p["sigma"]), needs=("log_det",),
                                    theory=lambda p: _mv("mvgaussian.log_det_ratio", ("replace",))(p)
                                    if p["n"] > p["d"] else None),
            "w2": Metric("W2^2 from the fitted Gaussian to the real one", lambda o, p: o["w2"], needs=("w2",),
                         theory=lambda p: _gaussian_1d("gaussian.w2_risk", p)),
            "sigma2": Metric("fitted variance (d = 1)", lambda o, p: o["trace"] / p["d"],
                             theory=lambda p: _gaussian_1d("gaussian.sigma2_mean", p)),
            "log_var": Metric("log(sigma_t^2 / sigma^2) (d = 1)", lambda o, p: o["log_var"], needs=("log_var",),
                              theory=lambda p: _gaussian_1d("gaussian.log_sigma2_drift", {**p, "sigma": None})),
            "variance_ratio": Metric(
                "Var(mu_k) / Var(mu_1), as E||mu_k - mu_0||^2 / E||mu_1 - mu_0||^2 (Dey & Donoho)",
                lambda o, p: o["mean_sq_error"], statistic="ratio",
                theory=lambda p: _workflow_claim("universality.variance_ratio", p, {"first_fit": "real"}, "k")),
        },
        bytes_per_trial=_gaussian_bytes,
        selective=True,
    ),
    "regression": Sweepable(
        regression.simulate_fixed_design,
        "OLS refitted on its own labels, fixed isotropic design (Gerstgrasser et al.)",
        params={
            "d": Param("int", doc="dimension"),
            "T": Param("int", doc="rows of the design"),
            "sigma": Param("float", 1.0, doc="label noise"),
            "workflow": Param("choice", options=WORKFLOWS[:4], doc="data workflow"),
        },
        metrics={
            "test_error": Metric("(w_n - w*)^T Sigma (w_n - w*)", lambda o, p: o["test_error"],
                                 theory=lambda p: _workflow_claim(
                                     f"regression.{p['workflow']}.test_error", p,
                                     {"sigma": p["sigma"], "d": p["d"], "T": p["T"]}, "n", ("replace", "accumulate"))),
        },
        generations="fits",
        bytes_per_trial=lambda p, G: 8.0 * (p["d"] + 1) * p["T"] * (G if "subsample" in p["workflow"] else 6),
    ),
    "kde": Sweepable(
        kde.simulate,
        "1-D Gaussian-kernel KDE refitted on its own samples (Kazdan et al.)",
        params={
            "n": Param("int", doc="points per iteration"),
            "sigma": Param("float", 1.0, doc="standard deviation of the real data"),
            "workflow": Param("choice", options=WORKFLOWS[:4], doc="data workflow"),
            "bandwidth": Param("choice", "fixed", ("fixed", "scott", "silverman"), "bandwidth rule"),
            "h": Param("float", None, doc="bandwidth (bandwidth = fixed)"),
        },
        metrics={
            "variance": Metric("variance of the data fitted at iteration t", lambda o, p: o["variance"],
                               theory=lambda p: _workflow_claim(
                                   f"kde.{p['workflow']}.variance", p,
                                   {"sigma": p["sigma"], "n": p["n"], "bandwidth": p["bandwidth"],
                                    **({"h": p["h"]} if p["bandwidth"] == "fixed" else {})}, "t",
                                   ("replace", "accumulate"))),
        },
        bytes_per_trial=lambda p, G: 8.0 * p["n"] * (G if p["workflow"].startswith("accumulate") else 4) * 3,
    ),
    "logistic": Sweepable(
        logistic.simulate,
        f"logistic regression refitted on labels from its own fit, theta0 = {logistic.THETA0} (Dey & Donoho)",
        params={
            "n": Param("int", doc="points per generation"),
            "workflow": Param("choice", options=WORKFLOWS[:4], doc="data workflow"),
        },
        metrics={
            "sq_error": Metric("||theta_k - theta0||^2", lambda o, p: o["sq_error"]),
            "variance_ratio": Metric("E||theta_k - theta0||^2 / E||theta_1 - theta0||^2", lambda o, p: o["sq_error"],
                                     statistic="ratio",
                                     theory=lambda p: _workflow_claim("universality.logistic", p,
                                                                      {"first_fit": "real"}, "k")),
        },
        bytes_per_trial=lambda p, G: 8.0 * 4 * p["n"] * (G if p["workflow"].startswith("accumulate") else 2) * 6,
    ),
    "ridge": Sweepable(
        regression.simulate_dohmatob,
        "ridge on data labelled by a chain of refitted OLS generators, isotropic design (Dohmatob et al.)",
        params={
            "d": Param("int", doc="dimension"),
            "T": Param("int", doc="downstream training samples"),
            "T0": Param("int", doc="generator training samples per generation"),
            "lam": Param("float", 0.0, doc="ridge penalty"),
            "sigma": Param("float", 1.0, doc="downstream label noise"),
            "sigma0": Param("float", 1.0, doc="generator label noise"),
        },
        metrics={
            "test_error": Metric("(w - w0)^T Sigma (w - w0) of the downstream ridge, n = 0 on clean data",
                                 lambda o, p: o["test_error"],
                                 theory=lambda p: ("ridge.test_error", {"spectrum": "isotropic", "w0_norm": 1.0, **p}, "n")),
        },
        first=0,
        bytes_per_trial=lambda p, G: 8.0 * p["d"] * (p["T"] + p["T0"] + p["d"]) * 4,
    ),
    "min-norm": Sweepable(
        regression.simulate_min_norm,
        "minimum-norm interpolators refitted on fresh over-parametrised designs, noise-free (Dohmatob et al.)",
        params={
            "d": Param("int", doc="dimension"),
            "T0": Param("int", doc="samples per generation (T0 < d)"),
            "w0_norm": Param("float", 1.0, doc="norm of the true weights"),
        },
        metrics={
            "error": Metric("||w_n - w0||^2", lambda o, p: o["error"],
                            theory=lambda p: ("ridge.overparam_noise_free", dict(p), "n")),
        },
        bytes_per_trial=lambda p, G: 8.0 * p["d"] * p["T0"] * 4,
    ),
}


def describe() -> str:
    """Every simulator a sweep can run: its settings (with defaults) and metrics (`collapse sweep --list`)."""
    lines = []
    for name, sim in SIMULATORS.items():
        lines.append(f"{name}: {sim.doc}")
        lines.append("  settings:")
        for k, p in sim.params.items():
            default = "required" if p.default is REQUIRED else f"default {p.default}"
            options = f"; one of {', '.join(map(str, p.options))}" if p.options else ""
            lines.append(f"    {k:<15} {p.doc} ({p.kind}, {default}{options})")
        lines.append("  metrics:")
        for k, m in sim.metrics.items():
            lines.append(f"    {k:<15} {m.doc}" + (" [ratio to the first generation]" if m.statistic == "ratio" else ""))
    return "\n".join(lines) + "\n"


# -- configuration ------------------------------------------------------------------------------

TOP_KEYS = {"simulator", "generations", "trials", "seed", "metrics", "fixed", "grid", "description"}


@dataclass
class Config:
    simulator: str
    generations: int
    trials: int
    seed: int | None
    metrics: tuple[str, ...]
    fixed: dict
    grid: dict  # name -> list of values, in the file's order
    description: str = ""
    source: str = ""  # the file it was read from

    @classmethod
    def from_toml(cls, path: str | os.PathLike) -> Config:
        try:
            import tomllib
        except ModuleNotFoundError:  # Python 3.10
            import tomli as tomllib
        try:
            with open(path, "rb") as f:
                data = tomllib.load(f)
        except FileNotFoundError:
            raise ConfigError(f"{path}: no such file") from None
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{path}: not valid TOML ({e})") from None
        try:
            return cls.from_dict(data, source=str(path))
        except ConfigError as e:
            raise ConfigError(f"{path}: {e}") from None

    @classmethod
    def from_dict(cls, data: dict, source: str = "") -> Config:
        unknown = set(data) - TOP_KEYS
        if unknown:
            raise ConfigError(f"unknown key {sorted(unknown)[0]!r} (known: {', '.join(sorted(TOP_KEYS))})")
        for key in ("simulator", "generations", "trials", "metrics"):
            if key not in data:
                raise ConfigError(f"missing key {key!r}")
        name = data["simulator"]
        if name not in SIMULATORS:
            raise ConfigError(f"simulator must be one of {', '.join(SIMULATORS)}; got {name!r}")
        sim = SIMULATORS[name]
        G = Param("int").check("generations", data["generations"])
        trials = Param("int").check("trials", data["trials"])
        if G < 1:
            raise ConfigError(f"generations must be >= 1, got {G}")
        if trials < 2:
            raise ConfigError(f"trials must be >= 2 (a standard error needs two), got {trials}")
        seed = data.get("seed")
        if seed is not None:
            seed = Param("int").check("seed", seed)
            if seed < 0:
                raise ConfigError(f"seed must be a non-negative integer, got {seed}")
        metrics = data["metrics"]
        if isinstance(metrics, str):
            metrics = [metrics]
        if not isinstance(metrics, list) or not metrics:
            raise ConfigError("metrics must be a non-empty list of names")
        for m in metrics:
            if m not in sim.metrics:
                raise ConfigError(f"metrics: {m!r} is not a metric of simulator {name!r} "
                                  f"(its metrics: {', '.join(sim.metrics)})")
        fixed, grid = data.get("fixed", {}), data.get("grid", {})
        for table, key in ((fixed, "fixed"), (grid, "grid")):
            if not isinstance(table, dict):
                raise ConfigError(f"{key} must be a table of settings")
            for k in table:
                if k not in sim.params:
                    raise ConfigError(f"{key}.{k}: simulator {name!r} has no setting {k!r} "
                                      f"(its settings: {', '.join(sim.params)})")
        both = set(fixed) & set(grid)
        if both:
            raise ConfigError(f"{sorted(both)[0]!r} is in both [fixed] and [grid]")
        fixed = {k: sim.params[k].check(f"fixed.{k}", v) for k, v in fixed.items()}
        checked = {}
        for k, values in grid.items():
            if not isinstance(values, list) or not values:
                raise ConfigError(f"grid.{k} must be a non-empty list of values")
            checked[k] = [sim.params[k].check(f"grid.{k}", v) for v in values]
            if len(set(map(repr, checked[k]))) != len(values):
                raise ConfigError(f"grid.{k} repeats a value")
        for k, p in sim.params.items():
            if p.default is REQUIRED and k not in fixed and k not in checked:
                raise ConfigError(f"setting {k!r} ({p.doc}) must be given, in [fixed] or [grid]")
        config = cls(name, G, trials, seed, tuple(metrics), fixed, checked, data.get("description", ""), source)
        config.check_cells()
        return config

    def cells(self) -> list[dict]:
        """Every cell's complete settings (defaults filled in), in grid order (the last key fastest)."""
        sim = SIMULATORS[self.simulator]
        base = {k: p.default for k, p in sim.params.items() if p.default is not REQUIRED}
        base.update(self.fixed)
        keys = list(self.grid)
        return [{**base, **dict(zip(keys, combo))} for combo in itertools.product(*self.grid.values())]

    def check_cells(self) -> None:
        """Run each cell's simulator for one trial and one generation: bad settings fail now, by name."""
        sim = SIMULATORS[self.simulator]
        for cell in self.cells():
            try:
                sim.call(1, np.random.default_rng(0), cell, 1, self.metrics)
            except ValueError as e:
                varying = {k: cell[k] for k in self.grid}
                raise ConfigError(f"cell {_fmt(varying)}: {e}") from None

    def canonical(self) -> dict:
        """The configuration as plain JSON data: what the store compares when resuming."""
        return {"simulator": self.simulator, "generations": self.generations, "trials": self.trials,
                "seed": self.seed, "metrics": list(self.metrics), "fixed": self.fixed, "grid": self.grid,
                "description": self.description}


def _fmt(settings: dict) -> str:
    return " ".join(f"{k}={v}" for k, v in settings.items())


# -- one cell -------------------------------------------------------------------------------------


def block_size(simulator: str, settings: dict, generations: int) -> int:
    """Trials per block for a cell: as many as fit BLOCK_MEMORY, at most numerics.rng.BLOCK."""
    per_trial = SIMULATORS[simulator].bytes_per_trial(settings, generations)
    return int(min(BLOCK, max(1, BLOCK_MEMORY // max(per_trial, 1))))


def cell_key(simulator: str, settings: dict) -> tuple[int, ...]:
    return stable_key("sweep", simulator, json.dumps(settings, sort_keys=True))


def run_blocks(simulator: str, settings: dict, generations: int, metrics: tuple, trials: int, entropy: int,
               first: int, count: int) -> list[dict]:
    """Simulate blocks ``first .. first + count - 1`` of a cell: one summary per block and metric.

    The unit of work of every backend (a plain function of plain arguments, so it pickles).
    """
    sim = SIMULATORS[simulator]
    ss = np.random.SeedSequence(entropy)
    out = []
    for block in blocks(trials, ss, key=cell_key(simulator, settings), first=first, count=count,
                        size=block_size(simulator, settings, generations)):
        res = sim.call(block.size, block.rng, settings, generations, metrics)
        summary = {}
        for m in metrics:
            metric = sim.metrics[m]
            values = metric.extract(res, settings)
            if metric.statistic == "ratio":
                acc = RatioMoments()
                acc.add(values, values[:, 0])
                summary[m] = acc
            else:
                summary[m] = MeanVar.of(values)
        out.append(summary)
    return out


@dataclass
class Task:
    cell: int
    block: int
    cost: float  # an estimate (bytes touched), for ordering only


def _tasks(config: Config, cells: list[dict], todo: list[int]) -> list[Task]:
    """One task per block of each unfinished cell; the costliest first (for load balance)."""
    sim = SIMULATORS[config.simulator]
    tasks = []
    for i in todo:
        size = block_size(config.simulator, cells[i], config.generations)
        per_trial = sim.bytes_per_trial(cells[i], config.generations) * config.generations
        for b in range(-(-config.trials // size)):
            tasks.append(Task(i, b, per_trial * (min(config.trials, (b + 1) * size) - b * size)))
    return sorted(tasks, key=lambda t: -t.cost)


# -- theory column ----------------------------------------------------------------------------


class Theory:
    """The claims' values along the generations, cached (cells often share them)."""

    def __init__(self) -> None:
        self.cache: dict = {}
        self.fns: dict = {}

    def curve(self, claim_id: str, values: dict, gen: str, generations: list[int]) -> tuple[list[float], str, float]:
        from theory import CLAIMS

        key = (claim_id, json.dumps(values, sort_keys=True), gen, tuple(generations))
        if key not in self.cache:
            claim = CLAIMS[claim_id]
            given = {k: v for k, v in values.items() if v is not None}
            curve = self._fast(claim, given, gen, generations)
            if curve is None:
                curve = claim.evaluate_along(gen, generations, **given)
            limit = float("nan")
            form = claim.form(**{k: v for k, v in given.items() if k in claim.choices})
            if form.limit is not None:
                import sympy as sp

                from theory import symbols as S

                subs = {getattr(S, k): v for k, v in given.items() if k not in claim.choices and hasattr(S, k)}
                lim = form.limit.subs(subs)
                limit = float(lim) if not lim.free_symbols and lim.is_finite else float("nan")
                if lim.is_infinite:
                    limit = float("inf") if lim == sp.oo else float("-inf")
            self.cache[key] = (curve, claim.kind, limit)
        return self.cache[key]

    #: Largest relative difference allowed between the float64 form and the 40-digit value.
    FAST_RTOL = 1e-9

    def _fast(self, claim, given: dict, gen: str, generations: list[int]) -> list[float] | None:
        """The curve from the claim's float64 (lambdify) form, where it has one and it is accurate.

        A closed form with a sum over the generations costs O(G) per point at 40 digits, O(G^2) per
        curve; its float64 form is much faster. It is used only when every value is finite and the
        value at the last generation agrees with the 40-digit evaluation to FAST_RTOL (this guards
        against overflow and cancellation); otherwise the curve is evaluated at 40 digits.
        """
        choices = {k: v for k, v in given.items() if k in claim.choices}
        fkey = (claim.id, json.dumps(choices, sort_keys=True))
        if fkey not in self.fns:
            try:
                self.fns[fkey] = claim.lambdify(**choices)
            except ValueError:  # a recursion, a vector or a numerically solved fixed point
                self.fns[fkey] = None
        fn = self.fns[fkey]
        if fn is None:
            return None
        numeric = {k: v for k, v in given.items() if k not in claim.choices}
        with np.errstate(all="ignore"):
            curve = [float(fn(**numeric, **{gen: g})) for g in generations]
        exact = claim.evaluate(**given, **{gen: generations[-1]})
        if not all(map(math.isfinite, curve)) or abs(curve[-1] - exact) > self.FAST_RTOL * abs(exact):
            return None
        return curve


def cell_table(config: Config, index: int, settings: dict, summaries: list[dict], theory: Theory):
    """The rows of one finished cell (a pandas DataFrame)."""
    import pandas as pd

    sim = SIMULATORS[config.simulator]
    G = config.generations + (1 - sim.first)  # columns: generations first .. config.generations
    generations = list(range(sim.first, sim.first + G))
    frames = []
    for m in config.metrics:
        acc = summaries[0][m]
        for s in summaries[1:]:
            acc = acc.merge(s[m])
        est, se = acc.estimate()
        claim, curve, kind, limit = "", [float("nan")] * G, "", float("nan")
        spec = sim.metrics[m].theory(settings)
        if spec is not None:
            claim, values, gen = spec
            curve, kind, limit = theory.curve(claim, values, gen, generations)
        frames.append(pd.DataFrame({
            "generation": generations, "metric": m, "statistic": sim.metrics[m].statistic,
            "estimate": np.asarray(est, dtype=float), "se": np.asarray(se, dtype=float), "trials": config.trials,
            "claim": claim, "theory": np.asarray(curve, dtype=float), "theory_kind": kind, "limit": limit,
        }))
    table = pd.concat(frames, ignore_index=True)
    columns = {"cell": index, **settings}
    for k, v in reversed(list(columns.items())):
        table.insert(0, k, [v] * len(table))
    return table


# -- backends -----------------------------------------------------------------------------------


class _Serial:
    """Tasks run in this process, one after another."""

    def results(self, calls: list[tuple]) -> Iterator[tuple[int, list]]:
        for i, args in enumerate(calls):
            yield i, run_blocks(*args)

    def close(self) -> None:
        pass


class _Processes:
    """Local worker processes (spawned, one BLAS thread each)."""

    def __init__(self, jobs: int):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        self.env = {k: os.environ.get(k) for k in THREAD_VARS}
        os.environ.update({k: "1" for k in THREAD_VARS})  # inherited by the workers as they spawn
        self.pool = ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"))

    def results(self, calls):
        from concurrent.futures import as_completed
        from concurrent.futures.process import BrokenProcessPool

        futures = {self.pool.submit(run_blocks, *args): i for i, args in enumerate(calls)}
        try:
            for f in as_completed(futures):
                yield futures[f], f.result()
        except BrokenProcessPool:
            raise RuntimeError(
                "a sweep worker process died (killed, out of memory, or it could not start: spawned workers "
                "re-import the main script, which fails for code read from stdin); the finished cells are "
                "kept: run again to resume, or use jobs=1 to run in this process") from None

    def close(self) -> None:
        self.pool.shutdown(cancel_futures=True)
        for k, v in self.env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


class _Dask:
    """A dask.distributed cluster: an existing scheduler, or a local cluster of worker processes."""

    def __init__(self, scheduler: str | None = None, workers: int | None = None):
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise ConfigError("the Dask backend needs dask.distributed: pip install 'model-collapse[dask]'") from None
        import dask

        self.cluster = None
        if scheduler:
            self.client = Client(scheduler, timeout="30s")
        else:
            # Dask's nanny sets MALLOC_TRIM_THRESHOLD_ in its workers, which turns off glibc's adaptive
            # mmap threshold: every array over 128 KiB is then a fresh mmap, page-faulted on first use
            # (measured: the Kazdan grid's largest cell took 38 s instead of 21 s, 29 s of it system
            # time). The workers started here keep glibc's default.
            with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
                self.cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                            dashboard_address=None, silence_logs=logging.ERROR)
            self.client = Client(self.cluster)

    def results(self, calls):
        from distributed import as_completed

        futures = {self.client.submit(run_blocks, *args, pure=False): i for i, args in enumerate(calls)}
        for f in as_completed(futures):
            yield futures[f], f.result()

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


#: Environment variables that set the thread count of NumPy's linear algebra.
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def backend(jobs: int | None = None, scheduler: str | None = None, workers: int | None = None):
    """Dask with ``scheduler`` or ``workers``; otherwise ``jobs`` local processes (1: in this process)."""
    if scheduler or workers:
        if workers is not None and workers < 1:
            raise ConfigError(f"--workers must be >= 1, got {workers}")
        return _Dask(scheduler, workers)
    jobs = (os.cpu_count() or 1) if jobs is None else jobs
    if jobs < 1:
        raise ConfigError(f"--jobs must be >= 1, got {jobs}")
    return _Serial() if jobs == 1 else _Processes(jobs)


# -- running a sweep ------------------------------------------------------------------------------


class Progress:
    """A one-line progress bar on stderr."""

    def __init__(self, total: float, cells: int, done: int, enabled: bool):
        self.total, self.cells, self.done_cells, self.enabled = total, cells, done, enabled
        self.work = 0.0
        self.start = time.monotonic()

    def update(self, work: float = 0.0, cells: int = 0) -> None:
        self.work += work
        self.done_cells += cells
        if not self.enabled:
            return
        frac = self.work / self.total if self.total else 1.0
        elapsed = time.monotonic() - self.start
        eta = f", {elapsed / frac - elapsed:.0f} s left" if 0 < frac < 1 else ""
        bar = "#" * int(30 * frac) + "." * (30 - int(30 * frac))
        print(f"\r[{bar}] {self.done_cells}/{self.cells} cells, {elapsed:.0f} s{eta}   ", end="", file=sys.stderr,
              flush=True)

    def close(self) -> None:
        if self.enabled:
            print(file=sys.stderr)


def default_output(config: Config) -> Path:
    stem = Path(config.source).stem if config.source else config.simulator
    return Path("results") / f"{stem}.parquet"


def run_sweep(config: Config, output: str | os.PathLike | None = None, *, jobs: int | None = None,
              scheduler: str | None = None, workers: int | None = None, progress: bool | None = None,
              overwrite: bool = False):
    """Run (or resume) a sweep into its results store; return the table as a pandas DataFrame."""
    store = Store(output or default_output(config))
    meta, done = store.begin(config.canonical(), overwrite=overwrite)
    cells = config.cells()
    if store.complete():
        table = store.read()
        table.attrs["cells_run"] = 0
        return table
    if "entropy" not in meta:
        meta.update(entropy=int(seed_sequence(config.seed).entropy), versions=versions(), git=git_revision(),
                    started=time.strftime("%Y-%m-%dT%H:%M:%S%z"), simulator_doc=SIMULATORS[config.simulator].doc)
        store.start(meta)
    entropy = meta["entropy"]
    if done:
        meta["resumed"] = len(done)
        now = {"git": git_revision(), "versions": versions()}
        changed = [k for k in now if now[k] != meta.get(k)]
        if changed:  # the cells already done came from other code; say so, and keep both records
            print(f"warning: resuming a sweep started with a different {' and '.join(changed)} "
                  f"({', '.join(str(meta.get(k)) for k in changed)}); its {len(done)} finished cells are kept",
                  file=sys.stderr)
            meta["resumed_with"] = now
    todo = [i for i in range(len(cells)) if i not in done]
    tasks = _tasks(config, cells, todo)
    per_cell: dict[int, list[Task]] = {}
    for t in tasks:
        per_cell.setdefault(t.cell, []).append(t)
    progress = sys.stderr.isatty() if progress is None else progress
    bar = Progress(sum(t.cost for t in tasks), len(cells), len(done), progress)
    bar.update()
    theory = Theory()
    pending: dict[int, dict[int, dict]] = {i: {} for i in per_cell}
    start = time.monotonic()
    runner = backend(jobs, scheduler, workers) if tasks else _Serial()
    try:
        calls = [(config.simulator, cells[t.cell], config.generations, config.metrics, config.trials, entropy,
                  t.block, 1) for t in tasks]
        for k, summaries in runner.results(calls):
            t = tasks[k]
            pending[t.cell][t.block] = summaries[0]
            cell_done = len(pending[t.cell]) == len(per_cell[t.cell])
            if cell_done:  # merge the block summaries in block order, whatever order they came in
                parts = pending.pop(t.cell)
                ordered = [parts[b] for b in sorted(parts)]
                store.write_cell(t.cell, cell_table(config, t.cell, cells[t.cell], ordered, theory))
            bar.update(t.cost, int(cell_done))
    finally:
        runner.close()
        bar.close()
    meta["seconds"] = round(time.monotonic() - start, 3)
    table = store.finish(meta, len(cells))
    table.attrs["cells_run"] = len(todo)
    return table


def settings_columns(table) -> list[str]:
    """The cell-setting columns of a results table: those before ``generation``, except ``cell``."""
    cols = list(table.columns)
    return [c for c in cols[: cols.index("generation")] if c != "cell"]


def read_results(path: str | os.PathLike):
    """A finished sweep's table as a pandas DataFrame (its sidecar in ``.attrs['metadata']``)."""
    return Store(path).read()
