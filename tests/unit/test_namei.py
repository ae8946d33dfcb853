"""namei.py: the limits of a path (getname_flags(), the filesystems' ->lookup()).

Each test runs on the model and on the live kernel (the `runner` fixture): the errno is
the kernel's (path_resolution(7), mkdir(2), mount(2): ENAMETOOLONG "pathname was too long").
"""

from __future__ import annotations

from mountsim import uapi

LONG = "n" * 256                      # NAME_MAX + 1
OK = "n" * 255


class TestGetname:
    def test_path_of_path_max_bytes(self, runner):
        """If a path has PATH_MAX (4096) bytes or more with its NUL, then ENAMETOOLONG before
        any lookup (getname_flags(): strncpy_from_user() filled the whole buffer)."""
        long_path = "/a" + "/." * 2047            # 4096 bytes: with the NUL, over PATH_MAX
        assert runner.call("mkdir", long_path + "/x", 0o755) == "ENAMETOOLONG"
        assert runner.call("chdir", long_path) == "ENAMETOOLONG"
        assert runner.call("chdir", long_path[:-1]) == 0   # 4095 bytes + NUL: fits

    def test_null_and_empty(self, runner):
        """If the name is empty, then ENOENT (getname_flags(), no LOOKUP_EMPTY)."""
        assert runner.call("chdir", "") == "ENOENT"


class TestNameMax:
    def test_mkdir_component_over_name_max(self, runner):
        """If mkdir's last component is longer than NAME_MAX on tmpfs, then ENAMETOOLONG
        (simple_lookup()); NAME_MAX itself is fine."""
        assert runner.call("mkdir", "/a/" + LONG, 0o755) == "ENAMETOOLONG"
        assert runner.call("mkdir", "/a/" + OK, 0o755) == 0

    def test_walk_component_over_name_max(self, runner):
        """If a middle component is too long, then ENAMETOOLONG rather than ENOENT (the
        directory's ->lookup() refuses it before answering that it is missing)."""
        assert runner.call("mount", "tmpfs", "/a/" + LONG + "/x", "tmpfs", 0, None) == "ENAMETOOLONG"

    def test_mkdir_existing_wins_over_read_only(self, runner):
        """If the last component exists, then EEXIST even on a read-only mount, but a too
        long one on a read-only mount is ENAMETOOLONG (filename_create(): the lookup's error
        comes before mnt_want_write()'s)."""
        assert runner.call("mount", "tmpfs", "/b", "tmpfs", uapi.MS_RDONLY, None) == 0
        assert runner.call("mkdir", "/b/" + LONG, 0o755) == "ENAMETOOLONG"
        assert runner.call("mkdir", "/b/x", 0o755) == "EROFS"

    def test_proc_answers_enoent(self, runner):
        """If the directory is proc's, then a too-long name is simply missing: ENOENT
        (proc_root_lookup() has no NAME_MAX check)."""
        assert runner.call("mount", "proc", "/c", "proc", 0, None) == 0
        assert runner.call("chdir", "/c/" + LONG) == "ENOENT"


class TestProcCreate:
    def test_o_creat_of_a_new_name_in_proc(self, runner):
        """If open(O_CREAT) names a missing entry of a proc directory, then ENOENT: proc's
        ->lookup() fails the name instead of leaving a negative dentry, so lookup_open()
        never reaches ->create() (fs/proc/root.c proc_root_lookup(); found by the 7.0 VM
        campaign, and the same on 6.18)."""
        assert runner.call("mount", "proc", "/c", "proc", 0, None) == 0
        assert runner.call("openat", uapi.AT_FDCWD, "/c/newfile",
                           uapi.O_WRONLY | uapi.O_CREAT, 0o644) == "ENOENT"


class TestNosymfollowProc:
    def test_proc_self_is_a_symlink(self, runner):
        """If proc is mounted nosymfollow, then following /proc/self is ELOOP, while opening
        the link itself (O_NOFOLLOW|O_PATH) works: proc's self is a symlink like any other
        (pick_link(): MNT_NOSYMFOLLOW; found by the record/replay round trip)."""
        assert runner.call("mount", "proc", "/c", "proc", uapi.MS_NOSYMFOLLOW, None) == 0
        assert runner.call("openat", uapi.AT_FDCWD, "/c/self/mountinfo", uapi.O_RDONLY) == "ELOOP"
        assert runner.call("openat", uapi.AT_FDCWD, "/c/self",
                           uapi.O_RDONLY | uapi.O_NOFOLLOW | uapi.O_PATH, label=7) == 7
