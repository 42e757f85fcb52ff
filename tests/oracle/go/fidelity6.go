// The fidelity audit, sixth round: maps of structs with pointers grown, shrunk by
// delete during range, refilled and ranged over while a GC runs; append growth of
// []*T and []string with re-slicing, copy and truncation; the strings package (Split,
// Join, Repeat, Fields, ToUpper, Builder.Grow); finalizers on arrays, on a slice's
// first element and on a large array, with runtime.KeepAlive; several cleanups on one
// object, some stopped, beside a finalizer and weak pointers; weak pointers to map
// values; large objects (> 32 KiB) between tiny allocations; runtime/metrics readings
// of the heap goal as GOGC changes. Every value that outlives its statement lives in a
// global (it escapes, as a goruntime handle does). Twins in scenarios_fidelity6.py.
package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"weak"
)

func init() {
	scenarios = append(scenarios,
		scenario{"fid6_map_structs", nil, fid6MapStructs},
		scenario{"fid6_append_ptrs", nil, fid6AppendPtrs},
		scenario{"fid6_strings_pkg", nil, fid6StringsPkg},
		scenario{"fid6_fin_arrays", nil, fid6FinArrays},
		scenario{"fid6_cleanups_many", nil, fid6CleanupsMany},
		scenario{"fid6_weak_map_values", nil, fid6WeakMapValues},
		scenario{"fid6_large_tiny", nil, fid6LargeTiny},
		scenario{"fid6_goal_metrics", nil, fid6GoalMetrics},
		scenario{"fid6_iface_pool", nil, fid6IfacePool},
		scenario{"fid6_events", nil, fid6Events},
		scenario{"fid6_fin_alloc", nil, fid6FinAlloc},
	)
}

// the events of finalizers and cleanups, by cycle (compared as sets: Go queues them in
// its sweep order)
var (
	f6Ev  [256]int
	f6EvN int
	f6Cyc [8]int
)

func f6Event(v int) { f6Ev[f6EvN] = v; f6EvN++ }

func f6Cycle(i int) {
	runtime.GC()
	waitQueues()
	f6Cyc[i] = f6EvN
}

func f6Events(n int) result {
	out := result{}
	for i := 1; i <= n; i++ {
		ev := append([]int{}, f6Ev[f6Cyc[i-1]:f6Cyc[i]]...)
		slices.Sort(ev)
		out["cycle"+names[i]] = ev
	}
	return out
}

// ---------------------------------------------------------------------------
// maps of structs with pointers: the slot is {key int; elem msVal} (8 + 32 bytes), a
// group 8 + 8 x 40 = 328 bytes; 1500 entries need two 1024-slot tables (41 984 bytes
// each: large objects). Deleting clears the slot (the pointer's object dies); the
// tables never shrink and reinsertion fills the deleted slots.

type msT struct {
	id  int
	pad [2]int
}

type msVal struct {
	p *msT
	n int
	s string
}

var (
	msNames = [...]string{"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"}
	msMap   map[int]msVal
	msPtrs  map[int]*msT
	msLens  [8]int
)

func fid6MapStructs() result {
	gcsnap("start")
	msMap = make(map[int]msVal)
	for i := 0; i < 1500; i++ {
		msMap[i] = msVal{p: &msT{id: i}, n: i, s: msNames[i%10]}
	}
	snap("fill")
	for k := range msMap {
		if k%10 != 0 {
			delete(msMap, k)
		}
	}
	msLens[0] = len(msMap)
	gcsnap("shrink")
	for i := 0; i < 1500; i += 2 {
		if i%10 != 0 {
			msMap[i] = msVal{n: -i, s: msNames[i%7]}
		}
	}
	msLens[1] = len(msMap)
	snap("reinsert")
	sum, n := 0, 0
	for k, v := range msMap { // a GC during the range: the iterator's map stays whole
		if n == 100 {
			runtime.GC()
		}
		sum += k + v.n
		if v.p != nil {
			sum += v.p.id
		}
		n++
	}
	msLens[2], msLens[3] = n, sum
	snap("range_gc")
	msPtrs = make(map[int]*msT, 64)
	for r := 0; r < 3; r++ {
		for i := 0; i < 64; i++ {
			msPtrs[i] = &msT{id: i + 100*r} // the value replaced dies
		}
	}
	snap("overwrite")
	for i := 0; i < 64; i += 2 {
		delete(msPtrs, i)
	}
	for i := 0; i < 32; i++ {
		msPtrs[1000+i] = &msT{id: i}
	}
	msLens[4] = len(msPtrs)
	gcsnap("delete_reinsert")
	msMap = nil
	gcsnap("map_drop")
	msPtrs = nil
	gcsnap("drop")
	res := snapResult()
	res["lens"] = msLens[:5]
	return res
}

