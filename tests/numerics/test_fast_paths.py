"""The hot loops' exact shortcuts against their plain computations: the same random numbers (the generator
ends in the same state), the same subsample indices bit for bit, and the same values up to rounding.

Tolerances: every comparison below is of two orders of the same floating-point sums, so the differences
are rounding, a few ulp times the condition of the quantity; the cases are well conditioned (n >> d, few
generations), where 1e-10 relative (1e-9 absolute on a log determinant of order 10-100) is far above
rounding and far below any error of substance (a wrong factor or a skipped draw changes values at 1e-2).
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from numerics import gaussian, regression
from numerics.workflows import ArrayPool, distinct_indices, take_rows


def distinct_indices_by_stable_argsort(rng, R, N, k):
    """The plain algorithm: the first k distinct values of the draws, marked by a stable argsort."""
    extra = int(k * k / (2 * (N - k + 1))) + int(3 * np.sqrt(k)) + 8
    draws = rng.integers(0, N, size=(R, k + extra))
    while True:
        order = np.argsort(draws, axis=1, kind="stable")
        ranked = np.take_along_axis(draws, order, axis=1)
        new = np.ones(ranked.shape, dtype=bool)
        new[:, 1:] = ranked[:, 1:] != ranked[:, :-1]
        first = np.empty_like(new)
        np.put_along_axis(first, order, new, axis=1)
        seen = np.cumsum(first, axis=1)
        if (seen[:, -1] >= k).all():
            break
        draws = np.concatenate([draws, rng.integers(0, N, size=(R, k))], axis=1)
    return draws[first & (seen <= k)].reshape(R, k)


@given(st.integers(1, 20), st.integers(2, 400), st.data())
def test_distinct_indices_equal_the_stable_argsort_algorithm(R, N, data):
    k = data.draw(st.integers(1, N // 2))
    seed = data.draw(st.integers(0, 2**32 - 1))
    fast_rng, plain_rng = np.random.default_rng(seed), np.random.default_rng(seed)
    assert np.array_equal(distinct_indices(fast_rng, R, N, k), distinct_indices_by_stable_argsort(plain_rng, R, N, k))
    assert fast_rng.bit_generator.state == plain_rng.bit_generator.state


def test_distinct_indices_equal_the_plain_algorithm_when_more_draws_are_needed():
    # N = 8, k = 4: the first chunk often holds fewer than 4 distinct values for some of 200 trials
    for seed in range(20):
        a, b = np.random.default_rng(seed), np.random.default_rng(seed)
        assert np.array_equal(distinct_indices(a, 200, 8, 4), distinct_indices_by_stable_argsort(b, 200, 8, 4))
        assert a.bit_generator.state == b.bit_generator.state


def test_distinct_indices_equal_the_plain_algorithm_past_16_bit_positions():
    # about 30,400 draws per trial (16-bit positions, near their limit), then about 34,100 (past it: 32-bit)
    for N, k in ((40_000, 20_000), (10**6, 33_000)):
        a, b = np.random.default_rng(N), np.random.default_rng(N)
        assert np.array_equal(distinct_indices(a, 2, N, k), distinct_indices_by_stable_argsort(b, 2, N, k))
        assert a.bit_generator.state == b.bit_generator.state


def layouts():
    rng = np.random.default_rng(0)
    pool = rng.standard_normal((5, 12, 3))
    return {
        "C-ordered": pool,
        "a pool's first rows": pool[:, :7],
        "a slice of rows": pool[:, 2:9],
        "every other row": pool[:, ::2],
        "trials reversed": pool[::-1, :7],
        "rows reversed": pool[:, ::-1],
        "broadcast trials": np.broadcast_to(pool[:1], pool.shape),
        "Fortran-ordered": np.asfortranarray(pool),
        "one trial": pool[:1],
        "no trailing axis": pool[:, :, 0],
        "two trailing axes": rng.standard_normal((4, 6, 2, 3)),
    }


@pytest.mark.parametrize("name", list(layouts()))
def test_take_rows_equals_take_along_axis(name):
    data = layouts()[name]
    idx = np.random.default_rng(1).integers(0, data.shape[1], size=(data.shape[0], 9))
    plain = np.take_along_axis(data, idx.reshape(idx.shape + (1,) * (data.ndim - 2)), axis=1)
    assert np.array_equal(take_rows(data, idx), plain)


@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("R, r, k", [(3, 40, 400), (6, 4, 5), (2, 60, 1)])
def test_triangular_products_equal_matmul(left, R, r, k):
    """Above gaussian.TRMM_WORK a BLAS trmm per trial (in place), below it one batched matmul."""
    rng = np.random.default_rng(2)
    root = np.tril(rng.standard_normal((R, r, r)))
    b = rng.standard_normal((R, r, k) if left else (R, k, r))
    plain = root @ b if left else b @ root.swapaxes(1, 2)
    np.testing.assert_allclose(gaussian._tri_product(root, b.copy(), True, left), plain, rtol=1e-12, atol=1e-12)
    # a root that is not triangular is never taken as one
    full = rng.standard_normal((R, r, r))
    plain = full @ b if left else b @ full.swapaxes(1, 2)
    np.testing.assert_allclose(gaussian._tri_product(full, b.copy(), False, left), plain, rtol=1e-12, atol=1e-12)


def test_log_det_from_the_cholesky_factor_equals_slogdet():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 200, 30))
    cov = x.swapaxes(1, 2) @ x / 200
    root, lower = gaussian._root(cov)
    assert lower
    np.testing.assert_allclose(gaussian._log_det(cov, root, lower), np.linalg.slogdet(cov)[1], rtol=1e-12)


def plain_sufficient(trials, rng, *, d, n, generations, estimator, workflow, sigma=1.0):
    """The sufficient-statistics loop as its docstring states it, without shortcuts: every scatter formed,
    its trace and slogdet taken, every product a full matmul, each root a fresh Cholesky factor."""
    ddof = 1 if estimator == "unbiased" else 0
    R, r = trials, min(d, n - 1)
    mean = sigma * rng.standard_normal((R, d)) / np.sqrt(n)
    factor = sigma * gaussian._wishart_factor(rng, R, d, n - 1)
    basis = None
    if r < d:
        basis, factor = np.linalg.qr(factor)
    scatter, count, out = factor @ factor.swapaxes(1, 2), n, []
    for t in range(generations):
        cov = scatter / (count - ddof)
        logdet = np.linalg.slogdet(cov)[1] if r == d else np.full(R, -np.inf)
        out.append(((mean * mean).sum(1), np.trace(cov, axis1=1, axis2=2), logdet))
        if t == generations - 1:
            break
        root = factor / np.sqrt(n - ddof) if workflow == "replace" else np.linalg.cholesky(cov)
        shift = (rng.standard_normal((R, 1, r)) @ root.swapaxes(1, 2))[:, 0, :] / np.sqrt(n)
        factor = root @ gaussian._wishart_factor(rng, R, r, n - 1)
        step = shift if basis is None else (basis @ shift[:, :, None])[:, :, 0]
        if workflow == "replace":
            mean, scatter = mean + step, factor @ factor.swapaxes(1, 2)
        else:
            scatter = scatter + factor @ factor.swapaxes(1, 2) + (count * n / (count + n)) * (shift[:, :, None] * shift[:, None, :])
            mean = mean + step * (n / (count + n))
            count += n
    return {q: np.stack([o[i] for o in out], axis=1) for i, q in enumerate(("mean_sq_error", "trace", "log_det"))}


@pytest.mark.parametrize("workflow", ["replace", "accumulate"])
@pytest.mark.parametrize("d, n", [(40, 400), (40, 20), (3, 50)])
def test_the_sufficient_sampler_equals_its_plain_loop(workflow, d, n):
    """replace's scatter kept as F F^T (trace ||F||^2, log det from F's diagonal), triangular products by
    trmm, accumulate's one Cholesky factor per generation: the plain loop's numbers, to rounding."""
    kw = dict(d=d, n=n, generations=5, estimator="unbiased", workflow=workflow)
    fast_rng, plain_rng = np.random.default_rng(4), np.random.default_rng(4)
    fast = gaussian.simulate(6, fast_rng, sampler="sufficient", outputs=["log_det"], **kw)
    plain = plain_sufficient(6, plain_rng, **kw)
    assert fast_rng.bit_generator.state == plain_rng.bit_generator.state
    for q in ("mean_sq_error", "trace"):
        np.testing.assert_allclose(fast[q], plain[q], rtol=1e-10)
    np.testing.assert_allclose(fast["log_det"], plain["log_det"], rtol=0, atol=1e-9)


@pytest.mark.parametrize("workflow", ["replace", "accumulate-subsample", "real-fraction"])
def test_the_points_sampler_equals_plain_products_and_slogdet(workflow, monkeypatch):
    """The Cholesky factor's log det and trmm products against slogdet and full matmul products."""
    kw = dict(d=30, n=400, generations=5, estimator="mle", workflow=workflow,
              real_fraction=0.5 if workflow == "real-fraction" else None)
    fast = gaussian.simulate(4, np.random.default_rng(5), **kw)

    def plain_log_det(cov, root, lower):
        sign, logdet = np.linalg.slogdet(cov)
        return np.where(sign > 0, logdet, -np.inf)

    monkeypatch.setattr(gaussian, "TRMM_WORK", np.inf)
    monkeypatch.setattr(gaussian, "_log_det", plain_log_det)
    plain = gaussian.simulate(4, np.random.default_rng(5), **kw)
    for q in ("mean_sq_error", "trace", "w2"):
        np.testing.assert_allclose(fast[q], plain[q], rtol=1e-10)
    np.testing.assert_allclose(fast["log_det"], plain["log_det"], rtol=0, atol=1e-9)


