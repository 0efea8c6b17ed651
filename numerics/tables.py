"""Tables as text, one renderer for every command (verify, check, sweep --show): aligned text, Markdown
and LaTeX by the tabulate library, CSV by the csv module; cells arrive already formatted as strings."""

from __future__ import annotations

import csv
import io

#: The text formats of a table.
TEXT_FORMATS = ("table", "markdown", "csv", "latex")
_TABULATE = {"table": "simple", "markdown": "github", "latex": "latex"}


def render(columns, rows: list[list[str]], fmt: str) -> str:
    """``rows`` (lists of strings) under ``columns`` in one of :data:`TEXT_FORMATS`."""
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(columns)
        w.writerows(rows)
        return buf.getvalue()
    if fmt not in _TABULATE:
        raise ValueError(f"format must be one of {', '.join(TEXT_FORMATS)}, got {fmt!r}")
    from tabulate import tabulate

    if fmt == "markdown":
        rows = [[c.replace("|", "\\|") for c in r] for r in rows]
    return tabulate(rows, headers=list(columns), tablefmt=_TABULATE[fmt], disable_numparse=True) + "\n"
