"""The symbols every claim is written in, with assumptions so that SymPy can simplify.

Names are the toolkit's parameter names (see the README): a claim's ``.params`` are drawn from here,
and ``claim.evaluate(**values)`` takes the same names as keyword arguments.
"""

from __future__ import annotations

import sympy as sp

#: Standard deviation of the real data (1-D Gaussian chains, regression label noise).
sigma = sp.Symbol("sigma", positive=True)
#: Isotropic variance per coordinate of the real data (multivariate Gaussian). The parameter is named
#: ``sigma2``; the symbol prints as sigma squared (a name ending in a digit would print as a subscript).
sigma2 = sp.Symbol("sigma^2", positive=True)
#: Samples drawn at each step of a 1-D chain, or the rows of a regression design.
T = sp.Symbol("T", integer=True, positive=True)
#: Number of fits in a 1-D Gaussian chain (model g is the result after g fits; g = 0 is the truth).
g = sp.Symbol("g", integer=True, nonnegative=True)
#: Dimension.
d = sp.Symbol("d", integer=True, positive=True)
#: Samples per generation (multivariate Gaussian), or number of fits (regression).
n = sp.Symbol("n", integer=True, positive=True)
#: Iteration (fit) count in Kazdan et al.'s convention: iteration 1 is the fit on real data.
t = sp.Symbol("t", integer=True, positive=True)

#: Generation index inside sums and products over a chain (0-based: step i draws T_i samples).
i = sp.Symbol("i", integer=True, nonnegative=True)
#: Dummy summation indices.
j = sp.Symbol("j", integer=True, positive=True)
k = sp.Symbol("k", integer=True, positive=True)

#: A sample-size schedule T_0, T_1, ...: ``T_sched[i]`` is the number of samples at step i.
T_sched = sp.IndexedBase("T", positive=True)

__all__ = ["sigma", "sigma2", "T", "g", "d", "n", "t", "i", "j", "k", "T_sched"]
