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

import math
from dataclasses import dataclass

import numpy as np

from theory.workflows import CLAIM_WORKFLOWS

from . import driver
from .catalog import Bind, Metric, Produces, Simulator, register
from .driver import Family
from .schema import SettingError, Settings, schema, setting
from .workflows import (ArrayPool, alpha_setting, first_fit_setting, real_fraction_setting, stored_all,
                        synthetic_setting, train_size_setting, workflow_from, workflow_setting)

#: Per-trial outputs recorded at every generation, each of shape (R, G).
OUTPUTS = ("mean_sq_error", "mean_error", "trace", "det", "log_det", "w2", "sigma", "log_var", "marginal_var")

#: How batches are drawn: the points themselves, or their mean and scatter matrix (see above).
SAMPLERS = ("points", "sufficient", "auto")

#: The workflows a fit can read through whole-batch sufficient statistics.
SUFFICIENT_WORKFLOWS = ("replace", "accumulate")


def _fit(x: np.ndarray, ddof: int, overwrite: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Sample mean (R, d) and covariance (R, d, d) of x (R, m, d), and a square root of the covariance
    when it is singular by construction (m <= d): the centred data, C^T / sqrt(m - ddof), (R, d, m).
    ``overwrite``: x is the caller's own copy (a gathered training set), centred in place.

    Shortcut (exact, named): the mean as the product 1^T x / m, one BLAS call per trial, where a sum
    over the middle axis is numpy's strided reduction with an inner loop of d elements (several times
    slower at d <= 10); the same sum, in another order of additions."""
    m, d = x.shape[1:]
    mu = (np.ones((1, m)) @ x)[:, 0, :] / m if x.dtype == np.float64 else x.mean(axis=1)
    c = np.subtract(x, mu[:, None, :], out=x if overwrite else None)
    root = c.swapaxes(1, 2) / np.sqrt(m - ddof) if m <= d else None
    return mu, (c.swapaxes(1, 2) @ c) / (m - ddof), root


def _root(cov: np.ndarray) -> tuple[np.ndarray, bool]:
    """A square root L of each covariance (L L^T = cov), and whether every L is lower triangular: the
    Cholesky factor, or where that fails (a singular covariance, as one fitted to m <= d points, or one
    collapsed to numerical singularity) its symmetric root from the eigendecomposition, eigenvalues
    clipped at 0."""
    if cov.shape[-1] == 1:
        return np.sqrt(np.maximum(cov, 0.0)), True
    try:
        return np.linalg.cholesky(cov), True
    except np.linalg.LinAlgError:  # some are singular: the symmetric root for those only
        out = np.empty_like(cov)
        for r, c in enumerate(cov):
            try:
                out[r] = np.linalg.cholesky(c)
            except np.linalg.LinAlgError:
                ev, vec = np.linalg.eigh(c)
                out[r] = (vec * np.sqrt(np.maximum(ev, 0.0))) @ vec.T
        return out, False


def _log_det(cov: np.ndarray, root: np.ndarray, lower: bool) -> np.ndarray:
    """log det cov (-inf where it is not positive), given a square root of it. Shortcut (exact, named):
    from a triangular root, 2 sum log L_ii, in O(d) (det L L^T = prod L_ii^2), instead of an LU
    decomposition of cov in slogdet (2 d^3 / 3 flops); a symmetric root falls back to slogdet."""
    if lower:
        with np.errstate(divide="ignore"):  # L_ii = 0: a singular 1 x 1 covariance, log det = -inf
            return 2.0 * np.log(np.diagonal(root, axis1=1, axis2=2)).sum(axis=1)
    sign, logdet = np.linalg.slogdet(cov)
    return np.where(sign > 0, logdet, -np.inf)


#: Below this many multiply-adds saved per trial, a triangular product is one batched matmul for all
#: trials; from it on, one BLAS trmm call per trial (half the flops of a full product, in place) wins
#: over the call's overhead (measured here: trmm wins from about 3 x 10^5, e.g. 316 points at d = 31).
TRMM_WORK = 2.5e5


def _tri_product(root: np.ndarray, b: np.ndarray, lower: bool, left: bool, out: np.ndarray | None = None) -> np.ndarray:
    """root @ b (``left``) or b @ root^T for every trial: root (R, d, r), b (R, r, k) or (R, k, r); into
    ``out`` where given (then returned).

    Shortcut (exact, named): where every root is lower triangular and square, one BLAS trmm per trial,
    computed in place in b's memory (b's transpose in Fortran order: (root b)^T = b^T root^T and
    (b root^T)^T = root b^T), half the multiply-adds of the full product that matmul does; b is then
    overwritten and returned (or copied into ``out``). Otherwise one batched matmul into a new array."""
    r = root.shape[2]
    if root.shape[1:] == (1, 1):  # d = 1: a product of 1 x 1 matrices is one multiplication (the same bits),
        return np.multiply(b, root, out=b if out is None else out)  # in b's memory as trmm's (no new array)
    if not lower or root.shape[1] != r or b.size // max(len(b), 1) * r < 2 * TRMM_WORK or not b.flags.c_contiguous:
        return np.matmul(root, b, out=out) if left else np.matmul(b, root.swapaxes(1, 2), out=out)
    from scipy.linalg.blas import dtrmm

    for br, lr in zip(b, root):  # lr.T is Fortran-ordered and upper triangular: no copies
        product = dtrmm(1.0, lr.T, br.T, side=int(left), lower=0, trans_a=int(not left), overwrite_b=1)
        if not np.may_share_memory(product, br):  # a wrapper that copied after all
            br.T[...] = product
    if out is not None:
        out[...] = b
        return out
    return b


@schema
class GaussianSettings(Settings):
    """The Gaussian chain's settings (the ``gaussian`` simulator; :func:`simulate`)."""

    d: int = setting(1, "dimension", low=1)
    n: int = setting(doc="real points (and points per generation)", low=2)
    sigma: float = setting(1.0, "standard deviation of the real data", low=0, open_low=True)
    estimator: str = setting("mle", "covariance estimator (mle as in Kazdan et al.'s code; Shumailov et al.'s claims "
                             "assume unbiased)", options=("unbiased", "mle"))
    workflow: str = workflow_setting()
    real_fraction: float | None = real_fraction_setting()
    train_size: int | None = train_size_setting()
    synthetic: int | None = synthetic_setting()
    alpha: float | None = alpha_setting()
    first_fit: str = first_fit_setting()
    sampler: str = setting("points", "points, or a batch's mean and scatter from their laws (sufficient; auto where "
                           "exact)", options=SAMPLERS)
    cross_with: int | None = setting(None, "the generation l of the metric scaled_cov (Cov of the mean error at each "
                                     "generation with the one at l)", low=1, affects_draws=False)

    def validate(self) -> None:
        flow = workflow_from(self, self.n)
        if resolve_sampler(self.sampler, self.workflow) == "sufficient" and (
                self.train_size is not None or flow.synthetic_size(2) != self.n or flow.bootstrap_first):
            raise SettingError("sampler='sufficient' draws batches of n points from the real data as they are: "
                               "leave train_size, synthetic, alpha and first_fit unset", "sampler")


