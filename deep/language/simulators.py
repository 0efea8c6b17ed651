"""The language-model simulators of the catalog (numerics.catalog), registered on import:

* ``lm-markov``: an n-gram model or a small transformer refitted on its own text, the real text drawn
  from a known-truth Markov language (deep.language.markov), so that KL rates to the truth are exact
  (n-gram) or estimated with a standard error (transformer);
* ``lm-bridge``: a neural unigram trained to convergence by the deep loop's optimiser (full batch, Adam with a
  cosine decay; the gradient in closed form, deep.language.family.fit_unigram) on the categorical chain's
  data; its diversity and lost-symbol metrics are checked against the
  claims categorical.diversity, categorical.loss_probability and categorical.surviving_symbols in
  `collapse verify`, with its optimisation error as a metric of its own;
* ``lm-text``: the same models on a text corpus (any UTF-8 file or folder; the King James Bible of the
  Debian package bible-kjv is the documented one: ``bible -f "Gen1:1-Rev22:21" > kjv.txt``).

Trials are seeds, run as the replica axis of one batched model; a block holds up to 64 of them. Every
function checkpoints after each generation (numerics.checkpoint) when the sweep gives it a path. Models,
data and sampling run on the GPU when there is one (deep.replica.default_device; never required), with
one intra-op thread per process on the CPU, as the image simulators do; the random numbers are drawn on
the CPU whatever the device, so a run draws the same numbers on either.
"""

from __future__ import annotations

import functools
import importlib.util
import os
from typing import TYPE_CHECKING

import numpy as np

from numerics import catalog
from numerics.catalog import Metric, Simulator, register
from numerics.categorical import produces as categorical_produces
from numerics.categorical import truth as categorical_truth
from numerics.schema import SettingError, Settings, schema, setting
from numerics.workflows import (WORKFLOWS, real_fraction_setting, stored_all, synthetic_setting, train_size_setting,
                                workflow_from, workflow_setting)

from ..simulators import run_chain, start
from .markov import MarkovLanguage
from .options import KJV_HINT, MODELS, RULES, check_sampling, hist_names

if TYPE_CHECKING:
    from ..train import Budget
    from .family import ModelSpec
    from .models import Sampling

# Declaring these simulators needs no torch (their settings are checked without it, deep.language.options);
# running them does, so without torch they are not offered (numerics.catalog lists why).
if importlib.util.find_spec("torch") is None:
    raise ModuleNotFoundError("No module named 'torch'", name="torch")

