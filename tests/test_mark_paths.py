"""The mark's two drain loops mark the same heap the same way.

``_mark.mark(..., batched=False)`` drains through a prefetch ring (``ring=16`` by
default, any power of two up to 64) with a compact span table; ``mark(..., ring=0)`` and
``checkmark`` shade each pointer as it is found; ``mark(..., batched=True)`` queues
spans, not objects (Green Tea); the default (``batched=None``) starts batched and may
switch to the ring drain after its first span visits (the adaptive rule). Whatever the ring, the marked set, the counts, the error raised
for a bad pointer, and what a failed mark leaves behind must be identical.
"""
import numpy as np
import pytest

from goruntime import _heap, _mark
from goruntime.errors import FatalError

RINGS = (0, 1, 2, 4, 8, 16, 32, 64, "batched", "adaptive")


def _mark_with(heap, roots=None, scan_only=None, ring=16, stats=None):
    if ring == "batched":
        return _mark.mark(heap, roots, scan_only, batched=True, stats=stats)
    if ring == "adaptive":
        return _mark.mark(heap, roots, scan_only, stats=stats)
    return _mark.mark(heap, roots, scan_only, ring=ring, batched=False, stats=stats)


def _mark_result(heap, ring, roots=None, scan_only=None):
    """(bytes_marked, nmarked, scan_bytes, (spans, links, scan_large)), the mark bits: the
    counts the concurrent mark's cost model reads must be every drain's too."""
    st = {}
    out = _mark_with(heap, roots, scan_only, ring, st)
    bits = heap.gcmark_bits.copy()
    assert _mark.checkmark(heap, roots, scan_only) == out[1]
    _mark.clear_marks(heap)
    return (*out, (st["spans"], st["links"], st["scan_large"])), bits


def _assert_all_rings_agree(heap, roots=None, scan_only=None):
    ref = _mark_result(heap, 0, roots, scan_only)
    for ring in RINGS[1:]:
        out, bits = _mark_result(heap, ring, roots, scan_only)
        assert out == ref[0], ring
        np.testing.assert_array_equal(bits, ref[1], err_msg=f"ring={ring}")
    return ref[0]


