"""MemStats through the public API, against the numbers real Go 1.27.3 printed (spec appendices).

Appendix D (1000 objects of 8..40000 bytes, scan and noscan, then drop + 2 GCs) and
Appendix E (the tiny allocator) are reproduced with ``rt.new``; the expected deltas are
Go's. HeapInuse is checked against the span geometry instead of Go's figure, because Go's
start-up leaves partly used spans that absorb a few of the objects (spec §9 tolerance).
"""
import pytest
from hypothesis import given, settings, strategies as st, HealthCheck

import goruntime as rt
from goruntime import _heap
from gocheck import check_invariants

N = 1000

P8 = rt.Struct("P8", p=rt.Ptr(rt.Int))
P24 = rt.Struct("P24", p=rt.Ptr(rt.Int), b=rt.Array(rt.Byte, 16))
P48 = rt.Struct("P48", p=rt.Ptr(rt.Int), b=rt.Array(rt.Byte, 40))
P100 = rt.Struct("P100", p=rt.Ptr(rt.Int), b=rt.Array(rt.Byte, 92))
P1024 = rt.Struct("P1024", p=rt.Ptr(rt.Int), b=rt.Array(rt.Byte, 1016))
P40000 = rt.Struct("P40000", p=rt.Ptr(rt.Int), b=rt.Array(rt.Byte, 39992))

# name, type, Go's (dMallocs, dFrees, dHeapObjects, dHeapAlloc, dTotalAlloc) after alloc,
# BySize index with its Mallocs delta (Appendix D output).
APPENDIX_D = [
    ("noscan [8]byte", rt.Array(rt.Byte, 8), (1000, 500, 500, 8000, 8000), (2, 500)),
    ("noscan [24]byte", rt.Array(rt.Byte, 24), (1000, 0, 1000, 24000, 24000), (3, 1000)),
    ("noscan [48]byte", rt.Array(rt.Byte, 48), (1000, 0, 1000, 48000, 48000), (5, 1000)),
    ("noscan [100]byte", rt.Array(rt.Byte, 100), (1000, 0, 1000, 112000, 112000), (9, 1000)),
    ("noscan [1024]byte", rt.Array(rt.Byte, 1024), (1000, 0, 1000, 1024000, 1024000), (32, 1000)),
    ("noscan [40000]byte", rt.Array(rt.Byte, 40000), (1000, 0, 1000, 40960000, 40960000), None),
    ("scan P8", P8, (1000, 0, 1000, 8000, 8000), (1, 1000)),
    ("scan P24", P24, (1000, 0, 1000, 24000, 24000), (3, 1000)),
    ("scan P48", P48, (1000, 0, 1000, 48000, 48000), (5, 1000)),
    ("scan P100", P100, (1000, 0, 1000, 112000, 112000), (9, 1000)),
    ("scan P1024", P1024, (1000, 0, 1000, 1152000, 1152000), (33, 1000)),
    ("scan P40000", P40000, (1000, 0, 1000, 40960000, 40960000), None),
]


def deltas(m0, m):
    return (m.Mallocs - m0.Mallocs, m.Frees - m0.Frees, m.HeapObjects - m0.HeapObjects,
            m.HeapAlloc - m0.HeapAlloc, m.TotalAlloc - m0.TotalAlloc)


