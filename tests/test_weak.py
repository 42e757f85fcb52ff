"""Weak pointers (package weak), checked against Go 1.27.3 in both scheduler modes.

Sources, with the same assertions as Go:

- Go's ``src/weak/pointer_test.go`` (every test; spec §9 and §6.4);
- the spec's Appendix B (a weak pointer made before a resurrection stays nil, a new one is
  unequal), X6-style tiny blocks and X14 (``weak.Make`` allocates one 16-byte handle the
  first time per (object, offset));
- ``tests/go/semantics/immortal_weak`` for zero-size objects, which stand in for Go's
  globals (the emulated program has none).

Every test is parametrized over ``scheduler="cooperative"`` and ``scheduler="threads"``.
"""
import time

import pytest

import goruntime as rt
from gocheck import MS, wait_for
from goruntime import weak


# Go: type T struct { t *T; a int; b int } (pointerful: never tiny-allocated).
T = rt.Struct("weakT", t=rt.Ptr("weakT"), a=rt.Int, b=rt.Int)
T.size                                                       # resolve the name now
Z = rt.Struct("Z")


def test_pointer(r):
    """TestPointer: Value is the object while it lives, nil once it has been collected."""
    assert weak.Pointer().Value() is None                 # the zero value
    assert weak.Make(None).Value() is None
    bt = rt.new(T)
    wt = weak.Make(bt)
    assert wt.Value() == bt
    rt.GC()                                               # bt is still referenced
    assert wt.Value() == bt
    bt = None
    rt.GC()                                               # bt is no longer referenced
    assert wt.Value() is None


def test_pointer_equality(r):
    """TestPointerEquality: one handle per (object, offset); distinct objects unequal."""
    assert weak.Pointer() == weak.Make(None)
    bt = [rt.new(T) for _ in range(10)]
    wt = [weak.Make(b) for b in bt]
    wo = [weak.Make(b.field_ptr("a")) for b in bt]        # weak.Make(&bt[i].a)

    def check():
        for i in range(10):
            st = wt[i].Value()
            assert st == bt[i]
            assert weak.Make(st) == wt[i]
            assert weak.Make(st.field_ptr("a")) == wo[i]
            assert wo[i] != wt[i]                         # a different offset, a different handle
            if i:
                assert wt[i] != wt[i - 1]

    check()
    rt.GC()                                               # bt is still referenced
    check()
    bt = None
    rt.GC()                                               # bt is no longer referenced
    for i in range(10):
        assert wt[i].Value() is None
        assert wo[i].Value() is None
        if i:
            assert wt[i] != wt[i - 1]


def test_pointer_finalizer(r):
    """TestPointerFinalizer: nil at the GC that queues the finalizer, before it runs; stays nil."""
    bt = rt.new(T)
    wt = weak.Make(bt)
    done = rt.Chan(1)
    seen = []

    def fin(bt):
        seen.append(wt.Value() is None)                   # "weak pointer did not go nil before..."
        done.send(True)

    rt.SetFinalizer(bt, fin)
    rt.GC()                                               # bt is live
    assert wt.Value() is not None, "weak pointer went nil too soon"
    rt.KeepAlive(bt)
    bt = None
    rt.GC()                                               # queues the finalizer
    assert wt.Value() is None, "weak pointer did not go nil when finalizer was enqueued"
    done.recv()
    assert seen == [True]
    rt.GC()
    assert wt.Value() is None, "weak pointer is non-nil even after finalization"


def test_pointer_cleanup(r):
    """TestPointerCleanup: nil when the cleanup is queued, and when it runs."""
    bt = rt.new(T)
    wt = weak.Make(bt)
    done = rt.Chan(1)
    seen = []

    def cleanup(_):
        seen.append(wt.Value() is None)
        done.send(True)

    rt.AddCleanup(bt, cleanup, True)
    rt.GC()
    assert wt.Value() is not None, "weak pointer went nil too soon"
    rt.KeepAlive(bt)
    bt = None
    rt.GC()
    assert wt.Value() is None, "weak pointer did not go nil when cleanup was enqueued"
    done.recv()
    assert seen == [True]
    rt.GC()
    assert wt.Value() is None, "weak pointer is non-nil even after cleanup"


