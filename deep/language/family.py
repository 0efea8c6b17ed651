"""Language-model families on the generational driver (numerics.driver through deep.chain.run_chain).

Generation 1 fits the real corpus: windows of ``window`` tokens drawn from the known-truth Markov
language (:class:`Truth`, the default) or cut from a text corpus (:class:`Text`). Each later generation
trains on the set the workflow plans (replace, accumulate, accumulate-subsample, real-fraction,
real-plus-synthetic) from the pool of real and synthetic windows; every synthetic batch is drawn from
the latest model by the recorded sampling rule (deep.language.models.Sampling). The training budget
(deep.train.Budget: fixed steps, or epochs over the training set) and warm start (the next model starts
from the last one's weights) vs scratch (a fresh initialisation) are recorded settings.

The synthetic batch a model will hand to the next generation is drawn just before the model is measured
(``measures_samples``: the driver passes it to ``measure``), so the metrics of generation g describe
exactly the text that trains generation g + 1; the last generation's batch is drawn for its metrics only.

Metrics per generation, per replica (each (R,)); T = ``window``, k = the truth's order, "samples" the
model's synthetic batch S (``synthetic`` windows), "held-out" ``eval_windows`` real windows per replica
never trained on:

* ``ce_real``: the model's cross-entropy on held-out real text, nats per token (all T positions);
* ``ce_excess`` (truth): ``ce_real`` minus the truth's own -log p(window) / T on the same windows;
* ``kl_rate`` (truth): the KL rate truth -> model, sum_c pi(c) KL(P(.|c) || Q(.|c)) nats per token:
  exact for the n-gram model (deep.language.markov.kl_rate, contexts the truth's stationary law; both
  tables lifted to the larger order when they differ); for the transformer its Monte Carlo estimate
  ``kl_rate_mc``. ``kl_rate_mc``: the mean over held-out windows of (1/(T-k)) sum_{t>=k} [log P(x_t|c_t)
  - log q(x_t|x_<t)] (the contexts of positions t >= k are stationary, so for a Markov model of order
  <= k this is unbiased for the exact rate); ``kl_rate_se`` its standard error over the windows;
* ``kl_reverse`` (truth): model -> truth, exact for the n-gram model (its own stationary law), the Monte
  Carlo mean over the samples of (1/(T-k)) sum_{t>=k} [log q(x_t|x_<t) - log P(x_t|c_t)] for the transformer;
* ``entropy_rate``: the model's entropy rate, exact for the n-gram model (its own stationary law), the
  Monte Carlo mean of -(1/(T-k)) sum_{t>=k} log q(x_t|x_<t) over the samples for the transformer;
* ``truth_logprob`` (truth): the truth's log-probability per token of the samples, mean of log p(window) / T;
* ``rare_kept`` (truth): the share of the truth's rare-transition mass the model keeps. A transition
  (c, y) is rare when P(y|c) < ``rare_below`` / V (below that multiple of uniform); its mass is
  pi(c) P(y|c). Kept: the model gives it probability >= ``lost_below`` (n-gram), or it occurs at least
  once in the samples (transformer). 1 = every rare transition kept;
* ``support_lost`` (truth): the share of the truth's V^k x V transitions (all positive) the model has
  lost: probability below ``lost_below`` (n-gram) or never generated in the samples (transformer);
* ``support_unseen`` (truth): the share of the truth's transitions absent from the samples (both models);
* ``distinct_2``, ``distinct_4``: distinct n-grams of the samples over all their n-grams (per replica);
* Shumailov et al.'s figure: the per-window log-perplexity of the samples, -log q0(window) / T under the
  generation-0 model q0 (the model first fitted, on real text: generation 1 here) and -log p(window) / T
  under the truth: ``logppl0_mean`` and ``logppl_truth_mean``, and their histograms as shares of the
  samples in HIST_BINS = 20 fixed bins, ``ppl0_hist_00`` .. ``ppl0_hist_19`` and ``pplt_hist_00`` ..:
  bin b covers log-perplexity (0.5 + 0.0375 [b, b+1)) log V nats per token, i.e. 0.5 log V to
  1.25 log V in all (log V is the uniform model's); the first bin also takes smaller values, the last
  the larger ones.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np
import torch

from numerics.workflows import Workflow
from theory.errors import UserError

from ..chain import TorchFamily, torch_generator
from ..replica import generator as make_generator
from ..train import Budget, check_memory, evaluate, train
from . import markov
from .models import LanguageModel, NGram, Sampling, build
from .options import HIST_BINS, hist_names
HIST_LOW, HIST_HIGH = 0.5, 1.25  # the histograms cover log-perplexity HIST_LOW log V .. HIST_HIGH log V


def hist_edges(V: int) -> np.ndarray:
    """The bin edges of the log-perplexity histograms (nats per token)."""
    return np.linspace(HIST_LOW * math.log(V), HIST_HIGH * math.log(V), HIST_BINS + 1)


def histogram_shares(values: np.ndarray, V: int) -> np.ndarray:
    """(R, m) log-perplexities -> (R, HIST_BINS) shares of each replica's windows in each bin."""
    edges = hist_edges(V)
    idx = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, HIST_BINS - 1)
    R = values.shape[0]
    counts = np.zeros((R, HIST_BINS))
    np.add.at(counts, (np.repeat(np.arange(R), values.shape[1]), idx.ravel()), 1.0)
    return counts / values.shape[1]