def plain_fit(x, ddof, overwrite=False):
    """The fit as its docstring states it: x.mean (numpy's sum over the points), a new centred copy."""
    mu = x.mean(axis=1)
    c = x - mu[:, None, :]
    m, d = x.shape[1:]
    root = c.swapaxes(1, 2) / np.sqrt(m - ddof) if m <= d else None
    return mu, (c.swapaxes(1, 2) @ c) / (m - ddof), root


#: Every points workflow at regular sizes; and fits to n <= d points (their root: the centred points, made
#: from the training set centred in place) where the training set is n points (more, from a hull of
#: dimension n - 1 < d, would be singular only up to rounding, which its symmetric root amplifies to 1e-8).
POOL_CASES = [(w, d, n) for w in ("accumulate-subsample", "accumulate-subsample-replacement", "replace",
                                  "real-plus-synthetic", "real-fraction") for d, n in ((1, 50), (3, 40), (12, 30))] + [
    ("accumulate-subsample", 12, 8), ("replace", 12, 8),
    # above gaussian.TRMM_WORK: the batch multiplied by L by trmm per trial, then copied into the pool's slot
    ("accumulate-subsample", 40, 400)]


@pytest.mark.parametrize("workflow, d, n", POOL_CASES)
def test_sampling_into_the_pool_and_centring_in_place_equal_the_plain_path(workflow, d, n, monkeypatch):
    """Batches sampled straight into the pool's next rows (ArrayPool.slot), the mean as 1^T x / m, a gathered
    training set centred in place: the plain path's numbers (a copy into the pool, x.mean, a new centred array),
    and the stored real data left as they were."""
    kw = dict(d=d, n=n, generations=6, estimator="unbiased", workflow=workflow,
              real_fraction=0.5 if workflow == "real-fraction" else None)
    fast_rng, plain_rng = np.random.default_rng(8), np.random.default_rng(8)
    fast = gaussian.simulate(5, fast_rng, **kw)
    monkeypatch.setattr(ArrayPool, "slot", lambda self, m: None)
    monkeypatch.setattr(gaussian, "_fit", plain_fit)
    plain = gaussian.simulate(5, plain_rng, **kw)
    assert fast_rng.bit_generator.state == plain_rng.bit_generator.state
    # W2 sums the roots of the eigenvalues: of a singular covariance (n <= d) those of its zero eigenvalues
    # are roots of rounding (1e-8), so it is compared where the covariance is regular.
    for q in ("mean_sq_error", "trace", "w2") if n > d else ("mean_sq_error", "trace", "mean_error"):
        np.testing.assert_allclose(fast[q], plain[q], rtol=1e-10)
    np.testing.assert_allclose(fast["log_det"], plain["log_det"], rtol=0, atol=1e-9)


