"""Package runtime/debug: the GC knobs and GC statistics, acting on the current runtime.

The exported names are Go's on purpose (``SetGCPercent``, ``SetMemoryLimit``,
``FreeOSMemory``, ``ReadGCStats``, ``GCStats``) so that https://pkg.go.dev/runtime/debug
reads across. Mirrors src/runtime/debug/garbage.go and the runtime side
``readGCStats_m`` (src/runtime/mstats.go); spec §2.6, §4.3, §4.4, §4.8.

The wrappers call the current `goruntime.runtime.Runtime` (``runtime.current()``), which
provides ``set_gc_percent(p) -> old``, ``set_memory_limit(x) -> old``, ``free_os_memory()``
and ``pause_ring() -> (num_gc, pause_total_ns, pause_ns_ring, pause_end_ring, last_gc)``.
`read_gc_stats` is the pure part of ``ReadGCStats`` and is what the tests exercise.

Times are ints: Go's ``time.Duration`` is int64 nanoseconds already; Go's ``time.Time``
values (``LastGC``, ``PauseEnd``) are given as int nanoseconds since the Unix epoch
(Go: ``t.UnixNano()``), so ``LastGC == 0`` is Go's ``time.Unix(0, 0)``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .mstats import MemStats as _MemStats

__all__ = ["GCStats", "read_gc_stats", "ReadGCStats", "SetGCPercent", "SetMemoryLimit",
           "FreeOSMemory"]

MAX_PAUSE = 256            # len(MemStats.PauseNs)


@dataclass
class GCStats:
    """Go's debug.GCStats: recent garbage collections, most recent first.

    ``LastGC`` and ``PauseEnd`` entries are Unix-epoch nanoseconds (Go: time.Time);
    ``PauseTotal`` and ``Pause``/``PauseQuantiles`` entries are nanoseconds (Go:
    time.Duration). Set ``PauseQuantiles`` to a list of q+1 zeros before reading to get
    the minimum, q-1 inner quantiles and the maximum.
    """

    LastGC: int = 0
    NumGC: int = 0
    PauseTotal: int = 0
    Pause: list = field(default_factory=list)
    PauseEnd: list = field(default_factory=list)
    PauseQuantiles: list = field(default_factory=list)

    def _repr_html_(self):
        from ._display import gcstats_html
        return gcstats_html(self)

    __getstate__ = _MemStats.__getstate__       # Go's fields only, not the clock


def read_gc_stats(stats: GCStats, *, num_gc: int, pause_total_ns: int, pause_ns_ring,
                  pause_end_ring, last_gc: int) -> GCStats:
    """Fill *stats* from the runtime's pause rings as Go's ReadGCStats does; returns it.

    ``n = min(NumGC, 256)``; ``Pause[i]``/``PauseEnd[i]`` are ring entries
    ``(NumGC-1-i) % 256``, most recent first. If ``len(PauseQuantiles) == q+1 > 0``: all
    zeros when n == 0, else ``s[n*i//q]`` of the ascending sorted pauses for i < q and the
    maximum last. ``Pause``/``PauseEnd``/``PauseQuantiles`` lists are updated in place.
    """
    ring = len(pause_ns_ring)
    if ring != MAX_PAUSE or len(pause_end_ring) != MAX_PAUSE:
        raise ValueError(f"pause rings must have {MAX_PAUSE} entries")
    numgc = num_gc & 0xFFFFFFFF            # Go: memstats.numgc is a uint32
    n = min(numgc, MAX_PAUSE)
    pauses = [0] * n
    ends = [0] * n
    for i in range(n):
        j = (numgc - 1 - i) % MAX_PAUSE
        pauses[i] = pause_ns_ring[j]
        ends[i] = pause_end_ring[j]
    stats.LastGC = _int64(last_gc)
    stats.NumGC = numgc
    stats.PauseTotal = _int64(pause_total_ns)
    stats.Pause[:] = [_int64(p) for p in pauses]
    stats.PauseEnd[:] = [_int64(e) for e in ends]
    q = stats.PauseQuantiles
    if q:                                   # None: a nil slice, no quantiles
        if n == 0:
            q[:] = [0] * len(q)
        else:
            s = sorted(stats.Pause)
            nq = len(q) - 1
            for i in range(nq):
                q[i] = s[n * i // nq]
            q[nq] = s[n - 1]
    return stats


def _int64(x: int) -> int:
    x &= (1 << 64) - 1
    return x - (1 << 64) if x >= 1 << 63 else x


def _current():
    from . import runtime   # lazily: debug is importable (and testable) without the extensions
    return runtime.current()


def _check_gcstats(stats):
    if stats is None:
        from .errors import Panic
        raise Panic("runtime error: invalid memory address or nil pointer dereference")
    if not isinstance(stats, GCStats):
        raise TypeError(f"cannot use {stats!r} (Python {type(stats).__name__}) as "
                        "*debug.GCStats value in argument to debug.ReadGCStats")
    for name in ("Pause", "PauseEnd", "PauseQuantiles"):
        v = getattr(stats, name)
        if v is not None and not isinstance(v, list):
            raise TypeError(f"cannot use {v!r} (Python {type(v).__name__}) as a slice "
                            f"value in debug.GCStats.{name} (a list or None)")


def ReadGCStats(stats: GCStats) -> None:
    """Read the current runtime's GC statistics into *stats* (Go: debug.ReadGCStats).

    ``None`` panics as Go's nil ``*GCStats`` does; anything else that is no `GCStats`, or
    whose ``Pause``, ``PauseEnd`` or ``PauseQuantiles`` is neither a list nor None (Go's
    nil slice), is a TypeError (Go: a compile error), raised before *stats* changes."""
    _check_gcstats(stats)
    rt = _current()
    num_gc, pause_total_ns, pause_ns_ring, pause_end_ring, last_gc = rt.pause_ring()
    if stats.Pause is None:                 # nil slices: Go appends to them
        stats.Pause = []
    if stats.PauseEnd is None:
        stats.PauseEnd = []
    stats._clock = rt.clock                # not a Go field: how the displays read the times
    read_gc_stats(stats, num_gc=num_gc, pause_total_ns=pause_total_ns,
                  pause_ns_ring=pause_ns_ring, pause_end_ring=pause_end_ring, last_gc=last_gc)


def SetGCPercent(percent: int) -> int:
    """Set GOGC, return the previous setting; negative disables GC (Go: debug.SetGCPercent).

    The argument is a Go ``int`` (an int64: anything larger is an OverflowError), truncated
    to int32 as in Go; the result is -1 when GC was off.
    """
    from .pacer import _go_int
    percent = _go_int(percent, "SetGCPercent: percent", "an int")
    if not -(1 << 63) <= percent < 1 << 63:
        raise OverflowError(f"SetGCPercent: percent={percent} does not fit a Go int (int64)")
    p = percent & 0xFFFFFFFF
    p = p - (1 << 32) if p >= 1 << 31 else p
    return int(_current().set_gc_percent(p))


def SetMemoryLimit(limit: int) -> int:
    """Set the soft memory limit in bytes, return the previous one; negative only queries
    (Go: debug.SetMemoryLimit).

    Takes what ``Runtime(memory_limit=...)`` takes -- an int64 (a negative one queries),
    None (no limit: MaxInt64) or a GOMEMLIMIT string (``"off"``, ``"512MiB"``) -- and never
    wraps around: an int outside int64 is an OverflowError.
    """
    from .pacer import memory_limit_arg
    return int(_current().set_memory_limit(memory_limit_arg(limit, "limit", query_ok=True)))


def FreeOSMemory() -> None:
    """Force a GC, then return as much free memory to the OS as possible
    (Go: debug.FreeOSMemory: NumGC+1, NumForcedGC+1, then HeapReleased == HeapIdle)."""
    _current().free_os_memory()
