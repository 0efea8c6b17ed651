"""``collapse list`` and ``collapse show``: the theory layer's subcommands."""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import textwrap
from typing import Any

import mpmath
import sympy as sp

from . import CLAIMS, symbols
from .claim import Claim, Form
from .errors import UsageError, UserError
from .evaluation import EvaluationError, number
from .expressions import ExpressionError, parse


#: A word value (a choice): letters first, then letters, digits, '-' or '_'.
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")


def parse_value(text: str) -> Any:
    """A value given on the command line: an integer, a number, a fraction, a schedule or a word.

    A number written as an expression (``sqrt(2)``) is evaluated once here, within the evaluation
    budget, so that one that cannot be (``exp(exp(exp(10)))``) is refused now, naming the text.
    """
    text = text.strip()
    if not text:
        raise UsageError("empty value")
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)  # also 'nan' and 'inf', which the claims reject by name
    except ValueError:
        pass
    if _enclosed(text):  # a list [3, 1.5, 1]
        inner = text[1:-1].strip()
        if not inner or _enclosed(inner) and "," not in inner:
            raise UsageError(f"cannot read the list {text!r}: give numbers separated by commas")
        return [parse_value(part) for part in _split(inner)]
    parts = _split(text)
    if len(parts) > 1:  # a list 20,40,80 (but Max(1, T) is one value)
        return [parse_value(part) for part in parts]
    if _WORD.fullmatch(text) and text not in ("i", "pi", "E", "EulerGamma", "oo", "nan", "inf"):
        return text  # a choice such as 'mle', 'accumulate-subsample' or 'ddof2'
    try:  # a number like 1/3, or a schedule in i: parsed safely, never run as Python
        value = parse(text, {"i": symbols.i})
        if value.is_number and not isinstance(value, sp.Rational):
            number(value)
    except (ExpressionError, EvaluationError) as e:
        raise UsageError(f"cannot read the value {text!r}: {e}") from None
    return value


def _enclosed(text: str) -> bool:
    """Whether ``text`` is one bracketed group, such as [3, 1.5, 1] (but not (T-1)/(T+1))."""
    if text[0] + text[-1] not in ("[]", "()"):
        return False
    depth = 0
    for k, ch in enumerate(text):
        depth += (ch in "([") - (ch in ")]")
        if depth == 0:
            return k == len(text) - 1
    return False


def _split(text: str) -> list[str]:
    """``text`` cut at its commas outside brackets: 20,40,80 in three parts, Max(1, T) in one."""
    parts, depth, start = [], 0, 0
    for k, ch in enumerate(text):
        depth += (ch in "([") - (ch in ")]")
        if ch == "," and depth == 0:
            parts.append(text[start:k])
            start = k + 1
    return parts + [text[start:]]


