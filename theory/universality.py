r"""Dey & Donoho's universality of the pi^2/6 pathway: the n -> oo limit of iterated refitting.

For an asymptotically approximately linear estimator (the MLE of an exponential family, OLS, logistic
regression), Z_k = sqrt(n) (theta_k - theta_0) converges, jointly over the generations k, to a Gaussian
process that does not depend on the model: only on the data workflow. With V the asymptotic covariance
of one fit on the n real points and xi_k, eta_k independent N(0, V):

* ``replace`` (discard): Z_k = Z_{k-1} + xi_k.
* ``accumulate`` (augment): the pool mean P_k after k fits moves by (Z_k + xi_k - P_k)/(k+1) and the
  fit is the pool, Z_k = P_k.
* ``accumulate-subsample``: the fit uses n of the kn pooled points, Z_k = P_k + sqrt(s_k) eta_k with
  subsample noise s_k = 1 - 1/k without replacement, and s_k = 1 with replacement from the second fit
  on (also at the first fit if the real data are bootstrapped too, ``first_fit='bootstrap'``).

Then a_k = Var P_k satisfies a_1 = 1, a_{k+1} = a_k + (s_k + 1)/(k+1)^2 (in units of V), and
Cov(Z_k, Z_l) = a_k + s_k [k = l] + s_k/(k+1) [k < l] for k <= l. Everything below is derived by SymPy
from that recursion (the subsample constants are derived here; Dey & Donoho's own were not retrieved).
"""

from __future__ import annotations

import functools

import sympy as sp

from .checks import Limit
from .claim import Form, Source, Step
from .quantities import quantity
from .registry import register
from .validation import WORKFLOW, Param, choice, size
from .symbols import alpha, j, k, l

DEY_DONOHO = Source(
    authors="Dey, Donoho",
    year=2024,
    title="Universality of the pi^2/6 Pathway in Avoiding Model Collapse",
    arxiv="2410.22812",
    where="the sequential Gaussian-process limit for AAL estimators; survey (Arulandu 2024) sec. 5, Fig. 6",
)

FIRST_FIT = choice(
    "first_fit",
    "the first fit uses the n real points as they are ('real') or a bootstrap resample of them "
    "('bootstrap'; accumulate-subsample-replacement only)",
    "real",
    "bootstrap",
)


def rational_sum(body: sp.Expr, var: sp.Symbol, lo: sp.Expr, hi: sp.Expr) -> sp.Expr:
    """sum_{var=lo}^{hi} body, for ``body`` rational in ``var`` with integer poles, in harmonic numbers.

    Partial fractions turn each term into c/(var + a)^p, whose sum is
    c (H_{hi+a}^(p) - H_{lo+a-1}^(p)); expanding the shifted harmonic numbers lets divergent parts cancel
    exactly, so that SymPy can take the limit.
    """
    total = sp.S.Zero
    for term in sp.Add.make_args(sp.apart(sp.together(body), var)):
        c, rest = term.as_independent(var)
        if rest == 1:
            total += c * (hi - lo + 1)
            continue
        base, p = rest.as_base_exp()
        shift = sp.expand(base - var)
        if not (shift.is_integer and sp.expand(base).coeff(var) == 1 and (-p).is_positive):
            raise ValueError(f"rational_sum cannot sum the term {term}")
        total += c * (sp.harmonic(hi + shift, -p) - sp.harmonic(lo + shift - 1, -p))
    return sp.simplify(sp.expand_func(total))


def _noise(workflow: str, first_fit: str) -> tuple[sp.Expr | None, sp.Expr]:
    """(s_1, s_j for j >= 2): the subsample noise of each fit, in units of V."""
    if workflow == "accumulate":
        return sp.S.Zero, sp.S.Zero
    if workflow == "accumulate-subsample":
        return sp.S.Zero, 1 - 1 / j
    if first_fit == "bootstrap":
        return sp.S.One, sp.S.One
    return sp.S.Zero, sp.S.One


