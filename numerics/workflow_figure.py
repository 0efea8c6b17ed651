"""The figure of derived workflow theory: the limit against the share of fresh real data, and the divergence
rate against the window length K, theory lines through simulation points (docs/figures/workflow-theory.png).

The per-generation figure of `collapse plot` draws each workflow's ratio against the generation; this one
reads the same results stores (the shipped sweeps ``workflow-theory-gaussian`` and ``workflow-theory-ols``)
and draws two summaries of them, one row per chain:

* left: the value at the last generation G against the share s of fresh real rows in a training set. The
  chains with fresh data converge geometrically (by (1 - s)^2 per generation for a fresh share s beside the
  latest batch), so at G = 40 the value is the limit to within 1e-3; the simulation is the estimate at G
  with its 95% interval, the theory its derived exact value (the results' theory column, theory.derive),
  and, for the Gaussian chain, a line of the derived values at G over a fine grid of s;
* right: the growth rate of the workflows that keep only the last K synthetic batches, (v_G - v_{G/2}) /
  (G - G/2), against K. Simulated with a conservative 95% interval (the two estimates are correlated, so
  the standard error of their difference is at most se_G + se_{G/2}); the theory is the same difference of
  derived exact values, and the dashed line the derived rate 4/(K + 1)^2 (times one fit's error for OLS).

Produced by ``python -m numerics.workflow_figure`` after ``collapse sweep workflow-theory-gaussian`` and
``collapse sweep workflow-theory-ols`` (it reads results/NAME.parquet and writes docs/figures/workflow-theory.png).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

#: The shipped sweeps drawn, in rows: (configuration, metric, panel label of the y axis).
SWEEPS = (("workflow-theory-gaussian", "variance_ratio", "Var(mu_k)/Var(mu_1)"),
          ("workflow-theory-ols", "test_error", "test error"))


def _classify(text: str) -> tuple[str, float]:
    """('fresh', s) for a workflow with fresh rows (s: their share of the training set once windows are full),
    ('window', K) for one that reads the last K synthetic batches only; ('', 0) otherwise."""
    from .workflows import spec_of

    spec = spec_of(text)
    rows, fresh = 0.0, 0.0
    for t in spec.takes:
        size = (t.share.value if t.share is not None else 1.0) * (t.window if t.source == "window" else 1)
        rows += size
        fresh += size if t.source == "fresh" else 0.0
    if fresh:
        return "fresh", fresh / rows
    if len(spec.takes) == 1 and spec.takes[0].source in ("latest", "window") and spec.takes[0].share is None:
        return "window", float(spec.window)
    return "", 0.0


def draw(tables: list, output: Path, formats=("png",)) -> list[Path]:
    """Draw the figure from the results tables of :data:`SWEEPS` (pandas DataFrames, in that order)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from theory.derive import exact_values

    from .store import write_atomically

    fig, axes = plt.subplots(len(tables), 2, figsize=(9.5, 3.3 * len(tables) + 0.6), layout="constrained",
                             squeeze=False)
    for row, (table, (name, metric, ylabel)) in enumerate(zip(tables, SWEEPS)):
        table = table[table["metric"] == metric]
        G = int(table["generation"].max())
        half = G // 2
        fresh, window = [], []
        for text, part in table.groupby("workflow", sort=False):
            kind, x = _classify(text)
            at = part.set_index("generation")
            if kind == "fresh":
                fresh.append((x, at.loc[G, "estimate"], at.loc[G, "se"], at.loc[G, "theory"]))
            elif kind == "window":
                slope = (at.loc[G, "estimate"] - at.loc[half, "estimate"]) / (G - half)
                se = (at.loc[G, "se"] + at.loc[half, "se"]) / (G - half)
                theory = (at.loc[G, "theory"] - at.loc[half, "theory"]) / (G - half)
                window.append((x, slope, se, theory))
        unit = 1.0
        if metric == "test_error":
            d, T = table["d"].iloc[0], table["T"].iloc[0]
            sigma = table["sigma"].iloc[0] if "sigma" in table else 1.0
            unit = sigma**2 * d / (T - d - 1)
        ax = axes[row, 0]
        if fresh:
            x, est, se, th = map(np.array, zip(*sorted(fresh)))
            ax.errorbar(x, est, yerr=1.96 * se, fmt="o", ms=4, color="C0", label="simulation, generation %d" % G)
            ax.plot(x, th, "s", ms=5, mfc="none", color="C3", label="derived, generation %d" % G)
            if metric == "variance_ratio":
                grid = np.linspace(0.03, 0.6, 58)
                line = [float(exact_values({"take": [{"from": "fresh", "share": float(round(s, 4))},
                                                     {"from": "latest", "share": float(round(1 - s, 4))}]})(G))
                        for s in grid]
                ax.plot(grid, line, "-", lw=1.2, color="C3", alpha=0.8, label="derived (s fresh + 1 - s latest)")
            else:
                ax.plot(x, th, "-", lw=1.2, color="C3", alpha=0.8, label="derived (one fresh batch + last K)")
            ax.set_xlabel("share of fresh real rows in a training set", fontsize=9)
            ax.set_ylabel(f"{ylabel} at generation {G}", fontsize=9)
            ax.legend(fontsize=7, frameon=False)
        ax = axes[row, 1]
        if window:
            x, est, se, th = map(np.array, zip(*sorted(window)))
            ax.errorbar(x, est, yerr=1.96 * se, fmt="o", ms=4, color="C0",
                        label=f"simulation: (v_{G} - v_{half})/{G - half}")
            ax.plot(x, th, "s", ms=5, mfc="none", color="C3", label="derived, same difference")
            k = np.linspace(1, x.max(), 100)
            ax.plot(k, unit * 4 / (k + 1) ** 2, "--", lw=1.1, color="0.3",
                    label="derived rate 4/(K+1)^2" + (" x one fit" if unit != 1 else ""))
            ax.set_xlabel("window: the last K synthetic batches", fontsize=9)
            ax.set_ylabel(f"growth of {ylabel} per generation", fontsize=9)
            ax.legend(fontsize=7, frameon=False)
        trials = int(table["trials"].iloc[0])
        axes[row, 0].set_title(f"{name} ({trials} chains per workflow)", fontsize=9, loc="left")
        for ax in axes[row]:
            ax.tick_params(labelsize=8)
            ax.grid(alpha=0.25, lw=0.5)
    fig.suptitle("Theory derived from the workflow (theory.derive) against simulation: fresh real data and windows",
                 fontsize=10)
    written = []
    output.parent.mkdir(parents=True, exist_ok=True)
    for fmt in formats:
        path = output.with_suffix(f".{fmt}")
        meta = {"CreationDate": None} if fmt == "pdf" else {}
        write_atomically(path, lambda p, fmt=fmt, meta=meta: fig.savefig(p, format=fmt, dpi=130, metadata=meta))
        written.append(path)
    plt.close(fig)
    return written


def main(argv: list[str] | None = None) -> int:
    from .store import Store

    p = argparse.ArgumentParser(prog="python -m numerics.workflow_figure", description=__doc__.splitlines()[0])
    p.add_argument("--results", default="results", help="folder of the results stores (default results)")
    p.add_argument("-o", "--output", default="docs/figures/workflow-theory", help="figure path without suffix")
    p.add_argument("--formats", default="png", help="comma-separated: png, pdf (default png)")
    args = p.parse_args(argv)
    tables = []
    for name, _, _ in SWEEPS:
        store = Store(Path(args.results) / f"{name}.parquet")
        if not store.path.exists():
            print(f"no results at {store.path}: run collapse sweep {name}", file=sys.stderr)
            return 2
        tables.append(store.read())
    for path in draw(tables, Path(args.output), formats=args.formats.split(",")):
        print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
