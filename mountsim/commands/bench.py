"""`mountsim bench`: the model's speed against the real kernel on this machine, as ratios.

Sections, each measured on the model and on the kernel in the same invocation:

- *ops*: op classes (propagation to N peers / N slaves, unshare(CLONE_NEWNS), a mountinfo
  read, open_tree(OPEN_TREE_CLONE|AT_RECURSIVE)+close, mkdir + tmpfs mount, bind + umount
  pairs, teardown by umount -l and by namespace exit) at growing sizes N: per-unit cost,
  the model/kernel ratio, and the log-log slope of total time over N (1.0 = linear). The
  kernel side is a small C driver (mountsim/bench/driver.c, compiled with gcc into
  ~/.cache/mountsim/bench/) that runs every repetition in a forked child inside a private
  mount namespace on a tmpfs root, so the host's mount table never changes. Each point is
  the best of K repetitions (the machine is shared; noise only ever adds time).
- *throughput*: the same Hypothesis-generated programs (fixed seed) executed end to end by
  each backend — programs per second, what bounds a fuzz campaign. The live side includes
  its sandbox (a fresh namespace and pivot_root per program) and IPC. With `--backend vm`
  the kernel side of this section is a QEMU guest (the ops section stays on this machine).
  With the live backend it also measures, with one process and with one per CPU at once,
  the kernel's own *namespace churn* (the C driver: fork, unshare(CLONE_NEWNS), a mount and
  a bind, exit) and the live backend's *sandboxes* (an empty program: set up, its table
  read, torn down; mountsim/bench/sandboxes.py): how far the part of a campaign that gives
  each program a fresh namespace scales on this machine (`fuzz --workers`).
- *million* (`--million`, not by default): 1,000,000 tmpfs mounts in one namespace, built,
  read as mountinfo, copied by CLONE_NEWNS and torn down; the model's peak RSS measured in a
  fresh subprocess. The kernel side raises fs.mount-max for the run and restores it.

Performance is reported, never asserted: the numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

from ..backends.model import ModelBackend
from ..errors import StepRefused
from .diff import add_backend_arguments, backend_or_say

DEFAULT_SIZES = [1000, 3000, 10000, 30000]
DEFAULT_PROP_SIZES = [1000, 3000, 10000]
FULL_SIZES = [1000, 3000, 10000, 30000, 100000]
FULL_PROP_SIZES = [1000, 2000, 5000, 10000, 20000]
QUICK_SIZES = [300, 1000, 3000]
MILLION = 1_000_000


EPILOG = """\
sections: throughput (programs/s, model vs the live backend or --backend vm), ops (op
classes at growing N on the model and on this machine's kernel, in the same run), and
with --million the 1,000,000-mount run. Each ops point is the best of K repetitions: the
machine may be shared, and noise only ever adds time. The kernel side is a C driver
compiled with gcc into ~/.cache/mountsim/bench/ that works only inside a private mount
namespace on a tmpfs root, so the host's mount table never changes. Without gcc or root,
the ops are measured on the model only. Only --million touches a global setting:
fs.mount-max (default 100000) is raised for its kernel side and restored afterwards.
Default run: about 30 s; --full: several minutes."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.epilog = EPILOG
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument("--sizes", metavar="N,N,…",
                   help="sizes N for the table op classes (unshare, mountinfo, open_tree, "
                        f"mkdir+mount, teardown); default {','.join(map(str, DEFAULT_SIZES))}")
    p.add_argument("--prop-sizes", metavar="N,N,…",
                   help="sizes N for the propagation classes (N peers / N slaves); default "
                        "the --sizes list, else " + ",".join(map(str, DEFAULT_PROP_SIZES)))
    p.add_argument("--full", action="store_true",
                   help="the full ranges: sizes " + ",".join(map(str, FULL_SIZES))
                        + ", propagation " + ",".join(map(str, FULL_PROP_SIZES))
                        + " (several minutes)")
    p.add_argument("--quick", action="store_true",
                   help="small sizes (" + ",".join(map(str, QUICK_SIZES))
                        + "), 2 repetitions, 50 programs")
    p.add_argument("--reps", metavar="K", default=None,
                   help="repetitions per point; the best is kept (default 3)")
    p.add_argument("--pairs", metavar="K", default="2000",
                   help="bind+umount pairs timed in the fixed-size class (default %(default)s)")
    p.add_argument("--ops", metavar="OP,OP,…",
                   help="only these op classes: " + ",".join(_op_keys()))
    p.add_argument("--programs", metavar="N", default=None,
                   help="generated programs for the throughput section (default 300)")
    p.add_argument("--mounts", nargs="+", metavar="N", help=argparse.SUPPRESS)  # old --sizes
    p.add_argument("--seed", metavar="N", default="0", help="generator seed (default %(default)s)")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--ops-only", action="store_true", help="skip the throughput section")
    what.add_argument("--throughput-only", action="store_true", help="skip the ops section")
    what.add_argument("--million-only", action="store_true",
                      help="only the one-million-mount run (see --million)")
    p.add_argument("--million", action="store_true",
                   help="add the 1,000,000-mount run (model: time and peak RSS in a fresh "
                        "subprocess; kernel: needs fs.mount-max, a global sysctl, raised: it "
                        "is raised for the kernel side only and restored to its old value "
                        "afterwards; if it cannot be raised the kernel runs at the largest N "
                        "allowed). Takes minutes and several GB of memory")
    p.add_argument("--model-only", action="store_true", help="measure the model alone")
    p.add_argument("--json", metavar="FILE", help="write every raw point and the summary as JSON")
    p.add_argument("--plot", metavar="FILE.svg",
                   help="draw per-unit cost against N (log-log), model and kernel per op class")
    add_backend_arguments(p)


def _op_keys() -> list[str]:
    from ..bench import OPS
    return [o.key for o in OPS]


def generate(n: int, seed: int) -> list:
    """*n* programs from the campaign's generator, reproducibly."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hseed

    from ..gen import programs

    out: list = []

    @hseed(seed)
    @settings(max_examples=n, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(programs(max_steps=20))
    def collect(p):
        out.append(p)

    collect()
    return out[:n]


def run_programs(backend, progs: list) -> float:
    """Seconds to run every program to the end (results and final tables) on *backend*."""
    t0 = time.perf_counter()
    for prog in progs:
        s = backend.start(prog)
        try:
            for step in prog.steps:
                if step.pid in s.pids():
                    s.execute(step)
            for pid in s.pids():
                s.mountinfo(pid)
        except StepRefused:                    # the sandbox's guard stopped it: not timed further
            pass
        finally:
            s.close()
    return time.perf_counter() - t0


class BadArgs(Exception):
    """A bad command-line value; the message is the one line printed."""


def _ints(text, what: str, lo: int = 1) -> list[int]:
    parts = text if isinstance(text, list) else str(text).replace(",", " ").split()
    try:
        vals = [int(x.replace("_", "")) for x in parts]
    except ValueError:
        raise BadArgs(f"{what}: expected whole numbers, got {' '.join(parts)!r}") from None
    if not vals:
        raise BadArgs(f"{what}: no value given")
    if any(v < lo for v in vals):
        raise BadArgs(f"{what}: values must be at least {lo}")
    return sorted(set(vals))


def _settings(args: argparse.Namespace) -> dict:
    """The run's sizes and counts from the arguments; BadArgs on nonsense."""
    if args.full and args.quick:
        raise BadArgs("--full and --quick exclude each other")
    sizes = FULL_SIZES if args.full else QUICK_SIZES if args.quick else DEFAULT_SIZES
    prop = FULL_PROP_SIZES if args.full else QUICK_SIZES if args.quick else DEFAULT_PROP_SIZES
    if args.mounts:
        sizes = prop = _ints(args.mounts, "--mounts")
    if args.sizes is not None:
        sizes = prop = _ints(args.sizes, "--sizes")
    if args.prop_sizes is not None:
        prop = _ints(args.prop_sizes, "--prop-sizes")
    reps = _ints(args.reps, "--reps")[0] if args.reps is not None else (2 if args.quick else 3)
    programs = (_ints(args.programs, "--programs")[0] if args.programs is not None
                else 50 if args.quick else 300)
    pairs = _ints(args.pairs, "--pairs")[0]
    seed = _ints(args.seed, "--seed", lo=0)[0]
    keys = _op_keys()
    ops = keys
    if args.ops is not None:
        ops = [o for o in str(args.ops).replace(",", " ").split()]
        bad = [o for o in ops if o not in keys]
        if bad or not ops:
            raise BadArgs(f"--ops: unknown op class {' '.join(bad) or '(none)'!r} "
                          f"(choose from {','.join(keys)})")
    for f, what in ((args.json, "--json"), (args.plot, "--plot")):
        if f is not None:
            d = os.path.dirname(os.path.abspath(f))
            if not os.path.isdir(d):
                raise BadArgs(f"{what}: no such directory {d}")
    return {"sizes": sizes, "prop_sizes": prop, "reps": reps, "programs": programs,
            "pairs": pairs, "ops": ops, "seed": seed, "churn": 200 if args.quick else 1000,
            "sandboxes": 50 if args.quick else 300}


def say(msg: str) -> None:
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def main(args: argparse.Namespace) -> int:
    try:
        st = _settings(args)
    except BadArgs as e:
        print(f"mountsim bench: {e}", file=sys.stderr)
        return 2
    do_tp = not (args.ops_only or args.million_only)
    do_ops = not (args.throughput_only or args.million_only)
    do_million = args.million or args.million_only
    doc: dict = {"settings": {k: v for k, v in st.items()}, "notes": []}
    from ..bench.report import machine
    doc["machine"] = machine()
    out = []                                      # the report, printed at the end

    live, row = None, None
    if do_tp and not args.model_only:
        chosen = backend_or_say("bench", args, " (use --model-only)")
        if chosen is None:
            return 2
        live, row = chosen

    driver = None
    if (do_ops or do_million) and not args.model_only:
        from ..bench.kernel import Driver, KernelUnavailable
        try:
            driver = Driver()
        except KernelUnavailable as e:
            note = f"kernel side unavailable ({e}): ops measured on the model only"
            print(f"bench: {note}", file=sys.stderr)
            doc["notes"].append(note)

    if do_tp:
        out += _throughput(args, st, live, row, doc)
    if do_ops:
        out += _ops(st, driver, doc, args)
    if do_million:
        out += _million(driver, doc)

    print("\n".join(out))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")
        say(f"wrote {args.json}")
    return 0


def _throughput(args, st, live, row, doc) -> list[str]:
    vm = live if live is not None and live.name == "vm" else None
    out = []
    if vm is not None:
        out.append(f"VM boot: {vm.vm.boot_seconds:.2f} s to the agent's hello "
                   f"({vm.vm.guest_uptime:.2f} s guest uptime), kernel {vm.release}")
    say(f"generating {st['programs']} programs (seed {st['seed']})…")
    progs = generate(st["programs"], st["seed"])
    calls = sum(len(p.steps) for p in progs)
    say("throughput: model…")
    tm = run_programs(ModelBackend(row), progs)
    res = {"programs": len(progs), "calls": calls, "model_sec": tm}
    out.append(f"differential throughput, {len(progs)} programs, {calls} calls:")
    out.append(f"  model   {len(progs) / tm:10.0f} programs/s  {calls / tm:10.0f} calls/s")
    if live is not None:
        say(f"throughput: {live.name} backend…")
        tl = run_programs(live, progs)
        how = "VM: TCG guest, sandbox + virtio-serial" if vm else "live backend: sandbox + IPC"
        out.append(f"  kernel  {len(progs) / tl:10.0f} programs/s  {calls / tl:10.0f} calls/s"
                   f"   ({how} per program)")
        out.append(f"  model/kernel throughput ratio: {tl / tm:.2f}x")
        res.update(kernel_sec=tl, backend=live.name, ratio=tl / tm)
        if vm is not None:
            res["vm_kernel"] = vm.release
        live.close()
        if vm is None:
            out += _churn(st, doc, res)
    out.append("")
    doc["throughput"] = res
    return out


def _churn(st, doc, res) -> list[str]:
    """The kernel's namespace churn with 1 process and with one per CPU, best of the reps."""
    from ..bench.kernel import Driver, KernelUnavailable
    procs = max(2, os.cpu_count() or 1)
    n = st["churn"]
    try:
        driver = Driver()
        say(f"namespace churn: {n} namespaces by 1 process, then by {procs} at once…")
        one = max(driver.churn_rate(n, 1) for _ in range(st["reps"]))
        many = max(driver.churn_rate(n, procs) for _ in range(st["reps"]))
    except KernelUnavailable as e:
        doc["notes"].append(f"namespace churn not measured: {e}")
        return [f"  namespace churn not measured: {e}"]
    res["churn"] = {"n": n, "procs": procs, "per_sec_1": one, "per_sec_p": many,
                    "scaling": many / one}
    out = ["  kernel namespace churn (the driver: fork, unshare(CLONE_NEWNS), a mount and a "
           "bind, exit; a fresh sandbox per program costs the kernel this much):",
           f"    1 process {one:.0f}/s; {procs} processes at once {many:.0f}/s together: "
           f"{many / one:.2f}x"]
    from ..bench import sandboxes
    m = st["sandboxes"]
    try:
        say(f"live sandboxes: {m} empty programs by 1 backend, then by {procs} at once…")
        one = max((sandboxes.rate(m, 1) for _ in range(st["reps"])), key=_per_sec)
        many = max((sandboxes.rate(m, procs) for _ in range(st["reps"])), key=_per_sec)
    except (sandboxes.SandboxesUnavailable, OSError, subprocess.TimeoutExpired) as e:
        doc["notes"].append(f"live sandboxes not measured: {e}")
        return out + [f"  live sandboxes not measured: {e}"]
    res["sandboxes"] = {"n": m, "procs": procs, "per_sec_1": one["per_sec"],
                        "per_sec_p": many["per_sec"], "scaling": many["per_sec"] / one["per_sec"],
                        "busy_1": one["busy"], "busy_p": many["busy"],
                        "cpu_ms_1": one["cpu_ms"], "cpu_ms_p": many["cpu_ms"]}
    return out + ["  live sandboxes (an empty program: set up, its table read, torn down):",
                  f"    1 backend {one['per_sec']:.0f}/s{_busy(one)}; {procs} backends at once "
                  f"{many['per_sec']:.0f}/s together{_busy(many)}: "
                  f"{many['per_sec'] / one['per_sec']:.2f}x",
                  f"    (what every live program pays; `fuzz --workers {procs}` gains on the rest; "
                  f"CPUs near 100% busy mean the rate is bound by CPU, not by waiting)"]


def _per_sec(row: dict) -> float:
    return row["per_sec"]


def _busy(row: dict) -> str:
    """", CPUs 71% busy, 4.2 ms CPU each" (nothing without /proc/stat)."""
    if row["busy"] is None:
        return ""
    return f", CPUs {row['busy']:.0%} busy, {row['cpu_ms']:.1f} ms CPU each"


def _ops(st, driver, doc, args) -> list[str]:
    from ..bench import BY_KEY, clamp
    from ..bench import model as msim
    from ..bench.kernel import KernelUnavailable, read_mount_max
    from ..bench.report import budget, budget_lines, plot, summarise, table

    wanted = set(st["ops"])
    mount_max = read_mount_max() if driver is not None else 100_000
    notes = []
    # scenario -> sizes; one scenario run measures every op class it feeds
    plan: list[tuple[str, int, set[str]]] = []
    build_ops = {k for k in wanted if BY_KEY[k].scenario == "build"}
    if build_ops:
        sizes = sorted({clamp("build", n, mount_max) for n in st["sizes"]})
        plan += [("build", n, build_ops) for n in sizes]
    for sc in ("shared", "slave"):
        if sc in wanted:
            plan += [(sc, n, {sc}) for n in sorted({clamp(sc, n, mount_max) for n in st["prop_sizes"]})]
    if "bind_umount" in wanted:
        plan.append(("bind_umount", st["pairs"], {"bind_umount"}))
    for sc, fam in (("build", "sizes"), ("shared", "prop_sizes"), ("slave", "prop_sizes")):
        over = [n for n in st[fam] if clamp(sc, n, mount_max) < n]
        if over and any(BY_KEY[k].scenario == sc for k in wanted):
            notes.append(f"{sc}: N={','.join(map(str, over))} clamped to "
                         f"{clamp(sc, max(over), mount_max)} on both sides "
                         f"(fs.mount-max = {mount_max})")

    raw: list[dict] = []
    reps = st["reps"]
    for sc, n, ops in plan:
        t0 = time.perf_counter()
        line = f"{sc} N={n}:"
        if driver is not None:
            try:
                for r in driver.run(sc, n, reps, ops):
                    if "op" in r and r["op"] in ops:
                        raw.append({"op": r["op"], "side": "kernel", "n": n, "rep": r["rep"],
                                    "sec": r["sec"]})
                line += f" kernel {time.perf_counter() - t0:.1f} s"
            except KernelUnavailable as e:
                notes.append(f"kernel side failed: {e}")
                say(f"kernel side failed ({e}); continuing with the model only")
                driver = None
        t1 = time.perf_counter()
        for rep in range(reps):
            for op, sec in msim.run(sc, n, mount_max, ops).items():
                if op in ops:
                    raw.append({"op": op, "side": "model", "n": n, "rep": rep, "sec": sec})
        say(f"{line} model {time.perf_counter() - t1:.1f} s  (best of {reps})")

    rows = summarise(raw)
    kernel = doc["machine"]["kernel"]
    if any(r["side"] == "kernel" for r in raw):
        who = (f"kernel = Linux {kernel} on this machine (C driver in a private mount "
               "namespace), model = mountsim in-process")
    else:
        who = "model only (kernel side not measured)"
    out = [f"ops: per-unit cost at the largest N, best of {reps} repetitions per point "
           "(a shared machine: noise only adds time);",
           f"  {who}",
           "slope = d log(total time) / d log(N), least squares: 1.00 linear, 2.00 quadratic;",
           "spread = median / best - 1 of a point's repetitions, the largest over the sizes",
           table(rows)]
    verdict = budget(rows)
    if verdict is not None:
        out += budget_lines(verdict, rows)
        if not args.full:
            out.append("budget: (stated for --full's sizes; small tables fit the CPU's "
                       "caches, where the kernel is fastest)")
    out += [f"note: {n}" for n in notes]
    out.append("")
    doc["notes"] += notes
    doc["ops"] = {"reps": reps, "mount_max": mount_max, "raw": raw, "summary": rows,
                  "budget": verdict}
    if args.plot:
        m = doc["machine"]
        plot(rows, args.plot, f"mountsim bench: per-unit cost vs N, best of {reps} "
                              f"(Linux {m['kernel']}, {m['cpu']}, {m['date']})")
        say(f"wrote {args.plot}")
    return out


def _million(driver, doc) -> list[str]:
    from ..bench import million
    from ..bench.report import MILLION_RSS_MAX_KB, fmt_time

    out = [f"million: {MILLION:,} tmpfs mounts in one namespace (one run each, not best-of)"]
    say("million: model side in a fresh subprocess (minutes, GBs of memory)…")
    m = million.model_side(MILLION)
    res: dict = {"model": m}
    labels = [("mkdir_mount", "build (mkdir+mount)"), ("mountinfo", "mountinfo read"),
              ("unshare", "unshare(CLONE_NEWNS)"), ("nsexit", "namespace exit"),
              ("umount_l", "umount -l of the tree")]
    k = None
    if driver is not None:
        say("million: kernel side…")
        k = million.kernel_side(driver, MILLION, say)
        res["kernel"] = k
    if "error" in m:
        out.append(f"  model: {m['error']}")
    else:
        out.append(f"  model peak RSS {m['rss_peak_kb'] / 1024:,.0f} MiB "
                   f"(after imports and boot: {m['rss_base_kb'] / 1024:,.0f} MiB; "
                   f"{(m['rss_peak_kb'] - m['rss_base_kb']) * 1024 / MILLION:,.0f} bytes/mount "
                   f"at the peak, original + copy)")
        under = m["rss_peak_kb"] < MILLION_RSS_MAX_KB
        res["under_budget"] = under
        out.append(f"  budget: the model's peak under {MILLION_RSS_MAX_KB // 1024 ** 2} GiB: "
                   + ("yes" if under else "no"))
    if k is not None:
        if "error" in k:
            out.append(f"  kernel: {k['error']}")
        if k.get("n", MILLION) != MILLION:
            out.append(f"  kernel at N={k['n']:,} only (fs.mount-max {k['mount_max_used']})")
        elif k["mount_max_before"] < MILLION + 100:
            out.append(f"  fs.mount-max was raised {k['mount_max_before']} -> "
                       f"{k['mount_max_used']} for the kernel side, restored to "
                       f"{k['mount_max_after']}")
        if "slab_growth_kb" in k:
            out.append(f"  kernel Slab growth over the build {k['slab_growth_kb'] / 1024:,.0f} MiB "
                       "(machine-wide, indicative)")
    out.append(f"  {'op':26} {'kernel/mount':>13} {'model/mount':>13} {'model/kernel':>13}")
    for key, label in labels:
        ms = m.get("sec", {}).get(key)
        ks = (k or {}).get("sec", {}).get(key)
        kn = (k or {}).get("n", MILLION)
        mu = ms / MILLION if ms is not None else None
        ku = ks / kn if ks is not None else None
        ratio = f"{mu / ku:.1f}x" if mu and ku else "-"
        out.append(f"  {label:26} {fmt_time(ku):>13} {fmt_time(mu):>13} {ratio:>13}")
    out.append("")
    doc["million"] = res
    return out
