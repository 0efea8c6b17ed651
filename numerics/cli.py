"""``collapse verify`` and ``collapse check``: the numerics layer's subcommands."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from theory.errors import UsageError

from .defaults import ALPHA, CALIBRATED_TRIALS, DEFAULT_TRIALS

FORMATS = ("table", "markdown", "csv", "json", "latex")
COLUMNS = ("claim", "variant", "simulator", "point", "gen", "kind", "theory", "estimate", "se", "test", "z", "p_adj",
           "verdict")


def _fmt(x: float, digits: int = 6) -> str:
    return f"{x:.{digits}g}" if isinstance(x, float) else str(x)


def _cells(r) -> list[str]:
    variant = ",".join(str(v) for v in r.variant.values()) or "-"
    point = " ".join(f"{k}={_fmt(v, 4) if not isinstance(v, (list, tuple)) else '[..]'}" for k, v in r.point.items()) or "-"
    stat = {"mean": "", "variance": " (var)", "ratio": " (ratio)", "discrepancy": " (sim-theory, size->oo)",
            "relative": " (relative gap, size->oo)"}.get(
        r.statistic, f" ({r.statistic.replace(' limit', '')}, n->oo)")
    return [r.claim + stat, variant, r.simulator or "-", point, "-" if r.generation is None else str(r.generation), r.kind,
            _fmt(r.theory), _fmt(r.estimate), _fmt(r.se, 2), r.test, f"{r.z:.2f}", _fmt(r.p_adjusted, 2), r.verdict]


def render(rows, fmt: str, meta: dict, explain: bool = False) -> str:
    """The verification table in one of FORMATS; ``explain`` adds each row's detectable error (``detects``:
    the error of the theory it rejects with probability 0.99 after the Holm correction, relative to the theory,
    or absolute for a discrepancy whose theory is 0) and its trials."""
    if fmt == "json":
        return json.dumps({"meta": meta, "rows": [r.as_dict() for r in rows]}, indent=1, default=str) + "\n"
    from .tables import render as table

    if not explain:
        return table(COLUMNS, [_cells(r) for r in rows], fmt)
    columns = COLUMNS[:-1] + ("trials", "detects", COLUMNS[-1])
    return table(columns, [_cells(r)[:-1] + [str(r.trials), _detects(r), r.verdict] for r in rows], fmt)


def _detects(r) -> str:
    d = r.detectable
    if d != d:
        return "-"
    return f"{100 * d:.2g}%" if r.theory else f"+-{d:.2g}"


def _summary(rows, skipped: dict, seconds: float, trials: int = CALIBRATED_TRIALS) -> str:
    failed = sorted({r.claim for r in rows if r.verdict == "FAIL"})
    claims = sorted({r.claim for r in rows})
    skipped_rows = sum(r.verdict == "skip" for r in rows)
    lines = [f"{len(claims)} claims, {len(rows)} comparisons, {len(failed)} claims failed "
             f"(Holm-corrected, family-wise alpha = {ALPHA}); {seconds:.0f} s"]
    if skipped_rows:
        lines.append(f"{skipped_rows} comparisons skipped: " + next(r.note for r in rows if r.verdict == "skip"))
    if failed:
        lines.append("failed: " + ", ".join(failed))
    for cid, why in skipped.items():
        lines.append(f"not simulated: {cid}: {why}")
    if trials < CALIBRATED_TRIALS:  # said before the run too; said again where the verdicts are read
        lines.append(_uncalibrated(trials))
    return "\n".join(lines)


def _uncalibrated(trials: int) -> str:
    return (f"warning: with {trials} trials the table's tests are not calibrated (they are from about "
            f"{CALIBRATED_TRIALS} trials on): correct claims may be rejected")


def check_output(path: str | None) -> None:
    """Refuse an --output path that cannot be written, before any work is done."""
    if not path:
        return
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        raise UsageError(f"--output {path}: is a folder; give a file name")
    if not folder.is_dir():
        raise UsageError(f"--output {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"--output {path}: the folder {folder} is not writable")


def _emit(text: str, output: str | None) -> None:
    if output:
        from .store import write_atomically

        try:
            write_atomically(output, text)
        except OSError as e:
            raise UsageError(f"--output {output}: {e.strerror or e}") from None
    else:
        sys.stdout.write(text)


def _warn(message: str) -> None:
    print(message, file=sys.stderr)


def _check_trials(trials: int) -> None:
    if trials < 2:
        raise UsageError(f"--trials must be an integer >= 2 (a standard error needs two trials), got {trials}")
    if trials < CALIBRATED_TRIALS:
        _warn(_uncalibrated(trials))


def _runner(args):
    from .execute import backend

    return backend(args.jobs, args.scheduler, args.workers)


def cmd_verify(args: argparse.Namespace) -> int:
    import time

    from .verify import default_items, run

    check_output(args.output)
    if args.list:
        items, skipped = default_items(args.patterns)
        _emit(rows_list(items, skipped), args.output)
        return 0
    _check_trials(args.trials)
    items, skipped = default_items(args.patterns)
    if not items:
        raise UsageError(f"no simulated claim matches {' '.join(args.patterns)}"
                         + (f" ({'; '.join(f'{k}: {v}' for k, v in skipped.items())})" if skipped else ""))
    start = time.monotonic()
    runner = _runner(args)
    try:
        rows = run(items, trials=args.trials, seed=args.seed, progress=_progress(args), runner=runner, warn=_warn,
                   yes=args.yes)
    finally:
        runner.close()
    from .store import git_revision, versions

    command = " ".join(["collapse verify", *args.patterns] + ([f"--trials {args.trials}"] if args.trials != DEFAULT_TRIALS
                                                            else []) + ([f"--seed {args.seed}"] if args.seed else []))
    meta = {"trials": args.trials, "seed": args.seed, "alpha": ALPHA, "correction": "holm", "not_simulated": skipped,
            "command": command, "versions": versions(), "git": git_revision(),
            "seconds": round(time.monotonic() - start, 1)}
    _emit(render(rows, args.format, meta, args.explain), args.output)
    print(_summary(rows, skipped, time.monotonic() - start, args.trials), file=sys.stderr)
    return 0 if all(r.verdict != "FAIL" for r in rows) else 1


def rows_list(items, skipped: dict) -> str:
    """What `collapse verify` checks, one line per (claim, variant, simulator, check), then what it does not:
    the list pinned in tests/numerics/verify_rows.txt."""
    lines = [" | ".join(map(str, it.key())) for it in items]
    lines += [f"{cid} | not simulated: {why}" for cid, why in skipped.items()]
    return "\n".join(lines) + "\n"


def parse_expression(text: str, claim) -> object:
    """A user's expression for a claim's quantity: the claim's parameter names, i, and the safe functions."""
    from theory import symbols
    from theory.expressions import parse

    names = {p.name: p.symbol for p in claim.params if p.kind != "choice"}
    index = {s: getattr(symbols, s) for s in ("i", "j", "k", "l") if s not in names}
    expr = parse(text, {**index, **names})
    stray = {s.name for s in expr.free_symbols - set(names.values())}
    if stray:
        raise UsageError(f"the expression uses {', '.join(sorted(stray))}; {claim.id} has parameters "
                         f"{', '.join(names) or 'none'}")
    return expr


