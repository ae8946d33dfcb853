#!/usr/bin/env python3
"""Check models/*.trace against the running kernel, independently of mountsim.

Usage (root, Linux):  python3 models/tools/verify.py models/*.trace   (or models/tools/verify.sh)

For each trace: a fresh `unshare -m --propagation private` namespace, a fresh tmpfs made
the root with pivot_root(".", ".") (so the table starts as the model host's: one private
tmpfs at "/"), the `# start-dirs:` created in it, then every syscall line run for real by a
real process per trace pid (clone/fork with CLONE_NEWNS is fork + unshare in the child).
Each call's return value / errno is compared with the recorded one, and at the end the
mountinfo of the process that issued the last line is compared with `# expect-tree:`
(peer groups renumbered 1, 2, ... by first appearance). Nothing here touches the host's
mount table: all work happens inside the throwaway namespace, under the fresh tmpfs.

Only the calls the traces in this folder use are supported: mount, umount2/umount, mkdir,
chdir, chroot, unshare, clone, fork. `--show` prints the real table of every trace.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import re
import subprocess
import sys

FLAGS = {
    "MS_RDONLY": 1, "MS_NOSUID": 2, "MS_NODEV": 4, "MS_NOEXEC": 8, "MS_REMOUNT": 32,
    "MS_BIND": 4096, "MS_MOVE": 8192, "MS_REC": 16384, "MS_UNBINDABLE": 1 << 17,
    "MS_PRIVATE": 1 << 18, "MS_SLAVE": 1 << 19, "MS_SHARED": 1 << 20,
    "MNT_FORCE": 1, "MNT_DETACH": 2, "MNT_EXPIRE": 4, "UMOUNT_NOFOLLOW": 8,
    "CLONE_NEWNS": 0x20000, "CLONE_NEWUSER": 0x10000000, "SIGCHLD": 17,
}
LINE = re.compile(r"^(?:\[pid\s+(\d+)\]\s*)?(\w+)\((.*)\)\s*=\s*(-?\d+)(?:\s+(E[A-Z0-9]+))?")
ARG = re.compile(r'\s*("(?:\\.|[^"\\])*"|[^,]+)\s*(?:,|$)')
NSLOTS = 16

libc = ctypes.CDLL(None, use_errno=True)


def parse(path):
    hdr = {"main-pid": 1, "start-dirs": [], "expect": None}
    steps = []
    lines = open(path).read().splitlines()
    i = 0
    while i < len(lines):
        raw = lines[i]
        i += 1
        if raw.startswith("#"):
            key, sep, val = raw[1:].strip().partition(":")
            key = key.strip().lower()
            if key == "main-pid" and sep:
                hdr["main-pid"] = int(val)
            elif key == "start-dirs" and sep:
                hdr["start-dirs"] += val.split()
            elif key == "expect-tree" and sep:
                rows = []
                while i < len(lines) and lines[i].startswith("#"):
                    row = lines[i][1:].split()
                    if not row or not row[0].startswith("/"):
                        break
                    rows.append(row)
                    i += 1
                hdr["expect"] = rows
            continue
        if not raw.strip():
            continue
        m = LINE.match(raw.strip())
        if not m:
            sys.exit(f"{path}:{i}: cannot parse {raw!r}")
        pid = int(m.group(1)) if m.group(1) else hdr["main-pid"]
        args = [a.strip() for a in ARG.findall(m.group(3))] if m.group(3).strip() else []
        steps.append((i, pid, m.group(2), args, int(m.group(4)), m.group(5)))
    return hdr, steps


def value(a):
    a = a.split("=", 1)[1] if re.match(r"^\w+=", a) else a
    if a == "NULL":
        return None
    if a.startswith('"'):
        return a[1:-1].encode().decode("unicode_escape")
    n = 0
    for part in a.split("|"):
        part = part.strip()
        n |= FLAGS[part] if part in FLAGS else int(part, 8 if part.startswith("0") and part != "0" else 10)
    return n


def c(s):
    return None if s is None else s.encode()


def sysret(r):
    if r == -1:
        e = ctypes.get_errno()
        return -1, errno.errorcode.get(e, str(e))
    return r, None


def worker(slot, pipes, procfd):
    rd, wr = pipes[slot][0], pipes[slot][3]
    f = os.fdopen(rd, "r")
    for line in f:
        cmd = json.loads(line)
        op, a = cmd["op"], cmd["args"]
        try:
            if op == "mount":
                res = sysret(libc.mount(c(a[0]), c(a[1]), c(a[2]), ctypes.c_ulong(a[3] or 0), c(a[4])))
            elif op in ("umount2", "umount"):
                res = sysret(libc.umount2(c(a[0]), a[1] if len(a) > 1 else 0))
            elif op == "mkdir":
                res = sysret(libc.mkdir(c(a[0]), a[1] if len(a) > 1 else 0o755))
            elif op == "chdir":
                res = sysret(libc.chdir(c(a[0])))
            elif op == "chroot":
                res = sysret(libc.chroot(c(a[0])))
            elif op == "unshare":
                res = sysret(libc.unshare(a[0]))
            elif op in ("clone", "fork"):
                flags = (a[-1] if a else 0) & ~0xff
                r, w = os.pipe()
                pid = os.fork()
                if pid == 0:
                    ok = libc.unshare(flags) if flags else 0
                    os.write(w, b"0" if ok == 0 else str(ctypes.get_errno()).encode())
                    worker(cmd["child"], pipes, procfd)
                    os._exit(0)
                st = os.read(r, 16)
                res = (cmd["label"], None) if st == b"0" else (-1, errno.errorcode[int(st)])
            elif op == "mountinfo":
                fd = os.open("self/mountinfo", os.O_RDONLY, dir_fd=procfd)
                with os.fdopen(fd) as mi:
                    res = (mi.read(), None)
            elif op == "exit":
                os._exit(0)
            else:
                res = (-1, "unsupported " + op)
        except Exception as e:              # noqa: BLE001 - report, never crash the run
            res = (-1, f"exception {e!r}")
        os.write(wr, (json.dumps(res) + "\n").encode())


def normalise(text):
    rows, groups = [], {}
    for line in text.splitlines():
        f = line.split()
        sep = f.index("-")
        opt = []
        for o in f[6:sep]:
            k, _, v = o.partition(":")
            if k in ("shared", "master", "propagate_from"):
                groups.setdefault(v, str(len(groups) + 1))
                opt.append(f"{k}:{groups[v]}")
            else:
                opt.append(o)
        mp = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), f[4])
        rows.append([mp, f[sep + 1]] + (opt or ["private"]))
    return rows


def inner(path, show):
    hdr, steps = parse(path)
    steps = [(n, pid, name, args, [value(a) for a in args], ret, err)
             for n, pid, name, args, ret, err in steps]   # before pivot_root: codecs load lazily
    json.loads(json.dumps({"x": [1, None, "s"]}))
    sbx = "/tmp/.mountsim-verify-" + str(os.getpid())
    os.makedirs(sbx, exist_ok=True)
    assert libc.mount(b"tmpfs", sbx.encode(), b"tmpfs", 0, None) == 0
    for d in hdr["start-dirs"]:
        os.makedirs(sbx + d, exist_ok=True)
    procfd = os.open("/proc", os.O_RDONLY | os.O_DIRECTORY)
    os.chdir(sbx)
    assert libc.syscall(155, b".", b".") == 0, "pivot_root"     # x86_64 __NR_pivot_root
    assert libc.umount2(b".", 2) == 0
    os.chdir("/")
    pipes = []
    for _ in range(NSLOTS):
        r1, w1 = os.pipe()
        r2, w2 = os.pipe()
        pipes.append((r1, w1, r2, w2))
    slots = {hdr["main-pid"]: 0}
    replies = {}

    def call(pid, op, args, **extra):
        s = slots[pid]
        os.write(pipes[s][1], (json.dumps({"op": op, "args": args, **extra}) + "\n").encode())
        if s not in replies:
            replies[s] = os.fdopen(pipes[s][2], "r")
        return json.loads(replies[s].readline())

    if os.fork() == 0:
        worker(0, pipes, procfd)
        os._exit(0)
    bad = 0
    last = hdr["main-pid"]
    for n, pid, name, args, vals, ret, err in steps:
        extra = {}
        if name in ("clone", "fork"):
            vals = [v for a, v in zip(args, vals) if a.startswith("flags=")] or [0]
            slots[ret] = len(slots)
            extra["child"] = slots[ret]
            extra["label"] = ret
        got = call(pid, name, vals, **extra)
        last = pid
        want = [ret if ret < 0 else (ret if name in ("clone", "fork") else 0), err]
        if name in ("clone", "fork") and ret < 0:
            want = [-1, err]
        if got != want:
            bad += 1
            print(f"{path}:{n}: kernel says {got[0]} {got[1] or ''}, trace says {ret} {err or ''}")
    table = normalise(call(last, "mountinfo", [])[0])
    if show:
        print(f"== {path} (pid {last})")
        for r in table:
            print("   ", "  ".join(r))
    if hdr["expect"] is not None:
        want = [[w for w in r if w != "locked" and w != "unlocked"] for r in hdr["expect"]]
        if want != table:
            bad += 1
            print(f"{path}: expect-tree differs from the kernel's table:")
            for r in table:
                print("    kernel:", "  ".join(r))
            for r in want:
                print("    trace: ", "  ".join(r))
    for pid in list(slots)[::-1]:
        try:
            os.write(pipes[slots[pid]][1], b'{"op": "exit", "args": []}\n')
        except OSError:
            pass
    return bad


def main(argv):
    show = "--show" in argv
    files = [a for a in argv if a != "--show"]
    if argv[:1] == ["--inner"]:
        sys.exit(1 if inner(argv[1], "--show" in argv[2:]) else 0)
    failed = 0
    for f in files:
        r = subprocess.run(["unshare", "-m", "--propagation", "private", sys.executable, __file__,
                            "--inner", f] + (["--show"] if show else []))
        failed += r.returncode != 0
        if r.returncode == 0 and not show:
            print(f"ok  {f}")
    print(f"{len(files) - failed}/{len(files)} traces match the running kernel ({os.uname().release})")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main(sys.argv[1:])
