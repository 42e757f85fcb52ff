// A finalizer that blocks forever blocks later finalizers; main keeps working;
// NumGoroutine does not count the finalizer goroutine; the deadlock is still reported.
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
	fmt.Println("start NumGoroutine", runtime.NumGoroutine())
	never := make(chan int)
	ran := make(chan string, 10)
	func() {
		t := &T{id: 1}
		runtime.SetFinalizer(t, func(*T) { ran <- "blocker"; <-never })
	}()
	fmt.Println("after SetFinalizer NumGoroutine", runtime.NumGoroutine())
	runtime.GC()
	time.Sleep(20 * time.Millisecond)
	fmt.Println("blocked in finalizer: NumGoroutine", runtime.NumGoroutine())
	func() {
		t := &T{id: 2}
		runtime.SetFinalizer(t, func(*T) { ran <- "second" })
	}()
	runtime.GC()
	time.Sleep(20 * time.Millisecond)
	close(ran)
	for s := range ran {
		fmt.Println("ran:", s)
	}
	c := make(chan int, 1)
	c <- 5
	fmt.Println("main still works:", <-c)
	<-make(chan int) // deadlock?
}

/* Output (go1.27.3 linux/amd64, GOTOOLCHAIN=local go run main.go):

start NumGoroutine 1
after SetFinalizer NumGoroutine 1
blocked in finalizer: NumGoroutine 1
ran: blocker
main still works: 5
fatal error: all goroutines are asleep - deadlock!

goroutine 1 [chan receive]:
main.main()
	.../blocking_finalizer/main.go:41 +0x53f

goroutine 3 [chan receive]:
main.main.func1.func1(0x0?)
	.../blocking_finalizer/main.go:22 +0x33
runtime.runFinalizers()
	.../mfinal.go:272 +0x3f7
*/
