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
from numerics.sweep import Config, read_results, run_sweep

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


def _decoded(png: bytes):
    import matplotlib.image

    return matplotlib.image.imread(io.BytesIO(png), format="png")


def _page_images(page: str) -> list[bytes]:
    checker = Checker()
    checker.feed(page)
    assert not checker.errors and not checker.stack
    return [base64.b64decode(src.split(",", 1)[1]) for src in checker.images]


CATEGORICAL = {"description": "a small categorical sweep", "simulator": "categorical", "generations": 5,
               "trials": 500, "seed": 0, "metrics": ["diversity_ratio", "surviving"],
               "fixed": {"n": 20, "K": 5, "zipf": 1.0}, "grid": {"workflow": ["replace", "accumulate"]}}


def test_a_store_with_a_theory_column_gets_a_theory_table_and_its_figure_only_the_chosen_metrics(tmp_path):
    store = tmp_path / "categorical.parquet"
    run_sweep(Config.from_dict(CATEGORICAL), store, jobs=1, progress=False)
    section = report.store_section("Categorical", store, "collapse sweep c.toml", {"metrics": ["surviving"]},
                                   ("9.9", None))
    columns, rows = section.table
    assert columns == ("gen", "metric", "cell", "theory", "estimate", "se", "z")
    assert {r[0] for r in rows} == {"1", "2", "5"}  # a few generations: first, between, last
    assert {r[2] for r in rows} == {"workflow=replace", "workflow=accumulate"}
    table = read_results(store)
    for gen, metric, cell, theory, estimate, se, z in rows:
        r = table[(table["generation"] == int(gen)) & (table["metric"] == metric)
                  & (table["workflow"] == cell.split("=")[1])].iloc[0]
        assert float(z) == pytest.approx((r["estimate"] - r["theory"]) / r["se"], rel=1e-3, abs=6e-3)
        assert float(theory) == pytest.approx(r["theory"], rel=1e-3)
    assert "categorical.diversity" in section.table_caption
    assert "1 of its 2 metrics" in section.figures[0].caption
    page = report.html_page(report.Report("t", [section], [], "r"))
    assert "<th>theory</th>" in page and "workflow=accumulate" in page


def test_a_missing_deep_layer_is_a_visible_note():
    note = ("Demo runs of deep-bridge: not run, torch is not installed", None,
            "pip install torch && collapse report --demo", {"note": "torch is not installed"})
    section = report.store_section(*note, ("9.9", None))
    page = report.html_page(report.Report("t", [section], [], "r"))
    assert "not run: <code>pip install torch &amp;&amp; collapse report --demo</code>" in page
    assert "torch is not installed" in page


def test_every_shipped_configuration_is_a_section_of_the_report():
    """The report's sections are the shipped configurations' [report] tables (discovered, not listed)."""
    from numerics.config import shipped

    entries = report.shipped_entries()
    assert [e[1] for e in entries] == [f"results/{name}.parquet" for name in shipped()]
    titles = {e[0] for e in entries}
    assert "Kazdan et al. Figure 1: the multivariate Gaussian under three workflows" in titles
    kjv = next(e for e in entries if e[1] == "results/deep-kjv.parquet")
    assert kjv[2].startswith("bible -f") and kjv[2].endswith("collapse sweep deep-kjv")


@pytest.fixture(scope="module")
def deep_demo(tmp_path_factory):
    """The demo's deep sweeps (a bridge, a VAE on digits, a language model), a few seconds each."""
    pytest.importorskip("torch")
    from collapse import report_cli

    folder = tmp_path_factory.mktemp("deep-demo")
    shipped = []
    for name in ("deep-bridge", "deep-digits", "deep-markov"):
        config = Config.from_toml(name).demo_config()
        path = folder / f"{name}.parquet"
        report_cli._sweep(config, path, 1)  # run_sweep puts its artifacts beside the store
        shipped.append((config.report["title"], str(path), f"collapse report --demo (runs {name})", config.report))
    rep = report.gather([], verify=folder / "absent.json", shipped=tuple(shipped))
    report.write(rep, folder / "deep.html")
    return rep, folder


def test_the_deep_demo_embeds_its_artifacts_perplexity_histograms_and_a_bridge_table(deep_demo):
    rep, folder = deep_demo
    page = (folder / "deep.html").read_text()
    embedded = _page_images(page)
    assert all(_decoded(png).shape[0] > 10 for png in embedded)
    artifacts = sorted((folder / "deep-digits.artifacts").rglob("*.png"))
    assert {p.name for p in artifacts} == {"samples.png", "classes.png"} and len(artifacts) == 4  # 2 cells
    for png in artifacts:
        assert png.read_bytes() in embedded
    sections = {s.title.split(" (")[0]: s for s in rep.sections}
    bridge = sections["The bridge"]
    columns, rows = bridge.table
    assert {r[1] for r in rows} == {"mean_sq_error", "trace_ratio"} and {r[0] for r in rows} == {"1", "2", "3"}
    assert all(abs(float(r[6])) < 6 for r in rows)  # the bridge follows its claims
    assert "mvgaussian.trace_ratio" in bridge.table_caption
    markov = sections["Language models on a Markov language"]
    assert any("perplexity" in f.caption and f.png for f in markov.figures)
    assert "3 of its 43 metrics" in markov.figures[0].caption  # the chosen panels, not the 40 histogram shares
    assert markov.table is None  # no theory column
    assert "<th>z</th>" in page and "samples" in page


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian's chromium (apt-get install chromium)")
def test_headless_chromium_renders_the_demo_page(tmp_path):
    """collapse report --demo, opened by headless Chromium; REPORT_SCREENSHOT=PATH keeps a copy of the shot."""
    import os
    import time

    page = tmp_path / "report.html"
    start = time.monotonic()
    rc = subprocess.run([sys.executable, "-m", "collapse", "report", "--demo", "--demo-folder", str(tmp_path / "demo"),
                         "--output", str(page)], capture_output=True, text=True, timeout=600)
    assert rc.returncode == 0, rc.stderr
    print(f"collapse report --demo: {time.monotonic() - start:.0f} s, {page.stat().st_size:,} bytes")
    text = page.read_text()
    assert all(_decoded(png).shape[0] > 10 for png in _page_images(text))
    assert "not run:" not in text or "torch is not installed" in text
    shot = tmp_path / "shot.png"
    subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    "--window-size=1280,4000", f"--screenshot={shot}", page.as_uri()], capture_output=True, timeout=120)
    image = _decoded(shot.read_bytes())
    assert image.shape[:2] == (4000, 1280)
    assert image[..., :3].std() > 0.05  # not a blank page
    if os.environ.get("REPORT_SCREENSHOT"):
        shutil.copy(shot, os.environ["REPORT_SCREENSHOT"])
