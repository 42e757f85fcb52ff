// The fidelity audit, second round: append growth of element sizes nobody had
// checked (12, 20, 48, 56, 72, 96, 136 bytes; strings, interfaces, batches),
// records parsed into structs with short (tiny) and long strings and boxed
// values, finalizers and cleanups on cycles and on tiny objects, maps with
// indirect keys and values (> 128 bytes), deletion and reinsertion, maps of
// maps. Every value lives in a global (it escapes, as a goruntime handle does).
// Twins in scenarios_fidelity2.py.
package main

import (
	"runtime"
	"runtime/metrics"
	"sync"
)

func init() {
	scenarios = append(scenarios,
		scenario{"fid2_append_elems", nil, fid2AppendElems},
		scenario{"fid2_records", nil, fid2Records},
		scenario{"fid2_cycles", nil, fid2Cycles},
		scenario{"fid2_big_maps", nil, fid2BigMaps},
		scenario{"fid2_cleanup_wait", nil, fid2CleanupWait},
		scenario{"fid2_cleanup_turns", nil, fid2CleanupTurns},
		scenario{"fid2_tiny_mix", nil, fid2TinyMix},
		scenario{"fid2_json_docs", nil, fid2JSONDocs},
		scenario{"fid2_pool", nil, fid2Pool},
	)
}

// ---------------------------------------------------------------------------
// append growth per element size

type (
	e12 [3]int32
	e20 [5]int32
	e48 struct {
		p *int
		a [5]int
	}
	e56 struct {
		s string
		t []byte
		f float64
	}
	e72 [9]int64
	e96 struct {
		a [11]int
		p *int
	}
	e136 [17]int
)

var (
	gE12  []e12
	gE20  []e20
	gE48  []e48
	gE56  []e56
	gE72  []e72
	gE96  []e96
	gE136 []e136
	gStrs []string
	gAnys []any
	gBat  []string
	batch [7]string // "a".."g", set by fid2AppendElems (a package-level slice literal would be
	// allocated at init, which the nonheap_memory scenarios' BuckHashSys counts)
)

var (
	aeMs   [10][3]runtime.MemStats
	aeCaps [10][64]int
	aeNcap [10]int
)

// appendRec is lang.go's appendRun with its numbers kept in globals, the results
// built at the end: building them between runs would leave the runs' size classes
// with partly used spans of the harness's own maps.
func appendRec[T any](k int, s *[]T, n int, val func(int) T) {
	*s = nil
	runtime.GC()
	runtime.ReadMemStats(&aeMs[k][0])
	last := -1
	for i := 0; i < n; i++ {
		*s = append(*s, val(i))
		if c := cap(*s); c != last {
			aeCaps[k][aeNcap[k]] = c
			aeNcap[k]++
			last = c
		}
	}
	runtime.ReadMemStats(&aeMs[k][1])
	*s = nil
	runtime.GC()
	runtime.ReadMemStats(&aeMs[k][2])
}

// appendBatch appends n batches of 1..7 strings at once (append(s, b...)): when
// the new length passes twice the old capacity the new capacity is the length.
func appendBatch(k, n int) {
	gBat = nil
	runtime.GC()
	runtime.ReadMemStats(&aeMs[k][0])
	last := -1
	for i := 0; i < n; i++ {
		gBat = append(gBat, batch[:1+i%7]...)
		if c := cap(gBat); c != last {
			aeCaps[k][aeNcap[k]] = c
			aeNcap[k]++
			last = c
		}
	}
	runtime.ReadMemStats(&aeMs[k][1])
	gBat = nil
	runtime.GC()
	runtime.ReadMemStats(&aeMs[k][2])
}

