"""The `mountsim` command: one module per subcommand under commands/, each `main(args) -> int`.

Exit codes: 0 everything matched, 1 a mismatch, 2 input that cannot be parsed (one line
naming file and line), 3 a bug in mountsim (one line; the traceback only with --debug).
"""

from __future__ import annotations

import argparse
import gc
import sys

from . import __version__
from .errors import MountsimBug, TraceError
from .runtime import tune_gc

COMMANDS = {
    "demo": ("replay a built-in scenario and print its mount table", "demo"),
    "replay": ("replay traces on the model and compare every result", "replay"),
    "diff": ("run traces on the model and the live kernel; print the first divergence", "diff"),
    "record": ("record a real command's mount syscalls as a trace", "record"),
    "fuzz": ("generate programs with Hypothesis; compare model and live kernel", "fuzz"),
    "bench": ("measure the model against the live kernel (programs/s, scale)", "bench"),
    "show": ("print a mount table the way findmnt does (tree, list, -o, --json)", "show"),
    "draw": ("draw a mount state (namespaces, peer groups, slaves) as SVG, PNG or DOT", "draw"),
    "why": ("how the mount at PATH in a trace's final table got there, line by line", "why"),
}


class _LazySubcommands(argparse._SubParsersAction):
    """The subcommands, each filled in (its module imported, its arguments added) only when
    it is the one on the command line: importing every command module for one command's
    arguments pulled in lark, graphviz, the recorder… and was most of `replay`'s start-up.
    `mountsim --help` needs only the names and one-line helps in COMMANDS."""

    def __call__(self, parser, namespace, values, option_string=None):
        name = values[0]
        sp = self._name_parser_map.get(name)
        if sp is not None and sp.get_default("run") is None:
            _fill(parser, name, sp)
        super().__call__(parser, namespace, values, option_string)


def _fill(parser: argparse.ArgumentParser, name: str, sp: argparse.ArgumentParser) -> None:
    import importlib
    try:
        module = importlib.import_module(f".commands.{COMMANDS[name][1]}", __package__)
    except ModuleNotFoundError as e:
        parser.error(f"argument COMMAND: {name!r} is unavailable ({e})")
    module.add_arguments(sp)
    sp.set_defaults(run=module.main)


def build_parser() -> argparse.ArgumentParser:
    """The whole parser; a subcommand's own arguments are added when it is chosen."""
    p = argparse.ArgumentParser(prog="mountsim", description=(
        "An in-memory simulator of the Linux mount tree, checked against the real kernel."))
    p.add_argument("--version", action="version", version=f"mountsim {__version__}")
    p.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", action=_LazySubcommands)
    for name, (help_, _mod) in COMMANDS.items():
        sub.add_parser(name, help=help_, description=help_)
    return p


def main(argv: list[str] | None = None) -> int:
    # Start-up (the chosen command's modules imported, the parser built) allocates tens of
    # thousands of objects that live until exit, and no garbage: the collector's passes over
    # them, during start-up and the one at exit, were pure cost (~15 ms of `mountsim replay`).
    # So no collection during start-up, and when this is the program itself (no *argv*: the
    # console script, `python -m mountsim`) its objects are frozen, never scanned again.
    collecting = gc.isenabled()
    gc.disable()
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
    finally:
        if argv is None:
            gc.freeze()
            tune_gc()                      # big tables: see runtime.py
        if collecting:
            gc.enable()
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        return args.run(args)
    except TraceError as e:
        print(f"mountsim: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("mountsim: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except (MountsimBug, Exception) as e:  # noqa: BLE001 - the one place bugs are caught
        if args.debug:
            import traceback
            traceback.print_exc()
        print(f"mountsim: internal error ({type(e).__name__}: {e}); rerun with --debug",
              file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
