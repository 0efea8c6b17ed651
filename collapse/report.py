"""One report: theory, simulation and deep experiments side by side, as a page a researcher can open.

``collapse report`` builds a self-contained HTML page (every figure embedded as a data URI, formulas
rendered offline by matplotlib's mathtext to SVG, no network address anywhere, no JavaScript needed to
read it: one small inline script only makes the tables sortable) and the same content as Markdown
(figures written beside it). It is built from stored results only and never runs an experiment:

* the verification table, from ``collapse verify --format json --output results/verify.json``;
* every claim: its formula, source and errata (from the theory layer itself);
* every results store: the anchors' sweeps and the deep experiments shipped as configurations (by this
  toolkit and by any installed package, through the ``collapse.configs`` entry points), and any
  store given on the command line: its description, its figure (numerics.plot, the entry's chosen
  metrics), a theory-vs-simulation table at a few generations where its rows have a theory column (the
  bridges, the categorical and Gaussian sweeps), Shumailov et al.'s perplexity histograms where it has
  ppl0_hist_* shares (deep.language.figures, only where torch is installed), its artifacts (sample
  grids, class histograms: PNG files a run saved in ``RESULTS.artifacts/``), and for each the command
  that reproduces it, the seed, the package versions and the git revision from the store's sidecar.

A result that is missing or unfinished gets a visible "not run: <command>" in its place; a store made by
another version of the toolkit says so.
"""

from __future__ import annotations

import base64
import html
import io
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

def shipped_entries() -> list[tuple[str, str | None, str, dict]]:
    """The results the report looks for, in order: one per shipped configuration of every installed package
    (numerics.config.shipped: the ``collapse.configs`` entry points), as (title, store, the command that makes
    it, options). The options are the configuration's [report] table: ``metrics``, the panels of the store's
    figure (default: all but the histogram shares, at most 8); ``hue``, ``facet``, ``where`` (numerics.plot's
    layout, and the rows drawn); ``before``, a command to run first (writing a corpus)."""
    from numerics.config import shipped, tables

    out = []
    for name, path in shipped().items():
        data = tables(path)
        report = dict(data.get("report") or {})
        command = f"collapse sweep {name}"
        if report.get("before"):
            command = f"{report['before']} && {command}"
        out.append((report.get("title") or data.get("description") or name, f"results/{name}.parquet", command, report))
    return out


#: A figure shows at most this many metrics when its entry names none.
MAX_PANELS = 8
#: The theory-vs-simulation table shows at most this many generations of each cell and metric.
TABLE_GENERATIONS = 3
VERIFY = "results/verify.json"
VERIFY_COMMAND = "collapse verify --format json --output results/verify.json"


@dataclass
class Figure:
    png: bytes
    caption: str


@dataclass
class Section:
    title: str
    text: str = ""
    missing: str = ""  # a command to run, when the result is not there
    warning: str = ""
    provenance: dict = field(default_factory=dict)
    table: tuple | None = None  # (columns, rows)
    table_caption: str = ""
    figures: list[Figure] = field(default_factory=list)


@dataclass
class Claim:
    id: str
    title: str
    source: str
    kind: str
    formula_svg: list[str]  # SVG fragments (one per piece of a piecewise form)
    formula_text: str
    errata: list[str]


@dataclass
class Report:
    title: str
    sections: list[Section]
    claims: list[Claim]
    revision: str


# -- gathering ---------------------------------------------------------------------------------


def _current() -> tuple[str, str | None]:
    from numerics.store import git_revision, versions

    return versions().get("model-collapse", "?"), git_revision()


def _provenance(meta: dict) -> dict:
    out = {}
    for key in ("command", "seed", "entropy", "git", "started", "seconds", "trials"):
        if meta.get(key) is not None:
            out[key] = meta[key]
    config = meta.get("config") or {}
    if "seed" not in out and "seed" in config:
        out["seed"] = config["seed"]
    if meta.get("versions"):
        out["versions"] = ", ".join(f"{k} {v}" for k, v in meta["versions"].items())
    return out


