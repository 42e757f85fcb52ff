"""Read a Go 1.27 execution trace (format v2, ``go 1.26 trace``) into numpy arrays.

`load` is our own reader of the binary format Go's ``runtime/trace`` writes (no Go
toolchain needed): the file is a header and a sequence of *generations*, each a run of
batches ended by an EndOfGeneration byte. A batch is an event batch (per M: timed events,
each a type byte and uvarint arguments, the first a timestamp delta), a strings, stacks,
CPU-samples or sync (clock frequency and snapshot) batch, or an *experimental* batch. With
``GODEBUG=traceallocfree=1`` the AllocFree experiment adds span, heap-object and
goroutine-stack events (address ids, type ids) and experimental batches carrying the type
table (id, size, pointer bytes, name) and the heap geometry (base address, page size,
minimum alignment).

What we keep, per trace (`Trace`): every heap object allocation with its time, address,
slot size, size class, pointerfulness, type and estimated pointer bytes; every free; the
heap snapshot at the start; the GC cycles (begin/end, forced or not, heap live and goal
around them); the HeapAlloc (heapLive) and HeapGoal series; stop-the-world ranges;
GOMAXPROCS changes; the string and stack tables; counts of every event type.

Go writes only an object's address and type; its slot size comes from the span that
holds it, so `load` replays the span events against a page table. Events are put in one
order by timestamp (stable: the batches by generation and start, then file order within a
batch); Go's own reader also uses per-goroutine sequence numbers, which the heap events do
not need.

One pass over the events does the work, typed ``nogil`` Cython (``_parse.pyx``): it
merges the batches by time, validates and counts each event as it decodes it, and writes
each event straight into its output row (room reserved from an upper bound on the events,
populated as it is written; where that cannot be had, a first pass counts every event).
Python
touches only the few hundred batches, the string/stack/type tables and the GC and metric
events. Malformed input raises ``ValueError`` naming the byte offset; the passes never
read outside the buffer.
"""
from __future__ import annotations

import mmap
import os
from dataclasses import dataclass, field

import numpy as np

from . import _parse
from . import spec as _spec

__all__ = ["load", "parse", "Trace", "ALLOC_DTYPE", "FREE_DTYPE", "GC_DTYPE", "TYPE_DTYPE"]

ERRORS = {
    1: "malformed uvarint",
    2: "expected a batch (EventBatch, ExperimentalBatch or EndOfGeneration byte)",
    3: "batch runs past the end of the trace (truncated?)",
    4: "batch larger than the maximum batch size (65536 bytes)",
    5: "event type that cannot appear in an event batch",
    6: "event runs past the end of its batch",
    7: "heap span or object address range larger than 64 GiB (corrupt ids?)",
    10: "heap span of a size class whose page count is not that class's",
}
_DROPPED = np.uint64(2**64 - 1)     # _parse's size mark of an object that found no slot

#: Allocations (and the start-of-trace heap snapshot, `Trace.initial`).
ALLOC_DTYPE = np.dtype([
    ("time", np.int64),        # ns since the trace's first batch
    ("addr", np.uint64),       # object address
    ("size", np.uint64),       # slot bytes (TotalAlloc's unit); 0 for a tiny sub-allocation
    ("sizeclass", np.uint8),   # Go size class (0 = large object)
    ("pointerful", np.bool_),  # allocated in a scan span class
    ("tiny", np.bool_),        # a tiny sub-allocation inside an existing 16-byte block
    ("type", np.int32),        # index into Trace.types, -1 when Go wrote no type
    ("ptrbytes", np.uint64),   # bytes from the start that may hold pointers (estimated)
    ("free_time", np.int64),   # time of its recorded free, -1 if not freed in the trace
])
FREE_DTYPE = np.dtype([
    ("time", np.int64), ("addr", np.uint64), ("size", np.uint64),
    ("alloc", np.int64),       # index into Trace.allocs, -1 if none
    ("initial", np.int64),     # index into Trace.initial, -1 if none
])
GC_DTYPE = np.dtype([
    ("seq", np.int64), ("start", np.int64), ("end", np.int64), ("forced", np.bool_),
    ("heap_live_start", np.int64),   # HeapAlloc (heapLive) in force when the cycle began
    ("heap_goal", np.int64),         # HeapGoal in force when the cycle began
    ("heap_marked", np.int64),       # HeapAlloc right after the cycle (heapLive := marked)
    ("next_goal", np.int64),         # HeapGoal set by the cycle
])
TYPE_DTYPE = np.dtype([("addr", np.uint64), ("size", np.uint64), ("ptrbytes", np.uint64),
                       ("name", object)])
assert ALLOC_DTYPE.itemsize == _parse.ALLOC_REC_SIZE and FREE_DTYPE.itemsize == _parse.FREE_REC_SIZE
SERIES_DTYPE = np.dtype([("time", np.int64), ("value", np.int64)])
STW_DTYPE = np.dtype([("start", np.int64), ("end", np.int64), ("kind", object)])

