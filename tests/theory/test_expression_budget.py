"""Expression evaluation is bounded in time and memory (issue #18, items 2 and 7).

Every expression a user types (``collapse check EXPR``, ``--at NAME=VALUE``, ``--where``) is parsed
and evaluated through one budget (``theory.evaluation``). The property: whatever the expression, the
evaluation ends with a finite value or a clean refusal (a ``UserError``), within a bound far above
what it should take (this is a safety property, not a speed target: ``MAX_SECONDS`` is the budget's
own deadline). Hypothesis generates expression trees with the constructs that ran for minutes or
exhausted memory before: exp towers, huge integers, nested sums and products with large bounds,
special functions with huge orders. A few dozen examples run in the default tier, many more under
``-m slow``. Each reproduction of the issue is then a test of its own, through the command line.
"""

from __future__ import annotations

import contextlib
import io
import math
import resource
import sys
import time

import mpmath
import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from theory import CLAIMS
from theory import evaluation as ev
from theory import symbols as S
from theory.cli import UsageError, parse_value
from theory.errors import UserError
from theory.evaluation import EvaluationError, mp_eval, number
from theory.expressions import ExpressionError, parse

CLAIM = CLAIMS["gaussian.w2_risk"]
POINT = {"sigma": 1, "T": 20, "g": 3}
NAMES = {"sigma": S.sigma, "T": S.T, "g": S.g, "i": S.i, "j": S.j, "k": S.k}
#: Per example: far above the budget's own deadline (MAX_SECONDS), so that only a run-away fails.
BOUND_SECONDS = 10 + ev.MAX_SECONDS
#: Growth of the process's peak resident memory allowed in one example.
BOUND_RSS_MB = 500


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


# -- generated expressions -----------------------------------------------------------------------

_HUGE = st.integers(1, 1000).map(lambda k: f"10**{k}")
_CONSTANT = st.one_of(st.integers(-3, 12).map(str), _HUGE,
                      st.sampled_from(["pi", "E", "EulerGamma", "1/3", "0.25", "oo", "i", "j"]))
_LEAF = st.one_of(_CONSTANT, st.sampled_from(["T", "sigma", "g"]))
_UNARY = ["exp", "log", "sqrt", "sin", "cos", "tan", "sinh", "cosh", "tanh", "atan", "erf", "erfc", "gamma",
          "loggamma", "digamma", "factorial", "Abs", "floor", "ceiling", "c4", "harmonic", "zeta"]
_BINARY = ["binomial", "beta", "Min", "Max", "harmonic", "zeta", "Rational", "polygamma", "log"]
_ORDER = st.one_of(st.integers(-2, 5).map(str), _HUGE, st.sampled_from(["T", "g", "1/2", "10**6", "1001"]))
_BOUND = st.one_of(st.integers(-2, 30).map(str), _HUGE, st.sampled_from(["T", "g", "i", "10**5", "10**6"]))


def _extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(children, st.sampled_from(["+", "-", "*", "/", "**"]), children).map(lambda t: f"({t[0]}){t[1]}({t[2]})"),
        st.tuples(st.sampled_from(_UNARY), children).map(lambda t: f"{t[0]}({t[1]})"),
        st.tuples(st.sampled_from(_BINARY), children, children).map(lambda t: f"{t[0]}({t[1]}, {t[2]})"),
        # special functions with huge orders
        st.tuples(st.sampled_from(["polygamma", "zeta"]), _ORDER, children).map(lambda t: f"{t[0]}({t[1]}, {t[2]})"),
        st.tuples(children, _ORDER).map(lambda t: f"harmonic({t[0]}, {t[1]})"),
        # exp towers
        st.tuples(st.integers(1, 5), children).map(lambda t: "exp(" * t[0] + t[1] + ")" * t[0]),
        # sums and products, nested when the body holds one (the index is used in the body)
        st.tuples(st.sampled_from(["Sum", "Product"]), children, st.sampled_from(["i", "j", "k"]), _BOUND, _BOUND)
        .map(lambda t: f"{t[0]}(({t[1]})*{t[2]}/(1+{t[2]}**2), ({t[2]}, {t[3]}, {t[4]}))"),
    )


