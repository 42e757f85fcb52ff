"""Python twins of go/fidelity2.go: the fidelity audit's second round (append growth of
element sizes 12..136 bytes, strings and interfaces and batches; records parsed into
structs; finalizers and cleanups on cycles and tiny objects; maps with indirect keys and
values, deletion and reinsertion, maps of maps), written with goruntime's public API as a
Go programmer would port them.
"""
from types import SimpleNamespace

import numpy as np

from harness import Abs
from scenarios import QUEUE_METRICS, bysize_deltas, mem_deltas, metrics, rt, scenario
from scenarios_fidelity import RUNTIME_16B, noise_without, wait_queues
from scenarios_lang import NOISE_BYSIZE, append_run
from scenarios_lang_port import NOISE, Snaps


def _types():
    T = getattr(_types, "T", None)
    if T is None:
        T = SimpleNamespace()
        T.e12 = rt.Named("e12", rt.Array(rt.Int32, 3))
        T.e20 = rt.Named("e20", rt.Array(rt.Int32, 5))
        T.e48 = rt.Struct("e48", p=rt.Ptr(rt.Int), a=rt.Array(rt.Int, 5))
        T.e56 = rt.Struct("e56", s=rt.String, t=rt.Slice(rt.Byte), f=rt.Float64)
        T.e72 = rt.Named("e72", rt.Array(rt.Int64, 9))
        T.e96 = rt.Struct("e96", a=rt.Array(rt.Int, 11), p=rt.Ptr(rt.Int))
        T.e136 = rt.Named("e136", rt.Array(rt.Int, 17))
        T.record = rt.Struct("record", name=rt.String, tags=rt.Slice(rt.String), score=rt.Float64,
                             attrs=rt.Slice(rt.Any), next=rt.Ptr("record"))
        T.cyc = rt.Struct("cyc", id=rt.Int, peer=rt.Ptr("cyc"), pad=rt.Array(rt.Int, 2))
        T.tinyRec = rt.Struct("tinyRec", v=rt.Int64)
        T.bigVal = rt.Named("bigVal", rt.Array(rt.Int64, 25))
        T.bigKey = rt.Named("bigKey", rt.Array(rt.Int64, 17))
        T.pVal = rt.Struct("pVal", p=rt.Ptr(rt.Int), b=rt.Array(rt.Byte, 140))
        _types.T = T
    return T


# ---------------------------------------------------------------------------
# append growth per element size

def append_batch(n):
    """Go's appendBatch: append(s, batch[:1+i%7]...) n times."""
    rt.GC()
    m0 = rt.ReadMemStats()
    s = rt.Slice(rt.String)
    caps, last = [], -1
    batch = "abcdefg"
    for i in range(n):
        s = rt.append(s, *batch[:1 + i % 7])
        if s.cap != last:
            caps.append(s.cap)
            last = s.cap
    m1 = rt.ReadMemStats()
    s = None
    rt.GC()
    m2 = rt.ReadMemStats()
    return {"caps": caps, "alloc": mem_deltas(m0, m1), "freed": mem_deltas(m1, m2),
            "BySize": bysize_deltas(m0, m1)}


def span_classes(classes, why):
    """HeapInuse noise of a run whose arrays fall in these size *classes*: the oracle's
    process starts with partly used spans in many small classes (its own start-up
    allocations), which the run's first arrays fill without a new span (measured for the
    strings run: no new span for arrays up to 9472 bytes); goruntime's heap starts empty."""
    pages = sum(rt.sizeclass(SIZES[c], pointers=True).span_pages for c in classes)
    return Abs(pages * 8192, f"{why}: up to one span of each of its {len(classes)} small size classes "
                             "(the oracle process's start-up leaves partly used spans in them; goruntime's "
                             "heap starts empty)")


# Go's small size classes (class -> bytes), for the tolerances
SIZES = {c: b for c, b in enumerate((0, 8, 16, 24, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240,
                                     256, 288, 320, 352, 384, 416, 448, 480, 512, 576, 640, 704, 768, 896, 1024,
                                     1152, 1280, 1408, 1536, 1792, 2048, 2304, 2688, 3072, 3200, 3456, 4096, 4864,
                                     5376, 6144, 6528, 6784, 6912, 8192, 9472, 9728, 10240, 10880, 12288, 13568,
                                     14336, 16384, 18432, 19072, 20480, 21760, 24576, 27264, 28672, 32768))}