func fid2AppendElems() result {
	aeNcap = [10]int{}
	batch = [7]string{"a", "b", "c", "d", "e", "f", "g"}
	appendRec(0, &gE12, 3000, func(i int) e12 { return e12{int32(i)} })
	appendRec(1, &gE20, 3000, func(i int) e20 { return e20{int32(i)} })
	appendRec(2, &gE48, 2000, func(i int) e48 { return e48{p: onePtr} })
	appendRec(3, &gE56, 2000, func(i int) e56 { return e56{f: float64(i)} })
	appendRec(4, &gE72, 1500, func(i int) e72 { return e72{int64(i)} })
	appendRec(5, &gE96, 1500, func(i int) e96 { return e96{p: onePtr} })
	appendRec(6, &gE136, 1000, func(i int) e136 { return e136{i} })
	appendRec(7, &gStrs, 3000, func(i int) string { return "x" })
	appendRec(8, &gAnys, 3000, func(i int) any { return nil })
	appendBatch(9, 600)
	res := result{}
	for k, name := range []string{"e12", "e20", "e48", "e56", "e72", "e96", "e136", "str", "any", "batch"} {
		m := &aeMs[k]
		res[name] = result{"caps": append([]int{}, aeCaps[k][:aeNcap[k]]...), "alloc": memDeltas(&m[0], &m[1]),
			"freed": memDeltas(&m[1], &m[2]), "BySize": bySizeDeltas(&m[0], &m[1], false)}
	}
	return res
}

// ---------------------------------------------------------------------------
// records: structs holding substrings, short strings (tiny), slices and boxed values

type record struct {
	name  string
	tags  []string
	score float64
	attrs []any
	next  *record
}

var (
	recInput []byte
	recs     []*record
	recIndex map[string]*record
	recLens  [4]int
)

// parseRecords splits "name:tag,tag,...;" records: names are string(b[i:j]) (a
// copy: tiny when under 16 bytes), tags are substrings of one string per record.
func parseRecords() {
	i := 0
	for i < len(recInput) {
		j := i
		for recInput[j] != ':' {
			j++
		}
		r := &record{name: string(recInput[i:j])}
		k := j + 1
		for recInput[k] != ';' {
			k++
		}
		tagText := string(recInput[j+1 : k])
		start := 0
		for t := 0; t <= len(tagText); t++ {
			if t == len(tagText) || tagText[t] == ',' {
				r.tags = append(r.tags, tagText[start:t])
				start = t + 1
			}
		}
		n := len(recs)
		r.score = float64(n%7) * 0.5
		r.attrs = append(r.attrs, n%300, r.score, len(r.tags) > 2, int32(n*1000))
		if n > 0 {
			r.next = recs[n-1]
		}
		recs = append(recs, r)
		i = k + 1
	}
}

func fid2Records() result {
	b := make([]byte, 0, 1<<16)
	for n := 0; n < 700; n++ {
		name := "rec"
		for d := 0; d < n%23; d++ {
			name += "x"
		}
		b = append(b, name...)
		b = append(b, ':')
		for t := 0; t <= n%5; t++ {
			if t > 0 {
				b = append(b, ',')
			}
			b = append(b, "tag"...)
			b = append(b, byte('a'+(n+t)%26))
		}
		b = append(b, ';')
	}
	recInput = b
	gcsnap("start")
	parseRecords()
	snap("parse")
	recIndex = make(map[string]*record)
	for _, r := range recs {
		recIndex[r.name] = r
	}
	snap("index")
	recLens[0] = len(recIndex)
	gcsnap("gc_full")
	for i, r := range recs {
		if i%3 != 0 {
			r.attrs = nil
		}
		if i%2 == 0 {
			r.tags = r.tags[:1]
		}
	}
	gcsnap("trim")
	for i := 0; i < len(recs); i += 2 {
		recs[i].next = nil
	}
	recs = recs[:0]
	gcsnap("unlink")
	recIndex = nil
	gcsnap("drop_index")
	recs = nil
	recInput = nil
	gcsnap("drop")
	res := snapResult()
	res["len"] = recLens[0]
	return res
}

// ---------------------------------------------------------------------------
// finalizers and cleanups on cycles and tiny objects

type cyc struct {
	id   int
	peer *cyc
	pad  [2]int
}

type tinyRec struct{ v int64 } // 8 bytes, no pointers: tiny blocks

