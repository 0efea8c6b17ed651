"""Regenerate the generated sections of the README and of the documentation pages, or check them.

    python docs/generate.py --write            # rewrite every generated section in place
    python docs/generate.py --check            # exit 1 and name each section that differs
    python docs/generate.py --check --fast     # only the sections that run no simulation (seconds)

A generated section sits between two markers that say what produced it::

    <!-- BEGIN collapse show gaussian.w2_risk --at g=10 -->
    ...
    <!-- END -->

The text after BEGIN is either a `collapse` command line, run here exactly as written (its standard
output, then its standard error, in a ``text`` block headed by the command; raw when the command asks for
``--format markdown``), or ``generate.py NAME`` for one of this file's tables built from the registries
(:data:`SECTIONS`). Numbers in the README and the pages therefore come from the code, never from a hand:
tests/test_docs.py fails when a section drifts (the sections that run simulations in the slow tier).

Only the toolkit's own claims and simulators are listed (theory.plugins.is_own), so an installed plugin
does not change the pages; the deep simulators are listed when torch is installed. The elapsed time that
`collapse verify` prints ("; 3 s") is the one thing removed from an output, since it is not a result.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: The files whose generated sections this script owns.
FILES = ("README.md", "docs/cli.md", "docs/errata.md", "docs/simulators.md")
MARKER = re.compile(r"^<!-- BEGIN (?P<what>.+?) -->\n(?P<body>.*?)^<!-- END -->$", re.M | re.S)
#: Subcommands that simulate (tens of seconds): left out by --fast.
SLOW = ("verify", "check")
#: The elapsed time at the end of verify's summary line (not a result, so not part of the page).
ELAPSED = re.compile(r"; \d+ s$", re.M)
#: A plain progress line of a long run (numerics.execute.Progress, on stderr when it is not a terminal): when
#: and how often it appears depends on the machine's speed, so a page leaves it out, as a terminal's bar goes.
PROGRESS = re.compile(r"^\w[\w ]*: [\d,]+ of [\d,]+ done, .* spent, .*\n?", re.M)


def _md(text: str) -> str:
    """A table cell: no line breaks, no unescaped pipes."""
    return " ".join(str(text).split()).replace("|", "\\|")


def claims_table() -> str:
    """Every claim of the toolkit: id, title, source (what `collapse list` prints, as a Markdown table)."""
    from theory import CLAIMS
    from theory.plugins import is_own

    rows = ["| claim | what it gives | source |", "|---|---|---|"]
    for cid, c in CLAIMS.items():
        if is_own(c.provider):
            rows.append(f"| `{cid}` | {_md(c.title)} | {_md(c.source.short)} |")
    return "\n".join(rows)


def simulators_table() -> str:
    """Every simulator of the toolkit's catalog: what it runs, and the claims that predict what it measures."""
    from numerics import catalog
    from theory import CLAIMS
    from theory.plugins import is_own

    by_quantity: dict[str, list[str]] = {}
    for cid, c in CLAIMS.items():
        by_quantity.setdefault(c.quantity, []).append(cid)
    rows = ["| simulator | what it runs | claims it is held against |", "|---|---|---|"]
    for name, sim in catalog.load().items():
        if not is_own(sim.provider):
            continue
        claims = []
        for p in sim.produces:
            claims += [c for c in by_quantity.get(p.quantity, []) if c not in claims]
        shown = ", ".join(f"`{c}`" for c in claims) or "none (experiments: their metrics have no closed form)"
        rows.append(f"| `{name}` (`{sim.target}`) | {_md(sim.doc)} | {shown} |")
    return "\n".join(rows)


#: The tables this file builds itself, by name (``<!-- BEGIN generate.py NAME -->``).
SECTIONS: dict[str, Callable[[], str]] = {"claims": claims_table, "simulators": simulators_table}


def run_collapse(command: str) -> str:
    """A `collapse` command line's output, as a page shows it."""
    args = shlex.split(command)
    if args[0] != "collapse":
        raise ValueError(f"a generated section runs `collapse ...` or `generate.py NAME`; got {command!r}")
    env = dict(os.environ, COLUMNS="200", PYTHONHASHSEED="0")
    p = subprocess.run([sys.executable, "-m", "collapse", *args[1:]], cwd=ROOT, capture_output=True, text=True,
                       env=env, timeout=600)
    # 1: verify or check found a failing claim; 2 with one line on stderr: bad input, which a page may show
    if not (p.returncode in (0, 1) or (p.returncode == 2 and not p.stdout and p.stderr.count("\n") == 1)):
        raise RuntimeError(f"{command} exited {p.returncode}:\n{p.stderr}")
    out = ELAPSED.sub("", (p.stdout + PROGRESS.sub("", p.stderr)).rstrip())
    if "--format markdown" in command:
        return out
    return f"```text\n$ {command}\n{out}\n```"


def render(what: str) -> str:
    """The body of the section whose BEGIN marker says ``what``."""
    if what.startswith("generate.py "):
        name = what.split(None, 1)[1]
        if name not in SECTIONS:
            raise ValueError(f"generate.py has no section {name!r} (it has: {', '.join(SECTIONS)})")
        return SECTIONS[name]()
    return run_collapse(what)


def is_slow(what: str) -> bool:
    args = what.split()
    return args[0] == "collapse" and len(args) > 1 and args[1] in SLOW


def sections(text: str):
    """(what, body, match) of each generated section of a page."""
    for m in MARKER.finditer(text):
        yield m.group("what"), m.group("body").rstrip("\n"), m


def regenerate(text: str, fast: bool = False) -> tuple[str, list[str]]:
    """The page with every section regenerated (``fast``: the slow ones kept), and what changed."""
    out, last, changed = [], 0, []
    for what, body, m in sections(text):
        new = body if fast and is_slow(what) else render(what)
        if new != body:
            changed.append(what)
        out += [text[last:m.start("body")], new + "\n"]
        last = m.end("body")
    out.append(text[last:])
    return "".join(out), changed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="rewrite the generated sections in place")
    mode.add_argument("--check", action="store_true", help="exit 1 if a generated section differs")
    ap.add_argument("--fast", action="store_true", help="skip the sections that run simulations")
    ap.add_argument("files", nargs="*", default=list(FILES), help=f"pages (default: {' '.join(FILES)})")
    args = ap.parse_args(argv)
    stale = []
    for name in args.files:
        path = ROOT / name
        text = path.read_text()
        new, changed = regenerate(text, fast=args.fast)
        stale += [f"{name}: {what}" for what in changed]
        if args.write and changed:
            path.write_text(new)
    if args.check and stale:
        print("generated sections differ (run python docs/generate.py --write):\n  " + "\n  ".join(stale),
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
