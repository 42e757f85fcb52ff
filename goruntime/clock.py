"""Clocks: where goruntime's time comes from, and the cost table that moves virtual time.

Go reads two clocks: ``nanotime()`` (monotonic, used for GC pacing, pauses and timers) and
``walltime()`` (Unix time, for ``MemStats.LastGC`` and ``PauseEnd``). goruntime gives every
Runtime one clock object with both readings, in one of two kinds:

- `VirtualClock` (the default): time is a number that moves only when goruntime moves it, so
  a run is reproducible bit for bit (``nanotime()``; ``unix_nano()`` is offset by the wall
  time at which the runtime was made). It moves in three ways:

  * the scheduler *advances* it when every goroutine is blocked and some are sleeping: it
    jumps to the earliest wake-up time, the way Go's playground ``faketime`` and
    ``testing/synctest`` bubbles do (Go: checkdead's faketime branch, proc.go);
  * the program's own work is *metered*: a meter (`VirtualClock.add_meter`, one per
    Runtime) turns the counts of what the emulated program did since the last reading
    (allocations by size class, pointer stores, field reads, goroutine switches, channel
    operations; counted in the heap's C counters and the scheduler, never by a Python
    call per operation) into mutator nanoseconds with the `COSTS` table, and every
    reading of the clock first brings that work in (`sync`);
  * the runtime *charges* it for modelled CPU work: `charge_gc` for the collector
    (a pause, a mark, a sweep) and `charge_mutator` for mutator work charged directly.

- `WallClock`: real time. ``nanotime()`` is ``time.monotonic_ns()`` since the clock was
  made, ``unix_nano()`` is ``time.time_ns()``. `advance`/`charge*` do nothing (real time
  cannot be pushed), and `sleep_until` really sleeps.

Both kinds have the same interface (the `Clock` protocol), so the scheduler and the runtime
never ask which one they have, except through the ``virtual`` attribute when they must
(the scheduler only jumps time forward on a virtual clock).

Charging GC work (for the collector's code)
-------------------------------------------
With one clock per runtime and Go's GOMAXPROCS CPUs folded onto it, GC work is charged
as the nanoseconds it costs by `COSTS` (``mark_object``, ``mark_byte``, ``stw_*``, ...)::

    ns = (nobjects * COSTS["mark_object"] + nbytes * COSTS["mark_byte"]
          + nspans * COSTS["mark_span"] + nlinks * COSTS["mark_link"]
          + nlarge_bytes * COSTS["mark_large_byte"])
    clock.charge_gc(ns)                # moves nanotime() by ns, counted in gc_ns()

The mark's cost follows Go 1.27's Green Tea collector, which scans small objects span by
span: ``nspans`` counts the spans of 16..512-byte objects with pointers in which the mark
greyed an object (a dense span shares its visit cost among many objects, a sparse one
among few), ``nlinks`` the objects scanned with exactly one pointer (a list's successor
waits for a span visit of its own), ``nlarge_bytes`` the scan work in objects over 512
bytes (scanned pointer by pointer, not span-wise). Simplified: Go's number of span visits
also depends on the order of its FIFO span queue, which these counts do not see, and
memory latency is not modelled (docs/emulation.md).

A concurrent mark that must know how far the mutator got reads `mutator_ns()` (the
cumulative mutator time, metered work included) and gives the background worker its
share: Go's worker runs ``gcBackgroundUtilization`` (25 %) of the CPU, so while the
mutator runs ``dm`` ns the worker gets ``dm * 0.25 / 0.75`` ns of mark work at
GOMAXPROCS=1. Assist time is mark work charged when an allocation would outrun the
goal. Neither call takes a lock the caller must hold; both are no-ops on a `WallClock`
(where the work really took its time, and ``mutator_ns()``/``gc_ns()`` stay 0).
"""
from __future__ import annotations

import operator
import threading
import time
from typing import Protocol, runtime_checkable

from . import _signals
from .errors import NotCopyable

__all__ = ["Clock", "VirtualClock", "WallClock", "make_clock", "DEFAULT_START_UNIX_NS", "COSTS"]

#: Unix time (ns) at which a bare ``VirtualClock()`` starts: 2023-11-14T22:13:20Z. A
#: Runtime's clock (``clock="virtual"``, `make_clock`) starts at the wall time of its creation.
DEFAULT_START_UNIX_NS = 1_700_000_000_000_000_000

