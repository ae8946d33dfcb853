"""The seq_file reader behind /proc/<pid>/mountinfo: fs/seq_file.c.

Mirrors struct seq_file, seq_read_iter(), traverse(), seq_lseek() and the output check of
seq_puts()/seq_printf() (a record fits only with a byte to spare; one that does not marks
the buffer overflowed). The iterator (start/next/stop/show) is the caller's `SeqOperations`;
for mountinfo, proc_namespace.py's mounts_op.

Context: one read(2) is atomic in the model (no other syscall runs inside it); what other
processes do between two reads is what the reader sees change. The buffer starts at
PAGE_SIZE and doubles whenever a single record does not fit an empty buffer.

Limitations: no ->show() errors other than SEQ_SKIP, no ERR_PTR iterators, no -ENOMEM;
a record is emitted as one piece (escaped paths make the kernel's own size check a little
different near the buffer's end).
"""

from __future__ import annotations

import errno
from typing import Any, Protocol

from .errors import KernelError

PAGE_SIZE = 4096
SEQ_SKIP = 1
SEEK_SET, SEEK_CUR = 0, 1
SEEK_MAX = 4                     # SEEK_HOLE: include/uapi/linux/fs.h


class SeqOperations(Protocol):
    """struct seq_operations. `start` and `next` read and update `m.index` (*pos)."""

    def start(self, m: SeqFile) -> Any: ...
    def next(self, m: SeqFile, v: Any) -> Any: ...
    def stop(self, m: SeqFile, v: Any) -> None: ...
    def show(self, m: SeqFile, v: Any) -> int: ...


class SeqFile:
    """struct seq_file: the buffer, its fill (`from_`, `count`), the iterator position
    (`index`) and the file position the buffer belongs to (`read_pos`)."""

    __slots__ = ("buf", "size", "from_", "count", "index", "read_pos", "op", "private")

    def __init__(self, op: SeqOperations, private: Any = None) -> None:
        self.buf: bytearray | None = None
        self.size = 0
        self.from_ = 0
        self.count = 0
        self.index = 0
        self.read_pos = 0
        self.op = op
        self.private = private

    def has_overflowed(self) -> bool:
        """seq_has_overflowed()."""
        return self.count == self.size

    def puts(self, s: str) -> None:
        """seq_puts(): append *s* if it fits with a byte to spare, else mark the overflow."""
        data = s.encode("utf-8", errors="surrogateescape")
        if self.count + len(data) >= self.size:
            self.count = self.size            # seq_set_overflow()
            return
        assert self.buf is not None
        self.buf[self.count:self.count + len(data)] = data
        self.count += len(data)

    def _alloc(self, size: int) -> None:
        """seq_buf_alloc()."""
        self.size = size
        self.buf = bytearray(size)


def traverse(m: SeqFile, offset: int) -> int:
    """Walk the records up to byte *offset*, leaving the rest of that record buffered.

    Mirrors fs/seq_file.c:traverse(). Returns 0, or -EAGAIN after growing the buffer.
    """
    pos = 0
    error = 0
    m.index = 0
    m.count = m.from_ = 0
    if not offset:
        return 0
    if m.buf is None:
        m._alloc(PAGE_SIZE)
    p = m.op.start(m)
    while p is not None:
        error = m.op.show(m, p)
        if error:                           # SEQ_SKIP
            error = 0
            m.count = 0
        if m.has_overflowed():
            m.op.stop(m, p)
            m.count = 0
            m._alloc(m.size << 1)
            return -errno.EAGAIN
        p = m.op.next(m, p)
        if pos + m.count > offset:
            m.from_ = offset - pos
            m.count -= m.from_
            break
        pos += m.count
        m.count = 0
        if pos == offset:
            break
    m.op.stop(m, p)
    return error


def seq_read_iter(m: SeqFile, ki_pos: int, want: int) -> tuple[bytes, int]:
    """One read of up to *want* bytes at file position *ki_pos*: (bytes, new position).

    Mirrors fs/seq_file.c:seq_read_iter(): a read at offset 0 restarts the iterator; a
    read elsewhere than where the last one ended re-walks with traverse(); leftovers of the
    buffer go out first; then records are shown until the buffer would overflow or holds
    at least *want* bytes, and the iterator advances once for every record shown.
    """
    if not want:
        return b"", ki_pos
    if ki_pos == 0:
        m.index = 0
        m.count = 0
    if ki_pos != m.read_pos:
        while (err := traverse(m, ki_pos)) == -errno.EAGAIN:
            pass
        if err:
            m.read_pos = m.index = m.count = 0
            return b"", ki_pos
        m.read_pos = ki_pos
    if m.buf is None:
        m._alloc(PAGE_SIZE)
    assert m.buf is not None
    out = bytearray()
    if m.count:                             # something left in the buffer: copy it out first
        n = min(m.count, want)
        out += m.buf[m.from_:m.from_ + n]
        m.count -= n
        m.from_ += n
        if m.count:
            return _done(m, out, ki_pos)
    m.from_ = 0
    p = m.op.start(m)
    while True:                             # get a non-empty record in the buffer
        if p is None:
            m.op.stop(m, p)
            m.count = 0
            return _done(m, out, ki_pos)
        if m.op.show(m, p):                 # SEQ_SKIP
            m.count = 0
        if not m.count:
            p = m.op.next(m, p)
            continue
        if not m.has_overflowed():
            break
        m.op.stop(m, p)                     # need a bigger buffer
        m.count = 0
        m._alloc(m.size << 1)
        p = m.op.start(m)
    while True:                             # Fill: as many more records as fit
        offs = m.count
        pos = m.index
        p = m.op.next(m, p)
        if pos == m.index:                  # "buggy .next function did not update position index"
            m.index += 1
        if p is None:
            break
        if m.count >= want - len(out):
            break
        if m.op.show(m, p):                 # SEQ_SKIP
            m.count = offs
        elif m.has_overflowed():
            m.count = offs
            break
    m.op.stop(m, p)
    n = min(m.count, want - len(out))
    out += m.buf[:n]
    m.count -= n
    m.from_ = n
    return _done(m, out, ki_pos)


def _done(m: SeqFile, out: bytearray, ki_pos: int) -> tuple[bytes, int]:
    """seq_read_iter()'s Done: label: advance both positions by what was copied."""
    m.read_pos += len(out)
    return bytes(out), ki_pos + len(out)


def seq_lseek(m: SeqFile, f_pos: int, offset: int, whence: int) -> int:
    """The new file position. Mirrors fs/seq_file.c:seq_lseek(): SEEK_SET and SEEK_CUR
    only; a position other than where the buffer stands is re-walked with traverse().

    Errors: EINVAL (another whence; a negative offset).
    """
    if whence == SEEK_CUR:
        offset += f_pos
    elif whence != SEEK_SET:
        raise KernelError(errno.EINVAL, "seq_file: only SEEK_SET and SEEK_CUR", where="seq_lseek")
    if offset < 0:
        raise KernelError(errno.EINVAL, "negative offset", where="seq_lseek")
    if offset != m.read_pos:
        while traverse(m, offset) == -errno.EAGAIN:
            pass
        m.read_pos = offset
    return offset
