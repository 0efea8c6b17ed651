"""collapse report: a self-contained, well-formed page from stored results only; missing results say
which command makes them."""

import base64
import html.parser
import io
import json
import re
import shutil
import subprocess
import sys

import pytest

from collapse import report
from numerics.sweep import Config, run_sweep

SMALL = {"description": "a small sweep for the report", "simulator": "gaussian", "generations": 4, "trials": 200,
         "seed": 1, "metrics": ["mean_sq_error", "variance_ratio"], "fixed": {"d": 1, "n": 20},
         "grid": {"workflow": ["replace", "accumulate"]}}

VOID = {"meta", "img", "br", "hr", "input", "link", "area", "base", "col", "embed", "source", "track", "wbr"}


class Checker(html.parser.HTMLParser):
    """Tags balanced; every image and link address collected."""

    def __init__(self):
        super().__init__()
        self.stack, self.errors, self.addresses, self.images = [], [], [], []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("src", "href", "action", "srcset", "data"):
                self.addresses.append(value or "")
            if tag == "img" and name == "src":
                self.images.append(value)
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    store = folder / "small.parquet"
    run_sweep(Config.from_dict(SMALL), store, jobs=1, progress=False)
    verify = folder / "verify.json"
    rc = subprocess.run([sys.executable, "-m", "collapse", "verify", "regression.*", "--trials", "2000", "--jobs", "1",
                         "--format", "json", "--output", str(verify)], capture_output=True, text=True)
    assert rc.returncode == 0, rc.stderr
    shipped = (("A small sweep", str(store), "collapse sweep small.toml", {}),
               ("A sweep that was never run", str(folder / "absent.parquet"), "collapse sweep configs/absent.toml", {}))
    rep = report.gather([], verify=verify, shipped=shipped)
    paths = report.write(rep, folder / "r.html", folder / "r.md")
    return rep, folder, paths


def test_the_page_is_well_formed_self_contained_and_its_images_decode(built):
    import matplotlib.image

    _, folder, _ = built
    page = (folder / "r.html").read_text()
    checker = Checker()
    checker.feed(page)
    assert not checker.errors and not checker.stack
    assert page.startswith("<!DOCTYPE html>")
    assert checker.images and all(src.startswith("data:image/png;base64,") for src in checker.images)
    for src in checker.images:
        image = matplotlib.image.imread(io.BytesIO(base64.b64decode(src.split(",", 1)[1])), format="png")
        assert image.shape[0] > 10 and image.shape[1] > 10
    assert all(a.startswith(("#", "data:")) for a in checker.addresses), checker.addresses
    assert not re.search(r"(https?:|ftp:|//[a-z0-9.-]+\.[a-z]{2,})", page.replace("http://www.w3.org/2000/svg", "")
                         .replace("http://www.w3.org/1999/xlink", "").replace("http://purl.org/dc", "")
                         .replace("http://creativecommons.org/ns#", "").replace("http://www.w3.org/1999/02/22-rdf", ""))


def test_missing_results_say_which_command_makes_them(built):
    rep, folder, _ = built
    absent = next(s for s in rep.sections if s.title == "A sweep that was never run")
    assert absent.missing == "collapse sweep configs/absent.toml"
    page = (folder / "r.html").read_text()
    assert "not run: <code>collapse sweep configs/absent.toml</code>" in page


def test_provenance_claims_and_markdown(built):
    rep, folder, paths = built
    small = next(s for s in rep.sections if s.title == "A small sweep")
    assert small.provenance["command"] == "collapse sweep small.toml" and small.provenance["seed"] == 1
    assert "numpy" in small.provenance["versions"] and small.figures
    verify = rep.sections[0]
    assert verify.table and "regression.accumulate.test_error" in json.dumps(verify.table)
    claims = {c.id: c for c in rep.claims}
    assert claims["gaussian.w2_risk"].formula_svg and claims["gaussian.w2_risk"].formula_svg[0].startswith("<svg")
    assert claims["gaussian.w2_risk"].errata  # erratum 1
    md = (folder / "r.md").read_text()
    assert "## A small sweep" in md and "not run: `collapse sweep configs/absent.toml`" in md
    assert all((folder / "r_files" / m).exists() for m in re.findall(r"\]\(r_files/([^)]+)\)", md))


def test_a_store_from_another_version_says_so(built, tmp_path):
    _, folder, _ = built
    for name in ("small.parquet",):
        shutil.copy(folder / name, tmp_path / name)
    meta = json.loads((folder / "small.json").read_text())
    meta["versions"]["model-collapse"] = "0.0.1"
    (tmp_path / "small.json").write_text(json.dumps(meta))
    section = report.store_section("old", tmp_path / "small.parquet", "collapse sweep x", {}, ("9.9", None))
    assert "made with model-collapse 0.0.1" in section.warning


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian's chromium (apt-get install chromium)")
def test_headless_chromium_renders_the_page(built):
    _, folder, _ = built
    shot = folder / "shot.png"
    subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1280,2000",
                    f"--screenshot={shot}", (folder / "r.html").as_uri()], capture_output=True, timeout=120)
    import matplotlib.image

    image = matplotlib.image.imread(shot)
    assert image.shape[:2] == (2000, 1280)
    assert image[..., :3].std() > 0.05  # not a blank page
