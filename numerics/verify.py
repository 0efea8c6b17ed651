"""Every claim against a simulation of its procedure: the checks behind `collapse verify` and `check`.

Each claim owns its checks (theory.checks: points, generations and convergence ladders in its
quantity's coordinates). Each simulator of the catalog says which quantities its metrics measure and
how its settings map to their coordinates (numerics.catalog.Produces). This module pairs every check of
every claim with every simulator that measures the claim's quantity at the check's point (an
:class:`Item`), runs the cells the items need on a backend (numerics.execute; a cell shared by several
items runs once), lets each check make its rows from the evidence (:class:`Evidence`), and corrects
the table: theory, estimate, standard error, z (or t), Holm-corrected p-value, verdict.

Nothing is dropped in silence: a check that no simulator covers, or that cannot be built at its point,
is a :class:`VerifyError` naming the claim and the reason (`collapse verify` exits 2), and a claim with
no check must say why it is not simulated (``Claim.not_simulated``).

A cell's randomness is keyed by its simulator and settings only, so selecting fewer claims, running on
more processes or on Dask changes no number; and a verify cell is the same as the sweep cell with the
same settings.
"""

from __future__ import annotations

import fnmatch
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from theory import CLAIMS
from theory.errors import UserError

from . import catalog, execute
from .catalog import NotCovered, Produces, SettingError, Simulator, same_value
from .defaults import ALPHA, DEFAULT_TRIALS
from .execute import Cell
from .rng import seed_sequence
from .stats import Row, extrapolate, finish, which_test


class VerifyError(UserError, ValueError):
    """A declared check that cannot be run; the message names the claim, the check and the reason."""


@dataclass
class Item:
    """One check of one claim variant, on one simulator."""

    claim: str
    variant: dict
    check: Any  # a theory.checks.Check
    index: int  # which of the claim's checks
    sim: Simulator
    produces: Produces
    settings: dict  # size -> resolved settings (None: the point)
    points: dict  # size -> the quantity's coordinates (but the generation)
    generations: tuple
    expression: Any = None  # a user's expression in place of the claim (collapse check)
    _theory: dict = field(default_factory=dict, repr=False, compare=False)  # (generation, size) -> value

    @property
    def metric(self) -> str:
        return self.produces.metric

    @property
    def sizes(self) -> tuple:
        return self.check.sizes

    @property
    def simulator(self) -> str:
        return self.sim.label(self.produces)

    def key(self) -> tuple[str, str, str, int]:
        """(claim, variant, simulator, check): what the pinned list of verified rows records."""
        return self.claim, ",".join(f"{k}={v}" for k, v in self.variant.items()), self.simulator, self.index + 1

    def trials(self, trials: int) -> int:
        return max(2, int(trials * self.check.share * self.produces.share))

    def columns(self) -> list[int]:
        return [g - self.sim.first for g in self.generations]

    def claim_values(self, size: int | None, gen: int | None = None) -> dict:
        """The claim's parameter values at the point (at ``size``) and generation ``gen``."""
        claim = CLAIMS[self.claim]
        point = self.points[size if size is not None or not self.sizes else self.sizes[0]]
        values = {p.name: point[p.name] for p in claim.params if point.get(p.name) is not None}
        names = {p.name for p in claim.params}
        values.update(self.variant)
        q_gen = _generation_of(claim)
        if gen is not None and q_gen in names:
            values[q_gen] = gen
        return values

    def theory(self, gen: int, size: int | None = None) -> float:
        """The claim's (or the user's expression's) value at the point and generation ``gen`` (kept)."""
        key = (gen, size)
        if key not in self._theory:
            self._theory[key] = self._evaluate(gen, size)
        return self._theory[key]

    def _evaluate(self, gen: int, size: int | None) -> float:
        claim = CLAIMS[self.claim]
        values = self.claim_values(size, gen)
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
        claim = CLAIMS[self.claim]
        if claim.alternative:
            return claim.alternative
        return self.check.kind or ("asymptotic" if claim.kind == "asymptotic" else "exact")

    def shown_point(self) -> dict:
        """The claim's parameters at the point (for a ladder, those that do not change with the size)."""
        claim = CLAIMS[self.claim]
        per_size = [self.claim_values(s) for s in (self.sizes or (None,))]
        shown = {k: v for k, v in per_size[0].items() if k not in claim.choices}
        return {k: v for k, v in shown.items() if all(p.get(k) == v for p in per_size)}


