// Command markcal measures what Go 1.27's mark costs per object and per scanned byte as a
// function of the heap's shape: how the objects are linked (a tree built bottom-up as
// binary-trees builds it, a tree in level order, a list in either allocation order, a
// list in random order) and how densely the marked objects fill their spans (every
// object of the span live, or 1 in k), for 16-, 64- and 256-byte objects (all in Green
// Tea's span-batched size range). goruntime's cost table (goruntime/clock.py, COSTS:
// mark_object, mark_span...) is fitted on these figures by bench/clockcal.py (fit_mark).
//
// Each shape: a pool of k*n objects is allocated in one run (consecutive slots of fresh
// spans), the shape links every k-th of them (node j = the (j*k)-th allocation), the pool
// is dropped and two cycles free the rest, so every span holds the shape's objects at
// density 1/k. Then runtime.GC() runs `reps` times; each row is the median over them of
// the mark CPU (/cpu/classes/gc/mark/{assist,dedicated,idle}:cpu-seconds deltas) and
// the cycle's /gc/scan/heap:bytes, with the span count (HeapInuse/8192, one-page
// spans). An empty heap's row comes first (the runtime's own roots and data: subtract
// it). Run it with GOMAXPROCS=1 at Go's defaults (Green Tea, the packed span scan on).
// It prints one JSON object.
package main

import (
	"encoding/json"
	"math/rand"
	"os"
	"runtime"
	"runtime/metrics"
	"sort"
	"syscall"
)

const reps = 15

type n16 struct{ a, b *n16 }
type n64 struct {
	a, b *n64
	_    [6]int64
}
type n256 struct {
	a, b *n256
	_    [30]int64
}

var samples = []metrics.Sample{
	{Name: "/cpu/classes/gc/mark/assist:cpu-seconds"},
	{Name: "/cpu/classes/gc/mark/dedicated:cpu-seconds"},
	{Name: "/cpu/classes/gc/mark/idle:cpu-seconds"},
	{Name: "/gc/scan/heap:bytes"},
}

type row struct {
	Shape     string  `json:"shape"`
	Size      int     `json:"size"`
	K         int     `json:"k"` // 1 in k slots of each span live
	Objects   int     `json:"objects"`
	Spans     uint64  `json:"spans"`
	ScanBytes uint64  `json:"scan_bytes"`
	MarkNs    float64 `json:"mark_ns"`
	MarkNsMin float64 `json:"mark_ns_min"`
	CPUNs     float64 `json:"cpu_ns"` // the process's CPU time (rusage) of runtime.GC(), median
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func minimum(xs []float64) float64 {
	m := xs[0]
	for _, x := range xs {
		m = min(m, x)
	}
	return m
}

func cpuNs() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Nano() + ru.Stime.Nano())
}

func markCPU() float64 {
	metrics.Read(samples)
	return (samples[0].Value.Float64() + samples[1].Value.Float64() + samples[2].Value.Float64()) * 1e9
}

// measure: the shape is live (held by the caller); reps forced cycles.
func measure(shape string, size, k, n int) row {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	var xs, cs []float64
	var scan uint64
	for r := 0; r < reps; r++ {
		m0 := markCPU()
		c0 := cpuNs()
		runtime.GC()
		c1 := cpuNs()
		xs = append(xs, markCPU()-m0)
		cs = append(cs, c1-c0)
		scan = samples[3].Value.Uint64()
	}
	return row{shape, size, k, n, ms.HeapInuse / 8192, scan, median(xs), minimum(xs), median(cs)}
}

// link returns, for node j, its two children's indices (-1: nil) and the root's index.
type shape struct {
	name string
	kids func(j, n int) (int, int)
	root func(n int) int
}

var perm []int // random order for randlist


var post [][2]int // post[j]: children of node j in a bottom-up (postorder) tree

// buildPost lays a complete tree of n = 2^d - 1 nodes out in postorder (children
// allocated before their parent, as binary-trees' bottomUpTree does).
func buildPost(n int) {
	post = make([][2]int, n)
	var rec func(start, size int) int
	rec = func(start, size int) int {
		if size == 1 {
			post[start] = [2]int{-1, -1}
			return start
		}
		h := (size - 1) / 2
		l := rec(start, h)
		r := rec(start+h, h)
		post[start+2*h] = [2]int{l, r}
		return start + 2*h
	}
	rec(0, n)
}

