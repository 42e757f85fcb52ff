"""Replay a recorded Go program's allocations on an emulated runtime.

`replay` turns a `Trace` into the op stream of the workload trace replay
(``goruntime.workloads._workloads.replay_kernel``: alloc / drop / gc rows, typed
``nogil`` Cython, no Python object per allocation) and runs it on a fresh `Runtime` with
the configuration asked for. Each object is allocated in recorded order with its slot
size and span class, kept alive (one root) until its death, then dropped; the collector
decides when it is reclaimed, as Go's does.

What is modelled and what is not (docs/trace.md says more):

- **Pointers are not in a trace.** Nothing says which object points to which, so every
  object is kept alive by a root of its own for exactly its recorded lifetime; marking
  therefore finds the same live set Go found, but not through the same graph. The mark
  *work* is modelled from the types: an object's first ``ptrbytes`` (the type's pointer
  bytes, repeated for arrays) are scanned, the rest is not.
- **Death times are not in a trace either.** Go reports a free when the sweeper reclaims
  the object, after the cycle whose mark found it dead; it died somewhere between the
  start of the cycle before (whose mark still found it alive, or its birth) and the
  start of that cycle. *death* picks the moment: ``"spread"`` (the default) spreads the
  deaths evenly over that interval, ``"early"`` takes its start (the smallest live heap
  the trace allows), ``"gc"`` its end (the largest), ``"free"`` the recorded free itself
  (later still: what a naive replay does). Runs under ``"early"`` and ``"gc"`` bracket
  what the recorded frees allow; a program whose objects die in bursts (all at once,
  just before a cycle) sits near the ``"gc"`` end, one whose objects die steadily near
  ``"spread"``.
- **Time.** The mutator's time between allocations is the recorded time; GC costs are
  the emulator's cost model (``goruntime.runtime.COSTS``). ``gc_cpu_fraction`` is the
  modelled GC CPU over (recorded run time x the replay's GOMAXPROCS + modelled GC CPU).
- Forced cycles (``runtime.GC``, ``debug.FreeOSMemory``, the periodic GC) are replayed at
  their recorded place; every other cycle is the emulated pacer's decision
  (``cycles="pacer"``, the default). ``cycles="recorded"`` instead runs every recorded
  cycle at its recorded mark termination (as a stop-the-world cycle) and no other: the
  heap model without the pacer. Deaths are then placed after the end of the cycle that
  still marked the object, so every death time the frees allow gives the same marked
  heaps, and that run's error is the heap model's alone.
- Tiny sub-allocations take no slot: they are counted in ``mallocs`` (as Go's MemStats
  counts them) but not replayed.
"""
from __future__ import annotations

import mmap

import numpy as np

from dataclasses import dataclass

from goruntime import clock as _clock

__all__ = ["replay", "replay_detail", "prepare", "Prepared", "DEATH_MODELS", "CYCLE_MODELS"]

DEATH_MODELS = ("spread", "early", "gc", "free")
DEATH_MODELS_CODE = {"free": 0, "gc": 1, "early": 2, "spread": 3}    # _parse.object_columns
CYCLE_MODELS = ("pacer", "recorded")
OP_ALLOC, OP_DROP, OP_GC = 0, 2, 3
MALLOC_HEADER_SIZE = 8
MIN_SIZE_FOR_MALLOC_HEADER = 512


class TraceClock(_clock.VirtualClock):
    """Virtual time that follows a recorded program (``recorded_mutator``: the runtime
    then charges no modelled mutator cost and measures allocation rates on this clock).

    ``nanotime()`` = the recorded time of the last allocation replayed (from the heap's
    mallocgc count, so the Cython kernel need not report) + the modelled GC time charged
    so far: a what-if run that collects more often also runs longer.
    """
    recorded_mutator = True

    def __init__(self, times):
        super().__init__()
        self._times = np.ascontiguousarray(times, dtype=np.int64)
        self._heap = None
        self._calls0 = 0

    def follow(self, heap):
        """Start following *heap*'s allocations: the next one is ``times[0]``."""
        self._heap = heap
        self._calls0 = heap.counters()["malloc_calls"]

    def _recorded(self):
        if self._heap is None or not len(self._times):
            return 0
        k = self._heap.counters()["malloc_calls"] - self._calls0
        if k <= 0:
            return 0
        return int(self._times[min(k, len(self._times)) - 1])

    def nanotime(self):
        return self._now + self._recorded()

    def unix_nano(self):
        return self.start_unix_ns + self.nanotime()

    def advance_to(self, t):
        now = self.nanotime()
        if t > now:
            self.advance(t - now)
        return self.nanotime()


