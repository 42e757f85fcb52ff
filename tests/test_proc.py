"""The runtime's own allocations for goroutines (goruntime.proc; Go: proc.go, chan.go,
time.go): g objects and allgs, go-statement closures, sudogs, timers. Numbers are Go
1.27.3's (oracle scenario lang_goroutines); here the rules behind them, case by case."""
import pytest

import goruntime as rt
from goruntime import proc

G_CLASS, SUDOG_CLASS, TIMER_CLASS = 25, 9, 8      # BySize index of 480, 112, 96 bytes


def by(m0, m1, i, frees=False):
    a, b = m0.BySize[i], m1.BySize[i]
    return b.Frees - a.Frees if frees else b.Mallocs - a.Mallocs


def spawn_blocked(ch, n, state):
    def body():
        state["started"] += 1
        ch.recv()
        state["done"] += 1
    for _ in range(n):
        rt.go(body)
    while state["started"] < n:
        rt.Gosched()


def finish(ch, n, state):
    ch.close()
    while state["done"] < n:
        rt.Gosched()


@pytest.fixture(params=["cooperative", "threads"])
def mode(request):
    return request.param


def test_goroutines_blocked_on_a_channel_allocate_g_sudog_and_allgs():
    with rt.Runtime():
        st = {"started": 0, "done": 0}
        ch = rt.Chan()
        rt.GC()
        m0 = rt.ReadMemStats()
        spawn_blocked(ch, 100, st)
        m1 = rt.ReadMemStats()
        assert by(m0, m1, G_CLASS) == 100
        assert by(m0, m1, SUDOG_CLASS) == 99            # one sudog was in the P's cache
        # allgs (7 of Go's goroutines in an array of 8) grew to 16, 32, 64 and 143 pointers
        assert [by(m0, m1, i) for i in (10, 18, 26, 33)] == [1, 1, 1, 1]
        assert m1.Mallocs - m0.Mallocs == 203
        rt.GC()
        m2 = rt.ReadMemStats()
        assert m2.Frees - m1.Frees == 3                 # the old allgs arrays only
        finish(ch, 100, st)
        rt.GC()
        m3 = rt.ReadMemStats()
        assert m3.Frees == m2.Frees                     # dead Gs stay in allgs; sudogs cached
        assert m3.HeapObjects == m2.HeapObjects


def test_dead_goroutines_and_cached_sudogs_are_reused():
    with rt.Runtime():
        st = {"started": 0, "done": 0}
        ch = rt.Chan()
        spawn_blocked(ch, 50, st)
        finish(ch, 50, st)
        m0 = rt.ReadMemStats()
        st, ch = {"started": 0, "done": 0}, rt.Chan()
        spawn_blocked(ch, 50, st)
        m1 = rt.ReadMemStats()
        assert m1.Mallocs == m0.Mallocs
        spawn_blocked(ch, 10, {"started": 0, "done": 0})    # 10 more: new G and sudog each
        m2 = rt.ReadMemStats()
        assert by(m1, m2, G_CLASS) == 10 and by(m1, m2, SUDOG_CLASS) == 10


def test_a_full_sudog_cache_spills_to_the_central_list_which_a_gc_frees():
    with rt.Runtime():
        st = {"started": 0, "done": 0}
        ch = rt.Chan()
        spawn_blocked(ch, 200, st)
        finish(ch, 200, st)                             # 200 releases: 128 reach the central list
        m0 = rt.ReadMemStats()
        rt.GC()
        m1 = rt.ReadMemStats()
        assert by(m0, m1, SUDOG_CLASS, frees=True) == 128
        r = rt.current()
        assert len(r.proc.sudogcache) == 72 and not r.proc.sudog_central


def test_go_statement_closure_captures_its_arguments_until_the_goroutine_runs():
    T = rt.Struct("procT", p=rt.Ptr(rt.Int))
    with rt.Runtime():
        x = rt.new(T)
        ch = rt.Chan()
        got = []
        rt.GC()
        m0 = rt.ReadMemStats()
        rt.go(lambda p, n: got.append(ch.recv()), x, 7)   # closure {fn, p, n}: 24 B, scanned
        m1 = rt.ReadMemStats()
        assert by(m0, m1, 3) == 1                         # class 24
        assert proc.closure_layout((x, 7)) == (24, b"\x00\x01\x00")
        assert proc.closure_layout((1, 2)) == (24, b"\x00\x00\x00")
        assert proc.closure_layout(("s", True)) == (32, b"\x00\x01\x00\x00")
        rt.GC()
        assert rt.ReadMemStats().Frees == m1.Frees        # not started: g.sched.ctxt holds it
        rt.Gosched()                                      # it runs and blocks
        m2 = rt.ReadMemStats()
        rt.GC()
        m3 = rt.ReadMemStats()
        assert by(m2, m3, 3, frees=True) == 1             # the closure is garbage now
        ch.send(None)
        rt.Gosched()
        assert got == [None]


