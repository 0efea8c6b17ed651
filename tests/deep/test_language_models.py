"""The replica language models: the n-gram optimum, sampling rules, the key-value cache, context errors."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from deep.language.models import (ContextError, NGram, NGramConfig, Sampling, Transformer,  # noqa: E402
                                  TransformerConfig)
from deep.replica import generator  # noqa: E402
from deep.train import Budget, train  # noqa: E402

torch.set_num_threads(1)


def test_ngram_optimum_is_the_empirical_conditional_frequencies():
    V, k, R = 3, 1, 2
    g = np.random.default_rng(0)
    x = torch.as_tensor(g.integers(0, V, size=(R, 40, 6)))
    model = NGram(NGramConfig(V, k, 6), R)
    model.reset_parameters(generator(0))
    train(model, x, Budget(steps=400, batch=0, lr=1.0, decay=True), generator(1))
    ids = model.context_ids(x)  # rows in base V+1 with the beginning symbol
    q = torch.softmax(model.table.detach().double(), -1)
    for r in range(R):
        counts = np.zeros((model.rows, V))
        np.add.at(counts, (ids[r].ravel().numpy(), x[r].ravel().numpy()), 1)
        seen = counts.sum(1) > 0
        freq = counts[seen] / counts[seen].sum(1, keepdims=True)
        assert np.abs(q[r][torch.as_tensor(seen)].numpy() - freq).max() < 2e-3
        assert np.allclose(q[r][torch.as_tensor(~seen)].numpy(), 1 / V)  # unseen contexts stay uniform
    # the full-context table is the base-V view of the same rows
    table = model.transition_table()
    assert table.shape == (R, V, V)
    assert torch.allclose(table[:, 2], q[:, 2])  # context (2,) is row 2 in base V+1 too


def test_ngram_log_probs_agree_with_the_generic_path():
    model = NGram(NGramConfig(4, 2, 5), 2)
    with torch.no_grad():
        model.table.copy_(torch.randn(model.table.shape, generator=generator(3)))
    x = torch.randint(0, 4, (2, 3, 5), generator=generator(4))
    generic = torch.gather(torch.log_softmax(model.logits(x), -1), -1, x.unsqueeze(-1)).squeeze(-1)
    assert torch.allclose(model.token_log_probs(x), generic)


def tiny_transformer(R=2, window=24):
    m = Transformer(TransformerConfig(vocab=5, window=window, width=16, layers=2, heads=2), R)
    m.reset_parameters(generator(0))
    with torch.no_grad():  # larger weights than the init, so the samples depend on the context
        for p in m.parameters():
            p.add_(0.3 * torch.randn(p.shape, generator=generator(7)))
    return m


@pytest.mark.parametrize("sampling", [Sampling(), Sampling("temperature", 0.7), Sampling("top-k", top_k=2),
                                      Sampling("top-p", top_p=0.8)])
def test_cached_and_uncached_sampling_give_the_same_tokens(sampling):
    m = tiny_transformer()
    a = m.generate(6, 20, sampling, generator(5), cache=True)
    b = m.generate(6, 20, sampling, generator(5), cache=False)
    assert a.shape == (2, 6, 20) and torch.equal(a, b)
    prompt = a[:, :, :4]
    c = m.generate(0, 10, sampling, generator(6), prompt=prompt, cache=True)
    d = m.generate(0, 10, sampling, generator(6), prompt=prompt, cache=False)
    assert torch.equal(c, d) and torch.equal(c[..., :4], prompt)


def test_sampling_rules_truncate():
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    assert (Sampling("top-k", top_k=2).probabilities(logits) > 0).sum() == 2
    p = Sampling("top-p", top_p=0.75).probabilities(logits)
    assert torch.allclose(p, torch.tensor([[0.625, 0.375, 0, 0]]))
    cold = Sampling("temperature", temperature=0.1).probabilities(logits)
    assert cold[0, 0] > 0.99
    draws = Sampling().draw(logits.expand(20000, 4), generator(0))
    freq = torch.bincount(draws, minlength=4).double() / 20000
    assert torch.allclose(freq, torch.tensor([0.5, 0.3, 0.15, 0.05], dtype=torch.float64), atol=0.015)
    with pytest.raises(ValueError, match="rule must be one of"):
        Sampling("greedy")
    with pytest.raises(ValueError, match="top_k"):
        Sampling("top-k", top_k=0)


def test_context_longer_than_the_model_is_one_clear_error():
    m = tiny_transformer(window=8)
    with pytest.raises(ContextError, match="longer than the model's context of 8"):
        m.loss(torch.zeros(2, 3, 9, dtype=torch.long))
    with pytest.raises(ContextError, match="longer than the model's context of 8"):
        m.generate(3, 9, Sampling(), generator(0))
    with pytest.raises(ContextError, match="prompt of 5 tokens plus 4"):
        m.generate(0, 4, Sampling(), generator(0), prompt=torch.zeros(2, 3, 5, dtype=torch.long))
    with pytest.raises(ValueError, match="outside 0..4"):
        m.loss(torch.full((2, 3, 4), 5, dtype=torch.long))
    with pytest.raises(ValueError, match="integer token ids"):
        m.loss(torch.zeros(2, 3, 4))


def test_replicas_are_independent():
    m = tiny_transformer(R=3)
    x = torch.randint(0, 5, (3, 4, 10), generator=generator(1))
    full = m.loss(x)
    one = m.select([1])
    assert torch.allclose(one.loss(x[1:2]), full[1:2], atol=1e-6)


