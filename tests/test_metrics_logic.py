"""runtime/metrics: descriptions, bucket layouts, and compute() on synthetic inputs.

The equalities with MemStats are those TestReadMetrics enforces (spec §8, last column);
the MemStats side is derived here from the same inputs the way Go's readmemstats_m does.
Descriptions and bucket boundaries are compared with the real toolchain when ``go`` is on
PATH.
"""
import math
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, strategies as st

from goruntime import metrics
from goruntime.errors import Panic
from goruntime.metrics import (
    CLASS_TO_SIZE, KindBad, KindFloat64, KindFloat64Histogram, KindUint64, CPUStats,
    MetricInputs, Sample, TimeHistogram, compute, size_class_buckets, time_histogram_buckets,
)

SPEC_8_NAMES = """
/gc/cycles/total:gc-cycles /gc/cycles/forced:gc-cycles /gc/cycles/automatic:gc-cycles
/gc/heap/allocs:bytes /gc/heap/allocs:objects /gc/heap/frees:bytes /gc/heap/frees:objects
/gc/heap/tiny/allocs:objects /gc/heap/objects:objects /gc/heap/allocs-by-size:bytes
/gc/heap/frees-by-size:bytes /gc/heap/goal:bytes /gc/heap/live:bytes /gc/scan/heap:bytes
/gc/scan/stack:bytes /gc/scan/globals:bytes /gc/scan/total:bytes /gc/gogc:percent
/gc/gomemlimit:bytes /gc/limiter/last-enabled:gc-cycle /gc/finalizers/queued:finalizers
/gc/finalizers/executed:finalizers /gc/cleanups/queued:cleanups /gc/cleanups/executed:cleanups
/gc/stack/starting-size:bytes /gc/pauses:seconds /sched/pauses/total/gc:seconds
/sched/pauses/stopping/gc:seconds /sched/pauses/total/other:seconds
/memory/classes/heap/objects:bytes /memory/classes/heap/unused:bytes
/memory/classes/heap/free:bytes /memory/classes/heap/released:bytes
/memory/classes/heap/stacks:bytes /memory/classes/os-stacks:bytes
/memory/classes/metadata/mspan/inuse:bytes /memory/classes/metadata/mspan/free:bytes
/memory/classes/metadata/mcache/inuse:bytes /memory/classes/metadata/mcache/free:bytes
/memory/classes/metadata/other:bytes /memory/classes/profiling/buckets:bytes
/memory/classes/other:bytes /memory/classes/total:bytes /sched/gomaxprocs:threads
/cpu/classes/gc/mark/assist:cpu-seconds /cpu/classes/gc/mark/dedicated:cpu-seconds
/cpu/classes/gc/mark/idle:cpu-seconds /cpu/classes/gc/pause:cpu-seconds
/cpu/classes/gc/total:cpu-seconds /cpu/classes/scavenge/assist:cpu-seconds
/cpu/classes/scavenge/background:cpu-seconds /cpu/classes/scavenge/total:cpu-seconds
/cpu/classes/idle:cpu-seconds /cpu/classes/user:cpu-seconds /cpu/classes/total:cpu-seconds
""".split()

MAX_U64 = (1 << 64) - 1


# ------------------------------------------------------------------------ descriptions

def test_all_sorted_and_complete():
    names = [d.Name for d in metrics.All()]
    assert names == sorted(names) and len(set(names)) == len(names)
    assert set(SPEC_8_NAMES) <= set(names)
    for d in metrics.All():
        assert re.fullmatch(r"(/[^:]+):([^:*/]+(?:[*/][^:*/]+)*)", d.Name)
        assert d.Kind in (KindUint64, KindFloat64, KindFloat64Histogram)
        assert compute(d.Name, MetricInputs()).Kind() == d.Kind
    assert metrics.All() is not metrics.All()            # callers may not corrupt the table


def test_kind_constants():
    assert (KindBad, KindUint64, KindFloat64, KindFloat64Histogram) == (0, 1, 2, 3)


def test_unknown_name_is_kind_bad():
    v = compute("/no/such:metric", MetricInputs())
    assert v.Kind() == KindBad