def _claim_of(name: str):
    """The claim ``--quantity`` names: a claim id, or a quantity id (its first claim with checks)."""
    from theory import CLAIMS, QUANTITIES

    if name in CLAIMS:
        return CLAIMS[name]
    if name in QUANTITIES:
        claims = [c for c in CLAIMS.predicting(name) if c.checks]
        if claims:
            return claims[0]
        raise UsageError(f"no claim of quantity {name} is simulated")
    try:
        CLAIMS[name]
    except KeyError as e:
        raise UsageError(f"{e.args[0]} (nor a quantity id)") from None


def cmd_check(args: argparse.Namespace) -> int:
    from theory.cli import parse_assignments

    from .verify import make_item, run

    check_output(args.output)
    _check_trials(args.trials)
    claim = _claim_of(args.quantity)
    expr = parse_expression(args.expr, claim)
    values = parse_assignments(args.at or [])
    variant = {k: v for k, v in values.items() if k in claim.choices}
    overrides = {k: v for k, v in values.items() if k not in claim.choices}
    try:
        item = make_item(claim.id, variant, **overrides)
    except (ValueError, KeyError) as e:
        raise UsageError(str(e).strip("'\"")) from None
    item.expression = expr
    for gen in item.generations:  # evaluate once before simulating: a bad expression fails now, not later
        for size in item.sizes or (None,):
            try:
                item.theory(gen, size)
            except ValueError as e:
                raise UsageError(f"{args.expr}: {e}") from None
    runner = _runner(args)
    try:
        rows = run([item], trials=args.trials, seed=args.seed, progress=_progress(args), runner=runner, warn=_warn,
                   yes=args.yes)
    finally:
        runner.close()
    meta = {"expression": str(expr), "quantity": claim.quantity, "claim": claim.id, "trials": args.trials,
            "seed": args.seed}
    _emit(render(rows, args.format, meta), args.output)
    rejected = [r for r in rows if r.verdict == "FAIL"]
    print(f"{args.expr}: {'REJECTED' if rejected else 'consistent with simulation'} for {args.quantity} "
          f"({len(rejected)} of {len(rows)} generations reject at family-wise alpha = {ALPHA}"
          f"{'; not calibrated at %d trials' % args.trials if args.trials < CALIBRATED_TRIALS else ''})", file=sys.stderr)
    return 1 if rejected else 0


