"""Closed forms of model-collapse theory, registered as claims.

>>> from theory import CLAIMS
>>> CLAIMS["regression.accumulate.bound"].expr
pi**2*d*sigma**2/(6*(T - d - 1))
>>> round(CLAIMS["gaussian.w2_risk"].evaluate(sigma=1, T=20, g=10), 7)
0.7464737

The package is laid out by responsibility: ``claim`` (what a claim is: Source, Form, Recursion,
Claim), ``validation`` (parameters and how values are checked), ``evaluation`` (mpmath evaluation,
bounded in work), ``registry`` (the id -> claim mapping), ``expressions`` (user text to SymPy without
running Python), ``workflows`` (the workflow names every layer uses), and one module per family of
results (``gaussian``, ``mvgaussian``, ``regression``, ``universality``, ``ridge``, ``kde``).
"""

from __future__ import annotations

from . import symbols
from .claim import Claim, Form, Recursion, Source, Step
from .registry import REGISTRY as CLAIMS
from .validation import Param

# Importing a module registers its claims; `collapse list` follows this order.
from . import gaussian, mvgaussian, regression, universality, ridge, kde, categorical  # noqa: E402,F401  isort: skip

__all__ = ["CLAIMS", "Claim", "Form", "Param", "Recursion", "Source", "Step", "symbols"]