EXPRESSIONS = st.recursive(_LEAF, _extend, max_leaves=10)
#: Values for --at: numbers, and schedules in i.
VALUES = st.recursive(_CONSTANT, _extend, max_leaves=10)


@contextlib.contextmanager
def _within_bounds():
    """The block must end within BOUND_SECONDS, and grow the peak resident memory by less than BOUND_RSS_MB."""
    rss, start = _peak_rss_mb(), time.monotonic()
    yield
    elapsed = time.monotonic() - start
    assert elapsed < BOUND_SECONDS, f"took {elapsed:.1f} s"
    assert _peak_rss_mb() - rss < BOUND_RSS_MB, f"peak memory grew by {_peak_rss_mb() - rss:.0f} MB"


def _check_expression(text: str) -> float | UserError:
    """As ``collapse check TEXT --quantity gaussian.w2_risk`` parses and evaluates it: a finite value or
    a UserError (returned), within the bounds."""
    with _within_bounds():
        try:
            value = CLAIM.evaluate_expression(parse(text, NAMES), **POINT)
        except UserError as e:
            return e
    assert math.isfinite(value)
    return value


def _show_at(name: str, text: str) -> None:
    """``collapse show gaussian.w2_risk --at NAME=TEXT ...``: it prints the value (exit status 0) or
    refuses in one line (exit status 2), within the bounds."""
    from collapse.cli import main

    at = [f"{k}={v}" for k, v in {**POINT, name: text}.items()]
    with _within_bounds(), contextlib.redirect_stdout(io.StringIO()) as out, \
            contextlib.redirect_stderr(io.StringIO()) as err:
        rc = main(["show", "gaussian.w2_risk", "--at", *at])
    lines = err.getvalue().splitlines()
    if rc == 0:
        assert "value at" in out.getvalue() and not lines, lines
    else:
        assert rc == 2 and len(lines) == 1 and lines[0].startswith("collapse show: "), (rc, lines)


_FUZZ = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                                  HealthCheck.data_too_large])


@settings(max_examples=40, **_FUZZ)
@given(EXPRESSIONS)
def test_every_expression_ends_with_a_value_or_a_refusal_within_the_bound(text):
    _check_expression(text)


@settings(max_examples=20, **_FUZZ)
@given(st.sampled_from(["sigma", "T"]), VALUES)
def test_every_value_given_with_at_is_read_within_the_bound(name, text):
    _show_at(name, text)


@pytest.mark.slow
@settings(max_examples=3000, **_FUZZ)
@given(EXPRESSIONS)
def test_every_expression_ends_with_a_value_or_a_refusal_within_the_bound_slow(text):
    _check_expression(text)


@pytest.mark.slow
@settings(max_examples=1000, **_FUZZ)
@given(st.sampled_from(["sigma", "T"]), VALUES)
def test_every_value_given_with_at_is_read_within_the_bound_slow(name, text):
    _show_at(name, text)


@pytest.mark.parametrize("text", [
    "exp(exp(exp(T)))", "exp(exp(exp(exp(exp(T)))))", "harmonic(T, 10**1000)", "polygamma(10**6, T)",
    "Product(1 + 1/i, (i, 1, 10**6))", "Sum(Sum(Sum(1/(i*j*k), (k, 1, 1000)), (j, 1, 1000)), (i, 1, 1000))",
    "binomial(10**999, 10**998)", "sin(exp(exp(20)))", "T**(2**(2**T))", "zeta(1/2, 10**6)",
    "polygamma(5, 1/2 - 10**6)", "zeta(3, oo)", "factorial(10**999)/factorial(10**999 - 1)",
    "Max(exp(exp(exp(10))), exp(exp(exp(11))))", "floor(exp(exp(exp(10))))", "gamma(exp(exp(T)))",
    "Sum(Product(1 + 1/j, (j, 1, i)), (i, 1, 10**4))", "Sum(polygamma(1000, i), (i, 1, 10**5))",
])
def test_each_known_run_away_is_refused_within_the_bound(text):
    """The issue's expressions and their relatives: each one is refused (none has a finite value that
    the budget can reach) in one line, within the bound."""
    refusal = _check_expression(text)
    assert isinstance(refusal, UserError) and "\n" not in str(refusal)


