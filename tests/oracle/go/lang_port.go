// The programs people port first (issue 17, as the project owner would try it):
// a word-frequency map, maps whose values only the map keeps alive, append with
// sub-slices and 3-index slices, overlapping copies, builder-style growth,
// concatenation of 2..6 parts, conversions of every size, interfaces holding
// every kind of value, closures stored everywhere, channels as the only
// reference, interior pointers. Every value lives in a global (it escapes, as a
// goruntime handle does). MemStats are read into pms and the results built at
// the end (building them allocates). Twins in scenarios_lang_port.py.
package main

import (
	"math"
	"runtime"
	"strings"
)

func init() {
	scenarios = append(scenarios,
		scenario{"lang_port_wordfreq", nil, langPortWordfreq},
		scenario{"lang_port_map_values", nil, langPortMapValues},
		scenario{"lang_port_slices", nil, langPortSlices},
		scenario{"lang_port_strings", nil, langPortStrings},
		scenario{"lang_port_iface", nil, langPortIface},
		scenario{"lang_port_funcs_chans", nil, langPortFuncsChans},
	)
}

var (
	pms  [160]runtime.MemStats
	pmn  int
	pmk  [160]string
	pms2 [160]string // a label's suffix, joined at the end (concatenating allocates)
)

// snap reads MemStats into the next slot, labelled.
func snap(label string) {
	runtime.ReadMemStats(&pms[pmn])
	pmk[pmn] = label
	pms2[pmn] = ""
	pmn++
}

func gcsnap(label string) {
	runtime.GC()
	snap(label)
}

// snapResult: for each snapshot after the first, the deltas from the one before
// (and BySize Mallocs/Frees when they changed), by label.
func snapResult() result {
	res := result{}
	for i := 1; i < pmn; i++ {
		r := memDeltas(&pms[i-1], &pms[i])
		r["BySize"] = bySizeDeltas(&pms[i-1], &pms[i], false)
		r["BySizeFrees"] = bySizeDeltas(&pms[i-1], &pms[i], true)
		res[pmk[i]+pms2[i]] = r
	}
	pmn = 0
	return res
}

// ---------------------------------------------------------------------------

var (
	wfText  string
	wfWords []string
	wfNew   []string
	wfMap   map[string]int
	wfLens  [8]int
)

// langPortWordfreq: map[string]int counting the words of a text (keys share the
// text's bytes), half the words deleted, 600 new ones inserted (tombstones),
// deletion during iteration, clear; the map's keys alone keep the text alive.
func langPortWordfreq() result {
	b := make([]byte, 0, 1<<15)
	for i := 0; i < 3000; i++ {
		b = append(b, 'w')
		b = appendInt(b, (i*7919)%1200)
		b = append(b, ' ')
	}
	for i := 0; i < 600; i++ {
		b = append(b, 'x')
		b = appendInt(b, i)
		b = append(b, ' ')
	}
	wfText = string(b)
	wfWords = strings.Fields(wfText)
	wfNew = wfWords[3000:]
	wfWords = wfWords[:3000]
	gcsnap("start")
	wfMap = make(map[string]int)
	for _, w := range wfWords {
		wfMap[w]++
	}
	snap("count")
	wfLens[0] = len(wfMap)
	for j := 0; j < 1200; j += 2 {
		delete(wfMap, wfWords[j])
	}
	snap("delete_half")
	wfLens[1] = len(wfMap)
	gcsnap("gc_after_delete")
	for _, w := range wfNew {
		wfMap[w] = 1
	}
	snap("refill")
	wfLens[2] = len(wfMap)
	for _, w := range wfNew {
		wfMap[w] = 2
	}
	snap("overwrite")
	for k := range wfMap { // deleting during range is defined in Go
		if k[0] == 'x' {
			delete(wfMap, k)
		}
	}
	snap("range_delete")
	wfLens[3] = len(wfMap)
	wfWords, wfNew, wfText = nil, nil, ""
	gcsnap("keys_keep_text")
	clear(wfMap)
	wfLens[4] = len(wfMap)
	gcsnap("clear")
	wfMap = nil
	gcsnap("drop")
	res := snapResult()
	res["lens"] = wfLens[:5]
	return res
}

