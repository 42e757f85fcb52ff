// The fidelity audit, fifth round: sets (maps with struct{} values, whose slots carry
// the compiler's padding for a trailing zero-size field) grown, deleted from during
// range, cleared and refilled; rune conversions (string(r), []rune(s), string(rs)),
// strings.Builder.WriteRune and strconv.Itoa; the slices package (Grow, Clip, Insert,
// Delete, Clone, Concat, Compact, Repeat) and a grid of rows grown by append;
// finalizers and cleanups on map values, a slice's backing array, tiny objects and
// objects whose own map points back at them; weak pointers to fields and elements
// inside larger objects. Every value that outlives its statement lives in a global (it
// escapes, as a goruntime handle does). Twins in scenarios_fidelity5.py.
package main

import (
	"runtime"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"weak"
)

func init() {
	scenarios = append(scenarios,
		scenario{"fid5_sets", nil, fid5Sets},
		scenario{"fid5_runes", nil, fid5Runes},
		scenario{"fid5_slices", nil, fid5Slices},
		scenario{"fid5_fin_holders", nil, fid5FinHolders},
		scenario{"fid5_weak_fields", nil, fid5WeakFields},
		scenario{"fid5_chan_fields", nil, fid5ChanFields},
		scenario{"fid5_zero_size", nil, fid5ZeroSize},
		scenario{"fid5_worker_select", nil, fid5WorkerSelect},
		scenario{"fid5_log_pipeline", nil, fid5LogPipeline},
	)
}

// ---------------------------------------------------------------------------
// sets: map[K]struct{}. The group's slot is struct{key K; elem struct{}}, and a
// struct whose last field has size zero gets a byte of padding (so &elem never
// points past the object): map[int]struct{} has 16-byte slots, map[string]struct{}
// 24-byte ones, map[[2]int32]struct{} 12-byte ones.

var (
	stKeys [120]string
	stInts map[int]struct{}
	stStrs map[string]struct{}
	stPair map[[2]int32]struct{}
	stLens [8]int
)

//go:noinline
func stMakeKeys() {
	for i := range stKeys {
		stKeys[i] = string([]byte{'k', byte('a' + i%26), byte('a' + i/26)})
	}
}

func fid5Sets() result {
	stMakeKeys()
	gcsnap("start")
	stInts = make(map[int]struct{})
	for i := 0; i < 1000; i++ {
		stInts[i*7] = struct{}{}
	}
	snap("ints_fill")
	n := 0
	for k := range stInts { // delete during range: every key is seen once
		if k%2 == 0 {
			delete(stInts, k)
		}
		n++
	}
	stLens[0], stLens[1] = len(stInts), n
	gcsnap("ints_delete")
	for i := 0; i < 500; i++ {
		stInts[i*14+1] = struct{}{}
	}
	snap("ints_reinsert")
	clear(stInts)
	gcsnap("ints_clear")
	for i := 0; i < 100; i++ {
		stInts[i] = struct{}{}
	}
	snap("ints_refill")
	stLens[2] = len(stInts)
	stInts = nil
	gcsnap("ints_drop")

	stStrs = make(map[string]struct{}, 16)
	for r := 0; r < 3; r++ {
		for i := range stKeys {
			if (i+r)%3 != 0 {
				stStrs[stKeys[i]] = struct{}{}
			}
		}
	}
	snap("strs_fill")
	stLens[3] = len(stStrs)
	for i := range stKeys {
		if i%4 == 0 {
			delete(stStrs, stKeys[i])
		}
	}
	stLens[4] = len(stStrs)
	gcsnap("strs_delete")
	stStrs = nil
	gcsnap("strs_drop")

	stPair = make(map[[2]int32]struct{})
	for i := int32(0); i < 300; i++ {
		stPair[[2]int32{i % 17, i % 23}] = struct{}{}
	}
	snap("pair_fill")
	stLens[5] = len(stPair)
	stPair = nil
	stKeys = [120]string{}
	gcsnap("drop")
	res := snapResult()
	res["lens"] = append([]int{}, stLens[:6]...)
	return res
}

