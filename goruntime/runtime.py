"""Go's package runtime, as far as memory is concerned: the Runtime and Go's exported API.

Public names deliberately mirror Go (``GC``, ``ReadMemStats``, ``SetFinalizer``,
``AddCleanup``, ``KeepAlive``, ``Gosched``) so that https://pkg.go.dev/runtime reads
across; everything else is snake_case. All state lives in a ``Runtime``; the module-level
functions act on the current one (a contextvar, set by ``with Runtime(...)``), so
runtimes never share a heap. The default runtime reads ``GOGC``, ``GOMEMLIMIT`` and
``GODEBUG`` from the environment, as Go does.

A Runtime is a shell around its components, each in the module named after Go's file:

- ``heap`` (`_heap.Heap`, malloc.go/mheap.go): the arena, spans, size classes, counters;
- ``collector`` (`mgc.Collector`, mgc.go): the GC cycle, its phases and the cost model;
- ``specials`` (`mspecial.Specials`, mheap.go's specials): finalizer, cleanup and weak
  handle records, and their sweep;
- ``finalizers`` (`mfinal.Finalizers`, mfinal.go): SetFinalizer, finq and fing;
- ``cleanups`` (`mcleanup.Cleanups`, mcleanup.go): AddCleanup, the cleanup queue and
  goroutines;
- ``pacer`` (`pacer.Pacer`, mgcpacer.go), ``sched`` (`sched.Scheduler`, proc.go),
  ``clock``, and ``gc_record`` (`mgc.GCRecord`: what MemStats' GC fields are read from).

This module keeps the allocation facade (``new``, ``make``, ``string``), the statistics
(ReadMemStats, runtime/metrics inputs), the debug setters and the goroutine entry points.
"""
import contextvars
import os
import sys
import threading
import weakref
from collections import namedtuple

import numpy as np

from . import _heap, _mark, _mgcstep, _object, mstats, pacer as _pacer, metrics as _metrics, gctrace as _gctrace
from . import sched as _sched, clock as _clock, types as _types
from . import chan as _chan, mgc as _mgc, stack as _stack, proc as _proc
from . import gostring as _gostring
from .errors import FatalError, Panic
from . import godebug as _godebug
from . import _signals
from .mcleanup import Cleanup, Cleanups
from .syncpool import Pools
from .mfinal import Finalizers
from .mgclimit import GCCPULimiter
from .clock import COSTS
from .mgc import FORCEGC_PERIOD, GLOBALS_SCAN, GCRecord as _GCRecord
from .mgc import STACK_SCAN  # noqa: F401  (re-exported)
from .mspecial import IMMORTAL_WEAK_BASE, Specials  # noqa: F401  (re-exported)
from .rodata import RODATA_BASE, TYPES_BASE, Rodata  # noqa: F401  (re-exported)
from .typecheck import call_arity_error


__all__ = [
    "Runtime", "current", "GC", "ReadMemStats", "MemStats", "SetFinalizer", "KeepAlive",
    "AddCleanup", "Cleanup", "GOMAXPROCS", "NumGoroutine", "Gosched", "go", "Sleep",
    "new", "make", "Pointer", "SliceValue", "GOGC_OFF", "Chan", "WaitGroup",
]

Pointer = _object.Pointer
SliceValue = _object.SliceValue
MemStats = mstats.MemStats
GOGC_OFF = -1

MAX_ALLOC = 1 << 48           # Go: maxAlloc on linux/amd64

# A weak reference: contexts are copied into goroutines (sched.go), whose suspended frames
# the cycle collector cannot see; a strong one there would keep the runtime alive.
# what `mstats.sys_classes` reads of the heap's counters (`Runtime._mem_state`)
_SpanCounts = namedtuple("_SpanCounts", ("nspans_inuse", "heap_sys"))

_current = contextvars.ContextVar("goruntime_current_runtime", default=None)
_default = None
_default_lock = threading.Lock()


def current():
    """The current Runtime: the innermost ``with Runtime(...)``, else the default one."""
    ref = _current.get()
    if ref is not None:
        rt = ref()
        if rt is None:
            raise FatalError("goruntime: the current Runtime is closed and gone")
        return rt
    global _default
    with _signals.held(), _default_lock:
        if _default is None:
            _default = Runtime.from_env()
        return _default


def _clock_meter(rt):
    """A meter for *rt*'s clock that does not keep *rt* alive (a clock may be shared)."""
    ref = weakref.ref(rt)

    def meter():
        r = ref()
        return _mgcstep.meter(r) if r is not None else 0
    return meter


def _scheduler_of_current():
    return current().sched


