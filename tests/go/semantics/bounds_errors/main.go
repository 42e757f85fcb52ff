// Go's runtime error messages for out-of-range slice expressions and indexes on a slice
// with len 3, cap 8 (runtime/error.go: boundsError). Used by tests/test_handles.py, which
// reads the recorded output below: one line per expression, "expr -> message" (<nil>: ok).
package main

import "fmt"

func slice(lo, hi int) {
	defer func() { fmt.Printf("s[%d:%d] -> %v\n", lo, hi, recover()) }()
	s := make([]int, 3, 8)
	_ = s[lo:hi]
}

func sliceLo(lo int) {
	defer func() { fmt.Printf("s[%d:] -> %v\n", lo, recover()) }()
	s := make([]int, 3, 8)
	_ = s[lo:]
}

func sliceHi(hi int) {
	defer func() { fmt.Printf("s[:%d] -> %v\n", hi, recover()) }()
	s := make([]int, 3, 8)
	_ = s[:hi]
}

func index(i int) {
	defer func() { fmt.Printf("s[%d] -> %v\n", i, recover()) }()
	s := make([]int, 3, 8)
	_ = s[i]
}

func main() {
	for _, p := range [][2]int{{2, 100}, {5, 4}, {-1, 2}, {2, -1}, {-1, -1}, {9, 100}, {4, 3},
		{0, 8}, {8, 8}, {3, 8}, {9, 9}, {-5, 100}} {
		slice(p[0], p[1])
	}
	for _, lo := range []int{5, 9, -2, 3, 0} {
		sliceLo(lo)
	}
	for _, hi := range []int{9, -3, 5, 8, 0} {
		sliceHi(hi)
	}
	for _, i := range []int{3, -1, 100, 0, 2} {
		index(i)
	}
}

// GOTOOLCHAIN=local go run main.go (go1.27.3 linux/amd64):
//
// s[2:100] -> runtime error: slice bounds out of range [:100] with capacity 8
// s[5:4] -> runtime error: slice bounds out of range [5:4]
// s[-1:2] -> runtime error: slice bounds out of range [-1:]
// s[2:-1] -> runtime error: slice bounds out of range [:-1]
// s[-1:-1] -> runtime error: slice bounds out of range [:-1]
// s[9:100] -> runtime error: slice bounds out of range [:100] with capacity 8
// s[4:3] -> runtime error: slice bounds out of range [4:3]
// s[0:8] -> <nil>
// s[8:8] -> <nil>
// s[3:8] -> <nil>
// s[9:9] -> runtime error: slice bounds out of range [:9] with capacity 8
// s[-5:100] -> runtime error: slice bounds out of range [:100] with capacity 8
// s[5:] -> runtime error: slice bounds out of range [5:3]
// s[9:] -> runtime error: slice bounds out of range [9:3]
// s[-2:] -> runtime error: slice bounds out of range [-2:]
// s[3:] -> <nil>
// s[0:] -> <nil>
// s[:9] -> runtime error: slice bounds out of range [:9] with capacity 8
// s[:-3] -> runtime error: slice bounds out of range [:-3]
// s[:5] -> <nil>
// s[:8] -> <nil>
// s[:0] -> <nil>
// s[3] -> runtime error: index out of range [3] with length 3
// s[-1] -> runtime error: index out of range [-1]
// s[100] -> runtime error: index out of range [100] with length 3
// s[0] -> <nil>
// s[2] -> <nil>
