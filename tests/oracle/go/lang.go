// The allocating language: append growth, substrings, string conversions and
// concatenation, interface boxing, array-field elements (issue 17). Each
// scenario's Python twin is in scenarios_lang.py.
package main

import (
	"runtime"
	"runtime/debug"
	"strconv"
	"testing"
	"unsafe"
)

func init() {
	scenarios = append(scenarios,
		scenario{"lang_append_growth", nil, langAppendGrowth},
		scenario{"lang_slice_liveness", nil, langSliceLiveness},
		scenario{"lang_strings", nil, langStrings},
		scenario{"lang_iface_boxing", nil, langIfaceBoxing},
	)
}

type p40T struct {
	p *int
	b [32]byte
}

var (
	gInts  []int
	gPtrs  []*int
	gBytes []byte
	gT24   [][3]int64
	gP40   []p40T
	capLog [256]int
	zP40   p40T
	onePtr = new(int)
)

// appendRun appends n values one at a time to the global *s, logging every
// capacity the slice takes; then drops it and collects.
func appendRun[T any](s *[]T, n int, val func(int) T) result {
	*s = nil
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	ncap, last := 0, -1
	for i := 0; i < n; i++ {
		*s = append(*s, val(i))
		if c := cap(*s); c != last {
			capLog[ncap] = c
			ncap++
			last = c
		}
	}
	runtime.ReadMemStats(&ms1)
	*s = nil
	runtime.GC()
	runtime.ReadMemStats(&ms2)
	caps := make([]int, ncap)
	copy(caps, capLog[:ncap])
	return result{"caps": caps, "alloc": memDeltas(&ms0, &ms1), "freed": memDeltas(&ms1, &ms2),
		"BySize": bySizeDeltas(&ms0, &ms1, false)}
}

func langAppendGrowth() result {
	return result{
		"int":     appendRun(&gInts, 5000, func(i int) int { return i }),
		"ptr":     appendRun(&gPtrs, 5000, func(int) *int { return onePtr }),
		"byte":    appendRun(&gBytes, 5000, func(i int) byte { return byte(i) }),
		"arr24":   appendRun(&gT24, 2000, func(i int) [3]int64 { return [3]int64{int64(i)} }),
		"ptr40":   appendRun(&gP40, 1000, func(int) p40T { return zP40 }),
		"ptr40b":  appendRun(&gP40, 10, func(int) p40T { return zP40 }),
	}
}

type tailT struct {
	id   int
	tail [8]int
}

var (
	bigB, smallB []byte
	gTail        *tailT
	gElem        *int
	copyDst      []int
	copySrc      []int
)

// langSliceLiveness: a small sub-slice keeps its whole backing array alive;
// append within capacity reuses it; &p.tail[i] keeps p alive; copy and clear.
func langSliceLiveness() result {
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	bigB = make([]byte, 1<<20)
	smallB = bigB[10:20]
	bigB = nil
	runtime.GC()
	runtime.ReadMemStats(&ms1)
	smallB = append(smallB, 1, 2, 3)
	runtime.ReadMemStats(&ms2)
	subLen, subCap := len(smallB), cap(smallB)
	smallB = nil
	runtime.GC()
	runtime.ReadMemStats(&ms3)
	res := result{"kept": memDeltas(&ms0, &ms1), "append_in_cap": memDeltas(&ms1, &ms2),
		"freed": memDeltas(&ms2, &ms3), "len": subLen, "cap": subCap}

	gTail = new(tailT)
	gTail.tail[3] = 7
	gElem = &gTail.tail[3]
	gTail = nil
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	*gElem = 9
	res["elem_value"] = *gElem
	gElem = nil
	runtime.GC()
	runtime.ReadMemStats(&ms1)
	res["elem_freed"] = memDeltas(&ms0, &ms1)

	copyDst = make([]int, 5)
	copySrc = make([]int, 8)
	for i := range copySrc {
		copySrc[i] = i + 1
	}
	runtime.ReadMemStats(&ms0)
	n := copy(copyDst, copySrc)
	m := copy(copySrc[2:], copySrc) // overlapping: memmove
	clear(copySrc[:3])
	runtime.ReadMemStats(&ms1)
	res["copy"] = result{"n": n, "m": m, "dst": append([]int(nil), copyDst...),
		"src": append([]int(nil), copySrc...), "Mallocs": dlt(ms0.Mallocs, ms1.Mallocs)}
	copyDst, copySrc = nil, nil
	return res
}

