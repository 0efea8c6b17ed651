"""The testing library for researchers (numerics.testing, numerics.pytest_plugin): assert_claim with an
expression as a string, a SymPy expression or a Python function; its failure message; the seed sweep."""

import math
import re

import pytest

from numerics.pytest_plugin import parse_seeds
from numerics.testing import DisagreementError, assert_claim
from theory import CLAIMS

pytest_plugins = ["pytester"]

CLAIM = "gaussian.w2_risk"
AT = {"estimator": "mle"}  # at the verify point: T = n = 20, sigma = 1, generations 1, 2, 5, 10
TRIALS = 4000
ALPHA = 1e-3
FIRST_ORDER = "3*sigma**2*g/(2*T)"  # erratum 3's first-order form: 0.75 at g = 10, where the MLE risk is 0.6432


def w2_mle(sigma, T, g, estimator):
    """The claim's exact form written as a plain Python function (c4 through log-gamma)."""
    assert estimator == "mle"
    c4 = math.sqrt(2 / (T - 1)) * math.exp(math.lgamma(T / 2) - math.lgamma((T - 1) / 2))
    return sigma**2 * (2 - 2 * ((T - 1) / T) ** (g / 2) * c4**g)


def test_assert_claim_accepts_the_claims_own_formula_in_each_form(collapse_seed):
    """The same formula as a string, as SymPy and as a Python function: the same simulation (cells are
    keyed by settings and seed) and the same theory, so one calibrated test (Holm over the 4 generations,
    family-wise alpha 1e-3: a false failure at that rate per seed, whatever the trial count), not three."""
    expr = CLAIMS[CLAIM].form(**AT).expr
    kw = dict(at=AT, trials=TRIALS, seed=collapse_seed, alpha=ALPHA)
    by_form = {"string": assert_claim(str(expr), CLAIM, **kw), "sympy": assert_claim(expr, CLAIM, **kw),
               "callable": assert_claim(w2_mle, CLAIM, **kw)}
    exact = [CLAIMS[CLAIM].evaluate(sigma=1.0, T=20, g=g, **AT) for g in (1, 2, 5, 10)]
    for form, rows in by_form.items():
        assert [r.generation for r in rows] == [1, 2, 5, 10], form
        assert all(r.verdict == "pass" and r.trials == TRIALS and r.seed == collapse_seed for r in rows), form
        assert [r.theory for r in rows] == pytest.approx(exact, rel=1e-12), form
        assert [r.estimate for r in rows] == [r.estimate for r in by_form["string"]], form


def test_assert_claim_along_a_generation_range(collapse_seed):
    rows = assert_claim(w2_mle, CLAIM, at={**AT, "T": 30, "sigma": 2.0}, generations=range(3, 7), trials=TRIALS,
                        seed=collapse_seed, alpha=ALPHA)
    assert [r.generation for r in rows] == [3, 4, 5, 6]
    assert rows[-1].theory == pytest.approx(CLAIMS[CLAIM].evaluate(sigma=2.0, T=30, g=6, **AT), rel=1e-12)


LINE = re.compile(r"at g = (?P<g>\d+): theory (?P<theory>\S+), estimate (?P<estimate>\S+), se (?P<se>\S+), "
                  r"(?P<test>z|t\(\d+\)) = (?P<z>\S+), p_adj = (?P<p>\S+)")


