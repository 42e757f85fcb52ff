// Command clockcal measures what goruntime's virtual clock charges (goruntime/clock.py,
// COSTS) on real Go: the mutator's operations (allocation by path and size, pointer and
// integer stores, field loads, goroutine switches, channel operations, go statements) and
// the collector's (mark CPU per object and per scanned byte, the two stop-the-world pauses
// by goroutine count and heap size, the sweep per span, a finalizer's run).
//
// Run with GOMAXPROCS=1 (bench/clockcal.py does, several times, and fits the table). It
// prints one JSON object. Every figure is the median of `reps` timed repetitions; the
// mutator loops run with GOGC=off (a GC between repetitions, not timed) so that no GC
// work is in them, and with every span freshly swept.
package main

import (
	"encoding/json"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sort"
	"time"
	"unsafe"
)

const reps = 7

type node struct {
	next *node
	v    [6]int64
}

type wide struct {
	p [128]*node // 1024 bytes, every word a pointer slot (nil): the scan reads all of it
}

var (
	sinkB    []byte
	sinkP    []*node
	sinkN    *node
	sinkI    *int64
	sinkW    *wide
	keepN    []*node
	keepW    []*wide
	objs     []*node
	sinkSum  int64
	parked   chan struct{}
	finCount int
)

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}

// perOp times f(n) reps times (GC off, a forced GC before each) and returns ns per op.
func perOp(n int, f func(n int)) float64 {
	old := debug.SetGCPercent(-1)
	defer debug.SetGCPercent(old)
	var xs []float64
	for r := 0; r < reps; r++ {
		runtime.GC()
		t0 := time.Now()
		f(n)
		xs = append(xs, float64(time.Since(t0).Nanoseconds())/float64(n))
	}
	return median(xs)
}

var gcTotal = []metrics.Sample{{Name: "/cpu/classes/gc/total:cpu-seconds"}}

// perAlloc times f(n) reps times with the GC on (GOGC=100, a small live heap: the steady
// state of an allocating program, with the proportional sweep the mutator does) and
// returns the mutator's ns per op: wall time minus the GC CPU of the cycles in between
// (/cpu/classes/gc/total, accumulated at each mark termination; a forced GC at the end
// of each repetition closes the last cycle and is subtracted the same way).
func perAlloc(n int, f func(n int)) float64 {
	var xs []float64
	for r := 0; r < reps; r++ {
		runtime.GC()
		metrics.Read(gcTotal)
		g0 := gcTotal[0].Value.Float64()
		t0 := time.Now()
		f(n)
		wall := float64(time.Since(t0).Nanoseconds())
		metrics.Read(gcTotal)
		g1 := gcTotal[0].Value.Float64()
		xs = append(xs, (wall-(g1-g0)*1e9)/float64(n))
	}
	return median(xs)
}

type allocRow struct {
	Path string  `json:"path"`
	Size int     `json:"size"`
	Ns   float64 `json:"ns"`
}

func allocs() []allocRow {
	var rows []allocRow
	rows = append(rows, allocRow{"tiny", 8, perAlloc(1<<20, func(n int) {
		for i := 0; i < n; i++ {
			sinkI = new(int64)
		}
	})})
	for _, size := range []int{16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768} {
		n := (32 << 20) / size
		if n > 1<<20 {
			n = 1 << 20
		}
		rows = append(rows, allocRow{"small_noscan", size, perAlloc(n, func(n int) {
			for i := 0; i < n; i++ {
				sinkB = make([]byte, size)
			}
		})})
		rows = append(rows, allocRow{"small_scan", size, perAlloc(n, func(n int) {
			for i := 0; i < n; i++ {
				sinkP = make([]*node, size/8)
			}
		})})
	}
	for _, size := range []int{40960, 65536, 131072, 262144, 1 << 20} {
		n := (128 << 20) / size
		rows = append(rows, allocRow{"large_noscan", size, perAlloc(n, func(n int) {
			for i := 0; i < n; i++ {
				sinkB = make([]byte, size)
			}
		})})
		rows = append(rows, allocRow{"large_scan", size, perAlloc(n, func(n int) {
			for i := 0; i < n; i++ {
				sinkP = make([]*node, size/8)
			}
		})})
	}
	return rows
}

func ops() map[string]float64 {
	out := map[string]float64{}
	objs = make([]*node, 1024)
	for i := range objs {
		objs[i] = &node{}
	}
	const n = 1 << 22
	// the loop itself (index, mask, load of the slice): subtracted from the rows below
	loop := perOp(n, func(n int) {
		var s int64
		for i := 0; i < n; i++ {
			s += int64(uintptr(unsafe.Pointer(objs[i&1023])) & 1)
		}
		sinkSum = s
	})
	out["loop_ns"] = loop
	out["store_ptr_ns"] = perOp(n, func(n int) {
		for i := 0; i < n; i++ {
			objs[i&1023].next = objs[(i+1)&1023]
		}
	}) - loop
	out["store_int_ns"] = perOp(n, func(n int) {
		for i := 0; i < n; i++ {
			objs[i&1023].v[1] = int64(i)
		}
	}) - loop
	out["load_ns"] = perOp(n, func(n int) {
		var s int64
		for i := 0; i < n; i++ {
			s += objs[i&1023].v[2]
		}
		sinkSum = s
	}) - loop
	out["gosched_ns"] = perOp(1<<18, func(n int) {
		done := make(chan struct{})
		go func() {
			for i := 0; i < n; i++ {
				runtime.Gosched()
			}
			close(done)
		}()
		for i := 0; i < n; i++ {
			runtime.Gosched()
		}
		<-done
	}) / 2 // two Gosched calls (two switches) per iteration
	out["chan_buffered_ns"] = perOp(1<<20, func(n int) {
		c := make(chan int, 1)
		for i := 0; i < n; i++ {
			c <- i
			<-c
		}
	}) / 2
	out["chan_pingpong_ns"] = perOp(1<<18, func(n int) {
		a, b := make(chan int), make(chan int)
		go func() {
			for v := range a {
				b <- v
			}
		}()
		for i := 0; i < n; i++ {
			a <- i
			<-b
		}
		close(a)
	}) // one round trip: two sends, two receives, two switches
	out["go_ns"] = perOp(1<<17, func(n int) {
		done := make(chan struct{}, 1)
		for i := 0; i < n; i++ {
			go func() { done <- struct{}{} }()
			<-done
		}
	}) // go statement, one switch there and back, one buffered send/recv, goroutine exit
	return out
}

