r"""Ridge regression downstream of a collapsed generator (Dohmatob, Feng & Kempe 2024).

Setup (docs/formulas.md sec. 4): x ~ N(0, Sigma) in d dimensions. For n generations a generator is refitted
by OLS on T0 fresh points labelled by the previous generator plus N(0, sigma0^2) noise (T0 >= d + 2);
generation 0 labels with the truth w0. The downstream model is ridge with penalty lam, fitted on T fresh
points labelled by the last generator plus N(0, sigma^2) noise. E_test = E||w_pred - w0||^2_Sigma.

Exact at finite size with lam = 0: E_test = sigma^2 d/(T - d - 1) + n sigma0^2 d/(T0 - d - 1) for any
Sigma. For lam > 0 the random-matrix deterministic equivalents (Hastie et al. 2022; Bach 2024) hold,
written in the degrees of freedom df_m(kappa) = Tr Sigma^m (Sigma + kappa)^-m at the fixed point
kappa - lam = kappa df_1(kappa) / T.

Spectra: ``isotropic`` (Sigma = I_d), ``power-law`` (eigenvalues proportional to j^-beta, normalised to
Tr Sigma = d, i.e. mean eigenvalue 1, like the isotropic case) or ``given`` (``eigenvalues``). The true
weights enter the bias through w0^T Sigma (Sigma + kappa)^-2 w0: give ``w0`` (coordinates in Sigma's
eigenbasis) or ``w0_norm``, which for an anisotropic spectrum means the average over uniformly random
directions (w0_j^2 = ||w0||^2 / d in the eigenbasis).
"""

from __future__ import annotations

import mpmath
import sympy as sp

from .checks import Discrepancy, Point
from .claim import Aux, Form, Source, Step
from .quantities import quantity
from .registry import register
from .validation import Param, choice, size
from .symbols import T, T0, d, eigenvalues, j, kappa, lam, m, n, sigma, sigma0, w0, w0_norm

DOHMATOB = Source(
    authors="Dohmatob, Feng, Kempe",
    year=2024,
    title="Model Collapse Demystified: The Case of Regression",
    venue="NeurIPS 2024",
    arxiv="2402.07712",
    where="survey (Arulandu 2024) eq. (3) and the random-matrix form after it",
)

SPECTRA = ("isotropic", "power-law", "given")
SPECTRUM = choice("spectrum", "covariance spectrum: isotropic (I_d), power-law (j^-beta, Tr = d) or given", *SPECTRA)

_s = eigenvalues
_w = w0


def df(order: sp.Expr, at: sp.Expr, spectrum: str) -> sp.Expr:
    """df_order(at) = Tr Sigma^order (Sigma + at)^-order."""
    if spectrum == "isotropic":
        return d / (1 + at) ** order
    return sp.Sum(_s[j] ** order / (_s[j] + at) ** order, (j, 1, d))


def _trace_resolvent2(at: sp.Expr, spectrum: str) -> sp.Expr:
    """Tr (Sigma + at)^-2."""
    if spectrum == "isotropic":
        return d / (1 + at) ** 2
    return sp.Sum(1 / (_s[j] + at) ** 2, (j, 1, d))


def _w0_quadratic(at: sp.Expr, spectrum: str) -> sp.Expr:
    """w0^T Sigma (Sigma + at)^-2 w0."""
    if spectrum == "isotropic":
        return w0_norm**2 / (1 + at) ** 2
    return sp.Sum(_w[j] ** 2 * _s[j] / (_s[j] + at) ** 2, (j, 1, d))


# -- the fixed point ---------------------------------------------------------------------------

KAPPA_EQUATION = {sp_: sp.Eq(kappa - lam, kappa * df(1, kappa, sp_) / T) for sp_ in SPECTRA}


def _kappa_isotropic() -> sp.Expr:
    """The positive root of T kappa^2 + (T - lam T - d) kappa - lam T = 0 (isotropic fixed point).

    With b = T - lam T - d, written as 2 lam T / (b + sqrt(b^2 + 4 lam T^2)) when b >= 0 (the textbook
    (-b + sqrt(...))/(2T) cancels catastrophically there for small lam) and as the textbook form when
    b < 0 (over-parametrised), where it does not cancel.
    """
    b = T - lam * T - d
    root = sp.sqrt(b**2 + 4 * lam * T**2)
    # |b| in the first branch equals b where it applies, and keeps NumPy's evaluation of the unused
    # branch (it evaluates both) from dividing 0 by 0 when b < 0 and lam = 0.
    return sp.Piecewise((2 * lam * T / (sp.Abs(b) + root), b > 0), ((root - b) / (2 * T), True))


