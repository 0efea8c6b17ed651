"""Iterated Gaussian fitting, run for real: sample, fit mean and covariance, sample from the fit.

One simulator serves the 1-D chain (Shumailov et al.; d = 1) and the multivariate workflows (Kazdan et
al.). The real data are N(0, sigma^2 I_d). Every generation fits the sample mean and the covariance
(``estimator``: 'unbiased' divides the scatter by m - 1, 'mle' by m) to the training set the workflow
gives, and samples the next batch of n points from N(mu_t, Sigma_t) as mu_t + L z with L L^T = Sigma_t:
the Cholesky factor; for a fit to m <= d points, the centred points themselves, C^T / sqrt(m - ddof)
(d x m); where Cholesky fails numerically (a collapsed covariance), the symmetric root.

The loop is numerics.driver's, with :class:`GaussianFamily`. Shortcut (exact, named): under
``accumulate`` the pool is a :class:`MomentPool`, which merges the pool's mean and scatter matrix batch
by batch with Chan et al.'s update, scatter = S_pool + S_batch + (N m / (N + m)) delta delta^T: the
same arithmetic as refitting on the stacked pool, in flat memory. Every other workflow gathers its
training set from an actual pool of points (numerics.workflows.ArrayPool).

Fast mode (``sampler='sufficient'``, for sweeps; exact in distribution, but it skips the points): a
fit reads a batch of m Gaussian points only through its mean and scatter matrix, which are independent,
the mean N(mu, Sigma / m) and the scatter Wishart_d(m - 1, Sigma). They are drawn directly: the scatter
as L A A^T L^T, L a square root of Sigma (Bartlett's decomposition: A lower triangular,
A_ii^2 ~ chi^2(m - i), A_ij ~ N(0, 1) below the diagonal), d(d + 1)/2 numbers instead of m d; when
m - 1 < d (a singular Wishart) as L Z Z^T L^T with Z a d x (m - 1) standard normal matrix; and with
n <= d in the (n - 1)-dimensional span of the real data, where every later fit lies. This serves
``replace`` and ``accumulate`` (which read whole batches); the subsample and real-data workflows pick
individual points, so they need the points. ``sampler='auto'`` takes the fast mode where it is exact
and the points elsewhere. The verification path (`collapse verify`) always draws the points: those
laws are part of what the claims assert.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import driver
from .driver import Family
from .workflows import workflow_of

#: Per-trial quantities recorded at every generation, each of shape (R, G).
QUANTITIES = ("mean_sq_error", "mean_error", "trace", "det", "log_det", "w2", "sigma", "log_var", "marginal_var")

#: How batches are drawn: the points themselves, or their mean and scatter matrix (see above).
SAMPLERS = ("points", "sufficient", "auto")

#: The workflows a fit can read through whole-batch sufficient statistics.
SUFFICIENT_WORKFLOWS = ("replace", "accumulate")


def _fit(x: np.ndarray, ddof: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Sample mean (R, d) and covariance (R, d, d) of x (R, m, d), and a square root of the covariance
    when it is singular by construction (m <= d): the centred data, C^T / sqrt(m - ddof), (R, d, m)."""
    mu = x.mean(axis=1)
    c = x - mu[:, None, :]
    m, d = x.shape[1:]
    root = c.swapaxes(1, 2) / np.sqrt(m - ddof) if m <= d else None
    return mu, (c.swapaxes(1, 2) @ c) / (m - ddof), root


def _root(cov: np.ndarray) -> np.ndarray:
    """A square root L of each covariance (L L^T = cov): its Cholesky factor, or where that fails (a
    singular covariance, as one fitted to m <= d points, or one collapsed to numerical singularity) its
    symmetric root from the eigendecomposition, eigenvalues clipped at 0."""
    if cov.shape[-1] == 1:
        return np.sqrt(np.maximum(cov, 0.0))
    try:
        return np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:  # some are singular: the symmetric root for those only
        out = np.empty_like(cov)
        for r, c in enumerate(cov):
            try:
                out[r] = np.linalg.cholesky(c)
            except np.linalg.LinAlgError:
                ev, vec = np.linalg.eigh(c)
                out[r] = (vec * np.sqrt(np.maximum(ev, 0.0))) @ vec.T
        return out


def _check(trials, d, n, generations, estimator, sigma) -> None:
    if estimator not in ("unbiased", "mle"):
        raise ValueError(f"estimator must be 'unbiased' or 'mle', got {estimator!r}")
    for name, value, low in (("d", d, 1), ("n", n, 2), ("generations", generations, 1), ("trials", trials, 1)):
        if isinstance(value, bool) or int(value) != value or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    if not np.isfinite(sigma) or sigma <= 0:
        raise ValueError(f"sigma must be positive, got {sigma!r}")


