r"""Theory derived from a declared workflow (:class:`theory.workflows.WorkflowSpec`), not looked up.

Every model here refits an estimator that is a weighted average of per-row terms, so a fit on a
training set made of parts (the real set, fresh draws, synthetic batches, subsamples of a pool) is the
size-weighted average of the parts' own fits. Each generation's fit is then a linear combination of
independent, mean-zero *atoms*: the real sample's noise, each synthetic batch's sampling noise, each
fresh draw's noise and each subsample's noise. Only the variance an atom adds differs between models
(:class:`Noise`):

* ``aal`` (Dey & Donoho's n -> oo limit for an asymptotically linear estimator, in units of V, the
  variance of one fit on the n real points): a draw of c n rows adds 1/c; a subsample of m n rows from
  a pool of N n rows adds (1/m)(1 - m/N) without replacement and 1/m with it;
* ``ols`` (Gerstgrasser et al.'s fixed design): OLS on stacked copies of one design averages the
  batches' fits, and E||X^+ E||^2_Sigma = sigma^2 d/(T - d - 1) for every batch's noise E, so the test
  error is exactly that constant times the ``aal`` ratio, at any finite T, for workflows that keep
  whole batches of the design (no share, no subsample, batches of n);
* ``categorical`` (frequencies over K symbols, exact at finite n, in units of the truth's diversity
  D_0 = 1 - sum p_i^2): the noise of m draws from a model of diversity D adds D/m to E||p - p_0||^2, a
  subsample of m from a pool of N adds D_pool (N - m)/(m (N - 1)) (hypergeometric), m draws with
  replacement D_pool/m; the diversity ratio is E D_t / D_0 = 1 - E||p_t - p_0||^2 / D_0.

:class:`Chain` builds those combinations generation by generation, exactly (rational in the
parameters), for any spec: that gives Cov(Z_k, Z_l) and the ratio at each k. The closed form in k and
the limit come from the *structure* of the spec:

* ``markov``: sources real, fresh and latest only, constant shares. The fit depends on the past through
  (Z_{k-1}, Z_1) only; one symbolic step of the chain from a generic state gives the first-order
  recursions of c_k = Cov(Z_k, Z_1) and v_k = Var Z_k, which SymPy's ``rsolve`` solves;
* ``pool``: one take from 'all' or 'synthetic' (every row, or a constant share). With P_k the pool's
  fit before generation k and N_k its size, P_{k+1} = (N_k P_k + alpha B_k)/N_{k+1} and the increments
  are independent (Dey & Donoho's pool-mean recursion), a_{k+1} = a_k + f(k), summed in harmonic
  numbers or polygammas by partial fractions;
* ``window`` (sources real, fresh, latest, window; shares constant or lists, which end constant): from
  generation K + 1 on, B_k = w_R Z_1 + sum_i w_i B_{k-i} + (independent noise), a linear state-space
  model. If sum_i w_i < 1 the limit is its stationary variance (a Lyapunov equation solved exactly); if
  sum_i w_i = 1 (no real or fresh rows) the ratio diverges linearly, at the rate (u'Qu)(e_1'r)^2/(u'r)^2
  with u, r the left and right eigenvectors of the companion matrix for the eigenvalue 1, found by
  SymPy; for a window of K equal batches that gives 4/(K+1)^2. The state's second moments move by an
  affine map, so (Cayley-Hamilton) Var Z_k satisfies a linear recurrence with constant coefficients,
  which ``rsolve`` solves from the exact values when its order is at most :data:`MAX_ORDER`.

What is not covered is refused by :class:`DerivationError` naming the feature: a fixed ``count`` of rows
(it vanishes as n -> oo), a closed form for other structures, and limits for shares that follow an
expression in g (a list schedule ends constant and is covered).

>>> derive("accumulate").expr
harmonic(k, 2)
>>> derive({"take": [{"from": "window", "window": 2}]}).rate
4/9
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import sympy as sp

from .claim import Step
from .errors import UserError
from .symbols import T, alpha, d, k, l, n, real_fraction, sigma, t
from .workflows import Schedule, Take, WorkflowSpec, workflow_spec

#: What ``collapse derive --quantity`` can derive, with the model it uses and the generation symbol.
QUANTITIES: dict[str, str] = {
    "variance_ratio": "Var(theta_k)/Var(theta_1) in Dey & Donoho's n -> oo limit (units of one fit on the real data)",
    "covariance": "Cov(Z_k, Z_l)/V of Dey & Donoho's limiting Gaussian process (Z_k = sqrt(n)(theta_k - theta_0))",
    "test_error": "E||w_n - w*||^2_Sigma of Gerstgrasser et al.'s fixed-design OLS chain, exact at finite T",
    "diversity": "E D_t / D_0 of a categorical model refitted by its frequencies, exact at finite n",
}
_MODEL = {"variance_ratio": "aal", "covariance": "aal", "test_error": "ols", "diversity": "categorical"}
_INDEX = {"variance_ratio": k, "covariance": k, "test_error": n, "diversity": t}
#: Parameter names a spec's expressions may use, and their symbols (others become positive symbols).
_PARAM_SYMBOLS = {"real_fraction": real_fraction}
#: One OLS fit's test error on a fixed design: sigma^2 E tr(Sigma (X^T X)^-1) = sigma^2 d/(T - d - 1).
ONE_FIT = sigma**2 * d / (T - d - 1)
#: The most generations :meth:`Derived.exact` computes (each adds atoms to the chain).
MAX_EXACT = 200


class DerivationError(UserError, ValueError):
    """A workflow feature a derivation does not cover, or a quantity it cannot give; the message names it."""


# -- the models: what an atom adds --------------------------------------------------------------------


@dataclass(frozen=True)
class Noise:
    """The variance a draw or a subsample adds, in the model's units (see the module docstring).

    Sizes ``size``, ``m``, ``N`` are in units of n (the real set's size); ``spread`` is the source's
    E||p - p_0||^2 in the model's units (used by the categorical model only).
    """

    name: str

    def draw(self, size: sp.Expr, spread: sp.Expr) -> sp.Expr:
        if self.name == "categorical":
            return (1 - spread) / (size * n)
        return 1 / size

    def sub(self, m: sp.Expr, N: sp.Expr, spread: sp.Expr, replace: bool) -> sp.Expr:
        if self.name == "categorical":
            return (1 - spread) / (m * n) if replace else (1 - spread) * (N * n - m * n) / (m * n * (N * n - 1))
        return 1 / m if replace else (1 - m / N) / m


# -- the exact chain ----------------------------------------------------------------------------------

Comb = dict  # atom index -> coefficient: a fit, a batch or a pool mean as a combination of atoms


def _add(*terms: tuple[sp.Expr, Comb]) -> Comb:
    out: Comb = {}
    for w, comb in terms:
        for a, c in comb.items():
            out[a] = out.get(a, 0) + w * c
    return {a: sp.cancel(c) for a, c in out.items() if c != 0}


def _share(s: Schedule, g: int | sp.Expr, names: Mapping[str, sp.Expr]) -> sp.Expr:
    return sp.nsimplify(s.expr(sp.Integer(g) if isinstance(g, int) else g, names), rational=True)


def _symbols(spec: WorkflowSpec) -> dict[str, sp.Expr]:
    return {p: _PARAM_SYMBOLS.get(p, sp.Symbol(p, positive=True)) for p in spec.params}


class Chain:
    """Each generation's fit as a combination of independent atoms, built exactly from a spec.

    ``fits[g]`` is the fit of generation g (g = 1: the real data); ``batches[j]`` the synthetic batch
    sampled from model j, as (size, combination). ``batch_size`` is the family's synthetic size when the
    spec leaves it out (alpha, a symbol unless given).
    """

    def __init__(self, spec: WorkflowSpec, noise: Noise, batch_size: sp.Expr = alpha):
        for i, take in enumerate(spec.takes):
            if take.count is not None:
                raise DerivationError(f"workflow {spec.label}: take[{i}].count: a fixed number of rows vanishes "
                                      "as n -> oo; give a share of n instead")
        self.spec, self.noise, self.alpha = spec, noise, batch_size
        self.names = _symbols(spec)
        self.var: list[sp.Expr] = []
        self.fits: list[Comb | None] = [None, {self._atom(noise.draw(sp.S.One, sp.S.Zero)): sp.S.One}]
        self.batches: dict[int, tuple[sp.Expr, Comb]] = {}

    def _atom(self, variance: sp.Expr) -> int:
        self.var.append(sp.cancel(variance))
        return len(self.var) - 1

    def spread(self, comb: Comb) -> sp.Expr:
        return sp.cancel(sum((c**2 * self.var[a] for a, c in comb.items()), sp.S.Zero))

    def cov(self, x: Comb, y: Comb) -> sp.Expr:
        return sp.cancel(sum((c * y[a] * self.var[a] for a, c in x.items() if a in y), sp.S.Zero))

    def take_size(self, take: Take, g: int | sp.Expr) -> sp.Expr:
        """Rows of a real or fresh take at generation g, in units of n."""
        return _share(take.share, g, self.names) if take.share is not None else sp.S.One

    def batch(self, g: int | sp.Expr) -> sp.Expr:
        """Size (units of n) of the synthetic batch that feeds generation g (sampled from model g - 1)."""
        b = self.spec.batch
        if b is None:
            return self.alpha
        if b == "rest":
            return sp.cancel(1 - sum((self.take_size(t_, g) for t_ in self.spec.takes
                                      if t_.source in ("real", "fresh")), sp.S.Zero))
        return _share(b, g, self.names)

    def comb(self, key: tuple) -> Comb:
        """The combination of a plan's key: ('real',), ('batch', j) or ('atom', index)."""
        if key[0] == "real":
            return self.fits[1]
        if key[0] == "batch":
            return self.batches[key[1]][1]
        return {key[1]: sp.S.One}

    def pool(self, take: Take, g: int) -> list[tuple[sp.Expr, tuple]]:
        """The (size, key) of each stored batch a take reads at generation g (a fresh draw is a new atom)."""
        src = take.source
        if src == "real":
            return [(sp.S.One, ("real",))]
        if src == "fresh":
            return [(sp.S.One, ("atom", self._atom(self.noise.draw(sp.S.One, sp.S.Zero))))]
        lo = {"latest": g - 1, "window": g - (take.window or 1), "synthetic": 1, "all": 1}[src]
        out = [(sp.S.One, ("real",))] if src == "all" else []
        return out + [(self.batches[j][0], ("batch", j)) for j in range(max(1, lo), g)]

    def sample(self, g: int) -> None:
        """Sample the batch that feeds generation g from model g - 1."""
        size = self.batch(g)
        if size.is_number and not size > 0:
            raise DerivationError(f"workflow {self.spec.label}: the synthetic batch at generation {g} has "
                                  f"{size} x n rows; it must be > 0")
        model = self.fits[g - 1]
        eps = self._atom(self.noise.draw(size, self.spread(model)))
        self.batches[g - 1] = (size, _add((1, model), (1, {eps: sp.S.One})))

    def plan(self, g: int) -> list[tuple[sp.Expr, tuple]]:
        """Generation g's fit as (weight, key) terms: the training set's parts, each weighted by its size."""
        parts: list[tuple[sp.Expr, tuple]] = []
        total = sp.S.Zero  # rows in the training set (units of n)
        for i, take in enumerate(self.spec.takes):
            pool = self.pool(take, g)
            N = sp.cancel(sum((s for s, _ in pool), sp.S.Zero))
            if take.share is None:
                parts += pool
                total += N
                continue
            m = _share(take.share, g, self.names)
            if not take.replace and (m - N).is_positive:
                raise DerivationError(f"workflow {self.spec.label}: take[{i}].share {m} x n exceeds the pool of "
                                      f"{N} x n rows at generation {g} (without replacement)")
            mean = _add(*((s / N, self.comb(key)) for s, key in pool))
            sub = self._atom(self.noise.sub(m, N, self.spread(mean), take.replace))
            parts += [(m * s / N, key) for s, key in pool] + [(m, ("atom", sub))]
            total += m
        total = sp.cancel(total)
        return [(sp.cancel(s / total), key) for s, key in parts]

    def step(self) -> None:
        """Sample the batch from the latest model and fit the next generation."""
        g = len(self.fits)
        self.sample(g)
        self.fits.append(_add(*((w, self.comb(key)) for w, key in self.plan(g))))

    def fit(self, g: int) -> Comb:
        if g > MAX_EXACT:
            raise DerivationError(f"generation {g} is beyond the {MAX_EXACT} the exact chain computes")
        while len(self.fits) <= g:
            self.step()
        return self.fits[g]


# -- the structure of a spec --------------------------------------------------------------------------


def _has_g(s: Schedule | None) -> bool:
    """Whether a share's expression uses the generation g."""
    return s is not None and s.text is not None and "g" in {
        x.id for x in ast.walk(ast.parse(s.text, mode="eval")) if isinstance(x, ast.Name)}


def _constant(s: Schedule | None) -> bool:
    """Whether a share is the same at every generation (a number, or an expression in the parameters)."""
    return s is None or (not s.values and not _has_g(s))


def structure(spec: WorkflowSpec) -> tuple[str | None, str]:
    """(form, reason): form is 'markov', 'pool' or 'window' (see the module docstring), or None with the
    feature that keeps the spec out of every closed form."""
    sources = {t_.source for t_ in spec.takes}
    shares = [t_.share for t_ in spec.takes] + [spec.batch if isinstance(spec.batch, Schedule) else None]
    if any(_has_g(s) for s in shares):
        return None, "a share that follows an expression in g (limits are derived for shares that end constant)"
    constant = all(_constant(s) for s in shares)
    if sources & {"all", "synthetic"}:
        if len(spec.takes) != 1:
            return None, "a pool ('all' or 'synthetic') taken together with other sources"
        if not constant:
            return None, "a pool ('all' or 'synthetic') with a share or batch that follows a schedule"
        return "pool", ""
    if sources <= {"real", "fresh", "latest"} and constant:
        return "markov", ""
    return "window", ""


# -- sums in harmonic numbers or polygammas ----------------------------------------------------------


def rational_sum(body: sp.Expr, var: sp.Symbol, lo: sp.Expr, hi: sp.Expr) -> sp.Expr:
    """sum_{var=lo}^{hi} body for ``body`` rational in ``var`` with linear poles.

    Partial fractions give terms c/(u var + v)^p = (c/u^p)/(var + a)^p, a = v/u; an integer shift a sums
    to harmonic numbers (so that divergent parts cancel exactly), any other to polygammas.
    """
    total = sp.S.Zero
    for term in sp.Add.make_args(sp.apart(sp.together(body), var)):
        c, rest = term.as_independent(var)
        if rest == 1:
            total += c * (hi - lo + 1)
            continue
        base, p = rest.as_base_exp()
        u = sp.expand(base).coeff(var)
        if not (sp.Poly(base, var).degree() == 1 and (-p).is_integer and (-p).is_positive):
            raise DerivationError(f"the sum of {term} over {var} is not in harmonic numbers or polygammas")
        q = -p
        a = sp.simplify(sp.expand(base - u * var) / u)
        c = c / u**q
        if a.is_integer:
            total += c * (sp.harmonic(hi + a, q) - sp.harmonic(lo + a - 1, q))
        else:
            sign = (-1) ** q / sp.factorial(q - 1)
            total += c * sign * (sp.polygamma(q - 1, lo + a) - sp.polygamma(q - 1, hi + a + 1))
    return sp.simplify(sp.expand_func(total))


# -- the derivations ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Derived:
    """A derived quantity of a workflow.

    ``expr`` is the closed form in ``index`` (for the covariance in k and l; None where no closed form
    is derived, with ``why``), ``recursion`` the steps it came from, ``limit`` the limit over
    generations (oo where it diverges, with ``rate`` = lim value/index), ``exact(k)`` (or
    ``exact(k, l)``) the exact value at a generation, rational in the parameters.
    """

    workflow: WorkflowSpec
    quantity: str
    index: sp.Symbol
    expr: sp.Expr | None
    recursion: tuple[Step, ...]
    limit: sp.Expr | None
    rate: sp.Expr | None
    why: str
    exact: Callable[..., sp.Expr]
    symbols: Mapping[str, sp.Symbol]


def _value(quantity: str, chain: Chain, g: int, g2: int | None = None) -> sp.Expr:
    if quantity == "covariance":
        return chain.cov(chain.fit(g), chain.fit(g if g2 is None else g2))
    return sp.factor(_in_units(quantity, chain.spread(chain.fit(g))))


def _ols_check(spec: WorkflowSpec) -> None:
    for i, take in enumerate(spec.takes):
        if take.subsampled:
            raise DerivationError(f"workflow {spec.label}: take[{i}].share: the fixed-design OLS error is derived for "
                                  "workflows that keep whole batches (no share or subsample)")
    if spec.batch is not None and not (isinstance(spec.batch, Schedule) and spec.batch.constant
                                       and spec.batch.value == 1):
        raise DerivationError(f"workflow {spec.label}: batch: the fixed-design OLS error needs batches of one "
                              "whole design (batch = 1)")


@dataclass(frozen=True)
class _Form:
    """What a structure's derivation gives, in the model's own units (v = E||Z_k||^2: Var Z_k for aal)."""

    var: sp.Expr
    steps: tuple[Step, ...]
    cross: Step | None  # Cov(Z_k, Z_l) for l > k
    limit: sp.Expr | None  # of var over k (oo: diverges)
    rate: sp.Expr | None  # lim var/k when it diverges
    limit_steps: tuple[Step, ...]


def _markov(make: Callable[[], Chain], covariance: bool) -> _Form:
    """Closed forms for a spec whose fits depend on the past through (Z_{k-1}, Z_1) only."""
    proto = make()
    r = proto.spread(proto.fits[1])
    v, c = sp.symbols("v c")
    # A generic state: Z_2 = (c/r) Z_1 + W with W independent of Z_1, Var W = v - c^2/r; generation 3's
    # step (every share is constant) is then the step from any generation k - 1 >= 1 to k.
    w = proto._atom(v - c**2 / r)
    proto.fits.append({0: c / r, w: sp.S.One})
    z = proto.fit(3)
    v_next = sp.expand(proto.spread(z))
    c_next = sp.expand(proto.cov(z, proto.fits[1]))
    wL = sp.cancel(z.get(w, sp.S.Zero))
    wR = sp.cancel(z.get(0, sp.S.Zero) - wL * c / r)
    cf, vf = sp.Function("c"), sp.Function("v")
    A, B = sp.factor(sp.diff(c_next, c)), sp.factor(c_next.subs(c, 0))
    P, Q, S = (sp.factor(sp.diff(v_next, v)), sp.factor(sp.diff(v_next, c)), sp.factor(v_next.subs({v: 0, c: 0})))
    if any(sp.cancel(x) != 0 for x in (sp.diff(A, c), sp.diff(P, v), sp.diff(P, c), sp.diff(Q, c), sp.diff(Q, v))):
        raise DerivationError("the moment recursion is not linear")  # cannot happen: fits are linear
    rec_c = sp.Eq(cf(k), A * cf(k - 1) + B)
    rec_v = sp.Eq(vf(k), P * vf(k - 1) + Q * cf(k - 1) + S)
    c_k = sp.rsolve(cf(k) - A * cf(k - 1) - B, cf(k), {cf(1): r})
    if c_k is None:
        raise DerivationError("rsolve did not solve the recursion of Cov(Z_k, Z_1)")
    c_k = sp.simplify(c_k)
    v_k = sp.rsolve(vf(k) - P * vf(k - 1) - Q * c_k.subs(k, k - 1) - S, vf(k), {vf(1): r})
    if v_k is None:
        raise DerivationError("rsolve did not solve the recursion of Var Z_k")
    v_k = sp.simplify(v_k)
    steps = (
        Step("one generation from a generic state (Z_{k-1} with E Z_{k-1}^2 = v, E Z_{k-1} Z_1 = c): "
             "Z_k = w_R Z_1 + w_L (Z_{k-1} + eps_{k-1}) + independent noise, with (w_R, w_L)", sp.Tuple(wR, wL)),
        Step("so c_k = E Z_k Z_1 follows, from c_1 = E Z_1^2", rec_c),
        Step("and v_k = E Z_k^2 follows, from v_1 = E Z_1^2", rec_v),
        Step("c_k solved (rsolve)", c_k),
        Step("v_k solved (rsolve)", v_k),
    )
    # The limit from the recursion's fixed point (|A|, |P| < 1), or the rate of a unit root (P = 1).
    if sp.simplify(A - 1) == 0:
        if sp.simplify(B) != 0:
            raise DerivationError("Cov(Z_k, Z_1) grows without bound")
        c_oo = r
    else:
        c_oo = sp.factor(B / (1 - A))
    drift = sp.factor(Q * c_oo + S)
    if sp.simplify(P - 1) == 0:
        limit, rate = sp.oo, drift
        lsteps = (Step("v_k - v_{k-1} -> Q c_oo + S (P = 1): it diverges linearly, at the rate", rate),)
    else:
        limit, rate = sp.factor(drift / (1 - P)), None
        lsteps = (Step("limit k -> oo: the fixed point (Q c_oo + S)/(1 - P), c_oo = " + str(c_oo), limit),)
        # The same v_k as the limit plus a transient (k is an integer, so combining powers is exact).
        split = limit + sp.factor(sp.powsimp(sp.simplify(v_k - limit), force=True))
        if all(sp.simplify(sp.expand(split.subs(k, g) - v_k.subs(k, g))) == 0 for g in (1, 2, 3)):
            v_k = split
            steps += (Step("written as the limit plus a transient", v_k),)
    cross = None
    if covariance:
        # E Z_l Z_k, l > k: x_l = w_R c_k + w_L x_{l-1} from x_k = v_k (later noise is independent).
        xf, m = sp.Function("x"), sp.Symbol("m", integer=True, nonnegative=True)
        x_m = sp.rsolve(xf(m) - wL * xf(m - 1) - wR * c_k, xf(m), {xf(0): v_k})
        if x_m is None:
            raise DerivationError("rsolve did not solve the recursion of Cov(Z_l, Z_k)")
        cross = Step("Cov(Z_l, Z_k) for l > k: x_l = w_R c_k + w_L x_{l-1} from x_k = v_k, solved",
                     sp.simplify(x_m.subs(m, l - k)))
    return _Form(v_k, steps, cross, limit, rate, lsteps)


def _pool(make: Callable[[], Chain], covariance: bool) -> _Form:
    """Closed forms for one take of a growing pool: Dey & Donoho's pool-fit recursion."""
    proto = make()
    if proto.noise.name == "categorical":
        raise DerivationError("the categorical pool recursion is not summed here (its noise depends on the "
                              "diversity); the exact values are")
    take = proto.spec.takes[0]
    a0 = sp.S.One if take.source == "all" else sp.S.Zero  # the real set's share of the pool
    size = proto.batch(3)
    N = a0 + (k - 1) * size  # the pool's size at generation k (units of n)
    av = sp.Symbol("a")
    s_k = sp.S.Zero if take.share is None else proto.noise.sub(_share(take.share, 3, proto.names), N, av,
                                                                take.replace)
    eps = proto.noise.draw(size, av + s_k)
    # P_{k+1} = (N P_k + size (P_k + sub_k + eps_k)) / (N + size): the increment is independent of P_k.
    a_next = sp.expand((N**2 * av + size**2 * (av + s_k + eps) + 2 * N * size * av) / (N + size) ** 2)
    f = sp.factor(sp.cancel(a_next - av))
    if av in f.free_symbols:
        raise DerivationError("the pool recursion's increment depends on the pool's variance")
    proto.fit(2)
    pool2 = proto.pool(take, 2)
    a2 = proto.spread(_add(*((s / sum(s_ for s_, _ in pool2), proto.comb(key)) for s, key in pool2)))
    j = sp.Symbol("j", integer=True, positive=True)
    a_k = sp.simplify(a2 + rational_sum(f.subs(k, j), j, 2, k - 1))
    var = sp.simplify(a_k + s_k)
    first = proto.spread(proto.fits[1])
    if sp.simplify(sp.expand_func(var.subs(k, 1) - first)) != 0:
        var = sp.Piecewise((first, sp.Eq(k, 1)), (var, True))
    steps = (
        Step("pool of N_k = " + ("1 + " if a0 else "") + "(k-1) x batch rows at generation k; the fit "
             "Z_k = P_k + sub_k (subsample noise s_k); P_{k+1} = (N_k P_k + batch (Z_k + eps_k))/N_{k+1}, "
             "so Var P_{k+1} - Var P_k is", f),
        Step("Var P_k = Var P_2 + sum_{j=2}^{k-1} of it (k >= 2), with Var P_2", a2),
        Step("summed (partial fractions: harmonic numbers or polygammas)", a_k),
        Step("Var Z_k = Var P_k + s_k", var),
    )
    body = var.args[-1][0] if isinstance(var, sp.Piecewise) else var
    limit = sp.simplify(sp.limit(body, k, sp.oo))
    rate = None
    if limit is sp.oo:
        rate = sp.simplify(sp.limit(body / k, k, sp.oo))
        lsteps = (Step("limit k -> oo: it diverges, at the rate lim Var Z_k / k", rate),)
    else:
        lsteps = (Step("limit k -> oo", limit),)
    cross = None
    if covariance:
        # Cov(Z_k, Z_l), l > k: later increments are independent of Z_k, so it is Cov(Z_k, P_{k+1}).
        x = sp.simplify((N * a_k + size * (a_k + s_k)) / (N + size))
        c1 = proto.cov(proto.fits[1], proto.fit(2))
        if sp.simplify(sp.expand_func(x.subs(k, 1) - c1)) != 0:
            x = sp.Piecewise((c1, sp.Eq(k, 1)), (x, True))
        cross = Step("Cov(Z_k, Z_l) for l > k = Cov(Z_k, P_{k+1}) (later increments are independent)", x)
    return _Form(var, steps, cross, limit, rate, lsteps)


@dataclass(frozen=True)
class _Eventual:
    """A finite-memory spec's recursion from generation g0 on, when every share is constant and every
    window full: B_k = w_R Z_1 + sum_i w[i-1] B_{k-i} + u_k + eps_k, Var u_k = qu, Var u_k + Var eps_k = q."""

    proto: Chain
    g0: int
    w: list
    wR: sp.Expr
    qu: sp.Expr
    q: sp.Expr
    F: sp.Matrix  # the companion matrix of the w


def _eventual(make: Callable[[], Chain]) -> _Eventual:
    proto = make()
    if proto.noise.name == "categorical":
        raise DerivationError("the categorical limit is derived for real, fresh and latest workflows only")
    spec = proto.spec
    K = max(spec.window, 1)
    longest = max([len(s.values) for s in [t_.share for t_ in spec.takes] + [spec.batch]
                   if isinstance(s, Schedule)] + [0])
    g0 = max(K + 1, longest + 2)  # every share is at its last value, every window full
    proto.fit(g0 - 1)
    proto.sample(g0)
    terms = proto.plan(g0)
    w = [sp.cancel(sum((c for c, key in terms if key == ("batch", g0 - i)), sp.S.Zero)) for i in range(1, K + 1)]
    wR = sp.cancel(sum((c for c, key in terms if key == ("real",)), sp.S.Zero))
    qu = sp.cancel(sum((c**2 * proto.var[key[1]] for c, key in terms if key[0] == "atom"), sp.S.Zero))
    q = sp.cancel(qu + proto.noise.draw(proto.batch(g0 + 1), sp.S.Zero))
    F = sp.zeros(K, K)
    for i in range(K):
        F[0, i] = w[i]
        if i + 1 < K:
            F[i + 1, i] = 1
    return _Eventual(proto, g0, w, wR, qu, q, F)


def _state_space(make: Callable[[], Chain]) -> tuple[sp.Expr, sp.Expr | None, tuple[Step, ...]]:
    """(limit, rate, steps) of a finite-memory spec from its eventual time-invariant recursion."""
    ev = _eventual(make)
    proto, g0, w, wR, qu, q, F = ev.proto, ev.g0, ev.w, ev.wR, ev.qu, ev.q, ev.F
    K = len(w)
    C = sp.cancel(sum(w, sp.S.Zero))
    steps = [Step(f"from generation {g0} on: B_k = w_R Z_1 + sum_i w_i B_{{k-i}} + u_k + eps_k, with "
                  "(w_R, w_1..w_K, Var u_k + Var eps_k)", sp.Tuple(wR, *w, q))]
    if sp.simplify(C - 1) == 0:
        right = (F - sp.eye(K)).nullspace()
        left = (F.T - sp.eye(K)).nullspace()
        if len(right) != 1 or len(left) != 1:
            raise DerivationError("the eigenvalue 1 of the recursion is not simple")
        r_, u_ = right[0], left[0]
        rate = sp.factor(sp.simplify(u_[0] ** 2 * q * r_[0] ** 2 / (u_.dot(r_)) ** 2))
        steps.append(Step("sum_i w_i = 1: a unit root. With u, r the left and right eigenvectors of the "
                          "companion matrix F for the eigenvalue 1, Var Z_k / k -> q (u_1 r_1 / u'r)^2", rate))
        return sp.oo, rate, tuple(steps)
    # Stationary: Z_oo's coefficient on Z_1 is w_R/(1 - C); the deviations solve Sigma = F Sigma F' + Q.
    syms = sp.symbols(f"s0:{K * K}")
    Sig = sp.Matrix(K, K, lambda i, j_: syms[min(i, j_) * K + max(i, j_)])
    Qm = sp.zeros(K, K)
    Qm[0, 0] = q
    sol = sp.solve(list(Sig - F * Sig * F.T - Qm), sorted(Sig.free_symbols, key=str), dict=True)
    if len(sol) != 1:
        raise DerivationError("the stationary covariance equation has no unique solution")
    Sig = Sig.subs(sol[0])
    wv = sp.Matrix(w)
    mR = sp.cancel(wR / (1 - C))
    limit = sp.factor(sp.cancel(mR**2 * proto.spread(proto.fits[1]) + (wv.T * Sig * wv)[0, 0] + qu))
    steps.append(Step("sum_i w_i < 1: stationary. Z_oo = m Z_1 + (a stationary deviation), m = w_R/(1 - sum w_i)",
                      mR))
    steps.append(Step("the deviations' covariance solves Sigma = F Sigma F' + q e_1 e_1'; the limit is "
                      "m^2 Var Z_1 + w' Sigma w + Var u_k", limit))
    return limit, None, tuple(steps)


#: The highest order of the window recurrence handed to rsolve: (K + 1)^2 + 1 for a window of K batches
#: with real or fresh rows, K^2 + 1 without (a window of three batches: order 10, about 10 s).
MAX_ORDER = 10


def _window(make: Callable[[], Chain], exact: Callable[[int], sp.Expr]) -> tuple[sp.Expr, tuple[Step, ...]]:
    """Var Z_k in closed form for a finite-memory spec, from the recurrence its second moments satisfy.

    The state X_k = (B_{k-1}, ..., B_{k-K}, Z_1) moves by X_{k+1} = G X_k + noise from generation g0 on,
    so its second moments move by the affine map S -> G S G' + Q, whose characteristic polynomial is
    chi_{G (x) G}(x) (x - 1). By Cayley-Hamilton every entry of S_k, and so Var Z_k, satisfies the linear
    recurrence with that characteristic polynomial; rsolve solves it from the exact values.
    """
    ev = _eventual(make)
    if any(e.free_symbols for e in [*ev.w, ev.wR, ev.q]):
        raise DerivationError("no closed form in k for a window with symbolic shares "
                              "(exact values and the limit are derived)")
    K = len(ev.w)
    G = ev.F
    if ev.wR != 0:
        G = sp.zeros(K + 1, K + 1)
        G[:K, :K] = ev.F
        G[0, K] = ev.wR
        G[K, K] = 1
    x = sp.Symbol("x")
    if max(sp.degree(f, x) for f, _ in sp.factor_list(G.charpoly(x).as_expr(), x)[1]) > 2:
        raise DerivationError("no closed form in k: the window's recursion has roots of an irreducible cubic or "
                              "higher (exact values and the limit are derived)")
    chi = sp.Poly(sp.kronecker_product(G, G).charpoly(x).as_expr() * (x - 1), x)
    order = chi.degree()
    if order > MAX_ORDER:
        raise DerivationError(f"no closed form in k: the window's recurrence has order {order}, beyond the "
                              f"{MAX_ORDER} rsolve is asked to solve (exact values and the limit are derived)")
    vf = sp.Function("v")
    rec = sum((c * vf(k + i) for i, c in enumerate(reversed(chi.all_coeffs()))), sp.S.Zero)
    sol = sp.rsolve(rec, vf(k), {vf(ev.g0 + i): exact(ev.g0 + i) for i in range(order)})
    if sol is None:
        raise DerivationError("rsolve did not solve the window's recurrence")
    sol = sp.simplify(sol)
    early = [g for g in range(1, ev.g0) if sp.simplify(sp.expand(sol.subs(k, g)) - exact(g)) != 0]
    expr = sp.Piecewise(*[(exact(g), sp.Eq(k, g)) for g in early], (sol, True)) if early else sol
    steps = (
        Step(f"the second moments of X_k = (B_(k-1), ..., B_(k-K){', Z_1' if ev.wR != 0 else ''}) follow an affine "
             f"map from generation {ev.g0} on; by Cayley-Hamilton Var Z_k satisfies the recurrence with "
             "characteristic polynomial",
             sp.factor(chi.as_expr())),
        Step(f"solved (rsolve) from the exact values at k = {ev.g0}..{ev.g0 + order - 1}", expr),
    )
    return expr, steps


def derive(workflow: object, quantity: str = "variance_ratio", alpha: sp.Expr | float = 1) -> Derived:
    """Derive ``quantity`` (a key of :data:`QUANTITIES`) for a workflow (a name, a spec or its table).

    ``alpha`` is the synthetic batch size (a share of n) where the spec leaves it to the family: 1 (n
    points, the families' default) unless given, a number or a SymPy symbol (``theory.symbols.alpha``);
    ``test_error`` needs batches of one whole design, alpha = 1. The workflow's own parameters
    (real-fraction's ``real_fraction``, as the symbol rho) stay symbols.
    """
    return _derive(workflow_spec(workflow), quantity, _batch_size(quantity, alpha))


def _batch_size(quantity: str, alpha: sp.Expr | float) -> sp.Expr:
    """``alpha`` checked for ``quantity`` (DerivationError naming it), as an exact number or a symbol."""
    if quantity not in QUANTITIES:
        raise DerivationError(f"quantity must be one of {', '.join(QUANTITIES)}, got {quantity!r}")
    a = sp.nsimplify(alpha, rational=True) if not isinstance(alpha, sp.Basic) else alpha
    if a.is_number and not a > 0:
        raise DerivationError(f"alpha must be > 0, got {alpha}")
    if quantity == "test_error" and a != 1:
        raise DerivationError("alpha: the fixed-design OLS error needs batches of one whole design (alpha = 1)")
    return a


@dataclass(frozen=True)
class _NoiseAt(Noise):
    """A model's noise with n a number: the exact chain stays rational in numbers (the categorical chain's
    rational functions of a symbolic n grow with every generation: seconds for ten of them)."""

    size: sp.Expr = n

    def draw(self, size: sp.Expr, spread: sp.Expr) -> sp.Expr:
        return super().draw(size, spread).subs(n, self.size)

    def sub(self, m: sp.Expr, N: sp.Expr, spread: sp.Expr, replace: bool) -> sp.Expr:
        return super().sub(m, N, spread, replace).subs(n, self.size)


def exact_values(workflow: object, quantity: str = "variance_ratio", alpha: sp.Expr | float = 1,
                 values: Mapping[str, object] | None = None) -> Callable[..., sp.Expr]:
    """The exact chain alone: g -> the quantity at generation g (``(k, l)`` for the covariance), as
    :func:`derive`'s ``exact`` gives it, without the closed form and the limit (which cost SymPy's
    rsolve, seconds for a window). ``values`` fixes the workflow's parameters (real_fraction) and the
    model's sizes (n, T, d, sigma) by name; what it leaves out stays a symbol. For holding many random
    workflows against simulation (numerics.derive_check)."""
    spec = workflow_spec(workflow)
    a = _batch_size(quantity, alpha)
    given = dict(values or {})
    params = {p: given.pop(p) for p in spec.params if p in given}
    sizes = {"n": n, "d": d, "T": T, "sigma": sigma}
    unknown = set(given) - set(sizes)
    if unknown:
        raise DerivationError(f"no parameter or size {sorted(unknown)[0]!r} (names: "
                              f"{', '.join([*spec.params, *sizes])})")
    subs = {sizes[k]: sp.nsimplify(v, rational=True) for k, v in given.items()}
    if params:  # bound before the chain is built: its combinations stay numbers, not rational functions
        spec = spec.bind(**{p: float(v) for p, v in params.items()})
    noise = Noise(_MODEL[quantity]) if "n" not in given else _NoiseAt(_MODEL[quantity], subs.pop(n))
    chain = Chain(spec, noise, a)
    if quantity == "test_error":
        _ols_check(spec)

    @functools.lru_cache(maxsize=None)
    def value(g: int, g2: int | None = None) -> sp.Expr:
        return sp.factor(_value(quantity, chain, g, g2).subs(subs))

    return value


def _in_units(quantity: str, e: sp.Expr) -> sp.Expr:
    """A spread E||Z||^2 (or its limit) as the quantity."""
    if quantity == "diversity":
        return sp.simplify(1 - e)
    return e * ONE_FIT if quantity == "test_error" else e


@functools.lru_cache(maxsize=64)
def _derive(spec: WorkflowSpec, quantity: str, batch: sp.Expr) -> Derived:
    noise = Noise(_MODEL[quantity])

    def make() -> Chain:
        return Chain(spec, noise, batch)

    chain = make()  # refuses what no derivation covers (a count) at once
    if quantity == "test_error":
        _ols_check(spec)
    exact = functools.lru_cache(maxsize=None)(lambda g, g2=None: _value(quantity, chain, g, g2))
    index = _INDEX[quantity]
    names = {"k": k, "l": l, "n": n, "t": t, "alpha": alpha, "sigma": sigma, "d": d, "T": T, **_symbols(spec)}
    if quantity == "test_error" or batch.is_number:
        names.pop("alpha")
    form, why = structure(spec)
    expr, steps, limit, rate = None, (), None, None
    covariance = quantity == "covariance"
    if form in ("markov", "pool"):
        try:
            f = (_markov if form == "markov" else _pool)(make, covariance)
        except DerivationError as e:
            why = str(e)
        else:
            steps = f.steps
            if covariance:
                expr = sp.Piecewise((f.var, sp.Eq(k, l)),
                                    (f.cross.expr.subs({k: sp.Min(k, l), l: sp.Max(k, l)}, simultaneous=True), True))
                steps = steps + (f.cross,)
            else:
                expr = _in_units(quantity, f.var)
                limit = f.limit if f.limit is sp.oo else _in_units(quantity, f.limit)
                rate = None if f.rate is None else _in_units(quantity, f.rate)
                steps = steps + f.limit_steps
    elif form == "window" and _MODEL[quantity] != "categorical" and not covariance:
        try:
            var, steps = _window(make, lambda g: chain.spread(chain.fit(g)))
        except DerivationError as e:
            why = str(e)
        else:
            expr = _in_units(quantity, var)
    if form == "window" and not covariance:
        try:
            lim, rate, lsteps = _state_space(make)
        except DerivationError as e:
            why = f"{why}; limit: {e}"
        else:
            limit = lim if lim is sp.oo else _in_units(quantity, lim)
            rate = None if rate is None else _in_units(quantity, rate)
            steps = steps + lsteps
    if expr is None and not why:
        why = f"no closed form in k for the {quantity} of a {form} workflow (exact values are derived)"
    if index != k:
        expr = None if expr is None else expr.subs(k, index)
        steps = tuple(Step(s_.text, s_.expr.subs(k, index)) for s_ in steps)
    return Derived(spec, quantity, index, expr, steps, limit, rate, why, exact, names)


def limit_of(workflow: object, quantity: str = "variance_ratio", alpha: sp.Expr | float = 1,
             values: Mapping[str, object] | None = None) -> tuple[sp.Expr | None, sp.Expr | None]:
    """(limit over generations, rate of divergence) of ``quantity`` without the closed form in k (which
    costs rsolve): the markov fixed point or the window state-space model, as :func:`derive` finds them,
    in milliseconds; (None, None) for other structures (a pool, a schedule in g) or what they refuse.
    ``values`` fixes the workflow's parameters and the model's sizes by name, as in :func:`exact_values`.
    For the theory column of sweeps (numerics.theory_column), which draws the limit."""
    spec = workflow_spec(workflow)
    a = _batch_size(quantity, alpha)
    if quantity == "covariance":
        return None, None
    form, _ = structure(spec)
    noise = Noise(_MODEL[quantity])
    try:
        if form == "markov":
            f = _markov(lambda: Chain(spec, noise, a), False)
            limit, rate = f.limit, f.rate
        elif form == "window" and noise.name != "categorical":
            limit, rate, _ = _state_space(lambda: Chain(spec, noise, a))
        else:
            return None, None
    except DerivationError:
        return None, None
    sizes = {"n": n, "d": d, "T": T, "sigma": sigma, **_symbols(spec)}
    subs = {sizes[k_]: sp.nsimplify(v, rational=True) for k_, v in (values or {}).items() if k_ in sizes}
    limit = limit if limit is sp.oo else sp.simplify(_in_units(quantity, limit).subs(subs))
    rate = None if rate is None else sp.simplify(_in_units(quantity, rate).subs(subs))
    return limit, rate


def parse_at(pairs: Mapping[str, str] | list[str]) -> dict[str, sp.Expr]:
    """``NAME=VALUE`` pairs as exact numbers (decimals read exactly); DerivationError naming a bad one."""
    out: dict[str, sp.Expr] = {}
    items = pairs.items() if isinstance(pairs, Mapping) else [p.split("=", 1) if "=" in p else (p, None) for p in pairs]
    for name, text in items:
        if text is None or not name:
            raise DerivationError(f"--at takes NAME=VALUE, got {name!r}")
        try:
            value = sp.Rational(text.strip())
        except (TypeError, ValueError):
            raise DerivationError(f"--at {name}: {text!r} is not a number") from None
        out[name.strip()] = value
    return out


def evaluate(derived: Derived, at: Mapping[str, sp.Expr]) -> sp.Expr:
    """The exact value at ``at`` (the generation as the index name, k by default, and any parameters)."""
    unknown = set(at) - set(derived.symbols)
    if unknown:
        raise DerivationError(f"--at: unknown name {sorted(unknown)[0]!r} "
                              f"(names: {', '.join(sorted(derived.symbols))})")
    idx = str(derived.index)
    g = at.get(idx, at.get("k"))
    if g is None or not (g.is_integer and g >= 1):
        raise DerivationError(f"--at {idx} must be an integer >= 1")
    subs = {derived.symbols[name]: v for name, v in at.items() if name not in (idx, "k", "l")}
    if derived.quantity == "covariance":
        g2 = at.get("l", g)
        if not (g2.is_integer and g2 >= 1):
            raise DerivationError("--at l must be an integer >= 1")
        value = derived.exact(int(g), int(g2))
    else:
        value = derived.exact(int(g))
    return sp.nsimplify(sp.factor(value.subs(subs)), rational=True) if subs else value


def limit_derivation(workflow: object, quantity: str = "variance_ratio",
                     alpha: sp.Expr | float = 1) -> tuple[sp.Expr | None, sp.Expr | None, tuple[Step, ...]]:
    """(limit, rate, steps) of ``quantity`` over generations without the closed form in k: the window's
    state-space model (:func:`_state_space`, milliseconds to a second), or for the markov and pool
    structures :func:`derive`'s (a first-order rsolve); (None, None, ()) where neither is derived."""
    spec = workflow_spec(workflow)
    a = _batch_size(quantity, alpha)
    form, _ = structure(spec)
    noise = Noise(_MODEL[quantity])
    if form == "window" and noise.name != "categorical" and quantity != "covariance":
        if quantity == "test_error":
            _ols_check(spec)
        try:
            lim, rate, steps = _state_space(lambda: Chain(spec, noise, a))
        except DerivationError:
            return None, None, ()
        return (lim if lim is sp.oo else _in_units(quantity, lim),
                None if rate is None else _in_units(quantity, rate), steps)
    if form in ("markov", "pool"):
        d = _derive(spec, quantity, a)
        return d.limit, d.rate, d.recursion
    return None, None, ()
