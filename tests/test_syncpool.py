"""sync.Pool (goruntime/syncpool.py): Go 1.27's pool.go and poolqueue.go on the heap.

The allocation counts are Go's, measured by the oracle scenario fid2_pool (sync/pool.go:
pinSlow's make([]poolLocal, GOMAXPROCS), 128 bytes a P, and allPools' append; the chain's
48-byte poolChainElt and rings of 8 and 16 interfaces). Here: the victim cache's two
cycles seen through weak pointers, LIFO order, several pools, Put(nil), no New.
"""
import goruntime as rt
from goruntime import weak

Buf = rt.Struct("spBuf", b=rt.Array(rt.Byte, 200), n=rt.Int)


def runtime():
    return rt.Runtime(gomaxprocs=1, scheduler="cooperative", clock="virtual")


def test_cached_object_survives_one_gc_and_is_freed_by_the_second():
    with runtime():
        p = rt.Pool(New=lambda: rt.new(Buf))
        x = p.Get()
        w = weak.Make(x)
        p.Put(x)
        x = None
        rt.GC()
        assert w.Value() is not None          # in the victim cache
        rt.GC()
        assert w.Value() is None              # dropped with the victim cache


def test_get_after_one_gc_takes_the_victim_cache():
    with runtime():
        made = []
        p = rt.Pool(New=lambda: made.append(1) or rt.new(Buf))
        a, b = p.Get(), p.Get()
        a.n, b.n = 1, 2
        p.Put(a)
        p.Put(b)
        a = b = None
        rt.GC()
        got = [p.Get().n, p.Get().n, p.Get().n]
        assert got == [1, 2, 0]               # victim: private first, then the chain's tail; then New
        assert len(made) == 3


def test_lifo_within_a_cycle_and_the_chain_grows_by_doubling_rings():
    with runtime():
        p = rt.Pool()
        xs = [rt.new(Buf) for _ in range(30)]
        for i, x in enumerate(xs):
            x.n = i
        m0 = rt.ReadMemStats()
        for x in xs:
            p.Put(x)
        m1 = rt.ReadMemStats()
        # poolLocal array (128 B), allPools (8 B), elements of 48 B with rings of 8, 16 and 32
        # interfaces (128, 256, 512 B): 30 = 1 private + 8 + 16 + 5
        assert m1.Mallocs - m0.Mallocs == 2 + 3 * 2
        assert m1.TotalAlloc - m0.TotalAlloc == 128 + 8 + 3 * 48 + 128 + 256 + 512
        assert p.Get().n == 0                 # the private slot
        assert [p.Get().n for _ in range(3)] == [29, 28, 27]
        assert rt.ReadMemStats().Mallocs == m1.Mallocs


def test_two_pools_grow_all_pools_and_nil_is_not_cached():
    with runtime():
        p, q = rt.Pool(), rt.Pool()
        m0 = rt.ReadMemStats()
        p.Put(None)                           # ignored: no pin, no allocation
        assert rt.ReadMemStats().Mallocs == m0.Mallocs
        assert p.Get() is None                # pins (allocates the array), nothing cached, no New
        q.Get()
        m1 = rt.ReadMemStats()
        # two poolLocal arrays, allPools appended twice (8 then 16 bytes)
        assert m1.Mallocs - m0.Mallocs == 4
        assert m1.TotalAlloc - m0.TotalAlloc == 2 * 128 + 8 + 16


def test_values_other_than_pointers_are_boxed_as_any():
    with runtime():
        p = rt.Pool()
        p.Get()                               # pin first: the array and allPools
        m0 = rt.ReadMemStats()
        p.Put(1000)                           # convT64: an 8-byte box (tiny)
        p.Put(7)                              # staticuint64s: no box; the chain's first ring
        m1 = rt.ReadMemStats()
        assert m1.Mallocs - m0.Mallocs == 1 + 2
        assert p.Get() == 1000                # the private slot first
        assert p.Get() == 7                   # then the chain's head
        assert p.Get() is None


def test_new_boxes_a_non_pointer_value_at_its_return():
    """Go: New is func() any, so `return make([]byte, 0, n)` boxes the slice (convTslice,
    24 bytes); Get returns that interface, and putting it back shares the box, while a
    Put of the slice taken out of it boxes it again."""
    with runtime():
        p = rt.Pool(New=lambda: rt.make(rt.Slice(rt.Byte), 0, 200))
        p.Put(p.Get())                                  # the first Get's poolLocal, allPools
        p.Get()
        rt.GC()
        m0 = rt.ReadMemStats()
        x = p.Get()             # New: 208 bytes and the 24-byte box (and pinSlow's poolLocal, allPools)
        m1 = rt.ReadMemStats()
        assert (m1.Mallocs - m0.Mallocs, m1.TotalAlloc - m0.TotalAlloc) == (2 + 2, 208 + 24 + 128 + 8)
        assert isinstance(x, rt.Value) and x.x.cap == 200
        p.Put(x)                                        # the same interface: no box
        x = p.Get()
        m2 = rt.ReadMemStats()
        assert m2.Mallocs == m1.Mallocs
        p.Put(rt.value(rt.Slice(rt.Byte), x.x[:0]))     # Put(b[:0]): boxed again
        assert rt.ReadMemStats().Mallocs == m2.Mallocs + 1
        q = rt.Pool(New=lambda: rt.new(Buf))            # pointers are never boxed
        m3 = rt.ReadMemStats()
        y = q.Get()
        assert isinstance(y, rt.Pointer) and rt.ReadMemStats().Mallocs - m3.Mallocs == 3
