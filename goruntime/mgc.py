"""The GC cycle: when it starts, its phases, and what it records (Go: mgc.go).

One cycle (``Collector.gc``), following Go's phases (spec §3.1):

1. sweep termination (STW #1): nothing is left to sweep here (the emulator sweeps each
   cycle completely; Go sweeps lazily), the pacer starts the cycle;
2. mark: roots are the handle table (Python handles = goroutine stacks), queued
   finalizers and cleanups, special records (finalizer referents, cleanup closures, weak
   handle cells) and each P's tiny block; ``_mark.mark`` does the work without the GIL.
   The emulator marks everything reachable at the start (the snapshot Go's hybrid
   barrier guarantees), then models Go's *concurrent* mark as a runway during which the
   mutator keeps allocating and new objects are allocated black (``start_cycle``);
   ``weak.Pointer.Value`` shades during that phase, as in Go;
3. mark termination (STW #2): heapMarked = heapLive = bytes marked, every mcache is
   flushed (counted, tiny block dropped), NumGC/NumForcedGC, PauseNs/PauseEnd/LastGC,
   GCCPUFraction, the pacer commits the next goal and trigger;
4. sweep, in Go's span order (``_mark.sweep_order``: the spans the mcache flush swept,
   then by span class, full before partial, in push order): specials of unmarked
   objects first (spec §3.7, ``mspecial``: finalizable objects are revived and their
   finalizers queued, in the batches Go's finalizer goroutine takes between the
   sweepers' turns; weak handles cleared; cleanups queued), then the spans
   (``_mark.sweep``).

The state of a cycle between its mark and its mark termination is a `Cycle`; what the
collector accumulates over all cycles (MemStats' GC fields, the CPU and pause statistics)
is a `GCRecord`. The `Collector` is the Runtime's component that runs cycles; it holds
the world lock (``Runtime.world``) for the whole cycle.

Time comes from the runtime's clock. With ``clock="virtual"`` (the default) the collector
charges its work with ``clock.charge_gc`` at the costs of the calibrated table
(`clock.COSTS`): each pause by its work (`Collector.pause_cost`), the mark per byte and
object scanned and per goroutine stack; the program's own work is metered into the clock
(clock.py). With ``clock="wall"`` the phases are measured. The GC CPU limiter
(`mgclimit.GCCPULimiter`) sees both stop-the-world transitions, the assists' and the idle
workers' mark time; while it is on, a cycle's mark runs without assists.
"""
import dataclasses
import os
import sys
import threading
import time as _time
import weakref

import numpy as np

from . import _gcwork, _mark, _signals, clock as _clock, metrics as _metrics
from . import mstats, pacer as _pacer
from . import stack as _stack
from .errors import FatalError

__all__ = ["COSTS", "FORCEGC_PERIOD", "GLOBALS_SCAN", "STACK_SCAN", "Cycle", "GCRecord",
           "Collector", "CycleEvent", "PHASES", "SWEEP_TERMINATION", "MARK_START",
           "MARK_TERMINATION", "SWEEP_DONE"]

# The virtual clock's cost table (ns): one table for the whole runtime, in clock.py.
COSTS = _clock.COSTS

FORCEGC_PERIOD = _pacer.FORCEGC_PERIOD  # Go: forcegcperiod (2 minutes)
# Scan work outside the heap. The emulated program's own globals are its Python variables
# (handles, i.e. stack roots), but a Go binary always carries the runtime's scannable data
# and BSS and a main goroutine stack; both feed the heap goal (spec 4.2). The values are
# what Go 1.27.3 reported for a minimal program (spec Appendix X3).
GLOBALS_SCAN = 158314         # /gc/scan/globals:bytes of a minimal Go 1.27.3 binary
STACK_SCAN = _stack.BASE_STACK_SCAN  # /gc/scan/stack:bytes of an idle program (stack.py)

_TRIGGER_KIND = {"cycle": _pacer.TRIGGER_CYCLE, "heap": _pacer.TRIGGER_HEAP,
                 "time": _pacer.TRIGGER_TIME}


# The phase boundaries GC observers are told about, in the order a cycle passes them.
SWEEP_TERMINATION = "sweep termination"  # STW #1 is over (Go: gcStart, before the world restarts)
MARK_START = "mark start"                # the mark begins (Go: gcphase = _GCmark)
MARK_TERMINATION = "mark termination"    # STW #2 is over: marked bytes, pause, CPU known
SWEEP_DONE = "sweep done"                # specials and spans swept; next goal and trigger set
PHASES = (SWEEP_TERMINATION, MARK_START, MARK_TERMINATION, SWEEP_DONE)


