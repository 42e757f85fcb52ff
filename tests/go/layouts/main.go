// Command layouts prints, as JSON, how Go 1.27 on linux/amd64 lays out a set of
// types: unsafe.Sizeof, unsafe.Alignof, unsafe.Offsetof of every struct field, the
// reflect type string, and the runtime's own PtrBytes and GC pointer mask, read from
// the type descriptor (internal/abi.Type) that the first word of an interface value
// points to.
//
// tests/test_types.py builds and runs this program (with generated types added, see
// extra) and compares every number with goruntime.types; tests/data/go_layouts.json
// is its output. Regenerate that file with:
//
//	cd tests/go/layouts && GOTOOLCHAIN=local go run main.go > ../../data/go_layouts.json
package main

import (
	"encoding/json"
	"os"
	"reflect"
	"runtime"
	"unsafe"
)

// abiType mirrors the head of internal/abi.Type in Go 1.27 ($GOROOT/src/internal/abi/type.go).
type abiType struct {
	Size_       uintptr
	PtrBytes    uintptr // number of (prefix) bytes in the type that can contain pointers
	Hash        uint32
	TFlag       uint8
	Align_      uint8
	FieldAlign_ uint8
	Kind_       uint8
	Equal       func(unsafe.Pointer, unsafe.Pointer) bool
	GCData      *byte // pointer mask; a **byte when TFlag has tflagGCMaskOnDemand
	Str         int32
	PtrToThis   int32
}

// tflagGCMaskOnDemand is abi.TFlagGCMaskOnDemand: the mask of a type whose pointers
// extend past abi.MaxPtrmaskBytes*8 words is built by the runtime on first use, and
// GCData then points to the slot that holds the pointer to it.
const tflagGCMaskOnDemand = 1 << 4

// The types under test. Field names are lower case on purpose: reflect and the
// runtime treat exported and unexported fields alike for layout.

type Mixed struct {
	a bool
	b int64
	c int8
	d int32
	e int16
	f *int
	g uint8
}

type Padded struct {
	a int8
	b complex128
	c int8
}

type C64 struct {
	a int8
	b complex64
	c float32
	d int8
}

type Node struct {
	next *Node
	id   int
	pad  [5]int64
}

type StrSl struct {
	n int8
	s string
	b []byte
	m map[string]int
	t int16
}

type Ifaces struct {
	x int32
	e any
	r error
	n int8
}

type EndsZero struct {
	a int64
	z struct{}
}

type EndsZeroArr struct {
	a int32
	z [0]int64
}

type OnlyZero struct {
	z struct{}
}

type Empty struct{}

type ZeroArrs struct {
	a [0]*int
	b int
	c [0]string
}

type Inner struct {
	x int8
	p *int
}

type Nested struct {
	a [3]Inner
	b [2][3]string
	c int16
}

type Bools struct {
	a bool
	b bool
	c int8
	d uint16
	e bool
	f uint32
	g bool
}

type Funcs struct {
	f  func(int) int
	c  chan int
	u  unsafe.Pointer
	up uintptr
	m  map[int]*Node
}

type Tail struct {
	x    *int
	data [100]byte
}

type Big struct {
	n   int
	arr [200]*int
}

type Floats struct {
	a float32
	b float64
	c uint16
	d complex64
	e uint
	f int
	g uint64
	h uint32
}

type Tint int
type Tintptr *int

type Tinter interface {
	m(Tint)
}

type entry struct {
	Label    string  `json:"label"`
	String   string  `json:"string"`
	Kind     string  `json:"kind"`
	Size     uintptr `json:"size"`
	Align    uintptr `json:"align"`
	FieldAl  uint8   `json:"field_align"`
	PtrBytes uintptr `json:"ptrdata"`
	PtrWords []int   `json:"ptr_words"`
	MaskFrom string  `json:"mask_source"`
	Fields   []field `json:"fields,omitempty"`
}

type field struct {
	Name   string  `json:"name"`
	Offset uintptr `json:"offset"`
}

var out []entry

// extra holds more types to print after the built-in ones: tests/test_types.py
// compiles this file together with a generated one whose init functions append to it.
var extra []func()

// keep holds one heap object of each on-demand type so a GC builds its mask.
var keep []any

