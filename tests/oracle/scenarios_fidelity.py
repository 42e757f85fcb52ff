"""Python twins of go/fidelity.go: the fidelity audit's programs (an LRU cache, a tree
dropped in phases with NextGC after each GC, a weak-pointer cache with cleanups,
finalizers on a list, large objects with FreeOSMemory, a worker pool), written with
goruntime's public API as a Go programmer would port them.
"""
from types import SimpleNamespace

from harness import Abs, Info
from scenarios import HEAP_TRIGGERED, QUEUE_METRICS, bysize_deltas, debug, mem_deltas, metrics, rt, scenario, weak
from scenarios_lang_port import NOISE, Snaps

MS = 1_000_000


def wait_queues():
    """Go's waitQueues as written: read the queue metrics, else time.Sleep(time.Millisecond)
    (main's first sleep allocates its timer and grows the P's timer heap, as in Go)."""
    s = [metrics.Sample(n) for n in QUEUE_METRICS]
    for _ in range(2000):
        metrics.Read(s)
        v = [x.Value.Uint64() for x in s]
        if v[0] == v[1] and v[2] == v[3]:
            return
        rt.Sleep(MS)


def spans(n, why):
    """HeapInuse noise of a program touching *n* small size classes: Go's start-up leaves
    a partially filled span in most of them, which the program's first objects fill
    without a new span; goruntime's heap starts with none (up to one 8 KiB span each)."""
    return Abs(n * 8192, f"{why} touches {n} size classes; Go's start-up leaves a partial span in most of "
                         "them, goruntime starts with none (up to one 8 KiB span per class)")


def span_bytes(sizes, why):
    """`spans` for objects of these *sizes*: up to one span of each one's class (a class
    of big objects has spans of several pages)."""
    n = sum(rt.sizeclass(b, pointers=True).span_pages for b in sizes)
    return Abs(n * 8192, f"{why} touches {len(sizes)} size classes ({n} pages of spans); Go's start-up leaves "
                         "partial spans in many of them, goruntime starts with none (up to one span per class)")


TIMED = {"*NumGC": HEAP_TRIGGERED}
# (a pattern that also matches a field every run has: the 16-byte object is not in every run)
RUNTIME_16B = Abs(1, "Go's runtime allocates (and frees) a 16-byte object of its own during some GCs "
                     "(recorded: BySize[2] 0 or 1)")


def noise_without(*patterns):
    """NOISE less the patterns of fields a scenario does not have (a tolerance names a field)."""
    return {k: v for k, v in NOISE.items() if k not in patterns}


def _types():
    T = getattr(_types, "T", None)
    if T is None:
        T = SimpleNamespace()
        T.lruEntry = rt.Struct("lruEntry", key=rt.Int, val=rt.Slice(rt.Byte), prev=rt.Ptr("lruEntry"),
                               next=rt.Ptr("lruEntry"))
        T.lruCache = rt.Struct("lruCache", capacity=rt.Int, m=rt.Map(rt.Int, rt.Ptr(T.lruEntry)),
                               head=rt.Ptr(T.lruEntry), tail=rt.Ptr(T.lruEntry), evicted=rt.Int)
        T.tnode = rt.Struct("tnode", left=rt.Ptr("tnode"), right=rt.Ptr("tnode"), depth=rt.Int,
                            pad=rt.Array(rt.Int, 3))
        T.wblob = rt.Struct("wblob", id=rt.Int, data=rt.Array(rt.Byte, 100))
        T.flNode = rt.Struct("flNode", id=rt.Int, next=rt.Ptr("flNode"), buf=rt.Array(rt.Byte, 40))
        T.wjob = rt.Struct("wjob", id=rt.Int, data=rt.Slice(rt.Int))
        T.wres = rt.Struct("wres", id=rt.Int, sum=rt.Int, tag=rt.Slice(rt.Byte))
        T.WaitGroup = rt.Struct("WaitGroup", package="sync", state=rt.Uint64, sema=rt.Uint32)
        _types.T = T
    return T


# ---------------------------------------------------------------------------
# LRU cache

