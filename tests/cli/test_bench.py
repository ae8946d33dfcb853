"""`mountsim bench`: the report's arithmetic, its JSON and SVG outputs, model-only runs,
bad arguments, and that a run with the kernel side leaves the host's mount table and
fs.mount-max as they were. Speeds are never asserted: only the shape of the output.
"""

from __future__ import annotations

import json
import math
import os
import time
import xml.etree.ElementTree as ET

import pytest

from mountsim.bench import OPS
from mountsim.bench.report import slope, summarise
from mountsim.cli import main

TINY = ["--sizes", "20,40", "--reps", "1", "--pairs", "10"]
SVG = "{http://www.w3.org/2000/svg}"


def _host() -> tuple[str, str]:
    with open("/proc/self/mountinfo") as f, open("/proc/sys/fs/mount-max") as g:
        return f.read(), g.read()


def test_slope_of_given_numbers():
    """The slope is the least-squares slope of log(time) over log(N)."""
    assert slope([(1000, 0.5), (10000, 5.0)]) == pytest.approx(1.0)
    assert slope([(10, 1.0), (100, 100.0)]) == pytest.approx(2.0)
    pts = [(100, 2.0), (1000, 30.0), (10000, 250.0)]
    lx = [math.log(x) for x, _ in pts]
    ly = [math.log(y) for _, y in pts]
    mx, my = sum(lx) / 3, sum(ly) / 3
    want = sum((a - mx) * (b - my) for a, b in zip(lx, ly)) / sum((a - mx) ** 2 for a in lx)
    assert slope(pts) == pytest.approx(want)
    assert slope([(1000, 1.0)]) is None and slope([(5, 1.0), (5, 2.0)]) is None


def test_summary_keeps_the_best_repetition_and_the_ratio():
    raw = [{"op": "unshare", "side": s, "n": n, "rep": r, "sec": sec}
           for s, n, r, sec in [("kernel", 10, 0, 3.0), ("kernel", 10, 1, 1.0),
                                ("kernel", 100, 0, 10.0), ("model", 10, 0, 4.0),
                                ("model", 100, 0, 40.0), ("model", 100, 1, 50.0)]]
    (row,) = summarise(raw)
    assert [p["sec"] for p in row["kernel"]["points"]] == [1.0, 10.0]
    assert row["kernel"]["per_unit"] == pytest.approx(0.1)
    assert row["ratio"] == pytest.approx(4.0) and row["ratio_n"] == 100
    assert row["model"]["slope"] == pytest.approx(1.0)


def _check_svg(path, series: set[str]):
    root = ET.parse(path).getroot()
    assert root.tag == f"{SVG}svg"
    texts = {t.text for t in root.iter(f"{SVG}text")}
    assert series <= texts
    assert len(list(root.iter(f"{SVG}polyline"))) >= len(series)


def test_model_only_writes_json_and_svg(tmp_path, capsys):
    """--model-only: every op class has model points and no kernel points."""
    j, s = tmp_path / "b.json", tmp_path / "b.svg"
    assert main(["bench", "--model-only", "--ops-only", *TINY,
                 "--json", str(j), "--plot", str(s)]) == 0
    doc = json.loads(j.read_text())
    rows = {r["op"]: r for r in doc["ops"]["summary"]}
    assert set(rows) == {o.key for o in OPS}
    assert all("model" in r and "kernel" not in r for r in rows.values())
    assert {p["n"] for p in rows["unshare"]["model"]["points"]} == {20, 40}
    assert "throughput" not in doc and doc["machine"]["nproc"] >= 1
    _check_svg(s, {"model"})
    assert "mkdir + tmpfs mount" in capsys.readouterr().out


def test_gcc_missing_falls_back_to_the_model(tmp_path, monkeypatch, capsys):
    from mountsim import native
    from mountsim.bench import kernel
    monkeypatch.setenv("MOUNTSIM_CACHE", str(tmp_path))         # no cached driver
    monkeypatch.setattr(native, "find_gcc", lambda: None)
    monkeypatch.setattr(kernel.os, "geteuid", lambda: 0)
    j = tmp_path / "b.json"
    assert main(["bench", "--ops-only", "--ops", "mountinfo,bind_umount", *TINY,
                 "--json", str(j)]) == 0
    err = [ln for ln in capsys.readouterr().err.splitlines() if "unavailable" in ln]
    assert len(err) == 1 and "gcc not found" in err[0]
    rows = json.loads(j.read_text())["ops"]["summary"]
    assert {r["op"] for r in rows} == {"mountinfo", "bind_umount"}
    assert all("kernel" not in r for r in rows)


