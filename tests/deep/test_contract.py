"""Every deep simulator held to the one family contract (numerics.contract), at small sizes."""

from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("sklearn")

from numerics.contract import FamilyContract  # noqa: E402

CORPUS = Path(__file__).with_name("corpus.txt")


class TestImages(FamilyContract):
    simulator = "images"
    settings = {"n": 60, "budget": "steps", "steps": 5, "batch": 30, "hidden": 16, "latent": 2, "samples": 40}
    trials = 2
    nonfinite = ("train_floor",)  # NaN for a Gaussian decoder (no floor): not this cell's, but declared
    claim_trials = 100


class TestBridge(FamilyContract):
    simulator = "bridge"
    settings = {"d": 2, "n": 10, "steps": 100}
    trials = 8
    claim_trials = 1000  # 20 seeds of each bridge model: t tests, the optimisation error far below their se

    @pytest.mark.slow  # 500 Adam steps per fit and seed: about a minute; the default tier checks the structure
    def test_the_claims_of_its_quantities_hold_at_a_small_size(self):
        super().test_the_claims_of_its_quantities_hold_at_a_small_size()


class TestLanguageMarkov(FamilyContract):
    simulator = "lm-markov"
    settings = {"n": 16, "window": 8, "V": 4, "order": 1, "steps": 10, "batch": 8, "eval_windows": 16}
    trials = 2


class TestLanguageBridge(FamilyContract):
    simulator = "lm-bridge"
    settings = {"n": 20, "K": 5, "steps": 100}
    trials = 8
    claim_trials = 1000

    @pytest.mark.slow  # 300 full-batch steps per fit, 50 generations at n = 100: about a minute
    def test_the_claims_of_its_quantities_hold_at_a_small_size(self):
        super().test_the_claims_of_its_quantities_hold_at_a_small_size()


class TestLanguageText(FamilyContract):
    simulator = "lm-text"
    settings = {"corpus": str(CORPUS), "n": 16, "window": 12, "steps": 5, "batch": 8, "eval_windows": 8}
    trials = 2
