"""Image models with a replica axis: an MLP VAE, a small convolutional VAE, an MLP autoencoder.

Every model takes images (R, B, H, W) in [0, 1] and returns per-replica quantities (R,). Its loss on a
batch is the negative ELBO in nats per image (VAEs; one reparameterised sample of z per image) or the
squared reconstruction error per image (the AE), averaged over the batch. ``sample(m, rule, generator)``
returns (R, m, H, W) under a named sampling rule, a recorded setting of every experiment:

* VAE ``'ancestral'``: z ~ N(0, I), then pixels drawn from the decoder's distribution (Bernoulli draws,
  0 or 1; or Gaussian draws, not clipped);
* VAE ``'mean'``: the decoder's means at z ~ N(0, I) (Shumailov et al. 2024's rule);
* AE ``'gaussian-codes'``: codes drawn from the Gaussian fitted to the codes of the model's training set
  (kept by :meth:`MLPAutoencoder.remember`, which the trainer calls), decoded;
* AE ``'perturbed-codes'``: codes of training points drawn uniformly with replacement, plus N(0, s^2)
  noise (s = ``noise``, default ``config.code_noise``), decoded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..replica import ReplicaConv2d, ReplicaConvTranspose2d, ReplicaLinear, ReplicaModel, _need, fold, rand, randint, randn, unfold
from ..settings import RULES as IMAGE_RULES

DECODERS = ("bernoulli", "gaussian")
VARIANCES = ("pixel", "scalar")
LOG_2PI = math.log(2 * math.pi)


def _check_likelihood(cfg) -> None:
    if cfg.decoder not in DECODERS:
        raise ValueError(f"decoder must be one of {DECODERS}, got {cfg.decoder!r}")
    if cfg.variance not in VARIANCES:
        raise ValueError(f"variance must be one of {VARIANCES}, got {cfg.variance!r}")
    if not 0 < cfg.min_std < cfg.init_std:
        raise ValueError(f"need 0 < min_std < init_std, got min_std={cfg.min_std}, init_std={cfg.init_std}")


def _check_sizes(cfg, *names: str) -> None:
    for name in names:
        value = getattr(cfg, name)
        values = value if isinstance(value, tuple) else (value,)
        if not values or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in values):
            raise ValueError(f"{name} must be positive integers, got {value!r}")


@dataclass(frozen=True)
class VAEConfig:
    event_shape: tuple[int, ...] = (8, 8)  # shape of one image (H, W); the MLP sees it flattened
    hidden: tuple[int, ...] = (128,)  # widths of the encoder's hidden layers; the decoder mirrors them
    latent: int = 8  # latent dimension d; the prior is N(0, I_d)
    decoder: str = "bernoulli"  # 'bernoulli': pixel logits, BCE (grey targets allowed); 'gaussian': means and a learned std
    variance: str = "pixel"  # gaussian decoder: one learned std per 'pixel', or one 'scalar' per replica
    min_std: float = 1e-2  # gaussian decoder: floor on the std (a constant pixel would drive the likelihood to infinity)
    init_std: float = 1.0  # gaussian decoder: the std at initialisation

    def __post_init__(self):
        _check_sizes(self, "event_shape", "hidden", "latent")
        _check_likelihood(self)


@dataclass(frozen=True)
class ConvVAEConfig:
    event_shape: tuple[int, int] = (28, 28)  # image (H, W); both divisible by 4 (two stride-2 convolutions)
    channels: tuple[int, int] = (32, 64)  # channels of the two 4x4 stride-2 convolutions (the decoder mirrors them)
    latent: int = 16  # latent dimension d; the prior is N(0, I_d)
    decoder: str = "bernoulli"  # 'bernoulli' or 'gaussian', as in VAEConfig
    variance: str = "pixel"  # gaussian decoder: a learned std per 'pixel' or one 'scalar'
    min_std: float = 1e-2  # gaussian decoder: floor on the std
    init_std: float = 1.0  # gaussian decoder: the std at initialisation

    def __post_init__(self):
        _check_sizes(self, "event_shape", "channels", "latent")
        if len(self.event_shape) != 2 or any(s % 4 for s in self.event_shape) or len(self.channels) != 2:
            raise ValueError(f"ConvVAE needs event_shape (H, W) divisible by 4 and two channels, got "
                             f"event_shape={self.event_shape}, channels={self.channels}")
        _check_likelihood(self)


@dataclass(frozen=True)
class AEConfig:
    event_shape: tuple[int, ...] = (8, 8)  # shape of one image (H, W); the MLP sees it flattened
    hidden: tuple[int, ...] = (128,)  # widths of the encoder's hidden layers; the decoder mirrors them
    latent: int = 8  # code dimension
    code_noise: float = 0.1  # std s of the N(0, s^2) noise the 'perturbed-codes' rule adds to training codes

    def __post_init__(self):
        _check_sizes(self, "event_shape", "hidden", "latent")
        if not self.code_noise >= 0:
            raise ValueError(f"code_noise must be >= 0, got {self.code_noise}")


def _mlp(replicas: int, widths: list[int], device) -> nn.ModuleList:
    return nn.ModuleList(ReplicaLinear(replicas, a, b, device) for a, b in zip(widths[:-1], widths[1:]))


def _run(layers: nn.ModuleList, h: torch.Tensor) -> torch.Tensor:
    """Linear layers with ReLU between them (none after the last)."""
    for i, layer in enumerate(layers):
        h = layer(h) if i == len(layers) - 1 else F.relu(layer(h))
    return h


def _sample_size(m: int) -> int:
    if isinstance(m, bool) or not isinstance(m, int) or m < 1:
        raise ValueError(f"m (samples per replica) must be a positive integer, got {m!r}")
    return m


class _VAE(ReplicaModel):
    """What the MLP and conv VAEs share: the ELBO, the decoder likelihood, the sampling rules.

    A subclass builds its layers, then calls ``_likelihood(pixels, device)`` and ``reset_parameters``; it
    implements ``_encode(x) -> (R, B, 2d)`` and ``decode(z) -> (R, B, *event)`` (logits or means).
    """

    RULES = IMAGE_RULES["vae"]

    def _likelihood(self, pixels: int, device) -> None:
        if self.config.decoder == "gaussian":
            width = pixels if self.config.variance == "pixel" else 1
            self.raw_std = nn.Parameter(torch.empty(self.replicas, width, device=device))

    def _reset_own(self, generator: torch.Generator) -> None:
        if self.config.decoder == "gaussian":  # std = min_std + softplus(raw_std)
            with torch.no_grad():
                self.raw_std.fill_(math.log(math.expm1(self.config.init_std - self.config.min_std)))

    def std(self) -> torch.Tensor:
        """The Gaussian decoder's std, (R, 1, pixels) or (R, 1, 1)."""
        return (self.config.min_std + F.softplus(self.raw_std)).unsqueeze(1)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The encoder's mean and log-variance, each (R, B, d)."""
        return self._encode(self.check(x)).chunk(2, dim=-1)

    def decoder_mean(self, out: torch.Tensor) -> torch.Tensor:
        """The mean of p(x | z) from the decoder's output (the sigmoid of Bernoulli logits)."""
        return torch.sigmoid(out) if self.config.decoder == "bernoulli" else out

    def nll(self, x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        """-log p(x | z) in nats per image, (R, B), from the decoder's output ``out``."""
        R, B = x.shape[:2]
        x, out = x.reshape(R, B, -1), out.reshape(R, B, -1)
        if self.config.decoder == "bernoulli":
            return F.binary_cross_entropy_with_logits(out, x, reduction="none").sum(-1)
        std = self.std()  # broadcasts: one per pixel or one per replica
        return (0.5 * ((x - out) / std) ** 2 + std.log() + 0.5 * LOG_2PI).sum(-1)

    def loss(self, x: torch.Tensor, generator: torch.Generator | None = None, *, eps: torch.Tensor | None = None) -> torch.Tensor:
        """Negative ELBO in nats per image, averaged over the batch: (R,). One z per image, from
        ``generator`` (or the given standard normals ``eps``, (R, B, d))."""
        x = self.check(x)
        mean, logvar = self._encode(x).chunk(2, dim=-1)
        if eps is None:
            eps = randn(mean.shape, _need(generator, "a VAE's loss (it samples z)"), mean.device)
        z = mean + eps * (0.5 * logvar).exp()
        kl = 0.5 * (mean**2 + logvar.exp() - 1 - logvar).sum(-1)
        return (self.nll(x, self.decode(z)) + kl).mean(1)

    @torch.no_grad()
    def sample(self, m: int, rule: str, generator: torch.Generator) -> torch.Tensor:
        """``(R, m, *event)`` images: 'ancestral' (pixels drawn from p(x|z)) or 'mean' (decoder means)."""
        self.check_rule(rule)
        g, m = _need(generator, "sample"), _sample_size(m)
        mean = self.decoder_mean(self.decode(randn((self.replicas, m, self.config.latent), g, self.device)))
        if rule == "mean":
            return mean
        if self.config.decoder == "bernoulli":
            return (rand(mean.shape, g, self.device) < mean).float()
        flat = mean.reshape(self.replicas, m, -1)
        return (flat + self.std() * randn(flat.shape, g, self.device)).reshape(mean.shape)


class MLPVAE(_VAE):
    """A VAE with MLP encoder and decoder (R replicas). See :class:`VAEConfig`."""

    def __init__(self, config: VAEConfig = VAEConfig(), replicas: int = 1, *, generator: torch.Generator, device=None):
        super().__init__(config, replicas)
        pixels = math.prod(config.event_shape)
        widths = [pixels, *config.hidden]
        self.encoder = _mlp(replicas, widths + [2 * config.latent], device)
        self.decoder = _mlp(replicas, [config.latent, *reversed(widths)], device)
        self._likelihood(pixels, device)
        self.reset_parameters(generator)

    def _encode(self, x: torch.Tensor) -> torch.Tensor:
        return _run(self.encoder, x.reshape(x.shape[0], x.shape[1], -1))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """The decoder's output (Bernoulli logits or Gaussian means), ``(R, B, *event)``."""
        return _run(self.decoder, z).reshape(z.shape[0], z.shape[1], *self.event_shape)


class ConvVAE(_VAE):
    """A small convolutional VAE: two 4x4 stride-2 convolutions, a linear layer to (mean, log-variance);
    the decoder mirrors it with transposed convolutions. Replicas share one grouped convolution per layer."""

    def __init__(self, config: ConvVAEConfig = ConvVAEConfig(), replicas: int = 1, *, generator: torch.Generator,
                 device=None):
        super().__init__(config, replicas)
        (H, W), (c1, c2), R = config.event_shape, config.channels, replicas
        self.inner = (c2, H // 4, W // 4)
        flat = math.prod(self.inner)
        self.conv1 = ReplicaConv2d(R, 1, c1, 4, 2, 1, device)
        self.conv2 = ReplicaConv2d(R, c1, c2, 4, 2, 1, device)
        self.to_latent = ReplicaLinear(R, flat, 2 * config.latent, device)
        self.from_latent = ReplicaLinear(R, config.latent, flat, device)
        self.deconv1 = ReplicaConvTranspose2d(R, c2, c1, 4, 2, 1, device)
        self.deconv2 = ReplicaConvTranspose2d(R, c1, 1, 4, 2, 1, device)
        self._likelihood(H * W, device)
        self.reset_parameters(generator)

    def _encode(self, x: torch.Tensor) -> torch.Tensor:
        R, B = x.shape[:2]
        h = F.relu(self.conv2(F.relu(self.conv1(fold(x.unsqueeze(2))))))
        return self.to_latent(unfold(h, R).reshape(R, B, -1))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """The decoder's output (Bernoulli logits or Gaussian means), (R, B, H, W)."""
        R, B = z.shape[:2]
        h = F.relu(self.from_latent(z)).reshape(R, B, *self.inner)
        h = self.deconv2(F.relu(self.deconv1(fold(h))))
        return unfold(h, R).reshape(R, B, *self.event_shape)


class MLPAutoencoder(ReplicaModel):
    """A deterministic autoencoder (R replicas); its loss is the squared error per image. It samples by
    decoding codes: see the module docstring for the rules and :meth:`remember` for what it keeps."""

    RULES = IMAGE_RULES["ae"]
    RESIZABLE = ("train_codes",)

    def __init__(self, config: AEConfig = AEConfig(), replicas: int = 1, *, generator: torch.Generator, device=None):
        super().__init__(config, replicas)
        widths = [math.prod(config.event_shape), *config.hidden]
        self.encoder = _mlp(replicas, widths + [config.latent], device)
        self.decoder = _mlp(replicas, [config.latent, *reversed(widths)], device)
        d = config.latent
        self.register_buffer("code_mean", torch.zeros(replicas, d, device=device))  # of the training set's codes
        self.register_buffer("code_chol", torch.zeros(replicas, d, d, device=device))  # Cholesky factor of their covariance
        self.register_buffer("train_codes", torch.zeros(replicas, 0, d, device=device))  # the codes themselves (R, m, d)
        self.reset_parameters(generator)

    def _reset_own(self, generator: torch.Generator) -> None:
        self.code_mean.zero_()
        self.code_chol.zero_()
        self.train_codes = self.train_codes[:, :0]

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Codes, (R, B, latent)."""
        x = self.check(x)
        return _run(self.encoder, x.reshape(x.shape[0], x.shape[1], -1))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Reconstructions, ``(R, B, *event)``."""
        return _run(self.decoder, z).reshape(z.shape[0], z.shape[1], *self.event_shape)

    def loss(self, x: torch.Tensor, generator: torch.Generator | None = None, **unused) -> torch.Tensor:
        """Squared reconstruction error summed over pixels, averaged over the batch: (R,) (deterministic)."""
        x = self.check(x)
        return (self.decode(self.encode(x)) - x).pow(2).flatten(2).sum(-1).mean(1)

    @torch.no_grad()
    def remember(self, data: torch.Tensor, chunk: int = 1024) -> None:
        """Keep the codes of the training set ``data`` ``(R, m, *event)``, their mean and the Cholesky factor of
        their covariance (maximum likelihood, divided by m; a jitter of 1e-6 times the mean variance)."""
        data = self.check(data, "data")
        codes = torch.cat([self.encode(data[:, i:i + chunk]) for i in range(0, data.shape[1], chunk)], dim=1)
        mean = codes.mean(1)
        centred = codes - mean.unsqueeze(1)
        cov = centred.transpose(1, 2) @ centred / codes.shape[1]
        d = cov.shape[-1]
        jitter = 1e-6 * cov.diagonal(dim1=-2, dim2=-1).mean(-1).clamp_min(1e-12)
        chol, info = torch.linalg.cholesky_ex(cov + jitter[:, None, None] * torch.eye(d, device=cov.device))
        if info.any():
            raise FloatingPointError(f"the codes' covariance of replica {int(info.nonzero()[0])} is not positive definite")
        self.train_codes, self.code_mean, self.code_chol = codes, mean, chol

    @torch.no_grad()
    def sample(self, m: int, rule: str, generator: torch.Generator, noise: float | None = None) -> torch.Tensor:
        """``(R, m, *event)`` images by the rule 'gaussian-codes' or 'perturbed-codes' (noise std ``noise``)."""
        self.check_rule(rule)
        g, m = _need(generator, "sample"), _sample_size(m)
        if self.train_codes.shape[1] == 0:
            raise ValueError("this autoencoder has no training codes yet: train() keeps them, or call remember(data)")
        R, d = self.replicas, self.config.latent
        eps = randn((R, m, d), g, self.device)
        if rule == "gaussian-codes":
            z = self.code_mean.unsqueeze(1) + eps @ self.code_chol.transpose(1, 2)
        else:
            s = self.config.code_noise if noise is None else noise
            if not s >= 0:
                raise ValueError(f"noise must be >= 0, got {s}")
            idx = randint(self.train_codes.shape[1], (R, m), g, self.device)
            z = torch.gather(self.train_codes, 1, idx.unsqueeze(-1).expand(R, m, d)) + s * eps
        return self.decode(z)
