"""proc_namespace.py: /proc/<pid>/mounts and /proc/<pid>/mountstats, read through the
seq_file reader like mountinfo, on the model and on this machine's kernel (`runner`)."""

from __future__ import annotations

from mountsim import uapi
from mountsim.trace.program import Step

MS_RDONLY, MS_NOSUID, MS_NODEV = uapi.MS_RDONLY, uapi.MS_NOSUID, uapi.MS_NODEV


def read_all(r, path: str, count: int = 1 << 16, label: int = 9) -> str:
    """open(2) *path* and read(2) it with *count* to end of file; the text."""
    assert r.call("openat", uapi.AT_FDCWD, path, uapi.O_RDONLY, label=label) == label
    out = []
    while True:
        got = r.s.execute(Step(r.pid, "read", (label, None, count)))
        assert got.errno is None
        if not got.ret:
            break
        out.append(got.out)
    assert r.call("close", label) == 0
    return "".join(out)


def table(runner) -> None:
    """proc on /c, then mounts whose lines show each part of the format."""
    assert runner.call("mount", "proc", "/c", "proc", 0, None) == 0
    assert runner.call("mount", "my src", "/a", "tmpfs", MS_NOSUID | MS_NODEV, "mode=755") == 0
    assert runner.call("mount", "/a", "/b", None, uapi.MS_BIND, None) == 0
    assert runner.call("mount", None, "/b", None,
                       uapi.MS_REMOUNT | uapi.MS_BIND | MS_RDONLY, None) == 0
    assert runner.call("mkdir", "/d/x y", 0o755) == 0
    assert runner.call("mount", "t\\b", "/d/x y", "tmpfs", uapi.MS_NOEXEC, None) == 0


class TestShowVfsmnt:
    def test_lines(self, runner):
        """If /proc/self/mounts is read, then each mount is "devname mountpoint fstype
        options 0 0", ro when the mount is read-only, the mount's options before the
        filesystem's, spaces and backslashes octal-escaped (source: fs/proc_namespace.c
        show_vfsmnt(), mangle(); compared with Linux 6.18 here)."""
        table(runner)
        text = read_all(runner, "/c/self/mounts")
        lines = text.splitlines()
        assert lines == ["tmpfs / tmpfs rw,relatime 0 0",
                         "proc /c proc rw,relatime 0 0",
                         "my\\040src /a tmpfs rw,nosuid,nodev,relatime,mode=755 0 0",
                         "my\\040src /b tmpfs ro,relatime,mode=755 0 0",
                         "t\\134b /d/x\\040y tmpfs rw,noexec,relatime 0 0"]
        assert text.endswith(" 0 0\n")

    def test_readonly_superblock_and_hash(self, runner):
        """If a read-only tmpfs named "a#b" is bound and the bind remounted rw, then mounts
        shows both ro (__mnt_is_readonly(): the superblock's SB_RDONLY) and the source as
        a\\043b (mangle() escapes '#'), while a '#' in a mountpoint stays (seq_path_root()
        escapes " \\t\\n\\\\" only); a mount from fsmount() without a source is "none"
        (source: fs/proc_namespace.c; observed on Linux 6.18 here)."""
        assert runner.call("mount", "proc", "/c", "proc", 0, None) == 0
        assert runner.call("mount", "a#b", "/a", "tmpfs", MS_RDONLY, None) == 0
        assert runner.call("mount", "/a", "/b", None, uapi.MS_BIND, None) == 0
        assert runner.call("mount", None, "/b", None, uapi.MS_REMOUNT | uapi.MS_BIND, None) == 0
        assert runner.call("fsopen", "tmpfs", 0, label=20) == 20
        assert runner.call("fsconfig", 20, uapi.FSCONFIG_CMD_CREATE, None, None, 0) == 0
        assert runner.call("fsmount", 20, 0, 0, label=21) == 21
        assert runner.call("move_mount", 21, "", uapi.AT_FDCWD, "/d",
                           uapi.MOVE_MOUNT_F_EMPTY_PATH) == 0
        assert runner.call("mkdir", "/d/p#q", 0o755) == 0
        assert runner.call("mount", "t", "/d/p#q", "tmpfs", 0, None) == 0
        assert read_all(runner, "/c/self/mounts").splitlines()[2:] == [
            "a\\043b /a tmpfs ro,relatime 0 0", "a\\043b /b tmpfs ro,relatime 0 0",
            "none /d tmpfs rw,relatime 0 0", "t /d/p#q tmpfs rw,relatime 0 0"]
        info = read_all(runner, "/c/self/mountinfo").splitlines()
        assert [ln.split(" - ")[1] for ln in info[2:4]] == ["tmpfs a\\043b ro"] * 2
        assert read_all(runner, "/c/self/mountstats").splitlines()[2:] == [
            "device a\\043b mounted on /a with fstype tmpfs",
            "device a\\043b mounted on /b with fstype tmpfs",
            "device none mounted on /d with fstype tmpfs",
            "device t mounted on /d/p#q with fstype tmpfs"]

    def test_small_reads_join(self, runner):
        """If mounts is read 7 bytes at a time, then the pieces join to the same text
        (source: fs/seq_file.c seq_read_iter())."""
        table(runner)
        assert read_all(runner, "/c/self/mounts", 7) == read_all(runner, "/c/self/mounts")

    def test_proc_mounts_is_self(self, runner):
        """If /proc/mounts is read, then it is the reader's own mounts (source:
        fs/proc/root.c proc_root_init(): proc_symlink("mounts", NULL, "self/mounts"))."""
        table(runner)
        assert read_all(runner, "/c/mounts") == read_all(runner, "/c/self/mounts")


class TestShowVfsstat:
    def test_lines(self, runner):
        """If /proc/self/mountstats is read, then each mount is "device D mounted on P with
        fstype T", mangled like mounts (source: fs/proc_namespace.c show_vfsstat();
        compared with Linux 6.18 here)."""
        table(runner)
        assert read_all(runner, "/c/self/mountstats").splitlines() == [
            "device tmpfs mounted on / with fstype tmpfs",
            "device proc mounted on /c with fstype proc",
            "device my\\040src mounted on /a with fstype tmpfs",
            "device my\\040src mounted on /b with fstype tmpfs",
            "device t\\134b mounted on /d/x\\040y with fstype tmpfs"]

    def test_outside_root_skipped(self, runner):
        """If the reader's root is /a, then mounts outside it are not shown (source:
        seq_path_root() answering SEQ_SKIP in show_vfsstat())."""
        table(runner)
        assert runner.call("mkdir", "/a/p", 0o755) == 0
        assert runner.call("mount", "proc", "/a/p", "proc", 0, None) == 0
        assert runner.call("chroot", "/a") == 0
        assert read_all(runner, "/p/self/mountstats") == (
            "device my\\040src mounted on / with fstype tmpfs\n"
            "device proc mounted on /p with fstype proc\n")
