r"""A categorical distribution refitted by its own frequencies: the language-model side of collapse.

A categorical distribution over K symbols is fitted by its empirical frequencies on n samples, and the
next generation samples from the fit. Iteration 1 is the fit to n real samples from the truth p0
(Kazdan's convention, as in ``mvgaussian``: the generation parameter is ``t``); after that, under

* ``replace``: the model is fitted to the n samples drawn from the latest model. Each symbol's count
  is then a haploid Wright-Fisher chain, X_1 ~ Bin(n, p), X_{t+1} | X_t ~ Bin(n, X_t/n), with
  absorbing states 0 (the symbol is lost for good) and n (it has taken all the mass);
* ``accumulate``: the n new samples join the pool of all real and synthetic samples so far (tn points
  after t fits), and the model is the pool's frequencies;
* ``real-fraction``: each training set of n points holds n_r = round(rho n) real points drawn without
  replacement from the fixed real sample of n points (afresh each generation) plus n - n_r samples
  from the latest model (``numerics.workflows``: Python's ``round`` of the float product, half to even).

D = 1 - sum_i p_i^2 is the diversity (Gini-Simpson index: the probability that two draws differ). The
results here are exact at finite n (except ``collapse_time``, a diffusion limit):

>>> from theory import CLAIMS
>>> CLAIMS["categorical.diversity"].form(workflow="accumulate").limit
sqrt(n)*sin(pi/sqrt(n))/pi
>>> round(CLAIMS["categorical.loss_probability"].evaluate(p=0.01, n=100, t=100), 6)
0.976956

The Wright-Fisher probabilities are computed exactly to the working precision: the transition matrix
M[j][k] = C(n, k) (j/n)^k (1 - j/n)^(n-k) is held as integers scaled by 2^b (b chosen from the working
precision, n, t and p so that the fixed-point error stays below 2^-(prec + 16) of the result), and
P(X_t = 0 | X_1 = j) is iterated as M^(t-1) e_0 (or by repeated squaring when t is large). Every sum
is of positive terms, so nothing cancels: the results carry the working precision (40 digits).
"""

from __future__ import annotations

import functools
import math
import operator

import mpmath
import sympy as sp
from sympy.utilities.lambdify import implemented_function

from .checks import Point, RelativeGap
from .claim import Aux, Form, Source, Step
from .quantities import quantity
from .evaluation import EvaluationError
from .registry import register
from .validation import Param, choice, size
from .symbols import K, j, k, n, p, probabilities, real_fraction, real_rows, t

SEDDIK = Source(
    authors="Seddik, Chen, Hayou, Youssef, Debbah",
    year=2024,
    title="How Bad is Training on Synthetic Data? A Statistical Analysis of Language Model Collapse",
    arxiv="2404.05090",
    where="fully synthetic loop: E S_g = 1 - (1 - 1/n)^g (1 - S_0) for S = sum p_i^2 (equation number "
    "not confirmed); the accumulate and real-fraction forms are derived here",
)
SHUMAILOV_CHAIN = Source(
    authors="Shumailov, Shumaylov, Zhao, Papernot, Anderson, Gal",
    year=2024,
    title="AI models collapse when trained on recursively generated data",
    venue="Nature 631:755-759",
    arxiv="2305.17493",
    where="discrete distributions with exact approximation: an absorbing Markov chain whose absorbing "
    "states are point masses; the finite-n loss probabilities are derived here (Wright-Fisher chain)",
)
KIMURA = Source(
    authors="Kimura",
    year=1955,
    title="Solution of a process of random genetic drift with a continuous model",
    venue="PNAS 41:144-150; see Ewens, Mathematical Population Genetics I (2004), and Baxter, Blythe & "
    "McKane, Math. Biosci. 209:124-170 (2007), arXiv:q-bio/0508045, for K alleles",
    where="mean absorption time -4N [p log p + (1-p) log(1-p)] for 2N genes; the haploid constant 2n "
    "and the K-symbol sum are derived (and checked) here",
)

