"""Fixtures: `runner` runs a test body on the model and, where possible, on the live kernel."""

from __future__ import annotations

import pytest

from mountsim.backends.model import ModelBackend
from mountsim.trace.program import Program
from tests.helpers import Runner

DIRS = ["/a", "/b", "/c", "/d"]


def _live_backend():
    try:
        from mountsim.backends.live import LiveBackend
    except ImportError as e:          # pragma: no cover - only while the backend is missing
        return None, f"live backend not importable: {e}"
    b = LiveBackend()
    return b, b.unavailable()


@pytest.fixture(params=["model", pytest.param("live", marks=pytest.mark.live)])
def runner(request):
    """A Runner on a fresh session whose start state is the model host plus /a /b /c /d."""
    program = Program(start_dirs=list(DIRS))
    if request.param == "model":
        session = ModelBackend().start(program)
    else:
        backend, why = _live_backend()
        if why:
            pytest.skip(why)
        session = backend.start(program)
    yield Runner(session)
    session.close()
