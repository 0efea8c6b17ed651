"""Errata as data: where the literature's statements differ from what the toolkit derives.

Each :class:`Erratum` is a record on a claim: what the source states, what holds instead, the parameter
point and the numbers that show it. Every number is either recomputed by the theory (``exact``: the
record's ``compute`` gives it, and a test checks it to the digits stated) or measured by simulation
(``simulated``: stated with its standard error and the command that reproduces it; the numerical
layer's tests re-measure it). ``collapse errata`` lists them; ``collapse show ID --errata`` prints a
claim's; the README's errata section is their Markdown (a test keeps the two the same).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Number:
    """One number of an erratum: its value as stated, and how it is known."""

    value: float
    how: str = "exact"  # exact (recomputed by the theory) or simulated (measured; see ``se`` and ``command``)
    se: float | None = None
    command: str = ""
    digits: int = 4  # significant digits stated: the recomputation must agree to them


@dataclass(frozen=True)
class Erratum:
    number: int
    claim: str
    title: str
    states: str  # what the source states
    holds: str  # what holds instead
    point: Mapping[str, object] = field(default_factory=dict)
    numbers: Mapping[str, Number] = field(default_factory=dict)
    compute: Callable[[], dict[str, float]] | None = None  # the exact numbers, recomputed
    source: str = ""

    def recompute(self) -> dict[str, float]:
        """The exact numbers, from the theory."""
        return dict(self.compute()) if self.compute is not None else {}

    def agrees(self) -> dict[str, tuple[float, float, bool]]:
        """For each exact number: (stated, recomputed, whether they agree to the stated digits)."""
        fresh = self.recompute()
        out = {}
        for name, num in self.numbers.items():
            if num.how != "exact":
                continue
            got = fresh[name]
            scale = 10 ** (math.floor(math.log10(abs(num.value))) - num.digits + 1) if num.value else 10 ** -num.digits
            out[name] = (num.value, got, abs(got - num.value) <= 0.5 * scale + 1e-15)
        return out

    def markdown(self) -> str:
        nums = "; ".join(_show(k, v) for k, v in self.numbers.items())
        at = ", ".join(f"{k} = {v}" for k, v in self.point.items())
        return (f"{self.number}. **{self.title}** (`{self.claim}`). The source states: {self.states} "
                f"What holds: {self.holds}" + ((f" At {at}: {nums}." if at else f" Values: {nums}.") if nums else ""))

    def text(self) -> str:
        import textwrap

        wrap = lambda head, body: textwrap.fill(body, 100, initial_indent=f"  {head}: ", subsequent_indent="    ")  # noqa: E731
        lines = [f"erratum {self.number} ({self.claim}): {self.title}", wrap("the source states", self.states),
                 wrap("what holds", self.holds)]
        if self.point:
            lines.append("  at " + ", ".join(f"{k}={v}" for k, v in self.point.items()) + ":")
        for k, v in self.numbers.items():
            lines.append("    " + _show(k, v))
        return "\n".join(lines)


def _show(name: str, num: Number) -> str:
    value = f"{num.value:.{num.digits}g}"
    if num.how == "simulated":
        return f"{name} {value} +- {num.se:.2g} (simulated: {num.command})"
    return f"{name} {value}"


def _claim(cid):
    from . import CLAIMS

    return CLAIMS[cid]


def _ev(cid, **values) -> float:
    return _claim(cid).evaluate(**values)


def _series(cid, **values) -> float:
    from . import symbols as S

    choices = {k: v for k, v in values.items() if k in _claim(cid).choices}
    form = _claim(cid).form(**choices)
    subs = {getattr(S, k): v for k, v in values.items() if k not in choices}
    return float(form.series.subs(subs))


def _limit(cid, **values) -> float:
    """The claim's limit over generations at these values (choices and numbers)."""
    from . import symbols as S

    choices = {k: v for k, v in values.items() if k in _claim(cid).choices}
    subs = {getattr(S, k): v for k, v in values.items() if k not in choices}
    return float(_claim(cid).form(**choices).limit.subs(subs))


