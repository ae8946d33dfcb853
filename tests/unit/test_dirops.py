"""Files and symlinks: syscalls/dirops.py (unlink, rmdir, rename, symlink, readlink, mknod),
the symlink walk of namei.py, O_CREAT/O_EXCL/O_NOFOLLOW opens and bind mounts of files.

Each body runs twice (the `runner` fixture): on the model and on the live kernel, so every
expected errno is Linux 6.18's, read off the cited source and checked by the live run.
mknod is model-only (the sandbox's seccomp filter refuses it): its tests use the model.
"""

import pytest

from mountsim import uapi
from mountsim.backends.model import ModelBackend
from mountsim.trace.parse import parse_text
from mountsim.trace.program import Step
from mountsim.trace.replay import replay
from tests.helpers import MS_BIND, MS_PRIVATE, MS_REC, model

AT_FDCWD = uapi.AT_FDCWD
O_CREAT, O_EXCL, O_WRONLY, O_PATH = uapi.O_CREAT, uapi.O_EXCL, uapi.O_WRONLY, uapi.O_PATH
O_NOFOLLOW, O_DIRECTORY = uapi.O_NOFOLLOW, uapi.O_DIRECTORY
RENAME_NOREPLACE, RENAME_EXCHANGE = uapi.RENAME_NOREPLACE, uapi.RENAME_EXCHANGE


def touch(r, path: str, pid: int | None = None) -> None:
    """Create an empty regular file and close it."""
    r.next_label += 1
    fd = r.call("open", path, O_CREAT | O_WRONLY, 0o644, pid=pid, label=r.next_label)
    assert isinstance(fd, int), fd
    assert r.call("close", fd, pid=pid) == 0


def mountpoints(r, pid: int | None = None) -> list[str]:
    return [mp for mp, _ in r.table(pid)]


def other_namespace(r) -> int:
    """A child in a copy of the caller's namespace (everything private first)."""
    assert r.make("/", MS_PRIVATE | MS_REC) == 0
    child = r.fork()
    assert r.call("unshare", uapi.CLONE_NEWNS, pid=child) == 0
    return child


class TestDoUnlinkat:
    def test_unlink_file(self, runner):
        """If a regular file is unlinked, then it is gone: a second unlink is ENOENT
        (source: fs/namei.c:do_unlinkat(), lookup_one_qstr_excl())."""
        r = runner
        touch(r, "/a/f")
        assert r.call("unlink", "/a/f") == 0
        assert r.call("unlink", "/a/f") == "ENOENT"

    def test_unlink_errors(self, runner):
        """If the name is a directory, then EISDIR; if it is "." or "/", then EISDIR; if a
        file is named with a trailing slash, then ENOTDIR (source: do_unlinkat(): last_type
        != LAST_NORM, the `slashes` label; may_delete())."""
        r = runner
        touch(r, "/a/f")
        assert r.call("unlink", "/a") == "EISDIR"
        assert r.call("unlink", "/a/.") == "EISDIR"
        assert r.call("unlink", "/") == "EISDIR"
        assert r.call("unlink", "/a/f/") == "ENOTDIR"
        assert r.call("unlink", "/a/") == "EISDIR"
        assert r.call("unlinkat", AT_FDCWD, "/a/f", 1) == "EINVAL"

    def test_unlink_symlink_not_followed(self, runner):
        """If the last component is a symlink, then the link is removed, not its target
        (source: fs/namei.c rules: "in the last component in creation/removal/renaming -
        never follow")."""
        r = runner
        touch(r, "/a/f")
        assert r.call("symlink", "/a/f", "/b/l") == 0
        assert r.call("unlink", "/b/l") == 0
        assert r.call("unlink", "/a/f") == 0

    def test_read_only(self, runner):
        """If the parent's mount is read-only, then EROFS, before the missing name's ENOENT
        (source: do_unlinkat(): mnt_want_write() before the lookup)."""
        r = runner
        assert r.tmpfs("/a", uapi.MS_RDONLY) == 0
        assert r.call("unlink", "/a/missing") == "EROFS"

    def test_mountpoint_busy_here(self, runner):
        """If a file has a bind mount on it in the caller's namespace, then unlink is EBUSY
        (source: vfs_unlink(): is_local_mountpoint())."""
        r = runner
        touch(r, "/a/f"), touch(r, "/b/g")
        assert r.bind("/a/f", "/b/g") == 0
        assert r.call("unlink", "/b/g") == "EBUSY"
        assert r.call("unlink", "/a/f") == 0          # the source of a bind is no mountpoint

    def test_mountpoint_detached_elsewhere(self, runner):
        """If the mountpoint is unlinked from another namespace, then the mounts on it there
        are gone (source: vfs_unlink() -> detach_mounts())."""
        r = runner
        touch(r, "/a/f"), touch(r, "/b/g")
        child = other_namespace(r)
        assert r.bind("/a/f", "/b/g", pid=child) == 0
        assert "/b/g" in mountpoints(r, child)
        assert r.call("unlink", "/b/g") == 0
        assert "/b/g" not in mountpoints(r, child)

    def test_unlinkat_removedir(self, runner):
        """If AT_REMOVEDIR is given, then unlinkat is rmdir: directories only, ENOTDIR for a
        file (source: SYSCALL_DEFINE3(unlinkat) -> do_rmdir(); may_delete(isdir))."""
        r = runner
        touch(r, "/a/f")
        assert r.call("mkdir", "/a/d", 0o755) == 0
        assert r.call("unlinkat", AT_FDCWD, "/a/f", uapi.AT_REMOVEDIR) == "ENOTDIR"
        assert r.call("unlinkat", AT_FDCWD, "/a/d", uapi.AT_REMOVEDIR) == 0
        assert r.call("unlinkat", AT_FDCWD, "/a/f", 0) == 0


