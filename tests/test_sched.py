"""Tests for goruntime.sched and goruntime.clock: goroutines, channels, WaitGroup, time.

Most tests run in both scheduler modes (the ``mode`` fixture). Cooperative mode is also
checked for exact, reproducible interleavings; threads mode for exact totals under
contention. Panic and fatal-error texts are Go's (chan.go, sync/waitgroup.go, proc.go).
"""
import threading
import time

import pytest
from hypothesis import given, settings, strategies as st

from goruntime.clock import (DEFAULT_START_UNIX_NS, VirtualClock, WallClock, make_clock)
from goruntime.errors import FatalError, Panic
from goruntime.sched import (Chan, Scheduler, WaitGroup, select,
                             set_current_scheduler_getter, current_scheduler,
                             default_scheduler)

MS = 1_000_000
MODES = ["cooperative", pytest.param("threads", marks=pytest.mark.threads)]


@pytest.fixture(params=MODES)
def mode(request):
    return request.param


@pytest.fixture
def s(mode):
    return Scheduler(mode)


def wait_until(s, cond, timeout=60.0):
    """Let goroutines run until cond() holds (cooperative: yield; threads: poll)."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        if s.mode == "cooperative":
            s.gosched()
        else:
            time.sleep(0.001)


def finalizer_goroutine(s, queue):
    """The runtime's fing loop: park while the queue is empty, else run the last entry."""
    def runfinq():
        while True:
            if not queue:
                s.park("finalizer wait")
            else:
                queue.pop()()
    return s.go(runfinq, system=True, name="runtime.runfinq")


# ---------------------------------------------------------------------- clocks

class TestClock:
    def test_virtual_clock_moves_only_when_told(self):
        c = VirtualClock()
        assert c.virtual and c.nanotime() == 0
        assert c.unix_nano() == DEFAULT_START_UNIX_NS
        assert c.advance(5) == 5
        assert c.charge(10) == 15
        assert c.advance_to(12) == 15          # never backwards
        assert c.advance_to(100) == 100
        c.sleep_until(150)
        assert c.nanotime() == 150
        assert c.unix_nano() == DEFAULT_START_UNIX_NS + 150
        assert VirtualClock(start_unix_ns=7).unix_nano() == 7
        with pytest.raises(ValueError):
            c.advance(-1)

    def test_wall_clock_is_real_time(self):
        c = WallClock()
        assert not c.virtual
        t0 = c.nanotime()
        assert 0 <= t0 < 1_000_000_000
        assert abs(c.unix_nano() - time.time_ns()) < 1_000_000_000
        c.advance(10**12)
        c.charge(10**12)
        c.advance_to(10**15)
        assert c.nanotime() < 10**12            # no-ops
        c.sleep_until(c.nanotime() + 5 * MS)
        assert c.nanotime() - t0 >= 5 * MS
        with pytest.raises(ValueError):
            c.advance(-1)

    def test_charges_and_meters_split_mutator_and_gc_time(self):
        c = VirtualClock()
        pending = [0]

        def meter():
            ns, pending[0] = pending[0], 0
            return ns
        c.add_meter(meter)
        assert c.charge_mutator(100) == 100 and c.charge_gc(40) == 140
        pending[0] = 7                          # work the meter has not reported yet
        assert c.nanotime() == 147              # every reading brings it in
        assert c.nanotime() == 147              # once
        assert (c.mutator_ns(), c.gc_ns()) == (107, 40)
        pending[0] = 3
        assert c.advance_to(100) == 150         # synced before comparing
        pending[0] = 5
        c.remove_meter(meter)                   # what it has is brought in first
        pending[0] = 9
        assert c.nanotime() == 155 and c.mutator_ns() == 115
        with pytest.raises(ValueError):
            c.charge_gc(-1)
        with pytest.raises(TypeError):
            c.add_meter(3)
        w = WallClock()
        w.charge_gc(10**12)
        w.charge_mutator(10**12)
        assert w.nanotime() < 10**12 and w.mutator_ns() == w.gc_ns() == 0

    def test_runtime_clock_starts_at_creation_and_meters_allocation(self):
        import goruntime as rt
        t0 = time.time_ns()
        with rt.Runtime() as r:
            assert t0 <= r.clock.start_unix_ns <= time.time_ns()
            n0 = r.clock.nanotime()
            for _ in range(100):
                rt.new(rt.Int)
            n1 = r.clock.nanotime()          # no GC, no ReadMemStats: the meter moved it
            assert n1 > n0 and r.clock.mutator_ns() >= n1 - n0
            assert r.clock.gc_ns() == 0
            rt.GC()
            assert r.clock.gc_ns() > 0
        r.close()
        assert r.clock.nanotime() == r.clock.nanotime()

    def test_make_clock(self):
        assert isinstance(make_clock("virtual"), VirtualClock)
        assert abs(make_clock("virtual").start_unix_ns - time.time_ns()) < 60 * 10**9
        assert isinstance(make_clock("wall"), WallClock)
        c = VirtualClock()
        assert make_clock(c) is c
        for bad in ("cpu", None, 3, object()):
            with pytest.raises(ValueError):
                make_clock(bad)


