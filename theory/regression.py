r"""Linear regression retrained on its own labels with a fixed design (Gerstgrasser et al. 2024).

The design X (T x d, rows iid N(0, Sigma)) is drawn once and reused at every iteration. Labels at
iteration k are Y_k = X w_{k-1} + E_k with E_k ~ N(0, sigma^2 I_T) and w_0 = w*; fits are OLS
(w = X^+ Y), which needs T >= d + 2 for a finite expected error. The test error is
E||w_n - w*||^2_Sigma (excess risk, noise-free test labels), over X and all the noise.

* replace fits only the latest labels: w_n = w* + X^+ sum_{k<=n} E_k;
* accumulate fits all labels so far, which with a fixed X averages the fits:
  w_n = (1/n) sum_k X^+ Y_k, i.e. w_n = w_{n-1} + X^+ E_n / n.

Both errors are derived below by SymPy from these recursions and E tr(Sigma (X^T X)^{-1}) = d/(T-d-1)
(the mean of an inverse Wishart matrix), which holds for any Sigma.
"""

from __future__ import annotations

import functools

import sympy as sp

from .checks import Point
from .claim import Form, Source, Step
from .quantities import quantity
from .registry import register
from .validation import Param, size
from .symbols import T, d, k, n, sigma

GERSTGRASSER = Source(
    authors="Gerstgrasser, Schaeffer, Dey, Rafailov, Sleight, Hughes, Korbak, Agrawal, Pai, Gromov, "
    "Roberts, Yang, Donoho, Koyejo",
    year=2024,
    title="Is Model Collapse Inevitable? Breaking the Curse of Recursion by Accumulating Real and Synthetic Data",
    arxiv="2404.01413",
    where="linear-regression theorems; survey (Arulandu 2024) eqs. (4)-(6)",
)

#: E||X^+ E||^2_Sigma for one fit: sigma^2 E tr(Sigma (X^T X)^{-1}) = sigma^2 d / (T - d - 1).
ONE_FIT = sigma**2 * d / (T - d - 1)

_v = sp.Function("v")


@functools.lru_cache(maxsize=None)
def derive(workflow: str) -> tuple[Step, ...]:
    """The test error from the weight recursion, step by step (SymPy does the sums and the limit)."""
    c = sp.Symbol("c", positive=True)  # one fit's error, sigma^2 d/(T-d-1)
    if workflow == "replace":
        rec = sp.Eq(_v(k), _v(k - 1) + c)
        increment = c
    else:
        rec = sp.Eq(_v(k), _v(k - 1) + c / k**2)
        increment = c / k**2
    unrolled = sp.Sum(increment, (k, 1, n))
    closed = unrolled.doit()
    steps = [
        Step(
            "error e_k = w_k - w* with xi_k = X^+ E_k"
            + (" (accumulate averages the k fits of a fixed design)" if workflow != "replace" else " (replace)"),
            sp.Eq(sp.Symbol("e_k"), sp.Symbol("e_{k-1}") + sp.Symbol("xi_k") / (1 if workflow == "replace" else k)),
        ),
        Step("E_k independent of the past, so v_k = E||e_k||^2_Sigma satisfies", rec),
        Step("one fit: c = sigma^2 E tr(Sigma (X^T X)^-1) = sigma^2 d / (T - d - 1) (inverse Wishart mean)", sp.Eq(c, ONE_FIT)),
        Step("unrolled from v_0 = 0", unrolled),
        Step("summed", closed.subs(c, ONE_FIT)),
    ]
    if workflow != "replace":
        lim = sp.limit(closed, n, sp.oo)
        steps.append(Step("limit n -> oo", lim.subs(c, ONE_FIT)))
    return tuple(steps)


def _build(workflow: str, bound: bool = False) -> Form:
    steps = derive(workflow)
    if bound:
        lim = steps[-1].expr
        return Form(expr=lim, derivation=steps)
    expr = steps[4].expr
    return Form(
        expr=expr,
        limit=steps[-1].expr if workflow != "replace" else sp.oo,
        monotone="nondecreasing",
        derivation=steps,
    )


