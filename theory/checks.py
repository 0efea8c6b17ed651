"""How a claim is held against simulation: its checks, declared with the claim, each making its own rows.

A claim owns its checks (``Claim.checks``): the points, generations and convergence ladders at which
`collapse verify` holds it against every simulator that measures its quantity. A check is written in
the quantity's coordinates (theory.quantities), never in a simulator's settings, so the same check
serves the numpy simulator, a deep bridge model and a plugin's simulator alike.

* :class:`Point`: the claim at one point, at several generations. An exact claim (a finite-sample
  expectation) must agree with the simulated mean within its standard error however many trials run;
  a bound (``Claim.alternative``) is tested one-sided.
* :class:`Limit`: an asymptotic claim whose value is the limit of the simulated statistic as a size
  grows (Dey & Donoho's variance ratios as n -> oo): the statistic is simulated along a ladder of sizes
  and extrapolated to size -> oo as a + b / size.
* :class:`Discrepancy`: an asymptotic claim that is evaluated at each size (a random-matrix
  equivalent): simulation minus claim along the ladder, extrapolated, must vanish.
* :class:`RelativeGap`: the same, divided by the claim (for a claim that grows with the size, such as
  Kimura's collapse time, whose corrections may be of order log(s)/s: ``basis = "log"``).

Each check turns the simulation's evidence into table rows itself (:meth:`Check.rows`); the numerics
layer supplies the evidence (estimates, standard errors, the claim's values, the extrapolation and the
row type) through the small :class:`Evidence` interface, so this module imports nothing numerical.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


class Evidence(Protocol):
    """What a check reads from a simulation (implemented by numerics.verify)."""

    #: How the simulator's metric summarises its trials: "mean", "variance" or "ratio".
    statistic: str
    #: The generations compared (the check's, or those a simulator measures reliably, or a user's).
    generations: tuple[int, ...]

    def estimate(self, size: int | None) -> tuple[Sequence[float], Sequence[float]]:
        """The statistic and its standard error at each of the check's generations (at ``size``)."""

    def theory(self, generation: int, size: int | None) -> float:
        """The claim's value (or the expression under test) at a generation (at ``size``)."""

    def extrapolate(self, sizes: Sequence[int], values: Sequence[float], errors: Sequence[float],
                    basis: str) -> dict:
        """Weighted least squares of values = a + b/s (+ c log(s)/s): a, se_a, b, chi2, dof."""

    def row(self, generation: int, *, statistic: str, theory: float, estimate: float, se: float, note: str,
            extra: dict | None = None) -> Any:
        """One row of the table."""


@dataclass(frozen=True)
class Check:
    """A check's point and generations (see the module docstring).

    ``at``: values of the quantity's coordinates (a coordinate the claim does not take, such as the
    design's covariance for a claim that holds for any, is still given: the simulation needs one).
    ``per_variant(variant)``: coordinates that depend on the variant's choices. ``variants(variant)``:
    whether the check serves a variant (default: every variant the claim has a form for).
    ``kind``: "exact" where an asymptotic claim is exact at this point. ``share``: the fraction of the
    run's trials it uses (for costly sizes). ``note``: shown with its rows.
    """

    at: Mapping[str, Any] = field(default_factory=dict)
    generations: tuple[int, ...] = (1, 2, 5, 10)
    variants: Callable[[dict], bool] | None = None
    per_variant: Callable[[dict], Mapping[str, Any]] | None = None
    kind: str | None = None
    share: float = 1.0
    note: str = ""
    #: Coordinates the check is valid at only (an asymptotic claim checked as exact at lam = 0): a point that
    #: moves them (collapse check --at lam=0.1) is checked by the claim's other checks.
    requires: Mapping[str, Any] = field(default_factory=dict)

    @property
    def sizes(self) -> tuple[int, ...]:
        """The ladder's sizes (none for a point)."""
        return ()

    def serves(self, variant: Mapping[str, str]) -> bool:
        return self.variants is None or bool(self.variants(dict(variant)))

    def point(self, variant: Mapping[str, str], size: int | None = None) -> dict:
        """The coordinates of the check's point for a variant (at a ladder's ``size``)."""
        out = dict(self.at)
        if self.per_variant is not None:
            out.update(self.per_variant(dict(variant)))
        return out

    def rows(self, ev: Evidence) -> list:
        raise NotImplementedError  # each kind of check makes its own rows

    def describe(self) -> str:
        return ", ".join(f"{k}={_short(v)}" for k, v in self.at.items())


