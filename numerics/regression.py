"""Linear regression retrained on its own labels (Gerstgrasser et al.; Dohmatob et al.), run for real.

Shortcuts (exact, named):
* fixed design: X is drawn once per trial and reused, so its pseudo-inverse X^+ = (X^T X)^-1 X^T is
  computed once (a batched solve) and each OLS refit is one matrix-vector product, w = X^+ y;
* accumulate with a fixed design: OLS on the stacked design [X; ...; X] with labels [y_1; ...; y_k]
  is X^+ applied to the mean label vector, so a running sum of the labels is kept.
Every other workflow runs the plain loop of numerics.driver: it gathers T rows of the actual pool of
(x, y) rows and solves OLS on them. The Dohmatob and minimum-norm chains run through it too.

Sigma is diagonal in its eigenbasis (``eigenvalues``); the test error is (w - w*)^T Sigma (w - w*).
"""

from __future__ import annotations

import numpy as np

from . import driver
from .driver import Family
from .workflows import Workflow, check_workflow


def _check_sizes(**sizes: int) -> None:
    for name, value in sizes.items():
        if int(value) != value or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _eigs(eigenvalues, d: int | None) -> np.ndarray:
    eig = np.ones(d) if eigenvalues is None else np.asarray(eigenvalues, dtype=float)
    if eig.ndim != 1 or eig.size < 1 or not np.all(np.isfinite(eig)) or np.any(eig <= 0):
        raise ValueError("eigenvalues must be a non-empty sequence of positive numbers (Sigma must be positive definite)")
    return eig


def _design(rng, R, rows, eig):
    return rng.standard_normal((R, rows, eig.size)) * np.sqrt(eig)


