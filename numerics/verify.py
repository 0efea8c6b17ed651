"""Every claim against a simulation of its procedure: the checks behind `collapse verify` and `check`.

A :class:`Check` pairs a claim (at one parameter point and several generations) with a
:class:`Simulation` of the procedure it describes and the per-trial statistic that estimates its
quantity. Checks that read the same simulation share one run. Each simulation's randomness is keyed by
its name and settings only (numerics.rng), so selecting fewer claims does not change any number.
"""

from __future__ import annotations

import fnmatch
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from theory import CLAIMS

from . import gaussian, kde, logistic, regression
from .rng import blocks, seed_sequence, stable_key
from .stats import ALPHA, Moments, RatioMoments, Row, extrapolate, finish

#: Default number of independent trials per simulation.
DEFAULT_TRIALS = 20_000

#: Fewest trials at which a variance comparison (sample variance, delta-method standard error) is
#: calibrated. Measured on gaussian.w2_risk_var (unbiased, T=20, g=5; 600 and 300 seeds, alpha=0.05):
#: 11.0% rejections at 2,000 trials (the heavy-tailed W2^2 skews z to the left), 4.7% at 20,000.
MIN_TRIALS_VARIANCE = 20_000

#: The anisotropic covariance of FORMULAS.md's regression checks (d = 5).
ANISOTROPIC = (3.0, 1.5, 1.0, 0.5, 0.1)


@dataclass(frozen=True)
class Simulation:
    name: str
    fn: Callable[..., dict]
    kwargs: tuple  # sorted (name, value) pairs
    share: float = 1.0  # the fraction of --trials this (costly) simulation runs

    def key(self) -> tuple[int, ...]:
        return stable_key(self.name, self.kwargs)

    def run(self, size: int, rng: np.random.Generator) -> dict:
        return self.fn(size, rng, **dict(self.kwargs))


def _sim(name: str, fn, share: float = 1.0, **kwargs) -> Simulation:
    return Simulation(name, fn, tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in kwargs.items())), share)


@dataclass
class Check:
    claim: str
    variant: dict
    point: dict  # the claim's numeric parameters other than the generation
    generation: str | None
    generations: tuple  # generation values (None: the claim has no generation)
    columns: tuple  # the simulator column read for each generation
    sim: Simulation
    extract: Callable[[dict], np.ndarray]
    statistic: str = "mean"
    kind: str = "exact"  # exact, lower (the quantity is at least the claim), upper (at most)
    note: str = ""
    expression: object = None  # a user's expression in place of the claim (collapse check)
    #: Convergence study (asymptotic claims): the simulation is run at each size of ``sizes`` (the
    #: simulator argument ``size_arg``), the statistic is the ratio of column k to column 0, and the
    #: ratios are extrapolated to size -> oo as a + b / size.
    sizes: tuple = ()
    size_arg: str = ""
    #: For a discrepancy study (statistic "discrepancy"): the simulator arguments and the claim's
    #: parameters at each size (several scale together, e.g. d, T and T0 in proportion).
    size_kwargs: Callable[[int], dict] | None = None
    size_point: Callable[[int], dict] | None = None

    def at_size(self, size: int) -> Simulation:
        kwargs = dict(self.sim.kwargs)
        kwargs.update(self.size_kwargs(size) if self.size_kwargs else {self.size_arg: size})
        return _sim(self.sim.name, self.sim.fn, share=self.sim.share, **kwargs)

    def theory(self, gen, extra: dict | None = None) -> float:
        values = {**self.point, **self.variant, **(extra or {})}
        if self.generation is not None:
            values[self.generation] = gen
        if self.expression is not None:
            return _evaluate_expression(self.expression, self.claim, values)
        return CLAIMS[self.claim].evaluate(**values)


def _evaluate_expression(expr, claim_id: str, values: dict) -> float:
    """A user's expression at a point: the claim's validated (and prepared) values substituted."""
    import mpmath
    import sympy as sp

    claim = CLAIMS[claim_id]
    point = claim.validate(**values)
    subs = {}
    for p in claim.params:
        v = point.get(p.name)
        if p.kind != "choice" and v is not None and not isinstance(v, (list, tuple)):
            subs[p.symbol] = sp.Integer(v) if isinstance(v, int) else sp.Float(mpmath.nstr(v, 40), 40)
    value = expr.subs(subs).doit()
    if value.free_symbols:
        raise ValueError(f"the expression still depends on {', '.join(sorted(s.name for s in value.free_symbols))} at this point")
    return float(sp.N(value, 30))


# -- check factories, one per claim family ------------------------------------------------------


