"""Per-generation metrics of image models, vectorised over the replica axis.

Every function takes a batch with a leading replica axis R (images (R, M, H, W), labels (R, M), latent
means (R, M, d)) and returns one float64 number per replica, a torch tensor of shape (R,), unless said
otherwise. Inputs may be torch tensors or numpy arrays; results are float64 torch tensors on the CPU.

* :class:`Classifier`: one small MLP (not a replica model) trained ONCE on real images, deterministically
  from a ``torch.Generator``; it labels each generation's samples (:func:`class_shares`,
  :func:`entropy`, :func:`rare_mass`, :func:`min_share`: which classes disappear first) and gives the
  feature space of :func:`frechet` for 28x28 images (pixel space is used for 8x8 digits).
  :func:`classifier_for` caches it, so one process trains it once per data set.
* :func:`frechet`: the Frechet distance between Gaussians fitted to real and to generated features.
* :func:`bernoulli_floor`: the least Bernoulli negative log-likelihood a training set of grey pixels
  admits (the floor under a Bernoulli decoder's loss).
* :func:`latent_spread`: Shumailov et al.'s spread of the latent means.

Randomness: only :meth:`Classifier.fit` is random, and it draws everything (initial weights, minibatch
order) from the generator it is given; nothing here touches torch's or numpy's global generator.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .replica import _need, uniform_

# ----------------------------------------------------------------------------------------------------
# input checks


def _tensor(x, name: str, dims: int | None = None, dtype=torch.float64) -> torch.Tensor:
    """``x`` as a CPU tensor of ``dtype`` after checking it is a tensor/array with ``dims`` axes, finite."""
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(x)
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor or numpy array, got {type(x).__name__}")
    if dims is not None and x.dim() != dims:
        raise ValueError(f"{name} must have {dims} axes, got shape {tuple(x.shape)}")
    if x.numel() == 0:
        raise ValueError(f"{name} is empty: shape {tuple(x.shape)}")
    if x.is_floating_point() and not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} contains NaN or infinite values")
    return x.detach().to(device="cpu", dtype=dtype)


def _positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _labels(labels, name: str, classes: int, dims: int) -> torch.Tensor:
    if isinstance(labels, np.ndarray):
        labels = torch.from_numpy(labels)
    if (not isinstance(labels, torch.Tensor) or labels.is_floating_point() or labels.is_complex()
            or labels.dtype == torch.bool):
        raise ValueError(f"{name} must be an integer tensor of class labels, got "
                         f"{labels.dtype if isinstance(labels, torch.Tensor) else type(labels).__name__}")
    labels = _tensor(labels, name, dims, torch.long)
    if int(labels.min()) < 0 or int(labels.max()) >= classes:
        raise ValueError(f"{name} must lie in 0..{classes - 1} (classes={classes}), got values "
                         f"{int(labels.min())}..{int(labels.max())}")
    return labels


def fingerprint(*arrays) -> str:
    """A SHA-1 of the shapes, dtypes and bytes of ``arrays`` (to tell data sets apart in a cache)."""
    h = hashlib.sha1()
    for a in arrays:
        a = a.detach().cpu().contiguous().numpy() if isinstance(a, torch.Tensor) else np.ascontiguousarray(a)
        h.update(f"{a.shape}{a.dtype}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


# ----------------------------------------------------------------------------------------------------
# the classifier


class Classifier(nn.Module):
    """A one-hidden-layer MLP classifier of images, trained once on real data (one model, no replica axis).

    pixels (H*W, the image flattened, values as given) -> ``hidden`` ReLU units (the features) -> logits.
    Build it with :meth:`fit`; it is then frozen (``eval()``, no gradients) and used through
    :meth:`predict`, :meth:`features` and :meth:`accuracy`, which accept any leading axes (..., H, W).
    It lives on the CPU unless ``fit(..., device=...)`` says otherwise; features and logits are float32,
    predictions long, all returned on its device.
    """

    def __init__(self, event_shape: tuple[int, int], classes: int, hidden: int = 256, device=None):
        super().__init__()
        if len(event_shape) != 2:
            raise ValueError(f"event_shape must be (H, W), got {event_shape!r}")
        self.event_shape = tuple(int(s) for s in event_shape)
        self.classes = _positive_int(classes, "classes")
        self.hidden = _positive_int(hidden, "hidden")
        pixels = math.prod(self.event_shape)
        # Parameters made empty and filled from a generator (nn.Linear would draw from torch's global one).
        self.w1 = nn.Parameter(torch.empty(hidden, pixels, device=device))
        self.b1 = nn.Parameter(torch.empty(hidden, device=device))
        self.w2 = nn.Parameter(torch.empty(classes, hidden, device=device))
        self.b2 = nn.Parameter(torch.empty(classes, device=device))

    def reset_parameters(self, generator: torch.Generator) -> None:
        """PyTorch's default for nn.Linear (weight and bias U(+-1/sqrt(fan_in))), drawn from ``generator``."""
        for w, b in ((self.w1, self.b1), (self.w2, self.b2)):
            bound = 1 / math.sqrt(w.shape[1])
            uniform_(w, bound, generator)
            uniform_(b, bound, generator)

    def _hidden(self, flat: torch.Tensor) -> torch.Tensor:
        return F.relu(F.linear(flat, self.w1, self.b1))

    def _logits(self, flat: torch.Tensor) -> torch.Tensor:
        return F.linear(self._hidden(flat), self.w2, self.b2)

    @classmethod
    def fit(cls, images, labels, classes: int, generator: torch.Generator, epochs: int = 30, *,
            hidden: int = 256, batch: int = 64, lr: float = 1e-3, device=None) -> "Classifier":
        """Train on ``images`` (N, H, W) in [0, 1] with ``labels`` (N,) in 0..classes-1: Adam at ``lr``,
        ``epochs`` passes over the data in minibatches of ``batch`` (a fresh permutation per epoch), the
        initial weights and every permutation drawn from ``generator``. The same generator state gives
        bit-identical weights on the CPU."""
        g = _need(generator, "Classifier.fit")
        classes = _positive_int(classes, "classes")
        epochs, batch = _positive_int(epochs, "epochs"), _positive_int(batch, "batch")
        hidden = _positive_int(hidden, "hidden")
        if not (isinstance(lr, (int, float)) and 0 < lr < math.inf):
            raise ValueError(f"lr must be a positive number, got {lr!r}")
        x = _tensor(images, "images", 3, torch.float32)
        y = _labels(labels, "labels", classes, 1)
        if y.shape[0] != x.shape[0]:
            raise ValueError(f"images and labels differ in length: {x.shape[0]} images, {y.shape[0]} labels")
        model = cls(tuple(x.shape[1:]), classes, hidden, device)
        model.reset_parameters(g)
        dev = model.w1.device
        x, y = x.reshape(x.shape[0], -1).to(dev), y.to(dev)
        n, batch = x.shape[0], min(batch, x.shape[0])
        optimiser = torch.optim.Adam(model.parameters(), lr=lr)
        for _ in range(epochs):
            order = torch.randperm(n, generator=g, device=g.device).to(dev)
            for start in range(0, n, batch):
                idx = order[start:start + batch]
                loss = F.cross_entropy(model._logits(x[idx]), y[idx])
                optimiser.zero_grad(set_to_none=True)
                loss.backward()
                optimiser.step()
        if not math.isfinite(float(loss.detach())):
            raise FloatingPointError(f"the classifier's training loss is {float(loss.detach())}: lower lr (now {lr})")
        model.eval()
        for p in model.parameters():
            p.requires_grad_(False)
        return model

    def _flat(self, x) -> tuple[torch.Tensor, tuple[int, ...]]:
        if isinstance(x, np.ndarray):
            x = torch.from_numpy(x)
        if not isinstance(x, torch.Tensor) or x.dim() < 2 or tuple(x.shape[-2:]) != self.event_shape:
            raise ValueError(f"x must be images (..., H, W) with (H, W) = {self.event_shape}, got "
                             f"{tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__}")
        lead = tuple(x.shape[:-2])
        dev = self.w1.device
        return x.detach().to(device=dev, dtype=torch.float32).reshape(-1, math.prod(self.event_shape)), lead

    @torch.no_grad()
    def features(self, x, chunk: int = 8192) -> torch.Tensor:
        """The hidden layer's ReLU activations, (..., hidden) float32, for images x (..., H, W)."""
        flat, lead = self._flat(x)
        out = torch.cat([self._hidden(flat[i:i + chunk]) for i in range(0, flat.shape[0], chunk)])
        return out.reshape(*lead, self.hidden)

    @torch.no_grad()
    def logits(self, x, chunk: int = 8192) -> torch.Tensor:
        """Class logits, (..., classes) float32, for images x (..., H, W)."""
        flat, lead = self._flat(x)
        out = torch.cat([self._logits(flat[i:i + chunk]) for i in range(0, flat.shape[0], chunk)])
        return out.reshape(*lead, self.classes)

    def predict(self, x) -> torch.Tensor:
        """The most likely class of each image: x (R, M, H, W) -> (R, M) long (any leading axes)."""
        return self.logits(x).argmax(-1)

    def forward(self, x) -> torch.Tensor:
        return self.logits(x)

    def accuracy(self, images, labels) -> float:
        """The share of ``images`` (N, H, W) whose predicted class equals ``labels`` (N,)."""
        y = _labels(labels, "labels", self.classes, 1)
        pred = self.predict(images).cpu()
        if pred.shape != y.shape:
            raise ValueError(f"images and labels differ in length: {tuple(pred.shape)} vs {tuple(y.shape)}")
        return float((pred == y).double().mean())


