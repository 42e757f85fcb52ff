// Command heapdumpprog builds one heap shape, writes a heap dump, then runs runtime.GC and
// prints what real Go kept, as JSON on stdout. tests/test_heapdump_go.py loads the dump
// and compares. Usage: heapdumpprog MODE N DUMPFILE
//
// Modes: list, tree, graph, goroutines, globals, iface, finalizers, cache, and those of
// shapes.go. Every mode also leaves garbage behind (allocated after the last GC,
// unreachable at dump time). MODE may join several with "+" (maps+chans).
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"unsafe"
)

type Node struct {
	Next  *Node
	Left  *Node
	Right *Node
	ID    int
	Pad   [2]int
}

type Entry struct {
	Key   string
	Value []byte
	Prev  *Entry
}

// Box is held through interfaces (mode iface).
type Box struct {
	N *Node
	K int
}

func (b *Box) String() string { return "box" }

var (
	gAny     any          // a *Box: pointer-shaped, the interface's data word is the pointer
	gVal     any          // a Box value: boxed, the data word points to a copy
	gStringer fmt.Stringer // a *Box through an itab
)

var (
	gList  *Node
	gTree  *Node
	gGraph []*Node
	gA     *Node
	gB     [3]*Node
	gMap   map[int]*Node
	cache  = map[string]*Entry{}
	sink   []*Node
	keep   []*Node
	expect = map[string][]uintptr{}
)

func addr(p unsafe.Pointer) uintptr { return uintptr(p) }

func list(n int) *Node {
	var h *Node
	for i := 0; i < n; i++ {
		h = &Node{Next: h, ID: i}
	}
	return h
}

func tree(d int) *Node {
	if d == 0 {
		return nil
	}
	return &Node{Left: tree(d - 1), Right: tree(d - 1), ID: d}
}

func garbage(n int) {
	for i := 0; i < n; i++ {
		sink = append(sink, &Node{ID: -i})
	}
	sink = nil
}

// chain records the Go addresses of a path of nodes following Next.
func chain(h *Node, max int) []uintptr {
	var out []uintptr
	for p := h; p != nil && len(out) < max; p = p.Next {
		out = append(out, addr(unsafe.Pointer(p)))
	}
	return out
}

var dumpFile *os.File

func dump(path string) {
	f, err := os.Create(path)
	if err != nil {
		panic(err)
	}
	dumpFile = f // alive at the GC after the dump as at the dump (an *os.File and its file)
	debug.WriteHeapDump(f.Fd())
	f.Close()
}

var ready = make(chan bool)
var done = make(chan bool)

func holder(n int, id int) {
	l := list(n) // a local: only this goroutine's stack holds the list
	expect["goroutine"+strconv.Itoa(id)] = chain(l, 3)
	ready <- true
	<-done
	runtime.KeepAlive(l)
}

func main() {
	runtime.MemProfileRate = 1
	debug.SetGCPercent(-1) // no GC between building and dumping: the garbage stays
	// Go's first GC starts its mark worker goroutine (a g and a node): done here, it is
	// in the dump as at the GC after it
	runtime.GC()
	n, _ := strconv.Atoi(os.Args[2])
	for _, mode := range strings.Split(os.Args[1], "+") {
		build(mode, n)
	}
	if os.Args[1] == "big" {
		n = 0
	}
	garbage(n)
	threads := pprof.Lookup("threadcreate").Count()
	dump(os.Args[3])
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	// threads: OS threads (Go's Ms, each with heap objects of its own) made after the dump
	out := map[string]any{"HeapObjects": m.HeapObjects, "HeapAlloc": m.HeapAlloc,
		"expect": expect, "threads": pprof.Lookup("threadcreate").Count() - threads}
	b, _ := json.Marshal(out)
	os.Stdout.Write(b)
	runtime.KeepAlive(gList)
	runtime.KeepAlive(gWeak)
	if os.Args[1] == "goroutines" {
		close(done)
	}
}