# The virtual clock's cost table (ns), the one place every modelled duration comes from
# (mgc.COSTS and runtime.COSTS are this dict). Calibrated against Go 1.27.3 at GOMAXPROCS=1
# on this machine kind (2-core x86-64, shared): bench/go/clockcal is the Go program,
# `python -m bench.clockcal --runs 5 --record bench/clockcal.json` ran it and fitted these
# numbers (the record holds every raw figure and how it was taken), except the mark's
# fixed part and the sweep's per-span cost, which `bench.clockcal.fit_oracle` fits on the
# oracle corpus's calibration shapes (Go's recorded quiet runs, packed span scan on as
# programs run it), and the mark's work, which `bench.clockcal.fit_mark` fits on
# bench/go/markcal's shapes (bench/markcal.json); tests/test_clock_costs.py checks that
# this table is `bench.clockcal.table` of the three records. Go's own timings vary by 2x
# and more run to run on a shared machine; these are a typical run's (medians; the
# mark's, the fastest repetition of each shape, the least disturbed).
COSTS = {
    # -- the mutator (metered: Runtime.mutator_work_ns) ---------------------------------
    # mallocgc per call and per requested byte, by path, with the GC on (zeroing, span
    # refills and the proportional sweep included; the GC's own CPU subtracted)
    "alloc_tiny": 34.34,                # new(int64): a tiny block sub-allocation
    "alloc_tiny_byte": 0.0,
    "alloc_small_noscan": 18.05,        # make([]byte, n), n <= 32 KiB
    "alloc_small_noscan_byte": 0.09891,
    "alloc_small_scan": 22.49,          # make([]*T, n/8): heap bits or a malloc header too
    "alloc_small_scan_byte": 0.08952,
    "alloc_large_noscan": 0.0,          # > 32 KiB: page allocation, zeroing (per byte)
    "alloc_large_noscan_byte": 0.08408,
    "alloc_large_scan": 0.0,
    "alloc_large_scan_byte": 0.09298,
    "store_ptr": 0.5451,                # p.f = q (no write barrier outside a mark)
    "store_scalar": 0.2744,             # p.n = 1
    "load": 0.1091,                     # x = p.n
    "goroutine_switch": 266.5,          # one Gosched to another runnable goroutine
    "chan_op": 39.28,                   # a buffered send or receive that does not block
    "go_statement": 379.8,              # go f(): newproc and the goroutine's exit
    "finalizer_run": 4.136,             # a queued finalizer (or cleanup) run
    # -- the collector (charged with charge_gc) ------------------------------------------
    # the mark's fixed work (roots, the runtime's own data): fitted on the oracle's
    # time_forced_idle at Go's defaults (bench/clockcal.py fit_oracle; Go's runs are in
    # tests/oracle/go1.27.3-gomaxprocs1.json)
    "mark_base": 165500.0,
    # the mark's work (Go 1.27's Green Tea: small objects scanned span by span), fitted
    # by bench/clockcal.py fit_mark on bench/go/markcal's trees and lists at span
    # densities 1..1/32 (bench/markcal.json): per object marked, per Green Tea span in
    # which the mark greyed an object (dense spans share it among many objects), per
    # chain link (an object scanned with exactly one pointer: a list's successor is
    # scanned in a span visit of its own), per byte scanned (/gc/scan/heap:bytes), and
    # per byte more in large objects (scanned pointer by pointer, not span-wise)
    "mark_object": 2.212,
    "mark_span": 554.9,
    "mark_link": 16.72,
    "mark_byte": 0.1862,
    "mark_large_byte": 0.583,           # more per byte in objects over 512 B
    "sweep_span": 514.0,                # runtime.GC's sweep, per span it frees (time_sweep_spans)
    "mark_stack": 579.1,                # per goroutine (its stack, its runtime objects)
    "stw_sweep_term": 3213.0,           # STW #1, fixed part
    "stw_mark_term": 803.3,             # STW #2 (gctrace: 0-1 µs)
    "stw_goroutine": 0.7607,            # STW #1 per goroutine (gcResetMarkState walks allgs)
    "stw_heap_byte": 0.0001951,         # STW #1 per byte of live heap
    "mark_first_cycle": 106100.0,       # a runtime's first cycle: Go's first in a process is
    "stw_first_cycle": 6245.0,          # slower (mark state set up, paged in): the extra
    # -- modelling choices, not measurements ----------------------------------------------
    "mark_utilization": 0.25,           # the concurrent mark's CPU share (gcBackgroundUtilization)
    "scavenge_bytes_per_ns": 0.04,      # background scavenger: ~40 MB/s (1 % of a CPU, Go's cap)
}