func appendInt(b []byte, n int) []byte {
	var d [20]byte
	i := len(d)
	for {
		i--
		d[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	return append(b, d[i:]...)
}

// ---------------------------------------------------------------------------

type port24 struct{ a, b, c int }

type portT struct {
	id   int
	next *portT
	buf  [48]byte
}

type port200 struct {
	p *portT
	b [192]byte
}

var (
	pmIB   map[int][]byte
	pmSP   map[string]*portT
	pm24   map[int]port24
	pm200  map[int]port200
	pKeys  [100]string
	pKeyB  []byte
	pmVals [8]int
	pmF    map[float64]int
	pmG    map[int][]int
	pmNaN  = math.NaN()
	pmNeg  = -1
)

// langPortMapValues: values (and keys) that only the map keeps alive: []byte,
// *T, heap string keys (8 bytes: two per tiny block), 24-byte values in the
// slots, 200-byte values indirect (one object each, freed on delete).
func langPortMapValues() result {
	pKeyB = make([]byte, 800)
	for i := range pKeys {
		copy(pKeyB[i*8:], "key")
		n := i
		for j := 7; j >= 3; j-- {
			pKeyB[i*8+j] = byte('0' + n%10)
			n /= 10
		}
	}
	gcsnap("start")
	pmIB = make(map[int][]byte)
	for i := 0; i < 100; i++ {
		pmIB[i] = make([]byte, 100)
	}
	snap("ib_fill")
	gcsnap("ib_gc")
	for i := 0; i < 100; i += 2 {
		delete(pmIB, i)
	}
	gcsnap("ib_delete_half")
	pmIB = nil
	gcsnap("ib_drop")

	for i := range pKeys {
		pKeys[i] = string(pKeyB[i*8 : i*8+8])
	}
	snap("sp_keys")
	pmSP = make(map[string]*portT, 100)
	for i := range pKeys {
		pmSP[pKeys[i]] = &portT{id: i}
	}
	snap("sp_fill")
	pKeys = [100]string{}
	gcsnap("sp_map_keeps_keys")
	for i := 0; i < 50; i++ {
		delete(pmSP, string(pKeyB[i*8:i*8+8]))
	}
	gcsnap("sp_delete_first_50")
	pmVals[0] = len(pmSP)
	pmSP = nil
	gcsnap("sp_drop")

	pm24 = make(map[int]port24)
	for i := 0; i < 100; i++ {
		pm24[i] = port24{i, i, i}
	}
	snap("v24_fill")
	for i := 0; i < 100; i++ {
		pm24[i] = port24{a: -i}
	}
	snap("v24_overwrite")
	pmVals[1] = pm24[7].a
	for i := 0; i < 100; i++ {
		delete(pm24, i)
	}
	gcsnap("v24_delete_all")
	pm24 = nil
	gcsnap("v24_drop")

	pm200 = make(map[int]port200)
	for i := 0; i < 20; i++ {
		pm200[i] = port200{p: &portT{id: i}}
	}
	snap("v200_fill")
	for i := 0; i < 20; i++ {
		pm200[i] = port200{p: &portT{id: -i}}
	}
	snap("v200_overwrite")
	gcsnap("v200_gc")
	for i := 0; i < 10; i++ {
		delete(pm200, i)
	}
	gcsnap("v200_delete_10")
	pmVals[2] = pm200[15].p.id
	clear(pm200)
	gcsnap("v200_clear")
	pmVals[3] = len(pm200)
	pm200 = nil
	gcsnap("v200_drop")

	pmG = make(map[int][]int)
	for i := 0; i < 300; i++ { // the map-of-slices idiom: append to the absent key's nil slice
		pmG[i%10] = append(pmG[i%10], i)
	}
	snap("group_append")
	gcsnap("group_gc")
	pmG = nil
	gcsnap("group_drop")

	pmF = make(map[float64]int, pmNeg) // a negative hint at run time: an empty map
	snap("negative_hint")
	for i := 0; i < 20; i++ { // NaN != NaN: each insert is a new entry
		pmF[pmNaN] = i
	}
	snap("nan_20")
	pmVals[4] = len(pmF)
	if _, ok := pmF[pmNaN]; ok {
		pmVals[5] = 1
	}
	delete(pmF, pmNaN)
	pmVals[6] = len(pmF)
	for k, v := range pmF {
		if k != k {
			pmVals[7] += v
		}
	}
	clear(pmF)
	gcsnap("nan_clear")
	pmF = nil
	gcsnap("nan_drop")
	res := snapResult()
	res["vals"] = pmVals[:]
	return res
}

// ---------------------------------------------------------------------------

type arrHolder struct {
	id  int
	buf [64]byte
}

var (
	psH           *arrHolder
	psHS          []byte
	psA, psB, psC []int
	psP, psQ      []*portT
	psOut         [16]int
	psCaps        [16]int
	psHB          [4]byte
)

// langPortSlices: append in a loop, a sub-slice keeping the array alive and
// appending into it, 3-index slices, append(a, b...), append(a, a...),
// overlapping copies, clear and reslicing of pointer slices.
func langPortSlices() result {
	gcsnap("start")
	for i := 0; i < 100; i++ {
		psA = append(psA, i)
	}
	snap("append_100")
	psCaps[0] = cap(psA)
	psB = psA[10:20]
	psA = nil
	gcsnap("subslice_keeps_array")
	psB = append(psB, -1)
	snap("append_in_cap")
	psCaps[1], psCaps[2] = len(psB), cap(psB)
	psB = nil
	gcsnap("subslice_dropped")

	psA = make([]int, 10)
	snap("make10")
	psB = psA[2:5:5]
	psB = append(psB, 7)
	snap("three_index_full")
	psCaps[3], psCaps[4] = cap(psB), psA[5]
	psC = psA[2:5:8]
	psC = append(psC, 9)
	snap("three_index_room")
	psCaps[5], psCaps[6] = cap(psC), psA[5]
	psB, psC = nil, nil
	gcsnap("three_index_gc")

	psA = make([]int, 5)
	psB = make([]int, 300)
	snap("make_two")
	psA = append(psA, psB...)
	snap("append_slice")
	psCaps[7] = cap(psA)
	psA = append(psA, psA...)
	snap("append_self")
	psCaps[8] = cap(psA)
	psA, psB = nil, nil
	gcsnap("append_gc")

	psA = make([]int, 10)
	for i := range psA {
		psA[i] = i
	}
	psCaps[9] = copy(psA[2:], psA)
	psCaps[10] = copy(psA, psA[5:])
	copy(psOut[:10], psA)
	snap("copy_overlap")

	psP = make([]*portT, 10)
	for i := range psP {
		psP[i] = &portT{id: i}
	}
	snap("ptrs")
	clear(psP[:5])
	gcsnap("clear_half")
	psP = psP[8:]
	gcsnap("reslice_keeps_all")
	psP = nil
	gcsnap("ptrs_dropped")
	for i := 0; i < 300; i++ {
		psQ = append(psQ, nil)
	}
	snap("append_ptrs_300")
	psCaps[11] = cap(psQ)
	psQ = nil
	gcsnap("ptrs_300_dropped")

	psH = &arrHolder{id: 1}
	snap("array_holder")
	psHS = psH.buf[8:16] // a slice of an array field: an interior pointer
	copy(psH.buf[:], "abcdefghijkl")
	psH = nil
	gcsnap("array_slice_keeps_struct")
	psCaps[12], psCaps[13] = len(psHS), cap(psHS)
	psHS = append(psHS, '!') // within the array: writes buf[16]
	snap("array_slice_append")
	psCaps[14] = int(psHS[8])
	copy(psHB[:], psHS)
	psHS = psHS[2:4:6]
	psCaps[15] = cap(psHS)
	psHS = nil
	gcsnap("array_slice_dropped")
	res := snapResult()
	res["caps"] = psCaps[:16]
	res["copied"] = psOut[:10]
	res["head"] = string(psHB[:])
	return res
}

// ---------------------------------------------------------------------------

var (
	stB     []byte
	stBuild strings.Builder
	stA     string
	stS     [12]string
	stBig   string
	stSub   string
	stConv  [16][]byte
	stCaps  [16]int
	stHeap  [8]string
)

// langPortStrings: strings.Builder growth, concatenation of 2..6 operands with
// and without literals, string(b) and []byte(s) of 0..1024 bytes ([]byte of a
// variable and of a literal), a substring keeping a large string alive.
func langPortStrings() result {
	stB = make([]byte, 2048)
	for i := range stB {
		stB[i] = byte('a' + i%26)
	}
	gcsnap("start")
	for i := 0; i < 100; i++ {
		stBuild.WriteString("0123456789")
	}
	snap("builder_100x10")
	stCaps[0] = stBuild.Cap()
	stBuild = strings.Builder{}
	gcsnap("builder_dropped")

	stA = string(stB[:5])
	stHeap[0] = string(stB[5:10])
	stHeap[1] = string(stB[10:20])
	snap("operands")
	a, b, c := stA, stHeap[0], stHeap[1]
	stS[0] = a + b
	snap("concat2")
	stS[1] = a + "-" + b
	snap("concat3_lit")
	stS[2] = a + b + c + a
	snap("concat4")
	stS[3] = "<" + a + b + c + ">"
	snap("concat5_lits")
	stS[4] = a + b + c + a + b + c
	snap("concat6")
	stS[5] = c + c + c + c + c + c
	snap("concat6_60")
	stS[6] = "" + a
	snap("concat_empty_lit")
	stS = [12]string{}
	gcsnap("concat_dropped")

	for i, n := range []int{0, 1, 31, 32, 33, 1024} {
		stS[i] = string(stB[:n])
	}
	snap("string_of_bytes")
	stS = [12]string{}
	for i := range stConv {
		stConv[i] = nil
	}
	gcsnap("conv_dropped")
	stS[6] = string(stB[:31])
	stS[7] = string(stB[:33])
	stS[8] = string(stB[:1024])
	snap("strings_31_33_1024")
	stConv[0] = []byte(stS[6])
	stConv[1] = []byte(stS[7])
	stConv[2] = []byte(stS[8])
	snap("bytes_of_var")
	stConv[3] = []byte("")
	stConv[4] = []byte("a")
	stConv[5] = []byte("hello")
	stConv[6] = []byte("0123456789012345678901234567890")
	stConv[7] = []byte("012345678901234567890123456789012")
	snap("bytes_of_literal")
	for i := 0; i < 8; i++ {
		stCaps[1+i] = cap(stConv[i])
	}
	stS = [12]string{}
	for i := range stConv {
		stConv[i] = nil
	}
	gcsnap("bytes_dropped")

	stBig = string(make([]byte, 100000))
	snap("big")
	stSub = stBig[500:510]
	stBig = ""
	gcsnap("sub_keeps_big")
	gcsnap("sub_keeps_big_2")
	stSub = stSub[2:4]
	gcsnap("subsub_keeps_big")
	stCaps[9] = len(stSub)
	stSub = ""
	gcsnap("big_freed")
	res := snapResult()
	res["caps"] = stCaps[:10]
	return res
}

// ---------------------------------------------------------------------------

type s1 struct{ a byte }
type s3 struct{ a, b, c byte }
type s12 struct{ a, b, c int32 }
type s16 struct{ a, b int64 }
type s24p struct {
	p *portT
	a [2]int64
}
type s40 struct{ a [5]int64 }

var (
	ifHold [300]any
	ifPtr  *portT
	ifHS   string
	ifSl   []int
)

// langPortIface: storing into []any: ints 0..255 and from 256, negatives,
// float64, bool, heap strings, slices, structs of 1..40 bytes (one with a
// pointer), pointers; and what the boxes keep alive.
func langPortIface() result {
	ifPtr = &portT{id: 1}
	ifHS = string(make([]byte, 40))
	ifSl = make([]int, 3)
	gcsnap("start")
	step := func(name string, f func(i int) any, n int) {
		gcsnap(name)
		pms2[pmn-1] = "_before"
		for i := 0; i < n; i++ {
			ifHold[i] = f(i)
		}
		snap(name)
		for i := range ifHold {
			ifHold[i] = nil
		}
		gcsnap(name)
		pms2[pmn-1] = "_freed"
	}
	step("int_0_255", func(i int) any { return i }, 256)
	step("int_256_up", func(i int) any { return 256 + i }, 100)
	step("int_neg", func(i int) any { return -1 - i }, 100)
	step("float", func(i int) any { return float64(i) * 1.5 }, 100)
	step("bool", func(i int) any { return i%3 == 0 }, 100)
	step("heap_string", func(i int) any { return ifHS }, 100)
	step("slice", func(i int) any { return ifSl }, 100)
	step("s1", func(i int) any { return s1{byte(i)} }, 100)
	step("s3", func(i int) any { return s3{byte(i), 1, 2} }, 100)
	step("s12", func(i int) any { return s12{int32(i), 1, 2} }, 100)
	step("s16", func(i int) any { return s16{int64(i), 1} }, 100)
	step("s24p", func(i int) any { return s24p{ifPtr, [2]int64{int64(i), 0}} }, 100)
	step("s40", func(i int) any { return s40{[5]int64{int64(i)}} }, 100)
	step("pointer", func(i int) any { return ifPtr }, 100)
	// the box alone keeps the pointee, the string bytes, the slice's array alive
	ifHold[0] = s24p{p: &portT{id: 5}}
	ifHold[1] = ifHS
	ifHold[2] = ifSl
	ifPtr, ifHS, ifSl = nil, "", nil
	gcsnap("boxes_keep")
	for i := range ifHold {
		ifHold[i] = nil
	}
	gcsnap("boxes_freed")
	return snapResult()
}

// ---------------------------------------------------------------------------

type cbHolder struct {
	id int
	cb func() int
}

var (
	fcHolder *cbHolder
	fcMap    map[int]func() int
	fcChan   chan func() int
	fcPtr    *portT
	fcSl     []int
	fcN      int
	fcOut    [16]int
	fcCP     chan *portT
	fcCS     chan port200
	fcArr    *struct {
		id  int
		arr [16]int64
	}
	fcElem  *int64
	fcPs    []portT
	fcField **portT
	fcDone  chan bool
)

//go:noinline
func capInt(x int) func() int { return func() int { return x } }

//go:noinline
func capPtr(p *portT) func() int { return func() int { return p.id } }

//go:noinline
func capSlice(s []int) func() int { return func() int { return len(s) } }

// langPortFuncsChans: closures capturing an int, a pointer, a slice, stored in
// a struct field, a map and a channel (their captured values kept alive only
// through them); go func(){...}(); buffered channels of pointers and structs as
// the only reference across a GC; interior pointers &p.arr[i], &s[i].field.
func langPortFuncsChans() result {
	fcPtr = &portT{id: 3}
	fcSl = make([]int, 7)
	fcDone = make(chan bool)
	gcsnap("start")
	fcHolder = &cbHolder{id: 1}
	fcHolder.cb = capInt(41)
	snap("field_int")
	fcMap = make(map[int]func() int)
	fcMap[1] = capPtr(fcPtr)
	fcMap[2] = capSlice(fcSl)
	snap("map_ptr_slice")
	fcChan = make(chan func() int, 2)
	fcChan <- capPtr(fcPtr)
	snap("chan_func")
	fcPtr, fcSl = nil, nil
	gcsnap("funcs_keep_captured")
	fcOut[0] = fcHolder.cb() + fcMap[1]() + fcMap[2]()
	fcOut[1] = (<-fcChan)()
	gcsnap("chan_func_received")
	delete(fcMap, 1)
	gcsnap("map_func_deleted")
	fcMap, fcHolder = nil, nil
	gcsnap("funcs_dropped")

	fcN = 5
	x := new(int)
	*x = 7
	snap("go_before")
	go func() {
		fcOut[2] = *x + fcN
		fcDone <- true
	}()
	snap("go_stmt")
	<-fcDone
	gcsnap("go_done")

	fcCP = make(chan *portT, 3)
	fcCP <- &portT{id: 10}
	fcCP <- &portT{id: 11}
	snap("chan_ptrs")
	gcsnap("chan_keeps_ptrs")
	fcOut[3] = (<-fcCP).id
	gcsnap("chan_one_received")
	fcCS = make(chan port200, 2)
	fcCS <- port200{p: &portT{id: 20}}
	snap("chan_struct")
	gcsnap("chan_keeps_struct")
	close(fcCS)
	fcOut[4] = (<-fcCS).p.id
	gcsnap("chan_struct_received")
	fcCP, fcCS = nil, nil
	gcsnap("chans_dropped")

	fcArr = &struct {
		id  int
		arr [16]int64
	}{id: 1}
	fcArr.arr[3] = 33
	fcElem = &fcArr.arr[3]
	fcArr = nil
	snap("interior_before")
	gcsnap("elem_keeps_struct")
	*fcElem = 34
	fcOut[5] = int(*fcElem)
	fcElem = nil
	gcsnap("elem_dropped")
	fcPs = make([]portT, 4)
	fcPs[2].next = &portT{id: 22}
	fcField = &fcPs[2].next
	fcPs = nil
	gcsnap("field_keeps_slice")
	fcOut[6] = (*fcField).id
	fcField = nil
	gcsnap("field_dropped")
	res := snapResult()
	res["out"] = fcOut[:7]
	return res
}
