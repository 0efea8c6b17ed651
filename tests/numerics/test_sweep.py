"""Sweeps: configuration, backends (bit-identical results), the results store, resume after a kill."""

import hashlib
import json
import math
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from numerics import gaussian
from numerics.rng import blocks, seed_sequence
from numerics.store import Store, StoreError, write_atomically
from numerics import catalog
from numerics.sweep import Config, ConfigError, run_sweep
from theory import CLAIMS

ROOT = Path(__file__).resolve().parents[2]

SMALL = {
    "simulator": "gaussian", "generations": 4, "trials": 300, "seed": 3,
    "metrics": ["mean_sq_error", "trace_ratio", "det_ratio", "variance_ratio"],
    "fixed": {"estimator": "mle", "sampler": "auto"},
    "grid": {"d": [1, 3], "n": [5, 20], "workflow": ["replace", "accumulate", "accumulate-subsample"]},
}

#: Two blocks per cell (4096 + 904 trials): merging block summaries is exercised on every backend.
TWO_BLOCKS = {
    "simulator": "gaussian", "generations": 3, "trials": 5000, "seed": 1,
    "metrics": ["mean_sq_error", "variance_ratio"],
    "fixed": {"d": 1, "n": 6},
    "grid": {"workflow": ["replace", "accumulate-subsample"]},
}


def config(**changes):
    data = json.loads(json.dumps(SMALL))
    data.update(changes)
    return Config.from_dict(data)


# -- configuration ------------------------------------------------------------------------------


@pytest.mark.parametrize("changes, message", [
    ({"simulatr": "gaussian"}, "unknown key 'simulatr'"),
    ({"simulator": "gauss"}, "simulator must be one of"),
    ({"metrics": ["mse"]}, "metrics: 'mse' is not a metric of simulator 'gaussian'"),
    ({"trials": 1}, "trials must be >= 2"),
    ({"generations": 2.5}, "generations must be an integer"),
    ({"seed": -1}, "seed must be a non-negative integer"),
    ({"grid": {"dim": [1]}}, "grid.dim: simulator 'gaussian' has no setting 'dim'"),
    ({"grid": {"n": [10], "workflow": ["replace", "recycle"]}}, "grid.workflow must be one of"),
    ({"grid": {"n": [10, 10], "workflow": ["replace"]}}, "grid.n repeats a value"),
    ({"grid": {"n": [], "workflow": ["replace"]}}, "grid.n must be a non-empty list"),
    ({"grid": {"workflow": ["replace"]}}, "setting 'n' .* must be given"),
    ({"fixed": {"n": 5}, "grid": {"n": [6], "workflow": ["replace"]}}, "'n' is in both"),
    ({"grid": {"n": [1, 5], "workflow": ["replace"]}}, "grid.n must be >= 2, got 1"),
    ({"fixed": {"sampler": "sufficient"}}, "cell .*accumulate-subsample.*sampler='sufficient' serves"),
    ({"grid": {}}, "\\[grid\\] is empty"),
    ({"trials": 10**12}, "trials must be at most 1e\\+09"),
    ({"generations": 10**9}, "generations must be at most 1e\\+06"),
    ({"grid": {"n": list(range(2, 400)), "d": list(range(1, 400)), "workflow": ["replace"]}}, "at most 100,000 are allowed"),
    ({"fixed": {"workflow": "real-fraction", "n": 10}, "grid": {"real_fraction": [0.5, 2.0]}}, "grid.real_fraction must be <= 1"),
])
def test_bad_configuration_is_named(changes, message):
    with pytest.raises(ConfigError, match=message):
        config(**changes).check_cells()  # what a sweep tries after sizing the run


def test_toml_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("simulator = \n")
    with pytest.raises(ConfigError, match="bad.toml: not valid TOML"):
        Config.from_toml(bad)
    with pytest.raises(ConfigError, match="no such file"):
        Config.from_toml(tmp_path / "missing.toml")
    bad.write_text('simulator = "gaussian"\ngenerations = 3\ntrials = 10\nmetrics = ["w2"]\n[grid]\nn = ["ten"]\n')
    with pytest.raises(ConfigError, match="bad.toml: grid.n must be an integer, got 'ten'"):
        Config.from_toml(bad)


