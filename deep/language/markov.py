"""The known-truth language: a random order-k Markov chain over a small vocabulary.

A :class:`MarkovLanguage` over V symbols and order k has one transition row P(. | c) per context
c = (x_1, ..., x_k) in V^k (k = 0: one row, an i.i.d. unigram language). Each row is Zipf-like: the
probabilities proportional to j^-s (j = 1..V), assigned to the symbols in a random order drawn
from the seeded numpy Generator, one permutation per context. Every transition has positive
probability, so the chain on contexts (c -> (x_2..x_k, y)) is irreducible and aperiodic and has one
stationary distribution pi over V^k, which is also where every sequence starts: a sequence of
length L is x_1..x_k ~ pi, then x_t ~ P(. | x_{t-k}..x_{t-1}). Everything below is exact:

* :meth:`stationary`: pi over the V^k contexts (the Perron eigenvector, solved as a linear system);
* :meth:`entropy_rate`: H = sum_c pi(c) H(P(. | c)) nats per token;
* :meth:`log_prob`: log pi(x_1..x_k) + sum_t log P(x_t | x_{t-k}..x_{t-1}) per sequence;
* :func:`kl_rate`: the KL rate between the truth and an n-gram model given by its transition table.

Contexts are indexed in base V, most recent symbol last: c = sum_i x_i V^(k - i) for c = (x_1..x_k).
"""

from __future__ import annotations

import numpy as np

__all__ = ["MarkovLanguage", "stationary", "entropy_rate", "kl_rate", "kl_rate_reverse", "lift", "context_ids"]


