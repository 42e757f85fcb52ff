// Command oracle is the Go half of goruntime's differential-testing corpus.
//
// Every scenario is a small Go program in the style of the appendix programs of
// shared/spec/go-runtime-1.27.md. It measures what goruntime promises to
// reproduce and prints exactly one JSON object on stdout:
//
//	oracle list          print every scenario name, one per line
//	oracle <scenario>    run one scenario
//
// tests/oracle/scenarios.py holds, for every scenario, the same program written
// against goruntime's Python API; tests/oracle/harness.py compares the two.
//
// Conventions shared by all scenarios:
//
//   - Roots are global arrays (holder [N]unsafe.Pointer lives in BSS, so filling
//     it allocates nothing on the heap), as in Appendix D.
//   - runtime.GC() runs before every baseline ReadMemStats, and the scenario
//     reports deltas, never absolute values: Go's own start-up heap is not
//     goruntime's. MemStats and metrics samples are globals, and JSON is built
//     only after the last snapshot, so the measurement allocates nothing itself.
//   - Finalizers and cleanups report by sending a constant string on a buffered
//     channel. After each runtime.GC() the scenario sleeps 1 ms at a time (at
//     most 2 s) until the runtime's queued and executed counters for finalizers
//     and cleanups agree, then drains the channel: one list per cycle.
//   - Scenarios that need their own process environment (GOGC, GOMEMLIMIT,
//     GODEBUG) or that crash on purpose (misuse) run this binary again as a
//     child process. Every scenario runs with GOMAXPROCS=1 and GOGC, GOMEMLIMIT
//     and GODEBUG unset unless its table entry says otherwise; main re-executes
//     itself to get that environment if the caller did not provide it.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"time"
	"unsafe"
	"weak"
)

type result = map[string]any

type scenario struct {
	name string
	env  map[string]string // process environment on top of baseEnv
	run  func() result
}

var scenarios = []scenario{
	// Allocator geometry and MemStats deltas.
	{"memstats_invariants", nil, memstatsInvariants},
	{"bysize_table", nil, bysizeTable},
	{"second_gc_no_change", nil, secondGCNoChange},
	{"size_classes_noscan", nil, func() result { return sizeClassSweep(false) }},
	{"size_classes_scan", nil, func() result { return sizeClassSweep(true) }},
	{"objects_per_span", nil, objectsPerSpan},
	{"header_boundary", nil, headerBoundary},
	{"large_boundary", nil, largeBoundary},
	{"memstats_deltas_noscan", nil, memstatsDeltasNoscan},
	{"memstats_deltas_scan", nil, memstatsDeltasScan},
	{"tiny_int64", nil, func() result { return tinyRow(allocN[int64]) }},
	{"tiny_byte", nil, func() result { return tinyRow(allocN[byte]) }},
	{"tiny_int32", nil, func() result { return tinyRow(allocN[int32]) }},
	{"tiny_12byte", nil, func() result { return tinyRow(allocN[[12]byte]) }},
	{"tiny_16byte", nil, func() result { return tinyRow(allocN[[16]byte]) }},
	{"tiny_ptr", nil, func() result { return tinyRow(allocN[*int]) }},
	{"zero_size", nil, zeroSize},
	{"special_allocs", nil, specialAllocs},

	// Finalizers.
	{"fin_chain", nil, finChain},
	{"fin_order", nil, finOrder},
	{"fin_weak_cleanup_timing", nil, finWeakCleanupTiming},
	{"fin_resurrect", nil, finResurrect},
	{"fin_cycles", nil, finCycles},
	{"fin_tiny", nil, finTiny},
	{"fin_interior_pointer", nil, finInteriorPointer},
	{"fin_clear_nil", nil, finClearNil},
	{"fin_metrics", nil, finMetrics},
	{"fin_closure_leak", nil, finClosureLeak},
	{"fin_sweep_order", nil, func() result { return sweepOrder(false) }},
	{"cleanup_sweep_order", nil, func() result { return sweepOrder(true) }},
	{"lazy_sweep_frees", nil, lazySweepFrees},

	// Cleanups.
	{"cleanup_order", nil, cleanupOrder},
	{"cleanup_after_finalizer", nil, cleanupAfterFinalizer},
	{"cleanup_stop", nil, cleanupStop},
	{"cleanup_multiple", nil, cleanupMultiple},
	{"cleanup_interior", nil, cleanupInterior},
	{"cleanup_metrics", nil, cleanupMetrics},

	// Weak pointers.
	{"weak_equality", nil, weakEquality},
	{"weak_finalizer", nil, weakFinalizer},
	{"weak_cleanup", nil, weakCleanup},
	{"weak_tiny", nil, weakTiny},
	{"weak_zero_size", nil, weakZeroSize},

	// Pacer: GOGC, SetGCPercent, memory limit, FreeOSMemory.
	{"gogc_goal_small", nil, func() result { return goalRows(0) }},
	{"gogc_goal_20mib", nil, func() result { return goalRows(20) }},
	{"gogc_off_goal", nil, gogcOffGoal},
	{"memlimit_goal_40mib", nil, memlimitGoal40},
	{"gogc_env_off", map[string]string{"GOGC": "off"}, gogcEnvOff},
	{"gogc_env_200", map[string]string{"GOGC": "200"}, gogcEnv},
	{"gogc_env_invalid", map[string]string{"GOGC": "abc"}, gogcEnv},
	{"gomemlimit_env_1gib", map[string]string{"GOMEMLIMIT": "1GiB"}, gogcEnv},
	{"setgcpercent_api", nil, setGCPercentAPI},
	{"setgcpercent_zero_after_gc", nil, setGCPercentZeroAfterGC},
	{"free_os_memory", nil, freeOSMemory},

	// Statistics: ReadGCStats, PauseNs ring, runtime/metrics.
	{"gcstats_ring", nil, gcstatsRing},
	{"metrics_pauses_lag", nil, metricsPausesLag},
	{"metrics_consistency", nil, metricsConsistency},

	// gctrace (a child process with GODEBUG=gctrace=1).
	{"gctrace_default", nil, func() result { return gctrace("retain", "") }},
	{"gctrace_gogc50", nil, func() result { return gctrace("retain", "50") }},
	{"gctrace_gogc_off", nil, func() result { return gctrace("retain", "off") }},
	{"gctrace_forced_idle", nil, func() result { return gctrace("idle", "") }},
	{"gctrace_large_scan", nil, gctraceLargeScan},

	// Time (issue 15, item 10): pauses, GCCPUFraction and gctrace's times.
	{"time_forced_idle", nil, func() result { return timing("idle") }},
	{"time_retain", nil, func() result { return timing("retain") }},
	{"time_goroutines", nil, func() result { return timing("goroutines") }},
	// The cost table's calibration shapes (docs/emulation.md, "Time"): one cost each.
	{"time_mark_objects", nil, func() result { return timing("objects") }},
	{"time_mark_bytes", nil, func() result { return timing("bytes") }},
	{"time_sweep_spans", nil, func() result { return timing("sweep") }},
	{"limiter_below_live", nil, limiterBelowLive},

	// What runtime.GC lets others do; MemStats while a cycle runs (issue 15, item 7).
	{"gc_lets_runnable_run", nil, gcLetsRunnableRun},
	{"fin_set_during_mark", nil, finSetDuringMark},
	{"fin_runs_before_gc_returns", nil, finRunsBeforeGCReturns},
	{"read_mem_stats_mid_cycle", nil, readMemStatsMidCycle},
	{"read_mem_stats_goroutine_mid_cycle", nil, readMemStatsGoroutineMidCycle},

	// Scan work as Go 1.27 counts it (/gc/scan/heap:bytes), on a CPU without AVX-512's
	// packed span scan (the model goruntime follows; see scanHeapWork).
	{"scan_heap_work", map[string]string{"GODEBUG": "cpu.avx512vl=off"}, scanHeapWork},

	// Goroutine stacks (issue 15, item 2).
	{"goroutine_stacks", nil, goroutineStacks},

	// Memory outside the heap (issue 15, item 5).
	{"nonheap_memory", nil, nonheapMemory},
	{"nonheap_memory_profile_off", map[string]string{"GODEBUG": "memprofilerate=0"}, nonheapMemory},

	// Process-state metrics (issue 15, item 9).
	{"process_state_metrics", nil, processStateMetrics},

	// Workloads.
	{"binary_trees_16", nil, binaryTreesScenario},
	{"gcbench", nil, gcbenchScenario},

	// Misuse: exit status and first line of a child that crashes (or not).
	{"misuse_fin_nil_obj", nil, misuse("fin_nil_obj")},
	{"misuse_fin_non_pointer", nil, misuse("fin_non_pointer")},
	{"misuse_fin_interior", nil, misuse("fin_interior")},
	{"misuse_fin_interior_small_noscan", nil, misuse("fin_interior_small_noscan")},
	{"misuse_fin_tiny_interior", nil, misuse("fin_tiny_interior")},
	{"misuse_fin_zero_size_bad_func", nil, misuse("fin_zero_size_bad_func")},
	{"misuse_fin_not_func", nil, misuse("fin_not_func")},
	{"misuse_fin_wrong_type", nil, misuse("fin_wrong_type")},
	{"misuse_fin_two_args", nil, misuse("fin_two_args")},
	{"misuse_fin_variadic", nil, misuse("fin_variadic")},
	{"misuse_fin_already_set", nil, misuse("fin_already_set")},
	{"misuse_fin_reset_after_nil", nil, misuse("fin_reset_after_nil")},
	{"misuse_cleanup_nil", nil, misuse("cleanup_nil")},
	{"misuse_cleanup_equal", nil, misuse("cleanup_equal")},
	{"misuse_cleanup_within", nil, misuse("cleanup_within")},
	{"misuse_cleanup_closure", nil, misuse("cleanup_closure")},
	{"misuse_cleanup_zero_size", nil, misuse("cleanup_zero_size")},
	{"misuse_gomemlimit_malformed", nil, misuse("gomemlimit_malformed")},
	{"misuse_chan_send_closed", nil, misuse("chan_send_closed")},
	{"misuse_chan_close_closed", nil, misuse("chan_close_closed")},
	{"misuse_deadlock", nil, misuse("deadlock")},
}

// ---------------------------------------------------------------------------
// main, environment, child processes

// baseEnv is the environment of every scenario; "" means unset.
var baseEnv = map[string]string{"GOMAXPROCS": "1", "GOGC": "", "GOMEMLIMIT": "", "GODEBUG": ""}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: oracle list | oracle <scenario>")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "list":
		for _, s := range scenarios {
			fmt.Println(s.name)
		}
		return
	case "child":
		childMain(os.Args[2:])
		return
	}
	i := slices.IndexFunc(scenarios, func(s scenario) bool { return s.name == os.Args[1] })
	if i < 0 {
		fmt.Fprintf(os.Stderr, "oracle: unknown scenario %q (try: oracle list)\n", os.Args[1])
		os.Exit(2)
	}
	sc := scenarios[i]
	want := withBase(sc.env)
	if !envMatches(want) {
		os.Exit(reexec(want))
	}
	warmUp()
	res := sc.run()
	out, err := json.Marshal(res)
	if err != nil {
		panic(err)
	}
	os.Stdout.Write(append(out, '\n'))
}

func withBase(extra map[string]string) map[string]string {
	m := map[string]string{}
	for k, v := range baseEnv {
		m[k] = v
	}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

func envMatches(want map[string]string) bool {
	for k, v := range want {
		if os.Getenv(k) != v {
			return false
		}
	}
	return true
}

// environ is os.Environ() with the keys of want replaced by want's values.
func environ(want map[string]string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if _, ok := want[k]; !ok {
			env = append(env, kv)
		}
	}
	for k, v := range want {
		if v != "" {
			env = append(env, k+"="+v)
		}
	}
	return env
}

func self() string {
	if p, err := os.Executable(); err == nil {
		return p
	}
	return os.Args[0]
}

// reexec runs this scenario again in the environment it needs, passing its
// output through, and returns the exit status.
func reexec(want map[string]string) int {
	if os.Getenv("ORACLE_REEXEC") != "" {
		fmt.Fprintln(os.Stderr, "oracle: environment still wrong after re-exec")
		return 2
	}
	cmd := exec.Command(self(), os.Args[1:]...)
	cmd.Env = append(environ(want), "ORACLE_REEXEC=1")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		fmt.Fprintln(os.Stderr, "oracle:", err)
		return 2
	}
	return 0
}

type childResult struct {
	exit           int
	stdout, stderr string
}

// runChild runs `oracle child args...` with baseEnv plus env.
func runChild(env map[string]string, args ...string) childResult {
	cmd := exec.Command(self(), append([]string{"child"}, args...)...)
	cmd.Env = environ(withBase(env))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	code := 0
	if err := cmd.Run(); err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			panic(err)
		}
		code = ee.ExitCode()
	}
	return childResult{code, stdout.String(), stderr.String()}
}

func childMain(args []string) {
	switch args[0] {
	case "misuse":
		misuseChild(args[1], len(args) > 2 && args[2] == "recover")
	case "trace":
		traceChild(args[1])
	default:
		fmt.Fprintln(os.Stderr, "oracle: unknown child", args[0])
		os.Exit(2)
	}
}

// ---------------------------------------------------------------------------
// shared measurement helpers

const N = 1000

var holder [N]unsafe.Pointer // BSS: storing into it allocates nothing

func clearHolder() {
	for i := range holder {
		holder[i] = nil
	}
}

func allocN[T any](n int) {
	for i := 0; i < n; i++ {
		holder[i] = unsafe.Pointer(new(T))
	}
}

var ms0, ms1, ms2, ms3 runtime.MemStats

func dlt(a, b uint64) int64 { return int64(b) - int64(a) }