# event numbers used below
_EV = _spec.EV
EV_PROCS_CHANGE, EV_STW_BEGIN, EV_STW_END = _EV["ProcsChange"], _EV["STWBegin"], _EV["STWEnd"]
EV_GC_BEGIN, EV_GC_END, EV_GC_ACTIVE = _EV["GCBegin"], _EV["GCEnd"], _EV["GCActive"]
EV_HEAP_ALLOC, EV_HEAP_GOAL = _EV["HeapAlloc"], _EV["HeapGoal"]
EV_STRINGS, EV_STRING, EV_STACKS, EV_STACK = (_EV["Strings"], _EV["String"], _EV["Stacks"],
                                              _EV["Stack"])
EV_CPU_SAMPLES, EV_SYNC, EV_FREQUENCY, EV_CLOCK_SNAPSHOT = (
    _EV["CPUSamples"], _EV["Sync"], _EV["Frequency"], _EV["ClockSnapshot"])
K_SPAN, K_SPAN_ALLOC, K_SPAN_FREE = _EV["Span"], _EV["SpanAlloc"], _EV["SpanFree"]
K_OBJECT, K_OBJECT_ALLOC, K_OBJECT_FREE = (_EV["HeapObject"], _EV["HeapObjectAlloc"],
                                           _EV["HeapObjectFree"])
#: The scheduling events (`_busy_intervals`): a goroutine starts running on its P, stops
#: running there (yields or is preempted, blocks, ends, loses its P in a syscall), the P
#: stops; GoLabel names a GC mark worker right after its GoStart.
EV_GO_START, EV_GO_LABEL = _EV["GoStart"], _EV["GoLabel"]
EV_GO_END = [_EV["GoStop"], _EV["GoBlock"], _EV["GoDestroy"], _EV["GoSyscallEndBlocked"],
             _EV["ProcStop"]]
#: The event types besides the heap's that `parse` keeps (GC, STW, metrics, GOMAXPROCS, and
#: the scheduling events above).
EV_KEEP_MISC = [EV_PROCS_CHANGE, EV_STW_BEGIN, EV_STW_END, EV_GC_BEGIN, EV_GC_END, EV_GC_ACTIVE,
                EV_HEAP_ALLOC, EV_HEAP_GOAL, EV_GO_START, EV_GO_LABEL, *EV_GO_END]
BUSY_DTYPE = np.dtype([("start", np.int64), ("end", np.int64)])
_MISC = np.zeros(256, dtype=np.uint8)
_MISC[EV_KEEP_MISC] = 1
_NARGS = np.array(_spec.timed_nargs(), dtype=np.int8)
#: Functions on a GCBegin stack that make the cycle a forced one (not heap-triggered).
FORCED_GC_FUNCS = frozenset({"runtime.GC", "runtime/debug.FreeOSMemory", "runtime.forcegchelper"})
GO_PAGE_SIZE, GO_MIN_HEAP_ALIGN = 8192, 8   # runtime._PageSize, internal/runtime/gc.MinHeapAlign
MAX_HEAP_PAGES = 1 << 23          # 64 GiB of 8 KiB pages: bigger heap address ranges are refused
_CLASS_TABLES = None              # filled lazily from goruntime._heap (_class_sizes)


_INT64_MAX = 2 ** 63 - 1


class _Err(ValueError):
    pass


def _fail(msg, offset):
    raise ValueError(f"goruntime.trace: {msg} at byte offset {offset}")


@dataclass
class Generation:
    """One generation's tables (ids are local to it)."""
    gen: int
    freq: float = 0.0                           # ns per clock tick (Go: frequency)
    strings: dict = field(default_factory=dict)  # id -> str
    stacks: dict = field(default_factory=dict)   # id -> tuple of frame pcs
    frames: dict = field(default_factory=dict)   # pc -> (func string id, file string id, line)
    types: list = field(default_factory=list)    # (id, addr, size, ptrbytes, name)
    type_offsets: list = field(default_factory=list)  # byte offset of each types entry
    clock_snapshot: tuple | None = None          # (ticks, mono ns, sec, nsec)
    batches: list = field(default_factory=list)  # event batch rows

    def stack_funcs(self, sid):
        """Function names of stack *sid*, innermost first (empty if unknown)."""
        out = []
        for pc in self.stacks.get(sid, ()):
            fr = self.frames.get(pc)
            if fr is not None:
                out.append(self.strings.get(fr[0], "?"))
        return out


