// weak.Make on zero-size (immortal) objects and globals: no allocation, canonical, never nil.
package main

import (
	"fmt"
	"runtime"
	"unsafe"
	"weak"
)

type Z struct{}

type T struct {
	t *T
	a int
	b int
}

var immortal T

var sink *Z

func main() {
	var m0, m1 runtime.MemStats
	z1, z2 := new(Z), new(Z)
	sink = new(Z)
	fmt.Println("zero-size same address:", unsafe.Pointer(z1) == unsafe.Pointer(z2))
	runtime.GC()
	runtime.ReadMemStats(&m0)
	w1 := weak.Make(z1)
	w2 := weak.Make(z2)
	runtime.ReadMemStats(&m1)
	fmt.Println("weak.Make(zero-size) equal:", w1 == w2, "Mallocs delta:", m1.Mallocs-m0.Mallocs)
	runtime.ReadMemStats(&m0)
	g1 := weak.Make(&immortal)
	g2 := weak.Make(&immortal.a)
	runtime.ReadMemStats(&m1)
	fmt.Println("weak.Make(global) x2 Mallocs delta:", m1.Mallocs-m0.Mallocs, g1 == weak.Make(&immortal), unsafe.Pointer(g2.Value()) != unsafe.Pointer(g1.Value()))
	z1, z2 = nil, nil
	runtime.GC()
	runtime.GC()
	fmt.Println("after 2 GCs: zero-size weak nil:", w1.Value() == nil, "value is zerobase:", unsafe.Pointer(w1.Value()) == unsafe.Pointer(sink))
	_ = w2
}

/* Output (go1.27.3 linux/amd64, GOTOOLCHAIN=local go run main.go):

zero-size same address: true
weak.Make(zero-size) equal: true Mallocs delta: 0
weak.Make(global) x2 Mallocs delta: 0 true true
after 2 GCs: zero-size weak nil: false value is zerobase: true
*/
