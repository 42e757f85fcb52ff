// Command tracer runs one allocation scenario under runtime/trace with
// GODEBUG=traceallocfree=1 and prints the program's own MemStats deltas as JSON.
//
//	tracer SCENARIO TRACE_FILE [SCALE]
//
// SCALE (default 1) divides every loop count: the test suite commits a small trace
// made with SCALE 50; the benchmark makes a 10M-allocation one with SCALE 0.05.
//
// The trace is started first; the MemStats are read right after (their STW is the
// "read mem stats" event that opens the measured window) and again at the end
// (closing it), then the trace is stopped. Scenarios:
//
//	steady  a fixed-size working set of mixed objects, replaced at random
//	bursty  quiet phases and bursts that build a large transient set, then drop it
//	cache   a cache that grows (with some eviction) for the whole run
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"runtime/trace"
)

type node struct {
	next  *node
	left  *node
	key   int64
	value [4]int64
}

type record struct {
	name    string
	payload []byte
	refs    []*node
	id      int64
}

var sink any

// rng is a deterministic xorshift generator (no math/rand: same sequence every run).
type rng uint64

func (r *rng) next() uint64 {
	x := uint64(*r)
	x ^= x << 13
	x ^= x >> 7
	x ^= x << 17
	*r = rng(x)
	return x
}

func (r *rng) intn(n int) int { return int(r.next() % uint64(n)) }

// object allocates one of a mix of shapes: pointerful structs, byte slices of many
// sizes (noscan), pointer slices, small strings (tiny allocs), an occasional large buffer.
func object(r *rng) any {
	switch k := r.intn(100); {
	case k < 30:
		return &node{key: int64(k)}
	case k < 50:
		return make([]byte, 8+r.intn(600))
	case k < 60:
		b := make([]byte, 1+r.intn(14))
		return string(b) // tiny (noscan, < 16 bytes)
	case k < 70:
		return make([]*node, 1+r.intn(100))
	case k < 85:
		return &record{id: int64(k), payload: make([]byte, 32)}
	case k < 99:
		return make([]int64, 1+r.intn(2000))
	default:
		return make([]byte, 33000+r.intn(70000)) // large
	}
}

var scale = 1.0

func n(x int) int { return max(int(float64(x)/scale), 1) }

func steady(r *rng) {
	live := make([]any, n(20000))
	for i := 0; i < n(300000); i++ {
		live[r.intn(len(live))] = object(r)
	}
	sink = live
}

func bursty(r *rng) {
	for phase := 0; phase < 6; phase++ {
		for i := 0; i < n(30000); i++ { // quiet: garbage only
			sink = object(r)
		}
		burst := make([]any, 0, n(40000))
		for i := 0; i < n(40000); i++ {
			burst = append(burst, object(r))
		}
		sink = burst
		sink = nil
	}
}

func cache(r *rng) {
	m := make(map[int]any)
	for i := 0; i < n(200000); i++ {
		m[i] = object(r)
		if i%4 == 0 { // evict one older entry in four
			delete(m, r.intn(i+1))
		}
		if i%3 == 0 {
			sink = object(r) // plus some garbage
		}
	}
	sink = m
}

func main() {
	if len(os.Args) != 3 && len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: tracer steady|bursty|cache TRACE_FILE [SCALE]")
		os.Exit(2)
	}
	if len(os.Args) == 4 {
		if _, err := fmt.Sscan(os.Args[3], &scale); err != nil || !(scale > 0) {
			fmt.Fprintln(os.Stderr, "bad SCALE", os.Args[3])
			os.Exit(2)
		}
	}
	work := map[string]func(*rng){"steady": steady, "bursty": bursty, "cache": cache}[os.Args[1]]
	if work == nil {
		fmt.Fprintln(os.Stderr, "unknown scenario", os.Args[1])
		os.Exit(2)
	}
	f, err := os.Create(os.Args[2])
	if err != nil {
		panic(err)
	}
	samples := []metrics.Sample{{Name: "/gc/heap/tiny/allocs:objects"}}
	var m0, m1 runtime.MemStats
	if err := trace.Start(f); err != nil {
		panic(err)
	}
	runtime.ReadMemStats(&m0)
	metrics.Read(samples)
	tiny0 := samples[0].Value.Uint64()
	r := rng(0x9E3779B97F4A7C15)
	work(&r)
	runtime.ReadMemStats(&m1)
	metrics.Read(samples)
	tiny1 := samples[0].Value.Uint64()
	trace.Stop()
	if err := f.Close(); err != nil {
		panic(err)
	}
	type class struct {
		Size           uint32
		Mallocs, Frees uint64
	}
	out := struct {
		Mallocs, Frees, TotalAlloc, TinyAllocs uint64
		NumGC, NumForcedGC                     uint32
		GOGC                                   int
		MemoryLimit                            int64
		GOMAXPROCS                             int
		BySize                                 []class
	}{
		Mallocs: m1.Mallocs - m0.Mallocs, Frees: m1.Frees - m0.Frees,
		TotalAlloc: m1.TotalAlloc - m0.TotalAlloc, TinyAllocs: tiny1 - tiny0,
		NumGC: m1.NumGC - m0.NumGC, NumForcedGC: m1.NumForcedGC - m0.NumForcedGC,
		GOGC:        debug.SetGCPercent(100),
		MemoryLimit: debug.SetMemoryLimit(-1),
		GOMAXPROCS:  runtime.GOMAXPROCS(0),
	}
	for i := range m1.BySize {
		out.BySize = append(out.BySize, class{m1.BySize[i].Size,
			m1.BySize[i].Mallocs - m0.BySize[i].Mallocs, m1.BySize[i].Frees - m0.BySize[i].Frees})
	}
	json.NewEncoder(os.Stdout).Encode(out)
}