@pytest.mark.parametrize("name", ["kazdan-gaussian", "survey-fig6"])
def test_shipped_configs_are_valid(name):
    cfg = Config.from_toml(name)
    if name == "kazdan-gaussian":
        assert len(cfg.cells()) == 75 and cfg.generations == 100 and cfg.trials == 100
        assert cfg.fixed["estimator"] == "mle"
    else:
        assert cfg.trials >= 10_000 and cfg.metrics == ("variance_ratio",)


def test_cells_are_the_grid_in_order_with_defaults():
    cells = config().cells()
    assert len(cells) == 12
    assert cells[0] == {"d": 1, "n": 5, "sigma": 1.0, "estimator": "mle", "workflow": "replace",
                        "real_fraction": None, "train_size": None, "synthetic": None, "alpha": None,
                        "first_fit": "real", "sampler": "auto", "cross_with": None}
    assert [c["workflow"] for c in cells[:3]] == ["replace", "accumulate", "accumulate-subsample"]


# -- what a cell computes --------------------------------------------------------------------------


def test_a_cell_is_the_simulator_run_on_its_own_block_streams(tmp_path):
    """The table's estimate is the plain mean over the cell's trials of the simulator's output."""
    cfg = config(grid={"d": [3], "n": [20], "workflow": ["accumulate-subsample"]}, trials=50)
    table = run_sweep(cfg, tmp_path / "r", jobs=1, progress=False)
    cell = cfg.cells()[0]
    ss = np.random.SeedSequence(table.attrs["metadata"]["entropy"])
    sim = catalog.get("gaussian")
    drawn = {k: v for k, v in cell.items() if sim.settings[k].affects_draws}
    outs = [gaussian.simulate(b.size, b.rng, generations=4, **drawn, outputs=["det"])
            for b in blocks(50, ss, key=sim.key(cell), size=sim.block_size(cell, 4))]
    mse = np.concatenate([o["mean_sq_error"] for o in outs])
    got = table[table.metric == "mean_sq_error"]
    np.testing.assert_allclose(got.estimate, mse.mean(0), rtol=1e-12)
    np.testing.assert_allclose(got.se, mse.std(0, ddof=1) / np.sqrt(50), rtol=1e-10)


def test_theory_column_is_the_claim(tmp_path):
    table = run_sweep(config(), tmp_path / "r", jobs=1, progress=False)
    row = table[(table.d == 3) & (table.n == 20) & (table.workflow == "accumulate-subsample")
                & (table.metric == "mean_sq_error") & (table.generation == 4)].iloc[0]
    assert row.claim == "mvgaussian.mean_sq_error" and row.theory_kind == "exact"
    assert row.theory == CLAIMS["mvgaussian.mean_sq_error"].evaluate(
        sigma2=1.0, d=3, n=20, t=4, estimator="mle", workflow="accumulate-subsample")
    det = table[(table.metric == "det_ratio") & (table.workflow == "accumulate")]
    assert det.theory.isna().all() and (det.claim == "").all()  # no claim for accumulate
    ratio = table[(table.metric == "variance_ratio") & (table.workflow == "accumulate")]
    assert (ratio.theory_kind == "asymptotic").all()
    assert ratio.limit.iloc[0] == pytest.approx(math.pi**2 / 6, rel=1e-15)
    assert (ratio[ratio.generation == 1].estimate == 1).all()
    fast = table[(table.metric == "mean_sq_error") & (table.workflow == "accumulate") & (table.generation == 4)]
    for _, r in fast.iterrows():  # the float64 fast path agrees with the 40-digit value
        exact = CLAIMS["mvgaussian.mean_sq_error"].evaluate(sigma2=1.0, d=int(r.d), n=int(r.n), t=4,
                                                           estimator="mle", workflow="accumulate")
        assert r.theory == pytest.approx(exact, rel=1e-12)