@pytest.mark.parametrize("bad", [
    ["--sizes", "abc"], ["--sizes", "0,10"], ["--reps", "0"], ["--ops", "nosuch"],
    ["--programs", "x"], ["--full", "--quick"], ["--json", "/nonexistent/dir/b.json"],
])
def test_bad_arguments_exit_2_with_one_line(bad, capsys):
    assert main(["bench", "--model-only", *bad]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("mountsim bench: ")
    assert "Traceback" not in err[0]


def test_unknown_option_exits_2():
    with pytest.raises(SystemExit) as e:
        main(["bench", "--no-such-option"])
    assert e.value.code == 2


@pytest.mark.live
def test_kernel_and_model_points_and_host_unchanged(live, tmp_path, capsys):
    """Both sides measure every op class; the summary's slopes are those of its points; the
    host's mount table and fs.mount-max are unchanged afterwards."""
    if os.geteuid() != 0:
        pytest.skip("the kernel driver needs root")
    before = _host()
    j, s = tmp_path / "b.json", tmp_path / "b.svg"
    assert main(["bench", *TINY, "--programs", "3", "--json", str(j), "--plot", str(s)]) == 0
    assert _host() == before, "bench changed the host's mount table or fs.mount-max"
    doc = json.loads(j.read_text())
    assert doc["notes"] == [], doc["notes"]
    rows = {r["op"]: r for r in doc["ops"]["summary"]}
    assert set(rows) == {o.key for o in OPS}
    for op in OPS:
        for side in ("kernel", "model"):
            pts = rows[op.key][side]["points"]
            assert [p["n"] for p in pts] == ([10] if op.family == "fixed" else [20, 40])
            want = slope([(p["n"], p["sec"]) for p in pts])
            got = rows[op.key][side]["slope"]
            assert got == (None if want is None else pytest.approx(want))
        assert rows[op.key]["ratio"] > 0
    raw = doc["ops"]["raw"]
    assert {(r["op"], r["side"]) for r in raw} == {(o.key, s) for o in OPS for s in ("kernel", "model")}
    assert doc["throughput"]["backend"] == "live" and doc["throughput"]["programs"] == 3
    churn = doc["throughput"]["churn"]           # namespaces made by the driver, 1 and P at once
    assert churn["procs"] >= 2 and churn["per_sec_1"] > 0 and churn["per_sec_p"] > 0
    assert churn["scaling"] == pytest.approx(churn["per_sec_p"] / churn["per_sec_1"])
    boxes = doc["throughput"]["sandboxes"]       # empty programs, 1 and P live backends at once
    assert boxes["procs"] == churn["procs"] and boxes["per_sec_1"] > 0 and boxes["per_sec_p"] > 0
    assert boxes["scaling"] == pytest.approx(boxes["per_sec_p"] / boxes["per_sec_1"])
    for side in ("1", "p"):                      # how busy the machine was, CPU per sandbox
        assert 0 < boxes[f"busy_{side}"] <= 1 and boxes[f"cpu_ms_{side}"] > 0
    _check_svg(s, {"model", "kernel"})
    out = capsys.readouterr().out
    assert "model/kernel" in out and "best of 1" in out
    b = doc["ops"]["budget"]                     # the verdict, from this run's rows
    assert b["over_ratio"] == [r for r in rows if rows[r]["ratio"] > 3.0]
    assert out.count("budget: every ") == 2


def test_million_guardian_restores_the_setting_when_bench_is_killed(tmp_path, monkeypatch):
    """If bench is SIGKILLed while fs.mount-max is raised, then its guardian writes the old
    value back (here on a stand-in file: the host's sysctl is never touched by tests)."""
    import os
    import signal
    import time

    from mountsim.bench import million

    f = tmp_path / "mount-max"
    f.write_text("100000\n")
    monkeypatch.setattr(million, "read_mount_max", lambda: int(f.read_text()))
    monkeypatch.setattr(million, "write_mount_max", lambda v: f.write_text(f"{v}\n"))
    ready_r, ready_w = os.pipe()
    pid = os.fork()
    if pid == 0:                                   # stands in for bench
        try:
            million._guardian(100000)
            million.write_mount_max(1000100)
            os.write(ready_w, b"x")
            time.sleep(60)
        finally:
            os._exit(0)
    os.close(ready_w)
    assert os.read(ready_r, 1) == b"x"
    assert f.read_text() == "1000100\n"
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    for _ in range(100):                           # the guardian runs on its own
        if f.read_text() == "100000\n":
            break
        time.sleep(0.05)
    assert f.read_text() == "100000\n"


def test_spread_is_the_median_over_the_best():
    """If a point's repetitions took 1, 1.2 and 3 s, then its best is 1 s, its median 1.2 s
    and its spread 20%; a side's spread is its worst point's."""
    from mountsim.bench.report import summarise

    raw = [{"op": "unshare", "side": "model", "n": 10, "rep": i, "sec": s}
           for i, s in enumerate((3.0, 1.0, 1.2))]
    raw += [{"op": "unshare", "side": "model", "n": 20, "rep": i, "sec": s}
            for i, s in enumerate((2.0, 2.1, 2.0))]
    (row,) = summarise(raw)
    first = row["model"]["points"][0]
    assert first["sec"] == 1.0 and first["median_sec"] == 1.2
    assert first["spread"] == pytest.approx(0.2)
    assert row["model"]["spread"] == pytest.approx(0.2)


def test_cpu_ticks_count_spinning_cpus_as_busy():
    """If one process per CPU spins for half a second, then nearly all of the machine's
    ticks over that time are busy ones (proc(5): all but idle and iowait), and the busy
    ticks cover the half second on every CPU."""
    from mountsim.bench.sandboxes import cpu_ticks

    hz, ncpu = os.sysconf("SC_CLK_TCK"), os.cpu_count() or 1
    before = cpu_ticks()
    end = time.monotonic() + 0.5
    kids = []
    for _ in range(ncpu - 1):
        pid = os.fork()
        if pid == 0:
            while time.monotonic() < end:
                pass
            os._exit(0)
        kids.append(pid)
    while time.monotonic() < end:
        pass
    for pid in kids:
        os.waitpid(pid, 0)
    after = cpu_ticks()
    busy, total = after[0] - before[0], after[1] - before[1]
    assert busy >= 0.8 * total and busy >= 0.35 * hz * ncpu


def test_budget_names_what_is_over_it():
    """The verdict under the table names each op class over 3x of the kernel and each slope
    more than 0.15 from the kernel's, and says "yes" when none is (the budget of README
    "Performance"); no verdict without a kernel side."""
    from mountsim.bench.report import budget, budget_lines

    def raw(op, k, m):                            # seconds at N = 10, 100 for each side
        return [{"op": op, "side": side, "n": n, "rep": 0, "sec": sec}
                for side, secs in (("kernel", k), ("model", m)) for n, sec in zip((10, 100), secs)]
    rows = summarise(raw("unshare", (1.0, 10.0), (2.0, 20.0))          # 2x, slopes 1.00/1.00
                     + raw("nsexit", (1.0, 20.0), (2.0, 20.0))         # 1x, slopes 1.30/1.00
                     + raw("mountinfo", (1.0, 10.0), (3.5, 35.0)))     # 3.5x
    b = budget(rows)
    assert b["over_ratio"] == ["mountinfo"] and b["slopes_apart"] == ["nsexit"]
    ratio, slopes = budget_lines(b, rows)
    assert ": no, read /proc/self/mountinfo (3.5x)" in ratio
    assert ": no, teardown: namespace exit (kernel 1.30, model 1.00)" in slopes
    ok = summarise(raw("unshare", (1.0, 10.0), (2.0, 20.0)))
    assert [ln.endswith(": yes") for ln in budget_lines(budget(ok), ok)] == [True, True]
    model_only = [r for r in raw("unshare", (1.0, 10.0), (2.0, 20.0)) if r["side"] == "model"]
    assert budget(summarise(model_only)) is None
