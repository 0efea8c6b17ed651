"""The deep layer's simulators, declared in the one catalog (numerics.catalog) beside the numpy ones.

* ``images``: a VAE, a convolutional VAE or an autoencoder retrained generation after generation on
  the digits, Fashion-MNIST or a Gaussian-mixture teacher, under every workflow (deep.families.ImageFamily);
* ``bridge``: the affine Gaussian and the linear VAE trained by the same deep loop, whose metrics are
  linked to the ``gaussian.*`` and ``mvgaussian.*`` maximum-likelihood claims, so that `collapse
  verify` holds them against theory in the same table as the numpy simulators;
* the language models (deep.language.simulators, imported at the end).

Trials are seeds: a block of trials is one batched model with a replica axis (a block holds up to 64
seeds for the image models, every seed for the cheap bridge models). Each torch random step is seeded
from the block's numpy generator (deep.chain), and every run saves a checkpoint after each generation
when the sweep gives it a path, so a killed sweep resumes to identical numbers on the CPU.

Importing this module needs torch; numerics.catalog imports it only when a simulator is looked up, and
`collapse list` never does.
"""

from __future__ import annotations

import math

import torch

from numerics.catalog import BLOCK_MEMORY, Bind, Check, Link, Metric, Setting, Simulator, register
from theory.workflows import CLAIM_WORKFLOWS, WORKFLOWS

from . import chain
from numerics.workflows import workflow_of

from .families import DEFAULT_RULES, IMAGE_MODELS, RARE, GaussianBridgeFamily, ImageFamily
from .models.images import ConvVAE, MLPAutoencoder, MLPVAE
from .replica import default_device, setup_threads
from .train import Budget

_MODULE = __name__
_ALL_RULES = tuple(dict.fromkeys(MLPVAE.RULES + ConvVAE.RULES + MLPAutoencoder.RULES))

_SIZES = {
    "real_fraction": Setting("float", None, "share of real images in each training set (workflow real-fraction; "
                             "Shumailov et al. keep 10%)", low=0, high=1),
    "train_size": Setting("int", None, "training-set size of the subsample and real-fraction workflows (default n)", low=1),
    "synthetic": Setting("int", None, "images sampled from each model (default n)", low=1),
}


def _start() -> torch.device:
    """One intra-op thread per process (measured 3-14x faster than two on a loaded 2-core machine); the
    GPU when there is one (never required)."""
    setup_threads(1)
    return default_device()


# -- images ------------------------------------------------------------------------------------------


def simulate_images(trials, rng, *, data="digits", model="vae", decoder="bernoulli", rule=None, latent=8, hidden=128,
                    n=None, workflow="replace", real_fraction=None, train_size=None, synthetic=None, budget="epochs",
                    epochs=10.0, steps=200, batch=64, lr=1e-3, warm_start=False, samples=1000, components=10,
                    teacher_weights="fitted", zipf_s=1.0, generations, checkpoint=None, artifacts=None):
    """``trials`` seeds of an image model over ``generations`` generations (deep.families.ImageFamily);
    with ``artifacts`` (a folder), its sample grid and class histograms are drawn there."""
    settings = {k: v for k, v in locals().items() if k not in ("trials", "rng", "generations", "checkpoint", "artifacts")}
    device = _start()
    plan = Budget(epochs=epochs, batch=batch, lr=lr) if budget == "epochs" else Budget(steps=steps, batch=batch, lr=lr)
    family = ImageFamily(replicas=trials, data=data, model=model, decoder=decoder, rule=rule, latent=latent,
                         hidden=hidden, n=n, budget=plan, warm_start=warm_start, samples=samples,
                         components=components, teacher_weights=teacher_weights, zipf_s=zipf_s, device=device)
    wf = workflow_of(workflow, family.n, train_size=train_size, synthetic=synthetic, real_fraction=real_fraction)
    header = chain.header_of("images", settings, trials, generations, rng) if checkpoint else None
    out = chain.run_chain(family, wf, generations, trials, rng, checkpoint=checkpoint, header=header)
    if artifacts:
        _image_figures(artifacts, family, out, settings)
    return out


