// The fidelity audit, third round: word counts over lines read one at a time
// (a map's string keys are replaced on every update), maps with interface keys,
// GOGC and the memory limit changed while the program churns, bytes.Buffer and
// strings.Builder growth, a goroutine per request, finalizers that recycle their
// objects, a channel pipeline of pointers, cleanups whose argument is the only
// reference to a string or slice. Every value lives in a global (it escapes, as
// a goruntime handle does). Twins in scenarios_fidelity3.py.
package main

import (
	"bytes"
	"math"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
)

func init() {
	scenarios = append(scenarios,
		scenario{"fid3_line_counts", nil, fid3LineCounts},
		scenario{"fid3_any_keys", nil, fid3AnyKeys},
		scenario{"fid3_gc_percent", nil, fid3GCPercent},
		scenario{"fid3_memlimit", nil, fid3Memlimit},
		scenario{"fid3_buffers", nil, fid3Buffers},
		scenario{"fid3_requests", nil, fid3Requests},
		scenario{"fid3_recycle", nil, fid3Recycle},
		scenario{"fid3_pipeline", nil, fid3Pipeline},
		scenario{"fid3_cleanup_args", nil, fid3CleanupArgs},
	)
}

// ---------------------------------------------------------------------------
// word counts over lines: m[w]++ stores w's string header in the slot each time
// (internal/runtime/maps: a string key is updated, its bytes may differ), so the
// map keeps the last line holding each word, not the first.

var (
	lcVocab = [...]string{"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta",
		"iota", "kappa", "lambda", "mu", "nu", "xi", "omicron", "pi"}
	lcSrc   []byte
	lcOff   [301]int
	lcLines [300]string
	lcCount map[string]int
	lcLens  [4]int
)

func fid3LineCounts() result {
	lcSrc = make([]byte, 0, 1<<15)
	for n := 0; n < 300; n++ {
		lcOff[n] = len(lcSrc)
		for k := 0; k < 6; k++ {
			if k > 0 {
				lcSrc = append(lcSrc, ' ')
			}
			lcSrc = append(lcSrc, lcVocab[(n*5+k*7+n/16)%16]...)
		}
	}
	lcOff[300] = len(lcSrc)
	gcsnap("start")
	for n := 0; n < 300; n++ {
		lcLines[n] = string(lcSrc[lcOff[n]:lcOff[n+1]]) // a line read into a new string
	}
	snap("lines")
	lcCount = make(map[string]int)
	for n := 0; n < 300; n++ {
		line := lcLines[n]
		start := 0
		for i := 0; i <= len(line); i++ {
			if i == len(line) || line[i] == ' ' {
				lcCount[line[start:i]]++
				start = i + 1
			}
		}
	}
	snap("count")
	lcLens[0] = len(lcCount)
	for n := 0; n < 150; n++ { // the first half of the lines is done with
		lcLines[n] = ""
	}
	gcsnap("drop_first_half")
	for n := 150; n < 300; n++ {
		lcLines[n] = ""
	}
	gcsnap("drop_all_lines")
	// a word read again from a fresh line: the slot takes the new line's bytes
	lcLines[0] = string(lcSrc[lcOff[7]:lcOff[8]])
	lcCount[lcLines[0][0:strings.IndexByte(lcLines[0], ' ')]] = 0
	lcLines[0] = ""
	gcsnap("rekey")
	lcLens[1] = len(lcCount)
	lcCount = nil
	lcSrc = nil
	gcsnap("drop")
	res := snapResult()
	res["lens"] = append([]int{}, lcLens[:2]...)
	return res
}

// ---------------------------------------------------------------------------
// map[any]int: keys boxed as any (ints 0..255 from staticuint64s, larger ints
// 8-byte boxes, strings 16-byte headers, structs copied); a lookup boxes
// nothing; an update stores the new box in the slot (the old one is garbage).

type akPoint struct{ x, y int }