def expected_heap_inuse(T):
    kind, cls, slot, _ = _heap.size_class(T.size, not T.has_pointers)
    if kind == "large":
        return N * slot
    if kind == "tiny":
        return 0          # 500 blocks fit in the span the tiny allocator already uses... or one more
    per = (_heap.SIZE_CLASS_TO_NELEMS_NOSCAN if not T.has_pointers else _heap.SIZE_CLASS_TO_NELEMS_SCAN)[cls]
    return -(-N // per) * _heap.SIZE_CLASS_TO_NPAGES[cls] * 8192


@pytest.mark.parametrize("name,T,go_after_alloc,bysize", APPENDIX_D, ids=[r[0] for r in APPENDIX_D])
def test_appendix_d_memstats_deltas(runtime, name, T, go_after_alloc, bysize):
    rt.GC()
    rt.GC()
    m0 = rt.ReadMemStats()
    holder = [rt.new(T) for _ in range(N)]
    m1 = rt.ReadMemStats()
    assert deltas(m0, m1) == go_after_alloc
    if bysize:
        i, dm = bysize
        assert m1.BySize[i].Mallocs - m0.BySize[i].Mallocs == dm
        assert sum(e.Mallocs for e in m1.BySize) - sum(e.Mallocs for e in m0.BySize) == dm
    else:
        assert [e.Mallocs for e in m1.BySize] == [e.Mallocs for e in m0.BySize]
    if T.size >= 16 or T.has_pointers:
        assert m1.HeapInuse - m0.HeapInuse == expected_heap_inuse(T)
    check_invariants(m1)
    holder = None
    rt.GC()
    m2 = rt.ReadMemStats()
    # Go: "after GC #1 ... dMallocs=1000 dFrees=1000 dHeapObjects=0 dHeapAlloc=0"
    assert deltas(m0, m2) == (1000, 1000, 0, 0, go_after_alloc[4])
    assert m2.HeapInuse == m0.HeapInuse
    if bysize:
        i, dm = bysize
        assert m2.BySize[i].Frees - m0.BySize[i].Frees == dm
    rt.GC()
    m3 = rt.ReadMemStats()
    assert deltas(m0, m3) == deltas(m0, m2)
    # Two forced cycles; 40 MB of large objects also trigger heap GCs while allocating
    # (real Go 1.27.3 at GOMAXPROCS=1: pointer-free, 4, at 6->7->7, 13->15->15 and
    # 26->29->29 MB; pointerful, 1, "3->9..28->9..28 MB, 4 MB goal": the concurrent mark
    # overshoots, its assists paced on a scan expectation the large objects exceed).
    # (the pointerful mark may still be running at m1; Go's recorded runs show both)
    assert m3.NumForcedGC - m0.NumForcedGC == 2
    assert m3.NumGC - m1.NumGC in ((2, 3) if T.size > 32760 and T.has_pointers else (2,))
    assert m1.NumGC - m0.NumGC == (0 if T.size <= 32760 else 1 if T.has_pointers else 4)
    check_invariants(m3)


# Appendix E: (type, distinct blocks, dMallocs, dFrees, dHeapObjects, dHeapAlloc, dBySize[2])
APPENDIX_E = [
    ("int64", rt.Int64, 500, 1000, 500, 500, 8000, 500),
    ("byte", rt.Byte, 63, 1000, 937, 63, 1008, 63),
    ("int32", rt.Int32, 250, 1000, 750, 250, 4000, 250),
    ("[12]byte", rt.Array(rt.Byte, 12), 1000, 1000, 0, 1000, 16000, 1000),
    ("[16]byte", rt.Array(rt.Byte, 16), 1000, 1000, 0, 1000, 16000, 1000),
    ("*int", rt.Ptr(rt.Int), 501, 1000, 0, 1000, 8000, 0),
]


@pytest.mark.parametrize("name,T,blocks,dm,df,dho,dha,dbs2", APPENDIX_E, ids=[r[0] for r in APPENDIX_E])
def test_appendix_e_tiny_allocator(runtime, name, T, blocks, dm, df, dho, dha, dbs2):
    rt.GC()
    rt.GC()
    m0 = rt.ReadMemStats()
    holder = [rt.new(T) for _ in range(N)]
    m1 = rt.ReadMemStats()
    distinct = len({p.addr & ~15 for p in holder})
    if name == "*int":
        # Go's 501 comes from a class-1 span it had half used at start-up (first address
        # 8 mod 16); from a fresh span the same 1000 slots cover 500 blocks.
        assert distinct in (500, 501)
    else:
        assert distinct == blocks
    assert (m1.Mallocs - m0.Mallocs, m1.Frees - m0.Frees, m1.HeapObjects - m0.HeapObjects,
            m1.HeapAlloc - m0.HeapAlloc, m1.TotalAlloc - m0.TotalAlloc) == (dm, df, dho, dha, dha)
    assert m1.BySize[2].Mallocs - m0.BySize[2].Mallocs == dbs2
    offsets = {"int64": [0, 8, 0, 8, 0, 8], "byte": [0, 1, 2, 3, 4, 5], "int32": [0, 4, 8, 12, 0, 4],
               "[12]byte": [0] * 6, "[16]byte": [0] * 6}
    if name in offsets:
        assert [p.addr % 16 for p in holder[:6]] == offsets[name]
    check_invariants(m1)


def test_zero_size_allocations_share_zerobase(runtime):
    m0 = rt.ReadMemStats()
    E = rt.Struct("Empty")
    ps = [rt.new(E) for _ in range(100)] + [rt.new(rt.Array(rt.Int, 0)) for _ in range(100)]
    s = rt.make(rt.Slice(rt.Int), 0)
    m1 = rt.ReadMemStats()
    assert len({p.addr for p in ps}) == 1 and ps[0].addr == _heap.ZERO_BASE
    assert s.addr == _heap.ZERO_BASE and len(s) == 0
    assert (m1.Mallocs, m1.HeapAlloc, m1.HeapInuse) == (m0.Mallocs, m0.HeapAlloc, m0.HeapInuse)


def test_ring_after_300_gcs(runtime):
    """Appendix X12: the PauseNs/PauseEnd ring and LastGC after 300 forced GCs."""
    for _ in range(300):
        rt.GC()
    m = rt.ReadMemStats()
    assert m.NumGC == 300 and m.NumForcedGC == 300
    last = (m.NumGC + 255) % 256
    assert last == 43
    assert m.LastGC == m.PauseEnd[last] and m.PauseNs[last] > 0
    assert sum(1 for p in m.PauseNs if p) == 256
    assert m.PauseTotalNs >= sum(m.PauseNs)
    # PauseEnd is increasing along the ring, oldest entry right after the newest
    ends = [m.PauseEnd[(last - k) % 256] for k in range(256)]
    assert ends == sorted(ends, reverse=True)
    check_invariants(m)


def test_three_gcs_ring_indices(runtime):
    for k in range(1, 4):
        rt.GC()
        m = rt.ReadMemStats()
        assert m.PauseEnd[k - 1] == m.LastGC and m.PauseNs[k - 1] > 0
        check_invariants(m)


def test_read_mem_stats_fills_given_struct_and_never_triggers_gc(runtime):
    m = rt.MemStats()
    assert rt.ReadMemStats(m) is m
    assert m.NumGC == 0 and m.NextGC == 4 << 20
    with pytest.raises(TypeError):
        rt.ReadMemStats(42)


def test_next_gc_after_gc_is_heap_marked_plus_1mib_floor(runtime):
    Big = rt.Array(rt.Ptr(rt.Int), 1024)           # 8 KiB pointerful chunks
    keep = [rt.new(Big) for _ in range(64)]         # ~0.5 MiB live
    rt.GC()
    m = rt.ReadMemStats()
    assert m.NextGC == 4 << 20                      # heapMinimum dominates (GOGC=100)
    debug = rt.debug
    debug.SetGCPercent(0)
    rt.GC()
    m = rt.ReadMemStats()
    marked = runtime.pacer.heap_marked
    assert m.NextGC == marked + (1 << 20)           # spec 10.7: GOGC=0 -> heapMarked + 1 MiB
    debug.SetGCPercent(0)                           # a commit after sweep: floor reset
    m = rt.ReadMemStats()
    assert m.NextGC == marked
    debug.SetGCPercent(100)
    del keep


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(["new", "drop", "gc", "read", "link", "slice"]),
                          st.integers(0, 40)), max_size=40))
def test_invariants_hold_after_every_operation(ops):
    T = rt.Struct("HNode", next=rt.Ptr("HNode"), v=rt.Int)
    with rt.Runtime(godebug="gccheckmark=1", arena_cap=1 << 30):
        live = []
        for op, k in ops:
            if op == "new":
                p = rt.new(T)
                p.v = k
                live.append((p, k))
            elif op == "drop" and live:
                live.pop(k % len(live))
            elif op == "gc":
                rt.GC()
            elif op == "link":
                nodes = [p for p, v in live if v >= 0]
                if len(nodes) >= 2:
                    nodes[k % len(nodes)].next = nodes[(k + 1) % len(nodes)]
            elif op == "slice":
                s = rt.make(rt.Slice(rt.Int64), k, k + 3)
                live.append((s, -1))
            m = rt.ReadMemStats()
            check_invariants(m)
            for p, v in live:                        # reachable objects keep their values
                if v >= 0:
                    assert p.v == v
        rt.GC()
        check_invariants(rt.ReadMemStats())
