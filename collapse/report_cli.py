"""``collapse report``: one page of theory, simulation and deep experiments (collapse.report).

Light at import (argparse only): the command's work is imported when it runs.
"""

from __future__ import annotations

import argparse
import sys
import time

DEMO_VERIFY_TRIALS = 2000


def cmd_report(args: argparse.Namespace) -> int:
    from pathlib import Path

    from theory.errors import UsageError

    from . import report

    start = time.monotonic()
    if args.output is None:  # the demo's page goes with its results, beside nothing of the full report's
        output = Path(args.demo_folder) / "report.html" if args.demo else Path("report.html")
    else:
        output = Path(args.output)
    if output.is_dir():
        raise UsageError(f"--output {output}: is a folder; give a file name such as report.html")
    markdown = Path(args.markdown) if args.markdown else output.with_suffix(".md")
    if args.verify is not None and not args.demo and not Path(args.verify).is_file():  # the default may be missing
        raise UsageError(f"--verify {args.verify}: no such file (collapse verify --format json --output "
                         f"{args.verify} makes it)")
    for results in args.results or []:  # named on the command line: they must be there (report.gather's naming)
        p = Path(results) if results.endswith(".parquet") else Path(results + ".parquet")
        if not p.is_file():
            raise UsageError(f"{results}: no such results store ({p} does not exist)")
    if args.demo:
        shipped, verify = run_demo(Path(args.demo_folder), jobs=args.jobs)
    else:
        shipped, verify = None, Path(args.verify or report.VERIFY)
    built = report.gather(args.results or [], verify=verify, shipped=shipped,
                          title="Model collapse: a demo report" if args.demo else
                          "Model collapse: theory, simulation and experiments")
    written = report.write(built, output, markdown)
    missing = [s.title for s in built.sections if s.missing]
    print(f"wrote {', '.join(str(p) for p in written)} ({output.stat().st_size:,} bytes; "
          f"{len(built.sections) - len(missing)} of {len(built.sections)} sections have results) in "
          f"{time.monotonic() - start:.0f} s", file=sys.stderr)
    return 0


def run_demo(folder, jobs=None):
    """Run the demo's verification and the small version of every shipped configuration that has a [demo]
    table (numerics.config) into ``folder``; the report's sections and verify table."""
    from numerics import catalog
    from numerics.cli import render
    from numerics.config import Config, shipped, tables
    from numerics.defaults import ALPHA
    from numerics.execute import backend
    from numerics.store import git_revision, versions, write_atomically
    from numerics.verify import default_items, run

    folder.mkdir(parents=True, exist_ok=True)
    verify = folder / "verify.json"
    if not verify.exists():
        items, skipped = default_items()
        deep = sorted({it.sim.name for it in items if it.sim.provider.startswith("deep")})
        if deep:  # about 50 s of CPU at the demo's trials; the demo's bridge section holds one against its claims
            left = sum(it.sim.name in deep for it in items)
            items = [it for it in items if it.sim.name not in deep]
            skipped = {**skipped, "the deep bridges": f"{left} checks of the {' and '.join(deep)} simulators, left "
                       "out of the demo to keep it about a minute; collapse verify runs them"}
        runner = backend(jobs)
        try:
            rows = run(items, trials=DEMO_VERIFY_TRIALS, seed=0, runner=runner)
        finally:
            runner.close()
        meta = {"trials": DEMO_VERIFY_TRIALS, "seed": 0, "alpha": ALPHA, "correction": "holm",
                "not_simulated": skipped, "command": f"collapse verify --trials {DEMO_VERIFY_TRIALS} (collapse report --demo)",
                "versions": versions(), "git": git_revision()}
        write_atomically(verify, render(rows, "json", meta))
    entries, missing = [], []
    catalog.load()
    for name, path in shipped().items():
        data = tables(path)
        if "demo" not in data:
            continue
        if data.get("simulator") not in catalog.CATALOG:  # its simulator needs torch
            missing.append(name)
            continue
        config = Config.from_toml(path).demo_config()
        store = folder / f"{name}.parquet"
        # The deep runs take a few seconds each, less than starting workers that import torch: one process.
        deep = catalog.get(config.simulator).provider.startswith("deep")
        _sweep(config, store, (jobs or 1) if deep else jobs)  # an image model's sample grids go to RESULTS.artifacts/
        entries.append((config.report["title"], str(store), f"collapse report --demo (runs {name})", config.report))
    if missing:
        entries.append((f"Demo runs of {', '.join(missing)}: not run, torch is not installed", None,
                        "pip install torch==2.13.0 (the CPU build) && pip install -e '.[deep]' && collapse report --demo",
                        {"note": f"torch is not installed: the demo's runs of {', '.join(missing)} were skipped"}))
    return tuple(entries), verify


def _sweep(config, path, jobs):
    """Run (or reuse) one demo sweep; a demo store left by another version of the demo is replaced."""
    from numerics.store import StoreBusy, StoreError
    from numerics.sweep import run_sweep

    try:
        return run_sweep(config, path, jobs=jobs, progress=False)
    except StoreBusy:
        raise
    except StoreError:  # another configuration's results (an older demo), or damaged: the demo's own, remade
        return run_sweep(config, path, jobs=jobs, progress=False, overwrite=True)


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="one self-contained HTML page (and Markdown) of every stored result",
                       description="Build a self-contained HTML page and the same content as Markdown from stored "
                                   "results: the verification table, every claim, the sweeps and the deep "
                                   "experiments. Nothing is run (except with --demo); a missing result says "
                                   "which command makes it.")
    p.add_argument("results", nargs="*", metavar="RESULTS", help="more results stores to include")
    p.add_argument("--output", metavar="PATH",
                   help="the HTML page (default report.html; with --demo, report.html in the demo's folder)")
    p.add_argument("--markdown", metavar="PATH", help="the Markdown version (default: beside the page, .md)")
    p.add_argument("--verify", metavar="PATH",
                   help="the verification table (collapse verify --format json --output PATH); by default "
                        "results/verify.json, which the page says how to make if it is missing")
    p.add_argument("--demo", action="store_true", help="first run small versions of the results (about 40 s on 2 cores)")
    p.add_argument("--demo-folder", default="results/demo", metavar="PATH", help="where the demo's results go")
    p.add_argument("--jobs", type=int, metavar="N", help="local worker processes for the demo's runs")
    p.set_defaults(func=cmd_report)