// ---------------------------------------------------------------------------
// runes: string(r) is intstring (a 4-byte rawstring, even for ASCII, when the result
// escapes); []rune(s) is rawruneslice (4 bytes a rune, rounded up to the size class);
// string(rs) is slicerunetostring (a rawstring of the encoded length + 3);
// Builder.WriteRune appends the UTF-8 bytes; strconv.Itoa allocates the digits
// except below 100.

var (
	rnStrs  [60]string
	rnRunes [][]rune
	rnBack  [8]string
	rnUpper string
	rnNums  [40]string
	rnSum   [8]int
	rnSrc   = [...]string{"gopher", "héllo, wörld", "日本語のテキスト", "", "a🙂b🙃c", "x",
		"the quick brown fox jumps over the lazy dog, again and again and again"}
)

//go:noinline
func rnRune(i int) rune {
	switch {
	case i%11 == 5:
		return -1 // not a rune: "\uFFFD"
	case i%7 == 3:
		return rune(0x1f600 + i%50) // 4 bytes
	case i%5 == 2:
		return rune(0x65e5 + i) // 3 bytes
	case i%3 == 1:
		return rune(0xe0 + i) // 2 bytes
	}
	return rune('A' + i%26)
}

//go:noinline
func rnToRunes(s string) []rune { return []rune(s) }

//go:noinline
func rnToString(rs []rune) string { return string(rs) }

//go:noinline
func rnUpperOf(s string) string {
	var b strings.Builder
	for _, r := range s {
		b.WriteRune(unicode.ToUpper(r))
	}
	return b.String()
}

func fid5Runes() result {
	rnRunes = nil
	rnSum = [8]int{}
	gcsnap("start")
	for i := range rnStrs {
		rnStrs[i] = string(rnRune(i))
	}
	snap("string_rune")
	for i := range rnStrs {
		rnSum[0] += len(rnStrs[i])
	}
	gcsnap("string_rune_gc")
	for _, s := range rnSrc {
		rnRunes = append(rnRunes, rnToRunes(s))
	}
	snap("to_runes")
	for i, rs := range rnRunes {
		rnSum[1] += len(rs)*1000 + cap(rs)
		rnBack[i] = rnToString(rs)
	}
	snap("from_runes")
	for i := range rnBack {
		rnSum[2] += len(rnBack[i])
		for _, r := range rnBack[i] { // ranging over a string allocates nothing
			rnSum[3] += int(r) & 0xff
		}
	}
	snap("range_string")
	rnUpper = rnUpperOf(rnSrc[1] + rnSrc[2])
	snap("write_rune")
	rnSum[4] = len(rnUpper)
	for i := range rnNums {
		rnNums[i] = strconv.Itoa(i*37 - 300)
	}
	snap("itoa")
	for i := range rnNums {
		rnSum[5] += len(rnNums[i])
	}
	rnStrs = [60]string{}
	rnRunes = nil
	rnBack = [8]string{}
	rnUpper = ""
	rnNums = [40]string{}
	gcsnap("drop")
	res := snapResult()
	res["sums"] = append([]int{}, rnSum[:6]...)
	return res
}

// ---------------------------------------------------------------------------
// the slices package over slices of pointers, structs and strings, and a grid of
// rows grown by append.

type slItem struct {
	id   int
	name string
	tags []string
}

var (
	slPtrs  []*slItem
	slVals  []slItem
	slStrs  []string
	slClone []*slItem
	slCat   []string
	slGrid  [][]string
	slWords = [...]string{"red", "red", "green", "blue", "blue", "blue", "cyan", "red", "red", "teal"}
	slCaps  [16]int
)

//go:noinline
func slNew(i int) *slItem { return &slItem{id: i} }