def test_process_state_metrics_have_go_kinds():
    # Go 1.27.3 returns values for these (issue 15 item 9), never KindBad.
    kinds = {"/cgo/go-to-c-calls:calls": KindUint64, "/sched/latencies:seconds": KindFloat64Histogram,
             "/sched/threads/total:threads": KindUint64, "/sync/mutex/wait/total:seconds": KindFloat64,
             "/godebug/non-default-behavior/panicnil:events": KindUint64}
    for name, kind in kinds.items():
        assert compute(name, MetricInputs()).Kind() == kind
    godebug = [d.Name for d in metrics.All() if d.Name.startswith("/godebug/")]
    assert len(godebug) == len(metrics.GODEBUGS) == 42
    h = compute("/sched/latencies:seconds", MetricInputs(time_to_run=TimeHistogram([1000, 2000])))
    assert sum(h.Float64Histogram().Counts) == 2


def test_value_panics_like_go():
    u = compute("/gc/heap/goal:bytes", MetricInputs(heap_goal=4194304))
    f = compute("/cpu/classes/total:cpu-seconds", MetricInputs())
    h = compute("/gc/pauses:seconds", MetricInputs())
    bad = compute("/nope:bytes", MetricInputs())
    assert u.Uint64() == 4194304
    with pytest.raises(Panic, match="^called Float64 on non-float64 metric value$"):
        u.Float64()
    with pytest.raises(Panic, match="^called Float64Histogram on non-Float64Histogram metric value$"):
        u.Float64Histogram()
    with pytest.raises(Panic, match="^called Uint64 on non-uint64 metric value$"):
        f.Uint64()
    with pytest.raises(Panic):
        h.Uint64()
    with pytest.raises(Panic):
        bad.Uint64()
    assert f.Float64() == 0.0
    assert len(h.Float64Histogram().Counts) == 162


# ----------------------------------------------------------------------------- buckets

def test_time_histogram_buckets_layout():
    b = time_histogram_buckets()
    assert len(b) == 163
    assert b[0] == -math.inf and b[-1] == math.inf
    assert b[1:5] == [0.0, 64e-9, 128e-9, 192e-9]
    assert b[5:9] == [256e-9, 320e-9, 384e-9, 448e-9]       # i = 9: 2^8 + j*2^6
    assert b[-2] == float(1 << 47) / 1e9
    for i in range(9, 48):
        for j in range(4):
            idx = (i - 9 + 1) * 4 + j + 1
            assert b[idx] == float((1 << (i - 1)) + j * (1 << (i - 3))) / 1e9
    assert all(x < y for x, y in zip(b, b[1:]))


def test_size_class_buckets_layout():
    b = size_class_buckets()
    assert len(b) == 69                                      # 68 buckets
    assert b[:6] == [1, 9, 17, 25, 33, 49]
    assert b[-3:] == [28673, 32769, math.inf]


@given(st.integers(-(1 << 50), 1 << 50))
def test_time_histogram_record_lands_in_its_bucket(d):
    h = TimeHistogram()
    h.record(d)
    counts = h.counts()
    assert sum(counts) == 1 == h.total()
    i = counts.index(1)
    if d < 0:
        assert i == 0
    elif d >= 1 << 47:
        assert i == 161
    else:
        # compare in integer ns: bucket i spans [lo, hi)
        edges = [0, 64, 128, 192] + [(1 << (k - 1)) + j * (1 << (k - 3))
                                     for k in range(9, 48) for j in range(4)] + [1 << 47]
        assert edges[i - 1] <= d < edges[i]


def test_go_size_classes_match_source():
    goroot = os.environ.get("GOROOT") or _goroot()
    if goroot is None:
        pytest.skip("no Go source tree")
    src = (Path(goroot) / "src/internal/runtime/gc/sizeclasses.go").read_text()
    m = re.search(r"var SizeClassToSize = \[NumSizeClasses\]uint16\{([^}]*)\}", src)
    assert tuple(int(x) for x in m.group(1).split(",")) == CLASS_TO_SIZE


def _goroot():
    go = shutil.which("go")
    if go is None:
        return None
    return subprocess.run([go, "env", "GOROOT"], capture_output=True, text=True,
                          env={**os.environ, "GOTOOLCHAIN": "local"}).stdout.strip() or None


