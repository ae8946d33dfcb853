"""syscalls/__init__.py: the table of handlers, some of whose modules load on first use.

The oracle is the modules themselves: once every syscalls/*.py is imported, each name a
module registers (or that LAZY names) must resolve through handler() to that module's
function, and is_modelled() must agree with handler().
"""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import pytest

import mountsim.syscalls as sc


def all_modules() -> None:
    for m in pkgutil.iter_modules(sc.__path__):
        importlib.import_module(f"mountsim.syscalls.{m.name}")


def test_every_registered_name_is_known_before_its_module_loads():
    """If every syscall module is imported, then each name it registered is in the eager
    TABLE or in LAZY, so is_modelled() knows it before the module is loaded."""
    all_modules()
    eager = {"mount", "umount2", "mkdir", "mkdirat", "open", "openat", "creat",
             "close", "write", "read", "lseek", "umask", "dup", "dup2", "dup3", "fcntl", "openat2"}
    assert set(sc.TABLE) - eager <= set(sc.LAZY)
    assert not eager & set(sc.LAZY)


@pytest.mark.parametrize("name", sorted(sc.LAZY))
def test_lazy_entry_is_its_modules_function(name):
    """If a LAZY name is dispatched, then the handler is the named function of the named
    module — the one that module registers, if it registers itself."""
    all_modules()
    module, attr = sc.LAZY[name]
    fn = getattr(importlib.import_module(f"mountsim.syscalls.{module}"), attr)
    assert sc.handler(name) is fn
    assert sc.is_modelled(name)


def test_unknown_name_is_keyerror():
    """If a name is not modelled, then handler() raises KeyError and is_modelled() says no,
    as the plain table did."""
    with pytest.raises(KeyError):
        sc.handler("frobnicate")
    assert not sc.is_modelled("frobnicate")
    assert all(sc.is_modelled(n)
               for n in ("fork", "vfork", "clone", "clone3", "exit", "exit_group"))


def test_modules_load_on_first_use():
    """If a fresh interpreter loads the table, then only file and mount are imported; a
    mount_setattr dispatch loads setattr (and what it imports), not stat or dirops."""
    code = ("import sys, mountsim.syscalls as sc\n"
            "before = sorted(m for m in sys.modules if m.startswith('mountsim.syscalls.'))\n"
            "sc.handler('mount_setattr')\n"
            "after = sorted(m for m in sys.modules if m.startswith('mountsim.syscalls.'))\n"
            "print(before); print(after)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120).stdout.splitlines()
    assert out[0] == str(["mountsim.syscalls.file", "mountsim.syscalls.mount"])
    assert "mountsim.syscalls.setattr" in out[1] and "mountsim.syscalls.fscontext" in out[1]
    assert "mountsim.syscalls.stat" not in out[1] and "mountsim.syscalls.dirops" not in out[1]
