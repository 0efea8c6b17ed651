"""What the language simulators' settings name and check, without torch: the models, the sampling rules and
their parameters' check, the perplexity histograms' metric names, the corpus hint.

The catalog declares the simulators (deep.language.simulators) by importing their settings; keeping what
those settings need here lets a process find the claims' checks without importing torch (seconds), which
only the processes that run a language model import.
"""

from __future__ import annotations

import math

#: The language models (deep.language.models).
MODELS = ("ngram", "transformer")
#: The sampling rules of synthetic text (deep.language.models.Sampling).
RULES = ("ancestral", "temperature", "top-k", "top-p", "beam")
#: Bins of the log-perplexity histograms (deep.language.family).
HIST_BINS = 20
KJV_HINT = 'the King James Bible: apt-get install bible-kjv, then bible -f "Gen1:1-Rev22:21" > kjv.txt'


def hist_names(prefix: str) -> list[str]:
    return [f"{prefix}_hist_{b:02d}" for b in range(HIST_BINS)]


def _count(value, low: int) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and int(value) == value and value >= low


def check_sampling(rule: str, temperature, top_k, top_p, beams, repetition_penalty, no_repeat_ngram, prefix) -> None:
    """Refuse a sampling rule or parameter that is out of range (ValueError naming it)."""
    if rule not in RULES:
        raise ValueError(f"rule must be one of {', '.join(RULES)}, got {rule!r}")
    if not (isinstance(temperature, (int, float)) and 0 < temperature < math.inf):
        raise ValueError(f"temperature must be a positive number, got {temperature!r}")
    if rule == "top-k" and (isinstance(top_k, bool) or int(top_k) != top_k or top_k < 1):
        raise ValueError(f"top_k must be an integer >= 1 for rule 'top-k', got {top_k!r}")
    if rule == "top-p" and not (isinstance(top_p, (int, float)) and 0 < top_p <= 1):
        raise ValueError(f"top_p must be in (0, 1] for rule 'top-p', got {top_p!r}")
    if not _count(beams, 1):
        raise ValueError(f"beams must be an integer >= 1, got {beams!r}")
    if isinstance(repetition_penalty, bool) or not (isinstance(repetition_penalty, (int, float))
                                                    and 0 < repetition_penalty < math.inf):
        raise ValueError(f"repetition_penalty must be a positive number (1: off), got {repetition_penalty!r}")
    for name, value in (("no_repeat_ngram", no_repeat_ngram), ("prefix", prefix)):
        if not _count(value, 0):
            raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
