"""``collapse derive``: the theory of any declared workflow, derived and printed (see :mod:`theory.derive`).

The workflow is a name (``collapse derive real-fraction``), a TOML file (a spec at its top level, one
``[workflows.NAME]`` table, or ``FILE.toml:NAME`` to pick one) or an inline table
(``'{take = [{from = "window", window = 3}]}'``). The command prints the derived expression, the
recursion it came from, the exact values at ``--at`` (or at k = 1..10), and always the limit over
generations or the rate of divergence, or why neither is derived. This module imports argparse only:
SymPy is loaded when the command runs, so ``collapse list`` stays light.
"""

from __future__ import annotations

import argparse
from pathlib import Path

#: The generations printed when --at gives none.
DEFAULT_GENERATIONS = 10
_INLINE_EXAMPLE = "'{take = [{from = \"window\", window = 3}]}'"


def load_workflow(text: str):
    """A WorkflowSpec from a name, a TOML file (``FILE.toml`` or ``FILE.toml:NAME``) or an inline table."""
    import tomllib

    from .derive import DerivationError
    from .workflows import NAMED, workflow_spec

    if text in NAMED:
        return NAMED[text]
    if text.lstrip().startswith("{"):
        try:
            table = tomllib.loads("workflow = " + text)["workflow"]
        except tomllib.TOMLDecodeError as e:
            raise DerivationError(f"the inline workflow is not a TOML table: {e}") from None
        return workflow_spec(table, name="inline")
    path, _, name = text.partition(":") if not Path(text).exists() else (text, "", "")
    if not path.endswith(".toml") and not Path(path).exists():
        raise DerivationError(f"workflow must be one of {', '.join(NAMED)}, a TOML file or an inline table such "
                              f"as {_INLINE_EXAMPLE}; got {text!r}")
    try:
        data = tomllib.loads(Path(path).read_text())
    except OSError as e:
        raise DerivationError(f"cannot read {path}: {e.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise DerivationError(f"{path} is not TOML: {e}") from None
    if "take" in data and not name:
        return workflow_spec({k: v for k, v in data.items() if k != "workflows"}, name=Path(path).stem)
    if isinstance(data.get("workflow"), (str, dict)) and not name:
        return workflow_spec(data["workflow"], name=Path(path).stem)
    tables = data.get("workflows", {})
    if not isinstance(tables, dict) or not tables:
        raise DerivationError(f"{path} declares no workflow (a top-level take = [...] or a [workflows.NAME] table)")
    if not name:
        if len(tables) > 1:
            raise DerivationError(f"{path} declares {len(tables)} workflows; pick one as {path}:NAME "
                                  f"({', '.join(tables)})")
        name = next(iter(tables))
    if name not in tables:
        raise DerivationError(f"{path} has no workflow {name!r} ({', '.join(tables)})")
    return workflow_spec(tables[name], name=name)


def _render(expr, fmt: str) -> str:
    import sympy as sp

    if fmt == "latex":
        return sp.latex(expr)
    if fmt == "sympy":
        return str(expr)
    return sp.pretty(expr, use_unicode=False, num_columns=100)


def _indent(text: str, prefix: str = "    ") -> str:
    return "\n".join(prefix + line for line in text.splitlines())


def _decimal(expr) -> str:
    import sympy as sp

    if expr.free_symbols or expr is sp.oo:
        return ""
    return f" = {sp.N(expr, 10)}"


def cmd_derive(args: argparse.Namespace) -> int:
    import sympy as sp

    from .derive import DerivationError, derive, evaluate, parse_at

    spec = load_workflow(args.workflow)
    at = parse_at(args.at or [])
    batch = at.pop("alpha", sp.S.One)
    d = derive(spec, args.quantity, alpha=batch)
    fmt = args.format
    idx = str(d.index)
    params = {name: v for name, v in at.items() if name not in (idx, "k", "l")}
    unknown = set(params) - set(d.symbols)
    if unknown:
        raise DerivationError(f"--at: unknown name {sorted(unknown)[0]!r} (names: {', '.join(sorted(d.symbols))})")
    subs = {d.symbols[name]: v for name, v in params.items()}
    print(f"workflow {spec.label}: {spec.describe()}")
    print(f"quantity {d.quantity}: {QUANTITY_HELP[d.quantity]}")
    if "real_fraction" in d.symbols:
        print("symbols: rho = real_fraction")
    print(f"batch: alpha = {batch} (synthetic rows per generation as a share of n, where the spec leaves it out)")
    in_ = f"{idx} and l" if d.quantity == "covariance" else idx
    if d.expr is not None:
        print(f"closed form in {in_}:")
        print(_indent(_render(d.expr, fmt)))
    else:
        print(f"closed form in {in_}: not derived: {d.why}")
    if d.recursion:
        print("derived from:")
        for i, step in enumerate(d.recursion, 1):
            print(f"  {i}. {step.text}")
            print(_indent(_render(step.expr, fmt), "       "))
    gens = [at[idx]] if idx in at else [at["k"]] if "k" in at else list(range(1, DEFAULT_GENERATIONS + 1))
    where = ", ".join(f"{name}={v}" for name, v in params.items())
    label = f" ({where})" if where else ""
    print(f"exact value{'s' if len(gens) > 1 else ''}{label}:")
    for g in gens:
        point = {idx: sp.Integer(g), **params}
        if d.quantity == "covariance":
            point["l"] = at.get("l", sp.Integer(g))
        value = evaluate(d, point)
        at_l = f", l={point['l']}" if d.quantity == "covariance" else ""
        print(f"    {idx}={g}{at_l}: {_render(value, fmt) if fmt != 'pretty' else value}{_decimal(value)}")
    if d.quantity == "covariance":
        print("limit: see --quantity variance_ratio (Var Z_k is the covariance at k = l)")
    elif d.limit is None:
        print(f"limit {idx} -> oo: not derived: {d.why}")
    elif d.limit is sp.oo:
        rate = d.rate.subs(subs) if subs else d.rate
        print(f"limit {idx} -> oo: diverges; {d.quantity} / {idx} -> {_render(rate, 'sympy')}{_decimal(rate)}")
    else:
        lim = sp.simplify(d.limit.subs(subs)) if subs else d.limit
        print(f"limit {idx} -> oo: {_render(lim, 'sympy' if fmt == 'pretty' else fmt)}{_decimal(lim)}")
    return 0


QUANTITY_HELP = {
    "variance_ratio": "Var(theta_k)/Var(theta_1), n -> oo (Dey & Donoho)",
    "covariance": "Cov(Z_k, Z_l)/V of the limiting Gaussian process",
    "test_error": "fixed-design OLS test error after n fits (Gerstgrasser et al.), exact",
    "diversity": "categorical diversity ratio E D_t / D_0, exact at finite n",
}


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("derive", help="derive the theory of any declared workflow: expression, recursion, limit")
    p.add_argument("workflow", help="a workflow name (e.g. real-fraction), a TOML file (FILE.toml or FILE.toml:NAME) "
                   f"or an inline table such as {_INLINE_EXAMPLE}")
    p.add_argument("--quantity", default="variance_ratio", choices=tuple(QUANTITY_HELP),
                   help="what to derive (default variance_ratio)")
    p.add_argument("--at", nargs="+", action="extend", metavar="NAME=VALUE",
                   help="the generation (k; n for test_error, t for diversity), l for the covariance, alpha and "
                   "the workflow's parameters, e.g. --at k=5 real_fraction=0.1")
    p.add_argument("--format", choices=("pretty", "latex", "sympy"), default="pretty",
                   help="how to print expressions (sympy: SymPy source)")
    p.set_defaults(func=cmd_derive)
