"""The seq_file reader (mountsim/seq_file.py) and /proc/<pid>/mountinfo read through it.

Expected values come from fs/seq_file.c (linux-source-7.3): seq_read_iter(), traverse(),
seq_lseek(); and from fs/namespace.c m_start()/m_next() and the commit message of
4a403d7aa907 "namespace: fix proc mount iteration" (seed 002).
"""

from __future__ import annotations

import errno

import pytest

from mountsim import uapi
from mountsim.backends.model import ModelBackend
from mountsim.errors import KernelError
from mountsim.seq_file import PAGE_SIZE, SEEK_SET, SEQ_SKIP, SeqFile, seq_lseek, seq_read_iter
from mountsim.trace.program import Program, Step
from tests.helpers import Runner


class ListOp:
    """A seq_operations over a list of records; *pos is the record's index."""

    def __init__(self, records: list[str | None]) -> None:
        self.records = records
        self.starts = 0

    def start(self, m):
        self.starts += 1
        return m.index if m.index < len(self.records) else None

    def next(self, m, v):
        m.index = v + 1
        return m.index if m.index < len(self.records) else None

    def stop(self, m, v):
        pass

    def show(self, m, v):
        rec = self.records[v]
        if rec is None:
            return SEQ_SKIP
        m.puts(rec)
        return 0


def read_all(m: SeqFile, want: int) -> list[bytes]:
    pos, chunks = 0, []
    while True:
        data, pos = seq_read_iter(m, pos, want)
        if not data:
            return chunks
        chunks.append(data)


class TestSeqReadIter:
    def test_fills_until_the_reader_has_enough(self):
        """If the reader asks for fewer bytes than the buffer holds, then records are shown
        until the buffer holds at least that many, the rest waits in the buffer for the
        next read (source: fs/seq_file.c seq_read_iter(): `if (m->count >=
        iov_iter_count(iter)) break;`, "something left in the buffer - copy it out first")."""
        op = ListOp(["aaaa\n", "bbbb\n", "cccc\n"])
        m = SeqFile(op)
        assert read_all(m, 7) == [b"aaaa\nbb", b"bb\ncccc", b"\n"]

    def test_skip_records(self):
        """If ->show() answers SEQ_SKIP, then the record leaves nothing (source:
        seq_read_iter(): `if (unlikely(err)) m->count = 0;` and `m->count = offs`)."""
        m = SeqFile(ListOp([None, "a\n", None, "b\n", None]))
        assert b"".join(read_all(m, 100)) == b"a\nb\n"

    def test_buffer_doubles_for_a_long_record(self):
        """If one record does not fit an empty PAGE_SIZE buffer, then the buffer doubles and
        the walk restarts at the same *pos until it fits (source: seq_read_iter(): "need a
        bigger buffer", `m->size <<= 1`, `p = m->op->start(m, &m->index)`)."""
        long = "x" * (PAGE_SIZE * 2) + "\n"
        op = ListOp(["a\n", long, "b\n"])
        m = SeqFile(op)
        assert b"".join(read_all(m, 100_000)) == ("a\n" + long + "b\n").encode()
        assert m.size == PAGE_SIZE * 4

    def test_record_needs_a_spare_byte(self):
        """If a record is exactly as long as the free space, then it does not fit (seq_puts()
        keeps a byte to spare): it goes to the next read (source: fs/seq_file.c seq_puts():
        `if (m->count + len >= m->size)` -> seq_set_overflow())."""
        first = "a" * 100 + "\n"
        second = "b" * (PAGE_SIZE - len(first)) + ""
        m = SeqFile(ListOp([first, second]))
        data, pos = seq_read_iter(m, 0, PAGE_SIZE * 2)
        assert data == first.encode()
        data, _ = seq_read_iter(m, pos, PAGE_SIZE * 2)
        assert data == second.encode()