func fid5Slices() result {
	slCaps = [16]int{}
	gcsnap("start")
	slPtrs = make([]*slItem, 0, 5)
	for i := 0; i < 5; i++ {
		slPtrs = append(slPtrs, slNew(i))
	}
	snap("ptrs_make")
	slPtrs = slices.Grow(slPtrs, 20)
	slCaps[0] = cap(slPtrs)
	snap("grow")
	slPtrs = slices.Grow(slPtrs, 10) // room already: nothing
	snap("grow_fits")
	slPtrs = slices.Insert(slPtrs, 2, slNew(100), slNew(101))
	snap("insert_fits")
	for len(slPtrs) < cap(slPtrs) {
		slPtrs = append(slPtrs, slNew(len(slPtrs)))
	}
	snap("fill_cap")
	slPtrs = slices.Insert(slPtrs, 1, slNew(200), slNew(201), slNew(202))
	slCaps[1] = cap(slPtrs)
	snap("insert_grow")
	slPtrs = slices.Delete(slPtrs, 0, 4)
	gcsnap("delete_gc")
	slPtrs = slices.Clip(slPtrs)
	slPtrs = append(slPtrs, slNew(300))
	slCaps[2] = cap(slPtrs)
	snap("clip_append")
	slClone = slices.Clone(slPtrs[:7])
	slCaps[3] = cap(slClone)
	snap("clone")
	slPtrs = nil
	gcsnap("clone_keeps_seven")
	slClone = nil
	gcsnap("ptrs_drop")

	slVals = make([]slItem, 3)
	for i := 0; i < 40; i++ {
		slVals = append(slVals, slItem{id: i, name: slWords[i%10]})
	}
	slCaps[4] = cap(slVals)
	snap("vals_append")
	slVals = slices.Insert(slVals, 10, slItem{id: 900}, slItem{id: 901})
	slCaps[5] = cap(slVals)
	snap("vals_insert")
	slVals = slices.Delete(slVals, 5, 30)
	slCaps[6] = len(slVals)
	gcsnap("vals_delete")
	slVals = nil
	gcsnap("vals_drop")

	slStrs = slices.Repeat(slWords[:], 3)
	slCaps[7] = cap(slStrs)
	snap("repeat")
	slStrs = slices.Compact(slStrs)
	slCaps[8] = len(slStrs)
	snap("compact")
	slCat = slices.Concat(slStrs, slWords[:4], nil, slWords[6:])
	slCaps[9] = cap(slCat)
	snap("concat")
	slStrs = nil
	slCat = nil
	gcsnap("strs_drop")

	slGrid = nil
	for r := 0; r < 12; r++ {
		var row []string
		for c := 0; c < 3+r; c++ {
			row = append(row, slWords[(r+c)%10])
		}
		slGrid = append(slGrid, row)
	}
	slCaps[10] = cap(slGrid)
	snap("grid")
	for r := range slGrid {
		slGrid[r] = slices.Clip(slGrid[r])
		slGrid[r] = append(slGrid[r], "end")
	}
	snap("grid_rows_grow")
	slGrid = slGrid[:4]
	gcsnap("grid_truncate")
	slGrid = nil
	gcsnap("drop")
	res := snapResult()
	res["caps"] = append([]int{}, slCaps[:11]...)
	return res
}

// ---------------------------------------------------------------------------
// finalizers and cleanups where real programs put them: on values a map holds, on
// a slice's backing array (&s[0]), on tiny objects (new(int64): cleanups wait for
// the whole 16-byte block), and on objects their own map points back at (a cycle
// through the map: never finalized), or a peer's map points at (finalized a cycle
// after the peer).

type fhRes struct {
	id   int
	data [6]int
}

type fhOwner struct {
	id     int
	byName map[string]*fhOwner
}

var (
	fhMap    map[int]*fhRes
	fhSlice  []fhRes
	fhTiny   [12]*int64
	fhOwners [4]*fhOwner
	fhEv     [80]int // the order of finalizer and cleanup runs, filled without allocating
	fhEvN    int
	fhCyc    [8]int
)

func fhEvent(x int) {
	fhEv[fhEvN] = x
	fhEvN++
}

func fhFin(r *fhRes)        { fhEvent(r.id) }
func fhArrFin(r *fhRes)     { fhEvent(1000 + r.id) }
func fhOwnerFin(o *fhOwner) { fhEvent(2000 + o.id) }

