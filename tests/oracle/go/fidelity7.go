// The fidelity audit, seventh round: tiny allocations of mixed sizes and alignments;
// finalizers and cleanups on tiny objects; channels carrying pointers (buffered,
// wrapping, closed and drained; unbuffered to a goroutine); panics with allocated
// values recovered by deferred closures; maps keyed by concatenated strings, deleted
// from during range with a GC; append of struct slices across the 32 KiB large-object
// threshold; cleanups and finalizers on objects in cycles, with weak pointers;
// []byte <-> string conversions that escape. Every value that outlives its statement
// lives in a global (it escapes, as a goruntime handle does). Twins in
// scenarios_fidelity7.py.
package main

import (
	"errors"
	"runtime"
	"strconv"
	"weak"

	"runtime/metrics"
)

func init() {
	scenarios = append(scenarios,
		scenario{"fid7_tiny_align", nil, fid7TinyAlign},
		scenario{"fid7_fin_tiny", nil, fid7FinTiny},
		scenario{"fid7_chan_ptrs", nil, fid7ChanPtrs},
		scenario{"fid7_recover", nil, fid7Recover},
		scenario{"fid7_concat_keys", nil, fid7ConcatKeys},
		scenario{"fid7_append_large", nil, fid7AppendLarge},
		scenario{"fid7_cycles", nil, fid7Cycles},
		scenario{"fid7_byte_string", nil, fid7ByteString},
		scenario{"fid7_weak_tiny", nil, fid7WeakTiny},
		scenario{"fid7_map_big_values", nil, fid7MapBigValues},
		scenario{"fid7_map_grow_range", nil, fid7MapGrowRange},
		scenario{"fid7_fin_rearm", nil, fid7FinRearm},
	)
}

// ---------------------------------------------------------------------------
// tiny allocations of mixed sizes: malloc.go aligns the tiny offset by the size (8 if
// size&7 == 0, 4 if size&3 == 0, 2 if size&1 == 0), starts a new 16-byte block when
// the object does not fit, and keeps whichever block has more room left.

var (
	taB  [32]*byte
	taH  [32]*uint16
	ta3  [32]*[3]byte
	taW  [32]*int32
	taQ  [32]*int64
	ta12 [32]*[12]byte
	ta7  [32]*[7]byte
	taS  = []metrics.Sample{{Name: "/gc/heap/tiny/allocs:objects"}}
	taT  [4]uint64
)

func taTiny(i int) {
	metrics.Read(taS)
	taT[i] = u64(taS, 0)
}

func fid7TinyAlign() result {
	gcsnap("start")
	taTiny(0)
	for i := 0; i < 32; i++ {
		taB[i] = new(byte)
		*taB[i] = byte(i)
		taQ[i] = new(int64)
		*taQ[i] = int64(i)
		ta3[i] = new([3]byte)
		ta3[i][0] = byte(i)
		taH[i] = new(uint16)
		*taH[i] = uint16(i)
		ta12[i] = new([12]byte)
		ta12[i][0] = byte(i)
		taW[i] = new(int32)
		*taW[i] = int32(i)
		ta7[i] = new([7]byte)
		ta7[i][0] = byte(i)
	}
	snap("mixed")
	taTiny(1)
	taQ = [32]*int64{}
	gcsnap("drop_q")
	ta12 = [32]*[12]byte{}
	gcsnap("drop_12")
	for i := 0; i < 32; i += 2 {
		taB[i], taH[i], ta3[i], taW[i], ta7[i] = nil, nil, nil, nil, nil
	}
	gcsnap("drop_even")
	// after a GC the mcache's tiny block is gone: a fresh one for these
	for i := 0; i < 12; i++ {
		ta3[i] = new([3]byte)
		taH[i] = new(uint16)
	}
	snap("again")
	taTiny(2)
	taB, taH, ta3, taW, ta7 = [32]*byte{}, [32]*uint16{}, [32]*[3]byte{}, [32]*int32{}, [32]*[7]byte{}
	gcsnap("drop")
	res := snapResult()
	res["tiny"] = []uint64{taT[1] - taT[0], taT[2] - taT[1]}
	return res
}

