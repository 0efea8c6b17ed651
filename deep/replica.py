"""Seeds as a replica axis: R independent models trained as one batched model.

Every parameter and buffer of a :class:`ReplicaModel` has a leading replica axis of length R, and every
activation is a tensor (R, B, ...): replica r's numbers only ever meet replica r's numbers. A linear
layer is one ``torch.baddbmm``; a convolution is one grouped convolution with the replicas folded into
the channels (``groups=R``). The loss a trainer minimises is the SUM over replicas of each replica's
mean loss, so the gradient of replica r is exactly what it would be alone, and Adam (elementwise) over
the stacked parameters is exactly R independent Adams.

Randomness: every stochastic function takes a ``torch.Generator`` seeded by the caller; nothing here
touches torch's global generator. The helpers below draw on the generator's own device and move the
numbers to where they are used, so a CPU generator gives the same random numbers whatever the device.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

# ----------------------------------------------------------------------------------------------------
# process set-up and random numbers


def setup_threads(threads: int = 1) -> None:
    """Use ``threads`` intra-op threads (default 1: on a shared 2-core machine one thread per process was
    measured 3-14x faster than two under load; run replicas in one batched model, processes side by side)."""
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    torch.set_num_threads(threads)


def default_device() -> torch.device:
    """CUDA when present, else the CPU (never required)."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def generator(seed: int, device: str | torch.device = "cpu") -> torch.Generator:
    """A ``torch.Generator`` seeded with ``seed`` (a CPU one by default: the same numbers on any device)."""
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return torch.Generator(device=device).manual_seed(seed)


def _need(generator: torch.Generator | None, what: str) -> torch.Generator:
    if not isinstance(generator, torch.Generator):
        raise ValueError(f"{what} is random: pass generator=torch.Generator().manual_seed(seed), got {generator!r}")
    return generator


def randn(shape: Sequence[int], generator: torch.Generator, device=None) -> torch.Tensor:
    """Standard normals drawn on the generator's device, returned on ``device`` (fp32)."""
    return torch.randn(tuple(shape), generator=generator, device=generator.device).to(device or generator.device)


def rand(shape: Sequence[int], generator: torch.Generator, device=None) -> torch.Tensor:
    """Uniforms on [0, 1) drawn on the generator's device, returned on ``device`` (fp32)."""
    return torch.rand(tuple(shape), generator=generator, device=generator.device).to(device or generator.device)


def randint(high: int, shape: Sequence[int], generator: torch.Generator, device=None) -> torch.Tensor:
    """Integers uniform on {0, ..., high-1} drawn on the generator's device, returned on ``device``."""
    return torch.randint(high, tuple(shape), generator=generator, device=generator.device).to(device or generator.device)


def uniform_(param: torch.Tensor, bound: float, generator: torch.Generator) -> None:
    """Fill ``param`` in place with U(-bound, bound) draws from ``generator``."""
    with torch.no_grad():
        param.copy_((rand(param.shape, generator, param.device) * 2 - 1) * bound)


# ----------------------------------------------------------------------------------------------------
# layers


