"""``collapse report``: one page of theory, simulation and deep experiments (collapse.report).

Light at import (argparse only): the command's work is imported when it runs.
"""

from __future__ import annotations

import argparse
import sys
import time

#: The demo's runs: small versions of the shipped sweeps, quick enough for about a minute on 2 cores.
DEMO_SWEEPS = (
    ("Survey Figure 6 (demo size: 2,000 trials, n = 200)", "survey-fig6", {
        "description": "Survey Fig. 6, small: variance ratio over generations by accumulation strategy",
        "simulator": "gaussian", "generations": 20, "trials": 2000, "seed": 0, "metrics": ["variance_ratio"],
        "fixed": {"d": 1, "n": 200, "estimator": "mle"},
        "grid": {"workflow": ["accumulate", "accumulate-subsample", "accumulate-subsample-replacement"]}}, {}),
    ("Kazdan et al. Figure 1 (demo size: d = 3, 100 chains)", "kazdan-gaussian", {
        "description": "Kazdan et al. 2024, small: multivariate Gaussian, replace / accumulate / accumulate-subsample",
        "simulator": "gaussian", "generations": 40, "trials": 100, "seed": 0,
        "metrics": ["mean_sq_error", "trace_ratio", "log_det_ratio"],
        "fixed": {"d": 3, "estimator": "mle", "sampler": "auto"},
        "grid": {"n": [10, 100], "workflow": ["replace", "accumulate", "accumulate-subsample"]}}, {"hue": "n"}),
    ("Categorical chains (demo size)", "categorical", {
        "description": "A Zipf(1) categorical over 10 symbols refitted on 20 samples: diversity and surviving symbols",
        "simulator": "categorical", "generations": 30, "trials": 2000, "seed": 0,
        "metrics": ["diversity_ratio", "surviving"], "fixed": {"n": 20, "K": 10, "zipf": 1.0},
        "grid": {"workflow": ["replace", "accumulate"]}}, {}),
)
DEMO_VERIFY_TRIALS = 2000


def cmd_report(args: argparse.Namespace) -> int:
    from pathlib import Path

    from theory.cli import UsageError

    from . import report

    start = time.monotonic()
    if args.output is None:  # the demo's page goes with its results, beside nothing of the full report's
        output = Path(args.demo_folder) / "report.html" if args.demo else Path("report.html")
    else:
        output = Path(args.output)
    if output.is_dir():
        raise UsageError(f"--output {output}: is a folder; give a file name such as report.html")
    markdown = Path(args.markdown) if args.markdown else output.with_suffix(".md")
    if args.demo:
        shipped, verify = run_demo(Path(args.demo_folder), jobs=args.jobs)
    else:
        shipped, verify = report.SHIPPED, Path(args.verify)
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
    """Run the demo's verification and sweeps into ``folder``; the report's sections and verify table."""
    from numerics.cli import render
    from numerics.defaults import ALPHA
    from numerics.execute import backend
    from numerics.store import git_revision, versions, write_atomically
    from numerics.sweep import Config
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
    shipped = []
    for title, name, data, options in DEMO_SWEEPS:
        path = folder / f"{name}.parquet"
        _sweep(Config.from_dict(data), path, jobs)
        shipped.append((title, str(path), f"collapse report --demo (runs {name})", options))
    deep = _deep_demo()
    if deep is None:
        shipped.append(("Deep experiments (demo): not run, torch is not installed", None,
                        "pip install torch==2.13.0 (the CPU build) && pip install -e '.[deep]' && "
                        "collapse report --demo",
                        {"note": "torch is not installed: the demo's deep runs (the bridge, a VAE on digits, a "
                                 "language model) were skipped"}))
    for title, name, data, options in deep or ():
        path = folder / f"{name}.parquet"
        # One process: the deep runs are a few seconds each, less than starting workers that import torch.
        _sweep(Config.from_dict(data), path, jobs or 1)  # its sample grids go to RESULTS.artifacts/
        shipped.append((title, str(path), f"collapse report --demo (runs {name})", options))
    return tuple(shipped), verify


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


def _deep_demo():
    """The deep layer's demo runs, where torch is installed (None otherwise)."""
    import importlib.util

    if importlib.util.find_spec("torch") is None:
        return None
    try:
        from deep.demo import DEMO_SWEEPS as deep_sweeps
    except ImportError:
        return None
    return deep_sweeps


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
    p.add_argument("--verify", default="results/verify.json", metavar="PATH",
                   help="the verification table (collapse verify --format json --output PATH)")
    p.add_argument("--demo", action="store_true", help="first run small versions of the results (about 40 s on 2 cores)")
    p.add_argument("--demo-folder", default="results/demo", metavar="PATH", help="where the demo's results go")
    p.add_argument("--jobs", type=int, metavar="N", help="local worker processes for the demo's runs")
    p.set_defaults(func=cmd_report)
