// The fidelity audit, fourth round: closures that capture loop variables (Go 1.22's
// per-iteration variables), a channel of maps and a map with pointer keys, sort.Slice
// and sort.Sort over a slice of pointers, errors made and wrapped in a loop (errors.New,
// a wrapping struct, errors.Join), a worker pool started with sync.WaitGroup.Go that
// writes a results slice, a strings.Builder and a bytes.Buffer made fresh in a loop.
// Every value that outlives its statement lives in a global (it escapes, as a goruntime
// handle does). Twins in scenarios_fidelity4.py.
package main

import (
	"bytes"
	"errors"
	"slices"
	"sort"
	"strings"
	"sync"
)

func init() {
	scenarios = append(scenarios,
		scenario{"fid4_loopvar", nil, fid4Loopvar},
		scenario{"fid4_chan_maps", nil, fid4ChanMaps},
		scenario{"fid4_sort_ptrs", nil, fid4SortPtrs},
		scenario{"fid4_errors", nil, fid4Errors},
		scenario{"fid4_wg_results", nil, fid4WGResults},
		scenario{"fid4_builders", nil, fid4Builders},
	)
}

// ---------------------------------------------------------------------------
// closures capturing loop variables. Since Go 1.22 each iteration has its own
// variable: a range loop's i, v are never assigned after the capture, so they are
// captured by value ({F; i; v}); a three-clause loop's i is (i++ runs on the next
// iteration's copy), and a variable the body assigns after the capture moves to the
// heap (new(int) per iteration) and is captured by reference.

var (
	lvInts [100]int
	lvFns  [100]func() int
	lvSum  int
)

func lvCall() {
	for i := range lvFns {
		lvSum += lvFns[i]()
	}
	lvFns = [100]func() int{}
}

//go:noinline
func lvRange(s []int) {
	for i, v := range s {
		lvFns[i] = func() int { return i + v }
	}
}

//go:noinline
func lvThreeClause(n int) {
	for i := 0; i < n; i++ {
		lvFns[i] = func() int { return i * 2 }
	}
}

//go:noinline
func lvRangeInt(n int) {
	for i := range n {
		lvFns[i] = func() int { return i * 3 }
	}
}

//go:noinline
func lvAssigned(n int) {
	for i := 0; i < n; i++ {
		c := i
		lvFns[i] = func() int { c++; return c }
	}
}

//go:noinline
func lvShared(n int) {
	c := 0 // one variable for the whole loop, captured by reference: one new(int)
	for i := 0; i < n; i++ {
		lvFns[i] = func() int { c += i; return c }
	}
}

func fid4Loopvar() result {
	for i := range lvInts {
		lvInts[i] = i * 7
	}
	lvSum = 0
	gcsnap("start")
	lvRange(lvInts[:])
	snap("range")
	lvCall()
	gcsnap("range_gc")
	lvThreeClause(100)
	snap("three_clause")
	lvCall()
	gcsnap("three_clause_gc")
	lvRangeInt(100)
	snap("range_int")
	lvCall()
	gcsnap("range_int_gc")
	lvAssigned(100)
	snap("assigned")
	lvCall()
	gcsnap("assigned_gc")
	lvShared(100)
	snap("shared")
	lvCall()
	gcsnap("shared_gc")
	res := snapResult()
	res["sum"] = lvSum
	return res
}

// ---------------------------------------------------------------------------
// a channel of maps (a producer builds a map per batch and sends it; the receiver
// keeps some), and a map with pointer keys that alone keeps its keys alive.

type cmNode struct {
	id  int
	pad [5]int
}

var (
	cmKeys  = [...]string{"a", "bb", "ccc", "dddd", "eeeee", "ffffff", "g", "hh", "iii", "jjjj"}
	cmCh    chan map[string]int
	cmKeep  []map[string]int
	cmNodes [120]*cmNode
	cmByPtr map[*cmNode]int
	cmSum   int
	cmLens  [4]int
)

func cmProduce() {
	for b := 0; b < 30; b++ {
		m := make(map[string]int)
		for k := 0; k < 3+b%8; k++ {
			m[cmKeys[k]] = b * k
		}
		cmCh <- m
	}
	close(cmCh)
}

