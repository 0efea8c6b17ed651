"""Dohmatob, Feng & Kempe's ridge claims and the random-matrix fixed point (docs/formulas.md sec. 4)."""

import mpmath
import pytest

from theory.evaluation import EvaluationError
from hypothesis import assume, given
from hypothesis import strategies as st

from theory import CLAIMS
from theory.ridge import kappa_residual, solve_kappa

ISO = dict(d=100, T=300, T0=250, lam=0.1, w0_norm=1, sigma=0.5, sigma0=1, n=3)


def ev(name, **kw):
    return CLAIMS[f"ridge.{name}"].evaluate(**kw)


def test_isotropic_vector():
    # docs/formulas.md: kappa = 0.141258, df_2 = 76.7772, bias 0.020589, variance 0.085987, rho 0.51882,
    # total 1.663036 (MC 1.66794 +- 0.0048).
    kappa = ev("kappa", d=100, lam=0.1, T=300)
    assert kappa == pytest.approx(0.141258, abs=5e-7)
    assert ev("df", d=100, m=2, kappa=kappa) == pytest.approx(76.7772, abs=5e-5)
    assert ev("bias", d=100, lam=0.1, T=300, w0_norm=1) == pytest.approx(0.020589, abs=5e-7)
    assert ev("variance", d=100, lam=0.1, T=300, sigma=0.5) == pytest.approx(0.085987, abs=5e-7)
    assert ev("rho", d=100, lam=0.1, T=300, T0=250) == pytest.approx(0.51882, abs=5e-6)
    assert ev("test_error", **ISO) == pytest.approx(1.663036, abs=5e-7)
    # The survey's low-dimensional df_2(lam)/(T0 - d): 82.6446/150.
    assert ev("rho_lowdim", d=100, lam=0.1, T0=250) == pytest.approx(100 / 1.21 / 150, rel=1e-14)


def test_exact_ridgeless_vector():
    # T = T0 = 20, d = 5, sigma = sigma0 = 1, n = 10: 5/14 + 50/14 = 3.928571 (MC 3.9087 +- 0.0178).
    kw = dict(d=5, T=20, T0=20, lam=0, w0_norm=1, sigma=1, sigma0=1, n=10)
    assert ev("test_error", **kw) == pytest.approx(55 / 14, rel=1e-15)
    for spectrum, extra in (("power-law", {"beta": 1.5}), ("given", {"eigenvalues": [3, 1.5, 1, 0.5, 0.1]})):
        kw2 = {**kw, **extra, "spectrum": spectrum}
        if spectrum == "given":
            kw2.pop("d")
        assert ev("test_error", **kw2) == pytest.approx(55 / 14, rel=1e-15)  # any covariance


def test_power_law_check():
    # docs/formulas.md's power-law check (j^-1.5, lam = 0.05): 0.06083 (n=0) and 1.08433 (n=3), for one
    # particular w0. Averaged over w0's direction the bias differs by 0.0011 in both, and rho agrees.
    kw = dict(spectrum="power-law", beta=1.5, d=100, T=300, T0=250, lam=0.05, w0_norm=1, sigma=0.5, sigma0=1)
    e0, e3 = ev("test_error", **kw, n=0), ev("test_error", **kw, n=3)
    assert e0 == pytest.approx(0.06083, abs=2e-3)
    assert (e3 - e0) == pytest.approx(1.08433 - 0.06083, abs=1e-4)


def test_overparametrised_vector():
    assert CLAIMS["ridge.overparam_noise_free"].evaluate(w0_norm=1, T0=30, d=50, n=5) == pytest.approx(1 - 0.6**5, rel=1e-15)


spectra = st.one_of(
    st.builds(lambda dd: {"spectrum": "isotropic", "d": dd}, st.integers(1, 40)),
    st.builds(lambda dd, b: {"spectrum": "power-law", "d": dd, "beta": b}, st.integers(1, 40), st.floats(0.2, 3)),
    st.builds(lambda e: {"spectrum": "given", "eigenvalues": e}, st.lists(st.floats(0.01, 20), min_size=1, max_size=20)),
)


def dim(spec):
    return spec.get("d") or len(spec["eigenvalues"])


@given(spec=spectra, lam=st.floats(1e-4, 10), T=st.integers(1, 400))
def test_kappa_is_at_least_lam_and_falls_towards_it(spec, lam, T):
    k1 = ev("kappa", **spec, lam=lam, T=T)
    k2 = ev("kappa", **spec, lam=lam, T=2 * T)
    assert lam <= k2 <= k1
    far = ev("kappa", **spec, lam=lam, T=10**9)
    # kappa - lam = kappa df_1/T <= kappa d/T: within a relative d/T of lam.
    assert far == pytest.approx(lam, rel=2 * dim(spec) / 10**9)