def test_no_arguments_no_closure():
    with rt.Runtime():
        rt.GC()
        m0 = rt.ReadMemStats()
        rt.go(lambda: None)
        m1 = rt.ReadMemStats()
        assert m1.Mallocs - m0.Mallocs == 1 and by(m0, m1, G_CLASS) == 1


def test_sleep_allocates_a_timer_per_goroutine_and_grows_the_timer_heap():
    with rt.Runtime():
        wg = rt.WaitGroup()
        wg.Add(10)

        def sleeper():
            rt.Sleep(1000)
            wg.Done()

        rt.GC()
        m0 = rt.ReadMemStats()
        for _ in range(10):
            rt.go(sleeper)
        wg.Wait()                       # main blocks: a sudog; the clock jumps
        m1 = rt.ReadMemStats()
        assert by(m0, m1, TIMER_CLASS) == 10
        # the P's timer heap of 16-byte entries: cap 1 at start, then 2, 4, 8, 16 (32, 64,
        # 128, 256 bytes); allgs grew to 16 and 32 pointers too (128, 256 bytes)
        assert [by(m0, m1, i) for i in (4, 6, 10, 18)] == [1, 1, 2, 2]
        rt.GC()
        m2 = rt.ReadMemStats()
        assert by(m1, m2, TIMER_CLASS, frees=True) == 10    # the goroutines exited
        m3 = rt.ReadMemStats()
        rt.Sleep(1000)
        rt.Sleep(1000)
        m4 = rt.ReadMemStats()
        assert m4.Mallocs - m3.Mallocs == 1                   # main's timer, once
        rt.GC()
        assert rt.ReadMemStats().Frees == m4.Frees            # main lives: its timer too


def test_select_takes_one_sudog_per_case():
    with rt.Runtime():
        a, b = rt.Chan(), rt.Chan()
        done = []
        rt.go(lambda: done.append(rt.select([("recv", a), ("recv", b), ("recv", None)])))
        rt.Gosched()
        r = rt.current()
        assert len(r.proc.sudogcache) == 0              # the start-up one and one new
        m0 = rt.ReadMemStats()
        b.send(5)
        rt.Gosched()
        assert done == [(1, 5, True)]
        assert len(r.proc.sudogcache) == 2 and rt.ReadMemStats().Mallocs == m0.Mallocs


def test_the_finalizer_goroutine_is_a_start_up_goroutine():
    with rt.Runtime():
        x = rt.new(rt.Int)
        m0 = rt.ReadMemStats()
        rt.SetFinalizer(x, lambda p: None)              # createfing: no new g (os made it at init)
        m1 = rt.ReadMemStats()
        assert m1.Mallocs == m0.Mallocs
        y = rt.new(rt.Int)
        m0 = rt.ReadMemStats()
        rt.AddCleanup(y, lambda a: None, 0)             # box, closure, and the cleanup goroutine
        m1 = rt.ReadMemStats()
        assert by(m0, m1, G_CLASS) == 1 and by(m0, m1, 2) == 2 and m1.Mallocs - m0.Mallocs == 3


def test_go_of_a_non_function_changes_nothing():
    with rt.Runtime():
        m0 = rt.ReadMemStats()
        with pytest.raises(TypeError):
            rt.go(42, rt.new(rt.Int))
        m1 = rt.ReadMemStats()
        assert m1.Mallocs - m0.Mallocs == 1             # the argument's new(int) only
        assert rt.NumGoroutine() == 1


def test_both_schedulers_count_the_same(mode):
    with rt.Runtime(scheduler=mode):
        st = {"started": 0, "done": 0}
        ch = rt.Chan()
        rt.GC()
        m0 = rt.ReadMemStats()
        spawn_blocked(ch, 20, st)
        if mode == "threads":
            import time
            while rt.NumGoroutine() > 1 and any(g.status != "waiting" for g in rt.current().sched.goroutines()[1:]):
                time.sleep(0.001)
        m1 = rt.ReadMemStats()
        assert by(m0, m1, G_CLASS) == 20 and by(m0, m1, SUDOG_CLASS) == 19
        finish(ch, 20, st)