def test_a_wrong_formula_fails_with_theory_estimate_se_z_and_seed(collapse_seed):
    """The first-order form against the MLE chain. Power: at g = 10 it is 0.75, the exact risk 0.6432, and
    sd W2^2 = 0.747 there (gaussian.w2_risk_var, MLE), so with 4000 trials the se is 0.0118 and
    z = -gap / se + N(0, 1) is about -9.0 +- 1: above -4 with probability below 1e-6,
    and Holm rejects the first of 4 rows at |z| > 3.7 (alpha 1e-3 / 4): the row fails at any seed."""
    with pytest.raises(DisagreementError) as err:
        assert_claim(FIRST_ORDER, CLAIM, at=AT, trials=TRIALS, seed=collapse_seed, alpha=ALPHA)
    head, *lines = str(err.value).splitlines()
    assert re.fullmatch(rf"{CLAIM}: \d of 4 comparisons reject the expression \(Holm, family-wise alpha = "
                        rf"{ALPHA}; {TRIALS} trials, seed {collapse_seed}\)", head), head
    rows = {int(m["g"]): m for m in map(LINE.search, lines) if m}
    assert len(rows) == len(lines) and 10 in rows, lines
    g10 = rows[10]
    assert float(g10["theory"]) == pytest.approx(0.75)  # the wrong formula's value, not the claim's
    est, se, z = float(g10["estimate"]), float(g10["se"]), float(g10["z"])
    exact = CLAIMS[CLAIM].evaluate(sigma=1.0, T=20, g=10, **AT)
    assert abs(est - exact) < 5 * se  # the estimate is the simulation's (|z| < 5 vs the truth: p < 6e-7)
    assert z == pytest.approx((est - 0.75) / se, rel=1e-2) and z < -4
    assert g10["test"] == "z" and float(g10["p"]) < ALPHA


def test_a_formula_that_cannot_be_read_is_an_error_not_a_disagreement():
    with pytest.raises(ValueError, match="unknown name 'x'"):
        assert_claim("x**2", CLAIM, at=AT, trials=TRIALS)


# -- the pytest plugin: the collapse_seed fixture and --collapse-seeds --------------------------------

TINY = """
import os

def test_seeded(collapse_seed):
    with open(os.path.join(os.path.dirname(__file__), "seeds.txt"), "a") as f:
        f.write(f"{collapse_seed}\\n")
    assert collapse_seed != 7, "a statistical test that fails at one seed"

def test_unseeded():
    pass
"""


@pytest.fixture
def tiny(pytester):
    pytester.makepyfile(test_tiny=TINY)
    return pytester


def _seeds(pytester):
    path = pytester.path / "seeds.txt"
    return [int(s) for s in path.read_text().split()] if path.exists() else []


def test_the_seed_sweep_runs_a_test_once_per_seed(tiny):
    result = tiny.runpytest("--collapse-seeds", "0-2", "-v", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)  # three seeds of the seeded test, and the unseeded test once
    result.stdout.fnmatch_lines(["*test_seeded?seed0? PASSED*", "*test_seeded?seed1? PASSED*",
                                 "*test_seeded?seed2? PASSED*"])
    assert _seeds(tiny) == [0, 1, 2]


def test_one_seed_by_default_and_lists_and_the_environment(tiny, monkeypatch):
    tiny.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=2)
    assert _seeds(tiny) == [0]  # the default seed
    tiny.runpytest("--collapse-seeds", "3", "-p", "no:cacheprovider").assert_outcomes(passed=2)
    assert _seeds(tiny) == [0, 3]  # one number is one seed (as scikit-learn's global_random_seed), not a count
    monkeypatch.setenv("COLLAPSE_SEEDS", "4,5")
    tiny.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=3)
    assert _seeds(tiny) == [0, 3, 4, 5]


def test_a_failing_seed_is_named(tiny):
    result = tiny.runpytest("--collapse-seeds", "5-8", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=4, failed=1)
    result.stdout.fnmatch_lines(["FAILED test_tiny.py::test_seeded[[]seed7[]]*"])


@pytest.mark.parametrize("text, seeds", [(None, [0]), ("", [0]), ("3", [3]), ("2-4", [2, 3, 4]), ("1,5, 7", [1, 5, 7]),
                                         ("0-1,9", [0, 1, 9]), ("all", list(range(100)))])
def test_parse_seeds(text, seeds):
    assert parse_seeds(text) == seeds


@pytest.mark.parametrize("text", ["x", "1-", "-3", "1,,2"])
def test_parse_seeds_refuses_what_it_cannot_read(text):
    with pytest.raises(pytest.UsageError, match="--collapse-seeds"):
        parse_seeds(text)
