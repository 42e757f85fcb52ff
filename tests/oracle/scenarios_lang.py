"""Python twins of go/lang.go: the allocating language (issue 17).

append growth, sub-slice liveness, copy/clear, array-field elements, string
conversions and concatenation, interface boxing. Same allocations, same order,
same roots as the Go functions of the same names.
"""
from harness import Abs
from scenarios import MEMSTATS_NOISE, bysize_deltas, go_types, mem_deltas, rt, scenario

# Growing a slice allocates one object in each of a dozen size classes; Go's start-up
# leaves partially filled spans in most small classes, which those objects fill without
# a new span, while goruntime starts with none: up to one span per class touched.
ONE_PER_CLASS = Abs(1 << 17, "one object in each of many size classes: Go's start-up leaves partial spans in "
                             "most of them (goruntime starts with none), up to one span per class")
NOISE = {**MEMSTATS_NOISE, "*HeapInuse": ONE_PER_CLASS}
# ... and those 16-byte objects land in BySize[2] (recorded: 0 or 1 there)
NOISE_BYSIZE = {**NOISE, "*BySize.2": Abs(2, "Go's runtime allocates a few 16-byte objects of its own "
                                             "during some GCs (recorded: 0 or 1 in BySize[2])")}


def _types():
    T = go_types()
    if not hasattr(T, "p40T"):
        T.p40T = rt.Struct("p40T", p=rt.Ptr(rt.Int), b=rt.Array(rt.Byte, 32))
        T.tailT = rt.Struct("tailT", id=rt.Int, tail=rt.Array(rt.Int, 8))
        T.small2 = rt.Struct("small2", a=rt.Int32, b=rt.Int32)
    return T


def append_run(elem, n, val):
    rt.GC()
    m0 = rt.ReadMemStats()
    s = rt.Slice(elem)                    # a nil slice
    caps, last = [], -1
    for i in range(n):
        s = rt.append(s, val(i))
        if s.cap != last:
            caps.append(s.cap)
            last = s.cap
    m1 = rt.ReadMemStats()
    s = None
    rt.GC()
    m2 = rt.ReadMemStats()
    return {"caps": caps, "alloc": mem_deltas(m0, m1), "freed": mem_deltas(m1, m2),
            "BySize": bysize_deltas(m0, m1)}


@scenario(tol=NOISE_BYSIZE)
def lang_append_growth():
    T = _types()
    one = rt.new(rt.Int)
    z40 = rt.new(T.p40T)
    return {
        "int": append_run(rt.Int, 5000, lambda i: i),
        "ptr": append_run(rt.Ptr(rt.Int), 5000, lambda i: one),
        "byte": append_run(rt.Byte, 5000, lambda i: i & 0xff),
        "arr24": append_run(rt.Array(rt.Int64, 3), 2000, lambda i: [i, 0, 0]),
        "ptr40": append_run(T.p40T, 1000, lambda i: z40),
        "ptr40b": append_run(T.p40T, 10, lambda i: z40),
    }


@scenario(tol=NOISE)
def lang_slice_liveness():
    T = _types()
    rt.GC()
    m0 = rt.ReadMemStats()
    big = rt.make(rt.Slice(rt.Byte), 1 << 20)
    small = big[10:20]
    big = None
    rt.GC()
    m1 = rt.ReadMemStats()
    small = rt.append(small, 1, 2, 3)
    m2 = rt.ReadMemStats()
    sub_len, sub_cap = len(small), small.cap
    small = None
    rt.GC()
    m3 = rt.ReadMemStats()
    res = {"kept": mem_deltas(m0, m1), "append_in_cap": mem_deltas(m1, m2),
           "freed": mem_deltas(m2, m3), "len": sub_len, "cap": sub_cap}

    tail = rt.new(T.tailT)
    tail.tail[3] = 7
    elem = tail.tail.ptr(3)
    tail = None
    rt.GC()
    m0 = rt.ReadMemStats()
    elem.value = 9
    res["elem_value"] = elem.value
    elem = None
    rt.GC()
    m1 = rt.ReadMemStats()
    res["elem_freed"] = mem_deltas(m0, m1)

    dst = rt.make(rt.Slice(rt.Int), 5)
    src = rt.make(rt.Slice(rt.Int), 8)
    for i in range(8):
        src[i] = i + 1
    m0 = rt.ReadMemStats()
    n = rt.copy(dst, src)
    m = rt.copy(src[2:], src)
    rt.clear(src[:3])
    m1 = rt.ReadMemStats()
    res["copy"] = {"n": n, "m": m, "dst": list(dst), "src": list(src),
                   "Mallocs": m1.Mallocs - m0.Mallocs}
    return res


