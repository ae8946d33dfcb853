"""findmnt(8)-style views of a mount table: tree, list, chosen columns, JSON.

Model-only: mirrors util-linux 2.38 misc-utils/findmnt.c (columns, get_data()) and the
libmount/libsmartcols pieces it relies on, so that scripts reading `findmnt --json` read
ours: mnt_table_get_root_fs() (the root is the mount with the smallest parent id, then up
its parent chain), mnt_table_next_child_fs() (children by ascending mount id),
merge_optstr() (OPTIONS = VFS options + FS options, one rw/ro first) and libsmartcols' JSON
printer (3-space indent, `},{` between siblings, lowercase column names as keys, numbers for
ID and PARENT, null for an empty cell).

Columns beyond util-linux 2.38: UNIQUE-ID (the 64-bit mnt_id_unique), LOCKED (MNT_LOCKED)
and NS (the mount namespace's inode), known only for tables taken from the model (null
otherwise).

Limitations: no terminal-width truncation (findmnt does none when not on a terminal
either); SOURCE is not canonicalised (findmnt resolves symlinks of paths that exist here).
"""

from __future__ import annotations

import json
from typing import Callable

from .snapshot import MountView

COLUMNS: dict[str, Callable[[MountView], object]] = {
    "TARGET": lambda v: v.target,
    "SOURCE": lambda v: source(v),
    "FSTYPE": lambda v: v.fstype,
    "OPTIONS": lambda v: merge_optstr(v.vfs_options, v.fs_options),
    "VFS-OPTIONS": lambda v: v.vfs_options,
    "FS-OPTIONS": lambda v: v.fs_options,
    "FSROOT": lambda v: v.root,
    "MAJ:MIN": lambda v: v.majmin,
    "OPT-FIELDS": lambda v: " ".join(v.optional) or None,
    "PROPAGATION": lambda v: v.propagation,
    "ID": lambda v: v.id,
    "PARENT": lambda v: v.parent,
    "UNIQUE-ID": lambda v: v.unique_id,
    "LOCKED": lambda v: None if v.locked is None else ("locked" if v.locked else "unlocked"),
    "NS": lambda v: v.ns,
}
NUMBERS = {"ID", "PARENT", "UNIQUE-ID", "NS"}      # SCOLS_JSON_NUMBER and SCOLS_FL_RIGHT
DEFAULT = ("TARGET", "SOURCE", "FSTYPE", "OPTIONS")


class BadColumn(ValueError):
    """An -o column findmnt would not know; str() is findmnt's message."""


def parse_columns(spec: str | None) -> list[str]:
    """`-o A,B,+C`: a leading "+" appends to the default columns, as findmnt does."""
    if not spec:
        return list(DEFAULT)
    extra = spec.startswith("+")
    cols = [c.strip().upper() for c in spec.lstrip("+").split(",") if c.strip()]
    for c in cols:
        if c not in COLUMNS:
            raise BadColumn(f"unknown column: {c}")
    return list(DEFAULT) + cols if extra else cols


def source(v: MountView) -> str:
    """findmnt's SOURCE: the device, with the fs root in brackets for a bind of a subtree."""
    if v.root and v.root != "/":
        return f"{v.source}[{v.root}]"
    return v.source


def merge_optstr(vfs: str, fs: str) -> str:
    """libmount merge_optstr(): VFS then FS options, the rw/ro of both folded into one."""
    if not fs:
        return vfs
    if not vfs:
        return fs
    if vfs == fs:
        return vfs
    opts = (vfs + "," + fs).split(",")
    rw = _remove(opts, "rw") + _remove(opts, "rw")
    ro = 0
    if rw != 2:
        ro = _remove(opts, "ro")
        if ro + rw < 2:
            ro += _remove(opts, "ro")
    head = "ro" if ro else "rw"
    return ",".join([head] + opts) if opts else head


def _remove(opts: list[str], name: str) -> int:
    if name in opts:
        opts.remove(name)
        return 1
    return 0


# -- tree -----------------------------------------------------------------------------

def get_root_fs(rows: list[MountView]) -> MountView | None:
    """libmount mnt_table_get_root_fs(): smallest parent id, then climb parent links."""
    if not rows:
        return None
    by_id = {v.id: v for v in rows}
    root = min(rows, key=lambda v: v.parent)      # min() keeps the first of equals
    seen = {root.id}
    while root.parent in by_id and root.parent not in seen:
        root = by_id[root.parent]
        seen.add(root.id)
    return root