//go:noinline
func fhSetup() {
	fhMap = make(map[int]*fhRes)
	for i := 0; i < 12; i++ {
		r := &fhRes{id: i}
		runtime.SetFinalizer(r, fhFin)
		fhMap[i] = r
	}
	fhSlice = make([]fhRes, 10)
	fhSlice[0].id = 7
	runtime.SetFinalizer(&fhSlice[0], fhArrFin)
	for i := range fhTiny {
		p := new(int64)
		*p = int64(i)
		fhTiny[i] = p
		runtime.AddCleanup(p, func(id int) { fhEvent(3000 + id) }, i)
	}
	for i := range fhOwners {
		o := &fhOwner{id: i, byName: make(map[string]*fhOwner)}
		runtime.SetFinalizer(o, fhOwnerFin)
		fhOwners[i] = o
	}
	fhOwners[0].byName["self"] = fhOwners[0] // a cycle through its own map
	fhOwners[1].byName["peer"] = fhOwners[2] // 2 is reachable from 1's map
	fhOwners[3].byName["none"] = nil
}

func fhCycle(i int) {
	runtime.GC()
	waitQueues()
	fhCyc[i] = fhEvN
}

func fid5FinHolders() result {
	fhEvN = 0
	gcsnap("start")
	fhSetup()
	snap("setup")
	for k := 0; k < 12; k += 3 {
		delete(fhMap, k) // the map held the only reference
	}
	fhSlice = fhSlice[2:5] // a sub-slice keeps the whole array (and its finalizer) waiting
	fhTiny[1], fhTiny[2], fhTiny[3] = nil, nil, nil
	fhOwners = [4]*fhOwner{}
	fhCycle(1)
	fhSlice = nil
	for i := 4; i < 12; i++ {
		fhTiny[i] = nil
	}
	fhCycle(2)
	fhMap = nil
	fhTiny[0] = nil
	fhCycle(3)
	fhCycle(4)
	fhCycle(5)
	snap("cycles")
	res := snapResult()
	out := result{}
	for i := 1; i <= 5; i++ {
		ev := append([]int{}, fhEv[fhCyc[i-1]:fhCyc[i]]...)
		slices.Sort(ev) // Go's queue order within a cycle is its sweep order; compared as a set
		out["cycle"+names[i]] = ev
	}
	res["events"] = out
	return res
}

// ---------------------------------------------------------------------------
// weak pointers to fields and elements inside larger objects: a handle per (object,
// offset), 16 bytes each; Make of the same address gives an equal pointer; an interior
// pointer (strong) keeps the whole object, so every weak pointer into it stays set.

type wfBig struct {
	id   int
	a    [8]int
	name string
	b    [4]int64
}

var (
	wkObjs  [4]*wfBig
	wkArr   []wfBig
	wkMap   map[int]*wfBig
	wkInner *int64
	wkW     [12]weak.Pointer[int]
	wkW64   [6]weak.Pointer[int64]
	wkWB    [4]weak.Pointer[wfBig]
	wkState [6][12]int
	wkEq    [6]bool
)

//go:noinline
func wkSetup() {
	for i := range wkObjs {
		wkObjs[i] = &wfBig{id: i}
	}
	wkArr = make([]wfBig, 6)
	wkMap = make(map[int]*wfBig)
	for i := 0; i < 3; i++ {
		wkMap[i] = &wfBig{id: 10 + i}
	}
	for i := range wkObjs {
		wkW[i] = weak.Make(&wkObjs[i].a[3])
		wkWB[i] = weak.Make(wkObjs[i])
	}
	wkW[4] = weak.Make(&wkObjs[0].id) // offset 0: the object's own handle (shared with wkWB[0])
	wkW[5] = weak.Make(&wkArr[4].a[0])
	wkW[6] = weak.Make(&wkArr[0].id)
	for i := 0; i < 3; i++ {
		wkW[7+i] = weak.Make(&wkMap[i].a[7])
	}
	for i := 0; i < 4; i++ {
		wkW64[i] = weak.Make(&wkObjs[i].b[i])
	}
	wkW64[4] = weak.Make(&wkArr[5].b[3])
	wkInner = &wkObjs[2].b[1] // a strong interior pointer: keeps wkObjs[2] whole
}

