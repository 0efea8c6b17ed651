"""Figures of one deep run, written beside its results store (RESULTS.artifacts/) for the report.

* :func:`sample_grid`: the survey's Figure 9: a row of sample images per generation (seed 0's model);
* :func:`class_histograms`: the share of each class among each generation's samples, mean over seeds
  with a Student-t 95% interval (which digits disappear first).

PNG files written atomically (numerics.store.write_atomically), with no date in them: the same run gives
the same bytes.
"""

from __future__ import annotations

import os

import numpy as np


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: str) -> None:
    from numerics.store import write_atomically

    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    write_atomically(path, lambda p: fig.savefig(p, format="png", dpi=110))
    _plt().close(fig)


def sample_grid(grids: list[np.ndarray], path: str, title: str = "", first: int = 1) -> None:
    """Rows of images (one (k, H, W) array per generation, values in [0, 1] or not: each row is shown
    on the range of the real images, [0, 1], clipped) as one PNG."""
    plt = _plt()
    G, k = len(grids), max(len(g) for g in grids)
    fig, axes = plt.subplots(G, k, figsize=(0.55 * k + 0.9, 0.6 * G + 0.6), squeeze=False)
    for i, row in enumerate(grids):
        for j in range(k):
            ax = axes[i][j]
            ax.set_xticks([])
            ax.set_yticks([])
            for s in ax.spines.values():
                s.set_visible(False)
            if j < len(row):
                ax.imshow(np.clip(row[j], 0, 1), cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
        axes[i][0].set_ylabel(f"gen {i + first}", rotation=0, ha="right", va="center", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.subplots_adjust(left=0.12, right=0.99, top=0.9 if title else 0.98, bottom=0.02, wspace=0.05, hspace=0.05)
    _save(fig, path)


def class_histograms(shares: np.ndarray, path: str, title: str = "", first: int = 1) -> None:
    """shares (seeds, generations, classes): bars per generation, mean over seeds with a t interval."""
    from scipy import stats

    plt = _plt()
    R, G, C = shares.shape
    mean = shares.mean(0)
    half = (stats.t.ppf(0.975, R - 1) * shares.std(0, ddof=1) / np.sqrt(R)) if R > 1 else np.zeros_like(mean)
    fig, ax = plt.subplots(figsize=(7, 3))
    width = 0.8 / G
    cmap = plt.get_cmap("viridis")
    for g in range(G):
        x = np.arange(C) + (g - (G - 1) / 2) * width
        ax.bar(x, mean[g], width, yerr=half[g], color=cmap(g / max(G - 1, 1)), label=f"gen {g + first}",
               error_kw={"lw": 0.6})
    ax.axhline(1 / C, color="0.4", ls="--", lw=0.8)
    ax.set_xticks(range(C))
    ax.set_xlabel("class (classifier trained on real images)")
    ax.set_ylabel("share of samples")
    ax.legend(fontsize=7, ncol=min(G, 6), frameon=False)
    ax.set_title(title + (f" ({R} seeds, 95% t intervals)" if R > 1 else ""), fontsize=9)
    fig.tight_layout()
    _save(fig, path)
