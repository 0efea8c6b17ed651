"""The numpy simulators, declared once in the catalog (numerics.catalog): settings, metrics, the claims
that predict each metric, how `collapse verify` checks each claim, and memory per trial.

The default verification points follow FORMULAS.md's test vectors: the 1-D chain at T = 20, Kazdan et
al.'s grid at d = 5, n = 20, Gerstgrasser et al.'s regression at d = 5, T = 20 with an anisotropic
covariance, the KDE at n = 50, h = 0.3; asymptotic claims by convergence studies (universality ratios
along n = 50..400 for the Gaussian and n = 200..800 for logistic chains; the ridge random-matrix
equivalents along d = 10, 20, 40 with T = 3d, T0 = 2.5d).
"""

from __future__ import annotations

import math

import numpy as np

from theory.workflows import CLAIM_WORKFLOWS, WORKFLOWS

from . import gaussian, logistic
from .catalog import Bind, Check, Ladder, Link, Metric, Setting, Simulator, register

#: The anisotropic covariance of FORMULAS.md's regression checks (d = 5).
ANISOTROPIC = (3.0, 1.5, 1.0, 0.5, 0.1)
#: Fewest trials at which a variance comparison (sample variance, delta-method standard error) is
#: calibrated. Measured on gaussian.w2_risk_var (unbiased, T=20, g=5; 600 and 300 seeds, alpha=0.05):
#: 11.0% rejections at 2,000 trials (the heavy-tailed W2^2 skews z to the left), 4.7% at 20,000.
MIN_TRIALS_VARIANCE = 20_000
#: The ladders of the convergence studies.
LADDER = (50, 100, 200, 400)
LOGISTIC_LADDER = (200, 400, 800)
#: A bootstrapped first fit of a logistic regression is far from its limit at n = 200 (its ratio there is
#: 17% above the limit and curves away from a + b/n; measured with 5,000 chains), so its ladder starts at 400.
LOGISTIC_BOOTSTRAP_LADDER = (400, 800, 1600)
RIDGE_LADDER = (10, 20, 40)

_ALL = tuple(WORKFLOWS)
_MODULE = __name__


def _workflow(options=_ALL, default=None) -> Setting:
    kw = {} if default is None else {"default": default}
    return Setting("choice", doc="data workflow (theory.workflows)", options=options, **kw)


#: The sizes of a workflow, for the simulators whose sampler takes any batch size.
_SIZES = {
    "real_fraction": Setting("float", None, "share of real points in each training set (workflow real-fraction)", low=0, high=1),
    "train_size": Setting("int", None, "training-set size of the subsample and real-fraction workflows (default n)", low=1),
    "synthetic": Setting("int", None, "points sampled from each model (default n)", low=1),
    "alpha": Setting("float", None, "points sampled from each model as a fraction of n (Dey & Donoho's alpha n; "
                     "instead of synthetic)", low=0, open_low=True),
    "first_fit": Setting("choice", "real", "generation 1 fits the real data as they are, or a bootstrap resample",
                         ("real", "bootstrap")),
}
#: The settings under which the workflow is one of the claims' (batches of n, the real data as they are).
_PLAIN = {"train_size": None, "synthetic": None, "alpha": None, "first_fit": "real"}

# -- the Gaussian chain --------------------------------------------------------------------------

_DD_NOTE = "1-D Gaussian, mean and variance by maximum likelihood"


def _scaled_cross(v, p):
    """n / sigma^2 times each generation's mean error times the one at generation l = cross_with."""
    l = p["cross_with"]
    if l is None:
        raise ValueError("the metric scaled_cov needs the setting cross_with (the generation l)")
    if l > v.shape[1]:
        raise ValueError(f"cross_with = {l} is beyond the {v.shape[1]} generations simulated")
    return v * v[:, l - 1 : l] * (p["n"] / p["sigma"] ** 2)


