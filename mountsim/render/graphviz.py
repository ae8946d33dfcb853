"""Diagrams of a mount state as Graphviz DOT (SVG/PNG through the `dot` program).

Model-only. Two views of a `Snapshot`:

- `mount_tree()`: each mount namespace a cluster (labelled with its owning user namespace
  when known), parent -> child edges labelled with the mount point, the hidden namespace
  root (rootfs, nullfs) drawn dashed and apart, stacked mounts, one fill colour per peer
  group, master -> slave arrows, marks for unbindable / read-only / MNT_LOCKED, detached
  trees held by fds, process roots and cwds, and a legend.
- `propagation_tree()`: Documentation/filesystems/sharedsubtree.rst §8 — peer groups as
  nodes, each with its slaves below it.

Every node carries a `class` attribute ("mount shared ro locked new …") so that tests read
the marks from the DOT, and the HTML frames style them in the SVG.

Limitations: from mountinfo alone a master group that is not in any given table is drawn
as a small "group N (not in these tables)" node.
"""

from __future__ import annotations

from typing import Iterable

import graphviz

from .snapshot import MountView, NsView, Snapshot

PALETTE = ("#8dd3c7", "#ffffb3", "#bebada", "#fb8072", "#80b1d3", "#fdb462", "#b3de69",
           "#fccde5", "#bc80bd", "#ccebc5", "#ffed6f", "#a6cee3", "#b2df8a", "#fdbf6f")
PRIVATE = "#ffffff"
NEW, REMOVED = "#2ca02c", "#d62728"


def group_colour(group: int) -> str:
    """One colour per peer group id (cycling the palette)."""
    return PALETTE[(group - 1) % len(PALETTE)]


def node_id(i: int, v: MountView) -> str:
    return f"ns{i}_m{v.id}"


def marks(v: MountView) -> list[str]:
    """The marks a mount carries, as the words of its `class` attribute."""
    out = ["mount"]
    if v.hidden:
        out.append("hidden-root")
    if v.shared is not None:
        out.append("shared")
    if v.master is not None:
        out.append("slave")
    if v.unbindable:
        out.append("unbindable")
    if v.readonly:
        out.append("ro")
    if v.locked:
        out.append("locked")
    return out


def mount_label(v: MountView) -> str:
    lines = [v.target]
    src = v.source if v.root == "/" else f"{v.source}[{v.root}]"
    lines.append(f"{v.fstype} {src}" if src != v.fstype else v.fstype)
    lines.append(" ".join([f"id {v.id}"] + list(v.optional)))
    flags = [w for w, on in (("ro", v.readonly), ("LOCKED", bool(v.locked))) if on]
    if flags:
        lines.append(" · ".join(flags))
    if v.hidden:
        lines.insert(0, "hidden namespace root")
    return "\n".join(lines)


def edge_label(parent: MountView, child: MountView) -> str:
    """The mount point, relative to the parent mount's own target."""
    if parent.hidden:
        return f"{child.target} (on the hidden root)"
    if child.target == parent.target:
        return "stacked on top"
    if parent.target == "/":
        return child.target
    if child.target.startswith(parent.target + "/"):
        return child.target[len(parent.target):]
    return child.target


def _node_attrs(v: MountView, state: str | None) -> dict[str, str]:
    cls = marks(v) + ([state] if state else [])
    a = {"label": mount_label(v), "class": " ".join(cls),
         "fillcolor": group_colour(v.shared) if v.shared is not None else PRIVATE}
    style = ["filled", "rounded"]
    if v.hidden:
        style.append("dashed")
        a["fontcolor"] = "#666666"
        a["color"] = "#999999"
    if v.readonly:
        style.append("diagonals")
    if v.unbindable:
        a["shape"] = "octagon"
    if v.locked:
        a["peripheries"] = "2"
    if state == "new":
        a["color"], a["penwidth"] = NEW, "3"
    elif state == "removed":
        style.append("dashed")
        a["color"], a["penwidth"], a["fontcolor"] = REMOVED, "3", REMOVED
    a["style"] = ",".join(style)
    return a


def _cluster_label(i: int, ns: NsView) -> str:
    if ns.anon:
        head = "detached tree (anonymous mount namespace)"
        if ns.holders:
            head += "\nheld by " + ", ".join(ns.holders)
    elif ns.inum is None:
        head = f"mount table {ns.label}"        # read from a mountinfo file
    else:
        head = f"mount namespace {ns.label}"
        if ns.holders and not ns.roots:
            head += "\nno process; kept by " + ", ".join(ns.holders)
    if ns.user_ns:
        head += f"\nowned by {ns.user_ns}"
    return head