def _other_version(meta: dict, current: tuple) -> str:
    made = (meta.get("versions") or {}).get("model-collapse")
    version, git = current
    if made and made != version:
        return f"made with model-collapse {made}; this report was built with {version}"
    if meta.get("git") and git and meta["git"].split("+")[0] != git.split("+")[0]:
        return f"made at git revision {meta['git']}; this report was built at {git}"
    return ""


def verify_section(path: Path, current: tuple) -> Section:
    section = Section("Every claim against a simulation of its procedure (collapse verify)")
    if not path.exists():
        section.missing = VERIFY_COMMAND
        return section
    try:
        data = json.loads(path.read_text())
        rows, meta = data["rows"], data["meta"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        section.missing = VERIFY_COMMAND
        section.warning = f"{path} is not a verify table ({type(e).__name__})"
        return section
    columns = ("claim", "variant", "simulator", "point", "gen", "kind", "theory", "estimate", "se", "test", "z", "p_adj",
               "verdict")

    def fmt(x, digits=6):
        return f"{x:.{digits}g}" if isinstance(x, float) else ("-" if x is None else str(x))

    table = []
    for r in rows:
        point = " ".join(f"{k}={fmt(v, 4) if not isinstance(v, list) else '[..]'}" for k, v in (r.get("point") or {}).items())
        table.append([r["claim"], ",".join(map(str, (r.get("variant") or {}).values())) or "-", r.get("simulator") or "-",
                      point or "-",
                      fmt(r.get("generation")), r["kind"], fmt(r["theory"]), fmt(r["estimate"]), fmt(r["se"], 2),
                      r.get("test", "z"), fmt(r["z"], 3), fmt(r["p_adjusted"], 2), r["verdict"]])
    failed = sorted({r["claim"] for r in rows if r["verdict"] == "FAIL"})
    claims = sorted({r["claim"] for r in rows})
    section.text = (f"{len(claims)} claims, {len(rows)} comparisons, {len(failed)} claims failed (Holm-corrected, "
                    f"family-wise alpha = {meta.get('alpha')}); {meta.get('trials')} trials per simulation."
                    + (f" Failed: {', '.join(failed)}." if failed else "")
                    + (" Not simulated: " + "; ".join(f"{k} ({v})" for k, v in meta.get("not_simulated", {}).items())
                       if meta.get("not_simulated") else ""))
    section.table = (columns, table)
    section.provenance = _provenance(meta)
    section.warning = _other_version(meta, current)
    return section


def store_section(title: str, path: Path | None, command: str, options: dict, current: tuple) -> Section:
    from numerics.store import Store, StoreError

    section = Section(title)
    if path is None:  # a note in place of a result (e.g. the deep demo without torch)
        section.missing, section.warning = command, options.get("note", "")
        return section
    store = Store(path)
    if not store.path.exists():
        done = ""
        if store.parts.exists():
            done = (" (a sweep is writing it now, or was interrupted: the same command resumes it)"
                    if store.path.with_name(store.path.name + ".lock").exists() else
                    " (the run was interrupted: the same command resumes it)")
        section.missing = command + done
        return section
    try:
        table = store.read()
    except StoreError as e:
        section.missing = command
        section.warning = str(e)
        return section
    meta = table.attrs.get("metadata", {})
    config = meta.get("config", {})
    section.text = config.get("description", "")
    section.provenance = {"command": command, **{k: v for k, v in _provenance(meta).items() if k != "command"}}
    if meta.get("command") and meta["command"] != command:
        section.provenance["ran as"] = meta["command"]
    section.warning = _other_version(meta, current)
    section.figures += _plot(table, title, options)
    section.figures += _perplexity(store.path, table, title)
    section.table, section.table_caption = theory_table(table)
    artifacts = store.path.with_name(store.path.stem + ".artifacts")
    if artifacts.is_dir():
        for png in sorted(artifacts.rglob("*.png")):
            caption = png.stem.replace("_", " ").replace("-", " ")
            section.figures.append(Figure(png.read_bytes(), f"{caption} ({png.relative_to(artifacts.parent)})"))
    return section


def _is_histogram(metric: str) -> bool:
    return bool(re.fullmatch(r"(ppl0|pplt)_hist_\d+|share_\d+", metric))


def _plot(table, title: str, options: dict) -> list[Figure]:
    import tempfile

    import pandas as pd

    from numerics.plot import plot

    attrs = dict(table.attrs)
    where = options.get("where", {})
    for k, values in where.items():
        if k in table.columns:
            table = table[table[k].isin(values)]
    if table.empty:
        return [Figure(b"", f"no figure: the filter {where} selects no stored row")]
    stored = list(dict.fromkeys(table["metric"]))
    wanted = [m for m in options.get("metrics") or () if m in stored]
    if not wanted:  # no choice given (or none of it stored): the store's own metrics, histograms aside
        wanted = [m for m in stored if not _is_histogram(m)][:MAX_PANELS] or stored[:MAX_PANELS]
    table = pd.concat([table[table["metric"] == m] for m in wanted])  # in the order chosen
    table.attrs = attrs
    left = len(stored) - len(wanted)
    shown = f"; {len(wanted)} of its {len(stored)} metrics" if left else ""
    with tempfile.TemporaryDirectory() as tmp:
        try:
            paths = plot(table, Path(tmp) / "figure", formats=("png",), hue=options.get("hue"), facet=options.get("facet"))
        except ValueError as e:  # more settings vary than one figure can show
            return [Figure(b"", f"no figure: {e}")]
        return [Figure(p.read_bytes(), f"{_short(title)}: {_drawn(table)}{shown}") for p in paths]


def _drawn(table) -> str:
    """What a sweep's figure draws, for its caption: only what is there (a theory line only where a claim
    gives one, Student-t intervals for few seeds)."""
    import numpy as np

    from numerics.stats import T_TEST_BELOW

    few = (table["trials"] < T_TEST_BELOW).any()
    parts = [f"simulation with 95% {'Student-t ' if few else ''}intervals"]
    if np.isfinite(table["theory"].to_numpy(float)).any():
        parts.append("theory lines")
    limits = table["limit"].to_numpy(float)
    if (np.isfinite(limits) & (limits != 0)).any():
        parts.append("limits dashed")
    return ", ".join(parts)


def _perplexity(path: Path, table, title: str) -> list[Figure]:
    """Shumailov et al.'s perplexity histograms (deep.language.figures), where the store has them and torch is
    installed (the deep layer's figures import it); nothing otherwise."""
    import importlib.util
    import tempfile

    if "ppl0_hist_00" not in set(table["metric"]):
        return []
    if importlib.util.find_spec("torch") is None:
        return [Figure(b"", "no perplexity histograms: drawing them needs the deep layer (pip install torch, then "
                            "pip install -e '.[deep]')")]
    try:
        from deep.language.figures import perplexity_histograms
    except ImportError as e:
        return [Figure(b"", f"no perplexity histograms: {e}")]
    with tempfile.TemporaryDirectory() as tmp:
        try:
            png = Path(perplexity_histograms(path, Path(tmp) / "perplexity.png"))
        except (ValueError, KeyError) as e:
            return [Figure(b"", f"no perplexity histograms: {e}")]
        return [Figure(png.read_bytes(), f"{_short(title)}: perplexity of each generation's samples, under the "
                                         "generation-0 model and (where known) the truth, light to dark by generation "
                                         "(Shumailov et al. 2024, Fig. 1b)")]


def _pick_generations(generations: list[int], k: int = TABLE_GENERATIONS) -> list[int]:
    """A few generations: the first, the last and between them evenly on a log scale."""
    import math

    gens = sorted(set(generations))
    if len(gens) <= k:
        return gens
    lo, hi = max(gens[0], 1), gens[-1]
    picked = {gens[0], gens[-1]}
    for j in range(1, k - 1):
        target = math.exp(math.log(lo) + (math.log(hi) - math.log(lo)) * j / (k - 1))
        picked.add(min(gens, key=lambda g: (abs(g - target), g)))
    return sorted(picked)


def theory_table(table) -> tuple[tuple | None, str]:
    """The rows with a theory column as a compact table (generation, metric, the settings that vary, theory,
    estimate, se, z) at a few generations, and a sentence naming the claims; (None, "") without any."""
    import math

    import numpy as np

    from numerics.sweep import settings_columns

    if "theory" not in table.columns:
        return None, ""
    rows = table[np.isfinite(table["theory"].to_numpy(float))]
    if rows.empty:
        return None, ""
    varying = [c for c in settings_columns(table) if table[c].astype(str).nunique() > 1]
    gens = _pick_generations(list(rows["generation"]))
    rows = rows[rows["generation"].isin(gens)]
    rows = rows.sort_values(["metric", "generation", "cell"], kind="stable")

    def fmt(x, digits=4):
        return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}g}"

    out = []
    for _, r in rows.iterrows():
        est, se, th = float(r["estimate"]), float(r["se"]), float(r["theory"])
        z = (est - th) / se if se > 0 else math.nan
        cell = " ".join(f"{c}={r[c]}" for c in varying) or "-"
        out.append([str(int(r["generation"])), r["metric"], cell, fmt(th), fmt(est), fmt(se, 2), fmt(z, 3)])
    claims = sorted({c for c in rows.get("claim", []) if isinstance(c, str) and c})
    note = (f"Theory against simulation at generations {', '.join(map(str, gens))} (z = (estimate - theory) / se); "
            f"the theory column comes from {', '.join(claims) or 'the claims'}.")
    return (("gen", "metric", "cell", "theory", "estimate", "se", "z"), out), note


