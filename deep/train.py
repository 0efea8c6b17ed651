"""Training R replicas at once: one optimiser over stacked parameters, minibatches per replica.

The trainer knows nothing of the model but its replica interface (deep.replica.ReplicaModel): a
``loss(x, generator) -> (R,)`` per replica, parameters with a leading replica axis. The loss it
minimises is the sum over replicas of each replica's mean loss, so replica r's gradient is what it
would be alone, and Adam (elementwise) over the stacked parameters is R independent Adams: R seeds for
the price of one batched model.

How much training a generation gets is a recorded setting (:class:`Budget`), because the anchors differ
on it: a fixed number of optimiser steps, or epochs over whatever training set the workflow hands over
(so an accumulating workflow trains longer each generation, as in Gerstgrasser et al.). Each replica
draws its own minibatches, without replacement within an epoch (a random permutation per replica and
epoch), from the ``torch.Generator`` the caller seeds: nothing touches torch's global generator.

Weight decay (``Budget.weight_decay``, default 0: plain Adam, as before the setting existed) is
decoupled, torch.optim.AdamW's p <- p - lr * weight_decay * p before the Adam step (Loshchilov & Hutter;
for 'sgd' this equals L2 regularisation, so SGD's own weight_decay is used). It is elementwise, so over
stacked parameters it is R independent AdamWs. As in the GPT recipe (nanoGPT, Hugging Face's Trainer) it
acts on the matrices (per replica at least 2-D: linear and convolution weights, embeddings, the n-gram
table), never on biases or normalisation gains and shifts (per replica 1-D).

A loss that becomes NaN or infinite stops training with one :class:`TrainingError` line naming the
replica, the step and the learning rate.
"""

from __future__ import annotations

import itertools
import math
import os
from dataclasses import dataclass

import torch

from numerics.execute import memory_limit
from theory.errors import UserError

from .replica import ReplicaModel, _need, rand

OPTIMIZERS = ("adam", "sgd")


class TrainingError(UserError, FloatingPointError):
    """Training that cannot go on (a NaN or infinite loss); the message says where and what to change."""


class MemoryBudgetError(TrainingError, MemoryError):
    """A torch run whose resident memory passed its budget although it was sized before it started."""


#: Training checks the process's resident memory every this many steps (reading /proc costs microseconds).
MEMORY_EVERY = 16


