"""The `mountsim` command: one module per subcommand under commands/, each `main(args) -> int`.

Exit codes: 0 everything matched, 1 a mismatch, 2 input that cannot be parsed (one line
naming file and line), 3 a bug in mountsim (one line; the traceback only with --debug).
"""

from __future__ import annotations

import argparse
import sys
import traceback

from . import __version__
from .errors import MountsimBug, TraceError

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


def build_parser() -> argparse.ArgumentParser:
    import importlib
    p = argparse.ArgumentParser(prog="mountsim", description=(
        "An in-memory simulator of the Linux mount tree, checked against the real kernel."))
    p.add_argument("--version", action="version", version=f"mountsim {__version__}")
    p.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for name, (help_, mod) in COMMANDS.items():
        try:
            module = importlib.import_module(f".commands.{mod}", __package__)
        except ModuleNotFoundError:
            continue
        sp = sub.add_parser(name, help=help_, description=help_)
        module.add_arguments(sp)
        sp.set_defaults(run=module.main)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
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
            traceback.print_exc()
        print(f"mountsim: internal error ({type(e).__name__}: {e}); rerun with --debug",
              file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
