"""theory.derive: theory derived from a declared workflow, held against the registered claims.

The derived forms of the claim workflows must equal the claims symbolically (the difference simplifies
to zero, not a number), structural facts must hold for random workflows (hypothesis), a planted error
in the derivation must break the equalities, and ``collapse derive`` must print and fail as a command.
"""

from __future__ import annotations

import sympy as sp
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from collapse.cli import main
from theory import CLAIMS
from theory import derive as D
from theory.derive import DerivationError, Noise, derive, structure
from theory.symbols import T, alpha, d, k, l, n, real_fraction, real_rows, sigma, t
from theory.workflows import WorkflowError, workflow_spec

CLAIM_WORKFLOWS = ("replace", "accumulate", "accumulate-subsample", "accumulate-subsample-replacement")


def same(a: sp.Expr, b: sp.Expr, index: sp.Symbol = k) -> bool:
    """Whether a - b simplifies to zero.

    Powers with the generation in the exponent (rsolve writes b^k, a claim b^(k-1)) are first split as
    b^c X_b with X_b an independent symbol for b^u, u the generation: an identity in the X_b then holds
    for every generation.
    """
    u = sp.Dummy("u", integer=True)
    diff = sp.piecewise_fold(a - b).subs(index, u)
    diff = diff.replace(lambda e: e.is_Pow and not e.exp.is_number, lambda e: sp.factor(e.base) ** e.exp)
    diff = sp.expand_power_base(diff, force=True)
    xs: dict = {}

    def split(e):
        c = e.exp.subs(u, 0)
        return xs.setdefault(e.base, sp.Dummy()) ** sp.simplify((e.exp - c) / u) * e.base**c

    diff = diff.replace(lambda e: e.is_Pow and e.exp.has(u) and sp.diff(e.exp, u).is_number, split)
    return sp.simplify(sp.expand_func(diff)) == 0


# -- the registered claims, derived --------------------------------------------------------------------


@pytest.mark.parametrize("workflow", CLAIM_WORKFLOWS)
def test_variance_ratio_equals_the_claim(workflow):
    got = derive(workflow)
    claim = CLAIMS["universality.variance_ratio"].form(workflow=workflow, first_fit="real")
    assert same(got.expr, claim.expr)
    assert got.limit == claim.limit or same(got.limit, claim.limit)


@pytest.mark.parametrize("workflow", CLAIM_WORKFLOWS)
def test_covariance_equals_the_claim(workflow):
    got = derive(workflow, "covariance")
    claim = CLAIMS["universality.gaussian_process"].form(workflow=workflow, first_fit="real")
    assert same(got.expr, claim.expr)
    assert got.exact(3, 5) == claim.expr.subs({k: 3, l: 5})


def test_accumulate_with_batches_of_alpha_n_equals_the_claim():
    got = derive("accumulate", alpha=alpha)
    claim = CLAIMS["universality.accumulate_fraction"].form()
    assert same(got.expr, claim.expr) and same(got.limit, claim.limit)


@pytest.mark.parametrize("workflow", ["replace", "accumulate"])
def test_ols_test_error_equals_the_claim(workflow):
    got = derive(workflow, "test_error")
    claim = CLAIMS[f"regression.{workflow}.test_error"].form()
    assert same(got.expr, claim.expr, n)
    assert got.exact(10).subs({sigma: 1, d: 5, T: 20}) == claim.expr.subs({sigma: 1, d: 5, T: 20, n: 10})


def test_real_fraction_diversity_equals_categorical_diversity():
    got = derive("real-fraction", "diversity")
    claim = CLAIMS["categorical.diversity"].form(workflow="real-fraction")
    rows = {real_rows: real_fraction * n}
    assert same(got.expr, claim.expr.subs(rows), t)
    assert same(got.limit, claim.limit.subs(rows), t)
    value = CLAIMS["categorical.diversity"].evaluate(n=20, t=5, workflow="real-fraction", real_fraction=0.25)
    mine = got.exact(5).subs({n: 20, real_fraction: sp.Rational(1, 4)})
    assert mine.is_Rational and abs(float(mine) - float(value)) < 1e-15


def test_replace_and_accumulate_diversity_equal_the_claim():
    assert same(derive("replace", "diversity").expr, CLAIMS["categorical.diversity"].form(workflow="replace").expr, t)
    acc = derive("accumulate", "diversity")  # no closed form (the pool is not summed): the exact values
    claim = CLAIMS["categorical.diversity"].form(workflow="accumulate").expr
    for g in range(1, 7):
        assert sp.simplify(acc.exact(g) - claim.subs(t, g).doit()) == 0


# -- what the derivation finds by itself ---------------------------------------------------------------


@pytest.mark.parametrize("K", range(1, 7))
def test_a_window_of_K_batches_diverges_at_4k_over_K_plus_1_squared(K):
    got = derive(workflow_spec({"take": [{"from": "window", "window": K}]}))
    assert got.limit is sp.oo and got.rate == sp.Rational(4, (K + 1) ** 2)


