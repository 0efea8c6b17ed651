"""Checkpoints of a generational run: written atomically after every generation, resumed exactly.

A checkpoint holds the run's whole state after generation t: the driver's records, the model's and the
optimiser's tensors, the pool, and the state of the numpy generator every random number comes from
(the torch generators are seeded from it at each step), so that a killed run resumes to identical
numbers on the CPU. It is written to a temporary file and renamed (numerics.store.write_atomically):
an interrupted write leaves the previous generation's checkpoint, never half of one.

Files are read with ``torch.load(weights_only=True)``: tensors, numbers, strings and containers only,
never code. A damaged file, or one of another run (its header names the simulator, the cell's settings,
the seed and the format), is one :class:`CheckpointError` line that says what to do; nothing else is
touched (the sweep's finished cells are parts of their own).
"""

from __future__ import annotations

import io
import os

import torch

from numerics.store import write_atomically
from theory.errors import UserError

#: Version of the checkpoint layout.
FORMAT = 1
KIND = "model-collapse checkpoint"


class CheckpointError(UserError, ValueError):
    """A checkpoint that cannot be used (damaged, or another run's); the message says how to recover."""


def save(path: str | os.PathLike, header: dict, state: dict) -> None:
    """Write ``state`` (tensors, numbers, strings, containers) with its ``header`` atomically."""
    buf = io.BytesIO()
    torch.save({"kind": KIND, "format": FORMAT, "header": header, "state": state}, buf)
    write_atomically(path, buf.getvalue())


def load(path: str | os.PathLike, header: dict) -> dict | None:
    """The state saved at ``path`` for the run ``header`` describes; None if there is no checkpoint."""
    path = os.fspath(path)
    if not os.path.exists(path):
        return None
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises several types for a damaged or foreign file
        raise CheckpointError(f"checkpoint {path} is damaged or not a checkpoint ({type(e).__name__}); "
                              "delete it to run that cell from its first generation") from None
    if not isinstance(data, dict) or data.get("kind") != KIND:
        raise CheckpointError(f"{path} is not a model-collapse checkpoint; delete it or give another output path")
    if data.get("format") != FORMAT:
        raise CheckpointError(f"checkpoint {path} has format {data.get('format')!r}, this version reads {FORMAT}; "
                              "delete it to run that cell again")
    if data.get("header") != header:
        theirs = data.get("header") or {}
        diff = sorted(k for k in set(theirs) | set(header) if theirs.get(k) != header.get(k))
        raise CheckpointError(f"checkpoint {path} belongs to another run (it differs in {', '.join(diff)}); "
                              "delete it, or give another output path")
    return data["state"]


def rng_state(rng) -> dict:
    """A numpy Generator's state as plain data (weights_only-loadable)."""
    return dict(rng.bit_generator.state)


def set_rng_state(rng, state: dict) -> None:
    rng.bit_generator.state = state
