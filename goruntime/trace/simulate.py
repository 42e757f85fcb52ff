"""Replay a recorded Go program's allocations on an emulated runtime.

`replay` runs a `Trace`'s allocations, drops and forced cycles on a fresh `Runtime` with
the configuration asked for, in typed ``nogil`` Cython with no Python object per
allocation: straight from the trace's rows (``_workloads.replay_objects``, which merges
the allocations with the sorted deaths as it goes), or, for a `Prepared` input (a grid
builds it once), from its op stream of alloc / drop / gc rows
(``_workloads.replay_kernel``). Both make the same heap calls in the same order. Each
object is allocated in recorded order with its slot size and span class, kept alive (as
by a root: a bit of the heap's live set, `Heap.use_live_set`) until its death, then
dropped; the collector decides when it is reclaimed, as Go's
does.

What is modelled and what is not (docs/trace.md says more):

- **Pointers are not in a trace.** Nothing says which object points to which, so every
  object is kept alive, as by a root of its own, for exactly its recorded lifetime; marking
  therefore finds the same live set Go found, but not through the same graph. The mark
  *work* is modelled from the types: an object's first ``ptrbytes`` (the type's pointer
  bytes, repeated for arrays) are scanned, the rest is not.
- **Death times are not in a trace either.** Go reports a free when the sweeper reclaims
  the object, after the cycle whose mark found it dead; it died somewhere between the
  start of the cycle before (whose mark still found it alive, or its birth) and the
  start of that cycle. *death* picks the moment: ``"spread"`` (the default) spreads the
  deaths evenly over that interval, ``"early"`` takes its start (the smallest live heap
  the trace allows), ``"gc"`` its end (the largest), ``"free"`` the recorded free itself
  (later still: what a naive replay does); ``"fit"`` estimates the objects' lifetime
  distribution from the frees (per type or size class, `lifetimes`) and places each
  death at a quantile of it within the interval; ``"group"`` does that too, but gives
  objects that die together (a run of allocations freed by one sweep, many of which
  outlived the mark before) one shared death time. Runs under ``"early"`` and ``"gc"`` bracket
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
import weakref

import numpy as np

from dataclasses import dataclass

from goruntime import clock as _clock

__all__ = ["replay", "replay_detail", "prepare", "Prepared", "release_memory", "DEATH_MODELS", "CYCLE_MODELS"]

DEATH_MODELS = ("spread", "early", "gc", "free", "fit", "group")
DEATH_MODELS_CODE = {"free": 0, "gc": 1, "early": 2, "spread": 3}    # _parse.object_columns
# "fit" (lifetimes.fit_deaths) and "group" (lifetimes.group_deaths) have no code: their
# deaths come as a time per object (TIMED_DEATHS)
TIMED_DEATHS = {"fit": "fit_deaths", "group": "group_deaths"}
CYCLE_MODELS = ("pacer", "recorded")
SCHEDULE_MODELS = ("sysmon", "recorded")     # replay(schedule=...): see `replay`
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

    def __init__(self, times=None, now=None, busy=None):
        super().__init__()
        self.busy = None
        if busy is not None and len(busy):
            self._set_busy(busy)
        self._times = np.ascontiguousarray(times if times is not None else [], dtype=np.int64)
        self._now_cell = now      # or replay_objects' cell: (last time, count, time before)
        self._heap = None
        self._calls0 = 0

    def follow(self, heap):
        """Start following *heap*'s allocations: the next one is ``times[0]`` (or the
        next the cell is told of)."""
        self._heap = heap
        self._calls0 = heap.counters()["malloc_calls"]
        if self._now_cell is not None:
            self._now_cell[:] = 0

    def _recorded(self):
        if self._heap is None:
            return 0
        cell = self._now_cell
        if cell is None and not len(self._times):
            return 0
        k = self._heap.counters()["malloc_calls"] - self._calls0
        if k <= 0:
            return 0
        if cell is None:
            return int(self._times[min(k, len(self._times)) - 1])
        # the k-th allocation's time: the last one begun (made once mallocgc counted it)
        # or, inside that mallocgc before it counted, the one before
        return int(cell[2]) if k < int(cell[1]) else int(cell[0])

    def nanotime(self):
        return self._now + self._recorded()

    def _set_busy(self, busy):
        """The recorded intervals the P ran the program (`reader.BUSY_DTYPE`): the
        collector's idle worker gets the rest (`idle_ns`), its fractional worker a turn
        at their bounds (`next_switch`)."""
        st = np.ascontiguousarray(busy["start"], dtype=np.int64)
        en = np.ascontiguousarray(busy["end"], dtype=np.int64)
        self.busy = (st, en, np.concatenate([[0], np.cumsum(en - st)]),
                     np.unique(np.concatenate([st, en])))

    def recorded_ns(self):
        """The recorded time of the replay so far (`nanotime` without the GC charged)."""
        return self._recorded()

    def _busy_until(self, r):
        st, en, cum, _ = self.busy
        k = int(np.searchsorted(st, r, side="right")) - 1
        if k < 0:
            return 0
        return int(cum[k]) + min(max(r - int(st[k]), 0), int(en[k] - st[k]))

    def idle_ns(self, r0, r1):
        """The recorded time in [r0, r1) the P ran nothing of the program's (Go's idle
        mark worker had it, or would have)."""
        if r1 <= r0:
            return 0
        return (r1 - r0) - (self._busy_until(r1) - self._busy_until(r0))

    def next_switch(self, r):
        """The first recorded scheduling point (a goroutine started or left the P) after
        recorded time *r*, or None."""
        pts = self.busy[3]
        k = int(np.searchsorted(pts, r, side="right"))
        return int(pts[k]) if k < len(pts) else None

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
    from .reader import ALLOC_DTYPE, GC_DTYPE, Trace
    if not isinstance(tr, Trace):
        raise TypeError(f"replay needs a goruntime.trace.Trace (goruntime.trace.load), "
                        f"not {type(tr).__name__}")
    # the typed passes read the rows as ALLOC_DTYPE records: a Trace built by hand with
    # other columns would be read as garbage
    for name, dt in (("allocs", ALLOC_DTYPE), ("initial", ALLOC_DTYPE), ("gcs", GC_DTYPE)):
        a = getattr(tr, name)
        if not isinstance(a, np.ndarray) or a.ndim != 1 or a.dtype != dt:
            raise TypeError(f"goruntime.trace: Trace.{name} must be a 1-D numpy array of "
                            f"goruntime.trace.{'ALLOC' if dt is ALLOC_DTYPE else 'GC'}_DTYPE rows, "
                            f"not {getattr(a, 'dtype', type(a).__name__)!s}")
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
                   DEATH_MODELS_CODE.get(death, 0), birth, dt, req, ptr, ptrwords)
    if death in TIMED_DEATHS:             # the fitted lifetimes' deaths (lifetimes.py)
        from . import lifetimes
        dt = getattr(lifetimes, TIMED_DEATHS[death])(tr, cycles)[1]
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


@dataclass(frozen=True, eq=False)
class _Runs:
    """The three sorted runs a replay merges: allocations (objects ``ident`` in order, or
    0, 1, ... when ``ident`` is empty; key ``(birth + 1) * 4 + 2``), drops (objects ``di``,
    keys ``dkey``) and GCs (keys ``gkey``), with the object columns they index."""
    birth: np.ndarray
    dt: np.ndarray
    req: np.ndarray
    ptr: np.ndarray
    ptrwords: np.ndarray
    ident: np.ndarray
    dkey: np.ndarray
    di: np.ndarray
    gkey: np.ndarray
    n_init: int


def _runs(tr, death, cycles="pacer"):
    """The `_Runs` of trace *tr*: keys with their priority in the low two bits, at equal
    times drops (0), then GCs (1), then allocations (2); a drop at its object's own birth
    time follows the allocation (3).

    The allocations are already in time order (the reader writes them so) and the cycles
    are few: only the deaths are sorted (``_parse.sorted_deaths``: a radix sort)."""
    from ._parse import sorted_deaths
    birth, dt, req, ptr, ptrwords, n_init = _objects(tr, death, cycles)
    n = len(birth)
    ident = np.zeros(0, dtype=np.int64)          # the allocations in object order
    if n > 1 and not _is_sorted(birth):          # not from our reader: sort them
        ident = np.argsort((birth + 1) * 4 + 2, kind="stable").astype(np.int64)
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
    return _Runs(birth=birth, dt=dt, req=req, ptr=ptr, ptrwords=ptrwords, ident=ident,
                 dkey=np.ascontiguousarray(dkey, dtype=np.int64),
                 di=np.ascontiguousarray(di, dtype=np.int64), gkey=gkey, n_init=n_init)


def _is_sorted(a):
    """Whether *a* is ascending, in blocks (no temporary the length of *a*)."""
    step = 1 << 20
    for lo in range(0, len(a) - 1, step):
        b = a[lo:lo + step + 1]
        if not (b[1:] >= b[:-1]).all():
            return False
    return True


def _op_stream(tr, death, cycles="pacer"):
    """Rows for replay_kernel, in order: the `_Runs` merged in one linear pass
    (``_workloads.merge_op_stream``), which gives the order a stable sort of all rows by
    (time, priority) gives, without sorting or gathering every row."""
    from goruntime.workloads import _workloads
    u = _runs(tr, death, cycles)
    birth, n = u.birth, len(u.birth)
    if len(u.ident):
        ident = u.ident
        akey = ((birth + 1) * 4 + 2)[ident]
    else:
        ident = np.arange(n, dtype=np.int64)
        akey = (birth + 1) * 4 + 2
    gkey = u.gkey
    rows = n + len(u.di) + len(gkey)
    op = np.empty(rows, np.uint8)
    dense = np.empty(rows, np.int64)
    time = np.empty(rows, np.int64)
    size = np.empty(rows, np.uint64)
    pointers = np.empty(rows, np.uint8)
    pw = np.empty(rows, np.uint64)
    _workloads.merge_op_stream(
        np.ascontiguousarray(akey, dtype=np.int64), ident, u.dkey, u.di, gkey,
        (gkey - 1) // 4 - 1,
        np.ascontiguousarray(birth, dtype=np.int64), np.ascontiguousarray(u.dt, dtype=np.int64),
        np.ascontiguousarray(u.req, dtype=np.uint64),
        np.ascontiguousarray(u.ptr, dtype=np.bool_).view(np.uint8),
        np.ascontiguousarray(u.ptrwords, dtype=np.uint64), op, dense, time, size, pointers, pw)
    return (op, dense, size, pointers, pw, time, n, u.n_init)


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
    busy: np.ndarray = None

    COLUMNS = ("op", "dense", "size", "pointers", "ptrwords", "time")


def prepare(tr, death="spread", cycles="pacer"):
    """The `Prepared` replay input of trace *tr* (deaths and cycles: see the module)."""
    if isinstance(tr, Prepared):
        if (tr.death, tr.cycles) != (death, cycles):
            raise ValueError(f"this Prepared trace was made for death={tr.death!r}, "
                             f"cycles={tr.cycles!r}, not {death!r}, {cycles!r}")
        _check_prepared(tr)
        return tr
    m = _meta(tr, death, cycles)
    op, dense, size, pointers, pw, time, nobj, n_init = _op_stream(tr, death, cycles)
    return Prepared(op=op, dense=dense, size=size, pointers=pointers, ptrwords=pw, time=time,
                    nobj=int(nobj), n_init=int(n_init), n_allocs=m.n_allocs, tiny=m.tiny,
                    duration=m.duration, settings=m.settings, death=death, cycles=cycles,
                    busy=m.busy)


_COLUMN_DTYPES = {"op": np.uint8, "dense": np.int64, "size": np.uint64, "pointers": np.uint8,
                  "ptrwords": np.uint64, "time": np.int64}


def _check_prepared(p):
    """A `Prepared` not made by `prepare` here (built by hand, changed in place, unpickled,
    memory-mapped by a sweep worker) is checked before its rows reach the typed replay
    kernel, which trusts them (an object id is an index into its tables): the columns
    are 1-D arrays of the op stream's dtypes and one length, every row an allocation,
    a drop or a GC, and every object id of an allocation or drop in ``0..nobj-1``."""
    n = None
    for name in Prepared.COLUMNS:
        a, dt = getattr(p, name), _COLUMN_DTYPES[name]
        if not isinstance(a, np.ndarray) or a.ndim != 1 or a.dtype != dt:
            raise TypeError(f"goruntime.trace: Prepared.{name} must be a 1-D numpy array of "
                            f"{np.dtype(dt)}, not {getattr(a, 'dtype', type(a).__name__)!s}")
        if n is None:
            n = len(a)
        elif len(a) != n:
            raise ValueError(f"goruntime.trace: Prepared.{name} has {len(a)} rows, "
                             f"Prepared.op {n}: every column has one entry per row")
    for name in ("nobj", "n_init", "n_allocs", "tiny", "duration"):
        v = getattr(p, name)
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
            raise ValueError(f"goruntime.trace: Prepared.{name} must be an int >= 0, not {v!r}")
    if not isinstance(p.settings, dict):
        raise TypeError(f"goruntime.trace: Prepared.settings must be a dict, not "
                        f"{type(p.settings).__name__}")
    cols = tuple(getattr(p, name) for name in Prepared.COLUMNS)
    seen = _CHECKED.get(p)
    if seen is not None and seen[1] == int(p.nobj) and all(a is b for a, b in zip(seen[0], cols)):
        return                  # these very columns passed below, and cannot have changed
    _check_rows(p)
    if all(_immutable(a) for a in cols):
        _CHECKED[p] = (cols, int(p.nobj))


def _check_rows(p):
    """`_check_prepared`'s pass over the rows: every op known, every object id in range."""
    op = p.op
    bad = np.flatnonzero((op != OP_ALLOC) & (op != OP_DROP) & (op != OP_GC))
    if len(bad):
        raise ValueError(f"goruntime.trace: Prepared row {int(bad[0])} has op {int(op[bad[0]])}, "
                         f"not an allocation ({OP_ALLOC}), drop ({OP_DROP}) or GC ({OP_GC})")
    ids = op != OP_GC
    bad = np.flatnonzero(ids & ((p.dense < 0) | (p.dense >= int(p.nobj))))
    if len(bad):
        raise ValueError(f"goruntime.trace: Prepared row {int(bad[0])} names object "
                         f"{int(p.dense[bad[0]])}, outside 0..nobj-1 (nobj={int(p.nobj)})")