var (
	cycA, cycB *cyc
	cycSelf    *cyc
	cycC, cycD *cyc
	cycE, cycF *cyc
	tinyKeep   [4]*tinyRec
	cycEv      [32]int
	cycEvN     int
	cycCyc     [8]int
	cycLabels  = [...]string{"cycle0", "cycle1", "cycle2", "cycle3", "cycle4", "cycle5", "cycle6"}
)

func cycFin(c *cyc)      { cycEv[cycEvN] = c.id; cycEvN++ }
func tinyFin(t *tinyRec) { cycEv[cycEvN] = int(100 + t.v); cycEvN++ }
func cycCleanup(id int)  { cycEv[cycEvN] = 200 + id; cycEvN++ }

//go:noinline
func setupCycFins() {
	// A <-> B with a finalizer on A: A's finalizer keeps B, B keeps A: never freed.
	cycA = &cyc{id: 1}
	cycB = &cyc{id: 2, peer: cycA}
	cycA.peer = cycB
	runtime.SetFinalizer(cycA, cycFin)
	// a self-loop with a finalizer: never freed.
	cycSelf = &cyc{id: 3}
	cycSelf.peer = cycSelf
	runtime.SetFinalizer(cycSelf, cycFin)
	// E -> F, finalizers on both: E first, F the cycle after.
	cycF = &cyc{id: 7}
	cycE = &cyc{id: 6, peer: cycF}
	runtime.SetFinalizer(cycE, cycFin)
	runtime.SetFinalizer(cycF, cycFin)
	// tiny objects: two per 16-byte block; a finalizer on one whose block-mate lives
	// does not run until the block-mate dies.
	for i := 0; i < 4; i++ {
		t := &tinyRec{v: int64(i)}
		runtime.SetFinalizer(t, tinyFin)
		tinyKeep[i] = t
	}
}

func fid2Cycles() result {
	cycEvN = 0
	gcsnap("start")
	setupCycFins()
	snap("setup")
	cycA, cycB, cycSelf, cycE, cycF = nil, nil, nil, nil, nil
	tinyKeep[0] = nil // its block-mate 1 lives
	tinyKeep[3] = nil // its block-mate 2 lives
	for i := 1; i <= 6; i++ {
		runtime.GC()
		waitQueues()
		cycCyc[i] = cycEvN
		snap(cycLabels[i])
		if i == 2 {
			tinyKeep[1] = nil // block 0 now all dead
		}
		if i == 3 {
			tinyKeep[2] = nil
		}
	}
	res := snapResult()
	out := result{}
	for i := 1; i <= 6; i++ {
		out["cycle"+names[i]] = append([]int{}, cycEv[cycCyc[i-1]:cycCyc[i]]...)
	}
	res["events"] = out
	return res
}

var cwQueue [3][4]uint64

// fid2CleanupWait: C <-> D with a cleanup on each (a cleanup does not keep its
// object, so the cycle is freed and both run), and no finalizer queued in the same
// cycle. The queue metrics are read as runtime.GC returns, then after waitQueues.
func fid2CleanupWait() result {
	cycEvN = 0
	gcsnap("start")
	cycC = &cyc{id: 4}
	cycD = &cyc{id: 5, peer: cycC}
	cycC.peer = cycD
	runtime.AddCleanup(cycC, cycCleanup, 4)
	runtime.AddCleanup(cycD, cycCleanup, 5)
	snap("setup")
	cycC, cycD = nil, nil
	runtime.GC()
	metrics.Read(queueSamples)
	for i := range queueSamples {
		cwQueue[0][i] = queueSamples[i].Value.Uint64()
	}
	n := cycEvN
	snap("gc")
	waitQueues()
	metrics.Read(queueSamples)
	for i := range queueSamples {
		cwQueue[1][i] = queueSamples[i].Value.Uint64()
	}
	snap("wait")
	res := snapResult()
	res["events_at_gc_return"] = append([]int{}, cycEv[:n]...)
	res["events"] = append([]int{}, cycEv[:cycEvN]...)
	res["queues_at_gc_return"] = []uint64{cwQueue[0][0], cwQueue[0][1], cwQueue[0][2], cwQueue[0][3]}
	res["queues_after_wait"] = []uint64{cwQueue[1][0], cwQueue[1][1], cwQueue[1][2], cwQueue[1][3]}
	return res
}

