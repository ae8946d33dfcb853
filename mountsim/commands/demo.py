"""`mountsim demo`: replay the built-in demo scenario and print its mount tables."""

from __future__ import annotations

import argparse
from importlib import resources
from pathlib import Path

from ..backends.model import ModelBackend
from ..trace.parse import parse_file
from ..trace.replay import replay


def demo_path() -> Path:
    """models/demo.trace in a checkout, else the copy shipped in the package."""
    here = Path(__file__).resolve().parents[2] / "models" / "demo.trace"
    if here.exists():
        return here
    return Path(str(resources.files("mountsim") / "data" / "demo.trace"))


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--trace", type=Path, help="another scenario to show (default: models/demo.trace)")


def main(args: argparse.Namespace) -> int:
    path = args.trace or demo_path()
    program = parse_file(str(path))
    session = ModelBackend().start(program)
    rep = replay(program, session)
    print(f"# {path.name}: {len(program.steps)} syscalls replayed on the model "
          f"(Linux {session.sem.name} semantics)")
    from ..trace.write import format_step
    for step, res, why in rep.results:
        call = format_step(step, main_pid=step.pid).split(" = ")[0]
        print(f"  pid {step.pid:<3} {call}\n          = {res}" + (f"   because: {why}" if why else ""))
    for pid in sorted(session.pids()):
        print(f"\n# /proc/{pid}/mountinfo")
        print(session.mountinfo(pid), end="")
    for d in rep.diffs:
        print(d)
    print("\nall recorded results and the expect-tree matched" if rep.ok else
          f"\n{len(rep.diffs)} difference(s) from the recorded results")
    return 0 if rep.ok else 1
