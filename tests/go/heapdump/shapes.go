// More heap shapes for tests/test_heapdump_go.py: maps, slices of strings and interfaces,
// closures, channels, goroutines blocked at several depths, deep recursion, large and tiny
// objects, finalizer cycles, cleanups and weak pointers, unsafe interior pointers, a heap
// fragmented by several GCs. Each records in expect the Go addresses of a path it built.
package main

import (
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"
	"weak"
)

type Pair struct {
	A *Node
	S string
	B *Node
}

type Holder struct {
	Name string
	F    func() int
	G    func() int
}

type Big struct {
	Ptrs [5000]*Node // 40000 bytes: a large object with pointers
}

type Fin struct {
	Other *Fin
	Data  *Node
	ID    int
}

type Inner struct {
	X, Y int
	P    *Node
	Z    [6]int
}

var (
	gSmall   map[string]*Node
	gLarge   map[string]*Node
	gStructs map[int]Pair
	gStrs    []string
	gIfaces  []any
	gFn      func() int
	gHolder  *Holder
	gCh      chan *Node
	gBig     *Big
	gBytes   []byte
	gPtrs    []*Node
	gTiny    []*int32
	gTinyS   []*[3]byte
	gWeak    []weak.Pointer[Node]
	gKeepW   []*Node
	gUnsafe  unsafe.Pointer
	gUnsafe2 unsafe.Pointer
	gFrag    []*Node
	gMu      sync.Mutex
)

func a(n *Node) uintptr             { return uintptr(unsafe.Pointer(n)) }

func mapPtr(m any) uintptr {
	// a map value is one pointer to its internal/runtime/maps.Map
	type eface struct{ t, d unsafe.Pointer }
	e := (*eface)(unsafe.Pointer(&m))
	return uintptr(e.d)
}

// depth recursion with a local list at every level; the bottom blocks in how
func blocker(level, n int, id string, how string, c chan *Node) {
	l := list(n)
	expect[id+"/"+strconv.Itoa(level)] = chain(l, 2)
	if level > 0 {
		blocker(level-1, n, id, how, c)
	} else {
		var sent *Node
		if how == "send" {
			sent = &Node{ID: 424242}
			expect["sent"] = []uintptr{a(sent)}
		}
		ready <- true
		switch how {
		case "recv":
			<-done
		case "select":
			select {
			case <-done:
			case x := <-c:
				runtime.KeepAlive(x)
			}
		case "sleep":
			for {
				select {
				case <-done:
					runtime.KeepAlive(l)
					return
				default:
				}
				time.Sleep(time.Millisecond)
			}
		case "send":
			c <- sent // blocked: the value waits in a stack temporary (a stack object)
		case "mutex":
			gMu.Lock()
			gMu.Unlock()
		}
	}
	runtime.KeepAlive(l)
}


// State lives on stackHolder's stack; work gets its address.
type State struct {
	Buf  []byte
	List *Node
	N    int
}

func stackHolder(n, id int) {
	var st State
	st.Buf = make([]byte, 4000+n) // not a constant size: on the heap
	st.List = list(n)
	work(&st, id)
}

//go:noinline
func work(st *State, id int) {
	expect["stackobj"+strconv.Itoa(id)] = []uintptr{addr(unsafe.Pointer(&st.Buf[0])), a(st.List), a(st.List.Next)}
	ready <- true
	<-done
	st.N++
}

func deferHolder(n, id int) {
	for i := 0; i < 2; i++ {
		l := list(n)
		defer func() { runtime.KeepAlive(l) }()
		expect["defer"+strconv.Itoa(id)+"/"+strconv.Itoa(i)] = chain(l, 2)
	}
	ready <- true
	<-done
}

//go:noinline
func newNode(next *Node, id int) *Node { return &Node{Next: next, ID: id} }

func deep(level int, prev *Node) {
	n := newNode(prev, level)
	if level == 0 {
		expect["deepbottom"] = chain(n, 3)
		ready <- true
		<-done
	} else {
		var pad [16]int // grow the frames
		pad[level%16] = level
		deep(level-1, n)
		runtime.KeepAlive(pad)
	}
	runtime.KeepAlive(n)
}