def _image_figures(folder: str, family: ImageFamily, out: dict, settings: dict) -> None:
    import os

    import numpy as np

    from . import figures

    what = f"{settings['model']} on {settings['data']}, {settings['workflow']}, rule {family.rule}"
    figures.sample_grid([g.numpy() for g in family.grids], os.path.join(folder, "samples.png"),
                        f"Samples per generation (seed 0): {what}")
    shares = np.stack([out[f"share_{c}"] for c in range(family.source.classes)], axis=-1)
    figures.class_histograms(shares, os.path.join(folder, "classes.png"), f"Class shares of samples: {what}")


def _image_memory(p: dict, G: int) -> float:
    """Bytes per seed: what makes a block hold at most 64 seeds (one batched model), whatever the cell."""
    return BLOCK_MEMORY / 64


def _image_work(p: dict, G: int) -> float:
    """About the work per seed, in units of the random numbers a core draws per second (2e7: what
    numerics.execute's time estimate reads): 6 flops per weight and image (forward and backward), at the
    ~5e9 flop/s per core that the digits benchmark measured at 16 seeds (benchmarks/bench_deep.py), so
    250 flops a draw."""
    pixels = 64 if p["data"] != "fashion-mnist" else 784
    conv = 20 if p["model"] == "conv-vae" else 1  # the conv VAE's convolutions: about 20x the MLP's flops
    weights = (2 * pixels * p["hidden"] + 2 * p["hidden"] * p["latent"]) * conv
    n = p["n"] or (60_000 if p["data"] == "fashion-mnist" else 1500)
    images = p["epochs"] * n if p["budget"] == "epochs" else p["steps"] * p["batch"]
    grows = (G + 1) / 2 if p["budget"] == "epochs" and p["workflow"] == "accumulate" else 1
    return 6.0 * weights * images * G * grows / 250


_IMAGE_METRICS = {
    "train_loss": Metric("loss on the model's own training set after training (negative ELBO, nats per image; AE: "
                         "squared error)", "train_loss"),
    "train_floor": Metric("least reconstruction loss on that training set (Bernoulli: binary entropy of its pixels)",
                          "train_floor"),
    "train_excess": Metric("train_loss - train_floor: the training loss above what the data allow", "train_excess"),
    "test_loss": Metric("loss on held-out real images", "test_loss"),
    "test_recon": Metric("squared reconstruction error of held-out real images, per image", "test_recon"),
    "latent_spread": Metric("spread of latent means of samples under the generation-1 encoder (Shumailov et al.)",
                            "latent_spread"),
    **{f"share_{c}": Metric(f"share of samples the classifier calls class {c}", f"share_{c}") for c in range(10)},
    "class_entropy": Metric("entropy of the samples' class histogram (nats; log 10 = 2.303 when balanced)",
                            "class_entropy"),
    "min_share": Metric("share of the rarest class among the samples", "min_share"),
    "rare_mass": Metric(f"summed share of the {RARE} rarest classes among the samples", "rare_mass"),
    "frechet": Metric("Frechet distance from real test images (pixels for 8x8, classifier features otherwise)",
                      "frechet"),
    "teacher_logp": Metric("log-density of the samples under the teacher (the truth), per image (data = teacher)",
                           "teacher_logp"),
    "teacher_tail": Metric(f"share of the samples on the teacher's {RARE} components of least weight (data = teacher)",
                           "teacher_tail"),
}