var (
	akMap  map[any]int
	akStrs [200]string
	akSum  int
	akLens [4]int
)

func fid3AnyKeys() result {
	kb := make([]byte, 600)
	for i := 0; i < 200; i++ {
		kb[3*i], kb[3*i+1], kb[3*i+2] = 'k', byte('a'+i%26), byte('a'+i/26)
		akStrs[i] = string(kb[3*i : 3*i+3])
	}
	gcsnap("start")
	akMap = make(map[any]int)
	for i := 0; i < 400; i++ {
		akMap[i] = i
	}
	snap("ints")
	for i := 0; i < 200; i++ {
		akMap[akStrs[i]] = i
	}
	snap("strs")
	for i := 0; i < 100; i++ {
		akMap[akPoint{i, -i}] = i
	}
	snap("points")
	akLens[0] = len(akMap)
	akSum = 0
	for i := 0; i < 400; i++ {
		akSum += akMap[i]
	}
	for i := 0; i < 200; i++ {
		akSum += akMap[akStrs[i]]
	}
	for i := 0; i < 100; i++ {
		akSum += akMap[akPoint{i, -i}]
	}
	snap("lookup")
	for i := 200; i < 400; i++ {
		akMap[i] = -i
	}
	snap("update_ints")
	gcsnap("update_ints_gc")
	for i := 0; i < 100; i += 2 {
		akMap[akPoint{i, -i}] = 0
	}
	gcsnap("update_points_gc")
	for i := 0; i < 400; i += 2 {
		delete(akMap, i)
	}
	for i := 0; i < 200; i += 4 {
		delete(akMap, akStrs[i])
	}
	snap("delete")
	gcsnap("delete_gc")
	akLens[1] = len(akMap)
	akMap = nil
	gcsnap("drop")
	res := snapResult()
	res["lens"] = append([]int{}, akLens[:2]...)
	res["sum"] = akSum
	return res
}

// ---------------------------------------------------------------------------
// GOGC changed while garbage is produced: each change takes effect at once
// (gcControllerCommit), also while a cycle is in progress.

var (
	gpLive [2048]*[1024]byte
	gpSink *[512]byte
	gpPrev [8]int
	gpGC   [8]uint32
	gpMs   runtime.MemStats
)

func gpChurn(n int) {
	for i := 0; i < n; i++ {
		gpSink = new([512]byte)
	}
}

func fid3GCPercent() result {
	for i := range gpLive {
		gpLive[i] = new([1024]byte)
	}
	runtime.GC()
	runtime.ReadMemStats(&gpMs)
	gpGC[0] = gpMs.NumGC
	for k, p := range [...]int{50, 200, 25, -1, 400, 100} {
		gpChurn(4096) // 2 MiB of garbage, then the change lands mid-run
		gpPrev[k] = debug.SetGCPercent(p)
		gpChurn(12288)
		runtime.ReadMemStats(&gpMs)
		gpGC[k+1] = gpMs.NumGC
	}
	gpSink = nil
	gpLive = [2048]*[1024]byte{}
	runtime.GC()
	res := result{"prev": append([]int{}, gpPrev[:6]...)}
	for k, name := range [...]string{"gogc50", "gogc200", "gogc25", "gogc_off", "gogc400", "gogc100"} {
		res[name] = gpGC[k+1] - gpGC[k]
	}
	return res
}

// ---------------------------------------------------------------------------
// the memory limit changed while garbage is produced: a limit under the GOGC
// goal makes the goal limit − non-heap memory − 3 %; raising it restores GOGC.

var (
	mlLive  [1024]*[8192]byte
	mlSink  *[8192]byte
	mlPrev  [8]int64
	mlGC    [8]uint32
	mlGoal  [8]uint64
	mlNon   [8]uint64
	mlMatch [8]bool
	mlMs    runtime.MemStats
	mlLimit = [...]int64{math.MaxInt64, 14 << 20, 11 << 20, 24 << 20, math.MaxInt64}
)

