"""Language models with a replica axis: a neural n-gram model and a small causal transformer.

Data are token windows: long tensors (R, B, T) with tokens in 0..V-1 (R replicas, B windows of T
tokens each). Both models are autoregressive over the whole window: token t is predicted from tokens
0..t-1, token 0 from a beginning-of-window symbol (id V, never a data token), so a model is a
distribution over windows and can be sampled from scratch. ``loss(x, generator)`` is the mean
negative log-likelihood per token (nats), per replica: (R,).

* :class:`NGram`: the next token from the previous k tokens (positions before the window's start are
  the beginning symbol). Its parameters are one embedding row per context, used directly as the logits
  (a table of (V+1)^k rows of V logits per replica; k = 0 is a neural unigram, k = 1 a bigram), so the
  maximum-likelihood optimum is exactly the empirical conditional frequencies of the training set
  (softmax of a free logit row; a context never seen keeps its initial row, uniform from the zero
  initialisation). :meth:`NGram.transition_table` gives its rows for the V^k full contexts, in the
  base-V order of deep.language.markov, for the exact KL and entropy rates.
* :class:`Transformer`: a small causal transformer (nanoGPT-like: learned token and position
  embeddings, pre-LayerNorm blocks of multi-head causal self-attention and a 4x GELU MLP, a final
  LayerNorm and a linear head), every weight stacked over replicas and applied by batched matmuls
  (deep.replica.ReplicaLinear). No dropout: training is deterministic given the generator.
  Generation uses a key-value cache (:meth:`Transformer.generate`, ``cache=True``): each new token
  attends to the stored keys and values of the earlier ones, one position per step.

Sampling (:class:`Sampling`, a recorded setting): ``rule`` 'ancestral' (the model's distribution),
'temperature' (logits / temperature), 'top-k' (the k likeliest tokens, renormalised; after the
temperature), 'top-p' (nucleus: the fewest likeliest tokens whose mass reaches p, renormalised;
after the temperature) or 'beam' (beam search, below). Every draw is an inverse-CDF lookup of one
uniform from the caller's ``torch.Generator`` per token.

Beam search (rule 'beam'; Shumailov et al., Nature 2024, generate OPT-125m's synthetic text with a
5-way beam search, with and without a repetition penalty). Beam search is deterministic, so without
randomness every window of a replica would be the same: the first ``prefix`` tokens of each window
(default 1) are drawn ancestrally from the model with the generator, then a beam of ``beams``
hypotheses per window continues deterministically to the window's end and the best one is returned
(at most V^prefix distinct windows per replica; a ``prompt`` given to :meth:`LanguageModel.generate`
counts towards the prefix). A hypothesis' score is the sum of its tokens' (penalised) log-probabilities
after the prefix; each step keeps the ``beams`` best of the beams x V one-token extensions, per window
and replica, all windows and beams in one batch (beams as an extra batch axis; the transformer's
key-value cache is reordered by the surviving beams' parents each step). The knobs act as in Hugging
Face's ``generate`` (the anchors' code), on the log-softmax scores of a beam step:

* ``repetition_penalty`` theta (CTRL, Keskar et al. 2019): a token already in the window (prefix
  included) has its log-probability multiplied by theta (> 1: less likely; 1: off). Applied to
  log-probabilities, not raw logits, because an n-gram row's logits are defined only up to an additive
  constant (dividing raw logits would depend on it);
* ``no_repeat_ngram`` n: a token that would complete an n-gram already in the window scores -inf (0:
  off). When no hypothesis of a window has an allowed extension (e.g. n = 1 once all V tokens occur),
  the block is lifted for that window at that step rather than returning a hypothesis of score -inf.

No length penalty: GNMT's ``((5 + |y|) / 6)^alpha`` or the plain ``|y|^alpha`` divides the scores of
hypotheses of the same length by the same constant, so it changes nothing unless hypotheses of
different lengths compete (an end-of-sequence token ending some early). Every window here has exactly
T tokens and no end token, so a length penalty would be a recorded setting without an effect.
Temperature, top-k and top-p do not act in beam search (as in Hugging Face's without sampling).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from theory.errors import UserError

from ..replica import ReplicaLinear, ReplicaModel, _need, rand, uniform_
from ..train import take
from .options import MODELS, RULES, check_sampling


class ContextError(UserError, ValueError):
    """A window or prompt longer than the model's context."""


