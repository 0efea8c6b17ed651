"""Benchmarks of the shipped sweeps (prints figures; not a test).

    python benchmarks/bench_sweep.py            # Kazdan grid and Figure 6 on local processes (about 3 min)
    python benchmarks/bench_sweep.py --dask     # also the Kazdan grid on a local Dask cluster of 2 workers
    python benchmarks/bench_sweep.py --cells    # also each workflow's CPU time, one process (about 3 min)

1. Wall time and peak memory of `collapse sweep` on each shipped config, as a user runs it (a fresh
   process; the default backend, one worker process per core). Peak memory is the largest resident
   set of any one process of that sweep (the parent or a worker); its total is at most parent + workers.
2. The floor of the Kazdan grid: its accumulate-subsample cells must draw every point (n d normal
   numbers per trial and generation); the time to draw those numbers alone, per core.
3. The fast sampler: one replace cell (d = 100, n = 1000) drawn as points and as sufficient statistics.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ("kazdan-gaussian", "survey-fig6")


def sweep(name: str, *extra: str) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB, largest single process) of one sweep in a fresh process."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "collapse", "sweep", str(ROOT / "configs" / f"{name}.toml"),
               "-o", os.path.join(tmp, "r.parquet"), "--no-progress", *extra]
        # A fresh parent per sweep, so that its children's peak RSS is this sweep's alone.
        probe = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, capture_output=True); "
                 "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
        start = time.monotonic()
        out = subprocess.run([sys.executable, "-c", probe, *cmd], check=True, capture_output=True, text=True)
        wall = time.monotonic() - start
    return wall, int(out.stdout.split()[-1]) / 1024  # kB on Linux


def floor() -> tuple[float, float]:
    """Normal numbers the Kazdan subsample cells draw, and the seconds to draw them on one core."""
    from numerics.sweep import Config

    cfg = Config.from_toml(ROOT / "configs" / "kazdan-gaussian.toml")
    count = sum(c["n"] * c["d"] * cfg.trials * cfg.generations for c in cfg.cells()
                if c["workflow"] == "accumulate-subsample")
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    for _ in range(20):
        rng.standard_normal(5_000_000)
    rate = 1e8 / (time.perf_counter() - start)
    return count, count / rate


def per_workflow() -> dict[str, float]:
    """CPU seconds of the Kazdan grid per workflow, in this process (one BLAS thread)."""
    from numerics.sweep import Config, block_size, run_blocks

    cfg = Config.from_toml(ROOT / "configs" / "kazdan-gaussian.toml")
    out: dict[str, float] = {}
    for c in cfg.cells():
        start = time.process_time()
        size = block_size(cfg.simulator, c, cfg.generations)
        run_blocks(cfg.simulator, c, cfg.generations, cfg.metrics, cfg.trials, 0, 0, -(-cfg.trials // size))
        out[c["workflow"]] = out.get(c["workflow"], 0.0) + time.process_time() - start
    return out


def fast_sampler() -> tuple[float, float]:
    from numerics import gaussian

    times = []
    for sampler in ("points", "sufficient"):
        start = time.perf_counter()
        gaussian.simulate(100, np.random.default_rng(0), d=100, n=1000, generations=20, estimator="mle",
                          workflow="replace", sampler=sampler, outputs=["det"])
        times.append(time.perf_counter() - start)
    return times[0], times[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dask", action="store_true", help="also run the Kazdan grid on a local Dask cluster")
    parser.add_argument("--cells", action="store_true", help="also time each workflow of the Kazdan grid")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores")
    for name in CONFIGS:
        wall, peak = sweep(name)
        print(f"{name}: {wall:.1f} s wall, peak RSS {peak:.0f} MiB per process (local processes, {os.cpu_count()} workers)")
    if args.dask:
        wall, peak = sweep("kazdan-gaussian", "--workers", "2")
        print(f"kazdan-gaussian on a local Dask cluster of 2 workers: {wall:.1f} s wall, peak RSS {peak:.0f} MiB")
    count, seconds = floor()
    print(f"floor: the accumulate-subsample cells draw {count:.3g} normal numbers: {seconds:.1f} s on one core, "
          f"{seconds / (os.cpu_count() or 1):.1f} s on {os.cpu_count()}")
    points, fast = fast_sampler()
    print(f"replace, d=100, n=1000, 100 trials x 20 generations: points {points:.2f} s, sufficient {fast:.2f} s "
          f"({points / fast:.1f}x)")
    if args.cells:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
        for wf, cpu in per_workflow().items():
            print(f"kazdan-gaussian {wf}: {cpu:.1f} CPU s")


if __name__ == "__main__":
    main()