def test_a_fit_centres_in_place_only_what_the_pool_does_not_hold():
    """The real data (a view of the pool) are never overwritten by the fit of generation 1."""
    from numerics.driver import Chain
    from numerics.workflows import workflow_of

    cfg = gaussian.GaussianSettings.build(dict(d=3, n=20, workflow="accumulate-subsample"))
    family, flow = gaussian.GaussianFamily(cfg), workflow_of("accumulate-subsample", 20)
    rng = np.random.default_rng(9)
    chain = Chain(flow, 3, 4)
    real = family.real(chain, rng)
    chain.pool = family.pool(real.copy(), flow, 3)
    train = chain.pool.gather(flow.plan(1, chain.pool.sizes, rng, 4))
    assert chain.pool.holds(train)
    family.fit(train, chain, rng)
    assert np.array_equal(chain.pool.real, real)


def test_the_points_sampler_draws_the_documented_numbers():
    """Real data (R, n, d), then one batch (R, n, d) per later generation: nothing else (replace)."""
    rng, ref = np.random.default_rng(6), np.random.default_rng(6)
    gaussian.simulate(3, rng, d=40, n=300, generations=4, estimator="mle", workflow="replace")
    for _ in range(4):
        ref.standard_normal((3, 300, 40))
    assert rng.bit_generator.state == ref.bit_generator.state


@pytest.mark.parametrize("workflow", ["replace", "accumulate"])
@pytest.mark.parametrize("chunk", [regression.CHUNK, 7, 3 * 12 * 5])
def test_the_fixed_design_shortcut_equals_the_plain_loop_in_any_chunks(workflow, chunk, monkeypatch):
    """Noise projected a chunk of generations at once (one generation per chunk at 7 numbers; 3 of 10
    generations at 180), w_k - w* as running sums: the plain loop's numbers and the same draws."""
    monkeypatch.setattr(regression, "CHUNK", chunk)
    kw = dict(d=5, T=12, generations=10, sigma=0.7, workflow=workflow, eigenvalues=[0.5, 0.875, 1.25, 1.625, 2.0])
    fast_rng, plain_rng = np.random.default_rng(7), np.random.default_rng(7)
    fast = regression.simulate_fixed_design(5, fast_rng, **kw)["test_error"]
    plain = regression.simulate_fixed_design(5, plain_rng, shortcut=False, **kw)["test_error"]
    np.testing.assert_allclose(fast, plain, rtol=1e-10)
    assert fast_rng.bit_generator.state == plain_rng.bit_generator.state
