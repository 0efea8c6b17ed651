"""Benchmark of beam search against ancestral sampling (prints figures; not a test).

    python benchmarks/bench_beam.py            # the lm-markov defaults (about half a minute on 2 cores)
    python benchmarks/bench_beam.py --smoke    # a tiny size, a few seconds

Tokens per second of deep.language.models sampling, one intra-op thread, at the lm-markov defaults:
windows of 32 tokens, V = 8, 8 replicas x 128 windows; the n-gram model of order 2 and the transformer
of width 16, 1 layer, 1 head (its key-value cache on). Rules: ancestral, beam search of width 5
(Shumailov et al.'s) without and with a repetition penalty (2) and no repeated 3-grams. A token is one
token of the returned windows (R x m x T); the beam computes `beams` hypotheses per window, so its cost
is expected near `beams` times the ancestral one plus the per-step top-k and cache reordering. Each
figure is the best of ``--repeats`` runs; the ratio ancestral / beam tokens per second is the figure to
compare across machines. Measured on the shared 2-core machine under load (load average 2.1-2.5), three
runs: beam 5 is 4.6-5.1x slower than ancestral for the n-gram, 4.5-6.6x for the transformer; with the
penalty and the 3-gram block 11-14x and 5-8x (the block's per-step n-gram matching is the n-gram's cost).
A generation of lm-markov samples 8 x 128 x 32 = 32,768 tokens: under a second by beam search.

Last, the transformer's key-value cache against recomputing every prefix (width 32, 2 layers, 2 heads,
4 replicas x 16 windows of 256 tokens; --smoke: 32 tokens): the cache's speed-up, which grows with the
window (it was a timed slow test, >= 10x at 256 tokens, that failed under load: figures live here).
"""

from __future__ import annotations

import argparse
import os
import time

import torch


def tokens_per_second(model, m: int, T: int, sampling, repeats: int) -> float:
    from deep.replica import generator

    best = float("inf")
    for i in range(repeats):
        t = time.perf_counter()
        out = model.sample(m, sampling, generator(i), length=T)
        best = min(best, time.perf_counter() - t)
    assert out.shape == (model.replicas, m, T)
    return out.numel() / best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smoke", action="store_true", help="a tiny size (2 replicas x 8 windows of 8 tokens)")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    from deep.language.models import Sampling, build
    from deep.replica import generator

    torch.set_num_threads(1)
    R, m, T, V = (2, 8, 8, 8) if args.smoke else (8, 128, 32, 8)
    rules = [("ancestral", Sampling()), ("beam 5", Sampling("beam", beams=5)),
             ("beam 5, penalty 2, no repeated 3-grams", Sampling("beam", beams=5, repetition_penalty=2.0,
                                                                  no_repeat_ngram=3))]
    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs, 1 intra-op thread; {R} replicas x {m} windows of "
          f"{T} tokens, V = {V}, best of {args.repeats}")
    for kind in ("ngram", "transformer"):
        model = build(kind, R, vocab=V, window=T, order=2, width=16, layers=1, heads=1)
        model.reset_parameters(generator(0))
        if kind == "ngram":  # a zero table is uniform: random rows, so the search has something to rank
            with torch.no_grad():
                model.table.copy_(torch.randn(model.table.shape, generator=generator(1)))
        rates = {name: tokens_per_second(model, m, T, s, args.repeats) for name, s in rules}
        floor = rates["ancestral"]
        for name, rate in rates.items():
            slower = "" if name == "ancestral" else f"  ({floor / rate:.1f}x slower than ancestral)"
            print(f"{kind:>11}  {name:<38} {rate:>11,.0f} tokens/s{slower}")
    kv_cache(32 if args.smoke else 256, args.repeats)


def kv_cache(T: int, repeats: int) -> None:
    """Ancestral sampling of a transformer with and without its key-value cache (the same tokens: tested in
    tests/deep/test_language_models.py): seconds and the ratio."""
    from deep.language.models import Sampling, Transformer, TransformerConfig
    from deep.replica import generator

    model = Transformer(TransformerConfig(vocab=8, window=T, width=32, layers=2, heads=2), 4)
    model.reset_parameters(generator(0))
    seconds = {}
    for cache in (True, False):
        best = float("inf")
        for i in range(repeats):
            t = time.perf_counter()
            model.generate(16, T, Sampling(), generator(1), cache=cache)
            best = min(best, time.perf_counter() - t)
        seconds[cache] = best
    print(f"transformer key-value cache, 4 replicas x 16 windows of {T} tokens: {seconds[True]:.3f} s with it, "
          f"{seconds[False]:.3f} s recomputing every prefix ({seconds[False] / seconds[True]:.1f}x)")


if __name__ == "__main__":
    main()
