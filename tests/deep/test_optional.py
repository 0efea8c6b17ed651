"""torch is optional: without it the toolkit works and the deep simulators say how to install it;
`collapse list` never imports numpy or torch."""

import subprocess
import sys
import textwrap


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120)


def test_without_torch_the_deep_simulators_say_how_to_install_it():
    r = _python("""
        import sys
        sys.modules["torch"] = None  # as if torch were not installed
        from numerics import catalog
        names = set(catalog.load())
        assert "gaussian" in names and "images" not in names, names
        try:
            catalog.get("images")
        except catalog.SettingError as e:
            print(e)
    """)
    assert r.returncode == 0, r.stderr
    assert "the deep-learning simulators need torch: pip install" in r.stdout


def test_collapse_list_imports_neither_numpy_nor_torch():
    r = _python("""
        import sys
        from collapse.cli import main
        try:
            main(["list"])
        except SystemExit:
            pass
        print("LOADED", "numpy" in sys.modules, "torch" in sys.modules)
    """)
    assert r.returncode == 0, r.stderr
    assert "LOADED False False" in r.stdout


def test_finding_the_claims_checks_imports_no_torch():
    """collapse verify's own process finds every check, the deep simulators' included, without importing torch
    (seconds); only its workers that train a model do."""
    r = _python("""
        import sys
        from numerics import verify
        items, _ = verify.default_items()
        cells, _ = verify.cells_of(items, verify.DEFAULT_TRIALS)
        deep = sorted({c.simulator for c in cells} & {"bridge", "lm-bridge"})
        print("DEEP", deep, "TORCH", "torch" in sys.modules)
    """)
    assert r.returncode == 0, r.stderr
    assert "DEEP ['bridge', 'lm-bridge'] TORCH False" in r.stdout
