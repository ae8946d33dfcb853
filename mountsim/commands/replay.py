"""`mountsim replay FILE…`: replay traces on the model and compare every recorded result."""

from __future__ import annotations

import argparse
import sys

from ..backends.model import ModelBackend
from ..errors import TraceError
from ..trace.parse import parse_file
from ..trace.replay import replay
from ..versions import DEFAULT, KERNELS


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", metavar="FILE", help="trace files (strace syntax)")
    p.add_argument("--kernel", choices=sorted(KERNELS), help="kernel semantics to simulate "
                   f"(default: the trace's '# kernel:' header, else {DEFAULT})")
    p.add_argument("--mountinfo", action="store_true",
                   help="print the final /proc/<pid>/mountinfo of each trace")
    p.add_argument("--pid", type=int, help="with --mountinfo: whose table (default: the "
                   "process that issued the last line)")
    p.add_argument("--strict", action="store_true",
                   help="count calls the model could not judge (unknown fds, pids, syscalls) as failures")
    p.add_argument("-q", "--quiet", action="store_true", help="print differences only")


def check_kernel(program, kernel: str | None) -> None:
    v = kernel or program.kernel
    if v is not None and v not in KERNELS:
        line = 1
        raise TraceError(program.file, line, f"unknown kernel version {v!r} "
                         f"(known: {', '.join(sorted(KERNELS))})")


def main(args: argparse.Namespace) -> int:
    worst = 0
    for path in args.files:
        try:
            program = parse_file(path)
            check_kernel(program, args.kernel)
        except TraceError as e:
            print(f"mountsim: {e}", file=sys.stderr)
            worst = max(worst, 2)
            continue
        session = ModelBackend(args.kernel).start(program)
        rep = replay(program, session, strict=args.strict)
        for d in rep.diffs:
            print(d)
        if not args.quiet:
            for n in rep.notes:
                print(f"{n.file}:{n.line}: note: {n.msg}")
            status = "ok" if rep.ok else f"{len(rep.diffs)} difference(s)"
            print(f"{path}: {len(program.steps)} calls, {status}")
        if args.mountinfo:
            pid = args.pid if args.pid is not None else rep.final_pid
            try:
                sys.stdout.write(session.mountinfo(pid))
            except Exception:
                print(f"{path}: no process {pid} in the model", file=sys.stderr)
                worst = max(worst, 2)
        if not rep.ok:
            worst = max(worst, 1)
    return worst
