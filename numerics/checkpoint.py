"""Checkpoints of a generational run, for numpy and torch families alike: written atomically after every
generation, checked before use, resumed to the same numbers.

A checkpoint holds a :class:`numerics.driver.Chain` after generation t (the records, the model, the
pool, the family's own state) and the state of the numpy generator every random number comes from
(torch families seed their generators from it at each step), so a killed run resumes to identical
numbers on the CPU.

The format is plain data, never code: a NumPy ``.npz`` archive (read with ``allow_pickle=False``)
holding the arrays and one JSON document that describes the tree they hang in (dicts, lists, numbers,
strings) and the run it belongs to (its header). An object that is neither (a fitted model) is saved
through its family's ``freeze`` as a tagged tree and rebuilt by its ``thaw``: a dataclass of arrays for
the numpy families, a state dict for a torch model, a tensor as its array and dtype. It is written to a
temporary file and renamed (numerics.store.write_atomically): an interrupted write leaves the previous
generation's checkpoint, never half of one.

Before a saved chain is used it is checked: its header names this run (simulator, settings, trials,
generations, seed, format), its generation count is in range, every generation has its records, the
model's numbers are finite and the pool and state hold no NaN; a state entry the run needs and the file
lacks is named when it is asked for (:class:`SavedState`). A damaged file, another run's, or a chain that fails a check is one
:class:`CheckpointError` line that says what to do; nothing else is touched.
"""

from __future__ import annotations

import io
import json
import math
import os
import zipfile
from typing import Any

import numpy as np

from theory.errors import UserError

from .store import write_atomically

#: Version of the layout.
FORMAT = 2
KIND = "model-collapse checkpoint"


class CheckpointError(UserError, ValueError):
    """A checkpoint that cannot be used (damaged, or another run's); the message says how to recover."""


def header_of(name: str, settings: dict, trials: int, generations: int, rng: np.random.Generator) -> dict:
    """What identifies a run: the simulator, its settings, the trials, the generations and the seed (the
    generator's starting state)."""
    start = rng.bit_generator.state
    return {"simulator": name, "settings": json.dumps(settings, sort_keys=True, default=str), "trials": int(trials),
            "generations": int(generations), "seed": json.dumps(start, sort_keys=True, default=str)}


# -- trees of plain data --------------------------------------------------------------------------------


def _encode(obj: Any, arrays: list, family) -> Any:
    if isinstance(obj, np.ndarray):
        arrays.append(obj)
        return {"a": len(arrays) - 1}
    if isinstance(obj, (np.generic,)):
        return _encode(np.asarray(obj), arrays, family)
    if obj is None or isinstance(obj, (bool, str, int)):
        return {"v": obj}
    if isinstance(obj, float):
        return {"v": obj} if math.isfinite(obj) else {"f": repr(obj)}
    if isinstance(obj, dict):
        if not all(isinstance(k, str) for k in obj):
            raise TypeError("checkpointed dicts have string keys")
        return {"d": {k: _encode(v, arrays, family) for k, v in obj.items()}}
    if isinstance(obj, (list, tuple)):
        return {"l" if isinstance(obj, list) else "t": [_encode(v, arrays, family) for v in obj]}
    kind, tree = family.freeze(obj)
    return {"o": kind, "tree": _encode(tree, arrays, family)}


def _decode(node: Any, arrays, family) -> Any:
    if not isinstance(node, dict) or len(node) not in (1, 2):
        raise ValueError("malformed tree")
    if "a" in node:
        return arrays[f"a{int(node['a'])}"]
    if "v" in node:
        return node["v"]
    if "f" in node:
        return float(node["f"])
    if "d" in node:
        return {k: _decode(v, arrays, family) for k, v in node["d"].items()}
    if "l" in node:
        return [_decode(v, arrays, family) for v in node["l"]]
    if "t" in node:
        return tuple(_decode(v, arrays, family) for v in node["t"])
    if "o" in node:
        return family.thaw(str(node["o"]), _decode(node["tree"], arrays, family))
    raise ValueError("malformed tree")


def _rng_state(rng: np.random.Generator) -> dict:
    return dict(rng.bit_generator.state)


# -- saving and loading --------------------------------------------------------------------------------


def save(path: str | os.PathLike, header: dict, family, chain, rng: np.random.Generator) -> None:
    """Write ``chain`` (after its generation ``chain.done``) and the generator's state atomically."""
    arrays: list = []
    tree = _encode({"done": chain.done, "records": chain.records, "pool": chain.pool.state(),
                    "model": chain.model, "state": chain.state, "rng": _rng_state(rng)}, arrays, family)
    doc = json.dumps({"kind": KIND, "format": FORMAT, "header": header, "tree": tree})
    buf = io.BytesIO()
    np.savez(buf, __doc__=np.array(doc), **{f"a{i}": a for i, a in enumerate(arrays)})
    write_atomically(path, buf.getvalue())


