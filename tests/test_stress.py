"""Thread stress: goroutines as real threads allocating, linking, dropping, setting
finalizers and cleanups, making weak pointers and collecting, all at once
(docs/reliability.md, "Thread stress").

Eight goroutines (``rt.go`` under ``scheduler="threads"``) run ``STRESS_OPS`` operations each
(a fixed amount of work, not a wall-clock time: on a loaded machine the test takes longer
instead of doing less) and the main goroutine checks spec 2.3's invariants on
``ReadMemStats`` while they do (the workers keep going until it has checked ``MIN_CHECKS``
times, so that many checks always overlap them, whatever the load). Every
collection runs Go's checkmark verification (``godebug="gccheckmark=1"``). Afterwards:

- every object still reachable holds the values written into it (``id`` and a checksum of
  it, in every node of every worker's lists, including links across workers);
- everything is dropped and collected, and every finalizer and every cleanup that was
  registered (and not cleared or stopped) ran exactly once (Go's TestCleanupLost), none ran
  twice and none ran for an object that was still reachable; stopped cleanups never ran;
- every weak pointer's ``Value()`` was, whenever non-nil, the object it was made from, and
  is nil at the end;
- the heap is back to its size before the workers started.

Workers write only the fields of the nodes they allocated (as a race-free Go program
would); they read and link other workers' published nodes. Nodes with finalizers never
hold pointers, so no finalizer is in a cycle (those never run, by Go's rules).
"""
from __future__ import annotations

import contextvars
import itertools
import random
import sys
import threading
import time

import pytest
from gocheck import check_invariants

import goruntime as rt
from goruntime import weak

pytestmark = pytest.mark.threads



STRESS_OPS = 1500           # per worker, make test (about 4 s on a quiet machine)
MIN_CHECKS = 12             # invariant checks by main while the workers run
WORKERS = 8
MASK = (1 << 64) - 1

Node = rt.Struct("StNode", next=rt.Ptr("StNode"), other=rt.Ptr("StFin"), id=rt.Int,
                 check=rt.Uint64, pad=rt.Array(rt.Int, 3))
Fin = rt.Struct("StFin", id=rt.Int, check=rt.Uint64)     # pointer-free: in no cycle
Blob = rt.Array(rt.Byte, 3000)                            # bigger allocations, noscan


def checksum(i):
    return (i * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019) & MASK


