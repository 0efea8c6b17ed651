"""The documentation cannot go stale: its generated sections match the code, its examples run, its site
reads offline, and claims and verification tables display in a notebook.

The README's and the pages' generated sections (docs/generate.py) are checked here: those that read only
the registries and run `collapse show` / `errata` in the default tier (seconds), those that run
simulations (`collapse verify`, `collapse check`) in the slow tier. The site build (sphinx-build, a
minute or more) is CI's own step after pytest (.ci/run); the slow tier builds it too, checks that no
page loads an outside address and, where Debian's chromium is installed, that the formulas and figures
render in a headless browser.
"""

from __future__ import annotations

import doctest
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


generate = _load("docs_generate", DOCS / "generate.py")
offline = _load("docs_offline", DOCS / "_ext" / "offline.py")


def _stale(fast: bool) -> list[str]:
    stale = []
    for name in generate.FILES:
        _, changed = generate.regenerate((ROOT / name).read_text(), fast=fast)
        stale += [f"{name}: {what}" for what in changed]
    return stale


def test_generated_sections_match_the_code():
    pytest.importorskip("torch")  # the simulator table lists the deep simulators, which need torch
    stale = _stale(fast=True)
    assert not stale, f"regenerate with `python docs/generate.py --write`: {stale}"


@pytest.mark.slow
def test_generated_simulation_outputs_match_the_code():
    pytest.importorskip("torch")
    stale = _stale(fast=False)
    assert not stale, f"regenerate with `python docs/generate.py --write`: {stale}"


def test_every_page_has_its_sections_and_the_readme_lists_every_claim():
    from theory import CLAIMS
    from theory.plugins import is_own

    for name in generate.FILES:
        assert list(generate.sections((ROOT / name).read_text())), f"{name} has no generated section"
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) < 250
    for cid, claim in CLAIMS.items():
        if is_own(claim.provider):
            assert f"`{cid}`" in readme, cid


def test_a_drifted_section_is_found_and_rewritten():
    page = "text\n<!-- BEGIN generate.py claims -->\n| stale |\n<!-- END -->\nmore\n"
    new, changed = generate.regenerate(page)
    assert changed == ["generate.py claims"]
    assert "`gaussian.w2_risk`" in new and "| stale |" not in new and new.endswith("<!-- END -->\nmore\n")
    assert generate.regenerate(new) == (new, [])


def test_a_section_runs_only_collapse_or_this_generator():
    with pytest.raises(ValueError, match="collapse"):
        generate.render("rm -rf /")
    with pytest.raises(ValueError, match="has no section"):
        generate.render("generate.py nothing")


@pytest.mark.parametrize("page", ["python.md", "sweeps.md", "testing.md"])
def test_the_pages_examples_run(page):
    failures, tried = doctest.testfile(str(DOCS / page), module_relative=False, verbose=False, report=True)
    assert tried and not failures


def test_outside_loads_are_found_and_links_are_not(tmp_path):
    html = ('<script src="https://cdn.example.org/x.js"></script><link rel="stylesheet" href="//fonts.x/y.css">'
            '<img src="_images/a.png"><a href="https://arxiv.org/abs/2305.17493">paper</a>'
            '<div style="background: url(\'http://x.org/b.png\')"></div><script src="_static/mathjax/tex-chtml.js">')
    (tmp_path / "index.html").write_text(html)
    found = [a for _, a in offline.outside_loads(tmp_path)]
    assert found == ["https://cdn.example.org/x.js", "//fonts.x/y.css", "http://x.org/b.png"]


@pytest.mark.slow
def test_the_site_builds_offline_with_every_claim(tmp_path):
    pytest.importorskip("sphinx")
    out = tmp_path / "html"
    p = subprocess.run([sys.executable, "-m", "sphinx", "-W", "-q", "-b", "html", str(DOCS), str(out)],
                       capture_output=True, text=True, cwd=ROOT)
    assert p.returncode == 0, p.stderr[-3000:]
    assert offline.outside_loads(out) == []
    from theory import CLAIMS
    from theory.plugins import is_own

    catalogue = "".join(f.read_text() for f in (out / "claims").glob("*.html"))
    missing = [c for c, claim in CLAIMS.items() if is_own(claim.provider) and c not in catalogue]
    assert not missing
    if shutil.which("chromium"):
        _renders_in_chromium(out)


def _renders_in_chromium(site: Path) -> None:
    """Open the index, a catalogue page and an executed guide in headless Chromium: MathJax typeset the
    formulas (mjx-container elements in the live DOM) and the guide's figure is there. DOCS_SCREENSHOT=PATH
    keeps a screenshot of the catalogue page."""
    import os

    def dom(page: str) -> str:
        p = subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=20000",
                            "--dump-dom", (site / page).as_uri()], capture_output=True, text=True, timeout=180)
        return p.stdout

    assert "model-collapse" in dom("index.html")
    claims = dom("claims/gaussian.html")
    assert claims.count("<mjx-container") >= 10 and "gaussian.w2_risk" in claims
    guide = dom("getting-started.html")
    assert "<mjx-container" in guide and "<img" in guide
    if os.environ.get("DOCS_SCREENSHOT"):
        subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                        "--virtual-time-budget=20000", "--window-size=1280,2000",
                        f"--screenshot={os.environ['DOCS_SCREENSHOT']}", (site / "claims/gaussian.html").as_uri()],
                       capture_output=True, timeout=180)


def test_a_claim_displays_as_its_formula_in_a_notebook():
    from theory import CLAIMS

    c = CLAIMS["gaussian.w2_risk"]
    latex = c._repr_latex_()
    assert latex.startswith("$\\displaystyle \\mathtt{gaussian.w2\\_risk} = ") and latex.endswith("$")
    assert "c_{4}" in latex and "\\frac{g}{T}" in latex
    assert "\\frac{g}{T}" not in CLAIMS["gaussian.w2_risk"].latex(estimator="mle").split("=")[0]
    html = c._repr_html_()
    assert "<strong>gaussian.w2_risk</strong>" in html and '<span class="math">\\[' in html
    assert "arXiv:2305.17493" in html and "2 errata" in html
    for claim in CLAIMS.values():  # every claim displays: closed forms, recursions, implicit quantities
        assert claim._repr_latex_().startswith("$") and claim._repr_html_().startswith("<div")
    recursion = CLAIMS["kde.accumulate.variance"]._repr_latex_()
    assert "\\quad" in recursion


def test_a_verification_table_reads_as_a_dataframe():
    from numerics.testing import assert_claim

    rows = assert_claim("sigma**2*(g/T + 2 - 2*c4(T)**g)", "gaussian.w2_risk", at={"T": 20, "sigma": 1.0},
                        generations=[1, 2], trials=400, seed=0)
    frame = rows.to_frame()
    assert list(frame["generation"]) == [1, 2] and set(frame["verdict"]) == {"pass"}
    assert frame.loc[0, "point"] == "sigma=1.0 T=20" or frame.loc[0, "point"].startswith("sigma=")
    assert frame["estimate"].tolist() == [r.estimate for r in rows]
    assert "<table" in rows._repr_html_() and "gaussian.w2_risk" in rows._repr_html_()
