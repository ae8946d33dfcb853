"""The project's cache directory and the small C programs mountsim compiles into it.

Model-only (tooling: no kernel function is mirrored).

Three pieces are C because what they measure or pay for is the cost of a process: the
bench's kernel driver (bench/driver.c), the live backend's sandbox spawner and init
(backends/spawner.c) and its zygote's loop (backends/zygote.c, a shared library). Each is compiled with gcc on first use into the cache, under a name
that carries the hash of its source, so an edited source is rebuilt and a stale binary
is never run; a compiled copy is replaced atomically, so concurrent first uses (pytest
workers, `fuzz --workers`) see all of it or nothing.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path


STALE_AFTER = 86_400          # seconds before another version's build is removed


class BuildError(Exception):
    """A C program could not be built here; the message is one line saying why."""


def cache_dir() -> Path:
    """The project's cache: $MOUNTSIM_CACHE, else ~/.cache/mountsim (trace/grammar.py
    reads the same without importing this module, for the start-up time of `replay`)."""
    return Path(os.environ.get("MOUNTSIM_CACHE") or Path.home() / ".cache" / "mountsim")


def find_gcc() -> str | None:
    return shutil.which("gcc") or ("/usr/bin/gcc" if os.path.exists("/usr/bin/gcc") else None)


def build(source: Path, subdir: str, flags: tuple[str, ...] = ("-O2",),
          headers: tuple[Path, ...] = ()) -> Path:
    """*source* compiled with gcc *flags* into cache_dir()/*subdir*, once per content of the
    source, the *headers* it includes (beside it) and flags. Builds of other versions of
    the program are removed once a day old (another checkout sharing the cache may still
    start the one it built)."""
    try:
        src = source.read_bytes() + b"".join(h.read_bytes() for h in headers)
    except OSError as e:
        raise BuildError(f"cannot read {e.filename}: {e.strerror}") from None
    digest = hashlib.sha256(src + "\0".join(flags).encode()).hexdigest()[:16]
    out = cache_dir() / subdir / f"{source.stem}-{digest}"
    if out.exists():
        return out
    gcc = find_gcc()
    if gcc is None:
        raise BuildError(f"gcc not found: cannot build {source.name} "
                         "(apt-get install gcc libc6-dev)")
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{source.stem}-")
    os.close(fd)
    try:
        r = subprocess.run([gcc, *flags, "-o", tmp, str(source)], capture_output=True, text=True)
        if r.returncode != 0:
            first = (r.stderr.strip().splitlines() or ["?"])[0]
            raise BuildError(f"gcc failed on {source.name}: {first}")
        os.replace(tmp, out)
        for old in out.parent.glob(f"{source.stem}-*"):
            try:
                if old != out and time.time() - old.stat().st_mtime > STALE_AFTER:
                    old.unlink()
            except OSError:
                pass
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out
