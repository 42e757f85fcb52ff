"""Shared fixtures: a fresh Runtime per test, and the spec 2.3 invariants as a checker."""
import os

import pytest

import goruntime as rt

os.environ.setdefault("GOTOOLCHAIN", "local")


@pytest.fixture
def runtime():
    """A fresh runtime, current for the test, with Go's gccheckmark verification on."""
    with rt.Runtime(godebug="gccheckmark=1", arena_cap=2 << 30) as r:
        yield r
    r.close()


from gocheck import MODES, check_invariants, go_binary  # noqa: E402,F401


@pytest.fixture(params=MODES)
def mode(request):
    """Both scheduler modes: "cooperative" (deterministic) and "threads" (real threads)."""
    return request.param


@pytest.fixture
def r(mode):
    """A fresh runtime in *mode*, current for the test, with gccheckmark verification."""
    with rt.Runtime(scheduler=mode, godebug="gccheckmark=1", arena_cap=2 << 30) as r:
        yield r
    r.close()
