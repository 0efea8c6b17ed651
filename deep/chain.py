"""The deep layer's model families on the core's generational driver.

A :class:`TorchFamily` is a numerics.driver.Family whose data are torch tensors with a replica axis
``(R, m, *event)`` kept in a deep.pool.TensorPool, and whose models are deep.replica.ReplicaModel s: R
seeds trained as one batched model. Like every family it holds only its configuration: whatever a run
keeps between generations (the generation-1 encoder, held-out data, a fit's training loss) lives in the
driver's chain (``chain.state``), and what a fit measures about itself is put there, never set on the
model. It adds what the one checkpoint of numerics.checkpoint needs to save and rebuild torch objects:

* ``new_model(generator)``: an untrained model (the skeleton a saved state is loaded into);
* ``freeze`` / ``thaw``: a tensor as its array and dtype (moved back to the family's device), a model as
  its state dict.

Each random step (an initialisation, a training run, a sample) seeds its own ``torch.Generator`` from the
chain's numpy generator (:func:`torch_generator`), so a resumed run draws exactly the numbers the
uninterrupted one would have: identical metrics on the CPU.
"""

from __future__ import annotations

import abc
from typing import Any

import numpy as np
import torch

from numerics import driver
from numerics.workflows import Workflow

from .pool import TensorPool
from .replica import ReplicaModel, generator


def torch_generator(rng: np.random.Generator, device: str | torch.device = "cpu") -> torch.Generator:
    """A torch.Generator seeded from ``rng`` (one 63-bit draw): how every torch random step is seeded."""
    return generator(int(rng.integers(2**63)), device)


def as_numpy(x: torch.Tensor) -> np.ndarray:
    """A tensor's values as float64 numpy (metrics are recorded in float64)."""
    return x.detach().double().cpu().numpy()


class TorchFamily(driver.Family):
    """A Family of replica models on tensor data (see the module docstring)."""

    #: Where tensors live (set by subclasses from their config).
    device: torch.device = torch.device("cpu")

    def pool(self, real: torch.Tensor, workflow: Workflow, generations: int) -> TensorPool:
        return TensorPool(real, workflow, generations)

    @abc.abstractmethod
    def new_model(self, generator: torch.Generator) -> ReplicaModel:
        """An untrained model of this family (R replicas)."""

    def freeze(self, obj: Any) -> tuple[str, Any]:
        if isinstance(obj, torch.Tensor):
            return "tensor", obj.detach().cpu().numpy()
        if isinstance(obj, ReplicaModel):
            return "model", {k: v.detach().cpu().numpy() for k, v in obj.state_dict().items()}
        return super().freeze(obj)

    def thaw(self, kind: str, tree: Any) -> Any:
        if kind == "tensor":
            return torch.as_tensor(np.array(tree)).to(self.device)
        if kind == "model":
            model = self.new_model(generator(0))  # a skeleton: its initial draws are overwritten
            try:
                model.load_state_dict({k: torch.as_tensor(np.array(v)).to(self.device) for k, v in tree.items()})
            except (RuntimeError, KeyError) as e:
                raise ValueError(f"the saved model does not fit this configuration ({str(e).splitlines()[0]})") from None
            model.eval()
            return model
        return super().thaw(kind, tree)