// more builds a shape of this file; false for an unknown mode.
func more(mode string, n int) bool {
	switch mode {
	case "defaultrate": // Go's default memory-profile rate for what follows ("defaultrate+maps")
		runtime.MemProfileRate = 512 * 1024
	case "maps":
		gSmall = map[string]*Node{}
		for i := 0; i < 5; i++ {
			gSmall["k"+strconv.Itoa(i)] = list(3)
		}
		gLarge = map[string]*Node{}
		for i := 0; i < n; i++ {
			gLarge["key-"+strconv.Itoa(i)] = &Node{ID: i}
		}
		gStructs = map[int]Pair{}
		for i := 0; i < 20; i++ {
			gStructs[i] = Pair{A: &Node{ID: i}, S: strings.Repeat("s", 20+i), B: list(2)}
		}
		expect["small"] = []uintptr{mapPtr(gSmall), a(gSmall["k3"]), a(gSmall["k3"].Next)}
		expect["large"] = []uintptr{mapPtr(gLarge), a(gLarge["key-"+strconv.Itoa(n/2)])}
		expect["structs"] = []uintptr{mapPtr(gStructs), a(gStructs[7].B), a(gStructs[7].B.Next)}
	case "slices":
		for i := 0; i < n; i++ {
			gStrs = append(gStrs, fmt.Sprintf("string number %d with some padding", i))
		}
		gIfaces = []any{&Node{ID: 1}, 12345678, "literal", strings.Repeat("x", 100), Pair{A: &Node{ID: 2}}, list(3)}
		expect["str"] = []uintptr{addr(unsafe.Pointer(unsafe.SliceData(gStrs))), addr(unsafe.Pointer(unsafe.StringData(gStrs[n/2])))}
		expect["iface_node"] = []uintptr{addr(unsafe.Pointer(unsafe.SliceData(gIfaces))), a(gIfaces[0].(*Node))}
		expect["iface_list"] = []uintptr{addr(unsafe.Pointer(unsafe.SliceData(gIfaces))), a(gIfaces[5].(*Node)), a(gIfaces[5].(*Node).Next)}
		expect["iface_rep"] = []uintptr{addr(unsafe.Pointer(unsafe.SliceData(gIfaces))), addr(unsafe.Pointer(unsafe.StringData(gIfaces[3].(string))))}
	case "closures":
		l := list(n)
		gFn = func() int { return l.ID }
		m := list(n)
		k := list(n)
		gHolder = &Holder{Name: "h", F: func() int { return m.ID }, G: func() int { return k.Next.ID }}
		expect["gfn"] = chain(l, 2)
		expect["holderF"] = chain(m, 2)
		expect["holderG"] = chain(k, 2)
		expect["holder"] = []uintptr{addr(unsafe.Pointer(gHolder))}
	case "chans":
		gCh = make(chan *Node, n)
		for i := 0; i < n/2; i++ {
			gCh <- list(2)
		}
		x := <-gCh // the ring's head moves: slot 0 is empty again
		runtime.KeepAlive(x)
		y := <-gCh // popped: garbage at the dump
		runtime.KeepAlive(y)
		c := make(chan *Node)            // unbuffered: a goroutine blocked sending
		go blocker(0, 3, "sender", "send", c)
		<-ready
	case "blocked":
		c := make(chan *Node)
		for i, how := range []string{"recv", "select", "sleep", "mutex"} {
			if how == "mutex" {
				gMu.Lock()
			}
			go blocker(3, n, "g"+strconv.Itoa(i), how, c)
			<-ready
		}
		time.Sleep(20 * time.Millisecond)
	case "deep":
		go deep(n, nil)
		<-ready
	case "large":
		gBig = &Big{}
		for i := range gBig.Ptrs {
			if i%100 == 0 {
				gBig.Ptrs[i] = &Node{ID: i}
			}
		}
		gBytes = make([]byte, 200000)
		gPtrs = make([]*Node, 20000) // 160000 bytes, pointerful
		gPtrs[19999] = list(3)
		expect["bigptr"] = []uintptr{addr(unsafe.Pointer(gBig)), a(gBig.Ptrs[4900])}
		expect["ptrs"] = []uintptr{addr(unsafe.Pointer(&gPtrs[0])), a(gPtrs[19999]), a(gPtrs[19999].Next)}
		expect["bytes"] = []uintptr{addr(unsafe.Pointer(&gBytes[0]))}
	case "tiny":
		for i := 0; i < n; i++ {
			v := new(int32)
			*v = int32(i)
			gTiny = append(gTiny, v)
			s := new([3]byte)
			s[0] = byte(i)
			gTinyS = append(gTinyS, s)
		}
		expect["tiny"] = []uintptr{addr(unsafe.Pointer(&gTiny[0])), addr(unsafe.Pointer(gTiny[n/2]))}
		expect["tinys"] = []uintptr{addr(unsafe.Pointer(&gTinyS[0])), addr(unsafe.Pointer(gTinyS[n/2]))}
		for i := 0; i < 20; i++ {
			expect["tinyall"] = append(expect["tinyall"], addr(unsafe.Pointer(gTiny[i])), addr(unsafe.Pointer(gTinyS[i])))
		}
	case "fincycle":
		for i := 0; i < n; i++ {
			x := &Fin{ID: i, Data: &Node{ID: i}}
			y := &Fin{ID: -i, Other: x, Data: &Node{ID: -i}}
			x.Other = y
			runtime.SetFinalizer(x, func(*Fin) {})
			runtime.SetFinalizer(y, func(*Fin) {})
			s := &Fin{ID: 1000 + i}
			s.Other = s // a self cycle
			runtime.SetFinalizer(s, func(*Fin) {})
			z := &Fin{ID: 2000 + i, Data: &Node{ID: 7}} // a plain finalizer, unreachable
			runtime.SetFinalizer(z, func(f *Fin) { _ = f.ID })
		}
	case "specials":
		for i := 0; i < n; i++ {
			p := &Node{ID: i}
			arg := &Node{ID: -i}
			runtime.AddCleanup(p, func(x *Node) { _ = x.ID }, arg)
			gWeak = append(gWeak, weak.Make(p))
			if i%2 == 0 {
				gKeepW = append(gKeepW, p)
			}
		}
	case "stackobj":
		// a local whose address is taken and handed to a call that blocks: a stack object
		// (no frame's pointer bitmap lists it), holding the only pointers to its heap data
		for i := 0; i < 2; i++ {
			go stackHolder(n, i)
			<-ready
		}
	case "defers":
		// deferred closures (a defer in a loop is not open-coded: a _defer record on the
		// stack whose fn is a heap closure) holding the only pointers to lists
		for i := 0; i < 2; i++ {
			go deferHolder(n, i)
			<-ready
		}
	case "unsafe":
		big := &[64]int{}
		big[10] = 7
		gUnsafe = unsafe.Pointer(&big[40]) // interior only
		in := &Inner{P: list(3)}
		gUnsafe2 = unsafe.Pointer(&in.P) // a pointer to a pointer field
		expect["interior"] = []uintptr{addr(unsafe.Pointer(big)), uintptr(gUnsafe)}
		expect["inner"] = []uintptr{addr(unsafe.Pointer(in)), a(in.P), a(in.P.Next)}
	case "frag":
		var all []*Node
		for round := 0; round < 4; round++ {
			for i := 0; i < n; i++ {
				all = append(all, &Node{ID: i})
			}
			// drop three of four
			kept := all[:0:0]
			for i, p := range all {
				if i%4 == round%4 {
					kept = append(kept, p)
				}
			}
			all = kept
			runtime.GC()
		}
		gFrag = all
		expect["frag"] = []uintptr{addr(unsafe.Pointer(&gFrag[0])), a(gFrag[len(gFrag)/2])}
	default:
		return false
	}
	return true
}