def _ols(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Batched OLS through the normal equations: x (R, m, d), y (R, m) -> (R, d)."""
    return np.linalg.solve(x.swapaxes(1, 2) @ x, (x.swapaxes(1, 2) @ y[:, :, None]))[:, :, 0]


def _error(w, w_star, eig):
    diff = w - w_star
    return (diff * diff * eig).sum(axis=1)


class FixedDesignFamily(Family):
    """OLS refitted on fresh labels of one fixed design X (Gerstgrasser et al.): a batch is the rows
    (R, T, d + 1) of [X, y] with y = X w + sigma e, X the same for every batch of a trial."""

    def __init__(self, d: int, T: int, sigma: float, eig: np.ndarray, fresh_design: bool = False):
        self.d, self.T, self.sigma, self.eig, self.fresh = d, T, sigma, eig, fresh_design
        self.X: np.ndarray | None = None

    def _rows(self, w: np.ndarray, rng) -> np.ndarray:
        y = self.sigma * rng.standard_normal((len(w), self.T)) if self.sigma != 1 else rng.standard_normal((len(w), self.T))
        y += np.einsum("rdt,rd->rt", self.Xt, w)
        return np.concatenate([self.X, y[:, :, None]], axis=2)

    def real(self, trials, rng):
        self.X = _design(rng, trials, self.T, self.eig)
        self.Xt = np.ascontiguousarray(self.X.swapaxes(1, 2))  # (R, d, T): the layout einsum contracts fastest
        self.w_star = np.full((trials, self.d), 1 / np.sqrt(self.d))
        return self._rows(self.w_star, rng)

    def fit(self, train, rng, previous):
        return _ols(train[:, :, : self.d], train[:, :, self.d])

    def measure(self, model, rng):
        return {"test_error": _error(model, self.w_star, self.eig)}

    def sample(self, model, size, rng):
        if size != self.T:
            raise ValueError(f"a fixed design relabels its T = {self.T} rows: synthetic batches have T points, not {size}")
        if self.fresh:  # a new design for every batch (what Gerstgrasser et al.'s formula does not cover)
            self.X = _design(rng, len(model), self.T, self.eig)
            self.Xt = np.ascontiguousarray(self.X.swapaxes(1, 2))
        return self._rows(model, rng)


def simulate_fixed_design(trials: int, rng: np.random.Generator, *, d: int, T: int, generations: int, sigma: float = 1.0,
                          workflow: str = "accumulate", eigenvalues=None, shortcut: bool = True,
                          fresh_design: bool = False) -> dict[str, np.ndarray]:
    """Gerstgrasser et al.'s chain: {'test_error': (trials, generations)}, column k-1 after k fits.

    ``replace`` and ``accumulate`` take an exact shortcut (see the module docstring; ``shortcut=False``
    runs the plain loop of numerics.driver instead, which refits OLS on the stacked rows: the same
    numbers up to rounding); the other workflows gather actual rows. ``fresh_design`` draws a new design
    for every synthetic batch (erratum 4: the sum 1/i^2 then fails).
    """
    check_workflow(workflow)
    _check_sizes(d=d, T=T, generations=generations, trials=trials)
    if T < d + 2:
        raise ValueError(f"T must be at least d + 2 for OLS, got T={T}, d={d}")
    if not np.isfinite(sigma) or sigma <= 0:
        raise ValueError(f"sigma must be positive, got {sigma!r}")
    eig = _eigs(eigenvalues, d)
    if eig.size != d:
        raise ValueError(f"eigenvalues must have d = {d} entries, got {eig.size}")
    if shortcut and workflow in ("replace", "accumulate") and not fresh_design:
        return _fixed_design_shortcut(trials, rng, d=d, T=T, generations=generations, sigma=sigma, workflow=workflow, eig=eig)
    family = FixedDesignFamily(d, T, sigma, eig, fresh_design)
    return driver.run(family, Workflow(workflow, n_real=T), generations, trials, rng)


def _fixed_design_shortcut(trials, rng, *, d, T, generations, sigma, workflow, eig) -> dict[str, np.ndarray]:
    """replace and accumulate on a fixed design, exactly (named shortcuts): X^+ once per trial, each
    refit one matrix-vector product; accumulate's stacked OLS as X^+ of the running mean label vector.
    The random numbers are drawn as in the plain loop (X, then each generation's label noise)."""
    R = trials
    X = _design(rng, R, T, eig)
    w_star = np.full((R, d), 1 / np.sqrt(d))
    pinv = np.linalg.solve(X.swapaxes(1, 2) @ X, X.swapaxes(1, 2))  # (R, d, T), once per trial
    Xt = np.ascontiguousarray(X.swapaxes(1, 2))  # (R, d, T): the layout einsum contracts fastest
    out = np.empty((R, generations))
    w = w_star
    label_sum = np.zeros((R, T))
    y = np.empty((R, T))
    for k in range(1, generations + 1):
        rng.standard_normal(out=y)  # labels: X w_{k-1} + sigma E, built in place
        if sigma != 1:
            y *= sigma
        y += np.einsum("rdt,rd->rt", Xt, w)
        if workflow == "replace":
            w = np.einsum("rdt,rt->rd", pinv, y)
        else:  # stacked OLS = X^+ (mean label vector)
            label_sum += y
            w = np.einsum("rdt,rt->rd", pinv, label_sum) / k
        out[:, k - 1] = _error(w, w_star, eig)
    return {"test_error": out}


class DohmatobFamily(Family):
    """OLS generators, each refitted on T0 fresh points labelled by the last (replace, fresh designs),
    measured by a downstream ridge fitted on T fresh points labelled by the generator (Dohmatob et al.)."""

    first = 0  # generation 0: the downstream ridge on clean data (labelled by w0)

    def __init__(self, T, T0, lam, sigma, sigma0, eig, w0):
        self.T, self.T0, self.lam, self.sigma, self.sigma0, self.eig, self.w0 = T, T0, lam, sigma, sigma0, eig, w0

    def truth(self):
        return self.w_true

    def _rows(self, w, rows, noise, rng):
        X = _design(rng, len(w), rows, self.eig)
        y = (X @ w[:, :, None])[:, :, 0] + noise * rng.standard_normal((len(w), rows))
        return X, y

    def real(self, trials, rng):
        X, y = self._rows(self.w_true, self.T0, self.sigma0, rng)
        return np.concatenate([X, y[:, :, None]], axis=2)

    def fit(self, train, rng, previous):
        d = self.eig.size
        return _ols(train[:, :, :d], train[:, :, d])

    def sample(self, model, size, rng):
        X, y = self._rows(model, size, self.sigma0, rng)
        return np.concatenate([X, y[:, :, None]], axis=2)

    def measure(self, model, rng):
        d = self.eig.size
        X, y = self._rows(model, self.T, self.sigma, rng)
        A = X.swapaxes(1, 2) @ X / self.T + self.lam * np.eye(d)
        w = np.linalg.solve(A, X.swapaxes(1, 2) @ y[:, :, None] / self.T)[:, :, 0]
        return {"test_error": _error(w, self.w_true, self.eig)}


def simulate_dohmatob(trials: int, rng: np.random.Generator, *, T: int, T0: int, lam: float, sigma: float,
                      sigma0: float, generations: int, eigenvalues=None, d: int | None = None,
                      w0=None) -> dict[str, np.ndarray]:
    """Dohmatob et al.'s pipeline: {'test_error': (trials, generations + 1)}, column n after n generations.

    Generation k refits an OLS generator on T0 fresh points labelled by generator k-1 plus N(0, sigma0^2)
    noise (generator 0 is w0); the downstream ridge w = (X^T X / T + lam I)^-1 X^T y / T is fitted on T
    fresh points labelled by generator n plus N(0, sigma^2) noise.
    """
    eig = _eigs(eigenvalues, d)
    d = eig.size
    _check_sizes(T=T, T0=T0, trials=trials)
    if isinstance(generations, bool) or int(generations) != generations or generations < 0:
        raise ValueError(f"generations must be an integer >= 0, got {generations!r}")
    if T0 < d + 2:
        raise ValueError(f"T0 must be at least d + 2 (OLS generator), got T0={T0}, d={d}")
    if not lam >= 0 or not np.isfinite(lam):
        raise ValueError(f"lam must be a finite number >= 0, got {lam!r}")
    for name, v in (("sigma", sigma), ("sigma0", sigma0)):
        if not np.isfinite(v) or v < 0:
            raise ValueError(f"{name} must be a finite number >= 0, got {v!r}")
    if lam == 0 and T < d + 2:
        raise ValueError(f"with lam = 0, T must be at least d + 2, got T={T}, d={d}")
    family = DohmatobFamily(T, T0, lam, sigma, sigma0, eig, w0)
    family.w_true = np.broadcast_to(np.full(d, 1 / np.sqrt(d)) if w0 is None else np.asarray(w0, float), (trials, d))
    if generations == 0:
        return {"test_error": family.measure(family.w_true, rng)["test_error"][:, None]}
    return driver.run(family, Workflow("replace", n_real=T0), generations, trials, rng)


class MinNormFamily(Family):
    """Minimum-norm interpolators refitted, noise-free, on fresh over-parametrised isotropic designs."""

    def __init__(self, d: int, T0: int, w0_norm: float):
        self.d, self.T0, self.w0_norm = d, T0, w0_norm

    def _rows(self, w, rng):
        X = rng.standard_normal((len(w), self.T0, self.d))
        return np.concatenate([X, np.einsum("rtd,rd->rt", X, w)[:, :, None]], axis=2)

    def real(self, trials, rng):
        self.w0 = np.zeros((trials, self.d))
        self.w0[:, 0] = self.w0_norm
        return self._rows(self.w0, rng)

    def fit(self, train, rng, previous):
        X, y = train[:, :, : self.d], train[:, :, self.d]
        alpha = np.linalg.solve(X @ X.swapaxes(1, 2), y[:, :, None])  # (X X^T)^-1 y
        return (X.swapaxes(1, 2) @ alpha)[:, :, 0]

    def measure(self, model, rng):
        diff = model - self.w0
        return {"error": (diff * diff).sum(axis=1)}

    def sample(self, model, size, rng):
        return self._rows(model, rng)


def simulate_min_norm(trials: int, rng: np.random.Generator, *, d: int, T0: int, generations: int,
                      w0_norm: float = 1.0) -> dict[str, np.ndarray]:
    """Over-parametrised noise-free chain: {'error': (trials, generations)}, ||w_n - w0||^2 after n fits.

    Each generation draws a fresh isotropic design X (T0 x d, T0 < d), labels it noise-free with the
    previous weights, and fits the minimum-norm interpolator w = X^T (X X^T)^-1 y.
    """
    _check_sizes(d=d, T0=T0, generations=generations, trials=trials)
    if T0 >= d:
        raise ValueError(f"T0 must be less than d (over-parametrised), got T0={T0}, d={d}")
    if not np.isfinite(w0_norm) or w0_norm <= 0:
        raise ValueError(f"w0_norm must be positive, got {w0_norm!r}")
    return driver.run(MinNormFamily(d, T0, w0_norm), Workflow("replace", n_real=T0), generations, trials, rng)
