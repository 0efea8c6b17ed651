"""The fault-and-abuse suite of issue 18: each probe a hostile or careless user tried, as a test, so that
none of them returns. Every run here is refused or fails before it costs anything: where a missing fix
would start a real run (hours, or memory the machine does not have), the simulation itself is replaced
by a stub that fails the test at once.

Sizing (numerics.execute.check_resources, which every sweep, verify and check goes through; the limits
are in docs/limits.md): a cell no machine holds, and a run estimated over an hour without ``yes``, are
refused in one line naming the cell, before any cell is tried (Config.check_cells); a direct simulator
call of the Python API is sized by numerics.driver and runs in bounded blocks. Output paths are
checked before work; NaN never reaches a store; a damaged checkpoint is named, never resumed.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import numerics.execute as execute
from numerics import catalog, checkpoint
from numerics.catalog import Metric
from numerics.config import Config, ConfigError
from numerics.execute import RunError
from numerics.store import Store, StoreError
from numerics.sweep import run_sweep

GAUSSIAN = {"simulator": "gaussian", "generations": 3, "trials": 10, "seed": 0, "metrics": ["mean_sq_error"]}


def config(fixed: dict, grid: dict | None = None, **top) -> Config:
    data = {**GAUSSIAN, **top, "fixed": {"workflow": "replace", **fixed}}
    if grid:
        data["grid"] = grid
    return Config.from_dict(data)


@pytest.fixture
def nothing_runs(monkeypatch):
    """Fail the test at once if a sized-out run would try a cell or start simulating."""
    def ran(*a, **k):
        raise AssertionError("the run was not refused before it started")

    monkeypatch.setattr(Config, "check_cells", ran)
    monkeypatch.setattr(execute, "run_cells", ran)
    monkeypatch.setattr("numerics.sweep.run_cells", ran)


def _collapse(*args, cwd=None, timeout=120):
    return subprocess.run([sys.executable, "-m", "collapse", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd)


# -- sizing before anything runs (issue 18 item 4) -----------------------------------------------------


@pytest.mark.parametrize("fixed", [{"d": 100_000, "n": 10}, {"d": 2, "n": 10**12, "sampler": "points"}],
                         ids=["d=100000", "n=10**12"])
def test_a_cell_no_machine_holds_is_refused_before_it_is_tried(tmp_path, nothing_runs, fixed):
    """Both ended in "internal error: MemoryError" from the trial run of the configuration's cells."""
    with pytest.raises(RunError, match=r"gaussian .*needs about .* TiB|gaussian .*needs about .* GiB"):
        run_sweep(config(fixed), tmp_path / "r.parquet", jobs=1, progress=False, yes=True)
    assert not list(tmp_path.iterdir())


def test_a_grid_over_the_time_limit_needs_yes(tmp_path, monkeypatch):
    """A 19,900-cell grid printed nothing for a minute (it tried every cell) before it ran for hours."""
    tried = []

    def check_cells(self):
        tried.append(self)
        raise KeyError("tried")

    monkeypatch.setattr(Config, "check_cells", check_cells)
    big = config({}, {"d": list(range(1, 101)), "n": list(range(10, 209))}, generations=100, trials=100)
    assert len(big.cells()) == 19_900
    start = time.monotonic()
    with pytest.raises(RunError, match=r"takes roughly .* \(19,900 cells, the longest gaussian d=100 n=208 workflow=replace\).*--yes"):
        run_sweep(big, tmp_path / "r.parquet", jobs=1, progress=False)
    assert time.monotonic() - start < 30 and not tried and not list(tmp_path.iterdir())
    with pytest.raises(KeyError, match="tried"):  # with yes, its cells are tried (and here, the stub stops it)
        run_sweep(big, tmp_path / "r.parquet", jobs=1, progress=False, yes=True)


def test_verify_and_check_go_through_the_same_limit(nothing_runs):
    from numerics.verify import default_items, run

    items, _ = default_items(["gaussian.w2_risk"])
    with pytest.raises(RunError, match="give --yes"):
        run(items, trials=10**9, runner=execute.Serial())


def test_the_command_line_refuses_in_one_line_with_exit_2(tmp_path):
    (tmp_path / "big.toml").write_text('simulator = "gaussian"\ngenerations = 3\ntrials = 10\nseed = 0\n'
                                       'metrics = ["mean_sq_error"]\n[fixed]\nd = 100000\nn = 10\nworkflow = "replace"\n')
    r = _collapse("sweep", "big.toml", "--jobs", "1", cwd=tmp_path)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and lines[-1].startswith("collapse sweep: gaussian d=100000 n=10 workflow=replace needs about"), r.stderr
    assert "internal error" not in r.stderr and sorted(p.name for p in tmp_path.iterdir()) == ["big.toml"]


