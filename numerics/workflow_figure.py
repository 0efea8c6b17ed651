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

Two more rows hold a torch family, the neural n-gram of the lm-markov simulator, against the derivations; its
exact KL rate truth -> model is locally a quadratic form in the fitted parameters, so KL_k / KL_1 should be the
derived variance ratio. ``deep-workflow-theory`` (256 windows, 8 seeds, 12 generations) is drawn as the numpy
rows are, for KL_k / KL_1: fresh shares s = 10%, 25%, 50% and windows of K = 1 .. 4 batches. The last row is
the real-plus-synthetic derivation against Kazdan et al.'s scarce-real grid
(``deep-scarce-real``: n_real real windows plus n_syn synthetic ones from the latest model, 8 seeds), where
Dey & Donoho's limit predicts KL_k / KL_1 = v_k(alpha), the variance ratio of real-plus-synthetic with batches
of alpha = n_syn / n_real (theory.derive):
v_k = (1 + 3 alpha)/(1 + 2 alpha) - alpha^(2k-1) (1 + alpha)^(2-2k) / (1 + 2 alpha), above 1 for every alpha.
Left: KL_G / KL_1 against alpha, one series per n_real, with the derived v_G and its limit in k; right, for
each alpha at the largest n_real, KL_k / KL_1 against k with v_k. Few seeds: the intervals are Student-t
95% intervals (t with trials - 1 degrees of freedom) of a conservative standard error of the ratio, r (se_k /
KL_k + se_1 / KL_1) (the two means come from the same seeds). numerics does not import deep: the rows read
the deep sweeps' results stores.

Produced by ``python -m numerics.workflow_figure`` after ``collapse sweep workflow-theory-gaussian``,
``collapse sweep workflow-theory-ols``, ``collapse sweep deep/configs/deep-workflow-theory.toml`` and ``collapse
sweep deep/configs/deep-scarce-real.toml`` (it reads results/NAME.parquet and writes
docs/figures/workflow-theory.png; without a deep store it leaves its row out and says so).
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


#: The deep rows, read from results/NAME.parquet when present: (configuration, metric, label of the y axis).
DEEP = ("deep-scarce-real", "kl_rate", "KL_k / KL_1")
DEEP_WORKFLOWS = ("deep-workflow-theory", "kl_rate", "KL_k / KL_1")


def real_plus_synthetic(k: int, alpha: float) -> float:
    """The derived variance ratio of real-plus-synthetic after k fits, synthetic batches of alpha n (exact)."""
    from theory.derive import exact_values

    return float(exact_values("real-plus-synthetic", alpha=alpha)(k))


def ratios(table, metric: str) -> list[tuple]:
    """(n_real, alpha, generation, ratio, se, trials) of ``metric``'s mean at each generation over generation 1
    for each cell of a real-plus-synthetic results table; se = r (se_k / m_k + se_1 / m_1), conservative (0 at
    generation 1, where the ratio is 1 by definition)."""
    table = table[table["metric"] == metric]
    out = []
    for (n, syn), part in table.groupby(["n", "synthetic"], sort=True):
        at = part.set_index("generation")
        m1, s1 = at.loc[1, "estimate"], at.loc[1, "se"]
        for g in at.index:
            r = at.loc[g, "estimate"] / m1
            se = 0.0 if g == 1 else r * (at.loc[g, "se"] / at.loc[g, "estimate"] + s1 / m1)  # 1 by definition
            out.append((int(n), syn / n, int(g), r, se, int(at.loc[g, "trials"])))
    return out


def _deep_row(axes, table) -> None:
    from scipy import stats

    name, metric, ylabel = DEEP
    rows = ratios(table, metric)
    G = max(r[2] for r in rows)
    trials = rows[0][5]
    t = float(stats.t.ppf(0.975, trials - 1))
    ax = axes[0]
    grid = np.geomspace(min(r[1] for r in rows) / 1.5, max(r[1] for r in rows) * 1.5, 60)
    ax.plot(grid, [real_plus_synthetic(G, float(a)) for a in grid], "-", lw=1.2, color="C3", alpha=0.8,
            label=f"derived v_{G}(alpha)")
    ax.plot(grid, (1 + 3 * grid) / (1 + 2 * grid), "--", lw=1.0, color="0.3", label="derived limit (1+3a)/(1+2a)")
    for i, n in enumerate(sorted({r[0] for r in rows})):
        pts = [(a, v, se) for nn, a, g, v, se, _ in rows if nn == n and g == G]
        a, v, se = map(np.array, zip(*pts))
        ax.errorbar(a * (1 + 0.04 * (i - 1)), v, yerr=t * se, fmt="o", ms=4, color=f"C{i}", label=f"n_real = {n}")
    ax.axhline(1, color="0.6", lw=0.6)
    ax.set_xscale("log")
    ax.set_xlabel("alpha = n_syn / n_real", fontsize=9)
    ax.set_ylabel(f"KL_{G} / KL_1", fontsize=9)
    ax.legend(fontsize=7, frameon=False)
    ax.set_title(f"{name} (neural n-gram, {trials} seeds; Student-t 95% intervals)", fontsize=9, loc="left")
    ax = axes[1]
    top = max(r[0] for r in rows)
    ks = np.arange(1, G + 1)
    for i, a in enumerate(sorted({r[1] for r in rows if r[0] == top})):
        pts = sorted((g, v, se) for nn, aa, g, v, se, _ in rows if nn == top and aa == a)
        g, v, se = map(np.array, zip(*pts))
        ax.errorbar(g + 0.06 * (i - 1.5), v, yerr=t * se, fmt="o", ms=4, color=f"C{i}", label=f"alpha = {a:g}")
        ax.plot(ks, [real_plus_synthetic(int(k), float(a)) for k in ks], "-", lw=1.0, color=f"C{i}", alpha=0.7)
    ax.axhline(1, color="0.6", lw=0.6)
    ax.set_xlabel(f"generation k (n_real = {top}; lines: derived v_k(alpha))", fontsize=9)
    ax.set_ylabel(ylabel, fontsize=9)
    ax.legend(fontsize=7, frameon=False)