// ---------------------------------------------------------------------------
// finalizers and cleanups on tiny objects: mfinal.go lets a finalizer be set on an
// object inside a tiny block (not at its start), and it runs only when the whole block
// is unreachable; mcleanup.go boxes a small pointer-free argument outside the tiny
// allocator (new([2]uintptr): 16 bytes).

var (
	ftW [16]*int32
	ftC [8]*int16
)

func fid7FinTiny() result {
	gcsnap("start")
	for i := 0; i < 16; i++ {
		ftW[i] = new(int32)
		*ftW[i] = int32(100 + i)
	}
	for _, i := range []int{0, 5, 9, 14} {
		runtime.SetFinalizer(ftW[i], func(p *int32) { f6Event(int(*p)) })
	}
	for i := 0; i < 8; i++ {
		ftC[i] = new(int16)
		*ftC[i] = int16(i)
	}
	for i := 0; i < 8; i += 3 {
		runtime.AddCleanup(ftC[i], func(v int) { f6Event(v) }, 200+i)
	}
	snap("setup")
	ftW[0] = nil // its block keeps 1..3
	ftW[9] = nil
	ftC[0] = nil
	f6Cycle(1)
	ftW[1], ftW[2], ftW[3] = nil, nil, nil // block 0..3 unreachable: 100 runs
	ftW[4], ftW[6], ftW[7] = nil, nil, nil // 5 keeps its block
	ftW[8], ftW[10], ftW[11] = nil, nil, nil
	ftC[1], ftC[2] = nil, nil
	f6Cycle(2)
	ftW[5] = nil
	ftC = [8]*int16{}
	f6Cycle(3)
	ftW = [16]*int32{}
	f6Cycle(4)
	f6Cycle(5)
	// no MemStats across the cycles: what the cleanup goroutines and waitQueues' sleep
	// allocate there is timing
	res := snapResult()
	res["events"] = f6Events(5)
	return res
}

// ---------------------------------------------------------------------------
// channels carrying pointers: chan.go makechan gives a chan of pointers a separate
// scanned buffer; a value in the buffer is live; chanrecv clears the slot it took; an
// unbuffered send hands the pointer to the waiting receiver.

type cpT struct {
	id   int
	next *cpT
	pad  [2]int
}

var (
	cpBuf   chan *cpT
	cpUnbuf chan *cpT
	cpDone  chan int
	cpKeep  [8]*cpT
	cpSums  [4]int
)

func cpReceiver() {
	n := 0
	for p := range cpUnbuf {
		if p.id%2 == 0 {
			cpKeep[n] = p
			n++
		}
		cpSums[2] += p.id
	}
	cpDone <- n
}

func fid7ChanPtrs() result {
	gcsnap("start")
	cpBuf = make(chan *cpT, 16)
	for i := 0; i < 16; i++ {
		cpBuf <- &cpT{id: i}
	}
	snap("fill")
	gcsnap("buffered_gc")
	for i := 0; i < 10; i++ {
		p := <-cpBuf
		cpSums[0] += p.id
	}
	gcsnap("recv_gc")
	for i := 0; i < 6; i++ {
		cpBuf <- &cpT{id: 100 + i}
	}
	close(cpBuf)
	for p := range cpBuf {
		cpSums[1] += p.id
	}
	gcsnap("drain_gc")
	cpBuf = nil
	gcsnap("drop_chan")
	cpUnbuf = make(chan *cpT)
	cpDone = make(chan int)
	go cpReceiver()
	for i := 0; i < 16; i++ {
		cpUnbuf <- &cpT{id: 200 + i}
	}
	close(cpUnbuf)
	cpSums[3] = <-cpDone
	snap("unbuffered")
	gcsnap("unbuffered_gc")
	cpKeep = [8]*cpT{}
	cpUnbuf, cpDone = nil, nil
	gcsnap("drop")
	res := snapResult()
	res["sums"] = cpSums[:]
	return res
}

// ---------------------------------------------------------------------------
// panics recovered by a deferred closure: the panic value is the program's allocation
// (a *rvErr, errors.New's *errorString, an int boxed by convT64, a string boxed by
// convTstring); the open-coded defer and the panic record live on the stack.

type rvErr struct {
	op   string
	code int
}

func (e *rvErr) Error() string { return e.op }

