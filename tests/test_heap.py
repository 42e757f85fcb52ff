"""The heap and the collector's kernels, through the bulk API (no handles).

Mark/sweep on chains, cycles, fan-out, interior pointers, large objects and a
10-million-node list; after every collection the checkmark traversal agrees and the
counters add up. Bad input raises and leaves the heap as it was.
"""
import numpy as np
import pytest

from goruntime import _heap, _mark
from goruntime.errors import FatalError

NODE_MASK = np.array([1, 1, 0, 0], np.uint8)      # 32 bytes: two pointer words, two ints


def collect(h, roots=None):
    """One cycle on a bare heap, as Runtime.gc does it: mark, checkmark, flush, sweep."""
    r = _mark.mark(h, roots)
    assert _mark.checkmark(h, roots) == r[1]
    h.heap_live = r[0]
    h.flush_mcaches(False)
    _mark.sweep(h)
    return r


def live_bytes(h):
    """The slow recount (Go's ReadMemStatsSlow): sum of alloc_count*elemsize over spans."""
    s = h.spans
    return int((s["alloc_count"].astype(np.uint64) * s["elemsize"]).sum())


def heap_alloc(h):
    c = h.counters()
    sizes = _heap.SIZE_CLASS_TO_SIZE
    a = c["large_alloc"] + sum(n * s for n, s in zip(c["small_alloc_count"], sizes))
    f = c["large_free"] + sum(n * s for n, s in zip(c["small_free_count"], sizes))
    return a - f


def link(h, src, dst, word=0):
    h.store_pointers(np.asarray(src, np.uint64), np.full(len(src), 8 * word, np.uint64),
                     np.asarray(dst, np.uint64))


@pytest.fixture
def heap():
    return _heap.Heap(arena_cap=1 << 30)


def test_chain_survives_and_garbage_is_freed(heap):
    a = heap.alloc_many(32, False, 1000, mask=NODE_MASK)
    link(heap, a[:-1], a[1:])
    heap.alloc_many(32, False, 500, mask=NODE_MASK)         # garbage
    slot = heap.add_root(int(a[0]))
    bytes_marked, n, _ = collect(heap)
    assert (bytes_marked, n) == (32000, 1000)
    assert heap_alloc(heap) == live_bytes(heap) == 32000
    heap.remove_root(slot)
    collect(heap)
    assert heap_alloc(heap) == live_bytes(heap) == 0
    assert heap.counters()["heap_inuse"] == 0


def test_cycle_is_collected_when_unrooted(heap):
    a = heap.alloc_many(32, False, 3, mask=NODE_MASK)
    link(heap, a, np.roll(a, -1))
    slot = heap.add_root(int(a[1]))
    assert collect(heap)[1] == 3
    heap.remove_root(slot)
    assert collect(heap)[1] == 0
    assert heap_alloc(heap) == 0


def test_fan_out_and_interior_pointers(heap):
    hub = heap.alloc(8 * 100, False, np.ones(100, np.uint8))      # 100 pointer words, header object
    leaves = heap.alloc_many(48, False, 100, mask=np.array([0, 0, 0, 0, 0, 0], np.uint8))
    interior = leaves + np.arange(100, dtype=np.uint64) % 48      # pointers into the middle
    heap.store_pointers(np.full(100, hub, np.uint64), np.arange(100, dtype=np.uint64) * 8, interior)
    slot = heap.add_root(hub + 17)                                  # interior root
    assert collect(heap)[1] == 101
    heap.remove_root(slot)
    assert collect(heap)[1] == 0


def test_self_pointer_skipped_while_scanning(heap):
    a = int(heap.alloc(32, False, NODE_MASK))
    b = int(heap.alloc(32, False, NODE_MASK))
    link(heap, [a, a], [a, b], word=0)
    link(heap, [a], [a + 8], word=1)                 # a points into itself too
    _, n, _ = _mark.mark(heap, scan_only=[a])      # a's referents, not a (a finalizer root)
    assert n == 1 and heap.is_marked(b) and not heap.is_marked(a)
    _mark.clear_marks(heap)


