"""Cleanups (runtime.AddCleanup, Cleanup.Stop), checked against Go 1.27.3 in both scheduler modes.

Sources, with the same assertions as Go:

- Go's ``src/runtime/mcleanup_test.go`` (every test) and ``metrics_test.go``'s
  TestReadMetricsCleanups (spec §9);
- the spec's §6.1-6.3 and Appendix C (cleanup cycles are collected), X5 (misuse panics),
  X7 (at most ``max(GOMAXPROCS/4, 1)`` cleanups at a time), X8 (order ``[0..9]``) and X14
  (2 x 16-byte allocations per AddCleanup).

Every test that lets cleanups run is parametrized over ``scheduler="cooperative"`` and
``scheduler="threads"``. Where Go's test blocks on a channel (``<-ch``) so does the port;
elsewhere a bounded loop (`wait_for`) stands for Go's ``BlockUntilEmptyCleanupQueue``.
A cleanup's argument is a Python value (``97531``) standing for Go's ``arg S``.
"""
import collections
import threading
import time

import pytest

import goruntime as rt
from gocheck import MS, wait_for, settle, drain, metric
from goruntime import _object, metrics, weak


# struct{ v int; p unsafe.Pointer }: Go's tests use a pointer field to avoid the tiny allocator.
P = rt.Struct("clP", v=rt.Int, p=rt.UnsafePointer)
PI = rt.Struct("clPI", p=rt.UnsafePointer, i=rt.Int, a=rt.Int, b=rt.Int, c=rt.Int)
PB = rt.Struct("clPB", p=rt.Ptr(rt.Byte), f=rt.Int)         # struct{ p *byte; f int }
T = rt.Struct("T", a=rt.Ptr(rt.Int), b=rt.Int)               # Appendix X5
Z = rt.Struct("Z")
IdT = rt.Struct("clIdT", p=rt.Ptr(rt.Int), id=rt.Int)        # Appendix X7/X8's T
CNode = rt.Struct("clNode", name=rt.String, next=rt.Ptr("clNode"))
Holder = rt.Struct("clHolder", t=rt.Ptr(P))
CNode.size                                                   # resolve the name now


def new_v(value=97531):
    """Go: ``v := &new(T).v; *v = value`` -- an interior *int into a pointerful object."""
    v = rt.new(P).field_ptr("v")
    v.value = value
    return v


# ---------------------------------------------------------------------------------------
# mcleanup_test.go

def test_cleanup(r):
    """TestCleanup: the cleanup runs with the supplied argument after one GC."""
    ch, done = rt.Chan(1), rt.Chan(1)
    got = []

    def setup():
        v = new_v()

        def cleanup(x):
            got.append(x)
            ch.send(True)

        rt.AddCleanup(v, cleanup, 97531)
        v = None
        done.send(True)

    rt.go(setup)
    done.recv()
    rt.GC()
    ch.recv()
    assert got == [97531]


def test_cleanup_multiple(r):
    """TestCleanupMultiple: three cleanups on the same pointer all run."""
    ch, done = rt.Chan(3), rt.Chan(1)
    got = []

    def setup():
        v = new_v()

        def cleanup(x):
            got.append(x)
            ch.send(True)

        for _ in range(3):
            rt.AddCleanup(v, cleanup, 97531)
        v = None
        done.send(True)

    rt.go(setup)
    done.recv()
    rt.GC()
    for _ in range(3):
        ch.recv()
    assert got == [97531] * 3


def test_cleanup_zero_sized_struct(r):
    """TestCleanupZeroSizedStruct (+ spec 1.9): accepted, a no-op Cleanup{}, no allocation."""
    rt.GC()
    m0 = rt.ReadMemStats()
    ran = []
    z = rt.new(Z)
    c = rt.AddCleanup(z, lambda s: ran.append(s), "foo")
    assert rt.ReadMemStats() == m0
    assert repr(c) == "Cleanup{}"
    c.Stop()
    z = None
    rt.GC()
    settle()
    assert ran == []


