"""Go's concurrent mark (issue 16): phases, incremental mark work, the hybrid write barrier,
allocate-black, assists and workers, gcstoptheworld, and the no_write_barrier experiment."""
import pytest

import goruntime as rt
from goruntime import _mark, mgc, weak
from goruntime.errors import FatalError

Node = rt.Struct("ConcNodeT", next=rt.Ptr("ConcNodeT"), other=rt.Ptr("ConcNodeT"), id=rt.Int)


def _runtime(**kw):
    kw.setdefault("arena_cap", 64 << 20)
    return rt.Runtime(**kw)


def _start_heap_cycle(r):
    """A heap-triggered cycle in its mark phase, no mark work done yet (as at gcStart)."""
    r.gc(kind="heap")
    assert r.gc_running and r.heap.gcphase_mark
    assert not r.collector.mark.roots_done


def test_a_heap_triggered_cycle_marks_while_the_mutator_allocates():
    with _runtime(godebug="gccheckmark=1") as r:
        keep = [r.new(Node) for _ in range(20000)]          # a heap to mark
        for i in range(1, len(keep)):
            keep[i].next = keep[i - 1]
        keep = keep[-1:]
        n0 = r.gc_record.num_gc
        started = done = None
        for i in range(400000):
            x = r.new(Node)
            x.id = i
            if r.gc_running and started is None:
                started = i
                m = r.read_mem_stats()                   # ReadMemStats during the cycle
                assert m.NumGC == n0                      # ... shows it still running
                assert r.heap.write_barrier
            if started is not None and not r.gc_running:
                done = i
                break
        assert started is not None and done is not None and done > started
        assert r.gc_record.num_gc == n0 + 1
        assert not r.heap.write_barrier and r.heap.wbuf_len == 0
        # the background cycle sweeps lazily (main's sweep): an unswept span's mark bits
        # are its liveness; once the sweep is finished (the next cycle's sweep
        # termination) no mark bit is left
        _mark.finish_sweep(r.heap)
        assert _mark.sweep_pending(r.heap) == 0
        assert not r.heap.gcmark_bits.any()
        assert keep[0].next is not None


def test_the_barrier_is_one_flag_outside_a_mark():
    with _runtime() as r:
        a, b = r.new(Node), r.new(Node)
        a.next = b
        a.next = None
        assert not r.heap.write_barrier and r.heap.wbuf_len == 0
        with pytest.raises(ValueError):
            r.heap.write_barrier = True                  # only a running mark turns it on


def _hide(r):
    """The hybrid barrier's case: y is reachable only from x (grey, on a stack not yet
    scanned); the program moves the pointer into z, allocated black during the mark, and
    deletes it from x. Returns (z handle, y's address)."""
    x = r.new(Node)
    x.next = r.new(Node)
    y_addr = x.next.addr
    x.next.id = 77
    _start_heap_cycle(r)
    z = r.new(Node)                       # allocated black: the mark never scans it
    assert r.heap.is_marked(z.addr)
    z.next = x.next                       # Dijkstra half: shade the new pointer
    x.next = None                         # Yuasa half: shade the deleted pointer
    return x, z, y_addr


def test_the_write_barrier_keeps_an_object_moved_during_the_mark():
    with _runtime(godebug="gccheckmark=1") as r:
        x, z, y_addr = _hide(r)
        assert r.heap.wbuf_len > 0
        r.finish_cycle()                  # checkmark passes
        assert not r.gc_running
        assert r.heap.find_object(y_addr) is not None
        assert z.next.addr == y_addr and z.next.id == 77


