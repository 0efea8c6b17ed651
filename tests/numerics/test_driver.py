"""The one generational driver (numerics.driver): order of the loop, checkpoints and resume."""

import copy

import numpy as np
import pytest

from numerics import driver, gaussian, regression
from numerics.driver import Family
from numerics.workflows import Workflow


class Counting(Family):
    """A family that logs what the driver asks of it: a 'model' is the mean of its training set."""

    def __init__(self):
        self.log = []

    def real(self, trials, rng):
        self.log.append("real")
        return rng.standard_normal((trials, 5, 1))

    def fit(self, train, rng, previous):
        self.log.append(f"fit{train.shape[1]}")
        return train.mean(axis=1)

    def measure(self, model, rng):
        self.log.append("measure")
        return {"mean": model[:, 0]}

    def sample(self, model, size, rng):
        self.log.append(f"sample{size}")
        return model[:, None, :] + rng.standard_normal((len(model), size, 1))


def test_the_loop_fits_measures_samples_in_order():
    fam = Counting()
    out = driver.run(fam, Workflow("accumulate", n_real=5, synthetic=2), 3, 4, np.random.default_rng(0))
    assert fam.log == ["real", "fit5", "measure", "sample2", "fit7", "measure", "sample2", "fit9", "measure"]
    assert out["mean"].shape == (4, 3)


def test_a_run_resumes_from_any_checkpoint_to_the_same_numbers():
    """Save the chain and the generator after each generation; resume from each; same numbers."""
    flow = Workflow("accumulate-subsample", n_real=5)
    whole = driver.run(Counting(), flow, 4, 6, np.random.default_rng(1))
    saved = []
    rng = np.random.default_rng(1)
    driver.run(Counting(), flow, 4, 6, rng, after=lambda c: saved.append((copy.deepcopy(c), copy.deepcopy(rng))))
    for chain, state in saved[:-1]:
        resumed = driver.run(Counting(), flow, 4, 6, state, chain=chain)
        np.testing.assert_array_equal(resumed["mean"], whole["mean"])


def test_bad_sizes_are_named():
    with pytest.raises(ValueError, match="generations must be an integer >= 1"):
        driver.run(Counting(), Workflow("replace", n_real=5), 0, 2, np.random.default_rng(0))
    with pytest.raises(ValueError, match="trials must be an integer >= 1"):
        driver.run(Counting(), Workflow("replace", n_real=5), 2, 0, np.random.default_rng(0))


def test_gaussian_accumulate_shortcut_equals_refitting_on_the_stacked_pool():
    """The moment pool (Chan's merge) against the plain pool of points: the same numbers (same draws)."""
    kw = dict(d=3, n=6, estimator="unbiased", sigma=1.0)
    fast = gaussian.simulate(50, np.random.default_rng(9), generations=4, workflow="accumulate", **kw)

    class Plain(gaussian.GaussianFamily):
        def pool(self, real, workflow, generations):  # the stored points, not their moments
            return Family.pool(self, real, workflow, generations)

    plain = driver.run(Plain(3, 6, "unbiased", 1.0), Workflow("accumulate", n_real=6), 4, 50, np.random.default_rng(9))
    for q in ("mean_sq_error", "trace", "det", "w2"):
        np.testing.assert_allclose(fast[q], plain[q], rtol=1e-10)


@pytest.mark.parametrize("workflow", ["replace", "accumulate"])
def test_regression_shortcuts_equal_the_plain_loop(workflow):
    """X^+ once per trial and the running label sum against OLS on the stacked rows (same draws)."""
    kw = dict(d=3, T=10, generations=6, sigma=0.5, workflow=workflow)
    fast = regression.simulate_fixed_design(40, np.random.default_rng(2), **kw)
    plain = regression.simulate_fixed_design(40, np.random.default_rng(2), shortcut=False, **kw)
    np.testing.assert_allclose(fast["test_error"], plain["test_error"], rtol=1e-9)
