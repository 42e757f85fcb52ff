// Command binarytrees is the Benchmarks Game's binary-trees (Go version, one goroutine),
// the program goruntime.workloads.binary_trees reproduces. It prints one JSON object:
// wall and CPU time (getrusage) of the workload and the MemStats deltas around it
// (NumGC, Mallocs, ...).
//
//	GOMAXPROCS=1 ./binarytrees 21
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"time"
)

type Node struct {
	left, right *Node
}

func bottomUpTree(depth int) *Node {
	if depth <= 0 {
		return &Node{}
	}
	return &Node{bottomUpTree(depth - 1), bottomUpTree(depth - 1)}
}

func (n *Node) itemCheck() int {
	if n.left == nil {
		return 1
	}
	return 1 + n.left.itemCheck() + n.right.itemCheck()
}

const minDepth = 4

func main() {
	n := 0
	if len(os.Args) > 1 {
		n, _ = strconv.Atoi(os.Args[1])
	}
	maxDepth := n
	if minDepth+2 > n {
		maxDepth = minDepth + 2
	}
	stretchDepth := maxDepth + 1

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	c0 := cpuTime()
	t0 := time.Now()

	sum := bottomUpTree(stretchDepth).itemCheck()
	longLivedTree := bottomUpTree(maxDepth)
	for depth := minDepth; depth <= maxDepth; depth += 2 {
		iterations := 1 << uint(maxDepth-depth+minDepth)
		check := 0
		for i := 1; i <= iterations; i++ {
			check += bottomUpTree(depth).itemCheck()
		}
		sum += check
	}
	sum += longLivedTree.itemCheck()

	wall := time.Since(t0)
	cpu := cpuTime() - c0
	runtime.ReadMemStats(&after)
	out, _ := json.Marshal(map[string]any{
		"depth":        maxDepth,
		"checksum":     sum,
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
