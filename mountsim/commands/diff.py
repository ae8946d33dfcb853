"""`mountsim diff FILE…`: run traces on the model and the live kernel; print the first
divergence (step, call, both results, both tables side by side)."""

from __future__ import annotations

import argparse
import sys

from ..backends.model import ModelBackend
from ..differential import run_pair
from ..errors import TraceError
from ..trace.parse import parse_file


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", metavar="FILE", help="trace files (strace syntax)")


def live_or_reason():
    """(LiveBackend, None) when the live kernel can run here, else (None, reason)."""
    try:
        from ..backends.live import LiveBackend
    except ImportError as e:
        return None, f"live backend unavailable: {e}"
    b = LiveBackend()
    why = b.unavailable()
    return (None, why) if why else (b, None)


def live_or_say(command: str, hint: str = ""):
    """The LiveBackend, or None after one line on stderr saying why (the caller exits 2)."""
    live, why = live_or_reason()
    if live is None:
        print(f"mountsim {command}: cannot run the live kernel here: {why}{hint}", file=sys.stderr)
    return live


def main(args: argparse.Namespace) -> int:
    live = live_or_say("diff")
    if live is None:
        return 2
    from ..backends.live import LiveUnsupported
    worst = 0
    for path in args.files:
        try:
            program = parse_file(path)
        except TraceError as e:
            print(f"mountsim: {e}", file=sys.stderr)
            worst = max(worst, 2)
            continue
        try:
            b = live.start(program)
        except LiveUnsupported as e:    # e.g. a start-mountinfo table the sandbox cannot build
            print(f"{path}: skipped: {e}")
            continue
        a = ModelBackend().start(program)
        try:
            div = run_pair(program, a, b, with_tables=True)
        finally:
            b.close()
        if div is None:
            print(f"{path}: {len(program.steps)} calls, model and live kernel agree")
        elif div.refused is not None:
            print(f"{path}: {div.describe()}")
            worst = max(worst, 4)
        else:
            print(f"{path}: {div.describe()}")
            worst = max(worst, 1)
    live.close()
    return worst