ERRATA: tuple[Erratum, ...] = (
    Erratum(
        1, "gaussian.w2_risk", "Shumailov's first-order W2 risk sums one term too many in the survey's form",
        "(3/2) sigma^2 sum_{j=0}^{g} 1/T_j (Arulandu 2024, eq. 2).",
        "when model 0 is the truth and model g the result of g fits, the sum runs over j = 0..g-1.",
        {"sigma": 1, "T": 20, "g": 10},
        {"survey": Number(0.825), "first order": Number(0.75), "exact": Number(0.7464737, digits=7)},
        lambda: {"survey": 1.5 * 11 / 20, "first order": _series("gaussian.w2_risk", sigma=1, T=20, g=10),
                 "exact": _ev("gaussian.w2_risk", sigma=1, T=20, g=10)},
    ),
    Erratum(
        2, "mvgaussian.w2_risk_lower_bound", "The 3/2 constant is one-dimensional",
        "E W2^2 ~ (3/2) sigma^2 g/T at first order (stated for the Gaussian chain without a dimension).",
        "with an isotropic covariance in d dimensions the first-order constant is d + d(d+1)/4 (derived): "
        "3/2 at d = 1 only.",
        {"d": 5, "T": 400, "g": 4, "estimator": "unbiased"},
        {"constant at d = 1": Number(1.5), "constant at d = 5": Number(12.5),
         "first order": Number(0.125),
         "E W2^2": Number(0.12488, "simulated", se=0.0001, digits=4, command=(
             "numerics.gaussian.simulate(200_000, default_rng(13), d=5, n=400, generations=4, "
             "estimator='unbiased', workflow='replace')['w2'][:, 3].mean()"))},
        lambda: {"constant at d = 1": 1 + 2 / 4, "constant at d = 5": 5 + 30 / 4, "first order": 12.5 * 4 / 400},
    ),
    Erratum(
        3, "gaussian.w2_risk", "E W2^2 -> infinity needs the unbiased variance estimator",
        "E W2^2(N(mu_g, sigma_g^2), D_0) -> infinity (Shumailov et al. 2024, Theorem 3.1).",
        "with the maximum-likelihood estimator (ddof = 0, as in Kazdan et al.'s code) E W2^2 tends to "
        "2 sigma^2, E sigma_g^2 decays like ((T-1)/T)^g and Var X_g = sigma^2 exactly; sigma_g -> 0 almost "
        "surely either way.",
        {"sigma": 1, "T": 20, "g": 10, "estimator": "mle"},
        {"E W2^2 (MLE)": Number(0.643155, digits=6), "its limit": Number(2.0), "Var X_g (MLE)": Number(1.0)},
        lambda: {"E W2^2 (MLE)": _ev("gaussian.w2_risk", sigma=1, T=20, g=10, estimator="mle"),
                 "its limit": _limit("gaussian.w2_risk", estimator="mle", sigma=1),
                 "Var X_g (MLE)": _ev("gaussian.marginal_var", sigma=1, T=20, g=10, estimator="mle")},
    ),
    Erratum(
        4, "regression.accumulate.test_error", "Gerstgrasser's sum 1/i^2 needs the same design X at every iteration",
        "the accumulate test error is sigma^2 d/(T - d - 1) sum_{i<=n} 1/i^2 (Gerstgrasser et al. 2024).",
        "only when every iteration relabels the same design X; with a fresh design each iteration the "
        "error is lower.",
        {"sigma": 1, "d": 5, "T": 20, "n": 10, "Sigma eigenvalues": "3, 1.5, 1, 0.5, 0.1"},
        {"formula (fixed X)": Number(0.5534885, digits=7),
         "fresh X": Number(0.5114, "simulated", se=0.0009, command=(
             "numerics.regression.simulate_fixed_design(200_000, default_rng(12), d=5, T=20, generations=10, "
             "workflow='accumulate', eigenvalues=[3, 1.5, 1, 0.5, 0.1], fresh_design=True)"))},
        lambda: {"formula (fixed X)": _ev("regression.accumulate.test_error", sigma=1, d=5, T=20, n=10)},
    ),
    Erratum(
        5, "gaussian.w2_risk_var", "The variance of the W2 risk",
        "Var W2^2 = (sigma^4/2)(3 sum 1/T_i^2 + 4 sum_{i != j} 1/(T_i T_j)) (the survey).",
        "the leading order is (5/2) sigma^4 (sum 1/T_i)^2, and even it is poor when g/T is not small.",
        {"sigma": 1, "T": 20, "g": 10},
        {"exact": Number(1.2273201, digits=7), "leading order": Number(0.625), "survey": Number(0.4875)},
        lambda: {"exact": _ev("gaussian.w2_risk_var", sigma=1, T=20, g=10),
                 "leading order": _series("gaussian.w2_risk_var", sigma=1, T=20, g=10),
                 "survey": 0.5 * (3 * 10 / 400 + 4 * 90 / 400)},
    ),
    Erratum(
        6, "gaussian.marginal_var", "Var X_g = sigma^2 (1 + sum 1/T_i) is exact",
        "the formula holds to second order (the survey).",
        "it is exact for the unbiased chain (E sigma_g^2 = sigma^2 and E (mu_g - mu)^2 = sigma^2 sum 1/T_i exactly).",
        {"sigma": 1, "T": 20, "g": 10},
        {"Var X_g": Number(1.5), "sigma^2 (1 + g/T)": Number(1.5)},
        lambda: {"Var X_g": _ev("gaussian.marginal_var", sigma=1, T=20, g=10), "sigma^2 (1 + g/T)": 1 + 10 / 20},
    ),
    Erratum(
        7, "gaussian.log_sigma2_drift", "The MLE collapse rate is twice the unbiased one",
        "E log(sigma_g^2/sigma^2) ~ -g/T (the almost-sure collapse rate, stated for the chain).",
        "-g/T for the unbiased estimator, -2g/T for the maximum-likelihood one.",
        {"T": 20, "g": 10},
        {"unbiased": Number(-0.5355392, digits=7), "MLE": Number(-1.0484722, digits=8)},
        lambda: {"unbiased": _ev("gaussian.log_sigma2_drift", T=20, g=10),
                 "MLE": _ev("gaussian.log_sigma2_drift", T=20, g=10, estimator="mle")},
    ),
    Erratum(
        8, "ridge.rho", "Dohmatob et al.'s rho has the finite-sample denominator T0 - d - 1",
        "rho ~ df_2(lam)/(T0 - d) (the survey's low-dimensional form).",
        "at lam = 0, rho = d/(T0 - d - 1) exactly for any covariance; in the proportional regime the "
        "low-dimensional form is also off because kappa > lam.",
        {"spectrum": "isotropic", "d": 100, "T": 300, "T0": 250, "lam": 0.1},
        {"random-matrix rho": Number(0.51882, digits=5), "survey's df_2(lam)/(T0 - d)": Number(0.55096, digits=5),
         "exact at lam = 0": Number(0.67114094, digits=8)},
        lambda: {"random-matrix rho": _ev("ridge.rho", d=100, T=300, T0=250, lam=0.1),
                 "survey's df_2(lam)/(T0 - d)": _ev("ridge.rho_lowdim", d=100, T0=250, lam=0.1),
                 "exact at lam = 0": _ev("ridge.rho", d=100, T=300, T0=250, lam=0)},
    ),
    Erratum(
        9, "universality.variance_ratio", "The subsample constants are derived here",
        "the limiting ratios of the subsample workflows (Dey & Donoho's own constants could not be retrieved).",
        "accumulate-subsample tends to pi^2/2 - 2 (3 H_k^(2) - 2), with replacement to pi^2/3 - 1/4 "
        "(2 H_k^(2) - 1/4), or pi^2/3 if the real data are bootstrapped at the first fit too; the survey's "
        "Figure 6a agrees with this ordering.",
        {},
        {"accumulate": Number(1.644934, digits=7), "accumulate-subsample": Number(2.934802, digits=7),
         "with replacement": Number(3.039868, digits=7), "with replacement, bootstrapped first fit": Number(3.289868, digits=7)},
        lambda: {"accumulate": _limit("universality.variance_ratio", workflow="accumulate"),
                 "accumulate-subsample": _limit("universality.variance_ratio", workflow="accumulate-subsample"),
                 "with replacement": _limit("universality.variance_ratio", workflow="accumulate-subsample-replacement"),
                 "with replacement, bootstrapped first fit": _limit(
                     "universality.variance_ratio", workflow="accumulate-subsample-replacement", first_fit="bootstrap")},
    ),
    Erratum(
        10, "ridge.test_error", "Power-law spectra need a normalisation and a w0 direction",
        "a power-law check (eigenvalues j^-1.5, lam = 0.05) without the normalisation or the direction of w0 "
        "(docs/formulas.md: 0.06083 at n = 0).",
        "here eigenvalues are normalised to Tr Sigma = d and w0_norm is averaged over directions; the "
        "direction-averaged clean error differs by 0.0011, while the per-generation increment agrees.",
        {"spectrum": "power-law", "beta": 1.5, "d": 100, "T": 300, "T0": 250, "lam": 0.05, "w0_norm": 1,
         "sigma": 0.5, "sigma0": 1},
        {"n = 0, direction-averaged": Number(0.0619, digits=3), "stated for one w0": Number(0.06083, digits=4),
         "increment to n = 3": Number(1.0235, digits=5)},
        lambda: {"n = 0, direction-averaged": _ridge_power_law(0),
                 "increment to n = 3": _ridge_power_law(3) - _ridge_power_law(0), "stated for one w0": 0.06083},
    ),
)