def load(path: str | os.PathLike, header: dict, family, workflow, generations: int, trials: int,
         rng: np.random.Generator):
    """The chain saved at ``path`` for the run ``header`` describes, checked (the generator ``rng`` is set to
    its saved state); None if there is no checkpoint."""
    from .driver import Chain

    path = os.fspath(path)
    if not os.path.exists(path):
        return None
    damaged = f"checkpoint {path} is damaged or not a checkpoint"
    delete = "delete it to run that cell from its first generation"
    try:
        with np.load(path, allow_pickle=False) as data:
            doc = json.loads(str(data["__doc__"]))
            if not isinstance(doc, dict) or doc.get("kind") != KIND:
                raise CheckpointError(f"{path} is not a model-collapse checkpoint; delete it or give another output path")
            if doc.get("format") != FORMAT:
                raise CheckpointError(f"checkpoint {path} has format {doc.get('format')!r}, this version reads {FORMAT}; "
                                      f"{delete}")
            if doc.get("header") != header:
                theirs = doc.get("header") or {}
                diff = sorted(k for k in set(theirs) | set(header) if theirs.get(k) != header.get(k))
                raise CheckpointError(f"checkpoint {path} belongs to another run (it differs in {', '.join(diff)}); "
                                      "delete it, or give another output path")
            saved = _decode(doc["tree"], data, family)
    except UserError:  # ours, or a family's own (a model of another vocabulary): already one line
        raise
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile, json.JSONDecodeError) as e:
        raise CheckpointError(f"{damaged} ({type(e).__name__}); {delete}") from None
    problem = _problem(saved, family, generations, trials)
    if problem:
        raise CheckpointError(f"checkpoint {path} cannot be resumed: {problem}; {delete}")
    chain = Chain(workflow, generations, trials, done=int(saved["done"]))
    chain.records = {k: list(v) for k, v in saved["records"].items()}
    try:
        chain.pool = family.pool(saved["pool"]["real"], workflow, generations)
        chain.pool.restore(saved["pool"])
        rng.bit_generator.state = saved["rng"]
    except (KeyError, TypeError, ValueError, IndexError) as e:
        raise CheckpointError(f"checkpoint {path} cannot be resumed: its pool or generator state is not this run's "
                              f"({type(e).__name__}: {e}); {delete}") from None
    chain.model, chain.state = saved["model"], SavedState(saved["state"], f"checkpoint {path}", delete)
    return chain


class SavedState(dict):
    """A resumed chain's state: a key that the run needs and the checkpoint lacks (an edited or foreign
    file whose state is ``{}``) is a CheckpointError naming the key, not a KeyError from inside a family."""

    def __init__(self, data: dict, what: str, hint: str):
        super().__init__(data)
        self.what, self.hint = what, hint

    def __missing__(self, key):
        raise CheckpointError(f"{self.what} cannot be resumed: its state has no {key!r}; {self.hint}")

    def pop(self, key, *default):
        if key not in self and not default:
            self.__missing__(key)
        return super().pop(key, *default)


def read_raw(path: str | os.PathLike) -> tuple[dict, dict[str, np.ndarray]]:
    """A checkpoint's document (kind, format, header, tree) and arrays, as stored (for inspection)."""
    with np.load(path, allow_pickle=False) as data:
        return json.loads(str(data["__doc__"])), {k: data[k] for k in data.files if k != "__doc__"}


def write_raw(path: str | os.PathLike, doc: dict, arrays: dict[str, np.ndarray]) -> None:
    """Write what :func:`read_raw` read (atomically)."""
    buf = io.BytesIO()
    np.savez(buf, __doc__=np.array(json.dumps(doc)), **arrays)
    write_atomically(path, buf.getvalue())


def _problem(saved: Any, family, generations: int, trials: int) -> str:
    """What is wrong with a decoded chain, or ''."""
    if not isinstance(saved, dict) or set(saved) != {"done", "records", "pool", "model", "state", "rng"}:
        return "its chain does not have the expected parts (done, records, pool, model, state, rng)"
    done = saved["done"]
    if isinstance(done, bool) or not isinstance(done, int) or not 1 <= done <= generations:
        return f"its generation count {done!r} is not between 1 and {generations}"
    if not isinstance(saved["records"], dict) or not isinstance(saved["state"], dict) or not isinstance(saved["pool"], dict):
        return "its records, pool or state are not tables"
    columns = done + (1 - family.first)
    for name, values in saved["records"].items():
        if not isinstance(values, list) or len(values) != columns:
            return f"its record {name!r} has {len(values) if isinstance(values, list) else '?'} generations, not {columns}"
        for v in values:
            if not isinstance(v, np.ndarray) or v.shape != (trials,):
                return f"its record {name!r} does not hold {trials} values per generation"
    bad = _nonfinite(saved["model"])
    if bad:
        return f"its model holds non-finite numbers ({bad})"
    bad = _nonfinite(saved["pool"], "pool", nan_only=True) or _nonfinite(saved["state"], "state", nan_only=True)
    if bad:  # the pool's data and the state's arrays may be infinite (a time not reached yet), never NaN
        return f"it holds NaN ({bad})"
    return ""


def _nonfinite(obj: Any, where: str = "model", nan_only: bool = False) -> str:
    """Where a tree holds a non-finite floating-point number (``nan_only``: a NaN), or ''."""
    bad = np.isnan if nan_only else (lambda x: ~np.isfinite(x))
    if hasattr(obj, "detach") and hasattr(obj, "numpy"):  # a torch tensor (numerics does not import torch)
        obj = obj.detach().cpu().numpy()
    if isinstance(obj, np.ndarray):
        return where if obj.dtype.kind in "fc" and np.any(bad(obj)) else ""
    if isinstance(obj, dict):
        items = obj.items()
    elif isinstance(obj, (list, tuple)):
        items = enumerate(obj)
    elif hasattr(obj, "__dict__") or hasattr(obj, "state_dict"):  # a thawed object: check what it was made of
        items = _parts(obj)
    else:
        return "" if not isinstance(obj, float) or not bad(np.float64(obj)) else where
    for k, v in items:
        found = _nonfinite(v, f"{where}.{k}", nan_only)
        if found:
            return found
    return ""


def _parts(obj: Any):
    if hasattr(obj, "state_dict"):  # a torch module
        return ((k, v.detach().cpu().numpy()) for k, v in obj.state_dict().items())
    return ((k, v) for k, v in vars(obj).items() if isinstance(v, (np.ndarray, float, dict, list, tuple)))
