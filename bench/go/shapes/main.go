// Command shapes measures real Go's collector on the heap shapes that `python3 -m bench`
// builds in goruntime and in CPython: N objects of type T (32 bytes, size class 4, two
// pointer words), linked as
//
//	list      node i -> node i+1, in allocation order
//	tree      a balanced binary tree in level order: node i -> 2i+1, 2i+2
//	graph     a random graph of out-degree 2: edge a follows one random cycle through
//	          every node (so all N are reachable from node 0), edge b goes to a uniformly
//	          random node
//	randlist  a list linked in random address order: node p[i] -> node p[i+1]
//
// with one global root. Every mode prints one JSON object on stdout.
//
//	-mode mark   build the shape, run runtime.GC() -warm times, then -runs times, and
//	             report for each measured cycle the mark CPU from runtime/metrics
//	             (/cpu/classes/gc/mark/{assist,dedicated,idle} deltas), the pause CPU
//	             (/cpu/classes/gc/pause) and the wall time of runtime.GC().
//	-mode sweep  per run: build an allocation-order list of N, collect once (all live),
//	             unlink every odd node (half the heap is garbage, every span half free),
//	             then time runtime.GC(). runtime.GC() returns only after the sweep is
//	             done, so sweep ~= wall - mark CPU - pause CPU (GOMAXPROCS=1: one P does
//	             all of it). spans = HeapInuse/8192 before the cycle (1-page spans).
//	-mode alloc  GC off; per run: N times &T{} into a preallocated slice; ns per object.
//	-mode new    the same with the default GOGC, so heap-triggered cycles are part of the
//	             cost (the counterpart of goruntime's rt.new handles); NumGC per run.
//	-mode rss    build an allocation-order list of N with the default GOGC, collect twice,
//	             report VmRSS/VmHWM (from /proc/self/status) and MemStats.HeapSys.
//
// Run it with GOMAXPROCS=1 (the harness does), and GODEBUG=gctrace=1 if you want the
// gctrace cross-check: each run reports its cycle number ("gc") so the harness can pair
// it with its gctrace line.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"
)

// T is the benchmark object: 32 bytes, pointer words 0 and 1.
type T struct {
	a, b *T
	x, y int
}

var root *T

const (
	mAssist = iota
	mDedicated
	mIdle
	mPause
	mObjects
	mCycles
	nMetrics
)

var metricNames = [nMetrics]string{
	"/cpu/classes/gc/mark/assist:cpu-seconds",
	"/cpu/classes/gc/mark/dedicated:cpu-seconds",
	"/cpu/classes/gc/mark/idle:cpu-seconds",
	"/cpu/classes/gc/pause:cpu-seconds",
	"/gc/heap/objects:objects",
	"/gc/cycles/total:gc-cycles",
}

type snap [nMetrics]float64

func read() (s snap) {
	samples := make([]metrics.Sample, nMetrics)
	for i := range samples {
		samples[i].Name = metricNames[i]
	}
	metrics.Read(samples)
	for i, x := range samples {
		switch x.Value.Kind() {
		case metrics.KindFloat64:
			s[i] = x.Value.Float64()
		case metrics.KindUint64:
			s[i] = float64(x.Value.Uint64())
		default:
			panic("metric not supported: " + x.Name)
		}
	}
	return s
}

