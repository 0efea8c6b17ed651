"""Shumailov et al.'s figure from a stored sweep: the perplexity of each generation's text.

:func:`perplexity_histograms` reads the fixed-bin shares ``ppl0_hist_00..19`` (log-perplexity of each
generation's sampled windows under the generation-0 model, the model first fitted on real text) and,
where the store has them, ``pplt_hist_00..19`` (under the known truth) from a results store
(numerics.sweep.read_results), and draws one panel per cell and histogram kind, each generation's
histogram a line coloured from early (light) to late (dark). The bins are deep.language.family's:
bin b covers log-perplexity (0.5 + 0.0375 [b, b+1)) log V nats per token; the x axis is drawn as
perplexity exp(log-perplexity) where the store records V (lm-markov), in bin units otherwise.
"""

from __future__ import annotations

import os

import numpy as np

from .family import HIST_BINS, hist_edges, hist_names


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
