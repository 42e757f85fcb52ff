"""Finalizers (runtime.SetFinalizer), checked against Go 1.27.3 in both scheduler modes.

Sources, with the same assertions as Go:

- Go's ``src/runtime/mfinal_test.go`` (spec §9): TestFinalizerType, TestFinalizerInterfaceBig,
  TestFinalizerZeroSizedStruct, TestEmptySlice, TestEmptyString, TestFinalizerOnGlobal,
  TestDeferKeepAlive; ``metrics_test.go``: TestReadMetricsFinalizers;
- the spec's Appendix A (A -> B ordering), B (resurrection, re-arming), C (cycles),
  X5 (misuse messages), X6 (tiny neighbour), X7 (concurrency), X8 (order), X14 (allocations);
- Go programs in ``tests/go/semantics/`` for what the appendix does not print (a blocking
  finalizer, a panicking finalizer, the finalizer queue as a GC root, type rules).

Every test that lets finalizers run is parametrized over ``scheduler="cooperative"`` and
``scheduler="threads"``. Where Go's test blocks on a channel (``<-ch``), so does the port: a
finalizer that never runs then shows up as Go's "all goroutines are asleep - deadlock!".
Otherwise the tests wait with a bounded loop (`wait_for`), or sleep as the Go program does
(``rt.Sleep``, virtual time: it returns once every other goroutine is blocked).

Python stands in for Go as follows: a handle in a local variable is a stack root, so Go's
``func() { ... }()`` is a Python helper function and ``x = nil`` is ``x = None``; a
finalizer's Go type comes from its parameter annotation (un-annotated: the object's type).
"""
import time

import pytest

import goruntime as rt
from gocheck import MS, wait_for, settle, drain, metric
from goruntime import _object, metrics, weak


def free_heap_address(r):
    """An address inside the heap arena that no object occupies (freed large-object pages).

    Go's Appendix X5 uses ``syscall.Mmap`` memory; the emulator has no memory outside its
    heap and globals, so a free page of the arena is its "not in allocated block".
    """
    def alloc():
        return rt.new(rt.Array(rt.Byte, 64 << 10)).addr
    addr = alloc()
    rt.GC()
    assert r.heap.in_arena(addr) and r.heap.find_object(addr) is None
    return addr


# Types. Go's tests avoid the tiny allocator with a pointer field; so do these.
P = rt.Struct("finP", v=rt.Int, p=rt.UnsafePointer)          # struct{ v int; p unsafe.Pointer }
# TestFinalizerType's types live in Go's test package, runtime_test (named types are shared
# process-wide by name, so this also keeps them apart from other test files' main.Tint).
Tint = rt.Named("Tint", rt.Int, package="runtime_test").declare_methods(
    "m", pointer_receiver=True)                              # func (*Tint) m()
Tintptr = rt.Named("Tintptr", rt.Ptr(rt.Int), package="runtime_test")   # type Tintptr *int
Tinter = rt.Interface("Tinter", methods=["m"], package="runtime_test")
PTint = rt.Struct("finPTint", v=Tint, p=rt.UnsafePointer)
# tests/go/semantics/setfinalizer_types declares them in package main, Tint without methods.
MainTint = rt.Named("Tint", rt.Int)
MainTinter = rt.Interface("Tinter", methods=["m"])
PMainTint = rt.Struct("finPMainTint", v=MainTint, p=rt.UnsafePointer)
BigValue = rt.Struct("bigValue", fill=rt.Uint64, it=rt.Bool, up=rt.String)
Z = rt.Struct("Z")                                           # struct{}
T = rt.Struct("T", a=rt.Ptr(rt.Int), b=rt.Int)               # Appendix X5
U = rt.Struct("U", x=rt.Ptr(rt.Int))
V = rt.Struct("V", a=rt.Ptr(rt.Int), b=rt.Array(rt.Int, 2))
Small = rt.Struct("small", a=rt.Int32, b=rt.Int32)           # 8 bytes, pointer-free: tiny
Obj = rt.Struct("Obj", id=rt.Int, ptr=rt.Ptr(rt.Int))        # Appendix B
ABNodeB = rt.Struct("B", name=rt.String, pad=rt.Ptr(rt.Int))  # Appendix A
ABNodeA = rt.Struct("A", name=rt.String, b=rt.Ptr(ABNodeB))
CNode = rt.Struct("finCNode", name=rt.String, next=rt.Ptr("finCNode"))   # Appendix C's Node
IdT = rt.Struct("finIdT", p=rt.Ptr(rt.Int), id=rt.Int)       # Appendix X7/X8's T
Leaf = rt.Struct("Leaf", p=rt.Ptr(rt.Int), id=rt.Int)
Holder = rt.Struct("finHolder", leaf=rt.Ptr(Leaf), id=rt.Int)
ObjType = rt.Array(rt.Byte, 320)                             # objtype [320]byte (class 320)
StrHolder = rt.Struct("finStrHolder", s=rt.String)
for _t in (CNode, Holder, ABNodeA):
    _t.size                                                  # resolve names now, not later


# ---------------------------------------------------------------------------------------
# mfinal_test.go

def _finalizer(param, result, body):
    """A Python finalizer whose Go type is ``func(param) result``."""
    def fin(v):
        body(v)
        return [0, 0, 0, 0] if result is not None else None
    fin.__annotations__ = {"v": param}
    if result is not None:
        fin.__annotations__["return"] = result
    return fin