var (
	ctBig    [32]*[40000]byte
	ctQueues [8][4]uint64
	ctEvN    [8]int
	ctRounds = [...]struct {
		n   int
		fin bool
	}{{0, true}, {0, false}, {4, true}, {10, false}, {9, true}, {21, false}, {15, true}}
)

// fid2CleanupTurns: rounds of n dead 40 KB objects (a span each) beside a cycle
// with a cleanup and, in some rounds, an object with a finalizer in the same span
// (the mcache flush's sweep wakes the finalizer goroutine). Without a finalizer
// the cleanup has not run when runtime.GC returns; with one it has (unless the
// sweep ends on the tenth span of a background-sweeper batch, which depends on
// how many spans the whole process holds: the rounds avoid it).
func fid2CleanupTurns() result {
	cycEvN = 0
	runtime.GC()
	for r, rd := range ctRounds {
		for i := 0; i < rd.n; i++ {
			ctBig[i] = new([40000]byte)
		}
		cycC = &cyc{id: 4}
		cycD = &cyc{id: 5, peer: cycC}
		cycC.peer = cycD
		cycE = &cyc{id: 6}
		runtime.AddCleanup(cycC, cycCleanup, 4)
		if rd.fin {
			runtime.SetFinalizer(cycE, cycFin)
		}
		cycC, cycD, cycE = nil, nil, nil
		ctBig = [32]*[40000]byte{}
		runtime.GC()
		metrics.Read(queueSamples)
		for i := range queueSamples {
			ctQueues[r][i] = queueSamples[i].Value.Uint64()
		}
		ctEvN[r] = cycEvN
		waitQueues()
	}
	res := result{}
	for r, rd := range ctRounds {
		q := ctQueues[r]
		res["round"+names[r]] = result{"spans": rd.n, "fin": rd.fin, "finalizers_pending": q[0] - q[1],
			"cleanups_pending": q[2] - q[3], "events_at_gc_return": ctEvN[r]}
	}
	res["events"] = append([]int{}, cycEv[:cycEvN]...)
	return res
}

// ---------------------------------------------------------------------------
// maps with indirect keys and values, deletion and reinsertion, maps of maps

type (
	bigVal [25]int64 // 200 bytes, no pointers: stored indirectly
	bigKey [17]int64 // 136 bytes: stored indirectly
	pVal   struct {
		p *int
		b [140]byte
	}
)

var (
	mBigV  map[int]bigVal
	mBigK  map[bigKey]int
	mPVal  map[string]pVal
	mOfM   map[int]map[int]int
	mLens  [8]int
	keyStr []string
)