def claims() -> list[Claim]:
    from theory import CLAIMS

    out = []
    for cid, c in CLAIMS.items():
        form = c.form()
        expr = form.recursion.output if form.recursion is not None else form.expr
        out.append(Claim(cid, c.title, str(c.source), c.kind, formula_svg(expr), str(expr),
                         [e.markdown() for e in c.errata]))
    return out


def formula_svg(expr) -> list[str]:
    """The expression as SVG (matplotlib mathtext, offline); a piecewise form one piece per image."""
    import sympy as sp

    pieces = [(expr, None)]
    if isinstance(expr, sp.Piecewise):
        pieces = [(e, None if c is sp.true else c) for e, c in expr.args]
    out = []
    for e, cond in pieces:
        tex = sp.latex(e) + (r"\quad \mathrm{if}\ " + sp.latex(cond) if cond is not None else "")
        svg = _mathtext(tex)
        if svg is None:
            return []
        out.append(svg)
    return out


def _mathtext(tex: str) -> str | None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tex = tex.replace(r"\operatorname{", r"\mathrm{")
    fig = plt.figure(figsize=(0.01, 0.01))
    try:
        fig.text(0, 0, f"${tex}$", fontsize=12)
        buf = io.StringIO()
        with plt.rc_context({"svg.hashsalt": "model-collapse", "svg.fonttype": "path"}):
            fig.savefig(buf, format="svg", bbox_inches="tight", pad_inches=0.02, transparent=True, metadata={"Date": None})
    except (ValueError, RuntimeError):
        return None
    finally:
        plt.close(fig)
    svg = buf.getvalue()
    svg = re.sub(r"<metadata>.*?</metadata>", "", svg[svg.index("<svg"):], flags=re.S)  # (names a web address)
    return svg


