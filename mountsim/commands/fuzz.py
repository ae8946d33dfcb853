"""`mountsim fuzz`: a Hypothesis campaign, model vs. a real kernel (live, or a 7.x kernel in a
QEMU guest with `--backend vm`, the model then at the guest kernel's row), with progress and
a summary.

Each generated program runs on both backends; the first divergence is shrunk by Hypothesis
to a minimal program and saved as a trace that `mountsim diff` reproduces. With
`--keep-going` the campaign continues with new seeds, saving each distinct divergence once.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ..backends.model import ModelBackend
from ..differential import Divergence, run_pair
from .diff import add_backend_arguments, backend_or_say


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--examples", type=int, default=500, help="programs to generate (default %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default %(default)s)")
    p.add_argument("--max-steps", type=int, default=20, help="calls per program at most (default %(default)s)")
    p.add_argument("--out", type=Path, default=Path("fuzz-failures"),
                   help="where shrunk divergences are saved as traces (default %(default)s)")
    p.add_argument("--keep-going", action="store_true", help="continue after a divergence with a new seed")
    p.add_argument("--model-only", action="store_true",
                   help="no live kernel: only check that the model never crashes")
    add_backend_arguments(p)


class Progress:
    """A one-line progress report on stderr: redrawn on a terminal, every 10% otherwise."""

    def __init__(self, total: int) -> None:
        self.total, self.done, self.calls, self.found = total, 0, 0, 0
        self.tty = sys.stderr.isatty()
        self.start = time.monotonic()
        self._last_decile = -1

    def tick(self, calls: int) -> None:
        self.done += 1
        self.calls += calls
        decile = self.done * 10 // max(self.total, 1)
        if self.tty or decile != self._last_decile:
            self._last_decile = decile
            self._draw()

    def _draw(self) -> None:
        decile = self.done * 10 // max(self.total, 1)
        bar = "#" * (decile * 2) + "." * (20 - decile * 2)
        end = "\r" if self.tty else "\n"
        self._shown = (self.done, self.found)
        sys.stderr.write(f"[{bar}] {self.done}/{self.total} programs, {self.calls} calls, "
                         f"{self.found} divergences{end}")
        sys.stderr.flush()

    def close(self) -> None:
        if getattr(self, "_shown", None) != (self.done, self.found):
            self._draw()                   # the last divergence is counted after its program
        if self.tty:
            sys.stderr.write("\n")


def run_campaign(examples: int, seed: int, max_steps: int, live, progress: Progress,
                 row: str | None = None):
    """One Hypothesis run; returns (minimal divergent program, divergence) or None."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hseed

    from ..gen import programs

    last: list = []

    @hseed(seed)
    @settings(max_examples=examples, deadline=None, database=None, print_blob=False,
              suppress_health_check=list(HealthCheck),
              phases=[Phase.generate, Phase.shrink])
    @given(programs(max_steps=max_steps))
    def body(program):
        div = run_one(program, live, row)
        if progress.done < progress.total:
            progress.tick(len(program.steps))
        if div is not None:
            last[:] = [program, div]
            raise AssertionError(div.describe())

    try:
        body()
    except AssertionError:
        return last[0], last[1]
    except BaseExceptionGroup as group:        # Hypothesis found several distinct divergences
        if last and not group.subgroup(lambda e: not isinstance(e, AssertionError)):
            return last[0], last[1]
        raise
    return None


def run_one(program, live, row: str | None = None) -> Divergence | None:
    a = ModelBackend(row).start(program)
    if live is None:
        for step in program.steps:
            if step.pid in a.pids():
                a.execute(step)
        return None
    b = live.start(program)
    try:
        return run_pair(program, a, b)
    finally:
        b.close()


def _repro_flags(args: argparse.Namespace) -> str:
    """The diff options that reproduce a saved divergence on the same kernel."""
    if getattr(args, "backend", "live") == "vm":
        return f"--backend vm --vm-kernel {args.vm_kernel} "
    return ""


def save(program, div: Divergence, out: Path, n: int, flags: str = "") -> Path:
    from ..trace.write import format_program
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"divergence-{n:03d}.trace"
    text = format_program(program)
    note = "\n".join("# " + ln for ln in div.describe().splitlines())
    path.write_text(f"# Found by `mountsim fuzz`; reproduce with `mountsim diff {flags}{path}`."
                    f"\n{note}\n{text}")
    return path


def main(args: argparse.Namespace) -> int:
    live, row = None, None
    if not args.model_only:
        chosen = backend_or_say("fuzz", args, " (use --model-only)")
        if chosen is None:
            return 2
        live, row = chosen
    progress = Progress(args.examples)
    saved: list[Path] = []
    signatures: set[tuple] = set()
    seed = args.seed
    while progress.done < args.examples:
        found = run_campaign(args.examples - progress.done, seed, args.max_steps, live, progress,
                             row)
        if found is None:
            break
        program, div = found
        sig = (div.step.name if div.step else "table", div.a, div.b)
        if sig not in signatures:
            signatures.add(sig)
            progress.found += 1
            if row is not None:                # the VM's kernel: reproduce at its row
                program.kernel = row
            saved.append(save(program, div, args.out, len(saved) + 1, _repro_flags(args)))
        if not args.keep_going:
            break
        seed += 1
    progress.close()
    if live is not None:
        live.close()
    took = time.monotonic() - progress.start
    print(f"fuzz: {progress.done} programs, {progress.calls} calls in {took:.1f}s "
          f"({progress.done / max(took, 1e-9):.0f} programs/s), {len(saved)} divergence(s)")
    for p in saved:
        print(f"  saved {p}")
    return 1 if saved else 0