_SIGMA = Bind("sigma")
_EST = Bind("estimator")
_WF = Bind("workflow")
_MV = (Bind("sigma2", "sigma", to_claim=lambda s: s * s, to_setting=math.sqrt), Bind("d"), Bind("n"), _EST, _WF)
_ONE_D = {"d": 1, "workflow": "replace", **_PLAIN}
_MV_WHEN = {"workflow": CLAIM_WORKFLOWS, **_PLAIN}
_CHECK_1D = Check({"d": 1, "n": 20, "sigma": 1.0, "workflow": "replace"}, generations=(1, 2, 5, 10))
_CHECK_MV = Check({"d": 5, "n": 20, "sigma": 1.0}, generations=(1, 2, 5, 10))


def _one_d(claim: str, binds=(_SIGMA, Bind("T", "n"), _EST), **kw) -> Link:
    return Link(claim, "g", binds, when=_ONE_D, check=kw.pop("check", _CHECK_1D), **kw)


def _synthetic(p: dict) -> int:
    return p["synthetic"] or (max(1, round(p["alpha"] * p["n"])) if p.get("alpha") else p["n"])


def _gaussian_memory(p: dict, G: int) -> float:
    d, n = p["d"], p["n"]
    if gaussian.resolve_sampler(p["sampler"], p["workflow"]) == "sufficient":
        return 8.0 * d * d * 12
    m = _synthetic(p)
    pool = n + m * G if p["workflow"].startswith("accumulate-subsample") else 2 * (n + m)
    return 8.0 * d * (pool + 4 * max(n, m, p["train_size"] or 0)) + 8.0 * d * d * 6


def _gaussian_work(p: dict, G: int) -> float:
    """Random draws per trial, plus the d x d factorisations in draw units (a draw costs about 250 flops'
    time here, a Cholesky or eigendecomposition a few times d^3/3 flops)."""
    factor = p["d"] ** 3 / 100 * G
    if gaussian.resolve_sampler(p["sampler"], p["workflow"]) == "sufficient":  # a mean and a Wishart scatter
        return 2.0 * p["d"] ** 2 * G + factor
    return float(p["d"]) * _synthetic(p) * G + factor