class TestProcEntries:
    def test_proc_names(self, runner):
        """If proc's entries are unlinked, removed or renamed, then EPERM (proc has no
        ->unlink/->rmdir/->rename; /proc/self is a symlink); a missing name is ENOENT, also
        as a new name (proc's ->lookup() answers -ENOENT); readlink of /proc/self/cwd is the
        cwd from the caller's root (source: vfs_unlink(), proc_root_lookup(),
        proc_pid_readlink())."""
        r = runner
        assert r.call("mount", "proc", "/d", "proc", 0, None) == 0
        assert r.call("unlink", "/d/self") == "EPERM"
        assert r.call("unlink", "/d/self/cwd") == "EPERM"
        assert r.call("unlink", "/d/self/mountinfo") == "EPERM"
        assert r.call("rmdir", "/d/self/ns") == "EPERM"
        assert r.call("unlink", "/d/self/nope") == "ENOENT"
        assert r.call("rename", "/d/self/cwd", "/d/self/x") == "ENOENT"
        assert r.call("symlink", "x", "/d/self/x") == "ENOENT"
        assert r.call("chdir", "/a") == 0
        res = r.s.execute(_step("readlink", "/d/self/cwd", None, 100))
        assert (res.ret, res.out) == (2, "/a")


    def test_fd_links(self):
        """If /proc/self/fd/N is read with readlink, then it is the open file's path from
        the caller's root; walked, it leads to that file (model-only: the live kernel's fd
        numbers are not the trace's) (source: fs/proc/fd.c proc_fd_link(),
        proc_pid_readlink())."""
        r = model()
        assert r.call("mount", "proc", "/d", "proc", 0, None) == 0
        assert r.call("open", "/a", O_PATH, 0, label=7) == 7
        res = r.s.execute(_step("readlink", "/d/self/fd/7", None, 100))
        assert (res.ret, res.out) == (2, "/a")
        assert r.tmpfs("/d/self/fd/7") == 0
        assert mountpoints(r)[-1] == "/a"
        assert r.call("readlink", "/d/self/fd/8", None, 100) == "ENOENT"
        assert r.call("open", "/d/sys/kernel/overflowuid", uapi.O_RDONLY, 0, label=9) == 9