FINALIZER_TYPES = {
    # id: (object's struct, Go type of the finalizer's parameter, result type, Go type passed)
    "*int to func(*int)": (P, rt.Ptr(rt.Int), None, "*int"),
    # Go's table also has obj Tintptr -> func(Tintptr) and obj Tintptr -> func(*int); a handle's
    # dynamic type is always the unnamed *E, so the emulator tests the mirror image instead
    # (obj *int -> func(Tintptr): the same "one of the two is unnamed" rule, spec 5.1).
    "*int to func(Tintptr)": (P, Tintptr, None, "*int"),
    "*Tint to func(*Tint)": (PTint, rt.Ptr(Tint), None, "*runtime_test.Tint"),
    "*Tint to func(Tinter)": (PTint, Tinter, None, "*runtime_test.Tint"),
    "*int to func(any) [4]int64": (P, rt.Any, rt.Array(rt.Int64, 4), "*int"),
}


@pytest.mark.parametrize("case", list(FINALIZER_TYPES))
def test_finalizer_type(r, case):
    """TestFinalizerType: every accepted finalizer type runs after one GC, value intact."""
    S, param, result, passed = FINALIZER_TYPES[case]
    ch = rt.Chan(10)
    got = []

    def finalize(x):
        got.append((str(x.type), x.value))
        ch.send(True)

    def setup():
        v = rt.new(S).field_ptr("v")              # v := &new(T).v
        v.value = 97531                           # *v = 97531
        rt.SetFinalizer(v, _finalizer(param, result, finalize))
        v = None
        done.send(True)

    done = rt.Chan(1)
    rt.go(setup)
    done.recv()
    rt.GC()
    ch.recv()
    assert got == [(passed, 97531)]


def test_finalizer_interface_big(r):
    """TestFinalizerInterfaceBig: a func(any) finalizer gets the *bigValue, contents unchanged."""
    ch = rt.Chan()
    done = rt.Chan(1)
    seen = []

    def fin(v: rt.Any):
        seen.append((str(v.type), v.fill, v.it, v.up))
        ch.close()

    def setup():
        v = rt.new(BigValue)
        v.fill, v.it, v.up = 0xDEADBEEFDEADBEEF, True, "It matters not how strait the gate"
        rt.SetFinalizer(v, fin)
        v = None
        done.send(True)

    rt.go(setup)
    done.recv()
    rt.GC()
    ch.recv()
    assert seen == [("*main.bigValue", 0xDEADBEEFDEADBEEF, True,
                     "It matters not how strait the gate")]


def test_finalizer_zero_sized_struct(r):
    """TestFinalizerZeroSizedStruct (+ spec 1.9): accepted, ignored, never run, no allocation."""
    ran = []
    rt.GC()
    m0 = rt.ReadMemStats()
    z = rt.new(Z)
    rt.SetFinalizer(z, lambda z: ran.append(z))
    rt.SetFinalizer(z, lambda z: ran.append(z))          # not "finalizer already set": ignored
    rt.SetFinalizer(z, 5)                                 # returns before the type check
    rt.SetFinalizer(z, None)
    m1 = rt.ReadMemStats()
    assert m1 == m0
    z = None
    for _ in range(2):
        rt.GC()
        settle()
    assert ran == []


def _adjacent(first, second, size):
    """Allocate pairs until the second object starts right where the first one ends."""
    keep = []
    for _ in range(1000):
        x, y = first(), second()
        if y.addr == x.addr + size:
            return x, y
        keep += [x, y]
    pytest.fail("no adjacent pair of 320-byte objects")


def test_empty_slice(r):
    """TestEmptySlice: an empty reslice x[len(x):] must not keep the next object alive."""
    objsize = 320
    x, y = _adjacent(lambda: rt.make(rt.Slice(rt.Byte), objsize), lambda: rt.new(ObjType), objsize)
    xs = x[objsize:]                                      # the pointer inside xs: not y
    assert len(xs) == 0 and xs.cap == 0 and xs.addr < y.addr
    x = None
    fin = rt.Chan(1)
    rt.SetFinalizer(y, lambda z: fin.send(True))
    y = None
    rt.GC()
    fin.recv()
    rt.KeepAlive(xs)                                      # keep the empty slice alive until here


def test_empty_string(r):
    """TestEmptyString: an empty substring at the end of a heap string does not pin the next object.

    ``r.string`` is ``string(b)`` (the bytes on the heap); Go compiles ``x[len(x):]`` to a
    header that keeps the base pointer (never one past the end), which is what is stored.
    """
    objsize = 320
    h = rt.new(StrHolder)
    for _ in range(1000):
        ptr, n = r.string(bytes(objsize))                 # s := string(b)
        y = rt.new(ObjType)
        if ptr + objsize == y.addr:
            break
    else:
        pytest.fail("no heap string adjacent to a 320-byte object")
    h.s = (ptr, 0)                                        # ss := x[objsize:]
    fin = rt.Chan(1)
    rt.SetFinalizer(y, lambda z: fin.send(True))          # finalizer on what follows the string
    y = None
    rt.GC()
    fin.recv()
    assert h.s == ""
    assert r.heap.find_object(ptr) is not None            # the bytes the empty string points at
    rt.KeepAlive(h)


