"""The workload kernels' allocation fast path changes nothing but speed.

The tree kernels (binary-trees, GCBench) allocate through an inline copy of the
allocation fast path (`_workloads.node_take`: Go's nextFreeFast plus the pointer bits of
mallocgcSmallScanNoHeader, its counts added per alloc-bit word by `node_flush`) and fall
back to ``mallocgc_typed`` only for a refill.
``_workloads.fast_alloc(False)`` sends every allocation through ``mallocgc_typed``. Both
ways must give the same run: every gctrace and gcpacertrace line, every MemStats field,
the virtual clock, the program's output, and the heap itself (span table, alloc and mark
bits, the arena's bytes). Drawn over the knobs that move the GC's decisions (GOGC, GOMAXPROCS,
GOMEMLIMIT) on small workloads, so a cycle starts and its mark steps fall at many
different allocations.
"""
import io

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import goruntime as rt
from goruntime import workloads as wl
from goruntime.workloads import _workloads



def _run(fast, work, **knobs):
    """One run of *work* on a fresh runtime; everything a run is judged by."""
    old = _workloads.fast_alloc(fast)
    err = io.StringIO()
    try:
        r = rt.Runtime(godebug="gctrace=1,gcpacertrace=1", stderr=err, arena_cap=1 << 30,
                       **knobs)
        with r:
            s = work(r)
            clock = r.clock.nanotime()
            m = r.read_mem_stats()
            h = r.heap
            heap = (h.spans.copy(), h.alloc_bits.copy(), h.gcmark_bits.copy(),
                    h.arena[:h.mapped_bytes].copy(), h.counters(),
                    h.mutator_counts(), h.heap_live, h.trigger)
    finally:
        _workloads.fast_alloc(old)
    stats = dict(vars(m))
    stats.pop("_clock", None)
    last = stats.pop("LastGC")                     # wall-clock based: kept relative
    stats["PauseEnd"] = [e - last if e else 0 for e in stats["PauseEnd"]]
    stats["BySize"] = [(e.Size, e.Mallocs, e.Frees) for e in stats["BySize"]]
    summary = {k: v for k, v in s.items() if k != "wall_seconds"}
    r.close()
    return clock, stats, err.getvalue().splitlines(), summary, heap


def _assert_same(a, b):
    clock_a, stats_a, trace_a, summary_a, heap_a = a
    clock_b, stats_b, trace_b, summary_b, heap_b = b
    assert trace_a == trace_b
    assert stats_a == stats_b
    assert clock_a == clock_b
    assert summary_a == summary_b
    for x, y in zip(heap_a, heap_b):
        if isinstance(x, np.ndarray):
            assert x.dtype == y.dtype and np.array_equal(x, y)
        else:
            assert x == y


def _work(kind, depth):
    if kind == "binary_trees":
        return lambda r: wl.binary_trees(depth, runtime=r)
    return lambda r: wl.gcbench(runtime=r, stretch_tree_depth=depth + 2,
                                long_lived_tree_depth=depth, array_size=20000,
                                min_tree_depth=4, max_tree_depth=depth)


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(kind=st.sampled_from(["binary_trees", "gcbench"]), depth=st.integers(11, 13),
       gogc=st.sampled_from([10, 25, 50, 100]), procs=st.sampled_from([1, 2]),
       limit=st.sampled_from([None, "4MiB", "16MiB"]))
def test_fast_path_gives_the_same_run(kind, depth, gogc, procs, limit):
    knobs = dict(gogc=gogc, gomaxprocs=procs, memory_limit=limit)
    fast = _run(True, _work(kind, depth), **knobs)
    slow = _run(False, _work(kind, depth), **knobs)
    assert fast[1]["NumGC"] > 0                 # the runs do collect
    _assert_same(fast, slow)


@pytest.mark.parametrize("kind,depth", [("binary_trees", 14), ("gcbench", 12)])
def test_fast_path_gives_the_same_run_default_knobs(kind, depth):
    fast = _run(True, _work(kind, depth))
    slow = _run(False, _work(kind, depth))
    assert fast[1]["NumGC"] >= 5 and len(fast[2]) >= 5
    _assert_same(fast, slow)


def test_fast_alloc_switch_is_restored():
    old = _workloads.fast_alloc()
    assert _workloads.fast_alloc(not old) == old
    assert _workloads.fast_alloc(old) == (not old)
    assert _workloads.fast_alloc() == old