def _wanted(quantities) -> tuple[str, ...]:
    wanted = QUANTITIES if quantities is None else tuple(quantities)
    unknown = set(wanted) - set(QUANTITIES)
    if unknown:
        raise ValueError(f"quantities must be among {', '.join(QUANTITIES)}; got {sorted(unknown)[0]!r}")
    if "sigma" in wanted or "log_var" in wanted:
        wanted = (*wanted, "sigma", "log_var")
    return tuple(dict.fromkeys(("mean_sq_error", "trace", "marginal_var", *wanted)))


def _measure(wanted, mu: np.ndarray, cov: np.ndarray, sigma: float, logdet: np.ndarray | None = None,
             singular: bool = False) -> dict[str, np.ndarray]:
    """The quantities ``wanted`` of a fitted mean (R, d) and covariance: (R, d, d), or (R, r, r) in an
    orthonormal basis of an r-dimensional subspace that holds it (then it is singular when r < d, and
    its trace and nonzero eigenvalues are those of the r x r). ``logdet``, where the caller has it from
    a factor of the covariance, replaces slogdet(cov): a collapsed covariance is too ill-conditioned
    for its determinant's sign to survive rounding. ``singular``: the covariance is singular by
    construction (fitted to points in a space of dimension < d), so its determinant is exactly 0."""
    d = mu.shape[1]
    mse = (mu * mu).sum(axis=1)
    tr = np.trace(cov, axis1=1, axis2=2)
    out = {"mean_sq_error": mse, "trace": tr, "marginal_var": (mse + tr) / d}
    if "mean_error" in wanted:  # mu_t - mu_0 along the first coordinate (signed: for covariances over t)
        out["mean_error"] = mu[:, 0].copy()
    if "det" in wanted or "log_det" in wanted:  # through the log: a product of d eigenvalues under- or overflows
        if singular or cov.shape[-1] < d:
            logdet = np.full(len(mu), -np.inf)
        elif logdet is None:
            sign, logdet = np.linalg.slogdet(cov)
            logdet = np.where(sign > 0, logdet, -np.inf)
        if "det" in wanted:
            out["det"] = np.exp(logdet)  # 0 where singular
        if "log_det" in wanted:  # kept apart: det itself underflows to 0 below exp(-745)
            out["log_det"] = logdet
    if "w2" in wanted:  # W2^2 = ||mu - 0||^2 + Tr Sigma + d sigma^2 - 2 sigma Tr Sigma^{1/2}
        ev = np.maximum(np.linalg.eigvalsh(cov), 0.0) if d > 1 else np.maximum(cov[:, 0, :], 0.0)
        out["w2"] = mse + tr + d * sigma**2 - 2 * sigma * np.sqrt(ev).sum(axis=1)
    if "sigma" in wanted:
        v = np.maximum(cov[:, 0, 0], 0.0) if d == 1 else np.full(len(mu), np.nan)
        out["sigma"] = np.sqrt(v)
        with np.errstate(divide="ignore"):
            out["log_var"] = np.log(v / sigma**2)
    return out


@dataclass
class Moments:
    """A set of points through its sufficient statistics: count, mean (R, d) and scatter (R, d, d)."""

    count: int
    mean: np.ndarray
    scatter: np.ndarray


class MomentPool:
    """``accumulate``'s exact shortcut (named): the pool's mean and scatter matrix, merged batch by batch
    with Chan et al.'s update scatter = S_pool + S_batch + (N m / (N + m)) delta delta^T: the same
    arithmetic as refitting on the stacked pool, in flat memory."""

    def __init__(self, real: np.ndarray):
        self.sizes = [real.shape[1]]
        mean = real.mean(axis=1)
        c = real - mean[:, None, :]
        self.moments = Moments(real.shape[1], mean, c.swapaxes(1, 2) @ c)

    def add(self, batch: np.ndarray) -> None:
        m, p = batch.shape[1], self.moments
        b_mean = batch.mean(axis=1)
        bc = batch - b_mean[:, None, :]
        delta = b_mean - p.mean
        scatter = p.scatter + bc.swapaxes(1, 2) @ bc + (p.count * m / (p.count + m)) * (delta[:, :, None] * delta[:, None, :])
        self.moments = Moments(p.count + m, p.mean + delta * (m / (p.count + m)), scatter)
        self.sizes.append(m)

    def gather(self, plan) -> Moments:
        if len(plan.parts) != 1 or plan.parts[0].rows is not None or len(plan.parts[0].batches) != len(self.sizes):
            raise ValueError("the moment pool serves the accumulate workflow only (the whole pool)")
        return self.moments


