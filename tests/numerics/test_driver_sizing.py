"""Direct simulator calls are sized before they draw (numerics.driver.size_of, block_trials): a call that fits
one block runs as it always did; one that does not runs in blocks from the caller's rng (deterministic in
the seed, equal in law to one block); one that cannot fit a trial, or a checkpointed one that does not fit a
block, is refused in one line naming the setting, before the caller's rng is touched."""

from __future__ import annotations

import numpy as np
import pytest

from numerics import driver, execute, regression
from numerics.execute import RunError
from numerics.workflows import Workflow
from theory.errors import UserError

#: Gerstgrasser et al.'s chain on the plain loop (accumulate-subsample gathers actual rows), small.
SMALL = {"d": 3, "T": 8, "workflow": "accumulate-subsample"}


def fixed_design(**settings):
    cfg = regression.RegressionSettings.build({**SMALL, **settings})
    return regression.FixedDesignFamily(cfg), Workflow(cfg.workflow, n_real=cfg.T)


def blocks_run(monkeypatch) -> list[int]:
    """The trials of each block the next calls run (run_chain spied on)."""
    sizes: list[int] = []
    chain = driver.run_chain

    def spy(family, workflow, generations, trials, rng, **kw):
        sizes.append(trials)
        return chain(family, workflow, generations, trials, rng, **kw)

    monkeypatch.setattr(driver, "run_chain", spy)
    return sizes


def test_the_issue_s_call_is_sized_from_the_pool_s_growth():
    """Issue 18's item 11: accumulate-subsample, d = 10, T = 32, 100 generations keeps every batch: 3,200 rows
    of 11 float64 per trial (281,600 bytes); 20,000 trials (5.6 GiB resident before) now run in blocks of at
    most CALL_MEMORY."""
    family, flow = fixed_design(d=10, T=32)
    size = driver.size_of(family, flow, 100)
    assert size.rows == 3200 and size.pool == 3200 * 11 * 8
    assert size.pool < size.total < 1.2 * size.pool  # the pool is most of it
    block = driver.block_trials(family, flow, 100, 20000)
    assert block < 20000 and block * size.total <= driver.CALL_MEMORY < (block + 1) * size.total


def test_a_call_that_fits_one_block_runs_as_the_plain_loop_and_the_probe_draws_nothing():
    family, flow = fixed_design()
    assert driver.block_trials(family, flow, 6, 50) == 50
    out = driver.run(family, flow, 6, 50, np.random.default_rng(3))
    plain = driver.run_chain(family, flow, 6, 50, np.random.default_rng(3)).outputs()
    np.testing.assert_array_equal(out["test_error"], plain["test_error"])


def test_a_call_over_the_budget_runs_in_blocks_deterministic_in_its_seed(monkeypatch):
    family, flow = fixed_design()
    per = driver.size_of(family, flow, 6).total
    monkeypatch.setenv(execute.MEMORY_VAR, str(int(per * 70)))  # 70 trials a block
    sizes = blocks_run(monkeypatch)
    a = regression.simulate_fixed_design(200, np.random.default_rng(5), generations=6, **SMALL)["test_error"]
    assert sizes == [70, 70, 60] and a.shape == (200, 6)
    b = regression.simulate_fixed_design(200, np.random.default_rng(5), generations=6, **SMALL)["test_error"]
    np.testing.assert_array_equal(a, b)
    # each block draws on from the caller's generator: no block repeats another's numbers
    assert not np.array_equal(a[:60], a[70:130]) and not np.array_equal(a[:60], a[140:])


