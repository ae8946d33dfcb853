"""Fixtures: `runner` runs a test body on the model and, where possible, on the live kernel;
a session-wide guard checks that nothing reached the host's mount table.

The guard reads this process's /proc/self/mountinfo before the first test and after the
last one and compares the texts exactly: nothing a sandbox (live backend, `record`) does
may reach the host.
"""

from __future__ import annotations

import pytest

from mountsim.backends.model import ModelBackend
from mountsim.trace.program import Program
from tests.helpers import Runner

DIRS = ["/a", "/b", "/c", "/d"]


def pytest_configure(config):
    """pytest-xdist (`./dev test -n 2`): plain `-n` means `--dist load`; make it `loadgroup`
    (the same for ungrouped tests) so the groups below each stay on one worker."""
    if getattr(config.option, "dist", "no") == "load":
        config.option.dist = "loadgroup"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Under xdist, every VM test runs on one worker: its guests (one per kernel series,
    booted once per session by `vm_backend`) and the kernel downloads are not doubled."""
    for item in items:
        if item.get_closest_marker("vm"):
            item.add_marker(pytest.mark.xdist_group("vm"))


def _host_mountinfo() -> str:
    with open("/proc/self/mountinfo") as f:
        return f.read()


@pytest.fixture(scope="session", autouse=True)
def host_mountinfo_unchanged():
    """The host's mount table is exactly the same after the test session."""
    before = _host_mountinfo()
    yield before
    assert _host_mountinfo() == before, "a test changed the host's mount table"


@pytest.fixture(scope="session")
def live_backend():
    """One LiveBackend (one zygote) for the whole session; closed at the end."""
    from mountsim.backends.live import LiveBackend
    backend = LiveBackend()
    yield backend
    backend.close()


@pytest.fixture
def live(live_backend):
    """The live backend, or a skip with its one-line reason."""
    why = live_backend.unavailable()
    if why:
        pytest.skip(why)
    return live_backend


@pytest.fixture(scope="session")
def vm_backends():
    """Series -> VmBackend (a QEMU guest), shared by the session; at the end every guest is
    stopped and its qemu process must be gone."""
    from tests.helpers import qemu_alive
    backends: dict = {}
    yield backends
    pids = [b.vm.pid for b in backends.values() if b.vm is not None]
    for b in backends.values():
        b.close()
    left = [p for p in pids if qemu_alive(p)]
    assert not left, f"qemu processes left after close: {left}"


@pytest.fixture(scope="session")
def vm_backend(vm_backends):
    """vm_backend("7.1"): the session's guest running that Debian kernel series (booted on
    first use, then reused), or a skip with the backend's one-line reason."""
    from mountsim.backends.vm import VmBackend

    def get(series: str):
        if series not in vm_backends:
            vm_backends[series] = VmBackend(series)
        b = vm_backends[series]
        why = b.unavailable()
        if why:
            pytest.skip(why)
        return b
    return get


@pytest.fixture(params=["model", pytest.param("live", marks=pytest.mark.live)])
def runner(request):
    """A Runner on a fresh session whose start state is the model host plus /a /b /c /d."""
    program = Program(start_dirs=list(DIRS))
    if request.param == "model":
        session = ModelBackend().start(program)
    else:
        session = request.getfixturevalue("live").start(program)
    yield Runner(session)
    session.close()
