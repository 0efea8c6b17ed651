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
set (``opt_mean``: ||mu_fit - mean||^2 / (sigma^2 d / m); ``opt_trace``: ``|Tr C_fit - Tr S| / Tr S``).
"""

from __future__ import annotations

import copy
import math

import numpy as np
import torch

from numerics.schema import SettingError
from numerics.workflows import sample_rows

from . import metrics as M
from .chain import TorchFamily, as_numpy, torch_generator
from .data import ImageData, load
from .models.gaussian import MODELS as BRIDGE_MODELS
from .models.gaussian import GaussianConfig
from .models.images import AEConfig, ConvVAE, ConvVAEConfig, MLPAutoencoder, MLPVAE, VAEConfig
from .replica import ReplicaModel, randn
from .settings import GRID, RARE, BridgeSettings, ImageSettings
from .train import evaluate, train


class ImageFamily(TorchFamily):
    """A VAE or AE on images, R replicas (see the module docstring)."""

    def __init__(self, config: ImageSettings, replicas: int, device=None):
        c = config
        self.config, self.replicas, self.kind, self.rule = c, replicas, c.model, c.sampling_rule
        self.budget = c.training()
        self.device = torch.device(device or "cpu")
        self.teacher = None
        if c.data == "teacher":
            from .teacher import teacher_for

            real = load("digits")  # the classifier's data; the truth is the teacher fitted to all 1,797 digits
            self.teacher = teacher_for("digits", components=c.components, seed=0, weights=c.teacher_weights,
                                       zipf_s=c.zipf_s)
            self.n = 1500 if c.n is None else c.n
        else:
            real = load(c.data)
            self.n = real.train.shape[0] if c.n is None else c.n
            if self.n > real.train.shape[0]:
                raise SettingError(f"n must be at most {real.train.shape[0]} (the training images of {c.data}), got "
                                   f"{self.n}", "n")
        self.source: ImageData = real
        self.shape = tuple(real.shape)
        pixels = math.prod(self.shape)
        if c.model == "conv-vae":
            self.model_config = ConvVAEConfig(event_shape=self.shape, latent=c.latent, decoder=c.decoder)
        elif c.model == "vae":
            self.model_config = VAEConfig(event_shape=self.shape, hidden=(c.hidden,), latent=c.latent, decoder=c.decoder)
        else:
            self.model_config = AEConfig(event_shape=self.shape, hidden=(c.hidden,), latent=c.latent)
        # Trained once per process; 30 epochs on the digits (about 1 s, 96% held-out accuracy), 5 on 60,000 images.
        self.classifier = M.classifier_for(real.name, real.train, real.train_labels, real.classes, seed=0,
                                           epochs=30 if len(real.train) < 10_000 else 5)
        self.pixel_space = pixels <= 64

    # -- the driver's interface ---------------------------------------------------------------------
    def new_model(self, generator: torch.Generator) -> ReplicaModel:
        cls = {"vae": MLPVAE, "conv-vae": ConvVAE, "ae": MLPAutoencoder}[self.kind]
        return cls(self.model_config, self.replicas, generator=generator, device=self.device)

    def real(self, chain, rng: np.random.Generator) -> torch.Tensor:
        if self.teacher is not None:  # fresh real data for each replica, and a held-out test set
            g = torch_generator(rng)
            x, _ = self.teacher.sample(chain.trials, self.n, g)
            chain.state["test"] = self.teacher.sample(1, 2000, g)[0][0].to(self.device)
            return x.to(self.device)
        chain.state["test"] = self.source.test.to(self.device)
        train = self.source.train[: self.n]
        return train.to(self.device).unsqueeze(0).expand(chain.trials, *train.shape)

    def fresh(self, chain, rng: np.random.Generator) -> torch.Tensor:
        """New real images for a workflow that takes them each generation: the teacher's samples, or (a data set
        is finite) n images of its training split drawn without replacement for each replica."""
        if self.teacher is not None:
            return self.teacher.sample(chain.trials, self.n, torch_generator(rng))[0].to(self.device)
        rows = sample_rows(rng, chain.trials, self.source.train.shape[0], self.n, replace=False)
        return self.source.train[torch.as_tensor(rows)].to(self.device)

    def fit(self, train_set: torch.Tensor, chain, rng: np.random.Generator) -> ReplicaModel:
        g = torch_generator(rng)
        previous = chain.model
        model = copy.deepcopy(previous) if (self.config.warm_start and previous is not None) else self.new_model(g)
        train(model, train_set, self.budget, g)
        fit = {"train_loss": evaluate(model, train_set, g)}
        if self.kind == "ae":
            fit["train_floor"] = torch.zeros(self.replicas, dtype=torch.float64)
        elif self.config.decoder == "bernoulli":
            fit["train_floor"] = M.bernoulli_floor(train_set).to(torch.float64).cpu()
        else:
            fit["train_floor"] = torch.full((self.replicas,), math.nan, dtype=torch.float64)
        chain.state["fit"] = fit
        return model

    def sample(self, model: ReplicaModel, size: int, chain, rng: np.random.Generator) -> torch.Tensor:
        return model.sample(size, self.rule, torch_generator(rng))

    @torch.no_grad()
    def measure(self, model: ReplicaModel, chain, rng: np.random.Generator, samples=None) -> dict[str, np.ndarray]:
        g = torch_generator(rng)
        state = chain.state
        if "encoder1" not in state:  # generation 1: keep its encoder (a copy: a warm start trains the model on)
            state["encoder1"] = copy.deepcopy(model)
        test = state["test"]
        out = {"train_loss": as_numpy(state["fit"]["train_loss"]), "train_floor": as_numpy(state["fit"]["train_floor"])}
        out["train_excess"] = out["train_loss"] - out["train_floor"]
        out["test_loss"] = as_numpy(evaluate(model, test, g))
        tests = test.unsqueeze(0).expand(self.replicas, *test.shape)
        recon = model.decode(model.encode_mean(tests))
        if self.kind != "ae":
            recon = model.decoder_mean(recon)
        out["test_recon"] = as_numpy((recon - tests).pow(2).flatten(2).sum(-1).mean(1))
        x = model.sample(self.config.samples, self.rule, g)
        state.setdefault("grids", []).append(x[0, :GRID].cpu().clone())
        out["latent_spread"] = as_numpy(M.latent_spread(state["encoder1"].encode_mean(x)))
        shares = M.class_shares(self.classifier.predict(x), self.source.classes)
        for c in range(self.source.classes):
            out[f"share_{c}"] = as_numpy(shares[:, c])
        out["class_entropy"] = as_numpy(M.entropy(shares))
        out["min_share"] = as_numpy(M.min_share(shares))
        out["rare_mass"] = as_numpy(M.rare_mass(shares, RARE))
        out["frechet"] = as_numpy(M.frechet(*self._features(x, state)))
        if self.teacher is not None:
            out["teacher_logp"] = as_numpy(self.teacher.log_prob(x).mean(1))
            out["teacher_tail"] = as_numpy(self.teacher.tail_mass(x, RARE))
        return out

    def _features(self, x: torch.Tensor, state: dict) -> tuple[torch.Tensor, torch.Tensor]:
        """(real test features (N, F), sample features (R, M, F)): pixels for 8x8, else the classifier's."""
        test = state["test"]
        if self.pixel_space:
            return test.flatten(1), x.flatten(2)
        if "real_features" not in state:
            state["real_features"] = self.classifier.features(test.unsqueeze(0))[0]
        return state["real_features"], self.classifier.features(x)