def test_cleanup_after_finalizer(r):
    """TestCleanupAfterFinalizer: first GC -> the finalizer only; second GC -> the cleanup."""
    ch, done = rt.Chan(2), rt.Chan(1)

    def setup():
        v = new_v()

        def cleanup(x):
            assert x == 97531
            ch.send(2)

        rt.AddCleanup(v, cleanup, 97531)
        rt.SetFinalizer(v, lambda x: ch.send(1))
        v = None
        done.send(True)

    rt.go(setup)
    done.recv()
    rt.GC()
    assert ch.recv() == 1
    rt.GC()
    assert ch.recv() == 2


def test_cleanup_interior_pointer(r):
    """TestCleanupInteriorPointer: cleanups on three fields of one object all run."""
    ch, done = rt.Chan(3), rt.Chan(1)
    got = []

    def setup():
        ts = rt.new(PI)
        ts.a = ts.b = ts.c = 97531

        def cleanup(x):
            got.append(x)
            ch.send(True)

        for f in "abc":
            rt.AddCleanup(ts.field_ptr(f), cleanup, 97531)
        ts = None
        done.send(True)

    rt.go(setup)
    done.recv()
    rt.GC()
    for _ in range(3):
        ch.recv()
    assert got == [97531] * 3


@pytest.mark.parametrize("stops", [1, 3])
def test_cleanup_stop(r, stops):
    """TestCleanupStop / TestCleanupStopMultiple: a stopped cleanup never runs; Stop is idempotent."""
    called = []
    done = rt.Chan(1)

    def setup():
        v = new_v()
        c = rt.AddCleanup(v, lambda x: called.append(x), 97531)
        for _ in range(stops):
            c.Stop()
        v = None
        done.send(True)

    rt.go(setup)
    done.recv()
    rt.GC()
    settle()
    rt.GC()
    settle()
    assert called == [], "cleanup called, want no cleanup called"


def test_cleanup_stop_interleaved_multiple(r):
    """TestCleanupStopinterleavedMultiple: of 5 cleanups the 2 stopped ones never run."""
    ch, done = rt.Chan(3), rt.Chan(1)
    got = []

    def setup():
        v = new_v()

        def cleanup(x):
            got.append(x)
            ch.send(True)

        rt.AddCleanup(v, cleanup, 1)
        rt.AddCleanup(v, cleanup, 2).Stop()
        rt.AddCleanup(v, cleanup, 1)
        rt.AddCleanup(v, cleanup, 2).Stop()
        rt.AddCleanup(v, cleanup, 1)
        v = None
        done.send(True)

    rt.go(setup)
    done.recv()
    rt.GC()
    for _ in range(3):
        ch.recv()
    settle()
    assert got == [1, 1, 1]


def test_cleanup_stop_after_cleanup_runs(r):
    """TestCleanupStopAfterCleanupRuns: Stop after the cleanup already ran is harmless."""
    ch, done = rt.Chan(1), rt.Chan(1)
    stop = []

    def setup():
        v = new_v()
        cl = rt.AddCleanup(v, lambda x: ch.send(True), 97531)
        v = None
        stop.append(cl.Stop)
        done.send(True)

    rt.go(setup)
    done.recv()
    rt.GC()
    ch.recv()
    stop[0]()
    stop[0]()
    assert metric("/gc/cleanups/executed:cleanups") == 1


def test_cleanup_pointer_equals_arg(r):
    """TestCleanupPointerEqualsArg: a recoverable panic with exactly Go's string."""
    v = new_v()
    with pytest.raises(rt.Panic) as e:
        rt.AddCleanup(v, lambda x: None, v)
    assert e.value.value == "runtime.AddCleanup: ptr is equal to arg, cleanup will never run"
    v = None
    rt.GC()


@pytest.mark.parametrize("procs", [2, 4])
def test_cleanup_lost(mode, procs):
    """TestCleanupLost: GOMAXPROCS goroutines add cleanups; after one GC and draining the
    queue exactly all of them ran (Go's -short size is 100 per goroutine; 2500 here)."""
    cleanups = 2500
    with rt.Runtime(scheduler=mode, gomaxprocs=procs) as r:
        n = rt.GOMAXPROCS(-1)
        want = n * cleanups
        lock = threading.Lock()
        got = [0]

        def inc(_):
            with lock:
                got[0] += 1

        wg = rt.WaitGroup()

        def worker(i):
            for _ in range(cleanups):
                rt.AddCleanup(new_v(), inc, 97531)
            wg.Done()

        for i in range(n):
            wg.Add(1)
            rt.go(worker, i)
        wg.Wait()
        rt.GC()
        wait_for(r, lambda: got[0] >= want, f"{want} cleanups")      # BlockUntilEmptyCleanupQueue
        settle()
        assert got[0] == want
        assert metric("/gc/cleanups/executed:cleanups") == want


