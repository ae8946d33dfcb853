"""Canonical mountinfo, so the model's and the kernel's tables compare exactly. Model-only.

The kernel's show_mountinfo() (fs/proc_namespace.c) prints, per mount:
`mnt_id parent_id major:minor root mountpoint opts [optional fields] - fstype source sopts`.
Mount ids, peer-group ids and device numbers are allocation-order accidents that differ
between any two machines (and between the model and the kernel), so each family is
renumbered 1, 2, 3… in order of first appearance across the whole text:

- mount ids (field 1), in line order; a parent id (field 2) that is some line's mount id
  takes that number; one that is no line's mount id (the namespace's hidden root, outside
  the reader's root) becomes p1, p2, … in order of first appearance;
- peer-group ids of the optional fields shared:N, master:N and propagate_from:N share one
  numbering (a master:N names a peer group just as shared:N does);
- device numbers major:minor become 0:1, 0:2, … ;
- the inode numbers of namespace files in the root field of nsfs mounts ("net:[4026532178]",
  nsfs_show_path(): a bind mount of /proc/<pid>/ns/net) become net:[1], net:[2], … (one
  numbering for all kinds: proc_alloc_inum() hands them out from one pool).

Lines that are not mountinfo (e.g. "== pid N" headers between several processes' tables)
pass through unchanged, so one mapping spans every table of a session.

Functions: normalise(), tree_rows(), side_by_side().
Limitations: the root (but for namespace inode numbers), options and source fields are
compared as printed.
"""

from __future__ import annotations

import re

_PEER = re.compile(r"^(shared|master|propagate_from):(\d+)$")
_NS_ROOT = re.compile(r"^([a-z_]+):\[(\d+)\]$")
_ESCAPE = re.compile(r"\\([0-7]{3})")


def _fields(line: str) -> tuple[list[str], str] | None:
    """(fields before " - ", the rest) for a mountinfo line, else None."""
    left, sep, right = line.partition(" - ")
    f = left.split(" ")
    if not sep or len(f) < 6 or not f[0].isdigit() or not f[1].isdigit():
        return None
    return f, right


class _Numbering:
    """Values -> 1, 2, 3… in order of first sight."""

    def __init__(self) -> None:
        self.seen: dict[str, int] = {}

    def __call__(self, value: str) -> int:
        return self.seen.setdefault(value, len(self.seen) + 1)


def _peer_word(word: str, groups: _Numbering) -> str:
    m = _PEER.match(word)
    return f"{m.group(1)}:{groups(m.group(2))}" if m else word


def normalise(text: str) -> str:
    """*text* with mount ids, parent ids, peer-group ids and device numbers renumbered."""
    lines = text.splitlines()
    ids = _Numbering()
    for line in lines:                       # mount ids first: a parent may be listed later
        parsed = _fields(line)
        if parsed:
            ids(parsed[0][0])
    hidden, groups, devs, inums = _Numbering(), _Numbering(), _Numbering(), _Numbering()
    out = []
    for line in lines:
        parsed = _fields(line)
        if parsed is None:
            out.append(line)
            continue
        f, right = parsed
        parent = f[1]
        f[0] = str(ids.seen[f[0]])
        f[1] = str(ids.seen[parent]) if parent in ids.seen else f"p{hidden(parent)}"
        f[2] = f"0:{devs(f[2])}"
        ns = _NS_ROOT.match(f[3]) if right.startswith("nsfs ") else None
        if ns:
            f[3] = f"{ns.group(1)}:[{inums(ns.group(2))}]"
        f[6:] = [_peer_word(w, groups) for w in f[6:]]
        out.append(" ".join(f) + " - " + right)
    return "\n".join(out) + ("\n" if text.endswith("\n") else "")


def unescape(s: str) -> str:
    """Undo show_mountinfo()'s octal escapes (mangle(): space, tab, newline, backslash)."""
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), s)


def tree_rows(text: str) -> list[tuple[str, str, tuple[str, ...]]]:
    """(mountpoint, fstype, optional fields) per mountinfo line: an expect-tree block's rows.

    Peer-group numbers are renumbered 1, 2, 3… in order of first appearance across the
    shared:/master:/propagate_from: words; a private mount has (). Other optional words
    (unbindable) are kept as they are.
    """
    groups = _Numbering()
    rows = []
    for line in text.splitlines():
        parsed = _fields(line)
        if parsed is None:
            continue
        f, right = parsed
        words = tuple(_peer_word(w, groups) for w in f[6:] if w)
        rows.append((unescape(f[4]), unescape(right.split(" ")[0]), words))
    return rows


def side_by_side(a: str, b: str, a_name: str = "model", b_name: str = "live",
                 width: int = 64, renumber: bool = True) -> str:
    """Two mountinfo texts in columns (normalised first), "|" marking lines that differ."""
    if renumber:
        a, b = normalise(a), normalise(b)
    la, lb = a.splitlines(), b.splitlines()
    out = [f"{a_name:<{width}}   {b_name}"]
    for i in range(max(len(la), len(lb))):
        x = la[i] if i < len(la) else ""
        y = lb[i] if i < len(lb) else ""
        mark = " " if x == y else "|"
        out.append(f"{_clip(x, width):<{width}} {mark} {_clip(y, width)}")
    return "\n".join(out)


def _clip(s: str, width: int) -> str:
    return s if len(s) <= width else s[:width - 1] + "…"