def _check_int(name: str, value, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def context_ids(tokens: np.ndarray, V: int, k: int) -> np.ndarray:
    """The context index of every position t >= k of ``tokens`` (..., L): (..., L - k) ints, the context
    of position t being tokens[t-k:t] (base V, most recent last)."""
    tokens = np.asarray(tokens, dtype=np.int64)
    L = tokens.shape[-1]
    ids = np.zeros(tokens.shape[:-1] + (L - k,), dtype=np.int64)
    for i in range(k):
        ids = ids * V + tokens[..., i:L - k + i]
    return ids


def block_ids(tokens: np.ndarray, V: int) -> np.ndarray:
    """The context index of each block of k tokens (..., k): (...,) (base V, most recent last)."""
    tokens = np.asarray(tokens, dtype=np.int64)
    ids = np.zeros(tokens.shape[:-1], dtype=np.int64)
    for i in range(tokens.shape[-1]):
        ids = ids * V + tokens[..., i]
    return ids


def stationary(table: np.ndarray, V: int, k: int) -> np.ndarray:
    """The stationary distribution over the V^k contexts of the order-k chain with transition rows
    ``table`` (V^k, V) (rows summing to 1). The context chain moves c -> (c mod V^(k-1)) V + y with
    probability table[c, y]; its stationary law solves pi T = pi, sum pi = 1 (least squares on the
    stacked system, which is exact for an irreducible chain; a chain with several closed classes
    gets one of its stationary laws)."""
    table = np.asarray(table, dtype=float)
    C = V**k
    if table.shape != (C, V):
        raise ValueError(f"table must have shape (V^k, V) = ({C}, {V}), got {table.shape}")
    if k == 0:
        return np.ones(1)
    nxt = (np.arange(C)[:, None] % V ** (k - 1)) * V + np.arange(V)[None, :]
    if C > 1024:  # power iteration on the sparse context chain (V moves per context)
        pi = np.full(C, 1.0 / C)
        flat = nxt.ravel()
        for _ in range(100_000):
            new = np.bincount(flat, weights=(pi[:, None] * table).ravel(), minlength=C)
            done = np.abs(new - pi).sum() < 1e-13
            pi = new / new.sum()
            if done:
                break
        return pi
    T = np.zeros((C, C))
    np.add.at(T, (np.repeat(np.arange(C), V), nxt.ravel()), table.ravel())
    A = np.vstack([T.T - np.eye(C), np.ones((1, C))])
    b = np.zeros(C + 1)
    b[-1] = 1.0
    pi = np.linalg.lstsq(A, b, rcond=None)[0]
    pi = np.clip(pi, 0, None)
    return pi / pi.sum()


def _xlogy(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(x > 0, x * np.log(np.where(x > 0, y, 1.0)), 0.0)


def entropy_rate(table: np.ndarray, V: int, k: int, pi: np.ndarray | None = None) -> float:
    """H = -sum_c pi(c) sum_y P(y|c) log P(y|c), nats per token (pi: the table's own stationary law)."""
    table = np.asarray(table, dtype=float)
    pi = stationary(table, V, k) if pi is None else pi
    return float(-(pi * _xlogy(table, table).sum(axis=1)).sum())


def lift(table: np.ndarray, V: int, k: int, to: int) -> np.ndarray:
    """An order-k table as an order-``to`` table (to >= k): the row of a longer context is the row of
    its last k symbols."""
    if to < k:
        raise ValueError(f"cannot lift an order-{k} table to order {to} < {k}")
    C = V**to
    return np.asarray(table)[..., np.arange(C) % V**k, :]


def kl_rate(truth: np.ndarray, model: np.ndarray, V: int, k: int, pi: np.ndarray | None = None) -> np.ndarray:
    """The KL rate from the truth to an n-gram model of the same order k (nats per token):

        KL(P || Q) = sum_c pi(c) sum_y P(y|c) log(P(y|c) / Q(y|c)),

    pi the truth's stationary distribution. This direction, truth -> model, is the one data measure:
    it is the model's cross-entropy on (infinitely much) real text minus the truth's entropy rate, the
    limit of KL(P^L || Q^L) / L between the laws of length-L sequences, and it is infinite as soon as
    the model gives probability 0 to a transition the truth uses (the lost tail). ``model`` is (V^k, V)
    or (R, V^k, V) (R models at once; returns (R,)). For a model of another order, lift both to the
    larger order first (:func:`lift`; the truth's pi of the lifted chain is :func:`stationary` of it).
    """
    truth = np.asarray(truth, dtype=float)
    model = np.asarray(model, dtype=float)
    pi = stationary(truth, V, k) if pi is None else pi
    with np.errstate(divide="ignore"):
        terms = _xlogy(truth, truth) - _xlogy(np.broadcast_to(truth, model.shape), model)
    return (terms.sum(axis=-1) * pi).sum(axis=-1)


def kl_rate_reverse(truth: np.ndarray, model: np.ndarray, V: int, k: int) -> np.ndarray:
    """The reverse direction, model -> truth: sum_c piQ(c) KL(Q(.|c) || P(.|c)), piQ the MODEL's own
    stationary law: the rate at which the truth is surprised by the model's own text beyond the model's
    entropy rate (finite whenever the truth has full support, as here; it stays small for a model
    that has collapsed onto the truth's likely transitions, where the forward rate grows).
    ``model`` (V^k, V) or (R, V^k, V)."""
    truth = np.asarray(truth, dtype=float)
    model = np.asarray(model, dtype=float)
    single = model.ndim == 2
    models = model[None] if single else model
    out = np.empty(len(models))
    for r, q in enumerate(models):
        piq = stationary(q, V, k)
        with np.errstate(divide="ignore"):
            out[r] = float((piq * (_xlogy(q, q) - _xlogy(q, truth)).sum(axis=1)).sum())
    return out[0] if single else out


class MarkovLanguage:
    """A random order-k Markov chain over V symbols with Zipf(s) rows (see the module docstring)."""

    def __init__(self, V: int = 8, k: int = 2, zipf: float = 1.0, rng: np.random.Generator | None = None):
        self.V = _check_int("V", V, 2)
        self.k = _check_int("order", k, 0)
        if not (isinstance(zipf, (int, float)) and np.isfinite(zipf) and zipf >= 0):
            raise ValueError(f"zipf must be a number >= 0, got {zipf!r}")
        if not isinstance(rng, np.random.Generator):
            raise ValueError(f"the language is random: pass rng=numpy.random.default_rng(seed), got {rng!r}")
        if self.V**self.k > 2**20:
            raise ValueError(f"V^order = {self.V}^{self.k} contexts is too many for an exact table (at most 2^20)")
        self.zipf = float(zipf)
        w = np.arange(1, self.V + 1, dtype=float) ** -self.zipf
        w /= w.sum()
        self.row = w  # the Zipf row, largest first
        C = self.contexts
        perms = np.argsort(rng.random((C, self.V)), axis=1)  # one random permutation per context
        self.table = np.empty((C, self.V))
        np.put_along_axis(self.table, perms, np.broadcast_to(w, (C, self.V)), axis=1)
        #: Zipf rank (1 = likeliest) of each transition.
        self.rank = np.empty((C, self.V), dtype=np.int64)
        np.put_along_axis(self.rank, perms, np.broadcast_to(np.arange(1, self.V + 1), (C, self.V)), axis=1)
        self.pi = stationary(self.table, self.V, self.k)
        self._cum = np.cumsum(self.table, axis=1)
        self._cum[:, -1] = 1.0
        self._pi_cum = np.cumsum(self.pi)
        self._pi_cum[-1] = 1.0

    @property
    def contexts(self) -> int:
        return self.V**self.k

    def stationary(self) -> np.ndarray:
        return self.pi

    def entropy_rate(self) -> float:
        """Exact entropy rate, nats per token."""
        return entropy_rate(self.table, self.V, self.k, self.pi)

    def transition_log_probs(self, tokens) -> np.ndarray:
        """log P(x_t | x_{t-k}..x_{t-1}) for t = k..L-1 of each sequence (..., L): (..., L - k)."""
        tokens = np.asarray(tokens, dtype=np.int64)
        ctx = context_ids(tokens, self.V, self.k)
        return np.log(self.table[ctx, tokens[..., self.k:]])

    def log_prob(self, tokens) -> np.ndarray:
        """Exact log-probability of each sequence (..., L), L >= k, started from the stationary law."""
        tokens = self._tokens(tokens)
        first = block_ids(tokens[..., : self.k], self.V) if self.k else None
        start = np.log(self.pi[first]) if self.k else 0.0
        return start + self.transition_log_probs(tokens).sum(axis=-1)

    def _tokens(self, tokens) -> np.ndarray:
        try:
            import torch
            if isinstance(tokens, torch.Tensor):
                tokens = tokens.detach().cpu().numpy()
        except ImportError:  # pragma: no cover
            pass
        tokens = np.asarray(tokens, dtype=np.int64)
        if tokens.shape[-1] < self.k:
            raise ValueError(f"sequences must have at least order = {self.k} tokens, got length {tokens.shape[-1]}")
        if tokens.size and (tokens.min() < 0 or tokens.max() >= self.V):
            raise ValueError(f"tokens must be in 0..{self.V - 1}")
        return tokens

    def sample(self, shape, length: int, generator) -> np.ndarray:
        """Sequences of ``length`` tokens, an int64 array ``(*shape, length)``, started from the stationary
        law; ``generator``: a numpy Generator or a torch.Generator (its uniforms, on the CPU)."""
        length = _check_int("length", length, max(self.k, 1))
        shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
        m = int(np.prod(shape)) if shape else 1
        u = _uniforms(generator, (m, length - self.k + (1 if self.k else 0)))
        out = np.empty((m, length), dtype=np.int64)
        t0 = 0
        if self.k:
            c = np.searchsorted(self._pi_cum, u[:, 0], side="right").clip(max=self.contexts - 1)
            ctx = c.copy()
            for i in range(self.k):  # unpack the start context, most recent last
                out[:, self.k - 1 - i] = c % self.V
                c = c // self.V
            u = u[:, 1:]
            t0 = self.k
        else:
            ctx = np.zeros(m, dtype=np.int64)
        cum = self._cum
        top = self.V ** max(self.k - 1, 0)
        for t in range(t0, length):
            y = (u[:, t - t0, None] >= cum[ctx]).sum(axis=1).clip(max=self.V - 1)
            out[:, t] = y
            if self.k:
                ctx = (ctx % top) * self.V + y
        return out.reshape(shape + (length,))


def _uniforms(generator, shape) -> np.ndarray:
    if isinstance(generator, np.random.Generator):
        return generator.random(shape)
    import torch
    if isinstance(generator, torch.Generator):
        return torch.rand(shape, generator=generator, device=generator.device, dtype=torch.float64).cpu().numpy()
    raise ValueError(f"sampling is random: pass a numpy Generator or a torch.Generator, got {generator!r}")