def test_finalizer_on_global_paths(r):
    """TestFinalizerOnGlobal, as far as the emulator goes.

    Go sets and clears finalizers on package-level ``&Object{}`` values: a silent no-op,
    because the pointer is in the data segment, not the heap. The emulated program has no
    globals, so this checks the two non-heap paths it does have: zero-size objects
    (zerobase) are silently ignored, set and cleared, with no effect on the heap; a pointer
    into the arena that no object occupies is Go's fatal "pointer not in allocated block".
    """
    m0 = rt.ReadMemStats()
    foo1, foo2 = rt.new(rt.Struct("finObject1")), rt.new(rt.Struct("finObject2"))
    rt.SetFinalizer(foo1, lambda p: None)
    rt.SetFinalizer(foo2, lambda p: None)
    rt.SetFinalizer(foo1, None)
    rt.SetFinalizer(foo2, None)
    assert rt.ReadMemStats() == m0
    p = _object.make_pointer(r, r.heap, free_heap_address(r), T)
    with pytest.raises(rt.FatalError) as e:
        rt.SetFinalizer(p, lambda p: None)
    assert str(e.value) == "runtime.SetFinalizer: pointer not in allocated block"


def test_defer_keep_alive(r):
    """TestDeferKeepAlive: ``defer runtime.KeepAlive(x)`` keeps x alive through GC + 1 s."""
    KaT = rt.Named("finKaT", rt.Ptr(rt.Int))             # type T *int: avoids the tiny allocator
    fin_run = []

    def body():
        x = rt.new(KaT)
        rt.SetFinalizer(x, lambda x: fin_run.append(True))
        try:
            rt.GC()
            rt.Sleep(1000 * MS)                           # time.Sleep(time.Second)
            assert not fin_run, "finalizer ran prematurely"
        finally:
            rt.KeepAlive(x)

    body()
    rt.GC()                                               # now x is gone: it does run
    wait_for(r, lambda: fin_run, "the finalizer after KeepAlive's function returned")
    assert fin_run == [True]


def test_keep_alive_is_an_opaque_use(r):
    """runtime.KeepAlive(x) returns nothing and accepts anything, nil included."""
    t = rt.new(P)
    assert rt.KeepAlive(t) is None
    assert rt.KeepAlive(None) is None
    assert rt.KeepAlive(5) is None


def test_read_metrics_finalizers(r):
    """TestReadMetricsFinalizers: 10 finalizers -> queued and executed each +10 exactly."""
    names = ["/gc/finalizers/queued:finalizers", "/gc/finalizers/executed:finalizers"]
    rt.GC()
    before = [metrics.Sample(n) for n in names]
    metrics.Read(before)
    ran = []

    def setup():
        for _ in range(10):
            rt.SetFinalizer(rt.new(rt.Ptr(rt.Int)), lambda _: ran.append(1))   # new(*int)

    setup()
    rt.GC()
    rt.GC()
    wait_for(r, lambda: len(ran) == 10, "10 finalizers")    # BlockUntilEmptyFinalizerQueue
    wait_for(r, lambda: metric(names[1]) == before[1].Value.Uint64() + 10, "the executed count")
    after = [metrics.Sample(n) for n in names]
    metrics.Read(after)
    for b, a in zip(before, after):
        assert a.Value.Uint64() == b.Value.Uint64() + 10, a.Name


# ---------------------------------------------------------------------------------------
# Appendix A, B, C

def test_appendix_a_finalizer_chain_one_object_per_cycle(r):
    """Appendix A: A -> B, both with finalizers: A's finalizer at GC1, B's at GC2."""
    events = rt.Chan(16)

    def setup():
        b = rt.new(ABNodeB)
        b.name = "B"
        a = rt.new(ABNodeA)
        a.name, a.b = "A", b
        rt.SetFinalizer(b, lambda b: events.send("finalizer(B) ran"))
        rt.SetFinalizer(a, lambda a: events.send("finalizer(A) ran; a.b.name=" + a.b.name))

    setup()
    out = []
    for i in range(1, 4):
        rt.GC()
        out.append(f"after GC #{i} (NumGC={rt.ReadMemStats().NumGC}):")
        rt.Sleep(50 * MS)
        out += [f"  cycle {i}: {e}" for e in drain(events)]
    assert out == [
        "after GC #1 (NumGC=1):",
        "  cycle 1: finalizer(A) ran; a.b.name=B",
        "after GC #2 (NumGC=2):",
        "  cycle 2: finalizer(B) ran",
        "after GC #3 (NumGC=3):",
    ]


def test_chain_waits_while_the_first_finalizer_is_queued(r):
    """Spec 5.3: if A's finalizer has not run when the next cycle starts, B waits a cycle.

    The finalizer goroutine is held in a "gate" finalizer, so A's stays queued.
    """
    gate, events = rt.Chan(), rt.Chan(16)
    queued = "/gc/finalizers/queued:finalizers"

    def hold():
        g = rt.new(Leaf)
        rt.SetFinalizer(g, lambda _: (events.send("gate"), gate.recv()))

    hold()
    rt.GC()
    assert events.recv() == "gate"

    def setup():
        b = rt.new(ABNodeB)
        b.name = "B"
        a = rt.new(ABNodeA)
        a.name, a.b = "A", b
        rt.SetFinalizer(b, lambda b: events.send("B"))
        rt.SetFinalizer(a, lambda a: events.send("A"))

    setup()
    q0 = metric(queued)
    rt.GC()
    assert metric(queued) == q0 + 1                  # A
    rt.GC()
    settle()
    assert metric(queued) == q0 + 1                  # B not yet: A is still rooted by the queue
    assert drain(events) == []
    gate.close()
    wait_for(r, lambda: len(events) == 1, "A's finalizer")
    assert drain(events) == ["A"]
    rt.GC()
    assert metric(queued) == q0 + 2
    assert events.recv() == "B"