LITS = ("", "a", "hello", "fifteen bytes!!", "sixteen bytes!!!",
        "x234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890")


@scenario(tol=NOISE_BYSIZE)
def lang_strings():
    buf = rt.make(rt.Slice(rt.Byte), 1 << 20)
    buf.numpy()[:] = [ord("a") + i % 26 for i in range(1 << 20)]
    g = [""] * 8
    bs = [None] * 8
    res = {}

    def step(name, f):
        rt.GC()
        m0 = rt.ReadMemStats()
        f()
        m1 = rt.ReadMemStats()
        res[name] = {"d": mem_deltas(m0, m1), "BySize": bysize_deltas(m0, m1)}

    def put(i, f):
        return lambda: g.__setitem__(i, f())

    step("concat_tiny", put(0, lambda: rt.concat(_lit(1), _lit(2))))
    step("concat_16", put(1, lambda: rt.concat(_lit(1), _lit(3))))
    step("concat_3", put(2, lambda: rt.concat(_lit(2), _lit(5), _lit(4))))
    step("concat_one_nonempty", put(3, lambda: rt.concat(_lit(0), _lit(5), _lit(0))))
    step("concat_none", put(4, lambda: rt.concat(_lit(0), _lit(0))))
    step("concat_heap", put(5, lambda: rt.concat(g[2], g[0])))
    step("string_0", put(6, lambda: rt.string(buf[:0])))
    step("string_1", put(6, lambda: rt.string(buf[3:4])))
    step("string_5", put(6, lambda: rt.string(buf[:5])))
    step("string_20", put(6, lambda: rt.string(buf[:20])))
    step("string_100", put(6, lambda: rt.string(buf[:100])))
    for i, k in enumerate((0, 2, 4, 5)):
        step(f"bytes_{len(LITS[k])}", lambda i=i, k=k: bs.__setitem__(i, rt.bytes(_lit(k))))
    res["caps"] = [b.cap for b in bs[:4]]
    res["values"] = [str(x) for x in g[:7]]
    one = rt.string(buf[7:8])
    res["static_one_byte"] = not rt.current().heap.in_arena(one.ptr)
    one = None
    step("big", lambda: g.__setitem__(7, rt.string(buf)))
    g[7] = g[7][10:20]
    m0 = rt.ReadMemStats()
    rt.GC()
    m1 = rt.ReadMemStats()
    g[7] = ""
    rt.GC()
    m2 = rt.ReadMemStats()
    res["substring_kept"] = mem_deltas(m0, m1)
    res["substring_freed"] = mem_deltas(m1, m2)
    return res


def _lit(k):
    """lits[k]: a string constant read through a variable (Go: a global array of
    literals), so no compile-time folding: a StringValue in rodata."""
    from goruntime import gostring as _string
    return _string.constant(rt.current(), LITS[k])


