"""versions.py is the only place a kernel version number appears (style rule, made checkable)."""

import pathlib
import re

import mountsim
from mountsim.versions import KERNELS, Semantics, semantics

PKG = pathlib.Path(mountsim.__file__).parent
VERSION_LITERAL = re.compile(r"""["'](?:[4-9]|1\d)\.\d{1,2}["']""")


class TestVersionTable:
    def test_no_version_literals_outside_versions_py(self):
        """If a module compared kernel versions itself, then semantics would drift out of the
        table; so no string like "6.18" may appear in code outside versions.py (source: the
        style card, "Versioned semantics")."""
        offenders = []
        for path in PKG.rglob("*.py"):
            if path.name == "versions.py":
                continue
            for n, line in enumerate(path.read_text().splitlines(), 1):
                code = line.split("#", 1)[0]
                if VERSION_LITERAL.search(code) and '"""' not in line:
                    offenders.append(f"{path.relative_to(PKG)}:{n}: {line.strip()}")
        assert offenders == []

    def test_default_is_host_kernel(self):
        """If no version is asked for, then the machine's kernel (6.18) is simulated."""
        assert semantics(None) is KERNELS["6.18"]
        assert isinstance(semantics(None), Semantics)

    def test_unknown_version(self):
        """If an unknown version is asked for, then KeyError (the CLI turns it into exit 2)."""
        try:
            semantics("2.4")
        except KeyError:
            return
        raise AssertionError("expected KeyError")
