"""Go's package runtime, as far as memory is concerned: the Runtime and its GC cycle.

Public names deliberately mirror Go (``GC``, ``ReadMemStats``, ``SetFinalizer``,
``AddCleanup``, ``KeepAlive``, ``Gosched``) so that https://pkg.go.dev/runtime reads
across; everything else is snake_case. All state lives in a ``Runtime``; the module-level
functions act on the current one (a contextvar, set by ``with Runtime(...)``), so
runtimes never share a heap. The default runtime reads ``GOGC``, ``GOMEMLIMIT`` and
``GODEBUG`` from the environment, as Go does.

One GC cycle (``Runtime.gc``), following Go's phases (spec §3.1):

1. sweep termination (STW #1): nothing is left to sweep here (the emulator sweeps each
   cycle completely; Go sweeps lazily), the pacer starts the cycle;
2. mark: roots are the handle table (Python handles = goroutine stacks), queued
   finalizers and cleanups, special records (finalizer referents, cleanup closures, weak
   handle cells) and each P's tiny block; ``_mark.mark`` does the work without the GIL.
   The emulator marks everything reachable at the start (the snapshot Go's hybrid
   barrier guarantees), then models Go's *concurrent* mark as a runway during which the
   mutator keeps allocating and new objects are allocated black (``_start_cycle``);
   ``weak.Pointer.Value`` shades during that phase, as in Go;
3. mark termination (STW #2): heapMarked = heapLive = bytes marked, every mcache is
   flushed (counted, tiny block dropped), NumGC/NumForcedGC, PauseNs/PauseEnd/LastGC,
   GCCPUFraction, the pacer commits the next goal and trigger;
4. sweep: specials of unmarked objects first (spec §3.7: finalizable objects are revived
   and their finalizers queued; weak handles cleared; cleanups queued), then every span.

Time comes from the runtime's clock. With ``clock="virtual"`` (the default) it advances
by a documented cost model (``COSTS``): a fixed cost per allocation and per allocated
byte for the mutator, and per marked object and scanned byte for the collector, plus
fixed STW costs. With ``clock="wall"`` the phases are measured.
"""
import contextlib
import contextvars
import inspect
import io
import itertools
import os
import sys
import threading
import time as _time

import numpy as np

from . import _heap, _mark, _object, mstats, pacer as _pacer, gctrace as _gctrace, metrics as _metrics
from . import _signals, sched as _sched, clock as _clock, types as _types
from .errors import FatalError, Panic

__all__ = [
    "Runtime", "current", "GC", "ReadMemStats", "MemStats", "SetFinalizer", "KeepAlive",
    "AddCleanup", "Cleanup", "GOMAXPROCS", "NumGoroutine", "Gosched", "go", "Sleep",
    "new", "make", "Pointer", "SliceValue", "GOGC_OFF", "Chan", "WaitGroup",
]

Pointer = _object.Pointer
SliceValue = _object.SliceValue
MemStats = mstats.MemStats
GOGC_OFF = -1

# The virtual clock's cost model (ns). Chosen to be of the order of Go's own costs on a
# current x86-64 core, so that GCCPUFraction, gctrace times and the periodic GC read
# sensibly; nothing exact is claimed for them.
COSTS = {
    "alloc_call": 20,          # per mallocgc call (mutator)
    "alloc_byte": 0.05,        # per requested byte (zeroing)
    "stw_sweep_term": 15_000,  # STW #1
    "stw_mark_term": 20_000,   # STW #2
    "mark_object": 20,         # per marked object
    "mark_byte": 0.25,         # per scanned byte
    "mark_utilization": 0.25,  # share of CPU the concurrent mark gets (Go: gcBackgroundUtilization)
    "scavenge_bytes_per_ns": 0.04,  # background scavenger: ~40 MB/s (1 % of a CPU, Go's cap)
}

RODATA_BASE = 0x4c0000        # Go-like read-only data segment for string constants
TYPES_BASE = 0x500000         # type descriptors (interface type words)
IMMORTAL_WEAK_BASE = 0x5f0000 # off-heap weak handles of immortal (zero-size) objects
FORCEGC_PERIOD = 120 * 10**9  # Go: forcegcperiod
MAX_ALLOC = 1 << 48           # Go: maxAlloc on linux/amd64
# Scan work outside the heap. The emulated program's own globals are its Python variables
# (handles, i.e. stack roots), but a Go binary always carries the runtime's scannable data
# and BSS and a main goroutine stack; both feed the heap goal (spec 4.2). The values are
# what Go 1.27.3 reported for a minimal program (spec Appendix X3).
GLOBALS_SCAN = 158314         # /gc/scan/globals:bytes of a minimal Go 1.27.3 binary
STACK_SCAN = 8464             # /gc/scan/stack:bytes of its main goroutine

_current = contextvars.ContextVar("goruntime_current_runtime", default=None)
_default = None
_default_lock = threading.Lock()


def current():
    """The current Runtime: the innermost ``with Runtime(...)``, else the default one."""
    rt = _current.get()
    if rt is not None:
        return rt
    global _default
    with _default_lock:
        if _default is None:
            _default = Runtime.from_env()
        return _default


def _scheduler_of_current():
    return current().sched


_sched.set_current_scheduler_getter(_scheduler_of_current)
_metrics.set_input_provider(lambda: current()._metric_inputs())


def _parse_godebug(s):
    out = {}
    for part in (s or "").split(","):
        part = part.strip()
        if not part:
            continue
        k, _, v = part.partition("=")
        try:
            out[k.strip()] = int(v) if v.strip() else 1
        except ValueError:
            out[k.strip()] = v.strip()
    return out


class _GCRecord:
    """The collector's cumulative record: what MemStats' GC fields are read from."""

    def __init__(self):
        self.num_gc = 0
        self.num_forced_gc = 0
        self.pause_ns = [0] * 256
        self.pause_end = [0] * 256
        self.pause_total_ns = 0
        self.last_gc_unix = 0
        self.last_gc_nanotime = 0
        self.gc_cpu_fraction = 0.0
        self.cpu = _metrics.CPUStats()                # Go's cpuStats, updated at each GC
        self.stw_gc = _metrics.TimeHistogram()        # every GC STW pause (2 per cycle)
        self.stw_other = _metrics.TimeHistogram()     # ReadMemStats and other STWs
        self.last_heap_scan = 0
        self.finalizers_queued = 0
        self.finalizers_executed = 0
        self.cleanups_queued = 0
        self.cleanups_executed = 0


class _Finalizer:
    __slots__ = ("addr", "slot", "spanclass", "fn", "elem")

    def __init__(self, addr, slot, spanclass, fn, elem):
        self.addr, self.slot, self.spanclass, self.fn, self.elem = addr, slot, spanclass, fn, elem


