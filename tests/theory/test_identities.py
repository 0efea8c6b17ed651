"""Exact identities, checked symbolically (simplify(a - b) == 0), not with floats."""

import sympy as sp
import pytest

from theory import CLAIMS
from theory.gaussian import c4, chi2_moment_derivation, moment, _at_constant_T
from theory.symbols import T, d, g, n, sigma, sigma2, t


def same(a, b):
    return sp.simplify(sp.expand_func(a - b)) == 0


# -- Gerstgrasser: the accumulate sum and its pi^2/6 limit ----------------------------------------


def test_accumulate_regression_is_derived_as_harmonic_sum():
    expr = CLAIMS["regression.accumulate.test_error"].expr
    assert same(expr, sigma**2 * d / (T - d - 1) * sp.harmonic(n, 2))


def test_accumulate_regression_limit_is_pi_squared_over_six():
    expr = CLAIMS["regression.accumulate.test_error"].expr
    one_fit = sigma**2 * d / (T - d - 1)
    assert same(sp.limit(expr, n, sp.oo) / one_fit, sp.pi**2 / 6)
    assert same(CLAIMS["regression.accumulate.test_error"].limit, CLAIMS["regression.accumulate.bound"].expr)


def test_replace_regression_is_linear_in_n():
    assert same(CLAIMS["regression.replace.test_error"].expr, n * sigma**2 * d / (T - d - 1))


def test_regression_workflows_agree_at_first_fit():
    a = CLAIMS["regression.accumulate.test_error"].expr.subs(n, 1)
    b = CLAIMS["regression.replace.test_error"].expr.subs(n, 1)
    assert same(a, b)


# -- Shumailov: the derived moments, the W2 series, MLE vs unbiased ----------------------------------


def test_chi_square_moment_matches_the_textbook_formula():
    nu, r = sp.symbols("nu r", positive=True)
    derived = chi2_moment_derivation()[-1].expr
    assert same(derived, (2 / nu) ** r * sp.gamma(nu / 2 + r) / sp.gamma(nu / 2))


def test_sigma_mean_is_c4_to_the_g():
    assert CLAIMS["gaussian.sigma_mean"].expr == sigma * c4(T) ** g
    assert same(moment(T, sp.Rational(1, 2), "unbiased"), c4(T))
    assert same(moment(T, 2, "unbiased"), (T + 1) / (T - 1))
    assert moment(T, 1, "unbiased") == 1  # the unbiased variance is a martingale


def test_c4_series():
    # c4(T) = 1 - 1/(4T) - 7/(32T^2) - 19/(128T^3) + ... (docs/formulas.md 1b)
    from theory.gaussian import _log_c4_series, _x as x

    ser = sp.series(sp.exp(_log_c4_series()), x, 0, 4).removeO()
    assert same(ser, 1 - x / 4 - sp.Rational(7, 32) * x**2 - sp.Rational(19, 128) * x**3)


def test_w2_series_starts_with_the_first_order_form():
    for estimator in ("unbiased", "mle"):
        form = CLAIMS["gaussian.w2_risk"].form(estimator=estimator)
        assert same(form.series, sp.Rational(3, 2) * sigma**2 * g / T)
        assert same(form.derivation[-1].expr, form.series)


def test_w2_exact_form():
    assert same(CLAIMS["gaussian.w2_risk"].expr, sigma**2 * (g / T + 2 - 2 * c4(T) ** g))
    mle = CLAIMS["gaussian.w2_risk"].form(estimator="mle").expr
    assert same(mle, 2 * sigma**2 * (1 - (c4(T) * sp.sqrt((T - 1) / T)) ** g))


def test_mle_and_unbiased_relate_as_stated():
    r = (T - 1) / T
    form = lambda cid, e: CLAIMS[cid].form(estimator=e).expr  # noqa: E731
    assert same(form("gaussian.sigma2_mean", "mle"), form("gaussian.sigma2_mean", "unbiased") * r**g)
    assert same(form("gaussian.sigma_mean", "mle"), form("gaussian.sigma_mean", "unbiased") * r ** (g / 2))
    assert same(form("gaussian.log_sigma2_drift", "mle") - form("gaussian.log_sigma2_drift", "unbiased"), g * sp.log(r))
    assert same(form("gaussian.mean_sq_error", "mle"), sigma**2 * (1 - r**g))
    assert form("gaussian.marginal_var", "mle") == sigma**2
    assert same(form("gaussian.marginal_var", "unbiased"), sigma**2 * (1 + g / T))


