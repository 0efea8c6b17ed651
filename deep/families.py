"""Image models and the bridge models as model families of the generational driver.

:class:`ImageFamily`: a VAE or autoencoder (deep.models.images) retrained generation after generation on
real images (the digits, Fashion-MNIST, or samples of a frozen Gaussian-mixture teacher), the workflow
deciding what each generation trains on. Its recorded settings are the ones the anchors differ on: the
sampling rule, warm start or training from scratch, the training budget (fixed steps, or epochs over
whatever the workflow hands over). Generation 1 is the fit on the real training split; held-out real
test images are only ever measured on. Each generation measures (per replica, i.e. per seed):

* ``train_loss``: the loss on the model's own training set after training (negative ELBO in nats per
  image for a VAE, squared error per image for the AE), and ``train_floor``: the least loss any decoder
  could reach on that set's reconstruction term (for a Bernoulli decoder, the binary entropy of the
  training pixels: grey synthetic pixels raise it; 0 for the AE's squared error; NaN for a Gaussian
  decoder, whose likelihood is unbounded). ``train_excess = train_loss - train_floor`` is what the
  survey's "train loss rises under replace" should be read against;
* ``test_loss`` on held-out REAL images, and ``test_recon``: the squared error of their reconstructions
  (decoder mean at the encoder mean);
* ``latent_spread``: the spread of the latent means, under the GENERATION-1 encoder, of images sampled
  from this generation's model (Shumailov et al.'s metric; deep.metrics.latent_spread);
* from a classifier trained once on the real training split (deep.metrics.Classifier), applied to
  ``samples`` images of this generation: ``share_0 .. share_{C-1}`` (the class histogram),
  ``class_entropy`` (nats), ``min_share`` and ``rare_mass`` (the summed share of the 3 rarest classes):
  which digits disappear first;
* ``frechet``: the Frechet distance between real test images and the samples, in pixel space for 8x8
  digits and in the classifier's feature space for larger images;
* with the teacher as the truth: ``teacher_logp`` (the exact log-density of the samples under the
  truth, per image) and ``teacher_tail`` (the share of the samples' responsibility on the truth's 3
  components of least weight: do the tails vanish first?).

:class:`GaussianBridgeFamily`: the affine Gaussian or linear VAE (deep.models.gaussian) on N(0, sigma^2 I)
data, trained to convergence (full batch, Adam with a cosine-decayed learning rate) by the same trainer.
It records what the numpy ``gaussian`` simulator records (``mean_sq_error``, ``trace``, ``sigma``) and
the optimisation error of each fit against the closed-form maximum-likelihood fit of the same training
set (``opt_mean``: ||mu_fit - mean||^2 / (sigma^2 d / m); ``opt_trace``: |Tr C_fit - Tr S| / Tr S).
"""

from __future__ import annotations

import copy
import math

import numpy as np
import torch


from . import metrics as M
from .chain import TorchFamily, torch_generator
from .data import ImageData, load
from .models.gaussian import MODELS as BRIDGE_MODELS
from .models.gaussian import GaussianConfig
from .models.images import AEConfig, ConvVAE, ConvVAEConfig, MLPAutoencoder, MLPVAE, VAEConfig
from .replica import ReplicaModel, randn
from .train import Budget, evaluate, train

IMAGE_MODELS = ("vae", "conv-vae", "ae")
#: The default sampling rule of each model (first of its RULES).
DEFAULT_RULES = {"vae": "ancestral", "conv-vae": "ancestral", "ae": "gaussian-codes"}
RULES = {"vae": MLPVAE.RULES, "conv-vae": ConvVAE.RULES, "ae": MLPAutoencoder.RULES}
#: Classes whose summed share is ``rare_mass``; teacher components whose share is ``teacher_tail``.
RARE = 3
#: Samples of seed 0 kept per generation for the sample grids.
GRID = 12


def _np(x: torch.Tensor) -> np.ndarray:
    return x.detach().double().cpu().numpy()