def test_cleanup_unreachable_pointer(r):
    """TestCleanupUnreachablePointer: arg pointing into the object panics."""
    v = rt.new(PB)
    with pytest.raises(rt.Panic) as e:
        rt.AddCleanup(v, lambda x: pytest.fail("cleanup ran unexpectedly"), v.field_ptr("f"))
    assert e.value.value == "runtime.AddCleanup: ptr is within arg, cleanup will never run"


def test_cleanup_unreachable_closure(r):
    """TestCleanupUnreachableClosure: a closure capturing the object panics."""
    v = rt.new(PB)
    with pytest.raises(rt.Panic) as e:
        rt.AddCleanup(v, lambda x: (v.f, pytest.fail("cleanup ran unexpectedly")), 0)
    assert e.value.value == ("runtime.AddCleanup: cleanup function closes over ptr, "
                             "cleanup will never run")


def test_read_metrics_cleanups(r):
    """TestReadMetricsCleanups: 10 cleanups -> queued and executed each +10 exactly."""
    names = ["/gc/cleanups/queued:cleanups", "/gc/cleanups/executed:cleanups"]
    rt.GC()
    before = [metrics.Sample(n) for n in names]
    metrics.Read(before)
    ran = []

    def setup():
        for _ in range(10):
            rt.AddCleanup(rt.new(rt.Ptr(rt.Int)), lambda _: ran.append(1), ())   # new(*int)

    setup()
    rt.GC()
    wait_for(r, lambda: len(ran) == 10, "10 cleanups")
    wait_for(r, lambda: metric(names[1]) == before[1].Value.Uint64() + 10, "the executed count")
    after = [metrics.Sample(n) for n in names]
    metrics.Read(after)
    for b, a in zip(before, after):
        assert a.Value.Uint64() == b.Value.Uint64() + 10, a.Name


# ---------------------------------------------------------------------------------------
# Spec 6.1-6.3

def test_cleanup_cycles_and_chains_are_collected(r):
    """Appendix C / spec 6.2: cycles and chains with cleanups die together, all cleanups run
    in the same cycle, and each weak pointer is nil by then."""
    got = rt.Chan(10)
    ws = []

    def node(name):
        n = rt.new(CNode)
        n.name = name
        rt.AddCleanup(n, lambda s: got.send((s, all(w.Value() is None for w in ws))), name)
        ws.append(weak.Make(n))
        return n

    def setup():
        e, f = node("E"), node("F")
        e.next, f.next = f, e                             # a 2-cycle
        a, b, c = node("A"), node("B"), node("C")
        a.next, b.next = b, c                             # a chain A -> B -> C

    setup()
    rt.GC()
    wait_for(r, lambda: len(got) == 5, "5 cleanups")
    assert sorted(drain(got)) == [(s, True) for s in "ABCEF"]
    rt.GC()
    settle()
    assert drain(got) == []


def test_cleanup_never_receives_the_object(r):
    """Spec 6.2: cleanup(arg) gets the argument, never the object; nothing is resurrected."""
    got = rt.Chan(1)

    def setup():
        t = rt.new(IdT)
        t.id = 7
        rt.AddCleanup(t, lambda a: got.send(a), "arg")
        return weak.Make(t)

    w = setup()
    rt.GC()
    assert w.Value() is None                              # freed by the sweep that queued it
    assert got.recv() == "arg"
    rt.GC()
    assert w.Value() is None


