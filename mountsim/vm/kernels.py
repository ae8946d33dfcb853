"""Debian's cloud kernels as bootable uncompressed images, fetched with apt into a cache.

Model-only (tooling: no kernel function is mirrored).

`fetch(series)` returns a `Kernel` for a major.minor series (7.1, say): the pinned build when
the archive still has it (or it is cached), else the newest build of the same series —
`Kernel.note` then says which one ran instead of the pin. Packages come from Debian's
`trixie-backports` through apt with a private sources list and state directory under the
cache (`$MOUNTSIM_CACHE`, default `~/.cache/mountsim`): `apt-get download` + `dpkg -x`, so
nothing is installed into the system and the system's apt configuration is untouched.

The packages carry a bzImage (`linux-binary-*` from 7.0: signed, `/boot/vmlinuz-*`;
`linux-binary-unsigned-*` from 7.2: `vmlinuz.unsigned`). QEMU boots the uncompressed ELF
directly (PVH entry, CONFIG_PVH=y), so the payload is cut out of the bzImage with the
offsets of its setup header (Documentation/arch/x86/boot.rst: `setup_sects`,
`payload_offset`, `payload_length`) and decompressed: zstd (the `zstd` tool), xz or gzip.

Limitations: x86_64 cloud flavour only; needs apt-get, dpkg and, for zstd payloads, zstd.
"""

from __future__ import annotations

import lzma
import os
import re
import shutil
import struct
import subprocess
import tempfile
import zlib
from pathlib import Path

import attrs

from ..native import cache_dir

# The builds this project was checked against, per series; the archive drops old ones.
# Full build versions only: a series number is derived, never written (versions.py is the
# one place a kernel version appears; tests/unit/test_versions.py).
PINNED = ("7.0.13", "7.1.13", "7.2.12", "7.3.4")
PINS: dict[str, str] = {v.rsplit(".", 1)[0]: v for v in PINNED}
DEFAULT_SERIES = PINNED[1].rsplit(".", 1)[0]     # the first series with every 7.x mount feature
SUITE_LINE = ("deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] "
              "http://deb.debian.org/debian trixie-backports main\n")
FLAVOUR = "deb13-cloud-amd64"
_PKG = re.compile(r"^linux-binary-(?:unsigned-)?(\d+\.\d+\.\d+)\+" + re.escape(FLAVOUR) + "$")


class KernelUnavailable(Exception):
    """The kernel cannot be had here (no apt, no network, no such series); one line."""


@attrs.frozen
class Kernel:
    """A bootable kernel image in the cache."""

    series: str                 # "7.1"
    version: str                # "7.1.13"
    vmlinux: Path               # uncompressed ELF, bootable with qemu -kernel (PVH)
    note: str = ""              # set when the pinned build was not the one used

    @property
    def release(self) -> str:
        """`uname -r` of this build ("7.1.13+deb13-cloud-amd64")."""
        return f"{self.version}+{FLAVOUR}"


def _vkey(version: str) -> tuple[int, ...]:
    return tuple(int(x) for x in version.split("."))


def cached(series: str) -> dict[str, Path]:
    """Versions of *series* already extracted in the cache -> their vmlinux."""
    out = {}
    root = cache_dir() / "kernels"
    for d in root.glob(f"{series}.*") if root.is_dir() else ():
        if (d / "vmlinux").is_file() and d.name.count(".") == 2:
            out[d.name] = d / "vmlinux"
    return out


def fetch(series: str) -> Kernel:
    """The kernel for *series*: cached, else downloaded. Raises KernelUnavailable.

    The pin wins when cached or in the archive; otherwise the newest build of the series.
    """
    if series not in PINS:
        raise KernelUnavailable(f"no kernel series {series!r} (known: {', '.join(PINS)})")
    pin = PINS[series]
    have = cached(series)
    if pin in have:
        return Kernel(series, pin, have[pin])
    try:
        apt = _Apt(cache_dir() / "apt")
        builds = apt.builds(series)
    except KernelUnavailable:
        if not have:
            raise
        builds = {}
    if pin in builds:
        version = pin
    elif builds:
        version = max(builds, key=_vkey)
    else:
        if not have:
            raise KernelUnavailable(f"no linux-binary-{series}.*+{FLAVOUR} package in "
                                    "trixie-backports")
        version = max(have, key=_vkey)
    note = "" if version == pin else f"pinned {pin} is not available; using {version}"
    if version in have:
        return Kernel(series, version, have[version], note)
    vmlinux = _extract(apt, builds[version], cache_dir() / "kernels" / version)
    return Kernel(series, version, vmlinux, note)


def _extract(apt: _Apt, package: str, dest: Path) -> Path:
    """Download *package*, unpack it, and write dest/vmlinux (atomically)."""
    with tempfile.TemporaryDirectory(prefix="mountsim-kernel-") as tmp:
        deb = apt.download(package, Path(tmp))
        tree = Path(tmp) / "x"
        _run(["dpkg-deb", "-x", str(deb), str(tree)], f"unpack {package}")
        images = [p for p in tree.rglob("vmlinuz*") if p.is_file()]
        if not images:
            raise KernelUnavailable(f"{package} holds no vmlinuz")
        elf = uncompressed(images[0].read_bytes())
        dest.mkdir(parents=True, exist_ok=True)
        part = dest / f"vmlinux.part{os.getpid()}"      # concurrent fetches each write their own
        part.write_bytes(elf)
        part.replace(dest / "vmlinux")
    return dest / "vmlinux"


