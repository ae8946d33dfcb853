"""trace/normalise.py: renumbering rules, checked on hand-built mountinfo text.

Every expected text below is written out by applying the module docstring's rule by hand
(mount ids, then hidden parents p1…, peer groups, devices, each in order of first
appearance), not by running the code.
"""

from __future__ import annotations

from mountsim.trace.normalise import normalise, side_by_side, tree_rows

KERNEL = (
    "63 42 0:39 / / rw,relatime shared:7 - tmpfs tmpfs rw\n"
    "70 63 0:45 / /a rw,relatime shared:12 - tmpfs none rw\n"
    "71 63 0:45 / /b rw,relatime master:12 propagate_from:7 - tmpfs none rw\n"
    "72 70 0:39 /sub /a/x rw,relatime - tmpfs tmpfs rw\n"
)


class TestNormalise:
    def test_renumbers_every_family(self):
        """If ids, groups and devices are the kernel's, then each becomes 1, 2, 3… by first
        appearance; the unseen parent 42 becomes p1 (source: the module's rule)."""
        assert normalise(KERNEL) == (
            "1 p1 0:1 / / rw,relatime shared:1 - tmpfs tmpfs rw\n"
            "2 1 0:2 / /a rw,relatime shared:2 - tmpfs none rw\n"
            "3 1 0:2 / /b rw,relatime master:2 propagate_from:1 - tmpfs none rw\n"
            "4 2 0:1 /sub /a/x rw,relatime - tmpfs tmpfs rw\n"
        )

    def test_model_and_kernel_numbers_agree(self):
        """If two tables differ only in their numbers, then they normalise equal."""
        model = (
            "3 1 0:3 / / rw,relatime shared:1 - tmpfs tmpfs rw\n"
            "4 3 0:4 / /a rw,relatime shared:2 - tmpfs none rw\n"
            "5 3 0:4 / /b rw,relatime master:2 propagate_from:1 - tmpfs none rw\n"
            "6 4 0:3 /sub /a/x rw,relatime - tmpfs tmpfs rw\n"
        )
        assert normalise(model) == normalise(KERNEL)

    def test_parent_listed_later(self):
        """If a parent's own line comes later, then the parent gets that line's number
        (mount ids are numbered in a first pass)."""
        text = "9 8 0:5 / /x rw - tmpfs t rw\n8 1 0:5 / / rw - tmpfs t rw\n"
        assert normalise(text) == "1 2 0:1 / /x rw - tmpfs t rw\n2 p1 0:1 / / rw - tmpfs t rw\n"

    def test_one_mapping_across_tables(self):
        """If several processes' tables are joined with headers, then headers pass through
        and a mount id seen twice (a shared namespace) keeps one number."""
        text = ("== pid 1\n50 40 0:9 / / rw - tmpfs t rw\n"
                "== pid 2\n50 40 0:9 / / rw - tmpfs t rw\n60 41 0:9 / / rw - tmpfs t rw\n")
        assert normalise(text) == ("== pid 1\n1 p1 0:1 / / rw - tmpfs t rw\n"
                                   "== pid 2\n1 p1 0:1 / / rw - tmpfs t rw\n"
                                   "2 p2 0:1 / / rw - tmpfs t rw\n")

    def test_no_trailing_newline_kept(self):
        """If the text lacks a final newline, then so does the result."""
        assert normalise("5 4 0:2 / / rw - tmpfs t rw") == "1 p1 0:1 / / rw - tmpfs t rw"


class TestTreeRows:
    def test_rows_like_expect_tree(self):
        """If shared:7 appears before shared:12, then they become 1 and 2; a master of 12
        is master:2; a private mount has () (source: expect-tree blocks in models/)."""
        assert tree_rows(KERNEL) == [
            ("/", "tmpfs", ("shared:1",)),
            ("/a", "tmpfs", ("shared:2",)),
            ("/b", "tmpfs", ("master:2", "propagate_from:1")),
            ("/a/x", "tmpfs", ()),
        ]

    def test_unbindable_and_escapes(self):
        """If a mountpoint has an escaped space, then the row has the real path; the
        unbindable word is kept (source: fs/proc_namespace.c mangle(), show_mountinfo())."""
        text = "3 1 0:3 / /a\\040b rw unbindable - tmpfs tmpfs rw\n"
        assert tree_rows(text) == [("/a b", "tmpfs", ("unbindable",))]


class TestSideBySide:
    def test_marks_differences(self):
        """If one line differs after normalising, then only that line is marked."""
        a = "3 1 0:3 / / rw - tmpfs t rw\n4 3 0:4 / /a rw shared:1 - tmpfs t rw\n"
        b = "63 42 0:39 / / rw - tmpfs t rw\n70 63 0:45 / /a rw - tmpfs t rw\n"
        out = side_by_side(a, b, width=40).splitlines()
        assert out[0].split() == ["model", "live"]
        assert " | " not in out[1] and " | " in out[2]