@given(spec=spectra, lam=st.floats(0, 10), T=st.integers(1, 400))
def test_kappa_residual_below_1e_25_at_30_digits(spec, lam, T):
    claim = CLAIMS["ridge.kappa"]
    point = claim.validate(**spec, lam=lam, T=T)
    eigs = point.get("eigenvalues") or [mpmath.mpf(1)] * point["d"]
    with mpmath.workdps(30):
        root = solve_kappa(point["lam"], point["T"], eigs)
        if lam > 0 or T < len(eigs):
            assert kappa_residual(root, point["lam"], point["T"], eigs) < mpmath.mpf(10) ** -25
        else:
            assert root == 0
    if spec["spectrum"] == "isotropic":  # closed form and solver agree
        with mpmath.workdps(30):
            closed = claim.evaluate_mp(dps=30, **spec, lam=lam, T=T)
        assert abs(closed - root) <= mpmath.mpf(10) ** -25 * max(1, abs(root))


@given(spec=spectra, m=st.integers(1, 5), kappa=st.floats(0, 100))
def test_df_is_at_most_d_and_falls_in_kappa(spec, m, kappa):
    a = ev("df", **spec, m=m, kappa=kappa)
    b = ev("df", **spec, m=m, kappa=kappa + 1)
    assert 0 < b <= a <= dim(spec) * (1 + 1e-15)
    assert ev("df", **spec, m=m, kappa=0) == pytest.approx(dim(spec), rel=1e-15)


@given(spec=spectra, lam=st.floats(1e-3, 5), extra=st.integers(2, 100))
def test_rmt_rho_tends_to_the_low_dimensional_form_as_T_grows(spec, lam, extra):
    T0 = dim(spec) + extra
    rho_far = ev("rho", **spec, lam=lam, T=10**10, T0=T0)
    low = ev("rho_lowdim", **spec, lam=lam, T0=T0)
    # Same numerator df_2(lam); the finite-sample denominator is T0 - d - 1, the survey's T0 - d.
    assert rho_far == pytest.approx(low * (T0 - dim(spec)) / (T0 - dim(spec) - 1), rel=1e-6)


@given(dd=st.integers(1, 30), lam=st.floats(0, 5), T=st.integers(1, 300), n=st.integers(0, 5))
def test_given_flat_spectrum_equals_isotropic(dd, lam, T, n):
    assume(not (lam == 0 and T <= dd + 1))
    iso = dict(d=dd, lam=lam, T=T, T0=dd + 5, sigma=0.7, sigma0=1.3, n=n, w0_norm=2.0)
    flat = {**iso, "spectrum": "given", "eigenvalues": [1.0] * dd}
    del flat["d"]
    try:
        expected = ev("test_error", **iso)
    except EvaluationError as e:  # lam within 1e-40 of the pole at lam = 0, T <= d + 1: both forms say so
        assert "diverges" in str(e) and lam < 1e-30 and T <= dd + 1
        with pytest.raises(EvaluationError, match="diverges"):
            ev("test_error", **flat)
        return
    assert ev("test_error", **flat) == pytest.approx(expected, rel=1e-12)
    w = [2.0 / dd**0.5] * dd  # a vector w0 with the same norm
    assert ev("bias", d=dd, lam=lam, T=T, w0=w) == pytest.approx(ev("bias", d=dd, lam=lam, T=T, w0_norm=2.0), rel=1e-12)


@pytest.mark.parametrize(
    "kw,message",
    [
        (dict(spectrum="power-law", d=10, lam=0.1, T=20), "spectrum='power-law' needs beta"),
        (dict(spectrum="given", lam=0.1, T=20), "spectrum='given' needs eigenvalues"),
        (dict(spectrum="given", eigenvalues=[1, -2], lam=0.1, T=20), r"eigenvalues\[1\] must be positive"),
        (dict(spectrum="given", eigenvalues=[1, 2], d=3, lam=0.1, T=20), "d=3 but eigenvalues has 2 entries"),
        (dict(d=10, lam=-0.1, T=20), "lam must be >= 0"),
        (dict(d=10, beta=1.0, lam=0.1, T=20), "beta is for spectrum='power-law'"),
        (dict(spectrum="isotropic", lam=0.1, T=20), "spectrum='isotropic' needs d"),
    ],
)
def test_kappa_bad_input(kw, message):
    with pytest.raises(ValueError, match=message):
        CLAIMS["ridge.kappa"].evaluate(**kw)


def test_bad_input_for_the_pipeline():
    base = dict(ISO)
    with pytest.raises(ValueError, match="T0 must be greater than d \\+ 1"):
        ev("test_error", **{**base, "T0": 101})
    with pytest.raises(ValueError, match="give exactly one of w0_norm and w0"):
        ev("test_error", **{**base, "w0": [0.1] * 100})
    with pytest.raises(ValueError, match="w0 has 3 entries but d=100"):
        ev("test_error", **{k: v for k, v in base.items() if k != "w0_norm"}, w0=[1, 2, 3])
    with pytest.raises(ValueError, match="with lam = 0 the downstream fit is OLS"):
        ev("test_error", **{**base, "lam": 0, "T": 101})
    with pytest.raises(ValueError, match="T0 must be less than d"):
        CLAIMS["ridge.overparam_noise_free"].evaluate(w0_norm=1, T0=50, d=50, n=2)
