"""Package runtime/metrics: Go's stable metrics interface, over the emulated runtime.

The exported names are Go's on purpose (``All``, ``Read``, ``Sample``, ``Value.Uint64``,
``Float64Histogram.Counts``, ``KindUint64``) so that https://pkg.go.dev/runtime/metrics
reads across. Names and descriptions are copied from Go 1.27.3's
src/runtime/metrics/description.go; values are computed as src/runtime/metrics.go does.

Where the values come from. Go's ``metrics.Read`` samples the runtime's statistics
without stopping the world and **without flushing mcaches** (so small-object counts lag
until spans are uncached, spec §2.4 and Appendix X11). Here the runtime installs a
provider with `set_input_provider`; `Read` calls it once per call to get a `MetricInputs`
snapshot (the runtime's raw counters as of now, unflushed) and `compute` derives each
metric from it exactly as Go's ``initMetrics`` table does. `compute` is pure, so it is
tested on synthetic inputs.

Supported: every metric Go 1.27.3 has. The process-state metrics return what Go returns
for the equivalent (non-cgo) program: ``/cgo/go-to-c-calls:calls`` 0 (no cgo);
``/godebug/non-default-behavior/<name>:events`` 0 for each of Go's non-opaque settings
(``GODEBUGS``, from internal/godebugs/table.go: the emulated program runs none of the
packages that count them); ``/sync/mutex/wait/total:seconds`` the time goroutines spent
blocked on a mutex (0: the emulator has no sync.Mutex, and its runtime locks are not
contended at GOMAXPROCS=1); ``/sched/latencies:seconds`` the scheduler's sampled
runnable-to-running times (sched.py, Go's casgstatus tracking); ``/sched/threads/total``
the runtime's Ms as Go starts them (runtime.py).

Also here, because metrics are their first consumer: `TimeHistogram` (Go's
runtime/histogram.go ``timeHistogram``, used for the STW pause histograms) and
`CPUStats` (Go's mstats.go ``cpuStats``, the source of ``/cpu/classes/...`` and of
``MemStats.GCCPUFraction``).
"""
from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence, Union

from . import _signals
from .errors import Panic

__all__ = [
    "KindBad", "KindUint64", "KindFloat64", "KindFloat64Histogram", "ValueKind",
    "Description", "All", "Sample", "Value", "Float64Histogram", "Read",
    "MetricInputs", "compute", "set_input_provider", "get_input_provider",
    "TimeHistogram", "CPUStats", "time_histogram_buckets", "size_class_buckets",
]

MASK64 = (1 << 64) - 1

# ValueKind (runtime/metrics/value.go).
ValueKind = int
KindBad: ValueKind = 0
KindUint64: ValueKind = 1
KindFloat64: ValueKind = 2
KindFloat64Histogram: ValueKind = 3

# Go's size classes, bytes per object (internal/runtime/gc/sizeclasses.go,
# SizeClassToSize; class 0 stands for large objects). Checked against Go's source by
# tests/test_metrics_logic.py.
CLASS_TO_SIZE = (
    0, 8, 16, 24, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240, 256, 288,
    320, 352, 384, 416, 448, 480, 512, 576, 640, 704, 768, 896, 1024, 1152, 1280, 1408, 1536,
    1792, 2048, 2304, 2688, 3072, 3200, 3456, 4096, 4864, 5376, 6144, 6528, 6784, 6912, 8192,
    9472, 9728, 10240, 10880, 12288, 13568, 14336, 16384, 18432, 19072, 20480, 21760, 24576,
    27264, 28672, 32768)
NUM_SIZE_CLASSES = len(CLASS_TO_SIZE)    # 68

# runtime/histogram.go constants.
TIME_HIST_MIN_BUCKET_BITS = 9
TIME_HIST_MAX_BUCKET_BITS = 48           # exclusive
TIME_HIST_SUB_BUCKET_BITS = 2
TIME_HIST_NUM_SUB_BUCKETS = 1 << TIME_HIST_SUB_BUCKET_BITS
TIME_HIST_NUM_BUCKETS = TIME_HIST_MAX_BUCKET_BITS - TIME_HIST_MIN_BUCKET_BITS + 1    # 40
TIME_HIST_TOTAL_BUCKETS = TIME_HIST_NUM_BUCKETS * TIME_HIST_NUM_SUB_BUCKETS + 2     # 162

STARTING_STACK_SIZE = 2048               # Go: startingStackSize (fixedStack)


# ---------------------------------------------------------------------------------------
# Bucket boundaries

def time_histogram_buckets() -> list[float]:
    """The 163 boundaries (seconds) of every ``:seconds`` histogram.

    Go: timeHistogramMetricsBuckets (runtime/histogram.go): ``-Inf``, ``j*64 ns`` for
    j = 0..3, then ``2^(i-1) + j*2^(i-3)`` ns for i = 9..47, then ``2^47`` ns and ``+Inf``.
    """
    b = [0.0] * (TIME_HIST_TOTAL_BUCKETS + 1)
    b[0] = -math.inf
    for j in range(TIME_HIST_NUM_SUB_BUCKETS):
        nanos = j << (TIME_HIST_MIN_BUCKET_BITS - 1 - TIME_HIST_SUB_BUCKET_BITS)
        b[j + 1] = float(nanos) / 1e9
    for i in range(TIME_HIST_MIN_BUCKET_BITS, TIME_HIST_MAX_BUCKET_BITS):
        for j in range(TIME_HIST_NUM_SUB_BUCKETS):
            nanos = (1 << (i - 1)) | (j << (i - 1 - TIME_HIST_SUB_BUCKET_BITS))
            idx = (i - TIME_HIST_MIN_BUCKET_BITS + 1) * TIME_HIST_NUM_SUB_BUCKETS + j + 1
            b[idx] = float(nanos) / 1e9
    b[-2] = float(1 << (TIME_HIST_MAX_BUCKET_BITS - 1)) / 1e9
    b[-1] = math.inf
    return b


