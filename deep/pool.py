"""The workflows' pool for torch tensors: numerics.workflows.ArrayPool's bookkeeping, torch's arrays.

A batch is a tensor ``(R, m, *event)`` with a replica axis (images, token windows, Gaussian points), kept on
the model's device. The workflow plans index rows with numpy arrays; here they become index tensors.
"""

from __future__ import annotations

import numpy as np
import torch

from numerics.workflows import ArrayPool

from .train import take


class TensorPool(ArrayPool):
    """Stored batches as torch tensors with a replica axis (the same plans as for numpy arrays)."""

    @staticmethod
    def _empty(shape: tuple, like: torch.Tensor) -> torch.Tensor:
        return torch.empty(shape, dtype=like.dtype, device=like.device)

    @staticmethod
    def _concat(arrays: list) -> torch.Tensor:
        return torch.cat(arrays, dim=1)

    @staticmethod
    def _take(data: torch.Tensor, idx: np.ndarray) -> torch.Tensor:
        return take(data, torch.as_tensor(np.ascontiguousarray(idx), dtype=torch.long, device=data.device))
