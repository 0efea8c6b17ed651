"""The language-model simulators of the catalog (numerics.catalog), registered on import:

* ``lm-markov``: an n-gram model or a small transformer refitted on its own text, the real text drawn
  from a known-truth Markov language (deep.language.markov), so that KL rates to the truth are exact
  (n-gram) or estimated with a standard error (transformer);
* ``lm-bridge``: a neural unigram trained to convergence by the deep loop (full batch, Adam with a cosine
  decay) on the categorical chain's data; its diversity and lost-symbol metrics are checked against the
  claims categorical.diversity, categorical.loss_probability and categorical.surviving_symbols in
  `collapse verify`, with its optimisation error as a metric of its own;
* ``lm-text``: the same models on a text corpus (any UTF-8 file or folder; the King James Bible of the
  Debian package bible-kjv is the documented one: ``bible -f "Gen1:1-Rev22:21" > kjv.txt``).

Trials are seeds, run as the replica axis of one batched model; a block holds up to 64 of them. Every
function checkpoints after each generation (deep.chain.run_chain) when the sweep gives it a path.
"""

from __future__ import annotations

import os

import numpy as np

from numerics import catalog
from numerics.catalog import Bind, Check, Link, Metric, Setting, SettingError, Simulator, register
from numerics.categorical import truth as categorical_truth
from numerics.simulators import REAL_FRACTION
from numerics.workflows import WORKFLOWS, workflow_of

from ..chain import header_of, run_chain
from ..replica import setup_threads
from ..train import Budget
from . import corpus
from . import family as fam
from .markov import MarkovLanguage
from .models import MODELS, RULES, Sampling