# the classes each run's arrays take (Go's BySize for the run; compared exactly as fields)
RUN_CLASSES = {"e12": (2, 3, 5, 8, 14, 22, 30, 36, 41, 47, 54, 59), "e20": (3, 5, 7, 12, 20, 28, 34, 40, 46, 55, 60),
               "e48": (5, 8, 14, 22, 31, 37, 44, 51, 59), "e56": (5, 8, 14, 22, 31, 37, 44, 51, 59),
               "e72": (7, 11, 19, 27, 33, 39, 45, 53), "e96": (8, 14, 22, 31, 37, 44, 51, 59),
               "e136": (11, 19, 27, 33, 39, 45, 53), "str": (2, 4, 6, 10, 18, 26, 33, 39, 45, 52, 59),
               "any": (2, 4, 6, 10, 18, 26, 33, 39, 45, 52, 59), "batch": (2, 5, 8, 14, 22, 31, 37, 44, 51, 57)}


@scenario(tol={**{f"{k}.*HeapInuse": span_classes(v, f"the {k} run") for k, v in RUN_CLASSES.items()}, **NOISE_BYSIZE})
def fid2_append_elems():
    T = _types()
    one = rt.new(rt.Int)
    z5 = [0] * 5
    return {
        "e12": append_run(T.e12, 3000, lambda i: [i, 0, 0]),
        "e20": append_run(T.e20, 3000, lambda i: [i, 0, 0, 0, 0]),
        "e48": append_run(T.e48, 2000, lambda i: {"p": one, "a": z5}),
        "e56": append_run(T.e56, 2000, lambda i: {"f": float(i)}),
        "e72": append_run(T.e72, 1500, lambda i: [i] + [0] * 8),
        "e96": append_run(T.e96, 1500, lambda i: {"p": one}),
        "e136": append_run(T.e136, 1000, lambda i: [i] + [0] * 16),
        "str": append_run(rt.String, 3000, lambda i: "x"),
        "any": append_run(rt.Any, 3000, lambda i: None),
        "batch": append_batch(600),
    }


# ---------------------------------------------------------------------------
# records

def _input():
    """The records' text, "name:tag,tag,...;" x 700, in a []byte (built before the start)."""
    parts = []
    for n in range(700):
        tags = ",".join("tag" + chr(ord("a") + (n + t) % 26) for t in range(n % 5 + 1))
        parts.append("rec" + "x" * (n % 23) + ":" + tags + ";")
    raw = "".join(parts).encode()
    b = rt.make(rt.Slice(rt.Byte), len(raw), 1 << 16)
    b.numpy()[:] = np.frombuffer(raw, dtype=np.uint8)
    return b, raw


def _parse(T, b, raw):
    recs, n = rt.Slice(rt.Ptr(T.record)), 0
    i = 0
    while i < len(raw):
        j = raw.index(b":", i)
        r = rt.new(T.record)
        r.name = rt.string(b[i:j])
        k = raw.index(b";", j + 1)
        tag_text = rt.string(b[j + 1:k])
        text = raw[j + 1:k]
        start = 0
        for t in range(len(text) + 1):
            if t == len(text) or text[t] == ord(","):
                r.tags = rt.append(r.tags, tag_text[start:t])
                start = t + 1
        score = float(n % 7) * 0.5
        r.score = score
        r.attrs = rt.append(r.attrs, n % 300, score, len(r.tags) > 2, rt.value(rt.Int32, n * 1000))
        if n > 0:
            r.next = recs[n - 1]
        recs = rt.append(recs, r)
        n += 1
        i = k + 1
    return recs


@scenario(tol=NOISE)
def fid2_records():
    T = _types()
    b, raw = _input()
    s = Snaps()
    s.gcsnap("start")
    recs = _parse(T, b, raw)
    s.snap("parse")
    index = rt.make(rt.Map(rt.String, rt.Ptr(T.record)))
    for r in recs:
        index[r.name] = r
    r = None
    s.snap("index")
    n = len(index)
    s.gcsnap("gc_full")
    for i, r in enumerate(recs):
        if i % 3 != 0:
            r.attrs = None
        if i % 2 == 0:
            r.tags = r.tags[:1]
    r = None
    s.gcsnap("trim")
    for i in range(0, len(recs), 2):
        recs[i].next = None
    recs = recs[:0]
    s.gcsnap("unlink")
    index = None
    s.gcsnap("drop_index")
    recs = b = None
    s.gcsnap("drop")
    res = s.result()
    res["len"] = n
    return res