def test_appendix_b_resurrection_and_rearming(r):
    """Appendix B: resurrect at GC1, freed at GC2; re-armed: GC3, GC4, GC5, freed at GC6."""
    st = {"saved": None, "fin_count": 0, "rearm": False, "w_before": None}
    out = []

    def fin(o):
        st["fin_count"] += 1
        st["saved"] = o                                   # resurrect
        out.append(f"  finalizer ran for id={o.id} (count={st['fin_count']})")
        if st["rearm"]:
            rt.SetFinalizer(o, fin)

    def setup():
        o = rt.new(Obj)
        o.id = 42
        st["w_before"] = weak.Make(o)
        rt.AddCleanup(o, lambda id: out.append(
            f"  cleanup ran for id={id} (object memory is being freed)"), o.id)
        rt.SetFinalizer(o, fin)

    def gc(label):
        rt.GC()
        rt.Sleep(20 * MS)
        out.append(f"{label}: saved!=nil={str(st['saved'] is not None).lower()} "
                   f"finCount={st['fin_count']} "
                   f"wBefore.Value()==nil={str(st['w_before'].Value() is None).lower()}")

    setup()
    gc("GC1 (object unreachable -> finalizer queued, weak cleared)")
    w_after = weak.Make(st["saved"])
    out.append("  weak made after resurrection equals weak made before? "
               + str(w_after == st["w_before"]).lower())
    st["saved"] = None
    gc("GC2 (unreachable again, no finalizer any more -> freed)")
    out.append(f"  wAfter.Value()==nil={str(w_after.Value() is None).lower()}")
    out.append("--- variant: finalizer re-arms itself with SetFinalizer ---")
    st["rearm"], st["fin_count"] = True, 0
    setup()
    gc("GC3")
    st["saved"] = None
    gc("GC4")
    st["saved"], st["rearm"] = None, False
    gc("GC5")
    st["saved"] = None
    gc("GC6")
    assert out == """\
  finalizer ran for id=42 (count=1)
GC1 (object unreachable -> finalizer queued, weak cleared): saved!=nil=true finCount=1 wBefore.Value()==nil=true
  weak made after resurrection equals weak made before? false
  cleanup ran for id=42 (object memory is being freed)
GC2 (unreachable again, no finalizer any more -> freed): saved!=nil=false finCount=1 wBefore.Value()==nil=true
  wAfter.Value()==nil=true
--- variant: finalizer re-arms itself with SetFinalizer ---
  finalizer ran for id=42 (count=1)
GC3: saved!=nil=true finCount=1 wBefore.Value()==nil=true
  finalizer ran for id=42 (count=2)
GC4: saved!=nil=true finCount=2 wBefore.Value()==nil=true
  finalizer ran for id=42 (count=3)
GC5: saved!=nil=true finCount=3 wBefore.Value()==nil=true
  cleanup ran for id=42 (object memory is being freed)
GC6: saved!=nil=false finCount=3 wBefore.Value()==nil=true""".split("\n")


def test_appendix_c_cycles(r):
    """Appendix C: 2-cycles with a finalizer leak forever; a self-loop and a cleanup cycle don't."""
    out, w = [], {}
    count = {"ran": 0, "cleaned": 0}

    def fin(n):
        count["ran"] += 1
        out.append("  finalizer " + n.name)

    def cleanup(s):
        count["cleaned"] += 1
        out.append("  cleanup " + s)

    def node(name, nxt=None):
        n = rt.new(CNode)
        n.name, n.next = name, nxt
        return n

    def setup():
        a = node("A")
        b = node("B", a)
        a.next = b
        rt.SetFinalizer(a, fin)
        rt.SetFinalizer(b, fin)
        w["two"] = weak.Make(a)
        s = node("S")
        s.next = s
        rt.SetFinalizer(s, fin)
        w["self"] = weak.Make(s)
        c = node("C")
        d = node("D", c)
        c.next = d
        rt.SetFinalizer(c, fin)
        w["one"] = weak.Make(c)
        e = node("E")
        f = node("F", e)
        e.next = f
        rt.AddCleanup(e, cleanup, "E")
        rt.AddCleanup(f, cleanup, "F")
        w["clean"] = weak.Make(e)

    setup()
    for _ in range(5):
        rt.GC()
        rt.Sleep(20 * MS)
    out.append(f"after 5 GCs: finalizers run={count['ran']} cleanups run={count['cleaned']}")
    nil = {k: str(v.Value() is None).lower() for k, v in w.items()}
    out += [f"weak A (2-cycle, both fin) nil={nil['two']}",
            f"weak S (self-cycle, fin)   nil={nil['self']}",
            f"weak C (2-cycle, one fin)  nil={nil['one']}",
            f"weak E (2-cycle, cleanups) nil={nil['clean']}"]
    want = """\
  finalizer S
  cleanup E
  cleanup F
after 5 GCs: finalizers run=1 cleanups run=2
weak A (2-cycle, both fin) nil=false
weak S (self-cycle, fin)   nil=true
weak C (2-cycle, one fin)  nil=false
weak E (2-cycle, cleanups) nil=true""".split("\n")
    if r.sched.mode == "cooperative":
        assert out == want
    else:
        # The finalizer and the cleanups run on different goroutines (as in Go), so only
        # the order within each goroutine is fixed.
        def kind(k):
            return [x for x in out if x.startswith("  " + k)]
        assert kind("finalizer") == ["  finalizer S"]
        assert kind("cleanup") == ["  cleanup E", "  cleanup F"]
        assert out[3:] == want[3:]