@pytest.mark.parametrize("sampler", ["points", "sufficient"])
def test_exact_claims_hold_in_a_sweep(tmp_path, sampler):
    """Kazdan et al.'s exact claims against a sweep, in both samplers, singular fits (n <= d) included.

    Bonferroni over the table's rows at family-wise 0.001: |z| must stay below the normal quantile.
    A wrong sampler (e.g. a Wishart with n instead of n - 1 degrees of freedom) moves the trace ratio
    by 1/n per generation, about 30 standard errors here.
    """
    data = {"simulator": "gaussian", "generations": 5, "trials": 20_000, "seed": 11,
            "metrics": ["mean_sq_error", "trace_ratio", "det_ratio", "log_det_ratio"],
            "fixed": {"estimator": "mle", "sampler": sampler},
            "grid": {"d": [3, 8], "n": [6, 40], "workflow": ["replace", "accumulate"]}}
    table = run_sweep(Config.from_dict(data), tmp_path / "r", jobs=1, progress=False)
    tested = table[table.theory.notna() & (table.theory != 0)]
    z = (tested.estimate - tested.theory) / tested.se
    bound = statistics.NormalDist().inv_cdf(1 - 0.0005 / len(tested))
    # det_ratio and log_det_ratio have no accumulate claim; at d = 8, n = 6 det is exactly 0 (log: -oo)
    assert len(tested) == 110
    assert np.abs(z).max() < bound, tested.assign(z=z).loc[np.abs(z).idxmax()]


@pytest.mark.parametrize("data, claim", [
    ({"simulator": "regression", "metrics": ["test_error"], "fixed": {"d": 3, "T": 12},
      "grid": {"workflow": ["replace", "accumulate", "accumulate-subsample"]}}, "regression.accumulate.test_error"),
    ({"simulator": "kde", "metrics": ["variance"], "fixed": {"n": 20, "h": 0.3},
      "grid": {"workflow": ["replace", "accumulate"]}}, "kde.accumulate.variance"),
    ({"simulator": "logistic", "metrics": ["sq_error", "variance_ratio"], "fixed": {"n": 200},
      "grid": {"workflow": ["accumulate"]}}, "universality.logistic"),
    ({"simulator": "gaussian", "metrics": ["w2", "sigma2", "log_var"], "fixed": {"n": 20, "estimator": "unbiased"},
      "grid": {"workflow": ["replace"]}}, "gaussian.w2_risk"),
    ({"simulator": "ridge", "metrics": ["test_error"], "fixed": {"d": 4, "T": 15, "T0": 12}, "grid": {"lam": [0.0]}},
     "ridge.test_error"),
    ({"simulator": "min-norm", "metrics": ["error"], "fixed": {"d": 20, "T0": 10}, "grid": {"w0_norm": [2.0]}},
     "ridge.overparam_noise_free"),
])
def test_every_simulator_sweeps_with_its_theory(tmp_path, data, claim):
    """Each simulator in a sweep, with the claim of its metric as the theory column (exact claims tested)."""
    table = run_sweep(Config.from_dict({"generations": 3, "trials": 2000, "seed": 4, **data}), tmp_path / "r",
                      jobs=1, progress=False)
    rows = table[table.claim == claim]
    assert rows.generation.tolist() == ([0, 1, 2, 3] if data["simulator"] == "ridge" else [1, 2, 3])
    assert rows.theory.notna().all()
    if claim == "universality.logistic":  # asymptotic in n: not tested against the simulation here
        return
    z = (rows.estimate - rows.theory) / rows.se
    assert np.abs(z).max() < 4  # exact claims at one point, 3 generations: |z| < 4 has p < 2e-4
    assert table[table.claim == ""].theory.isna().all()


# -- backends ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    return run_sweep(Config.from_dict(TWO_BLOCKS), tmp_path_factory.mktemp("s") / "r", jobs=1, progress=False)


def test_local_processes_give_the_same_bits(serial, tmp_path):
    other = run_sweep(Config.from_dict(TWO_BLOCKS), tmp_path / "r", jobs=2, progress=False)
    assert other.equals(serial)


def test_dask_local_cluster_gives_the_same_bits(serial, tmp_path):
    pytest.importorskip("distributed")
    other = run_sweep(Config.from_dict(TWO_BLOCKS), tmp_path / "r", workers=2, progress=False)
    assert other.equals(serial)