WORKFLOWS = ("replace", "accumulate", "real-fraction")
WORKFLOW = choice("workflow", "data workflow: " + ", ".join(WORKFLOWS), *WORKFLOWS)

_h, _q = sp.symbols("h q", nonnegative=True)  # one symbol's real frequency and model probability
_H, _A, _B = sp.symbols("H A B")  # E sum h_i^2, E sum q_i^2, E sum h_i q_i
_S = sp.Symbol("S")  # sum of squared probabilities of the model a sample is drawn from
_D, _Dh = sp.symbols("D D_h")  # E D of the previous model, and of the real sample's frequencies


def _sum_over_symbols(expr: sp.Expr) -> sp.Expr:
    """sum_i of a quadratic polynomial in one symbol's (h_i, q_i), using sum_i h_i = sum_i q_i = 1."""
    table = {(1, 0): sp.S.One, (0, 1): sp.S.One, (2, 0): _H, (0, 2): _A, (1, 1): _B}
    out = sp.S.Zero
    for monom, coeff in sp.Poly(sp.expand(expr), _h, _q).terms():
        out += coeff * table[monom]  # (no constant term: every term carries h_i or q_i)
    return sp.simplify(out)


# -- diversity -----------------------------------------------------------------------------------


def _replace_diversity() -> Form:
    X2 = n * _q * (1 - _q) + (n * _q) ** 2  # E X_i^2 for X_i ~ Bin(n, q_i)
    step = _sum_over_symbols(X2 / n**2).subs(_A, _S)
    f = sp.Function("D")
    rec = sp.Eq(f(t), (1 - 1 / n) * f(t - 1))
    solved = sp.rsolve(rec.lhs - rec.rhs, f(t), {f(0): 1})
    expr = (1 - 1 / n) ** t
    return Form(
        expr=expr,
        series=1 - t / n,
        series_in=n,
        limit=sp.S.Zero,
        monotone="nonincreasing",
        derivation=(
            Step("one fit to n samples of q: E[sum x_i^2] = sum (q_i^2 + q_i (1 - q_i)/n), with S = sum q_i^2", step),
            Step("so E D' = (1 - 1/n) D: the recursion for E D_t / D_0 (D_0 at t = 0, the truth)", rec),
            Step("solved (SymPy rsolve)", solved),
        ),
    )


def _accumulate_diversity() -> Form:
    x2 = (n * _q * (1 - _q) + (n * _q) ** 2) / n**2  # E x_i^2, x_i the new batch's frequency (E x_i = q_i)
    pooled = sp.expand((t**2 * _q**2 + 2 * t * _q * _q + x2) / (t + 1) ** 2)
    step = sp.simplify(_sum_over_symbols(pooled).subs(_A, _S))
    expr = sp.Product(1 - 1 / (n * k**2), (k, 1, t))
    limit = sp.sin(sp.pi / sp.sqrt(n)) / (sp.pi / sp.sqrt(n))
    return Form(
        expr=expr,
        series=1 - sp.harmonic(t, 2) / n,
        series_in=n,
        limit=limit,
        monotone="nonincreasing",
        derivation=(
            Step("pool of tn points with frequencies q; the new batch x of n samples from q: "
                 "q' = (t q + x)/(t + 1), and E[sum q'_i^2] is", step),
            Step("so E D_{t+1} = E D_t (1 - 1/(n (t+1)^2)); the first fit (t = 0: the pool is empty, the "
                 "model is the truth) is the case k = 1", expr),
            Step("Euler's product sin(pi x)/(pi x) = prod (1 - x^2/k^2) at x = 1/sqrt(n)", limit),
        ),
    )