class VocabularyError(UserError, ValueError):
    """A checkpoint whose model was trained on another vocabulary."""


def distinct(samples: torch.Tensor, n: int, V: int) -> np.ndarray:
    """Distinct n-grams over all n-grams of each replica's windows (R, m, T): (R,)."""
    R, m, T = samples.shape
    if T < n:
        return np.full(R, np.nan)
    x = samples.long()
    ids = torch.zeros(R, m, T - n + 1, dtype=torch.long, device=x.device)
    for i in range(n):
        ids = ids * V + x[..., i:T - n + 1 + i]
    out = np.empty(R)
    for r in range(R):
        out[r] = torch.unique(ids[r]).numel() / ids[r].numel()
    return out


# ----------------------------------------------------------------------------------------------------
# the real data


class Truth:
    """The known-truth source: windows of the Markov language, and its exact quantities."""

    def __init__(self, language: markov.MarkovLanguage):
        self.language = language
        self.V, self.k = language.V, language.k
        self.vocabulary = None  # token ids only

    def windows(self, R: int, m: int, T: int, rng: np.random.Generator) -> torch.Tensor:
        return torch.as_tensor(self.language.sample((R, m), T, rng))

    def real(self, R: int, n: int, T: int, rng):
        return self.windows(R, n, T, rng)

    def heldout(self, R: int, m: int, T: int, rng):
        return self.windows(R, m, T, rng)


class Text:
    """A text corpus (deep.language.corpus.Corpus): real windows from its training split at random
    offsets (each replica its own), held-out windows from its held-out split."""

    def __init__(self, corpus):
        self.corpus = corpus
        self.V = corpus.vocab_size
        self.vocabulary = corpus.vocabulary
        self.language = None

    def real(self, R: int, n: int, T: int, rng):
        return self.corpus.windows(R, n, T, rng, split="train")

    def heldout(self, R: int, m: int, T: int, rng):
        return self.corpus.windows(R, m, T, rng, split="heldout")


# ----------------------------------------------------------------------------------------------------
# the family


@dataclass(frozen=True)
class ModelSpec:
    kind: str = "ngram"  # 'ngram' or 'transformer'
    order: int = 2  # n-gram context length
    width: int = 16  # the lm-* simulators' defaults (measured: configs/deep-markov-transformer.toml)
    layers: int = 1
    heads: int = 1


