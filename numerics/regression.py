"""Linear regression retrained on its own labels (Gerstgrasser et al.; Dohmatob et al.), run for real.

Shortcuts (exact, named):

* fixed design: X is drawn once per trial and reused, so its pseudo-inverse X^+ = (X^T X)^-1 X^T is
  computed once, and as X^+ X = I the OLS refit on labels X w + sigma e is w + sigma X^+ e: only the
  label noise is projected, a chunk of generations in one batched product;
* accumulate with a fixed design: OLS on the stacked design [X; ...; X] with labels [y_1; ...; y_k]
  is X^+ applied to the mean label vector, which makes w_k - w* = sigma (X^+ e_1 / 1 + ... + X^+ e_k / k).

Every other workflow runs the plain loop of numerics.driver: it gathers T rows of the actual pool of
(x, y) rows and solves OLS on them. The Dohmatob and minimum-norm chains run through it too.

Sigma is diagonal in its eigenbasis (``eigenvalues``); the test error is (w - w*)^T Sigma (w - w*).
"""

from __future__ import annotations

import numpy as np

from . import driver
from .catalog import Bind, Metric, Produces, Simulator, register
from .driver import Family
from .schema import SettingError, Settings, schema, setting
from .workflows import Workflow, stored_all, workflow_setting


def _eigs(eigenvalues, d: int | None) -> np.ndarray:
    eig = np.ones(d) if eigenvalues is None else np.asarray(eigenvalues, dtype=float)
    if eig.ndim != 1 or eig.size < 1 or not np.all(np.isfinite(eig)) or np.any(eig <= 0):
        raise SettingError("eigenvalues must be a non-empty sequence of positive numbers (Sigma must be positive "
                           "definite)", "eigenvalues")
    if d is not None and eig.size != d:
        raise SettingError(f"eigenvalues must have d = {d} entries, got {eig.size}", "eigenvalues")
    return eig


def _design(rng, R, rows, eig):
    x = rng.standard_normal((R, rows, eig.size))
    x *= np.sqrt(eig)
    return x


