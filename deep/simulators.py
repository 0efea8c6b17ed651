"""The deep layer's simulators, declared in the one catalog (numerics.catalog) beside the numpy ones.

* ``images``: a VAE, a convolutional VAE or an autoencoder retrained generation after generation on
  the digits, Fashion-MNIST or a Gaussian-mixture teacher, under every workflow (deep.families.ImageFamily);
* ``bridge``: the affine Gaussian and the linear VAE trained by the same deep loop, whose metrics
  measure the quantities of the ``gaussian.*`` and ``mvgaussian.*`` maximum-likelihood claims, so that
  `collapse verify` holds them against theory in the same table as the numpy simulators.

The language models are deep.language.simulators. Settings are declared once, in deep.settings
(``ImageSettings``, ``BridgeSettings``).

Trials are seeds: a block of trials is one batched model with a replica axis (a block holds up to 64
seeds for the image models, every seed for the cheap bridge models). Each torch random step is seeded
from the block's numpy generator (deep.chain), and every run saves a checkpoint after each generation
when the sweep gives it a path, so a killed sweep resumes to identical numbers on the CPU.

Declaring these simulators needs no torch: their settings are deep.settings, and the modules that train
(deep.families, deep.models) are imported by the functions that run them. So a process that only finds the
claims' checks (`collapse verify`'s own, before its workers run the cells) does not import torch (seconds);
without torch installed the simulators are not offered (numerics.catalog says why). numerics.catalog loads
this module (a ``collapse.simulators`` entry point) only when a simulator is looked up, and `collapse list`
never does.
"""

from __future__ import annotations

import importlib.util
import math
import os
from typing import TYPE_CHECKING

import numpy as np

from numerics import driver
from numerics.catalog import BLOCK_MEMORY, Bind, Metric, Produces, Simulator, register
from numerics.checkpoint import header_of
from numerics.workflows import stored_all, workflow_from
from theory.workflows import CLAIM_WORKFLOWS

from .settings import BRIDGE_BUDGET, BRIDGE_WORKFLOWS, RARE, BridgeSettings, ImageSettings

if TYPE_CHECKING:
    import torch

    from .families import ImageFamily

if importlib.util.find_spec("torch") is None:  # running them needs it: without torch they are not offered
    raise ModuleNotFoundError("No module named 'torch'", name="torch")


def start() -> torch.device:
    """One intra-op thread per process (measured 3-14x faster than two on a loaded 2-core machine); the
    GPU when there is one (never required)."""
    from .replica import default_device, setup_threads

    setup_threads(1)
    return default_device()


def run_chain(name: str, family, config, trials: int, rng: np.random.Generator, generations: int,
              checkpoint: str | None, n_real: int) -> driver.Chain:
    """A deep family through numerics.driver, checkpointed after every generation when given a path."""
    header = header_of(name, config.as_dict(), trials, generations, rng) if checkpoint is not None else None
    return driver.run_chain(family, workflow_from(config, n_real), generations, trials, rng, checkpoint=checkpoint,
                            header=header)


# -- images ------------------------------------------------------------------------------------------


def run_images(trials: int, rng: np.random.Generator, config: ImageSettings, generations: int, *, checkpoint=None,
               artifacts=None) -> dict[str, np.ndarray]:
    """``trials`` seeds of an image model over ``generations`` generations (deep.families.ImageFamily); with
    ``artifacts`` (a folder), its sample grid and class histograms are drawn there."""
    from .families import ImageFamily

    family = ImageFamily(config, trials, start())
    chain = run_chain("images", family, config, trials, rng, generations, checkpoint, family.n)
    out = chain.outputs()
    if artifacts:
        _image_figures(artifacts, family, out, chain.state["grids"], config)
    return out


def simulate_images(trials: int, rng: np.random.Generator, *, generations: int, checkpoint=None, artifacts=None,
                    **settings) -> dict[str, np.ndarray]:
    """:func:`run_images` with ``settings`` (deep.settings.ImageSettings) checked here."""
    return run_images(trials, rng, ImageSettings.build(settings), generations, checkpoint=checkpoint,
                      artifacts=artifacts)


def _image_figures(folder: str, family: ImageFamily, out: dict, grids: list, config: ImageSettings) -> None:
    from . import figures

    what = f"{config.model} on {config.data}, {config.workflow}, rule {family.rule}"
    figures.sample_grid([g.numpy() for g in grids], os.path.join(folder, "samples.png"),
                        f"Samples per generation (seed 0): {what}")
    shares = np.stack([out[f"share_{c}"] for c in range(family.source.classes)], axis=-1)
    figures.class_histograms(shares, os.path.join(folder, "classes.png"), f"Class shares of samples: {what}")


