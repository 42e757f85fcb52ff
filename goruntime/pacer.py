"""GC pacer: GOGC, the memory limit, the heap goal, the trigger, and the scavenger's goals.

This is Go's ``gcControllerState`` (src/runtime/mgcpacer.go) plus the pacing half of the
scavenger (``gcPaceScavenger`` and the allocation-time scavenge decision, mgcscavenge.go
and mheap.go), as pure Python over plain integers. Nothing here touches the heap: the
runtime passes the numbers in (a `MemoryState` snapshot, byte counts, virtual times) and
acts on the answers (start a cycle, release so many bytes of free pages).

Arithmetic is Go's: every quantity is a uint64 (or int64/int32 where Go says so) and the
overflow and truncation behaviour is reproduced with explicit masks, so for the same inputs
the heap goal and trigger are bit-for-bit Go's (spec §4, Appendix X3).

How the runtime drives the pacer (`goruntime.mgc.Collector`, in Go's order: mgc.go's
gcStart, gcMarkDone, gcMarkTermination)::

    # heapLive is the Heap's counter (bind_heap_live): the Cython allocator adds to it at
    # each mcache refill and large allocation (Go: update) and raises the heap's
    # check point when it reaches heap.trigger (Go: gcTrigger{kind: gcTriggerHeap}.test()).
    goal = pacer.heap_goal(mem)                   # sweep termination: the cycle's goal
    pacer.start_cycle(heap_live, now, procs, kind)                # Go: startCycle
    ... mark (a stop-the-world snapshot, then the modelled concurrent runway) ...
    pacer.end_cycle(mem, now, procs, heap_scan_work=..., stack_scan_work=...,
                    globals_scan_work=..., mutator_ns=..., mark_cpu_ns=...,
                    dedicated_ns=..., heap_live=...)              # Go: endCycle
    pacer.reset_live(bytes_marked)                # Go: resetLive (heapLive = heapMarked)
    ... sweep ...
    pacer.commit(sweep_done=False, mem=mem)       # Go: gcControllerCommit
    pacer.last_heap_in_use = mem.heap_inuse       # Go: memstats.lastHeapInUse
    trigger, goal = pacer.trigger(mem)            # -> heap.trigger (Collector.update_trigger)
    pacer.pace_scavenger(mem); pacer.background_scavenge_bytes(mem)  # Runtime._maybe_scavenge

Outside a cycle: ``set_gc_percent``/``set_memory_limit`` (runtime/debug, then the trigger
again), ``time_trigger_test`` (sysmon's periodic GC), ``free_os_memory_bytes``
(debug.FreeOSMemory) and ``add_globals`` (the binary's scannable globals, at start).
Then ``pacer.heap_goal(mem)`` is ``NextGC`` and ``/gc/heap/goal:bytes``.

The cons/mark estimate and the trigger
--------------------------------------
Go picks the trigger ``goal - runway`` where ``runway = consMark * 3 * expected scan
work`` and ``consMark`` is the max of the last four measured ratios of the mutator's
allocation rate to the collector's scan rate, each per CPU-second (`end_cycle`). The result
is always clamped to Go's legal band ``[minTrigger, maxTrigger]`` (about 70 % and 95 % of
the way from heapMarked to the goal; spec §4.5).

The emulator's mark is stop-the-world, so nothing is allocated while it marks and
``heapLive == triggered`` at the end of the mark. Go's own ``endCycle`` treats exactly that
case as "the GC was too short to measure" and leaves ``consMark`` alone; so with the
default ``cons_mark_model="go"`` consMark stays 0, the runway is 0 and the trigger is
``maxTrigger = heapMarked + (goal - heapMarked)/64*61`` (or ``goal - 4 MiB`` if larger):
the deterministic rule spec §4.5 names. It is also the choice that keeps the emulator's
heap-triggered GC count close to Go's: Go's mark keeps allocating until about the goal,
while a stop-the-world mark stops the heap at the trigger, so an earlier trigger would
collect more often than Go does.

``cons_mark_model="virtual-cost"`` instead models the ratio from the emulator's virtual
costs (for what-if studies of the pacer): the allocation rate is the bytes the mutator
added to heapLive since the previous mark termination per mutator CPU-ns, the scan rate is
the cycle's scan work per mark CPU-ns; their quotient is what Go's formula measures,
because Go's ``(heapLive-triggered)*(u+idle) / (scanWork*(1-u))`` is that same ratio of
per-CPU rates with the mark duration and GOMAXPROCS cancelled out.

Scavenger
---------
`gc_pace_scavenger` computes Go's two retention goals exactly (retain ``(1+10%) *
lastHeapInUse * goal/lastGoal`` of heapInUse+heapFree, disabled before the first GC; and
95 % of the memory limit of ``Sys - HeapReleased``). `Pacer.background_scavenge_bytes`
and `Pacer.alloc_scavenge_bytes` turn them into "release this many bytes" answers.
Simplified: Go's background scavenger works in 64 KiB quanta soft-capped at 1 % of the
CPU time of GOMAXPROCS (a PI controller sets its sleep time) and skips 4 MiB chunks that were densely
allocated in the last cycle; here the whole amount is released when the runtime asks, and
the runtime picks which free pages (Go: highest addresses first).
"""
from __future__ import annotations

import operator
from dataclasses import dataclass