@pytest.mark.parametrize("how", ["store", "slice", "store_pointers", "write_word"])
def test_every_pointer_store_path_has_the_barrier(how):
    with _runtime(godebug="gccheckmark=1") as r:
        x = r.new(Node)
        x.next = r.new(Node)
        y_addr = x.next.addr
        S = rt.Slice(rt.Ptr(Node))
        _start_heap_cycle(r)
        if how == "slice":
            s = r.make(S, 1)
            s[0] = x.next
            keep = s
        else:
            z = r.new(Node)
            if how == "store":
                z.other = x.next
            elif how == "store_pointers":
                import numpy as np
                r.heap.store_pointers(np.array([z.addr], np.uint64), np.array([8], np.uint64),
                                      np.array([y_addr], np.uint64))
            else:
                r.heap.write_word(z.addr + 8, y_addr)
            keep = z
        r.heap.write_word(x.addr, 0)      # the only other reference deleted (barrier too)
        r.finish_cycle()
        assert r.heap.find_object(y_addr) is not None
        del keep


def test_no_write_barrier_experiment_frees_a_reachable_object_and_checkmark_says_so():
    with _runtime(godebug="gccheckmark=1", experiments={"no_write_barrier"}) as r:
        x, z, y_addr = _hide(r)
        assert not r.heap.write_barrier and r.heap.wbuf_len == 0
        with pytest.raises(FatalError, match="checkmark found unmarked object") as ei:
            r.finish_cycle()
        assert any("checkmarks found unexpected unmarked object" in n
                   for n in getattr(ei.value, "__notes__", []))
    with _runtime(experiments={"no_write_barrier"}) as r:
        x, z, y_addr = _hide(r)
        r.finish_cycle()                  # no checkmark: y is freed while z points to it
        assert r.heap.find_object(y_addr) is None
        assert r.heap.read_word(z.addr) == y_addr


def test_unknown_experiment_is_rejected():
    with pytest.raises(ValueError, match="unknown experiment"):
        rt.Runtime(experiments={"no_gc"})


@pytest.mark.parametrize("mode", [1, 2])
def test_gcstoptheworld_marks_a_heap_triggered_cycle_to_its_end(mode):
    with _runtime(godebug=f"gcstoptheworld={mode},gccheckmark=1") as r:
        n0 = r.gc_record.num_gc
        hold = []
        while r.gc_record.num_gc == n0:
            hold.append(r.new(Node))
            assert not r.gc_running               # never left in its mark phase
        assert r.gc_record.num_gc == n0 + 1 and not r.heap.write_barrier


def test_runtime_gc_during_a_cycle_finishes_it_then_runs_its_own():
    with _runtime(godebug="gccheckmark=1") as r:
        hold = [r.new(Node) for _ in range(100)]
        _start_heap_cycle(r)
        n0 = r.gc_record.num_gc
        r.gc()
        assert r.gc_record.num_gc == n0 + 2 and r.gc_record.num_forced_gc >= 1
        assert not r.gc_running
        del hold


def test_weak_value_during_the_mark_shades_the_object():
    with _runtime(godebug="gccheckmark=1") as r:
        p = r.new(Node)
        w = weak.Make(p)
        addr = p.addr
        del p
        _start_heap_cycle(r)
        q = w.Value()                     # weak -> strong during mark: shaded
        assert q is not None
        del q
        r.finish_cycle()
        assert r.heap.find_object(addr) is not None    # kept by this cycle (shaded)
        r.gc()
        assert w.Value() is None


def test_finalizers_and_cleanups_stay_right_across_a_concurrent_cycle():
    with _runtime(godebug="gccheckmark=1") as r:
        ran = []
        f = r.new(Node)
        f.id = 5
        r.set_finalizer(f, lambda q: ran.append(q.id))
        _start_heap_cycle(r)
        g = r.new(Node)                   # set during the mark
        g.id = 6
        r.set_finalizer(g, lambda q: ran.append(q.id))
        del f, g
        r.finish_cycle()
        r.sched.run_until_idle()
        r.gc()
        r.sched.run_until_idle()
        assert sorted(ran) == [5, 6]