func wkRecord(row int) {
	for i := 0; i < 10; i++ {
		if wkW[i].Value() != nil {
			wkState[row][i] = 1
		}
	}
	for i := 0; i < 5; i++ {
		if wkW64[i].Value() != nil {
			wkState[row][10] |= 1 << i
		}
	}
	for i := 0; i < 4; i++ {
		if wkWB[i].Value() != nil {
			wkState[row][11] |= 1 << i
		}
	}
}

func fid5WeakFields() result {
	wkState = [6][12]int{}
	gcsnap("start")
	wkSetup()
	snap("setup")
	wkEq[0] = weak.Make(&wkObjs[1].a[3]) == wkW[1]
	wkEq[1] = weak.Make(&wkObjs[1].a[4]) == wkW[1]
	wkEq[2] = weak.Make(&wkArr[4].a[0]) == wkW[5]
	wkEq[3] = wkW[4].Value() == &wkObjs[0].id
	snap("remake")
	wkRecord(0)
	gcsnap("all_live")
	wkRecord(1)
	wkObjs[1], wkObjs[2] = nil, nil
	delete(wkMap, 1)
	gcsnap("drop_some")
	wkRecord(2)
	wkArr = wkArr[4:5] // a sub-slice: the array lives
	wkInner = nil
	gcsnap("inner_dropped")
	wkRecord(3)
	wkArr = nil
	wkObjs = [4]*wfBig{}
	wkMap = nil
	gcsnap("drop_all")
	wkRecord(4)
	wkEq[4] = wkW[0].Value() == nil && weak.Make((*int)(nil)) == weak.Pointer[int]{}
	snap("end")
	res := snapResult()
	st := result{}
	for r := 0; r < 5; r++ {
		st["r"+names[r]] = append([]int{}, wkState[r][:]...)
	}
	res["state"] = st
	res["eq"] = append([]bool{}, wkEq[:5]...)
	return res
}

// ---------------------------------------------------------------------------
// channels stored in heap memory: a request carrying its reply channel, a slice of
// channels (fan-out), a map of channels, a channel of channels, a channel in an
// interface. A channel value is its hchan's address; whatever holds that word keeps
// the hchan (and its buffer, with what the buffer holds) alive.

type cfReq struct {
	n     int
	reply chan int
}

var (
	cfReqs   chan *cfReq
	cfOuts   []chan int
	cfByName map[string]chan []byte
	cfCC     chan chan int
	cfAny    any
	cfSum    int
	cfLens   [8]int
)

func cfServer() {
	for r := range cfReqs {
		r.reply <- r.n * 2
	}
}

func fid5ChanFields() result {
	cfSum = 0
	gcsnap("start")
	cfReqs = make(chan *cfReq, 8)
	go cfServer()
	for i := 0; i < 20; i++ {
		r := &cfReq{n: i, reply: make(chan int, 1)}
		cfReqs <- r
		cfSum += <-r.reply
	}
	snap("req_reply")
	close(cfReqs)
	cfReqs = nil
	gcsnap("req_reply_gc")
	cfOuts = make([]chan int, 6)
	for i := range cfOuts {
		cfOuts[i] = make(chan int, i)
	}
	for i := 1; i < 6; i++ {
		for k := 0; k < i; k++ {
			cfOuts[i] <- i*10 + k
		}
	}
	snap("fan_out")
	for i := 1; i < 6; i++ {
		cfSum += <-cfOuts[i]
		cfLens[i] = len(cfOuts[i])
	}
	cfOuts = cfOuts[3:]
	gcsnap("fan_out_sub")
	cfOuts = nil
	gcsnap("fan_out_drop")
	cfByName = make(map[string]chan []byte)
	for i, k := range cmKeys {
		c := make(chan []byte, 2)
		c <- make([]byte, 8+8*i)
		cfByName[k] = c
	}
	snap("map_of_chans")
	for _, k := range cmKeys[:5] {
		b := <-cfByName[k]
		cfSum += len(b)
		delete(cfByName, k)
	}
	gcsnap("map_half")
	cfCC = make(chan chan int, 3)
	for i := 0; i < 3; i++ {
		c := make(chan int, 4)
		c <- i
		cfCC <- c
	}
	snap("chan_of_chans")
	c := <-cfCC
	cfSum += <-c
	cfAny = c
	c = nil
	gcsnap("chan_any")
	cfLens[6] = cap(cfAny.(chan int))
	cfByName = nil
	cfCC = nil
	cfAny = nil
	gcsnap("drop")
	res := snapResult()
	res["sum"] = cfSum
	res["lens"] = append([]int{}, cfLens[1:7]...)
	return res
}