def _ols(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Batched OLS through the normal equations: x (R, m, d), y (R, m) -> (R, d)."""
    return np.linalg.solve(x.swapaxes(1, 2) @ x, (x.swapaxes(1, 2) @ y[:, :, None]))[:, :, 0]


def _error(w, w_star, eig):
    diff = w - w_star
    return (diff * diff * eig).sum(axis=1)


@schema
class RegressionSettings(Settings):
    """Gerstgrasser et al.'s chain (the ``regression`` simulator; :func:`simulate_fixed_design`)."""

    d: int = setting(doc="dimension", low=1)
    T: int = setting(doc="rows of the design (at least d + 2)", low=3)
    sigma: float = setting(1.0, "label noise", low=0, open_low=True)
    workflow: str = workflow_setting(("replace", "accumulate", "accumulate-subsample", "accumulate-subsample-replacement",
                                      "real-plus-synthetic"))
    eigenvalues: tuple[float, ...] | None = setting(None, "eigenvalues of Sigma (default: the identity); d of them")
    design: str = setting("fixed", "one design relabelled every generation (Gerstgrasser et al.), or a fresh design "
                          "for every synthetic batch (erratum 4)", options=("fixed", "fresh"))
    shortcut: bool = setting(True, "replace and accumulate on a fixed design through X^+ once per trial (exact; off: "
                             "the plain loop, which refits OLS on the stacked rows)", affects_draws=False)

    def validate(self) -> None:
        if self.T < self.d + 2:
            raise SettingError(f"T must be at least d + 2 for OLS, got T={self.T}, d={self.d}", "T")
        _eigs(self.eigenvalues, self.d)
        try:
            flow = Workflow(self.workflow, n_real=self.T)
        except ValueError as e:
            raise SettingError(str(e), "workflow") from None
        if flow.batch is not None:
            raise SettingError(f"workflow: a synthetic batch relabels the T = {self.T} rows of a design, so a "
                               f"workflow for regression leaves out batch (it has batch = {flow.batch}); take a "
                               "share of the latest batch instead", "workflow")


class FixedDesignFamily(Family):
    """OLS refitted on fresh labels of one fixed design X (Gerstgrasser et al.): a batch is the rows
    (R, T, d + 1) of [X, y] with y = X w + sigma e, X the same for every batch of a trial (in
    ``chain.state['X']``; a fresh design replaces it with each batch)."""

    def __init__(self, config: RegressionSettings):
        self.config = config
        self.eig = _eigs(config.eigenvalues, config.d)
        self.w_star = np.full(config.d, 1 / np.sqrt(config.d))

    def _rows(self, chain, w: np.ndarray, rng) -> np.ndarray:
        sigma, T = self.config.sigma, self.config.T
        y = sigma * rng.standard_normal((len(w), T)) if sigma != 1 else rng.standard_normal((len(w), T))
        y += np.einsum("rdt,rd->rt", chain.state["Xt"], w)
        return np.concatenate([chain.state["X"], y[:, :, None]], axis=2)

    @staticmethod
    def _new_design(chain, X: np.ndarray) -> None:
        chain.state["X"] = X
        chain.state["Xt"] = np.ascontiguousarray(X.swapaxes(1, 2))  # (R, d, T): the layout einsum contracts fastest

    def real(self, chain, rng):
        self._new_design(chain, _design(rng, chain.trials, self.config.T, self.eig))
        return self._rows(chain, np.full((chain.trials, self.config.d), 1 / np.sqrt(self.config.d)), rng)

    def fresh(self, chain, rng):
        """New labels of the truth w* on the fixed design (real() would draw a new design, which the synthetic
        batches must not see); under design='fresh', on a new design, as every batch."""
        if self.config.design == "fresh":
            self._new_design(chain, _design(rng, chain.trials, self.config.T, self.eig))
        return self._rows(chain, np.broadcast_to(self.w_star, (chain.trials, self.config.d)), rng)

    def fit(self, train, chain, rng):
        d = self.config.d
        return _ols(train[:, :, :d], train[:, :, d])

    def measure(self, model, chain, rng, samples=None):
        return {"test_error": _error(model, self.w_star, self.eig)}

    def sample(self, model, size, chain, rng):
        if size != self.config.T:
            raise ValueError(f"a fixed design relabels its T = {self.config.T} rows: synthetic batches have T points, "
                             f"not {size}")
        if self.config.design == "fresh":  # a new design for every batch (what Gerstgrasser et al.'s formula does not cover)
            self._new_design(chain, _design(rng, len(model), self.config.T, self.eig))
        return self._rows(chain, model, rng)


def run_fixed_design(trials: int, rng: np.random.Generator, config: RegressionSettings, generations: int) -> dict:
    """Gerstgrasser et al.'s chain of a checked config: {'test_error': (trials, generations)}, column k-1 after k
    fits. ``replace`` and ``accumulate`` on a fixed design take an exact shortcut (see the module docstring;
    ``shortcut=False`` runs the plain loop of numerics.driver instead, which refits OLS on the stacked rows:
    the same numbers up to rounding); the other workflows gather actual rows."""
    if config.shortcut and config.workflow in ("replace", "accumulate") and config.design == "fixed":
        return _fixed_design_shortcut(trials, rng, d=config.d, T=config.T, generations=generations, sigma=config.sigma,
                                      workflow=config.workflow, eig=_eigs(config.eigenvalues, config.d))
    return driver.run(FixedDesignFamily(config), Workflow(config.workflow, n_real=config.T), generations, trials, rng)


def simulate_fixed_design(trials: int, rng: np.random.Generator, *, generations: int, **settings) -> dict[str, np.ndarray]:
    """Gerstgrasser et al.'s chain (``settings``: :class:`RegressionSettings`, checked here); see
    :func:`run_fixed_design`. ``design='fresh'`` draws a new design for every synthetic batch (erratum 4: the
    sum 1/i^2 then fails)."""
    return run_fixed_design(trials, rng, RegressionSettings.build(settings), generations)


#: Label-noise numbers drawn per call by the fixed-design shortcut (a chunk of generations at once; 16 MiB).
#: A block of 4096 trials at T = 50 projects 10 generations per call, one small product per trial: 2^20
#: (5 generations) took 0.377 s CPU against 0.345 s here (benchmarks/bench_regression.py's chain, best of 5).
CHUNK = 2**21


def _fixed_design_shortcut(trials, rng, *, d, T, generations, sigma, workflow, eig) -> dict[str, np.ndarray]:
    """replace and accumulate on a fixed design, exactly (named shortcuts). X^+ once per trial; as
    X^+ X = I, the refit on labels y_k = X w_{k-1} + sigma e_k is w_{k-1} + sigma u_k, u_k = X^+ e_k, so
    only the noise is projected, for a chunk of generations at once (one batched product). Then
    w_k - w* = sigma (u_1 + ... + u_k) under replace; under accumulate, the stacked OLS is X^+ of the
    mean label vector, w_k = (w_0 + ... + w_{k-1} + sigma (u_1 + ... + u_k)) / k, whose solution is
    w_k - w* = sigma (u_1 / 1 + u_2 / 2 + ... + u_k / k) (by induction on k).

    The random numbers are drawn as in the plain loop (X, then each generation's label noise, in order;
    a chunk of generations per call fills the same numbers), and memory stays flat in the generations.
    """
    R = trials
    X = _design(rng, R, T, eig)
    # X^+ = (X^T X)^-1 X^T, once per trial: the inverse of the d x d Gram matrix times X^T (one batched
    # product: a third of the time of numpy's batched solve of T right-hand sides)
    pinv = np.linalg.inv(X.swapaxes(1, 2) @ X) @ X.swapaxes(1, 2)  # (R, d, T)
    out = np.empty((R, generations))
    chunk = max(1, min(generations, CHUNK // (R * T)))
    noise = np.empty((chunk, R, T))
    projected = np.empty((R, d, chunk))
    last = np.zeros((R, d))  # (w_k - w*) / sigma at the end of the last chunk
    for start in range(0, generations, chunk):
        g = min(chunk, generations - start)
        e = noise[:g]
        rng.standard_normal(out=e)  # generation-major: the plain loop's order
        # X^+ e_k for the chunk's generations, (R, d, g): one product per trial, e read in place (its (T, g)
        # slice for a trial is a Fortran-ordered matrix, rows R T apart, which BLAS takes as it is)
        u = np.matmul(pinv, e.transpose(1, 2, 0), out=projected[:, :, :g])
        if workflow == "accumulate":
            u /= np.arange(start + 1, start + g + 1)
        u[:, :, 0] += last
        np.cumsum(u, axis=2, out=u)  # the running sum over the generations
        last = u[:, :, -1].copy()
        out[:, start : start + g] = sigma**2 * np.einsum("rdg,rdg,d->rg", u, u, eig)
    return {"test_error": out}


# -- Dohmatob et al.: ridge downstream of refitted OLS generators -------------------------------------


@schema
class RidgeSettings(Settings):
    """Dohmatob et al.'s pipeline (the ``ridge`` simulator)."""

    spectrum: str = setting("isotropic", "covariance spectrum", options=("isotropic", "power-law", "given"))
    d: int | None = setting(None, "dimension (isotropic, power-law)", low=1)
    beta: float | None = setting(None, "power-law exponent: eigenvalues proportional to j^-beta, Tr Sigma = d", low=0,
                                 open_low=True)
    eigenvalues: tuple[float, ...] | None = setting(None, "eigenvalues of Sigma (spectrum given)")
    T: int = setting(doc="downstream training samples", low=1)
    T0: int = setting(doc="generator training samples per generation", low=3)
    lam: float = setting(0.0, "ridge penalty", low=0)
    sigma: float = setting(1.0, "downstream label noise (0: the test error at n = 0 is the bias alone)", low=0)
    sigma0: float = setting(1.0, "generator label noise", low=0)
    w0_norm: float = setting(1.0, "norm of the true weights, equal in Sigma's eigenbasis (0: the test error at n = 0 is "
                             "the variance alone)", low=0)
    shortcut: bool = setting(True, "draw each fit's sufficient statistics (X^T X, X^T e) from their law instead of its "
                             "rows (exact; where T >= d; off: the plain loop on drawn rows)")

    def validate(self) -> None:
        d = spectrum_eigenvalues(self).size
        if self.T0 < d + 2:
            raise SettingError(f"T0 must be at least d + 2 (OLS generator), got T0={self.T0}, d={d}", "T0")
        if self.lam == 0 and self.T < d + 2:
            raise SettingError(f"with lam = 0, T must be at least d + 2, got T={self.T}, d={d}", "T")


def spectrum_eigenvalues(c: RidgeSettings) -> np.ndarray:
    """The eigenvalues of Sigma, as theory's ridge claims define them (power law normalised to Tr = d)."""
    if c.spectrum == "isotropic":
        if c.d is None:
            raise SettingError("spectrum='isotropic' needs d", "d")
        return np.ones(c.d)
    if c.spectrum == "power-law":
        if c.d is None or c.beta is None:
            raise SettingError("spectrum='power-law' needs d and beta", "beta")
        raw = np.arange(1, c.d + 1, dtype=float) ** -c.beta
        return raw * c.d / raw.sum()
    if c.eigenvalues is None:
        raise SettingError("spectrum='given' needs eigenvalues", "eigenvalues")
    return _eigs(c.eigenvalues, None)


class DohmatobFamily(Family):
    """OLS generators, each refitted on T0 fresh points labelled by the last (replace, fresh designs),
    measured by a downstream ridge fitted on T fresh points labelled by the generator (Dohmatob et al.)."""

    first = 0  # generation 0: the downstream ridge on clean data (labelled by w0)

    def __init__(self, config: RidgeSettings):
        self.config = config
        self.eig = spectrum_eigenvalues(config)
        # equal weights in Sigma's eigenbasis: the direction average of the claims
        self.w0 = np.full(self.eig.size, config.w0_norm / np.sqrt(self.eig.size))

    def truth(self, chain):
        return np.broadcast_to(self.w0, (chain.trials, self.eig.size))

    def _rows(self, w, rows, noise, rng):
        X = _design(rng, len(w), rows, self.eig)
        y = (X @ w[:, :, None])[:, :, 0] + noise * rng.standard_normal((len(w), rows))
        return X, y

    def real(self, chain, rng):
        X, y = self._rows(self.truth(chain), self.config.T0, self.config.sigma0, rng)
        return np.concatenate([X, y[:, :, None]], axis=2)

    def fit(self, train, chain, rng):
        d = self.eig.size
        return _ols(train[:, :, :d], train[:, :, d])

    def sample(self, model, size, chain, rng):
        X, y = self._rows(model, size, self.config.sigma0, rng)
        return np.concatenate([X, y[:, :, None]], axis=2)

    def measure(self, model, chain, rng, samples=None):
        d, c = self.eig.size, self.config
        X, y = self._rows(model, c.T, c.sigma, rng)
        A = X.swapaxes(1, 2) @ X / c.T + c.lam * np.eye(d)
        w = np.linalg.solve(A, X.swapaxes(1, 2) @ y[:, :, None] / c.T)[:, :, 0]
        return {"test_error": _error(w, self.w0, self.eig)}


def run_dohmatob(trials: int, rng: np.random.Generator, config: RidgeSettings, generations: int) -> dict:
    """Dohmatob et al.'s pipeline: {'test_error': (trials, generations + 1)}, column n after n generations.

    Generation k refits an OLS generator on T0 fresh points labelled by generator k-1 plus N(0, sigma0^2)
    noise (generator 0 is w0); the downstream ridge w = (X^T X / T + lam I)^-1 X^T y / T is fitted on T
    fresh points labelled by generator n plus N(0, sigma^2) noise. With ``shortcut`` (and T >= d) each fit's
    sufficient statistics are drawn instead of its rows (:func:`_dohmatob_shortcut`).
    """
    family = DohmatobFamily(config)
    if config.shortcut and config.T >= family.eig.size:
        return _dohmatob_shortcut(trials, rng, family, generations)
    if generations == 0:
        from .driver import Chain

        chain = Chain(Workflow("replace", n_real=config.T0), 0, trials)
        return {"test_error": family.measure(family.truth(chain), chain, rng)["test_error"][:, None]}
    return driver.run(family, Workflow("replace", n_real=config.T0), generations, trials, rng)


def _bartlett(rng: np.random.Generator, R: int, d: int, k: int) -> np.ndarray:
    """A (R, d, d) lower triangular with A A^T ~ Wishart_d(k, I), k >= d (Bartlett: A_ii^2 ~ chi^2(k - i),
    A_ij ~ N(0, 1) below the diagonal)."""
    a = np.zeros((R, d, d))
    rows, cols = np.tril_indices(d, -1)
    a[:, rows, cols] = rng.standard_normal((R, rows.size))
    diag = np.arange(d)
    a[:, diag, diag] = np.sqrt(rng.chisquare(k - diag, size=(R, d)))
    return a


def _solve_lower_transposed(a: np.ndarray, z: np.ndarray) -> np.ndarray:
    """A^-T z for lower triangular A (R, d, d) and z (R, d): back substitution, for all trials a row at a time.

    Shortcut (exact up to rounding, named): A^T is upper triangular, so O(d^2) a trial instead of a general
    solve's O(d^3) LU, and d array operations instead of LAPACK's per-matrix overhead (at d = 5 most of it)."""
    d = z.shape[1]
    x = np.empty_like(z)
    for i in range(d - 1, -1, -1):
        x[:, i] = (z[:, i] - np.einsum("rj,rj->r", a[:, i + 1:, i], x[:, i + 1:])) / a[:, i, i]
    return x


def _dohmatob_shortcut(trials: int, rng: np.random.Generator, family: DohmatobFamily, generations: int) -> dict:
    """:func:`run_dohmatob` through each fit's sufficient statistics (exact in law; named shortcut).

    A fit on m rows X = Z Sigma^1/2 (Z standard normal) labelled y = X w + s e sees the rows only through
    X^T X and X^T e. Their joint law: Z^T Z = A A^T ~ Wishart_d(m, I) (A Bartlett's factor, d(d+1)/2 draws
    instead of m d) and, given it, Z^T e ~ N(0, A A^T), i.e. A z with z ~ N(0, I_d). So

    * the OLS generator refit is w + s (X^T X)^-1 X^T e = w + s Sigma^-1/2 A^-T z;
    * the downstream ridge is (X^T X / T + lam I)^-1 (X^T X w + s Sigma^1/2 A z) / T, X^T X = Sigma^1/2 A A^T Sigma^1/2,
      computed as w + M^-1 (s Sigma^1/2 A z / T - lam w) with M = X^T X / T + lam I (the same number).

    tests/numerics/test_regression.py holds this path's law against the plain loop's.
    """
    c, eig, w0 = family.config, family.eig, family.w0
    R, d = trials, eig.size
    root = np.sqrt(eig)
    diag = np.arange(d)

    def downstream(w):
        a = _bartlett(rng, R, d, c.T)
        z = rng.standard_normal((R, d, 1))
        m = np.matmul(a, a.swapaxes(1, 2), out=np.empty((R, d, d)))  # Z^T Z, then M in place
        m *= root[:, None] / c.T
        m *= root
        m[:, diag, diag] += c.lam
        rhs = (c.sigma / c.T) * root * (a @ z)[:, :, 0] - c.lam * w
        fitted = w + np.linalg.solve(m, rhs[:, :, None])[:, :, 0]
        return _error(fitted, w0, eig)

    w = np.broadcast_to(w0, (R, d))
    out = [downstream(w)]
    for _ in range(generations):
        a = _bartlett(rng, R, d, c.T0)
        z = rng.standard_normal((R, d, 1))
        w = w + c.sigma0 * _solve_lower_transposed(a, z[:, :, 0]) / root
        out.append(downstream(w))
    return {"test_error": np.stack(out, axis=1)}


def simulate_dohmatob(trials: int, rng: np.random.Generator, *, generations: int, **settings) -> dict[str, np.ndarray]:
    """:func:`run_dohmatob` with ``settings`` (:class:`RidgeSettings`) checked here."""
    if isinstance(generations, bool) or int(generations) != generations or generations < 0:
        raise ValueError(f"generations must be an integer >= 0, got {generations!r}")
    return run_dohmatob(trials, rng, RidgeSettings.build(settings), generations)


# -- the over-parametrised chain -------------------------------------------------------------------


@schema
class MinNormSettings(Settings):
    """The over-parametrised noise-free chain (the ``min-norm`` simulator)."""

    d: int = setting(doc="dimension", low=2)
    T0: int = setting(doc="samples per generation (T0 < d)", low=1)
    w0_norm: float = setting(1.0, "norm of the true weights", low=0, open_low=True)
    shortcut: bool = setting(True, "draw each fit's projection of the weights from its law, 3 numbers a generation, "
                             "instead of the design's T0 x d (exact; off: the plain loop on drawn rows)")

    def validate(self) -> None:
        if self.T0 >= self.d:
            raise SettingError(f"T0 must be less than d (over-parametrised), got T0={self.T0}, d={self.d}", "T0")


class MinNormFamily(Family):
    """Minimum-norm interpolators refitted, noise-free, on fresh over-parametrised isotropic designs."""

    def __init__(self, config: MinNormSettings):
        self.config = config
        self.w0 = np.zeros(config.d)
        self.w0[0] = config.w0_norm

    def _rows(self, w, rng):
        X = rng.standard_normal((len(w), self.config.T0, self.config.d))
        return np.concatenate([X, np.einsum("rtd,rd->rt", X, w)[:, :, None]], axis=2)

    def real(self, chain, rng):
        return self._rows(np.broadcast_to(self.w0, (chain.trials, self.config.d)), rng)

    def fit(self, train, chain, rng):
        d = self.config.d
        X, y = train[:, :, :d], train[:, :, d]
        alpha = np.linalg.solve(X @ X.swapaxes(1, 2), y[:, :, None])  # (X X^T)^-1 y
        return (X.swapaxes(1, 2) @ alpha)[:, :, 0]

    def measure(self, model, chain, rng, samples=None):
        diff = model - self.w0
        return {"error": (diff * diff).sum(axis=1)}

    def sample(self, model, size, chain, rng):
        return self._rows(model, rng)


def run_min_norm(trials: int, rng: np.random.Generator, config: MinNormSettings, generations: int) -> dict:
    """Over-parametrised noise-free chain: {'error': (trials, generations)}, ||w_n - w0||^2 after n fits.

    Each generation draws a fresh isotropic design X (T0 x d, T0 < d), labels it noise-free with the
    previous weights, and fits the minimum-norm interpolator w = X^T (X X^T)^-1 y. With ``shortcut`` each
    fit's projection is drawn from its law instead (:func:`_min_norm_shortcut`).
    """
    if config.shortcut:
        return _min_norm_shortcut(trials, rng, config, generations)
    return driver.run(MinNormFamily(config), Workflow("replace", n_real=config.T0), generations, trials, rng)


def _min_norm_shortcut(trials: int, rng: np.random.Generator, config: MinNormSettings, generations: int) -> dict:
    """:func:`run_min_norm` through the law of each fit (exact in law; named shortcut).

    Noise-free, the interpolator of y = X v is w = X^T (X X^T)^-1 X v = P v, v's projection onto the row
    space of X: for an isotropic design, a uniformly random T0-dimensional subspace, independent of v. So
    ``|P v|^2 = <P v, v> = B |v|^2`` with B ~ Beta(T0 / 2, (d - T0) / 2), and ``P v = B v + sqrt(B (1 - B)) |v| u``
    with u, given B, uniform on the unit sphere of v's orthogonal complement (rotations that fix v leave the
    subspace's law and B as they are). The error needs only w's coordinates along e = w0 / |w0|, a, and
    orthogonal to it, b >= 0: e's part orthogonal to v has norm b / |v|, so ``<u, e> = (b / |v|) t`` with t the
    first coordinate of a uniform point of the sphere in d - 1 dimensions, ``g / sqrt(g^2 + chi^2_{d-2})``, and

        a' = B a + sqrt(B (1 - B)) b t,   b'^2 = |w'|^2 - a'^2 = B (a^2 + b^2) - a'^2.

    Three numbers a trial and generation (B, g, chi^2) instead of the T0 x d design and a T0 x T0 solve.
    tests/numerics/test_regression.py holds this path's law against the plain loop's.
    """
    d, T0, norm = config.d, config.T0, config.w0_norm
    a, b2 = np.full(trials, norm), np.zeros(trials)
    out = np.empty((trials, generations))
    for g in range(generations):
        B = rng.beta(T0 / 2, (d - T0) / 2, size=trials)
        z = rng.standard_normal(trials)
        chi2 = rng.chisquare(d - 2, size=trials) if d > 2 else 0.0  # d = 2: the sphere is {-1, 1}, t = sign(z)
        t = z / np.sqrt(z * z + chi2)
        squared = B * (a * a + b2)
        a = B * a + np.sqrt(B * (1 - B) * b2) * t
        b2 = np.maximum(squared - a * a, 0.0)  # >= 0 but for rounding
        out[:, g] = (a - norm) ** 2 + b2
    return {"error": out}


def simulate_min_norm(trials: int, rng: np.random.Generator, *, generations: int, **settings) -> dict[str, np.ndarray]:
    """:func:`run_min_norm` with ``settings`` (:class:`MinNormSettings`) checked here."""
    return run_min_norm(trials, rng, MinNormSettings.build(settings), generations)


# -- the catalog's entries ---------------------------------------------------------------------------

def _fixed_design_work(c: RegressionSettings, G: int) -> float:
    """Seconds per trial. The shortcut (replace and accumulate on a fixed design): 4.8e-9 T (d + 1) per
    generation (measured on the verify cells). The plain loop: 5.7e-7 + 5.7e-9 d^3 per fit, 3.5e-9 (d + 1)
    per training row (the pool's mean size under accumulate), 5e-8 per row a subsample draws, 1.5e-8 T d
    for a fresh design or fresh real rows. Measured per trial and generation (2,000 trials x 30
    generations, one BLAS thread, CPU seconds after a warm-up call, 2 cores under load 8): 1.7e-6 replace
    and 7.7e-6 accumulate at d = 5, T = 20 (shortcut off), 9.9e-6 accumulate-subsample at d = 10, T = 40,
    3.2e-6 replace on fresh designs, 3.5e-6 and 3.7e-6 last3 and fresh10 (custom-workflows-ols)."""
    if c.shortcut and c.workflow in ("replace", "accumulate") and c.design == "fixed":
        return 4.8e-9 * c.T * (c.d + 1) * G
    flow = Workflow(c.workflow, n_real=c.T)
    rows = drawn = 0.0
    for g in range(2, G + 1):
        for i, take in enumerate(flow.spec.takes):
            k = flow.take_rows(i, g)
            rows += c.T * len(flow.batches(i, g)) if k is None else k
            drawn += k or 0
    fresh = c.design == "fresh" or flow.fresh
    per_fit = 5.7e-7 + 5.7e-9 * c.d**3 + 1.5e-8 * c.T * c.d * fresh
    return G * per_fit + (3.5e-9 * (c.d + 1) * (rows + c.T) + 5e-8 * drawn)


register(Simulator(
    name="regression",
    target=f"{__name__}:run_fixed_design",
    doc="OLS refitted on its own labels, fixed design (Gerstgrasser et al.)",
    schema=RegressionSettings,
    metrics={"test_error": Metric("(w_n - w*)^T Sigma (w_n - w*)", "test_error")},
    produces=(Produces("regression.test_error", "test_error",
                       (Bind("sigma"), Bind("d"), Bind("T"), Bind("workflow"), Bind("eigenvalues"), Bind("design"))),),
    memory=lambda c, G: 8.0 * (c.d + 1) * c.T * (G + 1 if stored_all(c.workflow) else 6),
    work=_fixed_design_work,
))


def _increment(v, c: RidgeSettings):
    """(error at generation n - error at generation 0) / (n sigma0^2): rho, generation by generation (NaN at 0)."""
    n = np.arange(v.shape[1], dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (v - v[:, :1]) / (n * c.sigma0 ** 2)
    out[:, 0] = np.nan
    return out


_RIDGE_BINDS = tuple(Bind(name) for name in RidgeSettings.SETTINGS)


def _ridge_work(c: RidgeSettings, G: int) -> float:
    """Seconds per trial. The shortcut: 3e-8 d^2 per fit (G generators and G + 1 downstream ridges; Bartlett's
    d(d+1)/2 draws and two d x d products): measured on verify's cells (one BLAS thread, CPU seconds, 2 cores
    under load 10) 9.5e-7 per fit at d = 5 (20,000 trials), 4e-6 at d = 10, 1.3e-5 at d = 20, 4.6e-5 at d = 40
    (5,000 trials); this formula: 0.79, 0.75, 0.92, 1.04 of those. The plain loop (drawn rows): 1.5e-8 d (T + T0)
    per generation (six verify cells, 5,000 trials, d = 10-40, load 8: 0.81-1.29 of the measurements)."""
    d = _ridge_size(c)
    if c.shortcut and c.T >= d:
        return 3e-8 * d * d * (2 * G + 1)
    return 1.5e-8 * d * (c.T + c.T0) * (G + 1)


def _ridge_size(c: RidgeSettings) -> int:
    return len(c.eigenvalues) if c.eigenvalues else c.d or 5


register(Simulator(
    name="ridge",
    target=f"{__name__}:run_dohmatob",
    doc="ridge on data labelled by a chain of refitted OLS generators (Dohmatob et al.)",
    schema=RidgeSettings,
    metrics={
        "test_error": Metric("(w - w0)^T Sigma (w - w0) of the downstream ridge, n = 0 on clean data", "test_error"),
        "increment": Metric("(error after n generations - clean error) / (n sigma0^2)", "test_error", _increment,
                            nonfinite=True),  # NaN at n = 0 (0/0)
    },
    produces=(Produces("ridge.test_error", "test_error", _RIDGE_BINDS),
              Produces("ridge.increment", "increment", _RIDGE_BINDS)),
    memory=lambda c, G: 8.0 * _ridge_size(c) * (c.T + c.T0 + 64) * 8,
    work=_ridge_work,
    first=0,
))

register(Simulator(
    name="min-norm",
    target=f"{__name__}:run_min_norm",
    doc="minimum-norm interpolators refitted on fresh over-parametrised designs, noise-free (Dohmatob et al.)",
    schema=MinNormSettings,
    metrics={"error": Metric("||w_n - w0||^2", "error")},
    produces=(Produces("minnorm.error", "error", (Bind("d"), Bind("T0"), Bind("w0_norm"))),),
    # The shortcut holds the (trials, G) errors and a few numbers a trial; the plain loop a design and its rows.
    memory=lambda c, G: 8.0 * (G + 8) if c.shortcut else 8.0 * c.d * (c.T0 + 4) * 4,
    # Seconds per trial, measured: the shortcut 1.3e-7 to 1.9e-7 a generation (100,000 trials at d = 10 to 200,
    # one core, CPU seconds), the plain loop 3e-8 d T0.
    work=lambda c, G: 2.0e-7 * G if c.shortcut else 3.0e-8 * c.d * c.T0 * G,
))