def _eigs(env: dict) -> list[mpmath.mpf]:
    if _s in env:
        return env[_s].values
    return [mpmath.mpf(1)] * int(env[d])


def solve_kappa(lam_: mpmath.mpf, T_: mpmath.mpf, eigs: list) -> mpmath.mpf:
    """The fixed point kappa - lam = kappa df_1(kappa)/T, at the working precision (mpmath).

    Divided by kappa the equation reads g(kappa) = 0 with
    g(kappa) = 1 - lam/kappa - df_1(kappa)/T = (T - d + sum_j kappa/(s_j + kappa))/T - lam/kappa,
    written the second way so that nothing cancels near the interpolation threshold T = d. g rises
    strictly on kappa > 0, so the root is unique: for lam > 0 it lies in [lam, lam + Tr Sigma / T];
    for lam = 0 it is 0 when T >= d and otherwise lies in (0, Tr Sigma / T]. It is found by bisection
    in log kappa (roots as small as sqrt(lam) occur) down to the working precision, and the residual of
    the original equation is checked.
    """
    T_, lam_ = mpmath.mpf(T_), mpmath.mpf(lam_)
    d_ = len(eigs)
    if lam_ == 0 and T_ >= d_:
        return mpmath.mpf(0)
    with mpmath.workdps(mpmath.mp.dps + 10):

        def g(u):  # at kappa = exp(u)
            x = mpmath.exp(u)
            return (T_ - d_ + mpmath.fsum(x / (e + x) for e in eigs)) / T_ - lam_ / x

        hi = mpmath.log(lam_ + mpmath.fsum(eigs) / T_)
        lo = mpmath.log(lam_) if lam_ > 0 else hi - 1
        while lam_ == 0 and g(lo) >= 0:  # g(0+) = 1 - d/T < 0: step down until it is negative
            lo -= 10
        for _ in range(mpmath.mp.prec + 64):  # halve the bracket until it is one unit in the last place
            mid = (lo + hi) / 2
            if mid in (lo, hi):
                break
            if g(mid) < 0:
                lo = mid
            else:
                hi = mid
        root = mpmath.exp((lo + hi) / 2)
        residual = kappa_residual(root, lam_, T_, eigs)
    if residual > mpmath.mpf(10) ** (-mpmath.mp.dps + 3) * max(1, root):
        raise ArithmeticError(f"kappa did not converge: residual {mpmath.nstr(residual, 5)}")
    return +root


def kappa_residual(kappa_: mpmath.mpf, lam_, T_, eigs) -> mpmath.mpf:
    """``|kappa - lam - kappa df_1(kappa)/T|`` at the working precision."""
    return abs(kappa_ - lam_ - kappa_ * mpmath.fsum(e / (e + kappa_) for e in eigs) / T_)


def _kappa_aux(spectrum: str, at_lam: sp.Expr = lam, samples: sp.Expr = T) -> Aux:
    eq = KAPPA_EQUATION[spectrum]
    if spectrum == "isotropic":
        return Aux(kappa, eq, value=_kappa_isotropic())
    return Aux(kappa, eq, solve=lambda env: solve_kappa(env[lam], env[T], _eigs(env)))


# -- forms -------------------------------------------------------------------------------------


def _df_form(spectrum: str) -> Form:
    return Form(expr=df(m, kappa, spectrum))


def _kappa_form(spectrum: str) -> Form:
    aux = _kappa_aux(spectrum)
    steps = (Step("fixed point", aux.equation),)
    if aux.value is not None:
        steps += (Step("isotropic: the positive root of the quadratic", aux.value),)
    return Form(expr=kappa, where=(aux,), derivation=steps)


def _bias_expr(spectrum: str) -> sp.Expr:
    return kappa**2 * _w0_quadratic(kappa, spectrum) / (1 - df(2, kappa, spectrum) / T)


def _variance_expr(spectrum: str) -> sp.Expr:
    df2 = df(2, kappa, spectrum)
    return sigma**2 * df2 / (T - df2)


def _rho_rmt(spectrum: str) -> sp.Expr:
    df2 = df(2, kappa, spectrum)
    return (df2 + kappa**2 * _trace_resolvent2(kappa, spectrum) * df2 / (T - df2)) / (T0 - d - 1)