// Cycle is one measured runtime.GC().
type Cycle struct {
	GC          int     `json:"gc"`          // NumGC after the cycle (pairs with gctrace "gc N")
	MarkCPUNs   float64 `json:"mark_cpu_ns"` // assist + dedicated + idle
	AssistNs    float64 `json:"assist_ns"`
	DedicatedNs float64 `json:"dedicated_ns"` // includes the fractional worker
	IdleNs      float64 `json:"idle_ns"`
	PauseNs     float64 `json:"pause_ns"`        // STW CPU (= wall at GOMAXPROCS=1)
	WallNs      float64 `json:"wall_ns"`         // runtime.GC(), mark + sweep
	CPUNs       float64 `json:"cpu_ns"`          // process CPU (getrusage) across runtime.GC()
	MarkAdjNs   float64 `json:"mark_cpu_adj_ns"` // mark_cpu_ns * cpu_ns / wall_ns (see cpuShare)
	SweepNs     float64 `json:"sweep_est_ns,omitempty"`
	SweepAdjNs  float64 `json:"sweep_est_adj_ns,omitempty"`
	Spans       float64 `json:"spans,omitempty"`
	Objects     float64 `json:"heap_objects"` // /gc/heap/objects after the cycle
	// CLOCK_MONOTONIC just before and after the cycle and its metric reads, so samples
	// that `perf record -k CLOCK_MONOTONIC` takes can be assigned to it (bench/markfit.py)
	T0MonoNs int64 `json:"t0_mono_ns"`
	T1MonoNs int64 `json:"t1_mono_ns"`
}

// monoNs reads CLOCK_MONOTONIC (the clock perf's -k CLOCK_MONOTONIC stamps samples with).
func monoNs() int64 {
	var ts syscall.Timespec
	syscall.Syscall(syscall.SYS_CLOCK_GETTIME, 1, uintptr(unsafe.Pointer(&ts)), 0)
	return ts.Nano()
}

// cpuTime is the process's user+system CPU time (getrusage), in ns.
func cpuTime() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Nano() + ru.Stime.Nano())
}

// measuredGC runs runtime.GC() between two metric reads.
//
// The mark CPU classes are wall time of the mark workers (nanotime), so on a loaded
// machine they include time the worker's thread was preempted by other processes. With
// GOMAXPROCS=1 runtime.GC() is one thread's work from start to end, so the fraction of
// its wall time the process actually ran (cpuShare = cpu_ns / wall_ns) converts them to
// CPU time: mark_cpu_adj_ns = mark_cpu_ns * cpuShare. On an idle machine cpuShare ~ 1.
func measuredGC() Cycle {
	m0 := monoNs()
	s0 := read()
	c0 := cpuTime()
	t0 := time.Now()
	runtime.GC()
	wall := time.Since(t0)
	cpu := cpuTime() - c0
	s1 := read()
	m1 := monoNs()
	c := Cycle{
		T0MonoNs:    m0,
		T1MonoNs:    m1,
		GC:          int(s1[mCycles]),
		AssistNs:    (s1[mAssist] - s0[mAssist]) * 1e9,
		DedicatedNs: (s1[mDedicated] - s0[mDedicated]) * 1e9,
		IdleNs:      (s1[mIdle] - s0[mIdle]) * 1e9,
		PauseNs:     (s1[mPause] - s0[mPause]) * 1e9,
		WallNs:      float64(wall.Nanoseconds()),
		Objects:     s1[mObjects],
	}
	c.MarkCPUNs = c.AssistNs + c.DedicatedNs + c.IdleNs
	c.CPUNs = cpu
	share := 1.0
	if c.WallNs > 0 && cpu < c.WallNs {
		share = cpu / c.WallNs
	}
	c.MarkAdjNs = c.MarkCPUNs * share
	return c
}

func alloc(n int) []*T {
	nodes := make([]*T, n)
	for i := range nodes {
		nodes[i] = &T{x: i}
	}
	return nodes
}

func build(shape string, n int, seed uint64) *T {
	nodes := alloc(n)
	r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	switch shape {
	case "list":
		for i := 0; i+1 < n; i++ {
			nodes[i].a = nodes[i+1]
		}
		return nodes[0]
	case "tree":
		for i := range nodes {
			if 2*i+1 < n {
				nodes[i].a = nodes[2*i+1]
			}
			if 2*i+2 < n {
				nodes[i].b = nodes[2*i+2]
			}
		}
		return nodes[0]
	case "graph":
		p := r.Perm(n)
		for i := range p {
			nodes[p[i]].a = nodes[p[(i+1)%n]]
		}
		for i := range nodes {
			nodes[i].b = nodes[r.IntN(n)]
		}
		return nodes[0]
	case "randlist":
		p := r.Perm(n)
		for i := 0; i+1 < n; i++ {
			nodes[p[i]].a = nodes[p[i+1]]
		}
		return nodes[p[0]]
	}
	fmt.Fprintln(os.Stderr, "shapes: unknown shape", shape)
	os.Exit(2)
	return nil
}

