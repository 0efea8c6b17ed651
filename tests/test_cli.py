"""The `collapse` command as a user runs it: a real subprocess, output and exit status."""

import subprocess
import sys

import pytest

from theory import CLAIMS


def run(*args):
    proc = subprocess.run([sys.executable, "-m", "collapse", *args], capture_output=True, text=True, timeout=300)
    return proc.returncode, proc.stdout, proc.stderr


def test_list_names_every_claim_with_its_source():
    rc, out, err = run("list")
    assert rc == 0 and not err
    lines = out.splitlines()
    assert len(lines) == len(CLAIMS)
    for cid, line in zip(CLAIMS, lines):
        assert line.startswith(cid + " ")
        assert CLAIMS[cid].source.arxiv in line


_IMPORTS = """
import contextlib, io, sys
from collapse.cli import main
with contextlib.redirect_stdout(io.StringIO()) as out:
    try:
        rc = main(ARGV)
    except SystemExit as e:  # argparse and --help exit; a command returns its status
        rc = e.code
assert rc in (0, None), (rc, out.getvalue())
assert out.getvalue().strip(), "the command printed nothing"
print("numpy" in sys.modules, "torch" in sys.modules)
if ARGV[0] == "show":  # the series in 1/T are derived on --series / --derive only
    from theory import CLAIMS, gaussian
    print(gaussian._log_c4_series.cache_info().currsize, "series" in vars(CLAIMS["gaussian.w2_risk"].form()))
"""


@pytest.mark.parametrize("argv", [["list"], ["show", "gaussian.w2_risk"]])
def test_list_and_show_import_neither_numpy_nor_torch(argv):
    """Each command runs in a fresh interpreter; afterwards neither numpy nor torch is loaded, and `show`
    has left the Gaussian claim's series underived (the slow part of building it)."""
    code = _IMPORTS.replace("ARGV", repr(argv))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "False False", f"collapse {' '.join(argv)} imported (numpy, torch) = {lines[0]}"
    if argv[0] == "show":
        assert lines[1] == "0 False", f"collapse show derived the series: {lines[1]}"


def test_show_prints_expression_value_series_and_derivation():
    rc, out, err = run("show", "regression.accumulate.test_error", "--series", "--derive", "--at", "sigma=1", "d=5", "T=20", "n=10")
    assert rc == 0, err
    assert "derivation:" in out and "limit n -> oo" in out
    assert "arXiv:2404.01413" in out
    assert "0.553488" in out  # 5/14 * H^(2)_10 = 0.5534884754...


def test_show_latex_and_choices():
    rc, out, err = run("show", "gaussian.w2_risk", "--latex", "--at", "estimator=mle", "sigma=1", "T=20", "g=10")
    assert rc == 0, err
    assert r"c_{4}\left(T\right)" in out
    assert "estimator=mle" in out and "0.643154787446" in out


def test_show_schedule_from_the_command_line():
    rc, out, err = run("show", "gaussian.mean_sq_error", "--at", "sigma=1", "T=10*(i+1)", "g=4")
    assert rc == 0, err
    assert "0.208333333333333" in out  # (1/10)(1 + 1/2 + 1/3 + 1/4)
    rc, out, err = run("show", "gaussian.mean_sq_error", "--at", "sigma=1", "T=10,20,30,40", "g=4")
    assert rc == 0 and "0.208333333333333" in out


def test_show_recursion_claim():
    rc, out, err = run("show", "mvgaussian.mean_sq_error", "--at", "workflow=accumulate-subsample", "sigma2=1", "d=5", "n=20", "t=10")
    assert rc == 0, err
    assert "recursion" in out and "0.6306615632247" in out