class LRU:
    """Go's *lruCache methods over the heap struct *c*."""

    def __init__(self, c):
        self.c = c

    def unlink(self, e):
        c = self.c
        prev, nxt = e.prev, e.next
        if prev is not None:
            prev.next = nxt
        else:
            c.head = nxt
        if nxt is not None:
            nxt.prev = prev
        else:
            c.tail = prev
        e.prev = e.next = None

    def push_front(self, e):
        c = self.c
        e.next = c.head
        if c.head is not None:
            c.head.prev = e
        c.head = e
        if c.tail is None:
            c.tail = e

    def get(self, k):
        e = self.c.m.get(k)
        if e is not None:
            self.unlink(e)
            self.push_front(e)
        return e

    def put(self, k, size, T):
        c = self.c
        m = c.m
        e = m.get(k)
        if e is not None:
            e.val = rt.make(rt.Slice(rt.Byte), size)
            self.unlink(e)
            self.push_front(e)
            return
        e = rt.new(T.lruEntry)
        e.key = k
        e.val = rt.make(rt.Slice(rt.Byte), size)
        m[k] = e
        self.push_front(e)
        if len(m) > c.capacity:
            old = c.tail
            self.unlink(old)
            del m[old.key]
            c.evicted += 1


LRU_METRICS = ("/gc/heap/allocs:objects", "/gc/heap/frees:objects", "/gc/heap/objects:objects",
               "/gc/heap/allocs:bytes", "/gc/heap/frees:bytes")


@scenario(tol={**NOISE, **TIMED, "*HeapInuse": spans(40, "the LRU's values (16..1515 bytes) and map")})
def fid_lru():
    T = _types()
    samples = [metrics.Sample(n) for n in LRU_METRICS]
    s = Snaps()
    s.gcsnap("start")
    metrics.Read(samples)
    before = [x.Value.Uint64() for x in samples]
    c = rt.new(T.lruCache)
    c.capacity = 400
    c.m = rt.make(rt.Map(rt.Int, rt.Ptr(T.lruEntry)))
    lru = LRU(c)
    hits = 0
    for i in range(3000):
        lru.put(i % 1000, 16 + (i * 37) % 1500, T)
        if i % 3 == 0 and lru.get((i * 7) % 1000) is not None:
            hits += 1
    s.snap("fill")
    metrics.Read(samples)
    after = [x.Value.Uint64() for x in samples]
    s.gcsnap("gc_full")
    c.capacity = 100
    m = c.m
    while c.tail is not None and len(m) > c.capacity:
        old = c.tail
        lru.unlink(old)
        del m[old.key]
        c.evicted += 1
    old = None
    s.snap("shrink")
    s.gcsnap("gc_shrunk")
    len_shrunk, ev = len(m), c.evicted
    c = m = lru = None
    s.gcsnap("drop")
    res = s.result()
    res["hits"] = hits
    res["evicted"] = ev
    res["len_shrunk"] = len_shrunk
    res["metrics"] = {n: a - b for n, a, b in zip(LRU_METRICS, after, before)}
    return res


# ---------------------------------------------------------------------------
# a tree dropped in phases

def _build(T, d):
    n = rt.new(T.tnode)
    if d:
        n.left = _build(T, d - 1)
        n.right = _build(T, d - 1)
        n.depth = d
    return n


TREE_TOL = {
    "NextGC.setgcpercent50": Abs(400 << 10, "GOGC 100 -> 50 lowers the goal by (marked + stack + globals)/2: Go's "
                                            "globals are this binary's 557 KB of data+BSS, and its marked heap has "
                                            "~180 KB of its own"),
    "NextGC.*": Abs(128, "Go's runtime allocates a few small objects of its own (one 16-byte object during some "
                         "GCs) and the goal is twice the marked heap (recorded: 56 or -36 after a GC at GOGC=50)"),
    **noise_without("*BySizeFrees.2"), **TIMED}