def _image_memory(c: ImageSettings, G: int) -> float:
    """Bytes per seed: what makes a block hold at most 64 seeds (one batched model), or more where the model
    needs more: its weights with their gradients and Adam's two moments (16 bytes each), and one minibatch's
    activations, kept for the backward pass (8 bytes per unit and image; a minibatch is at most the
    training set). So a block of a very wide model holds fewer seeds, and one that no machine holds is
    refused before it starts (numerics.execute.check_resources)."""
    pixels = 64 if c.data != "fashion-mnist" else 784
    weights = 2 * pixels * c.hidden + 3 * c.hidden * c.latent
    n = max(c.n or (60_000 if c.data == "fashion-mnist" else 1500), c.synthetic or 0)
    batch = min(c.batch, n * (G if c.workflow.startswith("accumulate") else 1))
    units = 2 * pixels + 2 * c.hidden + 3 * c.latent
    return max(BLOCK_MEMORY / 64, 16.0 * weights + 8.0 * batch * units + 8.0 * c.samples * units)


def _image_work(c: ImageSettings, G: int) -> float:
    """Seconds per seed on one core: 6 flops per weight and image (forward and backward), at about 1e10 flop/s
    per core. Measured CPU seconds / this estimate, first generation of the first cell, one torch thread
    (python benchmarks/bench_estimates.py --smoke, 2 cores under load 7): deep-digits 0.90, deep-survey-fig9
    1.11, deep-latent-spread 0.85, deep-teacher 1.21 (at the 5e9 flop/s the digits benchmark measured at 16
    seeds in benchmarks/bench_deep.py they were 0.40-0.57). At load 4: 0.89, 0.68, 0.61, 0.99; the constant
    (2.1e-8 s per 250 flops) sits between the two loads."""
    pixels = 64 if c.data != "fashion-mnist" else 784
    conv = 20 if c.model == "conv-vae" else 1  # the conv VAE's convolutions: about 20x the MLP's flops
    weights = (2 * pixels * c.hidden + 2 * c.hidden * c.latent) * conv
    n = c.n or (60_000 if c.data == "fashion-mnist" else 1500)
    images = c.epochs * n if c.budget == "epochs" else c.steps * c.batch
    grows = (G + 1) / 2 if c.budget == "epochs" and c.workflow == "accumulate" else 1
    return 6.0 * weights * images * G * grows / 250 * 2.1e-8


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
    target=f"{__name__}:run_images",
    doc="VAEs and autoencoders on images, retrained on their own samples (the survey's Figs 9-11; Shumailov et al.)",
    schema=ImageSettings,
    metrics=_IMAGE_METRICS,
    memory=_image_memory,
    work=_image_work,
    checkpoints=True,
    artifacts=True,
))


# -- the bridge -----------------------------------------------------------------------------------------


def run_bridge(trials: int, rng: np.random.Generator, config: BridgeSettings, generations: int, *,
               checkpoint=None) -> dict[str, np.ndarray]:
    """``trials`` seeds of a bridge model over ``generations`` generations (deep.families.GaussianBridgeFamily)."""
    from .families import GaussianBridgeFamily

    family = GaussianBridgeFamily(config, trials, start())
    return run_chain("bridge", family, config, trials, rng, generations, checkpoint, config.n).outputs()


def simulate_bridge(trials: int, rng: np.random.Generator, *, generations: int, checkpoint=None,
                    **settings) -> dict[str, np.ndarray]:
    """:func:`run_bridge` with ``settings`` (deep.settings.BridgeSettings) checked here."""
    return run_bridge(trials, rng, BridgeSettings.build(settings), generations, checkpoint=checkpoint)


def _bridge_memory(c: BridgeSettings, G: int) -> float:
    m = c.n * (G if stored_all(c.workflow) else 2)
    return 4.0 * c.d * m * 8 + 4.0 * c.d ** 2 * 64


def _bridge_work(c: BridgeSettings, G: int) -> float:
    """Seconds per seed: 3-8 us of CPU per seed and full-batch step (overhead-bound), growing slowly with d,
    and the same at every training-set size m (a step works on the batch's moments, computed once per fit),
    plus what is linear in the points (drawing them, their moments, the closed-form fit): 3e-8 s per point and
    dimension. Measured, 200 seeds x 5 generations after a warm-up run (the catalog's bridge called directly, one torch
    thread, 2 cores under load 2.7-3.4): affine 3.1 us at d = 1, 4.1-4.6 at d = 5 (replace, accumulate), 7.5 at
    d = 20; linear VAE 6.5-8.1 us at d = 5, 17 at d = 20; n = 20,000 (d = 5, 2 generations) added 1.1-1.4 s to
    200 seeds; a second run 10-25% slower. Verify's 7 bridge cells (two runs, load 3.1-3.6): affine 0.8-1.2 s
    each after the first, linear VAE 2.5-3.5 s (this formula: 0.8-1.0 s and 2.9 s)."""
    steps = c.steps or BRIDGE_BUDGET[c.model][0]
    m = c.n * ((G + 1) / 2 if c.workflow == "accumulate" else 1)
    per_step = 2.9 + 0.23 * c.d if c.model == "affine" else 4.1 + 0.65 * c.d  # us per seed and step
    return G * (steps * per_step * 1e-6 + 3e-8 * m * c.d)