# `Prepared` inputs whose rows passed `_check_prepared` and cannot change (`_immutable`
# columns: a sweep worker's memory-mapped input), with the columns and ``nobj`` checked:
# the same object with the same columns is not checked again (a pass over every row).
_CHECKED = weakref.WeakKeyDictionary()


def _immutable(a):
    """True when nothing can write array *a*'s memory through numpy: it is read-only and
    its base chain ends at a read-only buffer (a read-only memory map, bytes). An array
    that owns its memory can be made writable again by whoever holds it."""
    if not isinstance(a, np.ndarray) or a.flags.writeable:
        return False
    b = a
    while isinstance(b, np.ndarray):
        if b.base is None:
            return False
        b = b.base
    try:
        return memoryview(b).readonly
    except TypeError:
        return False


def _settings(prep, gogc, memory_limit, gomaxprocs):
    s = prep.settings
    gogc = s.get("gogc", 100) if gogc is None else gogc
    memory_limit = s.get("memory_limit") if memory_limit is None else memory_limit
    if isinstance(memory_limit, str) and memory_limit.strip().lower() == "off":
        memory_limit = None
    gomaxprocs = s.get("gomaxprocs", 1) if gomaxprocs is None else gomaxprocs
    return gogc, memory_limit, gomaxprocs