def test_indirect_self_reference_is_not_detected_and_leaks(r):
    """Spec 6.1: a closure capturing something that points to ptr is not detected (one level
    only): AddCleanup succeeds, and the object and its cleanup stay forever."""
    ran = []

    def setup():
        t = rt.new(P)
        h = rt.new(Holder)
        h.t = t
        rt.AddCleanup(t, lambda _: ran.append(h), 0)      # closes over h, and h -> t
        return weak.Make(t)

    w = setup()
    for _ in range(3):
        rt.GC()
        settle()
    assert ran == [] and w.Value() is not None


def test_stop_before_gc_frees_at_the_first_cycle(r):
    """Cleanup.Stop removes the special: the object is freed normally, nothing runs."""
    ran = []

    def setup():
        t = rt.new(P)
        c = rt.AddCleanup(t, lambda _: ran.append(1), 0)
        c.Stop()
        return weak.Make(t)

    w = setup()
    rt.GC()
    assert w.Value() is None
    settle()
    assert ran == []
    rt.Cleanup().Stop()                                   # the zero Cleanup: a no-op


def test_blocked_cleanup_blocks_other_cleanups_but_not_finalizers(r):
    """Spec 6.3: with one cleanup goroutine (GOMAXPROCS 1) a long-running cleanup delays the
    other cleanups; the finalizer goroutine is separate and keeps running."""
    gate, events = rt.Chan(), rt.Chan(10)

    def setup1():
        rt.AddCleanup(rt.new(IdT), lambda _: (events.send("blocker"), gate.recv()), 0)

    setup1()
    rt.GC()
    assert events.recv() == "blocker"

    def setup2():
        rt.AddCleanup(rt.new(IdT), lambda _: events.send("cleanup"), 0)
        rt.SetFinalizer(rt.new(IdT), lambda _: events.send("finalizer"))

    setup2()
    rt.GC()
    wait_for(r, lambda: len(events) == 1, "the finalizer")
    settle()
    assert drain(events) == ["finalizer"]
    gate.close()
    assert events.recv() == "cleanup"


def test_cleanup_goroutines_are_not_counted(r):
    """NumGoroutine leaves out the cleanup goroutines, also while they run a cleanup."""
    seen = rt.Chan(1)

    def setup():
        rt.AddCleanup(rt.new(IdT), lambda _: seen.send(rt.NumGoroutine()), 0)

    setup()
    assert rt.NumGoroutine() == 1
    rt.GC()
    assert seen.recv() == 1
    assert rt.NumGoroutine() == 1


# ---------------------------------------------------------------------------------------
# Appendix X5: misuse panics, exact values; a failed call changes nothing

def _free_heap_pointer(r):
    """A *T to arena memory no object occupies (Go's X5 uses syscall.Mmap memory)."""
    def alloc():
        return rt.new(rt.Array(rt.Byte, 64 << 10)).addr
    addr = alloc()
    rt.GC()
    assert r.heap.in_arena(addr) and r.heap.find_object(addr) is None
    return _object.make_pointer(r, r.heap, addr, T)


def _closure_over(t):
    return lambda x: t.b


# name: (setup -> (ptr, cleanup, arg), expected panic value or None for "ok").
# X5's cl-global has no counterpart (no package-level variables); cl-zero-size takes the
# same "no-op Cleanup{}" path.
MISUSE = {
    "cl-nil": (lambda r: (None, lambda x: None, 0), "runtime.AddCleanup: ptr is nil"),
    "cl-equal": (lambda r: (lambda t: (t, lambda x: None, t))(rt.new(T)),
                 "runtime.AddCleanup: ptr is equal to arg, cleanup will never run"),
    "cl-within": (lambda r: (lambda t: (t, lambda x: None, t.field_ptr("b")))(rt.new(T)),
                  "runtime.AddCleanup: ptr is within arg, cleanup will never run"),
    "cl-closure": (lambda r: (lambda t: (t, _closure_over(t), 0))(rt.new(T)),
                   "runtime.AddCleanup: cleanup function closes over ptr, cleanup will never run"),
    "cl-not-heap": (lambda r: (_free_heap_pointer(r), lambda x: None, 0),
                    "runtime.AddCleanup: ptr not in allocated block"),
    "cl-zero-size": (lambda r: (rt.new(Z), lambda x: None, 0), None),
}


