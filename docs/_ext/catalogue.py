"""A Sphinx extension that writes the claim catalogue from the registry at every build.

One page per family (the part of a claim id before its first dot) under ``claims/``, and an index of
them: every registered claim, with each variant's formula (rendered by MathJax), its limit and leading
order, its quantity, source, parameters and their domain, assumptions, note, errata, the simulators that
check it (or why none does) and, where a stored verification table exists (``results/verify.json``,
written by ``collapse verify --format json --output results/verify.json``), its latest rows. Nothing
is transcribed: a claim added to the registry (a plugin's too) appears at the next build.

It also lists in the site's index the optional pages that exist (conf.optional_pages), so that the
index names pages other work adds without a build warning while they are absent.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import sympy as sp

OUT = "claims"
VERIFY = Path(__file__).resolve().parents[2] / "results" / "verify.json"


def _math(expr) -> str:
    return f"$${sp.latex(expr)}$$"


def _param_domain(p) -> str:
    if p.kind == "choice":
        return "one of " + ", ".join(f"`{o}`" for o in p.options)
    text = p.kind.replace("_", " ")
    if p.minimum not in (None, 0) and p.kind not in ("positive",):
        text += f", at least {p.minimum}"
    return text + (" (optional)" if p.optional else "")


def _simulators(claim) -> list[str]:
    try:
        from numerics import catalog
    except ImportError:  # the theory layer alone: no catalog to read
        return []
    out = []
    for sim, produces in catalog.producers(claim.quantity):
        label = f" ({produces.label})" if produces.label else ""
        out.append(f"`{sim.name}`{label}: metric `{produces.metric}` ({sim.doc})")
    return out


def _verify_rows(claim_id: str) -> list[dict]:
    if not VERIFY.is_file():
        return []
    try:
        rows = json.loads(VERIFY.read_text())["rows"]
    except (ValueError, KeyError):
        return []
    return [r for r in rows if r.get("claim") == claim_id]


def claim_section(claim) -> str:
    from theory import QUANTITIES

    quantity = QUANTITIES[claim.quantity]
    lines = [f"(claim-{claim.id})=", f"## `{claim.id}`", "", f"**{claim.title}** ({claim.kind}). Quantity `{quantity.id}`: {quantity.doc}", ""]
    for variant in claim.variants():
        form = claim.form(**variant)
        if variant:
            lines += [", ".join(f"`{k} = {v}`" for k, v in variant.items()) + ":", ""]
        lines += [f"$${claim.latex(**variant)}$$", ""]
        if form.limit is not None and claim.generation:
            lines += [f"As ${claim.generation} \\to \\infty$:", "", _math(form.limit), ""]
        if form.series is not None and form.series_in is not None:
            lines += [f"Leading order in $1/{sp.latex(form.series_in)}$:", "", _math(form.series), ""]
    lines += [f"**Source.** {claim.source}", "", "**Parameters and their domain.**", "",
              "| parameter | meaning | domain |", "|---|---|---|"]
    for p in claim.params:
        lines.append(f"| `{p.name}` | {' '.join(p.doc.split())} | {_param_domain(p)} |")
    lines.append("")
    for c in claim.constraints:
        doc = (c.__doc__ or "").strip().splitlines()
        if doc:
            lines += [f"- {doc[0]}"]
    if claim.constraints:
        lines.append("")
    if claim.assumptions:
        lines += ["**Assumptions.**", ""] + [f"- {a}" for a in claim.assumptions] + [""]
    if claim.note:
        lines += [f"**Note.** {' '.join(claim.note.split())}", ""]
    if claim.errata:
        lines += ["**Errata.**", ""] + [e.markdown().split(". ", 1)[1] for e in claim.errata] + [""]
    sims = _simulators(claim)
    if sims:
        lines += ["**Checked by** (`collapse verify " + claim.id + "`):", ""] + [f"- {s}" for s in sims] + [""]
    elif claim.not_simulated:
        lines += [f"**Not simulated:** {claim.not_simulated}", ""]
    rows = _verify_rows(claim.id)
    if rows:
        lines += ["**Latest verification** (`results/verify.json`):", "",
                  "| simulator | point | generation | theory | estimate | se | z | verdict |", "|---|---|---|---|---|---|---|---|"]
        for r in rows:
            point = " ".join(f"{k}={v}" for k, v in (r.get("point") or {}).items())
            lines.append(f"| {r.get('simulator', '')} | {point} | {r.get('generation')} | {r['theory']:.6g} | "
                         f"{r['estimate']:.6g} | {r['se']:.2g} | {r['z']:.2f} | {r['verdict']} |")
        lines.append("")
    return "\n".join(lines)


def write_catalogue(srcdir: str | Path) -> list[str]:
    """Write claims/index.md and one page per family; returns the families."""
    from theory import CLAIMS

    families: dict[str, list] = defaultdict(list)
    for claim in CLAIMS.values():
        families[claim.id.split(".")[0]].append(claim)
    folder = Path(srcdir) / OUT
    folder.mkdir(exist_ok=True)
    for family, claims in families.items():
        page = [f"# `{family}.*`", "", f"{len(claims)} claim{'s' if len(claims) != 1 else ''}, from the registry "
                "(`collapse list " + family + "`).", ""] + [claim_section(c) for c in claims]
        _write(folder / f"{family}.md", "\n".join(page))
    index = ["# The claim catalogue", "",
             f"Every registered claim ({len(CLAIMS)}), written from the registry when the site is built: each "
             "variant's formula, its limit and leading order, the source, the parameters and their domain, the "
             "assumptions, the errata and the simulators that check it.", "",
             "| claim | what it gives | source |", "|---|---|---|"]
    for cid, c in CLAIMS.items():
        index.append(f"| {{ref}}`{cid} <claim-{cid}>` | {' '.join(c.title.split())} | {c.source.short} |")
    index += ["", "```{toctree}", ":hidden:", ""] + list(families) + ["```", ""]
    _write(folder / "index.md", "\n".join(index))
    return list(families)


def _write(path: Path, text: str) -> None:
    """Write only when the text changed (Sphinx rebuilds what changed)."""
    if not path.is_file() or path.read_text() != text:
        path.write_text(text)


def _build_started(app) -> None:
    write_catalogue(app.srcdir)


def _optional_pages(app, docname: str, source: list[str]) -> None:
    if docname != "index":
        return
    present = [p for p in app.config.optional_pages if (Path(app.srcdir) / f"{p}.md").is_file()]
    source[0] = source[0].replace("% optional pages\n", "".join(f"{p}\n" for p in present))


def _reread_index(app, env, added, changed, removed) -> list[str]:
    """The index is read again at every build: which optional pages exist may have changed."""
    return ["index"]


def setup(app):
    app.add_config_value("optional_pages", [], "env")
    app.connect("builder-inited", _build_started)
    app.connect("source-read", _optional_pages)
    app.connect("env-get-outdated", _reread_index)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