def test_dask_scheduler_address_gives_the_same_bits(serial, tmp_path):
    distributed = pytest.importorskip("distributed")
    import logging

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=logging.ERROR) as cluster:
        other = run_sweep(Config.from_dict(TWO_BLOCKS), tmp_path / "r", scheduler=cluster.scheduler_address,
                          progress=False)
    assert other.equals(serial)


def test_a_cell_does_not_depend_on_the_rest_of_the_grid(serial, tmp_path):
    one = dict(TWO_BLOCKS, grid={"workflow": ["accumulate-subsample"]})
    table = run_sweep(Config.from_dict(one), tmp_path / "r", jobs=1, progress=False)
    sub = serial[serial.workflow == "accumulate-subsample"].drop(columns="cell").reset_index(drop=True)
    assert table.drop(columns="cell").equals(sub)


# -- the store -----------------------------------------------------------------------------------


def test_store_sidecar_and_reading_back(tmp_path):
    cfg = config()
    table = run_sweep(cfg, tmp_path / "out" / "r.parquet", jobs=1, progress=False)
    store = Store(tmp_path / "out" / "r.parquet")
    assert store.complete() and not store.parts.exists()
    meta = json.loads(store.sidecar.read_text())
    assert meta["config"] == cfg.canonical()
    assert meta["entropy"] == 3 and meta["cells"] == 12 and meta["rows"] == len(table) == 12 * 4 * 4
    assert {"numpy", "pandas", "python"} <= set(meta["versions"])
    assert "git" in meta
    back = store.read()
    assert back.equals(table) and back.attrs["metadata"]["entropy"] == 3
    # Running the same configuration again reads the finished store; another configuration is refused.
    assert run_sweep(cfg, store.path, jobs=1, progress=False).equals(table)
    with pytest.raises(StoreError, match="different configuration"):
        run_sweep(config(trials=301), store.path, jobs=1, progress=False)
    assert run_sweep(config(trials=301), store.path, jobs=1, progress=False, overwrite=True).trials.iloc[0] == 301
    # --overwrite discards only another configuration's results: the same configuration's are kept
    stamp = store.path.stat().st_mtime_ns
    assert run_sweep(config(trials=301), store.path, jobs=1, progress=False, overwrite=True).trials.iloc[0] == 301
    assert store.path.stat().st_mtime_ns == stamp


def test_fresh_entropy_is_recorded_and_reused(tmp_path):
    cfg = config(seed=None, grid={"d": [1], "n": [5], "workflow": ["replace"]})
    table = run_sweep(cfg, tmp_path / "r", jobs=1, progress=False)
    entropy = table.attrs["metadata"]["entropy"]
    assert entropy > 2**64
    ss = seed_sequence(None)
    assert ss.entropy != entropy


