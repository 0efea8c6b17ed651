"""The results store of a sweep: a Parquet table and a JSON sidecar, written atomically, resumable.

A sweep's results live at ``RESULTS.parquet`` (one row per cell, generation and metric) with
``RESULTS.json`` beside it: the configuration, the seed's entropy, the package versions and the git
revision. While a sweep runs, each finished cell is written to ``RESULTS.parquet.parts/`` as a file of
its own; a sweep started again with the same configuration reads what is there and runs only the
missing cells. When every cell is in, the parts are gathered into the table (in cell order, so the
table does not depend on the order cells finished in), the sidecar is written, and the parts folder
is removed.

Every file is written to a temporary name in the same folder, flushed to disk and renamed over its
target (atomic on POSIX file systems): an interrupted write leaves the old file or none, never half
of one.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from theory.errors import UserError

#: Version of the table layout, stored in the sidecar.
FORMAT = 1


def write_atomically(path: str | os.PathLike, data: str | bytes | Callable[[str], None]) -> None:
    """Write ``data`` (text, bytes, or a function that writes a given path) to ``path`` atomically."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".collapse-", suffix=".tmp")
    try:
        if callable(data):
            os.close(fd)
            data(tmp)
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
        else:
            with os.fdopen(fd, "wb" if isinstance(data, bytes) else "w") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private (0600); give it a new file's mode
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def versions() -> dict[str, str]:
    """Versions of Python and of the packages a sweep's numbers depend on."""
    import platform
    from importlib import metadata

    out = {"python": platform.python_version()}
    for dist in ("model-collapse", "numpy", "scipy", "sympy", "mpmath", "pandas", "pyarrow", "dask", "distributed"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return out


def git_revision() -> str | None:
    """The project's git commit (with '+dirty' for uncommitted changes), or None outside a checkout."""
    root = Path(__file__).resolve().parent.parent
    if not (root / ".git").exists():
        return None
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
        if rev.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=10)
        return rev.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


class StoreError(UserError, ValueError):
    """A results store that cannot be used as asked (another configuration's results, a damaged file)."""


class Store:
    """The files of one sweep's results (see the module docstring)."""

    def __init__(self, path: str | os.PathLike):
        path = Path(path)
        if path.suffix != ".parquet":
            path = path.with_name(path.name + ".parquet")
        self.path = path
        self.sidecar = path.with_suffix(".json")
        self.parts = path.with_name(path.name + ".parts")

    # -- state ---------------------------------------------------------------------------------

    def complete(self) -> bool:
        return self.path.exists() and self.sidecar.exists() and not self.parts.exists()

    def metadata(self) -> dict:
        try:
            return json.loads(self.sidecar.read_text())
        except FileNotFoundError:
            raise StoreError(f"{self.sidecar}: no such file (is {self.path} a results store?)") from None
        except json.JSONDecodeError as e:
            raise StoreError(f"{self.sidecar}: not valid JSON ({e})") from None

    def begin(self, config: dict, overwrite: bool = False) -> tuple[dict, set[int]]:
        """Start or resume a sweep of ``config``: the run's metadata and the cells already done.

        ``config`` is the canonical configuration (a JSON-able dict). Results of the same configuration
        are kept (finished, or resumed). Results of a different configuration, finished or in
        progress, are an error, unless ``overwrite``: then they are discarded.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        state = self.parts / "run.json"
        if self.complete():
            meta = self.metadata()
            if meta.get("config") == config:
                return meta, set(range(meta["cells"]))
            what = f"{self.path} holds the results of a different configuration"
        elif self.parts.exists() and state.exists():
            meta = json.loads(state.read_text())
            if meta.get("config") == config:
                for tmp in self.parts.glob(".collapse-*.tmp"):  # left by a write the kill interrupted
                    tmp.unlink()
                return meta, self.done()
            what = f"{self.parts} holds an interrupted sweep of a different configuration"
        elif self.path.exists():
            what = f"{self.path} exists but has no sidecar {self.sidecar.name}"
        else:
            what = None
        if what is not None:
            if not overwrite:
                raise StoreError(f"{what}; give another output path or --overwrite")
            self.clear()
        self.parts.mkdir(parents=True, exist_ok=True)
        return {"config": config}, set()

    def start(self, meta: dict) -> None:
        """Record a new run's metadata (with its seed entropy) before any cell runs."""
        write_atomically(self.parts / "run.json", json.dumps(meta, indent=1, sort_keys=True))

    def done(self) -> set[int]:
        return {int(p.stem.split("-")[1]) for p in self.parts.glob("cell-*.parquet")}

    # -- writing -------------------------------------------------------------------------------

    def write_cell(self, index: int, table) -> None:
        """One finished cell's rows (a pandas DataFrame)."""
        write_atomically(self.parts / f"cell-{index:06d}.parquet", lambda p: table.to_parquet(p, index=False))

    def finish(self, meta: dict, cells: int):
        """Gather the parts into the table, write the sidecar, remove the parts: the final DataFrame."""
        import pandas as pd

        files = [self.parts / f"cell-{i:06d}.parquet" for i in range(cells)]
        missing = [f.name for f in files if not f.exists()]
        if missing:
            raise StoreError(f"cannot finish {self.path}: {len(missing)} cells missing ({', '.join(missing[:3])}...)")
        table = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
        write_atomically(self.path, lambda p: table.to_parquet(p, index=False))
        meta = {**meta, "cells": cells, "rows": len(table), "format": FORMAT}
        write_atomically(self.sidecar, json.dumps(meta, indent=1, sort_keys=True) + "\n")
        shutil.rmtree(self.parts)
        table.attrs["metadata"] = meta
        return table

    def clear(self) -> None:
        for f in (self.path, self.sidecar):
            if f.exists():
                f.unlink()
        if self.parts.exists():
            shutil.rmtree(self.parts)

    # -- reading -------------------------------------------------------------------------------

    def read(self):
        """The finished table as a pandas DataFrame, its metadata in ``.attrs['metadata']``."""
        import pandas as pd

        if not self.path.exists():
            if self.parts.exists():
                raise StoreError(f"{self.path}: the sweep has not finished ({len(self.done())} cells done in "
                                 f"{self.parts.name}); run the same command again to resume it")
            raise StoreError(f"{self.path}: no such results file")
        try:
            table = pd.read_parquet(self.path)
        except Exception as e:  # pyarrow raises several types for a damaged file
            raise StoreError(f"{self.path}: not a readable Parquet file ({type(e).__name__}: {e})") from None
        table.attrs["metadata"] = self.metadata()
        return table
