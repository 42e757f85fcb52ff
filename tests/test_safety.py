"""Issue 13, "Nothing lost, ever": one regression test per defect (B28 onward in
docs/reliability.md). Each fails on the main of 2026-12-06 (the reason is in its docstring)."""
import copy
import gc as pygc
import pickle

import numpy as np
import pytest

import goruntime as rt
from goruntime import weak
from gocheck import check_invariants

PtrArr = rt.Array(rt.Ptr(rt.Int), 4)
Box = rt.Struct("SafetyBoxT", x=rt.Int, next=rt.Ptr("SafetyBoxT"))


# ---------------------------------------------------------------------------------- B28
def test_b28_store_pointers_with_inputs_aliasing_the_arena(runtime):
    """``src`` is a view of heap words that the batch itself overwrites: store 0 rewrote
    src[1] after the batch was validated, so store 1 wrote into an object that was never
    a target (a segfault when the new value is not a heap address)."""
    heap = runtime.heap
    x = rt.new(PtrArr)                        # 4 pointer words; its words 0 and 1 are "src"
    y, z = rt.new(rt.Int), rt.new(rt.Int)
    z.value = 77
    heap.write_word(x.addr, x.addr)
    heap.write_word(x.addr + 8, x.addr)
    src = heap.view(x.addr, 16).view(np.uint64)
    assert np.shares_memory(src, heap.arena)
    offsets = np.array([8, 0], dtype=np.uint64)
    dst = np.array([z.addr, y.addr], dtype=np.uint64)
    heap.store_pointers(src, offsets, dst)
    # the targets validated before the batch: x+8 and x+0
    assert heap.read_word(x.addr + 8) == z.addr and heap.read_word(x.addr) == y.addr
    assert z.value == 77                      # z (noscan, never a target) is untouched
    # the values alias too: the first store changes what the second would write
    heap.write_word(x.addr + 16, y.addr)
    vals = heap.view(x.addr + 16, 16).view(np.uint64)       # [y, 0]
    heap.store_pointers(np.array([x.addr, x.addr], np.uint64), np.array([24, 16], np.uint64), vals)
    assert heap.read_word(x.addr + 24) == y.addr and heap.read_word(x.addr + 16) == 0
    rt.GC()
    check_invariants(rt.ReadMemStats())


def test_b28_alloc_mask_aliasing_the_arena_is_copied(runtime):
    """A GC mask that is a view of heap memory is read before the allocation changes it."""
    heap = runtime.heap
    m = rt.make(rt.Slice(rt.Uint8), 4)
    for i in range(4):
        m[i] = 1
    mask = m.numpy()
    a = heap.alloc(32, False, mask=mask)
    assert all(heap.is_pointer_word(a + 8 * i) for i in range(4))
    got = heap.alloc_many(32, False, 3, mask=mask)
    assert all(heap.is_pointer_word(int(b) + 8 * i) for b in got for i in range(4))


# ---------------------------------------------------------------------------------- B29
def test_b29_copy_gives_an_independently_rooted_handle(runtime):
    """Cython's auto-pickle made ``copy.copy`` rebuild the handle with the *same* root
    slot: when either copy died, the slot was freed and the object collected while the
    other still held it."""
    p = rt.new(Box)
    p.x = 41
    q = copy.copy(p)
    assert q == p and q is not p
    del p
    pygc.collect()
    rt.GC()
    assert rt.ReadMemStats().HeapObjects == 1
    assert q.x == 41
    s = rt.make(rt.Slice(rt.Int), 3)
    s[2] = 9
    t = copy.copy(s)
    del s
    rt.GC()
    assert (len(t), t.cap, t[2]) == (3, 3, 9)
    del q, t
    rt.GC()
    assert rt.ReadMemStats().HeapObjects == 0


def test_b29_deepcopy_and_pickle_raise_clear_type_errors(runtime):
    p = rt.new(Box)
    s = rt.make(rt.Slice(rt.Int), 3)
    w = weak.Make(p)
    for h in (p, s):
        with pytest.raises(TypeError, match="cannot deepcopy"):
            copy.deepcopy(h)
        for proto in range(pickle.HIGHEST_PROTOCOL + 1):
            with pytest.raises(TypeError, match="cannot pickle"):
                pickle.dumps(h, protocol=proto)
        with pytest.raises(TypeError, match="cannot pickle"):
            h.__reduce__()
    with pytest.raises(TypeError, match="cannot pickle"):
        pickle.dumps(w)
    assert copy.copy(w) == w and copy.deepcopy(w) == w
    for cls in (rt.Pointer, rt.SliceValue):
        assert not hasattr(cls, "__setstate_cython__")
    rt.GC()
    assert rt.ReadMemStats().HeapObjects >= 2 and p.x == 0