ORACLE = r"""package main

import (
	"fmt"
	"runtime/metrics"
	"strconv"
)

func main() {
	for _, d := range metrics.All() {
		fmt.Printf("D\t%s\t%d\t%v\t%s\n", d.Name, d.Kind, d.Cumulative, d.Description)
	}
	s := []metrics.Sample{{Name: "/gc/pauses:seconds"}, {Name: "/gc/heap/allocs-by-size:bytes"},
		{Name: "/sched/pauses/total/other:seconds"}, {Name: "/gc/heap/frees-by-size:bytes"}}
	metrics.Read(s)
	for _, x := range s {
		h := x.Value.Float64Histogram()
		fmt.Print("B\t", x.Name, "\t", len(h.Counts))
		for _, b := range h.Buckets {
			fmt.Print("\t", strconv.FormatFloat(b, 'g', -1, 64))
		}
		fmt.Println()
	}
}
"""


@pytest.fixture(scope="module")
def go_metrics(tmp_path_factory):
    go = shutil.which("go")
    if go is None:
        pytest.skip("go not on PATH")
    d = tmp_path_factory.mktemp("metricsoracle")
    (d / "main.go").write_text(ORACLE)
    (d / "go.mod").write_text("module metricsoracle\n\ngo 1.27\n")
    r = subprocess.run([go, "run", "."], cwd=d, capture_output=True, text=True, timeout=300,
                       env={**os.environ, "GOTOOLCHAIN": "local"})
    assert r.returncode == 0, r.stderr
    descs, buckets = {}, {}
    for line in r.stdout.splitlines():
        f = line.split("\t")
        if f[0] == "D":
            descs[f[1]] = (int(f[2]), f[3] == "true", f[4])
        else:
            buckets[f[1]] = (int(f[2]), [float(x) for x in f[3:]])
    return descs, buckets


@pytest.mark.oracle
def test_descriptions_match_go(go_metrics):
    descs, _ = go_metrics
    for d in metrics.All():
        assert d.Name in descs, d.Name
        kind, cumulative, text = descs[d.Name]
        assert (d.Kind, d.Cumulative, d.Description) == (kind, cumulative, text), d.Name


@pytest.mark.oracle
def test_bucket_boundaries_match_go(go_metrics):
    _, buckets = go_metrics
    inp = MetricInputs()
    for name, (ncounts, bounds) in buckets.items():
        h = compute(name, inp).Float64Histogram()
        assert len(h.Counts) == ncounts
        assert list(h.Buckets) == bounds, name
    assert buckets["/gc/pauses:seconds"][0] == 162
    assert buckets["/gc/heap/allocs-by-size:bytes"][0] == 68


# ------------------------------------------------------------------------ compute()