// memDeltas is b − a for the MemStats counters goruntime must reproduce.
func memDeltas(a, b *runtime.MemStats) result {
	return result{
		"Mallocs":     dlt(a.Mallocs, b.Mallocs),
		"Frees":       dlt(a.Frees, b.Frees),
		"HeapObjects": dlt(a.HeapObjects, b.HeapObjects),
		"HeapAlloc":   dlt(a.HeapAlloc, b.HeapAlloc),
		"TotalAlloc":  dlt(a.TotalAlloc, b.TotalAlloc),
		"HeapInuse":   dlt(a.HeapInuse, b.HeapInuse),
		"NumGC":       dlt(uint64(a.NumGC), uint64(b.NumGC)),
		"NumForcedGC": dlt(uint64(a.NumForcedGC), uint64(b.NumForcedGC)),
	}
}

// bySizeDeltas lists the BySize entries whose Mallocs (or Frees) changed.
func bySizeDeltas(a, b *runtime.MemStats, frees bool) result {
	out := result{}
	for i := range a.BySize {
		x, y := a.BySize[i].Mallocs, b.BySize[i].Mallocs
		if frees {
			x, y = a.BySize[i].Frees, b.BySize[i].Frees
		}
		if x != y {
			out[strconv.Itoa(i)] = dlt(x, y)
		}
	}
	return out
}

// bySizeIndex is the BySize entry that gained at least n Mallocs, or -1.
func bySizeIndex(a, b *runtime.MemStats, n uint64) int {
	for i := range a.BySize {
		if b.BySize[i].Mallocs-a.BySize[i].Mallocs >= n {
			return i
		}
	}
	return -1
}

