"""Root of the ``collapse`` command.

Each layer contributes its subcommands through an ``add_commands(subparsers)`` function. The theory
layer's are always there; later layers are imported only when present, so that ``collapse list``
never imports numerical or deep-learning code.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from . import __version__

#: Modules that contribute subcommands, in the order they appear in --help.
LAYERS = ("theory.cli", "numerics.cli")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit status 2
        self.exit(2, f"collapse: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="collapse", description="Model-collapse theory: closed forms, simulation, experiments.")
    parser.add_argument("--version", action="version", version=f"collapse {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in LAYERS:
        importlib.import_module(name).add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from theory.cli import UsageError

    try:
        return int(args.func(args) or 0)
    except UsageError as e:
        print(f"collapse {args.command}: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("collapse: interrupted", file=sys.stderr)
        return 130
