"""How honest the work estimate printed before a run is: estimated against measured seconds, per target.

    python benchmarks/bench_estimates.py            # verify's cells and every shipped config (minutes)
    python benchmarks/bench_estimates.py --smoke    # a few cells of each at small sizes (seconds; for CI)
    python benchmarks/bench_estimates.py --only deep-markov   # the targets whose name contains this

Before a sweep or verify starts, ``numerics.execute.estimate`` adds up each simulator's declared work
(seconds per trial on one idle core, calibrated against measured runs, plus a fixed cost per block of
trials) and warns when a run is long. This script runs the same cells in this process, block by block
as a worker does (``execute.run_blocks``, one BLAS thread), and prints measured CPU seconds / estimated
seconds for each target: 1 is an exact estimate, and issue 21 asks for every ratio within [1/1.5, 1.5].
A shipped configuration's numpy cells are also turned into their tables with the theory column, as a
sweep's parent does, which the estimate counts as ``numerics.execute.THEORY_SECONDS`` a cell and generation.

The measured side is CPU time (``time.process_time``), the steadier figure on a shared machine; the load
average is printed beside it. Deep configurations are measured on a sample of their cells for their
first generation (their estimate is per generation, so the comparison holds); numpy ones on every cell
(``--smoke``: the first cells, at fewer trials and generations; deep configs whose report skips them, as
too long for the report's runs, are left out). A configuration whose data are not installed is skipped
with the reason.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # one BLAS thread, as a sweep's workers

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import time  # noqa: E402

#: At most this many cells of a deep configuration are measured (each trains real models).
DEEP_CELLS = 2


def load() -> str:
    return f"load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"


def warm_up(cells, entropy: int = 0) -> None:
    """Run one trial of one generation of each simulator's first cell, untimed: the first run in a process
    pays once for imports and lazy set-up (torch's kernels and autograd, about a second), which is no
    part of any cell's work (a worker pays it once, whatever it runs)."""
    from numerics import execute

    seen: set[str] = set()
    for c in cells:
        if c.simulator not in seen:
            seen.add(c.simulator)
            execute.run_blocks(c.simulator, c.sim.provider, c.config, 1, c.metrics, 1, entropy, 0, 1)


#: A target that runs in less CPU time than this is run again until it has, and its time averaged: a few
#: milliseconds measured once (the --smoke cells) vary by 2x on a shared machine.
AT_LEAST = 1.0


def measure(cells, config=None, entropy: int = 0) -> tuple[float, float]:
    """(measured CPU seconds, estimated seconds) of running ``cells`` here, block by block (after
    :func:`warm_up`; the mean of as many runs as take :data:`AT_LEAST` seconds). With a sweep's ``config``,
    each cell's table with its theory column is made too, as the sweep's parent does (one Theory a run, so
    its cache serves the cells as in a sweep), and estimated as numerics.sweep does (THEORY_SECONDS a generation)."""
    from numerics import execute
    from numerics.stats import Summary
    from numerics.sweep import cell_table
    from numerics.theory_column import Theory

    warm_up(cells, entropy)
    # the configuration of each cell as measured (--smoke measures fewer generations than the sweep runs)
    configs = [dataclasses.replace(config, generations=c.generations) for c in cells] if config is not None else []
    if configs:  # the first theory column of a process pays for imports, as the warm-up's first run
        cell_table(configs[0], 0, cells[0].config, _merged(cells[0], entropy), Theory())
    cpu, runs = 0.0, 0
    while runs == 0 or cpu < AT_LEAST:
        theory = Theory()
        for i, c in enumerate(cells):
            start = time.process_time()
            blocks = execute.run_blocks(c.simulator, c.sim.provider, c.config, c.generations, c.metrics, c.trials,
                                        entropy, 0, c.n_blocks())
            if configs:
                cell_table(configs[i], i, c.config, {m: Summary.merge_all([b[m] for b in blocks]) for m in c.metrics},
                           theory)
            cpu += time.process_time() - start
        runs += 1
    return cpu / runs, execute.estimate(cells, execute.THEORY_SECONDS if config is not None else 0.0).work


def _merged(cell, entropy: int) -> dict:
    from numerics import execute
    from numerics.stats import Summary

    blocks = execute.run_blocks(cell.simulator, cell.sim.provider, cell.config, cell.generations, cell.metrics,
                                cell.trials, entropy, 0, cell.n_blocks())
    return {m: Summary.merge_all([b[m] for b in blocks]) for m in cell.metrics}


def shrink(cells, smoke: bool, deep: bool):
    """The cells measured: deep ones for one generation (a sample of them); at --smoke, fewer and smaller."""
    if deep:
        # Seeds are batched as replicas, so a deep cell's cost is not proportional to its trials: keep them.
        return [dataclasses.replace(c, generations=1) for c in cells[:1 if smoke else DEEP_CELLS]]
    if smoke:
        return [dataclasses.replace(c, trials=min(c.trials, 500), generations=min(c.generations, 10)) for c in cells[:4]]
    return cells


def targets(smoke: bool):
    """(name, cells, deep, config) for verify (config None) and every shipped configuration."""
    from numerics import verify
    from numerics.config import Config, ConfigError, shipped
    from numerics.sweep import cells_of

    items, _ = verify.default_items()
    cells, _ = verify.cells_of(items, 20000)
    numpy_cells = [c for c in cells if not c.sim.provider.startswith("deep")]
    deep_cells = [c for c in cells if c.sim.provider.startswith("deep")]
    yield "verify (numpy cells)", shrink(numpy_cells, smoke, False), False, None
    yield "verify (deep bridge cells)", shrink(deep_cells, smoke, True), True, None
    for name, path in shipped().items():
        try:
            config = Config.from_toml(path)
        except ConfigError as e:  # data not installed (Fashion-MNIST, the KJV text)
            print(f"{name}: skipped ({e})")
            continue
        deep = config.sim.provider.startswith("deep")
        if deep and smoke and config.report.get("skip"):
            print(f"{name}: skipped ({config.report['skip']})")
            continue
        yield name, shrink(cells_of(config), smoke, deep), deep, config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="a few small cells of each target (seconds)")
    parser.add_argument("--only", metavar="TEXT", help="only the targets whose name contains TEXT")
    args = parser.parse_args()
    try:
        import torch

        torch.set_num_threads(1)  # as the deep workers run
    except ImportError:
        pass
    worst = 1.0
    print(f"measured CPU seconds / estimated seconds (1 = exact; issue 21 asks for 1/1.5 .. 1.5); {load()}")
    for name, cells, deep, config in targets(args.smoke):
        if not cells or (args.only and args.only not in name):
            continue
        cpu, est = measure(cells, None if deep else config)  # a deep cell measured for one generation: no table
        ratio = cpu / est if est > 0 else float("inf")
        worst = max(worst, ratio, 1 / ratio if ratio > 0 else float("inf"))
        what = f"{len(cells)} cell{'s' if len(cells) > 1 else ''}" + (", first generation" if deep else "")
        print(f"  {name}: {cpu:.3g} s measured, {est:.3g} s estimated -> {ratio:.2f}x ({what}; {load()})")
    print(f"worst factor: {worst:.2f} (within 1.5: {'yes' if worst <= 1.5 else 'no'})")


if __name__ == "__main__":
    main()