// ---------------------------------------------------------------------------
// append growth of []*T and []string; a re-slice keeps its whole array (and every
// pointer in it) alive, append(nil, s...) copies into a new one, s[:0] keeps all.

type a6T struct {
	id   int
	next *a6T
}

var (
	a6Words = [...]string{"a", "bb", "ccc", "dddd", "eeeee", "ffffff", "ggggggg", "hhhhhhhh"}
	a6Ptrs  []*a6T
	a6Keep  []*a6T
	a6Strs  []string
	a6Sub   []string
	a6Caps  [64]int
	a6N     int
)

func a6Cap(c int) {
	if a6N == 0 || a6Caps[a6N-1] != c {
		a6Caps[a6N] = c
		a6N++
	}
}

func fid6AppendPtrs() result {
	a6N = 0
	gcsnap("start")
	for i := 0; i < 600; i++ {
		a6Ptrs = append(a6Ptrs, &a6T{id: i})
		a6Cap(cap(a6Ptrs))
	}
	snap("ptrs_grow")
	a6Ptrs = a6Ptrs[100:]
	a6Cap(cap(a6Ptrs))
	gcsnap("reslice")
	a6Ptrs = append(a6Ptrs, &a6T{id: 600})
	a6Cap(cap(a6Ptrs))
	a6Ptrs = append([]*a6T(nil), a6Ptrs...)
	a6Cap(cap(a6Ptrs))
	gcsnap("copied")
	a6Keep = make([]*a6T, 50)
	a6Cap(copy(a6Keep, a6Ptrs[200:]))
	a6Ptrs = a6Ptrs[:0]
	gcsnap("truncate")
	for i := 0; i < 10; i++ {
		a6Ptrs = append(a6Ptrs, nil)
	}
	gcsnap("overwrite")
	for i := 0; i < 700; i++ {
		a6Strs = append(a6Strs, a6Words[i%8])
		a6Cap(cap(a6Strs))
	}
	snap("strs_grow")
	a6Strs = a6Strs[:len(a6Strs):len(a6Strs)]
	a6Strs = append(a6Strs, "x")
	a6Cap(cap(a6Strs))
	a6Sub = a6Strs[10:20:20]
	a6Sub = append(a6Sub, "y", "z")
	a6Cap(cap(a6Sub))
	a6Strs = nil
	gcsnap("strs_sub")
	a6Ptrs, a6Keep, a6Sub = nil, nil, nil
	gcsnap("drop")
	res := snapResult()
	res["caps"] = a6Caps[:a6N]
	return res
}

// ---------------------------------------------------------------------------
// the strings package: Split is make([]string, Count+1) of substrings; Join and
// Repeat one Builder.Grow of the total (MakeNoZero: rounded up to the size class);
// Repeat of a dash or space prefix is a substring of a constant; Fields make([]string,
// n); ToUpper a Grow(len) when a lower-case byte is found; Builder.Grow then appends.

var (
	spCSV    string
	spText   string
	spParts  []string
	spJoined string
	spRep    [4]string
	spFields []string
	spUp     [2]string
	spB      strings.Builder
	spOut    string
	spLens   [16]int
)

//go:noinline
func spMake() {
	var b []byte
	for i := 0; i < 40; i++ {
		b = append(b, a6Words[i%8]...)
		if i%9 != 4 {
			b = append(b, ',')
		} else {
			b = append(b, ',', ',')
		}
	}
	spCSV = string(b)
	b = b[:0]
	for i := 0; i < 30; i++ {
		b = append(b, msNames[i%10]...)
		b = append(b, "  \t "[:1+i%3]...)
	}
	spText = string(b)
}