@scenario(tol=NOISE_BYSIZE)
def lang_iface_boxing():
    T = _types()
    hold = rt.new(rt.Array(rt.Any, 1000))
    bs = rt.make(rt.Slice(rt.Byte), 3)
    ptr = rt.new(rt.Int)
    s8 = rt.new(T.small2)
    res = {}

    def clear():
        for i in range(100):
            hold[i] = None

    def step(name, f):
        clear()
        rt.GC()
        m0 = rt.ReadMemStats()
        for i in range(100):
            hold[i] = f(i)
        m1 = rt.ReadMemStats()
        clear()
        rt.GC()
        m2 = rt.ReadMemStats()
        res[name] = {"alloc": mem_deltas(m0, m1), "freed": mem_deltas(m1, m2),
                     "BySize": bysize_deltas(m0, m1)}

    def small2(i):
        s8.a, s8.b = i, 1
        return rt.value(T.small2, s8)

    step("int_small", lambda i: i)
    step("int_big", lambda i: i + 1000)
    step("int_neg", lambda i: -1 - i)
    step("float", lambda i: float(i) + 0.5)
    step("float_zero", lambda i: float(i) * 0)
    step("bool", lambda i: i % 2 == 0)
    step("string", lambda i: _lit(2))
    step("string_empty", lambda i: _lit(0))
    step("int8", lambda i: rt.value(rt.Int8, -i))
    step("uint16_small", lambda i: rt.value(rt.Uint16, i))
    step("uint16_big", lambda i: rt.value(rt.Uint16, 300 + i))
    step("int32_big", lambda i: rt.value(rt.Int32, 70000 + i))
    step("slice", lambda i: bs)
    step("slice_nil", lambda i: rt.value(rt.Slice(rt.Byte), None))
    step("pointer", lambda i: ptr)
    step("struct8", small2)
    return res


# ---------------------------------------------------------------------------
# Maps (Go 1.27 Swiss tables)

MAP_KEYS = [f"key{i}" for i in range(1000)]


def map_run(n, hint, M, put):
    rt.GC()
    m0 = rt.ReadMemStats()
    m = rt.make(M, hint=hint)
    m1 = rt.ReadMemStats()
    for i in range(n):
        put(m, i)
    m2 = rt.ReadMemStats()
    m = None
    rt.GC()
    m3 = rt.ReadMemStats()
    return {"make": mem_deltas(m0, m1), "fill": mem_deltas(m1, m2), "freed": mem_deltas(m2, m3),
            "BySize": bysize_deltas(m0, m2)}


def run_ii(n, hint):
    return map_run(n, hint, rt.Map(rt.Int, rt.Int), lambda m, i: m.__setitem__(i, i))


@scenario(tol=NOISE_BYSIZE)
def lang_map_sizes():
    one = rt.new(rt.Int)
    big200 = rt.Array(rt.Byte, 200)
    res = {}
    for n in (0, 8, 9, 1000):
        res[f"ii_{n}"] = run_ii(n, 0)
    for h in (8, 9, 100, 1000, 5000):
        res[f"hint_{h}"] = run_ii(0, h)
    res["ii_1000_hint1000"] = run_ii(1000, 1000)
    for n in (8, 9, 1000):
        res[f"sp_{n}"] = map_run(n, 0, rt.Map(rt.String, rt.Ptr(rt.Int)),
                                 lambda m, i: m.__setitem__(MAP_KEYS[i], one))
    for n in (8, 9, 100):
        res[f"indirect_{n}"] = map_run(n, 0, rt.Map(rt.Int, big200),
                                       lambda m, i: m.__setitem__(i, [0] * 200))
    return res


@scenario(tol=NOISE)
def lang_map_growth():
    rt.GC()
    m = rt.make(rt.Map(rt.Int, rt.Int))
    m0 = rt.ReadMemStats()
    steps = []
    for i in range(1000):
        a = rt.ReadMemStats()
        m[i] = i
        b = rt.ReadMemStats()
        if b.Mallocs != a.Mallocs:
            steps.append([i + 1, b.Mallocs - a.Mallocs, b.TotalAlloc - a.TotalAlloc])
    for i in range(1000):
        del m[i]
    rt.GC()
    m1 = rt.ReadMemStats()
    for i in range(1000):
        m[i] = i
    m2 = rt.ReadMemStats()
    rt.clear(m)
    rt.GC()
    m3 = rt.ReadMemStats()
    return {"steps": steps, "len_after_clear": len(m), "after_delete": mem_deltas(m0, m1),
            "refill": mem_deltas(m1, m2), "after_clear": mem_deltas(m2, m3)}


