"""The verification table: every claim passes, planted errors are rejected, the tests are calibrated,
and the numbers are the same on every backend."""

import numpy as np
import pytest
import sympy as sp
from scipy import stats

from numerics import execute
from numerics.gaussian import MIN_TRIALS_VARIANCE
from numerics.verify import default_items, make_item, run
from theory import CLAIMS
from theory import symbols as S
from theory.expressions import parse


@pytest.mark.slow  # the whole collapse verify (about 90 s on 2 cores); the default tier holds every simulator to
# its claims at a small size through the family contract (tests/*/test_contract.py)
def test_default_verify_passes_for_every_simulated_claim():
    items, skipped = default_items()
    runner = execute.backend(jobs=2)  # the same bits as in this process (test_verify_gives_the_same_bits...)
    try:
        rows = run(items, seed=0, runner=runner)
    finally:
        runner.close()
    failed = [(r.claim, r.variant, r.generation, r.z) for r in rows if r.verdict != "pass"]
    assert not failed
    assert {r.kind for r in rows} == {"exact", "lower", "upper", "asymptotic"}


def _reject(claim_id, expr, variant=None, trials=20_000, **at):
    item = make_item(claim_id, variant, **at)
    names = {p.name: p.symbol for p in CLAIMS[claim_id].params if p.kind != "choice"}
    item.expression = parse(expr, {**names, "k": S.k}) if isinstance(expr, str) else expr
    return [r.verdict for r in run([item], trials=trials, seed=0)]


def test_planted_errors_are_rejected():
    # sum 1/i in place of sum 1/i^2 in the accumulate regression error
    assert "FAIL" in _reject("regression.accumulate.test_error", "sigma**2*d/(T-d-1)*harmonic(n)")
    # the survey's sum up to g in the first-order W2 risk, at small T
    assert "FAIL" in _reject("gaussian.w2_risk", "3*sigma**2*(g+1)/(2*T)", g=10)
    # the unbiased formula for an MLE chain
    assert "FAIL" in _reject("gaussian.w2_risk", CLAIMS["gaussian.w2_risk"].form(estimator="unbiased").expr, {"estimator": "mle"})
    # T0 - d in place of T0 - d - 1
    assert "FAIL" in _reject("ridge.test_error", "sigma**2*d/(T-d-1) + n*sigma0**2*d/(T0-d)")
    # log E det (Jensen) in place of E log det for the log-determinant drift
    assert "FAIL" in _reject("mvgaussian.log_det_ratio", "t*log(Product((n-k)/n, (k, 1, d)))")
    # ... while the right expressions pass
    assert set(_reject("ridge.test_error", "sigma**2*d/(T-d-1) + n*sigma0**2*d/(T0-d-1)")) == {"pass"}
    assert set(_reject("regression.accumulate.test_error", "sigma**2*d/(T-d-1)*harmonic(n, 2)")) == {"pass"}


CALIBRATION = [("regression.accumulate.test_error", {"n": 10}), ("gaussian.w2_risk", {"g": 10}), ("mvgaussian.trace_ratio", {"t": 5})]


@pytest.mark.parametrize("claim_id,at", CALIBRATION)
def test_a_correct_claim_is_rejected_at_the_nominal_rate(claim_id, at):
    """Over 150 seeds at alpha = 0.05 (one comparison per run, so no correction) the rejection count is
    Binomial(150, 0.05) if the test is calibrated: accept counts inside its central 99.8%."""
    seeds, alpha = 150, 0.05
    item = make_item(claim_id, None, **at)
    rejected = sum(run([item], trials=1500, seed=s)[0].p < alpha for s in range(seeds))
    lo, hi = stats.binom.ppf([0.001, 0.999], seeds, alpha)
    assert lo <= rejected <= hi, rejected


@pytest.mark.slow
@pytest.mark.parametrize("claim_id,variant,at,trials", [
    ("gaussian.w2_risk_var", {"estimator": "unbiased"}, {"g": 5}, MIN_TRIALS_VARIANCE),
    ("mvgaussian.mean_sq_error", {"workflow": "accumulate-subsample"}, {"t": 10}, 2000),
    ("ridge.test_error", None, {"n": 5}, 2000),
    ("gaussian.log_sigma2_drift", {"estimator": "mle"}, {"g": 10}, 2000),
])
def test_calibration_slow(claim_id, variant, at, trials):
    seeds, alpha = 400, 0.05
    item = make_item(claim_id, variant, **at)
    rejected = sum(run([item], trials=trials, seed=s)[0].p < alpha for s in range(seeds))
    lo, hi = stats.binom.ppf([0.001, 0.999], seeds, alpha)
    assert lo <= rejected <= hi, rejected


