"""The VM backend's offline pieces: the wire format, the cpio writer, the bzImage unpacker.

Model-only code (mountsim/vm/wire.py, initramfs.py, kernels.py); no guest is booted here.
"""

from __future__ import annotations

import gzip
import struct

import pytest

from mountsim.trace.program import Program, Result, Step
from mountsim.vm import initramfs, kernels, wire


class TestWire:
    def test_steps_and_results_round_trip_with_tuples(self):
        """If a Step with tuple args and struct dicts crosses the wire, then it comes back
        equal, tuples as tuples (backends compare outputs with ==; (1,) != [1])."""
        s = Step(7, "clone3", ({"flags": 0x20000, "exit_signal": 17}, 88), label=8,
                 file="x.trace", line=3)
        assert wire.step_from_wire(wire.decode(wire.encode(wire.step_to_wire(s)))) == s
        r = Result(0, None, {"opt_array": ("a", "b"), "ids": [1, 2]})
        assert wire.result_from_wire(wire.decode(wire.encode(wire.result_to_wire(r)))) == r

    def test_program_start_state_round_trips(self):
        """If a Program's start state crosses the wire, then pid and dirs survive."""
        p = Program(file="f", kernel="7.1", main_pid=100, start_dirs=["/a", "/b"])
        q = wire.program_from_wire(wire.decode(wire.encode(wire.program_to_wire(p))))
        assert (q.file, q.kernel, q.main_pid, q.start_dirs) == ("f", "7.1", 100, ["/a", "/b"])

    def test_only_plain_data_is_encoded(self):
        """If a message holds anything but JSON data, then encoding refuses it (the
        channel never carries pickles or objects)."""
        with pytest.raises(wire.WireError):
            wire.encode({"x": object()})
        with pytest.raises(wire.WireError):
            wire.encode({1: 2})

    def test_guest_garbage_is_a_wire_error(self):
        """If the guest sends a malformed line or result, then the host raises WireError."""
        for line in (b"{not json", b'{"(": 1}', b'{"(": [], "x": 1}'):
            with pytest.raises(wire.WireError):
                wire.decode(line)
        for bad in ({"ret": "0"}, {"ret": True}, {"ret": 0, "errno": 5}, [0]):
            with pytest.raises(wire.WireError):
                wire.result_from_wire(bad)


def _parse_newc(data: bytes) -> dict[str, tuple[int, bytes, tuple[int, int]]]:
    """Name -> (mode, data, rdev), read back as the kernel's unpacker does."""
    out, off = {}, 0
    while True:
        assert data[off:off + 6] == b"070701"
        f = [int(data[off + 6 + 8 * i: off + 14 + 8 * i], 16) for i in range(13)]
        namesize, filesize = f[11], f[6]
        name_at = off + 110
        name = data[name_at:name_at + namesize - 1].decode()
        body_at = (name_at + namesize + 3) & ~3
        if name == "TRAILER!!!":
            return out
        out[name] = (f[1], data[body_at:body_at + filesize], (f[9], f[10]))
        off = (body_at + filesize + 3) & ~3


class TestNewc:
    def test_archive_reads_back_with_parents_console_and_mountpoints(self):
        """If files are archived, then each reads back with its mode and bytes, every
        parent directory exists, and /dev/console is char 5:1 (buffer-format.rst)."""
        files = {"/usr/lib/x/y.py": (0o644, b"print(1)\n"), "/init": (0o755, b"#!/x\n")}
        got = _parse_newc(initramfs.newc(files))
        assert got["usr/lib/x/y.py"][:2] == (0o100644, b"print(1)\n")
        assert got["init"][:2] == (0o100755, b"#!/x\n")
        for d in ("usr", "usr/lib", "usr/lib/x", "proc", "dev", "sys", "tmp"):
            assert got[d][0] == 0o40755
        assert got["dev/console"][0] == 0o20600 and got["dev/console"][2] == (5, 1)

    def test_pyc_is_unchecked_hash_based(self):
        """If a module is stored, then its .pyc is PEP 552 unchecked-hash (flags 0b01),
        valid whatever mtime the cpio gives the source."""
        pyc = initramfs._pyc("m.py", b"x = 1\n")
        assert struct.unpack_from("<I", pyc, 4)[0] == 0b01


class TestUncompressed:
    def _bzimage(self, payload: bytes) -> bytes:
        img = bytearray(5 * 512 + len(payload))
        img[0x1F1] = 4                                   # setup_sects
        img[0x202:0x206] = b"HdrS"
        struct.pack_into("<II", img, 0x248, 0, len(payload))
        img[5 * 512:] = payload
        return bytes(img)

    def test_gzip_payload_is_unpacked(self):
        """If a bzImage carries a gzip payload (plus its 4-byte size trailer), then the
        ELF inside comes out (Documentation/arch/x86/boot.rst payload_offset/length)."""
        elf = b"\x7fELF" + bytes(100)
        assert kernels.uncompressed(self._bzimage(gzip.compress(elf) + struct.pack("<I", len(elf)))) == elf

    def test_not_a_bzimage_is_refused(self):
        """If the file has no HdrS magic, then KernelUnavailable says so."""
        with pytest.raises(kernels.KernelUnavailable, match="bzImage"):
            kernels.uncompressed(bytes(4096))

    def test_unknown_series_is_refused_before_apt(self):
        """If a series has no pin, then fetch() refuses it in one line without apt."""
        with pytest.raises(kernels.KernelUnavailable, match="no kernel series '6.1'"):
            kernels.fetch("6.1")
