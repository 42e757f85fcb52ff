"""GC observers (``Runtime.add_gc_observer``): the events, their order and numbers, what an
observer may do, and what happens when one raises (reported, the cycle unaffected)."""
import io
import sys

import pytest

import goruntime as rt
from goruntime import mgc

Node = rt.Struct("ObsNode", next=rt.Ptr("ObsNode"), pad=rt.Array(rt.Int, 30))


def churn(n, keep_every=8):
    keep = []
    for i in range(n):
        x = rt.new(Node)
        if i % keep_every == 0:
            keep.append(x)
    return keep


def cycles(events):
    """{cycle: [phases in order]}"""
    out = {}
    for e in events:
        out.setdefault(e.cycle, []).append(e.phase)
    return out


def test_every_cycle_passes_the_four_boundaries_in_order():
    with rt.Runtime(gogc=50) as r:
        events = []
        ob = events.append
        assert r.add_gc_observer(ob) is ob
        keep = churn(40000)
        rt.GC()
        del keep
    n = r.gc_record.num_gc
    assert n >= 3
    assert cycles(events) == {c: list(mgc.PHASES) for c in range(1, n + 1)}
    assert all(isinstance(e, mgc.CycleEvent) for e in events)
    assert events[-1].kind == "cycle" and any(e.kind == "heap" for e in events)


def test_event_numbers_are_the_cycle_s():
    with rt.Runtime(gogc=100) as r:
        events = []
        r.add_gc_observer(events.append)
        keep = churn(5000)
        before = r.heap.counters()["heap_live"]
        rt.GC()
        m = rt.ReadMemStats()
        del keep
    st, ms, mt, sd = [e for e in events if e.cycle == m.NumGC]
    assert st.phase == mgc.SWEEP_TERMINATION and st.kind == "cycle"
    assert st.heap_live == before                         # gctrace's first heap figure
    assert st.heap_marked == st.scan_work == 0
    # pauses: STW #1 then STW #2; their sum is the PauseNs entry of this cycle
    assert st.pause_ns > 0 and mt.pause_ns > 0 and ms.pause_ns == 0
    assert sd.pause_ns == st.pause_ns + mt.pause_ns == m.PauseNs[(m.NumGC + 255) % 256]
    assert mt.heap_marked > 0 and mt.scan_work > 0 and mt.mark_cpu_ns > 0
    assert sd.heap_live == mt.heap_marked                 # heapLive = heapMarked after the cycle
    assert sd.heap_goal == m.NextGC and sd.trigger <= sd.heap_goal
    assert st.nanotime <= ms.nanotime <= mt.nanotime <= sd.nanotime
    assert st.wall_ns <= sd.wall_ns
    assert sd.gc_cpu_fraction == pytest.approx(m.GCCPUFraction)


def test_observing_does_not_change_the_run():
    def run(observe):
        with rt.Runtime(gogc=50) as r:
            if observe:
                r.add_gc_observer(lambda e: rt.ReadMemStats())   # even a flushing read
            keep = churn(30000)
            del keep
            rt.GC()
            m = rt.ReadMemStats()
            return m.NumGC, m.TotalAlloc, m.HeapAlloc, m.NextGC, m.PauseTotalNs
    assert run(True)[:4] == run(False)[:4]


def test_remove_gc_observer():
    with rt.Runtime() as r:
        events = []
        r.add_gc_observer(events.append)
        rt.GC()
        r.remove_gc_observer(events.append)
        rt.GC()
        assert [e.cycle for e in events] == [1] * 4
        with pytest.raises(ValueError):
            r.remove_gc_observer(events.append)
        with pytest.raises(TypeError):
            r.add_gc_observer(42)


def test_an_observer_that_raises_is_reported_and_the_cycle_completes(monkeypatch):
    reports = []
    monkeypatch.setattr(sys, "unraisablehook", reports.append)
    with rt.Runtime() as r:
        seen = []

        def bad(e):
            if e.phase == mgc.MARK_TERMINATION:
                raise RuntimeError("observer bug")

        r.add_gc_observer(bad)
        r.add_gc_observer(seen.append)          # later observers still get every event
        keep = churn(2000)
        rt.GC()                                 # does not raise
        rt.GC()
        m = rt.ReadMemStats()
        del keep
    assert m.NumGC == 2 and cycles(seen) == {1: list(mgc.PHASES), 2: list(mgc.PHASES)}
    assert [type(u.exc_value) for u in reports] == [RuntimeError, RuntimeError]
    assert "GC observer" in reports[0].err_msg and "cycle 1" in reports[0].err_msg
    assert reports[0].object is bad
    assert not r.gc_running and m.HeapAlloc > 0


def test_an_observer_may_run_a_gc_and_events_stay_in_order():
    with rt.Runtime() as r:
        events = []

        def again(e):
            events.append((e.cycle, e.phase))
            if e.cycle == 1 and e.phase == mgc.SWEEP_DONE:
                rt.GC()                         # a nested cycle: delivered after this one

        r.add_gc_observer(again)
        rt.GC()
    assert events == [(c, p) for c in (1, 2) for p in mgc.PHASES]


def test_gctrace_is_an_observer():
    buf = io.StringIO()
    with rt.Runtime(godebug="gctrace=1", stderr=buf) as r:
        lines = []
        t = r.add_gc_observer(r.gctracer(lines.append))
        keep = churn(40000)
        rt.GC()
        r.remove_gc_observer(t)
        rt.GC()
        del keep
    printed = buf.getvalue().splitlines()
    assert len(printed) == r.gc_record.num_gc and printed[:-1] == lines
    assert printed[-1].startswith(f"gc {r.gc_record.num_gc} ") and printed[-1].endswith("(forced)")
