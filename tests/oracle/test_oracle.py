"""goruntime vs the real Go 1.27.3 runtime, one test per scenario.

Each test runs the Go program of ``go/main.go`` and its twin in ``scenarios.py``
and requires every field to agree, exactly or within the tolerance declared
next to the scenario. The module is skipped only while goruntime's public API
does not exist yet (``import goruntime; goruntime.new`` fails); from then on a
missing feature or a wrong number is a failure.
"""
import pytest

import harness

try:
    import goruntime

    goruntime.new  # noqa: B018 - the API's presence is the question
except (ImportError, AttributeError) as exc:
    harness.REPORT.not_compared_reason = f"goruntime API not built yet: {exc}"
    pytest.skip(harness.REPORT.not_compared_reason, allow_module_level=True)

import scenarios  # noqa: E402 - needs goruntime

pytestmark = pytest.mark.oracle


def _scenarios():
    known = scenarios.KNOWN_DIFFERENCES
    return [pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=known[n])) if n in known else n
            for n in scenarios.REGISTRY]


@pytest.mark.parametrize("name", _scenarios())
def test_same_numbers_as_go(name, go_oracle):
    go = go_oracle.run(name)
    try:
        py = scenarios.run(name)
    except Exception as exc:
        harness.REPORT.add_error(name, f"{type(exc).__name__}: {exc}")
        raise
    rows = harness.compare(name, go, py, scenarios.REGISTRY[name].tolerances,
                           harness.recorded_ranges(name), harness.recorded_flat(name))
    harness.REPORT.add_comparison(name, rows)
    assert not any(r.failed for r in rows), (
        f"goruntime differs from Go 1.27.3 in scenario {name}:\n{harness.describe_failures(rows)}"
    )


def test_the_twins_run_with_the_go_binarys_globals(go_oracle):
    """The scenarios' runtime declares the oracle binary's scannable globals (a process
    input of every Go scenario): they change whenever the Go corpus grows, so they are
    checked against what the live binary reports (/gc/scan/globals:bytes)."""
    live = go_oracle.run("gogc_goal_small")["gogc0"]["globals"]
    assert scenarios.BASE_RUNTIME["globals_bytes"] == scenarios.ORACLE_GLOBALS == live, (
        f"set scenarios.ORACLE_GLOBALS = {live} (the Go oracle binary's data+BSS)")
