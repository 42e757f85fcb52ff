// Command gcbench is Hans Boehm's GCBench (after John Ellis and Pete Kovac) in Go, the
// program goruntime.workloads.gcbench reproduces, with the classic constants. It prints
// one JSON object: wall and CPU time (getrusage) of the benchmark and the MemStats deltas
// around it.
//
// As in goruntime's port, the roots that main and TimeConstruction hand to Populate stay
// on the stack (escape analysis), so they are not heap allocations.
//
//	GOMAXPROCS=1 ./gcbench
package main

import (
	"encoding/json"
	"fmt"
	"runtime"
	"syscall"
	"time"
)

type Node struct {
	left, right *Node
	i, j        int
}

const (
	kStretchTreeDepth   = 18
	kLongLivedTreeDepth = 16
	kArraySize          = 500000
	kMinTreeDepth       = 4
	kMaxTreeDepth       = 16
)

func TreeSize(i int) int { return (1 << (i + 1)) - 1 }

func NumIters(i int) int { return 2 * TreeSize(kStretchTreeDepth) / TreeSize(i) }

func Populate(iDepth int, thisNode *Node) {
	if iDepth <= 0 {
		return
	}
	iDepth--
	thisNode.left = &Node{}
	thisNode.right = &Node{}
	Populate(iDepth, thisNode.left)
	Populate(iDepth, thisNode.right)
}

func MakeTree(iDepth int) *Node {
	if iDepth <= 0 {
		return &Node{}
	}
	return &Node{left: MakeTree(iDepth - 1), right: MakeTree(iDepth - 1)}
}

func TimeConstruction(depth int) {
	iNumIters := NumIters(depth)
	for i := 0; i < iNumIters; i++ {
		tempTree := &Node{}
		Populate(depth, tempTree)
		tempTree = nil
		_ = tempTree
	}
	for i := 0; i < iNumIters; i++ {
		tempTree := MakeTree(depth)
		tempTree = nil
		_ = tempTree
	}
}

func main() {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	c0 := cpuTime()
	t0 := time.Now()

	tempTree := MakeTree(kStretchTreeDepth)
	tempTree = nil
	_ = tempTree

	longLivedTree := &Node{}
	Populate(kLongLivedTreeDepth, longLivedTree)

	array := make([]float64, kArraySize)
	for i := 0; i < kArraySize/2; i++ {
		array[i] = 1.0 / float64(i)
	}

	for d := kMinTreeDepth; d <= kMaxTreeDepth; d += 2 {
		TimeConstruction(d)
	}

	failed := longLivedTree == nil || array[1000] != 1.0/1000
	wall := time.Since(t0)
	cpu := cpuTime() - c0
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(longLivedTree)
	runtime.KeepAlive(array)

	out, _ := json.Marshal(map[string]any{
		"failed":       failed,
		"cpu_ns":       cpu,
		"wall_ns":      wall.Nanoseconds(),
		"Mallocs":      after.Mallocs - before.Mallocs,
		"Frees":        after.Frees - before.Frees,
		"TotalAlloc":   after.TotalAlloc - before.TotalAlloc,
		"NumGC":        after.NumGC - before.NumGC,
		"NumForcedGC":  after.NumForcedGC - before.NumForcedGC,
		"PauseTotalNs": after.PauseTotalNs - before.PauseTotalNs,
	})
	fmt.Println(string(out))
}

// cpuTime is the process's user+system CPU time (getrusage), in ns.
func cpuTime() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}
