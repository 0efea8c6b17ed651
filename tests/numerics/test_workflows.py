import numpy as np
import pytest
from scipy import stats

from numerics.workflows import WORKFLOWS, Pool, subsample


def ids(R=3, n=4, start=0):
    """Points that carry their own identity: value = index in the pool."""
    return np.broadcast_to(np.arange(start, start + n, dtype=float)[None, :, None], (R, n, 1)).copy()


def test_generation_one_trains_on_the_real_data():
    for wf in WORKFLOWS:
        pool = Pool(wf, ids(), np.random.default_rng(0), 5, real_fraction=0.5)
        assert np.array_equal(pool.training_set(), ids())


def test_replace_and_accumulate():
    rng = np.random.default_rng(0)
    rep, acc = Pool("replace", ids(), rng, 4), Pool("accumulate", ids(), rng, 4)
    for g in range(1, 4):
        batch = ids(start=4 * g)
        rep.add(batch)
        acc.add(batch)
        assert np.array_equal(rep.training_set(), batch)
        assert np.array_equal(acc.training_set()[..., 0], np.broadcast_to(np.arange(4 * (g + 1)), (3, 4 * (g + 1))))
    with pytest.raises(ValueError, match="pool is full"):
        acc.add(ids(start=99))


@pytest.mark.parametrize("replace", [False, True])
def test_subsample_draws_from_the_pool(replace):
    rng = np.random.default_rng(1)
    pool = Pool("accumulate-subsample" + ("-replacement" if replace else ""), ids(R=500), rng, 3)
    pool.add(ids(R=500, start=4))
    pool.add(ids(R=500, start=8))
    train = pool.training_set()[..., 0]
    assert train.shape == (500, 4)
    assert np.all((0 <= train) & (train < 12))
    distinct = np.array([len(set(row)) for row in train])
    if not replace:
        assert np.all(distinct == 4)
    else:
        assert np.any(distinct < 4)
    # Every pooled point is equally likely: chi-square on the counts (fixed seed, alpha 1e-3).
    counts = np.bincount(train.astype(int).ravel(), minlength=12)
    assert stats.chisquare(counts).pvalue > 1e-3


def test_subsample_rejects_oversized_draws():
    with pytest.raises(ValueError, match="cannot draw 5 points without replacement from a pool of 4"):
        subsample(ids(), 5, np.random.default_rng(0), replace=False)


def test_real_fraction_and_real_plus_synthetic():
    rng = np.random.default_rng(2)
    frac = Pool("real-fraction", ids(n=10), rng, 3, real_fraction=0.3)
    frac.add(ids(n=10, start=100))
    train = frac.training_set()[..., 0]
    assert train.shape == (3, 10)
    assert np.all((train < 10).sum(axis=1) == 3) and np.all((train >= 100).sum(axis=1) == 7)
    mix = Pool("real-plus-synthetic", ids(n=2), rng, 3)
    mix.add(ids(n=6, start=100))
    assert mix.training_set().shape == (3, 8, 1)
    with pytest.raises(ValueError, match="real_fraction must be in"):
        Pool("real-fraction", ids(), rng, 3, real_fraction=1.5)
    with pytest.raises(ValueError, match="workflow must be one of"):
        Pool("replace-all", ids(), rng, 3)


@pytest.mark.parametrize("N, k", [(6, 3), (7, 2), (40, 20)])
def test_distinct_indices_are_a_uniform_subset(N, k):
    """Every k-subset equally likely (chi-square over all subsets, or over single inclusions at N = 40)."""
    import itertools
    from math import comb

    from numerics.workflows import distinct_indices

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


from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@given(st.integers(1, 30), st.integers(1, 200), st.data())
def test_distinct_indices_are_distinct_and_in_range(R, N, data):
    from numerics.workflows import distinct_indices

    k = data.draw(st.integers(1, max(1, N // 2)))
    idx = distinct_indices(np.random.default_rng(data.draw(st.integers(0, 2**32 - 1))), R, N, min(k, N))
    assert idx.shape == (R, min(k, N))
    assert idx.min() >= 0 and idx.max() < N
    assert all(len(set(row)) == len(row) for row in idx.tolist())
