"""The known-truth figures: the truth's entropy rate as the entropy panel's line, from a stored sweep."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from deep.language import figures  # noqa: E402
from deep.language import simulators  # noqa: E402,F401  (registers the simulators)
from deep.language.markov import MarkovLanguage  # noqa: E402
from numerics.config import Config  # noqa: E402
from numerics.sweep import read_results, run_sweep  # noqa: E402


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A tiny lm-markov sweep over two truths (language_seed 0 and 3) and two sampling rules."""
    config = Config.from_dict({
        "simulator": "lm-markov", "generations": 2, "trials": 2, "seed": 0,
        "metrics": ["kl_rate", "entropy_rate"],
        "fixed": {"V": 4, "order": 1, "n": 16, "window": 8, "steps": 10, "batch": 8, "eval_windows": 8},
        "grid": {"language_seed": [0, 3], "rule": ["ancestral", "beam"]},
        "description": "tiny",
    }, source="tiny.toml")
    path = tmp_path_factory.mktemp("markov") / "tiny.parquet"
    run_sweep(config, path, jobs=1, progress=False)
    return path


def test_the_entropy_rows_carry_each_cells_truth_and_nothing_else_changes(store):
    table = read_results(store)
    out = figures.with_truth(table)
    rows = out["metric"] == "entropy_rate"
    for seed in (0, 3):
        truth = MarkovLanguage(4, 1, 1.0, np.random.default_rng(seed)).entropy_rate()
        at = out[rows & (out["language_seed"] == seed)]
        assert np.allclose(at["theory"], truth, rtol=0, atol=1e-12)
        assert set(at["claim"]) == {figures.TRUTH_CLAIM}
    truths = out[rows].groupby("language_seed")["theory"].first()
    assert truths[0] != truths[3]  # each cell its own truth, not one value for all
    other = ~rows
    assert out[other]["theory"].isna().all() and (out[other]["claim"] == table[other]["claim"]).all()
    assert table[rows]["theory"].isna().all()  # the stored table is left as it was


def test_the_documented_truth_entropy_rate():
    """deep-markov's truth (V = 8, order 2, Zipf(1), language_seed 0): 1.8158 nats per token, as the configs
    and the documentation state."""
    assert round(MarkovLanguage(8, 2, 1.0, np.random.default_rng(0)).entropy_rate(), 4) == 1.8158


def test_the_figure_is_drawn_from_the_store(store, tmp_path):
    paths = figures.markov_figure(store, tmp_path / "fig", {"metrics": ["entropy_rate"], "hue": "rule",
                                                            "facet": "language_seed"}, formats=("png",))
    assert [p.suffix for p in paths] == [".png"] and paths[0].stat().st_size > 10_000


def test_a_store_without_a_known_truth_is_refused(store):
    table = read_results(store).drop(columns=["language_seed"])
    with pytest.raises(ValueError, match="language_seed"):
        figures.with_truth(table)
