"""The simulator catalog (numerics.catalog): a cell's stream key, and what adding a setting leaves alone."""

import dataclasses
import json

import numpy as np
import pytest

from numerics import catalog, execute, gaussian
from numerics.schema import schema, setting
from numerics.rng import blocks, stable_key

NAME = "test-catalog.gaussian-copy"  # registered by the tests below only, and removed after each
GENERATIONS = 3
TRIALS = 300
SEED = 12345


@schema
class JitterSettings(gaussian.GaussianSettings):
    """The Gaussian chain's schema with one more setting (declared once, as every family's is)."""

    jitter: float = setting(0.0, "noise on the recorded mean error", low=0.0)


def simulate_with_jitter(trials, rng, config, generations, *, outputs=None):
    """numerics.gaussian.run with one more setting: noise of sd ``jitter`` on the recorded mean error, drawn
    after the simulation (none, and no draw, at its default 0)."""
    base = gaussian.GaussianSettings.build({k: v for k, v in config.as_dict().items() if k != "jitter"})
    out = gaussian.run(trials, rng, base, generations, outputs=outputs)
    if config.jitter:
        out["mean_sq_error"] = out["mean_sq_error"] + config.jitter * rng.standard_normal(out["mean_sq_error"].shape)
    return out


@pytest.fixture
def versions():
    """The same simulator (one name) before and after a setting with a default is added to it."""
    base = catalog.get("gaussian")
    before = dataclasses.replace(base, name=NAME)
    after = dataclasses.replace(before, target=f"{__name__}:simulate_with_jitter", schema=JitterSettings)
    yield before, after
    catalog.CATALOG.pop(NAME, None)


def _install(sim):
    catalog.CATALOG.pop(NAME, None)
    return catalog.register(sim)


def _cell(sim, given, metrics):
    """The cell run as numerics.execute runs it: its key, the raw outputs of its blocks, their summaries."""
    settings = sim.resolve(given)
    key = sim.key(settings)
    raw = [sim.call(b.size, b.rng, settings, GENERATIONS, metrics)
           for b in blocks(TRIALS, np.random.SeedSequence(SEED), key=key, size=sim.block_size(settings, GENERATIONS))]
    summaries = execute.run_blocks(NAME, "", settings, GENERATIONS, metrics, TRIALS, SEED, 0, 10)
    return settings, key, raw, summaries


CELLS = [
    dict(n=10, workflow="replace"),
    dict(n=10, d=3, estimator="unbiased", workflow="accumulate"),
    dict(n=8, d=2, workflow="accumulate-subsample", sampler="points", sigma=2.0),
    dict(n=10, d=3, workflow="replace", sampler="sufficient"),
]


@pytest.mark.parametrize("given", CELLS, ids=lambda g: ",".join(f"{k}={v}" for k, v in g.items()))
def test_a_setting_with_a_default_leaves_existing_cells_random_numbers_alone(versions, given):
    before, after = versions
    metrics = ("mean_sq_error", "trace_ratio", "log_det_ratio")
    _install(before)
    s0, k0, raw0, sum0 = _cell(before, given, metrics)
    _install(after)
    s1, k1, raw1, sum1 = _cell(after, given, metrics)
    assert s1 == {**s0, "jitter": 0.0}  # the new setting is resolved to its default ...
    assert k1 == k0  # ... and left out of the stream key, so the cell draws the same numbers
    assert len(raw0) == len(raw1) and all(a.keys() == b.keys() for a, b in zip(raw0, raw1))
    for a, b in zip(raw0, raw1):
        for q in a:
            np.testing.assert_array_equal(a[q], b[q], err_msg=q)  # bit for bit
    for a, b in zip(sum0, sum1):
        for m in metrics:
            np.testing.assert_array_equal(a[m].mean, b[m].mean)
            np.testing.assert_array_equal(a[m].m2, b[m].m2)
    # Giving the default explicitly is the same cell; a value other than the default is another cell.
    assert after.key(after.resolve({**given, "jitter": 0.0})) == k0
    assert after.key(after.resolve({**given, "jitter": 0.5})) != k0


def test_the_key_would_change_if_defaults_were_keyed(versions):
    """The planted alternative (every setting in the key) changes existing cells' numbers when a setting is
    added: so the test above can fail, and the key must leave defaults out."""
    before, after = versions
    s0, s1 = before.resolve({"n": 10, "workflow": "replace"}), after.resolve({"n": 10, "workflow": "replace"})
    naive = lambda sim, s: stable_key("cell", sim.name, json.dumps({k: v for k, v in s.items()  # noqa: E731
                                                                    if sim.settings[k].affects_draws}, sort_keys=True))
    assert naive(before, s0) != naive(after, s1)
    assert before.key(s0) == after.key(s1)


def test_settings_that_do_not_affect_the_draws_are_not_keyed():
    sim = catalog.get("gaussian")
    cell = {"n": 10, "workflow": "replace"}
    assert not sim.settings["cross_with"].affects_draws
    assert sim.key(sim.resolve({**cell, "cross_with": 3})) == sim.key(sim.resolve(cell))
    assert sim.key(sim.resolve({**cell, "d": 2})) != sim.key(sim.resolve(cell))


def test_the_catalog_lists_simulators_in_entry_point_order_whatever_was_imported_first():
    """A process that imported a deep provider first listed its simulators first (the generated simulator
    table of the docs drifted with test order): the order is the entry points', then registration."""
    import subprocess
    import sys

    code = "from numerics import catalog; print(' '.join(catalog.load()))"
    fresh = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    first = subprocess.run([sys.executable, "-c", "import importlib.util as u\n"
                            "if u.find_spec('torch'): import deep.language.simulators\n" + code],
                           capture_output=True, text=True, check=True).stdout
    assert fresh.split()[0] == "gaussian" and first == fresh