var (
	rvWords = [...]string{"read", "write", "seek"}
	rvErrs  []error
	rvAny   [16]any
	rvN     int
	rvSum   int
)

func rvDo(i int) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if e, ok := r.(error); ok {
				err = e
			} else {
				rvAny[rvN] = r
				rvN++
			}
		}
	}()
	switch i % 5 {
	case 0:
		panic(&rvErr{op: rvWords[i%3], code: i})
	case 1:
		panic(errors.New("boom"))
	case 2:
		panic(i * 1000)
	case 3:
		panic(rvWords[i%3] + "!")
	}
	rvSum += i
	return nil
}

func fid7Recover() result {
	gcsnap("start")
	for i := 0; i < 40; i++ {
		if err := rvDo(i); err != nil {
			rvErrs = append(rvErrs, err)
		}
	}
	snap("panics")
	gcsnap("panics_gc")
	codes := 0
	for _, e := range rvErrs {
		if r, ok := e.(*rvErr); ok {
			codes += r.code
		}
	}
	rvErrs = rvErrs[:0]
	gcsnap("truncate")
	rvErrs = nil
	rvAny = [16]any{}
	gcsnap("drop")
	res := snapResult()
	res["counts"] = []int{rvN, rvSum, codes}
	return res
}

// ---------------------------------------------------------------------------
// maps keyed by concatenated strings: an assignment's key escapes (concatstrings on
// the heap, strconv.Itoa's digits too), a lookup's concatenation does not (a stack
// buffer), deleting during range with a GC in the middle, the table grown past one
// group and split.

type ckT struct {
	id   int
	next *ckT
}

var (
	ckPre  = [...]string{"user:", "item:", "order:"}
	ckMap  map[string]*ckT
	ckLens [6]int
)

func fid7ConcatKeys() result {
	gcsnap("start")
	ckMap = make(map[string]*ckT)
	for i := 0; i < 300; i++ {
		ckMap[ckPre[i%3]+strconv.Itoa(i)] = &ckT{id: i}
	}
	snap("fill")
	hits := 0
	for i := 0; i < 300; i += 7 {
		if p, ok := ckMap[ckPre[i%3]+strconv.Itoa(i)]; ok && p.id == i {
			hits++
		}
	}
	ckLens[0] = hits
	snap("lookup")
	n := 0
	for k, v := range ckMap {
		if n == 50 {
			runtime.GC()
		}
		if v.id%4 != 0 {
			delete(ckMap, k)
		}
		n++
	}
	ckLens[1], ckLens[2] = n, len(ckMap)
	gcsnap("delete_range")
	for i := 1; i < 300; i += 4 {
		ckMap[ckPre[i%3]+strconv.Itoa(i)] = &ckT{id: -i}
	}
	ckLens[3] = len(ckMap)
	gcsnap("reinsert")
	clear(ckMap)
	ckLens[4] = len(ckMap)
	gcsnap("clear")
	ckMap = nil
	gcsnap("drop")
	res := snapResult()
	res["lens"] = ckLens[:5]
	return res
}

// ---------------------------------------------------------------------------
// append of struct slices across the large-object threshold: growslice rounds the
// new capacity up to the size class, or to whole pages past 32 KiB; a pointerful
// array over 512 bytes carries an 8-byte malloc header until it is large.

type alP struct {
	p *int
	n int
	s string
}

type alN struct{ a, b, c int }

var (
	alPs  []alP
	alNs  []alN
	alCap []int
)

func alNote(c int) {
	if len(alCap) == 0 || alCap[len(alCap)-1] != c {
		alCap = append(alCap, c)
	}
}

func fid7AppendLarge() result {
	alCap = make([]int, 0, 64)
	gcsnap("start")
	for i := 0; i < 1500; i++ {
		alPs = append(alPs, alP{n: i})
		alNote(cap(alPs))
	}
	snap("scan_grow")
	for i := 0; i < 2000; i++ {
		alNs = append(alNs, alN{a: i})
		alNote(cap(alNs))
	}
	snap("noscan_grow")
	alPs = alPs[:10]
	gcsnap("truncate")
	alPs = append(alPs[:10:10], alP{n: -1})
	alNote(cap(alPs))
	gcsnap("clip_append")
	alNs = append([]alN(nil), alNs[1000:1400]...)
	alNote(cap(alNs))
	gcsnap("copy_part")
	alPs, alNs = nil, nil
	gcsnap("drop")
	res := snapResult()
	res["caps"] = alCap
	return res
}