_sched.set_current_scheduler_getter(_scheduler_of_current)
_metrics.set_input_provider(lambda: current()._metric_inputs())


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
    globals_bytes : int, optional
        Scannable data+BSS of the Go binary being emulated (``/gc/scan/globals:bytes``, an
        input of the heap goal). Default: Go 1.27.3's minimal binary, 158314 bytes.
    experiments : set of str, optional
        **Not Go**: switches for what-if studies (`mgc.EXPERIMENTS`).
        ``{"no_write_barrier"}`` runs the concurrent mark without Go's write barrier, so
        a pointer store during a mark can let the collector free a reachable object
        (``gccheckmark=1`` catches it with Go's message).
    """

    def __init__(self, gogc=100, memory_limit=None, gomaxprocs=1, godebug="",
                 scheduler="cooperative", clock="virtual", *, arena_cap=None, stderr=None,
                 globals_bytes=GLOBALS_SCAN, experiments=()):
        _sched.reap()                   # goroutines of runtimes dropped since: a safe point
        # every knob is validated before anything is built: no wrap-around (issue 13)
        if isinstance(globals_bytes, bool) or not isinstance(globals_bytes, int):
            raise TypeError(f"globals_bytes must be an int, not {type(globals_bytes).__name__}")
        if globals_bytes < 0:
            raise ValueError(f"globals_bytes must be >= 0, not {globals_bytes}")
        self.globals_scan = globals_bytes
        gogc = _pacer.gogc_arg(gogc)
        memory_limit = _pacer.memory_limit_arg(memory_limit, malformed=FatalError)
        if isinstance(gomaxprocs, bool) or not isinstance(gomaxprocs, int):
            raise TypeError(f"gomaxprocs must be an int, not {type(gomaxprocs).__name__}")
        if gomaxprocs < 1 or gomaxprocs > 256:
            raise ValueError(f"gomaxprocs must be in 1..256, not {gomaxprocs}")
        self.godebug = _godebug.parse_godebug(godebug)
        self.experiments = _mgc.experiments_arg(experiments)
        self.heap = _heap.Heap(arena_cap, nprocs=gomaxprocs)
        self.heap.threaded = scheduler == "threads"
        # The world lock (a reentrant lock; Go: stopping the world). Held by a GC cycle,
        # ReadMemStats, allocation and pointer stores, and by anything that reads or changes
        # the specials and the finalizer/cleanup queues; the GIL is never relied on.
        self.world = self.heap.lock
        self.clock = _clock.make_clock(clock)
        self.sched = _sched.Scheduler(scheduler, self.clock, gomaxprocs)
        self._closed = False
        # the scheduler holds the runtime weakly: its goroutines' frames reference it
        self.sched.on_tick = _weakly(self._on_tick)
        self.sched.on_crash = _weakly(self._on_crash)
        self.sched.on_idle = _weakly(self._on_idle)
        # consMark from the cost model's allocation and scan rates: the emulator does not
        # model assists, which is what lets Go's own measurement see the mutator's rate.
        self.pacer = _pacer.Pacer(gogc, memory_limit, cons_mark_model="virtual-cost")
        self.pacer.bind_heap_live(self.heap)      # heapLive is the heap's counter
        self.pacer.add_globals(self.globals_scan) # Go: addGlobals at module load
        self.stderr = stderr
        self.gc_record = _GCRecord()
        self._gomaxprocs = gomaxprocs
        self._peak_procs = gomaxprocs
        self._peak_spans = 0
        self._start_ns = self.clock.nanotime()
        self._charged_ns = 0        # mutator ns brought into the clock so far (`_meter`)
        self._metered = None        # the counts `_meter` last priced
        # (CPython 3.11 shares instance-dict keys up to 30 attributes; a Runtime with more
        # makes rt.new's method lookup ~20 % slower: keep the count at or under 30.)
        # the program's work moves the virtual clock: every reading brings it in (clock.py)
        if hasattr(self.clock, "add_meter") and not getattr(self.clock, "recorded_mutator", False):
            self._meter_fn = _clock_meter(self)
            self.clock.add_meter(self._meter_fn)
        else:
            self._meter_fn = None
        self.rodata = Rodata()                # string literals and type descriptors
        self.map_states = {"seeds": 0, "maps": {}}  # maps.py's mirror of this runtime's maps
        # components (one per Go file; each keeps a back-reference to this shell)
        self.specials = Specials(self)        # mheap.go's specials: finalizer, cleanup, weak
        self.finalizers = Finalizers(self)    # mfinal.go: finq, fing
        self.cleanups = Cleanups(self)        # mcleanup.go: cleanup queue and goroutines
        self.pools = Pools(self)              # sync/pool.go: allPools, oldPools
        self.collector = _mgc.Collector(self) # mgc.go: the cycle
        self.stacks = _stack.Stacks(           # stack.go: goroutine stacks
            adaptive=self.godebug.get("adaptivestackstart", 1) != 0)
        self.proc = _proc.Proc(self)           # proc.go: g, allgs, sudogs, timers on the heap
        self.sched.proc = weakref.proxy(self.proc)   # weak: parked goroutines hold sched
        self.sched.on_exit = _weakly(self._goexit)
        self._sys_high_water = {}              # GCSys/OtherSys never shrink (mstats.fill)
        # Go: runtime.MemProfileRate (GODEBUG=memprofilerate=N sets it at start); only 0
        # versus non-zero changes the statistics (BuckHashSys), see mstats.py.
        self.mem_profile_rate = int(self.godebug.get("memprofilerate", mstats.DEFAULT_MEM_PROFILE_RATE))
        self._forcegc = None
        self._scav_time = self.clock.nanotime()
        self.limiter = GCCPULimiter(self.clock.nanotime(), gomaxprocs)   # mgclimit.go
        self._nonheap_sys = 0        # Sys - HeapSys at the last pacer update
        if self.godebug.get("gctrace"):
            self.add_gc_observer(self.gctracer())
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
        if self._closed:
            self.heap.check_alive()             # FatalError: this Runtime is closed
        if self._token is not None:
            raise RuntimeError("goruntime: this Runtime is already entered")
        self._token = _current.set(weakref.ref(self))
        return self

    def __exit__(self, *exc):
        """Leaving ``with Runtime(...) as r:`` makes the outer runtime current again and
        closes *r* (`close`): its goroutines end, its memory is given back, and its handles
        raise `FatalError` from then on."""
        _current.reset(self._token)
        self._token = None
        self.close()
        return False

    def __del__(self):
        # The last reference went, or the cycle collector found the runtime unreachable:
        # give its memory back and end its goroutines, as close() does, without waiting
        # for anything (this may run in any thread, inside any code, even the cycle
        # collector: its greenlets are ended at the next safe point, sched.reap). Issue 13.
        if self.__dict__.get("_closed", True):
            return                       # closed, or __init__ failed before the scheduler
        try:
            self._shutdown(wait=False)
        except Exception:               # noqa: BLE001 - nothing to report to; best effort
            pass

    def __reduce_ex__(self, protocol):
        # copy.copy made a second Runtime object sharing this one's heap and scheduler:
        # the copy's __del__ then closed them under the original (B58)
        raise TypeError("goruntime: a Runtime cannot be copied or pickled: it owns its heap, "
                        "its goroutines and their threads; share the object itself")

    def __copy__(self):
        self.__reduce_ex__(None)

    def __deepcopy__(self, memo):
        self.__reduce_ex__(None)

    def __repr__(self):
        dead = f" DEAD ({self.dead})" if self.heap.dead is not None else ""
        return (f"<goruntime.Runtime GOGC={self.pacer.gc_percent} GOMAXPROCS={self._gomaxprocs} "
                f"NumGC={self.gc_record.num_gc} HeapInuse={self._counters().heap_inuse}{dead}>")

    def _repr_html_(self):
        from ._display import runtime_html
        return runtime_html(self)

    # -- allocation --------------------------------------------------------------------
    # Go's ``new(T)``: a zeroed T on the heap, returned as a ``*T`` handle. Compiled
    # (goruntime/_object.pyx ``runtime_new``): one call per object, per-type facts cached.
    new = _object.runtime_new

    def make(self, T, length=None, cap=None, *, hint=None):
        """Go's ``make([]E, len, cap)``: a slice with a zeroed backing array on the heap;
        ``make(map[K]V, hint)``: a map handle (see `maps`); ``make(chan T, n)``: a channel
        whose hchan and buffer are on the heap (see `chan.makechan`)."""
        if isinstance(T, _types.Type) and T.underlying.kind == "map":
            from . import maps
            if cap is not None or (hint is not None and length is not None):
                raise TypeError("make: map takes one size argument (hint)")
            return maps.makemap(self, T, hint if hint is not None else (length or 0))
        if isinstance(T, _types.Type) and T.underlying.kind == "chan":
            if cap is not None or hint is not None:
                raise TypeError("make: chan takes one size argument")
            return _chan.makechan(self, T, length or 0)
        if length is None:
            raise TypeError(f"make: missing len argument for {T!r}")
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
        mask, unit = (None, 1) if noscan or size == 0 else _alloc_info(E)[2:]
        # one C call allocates and roots: a GC from a signal handler cannot come between
        s = _object.new_slice_object(self, self.heap, size, noscan, mask, max(cap, 1) * unit,
                                     length, cap, E)
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
        with self.world, _signals.held():
            p = _object.new_object(self, self.heap, len(b), True, None, None)   # allocated and rooted
            self.heap.view(p.addr, len(b))[:] = np.frombuffer(b, dtype=np.uint8)
            s = _object.StringHeader(p.addr, len(b), p)
        if self.heap.gc_pending:
            self._heap_triggered_gc()
        return s

    def read_string(self, ptr, n):
        """The Go string ``(ptr, n)`` loaded from memory: its text (bytes on the heap or in
        rodata) as a `gostring.LoadedString`, which is also the string variable (its header,
        rooting heap bytes), not a constant; ``""`` when empty."""
        if n == 0:
            return ""
        if self.heap.in_arena(ptr):
            text = bytes(self.heap.view(ptr, n)).decode(errors="replace")
            return _gostring.LoadedString._make(
                self, text, _object.StringHeader(ptr, n, _object.make_pointer(self, self.heap, ptr, None)))
        lit = self.rodata.find(ptr)
        if lit is not None:
            a, b = lit
            return _gostring.LoadedString._make(self, b[ptr - a: ptr - a + n].decode(errors="replace"), (ptr, n))
        raise ValueError(f"goruntime: string data at {ptr:#x} is not in this runtime")

    # -- statistics ----------------------------------------------------------------------
    def _counters(self):
        """A typed snapshot of the heap's counters (`mstats.HeapCounters`)."""
        return mstats.HeapCounters.read(self.heap)

    def _mem_state(self, counters=None, record_peak=True):
        """The pacer's view of memory now (Go: the inputs of heapGoal and the scavenger)."""
        if counters is None:            # the five numbers summed in C (several times a cycle)
            heap_alloc, heap_inuse, heap_sys, released, nspans = self.heap.mem_counters()
        else:
            c = counters
            heap_alloc, heap_inuse, heap_sys, released, nspans = (
                c.heap_alloc, c.heap_inuse, c.heap_sys, c.heap_released, c.nspans_inuse)
        peak_spans = max(self._peak_spans, nspans)
        if record_peak:
            self._peak_spans = peak_spans
        # MemStats' Sys, HeapIdle, HeapReleased, HeapAlloc, HeapInuse, as `_stats` fills
        # them, without building a MemStats (this runs several times per cycle)
        sys_total = mstats.sys_classes(
            _SpanCounts(nspans, heap_sys), nprocs=self._gomaxprocs, peak_spans=peak_spans,
            peak_procs=self._peak_procs, stack_inuse=self.stacks.inuse(),
            nspecials=self.specials.counts(), high_water=self._sys_high_water,
            mem_profile_rate=self.mem_profile_rate)[-1]
        self._sync_alloc_scavenge(sys_total - heap_sys)
        return _pacer.MemoryState(mapped_ready=sys_total - released,
                                  heap_free=heap_sys - heap_inuse - released,
                                  heap_alloc=heap_alloc, heap_inuse=heap_inuse)

    def _sync_alloc_scavenge(self, nonheap=None):
        """Arm the heap's allocation-time scavenge (Go: mheap.allocSpan releases free pages
        at once when mappedReady + the span's released bytes pass the memory limit, unless
        the GC CPU limiter is limiting). The heap compares its own mapped-ready bytes with
        the limit less the non-heap memory (*nonheap*: Sys - HeapSys, as of the last pacer
        update). Simplified: Go also scavenges on heap growth past its gcPercent goal."""
        if nonheap is not None:
            self._nonheap_sys = nonheap
        limit = self.pacer.memory_limit
        if limit == _pacer.MAX_INT64 or self.limiter.limiting():
            self.heap.alloc_scav_limit = _pacer.MAX_UINT64
        else:
            self.heap.alloc_scav_limit = max(0, limit - self._nonheap_sys)

    def _stats(self, counters, m=None, next_gc=0, record_peak=True):
        """MemStats from *counters*. The span count's high-water mark (MSpanSys: span
        structures are never returned) is recorded unless *record_peak* is false."""
        peak_spans = max(self._peak_spans, counters.nspans_inuse)
        if record_peak:
            self._peak_spans = peak_spans
        return mstats.fill(
            m if m is not None else MemStats(), counters=counters, nprocs=self._gomaxprocs,
            peak_spans=peak_spans, peak_procs=self._peak_procs,
            stack_inuse=self.stacks.inuse(),
            nspecials=self.specials.counts(),
            gc=self.gc_record, next_gc=next_gc, clock=self.clock,
            high_water=self._sys_high_water, mem_profile_rate=self.mem_profile_rate)

    def _system_goroutines(self):
        """Go's runtime goroutines (they count in /sched/goroutines, not in NumGoroutine):
        forcegchelper (proc.go init), bgsweep and bgscavenge (gcenable), the finalizer
        goroutine and one cleanup goroutine (every Go program that imports os has them:
        os.File registers a cleanup and package init sets finalizers), more cleanup
        goroutines when goruntime started them, and one GC mark worker per P from the
        first cycle on (gcBgMarkStartWorkers). 6 at start, 7 after a GC at GOMAXPROCS=1,
        as measured in Go 1.27.3."""
        return 4 + max(1, len(self.cleanups.goroutines)) + self.collector.mark_workers

    def _thread_count(self):
        """Go's Ms at idle (measured, Go 1.27.3, linux/amd64): m0, sysmon and the template
        thread make 3 at GOMAXPROCS=1; with more Ps, idle Ps spin up 2 more (5 at 2 and at
        4). Go starts threads as work appears, so busier programs may show more."""
        return 3 if self._gomaxprocs == 1 else 5

    def heap_goal(self):
        """Go: heapGoal() -- NextGC, evaluated now. Changes nothing (no flush, no record)."""
        with self.world, _signals.held():
            return self.pacer.heap_goal(self._mem_state(record_peak=False))

    def read_mem_stats(self, m=None):
        """Go: ReadMemStats. Stops the world, flushes every mcache, fills *m*."""
        self._check_alive()
        if m is not None and not isinstance(m, MemStats):
            raise TypeError(f"ReadMemStats: expected a MemStats, not {type(m).__name__}")
        with self.world, _signals.held():
            self._charge_mutator()
            self.gc_record.stw_other.record(0)     # Go: a non-GC STW ("ReadMemStats")
            self.heap.flush_mcaches(True)
            c = self._counters()
            goal = self.heap_goal()
            return self._stats(c, m if m is not None else MemStats(), next_gc=goal)

    # -- time ------------------------------------------------------------------------------
    def _charge_mutator(self):
        """Bring the program's work done so far into the clock (``clock.sync()``)."""
        if self._meter_fn is not None:
            self.clock.sync()
        elif not getattr(self.clock, "recorded_mutator", False):
            ns = self._meter()      # a clock object of the caller's without meters
            if ns:
                self.clock.charge(ns)

    def mutator_work_ns(self):
        """The program's modelled CPU time so far, by the cost table (`clock.COSTS`):
        allocations by path and size, field reads and writes (the heap's C counters),
        goroutine switches, go statements and channel operations (the scheduler's), and
        finalizer and cleanup runs. Counts only grow, so this never goes backwards."""
        c = self.heap.mutator_counts()
        k = COSTS
        s = self.sched
        rec = self.gc_record
        return int(c[0] * k["alloc_tiny"] + c[1] * k["alloc_tiny_byte"]
                   + c[2] * k["alloc_small_noscan"] + c[3] * k["alloc_small_noscan_byte"]
                   + c[4] * k["alloc_small_scan"] + c[5] * k["alloc_small_scan_byte"]
                   + c[6] * k["alloc_large_noscan"] + c[7] * k["alloc_large_noscan_byte"]
                   + c[8] * k["alloc_large_scan"] + c[9] * k["alloc_large_scan_byte"]
                   + c[10] * k["load"] + c[11] * k["store_scalar"] + c[12] * k["store_ptr"]
                   + s.nswitch * k["goroutine_switch"] + s.ngo * k["go_statement"]
                   + s.nchanops * k["chan_op"]
                   + (rec.finalizers_executed + rec.cleanups_executed) * k["finalizer_run"])

    def _meter(self):
        """The virtual clock's meter: mutator ns of the work done since the last call.
        Counts unchanged since the last call (a GC step reads the clock several times
        while the program does nothing) price to nothing new: 0 without the arithmetic
        (`_mgcstep.meter`, compiled: the mark step reads the clock five times)."""
        return _mgcstep.meter(self)

    # -- the GC cycle (mgc.Collector) ----------------------------------------------------
    def gc(self, kind="cycle", *, wait=False):
        """Run the collector. *kind*: "cycle" (runtime.GC, forced), "heap", "time".
        *wait*: the caller is a goroutine that parks while the mark runs (runtime.GC).

        See `mgc.Collector.gc`.
        """
        self.collector.gc(kind, wait)

    def finish_cycle(self):
        """End a cycle that is in its mark phase (the background workers finished)."""
        self.collector.finish_cycle()

    def _heap_triggered_gc(self):
        """An allocation check point fired (Go: gcTrigger{kind: gcTriggerHeap}.test())."""
        self.collector.heap_triggered()

    def _update_trigger(self):
        self.collector.update_trigger()

    @property
    def limiter_last_enabled(self):
        """Go: /gc/limiter/last-enabled:gc-cycle (the GC CPU limiter, `mgclimit`)."""
        return self.limiter.last_enabled_cycle

    @property
    def gc_running(self):
        """True while a cycle is in its mark phase (Go: gcphase == _GCmark)."""
        return self.collector.running

    def gc_roots(self):
        """The collector's extra roots now: ``(roots, scan_only)`` as uint64 arrays.

        ``roots``: queued finalizers' objects, cleanup closures (queued and attached), weak
        handle cells. ``scan_only``: objects with finalizers, whose referents are marked but
        not the objects themselves (Go: markrootSpans). The handle table and each P's tiny
        block are roots too (``heap.roots()``, ``heap.tiny_blocks()``).
        """
        return self.collector.special_roots()

    def _metric_inputs(self):
        """A runtime/metrics snapshot. Like Go, nothing is flushed: counts lag."""
        with self.world, _signals.held():
            c = self._counters()
            m = self._stats(c, next_gc=self.heap_goal())
            p = self.pacer
            rec = self.gc_record
            return _metrics.MetricInputs(
                tiny_alloc_count=c.tiny_alloc_count, large_alloc=c.large_alloc,
                large_alloc_count=c.large_alloc_count,
                small_alloc_count=list(c.small_alloc_count), large_free=c.large_free,
                large_free_count=c.large_free_count,
                small_free_count=list(c.small_free_count),
                committed=m.HeapInuse + (m.HeapIdle - m.HeapReleased) + m.StackInuse,
                released=m.HeapReleased, in_heap=m.HeapInuse, in_stacks=m.StackInuse,
                in_work_bufs=0, stacks_sys=0, mspan_sys=m.MSpanSys, mspan_inuse=m.MSpanInuse,
                mcache_sys=m.MCacheSys, mcache_inuse=m.MCacheInuse, buckhash_sys=m.BuckHashSys,
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
                threads=self._thread_count(), time_to_run=self.sched.time_to_run,
                starting_stack_size=self.stacks.starting_size,
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

    def add_gc_observer(self, fn):
        """Call ``fn(event)`` at each phase boundary of every later GC cycle; returns *fn*.

        *event* is an `mgc.CycleEvent` (cycle number, phase, heap live, goal, trigger,
        marked bytes, scan work, pause, virtual and wall time); the phases, in order, are
        ``"sweep termination"``, ``"mark start"``, ``"mark termination"`` and
        ``"sweep done"`` (Go's phase boundaries, mgc.go). Events are delivered when the call
        that ran the cycle leaves it, in order; an observer may allocate, read MemStats or
        run a GC. An exception raised by an observer is reported through
        ``sys.unraisablehook`` and does not affect the cycle or the other observers.
        """
        return self.collector.add_observer(fn)

    def remove_gc_observer(self, fn):
        """Stop calling *fn* at GC phase boundaries; ``ValueError`` if it is not registered."""
        self.collector.remove_observer(fn)

    def gctracer(self, write=None):
        """A gctrace `gctrace.Tracer` for this runtime (what ``godebug="gctrace=1"`` adds
        as a GC observer); lines go to *write* (default: this runtime's ``stderr``)."""
        return _gctrace.Tracer(write or self._trace, self._start_ns,
                               lambda: self.pacer.last_stack_scan, lambda: self.globals_scan)

    # -- finalizers and cleanups (mfinal, mcleanup) -----------------------------------------
    def set_finalizer(self, obj, finalizer):
        """Go: runtime.SetFinalizer (see `mfinal.Finalizers.set_finalizer`)."""
        self.finalizers.set_finalizer(obj, finalizer)

    def add_cleanup(self, ptr, cleanup, arg):
        """Go: runtime.AddCleanup (see `mcleanup.Cleanups.add_cleanup`); returns a Cleanup."""
        return self.cleanups.add_cleanup(ptr, cleanup, arg)

    def _go_system(self, fn, name, *args):
        with _signals.held():       # the goroutine and its g at once (see `go`)
            g = self.sched.go(fn, *args, system=True, name=name)
            # Go: go runCleanups() allocates a g; the finalizer goroutine is one of Go's
            # start-up goroutines (package os sets finalizers on Stdin/Stdout/Stderr at init)
            self.proc.newproc(g, trigger=False, startup=name == "finalizer")
        return g

    def _goexit(self, g):
        self.stacks.exit(g)                  # Go: gfput keeps the stack ...
        self.proc.goexit(g)                  # ... and the G; gdestroy drops its timer

    # -- goroutines ------------------------------------------------------------------------
    def go(self, fn, *args, stack=None):
        """Go's ``go fn(args)``; the goroutine sees this runtime as current.

        *stack*: the bytes the goroutine has on its stack while it blocks (its frames down
        to gopark; what Go's stack scan counts). Default: a one-frame function blocked in a
        channel operation (stack.DEFAULT_FRAME_BYTES). It sets the goroutine's stack size
        (stack.py) and so StackInuse, /gc/scan/stack:bytes and the heap goal.

        Heap objects (proc.py): a ``g`` unless a dead goroutine's is free, and, when there
        are *args*, Go's wrapper closure capturing them (garbage once the goroutine runs).
        """
        self.heap.check_thread()
        if not callable(fn):
            raise TypeError(f"go: {fn!r} is not a function")
        err = call_arity_error(fn, args)     # Go's compiler rejects it: nothing is queued
        if err is not None:
            raise TypeError(err)
        if stack is not None and (isinstance(stack, bool) or not isinstance(stack, int) or stack < 0):
            raise ValueError(f"go: stack must be a byte count >= 0, not {stack!r}")
        self.stacks.check_use(stack)         # past Go's limit: before anything is queued
        proc, sched, proc_ref = self.proc, self.sched, weakref.ref(self.proc)

        def gowrap(*a):                      # Go: the go statement's wrapper closure
            # weak: a goroutine parked for good must not keep its runtime alive (issue 13)
            p = proc_ref()
            if p is not None:
                p.started(sched.current().id)
            del p
            return fn(*a)

        with _signals.held():    # a goroutine is listed, given its stack and its g at once
            g = self.sched.go(gowrap, *args, name=getattr(fn, "__name__", None))
            self.stacks.newproc(g, stack)
            proc.newproc(g, args)
        return g

    def sleep(self, ns):
        """time.Sleep: the mutator idles, so a running mark phase completes first and the
        background scavenger gets the time."""
        if not -(1 << 63) <= ns < (1 << 63):
            raise OverflowError(f"cannot use {ns} (untyped int constant) as time.Duration value "
                                "in argument to Sleep (overflows)")
        self.finish_cycle()
        g = self.sched.current() if ns > 0 else None
        queued = g is not None and self.proc.sleep_start(g.id)   # Go: gp.timer, ts.heap
        try:
            self.sched.sleep(ns)
        finally:
            if queued:
                self.proc.sleep_end(g.id)
        self._check_alive()
        if self.gc_record.num_gc and not self.collector.in_gc:
            with self.world, _signals.held():
                self._maybe_scavenge(self._mem_state())

    def _on_idle(self):
        """Every goroutine is blocked: a running mark is finished by the idle mark
        workers (Go: gcMarkWorkerIdleMode), and the cycle terminates."""
        if self.collector.cycle is None or self.collector.in_gc or self._closed:
            return False
        self.finish_cycle()
        return True

    def _on_tick(self, now):
        """The clock advanced while everyone slept: Go's sysmon checks the periodic GC."""
        if self.collector.in_gc:
            return
        if self.pacer.time_trigger_test(now, self.gc_record.last_gc_nanotime):
            self.gc(kind="time")          # the gctrace Tracer prints "GC forced" first
        elif self.pacer.gc_percent >= 0 and self.gc_record.num_gc:
            self.sched.next_tick = self.gc_record.last_gc_nanotime + FORCEGC_PERIOD + 1

    def gomaxprocs(self, n):
        """Go: GOMAXPROCS(n); n < 1 only queries. Returns the previous setting."""
        self._check_alive()
        if isinstance(n, bool) or not isinstance(n, int):
            raise TypeError(f"GOMAXPROCS takes an int, not {type(n).__name__}")
        old = self._gomaxprocs
        if n >= 1:
            if n > 256:
                raise ValueError("GOMAXPROCS is limited to 256 here")
            with self.world, _signals.held():
                self.heap.nprocs = n
                self._gomaxprocs = n
                self._peak_procs = max(self._peak_procs, n)
                self.sched.gomaxprocs = n
                if not self.collector.running:   # Go: procresize, with the world stopped
                    self.limiter.reset_capacity(self.clock.nanotime(), n)
        return old

    # -- runtime/debug ----------------------------------------------------------------------
    def set_gc_percent(self, p):
        """Go: setGCPercent: commit with the sweep's state (isSweepDone), revise a running
        mark's pacing (gcControllerCommit), and when GC is turned off wait for a running
        mark to finish (gcWaitOnMark), so it returns with no GC running."""
        self._check_alive()
        with self.world, _signals.held():
            old = self.pacer.set_gc_percent(p, sweep_done=self._sweep_done(), mem=self._mem_state())
            self._revise_running()
            self._update_trigger()
            if self.pacer.gc_percent < 0:
                self.sched.next_tick = None
            elif self.gc_record.num_gc:
                self.sched.next_tick = self.gc_record.last_gc_nanotime + FORCEGC_PERIOD + 1
        if self.heap.heap_live >= self.heap.trigger and self.pacer.gc_percent >= 0:
            self.heap.gc_pending = True
        if p < 0:
            self.finish_cycle()
        return old

    def set_memory_limit(self, x):
        """Go: setMemoryLimit: a change commits as setGCPercent's does (gcControllerCommit)."""
        self._check_alive()
        with self.world, _signals.held():
            old = self.pacer.set_memory_limit(x, sweep_done=self._sweep_done(), mem=self._mem_state())
            self._sync_alloc_scavenge()
            if x >= 0 and old != x:
                self._revise_running()
            self._update_trigger()
        return old

    def _sweep_done(self):
        """Go: isSweepDone(): no span of the last background cycle is left unswept (true
        during a mark: sweep termination finished the sweep)."""
        return _mark.sweep_pending(self.heap) == 0

    def _revise_running(self):
        """gcControllerCommit's ``if gcphase != _GCoff { gcController.revise() }``."""
        cyc = self.collector.cycle
        if cyc is not None:
            self.collector.revise(cyc)

    def free_os_memory(self):
        """Go: debug.FreeOSMemory: a forced GC, then every free page released."""
        self.gc(kind="cycle")
        with self.world, _signals.held():
            self.heap.scavenge(self.pacer.free_os_memory_bytes(self._mem_state()))

    def close(self):
        """End this runtime and give its memory back: its goroutines (the finalizer and
        cleanup goroutines, the scheduler's hub; threads are joined) end, the arena is
        returned to the OS, and every later call on it or its handles raises
        `FatalError` ("this Runtime is closed"). Idempotent; the end of a ``with`` block
        calls it. Without it, the runtime is closed when it becomes unreachable
        (``__del__``): nothing it owns holds it strongly (its components and scheduler
        refer to it weakly, its goroutines' frames only through weak references), since
        a suspended greenlet's frame is invisible to Python's cycle collector. Queued
        finalizers and cleanups do not run (Go: the program exits)."""
        if self._closed:
            return
        if self.heap.dead is None:
            self.heap.check_thread()
        if self.sched.current() is not None and self.sched.current() is not self.sched.main:
            raise RuntimeError("goruntime: Runtime.close() from inside one of its goroutines")
        self._shutdown(wait=True)
        _sched.reap()

    def _shutdown(self, wait):
        """close()'s work; *wait*: join the goroutine threads (not from ``__del__``).
        One step for signal handlers (`_signals.held`): once ``_closed`` is set close()
        does nothing more, so a Ctrl-C part way left a runtime half closed, its world lock
        held when it came right after the lock was taken (B77)."""
        with _signals.held():
            self._closed = True
            if self._meter_fn is not None:
                self.clock.remove_meter(self._meter_fn)
            if self.heap.dead is None:
                self.heap.dead = ("goruntime: this Runtime is closed", None)
            self.sched.on_tick = None
            self.sched.on_crash = None
            self.sched.close(timeout=10.0 if wait else None, defer=not wait)
            if self.world.acquire(blocking=wait):
                try:
                    self.heap.release_memory()
                finally:
                    self.world.release()
            self.finalizers.clear()
            self.cleanups.queue.clear()
            self.cleanups.held.clear()
            self.pools.clear()

    def _check_alive(self):
        """Raise if this runtime died: first a crash still waiting for main's next
        scheduling point (the original exception), then `FatalError` on every call."""
        if self.heap.dead is not None:
            self.sched.raise_pending()
            self.heap.check_alive()

    def _on_crash(self, g, exc):
        """A goroutine's function raised. A system goroutine's (a finalizer's or a
        cleanup's) kills the runtime (`_die`); a user goroutine's is raised in main only."""
        if g.system:
            self._die(exc, g.name or "system goroutine", g.id)

    def _die(self, exc, what, gid):
        """A finalizer or cleanup raised *exc* on goroutine *gid*. In Go the program dies
        (``panic:`` and the goroutine's trace); here the runtime does: every later call
        on it raises `FatalError` naming *exc* and the goroutine (its ``__cause__``)."""
        if self.heap.dead is None:
            text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            msg = (f"goruntime: this Runtime is dead: a {what} raised {text} "
                   f"(goroutine {gid} [{what}]); Go's program would have exited with panic:")
            self.heap.dead = (msg, exc)

    @property
    def dead(self):
        """None, or the message every call on this runtime raises (see `_die`)."""
        return None if self.heap.dead is None else self.heap.dead[0]

    def pause_ring(self):
        """``(NumGC, PauseTotalNs, PauseNs ring, PauseEnd ring, LastGC)`` for debug.ReadGCStats."""
        r = self.gc_record
        return (r.num_gc, r.pause_total_ns, list(r.pauses.ns), list(r.pauses.end),
                r.last_gc_unix)

    def _check_world(self, where):
        """In ``GORUNTIME_CHECKS`` builds (``make debug``), raise unless this thread holds the
        world lock: the rule of every entry point documented "the caller holds the world
        lock" (HACKING.md, Locks). Free in release builds."""
        if _heap.CHECKS and not self.world._is_owned():
            raise RuntimeError(f"goruntime: {where} called without the world lock")

    def _own(self, h):
        if _object.handle_heap(h) is not self.heap:
            raise ValueError(f"goruntime: handle {h!r} belongs to a different Runtime")



def _weakly(method):
    """*method*, a bound method of a Runtime, called through a weak reference (a call
    after the runtime is gone does nothing)."""
    ref = weakref.WeakMethod(method)

    def call(*args):
        m = ref()
        return None if m is None else m(*args)
    return call


class Chan(_chan.Chan):
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


class WaitGroup(_chan.WaitGroup):
    """Go's sync.WaitGroup on the current runtime's scheduler."""

    def __init__(self, *, sched=None):
        super().__init__(sched=sched if sched is not None else current().sched)

_alloc_cache = {}
_ALLOC_CACHE_MAX = 4096       # types; a notebook that redeclares types in a loop stays bounded


def _alloc_info(T):
    """``(size, noscan, uint8 GC mask or None, repetitions)`` of type *T* (the mask of an
    array is its element's, repeated: `Type.gc_mask_unit`), cached by identity (a Type's
    hash is its whole structure: too slow for every ``new``). Each entry keeps its type
    alive, so an id is never reused while cached; the cache is emptied when it is full."""
    e = _alloc_cache.get(id(T))
    if e is None or e[0] is not T:
        if not isinstance(T, _types.Type):
            raise TypeError(f"new: {T!r} is not a goruntime type")
        noscan = not T.has_pointers
        mask, count = None, 1
        if not noscan:
            unit, count = T.gc_mask_unit()
            mask = np.ascontiguousarray(unit, dtype=np.uint8).tobytes()
        e = (T, T.size, noscan, mask, count)
        if len(_alloc_cache) >= _ALLOC_CACHE_MAX:
            _alloc_cache.clear()
        _alloc_cache[id(T)] = e
    return e[1:]


# ---------------------------------------------------------------------------------------
# Go's exported API, acting on the current runtime

def new(T):
    """Go's ``new(T)`` on the current runtime."""
    return current().new(T)


def make(T, length=None, cap=None, *, hint=None):
    """Go's ``make([]E, len, cap)`` and ``make(map[K]V, hint)`` on the current runtime."""
    return current().make(T, length, cap, hint=hint)


def GC():
    """Run a full garbage collection and return when it is done (Go: runtime.GC).

    Like Go's, this blocks the caller; when it returns every object that was unreachable
    is freed and counted, and finalizers and cleanups are *queued*: they run on their
    goroutines at the next scheduling point (``Gosched``, ``Sleep``, a channel operation).
    """
    current().gc(kind="cycle", wait=True)


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
    r = current()
    r._check_alive()
    return r.sched.num_goroutine()


def Gosched():
    """Go: runtime.Gosched: let other goroutines (finalizers, cleanups) run."""
    r = current()
    if r.collector.cycle is not None:
        r.collector.scheduling_point()     # Go: schedule() may run the fractional mark worker
    r.sched.gosched()
    r._check_alive()


def go(fn, *args, stack=None):
    """Go's ``go fn(args...)`` on the current runtime (*stack*: see Runtime.go)."""
    return current().go(fn, *args, stack=stack)


def Sleep(ns):
    """Go: time.Sleep(ns). With the virtual clock time advances instantly."""
    if isinstance(ns, bool) or not isinstance(ns, int):
        raise TypeError(f"Sleep takes int nanoseconds, not {type(ns).__name__}")
    current().sleep(ns)
