"""The bridge models: trained by the deep loop, yet with a closed-form maximum-likelihood optimum.

Both take points (R, B, d) and model N(mu, C):

* :class:`AffineGaussian`: x = mu + L z, z ~ N(0, I_d), parameterised by the Cholesky factor U of the
  precision, C^-1 = U U^T (U lower triangular with a positive diagonal, exp of a free parameter; then
  L = U^-T). Its loss is the exact negative log-likelihood per point,
  0.5 ||U^T (x - mu)||^2 - sum log U_ii + (d/2) log 2 pi (a matrix product, not a triangular solve:
  measured 1.3x faster a step; averaged over a batch through its mean and covariance, 1.7x faster again
  than through its points), whose minimum over a training set is the sample mean and the
  maximum-likelihood covariance C = S (divided by m): the numpy ``gaussian`` simulator's
  ``estimator='mle'`` fit, reached here by an optimiser.
* :class:`LinearVAE`: a VAE with a linear encoder q(z|x) = N(A x + b, diag(v)) and a linear Gaussian
  decoder p(x|z) = N(W z + mu, s^2 I), latent dimension k (default d). Its loss is the negative ELBO per
  point, with the expectation over q in closed form (for a linear decoder it is
  ||x - W m - mu||^2 + Tr(W diag(v) W^T), so training is deterministic). The ELBO's optimum is
  probabilistic PCA's maximum-likelihood fit (Lucas et al. 2019, "Don't blame the ELBO!"): with k = d
  the model covariance W W^T + s^2 I equals S.

Sampling rules: ``'ancestral'`` draws from the model, N(mu, C) (for the linear VAE, z ~ N(0, I) then
x = W z + mu + s e); the linear VAE's ``'mean'`` rule decodes means W z + mu only, whose covariance
W W^T = C - s^2 I is smaller (Shumailov et al.'s decoder-mean rule on a model where its effect is exact).

``fitted()`` returns each replica's (mu, C): the metrics are read from it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import nn

from ..replica import ReplicaModel, _need, randn, uniform_
from ..settings import BRIDGE_RULES

LOG_2PI = math.log(2 * math.pi)


@dataclass(frozen=True)
class GaussianConfig:
    d: int = 1  # dimension of a point
    latent: int | None = None  # linear VAE: latent dimension k (default d); unused by the affine model

    def __post_init__(self):
        for name in ("d",) + (("latent",) if self.latent is not None else ()):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")

    @property
    def event_shape(self) -> tuple[int]:
        return (self.d,)

    @property
    def k(self) -> int:
        return self.d if self.latent is None else self.latent


class Moments(NamedTuple):
    """A batch's sufficient statistics for the bridge models' losses: its mean (R, d) and its covariance (R, d, d),
    divided by the batch size and computed from the centred points (no cancellation between large terms)."""

    mean: torch.Tensor
    cov: torch.Tensor


class GaussianModel(ReplicaModel):
    """What the two bridge models share: a loss through the batch's :class:`Moments` (exact; named shortcut).

    Both losses are quadratic in the points, so their mean over a batch is a function of the batch's mean and
    covariance: a step works on d x d matrices instead of the batch's points. The moments carry no gradient,
    so the parameters' gradients are those of the per-point loss (tests/deep/test_bridge.py compares the two),
    and a full batch's are computed once per training run (:meth:`batch_summary`, called by deep.train)."""

    def batch_summary(self, x: torch.Tensor) -> Moments:
        x = self.check(x)
        with torch.no_grad():
            mean = x.mean(1)
            centred = x - mean.unsqueeze(1)
            return Moments(mean, centred.transpose(1, 2) @ centred / x.shape[1])

    def moments(self, x: torch.Tensor | Moments) -> Moments:
        """The moments of a batch of points (R, B, d), or ``x`` itself when it already is its moments."""
        return x if isinstance(x, Moments) else self.batch_summary(x)


class AffineGaussian(GaussianModel):
    """x = mu + L z (R replicas): the exact-likelihood Gaussian model. See the module docstring."""

    RULES = BRIDGE_RULES["affine"]

    def __init__(self, config: GaussianConfig = GaussianConfig(), replicas: int = 1, *, generator: torch.Generator,
                 device=None):
        super().__init__(config, replicas)
        d = config.d
        self.mu = nn.Parameter(torch.empty(replicas, d, device=device))
        self.log_diag = nn.Parameter(torch.empty(replicas, d, device=device))
        self.lower = nn.Parameter(torch.empty(replicas, d, d, device=device))
        self.register_buffer("mask", torch.tril(torch.ones(d, d, device=device), -1))
        self.reset_parameters(generator)

    def _reset_own(self, generator: torch.Generator) -> None:
        """mu ~ U(-1, 1), log U_ii ~ U(-0.5, 0.5), U_ij ~ U(-0.1, 0.1) below the diagonal: away from the truth."""
        uniform_(self.mu, 1.0, generator)
        uniform_(self.log_diag, 0.5, generator)
        uniform_(self.lower, 0.1, generator)

    def precision_chol(self) -> torch.Tensor:
        """U, (R, d, d): C^-1 = U U^T."""
        return self.lower * self.mask + torch.diag_embed(self.log_diag.exp())

    def chol(self) -> torch.Tensor:
        """L = U^-T, (R, d, d): C = L L^T (upper triangular)."""
        eye = torch.eye(self.config.d, device=self.device).expand(self.replicas, -1, -1)
        return torch.linalg.solve_triangular(self.precision_chol().transpose(1, 2), eye, upper=True)

    def loss(self, x: torch.Tensor | Moments, generator: torch.Generator | None = None, **unused) -> torch.Tensor:
        """Negative log-likelihood per point, averaged over the batch (points or their :class:`Moments`): (R,).

        With xbar the batch's mean and S its covariance, the mean of ||U^T (x - mu)||^2 over the batch is
        Tr(U^T S U) + ||U^T (xbar - mu)||^2 (:class:`GaussianModel`)."""
        mean, cov = self.moments(x)
        U = self.precision_chol()
        spread = (U * (cov @ U)).sum((1, 2))  # Tr(U^T S U)
        shift = ((mean - self.mu).unsqueeze(1) @ U).pow(2).sum((1, 2))
        return 0.5 * (spread + shift) - self.log_diag.sum(-1) + 0.5 * self.config.d * LOG_2PI

    @torch.no_grad()
    def fitted(self) -> tuple[torch.Tensor, torch.Tensor]:
        L = self.chol()
        return self.mu.detach().clone(), L @ L.transpose(1, 2)

    @torch.no_grad()
    def sample(self, m: int, rule: str, generator: torch.Generator) -> torch.Tensor:
        self.check_rule(rule)
        z = randn((self.replicas, m, self.config.d), _need(generator, "sample"), self.device)
        return self.mu.unsqueeze(1) + z @ self.chol().transpose(1, 2)