class Ledger:
    """What the workers did, for the checks at the end (thread-safe)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.ids = itertools.count(1)
        self.fin_armed, self.fin_ran = set(), {}
        self.cl_armed, self.cl_stopped, self.cl_ran = set(), set(), {}
        self.published = []          # nodes any worker may link to (handles: roots)
        self.errors = []
        self.ops = 0
        self.gcs = 0
        self.checks = 0              # main's invariant checks so far (written by main only)
        self.stop = False            # main failed: the workers stop

    def ran_finalizer(self, fid, p):
        with self.lock:
            self.fin_ran[fid] = self.fin_ran.get(fid, 0) + 1
        if p.id != fid or p.check != checksum(fid):
            self.error(f"finalizer {fid} got an object holding id={p.id}")

    def ran_cleanup(self, cid):
        with self.lock:
            self.cl_ran[cid] = self.cl_ran.get(cid, 0) + 1

    def error(self, msg):
        with self.lock:
            self.errors.append(msg)


def _verify_chain(led, n, depth=6):
    while n is not None and depth:
        i = n.id
        if n.check != checksum(i):
            led.error(f"node {i} holds check {n.check:#x}, want {checksum(i):#x}")
            return
        o = n.other
        if o is not None and o.check != checksum(o.id):
            led.error(f"fin node {o.id} holds check {o.check:#x}")
        n, depth = n.next, depth - 1


def worker(wid, led, budget, held):
    """One goroutine's random mix of allocation, linking, dropping and runtime calls:
    *budget* operations, and on until main has made its ``MIN_CHECKS`` checks."""
    rnd = random.Random(wid)
    mine = held[wid]            # this worker's nodes (the main goroutine reads them at the end)
    fins = held[f"fins{wid}"]   # and the finalizable objects it holds directly
    weaks = []
    done = 0
    while (done < budget or led.checks < MIN_CHECKS) and not led.stop:
        op = rnd.random()
        done += 1
        with led.lock:
            led.ops += 1
        if op < 0.30:                                    # allocate a node, maybe link it
            n = rt.new(Node)
            i = next(led.ids)
            n.id, n.check = i, checksum(i)
            if mine and rnd.random() < 0.6:
                n.next = rnd.choice(mine)
            elif led.published and rnd.random() < 0.5:
                n.next = rnd.choice(led.published)       # another worker's node
            mine.append(n)
        elif op < 0.38:                                  # a finalizable node, linked or not
            f = rt.new(Fin)
            i = next(led.ids)
            f.id, f.check = i, checksum(i)
            rt.SetFinalizer(f, lambda p, i=i: led.ran_finalizer(i, p))
            with led.lock:
                led.fin_armed.add(i)
            if mine and rnd.random() < 0.7:
                rnd.choice(mine).other = f               # reachable only through the node
            elif rnd.random() < 0.5:
                fins.append(f)
        elif op < 0.46 and mine:                         # a cleanup; sometimes stopped
            n = rnd.choice(fins) if fins and rnd.random() < 0.2 else rnd.choice(mine)
            cid = next(led.ids)
            c = rt.AddCleanup(n, led.ran_cleanup, cid)
            if rnd.random() < 0.2:
                c.Stop()                                 # n is held: removal is guaranteed
                with led.lock:
                    led.cl_stopped.add(cid)
            else:
                with led.lock:
                    led.cl_armed.add(cid)
        elif op < 0.54 and mine:                         # weak pointers
            n = rnd.choice(mine)
            weaks.append((weak.Make(n), n.id))
            w, i = rnd.choice(weaks)
            v = w.Value()
            if v is not None and (v.id != i or v.check != checksum(i)):
                led.error(f"weak pointer to {i} gave an object holding id={v.id}")
        elif op < 0.70 and mine:                         # drop handles (garbage, or kept by links)
            for _ in range(rnd.randrange(1, 4)):
                if mine:
                    del mine[rnd.randrange(len(mine))]
            if fins and rnd.random() < 0.5:
                del fins[rnd.randrange(len(fins))]
        elif op < 0.74:
            rt.GC()
            led.gcs += 1
        elif op < 0.84 and mine:                         # re-read what we wrote
            _verify_chain(led, rnd.choice(mine))
        elif op < 0.90:                                  # publish / retire a node
            with led.lock:
                if mine and len(led.published) < 64:
                    led.published.append(rnd.choice(mine))
                elif led.published:
                    led.published.pop(rnd.randrange(len(led.published)))
        elif op < 0.95:
            b = rt.new(Blob)                             # noscan garbage, now and then large
            b[rnd.randrange(3000)] = 7
            if rnd.random() < 0.05:
                rt.make(rt.Slice(rt.Int), rnd.randrange(5000, 20000))
        else:
            rt.ReadMemStats()
        if len(mine) > 300:
            del mine[:100]
        if len(fins) > 100:
            del fins[:50]
        if len(weaks) > 200:
            del weaks[:100]
    held[f"weak{wid}"] = weaks                           # checked (nil) at the very end


def run_stress(ops, workers=WORKERS, gomaxprocs=4):
    """Run the workers; return (ledger, runtime) after all the end-of-run checks."""
    led = Ledger()
    with rt.Runtime(scheduler="threads", godebug="gccheckmark=1", gomaxprocs=gomaxprocs,
                    arena_cap=1 << 30) as r:
        for T in (Node, Fin, Blob):       # lay the types out before the threads do (B23)
            p = rt.new(T)
            (p.id, p.check) if T is not Blob else p[0]
        del p
        rt.GC()
        base = rt.ReadMemStats()
        kept0 = _runtime_retained(r)
        held = {w: [] for w in range(workers)}
        held.update({f"fins{w}": [] for w in range(workers)})
        wg = rt.WaitGroup()
        finished = []
        done = threading.Event()

        def run(w):
            try:
                worker(w, led, ops, held)
            except BaseException as e:  # noqa: BLE001
                led.error(f"worker {w} raised {type(e).__name__}: {e}")
                raise
            finally:
                finished.append(w)
                wg.Done()

        old = sys.getswitchinterval()
        sys.setswitchinterval(1e-4)                      # more interleavings
        try:
            for w in range(workers):
                wg.Add(1)
                rt.go(run, w)
            while len(finished) < workers:              # main: invariants while they run
                check_invariants(rt.ReadMemStats())
                led.checks += 1
                time.sleep(0.05)
            wg.Wait()
        finally:
            led.stop = True
            sys.setswitchinterval(old)
            done.set()
        assert not led.errors, led.errors[:5]
        assert led.checks >= MIN_CHECKS

        _verify_reachable(led, held, workers)           # every value written is still there
        assert not led.errors, led.errors[:5]
        rt.GC()
        check_invariants(rt.ReadMemStats())

        # drop everything: every armed finalizer and cleanup must run, exactly once
        weaks = [x for w in range(workers) for x in held.pop(f"weak{w}", [])]
        held.clear()
        led.published.clear()
        stuck = _drain(r, led)
        ran_f, ran_c = dict(led.fin_ran), dict(led.cl_ran)
        assert not led.errors, led.errors[:5]
        assert {i for i, n in ran_f.items() if n != 1} == set(), "finalizer ran twice"
        assert {i for i, n in ran_c.items() if n != 1} == set(), "cleanup ran twice"
        assert set(ran_f) == led.fin_armed, (len(led.fin_armed - set(ran_f)), "finalizers lost")
        assert not set(ran_c) & led.cl_stopped, "a stopped cleanup ran"
        assert all(w.Value() is None for w, _ in weaks)
        del weaks
        rt.GC()
        m = rt.ReadMemStats()
        check_invariants(m)
        assert not r.heap.gcmark_bits.any()
        led.final = m
        assert not stuck, f"{stuck} cleanups will never run: a cleanup goroutine's wake-up was lost"
        assert set(ran_c) == led.cl_armed, (len(led.cl_armed - set(ran_c)), "cleanups lost")
        # what stays: the goroutines' Gs, allgs, cached sudogs (proc.py), the finalizer
        # goroutine's call frame (mfinal.py: runfinq's), as in Go
        n, nbytes = _runtime_retained(r)
        assert (m.HeapObjects, m.HeapAlloc) == (base.HeapObjects + n - kept0[0],
                                                base.HeapAlloc + nbytes - kept0[1])
    return led


def _verify_reachable(led, held, workers):
    for n in [n for w in range(workers) for n in held[w]] + led.published:
        _verify_chain(led, n, depth=50)
    for f in [f for w in range(workers) for f in held[f"fins{w}"]]:
        if f.check != checksum(f.id):
            led.error(f"fin node {f.id} changed")


def _drain(r, led, timeout=300.0):
    """Collect until no finalizer or cleanup is pending and their counts are stable.

    Returns 0, or the number of queued cleanups that can never run because every cleanup
    goroutine is parked and none is on the idle list any more (B24's lost wake-up).
    """
    end = time.monotonic() + timeout
    last, stuck_rounds = None, 0
    while time.monotonic() < end:
        rt.GC()
        time.sleep(0.02)
        rt.Gosched()
        state = (len(led.fin_ran), len(led.cl_ran), len(r.finalizers.finq), len(r.cleanups.queue),
                 len(r.specials.finalizers), len(r.specials.cleanups))
        if state == last and not r.finalizers.finq and not r.cleanups.queue:
            return 0
        lost = r.cleanups.queue and not r.cleanups.idle and all(
            g.wait_reason == "cleanup wait" for g in r.cleanups.goroutines)
        stuck_rounds = stuck_rounds + 1 if lost and state == last else 0
        if stuck_rounds >= 10 and not r.finalizers.finq:
            return sum(map(len, r.cleanups.queue))
        last = state
    raise AssertionError(f"finalizers/cleanups still pending after {timeout}s: {last}")


def _runtime_retained(r):
    """``(objects, bytes)`` the runtime itself keeps on the heap now: proc's (Gs, allgs,
    sudogs, timers) and the finalizer goroutine's call frame."""
    n, nbytes = r.proc.retained()
    if r.finalizers.frame:
        n, nbytes = n + 1, nbytes + r.heap.find_object(r.finalizers.frame)[2]
    return n, nbytes