func fid6StringsPkg() result {
	spMake()
	gcsnap("start")
	spParts = strings.Split(spCSV, ",")
	spLens[0], spLens[1] = len(spParts), cap(spParts)
	snap("split")
	spJoined = strings.Join(spParts, "; ")
	spLens[2] = len(spJoined)
	snap("join")
	spRep[0] = strings.Join(spParts[3:4], "+") // one element: itself
	snap("join_one")
	spRep[1] = strings.Repeat("ab", 100)
	spRep[2] = strings.Repeat("xyz", 1000)
	spLens[3], spLens[4] = len(spRep[1]), len(spRep[2])
	snap("repeat")
	spRep[3] = strings.Repeat("-", 60) // a substring of repeatedDashes
	spLens[5] = len(spRep[3])
	snap("repeat_const")
	spFields = strings.Fields(spText)
	spLens[6], spLens[7] = len(spFields), cap(spFields)
	snap("fields")
	spUp[0] = strings.ToUpper(spText)
	spUp[1] = strings.ToUpper(spUp[0]) // nothing to change: the string itself
	spLens[8] = len(spUp[0])
	snap("upper")
	spB.Grow(100)
	for i := 0; i < 30; i++ {
		spB.WriteString(spParts[i])
		spB.WriteByte('|')
	}
	spOut = spB.String()
	spLens[9], spLens[10] = len(spOut), spB.Cap()
	snap("builder")
	spParts, spFields = nil, nil
	gcsnap("parts_drop")
	spCSV, spText, spJoined, spRep, spUp, spOut = "", "", "", [4]string{}, [2]string{}, ""
	spB.Reset()
	gcsnap("drop")
	res := snapResult()
	res["lens"] = spLens[:11]
	return res
}

// ---------------------------------------------------------------------------
// finalizers on arrays: new([4]*T) (the array's finalizer keeps its elements, one of
// which has its own finalizer: run a cycle later); &s[0] of a slice of structs and of
// a large []int; a pointer kept by runtime.KeepAlive across a GC.

type faT struct {
	id int
	p  *int
}

var (
	faArr   *[4]*faT
	faSl    []faT
	faBig   []int
	faBytes []byte
	faKept  int
)

//go:noinline
func faSetup() {
	faArr = new([4]*faT)
	for i := range faArr {
		faArr[i] = &faT{id: i}
	}
	runtime.SetFinalizer(faArr, func(a *[4]*faT) { f6Event(100 + a[2].id) })
	runtime.SetFinalizer(faArr[1], func(t *faT) { f6Event(10 + t.id) })
	faSl = make([]faT, 5)
	faSl[0].id = 50
	runtime.SetFinalizer(&faSl[0], func(t *faT) { f6Event(200 + t.id) })
	faBig = make([]int, 5000)
	faBig[0] = 9
	runtime.SetFinalizer(&faBig[0], func(p *int) { f6Event(300 + *p) })
	faBytes = make([]byte, 40)
	runtime.SetFinalizer(&faBytes[0], func(p *byte) { f6Event(400) })
}

//go:noinline
func faKeepAlive() {
	p := &faT{id: 77}
	runtime.SetFinalizer(p, func(t *faT) { f6Event(t.id) })
	runtime.GC()
	waitQueues()
	faKept = f6EvN - f6Cyc[2]
	runtime.KeepAlive(p)
}

func fid6FinArrays() result {
	f6EvN = 0
	gcsnap("start")
	faSetup()
	snap("setup")
	faArr = nil
	faSl = faSl[1:3]
	faBytes = faBytes[40:]
	f6Cycle(1)
	faSl, faBig = nil, nil
	f6Cycle(2)
	faKeepAlive()
	f6Cycle(3)
	f6Cycle(4)
	faBytes = nil
	f6Cycle(5)
	snap("cycles")
	res := snapResult()
	res["events"] = f6Events(5)
	res["kept"] = faKept
	return res
}

// ---------------------------------------------------------------------------
// several cleanups on one object (each with its int argument boxed: 8 bytes, tiny),
// some stopped; one object also has a finalizer (its cleanups wait for the cycle after
// the finalizer ran) and every object a weak pointer.

