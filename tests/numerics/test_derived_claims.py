"""Derived claims (theory.derive_claims): a workflow's derived theory registered as a claim, verified like any.

The forms are the derivation's own (closed form or exact chain, no table of answers); a user registers one
with a Python call and `collapse verify` pairs it with the simulators that measure its quantity at the
workflow. The one simulation below runs 4,000 chains at a fixed seed: a correct claim passes it with
probability 0.99 at least (Holm, family-wise alpha = 0.01), fixed once by the seed; the planted error is
sized to be rejected (its z is stated).
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
import sympy as sp

from numerics.verify import default_items, make_item, run
from theory import CLAIMS
from theory.checks import Point
from theory.derive import DerivationError, derive, exact_values
from theory.derive_claims import SHIPPED, register_derived
from theory.registry import REGISTRY
from theory.symbols import k, real_fraction
from theory.workflows import workflow_spec

CONFIGS = Path(__file__).parents[2] / "numerics" / "configs"
SHIPPED_CONFIGS = ("custom-workflows.toml", "custom-workflows-ols.toml", "workflow-theory-gaussian.toml",
                   "workflow-theory-ols.toml")


def _values(cid: str, gens) -> list[float]:
    claim = CLAIMS[cid]
    at = {"d": 5, "T": 20, "sigma": 1.0} if claim.generation == "n" else {}
    if any(p.name == "real_fraction" for p in claim.params):
        at["real_fraction"] = 0.1
    return [claim.evaluate(**at, **{claim.generation: g}) for g in gens]


@pytest.mark.parametrize("name, workflow, quantity", SHIPPED, ids=[f"{n}-{q}" for n, _, q in SHIPPED])
def test_shipped_claims_are_the_derivation(name, workflow, quantity):
    """Each shipped claim's values are the exact chain's at k = 1..12 (to 1e-12), whatever its form."""
    cid = f"derived.{name}.{quantity}"
    spec = workflow_spec(workflow)
    values = {"real_fraction": sp.Rational(1, 10)} if spec.params else {}
    if quantity == "test_error":
        values.update(d=5, T=20, sigma=1)
    exact = exact_values(spec, quantity, values=values)
    gens = range(1, 13)
    assert _values(cid, gens) == pytest.approx([float(exact(g)) for g in gens], rel=1e-12)


def test_a_named_workflows_parameter_stays_a_parameter():
    """real-fraction's claim is derive()'s closed form in rho (simplified to zero), with its limit."""
    claim = CLAIMS["derived.real-fraction.variance_ratio"]
    d = derive("real-fraction")
    assert sp.simplify(claim.expr - d.expr) == 0 and sp.simplify(claim.limit - d.limit) == 0
    assert claim.expr.free_symbols == {k, real_fraction}
    half = exact_values("real-fraction", values={"real_fraction": 0.5})
    assert [claim.evaluate(k=g, real_fraction=0.5) for g in (2, 7)] == pytest.approx([float(half(2)), float(half(7))])
    with pytest.raises(ValueError, match="real_fraction must be in"):
        claim.evaluate(k=2, real_fraction=1.0)


def test_every_shipped_declared_workflow_is_the_configs():
    """A shipped claim of a declared workflow is a workflow of a shipped sweep configuration (the same spec)."""
    declared = {}
    for name in SHIPPED_CONFIGS:
        data = tomllib.loads((CONFIGS / name).read_text())
        for wname, table in data.get("workflows", {}).items():
            declared.setdefault(wname, []).append(workflow_spec(table).text)
    for name, workflow, _ in SHIPPED:
        if isinstance(workflow, dict):
            assert workflow_spec(workflow).text in declared[name], name


def test_the_shipped_claims_are_verified_on_the_simulators_that_measure_them():
    items, _ = default_items(["derived.*"])
    on = {(it.claim, it.simulator) for it in items}
    assert on == {(f"derived.{n}.{q}", "gaussian" if q == "variance_ratio" else "regression") for n, _, q in SHIPPED}
    for it in items:
        s = it.settings[None]
        if it.simulator == "gaussian":  # the derived production: d = 1, unbiased, the check's n
            assert (s["d"], s["estimator"], s["n"]) == (1, "unbiased", 400)
        assert it.generations == (2, 3, 5)


@pytest.fixture
def last2():
    """A user's derived claim (a window of two batches), removed afterwards."""
    claim = register_derived({"take": [{"from": "window", "window": 2}]}, name="user-last2",
                             checks=(Point({"n": 200}, generations=(2, 4)),))
    yield claim
    REGISTRY._claims.pop(claim.id)


def test_a_user_registers_a_derived_claim(last2):
    """register_derived: a claim like any (its id, quantity, provider), verified on the Gaussian chain; a
    planted error is rejected. 4,000 chains at n = 200: the derived 2 and 2.8125 at k = 2 and 4 (window of
    2: rate 4/9) hold; 15.6% more at k = 4 is about 6 standard errors (z = -6.2 at this seed)."""
    assert last2.id == "derived.user-last2.variance_ratio" and last2.quantity == "aal.variance_ratio"
    assert last2.provider == __name__ and last2.limit is sp.oo and "4/9" in last2.form().note
    assert [last2.evaluate(k=g) for g in (2, 4)] == pytest.approx([2, 2.8125])
    items, _ = default_items([last2.id])
    rows = run(items, trials=4000, seed=5)
    assert [r.verdict for r in rows] == ["pass", "pass"], [(r.theory, r.estimate, r.z) for r in rows]
    wrong = make_item(last2.id)
    wrong.expression = 2 + (k - 2) * sp.Rational(5, 8)  # right at k = 2, 3.25 (15.6% more) at k = 4
    planted = run([wrong], trials=4000, seed=5)[-1]
    assert planted.verdict == "FAIL", (planted.estimate, planted.se, planted.z)


@pytest.mark.parametrize("workflow, quantity, message", [
    ({"take": [{"from": "latest", "count": 5}]}, "variance_ratio", "count"),
    ({"take": [{"from": "latest", "share": 0.5}]}, "test_error", "whole batches"),
    ("replace", "diversity", "quantity must be one of"),
    ({"take": [{"from": "latest"}]}, "variance_ratio", "needs name= or id="),
])
def test_what_a_derivation_refuses_is_one_line(workflow, quantity, message):
    with pytest.raises(DerivationError, match=message):
        register_derived(workflow, quantity, name=None if "name=" in message else "planted")