# ---------------------------------------------------------------------------
# finalizers and cleanups on cycles and tiny objects

@scenario(tol=noise_without("*BySizeFrees.2"))
def fid2_cycles():
    T = _types()
    events = []

    def cyc_fin(c):
        events.append(c.id)

    def tiny_fin(t):
        events.append(100 + t.v)

    def new_cyc(i, peer=None):
        c = rt.new(T.cyc)
        c.id = i
        c.peer = peer
        return c

    def setup():
        a = new_cyc(1)
        b = new_cyc(2, a)
        a.peer = b
        rt.SetFinalizer(a, cyc_fin)
        me = new_cyc(3)
        me.peer = me
        rt.SetFinalizer(me, cyc_fin)
        f = new_cyc(7)
        e = new_cyc(6, f)
        rt.SetFinalizer(e, cyc_fin)
        rt.SetFinalizer(f, cyc_fin)
        keep = []
        for i in range(4):
            t = rt.new(T.tinyRec)
            t.v = i
            rt.SetFinalizer(t, tiny_fin)
            keep.append(t)
        return [a, b, me, e, f], keep

    s = Snaps()
    s.gcsnap("start")
    objs, keep = setup()
    s.snap("setup")
    objs = None  # noqa: F841 (drops the roots)
    keep[0] = keep[3] = None
    out = {}
    for i in range(1, 7):
        rt.GC()
        wait_queues()
        out[f"cycle{i}"], events[:] = list(events), []
        s.snap(f"cycle{i}")
        if i == 2:
            keep[1] = None
        if i == 3:
            keep[2] = None
    res = s.result()
    res["events"] = out
    return res


def _queues():
    q = [metrics.Sample(n) for n in QUEUE_METRICS]
    metrics.Read(q)
    return [x.Value.Uint64() for x in q]


@scenario(tol={**noise_without("*BySizeFrees.2"),
               # (the pattern also matches BySize.8, the sleep's timer, which every run has; the
               # Mallocs and HeapAlloc ranges still require the timer)
               "wait.BySize.[48]": Abs(1, "waitQueues' sleep grows the P's timer heap to two entries (a "
                                          "32-byte array) when another timer is pending (recorded: 0 or 1)")})
def fid2_cleanup_wait():
    T = _types()
    events = []

    def cyc_cleanup(i):
        events.append(200 + i)

    s = Snaps()
    s.gcsnap("start")
    c = rt.new(T.cyc)
    c.id = 4
    d = rt.new(T.cyc)
    d.id = 5
    d.peer = c
    c.peer = d
    rt.AddCleanup(c, cyc_cleanup, 4)
    rt.AddCleanup(d, cyc_cleanup, 5)
    s.snap("setup")
    c = d = None
    rt.GC()
    q0 = _queues()
    at_gc = list(events)
    s.snap("gc")
    wait_queues()
    q1 = _queues()
    s.snap("wait")
    res = s.result()
    res["events_at_gc_return"] = at_gc
    res["events"] = list(events)
    res["queues_at_gc_return"] = q0
    res["queues_after_wait"] = q1
    return res




CT_ROUNDS = ((0, True), (0, False), (4, True), (10, False), (9, True), (21, False), (15, True))


