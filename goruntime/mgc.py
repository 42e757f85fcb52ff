"""The GC cycle: when it starts, its phases, and what it records (Go: mgc.go).

One cycle follows Go's phases (spec §3.1):

1. sweep termination (STW #1, _GCoff -> _GCmark): the previous background cycle's lazy
   sweep is finished first (``finish_sweep``, Go: finishsweep_m), so no sweep runs while
   the mark sets mark bits; the pacer starts the cycle
   (startCycle: dedicated/fractional worker split, assist ratio); each P's tiny block is
   shaded; allocation turns black and Go's hybrid write barrier is switched on
   (``heap.write_barrier``: every pointer store puts the old and the new value in the
   write barrier buffer, `_mark.MarkState` shades them); the roots become root jobs.
2. mark (_GCmark), concurrent with the mutator: `_mark.MarkState` holds the grey work
   and is drained a budget at a time by the typed nogil drain. The roots -- the handle
   table (Python handles are goroutine stacks: scanned once per cycle, by the first
   drain), queued finalizers and cleanups, special records -- are greyed by the first
   worker or assist to drain. A heap-triggered cycle takes a mark step at every
   allocation check point (`Collector.mark_step`): the allocating goroutine's assist
   (gcAssistAlloc, from the pacer's assistWorkPerByte, with assist credit and the
   workers' background credit), the dedicated and idle workers' share of the elapsed
   virtual time, and the fractional worker when sysmon preempts the mutator (10..20 ms
   after it last got the CPU: `preempt_time`).
   When every goroutine blocks, idle workers finish the mark (`Runtime._on_idle`, sleep).
   ``weak.Pointer.Value`` shades during the mark, as in Go.
3. mark termination (STW #2, _GCmarktermination): the mark ran out of work (gcMarkDone);
   checkmark under ``gccheckmark=1``; heapMarked = heapLive = bytes marked (black
   allocation included), every mcache is flushed, NumGC/NumForcedGC,
   PauseNs/PauseEnd/LastGC, GCCPUFraction (assist/dedicated/fractional/idle CPU
   separately), the pacer's endCycle measures cons/mark and commits the next goal and
   trigger; the write barrier goes off.
4. sweep (_GCoff), in Go's span order (``_mark.sweep_order``: the spans the mcache flush
   swept, then by span class, full before partial, in push order): specials of unmarked
   objects first (spec §3.7, ``mspecial``: finalizable objects are revived and their
   finalizers queued, in the batches Go's finalizer goroutine takes between the
   sweepers' turns; weak handles cleared; cleanups queued), then the spans
   (``_mark.sweep``). runtime.GC sweeps everything before it returns; a background
   cycle sweeps lazily (``_mark.sweep_lazy``: the rest in allocation, or at the next
   cycle's start).

A forced cycle (runtime.GC: the caller waits, the workers get the CPU), a periodic one
(sysmon's, when everyone sleeps) and every cycle under ``GODEBUG=gcstoptheworld=1`` or
``=2`` mark to the end at once. ``Runtime(experiments={"no_write_barrier"})`` (not Go)
runs the mark without the barrier: a pointer moved during the mark can be freed while
reachable, and ``gccheckmark=1`` reports it with Go's message.

The state of a cycle between its mark start and its mark termination is a `Cycle`; what
the collector accumulates over all cycles (MemStats' GC fields, the CPU and pause
statistics) is a `GCRecord`. The `Collector` is the Runtime's component that runs cycles;
it holds the world lock (``Runtime.world``) for each stage (start, mark step, end).

Time comes from the runtime's clock. With ``clock="virtual"`` (the default) the collector
charges its work with ``clock.charge_gc`` at the costs of the calibrated table
(`clock.COSTS`): each pause by its work (`Collector.pause_cost`), the mark per byte and
object scanned and per goroutine stack; the program's own work is metered into the clock
(clock.py). Mark work done on the mutator's CPU (assists, the fractional worker, any
worker at GOMAXPROCS=1) moves the clock, work on other Ps (dedicated, idle workers) does
not. With ``clock="wall"`` the phases are measured. The GC CPU limiter
(`mgclimit.GCCPULimiter`) sees both stop-the-world transitions, the assists' and the idle
workers' mark time; while it is on, a cycle's mark runs without assists.
"""
import dataclasses
import os
from itertools import compress, repeat
from operator import not_
import sys
import threading
import time as _time
import weakref

import numpy as np

from . import _gcwork, _mark, _mgcstep, _signals, clock as _clock, metrics as _metrics
from . import mstats, pacer as _pacer
from . import stack as _stack
from .errors import FatalError, NotCopyable
from .mspecial import SWEEP_BATCH

__all__ = ["COSTS", "FORCEGC_PERIOD", "GLOBALS_SCAN", "STACK_SCAN", "Cycle", "GCRecord",
           "Collector", "CycleEvent", "PHASES", "SWEEP_TERMINATION", "MARK_START",
           "MARK_TERMINATION", "SWEEP_DONE", "EXPERIMENTS", "experiments_arg",
           "GC_OVER_ASSIST_WORK", "FORCE_PREEMPT_NS", "SYSMON_RAMP", "SYSMON_DELAY",
           "TIMER_SLACK_NS", "sysmon_tick", "preempt_time"]

# Not Go: what-if switches (Runtime(experiments=...)), each clearly outside Go's behaviour.
EXPERIMENTS = {
    "no_write_barrier": "the concurrent mark runs without Go's hybrid write barrier "
                        "(a pointer store during a mark can hide a reachable object)",
}
GC_OVER_ASSIST_WORK = 64 << 10     # Go: gcOverAssistWork (mgcpacer.go)
FORCE_PREEMPT_NS = 10 * 10**6      # Go: forcePreemptNS (proc.go): sysmon preempts after 10 ms
MARK_STEP_NS = 10**6               # mark steps for workers on other Ps: at least every 1 ms
MIN_STEP_BYTES = 256 << 10         # allocation between two mark steps, at least
RUNWAY_STEPS = 8                   # ... or an eighth of the cycle's runway (goal - trigger)
MIN_FINE_STEP = 8 << 10            # ... but at least one span's worth
STEP_COMPILED = True              # mark_step's common case in `_mgcstep` (tests compare both)
NO_CHECK = (1 << 64) - 1           # a heap check point that never fires (trigger, assist_at)
DRAIN_CHECK_THRESHOLD = 100000     # Go: drainCheckThreshold (work a worker does between checks)


TIMER_SLACK_NS = 50_000           # Linux: a thread's default timer slack (usleep wakes this late)


def _sysmon_ramp():
    """sysmon's wake times (ns after the runtime starts) while the program is busy: it
    sleeps 20 µs (usleep(delay)) for its first 51 rounds (idle 0..50), then doubles the
    delay each round up to 10 ms (proc.go: sysmon); each sleep wakes TIMER_SLACK_NS late
    (Linux's default timer slack). Returns the times up to the first 10 ms sleep."""
    t, out, delay = 0, [], 20_000
    for _ in range(51):
        t += delay + TIMER_SLACK_NS
        out.append(t)
    while True:
        delay = min(delay * 2, 10_000_000)
        if delay == 10_000_000:
            break
        t += delay + TIMER_SLACK_NS
        out.append(t)
    return tuple(out)


SYSMON_RAMP = _sysmon_ramp()
SYSMON_DELAY = 10_000_000 + TIMER_SLACK_NS   # a busy program's sysmon period (10 ms sleeps)