def synthetic_inputs(**over):
    """A self-consistent runtime snapshot (every MemStats identity holds)."""
    small_alloc = [0] * 68
    small_free = [0] * 68
    small_alloc[1], small_free[1] = 300, 120          # 8 B
    small_alloc[2], small_free[2] = 1107, 1000        # 16 B (includes tiny blocks)
    small_alloc[5], small_free[5] = 1000, 1000        # 48 B
    small_alloc[33], small_free[33] = 1000, 990       # 1152 B (1024 B scan objects)
    small_alloc[60], small_free[60] = 4, 1            # 18432 B
    small_alloc[67], small_free[67] = 2, 0            # 32768 B: not in BySize
    in_heap = 3 * 8192 * 64
    heap_free = 5 * 8192
    in_stacks = 262144
    in_work_bufs = 32768
    stw = TimeHistogram()
    stop = TimeHistogram()
    for cyc in range(10):
        for ns in (15000 + cyc, 60000 + 7 * cyc):     # sweep termination, mark termination
            stw.record(ns)
            stop.record(ns // 10)
    base = dict(
        tiny_alloc_count=5000, large_alloc=40960 * 1000, large_alloc_count=1000,
        small_alloc_count=small_alloc, large_free=40960 * 999, large_free_count=999,
        small_free_count=small_free,
        committed=in_heap + heap_free + in_stacks + in_work_bufs, released=3604480,
        in_heap=in_heap, in_stacks=in_stacks, in_work_bufs=in_work_bufs,
        stacks_sys=0, mspan_sys=32640, mspan_inuse=23680, mcache_sys=15704, mcache_inuse=4592,
        buckhash_sys=1444576, gc_misc_sys=1618616, other_sys=1066704,
        heap_goal=4194304, num_gc=10, num_forced_gc=7,
        heap_marked=86840, heap_scan=40000, stack_scan=8672, globals_scan=158314,
        gc_percent=100, memory_limit=(1 << 63) - 1, limiter_last_enabled_cycle=0,
        cpu_stats=CPUStats(GCAssistTime=1000, GCDedicatedTime=20000, GCIdleTime=3000,
                           GCPauseTime=4000, GCTotalTime=28000, ScavengeAssistTime=100,
                           ScavengeBgTime=200, ScavengeTotalTime=300, IdleTime=10**6,
                           UserTime=2 * 10**6, TotalTime=3_028_300),
        finalizers_queued=10, finalizers_executed=9, cleanups_queued=4, cleanups_executed=4,
        gomaxprocs=2, goroutines=7, goroutines_created=12, goroutines_running=1,
        goroutines_runnable=2, goroutines_not_in_go=0,
        stw_total_gc=stw, stw_stopping_gc=stop, stw_total_other=[5000, 7000],
        stw_stopping_other=[500, 700],
    )
    base.update(over)
    return MetricInputs(**base)


def memstats_from(inp):
    """MemStats as Go's readmemstats_m derives it from the same counters (after a flush)."""
    A = inp.large_alloc + sum(n * CLASS_TO_SIZE[c] for c, n in enumerate(inp.small_alloc_count))
    F = inp.large_free + sum(n * CLASS_TO_SIZE[c] for c, n in enumerate(inp.small_free_count))
    NA = inp.large_alloc_count + sum(inp.small_alloc_count) + inp.tiny_alloc_count
    NF = inp.large_free_count + sum(inp.small_free_count) + inp.tiny_alloc_count
    heap_in_use, heap_released = inp.in_heap, inp.released
    heap_free = inp.committed - inp.in_heap - inp.in_stacks - inp.in_work_bufs
    ms = dict(
        Alloc=A - F, TotalAlloc=A, Mallocs=NA, Frees=NF, HeapAlloc=A - F,
        HeapSys=heap_in_use + heap_free + heap_released, HeapIdle=heap_free + heap_released,
        HeapInuse=heap_in_use, HeapReleased=heap_released, HeapObjects=NA - NF,
        StackInuse=inp.in_stacks, StackSys=inp.in_stacks + inp.stacks_sys,
        MSpanInuse=inp.mspan_inuse, MSpanSys=inp.mspan_sys, MCacheInuse=inp.mcache_inuse,
        MCacheSys=inp.mcache_sys, BuckHashSys=inp.buckhash_sys,
        GCSys=inp.gc_misc_sys + inp.in_work_bufs, OtherSys=inp.other_sys, NextGC=inp.heap_goal,
        NumGC=inp.num_gc, NumForcedGC=inp.num_forced_gc,
        BySize=[(CLASS_TO_SIZE[i], inp.small_alloc_count[i], inp.small_free_count[i])
                for i in range(61)],
    )
    ms["Sys"] = (heap_in_use + heap_free + heap_released + inp.stacks_sys + inp.mspan_sys
                 + inp.mcache_sys + inp.buckhash_sys + inp.gc_misc_sys + inp.other_sys
                 + inp.in_stacks + inp.in_work_bufs)
    return ms


def read_all(inp):
    return {d.Name: compute(d.Name, inp) for d in metrics.All()}


def test_equalities_with_memstats():
    inp = synthetic_inputs()
    ms = memstats_from(inp)
    v = read_all(inp)
    u = {k: x.Uint64() for k, x in v.items() if x.Kind() == KindUint64}
    tiny = inp.tiny_alloc_count
    assert u["/gc/cycles/total:gc-cycles"] == ms["NumGC"] == 10
    assert u["/gc/cycles/forced:gc-cycles"] == ms["NumForcedGC"] == 7
    assert u["/gc/cycles/automatic:gc-cycles"] == ms["NumGC"] - ms["NumForcedGC"] == 3
    assert u["/gc/heap/allocs:bytes"] == ms["TotalAlloc"]
    assert u["/gc/heap/allocs:objects"] == ms["Mallocs"] - tiny
    assert u["/gc/heap/frees:bytes"] == ms["TotalAlloc"] - ms["HeapAlloc"]
    assert u["/gc/heap/frees:objects"] == ms["Frees"] - tiny
    assert u["/gc/heap/objects:objects"] == ms["HeapObjects"]
    assert u["/gc/heap/goal:bytes"] == ms["NextGC"]
    assert u["/gc/heap/live:bytes"] <= ms["HeapSys"]
    allocs = v["/gc/heap/allocs-by-size:bytes"].Float64Histogram()
    frees = v["/gc/heap/frees-by-size:bytes"].Float64Histogram()
    assert len(allocs.Counts) == len(frees.Counts) == 68
    assert u["/gc/heap/tiny/allocs:objects"] == ms["Mallocs"] - sum(allocs.Counts)
    for i in range(60):
        assert allocs.Counts[i] == ms["BySize"][i + 1][1]
        assert frees.Counts[i] == ms["BySize"][i + 1][2]
    assert allocs.Counts[66] == 2 and allocs.Counts[67] == 1000 and frees.Counts[67] == 999
    assert u["/memory/classes/heap/objects:bytes"] == ms["HeapAlloc"]
    assert u["/memory/classes/heap/unused:bytes"] == ms["HeapInuse"] - ms["HeapAlloc"]
    assert u["/memory/classes/heap/free:bytes"] == ms["HeapIdle"] - ms["HeapReleased"]
    assert u["/memory/classes/heap/released:bytes"] == ms["HeapReleased"]
    assert u["/memory/classes/heap/stacks:bytes"] == ms["StackInuse"]
    assert u["/memory/classes/os-stacks:bytes"] == ms["StackSys"] - ms["StackInuse"]
    assert u["/memory/classes/metadata/mspan/inuse:bytes"] == ms["MSpanInuse"]
    assert u["/memory/classes/metadata/mspan/free:bytes"] == ms["MSpanSys"] - ms["MSpanInuse"]
    assert u["/memory/classes/metadata/mcache/inuse:bytes"] == ms["MCacheInuse"]
    assert u["/memory/classes/metadata/mcache/free:bytes"] == ms["MCacheSys"] - ms["MCacheInuse"]
    assert u["/memory/classes/metadata/other:bytes"] == ms["GCSys"]
    assert u["/memory/classes/profiling/buckets:bytes"] == ms["BuckHashSys"]
    assert u["/memory/classes/other:bytes"] == ms["OtherSys"]
    assert u["/memory/classes/total:bytes"] == ms["Sys"]
    # /memory/classes/total is the sum of the leaves
    leaves = [n for n in u if n.startswith("/memory/classes/") and n != "/memory/classes/total:bytes"]
    assert sum(u[n] for n in leaves) == ms["Sys"]
    assert ms["Sys"] == (ms["HeapSys"] + ms["StackSys"] + ms["MSpanSys"] + ms["MCacheSys"]
                         + ms["BuckHashSys"] + ms["GCSys"] + ms["OtherSys"])
    assert u["/gc/scan/total:bytes"] == 40000 + 8672 + 158314
    assert u["/sched/gomaxprocs:threads"] == 2
    assert u["/sched/goroutines/waiting:goroutines"] == 7 - 3
    assert u["/gc/stack/starting-size:bytes"] == 2048
    assert u["/gc/gogc:percent"] == 100
    assert u["/gc/gomemlimit:bytes"] == 9223372036854775807


def test_pause_histograms_two_samples_per_cycle():
    # Appendix X11: 10 x runtime.GC() -> +20 samples in both pause histograms, 162 buckets.
    v = read_all(synthetic_inputs())
    p = v["/gc/pauses:seconds"].Float64Histogram()
    q = v["/sched/pauses/total/gc:seconds"].Float64Histogram()
    assert p.Counts == q.Counts and sum(p.Counts) == 20 and len(p.Counts) == 162
    assert list(p.Buckets) == time_histogram_buckets()
    # each sample is in the bucket containing it
    for ns in (15000, 60000):
        i = next(k for k in range(162) if p.Buckets[k] <= ns / 1e9 < p.Buckets[k + 1])
        assert p.Counts[i] >= 1
    other = v["/sched/pauses/total/other:seconds"].Float64Histogram()
    assert sum(other.Counts) == 2                  # a list of samples works too
    assert sum(v["/sched/pauses/stopping/gc:seconds"].Float64Histogram().Counts) == 20


def test_cpu_classes():
    inp = synthetic_inputs()
    v = read_all(inp)
    f = {k: x.Float64() for k, x in v.items() if x.Kind() == KindFloat64}
    assert f["/cpu/classes/gc/total:cpu-seconds"] == pytest.approx(
        f["/cpu/classes/gc/mark/assist:cpu-seconds"] + f["/cpu/classes/gc/mark/dedicated:cpu-seconds"]
        + f["/cpu/classes/gc/mark/idle:cpu-seconds"] + f["/cpu/classes/gc/pause:cpu-seconds"])
    assert f["/cpu/classes/total:cpu-seconds"] == pytest.approx(
        f["/cpu/classes/gc/total:cpu-seconds"] + f["/cpu/classes/scavenge/total:cpu-seconds"]
        + f["/cpu/classes/idle:cpu-seconds"] + f["/cpu/classes/user:cpu-seconds"])
    assert f["/cpu/classes/gc/pause:cpu-seconds"] == 4000 / 1e9


def test_cpu_stats_accumulate_and_gc_cpu_fraction():
    c = CPUStats()
    assert c.gc_cpu_fraction() == 0.0
    c.accumulate_gc_pause_time(100_000, 2)                 # sweep termination STW
    c.accumulate_gc_pause_time(50_000, 2)                  # mark termination STW
    c.accumulate(10_000_000, True, mark_assist=10_000, mark_dedicated=0,
                 mark_fractional=500_000, mark_idle=1_000_000, idle_time=2_000_000)
    assert c.GCPauseTime == 300_000
    assert c.GCTotalTime == 300_000 + 10_000 + 500_000 + 1_000_000
    assert c.UserTime == 10_000_000 - (c.GCTotalTime + 0 + 2_000_000)
    assert c.gc_cpu_fraction() == (c.GCTotalTime - c.GCIdleTime) / 10_000_000
    c.accumulate(20_000_000, False, mark_assist=10**9)    # outside mark: mark times ignored
    assert c.GCAssistTime == 10_000 and c.TotalTime == 20_000_000


def test_gogc_off_and_limit():
    v = read_all(synthetic_inputs(gc_percent=-1, memory_limit=64 << 20))
    assert v["/gc/gogc:percent"].Uint64() == 18446744073709551615
    assert v["/gc/gomemlimit:bytes"].Uint64() == 64 << 20


def test_fresh_runtime_reads_zero():
    v = read_all(MetricInputs())
    assert v["/gc/heap/live:bytes"].Uint64() == 0
    assert v["/gc/cycles/total:gc-cycles"].Uint64() == 0
    assert sum(v["/gc/pauses:seconds"].Float64Histogram().Counts) == 0


def test_wraparound_like_go():
    # Counters lag (no flush): frees may momentarily exceed what the histograms show; Go
    # computes in uint64, so do we.
    inp = synthetic_inputs(in_heap=0)
    assert compute("/memory/classes/heap/unused:bytes", inp).Uint64() == \
        (0 - memstats_from(inp)["HeapAlloc"]) & MAX_U64


# ------------------------------------------------------------------------ Read

@pytest.fixture
def provider():
    state = {"inp": synthetic_inputs(), "calls": 0}

    def fn():
        state["calls"] += 1
        return state["inp"]
    prev = metrics.set_input_provider(fn)
    yield state
    metrics.set_input_provider(prev)


def test_read(provider):
    s = [Sample("/gc/heap/goal:bytes"), Sample(Name="/gc/pauses:seconds"), Sample("/bogus:bytes"),
         Sample("/cpu/classes/gc/pause:cpu-seconds")]
    metrics.Read(s)
    assert provider["calls"] == 1                      # one snapshot per Read
    assert s[0].Value.Kind() == KindUint64 and s[0].Value.Uint64() == 4194304
    assert s[1].Value.Kind() == KindFloat64Histogram
    assert s[2].Value.Kind() == KindBad
    assert s[3].Value.Float64() == 4000 / 1e9
    h = s[1].Value.Float64Histogram()
    # Read reuses an existing histogram, as Go does.
    provider["inp"] = synthetic_inputs(stw_total_gc=[1, 2, 3])
    metrics.Read(s)
    assert s[1].Value.Float64Histogram() is h and sum(h.Counts) == 3
    metrics.Read([])                                    # no-op, like Go


def test_read_without_provider():
    prev = metrics.set_input_provider(None)
    try:
        assert metrics.get_input_provider() is None
        with pytest.raises(RuntimeError, match="no runtime"):
            metrics.Read([Sample("/gc/heap/goal:bytes")])
    finally:
        metrics.set_input_provider(prev)


def test_set_input_provider_returns_previous():
    a, b = (lambda: MetricInputs()), (lambda: MetricInputs())
    prev = metrics.set_input_provider(a)
    try:
        assert metrics.set_input_provider(b) is a
        assert metrics.get_input_provider() is b
    finally:
        metrics.set_input_provider(prev)
