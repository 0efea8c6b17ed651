"""The Gaussian simulator (numerics.gaussian): bad input, samplers (the sufficient-statistics shortcut has the
law of the points), what it records."""

import numpy as np
import pytest

from numerics import gaussian
from numerics.stats import Summary
from numerics.testing import DisagreementError, assert_agrees


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(d=0, n=5, generations=2, estimator="mle", workflow="replace"), "d must be >= 1"),
        (dict(d=1, n=1, generations=2, estimator="mle", workflow="replace"), "n must be >= 2"),
        (dict(d=1, n=5, generations=2, estimator="ddof2", workflow="replace"), "estimator must be"),
        (dict(d=1, n=5, generations=2, estimator="mle", workflow="nope"), "workflow must be one of"),
        (dict(d=1, n=5, generations=2, estimator="mle", workflow="replace", sigma=float("nan")), "sigma must be a finite number"),
        (dict(d=1, n=5, generations=2, estimator="mle", workflow="real-fraction"), "real_fraction must be in"),
        (dict(d=1, n=5, generations=2, estimator="mle", workflow="accumulate", sampler="sufficient", synthetic=3),
         "sampler='sufficient' draws batches of n points"),
    ],
)
def test_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        gaussian.simulate(4, np.random.default_rng(0), **kwargs)


def test_singular_fits_have_determinant_zero():
    """n <= d: every fit lies in the affine hull of the n real points, so det = 0 and log det = -oo."""
    out = gaussian.simulate(5, np.random.default_rng(1), d=5, n=4, generations=3, estimator="mle",
                            workflow="accumulate-subsample")
    assert np.all(out["det"] == 0) and np.all(out["log_det"] == -np.inf)


def test_outputs_can_be_limited():
    out = gaussian.simulate(5, np.random.default_rng(1), d=2, n=6, generations=2, estimator="mle", workflow="replace",
                            outputs=["det"])
    assert set(out) == {"mean_sq_error", "trace", "marginal_var", "det"}
    with pytest.raises(ValueError, match="outputs must be among"):
        gaussian.simulate(5, np.random.default_rng(1), d=2, n=6, generations=2, estimator="mle", workflow="replace",
                          outputs=["volume"])


# -- the exact shortcut sampler='sufficient' against the points ----------------------------------

SMALL = dict(d=3, n=10, generations=4, estimator="mle", sigma=1.0)
LAW_TRIALS = 20_000
LAW_ALPHA = 1e-3  # family-wise, over every comparison of one call (Bonferroni within assert_agrees)


def _two_paths(seed, workflow, points_kw=None):
    """The shortcut and the points path at SMALL on independent streams (two children of one seed)."""
    rng_a, rng_b = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    kw = dict(SMALL, workflow=workflow, outputs=["log_det"])
    fast = gaussian.simulate(LAW_TRIALS, rng_a, sampler="sufficient", **kw)
    slow = gaussian.simulate(LAW_TRIALS, rng_b, sampler="points", **{**kw, **(points_kw or {})})
    return fast, slow


def _assert_same_law(a, b, seed):
    """Two-sample tests, per generation, of the mean AND the variance of mean_sq_error, trace and log_det.

    Each difference of two estimates is divided by sqrt(se_a^2 + se_b^2): the standard errors of a mean
    over independent trials (sd / sqrt(R)) and of a variance (delta method, sqrt((m4 - m2^2) / R), which
    needs finite fourth moments: these quantities have all moments at d = 3, n = 10). With 20,000 trials
    per path the z of each is N(0, 1) to within the CLT's error, so under the same law the 3 x 2 x 4 = 24
    comparisons all pass at family-wise alpha 1e-3 (|z| < 4.3 each) but with probability 1e-3.
    """
    diff, se = [], []
    for q in ("mean_sq_error", "trace", "log_det"):
        assert a[q].shape == b[q].shape == (LAW_TRIALS, SMALL["generations"])
        sa, sb = Summary.of(a[q]), Summary.of(b[q])
        for stat in ("mean", "variance"):
            (ea, se_a), (eb, se_b) = sa.estimate(stat), sb.estimate(stat)
            diff.append(ea - eb)
            se.append(np.hypot(se_a, se_b))
    assert_agrees(np.array(diff), np.array(se), 0.0, alpha=LAW_ALPHA, seed=seed,
                  what="sufficient vs points (rows: mean, variance of mean_sq_error, trace, log_det)")


@pytest.mark.parametrize("workflow", gaussian.SUFFICIENT_WORKFLOWS)
def test_the_sufficient_shortcut_has_the_law_of_the_points(workflow, collapse_seed):
    """Mean and scatter drawn from their laws (Wishart, Bartlett) against fits to drawn points."""
    _assert_same_law(*_two_paths(collapse_seed, workflow), collapse_seed)


@pytest.mark.parametrize("workflow", gaussian.SUFFICIENT_WORKFLOWS)
@pytest.mark.parametrize("planted", [dict(n=11), dict(sigma=1.05)], ids=["n+1", "sigma*1.05"])
def test_the_law_comparison_rejects_a_wrong_shortcut(workflow, planted, collapse_seed):
    """The same test, against points drawn at a planted difference, must fail. Its power: at generation 1
    E||mu||^2 = d sigma^2 / n is 0.300 at n = 10 and 0.273 at n = 11, with sd sqrt(2d) sigma^2 / n = 0.245,
    so the difference is 0.027 / (0.245 sqrt(2 / 20,000)) = 11 standard errors; sigma * 1.05 moves E Tr
    Sigma_1 = d sigma^2 (n - 1) / n from 2.70 to 2.98, sd 0.73: 38 standard errors. Both far beyond 4.3."""
    with pytest.raises(DisagreementError, match="sufficient vs points"):
        _assert_same_law(*_two_paths(collapse_seed, workflow, planted), collapse_seed)
