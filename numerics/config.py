"""A sweep's configuration: a TOML file naming a simulator of the catalog, a grid of its settings, the
generations, trials, seed and metrics. Every key is checked before anything runs, with messages that
name the key, through the catalog's one checking path (numerics.catalog.Setting); each cell is then
tried on one trial, so that settings that only fail together (T < d + 2) fail now, named by cell.

    simulator = "gaussian"             # a simulator of the catalog (collapse sweep --list)
    generations = 100                  # generations simulated (every one is recorded)
    trials = 100                       # independent chains per cell
    seed = 0                           # optional: without it, fresh entropy (saved for resuming)
    metrics = ["mean_sq_error", "trace_ratio", "det_ratio"]

    [fixed]                            # settings shared by every cell
    estimator = "mle"

    [grid]                             # every combination is one cell, in this order (the last fastest)
    d = [1, 3, 10]
    n = [10, 100]
    workflow = ["replace", "accumulate", "last3", {take = [{from = "fresh", share = 0.1}, {from = "latest"}], batch = "rest"}]

    [workflows.last3]                  # a declared workflow, named here (docs/workflows.md; theory.workflows)
    take = [{from = "window", window = 3}]

A ``workflow`` value is a named workflow, the name of a ``[workflows.NAME]`` table, or an inline table;
declared ones are checked here (errors name the table and field) and reach the cells as their canonical
text (numerics.workflows.canonical), so the results store and the random numbers see what a workflow
does, not what it is called.
"""

from __future__ import annotations

import itertools
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from theory.errors import UserError

from . import catalog
from .catalog import SettingError

TOP_KEYS = {"simulator", "generations", "trials", "seed", "metrics", "fixed", "grid", "description", "report", "figure",
            "demo", "workflows"}
#: The presentation tables (not part of what a results store compares when resuming): how `collapse report`
#: shows the results, the figure `collapse plot --shipped` draws, and the small version `collapse report
#: --demo` runs.
REPORT_KEYS = {"title", "order", "metrics", "hue", "facet", "where", "before", "skip"}
FIGURE_KEYS = {"metrics", "hue", "facet", "where"}
DEMO_KEYS = {"title", "description", "generations", "trials", "seed", "metrics", "fixed", "grid", "report"}
#: Most generations and cells a sweep may have (a larger one is almost surely a typo).
MAX_GENERATIONS = 10**6
MAX_CELLS = 100_000


class ConfigError(UserError, ValueError):
    """A sweep configuration that cannot be run; the message names the key."""


