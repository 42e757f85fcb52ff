"""MemStats: Go's runtime.MemStats, computed from the emulated heap's counters.

Every field keeps Go's name and meaning (https://pkg.go.dev/runtime#MemStats) and is
derived with Go's formulas (spec §2.3) from the consistent counters the allocator keeps
(spec §2.1). Durations and times are ``int`` nanoseconds, as Go stores them.

What is exact and what is modelled:

- exact (Go's formulas over the emulated heap): Alloc, TotalAlloc, Mallocs, Frees,
  HeapAlloc, HeapSys, HeapIdle, HeapInuse, HeapReleased, HeapObjects, BySize, NextGC,
  LastGC, PauseTotalNs, PauseNs, PauseEnd, NumGC, NumForcedGC, Lookups (always 0),
  EnableGC (always true), DebugGC (always false);
- modelled: StackInuse/StackSys (stack.py: Go's stack pool spans for the goroutines'
  stacks, over a measured baseline for Go's own goroutines),
  MSpanInuse (160 bytes per in-use span; Sys in Go's 16 KiB fixalloc chunks),
  MCacheInuse (2296 bytes per P; Sys in 16 KiB chunks), GCSys (Go's metadata mapped at
  start, GC_MISC_BASE, plus per-64-MiB-arena metadata and the mark/alloc bitmaps of
  in-use spans), OtherSys (Go's start-up OTHER_SYS_BASE plus finalizer, cleanup and
  weak-handle specials at Go's struct sizes), GCSys and OtherSys never shrink (Go never
  unmaps them), BuckHashSys (Go's profiling tables: the 1.4 MB bucket hash is mapped at
  start unless MemProfileRate is 0; the emulated program's allocations have no call
  stacks, so they add no buckets);
- GCCPUFraction is computed from the runtime's clock (the virtual clock's cost model, or
  measured time with ``clock="wall"``), recomputed only at mark termination, as in Go.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from operator import mul as _mul
from typing import NamedTuple

from . import _heap

__all__ = ["MemStats", "BySizeEntry", "NUM_BY_SIZE", "PauseRing", "CPUStats",
           "HeapCounters", "chronological_pauses", "sys_classes"]

NUM_BY_SIZE = 61                  # Go: len(MemStats.BySize), classes 0..60 (spec 2.5)
MSPAN_SIZE = 160                  # unsafe.Sizeof(mspan{}) in 1.27.3 (spec 1.1)
MCACHE_SIZE = 2296                # unsafe.Sizeof(mcache{})
FIXALLOC_CHUNK = 16 << 10         # Go: _FixAllocChunk
SPECIAL_FINALIZER_SIZE = 56       # unsafe.Sizeof(specialfinalizer{})
SPECIAL_CLEANUP_SIZE = 56
SPECIAL_WEAK_SIZE = 32
HEAP_ARENA_BYTES = 64 << 20
HEAP_ARENA_META = 64 << 10 | 4 << 10   # heapArena: spans [8192]*mspan + page bitmaps
# Memory outside the heap that a Go 1.27.3 program has mapped before main runs, measured
# (GOMAXPROCS=1, linux/amd64) with ReadMemStats at the start of a plain program:
# GCSys 1519376 -- of it, one heapArena's metadata and the span bitmaps of the runtime's
# ~100 in-use spans are what `fill` computes for any heap; the rest (page-allocator
# summaries and chunk bitmaps, the arena index, work buffers) is GC_MISC_BASE;
# OtherSys 370837 (runtime-internal persistentalloc/fixalloc memory, incl. its own specials).
GC_MISC_BASE = 1519376 - HEAP_ARENA_META - (64 << 10)
OTHER_SYS_BASE = 370837
# Profiling (BuckHashSys): 2371 bytes Go maps even with MemProfileRate=0; with memory
# profiling on (MemProfileRate > 0, default 512 KiB), the first sampled allocation, made
# during runtime init, maps the bucket hash table (buckHashSize=179999 pointers) and its
# bucket (160 bytes). Measured: 2371 with GODEBUG=memprofilerate=0, 1442523 by default.
PROFILING_BASE = 2371
BUCK_HASH_BYTES = 179999 * 8 + 160
DEFAULT_MEM_PROFILE_RATE = 512 << 10   # Go: runtime.MemProfileRate


@dataclass
class BySizeEntry:
    """One entry of MemStats.BySize: objects of one size class (spec 2.5)."""
    Size: int = 0
    Mallocs: int = 0
    Frees: int = 0


def _by_size():
    return [BySizeEntry(_heap.SIZE_CLASS_TO_SIZE[i]) for i in range(NUM_BY_SIZE)]


@dataclass
class MemStats:
    """Go's runtime.MemStats. Fill it with ``rt.ReadMemStats(m)`` (or ``m = rt.ReadMemStats()``).

    Attributes keep Go's names; see https://pkg.go.dev/runtime#MemStats. The most recent
    pause is ``PauseNs[(NumGC + 255) % 256]``.
    """
    # General statistics.
    Alloc: int = 0
    TotalAlloc: int = 0
    Sys: int = 0
    Lookups: int = 0
    Mallocs: int = 0
    Frees: int = 0
    # Heap memory statistics.
    HeapAlloc: int = 0
    HeapSys: int = 0
    HeapIdle: int = 0
    HeapInuse: int = 0
    HeapReleased: int = 0
    HeapObjects: int = 0
    # Stack memory statistics.
    StackInuse: int = 0
    StackSys: int = 0
    # Off-heap memory statistics.
    MSpanInuse: int = 0
    MSpanSys: int = 0
    MCacheInuse: int = 0
    MCacheSys: int = 0
    BuckHashSys: int = 0
    GCSys: int = 0
    OtherSys: int = 0
    # Garbage collector statistics.
    NextGC: int = 0
    LastGC: int = 0
    PauseTotalNs: int = 0
    PauseNs: list = field(default_factory=lambda: [0] * 256)
    PauseEnd: list = field(default_factory=lambda: [0] * 256)
    NumGC: int = 0
    NumForcedGC: int = 0
    GCCPUFraction: float = 0.0
    EnableGC: bool = True
    DebugGC: bool = False
    BySize: list = field(default_factory=_by_size)

    def __repr__(self):
        """Every scalar field; the three arrays by their length (``m.PauseNs`` etc. show them)."""
        arrays = (f"PauseNs=[{len(self.PauseNs)} ns values], PauseEnd=[{len(self.PauseEnd)} "
                  f"times], BySize=[{len(self.BySize)} size classes]")
        return "MemStats(%s, %s)" % (", ".join(f"{k}={v!r}" for k, v in self.fields().items()),
                                     arrays)

    def __str__(self):
        """Every field, grouped as Go's documentation groups them, with units: ``print(m)``."""
        from ._display import memstats_text
        return memstats_text(self)

    def _repr_html_(self):
        from ._display import memstats_html
        return memstats_html(self)

    def __getstate__(self):
        """Go's fields only: the runtime's clock kept for the displays is not data (its
        meters made a MemStats unpicklable and a deep copy copied the clock) (B79)."""
        return {k: v for k, v in self.__dict__.items() if k != "_clock"}

    def fields(self):
        """The scalar fields as a dict, in Go's order (PauseNs, PauseEnd and BySize left out)."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__
                if k not in ("PauseNs", "PauseEnd", "BySize")}


class HeapCounters(NamedTuple):
    """A typed snapshot of the heap's consistent counters (spec 2.1; Go: heapStatsDelta and
    the mheap's page counts), from ``Heap.counters()``; read under the world lock.

    The derived totals (`total_alloc`, `mallocs`, `frees`, `heap_alloc`) are Go's
    formulas (spec 2.3), written once, here: MemStats, runtime/metrics and the workloads'
    summaries read them from a snapshot.
    """

    small_alloc_count: tuple      # objects allocated, per size class (flushed mcaches only)
    small_free_count: tuple       # objects freed, per size class
    tiny_alloc_count: int         # tiny sub-allocations (counted as mallocs and frees)
    large_alloc: int              # bytes of large objects allocated
    large_alloc_count: int
    large_free: int
    large_free_count: int
    heap_inuse: int               # bytes in in-use spans
    heap_released: int            # bytes returned to the OS
    heap_sys: int                 # bytes mapped for the heap
    nspans_inuse: int
    heap_live: int                # Go: heapLive
    malloc_calls: int             # mallocgc calls (the cost model's count)
    malloc_bytes: int             # bytes requested (the cost model's and plots' x axis)
    unflushed_tiny: int           # tiny allocations still in the Ps' mcaches

    @classmethod
    def read(cls, heap, *, unflushed=False):
        """The heap's counters now. With *unflushed*, the slots used in cached spans and
        the mcaches' tiny counts are added in: what ReadMemStats would count after its
        flush, without flushing (the heap is left as it was)."""
        c = heap.counters()
        c["small_alloc_count"] = tuple(c["small_alloc_count"])
        c["small_free_count"] = tuple(c["small_free_count"])
        if unflushed:
            c["small_alloc_count"] = tuple(
                a + u for a, u in zip(c["small_alloc_count"], heap.unflushed_small()))
            c["tiny_alloc_count"] += c["unflushed_tiny"]
        return cls(**c)

    @property
    def total_alloc(self):
        """TotalAlloc: bytes of heap objects allocated."""
        return self.large_alloc + sum(map(_mul, self.small_alloc_count, _heap.SIZE_CLASS_TO_SIZE))

    @property
    def freed(self):
        """Bytes of heap objects freed (TotalAlloc - HeapAlloc)."""
        return self.large_free + sum(map(_mul, self.small_free_count, _heap.SIZE_CLASS_TO_SIZE))

    @property
    def heap_alloc(self):
        """HeapAlloc (= Alloc): bytes of live and not yet swept heap objects."""
        return self.total_alloc - self.freed

    @property
    def mallocs(self):
        """Mallocs: objects allocated (tiny sub-allocations included)."""
        return self.large_alloc_count + sum(self.small_alloc_count) + self.tiny_alloc_count

    @property
    def frees(self):
        """Frees: objects freed (tiny sub-allocations count as freed at once, as in Go)."""
        return self.large_free_count + sum(self.small_free_count) + self.tiny_alloc_count


class PauseRing:
    """Go's ``memstats.pause_ns``/``pause_end``: the last 256 GC pauses and their end times
    (Unix ns), a ring indexed by NumGC (cycle n writes entry ``(n - 1) % 256``).

    The one place that knows the ring's arithmetic: `record` at each mark termination,
    `latest` (``PauseNs[(NumGC+255)%256]``), `chronological` (oldest first).
    """

    SIZE = 256

    __slots__ = ("ns", "end", "count")

    def __init__(self):
        self.ns = [0] * self.SIZE       # Go's layout: MemStats.PauseNs is a copy
        self.end = [0] * self.SIZE      # MemStats.PauseEnd
        self.count = 0                  # pauses recorded: NumGC

    def record(self, pause_ns, end_unix_ns):
        """The pause of cycle ``count + 1``, ending at *end_unix_ns*."""
        i = self.count % self.SIZE
        self.ns[i] = pause_ns
        self.end[i] = end_unix_ns
        self.count += 1

    def latest(self):
        """``(pause ns, end)`` of the most recent cycle; ``(0, 0)`` before the first."""
        if not self.count:
            return 0, 0
        i = (self.count - 1) % self.SIZE
        return self.ns[i], self.end[i]

    def chronological(self):
        """The recorded pauses (ns), at most 256, oldest first."""
        return chronological_pauses(self.ns, self.count)


def chronological_pauses(ring, num_gc):
    """The last ``min(num_gc, len(ring))`` entries of a PauseNs-style ring (a MemStats'
    ``PauseNs`` with its ``NumGC``), oldest first."""
    size = len(ring)
    n = min(int(num_gc), size)
    return [ring[(num_gc - n + i) % size] for i in range(n)]


@dataclass
class CPUStats:
    """Go's cpuStats (mstats.go): cumulative CPU-time estimates in nanoseconds.

    Accumulated at each STW pause and mark termination (`accumulate_gc_pause_time`,
    `accumulate`); source of ``/cpu/classes/...`` and of ``GCCPUFraction``.
    """

    GCAssistTime: int = 0        # GC assists
    GCDedicatedTime: int = 0     # dedicated + fractional mark workers
    GCIdleTime: int = 0          # idle mark workers
    GCPauseTime: int = 0         # STW pauses x GOMAXPROCS
    GCTotalTime: int = 0         # all of the above
    ScavengeAssistTime: int = 0  # allocation-time scavenging
    ScavengeBgTime: int = 0      # background scavenger
    ScavengeTotalTime: int = 0
    IdleTime: int = 0            # Ps in _Pidle
    UserTime: int = 0            # everything else
    TotalTime: int = 0           # GOMAXPROCS x wall time since start

    def accumulate_gc_pause_time(self, dt: int, max_procs: int) -> None:
        """Add a pause of *dt* ns on all *max_procs* Ps (Go: accumulateGCPauseTime)."""
        cpu = dt * max_procs
        self.GCPauseTime += cpu
        self.GCTotalTime += cpu

    def accumulate(self, total_time: int, gc_mark_phase: bool, *, mark_assist: int = 0,
                   mark_dedicated: int = 0, mark_fractional: int = 0, mark_idle: int = 0,
                   scavenge_assist: int = 0, scavenge_bg: int = 0, idle_time: int = 0) -> None:
        """Fold in the counters since the last call (Go: cpuStats.accumulate).

        *total_time* is Go's ``sched.totaltime + (now-procresizetime)*gomaxprocs``; the mark
        times count only when *gc_mark_phase* (at mark termination); *scavenge_** and
        *idle_time* are the amounts accumulated since the last call (Go resets them after).
        """
        if not gc_mark_phase:
            mark_assist = mark_dedicated = mark_fractional = mark_idle = 0
        self.GCAssistTime += mark_assist
        self.GCDedicatedTime += mark_dedicated + mark_fractional
        self.GCIdleTime += mark_idle
        self.GCTotalTime += mark_assist + mark_dedicated + mark_fractional + mark_idle
        self.ScavengeAssistTime += scavenge_assist
        self.ScavengeBgTime += scavenge_bg
        self.ScavengeTotalTime += scavenge_assist + scavenge_bg
        self.TotalTime = total_time
        self.IdleTime += idle_time
        self.UserTime = self.TotalTime - (self.GCTotalTime + self.ScavengeTotalTime + self.IdleTime)

    def gc_cpu_fraction(self) -> float:
        """``MemStats.GCCPUFraction`` as computed at mark termination."""
        if self.TotalTime == 0:
            return 0.0
        return float(self.GCTotalTime - self.GCIdleTime) / float(self.TotalTime)



def _round_up(n, to):
    return -(-n // to) * to


def sys_classes(counters, *, nprocs, peak_spans, peak_procs, stack_inuse, nspecials,
                high_water=None, mem_profile_rate=DEFAULT_MEM_PROFILE_RATE):
    """The runtime's own memory classes and their total, as `fill` sets them: (StackInuse,
    StackSys, MSpanInuse, MSpanSys, MCacheInuse, MCacheSys, BuckHashSys, GCSys, OtherSys,
    Sys). *high_water* is updated as by `fill`. What the pacer's `MemoryState` needs of
    MemStats without building one (the runtime reads it several times per cycle)."""
    stack_sys = stack_inuse                    # stack.py: stack spans (Go: inStacks)
    # + OS stacks: none without cgo
    mspan_inuse = counters.nspans_inuse * MSPAN_SIZE
    mspan_sys = _round_up(max(peak_spans, 1) * MSPAN_SIZE, FIXALLOC_CHUNK)
    mcache_inuse = nprocs * MCACHE_SIZE
    mcache_sys = _round_up(peak_procs * MCACHE_SIZE, FIXALLOC_CHUNK)
    buck = PROFILING_BASE + (BUCK_HASH_BYTES if mem_profile_rate > 0 else 0)
    heap_sys = counters.heap_sys
    arenas = max(1, -(-heap_sys // HEAP_ARENA_BYTES))
    gc_sys = (GC_MISC_BASE + arenas * HEAP_ARENA_META
              + _round_up(counters.nspans_inuse * 2 * 128, 64 << 10))
    nfin, ncl, nweak = nspecials
    other = OTHER_SYS_BASE + _round_up(nfin * SPECIAL_FINALIZER_SIZE + ncl * SPECIAL_CLEANUP_SIZE
                                       + nweak * SPECIAL_WEAK_SIZE, FIXALLOC_CHUNK)
    if high_water is not None:
        gc_sys = high_water["GCSys"] = max(high_water.get("GCSys", 0), gc_sys)
        other = high_water["OtherSys"] = max(high_water.get("OtherSys", 0), other)
        buck = high_water["BuckHashSys"] = max(high_water.get("BuckHashSys", 0), buck)
    total = heap_sys + stack_sys + mspan_sys + mcache_sys + buck + gc_sys + other
    return (stack_inuse, stack_sys, mspan_inuse, mspan_sys, mcache_inuse, mcache_sys, buck,
            gc_sys, other, total)


def fill(m, *, counters, nprocs, peak_spans,
         peak_procs, stack_inuse, nspecials, gc, next_gc, clock=None,
         high_water=None, mem_profile_rate=DEFAULT_MEM_PROFILE_RATE):
    """Fill MemStats *m* from heap *counters* (a `HeapCounters`; spec 2.3). *gc* is the
    runtime's GC record (`mgc.GCRecord`); *clock* the runtime's clock, kept (not a Go
    field) so displays say how times were made; *stack_inuse* from stack.py.

    *high_water* (a dict the runtime keeps) makes GCSys, OtherSys and BuckHashSys monotone,
    as Go's are: the runtime's metadata and profiling tables are mapped with
    sysAlloc/persistentalloc and never unmapped (MemProfileRate = 0 set after start leaves
    the bucket hash mapped).
    """
    m._clock = clock
    sizes = _heap.SIZE_CLASS_TO_SIZE
    sac = counters.small_alloc_count
    sfc = counters.small_free_count
    total_alloc = counters.total_alloc
    m.Alloc = m.HeapAlloc = total_alloc - counters.freed
    m.TotalAlloc = total_alloc
    m.Mallocs = counters.mallocs
    m.Frees = counters.frees
    m.HeapObjects = m.Mallocs - m.Frees
    m.Lookups = 0
    m.HeapSys = counters.heap_sys
    m.HeapInuse = counters.heap_inuse
    m.HeapReleased = counters.heap_released
    m.HeapIdle = m.HeapSys - m.HeapInuse
    (m.StackInuse, m.StackSys, m.MSpanInuse, m.MSpanSys, m.MCacheInuse, m.MCacheSys,
     m.BuckHashSys, m.GCSys, m.OtherSys, m.Sys) = sys_classes(
        counters, nprocs=nprocs, peak_spans=peak_spans, peak_procs=peak_procs,
        stack_inuse=stack_inuse, nspecials=nspecials, high_water=high_water,
        mem_profile_rate=mem_profile_rate)
    m.NextGC = next_gc
    m.LastGC = gc.last_gc_unix
    m.PauseTotalNs = gc.pause_total_ns
    m.PauseNs = list(gc.pauses.ns)
    m.PauseEnd = list(gc.pauses.end)
    m.NumGC = gc.num_gc
    m.NumForcedGC = gc.num_forced_gc
    m.GCCPUFraction = gc.gc_cpu_fraction
    m.EnableGC = True
    m.DebugGC = False
    if len(m.BySize) != NUM_BY_SIZE:
        m.BySize = _by_size()
    for i in range(NUM_BY_SIZE):
        e = m.BySize[i]
        e.Size = sizes[i]
        e.Mallocs = sac[i] if i else 0
        e.Frees = sfc[i] if i else 0
    return m