# ---------------------------------------------------------------------- scheduler basics

def test_bad_mode_and_gomaxprocs():
    with pytest.raises(ValueError):
        Scheduler("preemptive")
    s = Scheduler(gomaxprocs=4)
    assert s.gomaxprocs == 4
    s.gomaxprocs = 2
    assert s.gomaxprocs == 2
    with pytest.raises(ValueError):
        s.gomaxprocs = 0
    with pytest.raises(ValueError):
        Scheduler(clock="sundial")
    assert isinstance(Scheduler(clock="wall").clock, WallClock)


def test_goroutine_ids_current_and_count(s):
    seen = {}
    wg = WaitGroup(sched=s)

    def who(tag):
        seen[tag] = s.current()
        wg.Done()

    assert s.current() is s.main and s.main.id == 1
    wg.Add(3)
    gs = [s.go(who, i) for i in range(3)]
    fing = s.go(lambda: None, system=True)
    assert [g.id for g in gs] == [2, 3, 4] and fing.id == 5
    assert s.num_goroutine() >= 1
    wg.Wait()
    assert [seen[i] for i in range(3)] == gs
    s.run_until_idle()
    wait_until(s, lambda: all(g.done for g in gs + [fing]))
    assert s.num_goroutine() == 1
    assert s.goroutines() == [s.main]
    assert repr(gs[0]) == "<Goroutine 2 [dead] test_goroutine_ids_current_and_count.who>"


def test_num_goroutine_excludes_system_goroutines(s):
    block = Chan(sched=s)
    s.go(block.recv, system=True)
    s.go(block.recv)
    wait_until(s, lambda: len(block._recvq) == 2)
    assert s.num_goroutine() == 2          # main + the user goroutine
    assert len(s.goroutines()) == 3 and len(s.goroutines(system=False)) == 2
    block.close()
    s.run_until_idle()
    wait_until(s, lambda: s.num_goroutine() == 1)


def test_cooperative_goroutines_run_only_at_scheduling_points():
    s = Scheduler()
    ran = []
    s.go(ran.append, 1)
    s.go(ran.append, 2)
    assert ran == []                        # go() does not switch
    s.gosched()                             # FIFO: both run, then main
    assert ran == [1, 2]


def test_cooperative_ping_pong_is_deterministic():
    def program():
        s = Scheduler()
        trace = []
        ping, pong, done = Chan(sched=s), Chan(sched=s), Chan(sched=s)

        def player(name, inbox, outbox, n, last):
            for i in range(n):
                v = inbox.recv()
                trace.append((name, v, s.current().id))
                (last if i == n - 1 else outbox).send(v + 1)

        s.go(player, "ping", ping, pong, 3, pong)
        s.go(player, "pong", pong, ping, 3, done)
        ping.send(0)
        trace.append(("main", done.recv(), s.current().id))
        return trace

    t1 = program()
    assert t1 == [("ping", 0, 2), ("pong", 1, 3), ("ping", 2, 2), ("pong", 3, 3),
                  ("ping", 4, 2), ("pong", 5, 3), ("main", 6, 1)]
    assert program() == t1