def _no_process(choices) -> str | None:
    """Why there is no process for these choices (theory.claim.Claim.no_form), or None."""
    if choices.get("first_fit") == "bootstrap" and choices.get("workflow") != "accumulate-subsample-replacement":
        return "first_fit='bootstrap' applies to workflow='accumulate-subsample-replacement' only"
    return None


@functools.lru_cache(maxsize=None)
def process(workflow: str, first_fit: str) -> tuple[sp.Expr, sp.Expr, tuple[Step, ...]]:
    """(Var Z_k / V, Cov(Z_k, Z_l) / V for k < l, derivation) for a workflow."""
    why = _no_process({"workflow": workflow, "first_fit": first_fit})
    if why:
        raise ValueError(why)
    if workflow == "replace":
        steps = (Step("discard: Z_k = Z_{k-1} + xi_k, independent increments", sp.Symbol("Z_{k-1}") + sp.Symbol("xi_k")),)
        return k, k, steps
    s1, s = _noise(workflow, first_fit)
    # a_k = 1 + (s_1 + 1)/4 + sum_{j=2}^{k-1} (s_j + 1)/(j+1)^2 for k >= 2 (a_1 = 1).
    a_k = 1 + (s1 + 1) / 4 + rational_sum((s + 1) / (j + 1) ** 2, j, 2, k - 1)
    a_k = sp.simplify(sp.expand_func(a_k))
    s_k = s.subs(j, k)
    var = sp.simplify(a_k + s_k)
    cross = sp.simplify(a_k + s_k / (k + 1))
    if s1 != s.subs(j, 1):  # the first fit differs from the rule for later fits
        var = sp.Piecewise((1 + s1, sp.Eq(k, 1)), (var, True))
        cross = sp.Piecewise((1 + s1 / 2, sp.Eq(k, 1)), (cross, True))
    steps = (
        Step("pool-mean recursion: a_1 = 1, a_{k+1} = a_k + (s_k + 1)/(k+1)^2 with subsample noise s_k",
             sp.Eq(sp.Symbol("s_k"), s_k)),
        Step("a_k summed in harmonic numbers (k >= 2)", a_k),
        Step("Var Z_k / V = a_k + s_k", var),
        Step("Cov(Z_k, Z_l) / V = a_k + s_k/(k+1) for k < l", cross),
    )
    return var, cross, steps


def _limit(expr: sp.Expr) -> sp.Expr:
    if isinstance(expr, sp.Piecewise):
        expr = expr.args[-1][0]
    return sp.limit(expr, k, sp.oo)


def _ratio(workflow: str, first_fit: str) -> Form:
    var, _, steps = process(workflow, first_fit)
    limit = _limit(var)
    return Form(
        expr=var,
        limit=limit,
        monotone="nondecreasing",
        derivation=steps[:3] + (Step("limit k -> oo", limit),),
    )


def _cov(workflow: str, first_fit: str) -> Form:
    var, cross, steps = process(workflow, first_fit)
    lo = sp.Min(k, l)
    expr = sp.Piecewise((var, sp.Eq(k, l)), (cross.subs(k, lo), True))
    return Form(expr=expr, derivation=steps)


def _fraction() -> Form:
    # Accumulate with synthetic batches of alpha n: the pool after k fits holds n (1 + (k-1) alpha)
    # points, and Z_{k+1} = Z_k + alpha n (xi_k / sqrt(alpha)) / (n (1 + k alpha)).
    increment = alpha / (1 + j * alpha) ** 2
    finite = 1 + sp.Sum(increment, (j, 1, k - 1))
    closed = 1 + (sp.polygamma(1, 1 + 1 / alpha) - sp.polygamma(1, k + 1 / alpha)) / alpha
    limit = 1 + sp.polygamma(1, 1 + 1 / alpha) / alpha
    return Form(
        expr=closed,
        limit=limit,
        monotone="nondecreasing",
        derivation=(
            Step("increment of Var Z_{j+1} / V when the pool of n (1 + j alpha) points gains alpha n", increment),
            Step("Var Z_k / V", finite),
            Step("sum_{j>=1} 1/(j + c)^2 = psi_1(1 + c) at c = 1/alpha", closed),
            Step("limit k -> oo", limit),
            Step("at alpha = 1 (equal batches): psi_1(2) = pi^2/6 - 1", limit.subs(alpha, 1)),
        ),
    )


