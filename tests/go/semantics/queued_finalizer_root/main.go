// A queued-but-not-yet-run finalizer keeps its object, and what the object
// references, alive across further GC cycles (finq is a GC root).
package main

import (
	"fmt"
	"runtime"
	"time"
	"weak"
)

type Leaf struct {
	p  *int
	id int
}

type Obj struct {
	leaf *Leaf
	id   int
}

func main() {
	gate := make(chan struct{})
	events := make(chan string, 10)
	// 1. A finalizer that blocks the finalizer goroutine until the gate opens.
	func() {
		g := &Leaf{id: -1}
		runtime.SetFinalizer(g, func(*Leaf) { events <- "gate finalizer started"; <-gate })
	}()
	runtime.GC()
	time.Sleep(20 * time.Millisecond)
	fmt.Println(<-events)

	// 2. An object with a finalizer that references a leaf (weak pointers to both).
	var wObj weak.Pointer[Obj]
	var wLeaf weak.Pointer[Leaf]
	func() {
		o := &Obj{leaf: &Leaf{id: 2}, id: 1}
		wObj = weak.Make(o)
		wLeaf = weak.Make(o.leaf)
		runtime.AddCleanup(o.leaf, func(int) { events <- "cleanup(leaf)" }, 0)
		runtime.SetFinalizer(o, func(o *Obj) { events <- fmt.Sprintf("finalizer(obj) leaf.id=%d", o.leaf.id) })
	}()
	for i := 1; i <= 3; i++ {
		runtime.GC()
		time.Sleep(20 * time.Millisecond)
		fmt.Printf("GC %d (fing blocked): wObj nil=%v wLeaf nil=%v pending events=%d\n", i, wObj.Value() == nil, wLeaf.Value() == nil, len(events))
	}
	close(gate)
	time.Sleep(20 * time.Millisecond)
	for len(events) > 0 {
		fmt.Println("  ", <-events)
	}
	runtime.GC()
	time.Sleep(20 * time.Millisecond)
	fmt.Printf("GC 4 (finalizer ran): wLeaf nil=%v\n", wLeaf.Value() == nil)
	for len(events) > 0 {
		fmt.Println("  ", <-events)
	}
}

/* Output (go1.27.3 linux/amd64, GOTOOLCHAIN=local go run main.go):

gate finalizer started
GC 1 (fing blocked): wObj nil=true wLeaf nil=false pending events=0
GC 2 (fing blocked): wObj nil=true wLeaf nil=false pending events=0
GC 3 (fing blocked): wObj nil=true wLeaf nil=false pending events=0
   finalizer(obj) leaf.id=2
GC 4 (finalizer ran): wLeaf nil=true
   cleanup(leaf)
*/
