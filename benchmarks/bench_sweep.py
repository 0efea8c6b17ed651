"""Benchmarks of the shipped sweeps against their floor (prints figures; not a test).

    python benchmarks/bench_sweep.py            # Kazdan grid and Figure 6 (about 5 min on 2 cores)
    python benchmarks/bench_sweep.py --smoke    # the same figures on small grids (seconds; for CI)
    python benchmarks/bench_sweep.py --dask     # also the Kazdan grid on a local Dask cluster of 2 workers

The floor of a sweep is the time to draw its random numbers and do nothing else: the very calls its
simulations make (normals, chi-squares, subsample indices; the same sizes, in the same order), recorded
during this run by a wrapper around each block's generator and replayed on a fresh one. Every figure is
a ratio to the floor measured in the same run, with the load average beside it (the machine may be
shared; CPU seconds, from time.process_time, are the steadier figure there).

1. `collapse sweep` on each shipped config as a user runs it (a fresh process; the default backend, one
   worker process per core): wall time and peak memory (the largest resident set of any one process
   of that sweep), against the floor spread over as many cores (floor CPU seconds / workers).
2. The same cells in this process, block after block as a worker runs them (numerics.execute.run_blocks,
   one BLAS thread, glibc's malloc set as the local workers set it: numerics.execute.WORKER_ENV, for which
   the script restarts itself): CPU seconds per workflow and in all, each against the floor of its own draws.
   Without those malloc settings every block's pool (up to 256 MiB) is mapped and page-faulted afresh, a
   system time that no sweep pays (a quarter of the largest cell's CPU seconds).
3. The fast sampler: one replace cell (d = 100, n = 1000) drawn as points and as sufficient statistics.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy loads BLAS: one thread, as a sweep's workers

import argparse  # noqa: E402
import contextlib  # noqa: E402
import dataclasses  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

CONFIGS = ("kazdan-gaussian", "survey-fig6")


def load() -> str:
    return f"load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"


# -- configurations -------------------------------------------------------------------------------


def _toml_value(v) -> str:
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return repr(v)


def shipped_config(name: str) -> Path:
    from numerics.config import shipped

    return shipped()[name]


def smoke_config(name: str, folder: str) -> Path:
    """The shipped config ``name`` made small: 20 trials (200 for a single-cell axis), 10 generations, the
    first two values of each grid axis, and no presentation tables; written to ``folder``."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    with open(shipped_config(name), "rb") as f:
        data = tomllib.load(f)
    data["trials"] = min(data["trials"], 20 if len(data.get("grid", {})) > 1 else 200)
    data["generations"] = min(data["generations"], 10)
    data["grid"] = {k: v if k == "workflow" else v[:2] for k, v in data.get("grid", {}).items()}
    lines = [f"{k} = {_toml_value(v)}" for k, v in data.items() if not isinstance(v, dict)]
    for table in ("fixed", "grid"):
        if data.get(table):
            lines += ["", f"[{table}]"] + [f"{k} = {_toml_value(v)}" for k, v in data[table].items()]
    path = Path(folder) / f"{name}.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


# -- 1. the sweep as a user runs it ------------------------------------------------------------------


def sweep(config: Path, *extra: str) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB, largest single process) of one sweep in a fresh process."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "collapse", "sweep", str(config), "-o", os.path.join(tmp, "r.parquet"),
               "--no-progress", *extra]
        # A fresh parent per sweep, so that its children's peak RSS is this sweep's alone.
        probe = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, capture_output=True); "
                 "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
        start = time.monotonic()
        env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}  # as a user's shell has it
        out = subprocess.run([sys.executable, "-c", probe, *cmd], check=True, capture_output=True, text=True, env=env)
        wall = time.monotonic() - start
    return wall, int(out.stdout.split()[-1]) / 1024  # kB on Linux


# -- 2. the cells in this process, and the floor of their draws ------------------------------------


class Recording:
    """A numpy Generator that records each call (method, arguments, size of ``out``) as it draws."""

    def __init__(self, rng: np.random.Generator, calls: list):
        self._rng, self._calls = rng, calls

    def __getattr__(self, name: str):
        method = getattr(self._rng, name)

        def call(*args, **kwargs):
            out = kwargs.get("out")
            self._calls.append((name, args, {k: v for k, v in kwargs.items() if k != "out"},
                                None if out is None else (out.shape, out.dtype)))
            return method(*args, **kwargs)

        return call


