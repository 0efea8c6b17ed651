"""Beam search (rule 'beam'): the exact search on a tiny model, greedy at width 1, batching, determinism,
the repetition penalty and the n-gram block."""

import itertools
import math

import pytest

torch = pytest.importorskip("torch")

from deep.language.models import NGram, NGramConfig, Sampling, build  # noqa: E402
from deep.replica import generator  # noqa: E402

torch.set_num_threads(1)


def random_model(kind, R=2, V=3, T=4, scale=1.0):
    """A model whose weights are far from the init, so its next-token laws depend on the context."""
    m = build(kind, R, vocab=V, window=T, order=2, width=8, layers=1, heads=1)
    m.reset_parameters(generator(0))
    with torch.no_grad():
        for p in m.parameters():
            p.add_(scale * torch.randn(p.shape, generator=generator(7)))
    return m


def penalised_scores(model, x, theta, n):
    """The beam score of each whole window x (R, B, T) after its first token, by the definition: the sum of
    log q(x_t | x_<t) for t >= 1, times theta where x_t occurs in x_<t, -inf where x_t completes an n-gram
    already in x_<t. Float64 (R, B)."""
    logp = torch.gather(torch.log_softmax(model.logits(x).double(), -1), -1, x.unsqueeze(-1)).squeeze(-1)
    T = x.shape[-1]
    total = torch.zeros(x.shape[:2], dtype=torch.float64)
    for t in range(1, T):
        seen = (x[..., :t] == x[..., t:t + 1]).any(-1)
        s = torch.where(seen, logp[..., t] * theta, logp[..., t])
        if n and t >= n:
            gram = x[..., t - n + 1:t + 1]
            repeat = torch.stack([(x[..., j:j + n] == gram).all(-1) for j in range(t - n + 1)], -1).any(-1)
            s = s.masked_fill(repeat, -math.inf)
        total += s
    return total


@pytest.mark.parametrize("kind", ["ngram", "transformer"])
@pytest.mark.parametrize("theta, n", [(1.0, 0), (2.0, 0), (1.0, 2), (1.5, 2)])
def test_a_beam_wider_than_the_candidates_is_the_exact_search(kind, theta, n):
    """V = 3, T = 4, one ancestral token: 27 continuations per window, all kept by a beam of 27, so the beam
    must return the brute-force argmax of the penalised score over every continuation."""
    R, m, V, T = 2, 6, 3, 4
    model = random_model(kind, R, V, T)
    out = model.sample(m, Sampling("beam", beams=V ** (T - 1), repetition_penalty=theta, no_repeat_ngram=n),
                       generator(1))
    assert out.shape == (R, m, T)
    tails = torch.tensor(list(itertools.product(range(V), repeat=T - 1)))  # (27, 3)
    every = torch.cat([out[:, :, :1].unsqueeze(2).expand(R, m, len(tails), 1),
                       tails.expand(R, m, *tails.shape)], -1)  # (R, m, 27, T): each window's prefix, every tail
    scores = penalised_scores(model, every.reshape(R, -1, T), theta, n).reshape(R, m, -1)
    top2 = scores.topk(2, dim=-1)
    assert (top2.values[..., 0] - top2.values[..., 1] > 1e-6).all()  # no near-tie: the argmax is well defined
    best = torch.gather(every, 2, top2.indices[..., :1, None].expand(R, m, 1, T)).squeeze(2)
    assert torch.equal(out, best)
    assert out[:, :, 0].unique().numel() > 1  # the prefixes differ between windows


@pytest.mark.parametrize("kind", ["ngram", "transformer"])
def test_a_beam_of_one_is_greedy(kind):
    R, m, V, T = 2, 5, 6, 10
    model = random_model(kind, R, V, T)
    out = model.sample(m, Sampling("beam", beams=1, prefix=2), generator(2))
    x = out[..., :2]
    for _ in range(T - 2):  # greedy by the full forward pass (logits at t predict x_t from x_<t), no cache
        nxt = model.logits(torch.cat([x, torch.zeros_like(x[..., :1])], -1))[..., -1, :].argmax(-1)
        x = torch.cat([x, nxt.unsqueeze(-1)], -1)
    assert torch.equal(out, x)
    assert torch.equal(out, model.generate(m, T, Sampling("beam", beams=1, prefix=2), generator(2), cache=False))


