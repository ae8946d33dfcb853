"""native.build(): a C program compiled into the project cache once per content of its source
and of the headers it includes (spawner.c and zygote.c share fdpass.h)."""

from __future__ import annotations

import subprocess

import pytest

from mountsim import native


@pytest.mark.skipif(native.find_gcc() is None, reason="needs gcc")
def test_a_build_depends_on_the_headers_it_includes(tmp_path, monkeypatch):
    """If a header the program includes changes, then the next build is a new binary that
    uses it; with nothing changed, the same binary is returned without compiling."""
    monkeypatch.setenv("MOUNTSIM_CACHE", str(tmp_path / "cache"))
    src, hdr = tmp_path / "p.c", tmp_path / "p.h"
    hdr.write_text("#define N 1\n")
    src.write_text('#include "p.h"\nint main(void) { return N; }\n')
    first = native.build(src, "t", headers=(hdr,))
    assert subprocess.run([first]).returncode == 1
    assert native.build(src, "t", headers=(hdr,)) == first
    hdr.write_text("#define N 2\n")
    second = native.build(src, "t", headers=(hdr,))
    assert second != first and subprocess.run([second]).returncode == 2


def test_a_missing_header_is_one_line(tmp_path, monkeypatch):
    """If a header named is missing, then the build fails with one line naming it."""
    monkeypatch.setenv("MOUNTSIM_CACHE", str(tmp_path / "cache"))
    src = tmp_path / "p.c"
    src.write_text("int main(void) { return 0; }\n")
    with pytest.raises(native.BuildError) as e:
        native.build(src, "t", headers=(tmp_path / "gone.h",))
    assert "gone.h" in str(e.value) and "\n" not in str(e.value)
