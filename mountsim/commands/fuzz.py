"""`mountsim fuzz`: a Hypothesis campaign, model vs. a real kernel (live, or a 7.x kernel in a
QEMU guest with `--backend vm`, the model then at the guest kernel's row), with progress and
a summary.

Each generated program runs on both backends; the first divergence is shrunk by Hypothesis
to a minimal program and saved as a trace that `mountsim diff` reproduces. With
`--keep-going` the campaign continues with new seeds, saving each distinct divergence once.

Scaling out (issue #9). `--workers N` forks N processes (start method 'fork'; each makes its
own backend, so its own zygote or guest, after the fork). Worker i runs its share of
--examples (examples // N, the first examples % N one more) with the seeds --seed + i,
--seed + i + N, --seed + i + 2N, … (one per --keep-going round), so `--workers 1` is the
single-process campaign exactly. Workers report progress and divergences to the parent
over pipes; the parent draws the one progress line, saves each distinct divergence once
and stops everyone on the first one unless --keep-going. Workers ignore SIGINT: on Ctrl-C
the parent asks them to stop between programs, waits, then kills what is left.

Counterexamples go to a Hypothesis example database (--db: a directory, default
$MOUNTSIM_FUZZ_DB or .hypothesis/mountsim; or redis://HOST:PORT for several machines). Every
run replays what the database holds first, under a key naming the model row (the real
kernel's), --max-steps and a digest of gen.py, so a counterexample found on one machine is
the first program another machine runs, and kernels or generators that read the choices
differently never replay (or delete) each other's entries.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import signal
import sys
import time
from pathlib import Path

import attrs

from ..backends.model import ModelBackend
from ..differential import Divergence, run_pair
from .diff import add_backend_arguments, backend_or_say

DEFAULT_DB = ".hypothesis/mountsim"
DB_ENV = "MOUNTSIM_FUZZ_DB"
STOP_GRACE = 10.0              # seconds workers get to stop after Ctrl-C before SIGKILL
TICK_EVERY = 0.1               # seconds between a worker's progress messages


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--examples", type=int, default=500, help="programs to generate (default %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default %(default)s)")
    p.add_argument("--max-steps", type=int, default=20, help="calls per program at most (default %(default)s)")
    p.add_argument("--out", type=Path, default=Path("fuzz-failures"),
                   help="where shrunk divergences are saved as traces (default %(default)s)")
    p.add_argument("--keep-going", action="store_true", help="continue after a divergence with a new seed")
    p.add_argument("--model-only", action="store_true",
                   help="no live kernel: only check that the model never crashes")
    p.add_argument("--workers", default="1", metavar="N",
                   help="processes on this machine, each with its own seeds and sandbox "
                        "(default 1; 0 or auto: one per CPU)")
    db = p.add_mutually_exclusive_group()
    db.add_argument("--db", metavar="DIR|redis://HOST:PORT",
                    help="Hypothesis example database replayed first and given every "
                         f"counterexample: a directory (default ${DB_ENV} or {DEFAULT_DB}) "
                         "or a Redis server shared by several machines")
    db.add_argument("--no-db", action="store_true",
                    help="no example database: replay nothing, store nothing")
    add_backend_arguments(p)


class Progress:
    """A one-line progress report on stderr: redrawn on a terminal, every 10% otherwise."""

    def __init__(self, total: int) -> None:
        self.total, self.done, self.calls, self.found = total, 0, 0, 0
        self.tty = sys.stderr.isatty()
        self.start = time.monotonic()
        self._last_decile = -1

    def tick(self, calls: int) -> None:
        self.advance(1, calls)

    def advance(self, programs: int, calls: int) -> None:
        """*programs* more done (a worker's batch), with *calls* calls between them."""
        self.done += programs
        self.calls += calls
        decile = self.done * 10 // max(self.total, 1)
        if self.tty or decile != self._last_decile:
            self._last_decile = decile
            self._draw()

    def _draw(self) -> None:
        decile = min(self.done * 10 // max(self.total, 1), 10)
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


class Stopped(BaseException):
    """Raised inside a campaign when it was asked to stop: Hypothesis lets BaseExceptions
    that are not Exceptions through unshrunk and unreported."""


def run_campaign(examples: int, seed: int, max_steps: int, live, progress: Progress,
                 row: str | None = None, *, database=None, db_key: bytes | None = None,
                 reuse: bool = False, stop=None):
    """One Hypothesis run; returns (minimal divergent program, divergence) or None.

    With *database* (a Hypothesis ExampleDatabase) and *db_key*, the counterexample and its
    shrink steps are saved there; with *reuse*, what the database holds under *db_key*
    runs first. *stop* (a callable) is asked before each program that is not part of a
    shrink; when it says yes the campaign raises Stopped.
    """
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hseed
    from hypothesis.errors import FlakyFailure

    from ..gen import programs

    last: list = []
    phases = [Phase.generate, Phase.shrink]
    if database is not None and reuse:
        phases.insert(0, Phase.reuse)

    # settings outside seed: hypothesis.seed() turns the database off in the settings it sees
    @settings(max_examples=examples, deadline=None, database=database, print_blob=False,
              suppress_health_check=list(HealthCheck), phases=phases)
    @hseed(seed)
    @given(programs(max_steps=max_steps))
    def body(program):
        if stop is not None and not last and stop():
            raise Stopped
        div = run_one(program, live, row)
        if progress.done < progress.total:
            progress.tick(len(program.steps))
        if div is not None:
            last[:] = [program, div]
            raise AssertionError(div.describe())

    if database is not None and db_key is not None:
        body._hypothesis_internal_database_key = db_key   # one key for every worker/machine
    try:
        body()
    except AssertionError:
        if not last:                           # not ours (an assert in mountsim): a bug
            raise
        return last[0], last[1]
    except BaseExceptionGroup as group:        # several distinct divergences, or a flaky one
        leaves_ok = not group.subgroup(
            lambda e: not isinstance(e, (AssertionError, BaseExceptionGroup)))
        if last and leaves_ok:
            if isinstance(group, FlakyFailure):
                last[1] = attrs.evolve(last[1], flaky=True)
            return last[0], last[1]
        raise
    return None


def run_one(program, live, row: str | None = None) -> Divergence | None:
    a = ModelBackend.for_real(live, row).start(program)
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
    return _write(format_program(program), div.describe(), out, n, flags)


def _write(text: str, describe: str, out: Path, n: int, flags: str = "") -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"divergence-{n:03d}.trace"
    note = "\n".join("# " + ln for ln in describe.splitlines())
    path.write_text(f"# Found by `mountsim fuzz`; reproduce with `mountsim diff {flags}{path}`."
                    f"\n{note}\n{text}")
    return path


def _signature(div: Divergence) -> tuple:
    return (div.step.name if div.step else "table", div.a, div.b)


# -- the example database ----------------------------------------------------------------

class DbError(Exception):
    """--db names nothing usable; str() is the one line to print."""


def open_database(spec: str):
    """The Hypothesis ExampleDatabase for --db *spec*: redis://HOST:PORT[/N] (or rediss://)
    through hypothesis.extra.redis, checked with a PING; else a directory, made if missing."""
    if "://" in spec:
        return _open_redis(spec)
    from hypothesis.database import DirectoryBasedExampleDatabase
    path = Path(spec).expanduser()
    if path.exists() and not path.is_dir():
        raise DbError(f"--db {spec}: not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DbError(f"--db {spec}: cannot make the directory: {e.strerror}") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise DbError(f"--db {spec}: directory not writable")
    return DirectoryBasedExampleDatabase(path)


def _open_redis(spec: str):
    from urllib.parse import urlsplit
    bad = f"--db {spec}: not a directory or redis://HOST:PORT[/DB]"
    try:
        url = urlsplit(spec)
        port = url.port
    except ValueError as e:
        raise DbError(f"{bad} ({e})") from None
    if url.scheme not in ("redis", "rediss") or not url.hostname or url.query or url.fragment:
        raise DbError(bad)
    if url.path not in ("", "/") and not url.path[1:].isdigit():
        raise DbError(f"{bad} (the database is a number)")
    try:
        import redis
        from hypothesis.extra.redis import RedisExampleDatabase
    except ImportError:
        raise DbError("--db redis://… needs the redis package "
                      "(pip install 'hypothesis[redis]')") from None
    client = redis.Redis.from_url(spec, socket_connect_timeout=5, socket_timeout=30)
    try:
        client.ping()
    except redis.RedisError as e:
        client.close()
        where = f"{url.hostname}:{port or 6379}"
        raise DbError(f"--db {spec}: cannot reach Redis at {where}: "
                      f"{str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
    return RedisExampleDatabase(client)


def database_key(kind: str, max_steps: int) -> bytes:
    """The key every worker and machine files this campaign's counterexamples under: *kind*
    ("kernel-<model row of the real kernel>" or "model-only"), --max-steps, and gen.py
    (which turns the stored choices into programs)."""
    from .. import gen
    with open(gen.__file__, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:12]
    return f"mountsim.fuzz/{kind}/max-steps-{max_steps}/gen-{digest}".encode()


# -- one campaign loop, in this process or in a worker ------------------------------------

def _campaign_loop(index: int, nworkers: int, args: argparse.Namespace, live, row,
                   counter, on_found, database=None, db_key=None, stop=None) -> None:
    """Rounds of run_campaign until *counter* has its share (or a divergence without
    --keep-going). Round k uses seed --seed + index + k * nworkers; only round 0 replays
    the database (later ones would find the same counterexample again)."""
    k = 0
    while counter.done < counter.total:
        seed = args.seed + index + k * nworkers
        found = run_campaign(counter.total - counter.done, seed, args.max_steps, live,
                             counter, row, database=database, db_key=db_key,
                             reuse=(k == 0), stop=stop)
        if found is None:
            return
        program, div = found
        if row is not None:                    # the VM's kernel: reproduce at its row
            program.kernel = row
        on_found(program, div)
        if not args.keep_going:
            return
        k += 1


class _WorkerCounter:
    """A worker's share and its progress, sent to the parent in batches."""

    def __init__(self, index: int, total: int, conn) -> None:
        self.index, self.total, self.conn = index, total, conn
        self.done = self.calls = 0
        self._sent = (0, 0)
        self._at = time.monotonic()

    def tick(self, calls: int) -> None:
        self.done += 1
        self.calls += calls
        if time.monotonic() - self._at >= TICK_EVERY:
            self.flush()

    def flush(self) -> None:
        d, c = self.done - self._sent[0], self.calls - self._sent[1]
        if d or c:
            self.conn.send(("tick", self.index, d, c))
            self._sent = (self.done, self.calls)
        self._at = time.monotonic()


def _make_backend(args: argparse.Namespace):
    if args.model_only:
        return None
    if getattr(args, "backend", "live") == "vm":
        from ..backends.vm import VmBackend
        return VmBackend(args.vm_kernel)
    from ..backends.live import LiveBackend
    return LiveBackend()


def _die_with_parent() -> None:
    """SIGTERM this worker if the parent dies (a SIGKILLed parent leaves no worker behind)."""
    import ctypes
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)   # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _worker(index: int, nworkers: int, share: int, args: argparse.Namespace, row,
            db_spec: str | None, db_key: bytes | None, conn, stop, parent: int) -> None:
    """A worker process (forked; SIGINT ignored, inherited from the parent at fork)."""
    _die_with_parent()
    if os.getppid() != parent:
        os._exit(1)
    live = counter = None
    try:
        counter = _WorkerCounter(index, share, conn)

        def on_found(program, div):
            from ..trace.write import format_program
            counter.flush()
            conn.send(("found", index, _signature(div), format_program(program),
                       div.describe()))

        database = open_database(db_spec) if db_spec else None
        live = _make_backend(args)
        try:
            _campaign_loop(index, nworkers, args, live, row, counter, on_found,
                           database, db_key, stop.is_set)
        except Stopped:
            pass
        counter.flush()
        conn.send(("done", index))
    except BaseException as e:                 # noqa: BLE001 - reported by the parent
        try:
            if counter is not None:
                counter.flush()
            conn.send(("error", index, f"{type(e).__name__}: {e}".splitlines()[0]))
        except OSError:
            pass
    finally:
        if live is not None:
            live.close()
        conn.close()


def _run_workers(args, nworkers: int, row, db_spec, db_key, progress: Progress,
                 on_found) -> tuple[list[int], str | None, bool]:
    """Fork the workers, pump their messages into *progress* and *on_found* until all are
    done. Returns (programs per worker, the first worker error or None, interrupted)."""
    import multiprocessing
    from multiprocessing.connection import wait

    ctx = multiprocessing.get_context("fork")
    stop = ctx.Event()
    shares = [args.examples // nworkers + (i < args.examples % nworkers) for i in range(nworkers)]
    procs, conns = [], {}
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)     # inherited: Ctrl-C is ours
    try:
        for i, share in enumerate(shares):
            r, w = ctx.Pipe(duplex=False)
            p = ctx.Process(target=_worker, name=f"mountsim-fuzz-{i}", daemon=True,
                            args=(i, nworkers, share, args, row, db_spec, db_key, w, stop,
                                  os.getpid()))
            p.start()
            w.close()
            procs.append(p)
            conns[r] = i
    finally:
        signal.signal(signal.SIGINT, old)
    counts = [0] * nworkers
    finished: set[int] = set()
    error: str | None = None
    interrupted = False

    def handle(msg) -> None:
        nonlocal error
        kind, i = msg[0], msg[1]
        if kind == "tick":
            counts[i] += msg[2]
            progress.advance(msg[2], msg[3])
        elif kind == "found":
            on_found(msg[2], msg[3], msg[4])
            if not args.keep_going:
                stop.set()
        elif kind == "done":
            finished.add(i)
        elif kind == "error":
            finished.add(i)
            if error is None:
                error = f"worker {i}: {msg[2]}"
            stop.set()

    def pump(timeout: float) -> None:
        for r in wait(list(conns) + [p.sentinel for p in procs if p.is_alive()], timeout):
            if r in conns:
                try:
                    while r.poll():
                        handle(r.recv())
                except (EOFError, OSError):
                    del conns[r]
                    r.close()

    try:
        try:
            while any(p.is_alive() for p in procs):
                pump(0.2)
        except KeyboardInterrupt:
            interrupted = True
            stop.set()
            deadline = time.monotonic() + STOP_GRACE
            try:
                while any(p.is_alive() for p in procs) and time.monotonic() < deadline:
                    pump(0.2)
            except KeyboardInterrupt:                   # a second Ctrl-C: no more waiting
                pass
        for r in list(conns):                           # what the last ones said on exit
            try:
                while r.poll():
                    handle(r.recv())
            except (EOFError, OSError):
                pass
    finally:
        for p in procs:
            if p.is_alive():
                p.kill()                    # its zygote and sandboxes exit on EOF
            p.join()
        for r in conns:
            r.close()
    for i, p in enumerate(procs):
        if i not in finished and error is None and not interrupted:
            error = f"worker {i} died (exit code {p.exitcode})"
    return counts, error, interrupted


def _workers_or_say(value: str) -> int | None:
    v = value.strip().lower()
    if v == "auto":
        return os.cpu_count() or 1
    if v.isdigit():
        return int(v) or (os.cpu_count() or 1)
    print(f"mountsim fuzz: --workers takes a number of processes (0 or auto: one per CPU), "
          f"not {value!r}", file=sys.stderr)
    return None


def main(args: argparse.Namespace) -> int:
    nworkers = _workers_or_say(str(args.workers))
    if nworkers is None:
        return 2
    nworkers = max(1, min(nworkers, args.examples))
    database = db_spec = db_key = None
    if not args.no_db:
        db_spec = args.db or os.environ.get(DB_ENV) or DEFAULT_DB
        try:
            database = open_database(db_spec)
        except DbError as e:
            print(f"mountsim fuzz: {e}", file=sys.stderr)
            return 2
    live, row = None, None
    if not args.model_only:
        chosen = backend_or_say("fuzz", args, " (use --model-only)")
        if chosen is None:
            return 2
        live, row = chosen
    if database is not None:
        kernel = None if live is None else row if row is not None else _live_row()
        db_key = database_key("model-only" if live is None else f"kernel-{kernel}",
                              args.max_steps)
    progress = Progress(args.examples)
    saved: list[Path] = []
    signatures: set[tuple] = set()

    def keep(sig: tuple, text: str, describe: str) -> None:
        if sig in signatures:
            return
        signatures.add(sig)
        progress.found += 1
        saved.append(_write(text, describe, args.out, len(saved) + 1, _repro_flags(args)))

    def keep_found(program, div) -> None:
        from ..trace.write import format_program
        keep(_signature(div), format_program(program), div.describe())

    counts: list[int] = []
    error = None
    interrupted = False
    if nworkers == 1:
        try:
            _campaign_loop(0, 1, args, live, row, progress, keep_found, database, db_key)
        except KeyboardInterrupt:
            interrupted = True
        finally:
            if live is not None:
                live.close()
    else:
        if live is not None:                   # each worker makes its own after the fork
            live.close()
        if database is not None and hasattr(database, "redis"):
            database.redis.close()             # no connection shared across the fork
        counts, error, interrupted = _run_workers(args, nworkers, row, db_spec, db_key,
                                                  progress, keep)
    progress.close()
    took = time.monotonic() - progress.start
    split = f" ({nworkers} workers: {' + '.join(map(str, counts))})" if nworkers > 1 else ""
    print(f"fuzz: {progress.done} programs{split}, {progress.calls} calls in {took:.1f}s "
          f"({progress.done / max(took, 1e-9):.0f} programs/s), {len(saved)} divergence(s)"
          + (" (interrupted)" if interrupted else ""))
    for p in saved:
        print(f"  saved {p}")
    if error is not None:
        print(f"mountsim fuzz: {error}", file=sys.stderr)
        return 3
    if interrupted:
        print("mountsim: interrupted", file=sys.stderr)
        return 130
    return 1 if saved else 0


def _live_row() -> str | None:
    from .. import versions
    return versions.row_for_release(os.uname().release)
