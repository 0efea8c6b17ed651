"""A known-truth image distribution: a Gaussian mixture fitted once to real images, then frozen.

The literature measures collapse against a real data set whose density nobody knows. A
:class:`Teacher` replaces it with a distribution that is known exactly: a K-component Gaussian mixture
fitted ONCE (fixed seed) to real images (the 8x8 scikit-learn digits by default) and then frozen as
"the true distribution". It gives unlimited fresh real data (:meth:`Teacher.sample`), the exact
log-density of any image under the truth (:meth:`Teacher.log_prob`), and the share of each component in
any batch of images (:meth:`Teacher.component_shares`), so "the tails vanish first" becomes a measured
statement about components whose weights are known, made rare on purpose with ``weights='zipf'``.

Choices, and why:

* **Full covariances in pixel space with ``reg_covar = 1e-3`` added to every diagonal.** A full
  covariance keeps the strokes' correlations, so samples look like digits (diagonal components give
  blurred blobs and a log-likelihood 21 nats per image worse on the digits). The digits have pixels that
  are constant (the border columns are always 0), so without a floor the fitted covariances are
  singular and the density on those pixels is a spike. ``reg_covar = 1e-3`` (a std of 0.032, half a grey
  level of the digits' 1/16 steps, the size of their quantisation noise) makes every covariance
  positive definite with condition number below about 10^3 on the digits (measured: 824 at K = 10, seed
  0; 8e3 at 1e-4), so the Cholesky factors, solves and samples are stable in float64 and float32.
* **Components are held in the order of decreasing fitted weight** (component 0 is the largest), so the
  Zipf weights w_k proportional to k^-s (k = 1..K) keep each component's rank, and the rare components
  are the last ones, known in advance.
* **Samples are not clipped** to [0, 1]: the exact density is of exactly what is sampled. A caller that
  needs pixels in [0, 1] (a Bernoulli decoder's targets) may clip, but then :meth:`log_prob` is no longer
  the density of its data. Samples are returned as float32; :meth:`log_prob` evaluates them in float64
  (float32 rounding moves a log-density by about 1e-6 nats, far below any effect measured).

The parameters are float64 torch tensors (weights (K,), means (K, D), Cholesky factors (K, D, D) of the
covariances, D = H*W) on the CPU unless :meth:`Teacher.to` moves them. Every random draw comes from the
``torch.Generator`` the caller passes; scikit-learn's fit is seeded by ``seed`` and run on one thread.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .metrics import _positive_int, _tensor, fingerprint
from .replica import _need

WEIGHTS = ("fitted", "zipf")
LOG_2PI = math.log(2 * math.pi)


def _digits() -> torch.Tensor:
    """scikit-learn's bundled 8x8 digits (1797 images) as float32 (N, 8, 8) in [0, 1] (grey levels / 16)."""
    try:
        from sklearn.datasets import load_digits
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("the digits teacher needs scikit-learn: pip install scikit-learn") from exc
    return torch.from_numpy(load_digits().images / 16.0).to(torch.float32)


def zipf_weights(components: int, s: float = 1.0) -> torch.Tensor:
    """Weights w_k = k^-s / sum_j j^-s, k = 1..components (float64, strictly decreasing, summing to 1)."""
    components = _positive_int(components, "components")
    if isinstance(s, bool) or not isinstance(s, (int, float)) or not 0 < s < math.inf:
        raise ValueError(f"zipf_s must be a positive finite number, got {s!r}")
    w = torch.arange(1, components + 1, dtype=torch.float64).pow(-float(s))
    return w / w.sum()