func fid4ChanMaps() result {
	cmSum = 0
	cmKeep = nil
	gcsnap("start")
	cmCh = make(chan map[string]int, 4)
	go cmProduce()
	i := 0
	for m := range cmCh {
		cmSum += len(m) + m["bb"]
		if i%5 == 0 {
			cmKeep = append(cmKeep, m)
		}
		i++
	}
	snap("received")
	gcsnap("received_gc")
	cmKeep = nil
	cmCh = nil
	gcsnap("maps_dropped")
	cmByPtr = make(map[*cmNode]int)
	for i := range cmNodes {
		cmNodes[i] = &cmNode{id: i}
		cmByPtr[cmNodes[i]] = i
	}
	snap("ptr_keys")
	cmNodes = [120]*cmNode{}
	gcsnap("keys_keep_nodes")
	cmLens[0] = len(cmByPtr)
	n := 0
	for p := range cmByPtr { // delete during iteration: allowed, each key seen once
		if p.id%3 == 0 {
			delete(cmByPtr, p)
		}
		n++
	}
	cmLens[1] = len(cmByPtr)
	cmLens[2] = n
	gcsnap("deleted_gc")
	cmByPtr = nil
	gcsnap("drop")
	res := snapResult()
	res["sum"] = cmSum
	res["lens"] = append([]int{}, cmLens[:3]...)
	return res
}

// ---------------------------------------------------------------------------
// sort.Slice over a slice of pointers: the slice is boxed into an any, and
// reflectlite.Swapper returns a closure over it; sort.Sort through a named slice
// type boxes it into a sort.Interface; slices.SortFunc allocates nothing.

type spItem struct {
	key  int
	name string
}

type spByKey []*spItem

func (s spByKey) Len() int           { return len(s) }
func (s spByKey) Less(i, j int) bool { return s[i].key < s[j].key }
func (s spByKey) Swap(i, j int)      { s[i], s[j] = s[j], s[i] }

var (
	spItems []*spItem
	spOrder [4]int
)

//go:noinline
func spSortSlice(ps []*spItem, desc bool) {
	if desc {
		sort.Slice(ps, func(i, j int) bool { return ps[i].key > ps[j].key })
	} else {
		sort.Slice(ps, func(i, j int) bool { return ps[i].key < ps[j].key })
	}
}

//go:noinline
func spSortStable(ps []*spItem) {
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].key%10 < ps[j].key%10 })
}

func spFirst() int { return spItems[0].key*1000 + spItems[len(spItems)-1].key }

func fid4SortPtrs() result {
	spItems = make([]*spItem, 200)
	for i := range spItems {
		spItems[i] = &spItem{key: (i * 73) % 200, name: cmKeys[i%10]}
	}
	gcsnap("start")
	spSortSlice(spItems, false)
	snap("sort_slice")
	spOrder[0] = spFirst()
	spSortSlice(spItems, true)
	snap("sort_slice_desc")
	spOrder[1] = spFirst()
	sort.Sort(spByKey(spItems))
	snap("sort_sort")
	spOrder[2] = spFirst()
	spSortStable(spItems)
	snap("slice_stable")
	spOrder[3] = spFirst()
	slices.SortFunc(spItems, func(a, b *spItem) int { return a.key - b.key })
	snap("slices_sortfunc")
	spItems = nil
	gcsnap("drop")
	res := snapResult()
	res["order"] = append([]int{}, spOrder[:]...)
	return res
}

// ---------------------------------------------------------------------------
// errors made and wrapped in a loop: errors.New is a new *errorString each call, a
// wrapping struct holds the cause as an interface; errors.Is walks Unwrap and
// allocates nothing; errors.Join copies the non-nil errors into a new slice.

type opError struct {
	op  string
	n   int
	err error
}

func (e *opError) Error() string { return e.op + ": " + e.err.Error() }
func (e *opError) Unwrap() error { return e.err }

var (
	erNames   = [...]string{"not found", "timeout", "closed", "denied"}
	erTimeout = errors.New("timeout")
	erKeep    []error
	erJoined  error
	erCounts  [4]int
)

//go:noinline
func erDo(i int) error {
	if i%4 == 1 {
		return &opError{op: "read", n: i, err: erTimeout}
	}
	return &opError{op: "write", n: i, err: errors.New(erNames[i%4])}
}