class TestDoRmdir:
    def test_mountpoint(self, runner):
        """If a directory is a mountpoint here, then EBUSY; from another namespace it goes
        and takes that namespace's mounts with it (source: vfs_rmdir(),
        is_local_mountpoint(), detach_mounts())."""
        r = runner
        assert r.call("mkdir", "/a/d", 0o755) == 0
        child = other_namespace(r)
        assert r.tmpfs("/a/d", pid=child) == 0
        assert r.call("rmdir", "/a/d", pid=child) == "EBUSY"
        assert r.call("rmdir", "/a/d") == 0
        assert "/a/d" not in mountpoints(r, child)

    def test_symlink_is_not_a_directory(self, runner):
        """If rmdir names a symlink to a directory, then ENOTDIR: the last component is
        not followed (source: do_rmdir(), may_delete(isdir))."""
        r = runner
        assert r.call("symlink", "/b", "/a/l") == 0
        assert r.call("rmdir", "/a/l") == "ENOTDIR"


class TestDoRenameat2:
    def test_rename_file(self, runner):
        """If a file is renamed, then the old name is gone and the new one exists (source:
        do_renameat2() -> vfs_rename())."""
        r = runner
        touch(r, "/a/f")
        assert r.call("rename", "/a/f", "/a/g") == 0
        assert r.call("unlink", "/a/f") == "ENOENT"
        assert r.call("unlink", "/a/g") == 0

    def test_exdev(self, runner):
        """If old and new are on different mounts, then EXDEV, even on one superblock
        (source: do_renameat2(): old_path.mnt != new_path.mnt)."""
        r = runner
        assert r.tmpfs("/a") == 0 and r.bind("/a", "/b") == 0
        touch(r, "/a/f")
        assert r.call("rename", "/a/f", "/b/g") == "EXDEV"
        assert r.call("rename", "/a/f", "/c/g") == "EXDEV"

    def test_dots_and_flags(self, runner):
        """If old or new is "." or "..", then EBUSY (EEXIST for new with NOREPLACE); if
        NOREPLACE and EXCHANGE are combined or a flag is unknown, then EINVAL (source:
        do_renameat2())."""
        r = runner
        touch(r, "/a/f")
        assert r.call("rename", "/a/.", "/b/x") == "EBUSY"
        assert r.call("rename", "/a/f", "/b/..") == "EBUSY"
        assert r.call("renameat2", AT_FDCWD, "/a/f", AT_FDCWD, "/b/..", RENAME_NOREPLACE) == "EEXIST"
        assert r.call("renameat2", AT_FDCWD, "/a/f", AT_FDCWD, "/a/g",
                      RENAME_NOREPLACE | RENAME_EXCHANGE) == "EINVAL"
        assert r.call("renameat2", AT_FDCWD, "/a/f", AT_FDCWD, "/a/g", 8) == "EINVAL"

    def test_noreplace_exchange(self, runner):
        """If RENAME_NOREPLACE meets an existing name, then EEXIST; if RENAME_EXCHANGE
        meets a missing one, then ENOENT; an exchange swaps the names (source:
        do_renameat2(), lookup_one_qstr_excl() with LOOKUP_EXCL)."""
        r = runner
        touch(r, "/a/f")
        assert r.call("renameat2", AT_FDCWD, "/a/f", AT_FDCWD, "/b", RENAME_NOREPLACE) == "EEXIST"
        assert r.call("renameat2", AT_FDCWD, "/a/f", AT_FDCWD, "/a/g", RENAME_EXCHANGE) == "ENOENT"
        assert r.call("renameat2", AT_FDCWD, "/a/f", AT_FDCWD, "/c", RENAME_EXCHANGE) == 0
        assert r.call("rmdir", "/a/f") == 0            # the directory came to /a/f
        assert r.call("unlink", "/c") == 0             # and the file to /c

    def test_ancestors(self, runner):
        """If a directory is moved below itself, then EINVAL; if the target is an ancestor
        of the source, then ENOTEMPTY (EINVAL for an exchange) (source: do_renameat2(),
        the trap of lock_rename())."""
        r = runner
        assert r.call("mkdir", "/a/d", 0o755) == 0 and r.call("mkdir", "/a/d/e", 0o755) == 0
        assert r.call("rename", "/a/d", "/a/d/e/f") == "EINVAL"
        assert r.call("rename", "/a/d/e", "/a/d") == "ENOTEMPTY"
        assert r.call("renameat2", AT_FDCWD, "/a/d/e", AT_FDCWD, "/a/d", RENAME_EXCHANGE) == "EINVAL"

    def test_kinds(self, runner):
        """If a directory replaces a file, then ENOTDIR; a file onto a directory, then
        EISDIR; a directory onto a non-empty one, then ENOTEMPTY; a trailing slash on a
        file, then ENOTDIR (source: may_delete(), simple_rename(), do_renameat2())."""
        r = runner
        touch(r, "/a/f")
        assert r.call("mkdir", "/a/d", 0o755) == 0 and r.call("mkdir", "/b/e", 0o755) == 0
        assert r.call("rename", "/a/d", "/a/f") == "ENOTDIR"
        assert r.call("rename", "/a/f", "/a/d") == "EISDIR"
        assert r.call("rename", "/a/d", "/b") == "ENOTEMPTY"
        assert r.call("rename", "/a/f", "/a/g/") == "ENOTDIR"
        assert r.call("rename", "/a/d", "/a/g/") == 0

    def test_mountpoint_busy_here(self, runner):
        """If old or new is a mountpoint in the caller's namespace, then EBUSY (source:
        vfs_rename(): is_local_mountpoint())."""
        r = runner
        assert r.call("mkdir", "/a/d", 0o755) == 0 and r.tmpfs("/a/d") == 0
        assert r.call("rename", "/a/d", "/a/e") == "EBUSY"
        assert r.call("rename", "/b", "/a/d") == "EBUSY"

    def test_mountpoint_elsewhere(self, runner):
        """If another namespace's mountpoint is renamed, then its mount moves along with the
        dentry; if it is replaced, then its mounts are detached (source: vfs_rename():
        d_move(), then detach_mounts(new_dentry))."""
        r = runner
        assert r.call("mkdir", "/a/d", 0o755) == 0 and r.call("mkdir", "/a/e", 0o755) == 0
        child = other_namespace(r)
        assert r.tmpfs("/a/d", pid=child) == 0 and r.tmpfs("/a/e", pid=child) == 0
        assert r.call("rename", "/a/d", "/a/x") == 0
        assert mountpoints(r, child)[-2:] == ["/a/x", "/a/e"]
        assert r.call("rename", "/a/x", "/a/e") == 0
        assert mountpoints(r, child)[-1] == "/a/e"    # the moved one; the replaced one is gone
        assert len(mountpoints(r, child)) == len(mountpoints(r)) + 1