// ---------------------------------------------------------------------------
// cycles: a cleanup does not keep its object (or what it points to) reachable, so a
// ring of objects with cleanups is collected; a finalizer marks what its object points
// to, so a cycle through an object with a finalizer is never collected until the
// program breaks it, but a self-cycle is (scanobject skips pointers into the object
// being scanned); weak pointers follow the objects.

type cyN struct {
	id   int
	peer *cyN
	pad  [2]int
}

var (
	cyRing [3]*cyN
	cyWeak [9]weak.Pointer[cyN]
	cyLive [6]int
)

func cyLiveMask() int {
	m := 0
	for i, w := range cyWeak {
		if w.Value() != nil {
			m |= 1 << i
		}
	}
	return m
}

func fid7Cycles() result {
	gcsnap("start")
	for i := 0; i < 3; i++ {
		cyRing[i] = &cyN{id: i}
	}
	for i := 0; i < 3; i++ {
		cyRing[i].peer = cyRing[(i+1)%3]
		runtime.AddCleanup(cyRing[i], func(v int) { f6Event(v) }, 10+i)
		cyWeak[i] = weak.Make(cyRing[i])
	}
	a, b := &cyN{id: 3}, &cyN{id: 4}
	a.peer, b.peer = b, a
	runtime.SetFinalizer(a, func(n *cyN) { f6Event(20 + n.id) })
	cyWeak[3], cyWeak[4] = weak.Make(a), weak.Make(b)
	c := &cyN{id: 5}
	c.peer = c
	runtime.AddCleanup(c, func(v int) { f6Event(v) }, 30)
	cyWeak[5] = weak.Make(c)
	d, e := &cyN{id: 6}, &cyN{id: 7}
	d.peer = e
	runtime.SetFinalizer(d, func(n *cyN) { f6Event(20 + n.id) })
	runtime.SetFinalizer(e, func(n *cyN) { f6Event(20 + n.id) })
	cyWeak[6], cyWeak[7] = weak.Make(d), weak.Make(e)
	f := &cyN{id: 8}
	f.peer = f
	runtime.SetFinalizer(f, func(n *cyN) { f6Event(20 + n.id) })
	cyWeak[8] = weak.Make(f)
	a, b, c, d, e, f = nil, nil, nil, nil, nil, nil
	snap("setup")
	cyLive[0] = cyLiveMask()
	cyRing = [3]*cyN{}
	f6Cycle(1)
	cyLive[1] = cyLiveMask()
	f6Cycle(2)
	cyLive[2] = cyLiveMask()
	if p := cyWeak[3].Value(); p != nil {
		p.peer = nil
	}
	f6Cycle(3)
	cyLive[3] = cyLiveMask()
	f6Cycle(4)
	cyLive[4] = cyLiveMask()
	if p := cyWeak[8].Value(); p != nil {
		p.peer = nil
	}
	f6Cycle(5)
	cyLive[5] = cyLiveMask()
	res := snapResult() // (none across the cycles: see fid7FinTiny)
	res["events"] = f6Events(5)
	res["live"] = cyLive[:]
	return res
}

// ---------------------------------------------------------------------------
// []byte <-> string conversions whose results escape: string.go stringtoslicebyte
// allocates rawbyteslice (the capacity rounded up to the size class, so an append that
// fits allocates nothing), slicebytetostring allocates the length (a one-byte string
// is static, an empty one nothing); strings.Clone copies, bytes.Clone is append.

var (
	bsText = "the quick brown fox jumps over the lazy dog and keeps running far away"
	bsB    [12][]byte
	bsS    [12]string
	bsCaps []int
)