#: A block of trials holds up to 64 seeds (one batched model per cell, for the sweeps' 8 seeds).
_MEMORY = float(catalog.BLOCK_MEMORY // 64)
#: Per-model defaults of the learning rate when it is left at None. The transformer's (with width 16, 1 layer,
#: 1 head) were measured on the known-truth language (the deep-markov-transformer config lists the runs): lr
#: 3e-3 or 1e-2 leaves it at the bigram solution within a few hundred steps, 6e-2 is unstable.
LR = {"ngram": 0.05, "transformer": 3e-2}


@schema
class LanguageSettings(Settings):
    """What every language-model simulator (lm-markov, lm-text) takes: sizes, workflow, model, training and the
    sampling rule of the synthetic text."""

    n: int = setting(128, "real windows (and windows sampled per generation)", low=2)
    window: int = setting(32, "tokens per window (the transformer's context)", low=2)
    workflow: str = workflow_setting(tuple(WORKFLOWS), default="replace")
    real_fraction: float | None = real_fraction_setting("windows")
    train_size: int | None = train_size_setting()
    synthetic: int | None = synthetic_setting("windows", "; real-plus-synthetic: Kazdan's n_syn")
    model: str = setting("ngram", "the language model: a neural n-gram table or a small causal transformer",
                         options=MODELS)
    model_order: int | None = setting(None, "context tokens of the n-gram model (default: the truth's order; 2 for "
                                      "text)", low=0)
    width: int = setting(16, "transformer width (d_model; 16, 1 layer, 1 head: measured on the known truth, the "
                         "deep-markov-transformer config)", low=1)
    layers: int = setting(1, "transformer layers", low=1)
    heads: int = setting(1, "transformer attention heads", low=1)
    budget: str = setting("steps", "training budget per generation: a fixed number of optimiser steps, or epochs over "
                          "the training set the workflow hands over (grows under accumulate)", options=("steps", "epochs"))
    steps: int = setting(300, "optimiser steps per generation (budget = steps)", low=1, probe=1)
    epochs: float = setting(5.0, "epochs per generation (budget = epochs)", low=0, open_low=True, probe=1e-9)
    batch: int = setting(64, "minibatch of windows per replica (0: the whole training set)", low=0)
    lr: float | None = setting(None, "Adam learning rate (default 0.05 for ngram, 3e-2 for transformer)", low=0,
                               open_low=True)
    weight_decay: float = setting(0.0, "decoupled weight decay of the weight matrices (AdamW, as in fine-tuning "
                                  "recipes; 0: plain Adam)", low=0)
    decay: bool = setting(True, "cosine decay of the learning rate to 0 within each generation")
    warm_start: bool = setting(False, "each generation starts from the last model's weights (fine-tuning, as "
                               "Shumailov et al.; false: from scratch)")
    rule: str = setting("ancestral", "sampling rule of the synthetic text", options=RULES)
    temperature: float = setting(1.0, "softmax temperature (rules temperature, top-k, top-p)", low=0, open_low=True)
    top_k: int = setting(8, "tokens kept by rule top-k", low=1)
    top_p: float = setting(0.9, "nucleus mass kept by rule top-p", low=0, high=1, open_low=True)
    beams: int = setting(5, "rule beam: hypotheses kept per window (Shumailov et al.'s 5)", low=1)
    repetition_penalty: float = setting(1.0, "rule beam: log-probabilities of tokens already in the window times this "
                                        "(1: off)", low=0, open_low=True)
    no_repeat_ngram: int = setting(0, "rule beam: n-grams of this size never repeat within a window (0: off)", low=0)
    prefix: int = setting(1, "rule beam: tokens drawn ancestrally at the start of each window before the search",
                          low=0)
    eval_windows: int = setting(256, "held-out real windows per replica for the metrics", low=2)

    def validate(self) -> None:
        workflow_from(self, self.n)
        try:
            check_sampling(self.rule, self.temperature, self.top_k, self.top_p, self.beams, self.repetition_penalty,
                           self.no_repeat_ngram, self.prefix)
        except ValueError as e:
            raise SettingError(str(e), "rule") from None

    def training(self) -> Budget:
        from ..train import Budget

        lr = self.lr if self.lr is not None else LR[self.model]
        kw = dict(batch=self.batch, lr=lr, decay=self.decay, weight_decay=self.weight_decay)
        return Budget(steps=self.steps, **kw) if self.budget == "steps" else Budget(epochs=self.epochs, **kw)

    def sampling(self) -> Sampling:
        from .models import Sampling

        try:
            return Sampling(self.rule, self.temperature, self.top_k, self.top_p, self.beams, self.repetition_penalty,
                            self.no_repeat_ngram, self.prefix)
        except ValueError as e:
            raise SettingError(str(e), "rule") from None

    def spec(self, order: int) -> ModelSpec:
        from .family import ModelSpec

        return ModelSpec(self.model, order, self.width, self.layers, self.heads)


def _select(out: dict, outputs) -> dict:
    if outputs is None:
        return out
    missing = [q for q in outputs if q not in out]
    if missing:
        raise SettingError(f"output {missing[0]!r} is not recorded by this model (it records: {', '.join(sorted(out))})")
    return {q: out[q] for q in outputs}


def _run(name: str, family, config, trials, rng, generations, checkpoint, outputs) -> dict:
    chain = run_chain(name, family, config, trials, rng, generations, checkpoint, config.n)
    return _select(chain.outputs(), outputs)


# -- lm-markov -----------------------------------------------------------------------------------------

@schema
class MarkovSettings(LanguageSettings):
    """lm-markov: a language model on a known-truth Markov language."""

    V: int = setting(8, "vocabulary size of the truth", low=2)
    order: int = setting(2, "order k of the truth (contexts of k tokens)", low=0)
    zipf: float = setting(1.0, "exponent s of the truth's rows: probabilities proportional to j^-s, permuted per "
                          "context", low=0)
    language_seed: int = setting(0, "seed of the truth's random rows (the same language for every trial)", low=0)
    lost_below: float = setting(1e-3, "a transition the n-gram model gives less probability is lost", low=0,
                                open_low=True)
    rare_below: float = setting(0.5, "rare transitions: truth probability below this multiple of 1/V", low=0,
                                open_low=True)


def language_of(c: MarkovSettings) -> MarkovLanguage:
    """The cell's known-truth language (the same for every trial: seeded by language_seed)."""
    return MarkovLanguage(c.V, c.order, c.zipf, np.random.default_rng(c.language_seed))


def markov_chains(trials, rng, config: MarkovSettings, generations, *, checkpoint=None, outputs=None):
    """lm-markov: ``trials`` seeds of a language model refitted on its own text (see the module docstring)."""
    from . import family as fam

    c, device = config, start()
    family = fam.LanguageFamily(fam.Truth(language_of(c)), c.spec(c.order if c.model_order is None else c.model_order),
                                workflow_from(c, c.n), replicas=trials, window=c.window, budget=c.training(),
                                sampling=c.sampling(), warm_start=c.warm_start, eval_windows=c.eval_windows,
                                lost_below=c.lost_below, rare_below=c.rare_below, device=device)
    return _run("lm-markov", family, c, trials, rng, generations, checkpoint, outputs)


def _lm_metrics(truth: bool) -> dict:
    m = {
        "ce_real": Metric("cross-entropy on held-out real text, nats per token", "ce_real"),
        "entropy_rate": Metric("the model's entropy rate, nats per token (exact for n-gram, Monte Carlo for the "
                               "transformer)", "entropy_rate"),
        "distinct_2": Metric("distinct bigrams over all bigrams of the samples", "distinct_2"),
        "distinct_4": Metric("distinct 4-grams over all 4-grams of the samples", "distinct_4"),
        "logppl0_mean": Metric("mean log-perplexity of the samples under the generation-0 (first-fitted) model, "
                               "nats per token", "logppl0_mean"),
    }
    edges = "20 bins of log-perplexity from 0.5 log V to 1.25 log V nats per token (deep.language.family.hist_edges)"
    for b, name in enumerate(hist_names("ppl0")):
        m[name] = Metric(f"share of the samples whose log-perplexity under the generation-0 model is in bin {b} "
                         f"({edges})", name)
    if truth:
        m.update({
            "ce_excess": Metric("ce_real minus the truth's own log-loss on the same held-out windows", "ce_excess"),
            "kl_rate": Metric("KL rate truth -> model, nats per token (exact for n-gram, Monte Carlo for the "
                              "transformer)", "kl_rate"),
            "kl_rate_mc": Metric("Monte Carlo KL rate truth -> model on held-out windows", "kl_rate_mc"),
            "kl_rate_se": Metric("standard error of kl_rate_mc over the held-out windows", "kl_rate_se"),
            "kl_reverse": Metric("KL rate model -> truth (exact for n-gram, Monte Carlo for the transformer)",
                                 "kl_reverse"),
            "truth_logprob": Metric("the truth's log-probability per token of the samples", "truth_logprob"),
            "rare_kept": Metric("share of the truth's rare-transition mass (P(y|c) < rare_below / V) the model keeps",
                                "rare_kept"),
            "support_lost": Metric("share of the truth's transitions lost (probability < lost_below for n-gram; never "
                                   "generated for the transformer)", "support_lost"),
            "support_unseen": Metric("share of the truth's transitions absent from the samples", "support_unseen"),
            "logppl_truth_mean": Metric("mean log-perplexity of the samples under the truth", "logppl_truth_mean"),
        })
        for b, name in enumerate(hist_names("pplt")):
            m[name] = Metric(f"share of the samples whose log-perplexity under the truth is in bin {b} ({edges})", name)
    return m


def _vocabulary(c) -> int:
    """The model's vocabulary: the truth's V, or the corpus's distinct characters (read once per path)."""
    if hasattr(c, "V"):
        return c.V
    return _corpus_vocabulary(c.corpus, os.path.getmtime(c.corpus))


@functools.lru_cache(maxsize=16)
def _corpus_vocabulary(path: str, mtime: float) -> int:
    from . import corpus

    return len(set(corpus.read_text(path)))


def _lm_memory(c, G: int) -> float:
    """Bytes per seed: what makes a block hold at most 64 seeds, or fewer where the model needs more. Counted:
    the weights with their gradients and Adam's two moments (16 bytes each: the n-gram's (V+1)^k x V table, or
    the transformer's embeddings, 12 w^2 per layer and output layer), one minibatch's activations kept for the
    backward pass (the transformer: about 20 w + 2 V + heads x window floats per token and layer, attention
    included; the n-gram: its gathered logits), and the stored windows (8 bytes per token, the pool under the
    workflow). So a vocabulary of 20,000 characters or a transformer of width 4096 and 64 layers is sized, and
    refused before it starts when no machine holds it (numerics.execute.check_resources)."""
    V, T = _vocabulary(c), c.window
    batch = c.batch or c.n * (G if stored_all(c.workflow) else 1)
    if c.model == "transformer":
        w = c.width
        weights = (V + 1) * w + T * w + c.layers * 12 * w * w + w * V
        per_token = c.layers * (20 * w + c.heads * T) + 2 * V
    else:
        order = c.model_order if c.model_order is not None else getattr(c, "order", 2)
        weights = (V + 1) ** order * V
        per_token = 3 * V
    activations = 4.0 * batch * T * per_token
    windows = 8.0 * T * (c.n * (G if stored_all(c.workflow) else 3) + getattr(c, "eval_windows", 0))
    return max(_MEMORY, 16.0 * weights + activations + windows)


def _lm_work(c, G: int) -> float:
    """Seconds per seed: 0.93 draw-equivalents (5e-8 s) per token of a training step for the n-gram table,
    260 per layer of the transformer at width 32, and for the n-gram 7.7e-6 s per character sampled (n
    windows each generation), plus :func:`_lm_block` per block. The n-gram's three constants solve python
    benchmarks/bench_estimates.py --smoke at load 4 (first generation, one torch thread): 0.459 s for 8 seeds
    at n = 128, steps 300, batch 64, window 32 (deep-markov), 0.266 s at n = 16 (deep-scarce-real: the same
    training, fewer windows sampled), 0.079 s for 4 seeds at n = 64, steps 80, window 16
    (deep-custom-workflows), scaled by 1.15 towards load 7, where the same cells took 1.3x longer. The
    transformer's, per layer 3.95 w + 0.0068 w^2 at width w (its activations and attention grow like w at
    these widths, its matrix products like w^2), solve two measured runs: deep-markov-transformer (w = 16, 1
    layer), its first 2 cells' first generation, 2.0 CPU-s a seed and generation (load 7); and the whole
    deep-survey-fig3 run (w = 64, 2 layers, beam search), 1,741 CPU-s for 80 seed-generations, 21.8 s each,
    which the former w^2 law (260 per layer at w = 32) put at 85 s (its 57 minutes printed before a run of 15)."""
    per_token = 0.93 if c.model == "ngram" else c.layers * (3.95 * c.width + 0.0068 * c.width**2)
    batch = c.batch or c.n
    steps = c.steps if c.budget == "steps" else c.epochs * c.n * (G / 2 if c.workflow == "accumulate" else 1) / max(batch, 1)
    sampled = 7.7e-6 * c.n * c.window if c.model == "ngram" else 0.0  # the transformer's is in its 260
    return (per_token * steps * batch * c.window * 5e-8 + sampled) * G  # seconds per seed


def _lm_block(c, G: int) -> float:
    """The fixed cost of a block of seeds per generation (models built, text scored), measured with
    :func:`_lm_work`'s figures: about 0.044 s for the n-gram table."""
    return 0.044 * G if c.model == "ngram" else 0.0


register(Simulator(
    name="lm-markov",
    target=f"{__name__}:markov_chains",
    doc="a language model (neural n-gram or small transformer) refitted on its own text; the real text from a "
        "known-truth Markov language (exact KL rates)",
    schema=MarkovSettings,
    metrics=_lm_metrics(truth=True),
    memory=_lm_memory,
    work=_lm_work,
    block_seconds=_lm_block,
    outputs=True,
    checkpoints=True,
))


# -- lm-bridge -----------------------------------------------------------------------------------------

#: The bridge's budget: full batch, Adam at lr 1 with a cosine decay to 0 over 300 steps. Measured (K = 5,
#: Zipf(1), n = 20, 1,000 seeds, 10 generations, replace): total-variation optimisation error 4.4e-6 on
#: average (at most 1.4e-5), lost symbols' probabilities below 1e-4 (lr 0.1 leaves them near 1e-3, so
#: they come back).
BRIDGE_STEPS, BRIDGE_LR = 300, 1.0


@schema
class UnigramSettings(Settings):
    """lm-bridge: a neural unigram on the categorical chain."""

    n: int = setting(doc="symbols per generation (and real symbols)", low=2)
    K: int = setting(10, "symbols of the truth (Zipf-like unless probabilities are given)", low=2)
    zipf: float = setting(1.0, "exponent of the truth: p0_j proportional to j^-zipf", low=0)
    probabilities: tuple[float, ...] | None = setting(None, "the truth's probabilities (instead of K and zipf)")
    workflow: str = workflow_setting(tuple(WORKFLOWS), default="replace")
    real_fraction: float | None = real_fraction_setting("symbols")
    train_size: int | None = train_size_setting()
    synthetic: int | None = synthetic_setting("symbols")
    steps: int = setting(BRIDGE_STEPS, "full-batch Adam steps per generation", low=1, probe=1)
    lr: float = setting(BRIDGE_LR, "Adam learning rate (cosine decay to 0 within each generation)", low=0,
                        open_low=True)
    lost_below: float = setting(1e-4, "a symbol whose trained probability is below this is lost", low=0, open_low=True)

    def validate(self) -> None:
        try:
            categorical_truth(self.K, self.zipf, self.probabilities)
        except ValueError as e:
            raise SettingError(str(e), "probabilities") from None
        workflow_from(self, self.n)


def bridge_chains(trials, rng, config: UnigramSettings, generations, *, checkpoint=None, outputs=None):
    """lm-bridge: a neural unigram trained to convergence on the categorical chain (see the module docstring)."""
    from ..train import Budget
    from . import family as fam

    c, device = config, start()
    budget = Budget(steps=c.steps, batch=0, lr=c.lr, decay=True)
    family = fam.BridgeFamily(categorical_truth(c.K, c.zipf, c.probabilities), workflow_from(c, c.n), replicas=trials,
                              budget=budget, lost_below=c.lost_below, device=device)
    return _run("lm-bridge", family, c, trials, rng, generations, checkpoint, outputs)


def _bridge_work(c: UnigramSettings, G: int) -> float:
    """Seconds per seed: per generation 7.9e-8 + 1.4e-9 V per step (deep.language.family.fit_unigram's
    arithmetic on the seed's row of V symbols), 8.8e-8 per symbol sampled (n) and 1.3e-8 V per symbol of the
    training set counted (n; about n (G + 1) / 2 on average under accumulate); the block adds 3.5e-5 s per step
    (the step's dozen torch calls). Least squares in relative terms on 29 runs at 300 steps (2 to 50
    generations, 8 to 4,000 seeds, n 20 to 1,000, V 2 to 50, replace, accumulate and real-fraction; one torch
    thread, CPU seconds at load 2-4 on 2 cores): all within 0.6x to 1.4x of the measured time, the five
    collapse verify cells within 0.88x to 1.34x (the lost-symbol cell, V = 2, the most over)."""
    V = len(c.probabilities) if c.probabilities is not None else c.K
    m = c.n * ((G + 1) / 2 if c.workflow == "accumulate" else 1)
    return (c.steps * (7.9e-8 + 1.4e-9 * V) + 8.8e-8 * c.n + 1.3e-8 * V * m) * G


_OPT_NOTE = ("bridge: neural unigram trained by the deep loop's optimiser (full batch, Adam lr 1, cosine decay, 300 "
             "steps, the gradient in closed form); its optimisation error (metric opt_error: total variation between "
             "the trained probabilities and the training frequencies) was 4.4e-6 on average, at most 1.4e-5, at the "
             "diversity's point (1,000 seeds), which moves the diversity by at most 4 x that, far below the standard "
             "error")

register(Simulator(
    name="lm-bridge",
    target=f"{__name__}:bridge_chains",
    doc="the bridge: a neural unigram trained to convergence by the deep loop on the categorical chain "
        "(its optimum is the empirical frequencies)",
    schema=UnigramSettings,
    metrics={
        "diversity_ratio": Metric("D_t / D_0, D = 1 - sum q^2 of the trained probabilities", "diversity_ratio"),
        "lost_rarest": Metric("whether the trained probability of the truth's rarest symbol is below lost_below",
                              "lost_rarest"),
        "surviving": Metric("symbols whose trained probability is at least lost_below", "surviving"),
        "diversity": Metric("D_t = 1 - sum q^2 of the trained probabilities", "diversity"),
        "diversity_freq": Metric("1 - sum f^2 of the training set's frequencies (the model's optimum)",
                                 "diversity_freq"),
        "opt_error": Metric("optimisation error: total variation (1/2) sum |q - f| between the trained probabilities "
                            "and the training frequencies", "opt_error"),
        "opt_error_max": Metric("optimisation error: max_j |q_j - f_j|", "opt_error_max"),
    },
    # 200 seeds at verify's 20,000 trials (the loss check's 50 fits of 300 steps: 0.65 CPU-s, 10 s through
    # deep.train.train); the rows' detectable errors are printed by collapse verify --explain.
    produces=categorical_produces(note=_OPT_NOTE, share=0.01, verify_diversity={"K": 5, "zipf": 1.0}),
    memory=lambda c, G: 8.0 * 40 * (c.n * (G if stored_all(c.workflow) else 3) + 8 * c.K),
    work=_bridge_work,
    block_seconds=lambda c, G: 3.5e-5 * c.steps * G,  # a step's torch calls on the block (see _bridge_work)
    outputs=True,
    checkpoints=True,
))


# -- lm-text -------------------------------------------------------------------------------------------

@schema
class TextSettings(LanguageSettings):
    """lm-text: a character-level language model on a UTF-8 corpus."""

    n: int = setting(256, "real windows (and windows sampled per generation)", low=2)
    window: int = setting(64, "characters per window (the transformer's context)", low=2)
    corpus: str = setting(doc="the corpus: a UTF-8 file or a folder of them (character level)", kind="path",
                          hint=KJV_HINT)
    heldout: float = setting(0.1, "share of the text (its end) held out for the cross-entropy", low=0, high=0.9,
                             open_low=True)


def text_chains(trials, rng, config: TextSettings, generations, *, checkpoint=None, outputs=None):
    """lm-text: ``trials`` seeds of a language model refitted on its own text, starting from a corpus."""
    from . import corpus
    from . import family as fam

    c, device = config, start()
    text = corpus.Corpus.from_path(c.corpus, c.heldout)
    family = fam.LanguageFamily(fam.Text(text), c.spec(2 if c.model_order is None else c.model_order),
                                workflow_from(c, c.n), replicas=trials, window=c.window, budget=c.training(),
                                sampling=c.sampling(), warm_start=c.warm_start, eval_windows=c.eval_windows,
                                device=device)
    return _run("lm-text", family, c, trials, rng, generations, checkpoint, outputs)


register(Simulator(
    name="lm-text",
    target=f"{__name__}:text_chains",
    doc="a character-level language model (neural n-gram or small transformer) refitted on its own text, "
        "starting from a UTF-8 corpus (the King James Bible: bible -f \"Gen1:1-Rev22:21\" > kjv.txt)",
    schema=TextSettings,
    metrics=_lm_metrics(truth=False),
    memory=_lm_memory,
    work=_lm_work,
    block_seconds=_lm_block,
    outputs=True,
    checkpoints=True,
))
