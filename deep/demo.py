"""The deep layer's part of ``collapse report --demo``: tiny versions of the shipped deep sweeps.

Each entry is ``(title, name, config, options)``, the shape of collapse.report_cli.DEMO_SWEEPS: the
title of the report's section, the store's name under the demo folder (``NAME.parquet``), the sweep's
configuration as a dict (numerics.sweep.Config.from_dict) and the report's options for its figure
(``metrics``: the panels drawn; ``hue``, ``facet``, ``where``: numerics.plot's layout). Each finishes in
a few seconds on 2 cores (measured with ``collapse report --demo``):

* the bridge (an affine Gaussian trained by the deep loop, whose optimum is the MLE fit) at d = 2,
  n = 10, 3 generations, 100 seeds, replace and accumulate, 200 full-batch Adam steps a generation
  (optimisation error |Tr C - Tr S| / Tr S about 1e-5, recorded as opt_trace): its theory column
  comes from the mvgaussian.* claims, so the report shows a theory-vs-simulation table;
* a VAE on the 8x8 digits (n = 300 real images, 60 Adam steps a generation), 3 generations, 4 seeds,
  replace and accumulate: the sweep draws its sample grids and class histograms (RESULTS.artifacts/);
* a neural n-gram on the known-truth Markov language, 3 generations, 4 seeds: KL rate, cross-entropy,
  support lost and Shumailov et al.'s perplexity histograms.

Importing this module needs nothing but the standard library; running the sweeps needs torch.
"""

from __future__ import annotations

_HISTOGRAMS = [f"{p}_hist_{b:02d}" for p in ("ppl0", "pplt") for b in range(20)]

DEMO_SWEEPS = (
    ("The bridge (demo size: an affine Gaussian trained by the deep loop, d = 2, n = 10, 100 seeds)", "deep-bridge", {
        "description": "The bridge, small: an affine Gaussian x = mu + L z trained by full-batch Adam, whose optimum "
                       "is the MLE fit, against the mvgaussian claims",
        "simulator": "bridge", "generations": 3, "trials": 100, "seed": 0,
        "metrics": ["mean_sq_error", "trace_ratio", "opt_trace"],
        "fixed": {"model": "affine", "d": 2, "n": 10, "sigma": 1.0, "steps": 200},
        "grid": {"workflow": ["replace", "accumulate"]}}, {}),
    ("VAE on digits (demo size: 300 images, 60 steps a generation, 4 seeds)", "deep-digits", {
        "description": "A VAE on scikit-learn's 8x8 digits retrained on its own samples, small: replace vs accumulate",
        "simulator": "images", "generations": 3, "trials": 4, "seed": 0,
        "metrics": ["test_loss", "train_excess", "frechet", "class_entropy", "latent_spread"],
        "fixed": {"data": "digits", "model": "vae", "n": 300, "budget": "steps", "steps": 60, "samples": 300},
        "grid": {"workflow": ["replace", "accumulate"]}},
     {"metrics": ["test_loss", "train_excess", "frechet", "class_entropy", "latent_spread"]}),
    ("Language models on a Markov language (demo size: 3 generations, 4 seeds)", "deep-markov", {
        "description": "A neural n-gram on a known-truth order-2 Markov language over 8 symbols, small: "
                       "replace vs accumulate",
        "simulator": "lm-markov", "generations": 3, "trials": 4, "seed": 0,
        "metrics": ["kl_rate", "ce_real", "support_lost", *_HISTOGRAMS],
        "fixed": {"model": "ngram", "V": 8, "order": 2, "n": 64, "window": 16, "steps": 80, "eval_windows": 64},
        "grid": {"workflow": ["replace", "accumulate"]}},
     {"metrics": ["kl_rate", "ce_real", "support_lost"]}),
)