from .errors import FatalError

__all__ = [
    "MemoryState", "Pacer", "parse_gogc", "parse_gomemlimit", "parse_byte_count",
    "gc_pace_scavenger", "MAX_INT64", "MAX_UINT64",
    "TRIGGER_HEAP", "TRIGGER_TIME", "TRIGGER_CYCLE",
]

MASK64 = (1 << 64) - 1
MAX_UINT64 = MASK64                  # Go: ^uint64(0)
MAX_INT64 = (1 << 63) - 1            # Go: math.MaxInt64, the default memory limit

# mgcpacer.go constants.
GC_BACKGROUND_UTILIZATION = 0.25     # gcBackgroundUtilization
GC_GOAL_UTILIZATION = GC_BACKGROUND_UTILIZATION  # gcGoalUtilization
DEFAULT_HEAP_MINIMUM = 4 << 20       # defaultHeapMinimum (HeapMinimum512KiB experiment off)
MEMORY_LIMIT_MIN_HEAP_GOAL_HEADROOM = 1 << 20    # memoryLimitMinHeapGoalHeadroom
MEMORY_LIMIT_HEAP_GOAL_HEADROOM_PERCENT = 3      # memoryLimitHeapGoalHeadroomPercent
TRIGGER_RATIO_DEN = 64               # triggerRatioDen
MIN_TRIGGER_RATIO_NUM = 45           # minTriggerRatioNum (~0.7)
MAX_TRIGGER_RATIO_NUM = 61           # maxTriggerRatioNum (~0.95)
MIN_RUNWAY = 64 << 10                # heapGoalInternal's minRunway
MAX_UTIL_ERROR = 0.3                 # startCycle's maxUtilError
# mgc.go / proc.go.
SWEEP_MIN_HEAP_DISTANCE = 1 << 20    # sweepMinHeapDistance
FORCEGC_PERIOD = 2 * 60 * 10**9      # forcegcperiod (ns)
PAGE_SIZE = 8192                     # pageSize
# mgcscavenge.go constants.
RETAIN_EXTRA_PERCENT = 10            # retainExtraPercent
REDUCE_EXTRA_PERCENT = 5             # reduceExtraPercent
PHYS_PAGE_SIZE = 4096                # physPageSize on linux/amd64

# gcTriggerKind (mgc.go).
TRIGGER_HEAP = "heap"                # gcTriggerHeap: heapLive >= trigger
TRIGGER_TIME = "time"                # gcTriggerTime: periodic (forcegcperiod)
TRIGGER_CYCLE = "cycle"              # gcTriggerCycle: runtime.GC / debug.FreeOSMemory

CONS_MARK_MODELS = ("go", "virtual-cost")


def _u64(x: int) -> int:
    """Go's uint64 wrap-around."""
    return x & MASK64


def _int32(x: int) -> int:
    """Go's int32(x) conversion (two's-complement truncation)."""
    x &= 0xFFFFFFFF
    return x - (1 << 32) if x >= 1 << 31 else x


def _int64(x: int) -> int:
    """Go's int64(x) conversion (two's-complement truncation)."""
    x &= MASK64
    return x - (1 << 64) if x >= 1 << 63 else x


def _float_to_u64(f: float) -> int:
    """Go's uint64(f) for f >= 0 (truncation). Values >= 2^64 saturate (Go: unspecified)."""
    if f != f or f <= 0:
        return 0
    if f >= 18446744073709551616.0:
        return MAX_UINT64
    return int(f)


# ---------------------------------------------------------------------------------------
# Environment parsing (Go: readGOGC, readGOMEMLIMIT in mgcpacer.go; parseByteCount in
# string.go; strconv.ParseInt in internal/strconv/atoi.go).

def _parse_int(s: str, bit_size: int):
    """Go's strconv.ParseInt(s, 10, bit_size): the value, or None on any error.

    An optional leading '+' or '-', then one or more ASCII decimal digits; no spaces,
    underscores (only allowed with base 0) or decimal points. Out-of-range is an error.
    """
    if s == "":
        return None
    neg = False
    if s[0] == "+":
        s = s[1:]
    elif s[0] == "-":
        s = s[1:]
        neg = True
    if s == "" or not all("0" <= c <= "9" for c in s):
        return None
    un = int(s)
    cutoff = 1 << (bit_size - 1)
    if not neg and un >= cutoff:
        return None
    if neg and un > cutoff:
        return None
    return -un if neg else un


def parse_gogc(s: str | None) -> int:
    """GOGC as the runtime stores it (Go: readGOGC, then setGCPercent's normalisation).

    ``"off"`` → -1; a base-10 int32 → that value, any negative value stored as -1;
    anything else (unset, empty, ``"abc"``, ``"1e3"``, out of int32 range) → 100.
    """
    if s is None:
        s = ""
    if s == "off":
        return -1
    n = _parse_int(s, 32)
    if n is None:
        return 100
    return -1 if n < 0 else n


