"""The bridge: a neural unigram trained to convergence by the deep loop reproduces the categorical claims."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import theory  # noqa: E402
from deep.language import simulators  # noqa: E402,F401  (registers the simulators)
from numerics import catalog  # noqa: E402
from numerics.categorical import truth  # noqa: E402


def run_bridge(trials, generations, seed=0, **given):
    sim = catalog.get("lm-bridge")
    settings = sim.resolve({"n": 20, "K": 5, "zipf": 1.0, **given})
    return sim.call(trials, np.random.default_rng(seed), settings, generations,
                    ["diversity_ratio", "surviving", "opt_error", "diversity_freq", "diversity"])


def tolerance(values, opt_error, n):
    """4 standard errors of the mean over seeds, plus the optimisation error's worst effect.

    The chain of trained models differs from the exact frequency chain only because each trained q_g is
    within TV_g (total variation) of the frequencies f_g it should equal. Drawing n symbols from q_g
    instead of f_g changes the law of the next sample by at most n TV_g (a coupling of the n draws), so
    the law of the whole trajectory up to g moves by at most sum_{h<=g} n TV_h, which bounds the shift
    of the mean of any quantity in [0, 1] (a diversity ratio up to 1/D_0, a survivor count up to K:
    scaled below); the last fit adds |D(q) - D(f)| <= 2 sum|q - f| = 4 TV_g directly.
    """
    se = values.std(ddof=1) / np.sqrt(len(values))
    return 4 * se, n * opt_error.sum() + 4 * opt_error[-1]


@pytest.mark.parametrize("workflow", ["replace", "accumulate"])
def test_bridge_diversity_matches_the_claim(workflow):
    R, G, n = 300, 5, 20
    out = run_bridge(R, G, workflow=workflow)
    claim = theory.CLAIMS["categorical.diversity"]
    p0 = truth(5, 1.0)
    D0 = 1 - (p0**2).sum()
    tv = out["opt_error"].mean(axis=0)  # mean total-variation optimisation error per generation
    assert tv.max() < 1e-4  # trained to convergence: measured ~3e-6
    for g in (1, 3, 5):
        d = out["diversity_ratio"][:, g - 1]
        theory_value = float(claim.evaluate(n=n, workflow=workflow, t=g))
        stat, bias = tolerance(d, tv[:g], n)
        assert abs(d.mean() - theory_value) < stat + bias / D0, (g, d.mean(), theory_value, stat, bias)
    # the trained diversity is the frequencies' diversity within the optimisation error
    assert np.abs(out["diversity"] - out["diversity_freq"]).max() < 4 * out["opt_error"].max() + 1e-12


def test_bridge_lost_symbols_match_the_claim():
    R, G, n = 300, 5, 20
    out = run_bridge(R, G, seed=1)
    claim = theory.CLAIMS["categorical.surviving_symbols"]
    p0 = list(truth(5, 1.0))
    tv = out["opt_error"].mean(axis=0)
    for g in (1, 5):
        s = out["surviving"][:, g - 1]
        theory_value = float(claim.evaluate(n=n, probabilities=p0, t=g))
        stat, bias = tolerance(s, tv[:g], n)
        assert abs(s.mean() - theory_value) < stat + 5 * bias, (g, s.mean(), theory_value)


def test_bridge_measures_the_categorical_quantities():
    sim = catalog.get("lm-bridge")
    assert {p.quantity for p in sim.produces} == {"categorical.diversity", "categorical.lost", "categorical.surviving"}
    assert all("optimisation error" in p.note for p in sim.produces)
    assert sim.checkpoints and sim.block_size(sim.resolve({"n": 20}), 10) >= 64


@pytest.mark.parametrize("decay", [True, False])
def test_fit_unigram_trains_as_the_deep_loop(decay):
    """The closed-form-gradient fit takes the steps deep.train.train takes on the same full batch: the same
    trained probabilities to float32 rounding (so a fault in the gradient, the schedule or Adam shows). n is prime
    to V so that no symbol starts at its optimum 1/V: there the gradient is a rounding residue, whose sign Adam's
    normalisation turns into a full step either way."""
    from deep.language.family import fit_unigram
    from deep.language.models import build
    from deep.train import Budget, train

    R, n, V = 16, 30, 7
    gen = torch.Generator().manual_seed(0)
    x = torch.multinomial(torch.tensor([0.5, 0.2, 0.1, 0.1, 0.05, 0.03, 0.02]), R * n, replacement=True,
                          generator=gen).reshape(R, n, 1)
    freq = torch.nn.functional.one_hot(x[..., 0], V).sum(dim=1).double() / n
    budget = Budget(steps=60, batch=0, lr=0.3, decay=decay)
    deep_loop, closed = (build("ngram", R, vocab=V, window=1, order=0) for _ in range(2))
    train(deep_loop, x, budget, gen)
    fit_unigram(closed, freq, budget)
    q_loop, q_closed = deep_loop.transition_table()[:, 0], closed.transition_table()[:, 0]
    assert 0.5 * (q_loop - freq).abs().sum(dim=1).max() > 1e-3  # 60 steps at lr 0.3: not yet at the optimum
    assert torch.allclose(q_closed, q_loop, atol=2e-6, rtol=0)
    assert not closed.training


def test_fit_unigram_refuses_other_budgets():
    from deep.language.family import fit_unigram
    from deep.language.models import build
    from deep.train import Budget

    model = build("ngram", 2, vocab=3, window=1, order=0)
    freq = torch.full((2, 3), 1 / 3)
    for budget in (Budget(steps=5, batch=4), Budget(epochs=1.0, batch=0), Budget(steps=5, batch=0, optimizer="sgd"),
                   Budget(steps=5, batch=0, weight_decay=0.1)):
        with pytest.raises(ValueError, match="full-batch Adam"):
            fit_unigram(model, freq, budget)
