package main

import (
	"fmt"
	"os"
	"runtime"
)

type node struct {
	next *node
	pad  [3]int
}

var keep []*node

func list(n int) *node {
	var head, tail *node
	for i := 0; i < n; i++ {
		x := &node{}
		if head == nil {
			head = x
		} else {
			tail.next = x
		}
		tail = x
	}
	return head
}

func main() {
	keep = make([]*node, 0, 8)
	for i := 0; i < 8; i++ {
		keep = append(keep, list(16384))
		runtime.GC()
		fmt.Fprintln(os.Stderr, "forced", i)
	}
	for i := 0; i < 400; i++ {
		_ = list(4096)
	}
	fmt.Fprintln(os.Stderr, "end")
}