@dataclass(frozen=True)
class _Meta:
    """What a replay reads of a trace besides its rows (`Prepared` has the same fields)."""
    n_allocs: int
    tiny: int
    duration: int
    settings: dict
    busy: np.ndarray = None


def _busy_used(prep, gomaxprocs):
    """The recorded busy intervals (`reader.BUSY_DTYPE`) the replay schedules its mark
    by, or None: a trace with scheduling events, recorded and replayed with one P (with
    more, which goroutine ran on which P is not followed: the sysmon and idle-gap rules
    apply, as for a trace without them)."""
    busy = prep.busy
    if busy is None or not len(busy) or int(gomaxprocs) != 1 \
            or int(prep.settings.get("gomaxprocs", 1)) != 1:
        return None
    return busy


def _meta(tr, death, cycles):
    """The `_Meta` of trace *tr*, after checking it and the models asked for."""
    _check_trace(tr)
    if death not in DEATH_MODELS:
        raise ValueError(f"death must be one of {DEATH_MODELS}, not {death!r}")
    if cycles not in CYCLE_MODELS:
        raise ValueError(f"cycles must be one of {CYCLE_MODELS}, not {cycles!r}")
    return _Meta(n_allocs=int(len(tr.allocs)),
                 tiny=int(np.count_nonzero(tr.allocs["tiny"])),
                 duration=int(tr.duration), settings=dict(tr.settings),
                 busy=getattr(tr, "busy", None))


