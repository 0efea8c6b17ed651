"""The registry of claims: a read-only mapping from claim id to :class:`~theory.claim.Claim`."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from .claim import Claim

# --------------------------------------------------------------------------------------------------
# The registry
# --------------------------------------------------------------------------------------------------


class Registry(Mapping[str, Claim]):
    """Read-only mapping from claim id to :class:`Claim`, with helpful errors for unknown ids."""

    def __init__(self) -> None:
        self._claims: dict[str, Claim] = {}

    def add(self, claim: Claim) -> Claim:
        if claim.id in self._claims:
            raise ValueError(f"claim {claim.id} registered twice")
        self._claims[claim.id] = claim
        return claim

    def __getitem__(self, key: str) -> Claim:
        try:
            return self._claims[key]
        except KeyError:
            close = difflib.get_close_matches(str(key), list(self._claims), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise KeyError(f"unknown claim id {key!r}{hint}") from None

    def __iter__(self):
        return iter(self._claims)

    def __len__(self) -> int:
        return len(self._claims)

    def __repr__(self) -> str:
        return f"<{len(self)} claims: {', '.join(self._claims)}>"


REGISTRY = Registry()


def register(**kwargs: Any) -> Claim:
    """Create a claim and add it to the registry."""
    return REGISTRY.add(Claim(**kwargs))


