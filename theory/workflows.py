"""The data workflows of the model-collapse literature, as data: what each generation's model trains on.

A workflow decides what each generation's model trains on, given the real data and the synthetic
batches sampled from earlier models. Generation 1 always trains on the real data (as in all the
anchors). From generation 2 on, a :class:`WorkflowSpec` says it: the training set is the
concatenation of its :class:`Take` parts, each one source of rows,

* ``real``: the fixed real data set (batch 0), the same n points throughout;
* ``fresh``: new draws from the truth each generation, as many as the real set holds;
* ``latest``: the synthetic batch sampled from the latest model;
* ``window``: the last ``window`` synthetic batches;
* ``synthetic``: every synthetic batch so far;
* ``all``: the real data and every synthetic batch so far (the accumulated pool),

and of that source either every row, or ``share`` x n rows (n the training-set size: the real data's
size unless the family sets ``train_size``; rounded half to even, as Python's ``round``) or ``count``
rows, drawn afresh each generation without replacement (``replace = true``: with). A share may follow
a schedule in the generation ``g`` (an expression such as ``"0.5**(g-1)"``, parsed without running
Python, or a list of values for g = 2, 3, ..., the last repeated). ``batch`` is the size of each
synthetic batch as a share of n (Dey & Donoho's alpha), or ``"rest"``: n minus the real and fresh rows
the training set takes (Shumailov et al.'s preservation of a share of real data). Left out, the
family's own ``synthetic``/``alpha`` settings decide (default: n points).

A spec is written in a sweep TOML (an inline table, or a named table under ``[workflows.NAME]``) or in
Python, and validated with one-line errors that name the field::

    [workflows.last3]
    doc = "the last three synthetic batches"
    take = [{from = "window", window = 3}]

    [workflows.fresh10]
    take = [{from = "fresh", share = 0.1}, {from = "latest"}]
    batch = "rest"

The six workflows the literature names are instances (:data:`NAMED`); ``numerics.workflows`` turns any
spec into per-generation plans for numpy arrays, torch tensors and token corpora alike, and
``theory.derive`` derives the theory of any spec. The names follow Kazdan et al. 2024, Gerstgrasser et
al. 2024 and Dey & Donoho 2024.

>>> NAMED["real-fraction"].bind(real_fraction=0.1).takes[0].share.at(2)
0.1
>>> workflow_spec({"take": [{"from": "window", "window": 0}]}, name="last0")
Traceback (most recent call last):
    ...
theory.workflows.WorkflowError: workflow last0: take[0].window must be an integer >= 1, got 0
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .errors import UserError

#: Every named workflow, with what the next model trains on.
WORKFLOWS: dict[str, str] = {
    "replace": "the latest synthetic batch only (Shumailov et al.'s 'discard')",
    "accumulate": "the real data and every synthetic batch so far (Gerstgrasser et al.'s 'augment')",
    "accumulate-subsample": "n points drawn without replacement from the accumulated pool (fixed compute; the survey's 'sub')",
    "accumulate-subsample-replacement": "n points drawn with replacement from the accumulated pool (the survey's 'sub-repl')",
    "real-fraction": "a fixed share of real points (drawn afresh), the rest from the latest batch (Shumailov et al.'s 10% preservation)",
    "real-plus-synthetic": "every real point plus the latest synthetic batch (Kazdan et al.'s scarce-real n_real x n_syn setting)",
}

#: The workflows the registered closed forms distinguish (the ``workflow`` choice of the claims).
CLAIM_WORKFLOWS: tuple[str, ...] = ("replace", "accumulate", "accumulate-subsample", "accumulate-subsample-replacement")

#: The sources of a training set's rows.
SOURCES: dict[str, str] = {
    "real": "the fixed real data set (the same points throughout)",
    "fresh": "new draws from the truth each generation, as many as the real set holds",
    "latest": "the synthetic batch sampled from the latest model",
    "window": "the last `window` synthetic batches",
    "synthetic": "every synthetic batch so far",
    "all": "the real data and every synthetic batch so far",
}

#: The keys a spec and a take may have (anything else is refused, naming it).
SPEC_KEYS = ("take", "batch", "doc", "name")
TAKE_KEYS = ("from", "window", "share", "count", "replace")
#: The largest list schedule (values for g = 2, 3, ...) and expression schedule text accepted.
MAX_SCHEDULE = 10_000


class WorkflowError(UserError, ValueError):
    """A workflow spec that cannot be used; the message names the field."""


def check_workflow(workflow: object) -> str:
    """``workflow`` if it is a workflow name; ``ValueError`` naming the choices otherwise."""
    if workflow not in WORKFLOWS:
        raise ValueError(f"workflow must be one of {', '.join(WORKFLOWS)}; got {workflow!r}")
    return workflow  # type: ignore[return-value]


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class Schedule:
    """A share that may follow the generation g (g = 2 is the first generation trained on synthetic data).

    One of: a number (``value``); ``values`` for g = 2, 3, ... (the last repeated); an expression ``text``
    in ``g`` and the spec's parameters (:meth:`WorkflowSpec.bind` fixes the parameters). Values are
    checked when used (:meth:`at`): a share must be a finite number >= 0.
    """

    value: float | None = None
    values: tuple[float, ...] = ()
    text: str | None = None

    @property
    def constant(self) -> bool:
        return self.text is None and not self.values

    def expr(self, g: Any = None, names: Mapping[str, Any] | None = None):
        """The schedule as an exact SymPy expression in ``g`` (a symbol unless given); decimals read exactly."""
        import sympy as sp

        from .expressions import parse

        gs = sp.Symbol("g", integer=True, positive=True) if g is None else g
        if self.text is not None:
            return parse(self.text, {"g": gs, **(names or {})})
        if self.values:
            vals = [sp.Rational(str(v)) for v in self.values]
            if g is not None and getattr(g, "is_Integer", False):
                return vals[min(int(g) - 2, len(vals) - 1)]
            pieces = [(v, sp.Eq(gs, i + 2)) for i, v in enumerate(vals[:-1])]
            return sp.Piecewise(*pieces, (vals[-1], True))
        return sp.Rational(str(self.value))

    def free_names(self) -> set[str]:
        """The parameter names an expression schedule uses (other than g)."""
        if self.text is None:
            return set()
        import ast

        return {n.id for n in ast.walk(ast.parse(self.text, mode="eval")) if isinstance(n, ast.Name)} - {"g"}

    def at(self, g: int, where: str = "share") -> float:
        """The share at generation ``g`` (>= 2), a finite float >= 0; WorkflowError naming ``where`` otherwise."""
        if self.text is None:
            v = self.value if not self.values else self.values[min(g - 2, len(self.values) - 1)]
        else:
            import sympy as sp

            from .evaluation import number

            e = self.expr(sp.Integer(g))
            if e.free_symbols:
                raise WorkflowError(f"{where} = {self.text!r} has unbound names {sorted(map(str, e.free_symbols))}")
            try:
                v = float(number(e))
            except (TypeError, ValueError, OverflowError) as err:
                raise WorkflowError(f"{where} = {self.text!r} at generation {g}: {err}") from None
        if not (_number(v) and v >= 0):
            raise WorkflowError(f"{where} must be a finite number >= 0 at generation {g}, got {v!r}")
        return float(v)

    def bind(self, values: Mapping[str, float]) -> Schedule:
        """The schedule with parameters replaced by numbers (exactly, as their decimal text)."""
        if self.text is None or not (self.free_names() & set(values)):
            return self
        import sympy as sp

        e = self.expr(names={k: sp.Rational(str(v)) for k, v in values.items()})
        if not e.free_symbols - {sp.Symbol("g", integer=True, positive=True)}:
            if not e.has(sp.Symbol("g", integer=True, positive=True)):
                return Schedule(value=float(e))
        return Schedule(text=str(e))

    def __str__(self) -> str:
        if self.text is not None:
            return self.text
        if self.values:
            return "[" + ", ".join(map(repr, self.values)) + "]"
        return repr(self.value)


def schedule(value: object, where: str, names: Sequence[str] = ()) -> Schedule:
    """A :class:`Schedule` from a number, a list of numbers or an expression text; WorkflowError naming ``where``."""
    if isinstance(value, Schedule):
        return value
    if _number(value):
        if value < 0:
            raise WorkflowError(f"{where} must be >= 0, got {value!r}")
        return Schedule(value=float(value))
    if isinstance(value, (list, tuple)):
        if not value or len(value) > MAX_SCHEDULE:
            raise WorkflowError(f"{where} must list between 1 and {MAX_SCHEDULE} values (for g = 2, 3, ...)")
        for i, v in enumerate(value):
            if not (_number(v) and v >= 0):
                raise WorkflowError(f"{where}[{i}] must be a finite number >= 0, got {v!r}")
        return Schedule(values=tuple(float(v) for v in value))
    if isinstance(value, str):
        import sympy as sp

        from .expressions import ExpressionError, parse

        syms = {n: sp.Symbol(n) for n in names}
        try:
            parse(value, {"g": sp.Symbol("g", integer=True, positive=True), **syms})
        except ExpressionError as e:
            raise WorkflowError(f"{where}: {e} (a schedule may use g, the generation{', ' if names else ''}"
                                f"{', '.join(names)})") from None
        return Schedule(text=value.strip())
    raise WorkflowError(f"{where} must be a number, a list of numbers or an expression in g, got {value!r}")


@dataclass(frozen=True)
class Take:
    """One part of a training set: rows of one source (see the module docstring)."""

    source: str
    window: int | None = None
    share: Schedule | None = None
    count: int | None = None
    replace: bool = False

    @property
    def subsampled(self) -> bool:
        """Whether rows are drawn (a share or a count) rather than every row taken."""
        return self.share is not None or self.count is not None

    @property
    def synthetic_only(self) -> bool:
        return self.source in ("latest", "window", "synthetic")

    def describe(self) -> str:
        src = f"the last {self.window} synthetic batches" if self.source == "window" else SOURCES[self.source]
        if self.share is not None:
            how = f"{self.share} x n rows"
        elif self.count is not None:
            how = f"{self.count} rows"
        else:
            return src
        return f"{how} drawn afresh each generation {'with' if self.replace else 'without'} replacement from {src}"


@dataclass(frozen=True)
class WorkflowSpec:
    """A data workflow as data: the parts of each training set from generation 2 on, and the batch size.

    ``batch`` is None (the family's synthetic/alpha settings decide), a :class:`Schedule` share of n,
    or ``"rest"``. ``params`` names the parameters its expressions may use (the named real-fraction
    workflow's ``real_fraction``), which :meth:`bind` fixes.
    """

    takes: tuple[Take, ...]
    batch: Schedule | str | None = None
    name: str | None = None
    doc: str = ""
    params: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        _validate(self)

    @property
    def label(self) -> str:
        return self.name or "custom workflow"

    # -- what a driver needs to know ------------------------------------------------------------------
    @property
    def keeps_all(self) -> bool:
        """Whether every synthetic batch must stay stored (a source reads batches older than the latest)."""
        return any(t.source in ("synthetic", "all") for t in self.takes)

    @property
    def window(self) -> int:
        """How many of the latest synthetic batches later plans can read (0: none)."""
        w = 0
        for t in self.takes:
            w = max(w, t.window if t.source == "window" else 1 if t.source == "latest" else 0)
        return w

    @property
    def reads_real(self) -> bool:
        """Whether the fixed real set is read after generation 1."""
        return any(t.source in ("real", "all") for t in self.takes)

    @property
    def fresh(self) -> bool:
        """Whether real data are drawn afresh from the truth each generation."""
        return any(t.source == "fresh" for t in self.takes)

    def bind(self, **values: float) -> WorkflowSpec:
        """The spec with its parameters fixed; WorkflowError naming a parameter it does not have or lacks."""
        unknown = set(values) - set(self.params)
        if unknown:
            raise WorkflowError(f"workflow {self.label} has no parameter {sorted(unknown)[0]!r}"
                                f"{' (it has ' + ', '.join(self.params) + ')' if self.params else ''}")
        missing = set(self.params) - set(values)
        if missing:
            raise WorkflowError(f"workflow {self.label} needs {sorted(missing)[0]}")
        for k, v in values.items():
            if not _number(v):
                raise WorkflowError(f"{k} must be a finite number, got {v!r}")
        takes = tuple(replace(t, share=t.share.bind(values)) if t.share is not None else t for t in self.takes)
        batch = self.batch.bind(values) if isinstance(self.batch, Schedule) else self.batch
        return WorkflowSpec(takes, batch, self.name, self.doc, ())

    @property
    def text(self) -> str:
        """The spec as compact JSON of its take and batch (keys sorted; no doc or name: they change no draw):
        equal specs, equal text. A simulator's ``workflow`` setting holds a declared workflow as this text
        (numerics.workflows.canonical), and a derived claim's ``workflow`` coordinate is it too."""
        import json

        d = self.as_dict()
        d.pop("doc", None)
        return json.dumps(d, sort_keys=True, separators=(",", ":"))

    def describe(self) -> str:
        parts = "; ".join(t.describe() for t in self.takes)
        batch = ("n minus the real rows" if self.batch == "rest" else
                 f"{self.batch} x n" if self.batch is not None else "the family's synthetic size")
        return f"{parts} (synthetic batches of {batch})"

    def as_dict(self) -> dict:
        """The spec as its TOML table (what :func:`workflow_spec` reads back)."""
        out: dict[str, Any] = {"take": []}
        for t in self.takes:
            d: dict[str, Any] = {"from": t.source}
            if t.window is not None:
                d["window"] = t.window
            if t.share is not None:
                d["share"] = _plain(t.share)
            if t.count is not None:
                d["count"] = t.count
            if t.replace:
                d["replace"] = True
            out["take"].append(d)
        if self.batch is not None:
            out["batch"] = self.batch if isinstance(self.batch, str) else _plain(self.batch)
        if self.doc:
            out["doc"] = self.doc
        return out


def _plain(s: Schedule):
    return s.text if s.text is not None else list(s.values) if s.values else s.value


def _validate(spec: WorkflowSpec) -> None:
    where = f"workflow {spec.label}"
    if not spec.takes:
        raise WorkflowError(f"{where}: take must list at least one source of rows")
    for i, t in enumerate(spec.takes):
        at = f"{where}: take[{i}]"
        if t.source not in SOURCES:
            raise WorkflowError(f"{at}.from must be one of {', '.join(SOURCES)}, got {t.source!r}")
        if t.source == "window":
            if isinstance(t.window, bool) or not isinstance(t.window, int) or t.window < 1:
                raise WorkflowError(f"{at}.window must be an integer >= 1, got {t.window!r}")
        elif t.window is not None:
            raise WorkflowError(f"{at}.window applies to from = 'window' only")
        if t.share is not None and t.count is not None:
            raise WorkflowError(f"{at}: give share or count, not both")
        if t.count is not None and (isinstance(t.count, bool) or not isinstance(t.count, int) or t.count < 1):
            raise WorkflowError(f"{at}.count must be an integer >= 1, got {t.count!r}")
        if not isinstance(t.replace, bool):
            raise WorkflowError(f"{at}.replace must be true or false, got {t.replace!r}")
        if t.replace and not t.subsampled:
            raise WorkflowError(f"{at}.replace needs a share or a count to draw")
        if t.share is not None and t.share.constant and t.share.value == 0:
            raise WorkflowError(f"{at}.share is 0: leave the source out instead")
        if t.share is not None:
            extra = t.share.free_names() - set(spec.params)
            if extra:
                raise WorkflowError(f"{at}.share uses unknown names {sorted(extra)} (a schedule may use g)")
    sources = [t.source for t in spec.takes]
    if "real" in sources and "all" in sources:
        raise WorkflowError(f"{where}: 'all' already holds the real data; do not take 'real' too")
    if len(set(sources)) != len(sources):
        dup = next(s for s in sources if sources.count(s) > 1)
        raise WorkflowError(f"{where}: take lists {dup!r} twice; give it once")
    if isinstance(spec.batch, str):
        if spec.batch != "rest":
            raise WorkflowError(f"{where}: batch must be a share of n (a number or schedule) or 'rest', got {spec.batch!r}")
        if not any(t.source in ("real", "fresh") and t.subsampled for t in spec.takes):
            raise WorkflowError(f"{where}: batch = 'rest' needs a share or count of real or fresh rows to be the rest of")
    elif spec.batch is not None:
        if not isinstance(spec.batch, Schedule):
            raise WorkflowError(f"{where}: batch must be a number, a schedule or 'rest', got {spec.batch!r}")
        if spec.batch.constant and not spec.batch.value > 0:
            raise WorkflowError(f"{where}: batch must be > 0, got {spec.batch.value!r}")
    if not any(t.synthetic_only or t.source == "all" for t in spec.takes):
        raise WorkflowError(f"{where}: no take reads synthetic data, so nothing collapses; "
                            "add from = 'latest', 'window', 'synthetic' or 'all'")


def workflow_spec(value: object, name: str | None = None) -> WorkflowSpec:
    """A :class:`WorkflowSpec` from a workflow name, a spec, or its TOML table (a mapping).

    Errors are :class:`WorkflowError` naming the field (``workflow last3: take[0].window must be ...``).
    """
    if isinstance(value, WorkflowSpec):
        return value
    if isinstance(value, str):
        if value in NAMED:
            return NAMED[value]
        raise WorkflowError(f"workflow must be one of {', '.join(NAMED)} or a table, got {value!r}")
    if not isinstance(value, Mapping):
        raise WorkflowError(f"a workflow is a name or a table, got {type(value).__name__}")
    label = f"workflow {value.get('name', name) or 'custom workflow'}"
    unknown = [k for k in value if k not in SPEC_KEYS]
    if unknown:
        raise WorkflowError(f"{label}: unknown field {unknown[0]!r} (fields: {', '.join(SPEC_KEYS)})")
    takes_in = value.get("take")
    if isinstance(takes_in, Mapping):
        takes_in = [takes_in]
    if not isinstance(takes_in, list) or not takes_in:
        raise WorkflowError(f"{label}: take must be a list of tables such as {{from = 'latest'}}")
    takes = []
    for i, t in enumerate(takes_in):
        at = f"{label}: take[{i}]"
        if not isinstance(t, Mapping):
            raise WorkflowError(f"{at} must be a table such as {{from = 'latest'}}, got {t!r}")
        bad = [k for k in t if k not in TAKE_KEYS]
        if bad:
            raise WorkflowError(f"{at}: unknown field {bad[0]!r} (fields: {', '.join(TAKE_KEYS)})")
        if "from" not in t:
            raise WorkflowError(f"{at}.from is missing (one of {', '.join(SOURCES)})")
        share = schedule(t["share"], f"{at}.share") if "share" in t else None
        takes.append(Take(t["from"], t.get("window"), share, t.get("count"), t.get("replace", False)))
    batch = value.get("batch")
    if batch is not None and batch != "rest":
        batch = schedule(batch, f"{label}: batch")
    doc = value.get("doc", "")
    if not isinstance(doc, str):
        raise WorkflowError(f"{label}: doc must be text")
    return WorkflowSpec(tuple(takes), batch, value.get("name", name), doc)


#: The six named workflows as specs.
NAMED: dict[str, WorkflowSpec] = {
    "replace": WorkflowSpec((Take("latest"),), name="replace", doc=WORKFLOWS["replace"]),
    "accumulate": WorkflowSpec((Take("all"),), name="accumulate", doc=WORKFLOWS["accumulate"]),
    "accumulate-subsample": WorkflowSpec((Take("all", share=Schedule(1.0)),), name="accumulate-subsample",
                                         doc=WORKFLOWS["accumulate-subsample"]),
    "accumulate-subsample-replacement": WorkflowSpec(
        (Take("all", share=Schedule(1.0), replace=True),), name="accumulate-subsample-replacement",
        doc=WORKFLOWS["accumulate-subsample-replacement"]),
    "real-fraction": WorkflowSpec((Take("real", share=Schedule(text="real_fraction")), Take("latest")), batch="rest",
                                  name="real-fraction", doc=WORKFLOWS["real-fraction"], params=("real_fraction",)),
    "real-plus-synthetic": WorkflowSpec((Take("real"), Take("latest")), name="real-plus-synthetic",
                                        doc=WORKFLOWS["real-plus-synthetic"]),
}
