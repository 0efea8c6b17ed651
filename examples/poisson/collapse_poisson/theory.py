r"""Closed forms for a Poisson rate refitted on its own samples (derived here).

Real data are n counts from Poisson(lambda); each generation fits the rate by the sample mean of its
training set and draws n counts from Poisson(fitted rate) for the next. Two facts carry everything:

* the total count of a batch drawn from a fitted rate r is Poisson(n r), so the next fit's rate has
  conditional mean r (a martingale) and conditional variance r / n, whose expectation is lambda / n at
  every generation (E r = lambda);
* the total count X_g = n lambda_g of replace chains is a Galton-Watson process with Poisson(1)
  offspring (each of the X_{g-1} counts begets a Poisson(1) number): critical, so it dies out.

Hence, after g fits (fit 1 on the real data):

* replace: E (lambda_g - lambda)^2 = g lambda / n (the sum of g martingale increments of variance
  lambda / n each), growing without bound;
* accumulate (the pool's mean): the pool after g fits gains n counts whose mean has conditional variance
  lambda_{g-1} / n, weighted 1/g in the pool mean, so the increments are lambda / (n g^2) and
  E (lambda_g - lambda)^2 = (lambda / n) H_g^(2) -> (lambda / n) pi^2 / 6: the Gaussian pi^2/6 pathway,
  exact at every finite n here;
* replace, P(lambda_g = 0): with q_0 = 0 and q_m = exp(q_{m-1} - 1) (the Poisson(1) generating
  function iterated: q_m is the chance one count's line is extinct after m steps) and X_1 ~ Poisson(n
  lambda), P(X_g = 0) = E q_{g-1}^{X_1} = exp(n lambda (q_{g-1} - 1)) -> 1: the chain collapses to the
  rate 0 almost surely, while its mean stays lambda.
"""

from __future__ import annotations

import sympy as sp

from theory.checks import Point
from theory.claim import Form, Recursion, Source, Step
from theory.quantities import quantity
from theory.registry import register
from theory.validation import Param, choice, size

from theory.symbols import g, n  # the toolkit's symbols for the sample size and the fit count

lam = sp.Symbol("lambda", positive=True)  # the rate: a symbol of this package's own (Param(..., sym=lam))
q = sp.Symbol("q", nonnegative=True)

SOURCE = Source(authors="collapse-poisson (a model-collapse plugin; derived)", year=2026,
                title="A Poisson rate refitted on its own samples",
                where="the martingale and Galton-Watson arguments of this module's docstring")

COORDS = {"rate": "the true rate lambda", "n": "counts per generation (and real counts)",
          "g": "fits so far (fit 1 on the real data)", "workflow": "data workflow: replace or accumulate"}
MEAN_SQ_ERROR = quantity("poisson.mean_sq_error", "E[(lambda_g - lambda)^2], the squared error of the fitted rate "
                         "of a Poisson refitted on its own samples", COORDS, generation="g")
EXTINCT = quantity("poisson.extinct", "P(lambda_g = 0): the chance the fitted rate has collapsed to 0 (replace)",
                   {k: v for k, v in COORDS.items() if k != "workflow"}, generation="g")

RATE = Param("rate", "positive", "the true rate lambda", sym=lam)
N = size("n", "counts per generation (and real counts)", 1)
G = size("g", "fits so far (fit 1 on the real data)", 1)
WORKFLOW = choice("workflow", "data workflow: replace or accumulate", "replace", "accumulate")


def _mean_sq_error(workflow: str) -> Form:
    j = sp.Symbol("j", integer=True, positive=True)
    if workflow == "replace":
        return Form(expr=g * lam / n, limit=sp.oo, monotone="nondecreasing",
                    derivation=(Step("g martingale increments of expected variance lambda/n", g * lam / n),))
    expr = lam / n * sp.harmonic(g, 2)
    return Form(expr=expr, limit=sp.pi**2 / 6 * lam / n, monotone="nondecreasing",
                derivation=(Step("the increment of fit j, weighted 1/j in the pool mean", lam / (n * j**2)),
                            Step("summed over j <= g", expr)))


def _extinct() -> Form:
    rec = Recursion(index=g, start=1, state=(q,), initial=(sp.S.Zero,), where=(),
                    output=sp.exp(n * lam * (q - 1)), update=(sp.exp(q - 1),))
    return Form(expr=sp.exp(n * lam * (q - 1)), recursion=rec, limit=sp.S.One, monotone="nondecreasing",
                derivation=(Step("q_m = P(one count's line is extinct after m steps), q_m = exp(q_{m-1} - 1)",
                                 sp.exp(q - 1)),
                            Step("P(X_g = 0) = E[q_{g-1}^X_1], X_1 ~ Poisson(n lambda)", sp.exp(n * lam * (q - 1)))))


_ASSUMPTIONS = ("real data: n counts from Poisson(lambda); each fit is the sample mean of its training set",
                "each generation draws n counts from Poisson(fitted rate); fit 1 is on the real data")

register(
    id="poisson.mean_sq_error",
    title="Squared error of a Poisson rate refitted on its own samples",
    quantity=MEAN_SQ_ERROR.id,
    source=SOURCE,
    params=(RATE, N, G, WORKFLOW),
    builder=_mean_sq_error,
    assumptions=_ASSUMPTIONS,
    defaults={"workflow": "replace"},
    checks=(Point({"rate": 2.0, "n": 10}, generations=(1, 2, 5, 20)),),
    note="Replace: g lambda / n, unbounded. Accumulate: (lambda / n) H_g^(2) < (lambda / n) pi^2 / 6, exact at "
    "every n (the Gaussian pi^2/6 pathway with the Poisson variance lambda in place of sigma^2).",
)
register(
    id="poisson.extinction",
    title="Probability that a refitted Poisson rate has collapsed to 0 (replace)",
    quantity=EXTINCT.id,
    source=SOURCE,
    params=(RATE, N, G),
    builder=_extinct,
    assumptions=_ASSUMPTIONS + ("replace: each fit uses only the latest batch",),
    checks=(Point({"rate": 0.5, "n": 4}, generations=(1, 3, 10, 40)),),
    note="exp(n lambda (q_{g-1} - 1)) with q_0 = 0, q_m = exp(q_{m-1} - 1): a critical Galton-Watson process, "
    "extinct with probability -> 1 (1 - q_m ~ 2/m), although E lambda_g = lambda at every g.",
)