def test_a_bad_pointer_found_by_a_mark_step_abandons_the_cycle():
    with _runtime() as r:
        x = r.new(Node)
        n0 = r.gc_record.num_gc
        pacer = dict(vars(r.pacer))       # as before the cycle
        _start_heap_cycle(r)
        r.heap.write_word(x.addr, 0xc000000000 + (60 << 20))    # in the arena, not mapped
        with pytest.raises(FatalError, match="found bad pointer"):
            r.finish_cycle()
        assert not r.gc_running and not r.heap.write_barrier and not r.heap.gcphase_mark
        assert not r.heap.gcmark_bits.any()
        assert r.gc_record.num_gc == n0
        assert {k: v for k, v in vars(r.pacer).items() if k != "heap_live"} == \
            {k: v for k, v in pacer.items() if k != "heap_live"}
        r.heap.write_word(x.addr, 0)
        r.gc()
        assert r.gc_record.num_gc == n0 + 1


def test_idle_mark_workers_finish_the_cycle_when_every_goroutine_blocks():
    with _runtime() as r:
        ch = rt.Chan()
        _start_heap_cycle(r)

        def worker():
            ch.send(1)
        r.go(worker)
        assert ch.recv() == 1             # main blocks; the worker runs, sends
        r.sched.run_until_idle()          # nothing runnable: idle workers finish the mark
        assert not r.gc_running


def test_mark_state_drains_in_budgets_and_counts_like_the_stop_the_world_mark():
    with _runtime() as r:
        hs = [r.new(Node) for _ in range(3000)]
        for i in range(1, len(hs)):
            hs[i].next = hs[i - 1]
        root = hs[-1]
        del hs
        roots, scan_only = r.gc_roots()
        with r.world:
            ref = _mark.mark(r.heap, roots, scan_only)
            _mark.clear_marks(r.heap)
            m = _mark.MarkState(r.heap)
            m.set_roots(roots, scan_only)
            steps = 0
            while not m.empty:
                m.drain(512, 0, 1)
                steps += 1
            got = (m.bytes_marked, m.nmarked, m.scan_bytes)
            m.stop()
            _mark.clear_marks(r.heap)
        assert got == ref and steps > 10
        del root


Fin = rt.Struct("ConcFinT", y=rt.Ptr("ConcNodeT"), pad=rt.Array(rt.Int, 3))


def test_special_roots_are_read_by_the_first_drain():
    """Issue 16: Go's markroot reads finq and the specials (fixedRootFinalizers,
    markrootSpans) when the first worker or assist does the root jobs, not at mark start:
    a finalizer set between the two keeps its object's referents (y, reachable only from
    the unreachable x) for the finalizer. Before, they were read at mark start and y was
    freed while the queued finalizer could still reach it."""
    with _runtime(godebug="gccheckmark=1") as r:
        x = r.new(Fin)
        x.y = r.new(Node)
        x.y.id = 42
        y_addr = x.y.addr
        seen = []
        _start_heap_cycle(r)
        r.set_finalizer(x, lambda x: seen.append(x.y.id))
        del x
        assert not r.collector.mark.roots_done
        r.finish_cycle()                          # checkmark passes: y is marked
        assert not r.gc_running
        assert r.heap.find_object(y_addr) is not None
        assert len(r.finalizers.finq) == 1        # x was dead: its finalizer is queued
        rt.Gosched()
        assert seen == [42]


def test_set_finalizer_after_the_root_jobs_scans_its_object():
    """Go's addfinalizer during a mark scans the object (markrootSpans may have run):
    after the first drain, SetFinalizer queues the object to be scanned, not marked."""
    with _runtime(godebug="gccheckmark=1") as r:
        x = r.new(Fin)
        x.y = r.new(Node)
        _start_heap_cycle(r)
        m = r.collector.mark
        r.collector.drain(r.collector.cycle, "assist", 0, scan_budget=1)   # the first root job
        assert m.specials_read and not m.roots_done   # the stacks are still to be scanned
        grey = m.grey
        r.set_finalizer(x, lambda x: None)
        assert m.grey == grey + 1
        r.finish_cycle()
        assert r.heap.is_marked(x.y.addr) or r.heap.find_object(x.y.addr) is not None
        del x


