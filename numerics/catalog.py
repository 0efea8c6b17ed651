"""One catalog of simulators: each declared once, read by `verify`, `check`, `sweep` and `report` alike.

A :class:`Simulator` declares

* its settings: one schema dataclass (numerics.schema), checked in one place with messages that name
  the setting;
* its metrics (:class:`Metric`: which recorded output it reads, how it is transformed, whether its
  statistic is a mean, a variance or a ratio to the first generation);
* the quantities its metrics measure (:class:`Produces`: a theory.quantities id, the metric, and how
  the settings map to the quantity's coordinates, :class:`Bind`). This is the join: `collapse verify`
  pairs each check of each claim (theory.checks) with every simulator that measures the claim's
  quantity at the check's point, and a sweep's theory column is the claim of the quantity each metric
  measures at the cell's settings. A simulator never names a claim;
* its memory and work per trial (which fix the block size, refuse a run before it starts and give
  its time estimate);
* an importable name for the function that runs it (``"module:function"``), so that a simulator
  registered by another package runs in spawned processes and on Dask workers: the worker imports the
  module, which registers it.

The simulators are found through the ``collapse.simulators`` entry points of every installed package
(theory.plugins): this toolkit's numpy families, its deep layer (where torch is installed) and any
researcher's. :func:`get` finds one by name, loading the providers on first use.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .rng import stable_key
from .schema import REQUIRED, Setting, SettingError, Settings  # noqa: F401  (re-exported)

#: Memory a block of trials may take. A constant, not a property of the machine: the block size, and
#: so the random numbers, must be the same everywhere.
BLOCK_MEMORY = 256 * 2**20
#: Most trials in a block (the unit of randomness and of vectorised work).
MAX_BLOCK = 4096
#: Packages whose absence makes a provider optional (its simulators are left out, with the reason).
OPTIONAL = ("torch", "sklearn")
#: The statistics a metric can have (see :class:`Metric`).
STATISTICS = ("mean", "variance", "ratio")


class NotCovered(Exception):
    """A simulator's metric does not measure a quantity at a given point (not an error: another may)."""


@dataclass(frozen=True)
class Bind:
    """A coordinate of a quantity and the setting it comes from.

    By default the coordinate is the setting of the same name. ``to_coordinate`` / ``to_setting``
    convert between the two (``sigma2 = sigma ** 2``); ``const`` fixes the coordinate whatever the
    settings (the bridge models are maximum-likelihood fits: ``estimator = "mle"``); ``derive`` computes
    it from all the settings (a symbol's probability under the truth), with ``invert`` giving settings
    that realise a value of it.
    """

    coordinate: str
    setting: str | None = None
    to_coordinate: Callable[[Any], Any] | None = None
    to_setting: Callable[[Any], Any] | None = None
    const: Any = None
    derive: Callable[[dict], Any] | None = None
    invert: Callable[[Any], dict] | None = None

    @property
    def name(self) -> str:
        return self.setting or self.coordinate

    def value(self, settings: Mapping[str, Any]) -> Any:
        """The coordinate at these settings (None where the setting is unset)."""
        if self.const is not None:
            return self.const
        if self.derive is not None:
            return self.derive(dict(settings))
        v = settings.get(self.name)
        if v is None:
            return None
        return self.to_coordinate(v) if self.to_coordinate is not None else (list(v) if isinstance(v, tuple) else v)

    def settings_for(self, value: Any) -> dict:
        """Settings that give the coordinate this value; :class:`NotCovered` where none can."""
        if self.const is not None:
            if not same_value(value, self.const):
                raise NotCovered(f"{self.coordinate} is {self.const!r} here, not {value!r}")
            return {}
        if self.derive is not None:
            if self.invert is None:
                raise NotCovered(f"{self.coordinate} cannot be set directly here")
            return dict(self.invert(value))
        return {self.name: self.to_setting(value) if self.to_setting is not None else value}


def same_value(a: Any, b: Any) -> bool:
    if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):
        return isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)) and len(a) == len(b) and \
            all(same_value(x, y) for x, y in zip(a, b))
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool) and not isinstance(b, bool):
        return float(a) == float(b)
    return a == b