@runtime_checkable
class Clock(Protocol):
    """What the scheduler and the runtime need from a clock."""

    virtual: bool

    def nanotime(self) -> int: ...          # Go: nanotime, monotonic ns
    def unix_nano(self) -> int: ...         # Go: time.Now().UnixNano()
    def advance(self, ns: int) -> int: ...
    def advance_to(self, t: int) -> int: ...
    def charge(self, ns: int) -> int: ...
    def sleep_until(self, t: int) -> None: ...
    # Both kinds also have charge_mutator, charge_gc, mutator_ns, gc_ns, sync, add_meter and
    # remove_meter; a clock object of your own may leave them out (the runtime then charges
    # everything through ``charge`` and meters nothing).


def _nonnegative(ns, what):
    ns = operator.index(ns)
    if ns < 0:
        raise ValueError(f"goruntime: {what} of negative duration {ns}ns")
    return ns


class VirtualClock(NotCopyable):
    """A deterministic clock: time moves only through `advance`, `advance_to`, the
    ``charge*`` calls and its meters (module docstring).

    Parameters
    ----------
    start_unix_ns : int, optional
        ``unix_nano()`` when ``nanotime()`` is 0. The default is a fixed instant
        (`DEFAULT_START_UNIX_NS`); `make_clock("virtual")` (what a Runtime uses) passes the
        wall time of its creation, as Go's clock starts at the process start.

    ``nanotime()`` starts at 0 and never goes backwards. The clock is safe to share between
    threads (the threads scheduler does): updates take an internal lock. Several runtimes
    may share one clock; each adds its own meter.
    """

    virtual = True

    def __init__(self, start_unix_ns: int = DEFAULT_START_UNIX_NS):
        self.start_unix_ns = operator.index(start_unix_ns)
        self._now = 0
        self._mutator = 0          # ns charged as mutator work (metered or charge_mutator)
        self._gc = 0               # ns charged as GC work (charge_gc)
        self._meters = ()
        # Only for the meters' tuple. The counters take no lock: each update is a few
        # statements with no call in them, and CPython switches threads and runs Python
        # signal handlers only at calls and backward jumps, so none comes in between. A
        # lock there could be left held: a KeyboardInterrupt raised at a `with` block's
        # exit (its __exit__ call) skips the release, and the next GC waited forever
        # (test_limits' SIGINT line sweep at sync's last line).
        self._lock = threading.Lock()

    def nanotime(self) -> int:
        """Monotonic nanoseconds since the clock was made (Go: nanotime), the program's
        metered work included."""
        if self._meters:
            return self.sync()
        return self._now

    # -- mutator and GC work -----------------------------------------------------------
    def add_meter(self, meter) -> None:
        """Read ``meter()`` at every reading of the clock: it returns the mutator ns of the
        work done since its previous call (an int >= 0) and keeps its own baseline."""
        if not callable(meter):
            raise TypeError(f"goruntime: clock meter {meter!r} is not callable")
        with _signals.held(), self._lock:     # held: a Ctrl-C at the exit left it locked
            self._meters = self._meters + (meter,)

    def remove_meter(self, meter) -> None:
        """Stop reading *meter* (after bringing in what it has); no error if it is absent."""
        self.sync()
        with _signals.held(), self._lock:
            self._meters = tuple(m for m in self._meters if m is not meter)

    def sync(self) -> int:
        """Bring in the metered mutator work done so far; return ``nanotime()``."""
        ns = 0
        for m in self._meters:
            ns += m()
        if ns > 0:
            self._now += ns
            self._mutator += ns
        return self._now

    def charge_mutator(self, ns: int) -> int:
        """Account *ns* >= 0 of the program's own CPU work; return the new ``nanotime()``."""
        ns = _nonnegative(ns, "charge")
        self._now += ns
        self._mutator += ns
        return self._now

    def charge_gc(self, ns: int) -> int:
        """Account *ns* >= 0 of GC CPU work (pauses, mark, assists, sweep); return the new
        ``nanotime()``. GOMAXPROCS CPUs share the one clock: charge what one P spends."""
        ns = _nonnegative(ns, "charge")
        self._now += ns
        self._gc += ns
        return self._now

    def mutator_ns(self) -> int:
        """Mutator ns so far (metered work brought in first): the concurrent mark's pace."""
        self.sync()
        return self._mutator

    def gc_ns(self) -> int:
        """GC ns charged so far with `charge_gc`."""
        return self._gc

    def unix_nano(self) -> int:
        """Unix time in nanoseconds: ``start_unix_ns + nanotime()`` (Go: walltime)."""
        return self.start_unix_ns + self._now

    def advance(self, ns: int) -> int:
        """Move time forward by *ns* >= 0 nanoseconds; return the new ``nanotime()``."""
        ns = _nonnegative(ns, "advance")
        self._now += ns
        return self._now

    def advance_to(self, t: int) -> int:
        """Move time forward to *t* if it is later than now (never backwards); return now."""
        t = operator.index(t)
        if self._meters:
            self.sync()
        if t > self._now:
            self._now = t
        return self._now

    def charge(self, ns: int) -> int:
        """Account *ns* nanoseconds of modelled CPU work: the same as ``advance(ns)``.

        The runtime calls this for the cost model (mark, sweep, pause time), so that on a
        virtual clock a GC "takes" time and ``PauseNs``/``LastGC`` move deterministically.
        Sleepers whose wake time has passed run at the next scheduling point; charging does
        not call the scheduler's ``on_tick`` (only sleeping-forward does).
        """
        return self.advance(ns)

    def sleep_until(self, t: int) -> None:
        """What "wait until *t*" means for virtual time: jump there (``advance_to``)."""
        self.advance_to(t)

    def __repr__(self):
        return f"VirtualClock(nanotime={self._now}, start_unix_ns={self.start_unix_ns})"