class _Scratch(weakref.WeakKeyDictionary):
    """Per process, while heap memory is kept between replays (`_heap.keep_memory`: a
    sweep worker, a `whatif` grid): each `Prepared` input's clock times and idle gaps
    (read only) and the last replay's per-object arrays, reused (reset) by its next replay
    instead of fresh memory (its pages faulted in, or read as zeros a fault per page, for
    every replay). ``rows`` holds at most one `_RunSource.make` entry: the sorted deaths
    of a trace whose rows cannot change (a sweep worker's memory-mapped trace), with its
    slot array. `clear` gives both back."""

    def __init__(self):
        super().__init__()
        self.rows = []

    def clear(self):
        self.rows.clear()
        super().clear()


_SCRATCH = _Scratch()

# The memory of the last replay from a trace's rows (`_RunSource`), for the next: the
# deaths' sort buffers (two int64 arrays) and the slot array (int32), at most one set,
# taken by a replay (so two replays at once never share it) and given back at its end.
# Every entry a replay reads it writes first, so what they held does not matter; the
# pages stay faulted in (a fresh set costs the kernel ~40K small-page faults and their
# zeroing for the 10M trace). `release_memory` gives them back.
_WORK = []


def _take_work(n):
    """The kept sort buffers and slot array if they hold *n* entries, else None."""
    try:
        w = _WORK.pop()
    except IndexError:
        return None
    return w if len(w["slot"]) >= max(n, 1) and len(w["sort"][0]) >= n else None