@dataclass
class Trace:
    """A loaded execution trace: numpy arrays of its heap activity and GC cycles.

    ``allocs`` (`ALLOC_DTYPE`) every allocation made during the trace, in time order;
    ``initial`` the heap snapshot Go writes when tracing starts (same dtype, time 0);
    ``frees`` (`FREE_DTYPE`) every object the sweeper freed; ``gcs`` (`GC_DTYPE`) the
    recorded cycles; ``heap_alloc`` / ``heap_goal`` the HeapAlloc (heapLive) and
    HeapGoal series (`SERIES_DTYPE`); ``stw`` stop-the-world ranges with their kind;
    ``types`` (`TYPE_DTYPE`); ``procs`` GOMAXPROCS changes; ``generations`` the per
    generation string/stack tables; ``event_counts`` {event name: count};
    ``anomalies`` counts of events that did not fit (see `load`); ``settings`` the
    recorded GOGC / GOMEMLIMIT / GOMAXPROCS (see `load`); ``duration`` ns.
    """
    path: str | None
    allocs: np.ndarray
    initial: np.ndarray
    frees: np.ndarray
    gcs: np.ndarray
    heap_alloc: np.ndarray
    heap_goal: np.ndarray
    stw: np.ndarray
    types: np.ndarray
    procs: np.ndarray
    generations: list
    event_counts: dict
    anomalies: dict
    geometry: dict
    settings: dict
    duration: int
    nbytes: int
    busy: np.ndarray = None

    def __repr__(self):
        return (f"<goruntime.trace.Trace {self.path or '(bytes)'}: {len(self.allocs):,} allocs, "
                f"{len(self.frees):,} frees, {len(self.gcs)} GCs, "
                f"{self.duration / 1e6:.1f} ms>")

    def slim(self):
        """A copy with only what `replay` reads (allocs, snapshot, cycles, settings): what
        `goruntime.sweep` ships to its workers. Replays of it equal replays of this."""
        import dataclasses
        none = np.zeros(0, dtype=SERIES_DTYPE)
        return dataclasses.replace(self, frees=np.zeros(0, dtype=FREE_DTYPE), heap_alloc=none,
                                   heap_goal=none, stw=np.zeros(0, dtype=STW_DTYPE),
                                   generations=[])

    def by_size_class(self):
        """``{sizeclass: (count, bytes)}`` of the slot allocations (0 = large objects),
        plus the tiny sub-allocations under key ``"tiny"`` (count, 0 bytes): the units
        of ``MemStats.BySize`` and the tiny-alloc metric."""
        a = self.allocs
        slot = a[~a["tiny"]]
        out = {}
        cls = slot["sizeclass"]
        for c in np.unique(cls):
            m = cls == c
            out[int(c)] = (int(m.sum()), int(slot["size"][m].sum()))
        out["tiny"] = (int(a["tiny"].sum()), 0)
        return out


def _rows(n, dtype):
    """*n* uninitialised rows of *dtype*: the memory of one of `parse`'s big outputs
    when their rows were counted first (see `_reserve` for the usual path).

    On Linux mapped straight from the kernel in small pages, all at once
    (``MAP_POPULATE``: one kernel call instead of a fault per page), not through
    ``np.empty``: numpy asks for transparent huge pages for every array over 4 MiB, and
    on a virtual machine whose balloon reports free memory to the host (this project's
    test machine: free-page reporting of 2 MiB blocks) each fresh huge page costs a host
    fault per 4 KiB inside it, 1-7 s of system time for the 800 MB of a 10M-allocation
    trace against 0.3-0.5 s in small pages. The rows are written in order, so small
    pages cost the writes little. Elsewhere (or for small outputs) ``np.empty``."""
    dtype = np.dtype(dtype)
    nbytes = n * dtype.itemsize
    if nbytes == 0 or nbytes < _ROWS_MMAP_MIN or not hasattr(mmap, "MAP_POPULATE"):
        return np.empty(n, dtype=dtype)
    m = mmap.mmap(-1, nbytes, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | mmap.MAP_POPULATE)
    return np.frombuffer(m, dtype=dtype)       # the array keeps the mapping (unmapped with it)


_ROWS_MMAP_MIN = 4 << 20     # numpy's own threshold for the huge-page hint


def _reserve(nmax, dtype):
    """Room for up to *nmax* rows of *dtype*, for an output whose row count is known only
    after the merge (an upper bound from the trace's size): ``(rows, populate)``.

    Big ones (where `_rows` maps from the kernel) are a mapping of the whole bound with
    no memory behind it (``MAP_NORESERVE``: untouched pages cost nothing), which the
    merge populates a chunk at a time ahead of the rows it writes (*populate*: the small
    pages of `_rows`, made in one kernel call per chunk); the rows written are then its
    head (`_trim`). Small ones, or where such a mapping is refused: ``np.empty``, or
    None (the caller then counts the rows first)."""
    dtype = np.dtype(dtype)
    nbytes = nmax * dtype.itemsize
    if nbytes == 0 or nbytes < _ROWS_MMAP_MIN or not hasattr(mmap, "MAP_POPULATE") \
            or not _parse.MAP_NORESERVE_FLAG:
        return (np.empty(nmax, dtype=dtype), False) if nbytes < _ROWS_MMAP_MIN else (None, False)
    try:
        m = mmap.mmap(-1, nbytes, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS
                      | _parse.MAP_NORESERVE_FLAG)
    except (OSError, OverflowError, ValueError):
        return None, False
    return np.frombuffer(m, dtype=dtype), True


def _trim(a, n, mapped):
    """The first *n* rows of a `_reserve` output: a view of a mapping (the rest of it
    holds no memory), a copy of an ``np.empty`` one (freeing the rest)."""
    return a[:n] if mapped else a[:n].copy()


def load(path, *, gogc=None, memory_limit=None):
    """Read the trace file at *path* (see `parse`)."""
    if os.path.isdir(path):
        raise ValueError(f"goruntime.trace: {os.fspath(path)!r} is a directory, not a trace "
                         "file (at byte offset 0)")
    with open(path, "rb") as f:
        data = f.read()
    tr = parse(data, gogc=gogc, memory_limit=memory_limit)
    tr.path = os.fspath(path)
    return tr


def _uv(buf, pos, end, what):
    v, n = _parse.read_uvarint(buf, pos, end)
    if n < 0:
        _fail(f"malformed uvarint in {what}", pos)
    return v, n


