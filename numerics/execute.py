"""Running cells of simulation in blocks of trials: in this process, on local processes or on Dask.

A cell is one simulator at one set of settings, run for some generations and trials. It runs in blocks:
block b draws from ``SeedSequence(entropy, spawn_key=simulator.key(settings) + (b,))``, its size is a
function of the cell alone (the simulator's memory per trial and a fixed budget), and each block is
summarised on its own (one numerics.stats.Summary per metric) and merged in block order. So a cell's
numbers depend on the seed, the simulator and its settings only: not on the other cells, on how many
processes run it, or on the backend. `collapse verify`, `collapse check` and `collapse sweep` all run
here.

Before anything runs, :func:`estimate` sizes the run: memory per block, random numbers drawn, a rough
time; :func:`check_resources` refuses what the machine cannot hold, with the numbers, warns about long
runs, and refuses a run estimated at more than :data:`ASK_ABOVE` unless it was asked for (``--yes``).

Backends: :class:`Serial` (this process), :class:`Processes` (spawned local processes, one BLAS thread
each; they exit when the parent dies), :class:`Dask` (a dask.distributed scheduler address, or a local
cluster). Every expected failure (a worker that dies, an unreachable scheduler, a cluster without
workers, a simulation that fails for its settings) becomes a :class:`RunError` with one line to show.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from theory.errors import UserError

from . import catalog, driver
from .rng import blocks
from .stats import Summary

#: Most trials a run may ask for (a task list of more blocks would not fit in memory).
MAX_TRIALS = 10**9
#: A run estimated to take longer than this (seconds) gets a warning before it starts.
LONG_RUN = 600.0
#: A run estimated to take longer than this (seconds) is refused unless asked for (``yes``, ``--yes``).
ASK_ABOVE = 3600.0


class RunError(UserError, RuntimeError):
    """A run that cannot go on; the message is one line for the user."""


@dataclass(frozen=True)
class Cell:
    """One simulator at one set of (resolved) settings, for some generations, trials and metrics."""

    simulator: str
    settings: tuple  # sorted (name, value) pairs: hashable
    generations: int
    metrics: tuple[str, ...]
    trials: int

    @classmethod
    def make(cls, simulator: str, settings: dict, generations: int, metrics, trials: int) -> Cell:
        frozen = tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in settings.items())
        return cls(simulator, frozen, int(generations), tuple(metrics), int(trials))

    @property
    def config(self) -> dict:
        return dict(self.settings)

    @property
    def sim(self) -> catalog.Simulator:
        return catalog.get(self.simulator)

    def block_size(self) -> int:
        return self.sim.block_size(self.config, self.generations)

    def n_blocks(self) -> int:
        return -(-self.trials // self.block_size())

    def describe(self) -> str:
        """The simulator and the settings that differ from their defaults (the ones a user wrote, in effect)."""
        declared = self.sim.settings
        return " ".join([self.simulator] + [f"{k}={v}" for k, v in self.settings if v is not None and (
            declared[k].default is catalog.REQUIRED or v != declared[k].default)])


def run_blocks(simulator: str, provider: str, settings: dict, generations: int, metrics: tuple, trials: int,
               entropy: int, first: int, count: int, checkpoints: str | None = None,
               artifacts: str | None = None) -> list[dict[str, Summary]]:
    """Simulate blocks ``first`` to ``first + count - 1`` of a cell: one Summary per block and metric.

    The unit of work of every backend: a plain function of plain arguments (it pickles), which imports
    the simulator's ``provider`` module so that simulators registered by other packages run anywhere.
    Each metric's summary carries the reference column of its ratios (by default its first column).
    ``checkpoints``: a folder where a simulator that saves its state after each generation keeps it, one
    file per block (named by the seed, the cell's key and the block), so that a killed run resumes.
    ``artifacts``: a folder where a simulator that draws figures of its run (sample grids) writes them,
    for its first block only, in a subfolder named by the cell (:func:`artifact_folder`).
    """
    if provider:
        importlib.import_module(provider)
    sim = catalog.get(simulator)
    config = sim.config(settings)
    ss = np.random.SeedSequence(entropy)
    out = []
    for block in blocks(trials, ss, key=sim.key(settings), first=first, count=count,
                        size=sim.block_size(settings, generations)):
        path = None
        if checkpoints and sim.checkpoints:
            tag = "-".join(f"{x:08x}" for x in sim.key(settings))
            path = os.path.join(checkpoints, f"{sim.name}-{entropy % 2**64:016x}-{tag}-g{generations}-b{block.start}.ckpt")
            os.makedirs(checkpoints, exist_ok=True)
        folder = artifact_folder(artifacts, sim, settings) if artifacts and sim.artifacts and block.start == 0 else None
        with driver.sized():  # the block is sized already (the simulator's declared memory)
            res = sim.call(block.size, block.rng, settings, generations, metrics, checkpoint=path, artifacts=folder)
        summary = {}
        for m in metrics:
            metric = sim.metrics[m]
            values = np.asarray(metric.values(res, config), dtype=float)
            if not metric.nonfinite:
                _check_finite(values, m, sim.first, block.start)
            summary[m] = Summary.of(values, ref=metric.ref(res, config, values))
        out.append(summary)
    return out


def _check_finite(values: np.ndarray, metric: str, first: int, start: int) -> None:
    """Refuse a NaN or infinite value of a metric that does not allow one (a ValueError, which the backends
    show after the cell's name): naming the first generation and trial it occurs at."""
    bad = ~np.isfinite(values.reshape(len(values), -1))
    if bad.any():
        column = int(np.flatnonzero(bad.any(axis=0))[0])
        trial = int(np.flatnonzero(bad[:, column])[0])
        raise ValueError(f"metric {metric!r} is {values.reshape(len(values), -1)[trial, column]} at generation "
                         f"{column + first} (trial {start + trial}; {int(bad[:, column].sum())} of {len(values)} "
                         "trials of its block); nothing of the cell is stored")


def artifact_folder(root: str, sim: catalog.Simulator, settings: dict) -> str:
    """The folder of one cell's figures under ``root``: the settings that differ from their defaults, readable."""
    own = [(k, v) for k, v in settings.items() if sim.settings[k].default is catalog.REQUIRED or v != sim.settings[k].default]
    name = "-".join(f"{k}={'_'.join(map(str, v)) if isinstance(v, (list, tuple)) else v}" for k, v in own) or "defaults"
    name = "".join(ch if ch.isalnum() or ch in "._=-" else "_" for ch in name)[:120]
    return os.path.join(root, f"{sim.name}-{name}")


# -- sizing a run ------------------------------------------------------------------------------------


@dataclass
class Estimate:
    cells: int
    blocks: int
    block_bytes: float  # the largest block's memory
    trial_bytes: float  # the largest single trial's memory
    work: float  # seconds of one idle core, about (the simulators' calibrated work, and the caller's per cell)
    worst: str  # the cell of the largest block
    longest: str = ""  # the cell of the most work

    def seconds(self, workers: int) -> float:
        return self.work / max(workers, 1)


#: CPU seconds a sweep's parent spends on each generation of each finished cell besides simulating it: the
#: theory column (the claims' values along the generations) and the cell's table. Measured (cell_table
#: timed after run_blocks, one Theory a run, the first cell of a process left out: it pays for imports) on
#: the shipped numpy configurations at load 9-13 on 2 cores: from 0.9 ms (kazdan-gaussian, 100
#: generations) to 20 ms (categorical's derived diversity, 10 generations) a generation, medians 4 ms (10
#: generations) and 5.6 ms (their own, 30-100): the claim decides it, so no constant holds every grid.
THEORY_SECONDS = 0.005


def estimate(cells: Sequence[Cell], per_generation: float = 0.0) -> Estimate:
    """Memory and work of running ``cells`` (from each simulator's declared memory and work per trial), with
    ``per_generation`` seconds of the caller's own work for each generation of each cell (a sweep's theory
    column: :data:`THEORY_SECONDS`)."""
    est = Estimate(len(cells), 0, 0.0, 0.0, per_generation * sum(c.generations for c in cells), "")
    most = -1.0
    for c in cells:
        if c.trials > MAX_TRIALS:
            raise RunError(f"trials must be at most {MAX_TRIALS:.0e}, got {c.trials:.3g}")
        sim, cfg = c.sim, c.sim.config(c.config)
        outputs = 8.0 * (c.generations + 1) * (len(c.metrics) + 4)  # the recorded (trials, G) arrays
        per_trial = float(sim.memory(cfg, c.generations)) + outputs
        size = c.block_size()
        est.blocks += -(-c.trials // size)
        if per_trial * size > est.block_bytes:
            est.block_bytes, est.worst = per_trial * size, c.describe()
        est.trial_bytes = max(est.trial_bytes, per_trial)
        work = c.trials * float(sim.work(cfg, c.generations)) if sim.work is not None else 0.0
        work += -(-c.trials // size) * float(sim.block_seconds(cfg, c.generations))
        est.work += work
        if work > most:
            most, est.longest = work, c.describe()
    return est


def memory_available() -> float:
    """Physical memory of this machine, in bytes (a fallback of 4 GiB where it cannot be read)."""
    try:
        return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 4.0 * 2**30


#: The environment variable that sets the memory budget of one process of a run, in bytes.
MEMORY_VAR = "COLLAPSE_MEMORY_LIMIT"


def memory_limit(workers: int | None = None) -> float:
    """Bytes one process of a run may use: 0.8 of this machine's physical memory shared by ``workers``
    processes (default: one per core, every backend's default), or :data:`MEMORY_VAR` (bytes) where it is
    set. The one budget of every run: the block runner's refusal (:func:`check_resources`), the sizing of
    direct simulator calls (numerics.driver) and deep.train's backstop on resident memory."""
    given = os.environ.get(MEMORY_VAR)
    if given:
        try:
            value = float(given)
        except ValueError:
            value = 0.0
        if not 0 < value < float("inf"):
            raise RunError(f"{MEMORY_VAR} must be a positive number of bytes, got {given!r}")
        return value
    return 0.8 * memory_available() / max(workers or os.cpu_count() or 1, 1)


def check_resources(cells: Sequence[Cell], workers: int, warn=None, yes: bool = False,
                    per_generation: float = 0.0) -> Estimate:
    """Refuse a run whose blocks cannot fit in memory (with the numbers), and one estimated at more than
    :data:`ASK_ABOVE` unless ``yes``; warn about long ones. Both refusals name the cell that costs most.
    ``per_generation``: the caller's own seconds for each generation of each cell (see :func:`estimate`)."""
    est = estimate(cells, per_generation)
    limit = memory_limit(workers)
    if est.block_bytes > limit:
        raise RunError(f"{est.worst} needs about {bytes_text(est.block_bytes)} for one block of trials "
                       f"({bytes_text(est.trial_bytes)} per trial) and {workers} of them run at once; this machine "
                       f"has {bytes_text(memory_available())} (budget {budget_text(limit)}): use smaller settings, or fewer --jobs")
    seconds = est.seconds(workers)
    if seconds > ASK_ABOVE and not yes:
        many = f"{est.cells:,} cells, " if est.cells > 1 else ""
        raise RunError(f"this run takes roughly {_duration(seconds)} on {workers} worker{'s' if workers > 1 else ''} "
                       f"({many}the longest {est.longest}), over the {_duration(ASK_ABOVE)} that runs without asking: "
                       "give --yes to run it, or fewer trials, generations or cells")
    if seconds > LONG_RUN and warn is not None:
        warn(f"warning: this run takes roughly {_duration(seconds)} on "
             f"{workers} worker{'s' if workers > 1 else ''}")
    return est


def budget_text(limit: float) -> str:
    """How a refusal names the budget it applied: the setting, or where it comes from."""
    if os.environ.get(MEMORY_VAR):
        return f"{MEMORY_VAR} = {bytes_text(limit)}"
    return (f"{bytes_text(limit)} a process: 0.8 of this machine's memory over the processes that run at once; "
            f"{MEMORY_VAR} sets it in bytes")


def bytes_text(n: float) -> str:
    """A number of bytes as people read it (1000 B, 3.2 MiB)."""
    if n < 1024:
        return f"{n:.0f} B"
    n /= 1024
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.3g} {unit}"
        n /= 1024
    return f"{n:.3g} TiB"


def _duration(s: float) -> str:
    if s < 120:
        return f"{s:.0f} s"
    if s < 7200:
        return f"{s / 60:.0f} min"
    if s < 172800:
        return f"{s / 3600:.1f} hours"
    return f"{s / 86400:.1f} days"


# -- running cells ---------------------------------------------------------------------------------


@dataclass
class Task:
    cell: int
    block: int
    cost: float  # an estimate (bytes touched), for ordering only
    seconds: float = 0.0  # the estimated work (the simulator's declared work), for progress


def tasks(cells: Sequence[Cell], todo: Sequence[int]) -> list[Task]:
    """One task per block of each cell in ``todo``; the costliest first (for load balance)."""
    out = []
    for i in todo:
        c = cells[i]
        sim, cfg = c.sim, c.sim.config(c.config)
        size = c.block_size()
        per_trial = float(sim.memory(cfg, c.generations)) * c.generations
        work = float(sim.work(cfg, c.generations)) if sim.work is not None else 0.0
        for b in range(c.n_blocks()):
            n = min(c.trials, (b + 1) * size) - b * size
            out.append(Task(i, b, per_trial * n, n * work + float(sim.block_seconds(cfg, c.generations))))
    return sorted(out, key=lambda t: -t.cost)


def run_cells(cells: Sequence[Cell], entropy: int, runner, *, todo: Sequence[int] | None = None,
              on_cell: Callable[[int, dict], None] | None = None, progress: bool = False,
              label: str = "cells", checkpoints: str | None = None, artifacts: str | None = None) -> dict[int, dict]:
    """Run the cells ``todo`` (default all) on ``runner``; each cell's merged summaries {metric: Summary}.

    ``on_cell(index, summaries)`` is called as each cell finishes (to save it); block summaries are
    merged in block order, whatever order the blocks finished in.
    """
    todo = list(range(len(cells))) if todo is None else list(todo)
    work = tasks(cells, todo)
    per_cell: dict[int, int] = {}
    for t in work:
        per_cell[t.cell] = per_cell.get(t.cell, 0) + 1
    pending: dict[int, dict[int, dict]] = {i: {} for i in per_cell}
    done: dict[int, dict] = {}
    seconds = estimate([cells[i] for i in todo]).seconds(getattr(runner, "workers", 1)) if progress and todo else None
    bar = Progress(sum(t.seconds for t in work), len(todo), label, progress, seconds)
    calls = []
    for t in work:
        c = cells[t.cell]
        calls.append((c.simulator, c.sim.provider, c.config, c.generations, c.metrics, c.trials, entropy, t.block, 1,
                      checkpoints, artifacts))
    try:
        for k, summaries in runner.results(calls, [cells[t.cell].describe() for t in work]):
            t = work[k]
            pending[t.cell][t.block] = summaries[0]
            finished = len(pending[t.cell]) == per_cell[t.cell]
            if finished:
                parts = pending.pop(t.cell)
                ordered = [parts[b] for b in sorted(parts)]
                merged = {m: Summary.merge_all([p[m] for p in ordered]) for m in cells[t.cell].metrics}
                done[t.cell] = merged
                if on_cell is not None:
                    on_cell(t.cell, merged)
            bar.update(t.seconds, int(finished))
    finally:
        bar.close()
    return done


class Progress:
    """The one progress display of long runs, on stderr when enabled: a tqdm bar on a terminal; elsewhere
    (a log file, a pipe, a batch job) plain lines at a low rate, so that a run never prints nothing for
    long: one at the start where the run is estimated at more than :data:`FIRST` seconds, else one once it
    has run that long; then one every :data:`EVERY` seconds until it ends (cells done of all, time spent,
    time left: from the share of the estimated work done, or the estimate before anything is done)."""

    #: Seconds before the first plain line (at once where the run is estimated to take longer).
    FIRST = 5.0
    #: Seconds between plain lines.
    EVERY = 20.0

    def __init__(self, total: float, cells: int, label: str, enabled: bool, seconds: float | None = None):
        self.bar = self.ticker = None
        if not enabled or cells <= 0:
            return
        if sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=cells, unit=label.rstrip("s") if cells == 1 else "cell", desc=label,
                            file=sys.stderr, dynamic_ncols=True, leave=False)
            return
        self.total, self.cells, self.label, self.estimate = total, cells, label, seconds
        self.work = self.finished = 0.0
        self.start = time.monotonic()
        self.lock, self.stop = threading.Lock(), threading.Event()
        first = self.FIRST
        if seconds is not None and seconds > self.FIRST:
            self.say()
            first = self.EVERY
        self.ticker = threading.Thread(target=self._tick, args=(first,), daemon=True, name="progress")
        self.ticker.start()

    def _tick(self, wait: float) -> None:
        while not self.stop.wait(wait):
            self.say()
            wait = self.EVERY

    def line(self) -> str:
        """The plain progress line: cells done of all, time spent, time left."""
        with self.lock:
            work, done = self.work, int(self.finished)
        spent = time.monotonic() - self.start
        share = work / self.total if self.total > 0 else done / self.cells  # of the estimated work, else of the cells
        if share > 0:
            left = f"about {_duration(spent * (1 - share) / share)} left"
        elif self.estimate is not None:
            left = f"estimated {_duration(max(self.estimate - spent, 0.0))} left"
        else:
            left = "none finished yet"
        return f"{self.label}: {done:,} of {self.cells:,} done, {_duration(spent)} spent, {left}"

    def say(self) -> None:
        print(self.line(), file=sys.stderr, flush=True)

    def update(self, work: float, cells: int) -> None:
        if self.bar is not None and cells:
            self.bar.update(cells)
        if self.ticker is not None:
            with self.lock:
                self.work += work
                self.finished += cells

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        if self.ticker is not None:
            self.stop.set()
            self.ticker.join()


# -- backends ------------------------------------------------------------------------------------------

#: Environment variables that set the thread count of NumPy's linear algebra (and torch's).
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
#: What the local worker processes start with: one BLAS thread each, and glibc's malloc kept from mapping
#: and unmapping every large array (a block's pool is hundreds of MB, allocated afresh each block): with
#: the heap reused, the Kazdan grid's largest cells spent 1.8 s of system time instead of 4.4-6.1 s
#: (d = 100, n = 1000, 2 workers; user time unchanged). A worker's memory is bounded by its block budget.
WORKER_ENV = {**{k: "1" for k in THREAD_VARS}, "MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": str(2**34)}


def _failed(where: str, error: BaseException) -> RunError:
    """A worker's exception as one line: a ValueError is a setting the simulation cannot run with."""
    if isinstance(error, ValueError):
        return RunError(f"{where}: {error}")
    return RunError(f"{where}: {type(error).__name__}: {error}")


class Serial:
    """Tasks run in this process, one after another."""

    workers = 1

    def results(self, calls: list[tuple], names: list[str]) -> Iterator[tuple[int, list]]:
        for i, args in enumerate(calls):
            try:
                out = run_blocks(*args)
            except (ValueError, ArithmeticError, np.linalg.LinAlgError) as e:
                raise _failed(names[i], e) from e
            yield i, out

    def close(self) -> None:
        pass


def _watch_parent(parent: int) -> None:
    """In a worker process: exit as soon as the process that started it is gone (killed, even by
    SIGKILL), instead of waiting forever for work that will not come."""
    def watch():
        while True:
            if os.getppid() != parent:
                os._exit(1)
            time.sleep(0.5)

    threading.Thread(target=watch, daemon=True, name="parent-watch").start()


class Processes:
    """Local worker processes (spawned, one BLAS thread each), which exit when this process dies."""

    def __init__(self, jobs: int):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        self.workers = jobs
        self.env = {k: os.environ.get(k) for k in WORKER_ENV}
        os.environ.update(WORKER_ENV)  # inherited by the workers as they spawn (and put back by close())
        self.pool = ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"),
                                        initializer=_watch_parent, initargs=(os.getpid(),))

    def results(self, calls, names):
        from concurrent.futures import as_completed
        from concurrent.futures.process import BrokenProcessPool

        futures = {self.pool.submit(run_blocks, *args): i for i, args in enumerate(calls)}
        try:
            for f in as_completed(futures):
                i = futures[f]
                try:
                    out = f.result()
                except (ValueError, ArithmeticError, np.linalg.LinAlgError) as e:
                    raise _failed(names[i], e) from e
                yield i, out
        except BrokenProcessPool:
            raise RunError(
                "a worker process died (killed, out of memory, or it could not start: spawned workers re-import "
                "the main script, which fails for code read from stdin); finished cells are kept: run again "
                "to resume, or use --jobs 1 to run in this process") from None

    def close(self) -> None:
        processes = list(getattr(self.pool, "_processes", {}).values())
        self.pool.shutdown(wait=False, cancel_futures=True)
        for p in processes:  # a running block is not waited for
            if p.is_alive():
                p.terminate()
        for p in processes:
            p.join(timeout=5)
        for k, v in self.env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


class Dask:
    """A dask.distributed cluster: an existing scheduler, or a local cluster of worker processes."""

    #: Seconds to wait for a scheduler to answer, and for a cluster to have a worker.
    CONNECT_TIMEOUT = 20
    WORKER_TIMEOUT = 30

    def __init__(self, scheduler: str | None = None, workers: int | None = None):
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise RunError("the Dask backend needs dask.distributed: pip install 'model-collapse[dask]'") from None
        import dask

        self.cluster = None
        self.address = scheduler
        try:
            if scheduler:
                self.client = Client(scheduler, timeout=f"{self.CONNECT_TIMEOUT}s")
            else:
                # Dask's nanny sets MALLOC_TRIM_THRESHOLD_ in its workers, which turns off glibc's adaptive
                # mmap threshold: every array over 128 KiB is then a fresh mmap, page-faulted on first use
                # (measured: the Kazdan grid's largest cell took 38 s instead of 21 s, 29 s of it system
                # time). The workers started here keep glibc's default. No dashboard is started; the
                # scheduler's HTTP server (health checks) still is, on a free port of the loopback
                # interface: on its default, 8787, it warned "Port 8787 is already in use" whenever
                # another cluster or notebook held it.
                with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
                    self.cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                                dashboard_address=None,
                                                scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
                                                silence_logs=logging.ERROR)
                self.client = Client(self.cluster)
        except (OSError, TimeoutError) as e:
            raise RunError(f"cannot reach the Dask scheduler at {scheduler} ({type(e).__name__}: {e})") from None
        except ValueError as e:  # distributed's parse of an address ("missing port number in address ...")
            if not scheduler:
                raise
            raise RunError(f"--scheduler {scheduler}: not a scheduler address ({e}); give one such as "
                           "tcp://host:8786") from None
        try:
            self.client.wait_for_workers(1, timeout=self.WORKER_TIMEOUT)
        except (TimeoutError, OSError):
            self.close()
            raise RunError(f"the Dask cluster at {scheduler or 'localhost'} has no workers "
                           f"(waited {self.WORKER_TIMEOUT} s): start some with dask-worker") from None
        self.workers = max(1, len(self.client.scheduler_info().get("workers", {})))

    def results(self, calls, names):
        from distributed import as_completed

        futures = {self.client.submit(run_blocks, *args, pure=False): i for i, args in enumerate(calls)}
        for f in as_completed(futures):
            i = futures[f]
            try:
                out = f.result()
            except (ValueError, ArithmeticError, np.linalg.LinAlgError) as e:
                raise _failed(names[i], e) from e
            except Exception as e:  # KilledWorker, CancelledError, lost connections: one line
                name = type(e).__name__
                if name in ("KilledWorker", "CancelledError", "FutureCancelledError", "CommClosedError", "OSError",
                            "TimeoutError"):
                    raise RunError(f"the Dask cluster lost the work of {names[i]} ({name}: {e}); finished cells "
                                   "are kept: run again to resume") from None
                raise
            yield i, out

    def close(self) -> None:
        try:
            self.client.close()
        finally:
            if self.cluster is not None:
                self.cluster.close()


def backend(jobs: int | None = None, scheduler: str | None = None, workers: int | None = None):
    """Dask with ``scheduler`` or ``workers``; otherwise ``jobs`` local processes (1: in this process)."""
    if workers is not None and workers < 1:
        raise RunError(f"--workers must be >= 1, got {workers}")
    if jobs is not None and jobs < 1:
        raise RunError(f"--jobs must be >= 1, got {jobs}")
    if scheduler or workers:
        return Dask(scheduler, workers)
    jobs = (os.cpu_count() or 1) if jobs is None else jobs
    return Serial() if jobs == 1 else Processes(jobs)