@pytest.mark.parametrize("kind", ["ngram", "transformer"])
def test_each_replica_and_window_is_what_it_would_be_alone(kind):
    R, m, V, T = 3, 4, 8, 16
    model = random_model(kind, R, V, T, scale=0.5)
    sampling = Sampling("beam", beams=5, repetition_penalty=1.3, no_repeat_ngram=3, prefix=2)
    out = model.sample(m, sampling, generator(3))
    assert len(set(map(tuple, out.reshape(R * m, T).tolist()))) > R  # windows differ, or the test says nothing
    for r in range(R):
        alone = model.select([r])
        for i in range(m):  # the same first two tokens as a prompt: the rest is the deterministic search
            one = alone.generate(0, T - 2, sampling, generator(9), prompt=out[r:r + 1, i:i + 1, :2])
            assert torch.equal(one[0, 0], out[r, i]), (r, i)
    if kind == "transformer":  # the cache reordered by the surviving beams = the whole prefix run again
        assert torch.equal(out, model.generate(m, T, sampling, generator(3), cache=False))


def test_beam_search_is_deterministic_given_the_generator():
    model = random_model("transformer", 2, 8, 12, scale=0.5)
    sampling = Sampling("beam", beams=3)
    a = model.sample(16, sampling, generator(4))
    assert torch.equal(a, model.sample(16, sampling, generator(4)))
    assert not torch.equal(a, model.sample(16, sampling, generator(5)))  # only the prefix is random ...
    prompt = a[..., :1]
    assert torch.equal(a, model.generate(0, 11, sampling, generator(6), prompt=prompt))  # ... and a prompt fixes it
    assert torch.equal(model.sample(16, Sampling("beam", prefix=0), generator(4))[:, :1],  # no prefix: one
                       model.sample(16, Sampling("beam", prefix=0), generator(5))[:, :1])  # window per replica


def hand_bigram():
    """q(y | x): from 0 mostly 0, from 1 mostly 1, from 2 mostly 2 (each row's own stay probability)."""
    rows = [[0.6, 0.25, 0.15], [0.2, 0.5, 0.3], [0.1, 0.2, 0.7]]
    model = NGram(NGramConfig(3, 1, 5), 1)
    with torch.no_grad():
        model.table[0, :3] = torch.log(torch.tensor(rows))
    return model


def test_the_repetition_penalty_and_the_ngram_block_on_a_hand_built_model():
    """From the prompt 0, four tokens. Without a penalty the best window stays at 0 (4 ln 0.6 = -2.04, the
    next best -2.92). With theta = 4 a repeated token costs 4 log q: 0 1 2 2 2 scores ln 0.25 + ln 0.3 +
    2 * 4 ln 0.7 = -5.44, the next best (0 0 1 2 2) -6.06. Blocking repeated bigrams forbids a second
    (0, 0): the best is 0 0 1 2 2, ln(0.6 * 0.25 * 0.3 * 0.7) = -3.46, the next best 0 1 1 2 2 -3.64."""
    model = hand_bigram()
    prompt = torch.zeros(1, 1, 1, dtype=torch.long)

    def beam(**kw):
        return model.generate(0, 4, Sampling("beam", **kw), generator(0), prompt=prompt)[0, 0].tolist()

    assert beam() == [0, 0, 0, 0, 0]
    assert beam(repetition_penalty=4.0) == [0, 1, 2, 2, 2]
    assert beam(no_repeat_ngram=2) == [0, 0, 1, 2, 2]
    # n = 1 with T = 5 > V = 3: after 0 1 2 nothing is allowed, so the block is lifted: 2 stays at 2
    assert beam(no_repeat_ngram=1) == [0, 1, 2, 2, 2]


def test_bad_beam_settings_are_one_clear_error():
    for kw, msg in [({"beams": 0}, "beams must be"), ({"beams": 2.5}, "beams must be"),
                    ({"repetition_penalty": 0}, "repetition_penalty must be"),
                    ({"repetition_penalty": math.inf}, "repetition_penalty must be"),
                    ({"no_repeat_ngram": -1}, "no_repeat_ngram must be"), ({"prefix": 1.5}, "prefix must be")]:
        with pytest.raises(ValueError, match=msg):
            Sampling("beam", **kw)
    with pytest.raises(ValueError, match="not a per-token distribution"):
        Sampling("beam").draw(torch.zeros(2, 3), generator(0))
    assert Sampling("beam").describe() == "beam (width 5, 1 ancestral token first)"
    assert (Sampling("beam", beams=4, repetition_penalty=2, no_repeat_ngram=3, prefix=2).describe()
            == "beam (width 4, repetition penalty 2, no repeated 3-grams, 2 ancestral tokens first)")