@pytest.mark.parametrize("case", list(MISUSE))
def test_appendix_x5_add_cleanup_misuse(mode, case):
    """Appendix X5: AddCleanup misuse is a recoverable panic whose value is Go's string;
    the heap is unchanged afterwards (the checks come before the two allocations)."""
    setup, message = MISUSE[case]
    with rt.Runtime(scheduler=mode, godebug="gccheckmark=1") as r:
        ptr, cleanup, arg = setup(r)
        m0 = rt.ReadMemStats()
        if message is None:
            c = rt.AddCleanup(ptr, cleanup, arg)
            c.Stop()
            assert rt.ReadMemStats() == m0
            return
        with pytest.raises(rt.Panic) as e:
            rt.AddCleanup(ptr, cleanup, arg)
        assert e.value.value == message and isinstance(e.value.value, str)
        assert not isinstance(e.value, rt.FatalError)
        assert rt.ReadMemStats() == m0


def test_tiny_object_may_be_its_own_arg_block(r):
    """Spec 6.1 step 6: "ptr is within arg" is skipped when the object is a tiny block."""
    Small = rt.Struct("clSmall", a=rt.Int32, b=rt.Int32)
    s = rt.new(Small)
    c = rt.AddCleanup(s, lambda x: None, s.field_ptr("b"))
    c.Stop()


# ---------------------------------------------------------------------------------------
# Appendix X7, X8, X14

@pytest.mark.parametrize("procs", [2, 8, 16])
def test_appendix_x7_cleanup_concurrency(mode, procs):
    """Appendix X7: at most ``max(GOMAXPROCS/4, 1)`` cleanups run at once, each exactly once.

    Three batches of 60 cleanups (3 blocks of 20). Cleanup goroutines are created lazily by
    later AddCleanup calls, so the first batch has one; Go measured 2 and 4 on later batches
    at GOMAXPROCS 8 and 16. A cleanup "works" with a virtual ``rt.Sleep`` in cooperative
    mode and a real ``time.sleep`` (GIL released) in threads mode, where the concurrency is
    real.
    """
    limit = max(procs // 4, 1)
    count = 60
    with rt.Runtime(scheduler=mode, gomaxprocs=procs) as r:
        lock = threading.Lock()
        st = {"running": 0, "max": 0}
        runs = collections.Counter()

        def work(key):
            with lock:
                runs[key] += 1
                st["running"] += 1
                st["max"] = max(st["max"], st["running"])
            if mode == "threads":
                time.sleep(0.003)
            else:
                rt.Sleep(20 * MS)
            with lock:
                st["running"] -= 1

        maxima = []
        for batch in range(3):
            st["max"] = 0

            def setup(batch=batch):
                for i in range(count):
                    t = rt.new(IdT)
                    t.id = i
                    rt.AddCleanup(t, work, (batch, i))

            setup()
            rt.GC()
            wait_for(r, lambda batch=batch: sum(runs.values()) >= count * (batch + 1) and st["running"] == 0,
                     f"batch {batch}")
            maxima.append(st["max"])
        assert {k: n for k, n in runs.items() if n != 1} == {}, "cleanups must run exactly once"
        assert len(runs) == 3 * count
        assert all(1 <= m <= limit for m in maxima), maxima
        if limit > 1:
            assert maxima[-1] >= 2, maxima


def test_appendix_x8_cleanup_order(r):
    """Appendix X8 (clorder): cleanups of objects 0..9 freed together run as [0..9]."""
    order = []
    lock = threading.Lock()
    rt.GC()

    def record(i):
        with lock:
            order.append(i)

    def setup():
        for i in range(10):
            t = rt.new(IdT)
            t.id = i
            rt.AddCleanup(t, record, i)

    setup()
    rt.GC()
    rt.Sleep(50 * MS)
    wait_for(r, lambda: len(order) == 10, "10 cleanups")
    assert order == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]