_MODULE = __name__
#: A block of trials holds up to 64 seeds (one batched model per cell, for the sweeps' 8 seeds).
_MEMORY = float(catalog.BLOCK_MEMORY // 64)
#: Per-model defaults of the settings left at None. The transformer's (with width 16, 1 layer, 1 head) were
#: measured on the known-truth language (configs/deep-markov-transformer.toml, which lists the runs): lr 3e-3
#: or 1e-2 leaves it at the bigram solution within a few hundred steps, 6e-2 is unstable.
LR = {"ngram": 0.05, "transformer": 3e-2}

_WORKFLOW = Setting("choice", "replace", "data workflow (theory.workflows)", tuple(WORKFLOWS))
_SIZES = {
    "real_fraction": Setting("float", None, "share of real windows in each training set (workflow real-fraction)",
                             low=0, high=1),
    "train_size": Setting("int", None, "training-set size of the subsample and real-fraction workflows (default n)",
                          low=1),
    "synthetic": Setting("int", None, "windows sampled from each model (default n; real-plus-synthetic: Kazdan's "
                         "n_syn)", low=1),
}
_TRAINING = {
    "budget": Setting("choice", "steps", "training budget per generation: a fixed number of optimiser steps, or "
                      "epochs over the training set the workflow hands over (grows under accumulate)",
                      ("steps", "epochs")),
    "steps": Setting("int", 300, "optimiser steps per generation (budget = steps)", low=1),
    "epochs": Setting("float", 5.0, "epochs per generation (budget = epochs)", low=0, open_low=True),
    "batch": Setting("int", 64, "minibatch of windows per replica (0: the whole training set)", low=0),
    "lr": Setting("float", None, "Adam learning rate (default 0.05 for ngram, 3e-2 for transformer)", low=0,
                  open_low=True),
    "decay": Setting("bool", True, "cosine decay of the learning rate to 0 within each generation"),
    "warm_start": Setting("bool", False, "each generation starts from the last model's weights (false: from scratch)"),
}
_SAMPLING = {
    "rule": Setting("choice", "ancestral", "sampling rule of the synthetic text", RULES),
    "temperature": Setting("float", 1.0, "softmax temperature (rules temperature, top-k, top-p)", low=0, open_low=True),
    "top_k": Setting("int", 8, "tokens kept by rule top-k", low=1),
    "top_p": Setting("float", 0.9, "nucleus mass kept by rule top-p", low=0, high=1, open_low=True),
}
_MODEL = {
    "model": Setting("choice", "ngram", "the language model: a neural n-gram table or a small causal transformer",
                     MODELS),
    "model_order": Setting("int", None, "context tokens of the n-gram model (default: the truth's order; 2 for text)",
                           low=0),
    "width": Setting("int", 16, "transformer width (d_model; 16, 1 layer, 1 head: measured on the known truth, "
                     "configs/deep-markov-transformer.toml)", low=1),
    "layers": Setting("int", 1, "transformer layers", low=1),
    "heads": Setting("int", 1, "transformer attention heads", low=1),
}


def _budget(p: dict, full_batch: bool = False) -> Budget:
    lr = p["lr"] if p.get("lr") is not None else LR[p.get("model", "ngram")]
    batch = 0 if full_batch else p["batch"]
    if p["budget"] == "steps":
        return Budget(steps=p["steps"], batch=batch, lr=lr, decay=p["decay"])
    return Budget(epochs=p["epochs"], batch=batch, lr=lr, decay=p["decay"])


def _sampling(p: dict) -> Sampling:
    return Sampling(p["rule"], p["temperature"], p["top_k"], p["top_p"])


def _flow(p: dict):
    return workflow_of(p["workflow"], p["n"], train_size=p["train_size"], synthetic=p["synthetic"],
                       real_fraction=p["real_fraction"])


def _select(out: dict, quantities) -> dict:
    if quantities is None:
        return out
    missing = [q for q in quantities if q not in out]
    if missing:
        raise SettingError(f"quantity {missing[0]!r} is not recorded by this model (it records: {', '.join(sorted(out))})")
    return {q: out[q] for q in quantities}


def _run(name: str, family, flow, settings: dict, trials, rng, generations, checkpoint, quantities):
    header = header_of(name, settings, trials, generations, rng) if checkpoint is not None else None
    out = run_chain(family, flow, generations, trials, rng, checkpoint=checkpoint, header=header)
    return _select(out, quantities)


# -- lm-markov -----------------------------------------------------------------------------------------

def language_of(p: dict) -> MarkovLanguage:
    """The cell's known-truth language (the same for every trial: seeded by language_seed)."""
    return MarkovLanguage(p["V"], p["order"], p["zipf"], np.random.default_rng(p["language_seed"]))


def markov_chains(trials, rng, *, generations, checkpoint=None, quantities=None, **settings):
    """lm-markov: ``trials`` seeds of a language model refitted on its own text (see the module docstring)."""
    setup_threads(1)
    p = dict(settings)
    lang = language_of(p)
    order = p["order"] if p["model_order"] is None else p["model_order"]
    spec = fam.ModelSpec(p["model"], order, p["width"], p["layers"], p["heads"])
    family = fam.LanguageFamily(fam.Truth(lang), spec, _flow(p), replicas=trials, window=p["window"],
                                budget=_budget(p), sampling=_sampling(p), warm_start=p["warm_start"],
                                eval_windows=p["eval_windows"], lost_below=p["lost_below"], rare_below=p["rare_below"])
    return _run("lm-markov", family, _flow(p), p, trials, rng, generations, checkpoint, quantities)


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
    for b, name in enumerate(fam.hist_names("ppl0")):
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
        for b, name in enumerate(fam.hist_names("pplt")):
            m[name] = Metric(f"share of the samples whose log-perplexity under the truth is in bin {b} ({edges})", name)
    return m


def _lm_memory(p: dict, G: int) -> float:
    return _MEMORY


def _lm_work(p: dict, G: int) -> float:
    """About 3 draw-equivalents per token of a step for the n-gram table (measured: 0.8 s per generation of
    8 seeds at steps 300, batch 64, window 32 on this 2-core machine); the transformer ~100x that."""
    per_token = 3.0 if p.get("model", "ngram") == "ngram" else 3.0 * p["layers"] * (p["width"] / 32) ** 2 * 50
    batch = p["batch"] or p["n"]
    steps = p["steps"] if p["budget"] == "steps" else p["epochs"] * p["n"] * (G / 2 if p["workflow"] == "accumulate" else 1) / max(batch, 1)
    return per_token * steps * batch * p["window"] * G


register(Simulator(
    name="lm-markov",
    target=f"{_MODULE}:markov_chains",
    doc="a language model (neural n-gram or small transformer) refitted on its own text; the real text from a "
        "known-truth Markov language (exact KL rates)",
    settings={
        "n": Setting("int", 128, "real windows (and windows sampled per generation)", low=2),
        "window": Setting("int", 32, "tokens per window (the transformer's context)", low=2),
        "V": Setting("int", 8, "vocabulary size of the truth", low=2),
        "order": Setting("int", 2, "order k of the truth (contexts of k tokens)", low=0),
        "zipf": Setting("float", 1.0, "exponent s of the truth's rows: probabilities proportional to j^-s, permuted "
                        "per context", low=0),
        "language_seed": Setting("int", 0, "seed of the truth's random rows (the same language for every trial)", low=0),
        "workflow": _WORKFLOW, **_SIZES, **_MODEL, **_TRAINING, **_SAMPLING,
        "eval_windows": Setting("int", 256, "held-out real windows per replica for the metrics", low=2),
        "lost_below": Setting("float", 1e-3, "a transition the n-gram model gives less probability is lost", low=0,
                              open_low=True),
        "rare_below": Setting("float", 0.5, "rare transitions: truth probability below this multiple of 1/V", low=0,
                              open_low=True),
    },
    metrics=_lm_metrics(truth=True),
    memory=_lm_memory,
    work=_lm_work,
    quantities=True,
    checkpoints=True,
), _MODULE)


# -- lm-bridge -----------------------------------------------------------------------------------------

def _p0(p: dict) -> np.ndarray:
    return categorical_truth(p["K"], p["zipf"], p["probabilities"])


#: The bridge's budget: full batch, Adam at lr 1 with a cosine decay to 0 over 300 steps. Measured (K = 5,
#: Zipf(1), n = 20, 1,000 seeds, 10 generations, replace): total-variation optimisation error 3e-6 on
#: average (at most 1.4e-5), lost symbols' probabilities below 1e-4 (lr 0.1 leaves them near 1e-3, so
#: they come back).
BRIDGE_STEPS, BRIDGE_LR = 300, 1.0


def bridge_chains(trials, rng, *, generations, checkpoint=None, quantities=None, **settings):
    """lm-bridge: a neural unigram trained to convergence on the categorical chain (see the module docstring)."""
    setup_threads(1)
    p = dict(settings)
    budget = Budget(steps=p["steps"], batch=0, lr=p["lr"], decay=True)
    family = fam.BridgeFamily(_p0(p), _flow(p), replicas=trials, budget=budget, lost_below=p["lost_below"])
    return _run("lm-bridge", family, _flow(p), p, trials, rng, generations, checkpoint, quantities)


_PLAIN = {"train_size": None, "synthetic": None}
_OPT_NOTE = ("neural unigram trained by the deep loop (full batch, Adam lr 1, cosine decay, 300 steps); its "
             "optimisation error (metric opt_error: total variation between the trained probabilities and the "
             "training frequencies) was 3e-6 on average, at most 1.4e-5, at this point (1,000 seeds), which moves "
             "the diversity by at most 4 x that, far below the standard error")

register(Simulator(
    name="lm-bridge",
    target=f"{_MODULE}:bridge_chains",
    doc="the bridge: a neural unigram trained to convergence by the deep loop on the categorical chain "
        "(its optimum is the empirical frequencies)",
    settings={
        "n": Setting("int", doc="symbols per generation (and real symbols)", low=2),
        "K": Setting("int", 10, "symbols of the truth (Zipf-like unless probabilities are given)", low=2),
        "zipf": Setting("float", 1.0, "exponent of the truth: p0_j proportional to j^-zipf", low=0),
        "probabilities": Setting("floats", None, "the truth's probabilities (instead of K and zipf)"),
        "workflow": _WORKFLOW, **_SIZES,
        "steps": Setting("int", BRIDGE_STEPS, "full-batch Adam steps per generation", low=1),
        "lr": Setting("float", BRIDGE_LR, "Adam learning rate (cosine decay to 0 within each generation)", low=0,
                      open_low=True),
        "lost_below": Setting("float", 1e-4, "a symbol whose trained probability is below this is lost", low=0,
                              open_low=True),
    },
    metrics={
        "diversity_ratio": Metric("D_t / D_0, D = 1 - sum q^2 of the trained probabilities", "diversity_ratio", links=(
            Link("categorical.diversity", "t", (Bind("n"), Bind("workflow"), REAL_FRACTION),
                 when={"workflow": ("replace", "accumulate", "real-fraction"), **_PLAIN},
                 check=Check({"n": 20, "K": 5, "zipf": 1.0}, generations=(1, 2, 5, 10), share=0.05,
                             per_variant=lambda v: {"real_fraction": 0.25} if v["workflow"] == "real-fraction" else {},
                             note="bridge: " + _OPT_NOTE + "; truth Zipf(1) over K = 5")),)),
        "lost_rarest": Metric("whether the trained probability of the truth's rarest symbol is below lost_below",
                              "lost_rarest", links=(
            Link("categorical.loss_probability", "t", (Bind("n"), Bind("p", derive=lambda s: float(_p0(s)[-1]))),
                 when={"workflow": "replace", **_PLAIN},
                 check=Check({"n": 100, "probabilities": (0.6, 0.39, 0.01)}, generations=(1, 10, 50), share=0.05,
                             note="bridge: " + _OPT_NOTE.replace("at this point", "at the diversity's point") +
                                  "; the rarest symbol, p = 0.01")),)),
        "surviving": Metric("symbols whose trained probability is at least lost_below", "surviving", links=(
            Link("categorical.surviving_symbols", "t",
                 (Bind("n"), Bind("probabilities", derive=lambda s: list(_p0(s)))),
                 when={"workflow": "replace", **_PLAIN},
                 check=Check({"n": 20, "K": 8, "zipf": 1.0}, generations=(1, 5, 20), share=0.05,
                             note="bridge: " + _OPT_NOTE.replace("at this point", "at the diversity's point") +
                                  "; truth Zipf(1) over K = 8")),)),
        "diversity": Metric("D_t = 1 - sum q^2 of the trained probabilities", "diversity"),
        "diversity_freq": Metric("1 - sum f^2 of the training set's frequencies (the model's optimum)",
                                 "diversity_freq"),
        "opt_error": Metric("optimisation error: total variation (1/2) sum |q - f| between the trained probabilities "
                            "and the training frequencies", "opt_error"),
        "opt_error_max": Metric("optimisation error: max_j |q_j - f_j|", "opt_error_max"),
    },
    memory=lambda p, G: 8.0 * 40 * (p["n"] * (G if p["workflow"].startswith("accumulate") else 3) + 8 * p["K"]),
    # Measured: 1,000 seeds x 300 full-batch steps x 10 generations at n = 20 took 5.1 s, about 1.7 draws'
    # worth of time (2e7 draws a second) per seed, step and point.
    work=lambda p, G: 1.7 * p["steps"] * p["n"] * (G / 2 if p["workflow"].startswith("accumulate") else 1) * G,
    quantities=True,
    checkpoints=True,
), _MODULE)




# -- lm-text -------------------------------------------------------------------------------------------

class PathSetting(Setting):
    """A setting that is a path to a corpus (a file or folder that must exist)."""

    def check(self, name, value):
        if value is None and self.default is None:
            return None
        if not isinstance(value, str) or not value:
            raise SettingError(f"{name} must be a path to a UTF-8 file or folder, got {value!r}")
        if not os.path.exists(value):
            hint = f"; {corpus.KJV_HINT}" if "kjv" in os.path.basename(value).lower() else ""
            raise SettingError(f"{name}: corpus {value!r} not found{hint}")
        return value

    def describe(self) -> str:
        return f"{self.doc} (path, {'required' if self.default is catalog.REQUIRED else f'default {self.default}'})"


def text_chains(trials, rng, *, generations, checkpoint=None, quantities=None, **settings):
    """lm-text: ``trials`` seeds of a language model refitted on its own text, starting from a corpus."""
    setup_threads(1)
    p = dict(settings)
    text = corpus.Corpus.from_path(p["corpus"], p["heldout"])
    order = 2 if p["model_order"] is None else p["model_order"]
    spec = fam.ModelSpec(p["model"], order, p["width"], p["layers"], p["heads"])
    family = fam.LanguageFamily(fam.Text(text), spec, _flow(p), replicas=trials, window=p["window"],
                                budget=_budget(p), sampling=_sampling(p), warm_start=p["warm_start"],
                                eval_windows=p["eval_windows"])
    return _run("lm-text", family, _flow(p), p, trials, rng, generations, checkpoint, quantities)


register(Simulator(
    name="lm-text",
    target=f"{_MODULE}:text_chains",
    doc="a character-level language model (neural n-gram or small transformer) refitted on its own text, "
        "starting from a UTF-8 corpus (the King James Bible: bible -f \"Gen1:1-Rev22:21\" > kjv.txt)",
    settings={
        "corpus": PathSetting("path", doc="the corpus: a UTF-8 file or a folder of them (character level)"),
        "heldout": Setting("float", 0.1, "share of the text (its end) held out for the cross-entropy", low=0,
                           high=0.9, open_low=True),
        "n": Setting("int", 256, "real windows (and windows sampled per generation)", low=2),
        "window": Setting("int", 64, "characters per window (the transformer's context)", low=2),
        "workflow": _WORKFLOW, **_SIZES, **_MODEL, **_TRAINING, **_SAMPLING,
        "eval_windows": Setting("int", 256, "held-out windows per replica for the cross-entropy", low=2),
    },
    metrics=_lm_metrics(truth=False),
    memory=_lm_memory,
    work=_lm_work,
    quantities=True,
    checkpoints=True,
), _MODULE)