// ---------------------------------------------------------------------------
// zero-size values: new(struct{}) and new([0]int) are zerobase, append to a
// []struct{} never allocates (growslice: cap = len), a struct{} key or channel
// element takes no room, a trailing zero-size field is padded (in a struct and in a
// map's slot), boxing a zero-size value is zerobase.

type zsEmpty struct{}

type zsTail struct {
	n int
	z struct{}
}

var (
	zsPtrs  [50]*zsEmpty
	zsSlice []struct{}
	zsTails []zsTail
	zsMap   map[zsEmpty]int
	zsMap2  map[int][0]int
	zsCh    chan struct{}
	zsAny   [10]any
	zsArr0  *[0]int
	zsCaps  [6]int
)

func fid5ZeroSize() result {
	zsSlice = nil
	gcsnap("start")
	for i := range zsPtrs {
		zsPtrs[i] = new(zsEmpty)
	}
	snap("new_empty")
	for i := 0; i < 1000; i++ {
		zsSlice = append(zsSlice, struct{}{})
	}
	zsCaps[0] = cap(zsSlice)
	snap("append_empty")
	zsTails = make([]zsTail, 10)
	for i := 0; i < 20; i++ {
		zsTails = append(zsTails, zsTail{n: i})
	}
	zsCaps[1] = cap(zsTails)
	snap("tail_padding")
	zsMap = map[zsEmpty]int{}
	zsMap[zsEmpty{}] = 5
	zsMap[zsEmpty{}]++
	zsCaps[2] = zsMap[zsEmpty{}]
	snap("map_empty_key")
	zsMap2 = make(map[int][0]int)
	for i := 0; i < 20; i++ {
		zsMap2[i] = [0]int{}
	}
	snap("map_zero_elem")
	zsCh = make(chan struct{}, 64)
	for i := 0; i < 64; i++ {
		zsCh <- struct{}{}
	}
	<-zsCh
	zsCaps[3] = len(zsCh)
	snap("chan_empty")
	for i := range zsAny {
		zsAny[i] = zsEmpty{}
	}
	zsAny[1] = [0]int{}
	zsAny[2] = zsTail{n: len(zsCh)} // a run-time value: convTnoptr (a constant literal would be static data)
	snap("boxed")
	zsArr0 = new([0]int)
	snap("new_zero_array")
	zsPtrs = [50]*zsEmpty{}
	zsSlice = nil
	zsTails = nil
	zsMap = nil
	zsMap2 = nil
	zsCh = nil
	zsAny = [10]any{}
	zsArr0 = nil
	gcsnap("drop")
	res := snapResult()
	res["caps"] = append([]int{}, zsCaps[:4]...)
	return res
}

// ---------------------------------------------------------------------------
// workers that select on their own jobs channel and a shared quit channel, given to
// them as arguments: once the slice of jobs channels is dropped the parked
// goroutines alone keep the channels; closing quit wakes them all just before a GC,
// and the channels survive that cycle (each select case's sudog still points at its
// channel until the goroutine runs: selectgo's pass 3 clears them under the write
// barrier), freed by the next.

type wsWorker struct {
	id  int
	buf [4]int
}

var (
	wsWorkers []*wsWorker
	wsJobs    []chan int
	wsResults chan int
	wsQuit    chan struct{}
	wsSum     int
)

func wsRun(w *wsWorker, jobs chan int, quit chan struct{}) {
	for {
		select {
		case n := <-jobs:
			w.buf[n%4] += n
			wsResults <- n * w.id
		case <-quit:
			return
		}
	}
}