@pytest.mark.parametrize("arg", [7, "x"], ids=["int", "string"])
def test_appendix_x14_add_cleanup_allocates_two_16_byte_objects(mode, arg):
    """Appendix X14: each AddCleanup makes 2 heap allocations of 16 bytes (class 2)."""
    n = 1000
    with rt.Runtime(scheduler=mode):
        objs = [rt.new(IdT) for _ in range(n)]
        rt.GC()
        m0 = rt.ReadMemStats()
        f = lambda x: None                                # noqa: E731
        for o in objs:
            rt.AddCleanup(o, f, arg)
        m1 = rt.ReadMemStats()
        # ... and the first AddCleanup starts a cleanup goroutine: its g (class 480; Go's
        # +32.6 bytes per call for the first 1000 calls include it, +32.0 afterwards)
        assert m1.Mallocs - m0.Mallocs == 2 * n + 1
        assert (m1.BySize[2].Mallocs - m0.BySize[2].Mallocs) / n == 2.0
        assert m1.BySize[25].Mallocs - m0.BySize[25].Mallocs == 1
        assert 32.0 <= (m1.HeapAlloc - m0.HeapAlloc) / n < 33.0     # Go: +32.6 / +32.0


def test_cleanup_arg_box_has_the_args_type(r):
    """mcleanup.go AddCleanup: ``argv := new(S)`` (a 16-byte pointer-free box when S is
    smaller than 16 bytes and pointer-free), so a []byte argument is a 24-byte box and a
    heap string's box points at its bytes: the box alone keeps them alive until the
    cleanup has run (oracle fid3_cleanup_args)."""
    objs = [rt.new(IdT) for _ in range(3)]
    name = rt.make(rt.Slice(rt.Byte), 40)
    got = []
    done = lambda a: got.append(1)                          # noqa: E731 (keeps no argument)
    rt.GC()
    m0 = rt.ReadMemStats()
    rt.AddCleanup(objs[0], done, rt.make(rt.Slice(rt.Byte), 40))
    rt.AddCleanup(objs[1], done, rt.string(name[:30]))
    rt.AddCleanup(objs[2], done, rt.value(rt.Struct("clPair", a=rt.Int32, b=rt.Int32), {"a": 1}))
    m1 = rt.ReadMemStats()
    by = [m1.BySize[i].Mallocs - m0.BySize[i].Mallocs for i in range(6)]
    # three 16-byte closures, the string's and the pair's 16-byte boxes; the slice's 24-byte
    # box; the string's 32 bytes; the slice's 48-byte array (and the cleanup goroutine's g)
    assert by == [0, 0, 5, 1, 1, 1]
    objs = name = None
    rt.GC()
    wait_for(r, lambda: len(got) == 3, "3 cleanups")
    rt.GC()
    # every box, closure and argument freed (and objs, 16 B, and name, 48 B)
    m2 = rt.ReadMemStats()
    live = [m2.BySize[i].Mallocs - m2.BySize[i].Frees - (m0.BySize[i].Mallocs - m0.BySize[i].Frees)
            for i in range(6)]
    assert live == [0, 0, -3, 0, 0, -1]


# ---------------------------------------------------------------------------
# Which cleanups have run when runtime.GC returns (Go 1.27.3, GOMAXPROCS=1).
#
# Measured with a 60-line Go program, one fresh process per row (2026-12-06): n dead
# [40000]byte objects (a span each), a 32-byte two-object cycle with
# runtime.AddCleanup on one of them and, with `fin`, a third 32-byte object with a
# finalizer, all dropped; runtime.GC(); then the queue metrics
# (/gc/{finalizers,cleanups}/{queued,executed}) read at once. Without a finalizer the
# cleanup had not run for any n in 0..30; with one it had, except for n = 10 and 21
# (the sweep's last span the tenth of a background-sweeper batch). The oracle scenarios
# fid2_cleanup_wait and fid2_cleanup_turns check the same inside the oracle's process.
CLEANUP_AT_GC_RETURN = {(n, fin): fin and n not in (10, 21)
                        for n in (0, 1, 5, 9, 10, 11, 12, 20, 21, 22) for fin in (False, True)}
CycT = rt.Struct("clCycT", id=rt.Int, peer=rt.Ptr("clCycT"), pad=rt.Array(rt.Int, 2))