def _generation_of(claim) -> str | None:
    from theory import QUANTITIES

    return QUANTITIES[claim.quantity].generation


def _matches(cid: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatch(cid, p) or cid.startswith(p.rstrip(".") + ".") or cid == p for p in patterns)


def build(claim_id: str, variant: dict, index: int, sim: Simulator, produces: Produces,
          overrides: dict | None = None, generations: Sequence[int] | None = None) -> Item:
    """The item of a claim's check ``index`` on one simulator (:class:`NotCovered` if that simulator does not
    measure the quantity there). ``overrides``: coordinates that replace the check's (collapse check --at);
    ``generations``: the generations compared instead of the check's."""
    claim = CLAIMS[claim_id]
    check = claim.checks[index]
    gen_name = _generation_of(claim)
    gens = tuple(check.generations if generations is None else generations)
    if produces.max_generation is not None:
        gens = tuple(g for g in gens if g <= produces.max_generation)
        if not gens:
            raise NotCovered(f"it measures up to generation {produces.max_generation}")
    fixed_gen = claim.fixed.get(gen_name) if gen_name else None
    if fixed_gen is not None and any(g != fixed_gen for g in gens):
        raise ValueError(f"{claim_id} holds at {gen_name} = {fixed_gen} only")
    settings, points = {}, {}
    for size in check.sizes or (None,):
        point = {k: v for k, v in claim.fixed.items() if k != gen_name}
        point.update(check.point(variant, size))
        point.update(overrides or {})
        point.update(variant)
        moved = [k for k, v in check.requires.items() if k in point and not same_value(point[k], v)]
        if moved:
            raise NotCovered(f"check {index + 1} holds at {', '.join(f'{k}={check.requires[k]}' for k in moved)} only")
        # The claim checks the point first (its errors name its parameters, as the check and the user wrote them).
        names = {p.name for p in claim.params}
        at = {gen_name: gens[0]} if gen_name in names else {}
        claim.validate(**{k: v for k, v in point.items() if k in names}, **at)
        given = produces.settings_for(point)
        resolved = sim.resolve(given)
        if not produces.applies(resolved):
            raise NotCovered(f"its metric {produces.metric} does not measure {claim.quantity} at "
                             + ", ".join(f"{k}={v}" for k, v in given.items()))
        settings[size], points[size] = resolved, point
    for g in gens:
        if isinstance(g, bool) or not isinstance(g, int) or g < sim.first:
            raise ValueError(f"generations to simulate must be integers >= {sim.first}, got {g!r}"
                             + (" (generation 0 is the truth itself)" if sim.first == 1 else ""))
        if sim.metrics[produces.metric].statistic == "ratio" and sim.metrics[produces.metric].reference is None and g < 2:
            raise ValueError(f"a ratio to the first generation is 1 there by definition: compare {gen_name} >= 2")
    return Item(claim_id, dict(variant), check, index, sim, produces, settings, points, gens)


def items_of(claim_id: str, strict: bool = True) -> list[Item]:
    """Every item of a claim: each check, for each variant it serves, on each simulator that covers it.

    A check that no simulator covers, or that fails to build, is a :class:`VerifyError` (``strict``) or
    is left out (not strict: for listing)."""
    claim = CLAIMS[claim_id]
    producers = catalog.producers(claim.quantity)
    out = []
    for variant in claim.variants():
        for index, check in enumerate(claim.checks):
            if not check.serves(variant):
                continue
            made, why = [], []
            for sim, produces in producers:
                try:
                    made.append(build(claim_id, variant, index, sim, produces))
                except NotCovered as e:
                    why.append(f"{sim.label(produces)}: {e}")
                except (SettingError, ValueError) as e:
                    if strict:
                        raise VerifyError(f"{_name(claim_id, variant, index)} cannot be checked on "
                                          f"{sim.label(produces)}: {e}") from None
            if not made and strict:
                reason = "; ".join(why) if why else f"no simulator measures {claim.quantity}"
                if catalog.UNAVAILABLE:
                    reason += f" (left out for want of torch: {', '.join(catalog.UNAVAILABLE)})"
                raise VerifyError(f"{_name(claim_id, variant, index)}: no simulator covers it ({reason})")
            out += made
    return out


