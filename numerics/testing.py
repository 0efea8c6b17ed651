"""Testing helpers for statistical claims: the toolkit as a testing library for researchers' formulas.

* :func:`assert_claim` holds your expression for a claim's quantity (a SymPy expression, a string, or a
  Python function of the claim's parameters) against the claim's simulator, at a point or along
  generations, with the same statistics as `collapse verify` (a stated family-wise alpha, Holm within
  the call); its failure message prints theory, estimate, standard error, z and seed for each row.
* :func:`assert_agrees` tests one estimate (or an array of them) against a theoretical value: what
  every statistical test of the toolkit uses.
* ``theory.strategies.points`` draws valid parameter points of any claim for hypothesis.

The seed of a statistical test comes from the ``collapse_seed`` fixture (numerics.pytest_plugin): one
fixed seed by default, and every seed of a range with ``--collapse-seeds=0-99`` (or the environment
variable ``COLLAPSE_SEEDS``), as scikit-learn's ``global_random_seed``: a correct test passes for any
seed except at its stated rate.
"""

from __future__ import annotations

import math

import numpy as np

from .defaults import ALPHA, DEFAULT_TRIALS
from .stats import p_value, which_test


class DisagreementError(AssertionError):
    """An estimate that disagrees with its theory at the stated level."""


def assert_agrees(estimate, se, theory, *, alpha: float = 1e-3, seed=None, trials: int | None = None,
                  alternative: str = "two-sided", what: str = "") -> float:
    """Assert that ``estimate`` (standard error ``se``) agrees with ``theory``; return the p-value.

    Arrays are tested element by element with a Bonferroni correction (alpha / count). ``trials``
    (the number of independent trials behind each estimate) selects Student's t below 100 trials;
    without it the test is z. ``alternative``: 'two-sided', 'greater' (the estimate is at least the
    theory: a lower bound) or 'less'. A NaN anywhere fails.
    """
    est, err, th = (np.atleast_1d(np.asarray(x, dtype=float)) for x in (estimate, se, theory))
    est, err, th = np.broadcast_arrays(est, err, th)
    test = which_test(trials) if trials else "z"
    dof = int(test[2:-1]) if test.startswith("t(") else None
    level = alpha / est.size
    worst = 1.0
    lines = []
    for i in np.ndindex(est.shape):
        e, s, t = float(est[i]), float(err[i]), float(th[i])
        z = (e - t) / s if s > 0 else (0.0 if e == t else math.copysign(math.inf, e - t))
        p = p_value(z, alternative, dof) if not any(map(math.isnan, (e, s, t))) else float("nan")
        worst = min(worst, p) if not math.isnan(p) else float("nan")
        if math.isnan(p) or p < level:
            where = f"[{', '.join(map(str, i))}] " if est.size > 1 else ""
            lines.append(f"  {where}theory {t:.8g}, estimate {e:.8g}, se {s:.3g}, {test} = {z:.3f}, "
                         f"p = {p:.3g} < {level:.3g}")
    if lines:
        head = f"{what + ': ' if what else ''}estimate disagrees with theory ({alternative}, alpha = {alpha}"
        head += f", {est.size} comparisons" if est.size > 1 else ""
        head += f", seed {seed})" if seed is not None else ")"
        raise DisagreementError("\n".join([head] + lines))
    return worst


def assert_claim(expression, claim_id: str, *, at: dict | None = None, generations=None, trials: int = DEFAULT_TRIALS,
                 seed: int = 0, alpha: float = ALPHA, runner=None):
    """Assert that ``expression`` predicts claim ``claim_id``'s quantity, by simulating its procedure.

    ``expression``: a SymPy expression or a string in the claim's parameter names (parsed safely), or a
    Python function taking the parameters as keywords. ``at``: choices and parameter values (the
    claim's own names, as `collapse check --at`); ``generations``: the generation values compared
    (default: the claim's verification generations). The simulation is the one `collapse verify` runs
    for the claim (``trials`` trials, ``seed``); the comparisons are corrected by Holm at family-wise
    ``alpha``. Returns the table's rows; raises :class:`DisagreementError` listing every rejected row.
    """
    from theory import CLAIMS

    from .verify import make_item, run

    claim = CLAIMS[claim_id]
    values = dict(at or {})
    variant = {k: v for k, v in values.items() if k in claim.choices}
    overrides = {k: v for k, v in values.items() if k not in claim.choices}
    if generations is not None:
        overrides["generation"] = list(generations)
    item = make_item(claim_id, variant, **overrides)
    if isinstance(expression, str):
        from theory.expressions import parse

        names = {p.name: p.symbol for p in claim.params if p.kind != "choice"}
        expression = parse(expression, names)
    item.expression = expression
    rows = run([item], trials=trials, seed=seed, alpha=alpha, runner=runner)
    failed = [r for r in rows if r.verdict == "FAIL"]
    if failed:
        gen = _generation_name(claim)
        lines = [f"{claim_id}: {len(failed)} of {len(rows)} comparisons reject the expression "
                 f"(Holm, family-wise alpha = {alpha}; {item.trials(trials)} trials, seed {seed})"]
        for r in failed:
            lines.append(f"  at {gen} = {r.generation}: theory {r.theory:.8g}, "
                         f"estimate {r.estimate:.8g}, se {r.se:.3g}, {r.test} = {r.z:.3f}, p_adj = {r.p_adjusted:.3g}"
                         + (f" ({r.note})" if "not a number" in r.note else ""))
        raise DisagreementError("\n".join(lines))
    return rows


def _generation_name(claim) -> str:
    from theory import QUANTITIES

    return QUANTITIES[claim.quantity].generation or "generation"