class ReplicaLinear(nn.Module):
    """R affine maps at once: x (R, B, fan_in) -> (R, B, fan_out) = x @ weight[r] + bias[r]."""

    def __init__(self, replicas: int, fan_in: int, fan_out: int, device=None):
        super().__init__()
        self.replicas, self.fan_in, self.fan_out = replicas, fan_in, fan_out
        self.weight = nn.Parameter(torch.empty(replicas, fan_in, fan_out, device=device))
        self.bias = nn.Parameter(torch.empty(replicas, fan_out, device=device))

    def reset_parameters(self, generator: torch.Generator) -> None:
        """PyTorch's default for nn.Linear: weight and bias U(+-1/sqrt(fan_in)), here from ``generator``."""
        bound = 1 / math.sqrt(self.fan_in)
        uniform_(self.weight, bound, generator)
        uniform_(self.bias, bound, generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.baddbmm(self.bias.unsqueeze(1), x, self.weight)


def fold(x: torch.Tensor) -> torch.Tensor:
    """Replicas into channels: (R, B, C, H, W) -> (B, R*C, H, W), the layout of the grouped convolutions."""
    R, B, C = x.shape[:3]
    return x.transpose(0, 1).reshape(B, R * C, *x.shape[3:])


def unfold(x: torch.Tensor, replicas: int) -> torch.Tensor:
    """The inverse of :func:`fold`: (B, R*C, H, W) -> (R, B, C, H, W)."""
    B, RC = x.shape[:2]
    return x.reshape(B, replicas, RC // replicas, *x.shape[2:]).transpose(0, 1)


class ReplicaConv2d(nn.Module):
    """R convolutions as one grouped convolution; input and output in the folded layout (B, R*C, H, W).

    One launch per layer for all replicas (what pays on a GPU); on the CPU, where each replica's
    convolution at 28x28 is already large, its speed against a loop over models is not benchmarked.
    """

    def __init__(self, replicas: int, in_channels: int, out_channels: int, kernel: int, stride: int = 1,
                 padding: int = 0, device=None):
        super().__init__()
        self.replicas, self.in_channels, self.out_channels = replicas, in_channels, out_channels
        self.kernel, self.stride, self.padding = kernel, stride, padding
        self.weight = nn.Parameter(torch.empty(replicas, out_channels, in_channels, kernel, kernel, device=device))
        self.bias = nn.Parameter(torch.empty(replicas, out_channels, device=device))

    def reset_parameters(self, generator: torch.Generator) -> None:
        """PyTorch's default for nn.Conv2d: U(+-1/sqrt(fan_in)), fan_in = in_channels * kernel^2."""
        bound = 1 / math.sqrt(self.in_channels * self.kernel**2)
        uniform_(self.weight, bound, generator)
        uniform_(self.bias, bound, generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.weight.reshape(self.replicas * self.out_channels, self.in_channels, self.kernel, self.kernel)
        return F.conv2d(x, w, self.bias.reshape(-1), self.stride, self.padding, groups=self.replicas)


class ReplicaConvTranspose2d(ReplicaConv2d):
    """R transposed convolutions as one grouped transposed convolution (folded layout in and out)."""

    def __init__(self, replicas: int, in_channels: int, out_channels: int, kernel: int, stride: int = 1,
                 padding: int = 0, device=None):
        super().__init__(replicas, in_channels, out_channels, kernel, stride, padding, device)
        self.weight = nn.Parameter(torch.empty(replicas, in_channels, out_channels, kernel, kernel, device=device))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.weight.reshape(self.replicas * self.in_channels, self.out_channels, self.kernel, self.kernel)
        return F.conv_transpose2d(x, w, self.bias.reshape(-1), self.stride, self.padding, groups=self.replicas)


# ----------------------------------------------------------------------------------------------------
# the model interface


class ReplicaModel(nn.Module):
    """A batch of R independent generative models (every parameter and buffer has a leading R axis).

    Subclasses set ``RULES`` (the sampling rules, first = default) and implement ``loss``, ``encode``,
    ``decode``, ``sample``; ``event_shape`` is the shape of one data point (an image (H, W), a vector (D,)).
    """

    RULES: tuple[str, ...] = ()
    #: Buffers whose shape depends on the training set (e.g. an autoencoder's stored codes); loading a
    #: state dict resizes them.
    RESIZABLE: tuple[str, ...] = ()

    def __init__(self, config, replicas: int):
        super().__init__()
        if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 1:
            raise ValueError(f"replicas must be a positive integer, got {replicas!r}")
        self.config, self.replicas = config, replicas

    @property
    def event_shape(self) -> tuple[int, ...]:
        return tuple(self.config.event_shape)

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def reset_parameters(self, generator: torch.Generator) -> None:
        """A fresh initialisation from ``generator`` (training from scratch); layers in registration order."""
        _need(generator, "reset_parameters")
        for module in self.modules():
            if module is not self and hasattr(module, "reset_parameters"):
                module.reset_parameters(generator)
        self._reset_own(generator)

    def _reset_own(self, generator: torch.Generator) -> None:
        """Initialise the parameters the model holds itself (not in a layer); none by default."""

    def remember(self, data: torch.Tensor) -> None:
        """Called by the trainer with the training set once training ends (an AE fits its codes); no-op."""

    def batch_summary(self, x: torch.Tensor):
        """What :meth:`loss` reads of a batch, computed once where one batch serves every step (deep.train's full
        batch): the batch itself by default. A model whose loss needs only a summary of its batch returns that
        summary (the bridge models: its mean and covariance), and its ``loss`` takes it in place of the points."""
        return x

    def check(self, x: torch.Tensor, name: str = "x") -> torch.Tensor:
        """``x`` as fp32 on the model's device, after checking its shape is ``(R, B, *event_shape)``, B >= 1."""
        want = (self.replicas, "B", *self.event_shape)
        if not isinstance(x, torch.Tensor):
            raise ValueError(f"{name} must be a torch.Tensor of shape {want}, got {type(x).__name__}")
        if x.dim() != 2 + len(self.event_shape) or x.shape[0] != self.replicas or tuple(x.shape[2:]) != self.event_shape:
            raise ValueError(f"{name} must have shape (R, B, *event) = {want}, got {tuple(x.shape)}")
        if x.shape[1] < 1:
            raise ValueError(f"{name} is empty: shape {tuple(x.shape)}")
        if not x.is_floating_point():
            raise ValueError(f"{name} must be a floating-point tensor (images scaled to [0, 1]), got dtype {x.dtype}")
        return x.to(device=self.device, dtype=torch.float32)

    def check_rule(self, rule: str) -> str:
        if rule not in self.RULES:
            raise ValueError(f"rule must be one of {', '.join(map(repr, self.RULES))} for {type(self).__name__}, got {rule!r}")
        return rule

    def encode_mean(self, x: torch.Tensor) -> torch.Tensor:
        """The latent point of each x: a VAE's posterior mean, an AE's code; (R, B, latent)."""
        out = self.encode(x)
        return out[0] if isinstance(out, tuple) else out

    def select(self, index) -> "ReplicaModel":
        """A new model holding the replicas ``index`` (an int or a sequence) of this one, copied."""
        index = torch.as_tensor(index, dtype=torch.long).reshape(-1)
        if index.numel() == 0 or int(index.min()) < -self.replicas or int(index.max()) >= self.replicas:
            raise ValueError(f"index must name replicas in 0..{self.replicas - 1}, got {index.tolist()}")
        new = copy.deepcopy(self)
        for module in new.modules():
            for name, p in module._parameters.items():
                if p is not None:
                    module._parameters[name] = nn.Parameter(p.detach()[index.to(p.device)].clone())
            for name, b in module._buffers.items():
                if b is not None:
                    module._buffers[name] = b[index.to(b.device)].clone()
            if hasattr(module, "replicas"):
                module.replicas = index.numel()
        return new

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        for name in self.RESIZABLE:  # a stored training set's codes: take the saved shape
            saved = state_dict.get(prefix + name)
            if saved is not None:
                self._buffers[name] = torch.empty_like(saved, device=self.device)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