var (
	lits   = [...]string{"", "a", "hello", "fifteen bytes!!", "sixteen bytes!!!", "x234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890"}
	gStr   [8]string
	gBuf   []byte
	gBS    [8][]byte
	gBig   string
	strRes result
)

// langStrings: concatstrings, slicebytetostring, stringtoslicebyte, substrings.
func langStrings() result {
	gBuf = make([]byte, 1<<20)
	for i := range gBuf {
		gBuf[i] = byte('a' + i%26)
	}
	res := result{}
	step := func(name string, f func()) {
		runtime.GC()
		runtime.ReadMemStats(&ms0)
		f()
		runtime.ReadMemStats(&ms1)
		res[name] = result{"d": memDeltas(&ms0, &ms1), "BySize": bySizeDeltas(&ms0, &ms1, false)}
	}
	step("concat_tiny", func() { gStr[0] = lits[1] + lits[2] })
	step("concat_16", func() { gStr[1] = lits[1] + lits[3] })
	step("concat_3", func() { gStr[2] = lits[2] + lits[5] + lits[4] })
	step("concat_one_nonempty", func() { gStr[3] = lits[0] + lits[5] + lits[0] })
	step("concat_none", func() { gStr[4] = lits[0] + lits[0] })
	step("concat_heap", func() { gStr[5] = gStr[2] + gStr[0] })
	step("string_0", func() { gStr[6] = string(gBuf[:0]) })
	step("string_1", func() { gStr[6] = string(gBuf[3:4]) })
	step("string_5", func() { gStr[6] = string(gBuf[:5]) })
	step("string_20", func() { gStr[6] = string(gBuf[:20]) })
	step("string_100", func() { gStr[6] = string(gBuf[:100]) })
	step("bytes_0", func() { gBS[0] = []byte(lits[0]) })
	step("bytes_5", func() { gBS[1] = []byte(lits[2]) })
	step("bytes_16", func() { gBS[2] = []byte(lits[4]) })
	step("bytes_100", func() { gBS[3] = []byte(lits[5]) })
	res["caps"] = []int{cap(gBS[0]), cap(gBS[1]), cap(gBS[2]), cap(gBS[3])}
	res["values"] = []string{gStr[0], gStr[1], gStr[2], gStr[3], gStr[4], gStr[5], gStr[6]}
	res["static_one_byte"] = uintptr(unsafe.Pointer(unsafe.StringData(string(gBuf[7:8])))) <
		uintptr(unsafe.Pointer(&gBuf[0])) // not in the heap
	// A 10-byte substring keeps a 1 MiB string alive.
	step("big", func() { gBig = string(gBuf) })
	gStr[7] = gBig[10:20]
	gBig = ""
	runtime.ReadMemStats(&ms0)
	runtime.GC()
	runtime.ReadMemStats(&ms1)
	gStr[7] = ""
	runtime.GC()
	runtime.ReadMemStats(&ms2)
	res["substring_kept"] = memDeltas(&ms0, &ms1)
	res["substring_freed"] = memDeltas(&ms1, &ms2)
	for i := range gStr {
		gStr[i] = ""
	}
	gBS = [8][]byte{}
	gBuf = nil
	return res
}

var (
	anyHold [N]any
	gPtr    = new(int)
)

type small2 struct{ a, b int32 }

