"""openat2(2) on the model and on the live kernel (firejail opens every path it mounts
over with openat2(RESOLVE_NO_SYMLINKS) and mounts on /proc/self/fd/N; runc resolves in the
container's root with RESOLVE_IN_ROOT).

Expected values are the kernel's: programs run on both, and any difference fails; what the
sandbox does not run live (RESOLVE_IN_ROOT: its guard could not follow it) is compared with
this kernel's own openat2() in a temporary directory. The rules (fs/open.c openat2 and
build_open_flags(); fs/namei.c pick_link(), nd_jump_link(), nd_jump_root(),
follow_dotdot(), traverse_mounts() under LOOKUP_NO_XDEV, LOOKUP_NO_SYMLINKS,
LOOKUP_NO_MAGICLINKS, LOOKUP_BENEATH, LOOKUP_IN_ROOT).
"""

from __future__ import annotations

import ctypes
import errno
import os
import struct

import pytest

from mountsim import uapi
from mountsim.backends import _sys
from mountsim.backends.model import ModelBackend
from mountsim.differential import run_pair
from mountsim.trace.program import Program, Step
from tests.helpers import kernel_agrees

AT = uapi.AT_FDCWD
O_PATH, O_NOFOLLOW, O_CREAT = uapi.O_PATH, uapi.O_NOFOLLOW, uapi.O_CREAT
NO_XDEV, NO_MAGIC, NO_SYM = uapi.RESOLVE_NO_XDEV, uapi.RESOLVE_NO_MAGICLINKS, uapi.RESOLVE_NO_SYMLINKS
BENEATH, IN_ROOT, CACHED = uapi.RESOLVE_BENEATH, uapi.RESOLVE_IN_ROOT, uapi.RESOLVE_CACHED


def how(flags=0, resolve=0, mode=0) -> dict:
    return {"flags": flags, "mode": mode, "resolve": resolve}


def o2(dfd, path, h, size=24, label=None):
    return Step(1, "openat2", (dfd, path, h, size), label=label)


PROGRAM = [
    Step(1, "mount", ("proc", "/proc", "proc", 0, None)),
    Step(1, "mount", ("none", "/a", "tmpfs", 0, None)),
    Step(1, "mkdir", ("/a/d", 0o755)),
    Step(1, "symlink", ("d", "/a/l")),
    Step(1, "symlink", ("/a/d", "/a/abs")),
    Step(1, "openat", (AT, "/a", O_PATH), label=3),
    Step(1, "openat", (AT, "/proc", O_PATH), label=4),
    o2(AT, "/a/d", how(O_PATH, NO_XDEV)),                  # EXDEV: / into the /a mount
    o2(3, "d", how(O_PATH, NO_XDEV), label=5),             # inside one mount: fine
    o2(3, "..", how(O_PATH, NO_XDEV)),                     # EXDEV: out of /a
    o2(3, "l", how(O_PATH, NO_SYM)),                       # ELOOP
    o2(3, "l", how(O_PATH | O_NOFOLLOW, NO_SYM), label=6), # the link itself: fine
    o2(3, "l", how(O_PATH, NO_MAGIC), label=7),            # a plain link: fine
    o2(4, "self/root", how(O_PATH, NO_MAGIC)),             # ELOOP: a magic link
    o2(4, "self/root", how(O_PATH, NO_SYM)),               # ELOOP
    o2(4, "self/root", how(O_PATH, BENEATH)),              # EXDEV: magic links leave a scope
    o2(3, "../a", how(O_PATH, BENEATH)),                   # EXDEV: above the scope
    o2(3, "/a", how(O_PATH, BENEATH)),                     # EXDEV: absolute
    o2(3, "abs", how(O_PATH, BENEATH)),                    # EXDEV: an absolute link
    o2(3, "d/../l", how(O_PATH, BENEATH), label=8),        # stays inside: fine
    o2(3, "d", how(O_PATH), size=23),                      # EINVAL: size
    o2(3, "d", how(O_PATH), size=4097),                    # E2BIG
    o2(3, "d", how(0, 0, mode=0o644)),                     # EINVAL: mode without O_CREAT
    o2(3, "d", how(O_PATH, 0x40)),                         # EINVAL: resolve bit
    o2(3, "d", how(O_PATH | uapi.O_RDWR)),                 # EINVAL: O_PATH with others
    o2(3, "f", how(O_CREAT | uapi.O_WRONLY, CACHED, 0o600)),  # EAGAIN: cached create
    o2(3, "f", how(O_CREAT | uapi.O_WRONLY | uapi.O_CLOEXEC, BENEATH, 0o600), label=9),
    Step(1, "fcntl", (9, uapi.F_GETFD)),
    Step(1, "umount2", ("/a", 0)),                         # busy: fds 3, 5-9
]