def _integer(key: str, value, low: int, high: int | None = None) -> int:
    if (isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)
            or int(value) != value):  # TOML's nan and inf are floats; int() of them raises
        raise ConfigError(f"{key} must be an integer, got {value!r}")
    value = int(value)
    if value < low:
        raise ConfigError(f"{key} must be >= {low}, got {value}")
    if high is not None and value > high:
        raise ConfigError(f"{key} must be at most {high:.0e}, got {value:.3g}")
    return value


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
    report: dict = field(default_factory=dict)
    figure: dict | None = None
    demo: dict | None = None
    #: The [workflows] tables as written (name -> table): what the [demo] table's values may name.
    workflows: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The configuration's name: its file's stem (the default results store is results/NAME.parquet)."""
        return Path(self.source).stem if self.source else self.simulator

    @classmethod
    def from_toml(cls, path: str | os.PathLike) -> Config:
        """A configuration from a TOML file, or by the name of a shipped one (:func:`shipped`)."""
        if not os.path.exists(path) and not str(path).endswith(".toml"):
            found = shipped()
            if str(path) in found:
                path = found[str(path)]
            else:
                raise ConfigError(f"{path}: no such file, nor a shipped configuration (collapse sweep --configs lists "
                                  f"them: {', '.join(found)})")
        try:
            import tomllib
        except ModuleNotFoundError:  # Python 3.10
            import tomli as tomllib
        try:
            with open(path, "rb") as f:
                data = tomllib.load(f)
        except FileNotFoundError:
            raise ConfigError(f"{path}: no such file") from None
        except IsADirectoryError:
            raise ConfigError(f"{path}: is a folder, not a configuration file") from None
        except PermissionError:
            raise ConfigError(f"{path}: permission denied") from None
        except UnicodeDecodeError:
            raise ConfigError(f"{path}: not valid TOML (not UTF-8 text)") from None
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{path}: not valid TOML ({e})") from None
        try:
            return cls.from_dict(data, source=str(path))
        except ConfigError as e:
            raise ConfigError(f"{path}: {e}") from None

    @classmethod
    def from_dict(cls, data: dict, source: str = "") -> Config:
        if not isinstance(data, dict):
            raise ConfigError("a configuration is a table of keys")
        unknown = set(data) - TOP_KEYS
        if unknown:
            raise ConfigError(f"unknown key {sorted(unknown)[0]!r} (known: {', '.join(sorted(TOP_KEYS))})")
        for key in ("simulator", "generations", "trials", "metrics"):
            if key not in data:
                raise ConfigError(f"missing key {key!r}")
        name = data["simulator"]
        try:
            sim = catalog.get(name) if isinstance(name, str) else catalog.get(repr(name))
        except SettingError as e:
            raise ConfigError(str(e)) from None
        G = _integer("generations", data["generations"], 1, MAX_GENERATIONS)
        trials = data["trials"]
        if (isinstance(trials, (int, float)) and not isinstance(trials, bool) and math.isfinite(trials)
                and int(trials) == trials and trials < 2):
            raise ConfigError(f"trials must be >= 2 (a standard error needs two), got {int(trials)}")
        from .execute import MAX_TRIALS

        trials = _integer("trials", trials, 2, MAX_TRIALS)
        seed = data.get("seed")
        if seed is not None:
            if isinstance(seed, int) and not isinstance(seed, bool) and seed < 0:
                raise ConfigError(f"seed must be a non-negative integer, got {seed}")
            seed = _integer("seed", seed, 0)
        metrics = data["metrics"]
        if isinstance(metrics, str):
            metrics = [metrics]
        if not isinstance(metrics, list) or not metrics:
            raise ConfigError("metrics must be a non-empty list of names")
        for m in metrics:
            if m not in sim.metrics:
                raise ConfigError(f"metrics: {m!r} is not a metric of simulator {sim.name!r} "
                                  f"(its metrics: {', '.join(sim.metrics)})")
        if len(set(metrics)) != len(metrics):
            raise ConfigError("metrics repeats a name")
        fixed, grid = data.get("fixed", {}), data.get("grid", {})
        for table, key in ((fixed, "fixed"), (grid, "grid")):
            if not isinstance(table, dict):
                raise ConfigError(f"{key} must be a table of settings")
        if "grid" in data and not grid:
            raise ConfigError("[grid] is empty: give each setting to vary a list of values, or leave [grid] "
                              "out for a single cell")
        both = set(fixed) & set(grid)
        if both:
            raise ConfigError(f"{sorted(both)[0]!r} is in both [fixed] and [grid]")
        for key, table in (("fixed", fixed), ("grid", grid)):
            for k in table:
                if k not in sim.settings:
                    raise ConfigError(f"{key}.{k}: simulator {sim.name!r} has no setting {k!r} "
                                      f"(its settings: {', '.join(sim.settings)})")
        workflows = data.get("workflows", {})
        fixed, grid = _named_workflows(workflows, fixed, grid, sim)
        try:
            fixed = {k: sim.settings[k].check(f"fixed.{k}", v) for k, v in fixed.items()}
            checked = {}
            for k, values in grid.items():
                if not isinstance(values, list) or not values:
                    raise ConfigError(f"grid.{k} must be a non-empty list of values")
                checked[k] = [sim.settings[k].check(f"grid.{k}", v) for v in values]
                if len(set(map(repr, checked[k]))) != len(values):
                    raise ConfigError(f"grid.{k} repeats a value")
            sim.resolve({**fixed, **{k: v[0] for k, v in checked.items()}})  # required settings present
        except SettingError as e:
            raise ConfigError(str(e)) from None
        cells = int(np.prod([len(v) for v in checked.values()])) if checked else 1
        if cells > MAX_CELLS:
            raise ConfigError(f"the grid has {cells:,} cells; at most {MAX_CELLS:,} are allowed")
        description = data.get("description", "")
        if not isinstance(description, str):
            raise ConfigError("description must be text")
        report = _table(data, "report", REPORT_KEYS, sim) or {}
        figure = _table(data, "figure", FIGURE_KEYS, sim)
        demo = _table(data, "demo", DEMO_KEYS, None)
        config = cls(sim.name, G, trials, seed, tuple(metrics), fixed, checked, description, source, report, figure, demo,
                     dict(workflows))
        if demo is not None:
            try:
                config.demo_config()
            except ConfigError as e:
                raise ConfigError(f"[demo]: {e}") from None
        return config

    def demo_config(self) -> Config:
        """The small version of this sweep that `collapse report --demo` runs (its [demo] table replaces the
        keys it gives; its ``fixed`` settings are added, and leave the grid)."""
        if self.demo is None:
            raise ConfigError(f"{self.name} has no [demo] table")
        data = self.canonical()
        demo_fixed = self.demo.get("fixed", {})
        for key in ("description", "generations", "trials", "seed", "metrics", "grid"):
            if key in self.demo:
                data[key] = self.demo[key]
        data["grid"] = {k: v for k, v in data["grid"].items() if k not in demo_fixed}
        data["fixed"] = {k: v for k, v in {**data["fixed"], **demo_fixed}.items() if k not in data["grid"]}
        if not data["grid"]:
            del data["grid"]
        report = {k: v for k, v in {**self.report, **self.demo.get("report", {})}.items() if k != "skip"}
        if "where" in report:  # the full sweep's filter, kept only for the values the demo still runs
            where = {}
            for k, values in report["where"].items():
                ran = data.get("grid", {}).get(k, [data["fixed"][k]] if k in data["fixed"] else None)
                kept = values if ran is None else [v for v in values if v in ran]
                if kept:
                    where[k] = kept
            report["where"] = where
        report["title"] = self.demo.get("title", self.report.get("title", self.name))
        data["report"] = report
        if self.workflows:
            data["workflows"] = self.workflows
        return Config.from_dict(data)

    @property
    def sim(self) -> catalog.Simulator:
        return catalog.get(self.simulator)

    def cells(self) -> list[dict]:
        """Every cell's complete settings (defaults filled in), in grid order (the last key fastest)."""
        return [self.sim.resolve(given) for given in self._given()]

    def _given(self) -> list[dict]:
        keys = list(self.grid)
        return [{**self.fixed, **dict(zip(keys, combo))} for combo in itertools.product(*self.grid.values())]

    def check_cells(self) -> None:
        """Check each cell's settings together, and run its simulator for one trial and one generation: bad
        settings fail now, named by cell. Settings that declare a ``probe`` value (training budgets) run
        at it: the same code on the same shapes, in a fraction of the time. A sweep does this after sizing
        the run (numerics.sweep.run_sweep), so that a grid or a cell too large to run is refused before any
        of it runs."""
        sim = self.sim
        probes = {k: s.probe for k, s in sim.settings.items() if s.probe is not None}
        for given in self._given():
            try:
                sim.resolve(given)  # the cell as it will run, checked whole
                sim.call(1, np.random.default_rng(0), sim.resolve({**given, **probes}), 1, self.metrics)
            except (ValueError, ArithmeticError) as e:
                varying = " ".join(f"{k}={given[k]}" for k in self.grid)
                raise ConfigError(f"cell {varying or '(the only one)'}: {e}") from None

    def canonical(self) -> dict:
        """The configuration as plain JSON data: what the store compares when resuming."""
        plain = lambda v: list(v) if isinstance(v, tuple) else v  # noqa: E731
        return {"simulator": self.simulator, "generations": self.generations, "trials": self.trials,
                "seed": self.seed, "metrics": list(self.metrics), "fixed": {k: plain(v) for k, v in self.fixed.items()},
                "grid": {k: [plain(v) for v in vs] for k, vs in self.grid.items()}, "description": self.description}


