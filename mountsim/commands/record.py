"""`mountsim record -- COMMAND…`: run a real command under strace in a sandbox and write
its mount-relevant syscalls as a trace that `mountsim replay` checks the model against.

Model-only. The sandbox and the exit-time snapshots are backends/recorder.py; turning
strace's output into a trace is trace/record.py. This module checks the arguments, runs
the recording, checks the host's mount table is unchanged, and writes the result.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys

from ..backends.recorder import SANDBOX_PATH, RecordError, run_sandbox, visible
from ..errors import TraceError
from ..trace.parse import parse_text
from ..trace.record import build, render, summary


# -- arguments -------------------------------------------------------------------------

def add_arguments(p: argparse.ArgumentParser) -> None:
    p.usage = "mountsim record [options] -- COMMAND [ARG…]"
    p.epilog = ("Needs root and strace. The command runs in a throwaway mount namespace on a "
                "fresh tmpfs root (read-only /usr and /etc, proc on /proc); the host's mount "
                "table is never changed. The command starts in the sandbox's /, with the "
                "system PATH; without -o its standard output goes to standard error. "
                "Example: mountsim record -o x.trace -- unshare -m --propagation slave "
                "mount --make-rshared /")
    p.add_argument("-o", "--output", metavar="FILE",
                   help="write the trace to FILE (default: standard output)")
    p.add_argument("--dir", action="append", default=[], metavar="PATH",
                   help="create the empty directory PATH (and its parents) in the sandbox's "
                   "root tmpfs before the command starts (repeatable)")
    p.add_argument("--bind", action="append", default=[], metavar="PATH",
                   help="also make the host's PATH visible in the sandbox, bind mounted "
                   "read-only at the same path (repeatable)")
    p.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS",
                   help="kill the command after this many seconds (default: %(default)s)")
    p.add_argument("--raw", metavar="FILE",
                   help="also save strace's complete, unfiltered output to FILE")
    p.add_argument("--vm", metavar="SERIES",
                   help="record on a Debian kernel of SERIES (7.0 … 7.3) in a QEMU guest: the "
                   "command, strace, the programs its arguments name, and their libraries are "
                   "copied into the guest")
    p.add_argument("argv", nargs=argparse.REMAINDER, metavar="COMMAND",
                   help="the command to record and its arguments (after --)")


def main(args: argparse.Namespace) -> int:
    command = list(args.argv)
    if command[:1] == ["--"]:
        command = command[1:]
    try:
        return _record(args, command)
    except RecordError as e:
        print(f"mountsim record: {e}", file=sys.stderr)
        return 2


def _record(args: argparse.Namespace, command: list[str]) -> int:
    if not command:
        raise RecordError("no command given (usage: mountsim record [options] -- COMMAND [ARG…])")
    if sys.platform != "linux" or os.uname().machine != "x86_64":
        raise RecordError("recording needs Linux on x86_64")
    if os.geteuid() != 0:
        raise RecordError("must run as root (the sandbox needs a private mount namespace)")
    strace = shutil.which("strace", path=SANDBOX_PATH)
    if strace is None:
        raise RecordError("strace not found (install it: apt-get install strace)")
    binds = _bind_list(args.bind)
    exe = _resolve(command[0], binds)
    if args.timeout <= 0:
        raise RecordError("--timeout must be positive")
    for d in args.dir:
        if not d.startswith("/") or ".." in d.split("/"):
            raise RecordError(f"--dir needs an absolute path without '..': {d!r}")
    for path in (args.output, args.raw):
        if path and not _writable(path):
            raise RecordError(f"cannot write {path}")
    out = None
    try:
        before = _host_table()
        if args.vm:
            run, release, row = _record_in_vm(args, strace, exe, command)
        else:
            run = run_sandbox(strace, exe, command, binds, args.dir, args.timeout,
                              quiet_stdout=not args.output)
        after = _host_table()
        if before != after:
            print("mountsim record: BUG: the host's mount table changed while recording",
                  file=sys.stderr)
            return 3
        if args.raw:
            try:
                with open(args.raw, "w", encoding="utf-8", errors="surrogateescape") as f:
                    f.write(run.strace_text)
            except OSError as e:
                raise RecordError(f"cannot write {args.raw}: {e.strerror}")
        rec = build(run.strace_text, run.snapshots)
        caps = None
        if args.vm:                             # the guest's root: every capability
            from ..backends.vm import GUEST_CAPS
            caps = GUEST_CAPS
        text = render(rec, run.start_table, command, run.strace_pid, caps=caps)
        if args.vm:                             # render() names this host's kernel
            text = re.sub(r"(?m)^(# Recorded by mountsim record on Linux )\S+:",
                          lambda m: f"{m.group(1)}{release} (QEMU guest):", text, count=1)
            text = re.sub(r"(?m)^# kernel: .*$", f"# kernel: {row}", text, count=1)
        if args.output:
            try:
                out = open(args.output, "w", encoding="utf-8", errors="surrogateescape")
            except OSError as e:
                raise RecordError(f"cannot write {args.output}: {e.strerror}")
        (out or sys.stdout).write(text)
        (out or sys.stdout).flush()
    finally:
        if out is not None:
            out.close()
    where = args.output or "standard output"
    problem = _check_parses(text, where)
    print(f"mountsim record: {where}: {summary(rec, run)}", file=sys.stderr)
    if problem:
        print(f"mountsim record: BUG: the trace does not parse: {problem}", file=sys.stderr)
        return 3
    return 0


def _record_in_vm(args: argparse.Namespace, strace: str, exe: str, command: list[str]):
    """(Run, guest release, model row): the recording made in a QEMU guest."""
    from ..backends.vm import VmBackend, VmError
    from ..vm.kernels import PINS
    if args.vm not in PINS:
        raise RecordError(f"unknown --vm {args.vm!r} (choose from {', '.join(PINS)})")
    if args.bind:
        raise RecordError("--bind is not available with --vm (the guest has no host paths)")
    vm = VmBackend(args.vm)
    why = vm.unavailable()
    if why:
        raise RecordError(f"cannot run the VM here: {why}")
    try:
        run = vm.record(strace, exe, command, args.dir, args.timeout, _named_programs(command))
        return run, vm.release, vm.row
    except VmError as e:
        raise RecordError(str(e)) from None
    finally:
        vm.close()


def _named_programs(command: list[str]) -> list[str]:
    """Programs the command may exec: each argument word (and each word of a shell
    string) that the system PATH resolves. Model-only heuristic for --vm."""
    found = []
    for arg in command[1:]:
        for word in arg.replace(";", " ").replace("&", " ").replace("|", " ").split():
            path = shutil.which(word, path=SANDBOX_PATH) if "/" not in word else None
            if path and path not in found:
                found.append(path)
    return found


def _writable(path: str) -> bool:
    if os.path.isdir(path):
        return False
    if os.path.exists(path):
        return os.access(path, os.W_OK)
    return os.access(os.path.dirname(os.path.abspath(path)), os.W_OK)


def _bind_list(extra: list[str]) -> list[str]:
    out = []
    for p in extra:
        if not p.startswith("/"):
            raise RecordError(f"--bind needs an absolute path: {p!r}")
        p = os.path.normpath(p)
        if p == "/" or not os.path.lexists(p):
            raise RecordError(f"--bind: no such path on the host: {p}")
        out.append(p)
    return out


def _resolve(name: str, binds: list[str]) -> str:
    """The command's path as the sandbox will find it; RecordError if it cannot."""
    if "/" in name:
        exe = name if os.path.isabs(name) else os.path.abspath(name)
        if not (os.path.isfile(exe) and os.access(exe, os.X_OK)):
            raise RecordError(f"command not found: {name}")
    else:
        exe = shutil.which(name, path=SANDBOX_PATH)
        if exe is None:
            raise RecordError(f"command not found: {name} (searched {SANDBOX_PATH})")
    if not visible(exe, binds):
        raise RecordError(f"{exe} is not visible in the sandbox (add --bind DIR)")
    return exe


def _host_table() -> str:
    with open("/proc/self/mountinfo", encoding="utf-8", errors="surrogateescape") as f:
        return f.read()


def _check_parses(text: str, where: str) -> str | None:
    try:
        parse_text(text, where)
    except TraceError as e:
        return str(e)
    return None

