// A finalizer on an interior pointer of a tiny object gets exactly that pointer; the
// current tiny block survives the first GC (it is marked at mark start), so it runs at GC2.
package main

import (
	"fmt"
	"runtime"
	"time"
	"unsafe"
)

type small struct{ a, b int32 }

func main() {
	got := make(chan string, 1)
	runtime.GC()
	var addr uintptr
	func() {
		s := &small{}
		addr = uintptr(unsafe.Pointer(&s.b))
		runtime.SetFinalizer(&s.b, func(p *int32) { got <- fmt.Sprintf("%v", uintptr(unsafe.Pointer(p)) == addr) })
	}()
	for i := 1; i <= 3; i++ {
		runtime.GC()
		time.Sleep(20 * time.Millisecond)
		select {
		case s := <-got:
			fmt.Printf("GC %d: finalizer ran, got the registered pointer=%s\n", i, s)
		default:
			fmt.Printf("GC %d: not yet\n", i)
		}
	}
}


/* Output (go1.27.3 linux/amd64, GOTOOLCHAIN=local go run main.go):

GC 1: not yet
GC 2: finalizer ran, got the registered pointer=true
GC 3: not yet
*/