def test_large_objects_free_their_pages_at_once(heap):
    heap.alloc(40000, True)
    assert heap.counters()["heap_inuse"] == 40960
    scan_big = heap.alloc(200000, False, np.ones(25000, np.uint8))
    small = int(heap.alloc(16, False, np.array([1, 1], np.uint8)))
    heap.write_word(scan_big + 199992, small)        # last word of the large object
    slot = heap.add_root(scan_big)
    collect(heap)
    c = heap.counters()
    assert c["large_free_count"] == 1 and c["large_free"] == 40960
    assert heap.is_pointer_word(scan_big + 199992)
    assert heap.find_object(small) is not None
    heap.remove_root(slot)
    collect(heap)
    assert heap.counters()["heap_inuse"] == 0


def test_ten_million_node_list_marks_without_recursion():
    h = _heap.Heap(arena_cap=2 << 30)
    n = 10_000_000
    a = h.alloc_many(32, False, n, mask=NODE_MASK)
    assert len(a) == n
    link(h, a[:-1], a[1:])
    slot = h.add_root(int(a[0]))
    del a
    bytes_marked, nmarked, _ = collect(h)
    assert nmarked == n and bytes_marked == 32 * n
    h.remove_root(slot)
    collect(h)
    assert heap_alloc(h) == 0


def test_slots_reused_in_ascending_order_after_sweep(heap):
    a = heap.alloc_many(64, True, 126)               # one full span (126 noscan 64-byte slots)
    keep = [heap.add_root(int(x)) for x in a[::2]]
    collect(heap)
    b = heap.alloc_many(64, True, 63)
    assert list(b) == list(a[1::2])                   # the freed odd slots, lowest first
    for s in keep:
        heap.remove_root(s)


def test_bad_pointer_is_fatal_and_changes_nothing(heap):
    a = int(heap.alloc(32, False, NODE_MASK))
    slot = heap.add_root(a)
    heap.write_word(a, 0xc000000000 + (900 << 13))    # in the arena's range, not allocated
    with pytest.raises(FatalError, match="found bad pointer in Go heap"):
        _mark.mark(heap)
    assert not heap.is_marked(a)                      # the failed mark left no bits behind
    heap.write_word(a, 0x5e4d60)                      # zerobase / a global: ignored, as in Go
    assert _mark.mark(heap)[1] == 1
    heap.flush_mcaches(False)
    _mark.sweep(heap)
    heap.remove_root(slot)


def test_pointer_to_freed_slot_is_fatal(heap):
    a = heap.alloc_many(32, False, 2, mask=NODE_MASK)
    s0 = heap.add_root(int(a[0]))
    s1 = heap.add_root(int(a[1]))
    collect(heap)
    heap.remove_root(s1)
    collect(heap)                                    # a[1] freed
    link(heap, [a[0]], [a[1]])                       # a dangling pointer (unsafe misuse)
    with pytest.raises(FatalError, match="found bad pointer"):
        _mark.mark(heap)
    heap.remove_root(s0)


@pytest.mark.parametrize("call", [
    lambda h: h.alloc(-1, True),
    lambda h: h.alloc_many(8, True, -5),
    lambda h: h.alloc(64, False, np.ones(9, np.uint8)),          # mask larger than object
    lambda h: h.store_pointers(np.zeros(1, np.uint64), np.zeros(1, np.uint64), np.zeros(1, np.uint64)),
    lambda h: h.store_pointers(np.zeros(2, np.uint64), np.zeros(1, np.uint64), np.zeros(2, np.uint64)),
    lambda h: h.store_pointers(np.zeros(1, np.float32), np.zeros(1, np.uint64), np.zeros(1, np.uint64)),
    lambda h: h.read_word(0x1234),
    lambda h: h.view(0xc000000000, 1 << 40),
    lambda h: h.alloc(16, True, p=7),
])
def test_bad_input_raises_and_changes_nothing(heap, call):
    a = heap.alloc(32, False, NODE_MASK)
    before = heap.counters()
    with pytest.raises((ValueError, TypeError, OverflowError)):
        call(heap)
    assert heap.counters() == before
    assert heap.find_object(a) is not None


def test_out_of_memory_is_a_memory_error_and_heap_stays_usable():
    h = _heap.Heap(arena_cap=8 << 20)
    a = h.alloc(5 << 20, True)
    slot = h.add_root(a)
    before = h.counters()
    with pytest.raises(MemoryError, match="runtime: out of memory: cannot allocate"):
        h.alloc(4 << 20, True)
    assert h.counters() == before
    h.remove_root(slot)
    collect(h)
    assert h.alloc(4 << 20, True) != 0                # after the GC the pages are free again