class ImageFamily(TorchFamily):
    """A VAE or AE on images, R replicas (see the module docstring)."""

    def __init__(self, *, replicas: int, data: str = "digits", model: str = "vae", decoder: str = "bernoulli",
                 rule: str | None = None, latent: int = 8, hidden: int = 128, n: int | None = None,
                 budget: Budget = Budget(epochs=10), warm_start: bool = False, samples: int = 1000,
                 components: int = 10, teacher_weights: str = "fitted", zipf_s: float = 1.0, device=None):
        if model not in IMAGE_MODELS:
            raise ValueError(f"model must be one of {', '.join(IMAGE_MODELS)}, got {model!r}")
        self.rule = rule or DEFAULT_RULES[model]
        if self.rule not in RULES[model]:
            raise ValueError(f"rule must be one of {', '.join(RULES[model])} for model={model!r}, got {self.rule!r}")
        self.replicas, self.kind, self.decoder, self.budget = replicas, model, decoder, budget
        self.warm_start, self.samples = warm_start, samples
        self.device = torch.device(device or "cpu")
        self.teacher = None
        if data == "teacher":
            if model != "ae" and decoder != "gaussian":
                raise ValueError("data='teacher' samples unclipped Gaussian pixels (its density is exact for what it "
                                 "samples): use decoder='gaussian', or model='ae'")
            from .teacher import teacher_for

            real = load("digits")  # the classifier's data; the truth is the teacher fitted to all 1,797 digits
            self.teacher = teacher_for("digits", components=components, seed=0, weights=teacher_weights, zipf_s=zipf_s)
            self.n = 1500 if n is None else n
        else:
            real = load(data)
            self.n = real.train.shape[0] if n is None else n
            if self.n > real.train.shape[0]:
                raise ValueError(f"n must be at most {real.train.shape[0]} (the training images of {data}), got {self.n}")
        self.source: ImageData = real
        self.data_name = data
        self.shape = tuple(real.shape)
        pixels = math.prod(self.shape)
        if model == "conv-vae":
            self.config = ConvVAEConfig(event_shape=self.shape, latent=latent, decoder=decoder)
        elif model == "vae":
            self.config = VAEConfig(event_shape=self.shape, hidden=(hidden,), latent=latent, decoder=decoder)
        else:
            self.config = AEConfig(event_shape=self.shape, hidden=(hidden,), latent=latent)
        # Trained once per process; 30 epochs on the digits (about 1 s, 96% held-out accuracy), 5 on 60,000 images.
        self.classifier = M.classifier_for(real.name, real.train, real.train_labels, real.classes, seed=0,
                                           epochs=30 if len(real.train) < 10_000 else 5)
        self.pixel_space = pixels <= 64
        self._test = None  # the held-out real images the metrics use (fixed, or fresh teacher draws once)
        self.encoder1: ReplicaModel | None = None
        self._real_features = None
        self.grids: list[torch.Tensor] = []  # seed 0's first GRID samples at each generation (the sample grids)

    # -- the driver's interface ---------------------------------------------------------------------
    def new_model(self, generator: torch.Generator) -> ReplicaModel:
        cls = {"vae": MLPVAE, "conv-vae": ConvVAE, "ae": MLPAutoencoder}[self.kind]
        return cls(self.config, self.replicas, generator=generator, device=self.device)

    def real(self, trials: int, rng: np.random.Generator) -> torch.Tensor:
        if self.teacher is not None:  # fresh real data for each replica, and a held-out test set
            g = torch_generator(rng)
            x, _ = self.teacher.sample(trials, self.n, g)
            self._test = self.teacher.sample(1, 2000, g)[0][0].to(self.device)
            return x.to(self.device)
        self._test = self.source.test.to(self.device)
        return self.source.train[: self.n].to(self.device).unsqueeze(0).expand(trials, *self.source.train[: self.n].shape)

    def fit(self, train_set: torch.Tensor, rng: np.random.Generator, previous) -> ReplicaModel:
        g = torch_generator(rng)
        model = previous if (self.warm_start and previous is not None) else self.new_model(g)
        train(model, train_set, self.budget, g)
        model.train_loss = evaluate(model, train_set, g)
        if self.kind == "ae":
            model.train_floor = torch.zeros(self.replicas, dtype=torch.float64)
        elif self.decoder == "bernoulli":
            model.train_floor = M.bernoulli_floor(train_set).to(torch.float64).cpu()
        else:
            model.train_floor = torch.full((self.replicas,), math.nan, dtype=torch.float64)
        return model

    def sample(self, model: ReplicaModel, size: int, rng: np.random.Generator) -> torch.Tensor:
        return model.sample(size, self.rule, torch_generator(rng))

    @torch.no_grad()
    def measure(self, model: ReplicaModel, rng: np.random.Generator) -> dict[str, np.ndarray]:
        g = torch_generator(rng)
        if self.encoder1 is None:  # generation 1: keep its encoder (a copy: a warm start trains the model on)
            self.encoder1 = copy.deepcopy(model)
        out = {"train_loss": _np(model.train_loss), "train_floor": _np(model.train_floor)}
        out["train_excess"] = out["train_loss"] - out["train_floor"]
        out["test_loss"] = _np(evaluate(model, self._test, g))
        test = self._test.unsqueeze(0).expand(self.replicas, *self._test.shape)
        recon = model.decode(model.encode_mean(test))
        if self.kind != "ae":
            recon = model.decoder_mean(recon)
        out["test_recon"] = _np((recon - test).pow(2).flatten(2).sum(-1).mean(1))
        x = model.sample(self.samples, self.rule, g)
        self.grids.append(x[0, :GRID].cpu().clone())
        out["latent_spread"] = _np(M.latent_spread(self.encoder1.encode_mean(x)))
        shares = M.class_shares(self.classifier.predict(x), self.source.classes)
        for c in range(self.source.classes):
            out[f"share_{c}"] = _np(shares[:, c])
        out["class_entropy"] = _np(M.entropy(shares))
        out["min_share"] = _np(M.min_share(shares))
        out["rare_mass"] = _np(M.rare_mass(shares, RARE))
        out["frechet"] = _np(M.frechet(*self._features(x)))
        if self.teacher is not None:
            out["teacher_logp"] = _np(self.teacher.log_prob(x).mean(1))
            out["teacher_tail"] = _np(self.teacher.tail_mass(x, RARE))
        return out

    def _features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(real test features (N, F), sample features (R, M, F)): pixels for 8x8, else the classifier's."""
        if self.pixel_space:
            return self._test.flatten(1), x.flatten(2)
        if self._real_features is None:
            self._real_features = self.classifier.features(self._test.unsqueeze(0))[0]
        return self._real_features, self.classifier.features(x)

    # -- what a checkpoint keeps besides the model and the pool ---------------------------------------
    def state(self) -> dict:
        return {"encoder1": self.save_model(self.encoder1), "test": None if self._test is None else self._test.cpu(),
                "grids": list(self.grids)}

    def restore(self, state: dict) -> None:
        self.encoder1 = self.load_model(state["encoder1"])
        self._test = None if state["test"] is None else state["test"].to(self.device)
        self.grids = list(state["grids"])

    def save_model(self, model):
        if model is None:
            return None
        out = {"params": super().save_model(model)}
        if hasattr(model, "train_loss"):
            out["train_loss"], out["train_floor"] = model.train_loss.cpu(), model.train_floor.cpu()
        return out

    def load_model(self, state):
        if state is None:
            return None
        model = super().load_model(state["params"])
        if "train_loss" in state:
            model.train_loss, model.train_floor = state["train_loss"], state["train_floor"]
        return model