ERRATA += (
    Erratum(
        11, "categorical.loss_probability", "Collapse is almost sure, not in expectation",
        "refitting by frequencies is unbiased, so the expected distribution stays at the truth (E p_t = p for "
        "every symbol and every t; a common reading of Shumailov et al.'s discrete chain).",
        "the expectation is preserved while the probability that a symbol is lost grows to 1 - p: each count "
        "is a Wright-Fisher chain absorbed at 0 or n, so collapse to one symbol is certain.",
        {"p": 0.01, "n": 100},
        {"E p_t at every t": Number(0.01), "P(lost) at t = 1": Number(0.366, digits=3),
         "P(lost) at t = 100": Number(0.976956, digits=6), "its limit": Number(0.99)},
        lambda: {"E p_t at every t": 0.01,
                 "P(lost) at t = 1": _ev("categorical.loss_probability", p=0.01, n=100, t=1),
                 "P(lost) at t = 100": _ev("categorical.loss_probability", p=0.01, n=100, t=100),
                 "its limit": _limit("categorical.loss_probability", p=0.01)},
    ),
)


def _ridge_power_law(n: int) -> float:
    return _ev("ridge.test_error", spectrum="power-law", beta=1.5, d=100, T=300, T0=250, lam=0.05, w0_norm=1,
               sigma=0.5, sigma0=1, n=n)


def for_claim(claim_id: str) -> list[Erratum]:
    return [e for e in ERRATA if e.claim == claim_id]


def markdown() -> str:
    """The README's errata section body."""
    return "\n".join(e.markdown() for e in ERRATA) + "\n"