def test_heap_grows_in_4mib_chunks_released_at_first(heap):
    heap.alloc(16, True)
    c = heap.counters()
    assert c["heap_sys"] == 4 << 20
    assert c["heap_released"] == (4 << 20) - 8192
    heap.alloc(5 << 20, True)
    c = heap.counters()
    assert c["heap_sys"] == 12 << 20                  # a 6-page... 5 MiB request maps 2 chunks more
    assert c["heap_inuse"] + c["heap_released"] <= c["heap_sys"]


def test_views_are_read_only(heap):
    heap.alloc(8, False, np.ones(1, np.uint8))
    with pytest.raises(ValueError):
        heap.spans["alloc_count"][0] = 5
    with pytest.raises(ValueError):
        heap.alloc_bits[0, 0] = 1


def test_raw_access_stays_inside_allocated_objects(heap):
    # B8/B10: words are aligned, and bytes written or viewed belong to one live object.
    a = int(heap.alloc(48, True))                     # a 48-byte slot
    heap.write_word(a + 40, 7)
    assert heap.read_word(a + 40) == 7 and len(heap.view(a, 48)) == 48
    before = heap.counters()
    for bad in (lambda: heap.read_word(a + 4), lambda: heap.write_word(a + 4, 1),
                lambda: heap.write_word(a + 48, 1),               # the next (free) slot
                lambda: heap.view(a + 40, 16),                    # runs past the object
                lambda: heap.write_word(a + 3 * 8192, 1)):        # a page no span uses
        with pytest.raises(ValueError):
            bad()
    assert heap.counters() == before
    assert not heap.arena[3 * 8192: 4 * 8192].any()


def test_roots_are_validated_and_remove_roots_is_all_or_nothing(heap):
    # B9: a root in the heap's range is inside an object; only add_root's slots come back.
    a = heap.alloc_many(32, False, 2, mask=NODE_MASK)
    with pytest.raises(ValueError, match="not inside an allocated object"):
        heap.add_root(int(a[1]) + 32)                  # a free slot
    s = heap.add_roots(a)
    assert heap.add_root(0x5e4d60) >= 0                # outside the heap: ignored by the GC
    with pytest.raises(ValueError):
        heap.remove_roots(np.array([s[0], s[0]], np.int64))       # repeated
    with pytest.raises(ValueError):
        heap.remove_roots(np.array([s[1], 10**6], np.int64))      # never handed out
    assert heap.nroots == 3
    heap.remove_roots(s)
    with pytest.raises(ValueError):
        heap.remove_root(int(s[0]))                    # removed already
    assert heap.nroots == 1


def test_bulk_api_takes_integers_not_floats(heap):
    # B17: Go takes ints; a float is a TypeError, never truncated.
    before = heap.counters()
    for call in (lambda: heap.alloc(8.0, True), lambda: heap.alloc_many(8, True, 2.0),
                 lambda: heap.view(float(0xc000000000), 8), lambda: heap.remove_root(0.0),
                 lambda: heap.write_word(0xc000000000, 1.5), lambda: heap.is_marked("x")):
        with pytest.raises(TypeError):
            call()
    assert heap.counters() == before
    assert heap.alloc(np.uint64(8), True) and len(heap.alloc_many(8, True, np.int32(2))) == 2


def test_alloc_many_out_of_memory_part_way_returns_what_it_allocated():
    # B6: never raise with objects left allocated; the next call raises, changing nothing.
    h = _heap.Heap(arena_cap=4 << 20)
    out = h.alloc_many(8192, True, 10**4)
    assert 0 < len(out) < 10**4 and h.counters()["malloc_calls"] == len(out)
    before = h.counters()
    with pytest.raises(MemoryError):
        h.alloc_many(8192, True, 5)
    assert h.counters() == before


def test_fits_answers_without_allocating():
    h = _heap.Heap(arena_cap=4 << 20)
    assert h.fits((16, 16), (False, False))
    out = h.alloc_many(8192, True, 10**4)              # every page taken
    before = h.counters()
    assert not h.fits((16,), (False,)) and h.fits((0,), (True,))
    assert h.counters() == before
    with pytest.raises(MemoryError):
        h.alloc(16, False)                              # fits() was right
    del out
    collect(h)                                          # no roots: all free again
    assert h.fits((16, 16, 1 << 20), (True, False, True))