// langIfaceBoxing: what storing each kind of value in an interface allocates.
func langIfaceBoxing() result {
	res := result{}
	bs := make([]byte, 3)
	step := func(name string, f func(i int) any) {
		clear(anyHold[:])
		runtime.GC()
		runtime.ReadMemStats(&ms0)
		for i := 0; i < 100; i++ {
			anyHold[i] = f(i)
		}
		runtime.ReadMemStats(&ms1)
		clear(anyHold[:])
		runtime.GC()
		runtime.ReadMemStats(&ms2)
		res[name] = result{"alloc": memDeltas(&ms0, &ms1), "freed": memDeltas(&ms1, &ms2),
			"BySize": bySizeDeltas(&ms0, &ms1, false)}
	}
	step("int_small", func(i int) any { return i })
	step("int_big", func(i int) any { return i + 1000 })
	step("int_neg", func(i int) any { return -1 - i })
	step("float", func(i int) any { return float64(i) + 0.5 })
	step("float_zero", func(i int) any { return float64(i) * 0 })
	step("bool", func(i int) any { return i%2 == 0 })
	step("string", func(i int) any { return lits[2] })
	step("string_empty", func(i int) any { return lits[0] })
	step("int8", func(i int) any { return int8(-i) })
	step("uint16_small", func(i int) any { return uint16(i) })
	step("uint16_big", func(i int) any { return uint16(300 + i) })
	step("int32_big", func(i int) any { return int32(70000 + i) })
	step("slice", func(i int) any { return bs })
	step("slice_nil", func(i int) any { return []byte(nil) })
	step("pointer", func(i int) any { return gPtr })
	step("struct8", func(i int) any { return small2{int32(i), 1} })
	return res
}

// ---------------------------------------------------------------------------
// Maps: Go 1.27's Swiss tables.

func init() {
	scenarios = append(scenarios,
		scenario{"lang_map_sizes", nil, langMapSizes},
		scenario{"lang_map_growth", nil, langMapGrowth},
		scenario{"lang_map_liveness", nil, langMapLiveness},
		scenario{"lang_map_100000", nil, langMap100000},
	)
}

type big200 [200]byte
type mvT struct {
	p *int
	b [56]byte
}

var (
	gMII    map[int]int
	gMSP    map[string]*int
	gMIB    map[int]big200
	gMIP    map[int]*mvT
	mapKeys [1000]string
	growLog [64][3]int64
	msA     runtime.MemStats
)

// mapRun: make(map) with hint, insert n entries, drop it, collect.
func mapRun(n, hint int, mk func(hint int), put func(i int), drop func()) result {
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	mk(hint)
	runtime.ReadMemStats(&ms1)
	for i := 0; i < n; i++ {
		put(i)
	}
	runtime.ReadMemStats(&ms2)
	drop()
	runtime.GC()
	runtime.ReadMemStats(&ms3)
	return result{"make": memDeltas(&ms0, &ms1), "fill": memDeltas(&ms1, &ms2), "freed": memDeltas(&ms2, &ms3),
		"BySize": bySizeDeltas(&ms0, &ms2, false)}
}

func runII(n, hint int) result {
	return mapRun(n, hint, func(h int) { gMII = make(map[int]int, h) }, func(i int) { gMII[i] = i }, func() { gMII = nil })
}

func langMapSizes() result {
	for i := range mapKeys {
		mapKeys[i] = "key" + strconv.Itoa(i)
	}
	res := result{}
	for _, n := range []int{0, 8, 9, 1000} {
		res["ii_"+strconv.Itoa(n)] = runII(n, 0)
	}
	for _, h := range []int{8, 9, 100, 1000, 5000} {
		res["hint_"+strconv.Itoa(h)] = runII(0, h)
	}
	res["ii_1000_hint1000"] = runII(1000, 1000)
	for _, n := range []int{8, 9, 1000} {
		res["sp_"+strconv.Itoa(n)] = mapRun(n, 0, func(h int) { gMSP = make(map[string]*int, h) },
			func(i int) { gMSP[mapKeys[i]] = onePtr }, func() { gMSP = nil })
	}
	for _, n := range []int{8, 9, 100} {
		res["indirect_"+strconv.Itoa(n)] = mapRun(n, 0, func(h int) { gMIB = make(map[int]big200, h) },
			func(i int) { gMIB[i] = big200{} }, func() { gMIB = nil })
	}
	return res
}

