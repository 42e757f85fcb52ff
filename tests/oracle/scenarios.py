"""The goruntime half of the oracle corpus: every Go scenario, written against goruntime.

Each function below is the Python twin of the Go function of the same name in
``go/main.go`` (same allocations, same order, same roots, same keys in the
returned dict). Go's idioms map onto goruntime's documented API
(``shared/DESIGN.md``) like this:

- ``holder [N]unsafe.Pointer`` (a global array of roots) is a Python list of N
  handles: a handle is a stack root for as long as the Python object lives,
  and ``holder[i] = None`` drops it;
- Go's package-level types are built once, on first use, by `go_types`, with
  Go's names so that type strings match (``*main.mT``);
- a ``//go:noinline func setup()`` whose locals die on return is a Python
  function whose locals die on return. Finalizers and cleanups are defined
  outside ``setup`` and never close over a handle unless Go's closure does;
- "finalizers send on a buffered channel, then the scenario waits until the
  runtime's queued and executed counters agree" is `gc_cycle`: ``rt.GC()``,
  then ``rt.Gosched()`` until ``/gc/{finalizers,cleanups}/{queued,executed}``
  agree, then the events list is drained;
- misuse: Go's fatal error is ``rt.FatalError``, Go's panic is ``rt.Panic``;
  `misuse` turns them into Go's exit status and first line.

The `scenario` decorator registers each function with the tolerances that apply
to its fields (fnmatch patterns over dotted field names), each with its reason,
and with the `rt.Runtime` settings that play the role of the Go process's
environment (``runtime=None``: the scenario builds its own Runtime). Everything
not covered by a tolerance must be equal. Scenarios that pass Go environment
strings (``gogc="off"``, ``memory_limit="1GiB"``) rely on `rt.Runtime` parsing
them as Go parses GOGC and GOMEMLIMIT.

This module imports without goruntime (the registry is used by the Go-only
tests); the scenario bodies need it. It deliberately has no ``from __future__
import annotations``: the misuse scenarios give finalizers Go signatures through
annotations that goruntime reads as objects.
"""
import dataclasses
import datetime
import functools
import io
import re
from types import SimpleNamespace
from typing import Any, Callable

from harness import Abs, Factor, Info, Range, Rel, Tolerance

try:
    import goruntime as rt
    from goruntime import debug, metrics, weak, workloads
except ImportError:  # goruntime is being written in parallel; test_oracle.py skips until it exists
    rt = debug = metrics = weak = workloads = None


# ---------------------------------------------------------------------------
# registry


@dataclasses.dataclass
class Scenario:
    name: str
    fn: Callable[[], dict]
    tolerances: dict[str, Tolerance]
    runtime: dict | None  # rt.Runtime(**...) around fn; None: fn builds its own


REGISTRY: dict[str, Scenario] = {}
# Scenarios where goruntime is known to differ from Go beyond the tolerance, with why:
# test_oracle runs them as strict xfails (a fix makes them pass, and the entry goes).
KNOWN_DIFFERENCES: dict[str, str] = {}

# The Go oracle binary's scannable globals (.data + .bss, Go's /gc/scan/globals:bytes, as
# gogc_goal_small reports them; test_oracle checks this against the live binary): a process
# input of every Go scenario -- part of each heap goal, and the root jobs an assist scans
# before heap work, which decides where a mark with little heap work ends (fid_churn,
# gctrace_large_scan) -- so the twins run with the same globals.
ORACLE_GLOBALS = 762130
# Every scenario's runtime: Go's GOMAXPROCS=1, deterministic time and scheduling.
BASE_RUNTIME = dict(gomaxprocs=1, scheduler="cooperative", clock="virtual", globals_bytes=ORACLE_GLOBALS)


def scenario(tol: dict[str, Tolerance] | None = None, runtime: dict | None = None, own_runtime: bool = False):
    def register(fn):
        REGISTRY[fn.__name__] = Scenario(fn.__name__, fn, dict(tol or {}), None if own_runtime else (runtime or {}))
        return fn

    return register


def run(name: str) -> dict:
    """Run one scenario on goruntime, in a fresh runtime."""
    sc = REGISTRY[name]
    if sc.runtime is None:
        return sc.fn()
    with rt.Runtime(**{**BASE_RUNTIME, **sc.runtime}):
        return sc.fn()


# ---------------------------------------------------------------------------
# tolerances shared by several scenarios (each reason says which Go state leaks in)

KiB, MiB = 1 << 10, 1 << 20

# Measured at GOMAXPROCS=1: in some runs Go's runtime allocates one 16-byte object
# of its own during a GC; a goruntime program makes no allocation it did not ask for.
RUNTIME_OBJECTS = Abs(2, "Go's runtime allocates a few small objects of its own (measured: one 16-byte "
                         "object during some GCs)")
RUNTIME_BYTES = Abs(64, "Go's runtime allocates a few small objects of its own (measured: one 16-byte "
                        "object during some GCs)")
# Go's start-up leaves partially filled spans of small size classes; a scenario's first
# objects fill those before Go allocates a new span, goruntime starts with no such span.
PARTIAL_SPANS = Abs(16384, "Go's start-up leaves partially filled small-class spans that the first objects "
                           "fill without a new span (up to two pages)")
# DESIGN: heap-triggered GC counts come within 10 % of Go's; for counts below 10 one
# cycle of slack. Go's own counts vary from run to run (concurrent mark): measured
# binary-trees 61..68, GCBench 40..48, gctrace 7..8 and 16..17.
HEAP_TRIGGERED = Rel(0.10, "heap-triggered GC count: within 10 % per DESIGN (at least one cycle); Go's own "
                           "count varies between runs (binary-trees 61..68, GCBench 40..48)", min_abs=1,
                     timing=True)

MEMSTATS_NOISE = {
    "*Mallocs": RUNTIME_OBJECTS,
    "*Frees": RUNTIME_OBJECTS,
    "*HeapObjects": RUNTIME_OBJECTS,
    "*HeapAlloc": RUNTIME_BYTES,
    "*TotalAlloc": RUNTIME_BYTES,
    "*HeapInuse": PARTIAL_SPANS,
}


def noise(*fields: str) -> dict[str, Tolerance]:
    """The MEMSTATS_NOISE entries for the MemStats fields a scenario reports."""
    return {f"*{f}": MEMSTATS_NOISE[f"*{f}"] for f in fields}


# ---------------------------------------------------------------------------
# helpers shared by the scenarios (twins of main.go's)

N = 1000

QUEUE_METRICS = ("/gc/finalizers/queued:finalizers", "/gc/finalizers/executed:finalizers",
                 "/gc/cleanups/queued:cleanups", "/gc/cleanups/executed:cleanups")
TINY_METRICS = ("/gc/heap/allocs:objects", "/gc/heap/frees:objects", "/gc/heap/tiny/allocs:objects",
                "/gc/heap/objects:objects", "/gc/heap/allocs:bytes")
PACER_METRICS = ("/gc/heap/live:bytes", "/gc/scan/stack:bytes", "/gc/scan/globals:bytes", "/gc/heap/goal:bytes",
                 "/memory/classes/total:bytes", "/memory/classes/heap/released:bytes",
                 "/memory/classes/heap/free:bytes", "/memory/classes/heap/objects:bytes", "/gc/gogc:percent",
                 "/gc/gomemlimit:bytes", "/gc/cycles/total:gc-cycles")
MAX_INT64 = (1 << 63) - 1


@functools.cache
def go_types() -> SimpleNamespace:
    """The package-level types of main.go, with Go's names and field order."""
    S, P, A = rt.Struct, rt.Ptr, rt.Array
    pi = P(rt.Int)
    return SimpleNamespace(
        S8=S("S8", p=pi), S16=S("S16", p=pi, q=pi), S24=S("S24", p=pi, q=pi, r=pi),
        S512=S("S512", p=pi, b=A(rt.Byte, 504)), S520=S("S520", p=pi, b=A(rt.Byte, 512)),
        H512=S("H512", p=pi, b=A(rt.Byte, 504)), H513=S("H513", p=pi, b=A(rt.Byte, 505)),
        H1024=S("H1024", p=pi, b=A(rt.Byte, 1016)), H18432=S("H18432", p=pi, b=A(rt.Byte, 18424)),
        L32752=S("L32752", p=pi, b=A(rt.Byte, 32744)), L32760=S("L32760", p=pi, b=A(rt.Byte, 32752)),
        L32768=S("L32768", p=pi, b=A(rt.Byte, 32760)), L40000=S("L40000", p=pi, b=A(rt.Byte, 39992)),
        P8=S("P8", p=pi), P24=S("P24", p=pi, b=A(rt.Byte, 16)), P48=S("P48", p=pi, b=A(rt.Byte, 40)),
        P100=S("P100", p=pi, b=A(rt.Byte, 92)), P1024=S("P1024", p=pi, b=A(rt.Byte, 1016)),
        P40000=S("P40000", p=pi, b=A(rt.Byte, 39992)),
        emptyT=S("emptyT"),
        xT=S("xT", p=pi, v=rt.Int),
        chainB=S("chainB", id=rt.Int, pad=pi), chainA=S("chainA", id=rt.Int, b=P("chainB")),
        ordT=S("ordT", p=pi, id=rt.Int),
        resObj=S("resObj", id=rt.Int, ptr=pi),
        cNode=S("cNode", id=rt.Int, next=P("cNode")),
        intT=S("intT", p=pi, v=rt.Int),
        ciT=S("ciT", a=rt.Int, b=rt.Int, c=rt.Int, p=pi),
        wT=S("wT", a=pi, b=rt.Int, c=rt.Int),
        lagT=S("lagT", p=pi, b=A(rt.Byte, 40)),
        traceNode=S("traceNode", next=P("traceNode"), buf=A(rt.Byte, 48)),
        calNode=S("calNode", next=P("calNode"), v=rt.Int), calWide=A(P(rt.Int), 16384),
        tutNode=S("tutNode", next=P("tutNode"), id=rt.Int), frbT=S("frbT", p=pi, a=A(rt.Int, 6)),
        fdmY=S("fdmY", v=A(rt.Int, 4)), fdmX=S("fdmX", y=P("fdmY"), pad=A(rt.Int, 3)),
        gcwNode=S("gcwNode", next=P("gcwNode"), buf=A(rt.Byte, 56)),
        midL=S("midL", p=pi, b=A(rt.Byte, 39992)),
        mT=S("mT", a=pi, b=rt.Int), mU=S("mU", x=pi), mV=S("mV", a=pi, b=A(rt.Int, 2)),
        small=S("small", a=rt.Int32, b=rt.Int32),
    )


def dlt(a: int, b: int) -> int:
    return b - a


def mem_deltas(a, b) -> dict:
    return {
        "Mallocs": dlt(a.Mallocs, b.Mallocs),
        "Frees": dlt(a.Frees, b.Frees),
        "HeapObjects": dlt(a.HeapObjects, b.HeapObjects),
        "HeapAlloc": dlt(a.HeapAlloc, b.HeapAlloc),
        "TotalAlloc": dlt(a.TotalAlloc, b.TotalAlloc),
        "HeapInuse": dlt(a.HeapInuse, b.HeapInuse),
        "NumGC": dlt(a.NumGC, b.NumGC),
        "NumForcedGC": dlt(a.NumForcedGC, b.NumForcedGC),
    }


def bysize_deltas(a, b, frees: bool = False) -> dict:
    out = {}
    for i, (x, y) in enumerate(zip(a.BySize, b.BySize)):
        u, v = (x.Frees, y.Frees) if frees else (x.Mallocs, y.Mallocs)
        if u != v:
            out[str(i)] = v - u
    return out


def bysize_index(a, b, n: int) -> int:
    """The BySize entry that gained at least n Mallocs, or -1."""
    for i, (x, y) in enumerate(zip(a.BySize, b.BySize)):
        if y.Mallocs - x.Mallocs >= n:
            return i
    return -1


def samples(names) -> list:
    return [metrics.Sample(name) for name in names]


def u64(s: list, i: int) -> int:
    return s[i].Value.Uint64()


def hist_total(sample) -> int:
    return sum(sample.Value.Float64Histogram().Counts)


def wait_queues() -> None:
    """Let the finalizer and cleanup goroutines run until nothing is queued."""
    s = samples(QUEUE_METRICS)
    for _ in range(2000):
        metrics.Read(s)
        if u64(s, 0) == u64(s, 1) and u64(s, 2) == u64(s, 3):
            return
        rt.Gosched()


def take(events: list) -> list:
    out = list(events)
    events.clear()
    return out


def gc_cycle(events: list) -> list:
    """One forced GC, then everything it queued runs; what ran, in order."""
    rt.GC()
    wait_queues()
    return take(events)


def cycles(events: list, n: int) -> dict:
    return {f"cycle{i}": gc_cycle(events) for i in range(1, n + 1)}


def _ns(t: Any) -> int:
    """A Go time.Duration or time.Time from ReadGCStats as integer nanoseconds
    (goruntime may give ints or datetime objects)."""
    if isinstance(t, datetime.timedelta):
        return (t.days * 86400 + t.seconds) * 10**9 + t.microseconds * 1000
    if isinstance(t, datetime.datetime):  # naive: UTC
        epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc if t.tzinfo else None)
        return _ns(t - epoch)
    return int(t)


# ---------------------------------------------------------------------------
# allocator geometry and MemStats deltas


