"""The one mergeable summary, the tests (z and Student t), Holm, and verdicts that never come from NaN."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from numerics.stats import Row, Summary, T_TEST_BELOW, extrapolate, finish, holm, p_value, which_test
from numerics.testing import DisagreementError, assert_agrees


def test_summary_matches_numpy_and_is_chunk_invariant():
    rng = np.random.default_rng(3)
    x = 1e6 + rng.standard_exponential((10_000, 3))  # a large offset and a skewed distribution
    ref = x[:, 0] * 0.5 + rng.standard_normal(10_000)
    whole = Summary.of(x, ref)
    parts = Summary.merge_all([Summary.of(a, b) for a, b in zip(np.array_split(x, 7), np.array_split(ref, 7))])
    c = x - x.mean(0)
    for s in (whole, parts):
        np.testing.assert_allclose(s.mean, x.mean(0), rtol=1e-14)
        np.testing.assert_allclose(s.m2, (c**2).sum(0), rtol=1e-9)
        np.testing.assert_allclose(s.m3, (c**3).sum(0), rtol=1e-6)
        np.testing.assert_allclose(s.m4, (c**4).sum(0), rtol=1e-8)
    m, se = parts.mean_se()
    np.testing.assert_allclose(se, x.std(0, ddof=1) / 100, rtol=1e-9)
    v, _ = parts.variance_se()
    np.testing.assert_allclose(v, x.var(0, ddof=1), rtol=1e-9)
    r, rse = parts.ratio_se()
    np.testing.assert_allclose(r, x.mean(0) / ref.mean(), rtol=1e-12)
    np.testing.assert_allclose(rse, whole.ratio_se()[1], rtol=1e-6)


@given(st.lists(st.integers(1, 40), min_size=1, max_size=6), st.integers(0, 2**31), st.floats(-1e6, 1e6))
def test_merged_block_summaries_equal_the_whole(sizes, seed, offset):
    x = offset + np.random.default_rng(seed).standard_normal((sum(sizes), 2))
    blocks = np.split(x, np.cumsum(sizes)[:-1])
    merged = Summary.merge_all([Summary.of(b, b[:, 0]) for b in blocks])
    whole = Summary.of(x, x[:, 0])
    np.testing.assert_allclose(merged.mean, whole.mean, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(merged.m2, whole.m2, rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(merged.co, whole.co, rtol=1e-8, atol=1e-8)


def test_ratio_standard_error_by_simulation():
    """The delta-method SE of a ratio of means matches the spread of the ratio over replications."""
    rng = np.random.default_rng(5)
    ratios, ses = [], []
    for _ in range(400):
        b = rng.gamma(4.0, 1.0, 500)
        a = 0.7 * b + rng.standard_normal(500)
        r, se = Summary.of(a, b).ratio_se()
        ratios.append(r[0]), ses.append(se[0])
    # 400 replications estimate the SD to about 3.5%: 15% is over four of those
    assert np.std(ratios, ddof=1) == pytest.approx(np.mean(ses), rel=0.15)


def test_few_trials_use_student_t():
    assert which_test(10) == "t(9)" and which_test(T_TEST_BELOW) == "z"
    assert p_value(2.0, "two-sided", dof=4) == pytest.approx(2 * stats.t.sf(2.0, 4))
    assert p_value(2.0, "two-sided") == pytest.approx(2 * stats.norm.sf(2.0))
    row = Row("c", {}, {}, 1, "exact", "mean", theory=0.0, estimate=1.0, se=0.4, trials=5, test=which_test(5))
    finish([row])
    assert row.p == pytest.approx(2 * stats.t.sf(2.5, 4))


def test_student_t_rows_are_calibrated_with_five_seeds():
    """Five seeds per row, normal per-seed values: the t test rejects at its level; z would not."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((4000, 5))
    se = x.std(axis=1, ddof=1) / math.sqrt(5)
    z = x.mean(axis=1) / se
    t_rate = np.mean([p_value(v, "two-sided", 4) < 0.05 for v in z])
    z_rate = np.mean([p_value(v, "two-sided") < 0.05 for v in z])
    assert abs(t_rate - 0.05) < 0.012  # binomial SE at 4000 draws: 0.0034
    assert z_rate > 0.10


def test_a_verdict_never_comes_from_nan():
    rows = [Row("c", {}, {}, g, "exact", "mean", theory=th, estimate=est, se=se, trials=1000)
            for g, (th, est, se) in enumerate([(1.0, 1.0, 0.1), (float("nan"), 1.0, 0.1), (1.0, float("nan"), 0.1),
                                               (1.0, 1.0, float("nan")), (float("inf"), 1.0, 0.1)])]
    finish(rows)
    assert [r.verdict for r in rows] == ["pass", "FAIL", "FAIL", "FAIL", "FAIL"]
    assert all("not a number" in r.note for r in rows[1:])


def test_holm():
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5]) == [0.5]
    assert holm([float("nan"), 0.5]) == [0.0, 0.5]


def test_extrapolation_recovers_the_limit():
    sizes = (50, 100, 200, 400)
    fit = extrapolate(sizes, [2 + 3 / s for s in sizes], [0.01] * 4)
    assert fit["a"] == pytest.approx(2, abs=1e-12) and fit["b"] == pytest.approx(3) and fit["chi2"] < 1e-20
    # se(a) for equal errors e: e * sqrt(sum x^2 / (n sum x^2 - (sum x)^2)), x = 1/size
    x = np.array([1 / s for s in sizes])
    expected = 0.01 * np.sqrt((x**2).sum() / (4 * (x**2).sum() - x.sum() ** 2))
    assert fit["se_a"] == pytest.approx(expected, rel=1e-12)
    assert math.isnan(extrapolate(sizes, [1, 2, float("nan"), 3], [0.1] * 4)["a"])


def test_assert_agrees_reports_everything_needed_to_judge_a_failure():
    assert assert_agrees(1.0, 0.1, 1.05, seed=3) > 0.5
    with pytest.raises(DisagreementError) as e:
        assert_agrees([1.0, 2.0], [0.1, 0.1], [1.0, 3.0], seed=42, what="mean error")
    text = str(e.value)
    for part in ("mean error", "seed 42", "theory 3", "estimate 2", "se 0.1", "z = -10", "2 comparisons"):
        assert part in text, text
    with pytest.raises(DisagreementError, match="nan"):
        assert_agrees(float("nan"), 0.1, 1.0)
    assert_agrees(2.0, 0.1, 1.0, alternative="greater")  # a lower bound holds
    with pytest.raises(DisagreementError, match="t\\(4\\)"):
        assert_agrees(0.0, 0.1, 1.0, trials=5)