def test_read_mem_stats_from_a_goroutine_during_a_cycle_shows_it_in_progress():
    # GIVEN a goroutine that allocates until a heap-triggered cycle is in its mark, then
    # yields to a second goroutine (Gosched: the fractional worker takes one turn)
    with _runtime(godebug="gccheckmark=1") as r:
        keep = [r.new(Node) for _ in range(40000)]        # a heap the turn cannot finish
        for i in range(1, len(keep)):
            keep[i].next = keep[i - 1]
        keep = keep[-1:]
        n0 = r.gc_record.num_gc
        seen = {}

        def reader():
            seen["running"] = r.gc_running
            seen["m"] = r.read_mem_stats()
            seen["after"] = r.gc_running

        def allocator():
            for i in range(400000):
                r.new(Node).id = i
                if r.gc_running:
                    seen["goal"] = r.heap_goal()
                    r.go(reader)
                    rt.Gosched()
                    return

        r.go(allocator)
        rt.Gosched()
        r.sched.run_until_idle()
        # THEN the reader's ReadMemStats saw the cycle in progress: not counted in NumGC,
        # NextGC its goal, and the mark still running after the read (a stop-the-world
        # read does not end a cycle)
        assert seen["running"] and seen["after"]
        assert seen["m"].NumGC == n0
        assert seen["m"].NextGC == seen["goal"]
        r.gc()
        assert r.gc_record.num_gc >= n0 + 1 and keep[0].next is not None


def test_sysmon_preempts_a_goroutine_10_to_20_ms_after_it_got_the_cpu():
    # sysmon's wakes: 20 µs sleeps, then doubling to 10 ms (each 50 µs late)
    assert mgc.SYSMON_RAMP[:2] == (70_000, 140_000)
    assert mgc.SYSMON_DELAY == 10_050_000
    for s in (0, 3_000_000, 50_000_000, 123_456_789, 10**12):
        tp = mgc.preempt_time(s)
        assert mgc.FORCE_PREEMPT_NS < tp - s <= 2 * mgc.SYSMON_DELAY + mgc.TIMER_SLACK_NS
        assert mgc.sysmon_tick(tp) == tp
    # a goroutine that never yields: a new slice at each preemption, one every 2 periods
    t = mgc.preempt_time(10**9)
    assert mgc.preempt_time(t) - t == 2 * mgc.SYSMON_DELAY


def test_the_fractional_worker_marks_when_sysmon_preempts_a_goroutine_that_does_not_allocate():
    # GIVEN a heap-triggered cycle at GOMAXPROCS=1 with much mark work left
    with _runtime() as r:
        keep = [r.new(Node) for _ in range(40000)]
        for i in range(1, len(keep)):
            keep[i].next = keep[i - 1]
        keep = keep[-1:]
        _start_heap_cycle(r)
        cyc = r.collector.cycle
        assert r.pacer.fractional_utilization_goal == 0.25
        base = r._start_ns
        tp = mgc.preempt_time(cyc.sched_ns - base) + base
        assert tp > r.clock.nanotime()
        # WHEN the goroutine runs past sysmon's preemption without allocating, then
        # allocates up to the next check point
        r.clock.charge(tp - r.clock.nanotime() + 2_000_000)
        steps = cyc.steps
        while r.collector.cycle is cyc and cyc.steps == steps:
            r.new(Node)
        # THEN the fractional worker marked at the preemption, for its share of the mark's
        # time up to the preemption (1.2x its goal, pollFractionalWorkerExit), and the
        # goroutine's new time slice began after the worker's turn
        since = tp - r.pacer.mark_start_time
        assert cyc.fractional_ns > 0
        assert cyc.fractional_ns <= int(1.2 * 0.25 * since / (1 - 1.2 * 0.25)) + 1
        if r.collector.cycle is cyc:
            assert cyc.sched_ns == tp + cyc.fractional_ns
        r.gc()
        assert keep[0].next is not None