def size_class_buckets() -> list[float]:
    """The 69 boundaries of the by-size histograms: ``1, 9, 17, ..., 32769, +Inf``.

    Go (initMetrics): class size + 1 for classes 1..67 (so class c's bucket is
    ``[size[c-1]+1, size[c]+1)``), 1 first, ``+Inf`` last for large objects.
    """
    b = [1.0] + [float(CLASS_TO_SIZE[i] + 1) for i in range(1, NUM_SIZE_CLASSES)]
    b.append(math.inf)
    return b


_TIME_BUCKETS = tuple(time_histogram_buckets())
_SIZE_BUCKETS = tuple(size_class_buckets())


class TimeHistogram:
    """Go's timeHistogram: an HDR histogram of durations in ns (runtime/histogram.go).

    `record` places a duration by its highest set bit (bucket, from bit 9 = 256 ns up to
    bit 47) and the next two bits (sub-bucket); negative durations go to the underflow
    bucket, durations of 2^47 ns or more to the overflow bucket. `counts` returns the
    162 counts in the order of `time_histogram_buckets`.
    """

    __slots__ = ("_counts", "underflow", "overflow")

    def __init__(self, samples: Iterable[int] = ()):
        self._counts = [0] * (TIME_HIST_NUM_BUCKETS * TIME_HIST_NUM_SUB_BUCKETS)
        self.underflow = 0
        self.overflow = 0
        for s in samples:
            self.record(s)

    def record(self, duration: int) -> None:
        """Add one sample of *duration* nanoseconds (Go: timeHistogram.record)."""
        duration = int(duration)
        if duration < 0:
            self.underflow += 1
            return
        length = duration.bit_length()
        if length < TIME_HIST_MIN_BUCKET_BITS:
            bucket_bit = TIME_HIST_MIN_BUCKET_BITS
            bucket = 0
        else:
            bucket_bit = length
            bucket = bucket_bit - TIME_HIST_MIN_BUCKET_BITS + 1
        if bucket >= TIME_HIST_NUM_BUCKETS:
            self.overflow += 1
            return
        sub = (duration >> (bucket_bit - 1 - TIME_HIST_SUB_BUCKET_BITS)) % TIME_HIST_NUM_SUB_BUCKETS
        self._counts[bucket * TIME_HIST_NUM_SUB_BUCKETS + sub] += 1

    def counts(self) -> list[int]:
        """The 162 bucket counts as metrics reports them (Go: timeHistogram.write)."""
        return [self.underflow] + self._counts + [self.overflow]

    def total(self) -> int:
        """Number of samples recorded."""
        return self.underflow + sum(self._counts) + self.overflow


# Go's cpuStats lives in mstats.go, and so here: re-exported for MetricInputs.cpu_stats.
from .mstats import CPUStats  # noqa: E402


# ---------------------------------------------------------------------------------------
# Public types

@dataclass(frozen=True)
class Description:
    """Go's metrics.Description."""

    Name: str
    Description: str
    Kind: ValueKind
    Cumulative: bool = False


@dataclass
class Float64Histogram:
    """Go's metrics.Float64Histogram: ``Counts[i]`` is the weight of ``[Buckets[i], Buckets[i+1])``."""

    Counts: list
    Buckets: Sequence[float]


class Value:
    """Go's metrics.Value: a tagged uint64, float64 or *Float64Histogram."""

    __slots__ = ("_kind", "_scalar", "_pointer")

    def __init__(self, kind: ValueKind = KindBad, scalar=0, pointer: Float64Histogram | None = None):
        self._kind = kind
        self._scalar = scalar
        self._pointer = pointer

    def Kind(self) -> ValueKind:
        """The kind of value this is."""
        return self._kind

    def Uint64(self) -> int:
        """The uint64 value; panics if ``Kind() != KindUint64``."""
        if self._kind != KindUint64:
            raise Panic("called Uint64 on non-uint64 metric value")
        return self._scalar

    def Float64(self) -> float:
        """The float64 value; panics if ``Kind() != KindFloat64``."""
        if self._kind != KindFloat64:
            raise Panic("called Float64 on non-float64 metric value")
        return self._scalar

    def Float64Histogram(self) -> Float64Histogram:
        """The histogram; panics if ``Kind() != KindFloat64Histogram``."""
        if self._kind != KindFloat64Histogram:
            raise Panic("called Float64Histogram on non-Float64Histogram metric value")
        return self._pointer

    def __repr__(self):
        if self._kind == KindFloat64Histogram:
            return f"Value(KindFloat64Histogram, {len(self._pointer.Counts)} buckets)"
        names = {KindBad: "KindBad", KindUint64: "KindUint64", KindFloat64: "KindFloat64"}
        return f"Value({names.get(self._kind, self._kind)}, {self._scalar!r})"


@dataclass
class Sample:
    """Go's metrics.Sample: set ``Name``, call `Read`, read ``Value``."""

    Name: str = ""
    Value: "Value" = field(default_factory=Value)


# ---------------------------------------------------------------------------------------
# Inputs

Pauses = Union[TimeHistogram, Sequence[int]]


def _zeros():
    return [0] * NUM_SIZE_CLASSES