func fid4Errors() result {
	erKeep = nil
	erCounts = [4]int{}
	gcsnap("start")
	for i := 0; i < 200; i++ {
		err := erDo(i)
		if errors.Is(err, erTimeout) {
			erCounts[0]++
		}
		if i%5 == 1 { // every cause: timeouts and each errors.New text
			erKeep = append(erKeep, err)
		}
	}
	snap("loop")
	gcsnap("loop_gc")
	erJoined = errors.Join(erKeep...)
	snap("join")
	if errors.Is(erJoined, erTimeout) {
		erCounts[1] = 1
	}
	erCounts[2] = len(erJoined.Error())
	snap("join_error_string")
	erKeep = nil
	gcsnap("keep_dropped")
	erJoined = nil
	gcsnap("drop")
	res := snapResult()
	res["counts"] = append([]int{}, erCounts[:3]...)
	return res
}

// ---------------------------------------------------------------------------
// a worker pool started with WaitGroup.Go: each worker's closure captures its
// index and the results slice; WaitGroup.Go wraps it in a go statement's closure.

type wgResult struct {
	id  int
	sum int
	tag []byte
}

var (
	wgResults []*wgResult
	wgInput   [][]int
	wgSum     int
)

//go:noinline
func wgRun(workers int) {
	results := make([]*wgResult, len(wgInput))
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Go(func() {
			for i := w; i < len(results); i += workers {
				s := 0
				for _, x := range wgInput[i] {
					s += x
				}
				results[i] = &wgResult{id: i, sum: s, tag: make([]byte, 8+i%24)}
			}
		})
	}
	wg.Wait()
	wgResults = results
}

func fid4WGResults() result {
	wgInput = make([][]int, 60)
	for i := range wgInput {
		wgInput[i] = make([]int, 4+i%5)
		for k := range wgInput[i] {
			wgInput[i][k] = i * k
		}
	}
	wgSum = 0
	gcsnap("start")
	wgRun(4)
	snap("run1")
	for _, r := range wgResults {
		wgSum += r.sum + len(r.tag)
	}
	gcsnap("run1_gc")
	wgRun(4)
	snap("run2")
	gcsnap("run2_gc")
	wgResults = nil
	wgInput = nil
	gcsnap("drop")
	res := snapResult()
	res["sum"] = wgSum
	return res
}

// ---------------------------------------------------------------------------
// a strings.Builder and a bytes.Buffer made fresh in a loop (one per record), the
// result kept: each loop iteration grows a new buffer from nothing.

var (
	bdRecs  [80]string
	bdOut   [80][]byte
	bdCaps  [8]int
	bdField = [...]string{"id=", "name=", "size=", "tags="}
)

//go:noinline
func bdRecord(i int) string {
	var b strings.Builder
	for k := 0; k < 1+i%6; k++ {
		b.WriteString(bdField[k%4])
		b.WriteString(cmKeys[(i+k)%10])
		b.WriteByte(';')
	}
	if i == 79 {
		bdCaps[0] = b.Cap()
	}
	return b.String()
}

//go:noinline
func bdBytes(i int) []byte {
	var buf bytes.Buffer
	for k := 0; k < 2+i%9; k++ {
		buf.WriteString(cmKeys[(i*3+k)%10])
		buf.WriteByte(',')
	}
	if i == 79 {
		bdCaps[1] = buf.Cap()
	}
	return buf.Bytes()
}

func fid4Builders() result {
	gcsnap("start")
	for i := range bdRecs {
		bdRecs[i] = bdRecord(i)
	}
	snap("builders")
	gcsnap("builders_gc")
	for i := range bdOut {
		bdOut[i] = bdBytes(i)
	}
	snap("buffers")
	gcsnap("buffers_gc")
	n := 0
	for i := range bdRecs {
		n += len(bdRecs[i]) + len(bdOut[i])
	}
	bdCaps[2] = n
	bdRecs = [80]string{}
	bdOut = [80][]byte{}
	gcsnap("drop")
	res := snapResult()
	res["caps"] = append([]int{}, bdCaps[:3]...)
	return res
}
