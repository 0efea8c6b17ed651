"""A Sphinx extension that fails the build when a built page would load anything from outside the site.

The site must read offline (issue 22): no script, style sheet, image, font or frame from another
address. Links a reader may follow (an ``<a href>`` to a paper) are not loads and are allowed. Every
built HTML file is scanned for ``src=`` and for ``href=`` on ``<link>`` elements, and for ``url(...)``
in inline styles; the copied MathJax (sphinx-mathjax-offline) is local, and its files are not HTML.
"""

from __future__ import annotations

import re
from pathlib import Path

#: Attributes that make a browser fetch something: src= anywhere, href= on <link>, and CSS url(...).
LOADS = re.compile(r"""<[^>]*\bsrc\s*=\s*["']?(?P<src>[^"'\s>]+)"""
                   r"""|<link\b[^>]*\bhref\s*=\s*["']?(?P<href>[^"'\s>]+)"""
                   r"""|url\(\s*["']?(?P<url>[^"')]+)""", re.I)
OUTSIDE = re.compile(r"^(?:[a-z][a-z0-9+.-]*:)?//", re.I)  # http://, https://, protocol-relative //


def outside_loads(folder: str | Path) -> list[tuple[str, str]]:
    """(file, address) for every outside address a built HTML page under ``folder`` would load."""
    found = []
    for page in sorted(Path(folder).rglob("*.html")):
        for m in LOADS.finditer(page.read_text(errors="replace")):
            address = m.group("src") or m.group("href") or m.group("url")
            if OUTSIDE.match(address):
                found.append((str(page.relative_to(folder)), address))
    return found


def _check(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    found = outside_loads(app.outdir)
    if found:
        shown = "\n".join(f"  {page}: {address}" for page, address in found[:20])
        raise RuntimeError(f"{len(found)} outside address(es) would be loaded by the built site:\n{shown}")


def setup(app):
    app.connect("build-finished", _check)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