class LanguageFamily(TorchFamily):
    """A language model refitted on its own text through a workflow (see the module docstring). Its run state
    is the chain's: the held-out windows (``chain.state['heldout']``) and the first-fitted model
    (``chain.state['gen0']``); the driver hands ``measure`` the batch the model passes on."""

    measures_samples = True

    def __init__(self, source, spec: ModelSpec, workflow: Workflow, *, replicas: int, window: int, budget: Budget,
                 sampling: Sampling, warm_start: bool = False, eval_windows: int = 256, lost_below: float = 1e-3,
                 rare_below: float = 0.5, device=None):
        self.source, self.spec, self.workflow = source, spec, workflow
        self.R, self.T, self.budget, self.sampling = replicas, window, budget, sampling
        self.warm_start, self.eval_windows = warm_start, eval_windows
        self.lost_below, self.rare_below = lost_below, rare_below
        self.device = torch.device("cpu") if device is None else torch.device(device)
        self.V = source.V
        self._truth_setup()

    # -- the truth's fixed quantities -----------------------------------------------------------
    def _truth_setup(self) -> None:
        lang = self.source.language
        if lang is None:
            return
        self.K = max(lang.k, self.spec.order) if self.spec.kind == "ngram" else lang.k
        self.P = markov.lift(lang.table, lang.V, lang.k, self.K)
        self.pi = lang.pi if self.K == lang.k else markov.stationary(self.P, lang.V, self.K)
        self.rare = self.P < self.rare_below / lang.V
        self.rare_mass = (self.pi[:, None] * self.P * self.rare).sum()

    # -- the Family interface -------------------------------------------------------------------
    def new_model(self, generator: torch.Generator) -> LanguageModel:
        s = self.spec
        model = build(s.kind, self.R, vocab=self.V, window=self.T, order=s.order, width=s.width, layers=s.layers,
                      heads=s.heads, device=self.device)
        model.reset_parameters(generator)
        return model

    def real(self, chain, rng):
        data = self.source.real(chain.trials, self.workflow.n_real, self.T, rng).to(self.device)
        chain.state["heldout"] = self.source.heldout(chain.trials, self.eval_windows, self.T, rng).to(self.device)
        chain.state["vocabulary"] = self.source.vocabulary or ""
        return data

    def fresh(self, chain, rng):
        """New real windows for a workflow that takes them each generation (the held-out windows stay)."""
        return self.source.real(chain.trials, self.workflow.n_real, self.T, rng).to(self.device)

    def fit(self, train_set, chain, rng):
        gen = torch_generator(rng)
        previous = chain.model
        if self.warm_start and previous is not None:
            model = copy.deepcopy(previous)
        else:
            model = self.new_model(gen)
        train(model, train_set, self.budget, gen)
        if "gen0" not in chain.state:
            chain.state["gen0"] = copy.deepcopy(model)
        return model

    def sample(self, model, size, chain, rng):
        text = model.sample(size, self.sampling, torch_generator(rng))
        check_memory(f"sampling generation {chain.generation}")  # a vocabulary's logits grow with every window
        return text

    def measure(self, model, chain, rng, samples=None):
        return self.metrics(model, samples, chain.state)

    def resumed(self, chain) -> None:
        saved = chain.state.get("vocabulary", "")
        mine = self.source.vocabulary or ""
        if saved != mine:
            raise VocabularyError(f"the checkpoint's vocabulary ({len(saved)} symbols) differs from the corpus's "
                                  f"({len(mine)} symbols): the corpus changed since the run was checkpointed; "
                                  "delete the checkpoint or restore the corpus")

    def thaw(self, kind, tree):
        try:
            return super().thaw(kind, tree)
        except ValueError:
            if kind == "model":
                raise VocabularyError("the checkpoint's model was trained on another vocabulary than the corpus's: "
                                      "the corpus changed since the run was checkpointed; delete the checkpoint or "
                                      "restore the corpus") from None
            raise

    # -- metrics --------------------------------------------------------------------------------
    def metrics(self, model: LanguageModel, samples: torch.Tensor, state: dict) -> dict[str, np.ndarray]:
        gen = make_generator(0)  # the losses below draw nothing; evaluate() wants a generator
        heldout, gen0 = state["heldout"], state.get("gen0")
        out: dict[str, np.ndarray] = {}
        out["ce_real"] = evaluate(model, heldout, gen).cpu().numpy()
        lq_s = _token_log_probs(model, samples)  # (R, m, T)
        lq0_s = lq_s if gen0 is None or model is gen0 else _token_log_probs(gen0, samples)
        lppl0 = -lq0_s.sum(axis=2) / self.T
        out["logppl0_mean"] = lppl0.mean(axis=1)
        for name, share in zip(hist_names("ppl0"), histogram_shares(lppl0, self.V).T):
            out[name] = share
        out["distinct_2"] = distinct(samples, 2, self.V)
        out["distinct_4"] = distinct(samples, 4, self.V)
        ngram = isinstance(model, NGram)
        lang = self.source.language
        if lang is None:
            if ngram:
                q = model.transition_table().cpu().numpy()
                out["entropy_rate"] = np.array([markov.entropy_rate(qr, self.V, model.config.order) for qr in q])
            else:
                out["entropy_rate"] = -lq_s.mean(axis=(1, 2))
            return out
        k = lang.k
        held = heldout.cpu().numpy()
        samp = samples.cpu().numpy()
        lp_held = lang.log_prob(held)  # (R, m)
        out["ce_excess"] = out["ce_real"] - (-lp_held / self.T).mean(axis=1)
        # Monte Carlo KL rate on held-out real windows: positions t >= k
        lq_h = _token_log_probs(model, heldout)[..., k:]
        lp_h = lang.transition_log_probs(held)
        terms = (lp_h - lq_h).mean(axis=2)  # (R, m)
        out["kl_rate_mc"] = terms.mean(axis=1)
        out["kl_rate_se"] = terms.std(axis=1, ddof=1) / math.sqrt(terms.shape[1]) if terms.shape[1] > 1 else \
            np.zeros(self.R)
        lp_s_tok = lang.transition_log_probs(samp)
        lp_s = lang.log_prob(samp)
        out["truth_logprob"] = (lp_s / self.T).mean(axis=1)
        lpplt = -lp_s / self.T
        out["logppl_truth_mean"] = lpplt.mean(axis=1)
        for name, share in zip(hist_names("pplt"), histogram_shares(lpplt, self.V).T):
            out[name] = share
        seen = _transitions_seen(samp, lang.V, k)  # (R, V^k, V)
        out["support_unseen"] = 1.0 - seen.mean(axis=(1, 2))
        if ngram:
            q = model.transition_table().cpu().numpy()
            q = markov.lift(q, self.V, model.config.order, self.K)
            out["kl_rate"] = markov.kl_rate(self.P, q, self.V, self.K, self.pi)
            out["kl_reverse"] = markov.kl_rate_reverse(self.P, q, self.V, self.K)
            out["entropy_rate"] = np.array([markov.entropy_rate(qr, self.V, self.K) for qr in q])
            kept = q >= self.lost_below
            out["support_lost"] = 1.0 - kept.mean(axis=(1, 2))
        else:
            out["kl_rate"] = out["kl_rate_mc"]
            out["kl_reverse"] = (lq_s[..., k:] - lp_s_tok).mean(axis=(1, 2))
            out["entropy_rate"] = -lq_s[..., k:].mean(axis=(1, 2))
            kept = markov.lift(seen, self.V, k, self.K)
            out["support_lost"] = out["support_unseen"]
        out["rare_kept"] = np.minimum((self.pi[None, :, None] * self.P * self.rare * kept).sum(axis=(1, 2))
                                      / self.rare_mass, 1.0) if self.rare_mass > 0 else np.ones(self.R)
        return out