def test_finalizer_closure_capturing_the_object_keeps_it_alive(r):
    """Spec 5.3: a finalizer closure that captures the object is a root: it never runs."""
    ran = []

    def setup():
        t = rt.new(P)
        w = weak.Make(t)
        rt.SetFinalizer(t, lambda _: ran.append(t.v))
        return w

    w = setup()
    for _ in range(3):
        rt.GC()
        settle()
    assert ran == [] and w.Value() is not None


def test_clearing_a_finalizer_frees_at_the_first_gc(r):
    """SetFinalizer(obj, nil) removes it: no call, and no extra cycle of survival."""
    ran = []

    def setup():
        t = rt.new(P)
        rt.SetFinalizer(t, lambda _: ran.append(1))
        rt.SetFinalizer(t, None)
        rt.SetFinalizer(t, None)                          # no error when there is none
        return weak.Make(t)

    w = setup()
    rt.GC()
    assert w.Value() is None
    settle()
    assert ran == []


# ---------------------------------------------------------------------------------------
# Appendix X5: misuse, exact messages; a failed call changes nothing

def _fin_u(x: rt.Ptr(U)):
    pass


def _fin_two(x: rt.Ptr(T), y: rt.Int):
    pass


def _fin_variadic(*x: rt.Ptr(T)):
    pass


def _fin_none():
    pass


def _fin_any(x: rt.Any):
    pass


def _fin_results(x: rt.Ptr(T)) -> (rt.Int, rt.Error):
    return 0, None


def _fin_tint_to_int(x: rt.Ptr(rt.Int)):
    pass


def _fin_tinter(x: MainTinter):
    pass


# (setup -> the object argument, finalizer, expected FatalError message or None for "ok").
# X5's fin-global and fin-global-bad-func have no counterpart (the emulated program has no
# package-level variables); fin-zero-size* take the same "silently ignored before the
# finalizer's type is checked" path.
MISUSE = {
    "fin-nil-obj": (lambda r: None, None, "runtime.SetFinalizer: first argument is nil"),
    "fin-non-pointer": (lambda r: 5, lambda x: None,
                        "runtime.SetFinalizer: first argument is int, not pointer"),
    "fin-slice": (lambda r: rt.make(rt.Slice(rt.Int), 3), lambda x: None,
                  "runtime.SetFinalizer: first argument is []int, not pointer"),
    "fin-string": (lambda r: "s", lambda x: None,
                   "runtime.SetFinalizer: first argument is string, not pointer"),
    "fin-interior": (lambda r: rt.new(V).field_ptr("b"), lambda x: None,
                     "runtime.SetFinalizer: pointer not at beginning of allocated block"),
    "fin-interior-small-noscan-elem": (lambda r: rt.new(T).field_ptr("b"), lambda x: None, None),
    "fin-zero-size-bad-func": (lambda r: rt.new(Z), 5, None),
    "fin-not-func": (lambda r: rt.new(T), 5,
                     "runtime.SetFinalizer: second argument is int, not a function"),
    "fin-wrong-type": (lambda r: rt.new(T), _fin_u,
                       "runtime.SetFinalizer: cannot pass *main.T to finalizer func(*main.U)"),
    "fin-two-args": (lambda r: rt.new(T), _fin_two,
                     "runtime.SetFinalizer: cannot pass *main.T to finalizer func(*main.T, int)"),
    "fin-variadic": (lambda r: rt.new(T), _fin_variadic,
                     "runtime.SetFinalizer: cannot pass *main.T to finalizer func(...*main.T) "
                     "because dotdotdot"),
    "fin-no-args": (lambda r: rt.new(T), _fin_none,
                    "runtime.SetFinalizer: cannot pass *main.T to finalizer func()"),
    "fin-Tint-to-int": (lambda r: rt.new(PMainTint).field_ptr("v"), _fin_tint_to_int,
                        "runtime.SetFinalizer: cannot pass *main.Tint to finalizer func(*int)"),
    "fin-int-to-Tinter": (lambda r: rt.new(P).field_ptr("v"), _fin_tinter,
                          "runtime.SetFinalizer: cannot pass *int to finalizer func(main.Tinter)"),
    "fin-not-heap": (lambda r: _object.make_pointer(r, r.heap, free_heap_address(r), T),
                     lambda x: None, "runtime.SetFinalizer: pointer not in allocated block"),
    "fin-zero-size": (lambda r: rt.new(Z), lambda x: None, None),
    "fin-interface-arg": (lambda r: rt.new(T), _fin_any, None),
    "fin-with-results": (lambda r: rt.new(T), _fin_results, None),
    "fin-tiny-interior": (lambda r: rt.new(Small).field_ptr("b"), lambda x: None, None),
}

HEAP_FIELDS = ("Mallocs", "Frees", "HeapAlloc", "TotalAlloc", "HeapObjects", "HeapInuse",
               "HeapSys", "NumGC", "BySize")


@pytest.mark.parametrize("case", list(MISUSE))
def test_appendix_x5_set_finalizer_misuse(mode, case):
    """Appendix X5 (+ setfinalizer_types): Go's exact fatal errors; a failed call changes nothing."""
    setup, finalizer, message = MISUSE[case]
    with rt.Runtime(scheduler=mode, godebug="gccheckmark=1") as r:
        obj = setup(r)
        m0 = rt.ReadMemStats()
        if message is None:
            rt.SetFinalizer(obj, finalizer)
            m1 = rt.ReadMemStats()
            assert [getattr(m1, f) for f in HEAP_FIELDS] == [getattr(m0, f) for f in HEAP_FIELDS]
            return
        with pytest.raises(rt.FatalError) as e:
            rt.SetFinalizer(obj, finalizer)
        assert str(e.value) == message
        assert not isinstance(e.value, rt.Panic)           # a throw, not a recoverable panic
        assert rt.ReadMemStats() == m0                     # nothing allocated or registered