@dataclass
class MetricInputs:
    """Everything `compute` needs, as raw counters of the runtime *now* (no mcache flush).

    Field groups follow Go's stat aggregates in runtime/metrics.go. Byte counts and counts
    are non-negative ints (uint64 in Go); times are ns.
    """

    # --- heapStats: the "consistent" sharded counters (mstats.go heapStatsDelta) ---
    tiny_alloc_count: int = 0      # tiny sub-allocations (flushed to here on refill/flush only)
    large_alloc: int = 0           # bytes of large objects allocated (npages*8192 each)
    large_alloc_count: int = 0     # large objects allocated
    small_alloc_count: Sequence[int] = field(default_factory=_zeros)  # [68] per size class: slots used by spans already uncached
    large_free: int = 0            # bytes of large objects freed (at sweep)
    large_free_count: int = 0      # large objects freed
    small_free_count: Sequence[int] = field(default_factory=_zeros)   # [68] per size class: objects freed by sweep
    committed: int = 0             # heap memory committed: in-use spans + free unreleased + stacks + workbufs
    released: int = 0              # heap memory released to the OS (HeapReleased)
    in_heap: int = 0               # bytes in in-use heap spans (HeapInuse)
    in_stacks: int = 0             # bytes in stack spans (StackInuse)
    in_work_bufs: int = 0          # bytes in GC work-buffer spans
    # --- sysStats (mstats.go sysMemStats, mheap fixalloc) ---
    stacks_sys: int = 0            # stack memory mapped directly from the OS (0 without cgo)
    mspan_sys: int = 0             # bytes reserved for mspan structs (MSpanSys)
    mspan_inuse: int = 0           # bytes of live mspan structs (MSpanInuse)
    mcache_sys: int = 0            # bytes reserved for mcache structs (MCacheSys)
    mcache_inuse: int = 0          # bytes of live mcache structs (MCacheInuse)
    buckhash_sys: int = 0          # profiling bucket hash tables (BuckHashSys)
    gc_misc_sys: int = 0           # GC metadata other than workbufs (GCSys - workbufs)
    other_sys: int = 0             # other runtime off-heap memory, incl. specials (OtherSys)
    heap_goal: int = 0             # pacer.heap_goal(mem) now (NextGC)
    num_gc: int = 0                # completed GC cycles (NumGC)
    num_forced_gc: int = 0         # of which forced by the application (NumForcedGC)
    # --- gcController / pacer ---
    heap_marked: int = 0           # bytes marked by the last cycle (0 before the first GC)
    heap_scan: int = 0             # pacer.heap_scan: scannable heap bytes
    stack_scan: int = 0            # pacer.last_stack_scan: stack bytes scanned last cycle
    globals_scan: int = 0          # pacer.globals_scan: scannable data+BSS bytes
    gc_percent: int = 100          # GOGC as stored (int32; -1 when off)
    memory_limit: int = (1 << 63) - 1   # memory limit in bytes (MaxInt64 = none)
    limiter_last_enabled_cycle: int = 0  # last GC cycle the CPU limiter was on (0 = never)
    # --- cpuStats ---
    cpu_stats: CPUStats = field(default_factory=CPUStats)   # as of the last STW accumulate
    # --- finalizers and cleanups ---
    finalizers_queued: int = 0     # finalizers queued by the sweeper, cumulative
    finalizers_executed: int = 0   # finalizers run, cumulative
    cleanups_queued: int = 0       # cleanups queued by the sweeper, cumulative
    cleanups_executed: int = 0     # cleanups run, cumulative
    # --- scheduler ---
    gomaxprocs: int = 1            # GOMAXPROCS
    goroutines: int = 0            # live goroutines incl. system ones (Go: gcount(true))
    goroutines_created: int = 0    # goroutines created since start
    goroutines_running: int = 0    # goroutines on a running P
    goroutines_runnable: int = 0   # goroutines in run queues
    goroutines_not_in_go: int = 0  # goroutines in a syscall/cgo call
    starting_stack_size: int = STARTING_STACK_SIZE   # stack size of new goroutines
    threads: int = 0               # live Ms (Go: schedStats.threads)
    time_to_run: Pauses = field(default_factory=TimeHistogram)   # sched.timeToRun
    cgo_calls: int = 0             # Go: NumCgoCall
    mutex_wait_ns: int = 0         # Go: totalMutexWaitTimeNanos
    godebug_non_default: dict = field(default_factory=dict)      # name -> events
    # --- stop-the-world pause histograms (one sample per STW; GC: 2 per cycle) ---
    stw_total_gc: Pauses = field(default_factory=TimeHistogram)      # start of stopping -> world restarted, GC STWs
    stw_stopping_gc: Pauses = field(default_factory=TimeHistogram)   # start of stopping -> all Ps stopped, GC STWs
    stw_total_other: Pauses = field(default_factory=TimeHistogram)   # as stw_total_gc, other STWs (ReadMemStats, ...)
    stw_stopping_other: Pauses = field(default_factory=TimeHistogram)


# ---------------------------------------------------------------------------------------
# The metric table

def _d(name, kind, cumulative, *desc):
    return Description(name, "".join(desc), kind, cumulative)


_CPU_TAIL = ("This metric is an overestimate, and not directly comparable to "
             "system CPU time measurements. Compare only with other /cpu/classes "
             "metrics.")
_TINY_NOTE = ("Note that this does not include tiny objects as defined by "
              "/gc/heap/tiny/allocs:objects, only tiny blocks.")

