"""The one generational driver (numerics.driver): order of the loop, checkpoints and resume."""

import numpy as np
import pytest

from numerics import driver, gaussian, regression
from numerics.driver import Family
from numerics.workflows import Workflow


class Counting(Family):
    """A family that logs what the driver asks of it: a 'model' is the mean of its training set. The log is the
    test's, not the run's (a family keeps no state of a run: that is the chain's)."""

    saved_types = ()

    def __init__(self, log=None):
        self.log = [] if log is None else log

    def real(self, chain, rng):
        self.log.append("real")
        return rng.standard_normal((chain.trials, 5, 1))

    def fit(self, train, chain, rng):
        self.log.append(f"fit{train.shape[1]}")
        chain.state["fits"] = chain.state.get("fits", 0) + 1
        return train.mean(axis=1)

    def measure(self, model, chain, rng, samples=None):
        self.log.append("measure")
        return {"mean": model[:, 0], "fits": np.full(len(model), float(chain.state["fits"]))}

    def sample(self, model, size, chain, rng):
        self.log.append(f"sample{size}")
        return model[:, None, :] + rng.standard_normal((len(model), size, 1))


def test_the_loop_fits_measures_samples_in_order():
    fam = Counting()
    out = driver.run(fam, Workflow("accumulate", n_real=5, synthetic=2), 3, 4, np.random.default_rng(0))
    probe = ["real", "fit5", "measure"]  # the size probe: one trial, one generation, a throwaway generator
    assert fam.log == probe + ["real", "fit5", "measure", "sample2", "fit7", "measure", "sample2", "fit9", "measure"]
    assert out["mean"].shape == (4, 3)


def test_a_family_that_measures_its_samples_gets_the_batch_it_hands_on():
    class Measuring(Counting):
        measures_samples = True

        def measure(self, model, chain, rng, samples=None):
            chain.state.setdefault("handed", []).append(samples)
            return super().measure(model, chain, rng)

    fam = Measuring()
    flow = Workflow("replace", n_real=5, synthetic=3)
    chain = driver.run_chain(fam, flow, 3, 2, np.random.default_rng(0))
    assert fam.log == ["real", "fit5", "sample3", "measure", "fit3", "sample3", "measure", "fit3", "sample3", "measure"]
    np.testing.assert_array_equal(chain.pool.latest, chain.state["handed"][1])  # generation 3 trained on it
    # the same draws, in the same order, as a family that samples when the driver asks
    plain = driver.run(Counting(), flow, 3, 2, np.random.default_rng(0))
    np.testing.assert_array_equal(plain["mean"], chain.outputs()["mean"])


@pytest.mark.parametrize("workflow", ["accumulate-subsample", "replace"])
def test_a_run_resumes_from_its_checkpoint_to_the_same_numbers(tmp_path, workflow):
    """Kill the run after each generation (a family that fails on demand); rerun from its checkpoint: the same
    numbers as the uninterrupted run, bit for bit, with the family's state (its fit count) restored."""
    flow = Workflow(workflow, n_real=5)
    whole = driver.run(Counting(), flow, 4, 6, np.random.default_rng(1))
    header = {"run": "test"}

    class Killed(Exception):
        pass

    for stop in range(1, 4):
        path = tmp_path / f"{workflow}-{stop}.ckpt"
        log: list = []

        class Dying(Counting):
            def fit(self, train, chain, rng):
                if chain.generation == stop + 1:
                    raise Killed
                return super().fit(train, chain, rng)

        with pytest.raises(Killed):
            driver.run(Dying(log), flow, 4, 6, np.random.default_rng(1), checkpoint=str(path), header=header)
        resumed = driver.run(Counting(), flow, 4, 6, np.random.default_rng(1), checkpoint=str(path), header=header)
        for q in whole:
            np.testing.assert_array_equal(resumed[q], whole[q])


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

    config = gaussian.GaussianSettings(workflow="accumulate", **kw)
    plain = driver.run(Plain(config), Workflow("accumulate", n_real=6), 4, 50, np.random.default_rng(9))
    for q in ("mean_sq_error", "trace", "det", "w2"):
        np.testing.assert_allclose(fast[q], plain[q], rtol=1e-10)


@pytest.mark.parametrize("workflow", ["replace", "accumulate"])
def test_regression_shortcuts_equal_the_plain_loop(workflow):
    """X^+ once per trial and the running label sum against OLS on the stacked rows (same draws)."""
    kw = dict(d=3, T=10, generations=6, sigma=0.5, workflow=workflow)
    fast = regression.simulate_fixed_design(40, np.random.default_rng(2), **kw)
    plain = regression.simulate_fixed_design(40, np.random.default_rng(2), shortcut=False, **kw)
    np.testing.assert_allclose(fast["test_error"], plain["test_error"], rtol=1e-9)