def test_fifo_wakeups(s):
    ch = Chan(sched=s)
    got = []
    gs = []
    for i in range(4):
        gs.append(s.go(lambda i=i: got.append((i, ch.recv()))))
        wait_until(s, lambda: gs[-1].wait_reason == "chan receive")
    for v in "abcd":
        ch.send(v)
    s.run_until_idle()
    wait_until(s, lambda: len(got) == 4)
    if s.mode == "cooperative":
        assert got == [(0, "a"), (1, "b"), (2, "c"), (3, "d")]
    else:                                    # who receives what is FIFO; append order races
        assert sorted(got) == [(0, "a"), (1, "b"), (2, "c"), (3, "d")]


def test_unbuffered_send_rendezvous(s):
    ch = Chan(sched=s)
    events = []

    def sender():
        ch.send(1)
        events.append("sent")

    g = s.go(sender)
    wait_until(s, lambda: g.wait_reason == "chan send")
    assert events == [] and len(ch) == 0
    assert ch.recv() == 1
    wait_until(s, lambda: g.done)
    assert events == ["sent"]


# ---------------------------------------------------------------------- channels

def test_buffered_channel(s):
    ch = Chan(3, sched=s)
    assert ch.cap == 3 and len(ch) == 0 and bool(ch)
    for v in (1, 2, 3):
        ch.send(v)                          # never blocks while there is room
    assert len(ch) == 3
    assert not ch.try_send(4)
    g = s.go(ch.send, 4)                    # blocks: buffer full
    wait_until(s, lambda: g.wait_reason == "chan send")
    assert ch.recv() == 1                   # head out; the blocked sender's 4 goes in
    wait_until(s, lambda: g.done)
    assert [ch.recv() for _ in range(3)] == [2, 3, 4]
    assert ch.try_recv() is None
    assert ch.try_send(5) and ch.try_recv() == (5, True)


def test_close_semantics_and_panics(s):
    ch = Chan(2, sched=s)
    ch.send("x")
    ch.close()
    assert ch.closed
    with pytest.raises(Panic, match="^send on closed channel$"):
        ch.send("y")
    with pytest.raises(Panic, match="^send on closed channel$"):
        ch.try_send("y")
    with pytest.raises(Panic, match="^close of closed channel$"):
        ch.close()
    assert ch.recv2() == ("x", True)        # drains first
    assert ch.recv2() == (None, False)
    assert ch.recv() is None                # zero value
    assert ch.try_recv() == (None, False)
    with pytest.raises(Panic, match=r"^makechan: size out of range$") as ei:
        Chan(-1, sched=s)
    assert ei.value.value == "makechan: size out of range"


def test_close_wakes_receivers_and_panics_blocked_senders(s):
    rch, sch = Chan(sched=s), Chan(sched=s)
    results = []

    def receiver():
        results.append(rch.recv2())

    def sender():
        try:
            sch.send(1)
        except Panic as p:
            results.append(str(p))

    r = s.go(receiver)
    wait_until(s, lambda: r.wait_reason == "chan receive")
    rch.close()
    s.run_until_idle()
    wait_until(s, lambda: r.done)
    snd = s.go(sender)
    wait_until(s, lambda: snd.wait_reason == "chan send")
    sch.close()
    s.run_until_idle()
    wait_until(s, lambda: snd.done)
    assert results == [(None, False), "send on closed channel"]


def test_iteration_until_closed(s):
    ch = Chan(2, sched=s)

    def producer():
        for i in range(5):
            ch.send(i)
        ch.close()

    s.go(producer)
    assert list(ch) == [0, 1, 2, 3, 4]