// Every metrics sample slice is a global, read twice by warmUp before any
// scenario starts: the first metrics.Read initialises the runtime's metric
// table and allocates histogram buffers; later reads allocate nothing.
var (
	queueSamples = []metrics.Sample{
		{Name: "/gc/finalizers/queued:finalizers"}, {Name: "/gc/finalizers/executed:finalizers"},
		{Name: "/gc/cleanups/queued:cleanups"}, {Name: "/gc/cleanups/executed:cleanups"},
	}
	tinySamples = []metrics.Sample{
		{Name: "/gc/heap/allocs:objects"}, {Name: "/gc/heap/frees:objects"},
		{Name: "/gc/heap/tiny/allocs:objects"}, {Name: "/gc/heap/objects:objects"},
		{Name: "/gc/heap/allocs:bytes"},
	}
	tinySamples2 = []metrics.Sample{
		{Name: "/gc/heap/allocs:objects"}, {Name: "/gc/heap/frees:objects"},
		{Name: "/gc/heap/tiny/allocs:objects"}, {Name: "/gc/heap/objects:objects"},
		{Name: "/gc/heap/allocs:bytes"},
	}
	histSamples  = []metrics.Sample{{Name: "/gc/heap/allocs-by-size:bytes"}}
	histSamples2 = []metrics.Sample{{Name: "/gc/heap/allocs-by-size:bytes"}}
	pacerSamples = []metrics.Sample{
		{Name: "/gc/heap/live:bytes"}, {Name: "/gc/scan/stack:bytes"}, {Name: "/gc/scan/globals:bytes"},
		{Name: "/gc/heap/goal:bytes"}, {Name: "/memory/classes/total:bytes"},
		{Name: "/memory/classes/heap/released:bytes"}, {Name: "/memory/classes/heap/free:bytes"},
		{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/gogc:percent"},
		{Name: "/gc/gomemlimit:bytes"}, {Name: "/gc/cycles/total:gc-cycles"},
	}
	pauseSamples = []metrics.Sample{
		{Name: "/gc/pauses:seconds"}, {Name: "/sched/pauses/total/gc:seconds"}, {Name: "/gc/cycles/total:gc-cycles"},
	}
	lagSamples  = []metrics.Sample{{Name: "/gc/heap/allocs:objects"}}
	consSamples = []metrics.Sample{
		{Name: "/gc/heap/allocs:bytes"}, {Name: "/gc/heap/allocs:objects"}, {Name: "/gc/heap/frees:bytes"},
		{Name: "/gc/heap/frees:objects"}, {Name: "/gc/heap/tiny/allocs:objects"}, {Name: "/gc/heap/objects:objects"},
		{Name: "/gc/heap/goal:bytes"}, {Name: "/gc/cycles/total:gc-cycles"}, {Name: "/gc/cycles/forced:gc-cycles"},
		{Name: "/gc/cycles/automatic:gc-cycles"}, {Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"}, {Name: "/memory/classes/heap/free:bytes"},
		{Name: "/memory/classes/heap/released:bytes"}, {Name: "/memory/classes/total:bytes"},
		{Name: "/sched/gomaxprocs:threads"}, {Name: "/gc/stack/starting-size:bytes"}, {Name: "/gc/gogc:percent"},
		{Name: "/gc/gomemlimit:bytes"}, {Name: "/gc/heap/allocs-by-size:bytes"}, {Name: "/gc/heap/frees-by-size:bytes"},
	}
)

func warmUp() {
	for _, s := range [][]metrics.Sample{queueSamples, tinySamples, tinySamples2, histSamples, histSamples2,
		pacerSamples, pauseSamples, lagSamples, consSamples} {
		metrics.Read(s)
		metrics.Read(s)
	}
}

func u64(s []metrics.Sample, i int) uint64 { return s[i].Value.Uint64() }

func histTotal(s metrics.Sample) (n uint64) {
	for _, c := range s.Value.Float64Histogram().Counts {
		n += c
	}
	return
}

// events receives one constant string per finalizer or cleanup run.
var events = make(chan string, 4096)

// waitQueues sleeps until every queued finalizer and cleanup has run.
func waitQueues() {
	for i := 0; i < 2000; i++ {
		metrics.Read(queueSamples)
		if u64(queueSamples, 0) == u64(queueSamples, 1) && u64(queueSamples, 2) == u64(queueSamples, 3) {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

func takeEvents() []string {
	out := []string{}
	for {
		select {
		case e := <-events:
			out = append(out, e)
		default:
			return out
		}
	}
}

// gcCycle runs one forced GC, lets the finalizer and cleanup goroutines run
// everything it queued, and returns what they reported, in order.
func gcCycle() []string {
	runtime.GC()
	waitQueues()
	return takeEvents()
}

func cycles(n int) result {
	out := result{}
	for i := 1; i <= n; i++ {
		out[fmt.Sprintf("cycle%d", i)] = gcCycle()
	}
	return out
}

// ---------------------------------------------------------------------------
// sweep order (issue 15, item 1)

type swTiny struct{ id int64 } // 8 B, no pointers: tiny blocks

type sw16 struct {
	p  *int
	id int
}

type sw48 struct {
	p  *int
	id int
	b  [32]byte
}

type sw64 struct { // 64 B, no pointers
	id int
	b  [56]byte
}

type sw256 struct {
	p  *int
	id int
	b  [240]byte
}

type swL struct { // 40000 B: a large object with pointers
	p  *int
	id int
	b  [39984]byte
}

// swOrder records, without allocating, the ids whose finalizer or cleanup ran.
var (
	swOrder  [1024]int
	nSwOrder int
)

func swRecord(id int) {
	swOrder[nSwOrder] = id
	nSwOrder++
}

// setupSweepOrder allocates 300 objects round-robin over tiny, small (16, 48, 64 and
// 256 bytes) and large (40000 bytes) classes, each with a finalizer or a cleanup
// recording its id. Every small class fits in the one span the mcache holds; the 60
// large objects are 60 spans of span class 0.
//
//go:noinline
func setupSweepOrder(cleanup bool) {
	for i := 0; i < 300; i++ {
		switch i % 10 {
		case 0, 5:
			x := &swTiny{id: int64(i)}
			if cleanup {
				runtime.AddCleanup(x, swRecord, i)
			} else {
				runtime.SetFinalizer(x, func(x *swTiny) { swRecord(int(x.id)) })
			}
		case 1, 6:
			x := &sw16{id: i}
			if cleanup {
				runtime.AddCleanup(x, swRecord, i)
			} else {
				runtime.SetFinalizer(x, func(x *sw16) { swRecord(x.id) })
			}
		case 2, 7:
			x := &swL{id: i}
			if cleanup {
				runtime.AddCleanup(x, swRecord, i)
			} else {
				runtime.SetFinalizer(x, func(x *swL) { swRecord(x.id) })
			}
		case 3, 8:
			x := &sw48{id: i}
			if cleanup {
				runtime.AddCleanup(x, swRecord, i)
			} else {
				runtime.SetFinalizer(x, func(x *sw48) { swRecord(x.id) })
			}
		case 4:
			x := &sw64{id: i}
			if cleanup {
				runtime.AddCleanup(x, swRecord, i)
			} else {
				runtime.SetFinalizer(x, func(x *sw64) { swRecord(x.id) })
			}
		case 9:
			x := &sw256{id: i}
			if cleanup {
				runtime.AddCleanup(x, swRecord, i)
			} else {
				runtime.SetFinalizer(x, func(x *sw256) { swRecord(x.id) })
			}
		}
	}
}

// sweepOrder: the order of finalizers (or cleanups) over tiny, small and large
// classes after runtime.GC() with one P: the mcache flush sweeps the cached spans in
// span class order, then runtime.GC's sweepone (one span, Gosched) and bgsweep (ten
// spans, then yield) take turns; the finalizer goroutine runs each batch newest
// first, the cleanup goroutine takes full 20-entry blocks newest first.
func sweepOrder(cleanup bool) result {
	runtime.GC()
	nSwOrder = 0
	setupSweepOrder(cleanup)
	out := result{}
	for c := 1; c <= 2; c++ {
		runtime.GC()
		waitQueues()
		ids := make([]int, nSwOrder)
		copy(ids, swOrder[:nSwOrder])
		nSwOrder = 0
		out[fmt.Sprintf("cycle%d", c)] = ids
	}
	return out
}

var (
	lazyCycles = []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	lazyMs     [3]runtime.MemStats
	lazySink   *sw16
)

//go:noinline
func lazyGarbage() {
	for i := 0; i < 1000; i++ {
		lazySink256 = &sw256{id: i}
	}
	lazySink256 = nil
}

var lazySink256 *sw256

// lazySweepFrees: a heap-triggered cycle sweeps lazily (issue 15, item 1). 1000 dead
// 256-byte objects are left behind; 16-byte garbage is allocated until the next cycle
// completes (read from /gc/cycles/total, which neither stops the world nor sweeps).
// Right after it, the 256-byte spans are not swept yet: their frees do not show
// (BySize, Frees, HeapObjects); after runtime.GC() they do.
func lazySweepFrees() result {
	runtime.GC()
	lazyGarbage()
	runtime.ReadMemStats(&lazyMs[0])
	metrics.Read(lazyCycles)
	n0 := lazyCycles[0].Value.Uint64()
	allocs := 0
	for lazyCycles[0].Value.Uint64() == n0 {
		for k := 0; k < 64; k++ {
			lazySink = &sw16{id: k}
		}
		allocs += 64
		metrics.Read(lazyCycles)
	}
	runtime.ReadMemStats(&lazyMs[1])
	runtime.GC()
	runtime.ReadMemStats(&lazyMs[2])
	c := slices.IndexFunc(lazyMs[0].BySize[:], func(b struct {
		Size    uint32
		Mallocs uint64
		Frees   uint64
	}) bool {
		return b.Size == 256
	})
	return result{
		"cycles":                  lazyMs[1].NumGC - lazyMs[0].NumGC,
		"after_cycle.frees256":    lazyMs[1].BySize[c].Frees - lazyMs[0].BySize[c].Frees,
		"after_gc.frees256":       lazyMs[2].BySize[c].Frees - lazyMs[0].BySize[c].Frees,
		"after_cycle.dead_still_counted256": lazyMs[1].BySize[c].Mallocs - lazyMs[1].BySize[c].Frees - (lazyMs[2].BySize[c].Mallocs - lazyMs[2].BySize[c].Frees),
	}
}

var names = [...]string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}

// ---------------------------------------------------------------------------
// allocator geometry and MemStats deltas

// memstatsInvariants: Appendix X13 and TestMemStats, at start-up and after one GC.
func memstatsInvariants() result {
	runtime.ReadMemStats(&ms0)
	runtime.GC()
	runtime.ReadMemStats(&ms1)
	inv := func(m *runtime.MemStats) result {
		var sum uint64
		for _, p := range m.PauseNs {
			sum += p
		}
		return result{
			"Sys_eq_sum_of_XSys":       m.Sys == m.HeapSys+m.StackSys+m.MSpanSys+m.MCacheSys+m.BuckHashSys+m.GCSys+m.OtherSys,
			"HeapIdle_plus_HeapInuse":  m.HeapIdle+m.HeapInuse == m.HeapSys,
			"HeapObjects_eq_M_minus_F": m.HeapObjects == m.Mallocs-m.Frees,
			"Alloc_eq_HeapAlloc":       m.Alloc == m.HeapAlloc,
			"HeapReleased_le_HeapIdle": m.HeapReleased <= m.HeapIdle,
			"LastGC_eq_PauseEnd_last":  m.LastGC == m.PauseEnd[(m.NumGC+255)%256],
			"LastGC_is_zero":           m.LastGC == 0,
			"PauseTotalNs_eq_sum":      m.PauseTotalNs == sum,
			"GCCPUFraction_is_zero":    m.GCCPUFraction == 0,
			"Lookups":                  m.Lookups,
			"EnableGC":                 m.EnableGC,
			"DebugGC":                  m.DebugGC,
			"NumGC":                    m.NumGC,
			"NumForcedGC":              m.NumForcedGC,
			"NextGC":                   m.NextGC,
			"len_BySize":               len(m.BySize),
		}
	}
	return result{"start": inv(&ms0), "after_gc": inv(&ms1)}
}

func bysizeTable() result {
	runtime.ReadMemStats(&ms0)
	sizes := []uint32{}
	for _, b := range ms0.BySize {
		sizes = append(sizes, b.Size)
	}
	return result{"len": len(ms0.BySize), "Size": sizes}
}

// secondGCNoChange: §2.4, a second runtime.GC() with no work in between.
func secondGCNoChange() result {
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	runtime.GC()
	runtime.ReadMemStats(&ms1)
	return memDeltas(&ms0, &ms1)
}

var classToSize = [68]int{0, 8, 16, 24, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240, 256,
	288, 320, 352, 384, 416, 448, 480, 512, 576, 640, 704, 768, 896, 1024, 1152, 1280,
	1408, 1536, 1792, 2048, 2304, 2688, 3072, 3200, 3456, 4096, 4864, 5376, 6144, 6528,
	6784, 6912, 8192, 9472, 9728, 10240, 10880, 12288, 13568, 14336, 16384, 18432,
	19072, 20480, 21760, 24576, 27264, 28672, 32768}

// sweepSizes: for every size class, the largest request that fits it and the
// next possible request (one byte more for noscan, one word more for scan).
// Scan requests above 512 bytes carry an 8-byte malloc header, so their
// largest fitting request is the class size − 8. Noscan requests below 16 bytes
// are tiny and have their own scenarios.
func sweepSizes(scan bool) []int {
	var sizes []int
	for c := 1; c < len(classToSize); c++ {
		b, step := classToSize[c], 1
		if scan {
			step = 8
			if b > 512 {
				b -= 8
			}
		} else if b < 16 {
			continue
		}
		sizes = append(sizes, b, b+step)
	}
	slices.Sort(sizes)
	return slices.Compact(sizes)
}

func allocBytes(n int, scan bool) unsafe.Pointer {
	if scan {
		return unsafe.Pointer(unsafe.SliceData(make([]*int, n/8)))
	}
	return unsafe.Pointer(unsafe.SliceData(make([]byte, n)))
}

// sizeClassSweep: 64 slices of every swept size; the slot size is the
// HeapAlloc delta per object and the class is the BySize entry that gained
// 64 Mallocs (-1: classes 61..67 and large objects are not in BySize).
func sizeClassSweep(scan bool) result {
	const K = 64
	out := result{}
	for _, n := range sweepSizes(scan) {
		clearHolder()
		runtime.GC()
		runtime.ReadMemStats(&ms0)
		for i := 0; i < K; i++ {
			holder[i] = allocBytes(n, scan)
		}
		runtime.ReadMemStats(&ms1)
		out[strconv.Itoa(n)] = result{
			"slot":   dlt(ms0.HeapAlloc, ms1.HeapAlloc) / K,
			"bysize": bySizeIndex(&ms0, &ms1, K),
		}
	}
	clearHolder()
	return out
}

const NS = 4096

var spanHolder [NS]unsafe.Pointer

type S8 struct{ p *int }
type S16 struct{ p, q *int }
type S24 struct{ p, q, r *int }
type S512 struct {
	p *int
	b [504]byte
}
type S520 struct {
	p *int
	b [512]byte
}

// perSpan: Appendix X4, the most objects found in one 8 KiB page and the
// highest object offset in that page.
func perSpan[T any]() result {
	for i := range spanHolder {
		spanHolder[i] = nil
	}
	runtime.GC()
	for i := range spanHolder {
		spanHolder[i] = unsafe.Pointer(new(T))
	}
	perPage := map[uintptr]int{}
	maxOff := map[uintptr]uintptr{}
	for _, p := range spanHolder {
		base := uintptr(p) &^ 8191
		perPage[base]++
		maxOff[base] = max(maxOff[base], uintptr(p)-base)
	}
	best, bestOff := 0, uintptr(0)
	for b, n := range perPage {
		if n > best || n == best && maxOff[b] > bestOff {
			best, bestOff = n, maxOff[b]
		}
	}
	return result{"max_per_span": best, "max_offset": bestOff}
}

func objectsPerSpan() result {
	r := result{
		"scan8":      perSpan[S8](),
		"noscan16":   perSpan[[16]byte](),
		"scan16":     perSpan[S16](),
		"noscan24":   perSpan[[24]byte](),
		"scan24":     perSpan[S24](),
		"noscan512":  perSpan[[512]byte](),
		"scan512":    perSpan[S512](),
		"noscan520":  perSpan[[520]byte](),
		"scan520":    perSpan[S520](),
		"noscan1024": perSpan[[1024]byte](),
	}
	for i := range spanHolder {
		spanHolder[i] = nil
	}
	return r
}

// boundaryRow: n objects of T; slot size, BySize entry, HeapInuse delta and
// allocs-by-size bucket, then drop + GC: frees.
func boundaryRow[T any](n int) result {
	clearHolder()
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	metrics.Read(histSamples)
	allocN[T](n)
	runtime.ReadMemStats(&ms1) // flushes the mcaches, so the histogram is current too
	metrics.Read(histSamples2)
	clearHolder()
	runtime.GC()
	runtime.ReadMemStats(&ms2)
	h0, h1 := histSamples[0].Value.Float64Histogram(), histSamples2[0].Value.Float64Histogram()
	bucket := -1
	for i := range h1.Counts {
		if h1.Counts[i]-h0.Counts[i] >= uint64(n) {
			bucket = i
		}
	}
	lower := -1.0
	if bucket >= 0 {
		lower = h1.Buckets[bucket]
	}
	return result{
		"Mallocs":            dlt(ms0.Mallocs, ms1.Mallocs),
		"slot":               dlt(ms0.HeapAlloc, ms1.HeapAlloc) / int64(n),
		"bysize":             bySizeIndex(&ms0, &ms1, uint64(n)),
		"HeapInuse":          dlt(ms0.HeapInuse, ms1.HeapInuse),
		"alloc_bucket":       bucket,
		"alloc_bucket_lower": lower,
		"after_gc.Frees":     dlt(ms1.Frees, ms2.Frees),
		"after_gc.HeapAlloc": dlt(ms0.HeapAlloc, ms2.HeapAlloc),
		"after_gc.HeapInuse": dlt(ms0.HeapInuse, ms2.HeapInuse),
	}
}

type H512 struct {
	p *int
	b [504]byte
}
type H513 struct { // unsafe.Sizeof == 520
	p *int
	b [505]byte
}
type H1024 struct {
	p *int
	b [1016]byte
}
type H18432 struct {
	p *int
	b [18424]byte
}

// headerBoundary: §1.6, the 8-byte malloc header of scan objects > 512 B.
func headerBoundary() result {
	const n = 100
	return result{
		"noscan512":   boundaryRow[[512]byte](n),
		"noscan513":   boundaryRow[[513]byte](n),
		"noscan1024":  boundaryRow[[1024]byte](n),
		"noscan18432": boundaryRow[[18432]byte](n),
		"scan512":     boundaryRow[H512](n),
		"scan520":     boundaryRow[H513](n),
		"scan1024":    boundaryRow[H1024](n),
		"scan18432":   boundaryRow[H18432](n),
	}
}

type L32752 struct {
	p *int
	b [32744]byte
}
type L32760 struct {
	p *int
	b [32752]byte
}
type L32768 struct {
	p *int
	b [32760]byte
}
type L40000 struct {
	p *int
	b [39992]byte
}

// largeBoundary: §1.7 and Appendix X10, requests > 32760 bytes are large.
// 64 objects of each: 64 × 40960 bytes stays below the first heap trigger.
func largeBoundary() result {
	const n = 64
	return result{
		"noscan32760": boundaryRow[[32760]byte](n),
		"noscan32761": boundaryRow[[32761]byte](n),
		"noscan32768": boundaryRow[[32768]byte](n),
		"noscan40000": boundaryRow[[40000]byte](n),
		"scan32752":   boundaryRow[L32752](n),
		"scan32760":   boundaryRow[L32760](n),
		"scan32768":   boundaryRow[L32768](n),
		"scan40000":   boundaryRow[L40000](n),
	}
}

type P8 struct{ p *int }
type P24 struct {
	p *int
	b [16]byte
}
type P48 struct {
	p *int
	b [40]byte
}
type P100 struct { // unsafe.Sizeof == 104
	p *int
	b [92]byte
}
type P1024 struct {
	p *int
	b [1016]byte
}
type P40000 struct {
	p *int
	b [39992]byte
}

// deltaRow: Appendix D, 1000 objects, then drop + GC + GC.
func deltaRow(alloc func(int)) result {
	clearHolder()
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	alloc(N)
	runtime.ReadMemStats(&ms1)
	clearHolder()
	runtime.GC()
	runtime.ReadMemStats(&ms2)
	runtime.GC()
	runtime.ReadMemStats(&ms3)
	return result{
		"alloc":          memDeltas(&ms0, &ms1),
		"gc1":            memDeltas(&ms0, &ms2),
		"gc2":            memDeltas(&ms0, &ms3),
		"BySize.Mallocs": bySizeDeltas(&ms0, &ms1, false),
		"BySize.Frees":   bySizeDeltas(&ms0, &ms3, true),
	}
}

func memstatsDeltasNoscan() result {
	return result{
		"8":     deltaRow(allocN[[8]byte]),
		"24":    deltaRow(allocN[[24]byte]),
		"48":    deltaRow(allocN[[48]byte]),
		"100":   deltaRow(allocN[[100]byte]),
		"1024":  deltaRow(allocN[[1024]byte]),
		"40000": deltaRow(allocN[[40000]byte]),
	}
}

func memstatsDeltasScan() result {
	return result{
		"8":     deltaRow(allocN[P8]),
		"24":    deltaRow(allocN[P24]),
		"48":    deltaRow(allocN[P48]),
		"104":   deltaRow(allocN[P100]),
		"1024":  deltaRow(allocN[P1024]),
		"40000": deltaRow(allocN[P40000]),
	}
}

// tinyRow: Appendix E, 1000 allocations; MemStats and runtime/metrics deltas
// and how the objects share 16-byte blocks.
func tinyRow(alloc func(int)) result {
	clearHolder()
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms0) // also flushes the mcaches: the next tiny request starts a block
	metrics.Read(tinySamples)
	alloc(N)
	runtime.ReadMemStats(&ms1)
	metrics.Read(tinySamples2)
	blocks := map[uintptr]bool{}
	for _, p := range holder {
		blocks[uintptr(p)&^15] = true
	}
	first := []int{}
	for _, p := range holder[:6] {
		first = append(first, int(uintptr(p)%16))
	}
	m := result{}
	for i, s := range tinySamples {
		m[s.Name] = dlt(u64(tinySamples, i), u64(tinySamples2, i))
	}
	d := memDeltas(&ms0, &ms1)
	// Appendix E reports neither: HeapInuse depends on the class-2 spans Go's
	// start-up left partly filled, and no GC runs between the snapshots.
	delete(d, "HeapInuse")
	delete(d, "NumGC")
	delete(d, "NumForcedGC")
	clearHolder()
	return result{
		"memstats":            d,
		"BySize2.Mallocs":     dlt(ms0.BySize[2].Mallocs, ms1.BySize[2].Mallocs),
		"metrics":             m,
		"distinct_16B_blocks": len(blocks),
		"first6_addr_mod16":   first,
	}
}

type emptyT struct{}

var zeroSlices [100][]int

// zeroSize: §1.9, zero-size allocations return &zerobase.
func zeroSize() result {
	const n = 100
	distinct := func() int {
		m := map[unsafe.Pointer]bool{}
		for _, p := range holder[:n] {
			m[p] = true
		}
		return len(m)
	}
	clearHolder()
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	allocN[emptyT](n)
	runtime.ReadMemStats(&ms1)
	d1 := distinct()
	allocN[[0]int](n)
	runtime.ReadMemStats(&ms2)
	d2 := distinct()
	for i := range zeroSlices {
		zeroSlices[i] = make([]int, 0)
	}
	runtime.ReadMemStats(&ms3)
	clearHolder()
	return result{
		"struct0.Mallocs":   dlt(ms0.Mallocs, ms1.Mallocs),
		"struct0.HeapAlloc": dlt(ms0.HeapAlloc, ms1.HeapAlloc),
		"struct0.distinct":  d1,
		"array0.Mallocs":    dlt(ms1.Mallocs, ms2.Mallocs),
		"array0.distinct":   d2,
		"slice0.Mallocs":    dlt(ms2.Mallocs, ms3.Mallocs),
	}
}

type xT struct {
	p *int
	v int
}

var xObjs [N]*xT
var xWeak [N]weak.Pointer[xT]

func xFin(*xT) {}

// specialAllocs: Appendix X14, heap allocations made by SetFinalizer,
// AddCleanup and weak.Make themselves (1000 calls each).
func specialAllocs() result {
	measure := func(f func(i int)) result {
		for i := range xObjs {
			xObjs[i] = &xT{v: i}
		}
		runtime.GC()
		runtime.ReadMemStats(&ms0)
		for i := range xObjs {
			f(i)
		}
		runtime.ReadMemStats(&ms1)
		return result{
			"Mallocs":         dlt(ms0.Mallocs, ms1.Mallocs),
			"HeapAlloc":       dlt(ms0.HeapAlloc, ms1.HeapAlloc),
			"BySize2.Mallocs": dlt(ms0.BySize[2].Mallocs, ms1.BySize[2].Mallocs),
		}
	}
	r := result{
		"SetFinalizer":      measure(func(i int) { runtime.SetFinalizer(xObjs[i], xFin) }),
		"AddCleanup_int":    measure(func(i int) { runtime.AddCleanup(xObjs[i], func(int) {}, i) }),
		"AddCleanup_string": measure(func(i int) { runtime.AddCleanup(xObjs[i], func(string) {}, "x") }),
		"weak.Make":         measure(func(i int) { xWeak[i] = weak.Make(xObjs[i]) }),
		"weak.Make_twice":   measure(func(i int) { xWeak[i] = weak.Make(xObjs[i]); xWeak[i] = weak.Make(xObjs[i]) }),
	}
	for i := range xObjs {
		xObjs[i] = nil
	}
	return r
}

// ---------------------------------------------------------------------------
// finalizers

type chainB struct {
	id  int
	pad *int // pointerful: not tiny
}
type chainA struct {
	id int
	b  *chainB
}

//go:noinline
func setupChain() {
	b := &chainB{id: 2}
	a := &chainA{id: 1, b: b}
	runtime.SetFinalizer(b, func(*chainB) { events <- "B" })
	runtime.SetFinalizer(a, func(a *chainA) {
		if a.b != nil && a.b.id == 2 {
			events <- "A (a.b intact)"
		} else {
			events <- "A (a.b lost)"
		}
	})
}

// finChain: Appendix A, A → B both finalizable: A at GC1, B at GC2.
func finChain() result {
	setupChain()
	return cycles(3)
}

type ordT struct {
	p  *int
	id int
}

//go:noinline
func setupOrder() {
	for i := 0; i < 10; i++ {
		t := &ordT{id: i}
		runtime.SetFinalizer(t, func(t *ordT) { events <- names[t.id] })
	}
}

// finOrder: Appendix X8, finalizers run in reverse queue order.
func finOrder() result {
	runtime.GC()
	setupOrder()
	return cycles(2)
}

var wX8 weak.Pointer[ordT]

//go:noinline
func setupX8() {
	t := &ordT{id: 99}
	wX8 = weak.Make(t)
	runtime.AddCleanup(t, func(int) {
		if wX8.Value() == nil {
			events <- "cleanup (weak nil)"
		} else {
			events <- "cleanup (weak live)"
		}
	}, 0)
	runtime.SetFinalizer(t, func(*ordT) {
		if wX8.Value() == nil {
			events <- "finalizer (weak nil)"
		} else {
			events <- "finalizer (weak live)"
		}
	})
}

// finWeakCleanupTiming: Appendix X8, weak pointer + finalizer + cleanup on one
// object: weak nil at GC1 (before the finalizer runs), cleanup at GC2.
func finWeakCleanupTiming() result {
	setupX8()
	out := result{}
	for i := 1; i <= 3; i++ {
		runtime.GC()
		out[fmt.Sprintf("gc%d.weak_nil_before_drain", i)] = wX8.Value() == nil
		waitQueues()
		out[fmt.Sprintf("gc%d.events", i)] = takeEvents()
	}
	return out
}

type resObj struct {
	id  int
	ptr *int
}

var (
	resSaved   *resObj
	resCount   int
	resRearm   bool
	resWBefore weak.Pointer[resObj]
)

func resFin(o *resObj) {
	resCount++
	resSaved = o // resurrect
	events <- "finalizer"
	if resRearm {
		runtime.SetFinalizer(o, resFin)
	}
}

//go:noinline
func setupResurrect() {
	o := &resObj{id: 42}
	resWBefore = weak.Make(o)
	runtime.AddCleanup(o, func(int) { events <- "cleanup" }, o.id)
	runtime.SetFinalizer(o, resFin)
}

// finResurrect: Appendix B, resurrection, weak pointers around it, re-arming.
func finResurrect() result {
	out := result{}
	gc := func(label string) {
		ev := gcCycle()
		out[label] = result{
			"events":          ev,
			"saved":           resSaved != nil,
			"fin_count":       resCount,
			"w_before_is_nil": resWBefore.Value() == nil,
		}
	}
	setupResurrect()
	gc("gc1")
	wAfter := weak.Make(resSaved)
	out["w_after_eq_w_before"] = wAfter == resWBefore
	resSaved = nil
	gc("gc2")
	out["gc2.w_after_is_nil"] = wAfter.Value() == nil

	resRearm = true
	resCount = 0
	setupResurrect()
	gc("gc3")
	resSaved = nil
	gc("gc4")
	resSaved = nil
	resRearm = false
	gc("gc5")
	resSaved = nil
	gc("gc6")
	return out
}

type cNode struct {
	id   int
	next *cNode
}

var cNames = [...]string{"A", "B", "S", "C", "D", "E", "F"}
var wTwo, wSelf, wOne, wClean weak.Pointer[cNode]

func cFin(n *cNode) { events <- "finalizer " + cNames[n.id] }

//go:noinline
func setupCycles() {
	// Two-node cycle, both with finalizers.
	a := &cNode{id: 0}
	b := &cNode{id: 1, next: a}
	a.next = b
	runtime.SetFinalizer(a, cFin)
	runtime.SetFinalizer(b, cFin)
	wTwo = weak.Make(a)
	// Self-cycle with a finalizer.
	s := &cNode{id: 2}
	s.next = s
	runtime.SetFinalizer(s, cFin)
	wSelf = weak.Make(s)
	// Two-node cycle, only one finalizer.
	c := &cNode{id: 3}
	d := &cNode{id: 4, next: c}
	c.next = d
	runtime.SetFinalizer(c, cFin)
	wOne = weak.Make(c)
	// Two-node cycle with cleanups: collected.
	e := &cNode{id: 5}
	f := &cNode{id: 6, next: e}
	e.next = f
	runtime.AddCleanup(e, func(id int) { events <- "cleanup " + cNames[id] }, 5)
	runtime.AddCleanup(f, func(id int) { events <- "cleanup " + cNames[id] }, 6)
	wClean = weak.Make(e)
}

// finCycles: Appendix C, cycles with finalizers leak, self-loops do not,
// cycles with cleanups are collected.
func finCycles() result {
	setupCycles()
	out := cycles(5)
	out["weak_nil.two_cycle_both_fin"] = wTwo.Value() == nil
	out["weak_nil.self_cycle_fin"] = wSelf.Value() == nil
	out["weak_nil.two_cycle_one_fin"] = wOne.Value() == nil
	out["weak_nil.two_cycle_cleanups"] = wClean.Value() == nil
	return out
}

var keepA *int64

//go:noinline
func setupTiny() bool {
	a := new(int64)
	b := new(int64)
	same := uintptr(unsafe.Pointer(a))&^15 == uintptr(unsafe.Pointer(b))&^15
	runtime.SetFinalizer(b, func(*int64) { events <- "finalizer(b)" })
	keepA = a
	return same
}

// finTiny: Appendix X6, a finalizer on a tiny object waits for its block.
func finTiny() result {
	runtime.GC() // start from a clean tiny block
	out := result{"same_block": setupTiny()}
	for i := 1; i <= 3; i++ {
		out[fmt.Sprintf("cycle%d", i)] = gcCycle()
	}
	keepA = nil
	for i := 4; i <= 5; i++ {
		out[fmt.Sprintf("cycle%d", i)] = gcCycle()
	}
	return out
}

type intT struct {
	p *int
	v int
}

var interiorBase uintptr
var interiorOffsets = make(chan uintptr, 4)

//go:noinline
func setupInterior() {
	t := &intT{}
	interiorBase = uintptr(unsafe.Pointer(t))
	// &t.v is an *int: pointer-free and < 16 bytes, so the interior pointer is accepted.
	runtime.SetFinalizer(&t.v, func(p *int) {
		interiorOffsets <- uintptr(unsafe.Pointer(p)) - interiorBase
		events <- "finalizer(&t.v)"
	})
}

// finInteriorPointer: §5.1 step 6, a finalizer on an interior pointer runs
// when the whole object dies and receives the interior pointer.
func finInteriorPointer() result {
	setupInterior()
	out := cycles(2)
	offs := []int{}
	for len(interiorOffsets) > 0 {
		offs = append(offs, int(<-interiorOffsets))
	}
	out["arg_offsets"] = offs
	return out
}

var wCleared weak.Pointer[ordT]

//go:noinline
func setupClear() {
	t1 := &ordT{id: 1}
	runtime.SetFinalizer(t1, func(*ordT) { events <- "t1" })
	runtime.SetFinalizer(t1, nil)
	runtime.SetFinalizer(t1, nil) // no finalizer: still fine
	wCleared = weak.Make(t1)
	t2 := &ordT{id: 2}
	runtime.SetFinalizer(t2, func(*ordT) { events <- "t2 (first)" })
	runtime.SetFinalizer(t2, nil)
	runtime.SetFinalizer(t2, func(*ordT) { events <- "t2 (re-set)" })
}

// finClearNil: SetFinalizer(p, nil) removes the finalizer; the object dies at
// the first GC like any other; a new finalizer may be set afterwards.
func finClearNil() result {
	setupClear()
	out := result{}
	runtime.GC()
	out["gc1.t1_weak_nil"] = wCleared.Value() == nil
	waitQueues()
	out["cycle1"] = takeEvents()
	out["cycle2"] = gcCycle()
	return out
}

//go:noinline
func setupFinMetrics() {
	for i := 0; i < 10; i++ {
		t := &ordT{id: i}
		runtime.SetFinalizer(t, func(*ordT) {})
	}
}

// finMetrics: TestReadMetricsFinalizers; the finalized objects are freed
// one cycle after their finalizers ran.
func finMetrics() result {
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	metrics.Read(queueSamples)
	q0, e0 := u64(queueSamples, 0), u64(queueSamples, 1)
	setupFinMetrics()
	runtime.GC()
	waitQueues()
	runtime.ReadMemStats(&ms1)
	q1, e1 := u64(queueSamples, 0), u64(queueSamples, 1)
	runtime.GC()
	waitQueues()
	runtime.ReadMemStats(&ms2)
	q2, e2 := u64(queueSamples, 0), u64(queueSamples, 1)
	return result{
		"gc1.queued":   q1 - q0,
		"gc1.executed": e1 - e0,
		"gc1.Frees":    dlt(ms0.Frees, ms1.Frees),
		"gc2.queued":   q2 - q0,
		"gc2.executed": e2 - e0,
		"gc2.Frees":    dlt(ms0.Frees, ms2.Frees),
	}
}

var wLeak weak.Pointer[ordT]

//go:noinline
func setupClosureLeak() {
	t := &ordT{id: 7}
	wLeak = weak.Make(t)
	runtime.SetFinalizer(t, func(*ordT) {
		_ = t.id // the closure captures t: the finalizer keeps its own object alive
		events <- "finalizer"
	})
}

// finClosureLeak: §5.3, a finalizer closure that captures its object leaks.
func finClosureLeak() result {
	setupClosureLeak()
	out := cycles(3)
	out["weak_nil"] = wLeak.Value() == nil
	return out
}

// ---------------------------------------------------------------------------
// cleanups

//go:noinline
func setupCleanupOrder() {
	for i := 0; i < 10; i++ {
		t := &ordT{id: i}
		runtime.AddCleanup(t, func(id int) { events <- names[id] }, i)
	}
}

// cleanupOrder: Appendix X8 (clorder), cleanups on objects 0..9.
func cleanupOrder() result {
	runtime.GC()
	setupCleanupOrder()
	return cycles(2)
}

//go:noinline
func setupCleanupAfterFinalizer() {
	t := &ordT{id: 1}
	runtime.AddCleanup(t, func(int) { events <- "cleanup" }, 0)
	runtime.SetFinalizer(t, func(*ordT) { events <- "finalizer" })
}

// cleanupAfterFinalizer: TestCleanupAfterFinalizer.
func cleanupAfterFinalizer() result {
	setupCleanupAfterFinalizer()
	return cycles(3)
}

var clStop [5]runtime.Cleanup

//go:noinline
func setupCleanupStop() {
	t := &ordT{id: 0}
	for i := 0; i < 5; i++ {
		clStop[i] = runtime.AddCleanup(t, func(id int) { events <- names[id] }, i)
	}
	clStop[1].Stop()
	clStop[1].Stop() // idempotent
	clStop[3].Stop()
	runtime.KeepAlive(t) // Stop needs ptr reachable to be guaranteed
}

// cleanupStop: TestCleanupStopinterleavedMultiple, TestCleanupStopAfterCleanupRuns.
func cleanupStop() result {
	setupCleanupStop()
	out := cycles(2)
	clStop[0].Stop() // after it ran: harmless
	out["stop_after_run"] = "ok"
	return out
}

//go:noinline
func setupCleanupMultiple() {
	t := &ordT{id: 0}
	cl := func(v int) {
		if v == 97531 {
			events <- "97531"
		} else {
			events <- names[v]
		}
	}
	runtime.AddCleanup(t, cl, 97531)
	runtime.AddCleanup(t, cl, 2)
	runtime.AddCleanup(t, cl, 3)
}

// cleanupMultiple: TestCleanup and TestCleanupMultiple.
func cleanupMultiple() result {
	setupCleanupMultiple()
	return cycles(2)
}

type ciT struct {
	a, b, c int
	p       *int
}

//go:noinline
func setupCleanupInterior() {
	t := &ciT{}
	runtime.AddCleanup(&t.a, func(id int) { events <- names[id] }, 0)
	runtime.AddCleanup(&t.b, func(id int) { events <- names[id] }, 1)
	runtime.AddCleanup(&t.c, func(id int) { events <- names[id] }, 2)
}

// cleanupInterior: TestCleanupInteriorPointer.
func cleanupInterior() result {
	setupCleanupInterior()
	return cycles(2)
}

//go:noinline
func setupCleanupMetrics() {
	for i := 0; i < 10; i++ {
		t := &ordT{id: i}
		runtime.AddCleanup(t, func(int) {}, i)
	}
}

// cleanupMetrics: TestReadMetricsCleanups.
func cleanupMetrics() result {
	runtime.GC()
	metrics.Read(queueSamples)
	q0, e0 := u64(queueSamples, 2), u64(queueSamples, 3)
	setupCleanupMetrics()
	runtime.GC()
	waitQueues()
	q1, e1 := u64(queueSamples, 2), u64(queueSamples, 3)
	runtime.GC()
	waitQueues()
	q2, e2 := u64(queueSamples, 2), u64(queueSamples, 3)
	return result{
		"gc1.queued": q1 - q0, "gc1.executed": e1 - e0,
		"gc2.queued": q2 - q0, "gc2.executed": e2 - e0,
	}
}

// ---------------------------------------------------------------------------
// weak pointers

type wT struct {
	a *int
	b int
	c int
}

var (
	wObj, wOther weak.Pointer[wT]
	wObjB        weak.Pointer[int]
)

// handleOf is the handle cell a weak pointer refers to (weak.Pointer is one
// word), so that weak pointers of different types can be compared.
func handleOf[T any](w weak.Pointer[T]) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&w)) }