def _named_workflows(workflows, fixed: dict, grid: dict, sim) -> tuple[dict, dict]:
    """``fixed`` and ``grid`` with each ``workflow`` value that names a ``[workflows.NAME]`` table replaced by
    that table (checked: ConfigError naming the table and field). Inline tables pass on to the setting's
    check (numerics.workflows.workflow_value), which names ``fixed.workflow`` or ``grid.workflow``."""
    if not isinstance(workflows, dict):
        raise ConfigError("[workflows] must be a table of workflow tables ([workflows.NAME])")
    if not workflows:
        return fixed, grid
    if "workflow" not in sim.settings:
        raise ConfigError(f"[workflows]: simulator {sim.name!r} has no workflow setting")
    from theory.workflows import NAMED, WorkflowError, workflow_spec

    specs = {}
    for name, table in workflows.items():
        if name in NAMED:
            raise ConfigError(f"workflows.{name}: {name!r} is a named workflow already; call the table otherwise")
        if not isinstance(table, dict):
            raise ConfigError(f"workflows.{name} must be a table such as {{take = [{{from = 'latest'}}]}}")
        try:
            specs[name] = workflow_spec(table, name=name)
        except WorkflowError as e:
            raise ConfigError(f"workflows.{name}: {str(e).removeprefix(f'workflow {name}: ')}") from None
    named = lambda v: specs.get(v, v) if isinstance(v, str) else v  # noqa: E731
    fixed = {**fixed, "workflow": named(fixed["workflow"])} if "workflow" in fixed else fixed
    if "workflow" in grid and isinstance(grid["workflow"], list):
        grid = {**grid, "workflow": [named(v) for v in grid["workflow"]]}
    return fixed, grid


