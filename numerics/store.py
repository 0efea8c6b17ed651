"""The results store of a sweep: a Parquet table and a JSON sidecar, checked, locked, resumable.

A sweep's results live at ``RESULTS.parquet`` (one row per cell, generation and metric) with
``RESULTS.json`` beside it: the configuration, the seed's entropy, the package versions, the git
revision, and what the table must be: its number of cells and rows and its SHA-256. While a sweep
runs, each finished cell is written to ``RESULTS.parquet.parts/`` as a file of its own, named by its
cell and the SHA-256 of its bytes (``cell-000003-<sha256>.parquet``), beside ``run.json`` (the run's
configuration and seed, written before any cell) and ``progress.json`` (the seconds spent so far). A
sweep started again with the same configuration checks every part (its name, checksum and number of
rows), discards the damaged ones, and runs only the missing cells. When every cell is in, the parts
are gathered into the table (in cell order, so the table does not depend on the order cells finished
in), the sidecar is written, and the parts folder is removed.

The sidecar is the commit point: it is written after the table, and names the table's checksum. So a
store is finished exactly when its sidecar is there, whatever a kill left of the parts folder; a
finished table is checked against it (checksum, rows, cells) every time it is read. The check cannot
be switched off: a sidecar whose checksum is missing, null or not a SHA-256 digest is damaged, like one
that is not JSON. A damaged sidecar or ``run.json`` is one line that says how to recover, and
``--overwrite`` always recovers: it keeps an intact store of the same configuration and recomputes
anything damaged (with the recorded seed where one can still be read).

Every file is written to a temporary name in the same folder (``.collapse-<target>.XXXXXXXX.tmp``),
flushed to disk and renamed over its target (atomic on POSIX file systems): an interrupted write
leaves the old file or none, never half of one; the temporary files a kill leaves behind are removed
by the next run on the store.

One sweep at a time writes to a store: it holds an exclusive lock (``flock``) on ``RESULTS.parquet.lock``
for the whole run; another sweep on the same store is refused in one line. The kernel releases the
lock when the process ends, however it ends; a lock file left by a killed run is taken over.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from theory.errors import UserError

#: Version of the table layout, stored in the sidecar.
FORMAT = 1
#: A SHA-256 digest as the store writes it (lowercase hex).
SHA256 = re.compile(r"[0-9a-f]{64}")
#: A part file's name: its cell and the SHA-256 of its bytes.
PART = re.compile(r"cell-(\d{6,})-([0-9a-f]{64})\.parquet")


def tmp_prefix(path: str | os.PathLike) -> str:
    """The prefix of the temporary files written for ``path`` (named by it, so that a store can
    remove what a kill left of its own writes without touching anyone else's)."""
    name = os.path.basename(os.fspath(path))
    if len(name) > 100:  # keep the temporary name within the file system's limit
        name = hashlib.sha256(name.encode()).hexdigest()[:24]
    return f".collapse-{name}."


def _is_tmp_of(filename: str, target: str | os.PathLike) -> bool:
    prefix = tmp_prefix(target)
    return (filename.startswith(prefix) and filename.endswith(".tmp")
            and re.fullmatch(r"[A-Za-z0-9_]+", filename[len(prefix):-4]) is not None)


def write_atomically(path: str | os.PathLike, data: str | bytes | Callable[[str], None], *, sync: bool = True) -> None:
    """Write ``data`` (text, bytes, or a function that writes a given path) to ``path`` atomically.

    ``sync=False`` skips the flush to disk (for files whose loss in a power cut costs nothing).
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=tmp_prefix(path), suffix=".tmp")
    try:
        if callable(data):
            os.close(fd)
            data(tmp)
            if sync:
                with open(tmp, "rb+") as f:
                    os.fsync(f.fileno())
        else:
            with os.fdopen(fd, "wb" if isinstance(data, bytes) else "w") as f:
                f.write(data)
                f.flush()
                if sync:
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


def _remove(path: str | os.PathLike) -> None:
    """Delete a file of the store (one of its write steps: tests inject kills here)."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _remove_tree(path: str | os.PathLike) -> None:
    """Delete a folder of the store with everything in it (a write step, like :func:`_remove`)."""
    try:
        shutil.rmtree(path)
    except FileNotFoundError:
        pass


def _sha256(data) -> str:
    """The SHA-256 of ``data`` (bytes, or a ``pyarrow.Buffer`` from :func:`_read`), as hex."""
    return hashlib.sha256(data).hexdigest()


def _read(path: str | os.PathLike):
    """A Parquet file of the store, whole, as a ``pyarrow.Buffer``: memory that Arrow owns, which
    :func:`_sha256` checks and :func:`_frame` parses (the same bytes: nothing read twice).

    Not Python bytes or a file object: pyarrow would wrap those in objects that keep a reference to
    them (a ``PyReadableFile``, ``PyBuffer``s of what it read) and its worker threads may drop the last
    of these after the read has returned. Dropping a Python reference takes the GIL; when that meets
    interpreter shutdown, CPython 3.11 ends the thread with ``pthread_exit`` inside a C++ destructor
    and the process aborts ("terminate called without an active exception", exit status 134, about
    once in 50 runs of a command that fails right after reading a store).
    """
    import pyarrow as pa

    with pa.OSFile(os.fspath(path), "rb") as f:
        return f.read_buffer()


def _frame(data):
    """The pandas DataFrame in a Parquet file's bytes (a ``pyarrow.Buffer`` from :func:`_read`)."""
    import pandas as pd
    import pyarrow as pa

    return pd.read_parquet(pa.BufferReader(data))


def _parquet_bytes(table) -> bytes:
    buf = io.BytesIO()
    table.to_parquet(buf, index=False)
    return buf.getvalue()


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
    """A results store that cannot be used as asked (another configuration's results, a damaged file,
    another sweep writing to it); the message is one line that says what to do."""


class StoreBusy(StoreError):
    """Another sweep holds the store's lock."""


class StoreLock:
    """The exclusive lock of one store (see the module docstring); a context manager.

    The lock file is removed on release (while the lock is still held); a process that locked a file
    which was removed meanwhile tries again with the new one, so two processes never both hold it.
    Folders created for the lock file are removed again if they are still empty on release, so a run
    refused before it starts leaves nothing behind. Where ``fcntl`` is missing (not POSIX) there is no
    lock.
    """

    def __init__(self, store: Store):
        self.store = store
        self.fd: int | None = None
        self.created: list[Path] = []
        #: False where the store's folder cannot be written (a finished store can still be read there;
        #: :meth:`require` refuses anything else).
        self.writable = True
        self.why = ""

    def __enter__(self) -> StoreLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def acquire(self) -> None:
        try:
            import fcntl
        except ImportError:  # pragma: no cover (not POSIX)
            return
        path = self.store.lockfile
        self.created = _make_folders(path.parent)
        try:
            while True:
                try:
                    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
                except OSError as e:
                    if e.errno not in (errno.EACCES, errno.EPERM, errno.EROFS):
                        raise StoreError(f"{path.parent}: cannot write the results there ({e.strerror or e})") from None
                    self.writable, self.why = False, e.strerror or str(e)  # read-only: nobody can write here
                    return
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError as e:
                    if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                        break  # a file system without locks (ENOLCK, EOPNOTSUPP): go on unlocked
                    holder = os.read(fd, 32).decode(errors="replace").strip()
                    os.close(fd)
                    who = f" (process {holder})" if holder.isdigit() else ""
                    raise StoreBusy(f"{self.store.path} is being written by another collapse sweep{who}; wait for it "
                                    "to finish, or give another output path") from None
                try:
                    same = os.stat(path).st_ino == os.fstat(fd).st_ino
                except FileNotFoundError:
                    same = False
                if same:
                    break
                os.close(fd)  # the holder released it and removed the file: lock the new one
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            self.fd = fd
        except BaseException:
            _remove_empty(self.created)
            raise

    def require(self) -> None:
        """Refuse to go on where the store cannot be written (before anything is written)."""
        if not self.writable:
            raise StoreError(f"{self.store.path.parent}: cannot write the results there ({self.why}); give "
                             "another output path")

    def release(self) -> None:
        if self.fd is not None:
            try:
                os.unlink(self.store.lockfile)
            except OSError:
                pass
            os.close(self.fd)
            self.fd = None
        _remove_empty(self.created)
        self.created = []


def _make_folders(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing parents; the ones created, outermost first."""
    missing = []
    f = folder.absolute()
    while not f.exists():
        missing.append(f)
        if f.parent == f:
            break
        f = f.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise StoreError(f"{folder}: not a folder (a file of that name is in the way)") from None
    except OSError as e:
        raise StoreError(f"{folder}: cannot create the results folder ({e.strerror or e})") from None
    return missing[::-1]


def _remove_empty(folders: list[Path]) -> None:
    for f in reversed(folders):
        try:
            f.rmdir()
        except OSError:
            pass


@dataclass
class Plan:
    """What a sweep finds at its output path (:meth:`Store.examine`): the store is ``complete``
    (``table`` holds it), to ``resume`` (``meta`` from run.json, ``done`` the intact cells, ``damaged``
    the part files to discard), or to start ``fresh`` (``clear``: discard what is there first;
    ``meta`` may carry a recorded seed's ``entropy`` to reuse)."""

    action: str
    meta: dict
    done: set[int] = field(default_factory=set)
    damaged: list[Path] = field(default_factory=list)
    clear: bool = False
    table: object = None


class Store:
    """The files of one sweep's results (see the module docstring)."""

    def __init__(self, path: str | os.PathLike, command: str | None = None):
        path = Path(path)
        self.given = path  # as given, before ".parquet" is added (check_output refuses a folder)
        #: The command that makes these results (``collapse sweep CONFIG.toml``), for messages that say
        #: how to recover; otherwise the sidecar's record of it, or a placeholder.
        self.command = command
        if path.suffix != ".parquet":
            path = path.with_name(path.name + ".parquet")
        self.path = path
        self.sidecar = path.with_suffix(".json")
        self.parts = path.with_name(path.name + ".parts")
        self.lockfile = path.with_name(path.name + ".lock")

    def check_output(self) -> None:
        """Refuse, before anything is written, an output path where results cannot go: a folder (whose name
        would otherwise get ``.parquet`` added, the results landing beside it), or a device or other
        non-file at the table's, sidecar's or given path (``-o /dev/null``)."""
        if self.given.is_dir():
            raise StoreError(f"{self.given}: is a folder; give a results file name, such as "
                             f"{self.given / 'results.parquet'}")
        for p in dict.fromkeys((self.given, self.path, self.sidecar, self.lockfile)):
            if p.exists() and not p.is_file():
                raise StoreError(f"{p}: not a regular file (a device, a pipe or a folder); give a results file name")

    def lock(self) -> StoreLock:
        """The store's exclusive lock, as a context manager: ``with store.lock(): ...``."""
        return StoreLock(self)

    # -- state ---------------------------------------------------------------------------------

    def complete(self) -> bool:
        """Whether the sweep finished (its sidecar, the commit point, is written); not yet checked."""
        return self.sidecar.exists() and self.path.exists()

    def _recover(self, meta: dict | None = None, what: str = "recompute them") -> str:
        command = self.command or (meta or {}).get("command")
        if not (isinstance(command, str) and command.startswith("collapse sweep ")):
            command = "collapse sweep CONFIG"
        return f"{what} with: {command} -o {self.path} --overwrite"

    def _json(self, path: Path, required: dict[str, type], hint: str) -> dict:
        """A JSON object of the store with the keys ``required`` of the given types; one line if not."""
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise StoreError(f"{path}: no such file (is {self.path} a results store?)") from None
        except OSError as e:
            raise StoreError(f"{path}: cannot be read ({e.strerror or e})") from None
        why = None
        try:
            data = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            why = "not UTF-8 text"
        except json.JSONDecodeError as e:
            why = f"not valid JSON: {e.msg} at line {e.lineno}" if raw.strip() else "empty"
        else:
            if not isinstance(data, dict):
                why = f"a JSON {type(data).__name__.replace('list', 'array')}, not an object"
            else:
                for key, kind in required.items():
                    v = data.get(key)
                    if not isinstance(v, kind) or isinstance(v, bool):
                        why = f"no {key!r}" if key not in data else f"{key!r} is not a JSON {kind.__name__}"
                        break
                else:
                    if isinstance(data.get("format", FORMAT), int) and data.get("format", FORMAT) > FORMAT:
                        raise StoreError(f"{path}: written by a newer version of this toolkit (format "
                                         f"{data['format']}; this one reads {FORMAT}): upgrade to read it")
        if why is not None:
            raise StoreError(f"{path}: damaged ({why}); {hint}")
        return data

    def metadata(self) -> dict:
        """The finished sweep's sidecar, checked to be one (StoreError, one line, if not)."""
        return self._json(self.sidecar, {"config": dict, "entropy": int, "cells": int, "rows": int},
                          "the results cannot be checked: " + self._recover())

    def run_metadata(self) -> dict:
        """An interrupted sweep's run.json, checked (StoreError, one line, if it is damaged)."""
        return self._json(self.parts / "run.json", {"config": dict, "entropy": int},
                          "the interrupted sweep cannot be resumed: " + self._recover(what="start it afresh"))

    def examine(self, config: dict, cells: int, rows: int, overwrite: bool = False) -> Plan:
        """What to do to run ``config`` (``cells`` cells of ``rows`` rows each) here; reads, never writes.

        Results of the same configuration are kept (finished and intact, or resumed: damaged parts are
        recomputed). Results of a different configuration, a damaged sidecar, run.json or table, or a
        table without a sidecar are a StoreError, unless ``overwrite``: then they are discarded.
        """
        fresh = Plan("fresh", {"config": config}, clear=True)

        def refuse(message: str) -> Plan:
            if not overwrite:
                raise StoreError(message)
            return fresh

        if self.sidecar.exists():
            try:
                meta = self.metadata()
            except StoreError as e:
                return refuse(str(e))
            if meta["config"] != config:
                return refuse(f"{self.path} holds the results of a different configuration; give another "
                              "output path or --overwrite")
            try:
                if meta["cells"] != cells or meta["rows"] != cells * rows:
                    raise StoreError(f"{self.sidecar}: damaged (it records {meta['cells']} cells and {meta['rows']} "
                                     f"rows; the configuration has {cells} and {cells * rows}); "
                                     + self._recover(meta, "recompute them"))
                table = self._load(meta)
            except StoreError:
                if not overwrite:
                    raise
                return Plan("fresh", {"config": config, "entropy": meta["entropy"]}, clear=True)
            return Plan("complete", meta, table=table)
        if (self.parts / "run.json").exists():
            try:
                meta = self.run_metadata()
            except StoreError as e:
                return refuse(str(e))
            if meta["config"] != config:
                return refuse(f"{self.parts} holds an interrupted sweep of a different configuration; give "
                              "another output path or --overwrite")
            done, damaged = self._check_parts(cells, rows)
            return Plan("resume", meta, done, damaged)
        if self.path.exists():
            return refuse(f"{self.path} exists but has no sidecar {self.sidecar.name} (it is not a finished "
                          "results store); give another output path or --overwrite")
        # A parts folder without run.json holds nothing usable (its seed is not recorded): discarded.
        return Plan("fresh", {"config": config}, clear=self.parts.exists())

    def _check_parts(self, cells: int, rows: int) -> tuple[set[int], list[Path]]:
        """The cells whose part file is intact (name, checksum, rows), and the part files that are not."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        done, damaged = set(), []
        for p in sorted(self.parts.glob("cell-*.parquet")):
            m = PART.fullmatch(p.name)
            index = int(m.group(1)) if m else -1
            ok = m is not None and index < cells and index not in done
            if ok:
                try:
                    data = _read(p)
                    ok = _sha256(data) == m.group(2) and pq.read_metadata(pa.BufferReader(data)).num_rows == rows
                except Exception:  # unreadable, or not Parquet after all
                    ok = False
            if ok:
                done.add(index)
            else:
                damaged.append(p)
        return done, damaged

    def prepare(self, plan: Plan) -> set[int]:
        """Carry out what :meth:`examine` found (discard, clean up); the cells already done."""
        if plan.clear:
            self.clear()
        if plan.action == "complete":
            _remove_tree(self.parts)  # left by a kill while the parts were deleted
        else:
            self.parts.mkdir(parents=True, exist_ok=True)
            for p in plan.damaged:
                _remove(p)
        self._clean()
        return set(plan.done)

    def _clean(self) -> None:
        """Remove the temporary files that interrupted writes of this store left behind."""
        folder = self.path.parent
        if folder.is_dir():
            for f in folder.iterdir():
                if _is_tmp_of(f.name, self.path) or _is_tmp_of(f.name, self.sidecar):
                    _remove(f)
        if self.parts.is_dir():
            for f in self.parts.rglob(".collapse-*.tmp"):
                _remove(f)

    def start(self, meta: dict) -> None:
        """Record a new run's metadata (with its seed entropy) before any cell runs."""
        write_atomically(self.parts / "run.json", json.dumps(meta, indent=1, sort_keys=True) + "\n")

    def progress_seconds(self) -> float:
        """Seconds an interrupted sweep had spent when its last cell was written (0 if not recorded)."""
        try:
            value = json.loads((self.parts / "progress.json").read_text())["seconds"]
            return float(value) if isinstance(value, (int, float)) and value >= 0 else 0.0
        except (OSError, ValueError, TypeError, KeyError):
            return 0.0

    # -- writing -------------------------------------------------------------------------------

    def write_cell(self, index: int, table, rows: int | None = None) -> None:
        """One finished cell's rows (a pandas DataFrame), named by the checksum of its bytes."""
        if rows is not None and len(table) != rows:
            raise RuntimeError(f"cell {index} has {len(table)} rows, not {rows}")
        data = _parquet_bytes(table)
        write_atomically(self.parts / f"cell-{index:06d}-{_sha256(data)}.parquet", data)

    def record_progress(self, seconds: float) -> None:
        write_atomically(self.parts / "progress.json", json.dumps({"seconds": round(seconds, 3)}), sync=False)

    def finish(self, meta: dict, cells: int, rows: int | None = None):
        """Gather the parts into the table, write the sidecar, remove the parts: the final DataFrame.

        Each part is checked again as it is read; a damaged one is removed, and the sweep must be run
        again to recompute it.
        """
        import pandas as pd

        found: dict[int, Path] = {}
        for p in self.parts.glob("cell-*.parquet"):
            m = PART.fullmatch(p.name)
            if m is not None:
                found.setdefault(int(m.group(1)), p)
        frames, bad = [], []
        for i in range(cells):
            p = found.get(i)
            try:
                data = _read(p) if p is not None else None
            except OSError:
                data = None
            if data is None or _sha256(data) != PART.fullmatch(p.name).group(2):
                bad.append(i)
                if p is not None:
                    _remove(p)
                continue
            frames.append(_frame(data))
        if bad:
            raise StoreError(f"cannot finish {self.path}: {len(bad)} cells missing or damaged (cell "
                             f"{', '.join(map(str, bad[:3]))}{', ...' if len(bad) > 3 else ''}); run the same command "
                             "again to recompute them")
        table = pd.concat(frames, ignore_index=True)
        if rows is not None and len(table) != cells * rows:
            raise RuntimeError(f"{self.path}: {len(table)} rows gathered, not {cells * rows}")
        data = _parquet_bytes(table)
        write_atomically(self.path, data)
        meta = {**meta, "cells": cells, "rows": len(table), "format": FORMAT, "sha256": _sha256(data)}
        write_atomically(self.sidecar, json.dumps(meta, indent=1, sort_keys=True) + "\n")  # the commit point
        _remove_tree(self.parts)
        table.attrs["metadata"] = meta
        return table

    def clear(self) -> None:
        """Discard the store: the sidecar first (so that a kill part-way never leaves a finished look)."""
        _remove(self.sidecar)
        _remove(self.path)
        _remove_tree(self.parts)

    # -- reading -------------------------------------------------------------------------------

    def read(self):
        """The finished table as a pandas DataFrame, its metadata in ``.attrs['metadata']``; checked
        against the sidecar (checksum, rows, cells): a damaged store is one line that says what to do."""
        if not self.sidecar.exists():
            if self.parts.exists():
                done = sum(1 for p in self.parts.glob("cell-*.parquet") if PART.fullmatch(p.name))
                raise StoreError(f"{self.path}: the sweep has not finished ({done} cells done in "
                                 f"{self.parts.name}); run the same command again to resume it")
            if self.path.exists():
                raise StoreError(f"{self.path} has no sidecar {self.sidecar.name} (it is not a finished results "
                                 f"store); {self._recover()}")
            raise StoreError(f"{self.path}: no such results file")
        return self._load(self.metadata())

    def _digest(self, meta: dict, hint: str) -> str:
        """The table's SHA-256 as the sidecar records it. Without a valid one (missing, null, not 64
        lowercase hex digits) the table cannot be checked, so the store is damaged: a sidecar edited to
        drop its checksum must not turn the check off."""
        sha = meta.get("sha256")
        if isinstance(sha, str) and SHA256.fullmatch(sha):
            return sha
        why = ("no 'sha256'" if "sha256" not in meta else "'sha256' is null" if sha is None else
               f"'sha256' is not a SHA-256 digest: {json.dumps(sha)[:40]}")
        raise StoreError(f"{self.sidecar}: damaged ({why}: the table cannot be checked); {hint}")

    def _load(self, meta: dict):
        hint = self._recover(meta, "recompute it")
        try:
            data = _read(self.path)
        except FileNotFoundError:
            raise StoreError(f"{self.path}: missing, although {self.sidecar.name} records a finished sweep; "
                             f"{hint}") from None
        except OSError as e:
            raise StoreError(f"{self.path}: cannot be read ({e.strerror or e})") from None
        if _sha256(data) != self._digest(meta, hint):
            raise StoreError(f"{self.path}: damaged (its checksum does not match the one in {self.sidecar.name}); "
                             f"{hint}")
        try:
            table = _frame(data)
        except Exception as e:  # pyarrow raises several types for a damaged file
            raise StoreError(f"{self.path}: not a readable Parquet file ({type(e).__name__}); {hint}") from None
        cells = int(table["cell"].nunique()) if "cell" in table.columns else meta["cells"]
        if len(table) != meta["rows"] or cells != meta["cells"]:
            raise StoreError(f"{self.path}: damaged ({len(table)} rows of {cells} cells, where {self.sidecar.name} "
                             f"records {meta['rows']} rows of {meta['cells']}); {hint}")
        table.attrs["metadata"] = meta
        return table