def test_b29_a_handle_cannot_be_forged(runtime):
    """A handle made with ``__new__`` (what an unpickler would do) has no heap and no
    address: it roots nothing and every access raises a Python exception."""
    p = rt.Pointer.__new__(rt.Pointer)
    s = rt.SliceValue.__new__(rt.SliceValue)
    assert p.addr == 0 and p.runtime is None and s.addr == 0
    for f in (lambda: p.x, lambda: p.value, lambda: p[0], lambda: setattr(p, "x", 1),
              lambda: setattr(p, "value", 1), lambda: p.field_ptr("x"), lambda: copy.copy(p),
              lambda: copy.copy(s), lambda: s.numpy(), lambda: s[0], lambda: list(s),
              lambda: s.__setitem__(0, 1), lambda: s.ptr(0)):
        with pytest.raises((TypeError, AttributeError, IndexError, ValueError)):
            f()
    q = rt.new(Box)
    with pytest.raises(ValueError, match="different Runtime"):
        q.next = p                            # a forged handle is no pointer of this runtime
    assert q.next is None
    rt.GC()
    check_invariants(rt.ReadMemStats())


# ---------------------------------------------------------------------------------- B30
def test_b30_numpy_view_keeps_the_backing_array_alive(runtime):
    """The view used to be a bare slice of the arena: once the slice handle was dropped,
    a GC freed the array and the view read and wrote whatever was allocated there next."""
    s = rt.make(rt.Slice(rt.Int64), 1000)
    v = s.numpy()
    v[:] = np.arange(1000)
    addr = s.addr
    del s
    pygc.collect()
    rt.GC()
    assert runtime.heap.find_object(addr) is not None
    others = [rt.make(rt.Slice(rt.Int64), 1000) for _ in range(4)]
    for o in others:
        o.numpy()[:] = -1
    assert (v == np.arange(1000)).all()
    w = v[10:20].view(np.uint8)               # a view of the view keeps it too
    del v
    rt.GC()
    assert runtime.heap.find_object(addr) is not None
    assert w.view(np.int64)[0] == 10
    del w
    pygc.collect()
    rt.GC()
    assert runtime.heap.find_object(addr) is None


# ---------------------------------------------------------------------------------- B31
def test_b31_weak_pointers_of_different_runtimes_are_not_equal():
    """Every arena starts at the same emulated address, so the first object of two
    runtimes has the same weak cell address: the weak pointers compared equal."""
    with rt.Runtime() as a:
        pa = a.new(Box)
        wa = weak.Make(pa)
    with rt.Runtime() as b:
        pb = b.new(Box)
        wb = weak.Make(pb)
    assert wa._addr == wb._addr               # the premise: same cell address
    assert wa != wb and not (wa == wb)
    assert len({wa, wb}) == 2
    assert wa == weak.Make(pa) and hash(wa) == hash(weak.Make(pa))
    assert weak.Make(None) == weak.Make(None)


# ---------------------------------------------------------------------------------- B32
def _gc_at_line(k, code_names):
    """A trace function that runs ``rt.GC()`` at the k-th line executed in a function
    named in *code_names* (what a signal handler doing a GC there would do)."""
    seen = [0]

    def local(frame, event, arg):
        if event == "line":
            if seen[0] == k:
                rt.GC()
            seen[0] += 1
        return local

    def tracer(frame, event, arg):
        if event == "call" and frame.f_code.co_name in code_names:
            return local
        return None
    return tracer, seen


@pytest.mark.parametrize("what", ["make", "string", "new"])
def test_b32_allocation_and_rooting_are_one_step(runtime, what):
    """``Runtime.make`` allocated, then rooted in a second Python statement: a GC run
    between them (from a signal handler) freed the new array, and the next allocation
    was given the same memory while the slice still pointed at it."""
    import sys
    k = 0
    while True:
        tracer, seen = _gc_at_line(k, {what})
        sys.settrace(tracer)
        try:
            if what == "make":
                v = rt.make(rt.Slice(rt.Int64), 100)
            elif what == "string":
                v = runtime.string("x" * 800)
            else:
                v = rt.new(rt.Array(rt.Int64, 100))
        finally:
            sys.settrace(None)
        addr = v.addr if what != "string" else v[0]
        rt.GC()
        assert runtime.heap.find_object(addr) is not None, (what, k)
        other = rt.make(rt.Slice(rt.Int64), 100)
        other.numpy()[:] = -1
        if what == "make":
            assert (v.numpy() == 0).all(), k
        elif what == "string":
            assert bytes(runtime.heap.view(v[0], 800)) == b"x" * 800, k
        else:
            assert v[99] == 0, k
        del v, other
        if seen[0] <= k:
            break
        k += 1
    assert k >= 3
    rt.GC()
    assert rt.ReadMemStats().HeapObjects == 0