def filter_mounts(mounts: list[MountView], path: str | None) -> list[MountView]:
    """Mounts at or under *path*, plus the mounts they hang from (for context)."""
    if not path or path == "/":
        return mounts
    p = path.rstrip("/")
    keep = {v.id for v in mounts if v.target == p or v.target.startswith(p + "/")}
    by_id = {v.id: v for v in mounts}
    for mid in list(keep):
        v = by_id[mid]
        while v.parent in by_id and v.parent not in keep:
            keep.add(v.parent)
            v = by_id[v.parent]
    return [v for v in mounts if v.id in keep]


def collapse_mounts(mounts: list[MountView], paths: Iterable[str]) -> tuple[list[MountView], dict[int, int]]:
    """Drop the mounts strictly below each collapsed path; return the kept mounts and, per
    kept mount at a collapsed path, how many mounts were folded into it."""
    folded: dict[int, int] = {}
    out = mounts
    for path in paths:
        p = path.rstrip("/") or "/"
        below = (lambda t: t != p and t.startswith(p + "/")) if p != "/" else (lambda t: t != "/")
        heads = [v for v in out if v.target == p]
        hidden = [v for v in out if below(v.target)]
        if not heads or not hidden:
            continue
        folded[heads[-1].id] = folded.get(heads[-1].id, 0) + len(hidden)
        out = [v for v in out if not below(v.target)]
    return out, folded


def mount_tree(snap: Snapshot, *, filter_path: str | None = None, collapse: Iterable[str] = (),
               new: set[int] = frozenset(), removed: Iterable[tuple[int, MountView]] = (),
               legend: bool = True, title: str | None = None) -> graphviz.Digraph:
    """The mount-tree diagram of *snap*.

    *new* are unique ids (or, for mountinfo tables, mount ids) to highlight as just created;
    *removed* are (namespace index, view) pairs drawn as dashed ghosts.
    """
    collapse = list(collapse)
    g = graphviz.Digraph("mounts", graph_attr={"rankdir": "TB", "fontname": "Helvetica",
                                                 "nodesep": "0.25", "ranksep": "0.45",
                                                 "compound": "true", "newrank": "true"},
                         node_attr={"shape": "box", "fontname": "Helvetica", "fontsize": "10"},
                         edge_attr={"fontname": "Helvetica", "fontsize": "9"})
    if title:
        g.attr(label=title, labelloc="t", fontsize="12")
    first_in_group: dict[int, str] = {}
    drawn: list[tuple[str, MountView]] = []
    ghosts: dict[int, list[MountView]] = {}
    for i, v in removed:
        ghosts.setdefault(i, []).append(v)
    for i, ns in enumerate(snap.namespaces):
        mounts = filter_mounts(ns.mounts, filter_path)
        mounts, folded = collapse_mounts(mounts, collapse)
        by_id = {v.id: v for v in mounts}
        with g.subgraph(name=f"cluster_ns{i}") as c:
            c.attr(label=_cluster_label(i, ns), style="rounded,dashed" if ns.anon else "rounded",
                   color="#555555", fontsize="11", **{"class": "namespace anon" if ns.anon else "namespace"})
            for v in mounts:
                key = v.unique_id if v.unique_id is not None else v.id
                nid = node_id(i, v)
                c.node(nid, **_node_attrs(v, "new" if key in new else None))
                drawn.append((nid, v))
                if v.shared is not None:
                    first_in_group.setdefault(v.shared, nid)
                if v.id in folded:
                    fid = f"{nid}_folded"
                    c.node(fid, f"{folded[v.id]} mounts below {v.target}\n(collapsed)",
                           shape="folder", style="dashed", **{"class": "collapsed"})
                    c.edge(nid, fid, style="dashed", arrowhead="none")
                p = by_id.get(v.parent)
                if p is not None and p is not v:
                    stacked = p.target == v.target
                    c.edge(node_id(i, p), nid, label=edge_label(p, v),
                           **({"style": "bold", "color": "#444444", "class": "tree stacked"}
                              if stacked else {"class": "tree"}))
            for v in ghosts.get(i, []):
                gid = f"ns{i}_gone{v.id}"
                c.node(gid, **_node_attrs(v, "removed"))
                if v.parent in by_id:
                    c.edge(node_id(i, by_id[v.parent]), gid, style="dashed", color=REMOVED,
                           label=edge_label(by_id[v.parent], v), **{"class": "tree removed"})
            for pid in sorted(set(ns.roots) | set(ns.cwds)):
                pn = f"ns{i}_pid{pid}"
                c.node(pn, f"pid {pid}", shape="ellipse", style="filled", fillcolor="#eeeeee",
                       **{"class": "process"})
                r, w = ns.roots.get(pid), ns.cwds.get(pid)
                if r in by_id:
                    c.edge(pn, node_id(i, by_id[r]), label="root" if r != w else "root, cwd",
                           style="dotted", arrowhead="odot", **{"class": "root"})
                if w in by_id and w != r:
                    c.edge(pn, node_id(i, by_id[w]), label="cwd", style="dotted",
                           arrowhead="odot", **{"class": "cwd"})
    _master_edges(g, drawn, first_in_group)
    if legend:
        _legend(g)
    return g