def parse_assignments(items: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--at takes name=value, got {item!r}")
        out[name.strip()] = parse_value(value)
    return out


def _get(claim_id: str) -> Claim:
    try:
        return CLAIMS[claim_id]
    except KeyError as e:
        raise UsageError(str(e.args[0])) from None


def _unicode_ok() -> bool:
    enc = (getattr(sys.stdout, "encoding", None) or "").lower()
    return "utf" in enc


def render(expr: sp.Basic, latex: bool) -> str:
    if latex:
        return sp.latex(expr)
    return sp.pretty(expr, use_unicode=_unicode_ok(), num_columns=max(80, shutil.get_terminal_size().columns))


def _indent(text: str, prefix: str = "    ") -> str:
    return textwrap.indent(text, prefix)


def _wrap(text: str, width: int = 96, indent: str = "    ", hang: str = "") -> str:
    return textwrap.fill(text, width=width, initial_indent=indent, subsequent_indent=indent + hang)


def cmd_list(args: argparse.Namespace) -> int:
    ids = [cid for cid in CLAIMS if not args.pattern or any(p in cid for p in args.pattern)]
    if not ids:
        raise UsageError(f"no claim id contains {' or '.join(map(repr, args.pattern))} (collapse list shows them all)")
    w_id = max(len(c) for c in ids) if ids else 10
    w_title = max(len(CLAIMS[c].title) for c in ids) if ids else 10
    for cid in ids:
        c = CLAIMS[cid]
        print(f"{cid:<{w_id}}  {c.title:<{w_title}}  {c.source.short}")
    return 0


def _generation_limit_line(claim: Claim, form: Form, latex: bool) -> str | None:
    if form.limit is None or claim.generation is None:
        return None
    return f"limit as {claim.generation} -> oo:\n" + _indent(render(form.limit, latex))


def cmd_show(args: argparse.Namespace) -> int:
    claim = _get(args.id)
    values = parse_assignments(args.at or [])
    choices = {k: v for k, v in values.items() if k in claim.choices}
    try:
        form = claim.form(**choices)
    except ValueError as e:
        raise UsageError(str(e)) from None
    numeric = {k: v for k, v in values.items() if k not in claim.choices}

    # Evaluate first, so that a bad value is reported before anything is printed.
    value = None
    missing = [p.name for p in claim.params if p.kind != "choice" and not p.optional and p.name not in numeric]
    if numeric:
        unknown = set(numeric) - {p.name for p in claim.params}
        if unknown or not missing:
            try:
                value = claim.evaluate_mp(**values)
            except ValueError as e:
                raise UsageError(str(e)) from None

    from .quantities import QUANTITIES

    quantity = QUANTITIES[claim.quantity]
    fixed = "".join(f", {k} = {v}" for k, v in claim.fixed.items())
    out = [f"{claim.id}: {claim.title}", f"  quantity: {quantity.id} ({claim.kind}{fixed})", _wrap(quantity.doc)]
    if claim.choices:
        chosen = claim._choices(choices)
        opts = "; ".join(f"{k} in {{{', '.join(v)}}}" for k, v in claim.choices.items())
        out.append(f"  variant:  {', '.join(f'{k}={v}' for k, v in chosen.items())}   ({opts})")
    out.append("  source:\n" + _wrap(str(claim.source)))
    out.append("  parameters:")
    for p in claim.params:
        if p.kind != "choice":
            out.append(f"    {p.name:<9} {p.doc}")
    if claim.assumptions:
        out.append("  assumptions:")
        out += [_wrap("- " + a, hang="  ") for a in claim.assumptions]
    if form.recursion is not None:
        out.append("  defined by the exact recursion (evaluated step by step):")
        out += [_indent(render(eq, args.latex), "    ") for eq in form.recursion.equations()]
        out.append(_indent("value: " + render(form.recursion.output, args.latex), "    "))
    else:
        out.append("  expression:")
        out.append(_indent(render(form.expr, args.latex)))
    for aux in form.where:
        out.append(f"  where {aux.symbol} solves:")
        out.append(_indent(render(aux.equation, args.latex)))
        if aux.value is not None:
            out.append("    in closed form:")
            out.append(_indent(render(aux.value, args.latex), "      "))
        else:
            out.append("    (solved numerically with mpmath at the working precision)")
    if form.schedule_expr is not None and args.series is False and args.derive is False:
        out.append("  (T may be a schedule T_0, T_1, ...: see --derive for the general form)")
    lim = _generation_limit_line(claim, form, args.latex)
    if lim:
        out.append("  " + lim.replace("\n", "\n  "))
    if form.asymptote is not None and claim.generation:
        out.append(f"  as {claim.generation} -> oo it grows like:")
        out.append(_indent(render(form.asymptote, args.latex)))
    if args.series:
        if form.series is not None:
            out.append(f"  leading order in 1/{form.series_in}:")
            out.append(_indent(render(form.series, args.latex)))
        else:
            out.append("  leading order: none stated for this claim")
    if args.derive:
        if form.schedule_expr is not None:
            out.append("  for a schedule T_i (T[i] samples at step i):")
            out.append(_indent(render(form.schedule_expr, args.latex)))
        if form.derivation:
            out.append("  derivation:")
            for n, step in enumerate(form.derivation, 1):
                out.append(f"    {n}. {step.text}")
                out.append(_indent(render(step.expr, args.latex), "       "))
        else:
            out.append("  derivation: this claim is transcribed from its source, not derived here")
    note = " ".join(x for x in (claim.note, form.note) if x)
    if note:
        out.append("  note:")
        out.append(_wrap(note))
    if args.errata:
        errata = claim.errata
        out.append("  errata:" if errata else "  errata: none recorded")
        out += [_indent(e.text(), "    ") for e in errata]
    elif claim.errata:
        out.append(f"  errata: {len(claim.errata)} (--errata prints them)")
    if value is not None:
        shown = ", ".join(f"{k}={v}" for k, v in values.items())
        out.append(f"  value at {shown}:")
        out.append(f"    {mpmath.nstr(value, 15)}")
    elif missing:
        out.append(f"  value: give --at {' '.join(m + '=...' for m in missing)}")
    print("\n".join(out))
    return 0


def cmd_errata(args: argparse.Namespace) -> int:
    from .errata import ERRATA, markdown

    if args.format == "markdown":
        sys.stdout.write(markdown())
        return 0
    print("\n\n".join(e.text() for e in ERRATA))
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("list", help="every claim with a one-line title and its source")
    p.add_argument("pattern", nargs="*", help="only ids containing one of these strings")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("show", help="one claim: expression, source, assumptions, series, limit, value")
    p.add_argument("id", help="claim id, e.g. gaussian.w2_risk (see 'collapse list')")
    p.add_argument("--latex", action="store_true", help="print expressions as LaTeX")
    p.add_argument("--series", action="store_true", help="print the leading-order series in 1/T")
    p.add_argument("--derive", action="store_true", help="print the derivation steps")
    p.add_argument("--errata", action="store_true", help="print the errata recorded on the claim")
    p.add_argument(
        "--at",
        nargs="+",
        action="extend",
        metavar="NAME=VALUE",
        help="parameter values (and choices such as estimator=mle); T may be a list 20,40,80 or an "
        "expression in i such as '10*(i+1)**2'",
    )
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("errata", help="where the literature differs from the claims: each erratum with its numbers")
    p.add_argument("--format", choices=("text", "markdown"), default="text")
    p.set_defaults(func=cmd_errata)