# sysmon's wake and preemption times (`_mgcstep.sysmon_tick`, `preempt_time`): one rule
# for this module and the compiled mark step
sysmon_tick = _mgcstep.sysmon_tick
preempt_time = _mgcstep.preempt_time


def experiments_arg(v):
    """The ``experiments`` knob as a frozenset; unknown names are a ValueError."""
    if isinstance(v, str):
        v = (v,)
    try:
        out = frozenset(v)
    except TypeError:
        raise TypeError(f"experiments must be a set of names, not {type(v).__name__}") from None
    for name in out:
        if name not in EXPERIMENTS:
            raise ValueError(f"unknown experiment {name!r} (known: {', '.join(sorted(EXPERIMENTS))})")
    return out

# The virtual clock's cost table (ns): one table for the whole runtime, in clock.py.
COSTS = _clock.COSTS
_mgcstep.init(SYSMON_RAMP, SYSMON_DELAY, FORCE_PREEMPT_NS, GC_OVER_ASSIST_WORK, MARK_STEP_NS,
              MIN_STEP_BYTES, RUNWAY_STEPS, MIN_FINE_STEP, COSTS, _clock.VirtualClock)

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
    assist_ns: int = 0       # mark CPU by assists, background (dedicated + fractional) and
    background_ns: int = 0   # idle workers, from MARK_TERMINATION on (gctrace's A/B/C)
    idle_ns: int = 0
    mark_idle_ns: int = 0    # = idle_ns (main's name for the idle workers' part, gctrace)


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
    # the concurrent mark (Go: gcController's per-cycle counters), nanoseconds and bytes
    mode: str = "concurrent"   # "concurrent", or "stw" (GODEBUG=gcstoptheworld)
    assist_ns: int = 0         # mark assists (Go: assistTime)
    dedicated_ns: int = 0      # dedicated mark workers (Go: dedicatedMarkTime)
    fractional_ns: int = 0     # the fractional worker (Go: fractionalMarkTime)
    idle_ns: int = 0           # idle mark workers (Go: idleMarkTime)
    step_ns: int = 0           # nanotime of the last mark step (mutator time is measured from it)
    sched_ns: int = 0          # nanotime of the mutator's last scheduling point (preemption)
    rec_step: int = -1         # a replay's recorded time at the last mark step (-1: none yet)
    alloc_mark: int = 0        # malloc bytes at the last mark step
    alloc_start: int = 0       # malloc bytes at mark start (the mutator's allocation rate)
    gc_charged: int = 0        # mark ns charged to the mutator's CPU (assists, fractional)
    bg_credit: int = 0         # Go: bgScanCredit (scan work the workers did for the assists)
    assist_bytes: dict = dataclasses.field(default_factory=dict)  # Go: g.gcAssistBytes
    steps: int = 0             # mark steps taken (check points during the mark)
    mem: object = None         # the pacer's memory state for revise (GOGC-only: fixed)
    root_ns: int = 0           # the roots' modelled mark cost, charged as their work is done
    root_work: int = 0         # the roots' scan work (globals + stacks, bytes; Go: markroot)
    mut_start: int = 0         # clock.mutator_ns() at mark start (the mutator's progress)


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


_ATOMS = frozenset((int, float, bool, str, bytes, tuple, type(None)))   # saved as they are
_NUMBERS = frozenset((int, float, bool))  # the runtime's own attributes a stage saves
_SLOT_NAMES = {}          # type -> the __slots__ names of its MRO (a class's never change)


def _slot_names(cls):
    names = _SLOT_NAMES.get(cls)
    if names is None:
        names = _SLOT_NAMES[cls] = tuple(
            n for c in cls.__mro__ for n in getattr(c, "__slots__", ())
            if n not in ("__dict__", "__weakref__"))
    return names


def _save(obj, depth=2):
    """The attributes of *obj* as they are now (lists copied, nested records saved in
    turn), for `_restore`: the state a cycle rolls back to.

    Taken twice per cycle, so the common case runs at C speed: every attribute read in
    one pass, the atoms (most of them) saved as they are in one dict, and only the other
    values looked at one by one (`_saved_value`)."""
    names = list(getattr(obj, "__dict__", ()))
    names += _slot_names(type(obj))
    try:
        vals = list(map(getattr, repeat(obj), names))
    except AttributeError:                     # a slot never set: skipped, one by one
        return _save_each(obj, names, depth)
    out = dict(zip(names, zip(repeat(2), vals)))
    for n, v in compress(zip(names, vals), map(not_, map(_ATOMS.__contains__, map(type, vals)))):
        out[n] = _saved_value(v, depth)
    return out


def _save_each(obj, names, depth):
    out = {}
    for n in names:
        try:
            v = getattr(obj, n)
        except AttributeError:
            continue
        out[n] = (2, v) if type(v) in _ATOMS else _saved_value(v, depth)
    return out


def _saved_value(v, depth):
    """How `_save` keeps one attribute's value that is not an atom."""
    if isinstance(v, list):
        return (0, v[:])
    if depth and (hasattr(v, "__dict__") or hasattr(type(v), "__slots__")) \
            and not isinstance(v, (int, float, str, bytes, tuple, type)) and not callable(v):
        return (1, v, _save(v, depth - 1))
    return (2, v)


def _restore(obj, saved):
    for n, e in saved.items():
        if e[0] == 0:
            getattr(obj, n)[:] = e[1]
        elif e[0] == 1:
            setattr(obj, n, e[1])
            _restore(e[1], e[2])
        else:
            setattr(obj, n, e[1])


def mark_workers(procs):
    """Mark worker threads for a drain to the end at GOMAXPROCS *procs*: one per P, at
    most one per CPU."""
    return max(1, min(procs, os.cpu_count() or 1))


def stw_mark(procs):
    """The stop-the-world mark for GOMAXPROCS *procs*: the serial drain at 1, else the
    parallel one (``_gcwork``: one worker per P, at most one per CPU). Both mark the same
    objects and return the same counts: ``(bytes_marked, nmarked, scan_bytes, spans,
    links, scan_large)`` (the last three as `mark_cost` reads them)."""
    nworkers = mark_workers(procs)

    def run(heap, roots, scan_only):
        st = {}
        if nworkers <= 1:
            r = _mark.mark(heap, roots, scan_only, stats=st)
        else:
            r = _gcwork.mark(heap, roots, scan_only, nworkers=nworkers, stats=st)
        return (*r, st["spans"], st["links"], st["scan_large"])
    return run


def mark_cost(nobjects, scan_bytes, spans, links, scan_large):
    """The modelled mark CPU (ns) of marking *nobjects*, scanning *scan_bytes* (of which
    *scan_large* in objects over 512 bytes), touching *spans* Green Tea spans and scanning
    *links* chain links (clock.COSTS, fitted by bench/clockcal.py fit_mark on Go's
    measured shapes; docs/emulation.md)."""
    return (nobjects * COSTS["mark_object"] + scan_bytes * COSTS["mark_byte"]
            + spans * COSTS["mark_span"] + links * COSTS["mark_link"]
            + scan_large * COSTS["mark_large_byte"])