def test_variance_rows_below_the_calibrated_trial_count_are_skipped():
    rows = run([make_item("gaussian.w2_risk_var")], trials=2000, seed=0)
    assert {r.verdict for r in rows} == {"skip"}
    assert all("calibrated from" in r.note for r in rows)
    rows = run([make_item("gaussian.w2_risk_var")], trials=MIN_TRIALS_VARIANCE, seed=0)
    assert {r.verdict for r in rows} == {"pass"}


def test_ridge_study_rejects_a_shifted_claim():
    """The lam > 0 convergence study has power: the random-matrix test error plus 0.05 n is rejected."""
    item = make_item("ridge.test_error", {"spectrum": "isotropic"}, lam=0.1, sigma=0.5)
    assert item.sizes
    item.expression = CLAIMS["ridge.test_error"].form(spectrum="isotropic").closed_expr() + sp.Rational(1, 20) * S.n
    verdicts = [r.verdict for r in run([item], seed=0)]
    assert verdicts[0] == "pass" and verdicts[-1] == "FAIL"  # n = 0 unchanged; n = 3 shifted by 0.15


def test_every_ridge_spectrum_is_checked_exactly_at_lam_0_and_by_a_study_at_lam_01():
    items, _ = default_items(["ridge.test_error", "ridge.rho"])
    kinds = sorted((i.claim, i.variant["spectrum"], i.kind()) for i in items)
    assert kinds == [(claim, spectrum, kind) for claim in ("ridge.rho", "ridge.test_error")
                     for spectrum in ("given", "isotropic", "power-law") for kind in ("asymptotic", "exact")]


def test_convergence_study_rejects_a_wrong_limit():
    # The accumulate ratio sum 1/j^2 offered for the subsample workflow: rejected at every k.
    assert set(_reject("universality.variance_ratio", "harmonic(k, 2)", {"workflow": "accumulate-subsample"})) == {"FAIL"}
    assert set(_reject("universality.variance_ratio", "3*harmonic(k, 2) - 2", {"workflow": "accumulate-subsample"})) == {"pass"}


@pytest.mark.slow
def test_convergence_study_calibration():
    """Extrapolated limits of a correct claim: rejections at about the nominal 5% over seeds."""
    seeds, alpha = 200, 0.05
    item = make_item("universality.variance_ratio", {"workflow": "accumulate-subsample"}, k=3)
    rejected = sum(run([item], trials=4000, seed=s)[0].p < alpha for s in range(seeds))
    lo, hi = stats.binom.ppf([0.001, 0.999], seeds, alpha)
    assert lo <= rejected <= hi, rejected


def test_runs_are_reproducible_and_independent_of_what_else_is_checked():
    a = make_item("gaussian.w2_risk")
    b = make_item("gaussian.sigma_mean")
    alone = run([a], trials=3000, seed=5)
    together = run([a, b], trials=3000, seed=5)
    assert [r.estimate for r in alone] == [r.estimate for r in together[: len(alone)]]
    assert [r.estimate for r in run([a], trials=3000, seed=6)] != [r.estimate for r in alone]


def test_verify_gives_the_same_bits_on_local_processes():
    """Two blocks per simulation (4096 + 904 trials), run in this process and on 2 local processes."""
    items, _ = default_items(["gaussian.w2_risk", "kde.replace.*", "universality.variance_ratio"])
    serial = run(items, trials=5000, seed=1)
    runner = execute.Processes(2)
    try:
        parallel = run(items, trials=5000, seed=1, runner=runner)
    finally:
        runner.close()
    assert [(r.estimate, r.se) for r in serial] == [(r.estimate, r.se) for r in parallel]


def test_a_verify_cell_is_the_sweep_cell_with_the_same_settings():
    """verify and sweep key a cell's streams by its simulator and settings alone: the same numbers."""
    from numerics.sweep import Config, run_sweep

    rows = run([make_item("mvgaussian.trace_ratio", {"estimator": "mle", "workflow": "accumulate"})], trials=300, seed=4)
    config = Config.from_dict({"simulator": "gaussian", "generations": 10, "trials": 300, "seed": 4,
                               "metrics": ["trace_ratio"], "fixed": {"d": 5, "n": 20, "estimator": "mle"},
                               "grid": {"workflow": ["accumulate"]}})
    import tempfile

    table = run_sweep(config, tempfile.mkdtemp() + "/r.parquet", jobs=1, progress=False)
    sweep = table.set_index("generation").loc[[1, 2, 5, 10], "estimate"].tolist()
    assert sweep == [r.estimate for r in rows]


def test_bad_points_are_named():
    with pytest.raises(ValueError, match="T must be >= 2"):
        make_item("gaussian.w2_risk", None, T=1)
    with pytest.raises(ValueError, match="generations to simulate must be integers >= 1"):
        make_item("gaussian.w2_risk", None, g=0)
    with pytest.raises(ValueError, match="is not simulated"):
        make_item("ridge.kappa")