_CLASSIFIERS: dict[tuple, tuple[str, Classifier]] = {}


def classifier_for(key: str, images, labels, classes: int, seed: int = 0, *, epochs: int = 30,
                   hidden: int = 256, batch: int = 64, lr: float = 1e-3) -> Classifier:
    """The classifier of data set ``key`` (e.g. 'digits'), trained on first use in this process and
    cached: :meth:`Classifier.fit` with ``torch.Generator().manual_seed(seed)``. A later call with the
    same key and settings returns the same object; one with the same key and settings but different
    images or labels raises ValueError (give each data set its own key)."""
    if not isinstance(key, str) or not key:
        raise ValueError(f"key must be a non-empty string naming the data set, got {key!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    classes = _positive_int(classes, "classes")
    settings = (key, classes, seed, epochs, hidden, batch, float(lr))
    digest = fingerprint(_tensor(images, "images", 3, torch.float32), _labels(labels, "labels", classes, 1))
    if settings in _CLASSIFIERS:
        seen, model = _CLASSIFIERS[settings]
        if seen != digest:
            raise ValueError(f"classifier_for({key!r}) was first trained on other images or labels: use another key")
        return model
    model = Classifier.fit(images, labels, classes, torch.Generator().manual_seed(seed), epochs,
                           hidden=hidden, batch=batch, lr=lr)
    _CLASSIFIERS[settings] = (digest, model)
    return model


# ----------------------------------------------------------------------------------------------------
# class histograms


def class_shares(labels, classes: int) -> torch.Tensor:
    """The share of each class among each replica's labels: (R, M) long -> (R, classes) float64, rows sum to 1."""
    classes = _positive_int(classes, "classes")
    y = _labels(labels, "labels", classes, 2)
    ones = torch.ones(y.shape, dtype=torch.float64)
    counts = torch.zeros(y.shape[0], classes, dtype=torch.float64).scatter_add_(1, y, ones)
    return counts / y.shape[1]


def _shares(shares) -> torch.Tensor:
    p = _tensor(shares, "shares", 2)
    if bool((p < 0).any()):
        raise ValueError("shares must be non-negative")
    return p


def entropy(shares) -> torch.Tensor:
    """The entropy -sum_c p_c log p_c of each replica's shares (R, C), in nats (0 log 0 = 0): (R,)."""
    p = _shares(shares)
    return -torch.xlogy(p, p).sum(-1)


def rare_mass(shares, k: int = 3) -> torch.Tensor:
    """The summed share of each replica's own k rarest classes (its k smallest shares): (R, C) -> (R,).
    The rarest classes are chosen per replica, after the fact; for a fixed set (the classes rarest in
    the real data) index the shares instead."""
    p = _shares(shares)
    k = _positive_int(k, "k")
    if k > p.shape[1]:
        raise ValueError(f"k must be at most the number of classes {p.shape[1]}, got {k}")
    return p.sort(-1).values[:, :k].sum(-1)


def min_share(shares) -> torch.Tensor:
    """The smallest class share of each replica: (R, C) -> (R,)."""
    return _shares(shares).min(-1).values


# ----------------------------------------------------------------------------------------------------
# the Frechet distance


def _clip(w: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """Eigenvalues (..., F) of a symmetric PSD matrix with those at or below the rounding level
    F * eps * scale set to 0 (``scale`` (...,): a bound on the matrix's norm, whatever it was computed
    from): they are indistinguishable from 0, and the square root (not Lipschitz at 0) would turn a
    rounding error of 1e-16 into one of 1e-8."""
    tol = w.shape[-1] * torch.finfo(w.dtype).eps * scale.unsqueeze(-1)
    return torch.where(w > tol, w, torch.zeros_like(w))


def _psd_sqrt(S: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The symmetric square root of symmetric PSD matrices (..., F, F) by eigendecomposition, with
    eigenvalues at the rounding level or below 0 set to 0 (:func:`_clip`); and the largest eigenvalue."""
    w, V = torch.linalg.eigh(0.5 * (S + S.transpose(-1, -2)))
    top = w.abs().amax(-1)
    return (V * _clip(w, top).sqrt().unsqueeze(-2)) @ V.transpose(-1, -2), top


def frechet_gaussians(mu1, cov1, mu2, cov2) -> torch.Tensor:
    """The Frechet (2-Wasserstein squared) distance between N(mu1, cov1) and N(mu2, cov2):
    ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1^{1/2} S2 S1^{1/2})^{1/2}), in float64.

    Shapes broadcast: mu (..., F), cov (..., F, F); the result has the broadcast leading shape. Computed
    with symmetric eigendecompositions only (S1^{1/2} by eigh; the trace of the inner square root as the
    sum of square roots of the eigenvalues of the symmetrised S1^{1/2} S2 S1^{1/2}); eigenvalues at the
    rounding level ``F * eps * |S1| |S2|`` or below are set to 0, so it is real and accurate for singular
    covariances, as when M < F (relative error ~1e-14 measured on commuting pairs with up to half their
    eigenvalues 0, not the 1e-8 of a bare square root of rounding noise); the result is clipped at 0 (rounding)."""
    mu1, mu2 = _tensor(mu1, "mu1"), _tensor(mu2, "mu2")
    S1, S2 = _tensor(cov1, "cov1"), _tensor(cov2, "cov2")
    for name, S, mu in (("cov1", S1, mu1), ("cov2", S2, mu2)):
        if S.dim() < 2 or S.shape[-1] != S.shape[-2] or S.shape[-1] != mu.shape[-1]:
            raise ValueError(f"{name} must be (..., F, F) with F = {mu.shape[-1]} (its mean's length), "
                             f"got {tuple(S.shape)}")
    root1, top1 = _psd_sqrt(S1)
    top2 = torch.linalg.eigvalsh(0.5 * (S2 + S2.transpose(-1, -2))).abs().amax(-1)
    inner = root1 @ S2 @ root1  # its rounding level is set by |S1| |S2|, not by its own (maybe tiny) norm
    eig = _clip(torch.linalg.eigvalsh(0.5 * (inner + inner.transpose(-1, -2))), top1 * top2)
    trace = S1.diagonal(dim1=-2, dim2=-1).sum(-1) + S2.diagonal(dim1=-2, dim2=-1).sum(-1) - 2 * eig.sqrt().sum(-1)
    return ((mu1 - mu2).pow(2).sum(-1) + trace).clamp_min(0)


def _moments(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The mean (..., F) and unbiased covariance (ddof=1; ..., F, F) over axis -2 of x (..., n, F)."""
    mu = x.mean(-2)
    c = x - mu.unsqueeze(-2)
    return mu, c.transpose(-1, -2) @ c / (x.shape[-2] - 1)


def frechet(real_features, gen_features) -> torch.Tensor:
    """The Frechet distance between a Gaussian fitted to ``real_features`` (N, F) and one fitted to each
    replica's ``gen_features`` (R, M, F): (R,) float64 (:func:`frechet_gaussians`).

    Each Gaussian is the sample mean and the UNBIASED sample covariance (ddof=1, as numpy's ``cov`` and
    the usual FID code). Like every FID, the estimate is biased upward by finite samples (the bias grows
    like F/M): compare generations at equal M and N, never across sample sizes. Callers use pixels
    (flattened images) for 8x8 digits and :meth:`Classifier.features` for 28x28 images."""
    real = _tensor(real_features, "real_features", 2)
    gen = _tensor(gen_features, "gen_features", 3)
    if real.shape[-1] != gen.shape[-1]:
        raise ValueError(f"real_features and gen_features differ in dimension: {real.shape[-1]} vs {gen.shape[-1]}")
    if real.shape[0] < 2 or gen.shape[1] < 2:
        raise ValueError(f"need at least 2 real and 2 generated points per replica for a covariance, got "
                         f"N={real.shape[0]}, M={gen.shape[1]}")
    mu1, S1 = _moments(real)
    mu2, S2 = _moments(gen)
    return frechet_gaussians(mu1, S1, mu2, S2)


# ----------------------------------------------------------------------------------------------------
# the Bernoulli floor and the latent spread


def bernoulli_floor(x) -> torch.Tensor:
    """The least Bernoulli negative log-likelihood that training set ``x`` (R, m, H, W) of pixels in
    [0, 1] admits, per replica: the mean over its m images of the sum over pixels of the binary entropy
    H(x) = -x log x - (1 - x) log(1 - x) (0 at x in {0, 1}), in nats per image; (R,) float64.

    Why it is the floor: a Bernoulli decoder's loss on a pixel of grey level x with predicted mean p is
    the cross-entropy -x log p - (1 - x) log(1 - p) = H(x) + KL(x || p) >= H(x), equal only at p = x; a
    VAE's negative ELBO adds a KL term >= 0. So on grey synthetic pixels (decoder means fed back) the
    train loss cannot fall below this floor even for a perfect model, and a workflow whose training data
    grow greyer has a rising floor: report the loss minus the floor. Binary images have floor 0."""
    t = _tensor(x, "x")
    if t.dim() < 3:
        raise ValueError(f"x must be images (R, m, H, W), got shape {tuple(t.shape)}")
    if bool((t < 0).any()) or bool((t > 1).any()):
        raise ValueError(f"x must lie in [0, 1] for a Bernoulli likelihood, got values in "
                         f"[{float(t.min()):.4g}, {float(t.max()):.4g}] (clip, or use a Gaussian decoder)")
    h = -(torch.xlogy(t, t) + torch.xlogy(1 - t, 1 - t))
    return h.flatten(2).sum(-1).mean(-1)


def latent_spread(means, ddof: int = 1) -> torch.Tensor:
    """Shumailov et al.'s spread of the latent means, per replica: means (R, M, d) -> (R,) float64,

        spread_r = sqrt( (1/d) sum_j Var_i means[r, i, j] ),

    the root of the mean over the d latent dimensions of the variance over the M samples (with ``ddof``:
    1, the unbiased variance, by default; 0 for the maximum-likelihood one). It is the root-mean-square
    per-dimension standard deviation, so an encoder mapping data to N(0, s^2 I) has spread s. Shumailov
    et al. 2024 apply the ORIGINAL (generation-1) encoder to each generation's data: pass that
    encoder's posterior means (``ReplicaModel.encode_mean``)."""
    mu = _tensor(means, "means", 3)
    if ddof not in (0, 1):
        raise ValueError(f"ddof must be 0 or 1, got {ddof!r}")
    if mu.shape[1] <= ddof:
        raise ValueError(f"need more than {ddof} samples per replica, got M={mu.shape[1]}")
    return mu.var(1, correction=ddof).mean(-1).sqrt()