@scenario()
def fid2_cleanup_turns():
    """Which cleanups have run when runtime.GC returns, by Go's turn rule
    (`mspecial.flush_runs_in_gc`: without a finalizer the caller returns first). Go breaks
    the rule now and then: in 200 fresh runs of the oracle (2026-12-06 22:05 UTC) round 3
    (10 spans, no finalizer) had its cleanup run before runtime.GC returned 4 times, the
    other rounds never; in one long-running process every round flips in 5-10 % of
    repetitions, in both directions, with or without GODEBUG=asyncpreemptoff=1 and
    unrelated to the runtime's own 16-byte allocation: a timing-dependent change in the
    run queue's order (which goroutine of Go's runtime takes the turn is not identified; not
    modelled). The recorded range (0..1) covers it; goruntime gives the rule's 1."""
    T = _types()
    events = []
    rt.GC()
    res = {}
    for r, (n, fin) in enumerate(CT_ROUNDS):
        big = [rt.new(rt.Array(rt.Byte, 40000)) for _ in range(n)]
        c = rt.new(T.cyc)
        c.id = 4
        d = rt.new(T.cyc)
        d.id = 5
        d.peer = c
        c.peer = d
        e = rt.new(T.cyc)
        e.id = 6
        rt.AddCleanup(c, lambda i: events.append(200 + i), 4)
        if fin:
            rt.SetFinalizer(e, lambda x: events.append(x.id))
        c = d = e = big = None  # noqa: F841 (drops the roots)
        rt.GC()
        q = _queues()
        res[f"round{r}"] = {"spans": n, "fin": fin, "finalizers_pending": q[0] - q[1], "cleanups_pending": q[2] - q[3],
                            "events_at_gc_return": len(events)}
        wait_queues()
    res["events"] = list(events)
    return res


# ---------------------------------------------------------------------------
# maps with indirect keys and values

@scenario(tol=NOISE)
def fid2_big_maps():
    T = _types()
    one = rt.new(rt.Int)
    kb = rt.make(rt.Slice(rt.Byte), 900)
    keys = rt.make(rt.Slice(rt.String), 300)
    for i in range(300):
        kb[3 * i], kb[3 * i + 1], kb[3 * i + 2] = ord("k"), ord("a") + i % 26, ord("a") + i // 26
        keys[i] = rt.string(kb[3 * i:3 * i + 3])
    kb = None
    lens = []
    s = Snaps()
    s.gcsnap("start")
    m = rt.make(rt.Map(rt.Int, T.bigVal))
    for i in range(300):
        m[i] = [i] + [0] * 24
    s.snap("bigv_fill")
    for i in range(0, 300, 2):
        del m[i]
    s.gcsnap("bigv_delete")
    for i in range(0, 300, 2):
        m[i + 1000] = [i] + [0] * 24
    s.snap("bigv_reinsert")
    for i in range(1, 300, 2):
        m[i] = [i + 1] + [0] * 24
    s.snap("bigv_overwrite")
    lens.append(len(m))
    m = None
    s.gcsnap("bigv_drop")

    m = rt.make(rt.Map(T.bigKey, rt.Int), 50)
    for i in range(120):
        m[(i,) + (0,) * 16] = i
    s.snap("bigk_fill")
    for i in range(0, 120, 3):
        del m[(i,) + (0,) * 16]
    s.gcsnap("bigk_delete")
    lens.append(len(m))
    rt.clear(m)
    s.gcsnap("bigk_clear")
    for i in range(60):
        m[(i * 7,) + (0,) * 16] = i
    s.snap("bigk_refill")
    m = None
    s.gcsnap("bigk_drop")

    m = rt.make(rt.Map(rt.String, T.pVal))
    for k in keys:
        m[k] = {"p": one}
    s.snap("pval_fill")
    lens.append(len(m))
    m = None
    s.gcsnap("pval_drop")

    inner_t = rt.Map(rt.Int, rt.Int)
    m = rt.make(rt.Map(rt.Int, inner_t))
    for i in range(400):
        inner = m.get(i % 40)
        if inner is None:
            inner = rt.make(inner_t)
            m[i % 40] = inner
        inner[i] = i
    inner = None
    s.snap("mofm_fill")
    for i in range(0, 40, 2):
        del m[i]
    s.gcsnap("mofm_delete")
    lens.append(len(m))
    m = keys = k = None
    s.gcsnap("mofm_drop")
    res = s.result()
    res["lens"] = lens
    return res


# ---------------------------------------------------------------------------
# the tiny allocator over a mix of sizes and alignments

