"""Benchmarks of the accumulate regression chain (prints figures; not a test).

    python benchmarks/bench_regression.py            # the quick figures (about a minute)
    python benchmarks/bench_regression.py --million  # also 10^6 trials x 100 generations (minutes)

1. Vectorised simulator against a plain Python loop over trials that refits OLS on the stacked data
   every generation (what the papers' scripts do), at d=10, T=50, 100 generations: time per trial.
2. Simulator time against the floor: the time to draw the same random numbers alone.
3. Peak memory (tracemalloc) against the number of generations: flat for accumulate, whose stacked
   fit is kept as a running label sum.
4. 10^6 trials x 100 generations through the block runner: wall time and peak memory.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np

from numerics.regression import simulate_fixed_design
from numerics.rng import BLOCK, blocks, seed_sequence
from numerics.stats import Moments

D, T, G = 10, 50, 100


def loop_over_trials(trials: int, rng: np.random.Generator) -> np.ndarray:
    """The papers' way: for each trial, for each generation, refit OLS on all labels so far."""
    out = np.empty((trials, G))
    for r in range(trials):
        X = rng.standard_normal((T, D))
        w_star = np.full(D, 1 / np.sqrt(D))
        w = w_star
        Xs, Ys = [], []
        for k in range(G):
            y = X @ w + rng.standard_normal(T)
            Xs.append(X)
            Ys.append(y)
            w = np.linalg.lstsq(np.vstack(Xs), np.concatenate(Ys), rcond=None)[0]
            out[r, k] = np.sum((w - w_star) ** 2)
    return out


def best_of(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def floor(trials: int) -> float:
    """Drawing the simulator's random numbers alone: the design and every generation's label noise."""
    rng = np.random.default_rng(1)

    def draw():
        rng.standard_normal((trials, T, D))
        for _ in range(G):
            rng.standard_normal((trials, T))

    return best_of(draw)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--million", action="store_true", help="also run 10^6 trials x 100 generations")
    args = ap.parse_args()
    print(f"accumulate regression chain, d={D}, T={T}, {G} generations; numpy {np.__version__}")

    # 1. vectorised against the loop, at equal trials
    loop_trials = 20
    t_loop = best_of(lambda: loop_over_trials(loop_trials, np.random.default_rng(0)), repeat=1)
    t_vec_same = best_of(lambda: simulate_fixed_design(loop_trials, np.random.default_rng(0), d=D, T=T, fits=G))
    vec_trials = BLOCK
    t_vec = best_of(lambda: simulate_fixed_design(vec_trials, np.random.default_rng(0), d=D, T=T, fits=G))
    per_loop, per_vec = t_loop / loop_trials, t_vec / vec_trials
    print(f"1. loop over trials (stacked refit): {per_loop * 1e3:.1f} ms/trial ({loop_trials} trials in {t_loop:.2f} s)")
    print(f"   vectorised, {loop_trials} trials:          {t_vec_same * 1e3:.1f} ms in all -> {t_loop / t_vec_same:.0f}x at equal trials")
    print(f"   vectorised, {vec_trials} trials:        {per_vec * 1e6:.1f} us/trial -> {per_loop / per_vec:.0f}x per trial")

    # 2. against the floor
    t_floor = floor(vec_trials)
    print(f"2. floor (drawing the same normals): {t_floor:.3f} s; simulator {t_vec:.3f} s -> {t_vec / t_floor:.2f}x the floor")

    # 3. peak memory against generations
    print("3. peak memory (tracemalloc) of one block of", vec_trials, "trials:")
    for gens in (25, 50, 100, 200):
        tracemalloc.start()
        simulate_fixed_design(vec_trials, np.random.default_rng(0), d=D, T=T, fits=gens)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(f"   {gens:4d} generations: {peak / 2**20:7.1f} MiB")

    # 4. a million trials
    if args.million:
        trials = 10**6
        tracemalloc.start()
        t0 = time.perf_counter()
        moments = Moments()
        for block in blocks(trials, seed_sequence(0)):
            moments.add(simulate_fixed_design(block.size, block.rng, d=D, T=T, fits=G)["test_error"])
        wall = time.perf_counter() - t0
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        theory = D / (T - D - 1) * sum(1 / k**2 for k in range(1, G + 1))
        mean, se = moments.mean()
        print(f"4. 10^6 trials x {G} generations: {wall:.0f} s, peak {peak / 2**20:.0f} MiB; "
              f"mean error at generation {G}: {mean[-1]:.5f} +- {se[-1]:.5f} (theory {theory:.5f}, "
              f"z = {(mean[-1] - theory) / se[-1]:.2f})")


if __name__ == "__main__":
    main()
