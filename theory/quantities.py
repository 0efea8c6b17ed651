"""Quantities: what a claim predicts and what a simulator measures, the join between theory and simulation.

A :class:`Quantity` is one population value of one procedure, such as "E sigma_g^2 of the 1-D Gaussian
chain" or "the OLS test error after n fits on a fixed design", indexed by named coordinates (the
sample size, the dimension, the workflow, the generation, ...). A claim says which quantity it predicts
(and at which fixed coordinates, e.g. ``workflow = replace``); a simulator says which quantities its
metrics measure and how its settings map to the coordinates (numerics.catalog). `collapse verify`
pairs every check of every claim with every simulator that measures its quantity: a new simulator of a
known quantity is held against the theory the day it is declared, and a bridge model needs no second
link.

The theory layer knows nothing of simulators: quantities are names, coordinates and meanings.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Quantity:
    """A population value of a procedure, indexed by ``coordinates`` (name -> meaning).

    ``generation`` names the coordinate that counts the fits (None for a quantity over all
    generations); ``limit`` names coordinates that an asymptotic claim takes to infinity (the sample
    size of Dey & Donoho's ratios): a claim of the limit has no such parameter, and its checks give
    finite values of it along a ladder.
    """

    id: str
    doc: str
    coordinates: Mapping[str, str]
    generation: str | None = None
    limit: tuple[str, ...] = ()
    #: The package that registered it (set on registration).
    provider: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if self.generation is not None and self.generation not in self.coordinates:
            raise ValueError(f"quantity {self.id}: its generation {self.generation!r} is not one of its coordinates")
        for name in self.limit:
            if name not in self.coordinates:
                raise ValueError(f"quantity {self.id}: its limit coordinate {name!r} is not one of its coordinates")


class QuantityRegistry(Mapping[str, Quantity]):
    """Read-only mapping from quantity id to :class:`Quantity` (filled as claim modules are imported)."""

    def __init__(self) -> None:
        self._items: dict[str, Quantity] = {}

    def add(self, q: Quantity) -> Quantity:
        old = self._items.get(q.id)
        if old is not None and old != q:
            raise ValueError(f"quantity {q.id} registered twice, differently")
        self._items[q.id] = q
        return q

    def __getitem__(self, key: str) -> Quantity:
        from .registry import REGISTRY

        REGISTRY.load()
        try:
            return self._items[key]
        except KeyError:
            close = difflib.get_close_matches(str(key), list(self._items), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise KeyError(f"unknown quantity {key!r}{hint}") from None

    def __iter__(self):
        from .registry import REGISTRY

        REGISTRY.load()
        return iter(self._items)

    def __len__(self) -> int:
        from .registry import REGISTRY

        REGISTRY.load()
        return len(self._items)


QUANTITIES = QuantityRegistry()


def quantity(id: str, doc: str, coordinates: Mapping[str, str], generation: str | None = None,
             limit: tuple[str, ...] = ()) -> Quantity:
    """Declare a quantity and register it (see :class:`Quantity`); returns it."""
    import inspect

    caller = inspect.currentframe().f_back
    provider = caller.f_globals.get("__name__", "") if caller is not None else ""
    return QUANTITIES.add(Quantity(id, doc, dict(coordinates), generation, tuple(limit), provider))