def gather(results: list[str | os.PathLike] = (), verify: str | os.PathLike = VERIFY, shipped=None,
           title: str = "Model collapse: theory, simulation and experiments") -> Report:
    """Everything the report shows, read from stored results (nothing is run); ``shipped``: the entries
    (default: :func:`shipped_entries`)."""
    current = _current()
    sections = [verify_section(Path(verify), current)]
    seen = set()
    for name, path, command, options in (shipped_entries() if shipped is None else shipped):
        sections.append(store_section(name, None if path is None else Path(path), command, options, current))
        if path is not None:
            seen.add(Path(path).resolve())
    for path in results:
        p = Path(path)
        if p.suffix != ".parquet":
            p = p.with_name(p.name + ".parquet")
        if p.resolve() in seen:
            continue
        sections.append(store_section(p.stem, p, f"collapse sweep CONFIG -o {p}", {}, current))
    return Report(title, sections, claims(), f"model-collapse {current[0]}, git {current[1] or '?'}")


# -- writing -------------------------------------------------------------------------------------

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1200px;margin:2em auto;
padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.7em}h2{font-size:1.3em;border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em}
h3{font-size:1.05em;margin-bottom:.2em}
table{border-collapse:collapse;font-size:12px;margin:.8em 0;display:block;overflow-x:auto;max-height:36em}
th,td{border:1px solid #ddd;padding:2px 6px;text-align:left;white-space:nowrap}th{background:#f3f3f3;cursor:pointer}
td.FAIL{color:#b00;font-weight:bold}td.pass{color:#070}
.missing{background:#fff6e0;border-left:4px solid #e0a000;padding:.5em 1em}
.warning{background:#fdecea;border-left:4px solid #c00;padding:.5em 1em}
.prov{font-size:12px;color:#555}.prov code{font-size:12px}
figure{margin:1em 0}figure img{max-width:100%}figcaption{font-size:12px;color:#555}
.claim{margin:1em 0;padding:.4em .8em;border-left:3px solid #ccd}.formula svg{max-width:100%;height:auto}
.src{font-size:12px;color:#555}nav a{margin-right:1em}
"""

#: Optional: click a column's header to sort the table (the page reads the same without it).
SORT_SCRIPT = """
document.querySelectorAll('table.sortable th').forEach(function(th, i){th.addEventListener('click', function(){
var t=th.closest('table'),b=t.tBodies[0],r=Array.from(b.rows),d=th.dataset.d=th.dataset.d==='1'?'-1':'1';
r.sort(function(x,y){var a=x.cells[i].textContent,c=y.cells[i].textContent,p=parseFloat(a),q=parseFloat(c);
return (isNaN(p)||isNaN(q)?a.localeCompare(c):p-q)*d;});r.forEach(function(e){b.appendChild(e);});});});
"""


def _short(title: str) -> str:
    return title.split(": ")[0].split(" (")[0]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _inline_markdown(text: str) -> str:
    """The errata's Markdown (**bold**, `code`) as escaped HTML."""
    out = html.escape(text, quote=False)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    return re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", out)


def _png_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def html_page(report: Report) -> str:
    e = html.escape
    parts = [f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{e(report.title)}</title>"
             f"<style>{CSS}</style></head><body>", f"<h1>{e(report.title)}</h1>",
             f"<p class=\"prov\">Built from stored results by <code>collapse report</code> ({e(report.revision)}). "
             "Each section says the command that reproduces it.</p>", "<nav>"]
    parts += [f"<a href=\"#{_slug(s.title)}\">{e(_short(s.title))}</a>" for s in report.sections]
    parts.append("<a href=\"#claims\">Claims</a></nav>")
    for s in report.sections:
        parts.append(f"<h2 id=\"{_slug(s.title)}\">{e(s.title)}</h2>")
        if s.warning:
            parts.append(f"<p class=\"warning\">{e(s.warning)}</p>")
        if s.missing:
            parts.append(f"<p class=\"missing\">not run: <code>{e(s.missing)}</code></p>")
            continue
        if s.text:
            parts.append(f"<p>{e(s.text)}</p>")
        if s.provenance:
            parts.append("<p class=\"prov\">" + "<br>".join(f"{e(k)}: <code>{e(str(v))}</code>"
                                                          for k, v in s.provenance.items()) + "</p>")
        for f in s.figures:
            if f.png:
                parts.append(f"<figure><img src=\"{_png_uri(f.png)}\" alt=\"{e(f.caption)}\">"
                             f"<figcaption>{e(f.caption)}</figcaption></figure>")
            else:
                parts.append(f"<p class=\"missing\">{e(f.caption)}</p>")
        if s.table:
            columns, rows = s.table
            if s.table_caption:
                parts.append(f"<p class=\"prov\">{e(s.table_caption)}</p>")
            parts.append("<table class=\"sortable\"><thead><tr>" + "".join(f"<th>{e(c)}</th>" for c in columns)
                         + "</tr></thead><tbody>")
            for r in rows:
                parts.append("<tr>" + "".join(f"<td class=\"{e(c)}\">{e(c)}</td>" if columns[j] == "verdict"
                                              else f"<td>{e(c)}</td>" for j, c in enumerate(r)) + "</tr>")
            parts.append("</tbody></table>")
    parts.append("<h2 id=\"claims\">Claims</h2>")
    for c in report.claims:
        parts.append(f"<div class=\"claim\" id=\"{_slug(c.id)}\"><h3>{e(c.id)}: {e(c.title)} ({e(c.kind)})</h3>")
        if c.formula_svg:
            parts.append("<div class=\"formula\">" + "<br>".join(c.formula_svg) + "</div>")
        else:
            parts.append(f"<pre>{e(c.formula_text)}</pre>")
        parts.append(f"<p class=\"src\">{e(c.source)}</p>")
        for err in c.errata:
            parts.append(f"<p class=\"src\">Erratum {_inline_markdown(err)}</p>")
        parts.append("</div>")
    parts.append(f"<script>{SORT_SCRIPT}</script></body></html>\n")
    return "\n".join(parts)


def markdown_page(report: Report, images: Path) -> tuple[str, dict[str, bytes]]:
    """The report as Markdown, with its figures as files under ``images`` (name -> bytes)."""
    files: dict[str, bytes] = {}
    lines = [f"# {report.title}", "", f"Built from stored results by `collapse report` ({report.revision}).", ""]
    for s in report.sections:
        lines += [f"## {s.title}", ""]
        if s.warning:
            lines += [f"> **{s.warning}**", ""]
        if s.missing:
            lines += [f"> not run: `{s.missing}`", ""]
            continue
        if s.text:
            lines += [s.text, ""]
        for k, v in s.provenance.items():
            lines.append(f"- {k}: `{v}`")
        lines.append("")
        for n, f in enumerate(s.figures):
            if not f.png:
                lines += [f"> {f.caption}", ""]
                continue
            name = f"{_slug(s.title)[:40]}-{n}.png"
            files[name] = f.png
            lines += [f"![{f.caption}]({images.name}/{name})", ""]
        if s.table:
            from numerics.tables import render

            columns, rows = s.table
            if s.table_caption:
                lines += [s.table_caption, ""]
            lines += [render(columns, rows, "markdown")]
    lines += ["## Claims", ""]
    for c in report.claims:
        lines += [f"### {c.id}: {c.title} ({c.kind})", "", f"`{c.formula_text}`", "", c.source, ""]
        lines += [f"Erratum {err}" for err in c.errata]
        lines.append("")
    return "\n".join(lines) + "\n", files


def write(report: Report, output: str | os.PathLike, markdown: str | os.PathLike | None = None) -> list[Path]:
    """Write the HTML page (and the Markdown with its figures); the paths written."""
    from numerics.store import write_atomically

    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(output, html_page(report))
    written = [output]
    if markdown is not None:
        markdown = Path(markdown)
        images = markdown.with_name(markdown.stem + "_files")
        text, files = markdown_page(report, images)
        images.mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            write_atomically(images / name, data)
        write_atomically(markdown, text)
        written += [markdown, images]
    return written