def _strings_batch(g, buf, off, end):
    pos = off + 1                                 # the EvStrings byte
    while pos < end:
        at = pos
        if buf[pos] != EV_STRING:
            _fail(f"expected a String event, got event type {buf[pos]}", at)
        sid, pos = _uv(buf, pos + 1, end, "string id")
        n, pos = _uv(buf, pos, end, "string length")
        if n > _spec.MAX_EVENT_TRAILER_DATA_SIZE:
            _fail(f"string of {n} bytes, more than the maximum "
                  f"{_spec.MAX_EVENT_TRAILER_DATA_SIZE}", at)
        if pos + n > end:
            _fail("string runs past the end of its batch", at)
        if sid in g.strings:
            _fail(f"string id {sid} defined twice", at)
        g.strings[sid] = bytes(buf[pos:pos + n]).decode("utf-8", "replace")
        pos += n


def _stacks_batch(g, buf, off, end):
    pos = off + 1
    while pos < end:
        at = pos
        if buf[pos] != EV_STACK:
            _fail(f"expected a Stack event, got event type {buf[pos]}", at)
        sid, pos = _uv(buf, pos + 1, end, "stack id")
        nf, pos = _uv(buf, pos, end, "stack frame count")
        if nf > _spec.MAX_FRAMES_PER_STACK:
            _fail(f"stack of {nf} frames, more than the maximum {_spec.MAX_FRAMES_PER_STACK}", at)
        pcs = []
        for _ in range(nf):
            pc, pos = _uv(buf, pos, end, "frame pc")
            fn, pos = _uv(buf, pos, end, "frame func")
            fl, pos = _uv(buf, pos, end, "frame file")
            line, pos = _uv(buf, pos, end, "frame line")
            pcs.append(pc)
            g.frames.setdefault(pc, (fn, fl, line))
        if sid in g.stacks:
            _fail(f"stack id {sid} defined twice", at)
        g.stacks[sid] = tuple(pcs)


def _sync_batch(g, buf, off, end, btime):
    pos = off + 1                                 # the EvSync byte
    last = btime
    while pos < end:
        at = pos
        ev = buf[pos]
        if ev == EV_FREQUENCY:
            if g.freq:
                _fail("found multiple frequency events", at)
            f, pos = _uv(buf, pos + 1, end, "frequency")
            if f == 0:
                _fail("frequency of zero", at)
            g.freq = 1.0 / (float(f) / 1e9)       # Go: frequency(1.0 / (float64(f) / 1e9))
        elif ev == EV_CLOCK_SNAPSHOT:
            if g.clock_snapshot is not None:
                _fail("found multiple clock snapshot events", at)
            dt, pos = _uv(buf, pos + 1, end, "clock snapshot")
            mono, pos = _uv(buf, pos, end, "clock snapshot")
            sec, pos = _uv(buf, pos, end, "clock snapshot")
            nsec, pos = _uv(buf, pos, end, "clock snapshot")
            last += dt
            g.clock_snapshot = (last, mono, sec, nsec)
        else:
            _fail(f"expected a Frequency or ClockSnapshot event, got event type {ev}", at)


def _allocfree_batch(g, geometry, buf, off, end):
    if off >= end:
        return
    kind = buf[off]
    pos = off + 1
    if kind == _spec.ALLOC_FREE_INFO_BATCH:
        vals = []
        for what in ("min heap address", "page size", "min heap align", "fixed stack"):
            v, pos = _uv(buf, pos, end, what)
            vals.append(v)
        info = dict(zip(("min_heap_addr", "page_size", "min_heap_align", "fixed_stack"), vals))
        if info["page_size"] != GO_PAGE_SIZE or info["min_heap_align"] != GO_MIN_HEAP_ALIGN:
            # Go's _PageSize and gc.MinHeapAlign are the same on every platform, and the
            # size classes that give each object its slot are built for that page
            _fail(f"AllocFree info batch with page size {info['page_size']} and heap "
                  f"alignment {info['min_heap_align']} (Go's are {GO_PAGE_SIZE} and "
                  f"{GO_MIN_HEAP_ALIGN})", off)
        if geometry and geometry != info:
            _fail("AllocFree info batches disagree", off)
        geometry.update(info)
    elif kind == _spec.ALLOC_FREE_TYPES_BATCH:
        while pos < end:
            at = pos
            tid, pos = _uv(buf, pos, end, "type id")
            addr, pos = _uv(buf, pos, end, "type address")
            size, pos = _uv(buf, pos, end, "type size")
            ptr, pos = _uv(buf, pos, end, "type pointer bytes")
            n, pos = _uv(buf, pos, end, "type name length")
            if pos + n > end:
                _fail("type name runs past the end of its batch", at)
            if ptr > size:
                _fail(f"type {tid} has {ptr} pointer bytes but size {size}", at)
            g.type_offsets.append(at)
            g.types.append((tid, addr, size, ptr, bytes(buf[pos:pos + n]).decode("utf-8", "replace")))
            pos += n
    else:
        _fail(f"unknown AllocFree experimental batch kind {kind}", off)


