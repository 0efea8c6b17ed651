"""Check a built site in a real browser: headless Chromium opens the index, a claim-catalogue page and an
executed guide, and the check fails unless MathJax typeset the formulas and the guide's figure is there.

    python docs/check_site.py docs/_build/html [--screenshot PATH]

CI runs it after building the site (.ci/run), where Debian's chromium could be installed; without a
``chromium`` on the PATH it says so and exits 0, unless ``--require`` is given. The slow tier runs the same
check on the site it builds (tests/test_docs.py). ``--screenshot`` keeps a picture of the catalogue page.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

#: Chromium's flags: no sandbox (CI runs as root), no GPU, and virtual time for MathJax to typeset.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=20000"]


def dom(site: Path, page: str) -> str:
    """The live DOM of ``page`` after its scripts ran."""
    p = subprocess.run(["chromium", *FLAGS, "--dump-dom", (site / page).as_uri()], capture_output=True, text=True,
                       timeout=180)
    return p.stdout


def problems(site: str | Path) -> list[str]:
    """What did not render (empty: everything did)."""
    site = Path(site).resolve()
    found = []
    if "model-collapse" not in dom(site, "index.html"):
        found.append("index.html: the page did not load")
    claims = dom(site, "claims/gaussian.html")
    if claims.count("<mjx-container") < 10 or "gaussian.w2_risk" not in claims:
        found.append(f"claims/gaussian.html: {claims.count('<mjx-container')} formulas typeset (at least 10 expected)")
    guide = dom(site, "getting-started.html")
    if "<mjx-container" not in guide or "<img" not in guide:
        found.append("getting-started.html: its formulas or its figure did not render")
    return found


def screenshot(site: str | Path, path: str | Path) -> None:
    subprocess.run(["chromium", *FLAGS, "--hide-scrollbars", "--window-size=1280,2000", f"--screenshot={path}",
                    (Path(site).resolve() / "claims/gaussian.html").as_uri()], capture_output=True, timeout=180)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("site", help="the built site (docs/_build/html)")
    ap.add_argument("--screenshot", metavar="PATH", help="keep a screenshot of the catalogue page here")
    ap.add_argument("--require", action="store_true", help="fail when chromium is not installed")
    args = ap.parse_args(argv)
    if not (Path(args.site) / "index.html").is_file():
        print(f"check_site: {args.site}: no built site (index.html) there", file=sys.stderr)
        return 2
    if not shutil.which("chromium"):
        print("check_site: chromium is not installed; the browser check is skipped", file=sys.stderr)
        return 2 if args.require else 0
    found = problems(args.site)
    if args.screenshot:
        screenshot(args.site, args.screenshot)
    for line in found:
        print(f"check_site: {line}", file=sys.stderr)
    if not found:
        print("check_site: the index, the catalogue and the guide rendered in Chromium (formulas and figure)")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