_K = size("k", "number of fits (k = 1 is the fit on the real data)", 1)

_COORDS = {
    "k": "number of fits (k = 1 is the fit on the real data)",
    "workflow": "data workflow (theory.workflows)",
    "first_fit": "the first fit uses the real data as they are ('real') or a bootstrap resample ('bootstrap')",
    "alpha": "synthetic points per generation as a fraction of n (1: batches of n)",
    "n": "real points (the claims are its n -> oo limit)",
}
VARIANCE_RATIO = quantity(
    "aal.variance_ratio",
    "n E||theta_k - theta_0||^2 / V after k fits of an asymptotically linear estimator (the mean of a Gaussian) "
    "refitted on its own samples, V = n E||theta_1 - theta_0||^2 of one fit on the real data as they are",
    {**_COORDS, "real_fraction": "share of real points per training set (workflow real-fraction)"},
    generation="k", limit=("n",))
COVARIANCE = quantity(
    "aal.covariance",
    "n E[(theta_k - theta_0)(theta_l - theta_0)] / V: the covariance of the rescaled errors at fits k and l",
    {**{k_: v for k_, v in _COORDS.items() if k_ != "alpha"}, "l": "a second fit index"},
    generation="k", limit=("n",))
LOGISTIC_RATIO = quantity(
    "logistic.variance_ratio",
    "n E||theta_k - theta_0||^2 / tr I(theta_0)^-1 after k fits of a logistic regression refitted on labels drawn "
    "from its own fit (I: the Fisher information of one point)",
    {k_: v for k_, v in _COORDS.items() if k_ != "alpha"}, generation="k", limit=("n",))

#: The convergence study of the limit claims: the sample sizes n of the simulation, extrapolated to n -> oo.
LADDER = (50, 100, 200, 400)
LOGISTIC_LADDER = (200, 400, 800)
#: A bootstrapped first fit of a logistic regression is far from its limit at n = 200 (its ratio there is
#: 17% above the limit and curves away from a + b/n; measured with 5,000 chains), so its ladder starts at 400.
LOGISTIC_BOOTSTRAP_LADDER = (400, 800, 1600)


def _real(v: dict) -> bool:
    return v["first_fit"] == "real"


def _bootstrap(v: dict) -> bool:
    return v["first_fit"] == "bootstrap"


_BOOTSTRAP_NOTE = "the real data bootstrapped at the first fit, in units of one fit on them as they are"
#: What the variance ratio and its logistic-regression instance share (the same limits, by universality).
_RATIO = dict(
    params=(_K, WORKFLOW, FIRST_FIT),
    builder=_ratio,
    no_form=_no_process,
    kind="asymptotic",
    generation="k",
    defaults={"workflow": "accumulate", "first_fit": "real"},
)