#: The measured optimisation error (tests/deep/test_bridge.py re-measures it), in the verify rows' note. The bias is
#: bounded by the mean over seeds of |Tr C - Tr S|/Tr S times the trace ratio, in standard errors of the trace ratio
#: at verify's 200 seeds (its largest over generations and workflows; seeds 0 and 1 of the 400-seed runs).
_OPT_NOTE = {
    "affine": "affine Gaussian x = mu + L z trained by full-batch Adam (250 steps, lr 0.3, cosine decay); "
              "optimisation error |Tr C - Tr S|/Tr S: mean 4e-7 to 2e-6 by generation, max 4e-4 (d=5, n=20, 400 "
              "seeds, 4 generations), a bias below 1e-4 standard errors, so the test's alpha stands",
    "linear-vae": "linear VAE (latent d) trained on its closed-form ELBO by full-batch Adam (400 steps, lr 0.15, "
                  "cosine decay); optimisation error |Tr C - Tr S|/Tr S: mean 1e-4 at generation 1, up to 9e-4 at "
                  "generation 5 of replace (d=5, n=20, 400 seeds; the shrinking covariance is slower to fit), a bias "
                  "below 0.05 standard errors of the trace ratio at the seeds verify runs",
}


_MV = (Bind("sigma2", "sigma", to_coordinate=lambda s: s * s, to_setting=math.sqrt), Bind("d"), Bind("n"),
       Bind("workflow"), Bind("estimator", const="mle"))
_1D = (Bind("sigma"), Bind("T", "n"), Bind("estimator", const="mle"))


def _bridge(model: str) -> tuple[Produces, ...]:
    """What one bridge model measures: the mvgaussian claims' quantities (and, for the affine model, the 1-D
    chain's), at its trained fits, which are the maximum-likelihood ones up to the optimisation error."""
    when = {"model": model, "rule": "ancestral", "train_size": None}
    # 200 seeds at verify's 20,000 trials (400 took a minute of 2 cores); each row's detectable error is printed by
    # collapse verify --explain.
    kw = dict(share=0.01, max_generation=5, label=model, note="deep bridge: " + _OPT_NOTE[model])
    mv = {**when, "workflow": tuple(w for w in CLAIM_WORKFLOWS if w in BRIDGE_WORKFLOWS)}
    one_d = {**when, "d": 1, "workflow": "replace"}
    out = [Produces("mvgaussian.mean_sq_error", "mean_sq_error", _MV, when=mv, **kw),
           Produces("mvgaussian.trace_ratio", "trace_ratio", _MV, when=mv, **kw)]
    if model == "affine":
        out += [Produces("gaussian.mean_sq_error", "mean_sq_error", _1D, when=one_d, **kw),
                Produces("gaussian.sigma2", "sigma2", _1D, when=one_d, **kw)]
    return tuple(out)


register(Simulator(
    name="bridge",
    target=f"{__name__}:run_bridge",
    doc="the bridge: an affine Gaussian or a linear VAE trained by the deep loop, whose optimum is the Gaussian "
        "MLE fit (measures the gaussian.* and mvgaussian.* quantities)",
    schema=BridgeSettings,
    metrics={
        "mean_sq_error": Metric("||mu_t - mu_0||^2", "mean_sq_error"),
        "trace_ratio": Metric("Tr Sigma_t / Tr Sigma_0", "trace", lambda v, c: v / (c.d * c.sigma ** 2)),
        "sigma2": Metric("fitted variance (d = 1)", "trace", lambda v, c: v / c.d),
        "opt_mean": Metric("optimisation error of the mean: ||mu_fit - mean||^2 in units of its sampling variance "
                           "sigma^2 d / m", "opt_mean"),
        "opt_trace": Metric("optimisation error of the covariance: |Tr C_fit - Tr S| / Tr S (S: the MLE covariance)",
                            "opt_trace"),
    },
    produces=_bridge("affine") + _bridge("linear-vae"),
    memory=_bridge_memory,
    work=_bridge_work,
    checkpoints=True,
))
