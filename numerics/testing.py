"""Testing helpers for statistical claims: one assertion for "this estimate agrees with this theory".

:func:`assert_agrees` is what every statistical test of the toolkit uses (and what a researcher's own
tests can use): it tests a simulated estimate against a theoretical value at a stated significance
level, by z (or Student's t for few trials), and its failure message prints the theory, the estimate,
its standard error, z, the p-value and the seed, so that a failure can be reproduced and judged.

The seed of a statistical test comes from the ``collapse_seed`` fixture (numerics.pytest_plugin): one
fixed seed by default, and every seed of a range with ``--collapse-seeds=0-99`` (or the environment
variable ``COLLAPSE_SEEDS``), as scikit-learn's ``global_random_seed``: a correct test passes for any
seed except at its stated rate.
"""

from __future__ import annotations

import math

import numpy as np

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
