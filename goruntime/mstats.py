"""MemStats: Go's runtime.MemStats, computed from the emulated heap's counters.

Every field keeps Go's name and meaning (https://pkg.go.dev/runtime#MemStats) and is
derived with Go's formulas (spec §2.3) from the consistent counters the allocator keeps
(spec §2.1). Durations and times are ``int`` nanoseconds, as Go stores them.

What is exact and what is modelled:

- exact (Go's formulas over the emulated heap): Alloc, TotalAlloc, Mallocs, Frees,
  HeapAlloc, HeapSys, HeapIdle, HeapInuse, HeapReleased, HeapObjects, BySize, NextGC,
  LastGC, PauseTotalNs, PauseNs, PauseEnd, NumGC, NumForcedGC, Lookups (always 0),
  EnableGC (always true), DebugGC (always false);
- modelled: StackInuse/StackSys (8 KiB per goroutine, in 32 KiB stack spans),
  MSpanInuse (160 bytes per in-use span; Sys in Go's 16 KiB fixalloc chunks),
  MCacheInuse (2296 bytes per P; Sys in 16 KiB chunks), GCSys (Go's per-64-MiB-arena
  metadata plus the mark/alloc bitmaps of in-use spans), OtherSys (finalizer, cleanup and
  weak-handle specials at Go's struct sizes), BuckHashSys (0: no memory profiling);
- GCCPUFraction is computed from the runtime's clock (the virtual clock's cost model, or
  measured time with ``clock="wall"``), recomputed only at mark termination, as in Go.
"""
from dataclasses import dataclass, field

from . import _heap

__all__ = ["MemStats", "BySizeEntry", "NUM_BY_SIZE"]

NUM_BY_SIZE = 61                  # Go: len(MemStats.BySize), classes 0..60 (spec 2.5)
MSPAN_SIZE = 160                  # unsafe.Sizeof(mspan{}) in 1.27.3 (spec 1.1)
MCACHE_SIZE = 2296                # unsafe.Sizeof(mcache{})
FIXALLOC_CHUNK = 16 << 10         # Go: _FixAllocChunk
SPECIAL_FINALIZER_SIZE = 56       # unsafe.Sizeof(specialfinalizer{})
SPECIAL_CLEANUP_SIZE = 56
SPECIAL_WEAK_SIZE = 32
HEAP_ARENA_BYTES = 64 << 20
HEAP_ARENA_META = 64 << 10 | 4 << 10   # heapArena: spans [8192]*mspan + page bitmaps
STACK_PER_GOROUTINE = 8 << 10
STACK_SPAN = 32 << 10


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

    def fields(self):
        """The scalar fields as a dict, in Go's order (PauseNs, PauseEnd and BySize left out)."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__
                if k not in ("PauseNs", "PauseEnd", "BySize")}


def _round_up(n, to):
    return -(-n // to) * to


def fill(m, *, counters, nprocs, peak_spans,
         peak_procs, ngoroutines, nspecials, gc, next_gc, clock=None):
    """Fill MemStats *m* from heap *counters* (spec 2.3). *gc* is the runtime's GC record;
    *clock* the runtime's clock, kept (not a Go field) so displays say how times were made.
    """
    m._clock = clock
    sizes = _heap.SIZE_CLASS_TO_SIZE
    sac = counters["small_alloc_count"]
    sfc = counters["small_free_count"]
    tiny = counters["tiny_alloc_count"]
    A = counters["large_alloc"] + sum(n * s for n, s in zip(sac, sizes))
    F = counters["large_free"] + sum(n * s for n, s in zip(sfc, sizes))
    NA = counters["large_alloc_count"] + sum(sac) + tiny
    NF = counters["large_free_count"] + sum(sfc) + tiny
    m.Alloc = m.HeapAlloc = A - F
    m.TotalAlloc = A
    m.Mallocs = NA
    m.Frees = NF
    m.HeapObjects = NA - NF
    m.Lookups = 0
    m.HeapSys = counters["heap_sys"]
    m.HeapInuse = counters["heap_inuse"]
    m.HeapReleased = counters["heap_released"]
    m.HeapIdle = m.HeapSys - m.HeapInuse
    m.StackInuse = _round_up(ngoroutines * STACK_PER_GOROUTINE, STACK_SPAN)
    m.StackSys = m.StackInuse
    m.MSpanInuse = counters["nspans_inuse"] * MSPAN_SIZE
    m.MSpanSys = _round_up(max(peak_spans, 1) * MSPAN_SIZE, FIXALLOC_CHUNK)
    m.MCacheInuse = nprocs * MCACHE_SIZE
    m.MCacheSys = _round_up(peak_procs * MCACHE_SIZE, FIXALLOC_CHUNK)
    m.BuckHashSys = 0
    arenas = -(-m.HeapSys // HEAP_ARENA_BYTES)
    m.GCSys = arenas * HEAP_ARENA_META + _round_up(counters["nspans_inuse"] * 2 * 128, 64 << 10)
    nfin, ncl, nweak = nspecials
    m.OtherSys = _round_up(nfin * SPECIAL_FINALIZER_SIZE + ncl * SPECIAL_CLEANUP_SIZE
                           + nweak * SPECIAL_WEAK_SIZE, FIXALLOC_CHUNK)
    m.Sys = (m.HeapSys + m.StackSys + m.MSpanSys + m.MCacheSys + m.BuckHashSys + m.GCSys
             + m.OtherSys)
    m.NextGC = next_gc
    m.LastGC = gc.last_gc_unix
    m.PauseTotalNs = gc.pause_total_ns
    m.PauseNs = list(gc.pause_ns)
    m.PauseEnd = list(gc.pause_end)
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
