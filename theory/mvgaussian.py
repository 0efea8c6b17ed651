r"""Multivariate Gaussian fitted generation after generation under the data workflows (Kazdan et al.).

Iteration 1 fits (mu_1, Sigma_1) to n real points drawn from N(mu_0, Sigma_0). At iteration t >= 2,
n points are sampled from the model of iteration t-1 and

* ``replace``: the model is fitted to those n points only;
* ``accumulate``: they join the pool of all real and synthetic points so far (tn points), and the
  model is fitted to the whole pool;
* ``accumulate-subsample``: they join the pool, and the model is fitted to n points drawn from the
  pool without replacement (the fixed-compute workflow; Kazdan et al.'s code);
* ``accumulate-subsample-replacement``: the same, drawn with replacement.

The covariance estimator is the MLE (divide by the sample size, Kazdan et al.'s code: ``np.cov`` with
``bias=True``) or the unbiased one; f = (n-1)/n for the MLE and 1 for the unbiased estimator.

Every result here is an exact second-moment recursion: it holds for any data distribution with finite
second moments (Gaussianity enters only through ``det_ratio`` and ``log_det_ratio``), and depends on Sigma_0 only through
Tr Sigma_0 = d * sigma2.
"""

from __future__ import annotations

import sympy as sp

from .checks import Point
from .claim import Form, Recursion, Source, Step
from .quantities import quantity
from .registry import register
from .validation import ESTIMATOR, WORKFLOW, Param, size
from .symbols import d, i, k, n, sigma2, t

KAZDAN = Source(
    authors="Kazdan, Schaeffer, Dey, Gerstgrasser, Rafailov, Donoho, Koyejo",
    year=2024,
    title="Collapse or Thrive? Perils and Promises of Synthetic Data in a Self-Generating World",
    arxiv="2410.16713",
    where="multivariate Gaussian experiments (Sec. 2); exact recursions derived here (docs/formulas.md sec. 5)",
)


TR0 = d * sigma2  # Tr Sigma_0 for the isotropic covariance sigma2 * I_d


def _f(estimator: str) -> sp.Expr:
    return (n - 1) / n if estimator == "mle" else sp.S.One


def _trace_factor(estimator: str, upto: sp.Expr) -> sp.Expr:
    """E Tr Sigma_upto / Tr Sigma_0 under accumulate (pool-covariance recursion, derived).

    MLE: c_t = c_{t-1} (1 - 1/(n t^2)), c_1 = (n-1)/n.  Unbiased: c_t = c_{t-1} (1 - 1/(t(tn - 1))), c_1 = 1.
    """
    if estimator == "mle":
        return sp.Product(1 - 1 / (n * k**2), (k, 1, upto))
    return sp.Product(1 - 1 / (k * (k * n - 1)), (k, 2, upto))


def _subsample_recursion(estimator: str, replacement: bool, output: str) -> Recursion:
    """Exact recursion for accumulate-subsample (docs/formulas.md sec. 5, re-derived).

    State at iteration t (pool of N = tn points): e = E||pool mean - mu_0||^2 and s = E (pool sum of
    squared deviations). The subsample mean deviates from the pool mean by v in expectation; the fit's
    trace is q. The next batch of n points from the fitted model moves the pool mean by (xbar - pool
    mean)/(t+1), with E||xbar - pool mean||^2 = m = v + q/n.
    """
    e, s, N, v, q, m = sp.symbols("e s N v q m", nonnegative=True)
    f = _f(estimator)
    first = sp.Eq(t, 1)  # iteration 1 fits all n real points: no subsampling
    if replacement:
        v_expr = sp.Piecewise((0, first), (s / (n * N), True))
        q_expr = sp.Piecewise((f * s / (N - 1), first), (f * s / N, True))
    else:
        v_expr = (1 - 1 / t) * s / (n * (N - 1))
        q_expr = f * s / (N - 1)
    return Recursion(
        index=t,
        start=1,
        state=(e, s),
        initial=(TR0 / n, (n - 1) * TR0),
        where=((N, t * n), (v, v_expr), (q, q_expr), (m, v + q / n)),
        output=e + v if output == "mean" else q / TR0,
        update=(e + m / (t + 1) ** 2, s + (n - 1) * q + N / (t + 1) * m),
    )


