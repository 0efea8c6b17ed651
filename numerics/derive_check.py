"""`collapse derive --check`: a workflow's derived theory held against a simulation of the same workflow.

:mod:`theory.derive` gives exact values of a quantity for any declared workflow; here the workflow runs
through the simulator that measures that quantity (the same spec, through the one driver), and each
generation's derived value is tested against the simulated estimate as `collapse check` tests an
expression: z (or Student's t below :data:`numerics.stats.T_TEST_BELOW` trials), Holm's correction over
the generations, verdicts at family-wise alpha = :data:`numerics.defaults.ALPHA`.

Which simulator (:data:`SIMULATIONS`), and how exact it is:

* ``variance_ratio``: the Gaussian chain, d = 1, the ``variance_ratio`` metric (E (mu_k - mu_0)^2 /
  E (mu_1 - mu_0)^2), the *unbiased* variance estimator, n = 1000. The fitted mean is exactly the
  size-weighted average of its parts, so the derivation's linear combinations hold at every n; the one
  finite-n effect is that each batch is drawn with the fitted variance, not the truth's. With the
  unbiased estimator E sigma_k^2 = sigma^2 for a training set of one batch (replace: no correction at
  all); a training set of several parts adds their between-part spread, O(1/n) per generation. Measured
  (benchmarks/bench_derive_finite_n.py: 400,000 chains at n = 20, 200,000 at n = 100): the relative deviation of the
  simulated ratio from the derived one at k = 10 is at most 4.8% at n = 20 and 1.4% at n = 100 (10% fresh
  data; real-fraction 0.1 and a window of 3 less), and at k = 30 at most 21% at n = 20 and 3.8% at n = 100:
  about 1/n from n = 100 on. Carried to n = 1000 that is at most 0.14% (k <= 10) and 0.4% (k <= 30),
  against a relative standard error of about 1.3% at 20,000 trials: a ninth (a third) of a standard error.
  (The maximum-likelihood estimator shrinks the variance by (n - 1)/n per fit, a larger correction.)
* ``test_error``: Gerstgrasser et al.'s fixed-design OLS chain (d = 5, T = 20, sigma = 1), the
  ``test_error`` metric: the derivation is exact at finite T (no correction).
* ``diversity``: the categorical chain (n = 20, K = 5 Zipf(1) symbols), the ``diversity_ratio`` metric:
  exact at finite n.

``covariance`` has no simulator here (one line says so). A share of n that is not a whole number of rows
is rounded by the simulator (Python's round) and not by the derivation: that is said, once, as a warning.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from theory.errors import UsageError

#: For each quantity: the simulator, its metric, its settings (the workflow aside) and what the output says.
SIMULATIONS: dict[str, tuple[str, str, dict, str]] = {
    "variance_ratio": ("gaussian", "variance_ratio", {"d": 1, "n": 1000, "estimator": "unbiased", "sampler": "auto"},
                       "the Gaussian chain (d = 1, n = {n}, unbiased variance), E(mu_k - mu_0)^2 / "
                       "E(mu_1 - mu_0)^2; the n -> oo theory differs from it by O(k/n): at n = 1000 about 0.14% at "
                       "most for k <= 10 (docs/derive.md)"),
    "test_error": ("regression", "test_error", {"d": 5, "T": 20, "sigma": 1.0},
                   "Gerstgrasser et al.'s fixed-design OLS chain (d = {d}, T = {T}, sigma = {sigma}): exact at finite T"),
    "diversity": ("categorical", "diversity_ratio", {"n": 20, "K": 5, "zipf": 1.0},
                  "the categorical chain (n = {n}, K = {K} symbols, Zipf({zipf}) truth): exact at finite n"),
}
#: The derivation's symbols that a simulator's setting of the same name gives a value.
_SYMBOL_SETTINGS = ("n", "d", "T", "sigma")


@dataclass(frozen=True)
class Simulation:
    """A workflow's simulation for one quantity: the simulator, its metric and resolved settings, the
    values of the derivation's symbols there, and what the output says about the choice."""

    quantity: str
    simulator: str
    metric: str
    settings: dict
    values: dict = field(default_factory=dict)  # the derivation's parameters and sizes by name -> number
    alpha: object = 1  # the synthetic batch (a share of n) where the spec leaves it out
    note: str = ""
    warnings: tuple[str, ...] = ()