@dataclass
class Fit:
    mean: np.ndarray
    cov: np.ndarray
    root: np.ndarray | None  # a square root of cov when the caller has one (d x r)


class GaussianFamily(Family):
    """Mean and covariance fitted to points in R^d; real data N(0, sigma^2 I_d)."""

    def __init__(self, d: int, n: int, estimator: str, sigma: float, quantities=None):
        self.d, self.n, self.sigma = d, n, sigma
        self.ddof = 1 if estimator == "unbiased" else 0
        self.wanted = _wanted(quantities)
        # Every synthetic point lies in the affine hull of the n real points (each model's mean is in it
        # and its covariance spans the hull's directions), so with n <= d every fit is singular, in every
        # workflow: its determinant is exactly 0 (computed, it would be rounding noise).
        self.singular = n <= d

    def real(self, trials, rng):
        return self.sigma * rng.standard_normal((trials, self.n, self.d))

    def pool(self, real, workflow, generations):
        return MomentPool(real) if workflow.name == "accumulate" else super().pool(real, workflow, generations)

    def fit(self, train, rng, previous):
        if isinstance(train, Moments):
            return Fit(train.mean, train.scatter / (train.count - self.ddof), None)
        return Fit(*_fit(train, self.ddof))

    def measure(self, model, rng):
        return _measure(self.wanted, model.mean, model.cov, self.sigma, singular=self.singular)

    def sample(self, model, size, rng):
        root = _root(model.cov) if model.root is None else model.root  # x = mu + L z, L L^T = cov (L is d x r)
        return model.mean[:, None, :] + rng.standard_normal((len(model.mean), size, root.shape[2])) @ root.swapaxes(1, 2)


def resolve_sampler(sampler: str, workflow: str) -> str:
    """'points' or 'sufficient' for this workflow ('auto': sufficient where it is exact)."""
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler must be one of {', '.join(SAMPLERS)}; got {sampler!r}")
    if sampler == "auto":
        return "sufficient" if workflow in SUFFICIENT_WORKFLOWS else "points"
    if sampler == "sufficient" and workflow not in SUFFICIENT_WORKFLOWS:
        raise ValueError(f"sampler='sufficient' serves workflow {' and '.join(SUFFICIENT_WORKFLOWS)} only; "
                         f"{workflow!r} picks individual points (use sampler='auto' or 'points')")
    return sampler


def simulate(trials: int, rng: np.random.Generator, *, d: int, n: int, generations: int, estimator: str,
             workflow: str, sigma: float = 1.0, real_fraction: float | None = None, train_size: int | None = None,
             synthetic: int | None = None, alpha: float | None = None, first_fit: str = "real",
             sampler: str = "points", quantities=None) -> dict[str, np.ndarray]:
    """Run ``trials`` independent chains; return each quantity of :data:`QUANTITIES` as (trials, G).

    ``mean_sq_error`` is ||mu_t - mu_0||^2, ``trace`` Tr Sigma_t, ``det`` det Sigma_t and ``log_det`` its
    log (-inf when singular; computed apart, as det underflows first), ``w2`` the squared
    W2 distance from N(mu_t, Sigma_t) to N(0, sigma^2 I) (closed form for Gaussians), ``sigma`` and
    ``log_var`` sqrt(Sigma_t) and log(Sigma_t / sigma^2) (d = 1), and ``marginal_var`` the variance of a
    point drawn from model t about mu_0 per coordinate, E[||X_t - mu_0||^2 | model] / d =
    (||mu_t - mu_0||^2 + Tr Sigma_t) / d (its conditional expectation given the fitted model, so no
    extra draw is needed), ``mean_error`` the first coordinate of mu_t - mu_0 (signed). The workflow's
    sizes: ``train_size`` (subsample and real-fraction training sets; default n), ``synthetic`` (points
    sampled per generation; default n) or ``alpha`` (the same as a fraction of n: Dey & Donoho's
    batches of alpha n), ``real_fraction``; ``first_fit`` 'bootstrap' fits a bootstrap resample of the
    real data at generation 1.
    ``sampler`` chooses how batches are drawn (see the module docstring); ``quantities`` (default:
    all) limits what is recorded (``w2`` costs an eigendecomposition per fit).
    """
    flow = workflow_of(workflow, n, train_size=train_size, synthetic=synthetic, alpha=alpha,
                       real_fraction=real_fraction, first_fit=first_fit)
    if resolve_sampler(sampler, workflow) == "sufficient":
        if train_size is not None or flow.synthetic_size() != n or flow.bootstrap_first:
            raise ValueError("sampler='sufficient' draws batches of n points from the real data as they are: "
                             "leave train_size, synthetic, alpha and first_fit unset")
        return _simulate_sufficient(trials, rng, d=d, n=n, generations=generations, estimator=estimator,
                                    workflow=workflow, sigma=sigma, quantities=quantities)
    _check(trials, d, n, generations, estimator, sigma)
    family = GaussianFamily(d, n, estimator, sigma, quantities)
    return driver.run(family, flow, generations, trials, rng)


