"""Every claim against a simulation of its procedure: the checks behind `collapse verify` and `check`.

The catalog (numerics.catalog, numerics.simulators, and the deep layer's) says, for each metric of
each simulator, which claims predict it and how `collapse verify` checks each one (a :class:`Check`:
the default point as simulator settings, the generations compared, a convergence study for asymptotic
claims). This module turns those into :class:`Item` s (one claim variant at one point), runs the
cells they need on a backend (numerics.execute; cells shared by several claims run once), and makes
the table: theory, estimate, standard error, z (or t), Holm-corrected p-value, verdict.

A cell's randomness is keyed by its simulator and settings only, so selecting fewer claims, running on
more processes or on Dask changes no number; and a verify cell is the same as the sweep cell with the
same settings.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from theory import CLAIMS

from . import catalog, execute
from .catalog import Check, Link, SettingError, Simulator
from .execute import Cell
from .rng import seed_sequence
from .defaults import ALPHA, DEFAULT_TRIALS
from .stats import Row, extrapolate, finish, which_test

#: Claims that no simulation can check, and why (shown by `collapse verify`).
NOT_SIMULATED = {
    "ridge.df": "deterministic: a function of the spectrum (nothing random to simulate)",
    "ridge.kappa": "deterministic: a fixed point of the spectrum (nothing random to simulate)",
    "ridge.rho_lowdim": "an approximation of ridge.rho that is exact at no size (erratum 8 gives its error); "
                        "ridge.rho itself is simulated",
}


@dataclass
class Item:
    """One claim variant, checked through one link at one point (several generations)."""

    claim: str
    variant: dict
    sim: Simulator
    metric: str
    link: Link
    check: Check
    settings: dict  # the point's resolved settings (for a convergence study: without the ladder's)
    generations: tuple
    expression: Any = None  # a user's expression in place of the claim (collapse check)

    @property
    def sizes(self) -> tuple:
        return self.check.ladder.sizes if self.check.ladder else ()

    def settings_at(self, size: int | None) -> dict:
        if size is None:
            return self.settings
        given = _given(self.settings)
        return self.sim.resolve({**given, **self.check.ladder.settings(size, _partial(self.sim, given))})

    def sim_generations(self) -> int:
        return max(g for g in self.generations)

    def columns(self) -> list[int]:
        return [g - self.sim.first for g in self.generations]

    def trials(self, trials: int) -> int:
        return max(2, int(trials * self.check.share))

    def point(self, settings: dict | None = None) -> dict:
        """The claim's values at the settings (except the generation and the variant's choices)."""
        values = self.link.claim_values(self.settings if settings is None else settings)
        claim = CLAIMS[self.claim]
        return {k: v for k, v in values.items() if k not in claim.choices and v is not None}

    def theory(self, gen, settings: dict | None = None) -> float:
        values = {**self.point(settings), **self.variant}
        if self.link.generation is not None:
            values[self.link.generation] = gen
        claim = CLAIMS[self.claim]
        if self.expression is None:
            return claim.evaluate(**values)
        if callable(self.expression) and not hasattr(self.expression, "free_symbols"):  # a Python function
            point = claim.validate(**values)
            plain = {k: (float(v) if not isinstance(v, (str, list, tuple, int)) and v is not None else v)
                     for k, v in point.items()}
            value = float(self.expression(**plain))
            if value != value or value in (float("inf"), float("-inf")):
                raise ValueError(f"the function gave {value} at {plain}")
            return value
        return claim.evaluate_expression(self.expression, **values)

    def kind(self) -> str:
        if self.link.alternative:
            return self.link.alternative
        return self.check.kind or ("asymptotic" if CLAIMS[self.claim].kind == "asymptotic" else "exact")


def _given(settings: dict) -> dict:
    """Resolved settings without those at their default (the ladder re-resolves them)."""
    return {k: v for k, v in settings.items() if v is not None}


def _partial(sim: Simulator, given: dict) -> dict:
    """The given settings with the defaults of the others (unchecked: for a ladder's scale function)."""
    return {**{k: s.default for k, s in sim.settings.items() if s.default is not catalog.REQUIRED}, **given}


def _checked_links(claim_id: str) -> list[tuple[Simulator, str, Link]]:
    return [(s, m, lk) for s, m, lk in catalog.links_to(claim_id) if lk.check is not None]


def make_item(claim_id: str, variant: dict | None = None, link: int | None = None, **overrides) -> Item:
    """The check of ``claim_id`` for a variant (defaults filled in) at the default point, with
    ``overrides``: claim parameters (mapped to simulator settings) or the generation (one value or a
    list). ``link`` picks among several checks of the claim (default: the first that fits the point)."""
    claim = CLAIMS[claim_id]
    variant = claim._choices(variant or {})
    candidates = _checked_links(claim_id)
    if not candidates:
        raise ValueError(f"{claim_id} has no simulator: {why_not(claim_id) or 'none is declared'}")
    errors = []
    for i, (sim, metric, lk) in enumerate(candidates):
        if link is not None and i != link:
            continue
        try:
            return _item(claim_id, variant, sim, metric, lk, dict(overrides))
        except (SettingError, ValueError) as e:
            errors.append(str(e))
    raise ValueError(errors[0] if len(errors) == 1 else "; ".join(dict.fromkeys(errors)))


def _item(claim_id: str, variant: dict, sim: Simulator, metric: str, lk: Link, overrides: dict) -> Item:
    claim = CLAIMS[claim_id]
    check = lk.check
    if check.variants is not None and not check.variants(variant):
        raise ValueError(f"{claim_id} ({', '.join(variant.values())}) is not checked by this study")
    gens = check.generations
    gen_name = lk.generation
    if gen_name is not None and gen_name in overrides:
        g = overrides.pop(gen_name)
        gens = tuple(g) if isinstance(g, (list, tuple)) else (g,)
    elif gen_name is None and "generation" in overrides:
        g = overrides.pop("generation")
        gens = tuple(g) if isinstance(g, (list, tuple)) else (g,)
    for g in gens:
        if isinstance(g, bool) or not isinstance(g, (int, np.integer)) or g < sim.first:
            raise ValueError(f"generations to simulate must be integers >= {sim.first}, got {g!r}"
                             + (" (generation 0 is the truth itself)" if sim.first == 1 else ""))
        m = sim.metrics[metric]
        if gen_name is not None and m.statistic == "ratio" and m.reference is None and g < 2:
            raise ValueError(f"the variance ratio is 1 at {gen_name} = 1 by definition: simulate {gen_name} >= 2")
    required = {k: v for k, v in lk.when.items() if not isinstance(v, tuple)}  # e.g. the claim's own workflow
    extra = check.per_variant(variant) if check.per_variant else {}
    default = {**required, **check.settings, **extra, **lk.settings_for(variant)}
    if check.ladder is not None:
        default.update(check.ladder.settings(check.ladder.sizes[0], _partial(sim, default)))
    # The user's values are checked by the claim first, so that errors name the claim's parameters.
    base = {k: v for k, v in lk.claim_values(sim.resolve(default)).items() if k not in claim.choices}
    at = {gen_name: gens[0]} if gen_name else {}
    if overrides:
        claim.validate(**{**base, **overrides, **variant, **at})
    given = {**required, **check.settings, **extra, **lk.settings_for({**variant, **overrides})}
    if check.ladder is not None and "sizes" in overrides:
        raise ValueError("sizes cannot be changed here")
    settings = sim.resolve(given) if check.ladder is None else None
    probe = sim.resolve({**given, **check.ladder.settings(check.ladder.sizes[0], _partial(sim, given))}) \
        if check.ladder else settings
    if not lk.applies(probe):
        raise ValueError(f"{claim_id} ({', '.join(variant.values())}) does not apply to simulator {sim.name} "
                         f"at {', '.join(f'{k}={v}' for k, v in given.items())}")
    item = Item(claim_id, dict(variant), sim, metric, lk, check, settings if settings is not None else
                {k: v for k, v in probe.items()}, tuple(gens))
    # The claim must accept the point (its own domain checks name the parameter).
    for size in item.sizes or (None,):
        claim.validate(**item.point(item.settings_at(size)), **variant, **at)
    return item


def why_not(claim_id: str) -> str:
    for pattern, why in NOT_SIMULATED.items():
        if fnmatch.fnmatch(claim_id, pattern):
            return why
    return ""


def _matches(cid: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatch(cid, p) or cid.startswith(p.rstrip(".") + ".") or cid == p for p in patterns)


def default_items(patterns: Iterable[str] = ()) -> tuple[list[Item], dict[str, str]]:
    """Every simulated claim and variant matching the patterns; and the matching claims not simulated,
    with why."""
    patterns = list(patterns) or ["*"]
    items, skipped = [], {}
    for cid in CLAIMS:
        if not _matches(cid, patterns):
            continue
        links = _checked_links(cid)
        if not links:
            skipped[cid] = why_not(cid) or "no simulator declares it"
            continue
        for variant in CLAIMS[cid].variants():
            made = []
            reasons = []
            for i, (sim, metric, lk) in enumerate(links):
                try:
                    made.append(_item(cid, dict(variant), sim, metric, lk, {}))
                except (SettingError, ValueError) as e:
                    reasons.append(str(e))
            if made:
                items += made
            else:
                skipped[f"{cid} ({', '.join(variant.values())})"] = reasons[0] if reasons else "not simulated"
    return items, skipped


# -- running -------------------------------------------------------------------------------------


def cells_of(items: list[Item], trials: int) -> tuple[list[Cell], dict]:
    """The cells the items need (one per simulator, settings and trial count: metrics merged, the
    largest generation count), and for each (item index, size) the index of its cell."""
    groups: dict[tuple, dict] = {}
    where = {}
    for i, it in enumerate(items):
        for size in it.sizes or (None,):
            settings = it.settings_at(size)
            key = (it.sim.name, tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in settings.items()),
                   it.trials(trials))
            g = groups.setdefault(key, {"settings": settings, "G": 0, "metrics": []})
            g["G"] = max(g["G"], it.sim_generations())
            if it.metric not in g["metrics"]:
                g["metrics"].append(it.metric)
            where[(i, size)] = key
    keys = list(groups)
    cells = [Cell.make(k[0], groups[k]["settings"], groups[k]["G"], groups[k]["metrics"], k[2]) for k in keys]
    index = {k: n for n, k in enumerate(keys)}
    return cells, {ik: index[k] for ik, k in where.items()}


