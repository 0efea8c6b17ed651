"""The regression simulators (numerics.regression): bad input."""

import numpy as np
import pytest

from numerics import regression


def test_regression_simulator_bad_input():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="T must be at least d \\+ 2"):
        regression.simulate_fixed_design(4, rng, d=5, T=6, generations=2, workflow="replace")
    with pytest.raises(ValueError, match="Sigma must be positive definite"):
        regression.simulate_fixed_design(4, rng, d=2, T=10, generations=2, workflow="replace", eigenvalues=[1.0, -1.0])
    with pytest.raises(ValueError, match="eigenvalues must have d = 3 entries"):
        regression.simulate_fixed_design(4, rng, d=3, T=10, generations=2, workflow="replace", eigenvalues=[1.0, 2.0])
    with pytest.raises(ValueError, match="T0 must be at least d \\+ 2"):
        regression.simulate_dohmatob(4, rng, T=20, T0=6, lam=0, sigma=1, sigma0=1, generations=2, d=5)
    with pytest.raises(ValueError, match="T0 must be less than d"):
        regression.simulate_min_norm(4, rng, d=5, T0=5, generations=2)
    with pytest.raises(ValueError, match="lam must be a finite number"):
        regression.simulate_dohmatob(4, rng, T=20, T0=20, lam=float("nan"), sigma=1, sigma0=1, generations=2, d=5)


def test_dohmatob_measures_the_clean_ridge_first():
    out = regression.simulate_dohmatob(7, np.random.default_rng(0), T=20, T0=20, lam=0.1, sigma=1, sigma0=1,
                                       generations=3, d=5)
    assert out["test_error"].shape == (7, 4)
    zero = regression.simulate_dohmatob(7, np.random.default_rng(0), T=20, T0=20, lam=0.1, sigma=1, sigma0=1,
                                        generations=0, d=5)
    np.testing.assert_array_equal(zero["test_error"][:, 0], out["test_error"][:, 0])
