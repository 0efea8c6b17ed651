"""categorical.*: frequencies refitted on their own samples, held against exact enumeration.

Every exact claim is compared with a brute-force enumeration of all multinomial (and hypergeometric)
outcomes in rational arithmetic over a few generations; the diffusion-limit collapse time with the
exact absorption time of the chain along a ladder of n.
"""

from __future__ import annotations

import math
from fractions import Fraction as F
from functools import lru_cache

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st
from scipy.special import gammaln
from scipy.stats import binom

from theory import CLAIMS
from theory import symbols as S
from theory.categorical import _real_fraction_parts, wright_fisher_loss, wright_fisher_survival
from theory.evaluation import EvaluationError

DIV = CLAIMS["categorical.diversity"]
LOSS = CLAIMS["categorical.loss_probability"]
SURV = CLAIMS["categorical.surviving_symbols"]
TIME = CLAIMS["categorical.collapse_time"]


# -- exact enumeration ---------------------------------------------------------------------------


def compositions(total: int, parts: int):
    if parts == 1:
        yield (total,)
        return
    for a in range(total + 1):
        for rest in compositions(total - a, parts - 1):
            yield (a,) + rest


@lru_cache(maxsize=None)
def multinomial(draws: int, probs: tuple) -> tuple:
    out = []
    for c in compositions(draws, len(probs)):
        w = F(math.factorial(draws))
        for ci, pi in zip(c, probs):
            w = w / math.factorial(ci) * pi**ci
        if w:
            out.append((c, w))
    return tuple(out)


@lru_cache(maxsize=None)
def hypergeometric(counts: tuple, draws: int) -> tuple:
    """Counts of each symbol among `draws` points drawn without replacement from a sample with `counts`."""
    total = math.comb(sum(counts), draws)
    out = []
    for c in compositions(draws, len(counts)):
        w = math.prod(math.comb(C, ci) for C, ci in zip(counts, c))
        if w:
            out.append((c, F(w, total)))
    return tuple(out)


def diversity(counts) -> F:
    N = sum(counts)
    return 1 - sum(F(c, N) ** 2 for c in counts)


def enumerate_chain(p0, n, generations, workflow, real_rows=0):
    """The exact law of the training counts at iterations 1..generations: a list of {state: probability},
    with state = the counts the model is fitted to (for real-fraction: (real sample, training counts))."""
    first = multinomial(n, tuple(p0))
    dist = {(c, c) if workflow == "real-fraction" else c: w for c, w in first}
    laws = [dist]
    for _ in range(generations - 1):
        new: dict = {}
        for state, w in dist.items():
            if workflow == "replace":
                for c, w2 in multinomial(n, tuple(F(x, n) for x in state)):
                    new[c] = new.get(c, 0) + w * w2
            elif workflow == "accumulate":
                N = sum(state)
                for c, w2 in multinomial(n, tuple(F(x, N) for x in state)):
                    pool = tuple(a + b for a, b in zip(state, c))
                    new[pool] = new.get(pool, 0) + w * w2
            else:
                real, train = state
                for sub, w1 in hypergeometric(real, real_rows):
                    for syn, w2 in multinomial(n - real_rows, tuple(F(x, n) for x in train)):
                        key = (real, tuple(a + b for a, b in zip(sub, syn)))
                        new[key] = new.get(key, 0) + w * w1 * w2
        dist = new
        laws.append(dist)
    return laws


def fitted(state, workflow):
    return state[1] if workflow == "real-fraction" else state


P0 = (F(1, 2), F(1, 3), F(1, 6))
D0 = 1 - sum(x * x for x in P0)


def _close(value_mp, exact: F, digits: int = 35):
    with mpmath.workdps(50):
        ref = mpmath.mpf(exact.numerator) / exact.denominator
        assert abs(value_mp - ref) <= mpmath.mpf(10) ** -digits * max(1, abs(ref)), (value_mp, ref)


CASES = [("replace", 0), ("accumulate", 0)] + [("real-fraction", r) for r in range(4)]