var gcSamples = []metrics.Sample{
	{Name: "/cpu/classes/gc/mark/assist:cpu-seconds"},
	{Name: "/cpu/classes/gc/mark/dedicated:cpu-seconds"},
	{Name: "/cpu/classes/gc/mark/idle:cpu-seconds"},
	{Name: "/gc/scan/heap:bytes"},
}

type gcRow struct {
	Shape      string  `json:"shape"`
	GCs        []uint32 `json:"gcs"` // NumGC of each repetition (gctrace's "gc N")
	Objects    int     `json:"objects"`
	ScanBytes  uint64  `json:"scan_bytes"`
	MarkNs     float64 `json:"mark_ns"`
	PauseNs    float64 `json:"pause_ns"`
	Goroutines int     `json:"goroutines"`
	HeapBytes  uint64  `json:"heap_bytes"`
	GCWallNs   float64 `json:"gc_wall_ns"`
}

// forced runs runtime.GC() reps times and reports the medians of the mark CPU (assist +
// dedicated + idle workers), the pause (PauseNs: both STWs) and runtime.GC's wall time.
func forced(shape string, objects, goroutines int) gcRow {
	return forcedN(shape, objects, goroutines, reps)
}

func forcedN(shape string, objects, goroutines, n int) gcRow {
	var marks, pauses, walls []float64
	var gcs []uint32
	var scan uint64
	var ms runtime.MemStats
	for r := 0; r < n; r++ {
		metrics.Read(gcSamples)
		m0 := gcSamples[0].Value.Float64() + gcSamples[1].Value.Float64() + gcSamples[2].Value.Float64()
		t0 := time.Now()
		runtime.GC()
		wall := float64(time.Since(t0).Nanoseconds())
		metrics.Read(gcSamples)
		m1 := gcSamples[0].Value.Float64() + gcSamples[1].Value.Float64() + gcSamples[2].Value.Float64()
		scan = gcSamples[3].Value.Uint64()
		runtime.ReadMemStats(&ms)
		marks = append(marks, (m1-m0)*1e9)
		pauses = append(pauses, float64(ms.PauseNs[(ms.NumGC+255)%256]))
		walls = append(walls, wall)
		gcs = append(gcs, ms.NumGC)
	}
	return gcRow{shape, gcs, objects, scan, median(marks), median(pauses), goroutines, ms.HeapAlloc, median(walls)}
}

func gcRows() []gcRow {
	var rows []gcRow
	sinkB, sinkP, sinkN, sinkI, sinkW, objs = nil, nil, nil, nil, nil, nil
	rows = append(rows, forced("empty", 0, 0))
	for _, n := range []int{100000, 400000} {
		keepN = make([]*node, 0, n)
		for i := 0; i < n; i++ {
			keepN = append(keepN, &node{})
		}
		rows = append(rows, forced("node64", n, 0))
		keepN = nil
	}
	for _, n := range []int{10000, 40000} {
		keepW = make([]*wide, 0, n)
		for i := 0; i < n; i++ {
			keepW = append(keepW, &wide{})
		}
		rows = append(rows, forced("wide1024", n, 0))
		keepW = nil
	}
	runtime.GC()
	parked = make(chan struct{})
	started := 0
	for _, g := range []int{1000, 10000} {
		for ; started < g; started++ {
			go func() {
				x := &node{} // one pointer on each stack
				<-parked
				sinkN = x
			}()
		}
		runtime.Gosched()
		rows = append(rows, forced("goroutines", 0, g))
	}
	close(parked)
	return rows
}

// finalizers: the cost of one queued finalizer's run on the finalizer goroutine: a GC
// that queues n finalizers and the wait until all ran, minus the same GC over n objects
// without finalizers.
func finalizers() float64 {
	const n = 20000
	var xs []float64
	for r := 0; r < reps; r++ {
		keepN = make([]*node, n)
		for i := range keepN {
			keepN[i] = &node{}
		}
		runtime.GC()
		keepN = nil
		t0 := time.Now()
		runtime.GC()
		plain := time.Since(t0).Nanoseconds()
		finCount = 0
		for i := 0; i < n; i++ {
			runtime.SetFinalizer(&node{}, func(*node) { finCount++ })
		}
		runtime.GC()
		t0 = time.Now()
		runtime.GC()
		for finCount < n {
			runtime.Gosched()
		}
		xs = append(xs, float64(time.Since(t0).Nanoseconds()-plain)/n)
	}
	return median(xs)
}

func main() {
	out := map[string]any{
		"go_version": runtime.Version(),
		"gomaxprocs": runtime.GOMAXPROCS(0),
		"reps":       reps,
	}
	out["cold"] = forcedN("cold", 0, 0, 1) // a fresh process's first cycle (short programs have few)
	out["alloc"] = allocs()
	out["ops"] = ops()
	out["gc"] = gcRows()
	out["finalizer_ns"] = finalizers()
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", " ")
	enc.Encode(out)
}