def test_select(s):
    a, b = Chan(1, sched=s), Chan(1, sched=s)
    assert select([("recv", a), ("recv", b)], default=True) == (-1, None, False)
    b.send("B")
    assert select([("recv", a), ("recv", b)]) == (1, "B", True)
    assert select([("send", a, 1), ("recv", None)]) == (0, None, True)
    assert a.recv() == 1
    assert select([("recv", None)], default=True) == (-1, None, False)

    # blocking select woken by a sender; the losing case is withdrawn
    def later():
        b.send("late")

    g = s.go(later)
    if s.mode == "threads":
        time.sleep(0.01)
    assert select([("recv", a), ("recv", b), ("recv", None)]) == (1, "late", True)
    wait_until(s, lambda: g.done)
    assert len(a._recvq) == 0 and len(b._recvq) == 0

    a.close()
    assert select([("recv", a)]) == (0, None, False)
    with pytest.raises(Panic, match="^send on closed channel$"):
        select([("send", a, 1)])
    with pytest.raises(ValueError):
        select([("peek", a)])


def test_blocking_select_send_case(s):
    ch = Chan(sched=s)
    got = []
    g = s.go(lambda: got.append(select([("send", ch, "v"), ("recv", None)])))
    wait_until(s, lambda: g.wait_reason == "select")
    assert ch.recv() == "v"
    wait_until(s, lambda: g.done)
    assert got == [(0, None, True)]


@settings(max_examples=40, deadline=None, database=None)
@given(cap=st.integers(0, 3), producers=st.lists(st.integers(0, 6), min_size=1, max_size=4),
       consumers=st.integers(1, 3), sleepy=st.booleans())
def test_cooperative_channel_model(cap, producers, consumers, sleepy):
    """Any mix of producers/consumers: each value received once, per-producer FIFO,
    and the whole run (order and virtual time) is identical when repeated."""
    def run():
        s = Scheduler()
        ch, results = Chan(cap, sched=s), Chan(consumers, sched=s)
        wg = WaitGroup(sched=s)
        trace = []

        def producer(p, n):
            for i in range(n):
                if sleepy:
                    s.sleep((p + 1) * MS)
                ch.send((p, i))

        def consumer(c):
            n = 0
            for v in ch:
                trace.append((c, v, s.clock.nanotime()))
                n += 1
            results.send(n)

        for p, n in enumerate(producers):
            wg.Go(producer, p, n)
        s.go(lambda: (wg.Wait(), ch.close()))
        for c in range(consumers):
            s.go(consumer, c)
        total = sum(results.recv() for _ in range(consumers))
        return trace, total, s.clock.nanotime()

    trace, total, now = run()
    assert (trace, total, now) == run()
    assert total == sum(producers) == len(trace)
    values = [v for _, v, _ in trace]
    assert sorted(values) == sorted((p, i) for p, n in enumerate(producers) for i in range(n))
    for c in range(consumers):              # FIFO channel: each consumer sees each
        for p in range(len(producers)):     # producer's values in order
            mine = [i for d, (q, i), _ in trace if d == c and q == p]
            assert mine == sorted(mine)
    assert now == (max((p + 1) * n for p, n in enumerate(producers)) * MS if sleepy else 0)


def test_cooperative_select_choice_is_reproducible():
    def run():
        s = Scheduler()
        a, b = Chan(100, sched=s), Chan(100, sched=s)
        for i in range(50):
            a.send(i)
            b.send(i)
        return [select([("recv", a), ("recv", b)])[0] for _ in range(50)]

    picks = run()
    assert picks == run()
    assert 0 < sum(picks) < 50              # both cases get picked (random, like Go)


# ---------------------------------------------------------------------- WaitGroup

def test_waitgroup(s):
    wg = WaitGroup(sched=s)
    wg.Wait()                               # zero: returns at once
    total = []

    def work(i):
        s.sleep(i * MS)
        total.append(i)
        wg.Done()

    wg.Add(5)
    for i in range(5):
        s.go(work, i)
    wg.wait()
    assert sorted(total) == [0, 1, 2, 3, 4] and wg.counter == 0
    with pytest.raises(Panic, match="^sync: negative WaitGroup counter$"):
        wg.Done()
    assert wg.counter == 0
    wg.add(1)                               # reuse after Wait returned
    s.go(lambda: (total.append("add"), wg.done()))
    g = wg.go(lambda: total.append("go"))
    wg.Wait()
    wait_until(s, lambda: g.done)
    assert sorted(total[-2:]) == ["add", "go"] and wg.counter == 0


