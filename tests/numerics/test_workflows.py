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