def _gens(overrides: dict, name: str, default: tuple) -> tuple:
    if name in overrides:
        g = overrides.pop(name)
        return (g,) if not isinstance(g, (list, tuple)) else tuple(g)
    return default


def _scalar(name: str, value):
    if isinstance(value, (list, tuple)):
        raise ValueError(f"the simulator takes a single {name}, not a schedule")
    return value


GAUSSIAN_STATS = {
    "sigma2_mean": ("trace", "mean"),
    "sigma_mean": ("sigma", "mean"),
    "mean_sq_error": ("mean_sq_error", "mean"),
    "marginal_var": ("marginal_var", "mean"),
    "w2_risk": ("w2", "mean"),
    "w2_risk_var": ("w2", "variance"),
    "log_sigma2_drift": ("log_var", "mean"),
}


def _gaussian(claim_id: str, variant: dict, overrides: dict) -> Check:
    name = claim_id.split(".", 1)[1]
    gens = _gens(overrides, "g", (1, 2, 5, 10))
    point = {"sigma": 1.0, "T": 20, **overrides}
    if name == "log_sigma2_drift":
        point.pop("sigma")
    T = _scalar("T", point["T"])
    if min(gens) < 1:
        raise ValueError("generations to simulate must be >= 1 (g = 0 is the truth itself)")
    sim = _sim("gaussian", gaussian.simulate, d=1, n=T, generations=max(gens), estimator=variant["estimator"],
               workflow="replace", sigma=point.get("sigma", 1.0))
    key, statistic = GAUSSIAN_STATS[name]
    return Check(claim_id, variant, point, "g", gens, tuple(g - 1 for g in gens), sim, lambda out, k=key: out[k], statistic)


def _mvgaussian(claim_id: str, variant: dict, overrides: dict) -> Check:
    name = claim_id.split(".", 1)[1]
    gens = _gens(overrides, "t", (1, 2, 5, 10))
    point = {"sigma2": 1.0, "d": 5, "n": 20, **overrides}
    d, s2 = point["d"], point["sigma2"]
    sim = _sim("gaussian", gaussian.simulate, d=d, n=point["n"], generations=max(gens), estimator=variant["estimator"],
               workflow=variant["workflow"], sigma=float(np.sqrt(s2)))
    extract, kind = {
        "mean_sq_error": (lambda out: out["mean_sq_error"], "exact"),
        "trace_ratio": (lambda out: out["trace"] / (d * s2), "exact"),
        "det_ratio": (lambda out: out["det"] / s2**d, "exact"),
        "log_det_ratio": (lambda out: out["log_det"] - d * np.log(s2), "exact"),
        "w2_risk_lower_bound": (lambda out: out["w2"], "lower"),
    }[name]
    return Check(claim_id, variant, point, "t", gens, tuple(g - 1 for g in gens), sim, extract, kind=kind)


def _regression(claim_id: str, variant: dict, overrides: dict) -> Check:
    point = {"sigma": 1.0, "d": 5, "T": 20, **overrides}
    d = point["d"]
    eig = ANISOTROPIC if d == 5 else tuple(np.linspace(3.0, 0.1, d))
    note = f"anisotropic Sigma, eigenvalues {', '.join(f'{e:g}' for e in eig)}"
    if claim_id == "regression.accumulate.bound":
        fits = point.pop("n", 50)
        sim = _sim("regression", regression.simulate_fixed_design, d=d, T=point["T"], fits=fits, sigma=point["sigma"],
                   workflow="accumulate", eigenvalues=eig)
        return Check(claim_id, variant, point, None, (None,), (fits - 1,), sim, lambda out: out["test_error"],
                     kind="upper", note=f"accumulate error after {fits} fits; " + note)
    gens = _gens(point, "n", (1, 2, 5, 10))
    workflow = claim_id.split(".")[1]
    sim = _sim("regression", regression.simulate_fixed_design, d=d, T=point["T"], fits=max(gens), sigma=point["sigma"],
               workflow=workflow, eigenvalues=eig)
    return Check(claim_id, variant, point, "n", gens, tuple(g - 1 for g in gens), sim, lambda out: out["test_error"], note=note)


