"""Root of the ``collapse`` command.

Each layer contributes its subcommands through an ``add_commands(subparsers)`` function in a light
module (it imports argparse and the theory layer, never numpy or torch); the work itself is imported
when a command runs. So ``collapse list`` and ``collapse show`` import neither numpy nor torch, and a
deep-learning command loads torch only when it is used.

Errors: an expected failure (bad input, a damaged file, a dead worker: any ``theory.errors.UserError``)
is one line on stderr and exit status 2; Ctrl-C or SIGTERM stops the run (finished work is kept) with
exit status 130 or 143; anything else is an internal error, one line and exit status 1, with the
traceback under ``--debug``.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys

from . import __version__

#: Modules that contribute subcommands, in the order they appear in --help.
LAYERS = ("theory.cli", "theory.derive_cli", "numerics.cli", "collapse.report_cli")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit status 2
        self.exit(2, f"collapse: {message}\n")


class Terminated(BaseException):
    """SIGTERM, raised in the main thread so that a run stops as it does on Ctrl-C."""


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="collapse", description="Model-collapse theory: closed forms, simulation, experiments.")
    parser.add_argument("--version", action="version", version=f"collapse {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an unexpected error")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in LAYERS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name != name:
                raise
            continue
        module.add_commands(sub)
    return parser


def _terminate(signum, frame):
    raise Terminated()


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from theory.errors import UserError

    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        return int(args.func(args) or 0)
    except UserError as e:
        if args.debug:
            raise
        print(f"collapse {args.command}: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("collapse: interrupted (finished work is kept)", file=sys.stderr)
        return 130
    except Terminated:
        print("collapse: terminated (finished work is kept)", file=sys.stderr)
        return 143
    except BrokenPipeError:  # e.g. `collapse list | head`
        sys.stderr.close()
        return 0
    except OSError as e:  # a file that cannot be written or read (permissions, a full disk): one line
        if args.debug:
            raise
        where = f"{e.filename}: " if e.filename else ""
        print(f"collapse {args.command}: {where}{e.strerror or e}", file=sys.stderr)
        return 2
    except Exception as e:  # an unexpected error: one line, or the traceback with --debug
        if args.debug:
            raise
        print(f"collapse {args.command}: internal error: {type(e).__name__}: {e} "
              "(run with --debug for the traceback, and please report it)", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGTERM, previous)