_DESCRIPTIONS = [
    _d("/cpu/classes/gc/mark/assist:cpu-seconds", KindFloat64, True,
       "Estimated total CPU time goroutines spent performing GC tasks ",
       "to assist the GC and prevent it from falling behind the application. ", _CPU_TAIL),
    _d("/cpu/classes/gc/mark/dedicated:cpu-seconds", KindFloat64, True,
       "Estimated total CPU time spent performing GC tasks on ",
       "processors (as defined by GOMAXPROCS) dedicated to those tasks. ", _CPU_TAIL),
    _d("/cpu/classes/gc/mark/idle:cpu-seconds", KindFloat64, True,
       "Estimated total CPU time spent performing GC tasks on ",
       "spare CPU resources that the Go scheduler could not otherwise find ",
       "a use for. This should be subtracted from the total GC CPU time to ",
       "obtain a measure of compulsory GC CPU time. ", _CPU_TAIL),
    _d("/cpu/classes/gc/pause:cpu-seconds", KindFloat64, True,
       "Estimated total CPU time spent with the application paused by ",
       "the GC. Even if only one thread is running during the pause, this is ",
       "computed as GOMAXPROCS times the pause latency because nothing else ",
       "can be executing. This is the exact sum of samples in ",
       "/sched/pauses/total/gc:seconds if each sample is multiplied by ",
       "GOMAXPROCS at the time it is taken. This metric is an overestimate, ",
       "and not directly comparable to system CPU time measurements. Compare ",
       "only with other /cpu/classes metrics."),
    _d("/cpu/classes/gc/total:cpu-seconds", KindFloat64, True,
       "Estimated total CPU time spent performing GC tasks. ",
       "This metric is an overestimate, and not directly comparable to ",
       "system CPU time measurements. Compare only with other /cpu/classes ",
       "metrics. Sum of all metrics in /cpu/classes/gc."),
    _d("/cpu/classes/idle:cpu-seconds", KindFloat64, True,
       "Estimated total available CPU time not spent executing any Go or Go runtime code. ",
       "In other words, the part of /cpu/classes/total:cpu-seconds that was unused. ", _CPU_TAIL),
    _d("/cpu/classes/scavenge/assist:cpu-seconds", KindFloat64, True,
       "Estimated total CPU time spent returning unused memory to the ",
       "underlying platform in response eagerly to memory pressure. ", _CPU_TAIL),
    _d("/cpu/classes/scavenge/background:cpu-seconds", KindFloat64, True,
       "Estimated total CPU time spent performing background tasks ",
       "to return unused memory to the underlying platform. ", _CPU_TAIL),
    _d("/cpu/classes/scavenge/total:cpu-seconds", KindFloat64, True,
       "Estimated total CPU time spent performing tasks that return ",
       "unused memory to the underlying platform. ",
       "This metric is an overestimate, and not directly comparable to ",
       "system CPU time measurements. Compare only with other /cpu/classes ",
       "metrics. Sum of all metrics in /cpu/classes/scavenge."),
    _d("/cpu/classes/total:cpu-seconds", KindFloat64, True,
       "Estimated total available CPU time for user Go code ",
       "or the Go runtime, as defined by GOMAXPROCS. In other words, GOMAXPROCS ",
       "integrated over the wall-clock duration this process has been executing for. ",
       "This metric is an overestimate, and not directly comparable to ",
       "system CPU time measurements. Compare only with other /cpu/classes ",
       "metrics. Sum of all metrics in /cpu/classes."),
    _d("/cpu/classes/user:cpu-seconds", KindFloat64, True,
       "Estimated total CPU time spent running user Go code. This may ",
       "also include some small amount of time spent in the Go runtime. ", _CPU_TAIL),
    _d("/gc/cleanups/executed:cleanups", KindUint64, True,
       "Approximate total count of cleanup functions (created by runtime.AddCleanup) ",
       "executed by the runtime. Subtract /gc/cleanups/queued:cleanups to approximate ",
       "cleanup queue length. Useful for detecting slow cleanups holding up the queue."),
    _d("/gc/cleanups/queued:cleanups", KindUint64, True,
       "Approximate total count of cleanup functions (created by runtime.AddCleanup) ",
       "queued by the runtime for execution. Subtract from /gc/cleanups/executed:cleanups ",
       "to approximate cleanup queue length. Useful for detecting slow cleanups holding up the queue."),
    _d("/gc/cycles/automatic:gc-cycles", KindUint64, True,
       "Count of completed GC cycles generated by the Go runtime."),
    _d("/gc/cycles/forced:gc-cycles", KindUint64, True,
       "Count of completed GC cycles forced by the application."),
    _d("/gc/cycles/total:gc-cycles", KindUint64, True,
       "Count of all completed GC cycles."),
    _d("/gc/finalizers/executed:finalizers", KindUint64, True,
       "Total count of finalizer functions (created by runtime.SetFinalizer) ",
       "executed by the runtime. Subtract /gc/finalizers/queued:finalizers to approximate ",
       "finalizer queue length. Useful for detecting finalizers overwhelming the queue, ",
       "either by being too slow, or by there being too many of them."),
    _d("/gc/finalizers/queued:finalizers", KindUint64, True,
       "Total count of finalizer functions (created by runtime.SetFinalizer) and ",
       "queued by the runtime for execution. Subtract from /gc/finalizers/executed:finalizers ",
       "to approximate finalizer queue length. Useful for detecting slow finalizers holding up the queue."),
    _d("/gc/gogc:percent", KindUint64, False,
       "Heap size target percentage configured by the user, otherwise 100. This ",
       "value is set by the GOGC environment variable, and the runtime/debug.SetGCPercent ",
       "function."),
    _d("/gc/gomemlimit:bytes", KindUint64, False,
       "Go runtime memory limit configured by the user, otherwise ",
       "math.MaxInt64. This value is set by the GOMEMLIMIT environment variable, and ",
       "the runtime/debug.SetMemoryLimit function."),
    _d("/gc/heap/allocs-by-size:bytes", KindFloat64Histogram, True,
       "Distribution of heap allocations by approximate size. ",
       "Bucket counts increase monotonically. ", _TINY_NOTE),
    _d("/gc/heap/allocs:bytes", KindUint64, True,
       "Cumulative sum of memory allocated to the heap by the application."),
    _d("/gc/heap/allocs:objects", KindUint64, True,
       "Cumulative count of heap allocations triggered by the application. ", _TINY_NOTE),
    _d("/gc/heap/frees-by-size:bytes", KindFloat64Histogram, True,
       "Distribution of freed heap allocations by approximate size. ",
       "Bucket counts increase monotonically. ", _TINY_NOTE),
    _d("/gc/heap/frees:bytes", KindUint64, True,
       "Cumulative sum of heap memory freed by the garbage collector."),
    _d("/gc/heap/frees:objects", KindUint64, True,
       "Cumulative count of heap allocations whose storage was freed ",
       "by the garbage collector. ", _TINY_NOTE),
    _d("/gc/heap/goal:bytes", KindUint64, False,
       "Heap size target for the end of the GC cycle."),
    _d("/gc/heap/live:bytes", KindUint64, False,
       "Heap memory occupied by live objects that were marked by the previous GC."),
    _d("/gc/heap/objects:objects", KindUint64, False,
       "Number of objects, live or unswept, occupying heap memory."),
    _d("/gc/heap/tiny/allocs:objects", KindUint64, True,
       "Count of small allocations that are packed together into blocks. ",
       "These allocations are counted separately from other allocations ",
       "because each individual allocation is not tracked by the runtime, ",
       "only their block. Each block is already accounted for in ",
       "allocs-by-size and frees-by-size."),
    _d("/gc/limiter/last-enabled:gc-cycle", KindUint64, False,
       "GC cycle the last time the GC CPU limiter was enabled. ",
       "This metric is useful for diagnosing the root cause of an out-of-memory ",
       "error, because the limiter trades memory for CPU time when the GC's CPU ",
       "time gets too high. This is most likely to occur with use of SetMemoryLimit. ",
       "The first GC cycle is cycle 1, so a value of 0 indicates that it was never enabled."),
    _d("/gc/pauses:seconds", KindFloat64Histogram, True,
       "Deprecated. Prefer the identical /sched/pauses/total/gc:seconds."),
    _d("/gc/scan/globals:bytes", KindUint64, False,
       "The total amount of global variable space that is scannable."),
    _d("/gc/scan/heap:bytes", KindUint64, False,
       "The total amount of heap space that is scannable."),
    _d("/gc/scan/stack:bytes", KindUint64, False,
       "The number of bytes of stack that were scanned last GC cycle."),
    _d("/gc/scan/total:bytes", KindUint64, False,
       "The total amount space that is scannable. Sum of all metrics in /gc/scan."),
    _d("/gc/stack/starting-size:bytes", KindUint64, False,
       "The stack size of new goroutines."),
    _d("/memory/classes/heap/free:bytes", KindUint64, False,
       "Memory that is completely free and eligible to be returned to the underlying system, ",
       "but has not been. This metric is the runtime's estimate of free address space that is backed by ",
       "physical memory."),
    _d("/memory/classes/heap/objects:bytes", KindUint64, False,
       "Memory occupied by live objects and dead objects that have not yet been marked free by the garbage collector."),
    _d("/memory/classes/heap/released:bytes", KindUint64, False,
       "Memory that is completely free and has been returned to the underlying system. This ",
       "metric is the runtime's estimate of free address space that is still mapped into the process, ",
       "but is not backed by physical memory."),
    _d("/memory/classes/heap/stacks:bytes", KindUint64, False,
       "Memory allocated from the heap that is reserved for stack space, whether or not it is currently in-use. ",
       "Currently, this represents all stack memory for goroutines. It also includes all OS thread stacks in non-cgo programs. ",
       "Note that stacks may be allocated differently in the future, and this may change."),
    _d("/memory/classes/heap/unused:bytes", KindUint64, False,
       "Memory that is reserved for heap objects but is not currently used to hold heap objects."),
    _d("/memory/classes/metadata/mcache/free:bytes", KindUint64, False,
       "Memory that is reserved for runtime mcache structures, but not in-use."),
    _d("/memory/classes/metadata/mcache/inuse:bytes", KindUint64, False,
       "Memory that is occupied by runtime mcache structures that are currently being used."),
    _d("/memory/classes/metadata/mspan/free:bytes", KindUint64, False,
       "Memory that is reserved for runtime mspan structures, but not in-use."),
    _d("/memory/classes/metadata/mspan/inuse:bytes", KindUint64, False,
       "Memory that is occupied by runtime mspan structures that are currently being used."),
    _d("/memory/classes/metadata/other:bytes", KindUint64, False,
       "Memory that is reserved for or used to hold runtime metadata."),
    _d("/memory/classes/os-stacks:bytes", KindUint64, False,
       "Stack memory allocated by the underlying operating system. ",
       "In non-cgo programs this metric is currently zero. This may change in the future.",
       "In cgo programs this metric includes OS thread stacks allocated directly from the OS. ",
       "Currently, this only accounts for one stack in c-shared and c-archive build modes, ",
       "and other sources of stacks from the OS are not measured. This too may change in the future."),
    _d("/memory/classes/other:bytes", KindUint64, False,
       "Memory used by execution trace buffers, structures for debugging the runtime, finalizer and profiler specials, and more."),
    _d("/memory/classes/profiling/buckets:bytes", KindUint64, False,
       "Memory that is used by the stack trace hash map used for profiling."),
    _d("/memory/classes/total:bytes", KindUint64, False,
       "All memory mapped by the Go runtime into the current process as read-write. Note that this does not include memory mapped by code called via cgo or via the syscall package. Sum of all metrics in /memory/classes."),
    _d("/sched/gomaxprocs:threads", KindUint64, False,
       "The current runtime.GOMAXPROCS setting, or the number of operating system threads that can execute user-level Go code simultaneously."),
    _d("/sched/goroutines-created:goroutines", KindUint64, True,
       "Count of goroutines created since program start."),
    _d("/sched/goroutines/not-in-go:goroutines", KindUint64, False,
       "Approximate count of goroutines running or blocked in a system call or cgo call. Not guaranteed to add up to /sched/goroutines:goroutines with other goroutine metrics."),
    _d("/sched/goroutines/runnable:goroutines", KindUint64, False,
       "Approximate count of goroutines ready to execute, but not executing. Not guaranteed to add up to /sched/goroutines:goroutines with other goroutine metrics."),
    _d("/sched/goroutines/running:goroutines", KindUint64, False,
       "Approximate count of goroutines executing. Always less than or equal to /sched/gomaxprocs:threads. Not guaranteed to add up to /sched/goroutines:goroutines with other goroutine metrics."),
    _d("/sched/goroutines/waiting:goroutines", KindUint64, False,
       "Approximate count of goroutines waiting on a resource (I/O or sync primitives). Not guaranteed to add up to /sched/goroutines:goroutines with other goroutine metrics."),
    _d("/sched/goroutines:goroutines", KindUint64, False,
       "Count of live goroutines."),
    _d("/sched/pauses/stopping/gc:seconds", KindFloat64Histogram, True,
       "Distribution of individual GC-related stop-the-world stopping latencies. This is the time it takes from deciding to stop the world until all Ps are stopped. This is a subset of the total GC-related stop-the-world time (/sched/pauses/total/gc:seconds). During this time, some threads may be executing. Bucket counts increase monotonically."),
    _d("/sched/pauses/stopping/other:seconds", KindFloat64Histogram, True,
       "Distribution of individual non-GC-related stop-the-world stopping latencies. This is the time it takes from deciding to stop the world until all Ps are stopped. This is a subset of the total non-GC-related stop-the-world time (/sched/pauses/total/other:seconds). During this time, some threads may be executing. Bucket counts increase monotonically."),
    _d("/sched/pauses/total/gc:seconds", KindFloat64Histogram, True,
       "Distribution of individual GC-related stop-the-world pause latencies. This is the time from deciding to stop the world until the world is started again. Some of this time is spent getting all threads to stop (this is measured directly in /sched/pauses/stopping/gc:seconds), during which some threads may still be running. Bucket counts increase monotonically."),
    _d("/sched/pauses/total/other:seconds", KindFloat64Histogram, True,
       "Distribution of individual non-GC-related stop-the-world pause latencies. This is the time from deciding to stop the world until the world is started again. Some of this time is spent getting all threads to stop (measured directly in /sched/pauses/stopping/other:seconds). Bucket counts increase monotonically."),
]
_DESCRIPTIONS += [
    _d("/cgo/go-to-c-calls:calls", KindUint64, True,
       "Count of calls made from Go to C by the current process."),
    _d("/sched/latencies:seconds", KindFloat64Histogram, True,
       "Distribution of the time goroutines have spent in the scheduler in a runnable state "
       "before actually running. Bucket counts increase monotonically."),
    _d("/sched/threads/total:threads", KindUint64, False,
       "The current count of live threads that are owned by the Go runtime."),
    _d("/sync/mutex/wait/total:seconds", KindFloat64, True,
       "Approximate cumulative time goroutines have spent blocked on a sync.Mutex, sync.RWMutex, "
       "or runtime-internal lock. This metric is useful for identifying global changes in lock "
       "contention. Collect a mutex or block profile using the runtime/pprof package for more "
       "detailed contention data."),
]