func mlChurn(n int) {
	for i := 0; i < n; i++ {
		mlSink = new([8192]byte)
	}
}

func fid3Memlimit() result {
	for i := range mlLive {
		mlLive[i] = new([8192]byte)
	}
	runtime.GC()
	runtime.ReadMemStats(&mlMs)
	base := mlMs.NumGC
	for k, lim := range mlLimit {
		mlChurn(512) // 4 MiB of garbage, then the change lands mid-run
		mlPrev[k] = debug.SetMemoryLimit(lim)
		mlChurn(3584) // 28 MiB
		runtime.ReadMemStats(&mlMs)
		mlGC[k] = mlMs.NumGC - base // the phase's heap-triggered cycles
		runtime.GC()
		runtime.ReadMemStats(&mlMs)
		base = mlMs.NumGC
		if lim != math.MaxInt64 {
			g, non := limitGoal(uint64(lim), &mlMs)
			mlGoal[k], mlNon[k], mlMatch[k] = mlMs.NextGC+non, non, g == mlMs.NextGC
		}
	}
	mlSink = nil
	mlLive = [1024]*[8192]byte{}
	debug.SetMemoryLimit(math.MaxInt64)
	runtime.GC()
	res := result{"prev": append([]int64{}, mlPrev[:5]...)}
	for k, name := range [...]string{"nolimit", "limit14", "limit11", "limit24", "unlimited"} {
		r := result{"NumGC": mlGC[k]}
		if mlLimit[k] != math.MaxInt64 {
			r["goal_plus_nonheap"] = mlGoal[k]
			r["nonheap"] = mlNon[k]
			r["formula_match"] = mlMatch[k]
		}
		res[name] = r
	}
	return res
}

// ---------------------------------------------------------------------------
// bytes.Buffer and strings.Builder: Buffer starts at 64 bytes, then grows to
// 2*cap+n by append([]byte(nil), make([]byte, c)...) (rounded up to the size
// class); Reset keeps the array; Builder.Grow allocates 2*cap+n (rounded).

var (
	bfBuf   bytes.Buffer
	bfBuf2  *bytes.Buffer
	bfBld   strings.Builder
	bfChunk = []byte("0123456789abcdef0123456789abcdef0123456789") // 42 bytes
	bfStr   string
	bfCaps  [64]int
	bfNcap  int
)

func bfNote(c int) {
	if bfNcap == 0 || bfCaps[bfNcap-1] != c {
		bfCaps[bfNcap] = c
		bfNcap++
	}
}

func fid3Buffers() result {
	bfNcap = 0
	gcsnap("start")
	for i := 0; i < 300; i++ {
		bfBuf.Write(bfChunk[:1+i%42])
		bfNote(bfBuf.Cap())
	}
	snap("buffer_write")
	bfStr = bfBuf.String()
	snap("buffer_string")
	bfBuf.Reset()
	for i := 0; i < 100; i++ {
		bfBuf.WriteByte(byte(i))
	}
	snap("buffer_reuse")
	bfBuf.Grow(100000)
	bfNote(-1)
	bfNote(bfBuf.Cap())
	snap("buffer_grow")
	bfBuf = bytes.Buffer{}
	bfStr = ""
	gcsnap("buffer_dropped")
	bfBuf2 = bytes.NewBuffer(make([]byte, 0, 100))
	for i := 0; i < 40; i++ {
		bfBuf2.WriteString("hello, world")
	}
	bfNote(-2)
	bfNote(bfBuf2.Cap())
	snap("newbuffer")
	bfBuf2 = nil
	gcsnap("newbuffer_dropped")
	bfBld.Grow(50)
	bfNote(-3)
	bfNote(bfBld.Cap())
	for i := 0; i < 200; i++ {
		bfBld.Write(bfChunk[:1+i%42])
		bfNote(bfBld.Cap())
	}
	bfBld.Grow(1000)
	bfNote(bfBld.Cap())
	snap("builder")
	bfStr = bfBld.String()
	snap("builder_string")
	bfBld = strings.Builder{}
	gcsnap("builder_keeps_string")
	bfStr = ""
	gcsnap("builder_dropped")
	res := snapResult()
	res["caps"] = append([]int{}, bfCaps[:bfNcap]...)
	return res
}

