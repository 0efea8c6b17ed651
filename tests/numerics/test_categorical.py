"""The categorical simulator (numerics.categorical): sampling, counting, the counts shortcut, bad input."""

import numpy as np
import pytest
from scipy import stats

from numerics import categorical
from numerics.stats import Summary
from numerics.testing import assert_agrees


def test_draw_symbols_follows_each_trials_probabilities():
    probs = np.array([[0.7, 0.2, 0.1, 0.0], [0.0, 0.0, 0.5, 0.5]])
    x = categorical.draw_symbols(probs, 20_000, np.random.default_rng(0))
    counts = categorical.counts_of(x, 4)
    assert counts[0, 3] == 0 and counts[1, :2].sum() == 0  # a lost symbol is never drawn again
    for r in range(2):
        keep = probs[r] > 0
        assert stats.chisquare(counts[r, keep], 20_000 * probs[r, keep]).pvalue > 1e-3


def test_counts_of_is_a_bincount_per_trial():
    x = np.array([[0, 0, 2], [1, 2, 2]])
    assert categorical.counts_of(x, 3).tolist() == [[2, 0, 1], [0, 1, 2]]


def test_the_counts_shortcut_has_the_law_of_the_points(collapse_seed):
    """Multinomial counts against counted symbols: the same diversity and survival, to their errors."""
    kw = dict(n=15, generations=6, workflow="replace", K=6, zipf=1.0)
    rng = np.random.default_rng(collapse_seed)
    points = categorical.simulate(20_000, rng, **kw)
    counts = categorical.simulate(20_000, rng, sampler="counts", **kw)
    for q in ("diversity", "surviving"):
        a, b = Summary.of(points[q]).mean_se(), Summary.of(counts[q]).mean_se()
        assert_agrees(a[0] - b[0], np.hypot(a[1], b[1]), 0.0, seed=collapse_seed, what=q)


def test_collapse_time_is_the_first_point_mass():
    out = categorical.simulate(200, np.random.default_rng(1), n=5, generations=60, workflow="replace", K=2, zipf=0,
                               outputs=["collapsed", "collapse_time"])
    collapsed, time = out["collapsed"], out["collapse_time"]
    first = np.where(collapsed.any(axis=1), collapsed.argmax(axis=1) + 1, np.inf)
    assert np.array_equal(time[:, -1], np.minimum(first, 60))
    assert np.all(np.diff(collapsed, axis=1) >= 0)  # a point mass stays one under replace


@pytest.mark.parametrize("sampler", ["points", "counts"])
def test_a_chain_whose_every_fit_is_a_point_mass_stops_with_the_same_outputs(sampler, monkeypatch):
    """The driver stops once every trial is absorbed (numerics.driver.Family.absorbed) and records the last
    measures for the generations left: the outputs are those of running every generation."""
    kw = dict(n=5, generations=80, workflow="replace", K=3, zipf=0, sampler=sampler)
    asked = []
    absorbed = categorical.CategoricalFamily.absorbed
    monkeypatch.setattr(categorical.CategoricalFamily, "absorbed", lambda self, chain: asked.append(
        chain.generation) or absorbed(self, chain))
    short = categorical.simulate(300, np.random.default_rng(3), **kw)
    assert asked[-1] < 40  # it stopped: every trial had collapsed by then
    monkeypatch.setattr(categorical.CategoricalFamily, "absorbed", lambda self, chain: False)
    full = categorical.simulate(300, np.random.default_rng(3), **kw)
    assert short.keys() == full.keys()
    for name in full:
        assert np.array_equal(short[name], full[name]), name
    settings = {k: v for k, v in kw.items() if k != "generations"}
    accumulate = categorical.CategoricalFamily(categorical.CategoricalSettings.build(dict(settings, workflow="accumulate")),
                                               ["collapsed"])
    chain = type("C", (), {"state": {"time": np.array([1.0, 2.0])}})()
    assert not accumulate.absorbed(chain)  # the pool keeps the real data: a point mass does not stay one


@pytest.mark.parametrize("kwargs, message", [
    (dict(K=1), "K must be >= 2"),
    (dict(K=3, zipf=-1.0), "zipf must be >= 0"),
    (dict(probabilities=[0.5, 0.6]), "probabilities must sum to 1"),
    (dict(K=3, sampler="counts", workflow="accumulate-subsample"), "sampler='counts' serves replace and accumulate"),
    (dict(K=3, outputs=["entropy"]), "outputs must be among"),
])
def test_bad_input_is_named(kwargs, message):
    kw = {"n": 10, "generations": 2, "workflow": "replace", **kwargs}
    with pytest.raises(ValueError, match=message):
        categorical.simulate(4, np.random.default_rng(0), **kw)
