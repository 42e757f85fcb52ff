package main

// Allocations the runtime makes for the program's goroutines (issue 15 item 3, issue 17):
// a g per goroutine when no dead one can be reused, allgs growing by append, the go
// statement's wrapper closure when it captures arguments, sudogs from the P's cache
// when a goroutine blocks (one per select case), and the goroutine's timer on its first
// time.Sleep with the P's timer heap growing by append.

import (
	"runtime"
	"sync"
	"time"
)

func init() {
	scenarios = append(scenarios, scenario{"lang_goroutines", nil, langGoroutines})
}

var gorCh, gorCh2 chan *int
var gorStarted, gorDone int
var gorPtrs []*int
var gorA, gorB = 3, 4
var gorWG sync.WaitGroup

//go:noinline
func gorBlocked() {
	gorStarted++
	<-gorCh
	gorDone++
}

//go:noinline
func gorBlockedPtr(p *int) {
	gorStarted++
	if q := <-gorCh; q == p {
		panic("unreachable")
	}
	gorDone++
}

//go:noinline
func gorBlockedInts(a, b int) {
	gorStarted++
	<-gorCh
	gorDone += b - a
}

//go:noinline
func gorSelect() {
	gorStarted++
	select {
	case <-gorCh:
	case <-gorCh2:
	}
	gorDone++
}

//go:noinline
func gorSleeper() {
	gorStarted++
	time.Sleep(100 * time.Millisecond) // long enough that none wakes before the first GC
	gorDone++
	gorWG.Done()
}

// gorRow starts n goroutines with spawn, waits until all of them are blocked, GCs, lets
// them finish (close, or the WaitGroup for sleepers), GCs again.
func gorRow(n int, spawn func(i int), sleepers bool) result {
	gorCh, gorCh2 = make(chan *int), make(chan *int)
	gorStarted, gorDone = 0, 0
	if sleepers {
		gorWG.Add(n)
	}
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	for i := 0; i < n; i++ {
		spawn(i)
	}
	for gorStarted < n {
		runtime.Gosched()
	}
	runtime.ReadMemStats(&ms1)
	runtime.GC()
	runtime.ReadMemStats(&ms2)
	if sleepers {
		gorWG.Wait()
	} else {
		close(gorCh)
		for gorDone < n {
			runtime.Gosched()
		}
	}
	runtime.ReadMemStats(&ms3)
	gc1Frees := bySizeDeltas(&ms1, &ms2, true)
	runtime.GC()
	var m4 runtime.MemStats
	runtime.ReadMemStats(&m4)
	return result{"run": memDeltas(&ms0, &ms1), "BySize": bySizeDeltas(&ms0, &ms1, false),
		"gc1.Frees": dlt(ms1.Frees, ms2.Frees), "gc1.BySizeFrees": gc1Frees,
		"finish.Mallocs": dlt(ms2.Mallocs, ms3.Mallocs), "finish.BySize": bySizeDeltas(&ms2, &ms3, false),
		"gc2.Frees": dlt(ms3.Frees, m4.Frees), "gc2.BySizeFrees": bySizeDeltas(&ms3, &m4, true)}
}

func langGoroutines() result {
	res := result{}
	res["g100"] = gorRow(100, func(int) { go gorBlocked() }, false)
	res["g100_again"] = gorRow(100, func(int) { go gorBlocked() }, false)
	res["g200"] = gorRow(200, func(int) { go gorBlocked() }, false)
	gorPtrs = make([]*int, 10)
	for i := range gorPtrs {
		gorPtrs[i] = new(int)
	}
	res["ptr_arg"] = gorRow(10, func(i int) { go gorBlockedPtr(gorPtrs[i]) }, false)
	res["int_args"] = gorRow(10, func(int) { go gorBlockedInts(gorA, gorB) }, false)
	res["select"] = gorRow(100, func(int) { go gorSelect() }, false)
	res["sleep"] = gorRow(10, func(int) { go gorSleeper() }, true)
	res["sleep_again"] = gorRow(10, func(int) { go gorSleeper() }, true)
	gorPtrs = nil
	runtime.ReadMemStats(&ms0)
	time.Sleep(time.Millisecond)
	runtime.ReadMemStats(&ms1)
	time.Sleep(time.Millisecond)
	runtime.ReadMemStats(&ms2)
	res["main_sleep"] = result{"first": memDeltas(&ms0, &ms1), "first.BySize": bySizeDeltas(&ms0, &ms1, false),
		"second": memDeltas(&ms1, &ms2)}
	return res
}