def simulation(spec, quantity: str, at: Mapping[str, object] | None = None,
               sizes: Mapping[str, object] | None = None, generations: int = 10) -> Simulation:
    """The simulation that measures ``quantity`` for the workflow ``spec`` (a WorkflowSpec).

    ``at`` holds the derivation's parameters (real_fraction, alpha: exact numbers or floats); ``sizes``
    replaces settings of :data:`SIMULATIONS` (tests run smaller chains). UsageError, one line, for a
    quantity with no simulator or a workflow the simulator cannot run with these values.
    """
    from . import catalog
    from .schema import SettingError

    if quantity not in SIMULATIONS:
        raise UsageError(f"--check: no simulator measures {quantity} of a declared workflow here "
                         f"(--check covers {', '.join(SIMULATIONS)})")
    name, metric, base, note = SIMULATIONS[quantity]
    at = dict(at or {})
    given = {**base, **(sizes or {})}
    values = {}
    for p in spec.params:
        if p not in at:
            raise UsageError(f"--check: workflow {spec.label} has the parameter {p}; give its value to simulate "
                             f"(--at {p}=0.1)")
        given[p] = float(at[p])
        values[p] = at[p]
    alpha = at.get("alpha", 1)
    size = given.get("n", given.get("T"))
    if alpha != 1:
        if spec.batch is not None:
            raise UsageError(f"--check: workflow {spec.label} sets its batch size; --at alpha does not apply")
        rows = alpha * size
        if not float(rows).is_integer():
            raise UsageError(f"--check: alpha = {alpha} gives {float(rows):g} synthetic rows at n = {size}; "
                             "give an alpha that makes whole rows")
        if name == "gaussian":
            given["alpha"] = float(alpha)
        else:
            given["synthetic"] = int(rows)
    sim = catalog.get(name)
    try:
        settings = sim.resolve({**given, "workflow": spec})
    except (SettingError, ValueError) as e:
        raise UsageError(f"--check: {name} cannot run workflow {spec.label}: {e}") from None
    values.update({k: settings[k] for k in _SYMBOL_SETTINGS if k in settings})
    warnings = _rounding(spec, size, values, generations)
    return Simulation(quantity, name, metric, settings, values, alpha, note.format(**settings), warnings)


def _rounding(spec, n: int, values: Mapping[str, object], generations: int) -> tuple[str, ...]:
    """Warnings for shares of n that are not whole rows at generations 2..``generations`` (the simulator
    rounds them; the derivation does not)."""
    import sympy as sp

    out = []
    shares = [(f"take[{i}].share", t.share) for i, t in enumerate(spec.takes) if t.share is not None]
    if not isinstance(spec.batch, str) and spec.batch is not None:
        shares.append(("batch", spec.batch))
    names = {k: sp.nsimplify(v, rational=True) for k, v in values.items() if k in spec.params}
    for where, s in shares:
        for g in range(2, max(generations, 2) + 1):
            rows = sp.nsimplify(s.expr(sp.Integer(g), names), rational=True) * n
            if not rows.is_integer:
                out.append(f"{where} x n = {float(rows):g} rows at generation {g} (n = {n}): the simulation "
                           "rounds it, the derivation does not")
                break
    return tuple(out)


def expected(spec, sim: Simulation, generations: Sequence[int]) -> list[float]:
    """The derived exact values at the generations, at the simulation's sizes and parameters (the exact
    chain of theory.derive.exact_values: no closed form is needed to check)."""
    from theory.derive import exact_values

    value = exact_values(spec, sim.quantity, alpha=sim.alpha, values=sim.values)
    return [float(value(g)) for g in generations]