def _mixed_heap(seed, n=6000, free_some=True):
    """Objects of many size classes (scan and noscan, small and large, with malloc
    headers), linked at random through every pointer word, including interior pointers;
    with *free_some*, a collection first frees part of the heap so spans are partial."""
    rng = np.random.default_rng(seed)
    h = _heap.Heap()
    addrs, ptr_words = [], []
    for size, noscan, count in ((16, False, n), (32, False, n), (48, False, n // 2),
                                (640, False, n // 20), (24, True, n // 2), (8, True, n // 4),
                                (40000, False, 8), (100000, True, 4)):
        nw = size // 8
        mask = None if noscan else (rng.random(nw) < 0.6).astype(np.uint8)
        if mask is not None:
            mask[0] = 1
        a = h.alloc_many(size, noscan, count, mask=mask)
        addrs.append(a)
        if mask is not None:
            offs = np.flatnonzero(mask).astype(np.uint64) * 8
            ptr_words.append((a[:, None] + offs[None, :]).ravel())
    objs = np.concatenate(addrs)
    words = np.concatenate(ptr_words)
    sizes = np.concatenate([np.full(len(a), s, np.uint64) for a, (s, _, _) in zip(
        addrs, ((16, 0, 0), (32, 0, 0), (48, 0, 0), (640, 0, 0), (24, 0, 0), (8, 0, 0),
                (40000, 0, 0), (100000, 0, 0)))])
    take = rng.random(len(words)) < 0.5             # half the pointer words are set
    src = np.ascontiguousarray(words[take])
    k = rng.integers(0, len(objs), len(src))
    interior = (rng.random(len(src)) < 0.2) * rng.integers(0, 1 << 30, len(src))
    dst = np.ascontiguousarray(objs[k] + (interior.astype(np.uint64) % sizes[k]))
    h.store_pointers(src, np.zeros(len(src), np.uint64), dst)
    roots = rng.choice(objs, 20, replace=False)
    slots = h.add_roots(np.ascontiguousarray(roots))
    h.flush_mcaches(False)
    if free_some:
        _mark.mark(h)
        _mark.sweep(h)
    return h, objs, roots, slots


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_rings_mark_the_same_objects(seed):
    h, objs, roots, _ = _mixed_heap(seed)
    out = _assert_all_rings_agree(h)
    assert 0 < out[1] < len(objs)


def test_rings_agree_on_full_spans_and_extra_roots_and_scan_only():
    h, objs, roots, slots = _mixed_heap(7, free_some=False)
    h.remove_roots(slots)
    extra = np.ascontiguousarray(objs[::997])
    scan_only = np.ascontiguousarray(objs[5::1999])
    _assert_all_rings_agree(h, roots=extra, scan_only=scan_only)


def test_long_list_and_random_order_list():
    h = _heap.Heap()
    n = 50000
    a = h.alloc_many(32, False, n, mask=np.array([1, 1, 0, 0], np.uint8))
    p = np.random.default_rng(3).permutation(n)
    h.store_pointers(np.ascontiguousarray(a[p[:-1]]), np.zeros(n - 1, np.uint64),
                     np.ascontiguousarray(a[p[1:]]))
    h.add_root(int(a[p[0]]))
    h.flush_mcaches(False)
    # scan work: up to the last pointer word (2 of 4 words), as Go's scanObjectSmall
    assert _assert_all_rings_agree(h)[:3] == (32 * n, n, 16 * n)


def _bad_pointer_error(h, ring):
    before = h.gcmark_bits.copy()
    with pytest.raises(FatalError, match="found bad pointer in Go heap") as e:
        _mark_with(h, ring=ring)
    np.testing.assert_array_equal(h.gcmark_bits, before)   # a failed mark changes nothing
    return e.value.pointer, e.value.found_in


@pytest.mark.parametrize("where", ["free slot", "span tail", "free page"])
def test_rings_report_the_same_bad_pointer(where):
    h, objs, roots, _ = _mixed_heap(11)
    # a live root whose word 0 is a pointer word (classes 16, 32, 48 have no header)
    src = next(int(a) for a in roots
               if (f := h.find_object(int(a))) and f[2] in (16, 32, 48) and not f[3] & 1)
    spans = h.spans
    if where == "free slot":                        # freed by the first collection
        bad = next(int(a) for a in objs if h.find_object(int(a)) is None
                   and h.page_to_span[(int(a) - _heap.ARENA_START) >> 13] >= 0)
    elif where == "span tail":
        # class 48 (170 slots in 8 KiB): the last 32 bytes of the page are no slot
        si = next(i for i, s in enumerate(spans) if s["state"] == 1 and s["elemsize"] == 48)
        bad = int(spans[si]["base"]) + 8192 - 16
    else:                                           # in the arena's range, not mapped
        bad = _heap.ARENA_START + h.mapped_bytes + 8192
    h.write_word(src, bad)
    errs = {ring: _bad_pointer_error(h, ring) for ring in RINGS}
    assert len(set(errs.values())) == 1, errs
    assert errs[0] == (bad, src)


def test_ring_must_be_a_power_of_two():
    h = _heap.Heap()
    for ring in (-1, 3, 12, 128):
        with pytest.raises(ValueError, match="power of two"):
            _mark.mark(h, ring=ring)


def test_many_spans_random_graph():
    # 1 KiB objects, 8 to a span: ~5000 spans, more than the first span-queue and
    # grey-stack buffers hold, so the batched drain's queue grows and slides.
    h = _heap.Heap()
    n = 40000
    mask = np.zeros(128, np.uint8)
    mask[[0, 5]] = 1
    a = h.alloc_many(1024, False, n, mask=mask)
    rng = np.random.default_rng(5)
    p = rng.permutation(n)
    src = np.concatenate([a[p], a])
    off = np.concatenate([np.zeros(n, np.uint64), np.full(n, 40, np.uint64)])
    dst = np.concatenate([np.roll(a[p], -1), a[rng.integers(0, n, n)]])
    h.store_pointers(np.ascontiguousarray(src), off, np.ascontiguousarray(dst))
    h.add_root(int(a[0]))
    h.flush_mcaches(False)
    assert _assert_all_rings_agree(h)[1] == n
    # ~5000 spans, one object per visit at first: the adaptive mark leaves the batched
    # drain after its first 1024 visits, with thousands of spans queued
    st = {}
    assert _mark.mark(h, stats=st)[1] == n
    assert st["drain"] == "switched" and st["span_visits"] == 1024, st
    assert st["span_objs"] < 4 * 1024
    _mark.clear_marks(h)


@pytest.mark.parametrize("order", ["level", "depth first"])
def test_trees_level_order_and_depth_first(order):
    # A level-order tree (node i -> 2i+1, 2i+2) sends whole spans of children to the
    # batched drain's grey bits (the span of the last ring pointer), and a span is greyed
    # again while it is scanned; a depth-first layout (binary-trees') keeps each left
    # child in its parent's page. A few tail pointers into a partial last span, interior
    # pointers, and 48-byte nodes (heap bits straddling words) too.
    h = _heap.Heap()
    n = 30000
    for size, mask in ((32, [1, 1, 0, 0]), (48, [1, 0, 1, 0, 0, 0])):
        a = h.alloc_many(size, False, n, mask=np.array(mask, np.uint8))
        offs = np.flatnonzero(mask).astype(np.uint64) * 8
        if order == "level":
            node = a
        else:                                       # node k of level order at pre-order slot
            pos = np.empty(n, np.int64)
            stack, nxt = [0], 0
            while stack:
                k = stack.pop()
                pos[k] = nxt
                nxt += 1
                for c in (2 * k + 2, 2 * k + 1):
                    if c < n:
                        stack.append(c)
            node = a[pos]
        i = np.arange(n)
        src, off, dst = [], [], []
        for j, o in enumerate(offs):
            c = 2 * i + 1 + j
            keep = c < n
            src.append(node[i[keep]])
            off.append(np.full(keep.sum(), o, np.uint64))
            dst.append(node[c[keep]] + (8 if j else 0))     # right children: interior
        h.store_pointers(np.ascontiguousarray(np.concatenate(src)), np.concatenate(off),
                         np.ascontiguousarray(np.concatenate(dst)))
        h.add_root(int(node[0]))
    h.flush_mcaches(False)
    assert _assert_all_rings_agree(h)[1] == 2 * n
    if order == "level":
        # whole spans of children per visit: the adaptive mark stays batched
        st = {}
        assert _mark.mark(h, stats=st)[1] == 2 * n
        assert st["drain"] == "batched" and st["span_objs"] > 4 * st["span_visits"], st
        _mark.clear_marks(h)
    for ring in (0, 1, 64):                         # the batched drain with other rings
        out = _mark.mark(h, batched=True, ring=ring)
        assert out[1] == 2 * n
        _mark.clear_marks(h)


def _top_down_tree(depth):
    """(left, right) child indices of a tree built top down as GCBench's Populate builds
    it: a node's two children are allocated together, then the left one's subtree, then
    the right one's; node 0 is the root, -1 no child."""
    n = (1 << (depth + 1)) - 1
    left, right = np.full(n, -1, np.int64), np.full(n, -1, np.int64)
    nxt = 1

    def populate(k, d):
        nonlocal nxt
        if d <= 0:
            return
        left[k], right[k] = nxt, nxt + 1
        nxt += 2
        populate(left[k], d - 1)
        populate(right[k], d - 1)
    populate(0, depth)
    return left, right


@pytest.mark.parametrize("size", [16, 32])
def test_top_down_tree_of_sibling_pairs(size):
    # Siblings side by side, the right one popped first (drain_pipelined fetches the
    # targets of the left one's first two words then): every drain marks the same, with
    # non-heap values and interior pointers in those words, in budgets too, and a bad
    # pointer in a left sibling is reported as by the plain walk.
    h = _heap.Heap()
    left, right = _top_down_tree(11)
    n = len(left)
    mask = np.array([1, 1] + [0] * (size // 8 - 2), np.uint8)
    a = h.alloc_many(size, False, n, mask=mask)
    assert (np.diff(a.astype(np.int64)) == size).mean() > 0.99  # pairs side by side
    inner = np.flatnonzero(left >= 0)
    rng = np.random.default_rng(5)
    dst_l = a[left[inner]] + (rng.random(len(inner)) < 0.1).astype(np.uint64) * 8  # interior
    h.store_pointers(np.ascontiguousarray(np.concatenate([a[inner], a[inner]])),
                     np.concatenate([np.zeros(len(inner), np.uint64),
                                     np.full(len(inner), 8, np.uint64)]),
                     np.ascontiguousarray(np.concatenate([dst_l, a[right[inner]]])))
    leaves = np.flatnonzero(left < 0)
    for k in leaves[::7]:                           # not heap pointers: ignored
        h.write_word(int(a[k]), 0x1000)
        h.write_word(int(a[k]) + 8, (1 << 63) + 8)
    h.add_root(int(a[0]))
    h.flush_mcaches(False)
    ref = _mark_result(h, 0)
    assert ref[0][1] == n
    assert _assert_all_rings_agree(h) == ref[0]
    for budget in (64, 5000):
        m = _mark.MarkState(h)
        m.set_roots()
        while not m.empty:
            m.drain(budget, 0, 1)
        out = (m.bytes_marked, m.nmarked, m.scan_bytes, (m.nspans, m.nlinks, m.scan_large))
        m.stop()
        assert out == ref[0], budget
        np.testing.assert_array_equal(h.gcmark_bits, ref[1])
        _mark.clear_marks(h)
    # a free slot's address in a left sibling's first word (low in the tree, where the
    # right sibling is scanned, and the left one looked into, first)
    k = int(left[right[right[0]]])
    bad = int(a[-1]) + 4 * size                     # past the last object: a free slot
    assert h.find_object(bad) is None
    h.write_word(int(a[k]), bad)
    errs = {ring: _bad_pointer_error(h, ring) for ring in RINGS}
    assert set(errs.values()) == {(bad, int(a[k]))}, errs


@pytest.mark.parametrize("size", [16, 32, 64, 128, 256, 512])
def test_dense_span_words_of_every_power_of_two_size(size):
    # drain_spans scans a grey word whose grey objects are its first n (a level-order
    # tree's spans, the short last word of a span) a heap-bits word at a time: objects of
    # 2 to 64 words with pointers in their first, middle and last words; pointers into
    # the object itself (skipped), into a neighbour in the same grey word (from leaves),
    # nil words, and a bad pointer. Every drain marks the same objects with the same
    # counts and reports the same bad pointer.
    h = _heap.Heap()
    nw = size // 8
    n = 12001
    mask = np.zeros(nw, np.uint8)
    mask[[0, nw // 2, nw - 1]] = 1
    a = h.alloc_many(size, False, n, mask=mask)
    i = np.arange(n)
    words = [0, (nw // 2) * 8, (nw - 1) * 8]
    src, off, dst = [], [], []
    for j, o in enumerate(words[:2]):               # children 2i+1, 2i+2 (level order)
        c = 2 * i + 1 + j
        keep = c < n                                # leaves: nil words
        src.append(a[i[keep]])
        off.append(np.full(keep.sum(), o, np.uint64))
        dst.append(a[c[keep]] + np.uint64(8 * (j % nw)))
    last = words[2]
    leaf = 2 * i + 1 >= n                           # (their child words are free)
    sel = i[leaf & (i % 3 == 0)]                    # into itself: skipped by the scan
    src.append(a[sel])
    off.append(np.full(len(sel), last, np.uint64))
    dst.append(a[sel] + np.uint64(size - 8))
    sel = i[leaf & (i % 3 == 1) & (i + 1 < n)]      # into the next object: its neighbour
    src.append(a[sel])
    off.append(np.full(len(sel), last, np.uint64))
    dst.append(a[sel + 1])
    h.store_pointers(np.ascontiguousarray(np.concatenate(src)), np.concatenate(off),
                     np.ascontiguousarray(np.concatenate(dst)))
    h.add_root(int(a[0]))
    h.flush_mcaches(False)
    ref = _assert_all_rings_agree(h)
    assert ref[1] == n
    st = {}
    assert _mark.mark(h, stats=st) == ref[:3]
    assert st["drain"] == "batched" and st["span_objs"] > 4 * st["span_visits"], st
    _mark.clear_marks(h)
    # a bad pointer (the span tail: 7936 of a page's 8192 bytes hold objects) found in
    # the middle of a dense word: every drain reports it, and no mark bit is left
    src = int(a[n // 2]) + last
    bad = (int(a[n // 3]) & ~8191) + 8192 - 8
    h.write_word(src, bad)
    errs = {ring: _bad_pointer_error(h, ring) for ring in RINGS}
    assert set(errs.values()) == {(bad, src)}, errs


@pytest.mark.parametrize("budget", [64, 1000, 50000])
def test_budgeted_mark_state_batched_and_pipelined_agree(budget):
    # MarkState drains in budgets (the concurrent mark): the batched drain keeps the span
    # it was scanning and its grey bits across calls; both drains end with the
    # stop-the-world mark's bits and counts, the batched one on a level-order tree too.
    h, objs, roots, _ = _mixed_heap(21)
    n = 20000
    a = h.alloc_many(32, False, n, mask=np.array([1, 1, 0, 0], np.uint8))
    i = np.arange(n)
    for j in (1, 2):
        c = 2 * i + j
        keep = c < n
        h.store_pointers(np.ascontiguousarray(a[i[keep]]),
                         np.full(keep.sum(), 8 * (j - 1), np.uint64),
                         np.ascontiguousarray(a[c[keep]]))
    roots = np.concatenate([roots, a[:1]])
    h.flush_mcaches(False)
    ref = _mark_result(h, 0, roots)
    for batched in (False, True):
        m = _mark.MarkState(h, batched=batched)
        m.set_roots(roots)
        steps = 0
        while not m.empty:
            m.drain(budget, 0, 1)
            steps += 1
        out = (m.bytes_marked, m.nmarked, m.scan_bytes, (m.nspans, m.nlinks, m.scan_large))
        m.stop()
        assert out == ref[0], batched
        np.testing.assert_array_equal(h.gcmark_bits, ref[1], err_msg=f"batched={batched}")
        _mark.clear_marks(h)
        assert steps > (2 if budget < 50000 else 0)


def test_adaptive_rule_keeps_dense_spans_batched():
    # A level-order tree of 1 KiB nodes (8 to a span, 2501 spans): each span visit scans
    # several nodes, so after its first 1024 visits the adaptive mark stays batched.
    h = _heap.Heap()
    n = 20001
    mask = np.zeros(128, np.uint8)
    mask[[0, 1]] = 1
    a = h.alloc_many(1024, False, n, mask=mask)
    i = np.arange((n - 1) // 2)
    h.store_pointers(np.ascontiguousarray(np.concatenate([a[i], a[i]])),
                     np.concatenate([np.zeros(len(i), np.uint64), np.full(len(i), 8, np.uint64)]),
                     np.ascontiguousarray(np.concatenate([a[2 * i + 1], a[2 * i + 2]])))
    h.add_root(int(a[0]))
    h.flush_mcaches(False)
    assert _assert_all_rings_agree(h)[1] == n
    st = {}
    assert _mark.mark(h, stats=st)[1] == n
    assert st["drain"] == "batched" and st["span_visits"] > 1024, st
    assert st["span_objs"] >= 4 * 1024
    _mark.clear_marks(h)


def _chain_heap(seed, size, broken=True):
    """A list in allocation order of *size*-byte nodes (pointer words a, b), one root:
    a is the next node (5 % of them an interior pointer); b is set on 1.5 % of the nodes,
    to a node up to 100 away (a fifth of them anywhere) or to the first of the node's
    grey word; the last node's a points back
    (marked already). Every way out of the span drain's chain (scan_chain): two pointers,
    another word, the word's first slot, heap bits straddling two words (48 bytes), a
    marked successor, and the chain itself. Not *broken*: only the list and its end."""
    rng = np.random.default_rng(seed)
    h = _heap.Heap()
    n = 3000 if size < 640 else 400
    mask = np.zeros(size // 8, np.uint8)
    mask[:2] = 1
    a = h.alloc_many(size, False, n, mask=mask)
    nxt = np.append(np.arange(1, n), n - 5)
    dst = a[nxt] + np.where(rng.random(n) < 0.05 * broken, rng.integers(1, size, n), 0).astype(np.uint64)
    h.store_pointers(a.copy(), np.zeros(n, np.uint64), np.ascontiguousarray(dst))
    r = rng.random(n) if broken else np.ones(n)
    far, first = r < 0.01, (r >= 0.01) & (r < 0.015)
    near = np.clip(np.flatnonzero(far) + rng.integers(-100, 100, far.sum()), 0, n - 1)
    near[::5] = rng.integers(0, n, len(near[::5]))    # a fifth anywhere (other pages)
    h.store_pointers(np.ascontiguousarray(a[far]), np.full(far.sum(), 8, np.uint64),
                     np.ascontiguousarray(a[near]))
    h.store_pointers(np.ascontiguousarray(a[first]), np.full(first.sum(), 8, np.uint64),
                     np.ascontiguousarray(a[np.flatnonzero(first) & ~63]))
    h.flush_mcaches(False)
    return h, np.ascontiguousarray(a[:1])


def _drain_calls(h, roots, budget):
    """Every budgeted drain call's counts of a batched MarkState, and the final bits."""
    m = _mark.MarkState(h, batched=True)
    m.set_roots(roots)
    calls = []
    while not m.empty:
        calls.append((m.drain(budget, 1.5, 1, w_span=7, w_link=3),
                       m.nspans, m.nlinks, m.scan_large))
    bits = h.gcmark_bits.copy()
    m.stop()
    _mark.clear_marks(h)
    return calls, bits


@pytest.mark.parametrize("size,broken", [(16, True), (32, True), (48, True), (64, True),
                                         (640, True), (32, False)])
def test_span_drain_chain_changes_no_count(size, broken):
    # scan_chain (a list's successor scanned without its grey bit's round trip) marks,
    # counts and stops every budgeted drain call exactly where the word loop does.
    h, roots = _chain_heap(size, size, broken)
    out = _assert_all_rings_agree(h, roots=roots)
    st = {}
    assert _mark.mark(h, roots, batched=True, stats=st) == out[:3]
    _mark.clear_marks(h)
    assert out[1] > 0.9 * (3000 if size < 640 else 400)
    if size < 640:                              # the chain ran (span visits' objects)
        assert st["span_objs"] > (0.1 if broken else 0.9) * out[1], st
    old = _mark._set_chain(False)
    try:
        ref = {b: _drain_calls(h, roots, b) for b in (50, 700, 20000)}
    finally:
        _mark._set_chain(old)
    for b, (calls, bits) in ref.items():
        got, gbits = _drain_calls(h, roots, b)
        assert got == calls, b
        np.testing.assert_array_equal(gbits, bits)
        assert len(calls) > (3 if b < 20000 else 0)