def test_waitgroup_go_does_not_call_done_on_panic(s):
    wg = WaitGroup(sched=s)

    def bad():
        raise KeyError("k")

    g = wg.Go(bad)
    with pytest.raises(KeyError) as ei:
        wg.Wait()                           # never released: the crash reaches main
    assert ei.value.goroutine_id == g.id and wg.counter == 1


# ---------------------------------------------------------------------- time

def test_sleepers_wake_in_time_order_on_virtual_clock(s):
    woke = []
    wg = WaitGroup(sched=s)

    def sleeper(ms):
        s.sleep(ms * MS)
        woke.append((ms, s.clock.nanotime()))

    wg.Go(sleeper, 5)
    wg.Go(sleeper, 3)
    wg.Wait()
    assert woke == [(3, 3 * MS), (5, 5 * MS)]   # exact: deterministic in both modes
    assert s.clock.nanotime() == 5 * MS


def test_sequential_sleeps_sum_exactly(s):
    def sleeper():
        for ms in (1, 2, 3):
            s.sleep(ms * MS)

    wg = WaitGroup(sched=s)
    wg.Go(sleeper)
    wg.Wait()
    assert s.clock.nanotime() == 6 * MS
    s.sleep(4 * MS)                         # main sleeping alone jumps straight there
    s.sleep(0)
    s.sleep(-5)
    assert s.clock.nanotime() == 10 * MS
    assert s.clock.unix_nano() == DEFAULT_START_UNIX_NS + 10 * MS


def test_on_tick_called_when_time_jumps(s):
    ticks = []
    s.on_tick = ticks.append
    s.go(s.sleep, 2 * MS)
    s.go(s.sleep, 7 * MS)
    s.sleep(10 * MS)
    assert ticks == [2 * MS, 7 * MS, 10 * MS]
    s.clock.charge(MS)                      # charging is not sleeping: no tick
    s.run_until_idle()
    assert ticks == [2 * MS, 7 * MS, 10 * MS]


def test_next_tick_stops_time_for_periodic_work(s):
    # the runtime's forced GC every 2 minutes while main sleeps 5 minutes
    period = 120_000 * MS
    gcs = []

    def on_tick(now):
        if now >= s.next_tick:
            gcs.append(now)
            s.next_tick = now + period

    s.next_tick = period
    s.on_tick = on_tick
    s.sleep(300_000 * MS)
    assert gcs == [period, 2 * period]
    assert s.clock.nanotime() == 300_000 * MS
    with pytest.raises(FatalError):         # next_tick never keeps a dead program alive
        Chan(sched=s).recv()
    assert gcs == [period, 2 * period]


def test_run_until_idle_does_not_advance_virtual_time(s):
    woke = []
    g = s.go(lambda: (s.sleep(1000 * MS), woke.append(s.clock.nanotime())))
    s.run_until_idle()
    assert s.clock.nanotime() == 0 and woke == []
    assert g.status == "waiting" and g.wait_reason == "sleep"
    s.clock.charge(1000 * MS)               # modelled CPU time passes...
    s.run_until_idle()                      # ...so the sleeper is due and runs
    wait_until(s, lambda: g.done)
    assert woke == [1000 * MS]