class GaussianBridgeFamily(TorchFamily):
    """The affine Gaussian or the linear VAE on N(0, sigma^2 I_d) data (see the module docstring)."""

    def __init__(self, config: BridgeSettings, replicas: int, device=None):
        self.config, self.replicas = config, replicas
        self.cls = BRIDGE_MODELS[config.model]
        self.budget = config.training()
        self.model_config = GaussianConfig(config.d)
        self.device = torch.device(device or "cpu")

    def new_model(self, generator: torch.Generator) -> ReplicaModel:
        return self.cls(self.model_config, self.replicas, generator=generator, device=self.device)

    def real(self, chain, rng: np.random.Generator) -> torch.Tensor:
        c = self.config
        return c.sigma * randn((chain.trials, c.n, c.d), torch_generator(rng), self.device)

    def fit(self, train_set: torch.Tensor, chain, rng: np.random.Generator) -> ReplicaModel:
        g = torch_generator(rng)
        previous = chain.model
        model = copy.deepcopy(previous) if (self.config.warm_start and previous is not None) else self.new_model(g)
        train(model, train_set, self.budget, g)
        # The closed-form maximum-likelihood fit of the same training set, to measure the optimisation error.
        x = train_set.double()
        m = x.shape[1]
        mean = x.mean(1)
        centred = x - mean.unsqueeze(1)
        S = centred.transpose(1, 2) @ centred / m
        mu, C = model.fitted()
        trS = S.diagonal(dim1=1, dim2=2).sum(-1)
        chain.state["fit"] = {
            "opt_mean": ((mu.double() - mean) ** 2).sum(-1) / (self.config.sigma**2 * self.config.d / m),
            "opt_trace": (C.double().diagonal(dim1=1, dim2=2).sum(-1) - trS).abs() / trS,
        }
        return model

    def sample(self, model: ReplicaModel, size: int, chain, rng: np.random.Generator) -> torch.Tensor:
        return model.sample(size, self.config.rule, torch_generator(rng))

    def measure(self, model: ReplicaModel, chain, rng: np.random.Generator, samples=None) -> dict[str, np.ndarray]:
        mu, C = model.fitted()
        trace = C.double().diagonal(dim1=1, dim2=2).sum(-1)
        fit = chain.state["fit"]
        return {"mean_sq_error": as_numpy((mu.double() ** 2).sum(-1)), "trace": as_numpy(trace),
                "sigma": as_numpy((trace / self.config.d).sqrt()), "opt_mean": as_numpy(fit["opt_mean"]),
                "opt_trace": as_numpy(fit["opt_trace"])}
