// Command tracecorpus runs one of a few typical Go program shapes under runtime/trace
// with GODEBUG=traceallocfree=1 and prints its own MemStats deltas (NumGC) as JSON: the
// corpus the trace death models are compared on (tests/tracecorpus.py).
//
//	tracecorpus SHAPE TRACE_FILE
//
// The trace is started first, the MemStats read right after and again at the end (the
// measured window), then the trace is stopped. Shapes:
//
//	sessions  4 goroutines under a mutex build Session structs (fmt.Sprintf,
//	          strings.Repeat, appends, small maps) into a 5000-entry map cache with eviction
//	handler   a request handler: short-lived []byte bodies and strings per request, a
//	          long-lived 20000-entry LRU (container/list + map) of responses
//	pool      a worker pool: a producer sends *job through a channel to 4 workers, which
//	          send *result to a collector that keeps the last 4096
//	batch     a batch job: builds a 300000-entry map of records, aggregates it, drops it
//	          (three times), with small garbage between
//	requests  3 goroutines serve requests that each build a request-scoped search tree
//	          of 500-12000 nodes (with payloads, an index map, log strings), walk it and
//	          drop it whole at the request's end: objects that die together, in batches
//	          of every size, interleaved between goroutines
//	evict     a two-generation cache: entries go into the current map; at 40000 the old
//	          generation (minus the entries promoted from it) is dropped at once and the
//	          current becomes the old; per lookup a temporary key and some log garbage
package main

import (
	"bytes"
	"container/list"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"runtime/trace"
	"strconv"
	"strings"
	"sync"
)

var sink any

type rng uint64

func (r *rng) next() uint64 {
	x := uint64(*r)
	x ^= x << 13
	x ^= x >> 7
	x ^= x << 17
	*r = rng(x)
	return x
}

func (r *rng) intn(n int) int { return int(r.next() % uint64(n)) }

type Session struct {
	ID    string
	Tags  []string
	Attrs map[string]int
	Next  *Session
}

func sessions() {
	cache := map[string]*Session{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 20000; i++ {
				s := &Session{ID: fmt.Sprintf("s-%d-%d", w, i), Attrs: map[string]int{}}
				for j := 0; j < i%7; j++ {
					s.Tags = append(s.Tags, strings.Repeat("t", j+1))
					s.Attrs[s.Tags[j]] = j
				}
				mu.Lock()
				cache[s.ID] = s
				if len(cache) > 5000 {
					for k := range cache {
						delete(cache, k)
						break
					}
				}
				mu.Unlock()
			}
		}(w)
	}
	wg.Wait()
	sink = cache
}

type entry struct {
	key  string
	resp []byte
}

type lru struct {
	ll  *list.List
	m   map[string]*list.Element
	cap int
}

func (c *lru) get(k string) ([]byte, bool) {
	if e, ok := c.m[k]; ok {
		c.ll.MoveToFront(e)
		return e.Value.(*entry).resp, true
	}
	return nil, false
}

func (c *lru) put(k string, v []byte) {
	if e, ok := c.m[k]; ok {
		e.Value.(*entry).resp = v
		c.ll.MoveToFront(e)
		return
	}
	c.m[k] = c.ll.PushFront(&entry{k, v})
	if c.ll.Len() > c.cap {
		old := c.ll.Back()
		c.ll.Remove(old)
		delete(c.m, old.Value.(*entry).key)
	}
}

func handler() {
	r := rng(0x9E3779B97F4A7C15)
	c := &lru{ll: list.New(), m: map[string]*list.Element{}, cap: 20000}
	for i := 0; i < 150000; i++ {
		body := make([]byte, 256+r.intn(4096)) // the request body
		for j := range body {
			body[j] = 'a' + byte(j%26)
		}
		key := "/item/" + strconv.Itoa(r.intn(60000))
		fields := strings.Split(string(body[:64]), "k") // parsing garbage
		if resp, ok := c.get(key); ok {
			sink = resp
			continue
		}
		var buf bytes.Buffer
		fmt.Fprintf(&buf, `{"key":%q,"n":%d,"fields":%d,"body":"`, key, i, len(fields))
		buf.Write(body[:r.intn(len(body))])
		buf.WriteString(`"}`)
		resp := append([]byte(nil), buf.Bytes()...)
		c.put(key, resp)
	}
	sink = c
}

type job struct {
	id      int
	payload []byte
	meta    map[string]string
}

type result struct {
	id   int
	sum  uint64
	note string
}

