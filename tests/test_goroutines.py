"""Goroutines as the runtime package exposes them, checked against Go 1.27.3 in both modes.

``rt.go``, ``rt.Chan``, ``rt.WaitGroup``, ``rt.NumGoroutine`` (the finalizer and cleanup
goroutines are not counted), ``rt.GOMAXPROCS``, the deadlock fatal error, ``rt.Sleep`` on the
virtual clock, and the 2-minute periodic GC (spec §4.6, Appendix X2: ``GC forced`` under
gctrace, not counted in NumForcedGC, needs an earlier GC, off with GOGC=off).

The scheduler's own unit tests live in ``test_sched.py``; these go through the public
``goruntime`` face with a Runtime current, as a user program does.
"""
import gc
import io
import re
import threading
import time

import pytest

import goruntime as rt
from gocheck import MS, metric
from goruntime import runtime as _runtime, sched as _sched
from goruntime import debug

SECOND = 1_000_000_000
DEADLOCK = "all goroutines are asleep - deadlock!"


IdT = rt.Struct("grIdT", p=rt.Ptr(rt.Int), id=rt.Int)


# ---------------------------------------------------------------------------------------
# go, Chan, WaitGroup

def test_go_runs_fn_with_args_and_sees_the_runtime(r):
    """``go f(x, y)``: the goroutine runs f(x, y) and allocates on the same runtime."""
    out = rt.Chan()

    def f(x, y):
        p = rt.new(IdT)
        p.id = x + y
        out.send((rt.current() is r, p))

    g = rt.go(f, 40, 2)
    same, p = out.recv()
    assert same and p.id == 42
    assert g.id >= 2 and not g.system


def test_unbuffered_channel_rendezvous(r):
    ch, order = rt.Chan(), []

    def sender():
        for i in range(3):
            ch.send(i)
            order.append(f"sent {i}")
        ch.close()

    rt.go(sender)
    got = list(ch)                                        # for v := range ch
    assert got == [0, 1, 2]
    assert ch.recv2() == (None, False)                    # closed and drained


def test_buffered_channel_and_closed_channel_panics(r):
    ch = rt.Chan(2)
    ch.send("a")
    ch.send("b")
    assert (len(ch), ch.cap) == (2, 2)
    assert ch.try_send("c") is False                      # full: would block
    ch.close()
    assert [ch.recv(), ch.recv(), ch.recv2()] == ["a", "b", (None, False)]
    with pytest.raises(rt.Panic, match="^send on closed channel$"):
        ch.send(1)
    with pytest.raises(rt.Panic, match="^close of closed channel$"):
        ch.close()


def test_select_picks_a_ready_case(r):
    a, b = rt.Chan(1), rt.Chan(1)
    b.send("from b")
    assert rt.select([("recv", a), ("recv", b)]) == (1, "from b", True)
    assert rt.select([("recv", a)], default=True) == (-1, None, False)


def test_waitgroup_waits_for_all(r):
    wg, lock, done = rt.WaitGroup(), threading.Lock(), []

    def work(i):
        rt.Sleep((3 - i) * MS)
        with lock:
            done.append(i)
        wg.Done()

    for i in range(3):
        wg.Add(1)
        rt.go(work, i)
    wg.Wait()
    assert sorted(done) == [0, 1, 2]
    if r.sched.mode == "cooperative":
        assert done == [2, 1, 0]                          # by virtual wake-up time
    with pytest.raises(rt.Panic, match="^sync: negative WaitGroup counter$"):
        wg.Done()
    wg.Go(lambda: done.append("go"))                      # Go 1.25's WaitGroup.Go
    wg.Wait()
    assert done[-1] == "go"


def test_goroutine_exception_reaches_main(r):
    """A goroutine that raises is Go's unrecovered panic: main sees it, with the goroutine."""
    def bad():
        raise KeyError("boom")

    g = rt.go(bad)
    with pytest.raises(KeyError) as e:
        for _ in range(1000):
            rt.Sleep(MS)
    assert e.value.goroutine_id == g.id


def test_chan_and_waitgroup_bind_to_the_current_runtime(mode):
    """``rt.Chan()`` and ``rt.WaitGroup()`` belong to the current Runtime's scheduler (the
    DESIGN: ``with`` makes a runtime current for the module-level calls), also after
    someone has replaced goruntime.sched's global scheduler getter."""
    try:
        _sched.set_current_scheduler_getter(None)
        with rt.Runtime(scheduler=mode) as r:
            ch, wg = rt.Chan(1), rt.WaitGroup()
            assert ch.sched is r.sched
            assert wg._sched is r.sched
    finally:
        _sched.set_current_scheduler_getter(_runtime._scheduler_of_current)


# ---------------------------------------------------------------------------------------
# NumGoroutine, GOMAXPROCS

