// Command gcbench is Hans Boehm's GCBench (after John Ellis and Pete Kovac) in Go,
// following the structure of the Java original line for line, instrumented for
// tests/test_workloads.py and bench/ (`python3 -m bench`): it prints the benchmark's
// deterministic output lines (the timing lines are left out), then one JSON object with
// the MemStats deltas taken around the benchmark and its wall and CPU time (getrusage:
// user + system of the whole process, so the GC's background workers count).
//
//	cd tests/go/workloads && GOMAXPROCS=1 GOGC=100 GOTOOLCHAIN=local go run ./gcbench
//
// Escape analysis (go build -gcflags=-m) decides what the Java program's `new` becomes:
// every Node made by MakeTree and Populate escapes to the heap, and so does the
// long-lived array (4 MB, far above the 64 KiB implicit stack limit). A root made with
// `&Node{}` and only passed to Populate would not escape (Populate only writes through
// its argument), so TimeConstruction hands each of its roots to the global `sink` and
// clears it again: like Java's `new Node()`, every temporary tree is all heap objects,
// and nothing is kept alive by the sink. main's long-lived root stays on the stack.
// This is the structure of the oracle corpus' gcbench scenario (tests/oracle/go), so
// the two Go programs allocate the same objects. goruntime.workloads.gcbench does the
// same.
//
// The output lines are collected during the run and printed after the second
// ReadMemStats, so fmt's allocations are not in the deltas.
package main

import (
	"fmt"
	"runtime"
	"time"

	"workloads/internal/report"
)

type Node struct {
	left, right *Node
	i, j        int
}

const (
	kStretchTreeDepth   = 18     // about 16Mb
	kLongLivedTreeDepth = 16     // about 4Mb
	kArraySize          = 500000 // about 4Mb
	kMinTreeDepth       = 4
	kMaxTreeDepth       = 16
)

// TreeSize is the number of nodes in a tree of the given depth.
func TreeSize(i int) int { return (1 << (i + 1)) - 1 }

// NumIters is the number of iterations to use for a given tree depth.
func NumIters(i int) int { return 2 * TreeSize(kStretchTreeDepth) / TreeSize(i) }

// Populate builds a tree top down, assigning to older objects.
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

// MakeTree builds a tree bottom up.
func MakeTree(iDepth int) *Node {
	if iDepth <= 0 {
		return &Node{}
	}
	return &Node{left: MakeTree(iDepth - 1), right: MakeTree(iDepth - 1)}
}

var lines []string // filled after the measurement

var iters [16]int

// sink makes TimeConstruction's roots escape to the heap (see the top of the file).
var sink *Node

func TimeConstruction(depth int, k int) {
	iNumIters := NumIters(depth)
	iters[k] = iNumIters
	for i := 0; i < iNumIters; i++ {
		tempTree := &Node{}
		Populate(depth, tempTree)
		sink = tempTree
		sink = nil
	}
	for i := 0; i < iNumIters; i++ {
		tempTree := MakeTree(depth)
		tempTree = nil
		_ = tempTree
	}
}

var before, after runtime.MemStats

func main() {
	runtime.GC()
	runtime.ReadMemStats(&before)
	t0 := time.Now()
	c0 := report.CPUTime()

	// Stretch the memory space quickly
	tempTree := MakeTree(kStretchTreeDepth)
	tempTree = nil
	_ = tempTree

	// Create a long lived object
	longLivedTree := &Node{}
	Populate(kLongLivedTreeDepth, longLivedTree)

	// Create long-lived array, filling half of it
	array := make([]float64, kArraySize)
	for i := 0; i < kArraySize/2; i++ {
		array[i] = 1.0 / float64(i)
	}

	k := 0
	for d := kMinTreeDepth; d <= kMaxTreeDepth; d += 2 {
		TimeConstruction(d, k)
		k++
	}

	failed := longLivedTree == nil || array[1000] != 1.0/1000
	cpu := report.CPUTime() - c0
	wall := time.Since(t0)
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(longLivedTree)
	runtime.KeepAlive(array)

	fmt.Println("Garbage Collector Test")
	fmt.Printf(" Stretching memory with a binary tree of depth %d\n", kStretchTreeDepth)
	fmt.Printf(" Creating a long-lived binary tree of depth %d\n", kLongLivedTreeDepth)
	fmt.Printf(" Creating a long-lived array of %d doubles\n", kArraySize)
	k = 0
	for d := kMinTreeDepth; d <= kMaxTreeDepth; d += 2 {
		fmt.Printf("Creating %d trees of depth %d\n", iters[k], d)
		k++
	}
	if failed {
		fmt.Println("Failed")
	}
	report.Print(&before, &after, wall, cpu)
}
