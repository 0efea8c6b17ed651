"""Image models through the driver: every workflow runs, metrics are what they say, a killed run resumes
to identical numbers, a damaged or foreign checkpoint is one clear line."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")

from numerics import catalog  # noqa: E402
from numerics import checkpoint as ckpt  # noqa: E402
from numerics.checkpoint import CheckpointError  # noqa: E402

TINY = {"n": 60, "epochs": 1.0, "batch": 30, "hidden": 16, "latent": 2, "samples": 40}
ALL = ["train_loss", "train_floor", "train_excess", "test_loss", "test_recon", "latent_spread", "class_entropy",
       "min_share", "rare_mass", "frechet"] + [f"share_{c}" for c in range(10)]


def _run(seed=0, generations=3, checkpoint=None, trials=2, **kw):
    sim = catalog.get("images")
    settings = sim.resolve({**TINY, **kw})
    return sim.call(trials, np.random.default_rng(seed), settings, generations, ALL, checkpoint=checkpoint)


@pytest.mark.parametrize("kw", [
    {"workflow": "replace"},
    {"workflow": "accumulate", "model": "ae"},
    {"workflow": "accumulate-subsample", "rule": "mean"},
    {"workflow": "real-fraction", "real_fraction": 0.5, "model": "ae", "rule": "perturbed-codes"},
    {"workflow": "real-plus-synthetic", "decoder": "gaussian", "warm_start": True},
    {"workflow": "replace", "budget": "steps", "steps": 3},
])
def test_every_workflow_and_rule_runs(kw):
    out = _run(**kw)
    for name in ALL:
        assert out[name].shape == (2, 3), name
    shares = sum(out[f"share_{c}"] for c in range(10))
    np.testing.assert_allclose(shares, 1.0, atol=1e-12)
    assert np.isfinite(out["test_loss"]).all() and np.isfinite(out["frechet"]).all()
    if kw.get("decoder") == "gaussian":
        assert np.isnan(out["train_floor"]).all()  # a Gaussian likelihood has no floor
    else:
        assert (out["train_excess"] >= -1e-6).all()  # no model beats the floor of its own training set


def test_the_floor_is_the_entropy_of_grey_training_pixels():
    """Generation 1 trains on the grey real digits (floor > 0); ancestral Bernoulli samples are binary (floor 0),
    decoder means are grey again: the survey's 'train loss rises under replace' depends on the rule."""
    anc = _run(rule="ancestral")
    mean = _run(rule="mean")
    assert (anc["train_floor"][:, 0] > 5).all() and (anc["train_floor"][:, 1:] == 0).all()
    assert (mean["train_floor"][:, 1:] > 0).all()


def test_a_killed_run_resumes_to_identical_metrics(tmp_path, monkeypatch):
    whole = _run(generations=3, workflow="accumulate")
    path = tmp_path / "run.ckpt"
    saved = []
    real_save = ckpt.save

    def dying_save(p, header, family, chain, rng):
        real_save(p, header, family, chain, rng)
        saved.append(chain.done)
        if chain.done == 2:
            raise KeyboardInterrupt  # killed right after generation 2 was saved

    monkeypatch.setattr(ckpt, "save", dying_save)
    with pytest.raises(KeyboardInterrupt):
        _run(generations=3, workflow="accumulate", checkpoint=str(path))
    monkeypatch.setattr(ckpt, "save", real_save)
    resumed = _run(generations=3, workflow="accumulate", checkpoint=str(path))
    assert saved == [1, 2]
    for name in ALL:
        np.testing.assert_array_equal(resumed[name], whole[name], err_msg=name)
    again = _run(generations=3, workflow="accumulate", checkpoint=str(path))  # finished: read back, nothing rerun
    np.testing.assert_array_equal(again["frechet"], whole["frechet"])


def test_damaged_and_foreign_checkpoints_are_one_line(tmp_path):
    path = tmp_path / "run.ckpt"
    _run(generations=1, checkpoint=str(path))
    with pytest.raises(CheckpointError, match="belongs to another run .*differs in settings"):
        _run(generations=1, checkpoint=str(path), lr=0.01)
    with pytest.raises(CheckpointError, match="belongs to another run .*seed"):
        _run(seed=1, generations=1, checkpoint=str(path))
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(CheckpointError, match="damaged or not a checkpoint"):
        _run(generations=1, checkpoint=str(path))
    path.write_bytes(b"hello")
    with pytest.raises(CheckpointError, match="damaged or not a checkpoint"):
        _run(generations=1, checkpoint=str(path))


@pytest.mark.parametrize("kw,message", [
    ({"model": "ae", "rule": "mean"}, "rule must be one of 'gaussian-codes', 'perturbed-codes'|rule must be one of"),
    ({"data": "teacher"}, "use decoder='gaussian'"),
    ({"n": 5000}, "n must be at most 1500"),
    ({"workflow": "real-fraction"}, "real_fraction must be in"),
])
def test_bad_settings_are_one_clear_error(kw, message):
    with pytest.raises(ValueError, match=message):
        _run(generations=1, **kw)


def test_teacher_data_give_exact_log_densities():
    out = catalog.get("images").call(2, np.random.default_rng(0), catalog.get("images").resolve(
        {**TINY, "data": "teacher", "decoder": "gaussian", "teacher_weights": "zipf"}), 2,
        ["teacher_logp", "teacher_tail"])
    assert np.isfinite(out["teacher_logp"]).all() and ((out["teacher_tail"] >= 0) & (out["teacher_tail"] <= 1)).all()
