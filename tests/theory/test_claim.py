"""Claim evaluation helpers."""

import pytest

from theory import CLAIMS


@pytest.mark.parametrize("claim_id, index, values", [
    ("mvgaussian.mean_sq_error", "t", dict(sigma2=2.0, d=3, n=7, estimator="mle", workflow="accumulate-subsample")),
    ("mvgaussian.trace_ratio", "t", dict(sigma2=1.0, d=2, n=5, estimator="unbiased",
                                         workflow="accumulate-subsample-replacement")),
    ("mvgaussian.mean_sq_error", "t", dict(sigma2=1.0, d=3, n=7, estimator="mle", workflow="accumulate")),
    ("kde.accumulate.variance", "t", dict(sigma=1.0, n=20, h=[0.3, 0.2, 0.1, 0.3, 0.2], bandwidth="fixed")),
    ("kde.replace.variance", "t", dict(sigma=1.5, n=20, bandwidth="silverman")),
    ("universality.variance_ratio", "k", dict(workflow="accumulate-subsample")),
])
def test_evaluate_along_is_evaluate_at_each_point(claim_id, index, values):
    """One pass of a recursion gives the same numbers as evaluating each generation on its own."""
    claim = CLAIMS[claim_id]
    at = [1, 2, 3, 5, 4]
    assert claim.evaluate_along(index, at, **values) == [claim.evaluate(**values, **{index: a}) for a in at]
    assert claim.evaluate_along(index, [], **values) == []