class TestDoSymlinkat:
    def test_errors(self, runner):
        """If the body is empty, then ENOENT; if the name exists, then EEXIST; if a missing
        name has a trailing slash, then ENOENT (source: do_symlinkat(): getname() of the
        body first; filename_create())."""
        r = runner
        assert r.call("symlink", "", "/a/l") == "ENOENT"
        assert r.call("symlink", "x", "/a") == "EEXIST"
        assert r.call("symlink", "x", "/a/") == "EEXIST"
        assert r.call("symlink", "x", "/a/new/") == "ENOENT"
        assert r.call("symlink", "x", "/nope/l") == "ENOENT"
        assert r.call("symlinkat", "anything at all", AT_FDCWD, "/a/l") == 0

    def test_read_only(self, runner):
        """If the directory's mount is read-only, then EROFS for a new name but EEXIST for
        an existing one (source: filename_create(): "at least try to report other
        errors")."""
        r = runner
        assert r.tmpfs("/a", uapi.MS_RDONLY) == 0
        assert r.call("symlink", "x", "/a/l") == "EROFS"
        assert r.call("symlink", "x", "/a/.") == "EEXIST"


class TestFilenameCreate:
    def test_dead_directory_before_erofs(self, runner):
        """If the cwd was removed, then a name made there is ENOENT, before EROFS on a
        read-only mount; unlink and rename meet EROFS first (source: lookup_one_qstr_excl():
        "Don't create child dentry for a dead directory", after filename_create()'s
        mnt_want_write() is only noted; do_unlinkat() checks it first)."""
        r = runner
        assert r.call("mkdir", "/a/d", 0o755) == 0 and r.call("chdir", "/a/d") == 0
        assert r.call("rmdir", "/a/d") == 0
        assert r.call("symlink", "y", "x") == "ENOENT"
        assert r.call("rename", "/b", "x") == "ENOENT"
        assert r.call("mount", None, "/", None, uapi.MS_REMOUNT | MS_BIND | uapi.MS_RDONLY, None) == 0
        for call in (("symlink", "y", "x"), ("mkdir", "x", 0o755),
                     ("open", "x", O_CREAT | O_WRONLY, 0o644)):
            assert r.call(*call) == "ENOENT", call
        assert r.call("unlink", "x") == "EROFS"
        assert r.call("rename", "/b", "x") == "EROFS"