class Teacher:
    """A frozen Gaussian mixture over images (H, W): sum_k w_k N(mean_k, chol_k chol_k^T) on R^(H*W).

    Build it with :meth:`fit` (or :func:`teacher_for`, which caches it). Component k's weight is
    ``weights[k]``; components are in the order of decreasing fitted weight. ``fitted_weights`` keeps the
    weights of the fit whatever ``weights`` were chosen."""

    def __init__(self, weights, means, chol, event_shape: tuple[int, int], fitted_weights=None):
        self.weights = _tensor(weights, "weights", 1)
        self.means = _tensor(means, "means", 2)
        self.chol = _tensor(chol, "chol", 3)
        self.event_shape = tuple(int(s) for s in event_shape)
        K, D = self.means.shape
        if self.weights.shape != (K,) or self.chol.shape != (K, D, D) or math.prod(self.event_shape) != D:
            raise ValueError(f"inconsistent teacher: weights {tuple(self.weights.shape)}, means {(K, D)}, chol "
                             f"{tuple(self.chol.shape)}, event_shape {self.event_shape}")
        if bool((self.weights <= 0).any()) or abs(float(self.weights.sum()) - 1) > 1e-9:
            raise ValueError(f"weights must be positive and sum to 1, got {self.weights.tolist()}")
        diag = self.chol.diagonal(dim1=-2, dim2=-1)
        if bool((diag <= 0).any()):
            raise ValueError("chol must be lower-triangular Cholesky factors with a positive diagonal")
        self.chol = torch.tril(self.chol)
        self.fitted_weights = (self.weights.clone() if fitted_weights is None
                               else _tensor(fitted_weights, "fitted_weights", 1))
        eye = torch.eye(D, dtype=torch.float64, device=self.chol.device).expand(K, D, D)
        self._inv_chol = torch.linalg.solve_triangular(self.chol, eye, upper=False)  # L_k^-1
        # log w_k - log det L_k - D/2 log 2 pi: the constant of each component's log-density
        self._const = self.weights.log() - diag.log().sum(-1) - 0.5 * D * LOG_2PI

    # ------------------------------------------------------------------------------------------------
    # construction

    @classmethod
    def fit(cls, images, components: int = 10, seed: int = 0, weights: str = "fitted", zipf_s: float = 1.0, *,
            reg_covar: float = 1e-3, max_iter: int = 500) -> "Teacher":
        """Fit a ``components``-component full-covariance Gaussian mixture to ``images`` (N, H, W) with
        scikit-learn's GaussianMixture (k-means initialisation, ``random_state=seed``, one thread,
        ``reg_covar`` added to each covariance's diagonal), sort its components by decreasing weight and
        freeze it. ``weights='zipf'`` then replaces the fitted weights by w_k proportional to k^-zipf_s."""
        x = _tensor(images, "images", 3)
        components = _positive_int(components, "components")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        _check_weights(weights, zipf_s)
        if isinstance(reg_covar, bool) or not isinstance(reg_covar, (int, float)) or not 0 < reg_covar < math.inf:
            raise ValueError(f"reg_covar must be a positive finite number, got {reg_covar!r}")
        if components > x.shape[0]:
            raise ValueError(f"components must be at most the number of images {x.shape[0]}, got {components}")
        try:
            from sklearn.mixture import GaussianMixture
            from threadpoolctl import threadpool_limits
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("fitting a Teacher needs scikit-learn: pip install scikit-learn") from exc
        flat = x.reshape(x.shape[0], -1).numpy()
        with threadpool_limits(1):
            gm = GaussianMixture(components, covariance_type="full", reg_covar=float(reg_covar), max_iter=max_iter,
                                 random_state=int(seed)).fit(flat)
        order = np.argsort(-gm.weights_, kind="stable")
        w = torch.from_numpy(gm.weights_[order] / gm.weights_.sum())
        means = torch.from_numpy(gm.means_[order])
        chol = torch.linalg.cholesky(torch.from_numpy(gm.covariances_[order]))
        fitted = cls(w, means, chol, tuple(x.shape[1:]))
        return fitted.reweighted(weights, zipf_s)

    def reweighted(self, weights: str = "fitted", zipf_s: float = 1.0) -> "Teacher":
        """The same components with ``weights='fitted'`` (the fit's own) or ``'zipf'`` (k^-zipf_s, k = 1..K,
        in the fitted order of decreasing weight) weights."""
        _check_weights(weights, zipf_s)
        w = self.fitted_weights if weights == "fitted" else zipf_weights(self.components, zipf_s)
        return Teacher(w.to(self.means.device), self.means, self.chol, self.event_shape, self.fitted_weights)

    def to(self, device) -> "Teacher":
        """A copy whose parameters live on ``device``."""
        return Teacher(self.weights.to(device), self.means.to(device), self.chol.to(device), self.event_shape,
                       self.fitted_weights.to(device))

    # ------------------------------------------------------------------------------------------------
    # what it is

    @property
    def components(self) -> int:
        return self.means.shape[0]

    @property
    def dim(self) -> int:
        return self.means.shape[1]

    @property
    def device(self) -> torch.device:
        return self.means.device

    @property
    def covariances(self) -> torch.Tensor:
        """The components' covariances chol_k chol_k^T, (K, D, D) float64."""
        return self.chol @ self.chol.transpose(-1, -2)

    def mean(self) -> torch.Tensor:
        """The mixture's mean sum_k w_k mean_k, (D,) float64."""
        return self.weights @ self.means

    def covariance(self) -> torch.Tensor:
        """The mixture's covariance sum_k w_k (cov_k + mean_k mean_k^T) - mean mean^T, (D, D) float64."""
        mu = self.mean()
        outer = self.means[:, :, None] * self.means[:, None, :]
        second = torch.einsum("k,kij->ij", self.weights, self.covariances + outer)
        return second - torch.outer(mu, mu)

    def tail_components(self, k: int) -> torch.Tensor:
        """The indices of the k components of smallest weight (the last k: components are sorted)."""
        k = _positive_int(k, "k")
        if k > self.components:
            raise ValueError(f"k must be at most the number of components {self.components}, got {k}")
        return torch.argsort(self.weights, stable=True)[:k]

    # ------------------------------------------------------------------------------------------------
    # sampling and densities

    @torch.no_grad()
    def sample(self, R: int, m: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """m fresh images for each of R replicas: (images (R, m, H, W) float32, components (R, m) long).

        Each image's component is drawn with probability ``weights`` (a float64 uniform, inverted through
        the cumulative weights), then the image is mean_k + chol_k z with z ~ N(0, I) float64; not clipped.
        Uniforms first, then normals, all from ``generator`` on its own device: a CPU generator gives the
        same images on any device."""
        g = _need(generator, "Teacher.sample")
        R, m = _positive_int(R, "R"), _positive_int(m, "m")
        dev = self.device
        u = torch.rand((R, m), dtype=torch.float64, generator=g, device=g.device).to(dev)
        z = torch.randn((R * m, self.dim), dtype=torch.float64, generator=g, device=g.device).to(dev)
        comp = torch.searchsorted(self.weights.cumsum(0), u, right=True).clamp_max(self.components - 1)
        flat = comp.reshape(-1)
        x = torch.empty_like(z)
        for k in range(self.components):
            idx = (flat == k).nonzero().squeeze(1)
            if idx.numel():
                x[idx] = self.means[k] + z[idx] @ self.chol[k].T
        return x.reshape(R, m, *self.event_shape).to(torch.float32), comp

    def _flat(self, x) -> tuple[torch.Tensor, tuple[int, ...]]:
        t = _tensor(x, "x")
        if t.dim() < 3 or tuple(t.shape[-2:]) != self.event_shape:
            raise ValueError(f"x must be images (R, m, H, W) with (H, W) = {self.event_shape}, "
                             f"got shape {tuple(t.shape)}")
        return t.to(self.device).reshape(-1, self.dim), tuple(t.shape[:-2])

    @torch.no_grad()
    def _joint(self, x) -> tuple[torch.Tensor, tuple[int, ...]]:
        """log w_k + log N(x; mean_k, cov_k) for each image and component: (N, K) float64."""
        flat, lead = self._flat(x)
        out = torch.empty(flat.shape[0], self.components, dtype=torch.float64, device=self.device)
        for k in range(self.components):  # y = L_k^-1 (x - mean_k): the triangular solve, done as a product
            y = (flat - self.means[k]) @ self._inv_chol[k].T
            out[:, k] = self._const[k] - 0.5 * y.pow(2).sum(-1)
        return out, lead

    def log_prob(self, x) -> torch.Tensor:
        """The exact log-density of each image under the teacher: x (R, m, H, W) -> (R, m) float64, in nats
        (logsumexp over components of log w_k + log N(x; mean_k, cov_k), with Cholesky solves). It is a
        density on R^(H*W): it depends on the pixel scale and is comparable only between images in the
        same units (pixels in [0, 1] here). Any leading axes are allowed."""
        joint, lead = self._joint(x)
        return torch.logsumexp(joint, -1).reshape(lead).cpu()

    def responsibilities(self, x) -> torch.Tensor:
        """The posterior probability of each component given each image: (R, m, H, W) -> (R, m, K) float64."""
        joint, lead = self._joint(x)
        return torch.softmax(joint, -1).reshape(*lead, self.components).cpu()

    def component_shares(self, x) -> torch.Tensor:
        """The mean responsibilities over each replica's images: (R, m, H, W) -> (R, K) float64, rows sum to 1.
        For images drawn from the teacher their expectation is exactly ``weights``. (The shares of the true
        components of teacher samples are ``deep.metrics.class_shares(components, K)``.)"""
        t = _tensor(x, "x")
        if t.dim() != 4:
            raise ValueError(f"x must be images (R, m, H, W), got shape {tuple(t.shape)}")
        return self.responsibilities(t).mean(1)

    def tail_mass(self, x, k: int) -> torch.Tensor:
        """The summed component share of the k components of smallest weight: (R, m, H, W) -> (R,) float64."""
        idx = self.tail_components(k)
        return self.component_shares(x)[:, idx.cpu()].sum(-1)

    def __repr__(self) -> str:
        return (f"Teacher(components={self.components}, event_shape={self.event_shape}, "
                f"weights={[round(w, 4) for w in self.weights.tolist()]})")


def _check_weights(weights: str, zipf_s: float) -> None:
    if weights not in WEIGHTS:
        raise ValueError(f"weights must be one of {WEIGHTS}, got {weights!r}")
    if isinstance(zipf_s, bool) or not isinstance(zipf_s, (int, float)) or not 0 < zipf_s < math.inf:
        raise ValueError(f"zipf_s must be a positive finite number, got {zipf_s!r}")


_TEACHERS: dict[tuple, tuple[str, Teacher]] = {}


def teacher_for(key: str = "digits", images=None, components: int = 10, seed: int = 0, weights: str = "fitted",
                zipf_s: float = 1.0, *, reg_covar: float = 1e-3) -> Teacher:
    """The teacher of data set ``key``, fitted on first use in this process and cached (one fit per key,
    components, seed and reg_covar; the weights are applied to the cached fit, and each weighting is
    cached too, so equal arguments return the same object). ``images=None`` with ``key='digits'`` uses
    scikit-learn's 8x8 digits (all 1797, grey levels / 16). The same key with other images raises
    ValueError (give each data set its own key)."""
    if not isinstance(key, str) or not key:
        raise ValueError(f"key must be a non-empty string naming the data set, got {key!r}")
    if images is None:
        if key != "digits":
            raise ValueError(f"images are needed for teacher_for({key!r}) (only 'digits' has a default)")
        images = _digits()
    _check_weights(weights, zipf_s)
    digest = fingerprint(_tensor(images, "images", 3))
    base = (key, components, seed, float(reg_covar))
    if base not in _TEACHERS:
        _TEACHERS[base] = (digest, Teacher.fit(images, components, seed, reg_covar=reg_covar))
    seen, fitted = _TEACHERS[base]
    if seen != digest:
        raise ValueError(f"teacher_for({key!r}) was first fitted to other images: use another key")
    if weights == "fitted":
        return fitted
    full = base + (weights, float(zipf_s))
    if full not in _TEACHERS:
        _TEACHERS[full] = (digest, fitted.reweighted(weights, zipf_s))
    return _TEACHERS[full][1]