type cmT struct {
	id  int
	buf [6]int
}

var (
	cmObjs  [6]*cmT
	cmStops [6]runtime.Cleanup
	cmW     [6]weak.Pointer[cmT]
	cmState [6]int
)

//go:noinline
func cmSetup() {
	for i := range cmObjs {
		o := &cmT{id: i}
		for k := 0; k < 3; k++ {
			c := runtime.AddCleanup(o, func(x int) { f6Event(x) }, 10*i+k)
			if k == 1 {
				cmStops[i] = c
			}
		}
		cmW[i] = weak.Make(o)
		cmObjs[i] = o
	}
	runtime.SetFinalizer(cmObjs[4], func(o *cmT) { f6Event(500 + o.id) })
}

func cmLive() (m int) {
	for i := range cmW {
		if cmW[i].Value() != nil {
			m |= 1 << i
		}
	}
	return
}

func fid6CleanupsMany() result {
	f6EvN = 0
	gcsnap("start")
	cmSetup()
	snap("setup")
	cmStops[0].Stop()
	cmStops[2].Stop()
	cmStops[2].Stop() // a second Stop does nothing
	cmObjs[0], cmObjs[1], cmObjs[2] = nil, nil, nil
	f6Cycle(1)
	cmState[0] = cmLive()
	cmObjs[4] = nil
	f6Cycle(2)
	cmState[1] = cmLive()
	cmStops[5].Stop()
	cmObjs[3], cmObjs[5] = nil, nil
	f6Cycle(3)
	cmState[2] = cmLive()
	f6Cycle(4)
	cmState[3] = cmLive()
	res := snapResult() // not the cycles' MemStats: Go's cleanup goroutines (1..n, timing) allocate there
	res["events"] = f6Events(4)
	res["state"] = cmState[:4]
	return res
}

// ---------------------------------------------------------------------------
// weak pointers to map values: the map holds the only strong reference; a value
// stored under a second key stays; clear(m) lets every value go.

type wmT struct {
	id   int
	name string
}

var (
	wmMap   map[string]*wmT
	wmW     [20]weak.Pointer[wmT]
	wmState [6]int
	wmEq    [3]bool
)

//go:noinline
func wmSetup() {
	wmMap = make(map[string]*wmT)
	for i := range wmW {
		v := &wmT{id: i, name: msNames[i%10]}
		wmMap[a6Words[i%8]+msNames[i%10]] = v
		wmW[i] = weak.Make(v)
	}
}

func wmLive() (m int) {
	for i := range wmW {
		if wmW[i].Value() != nil {
			m |= 1 << i
		}
	}
	return
}

func wmKey(i int) string { return a6Words[i%8] + msNames[i%10] }

func fid6WeakMapValues() result {
	gcsnap("start")
	wmSetup()
	snap("setup")
	wmEq[0] = weak.Make(wmMap[wmKey(5)]) == wmW[5]
	wmEq[1] = weak.Make(wmMap[wmKey(6)]) == wmW[5]
	snap("remake")
	for i := 0; i < 20; i += 3 {
		delete(wmMap, wmKey(i))
	}
	gcsnap("delete")
	wmState[0] = wmLive()
	for i := 1; i < 20; i += 3 {
		wmMap[wmKey(i)] = &wmT{id: 100 + i}
	}
	gcsnap("replace")
	wmState[1] = wmLive()
	wmMap["moved"] = wmW[2].Value()
	delete(wmMap, wmKey(2))
	gcsnap("moved")
	wmState[2] = wmLive()
	wmEq[2] = wmW[2].Value() == wmMap["moved"]
	clear(wmMap)
	gcsnap("clear")
	wmState[3] = wmLive()
	wmMap = nil
	gcsnap("drop")
	res := snapResult()
	res["state"] = wmState[:4]
	res["eq"] = wmEq[:]
	return res
}

// ---------------------------------------------------------------------------
// large objects (> 32 KiB: their own spans, whole pages) between tiny allocations
// (the tiny block is not reset by a large allocation); a large []*T scanned for
// its pointers; freeing half the tiny objects frees no block.

