"""`mountsim diff FILE…`: run traces on the model and a real kernel — this machine's (live)
or a Debian 7.x kernel in a QEMU guest (`--backend vm`) — and print the first divergence
(step, call, both results, both tables side by side). With the VM, the model runs the
Semantics row of the guest's kernel."""

from __future__ import annotations

import argparse
import sys

from ..backends.model import ModelBackend
from ..differential import run_pair
from ..errors import TraceError
from ..trace.parse import parse_file


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", metavar="FILE", help="trace files (strace syntax)")
    add_backend_arguments(p)


def add_backend_arguments(p: argparse.ArgumentParser) -> None:
    """--backend and --vm-kernel, shared by diff, fuzz and bench."""
    p.add_argument("--backend", choices=("live", "vm"), default="live",
                   help="the real kernel: this machine's (live, default) or a QEMU guest (vm)")
    from ..vm.kernels import DEFAULT_SERIES, PINS
    p.add_argument("--vm-kernel", default=DEFAULT_SERIES, metavar="SERIES",
                   help="with --backend vm: the Debian kernel series to boot, one of "
                        f"{', '.join(PINS)} (default %(default)s)")


def backend_or_say(command: str, args: argparse.Namespace, hint: str = ""):
    """(real-kernel backend, model Semantics row or None) per --backend, or None after one
    line on stderr saying why not (the caller exits 2). Boots the VM to learn its row."""
    if getattr(args, "backend", "live") == "live":
        live = live_or_say(command, hint)
        return None if live is None else (live, None)
    from ..backends.vm import VmBackend, VmError
    from ..vm.kernels import PINS
    if args.vm_kernel not in PINS:
        print(f"mountsim {command}: unknown --vm-kernel {args.vm_kernel!r} "
              f"(choose from {', '.join(PINS)})", file=sys.stderr)
        return None
    vm = VmBackend(args.vm_kernel)
    why = vm.unavailable()
    try:
        row = None if why else vm.row
    except VmError as e:
        why = str(e)
    if why:
        print(f"mountsim {command}: cannot run the VM here: {why}{hint}", file=sys.stderr)
        return None
    note = f" ({vm.note})" if vm.note else ""
    print(f"{command}: VM kernel {vm.release}{note}, model row {row}", file=sys.stderr)
    return vm, row


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


def _run(program, real, row: str | None):
    """The first divergence of *program* between the model (at *row*) and *real*."""
    b = real.start(program)
    try:
        return run_pair(program, ModelBackend.for_real(real, row).start(program), b, with_tables=True)
    finally:
        b.close()


def main(args: argparse.Namespace) -> int:
    chosen = backend_or_say("diff", args)
    if chosen is None:
        return 2
    real, row = chosen
    from ..backends.live import LiveError, LiveUnsupported
    from ..backends.vm import VmError
    kernel = "live kernel" if real.name == "live" else f"VM kernel ({row})"
    worst = 0
    for path in args.files:
        try:
            program = parse_file(path)
        except TraceError as e:
            print(f"mountsim: {e}", file=sys.stderr)
            worst = max(worst, 2)
            continue
        try:
            div = _run(program, real, row)
        except LiveUnsupported as e:    # e.g. a start-mountinfo table the sandbox cannot build
            print(f"{path}: skipped: {e}")
            continue
        except (LiveError, VmError) as e:   # the sandbox or guest failed: say so, go on
            print(f"{path}: {real.name} failed: {e}", file=sys.stderr)
            worst = max(worst, 3)
            continue
        if div is None:
            print(f"{path}: {len(program.steps)} calls, model and {kernel} agree")
            continue
        div.b_name = real.name
        print(f"{path}: {div.describe()}")
        worst = max(worst, 4 if div.refused is not None else 1)
    real.close()
    return worst