def _ridge(claim_id: str, variant: dict, overrides: dict) -> Check:
    if claim_id != "ridge.test_error":
        raise ValueError(f"{claim_id} has no simulator yet")
    spectrum = variant["spectrum"]
    point = {"T": 20, "T0": 20, "lam": 0.0, "sigma": 1.0, "sigma0": 1.0, "w0_norm": 1.0, **overrides}
    if spectrum == "given":
        point.setdefault("eigenvalues", list(ANISOTROPIC))
    else:
        point.setdefault("d", 5)
        if spectrum == "power-law":
            point.setdefault("beta", 1.5)
    if point["lam"] != 0:
        return _ridge_study(claim_id, variant, point)
    gens = _gens(point, "n", (0, 1, 5, 10))
    if spectrum == "isotropic":
        eig = [1.0] * point["d"]
    else:  # the claim's own spectrum: the given eigenvalues, or the normalised power law
        eig = [float(e) for e in CLAIMS[claim_id].validate(**point, **variant, n=0)["eigenvalues"]]
    sim = _sim("ridge", regression.simulate_dohmatob, T=point["T"], T0=point["T0"], lam=point["lam"], sigma=point["sigma"],
               sigma0=point["sigma0"], generations=max(gens), eigenvalues=eig)
    return Check(claim_id, variant, point, "n", gens, tuple(gens), sim, lambda out: out["test_error"],
                 note=f"exact at lam = 0 (any covariance); {spectrum} spectrum")


#: The proportional ladder of the ridge study: d, with T = 3d and T0 = 2.5d (FORMULAS.md's ratios).
RIDGE_LADDER = (10, 20, 40)


def _ridge_study(claim_id: str, variant: dict, point: dict) -> Check:
    if variant["spectrum"] != "isotropic":
        raise ValueError("the lam > 0 convergence study is implemented for the isotropic spectrum only")
    gens = _gens(point, "n", (0, 1, 3))
    sizes = tuple(point.pop("sizes", RIDGE_LADDER))
    point.pop("d", None), point.pop("T", None), point.pop("T0", None)
    base = {k: v for k, v in point.items() if k in ("lam", "sigma", "sigma0")}
    sim = _sim("ridge", regression.simulate_dohmatob, share=0.25, generations=max(gens), **base,
               **{"d": sizes[0], "T": 3 * sizes[0], "T0": int(2.5 * sizes[0])})
    return Check(claim_id, variant, point, "n", gens, tuple(gens), sim, lambda out: out["test_error"],
                 statistic="discrepancy", kind="asymptotic", sizes=sizes,
                 size_kwargs=lambda d: {"d": d, "T": 3 * d, "T0": int(2.5 * d)},
                 size_point=lambda d: {"d": d, "T": 3 * d, "T0": int(2.5 * d)},
                 note=f"random-matrix equivalent: simulation minus theory at d = {', '.join(map(str, sizes))} "
                      "(T = 3d, T0 = 2.5d), extrapolated to d -> oo as a + b/d; a quarter of the trials")


def _overparam(claim_id: str, variant: dict, overrides: dict) -> Check:
    point = {"w0_norm": 1.0, "T0": 30, "d": 50, **overrides}
    gens = _gens(point, "n", (1, 2, 5))
    sim = _sim("min-norm", regression.simulate_min_norm, d=point["d"], T0=point["T0"], generations=max(gens),
               w0_norm=point["w0_norm"])
    return Check(claim_id, variant, point, "n", gens, tuple(g - 1 for g in gens), sim, lambda out: out["error"])


def _kde(claim_id: str, variant: dict, overrides: dict) -> Check:
    point = {"sigma": 1.0, "n": 50, **overrides}
    if variant["bandwidth"] == "fixed":
        point.setdefault("h", 0.3)
    gens = _gens(point, "t", (1, 2, 5, 30))
    sim = _sim("kde", kde.simulate, sigma=point["sigma"], n=point["n"], generations=max(gens),
               workflow=claim_id.split(".")[1], bandwidth=variant["bandwidth"], h=point.get("h"))
    return Check(claim_id, variant, point, "t", gens, tuple(g - 1 for g in gens), sim, lambda out: out["variance"])


#: The ladder of sample sizes of the convergence studies.
LADDER = (50, 100, 200, 400)
LOGISTIC_LADDER = (200, 400, 800)


