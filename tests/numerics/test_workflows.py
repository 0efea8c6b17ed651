"""Workflows as plans (numerics.workflows): which batches and rows each generation trains on."""

import itertools
from math import comb

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from numerics.workflows import WORKFLOWS, ArrayPool, Plan, Workflow, distinct_indices, subsample
from theory.workflows import CLAIM_WORKFLOWS


def ids(R=3, n=4, start=0):
    """Points that carry their own identity: value = index in the pool."""
    return np.broadcast_to(np.arange(start, start + n, dtype=float)[None, :, None], (R, n, 1)).copy()


def run_plans(flow: Workflow, generations: int, R=3, seed=0):
    """Training sets of each generation, with synthetic batches that carry their identities."""
    rng = np.random.default_rng(seed)
    pool = ArrayPool(ids(R, flow.n_real), flow, generations)
    out = []
    for g in range(1, generations + 1):
        if g > 1:
            pool.add(ids(R, flow.synthetic_size(g), start=100 * (g - 1)))
        out.append(pool.gather(flow.plan(g, pool.sizes, rng, R))[..., 0])
    return out


def test_one_list_of_workflow_names():
    import numerics.workflows as nw
    import theory.workflows as tw

    assert nw.WORKFLOWS is tw.WORKFLOWS
    assert set(CLAIM_WORKFLOWS) <= set(WORKFLOWS)
    with pytest.raises(ValueError, match="workflow must be one of"):
        Workflow("replace-all", n_real=4)


@pytest.mark.parametrize("name", list(WORKFLOWS))
def test_generation_one_trains_on_the_real_data(name):
    flow = Workflow(name, n_real=4, real_fraction=0.5 if name == "real-fraction" else None)
    assert np.array_equal(run_plans(flow, 1)[0], ids()[..., 0])


def test_replace_and_accumulate():
    rep = run_plans(Workflow("replace", n_real=4), 4)
    acc = run_plans(Workflow("accumulate", n_real=4), 4)
    for g in range(2, 5):
        assert np.array_equal(rep[g - 1][0], 100 * (g - 1) + np.arange(4))
        expected = np.concatenate([np.arange(4)] + [100 * k + np.arange(4) for k in range(1, g)])
        assert np.array_equal(acc[g - 1][0], expected)
    pool = ArrayPool(ids(), Workflow("accumulate", n_real=4), 2)
    pool.add(ids(start=9))
    with pytest.raises(ValueError, match="pool is full"):
        pool.add(ids(start=99))


def test_accumulate_gathers_a_view_without_copying():
    flow = Workflow("accumulate", n_real=4)
    pool = ArrayPool(ids(), flow, 3)
    pool.add(ids(start=4))
    train = pool.gather(flow.plan(2, pool.sizes, np.random.default_rng(0), 3))
    assert np.shares_memory(train, pool.data)


@pytest.mark.parametrize("replace", [False, True])
def test_subsample_draws_from_the_pool(replace):
    flow = Workflow("accumulate-subsample" + ("-replacement" if replace else ""), n_real=4)
    train = run_plans(flow, 3, R=500, seed=1)[2]
    assert train.shape == (500, 4)
    pool_ids = np.concatenate([np.arange(4), 100 + np.arange(4), 200 + np.arange(4)])
    assert np.isin(train, pool_ids).all()
    distinct = np.array([len(set(row)) for row in train])
    assert np.all(distinct == 4) if not replace else np.any(distinct < 4)
    # Every pooled point is equally likely: chi-square on the counts (fixed seed, alpha 1e-3).
    counts = np.array([(train == v).sum() for v in pool_ids])
    assert stats.chisquare(counts).pvalue > 1e-3


def test_subsample_rejects_oversized_draws():
    with pytest.raises(ValueError, match="cannot draw 5 points without replacement from a pool of 4"):
        subsample(ids(), 5, np.random.default_rng(0), replace=False)
    with pytest.raises(ValueError, match="take.0. draws 20 rows without replacement from the whole pool, which hold 8 "
                                         "at generation 2"):
        Workflow("accumulate-subsample", n_real=4, train_size=20)