// ---------------------------------------------------------------------------
// a goroutine per request: handlers allocate a response and send it on a
// buffered channel; dead goroutines are reused (gfget), the go statement's
// closure captures the request.

type rqRequest struct {
	id   int
	path string
	body []byte
}

type rqResponse struct {
	id     int
	status int
	body   []byte
}

var (
	rqPaths = [...]string{"/", "/index", "/api/v1/items", "/static/app.js"}
	rqBody  []byte
	rqOut   chan *rqResponse
	rqWG    sync.WaitGroup
	rqKeep  [40]*rqResponse
	rqSum   int
)

func rqHandle(r *rqRequest) {
	b := make([]byte, 0, 64+len(r.body))
	b = append(b, r.path...)
	b = append(b, r.body...)
	rqOut <- &rqResponse{id: r.id, status: 200, body: b}
	rqWG.Done()
}

func fid3Requests() result {
	rqBody = make([]byte, 200)
	rqOut = make(chan *rqResponse, 16)
	rqSum = 0
	gcsnap("start")
	for batch := 0; batch < 40; batch++ {
		for i := 0; i < 10; i++ {
			rqWG.Add(1)
			go rqHandle(&rqRequest{id: batch*10 + i, path: rqPaths[i%4], body: rqBody[:i*20]})
		}
		rqWG.Wait()
		for i := 0; i < 10; i++ {
			resp := <-rqOut
			rqSum += resp.id + len(resp.body)
			if resp.id%10 == 3 {
				rqKeep[batch] = resp
			}
		}
		if batch == 0 {
			snap("batch0")
		}
	}
	snap("batches")
	gcsnap("gc_kept")
	rqKeep = [40]*rqResponse{}
	rqOut = nil
	gcsnap("drop")
	res := snapResult()
	res["sum"] = rqSum
	return res
}

// ---------------------------------------------------------------------------
// finalizers that recycle: a finalizer puts its object on a free list and sets
// itself again; the recycled objects come back at the next GC after they are
// dropped, the others are freed the cycle after their finalizer ran.

type rcConn struct {
	id  int
	buf [48]byte
}

var (
	rcLive   [24]*rcConn
	rcFree   []*rcConn
	rcRearm  bool
	rcEv     [128]int
	rcEvN    int
	rcCyc    [8]int
	rcLabels = [...]string{"cycle0", "cycle1", "cycle2", "cycle3", "cycle4", "cycle5"}
)

func rcFin(c *rcConn) {
	rcEv[rcEvN] = c.id
	rcEvN++
	if rcRearm && c.id%3 != 0 {
		runtime.SetFinalizer(c, rcFin)
		rcFree = append(rcFree, c)
	}
}

func fid3Recycle() result {
	rcEvN = 0
	rcFree = nil
	gcsnap("start")
	for i := 0; i < 24; i++ {
		rcLive[i] = &rcConn{id: i}
		runtime.SetFinalizer(rcLive[i], rcFin)
	}
	snap("open")
	rcRearm = true
	rcLive = [24]*rcConn{}
	for c := 1; c <= 4; c++ {
		runtime.GC()
		waitQueues()
		rcCyc[c] = rcEvN
		snap(rcLabels[c])
		if c == 2 { // reuse the free list, then drop it
			for i, x := range rcFree {
				rcLive[i] = x
			}
			rcFree = nil
			rcRearm = false
			rcLive = [24]*rcConn{}
		}
	}
	res := snapResult()
	ev := result{}
	for c := 1; c <= 4; c++ {
		ev[rcLabels[c]] = append([]int{}, rcEv[rcCyc[c-1]:rcCyc[c]]...)
	}
	res["events"] = ev
	return res
}