@pytest.mark.parametrize("settings, message", [
    ({"hidden": 10**8}, r"images hidden=100000000 needs about .* TiB"),
    ({"latent": 10**8}, r"images latent=100000000 needs about .* TiB"),
    ({"budget": "steps", "steps": 10**9}, r"takes roughly .* days .*steps=1000000000.*--yes"),
])
def test_image_models_are_sized_by_their_width_and_steps(tmp_path, nothing_runs, settings, message):
    """hidden or latent of 1e8 ended in torch's "can't allocate"; steps of 1e9 printed nothing for minutes."""
    pytest.importorskip("torch")
    import deep.simulators  # noqa: F401  (registers the images simulator)

    cfg = Config.from_dict({"simulator": "images", "generations": 2, "trials": 2, "seed": 0, "metrics": ["test_loss"],
                            "fixed": {"data": "digits", "model": "vae", **settings}})
    with pytest.raises(RunError, match=message):
        run_sweep(cfg, tmp_path / "r.parquet", jobs=1, progress=False, yes="steps" not in settings)


def test_image_blocks_of_the_shipped_sizes_are_unchanged():
    """The honest memory of an image model changes a block's seeds only where 64 of them do not fit."""
    pytest.importorskip("torch")
    import deep.simulators  # noqa: F401

    sim = catalog.get("images")
    for settings in ({}, {"model": "ae", "workflow": "accumulate"}, {"n": 300, "samples": 300}):
        assert sim.block_size(sim.resolve({"data": "digits", **settings}), 10) == 64
    assert sim.block_size(sim.resolve({"data": "digits", "hidden": 4096}), 10) < 64


def test_a_bridge_no_machine_holds_is_refused(tmp_path, nothing_runs):
    pytest.importorskip("torch")
    import deep.simulators  # noqa: F401

    cfg = Config.from_dict({"simulator": "bridge", "generations": 2, "trials": 2, "seed": 0,
                            "metrics": ["mean_sq_error"], "fixed": {"model": "affine", "d": 100_000, "n": 20}})
    with pytest.raises(RunError, match=r"bridge d=100000 n=20 needs about"):
        run_sweep(cfg, tmp_path / "r.parquet", jobs=1, progress=False, yes=True)


# -- one-line errors where "internal error" was (item 7) -----------------------------------------------


@pytest.mark.parametrize("key, value", [("seed", float("nan")), ("seed", float("inf")), ("generations", float("inf")),
                                        ("trials", float("nan"))])
def test_nan_and_inf_in_integer_keys_are_named(key, value):
    with pytest.raises(ConfigError, match=f"{key} must be an integer, got {value}"):
        Config.from_dict({**GAUSSIAN, key: value, "fixed": {"n": 5, "workflow": "replace"}})


def test_a_malformed_scheduler_address_is_one_line():
    pytest.importorskip("distributed")
    with pytest.raises(RunError, match="--scheduler bogus: not a scheduler address .*tcp://host:8786"):
        execute.backend(scheduler="bogus")


# -- output paths are checked before work (item 8) -----------------------------------------------------