@scenario(tol=NOISE)
def lang_map_liveness():
    T = _types()
    if not hasattr(T, "mvT"):
        T.mvT = rt.Struct("mvT", p=rt.Ptr(rt.Int), b=rt.Array(rt.Byte, 56))
    rt.GC()
    m0 = rt.ReadMemStats()
    m = rt.make(rt.Map(rt.Int, rt.Ptr(T.mvT)))
    for i in range(100):
        m[i] = rt.new(T.mvT)
    rt.GC()
    m1 = rt.ReadMemStats()
    for i in range(50):
        del m[i]
    rt.GC()
    m2 = rt.ReadMemStats()
    rt.clear(m)
    rt.GC()
    m3 = rt.ReadMemStats()
    n = len(m)
    m = None
    rt.GC()
    m4 = rt.ReadMemStats()
    return {"filled": mem_deltas(m0, m1), "deleted": mem_deltas(m1, m2), "cleared": mem_deltas(m2, m3),
            "len": n, "dropped": mem_deltas(m3, m4)}


@scenario(tol=NOISE_BYSIZE)
def lang_map_100000():
    old = rt.debug.SetGCPercent(-1)      # no heap-triggered cycle while filling (as in Go)
    try:
        return {"ii": run_ii(100000, 0), "hint": run_ii(100000, 100000)}
    finally:
        rt.debug.SetGCPercent(old)


# ---------------------------------------------------------------------------
# Channels (Go: makechan)

@scenario(tol=NOISE)
def lang_chan_make():
    T = _types()
    if not hasattr(T, "mvT"):
        T.mvT = rt.Struct("mvT", p=rt.Ptr(rt.Int), b=rt.Array(rt.Byte, 56))
    res = {}

    def step(name, make):
        rt.GC()
        m0 = rt.ReadMemStats()
        c = make()
        m1 = rt.ReadMemStats()
        c = None  # noqa: F841
        rt.GC()
        m2 = rt.ReadMemStats()
        res[name] = {"make": mem_deltas(m0, m1), "freed": mem_deltas(m1, m2), "BySize": bysize_deltas(m0, m1)}

    C = rt.ChanType
    step("unbuffered", lambda: rt.make(C(rt.Int), 0))
    step("int10", lambda: rt.make(C(rt.Int), 10))
    step("ptr10", lambda: rt.make(C(rt.Ptr(rt.Int)), 10))
    step("empty5", lambda: rt.make(C(rt.Struct("emptyC")), 5))
    step("b64x100", lambda: rt.make(C(rt.Array(rt.Byte, 64)), 100))
    step("b24x1", lambda: rt.make(C(rt.Array(rt.Byte, 24)), 1))
    step("big_ptr", lambda: rt.make(C(rt.Ptr(rt.Int)), 5000))
    c = rt.make(C(rt.Ptr(T.mvT)), 4)
    c.send(rt.new(T.mvT))
    rt.GC()
    m0 = rt.ReadMemStats()
    c.recv()
    rt.GC()
    m1 = rt.ReadMemStats()
    res["received_frees"] = m1.Frees - m0.Frees
    return res


# ---------------------------------------------------------------------------
# Goroutines: what the runtime allocates for them (Go: proc.go, chan.go, time.go)

START_ALLGS = Abs(1, "Go frees its start-up allgs array (cap 8, 64 bytes) at the first GC after allgs "
                     "outgrows it; goruntime's heap starts empty, so that array is not on it")
START_SUDOG = Abs(1, "the sudog in the P's cache at start-up (Go allocated it before main) reaches the "
                     "central list when 200 sudogs cycle through the cache, and the next GC frees it; "
                     "goruntime's heap starts empty, so it is not on it")
GC_16B = Abs(1, "Go's runtime allocates a few 16-byte objects of its own during some GCs "
                "(recorded: 0 or 1 in BySize[2])")
GOR_TOL = {"g100.gc1.Frees": START_ALLGS, "g100.gc1.BySizeFrees.6": START_ALLGS,
           "select.gc2.Frees": START_SUDOG, "select.gc2.BySizeFrees.9": START_SUDOG,
           "*BySizeFrees.2": GC_16B, "*BySize.2": GC_16B, **NOISE}