def test_wall_clock_sleep_really_sleeps(mode):
    s = Scheduler(mode, clock="wall")
    ticks = []
    s.on_tick = ticks.append
    woke = []
    wg = WaitGroup(sched=s)

    def sleeper(ms):
        t = time.monotonic()
        s.sleep(ms * MS)
        woke.append((ms, time.monotonic() - t))

    t0 = time.monotonic()
    wg.Go(sleeper, 40)
    wg.Go(sleeper, 10)
    wg.Wait()
    assert time.monotonic() - t0 >= 0.039
    # each slept at least its time; which woke first is up to the OS when goroutines are
    # threads (on a loaded machine the second thread may start 30 ms after the first)
    assert sorted(ms for ms, _ in woke) == [10, 40]
    assert all(dt >= ms * 1e-3 - 1e-3 for ms, dt in woke), woke
    if mode == "cooperative":
        assert [ms for ms, _ in woke] == [10, 40]
    s.sleep(2 * MS)
    assert ticks and all(b >= a for a, b in zip(ticks, ticks[1:]))
    # a wall-clock sleeper is not deadlocked, a lone blocked main is
    with pytest.raises(FatalError, match="^all goroutines are asleep - deadlock!\n"):
        Chan(sched=s).recv()


# ---------------------------------------------------------------------- deadlock, crashes

def test_deadlock_main_blocked_on_channel(s):
    ch = Chan(sched=s)
    with pytest.raises(FatalError, match="^all goroutines are asleep - deadlock!\n") as ei:
        ch.recv()
    assert str(ei.value) == "all goroutines are asleep - deadlock!"
    assert "goroutine 1 [chan receive]:" in "\n".join(ei.value.__notes__)
    assert len(ch._recvq) == 0              # main's wait was withdrawn
    # the scheduler stays usable
    s.go(ch.send, 42)
    assert ch.recv() == 42


def test_deadlock_with_other_goroutines_blocked(s):
    a, b = Chan(sched=s), Chan(sched=s)
    g = s.go(b.recv)
    with pytest.raises(FatalError, match="^all goroutines are asleep - deadlock!\n"):
        a.recv()
    assert g.status == "waiting" and g.wait_reason == "chan receive"   # stays blocked
    with pytest.raises(FatalError):
        wg = WaitGroup(sched=s)
        wg.Add(1)
        wg.Wait()
    with pytest.raises(FatalError):
        select([])                          # select {}
    b.send("unblock")
    s.run_until_idle()
    wait_until(s, lambda: g.done)


def test_deadlock_with_only_parked_system_goroutine(s):
    queue = []
    fing = finalizer_goroutine(s, queue)
    wait_until(s, lambda: fing.wait_reason == "finalizer wait")
    with pytest.raises(FatalError, match="^all goroutines are asleep - deadlock!\n"):
        Chan(sched=s).recv()
    assert fing.wait_reason == "finalizer wait"


def test_goroutine_exception_is_reported_in_main(s):
    def boom():
        raise ValueError("boom")

    g = s.go(boom, name="main.boom")
    with pytest.raises(ValueError, match="boom") as ei:
        Chan(sched=s).recv()                # main's next scheduling point
    exc = ei.value
    assert exc.goroutine_id == g.id
    assert exc.__notes__ == [f"goroutine {g.id} [running]:\nmain.boom(...)"]
    assert g.done and g.exception is exc
    # still usable, and the crash is reported once
    ch = Chan(1, sched=s)
    s.go(ch.send, "ok")
    assert ch.recv() == "ok"


def test_cooperative_crash_preempts_other_goroutines():
    s = Scheduler()
    ran = []
    s.go(lambda: 1 / 0)
    s.go(ran.append, "after")
    with pytest.raises(ZeroDivisionError):
        s.gosched()
    assert ran == []                        # Go dies at the panic: nothing else ran
    s.gosched()
    assert ran == ["after"]


def test_on_tick_runs_in_scheduler_context_and_may_ready():
    s = Scheduler()
    queue, ran, where = [], [], []
    fing = finalizer_goroutine(s, queue)

    def on_tick(now):                       # the runtime's periodic GC queues a finalizer
        where.append(s.current())
        queue.append(lambda: ran.append(now))
        s.ready(fing)

    s.on_tick = on_tick
    s.sleep(3 * MS)
    s.run_until_idle()
    assert where == [None] and ran == [3 * MS]


def test_on_tick_exception_reaches_main():
    s = Scheduler()

    def bad_tick(now):
        Chan(sched=s).recv()                # blocking in the scheduler context

    s.on_tick = bad_tick
    with pytest.raises(RuntimeError, match="on_tick"):
        s.sleep(MS)
    s.on_tick = None
    s.sleep(MS)
    assert s.clock.nanotime() == 2 * MS