def test_an_output_folder_is_refused_not_written_beside(tmp_path, nothing_runs):
    (tmp_path / "out").mkdir()
    with pytest.raises(StoreError, match="out: is a folder; give a results file name"):
        run_sweep(config({"n": 5}), tmp_path / "out", jobs=1, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"] and not list((tmp_path / "out").iterdir())


def test_a_device_is_not_a_results_store(nothing_runs):
    if not Path("/dev/null").exists():
        pytest.skip("no /dev/null here")
    with pytest.raises(StoreError, match="/dev/null: not a regular file"):
        run_sweep(config({"n": 5}), "/dev/null", jobs=1, progress=False)
    assert not Path("/dev/null.parquet").exists() and not Path("/dev/null.parquet.lock").exists()


def test_report_refuses_a_verify_table_or_store_that_is_not_there(tmp_path, capsys):
    from collapse.cli import main

    assert main(["report", "--verify", str(tmp_path / "nosuch.json"), "--output", str(tmp_path / "r.html")]) == 2
    assert "--verify" in capsys.readouterr().err and not (tmp_path / "r.html").exists()
    assert main(["report", str(tmp_path / "nosuch"), "--output", str(tmp_path / "r.html")]) == 2
    assert "no such results store" in capsys.readouterr().err and not (tmp_path / "r.html").exists()


def test_list_with_no_matching_claim_says_so(capsys):
    from collapse.cli import main

    assert main(["list", "nosuch"]) == 2
    err = capsys.readouterr().err
    assert "no claim id contains 'nosuch'" in err and len(err.strip().splitlines()) == 1


# -- no NaN stored as a result (item 5) -----------------------------------------------------------------


def test_a_nan_metric_value_stops_the_cell_and_names_it(tmp_path, monkeypatch):
    sim = catalog.get("gaussian")
    real = sim.metrics["mean_sq_error"]

    def poisoned(v, c):
        v = np.array(v, dtype=float)
        v[3, 1] = np.nan  # trial 3, the second generation
        return v

    monkeypatch.setitem(sim.metrics, "mean_sq_error", Metric(real.doc, real.output, poisoned))
    out = tmp_path / "r.parquet"
    with pytest.raises(RunError, match=r"gaussian n=5 workflow=replace: metric 'mean_sq_error' is nan at generation 2 \(trial 3; "
                                       r"1 of 10 trials"):
        run_sweep(config({"n": 5}), out, jobs=1, progress=False)
    assert not Store(out).complete()


def test_a_metric_may_declare_non_finite_values():
    assert catalog.get("gaussian").metrics["log_det_ratio"].nonfinite
    assert not catalog.get("gaussian").metrics["mean_sq_error"].nonfinite


def _interrupted_images_checkpoint(path: Path, monkeypatch):
    """An images run of 3 generations killed after the first one's checkpoint; the runner to resume it."""
    pytest.importorskip("torch")
    import deep.simulators  # noqa: F401

    sim = catalog.get("images")
    settings = sim.resolve({"n": 60, "epochs": 1.0, "batch": 30, "hidden": 16, "latent": 2, "samples": 40})

    def run():
        return sim.call(2, np.random.default_rng(0), settings, 3, ["test_loss"], checkpoint=str(path))

    save = checkpoint.save

    def save_then_die(*a, **k):
        save(*a, **k)
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(checkpoint, "save", save_then_die)
        with pytest.raises(KeyboardInterrupt):
            run()
    return run


def test_a_checkpoint_whose_state_is_empty_names_what_is_missing(tmp_path, monkeypatch):
    """It was "internal error: KeyError: 'test'"."""
    path = tmp_path / "run.ckpt"
    run = _interrupted_images_checkpoint(path, monkeypatch)
    doc, arrays = checkpoint.read_raw(path)
    doc["tree"]["d"]["state"] = {"d": {}}
    checkpoint.write_raw(path, doc, arrays)
    with pytest.raises(checkpoint.CheckpointError, match="cannot be resumed: its state has no 'test'; delete it"):
        run()


def test_a_checkpoint_with_nan_in_its_state_is_not_resumed(tmp_path, monkeypatch):
    path = tmp_path / "run.ckpt"
    run = _interrupted_images_checkpoint(path, monkeypatch)
    doc, arrays = checkpoint.read_raw(path)
    key = f"a{doc['tree']['d']['state']['d']['test']['tree']['a']}"
    arrays[key] = np.full_like(arrays[key], np.nan)
    checkpoint.write_raw(path, doc, arrays)
    with pytest.raises(checkpoint.CheckpointError, match=r"cannot be resumed: it holds NaN \(state.test\)"):
        run()


# -- direct simulator calls (issue 18 item 11) ----------------------------------------------------------


def test_the_python_api_runs_a_call_too_large_for_one_block_in_bounded_blocks(monkeypatch):
    """simulate_fixed_design(accumulate-subsample, 20,000 trials, d = 10, T = 32, 100 generations) held every
    trial's pool at once (5.6 GiB resident, 9.7 GB in the issue): now its first block holds at most
    driver.CALL_MEMORY (the block is stopped here, before it is simulated)."""
    from numerics import driver, regression

    seen = []

    def first_block(family, workflow, generations, trials, rng, **kw):
        seen.append(trials * driver.size_of(family, workflow, generations).total)
        raise KeyboardInterrupt

    monkeypatch.setattr(driver, "run_chain", first_block)
    with pytest.raises(KeyboardInterrupt):
        regression.simulate_fixed_design(20000, np.random.default_rng(0), generations=100, d=10, T=32,
                                         workflow="accumulate-subsample")
    assert len(seen) == 1 and seen[0] <= driver.CALL_MEMORY


def test_a_direct_call_whose_trial_cannot_fit_names_the_setting(monkeypatch):
    from numerics import driver, regression

    monkeypatch.setenv("COLLAPSE_MEMORY_LIMIT", str(2**20))
    with pytest.raises(driver.TooLarge, match=r"^one trial of this run needs about 8.[0-9]* MiB .*use fewer generations"):
        regression.simulate_fixed_design(10, np.random.default_rng(0), generations=3000, d=10, T=32,
                                         workflow="accumulate-subsample")