// add records type T. offsets, when given, returns unsafe.Offsetof of every field in
// declaration order; it is cross-checked against reflect's field offsets.
func add[T any](label string, offsets func(x *T) []uintptr) {
	var z T
	rt := reflect.TypeFor[T]()
	// The first word of an interface holding a T is T's *abi.Type. An interface-typed
	// z converts to a nil any, so for interface types take the descriptor from the
	// reflect.Type instead: its data word is a *reflect.rtype, which starts with abi.Type.
	t := (*abiType)((*[2]unsafe.Pointer)(unsafe.Pointer(&rt))[1])
	if rt.Kind() != reflect.Interface {
		var a any = z
		if d := (*abiType)((*[2]unsafe.Pointer)(unsafe.Pointer(&a))[0]); d != t {
			panic(label + ": interface type word and reflect.Type disagree")
		}
	}

	e := entry{
		Label:    label,
		String:   rt.String(),
		Kind:     rt.Kind().String(),
		Size:     unsafe.Sizeof(z),
		Align:    unsafe.Alignof(z),
		FieldAl:  t.FieldAlign_,
		PtrBytes: t.PtrBytes,
		PtrWords: []int{},
	}
	if t.Size_ != e.Size || uintptr(t.Align_) != e.Align || uintptr(rt.Align()) != e.Align {
		panic(label + ": abi.Type disagrees with unsafe.Sizeof/Alignof; is abiType out of date?")
	}

	nwords := int(t.PtrBytes / 8)
	var mask *byte
	switch {
	case nwords == 0:
		e.MaskFrom = "gcdata"
	case t.TFlag&tflagGCMaskOnDemand == 0:
		mask = t.GCData
		e.MaskFrom = "gcdata"
	default:
		// The mask is built at run time the first time the GC scans such an object.
		slot := (*unsafe.Pointer)(unsafe.Pointer(t.GCData))
		if *slot == nil {
			keep = append(keep, new(T))
			runtime.GC()
		}
		if *slot != nil {
			mask = (*byte)(*slot)
			e.MaskFrom = "gcdata-on-demand"
		}
	}
	if mask != nil {
		bits := unsafe.Slice(mask, (nwords+7)/8)
		for i := 0; i < nwords; i++ {
			if bits[i/8]>>(i%8)&1 != 0 {
				e.PtrWords = append(e.PtrWords, i)
			}
		}
	} else if nwords > 0 {
		// Not readable from the descriptor: compute it the way the compiler does.
		e.MaskFrom = "reflect"
		e.PtrWords = reflectMask(rt, 0, nil)
	}

	if rt.Kind() == reflect.Struct {
		var offs []uintptr
		if offsets != nil {
			offs = offsets(new(T))
			if len(offs) != rt.NumField() {
				panic(label + ": offsets func does not list every field")
			}
		}
		for i := 0; i < rt.NumField(); i++ {
			f := rt.Field(i)
			if offs != nil && offs[i] != f.Offset {
				panic(label + "." + f.Name + ": unsafe.Offsetof disagrees with reflect")
			}
			e.Fields = append(e.Fields, field{f.Name, f.Offset})
		}
	}
	out = append(out, e)
}

// reflectMask lists the pointer words of a value of type t at byte offset base.
func reflectMask(t reflect.Type, base uintptr, words []int) []int {
	switch t.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Chan, reflect.Func, reflect.UnsafePointer,
		reflect.String, reflect.Slice:
		return append(words, int(base/8))
	case reflect.Interface:
		return append(words, int(base/8), int(base/8)+1)
	case reflect.Array:
		for i := 0; i < t.Len(); i++ {
			words = reflectMask(t.Elem(), base+uintptr(i)*t.Elem().Size(), words)
		}
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			words = reflectMask(t.Field(i).Type, base+t.Field(i).Offset, words)
		}
	}
	return words
}

func offs(o ...uintptr) []uintptr { return o }