def resident_bytes() -> float:
    """This process's resident memory (Linux /proc; 0 where it cannot be read)."""
    try:
        with open("/proc/self/statm") as f:
            return float(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0.0


def check_memory(where: str) -> None:
    """Stop a run (one line, nothing of its cell stored) whose memory grew past :func:`memory_limit` although
    the estimate made before it started let it run: the backstop of numerics.execute.check_resources."""
    used, limit = resident_bytes(), memory_limit()
    if used > limit:
        raise MemoryBudgetError(f"{where}: this process holds {used / 2**30:.1f} GiB, past its budget of "
                                f"{limit / 2**30:.1f} GiB (0.8 of the machine's memory over one worker per core; "
                                "COLLAPSE_MEMORY_LIMIT sets it in bytes): use a smaller model, batch or vocabulary")


@dataclass(frozen=True)
class Budget:
    """The training one generation gets (fixed ``steps``, or ``epochs`` over its training set)."""

    steps: int | None = None  # a fixed number of optimiser steps per generation (exclusive with epochs)
    epochs: float | None = None  # epochs over the training set the workflow hands over (grows under accumulate)
    batch: int = 64  # minibatch size per replica (capped at the training-set size; 0: the whole set)
    lr: float = 1e-3  # learning rate
    optimizer: str = "adam"  # 'adam' (torch.optim.Adam, default betas) or 'sgd' (plain gradient descent)
    decay: bool = False  # cosine decay of the learning rate to 0 over the generation's steps (for convergence)
    weight_decay: float = 0.0  # decoupled weight decay (AdamW) of the matrices (see the module docstring); 0: off
    # torch's fused optimiser kernel (one call a step for every parameter, its rounding not the plain loop's): what
    # pays where steps are overhead-bound (the bridge models: 1.1-1.3x faster a step, 200 seeds of 5 x 5 matrices)
    fused: bool = False

    def __post_init__(self):
        if (self.steps is None) == (self.epochs is None):
            raise ValueError(f"give steps or epochs (one of them), got steps={self.steps!r}, epochs={self.epochs!r}")
        if self.steps is not None and (isinstance(self.steps, bool) or int(self.steps) != self.steps or self.steps < 1):
            raise ValueError(f"steps must be a positive integer, got {self.steps!r}")
        if self.epochs is not None and not (isinstance(self.epochs, (int, float)) and 0 < self.epochs < math.inf):
            raise ValueError(f"epochs must be a positive number, got {self.epochs!r}")
        if isinstance(self.batch, bool) or int(self.batch) != self.batch or self.batch < 0:
            raise ValueError(f"batch must be a non-negative integer (0: the whole training set), got {self.batch!r}")
        if not (isinstance(self.lr, (int, float)) and 0 < self.lr < math.inf):
            raise ValueError(f"lr must be a positive number, got {self.lr!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        wd = self.weight_decay
        if isinstance(wd, bool) or not (isinstance(wd, (int, float)) and 0 <= wd < math.inf):
            raise ValueError(f"weight_decay must be a non-negative number (0: off), got {wd!r}")

    def batch_size(self, m: int) -> int:
        return m if self.batch == 0 else min(int(self.batch), m)

    def total_steps(self, m: int) -> int:
        """Optimiser steps for a training set of ``m`` points per replica."""
        if self.steps is not None:
            return int(self.steps)
        return max(1, math.ceil(self.epochs * m / self.batch_size(m)))


def batches(R: int, m: int, size: int, steps: int, generator: torch.Generator, device):
    """Row indices (R, size) for ``steps`` minibatches: each replica walks its own random permutation of
    range(m), a new one each epoch (the last batch of an epoch takes what is left, topped up from the
    next permutation, so every batch has ``size`` rows)."""
    order = torch.empty(R, 0, dtype=torch.long, device=device)
    for _ in range(steps):
        while order.shape[1] < size:
            perm = torch.argsort(rand((R, m), generator, device), dim=1)
            order = torch.cat([order, perm], dim=1)
        yield order[:, :size]
        order = order[:, size:]


def take(data: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """``data[r, idx[r]]`` for each replica: (R, k, ...) from (R, m, ...) and (R, k)."""
    index = idx.reshape(idx.shape + (1,) * (data.dim() - 2)).expand(idx.shape + tuple(data.shape[2:]))
    return torch.gather(data, 1, index.to(data.device))


def param_groups(model: ReplicaModel, weight_decay: float) -> list[dict]:
    """The trainable parameters as optimiser groups: the decayed ones (at least 2-D per replica: weights,
    embeddings, tables) with ``weight_decay``, the rest (biases, normalisation gains) with none."""
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [{"params": [p for p in params if p.dim() >= 3], "weight_decay": weight_decay},
              {"params": [p for p in params if p.dim() < 3], "weight_decay": 0.0}]
    return [g for g in groups if g["params"]]


def optimizer(model: ReplicaModel, budget: Budget) -> torch.optim.Optimizer:
    """The budget's optimiser over the model's trainable parameters."""
    if budget.weight_decay == 0:  # off: plain Adam (or SGD) over one group of every parameter
        params = [p for p in model.parameters() if p.requires_grad]
        adam = torch.optim.Adam
    else:
        params = param_groups(model, budget.weight_decay)
        adam = torch.optim.AdamW
    kw = {"lr": budget.lr, **({"fused": True} if budget.fused else {})}
    return adam(params, **kw) if budget.optimizer == "adam" else torch.optim.SGD(params, **kw)


def _finite(loss: torch.Tensor, step: int, steps: int, lr: float) -> None:
    if not torch.isfinite(loss).all():
        bad = int((~torch.isfinite(loss)).nonzero()[0])
        raise TrainingError(f"training diverged: the loss of replica {bad} is {float(loss[bad])} at step {step} of "
                            f"{steps}; lower the learning rate (lr = {lr:g}) or check the training data")


def train(model: ReplicaModel, data: torch.Tensor, budget: Budget, generator: torch.Generator) -> int:
    """Train ``model`` on ``data`` ``(R, m, *event)`` for ``budget``; returns the number of steps taken."""
    _need(generator, "train")
    data = model.check(data, "training data")
    R, m = data.shape[:2]
    size, steps = budget.batch_size(m), budget.total_steps(m)
    opt = optimizer(model, budget)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps) if budget.decay else None
    model.train()
    full = size == m
    # A full batch is every row at every step: no permutation is drawn for it (drawing one per step took a
    # quarter of the bridges' training time, and nothing read it).
    order = itertools.repeat(None) if full else batches(R, m, size, steps, generator, data.device)
    batch = model.batch_summary(data) if full else None
    for step, idx in zip(range(1, steps + 1), order):
        x = batch if full else take(data, idx)
        loss = model.loss(x, generator)
        _finite(loss.detach(), step, steps, budget.lr)
        opt.zero_grad(set_to_none=True)
        loss.sum().backward()
        opt.step()
        if sched is not None:
            sched.step()
        if step % MEMORY_EVERY == 1:
            check_memory(f"training step {step} of {steps}")
    model.eval()
    model.remember(data)
    return steps


@torch.no_grad()
def evaluate(model: ReplicaModel, data: torch.Tensor, generator: torch.Generator, chunk: int = 2048) -> torch.Tensor:
    """The model's mean loss per replica over ``data`` ``(R, m, *event)`` or ``(m, *event)`` (the same points for
    every replica), in chunks: (R,) float64."""
    if data.dim() == len(model.event_shape) + 1:
        data = data.unsqueeze(0).expand(model.replicas, *data.shape)
    m = data.shape[1]
    if m < 1:
        raise ValueError("cannot evaluate a loss on an empty data set")
    total = torch.zeros(model.replicas, dtype=torch.float64, device=model.device)
    for i in range(0, m, chunk):
        x = data[:, i:i + chunk]
        total += model.loss(x, generator).double() * x.shape[1]
    return total / m
