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

# -- Dey & Donoho ------------------------------------------------------------------------------
#: Second generation index of the limiting Gaussian process Cov(Z_k, Z_l).
l = sp.Symbol("l", integer=True, positive=True)
#: Synthetic batch size per generation, as a fraction of the real sample size n.
alpha = sp.Symbol("alpha", positive=True)

# -- Dohmatob, Feng & Kempe: ridge downstream of a collapsed generator --------------------------
#: Ridge penalty (prints as lambda).
lam = sp.Symbol("lambda", nonnegative=True)
#: Downstream training samples, and generator training samples per generation.
T0 = sp.Symbol("T_0", integer=True, positive=True)
#: Label noise of the generator's data.
sigma0 = sp.Symbol("sigma_0", positive=True)
#: Norm of the true weight vector.
w0_norm = sp.Symbol("||w_0||", positive=True)
#: Power-law exponent of the spectrum (eigenvalues proportional to j^-beta).
beta = sp.Symbol("beta", positive=True)
#: Order of the degrees of freedom df_m, and the argument of df_m.
m = sp.Symbol("m", integer=True, positive=True)
kappa = sp.Symbol("kappa", nonnegative=True)
#: The eigenvalues s_1..s_d of Sigma, and the true weights in Sigma's eigenbasis.
eigenvalues = sp.IndexedBase("s", positive=True)
w0 = sp.IndexedBase("w_0", real=True)

# -- KDE -----------------------------------------------------------------------------------------
#: Bandwidth (fixed), or a schedule h_1, h_2, ... (``h_sched[t]`` is the bandwidth of fit t).
h = sp.Symbol("h", positive=True)
h_sched = sp.IndexedBase("h", positive=True)

#: Parameters given as sequences: the IndexedBase they bind to and the index of their first entry.
INDEXED = {"T": (T_sched, 0), "h": (h_sched, 1), "eigenvalues": (eigenvalues, 1), "w0": (w0, 1)}
#: Of those, the schedules (a sequence selects the claim's schedule form).
SCHEDULED = {"T", "h"}

__all__ = [
    "sigma", "sigma2", "T", "g", "d", "n", "t", "i", "j", "k", "l", "T_sched", "alpha", "lam", "T0",
    "sigma0", "w0_norm", "beta", "m", "kappa", "eigenvalues", "w0", "h", "h_sched", "INDEXED", "SCHEDULED",
]

# -- Categorical (the language-model side: frequencies refitted on their own samples) -------------
#: Vocabulary size (number of symbols with positive probability).
K = sp.Symbol("K", integer=True, positive=True)
#: Initial probability of one symbol.
p = sp.Symbol("p", positive=True)
#: Share of real points in each real-fraction training set (prints as rho), and the real points per
#: training set it gives, n_r = round(rho n) (``real_rows``, as in ``numerics.workflows``).
real_fraction = sp.Symbol("rho", nonnegative=True)
real_rows = sp.Symbol("n_r", integer=True, nonnegative=True)
#: The true probabilities p0_1..p0_K.
probabilities = sp.IndexedBase("p0", positive=True)

INDEXED["probabilities"] = (probabilities, 1)
__all__ += ["K", "p", "real_fraction", "real_rows", "probabilities"]
