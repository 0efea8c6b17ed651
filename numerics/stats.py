"""Estimates, standard errors and tests for holding a claim against simulation.

Per-trial values are reduced block by block into power sums (shifted by the first block's mean, so
that a mean far from zero loses no precision), so memory stays flat however many trials run.

* a mean: estimate the sample mean, standard error s / sqrt(N);
* a variance (e.g. Var W2^2): estimate the sample variance, standard error sqrt((m4 - m2^2) / N) from
  the fourth central moment (the delta method; valid for finite fourth moments).

Tests are z-tests (normal approximation, N in the thousands): two-sided for an exact claim, one-sided
for a bound. p-values are corrected across the whole table by Holm's method, which controls the
family-wise error rate under any dependence (successive generations of one chain are dependent).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

#: Family-wise significance level of `collapse verify`.
ALPHA = 0.01


class Moments:
    """Column-wise power sums (orders 1-4) of per-trial values, about a fixed shift."""

    def __init__(self) -> None:
        self.n = 0
        self.shift: np.ndarray | None = None
        self.s = None  # (4, C)

    def add(self, values: np.ndarray) -> None:
        values = np.asarray(values, dtype=float)
        if values.ndim == 1:
            values = values[:, None]
        if self.shift is None:
            self.shift = values.mean(axis=0)
            self.s = np.zeros((4, values.shape[1]))
        c = values - self.shift
        c2 = c * c
        self.s += np.stack([c.sum(0), c2.sum(0), (c2 * c).sum(0), (c2 * c2).sum(0)])
        self.n += values.shape[0]

    def _central(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n = self.n
        m1, m2, m3, m4 = (self.s[i] / n for i in range(4))
        c2 = m2 - m1**2
        c4 = m4 - 4 * m1 * m3 + 6 * m1**2 * m2 - 3 * m1**4
        return m1, np.maximum(c2, 0), np.maximum(c4, 0)

    def mean(self) -> tuple[np.ndarray, np.ndarray]:
        """Sample mean and its standard error, per column."""
        m1, c2, _ = self._central()
        var = c2 * self.n / (self.n - 1)
        return self.shift + m1, np.sqrt(var / self.n)

    def variance(self) -> tuple[np.ndarray, np.ndarray]:
        """Unbiased sample variance and its (delta-method) standard error, per column."""
        _, c2, c4 = self._central()
        return c2 * self.n / (self.n - 1), np.sqrt(np.maximum(c4 - c2**2, 0) / self.n)


def p_value(z: float, alternative: str) -> float:
    """Normal p-value: 'two-sided', 'greater' (H0: mean >= theory, small when z << 0) or 'less'."""
    if math.isnan(z):
        return float("nan")
    if alternative == "two-sided":
        return math.erfc(abs(z) / math.sqrt(2))
    if alternative == "greater":
        return 0.5 * math.erfc(-z / math.sqrt(2))  # P(Z <= z)
    return 0.5 * math.erfc(z / math.sqrt(2))  # P(Z >= z)


def holm(pvalues: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values (family-wise error control under any dependence)."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        adjusted[i] = running
    return adjusted


@dataclass
class Row:
    """One line of the verification table."""

    claim: str
    variant: dict
    point: dict
    generation: int | None
    kind: str  # exact, bound (lower / upper)
    statistic: str  # mean or variance
    theory: float
    estimate: float
    se: float
    trials: int
    seed: int | None = None
    alternative: str = "two-sided"
    z: float = float("nan")
    p: float = float("nan")
    p_adjusted: float = float("nan")
    verdict: str = ""
    note: str = ""
    extra: dict = field(default_factory=dict)

    def test(self) -> None:
        self.z = (self.estimate - self.theory) / self.se if self.se > 0 else (0.0 if self.estimate == self.theory else math.copysign(math.inf, self.estimate - self.theory))
        self.p = p_value(self.z, self.alternative)

    def as_dict(self) -> dict:
        return asdict(self)


def finish(rows: list[Row], alpha: float = ALPHA) -> list[Row]:
    """Test every row, correct across the table (Holm), and give verdicts.

    Rows already marked ``skip`` (a comparison not valid at this many trials) are left out of the
    correction and get no verdict of their own.
    """
    tested = [r for r in rows if r.verdict != "skip"]
    for r in tested:
        r.test()
    for r, adj in zip(tested, holm([r.p for r in tested])):
        r.p_adjusted = adj
        r.verdict = "pass" if adj >= alpha else "FAIL"
    return rows


@dataclass
class MeanVar:
    """Count, mean and centred sum of squares per column, for results computed in pieces.

    Each piece (a block of trials) is summarised on its own; :meth:`merge` combines two summaries
    exactly (Chan, Golub & LeVeque's pairwise update). Merged in a fixed order, the pieces give the same
    bits wherever they were computed.
    """

    n: int
    mean: np.ndarray
    m2: np.ndarray

    @classmethod
    def of(cls, values: np.ndarray) -> MeanVar:
        values = np.asarray(values, dtype=float)
        mean = values.mean(axis=0)
        with np.errstate(invalid="ignore"):  # a column with infinite values: mean +-inf, m2 (and se) nan
            c = values - mean
        return cls(values.shape[0], mean, (c * c).sum(axis=0))

    def merge(self, other: MeanVar) -> MeanVar:
        n = self.n + other.n
        with np.errstate(invalid="ignore"):
            delta = other.mean - self.mean
            return MeanVar(n, self.mean + delta * (other.n / n), self.m2 + other.m2 + delta**2 * (self.n * other.n / n))

    def estimate(self) -> tuple[np.ndarray, np.ndarray]:
        """Sample mean and its standard error, per column (nan standard error for a single trial)."""
        if self.n < 2:
            return self.mean, np.full_like(self.mean, np.nan)
        return self.mean, np.sqrt(self.m2 / (self.n - 1) / self.n)


class RatioMoments:
    """Column-wise sums for ratios of means, mean(a_k) / mean(b), with delta-method standard errors."""

    def __init__(self) -> None:
        self.n = 0
        self.sums = None  # a, b, a^2, b^2, a b: (5, K)

    def add(self, a: np.ndarray, b: np.ndarray) -> None:
        a = np.asarray(a, dtype=float)
        b = np.broadcast_to(np.asarray(b, dtype=float)[:, None], a.shape)
        block = np.stack([a.sum(0), b.sum(0), (a * a).sum(0), (b * b).sum(0), (a * b).sum(0)])
        self.sums = block if self.sums is None else self.sums + block
        self.n += a.shape[0]

    def merge(self, other: RatioMoments) -> RatioMoments:
        merged = RatioMoments()
        merged.n, merged.sums = self.n + other.n, self.sums + other.sums
        return merged

    def estimate(self) -> tuple[np.ndarray, np.ndarray]:
        return self.ratio()

    def ratio(self) -> tuple[np.ndarray, np.ndarray]:
        n = self.n
        ma, mb, maa, mbb, mab = (s / n for s in self.sums)
        va, vb, cab = maa - ma**2, mbb - mb**2, mab - ma * mb
        r = ma / mb
        var = (va / mb**2 - 2 * ma * cab / mb**3 + ma**2 * vb / mb**4) / n
        return r, np.sqrt(np.maximum(var, 0) * n / (n - 1))


def extrapolate(sizes, values, errors, order: float = 1.0) -> dict:
    """Weighted least squares of values = a + b size^-order; a is the size -> oo limit.

    Returns a and its standard error, b, and the fit's chi-square with its degrees of freedom (a check
    that the discrepancy shrinks at the stated order).
    """
    s = np.asarray(sizes, dtype=float)
    y, e = np.asarray(values, dtype=float), np.asarray(errors, dtype=float)
    X = np.column_stack([np.ones_like(s), s ** (-order)])
    W = 1 / e**2
    cov = np.linalg.inv(X.T @ (X * W[:, None]))
    coef = cov @ (X.T @ (W * y))
    resid = y - X @ coef
    return {"a": float(coef[0]), "se_a": float(np.sqrt(cov[0, 0])), "b": float(coef[1]),
            "chi2": float((W * resid**2).sum()), "dof": len(s) - 2}