IDLE_GAP_NS = 100_000      # a pause between two recorded allocations the idle worker uses


def _idle_gaps(op, size, time):
    """Per row: the recorded time since the previous allocation (of nonzero size), where
    it is at least IDLE_GAP_NS and the row is such an allocation (0 elsewhere). One typed
    pass. The zeros are an anonymous mapping of small pages: only the pages of the few
    rows with a gap are ever faulted in (numpy's large zeroed arrays take huge pages,
    and each gap written then cost the kernel 2 MiB of zeroing)."""
    from goruntime.workloads import _workloads
    n = len(op)
    out = np.frombuffer(mmap.mmap(-1, n * 8), dtype=np.int64) if n else np.zeros(0, np.int64)
    _workloads.idle_gaps(np.ascontiguousarray(op, dtype=np.uint8),
                         np.ascontiguousarray(size, dtype=np.uint64),
                         np.ascontiguousarray(time, dtype=np.int64), IDLE_GAP_NS, out)
    return out


def _check_trace(tr):
    from .reader import Trace
    if not isinstance(tr, Trace):
        raise TypeError(f"replay needs a goruntime.trace.Trace (goruntime.trace.load), "
                        f"not {type(tr).__name__}")
    if len(tr.allocs) == 0 and len(tr.initial) == 0:
        raise ValueError("goruntime.trace: the trace has no heap-object events; record it "
                         "with GODEBUG=traceallocfree=1")


def _cycle_times(tr):
    """(start, end) of the recorded cycles, by start; a cycle the trace does not see end
    ends at its start."""
    g = np.sort(tr.gcs, order="start")
    start = g["start"].astype(np.int64)
    end = np.where(g["end"] >= 0, g["end"], g["start"]).astype(np.int64)
    return start, end


def _objects(tr, death, cycles="pacer"):
    """Objects to replay (snapshot first, then allocations; tiny sub-allocations left
    out): birth (-1 for the snapshot), death (-1: never), requested size, pointer flag,
    pointer words, and how many come from the snapshot.

    A death is placed from the object's recorded free and the recorded cycles: the last
    cycle begun before the free found it dead, so it died at latest at that cycle's
    start; the cycle before still marked it, so it died at earliest after that cycle's
    start (``cycles="recorded"``: after its end); never before its birth. *death* picks
    the moment (module docstring); "spread" takes the fraction (row x golden ratio) mod 1
    of that interval. One typed pass over the rows (``_parse.object_columns``); the
    tests check it against the same rules in numpy."""
    from ._parse import object_columns
    mi, ma = ~tr.initial["tiny"], ~tr.allocs["tiny"]
    n_init = int(mi.sum())
    n = n_init + int(ma.sum())
    birth = np.empty(n, dtype=np.int64)
    dt = np.empty(n, dtype=np.int64)
    req = np.empty(n, dtype=np.uint64)
    ptr = np.empty(n, dtype=np.uint8)
    ptrwords = np.empty(n, dtype=np.uint64)
    if death == "free":
        starts = prevs = np.zeros(0, dtype=np.int64)
    else:
        starts, ends = _cycle_times(tr)
        prevs = ends + 1 if cycles == "recorded" else starts
    object_columns(np.ascontiguousarray(tr.initial).view(np.uint8).ravel(),
                   np.ascontiguousarray(tr.allocs).view(np.uint8).ravel(),
                   np.ascontiguousarray(starts, dtype=np.int64),
                   np.ascontiguousarray(prevs, dtype=np.int64),
                   DEATH_MODELS_CODE[death], birth, dt, req, ptr, ptrwords)
    return birth, dt, req, ptr.view(np.bool_), ptrwords, n_init


