"""`mountsim show`: a mount table the way findmnt(8) prints it (tree, list, -o, --json).

The table is a process's after replaying a trace (`show FILE [--pid N] [--at LINE]`), or a
real one (`show --from-mountinfo /proc/self/mountinfo`).
"""

from __future__ import annotations

import argparse
import sys

from ..errors import TraceError
from ..render import findmnt
from ..render.load import pick_pid, read_text, replay_file
from ..render.snapshot import from_task, parse_mountinfo


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", nargs="?", metavar="FILE", help="a trace; its final state is shown")
    p.add_argument("--from-mountinfo", metavar="FILE", help="show a real table instead "
                   "(e.g. /proc/self/mountinfo)")
    p.add_argument("--pid", type=int, help="whose table (default: the process of the last line)")
    p.add_argument("--at", type=int, metavar="LINE", help="stop the replay after this line")
    p.add_argument("--kernel", help="kernel semantics to simulate (default: the trace's)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--tree", action="store_true", help="nest by parent (the default)")
    g.add_argument("-l", "--list", action="store_true", help="one mount a line, table order")
    p.add_argument("-o", "--output", metavar="COLS", help="columns: " + ",".join(findmnt.COLUMNS)
                   + " (a leading + adds to the default)")
    p.add_argument("-J", "--json", action="store_true", help="findmnt's JSON layout")
    p.add_argument("-n", "--noheadings", action="store_true", help="no heading line")


def rows_for(args: argparse.Namespace):
    """The rows to show. Errors: TraceError (exit 2) for bad input."""
    if args.from_mountinfo is not None:
        if args.file is not None:
            raise TraceError(args.file, 0, "give a trace or --from-mountinfo, not both")
        return parse_mountinfo(read_text(args.from_mountinfo), args.from_mountinfo)
    if args.file is None:
        raise TraceError("show", 0, "a trace FILE or --from-mountinfo FILE is needed")
    r = replay_file(args.file, args.at, args.kernel)
    return from_task(r.session.task(pick_pid(r, args.pid, args.file)))


def main(args: argparse.Namespace) -> int:
    try:
        cols = findmnt.parse_columns(args.output)
    except findmnt.BadColumn as e:
        print(f"mountsim: show: {e}", file=sys.stderr)
        return 2
    rows = rows_for(args)
    as_tree = not args.list
    if args.json:
        sys.stdout.write(findmnt.to_json(findmnt.json_data(rows, cols, as_tree)))
    else:
        sys.stdout.write(findmnt.text_table(rows, cols, as_tree, not args.noheadings))
    return 0