def replay(calls: list) -> float:
    """CPU seconds to make the recorded calls on a fresh generator (``out`` arrays made once per shape)."""
    rng = np.random.default_rng(12345)
    outs: dict = {}
    start = time.process_time()
    for name, args, kwargs, out in calls:
        if out is not None:
            kwargs = {**kwargs, "out": outs.setdefault(out, np.empty(*out))}
        getattr(rng, name)(*args, **kwargs)
    return time.process_time() - start


@contextlib.contextmanager
def recording_blocks(calls: list):
    """numerics.execute's blocks, each generator wrapped in a :class:`Recording` into ``calls``."""
    from numerics import execute

    plain = execute.blocks

    def wrapped(*args, **kwargs):
        for block in plain(*args, **kwargs):
            yield dataclasses.replace(block, rng=Recording(block.rng, calls))

    execute.blocks = wrapped
    try:
        yield
    finally:
        execute.blocks = plain


def in_process(config: Path) -> dict[str, tuple[float, float]]:
    """{workflow: (CPU seconds, floor CPU seconds)} of every cell of ``config``, run here block by block."""
    from numerics import execute
    from numerics.sweep import Config, cells_of

    cfg = Config.from_toml(config)
    out: dict[str, tuple[float, float]] = {}
    for c in cells_of(cfg):
        calls: list = []
        with recording_blocks(calls):
            start = time.process_time()
            execute.run_blocks(c.simulator, c.sim.provider, c.config, c.generations, c.metrics, c.trials,
                               cfg.seed or 0, 0, c.n_blocks())
            cpu = time.process_time() - start
        wf = c.config.get("workflow", "")
        was = out.get(wf, (0.0, 0.0))
        out[wf] = (was[0] + cpu, was[1] + replay(calls))
    return out


# -- 3. the fast sampler ---------------------------------------------------------------------------


def fast_sampler(d: int, n: int, G: int) -> tuple[float, float]:
    """CPU seconds of 100 trials of one replace cell, drawn as points and as sufficient statistics."""
    from numerics import gaussian

    times = []
    for sampler in ("points", "sufficient"):
        start = time.process_time()
        gaussian.simulate(100, np.random.default_rng(0), d=d, n=n, generations=G, estimator="mle",
                          workflow="replace", sampler=sampler, outputs=["det"])
        times.append(time.process_time() - start)
    return times[0], times[1]


def as_a_worker() -> None:
    """Restart this script with the environment of numerics.execute's local workers, unless it has it."""
    from numerics.execute import WORKER_ENV

    if any(os.environ.get(k) != v for k, v in WORKER_ENV.items()):
        os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, **WORKER_ENV})


def main() -> None:
    as_a_worker()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="every figure on small grids (seconds)")
    parser.add_argument("--dask", action="store_true", help="also run the Kazdan grid on a local Dask cluster")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    print(f"machine: {cores} cores; numpy {np.__version__}")
    with tempfile.TemporaryDirectory() as tmp:
        for name in CONFIGS:
            config = smoke_config(name, tmp) if args.smoke else shipped_config(name)
            cells = in_process(config)
            cpu, floor = (sum(v[i] for v in cells.values()) for i in (0, 1))
            print(f"{name}{' (smoke size)' if args.smoke else ''}: floor {floor:.3g} s CPU (its random numbers, "
                  f"replayed alone)")
            print(f"  in one process, cell after cell: {cpu:.3g} s CPU -> {cpu / floor:.2f}x the floor ({load()}); "
                  + ", ".join(f"{wf} {c:.3g} s ({c / f:.2f}x)" for wf, (c, f) in cells.items()))
            wall, peak = sweep(config)
            print(f"  collapse sweep, {cores} worker processes: {wall:.1f} s wall -> {wall / (floor / cores):.2f}x "
                  f"the floor on {cores} cores ({floor / cores:.3g} s); peak RSS {peak:.0f} MiB per process ({load()})")
            if args.dask and name == "kazdan-gaussian":
                wall, peak = sweep(config, "--workers", "2")
                print(f"  on a local Dask cluster of 2 workers: {wall:.1f} s wall -> {wall / (floor / 2):.2f}x the "
                      f"floor on 2 cores; peak RSS {peak:.0f} MiB per process ({load()})")
    d, n, G = (10, 100, 5) if args.smoke else (100, 1000, 20)
    points, fast = fast_sampler(d, n, G)
    print(f"replace, d={d}, n={n}, 100 trials x {G} generations: points {points:.2f} s CPU, sufficient statistics "
          f"{fast:.2f} s CPU ({points / fast:.1f}x)")


if __name__ == "__main__":
    main()