// langMapGrowth: every insert that allocates, as (entries, Mallocs, TotalAlloc).
func langMapGrowth() result {
	runtime.GC()
	gMII = make(map[int]int)
	runtime.ReadMemStats(&ms0)
	k := 0
	for i := 0; i < 1000; i++ {
		runtime.ReadMemStats(&ms1)
		gMII[i] = i
		runtime.ReadMemStats(&ms2)
		if ms2.Mallocs != ms1.Mallocs {
			growLog[k] = [3]int64{int64(i + 1), dlt(ms1.Mallocs, ms2.Mallocs), dlt(ms1.TotalAlloc, ms2.TotalAlloc)}
			k++
		}
	}
	// Deleting never shrinks: every entry gone, the tables stay.
	for i := 0; i < 1000; i++ {
		delete(gMII, i)
	}
	runtime.GC()
	runtime.ReadMemStats(&ms1)
	for i := 0; i < 1000; i++ { // refilling reuses the tables
		gMII[i] = i
	}
	runtime.ReadMemStats(&ms2)
	clear(gMII)
	runtime.GC()
	runtime.ReadMemStats(&ms3)
	steps := make([][3]int64, k)
	copy(steps, growLog[:k])
	res := result{"steps": steps, "len_after_clear": len(gMII),
		"after_delete": memDeltas(&ms0, &ms1), "refill": memDeltas(&ms1, &ms2), "after_clear": memDeltas(&ms2, &ms3)}
	gMII = nil
	return res
}

// langMapLiveness: a map of pointers keeps its values alive; delete and clear
// release them; the map's own memory stays.
func langMapLiveness() result {
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	gMIP = make(map[int]*mvT)
	for i := 0; i < 100; i++ {
		gMIP[i] = new(mvT)
	}
	runtime.GC()
	runtime.ReadMemStats(&ms1)
	for i := 0; i < 50; i++ {
		delete(gMIP, i)
	}
	runtime.GC()
	runtime.ReadMemStats(&ms2)
	clear(gMIP)
	runtime.GC()
	runtime.ReadMemStats(&ms3)
	n := len(gMIP)
	gMIP = nil
	runtime.GC()
	runtime.ReadMemStats(&msA)
	return result{"filled": memDeltas(&ms0, &ms1), "deleted": memDeltas(&ms1, &ms2), "cleared": memDeltas(&ms2, &ms3),
		"len": n, "dropped": memDeltas(&ms3, &msA)}
}

// langMap100000: 100000 entries: tables split at 1024 slots (how many splits
// depends on the hash seed). The collector is off while filling, so that no
// heap-triggered cycle (timing-dependent) frees the outgrown tables meanwhile.
func langMap100000() result {
	old := debug.SetGCPercent(-1)
	defer debug.SetGCPercent(old)
	return result{"ii": runII(100000, 0), "hint": runII(100000, 100000)}
}

// ---------------------------------------------------------------------------
// Channels: makechan's hchan and buffer.

func init() {
	scenarios = append(scenarios, scenario{"lang_chan_make", nil, langChanMake})
}

var (
	gC1 chan int
	gC2 chan int
	gC3 chan *int
	gC4 chan struct{}
	gC5 chan [64]byte
	gC6 chan [24]byte
	gC7 chan *mvT
)

// langChanMake: what make(chan T, n) allocates, and a buffered pointer keeping
// its referent alive until it is received.
func langChanMake() result {
	res := result{}
	step := func(name string, f func(), drop func()) {
		runtime.GC()
		runtime.ReadMemStats(&ms0)
		f()
		runtime.ReadMemStats(&ms1)
		drop()
		runtime.GC()
		runtime.ReadMemStats(&ms2)
		res[name] = result{"make": memDeltas(&ms0, &ms1), "freed": memDeltas(&ms1, &ms2),
			"BySize": bySizeDeltas(&ms0, &ms1, false)}
	}
	step("unbuffered", func() { gC1 = make(chan int) }, func() { gC1 = nil })
	step("int10", func() { gC2 = make(chan int, 10) }, func() { gC2 = nil })
	step("ptr10", func() { gC3 = make(chan *int, 10) }, func() { gC3 = nil })
	step("empty5", func() { gC4 = make(chan struct{}, 5) }, func() { gC4 = nil })
	step("b64x100", func() { gC5 = make(chan [64]byte, 100) }, func() { gC5 = nil })
	step("b24x1", func() { gC6 = make(chan [24]byte, 1) }, func() { gC6 = nil })
	step("big_ptr", func() { gC3 = make(chan *int, 5000) }, func() { gC3 = nil })
	gC7 = make(chan *mvT, 4)
	gC7 <- new(mvT)
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	<-gC7
	runtime.GC()
	runtime.ReadMemStats(&ms1)
	gC7 = nil
	res["received_frees"] = dlt(ms0.Frees, ms1.Frees)
	return res
}

