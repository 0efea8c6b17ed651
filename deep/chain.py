"""The deep layer's model families on the core's generational driver, with a checkpoint per generation.

A :class:`TorchFamily` is a numerics.driver.Family whose data are torch tensors with a replica axis
(R, m, *event) kept in a deep.pool.TensorPool, and whose models are deep.replica.ReplicaModel s: R
seeds trained as one batched model. It adds what a long run needs to be saved and resumed:

* ``new_model(generator)``: an untrained model (the skeleton a saved state is loaded into);
* ``state()`` / ``restore(state)``: whatever the family keeps between generations besides the model
  and the pool (e.g. the generation-1 encoder that measures the latent spread).

:func:`run_chain` runs one through numerics.driver.run and, given a checkpoint path, saves the whole
chain after every generation (deep.checkpoint: atomic, header-checked) and resumes from it: the
driver's records, the model's tensors, the pool, the family's own state and the numpy generator every
random number comes from. Each random step (an initialisation, a training run, a sample) seeds its own
``torch.Generator`` from that numpy generator (:func:`torch_generator`), so a resumed run draws exactly
the numbers the uninterrupted one would have: identical metrics on the CPU.
"""

from __future__ import annotations

import json

import numpy as np
import torch

from numerics import driver
from numerics.workflows import Workflow

from . import checkpoint as ckpt
from .pool import TensorPool
from .replica import ReplicaModel, generator


def torch_generator(rng: np.random.Generator, device: str | torch.device = "cpu") -> torch.Generator:
    """A torch.Generator seeded from ``rng`` (one 63-bit draw): how every torch random step is seeded."""
    return generator(int(rng.integers(2**63)), device)


class TorchFamily(driver.Family):
    """A Family of replica models on tensor data (see the module docstring)."""

    def pool(self, real: torch.Tensor, workflow: Workflow, generations: int) -> TensorPool:
        return TensorPool(real, workflow, generations)

    def new_model(self, generator: torch.Generator) -> ReplicaModel:
        """An untrained model of this family (R replicas)."""
        raise NotImplementedError

    def state(self) -> dict:
        """What the family keeps between generations besides the model and the pool (tensors, numbers)."""
        return {}

    def restore(self, state: dict) -> None:
        """Take back what :meth:`state` saved."""

    # -- saving the model ---------------------------------------------------------------------------
    def save_model(self, model: ReplicaModel | None) -> dict | None:
        return None if model is None else {k: v.detach().cpu() for k, v in model.state_dict().items()}

    def load_model(self, state: dict | None) -> ReplicaModel | None:
        """A saved model: an untrained skeleton (its initial draws are overwritten) with ``state`` loaded."""
        if state is None:
            return None
        model = self.new_model(generator(0))
        device = model.device
        model.load_state_dict({k: v.to(device) for k, v in state.items()})
        model.eval()
        return model


def _records_state(records: dict[str, list]) -> dict:
    return {k: [torch.as_tensor(np.asarray(v, dtype=float)) for v in vs] for k, vs in records.items()}


def _records_restore(state: dict) -> dict[str, list]:
    return {k: [v.numpy() for v in vs] for k, vs in state.items()}


def _pool_state(pool: TensorPool) -> dict:
    return {k: (v.detach().cpu() if isinstance(v, torch.Tensor) else v) for k, v in pool.state().items()}


def header_of(name: str, settings: dict, trials: int, generations: int, rng: np.random.Generator) -> dict:
    """What identifies a run: the simulator, its settings, the trials, the generations and the seed
    (the generator's starting state)."""
    start = rng.bit_generator.state
    return {"simulator": name, "settings": json.dumps(settings, sort_keys=True, default=str), "trials": int(trials),
            "generations": int(generations), "seed": json.dumps(start, sort_keys=True, default=str)}


def run_chain(family: TorchFamily, workflow: Workflow, generations: int, trials: int, rng: np.random.Generator,
              *, checkpoint: str | None = None, header: dict | None = None) -> dict[str, np.ndarray]:
    """numerics.driver.run for a TorchFamily, saving the chain after each generation at ``checkpoint``
    (if given) and resuming from what is saved there. ``header`` identifies the run (:func:`header_of`);
    a checkpoint with another header is refused with one line (deep.checkpoint.CheckpointError)."""
    chain = None
    if checkpoint is not None:
        if header is None:
            raise ValueError("a checkpointed run needs a header (deep.chain.header_of)")
        saved = ckpt.load(checkpoint, header)
        if saved is not None:
            chain = driver.Chain(workflow, generations, trials, done=int(saved["done"]))
            chain.records = _records_restore(saved["records"])
            chain.pool = family.pool(saved["pool"]["real"], workflow, generations)
            chain.pool.restore(saved["pool"])
            chain.model = family.load_model(saved["model"])
            family.restore(saved["family"])
            ckpt.set_rng_state(rng, saved["rng"])
            if chain.done >= generations:
                return chain.outputs()

    def after(ch: driver.Chain) -> None:
        if checkpoint is None:
            return
        ckpt.save(checkpoint, header, {
            "done": ch.done, "records": _records_state(ch.records), "pool": _pool_state(ch.pool),
            "model": family.save_model(ch.model), "family": family.state(), "rng": ckpt.rng_state(rng),
        })

    return driver.run(family, workflow, generations, trials, rng, chain=chain, after=after)
