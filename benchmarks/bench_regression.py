"""Benchmarks of the accumulate regression chain (prints figures; not a test).

    python benchmarks/bench_regression.py            # the quick figures (about a minute)
    python benchmarks/bench_regression.py --smoke    # the same figures at a small size (seconds; for CI)
    python benchmarks/bench_regression.py --million  # also 10^6 trials x 100 generations (minutes)

1. Vectorised simulator against a plain Python loop over trials that refits OLS on the stacked data
   every generation (what the papers' scripts do), at d=10, T=50, 100 generations: time per trial.
2. Simulator time against the floor: the time to draw the same random numbers alone, in the same
   calls' sizes (the design, then each generation's labels), measured in this run: the ratio is the figure.
3. Peak memory (tracemalloc) against the number of generations: flat for accumulate, whose stacked
   fit is kept as a running label sum.
4. 10^6 trials x 100 generations through the block runner: wall time and peak memory.

Times are the best of three in CPU seconds of this process (time.process_time), robust to other jobs on
a shared machine; the load average is printed with them. The simulator and its floor are timed in turn,
five rounds of each, so that a change of load falls on both alike. No figure is asserted.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy loads BLAS: one thread, as a sweep's workers

import argparse  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402

import numpy as np  # noqa: E402

from numerics.regression import simulate_fixed_design  # noqa: E402
from numerics.rng import BLOCK, blocks, seed_sequence  # noqa: E402
from numerics.stats import Summary  # noqa: E402

D, T = 10, 50


def loop_over_trials(trials: int, G: int, rng: np.random.Generator) -> np.ndarray:
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
    """The least CPU seconds of ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return min(times)


def side_by_side(*fns, repeat: int = 5) -> list[float]:
    """The least CPU seconds of each function over ``repeat`` rounds, the functions called in turn in each."""
    times = [[] for _ in fns]
    for _ in range(repeat):
        for fn, t in zip(fns, times):
            t0 = time.process_time()
            fn()
            t.append(time.process_time() - t0)
    return [min(t) for t in times]


def floor(trials: int, G: int):
    """Drawing the simulator's random numbers alone: the design and every generation's label noise."""
    rng = np.random.default_rng(1)

    def draw():
        rng.standard_normal((trials, T, D))
        for _ in range(G):
            rng.standard_normal((trials, T))

    return draw


def load() -> str:
    return f"load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true", help="every figure at a small size (seconds)")
    ap.add_argument("--million", action="store_true", help="also run 10^6 trials x 100 generations")
    args = ap.parse_args()
    G = 20 if args.smoke else 100
    print(f"accumulate regression chain, d={D}, T={T}, {G} generations; numpy {np.__version__}; {load()}")

    # 1. vectorised against the loop, at equal trials
    loop_trials = 2 if args.smoke else 20
    t_loop = best_of(lambda: loop_over_trials(loop_trials, G, np.random.default_rng(0)), repeat=1)
    t_vec_same = best_of(lambda: simulate_fixed_design(loop_trials, np.random.default_rng(0), d=D, T=T, generations=G, workflow="accumulate"))
    vec_trials = BLOCK

    def chain():
        simulate_fixed_design(vec_trials, np.random.default_rng(0), d=D, T=T, generations=G, workflow="accumulate")

    t_vec = best_of(chain)
    per_loop, per_vec = t_loop / loop_trials, t_vec / vec_trials
    print(f"1. loop over trials (stacked refit): {per_loop * 1e3:.1f} ms/trial ({loop_trials} trials in {t_loop:.2f} s)")
    print(f"   vectorised, {loop_trials} trials:          {t_vec_same * 1e3:.1f} ms in all -> {t_loop / t_vec_same:.0f}x at equal trials")
    print(f"   vectorised, {vec_trials} trials:        {per_vec * 1e6:.1f} us/trial -> {per_loop / per_vec:.0f}x per trial")

    # 2. against the floor
    t_floor, t_vec = side_by_side(floor(vec_trials, G), chain)
    print(f"2. floor (drawing the same normals): {t_floor:.3f} s; simulator {t_vec:.3f} s -> "
          f"{t_vec / t_floor:.2f}x the floor ({load()})")

    # 3. peak memory against generations
    print("3. peak memory (tracemalloc) of one block of", vec_trials, "trials:")
    for gens in (G // 4, G // 2, G, 2 * G):
        tracemalloc.start()
        simulate_fixed_design(vec_trials, np.random.default_rng(0), d=D, T=T, generations=gens, workflow="accumulate")
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(f"   {gens:4d} generations: {peak / 2**20:7.1f} MiB")

    # 4. a million trials
    if args.million:
        trials = 10**6
        tracemalloc.start()
        t0 = time.perf_counter()
        summary = None
        for block in blocks(trials, seed_sequence(0)):
            part = Summary.of(simulate_fixed_design(block.size, block.rng, d=D, T=T, generations=G, workflow="accumulate")["test_error"])
            summary = part if summary is None else summary.merge(part)
        wall = time.perf_counter() - t0
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        theory = D / (T - D - 1) * sum(1 / k**2 for k in range(1, G + 1))
        mean, se = summary.mean_se()
        print(f"4. 10^6 trials x {G} generations: {wall:.0f} s, peak {peak / 2**20:.0f} MiB; "
              f"mean error at generation {G}: {mean[-1]:.5f} +- {se[-1]:.5f} (theory {theory:.5f}, "
              f"z = {(mean[-1] - theory) / se[-1]:.2f})")


if __name__ == "__main__":
    main()