var shapes = []shape{
	{"tree_bottomup", func(j, n int) (int, int) { return post[j][0], post[j][1] }, func(n int) int { return n - 1 }},
	{"tree_level", func(j, n int) (int, int) {
		a, b := 2*j+1, 2*j+2
		if a >= n {
			a = -1
		}
		if b >= n {
			b = -1
		}
		return a, b
	}, func(n int) int { return 0 }},
	{"list_back", func(j, n int) (int, int) { return j - 1, -1 }, func(n int) int { return n - 1 }}, // head = &T{next: head}
	{"list_fwd", func(j, n int) (int, int) {
		if j+1 < n {
			return j + 1, -1
		}
		return -1, -1
	}, func(n int) int { return 0 }},
	{"list_random", func(j, n int) (int, int) {
		// perm[i] -> perm[i+1]: the node at position i of the walk points to the next
		if perm[j] < 0 {
			return -1, -1
		}
		return perm[j], -1
	}, func(n int) int { return perm[n] }},
}

var keep16 *n16
var keepNoscan []*[2]int64
var keepWide []*[16384]*int
var wideTarget = new(int)

// runNoscan: a slice of n pointers to 16-byte pointer-free objects (1 in k of their
// spans' slots live): the mark's cost per object that is marked and never scanned.
func runNoscan(k, n int) row {
	pool := make([]*[2]int64, k*n)
	for i := range pool {
		pool[i] = new([2]int64)
	}
	keepNoscan = make([]*[2]int64, n)
	for j := range keepNoscan {
		keepNoscan[j] = pool[j*k]
	}
	pool = nil
	r := measure("noscan", 16, k, n)
	keepNoscan = nil
	return r
}

// runWide: n large arrays of 16384 pointers, all to one object: the cost per pointer
// word scanned (the oracle's time_mark_bytes shape).
func runWide(n int) row {
	keepWide = make([]*[16384]*int, n)
	for i := range keepWide {
		w := new([16384]*int)
		for j := range w {
			w[j] = wideTarget
		}
		keepWide[i] = w
	}
	r := measure("wide", 16384*8, 1, n)
	keepWide = nil
	return r
}
var keep64 *n64
var keep256 *n256

func run16(s shape, k, n int) row {
	pool := make([]*n16, k*n)
	for i := range pool {
		pool[i] = new(n16)
	}
	for j := 0; j < n; j++ {
		a, b := s.kids(j, n)
		x := pool[j*k]
		if a >= 0 {
			x.a = pool[a*k]
		}
		if b >= 0 {
			x.b = pool[b*k]
		}
	}
	keep16 = pool[s.root(n)*k]
	pool = nil
	r := measure(s.name, 16, k, n)
	keep16 = nil
	return r
}

func run64(s shape, k, n int) row {
	pool := make([]*n64, k*n)
	for i := range pool {
		pool[i] = new(n64)
	}
	for j := 0; j < n; j++ {
		a, b := s.kids(j, n)
		x := pool[j*k]
		if a >= 0 {
			x.a = pool[a*k]
		}
		if b >= 0 {
			x.b = pool[b*k]
		}
	}
	keep64 = pool[s.root(n)*k]
	pool = nil
	r := measure(s.name, 64, k, n)
	keep64 = nil
	return r
}

func run256(s shape, k, n int) row {
	pool := make([]*n256, k*n)
	for i := range pool {
		pool[i] = new(n256)
	}
	for j := 0; j < n; j++ {
		a, b := s.kids(j, n)
		x := pool[j*k]
		if a >= 0 {
			x.a = pool[a*k]
		}
		if b >= 0 {
			x.b = pool[b*k]
		}
	}
	keep256 = pool[s.root(n)*k]
	pool = nil
	r := measure(s.name, 256, k, n)
	keep256 = nil
	return r
}

func setup(n int) {
	buildPost(n)
	rng := rand.New(rand.NewSource(1))
	order := rng.Perm(n)
	// perm[order[i]] = order[i+1]; the walk starts at order[0] (stored at perm[n])
	perm = make([]int, n+1)
	for i := 0; i < n; i++ {
		if i+1 < n {
			perm[order[i]] = order[i+1]
		} else {
			perm[order[i]] = -1
		}
	}
	perm[n] = order[0]
}

func main() {
	out := map[string]any{"go_version": runtime.Version(), "gomaxprocs": runtime.GOMAXPROCS(0), "reps": reps}
	var rows []row
	rows = append(rows, measure("empty", 0, 1, 0))
	rows = append(rows, runWide(16), runWide(64))
	const n16n = 1<<17 - 1
	for _, k := range []int{1, 4, 32} {
		rows = append(rows, runNoscan(k, n16n))
	}
	setup(n16n)
	for _, s := range shapes {
		for _, k := range []int{1, 2, 4, 8, 16, 32} {
			rows = append(rows, run16(s, k, n16n))
		}
	}
	const n64n = 1<<15 - 1
	setup(n64n)
	for _, s := range shapes {
		for _, k := range []int{1, 4, 16} {
			rows = append(rows, run64(s, k, n64n))
		}
	}
	for _, s := range shapes {
		for _, k := range []int{1, 4} {
			rows = append(rows, run256(s, k, n64n))
		}
	}
	out["rows"] = rows
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", " ")
	enc.Encode(out)
}