register(Simulator(
    name="images",
    target=f"{_MODULE}:simulate_images",
    doc="VAEs and autoencoders on images, retrained on their own samples (the survey's Figs 9-11; Shumailov et al.)",
    settings={
        "data": Setting("choice", "digits", "real images: scikit-learn's 8x8 digits, Fashion-MNIST (Debian's "
                        "dataset-fashion-mnist), or samples of a Gaussian-mixture teacher fitted to the digits",
                        ("digits", "fashion-mnist", "teacher")),
        "model": Setting("choice", "vae", "MLP VAE, convolutional VAE (28x28) or MLP autoencoder", IMAGE_MODELS),
        "decoder": Setting("choice", "bernoulli", "VAE likelihood of a pixel", ("bernoulli", "gaussian")),
        "rule": Setting("choice", None, "how synthetic images are drawn: ancestral (latent, then pixels), mean "
                        "(decoder means, Shumailov et al.), gaussian-codes or perturbed-codes (AE); default: "
                        + ", ".join(f"{k} {v}" for k, v in DEFAULT_RULES.items()), _ALL_RULES),
        "latent": Setting("int", 8, "latent dimension", low=1),
        "hidden": Setting("int", 128, "hidden width of the MLP encoder and decoder", low=1),
        "n": Setting("int", None, "real training images (default: the whole training split; 1500 for the teacher)",
                     low=2),
        "workflow": Setting("choice", "replace", "data workflow (theory.workflows)", tuple(WORKFLOWS)),
        **_SIZES,
        "budget": Setting("choice", "epochs", "training per generation: epochs over the training set the workflow "
                          "hands over, or a fixed number of steps", ("epochs", "steps")),
        "epochs": Setting("float", 10.0, "epochs per generation (budget = epochs; the survey trains 10)", low=0,
                          open_low=True),
        "steps": Setting("int", 200, "optimiser steps per generation (budget = steps)", low=1),
        "batch": Setting("int", 64, "minibatch size per seed", low=1),
        "lr": Setting("float", 1e-3, "Adam's learning rate", low=0, open_low=True),
        "warm_start": Setting("bool", False, "each generation starts from the last one's weights (else from scratch)"),
        "samples": Setting("int", 1000, "images sampled per generation and seed for the metrics", low=2),
        "components": Setting("int", 10, "teacher: mixture components", low=1),
        "teacher_weights": Setting("choice", "fitted", "teacher: the fitted component weights, or Zipf-like ones",
                                   ("fitted", "zipf")),
        "zipf_s": Setting("float", 1.0, "teacher: Zipf exponent of the weights", low=0, open_low=True),
    },
    metrics=_IMAGE_METRICS,
    memory=_image_memory,
    work=_image_work,
    checkpoints=True,
    artifacts=True,
), _MODULE)


# -- the bridge -----------------------------------------------------------------------------------------

#: Training of the bridge models by default: full batch, Adam, cosine decay to 0 (what the measured
#: optimisation errors below hold for). (steps, lr) per model.
BRIDGE_BUDGET = {"affine": (500, 0.2), "linear-vae": (500, 0.2)}
BRIDGE_WORKFLOWS = ("replace", "accumulate", "accumulate-subsample")


def simulate_bridge(trials, rng, *, model="affine", d=1, n, sigma=1.0, workflow="replace", train_size=None,
                    rule="ancestral", steps=None, lr=None, warm_start=False, generations, checkpoint=None):
    """``trials`` seeds of a bridge model over ``generations`` generations (deep.families.GaussianBridgeFamily)."""
    settings = {k: v for k, v in locals().items() if k not in ("trials", "rng", "generations", "checkpoint")}
    device = _start()
    s, r = BRIDGE_BUDGET[model]
    budget = Budget(steps=steps or s, batch=0, lr=lr or r, decay=True)
    family = GaussianBridgeFamily(replicas=trials, model=model, d=d, n=n, sigma=sigma, rule=rule, budget=budget,
                                  warm_start=warm_start, device=device)
    wf = workflow_of(workflow, n, train_size=train_size)
    header = chain.header_of("bridge", settings, trials, generations, rng) if checkpoint else None
    return chain.run_chain(family, wf, generations, trials, rng, checkpoint=checkpoint, header=header)


def _bridge_memory(p: dict, G: int) -> float:
    m = p["n"] * (G if p["workflow"].startswith("accumulate") else 2)
    return 4.0 * p["d"] * m * 8 + 4.0 * p["d"] ** 2 * 64


def _bridge_work(p: dict, G: int) -> float:
    """Work per seed in random-draw units (2e7 a second): measured about 12 us of CPU per seed and
    full-batch step at d = 5, m = 20 (overhead-bound), growing with m d^2."""
    steps = p["steps"] or BRIDGE_BUDGET[p["model"]][0]
    m = p["n"] * ((G + 1) / 2 if p["workflow"] == "accumulate" else 1)
    return steps * G * (50 + 0.4 * m * p["d"] ** 2)


_SIGMA2 = Bind("sigma2", "sigma", to_claim=lambda s: s * s, to_setting=math.sqrt)
_MV = (_SIGMA2, Bind("d"), Bind("n"), Bind("workflow"))
_MLE = {"estimator": "mle"}
#: The measured optimisation error (tests/deep/test_bridge.py re-measures it), in the verify rows' note.
_OPT_NOTE = {
    "affine": "affine Gaussian x = mu + L z trained by full-batch Adam (500 steps, lr 0.2, cosine decay); "
              "optimisation error |Tr C - Tr S|/Tr S: mean 6e-8, max 8e-6 (d=5, n=20, 400 seeds, 4 generations), "
              "a bias below 1e-3 standard errors, so the test's alpha stands",
    "linear-vae": "linear VAE (latent d) trained on its closed-form ELBO by full-batch Adam (500 steps, lr 0.2, "
                  "cosine decay); optimisation error |Tr C - Tr S|/Tr S: mean 3e-5 at generation 1, up to 9e-4 at "
                  "generation 5 of replace (d=5, n=20, 400 seeds; the shrinking covariance is slower to fit), a bias "
                  "below 0.1 standard errors of the trace ratio at the seeds verify runs",
}