def test_root_jobs_are_markroot_jobs_done_whole_in_go_order():
    """Go's markroot: the globals in 256 KiB blocks of .data then .bss, then one job per
    goroutine stack; a job is done whole, so an assist that asks for 64 KiB of work at
    mark start (no heap work yet: gcDrainN takes root jobs) scans the whole .data and
    .bss blocks (158 314 bytes for a minimal binary) and stops there."""
    jobs, first_stack = mgc.root_jobs(mgc.GLOBALS_SCAN, [264] * 7)
    assert jobs[:first_stack] == [mgc.GLOBALS_DATA, mgc.GLOBALS_SCAN - mgc.GLOBALS_DATA]
    big, _ = mgc.root_jobs(684562, [])          # the oracle binary's 557 KB of globals
    assert big == [mgc.GLOBALS_DATA, 256 << 10, 256 << 10, 684562 - mgc.GLOBALS_DATA - (512 << 10)]
    with _runtime() as r:
        _start_heap_cycle(r)
        m, cyc = r.collector.mark, r.collector.cycle
        _, work = r.collector.drain(cyc, "assist", 0, scan_budget=mgc.GC_OVER_ASSIST_WORK)
        assert work == m.root_scan == mgc.GLOBALS_SCAN
        assert not m.roots_done and m.root_work == rt.stack.BASE_STACK_SCAN
        r.finish_cycle()


def test_an_assist_takes_heap_work_before_root_jobs_and_a_worker_after():
    """gcDrainN (an assist) takes a root job only when it finds no heap work; gcDrain (a
    worker) does the root jobs first. Each returns once its budget is spent."""
    with _runtime() as r:
        keep = [r.new(Node) for _ in range(2000)]
        for a, b in zip(keep, keep[1:]):
            a.next = b
        keep = keep[:1]
        for heap_first in (True, False):      # an assist, then a (fractional) worker
            _start_heap_cycle(r)
            m = r.collector.mark
            m.drain(1, 0.0, 1.0, 1.0, heap_first=heap_first)     # the special roots, stacks
            assert m.specials_read
            if not heap_first:  # the .data block, whole, and nothing else
                assert m.root_scan == mgc.GLOBALS_DATA and m.scan_bytes == 0
            m.drain(4096, 0.0, 1.0, 1.0, heap_first=heap_first)
            if heap_first:      # the list's nodes first: no root job yet
                assert m.root_scan == 0 and m.scan_bytes >= 4096
            else:               # then the .bss block, whole
                assert m.root_scan == mgc.GLOBALS_SCAN and m.scan_bytes == 0
            r.finish_cycle()
        del keep


def test_a_pending_trigger_check_after_runtime_gc_starts_no_cycle():
    """Go tests the heap trigger when an allocation checks it: SetGCPercent lowering the
    trigger below the live heap, then runtime.GC(), leaves a trigger above the heap, and
    the next allocation starts nothing (the emulator's check point flag, raised before
    runtime.GC(), used to start a cycle at once)."""
    Buf = rt.Slice(rt.Byte)
    with _runtime() as r:
        ring = [r.make(Buf, 8192) for _ in range(1024)]       # 8 MiB live at GOGC=100
        old = r.set_gc_percent(25)
        r.make(Buf, 8192)                                      # the check point fires
        r.gc()
        n = r.gc_record.num_gc
        assert r.heap.heap_live < r.heap.trigger
        for _ in range(8):
            r.make(Buf, 8192)
        assert r.gc_record.num_gc == n and not r.gc_running
        r.set_gc_percent(old)
        del ring