def _real_fraction_parts() -> dict[str, sp.Expr]:
    m = n - real_rows  # synthetic points per training set
    # R_i: one symbol's count in n_r points drawn without replacement from the real sample, which holds
    # n h_i of them (hypergeometric); Y_i ~ Bin(m, q_i) from the latest model, independent given both.
    ER, VR = real_rows * _h, real_rows * _h * (1 - _h) * (n - real_rows) / (n - 1)
    EY, VY = m * _q, m * _q * (1 - _q)
    A_next = _sum_over_symbols((VR + ER**2 + 2 * ER * EY + VY + EY**2) / n**2)
    B_next = _sum_over_symbols(_h * (ER + EY) / n)
    D_next = sp.expand(1 - A_next.subs(_B, _H).subs({_H: 1 - _Dh, _A: 1 - _D}))
    a = sp.factor(D_next.coeff(_D))
    b = sp.factor(D_next.coeff(_Dh))
    assert sp.simplify(D_next - a * _D - b * _Dh) == 0  # linear and homogeneous in the diversities
    f = sp.Function("D")
    rec = sp.Eq(f(t), a * f(t - 1) + b * _Dh)
    aa, bb = sp.symbols("a b")
    solved = sp.rsolve(f(t) - aa * f(t - 1) - bb * _Dh, f(t), {f(1): _Dh})
    limit = sp.factor((1 - 1 / n) * b / (1 - a))  # E D_oo / D_0, with D_h = (1 - 1/n) D_0
    expr = limit + (1 - 1 / n - limit) * a ** (t - 1)
    s = sp.Symbol("s", integer=True, nonnegative=True)
    rho = real_fraction
    series = 1 - (1 + (1 - rho**2) * sp.Sum((1 - rho) ** (2 * s), (s, 0, t - 2))) / n
    return dict(A_next=A_next, B_next=B_next, D_next=D_next, a=a, b=b, rec=rec, solved=solved, limit=limit,
                expr=expr, series=series)


def _real_fraction_diversity() -> Form:
    r = _real_fraction_parts()
    return Form(
        expr=r["expr"],
        series=r["series"],
        series_in=n,
        limit=r["limit"],
        monotone="nonincreasing",
        note="n_r = real_rows = round(rho n) real points per training set.",
        derivation=(
            Step("h: the real sample's frequencies, q: the latest model; with H = E sum h_i^2, A = E sum "
                 "q_i^2, B = E sum h_i q_i, the next model's E sum p_i^2 is (hypergeometric real part, "
                 "binomial synthetic part)", r["A_next"]),
            Step("and its E sum p_i h_i is", r["B_next"]),
            Step("B_1 = H (the first model is h), so B_t = H for every t: E[p_t | h] = h, the model is a "
                 "martingale around the real sample; in diversities (D = 1 - A, D_h = 1 - H):", r["rec"].rhs),
            Step("a scalar recursion from D_1 = D_h = (1 - 1/n) D_0 (E D_t, not the ratio)", r["rec"]),
            Step("solved with a, b its coefficients (SymPy rsolve)", r["solved"]),
            Step("the fixed point E D_oo / D_0 = (1 - 1/n) b/(1 - a)", r["limit"]),
            Step("so E D_t / D_0 = limit + (1 - 1/n - limit) a^(t-1)", r["expr"]),
            Step("n -> oo with n_r = rho n (leading order in 1/n; rho = 0 is replace's 1 - t/n)", r["series"]),
        ),
    )


def _diversity(workflow: str) -> Form:
    if workflow == "replace":
        return _replace_diversity()
    if workflow == "accumulate":
        return _accumulate_diversity()
    return _real_fraction_diversity()


def _prepare_diversity(point: dict) -> dict:
    wf = point["workflow"]
    rho, rows = point.get("real_fraction"), point.get("real_rows")
    if wf != "real-fraction":
        for name, v in (("real_fraction", rho), ("real_rows", rows)):
            if v is not None:
                raise ValueError(f"{name} is for workflow='real-fraction', not {wf!r}")
        return point
    if (rho is None) == (rows is None):
        raise ValueError("workflow='real-fraction' needs exactly one of real_fraction and real_rows")
    out = dict(point)
    if rho is not None:
        if rho > 1:
            raise ValueError(f"real_fraction must be <= 1, got {mpmath.nstr(rho, 10)}")
        # As numerics.workflows.Workflow.real_rows: Python's round (half to even) of the float product.
        out["real_rows"] = int(round(float(rho) * point["n"]))
    elif rows > point["n"]:
        raise ValueError(f"real_rows must be at most n; got real_rows={rows}, n={point['n']}")
    return out


