// Command binarytrees is the Benchmarks Game binary-trees program (Go version, one
// goroutine), instrumented for tests/test_workloads.py and bench/ (`python3 -m bench`):
// it prints the program's usual output lines, then one JSON object with the MemStats
// deltas taken around the workload and its wall and CPU time (getrusage: user + system
// of the whole process, so the GC's background workers count).
//
//	cd tests/go/workloads && GOMAXPROCS=1 GOGC=100 GOTOOLCHAIN=local go run ./binarytrees 16
//
// The output lines are collected into fixed arrays during the run and printed only
// after the second ReadMemStats, so fmt's own allocations (boxing ints into interfaces)
// are not part of the deltas. What remains on Go's side beyond the tree nodes are the
// runtime's own few allocations during the run (the GC's background mark workers are
// started, each a new goroutine, at the first GC cycle).
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"time"

	"workloads/internal/report"
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

var (
	before, after runtime.MemStats
	iters, depths [32]int
	checks        [32]int
)

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

	runtime.GC()
	runtime.ReadMemStats(&before)
	t0 := time.Now()
	c0 := report.CPUTime()

	check := bottomUpTree(stretchDepth).itemCheck()
	stretchCheck := check

	longLivedTree := bottomUpTree(maxDepth)

	k := 0
	for depth := minDepth; depth <= maxDepth; depth += 2 {
		iterations := 1 << uint(maxDepth-depth+minDepth)
		check = 0
		for i := 1; i <= iterations; i++ {
			check += bottomUpTree(depth).itemCheck()
		}
		iters[k], depths[k], checks[k] = iterations, depth, check
		k++
	}
	longCheck := longLivedTree.itemCheck()

	cpu := report.CPUTime() - c0
	wall := time.Since(t0)
	runtime.ReadMemStats(&after)

	fmt.Printf("stretch tree of depth %d\t check: %d\n", stretchDepth, stretchCheck)
	for i := 0; i < k; i++ {
		fmt.Printf("%d\t trees of depth %d\t check: %d\n", iters[i], depths[i], checks[i])
	}
	fmt.Printf("long lived tree of depth %d\t check: %d\n", maxDepth, longCheck)
	report.Print(&before, &after, wall, cpu)
}