def release_memory():
    """Give back the memory this process keeps from one trace replay for the next: the
    last replay's sort buffers and slot array, and its emulated heap's metadata (reset;
    kept by ``goruntime._heap``, which any new heap of the same size would take)."""
    from goruntime import _heap
    _WORK.clear()
    prev = _heap.keep_memory(False)
    if prev:
        _heap.keep_memory(True)


class _RowSource:
    """A replay of a `Prepared` op stream (``_workloads.replay_kernel``): the snapshot's
    rows (time < 0) first, then the rest, with the idle gaps as a column."""
    idle_gaps = True          # give the idle worker the gaps (False: the clock's busy times)

    def __init__(self, prep):
        from goruntime import _heap
        self.p = prep
        self.k = int(np.searchsorted(prep.time, 0, side="left")) if prep.n_init else 0
        # the store columns: a trace has no store rows, so the kernel never reads them;
        # calloc'd zeros cost no memory until touched (np.full(-1) wrote 12 bytes a row)
        n = len(prep.op)
        self.tdense = np.zeros(n, dtype=np.int64)
        self.offset = np.zeros(n, dtype=np.uint32)
        self.scratch = _SCRATCH.get(prep) if _heap.keep_memory() else None
        if self.scratch is None:
            self.scratch = {}
            if _heap.keep_memory():
                _SCRATCH[prep] = self.scratch
        kept = self.scratch.pop("objects", None)      # in use by this replay only
        if kept is not None:
            self.addr, self.slot = kept
            self.addr.fill(0)
            self.slot.fill(-1)
        else:
            self.addr = np.zeros(max(prep.nobj, 1), dtype=np.uint64)
            self.slot = np.full(max(prep.nobj, 1), -1, dtype=np.int64)
        self.counts = np.zeros(4, dtype=np.int64)

    def done(self):
        """The replay is over: its per-object arrays go to the next (when kept)."""
        if self.scratch is not None and _SCRATCH.get(self.p) is self.scratch:
            self.scratch["objects"] = (self.addr, self.slot)

    def clock(self):
        p, k = self.p, self.k
        times = self.scratch.get("times")
        if times is None:
            rest = p.op[k:] == OP_ALLOC
            times = p.time[k:][rest & (p.size[k:] > 0)]
            times.flags.writeable = False
            if _SCRATCH.get(p) is self.scratch:
                self.scratch["times"] = times
        return TraceClock(times)

    def has_snapshot(self):
        return self.k > 0

    def _kernel(self, mut, lo, hi, idle=None):
        from goruntime.workloads import _workloads
        p = self.p
        _workloads.replay_kernel(mut, p.op[lo:hi], p.dense[lo:hi], p.size[lo:hi],
                                 p.pointers[lo:hi], self.tdense[lo:hi], self.offset[lo:hi],
                                 self.addr, self.slot, self.counts, p.ptrwords[lo:hi], idle,
                                 live=True)

    def snapshot(self, mut):
        self._kernel(mut, 0, self.k)

    def rest(self, mut):
        p, k = self.p, self.k
        # the gaps in the recorded allocations: the program was blocked, and during a mark
        # Go's idle worker marked then (IDLE_GAP_NS or longer: a shorter one cannot end a
        # mark)
        idle = self.scratch.get("idle")
        if idle is None:
            idle = _idle_gaps(p.op[k:], p.size[k:], p.time[k:])
            if _SCRATCH.get(p) is self.scratch:
                self.scratch["idle"] = idle           # read only: the next replay's too
        self._kernel(mut, k, len(p.op), idle if self.idle_gaps else None)

    def holds(self):
        return self.slot             # -1 (no hold) entries included: release_holds skips them


