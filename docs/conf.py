"""Sphinx configuration of the model-collapse documentation site.

Built with ``sphinx-build -W -b html docs docs/_build/html`` (pip install -e ".[docs]"), offline: formulas
by a local MathJax (sphinx-mathjax-offline copies it into the site), no outside address loaded (the
``offline`` extension fails the build otherwise), the guides executed at build time (myst-nb: a guide
that stops working fails the build), the API reference from the docstrings (autodoc and autosummary,
numpy-style sections by napoleon), and the claim catalogue written from the registry at every build
(the ``catalogue`` extension, one page per family under claims/).
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))

project = "model-collapse"
author = "the model-collapse authors"
copyright = "2026, the model-collapse authors"

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",
    "offline",
    "catalogue",
]

exclude_patterns = ["_build", "jupyter_execute", "**.ipynb_checkpoints", "figures/make.sh"]
# Pages written by other work that may not exist yet: listed in the index only where present (catalogue.py).
optional_pages = ["derive", "workflows", "limits", "language-models", "benchmarks"]

myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3
# Names documented in two modules (deep.train.Budget and theory.evaluation.Budget) make ambiguous
# cross-references from signatures; Sphinx picks one and warns. Unresolved references are not reported
# (nitpicky is off), so this silences only the ambiguity.
suppress_warnings = ["ref.python"]

nb_execution_mode = "force"
nb_execution_timeout = 300
nb_execution_raise_on_error = True
nb_execution_show_tb = True

autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": True}
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_mock_imports: list[str] = []
napoleon_google_docstring = False
napoleon_numpy_docstring = True

html_theme = "pydata_sphinx_theme"
html_title = "model-collapse"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "footer_start": ["copyright"],
    "footer_end": [],
}
html_static_path: list[str] = []
html_show_sourcelink = False
