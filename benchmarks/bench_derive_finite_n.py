"""How far the Gaussian chain at finite n sits from theory.derive's n -> oo variance ratio (`collapse derive --check`).

    python benchmarks/bench_derive_finite_n.py            # 400,000 chains at n = 20, 200,000 at n = 100 (minutes)
    python benchmarks/bench_derive_finite_n.py --smoke    # 4,000 chains, 10 generations (seconds; for CI)

`collapse derive --quantity variance_ratio --check` holds the derivation (Dey & Donoho's n -> oo limit)
against the Gaussian chain (d = 1, the unbiased variance) at n = 1000 (numerics.derive_check). The fitted
mean is exactly linear; the finite-n effect is the fitted variance's drift, O(k/n) relative. This script
measures it for the workflows the command's tests check (real-fraction 0.1, a window of 3 batches, 10%
fresh data): the relative deviation (simulated - derived) / derived at k = 10 and k = 30 (with its
relative standard error), at two small n, so that the 1/n scaling can be read off and carried to n = 1000
(docs/derive.md quotes the full run). Accuracy figures, not timings: they do not depend on the machine.
"""

from __future__ import annotations

import argparse

import numpy as np

WORKFLOWS = {
    "real-fraction 0.1": ("real-fraction", {"real_fraction": 0.1}),
    "last 3": ({"take": [{"from": "window", "window": 3}]}, {}),
    "10% fresh": ({"take": [{"from": "fresh", "share": 0.1}, {"from": "latest", "share": 0.9}]}, {}),
}


def deviation(workflow, at: dict, n: int, trials: int, generations: int) -> tuple[np.ndarray, np.ndarray]:
    """(relative deviation, relative standard error) of the simulated ratio at k = 1..generations."""
    from numerics import execute
    from numerics.derive_check import expected, simulation
    from numerics.rng import seed_sequence
    from theory.workflows import workflow_spec

    spec = workflow_spec(workflow)
    sim = simulation(spec, "variance_ratio", at, sizes={"n": n}, generations=generations)
    theory = np.array(expected(spec, sim, range(1, generations + 1)))
    cell = execute.Cell.make(sim.simulator, sim.settings, generations, [sim.metric], trials)
    summary = execute.run_cells([cell], int(seed_sequence(1).entropy), execute.Serial())[0][sim.metric]
    est, se = summary.estimate("ratio")
    return (est - theory) / theory, se / theory


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--smoke", action="store_true", help="4,000 chains, 10 generations")
    args = p.parse_args()
    runs = [(20, 4000, 10)] if args.smoke else [(20, 400_000, 30), (100, 200_000, 30)]
    print(f"{'workflow':<20} {'n':>4} {'chains':>8}   dev k=10 (se)        dev k=30 (se)")
    for name, (workflow, at) in WORKFLOWS.items():
        for n, trials, G in runs:
            dev, se = deviation(workflow, at, n, trials, G)
            cols = [f"{100 * dev[k - 1]:+6.2f}% ({100 * se[k - 1]:.2f}%)" if k <= G else "-" for k in (10, 30)]
            print(f"{name:<20} {n:>4} {trials:>8}   {cols[0]:<20} {cols[1]}")


if __name__ == "__main__":
    main()