class _CleanupRec:
    __slots__ = ("id", "addr", "slot", "spanclass", "fn", "arg", "closure", "box", "roots")

    def __init__(self, id, addr, slot, spanclass, fn, arg, closure, box):
        self.id, self.addr, self.slot, self.spanclass = id, addr, slot, spanclass
        self.fn, self.arg, self.closure, self.box = fn, arg, closure, box


class _WeakRec:
    __slots__ = ("addr", "slot", "spanclass", "cell")

    def __init__(self, addr, slot, spanclass, cell):
        self.addr, self.slot, self.spanclass, self.cell = addr, slot, spanclass, cell


class Cleanup:
    """Go's runtime.Cleanup: the handle AddCleanup returns. ``Stop()`` cancels it."""

    __slots__ = ("_rt", "_id")

    def __init__(self, rt=None, id=0):
        self._rt, self._id = rt, id

    def Stop(self):
        """Cancel the cleanup if it has not been queued yet; idempotent (Go: Cleanup.Stop)."""
        if self._rt is not None and self._id:
            self._rt._stop_cleanup(self._id)

    stop = Stop

    def __repr__(self):
        return f"Cleanup(id={self._id})" if self._id else "Cleanup{}"


class Runtime:
    """An isolated Go runtime: its own heap, pacer, statistics and scheduler.

    Parameters
    ----------
    gogc : int or "off"
        GOGC (``-1`` or ``"off"`` disables the percent-based goal).
    memory_limit : int or str, optional
        GOMEMLIMIT in bytes, or a string in GOMEMLIMIT syntax (``"64MiB"``).
    gomaxprocs : int
    godebug : str
        GODEBUG settings: ``gctrace=1``, ``gcpacertrace=1``, ``gccheckmark=1``, ``sbrk=1``.
    scheduler : "cooperative" or "threads"
    clock : "virtual", "wall" or a clock object
    arena_cap : int, optional
        Address space reserved for the heap (default: half the machine's RAM).
    stderr : file-like, optional
        Where gctrace lines go (default: ``sys.stderr`` at the time of writing).
    """

    def __init__(self, gogc=100, memory_limit=None, gomaxprocs=1, godebug="",
                 scheduler="cooperative", clock="virtual", *, arena_cap=None, stderr=None):
        if isinstance(gogc, str):
            gogc = _pacer.parse_gogc(gogc)
        if isinstance(gogc, bool) or not isinstance(gogc, int):
            raise TypeError(f"gogc must be an int or 'off', not {type(gogc).__name__}")
        if memory_limit is None:
            memory_limit = _pacer.MAX_INT64
        elif isinstance(memory_limit, str):
            memory_limit = _pacer.parse_gomemlimit(memory_limit)
        if isinstance(memory_limit, bool) or not isinstance(memory_limit, int):
            raise TypeError(f"memory_limit must be an int or a GOMEMLIMIT string")
        if isinstance(gomaxprocs, bool) or not isinstance(gomaxprocs, int):
            raise TypeError("gomaxprocs must be an int")
        if gomaxprocs < 1 or gomaxprocs > 256:
            raise ValueError(f"gomaxprocs must be in 1..256, not {gomaxprocs}")
        self.godebug = _parse_godebug(godebug)
        self.heap = _heap.Heap(arena_cap, nprocs=gomaxprocs)
        self.heap.threaded = scheduler == "threads"
        self._world = self.heap.lock
        self.clock = _clock.make_clock(clock)
        self.sched = _sched.Scheduler(scheduler, self.clock, gomaxprocs)
        self.sched.on_tick = self._on_tick
        # consMark from the cost model's allocation and scan rates: the emulator does not
        # model assists, which is what lets Go's own measurement see the mutator's rate.
        self.pacer = _pacer.Pacer(gogc, memory_limit, cons_mark_model="virtual-cost")
        self.pacer.globals_scan = GLOBALS_SCAN
        self.stderr = stderr
        self.gc_record = _GCRecord()
        self._gomaxprocs = gomaxprocs
        self._peak_procs = gomaxprocs
        self._peak_spans = 0
        self._start_ns = self.clock.nanotime()
        self._charged_calls = 0
        self._charged_bytes = 0
        self._in_gc = False
        self._rodata = {}
        self._rodata_by_addr = {}
        self._rodata_next = RODATA_BASE
        self._type_words = {}
        self._types_by_word = {}
        # specials (Go: mspan.specials), keyed by the registered address
        self._finalizers = {}
        self._cleanups = {}
        self._weak = {}
        self._immortal_weak = {}      # address -> off-heap handle, for zerobase pointers
        self._cleanup_ids = itertools.count(1)
        # queues and their goroutines (Go: finq/fing, cleanup queue and goroutines)
        self._finq = []
        self._fing = None
        self._cleanupq = []           # published blocks (lists of _CleanupRec)
        self._cleanup_running = []    # blocks taken by a cleanup goroutine, not yet drained
        self._cleanup_gs = []
        self._cleanup_idle = []
        self._cleanup_need = 0
        self._forcegc = None
        self._cycle = None            # the running cycle's state while in its mark phase
        self._rate_mark = (0, 0, self.clock.nanotime())
        self._scav_time = self.clock.nanotime()
        self._last_gc_cost_ns = 0     # GC CPU of the last cycle (the limiter's yardstick)
        self._last_rate = 0.0         # mutator allocation rate before the last cycle
        self.limiter_last_enabled = 0 # Go: /gc/limiter/last-enabled:gc-cycle
        self._token = None
        self._update_trigger()

    @classmethod
    def from_env(cls, environ=None, **kwargs):
        """A runtime configured from ``GOGC``, ``GOMEMLIMIT`` and ``GODEBUG`` (Go: schedinit)."""
        env = os.environ if environ is None else environ
        gogc = _pacer.parse_gogc(env.get("GOGC"))
        limit = env.get("GOMEMLIMIT")
        if limit is not None and limit != "":
            try:
                limit = _pacer.parse_gomemlimit(limit)
            except FatalError as e:
                e.add_note(f"GOMEMLIMIT={env.get('GOMEMLIMIT')}")
                raise
        else:
            limit = None
        return cls(gogc=gogc, memory_limit=limit, godebug=env.get("GODEBUG", ""), **kwargs)

    # -- context -----------------------------------------------------------------------
    def __enter__(self):
        if self._token is not None:
            raise RuntimeError("goruntime: this Runtime is already entered")
        self._token = _current.set(self)
        return self

    def __exit__(self, *exc):
        _current.reset(self._token)
        self._token = None
        return False

    def __repr__(self):
        return (f"<goruntime.Runtime GOGC={self.pacer.gc_percent} GOMAXPROCS={self._gomaxprocs} "
                f"NumGC={self.gc_record.num_gc} HeapInuse={self.heap.counters()['heap_inuse']}>")

    def _repr_html_(self):
        from ._display import runtime_html
        return runtime_html(self)

    # -- allocation --------------------------------------------------------------------
    # Go's ``new(T)``: a zeroed T on the heap, returned as a ``*T`` handle. Compiled
    # (goruntime/_object.pyx ``runtime_new``): one call per object, per-type facts cached.
    new = _object.runtime_new

    def make(self, T, length, cap=None):
        """Go's ``make([]E, len, cap)``: a slice with a zeroed backing array on the heap."""
        if not isinstance(T, _types.Type) or T.underlying.kind != "slice":
            raise TypeError(f"make: {T!r} is not a slice type (maps and chans: use rt.Chan)")
        if isinstance(length, bool) or not isinstance(length, int):
            raise TypeError(f"make: len must be an int, not {type(length).__name__}")
        if cap is None:
            cap = length
        if isinstance(cap, bool) or not isinstance(cap, int):
            raise TypeError(f"make: cap must be an int, not {type(cap).__name__}")
        if length < 0:
            raise Panic("runtime error: makeslice: len out of range")
        if cap < length:
            raise Panic("runtime error: makeslice: cap out of range")
        E = T.underlying.elem
        size = E.size * cap
        if size > MAX_ALLOC:                      # Go: makeslice, maxAlloc = 1 << 48
            if E.size * length > MAX_ALLOC:
                raise Panic("runtime error: makeslice: len out of range")
            raise Panic("runtime error: makeslice: cap out of range")
        noscan = not E.has_pointers
        mask = None if noscan or size == 0 else E.gc_mask()
        with self._world:
            addr = self.heap.alloc(size, noscan, mask, max(cap, 1))
            s = _object.make_slice(self, self.heap, addr, length, cap, E)
        if self.heap.gc_pending:
            self._heap_triggered_gc()
        return s

    def string(self, data):
        """A Go string whose bytes are on the heap (like ``string(b)``); returns (ptr, len).

        Assigning a Python ``str`` to a string field stores a constant (no allocation,
        like a Go literal); use this to model a heap-allocated string. The result is a
        ``(ptr, len)`` tuple that also roots the bytes while it lives (a Go string
        variable), so a GC before it is stored anywhere does not free them.
        """
        b = data.encode() if isinstance(data, str) else bytes(data)
        if not b:
            return (0, 0)
        with self._world:
            addr = self.heap.alloc(len(b), True)
            self.heap.view(addr, len(b))[:] = np.frombuffer(b, dtype=np.uint8)
            s = _object.StringHeader(addr, len(b), _object.make_pointer(self, self.heap, addr, None))
        if self.heap.gc_pending:
            self._heap_triggered_gc()
        return s

    def _rodata_string(self, s):
        b = s.encode()
        if not b:
            return (0, 0)
        a = self._rodata.get(b)
        if a is None:
            a = self._rodata_next
            self._rodata_next += (len(b) + 7) & ~7
            self._rodata[b] = a
            self._rodata_by_addr[a] = b
        return (a, len(b))

    def _read_string(self, ptr, n):
        if n == 0:
            return ""
        if self.heap.in_arena(ptr):
            return bytes(self.heap.view(ptr, n)).decode(errors="replace")
        for a, b in self._rodata_by_addr.items():
            if a <= ptr < a + len(b):
                return b[ptr - a: ptr - a + n].decode(errors="replace")
        raise ValueError(f"goruntime: string data at {ptr:#x} is not in this runtime")

    def _type_word(self, t):
        w = self._type_words.get(t)
        if w is None:
            w = TYPES_BASE + 64 * len(self._type_words)
            self._type_words[t] = w
            self._types_by_word[w] = t
        return w

    def _type_of_word(self, w):
        return self._types_by_word.get(w)

    # -- statistics ----------------------------------------------------------------------
    def _mem_state(self, counters=None):
        c = counters or self.heap.counters()
        m = self._stats(c)
        return _pacer.MemoryState(mapped_ready=m.Sys - m.HeapReleased,
                                  heap_free=m.HeapIdle - m.HeapReleased,
                                  heap_alloc=m.HeapAlloc, heap_inuse=m.HeapInuse)

    def _stats(self, counters, m=None, next_gc=0):
        self._peak_spans = max(self._peak_spans, counters["nspans_inuse"])
        return mstats.fill(
            m if m is not None else MemStats(), counters=counters, nprocs=self._gomaxprocs,
            peak_spans=self._peak_spans, peak_procs=self._peak_procs,
            ngoroutines=self.sched.num_goroutine() + self._system_goroutines(),
            nspecials=(len(self._finalizers), len(self._cleanups), len(self._weak)),
            gc=self.gc_record, next_gc=next_gc)

    def _system_goroutines(self):
        return sum(g is not None for g in (self._fing, self._forcegc)) + len(self._cleanup_gs)

    def heap_goal(self):
        """Go: heapGoal() -- NextGC, evaluated now."""
        self.pacer.heap_live = self.heap.heap_live
        return self.pacer.heap_goal(self._mem_state())

    def read_mem_stats(self, m=None):
        """Go: ReadMemStats. Stops the world, flushes every mcache, fills *m*."""
        if m is not None and not isinstance(m, MemStats):
            raise TypeError(f"ReadMemStats: expected a MemStats, not {type(m).__name__}")
        with self._world:
            self._charge_mutator()
            self.gc_record.stw_other.record(0)     # Go: a non-GC STW ("ReadMemStats")
            self.heap.flush_mcaches(True)
            c = self.heap.counters()
            goal = self.heap_goal()
            return self._stats(c, m if m is not None else MemStats(), next_gc=goal)

    def _update_trigger(self):
        self.pacer.heap_live = self.heap.heap_live
        mem = self._mem_state()
        trig, goal = self.pacer.trigger(mem)
        if goal < self.pacer.gc_percent_heap_goal and self._last_gc_cost_ns:
            # Memory-limited: Go's GC CPU limiter keeps GC from taking more than half the
            # CPU (spec 3.5) by letting the heap overshoot the limit. Modelled as a minimum
            # runway: the mutator allocates for at least as long as the last cycle took.
            rate, _ = self._alloc_rate()
            floor = self.heap.heap_live + int(self._last_gc_cost_ns * max(rate, self._last_rate))
            if floor > trig:
                trig = floor
                self.limiter_last_enabled = self.gc_record.num_gc
        self.heap.trigger = min(trig, 2**64 - 1)

    # -- time ------------------------------------------------------------------------------
    def _charge_mutator(self):
        """Advance the virtual clock by the allocation work done since the last charge."""
        c = self.heap.counters()
        calls = c["malloc_calls"] - self._charged_calls
        nbytes = c["malloc_bytes"] - self._charged_bytes
        self._charged_calls, self._charged_bytes = c["malloc_calls"], c["malloc_bytes"]
        ns = int(calls * COSTS["alloc_call"] + nbytes * COSTS["alloc_byte"])
        if ns:
            self.clock.charge(ns)

    def _phase(self, modelled_ns, fn, *args):
        """Run *fn*; return (result, ns): measured on a wall clock, else modelled."""
        if isinstance(self.clock, _clock.VirtualClock):
            r = fn(*args)
            ns = int(modelled_ns(r) if callable(modelled_ns) else modelled_ns)
            self.clock.charge(ns)
            return r, ns
        t0 = _time.perf_counter_ns()
        r = fn(*args)
        return r, _time.perf_counter_ns() - t0

    # -- the GC cycle ------------------------------------------------------------------------
    def _heap_triggered_gc(self):
        """An allocation check point fired (Go: gcTrigger{kind: gcTriggerHeap}.test()).

        With no cycle running this starts one; during a cycle's mark phase it means the
        modelled concurrent mark has run its course, so the cycle terminates.
        """
        self.heap.gc_pending = False
        if self._in_gc:
            return
        if self._cycle is None and self.pacer.gc_percent < 0 \
                and self.pacer.memory_limit == _pacer.MAX_INT64:
            self._update_trigger()
            return
        self.gc(kind="heap")

    def gc(self, kind="cycle"):
        """Run the collector. *kind*: "cycle" (runtime.GC, forced), "heap", "time".

        "cycle" finishes a cycle that is already in its mark phase (Go's runtime.GC waits
        for it: NumGC may grow by 2) and then runs a whole forced cycle; "time" (the
        periodic GC) runs a whole cycle; "heap" starts a cycle whose mark phase lasts while
        the mutator allocates (see ``_start_cycle``), or ends the running one.
        """
        if kind not in ("cycle", "heap", "time"):
            raise ValueError(f"unknown GC trigger kind {kind!r}")
        if self.godebug.get("sbrk"):
            return
        with self._world, _signals.deferred():
            if self._in_gc:
                raise FatalError("runtime.GC called from inside a GC cycle")
            self._in_gc = True
            try:
                if kind == "heap" and self._cycle is not None:
                    self._finish_cycle()
                elif kind == "heap":
                    if self._start_cycle(kind):
                        self._finish_cycle()
                else:
                    if self._cycle is not None:
                        self._finish_cycle()
                    self._start_cycle(kind)
                    self._finish_cycle()
            finally:
                self._in_gc = False
        self._wake_queues()

    def finish_cycle(self):
        """End a cycle that is in its mark phase (the background workers finished)."""
        if self._cycle is None or self._in_gc:
            return
        with self._world, _signals.deferred():
            if self._cycle is None or self._in_gc:     # another thread ended it meanwhile
                return
            self._in_gc = True
            try:
                self._finish_cycle()
            finally:
                self._in_gc = False
        self._wake_queues()

    def _shade(self, addr):
        """Grey *addr* during a mark phase and mark what it reaches (Go: shade)."""
        if self._cycle is not None and not self.heap.is_marked(addr):
            b, n, scan = _mark.mark(self.heap, np.array([addr], dtype=np.uint64))
            self._cycle["bytes_marked"] += b
            self._cycle["scan_bytes"] += scan

    @property
    def gc_running(self):
        """True while a cycle is in its mark phase (Go: gcphase == _GCmark)."""
        return self._cycle is not None

    def gc_roots(self):
        """The collector's extra roots now: ``(roots, scan_only)`` as uint64 arrays.

        ``roots``: queued finalizers' objects, cleanup closures (queued and attached), weak
        handle cells. ``scan_only``: objects with finalizers, whose referents are marked but
        not the objects themselves (Go: markrootSpans). The handle table and each P's tiny
        block are roots too (``heap.roots()``, ``heap.tiny_blocks()``).
        """
        return self._special_roots()

    def _special_roots(self):
        """(roots, scan_only): queued work, cleanup closures and weak cells; finalizer objects."""
        roots = [f.addr for f in self._finq]
        for block in self._cleanupq + self._cleanup_running:
            roots.extend(c.closure for c in block)
        roots.extend(c.closure for c in self._cleanups.values())
        roots.extend(w.cell for w in self._weak.values())
        scan_only = [f.slot for f in self._finalizers.values()]
        return (np.array(roots, dtype=np.uint64), np.array(scan_only, dtype=np.uint64))

    def _start_cycle(self, kind):
        """Sweep termination and the mark. Returns True if the cycle should end at once.

        The emulator marks everything reachable right here (a snapshot at the beginning,
        which is what Go's hybrid barrier guarantees), then models Go's *concurrent* mark
        as a runway: the mark phase stays open while the mutator allocates, new objects
        are allocated black, and the cycle terminates when the mutator has allocated what
        it would have during a mark of this size at 25 % GC utilization
        (``alloc rate x mark CPU / 0.25``), and at the latest at the heap goal (Go's
        assists guarantee that). Forced and periodic cycles end at once.
        """
        procs = self._gomaxprocs
        self._charge_mutator()
        t_start = self.clock.nanotime()
        heap0 = self.heap.heap_live
        goal = self.heap_goal()
        _, stw1 = self._phase(COSTS["stw_sweep_term"], lambda: None)
        self.pacer.start_cycle(heap0, self.clock.nanotime(), procs,
                               kind={"cycle": _pacer.TRIGGER_CYCLE, "heap": _pacer.TRIGGER_HEAP,
                                     "time": _pacer.TRIGGER_TIME}[kind])
        roots, scan_only = self._special_roots()
        (bytes_marked, nmarked, scan_bytes), mark_ns = self._phase(
            lambda r: r[1] * COSTS["mark_object"] + r[2] * COSTS["mark_byte"],
            _mark.mark, self.heap, roots, scan_only)
        self.heap.gcphase_mark = True
        rate, mutator_ns = self._alloc_rate()
        self._cycle = {"kind": kind, "t_start": t_start, "heap0": heap0, "goal": goal,
                       "stw1": stw1, "mark_ns": mark_ns, "bytes_marked": bytes_marked,
                       "scan_bytes": scan_bytes, "mutator_ns": mutator_ns}
        if kind != "heap":
            return True
        runway = int(rate * mark_ns / COSTS["mark_utilization"])
        runway = min(runway, max(goal - heap0, 0))
        if runway <= 0:
            return True
        self.heap.trigger = heap0 + runway
        return False

    def _alloc_rate(self):
        """(bytes per ns, mutator ns) of allocation since the last cycle ended."""
        c = self.heap.counters()
        nbytes = c["malloc_bytes"] - self._rate_mark[0]
        if isinstance(self.clock, _clock.VirtualClock):
            calls = c["malloc_calls"] - self._rate_mark[1]
            ns = int(calls * COSTS["alloc_call"] + nbytes * COSTS["alloc_byte"])
        else:
            ns = self.clock.nanotime() - self._rate_mark[2]
        return (nbytes / ns if ns > 0 else 0.0), ns

    def _finish_cycle(self):
        """Mark termination (STW #2) and the sweep."""
        cyc, self._cycle = self._cycle, None
        rec = self.gc_record
        procs = self._gomaxprocs
        kind, stw1, mark_ns = cyc["kind"], cyc["stw1"], cyc["mark_ns"]
        self._charge_mutator()
        if self.godebug.get("gccheckmark"):
            # Everything reachable now must be marked: the snapshot plus black allocation.
            _mark.checkmark(self.heap, *self._special_roots())
        heap1 = self.heap.heap_live
        bytes_marked = cyc["bytes_marked"] + self.heap.bytes_marked_black
        self.heap.gcphase_mark = False
        t_mark_term = self.clock.nanotime()
        mem = self._mem_state()
        self.pacer.heap_live = heap1
        self.pacer.end_cycle(mem, t_mark_term, procs, heap_scan_work=cyc["scan_bytes"],
                             stack_scan_work=STACK_SCAN, globals_scan_work=GLOBALS_SCAN,
                             mutator_ns=cyc["mutator_ns"], mark_cpu_ns=mark_ns,
                             dedicated_ns=mark_ns, heap_live=heap1)
        self.pacer.reset_live(bytes_marked)
        self.pacer.globals_scan = GLOBALS_SCAN
        self.heap.heap_live = bytes_marked
        self.heap.flush_mcaches(False)
        _, stw2 = self._phase(COSTS["stw_mark_term"], lambda: None)
        end_unix = self.clock.unix_nano()
        rec.num_gc += 1
        if kind == "cycle":
            rec.num_forced_gc += 1
        i = (rec.num_gc - 1) % 256
        rec.pause_ns[i] = stw1 + stw2
        rec.pause_end[i] = end_unix
        rec.pause_total_ns += stw1 + stw2
        rec.stw_gc.record(stw1)
        rec.stw_gc.record(stw2)
        rec.last_gc_unix = end_unix
        rec.last_gc_nanotime = self.clock.nanotime()
        rec.last_heap_scan = cyc["scan_bytes"]
        cpu = rec.cpu
        cpu.accumulate_gc_pause_time(stw1, procs)
        cpu.accumulate_gc_pause_time(stw2, procs)
        cpu.GCDedicatedTime += mark_ns
        cpu.GCTotalTime += mark_ns
        self._accumulate_cpu()
        rec.gc_cpu_fraction = min(cpu.gc_cpu_fraction(), 0.99)
        self._last_gc_cost_ns = (stw1 + stw2) * procs + mark_ns
        self._last_rate = self._alloc_rate()[0]
        # sweep: specials first (spec 3.7), then the spans
        self._sweep_specials()
        _mark.sweep(self.heap)
        mem = self._mem_state()
        self.pacer.commit(sweep_done=False, mem=mem)
        self.pacer.last_heap_in_use = mem.heap_inuse
        self._update_trigger()
        self._maybe_scavenge(mem)
        c = self.heap.counters()
        self._rate_mark = (c["malloc_bytes"], c["malloc_calls"], self.clock.nanotime())
        # sysmon's forcegc check is due 2 minutes after this cycle (Go: forcegcperiod)
        self.sched.next_tick = (rec.last_gc_nanotime + FORCEGC_PERIOD + 1
                                if self.pacer.gc_percent >= 0 else None)
        if self.godebug.get("gctrace"):
            line = _gctrace.format_gctrace(
                n=rec.num_gc, start_ns=cyc["t_start"] - self._start_ns,
                cpu_percent=int(rec.gc_cpu_fraction * 100),
                clock_ns=(stw1, t_mark_term - cyc["t_start"] - stw1, stw2),
                cpu_ns=(stw1 * procs, 0, mark_ns, 0, stw2 * procs),
                heap0=cyc["heap0"], heap1=heap1, heap2=bytes_marked, goal=cyc["goal"],
                stacks=STACK_SCAN, globals_=GLOBALS_SCAN, procs=procs, forced=(kind == "cycle"))
            self._trace(line)

    def _accumulate_cpu(self):
        """Bring TotalTime/UserTime up to now (Go: cpuStats.accumulate at mark termination)."""
        cpu = self.gc_record.cpu
        cpu.TotalTime = max(1, (self.clock.nanotime() - self._start_ns) * self._gomaxprocs)
        cpu.UserTime = max(0, cpu.TotalTime - cpu.GCTotalTime - cpu.ScavengeTotalTime - cpu.IdleTime)

    def _metric_inputs(self):
        """A runtime/metrics snapshot. Like Go, nothing is flushed: counts lag."""
        with self._world:
            c = self.heap.counters()
            m = self._stats(c, next_gc=self.heap_goal())
            p = self.pacer
            rec = self.gc_record
            return _metrics.MetricInputs(
                tiny_alloc_count=c["tiny_alloc_count"], large_alloc=c["large_alloc"],
                large_alloc_count=c["large_alloc_count"],
                small_alloc_count=list(c["small_alloc_count"]), large_free=c["large_free"],
                large_free_count=c["large_free_count"],
                small_free_count=list(c["small_free_count"]),
                committed=m.HeapInuse + (m.HeapIdle - m.HeapReleased) + m.StackInuse,
                released=m.HeapReleased, in_heap=m.HeapInuse, in_stacks=m.StackInuse,
                in_work_bufs=0, stacks_sys=0, mspan_sys=m.MSpanSys, mspan_inuse=m.MSpanInuse,
                mcache_sys=m.MCacheSys, mcache_inuse=m.MCacheInuse, buckhash_sys=0,
                gc_misc_sys=m.GCSys, other_sys=m.OtherSys, heap_goal=m.NextGC,
                num_gc=rec.num_gc, num_forced_gc=rec.num_forced_gc,
                heap_marked=p.heap_marked, heap_scan=p.heap_scan, stack_scan=p.last_stack_scan,
                globals_scan=p.globals_scan, gc_percent=p.gc_percent,
                memory_limit=p.memory_limit, cpu_stats=rec.cpu,
                limiter_last_enabled_cycle=self.limiter_last_enabled,
                finalizers_queued=rec.finalizers_queued,
                finalizers_executed=rec.finalizers_executed,
                cleanups_queued=rec.cleanups_queued, cleanups_executed=rec.cleanups_executed,
                gomaxprocs=self._gomaxprocs,
                goroutines=self.sched.num_goroutine() + self._system_goroutines(),
                stw_total_gc=rec.stw_gc, stw_stopping_gc=_metrics.TimeHistogram(),
                stw_total_other=rec.stw_other, stw_stopping_other=_metrics.TimeHistogram())

    def _trace(self, line):
        out = self.stderr if self.stderr is not None else sys.stderr
        out.write(line + "\n")

    def _maybe_scavenge(self, mem):
        """The background scavenger (Go: bgscavenge), run at the end of each cycle and
        when time passes. Go's runs continuously at ~1 % of a CPU; here it may release at
        most ``COSTS["scavenge_bytes_per_ns"]`` bytes per ns of elapsed time, so memory
        freed by a GC is returned gradually, as in Go (FreeOSMemory returns all at once)."""
        self.pacer.pace_scavenger(mem)
        now = self.clock.nanotime()
        budget = int((now - self._scav_time) * COSTS["scavenge_bytes_per_ns"])
        n = min(self.pacer.background_scavenge_bytes(mem), budget)
        if n > 0:
            self.heap.scavenge(n)
            self._scav_time = now
        elif budget > 0 and not self.pacer.background_scavenge_bytes(mem):
            self._scav_time = now

    def _sweep_specials(self):
        """Spec 3.7 step 1, in sweep order: (span class, address, special kind)."""
        heap = self.heap
        by_slot = {}
        for f in self._finalizers.values():
            by_slot.setdefault(f.slot, [f.spanclass, [], [], []])[1].append(f)
        for w in self._weak.values():
            by_slot.setdefault(w.slot, [w.spanclass, [], [], []])[2].append(w)
        for c in self._cleanups.values():
            by_slot.setdefault(c.slot, [c.spanclass, [], [], []])[3].append(c)
        if not by_slot:
            return
        slots = np.fromiter(by_slot.keys(), dtype=np.uint64, count=len(by_slot))
        marked = heap.marked_many(slots)
        dead = [int(s) for s, m in zip(slots, marked) if not m]
        dead.sort(key=lambda s: (by_slot[s][0], s))
        queued_cleanups = []
        for s in dead:
            _, fins, weaks, cleanups = by_slot[s]
            for w in weaks:
                heap.write_word(w.cell, 0)
                del self._weak[w.addr]
            if fins:
                heap.set_marked(s)                       # revive for this cycle
                for f in sorted(fins, key=lambda f: f.addr):
                    del self._finalizers[f.addr]
                    self._finq.append(f)
                    self.gc_record.finalizers_queued += 1
            else:
                # Go's specials list keeps several cleanups at one offset newest first
                # (addspecial(force=true) splices before the existing record).
                for c in sorted(cleanups, key=lambda c: (c.addr, -c.id)):
                    del self._cleanups[c.id]
                    queued_cleanups.append(c)
                    self.gc_record.cleanups_queued += 1
        for i in range(0, len(queued_cleanups), 20):   # Go: 20-entry cleanup blocks
            self._cleanupq.append(queued_cleanups[i:i + 20])

    # -- finalizers ----------------------------------------------------------------------
    def set_finalizer(self, obj, finalizer):
        """Go: runtime.SetFinalizer, with Go's checks in Go's order (spec 5.1)."""
        if obj is None:
            raise FatalError("runtime.SetFinalizer: first argument is nil")
        if not isinstance(obj, Pointer):
            raise FatalError(f"runtime.SetFinalizer: first argument is {_go_type_name(obj)}, not pointer")
        self._own(obj)
        if self.godebug.get("sbrk"):
            return
        info = self.heap.find_object(obj.addr)
        if info is None:
            if obj.addr == _heap.ZERO_BASE or not self.heap.in_arena(obj.addr):
                return                                   # zerobase / globals: silently ignored
            raise FatalError("runtime.SetFinalizer: pointer not in allocated block")
        base, slot, elemsize, spanclass = info
        if obj.addr != base:
            e = obj.elem
            if e is None or e.has_pointers or e.size >= 16:
                raise FatalError("runtime.SetFinalizer: pointer not at beginning of allocated block")
        if finalizer is None:
            with self._world:
                self._finalizers.pop(obj.addr, None)
            return
        if not callable(finalizer):
            raise FatalError(f"runtime.SetFinalizer: second argument is {_go_type_name(finalizer)}, not a function")
        ftype = _func_type(finalizer, obj.type)
        err = _types.finalizer_error(obj.type, ftype)
        if err is not None:
            raise FatalError(err)
        with self._world:
            if obj.addr in self._finalizers:
                raise FatalError("runtime.SetFinalizer: finalizer already set")
            self._finalizers[obj.addr] = _Finalizer(obj.addr, slot, spanclass, finalizer, obj.elem)
            if self._fing is None:
                self._fing = self._go_system(self._fing_loop, "finalizer")

    def _fing_loop(self):
        """Go: runfinq. One goroutine runs every finalizer, newest queued first."""
        while True:
            if not self._finq:
                self.sched.park("finalizer wait")
                continue
            f = self._finq[-1]
            arg = _object.make_pointer(self, self.heap, f.addr, f.elem)
            try:
                f.fn(arg)
            finally:
                # The entry stays a root until its finalizer has run (Go: fb.cnt).
                with self._world:
                    if self._finq and self._finq[-1] is f:
                        self._finq.pop()
                    else:
                        self._finq.remove(f)
                    self.gc_record.finalizers_executed += 1
                del arg

    # -- cleanups ------------------------------------------------------------------------
    def add_cleanup(self, ptr, cleanup, arg):
        """Go: runtime.AddCleanup, with Go's panics (spec 6.1); returns a Cleanup."""
        if ptr is None:
            raise Panic("runtime.AddCleanup: ptr is nil")
        if not isinstance(ptr, Pointer):
            raise TypeError(f"AddCleanup: ptr must be a pointer handle, not {type(ptr).__name__}")
        self._own(ptr)
        if isinstance(arg, (Pointer, SliceValue)):
            self._own(arg)                  # a foreign handle's address means nothing here
        if isinstance(arg, Pointer) and arg.addr == ptr.addr:
            raise Panic("runtime.AddCleanup: ptr is equal to arg, cleanup will never run")
        if not callable(cleanup):
            raise TypeError(f"AddCleanup: cleanup must be callable, not {type(cleanup).__name__}")
        try:                                # Go: cleanup is a func(S) (a compile-time check)
            sig = inspect.signature(cleanup)
        except (TypeError, ValueError):
            sig = None                      # a builtin without a signature: trust it
        if sig is not None:
            try:
                sig.bind(arg)
            except TypeError:
                raise TypeError(f"cannot use cleanup (func{sig}) as func(S) value in argument "
                                f"to runtime.AddCleanup: it must take one argument") from None
        if self.godebug.get("sbrk"):
            return Cleanup()
        info = self.heap.find_object(ptr.addr)
        if info is None:
            if ptr.addr == _heap.ZERO_BASE or not self.heap.in_arena(ptr.addr):
                return Cleanup()
            raise Panic("runtime.AddCleanup: ptr not in allocated block")
        base, slot, elemsize, spanclass = info
        tiny = spanclass == 5 and elemsize == 16
        if isinstance(arg, (Pointer, SliceValue)) and not tiny and slot <= arg.addr < slot + elemsize:
            raise Panic("runtime.AddCleanup: ptr is within arg, cleanup will never run")
        for cell in (getattr(cleanup, "__closure__", None) or ()):
            try:
                v = cell.cell_contents
            except ValueError:
                continue
            if isinstance(v, (Pointer, SliceValue)) and slot <= v.addr < slot + elemsize:
                raise Panic("runtime.AddCleanup: cleanup function closes over ptr, cleanup will never run")
        with self._world:
            # Go allocates the argument's box and the call adapter's closure (spec 6.1):
            # both or neither (out of memory after the box would leave it allocated).
            box_size, box_noscan = (8, False) if isinstance(arg, Pointer) else (
                (16, False) if isinstance(arg, str) else (16, True))
            if not self.heap.fits((box_size, 16), (box_noscan, False)):
                raise MemoryError(f"runtime: out of memory: cannot allocate {box_size}-byte "
                                  f"block ({self.heap.counters()['heap_inuse']} in use)")
            if isinstance(arg, Pointer):
                box = self.heap.alloc(8, False, np.array([1], np.uint8))
                self.heap.write_word(box, arg.addr)
            elif isinstance(arg, str):
                box = self.heap.alloc(16, False, np.array([1, 0], np.uint8))
                ptr_len = self._rodata_string(arg)
                self.heap.write_word(box, ptr_len[0])
                self.heap.write_word(box + 8, ptr_len[1])
            else:
                box = self.heap.alloc(16, True)
            closure = self.heap.alloc(16, False, np.array([0, 1], np.uint8))
            self.heap.write_word(closure + 8, box)
            cid = next(self._cleanup_ids)
            self._cleanups[cid] = _CleanupRec(cid, ptr.addr, slot, spanclass, cleanup, arg, closure, box)
            self._spawn_cleanup_goroutines()
        if self.heap.gc_pending:
            self._heap_triggered_gc()
        return Cleanup(self, cid)

    def _stop_cleanup(self, cid):
        with self._world:
            self._cleanups.pop(cid, None)

    def _spawn_cleanup_goroutines(self):
        """Cleanup goroutines are created lazily by AddCleanup (Go: cleanupQueue.needG)."""
        limit = max(self._gomaxprocs // 4, 1)
        if not self._cleanup_gs:
            self._cleanup_gs.append(self._go_system(self._cleanup_loop, "cleanup"))
        while self._cleanup_need > 0 and len(self._cleanup_gs) < limit:
            self._cleanup_gs.append(self._go_system(self._cleanup_loop, "cleanup"))
            self._cleanup_need -= 1

    def _cleanup_loop(self):
        """Go: runCleanups. Take a whole block off the queue, run its cleanups in order.

        A block being run stays a root until each of its cleanups has run (Go's
        cleanupQueue keeps the block until it is drained).
        """
        g = self.sched.current()
        while True:
            with self._world:
                block = self._cleanupq.pop(0) if self._cleanupq else None
                if block is None:
                    self._cleanup_idle.append(g)
                else:
                    self._cleanup_running.append(block)
            if block is None:
                self.sched.park("cleanup wait")
                continue
            try:
                while block:
                    c = block[0]
                    try:
                        c.fn(c.arg)
                    finally:
                        with self._world:
                            block.pop(0)
                            self.gc_record.cleanups_executed += 1
            finally:
                with self._world:
                    self._cleanup_running.remove(block)

    def _wake_queues(self):
        """After a GC: wake the finalizer goroutine and idle cleanup goroutines.

        A wake-up that reaches a goroutine before it parks is remembered by the scheduler,
        so none is lost in threads mode. More blocks than idle cleanup goroutines record a
        need that later AddCleanup calls meet (Go: cleanupQueue.needG).
        """
        if self._finq and self._fing is not None:
            self.sched.ready(self._fing)
        with self._world:
            n = len(self._cleanupq)
            wake = []
            while self._cleanup_idle and n:
                wake.append(self._cleanup_idle.pop(0))
                n -= 1
            self._cleanup_need = max(0, n)
        for g in wake:
            self.sched.ready(g)

    def _go_system(self, fn, name):
        return self.sched.go(fn, system=True, name=name)

    # -- weak pointers -------------------------------------------------------------------
    def _weak_make(self, p):
        """Go: weak.Make. Returns ``(cell address, immortal)``.

        A heap object gets a canonical handle cell per (object, offset): one 16-byte
        allocation the first time. A pointer outside the heap (zero-size objects at
        zerobase) gets an immortal handle, off-heap and canonical too, that never goes nil
        (Go: getOrAddWeakHandle's immortal handles; nothing is allocated).
        """
        self._own(p)
        with self._world:
            rec = self._weak.get(p.addr)
            if rec is not None:
                return rec.cell, False
            info = self.heap.find_object(p.addr)
            if info is None:
                cell = self._immortal_weak.get(p.addr)
                if cell is None:
                    cell = IMMORTAL_WEAK_BASE + 8 * len(self._immortal_weak)
                    self._immortal_weak[p.addr] = cell
                return cell, True
            cell = self.heap.alloc(16, True)
            self.heap.write_word(cell, p.addr)
            base, slot, elemsize, spanclass = info
            self._weak[p.addr] = _WeakRec(p.addr, slot, spanclass, cell)
        if self.heap.gc_pending:
            self._heap_triggered_gc()
        return cell, False

    # -- goroutines ------------------------------------------------------------------------
    def go(self, fn, *args):
        """Go's ``go fn(args)``; the goroutine sees this runtime as current."""
        if not callable(fn):
            raise TypeError(f"go: {fn!r} is not a function")
        return self.sched.go(fn, *args, name=getattr(fn, "__name__", None))

    def sleep(self, ns):
        """time.Sleep: the mutator idles, so a running mark phase completes first and the
        background scavenger gets the time."""
        self.finish_cycle()
        self.sched.sleep(ns)
        if self.gc_record.num_gc and not self._in_gc:
            with self._world:
                self._maybe_scavenge(self._mem_state())

    def _on_tick(self, now):
        """The clock advanced while everyone slept: Go's sysmon checks the periodic GC."""
        if self._in_gc:
            return
        if self.pacer.time_trigger_test(now, self.gc_record.last_gc_nanotime):
            if self.godebug.get("gctrace"):
                self._trace("GC forced")
            self.gc(kind="time")
        elif self.pacer.gc_percent >= 0 and self.gc_record.num_gc:
            self.sched.next_tick = self.gc_record.last_gc_nanotime + FORCEGC_PERIOD + 1

    def gomaxprocs(self, n):
        """Go: GOMAXPROCS(n); n < 1 only queries. Returns the previous setting."""
        if isinstance(n, bool) or not isinstance(n, int):
            raise TypeError(f"GOMAXPROCS takes an int, not {type(n).__name__}")
        old = self._gomaxprocs
        if n >= 1:
            if n > 256:
                raise ValueError("GOMAXPROCS is limited to 256 here")
            with self._world:
                self.heap.nprocs = n
                self._gomaxprocs = n
                self._peak_procs = max(self._peak_procs, n)
                self.sched.gomaxprocs = n
        return old

    # -- runtime/debug ----------------------------------------------------------------------
    def set_gc_percent(self, p):
        with self._world:
            self.pacer.heap_live = self.heap.heap_live
            old = self.pacer.set_gc_percent(p, sweep_done=self._cycle is None, mem=self._mem_state())
            self._update_trigger()
            if self.pacer.gc_percent < 0:
                self.sched.next_tick = None
            elif self.gc_record.num_gc:
                self.sched.next_tick = self.gc_record.last_gc_nanotime + FORCEGC_PERIOD + 1
        if self.heap.heap_live >= self.heap.trigger and self.pacer.gc_percent >= 0:
            self.heap.gc_pending = True
        return old

    def set_memory_limit(self, x):
        with self._world:
            self.pacer.heap_live = self.heap.heap_live
            old = self.pacer.set_memory_limit(x, sweep_done=True, mem=self._mem_state())
            self._update_trigger()
        return old

    def free_os_memory(self):
        """Go: debug.FreeOSMemory: a forced GC, then every free page released."""
        self.gc(kind="cycle")
        with self._world:
            self.heap.scavenge(2**64 - 1)

    def pause_ring(self):
        r = self.gc_record
        return (r.num_gc, r.pause_total_ns, list(r.pause_ns), list(r.pause_end), r.last_gc_unix)

    def _own(self, h):
        if _object.handle_heap(h) is not self.heap:
            raise ValueError(f"goruntime: handle {h!r} belongs to a different Runtime")

    def _handle_html(self, h):
        from ._display import handle_html
        return handle_html(h)


class Chan(_sched.Chan):
    """A Go channel, ``rt.Chan(cap=0)``; ``rt.Chan(T)`` with a type is the type ``chan T``.

    DESIGN names both the pointer-shaped channel *type* and the runtime channel ``Chan``;
    the first argument tells them apart.
    """

    def __new__(cls, *args, **kwargs):
        if args and isinstance(args[0], (_types.Type, str)):
            return _types.Chan(*args, **kwargs)
        return super().__new__(cls)

    def __init__(self, cap=0, *, sched=None):
        super().__init__(cap, sched=sched if sched is not None else current().sched)


class WaitGroup(_sched.WaitGroup):
    """Go's sync.WaitGroup on the current runtime's scheduler."""

    def __init__(self, *, sched=None):
        super().__init__(sched=sched if sched is not None else current().sched)


def _go_type_name(v):
    """The Go type a Python value stands for, in messages."""
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float64"
    if isinstance(v, str):
        return "string"
    if isinstance(v, (Pointer, SliceValue)):
        return str(v.type)
    return type(v).__name__


def _func_type(fn, obj_type):
    """The Go func type of Python callable *fn* (annotations give parameter types)."""
    try:
        sig = inspect.signature(fn, eval_str=True)      # PEP 563 string annotations too
    except (TypeError, ValueError, NameError, SyntaxError):
        try:
            sig = inspect.signature(fn)
        except (TypeError, ValueError):
            return _types.Func((obj_type,))
    params, variadic = [], False
    for prm in sig.parameters.values():
        if prm.kind in (prm.KEYWORD_ONLY, prm.VAR_KEYWORD):
            if prm.default is prm.empty and prm.kind == prm.KEYWORD_ONLY:
                params.append(_types.Any)
            continue
        if prm.default is not prm.empty:
            continue
        ann = prm.annotation
        t = ann if isinstance(ann, _types.Type) else (obj_type if not params else _types.Any)
        if prm.kind == prm.VAR_POSITIONAL:
            variadic = True                 # Func takes the element type of ...T
            params.append(t)
        else:
            params.append(t)
    results = ()
    if isinstance(sig.return_annotation, _types.Type):
        results = (sig.return_annotation,)
    elif isinstance(sig.return_annotation, tuple) and all(isinstance(r, _types.Type) for r in sig.return_annotation):
        results = sig.return_annotation
    return _types.Func(tuple(params), results, variadic)


# ---------------------------------------------------------------------------------------
# Go's exported API, acting on the current runtime

def new(T):
    """Go's ``new(T)`` on the current runtime."""
    return current().new(T)


def make(T, length, cap=None):
    """Go's ``make([]E, len, cap)`` on the current runtime."""
    return current().make(T, length, cap)


def GC():
    """Run a full garbage collection and return when it is done (Go: runtime.GC).

    Like Go's, this blocks the caller; when it returns every object that was unreachable
    is freed and counted, and finalizers and cleanups are *queued*: they run on their
    goroutines at the next scheduling point (``Gosched``, ``Sleep``, a channel operation).
    """
    current().gc(kind="cycle")


def ReadMemStats(m=None):
    """Go: runtime.ReadMemStats. Fills *m* (or a new MemStats) and returns it."""
    return current().read_mem_stats(m)


def SetFinalizer(obj, finalizer):
    """Go: runtime.SetFinalizer(obj, finalizer).

    One goroutine runs all finalizers, sequentially, newest queued first. An object with
    a finalizer survives one extra cycle with everything it references; the finalizer
    receives the object and may resurrect it (it then has no finalizer). Cycles of two or
    more objects containing a finalizer are never collected; a self-loop is.
    ``SetFinalizer(obj, None)`` clears. Misuse raises ``FatalError`` with Go's message.
    Python callables stand in for Go funcs: annotate the parameter with a goruntime type
    to get Go's compatibility check (un-annotated parameters accept the object).
    """
    current().set_finalizer(obj, finalizer)


def AddCleanup(ptr, cleanup, arg):
    """Go: runtime.AddCleanup(ptr, cleanup, arg) -> Cleanup. Misuse raises ``Panic``."""
    return current().add_cleanup(ptr, cleanup, arg)


def KeepAlive(x):
    """Go: runtime.KeepAlive. *x* stays reachable up to this call (Python already does)."""
    return None


def GOMAXPROCS(n=0):
    """Go: runtime.GOMAXPROCS(n): set (n >= 1) and return the previous value."""
    return current().gomaxprocs(n)


def NumGoroutine():
    """Go: runtime.NumGoroutine (user goroutines, main included)."""
    return current().sched.num_goroutine()


def Gosched():
    """Go: runtime.Gosched: let other goroutines (finalizers, cleanups) run."""
    current().sched.gosched()


def go(fn, *args):
    """Go's ``go fn(args...)`` on the current runtime."""
    return current().go(fn, *args)


def Sleep(ns):
    """Go: time.Sleep(ns). With the virtual clock time advances instantly."""
    if isinstance(ns, bool) or not isinstance(ns, int):
        raise TypeError(f"Sleep takes int nanoseconds, not {type(ns).__name__}")
    current().sleep(ns)