def tree(rows: list[MountView]) -> list[tuple[MountView, list]]:
    """[(root, children)] nested the way findmnt --tree nests (only what hangs off the
    root fs is shown, as in findmnt)."""
    children: dict[int, list[MountView]] = {}
    for v in rows:
        if v.id != v.parent:
            children.setdefault(v.parent, []).append(v)
    for c in children.values():
        c.sort(key=lambda v: v.id)
    seen: set[int] = set()

    def node(v: MountView):
        seen.add(v.id)
        return (v, [node(c) for c in children.get(v.id, []) if c.id not in seen])

    root = get_root_fs(rows)
    return [node(root)] if root is not None else []


def _walk(nodes, prefix: str = "", top: bool = True):
    """(tree-art prefix, view) in display order."""
    for i, (v, kids) in enumerate(nodes):
        last = i == len(nodes) - 1
        art = "" if top else prefix + ("└─" if last else "├─")
        yield art, v
        yield from _walk(kids, "" if top else prefix + ("  " if last else "│ "), False)


# -- output ---------------------------------------------------------------------------

def cell(col: str, v: MountView) -> object:
    return COLUMNS[col](v)


def text_table(rows: list[MountView], cols: list[str], as_tree: bool = True,
               headings: bool = True) -> str:
    """findmnt's human output: columns padded to their widest cell, one space apart,
    numbers right-aligned."""
    lines = list(_walk(tree(rows))) if as_tree else [("", v) for v in rows]
    table = [[(art if c == "TARGET" else "") + _txt(cell(c, v)) for c in cols] for art, v in lines]
    if headings:
        table.insert(0, list(cols))
    widths = [max(len(r[i]) for r in table) for i in range(len(cols))]
    out = []
    for r in table:
        parts = [r[i].rjust(widths[i]) if cols[i] in NUMBERS
                 else r[i].ljust(widths[i]) if i < len(cols) - 1 else r[i] for i in range(len(cols))]
        out.append(" ".join(parts).rstrip() + "\n")
    return "".join(out)


def _txt(x: object) -> str:
    return "" if x is None else str(x)


def json_data(rows: list[MountView], cols: list[str], as_tree: bool = True) -> dict:
    """findmnt --json as Python data (key order is findmnt's)."""
    def obj(v: MountView, kids) -> dict:
        d = {c.lower(): _json_cell(c, v) for c in cols}
        if kids:
            d["children"] = [obj(cv, ck) for cv, ck in kids]
        return d
    if as_tree:
        return {"filesystems": [obj(v, kids) for v, kids in tree(rows)]}
    return {"filesystems": [obj(v, []) for v in rows]}


def _json_cell(col: str, v: MountView) -> object:
    x = cell(col, v)
    if x is None or x == "":
        return None
    if col in NUMBERS:
        return int(x)  # type: ignore[arg-type]
    return str(x)


def to_json(data: dict) -> str:
    """libsmartcols' JSON layout: 3-space indent, `},{` between sibling objects."""
    out: list[str] = ["{\n"]
    _json_obj_body(data, 1, out)
    out.append("}\n")
    return "".join(out)


def _json_obj_body(d: dict, level: int, out: list[str]) -> None:
    ind = "   " * level
    items = list(d.items())
    for i, (k, val) in enumerate(items):
        sep = "," if i < len(items) - 1 else ""
        if isinstance(val, list):
            out.append(f"{ind}{json.dumps(k)}: [\n")
            for j, child in enumerate(val):
                out.append(f"{ind}   {{\n" if j == 0 else "")
                _json_obj_body(child, level + 2, out)
                out.append(f"{ind}   }},{{\n" if j < len(val) - 1 else f"{ind}   }}\n")
            out.append(f"{ind}]{sep}\n")
        else:
            out.append(f"{ind}{json.dumps(k)}: {_json_scalar(val)}{sep}\n")


def _json_scalar(x: object) -> str:
    if x is None:
        return "null"
    if isinstance(x, int):
        return str(x)
    return json.dumps(x, ensure_ascii=False)
