"""One catalog of simulators: each declared once, and read by `verify`, `check` and `sweep` alike.

A :class:`Simulator` declares

* its settings (:class:`Setting`: kind, default, domain, doc), checked in one place with messages that
  name the setting;
* its metrics (:class:`Metric`: which recorded quantity, how it is transformed, whether it is a mean, a
  variance or a ratio to the first generation), and for each metric the claims that predict it
  (:class:`Link`: which settings the claim's parameters come from, when the claim applies, and how
  `collapse verify` checks it, :class:`Check`);
* its memory per trial (which fixes the block size, and lets a run be refused before it starts) and
  its work per trial (for a time estimate);
* an importable name for the function that runs it (``"module:function"``), so that a simulator
  registered by another package (the deep layer) runs in spawned processes and on Dask workers: the
  worker imports the module, which registers it.

The simulators of this package are declared in ``numerics.simulators``; the deep layer's in
``deep.simulators``. :func:`get` finds a simulator by name, importing its provider on first use.
"""

from __future__ import annotations

import importlib
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from theory.errors import UserError

from .rng import stable_key

#: Marks a setting that has no default (it must be given).
REQUIRED = object()

#: Memory a block of trials may take. A constant, not a property of the machine: the block size, and
#: so the random numbers, must be the same everywhere.
BLOCK_MEMORY = 256 * 2**20
#: Most trials in a block (the unit of randomness and of vectorised work).
MAX_BLOCK = 4096

#: Modules that register simulators, imported when a name is looked up (the second needs torch).
PROVIDERS = ("numerics.simulators", "deep.simulators")


class SettingError(UserError, ValueError):
    """A setting that cannot be used; the message names it."""


@dataclass(frozen=True)
class Setting:
    """One setting of a simulator: its kind, default, domain and meaning.

    ``kind``: "int", "float", "choice" (one of ``options``), "floats" (a non-empty list of numbers) or
    "bool". ``low`` / ``high`` bound numbers (inclusive; ``open_low`` makes the lower bound strict).
    A default of None makes the setting optional.
    """

    kind: str
    default: Any = REQUIRED
    doc: str = ""
    options: tuple = ()
    low: float | None = None
    high: float | None = None
    open_low: bool = False
    #: False for a setting that only changes what is computed from the simulation, not the simulation
    #: (it is left out of the cell's stream key, so the cell shares its random numbers).
    affects_draws: bool = True

    def check(self, name: str, value: Any) -> Any:
        """The value converted to its kind; :class:`SettingError` naming ``name`` otherwise."""
        if value is None and self.default is None:
            return None
        if self.kind == "choice":
            if value not in self.options:
                raise SettingError(f"{name} must be one of {', '.join(map(str, self.options))}; got {value!r}")
            return value
        if self.kind == "bool":
            if not isinstance(value, bool):
                raise SettingError(f"{name} must be true or false, got {value!r}")
            return value
        if self.kind == "floats":
            if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)) or not value:
                raise SettingError(f"{name} must be a non-empty list of numbers, got {value!r}")
            return tuple(self._number(f"{name}[{i}]", v, "float") for i, v in enumerate(value))
        return self._number(name, value, self.kind)

    def _number(self, name: str, value: Any, kind: str) -> int | float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SettingError(f"{name} must be {'an integer' if kind == 'int' else 'a number'}, got {value!r}")
        if not math.isfinite(value):
            raise SettingError(f"{name} must be a finite number, got {value!r}")
        if kind == "int":
            if int(value) != value:
                raise SettingError(f"{name} must be an integer, got {value!r}")
            value = int(value)
        else:
            value = float(value)
        if self.low is not None and (value < self.low or (self.open_low and value == self.low)):
            raise SettingError(f"{name} must be {'>' if self.open_low else '>='} {_num(self.low)}, got {_num(value)}")
        if self.high is not None and value > self.high:
            raise SettingError(f"{name} must be <= {_num(self.high)}, got {_num(value)}")
        return value

    def describe(self) -> str:
        default = "required" if self.default is REQUIRED else "optional" if self.default is None else f"default {self.default}"
        dom = ""
        if self.options:
            dom = f"; one of {', '.join(map(str, self.options))}"
        elif self.low is not None or self.high is not None:
            lo = "" if self.low is None else f"{'>' if self.open_low else '>='} {_num(self.low)}"
            hi = "" if self.high is None else f"<= {_num(self.high)}"
            dom = "; " + ", ".join(x for x in (lo, hi) if x)
        return f"{self.doc} ({self.kind}, {default}{dom})"


