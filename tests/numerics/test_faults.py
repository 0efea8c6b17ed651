"""Fault injection (issue #9): a kill at each write step of a sweep, damaged files of every kind, two
sweeps on one store, a dead worker, theory values that cannot be computed, and the smaller messages of
item 9. Each test reproduces a failure the issue reports.

Every kill here is simulated in this process at one step of the store's writes (a temporary file left
half written, a folder half deleted) and followed by a plain rerun, which must give the uninterrupted
table bit for bit; two real processes on one store run in the default suite, and the dead workers
(local processes, a Dask cluster: about 25 s each) under ``-m slow``. The kill of a real sweep process
is tests/numerics/test_sweep.py's.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import numerics.store as store_module
import numerics.sweep as sweep_module
from numerics import catalog
from numerics.execute import Serial, run_cells
from numerics.store import Store, StoreError
from numerics.sweep import Config, ConfigError, run_sweep
from numerics.theory_column import Theory

TINY = {
    "simulator": "gaussian", "generations": 3, "trials": 30, "seed": 7,
    "metrics": ["mean_sq_error", "variance_ratio"],
    "fixed": {"d": 1},
    "grid": {"n": [5, 8], "workflow": ["replace", "accumulate"]},
}
CELLS = 4
ROWS = CELLS * 3 * 2


def tiny(**changes) -> Config:
    return Config.from_dict({**json.loads(json.dumps(TINY)), **changes})


def sweep(out, cfg=None, **kw):
    return run_sweep(cfg or tiny(), out, jobs=1, progress=False, **kw)


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    return sweep(tmp_path_factory.mktemp("base") / "r.parquet")


def stray_files(folder: Path) -> list[str]:
    """What a finished store must not leave behind: temporary files, a parts folder, a lock."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")
                  if p.name.startswith(".collapse-") or p.name.endswith((".parts", ".lock")))


# -- a kill at each write step -----------------------------------------------------------------


class Killed(BaseException):
    """A kill: nothing below it runs its clean-up (no except clause of the store catches it)."""