def _name(claim_id: str, variant: dict, index: int) -> str:
    chosen = f" ({', '.join(f'{k}={v}' for k, v in variant.items())})" if variant else ""
    return f"{claim_id}{chosen}, check {index + 1}"


def default_items(patterns: Iterable[str] = ()) -> tuple[list[Item], dict[str, str]]:
    """Every check of every claim matching the patterns on every simulator that covers it; and the matching
    claims that are not simulated, with why. A check that cannot be built raises :class:`VerifyError`."""
    patterns = list(patterns) or ["*"]
    items, skipped = [], {}
    for cid, claim in CLAIMS.items():
        if not _matches(cid, patterns):
            continue
        if not claim.checks:
            skipped[cid] = claim.not_simulated
            continue
        items += items_of(cid)
    return items, skipped


def make_item(claim_id: str, variant: dict | None = None, check: int | None = None, simulator: str | None = None,
              **overrides) -> Item:
    """The item of ``claim_id`` for a variant (defaults filled in) at its check's point, with ``overrides``:
    the quantity's coordinates (the claim's parameters), or the generation (one value or a list). ``check``
    and ``simulator`` pick among several (default: the first that covers the point)."""
    claim = CLAIMS[claim_id]
    if not claim.checks:
        raise VerifyError(f"{claim_id} is not simulated: {claim.not_simulated}")
    variant = claim.resolve_choices(variant or {})
    gen_name = _generation_of(claim)
    generations = None
    for name in (gen_name, "generation"):
        if name and name in overrides:
            g = overrides.pop(name)
            generations = list(g) if isinstance(g, (list, tuple)) else [g]
    if "sizes" in overrides:
        raise ValueError("the ladder's sizes cannot be changed here")
    coords = set(_quantity(claim).coordinates)
    unknown = [k for k in overrides if k not in coords]
    if unknown:
        raise ValueError(f"{claim_id}: {unknown[0]} is not a coordinate of its quantity {claim.quantity} "
                         f"({', '.join(sorted(coords))})")
    errors = []
    for index, chk in enumerate(claim.checks):
        if check is not None and index != check:
            continue
        if not chk.serves(variant):
            continue
        ladder = getattr(chk, "along", None)
        if ladder in overrides:
            raise ValueError(f"{ladder} is the size of {claim_id}'s convergence study ({', '.join(map(str, chk.sizes))}); "
                             "it cannot be set here")
        for sim, produces in catalog.producers(claim.quantity):
            if simulator is not None and sim.label(produces) != simulator and sim.name != simulator:
                continue
            try:
                item = build(claim_id, variant, index, sim, produces, overrides, generations)
            except NotCovered as e:
                errors.append(f"{sim.label(produces)}: {e}")
                continue
            except (SettingError, ValueError) as e:
                errors.append(str(e))
                continue
            return item
    raise ValueError(errors[0] if len(errors) == 1 else "; ".join(dict.fromkeys(errors)) or
                     f"{claim_id}: no check serves {variant}")


def _quantity(claim):
    from theory import QUANTITIES

    return QUANTITIES[claim.quantity]


# -- running -------------------------------------------------------------------------------------


def cells_of(items: list[Item], trials: int) -> tuple[list[Cell], dict]:
    """The cells the items need (one per simulator, settings and trial count: metrics merged, the
    largest generation count), and for each (item index, size) the index of its cell."""
    groups: dict[tuple, dict] = {}
    where = {}
    for i, it in enumerate(items):
        for size in it.sizes or (None,):
            settings = it.settings[size]
            key = (it.sim.name, tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in settings.items()),
                   it.trials(trials))
            g = groups.setdefault(key, {"settings": settings, "G": 0, "metrics": []})
            g["G"] = max(g["G"], max(it.generations))
            if it.metric not in g["metrics"]:
                g["metrics"].append(it.metric)
            where[(i, size)] = key
    keys = list(groups)
    cells = [Cell.make(k[0], groups[k]["settings"], groups[k]["G"], groups[k]["metrics"], k[2]) for k in keys]
    index = {k: n for n, k in enumerate(keys)}
    return cells, {ik: index[k] for ik, k in where.items()}