def _num(x: float) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


@dataclass(frozen=True)
class Bind:
    """A claim parameter taken from a setting: ``claim = to_claim(setting)``, ``setting = to_setting(claim)``."""

    param: str
    setting: str | None = None  # default: the same name
    to_claim: Callable[[Any], Any] | None = None
    to_setting: Callable[[Any], Any] | None = None
    #: A claim value computed from all the settings (e.g. a symbol's probability under the truth); such a
    #: value cannot be given to `collapse check --at`: the settings it comes from can.
    derive: Callable[[dict], Any] | None = None

    @property
    def name(self) -> str:
        return self.setting or self.param


@dataclass(frozen=True)
class Ladder:
    """A convergence study (DESIGN.md): the simulation is run at each of ``sizes``, with the settings
    ``scale(size)`` (default: the setting ``setting`` = size), and a statistic is extrapolated to
    size -> oo as a + b / size. ``statistic``: "limit" (the metric's own statistic, a mean or a ratio,
    whose limit is the claim's value), "discrepancy" (simulation minus the claim at each size, whose
    limit is 0) or "relative" (the same divided by the claim: for a claim that grows with the size)."""

    sizes: tuple[int, ...]
    statistic: str = "limit"
    setting: str | None = None
    scale: Callable[[int, dict], dict] | None = None
    #: The terms of the extrapolation besides the constant: "1/s" (a + b/s), or "log" (a + b log(s)/s + c/s,
    #: for corrections of order log(s)/s such as a diffusion limit's).
    basis: str = "1/s"

    def settings(self, size: int, current: dict) -> dict:
        """The settings that change at ``size`` (``current``: the point's other settings)."""
        return self.scale(size, current) if self.scale is not None else {self.setting: size}


@dataclass(frozen=True)
class Check:
    """How `collapse verify` checks a claim through a link: the simulator settings of its default point
    (the variant's choices are bound on top), the generations compared, the share of ``--trials`` it
    runs (for costly simulations), a convergence study where the claim is asymptotic, and the kind of
    comparison where it differs from the claim's own ("exact" for an asymptotic claim that is exact at
    this point)."""

    settings: Mapping[str, Any] = field(default_factory=dict)
    generations: tuple[int, ...] = (1, 2, 5, 10)
    share: float = 1.0
    ladder: Ladder | None = None
    kind: str | None = None
    note: str = ""
    #: The variants checked here (default: all the claim has a form for).
    variants: Callable[[dict], bool] | None = None
    #: Settings that depend on the variant (e.g. a spectrum's own parameters).
    per_variant: Callable[[dict], dict] | None = None
    #: Fewest trials at which the comparison is calibrated (below it, rows are reported as 'skip').
    min_trials: int = 2
    min_trials_why: str = ""


@dataclass(frozen=True)
class Link:
    """A claim that predicts a metric: where its parameters come from and when it applies.

    ``when`` holds settings that must take the given values (a value, or a tuple of allowed values)
    for the claim to apply; ``fixed`` gives claim values that do not come from settings; ``binds``
    take the others from settings. ``generation`` is the claim's generation parameter (None: the
    claim has none, e.g. a bound over all generations; then ``Check.generations`` names the one
    generation compared). ``alternative``: "lower" or "upper" for a one-sided bound.
    """

    claim: str
    generation: str | None
    binds: tuple[Bind, ...] = ()
    when: Mapping[str, Any] = field(default_factory=dict)
    fixed: Mapping[str, Any] = field(default_factory=dict)
    alternative: str | None = None
    check: Check | None = None
    #: A condition on the settings beyond ``when`` (e.g. n > d).
    applies_if: Callable[[dict], bool] | None = None

    def applies(self, settings: Mapping[str, Any]) -> bool:
        for k, v in self.when.items():
            allowed = v if isinstance(v, tuple) else (v,)
            if settings.get(k) not in allowed:
                return False
        return self.applies_if is None or bool(self.applies_if(settings))

    def claim_values(self, settings: Mapping[str, Any]) -> dict:
        """The claim's values (except the generation) at a cell's settings."""
        out = dict(self.fixed)
        for b in self.binds:
            if b.derive is not None:
                out[b.param] = b.derive(settings)
                continue
            v = settings.get(b.name)
            if v is None:
                continue
            out[b.param] = b.to_claim(v) if b.to_claim is not None else (list(v) if isinstance(v, tuple) else v)
        return out

    def settings_for(self, values: Mapping[str, Any]) -> dict:
        """Settings from claim values (the inverse of :meth:`claim_values`), for ``collapse check --at``."""
        by_param = {b.param: b for b in self.binds}
        out = {}
        for k, v in values.items():
            if k in self.fixed:
                if v != self.fixed[k]:
                    raise SettingError(f"{k}={v!r} is not simulated for {self.claim} (only {k}={self.fixed[k]!r})")
                continue
            if k not in by_param:
                raise SettingError(f"{k} is not a parameter the simulator of {self.claim} takes "
                                   f"(it takes {', '.join(sorted(by_param) + sorted(self.fixed)) or 'none'})")
            b = by_param[k]
            if b.derive is not None:
                raise SettingError(f"{k} is derived from the simulator's settings for {self.claim}: give those instead")
            out[b.name] = b.to_setting(v) if b.to_setting is not None else v
        return out