@scenario(tol=TREE_TOL)
def fid_tree_phases():
    T = _types()
    s = Snaps()
    goals = []
    s.gcsnap("start")
    goals.append(s.ms[-1][1].NextGC)
    tree = _build(T, 17)
    s.snap("build")
    s.gcsnap("gc_built")
    goals.append(s.ms[-1][1].NextGC)
    tree.left = None
    s.gcsnap("drop_left")
    goals.append(s.ms[-1][1].NextGC)
    tree.right.right = None
    s.gcsnap("drop_right_right")
    goals.append(s.ms[-1][1].NextGC)
    debug.SetGCPercent(50)
    goals.append(rt.ReadMemStats().NextGC)
    s.gcsnap("gc_gogc50")
    goals.append(s.ms[-1][1].NextGC)
    debug.SetGCPercent(100)
    tree = None
    s.gcsnap("drop_all")
    goals.append(s.ms[-1][1].NextGC)
    res = s.result()
    res["NextGC"] = {
        "drop_left": goals[2] - goals[1],
        "drop_right_right": goals[3] - goals[2],
        "setgcpercent50": goals[4] - goals[3],
        "gc_gogc50": goals[5] - goals[4],
        "drop_all_minus_start": goals[6] - goals[0],
    }
    return res


# ---------------------------------------------------------------------------
# a weak-pointer cache

LATE_BLOCK = ("Go runs the last cleanup block (flushed when the sweep ends) after runtime.GC returns, so its "
              "waitQueues sleeps once: main's timer (96 B) and the P's timer heap (16 B, 32 B when it grows); "
              "goruntime's runtime.GC yields after the whole sweep and every cleanup has run (recorded: 20 of 20 "
              "runs)")


CLEANUP_ALLOCS = Info(LATE_BLOCK + "; Go also starts more cleanup goroutines (480-byte g and their "
                                   "1152-byte objects) when blocks wait, in some runs: what the GCs with cleanups "
                                   "allocate is timing, their frees, order and the map are exact")


@scenario(tol={f"{gc}.{f}": CLEANUP_ALLOCS for gc in ("gc1", "gc2")
               for f in ("BySize.*", "Mallocs", "TotalAlloc", "HeapAlloc", "HeapObjects")} | NOISE)