_PARAMS = (
    Param("sigma", "positive", "label-noise standard deviation"),
    size("d", "dimension", 1),
    size("T", "rows of the design (T >= d + 2)", 1),
    size("n", "number of fits (n = 1 is the fit on real labels)", 1),
)
_PARAMS_BOUND = _PARAMS[:3]


def _ols(values) -> str | None:
    if values["T"] <= values["d"] + 1:
        return (
            f"T must be greater than d + 1 (the OLS test error sigma^2 d/(T - d - 1) diverges at "
            f"T <= d + 1); got T={values['T']}, d={values['d']}"
        )
    return None


_ASSUMPTIONS = (
    "design X (T x d, rows iid N(0, Sigma), any Sigma) drawn once and reused at every iteration",
    "labels X w_{k-1} + N(0, sigma^2) noise; OLS fits; T >= d + 2",
    "test error E||w_n - w*||^2_Sigma (noise-free test labels), averaged over X and the noise",
)

TEST_ERROR = quantity(
    "regression.test_error",
    "E[||w_n - w*||^2_Sigma], the test error of OLS refitted n times on its own labels",
    {"sigma": "label noise", "d": "dimension", "T": "rows of the design", "n": "fits so far",
     "workflow": "data workflow (theory.workflows)",
     "eigenvalues": "eigenvalues of the covariance Sigma of the design's rows (default: the identity)",
     "design": "fixed (one design relabelled at every fit, Gerstgrasser et al.) or fresh (a new design per batch)"},
    generation="n",
)
#: The anisotropic covariance of the verification point (docs/formulas.md, section 2).
ANISOTROPIC = (3.0, 1.5, 1.0, 0.5, 0.1)
_AT = {"d": 5, "T": 20, "sigma": 1.0, "eigenvalues": ANISOTROPIC}
_NOTE = "anisotropic Sigma, eigenvalues " + ", ".join(f"{e:g}" for e in ANISOTROPIC)

register(
    id="regression.replace.test_error",
    title="OLS test error after n fits, replace workflow",
    quantity=TEST_ERROR.id,
    fixed={"workflow": "replace"},
    checks=(Point(_AT, generations=(1, 2, 5, 10), note=_NOTE),),
    source=GERSTGRASSER,
    params=_PARAMS,
    builder=lambda: _build("replace"),
    assumptions=_ASSUMPTIONS,
    constraints=(_ols,),
    generation="n",
    note="n sigma^2 d/(T - d - 1): linear growth, the collapse Dohmatob et al. describe. Holds with a fresh "
    "design every iteration too.",
    related=("regression.accumulate.test_error",),
)
register(
    id="regression.accumulate.test_error",
    title="OLS test error after n fits, accumulate workflow",
    quantity=TEST_ERROR.id,
    fixed={"workflow": "accumulate", "design": "fixed"},
    checks=(Point(_AT, generations=(1, 2, 5, 10), note=_NOTE),),
    source=GERSTGRASSER,
    params=_PARAMS,
    builder=lambda: _build("accumulate"),
    assumptions=_ASSUMPTIONS,
    constraints=(_ols,),
    generation="n",
    note="sigma^2 d/(T - d - 1) * sum_{i<=n} 1/i^2: the survey's eq. (4) recursion is correct. It needs the "
    "same X at every iteration: with a fresh design each iteration the error is lower (anisotropic "
    "Sigma, T=20, d=5, n=10: 0.5117 simulated vs 0.5535 from this formula).",
    related=("regression.accumulate.bound", "regression.replace.test_error", "universality.variance_ratio"),
)
register(
    id="regression.accumulate.bound",
    title="Bound on the accumulate test error for all n: pi^2/6 times one fit",
    quantity=TEST_ERROR.id,
    fixed={"workflow": "accumulate", "design": "fixed"},
    checks=(Point(_AT, generations=(50,), note="accumulate error after 50 fits; " + _NOTE),),
    alternative="upper",
    source=GERSTGRASSER,
    params=_PARAMS_BOUND,
    builder=lambda: _build("accumulate", bound=True),
    assumptions=_ASSUMPTIONS,
    constraints=(_ols,),
    kind="bound",
    generation=None,
    note="The accumulate error increases to sigma^2 d/(T - d - 1) * pi^2/6 and never reaches it.",
    related=("regression.accumulate.test_error",),
)
