// The fidelity audit (programs nobody had ported): an LRU cache (map + doubly
// linked list, evictions), a tree dropped in phases with NextGC read after each
// explicit GC, a weak-pointer cache whose cleanups delete the dead entries,
// finalizers on a list whose nodes resurrect or clear their finalizer, large
// objects with FreeOSMemory and mid-program SetGCPercent, a worker pool over
// buffered channels. Every value lives in a global (it escapes, as a goruntime
// handle does). Twins in scenarios_fidelity.py.
package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"sync"
	"weak"
)

func init() {
	scenarios = append(scenarios,
		scenario{"fid_lru", nil, fidLRU},
		scenario{"fid_tree_phases", nil, fidTreePhases},
		scenario{"fid_weak_cache", nil, fidWeakCache},
		scenario{"fid_fin_list", nil, fidFinList},
		scenario{"fid_large_release", nil, fidLargeRelease},
		scenario{"fid_workers", nil, fidWorkers},
		scenario{"fid_tree_stw", map[string]string{"GODEBUG": "gcstoptheworld=1"}, fidTreePhases},
		scenario{"fid_strings", nil, fidStrings},
		scenario{"fid_map_churn", nil, fidMapChurn},
		scenario{"fid_hist", nil, fidHist},
		scenario{"fid_churn", nil, fidChurn},
		scenario{"fid_churn_stw", map[string]string{"GODEBUG": "gcstoptheworld=1"}, fidChurn},
	)
}

// ---------------------------------------------------------------------------
// LRU cache

type lruEntry struct {
	key        int
	val        []byte
	prev, next *lruEntry
}

type lruCache struct {
	capacity   int
	m          map[int]*lruEntry
	head, tail *lruEntry // head: most recently used
	evicted    int
}

var lru *lruCache

func (c *lruCache) unlink(e *lruEntry) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		c.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		c.tail = e.prev
	}
	e.prev, e.next = nil, nil
}

func (c *lruCache) pushFront(e *lruEntry) {
	e.next = c.head
	if c.head != nil {
		c.head.prev = e
	}
	c.head = e
	if c.tail == nil {
		c.tail = e
	}
}

func (c *lruCache) get(k int) *lruEntry {
	e := c.m[k]
	if e != nil {
		c.unlink(e)
		c.pushFront(e)
	}
	return e
}

func (c *lruCache) put(k int, size int) {
	if e := c.m[k]; e != nil {
		e.val = make([]byte, size)
		c.unlink(e)
		c.pushFront(e)
		return
	}
	e := &lruEntry{key: k, val: make([]byte, size)}
	c.m[k] = e
	c.pushFront(e)
	if len(c.m) > c.capacity {
		old := c.tail
		c.unlink(old)
		delete(c.m, old.key)
		c.evicted++
	}
}

var lruAllocSamples = []metrics.Sample{{Name: "/gc/heap/allocs:objects"}, {Name: "/gc/heap/frees:objects"},
	{Name: "/gc/heap/objects:objects"}, {Name: "/gc/heap/allocs:bytes"}, {Name: "/gc/heap/frees:bytes"}}

// fidLRU: a 400-entry LRU over 3000 puts of values 16..1500 bytes (hits every
// 3rd key move entries to the front), a GC, the cache shrunk to 100 entries by
// evicting, the cache dropped.
func fidLRU() result {
	var before, after [5]uint64
	gcsnap("start")
	metrics.Read(lruAllocSamples)
	for i := range before {
		before[i] = lruAllocSamples[i].Value.Uint64()
	}
	lru = &lruCache{capacity: 400, m: make(map[int]*lruEntry)}
	hits := 0
	for i := 0; i < 3000; i++ {
		lru.put(i%1000, 16+(i*37)%1500)
		if i%3 == 0 && lru.get((i*7)%1000) != nil {
			hits++
		}
	}
	snap("fill")
	metrics.Read(lruAllocSamples)
	for i := range after {
		after[i] = lruAllocSamples[i].Value.Uint64()
	}
	gcsnap("gc_full")
	lru.capacity = 100
	for lru.tail != nil && len(lru.m) > lru.capacity {
		old := lru.tail
		lru.unlink(old)
		delete(lru.m, old.key)
		lru.evicted++
	}
	snap("shrink")
	gcsnap("gc_shrunk")
	lenShrunk := len(lru.m)
	ev := lru.evicted
	lru = nil
	gcsnap("drop")
	res := snapResult()
	res["hits"] = hits
	res["evicted"] = ev
	res["len_shrunk"] = lenShrunk
	m := result{}
	for i, s := range lruAllocSamples {
		m[s.Name] = after[i] - before[i]
	}
	res["metrics"] = m
	return res
}