// ---------------------------------------------------------------------------
// a pipeline: generator -> squarer -> main through 4-slot channels of *msg

type plMsg struct {
	n       int
	payload []byte
}

var (
	plA, plB chan *plMsg
	plKeep   []*plMsg
	plSum    int
)

func plGen() {
	for i := 0; i < 300; i++ {
		plA <- &plMsg{n: i, payload: make([]byte, 16+i%100)}
	}
	close(plA)
}

func plSquare() {
	for m := range plA {
		m.n *= m.n
		if m.n%3 == 0 {
			m.payload = nil
		}
		plB <- m
	}
	close(plB)
}

func fid3Pipeline() result {
	plSum = 0
	plKeep = nil
	gcsnap("start")
	plA = make(chan *plMsg, 4)
	plB = make(chan *plMsg, 4)
	snap("chans")
	go plGen()
	go plSquare()
	i := 0
	for m := range plB {
		plSum += m.n + len(m.payload)
		if i%25 == 0 {
			plKeep = append(plKeep, m)
		}
		i++
	}
	snap("run")
	gcsnap("gc_kept")
	plKeep = nil
	plA, plB = nil, nil
	gcsnap("drop")
	res := snapResult()
	res["sum"] = plSum
	return res
}

// ---------------------------------------------------------------------------
// cleanups whose argument is a heap string (a temp file's path), a []byte or a
// small struct: AddCleanup copies the argument into a box of its type (new(S);
// 16 bytes pointer-free when smaller), which alone keeps the string or array
// alive until the cleanup has run. 18 cleanups a phase: a partial block, run after
// runtime.GC returns (whether a full block of 20 runs before depends on how many spans
// Go's own start-up left to sweep).

type caFile struct {
	fd  int
	pad [3]int
}

type caPair struct{ a, b int32 }

var (
	caFiles [40]*caFile
	caName  []byte
	caEv    [128]int
	caEvN   int
	caLens  [2]int
)

func caRemove(path string) { caEv[caEvN] = len(path); caEvN++ }
func caFlush(b []byte)     { caEv[caEvN] = 1000 + len(b); caEvN++ }
func caPairDone(p caPair)  { caEv[caEvN] = 2000 + int(p.a+p.b); caEvN++ }

//go:noinline
func caOpen(i int) {
	f := &caFile{fd: i}
	caFiles[i] = f
	switch i % 3 {
	case 0:
		path := string(caName[:20+i]) // the path lives only in the cleanup's box
		runtime.AddCleanup(f, caRemove, path)
	case 1:
		runtime.AddCleanup(f, caFlush, make([]byte, 40+i))
	case 2:
		runtime.AddCleanup(f, caPairDone, caPair{int32(i), 1})
	}
}

func fid3CleanupArgs() result {
	caEvN = 0
	caName = make([]byte, 64)
	for i := range caName {
		caName[i] = byte('a' + i%26)
	}
	gcsnap("start")
	for i := 0; i < 36; i++ {
		caOpen(i)
	}
	snap("open")
	gcsnap("gc_args_kept")
	for i := 0; i < 36; i += 2 {
		caFiles[i] = nil
	}
	runtime.GC()
	waitQueues()
	caLens[0] = caEvN
	snap("close_even")
	gcsnap("close_even_gc")
	caFiles = [40]*caFile{}
	runtime.GC()
	waitQueues()
	caLens[1] = caEvN
	snap("close_all")
	gcsnap("drop")
	res := snapResult()
	res["events_even"] = append([]int{}, caEv[:caLens[0]]...)
	res["events_odd"] = append([]int{}, caEv[caLens[0]:caLens[1]]...)
	return res
}