def test_thread_stress():
    led = run_stress(STRESS_OPS)
    print(f"\nstress: {WORKERS} threads x {STRESS_OPS} operations: {led.ops} operations, "
          f"{led.gcs} worker GCs, NumGC={led.final.NumGC}, {len(led.fin_armed)} finalizers, "
          f"{len(led.cl_armed)} cleanups ran exactly once; {len(led.cl_stopped)} stopped")
    assert led.ops >= WORKERS * STRESS_OPS and led.final.NumGC > 20


@pytest.mark.slow
def test_thread_stress_long():
    led = run_stress(45000)                  # about two minutes on a quiet machine
    assert led.ops >= 8 * 45000


@pytest.mark.slow
@pytest.mark.parametrize("gomaxprocs", [1, 2, 16])     # 16: four cleanup goroutines
def test_thread_stress_gomaxprocs(gomaxprocs):
    run_stress(7500, gomaxprocs=gomaxprocs)


# ---------------------------------------------------------------------------------------
# Races found by the stress work (docs/reliability.md, "Bugs found")

class _HookPtr(rt.Ptr):
    """``*T`` whose ``underlying`` runs a hook once: on a pointer load's first use of the
    type, the moment the load has read the word and not yet rooted the new handle (to put
    another thread exactly there)."""

    hook = None

    @property
    def underlying(self):
        h, _HookPtr.hook = _HookPtr.hook, None
        if h is not None:
            h()
        return self