//go:noinline
func setupWeakEquality() result {
	t := &wT{}
	t2 := &wT{}
	w1, w2 := weak.Make(t), weak.Make(t)
	wb1, wb2 := weak.Make(&t.b), weak.Make(&t.b)
	wc := weak.Make(&t.c)
	wObj, wObjB, wOther = w1, wb1, weak.Make(t2)
	return result{
		"same_object_equal":     w1 == w2,
		"same_field_equal":      wb1 == wb2,
		"field_vs_object_equal": handleOf(wb1) == handleOf(w1),
		"b_vs_c_equal":          wb1 == wc,
		"other_object_equal":    wObj == wOther,
		"value_is_object":       w1.Value() == t,
		"value_is_field":        wb1.Value() == &t.b,
		"nil_eq_zero":           weak.Make[wT](nil) == weak.Pointer[wT]{},
		"nil_value_is_nil":      weak.Make[wT](nil).Value() == nil,
	}
}

// weakEquality: TestPointerEquality, canonical handles per (object, offset).
func weakEquality() result {
	out := setupWeakEquality()
	runtime.GC()
	out["after_gc.object_nil"] = wObj.Value() == nil
	out["after_gc.field_nil"] = wObjB.Value() == nil
	out["after_gc.other_nil"] = wOther.Value() == nil
	return out
}