// ---------------------------------------------------------------------------
// a tree dropped in phases; NextGC read after each explicit GC

type tnode struct {
	left, right *tnode
	depth       int
	pad         [3]int
}

var tree *tnode

func buildTree(d int) *tnode {
	if d == 0 {
		return &tnode{}
	}
	return &tnode{left: buildTree(d - 1), right: buildTree(d - 1), depth: d}
}

// fidTreePhases: a depth-17 tree of 48-byte nodes (12 MiB live), dropped a
// subtree at a time with a GC after each step (3 MiB left: every goal follows the
// GOGC formula, above the 4 MiB minimum and the sweep floor); NextGC deltas are
// 2 x the marked-heap change at GOGC=100; then GOGC=50 set mid-program (NextGC
// recomputed without a GC, and the same after a GC with nothing freed).
func fidTreePhases() result {
	var ms runtime.MemStats
	var goals [8]uint64
	gcsnap("start")
	goals[0] = pms[pmn-1].NextGC
	tree = buildTree(17)
	snap("build")
	gcsnap("gc_built")
	goals[1] = pms[pmn-1].NextGC
	tree.left = nil
	gcsnap("drop_left")
	goals[2] = pms[pmn-1].NextGC
	tree.right.right = nil
	gcsnap("drop_right_right")
	goals[3] = pms[pmn-1].NextGC
	debug.SetGCPercent(50)
	runtime.ReadMemStats(&ms)
	goals[4] = ms.NextGC
	gcsnap("gc_gogc50")
	goals[5] = pms[pmn-1].NextGC
	debug.SetGCPercent(100)
	tree = nil
	gcsnap("drop_all")
	goals[6] = pms[pmn-1].NextGC
	res := snapResult()
	res["NextGC"] = result{
		"drop_left":            int64(goals[2] - goals[1]),
		"drop_right_right":     int64(goals[3] - goals[2]),
		"setgcpercent50":       int64(goals[4] - goals[3]),
		"gc_gogc50":            int64(goals[5] - goals[4]),
		"drop_all_minus_start": int64(goals[6] - goals[0]),
	}
	return res
}

// ---------------------------------------------------------------------------
// a weak-pointer cache: cleanups delete the dead entries

type wblob struct {
	id   int
	data [100]byte
}

var (
	wcache  map[int]weak.Pointer[wblob]
	wstrong []*wblob
	wcMu    sync.Mutex
	wcEv    [128]int // cleanup order; filled without allocating
	wcEvN   int
)

func wcGet(id int) *wblob {
	if w, ok := wcache[id]; ok {
		if b := w.Value(); b != nil {
			return b
		}
	}
	b := &wblob{id: id}
	w := weak.Make(b)
	wcache[id] = w
	runtime.AddCleanup(b, func(id int) {
		wcMu.Lock()
		if cur, ok := wcache[id]; ok && cur.Value() == nil {
			delete(wcache, id)
		}
		wcEv[wcEvN] = id
		wcEvN++
		wcMu.Unlock()
	}, id)
	return b
}

// fidWeakCache: 60 blobs through a map of weak pointers, every 4th kept
// strongly; a GC makes the others' weak pointers nil and their cleanups delete
// them; the kept ones are found again (no new allocation), then dropped too.
func fidWeakCache() result {
	wcache = make(map[int]weak.Pointer[wblob])
	wstrong = nil
	wcEvN = 0
	gcsnap("start")
	for i := 0; i < 60; i++ {
		b := wcGet(i)
		if i%4 == 0 {
			wstrong = append(wstrong, b)
		}
	}
	snap("fill")
	n0 := len(wcache)
	runtime.GC()
	waitQueues()
	ev1 := wcEvN
	snap("gc1")
	n1 := len(wcache)
	again := 0
	for i := 0; i < 60; i += 4 {
		if wcGet(i) == wstrong[i/4] {
			again++
		}
	}
	snap("lookup_kept")
	wstrong = nil
	runtime.GC()
	waitQueues()
	ev2 := wcEvN
	snap("gc2")
	n2 := len(wcache)
	wcache = nil
	gcsnap("drop")
	res := snapResult()
	res["len"] = []int{n0, n1, n2}
	res["again"] = again
	res["events1"] = append([]int{}, wcEv[:ev1]...)
	res["events2"] = append([]int{}, wcEv[ev1:ev2]...)
	return res
}