type ltT struct {
	id   int
	next *ltT
}

var (
	ltTiny   [64]*int32
	ltBig    [4][]byte
	ltPtrs   []*ltT
	ltArr    *[40000]byte
	ltTinyS  = []metrics.Sample{{Name: "/gc/heap/tiny/allocs:objects"}, {Name: "/gc/heap/allocs:objects"}}
	ltCounts [8]uint64
)

func fid6LargeTiny() result {
	metrics.Read(ltTinyS)
	gcsnap("start")
	metrics.Read(ltTinyS)
	t0, a0 := u64(ltTinyS, 0), u64(ltTinyS, 1)
	for i := 0; i < 64; i++ {
		ltTiny[i] = new(int32)
		*ltTiny[i] = int32(i)
		if i%16 == 7 {
			ltBig[i/16] = make([]byte, 33000+i*1000)
		}
	}
	snap("mixed")
	metrics.Read(ltTinyS)
	ltCounts[0], ltCounts[1] = u64(ltTinyS, 0)-t0, u64(ltTinyS, 1)-a0
	ltPtrs = make([]*ltT, 5000)
	for i := 0; i < 100; i++ {
		ltPtrs[i*50] = &ltT{id: i}
	}
	ltArr = new([40000]byte)
	snap("large_scan")
	ltBig[0], ltBig[2] = nil, nil
	gcsnap("drop_big")
	for i := 1; i < 64; i += 2 {
		ltTiny[i] = nil
	}
	gcsnap("drop_odd_tiny")
	for i := 0; i < 50; i++ {
		ltPtrs[i*50] = nil
	}
	gcsnap("drop_half_ptrs")
	ltTiny = [64]*int32{}
	ltBig = [4][]byte{}
	ltPtrs, ltArr = nil, nil
	gcsnap("drop")
	res := snapResult()
	res["tiny"] = ltCounts[:2]
	return res
}

// ---------------------------------------------------------------------------
// the heap goal as runtime/metrics and MemStats read it: after each GC, and after
// each debug.SetGCPercent (the goal is recomputed at once from the last mark), goal =
// live + (live + last stack scan + globals) x GOGC / 100, at least the heap minimum
// (4 MiB x GOGC / 100), NextGC the same; GOGC=off.

type gmNode struct {
	next *gmNode
	val  [5]int
}

var (
	gmSamples = []metrics.Sample{{Name: "/gc/heap/goal:bytes"}, {Name: "/gc/heap/live:bytes"},
		{Name: "/gc/scan/stack:bytes"}, {Name: "/gc/scan/globals:bytes"}, {Name: "/gc/gogc:percent"},
		{Name: "/gc/scan/heap:bytes"}, {Name: "/gc/heap/objects:objects"}, {Name: "/gc/cycles/total:gc-cycles"}}
	gmLive  [3000]*[2048]byte
	gmList  *gmNode
	gmMS    runtime.MemStats
	gmRows  [12][7]int64
	gmN     int
	gmBase  [4]uint64
	gmPrevs [6]int
)

func gmRead() {
	metrics.Read(gmSamples)
	runtime.ReadMemStats(&gmMS)
	goal, live := u64(gmSamples, 0), u64(gmSamples, 1)
	roots := u64(gmSamples, 2) + u64(gmSamples, 3)
	g := int64(gmSamples[4].Value.Uint64())
	row := &gmRows[gmN]
	if gmN == 0 {
		gmBase = [4]uint64{live, u64(gmSamples, 5), u64(gmSamples, 6), u64(gmSamples, 7)}
	}
	row[0] = int64(live) - int64(gmBase[0])
	row[1] = int64(u64(gmSamples, 5)) - int64(gmBase[1])
	row[2] = int64(u64(gmSamples, 6)) - int64(gmBase[2])
	row[3] = int64(u64(gmSamples, 7)) - int64(gmBase[3])
	row[4] = g
	if g >= 0 {
		row[5] = int64(goal) - int64(max(live+(live+roots)*uint64(g)/100, 4<<20*uint64(g)/100))
	} else {
		row[5] = int64(goal >> 40) // GOGC=off: no goal (as large as it gets)
	}
	if gmMS.NextGC == goal {
		row[6] = 1
	}
	gmN++
}