func fid7ByteString() result {
	bsCaps = make([]int, 0, 32)
	gcsnap("start")
	for i, n := range []int{0, 1, 5, 15, 16, 20, 33, 40, 64} {
		bsB[i] = []byte(bsText[i%4 : i%4+n])
		bsCaps = append(bsCaps, cap(bsB[i]))
	}
	snap("to_bytes")
	for i := 0; i < 9; i++ {
		bsB[i] = append(bsB[i], "xyz"...)
		bsCaps = append(bsCaps, cap(bsB[i]))
	}
	snap("append")
	for i := 0; i < 9; i++ {
		bsS[i] = string(bsB[i][:i*i/2])
	}
	snap("to_string")
	bsS[9] = string(bsB[8][3:4])
	bsS[10] = string(bsB[8][:0])
	bsS[11] = bsText[10:30]
	snap("short")
	bsB[0] = []byte(bsS[8])
	bsS[0] = string(bsB[8])
	bsB = [12][]byte{}
	gcsnap("drop_bytes")
	bsS = [12]string{}
	gcsnap("drop")
	res := snapResult()
	res["caps"] = bsCaps
	return res
}

// ---------------------------------------------------------------------------
// weak pointers to tiny objects: mheap.go getOrAddWeakHandle keys the handle by the
// object's own address (two objects of one block have two handles); a handle goes nil
// only when its tiny block is found unreachable, which needs every object in it dead.

var (
	wtObj  [12]*int32
	wtWeak [12]weak.Pointer[int32]
	wtLive [5]int
	wtEq   [3]bool
)

func wtMask() int {
	m := 0
	for i, w := range wtWeak {
		if w.Value() != nil {
			m |= 1 << i
		}
	}
	return m
}

func fid7WeakTiny() result {
	gcsnap("start")
	for i := 0; i < 12; i++ {
		wtObj[i] = new(int32)
		*wtObj[i] = int32(i)
	}
	for i := 0; i < 12; i++ {
		wtWeak[i] = weak.Make(wtObj[i])
	}
	snap("setup")
	wtEq[0] = weak.Make(wtObj[1]) == wtWeak[1]
	wtEq[1] = wtWeak[0] == wtWeak[1]
	snap("remake")
	wtLive[0] = wtMask()
	wtObj[0], wtObj[5], wtObj[6] = nil, nil, nil
	gcsnap("drop_some")
	wtLive[1] = wtMask()
	wtObj[1], wtObj[2], wtObj[3] = nil, nil, nil
	wtObj[4], wtObj[7] = nil, nil
	gcsnap("drop_blocks")
	wtLive[2] = wtMask()
	p := wtWeak[9].Value()
	wtObj = [12]*int32{}
	gcsnap("value_kept")
	wtLive[3] = wtMask()
	wtEq[2] = p == wtWeak[9].Value()
	runtime.KeepAlive(p)
	p = nil
	gcsnap("drop")
	wtLive[4] = wtMask()
	res := snapResult()
	res["live"] = wtLive[:]
	res["eq"] = wtEq[:]
	return res
}

// ---------------------------------------------------------------------------
// maps with values over 128 bytes: internal/runtime/maps stores them indirectly (the
// slot holds a pointer to its own object), an assignment to an existing key writes
// into that object, a delete frees it; keys over 128 bytes likewise.

type mbVal struct {
	id  int
	p   *mbVal
	buf [18]int
}

type mbKey struct {
	a [17]int
}

var (
	mbMap  map[int]mbVal
	mbKeys map[mbKey]int
	mbSums [4]int
)

func fid7MapBigValues() result {
	gcsnap("start")
	mbMap = make(map[int]mbVal)
	for i := 0; i < 40; i++ {
		mbMap[i] = mbVal{id: i}
	}
	snap("fill")
	for i := 0; i < 40; i++ { // every value gets a pointer: which entry the range below
		// deletes is random in Go, what it frees is not
		mbMap[i] = mbVal{id: -i, p: &mbVal{id: 1000 + i}}
	}
	snap("overwrite")
	for i := 0; i < 40; i += 3 {
		delete(mbMap, i)
	}
	gcsnap("delete")
	n := 0
	for k, v := range mbMap {
		if n == 5 { // the entry deleted: the iterator's it.elem still points at its object
			delete(mbMap, k)
			runtime.GC()
		}
		mbSums[0] += k + v.id
		if v.p != nil {
			mbSums[1] += v.p.id
		}
		n++
	}
	snap("range_gc")
	mbKeys = make(map[mbKey]int)
	for i := 0; i < 20; i++ {
		var k mbKey
		k.a[0], k.a[16] = i, i*i
		mbKeys[k] = i
	}
	for i := 0; i < 20; i += 2 {
		var k mbKey
		k.a[0], k.a[16] = i, i*i
		mbKeys[k] += 100
		mbSums[2] += mbKeys[k]
	}
	snap("big_keys")
	for i := 0; i < 20; i += 4 {
		var k mbKey
		k.a[0], k.a[16] = i, i*i
		delete(mbKeys, k)
	}
	mbSums[3] = len(mbKeys)
	gcsnap("big_keys_delete")
	mbMap, mbKeys = nil, nil
	gcsnap("drop")
	res := snapResult()
	res["sums"] = mbSums[:]
	return res
}

