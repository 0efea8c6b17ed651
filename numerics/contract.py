"""One contract every simulator is held to, the toolkit's and a plugin's alike (as scikit-learn's estimator
checks hold third-party estimators to its rules).

Subclass :class:`FamilyContract` in a test module, naming a simulator of the catalog and a small valid
cell; pytest collects the inherited tests::

    class TestPoissonFamily(FamilyContract):
        simulator = "poisson"
        settings = {"n": 10, "rate": 2.0}

The tests, at small sizes (a few seconds per simulator):

* outputs: one (trials, generations) array per metric, finite unless the metric says it may not be;
* randomness: the same seed gives the same bits, another seed other numbers, and a cell's blocks do not
  depend on how they are grouped (the block seeding of numerics.execute);
* workflows: every workflow the schema offers runs, or is refused in one line that names a setting;
* settings: an unknown setting and a bad value are refused in one line that names them;
* claims: every check of every claim of a quantity this simulator measures is built (verify never drops
  one) and passes at a small trial count (Holm within the simulator, family-wise ``alpha``), so a new
  simulator of a known quantity is held to its theory the day it is declared.

Exact shortcuts a family takes (sufficient statistics, batched solves) are tested equal to the plain
path by the family's own tests.
"""

from __future__ import annotations

import math

import numpy as np

from . import catalog, execute
from .schema import SettingError

#: Trials of the claims' check (a few thousand: power against gross errors, seconds of work).
CLAIM_TRIALS = 2000


class FamilyContract:
    """The contract (see the module docstring). Set ``simulator`` and ``settings``."""

    simulator: str = ""
    settings: dict = {}
    trials: int = 40
    generations: int = 3
    #: Family-wise level of the claims' check (small: these run in every test session).
    alpha: float = 1e-3
    #: Trials of the claims' check.
    claim_trials: int = CLAIM_TRIALS
    #: Metrics that may be NaN or infinite (a log of 0, a metric that needs settings the cell lacks).
    nonfinite: tuple[str, ...] = ()

    # -- helpers ----------------------------------------------------------------------------------
    @property
    def sim(self) -> catalog.Simulator:
        return catalog.get(self.simulator)

    def _run(self, settings=None, seed: int = 0, trials: int | None = None, generations: int | None = None,
             metrics=None) -> dict:
        sim = self.sim
        resolved = sim.resolve(self.settings if settings is None else settings)
        metrics = list(sim.metrics) if metrics is None else metrics
        out = sim.call(trials or self.trials, np.random.default_rng(seed), resolved, generations or self.generations,
                       metrics)
        config = sim.config(resolved)
        return {m: np.asarray(sim.metrics[m].values(out, config), dtype=float) for m in metrics}

    def _metrics_that_run(self) -> list[str]:
        self.sim.resolve(self.settings)  # the cell itself must be valid: its errors are not a metric's
        out = []
        for m in self.sim.metrics:
            try:
                self._run(metrics=[m], trials=2, generations=1)
            except (SettingError, ValueError, KeyError):  # a metric of other settings (cross_with, the teacher's)
                continue
            out.append(m)
        return out

    # -- the contract -------------------------------------------------------------------------------
    def test_outputs_have_one_column_per_generation_and_are_finite(self):
        metrics = self._metrics_that_run()
        assert metrics, "no metric runs at these settings"
        out = self._run(metrics=metrics)
        columns = self.generations + 1 - self.sim.first
        for m, v in out.items():
            assert v.shape == (self.trials, columns), (m, v.shape)
            if m not in self.nonfinite:
                assert np.isfinite(v).all(), f"{m} is not finite"

    def test_a_seed_gives_the_same_bits_and_another_other_numbers(self):
        metrics = self._metrics_that_run()
        a, b, c = self._run(seed=7, metrics=metrics), self._run(seed=7, metrics=metrics), self._run(seed=8, metrics=metrics)
        for m in metrics:
            np.testing.assert_array_equal(a[m], b[m], err_msg=m)
        assert any(not np.array_equal(a[m], c[m], equal_nan=True) for m in metrics), "seed 8 gave seed 7's numbers"

    def test_a_cells_blocks_do_not_depend_on_how_they_are_grouped(self):
        sim = self.sim
        settings = sim.resolve(self.settings)
        # Metrics undefined at these settings (``nonfinite``) are refused by a run (numerics.execute stores no
        # NaN a metric does not declare), so the blocks are compared on the others.
        metrics = tuple(m for m in self._metrics_that_run() if m not in self.nonfinite)
        size = sim.block_size(settings, self.generations)
        trials = min(2 * size, 2 * self.trials) if size > self.trials else size + 1  # two blocks at least
        whole = execute.run_blocks(sim.name, sim.provider, settings, self.generations, metrics, trials, 5, 0, 10)
        parts = [execute.run_blocks(sim.name, sim.provider, settings, self.generations, metrics, trials, 5, b, 1)[0]
                 for b in range(len(whole))]
        for w, p in zip(whole, parts):
            for m in metrics:
                np.testing.assert_array_equal(w[m].mean, p[m].mean, err_msg=m)

    def test_every_workflow_runs_or_is_refused_by_name(self):
        setting = self.sim.settings.get("workflow")
        if setting is None:
            return
        for workflow in setting.options:
            given = {**self.settings, "workflow": workflow}
            if workflow == "real-fraction" and "real_fraction" in self.sim.settings:
                given.setdefault("real_fraction", 0.5)
            try:
                out = self._run(given, metrics=self._metrics_that_run()[:1], generations=2)
            except SettingError as e:
                assert str(e) and "\n" not in str(e), workflow
                continue
            assert all(v.shape[0] == self.trials for v in out.values()), workflow

    def test_bad_settings_are_refused_by_name(self):
        sim = self.sim
        try:
            sim.resolve({**self.settings, "no_such_setting": 1})
        except SettingError as e:
            assert "no_such_setting" in str(e)
        else:
            raise AssertionError("an unknown setting was accepted")
        numeric = [k for k, s in sim.settings.items() if s.kind in ("int", "float") and s.low is not None]
        for k in numeric[:3]:
            try:
                sim.resolve({**self.settings, k: sim.settings[k].low - 1})
            except SettingError as e:
                assert k in str(e), (k, str(e))
            else:
                raise AssertionError(f"{k} below its bound was accepted")

    def test_the_claims_of_its_quantities_hold_at_a_small_size(self):
        from theory import CLAIMS

        from .verify import items_of, run

        quantities = {p.quantity for p in self.sim.produces}
        claims = [c.id for c in CLAIMS.values() if c.quantity in quantities and c.checks]
        items = [it for cid in claims for it in items_of(cid) if it.sim.name == self.simulator]
        if not items:
            return
        rows = run(items, trials=self.claim_trials, seed=0, alpha=self.alpha)
        failed = [f"{r.claim} ({r.variant}) at {r.generation}: theory {r.theory:.6g}, estimate {r.estimate:.6g} "
                  f"+- {r.se:.2g}" for r in rows if r.verdict == "FAIL"]
        assert not failed, "; ".join(failed)
        assert all(not math.isnan(r.estimate) for r in rows if r.verdict != "skip")