var wFin weak.Pointer[ordT]

//go:noinline
func setupWeakFinalizer() {
	t := &ordT{id: 1}
	wFin = weak.Make(t)
	runtime.SetFinalizer(t, func(*ordT) {
		if wFin.Value() == nil {
			events <- "finalizer (weak nil)"
		} else {
			events <- "finalizer (weak live)"
		}
	})
}

// weakFinalizer: TestPointerFinalizer, nil at the GC that queues the finalizer.
func weakFinalizer() result {
	setupWeakFinalizer()
	out := result{"before_gc.nil": wFin.Value() == nil}
	for i := 1; i <= 2; i++ {
		runtime.GC()
		out[fmt.Sprintf("gc%d.nil_before_drain", i)] = wFin.Value() == nil
		waitQueues()
		out[fmt.Sprintf("gc%d.events", i)] = takeEvents()
		out[fmt.Sprintf("gc%d.nil_after_drain", i)] = wFin.Value() == nil
	}
	return out
}

var wCl weak.Pointer[ordT]

//go:noinline
func setupWeakCleanup() {
	t := &ordT{id: 1}
	wCl = weak.Make(t)
	runtime.AddCleanup(t, func(int) {
		if wCl.Value() == nil {
			events <- "cleanup (weak nil)"
		} else {
			events <- "cleanup (weak live)"
		}
	}, 0)
}

// weakCleanup: TestPointerCleanup, nil by the time the cleanup runs.
func weakCleanup() result {
	setupWeakCleanup()
	runtime.GC()
	out := result{"gc1.nil_before_drain": wCl.Value() == nil}
	waitQueues()
	out["gc1.events"] = takeEvents()
	return out
}

var wTiny [N]weak.Pointer[int]

//go:noinline
func setupWeakTiny() int {
	same := 0
	for i := range wTiny {
		p := new(int)
		wTiny[i] = weak.Make(p)
		if wTiny[i].Value() == p {
			same++
		}
	}
	return same
}

// weakTiny: TestPointerTiny, 1000 dead tiny objects after one GC.
func weakTiny() result {
	runtime.GC()
	same := setupWeakTiny()
	runtime.GC()
	nils := 0
	for i := range wTiny {
		if wTiny[i].Value() == nil {
			nils++
		}
	}
	return result{"value_is_pointer": same, "nil_after_gc1": nils}
}

var wZero weak.Pointer[emptyT]

//go:noinline
func setupWeakZero() { wZero = weak.Make(new(emptyT)) }

// weakZeroSize: TestImmortalPointer for zero-size objects.
func weakZeroSize() result {
	setupWeakZero()
	runtime.GC()
	runtime.GC()
	return result{"nil_after_2_gcs": wZero.Value() == nil}
}

// ---------------------------------------------------------------------------
// pacer

// keepChunks: 8 KiB pointerful chunks (make([]*int, 1024): 8192 + 8 header
// bytes, class 52 = 9472 B each). 2560 of them ≈ 20 MiB of requests.
var keepChunks [2560][]*int

func fillChunks(mib int) {
	for i := range keepChunks {
		keepChunks[i] = nil
	}
	for i := 0; i < mib<<20/8192; i++ {
		keepChunks[i] = make([]*int, 1024)
	}
}

func regime(formula, minHeap, floor uint64) string {
	switch {
	case minHeap >= formula && minHeap >= floor:
		return "heap_minimum"
	case floor >= formula:
		return "sweep_floor"
	}
	return "formula"
}

// goalRows: Appendix X3, NextGC after runtime.GC() for GOGC 100, 200, 50, 10, 0,
// next to the pacer inputs from runtime/metrics and the §4.2 formula.
func goalRows(liveMiB int) result {
	fillChunks(liveMiB)
	out := result{}
	for _, g := range []int{100, 200, 50, 10, 0} {
		debug.SetGCPercent(g)
		runtime.GC()
		runtime.ReadMemStats(&ms0)
		metrics.Read(pacerSamples)
		marked, stack, globals, goal := u64(pacerSamples, 0), u64(pacerSamples, 1), u64(pacerSamples, 2), u64(pacerSamples, 3)
		formula := marked + (marked+stack+globals)*uint64(g)/100
		minHeap := uint64(4<<20) * uint64(g) / 100
		floor := marked + 1<<20
		expect := max(formula, minHeap, floor)
		out[fmt.Sprintf("gogc%d", g)] = result{
			"NextGC":         ms0.NextGC,
			"goal_metric_eq": goal == ms0.NextGC,
			"heapMarked":     marked,
			"stack":          stack,
			"globals":        globals,
			"formula_match":  expect == ms0.NextGC,
			"regime":         regime(formula, minHeap, floor),
		}
	}
	debug.SetGCPercent(100)
	fillChunks(0)
	return out
}

// limitGoal is §4.4's memory-limit goal from one MemStats snapshot.
func limitGoal(limit uint64, m *runtime.MemStats) (goal, nonHeap uint64) {
	mappedReady := m.Sys - m.HeapReleased
	nonHeap = mappedReady - (m.HeapIdle - m.HeapReleased) - m.HeapAlloc
	overage := uint64(0)
	if mappedReady > limit {
		overage = mappedReady - limit
	}
	g := limit - (nonHeap + overage)
	h := max(g/100*3, 1<<20)
	if g < h || g-h < h {
		return h, nonHeap
	}
	return g - h, nonHeap
}

// gogcOffGoal: §4.3, with GOGC off NextGC is the memory-limit goal for
// limit = MaxInt64.
func gogcOffGoal() result {
	runtime.GC()
	prev := debug.SetGCPercent(-1)
	runtime.ReadMemStats(&ms0)
	metrics.Read(pacerSamples)
	goal, nonHeap := limitGoal(math.MaxInt64, &ms0)
	debug.SetGCPercent(100)
	return result{
		"prev_percent":      prev,
		"NextGC":            ms0.NextGC,
		"ratio_to_MaxInt64": fmt.Sprintf("%.6f", float64(ms0.NextGC)/float64(math.MaxInt64)),
		"formula_match":     goal == ms0.NextGC,
		"nonHeap":           nonHeap,
		"gogc_metric":       u64(pacerSamples, 8),
		"goal_metric_eq":    u64(pacerSamples, 3) == ms0.NextGC,
	}
}

// memlimitGoal40: Appendix X3 last row, GOGC=100, limit 40 MiB, ~20 MiB live.
func memlimitGoal40() result {
	fillChunks(20)
	debug.SetGCPercent(100)
	prev := debug.SetMemoryLimit(40 << 20)
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	metrics.Read(pacerSamples)
	goal, nonHeap := limitGoal(40<<20, &ms0)
	marked, stack, globals := u64(pacerSamples, 0), u64(pacerSamples, 1), u64(pacerSamples, 2)
	percentGoal := marked + (marked + stack + globals)
	debug.SetMemoryLimit(math.MaxInt64)
	fillChunks(0)
	return result{
		"prev_limit":          prev,
		"NextGC":              ms0.NextGC,
		"nonHeap":             nonHeap,
		"NextGC_plus_nonHeap": ms0.NextGC + nonHeap,
		"formula_match":       goal == ms0.NextGC,
		"limited":             ms0.NextGC < percentGoal,
		"gomemlimit_metric":   u64(pacerSamples, 9),
	}
}

var garbage unsafe.Pointer

// gogcEnvOff: GOGC=off in the environment; 40 MiB of garbage starts no GC,
// runtime.GC() still works (TestUserForcedGC).
func gogcEnvOff() result {
	runtime.ReadMemStats(&ms0)
	metrics.Read(pacerSamples)
	for i := 0; i < 5120; i++ {
		garbage = unsafe.Pointer(unsafe.SliceData(make([]byte, 8192)))
	}
	runtime.ReadMemStats(&ms1)
	runtime.GC()
	runtime.ReadMemStats(&ms2)
	garbage = nil
	return result{
		"gogc_metric":                        u64(pacerSamples, 8),
		"start.ratio_NextGC_to_MaxInt64":     fmt.Sprintf("%.6f", float64(ms0.NextGC)/float64(math.MaxInt64)),
		"after_garbage.NumGC":                ms1.NumGC - ms0.NumGC,
		"after_gc.NumGC":                     ms2.NumGC - ms0.NumGC,
		"after_gc.NumForcedGC":               ms2.NumForcedGC - ms0.NumForcedGC,
		"after_gc.TotalAlloc_delta_ge_40MiB": ms2.TotalAlloc-ms0.TotalAlloc >= 40<<20,
	}
}

// gogcEnv: GOGC / GOMEMLIMIT from the environment (Appendix X15): the
// gogc and gomemlimit metrics, the goal before and after the first GC.
func gogcEnv() result {
	runtime.ReadMemStats(&ms0)
	metrics.Read(pacerSamples)
	gogc, limit := u64(pacerSamples, 8), u64(pacerSamples, 9)
	runtime.GC()
	runtime.ReadMemStats(&ms1)
	return result{
		"gogc_metric":            gogc,
		"gomemlimit_metric":      limit,
		"start.NextGC":           ms0.NextGC,
		"after_gc.NextGC":        ms1.NextGC,
		"SetMemoryLimit(-1)":     debug.SetMemoryLimit(-1),
		"SetGCPercent(100)_prev": debug.SetGCPercent(100),
	}
}

// setGCPercentAPI: Appendix X15, return values and the gogc/gomemlimit metrics.
func setGCPercentAPI() result {
	out := result{}
	metrics.Read(pacerSamples)
	out["initial.gogc"] = u64(pacerSamples, 8)
	out["initial.gomemlimit"] = u64(pacerSamples, 9)
	out["initial.goal"] = u64(pacerSamples, 3)
	out["SetGCPercent(-1)"] = debug.SetGCPercent(-1)
	metrics.Read(pacerSamples)
	out["off.gogc"] = u64(pacerSamples, 8)
	out["off.goal_ratio"] = fmt.Sprintf("%.6f", float64(u64(pacerSamples, 3))/float64(math.MaxInt64))
	out["SetGCPercent(-7)"] = debug.SetGCPercent(-7)
	out["SetGCPercent(100)"] = debug.SetGCPercent(100)
	out["SetGCPercent(50)"] = debug.SetGCPercent(50)
	out["SetGCPercent(100) again"] = debug.SetGCPercent(100)
	out["SetMemoryLimit(-1)"] = debug.SetMemoryLimit(-1)
	out["SetMemoryLimit(64MiB)"] = debug.SetMemoryLimit(64 << 20)
	metrics.Read(pacerSamples)
	out["limited.gomemlimit"] = u64(pacerSamples, 9)
	out["SetMemoryLimit(-1) after"] = debug.SetMemoryLimit(-1)
	out["SetMemoryLimit(MaxInt64)"] = debug.SetMemoryLimit(math.MaxInt64)
	return out
}

// setGCPercentZeroAfterGC: §4.2, SetGCPercent(0) after sweeping has finished
// resets the heapMarked + 1 MiB floor: NextGC = heapMarked; the next trigger
// check (a large allocation) starts a cycle.
func setGCPercentZeroAfterGC() result {
	runtime.GC()
	debug.SetGCPercent(0)
	runtime.ReadMemStats(&ms0)
	metrics.Read(pacerSamples)
	marked := u64(pacerSamples, 0)
	c0 := u64(pacerSamples, 10)
	holder[0] = unsafe.Pointer(unsafe.SliceData(make([]byte, 64<<10)))
	started := false
	for i := 0; i < 2000 && !started; i++ {
		metrics.Read(pacerSamples)
		started = u64(pacerSamples, 10) > c0
		if !started {
			time.Sleep(time.Millisecond)
		}
	}
	debug.SetGCPercent(100)
	holder[0] = nil
	return result{
		"NextGC_minus_heapMarked": int64(ms0.NextGC) - int64(marked),
		"gc_after_large_alloc":    started,
	}
}

var osKeep [64][]byte