register(
    id="universality.variance_ratio",
    title="Limiting variance ratio Var(theta_k) / Var(theta_1) after k fits, by workflow",
    quantity=VARIANCE_RATIO.id,
    fixed={"alpha": 1},
    source=DEY_DONOHO,
    **_RATIO,
    checks=(Limit(along="n", ladder=LADDER, generations=(2, 3, 5), variants=_real),
            Limit(along="n", ladder=LADDER, generations=(1, 2, 3, 5), variants=_bootstrap, note=_BOOTSTRAP_NOTE)),
    assumptions=(
        "an asymptotically approximately linear estimator (MLE of an exponential family, OLS, ...), "
        "n -> oo with k fixed; V is the asymptotic variance of one fit on the n real points",
        "each generation samples n synthetic points from the latest fit",
    ),
    note="Limits: replace oo (ratio k); accumulate pi^2/6 (sum_{j<=k} 1/j^2); accumulate-subsample "
    "pi^2/2 - 2 (3 H_k^(2) - 2, derived); with replacement pi^2/3 - 1/4 (2 H_k^(2) - 1/4 from k = 2), "
    "or pi^2/3 if the real data are also bootstrapped at the first fit (ratio to V, the error of one "
    "fit on the real data as they are). The survey's Figure 6a orders them: accumulate < subsample < "
    "subsample with replacement < replace.",
    related=("universality.gaussian_process", "regression.accumulate.test_error", "universality.logistic"),
)
register(
    id="universality.gaussian_process",
    title="Covariance Cov(Z_k, Z_l) of the limiting sequential Gaussian process",
    quantity=COVARIANCE.id,
    checks=(Limit({"l": 4}, along="n", ladder=LADDER, generations=(1, 2, 3, 4),
                  note="cross-covariances with generation l = 4"),),
    source=DEY_DONOHO,
    params=(_K, size("l", "a second generation index", 1), WORKFLOW, FIRST_FIT),
    builder=_cov,
    no_form=_no_process,
    kind="asymptotic",
    generation=None,
    defaults={"workflow": "accumulate", "first_fit": "real"},
    assumptions=("as for universality.variance_ratio",),
    note="Accumulate: V sum_{j <= min(k,l)} 1/j^2 (independent increments); replace: V min(k, l). The "
    "subsample workflows are not Markov in Z alone: the pool mean carries the memory.",
    related=("universality.variance_ratio",),
)
register(
    id="universality.accumulate_fraction",
    title="Limiting variance ratio when each generation adds alpha n synthetic points",
    quantity=VARIANCE_RATIO.id,
    fixed={"workflow": "accumulate", "first_fit": "real"},
    checks=(Limit({"alpha": 0.5}, along="n", ladder=LADDER, generations=(2, 3, 5),
                  note="synthetic batches of alpha n = n/2 points"),),
    source=DEY_DONOHO,
    params=(Param("alpha", "positive", "synthetic batch size as a fraction of the real sample size n"), _K),
    builder=_fraction,
    kind="asymptotic",
    generation="k",
    assumptions=("as for universality.variance_ratio; the model is fitted to the whole pool",),
    note="Limit 1 + psi_1(1 + 1/alpha)/alpha: it falls from 2 (alpha -> 0) to 1 (alpha -> oo), and is "
    "pi^2/6 at alpha = 1 (derived).",
    related=("universality.variance_ratio",),
)
register(
    id="universality.logistic",
    title="Universality for logistic regression: the same limiting variance ratios",
    quantity=LOGISTIC_RATIO.id,
    source=DEY_DONOHO,
    **_RATIO,
    checks=(Limit(along="n", ladder=LOGISTIC_LADDER, generations=(2, 3), variants=_real),
            Limit(along="n", ladder=LOGISTIC_BOOTSTRAP_LADDER, generations=(1, 2, 3), variants=_bootstrap,
                  note=_BOOTSTRAP_NOTE)),
    assumptions=(
        "logistic regression, an exponential family with natural parameter X theta, fitted by maximum "
        "likelihood; synthetic labels Y ~ Bernoulli(sigmoid(X theta_{k-1})) on covariates from the same "
        "distribution",
        "n -> oo with k and the dimension fixed (Le Cam contiguity: the estimator's linear expansion holds "
        "under the fitted, locally perturbed, data distributions)",
    ),
    note="Checked by `collapse verify` by fitting actual logistic regressions (a convergence study in n). A "
    "published Monte Carlo check (n=1000, d=3, 1500 runs): augment ratio 1.273, 1.379, 1.422 at k=2..4 "
    "against 1.25, 1.361, 1.424.",
    related=("universality.variance_ratio",),
)

# The derived theory of the workflows no claim above covers: the named real-fraction and real-plus-synthetic
# workflows and the declared workflows of the shipped sweeps (theory.derive_claims), as claims of this module.
from .derive_claims import register_shipped  # noqa: E402  (after the quantities it predicts)

register_shipped(__name__)