def _stable_argsort(keys):
    """``np.argsort(keys, kind="stable")`` for non-negative int64 keys: one plain sort of
    key << bits | index (SIMD-sorted by numpy) when that fits in 63 bits, which orders
    equal keys by index exactly as a stable sort does; otherwise the stable sort."""
    n = len(keys)
    nb = max(n - 1, 1).bit_length()
    if n and int(keys.min()) >= 0 and int(keys.max()) < (1 << (63 - nb)):
        packed = keys << np.int64(nb)
        packed |= np.arange(n, dtype=np.int64)
        packed.sort()
        packed &= np.int64((1 << nb) - 1)
        return packed
    return np.argsort(keys, kind="stable")


def _op_stream(tr, death, cycles="pacer"):
    """Rows for replay_kernel, in order: at equal times drops, then GCs, then allocs.

    The allocations are already in time order (the reader writes them so) and the cycles
    are few: only the deaths are sorted (``_parse.sorted_deaths``: a radix sort), and the
    three sorted runs are merged in one linear pass (``_workloads.merge_op_stream``),
    which gives the order a stable sort of all rows by (time, priority) gives, without
    sorting or gathering every row."""
    from goruntime.workloads import _workloads
    from ._parse import sorted_deaths
    birth, dt, req, ptr, ptrwords, n_init = _objects(tr, death, cycles)
    n = len(birth)
    # one int64 key per row: (time + 1) * 4 + priority; a drop at its object's own birth
    # time must follow the alloc: priority 3
    akey = (birth + 1) * 4 + 2
    ident = np.arange(n, dtype=np.int64)
    if n > 1 and not (akey[1:] >= akey[:-1]).all():      # not from our reader: sort them
        ident = np.argsort(akey, kind="stable").astype(np.int64)
        akey = akey[ident]
    sd = sorted_deaths(birth, dt)                 # typed: one radix sort, no gathers
    if sd is not None:
        dkey, di = sd
    else:                                         # keys beyond 63 bits: numpy
        di = np.flatnonzero(dt >= 0)
        dd = dt[di]
        dkey = (dd + 1) * 4 + np.where(dd == birth[di], 3, 0)
        o = _stable_argsort(dkey)
        di, dkey = di[o], dkey[o]
    if cycles == "recorded":              # every cycle, at its mark termination
        gtime = _cycle_times(tr)[1]
    else:                                 # the forced ones, where they began
        gtime = tr.gcs["start"][tr.gcs["forced"]].astype(np.int64)
    gkey = np.sort((gtime + 1) * 4 + 1)
    rows = n + len(di) + len(gkey)
    op = np.empty(rows, np.uint8)
    dense = np.empty(rows, np.int64)
    time = np.empty(rows, np.int64)
    size = np.empty(rows, np.uint64)
    pointers = np.empty(rows, np.uint8)
    pw = np.empty(rows, np.uint64)
    _workloads.merge_op_stream(
        np.ascontiguousarray(akey, dtype=np.int64), ident, np.ascontiguousarray(dkey),
        np.ascontiguousarray(di, dtype=np.int64), gkey, (gkey - 1) // 4 - 1,
        np.ascontiguousarray(birth, dtype=np.int64), np.ascontiguousarray(dt, dtype=np.int64),
        np.ascontiguousarray(req, dtype=np.uint64),
        np.ascontiguousarray(ptr, dtype=np.bool_).view(np.uint8),
        np.ascontiguousarray(ptrwords, dtype=np.uint64), op, dense, time, size, pointers, pw)
    return (op, dense, size, pointers, pw, time, n, n_init)


@dataclass(frozen=True, eq=False)
class Prepared:
    """A trace made ready to replay under one death and cycle model: the op stream
    (numpy columns, see `_op_stream`) and what a replay reads besides. `prepare` makes
    it; `replay` / `replay_detail` take it in place of the trace, so a grid of
    configurations builds the stream once (``goruntime.sweep`` ships it to its workers
    once)."""
    op: np.ndarray
    dense: np.ndarray
    size: np.ndarray
    pointers: np.ndarray
    ptrwords: np.ndarray
    time: np.ndarray
    nobj: int
    n_init: int
    n_allocs: int
    tiny: int
    duration: int
    settings: dict
    death: str
    cycles: str

    COLUMNS = ("op", "dense", "size", "pointers", "ptrwords", "time")