def test_real_fraction_and_real_plus_synthetic():
    frac = Workflow("real-fraction", n_real=10, real_fraction=0.3)
    assert frac.synthetic_size(2) == 7  # only the synthetic share is sampled
    train = run_plans(frac, 2)[1]
    assert train.shape == (3, 10)
    assert np.all((train < 10).sum(axis=1) == 3) and np.all((train >= 100).sum(axis=1) == 7)
    assert np.all([len(set(r[:3])) == 3 for r in train])  # real points drawn without replacement
    mix = Workflow("real-plus-synthetic", n_real=2, synthetic=6)
    assert run_plans(mix, 3)[2].shape == (3, 8)
    with pytest.raises(ValueError, match="real_fraction must be in"):
        Workflow("real-fraction", n_real=4, real_fraction=1.5)
    with pytest.raises(ValueError, match="synthetic must be an integer >= 1"):
        Workflow("accumulate", n_real=4, synthetic=0)


def test_alpha_n_synthetic_batches():
    """Dey & Donoho's accumulate with batches of alpha n synthetic points (alpha = 1/2)."""
    flow = Workflow("accumulate", n_real=4, synthetic=2)
    sets = run_plans(flow, 4)
    assert [s.shape[1] for s in sets] == [4, 6, 8, 10]
    assert flow.capacity(4) == 10


def test_a_plan_holds_no_data_and_gathers_anything_indexable():
    """The same plan gathers a second store (here: the points' squares) in the same way."""
    flow = Workflow("accumulate-subsample", n_real=4)
    rng = np.random.default_rng(3)
    a, b = ArrayPool(ids(), flow, 3), ArrayPool(ids() ** 2, flow, 3)
    for pool in (a, b):
        pool.add(ids(start=4) ** (1 if pool is a else 2))
    plan = flow.plan(2, a.sizes, rng, 3)
    assert isinstance(plan, Plan)
    assert np.array_equal(a.gather(plan) ** 2, b.gather(plan))


@pytest.mark.parametrize("N, k", [(6, 3), (7, 2), (40, 20)])
def test_distinct_indices_are_a_uniform_subset(N, k):
    """Every k-subset equally likely (chi-square over all subsets, or over single inclusions at N = 40)."""
    R = 30_000
    idx = distinct_indices(np.random.default_rng(N), R, N, k)
    assert idx.shape == (R, k) and idx.min() >= 0 and idx.max() < N
    srt = np.sort(idx, axis=1)
    assert np.all(srt[:, 1:] != srt[:, :-1])  # distinct within each trial
    if comb(N, k) <= 50:
        index = {s: i for i, s in enumerate(itertools.combinations(range(N), k))}
        counts = np.bincount([index[tuple(r)] for r in srt], minlength=len(index))
    else:
        counts = np.bincount(idx.ravel(), minlength=N)
    assert stats.chisquare(counts).pvalue > 1e-3
    # the order is random too: the first index is uniform over range(N)
    assert stats.chisquare(np.bincount(idx[:, 0], minlength=N)).pvalue > 1e-3