def _mean_sq_error(estimator: str, workflow: str) -> Form:
    f = _f(estimator)
    if workflow == "replace":
        sched = TR0 / n * sp.Sum(f**i, (i, 0, t - 1))
        expr = sp.simplify(sched.doit().replace(lambda e: isinstance(e, sp.Piecewise), lambda e: e.args[-1][0]))
        return Form(
            expr=expr,
            limit=sp.oo if estimator == "unbiased" else TR0,
            monotone="nondecreasing",
            derivation=(
                Step("each fit adds E Tr Sigma_i / n to the mean error; E Tr Sigma_i = f^i Tr Sigma_0", sched),
                Step("summed", expr),
            ),
        )
    if workflow == "accumulate":
        # e_t = e_{t-1} + E Tr Sigma_{t-1} / (n t^2): the pool mean moves by (xbar_t - mu_{t-1}) / t.
        expr = TR0 / n * sp.Sum(_trace_factor(estimator, i - 1) / i**2, (i, 1, t))
        return Form(
            expr=expr,
            monotone="nondecreasing",
            note="Bounded in t by (Tr Sigma_0 / n) pi^2/6 (every c_j <= Tr Sigma_0); the bound is approached as n grows.",
            derivation=(
                Step("pool mean recursion: mu_t - mu_{t-1} = (xbar_t - mu_{t-1}) / t", sp.Symbol("e_{t-1}") + sp.Symbol("c_{t-1}") / (n * t**2)),
                Step("unrolled, with c_j = E Tr Sigma_j", expr),
            ),
        )
    rec = _subsample_recursion(estimator, workflow.endswith("replacement"), "mean")
    return Form(expr=rec.output, recursion=rec, monotone="nondecreasing")


def _trace_ratio(estimator: str, workflow: str) -> Form:
    f = _f(estimator)
    if workflow == "replace":
        return Form(expr=f**t, limit=sp.S.One if estimator == "unbiased" else sp.S.Zero,
                    monotone="constant" if estimator == "unbiased" else "nonincreasing")
    if workflow == "accumulate":
        expr = _trace_factor(estimator, t)
        limit = sp.sin(sp.pi / sp.sqrt(n)) / (sp.pi / sp.sqrt(n)) if estimator == "mle" else None
        steps = ()
        if estimator == "mle":
            steps = (
                Step("E Tr Sigma_t / Tr Sigma_0 = prod_{k<=t} (1 - 1/(n k^2))", expr),
                Step("Euler's product sin(pi x)/(pi x) = prod (1 - x^2/k^2) at x = 1/sqrt(n)", limit),
            )
        return Form(expr=expr, limit=limit, monotone="nonincreasing", derivation=steps)
    rec = _subsample_recursion(estimator, workflow.endswith("replacement"), "trace")
    return Form(expr=rec.output, recursion=rec)


def _det_ratio(estimator: str, workflow: str) -> Form:
    # n Sigma_hat_MLE ~ Wishart(Sigma, n - 1): E det = det Sigma prod_{k=1}^{d} (n - k) / n^d per fit.
    per_fit = sp.Product((n - k) / n, (k, 1, d)) if estimator == "mle" else sp.Product((n - k) / (n - 1), (k, 1, d))
    expr = per_fit**t
    return Form(
        expr=expr,
        limit=sp.S.Zero,
        monotone="nonincreasing",
        derivation=(
            Step("E det of a Wishart(Sigma, n-1) matrix over the estimator's divisor, per fit", per_fit),
            Step("independent fits multiply", expr),
        ),
    )


def _log_det_ratio(estimator: str, workflow: str) -> Form:
    # Sigma_t = L W L^T / c with W ~ Wishart_d(n - 1, I) independent of the past (c = n or n - 1), so
    # log det Sigma_t = log det Sigma_{t-1} + log det W - d log c; by Bartlett, det W is a product of
    # independent chi^2_{n-k}, k = 1..d, and E log chi^2_nu = digamma(nu/2) + log 2.
    c = n if estimator == "mle" else n - 1
    per_fit = sp.Sum(sp.digamma((n - k) / 2) + sp.log(2) - sp.log(c), (k, 1, d))
    expr = t * per_fit
    return Form(
        expr=expr,
        limit=-sp.oo,
        monotone="nonincreasing",
        derivation=(
            Step("E log det of a Wishart_d(n-1, I) matrix over c^d, per fit (Bartlett: chi-squares)", per_fit),
            Step("each fit adds an independent term", expr),
        ),
    )


def _n_above_d(values) -> str | None:
    if values["n"] <= values["d"]:
        return (f"n must be greater than d (a covariance fitted to n <= d points is singular: its log "
                f"determinant is -oo); got n={values['n']}, d={values['d']}")
    return None


def _bound(estimator: str, workflow: str) -> Form:
    base = _mean_sq_error(estimator, workflow)
    return Form(
        expr=base.expr,
        recursion=base.recursion,
        limit=base.limit,
        monotone=base.monotone,
        derivation=(Step("W2^2 >= ||mu_t - mu_0||^2, so E W2^2 >= E||mu_t - mu_0||^2", base.expr),),
    )


_PARAMS = (
    Param("sigma2", "positive", "isotropic variance per coordinate (Sigma_0 = sigma2 I_d; Tr Sigma_0 = d sigma2)"),
    size("d", "dimension", 1),
    size("n", "samples per generation", 2),
    size("t", "iteration (iteration 1 is the fit on real data)", 1),
    ESTIMATOR,
    WORKFLOW,
)
_ASSUMPTIONS = (
    "data with mean mu_0 and covariance Sigma_0 = sigma2 I_d (only Tr Sigma_0 enters, and only finite "
    "second moments are needed, except for det_ratio and log_det_ratio, which assume Gaussian data)",
    "mean fitted by the sample mean, covariance by the MLE or the unbiased estimator",
    "n new points sampled from the latest model at each iteration; iteration 1 uses the real data",
)
_DEFAULTS = {"estimator": "mle", "workflow": "replace"}  # Kazdan et al.'s code