def test_pointer_size(r):
    """TestPointerSize: a weak pointer is one word, a pointer to an 8-byte handle cell
    (padded to a 16-byte noscan object). The emulator's weak.Pointer holds exactly that one
    handle (and its runtime and element type, which Go keeps in the static type)."""
    bt = rt.new(T)
    w = weak.Make(bt)
    cell = w._cell
    assert str(cell.type) == "unsafe.Pointer"
    base, slot, elemsize, spanclass = r.heap.find_object(cell.addr)
    assert (base, elemsize, spanclass) == (cell.addr, 16, 5)      # class 2, noscan
    assert r.heap.read_word(cell.addr) == bt.addr
    assert not hasattr(w, "__dict__")


def test_issue_69210_weak_to_strong_during_mark(r):
    """TestIssue69210: Value() during a mark phase must shade the object, otherwise the new
    strong pointer is missed and the next cycle finds a pointer to a freed object.

    Deterministic version: open a heap-triggered cycle (its mark phase stays open while the
    mutator allocates), convert a weak pointer to an object that was unreachable when the
    mark started, finish the cycle, use the object, and GC again under gccheckmark.
    """
    Big = rt.Array(rt.Byte, 4096)
    rt.GC()

    def make_weak():
        return weak.Make(rt.new(T))                       # unreachable at once

    w = make_weak()
    keep = []
    while not r.gc_running:
        keep.append(rt.new(Big))
    bt = w.Value()                                        # strong again, during the mark
    assert bt is not None
    while r.gc_running:
        keep.append(rt.new(Big))
    assert r.heap.find_object(bt.addr) is not None        # survived the cycle it was seen in
    bt.t, bt.a = bt, 12
    rt.GC()
    rt.GC()
    assert bt.a == 12 and bt.t == bt and w.Value() == bt


def test_issue_69210_stress(r):
    """TestIssue69210's shape, briefly: one goroutine collecting in a loop while others
    drop objects, turn weak pointers back into strong ones and write to them."""
    deadline = time.monotonic() + 0.3
    wg = rt.WaitGroup()
    errors = []

    def over():
        return time.monotonic() > deadline

    def collector():
        while not over():
            rt.GC()
            rt.Sleep(MS)
        wg.Done()

    def worker():
        try:
            while not over():
                for _ in range(5):
                    wt = weak.Make(rt.new(T))
                    rt.Sleep(MS)
                    bt = wt.Value()
                    if bt is not None:
                        rt.Sleep(4 * MS)
                        bt.t, bt.a = bt, 12
                        assert bt.a == 12
                    rt.KeepAlive(bt)
        except BaseException as e:                         # noqa: BLE001
            errors.append(e)
        wg.Done()

    wg.Add(1)
    rt.go(collector)
    for _ in range(max(rt.GOMAXPROCS(-1) - 1, 1)):
        wg.Add(1)
        rt.go(worker)
    wg.Wait()
    assert errors == []


def test_issue_70739(r):
    """TestIssue70739: two Makes of the same element of a large slice are equal."""
    x = rt.make(rt.Slice(rt.Ptr(rt.Int)), 4 << 16)
    wx1 = weak.Make(x.ptr(1 << 16))
    wx2 = weak.Make(x.ptr(1 << 16))
    assert wx1 == wx2, "failed to look up special and made duplicate weak handle"
    assert weak.Make(x.ptr(1)) != wx1


def test_immortal_pointer(r):
    """TestImmortalPointer, with a zero-size object standing in for the global: handles of
    one address are equal and never go nil (tests/go/semantics/immortal_weak). Distinct
    offsets of a global cannot be modelled: every zero-size object is at zerobase."""
    immortal = rt.new(Z)
    w0 = weak.Make(immortal)
    assert weak.Make(immortal) == w0, "immortal weak pointers to the same pointer not equal"
    assert weak.Make(rt.new(Z)) == w0                     # all zero-size objects: &zerobase
    assert w0.Value() == immortal
    immortal = None
    rt.GC()
    rt.GC()
    assert w0.Value() is not None and w0.Value() == rt.new(Z)