def _progress(args) -> bool:
    """Progress on stderr unless --no-progress (a bar on a terminal, plain lines elsewhere: numerics.execute.Progress)."""
    return getattr(args, "progress", None) is not False


def _nonnegative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer, got {value}")
    return value


def _positive_int(text: str) -> int:
    value = _nonnegative_int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {value}")
    return value


def _backend_args(p: argparse.ArgumentParser) -> None:
    run = p.add_argument_group("running")
    run.add_argument("--jobs", type=_positive_int, metavar="N",
                     help="local worker processes (default: one per core; 1 runs in this process)")
    run.add_argument("--workers", type=_positive_int, metavar="N", help="start a local Dask cluster of N worker processes")
    run.add_argument("--scheduler", metavar="ADDRESS", help="run on an existing dask.distributed cluster (tcp://host:8786)")
    run.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                     help="progress on stderr (default): a bar on a terminal, elsewhere a line every 20 s "
                          "once a run has taken 5 s")
    run.add_argument("--yes", action="store_true",
                     help="run even if the run is estimated to take more than an hour (docs/limits.md)")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--trials", type=int, default=DEFAULT_TRIALS, help=f"trials per simulation (default {DEFAULT_TRIALS})")
    p.add_argument("--seed", type=_nonnegative_int, default=0, help="seed of the run (default 0)")
    p.add_argument("--format", choices=FORMATS, default="table")
    p.add_argument("--output", metavar="PATH", help="write the table here (atomically) instead of to stdout")
    _backend_args(p)


def _where(items: list[str] | None) -> dict:
    from theory.cli import parse_value

    out = {}
    for item in items or []:
        if "=" not in item:
            raise UsageError(f"--where takes NAME=VALUE, got {item!r}")
        k, v = item.split("=", 1)
        out.setdefault(k.strip(), []).extend(parse_value(x) for x in v.split(","))
    return out


