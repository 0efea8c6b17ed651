"""The six named workflows give the numbers they gave before workflows became data (issue 19).

Each case runs a simulator (every numpy family, and tiny deep ones in the slow tier) under a named workflow
at a fixed seed; its outputs were recorded into named_workflows.json from the code before
``numerics.workflows`` was driven by ``theory.workflows.WorkflowSpec`` (branch main at ff0c7a5). The plans
themselves (batches and drawn rows, integers) must match exactly; the outputs to 1e-9 relative (the same
draws give the same numbers up to the rounding of the machine's BLAS; different draws differ at O(1)).

Re-record only on purpose (a change that is meant to change the draws): ``python
tests/numerics/test_named_workflows.py --record``.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from theory.workflows import WORKFLOWS

BASELINE = Path(__file__).with_name("named_workflows.json")
RF = 0.5  # the real-fraction share of the cases (Python's round: 3 of 6 rows)


def _wf(name: str, **extra) -> dict:
    return {"workflow": name, **({"real_fraction": RF} if name == "real-fraction" else {}), **extra}


def numpy_cases() -> dict:
    """Name -> (simulator, trials, generations, settings): every numpy family x named workflow."""
    cases = {}
    for w in WORKFLOWS:
        for d in (1, 3):
            cases[f"gaussian-d{d}-{w}"] = ("gaussian", 5, 4, {"d": d, "n": 6, **_wf(w)})
        cases[f"categorical-{w}"] = ("categorical", 5, 4, {"n": 8, "K": 4, **_wf(w)})
        cases[f"logistic-{w}"] = ("logistic", 3, 3, {"n": 300, **_wf(w)})
        if w != "real-fraction":
            cases[f"regression-{w}"] = ("regression", 5, 4, {"d": 2, "T": 6, "workflow": w})
            cases[f"regression-loop-{w}"] = ("regression", 5, 4,
                                             {"d": 2, "T": 6, "workflow": w, "shortcut": False})
            cases[f"regression-fresh-{w}"] = ("regression", 5, 4,
                                              {"d": 2, "T": 6, "workflow": w, "design": "fresh"})
        if w in ("replace", "accumulate", "accumulate-subsample", "accumulate-subsample-replacement"):
            cases[f"kde-{w}"] = ("kde", 5, 4, {"n": 6, "h": 0.5, "workflow": w})
            cases[f"kde-scott-{w}"] = ("kde", 5, 4, {"n": 6, "bandwidth": "scott", "workflow": w})
    # the sizes and options of the workflows
    cases["gaussian-sufficient-replace"] = ("gaussian", 5, 4, {"d": 3, "n": 6, "workflow": "replace",
                                                                       "sampler": "sufficient"})
    cases["gaussian-sufficient-accumulate"] = ("gaussian", 5, 4, {"d": 2, "n": 6, "workflow": "accumulate",
                                                                          "sampler": "sufficient"})
    cases["gaussian-alpha-accumulate"] = ("gaussian", 5, 4, {"n": 6, "workflow": "accumulate", "alpha": 0.5})
    cases["gaussian-synthetic-rps"] = ("gaussian", 5, 4, {"n": 6, "workflow": "real-plus-synthetic",
                                                                 "synthetic": 9})
    cases["gaussian-train-size-sub"] = ("gaussian", 5, 4, {"n": 6, "workflow": "accumulate-subsample",
                                                                  "train_size": 4})
    cases["gaussian-train-size-rf"] = ("gaussian", 5, 4, {"n": 6, "workflow": "real-fraction",
                                                                 "real_fraction": 0.3, "train_size": 10})
    cases["gaussian-rf0"] = ("gaussian", 5, 4, {"n": 6, "workflow": "real-fraction", "real_fraction": 0.0})
    cases["gaussian-bootstrap-subrep"] = ("gaussian", 5, 4, {"n": 6, "first_fit": "bootstrap",
                                                                    "workflow": "accumulate-subsample-replacement"})
    cases["gaussian-unbiased-sub"] = ("gaussian", 5, 4, {"d": 2, "n": 6, "estimator": "unbiased",
                                                                "workflow": "accumulate-subsample"})
    cases["categorical-counts-replace"] = ("categorical", 5, 4, {"n": 8, "workflow": "replace",
                                                                        "sampler": "counts"})
    cases["categorical-counts-accumulate"] = ("categorical", 5, 4, {"n": 8, "workflow": "accumulate",
                                                                           "sampler": "counts"})
    cases["categorical-synthetic-accumulate"] = ("categorical", 5, 4, {"n": 8, "workflow": "accumulate",
                                                                              "synthetic": 3})
    cases["logistic-alpha-accumulate"] = ("logistic", 3, 3, {"n": 300, "workflow": "accumulate", "alpha": 0.5})
    cases["logistic-bootstrap-replace"] = ("logistic", 3, 3, {"n": 300, "workflow": "replace",
                                                                     "first_fit": "bootstrap"})
    cases["ridge"] = ("ridge", 5, 3, {"d": 3, "T": 8, "T0": 6})
    cases["min-norm"] = ("min-norm", 5, 3, {"d": 5, "T0": 3, "shortcut": False})  # the plain loop (the driver)
    return cases


def deep_cases() -> dict:
    """Tiny deep runs: the bridge, a VAE on digits, the n-gram and the unigram bridge, under each named workflow."""
    cases = {}
    for w in WORKFLOWS:
        if w in ("replace", "accumulate", "accumulate-subsample"):
            cases[f"bridge-{w}"] = ("bridge", 3, 3, {"d": 2, "n": 8, "steps": 30, "workflow": w})
        cases[f"vae-{w}"] = ("images", 2, 3, {"n": 64, "budget": "steps", "steps": 4, "batch": 16,
                                                         "hidden": 16, "latent": 2, "samples": 16, **_wf(w)})
        cases[f"ngram-{w}"] = ("lm-markov", 2, 3, {"n": 16, "window": 8, "budget": "steps", "steps": 5,
                                                          "eval_windows": 8, **_wf(w)})
        cases[f"unigram-{w}"] = ("lm-bridge", 3, 3, {"n": 12, "K": 4, "steps": 20, **_wf(w)})
    return cases


def checksums(out: dict) -> dict:
    """Per output: the sum of its finite values, their sum weighted by position, and where it is not finite."""
    sums = {}
    for k in sorted(out):
        v = np.asarray(out[k], dtype=float)
        finite = np.isfinite(v)
        w = np.where(finite, v, 0.0)
        sums[k] = [float(w.sum()), float((w.ravel() * np.arange(1, w.size + 1)).sum()),
                   hashlib.sha256(np.packbits(~finite).tobytes() + str(v.shape).encode()).hexdigest()[:16]]
    return sums


def run_case(case) -> dict:
    """Every output a case's simulator records (all its metrics asked for), at the cases' seed."""
    from numerics import catalog

    name, trials, generations, settings = case
    sim = catalog.get(name)
    return sim.call(trials, np.random.default_rng(20240619), sim.resolve(settings), generations, tuple(sim.metrics))


def plan_trace() -> dict:
    """Name -> the SHA-256 of every plan (batches, row counts, drawn rows) of a named workflow over 5
    generations with its sizes: integers, so they must match exactly on any machine."""
    from numerics.workflows import ArrayPool, workflow_of

    variants = {
        "plain": {}, "train4": {"train_size": 4}, "synthetic3": {"synthetic": 3}, "alpha": {"alpha": 1.5},
        "bootstrap": {"first_fit": "bootstrap"},
    }
    out = {}
    for w in WORKFLOWS:
        for tag, kw in variants.items():
            kw = dict(kw)
            if w == "real-fraction":
                kw.pop("synthetic", None)
                kw.pop("alpha", None)
                kw["real_fraction"] = 0.4
            try:
                flow = workflow_of(w, 6, **kw)
            except ValueError:
                continue
            rng = np.random.default_rng(7)
            R, G = 3, 5
            pool = ArrayPool(np.zeros((R, 6, 1)), flow, G)
            h = hashlib.sha256()
            for g in range(1, G + 1):
                if g > 1:
                    pool.add(np.zeros((R, flow.synthetic_size(g), 1)))
                plan = flow.plan(g, pool.sizes, rng, R)
                for p in plan.parts:
                    h.update(repr((p.batches, p.count)).encode())
                    if p.rows is not None:
                        h.update(np.ascontiguousarray(p.rows, dtype=np.int64).tobytes())
                h.update(repr(pool.sizes).encode())
            out[f"{w}-{tag}"] = h.hexdigest()
    return out


def _baseline() -> dict:
    return json.loads(BASELINE.read_text())


def test_plans_of_the_named_workflows_are_unchanged():
    assert plan_trace() == _baseline()["plans"]


def _compare(name: str, case) -> None:
    want = _baseline()["outputs"][name]
    got = checksums(run_case(case))
    assert sorted(got) == sorted(want), name
    for k in want:
        np.testing.assert_allclose(got[k][:2], want[k][:2], rtol=1e-9, atol=1e-12, err_msg=f"{name}: {k}")
        assert got[k][2] == want[k][2], f"{name}: {k} is finite in other places"


@pytest.mark.parametrize("name", sorted(numpy_cases()))
def test_numpy_families_under_named_workflows_are_unchanged(name):
    _compare(name, numpy_cases()[name])


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(deep_cases()))
def test_deep_families_under_named_workflows_are_unchanged(name):
    pytest.importorskip("torch")
    _compare(name, deep_cases()[name])


if __name__ == "__main__" and "--record" in sys.argv:
    record = {"plans": plan_trace(), "outputs": {}}
    for group in (numpy_cases(), deep_cases()):
        for name, case in group.items():
            record["outputs"][name] = checksums(run_case(case))
    BASELINE.write_text(json.dumps(record, indent=0, sort_keys=True) + "\n")
    print(f"recorded {len(record['outputs'])} cases and {len(record['plans'])} plan traces into {BASELINE}")