class Collector(NotCopyable):
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
        self.sweepone_turns = 0     # runtime.GC caller's sweep turns left (sweep_yields)
        now = rt.clock.nanotime()
        self.rate_mark = (0, 0, now)  # (malloc bytes, mutator work ns, nanotime) at the last cycle's end
        self.mark_workers = 0         # gcBgMarkWorker goroutines started (one per P, at GC start)
        self.stack_scan = (0, 0)      # (bytes, stacks) of the running cycle's stack scan
        self.sweeping = False         # the running stage reached the sweep (no undo)
        self.observers = ()           # GC observers (copy on write: safe to change while called)
        self.pending = []             # CycleEvents not yet delivered (made under the world lock)
        self._delivering = None       # the thread delivering events, if any
        self.mark = None              # the running cycle's _mark.MarkState (Go: work, gcWork)
        self.cycle_saved = None       # pacer/record state before the running cycle (abandon)
        self.stage_saved = None       # the running stage's `save` (not itself saved)
        self.resched_ns = 0           # nanotime the collector last gave the program's goroutine
                                      # the CPU back (runtime.GC's return, a worker's turn)
        self.locks = 0                # Go: m.locks > 0 (a P pinned by sync.Pool): no GC starts,
                                      # no assist; the pending trigger fires after

    # -- observers ----------------------------------------------------------------------
    def add_observer(self, fn):
        """Call ``fn(event)`` at every phase boundary of every later cycle; returns *fn*."""
        if not callable(fn):
            raise TypeError(f"add_gc_observer: {fn!r} is not callable")
        with self.rt.world, _signals.held():
            self.observers = self.observers + (fn,)
        return fn

    def remove_observer(self, fn):
        """Stop calling *fn* (the most recently added registration of it); ValueError if
        it is not registered."""
        with self.rt.world, _signals.held():
            obs = list(self.observers)
            for i in range(len(obs) - 1, -1, -1):
                if obs[i] is fn or obs[i] == fn:
                    del obs[i]
                    self.observers = tuple(obs)
                    return
        raise ValueError(f"remove_gc_observer: {fn!r} is not a GC observer of this runtime")

    def _event(self, cyc, phase, heap_live, heap_goal, heap_marked, scan_work, pause_ns,
               mark_cpu_ns):
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
            assist_ns=cyc.assist_ns if mark_cpu_ns else 0,
            background_ns=cyc.dedicated_ns + cyc.fractional_ns if mark_cpu_ns else 0,
            idle_ns=cyc.idle_ns if mark_cpu_ns else 0,
            mark_idle_ns=cyc.idle_ns if mark_cpu_ns else 0))

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
        with world, _signals.held():
            if self._delivering is not None or not self.pending:
                return                # the delivering thread will take the new events too
            self._delivering = threading.get_ident()
        try:
            while True:
                with world, _signals.held():
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
            with world, _signals.held():
                self._delivering = None
            raise

    @property
    def running(self):
        """True while a cycle is in its mark phase (Go: gcphase == _GCmark)."""
        return self.cycle is not None

    def update_trigger(self, mem=None):
        """The pacer's trigger for the next cycle, written into the heap's check point.
        *mem*: the runtime's memory state, if the caller has it as of now."""
        rt = self.rt
        if mem is None:
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

        With no cycle running this starts one; during a cycle's mark phase it is a mark
        step: the allocating goroutine's assist and the background workers' share of the
        time since the last step (`mark_step`); the cycle terminates when no work is left.
        """
        rt = self.rt
        if self.locks:                # Go: gcStart and gcAssistAlloc return at once while
            return                    # the M holds locks; gc_pending stays for the next check
        rt.heap.gc_pending = False
        if self.in_gc:
            return
        with rt.world, _signals.held():                        # a cycle's transitions hold it (threads)
            now = rt.clock.nanotime()
            lim = rt.limiter
            if not lim.transitioning and lim.need_update(now):
                lim.update(now)               # Go: from the pacer's revise, every 10 ms
            stepped = self.cycle is not None
            if stepped:
                rt.heap.check_thread()
                # A mark step is the world lock only (no signal deferral, no rollback: it
                # only adds mark work and accounting), in the same block as the limiter's
                # update (one `held` per step); mark termination takes the full path.
                if self.in_gc:
                    return
                self.in_gc = True
                try:
                    done = self.mark_step(idle=False, finish=False)
                finally:
                    self.in_gc = False
        if stepped:
            if done:
                self.stopped(lambda: self.cycle is None or self.in_gc,
                             lambda: self.mark_step(idle=True))
            return
        if rt.heap.heap_live < rt.heap.trigger:
            # Go tests the trigger when the allocation checks it: a flag raised earlier
            # (the trigger lowered by SetGCPercent, then runtime.GC() ran a cycle and
            # set a new one) starts nothing
            return
        if rt.pacer.gc_percent < 0 and rt.pacer.memory_limit == _pacer.MAX_INT64:
            self.update_trigger()
            return
        rt.gc(kind="heap")

    def gc(self, kind="cycle", wait=False):
        """Run the collector. *kind*: "cycle" (runtime.GC, forced), "heap", "time".

        "cycle" finishes a cycle that is already in its mark phase (Go's runtime.GC waits
        for it: NumGC may grow by 2) and then runs a whole forced cycle; "time" (the
        periodic GC, started when every goroutine sleeps) runs a whole cycle; "heap"
        starts a cycle whose mark runs concurrently with the mutator (see
        ``start_cycle``), or takes a mark step of the running one.

        With *wait* (runtime.GC called by a goroutine of a cooperative scheduler) and other
        goroutines runnable, the forced cycle's mark runs concurrently while the caller
        waits, as Go's runtime.GC parks in gcWaitOnMark: the runnable goroutines run first
        (a goroutine woken by a receive can finish and drop its locals before the stacks
        are scanned), the fractional worker marks at their scheduling points, and the idle
        workers finish the mark once nothing is runnable.
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

        waits = wait and kind == "cycle" and rt.sched.runnable_count() > 0 \
            and rt.sched.mode == "cooperative" and not self.in_gc \
            and rt.godebug.get("gcstoptheworld", 0) not in (1, 2)

        def stages():
            if kind == "heap" and self.cycle is not None:
                self.mark_step(idle=False)
            else:
                if kind != "heap" and self.cycle is not None:
                    self.stage(self.finish_locked)
                self.stage(self.start_and_finish, kind, True if waits else None)
        self.sweepone_turns = 0
        try:
            self.stopped(busy, stages)
            yields = wait and kind == "cycle" and rt.sched.mode == "cooperative" \
                and rt.godebug.get("gcstoptheworld", 0) != 2
            if waits or yields:
                # signals wait as for the rest of runtime.GC: a Ctrl-C meanwhile is raised in
                # main when it returns, not in a goroutine that ran in between (only when
                # main waits: a goroutine's wait may never resume, and the mask is the thread's)
                if rt.sched.current() is rt.sched.main:
                    with _signals.deferred():
                        self.wait_and_sweep(waits, yields)
                else:
                    self.wait_and_sweep(waits, yields)
            if kind == "cycle":
                # Go's caller parked (gcWaitOnMark) or yielded: it runs on in a new time slice
                self.resched_ns = rt.clock.nanotime()
        finally:
            if rt.cleanups.held or rt.cleanups.hold_flush or rt.cleanups.hold_full or rt.cleanups.bg_first:
                rt.cleanups.release_held()      # the cleanups runtime.GC's sweep flushed last

    def wait_and_sweep(self, waits, yields):
        """The rest of runtime.GC for a goroutine: wait for the mark (`wait_on_mark`), then
        the caller's sweep turns (`sweep_yields`)."""
        if waits:
            self.wait_on_mark(self.cycle)
        if yields:
            self.sweep_yields()

    def sweep_yields(self):
        """runtime.GC's caller sweeps one span and yields (Go: ``sweepone(); Gosched()``
        until no span is left), so with one P the finalizer and cleanup goroutines and
        any other runnable goroutine run before runtime.GC returns (but for the cleanups
        flushed at the sweep's end: `mspecial.flush_runs_in_gc`). The caller's turns are
        those `mspecial.sweep_batches` gives it (one span in eleven: the background
        sweeper sweeps ten per turn), and at least one: Go's heap always holds spans of
        the runtime's own objects besides the program's (the emulated heap does not), so
        its caller sweeps one and yields even when the program's spans were all swept by
        the mcache flush (a Go program with one object and a finalizer: the finalizer has
        run when runtime.GC returns). The emulator sweeps the spans at once and then
        yields that many times, while anything is runnable, so the goroutines see the
        heap after the whole sweep (their order is the batches'). A cycle that starts in
        between ends the loop, as Go's ``work.cycles == n+1`` test does."""
        rt = self.rt
        n, num_gc = self.sweepone_turns, rt.gc_record.num_gc
        self.sweepone_turns = 0
        for _ in range(n):
            if rt.sched.runnable_count() == 0 or rt.gc_record.num_gc != num_gc \
                    or self.cycle is not None:
                return
            rt.sched.gosched()

    def wait_on_mark(self, cyc):
        """runtime.GC's caller parks until the mark of *cyc* is done (Go: gcWaitOnMark):
        the runnable goroutines run, the fractional worker takes its turns at their
        scheduling points, and when nothing is left to run the idle workers finish the
        mark, then mark termination and the sweep."""
        rt = self.rt
        while self.cycle is cyc and cyc is not None and rt.sched.runnable_count() > 0:
            rt.sched.gosched()
            if self.cycle is cyc:
                self.scheduling_point()
        if self.cycle is cyc and cyc is not None:
            self.finish_cycle()

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
        rtv = vars(rt)
        return (_save(rt.pacer), _save(rt.gc_record), _save(rt.limiter),
                {k: v for k, v in vars(self).items() if k not in ("_rt", "stage_saved")},
                dict(compress(rtv.items(), map(_NUMBERS.__contains__, map(type, rtv.values())))),
                (h.heap_live, h.trigger, h.gcphase_mark, h.gc_pending, h.write_barrier, h.assist_at))

    def restore(self, saved):
        rt = self.rt
        h = rt.heap
        pacer, rec, lim, coll, rtv, heap = saved
        cur = self.mark
        _restore(rt.pacer, pacer)
        _restore(rt.gc_record, rec)
        _restore(rt.limiter, lim)
        for k, v in coll.items():
            setattr(self, k, v)
        for k, v in rtv.items():
            setattr(rt, k, v)
        if cur is not None and cur is not self.mark:
            cur.stop()                      # the mark of a cycle that never was
        if self.mark is None:
            _mark.release_heap(h)           # and one that never got as far as self.mark
        h.heap_live, h.trigger, h.gcphase_mark, h.gc_pending, wb, h.assist_at = heap
        h.write_barrier = wb and self.mark is not None and self.mark.active
        if self.cycle is None:
            _mark.clear_marks(h)            # marks of a cycle that never was

    def stage(self, fn, *args):
        """Run one stage of a cycle; undo it if it raises before the sweep (class doc)."""
        saved = self.save()
        self.sweeping = False
        prev = self.stage_saved
        try:
            self.stage_saved = saved            # for `start_cycle`'s rollback point
            return fn(*args)
        except BaseException:
            if not self.sweeping:
                self.restore(saved)
            raise
        finally:
            self.stage_saved = prev

    def start_and_finish(self, kind, concurrent=None):
        """A new cycle: its mark, and its termination unless its mark phase stays open."""
        if self.start_cycle(kind, concurrent):
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
        """End a cycle that is in its mark phase: every goroutine is blocked, so idle mark
        workers finish the work (Go: gcBgMarkWorker in gcMarkWorkerIdleMode), then mark
        termination."""
        rt = self.rt
        if self.cycle is None or self.in_gc:
            return
        rt.heap.check_thread()
        self.stopped(lambda: self.cycle is None or self.in_gc,   # another thread ended it
                     lambda: self.mark_step(idle=True))

    def wake_queues(self):
        """After a GC: wake the finalizer goroutine and idle cleanup goroutines."""
        self.rt.finalizers.wake()
        self.rt.cleanups.wake()

    def shade(self, addr):
        """Grey *addr* during a mark phase (Go: shade); the mark scans it later."""
        if self.cycle is not None and self.mark is not None and self.mark.active:
            self.mark.shade(addr)

    def finalizer_added(self, addr):
        """SetFinalizer on *addr* during a mark (the caller holds the world lock). Go's
        addfinalizer scans the object then (not marking it: markrootSpans may have run
        already); before the first drain the special roots job sees the new special
        anyway (it reads them when it runs)."""
        m = self.mark
        if self.cycle is not None and m is not None and m.active and m.roots_done:
            m.scan_object(addr)

    def special_roots(self):
        """(roots, scan_only): queued work, cleanup closures and weak cells; finalizer objects.

        ``roots``: queued finalizers' objects, the finalizer goroutine's call frame, cleanup
        closures (queued and attached), weak handle cells. ``scan_only``: objects with finalizers, whose referents are marked but
        not the objects themselves (Go: markrootSpans).
        """
        rt = self.rt
        roots = [f.addr for f in rt.finalizers.finq]
        if rt.finalizers.frame:
            roots.append(rt.finalizers.frame)       # runfinq's frame, on fing's stack
        for block in rt.cleanups.queue + rt.cleanups.held + rt.cleanups.running:
            roots.extend(c.closure for c in block)
        sp = rt.specials
        roots.extend(c.closure for c in sp.cleanups.values())
        roots.extend(w.cell for w in sp.weak.values())
        scan_only = [f.slot for f in sp.finalizers.values()]
        return (np.array(roots, dtype=np.uint64), np.array(scan_only, dtype=np.uint64))

    def start_cycle(self, kind, concurrent=None):
        """Sweep termination (STW #1) and mark start. Returns True if the cycle should end
        at once. The caller holds the world lock.

        Go's phases: the pacer starts the cycle (startCycle: the worker split, the assist
        ratio), each P's tiny block is shaded, new objects are allocated black from now on
        (gcphase = _GCmark), the hybrid write barrier is switched on, and the roots --
        every goroutine stack (the handle table), queued finalizers and cleanups, special
        records -- become root jobs, done by the first worker or assist that drains
        (markroot). A heap-triggered cycle then marks *concurrently*: mark work is done a
        budget at a time at the allocation check points (`mark_step`: the allocating
        goroutine's assist, the background workers' share of the virtual CPU), and the
        cycle terminates when no work is left. A forced (runtime.GC: the caller blocks,
        the workers get the CPU) or periodic cycle (every goroutine sleeps) marks to the
        end here; so does every cycle under ``GODEBUG=gcstoptheworld=1`` or ``=2``.
        """
        rt = self.rt
        rt._check_world("Collector.start_cycle")
        self.finish_sweep()
        procs = rt._gomaxprocs
        stw_mode = rt.godebug.get("gcstoptheworld", 0) in (1, 2)
        self.mark_workers = max(self.mark_workers, procs)   # Go: gcBgMarkStartWorkers
        rt._charge_mutator()
        # what `abandon` rolls back to: the snapshot of the stage this cycle starts in
        # (`stage`) when there is one, taken just now (the sweep and the clock above do
        # not touch the pacer, the GC record or the limiter)
        snap, self.stage_saved = self.stage_saved, None
        self.cycle_saved = snap[:3] if snap is not None else (
            _save(rt.pacer), _save(rt.gc_record), _save(rt.limiter))
        t_start = rt.clock.nanotime()
        heap0 = rt.heap.heap_live
        # one memory state for the goal and the pacer's start: nothing in between changes
        # the heap's counters, the stacks or the specials
        mem = rt._mem_state()
        goal = rt.pacer.heap_goal(mem)                # Go: heapGoal(), as rt.heap_goal()
        rt.limiter.start_gc_transition(True, t_start)          # Go: gcStart
        _, stw1 = self.phase(self.pause_cost(SWEEP_TERMINATION, heap0), lambda: None)
        rt.limiter.finish_gc_transition(rt.clock.nanotime())
        rt.pacer.max_stack_scan = rt.stacks.scannable()
        rt.pacer.heap_scan += rt.heap.take_heap_scan()   # Go: heapScan grown by scanAlloc
        now = rt.clock.nanotime()
        rt.pacer.start_cycle(heap0, now, procs, kind=_TRIGGER_KIND[kind],
                             gcstoptheworld=1 if stw_mode else 0, mem=mem)
        self.stack_scan = rt.stacks.scan()      # Go: markroot scans every goroutine's stack
        malloc_bytes = rt.heap.malloc_bytes
        cyc = Cycle(number=rt.gc_record.num_gc + 1, kind=kind, t_start=t_start, heap0=heap0,
                    goal=goal, stw1=stw1, mark_ns=0, bytes_marked=0, scan_bytes=0, mutator_ns=0,
                    mode="stw" if stw_mode else "concurrent", step_ns=now,
                    sched_ns=self.last_sched(now),
                    alloc_mark=malloc_bytes, alloc_start=malloc_bytes)
        self._event(cyc, SWEEP_TERMINATION, heap0, goal, 0, 0, stw1, 0)
        self._event(cyc, MARK_START, heap0, goal, 0, 0, 0, 0)
        rt.proc.clearpools()                    # Go: clearpools (central sudog list)
        rt.pools.cleanup()                      # Go: clearpools' poolcleanup (sync.Pool)
        if self.mark is not None:         # left by a cycle interrupted in its sweep
            self.end_mark()
        _mark.release_heap(rt.heap)
        # the mark's fixed work (roots, the runtime's own data) and the goroutine stacks,
        # by the calibrated table; a runtime's first cycle is slower (clock.COSTS)
        # by the calibrated table; a runtime's first cycle is slower (clock.COSTS). Each
        # handle is a pointer slot on a stack or in a global (Go scans the word: 8 bytes,
        # pointer by pointer, as a large object's).
        root_ns = COSTS["mark_base"] + self.stack_scan[1] * COSTS["mark_stack"] \
            + (COSTS["mark_first_cycle"] if rt.gc_record.num_gc == 0 else 0) \
            + rt.heap.nroots * 8 * (COSTS["mark_byte"] + COSTS["mark_large_byte"])
        if concurrent is None:
            concurrent = kind == "heap"
        if not concurrent or stw_mode:
            # the mark runs to its end at once: runtime.GC's caller is blocked (the workers
            # get every P), the periodic GC starts when everyone sleeps, gcstoptheworld
            # stops the mutator. At GOMAXPROCS > 1 it runs on one worker per P (_gcwork).
            (bytes_marked, _, scan_bytes, *_), mark_ns = self.phase(
                lambda r: root_ns + mark_cost(*r[1:]),
                stw_mark(procs), rt.heap, *self.special_roots())
            rt.heap.gcphase_mark = True
            _, cyc.mutator_ns = self.alloc_rate()
            cyc.mark_ns = cyc.dedicated_ns = mark_ns
            cyc.bytes_marked, cyc.scan_bytes = bytes_marked, scan_bytes
            self.cycle = cyc
            return True
        self.mark = m = _mark.MarkState(rt.heap)
        m.grey_tiny_blocks()                    # Go: gcMarkTinyAllocs
        # Go: gcMarkRootPrepare. The root jobs' scan work (the data and bss blocks, every
        # goroutine stack: what markroot returns) is paid by the drains before heap work,
        # out of an assist's scan budget too, as gcDrainN counts it. The special roots
        # (queued finalizers and cleanups, the specials) are read by the first drain.
        cyc.root_work = rt.globals_scan + self.stack_scan[0]
        m.set_roots(None, None, cyc.root_work, special=_special_roots_of(weakref.ref(self)))
        rt.heap.gcphase_mark = True             # allocate black (Go: gcphase = _GCmark)
        rt.heap.write_barrier = "no_write_barrier" not in rt.experiments
        _, mutator_ns = self.alloc_rate()
        cyc.mutator_ns = mutator_ns
        cyc.root_ns = root_ns                   # charged by the drain that scans the roots
        cyc.mut_start = rt.clock.mutator_ns()
        self.cycle = cyc
        # Go: gcResetMarkState zeroes every goroutine's assist credit, so the first
        # allocation of the mark assists: the first check point is the next one
        self.set_check_point(cyc, floor=0)
        return False

    # -- the concurrent mark --------------------------------------------------------------
    def last_sched(self, now):
        """When the running goroutine's time slice began, as sysmon sees it at *now*: its
        last scheduling point (a goroutine switch, runtime.GC's return, a fractional
        worker's turn), moved on by each preemption since (`preempt_time`: Go's retake
        preempts every goroutine that runs 10 ms past sysmon's notice, GC or not, and
        schedule() starts a new slice)."""
        rt = self.rt
        base = rt._start_ns
        s = max(self.resched_ns, getattr(rt.sched, "last_run_ns", 0)) - base
        now -= base
        while True:
            p = preempt_time(s)
            if p > now:
                return s + base
            if p > SYSMON_RAMP[-1]:      # sysmon's period is 10 ms: a slice every 20 ms
                period = 2 * SYSMON_DELAY
                return p + (now - p) // period * period + base
            s = p

    def drain(self, cyc, who, budget_ns, *, scan_budget=0):
        """Mark work by *who* ("assist", "dedicated", "fractional", "idle"): up to
        *budget_ns* of modelled mark CPU (0: until no work is left), or *scan_budget* bytes
        of scan work (an assist: Go's gcDrainN). Returns (ns, scan bytes). The mark CPU
        is charged to the virtual clock when the work runs on the mutator's CPU (an
        assist; a worker at GOMAXPROCS=1); on a wall clock it is measured."""
        rt = self.rt
        m = self.mark
        mo, mb = COSTS["mark_object"], COSTS["mark_byte"]
        ms, ml, mlb = COSTS["mark_span"], COSTS["mark_link"], COSTS["mark_large_byte"]
        wall = not isinstance(rt.clock, _clock.VirtualClock)
        # the roots' modelled cost, spread over their scan work (ns per byte)
        w_root = cyc.root_ns / cyc.root_work if cyc.root_work else 0.0
        r0, s0, l0, g0 = m.root_scan, m.nspans, m.nlinks, m.scan_large
        t0 = _time.perf_counter_ns() if wall else 0
        if scan_budget:
            b, n, sb = m.drain(scan_budget, 0.0, 1.0, 1.0)
        else:
            # a drain to the end runs on a worker per P (its counts, and so the modelled
            # time, do not depend on the order; docs/emulation.md)
            b, n, sb = m.drain(budget_ns, mo, mb, w_root, w_span=ms, w_link=ml, w_large=mlb,
                               nworkers=mark_workers(rt._gomaxprocs) if budget_ns == 0 else 1)
        rw = m.root_scan - r0
        if wall:
            ns = _time.perf_counter_ns() - t0
        else:
            ns = int(mark_cost(n, sb, m.nspans - s0, m.nlinks - l0, m.scan_large - g0)
                     + rw * w_root)
            if not cyc.root_work and cyc.root_ns and m.roots_done:   # no root scan work
                ns += int(cyc.root_ns)
                cyc.root_ns = 0
        if not wall and (who == "assist" or rt._gomaxprocs == 1 or who == "fractional"):
            rt.clock.charge_gc(ns)
            cyc.gc_charged += ns
        if who == "assist":
            rt.limiter.add_assist_time(ns)          # Go: the assist's limiter event
        setattr(cyc, who + "_ns", getattr(cyc, who + "_ns") + ns)
        cyc.mark_ns += ns
        cyc.bytes_marked = m.bytes_marked
        cyc.scan_bytes = m.scan_bytes
        return ns, sb + int(rw)

    def mark_step(self, idle, finish=True):
        """One step of the concurrent mark at an allocation check point (Go: the assist in
        mallocgc, gcBgMarkWorker on the other Ps, the fractional worker at preemption),
        or the rest of the mark when *idle* (every goroutine blocked: idle workers).
        Terminates the cycle when no work is left (with *finish*; else returns True then).
        The caller holds the world lock.

        The mutator's progress is read from the runtime's clock: the time since the last
        step is the mutator's (allocation, and whatever else the clock charges). Dedicated
        workers (Go: gcController.dedicatedMarkWorkersNeeded) and idle workers on Ps with
        nothing to run mark for that whole time in parallel; the fractional worker (the
        25 % at GOMAXPROCS=1..3) gets the mutator's CPU only at a scheduling point -- here
        sysmon's preemptions since the last step (`preemptions`) -- and then runs until
        its share of the mark's wall time exceeds 1.2x its goal (pollFractionalWorkerExit).
        The assist is gcAssistAlloc's: the goroutine's allocation since the last step is
        charged against its assist credit at the pacer's assistWorkPerByte (revised with
        the work done), over-assisting to 64 KiB of scan work, stealing the workers'
        background credit first. Mark assists are skipped while the GC CPU limiter
        (mgclimit) is limiting; their time is reported to it.
        """
        rt = self.rt
        cyc, m = self.cycle, self.mark
        if cyc is None or m is None:
            return
        try:
            if idle or m.empty:
                if not finish:
                    return True
                if not m.empty:
                    self.drain(cyc, "idle", 0)
                return self.stage(self.finish_locked)
            if STEP_COMPILED:
                # the common step (virtual clock, no worker on another P) in one C call
                r = _mgcstep.mark_step(self, rt, cyc, m, _pacer)
                if r is not _mgcstep.NOT_HANDLED:
                    if r and finish:
                        return self.stage(self.finish_locked)       # Go: gcMarkDone
                    return r
            rt._charge_mutator()
            now = rt.clock.nanotime()
            elapsed = max(0, now - cyc.step_ns)
            malloc_bytes = rt.heap.malloc_bytes
            allocated = max(0, malloc_bytes - cyc.alloc_mark)
            cyc.alloc_mark = malloc_bytes
            cyc.steps += 1
            p = rt.pacer
            procs = rt._gomaxprocs
            ded = p.dedicated_mark_workers_needed
            idle_ps = max(0, min(p.max_idle_mark_workers, procs - ded - 1))
            idle_ns = elapsed * idle_ps
            clk = rt.clock
            if getattr(clk, "busy", None) is not None:
                # a replayed trace with its scheduling events: Go's idle worker has the P
                # when the recorded program ran nothing there (findRunnable found no G)
                r_now = clk.recorded_ns()
                r0 = cyc.rec_step if cyc.rec_step >= 0 else r_now - elapsed
                idle_ns += clk.idle_ns(r0, r_now)
                cyc.rec_step = r_now
            elif getattr(clk, "recorded_mutator", False):
                # a replayed trace's timeline (goruntime.trace) does not say how much of
                # the time between allocations the program ran and how much it was
                # blocked, when Go's idle worker marks: the replay gives it all to the mark
                idle_ns += elapsed
            ded_ns = elapsed * ded
            if ded_ns + idle_ns > 0 and not m.empty:
                # the dedicated and idle workers mark side by side on their Ps: the work
                # they find is shared in proportion to their time
                ns, sb = self.drain(cyc, "dedicated" if ded_ns else "idle", ded_ns + idle_ns)
                if ded_ns and idle_ns:
                    share = int(ns * idle_ns / (ded_ns + idle_ns))
                    cyc.dedicated_ns -= share
                    cyc.idle_ns += share
                cyc.bg_credit += sb                         # Go: gcFlushBgCredit
            f = p.fractional_utilization_goal
            if f > 0:
                self.preemptions(cyc, now, f)
            if allocated and not m.empty:
                self.assist(cyc, allocated)
            cyc.step_ns = rt.clock.nanotime()
            if m.empty:
                if not finish:
                    return True
                return self.stage(self.finish_locked)       # Go: gcMarkDone
            self.set_check_point(cyc, malloc_bytes)
        except (FatalError, MemoryError):
            if self.mark is not None and not self.mark.active:
                self.abandon()          # the drain failed: the mark bits are already clear
            raise

    def preemptions(self, cyc, now, f):
        """sysmon's preemptions of the mutator since the last mark step, up to *now*
        (`preempt_time`, from its last scheduling point): at each one schedule() runs the
        fractional worker if its share of the mark's time so far is at most its goal
        (findRunnableGCWorker), and the worker marks until its share exceeds 1.2x the goal
        (pollFractionalWorkerExit); then the mutator runs again, a new time slice. The
        worker's time is counted from the preemption, which may lie before this step (the
        mutator reached no check point in between: it did not allocate).

        A replayed trace with scheduling events (the clock's ``busy``) has its recorded
        scheduling points instead (every goroutine switch, block and preemption): the
        worker takes the first one at which it is behind its goal (those before it would
        not run it)."""
        p, m = self.rt.pacer, self.mark
        s = max(cyc.sched_ns, getattr(self.rt.sched, "last_run_ns", 0))
        while not m.empty:
            tp = self.fractional_turn(cyc, now, f, s)
            if tp is None or tp > now:
                break
            since = tp - p.mark_start_time
            ns = 0
            if since <= 0 or cyc.fractional_ns <= f * since:
                run = int((1.2 * f * since - cyc.fractional_ns) / (1 - 1.2 * f))
                if run > 0:
                    ns, sb = self.drain(cyc, "fractional", run)
                    cyc.bg_credit += sb
            s = tp + ns
        cyc.sched_ns = s

    def fractional_turn(self, cyc, now, f, s=None):
        """The next scheduling point after *s* (default: the mutator's last one) at which
        schedule() could run the fractional worker: sysmon's next preemption
        (`preempt_time`), or for a replayed trace with scheduling events (the clock's
        ``busy``) the first recorded one at which the worker is behind its goal (those
        before it would not run it). None: no more recorded points."""
        rt = self.rt
        base = rt._start_ns
        if s is None:
            s = max(cyc.sched_ns, getattr(rt.sched, "last_run_ns", 0))
        clk = rt.clock
        if getattr(clk, "busy", None) is None:
            return preempt_time(s - base) + base
        off = now - clk.recorded_ns()            # the GC charged to the clock so far
        due = rt.pacer.mark_start_time + int(cyc.fractional_ns / f)
        r = clk.next_switch(max(s, due - 1) - off)     # strictly after s
        return None if r is None else r + off

    def scheduling_point(self):
        """The running goroutine yields (Gosched) during a mark: Go's scheduler runs the
        fractional worker if its share is below its goal (findRunnableGCWorker), and a
        worker drains at least drainCheckThreshold (100000) units of work before it checks
        whether to stop; the cycle ends if that was the last of it."""
        rt = self.rt
        cyc, m = self.cycle, self.mark
        if cyc is None or m is None or self.in_gc or cyc.mode != "concurrent":
            return
        p = rt.pacer

        def turn():
            since = rt.clock.nanotime() - p.mark_start_time
            f = p.fractional_utilization_goal
            if f > 0 and not m.empty and (since <= 0 or cyc.fractional_ns < f * since):
                self.drain(cyc, "fractional", 0, scan_budget=DRAIN_CHECK_THRESHOLD)
            cyc.sched_ns = self.resched_ns = rt.clock.nanotime()   # the goroutine runs again
            cyc.step_ns = cyc.sched_ns
        self._worker_turn(cyc, turn)

    def _worker_turn(self, cyc, work):
        """Run *work* as a mark worker of *cyc* under the world lock (nothing if the cycle
        ended or a GC step is already running); if the mark work ran out, terminate."""
        with self.rt.world, _signals.held():
            if self.cycle is not cyc or self.in_gc:
                return
            self.in_gc = True
            try:
                work()
                done = self.mark.empty
            finally:
                self.in_gc = False
        if done:
            self.stopped(lambda: self.cycle is None or self.in_gc,
                         lambda: self.mark_step(idle=True))

    def idle_gap(self, ns):
        """A replayed program was blocked for *ns* (a gap in its recorded allocations)
        during a mark: Go's idle mark worker has the P for that time (findRunnable gives
        an idle P to gcMarkWorkerIdleMode); the cycle terminates if its work runs out."""
        rt = self.rt
        cyc, m = self.cycle, self.mark
        if cyc is None or m is None or self.in_gc or cyc.mode != "concurrent" or ns <= 0:
            return

        def turn():
            budget = max(0, rt.clock.nanotime() - cyc.step_ns) + ns
            if not m.empty:
                _, sb = self.drain(cyc, "idle", budget)
                cyc.bg_credit += sb
            cyc.step_ns = rt.clock.nanotime() + ns
        self._worker_turn(cyc, turn)

    def assist(self, cyc, allocated):
        """Go: deductAssistCredit + gcAssistAlloc for the running goroutine."""
        rt = self.rt
        p = rt.pacer
        if rt.limiter.limiting():
            return                      # Go: no assists while the GC CPU limiter is on

        g = rt.sched.current() if rt.sched is not None else None
        key = id(g) if g is not None else 0
        credit = cyc.assist_bytes.get(key, 0) - allocated
        if credit < 0:
            self.revise(cyc)
            awpb, abpw = p.assist_work_per_byte, p.assist_bytes_per_work
            debt = -credit
            scan_work = int(awpb * debt)
            if scan_work < GC_OVER_ASSIST_WORK:
                scan_work = GC_OVER_ASSIST_WORK
                debt = int(abpw * scan_work)
            if cyc.bg_credit > 0:
                if cyc.bg_credit < scan_work:
                    stolen = cyc.bg_credit
                    credit += 1 + int(abpw * stolen)
                else:
                    stolen = scan_work
                    credit += debt
                cyc.bg_credit -= stolen
                scan_work -= stolen
            if scan_work > 0:
                _, done = self.drain(cyc, "assist", 0, scan_budget=scan_work)
                credit += 1 + int(abpw * done)
        cyc.assist_bytes[key] = credit

    def revise(self, cyc):
        """The pacer's assist ratio from the work done so far (Go: revise)."""
        rt = self.rt
        p = rt.pacer
        p.heap_live = rt.heap.heap_live
        p.heap_scan_work = cyc.scan_bytes
        if self.mark is not None:               # root jobs: data/bss first, then stacks
            done = int(self.mark.root_scan)
            p.globals_scan_work = min(done, rt.globals_scan)
            p.stack_scan_work = done - p.globals_scan_work
        if p.memory_limit != _pacer.MAX_INT64 or cyc.mem is None:
            cyc.mem = rt._mem_state(record_peak=False)   # the limit's goal moves with memory
        p.revise(cyc.mem)

    def set_check_point(self, cyc, malloc_bytes=None, floor=None):
        """The next allocation check points of the running mark. The assist's: the
        allocation that spends the goroutine's assist credit (Go: deductAssistCredit on
        every mallocgc; the heap sets ``gc_pending`` past ``assist_at``), none while the GC
        CPU limiter is limiting (Go's assists return at once then). The workers' (the heap
        checks at span refills and large allocations): when at the mutator's allocation
        rate so far it reaches sysmon's next preemption (the fractional worker's turn) or,
        with dedicated or idle workers marking on other Ps, the next millisecond
        (MARK_STEP_NS); at least MIN_STEP_BYTES on (the workers' share is counted from the
        elapsed time, not from where the step falls)."""
        rt = self.rt
        p = rt.pacer
        g = rt.sched.current() if rt.sched is not None else None
        credit = max(cyc.assist_bytes.get(id(g) if g is not None else 0, 0), 0)
        if malloc_bytes is None:
            malloc_bytes = rt.heap.malloc_bytes
        rt.heap.assist_at = NO_CHECK if rt.limiter.limiting() else malloc_bytes + credit
        now = rt.clock.nanotime()
        waits = []
        if p.fractional_utilization_goal > 0:
            tp = self.fractional_turn(cyc, now, p.fractional_utilization_goal)
            if tp is not None:
                waits.append(max(0, tp - now))
        if p.dedicated_mark_workers_needed or min(p.max_idle_mark_workers,
                                                  rt._gomaxprocs - p.dedicated_mark_workers_needed - 1) > 0:
            waits.append(MARK_STEP_NS)
        if not waits:
            rt.heap.trigger = NO_CHECK
            return
        quantum = 0
        if isinstance(rt.clock, _clock.VirtualClock) \
                and not getattr(rt.clock, "recorded_mutator", False):
            mut_ns = rt.clock.mutator_ns() - cyc.mut_start   # the program's metered work
        else:
            mut_ns = now - p.mark_start_time - cyc.gc_charged
        allocated = malloc_bytes - cyc.alloc_start
        if mut_ns > 0 and allocated > 0:
            quantum = int(allocated / mut_ns * min(waits))
        if floor is None:
            floor = 16 << 10 if getattr(rt.clock, "recorded_mutator", False) else MIN_STEP_BYTES
            # a short runway (small heaps: the goal a few hundred KiB past the trigger)
            # takes finer steps: the assist ratio turns over within it (revise's overshoot
            # rules), and a step that jumps past the goal would miss the turn
            floor = min(floor, max(MIN_FINE_STEP, (cyc.goal - p.triggered) // RUNWAY_STEPS))
        rt.heap.trigger = rt.heap.heap_live + max(quantum, floor)   # replays: fine steps

    def abandon(self):
        """A mark step failed (a bad pointer, out of memory): the cycle is given up. The
        mark bits are clear, the pacer, the GC record and the limiter are as before the cycle."""
        rt = self.rt
        if self.mark is not None:
            self.mark.abort()
        self.mark = None
        self.cycle = None
        rt.heap.gcphase_mark = False
        rt.heap.assist_at = NO_CHECK
        if self.cycle_saved is not None:
            _restore(rt.pacer, self.cycle_saved[0])
            _restore(rt.gc_record, self.cycle_saved[1])
            _restore(rt.limiter, self.cycle_saved[2])   # GC off again for the limiter
        self.update_trigger()

    def alloc_rate(self):
        """(bytes per ns, mutator ns) of allocation since the last cycle ended."""
        rt = self.rt
        nbytes = rt.heap.malloc_bytes - self.rate_mark[0]
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
        if self.mark is not None and not self.mark.empty:
            # Go: runtime.GC waits for the mark (gcWaitOnMark); the workers finish it
            self.drain(self.cycle, "dedicated", 0)
        cyc, self.cycle = self.cycle, None
        rec = rt.gc_record
        procs = rt._gomaxprocs
        kind, stw1, mark_ns = cyc.kind, cyc.stw1, cyc.mark_ns
        rt._charge_mutator()
        if rt.godebug.get("gccheckmark", 0) > 0:
            # Everything reachable now must be marked: the hybrid barrier's guarantee
            # (what was reachable at mark start, plus everything allocated since).
            _mark.checkmark(rt.heap, *self.special_roots())
        heap1 = rt.heap.heap_live
        bytes_marked = (self.mark.bytes_marked if self.mark is not None else cyc.bytes_marked) \
            + rt.heap.bytes_marked_black
        rt.heap.gcphase_mark = False
        rt.heap.assist_at = NO_CHECK            # Go: gcBlackenEnabled = 0
        t_mark_term = rt.clock.nanotime()
        mem = rt._mem_state()
        stack_scan, nstacks = self.stack_scan
        rt.stacks.mark_termination(stack_scan, nstacks)
        idle = self.idle_mark(kind, cyc.dedicated_ns)   # a mark the caller waited for
        cyc.dedicated_ns -= idle
        cyc.idle_ns += idle
        rt.pacer.end_cycle(mem, t_mark_term, procs, heap_scan_work=cyc.scan_bytes,
                           stack_scan_work=stack_scan, globals_scan_work=rt.globals_scan,
                           mutator_ns=cyc.mutator_ns, mark_cpu_ns=mark_ns,
                           assist_ns=cyc.assist_ns, dedicated_ns=cyc.dedicated_ns,
                           fractional_ns=cyc.fractional_ns, idle_mark_ns=cyc.idle_ns,
                           heap_live=heap1, world_stopped=cyc.mode == "stw" or (
                               # runtime.GC's or the periodic cycle's mark, no goroutine
                               # running: Go's endCycle returns (heapLive <= triggered)
                               kind != "heap" and heap1 <= rt.pacer.triggered))
        rt.pacer.reset_live(bytes_marked)         # heapLive (the heap's) = bytes marked
        rt.heap.take_heap_scan()                  # heapScan restarts from the mark's scan work
        seq0 = self.sweep_flush_mark()            # before the flush: which spans are stale
        rt.heap.flush_mcaches(False)
        rt.limiter.add_idle_time(cyc.idle_ns)     # Go: the idle workers' limiter events
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
        cpu.GCAssistTime += cyc.assist_ns
        cpu.GCDedicatedTime += cyc.dedicated_ns + cyc.fractional_ns
        cpu.GCIdleTime += cyc.idle_ns
        cpu.GCTotalTime += mark_ns
        self.accumulate_cpu()
        rec.gc_cpu_fraction = min(cpu.gc_cpu_fraction(), 0.99)
        self._event(cyc, MARK_TERMINATION, heap1, cyc.goal, bytes_marked, cyc.scan_bytes, stw2,
                    mark_ns)
        # sweep: specials first (spec 3.7), then the spans. From here on the cycle cannot
        # be undone: every step runs to its end (`complete`).
        self.sweeping = True
        self.complete((self.end_mark,) + self.sweep_steps(seq0, kind))
        if self.observers:
            self._event(cyc, SWEEP_DONE, rt.heap.heap_live, rt.heap_goal(), bytes_marked,
                        cyc.scan_bytes, stw1 + stw2, mark_ns)

    def end_mark(self):
        """The write barrier off and the mark's work buffers freed (Go: gcMarkTermination's
        setGCPhase(_GCmarktermination) and gcWork disposal)."""
        if self.mark is not None:
            self.mark.stop()                # idempotent: a retried step does it again
        _mark.release_heap(self.rt.heap)
        self.mark = None

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
        def sweep_all():
            # runtime.GC's sweep: the caller sweeps every span (Go: sweepone in a loop),
            # taking a turn of every eleven after the mcache flush's (`sweep_yields`).
            # The C call is the step's last line: a step run again only after it raised.
            if len(plan) < 3:
                plan.append(rt.heap.mem_counters()[4])
            self.sweepone_turns = max(1, -(-(len(plan[0][0]) - plan[0][1]) // (SWEEP_BATCH + 1)))
            _mark.sweep(rt.heap, plan[0][0])
        if kind == "cycle":      # runtime.GC() sweeps everything before it returns
            return (order, specials, sweep_all, lambda: self.charge_sweep(plan[2]),
                    self.commit_after_sweep)
        # A background cycle (heap-triggered, periodic) sweeps lazily, as Go's does
        # (gcSweep in concurrent mode): the mcache flush's spans and those whose specials
        # were just processed now; the rest in allocation (cacheSpan, the proportional
        # sweep paced here) or at the next cycle's start (`finish_sweep`).
        return (order, specials, lambda: _mark.sweep_lazy(rt.heap, plan[0][0], plan[0][1], plan[1]),
                self.commit_after_sweep, lambda: _mark.pace_sweeper(rt.heap, rt.heap.trigger))

    def charge_sweep(self, nspans_before):
        """On a virtual clock, each span a sweep freed since *nspans_before* in-use spans
        costs ``COSTS["sweep_span"]`` of the sweeping goroutine's (mutator) time: Go's
        sweepone runs on the caller of runtime.GC or gcStart, and sweep time is not GC CPU.
        A span that keeps a live object is not charged (the calibration, time_sweep_spans,
        measured spans of dead objects); the proportional sweep in allocation is in the
        allocation costs."""
        rt = self.rt
        freed = nspans_before - rt.heap.mem_counters()[4]
        if freed > 0 and isinstance(rt.clock, _clock.VirtualClock):
            rt.clock.charge_mutator(int(freed * COSTS["sweep_span"]))   # the last line: once

    def finish_sweep(self):
        """Sweep termination: finish the last background cycle's sweep (Go: finishsweep_m,
        after gcStart's sweepone loop on the goroutine that starts the cycle; charged by
        `charge_sweep`). Complete in one nogil call, so nothing is left half-done if the
        cycle that follows is rolled back."""
        n0 = self.rt.heap.mem_counters()[4]
        _mark.finish_sweep(self.rt.heap)
        self.charge_sweep(n0)

    def commit_after_sweep(self):
        """The pacer's next goal and trigger, the scavenger, the periodic GC's deadline."""
        rt = self.rt
        mem = rt._mem_state()
        rt.pacer.commit(sweep_done=False, mem=mem)
        rt.pacer.last_heap_in_use = mem.heap_inuse
        self.update_trigger(mem)                # the commit changed no memory counter
        rt._maybe_scavenge(mem)
        self.rate_mark = (rt.heap.malloc_bytes, rt.mutator_work_ns(), rt.clock.nanotime())
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


def _special_roots_of(collector_ref):
    """The mark's special-roots job (MarkState.set_roots): the collector's special roots
    when the first drain runs, held weakly (the mark must not keep its runtime alive)."""
    def special():
        c = collector_ref()
        return c.special_roots() if c is not None else (None, None)
    return special


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