@pytest.mark.parametrize("workflow,real_rows", CASES)
def test_diversity_against_enumeration(workflow, real_rows):
    """K = 3, n = 3, t = 1..3: E D_t / D_0 agrees with the enumeration to 35 digits."""
    laws = enumerate_chain(P0, 3, 3, workflow, real_rows)
    extra = {"real_rows": real_rows} if workflow == "real-fraction" else {}
    for t, law in enumerate(laws, start=1):
        exact = sum(w * diversity(fitted(s, workflow)) for s, w in law.items()) / D0
        _close(DIV.evaluate_mp(n=3, t=t, workflow=workflow, **extra), exact)


@pytest.mark.parametrize("workflow,real_rows", [("accumulate", 0), ("real-fraction", 1), ("real-fraction", 2)])
def test_diversity_against_enumeration_four_symbols(workflow, real_rows):
    """K = 4, n = 4, t = 1..3, a different truth: the ratio does not depend on p0 or K."""
    p0 = (F(2, 5), F(1, 4), F(1, 5), F(3, 20))
    d0 = 1 - sum(x * x for x in p0)
    laws = enumerate_chain(p0, 4, 3, workflow, real_rows)
    extra = {"real_rows": real_rows} if workflow == "real-fraction" else {}
    for t, law in enumerate(laws, start=1):
        exact = sum(w * diversity(fitted(s, workflow)) for s, w in law.items()) / d0
        _close(DIV.evaluate_mp(n=4, t=t, workflow=workflow, **extra), exact)


def test_loss_and_survival_against_enumeration():
    """Replace, K = 3, n = 3, t = 1..4: P(count_i = 0) per symbol, the expected number of symbols
    present, and the preserved expected mass of every symbol (and so of every set of symbols). The
    truth is dyadic, so that the double-precision inputs are exact (inputs are validated as doubles)."""
    p0 = (F(1, 2), F(3, 8), F(1, 8))
    laws = enumerate_chain(p0, 3, 4, "replace")
    for t, law in enumerate(laws, start=1):
        present = sum(w * sum(1 for c in s if c) for s, w in law.items())
        _close(SURV.evaluate_mp(probabilities=[float(x) for x in p0], n=3, t=t), present)
        for i, pi in enumerate(p0):
            lost = sum(w for s, w in law.items() if s[i] == 0)
            _close(LOSS.evaluate_mp(p=float(pi), n=3, t=t), lost)
            assert sum(w * F(s[i], 3) for s, w in law.items()) == pi  # E p_t = p: a martingale


# -- diversity: properties -----------------------------------------------------------------------


def _rf(n, t, rows):
    return DIV.evaluate_mp(n=n, t=t, workflow="real-fraction", real_rows=rows)


