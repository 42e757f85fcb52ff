"""The parallel stop-the-world mark (``_gcwork.mark``) marks exactly what the serial one does.

For every shape, any number of workers: the same mark bits, the same
``(bytes_marked, nmarked, scan_bytes)``, ``checkmark`` passes after it; a bad pointer is
Go's fatal error with the heap left as it was. Thread timing decides which worker marks
what, so each case runs several times.
"""
import numpy as np
import pytest

from goruntime import _gcwork, _heap, _mark
from goruntime.errors import FatalError

WORKERS = (1, 2, 3, 4, 8)
REPEAT = 3


def _serial(heap, roots=None, scan_only=None):
    out = _mark.mark(heap, roots, scan_only, ring=0)
    bits = heap.gcmark_bits.copy()
    _mark.clear_marks(heap)
    return out, bits


def _assert_parallel_agrees(heap, roots=None, scan_only=None):
    ref_out, ref_bits = _serial(heap, roots, scan_only)
    for nw in WORKERS:
        for _ in range(REPEAT):
            out = _gcwork.mark(heap, roots, scan_only, nworkers=nw)
            assert out == ref_out, nw
            np.testing.assert_array_equal(heap.gcmark_bits, ref_bits, err_msg=f"nworkers={nw}")
            assert _mark.checkmark(heap, roots, scan_only) == out[1]
            _mark.clear_marks(heap)
    return ref_out


def _linked(n, size, mask, src_idx, dst_idx, root_idx, offs=None):
    h = _heap.Heap()
    a = h.alloc_many(size, False, n, mask=np.array(mask, np.uint8))
    off = np.zeros(len(src_idx), np.uint64) if offs is None else offs
    h.store_pointers(np.ascontiguousarray(a[src_idx]), off, np.ascontiguousarray(a[dst_idx]))
    h.add_root(int(a[root_idx]))
    h.flush_mcaches(False)
    return h, a


def test_list_and_random_order_list():
    n = 30000
    h, _ = _linked(n, 32, [1, 1, 0, 0], np.arange(n - 1), np.arange(1, n), 0)
    assert _assert_parallel_agrees(h) == (32 * n, n, 16 * n)
    p = np.random.default_rng(3).permutation(n)
    h, _ = _linked(n, 32, [1, 1, 0, 0], p[:-1], p[1:], p[0])
    assert _assert_parallel_agrees(h) == (32 * n, n, 16 * n)