# -- the budget ------------------------------------------------------------------------------------

def _value(text: str, **env) -> float:
    return float(mp_eval(parse(text, NAMES), {getattr(S, k): mpmath.mpf(v) for k, v in env.items()}))


def test_nested_loops_are_counted_together_and_refused_before_they_start():
    """Three sums of 100 terms each are 1,010,100 terms: each alone is within the budget, the nest is not."""
    text = "Sum(Sum(Sum(1/(i*j*k), (k, 1, 100)), (j, 1, 100)), (i, 1, 100))"
    start = time.monotonic()
    with pytest.raises(EvaluationError, match=r"the sum over i, with the loops inside it, has 1,010,100 terms"):
        _value(text)
    assert time.monotonic() - start < 1  # refused before it starts, not after running out
    assert _value("Sum(Sum(1/(i*j), (j, 1, 30)), (i, 1, 30))") == pytest.approx(float(mpmath.harmonic(30)) ** 2)


def test_a_triangular_nest_is_estimated_exactly():
    """Inner lengths linear in the outer index (j <= i) are estimated at the middle index: a nest of
    about 130,000 terms runs, one of about 500,000 is refused before it starts."""
    assert _value("Sum(Sum(1, (j, 1, i)), (i, 1, 500))") == 500 * 501 / 2
    with pytest.raises(EvaluationError, match=r"has 501,000 terms"):
        _value("Sum(Sum(1, (j, 1, i)), (i, 1, 1000))")


def test_a_nest_that_the_estimate_misses_is_stopped_by_the_count(monkeypatch):
    """Inner lengths that the middle index does not show (here 0 there, 600 elsewhere) are caught by
    the running count of terms."""
    monkeypatch.setattr(ev, "MAX_TERMS", 5000)
    with pytest.raises(EvaluationError, match=r"at most 5,000 are evaluated in all"):
        _value("Sum(Sum(1, (j, 1, 600*Abs(i - 5))), (i, 1, 9))")


def test_the_deadline_stops_an_evaluation(monkeypatch):
    monkeypatch.setattr(ev, "MAX_SECONDS", 0.0)
    with pytest.raises(EvaluationError, match=r"the evaluation took more than 0 s \(stopped at the sum over i\)"):
        _value("Sum(1/i, (i, 1, 10))")


def test_one_budget_spans_the_evaluations_inside_it(monkeypatch):
    """Two loops of 3,000 terms evaluated one after the other in one budget of 5,000 terms: the second
    is refused (with what is left), where each alone would run."""
    monkeypatch.setattr(ev, "MAX_TERMS", 5000)
    expr = parse("Sum(1/i**2, (i, 1, 3000))", NAMES)
    mp_eval(expr, {})
    with ev.budget():
        mp_eval(expr, {})
        with pytest.raises(EvaluationError, match=r"at most 5,000 are evaluated in all \(2,000 are left\)"):
            mp_eval(expr, {})


def test_loop_bounds_must_be_integers():
    with pytest.raises(EvaluationError, match=r"the sum over i: the bound T/3 is 6.66667, not an integer"):
        _value("Sum(i, (i, 1, T/3))", T=20)


@pytest.mark.parametrize("text, message", [
    ("exp(10**31)", r"exp\(1.0e\+31\): arguments beyond 1e\+30 in absolute value are not evaluated"),
    ("polygamma(1001, 3)", r"polygamma\(1001.0, 3\): the order must be an integer from 0 to 1000"),
    ("polygamma(1/2, 3)", r"the order must be an integer from 0 to 1000"),
    ("polygamma(2, 1/2 - 1001)", r"the argument -1000.5 is beyond 1000 from 0"),
    ("harmonic(T, 1001)", r"harmonic\(20.0, 1001.0\): the order is beyond 1000 in absolute value"),
    ("zeta(-1/2, 1001)", r"with s < 1, a beyond 1000 in absolute value is not evaluated"),
    ("2**(10**29*T)", r"power\(2, 2.0e\+30\): arguments beyond 1e\+30"),
    ("(10**10)**(10**28*T)", r"the power is exp of 4.60517e\+30, beyond 1e\+30"),
    ("gamma(0)", r"gamma\(0\): gamma function pole"),
    ("zeta(3, oo)", r"the argument \+inf is not a finite number"),
])
def test_guarded_functions_name_what_they_refuse(text, message):
    with pytest.raises(EvaluationError, match=message):
        _value(text, T=20)