class TestDoReadlinkat:
    def test_body(self, runner):
        """If a symlink is read, then its body comes back unresolved, cut to bufsiz with no
        NUL (source: do_readlinkat() -> vfs_readlink())."""
        r = runner
        assert r.call("symlink", "../nowhere/x", "/a/l") == 0
        res = r.s.execute(_step("readlink", "/a/l", None, 100))
        assert (res.ret, res.out) == (12, "../nowhere/x")
        res = r.s.execute(_step("readlinkat", AT_FDCWD, "/a/l", None, 3))
        assert (res.ret, res.out) == (3, "../")

    def test_errors(self, runner):
        """If bufsiz is not positive or the name is no symlink, then EINVAL; a missing name
        is ENOENT; a trailing slash follows the link (source: do_readlinkat(), lookup_last())."""
        r = runner
        assert r.call("symlink", "/b", "/a/l") == 0
        assert r.call("readlink", "/a/l", None, 0) == "EINVAL"
        assert r.call("readlink", "/a", None, 10) == "EINVAL"
        assert r.call("readlink", "/a/x", None, 10) == "ENOENT"
        assert r.call("readlink", "/a/l/", None, 10) == "EINVAL"


class TestPickLink:
    def test_intermediate_and_last(self, runner):
        """If a symlink is a path component, then it is followed; as the last component
        only with LOOKUP_FOLLOW: a mount on a link lands on its target, and umount2 with
        UMOUNT_NOFOLLOW sees the link (source: link_path_walk(), step_into(), pick_link())."""
        r = runner
        assert r.call("mkdir", "/b/in", 0o755) == 0
        assert r.call("symlink", "/b", "/a/l") == 0
        assert r.tmpfs("/a/l/in") == 0
        assert r.tmpfs("/a/l") == 0
        assert mountpoints(r)[-2:] == ["/b/in", "/b"]
        assert r.call("umount2", "/a/l", uapi.UMOUNT_NOFOLLOW) == "EINVAL"
        assert r.call("umount2", "/a/l", 0) == 0

    def test_relative_absolute_dotdot(self, runner):
        """If a body is relative, then it starts in the link's directory; if absolute, at
        the process root (after chroot, the new root); ".." in a body climbs from there
        (source: pick_link(), nd_jump_root())."""
        r = runner
        assert r.call("mkdir", "/a/in", 0o755) == 0 and r.call("mkdir", "/b/in", 0o755) == 0
        assert r.call("symlink", "../b", "/a/up") == 0
        assert r.call("symlink", "/in", "/a/abs") == 0
        assert r.tmpfs("/a/up/in") == 0
        assert mountpoints(r)[-1] == "/b/in"
        assert r.call("chroot", "/a") == 0
        assert r.tmpfs("/abs") == 0                  # /in of the new root: /a/in
        assert mountpoints(r)[-1] == "/in"            # as the chrooted process sees it

    def test_forty_links(self, runner):
        """If a walk meets more than 40 links, then ELOOP; 40 are allowed (source:
        reserve_stack(): MAXSYMLINKS)."""
        r = runner
        for i in range(41):
            assert r.call("symlink", f"l{i + 1}" if i < 40 else "/b", f"/a/l{i}") == 0
        assert r.call("open", "/a/l1", O_PATH | O_DIRECTORY, 0, label=50) == 50
        assert r.call("open", "/a/l0", O_PATH | O_DIRECTORY, 0) == "ELOOP"
        assert r.call("symlink", "self", "/a/self") == 0
        assert r.call("chdir", "/a/self") == "ELOOP"
        assert r.call("chdir", "/a/self/x") == "ELOOP"

    def test_nosymfollow(self, runner):
        """If a link is on a nosymfollow mount, then following it is ELOOP; reading it and
        not following it still work (source: pick_link(): MNT_NOSYMFOLLOW)."""
        r = runner
        assert r.call("symlink", "/b", "/a/l") == 0
        assert r.bind("/a", "/c") == 0
        assert r.call("mount", None, "/c", None, MS_BIND | uapi.MS_REMOUNT | uapi.MS_NOSYMFOLLOW,
                      None) == 0
        assert r.call("chdir", "/c/l") == "ELOOP"
        assert r.call("chdir", "/a/l") == 0
        assert r.call("readlink", "/c/l", None, 10) == 2
        assert r.call("open", "/c/l", O_PATH | O_NOFOLLOW, 0, label=50) == 50

    def test_nofollow_flags(self, runner):
        """If open_tree() clones a symlink itself (AT_SYMLINK_NOFOLLOW), then moving that
        non-directory onto a directory is EINVAL (source: open_tree(): at_lookup_flags();
        do_move_mount(): d_is_dir() mismatch)."""
        r = runner
        assert r.call("symlink", "/b", "/a/l") == 0
        fd = r.call("open_tree", AT_FDCWD, "/a/l", uapi.OPEN_TREE_CLONE | uapi.AT_SYMLINK_NOFOLLOW,
                    label=60)
        assert fd == 60
        assert r.call("move_mount", fd, "", AT_FDCWD, "/c", uapi.MOVE_MOUNT_F_EMPTY_PATH) == "EINVAL"