@dataclass(frozen=True)
class Point(Check):
    """The claim at one point, at each generation (a bound is tested one-sided)."""

    def rows(self, ev: Evidence) -> list:
        est, se = ev.estimate(None)
        return [ev.row(g, statistic=ev.statistic, theory=ev.theory(g, None), estimate=float(est[j]), se=float(se[j]),
                       note=self.note)
                for j, g in enumerate(ev.generations)]


@dataclass(frozen=True)
class Ladder(Check):
    """A convergence study: the point at each of ``sizes`` (the coordinate ``along`` set to the size, or
    the coordinates ``scale(size, point)`` returns), extrapolated to size -> oo."""

    along: str | None = None
    ladder: tuple[int, ...] = ()
    scale: Callable[[int, dict], Mapping[str, Any]] | None = None
    #: The terms besides the constant: "1/s" (a + b/s), or "log" (a + b log(s)/s + c/s).
    basis: str = "1/s"

    def __post_init__(self) -> None:
        if len(self.ladder) < (3 if self.basis == "log" else 2):
            raise ValueError("a ladder needs at least two sizes (three with basis 'log')")
        if (self.along is None) == (self.scale is None):
            raise ValueError("a ladder scales one coordinate (along=...) or several (scale=...), not both")

    @property
    def sizes(self) -> tuple[int, ...]:
        return tuple(self.ladder)

    def point(self, variant: Mapping[str, str], size: int | None = None) -> dict:
        out = super().point(variant)
        size = self.ladder[0] if size is None else size
        out.update({self.along: size} if self.along is not None else self.scale(size, {**variant, **out}))
        return out

    @property
    def name(self) -> str:
        return self.along or "size"

    def _how(self) -> str:
        extra = f" + c log({self.name})/{self.name}" if self.basis == "log" else ""
        return f"{self.name} = {', '.join(map(str, self.ladder))} extrapolated as a + b/{self.name}{extra}"


@dataclass(frozen=True)
class Limit(Ladder):
    """The claim is the limit of the simulated statistic (a mean or a ratio) as the size grows."""

    def rows(self, ev: Evidence) -> list:
        per_size = [ev.estimate(s) for s in self.ladder]
        out = []
        for j, g in enumerate(ev.generations):
            values = [float(est[j]) for est, _ in per_size]
            errors = [float(se[j]) for _, se in per_size]
            fit = ev.extrapolate(self.ladder, values, errors, self.basis)
            at = ", ".join(f"{v:.4f}" for v in values)
            out.append(ev.row(g, statistic=f"{ev.statistic} limit", theory=ev.theory(g, None), estimate=fit["a"],
                              se=fit["se_a"], note=f"{self.note}; {self._how()}; values {at}; chi2 "
                                                   f"{fit['chi2']:.2f} on {fit['dof']} dof",
                              extra={"sizes": list(self.ladder), "values": values, "value_se": errors,
                                     "slope": fit["b"]}))
        return out


@dataclass(frozen=True)
class Discrepancy(Ladder):
    """The claim is evaluated at each size; simulation minus claim, extrapolated, must vanish."""

    #: Divide each gap by the claim's value (a claim that grows with the size).
    relative: bool = False

    def rows(self, ev: Evidence) -> list:
        per_size = [ev.estimate(s) for s in self.ladder]
        out = []
        for j, g in enumerate(ev.generations):
            theory = [ev.theory(g, s) for s in self.ladder]
            scale = [abs(th) if self.relative else 1.0 for th in theory]
            gaps = [(float(est[j]) - th) / sc for (est, _), th, sc in zip(per_size, theory, scale)]
            errors = [float(se[j]) / sc for (_, se), sc in zip(per_size, scale)]
            fit = ev.extrapolate(self.ladder, gaps, errors, self.basis)
            what = "(simulation - theory) / theory" if self.relative else "simulation - theory"
            out.append(ev.row(g, statistic="relative" if self.relative else "discrepancy", theory=0.0,
                              estimate=fit["a"], se=fit["se_a"],
                              note=f"{self.note}; {self._how()}; {what} {', '.join(f'{x:+.4f}' for x in gaps)}; "
                                   f"chi2 {fit['chi2']:.2f} on {fit['dof']} dof",
                              extra={"sizes": list(self.ladder), "theory": theory, "gaps": gaps}))
        return out


def RelativeGap(**kw) -> Discrepancy:
    """A :class:`Discrepancy` of the relative gap (simulation - claim) / claim."""
    return Discrepancy(relative=True, **kw)


def _short(v: Any) -> str:
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(f"{x:g}" if isinstance(x, float) else str(x) for x in v) + "]"
    return f"{v:g}" if isinstance(v, float) else str(v)