#: Go 1.27.3's non-opaque GODEBUG settings (internal/godebugs/table.go): (name, package).
GODEBUGS = (
    ("allowmultiplevcs", "cmd/go"), ("containermaxprocs", "runtime"),
    ("cryptocustomrand", "crypto"), ("embedfollowsymlinks", "cmd/go"),
    ("execerrdot", "os/exec"), ("fips140ems", "crypto/tls"), ("gocachehash", "cmd/go"),
    ("gocachetest", "cmd/go"), ("gocacheverify", "cmd/go"), ("gotestjsonbuildtext", "cmd/go"),
    ("htmlmetacontenturlescape", "html/template"), ("http2client", "net/http"),
    ("http2server", "net/http"), ("httpcookiemaxnum", "net/http"),
    ("httplaxcontentlength", "net/http"), ("httpmuxgo121", "net/http"),
    ("httpservecontentkeepheaders", "net/http"), ("httpservecontentmaxranges", "net/http"),
    ("installgoroot", "go/build"), ("multipartmaxheaders", "mime/multipart"),
    ("multipartmaxparts", "mime/multipart"), ("multipathtcp", "net"), ("netedns0", "net"),
    ("panicnil", "runtime"), ("randautoseed", "math/rand"), ("randseednop", "math/rand"),
    ("rsa1024min", "crypto/rsa"), ("tarinsecurepath", "archive/tar"),
    ("tlsmaxrsasize", "crypto/tls"), ("tlssha1", "crypto/tls"), ("updatemaxprocs", "runtime"),
    ("urlmaxqueryparams", "net/url"), ("urlstrictcolons", "net/url"),
    ("winreadlinkvolume", "os"), ("winsymlink", "os"), ("x509negativeserial", "crypto/x509"),
    ("x509rsacrt", "crypto/x509"), ("x509sha256skid", "crypto/x509"),
    ("x509sslcertoverrideplatform", "crypto/x509"), ("x509usefallbackroots", "crypto/x509"),
    ("x509usepolicies", "crypto/x509"), ("zipinsecurepath", "archive/zip"),
)
_DESCRIPTIONS += [
    _d(f"/godebug/non-default-behavior/{name}:events", KindUint64, True,
       f"The number of non-default behaviors executed by the {pkg} package due to a "
       f"non-default GODEBUG={name}=... setting.")
    for name, pkg in GODEBUGS]