def gor_row(n, spawn, sleepers=False):
    st = {"started": 0, "done": 0, "ch": rt.Chan(), "ch2": rt.Chan(), "wg": rt.WaitGroup()}
    if sleepers:
        st["wg"].Add(n)
    rt.GC()
    m0 = rt.ReadMemStats()
    for i in range(n):
        spawn(st, i)
    while st["started"] < n:
        rt.Gosched()
    m1 = rt.ReadMemStats()
    rt.GC()
    m2 = rt.ReadMemStats()
    if sleepers:
        st["wg"].Wait()
    else:
        st["ch"].close()
        while st["done"] < n:
            rt.Gosched()
    m3 = rt.ReadMemStats()
    rt.GC()
    m4 = rt.ReadMemStats()
    return {"run": mem_deltas(m0, m1), "BySize": bysize_deltas(m0, m1),
            "gc1.Frees": m2.Frees - m1.Frees, "gc1.BySizeFrees": bysize_deltas(m1, m2, True),
            "finish.Mallocs": m3.Mallocs - m2.Mallocs, "finish.BySize": bysize_deltas(m2, m3),
            "gc2.Frees": m4.Frees - m3.Frees, "gc2.BySizeFrees": bysize_deltas(m3, m4, True)}


def gor_blocked(st):
    st["started"] += 1
    st["ch"].recv()
    st["done"] += 1


def gor_blocked_ptr(st, p):
    st["started"] += 1
    if st["ch"].recv() == p:
        raise AssertionError("unreachable")
    st["done"] += 1


def gor_blocked_ints(st, a, b):
    st["started"] += 1
    st["ch"].recv()
    st["done"] += b - a


def gor_select(st):
    st["started"] += 1
    rt.select([("recv", st["ch"]), ("recv", st["ch2"])])
    st["done"] += 1


def gor_sleeper(st):
    st["started"] += 1
    rt.Sleep(100_000_000)
    st["done"] += 1
    st["wg"].Done()


@scenario(tol=GOR_TOL)
def lang_goroutines():
    """``go f()``: a g (class 480) when no dead G is free, allgs growing by append; the
    go statement's wrapper closure when it captures arguments (garbage once the
    goroutine runs); a sudog per blocked goroutine (per select case) from the P's cache,
    whose overflow the next GC frees; a timer per sleeping goroutine, and the P's timer
    heap growing by append."""
    res = {}
    res["g100"] = gor_row(100, lambda st, i: rt.go(lambda: gor_blocked(st)))
    res["g100_again"] = gor_row(100, lambda st, i: rt.go(lambda: gor_blocked(st)))
    res["g200"] = gor_row(200, lambda st, i: rt.go(lambda: gor_blocked(st)))
    ptrs = [rt.new(rt.Int) for _ in range(10)]
    # go gorBlockedPtr(gorPtrs[i]): the wrapper closure captures the pointer
    res["ptr_arg"] = gor_row(10, lambda st, i: rt.go(lambda p: gor_blocked_ptr(st, p), ptrs[i]))
    # go gorBlockedInts(gorA, gorB): it captures two ints
    res["int_args"] = gor_row(10, lambda st, i: rt.go(lambda a, b: gor_blocked_ints(st, a, b), 3, 4))
    res["select"] = gor_row(100, lambda st, i: rt.go(lambda: gor_select(st)))
    res["sleep"] = gor_row(10, lambda st, i: rt.go(lambda: gor_sleeper(st)), sleepers=True)
    res["sleep_again"] = gor_row(10, lambda st, i: rt.go(lambda: gor_sleeper(st)), sleepers=True)
    ptrs = None
    m0 = rt.ReadMemStats()
    rt.Sleep(1_000_000)
    m1 = rt.ReadMemStats()
    rt.Sleep(1_000_000)
    m2 = rt.ReadMemStats()
    res["main_sleep"] = {"first": mem_deltas(m0, m1), "first.BySize": bysize_deltas(m0, m1),
                         "second": mem_deltas(m1, m2)}
    return res
