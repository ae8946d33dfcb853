"""Fixtures for the live-kernel tests: a shared LiveBackend, and a guard on the host table.

The guard reads this process's /proc/self/mountinfo before the first test and after the
last one and compares the texts exactly: nothing a sandbox does may reach the host.
"""

from __future__ import annotations

import pytest

from mountsim.backends.live import LiveBackend


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
def _live_backend():
    backend = LiveBackend()
    yield backend
    backend.close()


@pytest.fixture
def live(_live_backend) -> LiveBackend:
    """The live backend, or a skip with its one-line reason."""
    why = _live_backend.unavailable()
    if why:
        pytest.skip(why)
    return _live_backend