def select(table, where: dict, metrics: list[str] | None = None, generations: list[int] | None = None):
    """Rows of a results table whose columns take the given values (--where, --metric, --generation)."""
    for k, values in where.items():
        if k not in table.columns:
            raise UsageError(f"--where {k}: the results have no column {k!r} (columns: {', '.join(table.columns)})")
        table = table[table[k].isin(values)]
    if metrics:
        unknown = set(metrics) - set(table["metric"])
        if unknown:
            raise UsageError(f"--metric {sorted(unknown)[0]}: not in the results (metrics: {', '.join(table['metric'].unique())})")
        table = table[table["metric"].isin(metrics)]
    if generations:
        table = table[table["generation"].isin(generations)]
    if table.empty:
        raise UsageError("no rows match --where / --metric / --generation")
    return table


SHOW_FORMATS = ("table", "csv", "markdown", "json", "latex")


def cmd_sweep(args: argparse.Namespace) -> int:
    from .store import Store
    from .sweep import Config, default_output, run_sweep

    if args.list:
        from .sweep import describe

        sys.stdout.write(describe())
        return 0
    if args.configs:
        _emit(configs_text(), args.output)
        return 0
    if args.shipped:
        return sweep_shipped(args)
    if args.target is None:
        raise UsageError("give a configuration (CONFIG.toml or the name of a shipped one), --show RESULTS, --list, "
                         "--configs or --shipped")
    if args.show:
        table = Store(args.target).read()
        table = select(table, _where(args.where), args.metric, args.generation)
        check_output(args.output)
        _emit(show(table, args.format), args.output)
        return 0
    config = Config.from_toml(args.target)
    output = args.output or default_output(config)
    Store(output).check_output()
    cells = len(config.cells())
    print(f"{config.simulator}: {cells} cell{'s' if cells > 1 else ''} x {config.trials} trials x "
          f"{config.generations} generations -> {Store(output).path}", file=sys.stderr)
    table = run_sweep(config, output, jobs=args.jobs, scheduler=args.scheduler, workers=args.workers,
                      progress=_progress(args), overwrite=args.overwrite, warn=_warn, yes=args.yes)
    meta = table.attrs.get("metadata", {})
    if table.attrs.get("cells_run") == 0:
        print(f"{Store(output).path}: already complete ({meta.get('cells', '?')} cells, {len(table)} rows; "
              f"ran in {meta.get('seconds', 0):.0f} s)", file=sys.stderr)
        return 0
    if meta.get("resumed"):
        print(f"resumed: {meta['resumed']} of {meta['cells']} cells were already done", file=sys.stderr)
    print(f"{meta.get('cells', '?')} cells, {len(table)} rows in {Store(output).path} "
          f"(sidecar {Store(output).sidecar.name}); {meta.get('seconds', 0):.0f} s", file=sys.stderr)
    return 0


def configs_text() -> str:
    """The shipped configurations (every installed package's): name, simulator, what they are, and why
    `collapse sweep --shipped` leaves one out."""
    from .config import shipped, tables

    lines = []
    for name, path in shipped().items():
        data = tables(path)
        skip = (data.get("report") or {}).get("skip")
        lines.append(f"{name:<26} {data.get('simulator', '?'):<12} {data.get('description', '')}"
                     + (f"\n{'':<39} (not in --shipped: {skip})" if skip else ""))
    return "\n".join(lines) + "\n"


def shipped_runnable() -> tuple[list[str], dict[str, str]]:
    """The shipped configurations `--shipped` runs, and those it leaves out with why (its [report] table's
    ``skip``, or a simulator that needs torch)."""
    from . import catalog
    from .config import shipped, tables

    catalog.load()
    run, left = [], {}
    for name, path in shipped().items():
        data = tables(path)
        skip = (data.get("report") or {}).get("skip")
        if skip:
            left[name] = skip
        elif data.get("simulator") not in catalog.CATALOG:
            left[name] = "its simulator needs torch: " + next(iter(catalog.UNAVAILABLE.values()), "")
        else:
            run.append(name)
    return run, left