# -- the Wright-Fisher chain, in fixed point -----------------------------------------------------

#: Most multiply-adds one evaluation of the chain does (a few seconds); a larger one is refused by name.
MAX_CHAIN_WORK = 5 * 10**7


@functools.lru_cache(maxsize=2)  # (n + 1)^2 integers each: keep few
def _transition(nn: int, bits: int) -> tuple[tuple[int, ...], ...]:
    """2^bits M[j][k], rounded down: M[j][k] = C(n, k) (j/n)^k (1 - j/n)^(n-k), from exact integers."""
    scale = nn**nn
    rows = [(1 << bits,) + (0,) * nn]
    for jj in range(1, nn):
        term, row = (nn - jj) ** nn, []  # C(n, k) j^k (n - j)^(n-k) at k = 0
        for kk in range(nn + 1):
            row.append((term << bits) // scale)
            term = term * (nn - kk) * jj // ((kk + 1) * (nn - jj))  # exact: the next term is an integer
        rows.append(tuple(row))
    rows.append((0,) * nn + (1 << bits,))
    return tuple(rows)


def _matvec(rows, u, bits):
    return tuple(sum(map(operator.mul, row, u)) >> bits for row in rows)


def _matmul(a, b, bits):
    cols = tuple(zip(*b))
    return tuple(tuple(sum(map(operator.mul, row, col)) >> bits for col in cols) for row in a)


def _chain_work(nn: int, tt: int, bits: int = 256) -> tuple[int, bool]:
    """Work to get M^(t-1) e_0, in products of 512-bit integers, and whether repeated squaring is the
    cheaper way. The first step is free (M e_0 = ((1 - j/n)^n)_j); each later one is a product by M
    (building M costs one more), or M's powers are squared and applied by the bits of t - 2."""
    rest, size_ = max(tt - 2, 0), nn + 1
    if rest == 0:
        return size_, False
    direct = (rest + 1) * size_**2
    squaring = (rest.bit_length() - 1) * size_**3 + (bin(rest).count("1") + 1) * size_**2
    per_product = max(1.0, bits / 512) ** 1.6  # Karatsuba
    return int(min(direct, squaring) * per_product), squaring < direct


@functools.lru_cache(maxsize=32)
def _lost_given_first(nn: int, tt: int, bits: int) -> tuple[int, ...]:
    """2^bits P(X_t = 0 | X_1 = j) for j = 0..n, rounded down.

    The absolute error is below 4 t (n + 2) 2^-bits: M is stochastic, so each product adds at most
    (n + 2) 2^-bits of rounding and carries earlier errors unamplified (a squaring doubles them).
    """
    work, by_squaring = _chain_work(nn, tt, bits)
    if work > MAX_CHAIN_WORK:
        raise EvaluationError(f"the Wright-Fisher chain at n={nn}, t={tt} needs about {work:.2g} multiply-adds; "
                              f"at most {MAX_CHAIN_WORK:.0e} are done")
    if tt == 1:
        return (1 << bits,) + (0,) * nn
    scale = nn**nn
    u = tuple(((nn - jj) ** nn << bits) // scale for jj in range(nn + 1))  # M e_0: (1 - j/n)^n
    rest = tt - 2
    if rest == 0:
        return u
    rows = _transition(nn, bits)
    if not by_squaring:
        for _ in range(rest):
            u = _matvec(rows, u, bits)
        return u
    power = rows
    while True:
        if rest & 1:
            u = _matvec(power, u, bits)
        rest >>= 1
        if not rest:
            return u
        power = _matmul(power, power, bits)


def _bits(nn: int, tt: int, extra: mpmath.mpf) -> int:
    """Fixed-point bits for an error below 2^-(prec + 16) relative to a result of at least 2^-extra."""
    guard = (4 * tt * (nn + 2)).bit_length() + 16
    b = mpmath.mp.prec + guard + max(int(mpmath.ceil(extra)), 0)
    return -(-b // 64) * 64  # whole words, so that nearby requests share the cached chain


def _binomial_weights(nn: int, pp: mpmath.mpf) -> tuple[mpmath.mpf, ...]:
    """P(X_1 = j) = C(n, j) p^j (1 - p)^(n-j), j = 0..n, at the working precision."""
    return _binomial_weights_at(nn, pp, mpmath.mp.prec)


@functools.lru_cache(maxsize=256)
def _binomial_weights_at(nn: int, pp: mpmath.mpf, prec: int) -> tuple[mpmath.mpf, ...]:
    # Cached: a theory column asks for the same (n, p) at every generation t (mpmath's binomial was 85% of a
    # categorical sweep cell's theory column). C(n, j) exact (math.comb), rounded once to the precision.
    qq = 1 - pp
    return tuple(mpmath.mpf(math.comb(nn, jj)) * pp**jj * qq ** (nn - jj) for jj in range(nn + 1))


def wright_fisher_loss(nn: int, tt: int, pp) -> mpmath.mpf:
    """P(X_t = 0): a symbol of initial probability p has count 0 in the fit of iteration t (replace).

    At the working precision; the result is at least (1 - p)^n (lost at the first fit), which sets
    the fixed-point bits.
    """
    nn, tt, pp = int(nn), int(tt), mpmath.mpf(pp)
    bits = _bits(nn, tt, -nn * mpmath.log(1 - pp, 2))
    u = _lost_given_first(nn, tt, bits)
    return mpmath.ldexp(mpmath.fdot(_binomial_weights(nn, pp), u), -bits)


def wright_fisher_survival(nn: int, tt: int, pp) -> mpmath.mpf:
    """P(X_t > 0) = 1 - wright_fisher_loss, computed as a sum of positive terms (at least p)."""
    nn, tt, pp = int(nn), int(tt), mpmath.mpf(pp)
    bits = _bits(nn, tt, -mpmath.log(pp, 2))
    one = 1 << bits
    u = _lost_given_first(nn, tt, bits)
    return mpmath.ldexp(mpmath.fdot(_binomial_weights(nn, pp), [one - x for x in u]), -bits)


_u = sp.Function("u")  # u(t, j) = P(X_t = 0 | X_1 = j), for the printed equations
_jj = sp.Symbol("j", integer=True, nonnegative=True)
_kk = sp.Symbol("k", integer=True, nonnegative=True)
_s = sp.Symbol("s", integer=True, positive=True)
P_LOST = sp.Symbol("P_lost", nonnegative=True)
#: P(X_t > 0) for a symbol of initial probability p, as a SymPy function evaluated by the chain.
P_surv = implemented_function(sp.Function("P_surv"), wright_fisher_survival)

_CHAIN_STEPS = (
    Step("the fit to real data: X_1 ~ Bin(n, p); each later fit X_{s+1} | X_s ~ Bin(n, X_s/n) (the marginal "
         "of multinomial resampling): a Wright-Fisher chain absorbed at 0 and n",
         sp.Eq(_u(1, _jj), sp.KroneckerDelta(_jj, 0))),
    Step("backward: u(s+1, j) = sum_k M[j, k] u(s, k), M the binomial transition matrix",
         sp.Eq(_u(_s + 1, _jj), sp.Sum(sp.binomial(n, _kk) * (_jj / n) ** _kk * (1 - _jj / n) ** (n - _kk)
                                       * _u(_s, _kk), (_kk, 0, n)))),
)


def _loss_form() -> Form:
    eq = sp.Eq(P_LOST, sp.Sum(sp.binomial(n, _jj) * p**_jj * (1 - p) ** (n - _jj) * _u(t, _jj), (_jj, 0, n)))
    return Form(
        expr=P_LOST,
        where=(Aux(P_LOST, eq, solve=lambda env: wright_fisher_loss(env[n], env[t], env[p])),),
        limit=1 - p,
        monotone="nondecreasing",
        derivation=_CHAIN_STEPS + (
            Step("P(X_t = 0) = sum_j P(X_1 = j) u(t, j)", eq),
            Step("X_t/n is a martingale (E p_t = p for every t) absorbed at 0 or 1, so P(fixed) = p and "
                 "P(X_t = 0) -> 1 - p", 1 - p),
        ),
    )


def _surviving_form() -> Form:
    expr = sp.Sum(P_surv(n, t, probabilities[j]), (j, 1, K))
    return Form(
        expr=expr,
        limit=sp.S.One,
        monotone="nonincreasing",
        derivation=_CHAIN_STEPS + (
            Step("each symbol's count is a Wright-Fisher chain started from Bin(n, p0_j) (the marginal of the "
                 "multinomial), so by linearity E #{j: X_t,j > 0} = sum_j P(X_t,j > 0)", expr),
            Step("one symbol eventually has all the mass (the chain on the simplex is absorbed at a vertex)",
                 sp.S.One),
        ),
    )


def _collapse_time_form() -> Form:
    # Backward equation of the haploid Wright-Fisher diffusion (time in generations): the generator is
    # (1/(2n)) sum_{i,j<K} x_i (delta_ij - x_j) d_i d_j in the free coordinates x_1..x_{K-1}.
    x1, x2 = sp.symbols("x_1 x_2", positive=True)
    xs = (x1, x2, 1 - x1 - x2)
    T3 = -2 * n * sum((1 - xi) * sp.log(1 - xi) for xi in xs)
    free = (x1, x2)
    gen = sum(free[a] * (sp.KroneckerDelta(a, b) - free[b]) * sp.diff(T3, free[a], free[b])
              for a in range(2) for b in range(2)) / (2 * n)
    expr = -2 * n * sp.Sum((1 - probabilities[j]) * sp.log(1 - probabilities[j]), (j, 1, K))
    return Form(
        expr=expr,
        derivation=(
            Step("mean absorption time T(x) of the diffusion: (1/(2n)) sum_{ij} x_i (delta_ij - x_j) T_ij = -1, "
                 "T = 0 at the vertices (one symbol left); the candidate", expr),
            Step("at K = 3 the generator applied to the candidate gives (SymPy)", sp.simplify(gen)),
            Step("and on a face x_i = 0 it is the (K-1)-symbol candidate, at a vertex 0; K = 2 is Kimura's "
                 "-2n [p log p + (1-p) log(1-p)] (4N for 2N diploid genes)",
                 -2 * n * (p * sp.log(p) + (1 - p) * sp.log(1 - p))),
        ),
    )


def _prepare_probabilities(point: dict) -> dict:
    probs = point["probabilities"]
    total = mpmath.fsum(probs)
    if abs(total - 1) > mpmath.mpf("1e-9"):
        raise ValueError(f"probabilities must sum to 1, got a sum of {mpmath.nstr(total, 12)}")
    out = dict(point)
    out["probabilities"] = [x / total for x in probs]
    out["K"] = len(probs)
    return out


def _p_below_one(point) -> str | None:
    if point["p"] >= 1:
        return f"p must be less than 1 (a probability in (0, 1)); got {mpmath.nstr(point['p'], 10)}"
    return None


def _two_symbols(point) -> str | None:
    if point["K"] < 2:
        return "probabilities must have at least two entries (one symbol has nothing to lose)"
    return None


# -- registration --------------------------------------------------------------------------------

_N = size("n", "samples per generation (the training-set size)", 2)
_T = size("t", "iteration (iteration 1 is the fit on real data)", 1)
_PROBS = Param("probabilities", "probability_vector", "the true probabilities p0 (positive, summing to 1)")
_BASE = ("a categorical distribution over K symbols fitted by its empirical frequencies (the MLE) on the "
         "training set; n samples drawn from the latest model at each iteration; iteration 1 fits n real "
         "samples from the truth p0",)
_REPLACE = ("workflow replace: each model is fitted to the n samples drawn from the previous one",)

_ITERATION = "iteration (iteration 1 fits the real samples)"
DIVERSITY = quantity(
    "categorical.diversity",
    "E[D_t] / D_0, D = 1 - sum_i p_i^2 (Gini-Simpson index) of a categorical distribution refitted by its "
    "frequencies on its own samples",
    {"n": "samples per generation (and real samples)", "t": _ITERATION, "workflow": "data workflow (theory.workflows)",
     "real_fraction": "share of real samples per training set (workflow real-fraction)",
     "real_rows": "real samples per training set (workflow real-fraction; instead of real_fraction)"},
    generation="t",
)
LOST = quantity("categorical.lost", "P(X_t = 0): the chance that a symbol of initial probability p has count 0 in the "
                "fit of iteration t (replace)",
                {"p": "the symbol's probability under the truth", "n": "samples per generation", "t": _ITERATION},
                generation="t")
SURVIVING = quantity("categorical.surviving", "E #{j : X_t,j > 0}, the symbols with nonzero count in the fit of "
                     "iteration t (replace)",
                     {"probabilities": "the truth's probabilities", "n": "samples per generation", "t": _ITERATION},
                     generation="t")
COLLAPSE_TIME = quantity("categorical.collapse_time", "E[min(T, t)], T the first iteration whose fit is a point mass "
                         "(replace); its limit in t is E T",
                         {"probabilities": "the truth's probabilities", "n": "samples per generation",
                          "t": "iterations run"}, generation="t")


def _zipf(K: int, s: float = 1.0) -> tuple[float, ...]:
    w = [j ** -s for j in range(1, K + 1)]
    return tuple(x / sum(w) for x in w)


#: The collapse-time study: chains long enough (12 n generations at the largest n) that min(T, t) is T but for
#: a negligible tail (the chance of no collapse by then is about exp(-12)).
COLLAPSE_LADDER = (25, 50, 100, 200)

register(
    id="categorical.diversity",
    title="Diversity ratio E D_t / D_0 of refitted frequencies (D = 1 - sum p_i^2)",
    quantity=DIVERSITY.id,
    checks=(Point({"n": 20}, generations=(1, 2, 5, 10),
                  per_variant=lambda v: {"real_fraction": 0.25} if v["workflow"] == "real-fraction" else {}),),
    source=SEDDIK,
    params=(_N, _T, WORKFLOW,
            Param("real_fraction", "nonnegative", "share of real points per training set, in [0, 1] "
                  "(workflow real-fraction): n_r = round(rho n)", optional=True),
            Param("real_rows", "size", "real points per training set, n_r (workflow real-fraction; instead of "
                  "real_fraction)", minimum=0, optional=True)),
    builder=_diversity,
    assumptions=_BASE + (
        "accumulate: the model is the frequencies of the pool of all tn real and synthetic samples",
        "real-fraction: each training set of n points holds n_r = round(rho n) real points drawn without "
        "replacement from the fixed real sample of n points, afresh each generation (Python's round, half to "
        "even, of the float product, as numerics.workflows does), plus n - n_r samples from the latest model",
    ),
    kind="exact",
    generation="t",
    defaults={"workflow": "replace"},
    prepare=_prepare_diversity,
    note="E D_t = D_0 times this ratio, exactly, for any p0 and K (the ratio depends on neither). Replace: "
    "(1 - 1/n)^t -> 0 (Seddik et al.). Accumulate (derived here): prod_{k<=t} (1 - 1/(n k^2)) -> "
    "sin(pi/sqrt(n))/(pi/sqrt(n)), the product of mvgaussian.trace_ratio with the MLE. Real fraction "
    "(derived here): L + (1 - 1/n - L) a^(t-1) with a = m(m-1)/n^2, m = n - n_r, and the fixed point "
    "L = n_r (2n^2 - n n_r - 3n + 2n_r) / (n (2n n_r + n - n_r^2 - n_r)) = 1 - (1 + (1-rho^2)/(rho(2-rho)))/n "
    "+ O(1/n^2): any real share keeps the diversity. The recursion closes on one scalar because E[p_t | real "
    "sample] = the real frequencies at every t (the cross term E sum p_t,i h_i never moves).",
    related=("mvgaussian.trace_ratio", "categorical.surviving_symbols"),
)

register(
    id="categorical.loss_probability",
    title="Probability that a symbol is lost by iteration t (replace)",
    quantity=LOST.id,
    # t = 50, not shorter: the row that tests absorption hardest. Against a lost symbol that comes back with
    # probability r per generation (P(X_t = 0) of the leaky chain, exact), collapse verify's 20,000 trials detect
    # r >= 1.4e-5 at t = 50 (power 0.99, Holm over categorical.*'s 37 rows), r >= 2.2e-5 at t = 30, 3.2e-5 at
    # t = 20, and surviving_symbols' t = 20 row only r >= 5.6e-5.
    checks=(Point({"n": 100, "p": 0.01}, generations=(1, 10, 50), note="a rare symbol, p = 0.01"),),
    source=SHUMAILOV_CHAIN,
    params=(Param("p", "positive", "the symbol's probability under the truth, in (0, 1)"), _N, _T),
    builder=_loss_form,
    assumptions=_BASE + _REPLACE,
    kind="exact",
    generation="t",
    constraints=(_p_below_one,),
    note="Collapse is almost sure, not in expectation: the expected mass E p_t = p is preserved at every t "
    "(X_t/n is a martingale), yet P(lost by t) grows to 1 - p. At p = 0.01, n = 100: E p_t = 0.01 throughout, "
    "while P(lost) = 0.366 at t = 1 ((1-p)^n), 0.9770 at t = 100 and -> 0.99. Lost is forever under replace "
    "(0 is absorbing). Exact: the binomial transition matrix, iterated in fixed point to the working precision.",
    related=("categorical.surviving_symbols", "categorical.collapse_time"),
)

register(
    id="categorical.surviving_symbols",
    title="Expected number of symbols still present at iteration t (replace)",
    quantity=SURVIVING.id,
    checks=(Point({"n": 20, "probabilities": _zipf(8)}, generations=(1, 5, 20), note="truth Zipf(1) over K = 8"),),
    source=SHUMAILOV_CHAIN,
    params=(_PROBS, _N, _T),
    builder=_surviving_form,
    assumptions=_BASE + _REPLACE,
    kind="exact",
    generation="t",
    prepare=_prepare_probabilities,
    note="sum_j P(X_t,j > 0), each from the Wright-Fisher chain of categorical.loss_probability; -> 1. The "
    "expected mass of any set of symbols is preserved (E p_t(A) = p0(A) at every t: a martingale) while the "
    "support shrinks. Give only symbols of positive probability (a symbol of probability 0 never appears); "
    "probabilities must sum to 1 within 1e-9 and are renormalised.",
    related=("categorical.loss_probability",),
)

register(
    id="categorical.collapse_time",
    title="Expected generations until one symbol holds all the mass (replace; diffusion limit)",
    quantity=COLLAPSE_TIME.id,
    checks=(RelativeGap(at={"probabilities": (0.5, 0.3, 0.2)}, along="n", ladder=COLLAPSE_LADDER, basis="log",
                        generations=(12 * COLLAPSE_LADDER[-1],), share=0.25,
                        note="Kimura's diffusion time against chains run until collapse, relative gap extrapolated "
                             "as a + b log(n)/n + c/n"),),
    source=KIMURA,
    params=(_PROBS, _N),
    builder=_collapse_time_form,
    assumptions=_BASE + _REPLACE + ("n -> oo with the probabilities fixed (Wright-Fisher diffusion)",),
    kind="asymptotic",
    generation=None,
    prepare=_prepare_probabilities,
    constraints=(_two_symbols,),
    note="-2n sum_j (1 - p0_j) log(1 - p0_j); K = 2 is Kimura's -2n [p log p + (1-p) log(1-p)] for n haploid "
    "genes. Leading order only: against the exact chain (K = 2 and 3) it is high by (1/3) log n + O(1) "
    "generations (measured: the gap grows by log(2)/3 = 0.231 per doubling of n), so the relative error "
    "falls like log(n)/n, not 1/n: at p = 1/2 it is 5.7% at n = 20, 1.5% at n = 100, 0.25% at n = 800.",
    related=("categorical.loss_probability",),
)