RHO_EXACT = d / (T0 - d - 1)


def _bias_form(spectrum: str) -> Form:
    return Form(expr=_bias_expr(spectrum), where=(_kappa_aux(spectrum),))


def _variance_form(spectrum: str) -> Form:
    return Form(expr=_variance_expr(spectrum), where=(_kappa_aux(spectrum),))


def _rho_form(spectrum: str) -> Form:
    rmt = _rho_rmt(spectrum)
    return Form(
        expr=sp.Piecewise((RHO_EXACT, sp.Eq(lam, 0)), (rmt, True)),
        where=(_kappa_aux(spectrum),),
        derivation=(
            Step("lam = 0: rho = E tr[Sigma (X^T X)^-1 ...] = d/(T0 - d - 1) exactly (inverse Wishart mean)", RHO_EXACT),
            Step("lam > 0: deterministic equivalent, from R Sigma_hat = I - lam R", rmt),
            Step("at lam = 0 (kappa = 0 for T >= d) the equivalent reduces to the exact value",
                 sp.simplify(rmt.subs(kappa, 0).doit()) if spectrum == "isotropic" else RHO_EXACT),
        ),
    )


def _rho_lowdim_form(spectrum: str) -> Form:
    return Form(expr=df(2, lam, spectrum) / (T0 - d))


def _test_error_form(spectrum: str) -> Form:
    exact = sigma**2 * d / (T - d - 1) + n * sigma0**2 * RHO_EXACT
    rmt = _bias_expr(spectrum) + _variance_expr(spectrum) + n * sigma0**2 * _rho_rmt(spectrum)
    return Form(
        expr=sp.Piecewise((exact, sp.Eq(lam, 0)), (rmt, True)),
        where=(_kappa_aux(spectrum),),
        monotone="nondecreasing",
        limit=sp.oo,
        derivation=(
            Step("E_test(w_n) = E_test(w_0) + n sigma0^2 rho: each generation adds independent label noise", sp.Symbol("E_clean") + n * sigma0**2 * sp.Symbol("rho")),
            Step("lam = 0 (exact)", exact),
            Step("lam > 0 (deterministic equivalent)", rmt),
        ),
    )


def _overparam_form() -> Form:
    expr = w0_norm**2 * (1 - (T0 / d) ** n)
    return Form(
        expr=expr,
        limit=w0_norm**2,
        monotone="nondecreasing",
        derivation=(
            Step("minimum-norm fit with T0 < d noise-free points projects w onto a random T0-dimensional "
                 "subspace: E||w_{k} - w0||^2 obeys e_k = T0/d e_{k-1} + (1 - T0/d) ||w0||^2 (isotropic)", expr),
        ),
    )


# -- parameters and checks ---------------------------------------------------------------------

P_SPECTRUM = (
    SPECTRUM,
    Param("d", "size", "dimension (isotropic and power-law spectra)", minimum=1, optional=True),
    Param("beta", "positive", "power-law exponent: eigenvalues proportional to j^-beta, Tr Sigma = d", optional=True),
    Param("eigenvalues", "positive_vector", "the eigenvalues of Sigma (spectrum='given')", optional=True),
)
P_LAM = Param("lam", "nonnegative", "ridge penalty (lam = 0: ridgeless OLS)")
P_T = size("T", "downstream training samples", 1)
P_T0 = size("T0", "generator training samples per generation (T0 >= d + 2)", 1)
P_SIGMA = Param("sigma", "positive", "label noise of the downstream data")
P_SIGMA0 = Param("sigma0", "positive", "label noise of the generator's data")
P_N = size("n", "synthetic generations (n = 0: trained on clean data)", 0)
P_W0 = (
    Param("w0_norm", "positive", "norm of the true weights (anisotropic spectra: averaged over directions)", optional=True),
    Param("w0", "vector", "the true weights in Sigma's eigenbasis", optional=True),
)