def _generations(buf):
    """Frame the file and read every non-event batch; the generations, in order."""
    hdr = _spec.HEADER
    if len(buf) < len(hdr) or bytes(buf[:len(hdr)]) != hdr:
        head = bytes(buf[:16])
        if head.startswith(b"go 1.") and b" trace" in head:
            ver = head[:head.index(b" trace")].decode("ascii", "replace")
            if hdr.startswith(head[:head.index(b" trace") + 6]):
                _fail(f"truncated or malformed header {head!r} (Go writes {hdr!r})", 0)
            _fail(f"unsupported trace version {ver!r} (this reader reads the format Go 1.26 "
                  "and 1.27 write, 'go 1.26 trace')", 0)
        _fail("not a Go execution trace (bad header)", 0)
    code, err, rows = _parse.scan_batches(buf, len(hdr))
    if code:
        _fail(ERRORS[code], err)
    gens, cur, geometry, exp_other = [], None, {}, 0
    for (hoff, kind, exp, gen, _m, btime, doff, size) in rows:
        if kind == 2:                             # EndOfGeneration
            if cur is None:
                _fail("end of generation without any batch", hoff)
            if cur.freq == 0:
                _fail(f"no frequency event found in generation {cur.gen}", hoff)
            if cur.clock_snapshot is None:
                _fail(f"no clock snapshot event found in generation {cur.gen}", hoff)
            gens.append(cur)
            cur = None
            continue
        if gen == 0:
            _fail("invalid generation number 0", hoff)
        if cur is None:
            if gens and gen <= gens[-1].gen:
                _fail(f"generation {gen} after generation {gens[-1].gen}", hoff)
            cur = Generation(gen)
        elif gen != cur.gen:
            _fail("broken trace: missing end-of-generation event, or generations are "
                  "interleaved", hoff)
        end = doff + size
        if kind == 1:
            if exp == _spec.EXP_ALLOC_FREE:
                _allocfree_batch(cur, geometry, buf, doff, end)
            else:
                exp_other += 1
            continue
        first = buf[doff] if size else -1
        if first == EV_STRINGS:
            _strings_batch(cur, buf, doff, end)
        elif first == EV_STACKS:
            _stacks_batch(cur, buf, doff, end)
        elif first == EV_CPU_SAMPLES:
            pass
        elif first == EV_SYNC:
            _sync_batch(cur, buf, doff, end, btime)
        else:
            cur.batches.append((doff, size, btime))
    if cur is not None:
        _fail("incomplete generation found; trace likely truncated", len(buf))
    if not gens:
        _fail("trace holds no complete generation", len(buf))
    return gens, geometry, exp_other


def _class_sizes():
    """Go's class_to_size, then class_to_npages (`_parse.stream_events`' class table)."""
    global _CLASS_TABLES
    if _CLASS_TABLES is None:
        from goruntime import _heap
        _CLASS_TABLES = np.array(_heap.SIZE_CLASS_TO_SIZE + _heap.SIZE_CLASS_TO_NPAGES,
                                 dtype=np.uint32)
    return _CLASS_TABLES


def _last_before(times, values, t, side="right", default=0):
    """values[last i with times[i] <= t] (side="right") / < t ("left"), vectorised over t."""
    i = np.searchsorted(times, t, side=side) - 1
    out = np.where(i >= 0, values[np.maximum(i, 0)] if len(values) else default, default)
    return out.astype(np.int64)


def _first_after(times, values, t, default=0):
    i = np.searchsorted(times, t, side="left")
    ok = i < len(times)
    out = np.where(ok, values[np.minimum(i, max(len(values) - 1, 0))] if len(values) else default,
                   default)
    return out.astype(np.int64)