@dataclass(frozen=True)
class Metric:
    """A metric of a simulator: the recorded ``quantity`` it reads (optionally transformed with the
    cell's settings), its ``statistic`` ("mean", "variance", or "ratio": the mean at generation k over
    the mean at the first generation), and the claims that predict it (the first that applies to a
    cell gives a sweep's theory column)."""

    doc: str
    quantity: str
    transform: Callable[[Any, dict], Any] | None = None
    statistic: str = "mean"
    links: tuple[Link, ...] = ()
    #: The reference of a ratio, per trial (default: the metric's first column, generation 1).
    reference: Callable[[Any, dict], Any] | None = None

    def values(self, outputs: dict, settings: dict):
        v = outputs[self.quantity]
        return self.transform(v, settings) if self.transform is not None else v

    def ref(self, outputs: dict, settings: dict, values):
        """The reference column of ratios: ``reference(quantity, settings)``, or the first column."""
        if self.reference is None:
            return values[:, 0]
        return self.reference(outputs[self.quantity], settings)

    def link_for(self, settings: Mapping[str, Any]) -> Link | None:
        return next((lk for lk in self.links if lk.applies(settings)), None)


@dataclass(frozen=True)
class Simulator:
    """A simulator of the catalog (see the module docstring).

    ``target`` is "module:function"; the function takes (trials, rng, **settings, generations=G) and
    returns {quantity: (trials, G') arrays}, G' = G + 1 - first (``first = 0`` adds a generation-0
    column). ``quantities``: the function takes ``quantities=...`` and records only what the metrics
    need. ``memory(settings, G)`` and ``work(settings, G)``: bytes and random numbers per trial.
    """

    name: str
    target: str
    doc: str
    settings: Mapping[str, Setting]
    metrics: Mapping[str, Metric]
    memory: Callable[[dict, int], float]
    work: Callable[[dict, int], float] | None = None
    first: int = 1
    quantities: bool = False
    #: The function takes ``checkpoint=PATH`` and saves (and resumes from) its state after each generation
    #: there: long runs (the deep layer's). Sweeps give each block a path in the store.
    checkpoints: bool = False
    #: The function takes ``artifacts=FOLDER`` and draws figures of its run there (sample grids): sweeps
    #: give the first block of each cell a folder beside the store (RESULTS.artifacts/), for the report.
    artifacts: bool = False
    provider: str = ""  # the module that registered it (set by register)

    # -- settings ---------------------------------------------------------------------------------
    def resolve(self, given: Mapping[str, Any], prefix: str = "") -> dict:
        """Every setting of a cell: the given ones checked (errors name ``prefix + name``), defaults
        filled in, in the declared order."""
        unknown = [k for k in given if k not in self.settings]
        if unknown:
            raise SettingError(f"{prefix}{unknown[0]}: simulator {self.name!r} has no setting {unknown[0]!r} "
                               f"(its settings: {', '.join(self.settings)})")
        out = {}
        for k, s in self.settings.items():
            if k in given:
                out[k] = s.check(prefix + k, given[k])
            elif s.default is REQUIRED:
                raise SettingError(f"setting {k!r} ({s.doc}) must be given")
            else:
                out[k] = s.default
        return out

    def key(self, settings: Mapping[str, Any]) -> tuple[int, ...]:
        """The stream key of a cell: the simulator and the settings that differ from their defaults
        (so that adding a setting with a default leaves the random numbers of existing cells alone)."""
        own = {k: (list(v) if isinstance(v, tuple) else v) for k, v in settings.items()
               if self.settings[k].affects_draws
               and not (self.settings[k].default is not REQUIRED and v == self.settings[k].default)}
        return stable_key("cell", self.name, json.dumps(own, sort_keys=True))

    def block_size(self, settings: dict, generations: int) -> int:
        """Trials per block for a cell: as many as fit BLOCK_MEMORY, at most MAX_BLOCK."""
        per_trial = self.memory(settings, generations)
        return int(min(MAX_BLOCK, max(1, BLOCK_MEMORY // max(per_trial, 1))))

    # -- running ----------------------------------------------------------------------------------
    def function(self) -> Callable[..., dict]:
        module, _, name = self.target.partition(":")
        return getattr(importlib.import_module(module), name)

    def needed(self, metrics) -> list[str]:
        return sorted({self.metrics[m].quantity for m in metrics})

    def call(self, trials: int, rng, settings: dict, generations: int, metrics=(), checkpoint=None,
             artifacts=None) -> dict:
        """Run the simulator's function; settings that do not affect the draws are the metrics' alone."""
        extra = {"quantities": self.needed(metrics)} if self.quantities else {}
        if self.checkpoints and checkpoint is not None:
            extra["checkpoint"] = str(checkpoint)
        if self.artifacts and artifacts is not None:
            extra["artifacts"] = str(artifacts)
        given = {k: (list(v) if isinstance(v, tuple) else v) for k, v in settings.items()
                 if self.settings[k].affects_draws}
        return self.function()(trials, rng, **given, generations=generations, **extra)

    def describe(self) -> str:
        lines = [f"{self.name}: {self.doc}", "  settings:"]
        lines += [f"    {k:<16} {s.describe()}" for k, s in self.settings.items()]
        lines.append("  metrics:")
        for k, m in self.metrics.items():
            stat = {"ratio": " [ratio to the first generation]", "variance": " [variance over trials]"}.get(m.statistic, "")
            claims = sorted({lk.claim for lk in m.links})
            lines.append(f"    {k:<16} {m.doc}{stat}" + (f"; theory: {', '.join(claims)}" if claims else ""))
        return "\n".join(lines)


CATALOG: dict[str, Simulator] = {}


def register(sim: Simulator, provider: str = "") -> Simulator:
    """Add a simulator to the catalog (``provider``: the importable module that registers it)."""
    if sim.name in CATALOG and CATALOG[sim.name].target != sim.target:
        raise ValueError(f"simulator {sim.name!r} registered twice")
    object.__setattr__(sim, "provider", provider or sim.target.partition(":")[0])
    CATALOG[sim.name] = sim
    return sim


def load(providers=PROVIDERS, optional: bool = True) -> dict[str, Simulator]:
    """Import the providers (the deep one only if torch is installed) and return the catalog."""
    for module in providers:
        try:
            importlib.import_module(module)
        except ImportError as e:
            if not optional or module == PROVIDERS[0] or (e.name or "").split(".")[0] not in ("torch", "deep"):
                raise
    return CATALOG


def get(name: str) -> Simulator:
    """The simulator called ``name``, importing the providers if needed; SettingError otherwise."""
    if name not in CATALOG:
        load()
    if name not in CATALOG:
        hint = ""
        try:
            importlib.import_module("torch")
        except ImportError:
            hint = " (the deep-learning simulators need torch: pip install 'model-collapse[deep]')"
        raise SettingError(f"simulator must be one of {', '.join(CATALOG)}; got {name!r}{hint}")
    return CATALOG[name]


def links_to(claim_id: str) -> list[tuple[Simulator, str, Link]]:
    """Every (simulator, metric, link) whose link names ``claim_id``, in catalog order."""
    load()
    return [(sim, m, lk) for sim in CATALOG.values() for m, metric in sim.metrics.items()
            for lk in metric.links if lk.claim == claim_id]