def _prepare(point: dict) -> dict:
    """Resolve the spectrum into d and eigenvalues, and w0 / w0_norm into what the form uses."""
    spectrum = point.get("spectrum")
    if spectrum is None:
        return point
    out = dict(point)
    if spectrum == "given":
        if out.get("eigenvalues") is None:
            raise ValueError("spectrum='given' needs eigenvalues")
        if out.get("d") is not None and out["d"] != len(out["eigenvalues"]):
            raise ValueError(f"d={out['d']} but eigenvalues has {len(out['eigenvalues'])} entries")
        out["d"] = len(out["eigenvalues"])
    else:
        if out.get("eigenvalues") is not None:
            raise ValueError(f"eigenvalues are for spectrum='given', not {spectrum!r}")
        if out.get("d") is None:
            raise ValueError(f"spectrum={spectrum!r} needs d")
    if spectrum == "power-law":
        if out.get("beta") is None:
            raise ValueError("spectrum='power-law' needs beta")
        raw = [mpmath.mpf(jj) ** (-out["beta"]) for jj in range(1, out["d"] + 1)]
        total = mpmath.fsum(raw)
        out["eigenvalues"] = [r * out["d"] / total for r in raw]
    elif out.get("beta") is not None:
        raise ValueError(f"beta is for spectrum='power-law', not {spectrum!r}")
    if "w0" in out or "w0_norm" in out:
        has_vec, has_norm = out.get("w0") is not None, out.get("w0_norm") is not None
        if has_vec == has_norm:
            raise ValueError("give exactly one of w0_norm and w0")
        if has_vec and len(out["w0"]) != out["d"]:
            raise ValueError(f"w0 has {len(out['w0'])} entries but d={out['d']}")
        if spectrum == "isotropic" and has_vec:  # only the norm matters
            out["w0_norm"] = mpmath.sqrt(mpmath.fsum(x**2 for x in out["w0"]))
            out["w0"] = None
        elif spectrum != "isotropic" and has_norm:  # average over directions
            out["w0"] = [out["w0_norm"] / mpmath.sqrt(out["d"])] * out["d"]
            out["w0_norm"] = None
    return out


def _t0_check(point) -> str | None:
    if point["T0"] <= point["d"] + 1:
        return f"T0 must be greater than d + 1 (the generator is an OLS fit); got T0={point['T0']}, d={point['d']}"
    return None


def _ridgeless_check(point) -> str | None:
    if point["lam"] == 0 and point["T"] <= point["d"] + 1:
        return (f"with lam = 0 the downstream fit is OLS: T must be greater than d + 1; got T={point['T']}, "
                f"d={point['d']} (use lam > 0 for T <= d + 1)")
    return None


def _threshold_check(point) -> str | None:
    if point["lam"] == 0 and point["T"] == point["d"]:
        return (f"with lam = 0 the deterministic equivalents diverge at the interpolation threshold T = d; "
                f"got T={point['T']}, d={point['d']}")
    return None


_ASSUMPTIONS = (
    "x ~ N(0, Sigma); each generator is an OLS fit on T0 fresh points labelled by the previous one plus "
    "N(0, sigma0^2) noise; the downstream ridge fit uses T fresh points labelled by the last generator",
    "test error E||w_pred - w0||^2_Sigma (noise-free test labels)",
)
_RMT = "deterministic equivalent (random-matrix theory, T, d -> oo proportionally); exact at lam = 0"


_SPECTRUM_COORDS = {
    "spectrum": "covariance spectrum: isotropic, power-law (j^-beta, Tr Sigma = d) or given",
    "d": "dimension", "beta": "power-law exponent", "eigenvalues": "eigenvalues of Sigma (spectrum given)",
}
_COORDS = {
    **_SPECTRUM_COORDS, "lam": "ridge penalty of the downstream fit", "T": "downstream training samples",
    "T0": "generator training samples per generation", "sigma": "downstream label noise",
    "sigma0": "generator label noise", "n": "generations of refitted generators",
    "w0_norm": "norm of the true weights", "w0": "the true weights in Sigma's eigenbasis",
}
DF = quantity("ridge.df", "df_m(kappa) = Tr Sigma^m (Sigma + kappa)^-m, a function of the spectrum",
              {**_SPECTRUM_COORDS, "m": "order", "kappa": "argument"})
KAPPA = quantity("ridge.kappa", "the fixed point kappa of kappa - lam = kappa df_1(kappa) / T",
                 {**_SPECTRUM_COORDS, "lam": "ridge penalty", "T": "samples"})
TEST_ERROR = quantity("ridge.test_error", "E||w_pred - w0||^2_Sigma of a ridge fit downstream of n refitted OLS "
                      "generators (n = 0: on clean data)", _COORDS, generation="n")
INCREMENT = quantity("ridge.increment", "(E_test after n generations - E_test on clean data) / (n sigma0^2)",
                     _COORDS, generation="n")