func fid2BigMaps() result {
	kb := make([]byte, 900)
	keyStr = make([]string, 300)
	for i := range keyStr {
		kb[3*i], kb[3*i+1], kb[3*i+2] = 'k', byte('a'+i%26), byte('a'+i/26)
		keyStr[i] = string(kb[3*i : 3*i+3])
	}
	gcsnap("start")
	mBigV = make(map[int]bigVal)
	for i := 0; i < 300; i++ {
		mBigV[i] = bigVal{int64(i)}
	}
	snap("bigv_fill")
	for i := 0; i < 300; i += 2 {
		delete(mBigV, i)
	}
	gcsnap("bigv_delete")
	for i := 0; i < 300; i += 2 {
		mBigV[i+1000] = bigVal{int64(i)}
	}
	snap("bigv_reinsert")
	for i := 1; i < 300; i += 2 {
		mBigV[i] = bigVal{int64(i + 1)}
	}
	snap("bigv_overwrite")
	mLens[0] = len(mBigV)
	mBigV = nil
	gcsnap("bigv_drop")

	mBigK = make(map[bigKey]int, 50)
	for i := 0; i < 120; i++ {
		mBigK[bigKey{int64(i)}] = i
	}
	snap("bigk_fill")
	for i := 0; i < 120; i += 3 {
		delete(mBigK, bigKey{int64(i)})
	}
	gcsnap("bigk_delete")
	mLens[1] = len(mBigK)
	clear(mBigK)
	gcsnap("bigk_clear")
	for i := 0; i < 60; i++ {
		mBigK[bigKey{int64(i * 7)}] = i
	}
	snap("bigk_refill")
	mBigK = nil
	gcsnap("bigk_drop")

	mPVal = make(map[string]pVal)
	for _, k := range keyStr {
		mPVal[k] = pVal{p: onePtr}
	}
	snap("pval_fill")
	mLens[2] = len(mPVal)
	mPVal = nil
	gcsnap("pval_drop")

	mOfM = make(map[int]map[int]int)
	for i := 0; i < 400; i++ {
		inner := mOfM[i%40]
		if inner == nil {
			inner = make(map[int]int)
			mOfM[i%40] = inner
		}
		inner[i] = i
	}
	snap("mofm_fill")
	for i := 0; i < 40; i += 2 {
		delete(mOfM, i)
	}
	gcsnap("mofm_delete")
	mLens[3] = len(mOfM)
	mOfM = nil
	keyStr = nil
	gcsnap("mofm_drop")
	res := snapResult()
	res["lens"] = append([]int{}, mLens[:4]...)
	return res
}

// ---------------------------------------------------------------------------
// the tiny allocator over a mix of sizes and alignments

var (
	tmB    [700]*byte
	tmI16  [700]*int16
	tmI32  [700]*int32
	tmI64  [700]*int64
	tmA3   [700]*[3]byte
	tmA5   [700]*[5]byte
	tmA12  [700]*[12]byte
	tmA7   [700]*[7]byte
	tmS    [700]string
	tmText []byte
	tmTiny [2]metrics.Sample
	tmMet  [4]uint64
)

// fid2TinyMix: 6300 pointer-free allocations under 16 bytes, nine kinds in turn
// (1, 2, 4, 8, 3, 5, 12, 7 bytes and string(b[i:j]) of 1..15 bytes): the tiny
// allocator packs them into 16-byte blocks by alignment (8 for multiples of 8, 4,
// 2, else 1) and keeps the block with more room; every third kept, then all dropped.
func fid2TinyMix() result {
	tmTiny = [2]metrics.Sample{{Name: "/gc/heap/tiny/allocs:objects"}, {Name: "/gc/heap/allocs:objects"}}
	tmText = make([]byte, 64)
	for i := range tmText {
		tmText[i] = byte('a' + i%26)
	}
	gcsnap("start")
	metrics.Read(tmTiny[:])
	tmMet[0], tmMet[1] = tmTiny[0].Value.Uint64(), tmTiny[1].Value.Uint64()
	for i := 0; i < 700; i++ {
		tmB[i] = new(byte)
		tmI16[i] = new(int16)
		tmI32[i] = new(int32)
		tmI64[i] = new(int64)
		tmA3[i] = new([3]byte)
		tmA5[i] = new([5]byte)
		tmA12[i] = new([12]byte)
		tmA7[i] = new([7]byte)
		k := 1 + i%15
		tmS[i] = string(tmText[i%40 : i%40+k])
	}
	snap("alloc")
	metrics.Read(tmTiny[:])
	tmMet[2], tmMet[3] = tmTiny[0].Value.Uint64(), tmTiny[1].Value.Uint64()
	for i := 0; i < 700; i++ {
		if i%3 != 0 {
			tmB[i], tmI16[i], tmI32[i], tmI64[i], tmA3[i], tmA5[i], tmA12[i], tmA7[i] = nil, nil, nil, nil, nil, nil, nil, nil
			tmS[i] = ""
		}
	}
	gcsnap("keep_third")
	tmB, tmI16, tmI32, tmI64 = [700]*byte{}, [700]*int16{}, [700]*int32{}, [700]*int64{}
	tmA3, tmA5, tmA12, tmA7 = [700]*[3]byte{}, [700]*[5]byte{}, [700]*[12]byte{}, [700]*[7]byte{}
	tmS = [700]string{}
	gcsnap("drop")
	res := snapResult()
	res["tiny_allocs"] = tmMet[2] - tmMet[0]
	res["allocs"] = tmMet[3] - tmMet[1]
	return res
}

