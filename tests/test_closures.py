"""Func values and closures (goruntime.closure): what a func value allocates, what a
closure keeps alive, and the errors. The oracle scenario lang_closures compares the same
constructs with Go 1.27.3's MemStats."""
import pickle

import pytest

import goruntime as rt
from goruntime.rodata import FUNCVAL_BASE, TEXT_BASE


@pytest.fixture
def r():
    with rt.Runtime() as r:
        yield r


F = rt.Func(results=[rt.Int])
Holder = rt.Struct("Holder", id=rt.Int, cb=F)


def get(p):
    return p.value


def ident(x):
    return x


def counts(fn):
    a = rt.ReadMemStats()
    out = fn()
    b = rt.ReadMemStats()
    return out, b.Mallocs - a.Mallocs, b.TotalAlloc - a.TotalAlloc, b.BySize


def test_func_without_captures_is_static(r):
    h = rt.new(Holder)

    def three():
        return 3

    _, n, _, _ = counts(lambda: setattr(h, "cb", three))
    assert n == 0
    f = h.cb
    assert isinstance(f, rt.FuncValue) and f() == 3
    assert FUNCVAL_BASE <= f.addr < FUNCVAL_BASE + 0x30000 and not r.heap.in_arena(f.addr)
    g, n, _, _ = counts(lambda: rt.closure(three))
    assert n == 0 and g.addr == f.addr and g() == 3
    # one code address per code: lambdas made in a loop share it
    addrs = set()
    for _ in range(50):
        h.cb = lambda: 7
        addrs.add(h.cb.addr)
    assert len(addrs) == 1
    h.cb = None
    assert h.cb is None


@pytest.mark.parametrize("captured, size", [
    ((5,), 16),                                              # {F; int}
    ((rt.value(rt.Int32, 5),), 16),                          # {F; int32}: the struct is 8-aligned
    (("hello",), 24),                                        # {F; string}
    ((True, None, rt.value(rt.Int32, 1)), 32),               # {F; bool; *int; int32}
    ((None, True, rt.value(rt.Int32, 1)), 24),               # {F; *int; bool; int32}
    ((rt.value(rt.Array(rt.Byte, 100), None),), 112),        # by value up to 128 bytes
])
def test_closure_object_size(r, captured, size):
    p = rt.new(rt.Int)
    captured = tuple(p if c is None else c for c in captured)
    f, n, total, _ = counts(lambda: rt.closure(lambda *a: a, *captured))
    assert (n, total) == (1, size)
    assert r.heap.in_arena(f.addr)
    assert r.heap.read_word(f.addr) >= TEXT_BASE


def test_closure_reads_captured_values_from_the_heap(r):
    x = rt.new(rt.Int)                       # a variable captured by reference
    x.value = 41

    def bump(x):
        x.value += 1
        return x.value

    f = rt.closure(bump, x)
    assert f() == 42 and f() == 43 and x.value == 43
    s = rt.closure(lambda a, b, c, d: (a, b, c, d), 1, 2.5, "s", rt.value(rt.Int8, -3))
    assert s() == (1, 2.5, "s", -3)
    assert s.captured == (1, 2.5, "s", -3)
    args = rt.closure(lambda k, a, b=0: k + a + b, 10)
    assert args(1) == 11 and args(1, b=5) == 16


def test_closure_keeps_what_it_captured_alive(r):
    T = rt.Struct("Big", p=rt.Ptr(rt.Int), b=rt.Array(rt.Byte, 56))
    ran = []
    h = rt.new(Holder)
    p = rt.new(T)
    p.b[0] = 42
    rt.SetFinalizer(p, lambda _: ran.append(1))
    h.cb = rt.closure(lambda p: p.b[0], p)
    p = None
    for _ in range(3):
        rt.GC()
        rt.Gosched()
    assert ran == [] and h.cb() == 42
    h.cb = None
    rt.GC()
    rt.Gosched()
    assert ran == [1]
    m0 = rt.ReadMemStats()
    rt.GC()
    m1 = rt.ReadMemStats()
    assert m1.HeapObjects - m0.HeapObjects == -1          # the 64-byte object (closure went first)


def test_closure_handle_roots_it_and_slots_hold_it(r):
    p = rt.new(rt.Int)
    p.value = 9
    f = rt.closure(get, p)
    p = None
    rt.GC()
    assert f() == 9                          # the handle roots the closure, it the int
    s = rt.make(rt.Slice(F), 3)
    s[1] = f
    m = rt.make(rt.Map(rt.Int, F))
    m[7] = f
    f = None
    rt.GC()
    assert s[1]() == 9 and m[7]() == 9 and s[0] is None
    a0 = rt.ReadMemStats().HeapObjects
    s[1] = None
    rt.GC()
    assert rt.ReadMemStats().HeapObjects == a0       # the map still holds it
    del m[7]
    rt.GC()
    assert rt.ReadMemStats().HeapObjects == a0 - 2   # closure and int freed


def test_closure_in_interface(r):
    box = rt.new(rt.Any)
    box.value = rt.closure(ident, 4)
    got = box.value
    assert isinstance(got, rt.FuncValue) and got() == 4 and got.type == rt.Func()
    typed = rt.closure(ident, 5, type=F)
    box.value = typed
    assert box.value.type == F and box.value() == 5
    with pytest.raises(TypeError, match="interface value"):
        box.value = ident                    # a bare Python function has no Go type


def test_go_statement_runs_a_func_value(r):
    out = []
    p = rt.new(rt.Int)
    p.value = 6
    f = rt.closure(lambda p, k: out.append(p.value + k), p)
    rt.go(f, 1)
    for _ in range(10):
        rt.Gosched()
    assert out == [7]


def test_errors_change_nothing(r):
    h = rt.new(Holder)
    m = rt.make(rt.Map(rt.Int, rt.Int))
    mh = rt.new(rt.Struct("MapHolder", m=rt.Map(rt.Int, rt.Int)))
    before = rt.ReadMemStats()
    with pytest.raises(TypeError, match="callable"):
        rt.closure(3)
    with pytest.raises(TypeError, match="cannot capture"):
        rt.closure(ident, object())
    with pytest.raises(TypeError, match="func type"):
        rt.closure(ident, 1, type=rt.Int)
    with pytest.raises(OverflowError):
        rt.closure(ident, 1, rt.value(rt.Int8, 1000))
    with pytest.raises(TypeError, match=r"cannot use x \(variable of type func\(int\)\) as func\(\) int"):
        h.cb = rt.closure(ident, 1, type=rt.Func([rt.Int]))
    with pytest.raises(TypeError):
        h.cb = 5
    with pytest.raises(TypeError, match="cannot use"):
        mh.m = rt.closure(ident, 1, type=F)
    with pytest.raises(TypeError):
        h.cb = m                             # a map is not a func
    after = rt.ReadMemStats()
    # the failed stores allocated only the closures they were given (made before the store)
    assert after.Mallocs - before.Mallocs == 2
    with rt.Runtime() as other:
        g = rt.closure(ident, 1)
    with pytest.raises(ValueError, match="different Runtime"):
        h.cb = g
    with pytest.raises(TypeError):
        pickle.dumps(rt.closure(ident, 1))
    with pytest.raises(TypeError):
        rt.FuncValue()
    other.close()