def prepare(tr, death="spread", cycles="pacer"):
    """The `Prepared` replay input of trace *tr* (deaths and cycles: see the module)."""
    if isinstance(tr, Prepared):
        if (tr.death, tr.cycles) != (death, cycles):
            raise ValueError(f"this Prepared trace was made for death={tr.death!r}, "
                             f"cycles={tr.cycles!r}, not {death!r}, {cycles!r}")
        return tr
    _check_trace(tr)
    if death not in DEATH_MODELS:
        raise ValueError(f"death must be one of {DEATH_MODELS}, not {death!r}")
    if cycles not in CYCLE_MODELS:
        raise ValueError(f"cycles must be one of {CYCLE_MODELS}, not {cycles!r}")
    op, dense, size, pointers, pw, time, nobj, n_init = _op_stream(tr, death, cycles)
    return Prepared(op=op, dense=dense, size=size, pointers=pointers, ptrwords=pw, time=time,
                    nobj=int(nobj), n_init=int(n_init), n_allocs=int(len(tr.allocs)),
                    tiny=int(tr.allocs["tiny"].sum()), duration=int(tr.duration),
                    settings=dict(tr.settings), death=death, cycles=cycles)


def _settings(prep, gogc, memory_limit, gomaxprocs):
    s = prep.settings
    gogc = s.get("gogc", 100) if gogc is None else gogc
    memory_limit = s.get("memory_limit") if memory_limit is None else memory_limit
    if isinstance(memory_limit, str) and memory_limit.strip().lower() == "off":
        memory_limit = None
    gomaxprocs = s.get("gomaxprocs", 1) if gomaxprocs is None else gomaxprocs
    return gogc, memory_limit, gomaxprocs