// ---------------------------------------------------------------------------
// finalizers on a list: resurrection, SetFinalizer(nil), KeepAlive

type flNode struct {
	id   int
	next *flNode
	buf  [40]byte
}

var (
	flHead  *flNode
	flSaved []*flNode
	flEv    [16]int // finalizer order; filled without allocating
	flEvN   int
	flCyc   [8]int // flEvN after each cycle
)

func flFin(n *flNode) {
	flEv[flEvN] = n.id
	flEvN++
	if n.id == 3 {
		flSaved = append(flSaved, n) // resurrect: n and its tail live again
	}
}

//go:noinline
func setupFinList() {
	var prev *flNode
	for i := 9; i >= 0; i-- {
		n := &flNode{id: i, next: prev}
		if i%2 == 1 || i == 0 {
			runtime.SetFinalizer(n, flFin)
		}
		prev = n
	}
	flHead = prev
	n := flHead
	for n != nil && n.id != 5 {
		n = n.next
	}
	runtime.SetFinalizer(n, nil) // 5 had one: cleared
	runtime.SetFinalizer(flHead.next.next, flFin)
}

// fidFinList: a 10-node list with finalizers on 0, 1, 2, 3, 7, 9 (5's cleared);
// the list is dropped and each cycle finalizes only the first finalizable node
// not reachable from another's; 3 resurrects itself and its tail, dropped again
// after cycle 4.
func fidFinList() result {
	flEvN = 0
	gcsnap("start")
	setupFinList()
	snap("setup")
	flHead = nil
	for i := 1; i <= 6; i++ {
		runtime.GC()
		waitQueues()
		flCyc[i] = flEvN
		if i == 4 {
			flSaved = nil
		}
	}
	snap("cycles")
	res := snapResult()
	out := result{}
	for i := 1; i <= 6; i++ {
		out["cycle"+names[i]] = append([]int{}, flEv[flCyc[i-1]:flCyc[i]]...)
	}
	res["events"] = out
	return res
}

// ---------------------------------------------------------------------------
// large objects, FreeOSMemory, SetGCPercent

var bigs [][]byte

// fidLargeRelease: large objects of 40 KB .. 3 MiB, half dropped, a GC,
// FreeOSMemory, the same sizes allocated again (they reuse the released pages).
func fidLargeRelease() result {
	sizes := []int{40000, 33 << 10, 100000, 1 << 20, 3 << 20, 65536, 200 << 10, 50000}
	bigs = make([][]byte, 0, 16)
	gcsnap("start")
	for _, n := range sizes {
		bigs = append(bigs, make([]byte, n))
	}
	snap("alloc")
	for i := range bigs {
		if i%2 == 0 {
			bigs[i] = nil
		}
	}
	gcsnap("drop_half")
	debug.FreeOSMemory()
	snap("free_os")
	for i := range bigs {
		if i%2 == 0 {
			bigs[i] = make([]byte, sizes[i])
		}
	}
	snap("realloc")
	bigs = nil
	gcsnap("drop_all")
	deltas := result{}
	for i := 1; i < pmn; i++ {
		a, b := &pms[i-1], &pms[i]
		deltas[pmk[i]] = result{
			"HeapIdle":            int64(b.HeapIdle - a.HeapIdle),
			"HeapReleased":        int64(b.HeapReleased - a.HeapReleased),
			"HeapSys":             int64(b.HeapSys - a.HeapSys),
			"idle_minus_released": int64(b.HeapIdle-b.HeapReleased) - int64(a.HeapIdle-a.HeapReleased),
		}
	}
	res := snapResult()
	res["pages"] = deltas
	return res
}

// ---------------------------------------------------------------------------
// a worker pool over buffered channels

type wjob struct {
	id   int
	data []int
}

type wres struct {
	id, sum int
	tag     []byte
}

var (
	wpJobs    chan wjob
	wpResults chan wres
	wpKeep    []wres
)

