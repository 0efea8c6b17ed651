"""Benchmarks of the language models (prints figures; not a test).

    python benchmarks/bench_deep_lm.py            # all figures (about a minute on 2 cores)
    python benchmarks/bench_deep_lm.py --skip-sweep
    python benchmarks/bench_deep_lm.py --transformer   # also the transformer sweep (about 7 more minutes)
    python benchmarks/bench_deep_lm.py --smoke    # every figure at a small size (seconds; CI runs it)

1. The default known-truth run, deep/configs/deep-markov.toml (n-gram, 10 generations x 4 workflows x 8
   seeds), through `collapse sweep`'s runner on 2 local processes (one intra-op thread each): wall time,
   and its ratio to the run's training floor measured in the same run (the same Adam steps of the same
   batched model on random windows, nothing else: no sampling, no metrics, no store; CPU time divided
   over the processes). Target: under 5 minutes on 2 cores. Smoke: 2 generations x 2 workflows x 2 seeds,
   40 steps, in 1 process (two workers' start-up alone would be most of its time). With ``--transformer``
   also the transformer's known-truth run, deep/configs/deep-markov-transformer.toml (width 16, 1 layer,
   600 steps, 10 generations x 4 workflows x 8 seeds; about 7 minutes on 2 idle cores), the same way
   (its smoke size, as the n-gram's, always runs with --smoke).
2. Transformer sampling at 256 tokens with and without the key-value cache (4 replicas x 16 windows,
   width 32, 2 layers, 2 heads): seconds and the speed-up. Target: at least 10x. Smoke: 64 tokens, 4
   windows (the speed-up is smaller at short windows: the uncached cost grows with the square of the
   length).
3. The bridge (lm-bridge at n = 20, K = 5, Zipf(1), replace, 1,000 seeds, 10 generations): the diversity
   ratio against categorical.diversity (mean, standard error, z), and the optimisation error. Smoke: 50
   seeds, 3 generations.

Nothing here asserts a time: the figures are printed, with their targets, for a person to read.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import numpy as np
import torch


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def training_floor(trials: int, settings) -> float:
    """CPU seconds of one generation's training alone: the Adam steps of ``settings``'s batched model
    (deep.language.simulators.MarkovSettings: its model, size and budget; ``trials`` replicas) on random
    windows."""
    from deep.language.models import build
    from deep.replica import generator
    from deep.train import Budget, train

    s = settings
    spec = s.spec(s.order if s.model_order is None else s.model_order)
    model = build(spec.kind, trials, vocab=s.V, window=s.window, order=spec.order, width=spec.width,
                  layers=spec.layers, heads=spec.heads)
    model.reset_parameters(generator(0))
    x = torch.randint(s.V, (trials, 128, s.window), generator=generator(1))
    budget = s.training()
    train(model, x, Budget(steps=5, batch=budget.batch, lr=budget.lr), generator(2))  # warm-up
    t = time.process_time()
    train(model, x, budget, generator(3))
    return time.process_time() - t


def sweep_time(name: str = "deep-markov", smoke: bool = False, jobs: int = 2) -> dict:
    from deep.language import simulators  # noqa: F401  (registers lm-markov)
    from numerics import catalog
    from numerics.config import Config
    from numerics.sweep import run_sweep

    config = Config.from_toml(os.path.join(ROOT, "deep", "configs", f"{name}.toml"))
    if smoke:
        config.generations, config.trials = 2, 2
        config.fixed = {**config.fixed, "steps": 40}
        config.grid = {**config.grid, "workflow": ["replace", "accumulate"]}
    settings = catalog.get("lm-markov").schema.build(config.fixed)
    cells = len(config.grid["workflow"])
    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter()
        run_sweep(config, os.path.join(d, f"{name}.parquet"), jobs=jobs, progress=False)
        wall = time.perf_counter() - t
    floor = cells * config.generations * training_floor(config.trials, settings) / jobs
    model = settings.spec(settings.order).kind
    return {"what": f"{config.generations} generations x {cells} workflows x {config.trials} seeds, {settings.steps} "
                    f"steps, {model}", "wall_s": wall, "floor_s": floor, "jobs": jobs}


def kv_cache(tokens: int = 256, windows: int = 16, repeats: int = 2) -> tuple[float, float]:
    from deep.language.models import Sampling, Transformer, TransformerConfig
    from deep.replica import generator

    m = Transformer(TransformerConfig(vocab=8, window=tokens, width=32, layers=2, heads=2), 4)
    m.reset_parameters(generator(0))
    best = {}
    for cache in (True, False):
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            out = m.generate(windows, tokens, Sampling(), generator(1), cache=cache)
            times.append(time.perf_counter() - t)
        best[cache] = min(times)
        assert out.shape == (4, windows, tokens)
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
    for g in [g for g in (1, 2, 5, 10) if g <= generations]:
        d = out["diversity_ratio"][:, g - 1]
        th = float(claim.evaluate(n=20, workflow="replace", t=g))
        se = d.std(ddof=1) / np.sqrt(trials)
        rows.append((g, d.mean(), se, th, (d.mean() - th) / se))
    return seconds, rows, out["opt_error"].mean(), out["opt_error_max"].max()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skip-sweep", action="store_true")
    ap.add_argument("--transformer", action="store_true", help="also time the transformer's known-truth sweep "
                    "(deep-markov-transformer: about 7 more minutes on 2 idle cores)")
    ap.add_argument("--smoke", action="store_true", help="every figure at a small size (seconds; CI runs it)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs, 1 intra-op thread per process, load "
          f"{os.getloadavg()[0]:.1f}" + (" (smoke sizes)" if args.smoke else ""))
    if not args.skip_sweep:
        for name in ("deep-markov", "deep-markov-transformer") if args.transformer or args.smoke else ("deep-markov",):
            s = sweep_time(name, args.smoke, jobs=1 if args.smoke else 2)
            print(f"1. deep/configs/{name}.toml ({s['what']}) on {s['jobs']} process(es): {s['wall_s']:.1f} s -> "
                  f"{s['wall_s'] / s['floor_s']:.2f}x its training floor ({s['floor_s']:.2f} s: the same Adam steps "
                  f"alone, CPU time over {s['jobs']} process(es)); load {os.getloadavg()[0]:.1f}"
                  + (" (target < 300 s at full size)" if name == "deep-markov" else ""))
    tokens, windows = (64, 4) if args.smoke else (256, 16)
    cached, uncached = kv_cache(tokens, windows)
    print(f"2. transformer sampling, {tokens} tokens, 4 replicas x {windows} windows: cached {cached:.2f} s, uncached "
          f"{uncached:.2f} s: {uncached / cached:.1f}x (target >= 10x at 256 tokens)")
    trials, generations = (50, 3) if args.smoke else (1000, 10)
    seconds, rows, tv, tv_max = bridge(trials, generations)
    print(f"3. bridge lm-bridge (n=20, K=5, Zipf(1), replace, {trials} seeds, {generations} generations) in "
          f"{seconds:.1f} s:")
    for g, mean, se, th, z in rows:
        print(f"   t={g:>2}: diversity ratio {mean:.4f} +- {se:.4f}  theory {th:.4f}  z = {z:+.2f}")
    print(f"   optimisation error (total variation from the training frequencies): mean {tv:.2e}, max {tv_max:.2e}")


if __name__ == "__main__":
    main()