_COORDS = {
    "sigma2": "isotropic variance per coordinate of the real data (Tr Sigma_0 = d sigma2)",
    "d": "dimension",
    "n": "samples per generation (and real samples)",
    "t": "iteration (iteration 1 is the fit on real data)",
    "estimator": "covariance estimator: unbiased or mle",
    "workflow": "data workflow (theory.workflows)",
}
#: The verification point: Kazdan et al.'s grid at d = 5, n = 20 (docs/formulas.md), at t = 1, 2, 5, 10.
_CHECK = (Point({"sigma2": 1.0, "d": 5, "n": 20}, generations=(1, 2, 5, 10)),)


def _replace_only(name: str):
    """The claim's refusal of every workflow but replace (theory.claim.Claim.no_form)."""
    def no_form(choices) -> str | None:
        return None if choices["workflow"] == "replace" else f"mvgaussian.{name} is stated for workflow='replace' only"

    return no_form


def _claim(name: str, title: str, doc: str, build, **kw) -> None:
    q = quantity(f"mvgaussian.{name.replace('_lower_bound', '').replace('w2_risk', 'w2')}",
                 doc + " of a d-dimensional Gaussian refitted under a data workflow", _COORDS, generation="t")
    register(
        id=f"mvgaussian.{name}",
        title=title,
        quantity=q.id,
        source=KAZDAN,
        params=_PARAMS,
        builder=build,
        assumptions=_ASSUMPTIONS,
        defaults=_DEFAULTS,
        generation="t",
        checks=_CHECK,
        **kw,
    )


_claim(
    "mean_sq_error",
    "Mean error E||mu_t - mu_0||^2 under a data workflow",
    "E[||mu_t - mu_0||^2]",
    _mean_sq_error,
    note="Replace: (Tr0/n) sum_{i<t} f^i (diverges linearly for the unbiased estimator, saturates at Tr0 "
    "for the MLE). Accumulate: (Tr0/n) sum_{j<=t} c_{j-1}/j^2 <= (Tr0/n) pi^2/6. Accumulate-subsample: "
    "an exact recursion (no closed form is known). Kazdan et al.'s code uses the MLE, so unbiased "
    "formulas will not match their plots.",
)
_claim(
    "trace_ratio",
    "Covariance trace ratio E Tr Sigma_t / Tr Sigma_0",
    "E[Tr Sigma_t] / Tr Sigma_0",
    _trace_ratio,
    note="Replace: f^t (1 for the unbiased estimator). Accumulate with the MLE: prod_{k<=t}(1 - 1/(n k^2)) "
    "-> sin(pi/sqrt(n))/(pi/sqrt(n)).",
)
_claim(
    "det_ratio",
    "Covariance determinant ratio E det Sigma_t / det Sigma_0 (replace)",
    "E[det Sigma_t] / det Sigma_0",
    _det_ratio,
    no_form=_replace_only("det_ratio"),
    note="Replace only: [prod_{k=1}^{d} (n-k)/n]^t for the MLE, [prod_{k=1}^{d} (n-k)/(n-1)]^t unbiased. "
    "Collapses geometrically for either estimator (and is 0 once n <= d).",
)
_claim(
    "log_det_ratio",
    "Log-determinant drift E log(det Sigma_t / det Sigma_0) (replace)",
    "E[log(det Sigma_t / det Sigma_0)]",
    _log_det_ratio,
    no_form=_replace_only("log_det_ratio"),
    constraints=(_n_above_d,),
    note="Derived here (not in Kazdan et al.): t sum_{k=1}^{d} [digamma((n-k)/2) + log(2/c)], c = n for "
    "the MLE and n - 1 unbiased. The log-scale companion of det_ratio, whose mean is carried by rare "
    "large values (a heavy-tailed product); this one averages well over few chains. For d = 1 it is "
    "gaussian.log_sigma2_drift with T = n. Needs n > d.",
    related=("mvgaussian.det_ratio", "gaussian.log_sigma2_drift"),
)
_claim(
    "w2_risk_lower_bound",
    "Lower bound on E W2^2 by the mean error",
    "E[W2^2(N(mu_t, Sigma_t), N(mu_0, Sigma_0))]",
    _bound,
    kind="bound",
    alternative="lower",
    note="Since W2^2 >= ||mu_t - mu_0||^2, E W2^2 >= E||mu_t - mu_0||^2 (Shumailov et al.'s "
    "multivariate bound: Tr Sigma_0 * t/n for the unbiased, replace chain). In d dimensions with an "
    "isotropic Sigma_0 = s^2 I the first-order E W2^2 is s^2 (d + d(d+1)/4) t/n (derived): the "
    "1-D constant 3/2 does not carry over.",
    related=("mvgaussian.mean_sq_error", "gaussian.w2_risk"),
)