def test_min_and_max_refuse_complex_numbers():
    # (SymPy writes log(-1 - E) as log(1 + E) + I*pi, which the parser refuses as complex.)
    expr = sp.Min(sp.log(-1 - sp.E, evaluate=False), 1, evaluate=False)
    with pytest.raises(EvaluationError, match=r"Min\(1, \(1.31326 \+ 3.14159j\)\): \(1.31326 \+ 3.14159j\) is not real"):
        number(expr)


@pytest.mark.parametrize("text, value", [
    ("binomial(-1, 3)", -1), ("binomial(-1, 20)", 1), ("binomial(10, 3)", 120), ("harmonic(4)", 25 / 12),
    ("harmonic(3, 2)", 1 + 1 / 4 + 1 / 9), ("polygamma(1, 1)", float(mpmath.pi**2 / 6)),
    ("c4(3)", float(mpmath.sqrt(mpmath.pi) / 2)), ("c4(10**6)", float(1 - mpmath.mpf(1) / 4e6 - 7 / (32 * mpmath.mpf(1e12)))),
    ("2**(1/2)", 2**0.5), ("10**-30*10**30", 1.0),
    ("factorial(10**6)/factorial(10**6 - 1)", 1e6), ("Min(exp(3), 20)", 20.0), ("floor(exp(exp(2)))", 1618.0),
    ("zeta(2, 10**6 + 1) + harmonic(10**6, 2)", float(mpmath.pi**2 / 6)),
    ("Sum(Sum(1, (j, 1, i)), (i, 1, 10))", 55.0), ("Product(i/(i + 1), (i, 1, 99))", 0.01),
])
def test_values_within_the_budget_are_computed(text, value):
    """What the guards let through is computed as before (SymPy would compute some of these exactly,
    and slowly: the factorials, c4 at 10**6, harmonic at 10**6)."""
    assert float(number(parse(text, NAMES))) == pytest.approx(value, rel=1e-12)


def test_a_named_function_checks_its_argument_count():
    with pytest.raises(ExpressionError, match=r"'c4\(\)': c4 takes 1 argument \(0 given\)"):
        parse("c4()", NAMES)
    with pytest.raises(ExpressionError, match=r"c4 takes 1 argument \(3 given\)"):
        parse("c4(T, T, T)", NAMES)


def test_values_given_on_the_command_line_are_evaluated_within_the_budget():
    """--at and --where values: a constant that cannot be evaluated is refused when it is read; commas
    inside a call do not split a value into a list."""
    with pytest.raises(UsageError, match=r"cannot read the value 'exp\(exp\(exp\(10\)\)\)': exp\(9.38751e\+9565\)"):
        parse_value("exp(exp(exp(10)))")
    assert float(number(parse_value("Max(1, sqrt(2))"))) == pytest.approx(2**0.5, rel=1e-15)
    assert parse_value("20, 40,80") == [20, 40, 80] and parse_value("[1, 2]") == [1, 2]
    assert parse_value("(T-1)/(T+1)".replace("T", "3")) == sp.Rational(1, 2)
    with pytest.raises(UsageError, match=r"the sum over i has 1,000,000 terms"):
        parse_value("Sum(1/i**2, (i, 1, 10**6))")


def test_sizes_beyond_a_float_are_named():
    with pytest.raises(ValueError, match=r"^T must be at most 1e\+18, got 1.0e\+999$"):
        CLAIM.evaluate_mp(**{**POINT, "T": parse_value("10**999")})
    with pytest.raises(ValueError, match=r"^sigma must be a real number, got 2\*\(-1\)\*\*\(1/3\)"):
        CLAIM.evaluate_mp(**{**POINT, "sigma": parse_value("(-8)**(1/3)")})


# -- the issue's reproductions, through the command line ----------------------------------------