register(Simulator(
    name="gaussian",
    target=f"{gaussian.__name__}:simulate",
    doc="Gaussian fitted by mean and covariance, N(0, sigma^2 I_d) real data (Shumailov et al.; Kazdan et al.)",
    settings={
        "d": Setting("int", 1, "dimension", low=1),
        "n": Setting("int", doc="real points (and points per generation)", low=2),
        "sigma": Setting("float", 1.0, "standard deviation of the real data", low=0, open_low=True),
        "estimator": Setting("choice", "mle", "covariance estimator", ("unbiased", "mle")),
        "workflow": _workflow(),
        **_SIZES,
        "sampler": Setting("choice", "points", "points, or a batch's mean and scatter from their laws "
                           "(sufficient; auto where exact)", gaussian.SAMPLERS),
        "cross_with": Setting("int", None, "the generation l of the metric cov (Cov of the mean error at each "
                              "generation with the one at l)", low=1, affects_draws=False),
    },
    metrics={
        "mean_sq_error": Metric("||mu_t - mu_0||^2", "mean_sq_error", links=(
            Link("mvgaussian.mean_sq_error", "t", _MV, when=_MV_WHEN, check=_CHECK_MV),
            _one_d("gaussian.mean_sq_error"),
        )),
        "trace_ratio": Metric("Tr Sigma_t / Tr Sigma_0", "trace", lambda v, p: v / (p["d"] * p["sigma"] ** 2), links=(
            Link("mvgaussian.trace_ratio", "t", _MV, when=_MV_WHEN, check=_CHECK_MV),)),
        "sigma2": Metric("fitted variance (d = 1)", "trace", lambda v, p: v / p["d"], links=(
            _one_d("gaussian.sigma2_mean"),)),
        "sigma": Metric("fitted standard deviation (d = 1)", "sigma", links=(_one_d("gaussian.sigma_mean"),)),
        "marginal_var": Metric("variance of a point of model t about mu_0, per coordinate", "marginal_var", links=(
            _one_d("gaussian.marginal_var"),)),
        "det_ratio": Metric("det Sigma_t / det Sigma_0", "det", lambda v, p: v / p["sigma"] ** (2 * p["d"]), links=(
            Link("mvgaussian.det_ratio", "t", _MV, when={**_MV_WHEN, "workflow": "replace"}, check=_CHECK_MV),)),
        "log_det_ratio": Metric("log(det Sigma_t / det Sigma_0) (-inf when n <= d)", "log_det",
                                lambda v, p: v - 2 * p["d"] * np.log(p["sigma"]), links=(
            Link("mvgaussian.log_det_ratio", "t", _MV, when={**_MV_WHEN, "workflow": "replace"},
                 applies_if=lambda p: p["n"] > p["d"], check=_CHECK_MV),)),
        "w2": Metric("W2^2 from the fitted Gaussian to the real one", "w2", links=(
            _one_d("gaussian.w2_risk"),
            Link("mvgaussian.w2_risk_lower_bound", "t", _MV, when=_MV_WHEN, alternative="lower", check=_CHECK_MV),
        )),
        "w2_variance": Metric("W2^2 from the fitted Gaussian to the real one", "w2", statistic="variance", links=(
            _one_d("gaussian.w2_risk_var", check=Check(_CHECK_1D.settings, _CHECK_1D.generations,
                                                       min_trials=MIN_TRIALS_VARIANCE,
                                                       min_trials_why="variance comparisons are calibrated from "
                                                                      f"{MIN_TRIALS_VARIANCE} trials on")),)),
        "log_var": Metric("log(sigma_t^2 / sigma^2) (d = 1)", "log_var", links=(
            _one_d("gaussian.log_sigma2_drift", binds=(Bind("T", "n"), _EST)),)),
        "variance_ratio": Metric("Var(mu_k) / Var(mu_1), as E||mu_k - mu_0||^2 / E||mu_1 - mu_0||^2 (Dey & Donoho)",
                                 "mean_sq_error", statistic="ratio", links=(
            Link("universality.variance_ratio", "k", (_WF,), fixed={"first_fit": "real"},
                 when={"workflow": CLAIM_WORKFLOWS, **_PLAIN},
                 check=Check({"d": 1, "sigma": 1.0, "estimator": "mle"}, generations=(2, 3, 5),
                             ladder=Ladder(LADDER, setting="n"), note=_DD_NOTE)),
            Link("universality.accumulate_fraction", "k", (Bind("alpha"),),
                 when={"workflow": "accumulate", "train_size": None, "synthetic": None, "first_fit": "real"},
                 applies_if=lambda p: p["alpha"] is not None,
                 check=Check({"d": 1, "sigma": 1.0, "estimator": "mle", "workflow": "accumulate", "alpha": 0.5},
                             generations=(2, 3, 5), ladder=Ladder(LADDER, setting="n"),
                             note=_DD_NOTE + "; synthetic batches of alpha n = n/2 points")),
        )),
        "scaled_sq_error": Metric("n ||mu_k - mu_0||^2 / (d sigma^2): the mean error in units of one fit on the real "
                                  "data as they are", "mean_sq_error",
                                  lambda v, p: v * p["n"] / (p["d"] * p["sigma"] ** 2), links=(
            Link("universality.variance_ratio", "k", (_WF, Bind("first_fit")),
                 when={"train_size": None, "synthetic": None, "alpha": None, "first_fit": "bootstrap"},
                 check=Check({"d": 1, "sigma": 1.0, "estimator": "mle"}, generations=(1, 2, 3, 5),
                             ladder=Ladder(LADDER, setting="n"),
                             variants=lambda v: v["first_fit"] == "bootstrap",
                             note=_DD_NOTE + "; the real data bootstrapped at the first fit, in units of "
                                  "sigma^2/n (one fit on them as they are)")),)),
        "scaled_cov": Metric("n E[(mu_k - mu_0)(mu_l - mu_0)] / sigma^2, l = cross_with (first coordinate): Cov(Z_k, Z_l) "
                             "in units of one fit on the real data", "mean_error", _scaled_cross, links=(
            Link("universality.gaussian_process", "k", (_WF, Bind("l", "cross_with"), Bind("first_fit")),
                 when={"workflow": CLAIM_WORKFLOWS, "train_size": None, "synthetic": None, "alpha": None},
                 applies_if=lambda p: p["cross_with"] is not None,
                 check=Check({"d": 1, "sigma": 1.0, "estimator": "mle", "cross_with": 4}, generations=(1, 2, 3, 4),
                             ladder=Ladder(LADDER, setting="n"),
                             note=_DD_NOTE + "; cross-covariances with generation l = 4")),)),
    },
    memory=_gaussian_memory,
    work=_gaussian_work,
    quantities=True,
), _MODULE)

