"""The shipped language-model configurations run under `collapse sweep`'s runner: each at a tiny size (its
sizes overridden, every other key as shipped: simulator, grid, metrics, the [report] and [figure] tables), since
the full sizes take minutes to an hour. The KJV ones read a small text instead of kjv.txt, so that these tests
pass without the bible-kjv package."""

import tomllib
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from deep.language import simulators  # noqa: E402,F401  (registers the simulators)
from numerics.config import Config, ConfigError, shipped  # noqa: E402
from numerics.sweep import read_results, run_sweep  # noqa: E402

CONFIGS = Path(__file__).resolve().parents[2] / "deep" / "configs"
CORPUS = Path(__file__).resolve().parent / "corpus.txt"
#: The sizes each run is cut to (the model's shape kept small too: the transformer configs' widths are minutes).
TINY = {"n": 8, "window": 8, "steps": 3, "batch": 4, "eval_windows": 4}
TRANSFORMER = {"width": 8, "layers": 1, "heads": 1}
NAMES = ["deep-markov-sampling", "deep-kjv-transformer", "deep-survey-fig3"]


def tiny(name: str) -> dict:
    data = tomllib.loads((CONFIGS / f"{name}.toml").read_text())
    fixed = {**data["fixed"], **{k: v for k, v in TINY.items() if k not in data.get("grid", {})}}
    if fixed.get("model") == "transformer":
        fixed.update(TRANSFORMER)
    if "corpus" in fixed:
        fixed["corpus"] = str(CORPUS)
    return {**data, "generations": 2, "trials": 2, "fixed": fixed}


@pytest.mark.parametrize("name", NAMES)
def test_the_config_is_shipped_and_runs_at_a_tiny_size(name, tmp_path):
    assert name in shipped()
    data = tiny(name)
    config = Config.from_dict(data, source=f"{name}.toml")
    path = tmp_path / f"{name}.parquet"
    run_sweep(config, path, jobs=1, progress=False)
    table = read_results(path)
    cells = 1
    for values in data.get("grid", {}).values():
        cells *= len(values)
    assert table["cell"].nunique() == cells
    assert set(table["metric"]) == set(data["metrics"])
    assert sorted(table["generation"].unique()) == [1, 2]
    shown = set(data.get("figure", {}).get("metrics", [])) | set(data.get("report", {}).get("metrics", []))
    assert shown <= set(table["metric"])


@pytest.mark.parametrize("name", ["deep-kjv-transformer", "deep-survey-fig3"])
def test_without_kjv_txt_loading_is_refused_at_once_with_the_command_that_writes_it(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no kjv.txt here
    with pytest.raises(ConfigError, match='bible -f "Gen1:1-Rev22:21"'):
        Config.from_toml(CONFIGS / f"{name}.toml")
