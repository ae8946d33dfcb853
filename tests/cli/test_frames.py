"""`mountsim replay --frames DIR`: the files, and the page checked in headless Chromium.

The browser is driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`:
NUL-terminated JSON on fds 3 and 4), so no extra package is needed. A screenshot of the
page after stepping is kept in tests/artifacts/ (git-ignored). Skipped with one line when
Chromium is absent.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from mountsim.cli import main

MODELS = Path(__file__).resolve().parents[2] / "models"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def test_frames_files(tmp_path, capsys):
    """If a trace of 13 calls is replayed with --frames, then there is one SVG per state
    (before the first call + one per call) and one page that inlines them all, with no
    external references."""
    out = tmp_path / "frames"
    assert main(["replay", "-q", "--frames", str(out), str(MODELS / "demo.trace")]) == 0
    svgs = sorted(p.name for p in out.glob("frame_*.svg"))
    assert svgs == [f"frame_{i:03d}.svg" for i in range(14)]
    page = (out / "index.html").read_text()
    assert page.count("<svg") == 14
    assert "src=" not in page and "href=\"http" not in page
    # line 21's frame: the new mount and its 5 copies outlined as new (demo.trace's comment:
    # the child's peer /mirror and slave /replica; in the parent /srv, /mirror and /replica)
    last = (out / "frame_013.svg").read_text()
    assert last.count(' new"') == 6 and last.count('class="node mount slave new"') == 2


def _onto_3_4(a: int, b: int) -> None:
    """In the child: *a* becomes fd 3 and *b* fd 4, whatever numbers they had (fresh dups
    first, so that placing one cannot clobber the other)."""
    a, b = os.dup(a), os.dup(b)
    os.dup2(a, 3)
    os.dup2(b, 4)


class DevTools:
    """A minimal DevTools-protocol client over Chromium's debugging pipe."""

    def __init__(self, profile: Path) -> None:
        r_cmd, w_cmd = os.pipe()      # we write commands -> chromium's fd 3
        r_evt, w_evt = os.pipe()      # chromium's fd 4 -> we read
        self.proc = subprocess.Popen(
            [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--remote-debugging-pipe", f"--user-data-dir={profile}", "--window-size=1400,1000",
             "about:blank"],
            pass_fds=(3, 4), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=lambda: _onto_3_4(r_cmd, w_evt))
        os.close(r_cmd)
        os.close(w_evt)
        self.w, self.r = w_cmd, r_evt
        self.buf = b""
        self.n = 0
        self.events: list[dict] = []

    def _read(self, timeout: float) -> dict:
        end = time.monotonic() + timeout
        while b"\0" not in self.buf:
            if time.monotonic() > end:
                raise TimeoutError("no answer from chromium")
            chunk = os.read(self.r, 65536)
            if not chunk:
                raise EOFError("chromium closed the pipe")
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method: str, session: str | None = None, timeout: float = 20, **params):
        self.n += 1
        msg = {"id": self.n, "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        os.write(self.w, json.dumps(msg).encode() + b"\0")
        while True:
            m = self._read(timeout)
            if m.get("id") == self.n:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m.get("result", {})
            self.events.append(m)

    def wait_event(self, name: str, timeout: float = 20) -> dict:
        for i, e in enumerate(self.events):
            if e.get("method") == name:
                return self.events.pop(i)
        while True:
            m = self._read(timeout)
            if m.get("method") == name:
                return m
            self.events.append(m)

    def close(self) -> None:
        try:
            self.call("Browser.close", timeout=5)
        except Exception:  # noqa: BLE001 - the process is killed below anyway
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self.w)
        os.close(self.r)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed")
def test_page_steps_in_chromium(tmp_path, capsys):
    """If the page is loaded in Chromium and next is pressed (Right arrow, then a click on the
    next button), then the shown call and counter follow, the new-mount lines are listed,
    and only one frame is visible; a screenshot is kept as an artefact."""
    out = tmp_path / "frames"
    assert main(["replay", "-q", "--frames", str(out), str(MODELS / "demo.trace")]) == 0
    dt = DevTools(tmp_path / "profile")
    try:
        target = next(t for t in dt.call("Target.getTargets")["targetInfos"] if t["type"] == "page")
        s = dt.call("Target.attachToTarget", targetId=target["targetId"], flatten=True)["sessionId"]
        dt.call("Page.enable", s)
        dt.call("Page.navigate", s, url=(out / "index.html").as_uri())
        dt.wait_event("Page.loadEventFired")

        def text(sel: str) -> str:
            r = dt.call("Runtime.evaluate", s, expression=f"document.querySelector({sel!r}).textContent")
            return r["result"]["value"]

        assert text("#counter") == "1 / 14" and text("#call") == "(start)"
        for kind in ("keyDown", "keyUp"):
            dt.call("Input.dispatchKeyEvent", s, type=kind, key="ArrowRight", code="ArrowRight",
                    windowsVirtualKeyCode=39)
        assert text("#counter") == "2 / 14"
        assert text("#call") == 'line 9: mount("tmpfs", "/srv", "tmpfs", 0, NULL) = 0'
        assert text("#explain").startswith("new mount /srv (id 4, tmpfs, private")
        box = dt.call("Runtime.evaluate", s, returnByValue=True, expression=(
            "(() => { const r = document.querySelector('#next').getBoundingClientRect();"
            " return [r.x + r.width / 2, r.y + r.height / 2]; })()"))["result"]["value"]
        for kind in ("mousePressed", "mouseReleased"):
            dt.call("Input.dispatchMouseEvent", s, type=kind, x=box[0], y=box[1], button="left",
                    clickCount=1)
        assert text("#counter") == "3 / 14" and text("#call").startswith("line 10: mkdir(")
        visible = dt.call("Runtime.evaluate", s, expression=(
            "[...document.querySelectorAll('.frame')].filter(f => !f.hidden).map(f => f.id).join()"))
        assert visible["result"]["value"] == "f2"
        ARTIFACTS.mkdir(exist_ok=True)
        png = dt.call("Page.captureScreenshot", s)["data"]
        (ARTIFACTS / "frames-demo-step2.png").write_bytes(base64.b64decode(png))
    finally:
        dt.close()