@dataclasses.dataclass(frozen=True)
class CycleEvent:
    """What a GC observer is told at one phase boundary of one cycle (all ints are bytes
    or nanoseconds).

    ``heap_goal`` is the goal the cycle runs against, except at ``SWEEP_DONE``, where it
    is the next cycle's (as is ``trigger``). ``heap_marked``, ``scan_work`` and
    ``mark_cpu_ns`` are zero until ``MARK_TERMINATION``. ``pause_ns`` is the stop-the-world
    pause that ends at this boundary (STW #1 at ``SWEEP_TERMINATION``, STW #2 at
    ``MARK_TERMINATION``) and the cycle's whole PauseNs entry at ``SWEEP_DONE``.
    ``nanotime`` is the runtime's clock (virtual with ``clock="virtual"``); ``wall_ns``
    is the host's ``time.time_ns()`` when the boundary was passed.
    """

    cycle: int               # this cycle's number: NumGC once it completes (gctrace's "gc N")
    phase: str               # one of PHASES
    kind: str                # what started it: "cycle" (runtime.GC), "heap" or "time"
    heap_live: int           # Go: heapLive at this boundary
    heap_goal: int
    trigger: int             # heap_live at which the next heap-triggered check fires
    heap_marked: int         # bytes marked (Go: heapMarked)
    scan_work: int           # heap bytes scanned (Go: heapScanWork)
    pause_ns: int
    mark_cpu_ns: int         # CPU the mark used
    gc_cpu_fraction: float   # MemStats.GCCPUFraction as of this boundary
    heap_inuse: int          # MemStats.HeapInuse (unflushed mcaches included)
    total_alloc: int         # bytes allocated since the runtime started (malloc bytes)
    gomaxprocs: int
    nanotime: int
    wall_ns: int
    mark_idle_ns: int = 0    # the part of mark_cpu_ns Go's idle mark workers did (gctrace)


@dataclasses.dataclass
class Cycle:
    """A cycle in its mark phase: what sweep termination and the mark measured."""

    number: int          # NumGC once this cycle completes
    kind: str            # "cycle" (runtime.GC), "heap" or "time" (Go: gcTrigger.kind)
    t_start: int         # nanotime at gcStart
    heap0: int           # heap live at the start (gctrace's first heap figure)
    goal: int            # the heap goal at the start
    stw1: int            # sweep termination pause (ns)
    mark_ns: int         # mark CPU (ns)
    bytes_marked: int    # bytes marked so far (shades during the mark add to it)
    scan_bytes: int      # heap scan work so far (bytes)
    mutator_ns: int      # mutator time since the last cycle ended


class GCRecord:
    """The collector's cumulative record: what MemStats' GC fields are read from."""

    @property
    def num_gc(self):
        """NumGC: completed cycles (the pause ring's count)."""
        return self.pauses.count

    def __init__(self):
        self.num_forced_gc = 0
        self.pauses = mstats.PauseRing()              # PauseNs/PauseEnd; its count is NumGC
        self.pause_total_ns = 0
        self.last_gc_unix = 0
        self.last_gc_nanotime = 0
        self.gc_cpu_fraction = 0.0
        self.cpu = mstats.CPUStats()                  # Go's cpuStats, updated at each GC
        self.stw_gc = _metrics.TimeHistogram()        # every GC STW pause (2 per cycle)
        self.stw_other = _metrics.TimeHistogram()     # ReadMemStats and other STWs
        self.last_heap_scan = 0
        self.finalizers_queued = 0
        self.finalizers_executed = 0
        self.cleanups_queued = 0
        self.cleanups_executed = 0


def _save(obj, depth=2):
    """The attributes of *obj* as they are now (lists copied, nested records saved in
    turn), for `_restore`: the state a cycle rolls back to."""
    names = list(getattr(obj, "__dict__", ()))
    for cls in type(obj).__mro__:
        names += [n for n in getattr(cls, "__slots__", ()) if n not in ("__dict__", "__weakref__")]
    out = {}
    for n in names:
        try:
            v = getattr(obj, n)
        except AttributeError:
            continue
        if isinstance(v, list):
            out[n] = (0, v[:])
        elif depth and (hasattr(v, "__dict__") or hasattr(type(v), "__slots__")) \
                and not isinstance(v, (int, float, str, bytes, tuple, type)) and not callable(v):
            out[n] = (1, v, _save(v, depth - 1))
        else:
            out[n] = (2, v)
    return out