// ---------------------------------------------------------------------------
// Closures: the funcval {F uintptr; captured...} of an escaping func literal.

func init() {
	scenarios = append(scenarios, scenario{"lang_closures", nil, langClosures})
}

type cbT struct {
	id int
	cb func() int
}

type recvT struct{ n int }

func (r *recvT) get() int { return r.n }

var (
	gFns   [100]func() int
	gCb    *cbT
	gI32   [100]int32
	clTop  = func() int { return 1 }
	clFin  int
	clBig  big200
	clVals [8]int
)

func topFunc() int { return 2 }

//go:noinline
func clNone() func() int { return func() int { return 3 } }

//go:noinline
func clTopLevel() func() int { return topFunc }

//go:noinline
func clPtr(p *int) func() int { return func() int { return *p } }

//go:noinline
func clInt(x int) func() int { return func() int { return x } }

//go:noinline
func clInt32(x int32) func() int { return func() int { return int(x) } }

//go:noinline
func clStr(s string) func() int { return func() int { return len(s) } }

//go:noinline
func clTwo(p *int, b bool, x int32) func() int {
	return func() int {
		if b {
			return *p + int(x)
		}
		return 0
	}
}

// x is assigned by the closure: captured by reference, so x moves to the heap.
//
//go:noinline
func clByRef(x int) func() int { return func() int { x++; return x } }

// a [200]byte is above the 128-byte limit for capture by value: by reference.
//
//go:noinline
func clBigArr(a big200) func() int { return func() int { return int(a[0]) } }

//go:noinline
func clMethod(r *recvT) func() int { return r.get }

//go:noinline
func clMv(p *mvT) func() int { return func() int { return int(p.b[0]) } }

// langClosures: what each kind of escaping func value allocates, and a closure
// in a struct field keeping what it captured alive.
func langClosures() result {
	res := result{}
	step := func(name string, f func(i int) func() int) {
		runtime.GC()
		runtime.ReadMemStats(&ms0)
		for i := range gFns {
			gFns[i] = f(i)
		}
		runtime.ReadMemStats(&ms1)
		sum := 0
		for i := range gFns {
			sum += gFns[i]()
		}
		gFns = [100]func() int{}
		runtime.GC()
		runtime.ReadMemStats(&ms2)
		res[name] = result{"alloc": memDeltas(&ms0, &ms1), "freed": memDeltas(&ms1, &ms2),
			"BySize": bySizeDeltas(&ms0, &ms1, false), "sum": sum}
	}
	step("literal_no_capture", func(i int) func() int { return clNone() })
	step("top_level", func(i int) func() int { return clTopLevel() })
	step("var_func", func(i int) func() int { return clTop })
	step("ptr", func(i int) func() int { p := new(int); *p = i; return clPtr(p) })
	step("int", func(i int) func() int { return clInt(i) })
	step("int32", func(i int) func() int { return clInt32(int32(i)) })
	step("string", func(i int) func() int { return clStr(names[i%10]) })
	step("three", func(i int) func() int { return clTwo(onePtr, true, int32(i)) })
	step("by_ref", func(i int) func() int { return clByRef(i) })
	step("big_array", func(i int) func() int { clBig[0] = byte(i); return clBigArr(clBig) })
	step("method_value", func(i int) func() int { return clMethod(&recvT{i}) })

	// A closure in a struct field is the only path to a finalized object.
	clFin = 0
	gCb = &cbT{id: 1}
	p := new(mvT)
	p.b[0] = 42
	runtime.SetFinalizer(p, func(*mvT) { clFin++ })
	gCb.cb = clMv(p)
	p = nil
	runtime.GC()
	waitQueues()
	runtime.ReadMemStats(&ms0)
	res["kept_finalized"] = clFin
	res["kept_call"] = gCb.cb()
	gCb.cb = nil
	runtime.GC()
	waitQueues()
	runtime.GC()
	runtime.ReadMemStats(&ms1)
	res["dropped_finalized"] = clFin
	res["dropped"] = memDeltas(&ms0, &ms1)
	gCb = nil
	return res
}

// ---------------------------------------------------------------------------
// Channels: values in the heap buffer (chansend/chanrecv copy them in and out).

func init() {
	scenarios = append(scenarios, scenario{"lang_chan_values", nil, langChanValues})
}