class Killer:
    """Counts the store's write steps; at the step ``at`` (an index, or a test of (kind, file name)) it
    leaves the step half done and raises Killed."""

    def __init__(self, monkeypatch, at=None):
        self.at, self.steps = at, []
        write, remove, remove_tree = store_module.write_atomically, store_module._remove, store_module._remove_tree

        def step(kind, path):
            self.steps.append((kind, Path(path).name))
            if callable(self.at):
                return self.at(*self.steps[-1])
            return len(self.steps) - 1 == self.at

        def write_atomically(path, data, **kw):
            if step("write", path):  # a temporary file half written, never renamed
                fd, _ = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)),
                                         prefix=store_module.tmp_prefix(path), suffix=".tmp")
                os.write(fd, b"PAR1 half of a fi")
                os.close(fd)
                raise Killed
            return write(path, data, **kw)

        def _remove(path):
            if step("remove", path):
                raise Killed
            return remove(path)

        def _remove_tree(path):
            if step("remove-tree", path):  # run.json first, then half of the rest
                path = Path(path)
                if (path / "run.json").exists():
                    (path / "run.json").unlink()
                files = sorted(p for p in path.rglob("*") if p.is_file())
                for p in files[: len(files) // 2]:
                    p.unlink()
                raise Killed
            return remove_tree(path)

        monkeypatch.setattr(store_module, "write_atomically", write_atomically)
        monkeypatch.setattr(store_module, "_remove", _remove)
        monkeypatch.setattr(store_module, "_remove_tree", _remove_tree)


def test_a_kill_at_each_write_step_resumes_to_the_uninterrupted_table(tmp_path, baseline, monkeypatch):
    with monkeypatch.context() as m:
        counter = Killer(m)
        sweep(tmp_path / "count" / "r.parquet")
    steps = counter.steps
    kinds = [k for k, _ in steps]
    assert kinds.count("write") == 1 + 2 * CELLS + 2 and "remove-tree" in kinds, steps
    for at in range(len(steps)):
        out = tmp_path / f"k{at}" / "r.parquet"
        with monkeypatch.context() as m:
            Killer(m, at)
            with pytest.raises(Killed):
                sweep(out)
        said = []
        table = sweep(out, warn=said.append)
        assert table.equals(baseline), f"killed at {steps[at]}"
        assert said == [], (steps[at], said)
        assert stray_files(out.parent) == [], f"killed at {steps[at]}"
        assert Store(out).read().equals(baseline)


def test_a_kill_at_each_step_of_an_overwrite_recovers(tmp_path, monkeypatch):
    """A store of one configuration overwritten by another, killed at each step of the overwrite."""
    other = tiny(trials=31)
    expected = sweep(tmp_path / "expected" / "r.parquet", other)
    first = tmp_path / "count" / "r.parquet"
    sweep(first)
    with monkeypatch.context() as m:
        counter = Killer(m)
        sweep(first, other, overwrite=True)
    assert ("remove", "r.json") in counter.steps and ("remove-tree", "r.parquet.parts") in counter.steps
    for at in range(len(counter.steps)):
        out = tmp_path / f"k{at}" / "r.parquet"
        sweep(out)
        with monkeypatch.context() as m:
            Killer(m, at)
            with pytest.raises(Killed):
                sweep(out, other, overwrite=True)
        try:  # without --overwrite: the other configuration resumed, or one line that says what to do
            assert sweep(out, other).equals(expected)
        except StoreError as e:
            assert "--overwrite" in str(e) and "\n" not in str(e)
        assert sweep(out, other, overwrite=True).equals(expected)
        assert stray_files(out.parent) == [], f"killed at {counter.steps[at]}"


def test_a_kill_while_parts_are_deleted_is_a_finished_store(tmp_path, baseline, monkeypatch):
    """The issue's case: killed while the parts folder was removed, run.json already gone (the next
    run said "r.parquet exists but has no sidecar r.json")."""
    out = tmp_path / "r.parquet"
    with monkeypatch.context() as m:
        Killer(m, lambda kind, name: kind == "remove-tree")
        with pytest.raises(Killed):
            sweep(out)
    assert Store(out).parts.exists() and not (Store(out).parts / "run.json").exists()
    assert Store(out).read().equals(baseline)
    table = sweep(out)
    assert table.attrs["cells_run"] == 0 and table.equals(baseline) and not Store(out).parts.exists()


def interrupted(out: Path, monkeypatch) -> Store:
    """A store whose cells are all written, killed as the table was about to be."""
    with monkeypatch.context() as m:
        Killer(m, lambda kind, name: kind == "write" and name == out.name)
        with pytest.raises(Killed):
            sweep(out)
    assert len(list(Store(out).parts.glob("cell-*.parquet"))) == CELLS
    return Store(out)


def test_seconds_add_up_across_resumes(tmp_path, monkeypatch):
    """seconds in the sidecar was 0.0 after a resume that had no cell left to run."""
    now = [1000.0]

    def clock():
        now[0] += 5.0
        return now[0]

    monkeypatch.setattr(sweep_module, "clock", clock)
    store = interrupted(tmp_path / "r.parquet", monkeypatch)
    first = store.progress_seconds()
    assert first >= 5.0 * CELLS
    meta = sweep(store.path).attrs["metadata"]
    assert meta["resumed"] == CELLS and meta["seconds"] == first + 5.0  # and the resume's own time


# -- damaged files ---------------------------------------------------------------------------------


def parts_of(store: Store) -> list[Path]:
    return sorted(store.parts.glob("cell-*.parquet"))


def damage_truncate(p: Path):
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])