def _wishart_factor(rng: np.random.Generator, R: int, r: int, k: int) -> np.ndarray:
    """F (R, r, min(r, k)) with F F^T ~ Wishart_r(k, I): Bartlett's lower-triangular A (A_ii^2 ~
    chi^2(k - i), A_ij ~ N(0, 1) below the diagonal) when k >= r, else an r x k standard normal matrix."""
    if k < r:
        return rng.standard_normal((R, r, k))
    a = np.zeros((R, r, r))
    rows, cols = np.tril_indices(r, -1)
    a[:, rows, cols] = rng.standard_normal((R, rows.size))
    diag = np.arange(r)
    a[:, diag, diag] = np.sqrt(rng.chisquare(k - diag, size=(R, r)))
    return a


def _simulate_sufficient(trials: int, rng: np.random.Generator, *, d: int, n: int, generations: int, estimator: str,
                         workflow: str, sigma: float, quantities=None) -> dict[str, np.ndarray]:
    """:func:`simulate` for replace and accumulate, each batch drawn as its mean and scatter matrix.

    A batch of m points from N(mu, L L^T) has mean mu + L z / sqrt(m) and scatter L W L^T, W ~
    Wishart(m - 1, I). Every later mean and scatter stays in the span S of the real data's scatter
    (each batch's spread is L (...) with L in S, and so is each mean's step), which has dimension
    r = min(d, n - 1). When r < d the scatter matrices are kept as r x r matrices in an orthonormal basis
    of S (exact, and much cheaper than d x d matrices of rank r).
    """
    _check(trials, d, n, generations, estimator, sigma)
    ddof = 1 if estimator == "unbiased" else 0
    R, G = trials, generations
    wanted = _wanted(quantities)
    columns: list[dict] = []
    r = min(d, n - 1)
    mean = sigma * rng.standard_normal((R, d)) / np.sqrt(n)  # the real data: N(0, sigma^2 I_d)
    factor = sigma * _wishart_factor(rng, R, d, n - 1)  # (R, d, r)
    basis = None
    if r < d:
        basis, factor = np.linalg.qr(factor)  # (R, d, r) orthonormal, (R, r, r)
    scatter = factor @ factor.swapaxes(1, 2)
    count = n
    for t in range(G):
        cov = scatter / (count - ddof)  # in the basis of S
        logdet = None
        if workflow == "replace":  # scatter = F F^T: log det from F, whose condition number is the root of cov's
            logdet = 2 * np.linalg.slogdet(factor)[1] - r * np.log(count - ddof) if factor.shape[2] == r else None
        columns.append(_measure(wanted, mean, cov, sigma, logdet))
        if t == G - 1:
            break
        # replace: the fit's covariance is F F^T / (n - ddof), so F / sqrt(n - ddof) is a root of it
        root = factor / np.sqrt(n - ddof) if workflow == "replace" else _root(cov)
        shift = (rng.standard_normal((R, 1, r)) @ root.swapaxes(1, 2))[:, 0, :] / np.sqrt(n)  # batch mean - mu
        factor = root @ _wishart_factor(rng, R, r, n - 1)
        b_scatter = factor @ factor.swapaxes(1, 2)
        step = shift if basis is None else (basis @ shift[:, :, None])[:, :, 0]
        if workflow == "replace":
            mean, scatter = mean + step, b_scatter
        else:  # accumulate: Chan et al.'s merge, as in simulate(); delta = batch mean - pool mean = step
            scatter = scatter + b_scatter + (count * n / (count + n)) * (shift[:, :, None] * shift[:, None, :])
            mean = mean + step * (n / (count + n))
            count += n
    return {q: np.stack([c[q] for c in columns], axis=1) for q in columns[0]}