def test_damaged_store_is_a_clear_error(tmp_path):
    run_sweep(config(grid={"d": [1], "n": [5], "workflow": ["replace"]}), tmp_path / "r", jobs=1, progress=False)
    (tmp_path / "r.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(StoreError, match="damaged .its checksum does not match the one in r.json.*--overwrite"):
        Store(tmp_path / "r.parquet").read()
    meta = json.loads((tmp_path / "r.json").read_text())
    meta["sha256"] = hashlib.sha256(b"PAR1 not really").hexdigest()  # the bytes as recorded, but not Parquet
    (tmp_path / "r.json").write_text(json.dumps(meta))
    with pytest.raises(StoreError, match="not a readable Parquet file"):
        Store(tmp_path / "r.parquet").read()
    with pytest.raises(StoreError, match="no such results file"):
        Store(tmp_path / "none.parquet").read()


def test_atomic_write_leaves_nothing_half_written(tmp_path):
    target = tmp_path / "t.parquet"
    target.write_text("old")

    def crash(path):
        Path(path).write_text("half of a new fi")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_atomically(target, crash)
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["t.parquet"]
    write_atomically(target, "new")  # a finished write has a new file's permissions, not mkstemp's 0600
    mask = os.umask(0)
    os.umask(mask)
    assert target.read_text() == "new" and target.stat().st_mode & 0o777 == 0o666 & ~mask


KILLABLE = """
description = "a sweep slow enough to kill part-way"
simulator = "gaussian"
generations = 30
trials = 600
seed = 5
metrics = ["mean_sq_error", "trace_ratio"]
[fixed]
d = 8
estimator = "unbiased"
[grid]
n = [30, 40, 50, 60, 70, 80]
workflow = ["accumulate-subsample", "replace"]
"""


def _sweep_cmd(cfg, out, *extra):
    return [sys.executable, "-m", "collapse", "sweep", str(cfg), "-o", str(out), "--jobs", "1", "--no-progress", *extra]


def test_a_killed_sweep_resumes_to_the_uninterrupted_result(tmp_path):
    cfg = tmp_path / "k.toml"
    cfg.write_text(KILLABLE)
    full = tmp_path / "full.parquet"
    subprocess.run(_sweep_cmd(cfg, full), check=True, capture_output=True, timeout=600)

    out = tmp_path / "killed.parquet"
    parts = Store(out).parts
    proc = subprocess.Popen(_sweep_cmd(cfg, out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and len(list(parts.glob("cell-*.parquet"))) < 3:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = len(list(parts.glob("cell-*.parquet")))
    assert 3 <= done < 12, "the sweep was not killed part-way"
    assert not out.exists() and not Store(out).sidecar.exists()
    with pytest.raises(StoreError, match="has not finished"):
        Store(out).read()

    rerun = subprocess.run(_sweep_cmd(cfg, out), capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{done} of 12 cells were already done" in rerun.stderr
    assert not parts.exists()
    resumed, uninterrupted = Store(out).read(), Store(full).read()
    assert resumed.attrs["metadata"]["resumed"] == done
    assert resumed.equals(uninterrupted)
    assert resumed.attrs["metadata"]["entropy"] == uninterrupted.attrs["metadata"]["entropy"]


# -- the command line ----------------------------------------------------------------------------

TINY = """
description = "tiny"
simulator = "gaussian"
generations = 5
trials = 200
seed = 2
metrics = ["mean_sq_error", "variance_ratio"]
[fixed]
d = 2
[grid]
n = [10, 20]
workflow = ["replace", "accumulate"]
"""


def collapse(*args, cwd=None):
    proc = subprocess.run([sys.executable, "-m", "collapse", *map(str, args)], capture_output=True, text=True,
                          timeout=300, cwd=cwd)
    return proc.returncode, proc.stdout, proc.stderr


def test_sweep_show_and_plot_from_the_command_line(tmp_path):
    (tmp_path / "tiny.toml").write_text(TINY)
    rc, out, err = collapse("sweep", "tiny.toml", "--jobs", "1", cwd=tmp_path)
    assert rc == 0, err
    results = tmp_path / "results" / "tiny.parquet"  # the default output path
    assert results.exists() and (tmp_path / "results" / "tiny.json").exists()
    assert "4 cells, 40 rows" in err and "gaussian: 4 cells x 200 trials x 5 generations" in err

    rc, out, err = collapse("sweep", "--show", results, "--where", "n=10", "workflow=accumulate",
                            "--metric", "variance_ratio")
    assert rc == 0, err
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["generation", "metric", "statistic", "estimate"]
    assert set(lines[1]) == {"-", " "}  # the header's rule
    assert len(lines) == 2 + 5 and all("universality.variance_ratio" in ln for ln in lines[2:])
    rc, out, _ = collapse("sweep", "--show", results, "--format", "csv", "--generation", "1")
    assert rc == 0 and out.splitlines()[0].startswith("n,workflow,generation,metric") and len(out.splitlines()) == 9

    rc, out, err = collapse("plot", results, "--where", "n=20", "-o", tmp_path / "fig" / "tiny")
    assert rc == 0, err
    png, pdf = tmp_path / "fig" / "tiny.png", tmp_path / "fig" / "tiny.pdf"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and pdf.read_bytes()[:5] == b"%PDF-"
    rc, out, err = collapse("plot", results, "--formats", "svg", "--hue", "n")
    assert rc == 0, err
    assert (tmp_path / "results" / "tiny.svg").exists()


def test_sweep_list_names_every_simulator_setting_and_metric():
    rc, out, err = collapse("sweep", "--list")
    assert rc == 0, err
    for name, sim in catalog.load().items():
        assert f"{name}: " in out
        assert all(f"    {k} " in out for k in [*sim.settings, *sim.metrics])


@pytest.fixture(scope="module")
def tiny_results(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny")
    (folder / "tiny.toml").write_text(TINY)
    assert collapse("sweep", "tiny.toml", "--jobs", "1", cwd=folder)[0] == 0
    return folder


@pytest.mark.parametrize("args, message", [
    (("sweep", "missing.toml"), "missing.toml: no such file"),
    (("sweep", "--show", "missing.parquet"), "no such results file"),
    (("sweep", "--show", "results/tiny.parquet", "--where", "dd=1"), "the results have no column 'dd'"),
    (("sweep", "--show", "results/tiny.parquet", "--metric", "w2"), "--metric w2: not in the results"),
    (("plot", "results/tiny.parquet", "--formats", "gif"), "format 'gif' not supported"),
    (("plot", "results/tiny.parquet", "--hue", "workflow", "--facet", "metric"), "--facet metric: not a setting"),
])
def test_command_line_errors_are_one_line(tiny_results, args, message):
    rc, out, err = collapse(*args, cwd=tiny_results)
    assert rc == 2 and message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_plot_asks_which_setting_to_draw_when_two_vary(tmp_path):
    from numerics.plot import plot

    table = run_sweep(config(), tmp_path / "r", jobs=1, progress=False)
    with pytest.raises(ValueError, match="n also vary: keep one value with --where"):
        plot(table, tmp_path / "f")


def test_figures_are_reproducible_files(tmp_path):
    """The same results give byte-identical PNG, PDF and SVG files (no dates, fixed SVG ids)."""
    from numerics.plot import plot

    table = run_sweep(config(grid={"d": [1], "n": [5, 20], "workflow": ["replace", "accumulate"]}), tmp_path / "r",
                      jobs=1, progress=False)
    formats = ("png", "pdf", "svg")
    first = plot(table, tmp_path / "a", formats=formats)
    second = plot(table, tmp_path / "b", formats=formats)
    assert [p.name for p in first] == ["a.png", "a.pdf", "a.svg"]
    for a, b in zip(first, second):
        assert a.read_bytes() == b.read_bytes(), a.name


@pytest.mark.slow
def test_shipped_figure6_sweep_agrees_with_the_limit_process(tmp_path):
    """The survey's Figure 6 config as shipped (10^4 trials, n = 1000, about 30 s on 2 cores).

    The claim is asymptotic in n; at n = 1000 its O(1/n) gap is about a tenth of a standard error (at
    n = 100 it is measurable: 2-3 standard errors for subsampling with replacement). Bonferroni over
    the 87 rows after generation 1, family-wise 0.001.
    """
    table = run_sweep(Config.from_toml("survey-fig6"), tmp_path / "r", progress=False)
    rows = table[table.generation > 1]
    z = (rows.estimate - rows.theory) / rows.se
    assert np.abs(z).max() < statistics.NormalDist().inv_cdf(1 - 0.0005 / len(rows))
    last = rows[rows.generation == 30].set_index("workflow").estimate
    assert last["accumulate"] < last["accumulate-subsample"] < last["accumulate-subsample-replacement"]


def test_every_demo_keeps_only_the_report_filters_it_can_satisfy():
    """A demo resizes its sweep (kazdan-gaussian's runs d = 3): the full report's filter (d = 10) must not
    leave the demo's figure empty (it did: `collapse report --demo` failed with an internal error)."""
    import tomllib

    from numerics.config import shipped

    checked = 0
    for name, path in shipped().items():
        with open(path, "rb") as f:
            raw = tomllib.load(f)
        if "demo" not in raw or "where" not in {**raw.get("report", {}), **raw["demo"].get("report", {})}:
            continue
        demo = Config.from_toml(path).demo_config()
        for key, values in demo.report.get("where", {}).items():
            ran = demo.grid.get(key, [demo.fixed.get(key)])
            assert set(values) & set(ran), (name, key, values, ran)
        checked += 1
    assert checked >= 1


def _drawn_figure(monkeypatch, table, tmp_path, **options):
    """The legend labels and the subtitle of the figure ``plot`` draws (read as it is saved)."""
    import matplotlib.figure

    from numerics.plot import plot

    seen = {}

    def save(fig, *a, **k):
        seen["labels"] = [t.get_text() for legend in fig.legends for t in legend.get_texts()]
        seen["title"] = fig._suptitle.get_text()

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", save)
    plot(table, tmp_path / "f", formats=("png",), **options)
    return seen


def test_a_figure_names_only_what_it_draws_and_the_settings_its_config_gives(tmp_path, monkeypatch):
    table = run_sweep(config(grid={"n": [10], "workflow": ["replace", "accumulate"]}), tmp_path / "r", jobs=1,
                      progress=False)
    seen = _drawn_figure(monkeypatch, table, tmp_path)
    assert "theory" in seen["labels"] and "limit over generations" in seen["labels"]  # accumulate's pi^2/6
    declared = {*SMALL.get("fixed", {}), "n"}
    shown = {part.split("=")[0] for part in seen["title"].split("\n", 1)[1].replace("\n", " ").split("; ", 1)[1].split(", ")}
    assert shown and shown <= declared, shown - declared  # not the simulator's other defaults
    no_theory = table.assign(theory=float("nan"), limit=float("nan"))
    no_theory.attrs = table.attrs
    seen = _drawn_figure(monkeypatch, no_theory, tmp_path)
    assert "theory" not in seen["labels"] and "limit over generations" not in seen["labels"]
    assert "simulation (95% interval)" in seen["labels"]


def test_a_theory_line_the_hues_share_is_drawn_once_in_grey(tmp_path, monkeypatch):
    """A theory value that does not depend on the hue (a known truth) is one grey line, not one line per colour
    of which only the last would show."""
    import matplotlib.axes

    from numerics.plot import plot

    table = run_sweep(config(grid={"n": [10, 20], "workflow": ["replace"]}), tmp_path / "r", jobs=1, progress=False)
    table = table[table["metric"] == "variance_ratio"]
    lines = []
    real = matplotlib.axes.Axes.plot
    monkeypatch.setattr(matplotlib.axes.Axes, "plot",
                        lambda ax, *a, **k: lines.append(k.get("color")) or real(ax, *a, **k))
    shared = table.assign(theory=1.5)
    shared.attrs = table.attrs
    plot(shared, tmp_path / "a", formats=("png",), hue="n")
    assert lines == ["0.3"]
    lines.clear()
    plot(table.assign(theory=table["n"] * 0.1), tmp_path / "b", formats=("png",), hue="n")
    assert len(lines) == 2 and "0.3" not in lines


def test_sweep_show_labels_a_declared_workflow_and_keeps_its_spec():
    """sweep --show's text formats name a declared workflow by its short label, with its full spec in a legend
    under the table; CSV and JSON keep the canonical text. Two specs with one label keep their texts."""
    import pandas as pd

    from numerics.cli import show

    last3 = '{"take":[{"from":"window","window":3}]}'
    fresh = '{"take":[{"from":"fresh","share":0.1},{"from":"latest","share":0.9}]}'
    twin = '{"take":[{"from":"fresh","share":0.1001},{"from":"latest","share":0.9}]}'  # also "10% fresh + ..."
    row = dict(generation=2, metric="variance_ratio", statistic="ratio", estimate=2.0, se=0.1, trials=100,
               theory=2.0, claim="theory.derive:variance_ratio")
    table = pd.DataFrame([{"workflow": w, **row} for w in ("replace", last3, fresh)])
    text = show(table, "table")
    lines = text.splitlines()
    assert [ln.split("  ")[0] for ln in lines[2:5]] == ["replace", "last 3", "10% fresh + 90% latest"]
    assert lines[5:] == [f"workflow last 3: {last3}", f"workflow 10% fresh + 90% latest: {fresh}"]
    assert show(table, "latex").splitlines()[-1] == f"% workflow 10% fresh + 90% latest: {fresh}"
    import io

    assert list(pd.read_csv(io.StringIO(show(table, "csv")))["workflow"]) == ["replace", last3, fresh]
    assert [r["workflow"] for r in json.loads(show(table, "json"))] == ["replace", last3, fresh]
    both = pd.DataFrame([{"workflow": w, **row} for w in (fresh, twin)])
    lines = show(both, "table").splitlines()
    assert [ln.split("  ")[0] for ln in lines[2:4]] == [fresh, twin] and len(lines) == 4