type pairT struct {
	p *mvT
	n int
}

var (
	gCP    chan *mvT
	gCS    chan pairT
	gCI    chan int
	gCStr  chan string
	gPairs [8]pairT
	chFin  int
)

func newFinMv() *mvT {
	p := new(mvT)
	runtime.SetFinalizer(p, func(*mvT) { chFin++ })
	return p
}

var chMs [16]runtime.MemStats

// chGC: a GC, the finalizers it queued run, and the MemStats after.
func chGC(ms *runtime.MemStats) int {
	runtime.GC()
	waitQueues()
	runtime.ReadMemStats(ms)
	return chFin
}

// langChanValues: values waiting in a channel's buffer are kept alive by it (and
// only by it); receiving clears the slot; closing keeps the buffer; dropping the
// channel frees hchan, buffer and what was still in it. The results are built at
// the end: building them allocates.
func langChanValues() result {
	m := &chMs
	var fin [8]int
	chFin = 0
	runtime.GC()
	runtime.ReadMemStats(&m[0])
	gCP = make(chan *mvT, 4)
	for i := 0; i < 3; i++ {
		gCP <- newFinMv()
	}
	runtime.ReadMemStats(&m[1])
	fin[0] = chGC(&m[2])
	<-gCP
	fin[1] = chGC(&m[3])
	close(gCP)
	fin[2] = chGC(&m[4])
	gCP = nil
	chGC(&m[5])
	fin[3] = chGC(&m[5])

	// struct values with a pointer, copied into and out of the buffer
	chFin = 0
	runtime.GC()
	runtime.ReadMemStats(&m[6])
	gCS = make(chan pairT, 8)
	for i := 0; i < 8; i++ {
		gCS <- pairT{newFinMv(), i}
	}
	sum := 0
	for i := 0; i < 4; i++ {
		gPairs[i] = <-gCS
		sum += gPairs[i].n
	}
	runtime.ReadMemStats(&m[7])
	slen := len(gCS)
	fin[4] = chGC(&m[8])
	gPairs = [8]pairT{}
	fin[5] = chGC(&m[9])
	gCS = nil
	chGC(&m[10])
	fin[6] = chGC(&m[10])

	// a pointer-free buffer: sends and receives allocate nothing
	gCI = make(chan int, 100)
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	isum := 0
	for r := 0; r < 10; r++ {
		for i := 0; i < 100; i++ {
			gCI <- i
		}
		for i := 0; i < 100; i++ {
			isum += <-gCI
		}
	}
	runtime.ReadMemStats(&ms1)
	gCI = nil

	// strings on the heap, kept by the buffer's string headers
	gCStr = make(chan string, 16)
	runtime.GC()
	runtime.ReadMemStats(&m[11])
	for i := 0; i < 16; i++ {
		gCStr <- names[i%10] + "-abcdefghijklmnopqrstuvwxyz"
	}
	runtime.ReadMemStats(&m[12])
	runtime.GC()
	runtime.ReadMemStats(&m[13])
	n := 0
	for i := 0; i < 8; i++ {
		n += len(<-gCStr)
	}
	runtime.GC()
	runtime.ReadMemStats(&m[14])
	gCStr = nil
	runtime.GC()
	runtime.ReadMemStats(&m[15])

	return result{
		"ptr_send": memDeltas(&m[0], &m[1]), "ptr_buffered_fin": fin[0],
		"ptr_received": memDeltas(&m[2], &m[3]), "ptr_received_fin": fin[1],
		"ptr_closed": memDeltas(&m[3], &m[4]), "ptr_closed_fin": fin[2],
		"ptr_dropped": memDeltas(&m[4], &m[5]), "ptr_dropped_fin": fin[3],
		"struct_fill": memDeltas(&m[6], &m[7]), "struct_sum": sum, "struct_len": slen,
		"struct_kept": memDeltas(&m[7], &m[8]), "struct_kept_fin": fin[4],
		"struct_received": memDeltas(&m[8], &m[9]), "struct_received_fin": fin[5],
		"struct_dropped": memDeltas(&m[9], &m[10]), "struct_dropped_fin": fin[6],
		"int_roundtrips": memDeltas(&ms0, &ms1), "int_sum": isum,
		"str_send": memDeltas(&m[11], &m[12]), "str_kept": memDeltas(&m[12], &m[13]),
		"str_received": memDeltas(&m[13], &m[14]), "str_len": n,
		"str_dropped": memDeltas(&m[14], &m[15]),
	}
}

