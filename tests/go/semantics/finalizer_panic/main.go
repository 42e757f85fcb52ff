// A finalizer that panics crashes the whole program (exit 2, "panic: boom 5").
package main

import (
	"fmt"
	"runtime"
	"time"
)

type T struct {
	p  *int
	id int
}

func main() {
	func() {
		t := &T{id: 5}
		runtime.SetFinalizer(t, func(t *T) { panic(fmt.Sprintf("boom %d", t.id)) })
	}()
	runtime.GC()
	for i := 0; i < 5; i++ {
		time.Sleep(10 * time.Millisecond)
		fmt.Println("main still running", i)
	}
}

/* Output (go1.27.3 linux/amd64, GOTOOLCHAIN=local go run main.go):

panic: boom 5

goroutine 18 [running]:
main.main.func1.func1(0x0?)
	.../finalizer_panic/main.go:18 +0x5f
runtime.runFinalizers()
	.../mfinal.go:272 +0x3f7
exit status 2
*/