func fid5WorkerSelect() result {
	wsSum = 0
	wsWorkers = nil
	gcsnap("start")
	wsResults = make(chan int, 64)
	wsQuit = make(chan struct{})
	for i := 0; i < 4; i++ {
		w := &wsWorker{id: i + 1}
		wsWorkers = append(wsWorkers, w)
		wsJobs = append(wsJobs, make(chan int, 2))
		go wsRun(w, wsJobs[i], wsQuit)
	}
	runtime.Gosched() // every worker runs and parks in its select
	snap("workers_parked")
	for k := 0; k < 40; k++ {
		wsJobs[k%4] <- k
		if k%8 == 7 {
			runtime.Gosched()
		}
	}
	for k := 0; k < 40; k++ {
		wsSum += <-wsResults
	}
	snap("jobs")
	wsJobs = nil
	gcsnap("slice_dropped")
	close(wsQuit)
	wsQuit = nil
	gcsnap("quit_closed")
	gcsnap("after")
	wsResults = nil
	wsWorkers = nil
	gcsnap("drop")
	res := snapResult()
	res["sum"] = wsSum
	return res
}

// ---------------------------------------------------------------------------
// a log pipeline: lines parsed into struct values (substrings of the line) sent over
// a buffered channel to a consumer that keeps per-level stats in a map (keys and the
// last message are substrings, so they keep their lines alive), then a report built
// with a strings.Builder and strconv.Itoa.

type lpEntry struct {
	level string
	code  int
	msg   string
}

type lpStats struct {
	count int
	codes []int
	last  string
}

var (
	lpLines  []string
	lpCh     chan lpEntry
	lpDone   chan struct{}
	lpByLvl  map[string]*lpStats
	lpReport string
	lpLevels = [...]string{"INFO", "WARN", "ERROR"}
	lpMsgs   = [...]string{"request ok", "moved permanently", "upstream failed", "cache miss", "slow query"}
	lpSum    [4]int
)

func lpParse(line string) lpEntry {
	i := strings.IndexByte(line, ' ')
	j := strings.IndexByte(line[i+1:], ' ') + i + 1
	code, _ := strconv.Atoi(line[i+1 : j])
	return lpEntry{level: line[:i], code: code, msg: line[j+1:]}
}

func lpProducer() {
	for _, l := range lpLines {
		lpCh <- lpParse(l)
	}
	close(lpCh)
}

func lpConsumer() {
	for e := range lpCh {
		st := lpByLvl[e.level]
		if st == nil {
			st = &lpStats{}
			lpByLvl[e.level] = st
		}
		st.count++
		st.codes = append(st.codes, e.code)
		st.last = e.msg
	}
	lpDone <- struct{}{}
}

//go:noinline
func lpMakeLines(n int) {
	lpLines = make([]string, n)
	for i := range lpLines {
		lpLines[i] = lpLevels[(i*i+i/5)%3] + " " + strconv.Itoa(100+i*7%400) + " " + lpMsgs[i%5]
	}
}

func fid5LogPipeline() result {
	lpMakeLines(600)
	lpSum = [4]int{}
	gcsnap("start")
	lpCh = make(chan lpEntry, 16)
	lpDone = make(chan struct{})
	lpByLvl = make(map[string]*lpStats)
	go lpProducer()
	go lpConsumer()
	<-lpDone
	snap("pipeline")
	lpCh = nil
	lpDone = nil
	gcsnap("pipeline_gc")
	var b strings.Builder
	for _, lvl := range lpLevels {
		st := lpByLvl[lvl]
		b.WriteString(lvl)
		b.WriteByte('=')
		b.WriteString(strconv.Itoa(st.count))
		b.WriteByte(' ')
		b.WriteString(st.last)
		b.WriteByte('\n')
		lpSum[0] += st.count
		lpSum[1] += len(st.codes)*1000 + cap(st.codes)
	}
	lpReport = b.String()
	lpSum[2] = len(lpReport)
	snap("report")
	lpLines = nil
	gcsnap("lines_dropped")
	lpByLvl = nil
	gcsnap("stats_dropped")
	lpReport = ""
	gcsnap("drop")
	res := snapResult()
	res["sums"] = append([]int{}, lpSum[:3]...)
	return res
}
