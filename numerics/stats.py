"""Estimates, standard errors and tests for holding a claim against simulation (or deep runs).

One mergeable summary of per-trial values, :class:`Summary`, serves `collapse verify`, `collapse
check`, sweeps and the deep experiments alike. Each block of trials is summarised on its own (count,
mean, central moments to the fourth order, and co-moments with a reference column), and summaries
merge exactly by Pebay's pairwise update (the higher-order generalisation of Chan, Golub & LeVeque's):
merged in a fixed order, the blocks give the same bits wherever they were computed, and memory stays
flat however many trials run. From a summary:

* a mean: the sample mean, standard error s / sqrt(N);
* a variance (e.g. Var W2^2): the sample variance, standard error sqrt((m4 - m2^2) / N) from the fourth
  central moment (the delta method; valid for finite fourth moments);
* a ratio of means mean(a) / mean(b) (b a reference column, e.g. generation 1): the delta method.

Tests: a row's statistic is compared with its theory by a z-test, or by Student's t with N - 1 degrees
of freedom where the row has few trials (N < :data:`T_TEST_BELOW`: deep experiments run 3-30 seeds, for
which the normal approximation rejects too often); each row records the test it used. Exact claims are
tested two-sided, bounds one-sided. p-values are corrected across a whole table by Holm's method,
which controls the family-wise error rate under any dependence (successive generations of one chain
are dependent). A row whose theory, estimate or standard error is not a number never passes.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from .defaults import ALPHA

#: Rows with fewer trials than this are tested with Student's t (N - 1 degrees of freedom), others by z.
T_TEST_BELOW = 100


@dataclass
class Summary:
    """Column-wise count, mean and central sums of per-trial values, mergeable exactly.

    ``m2``, ``m3``, ``m4`` are the sums of (x - mean)^p over trials; with a reference column b (for
    ratios), ``ref_mean``, ``ref_m2`` are b's and ``co`` the sum of (x - mean)(b - ref_mean).
    """

    n: int
    mean: np.ndarray
    m2: np.ndarray
    m3: np.ndarray
    m4: np.ndarray
    ref_mean: np.ndarray | None = None
    ref_m2: np.ndarray | None = None
    co: np.ndarray | None = None

    @classmethod
    def of(cls, values, ref=None) -> Summary:
        """The summary of a block: ``values`` (N, C) (or (N,)), and optionally a reference column ``ref``
        (N,) or (N, C) for ratios mean(values) / mean(ref)."""
        x = np.asarray(values, dtype=float)
        if x.ndim == 1:
            x = x[:, None]
        with np.errstate(invalid="ignore", over="ignore"):
            mean = x.mean(axis=0)
            c = x - mean
            c2 = c * c
            out = cls(x.shape[0], mean, c2.sum(0), (c2 * c).sum(0), (c2 * c2).sum(0))
            if ref is not None:
                b = np.broadcast_to(np.asarray(ref, dtype=float).reshape(len(x), -1), x.shape)
                out.ref_mean = b.mean(axis=0)
                cb = b - out.ref_mean
                out.ref_m2, out.co = (cb * cb).sum(0), (c * cb).sum(0)
        return out

    def merge(self, other: Summary) -> Summary:
        """The summary of both sets of trials (Pebay 2008, eqs. 3.1 and 2.1; co-moments likewise)."""
        na, nb = self.n, other.n
        n = na + nb
        with np.errstate(invalid="ignore", over="ignore"):
            delta = other.mean - self.mean
            d_n = delta / n
            mean = self.mean + nb * d_n
            m2 = self.m2 + other.m2 + delta * d_n * na * nb
            m3 = (self.m3 + other.m3 + delta * d_n * d_n * na * nb * (na - nb)
                  + 3 * d_n * (na * other.m2 - nb * self.m2))
            m4 = (self.m4 + other.m4 + delta * d_n**3 * na * nb * (na * na - na * nb + nb * nb)
                  + 6 * d_n * d_n * (na * na * other.m2 + nb * nb * self.m2) + 4 * d_n * (na * other.m3 - nb * self.m3))
            out = Summary(n, mean, m2, m3, m4)
            if self.co is not None and other.co is not None:
                db = other.ref_mean - self.ref_mean
                out.ref_mean = self.ref_mean + db * (nb / n)
                out.ref_m2 = self.ref_m2 + other.ref_m2 + db * db * (na * nb / n)
                out.co = self.co + other.co + delta * db * (na * nb / n)
        return out

    @classmethod
    def merge_all(cls, parts) -> Summary:
        """Merge summaries in the order given (the order fixes the bits)."""
        parts = list(parts)
        acc = parts[0]
        for p in parts[1:]:
            acc = acc.merge(p)
        return acc

    # -- estimates: (estimate, standard error), per column -------------------------------------

    def estimate(self, statistic: str = "mean") -> tuple[np.ndarray, np.ndarray]:
        return {"mean": self.mean_se, "variance": self.variance_se, "ratio": self.ratio_se}[statistic]()

    def mean_se(self) -> tuple[np.ndarray, np.ndarray]:
        """Sample mean and its standard error (NaN for a single trial)."""
        if self.n < 2:
            return self.mean, np.full_like(self.mean, np.nan)
        with np.errstate(invalid="ignore"):
            return self.mean, np.sqrt(self.m2 / (self.n - 1) / self.n)

    def variance_se(self) -> tuple[np.ndarray, np.ndarray]:
        """Unbiased sample variance and its delta-method standard error."""
        n = self.n
        c2, c4 = self.m2 / n, self.m4 / n
        with np.errstate(invalid="ignore"):
            return self.m2 / (n - 1), np.sqrt(np.maximum(c4 - c2 * c2, 0) / n)

    def ratio_se(self) -> tuple[np.ndarray, np.ndarray]:
        """mean(values) / mean(ref) and its delta-method standard error."""
        if self.co is None:
            raise ValueError("this summary has no reference column: summarise with Summary.of(values, ref)")
        n = self.n
        ma, mb = self.mean, self.ref_mean
        va, vb, cab = self.m2 / n, self.ref_m2 / n, self.co / n
        with np.errstate(invalid="ignore", divide="ignore"):
            r = ma / mb
            var = (va / mb**2 - 2 * ma * cab / mb**3 + ma**2 * vb / mb**4) / n
            return r, np.sqrt(np.maximum(var, 0) * n / (n - 1))


# -- tests ------------------------------------------------------------------------------------------


def which_test(trials: int) -> str:
    """The test a row with this many trials uses: 't(N-1)' or 'z'."""
    return f"t({trials - 1})" if trials < T_TEST_BELOW else "z"


def p_value(z: float, alternative: str, dof: int | None = None) -> float:
    """p-value of a statistic: normal, or Student's t with ``dof`` degrees of freedom.

    'two-sided'; 'greater' (H0: mean >= theory, small when z << 0); 'less' (H0: mean <= theory).
    """
    if math.isnan(z):
        return float("nan")
    if dof is not None:
        from scipy import stats

        if alternative == "two-sided":
            return float(2 * stats.t.sf(abs(z), dof))
        return float(stats.t.cdf(z, dof) if alternative == "greater" else stats.t.sf(z, dof))
    if alternative == "two-sided":
        return math.erfc(abs(z) / math.sqrt(2))
    if alternative == "greater":
        return 0.5 * math.erfc(-z / math.sqrt(2))  # P(Z <= z)
    return 0.5 * math.erfc(z / math.sqrt(2))  # P(Z >= z)


def holm(pvalues: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values (family-wise error control under any dependence).

    A NaN p-value is treated as 0 (the most significant): it can only make rows fail, never pass.
    """
    p = [0.0 if math.isnan(x) else x for x in pvalues]
    m = len(p)
    order = sorted(range(m), key=lambda i: p[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adjusted[i] = running
    return adjusted


@dataclass
class Row:
    """One line of a verification table."""

    claim: str
    variant: dict
    point: dict
    generation: int | None
    kind: str  # exact, asymptotic, lower (the quantity is at least the claim), upper (at most)
    statistic: str  # mean, variance, ratio (extrapolated), discrepancy (extrapolated)
    theory: float
    estimate: float
    se: float
    trials: int
    seed: int | None = None
    alternative: str = "two-sided"
    test: str = "z"  # z, or t(dof)
    z: float = float("nan")
    p: float = float("nan")
    p_adjusted: float = float("nan")
    verdict: str = ""
    note: str = ""
    simulator: str = ""  # the catalog simulator that ran the procedure (numpy, or the deep bridge)
    extra: dict = field(default_factory=dict)
    #: The smallest error of the theory this row rejects with probability POWER after the table's Holm
    #: correction: relative to the theory (absolute where the theory is 0, a discrepancy's limit).
    detectable: float = float("nan")

    def compute(self) -> None:
        """z (or t), p and, for a value that is not a number, a note saying so."""
        values = (self.theory, self.estimate, self.se)
        if any(isinstance(v, float) and math.isnan(v) for v in values) or math.isinf(self.theory):
            self.z, self.p = float("nan"), float("nan")
            what = [name for name, v in zip(("theory", "estimate", "standard error"), values) if math.isnan(v)]
            self.note = (self.note + "; " if self.note else "") + f"not a number: {', '.join(what) or 'theory'}"
            return
        diff = self.estimate - self.theory
        self.z = diff / self.se if self.se > 0 else (0.0 if diff == 0 else math.copysign(math.inf, diff))
        dof = int(self.test[2:-1]) if self.test.startswith("t(") else None
        self.p = p_value(self.z, self.alternative, dof)

    def as_dict(self) -> dict:
        return asdict(self)


class Table(list):
    """A verification table: a list of :class:`Row` that also reads as a pandas DataFrame (``to_frame()``),
    and shows as an HTML table in a notebook."""

    def to_frame(self):
        """One row per comparison: the columns of `collapse verify` (variant and point as ``name=value`` text),
        then trials, the detectable error and the note."""
        import pandas as pd

        text = lambda d: " ".join(f"{k}={v}" for k, v in d.items())  # noqa: E731
        return pd.DataFrame([dict(claim=r.claim, variant=text(r.variant), simulator=r.simulator, point=text(r.point),
                                  generation=r.generation, kind=r.kind, statistic=r.statistic, theory=r.theory,
                                  estimate=r.estimate, se=r.se, test=r.test, z=r.z, p_adjusted=r.p_adjusted,
                                  verdict=r.verdict, trials=r.trials, detectable=r.detectable, note=r.note)
                             for r in self])

    def _repr_html_(self) -> str:
        return self.to_frame()._repr_html_()


def finish(rows: list[Row], alpha: float = ALPHA) -> Table:
    """Test every row, correct across the table (Holm), and give verdicts.

    Rows already marked ``skip`` (a comparison not valid at this many trials) are left out of the
    correction. A row whose p-value is not a number gets the verdict ``FAIL`` (never ``pass``).
    """
    tested = [r for r in rows if r.verdict != "skip"]
    for r in tested:
        r.compute()
        r.detectable = detectable(r, alpha, len(tested))
    for r, adj in zip(tested, holm([r.p for r in tested])):
        r.p_adjusted = float("nan") if math.isnan(r.p) else adj
        r.verdict = "pass" if not math.isnan(r.p) and adj >= alpha else "FAIL"
    return Table(rows)


#: The power at which a row's detectable error is stated.
POWER = 0.99


def detectable(row: Row, alpha: float, m: int) -> float:
    """The error of the theory a row detects with probability POWER at family-wise ``alpha`` over ``m`` rows:
    (z_{1 - alpha/(k m)} + z_POWER) se (Student's t for a t row), k = 2 two-sided, 1 one-sided; Holm's first
    step is alpha/m, so this is what the correction guarantees for any row. Relative to the theory's magnitude,
    or absolute where the theory is 0 (the extrapolated gap of a discrepancy study)."""
    from scipy import stats

    if not (row.se > 0) or math.isnan(row.se):
        return float("nan")
    level = alpha / (m * (2 if row.alternative == "two-sided" else 1))
    dist = stats.t(int(row.test[2:-1])) if row.test.startswith("t(") else stats.norm
    shift = (dist.isf(level) + dist.ppf(POWER)) * row.se
    return shift / abs(row.theory) if row.theory else shift


def extrapolate(sizes, values, errors, order: float = 1.0, basis: str = "1/s") -> dict:
    """Weighted least squares of values = a + b size^-order (or, with basis "log", a + b log(s)/s + c/s);
    a is the size -> oo limit.

    Returns a and its standard error, b, and the fit's chi-square with its degrees of freedom (a check
    that the discrepancy shrinks at the stated order).
    """
    s = np.asarray(sizes, dtype=float)
    y, e = np.asarray(values, dtype=float), np.asarray(errors, dtype=float)
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(e)) and np.all(e > 0)):
        nan = float("nan")
        return {"a": nan, "se_a": nan, "b": nan, "chi2": nan, "dof": len(s) - (3 if basis == "log" else 2)}
    X = np.column_stack([np.ones_like(s), s ** (-order)] + ([np.log(s) / s] if basis == "log" else []))
    W = 1 / e**2
    cov = np.linalg.inv(X.T @ (X * W[:, None]))
    coef = cov @ (X.T @ (W * y))
    resid = y - X @ coef
    return {"a": float(coef[0]), "se_a": float(np.sqrt(cov[0, 0])), "b": float(coef[1]),
            "chi2": float((W * resid**2).sum()), "dof": len(s) - X.shape[1]}