func pool() {
	jobs := make(chan *job, 64)
	results := make(chan *result, 64)
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				var s uint64
				for _, b := range j.payload {
					s += uint64(b)
				}
				results <- &result{id: j.id, sum: s, note: "job " + strconv.Itoa(j.id) + " " + j.meta["k"]}
			}
		}()
	}
	done := make(chan struct{})
	go func() {
		keep := make([]*result, 4096)
		n := 0
		for res := range results {
			keep[n%len(keep)] = res
			n++
		}
		sink = keep
		close(done)
	}()
	r := rng(0x2545F4914F6CDD1D)
	for i := 0; i < 200000; i++ {
		jobs <- &job{id: i, payload: make([]byte, 64+r.intn(2048)),
			meta: map[string]string{"k": strconv.Itoa(i % 97)}}
	}
	close(jobs)
	wg.Wait()
	close(results)
	<-done
}

type rec struct {
	name  string
	vals  []float64
	group int
}

func batch() {
	r := rng(0xD1B54A32D192ED03)
	for round := 0; round < 3; round++ {
		m := make(map[int]*rec)
		for i := 0; i < 300000; i++ {
			m[i] = &rec{name: "rec-" + strconv.Itoa(i), vals: make([]float64, 1+r.intn(8)),
				group: r.intn(100)}
		}
		sums := make(map[int]float64)
		for _, v := range m {
			for _, x := range v.vals {
				sums[v.group] += x + 1
			}
		}
		sink = sums
		m = nil
		for i := 0; i < 100000; i++ { // between batches: small garbage
			sink = strconv.Itoa(i) + "x"
		}
	}
}

type node struct {
	left, right *node
	key         int
	val         []byte
}

func insert(root **node, n *node) {
	p := root
	for *p != nil {
		if n.key < (*p).key {
			p = &(*p).left
		} else {
			p = &(*p).right
		}
	}
	*p = n
}

func walk(n *node) (s int) {
	for n != nil {
		s += len(n.val) + walk(n.left)
		n = n.right
	}
	return s
}

func requests() {
	var wg sync.WaitGroup
	for w := 0; w < 3; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			r := rng(0x9E3779B97F4A7C15 + uint64(w)*0x632BE59BD9B4E019)
			for i := 0; i < 40; i++ {
				n := 500 + r.intn(11500)
				var root *node
				index := map[int]*node{}
				var log []string
				for j := 0; j < n; j++ {
					nd := &node{key: r.intn(1 << 30), val: make([]byte, 16+r.intn(240))}
					insert(&root, nd)
					if j%8 == 0 {
						index[nd.key] = nd
					}
					if j%64 == 0 {
						log = append(log, fmt.Sprintf("req %d/%d node %d", w, i, j))
					}
					sink = strconv.Itoa(j) // per-node temporary
				}
				sink = walk(root) + len(index) + len(log)
			}
		}(w)
	}
	wg.Wait()
}

type item struct {
	key  string
	data []byte
	hits int
}

func evict() {
	r := rng(0xA0761D6478BD642F)
	cur, old := map[string]*item{}, map[string]*item{}
	for i := 0; i < 400000; i++ {
		k := "k" + strconv.Itoa(r.intn(1<<17)) // a temporary key
		it, ok := cur[k]
		if !ok {
			if it, ok = old[k]; ok {
				delete(old, k) // promoted: survives the old generation's drop
			} else {
				it = &item{key: k, data: make([]byte, 32+r.intn(480))}
			}
			cur[k] = it
		}
		it.hits++
		if i%16 == 0 {
			sink = fmt.Sprintf("get %s hits=%d", k, it.hits)
		}
		if len(cur) >= 40000 { // the old generation dies at once
			old, cur = cur, make(map[string]*item)
		}
	}
	sink = old
	sink = cur
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: tracecorpus sessions|handler|pool|batch|requests|evict TRACE_FILE")
		os.Exit(2)
	}
	work := map[string]func(){"sessions": sessions, "handler": handler, "pool": pool,
		"batch": batch, "requests": requests, "evict": evict}[os.Args[1]]
	if work == nil {
		fmt.Fprintln(os.Stderr, "unknown shape", os.Args[1])
		os.Exit(2)
	}
	f, err := os.Create(os.Args[2])
	if err != nil {
		panic(err)
	}
	var m0, m1 runtime.MemStats
	if err := trace.Start(f); err != nil {
		panic(err)
	}
	runtime.ReadMemStats(&m0)
	work()
	runtime.ReadMemStats(&m1)
	trace.Stop()
	if err := f.Close(); err != nil {
		panic(err)
	}
	json.NewEncoder(os.Stdout).Encode(struct {
		Mallocs, TotalAlloc, NumGC, NumForcedGC uint64
	}{m1.Mallocs - m0.Mallocs, m1.TotalAlloc - m0.TotalAlloc, uint64(m1.NumGC - m0.NumGC),
		uint64(m1.NumForcedGC - m0.NumForcedGC)})
}
