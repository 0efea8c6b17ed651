"""The ``collapse`` command line: one tool over the theory, numerics and deep layers."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("model-collapse")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"