@dataclass(frozen=True)
class Metric:
    """A metric of a simulator: the recorded ``output`` it reads (optionally transformed with the cell's
    config), and its ``statistic``: "mean", "variance" (of the per-trial values), or "ratio" (the mean
    at generation k over the mean at the first generation, or over ``reference``'s per-trial values)."""

    doc: str
    output: str
    transform: Callable[[Any, Any], Any] | None = None
    statistic: str = "mean"
    reference: Callable[[Any, Any], Any] | None = None
    #: Fewest trials at which the statistic's standard error is calibrated (below it, verify rows are 'skip').
    min_trials: int = 2
    min_trials_why: str = ""
    #: Whether a trial's value may be NaN or infinite (else such a value stops the run, naming the cell,
    #: generation and metric: numerics.execute.run_blocks).
    nonfinite: bool = False

    def __post_init__(self) -> None:
        if self.statistic not in STATISTICS:
            raise ValueError(f"statistic must be one of {', '.join(STATISTICS)}; got {self.statistic!r}")

    def values(self, outputs: dict, config):
        v = outputs[self.output]
        return self.transform(v, config) if self.transform is not None else v

    def ref(self, outputs: dict, config, values):
        """The reference column of ratios: ``reference(output, config)``, or the first column."""
        if self.reference is None:
            return values[:, 0]
        return self.reference(outputs[self.output], config)


@dataclass(frozen=True)
class Produces:
    """A metric that measures a quantity (theory.quantities), and under which settings.

    ``binds``: the quantity's coordinates from the settings (the generation coordinate is the
    simulator's generation axis). ``when``: settings that must take the given value (a tuple: one of
    those values) for the metric to measure the quantity; ``applies_if``: a further condition. Outside
    them the simulator does not cover a point, which is not an error. ``verify``: settings a check
    adds besides its point (e.g. which truth to simulate where the quantity does not depend on it).
    ``share``: the fraction of a check's trials this simulator runs (a costly one); ``max_generation``:
    the last generation it measures reliably; ``label``: shown after the simulator's name (the model
    of a bridge); ``note``: shown with its rows.
    """

    quantity: str
    metric: str
    binds: tuple[Bind, ...] = ()
    when: Mapping[str, Any] = field(default_factory=dict)
    applies_if: Callable[[dict], bool] | None = None
    verify: Mapping[str, Any] = field(default_factory=dict)
    share: float = 1.0
    max_generation: int | None = None
    label: str = ""
    note: str = ""

    def applies(self, settings: Mapping[str, Any]) -> bool:
        for k, v in self.when.items():
            allowed = v if isinstance(v, tuple) else (v,)
            if not any(same_value(settings.get(k), a) for a in allowed):
                return False
        return self.applies_if is None or bool(self.applies_if(dict(settings)))

    def coordinates(self, settings: Mapping[str, Any]) -> dict:
        """The quantity's coordinates (but the generation) at a cell's settings; None values left out."""
        out = {}
        for b in self.binds:
            v = b.value(settings)
            if v is not None:
                out[b.coordinate] = v
        return out

    def settings_for(self, point: Mapping[str, Any]) -> dict:
        """Settings (unchecked) at which the metric measures the quantity at ``point`` (coordinates, but the
        generation); :class:`NotCovered` if none do."""
        by_coordinate = {b.coordinate: b for b in self.binds}
        out = {k: v for k, v in self.verify.items()}
        out.update({k: v for k, v in self.when.items() if not isinstance(v, tuple)})
        for name, value in point.items():
            if value is None:
                continue
            if name not in by_coordinate:
                raise NotCovered(f"{name} is not set by this simulator")
            out.update(by_coordinate[name].settings_for(value))
        for k, v in self.when.items():  # a value the metric does not measure the quantity at
            allowed = v if isinstance(v, tuple) else (v,)
            if k in out and not any(same_value(out[k], a) for a in allowed):
                raise NotCovered(f"it measures {self.quantity} only at {k} = {' or '.join(map(str, allowed))}")
        return out