// freeOSMemory: Appendix X9.
func freeOSMemory() result {
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	for i := range osKeep {
		osKeep[i] = make([]byte, 1<<20)
	}
	runtime.ReadMemStats(&ms1)
	for i := range osKeep {
		osKeep[i] = nil
	}
	runtime.GC()
	runtime.ReadMemStats(&ms2)
	debug.FreeOSMemory()
	runtime.ReadMemStats(&ms3)
	return result{
		"retain.NumGC":                     dlt(uint64(ms0.NumGC), uint64(ms1.NumGC)),
		"retain.HeapInuse":                 dlt(ms0.HeapInuse, ms1.HeapInuse),
		"retain.HeapAlloc":                 dlt(ms0.HeapAlloc, ms1.HeapAlloc),
		"drop_gc.HeapInuse":                dlt(ms0.HeapInuse, ms2.HeapInuse),
		"drop_gc.HeapAlloc":                dlt(ms0.HeapAlloc, ms2.HeapAlloc),
		"drop_gc.NumForcedGC":              dlt(uint64(ms0.NumForcedGC), uint64(ms2.NumForcedGC)),
		"free.NumGC":                       dlt(uint64(ms2.NumGC), uint64(ms3.NumGC)),
		"free.NumForcedGC":                 dlt(uint64(ms2.NumForcedGC), uint64(ms3.NumForcedGC)),
		"free.HeapIdle_minus_HeapReleased": dlt(ms3.HeapReleased, ms3.HeapIdle),
		"free.HeapSys":                     dlt(ms2.HeapSys, ms3.HeapSys),
		"free.HeapIdle":                    dlt(ms2.HeapIdle, ms3.HeapIdle),
		"free.HeapInuse":                   dlt(ms2.HeapInuse, ms3.HeapInuse),
		"free.released_grew":               ms3.HeapReleased > ms2.HeapReleased,
	}
}

// ---------------------------------------------------------------------------
// statistics

// gcstatsRing: Appendix X12, the PauseNs/PauseEnd rings and ReadGCStats after
// 3 and after 300 forced GCs.
func gcstatsRing() result {
	out := result{}
	var st debug.GCStats
	for _, target := range []uint32{3, 300} {
		for {
			runtime.ReadMemStats(&ms0)
			if ms0.NumGC >= target {
				break
			}
			runtime.GC()
		}
		runtime.ReadMemStats(&ms0)
		st.PauseQuantiles = make([]time.Duration, 5)
		debug.ReadGCStats(&st)
		last := (ms0.NumGC + 255) % 256
		var sum uint64
		nonzero := 0
		for _, p := range ms0.PauseNs {
			sum += p
			if p != 0 {
				nonzero++
			}
		}
		n := len(st.Pause)
		orderOK, endOK := true, true
		for i := 0; i < n; i++ {
			j := (int(ms0.NumGC) - 1 - i) % 256
			orderOK = orderOK && uint64(st.Pause[i]) == ms0.PauseNs[j]
			endOK = endOK && uint64(st.PauseEnd[i].UnixNano()) == ms0.PauseEnd[j]
		}
		sorted := slices.Clone(st.Pause)
		slices.Sort(sorted)
		q := len(st.PauseQuantiles) - 1
		quantOK := true
		for i := 0; i < q; i++ {
			quantOK = quantOK && st.PauseQuantiles[i] == sorted[n*i/q]
		}
		quantOK = quantOK && st.PauseQuantiles[q] == sorted[n-1]
		out[fmt.Sprintf("gc%d", target)] = result{
			"NumGC":                        ms0.NumGC,
			"NumForcedGC":                  ms0.NumForcedGC,
			"last_index":                   last,
			"Pause0_eq_PauseNs_last":       uint64(st.Pause[0]) == ms0.PauseNs[last],
			"LastGC_eq_PauseEnd_last":      ms0.LastGC == ms0.PauseEnd[last],
			"GCStats.LastGC_eq_LastGC":     uint64(st.LastGC.UnixNano()) == ms0.LastGC,
			"len_Pause":                    n,
			"len_PauseEnd":                 len(st.PauseEnd),
			"GCStats.NumGC":                st.NumGC,
			"PauseTotal_eq_PauseTotalNs":   uint64(st.PauseTotal) == ms0.PauseTotalNs,
			"sum_PauseNs_eq_PauseTotalNs":  sum == ms0.PauseTotalNs,
			"nonzero_PauseNs":              nonzero,
			"Pause_most_recent_first":      orderOK,
			"PauseEnd_most_recent_first":   endOK,
			"len_PauseQuantiles":           len(st.PauseQuantiles),
			"quantiles_match_rank_formula": quantOK,
			"GCCPUFraction_positive":       ms0.GCCPUFraction > 0,
		}
	}
	return out
}

type lagT struct {
	p *int
	b [40]byte
}

// metricsPausesLag: Appendix X11, two pause samples per cycle; allocation
// counters lag until the mcaches are flushed.
func metricsPausesLag() result {
	runtime.GC()
	metrics.Read(pauseSamples)
	p0, q0, c0 := histTotal(pauseSamples[0]), histTotal(pauseSamples[1]), u64(pauseSamples, 2)
	for i := 0; i < 10; i++ {
		runtime.GC()
	}
	metrics.Read(pauseSamples)
	p1, q1, c1 := histTotal(pauseSamples[0]), histTotal(pauseSamples[1]), u64(pauseSamples, 2)

	clearHolder()
	metrics.Read(lagSamples)
	before := u64(lagSamples, 0)
	allocN[lagT](100)
	metrics.Read(lagSamples)
	mid := u64(lagSamples, 0)
	runtime.ReadMemStats(&ms0) // STW + flush all mcaches
	metrics.Read(lagSamples)
	after := u64(lagSamples, 0)
	clearHolder()
	return result{
		"cycles":                     c1 - c0,
		"gc_pauses_samples":          p1 - p0,
		"sched_pauses_gc_samples":    q1 - q0,
		"buckets":                    len(pauseSamples[0].Value.Float64Histogram().Counts),
		"allocs_objects_no_flush":    mid - before,
		"allocs_objects_after_flush": after - before,
	}
}

// metricsConsistency: TestReadMetrics' metric ↔ MemStats equalities after a
// mixed workload, plus the metrics that are plain configuration values.
func metricsConsistency() result {
	runtime.GC()
	allocN[int64](200)                                                    // tiny
	allocN[P48](200)                                                      // small scan
	holder[500] = unsafe.Pointer(unsafe.SliceData(make([]byte, 100<<10))) // large
	runtime.GC()
	allocN[int32](100)
	runtime.ReadMemStats(&ms0)
	metrics.Read(consSamples)
	v := func(i int) uint64 { return u64(consSamples, i) }
	tiny := v(4)
	byBucket := true
	hist := consSamples[19].Value.Float64Histogram()
	freeHist := consSamples[20].Value.Float64Histogram()
	for i := 0; i < 60; i++ {
		byBucket = byBucket && hist.Counts[i] == ms0.BySize[i+1].Mallocs && freeHist.Counts[i] == ms0.BySize[i+1].Frees
	}
	clearHolder()
	return result{
		"allocs_bytes_eq_TotalAlloc":                v(0) == ms0.TotalAlloc,
		"allocs_objects_plus_tiny_eq_Mallocs":       v(1)+tiny == ms0.Mallocs,
		"frees_bytes_eq_TotalAlloc_minus_HeapAlloc": v(2) == ms0.TotalAlloc-ms0.HeapAlloc,
		"frees_objects_plus_tiny_eq_Frees":          v(3)+tiny == ms0.Frees,
		"objects_eq_HeapObjects":                    v(5) == ms0.HeapObjects,
		"goal_eq_NextGC":                            v(6) == ms0.NextGC,
		"cycles_total_eq_NumGC":                     v(7) == uint64(ms0.NumGC),
		"cycles_forced_eq_NumForcedGC":              v(8) == uint64(ms0.NumForcedGC),
		"cycles_automatic_eq_difference":            v(9) == uint64(ms0.NumGC-ms0.NumForcedGC),
		"heap_objects_bytes_eq_HeapAlloc":           v(10) == ms0.HeapAlloc,
		"heap_unused_eq_HeapInuse_minus_HeapAlloc":  v(11) == ms0.HeapInuse-ms0.HeapAlloc,
		"heap_free_eq_HeapIdle_minus_HeapReleased":  v(12) == ms0.HeapIdle-ms0.HeapReleased,
		"heap_released_eq_HeapReleased":             v(13) == ms0.HeapReleased,
		"total_eq_Sys":                              v(14) == ms0.Sys,
		"by_size_buckets_eq_BySize":                 byBucket,
		"alloc_buckets":                             len(hist.Counts),
		"gomaxprocs":                                v(15),
		"stack_starting_size":                       v(16),
		"gogc":                                      v(17),
		"gomemlimit":                                v(18),
	}
}

// ---------------------------------------------------------------------------
// gctrace

type traceNode struct {
	next *traceNode
	buf  [48]byte
}

var traceKeep [30000]*traceNode
var traceSink *traceNode

// The cost table's calibration shapes (issue 15, item 10): a linked list of 200 000 16-byte
// one-pointer objects (the per-object mark cost), 16 large arrays of 16 384 pointers to
// one object (the per-byte scan cost), 100 000 dead 64-byte objects (800 spans) before
// each forced cycle (the per-span sweep cost of runtime.GC).
type calNode struct {
	next *calNode
	v    int
}
type calWide [16384]*int

var calHead *calNode
var calWides [16]*calWide

// traceChild runs under GODEBUG=gctrace=1 and prints its MemStats counters.
func traceChild(workload string) {
	switch workload {
	case "retain": // Appendix X1, scaled: 300 000 nodes of 64 B, every 10th kept
		for i := 0; i < 300000; i++ {
			n := &traceNode{}
			if i%10 == 0 {
				traceKeep[i/10] = n
			} else {
				traceSink = n // garbage as soon as it is overwritten
			}
		}
		runtime.GC()
	case "idle":
		runtime.GC()
		runtime.GC()
		runtime.GC()
	case "large_scan": // 1000 pointerful 40000-byte objects (issue 16's divergence)
		for i := range largeScanKeep {
			largeScanKeep[i] = new(midL)
		}
		clear(largeScanKeep[:])
		runtime.GC()
	case "objects":
		for i := 0; i < 200000; i++ {
			calHead = &calNode{next: calHead}
		}
		runtime.GC()
		runtime.GC()
		runtime.GC()
		calHead = nil
	case "bytes":
		x := new(int)
		for i := range calWides {
			w := new(calWide)
			for j := range w {
				w[j] = x
			}
			calWides[i] = w
		}
		runtime.GC()
		runtime.GC()
		runtime.GC()
		calWides = [16]*calWide{}
	case "sweep":
		for k := 0; k < 3; k++ {
			for i := 0; i < 100000; i++ {
				traceSink = &traceNode{}
			}
			traceSink = nil
			t := time.Now()
			runtime.GC()
			callNs = append(callNs, time.Since(t).Nanoseconds())
		}
	case "goroutines": // 1000 goroutines blocked on a channel, each with a pointer on its stack
		ch := make(chan struct{})
		done := make(chan struct{})
		for i := 0; i < 1000; i++ {
			go func() {
				x := &traceNode{}
				<-ch
				traceSink = x
				done <- struct{}{}
			}()
		}
		runtime.Gosched()
		runtime.GC()
		runtime.GC()
		close(ch)
		for i := 0; i < 1000; i++ {
			<-done
		}
	}
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	pauses := []uint64{}
	for i := uint32(0); i < m.NumGC && i < 256; i++ {
		pauses = append(pauses, m.PauseNs[i])
	}
	json.NewEncoder(os.Stdout).Encode(result{"NumGC": m.NumGC, "NumForcedGC": m.NumForcedGC,
		"PauseNs": pauses, "GCCPUFraction": m.GCCPUFraction, "CallNs": callNs})
}

// callNs: how long each runtime.GC() call of the "sweep" workload took (time.Since).
var callNs []int64

var timeRE = regexp.MustCompile(`^gc (\d+) @(\d+\.\d{3})s (\d+)%: (\S+)\+(\S+)\+(\S+) ms clock, ` +
	`(\S+)\+(\S+)/(\S+)/(\S+)\+(\S+) ms cpu, `)

// timing: a workload in a gctrace child; the times Go reports (issue 15, item 10): each
// pause, GCCPUFraction, and gctrace's clock and CPU fields, as means over the cycles (or
// the last cycle's). Every one of them depends on the machine: the corpus compares them
// with the range of recorded runs, within a factor of 2.
func timing(workload string) result {
	r := runChild(map[string]string{"GODEBUG": "gctrace=1"}, "trace", workload)
	if r.exit != 0 {
		panic("trace child failed: " + r.stderr)
	}
	var c struct {
		NumGC         uint32
		PauseNs       []uint64
		GCCPUFraction float64
		CallNs        []int64
	}
	if err := json.Unmarshal([]byte(r.stdout), &c); err != nil {
		panic(err)
	}
	var n, sums [8]float64
	var last []string
	var forcedClock []float64 // each forced cycle's STW #1 + mark + STW #2 (ms)
	for _, line := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
		m := timeRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		last = m
		if strings.HasSuffix(line, "(forced)") {
			var t float64
			for _, g := range []int{4, 5, 6} {
				v, _ := strconv.ParseFloat(m[g], 64)
				t += v
			}
			forcedClock = append(forcedClock, t)
		}
		for i, g := range []int{4, 5, 6, 7, 8, 9, 10, 11} {
			v, _ := strconv.ParseFloat(m[g], 64)
			sums[i] += v
			n[i]++
		}
	}
	mean := func(i int) float64 { return sums[i] / n[i] }
	var ptotal, pmax uint64
	for _, p := range c.PauseNs {
		ptotal += p
		pmax = max(pmax, p)
	}
	pct, _ := strconv.Atoi(last[3])
	start, _ := strconv.ParseFloat(last[2], 64)
	if len(c.CallNs) > 0 {
		// runtime.GC's calls: how long each took, and what was left after its forced
		// cycle's pauses and mark (gctrace's clock): the sweep, done by the caller
		// (sweepone until none is left), and any cycle it first had to finish
		var call, rest float64
		for i, ns := range c.CallNs {
			call += float64(ns)
			rest += float64(ns) - forcedClock[i]*1e6
		}
		k := float64(len(c.CallNs))
		return result{
			"cycles": len(c.PauseNs), "pause_ns_mean": float64(ptotal) / float64(len(c.PauseNs)),
			"gc_cpu_fraction": c.GCCPUFraction, "trace.last_percent": pct,
			"call_ns_mean": call / k, "sweep_ns_mean": rest / k,
		}
	}
	return result{
		"cycles":              len(c.PauseNs),
		"pause_ns_mean":       float64(ptotal) / float64(len(c.PauseNs)),
		"pause_ns_max":        pmax,
		"gc_cpu_fraction":     c.GCCPUFraction,
		"trace.last_percent":  pct,
		"trace.last_start_ms": start * 1000,
		"trace.stw1_ms":       mean(0),
		"trace.mark_ms":       mean(1),
		"trace.stw2_ms":       mean(2),
		"trace.cpu_mark_ms":   mean(4) + mean(5) + mean(6),
	}
}