def parse_byte_count(s: str):
    """Go's parseByteCount (runtime/string.go): ``(n, True)`` or ``(0, False)``.

    A non-negative base-10 int64 with an optional suffix ``B``, ``KiB``, ``MiB``, ``GiB``
    or ``TiB`` (powers of 1024). A leading ``+`` is accepted (strconv.ParseInt does);
    ``-0`` is 0. Overflow past MaxInt64, spaces, decimal points, SI suffixes (``KB``,
    ``k``) and lower-case units are malformed.
    """
    if s == "":
        return 0, False
    last = s[-1]
    if "0" <= last <= "9":
        n = _parse_int(s, 64)
        if n is None or n < 0:
            return 0, False
        return n, True
    if last != "B" or len(s) < 2:
        return 0, False
    c = s[-2]
    if "0" <= c <= "9":
        n = _parse_int(s[:-1], 64)
        if n is None or n < 0:
            return 0, False
        return n, True
    if c != "i":
        return 0, False
    if len(s) < 4:
        return 0, False
    power = {"K": 1, "M": 2, "G": 3, "T": 4}.get(s[-3])
    if power is None:
        return 0, False
    m = 1024 ** power
    n = _parse_int(s[:-3], 64)
    if n is None or n < 0:
        return 0, False
    if n > MAX_UINT64 // m:
        return 0, False
    un = n * m
    if un > MAX_INT64:
        return 0, False
    return un, True


def parse_gomemlimit(s: str | None) -> int:
    """GOMEMLIMIT as the runtime reads it (Go: readGOMEMLIMIT).

    Unset, ``""`` or ``"off"`` → MaxInt64. Malformed → `FatalError` with Go's message
    (Go first prints ``GOMEMLIMIT=<value>`` and then dies with exit status 2).
    """
    if s is None or s == "" or s == "off":
        return MAX_INT64
    n, ok = parse_byte_count(s)
    if not ok:
        raise FatalError("malformed GOMEMLIMIT; see `go doc runtime/debug.SetMemoryLimit`")
    return n


def _go_int(v, name, what):
    """*v* as a Python int if it is an integer (``__index__``: int, numpy integers), not a
    bool; else TypeError naming the argument."""
    if isinstance(v, bool) or type(v).__name__ == "bool_":
        raise TypeError(f"{name} must be {what}, not bool")
    try:
        return operator.index(v)
    except TypeError:
        raise TypeError(f"{name} must be {what}, not {type(v).__name__}") from None


def gogc_arg(v, name="gogc") -> int:
    """A GOGC given as an argument: an int (negative: off) that fits Go's int32, or a
    string parsed as the GOGC variable is (`parse_gogc`). Never wraps around: ``2**32``
    is an OverflowError, not 0."""
    if isinstance(v, str):
        return parse_gogc(v)
    v = _go_int(v, name, "an int or a GOGC string such as 'off'")
    if not -(1 << 31) <= v < 1 << 31:
        raise OverflowError(f"{name}={v} does not fit GOGC's int32 (-2147483648..2147483647)")
    return -1 if v < 0 else v


def memory_limit_arg(v, name="memory_limit", *, query_ok=False, malformed=ValueError) -> int:
    """A memory limit given as an argument: None (no limit), an int in 0..MaxInt64 (with
    *query_ok*, any negative int64 too: debug.SetMemoryLimit's query), or a GOMEMLIMIT
    string (``"off"``, ``"512MiB"``; malformed raises *malformed* with Go's message: the
    constructor passes FatalError, as the GOMEMLIMIT variable is fatal in Go). Never wraps
    around: ``2**64`` is an OverflowError, not 0."""
    if v is None:
        return MAX_INT64
    if isinstance(v, str):
        if v == "" or v == "off":
            return MAX_INT64
        n, ok = parse_byte_count(v)
        if not ok:
            if malformed is FatalError:      # Go's exact message (readGOMEMLIMIT)
                raise FatalError("malformed GOMEMLIMIT; see `go doc runtime/debug.SetMemoryLimit`")
            raise malformed(f"{name}={v!r}: malformed GOMEMLIMIT; see `go doc runtime/debug.SetMemoryLimit`")
        return n
    v = _go_int(v, name, "an int, None or a GOMEMLIMIT string such as '512MiB'")
    if v > MAX_INT64 or v < -(1 << 63):
        raise OverflowError(f"{name}={v} does not fit an int64 (Go: the limit is an int64 of bytes)")
    if v < 0 and not query_ok:
        raise ValueError(f"{name}={v}: a memory limit is at least 0 bytes")
    return v


# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class MemoryState:
    """The memory counters the pacer reads, as of now (all bytes).

    Go reads these from ``gcController`` atomics; the runtime fills them from its heap:

    - ``mapped_ready``: Go ``mappedReady``, memory mapped and not released:
      ``Sys - HeapReleased`` (``/memory/classes/total - /memory/classes/heap/released``).
    - ``heap_free``: Go ``heapFree``, free heap pages not released: ``HeapIdle - HeapReleased``.
    - ``heap_alloc``: Go ``totalAlloc - totalFree``, bytes in heap objects: ``HeapAlloc``.
    - ``heap_inuse``: Go ``heapInUse``, bytes in in-use spans: ``HeapInuse``. Only the
      scavenger needs it (``heapRetained() = heapInUse + heapFree``); goals and triggers
      do not, so it may be omitted there.
    """

    mapped_ready: int
    heap_free: int
    heap_alloc: int
    heap_inuse: int | None = None

    @property
    def heap_retained(self) -> int:
        """Go: heapRetained(), the heap's estimated contribution to RSS."""
        if self.heap_inuse is None:
            raise ValueError("MemoryState.heap_inuse is required by the scavenger")
        return self.heap_inuse + self.heap_free