def test_real_fraction_limit_and_value():
    got = derive("real-fraction")
    assert same(got.limit, 1 + (1 - real_fraction**2) / (real_fraction * (2 - real_fraction)))
    assert got.exact(5).subs(real_fraction, sp.Rational(1, 10)) == sp.Rational(396756559, 100000000)


def test_real_plus_synthetic_never_lowers_the_variance():
    """Kazdan et al.'s question, in the n -> oo limit: the ratio exceeds 1 at every k >= 2 and every alpha."""
    got = derive("real-plus-synthetic", alpha=alpha)
    assert same(got.limit, (1 + 3 * alpha) / (1 + 2 * alpha))
    assert sp.factor(got.exact(2) - 1) == alpha / (alpha + 1) ** 2
    # Exactly at every finite n for frequencies: E||p_2 - p_0||^2 exceeds E||p_1 - p_0||^2 (units of D_0).
    div = derive("real-plus-synthetic", "diversity", alpha=alpha)
    assert sp.factor(div.exact(1) - div.exact(2)) == alpha * (n - 1) / (n**2 * (alpha + 1) ** 2)


# -- random workflows ----------------------------------------------------------------------------------


@st.composite
def specs(draw):
    """A random workflow table: a synthetic source (maybe subsampled), maybe real or fresh rows (a share, a
    list schedule or an expression in g), a batch size (a number or a list) or 'rest'."""
    source = draw(st.sampled_from(["latest", "window", "synthetic", "all"]))
    take: dict = {"from": source}
    if source == "window":
        take["window"] = draw(st.integers(1, 4))
    if draw(st.booleans()):
        take["share"] = draw(st.sampled_from([0.25, 0.5, 1.0]))
        take["replace"] = draw(st.booleans())
    takes = [take]
    extra = draw(st.sampled_from([None, "real", "fresh"])) if source != "all" else None
    if extra:
        part = {"from": extra}
        if draw(st.booleans()):
            part["share"] = draw(st.sampled_from([0.1, 0.25, 0.5, [0.5, 0.25], "0.5**g", "1/(2*g)"]))
        takes.insert(0, part)
    table: dict = {"take": takes}
    kind = draw(st.sampled_from(["family", "number", "list", "rest"]))
    if kind == "number":
        table["batch"] = draw(st.sampled_from([0.5, 1.0, 2.0]))
    elif kind == "list":
        table["batch"] = draw(st.lists(st.sampled_from([0.5, 1.0, 2.0]), min_size=1, max_size=3))
    elif kind == "rest" and extra and "share" in takes[0]:
        table["batch"] = "rest"
    try:
        return workflow_spec(table, name="random")
    except WorkflowError:
        assume(False)


_HEALTH = [HealthCheck.too_slow, HealthCheck.filter_too_much]
#: The default suite draws a few workflows; ``-m slow`` draws sixty (about a minute or two).
_SMALL = settings(max_examples=6, deadline=None, suppress_health_check=_HEALTH)
_FULL = settings(max_examples=60, deadline=None, suppress_health_check=_HEALTH)


def _derived(spec):
    try:
        return derive(spec)
    except DerivationError:  # a share larger than its pool without replacement
        assume(False)


def _check_structure(spec) -> None:
    got = _derived(spec)
    values = [got.exact(g) for g in range(1, 13)]
    assert values[0] == 1
    assert all(v.is_Rational and v > 0 for v in values)
    sources = {t_.source for t_ in spec.takes}
    form, _ = structure(spec)
    if form == "pool" or (form == "markov" and sources == {"latest"}):
        # Without real or fresh rows nothing pulls the fit back: the variance never falls.
        assert all(b >= a for a, b in zip(values, values[1:]))
    if got.expr is not None:
        assert all(sp.simplify(sp.expand(sp.expand_func(got.expr.subs(k, g))) - v) == 0
                   for g, v in enumerate(values, 1))
    if got.limit is sp.oo:
        assert got.rate.is_positive
        assert not (sources & {"real", "fresh"})
    elif got.limit is not None:
        # A finite limit: the exact values settle on it.
        assert abs(float(got.exact(60)) - float(got.limit)) < abs(float(values[1]) - float(got.limit)) + 1e-12
    if form == "markov":
        # Two derivations of the limit: the rsolved closed form's fixed point, and the state-space model.
        lim, rate, _ = D._state_space(lambda: D.Chain(spec, Noise("aal"), sp.S.One))
        assert (lim, rate) == (got.limit, got.rate) or same(lim, got.limit)
    # A window of one batch is the latest batch.
    if any(t_.source == "window" and t_.window == 1 for t_ in spec.takes):
        table = spec.as_dict()
        for t_ in table["take"]:
            if t_["from"] == "window":
                t_["from"] = "latest"
                del t_["window"]
        assert [derive(workflow_spec(table)).exact(g) for g in range(1, 13)] == values


@given(specs())
@_SMALL
def test_random_workflows_have_the_structure_they_should(spec):
    _check_structure(spec)


@pytest.mark.slow
@given(specs())
@_FULL
def test_random_workflows_have_the_structure_they_should_full(spec):
    _check_structure(spec)


