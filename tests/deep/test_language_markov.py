"""The known-truth Markov language against brute-force enumeration at tiny sizes."""

import itertools

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from deep.language import markov  # noqa: E402
from deep.language.markov import MarkovLanguage  # noqa: E402


def all_sequences(V, L):
    return np.array(list(itertools.product(range(V), repeat=L)), dtype=np.int64)


def seq_probs(lang, L):
    x = all_sequences(lang.V, L)
    return x, np.exp(lang.log_prob(x))


@pytest.mark.parametrize("V,k", [(3, 0), (3, 1), (2, 2), (3, 2)])
def test_log_prob_is_a_distribution_and_stationary(V, k):
    lang = MarkovLanguage(V, k, 1.2, np.random.default_rng(3))
    assert np.allclose(lang.table.sum(axis=1), 1)
    assert np.allclose(np.sort(lang.table, axis=1)[:, ::-1], lang.row)  # each row a permutation of the Zipf row
    for L in (max(k, 1), k + 3):
        x, p = seq_probs(lang, L)
        assert p.sum() == pytest.approx(1, abs=1e-12)
    if k:  # stationarity: the law of tokens 2..k+1 is pi as well
        x, p = seq_probs(lang, k + 1)
        shifted = markov.block_ids(x[:, 1:], V)
        assert np.allclose(np.bincount(shifted, weights=p, minlength=V**k), lang.pi)


@pytest.mark.parametrize("V,k", [(3, 1), (2, 2), (3, 2)])
def test_entropy_rate_is_the_block_entropy_increment(V, k):
    lang = MarkovLanguage(V, k, 1.0, np.random.default_rng(1))
    H = []
    for L in (k + 1, k + 2):
        _, p = seq_probs(lang, L)
        H.append(-(p * np.log(p)).sum())
    assert H[1] - H[0] == pytest.approx(lang.entropy_rate(), abs=1e-12)


@pytest.mark.parametrize("V,k", [(3, 1), (2, 2)])
def test_kl_rates_against_enumeration(V, k):
    lang = MarkovLanguage(V, k, 1.0, np.random.default_rng(2))
    q = np.random.default_rng(5).dirichlet(np.ones(V), size=V**k)  # another order-k chain
    L = k + 3
    x = all_sequences(V, L)
    start = markov.block_ids(x[:, :k], V)
    ctx, nxt = markov.context_ids(x, V, k), x[:, k:]
    logP = np.log(lang.table[ctx, nxt]).sum(1)
    logQ = np.log(q[ctx, nxt]).sum(1)
    # forward: both started from the truth's pi, so KL(P^L || Q^L) = (L - k) * rate exactly
    pP = lang.pi[start] * np.exp(logP)
    assert (pP * (logP - logQ)).sum() == pytest.approx((L - k) * markov.kl_rate(lang.table, q, V, k), abs=1e-12)
    # reverse: both started from the model's own pi
    piq = markov.stationary(q, V, k)
    pQ = piq[start] * np.exp(logQ)
    assert (pQ * (logQ - logP)).sum() == pytest.approx((L - k) * markov.kl_rate_reverse(lang.table, q, V, k), abs=1e-12)
    assert markov.kl_rate(lang.table, lang.table, V, k) == pytest.approx(0, abs=1e-14)
    # batched models
    both = np.stack([q, lang.table])
    assert np.allclose(markov.kl_rate(lang.table, both, V, k), [markov.kl_rate(lang.table, q, V, k), 0], atol=1e-14)


def test_lift_keeps_the_chain():
    V, k = 3, 1
    lang = MarkovLanguage(V, k, 1.0, np.random.default_rng(0))
    up = markov.lift(lang.table, V, k, 2)
    pi2 = markov.stationary(up, V, 2)
    assert markov.entropy_rate(up, V, 2, pi2) == pytest.approx(lang.entropy_rate(), abs=1e-12)
    # the power-iteration path (more than 1024 contexts) agrees with the linear solve
    big = MarkovLanguage(3, 7, 1.0, np.random.default_rng(0))
    assert big.contexts > 1024
    C = big.contexts
    T = np.zeros((C, C))
    nxt = (np.arange(C)[:, None] % 3**6) * 3 + np.arange(3)
    np.add.at(T, (np.repeat(np.arange(C), 3), nxt.ravel()), big.table.ravel())
    assert np.abs(big.pi @ T - big.pi).max() < 1e-12 and big.pi.sum() == pytest.approx(1)


@pytest.mark.parametrize("gen", ["numpy", "torch"])
def test_sampling_matches_the_law(gen):
    V, k, L = 3, 1, 3
    lang = MarkovLanguage(V, k, 1.0, np.random.default_rng(4))
    g = np.random.default_rng(9) if gen == "numpy" else torch.Generator().manual_seed(9)
    m = 60_000
    s = lang.sample(m, L, g)
    assert s.shape == (m, L) and s.min() >= 0 and s.max() < V
    x, p = seq_probs(lang, L)
    freq = np.bincount(markov.block_ids(s, V), minlength=V**L) / m
    se = np.sqrt(p * (1 - p) / m)
    assert np.all(np.abs(freq - p[np.argsort(markov.block_ids(x, V))]) < 5 * se + 1e-12)


def test_sampling_is_reproducible_and_needs_a_generator():
    lang = MarkovLanguage(4, 2, 1.0, np.random.default_rng(0))
    a = lang.sample((2, 5), 7, np.random.default_rng(1))
    b = lang.sample((2, 5), 7, np.random.default_rng(1))
    assert a.shape == (2, 5, 7) and np.array_equal(a, b)
    with pytest.raises(ValueError, match="Generator"):
        lang.sample(3, 5, None)
    with pytest.raises(ValueError, match="rng"):
        MarkovLanguage(4, 2, 1.0, None)
    with pytest.raises(ValueError, match="V must be"):
        MarkovLanguage(1, 2, 1.0, np.random.default_rng(0))