CHECK = ["--quantity", "gaussian.w2_risk", "--trials", "200", "--jobs", "1", "--no-progress"]


def _run(capsys, argv):
    from collapse.cli import main

    rc = main(argv)
    err = capsys.readouterr().err
    return rc, [line for line in err.splitlines() if not line.startswith("warning: with")]


@pytest.mark.parametrize("argv, message", [
    (["check", "exp(exp(exp(T)))", *CHECK], "exp(exp(exp(T))): exp(1.50655e+210704567): arguments beyond 1e+30 in "
     "absolute value are not evaluated"),
    (["check", "harmonic(T, 10**1000)", *CHECK], "harmonic(T, 10**1000): harmonic(20.0, 1.0e+1000): the order is "
     "beyond 1000 in absolute value"),
    (["check", "polygamma(10**6, T)", *CHECK], "polygamma(1.0e+6, 20.0): the order must be an integer from 0 to 1000"),
    (["check", "Product(1 + 1/i, (i, 1, 10**6))", *CHECK], "the product over i has 1,000,000 terms; at most "
     "200,000 are evaluated in all"),
    (["check", "Sum(Sum(Sum(1/(i*j*k), (k, 1, 1000)), (j, 1, 1000)), (i, 1, 1000))", *CHECK],
     "the sum over i, with the loops inside it, has 1,001,001,000 terms"),
    (["check", "binomial(10**999, 10**998)", *CHECK], "binomial(1.0e+999, 1.0e+998): arguments beyond 1e+30"),
    (["check", "c4()", *CHECK], "'c4()': c4 takes 1 argument (0 given)"),
    (["check", "c4(T,T,T)", *CHECK], "'c4(T,T,T)': c4 takes 1 argument (3 given)"),
    (["show", "gaussian.w2_risk", "--at", "sigma=c4()", "T=20", "g=3"],
     "cannot read the value 'c4()': 'c4()': c4 takes 1 argument (0 given)"),
    (["show", "gaussian.w2_risk", "--at", "sigma=exp(exp(exp(10)))", "T=20", "g=3"],
     "cannot read the value 'exp(exp(exp(10)))': exp(9.38751e+9565): arguments beyond 1e+30"),
])
def test_the_issues_reproductions_are_one_line_with_exit_status_2(capsys, argv, message):
    rc, lines = _run(capsys, argv)
    assert rc == 2 and len(lines) == 1, lines
    assert message in lines[0] and "internal error" not in lines[0]


def test_binomial_of_a_negative_integer_is_evaluated(capsys):
    """binomial(-1, T) = (-1)**T: a value (SymPy's rewrite in Gamma functions, gamma(0) = zoo, was an
    internal error). As a conjecture for the W2 risk it is rejected by the simulation: exit status 1."""
    assert CLAIM.evaluate_expression(parse("binomial(-1, T)", NAMES), **POINT) == 1.0
    assert CLAIM.evaluate_expression(parse("binomial(-1, T)", NAMES), **{**POINT, "T": 21}) == -1.0
    rc, lines = _run(capsys, ["check", "binomial(-1, T)", *CHECK])
    assert rc == 1 and "binomial(-1, T): REJECTED for gaussian.w2_risk" in lines[-1]


def test_where_values_are_read_within_the_budget(tmp_path, capsys):
    """``sweep --show --where``: a value that cannot be evaluated is one line, exit status 2."""
    from numerics.sweep import Config, run_sweep

    config = Config.from_dict({"simulator": "gaussian", "generations": 2, "trials": 4, "seed": 1,
                               "metrics": ["mean_sq_error"], "fixed": {"d": 1, "workflow": "replace"}, "grid": {"n": [5, 8]}})
    out = tmp_path / "r.parquet"
    run_sweep(config, out, jobs=1, progress=False)
    rc, lines = _run(capsys, ["sweep", "--show", str(out), "--where", "n=exp(exp(exp(10)))"])
    assert rc == 2 and lines == ["collapse sweep: cannot read the value 'exp(exp(exp(10)))': exp(9.38751e+9565): "
                                 "arguments beyond 1e+30 in absolute value are not evaluated (the work grows with "
                                 "the argument)"]