func build(mode string, n int) {
	switch mode {
	case "list":
		gList = list(n)
		expect["list"] = chain(gList, n)
	case "tree":
		gTree = tree(n)
		expect["tree"] = []uintptr{addr(unsafe.Pointer(gTree)), addr(unsafe.Pointer(gTree.Left)),
			addr(unsafe.Pointer(gTree.Left.Right)), addr(unsafe.Pointer(gTree.Left.Right.Left))}
	case "graph":
		// a ring with chords, reachable from a global slice, plus an unreachable ring
		nodes := make([]*Node, n)
		for i := range nodes {
			nodes[i] = &Node{ID: i}
		}
		for i := range nodes {
			nodes[i].Next = nodes[(i+1)%n]
			nodes[i].Left = nodes[(i*7+3)%n]
		}
		gGraph = []*Node{nodes[0]} // a new one-element array: only node 0 is held
		dead := make([]*Node, n)
		for i := range dead {
			dead[i] = &Node{ID: i}
		}
		for i := range dead {
			dead[i].Next = dead[(i+1)%n]
		}
		dead = nil
		expect["graph"] = []uintptr{addr(unsafe.Pointer(nodes[0])), addr(unsafe.Pointer(nodes[1])),
			addr(unsafe.Pointer(nodes[3])), addr(unsafe.Pointer(nodes[22%n]))}
	case "goroutines":
		for i := 0; i < 4; i++ {
			go holder(n, i)
			<-ready
		}
	case "globals":
		gA = list(n)
		for i := range gB {
			gB[i] = list(n)
		}
		gMap = map[int]*Node{}
		for i := 0; i < n; i++ {
			gMap[i] = &Node{ID: i}
		}
		expect["gA"] = chain(gA, 2)
		expect["gB2"] = chain(gB[2], 2)
	case "finalizers":
		for i := 0; i < n; i++ {
			p := &Node{ID: i, Next: &Node{ID: -i}}
			runtime.SetFinalizer(p, func(*Node) {})
			if i%2 == 0 {
				keep = append(keep, p)
			}
		}
		expect["kept"] = []uintptr{addr(unsafe.Pointer(keep[0]))}
	case "iface":
		gAny = &Box{N: list(n), K: 1}
		gVal = Box{N: list(n), K: 2}
		gStringer = &Box{N: list(n), K: 3}
		expect["any"] = chain(gAny.(*Box).N, 2)
		expect["val"] = chain(gVal.(Box).N, 2)
		expect["stringer"] = chain(gStringer.(*Box).N, 2)
	case "cache":
		// a leaky LRU-less cache: every request adds an entry, nothing evicts
		var prev *Entry
		for i := 0; i < n; i++ {
			k := fmt.Sprintf("req-%d", i)
			e := &Entry{Key: k, Value: make([]byte, 256+i%512), Prev: prev}
			cache[k] = e
			prev = e
			_ = make([]byte, 64) // per-request garbage
		}
		expect["entry"] = []uintptr{addr(unsafe.Pointer(cache["req-0"]))}
	case "big":
		// for make bench: a tree of about n/2 nodes and a ring with chords of the rest,
		// with Go's default memory-profile rate (one sample per 512 KiB): with rate 1 the
		// tree's recursion makes a profile bucket per distinct stack, most of the file
		runtime.MemProfileRate = 512 * 1024
		d := 1
		for (2<<d)-1 <= n/2 {
			d++
		}
		gTree = tree(d)
		m := n - (1<<d - 1)
		nodes := make([]*Node, m)
		for i := range nodes {
			nodes[i] = &Node{ID: i}
		}
		for i := range nodes {
			nodes[i].Next = nodes[(i+1)%m]
			nodes[i].Left = nodes[(i*7+3)%m]
		}
		gGraph = []*Node{nodes[0]}
		expect["far"] = []uintptr{addr(unsafe.Pointer(nodes[m/2]))}
	default:
		if !more(mode, n) {
			panic("unknown mode " + mode)
		}
	}
}