class TestOpenLastLookups:
    def test_creat_through_dangling_link(self, runner):
        """If O_CREAT meets a dangling symlink, then the file is made where the link points;
        with O_EXCL, then EEXIST; with O_NOFOLLOW, then ELOOP (source: open_last_lookups(),
        do_open(), may_open(): S_IFLNK)."""
        r = runner
        assert r.call("symlink", "target", "/a/l") == 0
        assert r.call("open", "/a/l", O_CREAT | O_EXCL | O_WRONLY, 0o644) == "EEXIST"
        assert r.call("open", "/a/l", O_CREAT | O_NOFOLLOW | O_WRONLY, 0o644) == "ELOOP"
        assert r.call("open", "/a/l", O_CREAT | O_WRONLY, 0o644, label=50) == 50
        assert r.call("unlink", "/a/target") == 0

    def test_creat_errors(self, runner):
        """If O_CREAT names a directory or has a trailing slash, then EISDIR; O_EXCL on an
        existing file, then EEXIST; O_CREAT|O_DIRECTORY, then EINVAL (source:
        open_last_lookups(), do_open(), build_open_flags())."""
        r = runner
        touch(r, "/a/f")
        assert r.call("open", "/a", O_CREAT | O_WRONLY, 0o644) == "EISDIR"
        assert r.call("open", "/a/new/", O_CREAT | O_WRONLY, 0o644) == "EISDIR"
        assert r.call("open", "/a/f", O_CREAT | O_EXCL | O_WRONLY, 0o644) == "EEXIST"
        assert r.call("open", "/a/f", O_CREAT | uapi.O_TRUNC | O_WRONLY, 0o644, label=50) == 50
        assert r.call("open", "/a/g", O_CREAT | O_DIRECTORY, 0o644) == "EINVAL"

    def test_creat_through_links_to_dirs_and_missing(self, runner):
        """If O_CREAT follows a link to a directory (or whose body ends in '/'), then
        EISDIR; to a missing directory, then ENOENT; an existing target is opened (source:
        open_last_lookups(): the trailing-slash EISDIR, do_open())."""
        r = runner
        for body, name in (("/", "/a/root"), ("q/", "/a/slash"), ("missing/q", "/a/nodir"),
                           ("/b", "/a/dir")):
            assert r.call("symlink", body, name) == 0
        assert r.call("open", "/a/root", O_CREAT | O_WRONLY, 0o644) == "EISDIR"
        assert r.call("open", "/a/slash", O_CREAT | O_WRONLY, 0o644) == "EISDIR"
        assert r.call("open", "/a/dir", O_CREAT, 0o644) == "EISDIR"
        assert r.call("open", "/a/nodir", O_CREAT | O_WRONLY, 0o644) == "ENOENT"

    def test_nofollow(self, runner):
        """If O_NOFOLLOW opens a symlink, then ELOOP, unless O_PATH (source: may_open(),
        do_o_path())."""
        r = runner
        assert r.call("symlink", "/b", "/a/l") == 0
        assert r.call("open", "/a/l", O_NOFOLLOW, 0) == "ELOOP"
        assert r.call("open", "/a/l", O_NOFOLLOW | O_DIRECTORY, 0) == "ENOTDIR"
        assert r.call("open", "/a/l", O_PATH | O_NOFOLLOW, 0, label=50) == 50
        assert r.call("open", "/a/l", O_DIRECTORY, 0, label=51) == 51


