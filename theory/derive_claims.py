r"""Derived claims: the theory of a declared workflow (:mod:`theory.derive`) registered as a claim.

A derived claim is a claim like any other (``collapse show``, ``collapse check``, ``collapse verify``): it
predicts a registered quantity at the workflow, and its checks pair it with every simulator that measures
that quantity there. Its form comes from the workflow itself, not from a table of answers:

* a closed form in the generation where the derivation gives one by a first-order recursion (the
  ``markov`` and ``pool`` structures of :func:`theory.derive.structure`: milliseconds to a second);
* otherwise (a window of several batches) the exact chain (:func:`theory.derive.exact_values`), exact
  rationals generation by generation, through an auxiliary quantity of the form (the closed form in k of
  a window costs seconds of rsolve: ``collapse derive`` prints it), with the limit or the rate of
  divergence of the window's state-space model.

=====================  ==========================  =============================================================
quantity (derive)      claim quantity              parameters (the generation, then the model's sizes)
=====================  ==========================  =============================================================
``variance_ratio``     ``aal.variance_ratio``      k (Dey & Donoho's n -> oo limit, in units of one fit)
``test_error``         ``regression.test_error``   sigma, d, T, n (Gerstgrasser et al.'s fixed design, exact)
=====================  ==========================  =============================================================

The workflow is a fixed coordinate of the claim (``workflow``: a named workflow's name, else the spec's
canonical text, :attr:`theory.workflows.WorkflowSpec.text`, as a simulator's setting holds it): a simulator checks it where
its metric measures the quantity at that workflow. A named workflow with a parameter (real-fraction's
``real_fraction``) keeps it as a parameter of the claim, checked at the value its check gives.

A user registers one with :func:`register_derived`, from the module of a ``collapse.claims`` entry point
(theory.plugins) or any code that runs before the claims are read::

    from theory.derive_claims import register_derived
    register_derived({"take": [{"from": "window", "window": 2}]}, name="last2")

The toolkit's own (:data:`SHIPPED`: the named real-fraction and real-plus-synthetic workflows and the
declared workflows of the shipped sweep configurations that a derivation covers) are registered by
theory.universality.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import sympy as sp

from .checks import Point
from .claim import Aux, Claim, Form, Source, Step
from .derive import QUANTITIES, DerivationError, derive, exact_values, limit_derivation, structure
from .evaluation import mp_eval
from .registry import REGISTRY
from .symbols import k, n
from .validation import Param, size
from .workflows import NAMED, WorkflowSpec, workflow_spec

DERIVED = Source(
    authors="model-collapse",
    year=2026,
    title="Theory derived from a declared data workflow (theory.derive)",
    where="Dey & Donoho's n -> oo Gaussian-process limit and Gerstgrasser et al.'s fixed-design OLS chain, "
          "derived for the workflow by collapse derive",
)


@dataclass(frozen=True)
class Model:
    """How a quantity of theory.derive is a registered quantity: its id, the claim's parameters and kind,
    the generation's name, the default check and what the claim assumes."""

    quantity: str
    params: tuple[Param, ...]
    kind: str
    generation: str
    check: Point
    assumptions: tuple[str, ...]


_OLS_PARAMS = (
    Param("sigma", "positive", "label-noise standard deviation"),
    size("d", "dimension", 1),
    size("T", "rows of the design (T >= d + 2)", 1),
    size("n", "number of fits (n = 1 is the fit on real labels)", 1),
)

#: n of the Gaussian check. The unbiased chain differs from the n -> oo theory by O(1/n): measured with
#: 200,000 chains at n = 50 and 100 (the four shipped Gaussian claims, k = 2, 3, 5) the relative deviation is
#: at most 0.9% (+-0.4%) at n = 50, so at n = 400 about 0.15% at most, a quarter of the smallest relative
#: standard error of the rows at 20,000 trials (0.6%).
CHECK_N = 400

MODELS: dict[str, Model] = {
    "variance_ratio": Model(
        "aal.variance_ratio", (size("k", "number of fits (k = 1 is the fit on the real data)", 1),), "asymptotic", "k",
        Point({"n": CHECK_N}, generations=(2, 3, 5),
              note=f"the unbiased 1-D Gaussian chain at n = {CHECK_N}: the n -> oo theory is within about 0.15% of it "
                   "at k <= 5, a quarter of a standard error or less"),
        ("an asymptotically approximately linear estimator, n -> oo with k fixed; V is the asymptotic variance of "
         "one fit on the n real points",)),
    "test_error": Model(
        "regression.test_error", _OLS_PARAMS, "exact", "n",
        Point({"d": 5, "T": 20, "sigma": 1.0}, generations=(2, 3, 5)),
        ("design X (T x d, rows iid N(0, Sigma)) drawn once and relabelled at every fit; OLS fits; T >= d + 2",
         "synthetic batches of one whole design (each model relabels the T rows)")),
}


#: What a named workflow's parameter is (the claim's parameter of the same name).
PARAM_DOCS = {"real_fraction": "share of real points per training set (the rest: the latest synthetic batch)"}
#: What each quantity is, for a derived claim's title.
TITLES = {"variance_ratio": "Limiting variance ratio Var(theta_k) / Var(theta_1)",
          "test_error": "OLS test error after n fits (fixed design)"}


def _ols(values) -> str | None:
    if values["T"] <= values["d"] + 1:
        return f"T must be greater than d + 1 (one fit's error diverges at T <= d + 1); got T={values['T']}, d={values['d']}"
    return None


def _fraction(values) -> str | None:
    rho = values.get("real_fraction")
    if rho is not None and not 0 < rho < 1:
        return f"real_fraction must be in (0, 1) (the rest of n is the synthetic batch); got {rho}"
    return None