def _universality(claim_id: str, variant: dict, overrides: dict) -> Check:
    if claim_id not in ("universality.variance_ratio", "universality.logistic"):
        raise ValueError(f"{claim_id} has no simulator yet: {why_not(claim_id)}")
    if variant["first_fit"] != "real":
        raise ValueError("first_fit='bootstrap' has no simulator yet (the pool does not bootstrap the real data)")
    point = dict(overrides)
    gens = _gens(point, "k", (2, 3) if claim_id == "universality.logistic" else (2, 3, 5))
    if min(gens) < 2:
        raise ValueError("the variance ratio is 1 at k = 1 by definition: simulate k >= 2")
    if claim_id == "universality.logistic":
        sizes = tuple(point.pop("sizes", LOGISTIC_LADDER))
        sim = _sim("logistic", logistic.simulate, share=0.25, n=sizes[0], generations=max(gens),
                   workflow=variant["workflow"])
        return Check(claim_id, variant, point, "k", gens, tuple(g - 1 for g in gens), sim, lambda out: out["sq_error"],
                     statistic="ratio", kind="asymptotic", sizes=sizes, size_arg="n",
                     note=f"logistic MLE (Newton), d = 3, theta0 = {logistic.THETA0}, a quarter of the trials; "
                          f"n = {', '.join(map(str, sizes))} extrapolated as a + b/n")
    sizes = tuple(point.pop("sizes", LADDER))
    sim = _sim("gaussian", gaussian.simulate, d=1, n=sizes[0], generations=max(gens), estimator="mle",
               workflow=variant["workflow"], sigma=1.0)
    return Check(claim_id, variant, point, "k", gens, tuple(g - 1 for g in gens), sim,
                 lambda out: out["mean_sq_error"], statistic="ratio", kind="asymptotic", sizes=sizes, size_arg="n",
                 note=f"1-D Gaussian, mean and variance by maximum likelihood; n = {', '.join(map(str, sizes))} "
                      "extrapolated to n -> oo as a + b/n")


def _ridge_family(claim_id: str, variant: dict, overrides: dict) -> Check:
    if claim_id == "ridge.overparam_noise_free":
        return _overparam(claim_id, variant, overrides)
    return _ridge(claim_id, variant, overrides)


FACTORIES = {"gaussian": _gaussian, "mvgaussian": _mvgaussian, "regression": _regression, "ridge": _ridge_family,
             "kde": _kde, "universality": _universality}

#: Claims that have no simulator yet, and why (shown by `collapse verify`).
NOT_SIMULATED = {
    "universality.gaussian_process": "cross-covariances of the limit process: not simulated yet",
    "universality.accumulate_fraction": "synthetic batches of alpha n: not simulated yet",
    "ridge.df": "a deterministic quantity of the spectrum (nothing random to simulate)",
    "ridge.kappa": "a fixed point of the spectrum (nothing random to simulate)",
    "ridge.bias": "checked through ridge.test_error (n = 0 is bias + variance), by its lam > 0 convergence study",
    "ridge.variance": "checked through ridge.test_error (n = 0 is bias + variance), by its lam > 0 convergence study",
    "ridge.rho": "checked through ridge.test_error (its growth in n), exactly at lam = 0 and by the lam > 0 study",
    "ridge.rho_lowdim": "an approximation: no simulation can confirm it",
}


def make_check(claim_id: str, variant: dict | None = None, **overrides) -> Check:
    """The check of ``claim_id`` for a variant (defaults filled in) at the default point with overrides."""
    claim = CLAIMS[claim_id]
    variant = claim._choices(variant or {})
    family = claim_id.split(".")[0]
    if family not in FACTORIES:
        raise ValueError(f"{claim_id} has no simulator yet: {why_not(claim_id)}")
    check = FACTORIES[family](claim_id, variant, dict(overrides))
    at = {check.generation: check.generations[0]} if check.generation else {}
    for size in (check.sizes if check.size_point else (None,)):
        claim.validate(**check.point, **check.variant, **at, **(check.size_point(size) if size is not None else {}))
    return check


def why_not(claim_id: str) -> str:
    for pattern, why in NOT_SIMULATED.items():
        if fnmatch.fnmatch(claim_id, pattern):
            return why
    return ""


def default_checks(patterns: Iterable[str] = ()) -> tuple[list[Check], dict[str, str]]:
    """Every simulated claim and variant matching the patterns; and the matching claims skipped, with why."""
    patterns = list(patterns) or ["*"]
    checks, skipped = [], {}
    for cid in CLAIMS:
        if not any(fnmatch.fnmatch(cid, p) or cid.startswith(p.rstrip(".") + ".") or cid == p for p in patterns):
            continue
        if why_not(cid):
            skipped[cid] = why_not(cid)
            continue
        for variant in CLAIMS[cid].variants():
            try:
                checks.append(make_check(cid, variant))
                if cid == "ridge.test_error" and variant["spectrum"] == "isotropic":
                    checks.append(make_check(cid, variant, lam=0.1, sigma=0.5))  # the random-matrix regime
            except ValueError as e:  # a variant without a simulator
                skipped[f"{cid} ({', '.join(variant.values())})"] = str(e)
    return checks, skipped


# -- running -------------------------------------------------------------------------------------


def _trials(trials: int, sim: Simulation) -> int:
    return max(2, int(trials * sim.share))