def test_a_blocked_call_is_equal_in_law_to_one_block(monkeypatch):
    """The last generation's mean test error of 4,000 trials, in one block and in blocks of 400 (other seeds):
    equal within 4 standard errors of their difference (a false alarm about 1 in 16,000)."""
    trials, gens = 4000, 8
    one = regression.simulate_fixed_design(trials, np.random.default_rng(11), generations=gens, **SMALL)["test_error"]
    family, flow = fixed_design()
    monkeypatch.setenv(execute.MEMORY_VAR, str(int(driver.size_of(family, flow, gens).total * 400)))
    sizes = blocks_run(monkeypatch)
    many = regression.simulate_fixed_design(trials, np.random.default_rng(12), generations=gens, **SMALL)["test_error"]
    assert sizes == [400] * 10
    for col in (0, gens - 1):
        x, y = one[:, col], many[:, col]
        se = np.sqrt(x.var(ddof=1) / len(x) + y.var(ddof=1) / len(y))
        assert abs(x.mean() - y.mean()) < 4 * se


def test_a_trial_over_the_budget_is_refused_before_anything_is_drawn(monkeypatch):
    family, flow = fixed_design()
    monkeypatch.setenv(execute.MEMORY_VAR, "1000")
    rng = np.random.default_rng(0)
    before = rng.bit_generator.state
    with pytest.raises(driver.TooLarge, match=r"one trial of this run needs about .* \(most of it its pool\), over the "
                                              r"memory budget \(COLLAPSE_MEMORY_LIMIT = 1000 B\): use fewer generations") as e:
        driver.run(family, flow, 50, 10, rng)
    assert isinstance(e.value, UserError) and "\n" not in str(e.value)
    assert rng.bit_generator.state == before


def test_a_checkpointed_call_that_does_not_fit_one_block_names_trials(monkeypatch, tmp_path):
    family, flow = fixed_design()
    monkeypatch.setenv(execute.MEMORY_VAR, str(int(driver.size_of(family, flow, 6).total * 70)))
    with pytest.raises(driver.TooLarge, match=r"^trials = 200 need about .*: use trials <= 70 per checkpointed run"):
        driver.run(family, flow, 6, 200, np.random.default_rng(0), checkpoint=str(tmp_path / "c.ckpt"), header={"r": 1})
    assert not list(tmp_path.iterdir())


def test_the_block_runner_s_blocks_are_not_sized_again(monkeypatch):
    """numerics.execute sizes its blocks by the simulator's declared memory: within them the driver runs the
    trials it is given as one block (a sweep's numbers do not depend on the driver's estimate)."""
    monkeypatch.setenv(execute.MEMORY_VAR, "1000")  # would refuse any direct call
    monkeypatch.setattr(driver, "block_trials", lambda *a, **k: pytest.fail("a sized block was sized again"))
    out = execute.run_blocks("regression", "", {**regression.RegressionSettings.build(SMALL).as_dict()}, 4,
                             ("test_error",), 30, 0, 0, 1)
    assert out[0]["test_error"].n == 30


@pytest.mark.parametrize("value", ["lots", "0", "-5", "inf", "nan"])
def test_a_bad_memory_budget_is_one_line_naming_it(monkeypatch, value):
    monkeypatch.setenv(execute.MEMORY_VAR, value)
    with pytest.raises(RunError, match=r"^COLLAPSE_MEMORY_LIMIT must be a positive number of bytes"):
        execute.memory_limit()


def test_the_budget_is_shared_by_the_workers(monkeypatch):
    monkeypatch.delenv(execute.MEMORY_VAR, raising=False)
    assert execute.memory_limit(4) == pytest.approx(0.8 * execute.memory_available() / 4)
    monkeypatch.setenv(execute.MEMORY_VAR, "123456789")
    assert execute.memory_limit(4) == 123456789.0


def test_a_probe_that_fails_where_the_run_may_not_still_sizes_the_run():
    """The probe's one trial may fail where the caller's trials do not (a logistic fit on separated data):
    the run is sized without its model, and runs."""
    from tests.numerics.test_driver import Counting

    class FailsAlone(Counting):
        def fit(self, train, chain, rng):
            if chain.trials == 1:
                raise ValueError("one trial separated")
            return super().fit(train, chain, rng)

    flow = Workflow("accumulate", n_real=5)
    size = driver.size_of(FailsAlone(), flow, 4)
    assert size.rows == 20 and size.other > 0
    assert driver.run(FailsAlone(), flow, 4, 3, np.random.default_rng(0))["mean"].shape == (3, 4)
