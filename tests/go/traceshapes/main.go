// Command traceshapes runs one allocation shape under runtime/trace with
// GODEBUG=traceallocfree=1 and prints the program's own MemStats deltas as JSON (the
// same JSON as tests/go/tracer). Shapes the tracer's three scenarios do not have:
//
//	tiny      tiny-allocator blocks (small noscan strings and arrays), zero-size values
//	large     large objects (> 32 KiB, several pages), scan and noscan, some kept
//	growth    slices, maps and strings grown by append / insert / concatenation
//	settings  runtime.GC, debug.SetGCPercent and debug.SetMemoryLimit during the trace
//	late      trace.Start after 5000 objects exist (a heap snapshot at the start)
//	short     a few hundred allocations: no GC in the trace
//	midcycle  trace.Stop while a runtime.GC started by another goroutine is running
//	many      8 goroutines allocating at once (run it with GOMAXPROCS > 1 too)
//
//	traceshapes SHAPE TRACE_FILE
//
// The window: the first ReadMemStats right after trace.Start, the second after the work
// (the tests take the trace's two "read mem stats" stop-the-worlds as its ends).
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"runtime/trace"
	"strconv"
	"sync"
)

var sink any
var keep []any

type big struct {
	p *int
	b [40000]byte
}

func tiny() {
	for i := 0; i < 20000; i++ {
		sink = strconv.Itoa(i)
		sink = new([3]byte)
		var z struct{}
		sink = &z // zero-size: no allocation
		sink = make([]int, 0)
		sink = new(int64)
	}
}

func large() {
	for i := 0; i < 300; i++ {
		sink = make([]byte, 33*1024+i*17)
		sink = make([]*int, 9000+i) // pointerful, several pages
		sink = new(big)
		if i%7 == 0 {
			keep = append(keep, make([]byte, 1<<20))
		}
	}
	keep = nil
}

func growth() {
	for k := 0; k < 300; k++ {
		var s []int
		m := map[int]string{}
		str := ""
		for i := 0; i < 2000; i++ {
			s = append(s, i)
			m[i] = "v"
			if i%50 == 0 {
				str += "abcdefgh"
			}
		}
		sink, sink, sink = s, m, str
	}
}

func many() {
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			var loc []any
			for i := 0; i < 20000; i++ {
				loc = append(loc, make([]byte, 16+(i*g)%3000))
				if len(loc) > 500 {
					loc = loc[:0]
				}
				if i%100 == 0 {
					runtime.Gosched()
				}
			}
		}(g)
	}
	wg.Wait()
}

func settings() {
	const n = 20000
	for i := 0; i < n; i++ {
		keep = append(keep, make([]byte, 4096))
		switch i {
		case n / 4:
			runtime.GC()
			debug.SetGCPercent(30)
		case n / 2:
			debug.SetMemoryLimit(8 << 20)
			debug.SetGCPercent(-1)
		case 3 * n / 4:
			debug.SetMemoryLimit(1 << 62)
			debug.SetGCPercent(200)
			keep = keep[:0]
			runtime.GC()
		}
	}
	keep = nil
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: traceshapes SHAPE TRACE_FILE")
		os.Exit(2)
	}
	shape := os.Args[1]
	work := map[string]func(){
		"tiny": tiny, "large": large, "growth": growth, "settings": settings, "many": many,
		"late": func() { tiny(); keep = nil },
		"short": func() {
			for i := 0; i < 200; i++ {
				sink = make([]byte, 100)
			}
		},
		"midcycle": func() {
			for i := 0; i < 200000; i++ {
				keep = append(keep, make([]byte, 256))
				if len(keep) > 20000 {
					keep = keep[:0]
				}
			}
		},
	}[shape]
	if work == nil {
		fmt.Fprintln(os.Stderr, "unknown shape", shape)
		os.Exit(2)
	}
	if shape == "late" {
		for i := 0; i < 5000; i++ {
			keep = append(keep, make([]byte, 64+i%500))
		}
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
	work()
	runtime.ReadMemStats(&m1)
	metrics.Read(samples)
	tiny1 := samples[0].Value.Uint64()
	if shape == "midcycle" {
		done := make(chan bool)
		go func() { runtime.GC(); done <- true }()
		for i := 0; i < 200000; i++ {
			sink = make([]byte, 512)
		}
		trace.Stop()
		<-done
	} else {
		trace.Stop()
	}
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
		GOMAXPROCS                             int
		BySize                                 []class
	}{
		Mallocs: m1.Mallocs - m0.Mallocs, Frees: m1.Frees - m0.Frees,
		TotalAlloc: m1.TotalAlloc - m0.TotalAlloc, TinyAllocs: tiny1 - tiny0,
		NumGC: m1.NumGC - m0.NumGC, NumForcedGC: m1.NumForcedGC - m0.NumForcedGC,
		GOMAXPROCS: runtime.GOMAXPROCS(0),
	}
	for i := range m1.BySize {
		out.BySize = append(out.BySize, class{m1.BySize[i].Size,
			m1.BySize[i].Mallocs - m0.BySize[i].Mallocs, m1.BySize[i].Frees - m0.BySize[i].Frees})
	}
	b, _ := json.Marshal(out)
	fmt.Println(string(b))
}