@dataclass(frozen=True)
class Sampling:
    """How text is drawn from a model: a rule name and its parameters (see the module docstring)."""

    rule: str = "ancestral"
    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0
    beams: int = 5  # rule 'beam': hypotheses kept per window (Shumailov et al.'s 5)
    repetition_penalty: float = 1.0  # rule 'beam': log-probabilities of tokens already in the window times this
    no_repeat_ngram: int = 0  # rule 'beam': n-grams of this size never repeat within a window (0: off)
    prefix: int = 1  # rule 'beam': tokens drawn ancestrally at the start of each window before the search

    def __post_init__(self):
        check_sampling(self.rule, self.temperature, self.top_k, self.top_p, self.beams, self.repetition_penalty,
                       self.no_repeat_ngram, self.prefix)

    def probabilities(self, logits: torch.Tensor) -> torch.Tensor:
        """The distribution the rule draws from, given next-token logits (..., V)."""
        if self.rule == "beam":
            raise ValueError("rule 'beam' is a search over whole windows, not a per-token distribution: "
                             "use LanguageModel.generate or sample")
        logits = logits.float()
        if self.rule != "ancestral":
            logits = logits / self.temperature
        if self.rule == "top-k" and self.top_k < logits.shape[-1]:
            kth = torch.topk(logits, int(self.top_k), dim=-1).values[..., -1:]
            logits = logits.masked_fill(logits < kth, -math.inf)
        probs = torch.softmax(logits, dim=-1)
        if self.rule == "top-p" and self.top_p < 1:
            sorted_p, order = torch.sort(probs, dim=-1, descending=True)
            before = torch.cumsum(sorted_p, dim=-1) - sorted_p  # mass of the likelier tokens
            keep_sorted = before < self.top_p
            keep = torch.zeros_like(keep_sorted).scatter(-1, order, keep_sorted)
            probs = torch.where(keep, probs, torch.zeros_like(probs))
            probs = probs / probs.sum(dim=-1, keepdim=True)
        return probs

    def draw(self, logits: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """One token per row of ``logits`` (..., V), by inverse CDF of one uniform each: long (...)."""
        probs = self.probabilities(logits).double()
        cum = torch.cumsum(probs, dim=-1)
        u = rand(probs.shape[:-1], generator, probs.device).double().unsqueeze(-1) * cum[..., -1:]
        return (u >= cum).sum(dim=-1).clamp(max=probs.shape[-1] - 1)

    def beam_scores(self, logp: torch.Tensor, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """A beam step's scores of the next token, from its log-probabilities ``logp`` (..., V) after the
        windows ``tokens`` (..., L): the log-probabilities with the repetition penalty, and the tokens the
        n-gram block forbids (bool (..., V); None without a block)."""
        L = tokens.shape[-1]
        if self.repetition_penalty != 1 and L:
            seen = torch.zeros(logp.shape, dtype=torch.bool, device=logp.device).scatter_(-1, tokens, True)
            logp = torch.where(seen, logp * self.repetition_penalty, logp)
        n = int(self.no_repeat_ngram)
        if n == 0 or L < n:  # off, or no n-gram in the window yet
            return logp, None
        grams = tokens.unfold(-1, n, 1)  # (..., L - n + 1, n): every n-gram of the window
        match = (grams[..., :-1] == tokens[..., L - n + 1:].unsqueeze(-2)).all(-1)  # its first n-1 = the last n-1
        hits = torch.zeros(logp.shape, dtype=logp.dtype, device=logp.device)
        return logp, hits.scatter_add_(-1, grams[..., -1], match.to(logp.dtype)) > 0  # their last tokens

    def describe(self) -> str:
        if self.rule == "ancestral":
            return "ancestral"
        if self.rule == "beam":
            extra = f", repetition penalty {self.repetition_penalty:g}" if self.repetition_penalty != 1 else ""
            extra += f", no repeated {self.no_repeat_ngram}-grams" if self.no_repeat_ngram else ""
            return f"beam (width {self.beams}{extra}, {self.prefix} ancestral token{'s' * (self.prefix != 1)} first)"
        extra = {"top-k": f", k={self.top_k}", "top-p": f", p={self.top_p:g}"}.get(self.rule, "")
        return f"{self.rule} (T={self.temperature:g}{extra})"


ANCESTRAL = Sampling()


class LanguageModel(ReplicaModel):
    """What the two models share: token windows (R, B, T), the beginning symbol, sampling."""

    RULES = RULES

    @property
    def vocab(self) -> int:
        return self.config.vocab

    @property
    def event_shape(self) -> tuple[int, ...]:
        return (self.config.window,)

    @property
    def max_len(self) -> int | None:
        """The longest window the model takes (None: any)."""
        return None

    def check(self, x: torch.Tensor, name: str = "x") -> torch.Tensor:
        """``x`` as a long tensor (R, B, T) on the model's device, T >= 1 (and <= the model's context),
        every token in 0..V-1."""
        if not isinstance(x, torch.Tensor):
            raise ValueError(f"{name} must be a torch.Tensor of token ids (R, B, T), got {type(x).__name__}")
        if x.dim() != 3 or x.shape[0] != self.replicas:
            raise ValueError(f"{name} must have shape (R, B, T) = ({self.replicas}, B, T), got {tuple(x.shape)}")
        if x.shape[1] < 1 or x.shape[2] < 1:
            raise ValueError(f"{name} is empty: shape {tuple(x.shape)}")
        if x.is_floating_point() or x.is_complex() or x.dtype == torch.bool:
            raise ValueError(f"{name} must hold integer token ids, got dtype {x.dtype}")
        if self.max_len is not None and x.shape[2] > self.max_len:
            raise ContextError(f"{name}: windows of {x.shape[2]} tokens are longer than the model's context of "
                               f"{self.max_len} tokens (block_size); use windows of at most {self.max_len}")
        lo, hi = int(x.min()), int(x.max())
        if lo < 0 or hi >= self.vocab:
            raise ValueError(f"{name} has token ids outside 0..{self.vocab - 1} (min {lo}, max {hi}): "
                             "the data and the model have different vocabularies")
        return x.to(device=self.device, dtype=torch.long)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Next-token logits at every position: (R, B, T, V), position t predicting x[..., t] from x[..., :t]."""
        raise NotImplementedError

    def token_log_probs(self, x: torch.Tensor) -> torch.Tensor:
        """log q(x_t | x_<t) for every position: (R, B, T)."""
        x = self.check(x)
        logp = torch.log_softmax(self.logits(x), dim=-1)
        return torch.gather(logp, -1, x.unsqueeze(-1)).squeeze(-1)

    def loss(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Mean negative log-likelihood per token, nats, per replica: (R,)."""
        return -self.token_log_probs(x).mean(dim=(1, 2))

    def sample(self, m: int, sampling: Sampling | str = "ancestral", generator: torch.Generator | None = None,
               length: int | None = None) -> torch.Tensor:
        """``m`` windows of ``length`` tokens (default the model's window) per replica: long (R, m, length)."""
        _need(generator, "sample")
        sampling = Sampling(sampling) if isinstance(sampling, str) else sampling
        self.check_rule(sampling.rule)
        return self.generate(m, self.config.window if length is None else length, sampling, generator)

    @torch.no_grad()
    def generate(self, m: int, steps: int, sampling: Sampling, generator: torch.Generator, prompt=None,
                 cache: bool = True) -> torch.Tensor:
        """``steps`` tokens per window after ``prompt`` (R, m, P) (default: none; a prompt sets m), returning
        the prompt and the new tokens: (R, m, P + steps). ``cache``: the transformer keeps each layer's keys
        and values (one position per step); without it every step runs the whole prefix again (the same
        tokens, slower). The n-gram model needs no cache."""
        _need(generator, "generate")
        if prompt is None:
            out = torch.empty(self.replicas, m, 0, dtype=torch.long, device=self.device)
        else:
            out = self.check(prompt, "prompt")
        P = out.shape[2]
        if self.max_len is not None and P + steps > self.max_len:
            raise ContextError(f"a prompt of {P} tokens plus {steps} new ones is longer than the model's context of "
                               f"{self.max_len} tokens (block_size)")
        decoder = self._decoder(out, cache)
        if sampling.rule == "beam":
            return _beam_search(decoder, steps, sampling, generator, self.vocab)
        for _ in range(steps):
            decoder.push(sampling.draw(decoder.logits(), generator))
        return decoder.tokens

    def _decoder(self, tokens: torch.Tensor, cache: bool) -> "_Decoder":
        """The decoding state after the windows ``tokens`` (R, B, P)."""
        raise NotImplementedError


class _Decoder:
    """Step-by-step decoding of B windows per replica: the next-token logits, one token more, or a new set of
    rows (the beams that survive a beam step)."""

    tokens: torch.Tensor  # (R, B, L): the windows so far

    def logits(self) -> torch.Tensor:
        """Next-token logits of every window: (R, B, V)."""
        raise NotImplementedError

    def push(self, y: torch.Tensor) -> None:
        """Append the tokens ``y`` (R, B)."""
        raise NotImplementedError

    def reorder(self, index: torch.Tensor) -> None:
        """Keep the rows ``index`` (R, B') of each replica (repeats allowed): B' windows from now on."""
        raise NotImplementedError


def _beam_search(decoder: _Decoder, steps: int, sampling: Sampling, generator: torch.Generator,
                 V: int) -> torch.Tensor:
    """Beam search for ``steps`` tokens after the decoder's windows (R, m, P) (see the module docstring):
    the first ``prefix - P`` ancestrally, the rest by a beam of ``beams`` per window; the best beam's
    windows (R, m, P + steps)."""
    lead = min(steps, max(int(sampling.prefix) - decoder.tokens.shape[2], 0))
    for _ in range(lead):
        decoder.push(ANCESTRAL.draw(decoder.logits(), generator))
    R, m, _ = decoder.tokens.shape
    W, device = int(sampling.beams), decoder.tokens.device
    decoder.reorder(torch.arange(m, device=device).repeat_interleave(W).expand(R, m * W))
    first = torch.arange(m, device=device).unsqueeze(-1) * W  # each window's first row
    score = torch.full((R, m, W), -math.inf, dtype=torch.float64, device=device)
    score[..., 0] = 0.0  # one live hypothesis per window to start (W copies would fill the beam with duplicates)
    for _ in range(steps - lead):
        logp = torch.log_softmax(decoder.logits().double(), dim=-1)
        step, banned = sampling.beam_scores(logp, decoder.tokens)
        cand = score.unsqueeze(-1) + step.reshape(R, m, W, V)
        if banned is not None:
            blocked = cand.masked_fill(banned.reshape(R, m, W, V), -math.inf)
            stuck = torch.isneginf(blocked).flatten(2).all(-1)[..., None, None]  # nothing allowed: lift the block
            cand = torch.where(stuck, cand, blocked)
        score, idx = torch.topk(cand.reshape(R, m, W * V), W, dim=-1)  # sorted: beam 0 is the best
        decoder.reorder((first + torch.div(idx, V, rounding_mode="floor")).reshape(R, m * W))
        decoder.push((idx % V).reshape(R, m * W))
    return decoder.tokens.reshape(R, m, W, -1)[:, :, 0]


# ----------------------------------------------------------------------------------------------------
# the n-gram model


@dataclass(frozen=True)
class NGramConfig:
    vocab: int  # V: data tokens 0..V-1 (id V is the beginning-of-window symbol)
    order: int = 2  # k: tokens of context (0: unigram, 1: bigram)
    window: int = 33  # tokens per window (what sample() draws; training takes any length)

    def __post_init__(self):
        for name, low in (("vocab", 1), ("order", 0), ("window", 1)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {v!r}")
        if (self.vocab + 1) ** self.order > 2**22:
            raise ValueError(f"(vocab + 1)^order = {(self.vocab + 1) ** self.order} logit rows is too many for an "
                             "n-gram table (at most 2^22): lower order")


class NGram(LanguageModel):
    """A batched neural n-gram model: one free logit row per context (see the module docstring)."""

    def __init__(self, config: NGramConfig, replicas: int, device=None):
        super().__init__(config, replicas)
        self.base = config.vocab + 1
        self.rows = self.base**config.order
        self.table = nn.Parameter(torch.zeros(replicas, self.rows, config.vocab, device=device))

    def _reset_own(self, generator: torch.Generator) -> None:
        with torch.no_grad():
            self.table.zero_()  # uniform rows: an unseen context predicts uniformly

    def context_ids(self, x: torch.Tensor) -> torch.Tensor:
        """The context row of every position of x (R, B, T): (R, B, T), in base V+1 with the beginning
        symbol V before the window's start."""
        k, V = self.config.order, self.vocab
        R, B, T = x.shape
        if k == 0:
            return torch.zeros_like(x)
        xp = torch.cat([torch.full((R, B, k), V, dtype=x.dtype, device=x.device), x], dim=-1)
        ids = torch.zeros_like(x)
        for i in range(k):
            ids = ids * self.base + xp[..., i:i + T]
        return ids

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        R, B, T = x.shape
        ids = self.context_ids(x).reshape(R, B * T, 1).expand(R, B * T, self.vocab)
        return torch.gather(self.table, 1, ids).reshape(R, B, T, self.vocab)

    def token_log_probs(self, x: torch.Tensor) -> torch.Tensor:
        """log q(x_t | context): the table's rows normalised once, then one lookup per token."""
        x = self.check(x)
        R, B, T = x.shape
        logp = torch.log_softmax(self.table, dim=-1).reshape(R, -1)
        idx = (self.context_ids(x) * self.vocab + x).reshape(R, B * T)
        return torch.gather(logp, 1, idx).reshape(R, B, T)

    def full_context_rows(self) -> torch.Tensor:
        """Row indices of the V^k full contexts (no beginning symbol), in the base-V order of markov."""
        k, V = self.config.order, self.vocab
        c = torch.arange(V**k, device=self.device)
        rows = torch.zeros_like(c)
        for i in range(k):  # digit i of c in base V (most significant first) -> the same digit in base V+1
            digit = (c // V ** (k - 1 - i)) % V
            rows = rows * self.base + digit
        return rows

    @torch.no_grad()
    def transition_table(self) -> torch.Tensor:
        """q(y | c) for the V^k full contexts: (R, V^k, V) float64."""
        return torch.softmax(self.table[:, self.full_context_rows()].double(), dim=-1)

    def _decoder(self, tokens: torch.Tensor, cache: bool) -> _Decoder:
        return _NGramDecoder(self, tokens)


class _NGramDecoder(_Decoder):
    """An n-gram model's decoding state: the windows and each one's next context row (base V+1)."""

    def __init__(self, model: NGram, tokens: torch.Tensor):
        R, B, _ = tokens.shape
        self.table, self.base, self.order = model.table, model.base, model.config.order
        self.tokens = tokens
        self.ids = model.context_ids(torch.cat([tokens, tokens.new_zeros(R, B, 1)], -1))[..., -1]
        self.top = self.base ** max(self.order - 1, 0)

    def logits(self) -> torch.Tensor:
        R, B = self.ids.shape
        return torch.gather(self.table, 1, self.ids.reshape(R, B, 1).expand(R, B, self.table.shape[-1]))

    def push(self, y: torch.Tensor) -> None:
        self.tokens = torch.cat([self.tokens, y.unsqueeze(-1)], dim=-1)
        if self.order:
            self.ids = (self.ids % self.top) * self.base + y

    def reorder(self, index: torch.Tensor) -> None:
        self.tokens, self.ids = take(self.tokens, index), torch.gather(self.ids, 1, index)


# ----------------------------------------------------------------------------------------------------
# the transformer


@dataclass(frozen=True)
class TransformerConfig:
    vocab: int  # V: data tokens 0..V-1 (id V is the beginning-of-window symbol)
    window: int = 33  # tokens per window = the context (block_size): the longest window the model reads
    width: int = 32  # d_model
    layers: int = 2
    heads: int = 2
    init_std: float = 0.02  # N(0, init_std^2) weights (nanoGPT's), zero biases, unit LayerNorm gains

    def __post_init__(self):
        for name in ("vocab", "window", "width", "layers", "heads"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        if self.width % self.heads:
            raise ValueError(f"width ({self.width}) must be a multiple of heads ({self.heads})")


def _normal_(param: torch.Tensor, std: float, generator: torch.Generator) -> None:
    from ..replica import randn
    with torch.no_grad():
        param.copy_(randn(param.shape, generator, param.device) * std)


class _LayerNorm(nn.Module):
    def __init__(self, replicas: int, width: int, device=None):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(replicas, width, device=device))
        self.bias = nn.Parameter(torch.zeros(replicas, width, device=device))

    def reset_parameters(self, generator=None) -> None:
        with torch.no_grad():
            self.weight.fill_(1.0)
            self.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x (R, N, d)
        return F.layer_norm(x, x.shape[-1:]) * self.weight.unsqueeze(1) + self.bias.unsqueeze(1)


class _Block(nn.Module):
    def __init__(self, cfg: TransformerConfig, replicas: int, device=None):
        super().__init__()
        R, d = replicas, cfg.width
        self.heads = cfg.heads
        self.ln1 = _LayerNorm(R, d, device)
        self.qkv = ReplicaLinear(R, d, 3 * d, device)
        self.proj = ReplicaLinear(R, d, d, device)
        self.ln2 = _LayerNorm(R, d, device)
        self.fc = ReplicaLinear(R, d, 4 * d, device)
        self.out = ReplicaLinear(R, 4 * d, d, device)

    def forward(self, h: torch.Tensor, cache: dict | None = None) -> torch.Tensor:
        """h (R, B, T, d) -> (R, B, T, d). With ``cache`` (a dict), the keys and values of the positions
        seen so far are kept there and the T new positions attend to them as well."""
        R, B, T, d = h.shape
        H = self.heads
        qkv = self.qkv(self.ln1(h.reshape(R, B * T, d))).reshape(R * B, T, 3, H, d // H)
        q, k, v = (qkv[:, :, i].transpose(1, 2) for i in range(3))  # (R*B, H, T, hd)
        if cache is not None:
            if "k" in cache:
                k = torch.cat([cache["k"], k], dim=2)
                v = torch.cat([cache["v"], v], dim=2)
            cache["k"], cache["v"] = k, v
        S = k.shape[2]
        if T == 1:
            att = F.scaled_dot_product_attention(q, k, v)  # one new position sees everything before it
        elif S == T:
            att = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:  # T new positions after S - T cached ones
            mask = torch.ones(T, S, dtype=torch.bool, device=h.device).tril(S - T)
            att = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        att = att.transpose(1, 2).reshape(R, B * T, d)
        h = h + self.proj(att).reshape(R, B, T, d)
        x = self.ln2(h.reshape(R, B * T, d))
        return h + self.out(F.gelu(self.fc(x))).reshape(R, B, T, d)


class Transformer(LanguageModel):
    """A small causal transformer with a replica axis (see the module docstring)."""

    def __init__(self, config: TransformerConfig, replicas: int, device=None):
        super().__init__(config, replicas)
        R, d, V = replicas, config.width, config.vocab
        self.wte = nn.Parameter(torch.empty(R, V + 1, d, device=device))
        self.wpe = nn.Parameter(torch.empty(R, config.window, d, device=device))
        self.blocks = nn.ModuleList(_Block(config, R, device) for _ in range(config.layers))
        self.lnf = _LayerNorm(R, d, device)
        self.head = ReplicaLinear(R, d, V, device)

    @property
    def max_len(self) -> int:
        return self.config.window

    def reset_parameters(self, generator: torch.Generator) -> None:
        """N(0, 0.02^2) weights (the residual projections scaled by 1/sqrt(2 layers), as GPT-2), zero
        biases, unit LayerNorm gains; every draw from ``generator``, in registration order."""
        _need(generator, "reset_parameters")
        std = self.config.init_std
        _normal_(self.wte, std, generator)
        _normal_(self.wpe, std, generator)
        for block in self.blocks:
            for name in ("qkv", "proj", "fc", "out"):
                layer = getattr(block, name)
                scale = std / math.sqrt(2 * self.config.layers) if name in ("proj", "out") else std
                _normal_(layer.weight, scale, generator)
                with torch.no_grad():
                    layer.bias.zero_()
            block.ln1.reset_parameters()
            block.ln2.reset_parameters()
        self.lnf.reset_parameters()
        _normal_(self.head.weight, std, generator)
        with torch.no_grad():
            self.head.bias.zero_()

    def _forward(self, inp: torch.Tensor, start: int = 0, caches: list | None = None) -> torch.Tensor:
        """Logits (R, B, T, V) for input ids ``inp`` (R, B, T) at positions start..start+T-1."""
        R, B, T = inp.shape
        d = self.config.width
        if start + T > self.config.window:
            raise ContextError(f"a context of {start + T} tokens is longer than the model's context of "
                               f"{self.config.window} tokens (block_size)")
        idx = inp.reshape(R, B * T, 1).expand(R, B * T, d)
        h = torch.gather(self.wte, 1, idx).reshape(R, B, T, d) + self.wpe[:, start:start + T].unsqueeze(1)
        for i, block in enumerate(self.blocks):
            h = block(h, None if caches is None else caches[i])
        h = self.lnf(h.reshape(R, B * T, d))
        return self.head(h).reshape(R, B, T, self.vocab)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        R, B, T = x.shape
        inp = torch.cat([torch.full((R, B, 1), self.vocab, dtype=torch.long, device=x.device), x[..., :-1]], -1)
        return self._forward(inp)

    def _decoder(self, tokens: torch.Tensor, cache: bool) -> _Decoder:
        return _TransformerDecoder(self, tokens, cache)


class _TransformerDecoder(_Decoder):
    """A transformer's decoding state: its input (the beginning symbol, then the windows) and, with the
    cache, each layer's keys and values of the positions fed so far ((R * B, heads, fed, head width),
    replica-major)."""

    def __init__(self, model: Transformer, tokens: torch.Tensor, cache: bool):
        R, B, _ = tokens.shape
        self.model = model
        self.seq = torch.cat([torch.full((R, B, 1), model.vocab, dtype=torch.long, device=tokens.device), tokens], -1)
        self.caches = [dict() for _ in model.blocks] if cache else None
        self.fed = 0

    @property
    def tokens(self) -> torch.Tensor:
        return self.seq[..., 1:]

    def logits(self) -> torch.Tensor:
        if self.caches is None:
            return self.model._forward(self.seq)[..., -1, :]
        logits = self.model._forward(self.seq[..., self.fed:], self.fed, self.caches)[..., -1, :]
        self.fed = self.seq.shape[-1]
        return logits

    def push(self, y: torch.Tensor) -> None:
        self.seq = torch.cat([self.seq, y.unsqueeze(-1)], dim=-1)

    def reorder(self, index: torch.Tensor) -> None:
        R, B = self.seq.shape[:2]
        self.seq = take(self.seq, index)
        rows = (torch.arange(R, device=index.device).unsqueeze(-1) * B + index).reshape(-1)
        for cache in self.caches or ():
            for name in list(cache):
                cache[name] = cache[name].index_select(0, rows)


def build(kind: str, replicas: int, *, vocab: int, window: int, order: int = 2, width: int = 32, layers: int = 2,
          heads: int = 2, device=None) -> LanguageModel:
    """A model of ``kind`` ('ngram' or 'transformer')."""
    if kind == "ngram":
        return NGram(NGramConfig(vocab=vocab, order=order, window=window), replicas, device)
    if kind == "transformer":
        return Transformer(TransformerConfig(vocab=vocab, window=window, width=width, layers=layers, heads=heads),
                           replicas, device)
    raise ValueError(f"model must be 'ngram' or 'transformer', got {kind!r}")


__all__ = ["RULES", "MODELS", "Sampling", "ContextError", "LanguageModel", "NGram", "NGramConfig", "Transformer",
           "TransformerConfig", "build", "uniform_"]