// ---------------------------------------------------------------------------
// JSON-like documents: map[string]any holding ints, floats, strings, bools,
// []any and nested maps

var (
	jdDocs []map[string]any
	jdSrc  []byte
	jdYes  = "yes" // a variable: convTstring boxes it (a constant would be boxed from rodata)
)

func fid2JSONDocs() result {
	jdSrc = make([]byte, 256)
	for i := range jdSrc {
		jdSrc[i] = byte('A' + i%26)
	}
	gcsnap("start")
	for i := 0; i < 200; i++ {
		m := make(map[string]any)
		m["id"] = i
		m["score"] = float64(i) * 0.25
		m["name"] = string(jdSrc[i%50 : i%50+5+i%30])
		m["ok"] = i%2 == 0
		tags := make([]any, 3)
		tags[0], tags[1], tags[2] = i+1000, i%10, -i
		m["tags"] = tags
		inner := make(map[string]any)
		inner["depth"] = i % 4
		inner["ratio"] = 1 / float64(i+1)
		m["nested"] = inner
		jdDocs = append(jdDocs, m)
	}
	snap("build")
	gcsnap("gc_full")
	for i := 0; i < 200; i += 2 {
		delete(jdDocs[i], "tags")
		jdDocs[i]["nested"] = nil
	}
	gcsnap("trim")
	for i := 1; i < 200; i += 2 {
		jdDocs[i]["id"] = i * 1000
		jdDocs[i]["ok"] = jdYes
	}
	snap("retype")
	jdDocs = nil
	jdSrc = nil
	gcsnap("drop")
	return snapResult()
}

// ---------------------------------------------------------------------------
// sync.Pool: per-P private slot and shared chain, cleared at each GC into the
// victim cache, which the next GC drops

type pbuf struct {
	b [200]byte
	n int
}

var (
	pool     = sync.Pool{New: func() any { poolNew++; return new(pbuf) }}
	poolNew  int
	poolHeld [20]*pbuf
	poolNews [8]int
)

func poolGet(n int) {
	for i := 0; i < n; i++ {
		poolHeld[i] = pool.Get().(*pbuf)
	}
}

func poolPut(n int) {
	for i := 0; i < n; i++ {
		pool.Put(poolHeld[i])
		poolHeld[i] = nil
	}
}

// fid2Pool: 10 Gets (all New), 10 Puts (private slot, then a chain of rings of 8
// and 16), 4 Gets and Puts, then GCs with Gets and Puts between them: objects
// survive the first GC in the victim cache (a Get takes them from there) and are
// freed by the second.
func fid2Pool() result {
	poolNew = 0
	gcsnap("start")
	poolGet(10)
	snap("get10")
	poolNews[0] = poolNew
	poolPut(10)
	snap("put10")
	poolGet(4)
	snap("get4")
	poolNews[1] = poolNew
	poolPut(4)
	snap("put4")
	gcsnap("gc1")
	poolGet(3)
	snap("get3_victim")
	poolNews[2] = poolNew
	gcsnap("gc2")
	poolGet(2)
	snap("get2_after_gc2")
	poolNews[3] = poolNew
	gcsnap("gc3")
	poolPut(5)
	snap("put5")
	gcsnap("gc4")
	gcsnap("gc5")
	poolGet(1)
	snap("get1_empty")
	poolNews[4] = poolNew
	poolPut(1)
	gcsnap("gc6")
	gcsnap("gc7")
	res := snapResult()
	res["news"] = append([]int{}, poolNews[:5]...)
	return res
}