class TestGraftTreeFiles:
    def test_file_binds(self, runner):
        """If a file is bound onto a file, then it mounts; a file onto a directory or back
        is ENOTDIR (source: fs/namespace.c:graft_tree(): d_is_dir() mismatch)."""
        r = runner
        touch(r, "/a/f"), touch(r, "/b/g")
        assert r.bind("/a/f", "/b/g") == 0
        assert r.bind("/a/f", "/c") == "ENOTDIR"
        assert r.bind("/c", "/a/f") == "ENOTDIR"
        assert mountpoints(r)[-1] == "/b/g"

    def test_move_file_mount(self, runner):
        """If a file mount is moved onto a directory, then EINVAL (source: do_move_mount():
        d_is_dir() mismatch)."""
        r = runner
        touch(r, "/a/f"), touch(r, "/b/g")
        assert r.bind("/a/f", "/b/g") == 0
        assert r.call("mount", "/b/g", "/c", None, uapi.MS_MOVE, None) == "EINVAL"


class TestDoMknodat:
    def test_kinds(self):
        """If a fifo, socket or regular node is made, then the name exists as that kind; a
        directory mode is EPERM, an unknown type EINVAL (source: do_mknodat(), may_mknod())."""
        r = model()
        assert r.call("mknod", "/a/p", uapi.S_IFIFO | 0o644, 0) == 0
        assert r.call("mknodat", AT_FDCWD, "/a/r", 0o644, 0) == 0
        assert r.call("mknod", "/a/p", uapi.S_IFIFO | 0o644, 0) == "EEXIST"
        assert r.call("mknod", "/a/d", uapi.S_IFDIR | 0o755, 0) == "EPERM"
        assert r.call("mknod", "/a/x", 0o170000, 0) == "EINVAL"
        assert r.call("unlink", "/a/p") == 0 and r.call("unlink", "/a/r") == 0

    def test_devices_need_cap_mknod(self):
        """If a device node is made without CAP_MKNOD, then EPERM; a char device 0:0 is a
        whiteout and needs none (source: vfs_mknod(): capable(CAP_MKNOD), is_whiteout)."""
        r = model()
        assert r.call("mknod", "/a/c", uapi.S_IFCHR | 0o666, 0x103) == 0
        assert r.call("setresuid", 1000, 1000, 1000) == 0
        assert r.call("mknod", "/c0", uapi.S_IFCHR | 0o666, 0x103) == "EPERM"
        assert r.call("mknod", "/b0", uapi.S_IFBLK | 0o666, 0x803) == "EPERM"
        assert r.call("mknod", "/w0", uapi.S_IFCHR | 0o666, 0) == 0


    def test_opening_a_socket_node_is_enxio_as_on_this_kernel(self, tmp_path):
        """If a socket node is opened, then ENXIO (a socket inode's open is no_open()), as
        this kernel answers for a node made in a temporary directory; O_PATH opens it."""
        import errno
        import os
        import stat
        node = tmp_path / "s"
        os.mknod(node, stat.S_IFSOCK | 0o644)
        with pytest.raises(OSError) as e:
            os.open(node, os.O_RDONLY)
        r = model()
        assert r.call("mknod", "/a/s", uapi.S_IFSOCK | 0o644, 0) == 0
        assert r.call("open", "/a/s", 0, 0) == errno.errorcode[e.value.errno] == "ENXIO"
        assert r.call("open", "/a/s", O_PATH, 0, label=9) == 9     # O_PATH opens nothing