_DESCRIPTIONS.sort(key=lambda d: d.Name)
_BY_NAME = {d.Name: d for d in _DESCRIPTIONS}


def All() -> list[Description]:
    """Descriptions of every supported metric, sorted by name (Go: metrics.All)."""
    return list(_DESCRIPTIONS)


# ---------------------------------------------------------------------------------------
# Computation (Go: initMetrics' compute functions over a statAggregate)

class _Aggregate:
    """Go's statAggregate: the inputs plus derived heap stats, computed lazily once."""

    __slots__ = ("inp", "_heap")

    def __init__(self, inp: MetricInputs):
        self.inp = inp
        self._heap = None

    def heap(self):
        """Go: heapStatsAggregate.compute: totals over large objects and size classes."""
        if self._heap is None:
            i = self.inp
            total_allocs = i.large_alloc_count
            total_frees = i.large_free_count
            total_allocated = i.large_alloc
            total_freed = i.large_free
            for c in range(NUM_SIZE_CLASSES):
                na = i.small_alloc_count[c]
                nf = i.small_free_count[c]
                total_allocs += na
                total_frees += nf
                total_allocated += na * CLASS_TO_SIZE[c]
                total_freed += nf * CLASS_TO_SIZE[c]
            self._heap = {
                "total_allocs": total_allocs & MASK64,
                "total_frees": total_frees & MASK64,
                "total_allocated": total_allocated & MASK64,
                "total_freed": total_freed & MASK64,
                "in_objects": (total_allocated - total_freed) & MASK64,
                "num_objects": (total_allocs - total_frees) & MASK64,
            }
        return self._heap


def _u(x: int) -> Value:
    return Value(KindUint64, int(x) & MASK64)


def _sec(ns: int) -> Value:
    return Value(KindFloat64, float(ns) / 1e9)     # Go: nsToSec


def _hist_counts(p: Pauses) -> list[int]:
    if isinstance(p, TimeHistogram):
        return p.counts()
    return TimeHistogram(p).counts()


def _time_hist(attr):
    return lambda a: (KindFloat64Histogram, _hist_counts(getattr(a.inp, attr)), _TIME_BUCKETS)


