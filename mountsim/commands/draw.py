"""`mountsim draw`: a picture of a mount state as SVG, PNG or DOT.

After a trace (`draw FILE [--pid N] [--at LINE]`: every namespace a live process uses, or
only process N's), or of a real machine (`--from-mountinfo FILE`, repeatable: several
processes' tables side by side). `--propagation` draws the propagation tree instead.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time

from ..errors import TraceError
from ..render import graphviz as gv
from ..render.load import pick_pid, read_text, replay_file
from ..render.snapshot import Snapshot, from_kernel, from_mountinfo


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", nargs="?", metavar="FILE", help="a trace; its final state is drawn")
    p.add_argument("--from-mountinfo", metavar="FILE", action="append", default=[],
                   help="draw a real table (e.g. /proc/self/mountinfo); repeat for several")
    p.add_argument("--pid", type=int, help="only this process's namespace (and its fds' trees)")
    p.add_argument("--at", type=int, metavar="LINE", help="stop the replay after this line")
    p.add_argument("--kernel", help="kernel semantics to simulate (default: the trace's)")
    p.add_argument("-o", "--output", metavar="OUT", default="mounts.svg",
                   help="output file; .svg, .png or .dot (default: mounts.svg)")
    p.add_argument("--propagation", action="store_true",
                   help="draw the propagation tree (peer groups and slaves) instead")
    p.add_argument("--filter", metavar="PATH", help="only mounts at or below PATH")
    p.add_argument("--collapse", metavar="PATH", action="append", default=[],
                   help="fold the mounts below PATH into one node (repeatable)")
    p.add_argument("--no-legend", action="store_true", help="leave the legend out")


def snapshot_for(args: argparse.Namespace) -> tuple[Snapshot, str]:
    """The state to draw and a title. Errors: TraceError (exit 2) for bad input."""
    if args.from_mountinfo:
        if args.file is not None:
            raise TraceError(args.file, 0, "give a trace or --from-mountinfo, not both")
        snap = from_mountinfo([(f, read_text(f)) for f in args.from_mountinfo])
        return snap, ", ".join(args.from_mountinfo)
    if args.file is None:
        raise TraceError("draw", 0, "a trace FILE or --from-mountinfo FILE is needed")
    r = replay_file(args.file, args.at, args.kernel)
    pids = None if args.pid is None else [pick_pid(r, args.pid, args.file)]
    where = f" after line {args.at}" if args.at is not None else ""
    return from_kernel(r.session.k, pids), f"{args.file}{where}"


def main(args: argparse.Namespace) -> int:
    fmt = args.output.rsplit(".", 1)[-1].lower()
    if fmt not in ("svg", "png", "dot", "gv"):
        print(f"mountsim: draw: {args.output}: the output must end in .svg, .png or .dot",
              file=sys.stderr)
        return 2
    if fmt in ("svg", "png") and shutil.which("dot") is None:
        print("mountsim: draw: Graphviz's `dot` is not installed (apt-get install graphviz); "
              "-o FILE.dot still works", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    snap, title = snapshot_for(args)
    if args.propagation:
        g = gv.propagation_tree(snap)
    else:
        g = gv.mount_tree(snap, filter_path=args.filter, collapse=args.collapse,
                          legend=not args.no_legend, title=title)
    gv.render(g, args.output)
    n = sum(1 for _ in snap.all_mounts())
    print(f"{args.output}: {n} mounts in {len(snap.namespaces)} namespace(s), "
          f"{time.perf_counter() - t0:.2f}s", file=sys.stderr)
    return 0