# -- regression on a fixed design ----------------------------------------------------------------

_REG = (Bind("sigma"), Bind("d"), Bind("T"))
_CHECK_REG = Check({"d": 5, "T": 20, "sigma": 1.0, "eigenvalues": ANISOTROPIC}, generations=(1, 2, 5, 10),
                   note="anisotropic Sigma, eigenvalues " + ", ".join(f"{e:g}" for e in ANISOTROPIC))


def _regression(trials, rng, *, d, T, sigma, workflow, eigenvalues, design, generations):
    from .regression import simulate_fixed_design

    return simulate_fixed_design(trials, rng, d=d, T=T, generations=generations, sigma=sigma, workflow=workflow,
                                 eigenvalues=eigenvalues, fresh_design=design == "fresh")


register(Simulator(
    name="regression",
    target=f"{_MODULE}:_regression",
    doc="OLS refitted on its own labels, fixed design (Gerstgrasser et al.)",
    settings={
        "d": Setting("int", doc="dimension", low=1),
        "T": Setting("int", doc="rows of the design (at least d + 2)", low=3),
        "sigma": Setting("float", 1.0, "label noise", low=0, open_low=True),
        "workflow": _workflow(("replace", "accumulate", "accumulate-subsample", "accumulate-subsample-replacement",
                               "real-plus-synthetic")),
        "eigenvalues": Setting("floats", None, "eigenvalues of Sigma (default: the identity); d of them"),
        "design": Setting("choice", "fixed", "one design relabelled every generation (Gerstgrasser et al.), or a "
                          "fresh design for every synthetic batch (erratum 4)", ("fixed", "fresh")),
    },
    metrics={
        "test_error": Metric("(w_n - w*)^T Sigma (w_n - w*)", "test_error", links=(
            Link("regression.replace.test_error", "n", _REG, when={"workflow": "replace", "design": "fixed"},
                 check=_CHECK_REG),
            Link("regression.accumulate.test_error", "n", _REG, when={"workflow": "accumulate", "design": "fixed"},
                 check=_CHECK_REG),
            Link("regression.accumulate.bound", None, _REG, when={"workflow": "accumulate", "design": "fixed"},
                 alternative="upper",
                 check=Check(_CHECK_REG.settings, generations=(50,), note="accumulate error after 50 fits; " + _CHECK_REG.note)),
        )),
    },
    memory=lambda p, G: 8.0 * (p["d"] + 1) * p["T"] * (G + 1 if "subsample" in p["workflow"] else 6),
    work=lambda p, G: float(p["T"]) * (p["d"] + 1) * G,
), _MODULE)

# -- ridge downstream of refitted OLS generators ------------------------------------------------


def _spectrum(spectrum: str, d: int | None, beta: float | None, eigenvalues) -> np.ndarray:
    """The eigenvalues of Sigma, as theory's ridge claims define them (power law normalised to Tr = d)."""
    if spectrum == "isotropic":
        if d is None:
            raise ValueError("spectrum='isotropic' needs d")
        return np.ones(d)
    if spectrum == "power-law":
        if d is None or beta is None:
            raise ValueError("spectrum='power-law' needs d and beta")
        raw = np.arange(1, d + 1, dtype=float) ** -beta
        return raw * d / raw.sum()
    if eigenvalues is None:
        raise ValueError("spectrum='given' needs eigenvalues")
    return np.asarray(eigenvalues, dtype=float)


def _ridge(trials, rng, *, spectrum, d, beta, eigenvalues, T, T0, lam, sigma, sigma0, w0_norm, generations):
    from .regression import simulate_dohmatob

    eig = _spectrum(spectrum, d, beta, eigenvalues)
    w0 = np.full(eig.size, w0_norm / np.sqrt(eig.size))  # equal weights in Sigma's eigenbasis: the direction average
    return simulate_dohmatob(trials, rng, T=T, T0=T0, lam=lam, sigma=sigma, sigma0=sigma0, generations=generations,
                             eigenvalues=eig, w0=w0)