def test_immortal_pointer_allocates_nothing(r):
    """weak.Make of a zero-size object performs no heap allocation (immortal handle map)."""
    z1, z2 = rt.new(Z), rt.new(Z)
    rt.GC()
    m0 = rt.ReadMemStats()
    w1, w2 = weak.Make(z1), weak.Make(z2)
    m1 = rt.ReadMemStats()
    assert m1.Mallocs - m0.Mallocs == 0
    assert w1 == w2


def test_pointer_tiny(r):
    """TestPointerTiny: at least 3/4 of weak pointers to 1000 dead new(int) are nil after a GC."""
    rt.GC()                                               # clear tiny-alloc caches
    n = 1000

    def make():
        wps = []
        for i in range(n):
            x = rt.new(rt.Int)                            # *x is an int: tiny-allocated
            x.value = i
            wps.append(weak.Make(x))
        return wps

    wps = make()
    rt.GC()
    nil = sum(w.Value() is None for w in wps)
    assert nil >= 3 * n // 4, f"not enough weak pointers are nil: expected at least {3 * n // 4}, got {nil}"


def test_tiny_weak_pointer_waits_for_the_whole_block(r):
    """Spec 6.4: a weak pointer to a tiny object goes nil only when the whole 16-byte block
    dies (like the finalizer in Appendix X6)."""
    rt.GC()
    keep = {}

    def setup():
        a, b = rt.new(rt.Int64), rt.new(rt.Int64)
        assert a.addr & ~15 == b.addr & ~15
        keep["a"] = a
        return weak.Make(b)

    wb = setup()
    for _ in range(3):
        rt.GC()
        assert wb.Value() is not None
    keep.clear()
    rt.GC()
    assert wb.Value() is None


def test_weak_pointer_after_resurrection(r):
    """Appendix B / spec 5.3: the old weak pointer stays nil after a resurrection; a new
    Make is a new, unequal handle that works until the object dies again."""
    saved = []

    def setup():
        o = rt.new(T)
        o.a = 42
        rt.SetFinalizer(o, lambda o: saved.append(o))
        return weak.Make(o)

    w_before = setup()
    rt.GC()
    assert w_before.Value() is None
    wait_for(r, lambda: saved, "the resurrecting finalizer")
    w_after = weak.Make(saved[0])
    assert w_after != w_before
    assert w_after.Value() == saved[0] and w_after.Value().a == 42
    rt.GC()
    assert w_before.Value() is None and w_after.Value() is not None
    saved.clear()
    rt.GC()
    assert w_after.Value() is None and w_before.Value() is None


def test_weak_pointer_does_not_keep_alive_but_its_handle_lives(r):
    """Spec 6.4: the referent is not kept alive; the handle cell lives as long as the
    weak.Pointer value does, so Value() stays a safe nil afterwards."""
    def setup():
        return weak.Make(rt.new(T))

    w = setup()
    m0 = rt.ReadMemStats()
    rt.GC()
    m1 = rt.ReadMemStats()
    assert w.Value() is None
    assert m1.Frees - m0.Frees == 1                       # the T, not the handle
    for _ in range(2):
        rt.GC()
        assert w.Value() is None


@pytest.mark.parametrize("twice", [False, True], ids=["first-time", "twice"])
def test_appendix_x14_weak_make_allocates_one_handle(mode, twice):
    """Appendix X14: weak.Make allocates one 16-byte handle per object the first time;
    making it again allocates nothing."""
    n = 1000
    with rt.Runtime(scheduler=mode):
        objs = [rt.new(T) for _ in range(n)]
        ws = [None] * n
        rt.GC()
        m0 = rt.ReadMemStats()
        for i, o in enumerate(objs):
            ws[i] = weak.Make(o)
            if twice:
                ws[i] = weak.Make(o)
        m1 = rt.ReadMemStats()
        assert (m1.Mallocs - m0.Mallocs) / n == 1.0
        assert (m1.HeapAlloc - m0.HeapAlloc) / n == 16.0
        assert (m1.BySize[2].Mallocs - m0.BySize[2].Mallocs) / n == 1.0