@pytest.mark.parametrize(
    "args,message",
    [
        (("show", "gaussian.w2risk"), "unknown claim id 'gaussian.w2risk'; did you mean gaussian.w2_risk"),
        (("show", "regression.replace.test_error", "--at", "sigma=1", "d=5", "T=6", "n=2"), "T must be greater than d + 1"),
        (("show", "gaussian.w2_risk", "--at", "sigma=nan", "T=20", "g=1"), "sigma must be a number, got NaN"),
        (("show", "gaussian.w2_risk", "--at", "sigma=1", "T=20", "g=-1"), "g must be >= 0"),
        (("show", "gaussian.w2_risk", "--at", "sigma=1", "T=1", "g=1"), "T must be >= 2"),
        (("show", "gaussian.w2_risk", "--at", "estimator=ddof2"), "estimator must be one of unbiased, mle"),
        (("show", "gaussian.w2_risk", "--at", "sigma"), "--at takes name=value"),
        (("show", "gaussian.w2_risk", "--at", "sigma=1", "T=20", "g=2.5"), "g must be an integer"),
        (("show", "gaussian.w2_risk", "--at", "sigma=1", "Tee=20", "g=2"), "unknown parameter Tee (did you mean T?)"),
        (("frobnicate",), "invalid choice"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, message):
    rc, out, err = run(*args)
    assert rc == 2
    assert message in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_show_fixed_point_claims():
    rc, out, err = run("show", "ridge.test_error", "--at", "d=100", "T=300", "T0=250", "lam=0.1", "w0_norm=1", "sigma=0.5", "sigma0=1", "n=3")
    assert rc == 0, err
    assert "where kappa solves:" in out and "in closed form:" in out
    assert "1.66303574024291" in out
    rc, out, err = run("show", "ridge.kappa", "--at", "spectrum=given", "eigenvalues=[3,1.5,1,0.5,0.1]", "lam=0.1", "T=10")
    assert rc == 0, err
    assert "solved numerically" in out
    rc, out, err = run("show", "ridge.kappa", "--at", "spectrum=power-law", "d=5", "lam=0.1", "T=10")
    assert rc == 2 and "spectrum='power-law' needs beta" in err


def test_show_universality_and_kde():
    rc, out, err = run("show", "universality.variance_ratio", "--at", "workflow=accumulate-subsample", "k=10")
    assert rc == 0, err
    assert "2.64930319349962" in out and "limit as k -> oo" in out
    rc, out, err = run("show", "kde.accumulate.variance", "--at", "sigma=1", "n=50", "t=30", "h=0.3")
    assert rc == 0, err
    assert "grows like" in out and "1.23574535257903" in out


def test_verify_writes_every_format(tmp_path, capsys):
    from collapse.cli import main

    for fmt in ("table", "markdown", "csv", "json", "latex"):  # in this process: the command line is tested above
        out = tmp_path / f"v.{fmt}"
        rc = main(["verify", "regression.accumulate", "--trials", "3000", "--format", fmt, "--output", str(out),
                   "--jobs", "1"])
        err = capsys.readouterr().err
        assert rc == 0, err
        text = out.read_text()
        assert "regression.accumulate.test" in text  # (LaTeX escapes the underscore)
        assert "comparisons" in err and "0 claims failed" in err
    import json

    data = json.loads((tmp_path / "v.json").read_text())
    assert data["meta"]["seed"] == 0 and len(data["rows"]) == 5
    assert not list(tmp_path.glob(".collapse-*"))  # no temporary files left behind


def test_check_rejects_a_planted_error_and_accepts_the_claim():
    rc, out, err = run("check", "sigma**2*d/(T-d-1)*harmonic(n)", "--quantity", "regression.accumulate.test_error")
    assert rc == 1 and "REJECTED" in err
    rc, out, err = run("check", "sigma**2*d/(T-d-1)*harmonic(n, 2)", "--quantity", "regression.accumulate.test_error")
    assert rc == 0 and "consistent with simulation" in err


@pytest.mark.parametrize(
    "args,message",
    [
        (("verify", "nothing.here"), "no simulated claim matches nothing.here"),
        (("verify", "ridge.kappa"), "deterministic: a fixed point of the spectrum"),
        (("verify", "--trials", "1"), "trials must be an integer >= 2"),
        (("check", "x**2", "--quantity", "gaussian.w2_risk"), "unknown name 'x'"),
        (("check", "sigma**2", "--quantity", "gaussian.w2risk"), "unknown claim id"),
        (("check", "lam + d/T", "--quantity", "ridge.kappa"), "ridge.kappa is not simulated"),
        (("check", "sigma**(", "--quantity", "gaussian.w2_risk"), "cannot read 'sigma**('"),
    ],
)
def test_numerics_bad_input(args, message):
    rc, out, err = run(*args)
    assert rc == 2
    assert message in err and "Traceback" not in err