func procStatus() map[string]float64 {
	out := map[string]float64{}
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return out
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		fs := strings.Fields(v)
		if kb, err := strconv.ParseFloat(fs[0], 64); err == nil {
			out[k] = kb * 1024
		}
	}
	return out
}

func main() {
	mode := flag.String("mode", "mark", "mark, sweep, alloc, new or rss")
	shape := flag.String("shape", "list", "list, tree, graph or randlist")
	n := flag.Int("n", 1_000_000, "objects")
	runs := flag.Int("runs", 5, "measured repetitions")
	warm := flag.Int("warm", 2, "unmeasured runtime.GC() calls before the measured ones")
	seed := flag.Uint64("seed", 1, "random seed (graph, randlist)")
	flag.Parse()

	out := map[string]any{"mode": *mode, "n": *n, "runs": *runs,
		"go": runtime.Version(), "gomaxprocs": runtime.GOMAXPROCS(0)}
	var cycles []Cycle
	switch *mode {
	case "mark":
		out["shape"] = *shape
		old := debug.SetGCPercent(-1) // build without heap-triggered cycles
		t0 := time.Now()
		root = build(*shape, *n, *seed)
		out["build_ns"] = time.Since(t0).Nanoseconds()
		debug.SetGCPercent(old)
		for i := 0; i < *warm; i++ {
			runtime.GC()
		}
		for i := 0; i < *runs; i++ {
			cycles = append(cycles, measuredGC())
		}
	case "sweep":
		for i := 0; i < *runs; i++ {
			old := debug.SetGCPercent(-1)
			root = build("list", *n, *seed)
			runtime.GC() // everything live; the build slice is freed
			for x := root; x != nil && x.a != nil; x = x.a {
				x.a = x.a.a // the odd node becomes garbage
			}
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			c := measuredGC()
			c.Spans = float64(ms.HeapInuse / 8192)
			c.SweepNs = c.WallNs - c.MarkCPUNs - c.PauseNs
			c.SweepAdjNs = c.SweepNs * c.CPUNs / c.WallNs
			cycles = append(cycles, c)
			root = nil
			runtime.GC()
			debug.SetGCPercent(old)
		}
	case "alloc", "new":
		old := 100
		if *mode == "alloc" {
			old = debug.SetGCPercent(-1)
		}
		var ns, cpu []float64
		var numGC []uint32
		for i := 0; i < *runs; i++ {
			s := make([]*T, *n)
			var m0, m1 runtime.MemStats
			runtime.ReadMemStats(&m0)
			c0 := cpuTime()
			t0 := time.Now()
			for j := range s {
				s[j] = &T{}
			}
			ns = append(ns, float64(time.Since(t0).Nanoseconds()))
			cpu = append(cpu, cpuTime()-c0)
			runtime.ReadMemStats(&m1)
			numGC = append(numGC, m1.NumGC-m0.NumGC)
			runtime.KeepAlive(s)
			s = nil
			runtime.GC()
		}
		debug.SetGCPercent(old)
		out["alloc_ns"] = ns
		out["alloc_cpu_ns"] = cpu
		out["num_gc"] = numGC
	case "rss":
		root = build("list", *n, *seed)
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		st := procStatus()
		out["rss_bytes"] = st["VmRSS"]
		out["hwm_bytes"] = st["VmHWM"]
		out["heap_sys"] = ms.HeapSys
		out["heap_inuse"] = ms.HeapInuse
		out["heap_alloc"] = ms.HeapAlloc
		out["sys"] = ms.Sys
		out["num_gc"] = ms.NumGC
	default:
		fmt.Fprintln(os.Stderr, "shapes: unknown mode", *mode)
		os.Exit(2)
	}
	runtime.KeepAlive(root)
	out["cycles"] = cycles
	b, _ := json.Marshal(out)
	fmt.Println(string(b))
}