func wpWorker(jobs <-chan wjob, results chan<- wres, wg *sync.WaitGroup) {
	defer wg.Done()
	for j := range jobs {
		s := 0
		for _, v := range j.data {
			s += v
		}
		results <- wres{id: j.id, sum: s, tag: make([]byte, 8+j.id%40)}
	}
}

// fidWorkers: 3 workers, 120 jobs through a 4-slot channel of structs holding
// slices, results through a 4-slot channel; every 10th result kept.
func fidWorkers() result {
	gcsnap("start")
	wpJobs = make(chan wjob, 4)
	wpResults = make(chan wres, 4)
	var wg sync.WaitGroup
	for w := 0; w < 3; w++ {
		wg.Add(1)
		go wpWorker(wpJobs, wpResults, &wg)
	}
	go func() {
		for i := 0; i < 120; i++ {
			d := make([]int, 5+i%30)
			for k := range d {
				d[k] = i + k
			}
			wpJobs <- wjob{id: i, data: d}
		}
		close(wpJobs)
	}()
	go func() {
		wg.Wait()
		close(wpResults)
	}()
	total := 0
	wpKeep = nil
	for r := range wpResults {
		total += r.sum
		if r.id%10 == 0 {
			wpKeep = append(wpKeep, r)
		}
	}
	snap("run")
	gcsnap("gc_kept")
	kept := len(wpKeep)
	wpKeep, wpJobs, wpResults = nil, nil, nil
	gcsnap("drop")
	res := snapResult()
	res["total"] = total
	res["kept"] = kept
	return res
}

// ---------------------------------------------------------------------------
// strings: a Builder grown by WriteString/WriteByte, conversions, += in a loop

type sbuilder struct{ buf []byte } // strings.Builder's growth is append's

var (
	sbS   string
	sbB   []byte
	sbSub string
	sbAcc string
	sbCap [64]int
	sbN   int
)

func (b *sbuilder) writeString(s string) {
	b.buf = append(b.buf, s...)
	if cap(b.buf) != sbCap[sbN] {
		sbN++
		sbCap[sbN] = cap(b.buf)
	}
}

func (b *sbuilder) writeByte(c byte) {
	b.buf = append(b.buf, c)
	if cap(b.buf) != sbCap[sbN] {
		sbN++
		sbCap[sbN] = cap(b.buf)
	}
}

// fidStrings: a strings.Builder written 1500 times (an item, its digits, a
// comma: 16 KB), its String (no copy), []byte of it, a 100-byte substring
// converted back, and s += "ab" 200 times (each concatenation a new string,
// the first ones through the tiny allocator).
func fidStrings() result {
	var sb strings.Builder
	var mine sbuilder
	sbN = 0
	gcsnap("start")
	for i := 0; i < 1500; i++ {
		sb.WriteString("item")
		mine.writeString("item")
		for d := i; ; d /= 10 {
			sb.WriteByte(byte('0' + d%10))
			mine.writeByte(byte('0' + d%10))
			if d < 10 {
				break
			}
		}
		sb.WriteByte(',')
		mine.writeByte(',')
	}
	snap("builder")
	sbS = sb.String()
	sb = strings.Builder{}
	snap("string")
	sbB = []byte(sbS)
	snap("to_bytes")
	sbSub = string(sbB[1000:1100])
	snap("sub_to_string")
	sbAcc = ""
	for i := 0; i < 200; i++ {
		sbAcc += "ab"
	}
	snap("concat_loop")
	accLen := len(sbAcc)
	mine = sbuilder{}
	sbS, sbB = "", nil
	gcsnap("drop_builder")
	sbSub, sbAcc = "", ""
	gcsnap("drop_all")
	res := snapResult()
	res["caps"] = append([]int{}, sbCap[1:sbN+1]...)
	res["acc_len"] = accLen
	return res
}

// ---------------------------------------------------------------------------
// a map churned below one table's capacity

type mcItem struct {
	id  int
	buf [24]byte
}

var mcMap map[int]*mcItem

