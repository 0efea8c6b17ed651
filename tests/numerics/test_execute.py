"""Running cells (numerics.execute): sizing a run, worker processes that die with their parent, and
one-line errors for every expected failure of a backend."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from numerics import execute
from numerics.execute import Cell, RunError, check_resources, estimate
from numerics.sweep import Config, run_sweep

SLOW_SWEEP = """
simulator = "gaussian"
generations = 30
trials = 3000
seed = 5
metrics = ["mean_sq_error"]
[fixed]
d = 8
[grid]
n = [30, 40, 50, 60, 70, 80]
workflow = ["accumulate-subsample", "replace"]
"""


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == pid:
                out.append(int(entry.name))
    return out


def _alive(pids: list[int]) -> list[int]:
    alive = []
    for p in pids:
        try:
            state = (Path("/proc") / str(p) / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            alive.append(p)
    return alive


def _start_sweep(tmp_path):
    cfg = tmp_path / "slow.toml"
    cfg.write_text(SLOW_SWEEP)
    proc = subprocess.Popen([sys.executable, "-m", "collapse", "sweep", str(cfg), "-o", str(tmp_path / "r.parquet"),
                             "--jobs", "2", "--no-progress"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(_children(proc.pid)) < 3:  # two workers and the resource tracker
        time.sleep(0.1)
    time.sleep(1.0)
    children = _children(proc.pid)
    assert len(children) >= 2, "the sweep did not start its workers"
    return proc, children


@pytest.mark.skipif(not Path("/proc").exists(), reason="reads the process table from /proc")
def test_workers_exit_when_the_sweep_is_killed(tmp_path):
    proc, children = _start_sweep(tmp_path)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(children):
        time.sleep(0.2)
    assert not _alive(children), "worker processes outlived a killed sweep"


@pytest.mark.skipif(not Path("/proc").exists(), reason="reads the process table from /proc")
def test_sigterm_stops_a_sweep_like_ctrl_c(tmp_path):
    proc, children = _start_sweep(tmp_path)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143 and "terminated (finished work is kept)" in err and "Traceback" not in err
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(children):
        time.sleep(0.2)
    assert not _alive(children)


def test_a_run_too_large_for_memory_is_refused_with_the_numbers():
    cells = [Cell.make("gaussian", {"d": 50_000, "n": 10, "sigma": 1.0, "estimator": "mle", "workflow": "replace",
                                    "real_fraction": None, "train_size": None, "synthetic": None, "sampler": "points"},
                       3, ("mean_sq_error",), 10)]
    with pytest.raises(RunError, match=r"needs about .* GiB for one block .* this machine has"):
        check_resources(cells, 1)


def test_long_runs_are_announced():
    cell = Cell.make("gaussian", {"d": 1, "n": 100_000, "sigma": 1.0, "estimator": "mle", "workflow": "replace",
                                  "real_fraction": None, "train_size": None, "synthetic": None, "sampler": "points"},
                     1000, ("mean_sq_error",), 1_000_000)
    said = []
    est = check_resources([cell], 2, said.append, yes=True)
    assert est.seconds(2) > 86400 and said and "takes roughly" in said[0] and "days" in said[0]


def test_a_simulation_that_fails_mid_run_is_one_line():
    """Logistic separation at a tiny n: the worker's ValueError becomes a RunError naming the cell."""
    cells = [Cell.make("logistic", {"n": 6, "workflow": "replace", "real_fraction": None, "train_size": None,
                                    "synthetic": None}, 5, ("sq_error",), 400)]
    with pytest.raises(RunError, match="logistic n=6 workflow=replace: logistic MLE did not exist"):
        execute.run_cells(cells, 0, execute.Serial())


def test_backend_arguments_are_checked():
    with pytest.raises(RunError, match="--workers must be >= 1"):
        execute.backend(workers=0)
    with pytest.raises(RunError, match="--jobs must be >= 1"):
        execute.backend(jobs=0)


def test_an_unreachable_scheduler_is_one_line_and_leaves_nothing(tmp_path, monkeypatch):
    pytest.importorskip("distributed")
    monkeypatch.setattr(execute.Dask, "CONNECT_TIMEOUT", 2)
    config = Config.from_dict({"simulator": "gaussian", "generations": 2, "trials": 10, "seed": 0,
                               "metrics": ["mean_sq_error"], "fixed": {"n": 5, "workflow": "replace"}})
    with pytest.raises(RunError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        run_sweep(config, tmp_path / "r.parquet", scheduler="tcp://127.0.0.1:9", progress=False)
    assert not list(tmp_path.iterdir())


def test_a_cluster_without_workers_is_one_line(monkeypatch):
    distributed = pytest.importorskip("distributed")
    import logging

    monkeypatch.setattr(execute.Dask, "WORKER_TIMEOUT", 2)
    with distributed.LocalCluster(n_workers=0, processes=True, dashboard_address=None,
                                  scheduler_kwargs={"dashboard": False}, silence_logs=logging.ERROR) as cluster:
        with pytest.raises(RunError, match="has no workers"):
            execute.backend(scheduler=cluster.scheduler_address)


def test_estimate_counts_blocks_and_seconds():
    cell = Cell.make("gaussian", {"d": 2, "n": 10, "sigma": 1.0, "estimator": "mle", "workflow": "replace",
                                  "real_fraction": None, "train_size": None, "synthetic": None, "sampler": "points"},
                     5, ("mean_sq_error",), 10_000)
    est = estimate([cell])
    # 10,000 trials of 5 generations drawing 10 points in 2 dimensions: about 2e-8 s per point and dimension
    assert est.blocks == 3 and 10_000 * 5 * 10 * 2 * 1e-8 < est.work < 10_000 * 5 * 10 * 2 * 1e-7