def _by_size(large_attr, small_attr):
    def f(a):
        i = a.inp
        counts = [0] * (len(_SIZE_BUCKETS) - 1)
        small = getattr(i, small_attr)
        for c in range(1, NUM_SIZE_CLASSES):
            counts[c - 1] = small[c]
        counts[-1] = getattr(i, large_attr)
        return KindFloat64Histogram, counts, _SIZE_BUCKETS
    return f


def _waiting(i: MetricInputs) -> int:
    busy = i.goroutines_running + i.goroutines_runnable + i.goroutines_not_in_go
    return 0 if i.goroutines < busy else i.goroutines - busy


_COMPUTE: dict[str, Callable[[_Aggregate], object]] = {
    "/cpu/classes/gc/mark/assist:cpu-seconds": lambda a: _sec(a.inp.cpu_stats.GCAssistTime),
    "/cpu/classes/gc/mark/dedicated:cpu-seconds": lambda a: _sec(a.inp.cpu_stats.GCDedicatedTime),
    "/cpu/classes/gc/mark/idle:cpu-seconds": lambda a: _sec(a.inp.cpu_stats.GCIdleTime),
    "/cpu/classes/gc/pause:cpu-seconds": lambda a: _sec(a.inp.cpu_stats.GCPauseTime),
    "/cpu/classes/gc/total:cpu-seconds": lambda a: _sec(a.inp.cpu_stats.GCTotalTime),
    "/cpu/classes/idle:cpu-seconds": lambda a: _sec(a.inp.cpu_stats.IdleTime),
    "/cpu/classes/scavenge/assist:cpu-seconds": lambda a: _sec(a.inp.cpu_stats.ScavengeAssistTime),
    "/cpu/classes/scavenge/background:cpu-seconds": lambda a: _sec(a.inp.cpu_stats.ScavengeBgTime),
    "/cpu/classes/scavenge/total:cpu-seconds": lambda a: _sec(a.inp.cpu_stats.ScavengeTotalTime),
    "/cpu/classes/total:cpu-seconds": lambda a: _sec(a.inp.cpu_stats.TotalTime),
    "/cpu/classes/user:cpu-seconds": lambda a: _sec(a.inp.cpu_stats.UserTime),
    "/gc/cleanups/executed:cleanups": lambda a: _u(a.inp.cleanups_executed),
    "/gc/cleanups/queued:cleanups": lambda a: _u(a.inp.cleanups_queued),
    "/gc/cycles/automatic:gc-cycles": lambda a: _u(a.inp.num_gc - a.inp.num_forced_gc),
    "/gc/cycles/forced:gc-cycles": lambda a: _u(a.inp.num_forced_gc),
    "/gc/cycles/total:gc-cycles": lambda a: _u(a.inp.num_gc),
    "/gc/finalizers/executed:finalizers": lambda a: _u(a.inp.finalizers_executed),
    "/gc/finalizers/queued:finalizers": lambda a: _u(a.inp.finalizers_queued),
    "/gc/scan/globals:bytes": lambda a: _u(a.inp.globals_scan),
    "/gc/scan/heap:bytes": lambda a: _u(a.inp.heap_scan),
    "/gc/scan/stack:bytes": lambda a: _u(a.inp.stack_scan),
    "/gc/scan/total:bytes": lambda a: _u(a.inp.heap_scan + a.inp.stack_scan + a.inp.globals_scan),
    "/gc/heap/allocs-by-size:bytes": _by_size("large_alloc_count", "small_alloc_count"),
    "/gc/heap/allocs:bytes": lambda a: _u(a.heap()["total_allocated"]),
    "/gc/heap/allocs:objects": lambda a: _u(a.heap()["total_allocs"]),
    "/gc/heap/frees-by-size:bytes": _by_size("large_free_count", "small_free_count"),
    "/gc/heap/frees:bytes": lambda a: _u(a.heap()["total_freed"]),
    "/gc/heap/frees:objects": lambda a: _u(a.heap()["total_frees"]),
    "/gc/heap/goal:bytes": lambda a: _u(a.inp.heap_goal),
    "/gc/gomemlimit:bytes": lambda a: _u(a.inp.memory_limit),
    "/gc/gogc:percent": lambda a: _u(a.inp.gc_percent),          # uint64(int32): off -> 2^64-1
    "/gc/heap/live:bytes": lambda a: _u(a.inp.heap_marked),
    "/gc/heap/objects:objects": lambda a: _u(a.heap()["num_objects"]),
    "/gc/heap/tiny/allocs:objects": lambda a: _u(a.inp.tiny_alloc_count),
    "/gc/limiter/last-enabled:gc-cycle": lambda a: _u(a.inp.limiter_last_enabled_cycle),
    "/gc/pauses:seconds": _time_hist("stw_total_gc"),
    "/gc/stack/starting-size:bytes": lambda a: _u(a.inp.starting_stack_size),
    "/memory/classes/heap/free:bytes": lambda a: _u(
        a.inp.committed - a.inp.in_heap - a.inp.in_stacks - a.inp.in_work_bufs),
    "/memory/classes/heap/objects:bytes": lambda a: _u(a.heap()["in_objects"]),
    "/memory/classes/heap/released:bytes": lambda a: _u(a.inp.released),
    "/memory/classes/heap/stacks:bytes": lambda a: _u(a.inp.in_stacks),
    "/memory/classes/heap/unused:bytes": lambda a: _u(a.inp.in_heap - a.heap()["in_objects"]),
    "/memory/classes/metadata/mcache/free:bytes": lambda a: _u(a.inp.mcache_sys - a.inp.mcache_inuse),
    "/memory/classes/metadata/mcache/inuse:bytes": lambda a: _u(a.inp.mcache_inuse),
    "/memory/classes/metadata/mspan/free:bytes": lambda a: _u(a.inp.mspan_sys - a.inp.mspan_inuse),
    "/memory/classes/metadata/mspan/inuse:bytes": lambda a: _u(a.inp.mspan_inuse),
    "/memory/classes/metadata/other:bytes": lambda a: _u(a.inp.in_work_bufs + a.inp.gc_misc_sys),
    "/memory/classes/os-stacks:bytes": lambda a: _u(a.inp.stacks_sys),
    "/memory/classes/other:bytes": lambda a: _u(a.inp.other_sys),
    "/memory/classes/profiling/buckets:bytes": lambda a: _u(a.inp.buckhash_sys),
    "/memory/classes/total:bytes": lambda a: _u(
        a.inp.committed + a.inp.released + a.inp.stacks_sys + a.inp.mspan_sys
        + a.inp.mcache_sys + a.inp.buckhash_sys + a.inp.gc_misc_sys + a.inp.other_sys),
    "/sched/gomaxprocs:threads": lambda a: _u(a.inp.gomaxprocs),
    "/sched/goroutines:goroutines": lambda a: _u(a.inp.goroutines),
    "/sched/goroutines/not-in-go:goroutines": lambda a: _u(a.inp.goroutines_not_in_go),
    "/sched/goroutines/running:goroutines": lambda a: _u(a.inp.goroutines_running),
    "/sched/goroutines/runnable:goroutines": lambda a: _u(a.inp.goroutines_runnable),
    "/sched/goroutines/waiting:goroutines": lambda a: _u(_waiting(a.inp)),
    "/sched/goroutines-created:goroutines": lambda a: _u(a.inp.goroutines_created),
    "/sched/pauses/stopping/gc:seconds": _time_hist("stw_stopping_gc"),
    "/sched/pauses/stopping/other:seconds": _time_hist("stw_stopping_other"),
    "/sched/pauses/total/gc:seconds": _time_hist("stw_total_gc"),
    "/sched/pauses/total/other:seconds": _time_hist("stw_total_other"),
    "/cgo/go-to-c-calls:calls": lambda a: _u(a.inp.cgo_calls),
    "/sched/latencies:seconds": _time_hist("time_to_run"),
    "/sched/threads/total:threads": lambda a: _u(a.inp.threads),
    "/sync/mutex/wait/total:seconds": lambda a: _sec(a.inp.mutex_wait_ns),
}
for _name, _ in GODEBUGS:
    _COMPUTE[f"/godebug/non-default-behavior/{_name}:events"] = (
        lambda a, n=_name: _u(a.inp.godebug_non_default.get(n, 0)))
