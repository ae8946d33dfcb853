"""`mountsim replay FILE…`: replay traces on the model and compare every recorded result."""

from __future__ import annotations

import argparse
import sys

from ..backends.model import ModelBackend
from ..errors import TraceError
from ..trace.parse import parse_ff, parse_file, start_caps, start_copy, start_table
from ..trace.replay import replay
from ..versions import DEFAULT, KERNELS, PROFILES


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", metavar="FILE", help="trace files (strace syntax)")
    p.add_argument("--kernel", type=kernel_list, metavar="VERSION[,VERSION…]",
                   help="kernel semantics to simulate (default: the trace's '# kernel:' "
                   f"header, else {DEFAULT}); several, comma-separated, replay the trace under "
                   f"each and print the calls where they answer differently "
                   f"(known: {', '.join(KERNELS)})")
    p.add_argument("--profile", choices=sorted(PROFILES), help="kernel build profile "
                   "(what the build shows, e.g. tmpfs inode64; default: the version's own, or "
                   "with several versions the first one's)")
    p.add_argument("--mountinfo", action="store_true",
                   help="print the final /proc/<pid>/mountinfo of each trace")
    p.add_argument("--pid", type=int, help="with --mountinfo: whose table (default: the "
                   "process that issued the last line)")
    p.add_argument("--strict", action="store_true",
                   help="count calls the model could not judge (unknown fds, pids, syscalls) as failures")
    p.add_argument("-q", "--quiet", action="store_true", help="print differences only")
    p.add_argument("--start-mountinfo", metavar="FILE", help="start from this mountinfo "
                   "table (the recording machine's /proc/<pid>/mountinfo), contents unknown; "
                   "without it a trace with no '#' header starts on one root of unknown contents")
    p.add_argument("--start-copy", metavar="FILE", help="with --start-mountinfo: the same "
                   "table as a fresh copy of its namespace lists it (`unshare -m --propagation "
                   "unchanged cat /proc/self/mountinfo`), for the order the mounts were attached "
                   "in, which every recursive copy's rows follow")
    p.add_argument("--start-caps", metavar="FILE", help="the capability sets the recorded "
                   "command started with: the recording machine's /proc/self/status (or its "
                   "Cap* lines); default: a '# start-caps:' header, else this machine's")
    p.add_argument("--explain", action="store_true", help="for each failing call, the kernel "
                   "rule that refused it and the mounts involved; for each mount propagation "
                   "created, the path it came by")
    p.add_argument("--frames", metavar="DIR", help="write one diagram per call and DIR/index.html "
                   "stepping through them")
    p.add_argument("--ff", action="store_true", help="the FILEs are one `strace -ff -o PREFIX` "
                   "recording (PREFIX.<pid> each): merge them by timestamp into one trace")


def kernel_list(text: str) -> list[str]:
    """argparse type for --kernel: one or more known versions, comma-separated."""
    versions = [v.strip() for v in text.split(",") if v.strip()]
    unknown = [v for v in versions if v not in KERNELS]
    if not versions or unknown:
        raise argparse.ArgumentTypeError(f"unknown kernel version {', '.join(unknown) or text!r} "
                                         f"(known: {', '.join(KERNELS)})")
    return versions


def check_kernel(program, kernel: str | None) -> None:
    v = kernel or program.kernel
    if v is not None and v not in KERNELS:
        line = 1
        raise TraceError(program.file, line, f"unknown kernel version {v!r} "
                         f"(known: {', '.join(sorted(KERNELS))})")


def main(args: argparse.Namespace) -> int:
    worst = 0
    kernels = args.kernel or []
    groups = [args.files] if args.ff else [[f] for f in args.files]
    for files in groups:
        path = files[0]
        try:
            program = parse_ff(files) if args.ff else parse_file(path)
            if args.start_mountinfo:
                start_table(program, args.start_mountinfo)
            if args.start_copy:
                start_copy(program, args.start_copy)
            if args.start_caps:
                start_caps(program, args.start_caps)
            check_kernel(program, kernels[0] if kernels else None)
        except TraceError as e:
            print(f"mountsim: {e}", file=sys.stderr)
            worst = max(worst, 2)
            continue
        if len(kernels) > 1:
            worst = max(worst, compare_main(program, kernels, args))
            continue
        session = ModelBackend(kernels[0] if kernels else None, args.profile).start(program)
        tracer = None
        if args.explain or args.frames:
            from ..render.explain import attach, explain_text   # only then: a large module
            tracer = attach(session)
        rep = replay(program, session, strict=args.strict,
                     on_step=tracer.on_step if tracer is not None else None)
        if args.explain:
            sys.stdout.write(explain_text(tracer))
        if args.frames:
            from ..render.html import write_frames
            print(f"{path}: frames in {write_frames(tracer, program, args.frames)}", file=sys.stderr)
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


def compare_main(program, kernels: list[str], args: argparse.Namespace) -> int:
    """--kernel A,B,…: the calls where the versions answer differently. The exit status is
    the recording's own version's (the trace's header, else the first listed): 1 when the
    recorded results differ under it, else 0; version differences alone are information."""
    from ..trace.compare import compare_versions
    vr = compare_versions(program, kernels, strict=args.strict, profile=args.profile)
    own = program.kernel if program.kernel in vr.reports else kernels[0]
    rep = vr.reports[own]
    for d in rep.diffs:
        print(f"[{own}] {d}")
    for line in vr.differences:
        print(line)
    if not args.quiet:
        same = "no call answers differently" if not vr.differences else \
            f"{len(vr.differences)} place(s) where the versions differ"
        print(f"{program.file}: {len(program.steps)} calls under {', '.join(kernels)}: {same}; "
              f"recorded results under {own}: "
              f"{'ok' if rep.ok else f'{len(rep.diffs)} difference(s)'}")
    return 0 if rep.ok else 1