def sweep_shipped(args) -> int:
    """`collapse sweep --shipped`: every runnable shipped configuration into results/NAME.parquet (finished
    stores are reused, interrupted ones resume)."""
    from .sweep import Config, default_output, run_sweep

    names, left = shipped_runnable()
    for name, why in left.items():
        print(f"{name}: left out ({why})", file=sys.stderr)
    for name in names:
        config = Config.from_toml(name)
        print(f"{name}: {len(config.cells())} cells x {config.trials} trials x {config.generations} generations",
              file=sys.stderr)
        table = run_sweep(config, default_output(config), jobs=args.jobs, scheduler=args.scheduler,
                          workers=args.workers, progress=_progress(args), warn=_warn, yes=args.yes)
        meta = table.attrs.get("metadata", {})
        done = "already complete" if table.attrs.get("cells_run") == 0 else "done"
        print(f"{name}: {done} ({meta.get('seconds', 0):.0f} s)", file=sys.stderr)
    return 0


def show(table, fmt: str) -> str:
    """A results table as text: the varying settings, then generation, metric, estimate, se, theory, z.

    In the text formats a declared workflow shows as its short label (numerics.plot.workflow_label: "last 3",
    "10% fresh + 90% latest"), and a legend under the table gives each label's full spec (its canonical text);
    CSV and JSON keep the canonical text."""
    import numpy as np

    from .sweep import settings_columns

    varying = [c for c in settings_columns(table) if table[c].astype(str).nunique() > 1]
    cols = varying + ["generation", "metric", "statistic", "estimate", "se", "trials", "theory", "z", "claim"]
    t = table.assign(z=(table["estimate"] - table["theory"]) / table["se"].where(table["se"] > 0))
    t = t[cols]
    if fmt == "csv":
        return t.to_csv(index=False)
    if fmt == "json":
        return t.to_json(orient="records", indent=1) + "\n"
    legend = []
    if "workflow" in cols:
        from .plot import workflow_label

        full = t["workflow"].astype(str)
        labels = {v: workflow_label(v) for v in full.unique()}
        clash = {lab for lab in labels.values() if list(labels.values()).count(lab) > 1}
        labels = {v: v if lab in clash else lab for v, lab in labels.items()}  # never one label for two specs
        t = t.assign(workflow=full.map(labels))
        legend = [f"{'% ' if fmt == 'latex' else ''}workflow {lab}: {v}" for v, lab in labels.items() if lab != v]
    text = t.astype(object).where(t.notna(), "-")
    for c in ("estimate", "theory"):
        text[c] = [f"{x:.6g}" if isinstance(x, float) else x for x in text[c]]
    for c in ("se",):
        text[c] = [f"{x:.2g}" if isinstance(x, float) else x for x in text[c]]
    text["z"] = [f"{x:.2f}" if isinstance(x, float) and np.isfinite(x) else "-" for x in text["z"]]
    rows = [[str(v) for v in r] for r in text.itertuples(index=False)]
    from .tables import render as table_text

    return table_text(cols, rows, fmt) + "".join(f"{line}\n" for line in legend)


def cmd_plot(args: argparse.Namespace) -> int:
    from .plot import plot
    from .store import Store

    if args.shipped:
        return plot_shipped(args)
    if args.results is None:
        raise UsageError("give a results file, or --shipped")
    store = Store(args.results)
    table = select(store.read(), _where(args.where), args.metric)
    try:
        written = plot(table, args.output or store.path.with_suffix(""), hue=args.hue, facet=args.facet,
                       formats=args.formats.split(","), title=args.title)
    except ValueError as e:
        raise UsageError(str(e)) from None
    for path in written:
        print(f"wrote {path}", file=sys.stderr)
    return 0


