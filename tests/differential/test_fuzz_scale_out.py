"""`mountsim fuzz` scaled out (issue #9): `--workers N` processes on this machine, and
counterexamples shared through a Hypothesis example database (`--db DIR`, `--db redis://…`).

There is no known divergence between the model and the kernel, so these tests plant one:
the `planted` fixture wraps fuzz.run_one so that every program containing a pivot_root
call "diverges" (the model said 0, a fake kernel -1 EPLANTED). The plant is only in this
process and the workers it forks; the tests assert the plumbing (workers, counts, the
database, replay), never a model bug — the saved trace replays clean with `mountsim diff`.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mountsim.cli import main
from mountsim.commands import fuzz
from mountsim.differential import Divergence
from mountsim.trace.parse import parse_file
from mountsim.trace.write import format_program

TRIGGER = "pivot_root"          # in about 1 generated program in 6 (mountsim/gen.py)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def planted(monkeypatch):
    """fuzz.run_one reports a divergence for each program containing TRIGGER; returns the
    list of programs run in this process (workers have their own copies)."""
    real = fuzz.run_one
    seen: list = []

    def run_one(program, live, row=None):
        seen.append(program)
        div = real(program, live, row)
        for i, step in enumerate(program.steps):
            if step.name == TRIGGER and div is None:
                return Divergence(i, step, "0", "-1 EPLANTED", b_name="planted")
        return div

    monkeypatch.setattr(fuzz, "run_one", run_one)
    return seen


def _summary(out: str) -> str:
    return next(ln for ln in out.splitlines() if ln.startswith("fuzz: "))


def _saved(out_dir: Path) -> list[Path]:
    return sorted(out_dir.glob("divergence-*.trace"))


def _key(max_steps: int = 20) -> bytes:
    return fuzz.database_key("model-only", max_steps)


# -- --workers ---------------------------------------------------------------------------

@pytest.mark.parametrize("backend", ["model-only", pytest.param("live", marks=pytest.mark.live)])
def test_two_workers_find_save_and_count(planted, tmp_path, capsys, backend, request):
    """If two workers (--keep-going) each meet the planted divergence, then it is saved once,
    as a trace naming the trigger, into --out and the --db directory, and the summary's
    total is --examples, the sum of the two workers' counts."""
    flags = ["--model-only"]
    if backend == "live":
        request.getfixturevalue("live")             # skip where the live kernel cannot run
        flags = []
    db = tmp_path / "db"
    rc = main(["fuzz", *flags, "--workers", "2", "--examples", "120", "--seed", "7",
               "--keep-going", "--db", str(db), "--out", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert rc == 1, out
    line = _summary(out)
    head = line.split(",")[0]                       # fuzz: 120 programs (2 workers: a + b)
    assert head.startswith("fuzz: 120 programs (2 workers: "), line
    a, b = (int(n) for n in head.split(": ")[-1].rstrip(")").split(" + "))
    assert a + b == 120 and a == b == 60, line
    assert "1 divergence(s)" in line, line
    [trace] = _saved(tmp_path / "out")
    assert TRIGGER in {s.name for s in parse_file(str(trace)).steps}
    from hypothesis.database import DirectoryBasedExampleDatabase
    key = _key() if backend == "model-only" else fuzz.database_key(
        f"kernel-{fuzz._live_row()}", 20)
    assert list(DirectoryBasedExampleDatabase(db).fetch(key)), "nothing in the database"


def test_workers_replay_the_directory_database(planted, tmp_path, capsys):
    """If a run saved a counterexample in --db DIR, then a later run with two workers and
    one example each finds it (the database is replayed first); with a fresh database the
    same run finds nothing."""
    db = tmp_path / "db"
    assert main(["fuzz", "--model-only", "--examples", "200", "--seed", "3",
                 "--db", str(db), "--out", str(tmp_path / "first")]) == 1
    [first] = _saved(tmp_path / "first")
    capsys.readouterr()
    assert main(["fuzz", "--model-only", "--workers", "2", "--examples", "2", "--seed", "99",
                 "--db", str(db), "--out", str(tmp_path / "again")]) == 1
    [again] = _saved(tmp_path / "again")
    assert _body(again) == _body(first)
    capsys.readouterr()
    assert main(["fuzz", "--model-only", "--workers", "2", "--examples", "2", "--seed", "99",
                 "--db", str(tmp_path / "fresh"), "--out", str(tmp_path / "none")]) == 0


def _body(trace: Path) -> str:
    """The program of a saved trace (without the header naming its path)."""
    return "\n".join(ln for ln in trace.read_text().splitlines() if not ln.startswith("#"))


def test_workers_one_matches_the_single_process_campaign(tmp_path, capsys):
    """If --workers is 1, then the campaign is the in-process one: same programs and calls
    as before --workers existed (seed, then seed+1… per round)."""
    assert main(["fuzz", "--model-only", "--examples", "40", "--seed", "3", "--no-db"]) == 0
    single = _summary(capsys.readouterr().out)
    assert main(["fuzz", "--model-only", "--examples", "40", "--seed", "3",
                 "--workers", "1", "--db", str(tmp_path / "db")]) == 0
    again = _summary(capsys.readouterr().out)
    assert single.split(" in ")[0] == again.split(" in ")[0]


@pytest.mark.parametrize("argv, message", [
    (["--workers", "-3"], "--workers takes a number of processes"),
    (["--workers", "many"], "--workers takes a number of processes"),
    (["--db", "ftp://example.org/x"], "not a directory or redis://HOST:PORT"),
    (["--db", "redis://127.0.0.1:notaport"], "not a directory or redis://HOST:PORT"),
    (["--db", "redis://:6379"], "not a directory or redis://HOST:PORT"),
    (["--db", "redis://127.0.0.1:1/x"], "the database is a number"),
])
def test_bad_input_is_one_line_and_exit_2(argv, message, capsys):
    """If --workers or --db is malformed, then fuzz says so in one line and exits 2."""
    assert main(["fuzz", "--model-only", "--examples", "5", *argv]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and message in err and "Traceback" not in err, err


def test_db_that_is_a_file_or_unreachable_redis_exits_2(tmp_path, capsys):
    """If --db is a file, or a Redis server nobody listens for, then one line, exit 2."""
    f = tmp_path / "file"
    f.write_text("")
    assert main(["fuzz", "--model-only", "--examples", "5", "--db", str(f)]) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"mountsim fuzz: --db {f}: not a directory", err
    port = _free_port()
    assert main(["fuzz", "--model-only", "--examples", "5",
                 "--db", f"redis://127.0.0.1:{port}"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert f"cannot reach Redis at 127.0.0.1:{port}" in err and "Traceback" not in err, err


def test_ctrl_c_stops_every_worker(tmp_path):
    """If Ctrl-C reaches a --workers 2 campaign (SIGINT to its process group), then it
    prints its summary marked interrupted, exits 130 without a traceback, and no process of
    its group is left."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, "-m", "mountsim", "fuzz", "--model-only", "--workers", "2",
         "--examples", "1000000", "--db", str(tmp_path / "db")],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        _wait_for_children(proc.pid, 2)
        time.sleep(1)
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130, err
    assert b"Traceback" not in err and b"interrupted" in err, err
    assert b"(interrupted)" in out and b"(2 workers: " in out, out
    time.sleep(0.2)
    assert _group(proc.pid) == [], "processes left behind"


def _wait_for_children(pid: int, n: int, timeout: float = 20) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if len([p for p in _group(pid) if p != pid]) >= n:
            return
        time.sleep(0.05)
    raise AssertionError("the workers did not start")


def _group(pgid: int) -> list[int]:
    """Pids (zombies excluded) whose process group is *pgid*."""
    pids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                stat = Path(f"/proc/{d}/stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if fields[0] != "Z" and int(fields[2]) == pgid:
                pids.append(int(d))
    return pids


# -- Redis: the database several machines share --------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def redis_url(tmp_path):
    """A throwaway Debian redis-server on 127.0.0.1 (no persistence), stopped at the end."""
    redis = pytest.importorskip("redis", reason="the redis package is not installed "
                                                "(pip install 'hypothesis[redis]')")
    exe = shutil.which("redis-server")
    if exe is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server; ./dev does)")
    port = _free_port()
    proc = subprocess.Popen([exe, "--save", "", "--appendonly", "no", "--port", str(port),
                             "--bind", "127.0.0.1", "--dir", str(tmp_path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=1)
        end = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if proc.poll() is not None or time.monotonic() > end:
                    pytest.fail(f"redis-server did not start (exit {proc.poll()})")
                time.sleep(0.05)
        client.close()
        yield f"redis://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_counterexample_shared_through_redis(planted, redis_url, tmp_path, capsys):
    """If one run finds a counterexample with --db redis://…, then it is in the Redis
    database under the campaign's key; another run (other seed, other --out, one example)
    runs exactly that program first and saves the same trace, and so does a run of two
    workers; the same one-example run without the database finds nothing (so the replay,
    not luck, found it)."""
    import redis
    from hypothesis.extra.redis import RedisExampleDatabase

    assert main(["fuzz", "--model-only", "--examples", "200", "--seed", "11",
                 "--db", redis_url, "--out", str(tmp_path / "a")]) == 1
    [a] = _saved(tmp_path / "a")
    shrunk = planted[-1]                            # Hypothesis re-runs the minimal one last
    assert TRIGGER in {s.name for s in shrunk.steps}
    client = redis.Redis.from_url(redis_url)
    assert list(RedisExampleDatabase(client).fetch(_key())), "not in the Redis database"
    client.close()
    capsys.readouterr()

    planted.clear()
    assert main(["fuzz", "--model-only", "--examples", "1", "--seed", "12",
                 "--db", redis_url, "--out", str(tmp_path / "b")]) == 1
    assert format_program(planted[0]) == format_program(shrunk)
    [b] = _saved(tmp_path / "b")
    assert _body(b) == _body(a)
    capsys.readouterr()

    assert main(["fuzz", "--model-only", "--workers", "2", "--examples", "2", "--seed", "13",
                 "--db", redis_url, "--out", str(tmp_path / "workers")]) == 1
    [w] = _saved(tmp_path / "workers")
    assert _body(w) == _body(a)
    capsys.readouterr()

    planted.clear()
    assert main(["fuzz", "--model-only", "--examples", "1", "--seed", "12",
                 "--no-db", "--out", str(tmp_path / "c")]) == 0
    assert all(TRIGGER not in {s.name for s in p.steps} for p in planted)