// ---------------------------------------------------------------------------
// a map grown while it is ranged over: internal/runtime/maps Iter keeps the small
// group or the table it started on (it goes on reading the old one and looks entries
// up in the new), so a GC during the range keeps the old groups; they die after it.

type mgT struct {
	id  int
	nxt *mgT
}

var (
	mgSmall map[int]*mgT
	mgBig   map[int]*mgT
	mgLens  [2]int
)

func fid7MapGrowRange() result {
	gcsnap("start")
	mgSmall = make(map[int]*mgT)
	for i := 0; i < 8; i++ {
		mgSmall[i] = &mgT{id: i}
	}
	snap("small_fill")
	first := true
	for range mgSmall {
		if first {
			first = false
			for i := 100; i < 120; i++ {
				mgSmall[i] = &mgT{id: i}
			}
			gcsnap("small_grow_gc")
		}
	}
	gcsnap("small_after")
	mgBig = make(map[int]*mgT)
	for i := 0; i < 100; i++ {
		mgBig[i] = &mgT{id: i}
	}
	snap("big_fill")
	first = true
	for range mgBig {
		if first {
			first = false
			for i := 1000; i < 1300; i++ {
				mgBig[i] = &mgT{id: i}
			}
			gcsnap("big_grow_gc")
		}
	}
	gcsnap("big_after")
	mgLens[0], mgLens[1] = len(mgSmall), len(mgBig)
	mgSmall, mgBig = nil, nil
	gcsnap("drop")
	res := snapResult()
	res["lens"] = mgLens[:]
	return res
}

// ---------------------------------------------------------------------------
// finalizers that re-arm themselves and revive their object: mgcsweep.go unlinks the
// finalizer and every weak handle of an object it revives (weak pointers go nil before
// the finalizer runs, for good); weak.Make on the revived object makes a new handle;
// SetFinalizer inside the finalizer runs it again when the object is unreachable again.

type frT struct {
	id   int
	runs int
	pad  [2]int
}

var (
	frKeep  *frT
	frWeak  [4]weak.Pointer[frT]
	frWeak2 weak.Pointer[frT]
	frLive  [8]int
	frEq    bool
)

func frFin(p *frT) {
	p.runs++
	f6Event(100*p.runs + p.id)
	if p.runs < 3 {
		runtime.SetFinalizer(p, frFin)
	}
	if p.id == 0 && p.runs == 1 {
		frKeep = p
	}
}

func frMask() int {
	m := 0
	for i, w := range frWeak {
		if w.Value() != nil {
			m |= 1 << i
		}
	}
	if frWeak2.Value() != nil {
		m |= 16
	}
	return m
}

func frSetup() {
	for i := 0; i < 4; i++ {
		p := &frT{id: i}
		runtime.SetFinalizer(p, frFin)
		frWeak[i] = weak.Make(p)
	}
}

func fid7FinRearm() result {
	gcsnap("start")
	frSetup()
	snap("setup")
	frLive[0] = frMask()
	f6Cycle(1)
	frLive[1] = frMask()
	frWeak2 = weak.Make(frKeep)
	frEq = frWeak2 == frWeak[0]
	snap("remake")
	frLive[2] = frMask()
	f6Cycle(2)
	frLive[3] = frMask()
	f6Cycle(3)
	frLive[4] = frMask()
	frKeep = nil
	f6Cycle(4)
	frLive[5] = frMask()
	f6Cycle(5)
	frLive[6] = frMask()
	f6Cycle(6)
	frLive[7] = frMask()
	snap("end")
	res := snapResult()
	res["events"] = f6Events(6)
	res["live"] = frLive[:]
	res["eq"] = frEq
	return res
}