def test_appendix_x5_already_set_keeps_the_first_finalizer(mode):
    """fin-already-set is fatal and leaves the first finalizer in place; nil clears it."""
    with rt.Runtime(scheduler=mode) as r:
        ran = []

        def setup():
            t = rt.new(T)
            rt.SetFinalizer(t, lambda _: ran.append("first"))
            m0 = rt.ReadMemStats()
            with pytest.raises(rt.FatalError, match="^runtime.SetFinalizer: finalizer already set$"):
                rt.SetFinalizer(t, lambda _: ran.append("second"))
            assert rt.ReadMemStats() == m0
            u = rt.new(T)                                  # fin-reset-after-nil: fine
            rt.SetFinalizer(u, lambda _: ran.append("u1"))
            rt.SetFinalizer(u, None)
            rt.SetFinalizer(u, lambda _: ran.append("u2"))

        setup()
        rt.GC()
        wait_for(r, lambda: len(ran) == 2, "two finalizers")
        assert sorted(ran) == ["first", "u2"]


def test_tiny_interior_finalizer_gets_the_registered_pointer(r):
    """Spec 5.2: the finalizer receives the exact (interior) pointer that was registered.

    The object sits in the P's current tiny block, which every GC marks at mark start
    (spec 1.8), so it survives GC1 and is finalized at GC2, as in Go
    (tests/go/semantics/tiny_interior_finalizer).
    """
    got = rt.Chan(1)
    rt.GC()

    def setup():
        s = rt.new(Small)
        b = s.field_ptr("b")
        rt.SetFinalizer(b, lambda p: got.send((p.addr, str(p.type))))
        return b.addr

    addr = setup()
    out = []
    for i in range(1, 4):
        rt.GC()
        settle()
        v = drain(got)
        out.append((i, v))
    assert out == [(1, []), (2, [(addr, "*int32")]), (3, [])]


@pytest.mark.parametrize("size", [1024, 40000])
def test_finalizer_on_header_and_large_objects(r, size):
    """Objects with a malloc header (> 512 B, pointerful) and large objects are finalized too."""
    Big = rt.Struct(f"finBig{size}", p=rt.Ptr(rt.Int), pad=rt.Array(rt.Byte, size - 8))
    got = rt.Chan(1)

    def setup():
        b = rt.new(Big)
        rt.SetFinalizer(b, lambda b: got.send(b.addr))
        return b.addr

    addr = setup()
    rt.GC()
    assert got.recv() == addr


# ---------------------------------------------------------------------------------------
# Appendix X6, X7, X8, X14

def test_appendix_x6_tiny_finalizer_blocked_by_live_neighbour(r):
    """Appendix X6: b's finalizer waits while a (same 16-byte block) lives; runs on GC4."""
    ran = rt.Chan(4)
    keep = {}
    out = []

    def setup():
        rt.GC()                                           # start from a clean tiny block
        a, b = rt.new(rt.Int64), rt.new(rt.Int64)
        out.append(f"same 16-byte block={str(a.addr & ~15 == b.addr & ~15).lower()}")
        rt.SetFinalizer(b, lambda _: ran.send("finalizer(b)"))
        keep["a"] = a

    setup()
    for i in range(1, 6):
        if i == 4:
            keep.clear()
        rt.GC()
        rt.Sleep(20 * MS)
        s = drain(ran)
        live = "a still live" if i <= 3 else "a dropped"
        out.append(f"GC {i} ({live}): " + (f"{s[0]} ran" if s else "finalizer(b) has NOT run"))
    assert out == [
        "same 16-byte block=true",
        "GC 1 (a still live): finalizer(b) has NOT run",
        "GC 2 (a still live): finalizer(b) has NOT run",
        "GC 3 (a still live): finalizer(b) has NOT run",
        "GC 4 (a dropped): finalizer(b) ran",
        "GC 5 (a dropped): finalizer(b) has NOT run",
    ]


@pytest.mark.parametrize("procs", [2, 8, 16])
def test_appendix_x7_finalizers_run_one_at_a_time(mode, procs):
    """Appendix X7: at any GOMAXPROCS, at most one finalizer runs at a time.

    Each finalizer "works" for a while: a virtual ``rt.Sleep`` in cooperative mode (other
    goroutines may run meanwhile), a real ``time.sleep`` (GIL released) in threads mode, so
    the maximum is measured on real threads there.
    """
    count = 20
    with rt.Runtime(scheduler=mode, gomaxprocs=procs) as r:
        st = {"running": 0, "max": 0, "done": 0}

        def work(_):
            st["running"] += 1
            st["max"] = max(st["max"], st["running"])
            if mode == "threads":
                time.sleep(0.002)
            else:
                rt.Sleep(20 * MS)
            st["running"] -= 1
            st["done"] += 1

        def setup():
            for i in range(count):
                t = rt.new(IdT)
                t.id = i
                rt.SetFinalizer(t, work)

        setup()
        rt.GC()
        wait_for(r, lambda: st["done"] == count, f"{count} finalizers")
        assert st["max"] == 1