class GaussianBridgeFamily(TorchFamily):
    """The affine Gaussian or the linear VAE on N(0, sigma^2 I_d) data (see the module docstring)."""

    def __init__(self, *, replicas: int, model: str = "affine", d: int = 1, n: int = 20, sigma: float = 1.0,
                 rule: str = "ancestral", budget: Budget | None = None, warm_start: bool = False, device=None):
        if model not in BRIDGE_MODELS:
            raise ValueError(f"model must be one of {', '.join(BRIDGE_MODELS)}, got {model!r}")
        self.cls = BRIDGE_MODELS[model]
        if rule not in self.cls.RULES:
            raise ValueError(f"rule must be one of {', '.join(self.cls.RULES)} for model={model!r}, got {rule!r}")
        self.replicas, self.d, self.n, self.sigma, self.rule = replicas, d, n, sigma, rule
        self.budget = budget or Budget(steps=500, batch=0, lr=0.2, decay=True)
        self.warm_start = warm_start
        self.config = GaussianConfig(d)
        self.device = torch.device(device or "cpu")

    def new_model(self, generator: torch.Generator) -> ReplicaModel:
        return self.cls(self.config, self.replicas, generator=generator, device=self.device)

    def real(self, trials: int, rng: np.random.Generator) -> torch.Tensor:
        return self.sigma * randn((trials, self.n, self.d), torch_generator(rng), self.device)

    def fit(self, train_set: torch.Tensor, rng: np.random.Generator, previous) -> ReplicaModel:
        g = torch_generator(rng)
        model = previous if (self.warm_start and previous is not None) else self.new_model(g)
        train(model, train_set, self.budget, g)
        # The closed-form maximum-likelihood fit of the same training set, to measure the optimisation error.
        x = train_set.double()
        m = x.shape[1]
        mean = x.mean(1)
        centred = x - mean.unsqueeze(1)
        S = centred.transpose(1, 2) @ centred / m
        mu, C = model.fitted()
        model.opt_mean = ((mu.double() - mean) ** 2).sum(-1) / (self.sigma**2 * self.d / m)
        trS = S.diagonal(dim1=1, dim2=2).sum(-1)
        model.opt_trace = (C.double().diagonal(dim1=1, dim2=2).sum(-1) - trS).abs() / trS
        return model

    def sample(self, model: ReplicaModel, size: int, rng: np.random.Generator) -> torch.Tensor:
        return model.sample(size, self.rule, torch_generator(rng))

    def measure(self, model: ReplicaModel, rng: np.random.Generator) -> dict[str, np.ndarray]:
        mu, C = model.fitted()
        trace = C.double().diagonal(dim1=1, dim2=2).sum(-1)
        return {"mean_sq_error": _np((mu.double() ** 2).sum(-1)), "trace": _np(trace),
                "sigma": _np((trace / self.d).sqrt()), "opt_mean": _np(model.opt_mean), "opt_trace": _np(model.opt_trace)}

    def save_model(self, model):
        if model is None:
            return None
        return {"params": super().save_model(model), "opt_mean": model.opt_mean.cpu(), "opt_trace": model.opt_trace.cpu()}

    def load_model(self, state):
        if state is None:
            return None
        model = super().load_model(state["params"])
        model.opt_mean, model.opt_trace = state["opt_mean"], state["opt_trace"]
        return model
