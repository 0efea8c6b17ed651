"""Figures from a results store: each metric against generation, simulation and theory together.

One row of panels per metric and one column per value of the ``facet`` setting (the workflow, by
default); one colour per value of the ``hue`` setting. Simulation is drawn as points with 95%
intervals (estimate +- 1.96 standard errors), the claim's theory as a line of the same colour, and the
claim's limit over generations (pi^2/6, ...) as a dashed line where it has a finite, non-zero one. A
panel's y axis is logarithmic where its values span more than two decades; there the interval drawn is
that of the log of the mean (delta method: estimate times exp(+-1.96 se / estimate)), which stays
positive where estimate - 1.96 se would not. A declared workflow, which the results name by its
canonical JSON text, is shown by a short label made from the spec itself (:func:`workflow_label`: "last 3",
"10% fresh + 90% latest"); the stored values are not touched.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .stats import T_TEST_BELOW
from .store import write_atomically
from .sweep import settings_columns

#: Limits worth naming in a legend.
NAMED_LIMITS = {
    math.pi**2 / 6: "π²/6",
    math.pi**2 / 2 - 2: "π²/2 − 2",
    math.pi**2 / 3 - 0.25: "π²/3 − 1/4",
    math.pi**2 / 3: "π²/3",
}

FORMATS = ("png", "pdf", "svg")


def _quantile(trials: int) -> float:
    """The two-sided 95% quantile of the rows' test: Student's t(trials - 1) for few trials, else normal."""
    if trials < T_TEST_BELOW and trials >= 2:
        from scipy import stats

        return float(stats.t.ppf(0.975, trials - 1))
    return 1.96


def _limit_label(value: float) -> str:
    for v, name in NAMED_LIMITS.items():
        if abs(value - v) < 1e-12 * v:
            return name
    return f"{value:.4g}"


_SOURCE_LABELS = {"latest": "latest", "synthetic": "all synthetic", "all": "all", "real": "real", "fresh": "fresh"}


def workflow_label(value: object) -> str:
    """A short label of a ``workflow`` setting's value: a name as it is, a declared workflow's canonical text
    as its parts joined by " + " ("last 3", "10% fresh + 90% latest", "50% all (with replacement)"),
    then its batch where it sets one; the text itself where it does not read as a workflow."""
    text = str(value)
    if not text.lstrip().startswith("{"):
        return text
    from theory.workflows import Schedule

    from .workflows import spec_of

    try:
        spec = spec_of(text)
    except ValueError:
        return text
    parts = []
    for t in spec.takes:
        name = f"last {t.window}" if t.source == "window" else _SOURCE_LABELS[t.source]
        if t.count is not None:
            name = f"{t.count} rows of {name}"
        elif t.share is not None:
            s = t.share
            name = f"{100 * s.value:.3g}% {name}" if s.constant and s.value is not None else f"{name} x {s}"
        parts.append(name + (" (with replacement)" if t.replace else ""))
    label = " + ".join(parts)
    if isinstance(spec.batch, Schedule):
        label += f", batch {spec.batch} n"
    elif spec.batch == "rest":
        label += ", batch the rest"
    return label


def _shown(column: str | None, value: object) -> str:
    return workflow_label(value) if column == "workflow" else str(value)


def _layout(table, hue: str | None, facet: str | None) -> tuple[str | None, str | None]:
    settings = settings_columns(table)
    for name, value in (("--hue", hue), ("--facet", facet)):
        if value is not None and value not in settings:
            raise ValueError(f"{name} {value}: not a setting of these results (settings: {', '.join(settings)})")
    varying = [c for c in settings if table[c].astype(str).nunique() > 1]
    if facet is None and "workflow" in varying and hue != "workflow" and len(varying) > 1:
        facet = "workflow"
    rest = [c for c in varying if c not in (hue, facet)]
    if hue is None and rest:
        hue = rest.pop(0)
    if rest:
        raise ValueError(f"{', '.join(rest)} also vary: keep one value with --where (e.g. --where "
                         f"{rest[0]}={table[rest[0]].iloc[0]}), or draw it with --hue / --facet")
    return hue, facet


def _values(table, col: str | None) -> list:
    if col is None:
        return [None]
    return list(dict.fromkeys(table[col]))  # first-appearance order (the grid's order)


def plot(table, output: str | Path | None = None, *, hue: str | None = None, facet: str | None = None,
         formats=("png", "pdf"), title: str | None = None) -> list[Path]:
    """Draw ``table`` (a results DataFrame) and save it in each format; the paths written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    formats = [f.strip().lower() for f in formats]
    bad = [f for f in formats if f not in FORMATS]
    if bad:
        raise ValueError(f"format {bad[0]!r} not supported (choose from {', '.join(FORMATS)})")
    meta = table.attrs.get("metadata", {})
    if output is None:
        output = Path(meta.get("path", "figure"))
    output = Path(output)
    if output.suffix.lower().lstrip(".") in FORMATS:
        output = output.with_suffix("")
    hue, facet = _layout(table, hue, facet)
    metrics = list(dict.fromkeys(table["metric"]))
    facets = _values(table, facet)
    hues = _values(table, hue)
    colours = plt.get_cmap("viridis" if len(hues) > 4 else "tab10")
    colour = {h: colours(i / max(len(hues) - 1, 1) if len(hues) > 4 else i) for i, h in enumerate(hues)}

    fig, axes = plt.subplots(len(metrics), len(facets), figsize=(3.6 * len(facets) + 2.6, 2.7 * len(metrics) + 0.8),
                             squeeze=False, sharex=True, layout="constrained")
    drawn = {"theory": False, "limit": False, "student": False, "normal": False}  # what the legend explains
    for r, metric in enumerate(metrics):
        rows = table[table["metric"] == metric]
        for c, fv in enumerate(facets):
            ax = axes[r, c]
            sub = rows if facet is None else rows[rows[facet] == fv]
            positive = sub["estimate"][sub["estimate"] > 0]
            log = len(positive) > 0 and (sub["estimate"] >= 0).all() and positive.max() / positive.min() > 100
            limits, lines = {}, []
            for h in hues:
                part = (sub if hue is None else sub[sub[hue] == h]).sort_values("generation")
                if part.empty:
                    continue
                g = part["generation"].to_numpy()
                est, se = part["estimate"].to_numpy(float), part["se"].to_numpy(float)
                keep = est > 0 if log else np.isfinite(est)
                label = None if hue is None else f"{hue} = {_shown(hue, h)}"
                g, est, se = g[keep], est[keep], np.nan_to_num(se[keep])
                trials = int(part["trials"].iloc[0])
                q = _quantile(trials)
                if log:  # the interval of log(mean), log(est) +- q se / est (delta method): positive
                    spread = np.exp(q * se / est)
                    lo, hi = est / spread, est * spread
                else:
                    lo, hi = est - q * se, est + q * se
                if trials < T_TEST_BELOW:  # few seeds (deep runs): a line with a Student-t band
                    drawn["student"] = True
                    ax.plot(g, est, "o-", ms=2.5, lw=1.0, color=colour[h], label=label, zorder=3)
                    ax.fill_between(g, lo, hi, color=colour[h], alpha=0.2, lw=0, zorder=2)
                else:
                    drawn["normal"] = True
                    ax.errorbar(g, est, yerr=np.vstack([est - lo, hi - est]), fmt="o", ms=2.5, lw=0.8, color=colour[h],
                                label=label, zorder=3)
                g = part["generation"].to_numpy()
                th = part["theory"].to_numpy(float)
                ok = np.isfinite(th) & ((th > 0) if log else True)
                if ok.any():
                    lines.append((h, tuple(g[ok]), tuple(np.round(th[ok], 12))))
                lim = part["limit"].iloc[0]
                if np.isfinite(lim) and lim != 0:
                    limits.setdefault(round(float(lim), 12), []).append(h)
            # One theory line per colour, or one grey line where every colour's is the same (a value that does
            # not depend on the hue, such as a known truth): drawn in each colour, only the last would show.
            shared_line = len(lines) > 1 and len({line[1:] for line in lines}) == 1
            for h, gx, th in lines[:1] if shared_line else lines:
                drawn["theory"] = True
                ax.plot(gx, th, "-", lw=1.2, color="0.3" if shared_line else colour[h], alpha=0.8, zorder=2)
            for i, (lim, who) in enumerate(sorted(limits.items())):
                drawn["limit"] = True
                shared = len(who) > 1 or hue is None
                ax.axhline(lim, ls="--", lw=0.9, color="0.4" if shared else colour[who[0]], alpha=0.8, zorder=1)
                if len(limits) <= 4:  # labels alternate between the two ends, so close limits do not collide
                    right = i % 2 == 0
                    ax.annotate(_limit_label(lim), (0.99 if right else 0.01, lim), xycoords=("axes fraction", "data"),
                                fontsize=7, ha="right" if right else "left", va="bottom", color="0.25")
            if log:
                ax.set_yscale("log")
            if r == 0 and facet is not None:
                ax.set_title(f"{facet} = {_shown(facet, fv)}", fontsize=9)
            if c == 0:
                stat = rows["statistic"].iloc[0]
                ax.set_ylabel(metric + (" (ratio to gen. 1)" if stat == "ratio" else ""), fontsize=9)
            if r == len(metrics) - 1:
                ax.set_xlabel("generation", fontsize=9)
            ax.tick_params(labelsize=8)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # generations are whole numbers
            ax.grid(alpha=0.25, lw=0.5)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    from matplotlib.lines import Line2D

    # Only what is drawn: a "theory" entry without a theory line reads as a claim that failed to show.
    if drawn["normal"]:
        handles.append(Line2D([], [], color="0.3", marker="o", ls="", ms=3))
        labels.append("simulation (95% interval)")
    if drawn["student"]:
        handles.append(Line2D([], [], color="0.3", marker="o", ms=3, lw=1.0))
        labels.append("simulation (95% Student-t interval)")
    if drawn["theory"]:
        handles.append(Line2D([], [], color="0.3", lw=1.2))
        labels.append("theory")
    if drawn["limit"]:
        handles.append(Line2D([], [], color="0.4", ls="--", lw=0.9))
        labels.append("limit over generations")
    fig.legend(handles, labels, loc="outside right center", fontsize=8, frameon=False)
    config = meta.get("config", {})
    fixed = {k: v for k, v in _constant_settings(table, config).items() if k not in (hue, facet)}
    subtitle = f"{config.get('trials', '?')} trials per cell; " + ", ".join(f"{k}={v}" for k, v in fixed.items())
    import textwrap

    heading = textwrap.fill(title or config.get("description") or "", 40 + 30 * len(facets))
    fig.suptitle(heading + "\n" + textwrap.fill(subtitle, 50 + 30 * len(facets)), fontsize=9)
    written = []
    output.parent.mkdir(parents=True, exist_ok=True)
    for fmt in formats:
        path = output.with_suffix(f".{fmt}")
        meta = {"CreationDate": None} if fmt == "pdf" else {"Date": None} if fmt == "svg" else {}  # reproducible files
        with plt.rc_context({"svg.hashsalt": "model-collapse"}):  # fixed SVG ids
            write_atomically(path, lambda p, fmt=fmt, meta=meta: fig.savefig(p, format=fmt, dpi=130, metadata=meta))
        written.append(path)
    plt.close(fig)
    return written


def _constant_settings(table, config: dict | None = None) -> dict:
    """The settings that take one value across the table (shown under the title): of a stored sweep, only
    those its configuration names (its fixed settings and grid), not every default of the simulator (an
    n-gram's figure listed the transformer's width and heads)."""
    declared = None
    if config and isinstance(config.get("fixed"), dict):
        declared = {*config["fixed"], *config.get("grid", {})}
    return {c: table[c].iloc[0] for c in settings_columns(table) if (declared is None or c in declared)
            and table[c].astype(str).nunique() == 1
            and not (isinstance(table[c].iloc[0], float) and math.isnan(table[c].iloc[0]))
            and table[c].iloc[0] is not None}