def _ratio(at, g: int) -> tuple[float, float]:
    """A workflow's mean at generation g over generation 1 (``at``: its rows by generation) and the
    conservative standard error r (se_g / m_g + se_1 / m_1)."""
    m1, s1 = at.loc[1, "estimate"], at.loc[1, "se"]
    r = at.loc[g, "estimate"] / m1
    return r, 0.0 if g == 1 else r * (at.loc[g, "se"] / at.loc[g, "estimate"] + s1 / m1)


def _deep_workflows_row(axes, table) -> None:
    """The torch family's fresh shares and windows (:data:`DEEP_WORKFLOWS`), as the numpy rows draw theirs, for
    KL_k / KL_1 against the derived variance ratio (exact_values), with Student-t 95% intervals."""
    from scipy import stats

    from theory.derive import exact_values

    from .workflows import spec_of

    name, metric, ylabel = DEEP_WORKFLOWS
    table = table[table["metric"] == metric]
    G = int(table["generation"].max())
    half = G // 2
    trials = int(table["trials"].iloc[0])
    t = float(stats.t.ppf(0.975, trials - 1))
    fresh, window = [], []
    for text, part in table.groupby("workflow", sort=False):
        kind, x = _classify(text)
        at = part.set_index("generation")
        exact = exact_values(spec_of(text))
        if kind == "fresh":
            r, se = _ratio(at, G)
            fresh.append((x, r, se, float(exact(G))))
        elif kind == "window":
            (rg, sg), (rh, sh) = _ratio(at, G), _ratio(at, half)
            window.append((x, (rg - rh) / (G - half), (sg + sh) / (G - half), float(exact(G) - exact(half)) / (G - half)))
    ax = axes[0]
    if fresh:
        x, est, se, th = map(np.array, zip(*sorted(fresh)))
        ax.errorbar(x, est, yerr=t * se, fmt="o", ms=4, color="C0", label=f"simulation, generation {G}")
        ax.plot(x, th, "s", ms=5, mfc="none", color="C3", label=f"derived, generation {G}")
        grid = np.linspace(0.05, 0.6, 45)
        ax.plot(grid, [float(exact_values({"take": [{"from": "fresh", "share": float(round(s, 4))},
                                                    {"from": "latest", "share": float(round(1 - s, 4))}]})(G))
                       for s in grid], "-", lw=1.2, color="C3", alpha=0.8, label="derived (s fresh + 1 - s latest)")
        ax.set_xlabel("share of fresh real windows in a training set", fontsize=9)
        ax.set_ylabel(f"KL_{G} / KL_1", fontsize=9)
        ax.legend(fontsize=7, frameon=False)
    ax.set_title(f"{name} (neural n-gram, {trials} seeds; Student-t 95% intervals)", fontsize=9, loc="left")
    ax = axes[1]
    if window:
        x, est, se, th = map(np.array, zip(*sorted(window)))
        ax.errorbar(x, est, yerr=t * se, fmt="o", ms=4, color="C0",
                    label=f"simulation: (r_{G} - r_{half})/{G - half}, r = KL_k/KL_1")
        ax.plot(x, th, "s", ms=5, mfc="none", color="C3", label="derived, same difference")
        k = np.linspace(1, x.max(), 100)
        ax.plot(k, 4 / (k + 1) ** 2, "--", lw=1.1, color="0.3", label="derived rate 4/(K+1)^2")
        ax.set_xlabel("window: the last K synthetic batches", fontsize=9)
        ax.set_ylabel(f"growth of {ylabel} per generation", fontsize=9)
        ax.legend(fontsize=7, frameon=False)


def draw(tables: list, output: Path, formats=("png",), deep=None, deep_workflows=None) -> list[Path]:
    """Draw the figure from the results tables of :data:`SWEEPS` (pandas DataFrames, in that order) and, if
    given, the deep rows from ``deep`` and ``deep_workflows``, the results tables of :data:`DEEP` and
    :data:`DEEP_WORKFLOWS`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from theory.derive import exact_values

    from .store import write_atomically

    nrows = len(tables) + (deep is not None) + (deep_workflows is not None)
    fig, axes = plt.subplots(nrows, 2, figsize=(9.5, 3.3 * nrows + 0.6), layout="constrained", squeeze=False)
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
    extra = [(f, t) for f, t in ((_deep_workflows_row, deep_workflows), (_deep_row, deep)) if t is not None]
    for row, (fn, table) in enumerate(extra, start=len(tables)):
        fn(axes[row], table)
        for ax in axes[row]:
            ax.tick_params(labelsize=8)
            ax.grid(alpha=0.25, lw=0.5)
    fig.suptitle("Theory derived from the workflow (theory.derive) against simulation: fresh real data and windows"
                 + ("; real plus synthetic" if deep is not None else ""), fontsize=10)
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
    deep = {}
    for key, (name, _, _) in (("deep_workflows", DEEP_WORKFLOWS), ("deep", DEEP)):
        store = Store(Path(args.results) / f"{name}.parquet")
        if store.path.exists():
            deep[key] = store.read()
        else:
            print(f"no results at {store.path}: its row is left out (collapse sweep deep/configs/{name}.toml)",
                  file=sys.stderr)
    for path in draw(tables, Path(args.output), formats=args.formats.split(","), **deep):
        print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