def _step(name, *args):
    return Step(1, name, args)



START = "# start-mountinfo: 22 1 0:21 / / rw,relatime - tmpfs tmpfs rw\n"


def replays(body: str) -> list[str]:
    p = parse_text(START + body, "<t>")
    return replay(p, ModelBackend().start(p)).diffs


UNKNOWN = {
    "readlink-decides": 'readlink("/lib", "usr/lib", 1023) = 7\n'
                        'readlink("/lib", "usr/lib", 1023) = 7\n'
                        'mount("tmpfs", "/lib", "tmpfs", 0, NULL) = 0\n'
                        'umount2("/usr/lib", UMOUNT_NOFOLLOW) = 0\n',
    "walked-then-read": 'openat(AT_FDCWD, "/lib/x86_64/libc.so", O_RDONLY) = 3\n'
                        'readlink("/lib", "usr/lib", 1023) = 7\n'
                        'readlink("/usr", 0x7ffd854a96b0, 1023) = -1 EINVAL (Invalid argument)\n',
    "eloop-decides": 'openat(AT_FDCWD, "/etc/loop", O_RDONLY) = -1 ELOOP (Too many levels of symbolic links)\n'
                     'openat(AT_FDCWD, "/etc/loop", O_PATH|O_NOFOLLOW) = 3\n'
                     'openat(AT_FDCWD, "/etc/loop", O_RDONLY|O_NOFOLLOW) = -1 ELOOP (Too many levels of symbolic links)\n',
    "unlink-decides": 'unlink("/etc/x") = 0\n'
                      'unlink("/etc/x") = -1 ENOENT (No such file or directory)\n'
                      'unlink("/etc/y") = -1 EISDIR (Is a directory)\n'
                      'rmdir("/etc/y") = 0\n',
    "rename-decides": 'rename("/srv/a", "/srv/b") = 0\n'
                      'readlink("/srv/b", "target", 100) = 6\n'
                      'rename("/srv/a", "/srv/c") = -1 ENOENT (No such file or directory)\n'
                      'rmdir("/srv/full") = -1 ENOTEMPTY (Directory not empty)\n',
    "proc-self": 'mount("proc", "/proc", "proc", 0, NULL) = 0\n'
                 'readlink("/proc/self", "1", 1023) = 1\n'
                 'readlink("/proc", 0x7ffd854a96b0, 1023) = -1 EINVAL (Invalid argument)\n',
}


class TestUnknownContents:
    @pytest.mark.parametrize("name", sorted(UNKNOWN))
    def test_recorded_results_decide(self, name):
        """If a name in a directory of unknown contents is read as a link (readlink's
        success), refused with ELOOP, unlinked or renamed, then the recorded result decides
        what it is and the replay agrees with every later result (source: issue 11, "the
        recorded results are the oracle"; /proc/self: proc_self_get_link())."""
        assert replays(UNKNOWN[name]) == []