def test_generation_limits():
    lim = lambda cid, e: CLAIMS[cid].form(estimator=e).limit  # noqa: E731
    assert lim("gaussian.w2_risk", "unbiased") == sp.oo
    assert lim("gaussian.w2_risk", "mle") == 2 * sigma**2
    assert lim("gaussian.sigma2_mean", "unbiased") == sigma**2
    assert same(lim("gaussian.w2_risk_var", "mle"), sigma**4 * (6 * T - 4))


def test_schedule_form_reduces_to_constant_form():
    for cid in [c for c in CLAIMS if c.startswith("gaussian.") and c != "gaussian.w2_risk_var"]:
        for e in ("unbiased", "mle"):
            form = CLAIMS[cid].form(estimator=e)
            assert same(_at_constant_T(form.schedule_expr), form.expr), (cid, e)


def test_accumulate_mle_trace_limit_is_eulers_product():
    form = CLAIMS["mvgaussian.trace_ratio"].form(workflow="accumulate", estimator="mle")
    x = sp.Symbol("x", positive=True)
    assert same(form.limit.subs(n, 1 / x**2), sp.sin(sp.pi * x) / (sp.pi * x))
    # The finite product approaches it: the tail prod_{k>t} (1 - 1/(n k^2)) is 1 - 1/(n t) + O(t^-2).
    claim = CLAIMS["mvgaussian.trace_ratio"]
    at_t = claim.evaluate(sigma2=1, d=1, n=20, t=4000, workflow="accumulate", estimator="mle")
    limit = float(form.limit.subs(n, 20))
    assert at_t / limit == pytest.approx(1 + 1 / (20 * 4000), rel=1e-7)


def test_replace_mean_error():
    kw = dict(workflow="replace")
    assert same(CLAIMS["mvgaussian.mean_sq_error"].form(**kw, estimator="unbiased").expr, d * sigma2 * t / n)
    assert same(CLAIMS["mvgaussian.mean_sq_error"].form(**kw, estimator="mle").expr, d * sigma2 * (1 - ((n - 1) / n) ** t))


def test_det_ratio_only_for_replace():
    with pytest.raises(ValueError, match="replace"):
        CLAIMS["mvgaussian.det_ratio"].form(workflow="accumulate")
    assert CLAIMS["mvgaussian.det_ratio"].variants() == [
        {"estimator": "unbiased", "workflow": "replace"},
        {"estimator": "mle", "workflow": "replace"},
    ]


@pytest.mark.parametrize("claim_id", [cid for cid in CLAIMS if CLAIMS[cid].choices])
def test_variants_are_the_choices_with_a_form(claim_id):
    """variants() lists the combinations no_form admits without building them: exactly those whose form builds."""
    claim = CLAIMS[claim_id]
    combos = [{}]
    for name, options in claim.choices.items():
        combos = [{**c, name: o} for c in combos for o in options]
    built = []
    for combo in combos:
        try:
            claim.form(**combo)
        except ValueError:
            continue
        built.append(combo)
    assert claim.variants() == built


# -- the log-determinant drift (derived here) -------------------------------------------------------


@pytest.mark.parametrize("estimator", ["unbiased", "mle"])
def test_log_det_ratio_in_one_dimension_is_the_log_variance_drift(estimator):
    """d = 1: E log(det Sigma_t / det Sigma_0) is Shumailov's E log(sigma_g^2 / sigma^2) with T = n."""
    a = CLAIMS["mvgaussian.log_det_ratio"].form(estimator=estimator).expr.subs(d, 1).doit()
    b = CLAIMS["gaussian.log_sigma2_drift"].form(estimator=estimator).expr
    b = _at_constant_T(b) if b.has(sp.Indexed) else b
    assert same(a.subs({n: T, t: g}), b.doit())


def test_log_det_ratio_against_a_wishart_by_quadrature():
    """E log det W for W ~ Wishart_2(3, I) by direct integration over Bartlett's factors."""
    import mpmath

    # det W = a11^2 a22^2 with a11^2 ~ chi^2_3, a22^2 ~ chi^2_2 independent (d = 2, n = 4)
    e_log_chi2 = lambda nu: mpmath.quad(  # noqa: E731
        lambda x: mpmath.log(x) * x ** (nu / 2 - 1) * mpmath.exp(-x / 2) / (2 ** (nu / 2) * mpmath.gamma(nu / 2)),
        [0, 1, mpmath.inf])
    expected = (e_log_chi2(3) + e_log_chi2(2) - 2 * mpmath.log(4)) * 3  # MLE (c = n = 4), t = 3 fits
    value = CLAIMS["mvgaussian.log_det_ratio"].evaluate(sigma2=2.0, d=2, n=4, t=3, estimator="mle")
    assert value == pytest.approx(float(expected), rel=1e-12)
