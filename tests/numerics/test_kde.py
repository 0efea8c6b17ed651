"""The KDE simulator (numerics.kde)."""

import numpy as np
import pytest

from numerics import kde


def test_kde_simulator_bad_input():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="bandwidth='fixed' needs h > 0"):
        kde.simulate(4, rng, sigma=1, n=5, generations=3, workflow="replace")
    with pytest.raises(ValueError, match="h must be a number"):
        kde.simulate(4, rng, sigma=1, n=5, generations=3, workflow="replace", h=[0.1, 0.2])
    with pytest.raises(ValueError, match="bandwidth must be"):
        kde.simulate(4, rng, sigma=1, n=5, generations=3, workflow="replace", bandwidth="auto")


def test_kde_sampling_is_a_point_plus_kernel_noise():
    """With a tiny bandwidth the sampled points are (almost) copies of the fitted ones."""
    out = kde.simulate(200, np.random.default_rng(3), sigma=1, n=10, generations=2, workflow="replace", h=1e-9)
    # A resample of n of the fitted points has, on average, (n-1)/n of their (MLE) variance; 200 trials
    # put the ratio within about 0.02 of 0.9 (one standard error), so 0.05 is 2.5 of them.
    ratio = out["variance"][:, 1].mean() / out["variance"][:, 0].mean()
    assert ratio == pytest.approx(0.9, abs=0.05)
