"""`replay --frames DIR`: one diagram per call and one self-contained HTML page stepping
through them. Model-only.

Frame 0 is the state before the first call; frame N the state after the N-th executed call,
drawn by graphviz.mount_tree() with the mounts the call created outlined green and the ones
it removed drawn as dashed red ghosts. Under each frame: the call, its result, and its
explanation (explain.Story.lines()). The page has no external references: the SVGs are
inlined, previous/next are buttons and the arrow keys (Home/End jump).
"""

from __future__ import annotations

import html
import json
import os
import re

from . import graphviz as gv
from .explain import Story, Tracer
from .snapshot import Snapshot

_XML_HEAD = re.compile(r"^.*?(?=<svg)", re.S)


def frame_graph(before: Snapshot | None, after: Snapshot, story: Story | None, title: str):
    """The diagram of one frame: *after*, with *story*'s new and removed mounts marked."""
    new = {m.uid for m in story.created} if story else set()
    removed = []
    if story and before is not None:
        labels = [ns.label for ns in after.namespaces]
        gone = {m.uid for m in story.removed}
        for ns in before.namespaces:
            if ns.label in labels:
                i = labels.index(ns.label)
                removed.extend((i, v) for v in ns.mounts if v.unique_id in gone)
    return gv.mount_tree(after, new=new, removed=removed, legend=False, title=title)


def write_frames(t: Tracer, program, out_dir: str) -> str:
    """Write frame_NNN.svg for every state and index.html; return the page's path."""
    os.makedirs(out_dir, exist_ok=True)
    frames = []
    for n, after in enumerate(t.states):
        story = t.stories[n - 1] if n else None
        before = t.states[n - 1] if n else None
        title = f"line {story.line}: {story.call} {story.result}" if story else "before the first call"
        svg = frame_graph(before, after, story, title).pipe(format="svg", quiet=True).decode()
        name = f"frame_{n:03d}.svg"
        with open(os.path.join(out_dir, name), "w", encoding="utf-8") as f:
            f.write(svg)
        frames.append({
            "svg": _XML_HEAD.sub("", svg, count=1),
            "call": f"{story.call} {story.result}" if story else "(start)",
            "line": story.line if story else 0,
            "explain": story.lines() if story else [],
            "new": [str(m) for m in story.created] if story else [],
            "removed": [str(m) for m in story.removed] if story else [],
        })
    page = os.path.join(out_dir, "index.html")
    with open(page, "w", encoding="utf-8") as f:
        f.write(page_html(program.file, frames))
    return page


def page_html(title: str, frames: list[dict]) -> str:
    svgs = "\n".join(f'<div class="frame" id="f{i}" hidden>{fr["svg"]}</div>'
                     for i, fr in enumerate(frames))
    meta = json.dumps([{k: v for k, v in fr.items() if k != "svg"} for fr in frames])
    return _PAGE.replace("@TITLE@", html.escape(title)).replace("@SVGS@", svgs) \
        .replace("@META@", meta.replace("</", "<\\/"))


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>mountsim: @TITLE@</title>
<style>
body { font-family: sans-serif; margin: 1em; }
#bar { display: flex; gap: .5em; align-items: center; margin-bottom: .5em; }
#bar button { font-size: 1em; padding: .2em .8em; }
#call { font-family: monospace; font-size: 1.05em; background: #f4f4f4; padding: .4em; }
#explain li.new { color: #2ca02c; } #explain li.gone { color: #d62728; }
.frame svg { max-width: 100%; height: auto; }
</style></head>
<body>
<h1 style="font-size:1.1em">@TITLE@</h1>
<div id="bar"><button id="prev" title="previous (Left arrow)">&larr; prev</button>
<span id="counter"></span>
<button id="next" title="next (Right arrow)">next &rarr;</button></div>
<div id="call"></div>
<ul id="explain"></ul>
@SVGS@
<script>
const META = @META@;
let cur = 0;
function li(text, cls) { const e = document.createElement("li"); e.textContent = text;
  if (cls) e.className = cls; return e; }
function show(n) {
  cur = Math.max(0, Math.min(META.length - 1, n));
  document.querySelectorAll(".frame").forEach((f, i) => { f.hidden = i !== cur; });
  const m = META[cur];
  document.getElementById("counter").textContent = (cur + 1) + " / " + META.length;
  document.getElementById("call").textContent = (m.line ? "line " + m.line + ": " : "") + m.call;
  const ul = document.getElementById("explain"); ul.replaceChildren();
  m.explain.forEach(t => ul.appendChild(li(t, t.startsWith("new mount") ? "new" :
                                              t.startsWith("gone:") ? "gone" : "")));
  document.getElementById("prev").disabled = cur === 0;
  document.getElementById("next").disabled = cur === META.length - 1;
  history.replaceState(null, "", "#" + cur);
}
document.getElementById("prev").onclick = () => show(cur - 1);
document.getElementById("next").onclick = () => show(cur + 1);
document.addEventListener("keydown", e => {
  if (e.key === "ArrowRight" || e.key === "PageDown") show(cur + 1);
  else if (e.key === "ArrowLeft" || e.key === "PageUp") show(cur - 1);
  else if (e.key === "Home") show(0);
  else if (e.key === "End") show(META.length - 1);
});
show(parseInt(location.hash.slice(1)) || 0);
</script>
</body></html>
"""
