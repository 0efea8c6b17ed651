"""Dey & Donoho's limiting ratios and Gaussian process (docs/formulas.md sec. 3 and 6)."""

import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from theory import CLAIMS
from theory.symbols import alpha, k

RATIO = CLAIMS["universality.variance_ratio"]
WORKFLOWS = ("replace", "accumulate", "accumulate-subsample", "accumulate-subsample-replacement")


@pytest.mark.parametrize(
    "workflow,first_fit,at_10,limit",
    [
        ("replace", "real", 10, sp.oo),
        ("accumulate", "real", 1.549768, sp.pi**2 / 6),
        ("accumulate-subsample", "real", 2.649303, sp.pi**2 / 2 - 2),
        ("accumulate-subsample-replacement", "real", 2.849535, sp.pi**2 / 3 - sp.Rational(1, 4)),
        ("accumulate-subsample-replacement", "bootstrap", None, sp.pi**2 / 3),
    ],
)
def test_ratios_and_exact_limits(workflow, first_fit, at_10, limit):
    form = RATIO.form(workflow=workflow, first_fit=first_fit)
    assert form.limit == limit or sp.simplify(form.limit - limit) == 0  # SymPy's exact limit
    if at_10 is not None:
        assert RATIO.evaluate(k=10, workflow=workflow, first_fit=first_fit) == pytest.approx(at_10, abs=5e-7)
    assert RATIO.evaluate(k=1, workflow=workflow, first_fit=first_fit) == (2 if first_fit == "bootstrap" else 1)


@given(kk=st.integers(1, 300))
def test_finite_k_values_climb_towards_their_limits(kk):
    for workflow in WORKFLOWS[1:]:
        form = RATIO.form(workflow=workflow)
        now, nxt = RATIO.evaluate(k=kk, workflow=workflow), RATIO.evaluate(k=kk + 1, workflow=workflow)
        assert now <= nxt < float(form.limit)


@given(kk=st.integers(3, 200))
def test_workflows_are_ordered(kk):
    # The survey's Figure 6a: accumulate < subsample < subsample with replacement < replace.
    values = [RATIO.evaluate(k=kk, workflow=w) for w in ("accumulate", "accumulate-subsample", "accumulate-subsample-replacement", "replace")]
    assert values == sorted(values) and len(set(values)) == 4


def test_bootstrap_is_only_for_subsampling_with_replacement():
    with pytest.raises(ValueError, match="first_fit='bootstrap' applies to"):
        RATIO.evaluate(k=3, workflow="accumulate", first_fit="bootstrap")


@pytest.mark.parametrize("variant", CLAIMS["universality.gaussian_process"].variants(), ids=str)
def test_gaussian_process_is_a_covariance(variant):
    gp = CLAIMS["universality.gaussian_process"]
    K = 8
    C = np.array([[gp.evaluate(k=a, l=b, **variant) for b in range(1, K + 1)] for a in range(1, K + 1)])
    assert np.allclose(C, C.T, rtol=0, atol=0)
    assert np.linalg.eigvalsh(C).min() > 0  # positive definite
    for a in range(1, K + 1):  # the diagonal is the variance ratio
        assert C[a - 1, a - 1] == pytest.approx(RATIO.evaluate(k=a, **variant), rel=1e-15)


def test_accumulate_process_has_independent_increments():
    gp = CLAIMS["universality.gaussian_process"]
    expr = gp.form(workflow="accumulate").expr
    l = sp.Symbol("l", integer=True, positive=True)
    assert expr.subs({k: 3, l: 7}) == sp.harmonic(3, 2)
    assert gp.evaluate(k=7, l=3) == gp.evaluate(k=3, l=3)


def test_accumulate_fraction_reduces_to_pi_squared_over_six():
    c = CLAIMS["universality.accumulate_fraction"]
    assert c.limit.subs(alpha, 1) == sp.pi**2 / 6  # SymPy evaluates psi_1(2) = pi^2/6 - 1 exactly
    assert c.derivation[-1].expr == sp.pi**2 / 6
    for kk in (1, 2, 10, 57):
        assert c.evaluate(alpha=1, k=kk) == pytest.approx(float(sp.harmonic(kk, 2)), rel=1e-15)


@given(a=st.floats(0.01, 100), kk=st.integers(1, 50))
def test_accumulate_fraction_lies_between_one_and_two(a, kk):
    c = CLAIMS["universality.accumulate_fraction"]
    assert 1 <= c.evaluate(alpha=a, k=kk) < float(c.limit.subs(alpha, a)) + 1e-15 < 2
    # The closed form is the direct sum 1 + sum_{j<k} alpha/(1 + j alpha)^2.
    direct = 1 + sum(a / (1 + j * a) ** 2 for j in range(1, kk))
    assert c.evaluate(alpha=a, k=kk) == pytest.approx(direct, rel=1e-12)


def test_logistic_claims_the_same_ratios():
    for variant in RATIO.variants():
        assert CLAIMS["universality.logistic"].form(**variant).expr == RATIO.form(**variant).expr