def gc_pace_scavenger(memory_limit: int, heap_goal: int, last_heap_goal: int,
                      mapped_ready: int, heap_retained: int, last_heap_in_use: int,
                      phys_page_size: int = PHYS_PAGE_SIZE):
    """The background scavenger's goals (Go: gcPaceScavenger, mgcscavenge.go).

    Returns ``(gc_percent_goal, memory_limit_goal)``; each is ``MAX_UINT64`` when that goal
    is already met (or, for the first, before the first GC completed: ``last_heap_goal
    == 0``). The scavenger works while ``heap_retained > gc_percent_goal`` or
    ``mapped_ready > memory_limit_goal``.
    """
    memory_limit_goal = _float_to_u64(float(memory_limit) * (1 - REDUCE_EXTRA_PERCENT / 100.0))
    if mapped_ready <= memory_limit_goal:
        memory_limit_goal = MAX_UINT64
    if last_heap_goal == 0:
        return MAX_UINT64, memory_limit_goal
    goal_ratio = float(heap_goal) / float(last_heap_goal)
    gc_percent_goal = _float_to_u64(float(last_heap_in_use) * goal_ratio)
    # Go: gcPercentGoal += gcPercentGoal / (1.0 / (retainExtraPercent / 100.0)), an exact
    # constant expression: division by 10.
    gc_percent_goal = _u64(gc_percent_goal + gc_percent_goal // (100 // RETAIN_EXTRA_PERCENT))
    gc_percent_goal = _u64(gc_percent_goal + phys_page_size - 1) & ~(phys_page_size - 1) & MASK64
    if heap_retained <= gc_percent_goal or heap_retained - gc_percent_goal < phys_page_size:
        gc_percent_goal = MAX_UINT64
    return gc_percent_goal, memory_limit_goal


class Pacer:
    """Go's gcControllerState: GOGC, memory limit, heap goal, trigger and cons/mark.

    Field names are Go's in snake_case; all byte counts are uint64 as in Go. Mutate the
    knobs only through `set_gc_percent` / `set_memory_limit` (they commit, as Go does).
    """

    def __init__(self, gc_percent: int = 100, memory_limit: int = MAX_INT64, *,
                 cons_mark_model: str = "go"):
        if cons_mark_model not in CONS_MARK_MODELS:
            raise ValueError(f"cons_mark_model must be one of {CONS_MARK_MODELS}, "
                             f"not {cons_mark_model!r}")
        self.cons_mark_model = cons_mark_model
        # --- knobs
        self.gc_percent = 100             # int32; -1 means GOGC=off
        self.memory_limit = MAX_INT64     # int64, never negative
        self.heap_minimum = DEFAULT_HEAP_MINIMUM  # 4 MiB * GOGC/100 (uint64 arithmetic)
        # --- pacing state
        self.runway = 0                   # heap bytes of runway for the GC (from consMark)
        self.cons_mark = 0.0              # max of the last 4 measured cons/mark ratios
        self.last_cons_mark = [0.0, 0.0, 0.0, 0.0]   # the last 4 *measured* ratios
        self.gc_percent_heap_goal = 0     # GOGC goal; MAX_UINT64 when GOGC=off
        self.sweep_dist_min_trigger = 0   # heapLive+1MiB at a commit with sweep unfinished
        self.triggered = MAX_UINT64       # heapLive when the running cycle started
        self.last_heap_goal = 0           # heapGoal() when the last GC ended (gctrace goal)
        # --- heap quantities
        self._heap_live = 0               # heapLive, unless bound to a heap (`bind_heap_live`)
        self._live_owner = None
        self.heap_scan = 0                # scannable heap bytes (fixed during a cycle)
        self.last_heap_scan = 0           # heap bytes scanned by the last cycle
        self.last_stack_scan = 0          # stack bytes scanned by the last cycle
        self.max_stack_scan = 0           # allocated goroutine stack bytes (Go: maxStackScan;
                                          # the emulator does not account stacks: 0)
        self.globals_scan = 0             # scannable data+BSS bytes
        self.heap_marked = 0              # bytes marked by the last cycle
        # --- per-cycle work and time (reset by start_cycle)
        self.heap_scan_work = 0
        self.stack_scan_work = 0
        self.globals_scan_work = 0
        self.assist_time = 0              # ns of mutator assists
        self.dedicated_mark_time = 0      # ns of dedicated mark workers
        self.fractional_mark_time = 0     # ns of the fractional mark worker
        self.idle_mark_time = 0           # ns of idle-priority mark workers
        self.mark_start_time = 0          # ns, when assists/workers started
        self.dedicated_mark_workers_needed = 0
        self.fractional_utilization_goal = 0.0
        self.max_idle_mark_workers = 0
        self.assist_work_per_byte = 0.0
        self.assist_bytes_per_work = 0.0
        # --- scavenger (Go: scavenge.gcPercentGoal / memoryLimitGoal, memstats.lastHeapInUse)
        self.scav_gc_percent_goal = MAX_UINT64
        self.scav_memory_limit_goal = MAX_UINT64
        self.last_heap_in_use = 0
        self.prev_cons_mark = 0.0         # consMark before the last end_cycle (gcpacertrace)
        self.last_utilization = 0.0       # assist+background utilization of the last cycle
        # Go: gcControllerState.init
        self._set_gc_percent(gc_percent)
        self._set_memory_limit(memory_limit)
        self.commit(sweep_done=True)  # no sweep phase before the first GC

    @property
    def heap_live(self) -> int:
        """Go: heapLive: heapMarked + bytes allocated since (only grows between GCs).

        A standalone pacer keeps it itself (`update`); a runtime's pacer is bound to its
        `_heap.Heap`, whose allocator maintains it (`bind_heap_live`): one counter, read
        and written here through the heap.
        """
        owner = self._live_owner
        return owner.heap_live if owner is not None else self._heap_live

    @heap_live.setter
    def heap_live(self, v: int) -> None:
        owner = self._live_owner
        if owner is not None:
            owner.heap_live = v
        else:
            self._heap_live = v

    def bind_heap_live(self, owner) -> None:
        """Make *owner*'s ``heap_live`` attribute (a `_heap.Heap`) this pacer's heapLive."""
        self._live_owner = owner

    # ------------------------------------------------------------------ knobs

    def set_gc_percent(self, p: int, *, sweep_done: bool = True, mem: MemoryState | None = None) -> int:
        """Set GOGC, commit, return the previous value (Go: setGCPercent).

        *p* is converted to int32 as ``debug.SetGCPercent`` does; any negative value is
        stored as -1 (off). *sweep_done* is Go's isSweepDone() at the call: ``True`` (the
        common case once the sweep of the last cycle finished) drops the heapLive+1MiB
        floor, so ``SetGCPercent(0)`` right after ``runtime.GC()`` gives ``NextGC ==
        heapMarked``. With *mem* the scavenger goals are re-paced too (gcControllerCommit).
        """
        out = self._set_gc_percent(p)
        self.commit(sweep_done=sweep_done, mem=mem)
        return out

    def _set_gc_percent(self, p: int) -> int:
        """Go: gcControllerState.setGCPercent (no commit)."""
        p = _int32(p)
        out = self.gc_percent
        if p < 0:
            p = -1
        self.heap_minimum = _u64(DEFAULT_HEAP_MINIMUM * _u64(p)) // 100
        self.gc_percent = p
        return out

    def set_memory_limit(self, x: int, *, sweep_done: bool = True,
                         mem: MemoryState | None = None) -> int:
        """Set the memory limit, return the previous one (Go: setMemoryLimit).

        A negative *x* only queries. Commits only when the value changes, as Go does.
        """
        x = _int64(x)
        out = self._set_memory_limit(x)
        if x < 0 or out == x:
            return out
        self.commit(sweep_done=sweep_done, mem=mem)
        return out

    def _set_memory_limit(self, x: int) -> int:
        """Go: gcControllerState.setMemoryLimit (no commit)."""
        out = self.memory_limit
        if x >= 0:
            self.memory_limit = x
        return out

    # ------------------------------------------------------------------ commit

    def commit(self, sweep_done: bool, mem: MemoryState | None = None) -> None:
        """Recompute the GOGC goal, the sweep-distance floor and the runway.

        Go: gcControllerState.commit; with *mem*, also the rest of gcControllerCommit that
        needs live memory numbers (the scavenger's goals, `pace_scavenger`). Call after
        every change of heapMarked/GOGC/limit: at mark termination with
        ``sweep_done=False``.
        """
        if sweep_done:
            self.sweep_dist_min_trigger = 0
        else:
            self.sweep_dist_min_trigger = _u64(self.heap_live + SWEEP_MIN_HEAP_DISTANCE)
        goal = MAX_UINT64
        if self.gc_percent >= 0:
            goal = _u64(self.heap_marked + _u64(
                _u64(self.heap_marked + self.last_stack_scan + self.globals_scan)
                * self.gc_percent) // 100)
        if goal < self.heap_minimum:
            goal = self.heap_minimum
        self.gc_percent_heap_goal = goal
        expected = _u64(self.last_heap_scan + self.last_stack_scan + self.globals_scan)
        self.runway = _float_to_u64(
            (self.cons_mark * (1 - GC_GOAL_UTILIZATION) / GC_GOAL_UTILIZATION) * float(expected))
        if mem is not None:
            self.pace_scavenger(mem)

    # ------------------------------------------------------------------ goal and trigger

    def memory_limit_heap_goal(self, mem: MemoryState) -> int:
        """The heap goal implied by the memory limit (Go: memoryLimitHeapGoal, spec §4.4)."""
        if mem.heap_free + mem.heap_alloc > mem.mapped_ready:
            # Go spins here until the counters are consistent (and deadlocks if never).
            raise ValueError(f"inconsistent MemoryState: heap_free {mem.heap_free} + heap_alloc "
                             f"{mem.heap_alloc} > mapped_ready {mem.mapped_ready}")
        memory_limit = _u64(self.memory_limit)
        non_heap = mem.mapped_ready - mem.heap_free - mem.heap_alloc
        overage = mem.mapped_ready - memory_limit if mem.mapped_ready > memory_limit else 0
        if non_heap + overage >= memory_limit:
            return self.heap_marked
        goal = memory_limit - (non_heap + overage)
        headroom = goal // 100 * MEMORY_LIMIT_HEAP_GOAL_HEADROOM_PERCENT
        if headroom < MEMORY_LIMIT_MIN_HEAP_GOAL_HEADROOM:
            headroom = MEMORY_LIMIT_MIN_HEAP_GOAL_HEADROOM
        if goal < headroom or goal - headroom < headroom:
            goal = headroom
        else:
            goal = goal - headroom
        return max(goal, self.heap_marked)

    def heap_goal_internal(self, mem: MemoryState):
        """``(goal, min_trigger)`` (Go: heapGoalInternal). min_trigger <= goal always."""
        goal = self.gc_percent_heap_goal
        min_trigger = 0
        new_goal = self.memory_limit_heap_goal(mem)
        if new_goal < goal:
            goal = new_goal
        else:
            sweep_dist_trigger = self.sweep_dist_min_trigger
            if sweep_dist_trigger > goal:
                goal = sweep_dist_trigger
            min_trigger = sweep_dist_trigger
            if self.triggered != MAX_UINT64 and goal < self.triggered + MIN_RUNWAY:
                goal = _u64(self.triggered + MIN_RUNWAY)
        return goal, min_trigger

    def heap_goal(self, mem: MemoryState) -> int:
        """The current heap goal: ``NextGC`` and ``/gc/heap/goal:bytes`` (Go: heapGoal)."""
        return self.heap_goal_internal(mem)[0]

    def trigger_bounds(self, mem: MemoryState):
        """``(min_trigger, max_trigger, goal)``: Go's legal trigger band (inside trigger())."""
        goal, min_trigger = self.heap_goal_internal(mem)
        hm = self.heap_marked
        if hm >= goal:
            return goal, goal, goal
        min_trigger = max(min_trigger, hm)
        lower = (goal - hm) // TRIGGER_RATIO_DEN * MIN_TRIGGER_RATIO_NUM + hm
        min_trigger = max(min_trigger, lower)
        max_trigger = (goal - hm) // TRIGGER_RATIO_DEN * MAX_TRIGGER_RATIO_NUM + hm
        if goal > DEFAULT_HEAP_MINIMUM and goal - DEFAULT_HEAP_MINIMUM > max_trigger:
            max_trigger = goal - DEFAULT_HEAP_MINIMUM
        max_trigger = max(max_trigger, min_trigger)
        return min_trigger, max_trigger, goal

    def trigger(self, mem: MemoryState):
        """``(trigger, goal)``: start a GC when heapLive >= trigger (Go: trigger, spec §4.5)."""
        min_trigger, max_trigger, goal = self.trigger_bounds(mem)
        if self.heap_marked >= goal:
            return goal, goal
        runway = self.runway
        trigger = min_trigger if runway > goal else goal - runway
        trigger = min(max(trigger, min_trigger), max_trigger)
        if trigger > goal:
            raise FatalError("produced a trigger greater than the heap goal")
        return trigger, goal

    # ------------------------------------------------------------------ trigger tests

    def time_trigger_test(self, now_ns: int, last_gc_nanotime: int,
                          period_ns: int = FORCEGC_PERIOD) -> bool:
        """Go: gcTrigger{kind: gcTriggerTime}.test(): periodic GC due (spec §4.6).

        True iff GOGC >= 0, a GC has completed (``last_gc_nanotime != 0``) and more than
        *period_ns* (2 minutes) passed since it ended.
        """
        if self.gc_percent < 0:
            return False
        return last_gc_nanotime != 0 and now_ns - last_gc_nanotime > period_ns

    # ------------------------------------------------------------------ the cycle

    def update(self, d_heap_live: int, d_heap_scan: int = 0) -> None:
        """Account allocation (Go: gcControllerState.update).

        heapLive grows when an mcache takes a span (by its free bytes) and on large
        allocations; heapScan only changes outside a cycle (it is fixed at cycle start;
        "in a cycle" is ``triggered != MAX_UINT64``, between start_cycle and reset_live).
        """
        if d_heap_live:
            self.heap_live = _u64(self.heap_live + d_heap_live)
        if self.triggered == MAX_UINT64:
            if d_heap_scan:
                self.heap_scan = _u64(self.heap_scan + d_heap_scan)

    def add_globals(self, amount: int) -> None:
        """Account scannable data+BSS bytes (Go: addGlobals, at module load)."""
        self.globals_scan = _u64(self.globals_scan + amount)

    def start_cycle(self, heap_live: int, now_ns: int, procs: int = 1,
                    kind: str = TRIGGER_HEAP, gcstoptheworld: int = 0,
                    mem: MemoryState | None = None) -> None:
        """Begin a cycle (Go: startCycle, called during sweep termination).

        Records ``triggered = heap_live``, zeroes the cycle's work and time counters, and
        computes the mark worker split (25 % of *procs*: dedicated workers, plus a
        fractional worker when rounding is off by more than 30 %; spec §3.5). With *mem*
        the assist ratio is computed too (Go calls revise here).
        """
        self.heap_live = heap_live
        self.heap_scan_work = self.stack_scan_work = self.globals_scan_work = 0
        self.assist_time = 0
        self.dedicated_mark_time = self.fractional_mark_time = self.idle_mark_time = 0
        self.mark_start_time = now_ns
        self.triggered = heap_live
        total_goal = float(procs) * GC_BACKGROUND_UTILIZATION
        dedicated = int(total_goal + 0.5)
        util_error = float(dedicated) / total_goal - 1
        if util_error < -MAX_UTIL_ERROR or util_error > MAX_UTIL_ERROR:
            if float(dedicated) > total_goal:
                dedicated -= 1
            self.fractional_utilization_goal = (total_goal - float(dedicated)) / float(procs)
        else:
            self.fractional_utilization_goal = 0.0
        if gcstoptheworld > 0:
            dedicated = procs
            self.fractional_utilization_goal = 0.0
        if kind == TRIGGER_TIME:
            self.max_idle_mark_workers = 0 if dedicated > 0 else 1
        else:
            self.max_idle_mark_workers = procs - dedicated
        self.dedicated_mark_workers_needed = dedicated
        if mem is not None:
            self.revise(mem)

    def revise(self, mem: MemoryState) -> None:
        """Recompute the assist ratio during a cycle (Go: revise).

        Only meaningful while marking concurrently; kept for `format_pacertrace` and for a
        runtime that models assists.
        """
        gc_percent = self.gc_percent if self.gc_percent >= 0 else 100000
        live = self.heap_live
        work = self.heap_scan_work + self.stack_scan_work + self.globals_scan_work
        heap_goal = _int64(self.heap_goal(mem))
        expected = _int64(self.last_heap_scan + self.last_stack_scan + self.globals_scan)
        max_scan_work = _int64(self.heap_scan + self.max_stack_scan + self.globals_scan)
        if work > expected:
            # Extrapolate the goal to the worst-case scan work, at most (1+GOGC/100)x.
            triggered = _int64(self.triggered)
            hard_goal = int((1.0 + float(gc_percent) / 100.0) * float(heap_goal))
            if expected > 0:
                ext = int(float(heap_goal - triggered) / float(expected)
                          * float(max_scan_work)) + triggered
            else:       # Go divides by zero here (an undefined conversion); take the cap
                ext = hard_goal
            expected = max_scan_work
            heap_goal = min(ext, hard_goal)
        if _int64(live) > heap_goal:
            heap_goal = int(float(heap_goal) * 1.1)
            expected = max_scan_work
        remaining = max(expected - work, 1000)
        heap_remaining = heap_goal - _int64(live)
        if heap_remaining <= 0:
            heap_remaining = 1
        self.assist_work_per_byte = float(remaining) / float(heap_remaining)
        self.assist_bytes_per_work = float(heap_remaining) / float(remaining)

    def end_cycle(self, mem: MemoryState, now_ns: int, procs: int = 1, *,
                  heap_scan_work: int, stack_scan_work: int, globals_scan_work: int,
                  mutator_ns: int = 0, mark_cpu_ns: int = 0,
                  assist_ns: int = 0, dedicated_ns: int = 0, fractional_ns: int = 0,
                  idle_mark_ns: int = 0, heap_live: int | None = None,
                  world_stopped: bool = False):
        """End the mark phase and update consMark (Go: endCycle, called from gcMarkDone).

        Records the cycle's scan work (heap bytes scanned, stack bytes scanned, globals
        bytes scanned) and mark CPU times, sets ``last_heap_goal = heap_goal(mem)`` (the
        ``MB goal`` of the gctrace line) and measures this cycle's cons/mark ratio:

        - ``cons_mark_model="go"``: Go's formula on the measurements, ``(heapLive -
          triggered) * (u + idle) / (scanWork * (1 - u))`` with ``u = 0.25 + assist /
          (duration*procs)``. Nothing is measured (Go returns early) when heapLive did not
          grow during the mark, which is always the case for a stop-the-world mark.
        - ``cons_mark_model="virtual-cost"``: the allocation rate ``(triggered -
          heapMarked) / mutator_ns`` over the scan rate ``scanWork / mark_cpu_ns``
          (module docstring). Nothing is measured if any of the four is zero.

        *world_stopped*: the whole mark ran with the mutator stopped (every cycle under
        GODEBUG=gcstoptheworld=1). heapLive cannot grow then and Go's endCycle returns
        before measuring, so nothing is measured in either model. (A modelled concurrent
        mark that saw no growth is still measured by the virtual-cost model: Go's mutator
        would have run during it. The runtime passes *world_stopped* for a runtime.GC or
        periodic cycle whose mark saw no growth either: Go measures none of those.)

        Returns the measured ratio, or None when nothing was measured.
        """
        if heap_live is not None:
            self.heap_live = heap_live
        self.heap_scan_work = heap_scan_work
        self.stack_scan_work = stack_scan_work
        self.globals_scan_work = globals_scan_work
        self.assist_time = assist_ns
        self.dedicated_mark_time = dedicated_ns
        self.fractional_mark_time = fractional_ns
        self.idle_mark_time = idle_mark_ns
        self.last_heap_goal = self.heap_goal(mem)
        scan_work = heap_scan_work + stack_scan_work + globals_scan_work
        duration = now_ns - self.mark_start_time
        utilization = GC_BACKGROUND_UTILIZATION
        if duration > 0:
            utilization += float(assist_ns) / float(duration * procs)
        self.last_utilization = utilization
        current = None
        if world_stopped:
            # Go's endCycle returns here: heapLive cannot grow while the world is stopped
            # (heapLive <= triggered), so the cycle says nothing about the mutator's rate
            return None
        if self.cons_mark_model == "virtual-cost":
            alloc = self.triggered - self.heap_marked if self.triggered != MAX_UINT64 else 0
            if alloc > 0 and mutator_ns > 0 and mark_cpu_ns > 0 and scan_work > 0:
                current = (alloc / mutator_ns) / (scan_work / mark_cpu_ns)
        else:
            # Go divides by scanWork unguarded (x/0 = +Inf); a cycle with no scan work is
            # treated as unmeasured here instead.
            if self.heap_live > self.triggered and scan_work > 0:
                idle_util = 0.0
                if duration > 0:
                    idle_util = float(idle_mark_ns) / float(duration * procs)
                current = (float(self.heap_live - self.triggered) * (utilization + idle_util)) / \
                    (float(scan_work) * (1 - utilization))
        if current is None:
            return None
        self.prev_cons_mark = self.cons_mark
        self.cons_mark = max([current] + self.last_cons_mark)
        self.last_cons_mark = self.last_cons_mark[1:] + [current]
        return current

    def reset_live(self, bytes_marked: int) -> None:
        """Adopt the mark result (Go: resetLive, at mark termination before commit)."""
        self.heap_marked = bytes_marked
        self.heap_live = bytes_marked
        self.heap_scan = self.heap_scan_work
        self.last_heap_scan = self.heap_scan_work
        self.last_stack_scan = self.stack_scan_work
        self.triggered = MAX_UINT64

    # ------------------------------------------------------------------ sweeper

    def sweep_pages_per_byte(self, mem: MemoryState, pages_in_use: int, pages_swept: int,
                             sweep_done: bool) -> float:
        """Proportional sweep rate after a commit (Go: gcPaceSweeper, mgcsweep.go).

        Pages to sweep per byte of heapLive growth so that sweeping finishes (with a 1 MiB
        margin) before heapLive reaches the trigger; 0 when nothing is left to sweep.
        """
        if sweep_done:
            return 0.0
        trigger, _ = self.trigger(mem)
        distance = _int64(trigger) - _int64(self.heap_live) - 1024 * 1024
        if distance < PAGE_SIZE:
            distance = PAGE_SIZE
        pages = pages_in_use - pages_swept
        if pages <= 0:
            return 0.0
        return float(pages) / float(distance)

    # ------------------------------------------------------------------ scavenger

    def pace_scavenger(self, mem: MemoryState) -> None:
        """Update the scavenger's goals (Go: gcPaceScavenger from gcControllerCommit)."""
        self.scav_gc_percent_goal, self.scav_memory_limit_goal = gc_pace_scavenger(
            self.memory_limit, self.heap_goal(mem), self.last_heap_goal,
            mem.mapped_ready, mem.heap_retained, self.last_heap_in_use)

    def background_scavenge_bytes(self, mem: MemoryState) -> int:
        """Bytes the background scavenger would release now to meet both goals.

        Go's scavenger keeps releasing until ``heapRetained <= gcPercentGoal`` and
        ``mappedReady <= memoryLimitGoal`` (its shouldStop), capped by the free memory it
        can find. Here: the larger shortfall, at most ``mem.heap_free``, rounded up to a
        physical page (Go releases whole physical pages).
        """
        need = 0
        if self.scav_gc_percent_goal != MAX_UINT64 and mem.heap_retained > self.scav_gc_percent_goal:
            need = mem.heap_retained - self.scav_gc_percent_goal
        if self.scav_memory_limit_goal != MAX_UINT64 and mem.mapped_ready > self.scav_memory_limit_goal:
            need = max(need, mem.mapped_ready - self.scav_memory_limit_goal)
        need = -(-need // PHYS_PAGE_SIZE) * PHYS_PAGE_SIZE
        return min(need, mem.heap_free)

    def alloc_scavenge_bytes(self, mem: MemoryState, scav: int, growth: int,
                             limiter_active: bool = False):
        """Synchronous scavenging after a span allocation (Go: mheap.allocSpan, HaveSpan).

        *scav* is the bytes of the new span that were released (paging them in adds to
        mappedReady); *growth* the bytes the heap just grew by. Returns ``(bytes, force)``:
        release ``bytes`` of free pages, ignoring the density heuristics when ``force``
        (memory-limit case).
        """
        todo_bytes = 0
        force = False
        if not limiter_active:
            limit = self.memory_limit
            if scav + mem.mapped_ready > limit:
                todo_bytes = scav + mem.mapped_ready - limit
                force = True
        goal = self.scav_gc_percent_goal
        if goal != MAX_UINT64 and growth > 0:
            retained = mem.heap_retained
            if retained + growth > goal:
                todo = min(growth, retained + growth - goal)
                todo_bytes = max(todo_bytes, todo)
        return todo_bytes, force

    @staticmethod
    def free_os_memory_bytes(mem: MemoryState) -> int:
        """Bytes ``debug.FreeOSMemory`` releases after its GC: every free page (Go:
        mheap.scavengeAll with force, ignoring density), so HeapReleased == HeapIdle after."""
        return mem.heap_free

    # ------------------------------------------------------------------ reporting

    def __repr__(self):
        return (f"Pacer(gc_percent={self.gc_percent}, memory_limit={self.memory_limit}, "
                f"heap_marked={self.heap_marked}, heap_live={self.heap_live}, "
                f"gc_percent_heap_goal={self.gc_percent_heap_goal}, cons_mark={self.cons_mark:g})")

