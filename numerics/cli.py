"""``collapse verify`` and ``collapse check``: the numerics layer's subcommands."""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
import tempfile

from .stats import ALPHA

FORMATS = ("table", "markdown", "csv", "json", "latex")
COLUMNS = ("claim", "variant", "point", "gen", "kind", "theory", "estimate", "se", "z", "p_adj", "verdict")


def _fmt(x: float, digits: int = 6) -> str:
    return f"{x:.{digits}g}" if isinstance(x, float) else str(x)


def _cells(r) -> list[str]:
    variant = ",".join(str(v) for v in r.variant.values()) or "-"
    point = " ".join(f"{k}={_fmt(v, 4) if not isinstance(v, (list, tuple)) else '[..]'}" for k, v in r.point.items()) or "-"
    stat = {"mean": "", "variance": " (var)", "ratio": " (ratio, n->oo)", "discrepancy": " (sim-theory, d->oo)"}[r.statistic]
    return [r.claim + stat, variant, point, "-" if r.generation is None else str(r.generation), r.kind,
            _fmt(r.theory), _fmt(r.estimate), _fmt(r.se, 2), f"{r.z:.2f}", _fmt(r.p_adjusted, 2), r.verdict]


def render(rows, fmt: str, meta: dict) -> str:
    if fmt == "json":
        return json.dumps({"meta": meta, "rows": [r.as_dict() for r in rows]}, indent=1, default=str) + "\n"
    table = [_cells(r) for r in rows]
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(COLUMNS)
        w.writerows(table)
        return buf.getvalue()
    if fmt == "markdown":
        lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in table]
        return "\n".join(lines) + "\n"
    if fmt == "latex":
        esc = lambda s: s.replace("_", r"\_").replace("&", r"\&").replace("%", r"\%")  # noqa: E731
        lines = [r"\begin{tabular}{" + "l" * 5 + "r" * 5 + "l}", " & ".join(COLUMNS).replace("_", r"\_") + r" \\ \hline"]
        lines += [" & ".join(esc(c) for c in row) + r" \\" for row in table]
        return "\n".join(lines + [r"\end{tabular}"]) + "\n"
    widths = [max(len(h), *(len(row[i]) for row in table)) if table else len(h) for i, h in enumerate(COLUMNS)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(COLUMNS, widths))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in table]
    return "\n".join(lines) + "\n"


def write_atomically(path: str, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder and a rename."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".collapse-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _summary(rows, skipped: dict, seconds: float) -> str:
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
    return "\n".join(lines)


def _emit(text: str, output: str | None) -> None:
    if output:
        write_atomically(output, text)
    else:
        sys.stdout.write(text)


def cmd_verify(args: argparse.Namespace) -> int:
    import time

    from theory.cli import UsageError

    from .verify import default_checks, run

    try:
        checks, skipped = default_checks(args.patterns)
    except ValueError as e:
        raise UsageError(str(e)) from None
    if not checks:
        raise UsageError(f"no simulated claim matches {' '.join(args.patterns)}"
                         + (f" ({'; '.join(f'{k}: {v}' for k, v in skipped.items())})" if skipped else ""))
    start = time.monotonic()
    try:
        rows = run(checks, trials=args.trials, seed=args.seed)
    except ValueError as e:
        raise UsageError(str(e)) from None
    meta = {"trials": args.trials, "seed": args.seed, "alpha": ALPHA, "correction": "holm", "not_simulated": skipped}
    _emit(render(rows, args.format, meta), args.output)
    print(_summary(rows, skipped, time.monotonic() - start), file=sys.stderr)
    return 0 if all(r.verdict != "FAIL" for r in rows) else 1


def cmd_check(args: argparse.Namespace) -> int:
    import sympy as sp

    from theory import CLAIMS, symbols
    from theory.cli import UsageError, parse_assignments

    from .verify import make_check, run

    try:
        claim = CLAIMS[args.quantity]
    except KeyError as e:
        raise UsageError(str(e.args[0])) from None
    from theory._core import NamedFunction

    names = {p.name: p.symbol for p in claim.params if p.kind != "choice"}
    functions = {cls.pretty_name or cls.__name__: cls for cls in NamedFunction.__subclasses__()}  # c4, ...
    try:
        expr = sp.sympify(args.expr, locals={**functions, **names, "i": symbols.i})
    except (sp.SympifyError, SyntaxError, TypeError) as e:
        raise UsageError(f"cannot read the expression {args.expr!r}: {e}") from None
    stray = {s.name for s in expr.free_symbols - set(names.values())}
    if stray:
        raise UsageError(f"the expression uses {', '.join(sorted(stray))}; {args.quantity} has parameters {', '.join(names)}")
    values = parse_assignments(args.at or [])
    variant = {k: v for k, v in values.items() if k in claim.choices}
    overrides = {k: v for k, v in values.items() if k not in claim.choices}
    try:
        check = make_check(args.quantity, variant, **overrides)
    except (ValueError, KeyError) as e:
        raise UsageError(str(e)) from None
    check.expression = expr
    rows = run([check], trials=args.trials, seed=args.seed)
    meta = {"expression": str(expr), "quantity": args.quantity, "trials": args.trials, "seed": args.seed}
    _emit(render(rows, args.format, meta), args.output)
    rejected = [r for r in rows if r.verdict == "FAIL"]
    print(f"{args.expr}: {'REJECTED' if rejected else 'consistent with simulation'} for {args.quantity} "
          f"({len(rejected)} of {len(rows)} generations reject at family-wise alpha = {ALPHA})", file=sys.stderr)
    return 1 if rejected else 0


def _common(p: argparse.ArgumentParser) -> None:
    from .verify import DEFAULT_TRIALS

    p.add_argument("--trials", type=int, default=DEFAULT_TRIALS, help=f"trials per simulation (default {DEFAULT_TRIALS})")
    p.add_argument("--seed", type=int, default=0, help="seed of the run (default 0)")
    p.add_argument("--format", choices=FORMATS, default="table")
    p.add_argument("--output", metavar="PATH", help="write the table here (atomically) instead of to stdout")


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("verify", help="hold claims against simulations of their procedures")
    p.add_argument("patterns", nargs="*", help="claim ids or glob patterns (default: all)")
    _common(p)
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("check", help="hold your own expression for a claim's quantity against its simulator")
    p.add_argument("expr", help="a SymPy expression in the claim's parameter names, e.g. 'sigma**2*d/(T-d-1)*harmonic(n)'")
    p.add_argument("--quantity", required=True, metavar="ID", help="the claim whose quantity the expression predicts")
    p.add_argument("--at", nargs="+", action="extend", metavar="NAME=VALUE", help="choices and parameter values")
    _common(p)
    p.set_defaults(func=cmd_check)