class TestSeqLseek:
    def test_lseek_rewalks(self):
        """If the file position moves, then the next read starts mid-record at that byte
        (source: fs/seq_file.c seq_lseek() -> traverse(): `m->from = offset - pos`)."""
        m = SeqFile(ListOp(["aaaa\n", "bbbb\n", "cccc\n"]))
        assert seq_lseek(m, 0, 7, SEEK_SET) == 7
        data, _ = seq_read_iter(m, 7, 100)
        assert data == b"bb\ncccc\n"

    def test_lseek_errors(self):
        """If whence is SEEK_END or the offset negative, then EINVAL (source: seq_lseek():
        only SEEK_SET/SEEK_CUR, `if (offset < 0) break;`)."""
        m = SeqFile(ListOp(["a\n"]))
        for off, whence in ((0, 2), (-1, SEEK_SET)):
            with pytest.raises(KernelError) as e:
                seq_lseek(m, 0, off, whence)
            assert e.value.errno == errno.EINVAL


def reader(kernel: str) -> tuple[Runner, int]:
    r = Runner(ModelBackend(kernel=kernel).start(Program(start_dirs=["/proc", "/a", "/b"])))
    assert r.call("mount", "proc", "/proc", "proc", 0, None) == 0
    fd = r.call("openat", uapi.AT_FDCWD, "/proc/self/mountinfo", uapi.O_RDONLY)
    return r, fd


def read(r: Runner, fd: int, n: int) -> str:
    res = r.s.execute(Step(r.pid, "read", (fd, None, n)))
    assert res.errno is None
    return res.out


class TestMountinfoRead:
    def test_read_matches_the_table(self):
        """If mountinfo is read in small pieces, then the pieces join to the whole table
        (source: fs/proc_namespace.c show_mountinfo() via seq_read_iter())."""
        r, fd = reader("7.0")
        r.tmpfs("/a"), r.tmpfs("/b")
        text = "".join(iter(lambda: read(r, fd, 17), ""))
        assert text == r.s.mountinfo(1)

    def test_namespace_and_root_fixed_at_open(self):
        """If the reader chroots after opening, then the file still shows the table as seen
        from the root it had at open (source: fs/proc_namespace.c mounts_open_common():
        get_fs_root(task->fs, &root) into p->root)."""
        r, fd = reader("7.0")
        r.tmpfs("/a")
        assert r.call("chroot", "/a") == 0
        text = "".join(iter(lambda: read(r, fd, 4096), ""))
        assert " /proc " in text and text.count("\n") == 3

    def test_mounts_added_after_eof(self):
        """If a mount appears after the reader reached the end, then the next read shows it
        once (fixed rows) (source: fs/namespace.c (7.3) m_next(): "Set pos past current
        mount's ID so that if iteration restarts, mnt_find_id_at() returns NULL")."""
        r, fd = reader("7.0")
        "".join(iter(lambda: read(r, fd, 4096), ""))
        r.tmpfs("/a")
        more = "".join(iter(lambda: read(r, fd, 4096), ""))
        assert more.count(" /a ") == 1

    @pytest.mark.parametrize("kernel,copies", [("7.0-rc1", 2), ("7.0", 1), ("6.18", 1)])
    def test_restart_after_the_next_mount_went(self, kernel, copies):
        """If the mount at the reader's position is unmounted between reads and the mount
        found instead is the last one, then 7.0-rc1 shows it again on the next read while the
        fixed rows show it once (source: seed 002, 4a403d7aa907: "causing a restart to
        start at the same value ... the same mount to be shown again"; pre-fix m_start()
        returned mnt_find_id_at(p->ns, *pos) without updating *pos)."""
        r, fd = reader(kernel)
        r.tmpfs("/a"), r.tmpfs("/b")
        lines = r.s.mountinfo(1).splitlines(keepends=True)
        head = len(lines[0]) + len(lines[1])          # / and /proc
        assert read(r, fd, head) == lines[0] + lines[1]
        assert r.call("umount2", "/a", 0) == 0
        rest = "".join(iter(lambda: read(r, fd, 4096), ""))
        assert rest == lines[3] * copies

    def test_read_errors(self):
        """If the fd is O_PATH, then EBADF; a directory, EISDIR (source: fs/read_write.c
        vfs_read(): FMODE_READ; generic_read_dir())."""
        r, _ = reader("7.0")
        assert r.call("openat", uapi.AT_FDCWD, "/proc/self/mountinfo", uapi.O_PATH, label=7) == 7
        assert r.call("read", 7, None, 10) == "EBADF"
        assert r.call("openat", uapi.AT_FDCWD, "/a", uapi.O_RDONLY, label=8) == 8
        assert r.call("read", 8, None, 10) == "EISDIR"