def _fit_sorted_deaths(tr, cycles, death="fit"):
    """`_parse.trace_deaths` for ``death="fit"`` or ``"group"``: the deaths
    `lifetimes.fit_deaths` (`group_deaths`) places, sorted by ``_parse.sorted_deaths``;
    None as trace_deaths (allocations out of time order, keys beyond 63 bits)."""
    from ._parse import sorted_deaths
    from . import lifetimes
    if not _is_sorted(tr.allocs["time"]):
        return None
    birth, dt = getattr(lifetimes, TIMED_DEATHS[death])(tr, cycles)
    return sorted_deaths(birth, dt)


SNAPSHOT_STOP_KEY = 4           # the smallest key of a row at time 0: the snapshot ends there
NO_STOP_KEY = (1 << 63) - 1


class _RunSource:
    """A replay straight from a trace's rows (``_workloads.replay_objects``): the
    allocations are read in chunks (``_parse.slot_object_chunk``), the deaths placed and
    sorted in one pass (``_parse.trace_deaths``), the three runs merged by the kernel as
    it goes. The heap sees the calls `_RowSource` makes for the same trace, but no
    op-stream row, object column, idle-gap or store column is built: fresh memory is
    what a replay pays most for (the kernel zeroes each page). `make` returns None when
    this path does not apply (allocations out of time order, keys beyond 63 bits)."""
    CHUNK = 1 << 15
    idle_gaps = True          # as `_RowSource`'s

    @classmethod
    def make(cls, tr, death, cycles, tiny=None):
        """*tiny*: the trace's tiny allocations (`_Meta.tiny`) if counted already.

        While heap memory is kept (`_heap.keep_memory`: a sweep worker), the deaths of a
        trace whose rows cannot change (`_immutable`: the worker's memory-mapped trace)
        are placed and sorted once and kept, with the slot array, for the next replay of
        the same rows under the same models (`_Scratch.rows`)."""
        from goruntime import _heap
        from ._parse import trace_deaths
        rows = (tr.initial, tr.allocs, tr.gcs)
        for kept in list(_SCRATCH.rows):
            if (kept["models"] == (death, cycles)
                    and all(a is b for a, b in zip(kept["rows"], rows))):
                # one pop, not a test and a pop: another thread's replay of the same rows
                # may take the slot array in between (then this one makes its own)
                slot = kept.pop("slot", None)
                if slot is not None:
                    src = cls(*kept["args"], slot=slot)
                    src.kept = kept
                    return src
        initial = np.ascontiguousarray(tr.initial).view(np.uint8).ravel()
        allocs = np.ascontiguousarray(tr.allocs).view(np.uint8).ravel()
        n_init = len(tr.initial) - int(np.count_nonzero(tr.initial["tiny"]))
        if tiny is None:
            tiny = int(np.count_nonzero(tr.allocs["tiny"]))
        n = n_init + len(tr.allocs) - tiny
        if death == "free":
            starts = prevs = np.zeros(0, dtype=np.int64)
        else:
            starts, ends = _cycle_times(tr)
            prevs = ends + 1 if cycles == "recorded" else starts
        keep_rows = _heap.keep_memory() and all(_immutable(a) for a in rows)
        work = None if keep_rows else _take_work(n)
        if work is None and not keep_rows:
            from .reader import _rows
            work = {"sort": (_rows(n, np.int64), _rows(n, np.int64)),
                    "slot": np.empty(max(n, 1), dtype=np.int32)}
        if death in TIMED_DEATHS:       # a death time per object (lifetimes.py), sorted
            sd = _fit_sorted_deaths(tr, cycles, death)
        else:
            sd = trace_deaths(initial, allocs, np.ascontiguousarray(starts, dtype=np.int64),
                              np.ascontiguousarray(prevs, dtype=np.int64),
                              DEATH_MODELS_CODE[death], n, None if work is None else work["sort"])
        if sd is None:                  # allocations out of time order, or wide keys
            if work is not None:
                _WORK[:] = [work]
            return None
        if cycles == "recorded":              # every cycle, at its mark termination
            gtime = _cycle_times(tr)[1]
        else:                                 # the forced ones, where they began
            gtime = tr.gcs["start"][tr.gcs["forced"]].astype(np.int64)
        args = (initial, allocs, n, n_init, sd, np.sort((gtime + 1) * 4 + 1))
        if keep_rows:
            src = cls(*args)
        else:                            # this replay's memory, the next one's after
            src = cls(*args, slot=work["slot"])
            src.work = work
        if keep_rows:
            for a in (*sd, args[-1]):
                a.flags.writeable = False    # read by the kernel only
            src.kept = {"rows": rows, "models": (death, cycles), "args": args}
            _SCRATCH.rows[:] = [src.kept]
        return src

    def __init__(self, initial, allocs, n, n_init, deaths, gkey, slot=None):
        self.initial, self.allocs, self.n, self.n_init = initial, allocs, n, n_init
        self.dkey, self.di = deaths
        self.gkey = np.ascontiguousarray(gkey, dtype=np.int64)
        # read and written at random (a drop's object): numpy's huge pages, fewer TLB
        # misses; the kernel writes an object's entry before it reads it
        self.slot = np.empty(max(n, 1), dtype=np.int32) if slot is None else slot
        self.kept = None
        self.work = None                 # `_WORK`'s memory, given back by `done`
        self.state = np.zeros(5, dtype=np.int64)
        self.now = np.zeros(3, dtype=np.int64)
        c = self.CHUNK
        self.birth = np.empty(c, np.int64)
        self.req = np.empty(c, np.uint64)
        self.ptr = np.empty(c, np.uint8)
        self.ptrwords = np.empty(c, np.uint64)
        self.k0 = self.clen = self.row = 0

    def clock(self):
        return TraceClock(now=self.now)

    def has_snapshot(self):
        return self.n_init > 0           # its objects are born at -1: before time 0

    def _kernel(self, mut, stop_key, min_gap, now):
        from goruntime.workloads import _workloads
        from ._parse import slot_object_chunk
        while True:
            i = int(self.state[0])
            if i < self.n and i >= self.k0 + self.clen:      # the next chunk
                self.row, self.clen = slot_object_chunk(self.initial, self.allocs, self.row,
                                                        self.birth, self.req, self.ptr,
                                                        self.ptrwords)
                self.k0 = i
            c = self.clen
            if not _workloads.replay_objects(
                    mut, self.k0, self.birth[:c], self.req[:c], self.ptr[:c],
                    self.ptrwords[:c], self.n, self.dkey, self.di, self.gkey, self.slot,
                    self.state, stop_key, min_gap, now, live=True):
                return

    def snapshot(self, mut):
        self._kernel(mut, SNAPSHOT_STOP_KEY, 0, None)

    def rest(self, mut):
        self.state[3:] = 0              # idle gaps count from the first allocation after
        self._kernel(mut, NO_STOP_KEY, IDLE_GAP_NS if self.idle_gaps else 0, self.now)

    def holds(self):
        return self.slot[:int(self.state[0])]     # int32; release_holds skips the -1s

    def done(self):
        """The replay is over: a kept entry's slot array goes to its next replay."""
        if self.kept is not None and any(k is self.kept for k in _SCRATCH.rows):
            self.kept["slot"] = self.slot
        if self.work is not None:
            _WORK[:] = [self.work]
            self.work = None