def run(items: list[Item], trials: int = DEFAULT_TRIALS, seed: int = 0, progress: bool = False,
        alpha: float = ALPHA, runner=None, warn=None, yes: bool = False) -> list[Row]:
    """Simulate every item's procedure with ``trials`` trials and return the tested, corrected table (a
    :class:`numerics.stats.Table` of rows: ``.to_frame()`` is a pandas DataFrame).

    ``runner`` is a backend of numerics.execute (default: this process); ``yes``: run even if it is
    estimated to take longer than numerics.execute.ASK_ABOVE.
    """
    if isinstance(trials, bool) or int(trials) != trials or trials < 2:
        raise ValueError(f"trials must be an integer >= 2, got {trials!r}")
    entropy = int(seed_sequence(seed).entropy)
    cells, where = cells_of(items, trials)
    runner = runner or execute.Serial()
    execute.check_resources(cells, getattr(runner, "workers", 1), warn, yes=yes)
    # The theory column does not depend on the simulations: where they run in other processes, this one
    # builds the claims' forms and evaluates them meanwhile (seconds of SymPy) instead of after. The main
    # thread only waits for results until the thread is joined (mpmath's working precision is process-wide).
    theory = None
    if getattr(runner, "workers", 1) > 1:
        theory = threading.Thread(target=_theory_of, args=(items,), daemon=True, name="theory")
        theory.start()
    try:
        results = execute.run_cells(cells, entropy, runner, progress=progress, label="simulations")
    finally:
        if theory is not None:
            theory.join()
    rows = []
    for i, it in enumerate(items):
        summaries = {size: results[where[(i, size)]][it.metric] for size in it.sizes or (None,)}
        rows += it.check.rows(Evidence(it, summaries, it.trials(trials), seed))
    return finish(rows, alpha)


def _theory_of(items: list[Item]) -> None:
    """Evaluate every item's theory at its generations and sizes, ahead of its rows (a value that fails here
    is left for the rows to evaluate again, where the error is reported as it always is)."""
    for it in items:
        for size in it.sizes or (None,):
            for gen in it.generations:
                try:
                    it.theory(gen, size)
                except Exception:  # noqa: BLE001  (reported by the rows, in the main thread)
                    pass


class Evidence:
    """A simulation's evidence for one item, as theory.checks reads it (theory.checks.Evidence)."""

    def __init__(self, item: Item, summaries: dict, trials: int, seed: int):
        self.item, self.summaries, self.trials, self.seed = item, summaries, trials, seed
        metric = item.sim.metrics[item.metric]
        self.statistic = metric.statistic
        self.generations = item.generations
        self.metric = metric
        kind = item.kind()
        self.base = dict(claim=item.claim, variant=dict(item.variant), point=item.shown_point(), kind=kind,
                         trials=trials, seed=seed, simulator=item.simulator,
                         alternative={"lower": "greater", "upper": "less"}.get(kind, "two-sided"))

    def estimate(self, size: int | None):
        est, se = self.summaries[size].estimate(self.statistic)
        cols = self.item.columns()
        return [float(est[c]) for c in cols], [float(se[c]) for c in cols]

    def theory(self, generation: int, size: int | None) -> float:
        return self.item.theory(generation, size)

    def extrapolate(self, sizes, values, errors, basis: str) -> dict:
        return extrapolate(sizes, values, errors, basis=basis)

    def row(self, generation: int, *, statistic: str, theory: float, estimate: float, se: float, note: str,
            extra: dict | None = None) -> Row:
        notes = "; ".join(x for x in (note, self.item.produces.note) if x)
        row = Row(**self.base, generation=generation, statistic=statistic, theory=theory, estimate=estimate, se=se,
                  test=which_test(self.trials) if not self.item.sizes else "z", note=notes, extra=extra or {})
        if self.trials < self.metric.min_trials:
            row.verdict = "skip"
            row.note = self.metric.min_trials_why or f"calibrated from {self.metric.min_trials} trials on"
        return row