def replay_detail(tr, *, gogc=None, memory_limit=None, gomaxprocs=None, death="spread",
                  cycles="pacer", progress=False):
    """`replay`, plus what happened on the way: ``(result, detail)`` where
    ``detail["cycles"]`` lists each cycle (kind, start time, heap_live at start and end,
    goal before and after, pause) and ``detail["samples"]`` holds arrays ``time`` (ns on
    the trace's time axis, GC time included), ``heap_live``, ``goal``."""
    from goruntime import runtime as _rt
    from goruntime.plot import Recorder
    from goruntime.workloads import _Run, _heap_triggered, _progress_bar
    from goruntime.workloads import _workloads

    prep = prepare(tr, death, cycles)
    gogc, memory_limit, gomaxprocs = _settings(prep, gogc, memory_limit, gomaxprocs)
    op, dense, size, pointers, pw, _time = (prep.op, prep.dense, prep.size, prep.pointers,
                                            prep.ptrwords, prep.time)
    nobj, n_init = prep.nobj, prep.n_init
    k = int(np.searchsorted(_time, 0, side="left")) if n_init else 0
    rest = op[k:] == OP_ALLOC
    clk = TraceClock(_time[k:][rest & (size[k:] > 0)])
    # the gaps in the recorded allocations: the program was blocked, and during a mark
    # Go's idle worker marked then (IDLE_GAP_NS or longer: a shorter one cannot end a mark)
    idle = _idle_gaps(op[k:], size[k:], _time[k:])
    r = _rt.Runtime(gogc=gogc, memory_limit=memory_limit, gomaxprocs=gomaxprocs, clock=clk)
    # the store columns: a trace has no store rows, so the kernel never reads them;
    # calloc'd zeros cost no memory until touched (np.full(-1) wrote 12 bytes a row)
    tdense = np.zeros(len(op), dtype=np.int64)
    offset = np.zeros(len(op), dtype=np.uint32)
    addr = np.zeros(max(nobj, 1), dtype=np.uint64)
    slot = np.full(max(nobj, 1), -1, dtype=np.int64)
    counts = np.zeros(4, dtype=np.int64)
    # the heap as tracing found it, built with the collector off, then one cycle so that
    # the pacer starts from its live heap (not counted below)
    with r:
        pct = r.pacer.gc_percent
        limit = r.pacer.memory_limit
        _heap_triggered(r)
        try:
            if k:
                r.set_gc_percent(-1)
                r.set_memory_limit(_rt._pacer.MAX_INT64)
                with _Run(r, "trace-snapshot", 0) as run:
                    _workloads.replay_kernel(run.mut, op[:k], dense[:k], size[:k], pointers[:k],
                                             tdense[:k], offset[:k], addr, slot, counts, pw[:k])
                r.set_gc_percent(pct)
                r.set_memory_limit(limit)
            r.gc()
            if cycles == "recorded":                 # no cycle but the recorded ones
                r.set_gc_percent(-1)
                r.set_memory_limit(_rt._pacer.MAX_INT64)
            bar = _progress_bar(progress, prep.n_allocs, "replay")
            before = r.read_mem_stats()
            clk.follow(r.heap)
            t_follow = clk.nanotime()
            with Recorder(r) as rec:
                with _Run(r, "trace-replay", 0, bar) as run:
                    _workloads.replay_kernel(run.mut, op[k:], dense[k:], size[k:], pointers[k:],
                                             tdense[k:], offset[k:], addr, slot, counts, pw[k:],
                                             idle)
                after = r.read_mem_stats()
        finally:
            live = slot >= 0
            r.heap.remove_roots(np.ascontiguousarray(slot[live]))
    samples = {"time": np.array([x.time_ns for x in rec.samples], dtype=np.int64) - t_follow,
               "heap_live": np.array([x.heap_live for x in rec.samples], dtype=np.int64),
               "goal": np.array([x.goal for x in rec.samples], dtype=np.int64),
               "event": [x.event for x in rec.samples]}
    cycles = [{"kind": g.kind, "heap_live_start": g.before.heap_live,
               "heap_live_end": g.after.heap_live, "goal": g.before.goal,
               "next_goal": g.after.goal, "pause_ns": g.pause_ns,
               "start": g.before.time_ns - t_follow} for g in rec.gcs]
    cpu = r.gc_record.cpu
    gc_cpu = int(cpu.GCTotalTime - cpu.GCIdleTime)
    run_cpu = prep.duration * int(gomaxprocs)        # the CPU the run has, Go's yardstick
    pauses = [c["pause_ns"] for c in cycles]
    tiny = prep.tiny
    result = {
        "gogc": int(r.pacer.gc_percent),
        "memory_limit": None if r.pacer.memory_limit >= _rt._pacer.MAX_INT64 else int(r.pacer.memory_limit),
        "gomaxprocs": int(gomaxprocs),
        "num_gc": int(after.NumGC - before.NumGC),
        "num_forced_gc": int(after.NumForcedGC - before.NumForcedGC),
        "peak_heap_bytes": int(max(rec.peak_heap_live, 0)),
        "peak_heap_inuse": int(rec.peak_heap_inuse),
        "mallocs": int(after.Mallocs - before.Mallocs) + tiny,
        "frees": int(after.Frees - before.Frees),
        "total_alloc": int(after.TotalAlloc - before.TotalAlloc),
        "gc_cpu_ns": gc_cpu,
        "gc_cpu_fraction": gc_cpu / (run_cpu + gc_cpu) if run_cpu + gc_cpu > 0 else 0.0,
        "pause_total_ns": int(after.PauseTotalNs - before.PauseTotalNs),
        "pause_max_ns": int(max(pauses, default=0)),
    }
    return result, {"cycles": cycles, "samples": samples, "death": death}


def replay(tr, *, gogc=None, memory_limit=None, gomaxprocs=None, death="spread",
           cycles="pacer", progress=False):
    """Replay trace *tr* under GOGC *gogc*, GOMEMLIMIT *memory_limit* (bytes, a GOMEMLIMIT
    string, or "off") and *gomaxprocs*; None = the recorded setting (``tr.settings``).

    Returns a dict: ``num_gc`` (cycles during the replay, forced ones included),
    ``num_forced_gc``, ``peak_heap_bytes`` (the largest heapLive, Go's HeapAlloc-like
    pacer input, as the trace's HeapAlloc events record it), ``peak_heap_inuse``,
    ``mallocs`` / ``frees`` / ``total_alloc`` (MemStats deltas; mallocs includes tiny
    sub-allocations), ``gc_cpu_ns``, ``gc_cpu_fraction``, ``pause_total_ns``,
    ``pause_max_ns``, and the settings used. *death*: see the module docstring.
    Deterministic: the same trace and settings give the same dict.
    """
    return replay_detail(tr, gogc=gogc, memory_limit=memory_limit, gomaxprocs=gomaxprocs,
                         death=death, cycles=cycles, progress=progress)[0]