def uncompressed(bzimage: bytes) -> bytes:
    """The ELF vmlinux inside an x86 bzImage. Model-only.

    Documentation/arch/x86/boot.rst: the protected-mode code starts at (setup_sects+1)*512
    (setup_sects 0 means 4); `payload_offset`/`payload_length` (0x248/0x24c, protocol
    2.08+) locate the compressed kernel in it; the last 4 bytes of the payload are the
    decompressed size, appended by the build (not part of the compressed stream).
    """
    if bzimage[0x202:0x206] != b"HdrS":
        raise KernelUnavailable("not an x86 bzImage (no HdrS magic)")
    setup_sects = bzimage[0x1F1] or 4
    offset, length = struct.unpack_from("<II", bzimage, 0x248)
    start = (setup_sects + 1) * 512 + offset
    payload = bzimage[start:start + length]
    if payload[:4] == b"\x28\xb5\x2f\xfd":
        if not shutil.which("zstd"):
            raise KernelUnavailable("the kernel is zstd-compressed and zstd is not installed "
                                    "(apt-get install zstd)")
        out = subprocess.run(["zstd", "-dcq"], input=payload[:-4], capture_output=True)
        if out.returncode:
            raise KernelUnavailable(f"zstd failed: {out.stderr.decode(errors='replace').strip()}")
        elf = out.stdout
    elif payload[:6] == b"\xfd7zXZ\x00":
        elf = lzma.LZMADecompressor().decompress(payload)
    elif payload[:2] == b"\x1f\x8b":
        elf = zlib.decompressobj(wbits=31).decompress(payload)   # one member; trailer ignored
    else:
        raise KernelUnavailable(f"unknown kernel compression (magic {payload[:6].hex()})")
    if elf[:4] != b"\x7fELF":
        raise KernelUnavailable("the decompressed kernel is not an ELF image")
    return elf


class _Apt:
    """apt-get/apt-cache against a private sources list and state dir. Model-only."""

    def __init__(self, root: Path) -> None:
        for tool in ("apt-get", "apt-cache", "dpkg-deb"):
            if not shutil.which(tool):
                raise KernelUnavailable(f"{tool} not found (kernels come from Debian's archive)")
        self.root = root
        (root / "etc").mkdir(parents=True, exist_ok=True)
        (root / "lists" / "partial").mkdir(parents=True, exist_ok=True)
        (root / "cache" / "archives" / "partial").mkdir(parents=True, exist_ok=True)
        sources = root / "etc" / "sources.list"
        if not sources.exists():
            sources.write_text(SUITE_LINE)
        settings = (f"Dir::Etc::SourceList={sources}", "Dir::Etc::SourceParts=/dev/null",
                    f"Dir::State::Lists={root / 'lists'}", f"Dir::Cache={root / 'cache'}",
                    "Dir::State::status=/dev/null", "Debug::NoLocking=1",
                    "APT::Sandbox::User=root")
        self.opts = [arg for s in settings for arg in ("-o", s)]
        self._updated = False

    def update(self) -> None:
        _run(["apt-get", *self.opts, "-qq", "update"], "apt-get update (trixie-backports)")
        self._updated = True

    def builds(self, series: str) -> dict[str, str]:
        """Versions of *series* in the archive -> package name (unsigned preferred)."""
        if not any((self.root / "lists").glob("*_Packages*")):
            self.update()
        found = self._search(series)
        if not found and not self._updated:
            self.update()                       # stale lists: the series may be newer
            found = self._search(series)
        return found

    def _search(self, series: str) -> dict[str, str]:
        pat = ("^linux-binary-(unsigned-)?" + re.escape(series) + r"\.[0-9]+\+"
               + re.escape(FLAVOUR) + "$")
        out = _run(["apt-cache", *self.opts, "search", "--names-only", pat], "apt-cache search")
        found: dict[str, str] = {}
        for line in out.splitlines():
            m = _PKG.match(line.split(" - ")[0].strip())
            if m and (m.group(1) not in found or "unsigned" in line.split(" - ")[0]):
                found[m.group(1)] = line.split(" - ")[0].strip()
        return found

    def download(self, package: str, where: Path) -> Path:
        cmd = ["apt-get", *self.opts, "-qq", "download", package]
        try:
            _run(cmd, f"download {package}", cwd=where)
        except KernelUnavailable:
            if self._updated:
                raise
            self.update()                       # the lists may name a build that is gone
            _run(cmd, f"download {package}", cwd=where)
        debs = list(where.glob(f"{package}_*.deb"))
        if not debs:
            raise KernelUnavailable(f"apt-get download {package} produced no .deb")
        return debs[0]


def _run(cmd: list[str], what: str, cwd: Path | None = None) -> str:
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd)
    if out.returncode:
        last = (out.stderr.strip().splitlines() or ["exit status %d" % out.returncode])[-1]
        raise KernelUnavailable(f"{what} failed: {last}")
    return out.stdout
