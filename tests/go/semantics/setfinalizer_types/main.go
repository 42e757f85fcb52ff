// SetFinalizer type rules not covered by Appendix X5: named pointer types,
// interfaces with methods, and non-pointer first arguments.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"unsafe"
)

type Tintptr *int
type Tint int

func (t *Tint) m() {}

type Tinter interface{ m() }

type T struct {
	v int
	p unsafe.Pointer
}

type TT struct {
	v Tint
	p unsafe.Pointer
}

var cases = map[string]func(){
	"int-to-Tintptr":      func() { runtime.SetFinalizer(&new(T).v, func(Tintptr) {}); fmt.Println("ok") },
	"Tint-to-Tinter":      func() { runtime.SetFinalizer(&new(TT).v, func(Tinter) {}); fmt.Println("ok") },
	"Tint-to-int":         func() { runtime.SetFinalizer(&new(TT).v, func(*int) {}) },
	"int-to-Tinter":       func() { runtime.SetFinalizer(&new(T).v, func(Tinter) {}) },
	"int-to-any-results":  func() { runtime.SetFinalizer(&new(T).v, func(any) [4]int64 { return [4]int64{} }); fmt.Println("ok") },
	"slice-first-arg":     func() { runtime.SetFinalizer(make([]int, 3), func([]int) {}) },
	"string-first-arg":    func() { runtime.SetFinalizer("s", func(string) {}) },
	"struct-first-arg":    func() { runtime.SetFinalizer(T{}, func(T) {}) },
	"no-args":             func() { runtime.SetFinalizer(new(T), func() {}) },
}

var order = []string{"int-to-Tintptr", "Tint-to-Tinter", "Tint-to-int", "int-to-Tinter", "int-to-any-results",
	"slice-first-arg", "string-first-arg", "struct-first-arg", "no-args"}

func main() {
	if len(os.Args) > 1 {
		cases[os.Args[1]]()
		return
	}
	for _, name := range order {
		out, err := exec.Command(os.Args[0], name).CombinedOutput()
		first := strings.SplitN(strings.TrimSpace(string(out)), "\n", 2)[0]
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		fmt.Printf("%-20s exit=%d  %s\n", name, code, first)
	}
}

/* Output (go1.27.3 linux/amd64, GOTOOLCHAIN=local go run main.go):

int-to-Tintptr       exit=0  ok
Tint-to-Tinter       exit=0  ok
Tint-to-int          exit=2  fatal error: runtime.SetFinalizer: cannot pass *main.Tint to finalizer func(*int)
int-to-Tinter        exit=2  fatal error: runtime.SetFinalizer: cannot pass *int to finalizer func(main.Tinter)
int-to-any-results   exit=0  ok
slice-first-arg      exit=2  fatal error: runtime.SetFinalizer: first argument is []int, not pointer
string-first-arg     exit=2  fatal error: runtime.SetFinalizer: first argument is string, not pointer
struct-first-arg     exit=2  fatal error: runtime.SetFinalizer: first argument is main.T, not pointer
no-args              exit=2  fatal error: runtime.SetFinalizer: cannot pass *main.T to finalizer func()
*/