// ---------------------------------------------------------------------------
// testing.AllocsPerRun checks of Go's own tests, in the form whose result escapes
// (a global), which is what a goruntime handle is: runtime/malloc_test.go
// TestStringConcatenationAllocs, string_test.go TestConcatTempString, map_test.go
// TestMapStringBytesLookup and TestNonEscapingMap, iface_test.go TestZeroConvT2x and
// BenchmarkConvT2E*'s values, slice_test.go TestAppendByteInLoop/TestAppendPtrInLoop.

func init() {
	scenarios = append(scenarios, scenario{"lang_allocs_per_run", nil, langAllocsPerRun})
}

var (
	apB10   = []byte("0123456789")
	apB40   = []byte("0123456789012345678901234567890123456789")
	apS     string
	apE     any
	apM     map[int]int
	apMS    map[string]int
	apBuf   = []byte("1000000000000000000000000000000000000000000000000")
	apBytes []byte
	apPtrs  []*byte
	apX     int
	apHint  = 8

	apEight8     uint8  = 8
	apZero16     uint16 = 0
	apZero32     uint32 = 0
	apZero64     uint64 = 0
	apZeroStr    string = ""
	apZeroSlice  []byte = nil
	apOne16      uint16 = 1
	apOne32      uint32 = 1
	apOne64      uint64 = 1
	apThousand16 uint16 = 1000
	apThousand32 uint32 = 1000
	apThousand64 uint64 = 1000
	apNzStr      string = "abc"
	apNzSlice    []byte = []byte("abc")
	apZeroBig    [512]byte
	apNzBig      = [512]byte{511: 1}
)

func langAllocsPerRun() result {
	apMS = map[string]int{
		"1000000000000000000000000000000000000000000000000": 1,
		"2000000000000000000000000000000000000000000000000": 2,
	}
	res := result{}
	run := func(name string, n int, f func()) { res[name] = testing.AllocsPerRun(n, f) }
	run("concat_foo_bytes10", 1000, func() { apS = "foo" + string(apB10) })
	run("concat_prefix_bytes10_suffix", 1000, func() { apS = "prefix " + string(apB10) + " suffix" })
	run("concat_foo_bytes40", 1000, func() { apS = "foo" + string(apB40) })
	run("concat_empty_bytes10", 1000, func() { apS = "" + string(apB10) })
	run("string_bytes10", 1000, func() { apS = string(apB10) })
	run("map_lookup_string_bytes", 100, func() { apX += apMS[string(apBuf)] })
	run("map_lookup2_string_bytes", 100, func() {
		y, ok := apMS[string(apBuf)]
		if !ok {
			panic("!ok")
		}
		apX += y
	})
	run("map_insert_string_bytes", 100, func() { apMS[string(apBuf)] = 3 })
	run("map_delete_string_bytes", 100, func() { delete(apMS, string(apBuf)) })
	run("map_literal_insert", 1000, func() { apM = map[int]int{}; apM[0] = 0 })
	run("map_make_insert", 1000, func() { apM = make(map[int]int); apM[0] = 0 })
	run("map_make8_insert", 1000, func() { apM = make(map[int]int, 8); apM[0] = 0 })
	run("map_make_var_insert", 1000, func() { apM = make(map[int]int, apHint); apM[0] = 0 })
	run("map_make9", 1000, func() { apM = make(map[int]int, 9) })
	conv := []struct {
		name string
		fn   func()
	}{
		{"E8", func() { apE = apEight8 }},
		{"E16_zero", func() { apE = apZero16 }},
		{"E32_zero", func() { apE = apZero32 }},
		{"E64_zero", func() { apE = apZero64 }},
		{"Estr_zero", func() { apE = apZeroStr }},
		{"Eslice_zero", func() { apE = apZeroSlice }},
		{"E16_one", func() { apE = apOne16 }},
		{"E32_one", func() { apE = apOne32 }},
		{"E64_one", func() { apE = apOne64 }},
		{"E16_thousand", func() { apE = apThousand16 }},
		{"E32_thousand", func() { apE = apThousand32 }},
		{"E64_thousand", func() { apE = apThousand64 }},
		{"Estr_nonzero", func() { apE = apNzStr }},
		{"Eslice_nonzero", func() { apE = apNzSlice }},
		{"Ebig_zero", func() { apE = apZeroBig }},
		{"Ebig_nonzero", func() { apE = apNzBig }},
	}
	for _, c := range conv {
		run("conv_"+c.name, 1000, c.fn)
	}
	for _, n := range []int{0, 1, 2, 8, 9, 16, 17, 24, 25, 32, 33, 48, 49, 64, 65} {
		run("append_bytes_"+strconv.Itoa(n), 10, func() {
			apBytes = nil
			for i := range n {
				apBytes = append(apBytes, byte(i))
			}
		})
		res["append_bytes_"+strconv.Itoa(n)+"_cap"] = cap(apBytes)
	}
	for _, n := range []int{0, 1, 2, 3, 4, 5, 8, 9} {
		run("append_ptrs_"+strconv.Itoa(n), 10, func() {
			apPtrs = nil
			for range n {
				apPtrs = append(apPtrs, nil)
			}
		})
		res["append_ptrs_"+strconv.Itoa(n)+"_cap"] = cap(apPtrs)
	}
	return res
}