def parse(data, *, gogc=None, memory_limit=None):
    """Parse a whole trace held in memory (bytes-like); see the module docstring.

    *gogc* and *memory_limit* state the recorded run's settings, which a trace does not
    carry: without them ``settings["gogc"]`` is estimated from the recorded cycles (each
    cycle's goal over its marked heap) and the memory limit is taken as off.
    """
    buf = np.frombuffer(memoryview(data).cast("B"), dtype=np.uint8)
    gens, geometry, exp_other = _generations(buf)

    # the event batches in a stable order (generation, then batch start): one M's
    # batches are then in order, so events with equal times keep their M's order
    rows = [(o, n, t, gi, g.freq) for gi, g in enumerate(gens)
            for (o, n, t) in sorted(g.batches, key=lambda b: b[2])]
    doff = np.array([r[0] for r in rows], dtype=np.int64)
    dlen = np.array([r[1] for r in rows], dtype=np.int64)
    bgen = np.array([r[3] for r in rows], dtype=np.int32)
    freq = np.array([r[4] for r in rows], dtype=np.float64)
    # a batch's start in ns, truncated as Go's frequency.mul does; one past int64 (a
    # time near 2**64 ticks) was an OverflowError from numpy (B78)
    starts = [int(float(r[2]) * r[4]) for r in rows]
    for r, s in zip(rows, starts):
        if s > _INT64_MAX:
            _fail(f"batch time {r[2]} ticks is past int64 nanoseconds", r[0])
    bstart = np.array(starts, dtype=np.int64)

    # 1. the outputs' room: an upper bound on each kind's events (an event is its type
    # byte and at least a byte per argument), reserved without memory (`_reserve`);
    # where that cannot be had, every event is counted (and validated) first
    tmin = _parse.first_event_time(buf, doff, dlen, bstart, freq, _NARGS)
    ev_bytes = int(dlen.sum())
    room = {k: ev_bytes // (1 + int(_NARGS[k])) for k in (K_OBJECT_ALLOC, K_OBJECT, K_OBJECT_FREE)}
    allocs, a_map = _reserve(room[K_OBJECT_ALLOC], ALLOC_DTYPE)
    initial, i_map = _reserve(room[K_OBJECT], ALLOC_DTYPE)
    frees, f_map = _reserve(room[K_OBJECT_FREE], FREE_DTYPE)
    populate = a_map or i_map or f_map
    if allocs is None or initial is None or frees is None:
        code, err, hist, tmin = _parse.count_events(buf, doff, dlen, bstart, freq, _NARGS)
        if code:
            _fail(f"{ERRORS[code]} (event type {int(buf[err])})", err)
        allocs = _rows(int(hist[K_OBJECT_ALLOC]), ALLOC_DTYPE)
        initial = _rows(int(hist[K_OBJECT]), ALLOC_DTYPE)
        frees = _rows(int(hist[K_OBJECT_FREE]), FREE_DTYPE)
        a_map = i_map = f_map = True               # exact: nothing to trim
        populate = False
    t0 = tmin
    g0 = bstart[bgen == 0]
    if len(g0):
        t0 = min(t0, int(g0.min()))
    if t0 == np.iinfo(np.int64).max:
        t0 = 0
    anomalies = {"other_experiment_batches": exp_other}

    # 2. every event in time order, validated, counted and written straight into the
    # output rows (Cython, nogil)
    types, tmap = _types(gens)
    geo = geometry or {"page_size": 8192, "min_heap_align": 8, "min_heap_addr": 0}
    tlen = np.array([len(x) for x in tmap], dtype=np.int64)
    toff = np.concatenate([[0], np.cumsum(tlen)[:-1]]).astype(np.int64)
    tlut = np.concatenate(tmap).astype(np.int64) if tmap else np.zeros(0, np.int64)
    order = np.argsort(bstart, kind="stable").astype(np.int64)
    code, err, misc, anom, counts, last, hist = _parse.stream_events(
        buf, doff, dlen, bstart, bgen, freq, order, _NARGS, _MISC, t0, _class_sizes(),
        MAX_HEAP_PAGES, geo["page_size"], geo["min_heap_align"], geo["min_heap_addr"],
        tlut, toff, tlen, np.ascontiguousarray(types["size"], dtype=np.uint64),
        np.ascontiguousarray(types["ptrbytes"], dtype=np.uint64),
        allocs.view(np.uint8), initial.view(np.uint8), frees.view(np.uint8),
        populate)
    if hist[K_SPAN:K_OBJECT_FREE + 1].any() and not geometry:
        raise ValueError("goruntime.trace: AllocFree events without the experiment's info "
                         "batch (heap base, page size) at byte offset 0")
    if code == 8:
        raise MemoryError("goruntime.trace: out of memory for the heap tables")
    if code in (5, 6):                            # count_events' checks, made in the merge
        _fail(f"{ERRORS[code]} (event type {int(buf[err])})", err)
    if code:
        _fail(ERRORS.get(code, f"internal error {code}"), err)
    allocs = _trim(allocs, counts[0], a_map)
    initial = _trim(initial, counts[1], i_map)
    frees = _trim(frees, counts[2], f_map)
    event_counts = {_spec.NAMES.get(i, f"event{i}"): int(n) for i, n in enumerate(hist) if n}
    anomalies.update(anom)
    if anom["objects_without_span"] or anom["misaligned_objects"]:   # their rows are marked
        allocs, initial, frees = _drop_unplaced(allocs, initial, frees)
    t, ty, a, b, g = misc
    duration = int(last)

    # 3. metrics series, STW ranges, GOMAXPROCS, GC cycles (few events: numpy)
    m = ty == EV_HEAP_ALLOC
    heap_alloc = np.empty(int(m.sum()), dtype=SERIES_DTYPE)
    heap_alloc["time"], heap_alloc["value"] = t[m], a[m].astype(np.int64)
    m = ty == EV_HEAP_GOAL
    heap_goal = np.empty(int(m.sum()), dtype=SERIES_DTYPE)
    heap_goal["time"], heap_goal["value"] = t[m], a[m].astype(np.int64)
    m = ty == EV_PROCS_CHANGE
    procs = np.empty(int(m.sum()), dtype=SERIES_DTYPE)
    procs["time"], procs["value"] = t[m], a[m].astype(np.int64)
    stw = _stw_ranges(t, ty, a, g, gens)
    busy = _busy_intervals(t, ty, a, g, gens)
    gcs = _gc_cycles(t, ty, a, b, g, gens, heap_alloc, heap_goal)

    settings = {"gogc": gogc if gogc is not None else _estimate_gogc(gcs),
                "gogc_estimated": gogc is None,
                "gogc_consistent": True, "gogc_range": None,
                "memory_limit": memory_limit,
                "gomaxprocs": int(procs["value"][-1]) if len(procs) else 1}
    settings["gogc_consistent"], settings["gogc_range"] = _gogc_consistency(
        gcs, settings["gogc"] if gogc is None else gogc)
    return Trace(path=None, allocs=allocs, initial=initial, frees=frees, gcs=gcs,
                 heap_alloc=heap_alloc, heap_goal=heap_goal, stw=stw, types=types, procs=procs,
                 generations=gens, event_counts=event_counts, anomalies=anomalies,
                 geometry=geometry, settings=settings, duration=duration, nbytes=len(buf),
                 busy=busy)


#: The GoLabel a mark worker's goroutine gets when it runs as Go's idle worker: its time
#: is the P's idle time (findRunnable found nothing to run), not the program's.
IDLE_WORKER_LABEL = "GC (idle)"


def _busy_intervals(t, ty, a, g, gens):
    """The recorded intervals in which the P ran something other than an idle mark
    worker (`BUSY_DTYPE`, sorted, disjoint): from each GoStart to the first event after it
    that takes the goroutine off the P (GoStop, GoBlock, GoDestroy, GoSyscallEndBlocked,
    ProcStop), clipped at the next GoStart; a start labelled ``GC (idle)`` is left out.
    Their bounds are the scheduling points the replay gives the collector (Go's
    schedule()). One P's timeline: with GOMAXPROCS > 1 the replay does not use them
    (`goruntime.trace.simulate`). numpy over the few scheduling rows, a loop only over
    the labels (two or three per cycle)."""
    starts = np.flatnonzero(ty == EV_GO_START)
    if not len(starts):
        return np.zeros(0, dtype=BUSY_DTYPE)
    ends = np.flatnonzero(np.isin(ty, EV_GO_END))
    st = t[starts]
    # the first ending event after each start (rows are in time order, ties in order)
    j = np.searchsorted(ends, starts, side="right")
    en = np.where(j < len(ends), t[ends[np.minimum(j, max(len(ends) - 1, 0))]]
                  if len(ends) else 0, np.iinfo(np.int64).max)
    nxt = np.append(st[1:], np.iinfo(np.int64).max)
    en = np.minimum(np.minimum(en, nxt), max(int(t[-1]), int(st[-1])))
    keep = np.ones(len(starts), dtype=bool)
    for i in np.flatnonzero(ty == EV_GO_LABEL):
        if gens[g[i]].strings.get(int(a[i])) == IDLE_WORKER_LABEL:
            k = int(np.searchsorted(starts, i, side="left")) - 1   # the start it labels
            if k >= 0:
                keep[k] = False
    out = np.empty(int(keep.sum()), dtype=BUSY_DTYPE)
    out["start"], out["end"] = st[keep], np.maximum(en[keep], st[keep])
    return out


def _drop_unplaced(allocs, initial, frees):
    """Remove the objects that found no fitting span (``size`` marked ``2**64 - 1``;
    counted in the anomalies, and only called when that count is not 0: the check reads
    every row) and renumber the frees' references. Rare: a corrupt or oddly ordered
    trace."""
    bad_a = allocs["size"] == _DROPPED
    bad_i = initial["size"] == _DROPPED
    if not (bad_a.any() or bad_i.any()):
        return allocs, initial, frees
    for bad, col in ((bad_a, "alloc"), (bad_i, "initial")):
        if bad.any():
            new = np.cumsum(~bad) - 1
            ref = frees[col]
            has = ref >= 0
            frees[col] = np.where(has, new[np.maximum(ref, 0)], -1)
    return allocs[~bad_a], initial[~bad_i], frees


def _stw_ranges(t, ty, a, g, gens):
    """Pair each STWBegin with the next STWEnd (one stop-the-world at a time)."""
    idx = np.flatnonzero((ty == EV_STW_BEGIN) | (ty == EV_STW_END))
    rows, open_ = [], None
    for i in idx:
        if ty[i] == EV_STW_BEGIN:
            open_ = (int(t[i]), gens[g[i]].strings.get(int(a[i]), "?"))
        elif open_ is not None:
            rows.append((open_[0], int(t[i]), open_[1]))
            open_ = None
    out = np.empty(len(rows), dtype=STW_DTYPE)
    for k, r in enumerate(rows):
        out[k] = r
    return out


def _cycle_starts(t, ty):
    """Indices of the events that start a cycle: every GCBegin, and a GCActive (Go writes
    one at the start of a generation while a cycle runs) when no cycle is open, i.e. a
    cycle that began before the trace did (trace.Start during a GC)."""
    idx = np.flatnonzero((ty == EV_GC_BEGIN) | (ty == EV_GC_END) | (ty == EV_GC_ACTIVE))
    idx = idx[np.argsort(t[idx], kind="stable")]
    out, open_ = [], False
    for i in idx:
        k = ty[i]
        if k == EV_GC_BEGIN or (k == EV_GC_ACTIVE and not open_):
            out.append(i)
            open_ = True
        elif k == EV_GC_END:
            open_ = False
    return np.array(out, dtype=np.int64)


def _gc_cycles(t, ty, a, b, g, gens, heap_alloc, heap_goal):
    bi = _cycle_starts(t, ty)
    ei = np.flatnonzero(ty == EV_GC_END)
    out = np.zeros(len(bi), dtype=GC_DTYPE)
    # each cycle ends at the first GCEnd after its begin, if that comes before the next
    # begin (Go's sequence numbers restart with each generation, so times pair them)
    bt, et = t[bi], t[ei]
    j = np.searchsorted(et, bt, side="left")
    nxt = np.append(bt[1:], np.iinfo(np.int64).max)
    has = (j < len(et))
    endt = np.where(has, et[np.minimum(j, max(len(et) - 1, 0))] if len(et) else -1, -1)
    endt = np.where(has & (endt < nxt), endt, -1)
    for k, i in enumerate(bi):
        funcs = gens[g[i]].stack_funcs(int(b[i]))
        out[k]["seq"] = int(a[i])
        out[k]["start"] = int(t[i])
        out[k]["end"] = int(endt[k])
        out[k]["forced"] = any(f in FORCED_GC_FUNCS for f in funcs)
    if len(out):
        ha_t, ha_v = heap_alloc["time"], heap_alloc["value"]
        hg_t, hg_v = heap_goal["time"], heap_goal["value"]
        out["heap_live_start"] = _last_before(ha_t, ha_v, out["start"])
        out["heap_goal"] = _last_before(hg_t, hg_v, out["start"])
        done = out["end"] >= 0
        out["heap_marked"] = np.where(done, _first_after(ha_t, ha_v, out["end"], -1), -1)
        out["next_goal"] = np.where(done, _first_after(hg_t, hg_v, out["end"], -1), -1)
    return out


def _implied_gogc(gcs):
    """Per completed cycle whose goal is above the 4 MiB minimum: the GOGC its goal
    implies, ``100 * (goal - marked) / (marked + stacks + globals)`` (Go's
    gcControllerState.heapGoal) with the scan sizes of a minimal Go binary; and the
    qualifying cycles' marked heaps and goals."""
    from goruntime.runtime import GLOBALS_SCAN, STACK_SCAN
    ok = (gcs["heap_marked"] > 0) & (gcs["next_goal"] > gcs["heap_marked"]) \
        & (gcs["next_goal"] > (4 << 20) + (1 << 16))
    m, goal = gcs["heap_marked"][ok].astype(float), gcs["next_goal"][ok].astype(float)
    return 100.0 * (goal - m) / (m + GLOBALS_SCAN + STACK_SCAN), m, goal


def _snap(est):
    """*est* snapped to a multiple of 5 when within 2.5 % of one (the program's stack and
    globals scan sizes are unknown: a few % of a small heap), else None."""
    nice = 5 * round(est / 5)
    return int(nice) if abs(est - nice) <= 0.025 * max(est, 1) else None


def _estimate_gogc(gcs):
    """GOGC from the recorded cycles (`_implied_gogc`): the median of the per-cycle
    values, snapped to a multiple of 5 when within 2.5 % of one (robust to a few cycles
    under another setting, and to the stack scan's cycle-to-cycle noise, which biased a
    straight-line fit by 5 % on recordings of GOGC=100); when the median does not snap and
    the marked heaps differ enough, a straight-line fit of goal - marked against marked
    (both GOGC and the program's own scan sizes: a small heap with large stacks or
    globals). 100 when no cycle tells. (State the real setting with
    ``load(path, gogc=...)`` when it is known.)"""
    imp, m, goal = _implied_gogc(gcs)
    if not len(imp):
        return 100
    est = float(np.median(imp))
    nice = _snap(est)
    if nice is not None:
        return nice
    if len(m) >= 3 and m.max() > 1.2 * m.min():
        # goal - marked = a*marked + b with a = GOGC/100, b = a*(stacks + globals): fit both
        a, b = np.polyfit(m, goal - m, 1)
        if a > 0 and b >= 0 and _snap(100.0 * a) is not None:
            return _snap(100.0 * a)
    return int(round(est))


def _gogc_consistency(gcs, gogc):
    """``(consistent, (lowest, highest))``: whether every cycle's implied GOGC is within
    20 % (or 10 points) of *gogc*, and their range. Not consistent: the program changed
    GOGC or GOMEMLIMIT during the trace (debug.SetGCPercent / SetMemoryLimit) or a memory
    limit bound the goal; a replay takes one setting for the whole trace."""
    imp, _m, _g = _implied_gogc(gcs)
    if not len(imp):
        return True, None
    lo, hi = float(imp.min()), float(imp.max())
    tol = max(0.2 * gogc, 10.0)
    return bool(abs(lo - gogc) <= tol and abs(hi - gogc) <= tol), (round(lo), round(hi))


def _types(gens):
    """The global type table (deduplicated across generations) and, per generation, a
    lookup array raw type id -> global index (-1: unknown)."""
    keys, glob = {}, []
    tmap = []
    for gen in gens:
        maxid = max((r[0] for r in gen.types), default=0)
        if maxid > 2 * len(gen.types) + 4096:
            # Go numbers a generation's types 1, 2, ... (a traceMap): a far larger id is
            # corrupt, and would size the lookup array below by it
            k = max(range(len(gen.types)), key=lambda i: gen.types[i][0])
            _fail(f"type id {maxid} in a table of {len(gen.types)} types (corrupt id?)",
                  gen.type_offsets[k])
        lut = np.full(maxid + 1, -1, dtype=np.int64)
        for (tid, addr, size, ptr, name) in gen.types:
            k = (addr, size, ptr, name)
            if k not in keys:
                keys[k] = len(glob)
                glob.append(k)
            lut[tid] = keys[k]
        tmap.append(lut)
    types = np.empty(len(glob), dtype=TYPE_DTYPE)
    for i, k in enumerate(glob):
        types[i] = k
    return types, tmap