def test_cooperative_survives_interrupt_in_the_hub():
    s = Scheduler()
    ch = Chan(sched=s)
    g = s.go(ch.recv)
    s.gosched()                             # g now blocked, its greenlet child of the hub

    def interrupted(t):
        raise KeyboardInterrupt

    s.clock.sleep_until = interrupted       # Ctrl-C while the hub waits for a sleeper
    with pytest.raises(KeyboardInterrupt):
        s.sleep(MS)
    assert s.main.status == "running" and s.clock.nanotime() == 0
    del s.clock.sleep_until
    s.sleep(MS)                             # a new hub takes over
    ch.send("still there")
    s.gosched()
    assert g.done and s.clock.nanotime() == MS


# ---------------------------------------------------------------------- park / ready, finalizers

def test_ready_before_park_is_not_lost(s):
    s.ready(s.current())                    # permit
    s.park("test wait")                     # returns at once
    with pytest.raises(ValueError):
        Scheduler().ready(s.main)


def test_finalizer_goroutine_pattern(s):
    queue = []
    ran = []
    fing = finalizer_goroutine(s, queue)
    assert s.num_goroutine() == 1
    for i in range(3):
        queue.append(lambda i=i: ran.append(i))
    s.ready(fing)
    s.run_until_idle()
    wait_until(s, lambda: fing.wait_reason == "finalizer wait")
    assert ran == [2, 1, 0]                 # reverse queue order, sequential
    queue.append(lambda: ran.append("again"))
    s.ready(fing)
    s.gosched()                             # DESIGN: rt.Gosched() lets fing run
    if s.mode == "cooperative":             # threads: Gosched only gives it a chance
        assert ran[-1] == "again"
    wait_until(s, lambda: ran[-1] == "again")


def test_finalizer_that_blocks_forever_does_not_stop_main(s):
    queue = []
    ran = []
    never = Chan(sched=s)
    fing = finalizer_goroutine(s, queue)
    queue.extend([lambda: ran.append("later"), never.recv, lambda: ran.append("first")])
    s.ready(fing)
    s.run_until_idle()
    wait_until(s, lambda: fing.wait_reason == "chan receive")
    assert ran == ["first"]
    queue.append(lambda: ran.append("queued after"))
    s.ready(fing)                           # spurious wake-up: it re-blocks
    s.run_until_idle()
    wait_until(s, lambda: fing.wait_reason == "chan receive")
    assert ran == ["first"]                 # later finalizers never run
    # main keeps working
    ch = Chan(sched=s)
    s.go(lambda: ch.send(sum(range(10))))
    assert ch.recv() == 45
    s.sleep(MS)
    # and deadlock detection still fires for main
    with pytest.raises(FatalError, match="^all goroutines are asleep - deadlock!\n"):
        Chan(sched=s).recv()


# ---------------------------------------------------------------------- current scheduler

def test_current_scheduler_getter():
    import goruntime.sched as sched_mod
    previous = sched_mod._scheduler_getter          # the runtime's, if goruntime is imported
    mine = Scheduler()
    try:
        set_current_scheduler_getter(lambda: mine)
        assert current_scheduler() is mine
        assert Chan().sched is mine and WaitGroup()._sched is mine
        set_current_scheduler_getter(lambda: None)
        assert current_scheduler() is default_scheduler()
        set_current_scheduler_getter(None)
        assert current_scheduler() is default_scheduler()
        assert isinstance(default_scheduler(), Scheduler)
        with pytest.raises(TypeError):
            set_current_scheduler_getter(42)
    finally:
        set_current_scheduler_getter(previous)