def test_appendix_x8_finalizer_order_and_weak_timing(r):
    """Appendix X8: finalizers run newest-queued first ([9..0]); weak is nil before the
    finalizer runs; the cleanup runs one cycle later."""
    order = []
    rt.GC()

    def setup():
        for i in range(10):
            t = rt.new(IdT)
            t.id = i
            rt.SetFinalizer(t, lambda t: order.append(t.id))

    setup()
    rt.GC()
    rt.Sleep(50 * MS)
    assert order == [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]

    events = rt.Chan(10)
    w = {}

    def setup2():
        t = rt.new(IdT)
        t.id = 99
        w["t"] = weak.Make(t)
        rt.AddCleanup(t, lambda _: events.send(
            f"cleanup ran (weak nil={str(w['t'].Value() is None).lower()})"), 0)
        rt.SetFinalizer(t, lambda t: events.send(
            f"finalizer ran (weak nil={str(w['t'].Value() is None).lower()})"))

    setup2()
    out = []
    for i in range(1, 4):
        rt.GC()
        out.append(f"after GC {i}: weak nil={str(w['t'].Value() is None).lower()}")
        rt.Sleep(30 * MS)
        out += ["    " + e for e in drain(events)]
    assert out == [
        "after GC 1: weak nil=true",
        "    finalizer ran (weak nil=true)",
        "after GC 2: weak nil=true",
        "    cleanup ran (weak nil=true)",
        "after GC 3: weak nil=true",
    ]


def test_appendix_x14_set_finalizer_allocates_nothing(mode):
    """Appendix X14: SetFinalizer performs no heap allocation (the record is off-heap)."""
    n = 1000
    with rt.Runtime(scheduler=mode):
        objs = []
        for _ in range(n):
            objs.append(rt.new(IdT))
        rt.GC()
        m0 = rt.ReadMemStats()
        fin = lambda t: None                              # noqa: E731
        for o in objs:
            rt.SetFinalizer(o, fin)
        m1 = rt.ReadMemStats()
        assert m1.Mallocs - m0.Mallocs == 0
        assert m1.HeapAlloc - m0.HeapAlloc == 0
        assert m1.BySize[2].Mallocs - m0.BySize[2].Mallocs == 0


# ---------------------------------------------------------------------------------------
# The finalizer goroutine

def test_blocking_finalizer_blocks_later_ones_but_not_main(r):
    """A finalizer that waits forever stops the finalizer goroutine; main is unaffected
    (tests/go/semantics/blocking_finalizer; Go: TestFinalizerOrCleanupDeadlock)."""
    never = rt.Chan()
    ran = rt.Chan(10)

    def setup(body):
        t = rt.new(IdT)
        rt.SetFinalizer(t, body)

    setup(lambda _: (ran.send("blocker"), never.recv()))
    rt.GC()
    assert ran.recv() == "blocker"
    assert rt.NumGoroutine() == 1                         # the finalizer goroutine is not counted
    setup(lambda _: ran.send("second"))
    rt.GC()
    for _ in range(3):
        settle()
        rt.GC()
    assert drain(ran) == []                               # blocked behind the first one
    c = rt.Chan(1)                                        # main still works
    c.send(5)
    assert c.recv() == 5
    p = rt.new(IdT)
    p.id = 7
    rt.GC()
    assert p.id == 7
    never.close()                                         # unblock: the queued one runs now
    assert ran.recv() == "second"


def test_queued_finalizer_needs_a_scheduling_point():
    """Cooperative: runtime.GC()'s sweep is one: its caller sweeps a span and yields
    (sweepone; Gosched), so the finalizer goroutine runs before runtime.GC returns (Go
    1.27.3, GOMAXPROCS=1: setup(); runtime.GC() -> ran, queued 1, executed 1, in every
    run: tests/oracle fin_runs_before_gc_returns). ``Runtime.gc``, whose caller does not
    yield (a workload kernel's), only queues: the finalizer runs at the next scheduling
    point, and never if there is none before the program (runtime) ends."""
    ran = []
    with rt.Runtime(scheduler="cooperative") as r:
        def setup(name):
            t = rt.new(IdT)
            rt.SetFinalizer(t, lambda _: ran.append(name))

        setup("first")
        rt.GC()
        assert ran == ["first"] and metric("/gc/finalizers/queued:finalizers") == 1
        assert metric("/gc/finalizers/executed:finalizers") == 1
        setup("second")
        r.gc()
        r.gc()
        r.read_mem_stats()
        assert ran == ["first"] and metric("/gc/finalizers/queued:finalizers") == 2
        assert metric("/gc/finalizers/executed:finalizers") == 1
    assert ran == ["first"]                               # "exit": pending finalizers don't run


def test_no_finalizer_without_a_gc(r):
    """Clorder in Appendix X8: an unreachable object's finalizer never runs without a GC."""
    ran = []

    def setup():
        t = rt.new(IdT)
        rt.SetFinalizer(t, lambda _: ran.append("finalizer at exit ran (unexpected)"))

    setup()
    for _ in range(5):
        rt.Gosched()
        rt.Sleep(10 * MS)
    assert ran == []