@pytest.mark.live
def test_openat2_resolve_rules_and_checks(live):
    """If openat2 runs with each RESOLVE_* restriction and with each argument it checks,
    then every result agrees with the kernel's."""
    got = kernel_agrees(live, Program(start_dirs=["/a", "/proc"], steps=PROGRAM))
    assert [r.errno for r in got[7:]] == [
        "EXDEV", None, "EXDEV", "ELOOP", None, None, "ELOOP", "ELOOP", "EXDEV", "EXDEV",
        "EXDEV", "EXDEV", None, "EINVAL", "E2BIG", "EINVAL", "EINVAL", "EINVAL", "EAGAIN",
        None, None, "EBUSY"]
    assert got[-2].ret == uapi.FD_CLOEXEC


def _kernel_openat2(dfd: int, path: str, flags: int, resolve: int) -> int | str:
    """This kernel's openat2(): the fd (closed again) or the errno's name."""
    buf = ctypes.create_string_buffer(struct.pack("<3Q", flags, 0, resolve), 24)
    ret, err = _sys.call("openat2", dfd, path, buf, 24)
    if ret < 0:
        return errno.errorcode[err]
    os.close(ret)
    return "ok"


def test_in_root_resolves_absolute_paths_and_links_in_dirfd(tmp_path):
    """If a tree with an absolute symlink and a ".." that would climb out is opened with
    RESOLVE_IN_ROOT from its top, then the link and "/" resolve inside the tree and ".."
    stops at its top, as this kernel answers for the same tree in a temporary directory."""
    top = tmp_path / "r"
    (top / "etc").mkdir(parents=True)
    (top / "etc" / "f").write_text("")
    (top / "link").symlink_to("/etc")
    cases = ["/etc/f", "link/f", "../../../etc/f", "/link/../etc/f", "/nope", "link"]
    dfd = os.open(top, os.O_PATH)
    try:
        kernel = [_kernel_openat2(dfd, c, O_PATH, IN_ROOT) for c in cases]
    finally:
        os.close(dfd)
    steps = [Step(1, "mkdir", ("/r", 0o755)), Step(1, "mkdir", ("/r/etc", 0o755)),
             Step(1, "openat", (AT, "/r/etc/f", O_CREAT | uapi.O_WRONLY, 0o644), label=3),
             Step(1, "close", (3,)), Step(1, "symlink", ("/etc", "/r/link")),
             Step(1, "openat", (AT, "/r", O_PATH), label=3)]
    steps += [o2(3, c, how(O_PATH, IN_ROOT), label=10 + i) for i, c in enumerate(cases)]
    prog = Program(steps=steps)
    session = ModelBackend().start(prog)
    model = [session.execute(s) for s in prog.steps][6:]
    assert ["ok" if r.errno is None else r.errno for r in model] == kernel
    assert kernel == ["ok", "ok", "ok", "ok", "ENOENT", "ok"]


@pytest.mark.live
def test_in_root_is_refused_live(live):
    """If a trace asks the live sandbox for openat2 with RESOLVE_IN_ROOT, then the step is
    refused before it runs (the guard resolves paths the ordinary way, and an absolute
    path or link under IN_ROOT lands elsewhere): the run is not comparable there."""
    prog = Program(start_dirs=["/a"], steps=[
        Step(1, "openat", (AT, "/a", O_PATH), label=3),
        o2(3, "/x", how(O_CREAT | uapi.O_WRONLY, IN_ROOT, 0o600))])
    with live.start(prog) as kernel:
        div = run_pair(prog, ModelBackend().start(prog), kernel)
    assert div is not None and div.refused and "RESOLVE_IN_ROOT" in div.refused
