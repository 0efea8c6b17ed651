"""The language layer's figures from a stored sweep.

:func:`markov_figure` draws a known-truth (lm-markov) sweep through the generic sweep figure
(numerics.plot.plot: one panel per metric, few-seed runs as lines with 95% Student-t bands) with the
truth's exact entropy rate as the theory line of the ``entropy_rate`` panel (:func:`with_truth`): the
value a collapse-free model keeps. ``python -m deep.language.figures`` redraws the figure of every
shipped lm-markov configuration with a [figure] table this way (docs/figures/make.sh runs it after
``collapse plot --shipped``, whose generic figures have no truth line: no claim predicts a random
language's entropy rate).

:func:`perplexity_histograms`, Shumailov et al.'s figure (the perplexity of each generation's text), reads
the fixed-bin shares ``ppl0_hist_00..19`` (log-perplexity of each generation's sampled windows under the
generation-0 model, the model first fitted on real text) and, where the store has them, ``pplt_hist_00..19``
(under the known truth) from a results store (numerics.sweep.read_results), and draws one panel per cell and
histogram kind, each generation's histogram a line coloured from early (light) to late (dark). The bins are
deep.language.family's: bin b covers log-perplexity (0.5 + 0.0375 [b, b+1)) log V nats per token; the x axis
is drawn as perplexity exp(log-perplexity) where the store records V (lm-markov), in bin units otherwise.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

from .family import HIST_BINS, hist_edges, hist_names
from .markov import MarkovLanguage

#: The settings that fix an lm-markov cell's truth (deep.language.simulators.language_of).
TRUTH_SETTINGS = ("V", "order", "zipf", "language_seed")
TRUTH_CLAIM = "the known truth's entropy rate"


def with_truth(table):
    """A copy of an lm-markov results table whose ``entropy_rate`` rows carry the truth's exact entropy rate
    (of the cell's language: its V, order, zipf and language_seed) as their theory; other rows unchanged."""
    missing = [c for c in TRUTH_SETTINGS if c not in table.columns]
    if missing:
        raise ValueError(f"not a known-truth (lm-markov) store: no column {missing[0]!r}")
    out = table.copy()
    rows = out["metric"] == "entropy_rate"
    cache: dict[tuple, float] = {}
    values = []
    for key in out.loc[rows, list(TRUTH_SETTINGS)].itertuples(index=False, name=None):
        if key not in cache:
            V, k, zipf, seed = key
            cache[key] = MarkovLanguage(int(V), int(k), float(zipf), np.random.default_rng(int(seed))).entropy_rate()
        values.append(cache[key])
    out.loc[rows, "theory"] = np.asarray(values, dtype=float)
    out.loc[rows, "claim"] = TRUTH_CLAIM
    out.loc[rows, "theory_kind"] = "exact"
    out.attrs = table.attrs
    return out


def markov_figure(results_path: str | os.PathLike, output: str | os.PathLike, figure: dict | None = None,
                  formats=("png", "pdf")) -> list[Path]:
    """Draw a stored lm-markov sweep with the truth's entropy rate on its entropy panel (see the module
    docstring); ``figure``: a configuration's [figure] table (metrics, hue, facet, where). The paths written."""
    from numerics.cli import select
    from numerics.plot import plot
    from numerics.stats import T_TEST_BELOW
    from numerics.sweep import read_results

    figure = figure or {}
    table = with_truth(select(read_results(results_path), figure.get("where", {}), figure.get("metrics")))
    description = table.attrs.get("metadata", {}).get("config", {}).get("description", "")
    trials = int(table["trials"].iloc[0])
    kind = "Student-t" if trials < T_TEST_BELOW else "normal"  # as numerics.plot draws them
    note = f"bands: 95% {kind} intervals over {trials} seeds"
    if "entropy_rate" in set(table["metric"]):
        note += "; entropy_rate's line: the truth's exact entropy rate"
    return plot(table, output, hue=figure.get("hue"), facet=figure.get("facet"), formats=formats,
                title=f"{description} ({note})")


def shipped_markov_figures(output: str | os.PathLike = "docs/figures", results: str | os.PathLike = "results",
                           formats=("png", "pdf")) -> list[Path]:
    """:func:`markov_figure` for every shipped lm-markov configuration with a [figure] table whose results are
    in ``results``/NAME.parquet, into ``output``/NAME.png and .pdf; the paths written."""
    from numerics.config import shipped, tables

    written = []
    for name, path in shipped().items():
        data = tables(path)
        if data.get("simulator") != "lm-markov" or data.get("figure") is None:
            continue
        store = Path(results) / f"{name}.parquet"
        if not store.exists():
            print(f"{name}: no results at {store} (collapse sweep {name}); its figure is left as it is")
            continue
        written += markov_figure(store, Path(output) / name, data["figure"], formats)
    return written


def perplexity_histograms(results_path: str | os.PathLike, out_png: str | os.PathLike) -> str:
    """Draw the perplexity histograms of a stored sweep into ``out_png``; returns its path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from numerics.sweep import read_results, settings_columns

    table = read_results(results_path)
    kinds = [(p, title) for p, title in (("ppl0", "under the generation-0 model"), ("pplt", "under the truth"))
             if hist_names(p)[0] in set(table["metric"])]
    if not kinds:
        raise ValueError(f"{os.fspath(results_path)} has no perplexity histograms (metrics ppl0_hist_00..): "
                         "run the sweep with them among its metrics")
    cols = [c for c in settings_columns(table) if table[c].astype(str).nunique() > 1]
    cells = sorted(table["cell"].unique())
    fig, axes = plt.subplots(len(kinds), len(cells), figsize=(3.4 * len(cells), 2.8 * len(kinds)), squeeze=False,
                             sharey="row")
    cmap = plt.get_cmap("viridis_r")
    for j, cell in enumerate(cells):
        rows = table[table["cell"] == cell]
        label = ", ".join(f"{c}={rows[c].iloc[0]}" for c in cols) or f"cell {cell}"
        V = int(rows["V"].iloc[0]) if "V" in rows.columns else None
        edges = hist_edges(V) if V is not None else np.arange(HIST_BINS + 1, dtype=float)
        x = np.exp(0.5 * (edges[:-1] + edges[1:])) if V is not None else 0.5 * (edges[:-1] + edges[1:])
        gens = sorted(rows["generation"].unique())
        for i, (prefix, title) in enumerate(kinds):
            ax = axes[i, j]
            names = hist_names(prefix)
            for g in gens:
                at = rows[rows["generation"] == g].set_index("metric")["estimate"]
                shares = np.array([at.get(n, np.nan) for n in names], dtype=float)
                colour = cmap(0.15 + 0.85 * (g - gens[0]) / max(gens[-1] - gens[0], 1))
                ax.plot(x, shares, color=colour, lw=1.2, label=f"gen {g}" if j == 0 and i == 0 else None)
            ax.set_title(f"{label}\n{title}", fontsize=8)
            ax.set_xlabel("perplexity per token" if V is not None else "log-perplexity bin")
            if j == 0:
                ax.set_ylabel("share of samples")
    axes[0, 0].legend(fontsize=6, ncol=2)
    fig.suptitle("Perplexity of each generation's text (Shumailov et al. 2024, Fig. 1b style)", fontsize=10)
    fig.tight_layout()
    fig.savefig(out_png, dpi=120)
    plt.close(fig)
    return os.fspath(out_png)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Redraw the shipped known-truth (lm-markov) figures with the truth's "
                                             "entropy rate on their entropy panels.")
    ap.add_argument("-o", "--output", default="docs/figures", help="folder of the figures (default docs/figures)")
    ap.add_argument("--results", default="results", help="folder of the results stores (default results)")
    args = ap.parse_args(argv)
    for p in shipped_markov_figures(args.output, args.results):
        print(f"wrote {p}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
