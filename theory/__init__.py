"""Closed forms of model-collapse theory, registered as claims.

>>> from theory import CLAIMS
>>> CLAIMS["regression.accumulate.bound"].expr
pi**2*d*sigma**2/(6*(T - d - 1))
>>> round(CLAIMS["gaussian.w2_risk"].evaluate(sigma=1, T=20, g=10), 7)
0.7464737
"""

from __future__ import annotations

from . import symbols
from ._core import REGISTRY as CLAIMS
from ._core import Claim, Form, Param, Recursion, Source, Step

# Importing a module registers its claims; `collapse list` follows this order.
from . import gaussian, mvgaussian, regression, universality, ridge, kde  # noqa: E402,F401  isort: skip

__all__ = ["CLAIMS", "Claim", "Form", "Param", "Recursion", "Source", "Step", "symbols"]