def form_of(spec: WorkflowSpec, quantity: str) -> Form:
    """The claim's form of ``quantity`` for a workflow: the closed form where a first-order recursion gives
    it (markov, pool), else the exact chain through an auxiliary quantity, with the limit or the rate."""
    kind, _ = structure(spec)
    if kind in ("markov", "pool"):
        d = derive(spec, quantity)
        if d.expr is not None:
            return Form(expr=d.expr, limit=d.limit, derivation=d.recursion,
                        note="" if d.rate is None else f"diverges linearly: value / {d.index} -> {d.rate}")
    limit, rate, steps = limit_derivation(spec, quantity)
    index = k if quantity == "variance_ratio" else n
    exact = exact_values(spec, quantity)
    value = sp.Symbol("V_exact")

    def solve(env: dict):
        return mp_eval(exact(int(env[index])), env)

    chain = Step(f"the exact chain (theory.derive.Chain): each generation's fit as a combination of independent "
                 f"atoms, its spread computed generation by generation, exact at every {index}", value)
    return Form(expr=value, limit=limit, derivation=(chain, *steps),
                where=(Aux(value, sp.Eq(value, sp.Function("exact_chain")(index)), solve=solve),),
                note="" if rate is None else f"diverges linearly: value / {index} -> {rate}")


def register_derived(workflow: object, quantity: str = "variance_ratio", *, name: str | None = None,
                     id: str | None = None, title: str | None = None, checks: tuple | None = None,
                     source: Source = DERIVED, note: str = "", provider: str | None = None) -> Claim:
    """Register the derived ``quantity`` of ``workflow`` (a name, a table or a WorkflowSpec) as a claim.

    ``id`` defaults to ``derived.NAME.QUANTITY`` (NAME: ``name``, the spec's name, or the workflow's name);
    ``checks`` to the model's point (:data:`MODELS`; a parameter of the workflow, real_fraction, at 0.1).
    DerivationError (one line) for a quantity with no claim quantity or a workflow its derivation refuses.
    The claim's provider is the calling module (``provider`` overrides it), as for theory.registry.register.
    """
    import inspect

    REGISTRY.load()  # the quantities first (a no-op while the entry points load, as from a plugin's module)
    if quantity not in MODELS:
        raise DerivationError(f"quantity must be one of {', '.join(MODELS)} for a derived claim, got {quantity!r}"
                              + (f" ({quantity} has no registered quantity a simulator measures at any workflow)"
                                 if quantity in QUANTITIES else ""))
    spec = workflow_spec(workflow, name=name)
    label = name or spec.name
    if id is None and not label:
        raise DerivationError("a derived claim of an unnamed workflow needs name= or id=")
    model = MODELS[quantity]
    exact_values(spec, quantity)  # refuses what the derivation does not cover, at once (the form is built on use)
    params = model.params + tuple(Param(p, "positive", PARAM_DOCS.get(p, f"the workflow's parameter {p}"))
                                   for p in spec.params)
    if checks is None:
        checks = (Point({**model.check.at, **{p: 0.1 for p in spec.params}}, generations=model.check.generations,
                        note=model.check.note),)
    named = spec.name in NAMED and spec == NAMED[spec.name]
    fixed: dict = {"workflow": spec.name if named else spec.text}
    if quantity == "variance_ratio":
        fixed.update(first_fit="real", alpha=1)
    else:
        fixed["design"] = "fixed"
    caller = inspect.currentframe().f_back
    claim = Claim(
        id=id or f"derived.{label}.{quantity}",
        title=title or f"{TITLES[quantity]}, workflow {label} (derived)",
        quantity=model.quantity,
        source=source,
        params=params,
        builder=lambda: form_of(spec, quantity),
        assumptions=model.assumptions + (f"workflow {label}: {spec.describe()}",),
        note=note or f"Derived by theory.derive from the workflow ({QUANTITIES[quantity]}); collapse derive prints it.",
        kind=model.kind,
        generation=model.generation,
        constraints=(_ols,) if quantity == "test_error" else (_fraction,) if spec.params else (),
        fixed=fixed,
        checks=checks,
    )
    claim.provider = provider or (caller.f_globals.get("__name__", "") if caller is not None else "")
    return REGISTRY.add(claim)


#: The toolkit's derived claims: (name, workflow, quantity). The named workflows no registered claim covers,
#: and, from the shipped sweep configurations, one workflow of each structure their derivations cover:
#: numerics/configs/custom-workflows.toml and workflow-theory-gaussian.toml (fresh10: markov; last3: a window),
#: custom-workflows-ols.toml and workflow-theory-ols.toml (last3; fresh-last2: a window beside fresh data,
#: stationary). custom-workflows-ols.toml's fresh10 takes shares, which the fixed-design error does not cover.
SHIPPED: tuple[tuple[str, Mapping | str, str], ...] = (
    ("real-fraction", "real-fraction", "variance_ratio"),
    ("real-plus-synthetic", "real-plus-synthetic", "variance_ratio"),
    ("fresh10", {"take": [{"from": "fresh", "share": 0.1}, {"from": "latest", "share": 0.9}]}, "variance_ratio"),
    ("last3", {"take": [{"from": "window", "window": 3}]}, "variance_ratio"),
    ("last3", {"take": [{"from": "window", "window": 3}]}, "test_error"),
    ("fresh-last2", {"take": [{"from": "fresh"}, {"from": "window", "window": 2}]}, "test_error"),
)


def register_shipped(provider: str) -> list[Claim]:
    """Register :data:`SHIPPED` (as claims of ``provider``, the entry-point module that calls it)."""
    return [register_derived(w, q, name=name, provider=provider) for name, w, q in SHIPPED]