@pytest.mark.parametrize("n,fin", sorted(CLEANUP_AT_GC_RETURN))
def test_cleanup_flushed_at_sweep_end_runs_before_gc_returns_as_go(n, fin):
    with rt.Runtime(gomaxprocs=1, scheduler="cooperative", clock="virtual"):
        ran = []
        big = [rt.new(rt.Array(rt.Byte, 40000)) for _ in range(n)]
        a, b = rt.new(CycT), rt.new(CycT)
        a.peer, b.peer = b, a
        rt.AddCleanup(a, ran.append, 4)
        e = rt.new(CycT)
        if fin:
            rt.SetFinalizer(e, lambda x: None)
        a = b = e = big = None  # noqa: F841 (drops the roots)
        rt.GC()
        assert metric("/gc/cleanups/queued:cleanups") == 1
        assert (ran == [4]) is CLEANUP_AT_GC_RETURN[(n, fin)]
        assert metric("/gc/cleanups/executed:cleanups") == len(ran)
        rt.Gosched()                      # the caller's next scheduling point: it runs
        assert ran == [4]


# Full blocks (20 cleanups) queued during runtime.GC's sweep. Measured with a 40-line Go
# program, one fresh process per row (2026-12-06): n dead 40 KB objects (a span each), then
# ncl dead 1008-byte objects (eight to a span) with a cleanup each and no finalizer; the
# cleanups executed when runtime.GC returns. The background sweeper goes first (ten spans
# a turn), the caller one span a turn; a full block runs after a turn of the caller's.
FULL_BLOCKS_AT_GC_RETURN = {(5, 0): 0, (25, 0): 0, (45, 0): 0, (45, 20): 20, (90, 0): 80, (90, 30): 20,
                            (200, 0): 180}
Obj1K = rt.Struct("clObj1K", p=rt.Ptr(rt.Int), b=rt.Array(rt.Byte, 1000))


@pytest.mark.parametrize("ncl,nbig", sorted(FULL_BLOCKS_AT_GC_RETURN))
def test_full_cleanup_blocks_run_after_the_callers_sweep_turns_as_go(ncl, nbig):
    with rt.Runtime(gomaxprocs=1, scheduler="cooperative", clock="virtual"):
        ran = []
        big = [rt.new(rt.Array(rt.Byte, 40000)) for _ in range(nbig)]
        objs = []
        for i in range(ncl):
            o = rt.new(Obj1K)
            rt.AddCleanup(o, ran.append, i)
            objs.append(o)
        o = objs = big = None  # noqa: F841 (drops the roots)
        rt.GC()
        assert metric("/gc/cleanups/queued:cleanups") == ncl
        assert len(ran) == FULL_BLOCKS_AT_GC_RETURN[(ncl, nbig)]
        assert metric("/gc/cleanups/executed:cleanups") == len(ran)
        rt.Gosched()
        assert sorted(ran) == list(range(ncl))


def test_weak_pointer_argument_is_boxed_as_one_pointer_word(r):
    # Go: weak.Pointer[T] is struct{ _ [0]*T; u unsafe.Pointer }: 8 bytes with a pointer,
    # so AddCleanup boxes it with new(S) (class 1, 8 B, scanned), not in the 16-byte
    # pointer-free box; the box points at the weak handle and keeps it alive. Go 1.27.3
    # (GOMAXPROCS=1): weak.Make + AddCleanup(q, f, w) = BySize[1] +1, BySize[2] +2.
    T = rt.Struct("cwT", id=rt.Int, p=rt.Ptr(rt.Int), pad=rt.Array(rt.Int, 2))   # 32 B: class 4
    p, q = rt.new(T), rt.new(T)
    rt.AddCleanup(q, lambda v: None, 0)                 # the cleanup goroutine first
    a = rt.ReadMemStats()
    w = weak.Make(p)
    rt.AddCleanup(q, lambda v: None, w)
    b = rt.ReadMemStats()
    assert [b.BySize[c].Mallocs - a.BySize[c].Mallocs for c in (1, 2)] == [1, 2]
    w = p = None
    rt.GC()
    c = rt.ReadMemStats()
    # p is freed; its weak handle (16 B) is kept by the cleanup's box
    assert [c.BySize[k].Frees - b.BySize[k].Frees for k in (1, 2, 4)] == [0, 0, 1]
