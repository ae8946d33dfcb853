"""`mountsim why FILE PATH`: how the mount at PATH in the final table got there, line by line.

For each mount on PATH (several when mounts are stacked, the top one last), its history:
the call that created it (directly, by propagation — through which receiver — or as a copy
into a new mount namespace, with the original's history first), and every later change of
its propagation or MNT_LOCKED.
"""

from __future__ import annotations

import argparse

from ..render.explain import trace_file, why_lines
from ..render.load import pick_pid


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FILE", help="a trace")
    p.add_argument("path", metavar="PATH", help="a mount point in the final table")
    p.add_argument("--pid", type=int, help="whose table (default: the process of the last line)")
    p.add_argument("--kernel", help="kernel semantics to simulate (default: the trace's)")


def main(args: argparse.Namespace) -> int:
    tracer, r = trace_file(args.file, kernel=args.kernel)
    lines, found = why_lines(tracer, pick_pid(r, args.pid, args.file), args.path)
    print("\n".join(lines))
    return 0 if found else 1
