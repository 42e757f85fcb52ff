"""Sweep order and lazy sweep (issue 15, item 1; Go: mgcsweep.go, mcentral.go, mcache.go).

The order rules on a bare heap (`_mark.sweep_order`), the batches the finalizer and cleanup
goroutines take (`mspecial.sweep_batches`, `mcleanup.Cleanups.end_batch`), and a background
cycle's lazy sweep through a Runtime: frees show only as spans are swept, allocation sweeps
its own class first, the next cycle finishes the sweep, and the heap stays consistent.
The oracle scenarios fin_sweep_order, cleanup_sweep_order and lazy_sweep_frees compare the
same rules with Go 1.27.3.
"""
import numpy as np

import goruntime as rt
from goruntime import _heap, _mark, metrics
from goruntime.mspecial import sweep_batches


def spans_of(h, addrs):
    p2s = h.page_to_span
    return [int(p2s[(a - _heap.ARENA_START) >> 13]) for a in addrs]


def test_sweep_order_mcache_flush_first_then_class_full_before_partial_in_push_order():
    h = _heap.Heap(1 << 26)
    # class 48 B (spc 10): span A filled (170 slots), then span B partly: A is uncached
    # full when B is cached.
    a = [h.alloc(48, False, [1] * 6) for _ in range(170 + 5)]
    big1 = h.alloc(40000, False, [1])                          # large, span class 0
    big2 = h.alloc(40000, False, [1])
    s16 = spans_of(h, [h.alloc(16, False, [1, 1])])[0]         # spc 4, cached
    sa, sb = spans_of(h, [a[0], a[-1]])
    s1, s2 = spans_of(h, [big1, big2])
    seq0 = h.push_seq
    h.flush_mcaches(False)            # mark termination: the cached spans (16 B, 48 B's B)
    order, nstale = _mark.sweep_order(h, seq0)
    order = [int(x) for x in order]
    assert nstale == 2
    assert order[:2] == [s16, sb]     # flush order: span class order (4 < 10)
    assert order[2:] == [s1, s2, sa]  # class 0 full in allocation order, then class 10 full
    # a partial span of a class comes after that class's full spans
    _mark.sweep(h, np.array(order))  # everything dead: all freed
    assert h.counters()["large_free_count"] == 2


def test_sweep_batches_follow_sweepone_and_bgsweep_turns():
    pos = np.arange(30)
    # 3 stale spans (batch 0), then runtime.GC's sweepone 1, bgsweep 10, 1, 10, ...
    b = sweep_batches(pos, 3, "cycle")
    assert list(b[:3]) == [0, 0, 0]
    assert list(b[3:4]) == [1] and list(b[4:14]) == [2] * 10 and list(b[14:15]) == [3]
    assert list(b[15:25]) == [4] * 10
    # a background cycle: bgsweep's batches of ten
    b = sweep_batches(pos, 0, "heap")
    assert list(b[:10]) == [1] * 10 and b[10] == 2


def test_finalizers_run_batch_by_batch_each_newest_first():
    T = rt.Struct("fT", p=rt.Ptr(rt.Int), id=rt.Int)
    L = rt.Struct("fL", p=rt.Ptr(rt.Int), id=rt.Int, b=rt.Array(rt.Byte, 40000))
    order = []
    with rt.Runtime(gomaxprocs=1, scheduler="cooperative", clock="virtual"):
        def setup():
            for i in range(24):
                x = rt.new(L if i % 2 else T)
                x.id = i
                rt.SetFinalizer(x, lambda x: order.append(int(x.id)))
        setup()
        rt.GC()
        for _ in range(10):
            rt.Gosched()
    small = [i for i in range(24) if i % 2 == 0]
    large = [i for i in range(24) if i % 2]
    # the mcache's 16 B span first (one batch, newest first); then the 12 large spans:
    # one (sweepone), ten (bgsweep), one
    assert order == small[::-1] + [large[0]] + large[1:11][::-1] + [large[11]]


def test_cleanups_blocks_newest_first_after_the_second_batch():
    T = rt.Struct("cT", p=rt.Ptr(rt.Int), id=rt.Int)
    order = []
    with rt.Runtime(gomaxprocs=1, scheduler="cooperative", clock="virtual"):
        def setup():
            for i in range(50):
                x = rt.new(T)
                x.id = i
                rt.AddCleanup(x, order.append, i)
        setup()
        rt.GC()
        for _ in range(10):
            rt.Gosched()
    # one batch (the mcache flush): blocks [0..19], [20..39] full on the stack, [40..49]
    # flushed at the end; the goroutine takes the stack newest block first
    assert order == list(range(20, 40)) + list(range(20)) + list(range(40, 50))


def test_a_background_cycle_sweeps_lazily_and_stays_consistent():
    S = rt.Struct("s256", p=rt.Ptr(rt.Int), b=rt.Array(rt.Byte, 240))
    N = rt.Struct("n16", p=rt.Ptr(rt.Int), v=rt.Int)
    with rt.Runtime(gomaxprocs=1, scheduler="cooperative", clock="virtual",
                    godebug="gccheckmark=1") as r:
        def garbage():
            for _ in range(1000):
                rt.new(S)
        rt.GC()
        garbage()
        m0 = rt.ReadMemStats()
        cyc = [metrics.Sample("/gc/cycles/total:gc-cycles")]
        metrics.Read(cyc)
        n0 = cyc[0].Value.Uint64()
        while cyc[0].Value.Uint64() == n0:
            for _ in range(64):
                keep = rt.new(N)
            metrics.Read(cyc)
        assert _mark.sweep_pending(r.heap) > 0
        m1 = rt.ReadMemStats()
        c = next(i for i, b in enumerate(m0.BySize) if b.Size == 256)
        assert m1.BySize[c].Frees == m0.BySize[c].Frees        # not swept yet
        assert m1.HeapObjects - m1.Mallocs + m1.Frees == 0     # the invariant still holds
        # allocating 256-byte objects sweeps that class's spans first (cacheSpan)
        keep256 = [rt.new(S) for _ in range(10)]
        m2 = rt.ReadMemStats()
        assert m2.BySize[c].Frees > m1.BySize[c].Frees
        rt.GC()                       # finishes the sweep first, then sweeps everything
        assert _mark.sweep_pending(r.heap) == 0
        m3 = rt.ReadMemStats()
        assert m3.BySize[c].Frees - m0.BySize[c].Frees == 1000
        assert keep.v == 0 and len(keep256) == 10


def test_lazy_sweep_then_many_cycles_keep_the_heap_exact():
    node = rt.Struct("node", next=rt.Ptr("node"), v=rt.Array(rt.Int, 6))
    with rt.Runtime(gomaxprocs=1, scheduler="cooperative", clock="virtual",
                    godebug="gccheckmark=1") as r:
        keep = None
        for i in range(200000):
            n = rt.new(node)
            if i % 7 == 0:            # a live list through the garbage
                n.next = keep
                keep = n
        st = rt.ReadMemStats()
        assert st.NumGC >= 2
        assert st.HeapObjects == st.Mallocs - st.Frees
        rt.GC()
        n, k = 0, keep
        while k is not None:
            n, k = n + 1, k.next
        assert n == len(range(0, 200000, 7))
        st = rt.ReadMemStats()
        # after a full sweep the live objects are the list (and nothing else of ours)
        assert st.HeapObjects <= n + 64
        assert _mark.sweep_pending(r.heap) == 0
