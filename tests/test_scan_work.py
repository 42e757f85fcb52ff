"""Heap scan work counted as Go 1.27 counts it (issue 15, item 6).

Go's ``heapScanWork`` (``/gc/scan/heap:bytes``, the pacer's heapScan) is not the sum of
the scanned slots: scanObject counts up to the last pointer word, walking the element
type repeated to the end of the slot (objects with a malloc header, large objects, per
128 KiB oblet); scanObjectSmall counts ``Len64(ptrBits)`` words of a small object. The
numbers below are Go's, measured by the oracle scenario ``scan_heap_work``
(tests/oracle): 616 for a 600-byte type with its pointer first (slot 640), 40016 /
40008 for a 40008-byte large object with its pointer first / last (span 40960).
"""
import numpy as np
import pytest

from goruntime import _heap, _mark

RINGS = (0, 16, "batched")


def _scan_work(heap, roots, ring):
    if ring == "batched":
        out = _mark.mark(heap, roots, batched=True)
    else:
        out = _mark.mark(heap, roots, ring=ring)
    _mark.clear_marks(heap)
    return out[2]


def _one(size, ptr_words, count=1):
    """Scan work of one live object of *size* bytes (count elements), pointer words given
    per element."""
    h = _heap.Heap()
    nw = size // count // 8
    mask = np.zeros(nw, dtype=np.uint8)
    mask[list(ptr_words)] = 1
    a = h.alloc(size, False, mask, count)
    works = {_scan_work(h, np.array([a], dtype=np.uint64), r) for r in RINGS}
    assert len(works) == 1, works          # every drain counts the same work
    return works.pop()


@pytest.mark.parametrize("size, ptrs, count, want", [
    (24, [0], 1, 8),              # small, pointer first: Len64(ptrBits) = 1 word
    (24, [2], 1, 24),             # pointer last
    (24, [0], 3, 24),             # [3]*int: every word
    (40, [0], 1, 8),              # 40 B in a 48 B slot: the tail has no pointer bits
    (512, [0], 1, 8),             # largest object without a header
    (600, [0], 1, 616),           # header: 8 + 600 (pattern repeated) + 8
    (600, [74], 1, 608),          # header, pointer last: 8 + 592 + 8
    (40008, [0], 1, 40016),       # large: the pattern repeats once more inside the span
    (40008, [5000], 1, 40008),
    (160000, [0], 20000, 163840),  # []*int of 20000: the whole 20-page span, two oblets
    (131072 + 8, [0], 1, 8 + 16),  # oblets: 8 in the first, the repeat at 131080 in the second
])
def test_scan_work_matches_go(size, ptrs, count, want):
    assert _one(size, ptrs, count) == want


def test_oblets_count_from_their_own_start():
    # A 300000-byte object (37-page span) with one pointer word at 200000: the first
    # 128 KiB oblet has none, the second counts from 131072 to the word's end, the third
    # has none (the pattern would repeat at 500000, past the span).
    assert _one(300000, [25000]) == 200000 + 8 - 131072


def test_noscan_and_unreachable_objects_count_nothing():
    h = _heap.Heap()
    a = h.alloc(64, True)
    b = h.alloc(24, False, np.array([1, 0, 0], dtype=np.uint8))
    assert _scan_work(h, np.array([a], dtype=np.uint64), 16) == 0
    assert _scan_work(h, np.array([], dtype=np.uint64), 16) == 0
    assert _scan_work(h, np.array([b], dtype=np.uint64), 16) == 8


def test_stale_bits_of_a_reused_slot_are_cleared():
    # A 48-byte slot first holds an all-pointer object; once it is swept, a 40-byte object
    # with one pointer reuses it: the old tail word's pointer bit must not survive.
    h = _heap.Heap()
    a = h.alloc(48, False, np.ones(6, dtype=np.uint8))
    h.flush_mcaches()
    _mark.mark(h, np.array([], dtype=np.uint64))
    _mark.sweep(h)
    one = np.array([1, 0, 0, 0, 0], dtype=np.uint8)
    for _ in range(200):
        c = h.alloc(40, False, one)
        if c == a:
            break
    assert c == a
    assert not h.is_pointer_word(c + 40)
    assert _scan_work(h, np.array([c], dtype=np.uint64), 16) == 8