def fid_weak_cache():
    T = _types()
    # Go: map[int]weak.Pointer[wblob]. A weak.Pointer cannot be stored in a heap map,
    # so the port keeps the pointers in a dict beside an int-valued map of the same
    # slot size (8-byte key, 8-byte value), updated in step.
    cache = rt.make(rt.Map(rt.Int, rt.Int))
    wps = {}
    events = []

    def cleanup(i):
        if i in wps and wps[i].Value() is None:
            del cache[i]
            del wps[i]
        events.append(i)

    def get(i):
        w = wps.get(i)
        if w is not None:
            b = w.Value()
            if b is not None:
                return b
        b = rt.new(T.wblob)
        b.id = i
        wps[i] = weak.Make(b)
        cache[i] = 0
        rt.AddCleanup(b, cleanup, i)
        return b

    strong = rt.Slice(rt.Ptr(T.wblob))
    s = Snaps()
    s.gcsnap("start")
    for i in range(60):
        b = get(i)
        if i % 4 == 0:
            strong = rt.append(strong, b)
    b = None
    s.snap("fill")
    n0 = len(cache)
    rt.GC()
    wait_queues()
    ev1, events[:] = list(events), []
    s.snap("gc1")
    n1 = len(cache)
    again = sum(get(i) == strong[i // 4] for i in range(0, 60, 4))
    s.snap("lookup_kept")
    strong = None
    rt.GC()
    wait_queues()
    ev2, events[:] = list(events), []
    s.snap("gc2")
    n2 = len(cache)
    cache = None
    wps.clear()
    s.gcsnap("drop")
    res = s.result()
    res["len"] = [n0, n1, n2]
    res["again"] = again
    res["events1"] = ev1
    res["events2"] = ev2
    return res


# ---------------------------------------------------------------------------
# finalizers on a list

@scenario(tol=noise_without("*BySizeFrees.2"))
def fid_fin_list():
    T = _types()
    events = []
    st = SimpleNamespace(saved=rt.Slice(rt.Ptr(T.flNode)))   # Go: var flSaved []*flNode

    def fin(n):
        events.append(n.id)
        if n.id == 3:
            st.saved = rt.append(st.saved, n)    # resurrect: n and its tail live again

    def setup():
        prev = None
        for i in range(9, -1, -1):
            n = rt.new(T.flNode)
            n.id = i
            n.next = prev
            if i % 2 == 1 or i == 0:
                rt.SetFinalizer(n, fin)
            prev = n
        n = prev
        while n is not None and n.id != 5:
            n = n.next
        rt.SetFinalizer(n, None)
        rt.SetFinalizer(prev.next.next, fin)
        return prev

    s = Snaps()
    s.gcsnap("start")
    head = setup()
    s.snap("setup")
    head = None  # noqa: F841 (drops the root)
    out = {}
    for i in range(1, 7):
        rt.GC()
        wait_queues()
        out[f"cycle{i}"], events[:] = list(events), []
        if i == 4:
            st.saved = None
    s.snap("cycles")
    res = s.result()
    res["events"] = out
    return res


# ---------------------------------------------------------------------------
# large objects, FreeOSMemory

FREE_OS = Abs(256 << 10, "FreeOSMemory releases every free page, Go's own too: pages of its start-up spans "
                         "freed by earlier GCs (recorded: 96..136 KiB more than the program freed)")
PAGES = Abs(64 << 10, "Go's own spans (goroutine stacks in 32 KiB spans, its start-up objects) come from "
                      "the same page heap; the background scavenger releases by time (recorded: 0 or 32 KiB)")


@scenario(tol={"pages.free_os.HeapReleased": FREE_OS, "pages.free_os.idle_minus_released": FREE_OS,
               "pages.*": PAGES, **noise_without("*BySize.2", "*BySizeFrees.2"), **TIMED,
               "*BySize*": RUNTIME_16B})
def fid_large_release():
    sizes = [40000, 33 << 10, 100000, 1 << 20, 3 << 20, 65536, 200 << 10, 50000]
    bigs = rt.make(rt.Slice(rt.Slice(rt.Byte)), 0, 16)
    s = Snaps()
    s.gcsnap("start")
    for n in sizes:
        bigs = rt.append(bigs, rt.make(rt.Slice(rt.Byte), n))
    s.snap("alloc")
    for i in range(len(bigs)):
        if i % 2 == 0:
            bigs[i] = None
    s.gcsnap("drop_half")
    debug.FreeOSMemory()
    s.snap("free_os")
    for i in range(len(bigs)):
        if i % 2 == 0:
            bigs[i] = rt.make(rt.Slice(rt.Byte), sizes[i])
    s.snap("realloc")
    bigs = None
    s.gcsnap("drop_all")
    pages = {}
    for (_, a), (label, b) in zip(s.ms, s.ms[1:]):
        pages[label] = {"HeapIdle": b.HeapIdle - a.HeapIdle,
                        "HeapReleased": b.HeapReleased - a.HeapReleased, "HeapSys": b.HeapSys - a.HeapSys,
                        "idle_minus_released": (b.HeapIdle - b.HeapReleased) - (a.HeapIdle - a.HeapReleased)}
    res = s.result()
    res["pages"] = pages
    return res


# ---------------------------------------------------------------------------
# a worker pool over buffered channels

@scenario(tol={"gc_kept.BySizeFrees.6": Abs(1, "Go's start-up allgs array (8 x *g, 64 bytes) is freed by the "
                                               "first GC after allgs outgrew it; goruntime's start-up state is "
                                               "not on its heap (proc.py)"),
               "gc_kept.Frees": Abs(1, "Go frees its start-up allgs array (proc.py)"),
               "gc_kept.HeapObjects": Abs(1, "Go frees its start-up allgs array (proc.py)"),
               "gc_kept.HeapAlloc": Abs(64, "Go frees its start-up allgs array, 64 bytes (proc.py)"),
               **NOISE, "*HeapInuse": spans(24, "the worker pool")})
def fid_workers():
    T = _types()
    s = Snaps()
    s.gcsnap("start")
    jobs = rt.make(rt.ChanType(T.wjob), 4)
    results = rt.make(rt.ChanType(T.wres), 4)
    wg = rt.WaitGroup()
    # Go: `var wg sync.WaitGroup` escapes (closed over by a goroutine): a 16-byte heap
    # object. rt.WaitGroup is a Python object, so the port allocates its twin.
    wg_box = rt.new(T.WaitGroup)

    def worker(jobs, results, wg):
        for j in jobs:
            total = sum(j["data"][k] for k in range(len(j["data"])))
            results.send({"id": j["id"], "sum": total, "tag": rt.make(rt.Slice(rt.Byte), 8 + j["id"] % 40)})
        wg.Done()

    for _ in range(3):
        wg.Add(1)
        rt.go(worker, jobs, results, wg)

    def producer():
        for i in range(120):
            d = rt.make(rt.Slice(rt.Int), 5 + i % 30)
            for k in range(len(d)):
                d[k] = i + k
            jobs.send({"id": i, "data": d})
        jobs.close()

    def closer(wg_box):
        wg.Wait()
        results.close()

    rt.go(rt.closure(producer))
    rt.go(rt.closure(closer, wg_box))               # go func() { wg.Wait(); ... }: captures &wg
    wg_box = None                                   # main's last use of &wg (Go's liveness)
    total = 0
    keep = rt.Slice(T.wres)
    for r in results:
        total += r["sum"]
        if r["id"] % 10 == 0:
            keep = rt.append(keep, r)
    r = None
    s.snap("run")
    s.gcsnap("gc_kept")
    kept = len(keep)
    keep = jobs = results = None
    s.gcsnap("drop")
    res = s.result()
    res["total"] = total
    res["kept"] = kept
    return res


@scenario(tol=TREE_TOL, runtime={"godebug": "gcstoptheworld=1"})
def fid_tree_stw():
    """fid_tree_phases under GODEBUG=gcstoptheworld=1: every cycle, the heap-triggered
    ones too, completes inside the allocation that started it, so NumGC is exact."""
    return fid_tree_phases()


# ---------------------------------------------------------------------------
# strings

@scenario(tol={**NOISE, "*HeapInuse": spans(24, "the builder's and the concatenations' sizes")})
def fid_strings():
    caps = []
    s = Snaps()
    s.gcsnap("start")
    sb = rt.Slice(rt.Byte)                   # strings.Builder: b.buf = append(b.buf, s...)
    mine = rt.Slice(rt.Byte)
    for i in range(1500):
        sb = rt.append(sb, *b"item")
        mine = rt.append(mine, *b"item")
        if not caps or mine.cap != caps[-1]:
            caps.append(mine.cap)
        d = i
        while True:
            c = ord("0") + d % 10
            sb = rt.append(sb, c)
            mine = rt.append(mine, c)
            if mine.cap != caps[-1]:
                caps.append(mine.cap)
            if d < 10:
                break
            d //= 10
        sb = rt.append(sb, ord(","))
        mine = rt.append(mine, ord(","))
        if mine.cap != caps[-1]:
            caps.append(mine.cap)
    s.snap("builder")
    text = rt.unsafe_string(sb)              # sb.String(): no copy
    sb = None
    s.snap("string")
    b = rt.bytes(text)
    s.snap("to_bytes")
    sub = rt.string(b[1000:1100])
    s.snap("sub_to_string")
    acc = ""
    for _ in range(200):
        acc = rt.concat(acc, "ab")
    s.snap("concat_loop")
    acc_len = len(acc)
    mine = text = b = None
    s.gcsnap("drop_builder")
    sub = acc = None  # noqa: F841 (drops the roots)
    s.gcsnap("drop_all")
    res = s.result()
    res["caps"] = caps
    res["acc_len"] = acc_len
    return res


# ---------------------------------------------------------------------------
# a map churned below one table's capacity

@scenario(tol={**noise_without("*BySize.2", "*BySizeFrees.2"), "*BySize*": RUNTIME_16B, "*HeapInuse": span_bytes([8, 32, 48, 144, 288, 576, 1152, 2304, 4864, 9472, 18432],
                                                  "the map's tables and items")})
def fid_map_churn():
    item = rt.Struct("mcItem", id=rt.Int, buf=rt.Array(rt.Byte, 24))

    def new(i):
        p = rt.new(item)
        p.id = i
        return p

    s = Snaps()
    s.gcsnap("start")
    m = rt.make(rt.Map(rt.Int, rt.Ptr(item)))
    for i in range(800):
        m[i] = new(i)
    s.snap("fill")
    for i in range(700):
        del m[i]
    s.snap("delete")
    s.gcsnap("gc_deleted")
    for i in range(1000, 1090):
        m[i] = new(i)
    s.snap("insert_new")
    n1 = len(m)
    for i in range(700):
        m[i] = new(i)
    s.snap("insert_old")
    n2 = len(m)
    rt.clear(m)
    s.gcsnap("clear")
    m = None
    s.gcsnap("drop")
    res = s.result()
    res["lens"] = [n1, n2]
    return res


# ---------------------------------------------------------------------------
# runtime/metrics histograms

def _bucket(b):
    """Go's fmt.Sprint of a float64 bucket boundary."""
    if b == float("inf"):
        return "+Inf"
    if b == float("-inf"):
        return "-Inf"
    return str(int(b)) if b == int(b) else repr(b)


@scenario()
def fid_hist():
    T = _types()
    samples = [metrics.Sample("/gc/heap/allocs-by-size:bytes"), metrics.Sample("/gc/heap/frees-by-size:bytes")]
    keep = rt.make(rt.Slice(rt.Slice(rt.Byte)), 0, 300)
    ptrs = rt.make(rt.Slice(rt.Ptr(T.lruEntry)), 0, 100)
    rt.GC()
    metrics.Read(samples)
    a0 = list(samples[0].Value.Float64Histogram().Counts)
    f0 = list(samples[1].Value.Float64Histogram().Counts)
    buckets = samples[0].Value.Float64Histogram().Buckets
    for i in range(300):
        keep = rt.append(keep, rt.make(rt.Slice(rt.Byte), 1 + (i * i * 7) % 40000))
    for i in range(100):
        e = rt.new(T.lruEntry)
        e.key = i
        ptrs = rt.append(ptrs, e)
    e = None
    for i in range(len(keep)):
        if i % 2 == 1:
            keep[i] = None
    ptrs = ptrs[:10]
    rt.GC()
    metrics.Read(samples)
    a1 = samples[0].Value.Float64Histogram().Counts
    f1 = samples[1].Value.Float64Histogram().Counts
    allocs = {_bucket(buckets[i]): a1[i] - a0[i] for i in range(len(a1)) if a1[i] != a0[i]}
    frees = {_bucket(buckets[i]): f1[i] - f0[i] for i in range(len(f1)) if f1[i] != f0[i]}
    return {"allocs": allocs, "frees": frees}


# ---------------------------------------------------------------------------
# churn over a large live set at GOGC=25

CHURN_BYSIZE = Abs(1, "Go's runtime allocates a 16-byte object of its own during some GCs (recorded: "
                      "BySize[2] 0 or 1)")
CHURN_TOL = {
    "churn.NumGC": Abs(1, "heap-triggered cycles over 24000 x 8 KiB at GOGC=25 (runway ~10 MiB): Go's goal also "
                          "carries its binary's 557 KB of globals and ~180 KB of its own live heap (x 0.25)"),
    "churn_and_gc.NumGC": Abs(1, "the heap-triggered cycles (churn.NumGC) and the explicit one"),
    **noise_without("*BySize.2", "*BySizeFrees.2"), "churn_and_gc.BySize*": CHURN_BYSIZE}


def _churn():
    ring = rt.make(rt.Slice(rt.Slice(rt.Byte)), 5120)
    for i in range(5120):
        ring[i] = rt.make(rt.Slice(rt.Byte), 8192)
    old = debug.SetGCPercent(25)
    s = Snaps()
    s.gcsnap("start")
    for i in range(24000):
        ring[(i * 7) % 5120] = rt.make(rt.Slice(rt.Byte), 8192)
    s.snap("churn")
    s.gcsnap("gc")
    debug.SetGCPercent(old)
    ring = None  # noqa: F841 (drops the root)
    s.gcsnap("drop")
    res = s.result()
    m0, m2 = s.ms[0][1], s.ms[2][1]
    both = mem_deltas(m0, m2)
    both["BySize"] = bysize_deltas(m0, m2)
    both["BySizeFrees"] = bysize_deltas(m0, m2, True)
    return {"churn.NumGC": res["churn"]["NumGC"], "churn_and_gc": both, "drop": res["drop"]}


@scenario(tol={"churn.NumGC": HEAP_TRIGGERED, "churn_and_gc.NumGC": HEAP_TRIGGERED,
               **noise_without("*BySize.2", "*BySizeFrees.2"), "churn_and_gc.BySize*": CHURN_BYSIZE})
def fid_churn():
    return _churn()


@scenario(tol=CHURN_TOL, runtime={"godebug": "gcstoptheworld=1"})
def fid_churn_stw():
    """Every cycle completes inside the allocation that triggered it: NumGC is Go's
    trigger rule alone (no concurrent mark timing)."""
    return _churn()
