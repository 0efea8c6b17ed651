r"""Iterated fitting of a 1-D Gaussian (Shumailov et al. 2024), unbiased or maximum-likelihood.

Convention (docs/formulas.md, convention A): mu_0 = mu and sigma_0 = sigma are the truth. Step i draws
T_i samples from N(mu_i, sigma_i^2) and fits (mu_{i+1}, sigma_{i+1}^2); "model g" is the result of
g fits, so model 0 is the truth and model 1 the fit to real data.

Everything here follows from two exact laws of a Gaussian sample of size T, nu = T - 1:

* mu_{i+1} | past ~ N(mu_i, sigma_i^2 / T_i), and
* sigma_{i+1}^2 = sigma_i^2 * a_i * S_i with S_i = chi^2_nu / nu independent of mu_{i+1} and of the
  past, where a_i = 1 for the unbiased estimator (ddof=1) and a_i = (T_i - 1)/T_i for the MLE (ddof=0).

So every quantity is a sum or product of the moment function M(T, r) = E[(a S)^r], which SymPy
derives here by integrating the chi-square density. The same expressions hold for a sample-size
schedule T_i (``T`` given as a sequence or as an expression in ``i``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import sympy as sp

from .checks import Point
from .claim import Form, Source, Step
from .quantities import quantity
from .evaluation import NamedFunction
from .registry import register
from .validation import ESTIMATOR, Param
from .symbols import T, T_sched, g, i, k, sigma

SHUMAILOV = Source(
    authors="Shumailov, Shumaylov, Zhao, Papernot, Anderson, Gal",
    year=2024,
    title="AI models collapse when trained on recursively generated data",
    venue="Nature 631:755-759",
    arxiv="2305.17493",
    where="Theorem 3.1 and its Gaussian analysis; survey (Arulandu 2024) eqs. (1)-(2)",
)

KAZDAN_MLE_NOTE = (
    "With the maximum-likelihood estimator (ddof=0, as in Kazdan et al.'s code) E sigma_g^2 = "
    "sigma^2 ((T-1)/T)^g decays and the mean error saturates at sigma^2."
)


class c4(NamedFunction):
    r"""c_4(T) = E[s]/sigma for the unbiased standard deviation s of T normal samples.

    c_4(T) = sqrt(2/(T-1)) Gamma(T/2) / Gamma((T-1)/2) = 1 - 1/(4T) - 7/(32T^2) - ...
    """

    latex_name = "c_{4}"
    pretty_name = "c4"

    @classmethod
    def definition(cls, TT):
        return sp.sqrt(2 / (TT - 1)) * sp.gamma(TT / 2) / sp.gamma((TT - 1) / 2)


# -- the moment function -----------------------------------------------------------------------

_nu, _r, _y = sp.symbols("nu r y", positive=True)


@functools.lru_cache(maxsize=1)
def chi2_moment_derivation() -> tuple[Step, ...]:
    """E[(chi^2_nu)^r] by integrating the density; then E[S^r] for S = chi^2_nu / nu."""
    density = _y ** (_nu / 2 - 1) * sp.exp(-_y / 2) / (2 ** (_nu / 2) * sp.gamma(_nu / 2))
    raw = sp.simplify(sp.integrate(_y**_r * density, (_y, 0, sp.oo), conds="none"))
    scaled = raw / _nu**_r
    return (
        Step("chi-square density with nu = T - 1 degrees of freedom", density),
        Step("E[(chi^2_nu)^r] = integral of y^r times the density", raw),
        Step("E[S^r] for S = chi^2_nu/nu, the ratio sigma_{i+1}^2/sigma_i^2 (unbiased)", scaled),
    )


def _scale(TT: sp.Expr, estimator: str) -> sp.Expr:
    """a: the factor from the unbiased to the chosen variance estimator."""
    return sp.S.One if estimator == "unbiased" else (TT - 1) / TT


@functools.lru_cache(maxsize=None)
def _unbiased_moment(r: sp.Rational) -> sp.Expr:
    """E[S^r] at nu = T - 1, simplified; half-integer moments are written through c4(T)."""
    general = chi2_moment_derivation()[-1].expr.subs({_nu: T - 1, _r: r})
    if (2 * r).is_odd:
        ratio = sp.simplify(sp.gammasimp(sp.expand_func(general / c4.definition(T))))
        return sp.factor(ratio) * c4(T)
    return sp.factor(sp.simplify(sp.gammasimp(sp.expand_func(general))))


def moment(TT: sp.Expr, r: sp.Rational, estimator: str) -> sp.Expr:
    """M(T, r) = E[(sigma_{i+1}^2 / sigma_i^2)^r] for one step with T samples."""
    return (_scale(T, estimator) ** r * _unbiased_moment(sp.Rational(r))).subs(T, TT)


def drift(TT: sp.Expr, estimator: str) -> sp.Expr:
    """E log(sigma_{i+1}^2 / sigma_i^2) = dM/dr at r = 0 = digamma(nu/2) - log(nu/2) + log a."""
    general = chi2_moment_derivation()[-1].expr * _scale(T, estimator) ** _r
    return sp.expand_log(sp.diff(general, _r).subs(_r, 0).subs(_nu, T - 1), force=True).subs(T, TT)


# -- the moments of the chain, for a schedule T[i] ---------------------------------------------

_m = sp.Symbol("m", integer=True, nonnegative=True)  # product index


def _Q(lo: sp.Expr, hi: sp.Expr, r, estimator: str) -> sp.Expr:
    """prod_{lo <= m < hi} M(T_m, r) (1 where the moment is identically 1)."""
    body = moment(T_sched[_m], r, estimator)
    return sp.S.One if body == 1 else sp.Product(body, (_m, lo, hi - 1))


def _P(upto: sp.Expr, r, estimator: str) -> sp.Expr:
    """E[(sigma_upto / sigma)^(2r)] = prod_{m < upto} M(T_m, r)."""
    return _Q(sp.S.Zero, upto, r, estimator)


def _schedule_moments(estimator: str) -> dict[str, sp.Expr]:
    """Moments of (sigma_g, A) in units of sigma, A = sum_{i<g} sigma_i^2 / T_i = Var(mu_g | sigmas)."""
    half, one, three_half, two = sp.Rational(1, 2), sp.S.One, sp.Rational(3, 2), sp.S(2)
    Ti, Tk = T_sched[i], T_sched[k]
    out = {f"s{p}": _P(g, sp.Rational(p, 2), estimator) for p in (1, 2, 3, 4)}  # E sigma_g^p
    out["A"] = sp.Sum(_P(i, one, estimator) / Ti, (i, 0, g - 1))
    # E[A^2]: diagonal terms, plus twice the i < k terms; E[prod_{m<i} S_m^2 prod_{i<=m<k} S_m].
    out["A2"] = sp.Sum(_P(i, two, estimator) / Ti**2, (i, 0, g - 1)) + 2 * sp.Sum(
        sp.Sum(_P(i, two, estimator) * _Q(i, k, one, estimator) / (Ti * Tk), (k, i + 1, g - 1)), (i, 0, g - 1)
    )
    # E[A sigma_g^p] = sum_i E[prod_{m<i} S_m^(1+p/2)] E[prod_{i<=m<g} S_m^(p/2)] / T_i
    out["As1"] = sp.Sum(_P(i, three_half, estimator) * _Q(i, g, half, estimator) / Ti, (i, 0, g - 1))
    out["As2"] = sp.Sum(_P(i, two, estimator) * _Q(i, g, one, estimator) / Ti, (i, 0, g - 1))
    return out


def _at_constant_T(expr: sp.Expr) -> sp.Expr:
    """Specialise a schedule expression to T_i = T and carry out the sums and products.

    Each product of a constant moment becomes a power of a placeholder ratio q before the sums are
    done (SymPy sums geometric series in a plain symbol far faster than in gamma functions).
    """
    const = expr.replace(lambda e: isinstance(e, sp.Indexed) and e.base == T_sched, lambda e: T)
    ratios: dict[sp.Symbol, sp.Expr] = {}

    def power(e: sp.Product) -> sp.Expr:
        body, (_, lo, hi) = e.function, e.limits[0]
        if body.is_number:
            return body ** (hi - lo + 1)
        q = next((s for s, b in ratios.items() if b == body), None)
        if q is None:
            q = sp.Symbol(f"q{len(ratios)}", positive=True)
            ratios[q] = body
        return q ** (hi - lo + 1)

    done = const.replace(lambda e: isinstance(e, sp.Product), power).doit()
    # Geometric sums come back as Piecewise((count, Eq(q, 1)), (closed form, True)). A ratio equal to
    # exactly 1 has simplified to 1 before this point (no Piecewise then); no other ratio is 1.
    done = done.replace(lambda e: isinstance(e, sp.Piecewise), lambda e: e.args[-1][0])
    return done.subs(ratios)


@functools.lru_cache(maxsize=None)
def _quantities(estimator: str) -> dict[str, sp.Expr]:
    """Each claim's quantity, in terms of the chain moments (schedule form); built once per estimator
    (read-only: shared by every claim's build)."""
    mo = _schedule_moments(estimator)
    s = sigma
    mse = s**2 * mo["A"]
    var_sig = s**2 * mo["s2"] - 2 * s**2 * mo["s1"] + s**2  # E (sigma_g - sigma)^2
    w2 = mse + var_sig
    fourth = s**4 * (mo["s4"] - 4 * mo["s3"] + 6 * mo["s2"] - 4 * mo["s1"] + 1)  # E (sigma_g - sigma)^4
    a_dev = s**4 * (mo["As2"] - 2 * mo["As1"] + mo["A"])  # E[A (sigma_g - sigma)^2] (A in sigma^2 units)
    ew4 = 3 * s**4 * mo["A2"] + 2 * a_dev + fourth  # D | sigmas ~ N(0, A): E D^4 = 3 A^2
    return {
        "sigma2_mean": s**2 * mo["s2"],
        "sigma_mean": s * mo["s1"],
        "mean_sq_error": mse,
        "marginal_var": s**2 * mo["s2"] + mse,
        "w2_risk": w2,
        "w2_risk_var": ew4 - w2**2,
        "log_sigma2_drift": sp.Sum(drift(T_sched[i], estimator), (i, 0, g - 1)),
    }


@functools.lru_cache(maxsize=None)
def _constant_T(estimator: str, name: str) -> sp.Expr:
    """The claim ``name`` at constant T, simplified (the variance is assembled from simplified parts)."""
    if name != "w2_risk_var":
        simple = sp.simplify(_at_constant_T(_quantities(estimator)[name]))
        return sp.collect(sp.expand(simple), [sigma**2, sigma], evaluate=True)
    mo = {key: sp.simplify(_at_constant_T(v)) for key, v in _schedule_moments(estimator).items()}
    s = sigma
    fourth = s**4 * (mo["s4"] - 4 * mo["s3"] + 6 * mo["s2"] - 4 * mo["s1"] + 1)
    a_dev = s**4 * (mo["As2"] - 2 * mo["As1"] + mo["A"])
    return 3 * s**4 * mo["A2"] + 2 * a_dev + fourth - _constant_T(estimator, "w2_risk") ** 2


# -- series and derivations --------------------------------------------------------------------

_x = sp.Symbol("x", positive=True)  # 1/T
_Tp = sp.Symbol("T", positive=True)  # T without integer assumption: SymPy's log-gamma series needs it
_gp = sp.Symbol("g", positive=True)  # g > 0, so that SymPy can order the terms of the series


@functools.lru_cache(maxsize=1)
def _log_c4_series() -> sp.Expr:
    """log c4(T) to third order in x = 1/T (Stirling series of log-gamma)."""
    log_c4 = sp.log(sp.sqrt(2 / (_Tp - 1))) + sp.loggamma(_Tp / 2) - sp.loggamma((_Tp - 1) / 2)
    return sp.nsimplify(sp.expand(sp.simplify(sp.series(log_c4.subs(_Tp, 1 / _x), _x, 0, 4).removeO())))


def _in_x(e: sp.Expr) -> sp.Expr:
    """``e`` as a function of x = 1/T, ready for a series: c4 through its log series, b**g as exp(g log b).

    The bases here are positive (T - 1, T, c4(T)), which is what powsimp(force=True) assumes.
    """
    e = sp.powsimp(sp.expand(e.subs({T: 1 / _x, g: _gp})), force=True)
    e = e.replace(lambda f: isinstance(f, c4), lambda f: sp.exp(_log_c4_series()))
    return e.replace(
        lambda f: f.is_Pow and f.exp.has(_gp),
        lambda f: sp.exp(sp.expand(f.exp * sp.expand_log(sp.log(f.base), force=True))),
    )


@functools.lru_cache(maxsize=None)
def first_order(e: sp.Expr) -> sp.Expr:
    """``e`` through the first order in 1/T at which it differs from its T -> oo value."""
    ser = sp.expand(sp.series(_in_x(e), _x, 0, 4).removeO())
    terms = [sp.simplify(ser.coeff(_x, p)) for p in range(4)]
    upto = next((p for p in range(1, 4) if terms[p] != 0), 0)
    return sp.collect(sp.expand(sum(terms[p] * _x**p for p in range(upto + 1)).subs({_x: 1 / T, _gp: g})), sigma**2)


@functools.lru_cache(maxsize=None)
def w2_series_derivation(estimator: str) -> tuple[Step, ...]:
    """The first-order series in 1/T of the exact E W2^2, derived through the series of log c4(T)."""
    exact = _constant_T(estimator, "w2_risk")
    return (
        Step("exact E W2^2 at constant T", exact),
        Step("log c4(T) in x = 1/T (Stirling series of log-gamma)", _log_c4_series()),
        Step("E sigma_g / sigma = M(T, 1/2)^g to first order in 1/T", first_order(moment(T, sp.Rational(1, 2), estimator) ** g)),
        Step("E W2^2 to first order in 1/T", first_order(exact)),
    )


def _sigma_mean_derivation(estimator: str) -> tuple[Step, ...]:
    steps = chi2_moment_derivation()
    return steps + (
        Step("E[(a S)^(1/2)] at nu = T - 1 (a = 1 unbiased, (T-1)/T for the MLE)", moment(T, sp.Rational(1, 2), estimator)),
        Step(
            "sigma_g = sigma prod_{i<g} (a S_i)^(1/2) with independent S_i, so E sigma_g = sigma M(T, 1/2)^g",
            _constant_T(estimator, "sigma_mean"),
        ),
    )


# -- registration -------------------------------------------------------------------------------

_SIGMA = Param("sigma", "positive", "standard deviation of the real data")
_T = Param("T", "schedule", "samples per generation (an integer, a sequence T_0..T_{g-1}, or an expression in i)", minimum=2)
_G = Param("g", "size", "number of fits (model g; g = 0 is the truth)", minimum=0)

_LIMITS = {
    # g -> oo at constant T
    ("sigma2_mean", "unbiased"): sigma**2,
    ("sigma2_mean", "mle"): sp.S.Zero,
    ("sigma_mean", "unbiased"): sp.S.Zero,
    ("sigma_mean", "mle"): sp.S.Zero,
    ("mean_sq_error", "unbiased"): sp.oo,
    ("mean_sq_error", "mle"): sigma**2,
    ("marginal_var", "unbiased"): sp.oo,
    ("marginal_var", "mle"): sigma**2,
    ("w2_risk", "unbiased"): sp.oo,
    ("w2_risk", "mle"): 2 * sigma**2,
    ("w2_risk_var", "unbiased"): sp.oo,
    ("log_sigma2_drift", "unbiased"): -sp.oo,
    ("log_sigma2_drift", "mle"): -sp.oo,
}

#: The variance's leading order is transcribed (Shumailov et al.; docs/formulas.md 1e) rather than derived:
#: its closed form has negative bases (1 - T)^g that SymPy's series machinery mishandles. A test checks
#: it numerically against the exact form for both estimators.
_VAR_LEADING = sp.Rational(5, 2) * sigma**4 * g**2 / T**2

_MONOTONE = {
    ("sigma2_mean", "unbiased"): "constant",
    ("sigma2_mean", "mle"): "nonincreasing",
    "sigma_mean": "nonincreasing",
    "mean_sq_error": "nondecreasing",
    "marginal_var": "nondecreasing",
    ("marginal_var", "mle"): "constant",
    "w2_risk": "nondecreasing",
    "w2_risk_var": "nondecreasing",
    "log_sigma2_drift": "nonincreasing",
}


class _SeriesLater(Form):
    """A :class:`Form` whose ``series`` and ``derivation`` are derived when first read, not when it is built.

    The series in 1/T (SymPy series of the exact form, through the Stirling series of log c4) and the
    MLE variance's limit (five seconds of growth rates) cost most of a Gaussian claim's build, and only
    ``collapse show`` (its limit line, ``--series``, ``--derive``),
    ``Claim.series`` / ``Claim.derivation`` and what reads them need them; `collapse show ID` and every
    evaluation use the exact form alone. Each is computed once and kept, and is the same expression as
    if it had been built eagerly.
    """

    def __init__(self, *, series: Callable[[], sp.Expr], derivation: Callable[[], tuple[Step, ...]],
                 limit: Callable[[], sp.Expr | None], **fields):
        super().__init__(**fields)
        later = {"series": series, "derivation": derivation, "limit": limit}
        object.__setattr__(self, "_later", later)
        for attr, value in later.items():  # the dataclass __init__ stored the defaults: the properties take over
            self.__dict__.pop(attr, None)
            if not callable(value):  # a value given as such (dataclasses.replace passes the computed ones)
                self.__dict__[attr] = value

    @functools.cached_property
    def series(self) -> sp.Expr:
        return self._later["series"]()

    @functools.cached_property
    def derivation(self) -> tuple[Step, ...]:
        return self._later["derivation"]()

    @functools.cached_property
    def limit(self) -> sp.Expr | None:
        return self._later["limit"]()


def _builder(name: str):
    def series(estimator: str) -> sp.Expr:
        return _VAR_LEADING if name == "w2_risk_var" else first_order(_constant_T(estimator, name))

    def derivation(estimator: str) -> tuple[Step, ...]:
        if name == "w2_risk":
            return w2_series_derivation(estimator)
        if name == "sigma_mean":
            return _sigma_mean_derivation(estimator)
        if name == "log_sigma2_drift":
            return chi2_moment_derivation() + (
                Step("E log S = d/dr E[S^r] at r = 0 (add log a for the MLE)", drift(T, estimator)),
            )
        return ()

    def limit(estimator: str) -> sp.Expr | None:
        if name == "w2_risk_var" and estimator == "mle":
            return _mle_var_limit()
        return _LIMITS.get((name, estimator))

    def build(estimator: str) -> Form:
        return _SeriesLater(
            expr=_constant_T(estimator, name),
            schedule_expr=_quantities(estimator)[name],
            series=functools.partial(series, estimator),
            series_in=T,  # every claim here has a series in 1/T
            limit=functools.partial(limit, estimator),
            derivation=functools.partial(derivation, estimator),
            monotone=_MONOTONE.get((name, estimator), _MONOTONE.get(name)),
        )

    return build


def _mle_var_limit() -> sp.Expr:
    """Var W2^2 as g -> oo for the MLE chain.

    Expanded, each term is a coefficient times powers b_k^(e_k(g)); its growth rate in g is
    sum_k e_k'(g) log b_k. Terms whose rate is negative vanish in the limit. The rates are checked
    numerically over T = 2..2000: a term with a rate that is not negative throughout raises rather
    than give a wrong limit.
    """
    expr = sp.expand(_constant_T("mle", "w2_risk_var"))
    kept = []
    for term in sp.Add.make_args(expr):
        rate = sum(
            (sp.diff(f.exp, g) * sp.log(f.base) for f in sp.Mul.make_args(term) if f.is_Pow and f.exp.has(g)),
            sp.S.Zero,
        )
        if rate == 0:
            if term.has(g):
                raise ArithmeticError(f"term {term} grows polynomially in g")
            kept.append(term)
            continue
        for TT in (2, 3, 5, 20, 100, 2000):
            value = sp.N(rate.subs(T, TT), 30)
            if not value < 0:
                raise ArithmeticError(f"term {term} has growth rate {value} at T={TT}")
    return sp.simplify(sp.Add(*kept))


#: The coordinates of the 1-D chain's quantities: the claims' parameters.
_COORDS = {
    "sigma": "standard deviation of the real data",
    "T": "samples drawn at each step (a schedule T_0, T_1, ... where the claim takes one)",
    "g": "fits so far (model g; model 0 is the truth)",
    "estimator": "variance estimator: unbiased (ddof=1) or mle (ddof=0)",
}


def _quantity(name: str, doc: str, coords=_COORDS) -> str:
    return quantity(f"gaussian.{name}", doc + " of the 1-D Gaussian chain refitted on its own samples (replace)",
                    coords, generation="g").id


#: The verification point: the 1-D test vector sigma = 1, T = 20 (docs/formulas.md), at g = 1, 2, 5, 10.
_CHECK = (Point({"sigma": 1.0, "T": 20}, generations=(1, 2, 5, 10)),)


def _claim(name: str, title: str, quantity_id: str, params, checks=_CHECK, **kw) -> None:
    register(
        id=f"gaussian.{name}",
        title=title,
        quantity=quantity_id,
        source=SHUMAILOV,
        params=params,
        builder=_builder(name),
        defaults={"estimator": "unbiased"},
        checks=checks,
        **kw,
    )


_COMMON_ASSUMPTIONS = (
    "1-D Gaussian data; mu and sigma fitted by the sample mean and the sample variance",
    "step i draws T_i fresh samples from the previous fit (replace workflow); model 0 is the truth",
)

_claim(
    "sigma2_mean",
    "Expected fitted variance E sigma_g^2",
    _quantity("sigma2", "E[sigma_g^2]"),
    (_SIGMA, _T, _G, ESTIMATOR),
    assumptions=_COMMON_ASSUMPTIONS,
    note="Unbiased: a martingale, E sigma_g^2 = sigma^2 for every g although sigma_g -> 0 almost surely. "
    + KAZDAN_MLE_NOTE,
)
_claim(
    "sigma_mean",
    "Expected fitted standard deviation E sigma_g",
    _quantity("sigma", "E[sigma_g]"),
    (_SIGMA, _T, _G, ESTIMATOR),
    assumptions=_COMMON_ASSUMPTIONS,
    note="Derived from the moments of a scaled chi-square: E sigma_g = sigma prod c4(T_i) (times "
    "sqrt((T_i-1)/T_i) for the MLE).",
)
_claim(
    "mean_sq_error",
    "Mean drift E (mu_g - mu)^2",
    _quantity("mean_sq_error", "E[(mu_g - mu)^2]"),
    (_SIGMA, _T, _G, ESTIMATOR),
    assumptions=_COMMON_ASSUMPTIONS,
    note="Unbiased: sigma^2 sum_{i<g} 1/T_i exactly (mu_g - mu is a martingale). MLE: sigma^2 (1 - ((T-1)/T)^g).",
)
_claim(
    "marginal_var",
    "Variance of a generation-g sample, Var X_g",
    _quantity("marginal_var", "Var[X_g], X_g a point drawn from model g"),
    (_SIGMA, _T, _G, ESTIMATOR),
    assumptions=_COMMON_ASSUMPTIONS,
    note="Var X_g = E sigma_g^2 + E (mu_g - mu)^2: sigma^2 (1 + sum 1/T_i) exactly for the unbiased "
    "estimator (the survey's form is exact, not only to second order); sigma^2 for every g with the MLE.",
)
_claim(
    "w2_risk",
    "Expected Wasserstein-2 risk E W2^2(N(mu_g, sigma_g^2), N(mu, sigma^2))",
    _quantity("w2", "E[W2^2(N(mu_g, sigma_g^2), N(mu, sigma^2))]"),
    (_SIGMA, _T, _G, ESTIMATOR),
    assumptions=_COMMON_ASSUMPTIONS,
    note="Exact: sigma^2 [sum_{i<g} 1/T_i + 2 - 2 prod c4(T_i)]; first order (3/2) sigma^2 sum_{i<g} 1/T_i. "
    "The survey writes the sum as j = 0..g, one term too many when model 0 is the truth (T=20, g=10: "
    "0.825 instead of 0.75). E W2^2 -> oo needs the unbiased estimator: with the MLE it tends to 2 sigma^2.",
    related=("gaussian.w2_risk_var", "mvgaussian.w2_risk_lower_bound"),
)
_claim(
    "w2_risk_var",
    "Variance of the Wasserstein-2 risk, Var W2^2",
    _quantity("w2_var", "Var[W2^2(N(mu_g, sigma_g^2), N(mu, sigma^2))]"),
    (_SIGMA, _T, _G, ESTIMATOR),
    assumptions=_COMMON_ASSUMPTIONS,
    note="Exact: 3 E[A^2] + 2 E[A (sigma_g - sigma)^2] + E (sigma_g - sigma)^4 - (E W2^2)^2 with "
    "A = sum_{i<g} sigma_i^2/T_i. Leading order (5/2) sigma^4 (sum 1/T_i)^2; the survey's "
    "(sigma^4/2)(3 sum 1/T^2 + 4 sum_{i != j} 1/(T_i T_j)) disagrees with the exact form and with "
    "simulation. The leading order is poor when g/T is not small (T=20, g=10: 0.625 vs exact 1.227).",
    related=("gaussian.w2_risk",),
)
_claim(
    "log_sigma2_drift",
    "Almost-sure collapse rate E log(sigma_g^2 / sigma^2)",
    _quantity("log_sigma2", "E[log(sigma_g^2 / sigma^2)]", {k: v for k, v in _COORDS.items() if k != "sigma"}),
    (_T, _G, ESTIMATOR),
    checks=(Point({"T": 20}, generations=(1, 2, 5, 10)),),
    assumptions=_COMMON_ASSUMPTIONS,
    note="sum_{i<g} [digamma(nu_i/2) - log(nu_i/2)] (plus log((T_i-1)/T_i) for the MLE) < 0, so "
    "log sigma_g^2 is a random walk with negative drift and sigma_g -> 0 almost surely (strong law). "
    "At T = 20 the median of sigma_g^2 halves about every 12.9 generations.",
)
