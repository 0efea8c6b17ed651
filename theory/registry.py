"""The registry of claims: a read-only mapping from claim id to :class:`~theory.claim.Claim`.

It fills itself on first use from the ``collapse.claims`` entry points of every installed package
(theory.plugins): the toolkit's own modules (theory.gaussian, ...) and any researcher's, which register
their quantities and claims on import exactly as the toolkit's do.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from .claim import Claim
from .quantities import QUANTITIES


class Registry(Mapping[str, Claim]):
    """Read-only mapping from claim id to :class:`Claim`, with helpful errors for unknown ids."""

    def __init__(self) -> None:
        self._claims: dict[str, Claim] = {}
        self._state = "empty"  # "loading", "loaded"
        #: Each provider module's position among the entry points: claims iterate in that order (then in
        #: the order their module registers them), whichever module happened to be imported first.
        self._rank: dict[str, int] = {}

    def load(self) -> None:
        """Import every module of the ``collapse.claims`` entry points (once)."""
        if self._state != "empty":
            return
        from . import plugins

        self._state = "loading"
        try:
            found = plugins.entries("collapse.claims")
            if not any(e.own for e in found):
                raise plugins.PluginError(
                    "the toolkit's own claims are not registered (no 'collapse.claims' entry points of "
                    f"{plugins.DISTRIBUTION}): install the package, e.g. pip install -e .")
            self._rank = {entry.module: i for i, entry in enumerate(found)}
            for entry in found:
                plugins.load(entry)
        except BaseException:
            self._state = "empty"
            raise
        self._state = "loaded"

    def add(self, claim: Claim) -> Claim:
        if claim.id in self._claims:
            raise ValueError(f"claim {claim.id} registered twice")
        claim.check_declaration(QUANTITIES._items)
        self._claims[claim.id] = claim
        return claim

    def __getitem__(self, key: str) -> Claim:
        self.load()
        try:
            return self._claims[key]
        except KeyError:
            close = difflib.get_close_matches(str(key), list(self._claims), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise KeyError(f"unknown claim id {key!r}{hint}") from None

    def __iter__(self):
        self.load()
        ids = list(self._claims)
        position = {cid: i for i, cid in enumerate(ids)}
        return iter(sorted(ids, key=lambda cid: (self._rank.get(self._claims[cid].provider, len(self._rank)),
                                                 position[cid])))

    def __len__(self) -> int:
        self.load()
        return len(self._claims)

    def predicting(self, quantity_id: str) -> list[Claim]:
        """The claims of a quantity, exact ones first, then in registration order."""
        order = {"exact": 0, "implicit": 0, "asymptotic": 1, "bound": 2, "approximation": 3}
        claims = [c for c in self.values() if c.quantity == quantity_id]
        return sorted(claims, key=lambda c: order.get(c.kind, 4))

    def __repr__(self) -> str:
        return f"<{len(self)} claims: {', '.join(self._claims)}>"


REGISTRY = Registry()


def register(**kwargs: Any) -> Claim:
    """Create a claim and add it to the registry (its ``provider`` is the module that registers it)."""
    import inspect

    caller = inspect.currentframe().f_back
    claim = Claim(**kwargs)
    claim.provider = caller.f_globals.get("__name__", "") if caller is not None else ""
    return REGISTRY.add(claim)
