"""A pytest plugin for statistical tests: the ``collapse_seed`` fixture and a seed-sweep mode.

Installed with the package (entry point ``pytest11``), so a researcher's own test suite gets it too.
A test that takes ``collapse_seed`` runs with one fixed seed (0) by default; with
``pytest --collapse-seeds=0-99`` (or ``COLLAPSE_SEEDS=0-99``; also ``all`` for 0-99, or a list
``1,5,7``) it runs once per seed, so that a statistical test can be shown to fail at its stated rate
and no more (scikit-learn's ``global_random_seed`` is the model). Failures report the seed.
"""

from __future__ import annotations

import os

import pytest

ENV = "COLLAPSE_SEEDS"
DEFAULT_SEED = 0


def parse_seeds(text: str | None) -> list[int]:
    """'all' (0-99), a range 'a-b', a list 'a,b,c', or one seed; None or '' gives the default seed."""
    if not text:
        return [DEFAULT_SEED]
    text = text.strip()
    if text == "all":
        return list(range(100))
    seeds: list[int] = []
    for part in text.split(","):
        lo, sep, hi = part.strip().partition("-")
        try:
            seeds += list(range(int(lo), int(hi) + 1)) if sep else [int(lo)]
        except ValueError:
            raise pytest.UsageError(f"--collapse-seeds: cannot read {part!r} (give all, a-b, or a,b,c)") from None
    if not seeds or min(seeds) < 0:
        raise pytest.UsageError(f"--collapse-seeds: seeds must be non-negative integers, got {text!r}")
    return seeds


def pytest_addoption(parser):
    parser.addoption("--collapse-seeds", default=None,
                     help="seeds of the collapse_seed fixture: all (0-99), a-b, or a,b,c (default: 0; or $COLLAPSE_SEEDS)")


def pytest_generate_tests(metafunc):
    if "collapse_seed" in metafunc.fixturenames:
        text = metafunc.config.getoption("--collapse-seeds") or os.environ.get(ENV)
        seeds = parse_seeds(text)
        metafunc.parametrize("collapse_seed", seeds, ids=[f"seed{s}" for s in seeds])
