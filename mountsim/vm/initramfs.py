"""The guest's initramfs: this host's Python, the modules the agent imports, and /init.

Model-only (tooling: no kernel function is mirrored).

The guest runs the same interpreter as the host (sys.executable, resolved), with the
shared libraries `ldd` names for it and for every extension module, the stdlib and
site-packages modules the agent actually imports (found by importing it in a child
interpreter with the guest's flags, `-I -S`), and the `mountsim` package. Files keep their
host paths, so the interpreter finds its prefix as on the host. Each module is stored with
an unchecked hash-based .pyc (PEP 552) next to its source, so the guest never compiles.

The archive is an uncompressed cpio in the kernel's "newc" format
(Documentation/driver-api/early-userspace/buffer-format.rst), written here; it is cached
under the cache dir, named by a hash of everything in it.

Limitations: x86_64 glibc hosts; modules the agent imports lazily must be listed in
`EXTRA_MODULES`.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

from ..backends import live
from ..native import cache_dir

FORMAT = 1                      # bump when the layout of the image changes
KEEP = 6                        # images kept in the cache (other trees, other versions)
EXTRA_MODULES = ("json", "traceback", "linecache", "tokenize", "ctypes", "encodings.utf_8",
                 "encodings.latin_1", "encodings.ascii", "base64", "mountsim.backends.recorder")
_COLLECT = r"""
import importlib, json, sys
sys.path[:0] = PATHS
for m in MODULES:
    importlib.import_module(m)
files = sorted({getattr(m, "__file__", None) or "" for m in list(sys.modules.values())} - {""})
print(json.dumps(files))
"""


def _roots() -> list[str]:
    """The sys.path entries that hold mountsim and its runtime dependencies."""
    import attr
    import attrs

    import mountsim
    dirs = []
    for mod in (mountsim, attr, attrs):
        d = str(Path(mod.__file__).resolve().parent.parent)
        if d not in dirs:
            dirs.append(d)
    return dirs


def python() -> str:
    """The interpreter the guest runs: this one, symlinks resolved."""
    return os.path.realpath(sys.executable)


def module_files(roots: list[str]) -> list[str]:
    """Every module file the agent imports, as the guest's interpreter will see them."""
    code = _COLLECT.replace("PATHS", repr(roots)).replace(
        "MODULES", repr(["mountsim.vm.guest", *EXTRA_MODULES]))
    out = subprocess.run([python(), "-I", "-S", "-c", code], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout)


def shared_libraries(paths: list[str]) -> list[str]:
    """The libraries ldd resolves for *paths* (ELF files), the dynamic loader included."""
    libs: set[str] = set()
    for p in paths:
        out = subprocess.run(["ldd", p], capture_output=True, text=True)
        for line in out.stdout.splitlines():
            m = re.search(r"(?:=>\s*)?(/\S+)\s+\(0x", line)
            if m:
                libs.add(m.group(1))
    return sorted(libs)


def binaries(paths: list[str]) -> dict[str, tuple[int, bytes]]:
    """*paths* (executables) and the shared libraries ldd names for them: path -> (mode,
    bytes), at their host paths (for `mountsim record --vm`)."""
    return {p: (0o755, _stripped(p)) for p in sorted(set(paths) | set(shared_libraries(paths)))}


def init_script(roots: list[str]) -> bytes:
    """/init: the interpreter in isolated mode, no site, mountsim's roots on sys.path, and
    the host's cache directory as the guest's, where the image holds the sandbox spawner
    and the zygote's loop built on the host (the guest has no compiler)."""
    return (f"#!{python()} -IS\n"
            f"import os, sys\nsys.path[:0] = {roots!r}\n"
            f"os.environ['MOUNTSIM_CACHE'] = {str(cache_dir())!r}\n"
            "from mountsim.vm.guest import init_main\ninit_main()\n").encode()