def plot_shipped(args) -> int:
    """`collapse plot --shipped`: the figure of every shipped configuration with a [figure] table, from its
    results in results/NAME.parquet, to OUTPUT/NAME.png and .pdf (OUTPUT: --output, default docs/figures)."""
    from pathlib import Path

    from .config import shipped, tables
    from .plot import plot
    from .store import Store

    folder = Path(args.output or "docs/figures")
    for name, path in shipped().items():
        figure = tables(path).get("figure")
        if figure is None:
            continue
        store = Store(Path("results") / f"{name}.parquet")
        if not store.path.exists():
            print(f"{name}: no results at {store.path} (collapse sweep {name}); its figure is left as it is",
                  file=sys.stderr)
            continue
        table = select(store.read(), figure.get("where", {}), figure.get("metrics"))
        written = plot(table, folder / name, hue=figure.get("hue"), facet=figure.get("facet"),
                       formats=args.formats.split(","), title=args.title)
        for p in written:
            print(f"wrote {p}", file=sys.stderr)
    return 0


# -- collapse derive --check (the derive command is theory's; the simulation it is held against is here) --


def _add_derive_check(sub: argparse._SubParsersAction) -> None:
    """Give theory's `collapse derive` the options --check, --trials, --seed and --yes (theory may not import
    numerics, so the numerics layer adds them to the subparser theory.derive_cli made)."""
    p = sub.choices.get("derive")
    if p is None:
        return
    run = p.add_argument_group("checking (--check)")
    run.add_argument("--check", action="store_true",
                     help="hold the exact values printed against a simulation of the same workflow (variance_ratio: "
                          "the Gaussian chain, d = 1, n = 1000; test_error: fixed-design OLS; diversity: the "
                          "categorical chain), with Holm's correction over the generations; exit 1 on rejection")
    run.add_argument("--trials", type=int, default=DEFAULT_TRIALS,
                     help=f"simulated chains for --check (default {DEFAULT_TRIALS})")
    run.add_argument("--seed", type=_nonnegative_int, default=0, help="seed of the --check simulation (default 0)")
    run.add_argument("--yes", action="store_true",
                     help="run the --check simulation even if it is estimated to take more than an hour "
                          "(docs/limits.md), as verify and sweep do")
    derive = p.get_default("func")
    p.set_defaults(func=lambda args: cmd_derive_check(args, derive))


