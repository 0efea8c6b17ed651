"""Closed forms of model-collapse theory, registered as claims.

>>> from theory import CLAIMS
>>> CLAIMS["regression.accumulate.bound"].expr
pi**2*d*sigma**2/(6*(T - d - 1))
>>> round(CLAIMS["gaussian.w2_risk"].evaluate(sigma=1, T=20, g=10), 7)
0.7464737
>>> CLAIMS["gaussian.w2_risk"].quantity
'gaussian.w2'

The package is laid out by responsibility: ``claim`` (what a claim is: Source, Form, Recursion,
Claim), ``quantities`` (what claims predict and simulators measure), ``checks`` (how a claim is held
against simulation), ``validation`` (parameters and how values are checked), ``evaluation`` (mpmath
evaluation, bounded in work), ``registry`` (the id -> claim mapping, filled from the ``collapse.claims``
entry points of every installed package: ``plugins``), ``expressions`` (user text to SymPy without
running Python), ``workflows`` (the workflow names every layer uses), and one module per family of
results (``gaussian``, ``mvgaussian``, ``regression``, ``universality``, ``ridge``, ``kde``,
``categorical``).

Importing the package is light (no SymPy): the names below load on first use, so that the layers above
can import ``theory.errors`` or ``theory.workflows`` without the closed forms.
"""

from __future__ import annotations

__all__ = ["CLAIMS", "QUANTITIES", "Claim", "Form", "Param", "Quantity", "Recursion", "Source", "Step", "symbols"]

_LAZY = {
    "CLAIMS": ("registry", "REGISTRY"), "QUANTITIES": ("quantities", "QUANTITIES"), "Quantity": ("quantities", "Quantity"),
    "Claim": ("claim", "Claim"), "Form": ("claim", "Form"), "Recursion": ("claim", "Recursion"),
    "Source": ("claim", "Source"), "Step": ("claim", "Step"), "Param": ("validation", "Param"),
}


def __getattr__(name: str):
    import importlib

    if name == "symbols":
        return importlib.import_module(".symbols", __name__)
    if name in _LAZY:
        module, attr = _LAZY[name]
        return getattr(importlib.import_module(f".{module}", __name__), attr)
    raise AttributeError(f"module 'theory' has no attribute {name!r}")