def test_queued_finalizer_keeps_object_and_referents_alive(r):
    """The finalizer queue is a root (spec 3.4): while an object's finalizer waits in the
    queue, the object and what it references survive further cycles
    (tests/go/semantics/queued_finalizer_root)."""
    gate, events = rt.Chan(), rt.Chan(10)

    def hold():
        g = rt.new(Leaf)
        g.id = -1
        rt.SetFinalizer(g, lambda _: (events.send("gate finalizer started"), gate.recv()))

    hold()
    rt.GC()
    assert events.recv() == "gate finalizer started"
    w = {}

    def setup():
        o = rt.new(Holder)
        o.id, o.leaf = 1, rt.new(Leaf)
        o.leaf.id = 2
        w["obj"], w["leaf"] = weak.Make(o), weak.Make(o.leaf)
        rt.AddCleanup(o.leaf, lambda _: events.send("cleanup(leaf)"), 0)
        rt.SetFinalizer(o, lambda o: events.send(f"finalizer(obj) leaf.id={o.leaf.id}"))

    setup()
    out = []
    for i in range(1, 4):
        rt.GC()
        settle()
        out.append(f"GC {i} (fing blocked): wObj nil={str(w['obj'].Value() is None).lower()} "
                   f"wLeaf nil={str(w['leaf'].Value() is None).lower()} pending events={len(events)}")
    gate.close()
    wait_for(r, lambda: len(events) == 1, "the queued finalizer")
    out += ["   " + e for e in drain(events)]
    rt.GC()
    settle()
    out.append(f"GC 4 (finalizer ran): wLeaf nil={str(w['leaf'].Value() is None).lower()}")
    wait_for(r, lambda: len(events) == 1, "the leaf's cleanup")
    out += ["   " + e for e in drain(events)]
    assert out == [
        "GC 1 (fing blocked): wObj nil=true wLeaf nil=false pending events=0",
        "GC 2 (fing blocked): wObj nil=true wLeaf nil=false pending events=0",
        "GC 3 (fing blocked): wObj nil=true wLeaf nil=false pending events=0",
        "   finalizer(obj) leaf.id=2",
        "GC 4 (finalizer ran): wLeaf nil=true",
        "   cleanup(leaf)",
    ]


def test_finalizer_that_raises_crashes_the_program(r):
    """A Go finalizer that panics kills the program ("panic: boom 5", exit 2;
    tests/go/semantics/finalizer_panic). goruntime raises the exception in the main
    goroutine at its next scheduling point, with the finalizer goroutine's id and a
    ``goroutine N [running]:`` note. Cooperative, that is inside runtime.GC(): its caller
    yields between swept spans and the finalizer runs then (as in Go with one P); the
    cycle is complete by then. Threads: the finalizer runs on its own thread."""
    def boom(t):
        raise ValueError(f"boom {t.id}")

    def setup():
        t = rt.new(IdT)
        t.id = 5
        rt.SetFinalizer(t, boom)

    setup()
    n = r.gc_record.num_gc
    with pytest.raises(ValueError, match="^boom 5") as e:
        if r.sched.mode == "cooperative":
            rt.GC()
        else:
            rt.GC()                                       # queues only: does not raise
            wait_for(r, lambda: False, "the finalizer's exception")
    assert r.gc_record.num_gc == n + 1
    assert any(n.startswith(f"goroutine {e.value.goroutine_id} [running]:")
               for n in getattr(e.value, "__notes__", []))
    assert e.value.goroutine_id != r.sched.main.id


@pytest.mark.parametrize("finalizer, hint", [
    (print, "a Python function with *args (print is one) is variadic in Go"),
    (lambda *ps: None, "pass a function of one argument, e.g. lambda p: print(p)"),
    (lambda: None, "takes exactly one argument, the pointer; this function takes 0"),
    (lambda a, b: None, "this function takes 2"),
    (_fin_u, "parameter annotation must be a type the pointer can be passed as"),
])
def test_set_finalizer_misuse_hints_for_python_users(finalizer, hint):
    """Go's message stays exactly Go's (str(e)); a hint for Python users is an exception
    note, which tracebacks (and IPython) show under it."""
    with rt.Runtime():
        t = rt.new(T)
        with pytest.raises(rt.FatalError) as e:
            rt.SetFinalizer(t, finalizer)
        assert str(e.value).startswith("runtime.SetFinalizer: cannot pass *main.T to finalizer")
        assert "hint" not in str(e.value)
        (note,) = e.value.__notes__
        assert note.startswith("hint: ") and hint in note
        import traceback
        assert hint in "".join(traceback.format_exception(e.value))


def test_runfinq_frame_is_allocated_once_and_regrown(r):
    # runfinq: frame = mallocgc(16 + nret, nil, true) the first time fing runs a
    # finalizer, and again when one needs a bigger frame (nret: its results, word
    # aligned); the frame stays on fing's stack. Measured on Go 1.27.3 (GOMAXPROCS=1):
    # the first finalizer run allocates 16 bytes; func(*T) (int, int, int) then 40 -> 48.
    ran = []

    def fin(results=None):
        f = _finalizer(rt.Ptr(P), None, ran.append)
        if results:
            f.__annotations__["return"] = results
        return f

    def frames(f):
        a = rt.ReadMemStats()
        p = rt.new(P)                                   # class 2 (16 B), counted out below
        rt.SetFinalizer(p, f)
        p = None
        n = len(ran)
        rt.GC()
        wait_for(r, lambda: len(ran) > n, "the finalizer")
        b = rt.ReadMemStats()
        return [b.BySize[2].Mallocs - a.BySize[2].Mallocs - 1, b.BySize[5].Mallocs - a.BySize[5].Mallocs]

    three = (rt.Int, rt.Int, rt.Int)
    assert [frames(fin()), frames(fin()), frames(fin(three)), frames(fin(three)), frames(fin())] == [
        [1, 0], [0, 0], [0, 1], [0, 0], [0, 0]]
    assert r.finalizers.frame_cap == 40