def _master_edges(g: graphviz.Digraph, drawn: list[tuple[str, MountView]],
                  first_in_group: dict[int, str]) -> None:
    """master -> slave: from the first drawn member of the master's peer group."""
    missing: set[int] = set()
    for nid, v in drawn:
        m = v.master
        if m is None:
            continue
        src = first_in_group.get(m)
        if src is None:
            src = f"group{m}"
            if m not in missing:
                missing.add(m)
                g.node(src, f"peer group {m}\n(not in these tables)", shape="note",
                       style="filled,dashed", fillcolor=group_colour(m), **{"class": "group"})
        g.edge(src, nid, label=f"master:{m}", style="dashed", color="#1f77b4", fontcolor="#1f77b4",
               constraint="false", **{"class": "master"})


def _legend(g: graphviz.Digraph) -> None:
    with g.subgraph(name="cluster_legend") as c:
        c.attr(label="legend", style="rounded", color="#bbbbbb", fontsize="10",
               **{"class": "legend"})
        c.node("legend_shared", "shared:N\n(one colour per peer group)", style="filled,rounded",
               fillcolor=PALETTE[0])
        c.node("legend_private", "private", style="filled,rounded", fillcolor=PRIVATE)
        c.node("legend_ro", "read-only (ro)", style="filled,rounded,diagonals", fillcolor=PRIVATE)
        c.node("legend_unbindable", "unbindable", shape="octagon", style="filled", fillcolor=PRIVATE)
        c.node("legend_locked", "MNT_LOCKED", peripheries="2", style="filled,rounded",
               fillcolor=PRIVATE)
        c.node("legend_hidden", "hidden namespace root\n(rootfs / nullfs)", color="#999999",
               fontcolor="#666666", style="filled,rounded,dashed", fillcolor=PRIVATE)
        c.node("legend_pid", "pid N", shape="ellipse", style="filled", fillcolor="#eeeeee")
        c.edge("legend_shared", "legend_private", label="master -> slave", style="dashed",
               color="#1f77b4", fontcolor="#1f77b4")
        c.edge("legend_ro", "legend_unbindable", label="parent -> child\n(mount point)")
        c.edge("legend_pid", "legend_locked", label="root / cwd", style="dotted", arrowhead="odot")
        c.edge("legend_hidden", "legend_ro", style="invis")


def propagation_tree(snap: Snapshot) -> graphviz.Digraph:
    """sharedsubtree.rst §8: each peer group a node listing its members, each slave mount
    below its master's group (a slave that is itself shared hangs its group there)."""
    g = graphviz.Digraph("propagation", graph_attr={"rankdir": "TB", "fontname": "Helvetica"},
                         node_attr={"shape": "box", "fontname": "Helvetica", "fontsize": "10",
                                    "style": "filled,rounded"})
    members: dict[int, list[tuple[int, MountView]]] = {}
    slaves: list[tuple[int, MountView]] = []
    for i, ns in enumerate(snap.namespaces):
        for v in ns.mounts:
            if v.shared is not None:
                members.setdefault(v.shared, []).append((i, v))
            elif v.master is not None:
                slaves.append((i, v))
    masters = {v.master for ms in members.values() for _, v in ms if v.master is not None}
    masters |= {v.master for _, v in slaves}
    for grp in sorted(set(members) | masters):
        ms = members.get(grp, [])
        rows = [f"{snap.namespaces[i].label} {v.target} (id {v.id})" for i, v in ms]
        label = f"peer group {grp}\n" + ("\n".join(rows) if rows else "(not in these tables)")
        g.node(f"group{grp}", label, fillcolor=group_colour(grp), **{"class": "group"})
        up = {v.master for _, v in ms if v.master is not None}
        for m in sorted(up):
            g.edge(f"group{m}", f"group{grp}", label="slave group", style="dashed",
                   **{"class": "master"})
    for i, v in slaves:
        nid = node_id(i, v)
        g.node(nid, f"{snap.namespaces[i].label} {v.target} (id {v.id})\nslave",
               fillcolor=PRIVATE, **{"class": " ".join(marks(v))})
        g.edge(f"group{v.master}", nid, style="dashed", **{"class": "master"})
    return g


def render(g: graphviz.Digraph, out: str) -> str:
    """Write *g* to *out*, by its suffix: .dot/.gv (the source), .svg, .png (through dot)."""
    fmt = out.rsplit(".", 1)[-1].lower() if "." in out else "svg"
    if fmt in ("dot", "gv"):
        with open(out, "w", encoding="utf-8") as f:
            f.write(g.source)
        return out
    data = g.pipe(format=fmt, quiet=True)
    with open(out, "wb") as f:
        f.write(data)
    return out