def replay_detail(tr, *, gogc=None, memory_limit=None, gomaxprocs=None, death="spread",
                  cycles="pacer", progress=False, schedule="sysmon"):
    """`replay`, plus what happened on the way: ``(result, detail)`` where
    ``detail["cycles"]`` lists each cycle (kind, start time, heap_live at start and end,
    goal before and after, pause) and ``detail["samples"]`` holds arrays ``time`` (ns on
    the trace's time axis, GC time included), ``heap_live``, ``goal``."""
    from goruntime import runtime as _rt
    from goruntime.plot import Recorder
    from goruntime.workloads import _Run, _heap_triggered, _progress_bar, _workloads

    src = None
    if not isinstance(tr, Prepared):     # no op stream: the kernel merges as it goes
        prep = _meta(tr, death, cycles)
        src = _RunSource.make(tr, death, cycles, prep.tiny)
    if src is None:
        prep = prepare(tr, death, cycles)
        src = _RowSource(prep)
    gogc, memory_limit, gomaxprocs = _settings(prep, gogc, memory_limit, gomaxprocs)
    clk = src.clock()
    if schedule not in SCHEDULE_MODELS:
        raise ValueError(f"schedule must be one of {SCHEDULE_MODELS}, not {schedule!r}")
    busy = _busy_used(prep, gomaxprocs) if schedule == "recorded" else None
    src.idle_gaps = busy is None
    if busy is not None:
        clk._set_busy(busy)
    r = _rt.Runtime(gogc=gogc, memory_limit=memory_limit, gomaxprocs=gomaxprocs, clock=clk)
    if busy is not None:
        # the mark runs as Go's did beside the recorded program, so Go's own endCycle
        # measurement applies (its mark's duration, idle time and heap growth)
        r.pacer.cons_mark_model = "go"
    # its metadata, reset, for the next heap when it is freed (`_heap.keep_memory`; the
    # kernel need not fault a new heap's pages in for the next replay)
    r.heap.recycle = True
    r.heap.use_live_set()        # the replayed objects are held span by span, not by roots
    # the heap as tracing found it, built with the collector off, then one cycle so that
    # the pacer starts from its live heap (not counted below)
    with r:
        pct = r.pacer.gc_percent
        limit = r.pacer.memory_limit
        _heap_triggered(r)
        try:
            if src.has_snapshot():
                r.set_gc_percent(-1)
                r.set_memory_limit(_rt._pacer.MAX_INT64)
                with _Run(r, "trace-snapshot", 0) as run:
                    src.snapshot(run.mut)
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
                    src.rest(run.mut)
                after = r.read_mem_stats()
        finally:
            _workloads.release_holds(r.heap, src.holds())
            src.done()
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
           cycles="pacer", progress=False, schedule="sysmon"):
    """Replay trace *tr* under GOGC *gogc*, GOMEMLIMIT *memory_limit* (bytes, a GOMEMLIMIT
    string, or "off") and *gomaxprocs*; None = the recorded setting (``tr.settings``).

    Returns a dict: ``num_gc`` (cycles during the replay, forced ones included),
    ``num_forced_gc``, ``peak_heap_bytes`` (the largest heapLive, Go's HeapAlloc-like
    pacer input, as the trace's HeapAlloc events record it), ``peak_heap_inuse``,
    ``mallocs`` / ``frees`` / ``total_alloc`` (MemStats deltas; mallocs includes tiny
    sub-allocations), ``gc_cpu_ns``, ``gc_cpu_fraction``, ``pause_total_ns``,
    ``pause_max_ns``, and the settings used. *death*: see the module docstring.
    *schedule*: ``"sysmon"`` (the default) gives the fractional mark worker sysmon's
    preemptions and the idle worker all the time between check points and the gaps in
    the allocations; ``"recorded"`` (a trace recorded and replayed at GOMAXPROCS=1 with
    its scheduling events) gives the fractional worker the recorded scheduling points,
    the idle worker the recorded time the P ran nothing of the program's, and measures
    consMark by Go's endCycle formula (docs/trace.md: not the default, measured further
    from Go on the pool shape). Deterministic: the same trace and settings give the
    same dict.
    """
    return replay_detail(tr, gogc=gogc, memory_limit=memory_limit, gomaxprocs=gomaxprocs,
                         death=death, cycles=cycles, progress=progress,
                         schedule=schedule)[0]
