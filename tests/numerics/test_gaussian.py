"""The Gaussian simulator (numerics.gaussian): bad input, samplers, what it records."""

import numpy as np
import pytest

from numerics import gaussian


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(d=0, n=5, generations=2, estimator="mle", workflow="replace"), "d must be an integer >= 1"),
        (dict(d=1, n=1, generations=2, estimator="mle", workflow="replace"), "n must be an integer >= 2"),
        (dict(d=1, n=5, generations=2, estimator="ddof2", workflow="replace"), "estimator must be"),
        (dict(d=1, n=5, generations=2, estimator="mle", workflow="nope"), "workflow must be one of"),
        (dict(d=1, n=5, generations=2, estimator="mle", workflow="replace", sigma=float("nan")), "sigma must be positive"),
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


def test_quantities_can_be_limited():
    out = gaussian.simulate(5, np.random.default_rng(1), d=2, n=6, generations=2, estimator="mle", workflow="replace",
                            quantities=["det"])
    assert set(out) == {"mean_sq_error", "trace", "marginal_var", "det"}
    with pytest.raises(ValueError, match="quantities must be among"):
        gaussian.simulate(5, np.random.default_rng(1), d=2, n=6, generations=2, estimator="mle", workflow="replace",
                          quantities=["volume"])