type limChunk [8192]byte

var limKeep []*limChunk
var limSink *limChunk

// limiterBelowLive: a memory limit (8 MiB) far below the live heap (16 MiB of 8 KiB
// chunks), then 160 MiB of garbage (issue 15, item 8). Go collects back to back, each
// cycle's mark running beside the allocating program; the GC CPU limiter's bucket (1
// CPU-second) does not fill in so short a program.
func limiterBelowLive() result {
	for i := 0; i < 2048; i++ {
		limKeep = append(limKeep, new(limChunk))
	}
	prev := debug.SetMemoryLimit(8 << 20)
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	for i := 0; i < 20000; i++ {
		limSink = new(limChunk)
	}
	runtime.ReadMemStats(&m1)
	s := []metrics.Sample{{Name: "/gc/limiter/last-enabled:gc-cycle"}}
	metrics.Read(s)
	debug.SetMemoryLimit(prev)
	limKeep, limSink = nil, nil
	return result{
		"gcs":             m1.NumGC - m0.NumGC,
		"gc_cpu_fraction": m1.GCCPUFraction,
		"limiter_last_enabled": s[0].Value.Uint64(),
	}
}

type gcwNode struct {
	next *gcwNode
	buf  [56]byte
}

//go:noinline
func gcWaitWorker(ch chan int, out chan weak.Pointer[gcwNode]) {
	x := &gcwNode{}
	out <- weak.Make(x)
	<-ch
	runtime.KeepAlive(x)
}

// gcLetsRunnableRun: runtime.GC parks its caller while the mark runs (gcWaitOnMark), so
// a goroutine made runnable just before (main's send completes its receive) runs first,
// returns and drops its local before its stack is scanned: the object is collected.
func gcLetsRunnableRun() result {
	ch := make(chan int)
	out := make(chan weak.Pointer[gcwNode], 1)
	go gcWaitWorker(ch, out)
	w := <-out
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	ch <- 1 // the worker was waiting: it becomes runnable, main goes on
	runtime.GC()
	runtime.ReadMemStats(&m1)
	return result{
		"weak_nil_after_gc": w.Value() == nil,
		"gcs":               m1.NumGC - m0.NumGC,
		"goroutines":        runtime.NumGoroutine(),
	}
}

type tutNode struct { // the seed tutorial's Node
	next *tutNode
	id   int
}

type frbT struct {
	p *int
	a [6]int
}

var frbBig []*[1024]byte

// finRunsBeforeGCReturns (issue 15, item 1: runtime.GC's sweep loop, sweepone then
// Gosched): with one P the caller yields between swept spans, so the finalizer goroutine
// -- and any other runnable goroutine -- has run when runtime.GC returns. First the seed
// tutorial's step (one Node, a finalizer, runtime.GC), then three finalizers among 100
// dead 1 KiB objects with a goroutine made runnable before the call.
func finRunsBeforeGCReturns() result {
	calls := 0
	a := &tutNode{id: 7}
	runtime.SetFinalizer(a, func(*tutNode) { calls++ })
	a = nil
	runtime.GC()
	first := calls
	var order []int
	for i := 0; i < 3; i++ {
		x := &frbT{}
		runtime.SetFinalizer(x, func(*frbT) { order = append(order, i) })
	}
	for i := 0; i < 100; i++ {
		frbBig = append(frbBig, new([1024]byte))
	}
	frbBig = nil
	other := false
	go func() { other = true }()
	runtime.GC()
	return result{"calls_after_gc": first, "order_after_gc": order, "other_ran_in_gc": other}
}

type fdmY struct{ v [4]int } // 32 B, no pointers
type fdmX struct {
	y   *fdmY
	pad [3]int
}

var fdmSink *fdmY

// finSetDuringMark (issue 16: the special roots are root jobs of the first drain): a
// goroutine made runnable just before runtime.GC gives x a finalizer while the mark runs
// (main waits in gcWaitOnMark; with one P the fractional worker's first turn does one
// root job, fixedRootFinalizers, and yields). x is unreachable and y is reachable only
// from x. Go marks y -- markrootSpans reads the specials when it runs, and addfinalizer
// scans x if it already ran -- so the finalizer finds y intact, after the sweep and
// 20 000 new 32-byte objects that would have reused its slot.
func finSetDuringMark() result {
	ch := make(chan *fdmX)
	done := make(chan struct{})
	got := make(chan int, 1)
	go func() {
		x := <-ch
		runtime.SetFinalizer(x, func(x *fdmX) { got <- x.y.v[0] })
		close(done)
	}()
	runtime.Gosched() // the goroutine blocks in its receive
	ch <- &fdmX{y: &fdmY{v: [4]int{42, 42, 42, 42}}}
	runtime.GC()
	<-done
	for i := 0; i < 20000; i++ {
		fdmSink = &fdmY{v: [4]int{7, 7, 7, 7}}
	}
	fdmSink = nil
	runtime.GC()
	waitQueues()
	v := -1
	select {
	case v = <-got:
	default:
	}
	return result{"y_value": v}
}

type midL struct { // 40000 B with a pointer first: a long mark (issue 16's divergence)
	p *int
	b [39992]byte
}

var midKeep [300]*midL

// readMemStatsMidCycle: ReadMemStats after every allocation of 300 large pointerful
// objects. A heap-triggered cycle starts at ~4 MB and its mark runs beside the program:
// MemStats read while it runs show the heap past the goal with NumGC not yet counted.
func readMemStatsMidCycle() result {
	runtime.GC()
	var m0, m runtime.MemStats
	runtime.ReadMemStats(&m0)
	inProgress := false
	for i := range midKeep {
		midKeep[i] = new(midL)
		runtime.ReadMemStats(&m)
		if m.NumGC == m0.NumGC && m.HeapAlloc > m0.NextGC {
			inProgress = true
		}
	}
	clear(midKeep[:])
	return result{"in_progress_seen": inProgress, "gcs": m.NumGC - m0.NumGC}
}

// readMemStatsGoroutineMidCycle: readMemStatsMidCycle with the reads done by a second
// goroutine: main allocates each object, then hands the turn over an unbuffered channel
// to the reader, which calls ReadMemStats while the heap-triggered mark runs.
func readMemStatsGoroutineMidCycle() result {
	runtime.GC()
	var m0 runtime.MemStats
	runtime.ReadMemStats(&m0)
	ch := make(chan int)
	done := make(chan result, 1)
	go func() {
		var m runtime.MemStats
		m = m0
		reads, inProgress := 0, false
		for range ch {
			runtime.ReadMemStats(&m)
			reads++
			if m.NumGC == m0.NumGC && m.HeapAlloc > m0.NextGC {
				inProgress = true
			}
		}
		done <- result{"in_progress_seen": inProgress, "gcs": m.NumGC - m0.NumGC, "reads": reads}
	}()
	for i := range midKeep {
		midKeep[i] = new(midL)
		ch <- i
	}
	close(ch)
	r := <-done
	clear(midKeep[:])
	return r
}

// gctraceLargeScan: 1000 pointerful 40000-byte objects under gctrace=1; the one
// heap-triggered cycle's mark overshoots its goal (B above the goal).
func gctraceLargeScan() result {
	r, lines := gctraceLines("large_scan", "")
	peak, over := 0, 0
	for _, l := range lines {
		if l["forced"].(bool) {
			continue
		}
		peak = max(peak, l["H1"].(int))
		if l["H1"].(int) > l["goal"].(int) {
			over++
		}
	}
	r["peak_H1"], r["over_goal_lines"] = peak, over
	return r
}

var largeScanKeep [1000]*midL

var traceRE = regexp.MustCompile(`^gc (\d+) @\d+\.\d{3}s \d+%: \S+ ms clock, \S+ ms cpu, ` +
	`(\d+)->(\d+)->(\d+) MB, (\d+) MB goal, \d+ MB stacks, \d+ MB globals, (\d+) P( \(forced\))?$`)

// gctrace: run a workload in a child with GODEBUG=gctrace=1 and keep the
// fields of each line that do not depend on time: N, H0->H1->H2, goal, P,
// forced. Per-line H1/H2 of heap-triggered cycles and their number vary
// between Go runs (mutator allocation during the concurrent mark), so the
// scenario reports the first and last lines and counts, not every line.
func gctrace(workload, gogc string) result {
	r, _ := gctraceLines(workload, gogc)
	return r
}

// gctraceLines: gctrace's result and every parsed line.
func gctraceLines(workload, gogc string) (result, []result) {
	r := runChild(map[string]string{"GODEBUG": "gctrace=1", "GOGC": gogc}, "trace", workload)
	if r.exit != 0 {
		panic("trace child failed: " + r.stderr)
	}
	lines := []result{}
	forcedBy := 0
	for _, line := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
		if line == "GC forced" {
			forcedBy++
			continue
		}
		m := traceRE.FindStringSubmatch(line)
		if m == nil {
			panic("unparsed gctrace line: " + line)
		}
		at := func(i int) int { n, _ := strconv.Atoi(m[i]); return n }
		lines = append(lines, result{"N": at(1), "H0": at(2), "H1": at(3), "H2": at(4), "goal": at(5),
			"P": at(6), "forced": m[7] != ""})
	}
	var counters result
	if err := json.Unmarshal([]byte(r.stdout), &counters); err != nil {
		panic(err)
	}
	forced := 0
	procs := []int{}
	for _, l := range lines {
		if l["forced"].(bool) {
			forced++
		}
		if p := l["P"].(int); !slices.Contains(procs, p) {
			procs = append(procs, p)
		}
	}
	slices.Sort(procs)
	return result{
		"count":        len(lines),
		"forced_lines": forced,
		"periodic":     forcedBy,
		"P":            procs,
		"first":        lines[0],
		"last":         lines[len(lines)-1],
		"NumGC":        counters["NumGC"],
		"NumForcedGC":  counters["NumForcedGC"],
	}, lines
}

// ---------------------------------------------------------------------------
// workloads

// Node is the Benchmarks Game binary-trees node: two pointers, 16 bytes.
type Node struct{ left, right *Node }

func bottomUpTree(depth int) *Node {
	if depth <= 0 {
		return &Node{}
	}
	return &Node{bottomUpTree(depth - 1), bottomUpTree(depth - 1)}
}

func (n *Node) itemCheck() int {
	if n.left == nil {
		return 1
	}
	return 1 + n.left.itemCheck() + n.right.itemCheck()
}

// binaryTrees is the Benchmarks Game program, sequential: a stretch tree of
// depth max+1, a long-lived tree of depth max, then for d = 4, 6, …, max,
// 2^(max−d+4) trees of depth d built and checked.
func binaryTrees(maxDepth int) result {
	checks := result{}
	checks["stretch"] = bottomUpTree(maxDepth + 1).itemCheck()
	longLived := bottomUpTree(maxDepth)
	for d := 4; d <= maxDepth; d += 2 {
		iters := 1 << (maxDepth - d + 4)
		check := 0
		for i := 0; i < iters; i++ {
			check += bottomUpTree(d).itemCheck()
		}
		checks[fmt.Sprintf("depth%d", d)] = check
	}
	checks["long_lived"] = longLived.itemCheck()
	return checks
}

func binaryTreesScenario() result {
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	checks := binaryTrees(16)
	runtime.ReadMemStats(&ms1)
	return result{
		"Mallocs":     dlt(ms0.Mallocs, ms1.Mallocs),
		"TotalAlloc":  dlt(ms0.TotalAlloc, ms1.TotalAlloc),
		"NumGC":       dlt(uint64(ms0.NumGC), uint64(ms1.NumGC)),
		"NumForcedGC": dlt(uint64(ms0.NumForcedGC), uint64(ms1.NumForcedGC)),
		"checks":      checks,
	}
}

// GNode is GCBench's node: two pointers and two ints, 32 bytes.
type GNode struct {
	left, right *GNode
	i, j        int
}

const (
	gcbStretchTreeDepth   = 18
	gcbLongLivedTreeDepth = 16
	gcbArraySize          = 500000
	gcbMinTreeDepth       = 4
	gcbMaxTreeDepth       = 16
)

var gcbSink *GNode

func gcbTreeSize(i int) int { return (1 << (i + 1)) - 1 }
func gcbNumIters(i int) int { return 2 * gcbTreeSize(gcbStretchTreeDepth) / gcbTreeSize(i) }

// gcbPopulate builds a tree top-down below an existing node.
func gcbPopulate(depth int, n *GNode) {
	if depth <= 0 {
		return
	}
	depth--
	n.left = &GNode{}
	n.right = &GNode{}
	gcbPopulate(depth, n.left)
	gcbPopulate(depth, n.right)
}

// gcbMakeTree builds a tree bottom-up.
func gcbMakeTree(depth int) *GNode {
	if depth <= 0 {
		return &GNode{}
	}
	return &GNode{left: gcbMakeTree(depth - 1), right: gcbMakeTree(depth - 1)}
}

// gcbench is Hans Boehm's GCBench: a stretch tree of depth 18, a long-lived
// tree of depth 16 and an array of 500 000 float64, then for depths 4..16
// step 2, NumIters(d) trees built top-down and as many bottom-up.
func gcbench() result {
	gcbSink = gcbMakeTree(gcbStretchTreeDepth)
	gcbSink = nil
	longLived := &GNode{}
	gcbPopulate(gcbLongLivedTreeDepth, longLived)
	array := make([]float64, gcbArraySize)
	for i := 0; i < gcbArraySize/2; i++ {
		array[i] = 1.0 / float64(i)
	}
	nodes := 0
	for d := gcbMinTreeDepth; d <= gcbMaxTreeDepth; d += 2 {
		iters := gcbNumIters(d)
		for i := 0; i < iters; i++ {
			t := &GNode{}
			gcbPopulate(d, t)
			gcbSink = t
		}
		for i := 0; i < iters; i++ {
			gcbSink = gcbMakeTree(d)
		}
		nodes += 2 * iters * gcbTreeSize(d)
	}
	gcbSink = nil
	ok := longLived != nil && array[1000] == 1.0/1000
	runtime.KeepAlive(longLived)
	runtime.KeepAlive(array)
	return result{"long_lived_and_array_ok": ok, "tree_nodes": nodes}
}

