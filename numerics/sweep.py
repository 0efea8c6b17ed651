"""Sweeps: a grid of simulator settings (numerics.config), run on local processes or a Dask cluster
(numerics.execute), into a results store (numerics.store), with each metric's claim as the theory
column (numerics.theory_column).

The table has one row per cell, generation and metric: the cell's settings, ``generation`` (1 to
``generations``; from 0, before any synthetic data, for simulators that measure the truth first),
``metric``, ``statistic`` (``mean``, ``variance``, or ``ratio``: the mean at generation k over the mean
at the first generation), ``estimate``, ``se``, ``trials``, and, wherever a claim predicts the quantity,
``claim``, ``theory``, ``theory_kind`` (exact, asymptotic, lower or upper), ``limit`` (the claim's
limit over generations) and ``theory_note`` (why a theory value is missing, if it is).

A cell's numbers depend on the seed, the simulator and the cell's settings only (numerics.execute):
not on the rest of the grid, the number of processes or the backend.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

from . import catalog
from .config import Config, ConfigError  # noqa: F401  (re-exported: the sweep API)
from .execute import THEORY_SECONDS, Cell, RunError, backend, check_resources, run_cells  # noqa: F401
from .rng import seed_sequence
from .store import Store, git_revision, versions
from .theory_column import Theory


def describe() -> str:
    """Every simulator a sweep can run: its settings (with defaults) and metrics (`collapse sweep --list`)."""
    text = "\n\n".join(sim.describe() for sim in catalog.load().values())
    if catalog.UNAVAILABLE:
        text += "\n\nnot available here: " + "; ".join(f"{k} (it needs torch: {v})" for k, v in catalog.UNAVAILABLE.items())
    return text + "\n"


def cells_of(config: Config) -> list[Cell]:
    return [Cell.make(config.simulator, c, config.generations, config.metrics, config.trials) for c in config.cells()]


def cell_table(config: Config, index: int, settings: dict, summaries: dict, theory: Theory):
    """The rows of one finished cell (a pandas DataFrame) from its merged summaries {metric: Summary}."""
    import pandas as pd

    sim = config.sim
    G = config.generations + (1 - sim.first)  # columns: generations first .. config.generations
    generations = list(range(sim.first, sim.first + G))
    frames = []
    for m in config.metrics:
        metric = sim.metrics[m]
        est, se = summaries[m].estimate(metric.statistic)
        column = theory.for_metric(sim, m, settings, generations)
        frames.append(pd.DataFrame({
            "generation": generations, "metric": m, "statistic": metric.statistic,
            "estimate": np.asarray(est, dtype=float), "se": np.asarray(se, dtype=float), "trials": config.trials,
            **column, "theory": np.asarray(column["theory"], dtype=float),
        }))
    table = pd.concat(frames, ignore_index=True)
    columns = {"cell": index, **{k: (list(v) if isinstance(v, tuple) else v) for k, v in settings.items()}}
    for k, v in reversed(list(columns.items())):
        table.insert(0, k, [v] * len(table))
    return table


def command_name(config: Config) -> str:
    """How to name the configuration on the command line: a shipped one by its name, any other by its path."""
    from .config import shipped

    path = shipped().get(config.name)
    return config.name if path is not None and Path(config.source).resolve() == path.resolve() else config.source


def default_output(config: Config) -> Path:
    return Path("results") / f"{config.name}.parquet"


#: The clock that times a sweep (a name of its own, so that tests can replace it).
clock = time.monotonic


def rows_per_cell(config: Config) -> int:
    """Rows of one cell in the table: its generations times its metrics."""
    return (config.generations + 1 - config.sim.first) * len(config.metrics)


def _stderr(message: str) -> None:
    print(message, file=sys.stderr)


def run_sweep(config: Config, output: str | os.PathLike | None = None, *, jobs: int | None = None,
              scheduler: str | None = None, workers: int | None = None, progress: bool | None = None,
              overwrite: bool = False, warn=None, yes: bool = False):
    """Run (or resume) a sweep into its results store; return the table as a pandas DataFrame.

    The store is locked for the whole run (another sweep on it is refused in one line) and checked
    before anything runs (numerics.store: damaged parts are recomputed, damaged metadata is one line
    that says how to recover). Nothing but the lock is written before the run is sized
    (numerics.execute.check_resources: over the machine's memory, or over its time limit without
    ``yes``, it is refused), its cells are tried (Config.check_cells, after the sizing: a grid too large
    to run is refused before its cells are tried) and its backend is up: a refused run, or an
    unreachable scheduler, leaves no files behind. ``warn``: where warnings go (default: stderr; the
    long-run estimate only when given).
    """
    say = warn or _stderr
    command = f"collapse sweep {command_name(config)}" if config.source else None
    store = Store(output or default_output(config), command)
    store.check_output()
    cells = cells_of(config)
    rows = rows_per_cell(config)
    with store.lock() as lock:
        plan = store.examine(config.canonical(), len(cells), rows, overwrite=overwrite)
        if plan.action == "complete":
            if lock.writable:
                store.prepare(plan)  # removes what a kill left of the parts folder
            table = plan.table
            table.attrs["cells_run"] = 0
            return table
        lock.require()
        runner = backend(jobs, scheduler, workers)
        try:
            check_resources(cells, getattr(runner, "workers", 1), warn, yes=yes, per_generation=THEORY_SECONDS)
            config.check_cells()
            done = store.prepare(plan)
            if plan.damaged:
                names = ", ".join(p.name[:11] for p in plan.damaged[:3]) + (", ..." if len(plan.damaged) > 3 else "")
                say(f"warning: {len(plan.damaged)} damaged cell file{'s' if len(plan.damaged) > 1 else ''} in "
                    f"{store.parts} ({names}) discarded: those cells are recomputed")
            if plan.action == "fresh":
                entropy = plan.meta.get("entropy")  # a damaged store's recorded seed, reused
                if entropy is None:
                    entropy = int(seed_sequence(config.seed).entropy)
                meta = {"config": plan.meta["config"], "entropy": entropy, "versions": versions(),
                        "git": git_revision(), "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                        "simulator_doc": config.sim.doc,
                        "command": command or "numerics.sweep.run_sweep"}
                store.start(meta)
                before = 0.0
            else:
                meta = plan.meta
                before = store.progress_seconds()
            if done:
                meta["resumed"] = len(done)
                now = {"git": git_revision(), "versions": versions()}
                changed = [k for k in now if now[k] != meta.get(k)]
                if changed:  # the cells already done came from other code; say so, and keep both records
                    say(f"warning: resuming a sweep started with a different {' and '.join(changed)} "
                        f"({', '.join(str(meta.get(k)) for k in changed)}); its {len(done)} finished cells are kept")
                    meta["resumed_with"] = now
            todo = [i for i in range(len(cells)) if i not in done]
            progress = sys.stderr.isatty() if progress is None else progress
            theory = Theory()
            start = clock()

            def on_cell(i: int, summaries: dict) -> None:
                store.write_cell(i, cell_table(config, i, cells[i].config, summaries, theory), rows)
                store.record_progress(before + clock() - start)

            run_cells(cells, meta["entropy"], runner, todo=todo, progress=progress,
                      checkpoints=str(store.parts / "checkpoints"), on_cell=on_cell,
                      artifacts=str(store.path.with_name(store.path.stem + ".artifacts")))
        finally:
            runner.close()
        meta["seconds"] = round(before + clock() - start, 3)  # every session's time, resumes included
        table = store.finish(meta, len(cells), rows)
    table.attrs["cells_run"] = len(todo)
    return table


def settings_columns(table) -> list[str]:
    """The cell-setting columns of a results table: those before ``generation``, except ``cell``."""
    cols = list(table.columns)
    return [c for c in cols[: cols.index("generation")] if c != "cell"]


def read_results(path: str | os.PathLike):
    """A finished sweep's table as a pandas DataFrame (its sidecar in ``.attrs['metadata']``)."""
    return Store(path).read()