assert set(_COMPUTE) == set(_BY_NAME), set(_COMPUTE) ^ set(_BY_NAME)


def _compute_into(name: str, agg: _Aggregate, out: Value | None) -> Value:
    fn = _COMPUTE.get(name)
    if fn is None:
        return Value(KindBad)
    r = fn(agg)
    if isinstance(r, Value):
        return r
    _, counts, buckets = r
    # Go: float64HistOrInit reuses the sample's existing histogram.
    if out is not None and out._kind == KindFloat64Histogram and out._pointer is not None:
        h = out._pointer
        h.Counts[:] = counts
        h.Buckets = list(buckets)
        return out
    return Value(KindFloat64Histogram, 0, Float64Histogram(list(counts), list(buckets)))


def compute(name: str, inputs: MetricInputs) -> Value:
    """The value of metric *name* for *inputs*; ``KindBad`` for unknown names."""
    return _compute_into(name, _Aggregate(inputs), None)


# ---------------------------------------------------------------------------------------
# Read and the provider hook

_provider: Callable[[], MetricInputs] | None = None
_metrics_sema = threading.Lock()          # Go: metricsSema, serialises Read


def set_input_provider(fn: Callable[[], MetricInputs] | None):
    """Install *fn* as the source of `Read`'s inputs; returns the previous provider.

    The runtime installs a function returning a `MetricInputs` snapshot of the current
    runtime (``None`` uninstalls).
    """
    global _provider
    prev = _provider
    _provider = fn
    return prev


def get_input_provider():
    """The installed provider, or None."""
    return _provider


def _check_samples(samples):
    """TypeError with the compiler's words for what is no ``[]metrics.Sample``."""
    if not isinstance(samples, (list, tuple)):
        raise TypeError(f"cannot use {samples!r} (Python {type(samples).__name__}) as "
                        "[]metrics.Sample value in argument to metrics.Read")
    for s in samples:
        if not isinstance(s, Sample):
            raise TypeError(f"cannot use {s!r} (Python {type(s).__name__}) as "
                            "metrics.Sample value in argument to metrics.Read")
        if not isinstance(s.Name, str):
            raise TypeError(f"cannot use {s.Name!r} (Python {type(s.Name).__name__}) as "
                            "string value in metrics.Sample.Name")
        v = s.Value
        if v is not None and not isinstance(v, Value):
            raise TypeError(f"cannot use {v!r} (Python {type(v).__name__}) as "
                            "metrics.Value value in metrics.Sample.Value")
        if isinstance(v, Value) and v._kind == KindFloat64Histogram and v._pointer is not None \
                and not (isinstance(v._pointer, Float64Histogram)
                         and isinstance(v._pointer.Counts, list)):
            raise TypeError("metrics.Sample.Value: a histogram value to reuse must be a "
                            "*metrics.Float64Histogram whose Counts is a list")


def Read(samples: list[Sample]) -> None:
    """Populate each sample's ``Value`` for its ``Name`` (Go: metrics.Read).

    Unknown names get ``KindBad``. Histogram values already present in a sample are
    reused, as in Go. Raises RuntimeError when no runtime has installed an input provider.
    ``None`` is Go's nil slice (nothing to read); what Go's compiler rejects (not a list
    or tuple of `Sample`, a non-string ``Name``, a ``Value`` that is no `Value`) is a
    TypeError, raised before any sample changes.
    """
    if samples is None:
        return
    _check_samples(samples)
    if len(samples) == 0:
        return
    with _signals.held(), _metrics_sema:
        if _provider is None:
            raise RuntimeError("goruntime.metrics.Read: no runtime is current (no input "
                               "provider installed; create a goruntime.Runtime first)")
        agg = _Aggregate(_provider())
        for s in samples:
            s.Value = _compute_into(s.Name, agg, s.Value)