def test_num_goroutine_counts_user_goroutines(r):
    assert rt.NumGoroutine() == 1
    gate, started = rt.Chan(), rt.Chan(3)

    def blocked():
        started.send(True)
        gate.recv()

    for _ in range(3):
        rt.go(blocked)
    for _ in range(3):
        started.recv()
    assert rt.NumGoroutine() == 4
    gate.close()
    deadline = time.monotonic() + 60                     # a hang guard
    while rt.NumGoroutine() != 1 and time.monotonic() < deadline:
        rt.Sleep(MS)
    assert rt.NumGoroutine() == 1
    assert metric("/sched/goroutines:goroutines") >= 1


def test_num_goroutine_leaves_out_finalizer_and_cleanup_goroutines(r):
    """Go: isSystemGoroutine -- fing and the cleanup goroutines are not counted, even while
    they run user code (tests/go/semantics/blocking_finalizer printed 1 throughout)."""
    seen = rt.Chan(2)

    def setup():
        rt.SetFinalizer(rt.new(IdT), lambda _: seen.send(("finalizer", rt.NumGoroutine())))
        rt.AddCleanup(rt.new(IdT), lambda _: seen.send(("cleanup", rt.NumGoroutine())), 0)

    setup()
    assert rt.NumGoroutine() == 1
    rt.GC()
    assert sorted([seen.recv(), seen.recv()]) == [("cleanup", 1), ("finalizer", 1)]
    assert rt.NumGoroutine() == 1


def test_gomaxprocs(mode):
    with rt.Runtime(scheduler=mode, gomaxprocs=4, godebug="gctrace=1",
                    stderr=io.StringIO()) as r:
        assert rt.GOMAXPROCS(0) == 4                      # n < 1 only queries
        assert rt.GOMAXPROCS(-1) == 4
        assert metric("/sched/gomaxprocs:threads") == 4
        assert rt.GOMAXPROCS(8) == 4                      # returns the previous setting
        assert rt.GOMAXPROCS(0) == 8
        assert metric("/sched/gomaxprocs:threads") == 8
        rt.GC()
        assert r.stderr.getvalue().rstrip().endswith("8 P (forced)")


# ---------------------------------------------------------------------------------------
# Deadlock

def test_deadlock_main_alone(r):
    with pytest.raises(rt.FatalError) as e:
        rt.Chan().recv()
    assert str(e.value) == DEADLOCK
    assert not isinstance(e.value, rt.Panic)
    c = rt.Chan(1)                                        # the runtime stays usable
    c.send(1)
    assert c.recv() == 1


def test_deadlock_with_blocked_goroutines(r):
    a, b = rt.Chan(), rt.Chan()
    rt.go(a.recv)
    rt.go(b.send, 1)
    wg = rt.WaitGroup()
    wg.Add(1)
    with pytest.raises(rt.FatalError, match=f"^{re.escape(DEADLOCK)}"):
        wg.Wait()


def test_deadlock_select_with_no_cases(r):
    with pytest.raises(rt.FatalError, match=f"^{re.escape(DEADLOCK)}"):
        rt.select([])


def test_deadlock_is_not_hidden_by_runtime_goroutines(r):
    """The parked finalizer and cleanup goroutines do not keep a deadlocked program alive,
    nor does a finalizer blocked on a channel (Go reports the deadlock:
    tests/go/semantics/blocking_finalizer)."""
    never = rt.Chan()
    started = rt.Chan(1)

    def setup():
        rt.AddCleanup(rt.new(IdT), lambda _: None, 0)
        rt.SetFinalizer(rt.new(IdT), lambda _: (started.send(True), never.recv()))

    setup()
    rt.GC()
    started.recv()
    with pytest.raises(rt.FatalError, match=f"^{re.escape(DEADLOCK)}"):
        rt.Chan().recv()


def test_sleeping_goroutine_is_not_a_deadlock(r):
    ch = rt.Chan()

    def later():
        rt.Sleep(5 * SECOND)
        ch.send("woke")

    rt.go(later)
    assert ch.recv() == "woke"


# ---------------------------------------------------------------------------------------
# Virtual clock

def test_virtual_sleep_advances_the_clock_exactly(r):
    t0, m0 = r.clock.nanotime(), r.clock.mutator_ns()
    w0 = time.monotonic()
    rt.Sleep(90 * SECOND)                                 # under 2 minutes: no periodic GC
    # exactly the sleep, plus the program's own metered work (the switch back to main)
    assert r.clock.nanotime() - t0 - (r.clock.mutator_ns() - m0) == 90 * SECOND
    assert time.monotonic() - w0 < 60                     # virtual: no real wait (a real one
    # takes 90 s; the thread switches alone could take 5 s at load 20)
    rt.Sleep(0)                                           # only yields
    rt.Sleep(-5)
    assert r.clock.nanotime() - t0 - (r.clock.mutator_ns() - m0) == 90 * SECOND
    with pytest.raises(TypeError):
        rt.Sleep(1.5)