def cmd_derive_check(args: argparse.Namespace, derive) -> int:
    """`collapse derive`, then with --check the simulation: the table as `collapse check` prints it, and its
    verdict on stderr (exit 1 if a generation rejects)."""
    if not args.check:
        return derive(args)
    _check_trials(args.trials)
    import sympy as sp

    from theory.derive import derive as derive_quantity
    from theory.derive import parse_at
    from theory.derive_cli import DEFAULT_GENERATIONS, load_workflow

    from .derive_check import compared, expected, held, simulation, verdict

    spec = load_workflow(args.workflow)
    at = parse_at(args.at or [])
    # the derivation the command prints (cached: printing it does not derive again), for its generation's name
    idx = str(derive_quantity(spec, args.quantity, alpha=at.get("alpha", sp.S.One)).index)
    gens = ([int(at[idx])] if idx in at else [int(at["k"])] if "k" in at
            else list(range(1, DEFAULT_GENERATIONS + 1)))
    params = {k: v for k, v in at.items() if k not in (idx, "k", "l")}
    sim = simulation(spec, args.quantity, params, generations=max(gens))  # refuses before the derivation prints
    compared(sim, gens)
    code = derive(args)
    values = expected(spec, sim, gens)
    print(f"check: simulated by {sim.note}; {args.trials} chains, seed {args.seed}")
    for w in sim.warnings:
        _warn(f"warning: {w}")
    label = f"{spec.label}.{args.quantity}"
    rows = held(sim, values, gens, label=label, trials=args.trials, seed=args.seed, progress=_progress(args), warn=_warn,
                yes=args.yes)
    meta = {"workflow": spec.label, "quantity": args.quantity, "simulator": sim.simulator, "trials": args.trials,
            "seed": args.seed}
    sys.stdout.write(render(rows, "table", meta))
    print(verdict(rows, label, args.trials), file=sys.stderr)
    return code or (1 if any(r.verdict == "FAIL" for r in rows) else 0)


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("verify", help="hold claims against simulations of their procedures")
    p.add_argument("patterns", nargs="*", help="claim ids or glob patterns (default: all)")
    p.add_argument("--list", action="store_true",
                   help="list what would be checked (claim | variant | simulator | check), without running it")
    p.add_argument("--explain", action="store_true",
                   help="add each row's trials and the error it detects (power 0.99 after the Holm correction)")
    _common(p)
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("check", help="hold your own expression for a claim's quantity against its simulator")
    p.add_argument("expr", help="a SymPy expression in the claim's parameter names, e.g. 'sigma**2*d/(T-d-1)*harmonic(n)'")
    p.add_argument("--quantity", required=True, metavar="ID",
                   help="the quantity the expression predicts: a claim id (its quantity, at its check's point) or a "
                        "quantity id")
    p.add_argument("--at", nargs="+", action="extend", metavar="NAME=VALUE", help="choices and parameter values")
    _common(p)
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("sweep", help="run a grid of simulations from a TOML file into a results store (or --show one)",
                       description="Run (or resume) the sweep of CONFIG.toml into a Parquet results store with a "
                                   "JSON sidecar; with --show, print a results store.")
    p.add_argument("target", nargs="?", metavar="CONFIG.toml | RESULTS", help="a sweep configuration, or with --show a results file")
    p.add_argument("--show", action="store_true", help="print the results table of RESULTS")
    p.add_argument("--list", action="store_true", help="list the simulators a sweep can run, their settings and metrics")
    p.add_argument("--configs", action="store_true", help="list the shipped configurations (of every installed package)")
    p.add_argument("--shipped", action="store_true",
                   help="run every shipped configuration that runs here (finished results are reused)")
    p.add_argument("-o", "--output", metavar="PATH",
                   help="results file (default results/<config name>.parquet); with --show, where to write the text")
    _backend_args(p)
    p.add_argument("--overwrite", action="store_true",
                   help="discard what is at the output path (another configuration's results, or a damaged store)")
    sel = p.add_argument_group("showing")
    sel.add_argument("--where", nargs="+", action="extend", metavar="NAME=VALUE[,VALUE]", help="keep rows with these settings")
    sel.add_argument("--metric", nargs="+", action="extend", help="keep these metrics")
    sel.add_argument("--generation", nargs="+", action="extend", type=int, help="keep these generations")
    sel.add_argument("--format", choices=SHOW_FORMATS, default="table")
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("plot", help="figures from a results store: each metric against generation, theory and simulation")
    p.add_argument("results", nargs="?", metavar="RESULTS", help="a results file written by collapse sweep")
    p.add_argument("--shipped", action="store_true",
                   help="draw the figure of every shipped configuration that has one (its [figure] table) into "
                        "--output (a folder; default docs/figures)")
    p.add_argument("-o", "--output", metavar="PATH", help="figure path without suffix (default: beside RESULTS)")
    p.add_argument("--formats", default="png,pdf", help="comma-separated: png, pdf, svg (default png,pdf)")
    p.add_argument("--where", nargs="+", action="extend", metavar="NAME=VALUE[,VALUE]", help="plot only these cells")
    p.add_argument("--metric", nargs="+", action="extend", help="plot only these metrics")
    p.add_argument("--hue", metavar="SETTING", help="the setting drawn in colours (default: chosen from the varying ones)")
    p.add_argument("--facet", metavar="SETTING", help="the setting drawn in columns of panels (default: workflow when it varies)")
    p.add_argument("--title", help="figure title (default: the sweep's description)")
    p.set_defaults(func=cmd_plot)

    _add_derive_check(sub)