func fid6GoalMetrics() result {
	gmN = 0
	runtime.GC()
	gmRead()
	for i := 0; i < 2000; i++ {
		gmLive[i] = new([2048]byte)
	}
	runtime.GC()
	gmRead()
	gmPrevs[0] = debug.SetGCPercent(50)
	gmRead()
	for i := 0; i < 500; i++ {
		gmList = &gmNode{next: gmList, val: [5]int{i}}
	}
	runtime.GC()
	gmRead()
	gmPrevs[1] = debug.SetGCPercent(300)
	gmRead()
	for i := 0; i < 1000; i++ {
		gmLive[i] = nil
	}
	runtime.GC()
	gmRead()
	gmPrevs[2] = debug.SetGCPercent(-1)
	gmRead()
	gmList = gmList.next.next
	runtime.GC()
	gmRead()
	gmPrevs[3] = debug.SetGCPercent(100)
	gmRead()
	gmList = nil
	gmLive = [3000]*[2048]byte{}
	runtime.GC()
	gmRead()
	out := result{}
	for i := 0; i < gmN; i++ {
		r := gmRows[i]
		out[fmt.Sprintf("r%d", i)] = result{"live": r[0], "scan": r[1], "objects": r[2], "cycles": r[3],
			"gogc": r[4], "goal_err": r[5], "next_gc": r[6]}
	}
	return result{"rows": out, "prev": gmPrevs[:4]}
}

// ---------------------------------------------------------------------------
// interface values copied (two words: the box is shared, nothing allocated) from an
// array of any to another and into a map[int]any; a sync.Pool of []byte, whose New
// boxes the slice at its return (convTslice) and whose every Put of a slice boxes it
// again, beside a pool of pointers (nothing boxed).

type ipRec struct {
	a, b int
	name string
}

var (
	ipAny   [40]any
	ipCopy  [40]any
	ipMap   map[int]any
	ipNew   [2]int
	ipPool  = sync.Pool{New: func() any { ipNew[0]++; return make([]byte, 0, 200) }}
	ipPPool = sync.Pool{New: func() any { ipNew[1]++; return new([200]byte) }}
	ipHeld  [20][]byte
	ipHeldP [20]*[200]byte
	ipNews  [6]int
	ipSum   int
)

func fid6IfacePool() result {
	gcsnap("start")
	for i := range ipAny {
		switch i % 4 {
		case 0:
			ipAny[i] = 1000 + i
		case 1:
			ipAny[i] = ipRec{a: i, name: msNames[i%10]}
		case 2:
			ipAny[i] = a6Words[:i%8+1]
		case 3:
			ipAny[i] = msNames[i%10]
		}
	}
	snap("box")
	for i := range ipAny {
		ipCopy[i] = ipAny[i]
	}
	snap("copy")
	ipMap = make(map[int]any, 64)
	for i := range ipCopy {
		ipMap[i] = ipCopy[i]
	}
	snap("map")
	ipAny = [40]any{}
	gcsnap("drop_orig")
	ipCopy = [40]any{}
	gcsnap("drop_copy")
	for _, v := range ipMap {
		switch x := v.(type) {
		case int:
			ipSum += x
		case ipRec:
			ipSum += x.a
		case []string:
			ipSum += len(x)
		case string:
			ipSum += len(x)
		}
	}
	ipMap = nil
	gcsnap("drop_map")
	for i := range ipHeld {
		ipHeld[i] = ipPool.Get().([]byte)
		ipHeldP[i] = ipPPool.Get().(*[200]byte)
	}
	ipNews[0], ipNews[1] = ipNew[0], ipNew[1]
	snap("pool_get")
	for i := range ipHeld {
		ipPool.Put(ipHeld[i][:0])
		ipPPool.Put(ipHeldP[i])
		ipHeld[i], ipHeldP[i] = nil, nil
	}
	snap("pool_put")
	for i := range ipHeld {
		ipHeld[i] = ipPool.Get().([]byte)
		ipHeldP[i] = ipPPool.Get().(*[200]byte)
	}
	ipNews[2], ipNews[3] = ipNew[0], ipNew[1]
	snap("pool_get_again")
	for i := range ipHeld {
		ipPool.Put(ipHeld[i][:0])
		ipPPool.Put(ipHeldP[i])
		ipHeld[i], ipHeldP[i] = nil, nil
	}
	gcsnap("pool_gc1")
	for i := 0; i < 5; i++ {
		ipHeld[i] = ipPool.Get().([]byte)
		ipHeldP[i] = ipPPool.Get().(*[200]byte)
	}
	ipNews[4], ipNews[5] = ipNew[0], ipNew[1]
	gcsnap("pool_gc2")
	ipHeld, ipHeldP = [20][]byte{}, [20]*[200]byte{}
	gcsnap("drop")
	res := snapResult()
	res["news"] = ipNews[:]
	res["sum"] = ipSum
	return res
}