def _wanted(outputs) -> tuple[str, ...]:
    wanted = OUTPUTS if outputs is None else tuple(outputs)
    unknown = set(wanted) - set(OUTPUTS)
    if unknown:
        raise ValueError(f"outputs must be among {', '.join(OUTPUTS)}; got {sorted(unknown)[0]!r}")
    if "sigma" in wanted or "log_var" in wanted:
        wanted = (*wanted, "sigma", "log_var")
    return tuple(dict.fromkeys(("mean_sq_error", "trace", "marginal_var", *wanted)))


def _measure(wanted, mu: np.ndarray, cov: np.ndarray | None, sigma: float, logdet: np.ndarray | None = None,
             singular: bool = False, trace: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """The quantities ``wanted`` of a fitted mean (R, d) and covariance: (R, d, d), or (R, r, r) in an
    orthonormal basis of an r-dimensional subspace that holds it (then it is singular when r < d, and
    its trace and nonzero eigenvalues are those of the r x r). ``logdet``, where the caller has it from
    a factor of the covariance, replaces slogdet(cov): a collapsed covariance is too ill-conditioned
    for its determinant's sign to survive rounding, and a triangular factor gives it in O(d).
    ``singular``: the covariance is singular by construction (fitted to points in a space of dimension
    < d), so its determinant is exactly 0. ``trace``, where the caller has it, replaces Tr cov; then
    ``cov`` may be None unless ``w2`` or ``sigma`` is wanted (a caller that keeps the covariance as
    F F^T need not form it)."""
    d = mu.shape[1]
    mse = (mu * mu).sum(axis=1)
    tr = np.trace(cov, axis1=1, axis2=2) if trace is None else trace
    out = {"mean_sq_error": mse, "trace": tr, "marginal_var": (mse + tr) / d}
    if "mean_error" in wanted:  # mu_t - mu_0 along the first coordinate (signed: for covariances over t)
        out["mean_error"] = mu[:, 0].copy()
    if "det" in wanted or "log_det" in wanted:  # through the log: a product of d eigenvalues under- or overflows
        if singular or (logdet is None and cov.shape[-1] < d):
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
        self.real = real
        self.sizes = [real.shape[1]]
        mean = real.mean(axis=1)
        c = real - mean[:, None, :]
        self.moments = Moments(real.shape[1], mean, c.swapaxes(1, 2) @ c)

    def add(self, batch: np.ndarray) -> None:
        """Merge a batch (R, m, d) that the pool may overwrite (a sample no one else holds) into the moments.

        In place (exact, named: the same operations in the same order, so the same bits): the batch is
        centred in its own memory and the scatter accumulated into the pool's, (S + S_batch) + the delta
        term, where each sum was a new array (R, d, d) or (R, m, d)."""
        m, p = batch.shape[1], self.moments
        b_mean = batch.mean(axis=1)
        bc = np.subtract(batch, b_mean[:, None, :], out=batch)
        delta = b_mean - p.mean
        scatter = p.scatter
        scatter += bc.swapaxes(1, 2) @ bc
        scatter += (p.count * m / (p.count + m)) * (delta[:, :, None] * delta[:, None, :])
        self.moments = Moments(p.count + m, p.mean + delta * (m / (p.count + m)), scatter)
        self.sizes.append(m)

    def gather(self, plan) -> Moments:
        if len(plan.parts) != 1 or plan.parts[0].rows is not None or len(plan.parts[0].batches) != len(self.sizes):
            raise ValueError("the moment pool serves the accumulate workflow only (the whole pool)")
        return self.moments

    def state(self) -> dict:
        return {"sizes": list(self.sizes), "real": self.real, "moments": self.moments}

    def restore(self, state: dict) -> None:
        self.sizes, self.moments = [int(x) for x in state["sizes"]], state["moments"]


@dataclass
class Fit:
    """A fitted mean (R, d) and covariance (R, d, d), with a square root of the covariance (given, or its
    Cholesky factor) and its log determinant, each computed when first asked for and kept: one
    factorisation serves the measure (log det) and the next sample (x = mu + L z)."""

    mean: np.ndarray
    cov: np.ndarray
    root: np.ndarray | None = None  # a square root of cov (d x r): given (the centred points), or factor()'s
    lower: bool = False  # whether every trial's root is lower triangular (a Cholesky factor)
    logdet: np.ndarray | None = None

    def factor(self) -> tuple[np.ndarray, bool]:
        """A square root L of the covariance (R, d, r) and whether every trial's L is lower triangular."""
        if self.root is None:
            self.root, self.lower = _root(self.cov)
        return self.root, self.lower

    def log_det(self) -> np.ndarray:
        if self.logdet is None:
            self.logdet = _log_det(self.cov, *self.factor())
        return self.logdet


class GaussianFamily(Family):
    """Mean and covariance fitted to points in R^d; real data N(0, sigma^2 I_d)."""

    saved_types = (Fit, Moments)

    def __init__(self, config: GaussianSettings, outputs=None):
        self.config = config
        self.ddof = 1 if config.estimator == "unbiased" else 0
        self.wanted = _wanted(outputs)
        # Every synthetic point lies in the affine hull of the n real points (each model's mean is in it
        # and its covariance spans the hull's directions), so with n <= d every fit is singular, in every
        # workflow: its determinant is exactly 0 (computed, it would be rounding noise).
        self.singular = config.n <= config.d

    def real(self, chain, rng):
        c = self.config
        x = rng.standard_normal((chain.trials, c.n, c.d))
        if c.sigma != 1.0:  # scaled in place: the same products as sigma * z, without a second array
            x *= c.sigma
        return x

    def pool(self, real, workflow, generations):
        return MomentPool(real) if workflow.name == "accumulate" else super().pool(real, workflow, generations)

    def fit(self, train, chain, rng):
        if isinstance(train, Moments):
            return Fit(train.mean, train.scatter / (train.count - self.ddof))
        own = isinstance(chain.pool, ArrayPool) and not chain.pool.holds(train)  # a gathered copy: centred in place
        return Fit(*_fit(train, self.ddof, overwrite=own))

    def measure(self, model, chain, rng, samples=None):
        logdet = model.log_det() if ("det" in self.wanted or "log_det" in self.wanted) and not self.singular else None
        return _measure(self.wanted, model.mean, model.cov, self.config.sigma, logdet, singular=self.singular)

    def sample(self, model, size, chain, rng):
        root, lower = model.factor()  # x = mu + L z, L L^T = cov (L is d x r)
        # Straight into the pool's next rows where it keeps every batch in one array (no copy there).
        slot = chain.pool.slot(size) if isinstance(chain.pool, ArrayPool) else None
        x = _tri_product(root, rng.standard_normal((len(model.mean), size, root.shape[2])), lower, left=False, out=slot)
        x += model.mean[:, None, :]
        return x


def resolve_sampler(sampler: str, workflow: str) -> str:
    """'points' or 'sufficient' for this workflow ('auto': sufficient where it is exact)."""
    if sampler not in SAMPLERS:
        raise SettingError(f"sampler must be one of {', '.join(SAMPLERS)}; got {sampler!r}", "sampler")
    if sampler == "auto":
        return "sufficient" if workflow in SUFFICIENT_WORKFLOWS else "points"
    if sampler == "sufficient" and workflow not in SUFFICIENT_WORKFLOWS:
        raise SettingError(f"sampler='sufficient' serves workflow {' and '.join(SUFFICIENT_WORKFLOWS)} only; "
                           f"{workflow!r} picks individual points (use sampler='auto' or 'points')", "sampler")
    return sampler


def run(trials: int, rng: np.random.Generator, config: GaussianSettings, generations: int, *,
        outputs=None, checkpoint: str | None = None) -> dict[str, np.ndarray]:
    """Run ``trials`` independent chains of a checked config; each output of :data:`OUTPUTS` (or those asked
    for) as (trials, G). See :func:`simulate`."""
    if resolve_sampler(config.sampler, config.workflow) == "sufficient":
        return _simulate_sufficient(trials, rng, config, generations, outputs)
    header = None
    if checkpoint is not None:
        from .checkpoint import header_of

        header = header_of("gaussian", config.as_dict(), trials, generations, rng)
    return driver.run(GaussianFamily(config, outputs), workflow_from(config, config.n), generations, trials, rng,
                      checkpoint=checkpoint, header=header)


def simulate(trials: int, rng: np.random.Generator, *, generations: int, outputs=None, **settings) -> dict[str, np.ndarray]:
    """Run ``trials`` independent chains; return each output of :data:`OUTPUTS` as (trials, G).

    ``settings`` are :class:`GaussianSettings` (``d``, ``n``, ``estimator``, ``workflow``, ...), checked here.
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
    ``sampler`` chooses how batches are drawn (see the module docstring); ``outputs`` (default: all)
    limits what is recorded (``w2`` costs an eigendecomposition per fit).
    """
    return run(trials, rng, GaussianSettings.build(settings), generations, outputs=outputs)


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


def _simulate_sufficient(trials: int, rng: np.random.Generator, config: GaussianSettings, generations: int,
                         outputs=None) -> dict[str, np.ndarray]:
    """:func:`run` for replace and accumulate, each batch drawn as its mean and scatter matrix.

    A batch of m points from N(mu, L L^T) has mean mu + L z / sqrt(m) and scatter L W L^T, W ~
    Wishart(m - 1, I). Every later mean and scatter stays in the span S of the real data's scatter
    (each batch's spread is L (...) with L in S, and so is each mean's step), which has dimension
    r = min(d, n - 1). When r < d the scatter matrices are kept as r x r matrices in an orthonormal basis
    of S (exact, and much cheaper than d x d matrices of rank r).

    Shortcuts (exact, named): ``replace`` keeps each scatter as F F^T and never forms it unless ``w2``
    or ``sigma`` is wanted: its trace is ||F||^2, and when r = d its log det is 2 sum log |F_ii|, as F
    is then lower triangular (Bartlett's factor is, and so is the product (F / sqrt(n - ddof)) A of two
    that makes the next F, a triangular product). ``accumulate`` factors each covariance once
    (Cholesky), for its log det and for the next batch.
    """
    d, n, sigma, workflow = config.d, config.n, config.sigma, config.workflow
    ddof = 1 if config.estimator == "unbiased" else 0
    R, G = trials, generations
    wanted = _wanted(outputs)
    columns: list[dict] = []
    r = min(d, n - 1)
    mean = sigma * rng.standard_normal((R, d)) / np.sqrt(n)  # the real data: N(0, sigma^2 I_d)
    factor = sigma * _wishart_factor(rng, R, d, n - 1)  # (R, d, r)
    basis = None
    if r < d:
        basis, factor = np.linalg.qr(factor)  # (R, d, r) orthonormal, (R, r, r) (upper triangular)
    scatter = factor @ factor.swapaxes(1, 2) if workflow == "accumulate" else None
    det = ("det" in wanted or "log_det" in wanted) and r == d
    count = n
    for t in range(G):
        if workflow == "replace":  # scatter = F F^T (count = n)
            cov = factor @ factor.swapaxes(1, 2) / (n - ddof) if "w2" in wanted or "sigma" in wanted else None
            trace = np.einsum("rij,rij->r", factor, factor) / (n - ddof)
            logdet = None
            if det:  # from F, whose condition number is the root of cov's
                with np.errstate(divide="ignore"):
                    logdet = 2 * np.log(np.abs(np.diagonal(factor, axis1=1, axis2=2))).sum(axis=1) - r * np.log(n - ddof)
            columns.append(_measure(wanted, mean, cov, sigma, logdet, singular=r < d, trace=trace))
            # the fit's covariance is F F^T / (n - ddof), so F / sqrt(n - ddof) is a root of it
            root, lower = factor / np.sqrt(n - ddof), basis is None
        else:
            model = Fit(mean, scatter / (count - ddof))  # in the basis of S
            columns.append(_measure(wanted, mean, model.cov, sigma, model.log_det() if det else None, singular=r < d))
            root, lower = model.factor()
        if t == G - 1:
            break
        shift = (rng.standard_normal((R, 1, r)) @ root.swapaxes(1, 2))[:, 0, :] / np.sqrt(n)  # batch mean - mu
        factor = _tri_product(root, _wishart_factor(rng, R, r, n - 1), lower, left=True)
        step = shift if basis is None else (basis @ shift[:, :, None])[:, :, 0]
        if workflow == "replace":
            mean = mean + step
        else:  # accumulate: Chan et al.'s merge, as in simulate(); delta = batch mean - pool mean = step
            scatter += factor @ factor.swapaxes(1, 2)  # in place: the same sums, no (R, r, r) temporaries
            scatter += (count * n / (count + n)) * (shift[:, :, None] * shift[:, None, :])
            mean = mean + step * (n / (count + n))
            count += n
    return {q: np.stack([c[q] for c in columns], axis=1) for q in columns[0]}


# -- the catalog's entry -------------------------------------------------------------------------------

_PLAIN = {"train_size": None, "synthetic": None, "alpha": None, "first_fit": "real"}
#: The 1-D chain's claims (theory.gaussian) are about replace with batches of n, from the real data as they are.
_ONE_D = {"d": 1, "workflow": "replace", **_PLAIN}
_1D_BINDS = (Bind("sigma"), Bind("T", "n"), Bind("estimator"))
_MV_BINDS = (Bind("sigma2", "sigma", to_coordinate=lambda s: s * s, to_setting=math.sqrt), Bind("d"), Bind("n"),
             Bind("estimator"), Bind("workflow"))
_MV_WHEN = {"workflow": CLAIM_WORKFLOWS, **_PLAIN}
_DD_NOTE = "1-D Gaussian, mean and variance by maximum likelihood"
#: Dey & Donoho's limit process: a 1-D chain fitted by maximum likelihood, at each n of the study.
_DD_VERIFY = {"d": 1, "sigma": 1.0, "estimator": "mle"}
#: Fewest trials at which a variance comparison (sample variance, delta-method standard error) is
#: calibrated. Measured on gaussian.w2_risk_var (unbiased, T=20, g=5; 600 and 300 seeds, alpha=0.05):
#: 11.0% rejections at 2,000 trials (the heavy-tailed W2^2 skews z to the left), 4.7% at 20,000.
MIN_TRIALS_VARIANCE = 20_000


def _scaled_cross(v, c: GaussianSettings):
    """n / sigma^2 times each generation's mean error times the one at generation l = cross_with."""
    l = c.cross_with
    if l is None:
        raise SettingError("the metric scaled_cov needs the setting cross_with (the generation l)", "cross_with")
    if l > v.shape[1]:
        raise SettingError(f"cross_with = {l} is beyond the {v.shape[1]} generations simulated", "cross_with")
    return v * v[:, l - 1 : l] * (c.n / c.sigma**2)


def _synthetic(c: GaussianSettings) -> int:
    return c.synthetic or (max(1, round(c.alpha * c.n)) if c.alpha else c.n)


def _memory(c: GaussianSettings, G: int) -> float:
    d, n = c.d, c.n
    if resolve_sampler(c.sampler, c.workflow) == "sufficient":
        return 8.0 * d * d * 12
    m = _synthetic(c)
    pool = n + m * G if stored_all(c.workflow) and c.workflow != "accumulate" else 2 * (n + m)
    return 8.0 * d * (pool + 4 * max(n, m, c.train_size or 0)) + 8.0 * d * d * 6


def _work(c: GaussianSettings, G: int) -> float:
    """Seconds per trial on one core. Points: drawing m points in the r dimensions they span (r = d, or the
    k points of a smaller training set) and the products with the factor (2.1e-8 m r + 4.3e-10 m d r), the
    gather of the k rows a take draws (2.5e-8 per row), the distinct indices of a draw without replacement
    (2.8e-8 per index drawn, k + 3 sqrt(k) + 8 of them), the factorisations (2.6e-11 d^3) and the loop's
    small arrays (2e-7 d; accumulate's moment pool, which merges each batch's mean and scatter, 3e-7 d
    more). Fitted by non-negative least squares of the relative error to 60 cells (d = 1, 3, 5, 10, 30;
    n = 20, 100, 400; replace, accumulate-subsample with and without replacement, real-fraction 0.1; 2,000
    or 400 trials x 10 generations, one BLAS thread, 2 cores under load 8), within 0.75-1.9 of each, with a
    constant 5.1e-7 for the last term; that was 0.64x on custom-workflows (d = 1), and measured apart
    (5,000 trials) a trial and generation took 0.45 us at d = 1, n = 20 (replace), 3.2 us at d = 5, and
    4.5-6.8 us in verify's smoke cells at d = 5 (6.6 us under accumulate), hence the terms in d.
    Sufficient: a mean and a Wishart scatter in r = min(d, n - 1) dimensions."""
    if resolve_sampler(c.sampler, c.workflow) == "sufficient":
        r = min(c.d, c.n - 1)
        # accumulate factors every pooled covariance afresh: kazdan-gaussian in one process (python
        # benchmarks/bench_sweep.py's cells, load 9) measured 12.9 s CPU against 7.8 s at the replace rate
        # (replace: 7.2 s against 7.8 s).
        return G * (1.9e-8 * r**2 + 2.2e-11 * r**3) * (1.6 if c.workflow == "accumulate" else 1.0)
    flow = workflow_from(c, c.n)
    m, k = _synthetic(c), c.train_size or c.n
    r = c.d if k > c.d else k
    drawn = distinct = 0.0
    for i, take in enumerate(flow.spec.takes):
        rows = flow.take_rows(i, 2) if take.subsampled else None
        if rows:
            drawn += rows
            distinct += 0 if take.replace else rows + 3 * math.sqrt(rows) + 8
    return G * (2.1e-8 * m * r + 4.3e-10 * m * c.d * r + 2.5e-8 * drawn + 2.8e-8 * distinct + 2.6e-11 * c.d**3
                + (2.0e-7 + 3e-7 * (c.workflow == "accumulate")) * c.d)


register(Simulator(
    name="gaussian",
    target=f"{__name__}:run",
    doc="Gaussian fitted by mean and covariance, N(0, sigma^2 I_d) real data (Shumailov et al.; Kazdan et al.)",
    schema=GaussianSettings,
    metrics={
        "mean_sq_error": Metric("||mu_t - mu_0||^2", "mean_sq_error"),
        "trace_ratio": Metric("Tr Sigma_t / Tr Sigma_0", "trace", lambda v, c: v / (c.d * c.sigma ** 2)),
        "sigma2": Metric("fitted variance (d = 1)", "trace", lambda v, c: v / c.d),
        "sigma": Metric("fitted standard deviation (d = 1)", "sigma"),
        "marginal_var": Metric("variance of a point of model t about mu_0, per coordinate", "marginal_var"),
        "det_ratio": Metric("det Sigma_t / det Sigma_0", "det", lambda v, c: v / c.sigma ** (2 * c.d)),
        "log_det_ratio": Metric("log(det Sigma_t / det Sigma_0) (-inf when n <= d)", "log_det",
                                lambda v, c: v - 2 * c.d * np.log(c.sigma), nonfinite=True),
        "w2": Metric("W2^2 from the fitted Gaussian to the real one", "w2"),
        "w2_variance": Metric("W2^2 from the fitted Gaussian to the real one", "w2", statistic="variance",
                              min_trials=MIN_TRIALS_VARIANCE,
                              min_trials_why=f"variance comparisons are calibrated from {MIN_TRIALS_VARIANCE} trials on"),
        "log_var": Metric("log(sigma_t^2 / sigma^2) (d = 1)", "log_var"),
        "variance_ratio": Metric("Var(mu_k) / Var(mu_1), as E||mu_k - mu_0||^2 / E||mu_1 - mu_0||^2 (Dey & Donoho)",
                                 "mean_sq_error", statistic="ratio"),
        "scaled_sq_error": Metric("n ||mu_k - mu_0||^2 / (d sigma^2): the mean error in units of one fit on the real "
                                  "data as they are", "mean_sq_error", lambda v, c: v * c.n / (c.d * c.sigma ** 2)),
        "scaled_cov": Metric("n E[(mu_k - mu_0)(mu_l - mu_0)] / sigma^2, l = cross_with (first coordinate): Cov(Z_k, Z_l) "
                             "in units of one fit on the real data", "mean_error", _scaled_cross),
    },
    produces=(
        Produces("mvgaussian.mean_sq_error", "mean_sq_error", _MV_BINDS, when=_MV_WHEN),
        Produces("gaussian.mean_sq_error", "mean_sq_error", _1D_BINDS, when=_ONE_D),
        Produces("mvgaussian.trace_ratio", "trace_ratio", _MV_BINDS, when=_MV_WHEN),
        Produces("gaussian.sigma2", "sigma2", _1D_BINDS, when=_ONE_D),
        Produces("gaussian.sigma", "sigma", _1D_BINDS, when=_ONE_D),
        Produces("gaussian.marginal_var", "marginal_var", _1D_BINDS, when=_ONE_D),
        Produces("mvgaussian.det_ratio", "det_ratio", _MV_BINDS, when=_MV_WHEN),
        Produces("mvgaussian.log_det_ratio", "log_det_ratio", _MV_BINDS, when=_MV_WHEN),
        Produces("gaussian.w2", "w2", _1D_BINDS, when=_ONE_D),
        Produces("mvgaussian.w2", "w2", _MV_BINDS, when=_MV_WHEN),
        Produces("gaussian.w2_var", "w2_variance", _1D_BINDS, when=_ONE_D),
        Produces("gaussian.log_sigma2", "log_var", (Bind("T", "n"), Bind("estimator")), when=_ONE_D),
        Produces("aal.variance_ratio", "variance_ratio",
                 (Bind("workflow"), Bind("n"), Bind("first_fit", const="real"),
                  Bind("alpha", derive=lambda s: 1.0 if s["alpha"] is None else s["alpha"],
                       invert=lambda a: {"alpha": None if a == 1 else a})),
                 when={"workflow": CLAIM_WORKFLOWS, "train_size": None, "synthetic": None, "first_fit": "real"},
                 applies_if=lambda s: s["alpha"] is None or s["workflow"] == "accumulate",
                 verify=_DD_VERIFY, note=_DD_NOTE),
        # Any other workflow (the derived claims of theory.derive_claims): d = 1 and the *unbiased* variance,
        # whose chain differs from the n -> oo theory by O(k/n) (at n = 400 about 0.15% at k <= 5:
        # theory.derive_claims.CHECK_N).
        Produces("aal.variance_ratio", "variance_ratio",
                 (Bind("workflow"), Bind("n"), Bind("real_fraction"), Bind("first_fit", const="real"),
                  Bind("alpha", derive=lambda s: 1.0 if s["alpha"] is None else s["alpha"],
                       invert=lambda a: {"alpha": None if a == 1 else a})),
                 when={"d": 1, "estimator": "unbiased", "train_size": None, "synthetic": None, "first_fit": "real"},
                 applies_if=lambda s: s["workflow"] not in CLAIM_WORKFLOWS, verify={"sigma": 1.0},
                 note="1-D Gaussian, unbiased variance: the n -> oo theory at finite n (O(k/n))"),
        Produces("aal.variance_ratio", "scaled_sq_error",
                 (Bind("workflow"), Bind("n"), Bind("first_fit"), Bind("alpha", const=1)),
                 when={"first_fit": "bootstrap", "train_size": None, "synthetic": None, "alpha": None},
                 verify=_DD_VERIFY, note=_DD_NOTE),
        Produces("aal.covariance", "scaled_cov", (Bind("workflow"), Bind("n"), Bind("first_fit"), Bind("l", "cross_with")),
                 when={"workflow": CLAIM_WORKFLOWS, "train_size": None, "synthetic": None, "alpha": None},
                 applies_if=lambda s: s["cross_with"] is not None, verify=_DD_VERIFY, note=_DD_NOTE),
    ),
    memory=_memory,
    work=_work,
    # A block's fixed cost per generation (the loop's Python and small arrays): measured 0.09 ms (replace, d = 1)
    # to 0.3 ms (accumulate-subsample) per generation of a block of 50 trials, CPU seconds, 2 cores under load 8;
    # the sufficient sampler's loop about 0.1-0.2 ms (kazdan-gaussian's smoke cells, 20 trials x 10 generations);
    # 0.25 ms for the points' loop read custom-workflows' d = 1 smoke cells at 0.66x, so 0.15 ms for both.
    block_seconds=lambda c, G: 1.5e-4 * G,
    outputs=True,
))
