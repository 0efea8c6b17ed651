"""One schema per family: each setting declared once, with its meaning, domain, default and whether it
changes the random numbers.

A family's settings are a frozen, keyword-only dataclass (decorate it with :func:`schema`) whose fields
are declared with :func:`setting`; the field's annotation gives its kind (``int``, ``float``, ``bool``,
``str`` with options for a choice, ``tuple[float, ...]`` for a list of numbers; ``| None`` for an
optional setting)::

    @schema
    class PoissonSettings(Settings):
        n: int = setting(doc="real points (and points per generation)", low=1)
        rate: float = setting(2.0, "the true rate", low=0, open_low=True)
        workflow: str = setting("replace", "data workflow", options=WORKFLOWS)

Everything else is derived from it: the catalog's settings, ``collapse sweep --list``, the checking
of TOML configurations (errors name the key), the stream key of a cell (settings at their default and
those that do not change the draws are left out of it, so adding a setting with a default leaves the
random numbers of existing cells alone). Values are checked once, when the dataclass is made (a
:class:`SettingError` naming the setting, never a traceback from inside a simulator); a family's code
trusts a config it is given.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from theory.errors import UserError

class _Required:
    """The default of a setting that must be given."""

    def __repr__(self) -> str:
        return "REQUIRED"

    def __reduce__(self) -> str:
        return "REQUIRED"  # one object, also after pickling (a module global)


#: Marks a setting that has no default (it must be given).
REQUIRED: Any = _Required()


class SettingError(UserError, ValueError):
    """A setting that cannot be used; the message names it (``setting``: its name, where it is one)."""

    def __init__(self, message: str, setting: str | None = None):
        super().__init__(message)
        self.setting = setting


@dataclass(frozen=True)
class Setting:
    """One setting: its kind, default, domain and meaning.

    ``kind``: "int", "float", "choice" (one of ``options``), "floats" (a non-empty list of numbers),
    "bool", "text", "path" (an existing file or folder) or "workflow" (one of ``options``, or a declared
    workflow: numerics.workflows.workflow_value). ``low`` / ``high`` bound numbers (inclusive;
    ``open_low`` makes the lower bound strict). A default of None makes the setting optional.
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
    #: Said after "not found" for a missing path (how to get the file).
    hint: str = ""
    #: The value a configuration's load-time check runs the simulator with (a training budget of 1 step
    #: instead of 600 runs the same code on the same shapes: a bad cell still fails, in a fraction of the
    #: time). None: the cell's own value.
    probe: Any = None

    def check(self, name: str, value: Any) -> Any:
        """The value converted to its kind; :class:`SettingError` naming ``name`` otherwise."""
        if value is None and self.default is None:
            return None
        if value is REQUIRED:
            raise SettingError(f"setting {name!r} ({self.doc}) must be given", name)
        if self.kind == "workflow":  # a named workflow of ``options``, or a declared one (numerics.workflows)
            from .workflows import workflow_value

            return workflow_value(name, value, self.options)
        if self.kind == "choice":
            if not isinstance(value, str) or value not in self.options:
                raise SettingError(f"{name} must be one of {', '.join(map(str, self.options))}; got {value!r}", name)
            return value
        if self.kind == "bool":
            if not isinstance(value, bool):
                raise SettingError(f"{name} must be true or false, got {value!r}", name)
            return value
        if self.kind in ("text", "path"):
            if not isinstance(value, str) or not value:
                raise SettingError(f"{name} must be {'a path' if self.kind == 'path' else 'text'}, got {value!r}", name)
            if self.kind == "path" and not os.path.exists(value):
                raise SettingError(f"{name}: {value!r} not found" + (f"; {self.hint}" if self.hint else ""), name)
            return value
        if self.kind == "floats":
            if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)) or not value:
                raise SettingError(f"{name} must be a non-empty list of numbers, got {value!r}", name)
            return tuple(self._number(f"{name}[{i}]", v, "float") for i, v in enumerate(value))
        return self._number(name, value, self.kind)

    def _number(self, name: str, value: Any, kind: str) -> int | float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SettingError(f"{name} must be {'an integer' if kind == 'int' else 'a number'}, got {value!r}", name)
        if not math.isfinite(value):
            raise SettingError(f"{name} must be a finite number, got {value!r}", name)
        if kind == "int":
            if int(value) != value:
                raise SettingError(f"{name} must be an integer, got {value!r}", name)
            value = int(value)
        else:
            value = float(value)
        if self.low is not None and (value < self.low or (self.open_low and value == self.low)):
            raise SettingError(f"{name} must be {'>' if self.open_low else '>='} {_num(self.low)}, got {_num(value)}", name)
        if self.high is not None and value > self.high:
            raise SettingError(f"{name} must be <= {_num(self.high)}, got {_num(value)}", name)
        return value

    def describe(self) -> str:
        default = "required" if self.default is REQUIRED else "optional" if self.default is None else f"default {self.default}"
        dom = ""
        if self.options:
            dom = f"; one of {', '.join(map(str, self.options))}" + (", or a table" if self.kind == "workflow" else "")
        elif self.low is not None or self.high is not None:
            lo = "" if self.low is None else f"{'>' if self.open_low else '>='} {_num(self.low)}"
            hi = "" if self.high is None else f"<= {_num(self.high)}"
            dom = "; " + ", ".join(x for x in (lo, hi) if x)
        draws = "" if self.affects_draws else "; does not change the draws"
        return f"{self.doc} ({self.kind}, {default}{dom}{draws})"