def _restore(obj, saved):
    for n, e in saved.items():
        if e[0] == 0:
            getattr(obj, n)[:] = e[1]
        elif e[0] == 1:
            setattr(obj, n, e[1])
            _restore(e[1], e[2])
        else:
            setattr(obj, n, e[1])


def stw_mark(procs):
    """The stop-the-world mark for GOMAXPROCS *procs*: the serial drain at 1, else the
    parallel one (``_gcwork``: one worker per P, at most one per CPU). Both mark the same
    objects and return the same counts."""
    nworkers = min(procs, os.cpu_count() or 1)
    if nworkers <= 1:
        return _mark.mark
    return lambda heap, roots, scan_only: _gcwork.mark(heap, roots, scan_only, nworkers=nworkers)


class Collector:
    """The Runtime's garbage collector: starts, runs and ends cycles (Go: mgc.go).

    ``cycle`` is the running cycle's state while it is in its mark phase (else None);
    ``in_gc`` is true while a cycle's code runs (a cycle never nests).

    A cycle is exception-safe (issue 13): asynchronous signals wait until it ends
    (``_signals.deferred``), and any other exception raised in it (a MemoryError, a bug,
    an exception a tracer injects) either rolls it back or lets it complete first. Up to
    the sweep, a stage (`start_cycle`, `finish_locked`) that raises is undone: the pacer,
    the GC record, the collector's and the runtime's counters and the heap's
    live/trigger/phase state are restored, and mark bits set by a cycle that had not been
    open before are cleared (a stale mark bit would keep garbage, and leave the objects
    behind it unscanned in the next cycle). From the sweep on nothing can be undone, so
    each remaining step runs to its end (a step that raised is run again; the first
    exception is raised after the cycle).
    """

    # The runtime, held weakly: nothing a Runtime owns may keep it alive, so that it is
    # freed (and closed) when its last user reference goes (issue 13).
    rt = property(lambda self: self._rt())

    def __init__(self, rt):
        self._rt = weakref.ref(rt)
        self.cycle = None
        self.in_gc = False
        now = rt.clock.nanotime()
        self.rate_mark = (0, 0, now)  # (malloc bytes, mutator work ns, nanotime) at the last cycle's end
        self.mark_workers = 0         # gcBgMarkWorker goroutines started (one per P, at GC start)
        self.stack_scan = (0, 0)      # (bytes, stacks) of the running cycle's stack scan
        self.sweeping = False         # the running stage reached the sweep (no undo)
        self.observers = ()           # GC observers (copy on write: safe to change while called)
        self.pending = []             # CycleEvents not yet delivered (made under the world lock)
        self._delivering = None       # the thread delivering events, if any

    # -- observers ----------------------------------------------------------------------
    def add_observer(self, fn):
        """Call ``fn(event)`` at every phase boundary of every later cycle; returns *fn*."""
        if not callable(fn):
            raise TypeError(f"add_gc_observer: {fn!r} is not callable")
        with self.rt.world:
            self.observers = self.observers + (fn,)
        return fn

    def remove_observer(self, fn):
        """Stop calling *fn* (the most recently added registration of it); ValueError if
        it is not registered."""
        with self.rt.world:
            obs = list(self.observers)
            for i in range(len(obs) - 1, -1, -1):
                if obs[i] is fn or obs[i] == fn:
                    del obs[i]
                    self.observers = tuple(obs)
                    return
        raise ValueError(f"remove_gc_observer: {fn!r} is not a GC observer of this runtime")

    def _event(self, cyc, phase, heap_live, heap_goal, heap_marked, scan_work, pause_ns,
               mark_cpu_ns, mark_idle_ns=0):
        """Record a phase boundary for the observers (the caller holds the world lock).
        Nothing is computed when nobody observes."""
        if not self.observers:
            return
        rt = self.rt
        rt._check_world("Collector._event")
        c = rt._counters()
        self.pending.append(CycleEvent(
            cycle=cyc.number, phase=phase, kind=cyc.kind, heap_live=int(heap_live),
            heap_goal=int(heap_goal), trigger=int(rt.heap.trigger),
            heap_marked=int(heap_marked), scan_work=int(scan_work), pause_ns=int(pause_ns),
            mark_cpu_ns=int(mark_cpu_ns), gc_cpu_fraction=rt.gc_record.gc_cpu_fraction,
            heap_inuse=int(c.heap_inuse), total_alloc=int(c.malloc_bytes),
            gomaxprocs=rt._gomaxprocs, nanotime=rt.clock.nanotime(), wall_ns=_time.time_ns(),
            mark_idle_ns=int(mark_idle_ns)))

    def deliver(self):
        """Call the observers with the events recorded so far, in order, outside the cycle.

        Events are recorded at the boundaries, with the world stopped, and delivered when
        the call that ran the cycle leaves it (world lock released, cycle complete), so an
        observer may do anything a goroutine may: read MemStats, allocate, even run a GC
        (whose events then follow in order). An observer that raises does not disturb the
        cycle or the other observers: the exception is reported through
        ``sys.unraisablehook`` ("Exception ignored in GC observer ..."), as Python reports
        exceptions in ``gc.callbacks``, and delivery continues.
        """
        world = self.rt.world
        with world:
            if self._delivering is not None or not self.pending:
                return                # the delivering thread will take the new events too
            self._delivering = threading.get_ident()
        try:
            while True:
                with world:
                    if not self.pending:
                        self._delivering = None
                        return
                    ev = self.pending.pop(0)
                    observers = self.observers
                for fn in observers:
                    try:
                        fn(ev)
                    except Exception as e:
                        _report_observer_error(fn, ev, e)
        except BaseException:
            with world:
                self._delivering = None
            raise

    @property
    def running(self):
        """True while a cycle is in its mark phase (Go: gcphase == _GCmark)."""
        return self.cycle is not None

    def update_trigger(self):
        """The pacer's trigger for the next cycle, written into the heap's check point."""
        rt = self.rt
        mem = rt._mem_state()
        trig, goal = rt.pacer.trigger(mem)
        rt.heap.trigger = min(trig, 2**64 - 1)

    def phase(self, modelled_ns, fn, *args):
        """Run *fn*; return (result, ns): measured on a wall clock, else modelled."""
        clock = self.rt.clock
        if isinstance(clock, _clock.VirtualClock):
            r = fn(*args)
            ns = int(modelled_ns(r) if callable(modelled_ns) else modelled_ns)
            clock.charge_gc(ns)
            return r, ns
        t0 = _time.perf_counter_ns()
        r = fn(*args)
        return r, _time.perf_counter_ns() - t0

    def pause_cost(self, phase, heap_bytes):
        """The modelled cost (ns) of a stop-the-world phase (clock.COSTS, fitted against Go
        1.27.3 by bench/clockcal.py): a fixed part for each of the two pauses, and for
        sweep termination the parts that grow with the goroutines (gcResetMarkState walks
        allgs) and with the heap (its arenas' mark state is reset)."""
        if phase == SWEEP_TERMINATION:
            rt = self.rt
            ngs = rt.sched.num_goroutine() + rt._system_goroutines()
            first = COSTS["stw_first_cycle"] if rt.gc_record.num_gc == 0 else 0
            return (COSTS["stw_sweep_term"] + ngs * COSTS["stw_goroutine"]
                    + heap_bytes * COSTS["stw_heap_byte"] + first)
        return COSTS["stw_mark_term"]

    def heap_triggered(self):
        """An allocation check point fired (Go: gcTrigger{kind: gcTriggerHeap}.test()).

        With no cycle running this starts one; during a cycle's mark phase it means the
        modelled concurrent mark has run its course, so the cycle terminates.
        """
        rt = self.rt
        rt.heap.gc_pending = False
        if self.in_gc:
            return
        with rt.world:                        # a cycle's transitions hold it (threads)
            now = rt.clock.nanotime()
            lim = rt.limiter
            if not lim.transitioning and lim.need_update(now):
                lim.update(now)               # Go: from the pacer's revise, every 10 ms
        if self.cycle is None and rt.pacer.gc_percent < 0 \
                and rt.pacer.memory_limit == _pacer.MAX_INT64:
            self.update_trigger()
            return
        rt.gc(kind="heap")

    def gc(self, kind="cycle"):
        """Run the collector. *kind*: "cycle" (runtime.GC, forced), "heap", "time".

        "cycle" finishes a cycle that is already in its mark phase (Go's runtime.GC waits
        for it: NumGC may grow by 2) and then runs a whole forced cycle; "time" (the
        periodic GC) runs a whole cycle; "heap" starts a cycle whose mark phase lasts while
        the mutator allocates (see ``start_cycle``), or ends the running one.
        """
        rt = self.rt
        if kind not in ("cycle", "heap", "time"):
            raise ValueError(f"unknown GC trigger kind {kind!r}")
        rt.heap.check_thread()            # cooperative: only the owner thread collects
        if rt.godebug.get("sbrk"):
            return
        def busy():
            if self.in_gc:
                raise FatalError("runtime.GC called from inside a GC cycle")
            return False

        def stages():
            if kind == "heap" and self.cycle is not None:
                self.stage(self.finish_locked)
            else:
                if kind != "heap" and self.cycle is not None:
                    self.stage(self.finish_locked)
                self.stage(self.start_and_finish, kind)
        self.stopped(busy, stages)

    def stopped(self, busy, stages):
        """Run *stages* with the world stopped and signals deferred, unless ``busy()``
        (checked under the lock) says the work is not to be done; then deliver the
        observers' events and wake the finalizer and cleanup goroutines."""
        rt = self.rt
        entered = False
        try:
            with rt.world, _signals.deferred():
                if busy():
                    return
                self.in_gc = entered = True
                npending = len(self.pending)
                try:
                    stages()
                except BaseException:
                    del self.pending[npending:]   # a failed cycle is not reported
                    raise
                finally:
                    self.in_gc = False
            self.deliver()
        finally:
            if entered:
                self.in_gc = False        # again: an exception may hit the first line above
            self.wake_queues()

    def save(self):
        """What a stage of a cycle may change before the sweep (see the class doc)."""
        rt = self.rt
        h = rt.heap
        return (_save(rt.pacer), _save(rt.gc_record), _save(rt.limiter),
                {k: v for k, v in vars(self).items() if k != "_rt"},
                {k: v for k, v in vars(rt).items() if type(v) in (int, float, bool)},
                (h.heap_live, h.trigger, h.gcphase_mark, h.gc_pending))

    def restore(self, saved):
        rt = self.rt
        h = rt.heap
        pacer, rec, lim, coll, rtv, heap = saved
        _restore(rt.pacer, pacer)
        _restore(rt.gc_record, rec)
        _restore(rt.limiter, lim)
        for k, v in coll.items():
            setattr(self, k, v)
        for k, v in rtv.items():
            setattr(rt, k, v)
        h.heap_live, h.trigger, h.gcphase_mark, h.gc_pending = heap
        if self.cycle is None:
            _mark.clear_marks(h)            # marks of a cycle that never was

    def stage(self, fn, *args):
        """Run one stage of a cycle; undo it if it raises before the sweep (class doc)."""
        saved = self.save()
        self.sweeping = False
        try:
            return fn(*args)
        except BaseException:
            if not self.sweeping:
                self.restore(saved)
            raise

    def start_and_finish(self, kind):
        """A new cycle: its mark, and its termination unless its mark phase stays open."""
        if self.start_cycle(kind):
            self.finish_locked()

    def complete(self, steps):
        """Run every step to its end, each one again if it raised (the cycle cannot be
        undone once the sweep began); then raise the first exception, if any."""
        first = None
        for step in steps:
            for _ in range(100):
                try:
                    step()
                    break
                except BaseException as e:  # noqa: BLE001 - re-raised after the cycle
                    if first is None:
                        first = e
        if first is not None:
            raise first

    def finish_cycle(self):
        """End a cycle that is in its mark phase (the background workers finished)."""
        rt = self.rt
        if self.cycle is None or self.in_gc:
            return
        rt.heap.check_thread()
        self.stopped(lambda: self.cycle is None or self.in_gc,   # another thread ended it
                     lambda: self.stage(self.finish_locked))

    def wake_queues(self):
        """After a GC: wake the finalizer goroutine and idle cleanup goroutines."""
        self.rt.finalizers.wake()
        self.rt.cleanups.wake()

    def shade(self, addr):
        """Grey *addr* during a mark phase and mark what it reaches (Go: shade)."""
        heap = self.rt.heap
        if self.cycle is not None and not heap.is_marked(addr):
            b, n, scan = _mark.mark(heap, np.array([addr], dtype=np.uint64))
            self.cycle.bytes_marked += b
            self.cycle.scan_bytes += scan

    def special_roots(self):
        """(roots, scan_only): queued work, cleanup closures and weak cells; finalizer objects.

        ``roots``: queued finalizers' objects, cleanup closures (queued and attached), weak
        handle cells. ``scan_only``: objects with finalizers, whose referents are marked but
        not the objects themselves (Go: markrootSpans).
        """
        rt = self.rt
        roots = [f.addr for f in rt.finalizers.finq]
        for block in rt.cleanups.queue + rt.cleanups.running:
            roots.extend(c.closure for c in block)
        sp = rt.specials
        roots.extend(c.closure for c in sp.cleanups.values())
        roots.extend(w.cell for w in sp.weak.values())
        scan_only = [f.slot for f in sp.finalizers.values()]
        return (np.array(roots, dtype=np.uint64), np.array(scan_only, dtype=np.uint64))

    def start_cycle(self, kind):
        """Sweep termination and the mark. Returns True if the cycle should end at once.
        The caller holds the world lock.

        The emulator marks everything reachable right here (a snapshot at the beginning,
        which is what Go's hybrid barrier guarantees), then models Go's *concurrent* mark
        as a runway: the mark phase stays open while the mutator allocates, new objects
        are allocated black, and the cycle terminates when the mutator has allocated what
        it would have during a mark of this size at 25 % GC utilization
        (``alloc rate x mark CPU / 0.25``), and at the latest at the heap goal (Go's
        assists guarantee that). Forced and periodic cycles end at once.
        """
        rt = self.rt
        rt._check_world("Collector.start_cycle")
        self.finish_sweep()
        procs = rt._gomaxprocs
        self.mark_workers = max(self.mark_workers, procs)   # Go: gcBgMarkStartWorkers
        rt._charge_mutator()
        t_start = rt.clock.nanotime()
        heap0 = rt.heap.heap_live
        goal = rt.heap_goal()
        rt.limiter.start_gc_transition(True, t_start)          # Go: gcStart
        _, stw1 = self.phase(self.pause_cost(SWEEP_TERMINATION, heap0), lambda: None)
        rt.limiter.finish_gc_transition(rt.clock.nanotime())
        rt.pacer.max_stack_scan = rt.stacks.scannable()
        rt.pacer.start_cycle(heap0, rt.clock.nanotime(), procs, kind=_TRIGGER_KIND[kind])
        self.stack_scan = rt.stacks.scan()      # Go: markroot scans every goroutine's stack
        cyc = Cycle(number=rt.gc_record.num_gc + 1, kind=kind, t_start=t_start, heap0=heap0,
                    goal=goal, stw1=stw1, mark_ns=0, bytes_marked=0, scan_bytes=0, mutator_ns=0)
        self._event(cyc, SWEEP_TERMINATION, heap0, goal, 0, 0, stw1, 0)
        self._event(cyc, MARK_START, heap0, goal, 0, 0, 0, 0)
        rt.proc.clearpools()                    # Go: clearpools (central sudog list)
        roots, scan_only = self.special_roots()
        nstacks = self.stack_scan[1]
        first = COSTS["mark_first_cycle"] if rt.gc_record.num_gc == 0 else 0
        (bytes_marked, nmarked, scan_bytes), mark_ns = self.phase(
            lambda r: COSTS["mark_base"] + r[1] * COSTS["mark_object"]
            + r[2] * COSTS["mark_byte"] + nstacks * COSTS["mark_stack"] + first,
            stw_mark(procs), rt.heap, roots, scan_only)
        rt.heap.gcphase_mark = True
        rate, mutator_ns = self.alloc_rate()
        cyc.mark_ns, cyc.bytes_marked, cyc.scan_bytes = mark_ns, bytes_marked, scan_bytes
        cyc.mutator_ns = mutator_ns
        self.cycle = cyc
        if kind != "heap":
            return True
        runway = int(rate * mark_ns / COSTS["mark_utilization"])
        if not rt.limiter.limiting():
            # Go's assists end the mark by the goal; past the goal from the start (a
            # memory limit below the live heap) by 1.1 x the goal (revise: maxOvershoot).
            # With the GC CPU limiter on there are no assists: the background pace only.
            hard = goal if heap0 <= goal else int(goal * 1.1)
            if hard - heap0 < runway:
                runway = max(hard - heap0, 0)
                rt.limiter.add_assist_time(mark_ns)   # the allocating mutator paid for the mark
        if runway <= 0:
            return True
        rt.heap.trigger = heap0 + runway
        return False

    def alloc_rate(self):
        """(bytes per ns, mutator ns) of allocation since the last cycle ended."""
        rt = self.rt
        c = rt._counters()
        nbytes = c.malloc_bytes - self.rate_mark[0]
        if isinstance(rt.clock, _clock.VirtualClock) \
                and not getattr(rt.clock, "recorded_mutator", False):
            ns = rt.mutator_work_ns() - self.rate_mark[1]
        else:
            ns = rt.clock.nanotime() - self.rate_mark[2]
        return (nbytes / ns if ns > 0 else 0.0), ns

    def finish_locked(self):
        """Mark termination (STW #2) and the sweep; the caller holds the world lock."""
        rt = self.rt
        rt._check_world("Collector.finish_locked")
        cyc, self.cycle = self.cycle, None
        rec = rt.gc_record
        procs = rt._gomaxprocs
        kind, stw1, mark_ns = cyc.kind, cyc.stw1, cyc.mark_ns
        rt._charge_mutator()
        if rt.godebug.get("gccheckmark", 0) > 0:
            # Everything reachable now must be marked: the snapshot plus black allocation.
            _mark.checkmark(rt.heap, *self.special_roots())
        heap1 = rt.heap.heap_live
        bytes_marked = cyc.bytes_marked + rt.heap.bytes_marked_black
        rt.heap.gcphase_mark = False
        t_mark_term = rt.clock.nanotime()
        mem = rt._mem_state()
        stack_scan, nstacks = self.stack_scan
        rt.stacks.mark_termination(stack_scan, nstacks)
        rt.pacer.end_cycle(mem, t_mark_term, procs, heap_scan_work=cyc.scan_bytes,
                           stack_scan_work=stack_scan, globals_scan_work=rt.globals_scan,
                           mutator_ns=cyc.mutator_ns, mark_cpu_ns=mark_ns,
                           dedicated_ns=mark_ns, heap_live=heap1)
        rt.pacer.reset_live(bytes_marked)         # heapLive (the heap's) = bytes marked
        seq0 = self.sweep_flush_mark()            # before the flush: which spans are stale
        rt.heap.flush_mcaches(False)
        idle_ns = self.idle_mark(kind, mark_ns)
        rt.limiter.add_idle_time(idle_ns)         # Go: the idle workers' limiter events
        rt.limiter.start_gc_transition(False, rt.clock.nanotime())   # Go: gcMarkDone
        _, stw2 = self.phase(self.pause_cost(MARK_TERMINATION, heap1), lambda: None)
        rt.limiter.num_gc = rec.num_gc + 1       # Go: numgc is incremented before the finish
        rt.limiter.finish_gc_transition(rt.clock.nanotime())
        end_unix = rt.clock.unix_nano()
        rec.pauses.record(stw1 + stw2, end_unix)     # NumGC += 1
        if kind == "cycle":
            rec.num_forced_gc += 1
        rec.pause_total_ns += stw1 + stw2
        rec.stw_gc.record(stw1)
        rec.stw_gc.record(stw2)
        rec.last_gc_unix = end_unix
        rec.last_gc_nanotime = rt.clock.nanotime()
        rec.last_heap_scan = cyc.scan_bytes
        cpu = rec.cpu
        cpu.accumulate_gc_pause_time(stw1, procs)
        cpu.accumulate_gc_pause_time(stw2, procs)
        cpu.GCDedicatedTime += mark_ns - idle_ns
        cpu.GCIdleTime += idle_ns
        cpu.GCTotalTime += mark_ns
        self.accumulate_cpu()
        rec.gc_cpu_fraction = min(cpu.gc_cpu_fraction(), 0.99)
        self._event(cyc, MARK_TERMINATION, heap1, cyc.goal, bytes_marked, cyc.scan_bytes, stw2,
                    mark_ns, idle_ns)
        # sweep: specials first (spec 3.7), then the spans. From here on the cycle cannot
        # be undone: every step runs to its end (`complete`).
        self.sweeping = True
        self.complete(self.sweep_steps(seq0, kind))
        if self.observers:
            self._event(cyc, SWEEP_DONE, rt.heap.heap_live, rt.heap_goal(), bytes_marked,
                        cyc.scan_bytes, stw1 + stw2, mark_ns)

    def sweep_flush_mark(self):
        """At mark termination, before the mcaches are flushed: the push stamp after which
        a span was flushed (Go's stale cached spans, which ``uncacheSpan`` sweeps first)."""
        return self.rt.heap.push_seq

    def sweep_steps(self, seq0, kind):
        """The sweep, span by span in Go's order (`_mark.sweep_order`): the specials of
        each span's dead objects (finalizers and cleanups queued in the batches their
        goroutines take between the sweepers' turns), then the spans themselves, then
        the pacer's commit (`commit_after_sweep`). Each
        step is safe to run again (`complete`); the order is computed once, before any
        span is swept (the sweep renumbers the push stamps)."""
        rt = self.rt
        plan = []

        def order():
            if not plan:
                plan.append(_mark.sweep_order(rt.heap, seq0))

        def specials():
            if len(plan) < 2:
                plan.append(rt.specials.sweep(plan[0][0], plan[0][1], kind))
        if kind == "cycle":      # runtime.GC() sweeps everything before it returns
            return (order, specials, lambda: _mark.sweep(rt.heap, plan[0][0]),
                    self.commit_after_sweep)
        # A background cycle (heap-triggered, periodic) sweeps lazily, as Go's does
        # (gcSweep in concurrent mode): the mcache flush's spans and those whose specials
        # were just processed now; the rest in allocation (cacheSpan, the proportional
        # sweep paced here) or at the next cycle's start (`finish_sweep`).
        return (order, specials, lambda: _mark.sweep_lazy(rt.heap, plan[0][0], plan[0][1], plan[1]),
                self.commit_after_sweep, lambda: _mark.pace_sweeper(rt.heap, rt.heap.trigger))

    def finish_sweep(self):
        """Sweep termination: finish the last background cycle's sweep (Go: finishsweep_m).
        Complete in one nogil call, so nothing is left half-done if the cycle that follows
        is rolled back."""
        _mark.finish_sweep(self.rt.heap)

    def commit_after_sweep(self):
        """The pacer's next goal and trigger, the scavenger, the periodic GC's deadline."""
        rt = self.rt
        mem = rt._mem_state()
        rt.pacer.commit(sweep_done=False, mem=mem)
        rt.pacer.last_heap_in_use = mem.heap_inuse
        self.update_trigger()
        rt._maybe_scavenge(mem)
        c = rt._counters()
        self.rate_mark = (c.malloc_bytes, rt.mutator_work_ns(), rt.clock.nanotime())
        # sysmon's forcegc check is due 2 minutes after this cycle (Go: forcegcperiod)
        rt.sched.next_tick = (rt.gc_record.last_gc_nanotime + FORCEGC_PERIOD + 1
                              if rt.pacer.gc_percent >= 0 else None)

    def idle_mark(self, kind, mark_ns):
        """The part of the mark that Go's idle mark workers do (not counted in
        GCCPUFraction): all of it when the cycle's caller waits for it (runtime.GC, the
        periodic GC) and no goroutine is runnable, so the P would otherwise be idle (Go,
        GOMAXPROCS=1: gctrace shows the mark under "idle"); none for heap-triggered cycles,
        whose mark runs beside the allocating mutator."""
        if kind == "heap" or self.rt.sched.runnable_count():
            return 0
        return mark_ns

    def accumulate_cpu(self):
        """Bring TotalTime/UserTime up to now (Go: cpuStats.accumulate at mark termination)."""
        rt = self.rt
        cpu = rt.gc_record.cpu
        cpu.TotalTime = max(1, (rt.clock.nanotime() - rt._start_ns) * rt._gomaxprocs)
        cpu.UserTime = max(0, cpu.TotalTime - cpu.GCTotalTime - cpu.ScavengeTotalTime - cpu.IdleTime)


def _report_observer_error(fn, event, exc):
    """Report an exception raised by a GC observer the way CPython reports one raised by
    a ``gc.callbacks`` callback: through ``sys.unraisablehook``; the cycle is unaffected."""
    name = getattr(fn, "__qualname__", None) or repr(fn)
    sys.unraisablehook(_UnraisableArgs(
        exc_type=type(exc), exc_value=exc, exc_traceback=exc.__traceback__,
        err_msg=f"Exception ignored in GC observer {name} (cycle {event.cycle}, {event.phase})",
        object=fn))


class _UnraisableArgs:
    """The argument ``sys.unraisablehook`` expects (CPython's UnraisableHookArgs)."""

    __slots__ = ("exc_type", "exc_value", "exc_traceback", "err_msg", "object")

    def __init__(self, exc_type, exc_value, exc_traceback, err_msg, object):
        self.exc_type, self.exc_value, self.exc_traceback = exc_type, exc_value, exc_traceback
        self.err_msg, self.object = err_msg, object