def test_b19_pointer_load_is_atomic_with_respect_to_gc():
    Target = rt.Struct("B19T", id=rt.Int, pad=rt.Array(rt.Int, 2))
    Holder = rt.Struct("B19H", next=_HookPtr(Target))
    with rt.Runtime(scheduler="threads", godebug="gccheckmark=1") as r:
        holder = rt.new(Holder)
        t = rt.new(Target)
        t.id = 42
        r.heap.write_word(holder.addr, t.addr)      # a raw store: *T's elem is not cached yet
        del t
        holder.field_ptr("next")                    # the field's offset and kind are cached
        ctx = contextvars.copy_context()

        def other_thread():                             # Go: another goroutine, meanwhile
            holder.next = None
            rt.GC()

        def hook():
            th = threading.Thread(target=ctx.run, args=(other_thread,))
            th.start()
            th.join(1.0)            # a correct runtime blocks it until the load has rooted x
            hook.thread = th

        _HookPtr.hook = hook
        x = holder.next
        hook.thread.join()
        assert r.heap.find_object(x.addr) is not None, "the handle points to a freed object"
        assert x.id == 42
        rt.GC()


@pytest.mark.parametrize("mode", ["cooperative", "threads"])
def test_b20_waitgroup_go_sees_the_current_runtime(mode):
    with rt.Runtime(scheduler=mode) as r:
        seen = []
        wg = rt.WaitGroup()
        wg.Go(lambda: seen.append(rt.current() is r))
        wg.Wait()
        assert seen == [True]


def test_b21_sleep_while_another_thread_ends_the_cycle():
    T = rt.Struct("B21", x=rt.Int, p=rt.Ptr(rt.Int))
    with rt.Runtime(scheduler="threads") as r:
        keep = [rt.new(T) for _ in range(2000)]
        r.gc(kind="heap")                                # a heap cycle, left open (runway)
        assert r.gc_running
        errors = []

        def sleeper():
            try:
                rt.Sleep(1)
            except Exception as e:  # noqa: BLE001
                errors.append(e)

        with r.world:                                   # the sleeper waits for the lock...
            g = rt.go(sleeper)
            time.sleep(0.3)
            r.finish_cycle()                             # ...while this ends the cycle
        deadline = time.monotonic() + 60                # it passed finish_cycle: asleep
        while not g.done and g.wait_reason != "sleep" and time.monotonic() < deadline:
            time.sleep(0.01)
        del keep
        assert errors == [] and (g.done or g.wait_reason == "sleep")


def test_b22_two_cleanup_goroutines_never_share_a_block():
    import collections
    T = rt.Struct("B22", x=rt.Int, p=rt.Ptr(rt.Int))
    ran = collections.Counter()

    def cleanup(i):
        ran[i] += 1
        rt.Gosched()             # a cleanup that blocks for a moment (a channel op, Sleep...)

    with rt.Runtime(gomaxprocs=8) as r:             # max(8/4, 1) = 2 cleanup goroutines
        objs = [rt.new(T) for _ in range(40)]       # two blocks of 20
        for i, o in enumerate(objs):
            rt.AddCleanup(o, cleanup, i)
        del objs, o
        rt.GC()
        keep = rt.new(T)
        rt.AddCleanup(keep, cleanup, 999)            # creates the second cleanup goroutine
        assert len(r.cleanups.goroutines) == 2
        for _ in range(100):
            rt.Gosched()
        assert sorted(ran) == list(range(40)) and set(ran.values()) == {1}


def test_b23_type_layout_is_thread_safe():
    class SlowArray(rt.Array):               # a layout that takes a moment to compute
        def _compute_layout(self):
            time.sleep(0.2)
            return super()._compute_layout()

    T = SlowArray(rt.Int, 4)
    errors = []

    def size():
        try:
            assert T.size == 32
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=size) for _ in range(2)]
    for t in threads:
        t.start()
        time.sleep(0.05)
    for t in threads:
        t.join()
    assert errors == []


def test_b24_cleanup_goroutine_wakeup_is_not_lost():
    T = rt.Struct("B24", x=rt.Int, p=rt.Ptr(rt.Int))
    ran = []
    with rt.Runtime(scheduler="threads") as r:
        park = r.sched.park

        def slow_park(reason):        # the goroutine found the queue empty, not parked yet
            if reason == "cleanup wait":
                time.sleep(0.3)
            return park(reason)

        r.sched.park = slow_park
        objs = [rt.new(T) for _ in range(5)]
        for i, o in enumerate(objs):
            rt.AddCleanup(o, ran.append, i)         # the first starts the cleanup goroutine
        del objs, o
        time.sleep(0.1)
        rt.GC()                                     # queues the 5 cleanups and wakes it: early
        deadline = time.monotonic() + 60                # a hang guard: done in ms normally
        while len(ran) < 5 and time.monotonic() < deadline:
            rt.GC()
            time.sleep(0.05)
        assert sorted(ran) == [0, 1, 2, 3, 4]
