"""The deep simulators' settings (``images``, ``bridge``) and the names they check, without torch.

The catalog declares the simulators (deep.simulators) by importing their settings; keeping them here lets a
process find the claims' checks without importing torch (seconds), which only the processes that train a
model import. deep.families builds the models from them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from numerics.schema import SettingError, Settings, schema, setting
from numerics.workflows import real_fraction_setting, synthetic_setting, train_size_setting, workflow_from, workflow_setting

if TYPE_CHECKING:
    from .train import Budget

#: Training of the bridge models by default: full batch, Adam, cosine decay to 0 (what the measured
#: optimisation errors of deep.simulators hold for). (steps, lr) per model: the fewest steps whose measured
#: error stays below the rows' bounds (the linear VAE's shrinking covariance under replace is the slow fit).
BRIDGE_BUDGET = {"affine": (250, 0.3), "linear-vae": (400, 0.15)}
BRIDGE_WORKFLOWS = ("replace", "accumulate", "accumulate-subsample")
#: The sampling rules of each bridge model (its class's RULES, deep.models.gaussian).
BRIDGE_RULES = {"affine": ("ancestral",), "linear-vae": ("ancestral", "mean")}

IMAGE_MODELS = ("vae", "conv-vae", "ae")
#: The default sampling rule of each model (first of its RULES).
DEFAULT_RULES = {"vae": "ancestral", "conv-vae": "ancestral", "ae": "gaussian-codes"}
#: The sampling rules of each image model (its class's RULES, deep.models.images).
RULES = {"vae": ("ancestral", "mean"), "conv-vae": ("ancestral", "mean"), "ae": ("gaussian-codes", "perturbed-codes")}
ALL_RULES = tuple(dict.fromkeys(r for rules in RULES.values() for r in rules))
#: Classes whose summed share is ``rare_mass``; teacher components whose share is ``teacher_tail``.
RARE = 3
#: Samples of seed 0 kept per generation for the sample grids.
GRID = 12


@schema
class ImageSettings(Settings):
    """The image models' settings (the ``images`` simulator)."""

    data: str = setting("digits", "real images: scikit-learn's 8x8 digits, Fashion-MNIST (Debian's "
                        "dataset-fashion-mnist), or samples of a Gaussian-mixture teacher fitted to the digits",
                        options=("digits", "fashion-mnist", "teacher"))
    model: str = setting("vae", "MLP VAE, convolutional VAE (28x28) or MLP autoencoder", options=IMAGE_MODELS)
    decoder: str = setting("bernoulli", "VAE likelihood of a pixel", options=("bernoulli", "gaussian"))
    rule: str | None = setting(None, "how synthetic images are drawn: ancestral (latent, then pixels), mean (decoder "
                               "means, Shumailov et al.), gaussian-codes or perturbed-codes (AE); default: "
                               + ", ".join(f"{k} {v}" for k, v in DEFAULT_RULES.items()), options=ALL_RULES)
    latent: int = setting(8, "latent dimension", low=1)
    hidden: int = setting(128, "hidden width of the MLP encoder and decoder", low=1)
    n: int | None = setting(None, "real training images (default: the whole training split; 1500 for the teacher)",
                            low=2)
    workflow: str = workflow_setting(default="replace")
    real_fraction: float | None = real_fraction_setting("images", "; Shumailov et al. keep 10%")
    train_size: int | None = train_size_setting()
    synthetic: int | None = synthetic_setting("images")
    budget: str = setting("epochs", "training per generation: epochs over the training set the workflow hands over, "
                          "or a fixed number of steps", options=("epochs", "steps"))
    epochs: float = setting(10.0, "epochs per generation (budget = epochs; the survey trains 10)", low=0, open_low=True,
                           probe=1e-9)
    steps: int = setting(200, "optimiser steps per generation (budget = steps)", low=1, probe=1)
    batch: int = setting(64, "minibatch size per seed", low=1)
    lr: float = setting(1e-3, "Adam's learning rate", low=0, open_low=True)
    weight_decay: float = setting(0.0, "decoupled weight decay of the weight matrices (AdamW; 0: plain Adam)", low=0)
    warm_start: bool = setting(False, "each generation starts from the last one's weights (else from scratch)")
    samples: int = setting(1000, "images sampled per generation and seed for the metrics", low=2)
    components: int = setting(10, "teacher: mixture components", low=1)
    teacher_weights: str = setting("fitted", "teacher: the fitted component weights, or Zipf-like ones",
                                   options=("fitted", "zipf"))
    zipf_s: float = setting(1.0, "teacher: Zipf exponent of the weights", low=0, open_low=True)

    def validate(self) -> None:
        if self.rule is not None and self.rule not in RULES[self.model]:
            raise SettingError(f"rule must be one of {', '.join(RULES[self.model])} for model={self.model!r}, got "
                               f"{self.rule!r}", "rule")
        if self.data == "teacher" and self.model != "ae" and self.decoder != "gaussian":
            raise SettingError("data='teacher' samples unclipped Gaussian pixels (its density is exact for what it "
                               "samples): use decoder='gaussian', or model='ae'", "decoder")

    @property
    def sampling_rule(self) -> str:
        return self.rule or DEFAULT_RULES[self.model]

    def training(self) -> Budget:
        from .train import Budget

        kw = dict(batch=self.batch, lr=self.lr, weight_decay=self.weight_decay)
        return Budget(epochs=self.epochs, **kw) if self.budget == "epochs" else Budget(steps=self.steps, **kw)


@schema
class BridgeSettings(Settings):
    """The Gaussian bridge's settings (the ``bridge`` simulator)."""

    model: str = setting("affine", "x = mu + L z (exact likelihood), or a linear VAE (closed-form ELBO)",
                         options=tuple(BRIDGE_BUDGET))
    d: int = setting(1, "dimension", low=1)
    n: int = setting(doc="real points (and points per generation)", low=2)
    sigma: float = setting(1.0, "standard deviation of the real data N(0, sigma^2 I)", low=0, open_low=True)
    workflow: str = workflow_setting(BRIDGE_WORKFLOWS, default="replace")
    train_size: int | None = train_size_setting()
    rule: str = setting("ancestral", "ancestral: draw from the model; mean: the linear VAE's decoder means (covariance "
                        "W W^T, smaller by s^2 I)", options=("ancestral", "mean"))
    steps: int | None = setting(None, "full-batch Adam steps per generation (default: "
                                + ", ".join(f"{s} {m}" for m, (s, _) in BRIDGE_BUDGET.items()) + ")", low=1, probe=1)
    lr: float | None = setting(None, "learning rate, cosine-decayed to 0 (default: "
                               + ", ".join(f"{lr:g} {m}" for m, (_, lr) in BRIDGE_BUDGET.items()) + ")", low=0,
                               open_low=True)
    warm_start: bool = setting(False, "start each generation from the last one's parameters")

    def validate(self) -> None:
        if self.rule not in BRIDGE_RULES[self.model]:
            raise SettingError(f"rule must be one of {', '.join(BRIDGE_RULES[self.model])} for "
                               f"model={self.model!r}, got {self.rule!r}", "rule")
        workflow_from(self, self.n)

    def training(self) -> Budget:
        from .train import Budget

        steps, lr = BRIDGE_BUDGET[self.model]
        return Budget(steps=self.steps or steps, batch=0, lr=self.lr or lr, decay=True, fused=True)