def test_a_window_of_two_batches_in_closed_form():
    got = derive(workflow_spec({"take": [{"from": "window", "window": 2}]}))
    hand = 4 * k / 9 + 1 + sp.Rational(16, 27) * ((-sp.Rational(1, 2)) ** k - sp.Rational(1, 4) ** k)
    assert all(sp.expand(got.expr.subs(k, g)) == hand.subs(k, g) == got.exact(g) for g in range(1, 25))
    assert got.limit is sp.oo and got.rate == sp.Rational(4, 9)  # the 4k/9 of the closed form


def test_window_of_one_is_replace():
    one = derive(workflow_spec({"take": [{"from": "window", "window": 1}]}))
    rep = derive("replace")
    assert [one.exact(g) for g in range(1, 13)] == [rep.exact(g) for g in range(1, 13)]
    assert (one.limit, one.rate) == (rep.limit, rep.rate)


# -- planted errors are rejected -----------------------------------------------------------------------


def test_dropping_a_covariance_term_breaks_the_equality(monkeypatch):
    """A batch treated as independent of the model it was sampled from (its covariance with it dropped)."""
    D._derive.cache_clear()
    honest = derive("real-fraction").expr
    claim = CLAIMS["universality.variance_ratio"].form(workflow="accumulate", first_fit="real").expr
    comb = D.Chain.comb

    def independent(self, key):
        if key[0] != "batch":
            return comb(self, key)
        planted = self.__dict__.setdefault("_planted", {})
        if key not in planted:
            planted[key] = {self._atom(self.spread(comb(self, key))): sp.S.One}
        return planted[key]

    monkeypatch.setattr(D.Chain, "comb", independent)
    D._derive.cache_clear()
    try:
        assert derive("accumulate").exact(3) != claim.subs(k, 3).doit()
        assert not same(derive("real-fraction").expr, honest)
    finally:
        D._derive.cache_clear()


def test_with_replacement_noise_for_without_breaks_the_equality(monkeypatch):
    sub = Noise.sub
    monkeypatch.setattr(Noise, "sub", lambda self, m, N, spread, replace: sub(self, m, N, spread, True))
    D._derive.cache_clear()
    try:
        got = derive("accumulate-subsample")
        claim = CLAIMS["universality.variance_ratio"].form(workflow="accumulate-subsample", first_fit="real")
        assert not same(got.expr, claim.expr)
    finally:
        D._derive.cache_clear()


# -- refusals ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("table, quantity, words", [
    ({"take": [{"from": "latest", "count": 5}]}, "variance_ratio", "take[0].count"),
    ({"take": [{"from": "all", "share": 0.5}]}, "test_error", "take[0].share"),
    ({"take": [{"from": "latest"}], "batch": 0.5}, "test_error", "batch"),
])
def test_unsupported_features_are_refused_by_name(table, quantity, words):
    with pytest.raises(DerivationError, match=words.replace("[", r"\[").replace("]", r"\]")):
        derive(workflow_spec(table), quantity)


def test_an_expression_schedule_has_exact_values_and_no_limit():
    spec = workflow_spec({"take": [{"from": "real", "share": "0.5**(g-1)"}, {"from": "latest"}], "batch": "rest"})
    got = derive(spec)
    assert got.exact(1) == 1 and got.exact(2) == sp.Rational(7, 4)
    assert got.expr is None and got.limit is None and "expression in g" in got.why


# -- the command ---------------------------------------------------------------------------------------


def test_derive_prints_the_ratio_and_its_limit(capsys):
    assert main(["derive", "real-fraction", "--quantity", "variance_ratio", "--at", "real_fraction=0.1", "k=5"]) == 0
    out = capsys.readouterr().out
    assert "k=5: 396756559/100000000" in out and "limit k -> oo: 118/19" in out and "rsolve" in out


def test_derive_reads_a_toml_window_and_finds_its_rate(tmp_path, capsys):
    path = tmp_path / "last3.toml"
    path.write_text('[workflows.last3]\ndoc = "the last three batches"\ntake = [{from = "window", window = 3}]\n')
    assert main(["derive", str(path)]) == 0
    out = capsys.readouterr().out
    assert "k=10: 18952894/4782969" in out and "variance_ratio / k -> 1/4" in out and "Cayley-Hamilton" in out


@pytest.mark.parametrize("fmt", ["latex", "sympy"])
def test_derive_formats(fmt, capsys):
    assert main(["derive", "accumulate", "--format", fmt, "--at", "k=3"]) == 0
    out = capsys.readouterr().out
    assert (r"\operatorname{harmonic}{\left(k,2 \right)}" in out) if fmt == "latex" else ("harmonic(k, 2)" in out)


@pytest.mark.parametrize("argv, words", [
    (["derive", "nonsense"], "workflow must be one of"),
    (["derive", '{take = [{from = "latest", count = 5}]}'], "take[0].count"),
    (["derive", "replace", "--at", "k=zero"], "--at k"),
    (["derive", "replace", "--at", "beta=1"], "unknown name 'beta'"),
    (["derive", "{take = ["], "not a TOML table"),
    (["derive", "missing.toml"], "cannot read missing.toml"),
])
def test_derive_errors_are_one_line_with_status_2(argv, words, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and words in err