def test_balanced_tree():
    n = 2 ** 16 - 1
    i = np.arange((n - 1) // 2)
    src = np.concatenate([i, i])
    dst = np.concatenate([2 * i + 1, 2 * i + 2])
    off = np.concatenate([np.zeros(len(i), np.uint64), np.full(len(i), 8, np.uint64)])
    h, _ = _linked(n, 16, [1, 1], src, dst, 0, off)
    assert _assert_parallel_agrees(h)[1] == n


def test_random_graph_many_workers():
    n = 60000
    rng = np.random.default_rng(9)
    cyc = rng.permutation(n)
    src = np.concatenate([cyc, np.arange(n)])
    dst = np.concatenate([np.roll(cyc, -1), rng.integers(0, n, n)])
    off = np.concatenate([np.zeros(n, np.uint64), np.full(n, 8, np.uint64)])
    h, _ = _linked(n, 32, [1, 1, 0, 0], src, dst, 0, off)
    assert _assert_parallel_agrees(h)[1] == n


def test_wide_fanout_hands_buffers_between_workers():
    # One large array of 20000 pointers: the worker that scans it holds 20000 grey
    # objects at once, far more than two work buffers, while the others wait for work.
    h = _heap.Heap()
    n = 20000
    leaves = h.alloc_many(48, False, n, mask=np.array([1, 0, 0, 0, 0, 0], np.uint8))
    arr = h.alloc(8 * n, False, mask=np.ones(1, np.uint8), count=n)
    h.store_pointers(np.full(n, arr, np.uint64), np.arange(n, dtype=np.uint64) * 8, leaves)
    # each leaf points to the next one (already marked by then, mostly)
    h.store_pointers(np.ascontiguousarray(leaves[:-1]), np.zeros(n - 1, np.uint64),
                     np.ascontiguousarray(leaves[1:]))
    h.add_root(int(arr))
    h.flush_mcaches(False)
    assert _assert_parallel_agrees(h)[1] == n + 1


def _mixed_heap(seed, n=5000):
    """Many size classes, scan and noscan, malloc headers, large objects, interior
    pointers; a first collection frees part of it so spans are partial."""
    rng = np.random.default_rng(seed)
    h = _heap.Heap()
    addrs, words, sizes = [], [], []
    for size, noscan, count in ((16, False, n), (32, False, n), (48, False, n // 2),
                                (640, False, n // 20), (24, True, n // 2), (8, True, n // 4),
                                (40000, False, 8), (300000, False, 2), (100000, True, 4)):
        nw = size // 8
        mask = None if noscan else (rng.random(nw) < 0.6).astype(np.uint8)
        if mask is not None:
            mask[0] = 1
        a = h.alloc_many(size, noscan, count, mask=mask)
        addrs.append(a)
        sizes.append(np.full(count, size, np.uint64))
        if mask is not None:
            offs = np.flatnonzero(mask).astype(np.uint64) * 8
            words.append((a[:, None] + offs[None, :]).ravel())
    objs, sizes, words = np.concatenate(addrs), np.concatenate(sizes), np.concatenate(words)
    src = np.ascontiguousarray(words[rng.random(len(words)) < 0.5])
    k = rng.integers(0, len(objs), len(src))
    interior = ((rng.random(len(src)) < 0.2) * rng.integers(0, 1 << 30, len(src))).astype(np.uint64)
    h.store_pointers(src, np.zeros(len(src), np.uint64), np.ascontiguousarray(objs[k] + interior % sizes[k]))
    roots = rng.choice(objs, 20, replace=False)
    slots = h.add_roots(np.ascontiguousarray(roots))
    h.flush_mcaches(False)
    _mark.mark(h)
    _mark.sweep(h)
    return h, objs, roots, slots


@pytest.mark.parametrize("seed", [1, 2])
def test_mixed_heap(seed):
    h, objs, _, _ = _mixed_heap(seed)
    out = _assert_parallel_agrees(h)
    assert 0 < out[1] < len(objs)


def test_extra_roots_and_scan_only():
    h, objs, _, slots = _mixed_heap(7)
    h.remove_roots(slots)
    live = np.array([a for a in objs[::97] if h.find_object(int(a)) is not None], np.uint64)
    _assert_parallel_agrees(h, roots=np.ascontiguousarray(live[::3]),
                            scan_only=np.ascontiguousarray(live[1::5]))


def test_empty_heap_and_no_roots():
    h = _heap.Heap()
    assert _gcwork.mark(h, nworkers=4) == (0, 0, 0)
    h.alloc_many(32, False, 100, mask=np.array([1, 0, 0, 0], np.uint8))
    h.flush_mcaches(False)
    assert _gcwork.mark(h, nworkers=4) == (0, 0, 0)


@pytest.mark.parametrize("where", ["free slot", "free page", "root"])
def test_bad_pointer(where):
    n = 20000
    h, a = _linked(n, 32, [1, 1, 0, 0], np.arange(n - 1), np.arange(1, n), 0)
    extra = h.alloc_many(32, False, 64, mask=np.array([1, 1, 0, 0], np.uint8))
    h.flush_mcaches(False)
    _mark.mark(h)
    _mark.sweep(h)                              # frees `extra`: its slots are free now
    src = int(a[n // 2])
    if where == "free slot":
        bad = int(extra[3])
    else:
        bad = _heap.ARENA_START + h.mapped_bytes + 8192
    roots = None
    if where == "root":
        roots = np.array([bad], np.uint64)
    else:
        h.write_word(src + 8, bad)
    ref = None
    with pytest.raises(FatalError, match="found bad pointer in Go heap") as e:
        _mark.mark(h, roots, ring=0)
    ref = (e.value.pointer, e.value.found_in)
    before = h.gcmark_bits.copy()
    for nw in WORKERS:
        with pytest.raises(FatalError, match="found bad pointer in Go heap") as e:
            _gcwork.mark(h, roots, nworkers=nw)
        assert (e.value.pointer, e.value.found_in) == ref
        np.testing.assert_array_equal(h.gcmark_bits, before)   # a failed mark changes nothing


def test_nworkers_range():
    h = _heap.Heap()
    for nw in (0, -1, 65):
        with pytest.raises(ValueError, match="nworkers"):
            _gcwork.mark(h, nworkers=nw)


def test_runtime_uses_the_parallel_mark_above_one_p(monkeypatch):
    # A Runtime at GOMAXPROCS=2 marks a stop-the-world mark (runtime.GC) with _gcwork
    # (when the machine has two CPUs),
    # with gccheckmark on; the program's results and allocation counts are those of
    # GOMAXPROCS=1 (the pacer may differ, the marks may not).
    import os

    from goruntime import mgc, runtime, workloads
    calls = []
    real = _gcwork.mark

    def counting(*a, **kw):
        calls.append(kw["nworkers"])
        return real(*a, **kw)

    monkeypatch.setattr(_gcwork, "mark", counting)
    out = {}
    for procs in (1, 2):
        with runtime.Runtime(gomaxprocs=procs, godebug="gccheckmark=1") as r:
            res = workloads.binary_trees(13, runtime=r)
            r.gc()          # a mark done at once (heap-triggered marks are concurrent)
            out[procs] = (res["result"], res["mallocs"], r.gc_record.num_gc > 0)
    assert out[1] == out[2]
    assert out[1][2]
    if (os.cpu_count() or 1) >= 2:
        assert calls and set(calls) == {2}
    else:
        assert not calls
    # at GOMAXPROCS=1 the serial mark (no _gcwork call above); both give the same counts,
    # the Green Tea spans and chain links the modelled cost reads included
    import goruntime as rt
    calls.clear()
    with rt.Runtime(gogc="off") as r:
        T = rt.Struct("StwNode", l=rt.Ptr("StwNode"), r=rt.Ptr("StwNode"))
        keep = [rt.new(T) for _ in range(3000)]
        for a, b in zip(keep, keep[1:]):
            a.l = b
        got = []
        for procs in (1, 2):
            got.append(mgc.stw_mark(procs)(r.heap, None, None))
            _mark.clear_marks(r.heap)
        del keep
    assert got[0] == got[1] and got[0][3] > 0 and got[0][4] >= 2999
    assert calls == ([2] if (os.cpu_count() or 1) >= 2 else [])


# Random heaps (hypothesis): any graph over objects of several size classes (scan and
# noscan, and large objects), any roots and finalizer objects, marks bit for bit and
# count for count as the serial mark, with 2 and 3 workers.
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

_SIZES = ((16, False), (32, False), (48, False), (24, True), (1024, False), (40000, False),
          (64, True))


@st.composite
def _random_heaps(draw):
    seed = draw(st.integers(0, 2 ** 32 - 1))
    n = draw(st.integers(1, 4000))
    degree = draw(st.integers(0, 4))
    kinds = draw(st.lists(st.integers(0, len(_SIZES) - 1), min_size=1, max_size=4, unique=True))
    nroots = draw(st.integers(0, 8))
    nscan = draw(st.integers(0, 4))
    return seed, n, degree, kinds, nroots, nscan


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_random_heaps())
def test_random_heaps_parallel_equals_serial(params):
    seed, n, degree, kinds, nroots, nscan = params
    rng = np.random.default_rng(seed)
    h = _heap.Heap()
    objs, ptr_words = [], []
    per = max(1, n // len(kinds))
    for k in kinds:
        size, noscan = _SIZES[k]
        count = per if size <= 1024 else min(per, 6)
        mask = None if noscan else np.zeros(size // 8, np.uint8)
        if mask is not None:
            mask[: min(4, size // 8)] = 1
            mask[-1] = 1
        a = h.alloc_many(size, noscan, count, mask=mask)
        objs.append(a)
        if mask is not None:
            offs = np.flatnonzero(mask).astype(np.uint64) * 8
            ptr_words.append((a[:, None] + offs[None, :]).ravel())
    objs = np.concatenate(objs)
    if ptr_words and degree:
        words = np.concatenate(ptr_words)
        src = np.ascontiguousarray(rng.choice(words, min(len(words), degree * len(objs)),
                                              replace=False))
        h.store_pointers(src, np.zeros(len(src), np.uint64),
                         np.ascontiguousarray(rng.choice(objs, len(src))))
    roots = np.ascontiguousarray(rng.choice(objs, nroots)) if nroots else None
    scan_only = np.ascontiguousarray(rng.choice(objs, nscan)) if nscan else None
    h.flush_mcaches(False)
    ref_out, ref_bits = _serial(h, roots, scan_only)
    assert _mark.mark(h, roots, scan_only) == ref_out          # the pipelined serial drain
    np.testing.assert_array_equal(h.gcmark_bits, ref_bits)
    _mark.clear_marks(h)
    for nw in (2, 3):
        assert _gcwork.mark(h, roots, scan_only, nworkers=nw) == ref_out
        np.testing.assert_array_equal(h.gcmark_bits, ref_bits)
        _mark.clear_marks(h)


@pytest.mark.parametrize("budget", [100, 5000])
def test_mark_state_drain_to_the_end_on_workers(budget):
    # The concurrent mark: a few budgeted steps on one thread (a ring of found pointers
    # and a grey stack left over), pointer stores under the write barrier, then the drain
    # to the end on 1..4 workers: the same bits and counts as with the serial drain.
    h, objs, roots, _ = _mixed_heap(5)
    n = 20000
    rng = np.random.default_rng(8)
    a = h.alloc_many(32, False, n, mask=np.array([1, 1, 0, 0], np.uint8))
    cyc = rng.permutation(n)
    h.store_pointers(np.ascontiguousarray(a[cyc]), np.zeros(n, np.uint64),
                     np.ascontiguousarray(a[np.roll(cyc, -1)]))
    h.store_pointers(np.ascontiguousarray(a), np.full(n, 8, np.uint64),
                     np.ascontiguousarray(a[rng.integers(0, n, n)]))
    roots = np.concatenate([roots, a[:1]])
    h.flush_mcaches(False)
    static_out, static_bits = _serial(h, roots)
    k = rng.choice(n, 500, replace=False)
    src, dst = np.ascontiguousarray(a[k]), np.ascontiguousarray(a[rng.integers(0, n, 500)])
    old = np.array([h.read_word(int(x) + 8) for x in src], np.uint64)

    def run(nw):
        m = _mark.MarkState(h)
        m.set_roots(roots)
        h.write_barrier = True
        for _ in range(3):
            m.drain(budget, 0, 1)
        h.store_pointers(src, np.full(500, 8, np.uint64), dst)   # shades old and new
        m.drain(0, nworkers=nw)
        assert m.empty
        out = (m.bytes_marked, m.nmarked, m.scan_bytes)
        m.stop()
        bits = h.gcmark_bits.copy()
        _mark.clear_marks(h)
        h.store_pointers(src, np.full(500, 8, np.uint64), old)  # the heap as it was
        return out, bits

    ref_out, ref_bits = run(1)
    assert ref_out[1] >= static_out[1]
    assert not (static_bits & ~ref_bits).any()  # everything reachable at the start
    for nw in (2, 4):
        for _ in range(REPEAT):
            out, bits = run(nw)
            assert out == ref_out, nw
            np.testing.assert_array_equal(bits, ref_bits, err_msg=f"nworkers={nw}")


def test_mark_state_bad_pointer_on_workers():
    n = 20000
    h, a = _linked(n, 32, [1, 1, 0, 0], np.arange(n - 1), np.arange(1, n), 0)
    bad = _heap.ARENA_START + h.mapped_bytes + 8192
    h.write_word(int(a[n // 2]) + 8, bad)
    m = _mark.MarkState(h)
    m.set_roots()
    with pytest.raises(FatalError, match="found bad pointer in Go heap") as e:
        m.drain(0, nworkers=2)
    assert (e.value.pointer, e.value.found_in) == (bad, int(a[n // 2]) + 8)
    assert not h.gcmark_bits.any()              # the mark was abandoned, no bit left
    with pytest.raises(ValueError, match="nworkers"):
        _mark.MarkState(h).drain(0, nworkers=0)