@given(st.integers(1, 30), st.integers(1, 200), st.data())
def test_distinct_indices_are_distinct_and_in_range(R, N, data):
    k = data.draw(st.integers(1, max(1, N // 2)))
    idx = distinct_indices(np.random.default_rng(data.draw(st.integers(0, 2**32 - 1))), R, N, min(k, N))
    assert idx.shape == (R, min(k, N))
    assert idx.min() >= 0 and idx.max() < N
    assert all(len(set(row)) == len(row) for row in idx.tolist())


@given(st.sampled_from(list(WORKFLOWS)), st.integers(2, 6), st.integers(1, 5), st.integers(1, 6))
def test_every_plan_has_the_size_it_promises(name, n, generations, synthetic):
    flow = Workflow(name, n_real=n, synthetic=None if name == "real-fraction" else synthetic,
                    real_fraction=0.5 if name == "real-fraction" else None)
    rng = np.random.default_rng(0)
    pool = ArrayPool(ids(2, n), flow, generations)
    for g in range(1, generations + 1):
        if g > 1:
            pool.add(ids(2, flow.synthetic_size(g), start=10 * g))
        plan = flow.plan(g, pool.sizes, rng, 2)
        assert pool.gather(plan).shape == (2, plan.size(pool.sizes), 1)


def test_bootstrap_first_fit_resamples_the_real_data():
    """Dey & Donoho's first_fit='bootstrap': generation 1 fits n real points drawn with replacement."""
    flow = Workflow("accumulate-subsample-replacement", n_real=6, bootstrap_first=True)
    first = run_plans(flow, 1, R=2000, seed=4)[0]
    assert first.shape == (2000, 6) and np.isin(first, np.arange(6)).all()
    distinct = np.array([len(set(r)) for r in first])
    # E distinct = 6 (1 - (5/6)^6) = 3.99; all distinct has probability 6!/6^6 = 1.5%
    assert abs(distinct.mean() - 6 * (1 - (5 / 6) ** 6)) < 0.05 and (distinct == 6).mean() < 0.03


def test_workflow_of_takes_alpha_as_a_fraction_of_n():
    from numerics.workflows import workflow_of

    assert workflow_of("accumulate", 40, alpha=0.5).synthetic_size(2) == 20
    assert workflow_of("accumulate", 40).synthetic_size(2) == 40
    with pytest.raises(ValueError, match="not both"):
        workflow_of("accumulate", 40, alpha=0.5, synthetic=3)
    with pytest.raises(ValueError, match="first_fit must be"):
        workflow_of("accumulate", 40, first_fit="resample")


# -- declared workflows (issue 19): any WorkflowSpec through the one plan builder ---------------------------

from numerics.config import Config, ConfigError  # noqa: E402
from numerics.workflows import FRESH, Part, canonical, spec_of  # noqa: E402
from theory.workflows import NAMED, WorkflowError, workflow_spec  # noqa: E402


def declared(table: dict, n: int = 4, **kw) -> Workflow:
    return Workflow(workflow_spec(table), n_real=n, **kw)


def plans(flow: Workflow, generations: int, R: int = 3, seed: int = 0) -> list:
    """The plans of each generation (a pool of identities, fresh draws as the driver adds them)."""
    rng, out = np.random.default_rng(seed), []
    pool = ArrayPool(ids(R, flow.n_real), flow, generations)
    for g in range(1, generations + 1):
        if g > 1:
            pool.add(ids(R, flow.synthetic_size(g), start=100 * (g - 1)))
            if flow.fresh:
                pool.add_fresh(ids(R, flow.n_real, start=-1000 * g))
        plan = flow.plan(g, pool.sizes, rng, R)
        out.append((plan, pool.gather(plan)[..., 0]))
    return out


def same_plans(a: Workflow, b: Workflow, generations: int = 5) -> None:
    for (pa, _), (pb, _) in zip(plans(a, generations), plans(b, generations)):
        assert len(pa.parts) == len(pb.parts)
        for x, y in zip(pa.parts, pb.parts):
            assert (x.batches, x.count) == (y.batches, y.count)
            assert (x.rows is None) == (y.rows is None) and (x.rows is None or np.array_equal(x.rows, y.rows))


@pytest.mark.parametrize("name", [w for w in WORKFLOWS if w != "real-fraction"])
def test_a_declared_table_of_a_named_workflow_is_that_workflow(name):
    """The same take and batch as a named workflow, written as a table: the same plans (the generic builder), and
    its setting value is the name (the cell keeps the named workflow's stream key)."""
    table = NAMED[name].as_dict()
    del table["doc"]
    same_plans(Workflow(name, n_real=4, synthetic=3), declared(table, synthetic=3))
    assert canonical(workflow_spec(table)) == name


def test_real_fraction_is_a_real_share_with_the_rest_synthetic():
    table = {"take": [{"from": "real", "share": 0.4}, {"from": "latest"}], "batch": "rest"}
    named, mine = Workflow("real-fraction", n_real=10, real_fraction=0.4), declared(table, n=10)
    same_plans(named, mine)
    assert named.synthetic_size(3) == mine.synthetic_size(3) == 6
    assert canonical(workflow_spec(table)).startswith("{")  # a parameterised named workflow is not a table


def test_a_window_of_three_batches():
    flow = declared({"take": [{"from": "window", "window": 3}]})
    sets = [train[0] for _, train in plans(flow, 6)]
    assert sets[1].tolist() == [100, 101, 102, 103]
    assert sets[2].tolist() == [100 + i for i in range(4)] + [200 + i for i in range(4)]
    assert sets[5].tolist() == [k * 100 + i for k in (3, 4, 5) for i in range(4)]  # the real data left at g = 2
    assert [p.parts[0].batches for p, _ in plans(flow, 6)][1:] == [(1,), (1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5)]
    pool = ArrayPool(ids(), flow, 6)
    assert not flow.keeps_all and flow.spec.window == 3
    for g in range(2, 7):
        pool.add(ids(start=100 * g))
    assert len(pool.recent) == 3  # only the window is stored
    with pytest.raises(ValueError, match="no longer stored"):
        pool.gather(Plan((Part((2,)),)))


def test_a_share_of_fresh_real_data_each_generation():
    """10% of n fresh (new draws each generation, without replacement), the rest (batch = 'rest') from the latest."""
    flow = declared({"take": [{"from": "fresh", "share": 0.1}, {"from": "latest"}], "batch": "rest"}, n=20)
    assert flow.fresh and flow.synthetic_size(2) == 18
    for g, (plan, train) in enumerate(plans(flow, 4), start=1):
        if g == 1:
            assert np.array_equal(train[0], np.arange(20))
            continue
        assert plan.parts[0].batches == (FRESH,) and plan.parts[0].rows.shape == (3, 2)
        fresh, synthetic = train[:, :2], train[:, 2:]
        assert np.all((fresh >= -1000 * g) & (fresh < -1000 * g + 20))  # this generation's draw
        assert all(len(set(r)) == 2 for r in fresh.tolist())
        assert np.array_equal(synthetic[0], 100 * (g - 1) + np.arange(18))


def test_counts_schedules_replacement_and_batch_schedules():
    flow = declared({"take": [{"from": "real", "share": "0.5**(g-1)"}, {"from": "synthetic", "count": 5, "replace": True}],
                     "batch": [0.5, 1.0]}, n=8)
    assert [flow.synthetic_size(g) for g in (2, 3, 4)] == [4, 8, 8]  # a list schedule: its last value repeats
    assert [flow.take_rows(0, g) for g in (2, 3, 4)] == [4, 2, 1]  # round(8 * 0.5**(g-1))
    for g, (plan, train) in enumerate(plans(flow, 4, R=200), start=1):
        if g > 1:
            real, syn = plan.parts
            assert real.batches == (0,) and real.rows.shape[1] == 8 * 0.5 ** (g - 1)
            assert syn.batches == tuple(range(1, g)) and syn.rows.shape[1] == 5
            assert syn.rows.max() < sum(flow.synthetic_size(h) for h in range(2, g + 1))
    # with replacement: repeats happen (5 of 4 rows at g = 2 must repeat one)
    assert all(len(set(r)) < 5 for r in plans(flow, 2)[1][0].parts[1].rows.tolist())


def test_a_draw_without_replacement_larger_than_its_source_is_refused_before_any_fit():
    with pytest.raises(ValueError, match=r"take\[0\] draws 6 rows without replacement from the latest synthetic batch, "
                                         r"which holds 4 at generation 2"):
        declared({"take": [{"from": "latest", "share": 1.5}]})
    flow = declared({"take": [{"from": "real", "share": "g/4"}, {"from": "latest"}]})  # fits until g = 4
    flow.check(4)
    with pytest.raises(ValueError, match="at generation 5"):
        flow.check(6)
    with pytest.raises(ValueError, match="batch = 'rest' leaves no synthetic rows"):
        declared({"take": [{"from": "fresh", "share": "g/2"}, {"from": "latest"}], "batch": "rest"}).synthetic_size(3)
    with pytest.raises(ValueError, match="sets its synthetic batch size"):
        declared({"take": [{"from": "latest"}], "batch": 0.5}, synthetic=3)


def test_equal_specs_share_their_canonical_text_and_it_reads_back():
    a = workflow_spec({"take": [{"from": "window", "window": 3}], "doc": "three"}, name="last3")
    b = workflow_spec({"take": [{"window": 3, "from": "window"}]})
    assert canonical(a) == canonical(b) == '{"take":[{"from":"window","window":3}]}'
    assert spec_of(canonical(a)).as_dict() == b.as_dict()
    assert canonical(workflow_spec({"take": [{"from": "window", "window": 4}]})) != canonical(a)
    with pytest.raises(WorkflowError, match="neither a name nor a workflow's JSON text"):
        spec_of("{take")


BASE = {"simulator": "gaussian", "generations": 3, "trials": 2, "seed": 0, "metrics": ["mean_sq_error"],
        "fixed": {"n": 10}}


@pytest.mark.parametrize("extra, message", [
    ({"grid": {"workflow": ["last3"]}, "workflows": {"last3": {"take": [{"from": "window", "window": 0}]}}},
     r"workflows.last3: take\[0\].window must be an integer >= 1, got 0"),
    ({"grid": {"workflow": ["x"]}, "workflows": {"x": {"take": [{"from": "latest", "shar": 0.5}]}}},
     r"workflows.x: take\[0\]: unknown field 'shar'"),
    ({"grid": {"workflow": ["x"]}, "workflows": {"x": {"take": [{"from": "latest"}], "batch": "half"}}},
     r"workflows.x: batch: unknown name 'half'"),
    ({"grid": {"workflow": ["replace"]}, "workflows": {"replace": {"take": [{"from": "latest"}]}}},
     r"workflows.replace: 'replace' is a named workflow already"),
    ({"grid": {"workflow": ["last4"]}}, r"grid.workflow must be one of replace, .*, or a workflow table; got 'last4'"),
    ({"grid": {"workflow": [{"take": [{"from": "real"}]}]}}, r"grid.workflow: no take reads synthetic data"),
    ({"fixed": {"n": 10, "workflow": {"take": [{"from": "latest", "share": "g +"}]}}},
     r"fixed.workflow: take\[0\].share: "),
    ({"fixed": {"n": 10, "workflow": {"take": [{"from": "fresh", "count": 11}, {"from": "latest"}]}}},
     r"workflow: take\[0\] draws 11 rows without replacement from the fresh real draw, which holds 10"),
    ({"workflows": []}, r"\[workflows\] must be a table"),
])
def test_toml_workflow_errors_name_the_field(extra, message):
    with pytest.raises(ConfigError, match=message):
        Config.from_dict({**BASE, **extra})


def test_a_config_names_a_table_or_writes_one_inline():
    last3 = {"take": [{"from": "window", "window": 3}]}
    config = Config.from_dict({**BASE, "grid": {"workflow": ["replace", "last3", {"take": [{"from": "synthetic"}]},
                                                             {"take": [{"from": "all"}]}]},
                               "workflows": {"last3": {**last3, "doc": "the last three"}}})
    values = [c["workflow"] for c in config.cells()]
    assert values == ["replace", canonical(workflow_spec(last3)), '{"take":[{"from":"synthetic"}]}', "accumulate"]
    keys = [config.sim.key(c) for c in config.cells()]
    assert len(set(keys)) == 4
    assert keys[0] == config.sim.key(config.sim.resolve({"n": 10, "workflow": "replace"}))
    inline = Config.from_dict({**BASE, "fixed": {"n": 10, "workflow": last3}})
    assert config.sim.key(inline.cells()[0]) == keys[1]  # equal specs, one stream
    with pytest.raises(ConfigError, match="grid.workflow repeats a value"):
        Config.from_dict({**BASE, "grid": {"workflow": ["last3", last3]}, "workflows": {"last3": last3}})


def test_a_demo_table_may_name_a_workflow_table():
    last3 = {"take": [{"from": "window", "window": 3}]}
    config = Config.from_dict({**BASE, "grid": {"workflow": ["replace", "last3"]}, "workflows": {"last3": last3},
                               "demo": {"generations": 2, "grid": {"workflow": ["last3"]}}})
    assert [c["workflow"] for c in config.demo_config().cells()] == [canonical(workflow_spec(last3))]


CUSTOM = {"last3": {"take": [{"from": "window", "window": 3}]},
          "fresh10": {"take": [{"from": "fresh", "share": 0.1}, {"from": "latest", "share": 0.9}]}}


@pytest.mark.parametrize("simulator, fixed, metric", [
    ("gaussian", {"n": 20, "d": 2}, "mean_sq_error"),
    ("regression", {"d": 2, "T": 20, "shortcut": False}, "test_error"),  # replace through the driver too
    ("categorical", {"n": 20, "K": 4}, "diversity_ratio"),
    ("kde", {"n": 20, "h": 0.5}, "variance"),
    ("logistic", {"n": 300}, "sq_error"),
])
def test_a_declared_workflow_runs_for_every_numpy_family(tmp_path, simulator, fixed, metric):
    from numerics.sweep import run_sweep

    config = Config.from_dict({"simulator": simulator, "generations": 4, "trials": 3, "seed": 0, "metrics": [metric],
                               "fixed": fixed, "grid": {"workflow": ["replace", "last3", "fresh10"]},
                               "workflows": CUSTOM})
    table = run_sweep(config, tmp_path / "r.parquet", jobs=1, progress=False)
    assert len(table) == 3 * 4 and np.isfinite(table.estimate).all()
    sim = config.sim  # at one seed: generation 1 fits the same real data under every workflow, later ones differ
    key = sim.metrics[metric].output
    outs = [sim.call(3, np.random.default_rng(0), cell, 4, (metric,))[key] for cell in config.cells()]
    assert all(np.array_equal(o[:, 0], outs[0][:, 0]) for o in outs)
    assert len({o[:, -1].tobytes() for o in outs}) == 3


def test_the_driver_draws_fresh_real_data_each_generation():
    """A family's fresh() is called once per generation from 2 on, and its draw is what the fresh take reads."""
    from numerics import driver

    calls = []

    class Family(driver.Family):
        def real(self, chain, rng):
            return rng.standard_normal((chain.trials, 5, 1))

        def fresh(self, chain, rng):
            calls.append(chain.generation)
            return np.full((chain.trials, 5, 1), 1000.0 * chain.generation)

        def fit(self, train, chain, rng):
            return train

        def sample(self, model, size, chain, rng):
            return np.zeros((len(model), size, 1))

        def measure(self, model, chain, rng, samples=None):
            return {"fresh_sum": model[:, :, 0].sum(axis=1)}

    flow = declared({"take": [{"from": "fresh"}, {"from": "latest"}]}, n=5)
    out = driver.run(Family(), flow, 4, 2, np.random.default_rng(0))
    assert calls == [2, 3, 4]
    np.testing.assert_array_equal(out["fresh_sum"][:, 1:], [[5 * 2000.0, 5 * 3000.0, 5 * 4000.0]] * 2)


@pytest.mark.parametrize("table", list(CUSTOM.values()), ids=list(CUSTOM))
def test_a_declared_workflow_resumes_from_its_checkpoint_to_the_same_numbers(tmp_path, table):
    """The pool's window and fresh draw are saved: a run killed in each generation resumes bit for bit."""
    from numerics import driver, gaussian
    from numerics.workflows import workflow_from

    config = gaussian.GaussianSettings.build({"n": 10, "workflow": table})
    flow = workflow_from(config, 10)
    whole = driver.run(gaussian.GaussianFamily(config), flow, 5, 4, np.random.default_rng(1))

    class Killed(Exception):
        pass

    for stop in range(1, 5):
        path = str(tmp_path / f"{stop}.ckpt")

        class Dying(gaussian.GaussianFamily):
            def fit(self, train, chain, rng):
                if chain.generation == stop + 1:
                    raise Killed
                return super().fit(train, chain, rng)

        with pytest.raises(Killed):
            driver.run(Dying(config), flow, 5, 4, np.random.default_rng(1), checkpoint=path, header={"run": "t"})
        resumed = driver.run(gaussian.GaussianFamily(config), flow, 5, 4, np.random.default_rng(1), checkpoint=path,
                             header={"run": "t"})
        for k in whole:
            np.testing.assert_array_equal(resumed[k], whole[k])


@pytest.mark.parametrize("simulator, settings", [
    ("lm-markov", {"n": 16, "window": 8, "budget": "steps", "steps": 5, "eval_windows": 8}),
    ("images", {"n": 64, "budget": "steps", "steps": 4, "batch": 16, "hidden": 16, "latent": 2, "samples": 16}),
])
def test_a_declared_workflow_runs_for_a_torch_family(simulator, settings):
    pytest.importorskip("torch")
    from numerics import catalog

    sim = catalog.get(simulator)
    outs = {}
    for name, table in CUSTOM.items():
        out = sim.call(2, np.random.default_rng(0), sim.resolve({**settings, "workflow": table}), 3, tuple(sim.metrics))
        assert all(np.isfinite(v[:, :1]).all() for v in out.values() if v.size), name
        outs[name] = out
    first = next(iter(sim.metrics))
    key = sim.metrics[first].output
    np.testing.assert_array_equal(outs["last3"][key][:, 0], outs["fresh10"][key][:, 0])  # generation 1: same real fit
    assert not np.array_equal(outs["last3"][key][:, -1], outs["fresh10"][key][:, -1])


def test_the_docs_page_examples_hold():
    """docs/workflows.md: its Python runs, its sweep is a valid configuration, its tables of the named workflows are them."""
    import re
    import tomllib
    from pathlib import Path

    page = (Path(__file__).parents[2] / "docs" / "workflows.md").read_text()
    exec(re.findall(r"```python\n(.*?)```", page, re.S)[0], {})
    blocks = [tomllib.loads(b) for b in re.findall(r"```toml\n(.*?)```", page, re.S)]
    config = Config.from_dict(blocks[0])
    assert [c["workflow"] for c in config.cells()][:2] == ["replace", "accumulate"]
    named = blocks[1]
    assert set(named) == set(WORKFLOWS)
    for name, table in named.items():
        if name != "real-fraction":
            assert canonical(workflow_spec(table)) == name
    assert NAMED["real-fraction"].as_dict()["take"] == named["real-fraction"]["take"]