func gcbenchScenario() result {
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	info := gcbench()
	runtime.ReadMemStats(&ms1)
	return result{
		"Mallocs":     dlt(ms0.Mallocs, ms1.Mallocs),
		"TotalAlloc":  dlt(ms0.TotalAlloc, ms1.TotalAlloc),
		"NumGC":       dlt(uint64(ms0.NumGC), uint64(ms1.NumGC)),
		"NumForcedGC": dlt(uint64(ms0.NumForcedGC), uint64(ms1.NumForcedGC)),
		"checks":      info,
	}
}

// ---------------------------------------------------------------------------
// misuse (Appendix X5): the case runs in a child, once as is and once under a
// deferred recover; the scenario reports the exit status and first
// "fatal error: " / "panic: " line of the first run (or "ok" if it printed
// that), and whether recover caught it.

type mT struct {
	a *int
	b int
}
type mU struct{ x *int }
type mV struct {
	a *int
	b [2]int
}

var misuseCases = map[string]func(){
	"fin_nil_obj":     func() { runtime.SetFinalizer(nil, nil) },
	"fin_non_pointer": func() { runtime.SetFinalizer(5, func(int) {}) },
	"fin_interior":    func() { t := &mV{}; runtime.SetFinalizer(&t.b, func(*[2]int) {}) },
	"fin_interior_small_noscan": func() {
		t := &mT{}
		runtime.SetFinalizer(&t.b, func(*int) {})
	},
	"fin_tiny_interior": func() {
		type small struct{ a, b int32 } // 8 bytes, pointer-free: tiny
		s := &small{}
		runtime.SetFinalizer(&s.b, func(*int32) {})
	},
	"fin_zero_size_bad_func": func() { runtime.SetFinalizer(new(emptyT), 5) },
	"fin_not_func":           func() { runtime.SetFinalizer(&mT{}, 5) },
	"fin_wrong_type":         func() { runtime.SetFinalizer(&mT{}, func(*mU) {}) },
	"fin_two_args":           func() { runtime.SetFinalizer(&mT{}, func(*mT, int) {}) },
	"fin_variadic":           func() { runtime.SetFinalizer(&mT{}, func(...*mT) {}) },
	"fin_already_set": func() {
		t := &mT{}
		runtime.SetFinalizer(t, func(*mT) {})
		runtime.SetFinalizer(t, func(*mT) {})
	},
	"fin_reset_after_nil": func() {
		t := &mT{}
		runtime.SetFinalizer(t, func(*mT) {})
		runtime.SetFinalizer(t, nil)
		runtime.SetFinalizer(t, func(*mT) {})
	},
	"cleanup_nil":   func() { runtime.AddCleanup((*mT)(nil), func(int) {}, 0) },
	"cleanup_equal": func() { t := &mT{}; runtime.AddCleanup(t, func(*mT) {}, t) },
	"cleanup_within": func() {
		t := &mT{}
		runtime.AddCleanup(t, func(*int) {}, &t.b)
	},
	"cleanup_closure": func() {
		t := &mT{}
		runtime.AddCleanup(t, func(int) { _ = t.b }, 0)
	},
	"cleanup_zero_size": func() { runtime.AddCleanup(new(emptyT), func(int) {}, 0).Stop() },
	// The runtime parses GOMEMLIMIT before main; the parent sets it to 12XB.
	"gomemlimit_malformed": func() {},
	"chan_send_closed": func() {
		c := make(chan int, 1)
		close(c)
		c <- 1
	},
	"chan_close_closed": func() {
		c := make(chan int, 1)
		close(c)
		close(c)
	},
	"deadlock": func() {
		c := make(chan int)
		<-c
	},
}

func misuseChild(name string, withRecover bool) {
	if withRecover {
		defer func() {
			if r := recover(); r != nil {
				fmt.Printf("recovered: %v\n", r)
			}
		}()
	}
	misuseCases[name]()
	fmt.Println("ok")
}

func misuse(name string) func() result {
	return func() result {
		env := map[string]string{}
		if name == "gomemlimit_malformed" {
			env["GOMEMLIMIT"] = "12XB"
		}
		plain := runChild(env, "misuse", name)
		rec := runChild(env, "misuse", name, "recover")
		first := ""
		for _, line := range strings.Split(plain.stdout+plain.stderr, "\n") {
			if strings.HasPrefix(line, "fatal error: ") || strings.HasPrefix(line, "panic: ") || line == "ok" {
				first = line
				break
			}
		}
		var recoverable any // null when nothing went wrong
		if first != "ok" {
			recoverable = rec.exit == 0 && strings.HasPrefix(rec.stdout, "recovered: ")
		}
		return result{"exit": plain.exit, "first_line": first, "recoverable": recoverable}
	}
}

// ---------------------------------------------------------------------------
// Heap scan work (issue 15, item 6)

type scanP24 struct {
	p    *int
	a, b int
}
type scan600First struct {
	p *int
	b [592]byte
}
type scan600Last struct {
	b [592]byte
	p *int
}
type scan40008First struct {
	p *int
	b [40000]byte
}
type scan40008Last struct {
	b [40000]byte
	p *int
}

var scanSamples = []metrics.Sample{{Name: "/gc/scan/heap:bytes"}}

// scanRow keeps n objects made by alloc alive through a GC and reports the heap scan
// work that cycle counted beyond the baseline cycle before them.
func scanRow(n int, alloc func(i int)) int64 {
	clearHolder()
	runtime.GC()
	metrics.Read(scanSamples)
	base := scanSamples[0].Value.Uint64()
	for i := 0; i < n; i++ {
		alloc(i)
	}
	runtime.GC()
	metrics.Read(scanSamples)
	clearHolder()
	return int64(scanSamples[0].Value.Uint64()) - int64(base)
}

// scanHeapWork: scanobject counts up to the last pointer word of the element type
// repeated to the end of the slot (malloc-header and large objects, per 128 KiB oblet);
// a small object scanned alone counts Len64(its pointer bits) words. With AVX-512 (not
// here: GODEBUG=cpu.avx512vl=off) a densely marked small span counts whole slots.
func scanHeapWork() result {
	metrics.Read(scanSamples)
	return result{
		"p24":         scanRow(100, func(i int) { holder[i] = unsafe.Pointer(new(scanP24)) }),
		"ptrs3":       scanRow(100, func(i int) { s := make([]*int, 3); holder[i] = unsafe.Pointer(&s[0]) }),
		"h600first":   scanRow(100, func(i int) { holder[i] = unsafe.Pointer(new(scan600First)) }),
		"h600last":    scanRow(100, func(i int) { holder[i] = unsafe.Pointer(new(scan600Last)) }),
		"l40008first": scanRow(10, func(i int) { holder[i] = unsafe.Pointer(new(scan40008First)) }),
		"l40008last":  scanRow(10, func(i int) { holder[i] = unsafe.Pointer(new(scan40008Last)) }),
		"ptrs20000":   scanRow(4, func(i int) { s := make([]*int, 20000); holder[i] = unsafe.Pointer(&s[0]) }),
		"noscan":      scanRow(100, func(i int) { holder[i] = unsafe.Pointer(new([64]byte)) }),
	}
}

// ---------------------------------------------------------------------------
// Process-state metrics (issue 15, item 9)

var procSamples = []metrics.Sample{{Name: "/sched/goroutines:goroutines"}, {Name: "/sched/threads/total:threads"},
	{Name: "/cgo/go-to-c-calls:calls"}, {Name: "/sync/mutex/wait/total:seconds"}, {Name: "/sched/latencies:seconds"}}
var procSamples2 = []metrics.Sample{{Name: "/sched/goroutines:goroutines"}, {Name: "/sched/threads/total:threads"},
	{Name: "/cgo/go-to-c-calls:calls"}, {Name: "/sync/mutex/wait/total:seconds"}, {Name: "/sched/latencies:seconds"}}

// processStateMetrics: Go's own goroutines count in /sched/goroutines (6 at start, plus
// one mark worker per P from the first GC); the other process-state metrics have values
// (not KindBad) in a non-cgo program.
func processStateMetrics() result {
	metrics.Read(procSamples)
	startG := u64(procSamples, 0)
	runtime.GC()
	metrics.Read(procSamples)
	ch := make(chan *int)
	var started int
	for i := 0; i < 100; i++ {
		go func(p *int) {
			started++
			if q := <-ch; q == p {
				panic("unreachable")
			}
		}(new(int))
	}
	for started < 100 {
		runtime.Gosched()
	}
	metrics.Read(procSamples2)
	close(ch)
	var godebug, godebugEvents uint64
	var gd []metrics.Sample
	for _, d := range metrics.All() {
		if strings.HasPrefix(d.Name, "/godebug/non-default-behavior/") {
			gd = append(gd, metrics.Sample{Name: d.Name})
		}
	}
	metrics.Read(gd)
	for _, s := range gd {
		godebug++
		godebugEvents += s.Value.Uint64()
	}
	return result{
		"goroutines_start":   startG,
		"goroutines_idle":    u64(procSamples, 0),
		"goroutines_100":     u64(procSamples2, 0),
		"threads":            u64(procSamples2, 1),
		"cgo_calls":          u64(procSamples2, 2),
		"mutex_wait_seconds": procSamples2[3].Value.Float64(),
		"latency_samples":    histTotal(procSamples2[4]) - histTotal(procSamples[4]),
		"godebug_metrics":    godebug,
		"godebug_events":     godebugEvents,
		"kinds": []metrics.ValueKind{procSamples2[0].Value.Kind(), procSamples2[1].Value.Kind(),
			procSamples2[2].Value.Kind(), procSamples2[3].Value.Kind(), procSamples2[4].Value.Kind()},
	}
}

// ---------------------------------------------------------------------------
// Goroutine stacks (issue 15, item 2)

var stackSamples = []metrics.Sample{{Name: "/gc/scan/stack:bytes"}, {Name: "/gc/stack/starting-size:bytes"}}
var stackStarted, stackDone int
var stackCh chan *int

// stackBlocked recurses depth times (152 bytes of frame each, one pointer live in
// every frame), then blocks on stackCh: 432 bytes of stack at depth 0.
//
//go:noinline
func stackBlocked(p *int, depth int) {
	if depth > 0 {
		var pad [8]*int
		pad[0] = p
		stackBlocked(pad[0], depth-1)
		holder[0] = unsafe.Pointer(pad[0])
		return
	}
	stackStarted++
	if q := <-stackCh; q == p {
		panic("unreachable")
	}
	stackDone++
}

func stackRow(n, depth int) result {
	stackCh = make(chan *int)
	stackStarted, stackDone = 0, 0
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	metrics.Read(stackSamples)
	scan0 := stackSamples[0].Value.Uint64()
	for i := 0; i < n; i++ {
		go stackBlocked(new(int), depth)
	}
	for stackStarted < n {
		runtime.Gosched()
	}
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms1)
	metrics.Read(stackSamples)
	scan1, start1 := stackSamples[0].Value.Uint64(), stackSamples[1].Value.Uint64()
	close(stackCh)
	for stackDone < n {
		runtime.Gosched()
	}
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms2)
	metrics.Read(stackSamples)
	return result{
		"StackInuse":          dlt(ms0.StackInuse, ms1.StackInuse),
		"StackSys":            dlt(ms0.StackSys, ms1.StackSys),
		"scan_stack":          int64(scan1) - int64(scan0),
		"starting_size":       start1,
		"after.scan_stack":    int64(stackSamples[0].Value.Uint64()) - int64(scan0),
		"after.starting_size": stackSamples[1].Value.Uint64(),
	}
}

// goroutineStacks: goroutines start on 2 KiB stacks from 32 KiB pool spans, grow by
// copying, and the mark scans the used part of every stack; the average scanned stack
// sets the next starting size (adaptivestackstart).
func goroutineStacks() result {
	return result{
		"g1":       stackRow(1, 0),
		"g100":     stackRow(100, 0),
		"g10000":   stackRow(10000, 0),
		"g100deep": stackRow(100, 10),
	}
}

// ---------------------------------------------------------------------------
// Memory outside the heap (issue 15, item 5)

type nhT struct {
	p *int
	v int
}

//go:noinline
func nhSetup(n int) {
	for i := 0; i < n; i++ {
		x := &nhT{p: new(int)}
		runtime.SetFinalizer(x, func(*nhT) { events <- "f" })
	}
}

// nonheapMemory: Go maps its metadata (GCSys), profiling tables (BuckHashSys) and other
// off-heap memory at start and never unmaps it: 1000 finalizers and two GCs later,
// Sys, GCSys and BuckHashSys have not shrunk.
func nonheapMemory() result {
	runtime.ReadMemStats(&ms0)
	nhSetup(1000)
	runtime.ReadMemStats(&ms1)
	gcCycle()
	gcCycle()
	runtime.ReadMemStats(&ms2)
	return result{
		"start.BuckHashSys":   ms0.BuckHashSys,
		"start.GCSys":         ms0.GCSys,
		"start.OtherSys":      ms0.OtherSys,
		"start.nonheap":       ms0.Sys - ms0.HeapSys,
		"Sys_never_shrinks":   ms1.Sys >= ms0.Sys && ms2.Sys >= ms1.Sys,
		"GCSys_never_shrinks": ms1.GCSys >= ms0.GCSys && ms2.GCSys >= ms1.GCSys,
		"BuckHashSys_same":    ms2.BuckHashSys == ms0.BuckHashSys,
	}
}