def test_cooperative_blocking_outside_its_goroutines_is_an_error():
    s = Scheduler()
    ch = Chan(sched=s)
    s.go(ch.recv)                           # a live goroutine: main cannot move thread
    errors = []

    def other_thread():
        try:
            ch.send(1)
        except RuntimeError as e:
            errors.append(str(e))
        s.ready(s.main)                     # non-blocking calls are fine from anywhere

    t = threading.Thread(target=other_thread)
    t.start()
    t.join()
    assert errors and "outside this scheduler's goroutines" in errors[0]
    ch.send(2)


def test_main_moves_to_another_thread_when_nothing_is_alive(mode):
    box = []
    t = threading.Thread(target=lambda: box.append(Scheduler(mode)))
    t.start()
    t.join()
    s = box[0]
    assert s.current() is None              # this thread is not main (yet)
    s.gosched()                             # first scheduling point: main moves here
    assert s.current() is s.main
    ch = Chan(sched=s)
    s.go(ch.send, "hi")
    assert ch.recv() == "hi"


def test_cooperative_goroutine_blocks_at_any_depth():
    s = Scheduler()
    ch = Chan(sched=s)

    def deep(n):
        return ch.recv() + n if n == 0 else deep(n - 1) + 1

    out = []
    s.go(lambda: out.append(deep(200)))
    s.gosched()
    assert out == [] and s.goroutines()[1].wait_reason == "chan receive"
    ch.send(1)
    s.gosched()
    assert out == [201]


# ---------------------------------------------------------------------- threads mode

@pytest.mark.threads
@pytest.mark.parametrize("cap", [0, 64])
def test_threads_stress_many_producers(cap):
    s = Scheduler("threads")
    ch = Chan(cap, sched=s)
    wg = WaitGroup(sched=s)

    def producer(k):
        for i in range(1000):
            ch.send(k * 1000 + i)

    for k in range(8):
        wg.Go(producer, k)
    s.go(lambda: (wg.Wait(), ch.close()))
    got = list(ch)
    assert len(got) == 8000 and sorted(got) == list(range(8000))
    per = {}
    for v in got:                           # each producer's values arrive in order
        per.setdefault(v // 1000, []).append(v)
    assert all(vs == sorted(vs) for vs in per.values())
    s.run_until_idle()
    assert s.num_goroutine() == 1


@pytest.mark.threads
def test_threads_stress_select_and_waitgroup():
    s = Scheduler("threads")
    a, b, done = Chan(sched=s), Chan(4, sched=s), Chan(sched=s)
    wg = WaitGroup(sched=s)
    n = 500

    def producer(ch):
        for _ in range(n):
            ch.send(1)

    def consumer():
        total = 0
        while total < 2 * n:
            _, v, ok = select([("recv", a), ("recv", b)])
            total += v
        done.send(total)

    wg.Go(producer, a)
    wg.Go(producer, b)
    s.go(consumer)
    assert done.recv() == 2 * n
    wg.Wait()


@pytest.mark.threads
def test_threads_goroutine_blocked_outside_scheduler_is_not_deadlocked():
    s = Scheduler("threads")
    ch = Chan(sched=s)

    def slow():
        time.sleep(0.05)                    # invisible to the scheduler: counts as active
        ch.send("late")

    s.go(slow)
    assert ch.recv() == "late"


@pytest.mark.threads
def test_threads_foreign_thread_that_used_the_scheduler_prevents_false_deadlock():
    s = Scheduler("threads")
    ch, hello = Chan(sched=s), Chan(1, sched=s)
    seen = threading.Event()

    def foreign():
        hello.try_send("hi")                # touches the scheduler: now it is known
        seen.set()
        time.sleep(0.05)
        ch.send(7)                          # blocking send from a non-goroutine thread

    t = threading.Thread(target=foreign, daemon=True)
    t.start()
    seen.wait()
    assert ch.recv() == 7
    t.join()
    with pytest.raises(FatalError):         # the thread is gone: detection is back
        ch.recv()


@pytest.mark.threads
def test_threads_run_until_idle_waits_for_active_goroutines():
    s = Scheduler("threads")
    done = []

    def busy():
        time.sleep(0.02)
        done.append(1)

    for _ in range(4):
        s.go(busy)
    s.run_until_idle()
    assert done == [1, 1, 1, 1]