def compared(sim: Simulation, generations: Sequence[int]) -> list[int]:
    """The generations a check compares: all, but generation 1 for a ratio to it (1 there by definition);
    UsageError if none is left."""
    from . import catalog

    ratio = catalog.get(sim.simulator).metrics[sim.metric].statistic == "ratio"
    out = [g for g in generations if not (ratio and g == 1)]
    if not out:
        raise UsageError("--check: a ratio to generation 1 is 1 there by definition; check generations >= 2 "
                         "(--at k=5, or no k for 1..10)")
    return out


def held(sim: Simulation, theory: Sequence[float], generations: Sequence[int], *, label: str, trials: int,
         seed: int = 0, runner=None, progress: bool = False, warn=None, alpha: float | None = None,
         yes: bool = False):
    """``theory`` (one value per generation) against ``trials`` simulated chains: the tested, Holm-corrected
    rows (numerics.stats.Row) at family-wise ``alpha`` (default :data:`numerics.defaults.ALPHA`). A ratio to
    generation 1 is 1 there by definition, so generation 1 is left out of a ratio's rows. The run goes through
    numerics.execute.check_resources as verify's and sweep's do: refused if its blocks cannot fit in memory,
    and if it is estimated at more than numerics.execute.ASK_ABOVE unless ``yes``."""
    from . import catalog, execute
    from .defaults import ALPHA
    from .rng import seed_sequence
    from .stats import Row, finish, which_test

    metric = catalog.get(sim.simulator).metrics[sim.metric]
    kept = set(compared(sim, generations))
    pairs = [(g, v) for g, v in zip(generations, theory) if g in kept]
    cell = execute.Cell.make(sim.simulator, sim.settings, max(g for g, _ in pairs), [sim.metric], trials)
    runner = runner or execute.Serial()
    execute.check_resources([cell], getattr(runner, "workers", 1), warn, yes=yes)
    summary = execute.run_cells([cell], int(seed_sequence(seed).entropy), runner, progress=progress,
                                label="simulations")[0][sim.metric]
    est, se = summary.estimate(metric.statistic)
    point = {k: v for k, v in sim.settings.items() if k in sim.values or k in ("estimator", "K", "zipf")}
    kind = "asymptotic" if sim.quantity == "variance_ratio" else "exact"  # the n -> oo limit, or exact at finite size
    rows = [Row(claim=label, variant={}, point=point, generation=g, kind=kind, statistic=metric.statistic,
                theory=float(v), estimate=float(est[g - 1]), se=float(se[g - 1]), trials=trials, seed=seed,
                test=which_test(trials), simulator=f"{sim.simulator}[{sim.metric}]")
            for g, v in pairs]
    return finish(rows, ALPHA if alpha is None else alpha)


def check(workflow, quantity: str, generations: Sequence[int], *, trials: int, seed: int = 0,
          at: Mapping[str, object] | None = None, sizes: Mapping[str, object] | None = None, runner=None,
          progress: bool = False, warn=None, yes: bool = False):
    """Hold the derived ``quantity`` of ``workflow`` (a name, table or spec) against its simulation at the
    generations: (Simulation, rows). ``at``: the derivation's parameters (real_fraction, alpha)."""
    from theory.workflows import workflow_spec

    spec = workflow_spec(workflow)
    sim = simulation(spec, quantity, at, sizes, max(generations))
    rows = held(sim, expected(spec, sim, generations), generations, label=f"{spec.label}.{quantity}", trials=trials,
                seed=seed, runner=runner, progress=progress, warn=warn, yes=yes)
    return sim, rows


def verdict(rows, label: str, trials: int) -> str:
    """The one-line verdict `collapse derive --check` prints (as `collapse check` does)."""
    from .defaults import ALPHA, CALIBRATED_TRIALS

    rejected = [r for r in rows if r.verdict == "FAIL"]
    return (f"{label}: {'REJECTED' if rejected else 'consistent with simulation'} ({len(rejected)} of {len(rows)} "
            f"generations reject at family-wise alpha = {ALPHA}"
            f"{'; not calibrated at %d trials' % trials if trials < CALIBRATED_TRIALS else ''})")