class LinearVAE(GaussianModel):
    """A linear VAE (R replicas) whose ELBO optimum is probabilistic PCA's fit. See the module docstring."""

    RULES = BRIDGE_RULES["linear-vae"]

    def __init__(self, config: GaussianConfig = GaussianConfig(), replicas: int = 1, *, generator: torch.Generator,
                 device=None):
        super().__init__(config, replicas)
        d, k = config.d, config.k
        self.enc = nn.Parameter(torch.empty(replicas, d, k, device=device))  # A^T: m = x A^T + b
        self.enc_bias = nn.Parameter(torch.empty(replicas, k, device=device))
        self.log_v = nn.Parameter(torch.empty(replicas, k, device=device))  # posterior log-variances
        self.dec = nn.Parameter(torch.empty(replicas, k, d, device=device))  # W^T: mean = z W^T + mu
        self.mu = nn.Parameter(torch.empty(replicas, d, device=device))
        self.log_s2 = nn.Parameter(torch.empty(replicas, device=device))  # decoder noise log s^2
        self.reset_parameters(generator)

    def _reset_own(self, generator: torch.Generator) -> None:
        bound = 1 / math.sqrt(self.config.d)
        uniform_(self.enc, bound, generator)
        uniform_(self.enc_bias, bound, generator)
        uniform_(self.dec, bound, generator)
        uniform_(self.mu, 1.0, generator)
        with torch.no_grad():
            self.log_v.fill_(0.0)
            self.log_s2.fill_(0.0)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        x = self.check(x)
        return torch.baddbmm(self.enc_bias.unsqueeze(1), x, self.enc)

    def loss(self, x: torch.Tensor | Moments, generator: torch.Generator | None = None, **unused) -> torch.Tensor:
        """Negative ELBO per point (expectation over q in closed form), averaged over the batch (points or their
        :class:`Moments`): (R,).

        A point's code is m = x A^T + b and its residual r = x - m W^T - mu = (x - xbar) M + rbar, with
        M = I - A^T W^T and rbar the residual of the batch's mean xbar; so over the batch (covariance S) the mean
        of ||r||^2 is Tr(M^T S M) + ||rbar||^2 and that of ||m||^2 is Tr(A S A^T) + ||mbar||^2
        (:class:`GaussianModel`)."""
        mean, cov = self.moments(x)
        d = self.config.d
        m = torch.baddbmm(self.enc_bias.unsqueeze(1), mean.unsqueeze(1), self.enc)  # the mean's code, (R, 1, k)
        resid = mean.unsqueeze(1) - torch.baddbmm(self.mu.unsqueeze(1), m, self.dec)  # its residual, (R, 1, d)
        M = torch.eye(d, device=mean.device) - self.enc @ self.dec  # (R, d, d)
        resid_sq = (M * (cov @ M)).sum((1, 2)) + resid.pow(2).sum((1, 2))  # mean ||r||^2, (R,)
        code_sq = (self.enc * (cov @ self.enc)).sum((1, 2)) + m.pow(2).sum((1, 2))  # mean ||m||^2, (R,)
        v = self.log_v.exp()  # (R, k)
        spread = (v.unsqueeze(-1) * self.dec.pow(2)).sum((1, 2))  # Tr(W diag(v) W^T), (R,)
        s2 = self.log_s2.exp()
        recon = 0.5 * (resid_sq + spread) / s2 + 0.5 * d * (self.log_s2 + LOG_2PI)
        kl = 0.5 * (code_sq + (v - 1 - self.log_v).sum(-1))
        return recon + kl

    @torch.no_grad()
    def fitted(self) -> tuple[torch.Tensor, torch.Tensor]:
        W = self.dec.transpose(1, 2)  # (R, d, k)
        eye = torch.eye(self.config.d, device=self.device)
        return self.mu.detach().clone(), W @ W.transpose(1, 2) + self.log_s2.exp()[:, None, None] * eye

    @torch.no_grad()
    def sample(self, m: int, rule: str, generator: torch.Generator) -> torch.Tensor:
        self.check_rule(rule)
        g = _need(generator, "sample")
        z = randn((self.replicas, m, self.config.k), g, self.device)
        x = torch.baddbmm(self.mu.unsqueeze(1), z, self.dec)
        if rule == "ancestral":
            x = x + self.log_s2.exp().sqrt()[:, None, None] * randn(x.shape, g, self.device)
        return x


MODELS = {"affine": AffineGaussian, "linear-vae": LinearVAE}