// fidMapChurn: map[int]*mcItem grown to 800 entries (one table: 1024 slots
// hold 896), 700 deleted (tombstones), a GC (the map keeps its memory), 90 new
// keys, 700 of the old ones back, clear, then drop.
func fidMapChurn() result {
	gcsnap("start")
	mcMap = make(map[int]*mcItem)
	for i := 0; i < 800; i++ {
		mcMap[i] = &mcItem{id: i}
	}
	snap("fill")
	for i := 0; i < 700; i++ {
		delete(mcMap, i)
	}
	snap("delete")
	gcsnap("gc_deleted")
	for i := 1000; i < 1090; i++ {
		mcMap[i] = &mcItem{id: i}
	}
	snap("insert_new")
	n1 := len(mcMap)
	for i := 0; i < 700; i++ {
		mcMap[i] = &mcItem{id: i}
	}
	snap("insert_old")
	n2 := len(mcMap)
	clear(mcMap)
	gcsnap("clear")
	mcMap = nil
	gcsnap("drop")
	res := snapResult()
	res["lens"] = []int{n1, n2}
	return res
}

// ---------------------------------------------------------------------------
// runtime/metrics histograms

var (
	hgSamples = []metrics.Sample{{Name: "/gc/heap/allocs-by-size:bytes"}, {Name: "/gc/heap/frees-by-size:bytes"}}
	hgKeep    [][]byte
	hgPtrs    []*lruEntry
	hgA0      [256]uint64 // the counts before, copied without allocating
	hgF0      [256]uint64
)

// fidHist: allocations of 1..40000 bytes (noscan and scan, tiny included), half
// dropped; the allocs-by-size and frees-by-size bucket deltas.
func fidHist() result {
	hgKeep = make([][]byte, 0, 300)
	hgPtrs = make([]*lruEntry, 0, 100)
	metrics.Read(hgSamples) // the first Read allocates the histograms: before the window
	runtime.GC()
	metrics.Read(hgSamples)
	a0 := hgA0[:copy(hgA0[:], hgSamples[0].Value.Float64Histogram().Counts)]
	f0 := hgF0[:copy(hgF0[:], hgSamples[1].Value.Float64Histogram().Counts)]
	buckets := hgSamples[0].Value.Float64Histogram().Buckets
	for i := 0; i < 300; i++ {
		hgKeep = append(hgKeep, make([]byte, 1+(i*i*7)%40000))
	}
	for i := 0; i < 100; i++ {
		hgPtrs = append(hgPtrs, &lruEntry{key: i})
	}
	for i := range hgKeep {
		if i%2 == 1 {
			hgKeep[i] = nil
		}
	}
	hgPtrs = hgPtrs[:10]
	runtime.GC()
	metrics.Read(hgSamples)
	a1 := hgSamples[0].Value.Float64Histogram().Counts
	f1 := hgSamples[1].Value.Float64Histogram().Counts
	allocs, frees := result{}, result{}
	for i := range a1 {
		if d := a1[i] - a0[i]; d != 0 {
			allocs[fmt.Sprint(buckets[i])] = d
		}
		if d := f1[i] - f0[i]; d != 0 {
			frees[fmt.Sprint(buckets[i])] = d
		}
	}
	hgKeep, hgPtrs = nil, nil
	return result{"allocs": allocs, "frees": frees}
}

// ---------------------------------------------------------------------------
// churn over a large live set: heap-triggered cycles at GOGC=25

var churnRing [][]byte

// fidChurn: 5120 live 8 KiB buffers (40 MiB), then 24000 replacements (each
// old buffer garbage) at GOGC=25: the heap-triggered cycles, and the deltas over
// the churn and the closing explicit GC together (where the last heap-triggered
// cycle fell leaves more or less garbage for the explicit one).
func fidChurn() result {
	churnRing = make([][]byte, 5120)
	for i := range churnRing {
		churnRing[i] = make([]byte, 8192)
	}
	old := debug.SetGCPercent(25)
	gcsnap("start")
	for i := 0; i < 24000; i++ {
		churnRing[(i*7)%5120] = make([]byte, 8192)
	}
	snap("churn")
	gcsnap("gc")
	debug.SetGCPercent(old)
	churnRing = nil
	gcsnap("drop")
	both := memDeltas(&pms[0], &pms[2])
	both["BySize"] = bySizeDeltas(&pms[0], &pms[2], false)
	both["BySizeFrees"] = bySizeDeltas(&pms[0], &pms[2], true)
	res := snapResult()
	return result{"churn.NumGC": res["churn"].(result)["NumGC"], "churn_and_gc": both, "drop": res["drop"]}
}