@scenario()
def memstats_invariants():
    """Appendix X13 and TestMemStats, at start-up and after one GC."""
    m0 = rt.ReadMemStats()
    rt.GC()
    m1 = rt.ReadMemStats()

    def inv(m):
        return {
            "Sys_eq_sum_of_XSys": m.Sys == m.HeapSys + m.StackSys + m.MSpanSys + m.MCacheSys + m.BuckHashSys
            + m.GCSys + m.OtherSys,
            "HeapIdle_plus_HeapInuse": m.HeapIdle + m.HeapInuse == m.HeapSys,
            "HeapObjects_eq_M_minus_F": m.HeapObjects == m.Mallocs - m.Frees,
            "Alloc_eq_HeapAlloc": m.Alloc == m.HeapAlloc,
            "HeapReleased_le_HeapIdle": m.HeapReleased <= m.HeapIdle,
            "LastGC_eq_PauseEnd_last": m.LastGC == m.PauseEnd[(m.NumGC + 255) % 256],
            "LastGC_is_zero": m.LastGC == 0,
            "PauseTotalNs_eq_sum": m.PauseTotalNs == sum(m.PauseNs),
            "GCCPUFraction_is_zero": m.GCCPUFraction == 0,
            "Lookups": m.Lookups,
            "EnableGC": m.EnableGC,
            "DebugGC": m.DebugGC,
            "NumGC": m.NumGC,
            "NumForcedGC": m.NumForcedGC,
            "NextGC": m.NextGC,
            "len_BySize": len(m.BySize),
        }

    return {"start": inv(m0), "after_gc": inv(m1)}


@scenario()
def bysize_table():
    m = rt.ReadMemStats()
    return {"len": len(m.BySize), "Size": [b.Size for b in m.BySize]}


@scenario(tol=MEMSTATS_NOISE)
def second_gc_no_change():
    """§2.4: a second runtime.GC() with no work in between."""
    rt.GC()
    m0 = rt.ReadMemStats()
    rt.GC()
    m1 = rt.ReadMemStats()
    return mem_deltas(m0, m1)


CLASS_TO_SIZE = [0, 8, 16, 24, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240, 256,
                 288, 320, 352, 384, 416, 448, 480, 512, 576, 640, 704, 768, 896, 1024, 1152, 1280,
                 1408, 1536, 1792, 2048, 2304, 2688, 3072, 3200, 3456, 4096, 4864, 5376, 6144, 6528,
                 6784, 6912, 8192, 9472, 9728, 10240, 10880, 12288, 13568, 14336, 16384, 18432,
                 19072, 20480, 21760, 24576, 27264, 28672, 32768]


def sweep_sizes(scan: bool) -> list[int]:
    """For every class, the largest request that fits it and the next possible
    request (scan requests > 512 B carry an 8-byte header; noscan < 16 B is tiny)."""
    sizes = set()
    for b in CLASS_TO_SIZE[1:]:
        step = 8 if scan else 1
        if scan and b > 512:
            b -= 8
        elif not scan and b < 16:
            continue
        sizes.update((b, b + step))
    return sorted(sizes)