class WallClock:
    """Real time: ``time.monotonic_ns()`` since creation and ``time.time_ns()``.

    `advance`, `advance_to` and `charge` are accepted and do nothing (real time passes by
    itself); they return the current ``nanotime()``. `sleep_until` blocks the calling thread.
    """

    virtual = False

    def __init__(self):
        self._base = time.monotonic_ns()

    def nanotime(self) -> int:
        """Monotonic nanoseconds since the clock was made (Go: nanotime)."""
        return time.monotonic_ns() - self._base

    def unix_nano(self) -> int:
        """Unix time in nanoseconds (Go: walltime)."""
        return time.time_ns()

    def advance(self, ns: int) -> int:
        """No-op on a wall clock (the argument is still checked); returns ``nanotime()``."""
        _nonnegative(ns, "advance")
        return self.nanotime()

    def advance_to(self, t: int) -> int:
        """No-op on a wall clock; returns ``nanotime()``."""
        operator.index(t)
        return self.nanotime()

    def charge(self, ns: int) -> int:
        """No-op on a wall clock: the work being modelled really took its time."""
        return self.advance(ns)

    charge_mutator = charge_gc = charge

    def mutator_ns(self) -> int:
        """0: a wall clock does not split real time into mutator and GC work."""
        return 0

    def gc_ns(self) -> int:
        """0 (see `mutator_ns`)."""
        return 0

    def sync(self) -> int:
        """``nanotime()``: nothing is metered on a wall clock."""
        return self.nanotime()

    def add_meter(self, meter) -> None:
        """Accepted and never read: real time needs no meter."""
        if not callable(meter):
            raise TypeError(f"goruntime: clock meter {meter!r} is not callable")

    def remove_meter(self, meter) -> None:
        """No-op on a wall clock."""

    def sleep_until(self, t: int) -> None:
        """Really sleep until ``nanotime() >= t``."""
        while True:
            d = t - self.nanotime()
            if d <= 0:
                return
            time.sleep(d / 1e9)

    def __repr__(self):
        return f"WallClock(nanotime={self.nanotime()})"


def make_clock(spec) -> Clock:
    """Return a clock for *spec*: ``"virtual"``, ``"wall"`` or an object with the `Clock` interface.

    ``"virtual"`` starts at the wall time of this call (``LastGC`` reads as today's date);
    pass ``VirtualClock(start_unix_ns=...)`` for fixed dates.

    A clock object is returned as is (so several runtimes can share one). Anything else
    raises ``ValueError``.
    """
    if isinstance(spec, str):
        if spec == "virtual":
            return VirtualClock(start_unix_ns=time.time_ns())
        if spec == "wall":
            return WallClock()
        raise ValueError(f"goruntime: unknown clock {spec!r} (want 'virtual' or 'wall')")
    if isinstance(spec, Clock):
        return spec
    raise ValueError(
        f"goruntime: clock must be 'virtual', 'wall' or a clock object, not {spec!r}")