def _increment(v, p):
    """(error at generation n - error at generation 0) / (n sigma0^2): rho, generation by generation (NaN at 0)."""
    n = np.arange(v.shape[1], dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (v - v[:, :1]) / (n * p["sigma0"] ** 2)
    out[:, 0] = np.nan
    return out


_SPEC = (Bind("spectrum"), Bind("d"), Bind("beta"), Bind("eigenvalues"))
_RIDGE = _SPEC + (Bind("T"), Bind("T0"), Bind("lam"), Bind("sigma"), Bind("sigma0"), Bind("w0_norm"))
_RIDGE_POINT = {"T": 20, "T0": 20, "lam": 0.0, "sigma": 1.0, "sigma0": 1.0}
_SPECTRA = {"isotropic": {"d": 5}, "power-law": {"d": 5, "beta": 1.5}, "given": {"eigenvalues": ANISOTROPIC}}
_STUDY = {**_RIDGE_POINT, "lam": 0.1, "sigma": 0.5}


def _proportional(d: int, settings: dict) -> dict:
    """The proportional ladder at dimension d: T = 3d, T0 = 2.5d (FORMULAS.md's ratios); a given spectrum
    is the anisotropic one repeated d/5 times (a fixed limiting spectral distribution)."""
    spectrum = {"eigenvalues": ANISOTROPIC * (d // len(ANISOTROPIC))} if settings["spectrum"] == "given" else {"d": d}
    return {**spectrum, "T": 3 * d, "T0": int(2.5 * d)}


def _study(generations, note, **kw) -> Check:
    """The random-matrix equivalents' convergence study along the proportional ladder of d."""
    return Check(kw.pop("settings", _STUDY), generations=generations, share=0.25, kind="asymptotic",
                 per_variant=lambda v: _SPECTRA[v["spectrum"]],
                 ladder=Ladder(RIDGE_LADDER, "discrepancy", scale=_proportional),
                 note=f"random-matrix equivalent{note}: simulation minus theory at d = 10, 20, 40 (T = 3d, "
                      "T0 = 2.5d; power law j^-1.5, or the anisotropic spectrum repeated d/5 times), extrapolated "
                      "to d -> oo as a + b/d; a quarter of the trials", **kw)


_EXACT_AT_0 = Check(_RIDGE_POINT, generations=(0, 1, 5, 10), kind="exact", per_variant=lambda v: _SPECTRA[v["spectrum"]],
                    note="exact at lam = 0 (any covariance)")

register(Simulator(
    name="ridge",
    target=f"{_MODULE}:_ridge",
    doc="ridge on data labelled by a chain of refitted OLS generators (Dohmatob et al.)",
    settings={
        "spectrum": Setting("choice", "isotropic", "covariance spectrum", ("isotropic", "power-law", "given")),
        "d": Setting("int", None, "dimension (isotropic, power-law)", low=1),
        "beta": Setting("float", None, "power-law exponent: eigenvalues proportional to j^-beta, Tr Sigma = d", low=0,
                        open_low=True),
        "eigenvalues": Setting("floats", None, "eigenvalues of Sigma (spectrum given)"),
        "T": Setting("int", doc="downstream training samples", low=1),
        "T0": Setting("int", doc="generator training samples per generation", low=3),
        "lam": Setting("float", 0.0, "ridge penalty", low=0),
        "sigma": Setting("float", 1.0, "downstream label noise (0: the test error at n = 0 is the bias alone)", low=0),
        "sigma0": Setting("float", 1.0, "generator label noise", low=0),
        "w0_norm": Setting("float", 1.0, "norm of the true weights, equal in Sigma's eigenbasis (0: the test error at "
                           "n = 0 is the variance alone)", low=0),
    },
    metrics={
        "test_error": Metric("(w - w0)^T Sigma (w - w0) of the downstream ridge, n = 0 on clean data", "test_error", links=(
            Link("ridge.test_error", "n", _RIDGE, when={"lam": 0.0}, applies_if=lambda p: p["w0_norm"] > 0,
                 check=_EXACT_AT_0),
            Link("ridge.test_error", "n", _RIDGE, applies_if=lambda p: p["w0_norm"] > 0 and p["sigma"] > 0,
                 check=_study((0, 1, 3), "")),
            Link("ridge.bias", None, _SPEC + (Bind("T"), Bind("lam"), Bind("w0_norm")), when={"sigma": 0.0},
                 applies_if=lambda p: p["lam"] > 0,
                 check=_study((0,), " of the bias (noise-free labels: the clean error is the bias)",
                              settings={**_STUDY, "sigma": 0.0})),
            Link("ridge.variance", None, _SPEC + (Bind("T"), Bind("lam"), Bind("sigma")), when={"w0_norm": 0.0},
                 check=_study((0,), " of the variance (w0 = 0: the clean error is the variance)",
                              settings={**_STUDY, "w0_norm": 0.0})),
        )),
        "increment": Metric("(error after n generations - clean error) / (n sigma0^2)", "test_error", _increment, links=(
            Link("ridge.rho", None, _SPEC + (Bind("T"), Bind("T0"), Bind("lam")), when={"lam": 0.0},
                 check=Check(_RIDGE_POINT, generations=(1, 5), kind="exact",
                             per_variant=lambda v: _SPECTRA[v["spectrum"]], note="exact d/(T0 - d - 1) at lam = 0")),
            Link("ridge.rho", None, _SPEC + (Bind("T"), Bind("T0"), Bind("lam")), applies_if=lambda p: p["lam"] > 0,
                 check=_study((1, 3), " of rho")),
        )),
    },
    memory=lambda p, G: 8.0 * (len(p["eigenvalues"]) if p["eigenvalues"] else p["d"] or 1) * (p["T"] + p["T0"] + 64) * 8,
    work=lambda p, G: float(len(p["eigenvalues"]) if p["eigenvalues"] else p["d"] or 5) * (p["T"] + p["T0"]) * (G + 1),
    first=0,
), _MODULE)


def _min_norm(trials, rng, *, d, T0, w0_norm, generations):
    from .regression import simulate_min_norm

    return simulate_min_norm(trials, rng, d=d, T0=T0, generations=generations, w0_norm=w0_norm)


register(Simulator(
    name="min-norm",
    target=f"{_MODULE}:_min_norm",
    doc="minimum-norm interpolators refitted on fresh over-parametrised designs, noise-free (Dohmatob et al.)",
    settings={
        "d": Setting("int", doc="dimension", low=2),
        "T0": Setting("int", doc="samples per generation (T0 < d)", low=1),
        "w0_norm": Setting("float", 1.0, "norm of the true weights", low=0, open_low=True),
    },
    metrics={
        "error": Metric("||w_n - w0||^2", "error", links=(
            Link("ridge.overparam_noise_free", "n", (Bind("d"), Bind("T0"), Bind("w0_norm")),
                 check=Check({"d": 50, "T0": 30, "w0_norm": 1.0}, generations=(1, 2, 5))),)),
    },
    memory=lambda p, G: 8.0 * p["d"] * (p["T0"] + 4) * 4,
    work=lambda p, G: float(p["d"]) * p["T0"] * G,
), _MODULE)

# -- KDE -------------------------------------------------------------------------------------------

_KDE = (Bind("sigma"), Bind("n"), Bind("bandwidth"), Bind("h"))
_CHECK_KDE = Check({"sigma": 1.0, "n": 50}, generations=(1, 2, 5, 30),
                   per_variant=lambda v: {"h": 0.3} if v["bandwidth"] == "fixed" else {})


def _kde(trials, rng, *, sigma, n, workflow, bandwidth, h, generations):
    from .kde import simulate

    if bandwidth != "fixed" and h is not None:
        raise ValueError(f"h is the bandwidth of bandwidth='fixed'; bandwidth={bandwidth!r} picks its own")
    return simulate(trials, rng, sigma=sigma, n=n, generations=generations, workflow=workflow, bandwidth=bandwidth, h=h)


register(Simulator(
    name="kde",
    target=f"{_MODULE}:_kde",
    doc="1-D Gaussian-kernel KDE refitted on its own samples (Kazdan et al.)",
    settings={
        "n": Setting("int", doc="points per iteration", low=2),
        "sigma": Setting("float", 1.0, "standard deviation of the real data", low=0, open_low=True),
        "workflow": _workflow(("replace", "accumulate", "accumulate-subsample", "accumulate-subsample-replacement")),
        "bandwidth": Setting("choice", "fixed", "bandwidth rule", ("fixed", "scott", "silverman")),
        "h": Setting("float", None, "bandwidth (bandwidth = fixed)", low=0, open_low=True),
    },
    metrics={
        "variance": Metric("variance of the data fitted at iteration t", "variance", links=tuple(
            Link(f"kde.{wf}.variance", "t", _KDE, when={"workflow": wf},
                 check=_CHECK_KDE) for wf in ("replace", "accumulate"))),
    },
    memory=lambda p, G: 8.0 * p["n"] * (G if p["workflow"].startswith("accumulate") else 4) * 3,
    work=lambda p, G: 2.0 * p["n"] * G,
), _MODULE)

# -- logistic regression ------------------------------------------------------------------------

_LOGISTIC_NOTE = f"logistic MLE (Newton), d = 3, theta0 = {logistic.THETA0}, a quarter of the trials"

register(Simulator(
    name="logistic",
    target=f"{logistic.__name__}:simulate",
    doc=f"logistic regression refitted on labels from its own fit, theta0 = {logistic.THETA0} (Dey & Donoho)",
    settings={
        "n": Setting("int", doc="points per generation", low=4),
        "workflow": _workflow(),
        **_SIZES,
    },
    metrics={
        "sq_error": Metric("||theta_k - theta0||^2", "sq_error"),
        "variance_ratio": Metric("E||theta_k - theta0||^2 / E||theta_1 - theta0||^2", "sq_error", statistic="ratio",
                                 links=(Link("universality.logistic", "k", (_WF,), fixed={"first_fit": "real"},
                                             when={"workflow": CLAIM_WORKFLOWS, **_PLAIN},
                                             check=Check({}, generations=(2, 3), share=0.25,
                                                         ladder=Ladder(LOGISTIC_LADDER, setting="n"),
                                                         note=_LOGISTIC_NOTE)),)),
        "scaled_sq_error": Metric("n ||theta_k - theta0||^2 / tr I(theta0)^-1: the error in units of one fit on the "
                                  "real data as they are (I: the Fisher information, by quadrature)", "sq_error",
                                  lambda v, p: v * p["n"] / logistic.fisher_trace_inverse(), links=(
            Link("universality.logistic", "k", (_WF, Bind("first_fit")),
                 when={"train_size": None, "synthetic": None, "alpha": None, "first_fit": "bootstrap"},
                 check=Check({}, generations=(1, 2, 3), share=0.25, ladder=Ladder(LOGISTIC_BOOTSTRAP_LADDER, setting="n"),
                             variants=lambda v: v["first_fit"] == "bootstrap",
                             note=_LOGISTIC_NOTE + "; the real data bootstrapped at the first fit")),)),
    },
    memory=lambda p, G: 8.0 * 4 * p["n"] * (G if p["workflow"].startswith("accumulate") else 2) * 6,
    work=lambda p, G: 4.0 * p["n"] * G * 20,
), _MODULE)

# -- categorical (the language-model side) ------------------------------------------------------

from . import categorical  # noqa: E402


def _p0(p: dict) -> np.ndarray:
    return categorical.truth(p["K"], p["zipf"], p["probabilities"])


def _categorical(trials, rng, *, n, K, zipf, probabilities, workflow, real_fraction, train_size, synthetic, sampler,
                 generations, quantities=None):
    return categorical.simulate(trials, rng, n=n, K=K, zipf=zipf, probabilities=probabilities, workflow=workflow,
                                real_fraction=real_fraction, train_size=train_size, synthetic=synthetic,
                                sampler=sampler, generations=generations, quantities=quantities)


_CAT_PLAIN = {"train_size": None, "synthetic": None}
#: A sweep may fix real_fraction for every cell (configs/categorical.toml); the claims take it only under
#: workflow real-fraction (also the deep layer's language bridge).
REAL_FRACTION = Bind("real_fraction", derive=lambda s: s["real_fraction"] if s["workflow"] == "real-fraction" else None)
#: The collapse-time study: long enough chains that min(T, G) is T but for a negligible tail (the chance
#: of no collapse by 12 n generations is about exp(-12) at the largest n).
COLLAPSE_LADDER = (25, 50, 100, 200)
COLLAPSE_GENERATIONS = 12 * COLLAPSE_LADDER[-1]

register(Simulator(
    name="categorical",
    target=f"{_MODULE}:_categorical",
    doc="a categorical distribution refitted by its frequencies on its own samples (Shumailov et al.; Seddik et al.)",
    settings={
        "n": Setting("int", doc="samples per generation (and real samples)", low=2),
        "K": Setting("int", 10, "symbols of the truth (Zipf-like unless probabilities are given)", low=2),
        "zipf": Setting("float", 1.0, "exponent of the truth: p0_j proportional to j^-zipf (0: uniform)", low=0),
        "probabilities": Setting("floats", None, "the truth's probabilities (instead of K and zipf); they must sum to 1"),
        "workflow": _workflow(),
        "real_fraction": _SIZES["real_fraction"],
        "train_size": _SIZES["train_size"],
        "synthetic": _SIZES["synthetic"],
        "sampler": Setting("choice", "points", "draw the symbols, or a batch's counts from their multinomial law "
                           "(counts: replace and accumulate)", categorical.SAMPLERS),
    },
    metrics={
        "diversity_ratio": Metric("D_t / D_0, D = 1 - sum p^2 (Gini-Simpson)", "diversity",
                                  lambda v, p: v / (1 - (_p0(p) ** 2).sum()), links=(
            Link("categorical.diversity", "t", (Bind("n"), _WF, REAL_FRACTION),
                 when={"workflow": ("replace", "accumulate", "real-fraction"), **_CAT_PLAIN},
                 check=Check({"n": 20, "K": 5, "zipf": 1.0}, generations=(1, 2, 5, 10),
                             per_variant=lambda v: {"real_fraction": 0.25} if v["workflow"] == "real-fraction" else {},
                             note="truth Zipf(1) over K = 5 symbols")),)),
        "lost_rarest": Metric("whether the truth's rarest symbol has count 0", "lost_rarest", links=(
            Link("categorical.loss_probability", "t", (Bind("n"), Bind("p", derive=lambda s: float(_p0(s)[-1]))),
                 when={"workflow": "replace", **_CAT_PLAIN},
                 check=Check({"n": 100, "probabilities": (0.6, 0.39, 0.01)}, generations=(1, 10, 50),
                             note="the rarest symbol, p = 0.01")),)),
        "surviving": Metric("symbols with nonzero count", "surviving", links=(
            Link("categorical.surviving_symbols", "t", (Bind("n"), Bind("probabilities", derive=lambda s: list(_p0(s)))),
                 when={"workflow": "replace", **_CAT_PLAIN},
                 check=Check({"n": 20, "K": 8, "zipf": 1.0}, generations=(1, 5, 20), note="truth Zipf(1) over K = 8")),)),
        "collapsed": Metric("whether the fit is a point mass", "collapsed"),
        "collapse_time": Metric("min(T, t), T the first iteration whose fit is a point mass", "collapse_time", links=(
            Link("categorical.collapse_time", None,
                 (Bind("n"), Bind("probabilities", derive=lambda s: list(_p0(s)))),
                 when={"workflow": "replace", **_CAT_PLAIN},
                 check=Check({"probabilities": (0.5, 0.3, 0.2), "sampler": "counts"},
                             generations=(COLLAPSE_GENERATIONS,),
                             ladder=Ladder(COLLAPSE_LADDER, "relative", setting="n", basis="log"),
                             note="Kimura's diffusion time against chains run until collapse (multinomial counts), "
                                  "relative gap extrapolated as a + b log(n)/n + c/n")),)),
    },
    memory=lambda p, G: 8.0 * (p["n"] * (G if p["workflow"].startswith("accumulate") else 3) + 4 * p["K"]) + 8.0 * G * 5,
    work=lambda p, G: float(p["n"]) * G if p["sampler"] == "points" else 4.0 * p["K"] * G,
    quantities=True,
), _MODULE)
