"""Discovery of claims, simulators and configurations through entry points, for every layer.

A package (this toolkit itself, or a researcher's own) declares what it contributes in its
``pyproject.toml``, one entry-point group each:

.. code-block:: toml

    [project.entry-points."collapse.claims"]        # modules that register quantities and claims
    poisson = "collapse_poisson.theory"
    [project.entry-points."collapse.simulators"]    # modules that register simulators
    poisson = "collapse_poisson.simulator"
    [project.entry-points."collapse.configs"]       # packages whose folder holds sweep configurations (*.toml)
    poisson = "collapse_poisson.configs"

The toolkit's own entries come first, in the order its ``pyproject.toml`` lists them (so ``collapse
list`` keeps its order), then every other distribution's, sorted by distribution name. Nothing here
imports a module: :func:`load` does, and turns a module that fails to import into one
:class:`PluginError` line naming the entry point and the distribution it comes from.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from importlib import metadata

from .errors import UserError

#: The distribution this toolkit is installed as.
DISTRIBUTION = "model-collapse"
#: The entry-point groups, one per kind of contribution.
GROUPS = ("collapse.claims", "collapse.simulators", "collapse.configs")


class PluginError(UserError, ImportError):
    """An entry point whose module cannot be imported; the message names it and its package."""


@dataclass(frozen=True)
class Entry:
    """One entry point: its name, the module it names, and the distribution that declares it."""

    name: str
    module: str
    distribution: str

    @property
    def own(self) -> bool:
        """Whether the toolkit itself declares it."""
        return self.distribution == DISTRIBUTION


def entries(group: str) -> list[Entry]:
    """The entry points of ``group``: the toolkit's first (in declared order), then the others'."""
    if group not in GROUPS:
        raise ValueError(f"group must be one of {', '.join(GROUPS)}; got {group!r}")
    found = []
    for dist in metadata.distributions():
        name = (dist.metadata["Name"] or "").strip()
        for ep in dist.entry_points:
            if ep.group == group:
                found.append(Entry(ep.name, ep.value.partition(":")[0].strip(), name))
    seen: set[tuple[str, str]] = set()
    out = []
    # A distribution may be seen twice (an editable install and a stale copy on the path): keep the first.
    for e in sorted(found, key=lambda e: (not e.own, e.distribution.lower())):
        if (e.distribution, e.name) not in seen:
            seen.add((e.distribution, e.name))
            out.append(e)
    return out


def load(entry: Entry, optional: tuple[str, ...] = ()):
    """Import the entry's module; None if it fails for want of one of the ``optional`` packages (torch);
    :class:`PluginError` for any other failure."""
    try:
        return importlib.import_module(entry.module)
    except ImportError as e:
        missing = (getattr(e, "name", None) or "").split(".")[0]
        if missing and missing in optional:
            return None
        raise PluginError(f"{entry.module} (entry point {entry.name!r} of {entry.distribution}) cannot be "
                          f"imported: {type(e).__name__}: {e}") from e
    except UserError:
        raise
    except Exception as e:  # a plugin's own bug: one line that says whose it is
        raise PluginError(f"{entry.module} (entry point {entry.name!r} of {entry.distribution}) failed on import: "
                          f"{type(e).__name__}: {e}") from e


def is_own(module: str) -> bool:
    """Whether ``module`` (a claim's or simulator's provider) is one of the toolkit's own entry points."""
    return any(e.own and e.module == module for group in GROUPS[:2] for e in entries(group))