@dataclass(frozen=True)
class Simulator:
    """A simulator of the catalog (see the module docstring).

    ``target`` is "module:function"; the function takes (trials, rng, config, generations) and returns
    {output: (trials, G') arrays}, G' = G + 1 - first (``first = 0`` adds a generation-0 column).
    ``outputs``: the function takes ``outputs=...`` and records only what the metrics need.
    ``memory(config, G)`` and ``work(config, G)``: bytes per trial, and seconds per trial on one idle core
    (calibrated against measured runs: the time estimate printed before a run); ``block_seconds(config, G)``
    the fixed cost of a block of trials.
    """

    name: str
    target: str
    doc: str
    schema: type[Settings]
    metrics: Mapping[str, Metric]
    memory: Callable[[Any, int], float]
    produces: tuple[Produces, ...] = ()
    work: Callable[[Any, int], float] | None = None
    block_seconds: Callable[[Any, int], float] = lambda config, G: 0.0
    first: int = 1
    outputs: bool = False
    #: The function takes ``checkpoint=PATH`` and saves (and resumes from) its chain after each generation
    #: there: long runs (the deep layer's). Sweeps give each block a path in the store.
    checkpoints: bool = False
    #: The function takes ``artifacts=FOLDER`` and draws figures of its run there (sample grids): sweeps
    #: give the first block of each cell a folder beside the store (RESULTS.artifacts/), for the report.
    artifacts: bool = False
    provider: str = ""  # the module that registered it (set by register)

    def __post_init__(self) -> None:
        for p in self.produces:
            if p.metric not in self.metrics:
                raise ValueError(f"simulator {self.name}: a quantity is produced by metric {p.metric!r}, which it does "
                                 f"not have")
            unknown = [k for k in (*p.when, *p.verify, *(b.name for b in p.binds if b.const is None and b.derive is None))
                       if k not in self.settings]
            if unknown:
                raise ValueError(f"simulator {self.name}: {p.quantity} names {unknown[0]!r}, not one of its settings")

    @property
    def settings(self) -> dict[str, Setting]:
        return self.schema.SETTINGS

    # -- settings ---------------------------------------------------------------------------------
    def resolve(self, given: Mapping[str, Any], prefix: str = "") -> dict:
        """Every setting of a cell: the given ones checked (errors name ``prefix + name``), defaults
        filled in, in the declared order."""
        return self.schema.build(given, prefix, owner=f"simulator {self.name!r}").as_dict()

    def config(self, settings: Mapping[str, Any]):
        """The typed config of resolved settings."""
        return self.schema.build(settings, owner=f"simulator {self.name!r}")

    def key(self, settings: Mapping[str, Any]) -> tuple[int, ...]:
        """The stream key of a cell: the simulator and the settings that differ from their defaults
        (so that adding a setting with a default leaves the random numbers of existing cells alone)."""
        own = {k: (list(v) if isinstance(v, tuple) else v) for k, v in settings.items()
               if self.settings[k].affects_draws
               and not (self.settings[k].default is not REQUIRED and v == self.settings[k].default)}
        return stable_key("cell", self.name, json.dumps(own, sort_keys=True))

    def block_size(self, settings: Mapping[str, Any], generations: int) -> int:
        """Trials per block for a cell: as many as fit BLOCK_MEMORY, at most MAX_BLOCK."""
        per_trial = self.memory(self.config(settings), generations)
        return int(min(MAX_BLOCK, max(1, BLOCK_MEMORY // max(per_trial, 1))))

    # -- running ----------------------------------------------------------------------------------
    def function(self) -> Callable[..., dict]:
        module, _, name = self.target.partition(":")
        return getattr(importlib.import_module(module), name)

    def needed(self, metrics) -> list[str]:
        return sorted({self.metrics[m].output for m in metrics})

    def call(self, trials: int, rng, settings: Mapping[str, Any], generations: int, metrics=(), checkpoint=None,
             artifacts=None) -> dict:
        """Run the simulator's function on a cell's settings."""
        extra = {"outputs": self.needed(metrics)} if self.outputs else {}
        if self.checkpoints and checkpoint is not None:
            extra["checkpoint"] = str(checkpoint)
        if self.artifacts and artifacts is not None:
            extra["artifacts"] = str(artifacts)
        return self.function()(trials, rng, self.config(settings), generations, **extra)

    def producing(self, quantity: str) -> list[Produces]:
        return [p for p in self.produces if p.quantity == quantity]

    def label(self, produces: Produces | None) -> str:
        return f"{self.name}[{produces.label}]" if produces is not None and produces.label else self.name

    def describe(self) -> str:
        lines = [f"{self.name}: {self.doc}", "  settings:"]
        lines += [f"    {k:<16} {s.describe()}" for k, s in self.settings.items()]
        lines.append("  metrics:")
        for k, m in self.metrics.items():
            stat = {"ratio": " [ratio to the first generation]", "variance": " [variance over trials]"}.get(m.statistic, "")
            measures = sorted({p.quantity for p in self.produces if p.metric == k})
            lines.append(f"    {k:<16} {m.doc}{stat}" + (f"; measures {', '.join(measures)}" if measures else ""))
        differ = theory_defaults(self)
        if differ:
            lines.append("  defaults that differ from the theory's:")
            lines += [f"    {line}" for line in differ]
        return "\n".join(lines)


def theory_defaults(sim: Simulator) -> list[str]:
    """Where a setting's default differs from the default of the claims' choice it binds to (the Gaussian
    estimator: mle here, as in Kazdan et al.'s code; unbiased in Shumailov et al.'s claims), one line each."""
    from theory import CLAIMS

    out = {}
    for p in sim.produces:
        for b in p.binds:
            if b.const is not None or b.derive is not None or b.to_setting is not None:
                continue
            default = sim.settings[b.name].default
            for claim in CLAIMS.predicting(p.quantity):
                theirs = claim.defaults.get(b.coordinate)
                if theirs is not None and default not in (None, REQUIRED) and theirs != default:
                    out.setdefault(b.name, (default, set()))[1].add((theirs, claim.id.split(".")[0]))
    return [f"{name}: {default} here; the {', '.join(sorted(f'{fam}.* claims default to {v}' for v, fam in theirs))}"
            for name, (default, theirs) in out.items()]


CATALOG: dict[str, Simulator] = {}
#: Providers left out, and why (a missing optional package).
UNAVAILABLE: dict[str, str] = {}
_LOADED = False


def register(sim: Simulator, provider: str = "") -> Simulator:
    """Add a simulator to the catalog (``provider``: the importable module that registers it)."""
    if sim.name in CATALOG and CATALOG[sim.name].target != sim.target:
        raise ValueError(f"simulator {sim.name!r} registered twice")
    object.__setattr__(sim, "provider", provider or sim.target.partition(":")[0])
    CATALOG[sim.name] = sim
    return sim


def _providers():
    """Import the providers of the ``collapse.simulators`` entry points one by one (those that need a missing
    optional package, torch, are left out and listed in UNAVAILABLE), yielding after each."""
    from theory import plugins

    found = plugins.entries("collapse.simulators")
    if not any(e.own for e in found):
        raise plugins.PluginError("the toolkit's own simulators are not registered (no 'collapse.simulators' "
                                  f"entry points of {plugins.DISTRIBUTION}): install the package, e.g. "
                                  "pip install -e .")
    for entry in found:
        if entry.module not in UNAVAILABLE and plugins.load(entry, optional=OPTIONAL) is None:
            UNAVAILABLE[entry.module] = "pip install torch==2.13.0, then pip install -e '.[deep]'"
        yield


def load() -> dict[str, Simulator]:
    """Import every provider and return the catalog."""
    global _LOADED
    if not _LOADED:
        for _ in _providers():
            pass
        _LOADED = True
        # In entry-point order whatever was imported first (a process that imported a deep module before
        # loading would otherwise list its simulators first), each provider's in registration order.
        from theory import plugins

        order = {e.module: i for i, e in enumerate(plugins.entries("collapse.simulators"))}
        ranked = sorted(enumerate(CATALOG.values()), key=lambda p: (order.get(p[1].provider, len(order)), p[0]))
        CATALOG.clear()
        CATALOG.update((sim.name, sim) for _, sim in ranked)
    return CATALOG


def get(name: str) -> Simulator:
    """The simulator called ``name``, importing providers in order until one registers it (so a numpy
    simulator's process never imports torch); SettingError otherwise."""
    if name not in CATALOG and not _LOADED:
        for _ in _providers():
            if name in CATALOG:
                break
        else:
            load()
    if name not in CATALOG:
        hint = f" (the deep-learning simulators need torch: {UNAVAILABLE[next(iter(UNAVAILABLE))]})" if UNAVAILABLE else ""
        raise SettingError(f"simulator must be one of {', '.join(CATALOG)}; got {name!r}{hint}")
    return CATALOG[name]


def producers(quantity: str) -> list[tuple[Simulator, Produces]]:
    """Every (simulator, production) that measures ``quantity``, in catalog order."""
    load()
    return [(sim, p) for sim in CATALOG.values() for p in sim.producing(quantity)]
