"""Benchmarks of the language models (prints figures; not a test).

    python benchmarks/bench_deep_lm.py            # all figures (about a minute on 2 cores)
    python benchmarks/bench_deep_lm.py --skip-sweep

1. The default known-truth run, configs/deep-markov.toml (n-gram, 10 generations x 4 workflows x 8 seeds),
   through `collapse sweep`'s runner on 2 local processes (one intra-op thread each): wall time.
   Target: under 5 minutes on 2 cores.
2. Transformer sampling at 256 tokens with and without the key-value cache (4 replicas x 16 windows,
   width 32, 2 layers, 2 heads): seconds and the speed-up. Target: at least 10x.
3. The bridge (lm-bridge at n = 20, K = 5, Zipf(1), replace, 1,000 seeds, 10 generations): the diversity
   ratio against categorical.diversity (mean, standard error, z), and the optimisation error.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np
import torch


def sweep_time() -> float:
    from numerics.config import Config
    from numerics.sweep import run_sweep

    config = Config.from_toml("configs/deep-markov.toml")
    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter()
        run_sweep(config, os.path.join(d, "deep-markov.parquet"), jobs=2, progress=False)
        return time.perf_counter() - t


def kv_cache(tokens: int = 256, repeats: int = 2) -> tuple[float, float]:
    from deep.language.models import Sampling, Transformer, TransformerConfig
    from deep.replica import generator

    m = Transformer(TransformerConfig(vocab=8, window=tokens, width=32, layers=2, heads=2), 4)
    m.reset_parameters(generator(0))
    best = {}
    for cache in (True, False):
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            out = m.generate(16, tokens, Sampling(), generator(1), cache=cache)
            times.append(time.perf_counter() - t)
        best[cache] = min(times)
        assert out.shape == (4, 16, tokens)
    return best[True], best[False]


def bridge(trials: int = 1000, generations: int = 10):
    import theory
    from deep.language import simulators  # noqa: F401
    from numerics import catalog

    sim = catalog.get("lm-bridge")
    s = sim.resolve({"n": 20, "K": 5, "zipf": 1.0, "workflow": "replace"})
    t = time.perf_counter()
    out = sim.call(trials, np.random.default_rng(0), s, generations, ["diversity_ratio", "opt_error", "opt_error_max"])
    seconds = time.perf_counter() - t
    claim = theory.CLAIMS["categorical.diversity"]
    rows = []
    for g in (1, 2, 5, 10):
        d = out["diversity_ratio"][:, g - 1]
        th = float(claim.evaluate(n=20, workflow="replace", t=g))
        se = d.std(ddof=1) / np.sqrt(trials)
        rows.append((g, d.mean(), se, th, (d.mean() - th) / se))
    return seconds, rows, out["opt_error"].mean(), out["opt_error_max"].max()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skip-sweep", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs, 1 intra-op thread per process")
    if not args.skip_sweep:
        s = sweep_time()
        print(f"1. configs/deep-markov.toml (10 generations x 4 workflows x 8 seeds, n-gram) on 2 processes: "
              f"{s:.1f} s (target < 300 s)")
    cached, uncached = kv_cache()
    print(f"2. transformer sampling, 256 tokens, 4 replicas x 16 windows: cached {cached:.2f} s, uncached "
          f"{uncached:.2f} s: {uncached / cached:.1f}x (target >= 10x)")
    seconds, rows, tv, tv_max = bridge()
    print(f"3. bridge lm-bridge (n=20, K=5, Zipf(1), replace, 1000 seeds, 10 generations) in {seconds:.1f} s:")
    for g, mean, se, th, z in rows:
        print(f"   t={g:>2}: diversity ratio {mean:.4f} +- {se:.4f}  theory {th:.4f}  z = {z:+.2f}")
    print(f"   optimisation error (total variation from the training frequencies): mean {tv:.2e}, max {tv_max:.2e}")


if __name__ == "__main__":
    main()
