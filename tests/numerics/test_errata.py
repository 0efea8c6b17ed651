"""The errata's simulated numbers (theory.errata), measured again with fewer trials."""

import math

import numpy as np
import pytest

from numerics import gaussian, regression
from numerics.stats import Summary
from numerics.testing import assert_agrees
from theory.errata import ERRATA

BY_NUMBER = {e.number: e for e in ERRATA}


def _stated(number: int, name: str):
    return BY_NUMBER[number].numbers[name]


def test_erratum_4_a_fresh_design_breaks_the_sum_of_inverse_squares():
    out = regression.simulate_fixed_design(20_000, np.random.default_rng(0), d=5, T=20, generations=10,
                                           workflow="accumulate", eigenvalues=[3, 1.5, 1, 0.5, 0.1], design="fresh")
    est, se = Summary.of(out["test_error"][:, -1]).mean_se()
    fresh, formula = _stated(4, "fresh X"), _stated(4, "formula (fixed X)")
    assert_agrees(est, math.hypot(se[0], fresh.se), fresh.value, what="fresh-design accumulate error", seed=0)
    assert formula.value - est[0] > 10 * se[0]  # the formula is far off with a fresh design


def test_erratum_2_the_first_order_constant_in_five_dimensions():
    out = gaussian.simulate(20_000, np.random.default_rng(0), d=5, n=400, generations=4, estimator="unbiased",
                            workflow="replace", outputs=["w2"])
    est, se = Summary.of(out["w2"][:, -1]).mean_se()
    stated = _stated(2, "E W2^2")
    assert_agrees(est, math.hypot(se[0], stated.se), stated.value, what="E W2^2 at d = 5", seed=0)
    assert_agrees(est, se, _stated(2, "first order").value, what="first order d + d(d+1)/4", seed=0)
    with pytest.raises(AssertionError):  # the 1-D constant applied per coordinate, (3/2) d g/T, is far off
        assert_agrees(est, se, 1.5 * 5 * 4 / 400, seed=0)