def _token_log_probs(model: LanguageModel, x: torch.Tensor, chunk: int = 512) -> np.ndarray:
    with torch.no_grad():
        parts = [model.token_log_probs(x[:, i:i + chunk]).double().cpu().numpy() for i in range(0, x.shape[1], chunk)]
    return np.concatenate(parts, axis=1)


def _transitions_seen(samples: np.ndarray, V: int, k: int) -> np.ndarray:
    """Whether each transition (c, y) occurs in each replica's windows: (R, V^k, V) bools."""
    R = samples.shape[0]
    ctx = markov.context_ids(samples, V, k)  # (R, m, T - k)
    ids = ctx * V + samples[..., k:]
    C = V**k * V
    flat = (ids.reshape(R, -1) + C * np.arange(R)[:, None]).ravel()
    return (np.bincount(flat, minlength=R * C) > 0).reshape(R, V**k, V)


# ----------------------------------------------------------------------------------------------------
# the bridge: a neural unigram against the categorical claims


class Symbols:
    """The bridge's truth: i.i.d. symbols of a categorical p0, as windows of one token."""

    def __init__(self, p0: np.ndarray):
        self.p0 = np.asarray(p0, dtype=float)
        self.V = self.p0.size
        self.vocabulary = None
        self.language = None

    def real(self, R: int, n: int, T: int, rng):
        from numerics.categorical import draw_symbols
        probs = np.ascontiguousarray(np.broadcast_to(self.p0, (R, self.V)))
        return torch.as_tensor(draw_symbols(probs, n, rng)).unsqueeze(-1)

    def heldout(self, R: int, m: int, T: int, rng):
        return self.real(R, m, T, rng)