def alloc_bytes(n: int, scan: bool):
    if scan:
        return rt.make(rt.Slice(rt.Ptr(rt.Int)), n // 8)
    return rt.make(rt.Slice(rt.Byte), n)


def size_class_sweep(scan: bool) -> dict:
    K = 64
    out = {}
    for n in sweep_sizes(scan):
        holder = [None] * N
        rt.GC()
        m0 = rt.ReadMemStats()
        for i in range(K):
            holder[i] = alloc_bytes(n, scan)
        m1 = rt.ReadMemStats()
        out[str(n)] = {"slot": dlt(m0.HeapAlloc, m1.HeapAlloc) // K, "bysize": bysize_index(m0, m1, K)}
    del holder
    return out


@scenario()
def size_classes_noscan():
    """Every size class, pointer-free: slot size (HeapAlloc per object) and BySize index."""
    return size_class_sweep(False)


@scenario()
def size_classes_scan():
    """Every size class, pointerful, including the 8-byte malloc header above 512 B."""
    return size_class_sweep(True)


def per_span(T) -> dict:
    """Appendix X4: most objects in one 8 KiB page and the highest offset in it."""
    NS = 4096
    rt.GC()
    holder = [rt.new(T) for _ in range(NS)]
    per_page, max_off = {}, {}
    for p in holder:
        base = p.addr & ~8191
        per_page[base] = per_page.get(base, 0) + 1
        max_off[base] = max(max_off.get(base, 0), p.addr - base)
    best, best_off = 0, 0
    for b, n in per_page.items():
        if n > best or n == best and max_off[b] > best_off:
            best, best_off = n, max_off[b]
    del holder
    return {"max_per_span": best, "max_offset": best_off}


@scenario()
def objects_per_span():
    """§1.5 Green Tea objects per span (Appendix X4)."""
    g = go_types()
    return {
        "scan8": per_span(g.S8),
        "noscan16": per_span(rt.Array(rt.Byte, 16)),
        "scan16": per_span(g.S16),
        "noscan24": per_span(rt.Array(rt.Byte, 24)),
        "scan24": per_span(g.S24),
        "noscan512": per_span(rt.Array(rt.Byte, 512)),
        "scan512": per_span(g.S512),
        "noscan520": per_span(rt.Array(rt.Byte, 520)),
        "scan520": per_span(g.S520),
        "noscan1024": per_span(rt.Array(rt.Byte, 1024)),
    }


def boundary_row(T, n: int) -> dict:
    """n objects of T: slot, BySize entry, HeapInuse, allocs-by-size bucket; drop + GC."""
    h0, h1 = samples(["/gc/heap/allocs-by-size:bytes"]), samples(["/gc/heap/allocs-by-size:bytes"])
    holder = [None] * N
    rt.GC()
    m0 = rt.ReadMemStats()
    metrics.Read(h0)
    for i in range(n):
        holder[i] = rt.new(T)
    m1 = rt.ReadMemStats()  # flushes the mcaches, so the histogram is current too
    metrics.Read(h1)
    holder = [None] * N
    rt.GC()
    m2 = rt.ReadMemStats()
    c0, hist = h0[0].Value.Float64Histogram().Counts, h1[0].Value.Float64Histogram()
    bucket = -1
    for i, c in enumerate(hist.Counts):
        if c - c0[i] >= n:
            bucket = i
    return {
        "Mallocs": dlt(m0.Mallocs, m1.Mallocs),
        "slot": dlt(m0.HeapAlloc, m1.HeapAlloc) // n,
        "bysize": bysize_index(m0, m1, n),
        "HeapInuse": dlt(m0.HeapInuse, m1.HeapInuse),
        "alloc_bucket": bucket,
        "alloc_bucket_lower": hist.Buckets[bucket] if bucket >= 0 else -1.0,
        "after_gc.Frees": dlt(m1.Frees, m2.Frees),
        "after_gc.HeapAlloc": dlt(m0.HeapAlloc, m2.HeapAlloc),
        "after_gc.HeapInuse": dlt(m0.HeapInuse, m2.HeapInuse),
    }


BOUNDARY_TOL = noise("Mallocs", "Frees", "HeapAlloc", "HeapInuse")


@scenario(tol=BOUNDARY_TOL)
def header_boundary():
    """§1.6: the 8-byte malloc header of scan objects > 512 B."""
    g, n = go_types(), 100
    B = rt.Byte
    return {
        "noscan512": boundary_row(rt.Array(B, 512), n),
        "noscan513": boundary_row(rt.Array(B, 513), n),
        "noscan1024": boundary_row(rt.Array(B, 1024), n),
        "noscan18432": boundary_row(rt.Array(B, 18432), n),
        "scan512": boundary_row(g.H512, n),
        "scan520": boundary_row(g.H513, n),
        "scan1024": boundary_row(g.H1024, n),
        "scan18432": boundary_row(g.H18432, n),
    }


@scenario(tol=BOUNDARY_TOL)
def large_boundary():
    """§1.7 and Appendix X10: requests > 32760 bytes are large objects."""
    g, n = go_types(), 64
    B = rt.Byte
    return {
        "noscan32760": boundary_row(rt.Array(B, 32760), n),
        "noscan32761": boundary_row(rt.Array(B, 32761), n),
        "noscan32768": boundary_row(rt.Array(B, 32768), n),
        "noscan40000": boundary_row(rt.Array(B, 40000), n),
        "scan32752": boundary_row(g.L32752, n),
        "scan32760": boundary_row(g.L32760, n),
        "scan32768": boundary_row(g.L32768, n),
        "scan40000": boundary_row(g.L40000, n),
    }


def delta_row(T) -> dict:
    """Appendix D: 1000 objects of T, then drop + GC + GC."""
    holder = [None] * N
    rt.GC()
    rt.GC()
    m0 = rt.ReadMemStats()
    for i in range(N):
        holder[i] = rt.new(T)
    m1 = rt.ReadMemStats()
    holder = [None] * N
    rt.GC()
    m2 = rt.ReadMemStats()
    rt.GC()
    m3 = rt.ReadMemStats()
    del holder
    return {
        "alloc": mem_deltas(m0, m1),
        "gc1": mem_deltas(m0, m2),
        "gc2": mem_deltas(m0, m3),
        "BySize.Mallocs": bysize_deltas(m0, m1),
        "BySize.Frees": bysize_deltas(m0, m3, frees=True),
    }


# The 40 000-byte rows allocate 40 MB while holding it: heap-triggered GCs.
DELTA_TOL = {"40000.*.NumGC": HEAP_TRIGGERED, **MEMSTATS_NOISE}
# The pointerful 40 000-byte row: real Go's heap-triggered cycle stays in its mark phase
# while the mutator allocates far past the 4 MB goal (gctrace "3->9..28->9..28 MB, 4 MB
# goal", 1 cycle where the pointer-free twin runs 4): the large objects' scan work (about
# 40 KB each) dwarfs the pacer's expectation, revise pushes the goal to the hard goal and
# the assist ratio collapses to its floor, and the fractional worker does not get the only
# P. goruntime's concurrent mark (issue 16) follows the same rules and runs 1 cycle too.
SCAN_DELTA_TOL = DELTA_TOL


@scenario(tol=DELTA_TOL)
def memstats_deltas_noscan():
    """Appendix D, pointer-free rows."""
    B = rt.Byte
    return {str(n): delta_row(rt.Array(B, n)) for n in (8, 24, 48, 100, 1024, 40000)}


@scenario(tol=SCAN_DELTA_TOL)
def memstats_deltas_scan():
    """Appendix D, pointerful rows (P100 is 104 bytes)."""
    g = go_types()
    return {"8": delta_row(g.P8), "24": delta_row(g.P24), "48": delta_row(g.P48), "104": delta_row(g.P100),
            "1024": delta_row(g.P1024), "40000": delta_row(g.P40000)}


def tiny_row(T) -> dict:
    """Appendix E: 1000 allocations of T; MemStats and metrics deltas, block sharing."""
    s0, s1 = samples(TINY_METRICS), samples(TINY_METRICS)
    holder = [None] * N
    rt.GC()
    rt.GC()
    m0 = rt.ReadMemStats()  # also flushes the mcaches: the next tiny request starts a block
    metrics.Read(s0)
    for i in range(N):
        holder[i] = rt.new(T)
    m1 = rt.ReadMemStats()
    metrics.Read(s1)
    blocks = {p.addr & ~15 for p in holder}
    first = [p.addr % 16 for p in holder[:6]]
    d = mem_deltas(m0, m1)
    for k in ("HeapInuse", "NumGC", "NumForcedGC"):
        del d[k]
    return {
        "memstats": d,
        "BySize2.Mallocs": dlt(m0.BySize[2].Mallocs, m1.BySize[2].Mallocs),
        "metrics": {name: dlt(u64(s0, i), u64(s1, i)) for i, name in enumerate(TINY_METRICS)},
        "distinct_16B_blocks": len(blocks),
        "first6_addr_mod16": first,
    }


TINY_TOL = {"memstats.HeapAlloc": RUNTIME_BYTES, "memstats.TotalAlloc": RUNTIME_BYTES,
            "metrics./gc/heap/allocs:bytes": RUNTIME_BYTES, "memstats.*": RUNTIME_OBJECTS,
            "metrics./gc/heap/*:objects": RUNTIME_OBJECTS, "BySize2.Mallocs": RUNTIME_OBJECTS}


@scenario(tol=TINY_TOL)
def tiny_int64():
    return tiny_row(rt.Int64)


@scenario(tol=TINY_TOL)
def tiny_byte():
    return tiny_row(rt.Byte)


@scenario(tol=TINY_TOL)
def tiny_int32():
    return tiny_row(rt.Int32)


@scenario(tol=TINY_TOL)
def tiny_12byte():
    return tiny_row(rt.Array(rt.Byte, 12))


@scenario(tol=TINY_TOL)
def tiny_16byte():
    return tiny_row(rt.Array(rt.Byte, 16))


@scenario(tol={
    # *int objects (class 1, scan) continue a span Go's start-up left partly used,
    # so where they start within 16-byte blocks depends on Go's own objects.
    "distinct_16B_blocks": Abs(2, "class-1 objects continue a span Go's start-up left partly used"),
    "first6_addr_mod16": Info("addresses continue a class-1 span Go's start-up left partly used "
                              "(Go runs: [0,0,0,8,0,8] and [0,8,8,0,8,0])"),
    **TINY_TOL,
})
def tiny_ptr():
    return tiny_row(rt.Ptr(rt.Int))


@scenario()
def zero_size():
    """§1.9: zero-size allocations return &zerobase."""
    g, n = go_types(), 100
    holder = [None] * N
    rt.GC()
    m0 = rt.ReadMemStats()
    for i in range(n):
        holder[i] = rt.new(g.emptyT)
    m1 = rt.ReadMemStats()
    d1 = len({p.addr for p in holder[:n]})
    for i in range(n):
        holder[i] = rt.new(rt.Array(rt.Int, 0))
    m2 = rt.ReadMemStats()
    d2 = len({p.addr for p in holder[:n]})
    zero_slices = [rt.make(rt.Slice(rt.Int), 0) for _ in range(100)]
    m3 = rt.ReadMemStats()
    del zero_slices, holder
    return {
        "struct0.Mallocs": dlt(m0.Mallocs, m1.Mallocs),
        "struct0.HeapAlloc": dlt(m0.HeapAlloc, m1.HeapAlloc),
        "struct0.distinct": d1,
        "array0.Mallocs": dlt(m1.Mallocs, m2.Mallocs),
        "array0.distinct": d2,
        "slice0.Mallocs": dlt(m2.Mallocs, m3.Mallocs),
    }


def x_fin(p):
    pass


@scenario(tol={
    # The first AddCleanup of a Go process starts the cleanup goroutine, whose g
    # (a 480-byte-class object) is a heap allocation counted here.
    "AddCleanup_int.Mallocs": Abs(1, "the first AddCleanup starts Go's cleanup goroutine, whose g is a heap "
                                     "object"),
    "AddCleanup_int.HeapAlloc": Abs(480, "the first AddCleanup starts Go's cleanup goroutine, whose g is a "
                                         "480-byte-class heap object"),
    **noise("Mallocs", "HeapAlloc"),
})
def special_allocs():
    """Appendix X14: heap allocations made by SetFinalizer, AddCleanup, weak.Make."""
    g = go_types()
    objs: list = [None] * N
    ws: list = [None] * N

    def measure(f):
        for i in range(N):
            objs[i] = rt.new(g.xT)
            objs[i].v = i
        rt.GC()
        m0 = rt.ReadMemStats()
        for i in range(N):
            f(i)
        m1 = rt.ReadMemStats()
        return {"Mallocs": dlt(m0.Mallocs, m1.Mallocs), "HeapAlloc": dlt(m0.HeapAlloc, m1.HeapAlloc),
                "BySize2.Mallocs": dlt(m0.BySize[2].Mallocs, m1.BySize[2].Mallocs)}

    def make_once(i):
        ws[i] = weak.Make(objs[i])

    def make_twice(i):
        ws[i] = weak.Make(objs[i])
        ws[i] = weak.Make(objs[i])

    out = {
        "SetFinalizer": measure(lambda i: rt.SetFinalizer(objs[i], x_fin)),
        "AddCleanup_int": measure(lambda i: rt.AddCleanup(objs[i], lambda v: None, i)),
        "AddCleanup_string": measure(lambda i: rt.AddCleanup(objs[i], lambda s: None, "x")),
        "weak.Make": measure(make_once),
        "weak.Make_twice": measure(make_twice),
    }
    objs[:] = [None] * N
    return out


# ---------------------------------------------------------------------------
# finalizers

@scenario()
def fin_chain():
    """Appendix A: A → B, both finalizable: A at GC1, B at GC2."""
    g, events = go_types(), []

    def fin_a(a):
        b = a.b
        events.append("A (a.b intact)" if b is not None and b.id == 2 else "A (a.b lost)")

    def setup():
        b = rt.new(g.chainB)
        b.id = 2
        a = rt.new(g.chainA)
        a.id, a.b = 1, b
        rt.SetFinalizer(b, lambda b: events.append("B"))
        rt.SetFinalizer(a, fin_a)

    setup()
    return cycles(events, 3)


@scenario()
def fin_order():
    """Appendix X8: finalizers of objects 0..9 run in reverse queue order."""
    g, events = go_types(), []

    def setup():
        for i in range(10):
            t = rt.new(g.ordT)
            t.id = i
            rt.SetFinalizer(t, lambda t: events.append(str(t.id)))

    rt.GC()
    setup()
    return cycles(events, 2)


@scenario()
def fin_weak_cleanup_timing():
    """Appendix X8: weak + finalizer + cleanup on one object."""
    g, events, st = go_types(), [], SimpleNamespace(w=None)

    def setup():
        t = rt.new(g.ordT)
        t.id = 99
        st.w = weak.Make(t)
        rt.AddCleanup(t, lambda _: events.append(
            "cleanup (weak nil)" if st.w.Value() is None else "cleanup (weak live)"), 0)
        rt.SetFinalizer(t, lambda _: events.append(
            "finalizer (weak nil)" if st.w.Value() is None else "finalizer (weak live)"))

    setup()
    out = {}
    for i in range(1, 4):
        rt.GC()
        out[f"gc{i}.weak_nil_before_drain"] = st.w.Value() is None
        wait_queues()
        out[f"gc{i}.events"] = take(events)
    return out


@scenario()
def fin_resurrect():
    """Appendix B: resurrection, weak pointers around it, re-arming."""
    g, events = go_types(), []
    st = SimpleNamespace(saved=None, count=0, rearm=False, w_before=None)

    def res_fin(o):
        st.count += 1
        st.saved = o  # resurrect
        events.append("finalizer")
        if st.rearm:
            rt.SetFinalizer(o, res_fin)

    def setup():
        o = rt.new(g.resObj)
        o.id = 42
        st.w_before = weak.Make(o)
        rt.AddCleanup(o, lambda _id: events.append("cleanup"), o.id)
        rt.SetFinalizer(o, res_fin)

    out = {}

    def gc(label):
        ev = gc_cycle(events)
        out[label] = {"events": ev, "saved": st.saved is not None, "fin_count": st.count,
                      "w_before_is_nil": st.w_before.Value() is None}

    setup()
    gc("gc1")
    w_after = weak.Make(st.saved)
    out["w_after_eq_w_before"] = w_after == st.w_before
    st.saved = None
    gc("gc2")
    out["gc2.w_after_is_nil"] = w_after.Value() is None

    st.rearm, st.count = True, 0
    setup()
    gc("gc3")
    st.saved = None
    gc("gc4")
    st.saved, st.rearm = None, False
    gc("gc5")
    st.saved = None
    gc("gc6")
    return out


C_NAMES = ["A", "B", "S", "C", "D", "E", "F"]


@scenario()
def fin_cycles():
    """Appendix C: cycles with finalizers leak, self-loops do not, cleanup cycles are collected."""
    g, events, w = go_types(), [], SimpleNamespace()

    def c_fin(n):
        events.append("finalizer " + C_NAMES[n.id])

    def node(i):
        n = rt.new(g.cNode)
        n.id = i
        return n

    def setup():
        a, b = node(0), node(1)  # two-node cycle, both with finalizers
        b.next, a.next = a, b
        rt.SetFinalizer(a, c_fin)
        rt.SetFinalizer(b, c_fin)
        w.two = weak.Make(a)
        s = node(2)  # self-cycle with a finalizer
        s.next = s
        rt.SetFinalizer(s, c_fin)
        w.self = weak.Make(s)
        c, d = node(3), node(4)  # two-node cycle, one finalizer
        d.next, c.next = c, d
        rt.SetFinalizer(c, c_fin)
        w.one = weak.Make(c)
        e, f = node(5), node(6)  # two-node cycle with cleanups: collected
        f.next, e.next = e, f
        rt.AddCleanup(e, lambda i: events.append("cleanup " + C_NAMES[i]), 5)
        rt.AddCleanup(f, lambda i: events.append("cleanup " + C_NAMES[i]), 6)
        w.clean = weak.Make(e)

    setup()
    out = cycles(events, 5)
    out["weak_nil.two_cycle_both_fin"] = w.two.Value() is None
    out["weak_nil.self_cycle_fin"] = w.self.Value() is None
    out["weak_nil.two_cycle_one_fin"] = w.one.Value() is None
    out["weak_nil.two_cycle_cleanups"] = w.clean.Value() is None
    return out


@scenario()
def fin_tiny():
    """Appendix X6: a finalizer on a tiny object waits for its whole block."""
    events, st = [], SimpleNamespace(keep_a=None)

    def setup():
        a = rt.new(rt.Int64)
        b = rt.new(rt.Int64)
        same = (a.addr & ~15) == (b.addr & ~15)
        rt.SetFinalizer(b, lambda _: events.append("finalizer(b)"))
        st.keep_a = a
        return same

    rt.GC()  # start from a clean tiny block
    out = {"same_block": setup()}
    for i in range(1, 4):
        out[f"cycle{i}"] = gc_cycle(events)
    st.keep_a = None
    for i in range(4, 6):
        out[f"cycle{i}"] = gc_cycle(events)
    return out


@scenario()
def fin_interior_pointer():
    """§5.1 step 6: a finalizer on &t.v (an *int) runs when t dies, with &t.v."""
    g, events, offsets, st = go_types(), [], [], SimpleNamespace(base=0)

    def fin(p):
        offsets.append(p.addr - st.base)
        events.append("finalizer(&t.v)")

    def setup():
        t = rt.new(g.intT)
        st.base = t.addr
        rt.SetFinalizer(t.field_ptr("v"), fin)

    setup()
    out = cycles(events, 2)
    out["arg_offsets"] = offsets
    return out


@scenario()
def fin_clear_nil():
    """SetFinalizer(p, nil) removes the finalizer; setting one again afterwards works."""
    g, events, st = go_types(), [], SimpleNamespace(w=None)

    def setup():
        t1 = rt.new(g.ordT)
        t1.id = 1
        rt.SetFinalizer(t1, lambda _: events.append("t1"))
        rt.SetFinalizer(t1, None)
        rt.SetFinalizer(t1, None)  # no finalizer: still fine
        st.w = weak.Make(t1)
        t2 = rt.new(g.ordT)
        t2.id = 2
        rt.SetFinalizer(t2, lambda _: events.append("t2 (first)"))
        rt.SetFinalizer(t2, None)
        rt.SetFinalizer(t2, lambda _: events.append("t2 (re-set)"))

    setup()
    out = {}
    rt.GC()
    out["gc1.t1_weak_nil"] = st.w.Value() is None
    wait_queues()
    out["cycle1"] = take(events)
    out["cycle2"] = gc_cycle(events)
    return out


@scenario(tol={"*.Frees": RUNTIME_OBJECTS})
def fin_metrics():
    """TestReadMetricsFinalizers; finalized objects are freed one cycle after their finalizer ran."""
    g = go_types()
    q = samples(QUEUE_METRICS)

    def setup():
        for i in range(10):
            t = rt.new(g.ordT)
            t.id = i
            rt.SetFinalizer(t, lambda _: None)

    rt.GC()
    m0 = rt.ReadMemStats()
    metrics.Read(q)
    q0, e0 = u64(q, 0), u64(q, 1)
    setup()
    rt.GC()
    wait_queues()
    m1 = rt.ReadMemStats()
    metrics.Read(q)
    q1, e1 = u64(q, 0), u64(q, 1)
    rt.GC()
    wait_queues()
    m2 = rt.ReadMemStats()
    metrics.Read(q)
    q2, e2 = u64(q, 0), u64(q, 1)
    return {"gc1.queued": q1 - q0, "gc1.executed": e1 - e0, "gc1.Frees": dlt(m0.Frees, m1.Frees),
            "gc2.queued": q2 - q0, "gc2.executed": e2 - e0, "gc2.Frees": dlt(m0.Frees, m2.Frees)}


@scenario()
def fin_closure_leak():
    """§5.3: a finalizer closure that captures its own object keeps it alive forever."""
    g, events, st = go_types(), [], SimpleNamespace(w=None)

    def setup():
        t = rt.new(g.ordT)
        t.id = 7
        st.w = weak.Make(t)

        def fin(_):
            _ = t.id  # the closure captures t, as Go's does
            events.append("finalizer")

        rt.SetFinalizer(t, fin)

    setup()
    out = cycles(events, 3)
    out["weak_nil"] = st.w.Value() is None
    return out


# ---------------------------------------------------------------------------
# sweep order (issue 15, item 1)

SW_KINDS = {0: "swTiny", 5: "swTiny", 1: "sw16", 6: "sw16", 2: "swL", 7: "swL",
            3: "sw48", 8: "sw48", 4: "sw64", 9: "sw256"}


@functools.cache
def sweep_types() -> dict:
    S, A, pi = rt.Struct, rt.Array, rt.Ptr(rt.Int)
    return {
        "swTiny": S("swTiny", id=rt.Int64),
        "sw16": S("sw16", p=pi, id=rt.Int),
        "sw48": S("sw48", p=pi, id=rt.Int, b=A(rt.Byte, 32)),
        "sw64": S("sw64", id=rt.Int, b=A(rt.Byte, 56)),
        "sw256": S("sw256", p=pi, id=rt.Int, b=A(rt.Byte, 240)),
        "swL": S("swL", p=pi, id=rt.Int, b=A(rt.Byte, 39984)),
    }


def sweep_order(cleanup: bool) -> dict:
    """Issue 15 item 1: finalizer (or cleanup) order over tiny, small and large classes
    after runtime.GC() with one P. The mcache flush at mark termination sweeps the cached
    spans in span class order (one batch: here every small and tiny object); then
    runtime.GC's sweepone (one span, then Gosched) and bgsweep (ten spans, then a yield)
    take turns over the large spans, and the finalizer goroutine runs each batch newest
    first (the cleanup goroutine takes full 20-entry blocks newest first)."""
    T, order = sweep_types(), []
    # main.go's `events` channel (make(chan string, 4096), made at package init) has a
    # 64 KiB pointerful buffer: the first span of span class 0 in Go's heap, which
    # runtime.GC's first sweepone takes before any of the scenario's large spans.
    keep_events = rt.make(rt.ChanType(rt.String), 4096)

    def fin(x):
        order.append(int(x.id))

    def setup():
        for i in range(300):
            x = rt.new(T[SW_KINDS[i % 10]])
            x.id = i
            if cleanup:
                rt.AddCleanup(x, order.append, i)
            else:
                rt.SetFinalizer(x, fin)

    rt.GC()
    setup()
    out = {}
    for c in (1, 2):
        rt.GC()
        wait_queues()
        out[f"cycle{c}"] = take(order)
    del keep_events
    return out


@scenario()
def fin_sweep_order():
    """Finalizers of 300 objects over tiny, small and large classes, in Go's sweep order."""
    return sweep_order(False)


@scenario()
def cleanup_sweep_order():
    """Cleanups of 300 objects over tiny, small and large classes, in Go's sweep order."""
    return sweep_order(True)


@scenario()
def lazy_sweep_frees():
    """A heap-triggered cycle sweeps lazily (issue 15 item 1): right after it, the spans
    of 1000 dead 256-byte objects are not swept yet, so their frees do not show in
    BySize; runtime.GC() sweeps them. The 16-byte garbage that triggers the cycle is
    swept first (its class comes first in sweep order, and cacheSpan sweeps its spans)."""
    T = sweep_types()
    cyc = samples(["/gc/cycles/total:gc-cycles"])

    def garbage():
        for i in range(1000):
            x = rt.new(T["sw256"])
            x.id = i

    rt.GC()
    garbage()
    ms0 = rt.ReadMemStats()
    metrics.Read(cyc)
    n0 = u64(cyc, 0)
    while u64(cyc, 0) == n0:
        for k in range(64):
            keep_sink = rt.new(T["sw16"])
            keep_sink.id = k
        metrics.Read(cyc)
    ms1 = rt.ReadMemStats()
    rt.GC()
    ms2 = rt.ReadMemStats()
    c = next(i for i, b in enumerate(ms0.BySize) if b.Size == 256)
    live = lambda m: m.BySize[c].Mallocs - m.BySize[c].Frees  # noqa: E731
    return {
        "cycles": ms1.NumGC - ms0.NumGC,
        "after_cycle.frees256": ms1.BySize[c].Frees - ms0.BySize[c].Frees,
        "after_gc.frees256": ms2.BySize[c].Frees - ms0.BySize[c].Frees,
        "after_cycle.dead_still_counted256": live(ms1) - live(ms2),
    }


# ---------------------------------------------------------------------------
# cleanups

@scenario()
def cleanup_order():
    """Appendix X8 (clorder): cleanups of objects 0..9 freed together."""
    g, events = go_types(), []

    def setup():
        for i in range(10):
            t = rt.new(g.ordT)
            t.id = i
            rt.AddCleanup(t, lambda i: events.append(str(i)), i)

    rt.GC()
    setup()
    return cycles(events, 2)


@scenario()
def cleanup_after_finalizer():
    """TestCleanupAfterFinalizer: finalizer at GC1, cleanup at GC2."""
    g, events = go_types(), []

    def setup():
        t = rt.new(g.ordT)
        t.id = 1
        rt.AddCleanup(t, lambda _: events.append("cleanup"), 0)
        rt.SetFinalizer(t, lambda _: events.append("finalizer"))

    setup()
    return cycles(events, 3)


@scenario()
def cleanup_stop():
    """TestCleanupStopinterleavedMultiple and TestCleanupStopAfterCleanupRuns."""
    g, events, st = go_types(), [], SimpleNamespace(cl=[])

    def setup():
        t = rt.new(g.ordT)
        st.cl = [rt.AddCleanup(t, lambda i: events.append(str(i)), i) for i in range(5)]
        st.cl[1].Stop()
        st.cl[1].Stop()  # idempotent
        st.cl[3].Stop()
        rt.KeepAlive(t)

    setup()
    out = cycles(events, 2)
    st.cl[0].Stop()  # after it ran: harmless
    out["stop_after_run"] = "ok"
    return out


@scenario()
def cleanup_multiple():
    """TestCleanup (argument 97531 delivered) and TestCleanupMultiple."""
    g, events = go_types(), []

    def setup():
        t = rt.new(g.ordT)
        for arg in (97531, 2, 3):
            rt.AddCleanup(t, lambda v: events.append(str(v)), arg)

    setup()
    return cycles(events, 2)


@scenario()
def cleanup_interior():
    """TestCleanupInteriorPointer: cleanups on three fields of one object."""
    g, events = go_types(), []

    def setup():
        t = rt.new(g.ciT)
        for i, f in enumerate("abc"):
            rt.AddCleanup(t.field_ptr(f), lambda i: events.append(str(i)), i)

    setup()
    return cycles(events, 2)


@scenario()
def cleanup_metrics():
    """TestReadMetricsCleanups: queued and executed +10 after one GC."""
    g = go_types()
    q = samples(QUEUE_METRICS)

    def setup():
        for i in range(10):
            t = rt.new(g.ordT)
            rt.AddCleanup(t, lambda _: None, i)

    rt.GC()
    metrics.Read(q)
    q0, e0 = u64(q, 2), u64(q, 3)
    setup()
    rt.GC()
    wait_queues()
    metrics.Read(q)
    q1, e1 = u64(q, 2), u64(q, 3)
    rt.GC()
    wait_queues()
    metrics.Read(q)
    q2, e2 = u64(q, 2), u64(q, 3)
    return {"gc1.queued": q1 - q0, "gc1.executed": e1 - e0, "gc2.queued": q2 - q0, "gc2.executed": e2 - e0}


# ---------------------------------------------------------------------------
# weak pointers

@scenario()
def weak_equality():
    """TestPointerEquality: canonical handles per (object, offset)."""
    g, st = go_types(), SimpleNamespace()

    def setup():
        t, t2 = rt.new(g.wT), rt.new(g.wT)
        w1, w2 = weak.Make(t), weak.Make(t)
        wb1, wb2 = weak.Make(t.field_ptr("b")), weak.Make(t.field_ptr("b"))
        wc = weak.Make(t.field_ptr("c"))
        st.obj, st.field, st.other = w1, wb1, weak.Make(t2)
        return {
            "same_object_equal": w1 == w2,
            "same_field_equal": wb1 == wb2,
            "field_vs_object_equal": wb1 == w1,
            "b_vs_c_equal": wb1 == wc,
            "other_object_equal": st.obj == st.other,
            "value_is_object": w1.Value() == t,
            "value_is_field": wb1.Value() == t.field_ptr("b"),
            "nil_eq_zero": weak.Make(None) == weak.Pointer(),
            "nil_value_is_nil": weak.Make(None).Value() is None,
        }

    out = setup()
    rt.GC()
    out["after_gc.object_nil"] = st.obj.Value() is None
    out["after_gc.field_nil"] = st.field.Value() is None
    out["after_gc.other_nil"] = st.other.Value() is None
    return out


@scenario()
def weak_finalizer():
    """TestPointerFinalizer: nil at the GC that queues the finalizer, before it runs."""
    g, events, st = go_types(), [], SimpleNamespace(w=None)

    def setup():
        t = rt.new(g.ordT)
        t.id = 1
        st.w = weak.Make(t)
        rt.SetFinalizer(t, lambda _: events.append(
            "finalizer (weak nil)" if st.w.Value() is None else "finalizer (weak live)"))

    setup()
    out = {"before_gc.nil": st.w.Value() is None}
    for i in (1, 2):
        rt.GC()
        out[f"gc{i}.nil_before_drain"] = st.w.Value() is None
        wait_queues()
        out[f"gc{i}.events"] = take(events)
        out[f"gc{i}.nil_after_drain"] = st.w.Value() is None
    return out


@scenario()
def weak_cleanup():
    """TestPointerCleanup: nil by the time the cleanup runs."""
    g, events, st = go_types(), [], SimpleNamespace(w=None)

    def setup():
        t = rt.new(g.ordT)
        t.id = 1
        st.w = weak.Make(t)
        rt.AddCleanup(t, lambda _: events.append(
            "cleanup (weak nil)" if st.w.Value() is None else "cleanup (weak live)"), 0)

    setup()
    rt.GC()
    out = {"gc1.nil_before_drain": st.w.Value() is None}
    wait_queues()
    out["gc1.events"] = take(events)
    return out


@scenario()
def weak_tiny():
    """TestPointerTiny: weak pointers to 1000 dead tiny objects after one GC."""
    ws: list = [None] * N

    def setup():
        same = 0
        for i in range(N):
            p = rt.new(rt.Int)
            ws[i] = weak.Make(p)
            if ws[i].Value() == p:
                same += 1
        return same

    rt.GC()
    same = setup()
    rt.GC()
    return {"value_is_pointer": same, "nil_after_gc1": sum(w.Value() is None for w in ws)}


@scenario()
def weak_zero_size():
    """TestImmortalPointer for zero-size objects: never nil."""
    g = go_types()
    w = weak.Make(rt.new(g.emptyT))
    rt.GC()
    rt.GC()
    return {"nil_after_2_gcs": w.Value() is None}


# ---------------------------------------------------------------------------
# pacer


def fill_chunks(mib: int) -> list:
    """8 KiB pointerful chunks (8192 + 8 header bytes: class 52, 9472 B each)."""
    return [rt.make(rt.Slice(rt.Ptr(rt.Int)), 1024) for _ in range(mib * MiB // 8192)]


def regime(formula: int, min_heap: int, floor: int) -> str:
    if min_heap >= formula and min_heap >= floor:
        return "heap_minimum"
    if floor >= formula:
        return "sweep_floor"
    return "formula"


def goal_rows(live_mib: int) -> dict:
    """Appendix X3: NextGC after GC for GOGC 100, 200, 50, 10, 0, beside its inputs."""
    keep = fill_chunks(live_mib)
    s = samples(PACER_METRICS)
    out = {}
    for gogc in (100, 200, 50, 10, 0):
        debug.SetGCPercent(gogc)
        rt.GC()
        m = rt.ReadMemStats()
        metrics.Read(s)
        marked, stack, globals_, goal = (u64(s, i) for i in range(4))
        formula = marked + (marked + stack + globals_) * gogc // 100
        min_heap = (4 << 20) * gogc // 100
        floor = marked + (1 << 20)
        out[f"gogc{gogc}"] = {
            "NextGC": m.NextGC,
            "goal_metric_eq": goal == m.NextGC,
            "heapMarked": marked,
            "stack": stack,
            "globals": globals_,
            "formula_match": max(formula, min_heap, floor) == m.NextGC,
            "regime": regime(formula, min_heap, floor),
        }
    debug.SetGCPercent(100)
    del keep
    return out


PROCESS_INPUTS = Info("pacer input that belongs to the process: Go's are this binary's data+BSS (557 KB) and "
                      "main's stack; they enter the comparison only through formula_match")
GO_OWN_LIVE_HEAP = Abs(256 * KiB, "heapMarked includes Go's own live runtime objects (~180 KB in this binary)")


@scenario(tol={"*.stack": PROCESS_INPUTS, "*.globals": PROCESS_INPUTS, "*.heapMarked": GO_OWN_LIVE_HEAP,
               # Heap-minimum rows are exact; the sweep-floor rows are heapMarked + 1 MiB.
               "*.NextGC": Abs(256 * KiB, "sweep-floor rows are heapMarked + 1 MiB and carry Go's own live "
                                          "runtime objects (~180 KB)")})
def gogc_goal_small():
    return goal_rows(0)


@scenario(tol={"*.stack": PROCESS_INPUTS, "*.globals": PROCESS_INPUTS, "*.heapMarked": GO_OWN_LIVE_HEAP,
               "*.NextGC": Rel(0.03, "NextGC = m + (m + stack + globals)·GOGC/100 carries Go's own live runtime "
                                     "objects (~180 KB) and this binary's 557 KB of globals (< 2 % at GOGC=200)")})
def gogc_goal_20mib():
    return goal_rows(20)


def limit_goal(limit: int, m) -> tuple[int, int]:
    """§4.4: the memory-limit goal from one MemStats snapshot, and nonHeap."""
    mapped_ready = m.Sys - m.HeapReleased
    non_heap = mapped_ready - (m.HeapIdle - m.HeapReleased) - m.HeapAlloc
    overage = max(mapped_ready - limit, 0)
    g = limit - (non_heap + overage)
    h = max(g // 100 * 3, 1 << 20)
    return (h if g < h or g - h < h else g - h), non_heap


NON_HEAP = Info("Sys − HeapReleased − free − HeapAlloc: Go's stacks and runtime metadata, process state")


@scenario(tol={"NextGC": Rel(1e-9, "(MaxInt64 − nonHeap)·0.97: nonHeap (~4 MB of Go's stacks and metadata) is "
                                   "process state"),
               "nonHeap": NON_HEAP})
def gogc_off_goal():
    """§4.3: with GOGC off, NextGC is the memory-limit goal for limit = MaxInt64."""
    rt.GC()
    prev = debug.SetGCPercent(-1)
    m = rt.ReadMemStats()
    s = samples(PACER_METRICS)
    metrics.Read(s)
    goal, non_heap = limit_goal(MAX_INT64, m)
    debug.SetGCPercent(100)
    return {
        "prev_percent": prev,
        "NextGC": m.NextGC,
        "ratio_to_MaxInt64": f"{m.NextGC / MAX_INT64:.6f}",
        "formula_match": goal == m.NextGC,
        "nonHeap": non_heap,
        "gogc_metric": u64(s, 8),
        "goal_metric_eq": u64(s, 3) == m.NextGC,
    }


@scenario(tol={"NextGC": Info("limit − nonHeap − 3 % headroom: nonHeap is Go's process state; compared as "
                              "NextGC_plus_nonHeap"),
               "nonHeap": NON_HEAP,
               "NextGC_plus_nonHeap": Abs(256 * KiB, "= limit − 3 % of (limit − nonHeap): 3 % of the nonHeap "
                                                     "difference remains (Go's own varies by ~100 KB)")})
def memlimit_goal_40mib():
    """Appendix X3 last row: GOGC=100, limit 40 MiB, ~20 MiB live."""
    keep = fill_chunks(20)
    debug.SetGCPercent(100)
    prev = debug.SetMemoryLimit(40 << 20)
    rt.GC()
    m = rt.ReadMemStats()
    s = samples(PACER_METRICS)
    metrics.Read(s)
    goal, non_heap = limit_goal(40 << 20, m)
    marked, stack, globals_ = u64(s, 0), u64(s, 1), u64(s, 2)
    percent_goal = marked + (marked + stack + globals_)
    debug.SetMemoryLimit(MAX_INT64)
    del keep
    return {
        "prev_limit": prev,
        "NextGC": m.NextGC,
        "nonHeap": non_heap,
        "NextGC_plus_nonHeap": m.NextGC + non_heap,
        "formula_match": goal == m.NextGC,
        "limited": m.NextGC < percent_goal,
        "gomemlimit_metric": u64(s, 9),
    }


@scenario(runtime={"gogc": "off"})
def gogc_env_off():
    """GOGC=off: 40 MiB of garbage starts no GC; runtime.GC() still works (TestUserForcedGC)."""
    m0 = rt.ReadMemStats()
    s = samples(PACER_METRICS)
    metrics.Read(s)
    garbage = None
    for _ in range(5120):
        garbage = rt.make(rt.Slice(rt.Byte), 8192)
    m1 = rt.ReadMemStats()
    rt.GC()
    m2 = rt.ReadMemStats()
    del garbage
    return {
        "gogc_metric": u64(s, 8),
        "start.ratio_NextGC_to_MaxInt64": f"{m0.NextGC / MAX_INT64:.6f}",
        "after_garbage.NumGC": m1.NumGC - m0.NumGC,
        "after_gc.NumGC": m2.NumGC - m0.NumGC,
        "after_gc.NumForcedGC": m2.NumForcedGC - m0.NumForcedGC,
        "after_gc.TotalAlloc_delta_ge_40MiB": m2.TotalAlloc - m0.TotalAlloc >= 40 * MiB,
    }


def gogc_env() -> dict:
    """Appendix X15: GOGC / GOMEMLIMIT from the environment."""
    m0 = rt.ReadMemStats()
    s = samples(PACER_METRICS)
    metrics.Read(s)
    gogc, limit = u64(s, 8), u64(s, 9)
    rt.GC()
    m1 = rt.ReadMemStats()
    return {
        "gogc_metric": gogc,
        "gomemlimit_metric": limit,
        "start.NextGC": m0.NextGC,
        "after_gc.NextGC": m1.NextGC,
        "SetMemoryLimit(-1)": debug.SetMemoryLimit(-1),
        "SetGCPercent(100)_prev": debug.SetGCPercent(100),
    }


@scenario(runtime={"gogc": "200"})
def gogc_env_200():
    return gogc_env()


@scenario(runtime={"gogc": "abc"})
def gogc_env_invalid():
    """GOGC that does not parse means 100."""
    return gogc_env()


@scenario(runtime={"memory_limit": "1GiB"})
def gomemlimit_env_1gib():
    return gogc_env()


@scenario()
def setgcpercent_api():
    """Appendix X15: SetGCPercent / SetMemoryLimit return values and metrics."""
    s = samples(PACER_METRICS)
    out = {}
    metrics.Read(s)
    out["initial.gogc"], out["initial.gomemlimit"], out["initial.goal"] = u64(s, 8), u64(s, 9), u64(s, 3)
    out["SetGCPercent(-1)"] = debug.SetGCPercent(-1)
    metrics.Read(s)
    out["off.gogc"] = u64(s, 8)
    out["off.goal_ratio"] = f"{u64(s, 3) / MAX_INT64:.6f}"
    out["SetGCPercent(-7)"] = debug.SetGCPercent(-7)
    out["SetGCPercent(100)"] = debug.SetGCPercent(100)
    out["SetGCPercent(50)"] = debug.SetGCPercent(50)
    out["SetGCPercent(100) again"] = debug.SetGCPercent(100)
    out["SetMemoryLimit(-1)"] = debug.SetMemoryLimit(-1)
    out["SetMemoryLimit(64MiB)"] = debug.SetMemoryLimit(64 << 20)
    metrics.Read(s)
    out["limited.gomemlimit"] = u64(s, 9)
    out["SetMemoryLimit(-1) after"] = debug.SetMemoryLimit(-1)
    out["SetMemoryLimit(MaxInt64)"] = debug.SetMemoryLimit(MAX_INT64)
    return out


@scenario()
def setgcpercent_zero_after_gc():
    """§4.2: SetGCPercent(0) after sweeping gives NextGC = heapMarked; the next
    trigger check (a large allocation) starts a cycle."""
    rt.GC()
    debug.SetGCPercent(0)
    m0 = rt.ReadMemStats()
    s = samples(PACER_METRICS)
    metrics.Read(s)
    marked, c0 = u64(s, 0), u64(s, 10)
    big = rt.make(rt.Slice(rt.Byte), 64 << 10)
    started = False
    for _ in range(2000):
        metrics.Read(s)
        started = u64(s, 10) > c0
        if started:
            break
        rt.Gosched()
    debug.SetGCPercent(100)
    del big
    return {"NextGC_minus_heapMarked": m0.NextGC - marked, "gc_after_large_alloc": started}


# Go's GC turns heap pages into goroutine stacks or GC work buffers and back (§1.11):
# measured HeapSys/HeapIdle −32768 in 4 of 40 runs, and once 1.5 MB of such memory
# came back to the heap right after FreeOSMemory had released everything.
STACK_PAGES = Abs(32768, "Go's GC moves heap pages to goroutine stacks or work buffers and back (§1.11; "
                         "measured ±32768 in 4 of 40 runs)")


@scenario(tol={"retain.NumGC": HEAP_TRIGGERED, "free.HeapSys": STACK_PAGES, "free.HeapIdle": STACK_PAGES,
               # a live Go run read drop_gc.HeapAlloc 16 under load (20 recorded runs: 0)
               "retain.HeapAlloc": RUNTIME_BYTES, "drop_gc.HeapAlloc": RUNTIME_BYTES,
               "free.HeapIdle_minus_HeapReleased": Abs(8 * MiB, "Go's GC can return stack or work-buffer spans "
                                                                "to the heap just after FreeOSMemory released it "
                                                                "(measured 1.5 MB in 1 of 40 quiet runs, 2.6 MB under load)")})
def free_os_memory():
    """Appendix X9: debug.FreeOSMemory."""
    rt.GC()
    m0 = rt.ReadMemStats()
    keep = [rt.make(rt.Slice(rt.Byte), 1 << 20) for _ in range(64)]
    m1 = rt.ReadMemStats()
    keep = None
    rt.GC()
    m2 = rt.ReadMemStats()
    debug.FreeOSMemory()
    m3 = rt.ReadMemStats()
    return {
        "retain.NumGC": dlt(m0.NumGC, m1.NumGC),
        "retain.HeapInuse": dlt(m0.HeapInuse, m1.HeapInuse),
        "retain.HeapAlloc": dlt(m0.HeapAlloc, m1.HeapAlloc),
        "drop_gc.HeapInuse": dlt(m0.HeapInuse, m2.HeapInuse),
        "drop_gc.HeapAlloc": dlt(m0.HeapAlloc, m2.HeapAlloc),
        "drop_gc.NumForcedGC": dlt(m0.NumForcedGC, m2.NumForcedGC),
        "free.NumGC": dlt(m2.NumGC, m3.NumGC),
        "free.NumForcedGC": dlt(m2.NumForcedGC, m3.NumForcedGC),
        "free.HeapIdle_minus_HeapReleased": dlt(m3.HeapReleased, m3.HeapIdle),
        "free.HeapSys": dlt(m2.HeapSys, m3.HeapSys),
        "free.HeapIdle": dlt(m2.HeapIdle, m3.HeapIdle),
        "free.HeapInuse": dlt(m2.HeapInuse, m3.HeapInuse),
        "free.released_grew": m3.HeapReleased > m2.HeapReleased,
    }


# ---------------------------------------------------------------------------
# statistics

@scenario()
def gcstats_ring():
    """Appendix X12: PauseNs/PauseEnd rings and ReadGCStats after 3 and 300 GCs."""
    out = {}
    st = debug.GCStats()
    for target in (3, 300):
        while rt.ReadMemStats().NumGC < target:
            rt.GC()
        m = rt.ReadMemStats()
        st.PauseQuantiles = [0] * 5
        debug.ReadGCStats(st)
        last = (m.NumGC + 255) % 256
        pause = [_ns(p) for p in st.Pause]
        pause_end = [_ns(p) for p in st.PauseEnd]
        quant = [_ns(q) for q in st.PauseQuantiles]
        n, q = len(pause), len(quant) - 1
        s = sorted(pause)
        out[f"gc{target}"] = {
            "NumGC": m.NumGC,
            "NumForcedGC": m.NumForcedGC,
            "last_index": last,
            "Pause0_eq_PauseNs_last": pause[0] == m.PauseNs[last],
            "LastGC_eq_PauseEnd_last": m.LastGC == m.PauseEnd[last],
            "GCStats.LastGC_eq_LastGC": _ns(st.LastGC) == m.LastGC,
            "len_Pause": n,
            "len_PauseEnd": len(pause_end),
            "GCStats.NumGC": st.NumGC,
            "PauseTotal_eq_PauseTotalNs": _ns(st.PauseTotal) == m.PauseTotalNs,
            "sum_PauseNs_eq_PauseTotalNs": sum(m.PauseNs) == m.PauseTotalNs,
            "nonzero_PauseNs": sum(p != 0 for p in m.PauseNs),
            "Pause_most_recent_first": all(pause[i] == m.PauseNs[(m.NumGC - 1 - i) % 256] for i in range(n)),
            "PauseEnd_most_recent_first": all(pause_end[i] == m.PauseEnd[(m.NumGC - 1 - i) % 256]
                                              for i in range(n)),
            "len_PauseQuantiles": len(quant),
            "quantiles_match_rank_formula": all(quant[i] == s[n * i // q] for i in range(q)) and quant[q] == s[-1],
            "GCCPUFraction_positive": m.GCCPUFraction > 0,
        }
    return out


@scenario(tol={"allocs_objects_after_flush": RUNTIME_OBJECTS})
def metrics_pauses_lag():
    """Appendix X11: two pause samples per cycle; allocation counters lag until a flush."""
    g = go_types()
    p = samples(["/gc/pauses:seconds", "/sched/pauses/total/gc:seconds", "/gc/cycles/total:gc-cycles"])
    lag = samples(["/gc/heap/allocs:objects"])
    rt.GC()
    metrics.Read(p)
    p0, q0, c0 = hist_total(p[0]), hist_total(p[1]), u64(p, 2)
    for _ in range(10):
        rt.GC()
    metrics.Read(p)
    p1, q1, c1 = hist_total(p[0]), hist_total(p[1]), u64(p, 2)
    metrics.Read(lag)
    before = u64(lag, 0)
    holder = [rt.new(g.lagT) for _ in range(100)]
    metrics.Read(lag)
    mid = u64(lag, 0)
    rt.ReadMemStats()  # STW + flush all mcaches
    metrics.Read(lag)
    after = u64(lag, 0)
    del holder
    return {
        "cycles": c1 - c0,
        "gc_pauses_samples": p1 - p0,
        "sched_pauses_gc_samples": q1 - q0,
        "buckets": len(p[0].Value.Float64Histogram().Counts),
        "allocs_objects_no_flush": mid - before,
        "allocs_objects_after_flush": after - before,
    }


CONS_METRICS = ("/gc/heap/allocs:bytes", "/gc/heap/allocs:objects", "/gc/heap/frees:bytes",
                "/gc/heap/frees:objects", "/gc/heap/tiny/allocs:objects", "/gc/heap/objects:objects",
                "/gc/heap/goal:bytes", "/gc/cycles/total:gc-cycles", "/gc/cycles/forced:gc-cycles",
                "/gc/cycles/automatic:gc-cycles", "/memory/classes/heap/objects:bytes",
                "/memory/classes/heap/unused:bytes", "/memory/classes/heap/free:bytes",
                "/memory/classes/heap/released:bytes", "/memory/classes/total:bytes", "/sched/gomaxprocs:threads",
                "/gc/stack/starting-size:bytes", "/gc/gogc:percent", "/gc/gomemlimit:bytes",
                "/gc/heap/allocs-by-size:bytes", "/gc/heap/frees-by-size:bytes")


@scenario()
def metrics_consistency():
    """TestReadMetrics: metric ↔ MemStats equalities after a mixed workload."""
    g = go_types()
    s = samples(CONS_METRICS)
    holder = [None] * N
    rt.GC()
    for i in range(200):
        holder[i] = rt.new(rt.Int64)  # tiny
    for i in range(200):
        holder[i] = rt.new(g.P48)  # small scan
    holder[500] = rt.make(rt.Slice(rt.Byte), 100 << 10)  # large
    rt.GC()
    for i in range(100):
        holder[i] = rt.new(rt.Int32)
    m = rt.ReadMemStats()
    metrics.Read(s)

    def v(i):
        return u64(s, i)

    tiny = v(4)
    hist, free_hist = s[19].Value.Float64Histogram(), s[20].Value.Float64Histogram()
    by_bucket = all(hist.Counts[i] == m.BySize[i + 1].Mallocs and free_hist.Counts[i] == m.BySize[i + 1].Frees
                    for i in range(60))
    del holder
    return {
        "allocs_bytes_eq_TotalAlloc": v(0) == m.TotalAlloc,
        "allocs_objects_plus_tiny_eq_Mallocs": v(1) + tiny == m.Mallocs,
        "frees_bytes_eq_TotalAlloc_minus_HeapAlloc": v(2) == m.TotalAlloc - m.HeapAlloc,
        "frees_objects_plus_tiny_eq_Frees": v(3) + tiny == m.Frees,
        "objects_eq_HeapObjects": v(5) == m.HeapObjects,
        "goal_eq_NextGC": v(6) == m.NextGC,
        "cycles_total_eq_NumGC": v(7) == m.NumGC,
        "cycles_forced_eq_NumForcedGC": v(8) == m.NumForcedGC,
        "cycles_automatic_eq_difference": v(9) == m.NumGC - m.NumForcedGC,
        "heap_objects_bytes_eq_HeapAlloc": v(10) == m.HeapAlloc,
        "heap_unused_eq_HeapInuse_minus_HeapAlloc": v(11) == m.HeapInuse - m.HeapAlloc,
        "heap_free_eq_HeapIdle_minus_HeapReleased": v(12) == m.HeapIdle - m.HeapReleased,
        "heap_released_eq_HeapReleased": v(13) == m.HeapReleased,
        "total_eq_Sys": v(14) == m.Sys,
        "by_size_buckets_eq_BySize": by_bucket,
        "alloc_buckets": len(hist.Counts),
        "gomaxprocs": v(15),
        "stack_starting_size": v(16),
        "gogc": v(17),
        "gomemlimit": v(18),
    }


# ---------------------------------------------------------------------------
# gctrace

TRACE_RE = re.compile(r"^gc (\d+) @\d+\.\d{3}s \d+%: \S+ ms clock, \S+ ms cpu, "
                      r"(\d+)->(\d+)->(\d+) MB, (\d+) MB goal, \d+ MB stacks, \d+ MB globals, (\d+) P( \(forced\))?$")


_GCTRACE_LINES: list = []     # the last gctrace() call's parsed lines


def gctrace(workload: str, gogc: str | None) -> dict:
    """A workload under godebug="gctrace=1"; the time-free fields of the first and last lines."""
    g = go_types()
    buf = io.StringIO()
    kw = {"gogc": gogc} if gogc else {}
    with rt.Runtime(**{**BASE_RUNTIME, **kw}, godebug="gctrace=1", stderr=buf):
        if workload == "large_scan":  # 1000 pointerful 40000-byte objects (issue 16's divergence)
            big: list = [None] * 1000
            for i in range(1000):
                big[i] = rt.new(g.midL)
            big = None
            rt.GC()
        elif workload == "retain":  # Appendix X1, scaled: 300 000 nodes of 64 B, every 10th kept
            keep: list = [None] * 30000
            sink = None
            for i in range(300000):
                n = rt.new(g.traceNode)
                if i % 10 == 0:
                    keep[i // 10] = n
                else:
                    sink = n  # garbage as soon as it is overwritten
                del n
            rt.GC()
        else:
            rt.GC()
            rt.GC()
            rt.GC()
        m = rt.ReadMemStats()
        keep = sink = None
    lines, periodic = [], 0
    for line in buf.getvalue().strip().splitlines():
        if line == "GC forced":
            periodic += 1
            continue
        mt = TRACE_RE.match(line)
        if mt is None:
            raise AssertionError(f"unparsed gctrace line: {line!r}")
        n, h0, h1, h2, goal, p = (int(x) for x in mt.groups()[:6])
        lines.append({"N": n, "H0": h0, "H1": h1, "H2": h2, "goal": goal, "P": p, "forced": mt.group(7) is not None})
    _GCTRACE_LINES[:] = lines
    return {
        "count": len(lines),
        "forced_lines": sum(ln["forced"] for ln in lines),
        "periodic": periodic,
        "P": sorted({ln["P"] for ln in lines}),
        "first": lines[0] if lines else None,
        "last": lines[-1] if lines else None,
        "NumGC": m.NumGC,
        "NumForcedGC": m.NumForcedGC,
    }


# H1 is heapLive at mark termination: it includes what the program allocated while
# Go's mark ran concurrently, which depends on wall time; the forced (last) cycle's
# H0/H1/goal depend on when the last heap-triggered cycle happened.
CONCURRENT_MARK = Abs(1, "H1 includes what the program allocated during Go's concurrent mark (wall-time "
                         "dependent)")
LAST_CYCLE = Abs(2, "heapLive and goal of the final forced cycle depend on when the last heap-triggered "
                    "cycle ran (Go runs: H0 2..4, goal 4..5)")
# H2 (the marked heap) of this program is about 1.5 MB, on gctrace's whole-MB rounding edge:
# Go's own objects that are live when the cycle runs (timers, the scavenger's and trace
# state, depending on timing) moved it from 1 to 2 in live runs on a loaded machine, while
# the 20 recorded runs all printed 1.
MARKED_EDGE = Abs(1, "marked heap ~1.5 MB, on the MB rounding edge: Go's own live objects moved it 1 -> 2 "
                     "in live runs under load (recorded runs: 1)")
TRACE_TOL = {"count": HEAP_TRIGGERED, "NumGC": HEAP_TRIGGERED, "last.N": HEAP_TRIGGERED,
             "first.H1": CONCURRENT_MARK, "last.H0": LAST_CYCLE, "last.H1": LAST_CYCLE, "last.goal": LAST_CYCLE,
             "*.H2": MARKED_EDGE}


@scenario(tol=TRACE_TOL, own_runtime=True)
def gctrace_default():
    return gctrace("retain", None)


@scenario(tol=TRACE_TOL, own_runtime=True)
def gctrace_gogc50():
    return gctrace("retain", "50")


@scenario(tol={"*.goal": Abs(16, "MB; with GOGC off the goal is (MaxInt64 − nonHeap)·0.97 and nonHeap is Go's "
                                 "process state"),
               "*.H0": Abs(1, "MB; Go's heapLive also counts the free part of spans cached since start-up"),
               "*.H1": Abs(1, "MB; Go's heapLive also counts the free part of spans cached since start-up"),
               "*.H2": MARKED_EDGE},
          own_runtime=True)
def gctrace_gogc_off():
    return gctrace("retain", "off")


@scenario(own_runtime=True)
def gctrace_forced_idle():
    return gctrace("idle", None)


# Go's gctrace child for this program (20 recorded runs) prints a first heap-triggered
# cycle that ends at its goal ("3->4->4 MB, 4 MB goal": the first assist's 64 KiB of
# over-assist covers the roots and the few objects), then one that overshoots to ~39 MB;
# goruntime's first cycle is the one that overshoots ("3->36->36 MB, 4 MB goal"), one
# heap-triggered cycle fewer. Both overshoot once, to the same place.
FIRST_LINE_DIVERGES = Info("known divergence: Go's first heap-triggered cycle of a fresh process ends at its "
                           "goal, the overshoot comes in the second; goruntime's first overshoots")
@scenario(tol={"first.H1": FIRST_LINE_DIVERGES, "first.H2": FIRST_LINE_DIVERGES,
               "count": FIRST_LINE_DIVERGES, "NumGC": FIRST_LINE_DIVERGES, "last.N": FIRST_LINE_DIVERGES,
               "peak_H1": Range(22, 39, "MB: heapLive when the overshooting mark ends, by its timing (Go's "
                                        "recorded runs)"),
               "over_goal_lines": Range(1, 1, "heap-triggered lines with B above the goal: one in each of "
                                               "Go's 20 recorded runs (a live run with a fourth cycle may "
                                               "show two)"),
               "last.H0": Abs(2, "MB: what the overshooting cycle left, by its timing"),
               "last.H1": Abs(2, "MB: as last.H0"),
               "last.goal": Range(46, 79, "MB: twice what the overshooting mark marked (Go's recorded runs)")},
          own_runtime=True)
def gctrace_large_scan():
    """1000 pointerful 40000-byte objects under gctrace=1: a heap-triggered cycle's mark
    overshoots its goal (gctrace's B above the goal), to about the heap's end."""
    r = gctrace("large_scan", None)
    heap = [ln for ln in _GCTRACE_LINES if not ln["forced"]]
    r["peak_H1"] = max((ln["H1"] for ln in heap), default=0)
    r["over_goal_lines"] = sum(ln["H1"] > ln["goal"] for ln in heap)
    return r


# ---------------------------------------------------------------------------
# time (issue 15, item 10): the virtual clock's cost table against Go's measured times

def timing(workload: str) -> dict:
    """A workload under gctrace=1: each pause, GCCPUFraction and gctrace's times (means
    over the cycles, or the last cycle's), as main.go's timing() reports them."""
    from goruntime.gctrace import parse_gctrace
    g = go_types()
    buf = io.StringIO()
    calls: list = []                            # each runtime.GC() call's duration ("sweep")
    with rt.Runtime(**BASE_RUNTIME, godebug="gctrace=1", stderr=buf) as r:
        if workload == "retain":
            keep: list = [None] * 30000
            sink = None
            for i in range(300000):
                n = rt.new(g.traceNode)
                if i % 10 == 0:
                    keep[i // 10] = n
                else:
                    sink = n
                del n
            rt.GC()
        elif workload == "idle":
            rt.GC()
            rt.GC()
            rt.GC()
        elif workload == "objects":             # a linked list of 200 000 16-byte nodes
            head = None
            for _ in range(200000):
                n = rt.new(g.calNode)
                n.next = head
                head = n
            del n
            rt.GC()
            rt.GC()
            rt.GC()
            head = None
        elif workload == "bytes":               # 16 arrays of 16 384 pointers to one int
            x = rt.new(rt.Int)
            wides = []
            for _ in range(16):
                w = rt.new(g.calWide)
                for j in range(16384):
                    w[j] = x
                wides.append(w)
            del w, x
            rt.GC()
            rt.GC()
            rt.GC()
            wides = None
        elif workload == "sweep":               # 100 000 dead 64-byte nodes before each GC
            for _ in range(3):
                for _ in range(100000):
                    sink = rt.new(g.traceNode)
                sink = None
                t0 = r.clock.nanotime()
                rt.GC()
                calls.append(r.clock.nanotime() - t0)
        else:                                   # goroutines
            ch, done = rt.Chan(0), rt.Chan(1000)

            def blocked():
                x = rt.new(g.traceNode)
                ch.recv()
                done.send(x)
            for _ in range(1000):
                r.go(blocked, stack=64)
            rt.Gosched()
            rt.GC()
            rt.GC()
            ch.close()
            for _ in range(1000):
                done.recv()
        m = rt.ReadMemStats()
        keep = sink = None
    lines = [parse_gctrace(ln) for ln in buf.getvalue().splitlines() if ln.startswith("gc ")]
    mean = lambda f: sum(f(ln) for ln in lines) / len(lines)     # noqa: E731
    pauses = [m.PauseNs[i] for i in range(min(m.NumGC, 256))]
    last = lines[-1]
    if calls:
        forced = [sum(ln["clock_ms"]) for ln in lines if ln["forced"]]
        return {
            "cycles": len(pauses), "pause_ns_mean": sum(pauses) / len(pauses),
            "gc_cpu_fraction": m.GCCPUFraction, "trace.last_percent": last["cpu_percent"],
            "call_ns_mean": sum(calls) / len(calls),
            "sweep_ns_mean": sum(c - f * 1e6 for c, f in zip(calls, forced)) / len(calls),
        }
    return {
        "cycles": len(pauses),
        "pause_ns_mean": sum(pauses) / len(pauses),
        "pause_ns_max": max(pauses),
        "gc_cpu_fraction": m.GCCPUFraction,
        "trace.last_percent": last["cpu_percent"],
        "trace.last_start_ms": last["start_ms"],
        "trace.stw1_ms": mean(lambda ln: ln["clock_ms"][0]),
        "trace.mark_ms": mean(lambda ln: ln["clock_ms"][1]),
        "trace.stw2_ms": mean(lambda ln: ln["clock_ms"][2]),
        "trace.cpu_mark_ms": mean(lambda ln: sum(ln["cpu_ms"][1:4])),
    }


TIMES = "Go's times vary 2x and more between runs on a shared machine; the virtual clock's costs are " \
        "fitted on Go's typical (median) runs (clock.COSTS: bench/clockcal.json and the time_mark_* / " \
        "time_sweep_spans shapes of this record)"
TIME_TOL = {"pause_ns_*": Factor(2, TIMES), "gc_cpu_fraction": Factor(2, TIMES),
            "trace.last_percent": Factor(2, TIMES + "; gctrace truncates to a whole percent", min_abs=1),
            "trace.last_start_ms": Factor(2, TIMES + "; gctrace prints whole ms, and Go's process "
                                             "start-up before main (~1 ms) is not modelled", min_abs=2),
            "trace.stw1_ms": Factor(2, TIMES), "trace.mark_ms": Factor(2, TIMES),
            "trace.stw2_ms": Factor(2, TIMES + "; gctrace prints whole µs (0 under 1 µs) and Go's "
                                           "STW #2 is 0-3 µs", min_abs=0.002),
            "trace.cpu_mark_ms": Factor(2, TIMES)}


@scenario(tol=TIME_TOL, own_runtime=True)
def time_forced_idle():
    return timing("idle")


@scenario(tol={**TIME_TOL, "cycles": HEAP_TRIGGERED}, own_runtime=True)
def time_retain():
    return timing("retain")


@scenario(tol=TIME_TOL, own_runtime=True)
def time_goroutines():
    return timing("goroutines")


# The cost table's calibration shapes (clock.py, docs/emulation.md "Time"): each isolates
# one cost; bench/clockcal.py's fit reads Go's recorded runs of them.
@scenario(tol=TIME_TOL, own_runtime=True)
def time_mark_objects():
    """A linked list of 200 000 16-byte nodes, three forced cycles: the per-object mark."""
    return timing("objects")


@scenario(tol=TIME_TOL, own_runtime=True)
def time_mark_bytes():
    """16 arrays of 16 384 pointers (2 MiB of pointer words), three forced cycles: the
    per-byte scan."""
    return timing("bytes")


@scenario(tol={"pause_ns_*": Factor(2, TIMES), "gc_cpu_fraction": Factor(2, TIMES),
               "trace.last_percent": TIME_TOL["trace.last_percent"], "cycles": HEAP_TRIGGERED,
               "call_ns_mean": Factor(2, TIMES), "sweep_ns_mean": Factor(2, TIMES)}, own_runtime=True)
def time_sweep_spans():
    """100 000 dead 64-byte objects (about 800 spans) before each of three runtime.GC()
    calls: what a call costs beyond its cycle's pauses and mark is mostly the sweep."""
    return timing("sweep")


@scenario(tol={"gcs": Factor(2, "back-to-back cycles under an unmeetable limit: their number follows how "
                                "long Go's concurrent mark runs beside the program (timing)"),
               "gc_cpu_fraction": Factor(2, TIMES)})
def limiter_below_live():
    """Issue 15, item 8: a memory limit (8 MiB) below the live heap (16 MiB), then 160 MiB
    of garbage. Go runs ~100 cycles, its GC CPU limiter stays off (its 1 CPU-second bucket
    does not fill)."""
    C = rt.Array(rt.Byte, 8192)
    keep = [rt.new(C) for _ in range(2048)]
    prev = debug.SetMemoryLimit(8 << 20)
    m0 = rt.ReadMemStats()
    for _ in range(20000):
        rt.new(C)
    m1 = rt.ReadMemStats()
    s = samples(("/gc/limiter/last-enabled:gc-cycle",))
    metrics.Read(s)
    debug.SetMemoryLimit(prev)
    del keep
    return {"gcs": m1.NumGC - m0.NumGC, "gc_cpu_fraction": m1.GCCPUFraction,
            "limiter_last_enabled": u64(s, 0)}


# ---------------------------------------------------------------------------
# what runtime.GC lets others do; MemStats while a cycle runs (issue 15, item 7)


@scenario()
def gc_lets_runnable_run():
    """runtime.GC parks its caller while the mark runs (Go: gcWaitOnMark): a goroutine
    made runnable just before (main's send completes its receive) runs first, returns and
    drops its local before the stacks are scanned, so its object is collected."""
    g = go_types()
    ch, out = rt.Chan(0), rt.Chan(1)

    def worker():
        x = rt.new(g.gcwNode)
        out.send(weak.Make(x))
        ch.recv()
        rt.KeepAlive(x)
    rt.go(worker)
    w = out.recv()
    m0 = rt.ReadMemStats()
    ch.send(1)                      # the worker was waiting: it becomes runnable, main goes on
    rt.GC()
    m1 = rt.ReadMemStats()
    return {"weak_nil_after_gc": w.Value() is None, "gcs": m1.NumGC - m0.NumGC,
            "goroutines": rt.NumGoroutine()}


@scenario()
def fin_runs_before_gc_returns():
    """Issue 15, item 1: runtime.GC's caller sweeps a span and yields (sweepone; Gosched),
    so with one P the finalizer goroutine and any runnable goroutine have run when it
    returns: the seed tutorial's step, then three finalizers among 100 dead 1 KiB objects
    with a goroutine made runnable before the call."""
    g = go_types()
    calls = []
    a = rt.new(g.tutNode)
    a.id = 7
    rt.SetFinalizer(a, lambda a: calls.append(1))
    del a
    rt.GC()
    first = len(calls)
    order = []
    for i in range(3):
        x = rt.new(g.frbT)
        rt.SetFinalizer(x, lambda x, i=i: order.append(i))
    del x
    big = [rt.new(rt.Array(rt.Byte, 1024)) for _ in range(100)]
    del big
    other = [False]

    def run():
        other[0] = True
    rt.go(run)
    rt.GC()
    return {"calls_after_gc": first, "order_after_gc": order, "other_ran_in_gc": other[0]}


@scenario()
def fin_set_during_mark():
    """Issue 16: the special roots are root jobs done by the first drain (Go: markroot's
    fixedRootFinalizers and markrootSpans), and SetFinalizer during a mark scans its
    object (addfinalizer). A goroutine made runnable just before runtime.GC gives an
    unreachable x a finalizer while the mark runs; y, reachable only from x, must survive
    for the finalizer (after the sweep and 20 000 new 32-byte objects)."""
    g = go_types()
    ch, done, got = rt.Chan(0), rt.Chan(0), rt.Chan(1)

    def setter():
        x = ch.recv()
        rt.SetFinalizer(x, lambda x: got.send(x.y.v[0]))
        del x
        done.close()
    rt.go(setter)
    rt.Gosched()                    # the goroutine blocks in its receive
    x = rt.new(g.fdmX)
    x.y = rt.new(g.fdmY)
    for i in range(4):
        x.y.v[i] = 42
    ch.send(x)
    del x
    rt.GC()
    done.recv()
    sink = None
    for _ in range(20000):
        sink = rt.new(g.fdmY)
        for i in range(4):
            sink.v[i] = 7
    sink = None
    rt.GC()
    wait_queues()
    v = -1
    if len(got) > 0:
        v = got.recv()
    return {"y_value": v}


@scenario(tol={"gcs": Range(1, 2, "heap-triggered cycles while 12 MB of large pointerful objects are "
                                  "allocated: how far each mark overshoots follows its timing "
                                  "(Go: 1 or 2 over 20 runs)")})
def read_mem_stats_mid_cycle():
    """ReadMemStats after each of 300 allocations of a 40000-byte pointerful type: the
    heap-triggered cycle's mark runs beside the program, so MemStats read during it show
    the heap past the goal with NumGC not yet counted (Go: in every recorded run)."""
    g = go_types()
    keep: list = [None] * 300
    rt.GC()
    m0 = rt.ReadMemStats()
    in_progress = False
    m = m0
    for i in range(300):
        keep[i] = rt.new(g.midL)
        m = rt.ReadMemStats()
        if m.NumGC == m0.NumGC and m.HeapAlloc > m0.NextGC:
            in_progress = True
    keep = None
    return {"in_progress_seen": in_progress, "gcs": m.NumGC - m0.NumGC}


@scenario(tol={"gcs": Range(1, 2, "heap-triggered cycles while 12 MB of large pointerful objects are "
                                  "allocated: how far each mark overshoots follows its timing")})
def read_mem_stats_goroutine_mid_cycle():
    """read_mem_stats_mid_cycle with the reads done by a second goroutine: main allocates
    each object, then hands the turn over an unbuffered channel to the reader, which calls
    ReadMemStats while the heap-triggered cycle's mark is running (GOMAXPROCS=1)."""
    g = go_types()
    keep: list = [None] * 300
    rt.GC()
    m0 = rt.ReadMemStats()
    ch, done = rt.Chan(), rt.Chan(1)

    def reader():
        m, reads, in_progress = m0, 0, False
        for _ in ch:
            m = rt.ReadMemStats()
            reads += 1
            if m.NumGC == m0.NumGC and m.HeapAlloc > m0.NextGC:
                in_progress = True
        done.send({"in_progress_seen": in_progress, "gcs": m.NumGC - m0.NumGC, "reads": reads})
    rt.go(reader)
    for i in range(300):
        keep[i] = rt.new(g.midL)
        ch.send(i)
    ch.close()
    out = done.recv()
    keep = None
    return out


# ---------------------------------------------------------------------------
# workloads

# Go's heap-triggered counts for the workloads depend on how long its concurrent mark
# runs, i.e. on the machine: measured at GOMAXPROCS=1 on this 2-core machine,
# binary-trees(16) 59..78 cycles (78 under load), GCBench 39..48.
BT_TOL = Range(59, 85, "heap-triggered GC count: Go's own count varies from run to run "
                       "with the timing of its concurrent mark (59..85 measured, quiet and loaded)")
GCBENCH_TOL = Range(39, 53, "heap-triggered GC count: Go's own count varies from run to "
                            "run with the timing of its concurrent mark (39..53 measured, quiet and loaded)")
WORKLOAD_TOL = {
    "NumGC": HEAP_TRIGGERED,
    "Mallocs": Abs(128, "Go's runtime allocates about one object of its own per GC cycle (binary-trees: 50 "
                        "more than its 14 985 902 nodes over ~60 cycles)"),
    "TotalAlloc": Abs(8192, "Go's runtime allocates about one object of its own per GC cycle (binary-trees: "
                            "3 392 bytes more than 16 B × its nodes)"),
    "checks*": Info("the workload's own result; test_go_corpus checks Go's against the closed form"),
}


# ---------------------------------------------------------------------------
# heap scan work (issue 15, item 6)


def scan_row(n: int, alloc: Callable[[], Any]) -> int:
    """n objects made by *alloc* kept alive through a GC: the cycle's heap scan work
    beyond the baseline cycle before them."""
    s = samples(["/gc/scan/heap:bytes"])
    holder = [None] * N
    rt.GC()
    metrics.Read(s)
    base = u64(s, 0)
    for i in range(n):
        holder[i] = alloc()
    rt.GC()
    metrics.Read(s)
    del holder
    return u64(s, 0) - base


@scenario(tol={"ptrs3": Abs(8, "Go's runtime allocates a few small objects of its own (measured: one "
                                  "8-byte scan word during the GC)")})
def scan_heap_work():
    """scanobject counts up to the last pointer word (the element type repeated to the
    slot's end) for malloc-header and large objects, per 128 KiB oblet; a small object
    scanned alone counts Len64(pointer bits) words. Go runs with GODEBUG=cpu.avx512vl=off:
    goruntime does not model AVX-512's packed span scan, which counts densely marked
    small spans by whole slots."""
    S, P, A, I = rt.Struct, rt.Ptr, rt.Array, rt.Int
    pi = P(I)
    p24 = S("scanP24", p=pi, a=I, b=I)
    h600f = S("scan600First", p=pi, b=A(rt.Byte, 592))
    h600l = S("scan600Last", b=A(rt.Byte, 592), p=pi)
    l40008f = S("scan40008First", p=pi, b=A(rt.Byte, 40000))
    l40008l = S("scan40008Last", b=A(rt.Byte, 40000), p=pi)
    return {
        "p24": scan_row(100, lambda: rt.new(p24)),
        "ptrs3": scan_row(100, lambda: rt.make(rt.Slice(pi), 3)),
        "h600first": scan_row(100, lambda: rt.new(h600f)),
        "h600last": scan_row(100, lambda: rt.new(h600l)),
        "l40008first": scan_row(10, lambda: rt.new(l40008f)),
        "l40008last": scan_row(10, lambda: rt.new(l40008l)),
        "ptrs20000": scan_row(4, lambda: rt.make(rt.Slice(pi), 20000)),
        "noscan": scan_row(100, lambda: rt.new(A(rt.Byte, 64))),
    }


# ---------------------------------------------------------------------------
# goroutine stacks (issue 15, item 2)

# What Go 1.27.3 scans of main.go's stackBlocked (go build, linux/amd64): 384 bytes blocked
# in <-stackCh at depth 0, 104 more per recursion level. The twin states it with rt.go's
# stack= argument (stack.py).
STACK_BLOCKED = 384
STACK_FRAME = 104


def stack_row(n: int, depth: int) -> dict:
    ch = rt.Chan()
    state = {"started": 0, "done": 0}

    def blocked(p):
        state["started"] += 1
        if ch.recv() is p:
            raise AssertionError("unreachable")
        state["done"] += 1

    s = samples(["/gc/scan/stack:bytes", "/gc/stack/starting-size:bytes"])
    rt.GC()
    rt.GC()
    m0 = rt.ReadMemStats()
    metrics.Read(s)
    scan0 = u64(s, 0)
    for _ in range(n):
        rt.go(blocked, rt.new(rt.Int), stack=STACK_BLOCKED + depth * STACK_FRAME)
    while state["started"] < n:
        rt.Gosched()
    rt.GC()
    rt.GC()
    m1 = rt.ReadMemStats()
    metrics.Read(s)
    scan1, start1 = u64(s, 0), u64(s, 1)
    ch.close()
    while state["done"] < n:
        rt.Gosched()
    rt.GC()
    rt.GC()
    metrics.Read(s)
    return {
        "StackInuse": dlt(m0.StackInuse, m1.StackInuse),
        "StackSys": dlt(m0.StackSys, m1.StackSys),
        "scan_stack": scan1 - scan0,
        "starting_size": start1,
        "after.scan_stack": u64(s, 0) - scan0,
        "after.starting_size": u64(s, 1),
    }


STACK_SPANS = Abs(65536, "two 32 KiB stack spans: stacks the earlier rows' goroutines left in partly used pool "
                         "spans (and the P's stack cache) are reused first; goruntime counts the pool's spans "
                         "packed, Go's free stacks are scattered (measured ±1 span over 3 runs)")
UNPACKED_POOL = Info("known divergence: after 10000 goroutines exit, Go's 2 KiB stacks are scattered over "
                     "partly used pool spans, which the deep row's goroutines free as they grow their stacks "
                     "(net 4..7 spans over 3 runs); goruntime counts pool spans packed (11 spans)")


@scenario(tol={"*.scan_stack": Abs(320, "Go's main goroutine and system goroutines scan a few frames more or "
                                        "less at the GC call in some runs (measured −64..+272 bytes over 20 "
                                        "runs)"),
               "g10000.StackInuse": STACK_SPANS, "g10000.StackSys": STACK_SPANS,
               "g100deep.StackInuse": UNPACKED_POOL, "g100deep.StackSys": UNPACKED_POOL})
def goroutine_stacks():
    """Goroutines start on 2 KiB stacks cut from 32 KiB pool spans, grow by copying, the
    mark scans the used part of every stack, and the average scanned stack sets the next
    starting size (adaptivestackstart)."""
    return {
        "g1": stack_row(1, 0),
        "g100": stack_row(100, 0),
        "g10000": stack_row(10000, 0),
        "g100deep": stack_row(100, 10),
    }


# ---------------------------------------------------------------------------
# memory outside the heap (issue 15, item 5)

NONHEAP_TOL = {
    "start.BuckHashSys": Abs(12288, "profiling records of the binary's own init, which grow with the binary: "
                                    "this oracle binary has 8.3 KB more than a plain program (measured 10694 "
                                    "vs 2371 with memprofilerate=0, after fidelity2.go; 8715 before)"),
    "start.GCSys": Rel(0.20, "Go's start-up metadata grows with the binary (1.52 MB for a plain program, "
                             "1.69..1.76 MB for this one); goruntime models the plain program's"),
    "start.OtherSys": Rel(0.25, "Go's runtime-internal off-heap memory grows with the binary (371 KB plain, "
                                "460 KB for this one)"),
    "start.nonheap": Rel(0.15, "Sys − HeapSys: the sum of the above and Go's stacks for this binary"),
}


def nonheap_memory_body():
    g = go_types()
    events = []

    def fin(x):
        events.append("f")

    def setup(n):
        for _ in range(n):
            x = rt.new(g.xT)
            x.p = rt.new(rt.Int)
            rt.SetFinalizer(x, fin)

    m0 = rt.ReadMemStats()
    setup(1000)
    m1 = rt.ReadMemStats()
    gc_cycle(events)
    gc_cycle(events)
    m2 = rt.ReadMemStats()
    return {
        "start.BuckHashSys": m0.BuckHashSys,
        "start.GCSys": m0.GCSys,
        "start.OtherSys": m0.OtherSys,
        "start.nonheap": m0.Sys - m0.HeapSys,
        "Sys_never_shrinks": m1.Sys >= m0.Sys and m2.Sys >= m1.Sys,
        "GCSys_never_shrinks": m1.GCSys >= m0.GCSys and m2.GCSys >= m1.GCSys,
        "BuckHashSys_same": m2.BuckHashSys == m0.BuckHashSys,
    }


@scenario(tol=NONHEAP_TOL)
def nonheap_memory():
    """Go maps GC metadata, profiling tables and other off-heap memory at start and never
    unmaps it: after 1000 finalizers and two GCs, Sys and GCSys have not shrunk."""
    return nonheap_memory_body()


@scenario(tol=NONHEAP_TOL, runtime={"godebug": "memprofilerate=0"})
def nonheap_memory_profile_off():
    """With MemProfileRate=0 from the start, Go never maps the 1.4 MB bucket hash table."""
    return nonheap_memory_body()


# ---------------------------------------------------------------------------
# process-state metrics (issue 15, item 9)

PROC_METRICS = ("/sched/goroutines:goroutines", "/sched/threads/total:threads", "/cgo/go-to-c-calls:calls",
                "/sync/mutex/wait/total:seconds", "/sched/latencies:seconds")


@scenario(tol={"threads": Range(3, 5, "Go starts Ms as work appears: 3 at idle at GOMAXPROCS=1, 4 or 5 when "
                                     "a GC or the sweeper woke a spare M at the moment of reading", frac=0),
               "latency_samples": Range(5, 20, "Go times one goroutine transition in 8 from a random start "
                                             "(cheaprand); goruntime starts from the goroutine id. Measured "
                                             "7..13 over 5 runs for 100 goroutines"),
               "mutex_wait_seconds": Range(0, 0.003, "Go's runtime-internal lock waits between its Ms (sysmon, "
                                                    "the sweeper, the GC worker's M); goruntime has one M and "
                                                    "models none. Go read 0 in 53 of 60 runs (30 quiet, 30 with "
                                                    "every core busy), else 1.3..2.9 ms", frac=0)})
def process_state_metrics():
    """Go's own goroutines count in /sched/goroutines (6 at start, then one mark worker
    per P from the first GC); the other process-state metrics have values."""
    s0, s1 = samples(PROC_METRICS), samples(PROC_METRICS)
    metrics.Read(s0)
    start_g = u64(s0, 0)
    rt.GC()
    metrics.Read(s0)
    ch = rt.Chan()
    started = [0]

    def waiter(p):
        started[0] += 1
        if ch.recv() is p:
            raise AssertionError("unreachable")

    for _ in range(100):
        rt.go(waiter, rt.new(rt.Int))
    while started[0] < 100:
        rt.Gosched()
    metrics.Read(s1)
    ch.close()
    gd = samples([d.Name for d in metrics.All() if d.Name.startswith("/godebug/non-default-behavior/")])
    metrics.Read(gd)
    return {
        "goroutines_start": start_g,
        "goroutines_idle": u64(s0, 0),
        "goroutines_100": u64(s1, 0),
        "threads": u64(s1, 1),
        "cgo_calls": u64(s1, 2),
        "mutex_wait_seconds": s1[3].Value.Float64(),
        "latency_samples": hist_total(s1[4]) - hist_total(s0[4]),
        "godebug_metrics": len(gd),
        "godebug_events": sum(x.Value.Uint64() for x in gd),
        "kinds": [x.Value.Kind() for x in s1],
    }


def workload_deltas(run_workload) -> dict:
    rt.GC()
    m0 = rt.ReadMemStats()
    checks = run_workload()
    m1 = rt.ReadMemStats()
    return {"Mallocs": dlt(m0.Mallocs, m1.Mallocs), "TotalAlloc": dlt(m0.TotalAlloc, m1.TotalAlloc),
            "NumGC": dlt(m0.NumGC, m1.NumGC), "NumForcedGC": dlt(m0.NumForcedGC, m1.NumForcedGC),
            "checks": checks}


@scenario(tol={**WORKLOAD_TOL, "NumGC": BT_TOL})
def binary_trees_16():
    """Benchmarks Game binary-trees, depth 16, sequential."""
    return workload_deltas(lambda: workloads.binary_trees(16))


@scenario(tol={**WORKLOAD_TOL, "NumGC": GCBENCH_TOL})
def gcbench():
    """Boehm's GCBench: stretch 18, long-lived 16, 500 000 float64, depths 4..16 step 2."""
    return workload_deltas(lambda: workloads.gcbench())


# ---------------------------------------------------------------------------
# misuse (Appendix X5): Go's exit status and first line, and whether recover catches it


def misuse(body: Callable[[], None]) -> dict:
    try:
        body()
    except rt.FatalError as e:  # Go: "fatal error: ...", exit 2, recover cannot catch it
        return {"exit": 2, "first_line": f"fatal error: {e}", "recoverable": False}
    except rt.Panic as e:  # Go: "panic: ...", exit 2 unless recovered
        return {"exit": 2, "first_line": f"panic: {e}", "recoverable": True}
    return {"exit": 0, "first_line": "ok", "recoverable": None}


def _new(name: str):
    return rt.new(getattr(go_types(), name))


@scenario()
def misuse_fin_nil_obj():
    return misuse(lambda: rt.SetFinalizer(None, None))


@scenario()
def misuse_fin_non_pointer():
    return misuse(lambda: rt.SetFinalizer(5, lambda x: None))


@scenario()
def misuse_fin_interior():
    return misuse(lambda: rt.SetFinalizer(_new("mV").field_ptr("b"), lambda p: None))


@scenario()
def misuse_fin_interior_small_noscan():
    """&t.b is an *int: pointer-free and < 16 bytes, so the interior pointer is accepted."""
    return misuse(lambda: rt.SetFinalizer(_new("mT").field_ptr("b"), lambda p: None))


@scenario()
def misuse_fin_tiny_interior():
    return misuse(lambda: rt.SetFinalizer(_new("small").field_ptr("b"), lambda p: None))


@scenario()
def misuse_fin_zero_size_bad_func():
    return misuse(lambda: rt.SetFinalizer(_new("emptyT"), 5))


@scenario()
def misuse_fin_not_func():
    return misuse(lambda: rt.SetFinalizer(_new("mT"), 5))


@scenario()
def misuse_fin_wrong_type():
    """The finalizer's Go signature comes from its annotations: func(*main.mU)."""
    def fin(u: rt.Ptr(go_types().mU)):
        pass

    return misuse(lambda: rt.SetFinalizer(_new("mT"), fin))


@scenario()
def misuse_fin_two_args():
    def fin(t: rt.Ptr(go_types().mT), n: rt.Int):
        pass

    return misuse(lambda: rt.SetFinalizer(_new("mT"), fin))


@scenario()
def misuse_fin_variadic():
    def fin(*ts: rt.Ptr(go_types().mT)):
        pass

    return misuse(lambda: rt.SetFinalizer(_new("mT"), fin))


@scenario()
def misuse_fin_already_set():
    def body():
        t = _new("mT")
        rt.SetFinalizer(t, lambda t: None)
        rt.SetFinalizer(t, lambda t: None)

    return misuse(body)


@scenario()
def misuse_fin_reset_after_nil():
    def body():
        t = _new("mT")
        rt.SetFinalizer(t, lambda t: None)
        rt.SetFinalizer(t, None)
        rt.SetFinalizer(t, lambda t: None)

    return misuse(body)


@scenario()
def misuse_cleanup_nil():
    return misuse(lambda: rt.AddCleanup(None, lambda x: None, 0))


@scenario()
def misuse_cleanup_equal():
    def body():
        t = _new("mT")
        rt.AddCleanup(t, lambda p: None, t)

    return misuse(body)


@scenario()
def misuse_cleanup_within():
    def body():
        t = _new("mT")
        rt.AddCleanup(t, lambda p: None, t.field_ptr("b"))

    return misuse(body)


@scenario()
def misuse_cleanup_closure():
    def body():
        t = _new("mT")
        rt.AddCleanup(t, lambda _: t.b, 0)  # the cleanup closes over t

    return misuse(body)


@scenario()
def misuse_cleanup_zero_size():
    return misuse(lambda: rt.AddCleanup(_new("emptyT"), lambda x: None, 0).Stop())


@scenario(own_runtime=True)
def misuse_gomemlimit_malformed():
    """GOMEMLIMIT=12XB: Go dies before main."""
    def body():
        with rt.Runtime(**BASE_RUNTIME, memory_limit="12XB"):
            pass

    return misuse(body)


@scenario()
def misuse_chan_send_closed():
    def body():
        c = rt.Chan(1)
        c.close()
        c.send(1)

    return misuse(body)


@scenario()
def misuse_chan_close_closed():
    def body():
        c = rt.Chan(1)
        c.close()
        c.close()

    return misuse(body)


@scenario()
def misuse_deadlock():
    return misuse(lambda: rt.Chan(0).recv())

import scenarios_lang  # noqa: E402,F401  (the allocating language: registers its scenarios)
import scenarios_lang_port  # noqa: E402,F401  (the programs people port first: registers its scenarios)
import scenarios_fidelity  # noqa: E402,F401  (the fidelity audit's programs: registers its scenarios)
import scenarios_fidelity2  # noqa: E402,F401  (the fidelity audit, second round: registers its scenarios)
import scenarios_fidelity3  # noqa: E402,F401  (the fidelity audit, third round: registers its scenarios)
import scenarios_fidelity4  # noqa: E402,F401  (the fidelity audit, fourth round: registers its scenarios)
import scenarios_fidelity5  # noqa: E402,F401  (the fidelity audit, fifth round: registers its scenarios)
import scenarios_fidelity6  # noqa: E402,F401  (the fidelity audit, sixth round: registers its scenarios)
import scenarios_fidelity7  # noqa: E402,F401  (the fidelity audit, seventh round: registers its scenarios)