func main() {
	// Predeclared types.
	add[bool]("bool", nil)
	add[int]("int", nil)
	add[int8]("int8", nil)
	add[int16]("int16", nil)
	add[int32]("int32", nil)
	add[int64]("int64", nil)
	add[uint]("uint", nil)
	add[uint8]("uint8", nil)
	add[uint16]("uint16", nil)
	add[uint32]("uint32", nil)
	add[uint64]("uint64", nil)
	add[uintptr]("uintptr", nil)
	add[float32]("float32", nil)
	add[float64]("float64", nil)
	add[complex64]("complex64", nil)
	add[complex128]("complex128", nil)
	add[string]("string", nil)
	add[unsafe.Pointer]("unsafe.Pointer", nil)
	add[any]("any", nil)
	add[error]("error", nil)

	// Unnamed composite types.
	add[*Node]("*Node", nil)
	add[[]uint8]("[]uint8", nil)
	add[[5]int64]("[5]int64", nil)
	add[[0]int]("[0]int", nil)
	add[[3]any]("[3]any", nil)
	add[[2]complex64]("[2]complex64", nil)
	add[[4][3]*int]("[4][3]*int", nil)
	add[[3]string]("[3]string", nil)
	add[map[string]int]("map[string]int", nil)
	add[chan int]("chan int", nil)
	add[<-chan int]("<-chan int", nil)
	add[chan<- []string]("chan<- []string", nil)
	add[func(*Node, int)]("func(*Node, int)", nil)
	add[func(...*Node)]("func(...*Node)", nil)
	add[func(*Node) (int, error)]("func(*Node) (int, error)", nil)
	add[func(any) [4]int64]("func(any) [4]int64", nil)
	add[func()]("func()", nil)
	add[interface{ String() string }]("interface{String() string}", nil)
	add[interface {
		String() string
		m(int, ...string) (bool, error)
		Close() error
	}]("interface{String; m; Close}", nil)
	add[struct{}]("struct{}", nil)
	add[struct {
		a int8
		b string
	}]("struct{a int8; b string}", nil)

	// Named types.
	add[Tint]("Tint", nil)
	add[Tintptr]("Tintptr", nil)
	add[Tinter]("Tinter", nil)
	add[*Tint]("*Tint", nil)

	// Structs.
	add("Mixed", func(x *Mixed) []uintptr {
		return offs(unsafe.Offsetof(x.a), unsafe.Offsetof(x.b), unsafe.Offsetof(x.c), unsafe.Offsetof(x.d),
			unsafe.Offsetof(x.e), unsafe.Offsetof(x.f), unsafe.Offsetof(x.g))
	})
	add("Padded", func(x *Padded) []uintptr {
		return offs(unsafe.Offsetof(x.a), unsafe.Offsetof(x.b), unsafe.Offsetof(x.c))
	})
	add("C64", func(x *C64) []uintptr {
		return offs(unsafe.Offsetof(x.a), unsafe.Offsetof(x.b), unsafe.Offsetof(x.c), unsafe.Offsetof(x.d))
	})
	add("Node", func(x *Node) []uintptr {
		return offs(unsafe.Offsetof(x.next), unsafe.Offsetof(x.id), unsafe.Offsetof(x.pad))
	})
	add("StrSl", func(x *StrSl) []uintptr {
		return offs(unsafe.Offsetof(x.n), unsafe.Offsetof(x.s), unsafe.Offsetof(x.b), unsafe.Offsetof(x.m),
			unsafe.Offsetof(x.t))
	})
	add("Ifaces", func(x *Ifaces) []uintptr {
		return offs(unsafe.Offsetof(x.x), unsafe.Offsetof(x.e), unsafe.Offsetof(x.r), unsafe.Offsetof(x.n))
	})
	add("EndsZero", func(x *EndsZero) []uintptr {
		return offs(unsafe.Offsetof(x.a), unsafe.Offsetof(x.z))
	})
	add("EndsZeroArr", func(x *EndsZeroArr) []uintptr {
		return offs(unsafe.Offsetof(x.a), unsafe.Offsetof(x.z))
	})
	add("OnlyZero", func(x *OnlyZero) []uintptr { return offs(unsafe.Offsetof(x.z)) })
	add("Empty", func(x *Empty) []uintptr { return offs() })
	add("ZeroArrs", func(x *ZeroArrs) []uintptr {
		return offs(unsafe.Offsetof(x.a), unsafe.Offsetof(x.b), unsafe.Offsetof(x.c))
	})
	add("Inner", func(x *Inner) []uintptr { return offs(unsafe.Offsetof(x.x), unsafe.Offsetof(x.p)) })
	add("Nested", func(x *Nested) []uintptr {
		return offs(unsafe.Offsetof(x.a), unsafe.Offsetof(x.b), unsafe.Offsetof(x.c))
	})
	add("Bools", func(x *Bools) []uintptr {
		return offs(unsafe.Offsetof(x.a), unsafe.Offsetof(x.b), unsafe.Offsetof(x.c), unsafe.Offsetof(x.d),
			unsafe.Offsetof(x.e), unsafe.Offsetof(x.f), unsafe.Offsetof(x.g))
	})
	add("Funcs", func(x *Funcs) []uintptr {
		return offs(unsafe.Offsetof(x.f), unsafe.Offsetof(x.c), unsafe.Offsetof(x.u), unsafe.Offsetof(x.up),
			unsafe.Offsetof(x.m))
	})
	add("Tail", func(x *Tail) []uintptr { return offs(unsafe.Offsetof(x.x), unsafe.Offsetof(x.data)) })
	add("Big", func(x *Big) []uintptr { return offs(unsafe.Offsetof(x.n), unsafe.Offsetof(x.arr)) })
	add("Floats", func(x *Floats) []uintptr {
		return offs(unsafe.Offsetof(x.a), unsafe.Offsetof(x.b), unsafe.Offsetof(x.c), unsafe.Offsetof(x.d),
			unsafe.Offsetof(x.e), unsafe.Offsetof(x.f), unsafe.Offsetof(x.g), unsafe.Offsetof(x.h))
	})
	add[[2]Bools]("[2]Bools", nil)
	add[[3]Tail]("[3]Tail", nil)
	add[[40]Node]("[40]Node", nil)

	for _, f := range extra {
		f()
	}

	runtime.KeepAlive(keep)
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", " ")
	if err := enc.Encode(map[string]any{"go": runtime.Version(), "goarch": runtime.GOARCH, "types": out}); err != nil {
		panic(err)
	}
}
