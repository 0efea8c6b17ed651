"""A deep sweep killed in the middle of a cell resumes from that cell's last checkpoint to the table of an
uninterrupted run, and leaves its sample grids beside the store."""

import signal
import subprocess
import time

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")

from numerics import checkpoint as ckpt  # noqa: E402
from numerics.store import Store  # noqa: E402
from tests.numerics.test_sweep import _sweep_cmd as _cmd  # noqa: E402  (the same command line as the numpy sweeps')

CONFIG = """
description = "a tiny deep sweep to kill"
simulator = "images"
generations = 4
trials = 2
seed = 3
metrics = ["train_loss", "test_loss", "frechet", "latent_spread"]
[fixed]
n = 100
budget = "steps"
steps = 20
hidden = 16
latent = 2
samples = 50
[grid]
workflow = ["replace", "accumulate"]
"""


def test_a_deep_sweep_killed_inside_a_cell_resumes_to_identical_numbers(tmp_path):
    cfg = tmp_path / "d.toml"
    cfg.write_text(CONFIG)
    full = tmp_path / "full.parquet"
    subprocess.run(_cmd(cfg, full), check=True, capture_output=True, timeout=600)

    out = tmp_path / "killed.parquet"
    checkpoints = Store(out).parts / "checkpoints"
    proc = subprocess.Popen(_cmd(cfg, out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    done = 0
    while time.monotonic() < deadline and not 1 <= done <= 3:  # kill after generation 1, 2 or 3 of the first cell
        saved = list(checkpoints.glob("*.ckpt"))
        if saved:
            try:
                done = int(ckpt.read_raw(saved[0])[0]["tree"]["d"]["done"]["v"])
            except Exception:  # renamed into place between glob and load: look again
                pass
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not out.exists()
    # Mark generation 1 in the checkpoint: a rerun that resumes from it carries the mark, one that started
    # the cell again would not.
    doc, arrays = ckpt.read_raw(saved[0])
    done = int(doc["tree"]["d"]["done"]["v"])
    assert 1 <= done < 4, f"killed after generation {done}: not inside the cell"
    first = f"a{doc['tree']['d']['records']['d']['test_loss']['l'][0]['a']}"  # generation 1's test loss
    arrays[first] = np.full_like(arrays[first], -1.0)
    ckpt.write_raw(saved[0], doc, arrays)

    rerun = subprocess.run(_cmd(cfg, out), capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    resumed, uninterrupted = Store(out).read(), Store(full).read()
    marked = (resumed.metric == "test_loss") & (resumed.generation == 1) & (resumed.workflow == "replace")
    assert (resumed.loc[marked, "estimate"] == -1.0).all(), "the rerun did not resume from the checkpoint"
    resumed.loc[marked, ["estimate", "se"]] = uninterrupted.loc[marked, ["estimate", "se"]]
    assert resumed.equals(uninterrupted)  # every other number is the uninterrupted run's, bit for bit
    grids = sorted(p.name for p in out.with_name(out.stem + ".artifacts").rglob("*.png"))
    assert grids == ["classes.png", "classes.png", "samples.png", "samples.png"]


def test_a_config_is_checked_at_its_probe_budget_but_with_its_own_settings(monkeypatch):
    """Trying a deep config's cells (what a sweep does after sizing the run) runs each for one step (the
    schema's ``probe``), not its full budget, while a cell that is invalid at its own settings still fails."""
    from numerics import catalog
    from numerics.config import Config, ConfigError

    seen = []
    real = catalog.Simulator.call
    monkeypatch.setattr(catalog.Simulator, "call",
                        lambda self, trials, rng, settings, *a, **k: seen.append(dict(settings)) or real(self, trials, rng, settings, *a, **k))
    data = {"simulator": "lm-markov", "generations": 2, "trials": 2, "seed": 0, "metrics": ["kl_rate"],
            "fixed": {"model": "ngram", "steps": 600, "n": 64, "V": 4, "order": 1}}
    config = Config.from_dict(data)
    config.check_cells()
    assert [s["steps"] for s in seen] == [1] and config.fixed["steps"] == 600
    with pytest.raises(ConfigError, match="steps"):
        Config.from_dict({**data, "fixed": {**data["fixed"], "steps": 0}}).check_cells()