def _table(data: dict, key: str, allowed: set, sim) -> dict | None:
    """A presentation table ([report], [figure], [demo]) checked: its keys, and the metrics it names."""
    if key not in data:
        return None
    table = data[key]
    if not isinstance(table, dict):
        raise ConfigError(f"[{key}] must be a table")
    unknown = set(table) - allowed
    if unknown:
        raise ConfigError(f"{key}.{sorted(unknown)[0]}: not a key of [{key}] (its keys: {', '.join(sorted(allowed))})")
    if sim is not None:
        for m in table.get("metrics", []):
            if m not in sim.metrics:
                raise ConfigError(f"{key}.metrics: {m!r} is not a metric of simulator {sim.name!r}")
        for k in ("hue", "facet"):
            if k in table and (not isinstance(table[k], str) or table[k] not in sim.settings):
                raise ConfigError(f"{key}.{k} must name a setting of simulator {sim.name!r}, got {table[k]!r}")
        where = table.get("where", {})
        if not isinstance(where, dict) or any(k not in sim.settings or not isinstance(v, list) for k, v in where.items()):
            raise ConfigError(f"{key}.where must map settings to lists of values, got {where!r}")
    return dict(table)


def shipped() -> dict[str, Path]:
    """Every configuration of every installed package (the ``collapse.configs`` entry points: packages whose
    folder holds TOML files), by name, in the order of their [report] tables' ``order`` (then name)."""
    import importlib.resources

    from theory import plugins

    found: dict[str, tuple] = {}
    for entry in plugins.entries("collapse.configs"):
        module = plugins.load(entry)
        folder = Path(str(importlib.resources.files(module)))
        for path in sorted(folder.glob("*.toml")):
            if path.stem in found:
                raise ConfigError(f"two shipped configurations are called {path.stem!r}: {found[path.stem][1]} and {path}")
            try:
                order = tables(path).get("report", {}).get("order", 10**6)
            except (ConfigError, AttributeError):
                order = 10**6
            found[path.stem] = (order if isinstance(order, (int, float)) else 10**6, path)
    return {name: path for name, (order, path) in sorted(found.items(), key=lambda kv: (kv[1][0], kv[0]))}


def tables(path: str | os.PathLike) -> dict:
    """A configuration file's top-level keys as written, unchecked (what the report and listings read:
    presentation tables and the description, without importing a simulator or touching data)."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    try:
        data = tomllib.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"{path}: cannot be read ({type(e).__name__}: {e})") from None
    return data if isinstance(data, dict) else {}
