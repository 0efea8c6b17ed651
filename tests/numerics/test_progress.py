"""Progress of a run on stderr when it is not a terminal (numerics.execute.Progress): plain lines at a low rate,
the first at the start where the run is estimated long, else once it has run a few seconds; none with
--no-progress, and none from a run that ends before then (the test output stays clean). And the time
estimate's per-cell work of a sweep's parent (the theory column)."""

from __future__ import annotations

import re
import time

import pytest

from numerics import execute
from numerics.execute import Cell, Progress, Serial

LINE = re.compile(r"^cells: \d+ of 3 done, \d+ s spent, (about|estimated) \d+ s left$")


def test_a_run_estimated_long_says_so_at_the_start_then_at_a_low_rate(capsys, monkeypatch):
    monkeypatch.setattr(Progress, "EVERY", 0.01)
    bar = Progress(30.0, 3, "cells", True, seconds=100.0)
    first = capsys.readouterr().err.splitlines()
    assert len(first) == 1 and first[0].startswith("cells: 0 of 3 done, 0 s spent, estimated 100 s left")
    bar.update(10.0, 1)
    deadline = time.monotonic() + 30
    lines: list[str] = []
    while not any(x.startswith("cells: 1 of 3 done") for x in lines) and time.monotonic() < deadline:
        time.sleep(0.02)  # the ticker's lines (every 0.01 s here)
        lines += capsys.readouterr().err.splitlines()
    bar.close()
    assert lines and all(LINE.match(x) for x in lines), lines
    assert "about" in [x for x in lines if x.startswith("cells: 1 of 3 done")][0]
    assert not bar.ticker.is_alive()


def test_a_run_not_estimated_long_prints_once_it_has_run_a_while(capsys, monkeypatch):
    monkeypatch.setattr(Progress, "FIRST", 0.01)
    bar = Progress(30.0, 3, "cells", True, seconds=None)
    assert capsys.readouterr().err == ""  # nothing at the start
    deadline = time.monotonic() + 30
    err = ""
    while not err and time.monotonic() < deadline:
        time.sleep(0.02)
        err = capsys.readouterr().err
    bar.close()
    assert err.splitlines()[0] == "cells: 0 of 3 done, 0 s spent, none finished yet"


def test_the_time_left_is_from_the_share_of_the_work_done():
    bar = Progress(100.0, 3, "cells", True, seconds=1000.0)
    try:
        bar.start -= 60  # a minute in
        bar.update(25.0, 1)
        assert bar.line() == "cells: 1 of 3 done, 60 s spent, about 3 min left"
    finally:
        bar.close()


def test_disabled_or_quick_runs_print_nothing(capsys):
    bar = Progress(30.0, 3, "cells", False, seconds=1e6)
    bar.update(30.0, 3)
    bar.close()
    assert bar.ticker is None
    cell = Cell.make("gaussian", {"d": 1, "n": 5, "workflow": "replace"}, 3, ("mean_sq_error",), 20)
    execute.run_cells([cell], 0, Serial(), progress=True)  # milliseconds: under Progress.FIRST
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("flag", [[], ["--no-progress"]])
def test_the_command_line_shows_progress_unless_told_not_to(capsys, monkeypatch, flag):
    from collapse.cli import main

    monkeypatch.setattr(Progress, "FIRST", 0.0)  # every run is "long": its first line comes at the start
    assert main(["verify", "regression.accumulate", "--trials", "200", "--jobs", "1", *flag]) in (0, 1)
    progress = [x for x in capsys.readouterr().err.splitlines() if x.startswith("simulations: ")]
    assert bool(progress) == (not flag), progress


def test_a_sweep_s_estimate_counts_its_theory_column_per_generation(monkeypatch, tmp_path):
    cells = [Cell.make("gaussian", {"d": 1, "n": 5, "workflow": "replace"}, g, ("mean_sq_error",), 20) for g in (10, 30)]
    plain = execute.estimate(cells).work
    assert execute.estimate(cells, execute.THEORY_SECONDS).work == pytest.approx(plain + 40 * execute.THEORY_SECONDS)

    class Sized(Exception):
        pass

    def check_resources(*args, **kwargs):
        raise Sized(kwargs)

    from numerics.config import Config
    from numerics.sweep import run_sweep

    monkeypatch.setattr("numerics.sweep.check_resources", check_resources)
    config = Config.from_dict({"simulator": "gaussian", "generations": 3, "trials": 10, "seed": 0,
                               "metrics": ["mean_sq_error"], "fixed": {"workflow": "replace", "d": 1, "n": 5}})
    with pytest.raises(Sized) as e:
        run_sweep(config, tmp_path / "r", progress=False, jobs=1)
    assert e.value.args[0]["per_generation"] == execute.THEORY_SECONDS