@given(n=st.integers(2, 200), t=st.integers(1, 60))
def test_diversity_orders_and_bounds(n, t):
    """Every workflow agrees at the first fit (1 - 1/n) and is nonincreasing in t; replace is the lowest,
    and more real points never lower the diversity (n_r = 0 is replace, n_r = n keeps 1 - 1/n)."""
    tol = mpmath.mpf(10) ** -30
    rep = DIV.evaluate_mp(n=n, t=t)
    acc = DIV.evaluate_mp(n=n, t=t, workflow="accumulate")
    with mpmath.workdps(40):
        first = 1 - mpmath.mpf(1) / n
        for wf in ("replace", "accumulate"):
            assert abs(DIV.evaluate_mp(n=n, t=1, workflow=wf) - first) < tol
            assert DIV.evaluate_mp(n=n, t=t + 1, workflow=wf) <= DIV.evaluate_mp(n=n, t=t, workflow=wf) + tol
        assert 0 < rep <= acc + tol and acc <= first + tol
        assert abs(rep - (1 - mpmath.mpf(1) / n) ** t) < tol
        assert abs(_rf(n, t, 0) - rep) < tol
        assert abs(_rf(n, t, n) - first) < tol
        rows = sorted({0, 1, n // 3, n // 2, n - 1, n})
        values = [_rf(n, t, r) for r in rows]
        assert all(b >= a - tol for a, b in zip(values, values[1:]))
        assert all(_rf(n, t + 1, r) <= v + tol for r, v in zip(rows, values))


@given(n=st.integers(2, 60), rho=st.floats(0, 1))
def test_real_fraction_rounds_like_the_simulator(n, rho):
    """n_r = round(rho n) with Python's round of the float product (half to even), as numerics does."""
    rows = int(round(rho * n))
    assert DIV.evaluate(n=n, t=4, workflow="real-fraction", real_fraction=rho) == DIV.evaluate(
        n=n, t=4, workflow="real-fraction", real_rows=rows)


def test_real_fraction_half_rounds_to_even():
    at = dict(n=5, t=3, workflow="real-fraction")
    assert DIV.evaluate(**at, real_fraction=0.5) == DIV.evaluate(**at, real_rows=2)  # round(2.5) = 2
    assert DIV.evaluate(**at, real_fraction=0.5) != DIV.evaluate(**at, real_rows=3)
    assert DIV.evaluate(n=3, t=3, workflow="real-fraction", real_fraction=0.5) == DIV.evaluate(
        n=3, t=3, workflow="real-fraction", real_rows=2)  # round(1.5) = 2


@pytest.mark.parametrize("workflow,extra", [("replace", {}), ("accumulate", {}), ("real-fraction", {"real_rows": 7}),
                                            ("real-fraction", {"real_rows": 1})])
def test_diversity_limits(workflow, extra):
    form = DIV.form(workflow=workflow)
    n = 20
    limit = form.limit.subs({S.n: n, S.real_rows: extra.get("real_rows", 0)})
    # replace and real-fraction approach geometrically; accumulate like 1/(n t)
    t, rel = (4000, 2e-5) if workflow == "accumulate" else (1000, 1e-15)
    far = DIV.evaluate(n=n, t=t, workflow=workflow, **extra)
    assert far == pytest.approx(float(sp.N(limit, 30)), rel=rel, abs=1e-20)


def test_accumulate_limit_is_eulers_product():
    assert DIV.form(workflow="accumulate").limit == sp.sin(sp.pi / sp.sqrt(S.n)) / (sp.pi / sp.sqrt(S.n))
    assert DIV.evaluate(n=20, t=10**5, workflow="accumulate") == pytest.approx(
        math.sin(math.pi / math.sqrt(20)) / (math.pi / math.sqrt(20)), rel=1e-6)


def test_real_fraction_fixed_point_and_rsolve():
    """The closed form equals SymPy's rsolve solution of the derived recursion, and the fixed point is
    1 - (1 + (1 - rho^2)/(rho (2 - rho)))/n + O(1/n^2) when n_r = rho n."""
    r = _real_fraction_parts()
    aa, bb, Dh = sp.symbols("a b D_h")
    solved = (r["solved"] / Dh).subs({aa: r["a"], bb: r["b"]}) * (1 - 1 / S.n)
    for n_, rows, t_ in [(7, 3, 4), (10, 2, 6), (13, 6, 2)]:  # (rsolve's form is singular at a = 0)
        at = {S.n: n_, S.real_rows: rows, S.t: t_}
        assert sp.simplify(solved.subs(at) - r["expr"].subs(at)) == 0
    rho = sp.Rational(1, 4)
    for n_ in (400, 4000):
        lim = r["limit"].subs({S.n: n_, S.real_rows: rho * n_})
        lead = 1 - (1 + (1 - rho**2) / (rho * (2 - rho))) / n_
        assert abs(float(lim - lead)) < 10 / n_**2


@given(t=st.integers(1, 12), rho=st.sampled_from([sp.Rational(1, 10), sp.Rational(1, 4), sp.Rational(1, 2),
                                                 sp.Rational(9, 10)]))
def test_real_fraction_series_is_the_large_n_limit(t, rho):
    """With n_r = rho n exactly, the leading-order form's error falls like 1/n^2 (ten times n: a hundredth)."""
    series = DIV.form(workflow="real-fraction").series
    errs = []
    for n_ in (10**3, 10**4):
        exact = DIV.evaluate_mp(n=n_, t=t, workflow="real-fraction", real_rows=int(rho * n_))
        with mpmath.workdps(40):
            approx = mpmath.mpf(sp.N(series.subs({S.n: n_, S.real_fraction: rho, S.t: t}).doit(), 40))
            errs.append(abs(exact - approx))
    assert errs[1] <= errs[0] / 50 + mpmath.mpf(10) ** -30


@pytest.mark.parametrize("workflow", ["replace", "accumulate"])
def test_series_is_the_large_n_limit(workflow):
    form = DIV.form(workflow=workflow)
    for t in (1, 5, 30):
        errs = [abs(DIV.evaluate(n=n_, t=t, workflow=workflow) - float(sp.N(form.series.subs({S.n: n_, S.t: t}))))
                for n_ in (10**3, 10**4)]
        assert errs[1] <= errs[0] / 50


@pytest.mark.parametrize("workflow", ["replace", "accumulate", "real-fraction"])
def test_numpy_form_agrees(workflow):
    f = DIV.lambdify(workflow=workflow)
    for n_, t_, rows in [(2, 1, 1), (20, 10, 2), (97, 33, 50), (500, 7, 499)]:
        extra = {"real_rows": rows} if workflow == "real-fraction" else {}
        assert float(f(n=n_, t=t_, real_rows=rows)) == pytest.approx(DIV.evaluate(n=n_, t=t_, workflow=workflow, **extra),
                                                                    rel=1e-12)


# -- loss probability and surviving symbols ------------------------------------------------------


def _forward(n, t, p, dps=60):
    """P(X_t = 0) and P(X_t > 0) by the forward law of the chain in plain mpmath (a second method)."""
    with mpmath.workdps(dps):
        p = mpmath.mpf(p)
        v = [mpmath.binomial(n, j) * p**j * (1 - p) ** (n - j) for j in range(n + 1)]
        M = [[mpmath.binomial(n, k) * (mpmath.mpf(j) / n) ** k * (1 - mpmath.mpf(j) / n) ** (n - k) for k in range(n + 1)]
             for j in range(n + 1)]
        for _ in range(t - 1):
            v = [mpmath.fsum(v[j] * M[j][k] for j in range(n + 1)) for k in range(n + 1)]
        return v[0], mpmath.fsum(v[1:])


@pytest.mark.parametrize("n,t,p", [(30, 3, "0.999"), (30, 5, "1e-12"), (12, 40, "0.3"), (10, 101, "0.3"),
                                   (7, 1000, "0.05"), (2, 9, "0.5")])
def test_chain_is_exact_to_the_working_precision(n, t, p):
    """Against a forward mpmath iteration at 60 digits, in relative terms, for a tiny loss probability
    (p = 0.999: 1.3e-21), a tiny survival (p = 1e-12), and the repeated-squaring path (t >> n)."""
    lost, alive = _forward(n, t, p)
    with mpmath.workdps(40):
        a, b = wright_fisher_loss(n, t, mpmath.mpf(p)), wright_fisher_survival(n, t, mpmath.mpf(p))
    with mpmath.workdps(60):
        assert abs(a / lost - 1) < mpmath.mpf(10) ** -38
        assert abs(b / alive - 1) < mpmath.mpf(10) ** -38


@given(n=st.integers(2, 40), t=st.integers(1, 30), p=st.floats(1e-6, 1 - 1e-6))
def test_loss_probability_properties(n, t, p):
    tol = mpmath.mpf(10) ** -30
    a = LOSS.evaluate_mp(p=p, n=n, t=t)
    b = LOSS.evaluate_mp(p=p, n=n, t=t + 1)
    with mpmath.workdps(40):
        pp = mpmath.mpf(p)
        assert (1 - pp) ** n * (1 - tol) <= a <= b * (1 + tol)  # lost at the first fit stays lost
        assert b <= 1 - pp + tol  # never above the limit 1 - p (the chance it is not fixed)
        if t == 1:
            assert abs(a / (1 - pp) ** n - 1) < tol


def test_loss_probability_limit_and_the_collapse_note():
    assert LOSS.limit == 1 - S.p
    assert LOSS.evaluate(p=0.01, n=100, t=1) == pytest.approx(0.99**100, rel=1e-14)
    assert LOSS.evaluate(p=0.01, n=100, t=100) == pytest.approx(0.9769559112613493, rel=1e-14)
    assert LOSS.evaluate(p=0.3, n=10, t=10**4) == pytest.approx(0.7, rel=1e-14)  # by repeated squaring


@given(probs=st.lists(st.integers(1, 50), min_size=1, max_size=8), n=st.integers(2, 30), t=st.integers(1, 20))
def test_surviving_symbols_properties(probs, n, t):
    total = sum(probs)
    p0 = [sp.Rational(x, total) for x in probs]
    value = SURV.evaluate_mp(probabilities=p0, n=n, t=t)
    later = SURV.evaluate_mp(probabilities=p0, n=n, t=t + 1)
    tol = mpmath.mpf(10) ** -30
    with mpmath.workdps(40):
        assert 1 - tol <= later <= value + tol <= len(p0) + tol
        # (the rational inputs are rounded to doubles, each claim in its own way: agree to 1e-14)
        parts = mpmath.fsum(1 - LOSS.evaluate_mp(p=x, n=n, t=t) if x < 1 else 1 for x in p0)
        assert abs(value - parts) < 1e-14 * len(p0)
        if t == 1:
            first = mpmath.fsum(1 - (1 - mpmath.mpf(float(x))) ** n for x in p0)
            assert abs(value - first) < 1e-14 * len(p0)


def test_surviving_symbols_limit():
    assert SURV.limit == 1
    assert SURV.evaluate(probabilities=[0.5, 0.3, 0.2], n=8, t=5000) == pytest.approx(1, rel=1e-12)
    assert SURV.evaluate(probabilities=[1], n=8, t=3) == 1


def test_chain_work_is_bounded_by_name():
    with pytest.raises(EvaluationError, match=r"Wright-Fisher chain at n=400, t=400 needs"):
        LOSS.evaluate(p=0.5, n=400, t=400)


# -- collapse time: a convergence study against the exact chain ----------------------------------


def exact_collapse_time_two(n: int, p: float) -> float:
    """E min{t >= 1: X_t in {0, n}} for X_1 ~ Bin(n, p), X_{t+1} ~ Bin(n, X_t/n): (I - Q) tau = 1."""
    j = np.arange(n + 1)
    M = binom.pmf(j[None, :], n, j[:, None] / n)
    tau = np.linalg.solve(np.eye(n - 1) - M[1:n, 1:n], np.ones(n - 1))
    return 1 + binom.pmf(j, n, p)[1:n] @ tau


def exact_collapse_time(n: int, p0) -> float:
    """The same for K symbols: the multinomial chain on the compositions of n, absorbed at the vertices."""
    K = len(p0)
    states = np.array(list(compositions(n, K)), float)
    log_fact = gammaln(states + 1).sum(1)
    with np.errstate(divide="ignore", invalid="ignore"):
        logq = np.where(states > 0, np.log(states / n), -np.inf)
        terms = np.where(states[None, :, :] > 0, states[None, :, :] * logq[:, None, :], 0.0)
    P = np.exp(gammaln(n + 1) - log_fact[None, :] + terms.sum(2))
    transient = ~(states == n).any(1)
    Q = P[np.ix_(transient, transient)]
    tau = np.linalg.solve(np.eye(transient.sum()) - Q, np.ones(transient.sum()))
    first = np.exp(gammaln(n + 1) - log_fact + (states * np.log(np.asarray(p0))).sum(1))
    return 1 + first[transient] @ tau


def test_exact_solvers_agree_with_rational_arithmetic():
    """The numpy absorption times at n = 4 against the same linear system solved in fractions."""
    n, p = 4, F(1, 3)
    M = sp.Matrix(n - 1, n - 1, lambda a, b: sp.binomial(n, b + 1) * sp.Rational(a + 1, n) ** (b + 1)
                  * (1 - sp.Rational(a + 1, n)) ** (n - b - 1))
    tau = (sp.eye(n - 1) - M).LUsolve(sp.ones(n - 1, 1))
    exact = 1 + sum(sp.binomial(n, j) * sp.Rational(1, 3) ** j * sp.Rational(2, 3) ** (n - j) * tau[j - 1]
                    for j in range(1, n))
    assert exact_collapse_time_two(n, float(p)) == pytest.approx(float(exact), rel=1e-13)
    assert exact_collapse_time(n, [1 / 3, 2 / 3]) == pytest.approx(float(exact), rel=1e-13)


@pytest.mark.parametrize("p", [0.5, 0.2])
def test_collapse_time_converges_two_symbols(p):
    """K = 2 at n = 20, 50, 100, 200: the diffusion form is high by (1/3) log n + O(1), so the relative
    error falls like log(n)/n: it shrinks at every step, n * error / log(n) stays bounded (it decreases
    towards 1/(6 H(p))), and the gap grows by log(2)/3 when n doubles."""
    ladder = (20, 50, 100, 200, 400)
    exact = [exact_collapse_time_two(n, p) for n in ladder]
    theory = [TIME.evaluate(probabilities=[p, 1 - p], n=n) for n in ladder]
    rel = [(a - e) / e for a, e in zip(theory, exact)]
    assert all(r > 0 for r in rel)
    assert all(b < a for a, b in zip(rel, rel[1:]))
    scaled = [r * n / math.log(n) for r, n in zip(rel, ladder)]
    assert max(scaled) < 0.6 and scaled[-1] < scaled[0]
    gaps = [a - e for a, e in zip(theory, exact)]
    assert gaps[4] - gaps[3] == pytest.approx(math.log(2) / 3, abs=0.003)  # n = 200 -> 400
    assert rel[3] < 0.011  # under 1.1% at n = 200


def test_collapse_time_converges_three_symbols():
    """K = 3 (the sum over symbols is the right generalisation): the same log(2)/3 growth of the gap."""
    p0 = [0.5, 0.3, 0.2]
    ladder = (10, 20, 40)
    gaps = [TIME.evaluate(probabilities=p0, n=n) - exact_collapse_time(n, p0) for n in ladder]
    rel = [g / TIME.evaluate(probabilities=p0, n=n) for g, n in zip(gaps, ladder)]
    assert all(b < a for a, b in zip(rel, rel[1:])) and rel[-1] < 0.031
    assert gaps[2] - gaps[1] == pytest.approx(math.log(2) / 3, abs=0.006)


def test_collapse_time_derivation_and_two_symbol_form():
    assert TIME.derivation[1].expr == -1  # the backward equation at K = 3, checked by SymPy
    for p in (0.5, 0.1):
        assert TIME.evaluate(probabilities=[p, 1 - p], n=100) == pytest.approx(
            -200 * (p * math.log(p) + (1 - p) * math.log(1 - p)), rel=1e-14)
    assert TIME.kind == "asymptotic" and TIME.generation is None


# -- domain errors -------------------------------------------------------------------------------

BAD = [float("nan"), float("inf"), -1, "x", True]
POINTS = {
    "categorical.diversity": dict(n=20, t=3),
    "categorical.loss_probability": dict(p=0.1, n=20, t=3),
    "categorical.surviving_symbols": dict(probabilities=[0.5, 0.3, 0.2], n=20, t=3),
    "categorical.collapse_time": dict(probabilities=[0.5, 0.3, 0.2], n=20),
}


@pytest.mark.parametrize("cid", sorted(POINTS))
def test_bad_values_are_rejected_by_name(cid):
    claim, point = CLAIMS[cid], POINTS[cid]
    claim.evaluate(**point)
    for name in point:
        for bad in BAD:
            with pytest.raises(ValueError, match=rf"^{name}\b|: {name}\b|\b{name}[\[ ]"):
                claim.evaluate(**{**point, name: bad})
    with pytest.raises(ValueError, match=r"n must be >= 2"):
        claim.evaluate(**{**point, "n": 1})
    with pytest.raises(ValueError, match=r"n must be an integer"):
        claim.evaluate(**{**point, "n": 2.5})
    with pytest.raises(ValueError, match=r"unknown parameter"):
        claim.evaluate(**point, bogus=1)


def test_domain_errors_are_named():
    with pytest.raises(ValueError, match=r"t must be >= 1"):
        DIV.evaluate(n=20, t=0)
    for p in (0, 1, 1.5, -0.1):
        with pytest.raises(ValueError, match=r"^p must be"):
            LOSS.evaluate(p=p, n=20, t=3)
    for cid in ("categorical.surviving_symbols", "categorical.collapse_time"):
        with pytest.raises(ValueError, match=r"probabilities must sum to 1, got a sum of 0\.9"):
            CLAIMS[cid].evaluate(probabilities=[0.5, 0.4], n=20, **({"t": 3} if "surviving" in cid else {}))
        with pytest.raises(ValueError, match=r"probabilities\[1\] must be positive"):
            CLAIMS[cid].evaluate(probabilities=[1, 0], n=20, **({"t": 3} if "surviving" in cid else {}))
        with pytest.raises(ValueError, match=r"probabilities is empty"):
            CLAIMS[cid].evaluate(probabilities=[], n=20, **({"t": 3} if "surviving" in cid else {}))
    with pytest.raises(ValueError, match=r"probabilities must have at least two entries"):
        TIME.evaluate(probabilities=[1], n=20)
    rf = dict(n=20, t=3, workflow="real-fraction")
    with pytest.raises(ValueError, match=r"real_fraction must be <= 1"):
        DIV.evaluate(**rf, real_fraction=1.5)
    with pytest.raises(ValueError, match=r"real_fraction must be >= 0"):
        DIV.evaluate(**rf, real_fraction=-0.5)
    with pytest.raises(ValueError, match=r"real_rows must be at most n"):
        DIV.evaluate(**rf, real_rows=21)
    with pytest.raises(ValueError, match=r"needs exactly one of real_fraction and real_rows"):
        DIV.evaluate(**rf)
    with pytest.raises(ValueError, match=r"needs exactly one of real_fraction and real_rows"):
        DIV.evaluate(**rf, real_fraction=0.1, real_rows=2)
    with pytest.raises(ValueError, match=r"real_fraction is for workflow='real-fraction', not 'replace'"):
        DIV.evaluate(n=20, t=3, real_fraction=0.1)
    with pytest.raises(ValueError, match=r"real_rows is for workflow='real-fraction', not 'accumulate'"):
        DIV.evaluate(n=20, t=3, workflow="accumulate", real_rows=2)
    with pytest.raises(ValueError, match=r"workflow must be one of replace, accumulate, real-fraction"):
        DIV.evaluate(n=20, t=3, workflow="accumulate-subsample")
    for cid in ("categorical.loss_probability", "categorical.surviving_symbols"):
        with pytest.raises(ValueError, match=r"solved numerically|depends on a vector"):
            CLAIMS[cid].lambdify()


# -- test vectors (for a simulator) --------------------------------------------------------------

VECTORS = [
    ("categorical.diversity", dict(n=20, t=10), 0.5987369392383789),
    ("categorical.diversity", dict(n=20, t=10, workflow="accumulate"), 0.9241462361124686),
    ("categorical.diversity", dict(n=20, t=10, workflow="real-fraction", real_fraction=0.1), 0.7669782611292107),
    ("categorical.diversity", dict(n=20, t=10, workflow="real-fraction", real_fraction=0.5), 0.9032258755788137),
    ("categorical.diversity", dict(n=3, t=3, workflow="real-fraction", real_rows=1), 32 / 81),
    ("categorical.loss_probability", dict(p=0.01, n=100, t=10), 0.838610644674857),
    ("categorical.loss_probability", dict(p=0.01, n=100, t=100), 0.9769559112613493),
    ("categorical.loss_probability", dict(p=0.1, n=20, t=10), 0.6757924964300184),
    ("categorical.surviving_symbols", dict(probabilities=[0.5, 0.3, 0.2], n=10, t=5), 2.100909618550664),
    ("categorical.surviving_symbols", dict(probabilities=[0.4, 0.2, 0.1, 0.1, 0.1, 0.05, 0.05], n=20, t=10),
     2.714655993967244),
    ("categorical.collapse_time", dict(probabilities=[0.5, 0.5], n=100), 138.62943611198907),
    ("categorical.collapse_time", dict(probabilities=[0.5, 0.3, 0.2], n=40), 61.98087136707624),
]


@pytest.mark.parametrize("cid,point,expected", VECTORS)
def test_vectors(cid, point, expected):
    assert CLAIMS[cid].evaluate(**point) == pytest.approx(expected, rel=1e-13)
