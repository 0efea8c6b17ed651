"""Speed of the deep image layer on this machine: what the issue's targets are measured by.

    python benchmarks/bench_deep.py              # both parts
    python benchmarks/bench_deep.py --replicas   # throughput of a replica axis against a Python loop
    python benchmarks/bench_deep.py --digits     # the default digits run through collapse sweep
    python benchmarks/bench_deep.py --smoke      # both, at a size of a few seconds (CI: it must run)

1. Training throughput (images per second per replica) of the MLP VAE on 8x8 digits at 64 replicas:
   one batched model (deep.replica) against a Python loop over 64 separate one-replica models doing the
   same steps (the anchors' loop over seeds). Target: at least 2.5x. One intra-op thread.
2. The default digits run: deep/configs/deep-digits.toml's VAE cells (10 generations x 4 workflows x 16
   seeds, 240 steps per generation) through numerics.sweep.run_sweep on 2 local processes, against its
   floor measured in the same run: the same number of training steps of the same batched model with
   nothing else (no sampling, no metrics, no store), divided over the processes. Target: under 5 minutes
   on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def replicas(R: int = 64, steps: int = 60, batch: int = 64) -> dict:
    from deep.models.images import MLPVAE, VAEConfig
    from deep.replica import generator
    from deep.train import Budget, train

    torch.set_num_threads(1)
    x = torch.rand(R, 1500, 8, 8, generator=generator(0))
    budget = Budget(steps=steps, batch=batch, lr=1e-3)
    cfg = VAEConfig()
    model = MLPVAE(cfg, R, generator=generator(1))
    train(model, x, Budget(steps=5, batch=batch), generator(2))  # warm-up
    t = time.perf_counter()
    train(model, x, budget, generator(3))
    batched = time.perf_counter() - t
    singles = [MLPVAE(cfg, 1, generator=generator(10 + r)) for r in range(R)]
    train(singles[0], x[:1], Budget(steps=5, batch=batch), generator(2))
    t = time.perf_counter()
    for r, m in enumerate(singles):
        train(m, x[r:r + 1], budget, generator(100 + r))
    loop = time.perf_counter() - t
    images = R * steps * batch
    return {"replicas": R, "steps": steps, "batched_s": batched, "loop_s": loop, "batched_img_per_s_per_replica": images / batched / R,
            "loop_img_per_s_per_replica": images / loop / R, "speedup": loop / batched}


def training_floor(trials: int, steps: int, batch: int) -> float:
    """Seconds of ``steps`` Adam steps of the batched MLP VAE (``trials`` replicas) on 1,500 images: one
    generation's training with nothing else."""
    from deep.models.images import MLPVAE, VAEConfig
    from deep.replica import generator
    from deep.train import Budget, train

    torch.set_num_threads(1)
    x = torch.rand(trials, 1500, 8, 8, generator=generator(0)).round()
    model = MLPVAE(VAEConfig(), trials, generator=generator(1))
    train(model, x, Budget(steps=5, batch=batch), generator(2))  # warm-up
    t = time.process_time()
    train(model, x, Budget(steps=steps, batch=batch), generator(3))
    return time.process_time() - t


def digits(jobs: int = 2, smoke: bool = False) -> dict:
    from numerics.config import Config
    from numerics.sweep import run_sweep

    cfg = Config.from_toml(os.path.join(ROOT, "deep", "configs", "deep-digits.toml"))
    cfg.grid = {**cfg.grid, "model": ["vae"]}
    if smoke:
        cfg.generations, cfg.trials = 2, 2
        cfg.fixed = {**cfg.fixed, "steps": 10}
        cfg.grid = {**cfg.grid, "workflow": ["replace", "accumulate"]}
    steps, batch = cfg.fixed["steps"], cfg.fixed["batch"]
    cells = len(cfg.grid["workflow"])
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        run_sweep(cfg, os.path.join(tmp, "digits.parquet"), jobs=jobs, progress=False)
        wall = time.perf_counter() - t
    floor = cells * cfg.generations * training_floor(cfg.trials, steps, batch) / jobs
    return {"config": f"deep-digits.toml, VAE cells ({cfg.generations} generations x {cells} workflows x {cfg.trials} "
                      f"seeds, {steps} steps)", "jobs": jobs, "wall_s": wall, "floor_s": floor}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replicas", action="store_true")
    ap.add_argument("--digits", action="store_true")
    ap.add_argument("--smoke", action="store_true", help="a few seconds' size (CI runs it so that it cannot rot)")
    args = ap.parse_args()
    both = not (args.replicas or args.digits)
    print(f"torch {torch.__version__}, {os.cpu_count()} cores, 1 intra-op thread per process")
    if args.replicas or both:
        r = replicas(8, 10) if args.smoke else replicas()
        print(f"replica axis, MLP VAE on 8x8, {r['replicas']} replicas x {r['steps']} steps x batch 64: batched "
              f"{r['batched_s']:.2f} s ({r['batched_img_per_s_per_replica']:.0f} images/s per replica), "
              f"loop over models {r['loop_s']:.2f} s ({r['loop_img_per_s_per_replica']:.0f}); "
              f"speedup {r['speedup']:.2f}x (target >= 2.5x)")
    if args.digits or both:
        d = digits(smoke=args.smoke)
        print(f"digits run, {d['config']}: {d['wall_s']:.1f} s on {d['jobs']} processes -> "
              f"{d['wall_s'] / d['floor_s']:.2f}x its training floor ({d['floor_s']:.1f} s: the same Adam steps alone, "
              f"CPU time over {d['jobs']} processes); load {os.getloadavg()[0]:.1f} (target < 300 s at full size)")


if __name__ == "__main__":
    main()