def run(items: list[Item], trials: int = DEFAULT_TRIALS, seed: int = 0, progress: bool = False,
        alpha: float = ALPHA, runner=None, warn=None) -> list[Row]:
    """Simulate every item's procedure with ``trials`` trials and return the tested, corrected table.

    ``runner`` is a backend of numerics.execute (default: this process).
    """
    if isinstance(trials, bool) or int(trials) != trials or trials < 2:
        raise ValueError(f"trials must be an integer >= 2, got {trials!r}")
    entropy = int(seed_sequence(seed).entropy)
    cells, where = cells_of(items, trials)
    runner = runner or execute.Serial()
    execute.check_resources(cells, getattr(runner, "workers", 1), warn)
    results = execute.run_cells(cells, entropy, runner, progress=progress, label="simulations")
    rows = []
    for i, it in enumerate(items):
        rows += _rows(it, {size: results[where[(i, size)]][it.metric] for size in it.sizes or (None,)},
                      it.trials(trials), seed)
    return finish(rows, alpha)


def _rows(it: Item, summaries: dict, trials: int, seed: int) -> list[Row]:
    kind = it.kind()
    alternative = {"lower": "greater", "upper": "less"}.get(kind, "two-sided")
    stat = it.sim.metrics[it.metric].statistic
    cols = it.columns()
    point = it.point()
    if it.sizes:  # a convergence study: the values that scale with the ladder are not one point
        at = [it.point(it.settings_at(s)) for s in it.sizes]
        point = {k: v for k, v in point.items() if all(p.get(k) == v for p in at)}
    base = dict(claim=it.claim, variant=dict(it.variant), point=point, kind=kind, trials=trials, seed=seed,
                alternative=alternative, simulator=it.sim.name)
    rows = []
    ladder = it.check.ladder
    if ladder is not None and ladder.statistic in ("discrepancy", "relative"):
        means = [summaries[s].mean_se() for s in it.sizes]
        relative = ladder.statistic == "relative"
        for j, gen in enumerate(it.generations):
            theory = [it.theory(gen, it.settings_at(s)) for s in it.sizes]
            scale = [abs(th) if relative else 1.0 for th in theory]
            gaps = [(m[0][cols[j]] - th) / sc for m, th, sc in zip(means, theory, scale)]
            fit = extrapolate(it.sizes, gaps, [m[1][cols[j]] / sc for m, sc in zip(means, scale)], basis=ladder.basis)
            what = "(simulation - theory) / theory" if relative else "simulation - theory"
            rows.append(Row(**base, generation=gen, statistic=ladder.statistic, theory=0.0, estimate=fit["a"],
                            se=fit["se_a"], note=f"{it.check.note}; {what} "
                            f"{', '.join(f'{g:+.4f}' for g in gaps)}; chi2 {fit['chi2']:.2f} on {fit['dof']} dof",
                            extra={"sizes": list(it.sizes), "theory": theory, "gaps": [float(g) for g in gaps]}))
        return rows
    if ladder is not None:
        ratios = [summaries[s].estimate(stat) for s in it.sizes]
        for j, gen in enumerate(it.generations):
            fit = extrapolate(it.sizes, [r[0][cols[j]] for r in ratios], [r[1][cols[j]] for r in ratios])
            at = ", ".join(f"{r[0][cols[j]]:.4f}" for r in ratios)
            rows.append(Row(**base, generation=gen, statistic=f"{stat} limit", theory=it.theory(gen), estimate=fit["a"],
                            se=fit["se_a"], note=f"{it.check.note}; {ladder_note(it)}; ratios {at}; "
                            f"chi2 {fit['chi2']:.2f} on {fit['dof']} dof",
                            extra={"sizes": list(it.sizes), "ratios": [float(r[0][cols[j]]) for r in ratios],
                                   "ratio_se": [float(r[1][cols[j]]) for r in ratios], "slope": fit["b"]}))
        return rows
    est, se = summaries[None].estimate(stat)
    for j, gen in enumerate(it.generations):
        row = Row(**base, generation=gen, statistic=stat, theory=it.theory(gen), estimate=float(est[cols[j]]),
                  se=float(se[cols[j]]), test=which_test(trials), note=it.check.note)
        if trials < it.check.min_trials:
            row.verdict = "skip"
            row.note = it.check.min_trials_why or f"calibrated from {it.check.min_trials} trials on"
        rows.append(row)
    return rows


def ladder_note(it: Item) -> str:
    name = it.check.ladder.setting or "size"
    return f"{name} = {', '.join(map(str, it.sizes))} extrapolated as a + b/{name}"