def run(checks: list[Check], trials: int = DEFAULT_TRIALS, seed: int = 0, progress: bool | None = None,
        alpha: float = ALPHA) -> list[Row]:
    """Simulate every check's procedure with ``trials`` trials and return the tested, corrected table."""
    if int(trials) != trials or trials < 2:
        raise ValueError(f"trials must be an integer >= 2, got {trials!r}")
    ss = seed_sequence(seed)
    progress = sys.stderr.isatty() if progress is None else progress
    # Every (simulation, consumer) pair; checks reading the same simulation share its run.
    tasks: dict[Simulation, list[tuple[Check, int | None]]] = {}
    for c in checks:
        if c.sizes:
            for size in c.sizes:
                tasks.setdefault(c.at_size(size), []).append((c, size))
        else:
            tasks.setdefault(c.sim, []).append((c, None))
    acc: dict[tuple[int, int | None], Moments | RatioMoments] = {}
    start = time.monotonic()
    for idx, (sim, consumers) in enumerate(tasks.items(), 1):
        for block in blocks(_trials(trials, sim), ss, key=sim.key()):
            out = sim.run(block.size, block.rng)
            for c, size in consumers:
                values = c.extract(out)
                if size is None or c.statistic == "discrepancy":
                    acc.setdefault((id(c), size), Moments()).add(values[:, list(c.columns)])
                else:
                    acc.setdefault((id(c), size), RatioMoments()).add(values[:, list(c.columns)], values[:, 0])
        if progress:
            print(f"\r[{idx}/{len(tasks)}] {sim.name} simulations done ({time.monotonic() - start:.0f} s)",
                  end="", file=sys.stderr, flush=True)
    if progress:
        print(file=sys.stderr)
    rows = []
    for c in checks:
        alternative = {"exact": "two-sided", "asymptotic": "two-sided", "lower": "greater", "upper": "less"}[c.kind]
        if c.statistic == "discrepancy":
            stats_ = [acc[(id(c), size)].mean() for size in c.sizes]
            for i, gen in enumerate(c.generations):
                theory = [c.theory(gen, c.size_point(size)) for size in c.sizes]
                gaps = [m[0][i] - th for m, th in zip(stats_, theory)]
                fit = extrapolate(c.sizes, gaps, [m[1][i] for m in stats_])
                rows.append(Row(claim=c.claim, variant=dict(c.variant), point=dict(c.point), generation=gen, kind=c.kind,
                                statistic="discrepancy", theory=0.0, estimate=fit["a"], se=fit["se_a"],
                                trials=_trials(trials, c.sim), seed=seed, alternative=alternative,
                                note=f"{c.note}; simulation - theory {', '.join(f'{g:+.4f}' for g in gaps)}; "
                                     f"chi2 {fit['chi2']:.2f} on {fit['dof']} dof",
                                extra={"sizes": list(c.sizes), "theory": theory, "gaps": [float(g) for g in gaps]}))
            continue
        if c.sizes:
            ratios = [acc[(id(c), size)].ratio() for size in c.sizes]
            for i, gen in enumerate(c.generations):
                fit = extrapolate(c.sizes, [r[0][i] for r in ratios], [r[1][i] for r in ratios])
                at_sizes = ", ".join(f"{r[0][i]:.4f}" for r in ratios)
                rows.append(Row(claim=c.claim, variant=dict(c.variant), point=dict(c.point), generation=gen, kind=c.kind,
                                statistic="ratio", theory=c.theory(gen), estimate=fit["a"], se=fit["se_a"],
                                trials=_trials(trials, c.sim),
                                seed=seed, alternative=alternative,
                                note=f"{c.note}; ratios {at_sizes}; chi2 {fit['chi2']:.2f} on {fit['dof']} dof",
                                extra={"sizes": list(c.sizes), "ratios": [float(r[0][i]) for r in ratios],
                                       "ratio_se": [float(r[1][i]) for r in ratios], "slope": fit["b"]}))
            continue
        est, se = getattr(acc[(id(c), None)], c.statistic)()
        for i, gen in enumerate(c.generations):
            row = Row(claim=c.claim, variant=dict(c.variant), point=dict(c.point), generation=gen, kind=c.kind,
                      statistic=c.statistic, theory=c.theory(gen), estimate=float(est[i]), se=float(se[i]),
                      trials=_trials(trials, c.sim), seed=seed, alternative=alternative, note=c.note)
            if c.statistic == "variance" and trials < MIN_TRIALS_VARIANCE:
                row.verdict = "skip"
                row.note = f"variance comparisons are calibrated from {MIN_TRIALS_VARIANCE} trials on"
            rows.append(row)
    return finish(rows, alpha)