// ---------------------------------------------------------------------------
// Maps with composite keys: structs and arrays as keys, their slots laid out as Go's.

func init() {
	scenarios = append(scenarios, scenario{"lang_map_composite", nil, langMapComposite})
}

type keyA struct {
	a int32
	s string
	b [3]uint16
}

type keyP struct {
	p *mvT
	n int
}

type keyBig struct {
	a [20]int
	s string
}

var (
	gMKA   map[keyA]int
	gMK2   map[[2]string]int
	gMKP   map[keyP]bool
	gMKB   map[keyBig]int
	kaKeys [100]keyA
	k2Keys [100][2]string
	kbKeys [20]keyBig
	kpKeys [10]keyP
)

func langMapComposite() result {
	for i := range kaKeys {
		s := "key" + strconv.Itoa(i)
		kaKeys[i] = keyA{int32(i), s, [3]uint16{uint16(i), 0, 1}}
		k2Keys[i] = [2]string{s, s[:2]}
	}
	for i := range kbKeys {
		kbKeys[i].a[i] = i + 1
		kbKeys[i].s = "big"
	}
	res := result{}
	for _, n := range []int{8, 9, 100} {
		res["A_"+strconv.Itoa(n)] = mapRun(n, 0, func(h int) { gMKA = make(map[keyA]int, h) },
			func(i int) { gMKA[kaKeys[i]] = i }, func() { gMKA = nil })
		res["arr_"+strconv.Itoa(n)] = mapRun(n, 0, func(h int) { gMK2 = make(map[[2]string]int, h) },
			func(i int) { gMK2[k2Keys[i]] = i }, func() { gMK2 = nil })
	}
	for _, n := range []int{8, 9, 20} {
		res["big_"+strconv.Itoa(n)] = mapRun(n, 0, func(h int) { gMKB = make(map[keyBig]int, h) },
			func(i int) { gMKB[kbKeys[i]] = i }, func() { gMKB = nil })
	}
	res["A_hint100"] = mapRun(100, 100, func(h int) { gMKA = make(map[keyA]int, h) },
		func(i int) { gMKA[kaKeys[i]] = i }, func() { gMKA = nil })

	// pointers inside keys keep their referents alive until the entry is deleted
	chFin = 0
	gMKP = make(map[keyP]bool)
	for i := range kpKeys {
		gMKP[keyP{newFinMv(), i}] = true
	}
	var fin [3]int
	fin[0] = chGC(&chMs[0])
	n := 0
	for k := range gMKP {
		if k.n%2 == 0 {
			delete(gMKP, k)
			n++
		}
	}
	fin[1] = chGC(&chMs[1])
	gMKP = nil
	chGC(&chMs[2])
	fin[2] = chGC(&chMs[2])
	res["ptr_kept_fin"] = fin[0]
	res["ptr_deleted"] = n
	res["ptr_deleted_fin"] = fin[1]
	res["ptr_dropped_fin"] = fin[2]
	res["ptr_deleted_mem"] = memDeltas(&chMs[0], &chMs[1])
	return res
}