def fit_unigram(model: NGram, freq: torch.Tensor, budget: Budget) -> None:
    """Train an order-0 :class:`NGram` on a full batch whose symbol frequencies are ``freq`` (R, V): the steps
    deep.train.train takes with ``budget`` (full batch, torch.optim.Adam with its default betas and eps, the
    learning rate cosine-decayed to 0 over the steps as CosineAnnealingLR does), written out for this one tensor.

    Two exact shortcuts. The gradient is in closed form: a unigram's mean loss over the batch is
    -sum_j f_j log softmax(theta)_j (the tokens grouped by symbol), whose gradient in the logits theta is
    softmax(theta) - f, so no loss is evaluated per token and no autograd graph is built. And Adam's update is
    torch's single-tensor one (torch.optim.adam._single_tensor_adam, the CPU default) in place on the table,
    without the optimiser's per-step dispatch, which cost more than the arithmetic on these small tables. At
    200 seeds and n = 100 a step took 0.8 ms through deep.train.train and 0.06 ms here (one torch thread);
    tests/deep/test_language_bridge.py checks that both train to the same probabilities. The gradient lies in
    [-1, 1], so a step moves a logit by about the learning rate at most and the loss cannot diverge: no
    finiteness check is needed.
    """
    if budget.steps is None or budget.batch != 0 or budget.optimizer != "adam" or budget.weight_decay != 0:
        raise ValueError(f"fit_unigram trains full-batch Adam without weight decay for a fixed number of steps, "
                         f"got {budget}")
    beta1, beta2, eps = 0.9, 0.999, 1e-8  # torch.optim.Adam's defaults, as deep.train.optimizer uses them
    steps = int(budget.steps)
    with torch.no_grad():
        theta = model.table  # (R, 1, V): the one context row of an order-0 table
        target = freq.to(theta).unsqueeze(1)
        m, v = torch.zeros_like(theta), torch.zeros_like(theta)
        for step in range(1, steps + 1):
            grad = torch.softmax(theta, dim=-1).sub_(target)
            m.lerp_(grad, 1 - beta1)
            v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
            lr = budget.lr * 0.5 * (1.0 + math.cos(math.pi * (step - 1) / steps)) if budget.decay else budget.lr
            denom = (v.sqrt() / math.sqrt(1 - beta2**step)).add_(eps)
            theta.addcdiv_(m, denom, value=-lr / (1 - beta1**step))
    model.eval()


class BridgeFamily(LanguageFamily):
    """A neural unigram (deep.language.models.NGram, order 0, windows of one token) trained to convergence
    on the categorical chain's data by :func:`fit_unigram` (the deep loop's full-batch Adam and cosine decay,
    with the gradient in closed form). Recorded per generation:

    * ``diversity``: 1 - sum_j q_j^2 of the trained probabilities q; ``diversity_ratio``: over D_0 of the truth;
    * ``diversity_freq``: the same of the training set's empirical frequencies f (the optimum);
    * ``surviving``: symbols with q_j >= lost_below; ``lost_rarest``: whether the truth's rarest symbol
      (the last) has q < lost_below;
    * ``opt_error``: the optimisation error, the total-variation distance ``(1/2) sum_j |q_j - f_j|``;
    * ``opt_error_max``: ``max_j |q_j - f_j|``.
    """

    def __init__(self, p0, workflow, *, replicas, budget, lost_below=1e-4, device=None):
        super().__init__(Symbols(p0), ModelSpec("ngram", order=0), workflow, replicas=replicas, window=1,
                         budget=budget, sampling=Sampling("ancestral"), eval_windows=1, lost_below=lost_below,
                         device=device)
        self.p0 = np.asarray(p0, dtype=float)
        self.D0 = 1.0 - float((self.p0**2).sum())

    def real(self, chain, rng):
        return self.source.real(chain.trials, self.workflow.n_real, 1, rng).to(self.device)

    def fit(self, train_set, chain, rng):
        counts = torch.nn.functional.one_hot(train_set[..., 0].long(), self.V).sum(dim=1).double()
        freq = counts / counts.sum(dim=1, keepdim=True)
        chain.state["freq"] = freq.cpu().numpy()
        model = self.new_model(torch_generator(rng))
        fit_unigram(model, freq, self.budget)
        return model

    def measure(self, model, chain, rng, samples=None):
        q = model.transition_table()[:, 0].cpu().numpy()  # (R, V)
        f = chain.state["freq"]
        D = 1.0 - (q * q).sum(axis=1)
        present = q >= self.lost_below
        return {
            "diversity": D, "diversity_ratio": D / self.D0, "diversity_freq": 1.0 - (f * f).sum(axis=1),
            "surviving": present.sum(axis=1).astype(float), "lost_rarest": (~present[:, -1]).astype(float),
            "opt_error": 0.5 * np.abs(q - f).sum(axis=1), "opt_error_max": np.abs(q - f).max(axis=1),
        }