#: The anisotropic covariance of the exact checks (docs/formulas.md, section 2).
ANISOTROPIC = (3.0, 1.5, 1.0, 0.5, 0.1)
_SPECTRA = {"isotropic": {"d": 5}, "power-law": {"d": 5, "beta": 1.5}, "given": {"eigenvalues": ANISOTROPIC}}
_EXACT_POINT = {"T": 20, "T0": 20, "lam": 0.0, "sigma": 1.0, "sigma0": 1.0, "w0_norm": 1.0}
_STUDY_POINT = {**_EXACT_POINT, "lam": 0.1, "sigma": 0.5}
#: The proportional ladder of the random-matrix studies.
RIDGE_LADDER = (10, 20, 40)


def _spectrum_of(variant: dict) -> dict:
    return _SPECTRA[variant["spectrum"]]


def _proportional(size: int, point: dict) -> dict:
    """The proportional ladder at dimension d = size: T = 3d, T0 = 2.5d; a given spectrum is the anisotropic
    one repeated d/5 times (a fixed limiting spectral distribution)."""
    spectrum = {"eigenvalues": ANISOTROPIC * (size // len(ANISOTROPIC))} if point["spectrum"] == "given" else {"d": size}
    return {**spectrum, "T": 3 * size, "T0": int(2.5 * size)}


def _study(generations, what: str, at=_STUDY_POINT) -> Discrepancy:
    return Discrepancy(at, generations=generations, share=0.25, per_variant=_spectrum_of, along=None,
                       ladder=RIDGE_LADDER, scale=_proportional,
                       note=f"random-matrix equivalent{what}: simulation minus theory at d = 10, 20, 40 (T = 3d, "
                            "T0 = 2.5d; power law j^-1.5, or the anisotropic spectrum repeated d/5 times), extrapolated "
                            "to d -> oo as a + b/d; a quarter of the trials")


def _exact(generations, note: str) -> Point:
    return Point(_EXACT_POINT, generations=generations, kind="exact", per_variant=_spectrum_of, note=note,
                 requires={"lam": 0.0})


def _claim(name, title, quantity_id, build, params, **kw):
    register(
        id=f"ridge.{name}",
        title=title,
        quantity=quantity_id,
        source=DOHMATOB,
        params=P_SPECTRUM + params,
        builder=build,
        defaults={"spectrum": "isotropic"},
        prepare=_prepare,
        generation=kw.pop("generation", None),
        **kw,
    )


_claim(
    "df", "Degrees of freedom df_m(kappa) = Tr Sigma^m (Sigma + kappa)^-m", DF.id, _df_form,
    (size("m", "order", 1), Param("kappa", "nonnegative", "argument")),
    not_simulated="deterministic: a function of the spectrum (nothing random to simulate)",
    note="df_m <= d, equal to d at kappa = 0, decreasing in kappa.",
)
_claim(
    "kappa", "Random-matrix fixed point kappa - lam = kappa df_1(kappa) / T", KAPPA.id, _kappa_form,
    (P_LAM, P_T),
    kind="implicit",
    not_simulated="deterministic: a fixed point of the spectrum (nothing random to simulate)",
    assumptions=("the Marchenko-Pastur-type self-consistent equation of ridge regression with T samples",),
    note="kappa >= lam, decreasing in T towards lam. Solved with mpmath at the working precision "
    "(closed form for the isotropic spectrum). For lam = 0 it is 0 when T >= d and solves df_1 = T otherwise.",
)
_claim(
    "bias", "Deterministic equivalent of the clean ridge bias", TEST_ERROR.id, _bias_form,
    (P_LAM, P_T) + P_W0,
    fixed={"n": 0, "sigma": 0},
    checks=(_study((0,), " of the bias (noise-free labels: the clean error is the bias)",
                   {**_STUDY_POINT, "sigma": 0.0}),),
    constraints=(_threshold_check,), kind="asymptotic", assumptions=_ASSUMPTIONS,
    note="kappa^2 w0^T Sigma (Sigma + kappa)^-2 w0 / (1 - df_2(kappa)/T); 0 at lam = 0 with T > d. " + _RMT.split(";")[0] + ".",
)
_claim(
    "variance", "Deterministic equivalent of the clean ridge variance", TEST_ERROR.id,
    _variance_form, (P_LAM, P_T, P_SIGMA),
    fixed={"n": 0, "w0_norm": 0},
    checks=(_study((0,), " of the variance (w0 = 0: the clean error is the variance)",
                   {**_STUDY_POINT, "w0_norm": 0.0}),),
    constraints=(_threshold_check,), kind="asymptotic", assumptions=_ASSUMPTIONS,
    note="sigma^2 df_2(kappa)/(T - df_2(kappa)). At lam = 0 this is sigma^2 d/(T - d), while the exact "
    "finite-sample value is sigma^2 d/(T - d - 1) (used by ridge.test_error).",
)
_claim(
    "rho", "Per-generation error increment rho", INCREMENT.id, _rho_form,
    (P_LAM, P_T, P_T0),
    checks=(_exact((1, 5), "exact d/(T0 - d - 1) at lam = 0"), _study((1, 3), " of rho")),
    constraints=(_t0_check, _ridgeless_check), kind="asymptotic", assumptions=_ASSUMPTIONS,
    note="Exact d/(T0 - d - 1) at lam = 0 for any covariance; for lam > 0 the deterministic equivalent "
    "[df_2(kappa) + kappa^2 Tr(Sigma + kappa)^-2 df_2/(T - df_2)]/(T0 - d - 1) (derived from R Sigma_hat "
    "= I - lam R). The finite-sample denominator is T0 - d - 1; the survey's T0 - d is its asymptotic form. "
    "As T grows with d fixed it tends to df_2(lam)/(T0 - d - 1).",
    related=("ridge.rho_lowdim", "ridge.test_error"),
)
_claim(
    "rho_lowdim", "The survey's low-dimensional rho ~ df_2(lam)/(T0 - d)", INCREMENT.id,
    _rho_lowdim_form, (P_LAM, P_T0),
    not_simulated="an approximation of ridge.rho that is exact at no size (erratum 8 gives its error); "
                  "ridge.rho itself is simulated",
    constraints=(_t0_check,), kind="approximation", assumptions=_ASSUMPTIONS,
    note="The literature's approximation, valid for T >> d. In the proportional regime it is off: "
    "isotropic d=100, T=300, T0=250, lam=0.1 gives 0.55096 against the random-matrix 0.51882 (6% high), "
    "mostly because kappa = 0.1413 > lam; with the finite-sample denominator T0 - d - 1 it would be "
    "0.55466 (7% high).",
    related=("ridge.rho",),
)
_claim(
    "test_error", "Test error of ridge after n synthetic generations", TEST_ERROR.id,
    _test_error_form, (P_LAM, P_T, P_T0, P_SIGMA, P_SIGMA0, P_N) + P_W0,
    checks=(_exact((0, 1, 5, 10), "exact at lam = 0 (any covariance)"), _study((0, 1, 3), "")),
    constraints=(_t0_check, _ridgeless_check), kind="asymptotic", assumptions=_ASSUMPTIONS, generation="n",
    note="E_clean + n sigma0^2 rho: linear growth in the number of synthetic generations. Exact at lam = 0: "
    "sigma^2 d/(T - d - 1) + n sigma0^2 d/(T0 - d - 1) (T = T0 = 20, d = 5, sigma = sigma0 = 1, n = 10: "
    "3.928571).",
    related=("ridge.rho", "ridge.bias", "ridge.variance"),
)
register(
    id="ridge.overparam_noise_free",
    title="Over-parametrised noise-free chain: exponential collapse",
    quantity=quantity("minnorm.error", "E||w_n - w0||^2 of minimum-norm interpolators refitted n times, noise-free, "
                      "on fresh over-parametrised designs",
                      {"w0_norm": "norm of the true weights", "T0": "samples per generation (T0 < d)",
                       "d": "dimension", "n": "generations"}, generation="n").id,
    checks=(Point({"d": 50, "T0": 30, "w0_norm": 1.0}, generations=(1, 2, 5)),),
    source=DOHMATOB,
    params=(Param("w0_norm", "positive", "norm of the true weights"), size("T0", "generator samples (T0 < d)", 1),
            size("d", "dimension", 1), size("n", "generations", 0)),
    builder=_overparam_form,
    constraints=(lambda p: None if p["T0"] < p["d"] else f"T0 must be less than d (over-parametrised); got T0={p['T0']}, d={p['d']}",),
    generation="n",
    assumptions=("isotropic x ~ N(0, I_d); each generation fits the minimum-norm interpolator to T0 < d "
                 "noise-free points labelled by the previous one",),
    note="||w0||^2 (1 - (T0/d)^n) (derived): the error climbs geometrically to ||w0||^2, all signal lost. "
    "A Monte Carlo check agrees to 3 decimals at d = 50, T0 = 30, n = 1..5 (docs/formulas.md).",
)