def _num(x: float) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


def setting(default: Any = REQUIRED, doc: str = "", *, options: tuple = (), low: float | None = None,
            high: float | None = None, open_low: bool = False, affects_draws: bool = True, kind: str | None = None,
            hint: str = "", probe: Any = None):
    """A field of a schema (see the module docstring); ``kind`` overrides what the annotation says;
    ``probe`` is the cheaper value the load-time check of a configuration runs with (a training budget)."""
    spec = {"doc": doc, "options": tuple(options), "low": low, "high": high, "open_low": open_low,
            "affects_draws": affects_draws, "kind": kind, "hint": hint, "probe": probe}
    return field(default=default, metadata={"setting": spec})


_KINDS = {"int": "int", "float": "float", "bool": "bool", "tuple[float, ...]": "floats"}


def _kind(annotation: str, spec: dict, name: str, owner: str) -> tuple[str, bool]:
    text = (annotation.__name__ if isinstance(annotation, type) else str(annotation)).replace("typing.", "").replace(" ", "")
    optional = text.endswith("|None") or text.startswith("None|")
    base = text.replace("|None", "").replace("None|", "").replace(",...", ", ...")
    if spec["kind"]:
        return spec["kind"], optional
    if base == "str":
        return ("choice" if spec["options"] else "text"), optional
    if base not in _KINDS:
        raise TypeError(f"{owner}.{name}: annotate a setting as int, float, bool, str or tuple[float, ...] "
                        f"(optionally | None), not {annotation!r}")
    return _KINDS[base], optional


class Settings:
    """Base of a family's schema (see the module docstring). Subclasses are made with :func:`schema`."""

    #: The settings, in declared order (set by :func:`schema`).
    SETTINGS: ClassVar[dict[str, Setting]] = {}

    def __post_init__(self) -> None:
        for name, s in self.SETTINGS.items():
            object.__setattr__(self, name, s.check(name, getattr(self, name)))
        self.validate()

    def validate(self) -> None:
        """Checks that involve several settings (override; raise SettingError naming them)."""

    @classmethod
    def build(cls, given: Mapping[str, Any], prefix: str = "", owner: str = ""):
        """A config from ``given`` (defaults filled in). Errors name the setting as ``prefix + name``
        (``fixed.d``, ``grid.n``), and an unknown one says whose settings these are (``owner``)."""
        unknown = [k for k in given if k not in cls.SETTINGS]
        if unknown:
            raise SettingError(f"{prefix}{unknown[0]}: {owner or cls.__name__} has no setting {unknown[0]!r} "
                               f"(its settings: {', '.join(cls.SETTINGS)})", unknown[0])
        try:
            return cls(**given)
        except SettingError as e:
            name = e.setting
            if prefix and name and str(e).startswith(name):
                raise SettingError(prefix + str(e), name) from None
            raise

    def as_dict(self) -> dict[str, Any]:
        """Every setting's value, in declared order."""
        return {name: getattr(self, name) for name in self.SETTINGS}

    def replace(self, **changes: Any):
        """A copy with some settings changed (checked again)."""
        return type(self).build({**self.as_dict(), **changes})


def schema(cls):
    """Make ``cls`` (a subclass of :class:`Settings`) a frozen keyword-only dataclass and derive its
    :class:`Setting` s from the fields."""
    cls = dataclass(frozen=True, kw_only=True)(cls)
    settings = {}
    for f in dataclasses.fields(cls):
        spec = f.metadata.get("setting")
        if spec is None:
            raise TypeError(f"{cls.__name__}.{f.name}: declare every field with numerics.schema.setting()")
        kind, optional = _kind(f.type, spec, f.name, cls.__name__)
        if optional and f.default is not None:
            raise TypeError(f"{cls.__name__}.{f.name}: an optional setting (| None) has the default None")
        args = {k: v for k, v in spec.items() if k != "kind"}
        settings[f.name] = Setting(kind, f.default, **args)
    cls.SETTINGS = settings
    return cls