// ---------------------------------------------------------------------------
// an event log of structs with an `any` payload: each payload boxed once where it is
// made; appending the structs to per-kind slices and filtering them copies the
// interfaces' words (the boxes are shared, nothing is boxed again).

type evEvent struct {
	kind string
	at   int
	data any
}

type evUser struct {
	id   int
	name string
}

var (
	evUsers  [8]*evUser
	evLog    []evEvent
	evByKind map[string][]evEvent
	evKept   []evEvent
	evSums   [5]int
)

func fid6Events() result {
	for i := range evUsers {
		evUsers[i] = &evUser{id: i, name: msNames[i]}
	}
	gcsnap("start")
	for i := 0; i < 200; i++ {
		var d any
		switch i % 5 {
		case 0:
			d = i * 1000
		case 1:
			d = evUsers[i%8]
		case 2:
			d = msNames[i%10]
		case 3:
			d = evUser{id: i}
		}
		evLog = append(evLog, evEvent{kind: a6Words[i%3], at: i, data: d})
	}
	snap("log")
	evByKind = make(map[string][]evEvent)
	for _, e := range evLog {
		evByKind[e.kind] = append(evByKind[e.kind], e)
	}
	snap("by_kind")
	for _, e := range evLog {
		if _, ok := e.data.(string); ok {
			evKept = append(evKept, e)
		}
	}
	snap("filter")
	evLog = nil
	gcsnap("log_drop")
	for _, es := range evByKind {
		for _, e := range es {
			switch x := e.data.(type) {
			case int:
				evSums[0] += x
			case *evUser:
				evSums[1] += x.id
			case string:
				evSums[2] += len(x)
			case evUser:
				evSums[3] += x.id
			case nil:
				evSums[4]++
			}
		}
	}
	evByKind = nil
	gcsnap("map_drop")
	evKept = nil
	gcsnap("drop")
	res := snapResult()
	res["sums"] = evSums[:]
	return res
}

// ---------------------------------------------------------------------------
// finalizers that allocate: each appends its id to a global slice (append's growth
// on the finalizer goroutine) and every third stores strconv.Itoa of it in a map.

type fzRes struct {
	id  int
	buf [3]int
}

var (
	fzLog   []int
	fzNames map[int]string
	fzObjs  [30]*fzRes
	fzLens  [5]int
)

func fzFin(r *fzRes) {
	fzLog = append(fzLog, r.id)
	if r.id%3 == 0 {
		fzNames[r.id] = strconv.Itoa(r.id * 1000)
	}
}

func fid6FinAlloc() result {
	gcsnap("start")
	fzNames = make(map[int]string)
	for i := range fzObjs {
		o := &fzRes{id: i}
		runtime.SetFinalizer(o, fzFin)
		fzObjs[i] = o
	}
	snap("setup")
	fzObjs = [30]*fzRes{}
	runtime.GC()
	waitQueues()
	snap("fin_ran")
	gcsnap("freed")
	fzLens[0], fzLens[1], fzLens[2] = len(fzLog), cap(fzLog), len(fzNames)
	for _, v := range fzLog {
		fzLens[3] += v
	}
	for _, s := range fzNames {
		fzLens[4] += len(s)
	}
	fzLog, fzNames = nil, nil
	gcsnap("drop")
	res := snapResult()
	res["lens"] = fzLens[:]
	return res
}