def damage_flip(p: Path):
    data = bytearray(p.read_bytes())
    data[len(data) // 2] ^= 0xFF
    p.write_bytes(bytes(data))


def damage_empty_table(p: Path):
    pd.read_parquet(p).iloc[:0].to_parquet(p, index=False)


def damage_drop_rows(p: Path):
    t = pd.read_parquet(p)
    t[t["cell"] != t["cell"].iloc[-1]].to_parquet(p, index=False)


@pytest.mark.parametrize("damage", [damage_truncate, damage_flip, damage_empty_table, os.unlink])
def test_a_damaged_part_is_recomputed(tmp_path, baseline, monkeypatch, damage):
    store = interrupted(tmp_path / "r.parquet", monkeypatch)
    damage(parts_of(store)[1])
    said = []
    table = sweep(store.path, warn=said.append)
    assert table.equals(baseline)
    assert table.attrs["cells_run"] == 1
    if damage is not os.unlink:
        assert any("damaged" in s and "recomputed" in s for s in said), said
    assert sweep(store.path).equals(baseline)  # and every rerun after it


PART_NAMES = ["cell-{index}-{sha}.parquet", "cell-{index}.parquet", "cell-{index}-.parquet",
              "cell-{index}-null.parquet", "cell-{index}-None.parquet", "cell-{index}-{sha}{sha}.parquet",
              "cell-{index}-" + "g" * 64 + ".parquet", "cell-{index}-" + "0" * 64 + ".parquet"]


@pytest.mark.parametrize("name", PART_NAMES)
def test_a_part_without_a_valid_checksum_is_recomputed(tmp_path, baseline, monkeypatch, name):
    """A part file's record of its checksum is its name: a part whose rows were edited, under its own
    name (now the digest of other bytes) or renamed with no valid digest (missing, null, garbage), is
    damaged and recomputed, never gathered into the table."""
    store = interrupted(tmp_path / "r.parquet", monkeypatch)
    part = parts_of(store)[1]
    _, index, sha = part.name[: -len(".parquet")].split("-")
    edit_an_estimate(part)  # trusting it would show the edit
    part.rename(part.with_name(name.format(index=index, sha=sha)))
    said = []
    table = sweep(store.path, warn=said.append)
    assert table.equals(baseline) and table.attrs["cells_run"] == 1
    assert any("damaged" in s and "recomputed" in s for s in said), said
    assert stray_files(tmp_path) == [] and not store.parts.exists()


def test_a_part_renamed_after_the_check_is_not_gathered(tmp_path, baseline, monkeypatch):
    """A part that loses its valid name while the sweep runs (after the parts were checked) is missing
    when the table is gathered: the sweep stops in one line, and the rerun recomputes it."""
    store = interrupted(tmp_path / "r.parquet", monkeypatch)
    real_run_cells = sweep_module.run_cells

    def rename_then_run(*a, **k):
        part = parts_of(store)[2]
        part.rename(part.with_name("cell-000002-null.parquet"))
        return real_run_cells(*a, **k)

    with monkeypatch.context() as m:
        m.setattr(sweep_module, "run_cells", rename_then_run)
        with pytest.raises(StoreError, match=r"cannot finish .*1 cells missing or damaged .cell 2.; run the same"):
            sweep(store.path)
    table = sweep(store.path)
    assert table.equals(baseline) and table.attrs["cells_run"] == 1


@pytest.mark.parametrize("content", [b"\x00\xff\xfe binary", b"[1, 2, 3]", b"garbage", b'{"config": {}}', b""])
def test_damaged_run_metadata_is_one_line_and_overwrite_recovers(tmp_path, baseline, monkeypatch, content):
    store = interrupted(tmp_path / "r.parquet", monkeypatch)
    (store.parts / "run.json").write_bytes(content)
    with pytest.raises(StoreError, match="run.json.*--overwrite") as e:
        sweep(store.path)
    assert "\n" not in str(e.value)
    assert sweep(store.path, overwrite=True).equals(baseline)


@pytest.mark.parametrize("content", [b"\x00\xff\xfe binary", b"[1, 2, 3]", b"garbage", b"{}", b'{"config": 3}'])
def test_a_damaged_sidecar_is_one_line_and_overwrite_recovers(tmp_path, baseline, content):
    out = tmp_path / "r.parquet"
    sweep(out)
    Store(out).sidecar.write_bytes(content)
    for attempt in (lambda: Store(out).read(), lambda: sweep(out)):
        with pytest.raises(StoreError, match=r"r\.json.*damaged.*--overwrite") as e:
            attempt()
        assert "\n" not in str(e.value)
    assert sweep(out, overwrite=True).equals(baseline)
    assert Store(out).read().equals(baseline)


@pytest.mark.parametrize("damage", [damage_truncate, damage_flip, damage_drop_rows, os.unlink])
def test_a_damaged_table_is_refused_and_overwrite_recovers(tmp_path, damage):
    cfg = tiny(seed=None)  # fresh entropy: recovering must reuse the recorded one
    out = tmp_path / "r.parquet"
    first = sweep(out, cfg)
    damage(out)
    for attempt in (lambda: Store(out).read(), lambda: sweep(out, cfg)):
        with pytest.raises(StoreError, match=r"r\.parquet.*--overwrite") as e:
            attempt()
        assert "\n" not in str(e.value)
    again = sweep(out, cfg, overwrite=True)
    assert again.equals(first) and again.attrs["metadata"]["entropy"] == first.attrs["metadata"]["entropy"]


def test_a_sidecar_whose_row_count_was_edited_is_refused(tmp_path):
    """The rows and cells the sidecar records are checked against the table, not only its checksum."""
    out = tmp_path / "r.parquet"
    sweep(out)
    meta = json.loads(Store(out).sidecar.read_text())
    meta["rows"] = 18
    Store(out).sidecar.write_text(json.dumps(meta))
    with pytest.raises(StoreError, match=rf"{ROWS} rows of 4 cells, where r.json records 18 rows of 4.*--overwrite"):
        Store(out).read()


def edit_an_estimate(path: Path) -> None:
    """What a careless hand does to a finished table: one estimate changed, the file rewritten."""
    t = pd.read_parquet(path)
    t.loc[0, "estimate"] = 999.0
    t.to_parquet(path, index=False)


#: Sidecar digests that do not check the table (issue #18 item 3: null or deleted turned the check off).
BAD_DIGESTS = {
    "deleted": None, "null": "null", "number": 0, "false": False, "empty": "", "list": [], "object": {},
    "short": "03476efea5448339", "not hex": "g" * 64, "too long": "0" * 65, "uppercase": "UPPER",
    "another table's": "0" * 64,
}


@pytest.mark.parametrize("digest", list(BAD_DIGESTS), ids=list(BAD_DIGESTS))
def test_a_sidecar_without_a_valid_checksum_is_a_damaged_store(tmp_path, digest):
    """The table edited and the sidecar's checksum deleted, null or garbage: every read and every rerun
    refuses in one line that says how to recover (never the edited estimate, never "already complete"),
    and --overwrite recomputes the table with the recorded seed."""
    cfg = tiny(seed=None)
    out = tmp_path / "r.parquet"
    first = sweep(out, cfg)
    edit_an_estimate(out)
    meta = json.loads(Store(out).sidecar.read_text())
    value = BAD_DIGESTS[digest]
    if digest == "deleted":
        del meta["sha256"]
    elif digest == "null":
        meta["sha256"] = None
    elif digest == "uppercase":  # the right digest of the edited table, in the wrong case
        import hashlib

        meta["sha256"] = hashlib.sha256(out.read_bytes()).hexdigest().upper()
    else:
        meta["sha256"] = value
    Store(out).sidecar.write_text(json.dumps(meta))
    where = r"r\.parquet: damaged .its checksum does not match" if digest == "another table's" else r"r\.json: damaged"
    for attempt in (lambda: Store(out).read(), lambda: sweep(out, cfg)):
        with pytest.raises(StoreError, match=where + r".*collapse sweep CONFIG -o .*r\.parquet --overwrite") as e:
            attempt()
        assert "\n" not in str(e.value)
    again = sweep(out, cfg, overwrite=True)
    assert again.attrs["cells_run"] == CELLS and again.equals(first)
    assert again.attrs["metadata"]["entropy"] == first.attrs["metadata"]["entropy"]
    assert Store(out).read().equals(first)


def test_the_sidecar_records_rows_cells_and_checksum(tmp_path):
    import hashlib

    out = tmp_path / "r.parquet"
    sweep(out)
    meta = json.loads(Store(out).sidecar.read_text())
    assert meta["cells"] == CELLS and meta["rows"] == ROWS
    assert meta["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()


def test_overwrite_keeps_an_intact_store_of_the_same_configuration(tmp_path):
    out = tmp_path / "r.parquet"
    sweep(out)
    stamp = out.stat().st_mtime_ns
    assert sweep(out, overwrite=True).attrs["cells_run"] == 0 and out.stat().st_mtime_ns == stamp


def test_an_edited_table_with_a_null_checksum_from_the_command_line(tmp_path, monkeypatch):
    """The issue's case: sweep --show, plot and the report showed the edited estimate (exit status 0),
    and a rerun said "already complete"."""
    from collapse import report

    (tmp_path / "c.toml").write_text(TOML)
    with monkeypatch.context() as m:
        m.chdir(tmp_path)
        sweep("r", Config.from_toml("c.toml"))
    edit_an_estimate(tmp_path / "r.parquet")
    meta = json.loads((tmp_path / "r.json").read_text())
    meta["sha256"] = None
    (tmp_path / "r.json").write_text(json.dumps(meta))
    said = ("r.json: damaged ('sha256' is null: the table cannot be checked); recompute it with: "
            "collapse sweep c.toml -o r.parquet --overwrite")
    for args in (("sweep", "--show", "r.parquet"), ("plot", "r.parquet"),
                 ("sweep", "c.toml", "-o", "r", "--jobs", "1", "--no-progress")):
        proc = _collapse(*args, cwd=tmp_path)
        assert proc.returncode == 2 and proc.stderr.strip().splitlines()[-1].endswith(said), (args, proc.stderr)
        assert "999" not in proc.stdout and "already complete" not in proc.stderr, (args, proc.stdout, proc.stderr)
    assert not list(tmp_path.glob("r*.png"))
    monkeypatch.chdir(tmp_path)
    section = report.store_section("r", Path("r.parquet"), "collapse sweep c.toml -o r", {}, report._current())
    assert section.warning == said and section.table is None and not section.figures


def test_a_table_without_a_sidecar_asks_for_overwrite(tmp_path, baseline):
    out = tmp_path / "r.parquet"
    sweep(out)
    Store(out).sidecar.unlink()
    with pytest.raises(StoreError, match=r"no sidecar r\.json.*--overwrite"):
        sweep(out)
    assert sweep(out, overwrite=True).equals(baseline)


def _collapse(*args, cwd=None, timeout=120):
    return subprocess.run([sys.executable, "-m", "collapse", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd)


TOML = """
simulator = "gaussian"
generations = 3
trials = 30
seed = 7
metrics = ["mean_sq_error", "variance_ratio"]
[fixed]
d = 1
[grid]
n = [5, 8]
workflow = ["replace", "accumulate"]
"""


def test_damaged_files_from_the_command_line(tmp_path, monkeypatch):
    (tmp_path / "c.toml").write_text(TOML)
    with monkeypatch.context() as m:
        m.chdir(tmp_path)
        sweep("r", Config.from_toml("c.toml"))
    (tmp_path / "r.json").write_bytes(b"\x89PNG\x00\xff")
    for args in (("sweep", "c.toml", "-o", "r", "--jobs", "1"), ("sweep", "--show", "r.parquet")):
        proc = _collapse(*args, cwd=tmp_path)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
        lines = proc.stderr.strip().splitlines()  # a sweep says what it plans to run first
        assert len(lines) == 1 + (args[1] == "c.toml"), proc.stderr
        config = "c.toml" if args[1] == "c.toml" else "CONFIG"  # the damaged sidecar's record of it is lost
        assert "r.json: damaged" in lines[-1] and f"collapse sweep {config} -o r.parquet --overwrite" in lines[-1], lines
    proc = _collapse("sweep", "c.toml", "-o", "r", "--jobs", "1", "--overwrite", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert len(Store(tmp_path / "r.parquet").read()) == ROWS


# -- one lock per store ------------------------------------------------------------------------------


def test_a_store_in_use_is_refused_in_one_line(tmp_path):
    out = tmp_path / "r.parquet"
    with Store(out).lock():
        with pytest.raises(StoreError, match="another collapse sweep") as e:
            sweep(out)
        assert "\n" not in str(e.value)
    assert not Store(out).lockfile.exists()
    sweep(out)
    assert stray_files(tmp_path) == []


def test_the_lock_is_released_when_a_run_fails(tmp_path, monkeypatch):
    out = tmp_path / "r.parquet"

    def boom(*a, **k):
        raise Killed

    with monkeypatch.context() as m:
        m.setattr(sweep_module, "run_cells", boom)
        with pytest.raises(Killed):
            sweep(out)
    with Store(out).lock():  # free again
        pass


def test_a_finished_store_in_a_read_only_folder_is_still_read(tmp_path, baseline, monkeypatch):
    """The lock file cannot be made where the folder is read-only: a finished store is read as before,
    anything that would write is refused in one line."""
    import errno

    out = tmp_path / "r.parquet"
    sweep(out)
    real_open = os.open

    def read_only(path, *a, **k):
        if str(path).endswith(".lock"):
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_open(path, *a, **k)

    monkeypatch.setattr(os, "open", read_only)
    assert sweep(out).equals(baseline)
    with pytest.raises(StoreError, match="cannot write the results there .Permission denied.; give another"):
        sweep(tmp_path / "new.parquet")


SLOWISH = """
simulator = "gaussian"
generations = 20
trials = 800
metrics = ["mean_sq_error"]
[fixed]
d = 6
[grid]
n = [30, 40, 50]
workflow = ["replace", "accumulate-subsample"]
"""


def test_two_sweeps_on_one_store_do_not_mix_seeds(tmp_path):
    """The issue's case: two sweeps without a seed started together on one output. The one that comes
    second to the store is refused in one line (exit status 2; or, had the first already finished, it
    finds the finished store), the other finishes, and every cell is reproduced from the recorded seed."""
    (tmp_path / "c.toml").write_text(SLOWISH)
    cmd = [sys.executable, "-m", "collapse", "sweep", "c.toml", "-o", "r", "--jobs", "1", "--no-progress"]
    procs = [subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    results = [(p.wait(timeout=300), p.communicate()[1]) for p in procs]
    results.sort(key=lambda r: "another collapse sweep" in r[1] or "already complete" in r[1])
    (rc, err), (rc2, err2) = results
    assert rc == 0 and "6 cells, 120 rows" in err, err
    if "already complete" not in err2:
        assert rc2 == 2 and "is being written by another collapse sweep" in err2 and "Traceback" not in err2, err2
        assert len(err2.strip().splitlines()) == 2, err2  # the plan line, then the refusal
    table = Store(tmp_path / "r.parquet").read()
    cells = sweep_module.cells_of(Config.from_toml(tmp_path / "c.toml"))
    summaries = run_cells(cells, table.attrs["metadata"]["entropy"], Serial())
    for i in range(len(cells)):
        est, _ = summaries[i]["mean_sq_error"].estimate("mean")
        assert np.array_equal(table[table.cell == i].estimate.to_numpy(), np.asarray(est, dtype=float)), i
    assert stray_files(tmp_path) == []


# -- the theory column never crashes a finished simulation -----------------------------------------


def _column(sim_name: str, metric: str, settings: dict, generations: int):
    sim = catalog.get(sim_name)
    return Theory().for_metric(sim, metric, sim.resolve(settings), list(range(sim.first, generations + 1)))


@pytest.mark.parametrize("n, generations", [(50, 183), (1000, 200)])
def test_long_gaussian_chains_have_a_theory_column(n, generations):
    """The issue's case (OverflowError after 183 generations at n = 50): every value is computed."""
    for metric in ("mean_sq_error", "trace_ratio", "det_ratio"):
        col = _column("gaussian", metric, {"d": 3, "n": n, "workflow": "replace", "estimator": "unbiased"},
                      generations)
        assert col["theory_note"] == "" and np.isfinite(col["theory"]).all(), (metric, col["theory_note"])


def test_a_theory_value_that_cannot_be_computed_is_missing_with_the_reason():
    """A metric that measures a quantity no claim holds for at the cell (the determinant under accumulate):
    missing values, and the claims' own reasons."""
    col = _column("gaussian", "det_ratio", {"d": 2, "n": 5, "workflow": "accumulate"}, 3)
    assert np.isnan(col["theory"]).all() and len(col["theory"]) == 3
    assert "no claim holds here" in col["theory_note"] and "mvgaussian.det_ratio" in col["theory_note"]


def test_an_unexpected_theory_failure_does_not_crash_the_sweep(tmp_path, monkeypatch):
    def boom(*a, **k):
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(Theory, "_fast", boom)
    table = sweep(tmp_path / "r.parquet")
    rows = table[table.metric == "mean_sq_error"]
    assert len(table) == ROWS and rows.theory.isna().all()
    assert rows.theory_note.str.contains("RecursionError").all()


# -- item 9: smaller messages ---------------------------------------------------------------------


def test_verify_with_too_few_trials_warns_before_and_after(capsys):
    """verify --trials 2 or 3 failed correct claims in most runs without a word: now it says, before
    the run and again under the verdicts, that the tests are not calibrated at that size."""
    from collapse.cli import main

    main(["verify", "gaussian.mean_sq_error", "--trials", "3", "--jobs", "1", "--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].startswith("warning: with 3 trials the table's tests are not calibrated"), err
    assert err[-1] == err[0]


@pytest.mark.parametrize("args", [("--workers", "0"), ("--jobs", "0")])
def test_zero_workers_is_refused(tmp_path, args):
    (tmp_path / "c.toml").write_text(TOML)
    proc = _collapse("sweep", "c.toml", *args, cwd=tmp_path)
    assert proc.returncode == 2 and "must be an integer >= 1" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and not list(tmp_path.glob("r*"))


def test_an_empty_grid_is_refused():
    with pytest.raises(ConfigError, match=r"\[grid\] is empty"):
        tiny(grid={})


def test_no_port_in_use_warning_when_the_dashboard_is_off():
    pytest.importorskip("distributed")
    from numerics import execute

    busy = socket.socket()
    try:
        busy.bind(("127.0.0.1", 8787))
        busy.listen()
    except OSError:  # already in use: the case itself
        pass
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            runner = execute.backend(workers=1)
            runner.close()
        assert not [w for w in caught if "already in use" in str(w.message)]
    finally:
        busy.close()


# -- a dead worker -----------------------------------------------------------------------------------


def _workers(pid: int) -> list[int]:
    """The pool's worker processes among the children of ``pid`` (not the resource tracker)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid and b"spawn_main" in cmdline:
            out.append(int(entry.name))
    return out


def _kill_a_worker_mid_run(tmp_path, *backend, timeout):
    """Start SLOWISH's sweep at 5 times its trials on ``backend``, SIGKILL one worker once a cell is done,
    wait for the sweep: (the command, the finished process, its stderr). At SLOWISH's own 800 trials a cell
    took about 0.1 s: by the time the first cell was stored the workers had run every other, and the kill
    hit a worker with nothing left to do (the sweep finished, exit status 0); at 4,000 the other cells still
    run when it comes."""
    (tmp_path / "c.toml").write_text(SLOWISH.replace("metrics =", "seed = 3\nmetrics =")
                                     .replace("trials = 800", "trials = 4000"))
    cmd = [sys.executable, "-m", "collapse", "sweep", "c.toml", "-o", "r", *backend, "--no-progress"]
    proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    parts = tmp_path / "r.parquet.parts"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None and not list(parts.glob("cell-*.parquet")):
        time.sleep(0.05)
    workers = _workers(proc.pid)
    assert workers and proc.poll() is None, "the sweep finished before a worker could be killed"
    os.kill(workers[0], signal.SIGKILL)
    _, err = proc.communicate(timeout=timeout)
    return cmd, proc, err


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc").exists(), reason="reads the process table from /proc")
def test_a_dead_worker_is_one_line_and_the_sweep_resumes(tmp_path):
    """Local processes: a worker killed mid-run stops the sweep in one line (exit status 2), its
    finished cells kept; the rerun resumes to the uninterrupted table (about 20 s)."""
    cmd, proc, err = _kill_a_worker_mid_run(tmp_path, "--jobs", "2", timeout=120)
    parts = tmp_path / "r.parquet.parts"
    assert proc.returncode == 2 and "a worker process died" in err and "Traceback" not in err, err
    kept = len(list(parts.glob("cell-*.parquet")))
    assert kept >= 1
    rerun = subprocess.run(cmd[:-3] + ["--jobs", "1", "--no-progress"], cwd=tmp_path, capture_output=True,
                           text=True, timeout=300)
    assert rerun.returncode == 0 and f"resumed: {kept} of 6 cells" in rerun.stderr, rerun.stderr
    whole = sweep(tmp_path / "whole.parquet", Config.from_toml(tmp_path / "c.toml"))
    assert Store(tmp_path / "r.parquet").read().equals(whole)


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc").exists(), reason="reads the process table from /proc")
def test_a_dead_dask_worker_is_replaced_and_the_bits_are_the_same(tmp_path):
    """A local Dask cluster: the nanny restarts a killed worker and its blocks run again, with the same
    numbers (each block's stream is a function of the seed, the cell and the block alone)."""
    pytest.importorskip("distributed")
    _, proc, err = _kill_a_worker_mid_run(tmp_path, "--workers", "2", timeout=300)
    assert proc.returncode == 0 and "Traceback" not in err, err
    whole = sweep(tmp_path / "whole.parquet", Config.from_toml(tmp_path / "c.toml"))
    assert Store(tmp_path / "r.parquet").read().equals(whole)

