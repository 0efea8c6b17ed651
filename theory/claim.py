"""What a claim is: its source, its forms (one per discrete choice), and how it is evaluated.

A :class:`Claim` is one published (or derived) result. Claims whose expression depends on a discrete
choice (the variance ``estimator``, the data ``workflow``) hold one :class:`Form` per choice, built on
first use by the claim's builder function and kept; ``claim.expr`` is the form of the default choices.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import mpmath
import sympy as sp

from . import symbols as S
from .evaluation import DPS, EvaluationError, _for_mpmath, _Printer, _Seq, check_terms, mp_eval
from .validation import (Constraint, Param, _as_int, _as_nonnegative, _as_positive, _as_schedule, _as_vector,
                         _expand_schedule)

@dataclass(frozen=True)
class Source:
    """Where a result was published."""

    authors: str
    year: int
    title: str
    venue: str = ""
    arxiv: str = ""
    where: str = ""  # theorem / equation / section, as far as it could be confirmed

    def __str__(self) -> str:
        parts = [f"{self.authors} ({self.year})", self.title]
        if self.venue:
            parts.append(self.venue)
        if self.arxiv:
            parts.append(f"arXiv:{self.arxiv}")
        if self.where:
            parts.append(self.where)
        return ". ".join(parts)

    @property
    def short(self) -> str:
        names = [a.strip() for a in self.authors.split(",")]
        who = names[0] if len(names) == 1 else " & ".join(names) if len(names) == 2 else f"{names[0]} et al."
        tag = f" arXiv:{self.arxiv}" if self.arxiv else ""
        return f"{who} {self.year}{tag}"


@dataclass(frozen=True)
class Step:
    """One printable step of a derivation: what was done, and the expression it gave."""

    text: str
    expr: sp.Basic


@dataclass(frozen=True)
class Recursion:
    """An exact quantity known only through a forward recursion over the generations.

    At ``index = start`` the state is ``initial``. At each index the auxiliary quantities ``where``
    are computed in order (each may use the state, the index, the parameters and earlier ones), the
    claim's value at that index is ``output``, and the state moves to ``update``.
    """

    index: sp.Symbol
    start: int
    state: tuple[sp.Symbol, ...]
    initial: tuple[sp.Expr, ...]
    where: tuple[tuple[sp.Symbol, sp.Expr], ...]
    output: sp.Expr
    update: tuple[sp.Expr, ...]

    def equations(self) -> list[sp.Eq]:
        """The recursion as a list of printable equations."""
        eqs = [sp.Eq(sp.Symbol(f"{s.name}_{self.start}"), v) for s, v in zip(self.state, self.initial)]
        eqs += [sp.Eq(sym, val) for sym, val in self.where]
        eqs += [sp.Eq(sp.Symbol(f"{s.name}'"), u) for s, u in zip(self.state, self.update)]
        return eqs

    def run(self, env: dict, stop: int) -> mpmath.mpf:
        return self.run_many(env, [stop])[0]

    def run_many(self, env: dict, stops: Sequence[int]) -> list[mpmath.mpf]:
        """The output at each index of ``stops``, from one pass of the recursion."""
        env = dict(env)
        wanted = set(stops)
        last = max(stops)
        check_terms(f"the recursion over {self.index}", last - self.start + 1)
        state = [mp_eval(v, env) for v in self.initial]
        out = {}
        for idx in range(self.start, last + 1):
            env[self.index] = mpmath.mpf(idx)
            env.update(zip(self.state, state))
            for sym, val in self.where:
                env[sym] = mp_eval(val, env)
            if idx in wanted:
                out[idx] = mp_eval(self.output, env)
            if idx == last:
                break
            state = [mp_eval(u, env) for u in self.update]
        return [out[s] for s in stops]


@dataclass(frozen=True)
class Aux:
    """An auxiliary quantity a form is written in, such as the random-matrix fixed point kappa.

    ``equation`` defines it; ``value`` is its closed form where one exists, otherwise ``solve(env)``
    computes it numerically (at the working precision) from the values of the other symbols.
    """

    symbol: sp.Symbol
    equation: sp.Eq
    value: sp.Expr | None = None
    solve: Callable[[dict], mpmath.mpf] | None = None

    def compute(self, env: dict) -> mpmath.mpf:
        if self.value is not None:
            return mp_eval(self.value, env)
        return self.solve(env)


@dataclass(frozen=True)
class Form:
    """The mathematics of one variant of a claim.

    ``expr`` is exact at finite size unless the claim's ``kind`` says otherwise. ``schedule_expr`` is
    the same quantity for a sample-size schedule ``T[i]`` (present where the claim accepts one).
    ``series`` is the leading-order form in ``1/series_in``; ``limit`` the value as the generation
    count goes to infinity (``sp.oo`` where it diverges).
    """

    expr: sp.Expr
    schedule_expr: sp.Expr | None = None
    series: sp.Expr | None = None
    series_in: sp.Symbol | None = None
    limit: sp.Expr | None = None
    recursion: Recursion | None = None
    derivation: tuple[Step, ...] = ()
    note: str = ""
    #: "nondecreasing", "nonincreasing" or "constant" in the generation count, where that holds.
    monotone: str | None = None
    #: Auxiliary quantities (computed in order before ``expr``), e.g. a fixed point.
    where: tuple[Aux, ...] = ()
    #: Large-generation behaviour where the value diverges slowly (e.g. h^2 log t).
    asymptote: sp.Expr | None = None

    def closed_expr(self) -> sp.Expr:
        """``expr`` with every auxiliary quantity replaced by its closed form (raises if one has none)."""
        expr = self.expr
        for aux in reversed(self.where):
            if aux.value is None:
                raise ValueError(f"{aux.symbol} has no closed form here (it is solved numerically)")
            expr = expr.xreplace({aux.symbol: aux.value})
        return expr

@dataclass(eq=False)
class Claim:
    """A registered result. See the module docstring and the README for the conventions."""

    id: str
    title: str
    #: The id of the quantity it predicts (theory.quantities), and the coordinates at which it does.
    quantity: str
    source: Source
    params: tuple[Param, ...]
    builder: Callable[..., Form]
    assumptions: tuple[str, ...] = ()
    note: str = ""
    #: "exact" (a finite-sample expectation), "asymptotic" (true in a limit), "bound" or "approximation".
    kind: str = "exact"
    generation: str | None = "g"  # the generation-count parameter (None: no generation)
    constraints: tuple[Constraint, ...] = ()
    defaults: Mapping[str, str] = field(default_factory=dict)
    related: tuple[str, ...] = ()
    #: Turns a validated point into what the expression needs (e.g. a spectrum into its eigenvalues).
    prepare: Callable[[dict], dict] | None = None
    #: Coordinates of the quantity at which the claim holds, beyond its parameters (e.g. workflow=replace).
    fixed: Mapping[str, Any] = field(default_factory=dict)
    #: How `collapse verify` holds it against simulation (theory.checks), in the quantity's coordinates.
    checks: tuple = ()
    #: For a bound: "lower" (the quantity is at least the claim) or "upper" (at most).
    alternative: str | None = None
    #: Why no simulation checks it (a deterministic quantity, an approximation exact at no size); a claim
    #: without checks must say why.
    not_simulated: str = ""
    #: Why the claim has no form for a combination of its choices (a message), or None where it has one. It
    #: lets :meth:`variants` list the combinations without building every form (SymPy work of seconds,
    #: done when a form is first used); ``None``: a form for every combination.
    no_form: Callable[[Mapping[str, str]], str | None] | None = field(default=None, repr=False, compare=False)
    #: The module that registered it (set by theory.registry.register).
    provider: str = field(default="", repr=False, compare=False)
    #: The forms built so far, by their sorted choices.
    _forms: dict = field(default_factory=dict, repr=False, compare=False)

    # -- structure -------------------------------------------------------------------------------
    @property
    def choices(self) -> dict[str, tuple[str, ...]]:
        """The discrete choices (estimator, workflow, ...) and their options."""
        return {p.name: p.options for p in self.params if p.kind == "choice"}

    @property
    def symbols(self) -> tuple[sp.Symbol, ...]:
        """The numeric parameters' SymPy symbols, with their assumptions."""
        return tuple(p.symbol for p in self.params if p.kind != "choice")

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    def _symbol(self, name: str) -> sp.Basic:
        """The symbol of a parameter (or of a value a claim's prepare step adds), for evaluation."""
        for p in self.params:
            if p.name == name:
                return p.symbol
        return getattr(S, name)

    def variants(self) -> list[dict[str, str]]:
        """Every combination of choices the claim has a form for (those :attr:`no_form` does not refuse;
        no form is built here)."""
        combos: list[dict[str, str]] = [{}]
        for name, opts in self.choices.items():
            combos = [{**c, name: o} for c in combos for o in opts]
        if self.no_form is None:
            return combos
        return [c for c in combos if self.no_form(c) is None]

    def check_declaration(self, quantities: Mapping[str, Any]) -> None:
        """Refuse a claim whose quantity, fixed coordinates, checks or bound are declared inconsistently
        (at registration, with a message that names the claim)."""
        q = quantities.get(self.quantity)
        if q is None:
            raise ValueError(f"claim {self.id}: its quantity {self.quantity!r} is not registered (declare it with "
                             "theory.quantities.quantity before the claim)")
        names = [p.name for p in self.params]
        stray = [n for n in [*names, *self.fixed] if n not in q.coordinates]
        if stray:
            raise ValueError(f"claim {self.id}: {', '.join(stray)} {'is not a coordinate' if len(stray) == 1 else 'are not coordinates'} "
                             f"of its quantity {q.id} ({', '.join(q.coordinates)})")
        if (self.kind == "bound") != (self.alternative in ("lower", "upper")):
            raise ValueError(f"claim {self.id}: a bound says alternative='lower' or 'upper', and only a bound does")
        if not self.checks and not self.not_simulated:
            raise ValueError(f"claim {self.id}: declare its checks, or say why it is not simulated (not_simulated=...)")
        for check in self.checks:
            extra = set(check.at) - set(q.coordinates)
            if extra:
                raise ValueError(f"claim {self.id}: a check gives {', '.join(sorted(extra))}, not a coordinate of {q.id}")

    def resolve_choices(self, given: Mapping[str, Any]) -> dict[str, str]:
        """The claim's discrete choices (estimator, workflow, ...) from ``given``, defaults filled in."""
        return self._choices(given)

    def _choices(self, given: Mapping[str, Any]) -> dict[str, str]:
        out = {}
        for name, opts in self.choices.items():
            value = given.get(name, self.defaults.get(name))
            if value is None:
                raise ValueError(f"{self.id}: {name} must be given, one of {', '.join(opts)}")
            if not isinstance(value, str) or value not in opts:
                raise ValueError(f"{name} must be one of {', '.join(opts)}; got {value!r}")
            out[name] = value
        return out

    def form(self, **choices: str) -> Form:
        """The form for the given choices (defaults filled in)."""
        unknown = set(choices) - set(self.choices)
        if unknown:
            raise ValueError(_unknown_msg(self, unknown))
        return _build(self, tuple(sorted(self._choices(choices).items())))

    # Shortcuts for the default form.
    @property
    def expr(self) -> sp.Expr:
        return self.form().expr

    @property
    def schedule_expr(self) -> sp.Expr | None:
        return self.form().schedule_expr

    @property
    def series(self) -> sp.Expr | None:
        return self.form().series

    @property
    def limit(self) -> sp.Expr | None:
        return self.form().limit

    @property
    def derivation(self) -> tuple[Step, ...]:
        return self.form().derivation

    @property
    def recursion(self) -> Recursion | None:
        return self.form().recursion

    # -- evaluation ------------------------------------------------------------------------------
    def validate(self, **values: Any) -> dict[str, Any]:
        """Check a parameter point; return it with sizes as ints, reals as mpf, choices filled in.

        Raises ``ValueError`` naming the offending parameter.
        """
        names = {p.name for p in self.params}
        unknown = set(values) - names
        if unknown:
            raise ValueError(_unknown_msg(self, unknown))
        out: dict[str, Any] = dict(self._choices(values))
        why = self.no_form(out) if self.no_form is not None else None
        if why:
            raise ValueError(why)
        for p in self.params:
            if p.kind == "choice":
                continue
            if p.name not in values or values[p.name] is None:
                if not p.optional:
                    raise ValueError(f"{self.id}: missing parameter {p.name} ({p.doc})")
                out[p.name] = None
                continue
            v = values[p.name]
            if p.kind == "size":
                out[p.name] = _as_int(p.name, v, p.minimum)
            elif p.kind == "positive":
                out[p.name] = _as_positive(p.name, v)
            elif p.kind == "nonnegative":
                out[p.name] = _as_nonnegative(p.name, v)
            elif p.kind in ("vector", "positive_vector", "probability_vector"):
                out[p.name] = _as_vector(p.name, v, positive=p.kind != "vector")
            elif p.kind in ("schedule", "positive_schedule"):
                if p.kind == "schedule":
                    sched = _as_schedule(p.name, v, p.minimum)
                    scalar = isinstance(sched, int)
                else:
                    scalar = not isinstance(v, Iterable) or isinstance(v, (str, bytes))
                    sched = _as_positive(p.name, v) if scalar else tuple(_as_vector(p.name, v, positive=True))
                form = None if scalar else _build(self, tuple(sorted(self._choices(values).items())))
                if not scalar and form.schedule_expr is None and form.recursion is None:
                    raise ValueError(f"{p.name} must be a single number for {self.id} (no schedule form)")
                out[p.name] = sched
        if self.prepare is not None:
            out = self.prepare(out)
        for check in self.constraints:
            msg = check(out)
            if msg:
                raise ValueError(msg)
        for p in self.params:  # schedules are expanded once the generation count is known
            if p.kind in ("schedule", "positive_schedule") and isinstance(out[p.name], (tuple, sp.Expr)):
                out[p.name] = _expand_schedule(p.name, out[p.name], out[self.generation], p.minimum)
        return out

    def evaluate_mp(self, dps: int = DPS, **values: Any) -> mpmath.mpf:
        """The claim's value at a point, as an mpmath number computed at ``dps`` digits."""
        point = self.validate(**values)
        form = _build(self, tuple(sorted((k, point[k]) for k in self.choices)))
        with mpmath.workdps(dps):
            env, expr = self._env(form, point)
            try:
                if form.recursion is not None:
                    rec = form.recursion
                    return +rec.run(env, int(point[rec.index.name]))
                return +mp_eval(expr, env)
            except ZeroDivisionError:
                # A denominator that vanishes at the working precision: a point on (or, like lam = 1e-192
                # with T <= d, closer than 10^-dps to) a pole of the formula.
                shown = ", ".join(f"{k}={mpmath.nstr(v, 6) if isinstance(v, (float, mpmath.mpf)) else v}" for k, v in point.items()
                                  if v is not None and not isinstance(v, list))
                raise EvaluationError(f"{self.id} diverges at {shown}: a denominator of its formula is 0 at "
                                      f"{dps}-digit precision (the point is on, or within 1e-{dps} of, a pole)") from None

    def _env(self, form: Form, point: dict, skip: str | None = None) -> tuple[dict, sp.Expr]:
        """The evaluation environment of a validated point (at the working precision), and the
        expression to evaluate in it (the schedule form where a schedule was given)."""
        env: dict = {}
        expr = form.expr
        for name, v in point.items():
            if name in self.choices or v is None or name == skip:
                continue
            if isinstance(v, list):
                base, offset = S.INDEXED[name]
                env[base] = _Seq(v, offset)
                if name in S.SCHEDULED:
                    expr = form.schedule_expr
            else:
                env[self._symbol(name)] = mpmath.mpf(v)
        for aux in form.where:
            env[aux.symbol] = aux.compute(env)
        return env, expr

    def evaluate_along(self, index: str, at: Sequence[int], **values: Any) -> list[float]:
        """The claim's values at each value of the parameter ``index`` (e.g. the generation).

        The same numbers as :meth:`evaluate` at each point; a claim known through a recursion over
        ``index`` is run once, up to the largest value, instead of once per value.
        """
        at = list(at)
        if not at:
            return []
        form = self.form(**{k: v for k, v in values.items() if k in self.choices})
        rec = form.recursion
        if rec is None or rec.index.name != index:
            return [self.evaluate(**values, **{index: a}) for a in at]
        points = [self.validate(**values, **{index: a}) for a in at]
        last = max(points, key=lambda p: p[index])  # schedules are expanded to the longest length
        with mpmath.workdps(DPS):
            env, _ = self._env(form, last, skip=index)
            return [float(v) for v in rec.run_many(env, [int(p[index]) for p in points])]

    def evaluate(self, **values: Any) -> float:
        """The claim's value at a point (mpmath at 40 digits, returned as a float).

        Parameters are the toolkit's names (``sigma``, ``T``, ``g``, ...). Raises ``ValueError``
        naming the parameter for a value outside the claim's domain.
        """
        return float(self.evaluate_mp(**values))

    def evaluate_expression(self, expr: sp.Expr, **values: Any) -> float:
        """Another expression for this claim's quantity (a user's conjecture), at a point of the claim.

        The point is validated (and prepared) as for :meth:`evaluate`, and ``expr`` is evaluated in the
        same environment with mpmath, never by SymPy's exact arithmetic (bounded in work: see
        ``theory.evaluation``). Raises ``ValueError`` if the point is invalid, and ``EvaluationError`` if
        ``expr`` uses a parameter that has no single value here (a schedule), if it cannot be evaluated
        within the budget, or if its value is not a finite real.
        """
        point = self.validate(**values)
        form = _build(self, tuple(sorted((k, point[k]) for k in self.choices)))
        scalars = {self._symbol(k) for k, v in point.items() if k not in self.choices and v is not None
                   and not isinstance(v, list)}
        missing = expr.free_symbols - scalars  # (a Sum's own index is not free)
        if missing:
            names = ", ".join(sorted(s.name for s in missing))
            raise EvaluationError(f"the expression uses {names}, which has no single value at this point")
        with mpmath.workdps(DPS):
            env, _ = self._env(form, point)
            try:
                value = mp_eval(expr, env)
            except ZeroDivisionError:
                raise EvaluationError("the expression divides by zero at this point") from None
            except (OverflowError, ArithmeticError) as e:
                raise EvaluationError(f"the expression cannot be evaluated at this point ({type(e).__name__}: {e})") from None
        if isinstance(value, mpmath.mpc):
            if abs(value.imag) > mpmath.mpf(10) ** (-DPS // 2) * max(1, abs(value.real)):
                raise EvaluationError(f"the expression is not real at this point (value {mpmath.nstr(value, 6)})")
            value = value.real
        if not math.isfinite(float(value)):  # (1e309 is finite to mpmath, not as a float)
            raise EvaluationError(f"the expression is not a finite number{' in double precision' * mpmath.isfinite(value)} "
                                  f"at this point (value {mpmath.nstr(value, 6)})")
        return float(value)

    def lambdify(self, **choices: str) -> Callable[..., Any]:
        """A NumPy/SciPy function of the numeric parameters (keywords), for the given choices.

        Float64 arithmetic: it agrees with :meth:`evaluate` to about 1e-12 relative where the
        expression is well conditioned (moderate sizes: gamma functions overflow past T of about 340,
        and gaussian.w2_risk_var cancels O(1) terms down to O(g^2/T^2)). Not available for forms
        that need a recursion, a vector, a schedule or a numerically solved fixed point.
        """
        form = self.form(**choices)
        if form.recursion is not None:
            raise ValueError(f"{self.id} is defined by a recursion; use evaluate()")
        expr = form.closed_expr()
        if expr.atoms(sp.Indexed):
            raise ValueError(f"{self.id} with {choices} depends on a vector or schedule; use evaluate()")
        syms = list(self.symbols)
        printer = _Printer(
            {"fully_qualified_modules": False, "inline": True, "allow_unknown_functions": True, "user_functions": {}}
        )
        fn = sp.lambdify(syms, _for_mpmath(expr), modules=[{"math": math}, "scipy", "numpy"], printer=printer)
        names = [p.name for p in self.params if p.kind != "choice"]
        required = {p.name for p in self.params if p.kind != "choice" and not p.optional}

        # NumPy evaluates every branch of a Piecewise; the branches not selected may divide by zero.
        # Their warnings are noise (a problem in the selected branch still shows as nan or inf).
        quiet = expr.has(sp.Piecewise)

        def f(**kw):
            missing = required - set(kw)
            if missing:
                raise ValueError(f"missing parameter(s): {', '.join(sorted(missing))}")
            if quiet:
                import numpy as np

                with np.errstate(divide="ignore", invalid="ignore"):
                    return fn(*[kw.get(nm) for nm in names])
            return fn(*[kw.get(nm) for nm in names])

        f.__doc__ = f"NumPy form of {self.id} ({', '.join(f'{k}={v}' for k, v in choices.items())})"
        return f

    @property
    def errata(self) -> list:
        """The errata recorded on this claim (theory.errata): where the literature differs from it."""
        from .errata import for_claim

        return for_claim(self.id)

    def __repr__(self) -> str:
        return f"<Claim {self.id}: {self.title}>"

    # -- display in a notebook (IPython's rich display protocol) ---------------------------------------
    def latex(self, **choices: str) -> str:
        """The form's mathematics as LaTeX: ``id = expression`` (or its exact recursion), then what each
        auxiliary quantity solves."""
        form = self.form(**choices)
        name = r"\mathtt{%s}" % self.id.replace("_", r"\_")
        if form.recursion is not None:
            body = r",\quad ".join(sp.latex(eq) for eq in form.recursion.equations())
            body += r",\quad %s = %s" % (name, sp.latex(form.recursion.output))
        else:
            body = f"{name} = {sp.latex(form.expr)}"
        for aux in form.where:
            body += r",\quad \text{where } " + sp.latex(aux.equation)
        return body

    def _repr_latex_(self) -> str:
        """Jupyter shows a claim as its default form's formula."""
        return f"$\\displaystyle {self.latex()}$"

    def _repr_html_(self) -> str:
        """Jupyter's HTML view: the title, the formula (typeset by the page's MathJax), its limit, the
        source, the assumptions and the number of errata."""
        from html import escape

        form = self.form()
        chosen = ", ".join(f"{k}={v}" for k, v in self._choices({}).items())
        parts = [f"<p><strong>{escape(self.id)}</strong>: {escape(self.title)} ({escape(self.kind)}"
                 + (f"; {escape(chosen)}" if chosen else "") + ")</p>",
                 f'<p><span class="math">\\[{escape(self.latex())}\\]</span></p>']
        if form.limit is not None and self.generation:
            parts.append(f'<p>As {escape(self.generation)} &rarr; &infin;: <span class="math">'
                         f"\\({escape(sp.latex(form.limit))}\\)</span></p>")
        parts.append(f"<p>Source: {escape(str(self.source))}</p>")
        if self.assumptions:
            parts.append("<ul>" + "".join(f"<li>{escape(a)}</li>" for a in self.assumptions) + "</ul>")
        if self.errata:
            n = len(self.errata)
            parts.append(f"<p>{n} {'erratum' if n == 1 else 'errata'} (<code>collapse show {escape(self.id)} "
                         "--errata</code>)</p>")
        return '<div class="collapse-claim">' + "".join(parts) + "</div>"


def _build(claim: Claim, choices: tuple) -> Form:
    """The claim's form for these (sorted) choices, built on first use and kept."""
    form = claim._forms.get(choices)
    if form is None:
        why = claim.no_form(dict(choices)) if claim.no_form is not None else None
        if why:
            raise ValueError(why)
        form = claim._forms[choices] = claim.builder(**dict(choices))
    return form


def _unknown_msg(claim: Claim, unknown: Iterable[str]) -> str:
    names = [p.name for p in claim.params]
    parts = []
    for u in sorted(unknown):
        close = difflib.get_close_matches(u, names, n=1, cutoff=0.5)
        parts.append(f"{u}" + (f" (did you mean {close[0]}?)" if close else ""))
    return f"{claim.id}: unknown parameter {', '.join(parts)}; it takes {', '.join(names)}"