@scenario(tol=NOISE)
def fid2_tiny_mix():
    text = rt.make(rt.Slice(rt.Byte), 64)
    text.numpy()[:] = np.frombuffer(bytes(ord("a") + i % 26 for i in range(64)), dtype=np.uint8)
    kinds = (rt.Byte, rt.Int16, rt.Int32, rt.Int64, rt.Array(rt.Byte, 3), rt.Array(rt.Byte, 5),
             rt.Array(rt.Byte, 12), rt.Array(rt.Byte, 7))
    tiny = [metrics.Sample("/gc/heap/tiny/allocs:objects"), metrics.Sample("/gc/heap/allocs:objects")]
    s = Snaps()
    s.gcsnap("start")
    metrics.Read(tiny)
    before = [x.Value.Uint64() for x in tiny]
    kept = [[None] * 700 for _ in range(9)]            # Go: nine global arrays
    for i in range(700):
        for k, T in enumerate(kinds):
            kept[k][i] = rt.new(T)
        n = 1 + i % 15
        kept[8][i] = rt.string(text[i % 40:i % 40 + n])
    s.snap("alloc")
    metrics.Read(tiny)
    after = [x.Value.Uint64() for x in tiny]
    for i in range(700):
        if i % 3 != 0:
            for arr in kept:
                arr[i] = None
    s.gcsnap("keep_third")
    kept = arr = None
    s.gcsnap("drop")
    res = s.result()
    res["tiny_allocs"] = after[0] - before[0]
    res["allocs"] = after[1] - before[1]
    return res


# ---------------------------------------------------------------------------
# JSON-like documents

@scenario(tol=NOISE)
def fid2_json_docs():
    src = rt.make(rt.Slice(rt.Byte), 256)
    src.numpy()[:] = np.frombuffer(bytes(ord("A") + i % 26 for i in range(256)), dtype=np.uint8)
    yes = rt.string(rt.bytes("yes"))                    # Go: a string variable (jdYes)
    doc_t = rt.Map(rt.String, rt.Any)
    s = Snaps()
    s.gcsnap("start")
    docs = rt.Slice(doc_t)
    for i in range(200):
        m = rt.make(doc_t)
        m["id"] = i
        m["score"] = float(i) * 0.25
        m["name"] = rt.string(src[i % 50:i % 50 + 5 + i % 30])
        m["ok"] = i % 2 == 0
        tags = rt.make(rt.Slice(rt.Any), 3)
        tags[0], tags[1], tags[2] = i + 1000, i % 10, -i
        m["tags"] = tags
        inner = rt.make(doc_t)
        inner["depth"] = i % 4
        inner["ratio"] = 1 / float(i + 1)
        m["nested"] = inner
        docs = rt.append(docs, m)
    m = tags = inner = None
    s.snap("build")
    s.gcsnap("gc_full")
    for i in range(0, 200, 2):
        d = docs[i]
        del d["tags"]
        d["nested"] = None
    d = None
    s.gcsnap("trim")
    for i in range(1, 200, 2):
        d = docs[i]
        d["id"] = i * 1000
        d["ok"] = yes
    d = None
    s.snap("retype")
    docs = src = None
    s.gcsnap("drop")
    return s.result()


# ---------------------------------------------------------------------------
# sync.Pool

@scenario(tol={**noise_without("*BySizeFrees.2", "*BySize.2"), "gc[0-9].BySize*": RUNTIME_16B})
def fid2_pool():
    pbuf = rt.Struct("pbuf", b=rt.Array(rt.Byte, 200), n=rt.Int)
    st = SimpleNamespace(new=0)

    def new_pbuf():
        st.new += 1
        return rt.new(pbuf)

    pool = rt.Pool(New=new_pbuf)                         # Go: var pool = sync.Pool{New: ...}
    held = [None] * 20                                   # Go: var poolHeld [20]*pbuf
    news = []

    def get(n):
        for i in range(n):
            held[i] = pool.Get()

    def put(n):
        for i in range(n):
            pool.Put(held[i])
            held[i] = None

    s = Snaps()
    s.gcsnap("start")
    get(10)
    s.snap("get10")
    news.append(st.new)
    put(10)
    s.snap("put10")
    get(4)
    s.snap("get4")
    news.append(st.new)
    put(4)
    s.snap("put4")
    s.gcsnap("gc1")
    get(3)
    s.snap("get3_victim")
    news.append(st.new)
    s.gcsnap("gc2")
    get(2)
    s.snap("get2_after_gc2")
    news.append(st.new)
    s.gcsnap("gc3")
    put(5)
    s.snap("put5")
    s.gcsnap("gc4")
    s.gcsnap("gc5")
    get(1)
    s.snap("get1_empty")
    news.append(st.new)
    put(1)
    s.gcsnap("gc6")
    s.gcsnap("gc7")
    res = s.result()
    res["news"] = news
    return res