def contents() -> dict[str, tuple[int, bytes]]:
    """Image path -> (mode, data) for every regular file of the image. Model-only."""
    roots = _roots()
    files: dict[str, tuple[int, bytes]] = {}
    mods = module_files(roots)
    spawner = str(live.spawner_path())         # and their sources: the guest checks hashes
    loop = str(live.zygote_loop_path())
    elves = [python(), spawner, loop] + [m for m in mods if m.endswith(".so")]
    for path in elves + shared_libraries(elves):
        files[path] = (0o755, _stripped(path))
    for m in mods:
        if m.endswith(".py"):
            src = Path(m).read_bytes()
            files[m] = (0o644, src)
            files[importlib.util.cache_from_source(m)] = (0o644, _pyc(m, src))
    files[str(live.SPAWNER)] = (0o644, live.SPAWNER.read_bytes())
    files[str(live.ZYGOTE_LOOP)] = (0o644, live.ZYGOTE_LOOP.read_bytes())
    files[str(live.FDPASS)] = (0o644, live.FDPASS.read_bytes())
    files["/init"] = (0o755, init_script(roots))
    return files


def _stripped(path: str) -> bytes:
    """*path*'s bytes without debug symbols when binutils' strip is here (a smaller image
    unpacks faster in the guest), else as they are."""
    if not shutil.which("strip"):
        return Path(path).read_bytes()
    with tempfile.TemporaryDirectory(prefix="mountsim-strip-") as tmp:
        out = Path(tmp) / "f"
        done = subprocess.run(["strip", "--strip-unneeded", "-o", str(out), path],
                              capture_output=True)
        return out.read_bytes() if done.returncode == 0 else Path(path).read_bytes()


def _pyc(path: str, src: bytes) -> bytes:
    """An unchecked hash-based .pyc of *src* (PEP 552): valid whatever the file's mtime."""
    from importlib._bootstrap_external import _code_to_hash_pyc  # type: ignore[attr-defined]
    code = compile(src, path, "exec", dont_inherit=True)
    return bytes(_code_to_hash_pyc(code, importlib.util.source_hash(src), checked=False))


def build(dest_dir: Path | None = None) -> Path:
    """The image for this host's Python and this mountsim tree, built once per content."""
    files = contents()
    h = hashlib.sha256(str(FORMAT).encode())
    for path in sorted(files):
        mode, data = files[path]
        h.update(f"{path}\0{mode}\0{len(data)}\0".encode())
        h.update(data)
    dest_dir = dest_dir or cache_dir() / "initramfs"
    dest = dest_dir / f"{h.hexdigest()[:20]}.cpio"
    if dest.is_file():
        return dest
    dest_dir.mkdir(parents=True, exist_ok=True)
    part = dest.with_suffix(".part%d" % os.getpid())
    part.write_bytes(newc(files))
    part.replace(dest)
    images = sorted(dest_dir.glob("*.cpio"), key=_mtime, reverse=True)
    for stale in images[KEEP:]:                # every edit of mountsim makes a new image
        stale.unlink(missing_ok=True)
    return dest


def _mtime(p: Path) -> float:
    try:
        return p.stat().st_mtime
    except FileNotFoundError:                  # removed by a concurrent build
        return 0.0


def newc(files: dict[str, tuple[int, bytes]]) -> bytes:
    """A "newc" cpio archive of *files* plus their parent directories, /dev/console and
    the mount points the guest needs. Model-only."""
    out = io.BytesIO()
    ino = iter(range(1, 1 << 30))
    dirs = {"dev", "proc", "sys", "tmp", "newroot"}
    for path in files:
        parts = path.strip("/").split("/")[:-1]
        dirs.update("/".join(parts[:i]) for i in range(1, len(parts) + 1))
    for d in sorted(dirs):
        _entry(out, next(ino), d, stat.S_IFDIR | 0o755)
    _entry(out, next(ino), "dev/console", stat.S_IFCHR | 0o600, rdev=(5, 1))
    for path in sorted(files):
        mode, data = files[path]
        _entry(out, next(ino), path.strip("/"), stat.S_IFREG | mode, data)
    _entry(out, 0, "TRAILER!!!", 0)
    return out.getvalue()


def _entry(out: io.BytesIO, ino: int, name: str, mode: int, data: bytes = b"",
           rdev: tuple[int, int] = (0, 0)) -> None:
    """One newc header (13 eight-digit hex fields), the name, the data, each 4-aligned."""
    nb = name.encode() + b"\0"
    fields = (ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(nb), 0)
    out.write(b"070701" + b"".join(b"%08X" % v for v in fields) + nb)
    out.write(b"\0" * (-out.tell() % 4))
    out.write(data)
    out.write(b"\0" * (-out.tell() % 4))