def _bridge_links(claim: str, binds, when: dict, settings: dict, generation: str = "t") -> tuple[Link, ...]:
    return tuple(Link(claim, generation, binds, when={**when, "model": model, "rule": "ancestral",
                                                      "train_size": None},
                      fixed=_MLE,
                      check=Check({**settings, "model": model}, generations=(1, 2, 5), share=0.02,
                                  note="deep bridge: " + _OPT_NOTE[model]))
                 for model in BRIDGE_BUDGET)


_MV_CHECK = {"d": 5, "n": 20, "sigma": 1.0}
_ONE_D = {"d": 1, "n": 20, "sigma": 1.0, "workflow": "replace"}

register(Simulator(
    name="bridge",
    target=f"{_MODULE}:simulate_bridge",
    doc="the bridge: an affine Gaussian or a linear VAE trained by the deep loop, whose optimum is the Gaussian "
        "MLE fit (held against the gaussian.* and mvgaussian.* claims)",
    settings={
        "model": Setting("choice", "affine", "x = mu + L z (exact likelihood), or a linear VAE (closed-form ELBO)",
                         tuple(BRIDGE_BUDGET)),
        "d": Setting("int", 1, "dimension", low=1),
        "n": Setting("int", doc="real points (and points per generation)", low=2),
        "sigma": Setting("float", 1.0, "standard deviation of the real data N(0, sigma^2 I)", low=0, open_low=True),
        "workflow": Setting("choice", "replace", "data workflow (theory.workflows)", BRIDGE_WORKFLOWS),
        "train_size": _SIZES["train_size"],
        "rule": Setting("choice", "ancestral", "ancestral: draw from the model; mean: the linear VAE's decoder means "
                        "(covariance W W^T, smaller by s^2 I)", ("ancestral", "mean")),
        "steps": Setting("int", None, "full-batch Adam steps per generation (default: 500)",
                         low=1),
        "lr": Setting("float", None, "learning rate, cosine-decayed to 0 (default: 0.2)", low=0,
                      open_low=True),
        "warm_start": Setting("bool", False, "start each generation from the last one's parameters"),
    },
    metrics={
        "mean_sq_error": Metric("||mu_t - mu_0||^2", "mean_sq_error", links=(
            *_bridge_links("mvgaussian.mean_sq_error", _MV, {"workflow": CLAIM_WORKFLOWS}, _MV_CHECK),
            *_bridge_links("gaussian.mean_sq_error", (Bind("sigma"), Bind("T", "n")), {"d": 1, "workflow": "replace"},
                           _ONE_D, "g")[:1],
        )),
        "trace_ratio": Metric("Tr Sigma_t / Tr Sigma_0", "trace", lambda v, p: v / (p["d"] * p["sigma"] ** 2), links=(
            *_bridge_links("mvgaussian.trace_ratio", _MV, {"workflow": CLAIM_WORKFLOWS}, _MV_CHECK),)),
        "sigma2": Metric("fitted variance (d = 1)", "trace", lambda v, p: v / p["d"], links=(
            *_bridge_links("gaussian.sigma2_mean", (Bind("sigma"), Bind("T", "n")), {"d": 1, "workflow": "replace"},
                           _ONE_D, "g")[:1],)),
        "opt_mean": Metric("optimisation error of the mean: ||mu_fit - mean||^2 in units of its sampling variance "
                           "sigma^2 d / m", "opt_mean"),
        "opt_trace": Metric("optimisation error of the covariance: |Tr C_fit - Tr S| / Tr S (S: the MLE covariance)",
                            "opt_trace"),
    },
    memory=_bridge_memory,
    work=_bridge_work,
    checkpoints=True,
), _MODULE)


try:  # the language models (deep.language), registered on import
    from .language import simulators as _language  # noqa: F401
except ImportError as e:  # pragma: no cover - only while the package is incomplete
    if e.name is None or not e.name.startswith("deep.language"):
        raise