def test_sleepers_wake_in_time_order(r):
    out = rt.Chan(3)

    def sleeper(ms):
        rt.Sleep(ms * MS)
        out.send(ms)

    t0 = r.clock.nanotime()
    for ms in (30, 10, 20):
        rt.go(sleeper, ms)
    assert [out.recv(), out.recv(), out.recv()] == [10, 20, 30]
    # the last wake-up at 30 ms, then the metered work after it (a send, a receive, switches)
    assert 30 * MS <= r.clock.nanotime() - t0 < 30 * MS + 10_000


# ---------------------------------------------------------------------------------------
# Periodic GC (spec 4.6, Appendix X2)

def test_periodic_gc_every_two_minutes(mode):
    """Appendix X2: after a GC, 300 s of sleep give 2 periodic GCs at ~120 s and ~240 s;
    NumForcedGC is unchanged; gctrace prints ``GC forced`` before each, without "(forced)"."""
    err = io.StringIO()
    with rt.Runtime(scheduler=mode, godebug="gctrace=1", stderr=err):
        rt.GC()                                           # needs a previous GC
        m0 = rt.ReadMemStats()
        rt.Sleep(300 * SECOND)
        m1 = rt.ReadMemStats()
        assert (m0.NumGC, m0.NumForcedGC) == (1, 1)
        assert (m1.NumGC, m1.NumForcedGC) == (3, 1)
        assert metric("/gc/cycles/automatic:gc-cycles") == 2
        assert metric("/gc/cycles/forced:gc-cycles") == 1
        assert m1.LastGC - m0.LastGC >= 240 * SECOND
    lines = err.getvalue().splitlines()
    assert len(lines) == 5
    assert re.match(r"gc 1 @0\.\d{3}s .* \(forced\)$", lines[0])
    assert lines[1] == "GC forced"
    assert re.match(r"gc 2 @12\d\.\d{3}s \d+%: ", lines[2]) and "(forced)" not in lines[2]
    assert lines[3] == "GC forced"
    assert re.match(r"gc 3 @24\d\.\d{3}s \d+%: ", lines[4]) and "(forced)" not in lines[4]


def test_no_periodic_gc_before_the_first_gc(r):
    """Spec 4.6: the periodic GC needs at least one completed GC."""
    rt.Sleep(600 * SECOND)
    assert rt.ReadMemStats().NumGC == 0


def test_no_periodic_gc_with_gogc_off(r):
    """Spec 4.6: only if GOGC >= 0."""
    rt.GC()
    debug.SetGCPercent(-1)
    rt.Sleep(600 * SECOND)
    assert rt.ReadMemStats().NumGC == 1
    debug.SetGCPercent(100)
    rt.Sleep(200 * SECOND)
    assert rt.ReadMemStats().NumGC >= 2


def test_periodic_gc_runs_finalizers(r):
    """A periodic GC is a GC like any other: it queues finalizers, which then run."""
    ran = rt.Chan(1)
    rt.GC()

    def setup():
        rt.SetFinalizer(rt.new(IdT), lambda _: ran.send("ran"))

    setup()
    rt.Sleep(130 * SECOND)                                # the periodic GC comes at ~120 s
    assert ran.try_recv() == ("ran", True)
    m = rt.ReadMemStats()
    assert (m.NumGC, m.NumForcedGC) == (2, 1)


@pytest.mark.parametrize("mode", ["cooperative", "threads"])
def test_exited_goroutine_args_root_nothing(mode):
    """Go: a goroutine that returned has no frames; the channel it ranged over (passed as
    an argument) is garbage once main drops its own reference. goruntime's dead goroutine
    kept its args (a Python cycle through the greenlet), so the hchan and its buffer
    stayed marked until Python's cyclic GC ran (fidelity audit, scenario fid_workers)."""
    Job = rt.Struct("grJob", id=rt.Int, data=rt.Slice(rt.Int))
    gc.disable()                    # Python's cyclic GC must not hide a leak by timing
    try:
        _ranged_channel_is_freed(mode, Job)
    finally:
        gc.enable()


def _ranged_channel_is_freed(mode, Job):
    with rt.Runtime(scheduler=mode, clock="virtual", gomaxprocs=1):
        jobs = rt.make(rt.ChanType(Job), 4)
        wg = rt.WaitGroup()

        def worker(jobs, wg):
            for _ in jobs:          # for range jobs: a generator on the goroutine's stack
                pass
            wg.Done()

        wg.Add(1)
        rt.go(worker, jobs, wg)
        jobs.send({"id": 1, "data": rt.make(rt.Slice(rt.Int), 3)})
        jobs.close()
        wg.Wait()
        rt.GC()
        m0 = rt.ReadMemStats()
        jobs = None
        rt.GC()
        m1 = rt.ReadMemStats()
        freed = {i: b.Frees - a.Frees for i, (a, b) in enumerate(zip(m0.BySize, m1.BySize)) if b.Frees != a.Frees}
        # new(hchan): 96 bytes, the 112-byte class 9; the buffer of four 32-byte wjobs: 128 B, class 10
        assert freed == {9: 1, 10: 1}
