"""Process state beyond the heap (issue 15, items 5 and 9), at the unit level.

The oracle scenarios ``nonheap_memory*`` and ``process_state_metrics`` compare the same
quantities with real Go 1.27.3; these tests pin the rules themselves.
"""
import pytest

import goruntime as rt
from goruntime import metrics, mstats


def _rt(**kw):
    return rt.Runtime(gomaxprocs=kw.pop("gomaxprocs", 1), scheduler="cooperative", clock="virtual", **kw)


def _read(*names):
    s = [metrics.Sample(n) for n in names]
    metrics.Read(s)
    return [x.Value for x in s]


def test_globals_is_a_knob_with_gos_minimal_binary_as_default():
    with _rt():
        rt.GC()
        assert _read("/gc/scan/globals:bytes")[0].Uint64() == 158314
    with _rt(globals_bytes=1 << 20):
        rt.GC()
        g, total = _read("/gc/scan/globals:bytes", "/gc/scan/total:bytes")
        assert g.Uint64() == 1 << 20 and total.Uint64() >= 1 << 20
        # GOGC=100: the goal counts the globals (heap_marked + (marked + stack + globals))
        assert rt.ReadMemStats().NextGC >= 1 << 20
    for bad, exc in ((-1, ValueError), ("1", TypeError), (True, TypeError)):
        with pytest.raises(exc):
            _rt(globals_bytes=bad)


@pytest.mark.parametrize("procs, idle", [(1, 7), (2, 8), (4, 10)])
def test_system_goroutines_counted_like_go(procs, idle):
    with _rt(gomaxprocs=procs):
        assert _read("/sched/goroutines:goroutines")[0].Uint64() == 6     # before any GC
        rt.GC()
        assert _read("/sched/goroutines:goroutines")[0].Uint64() == idle  # + mark workers
        threads = _read("/sched/threads/total:threads")[0].Uint64()
        assert threads == (3 if procs == 1 else 5)


def test_latencies_sample_one_transition_in_eight():
    with _rt():
        ch = rt.Chan()
        for _ in range(80):
            rt.go(lambda: ch.recv())
        before = sum(_read("/sched/latencies:seconds")[0].Float64Histogram().Counts)
        rt.Gosched()
        after = sum(_read("/sched/latencies:seconds")[0].Float64Histogram().Counts)
        assert 8 <= after - before <= 12            # 80 first runs, ids 2..81: 10 tracked
        ch.close()
        assert _read("/sync/mutex/wait/total:seconds")[0].Float64() == 0.0
        assert _read("/cgo/go-to-c-calls:calls")[0].Uint64() == 0


def test_nonheap_memory_starts_where_go_does_and_never_shrinks():
    with _rt() as r:
        m0 = rt.ReadMemStats()
        assert m0.BuckHashSys == 2371 + 179999 * 8 + 160
        assert m0.GCSys >= mstats.GC_MISC_BASE and m0.OtherSys >= mstats.OTHER_SYS_BASE
        xs = [rt.new(rt.Struct("fT", p=rt.Ptr(rt.Int))) for _ in range(2000)]
        for x in xs:
            rt.SetFinalizer(x, lambda x: None)
        m1 = rt.ReadMemStats()
        assert m1.OtherSys > m0.OtherSys            # the finalizer specials
        del xs, x
        for _ in range(3):
            rt.GC()
            rt.Gosched()
        m2 = rt.ReadMemStats()
        for f in ("Sys", "GCSys", "OtherSys", "BuckHashSys", "MSpanSys"):
            assert getattr(m2, f) >= getattr(m1, f) >= getattr(m0, f), f
        assert r.mem_profile_rate == 512 * 1024
    with _rt(godebug="memprofilerate=0"):
        assert rt.ReadMemStats().BuckHashSys == 2371


def test_memory_limit_goal_counts_gos_start_up_memory():
    # Under a memory limit the goal is limit - non-heap memory - headroom: Go's ~3.5 MB of
    # start-up metadata and tables lower it as in Go.
    with _rt(memory_limit=40 << 20):
        rt.GC()
        m = rt.ReadMemStats()
        assert m.Sys - m.HeapSys > 3 << 20
        assert m.NextGC < (40 << 20) - (3 << 20)


def test_memstats_like_go_test_memstats():
    """runtime's TestMemStats (malloc_test.go): after a forced GC every one of these fields is
    non-zero and sane, and Sys is the sum of the *Sys fields. BuckHashSys, GCSys, OtherSys
    and the stack fields were 0 here before issue 15."""
    with _rt():
        keep = [rt.new(rt.Struct("msT", p=rt.Ptr(rt.Int))) for _ in range(100)]
        rt.GC()
        st = rt.ReadMemStats()
        for f in ("Alloc", "TotalAlloc", "Sys", "Mallocs", "HeapAlloc", "HeapSys", "HeapInuse",
                  "HeapObjects", "StackInuse", "StackSys", "MSpanInuse", "MSpanSys", "MCacheInuse",
                  "MCacheSys", "BuckHashSys", "GCSys", "OtherSys", "NextGC", "LastGC", "NumGC",
                  "NumForcedGC"):
            assert getattr(st, f) != 0, f
            assert getattr(st, f) <= 1e10 or f == "LastGC", f
        assert st.Lookups == 0 and st.EnableGC is True and st.DebugGC is False
        assert st.GCCPUFraction <= 0.99
        assert st.Sys == (st.HeapSys + st.StackSys + st.MSpanSys + st.MCacheSys + st.BuckHashSys
                          + st.GCSys + st.OtherSys)
        assert st.HeapIdle + st.HeapInuse == st.HeapSys
        assert len(keep) == 100


def test_gc_sys_like_go_testprog_gcsys():
    """testprog's GCSys (TestGcSys): 100000 allocations of 1029 bytes, one live at a time,
    with memory profiling turned off after start: Sys grows by less than 16 MB."""
    with _rt() as r:
        rt.GC()
        sys0 = rt.ReadMemStats().Sys
        r.mem_profile_rate = 0          # runtime.MemProfileRate = 0: the table stays mapped
        sink = None
        for _ in range(100000):
            sink = rt.make(rt.Slice(rt.Byte), 1029)
        m1 = rt.ReadMemStats()
        sys1 = m1.Sys
        assert m1.BuckHashSys == 2371 + 179999 * 8 + 160      # never unmapped
        assert sink is not None
        assert max(0, sys1 - sys0) <= 16 << 20
