"""Python twins of go/fidelity6.go: the fidelity audit's sixth round (maps of structs with
pointers grown, shrunk, refilled and ranged over while a GC runs; append growth of []*T
and []string with re-slicing, copy and truncation; the strings package; finalizers on
arrays, a slice's first element and a large array, with runtime.KeepAlive; several
cleanups on one object; weak pointers to map values; large objects between tiny
allocations; the heap goal through runtime/metrics as GOGC changes), written with
goruntime's public API as a Go programmer would port them.
"""
from types import SimpleNamespace

from harness import Abs
from scenarios import rt, scenario, weak, metrics, debug
from scenarios_fidelity import wait_queues
from scenarios_fidelity3 import _bytes_of, roundupsize
from scenarios_fidelity5 import gc_noise


def _types():
    T = getattr(_types, "T", None)
    if T is None:
        T = SimpleNamespace()
        T.msT = rt.Struct("msT", id=rt.Int, pad=rt.Array(rt.Int, 2))
        T.msVal = rt.Struct("msVal", p=rt.Ptr(T.msT), n=rt.Int, s=rt.String)
        T.a6T = rt.Struct("a6T", id=rt.Int, next=rt.Ptr("a6T"))
        T.faT = rt.Struct("faT", id=rt.Int, p=rt.Ptr(rt.Int))
        T.cmT = rt.Struct("cmT", id=rt.Int, buf=rt.Array(rt.Int, 6))
        T.wmT = rt.Struct("wmT", id=rt.Int, name=rt.String)
        T.ltT = rt.Struct("ltT", id=rt.Int, next=rt.Ptr("ltT"))
        T.gmNode = rt.Struct("gmNode", next=rt.Ptr("gmNode"), val=rt.Array(rt.Int, 5))
        _types.T = T
    return T


NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
WORDS = ("a", "bb", "ccc", "dddd", "eeeee", "ffffff", "ggggggg", "hhhhhhhh")


def _without(tol, *patterns):
    """*tol* without the patterns that name no field of the scenario (no 16-byte frees)."""
    return {k: v for k, v in tol.items() if k not in patterns}


def _global_strings(values):
    """Go's global array of strings (a6Words, msNames): its elements are variables, so a
    concatenation of them is not folded by the compiler."""
    a = rt.new(rt.Array(rt.String, len(values)))
    for i, v in enumerate(values):
        a[i] = v
    return a


class Events:
    """f6Event/f6Cycle: the finalizer and cleanup events of each cycle, sorted (Go queues
    them in its sweep order)."""

    def __init__(self):
        self.ev, self.cycles = [], {}

    def add(self, v):
        self.ev.append(v)

    def cycle(self, i):
        rt.GC()
        wait_queues()
        self.cycles[f"cycle{i}"] = sorted(self.ev)
        self.ev.clear()


# ---------------------------------------------------------------------------
# maps of structs with pointers

@scenario(tol=gc_noise("shrink", "range_gc", "delete_reinsert", "map_drop", "drop"))
def fid6_map_structs():
    """map[int]msVal ({p *msT; n int; s string}: 40-byte slots, two 1024-slot tables of
    41 984 bytes for 1500 entries), every key but a tenth deleted during range (the
    pointers' objects die, the tables stay), 600 reinserted into the deleted slots, a
    range with a GC in the middle; map[int]*msT overwritten (the replaced values die),
    deleted from and refilled."""
    T = _types()
    from scenarios_lang_port import Snaps
    lens = [0] * 5
    s = Snaps()
    s.gcsnap("start")
    m = rt.make(rt.Map(rt.Int, T.msVal))
    for i in range(1500):
        p = rt.new(T.msT)
        p.id = i
        m[i] = {"p": p, "n": i, "s": NAMES[i % 10]}
    p = None
    s.snap("fill")
    for k in m:
        if k % 10 != 0:
            del m[k]
    lens[0] = len(m)
    s.gcsnap("shrink")
    for i in range(0, 1500, 2):
        if i % 10 != 0:
            m[i] = {"n": -i, "s": NAMES[i % 7]}
    lens[1] = len(m)
    s.snap("reinsert")
    total = n = 0
    for k, v in m.items():                                          # a GC during the range
        if n == 100:
            rt.GC()
        total += k + v["n"]
        if v["p"] is not None:
            total += v["p"].id
        n += 1
    v = None
    lens[2], lens[3] = n, total
    s.snap("range_gc")
    ptrs = rt.make(rt.Map(rt.Int, rt.Ptr(T.msT)), hint=64)
    for r in range(3):
        for i in range(64):
            p = rt.new(T.msT)
            p.id = i + 100 * r
            ptrs[i] = p
    p = None
    s.snap("overwrite")
    for i in range(0, 64, 2):
        del ptrs[i]
    for i in range(32):
        p = rt.new(T.msT)
        p.id = i
        ptrs[1000 + i] = p
    p = None
    lens[4] = len(ptrs)
    s.gcsnap("delete_reinsert")
    m = None
    s.gcsnap("map_drop")
    ptrs = None
    s.gcsnap("drop")
    res = s.result()
    res["lens"] = lens
    return res


# ---------------------------------------------------------------------------
# append growth of []*T and []string

@scenario(tol=gc_noise("reslice", "copied", "truncate", "overwrite", "strs_sub", "drop"))
def fid6_append_ptrs():
    """[]*a6T grown by append to 600 (growslice's doubling, then 1.25x plus 192, rounded
    to the size class), re-sliced s[100:] (the array, and the 100 objects before the
    slice, stay), append(nil, s...) (a new array: they die), s[:0] (keeps every pointer
    of the array), ten appends over it (the ten objects they replace die); []string grown
    to 700, clipped and appended (a copy), a full slice expression appended past its cap."""
    T = _types()
    from scenarios_lang_port import Snaps
    P = rt.Ptr(T.a6T)
    caps = []

    def note(c):
        if not caps or caps[-1] != c:
            caps.append(c)

    def new(i):
        p = rt.new(T.a6T)
        p.id = i
        return p

    s = Snaps()
    s.gcsnap("start")
    ptrs = rt.Slice(P)
    for i in range(600):
        ptrs = rt.append(ptrs, new(i))
        note(ptrs.cap)
    s.snap("ptrs_grow")
    ptrs = ptrs[100:]
    note(ptrs.cap)
    s.gcsnap("reslice")
    ptrs = rt.append(ptrs, new(600))
    note(ptrs.cap)
    ptrs = rt.append(rt.Slice(P), *[ptrs[i] for i in range(len(ptrs))])
    note(ptrs.cap)
    s.gcsnap("copied")
    keep = rt.make(rt.Slice(P), 50)
    note(rt.copy(keep, ptrs[200:]))
    ptrs = ptrs[:0]
    s.gcsnap("truncate")
    for _ in range(10):
        ptrs = rt.append(ptrs, None)
    s.gcsnap("overwrite")
    strs = rt.Slice(rt.String)
    for i in range(700):
        strs = rt.append(strs, WORDS[i % 8])
        note(strs.cap)
    s.snap("strs_grow")
    strs = strs[:len(strs):len(strs)]
    strs = rt.append(strs, "x")
    note(strs.cap)
    sub = strs[10:20:20]
    sub = rt.append(sub, "y", "z")
    note(sub.cap)
    strs = None
    s.gcsnap("strs_sub")
    ptrs = keep = sub = None
    s.gcsnap("drop")
    res = s.result()
    res["caps"] = caps
    return res


# ---------------------------------------------------------------------------
# the strings package

def _csv_and_text():
    """spMake: the comma-separated words and the whitespace-separated names (built
    before the start; substrings of these share their bytes)."""
    csv = bytearray()
    for i in range(40):
        csv += WORDS[i % 8].encode() + (b"," if i % 9 != 4 else b",,")
    text = bytearray()
    for i in range(30):
        text += NAMES[i % 10].encode() + b"  \t "[:1 + i % 3]
    return bytes(csv), bytes(text)


def _substrings(v, raw, spans):
    """a make([]string, n) of the substrings v[a:b] (Split's and Fields' result)."""
    out = rt.make(rt.Slice(rt.String), len(spans))
    for i, (a, b) in enumerate(spans):
        out[i] = v[a:b]
    return out


def _builder_grow(data, n):
    """A strings.Builder grown to n (bytealg.MakeNoZero: the size class) then written."""
    b = rt.make(rt.Slice(rt.Byte), 0, roundupsize(n))
    return rt.append(b, *data) if data else b


@scenario(tol=_without(gc_noise("parts_drop", "drop"), "*BySizeFrees.2"))
def fid6_strings_pkg():
    """strings.Split: make([]string, Count(sep)+1) of substrings; Join: one Builder.Grow
    of the total (one element: the element itself); Repeat: one Grow of len x count, but
    a run of '-' or ' ' is a substring of a constant; Fields: make([]string, n); ToUpper:
    Grow(len) at the first lower-case byte, the string itself when there is none;
    Builder.Grow(100) then writes past it (append's growth from 112)."""
    raw_csv, raw_text = _csv_and_text()
    csv = rt.string(_bytes_of(raw_csv))
    text = rt.string(_bytes_of(raw_text))
    lens = [0] * 11
    from scenarios_lang_port import Snaps
    s = Snaps()
    s.gcsnap("start")
    spans, at = [], 0
    for i, c in enumerate(raw_csv):
        if c == ord(","):
            spans.append((at, i))
            at = i + 1
    spans.append((at, len(raw_csv)))
    parts = _substrings(csv, raw_csv, spans)
    lens[0], lens[1] = len(parts), parts.cap
    s.snap("split")
    pieces = [raw_csv[a:b] for a, b in spans]
    joined_raw = b"; ".join(pieces)
    joined = rt.unsafe_string(_builder_grow(joined_raw, len(joined_raw)))
    lens[2] = len(joined)
    s.snap("join")
    one = parts[3]                                                  # Join of one element
    s.snap("join_one")
    rep = [one, rt.unsafe_string(_builder_grow(b"ab" * 100, 200)),
           rt.unsafe_string(_builder_grow(b"xyz" * 1000, 3000))]
    lens[3], lens[4] = len(rep[1]), len(rep[2])
    s.snap("repeat")
    rep.append("-" * 60)                                            # repeatedDashes[:60]: a constant
    lens[5] = len(rep[3])
    s.snap("repeat_const")
    fspans, at = [], None
    for i, c in enumerate(raw_text + b" "):
        if c in b" \t":
            if at is not None:
                fspans.append((at, i))
                at = None
        elif at is None:
            at = i
    fields = _substrings(text, raw_text, fspans)
    lens[6], lens[7] = len(fields), fields.cap
    s.snap("fields")
    up = [rt.unsafe_string(_builder_grow(raw_text.upper(), len(raw_text)))]
    up.append(up[0])                                                # nothing lower-case: itself
    lens[8] = len(up[0])
    s.snap("upper")
    b = _builder_grow(b"", 100)
    for i in range(30):
        b = rt.append(b, *pieces[i])
        b = rt.append(b, ord("|"))
    out = rt.unsafe_string(b)
    lens[9], lens[10] = len(out), b.cap
    s.snap("builder")
    parts = fields = None
    s.gcsnap("parts_drop")
    csv = text = joined = rep = up = out = one = b = None
    s.gcsnap("drop")
    res = s.result()
    res["lens"] = lens
    return res


# ---------------------------------------------------------------------------
# finalizers on arrays and first elements, runtime.KeepAlive

@scenario(tol=gc_noise("cycles"))
def fid6_fin_arrays():
    """A finalizer on new([4]*faT) keeps its elements for a cycle (one with its own
    finalizer runs the cycle after); on &s[0] of a []faT (a sub-slice s[1:3] keeps it
    waiting), of a large []int, of a []byte re-sliced to s[40:] (cap 0: the pointer stays
    at the array's start, so it still keeps it); runtime.KeepAlive keeps its object (and
    its finalizer waiting) through a GC."""
    T = _types()
    from scenarios_lang_port import Snaps
    ev = Events()
    st = SimpleNamespace()

    def setup():
        st.arr = rt.new(rt.Array(rt.Ptr(T.faT), 4))
        for i in range(4):
            t = rt.new(T.faT)
            t.id = i
            st.arr[i] = t
        rt.SetFinalizer(st.arr, lambda a: ev.add(100 + a[2].id))
        rt.SetFinalizer(st.arr[1], lambda t: ev.add(10 + t.id))
        st.sl = rt.make(rt.Slice(T.faT), 5)
        st.sl[0].id = 50
        rt.SetFinalizer(st.sl.ptr(0), lambda t: ev.add(200 + t.id))
        st.big = rt.make(rt.Slice(rt.Int), 5000)
        st.big[0] = 9
        rt.SetFinalizer(st.big.ptr(0), lambda p: ev.add(300 + p.value))
        st.bytes = rt.make(rt.Slice(rt.Byte), 40)
        rt.SetFinalizer(st.bytes.ptr(0), lambda p: ev.add(400))

    def keep_alive():
        p = rt.new(T.faT)
        p.id = 77
        rt.SetFinalizer(p, lambda t: ev.add(t.id))
        rt.GC()
        wait_queues()
        kept = len(ev.ev)
        rt.KeepAlive(p)
        return kept

    s = Snaps()
    s.gcsnap("start")
    setup()
    s.snap("setup")
    st.arr = None
    st.sl = st.sl[1:3]
    st.bytes = st.bytes[40:]
    ev.cycle(1)
    st.sl = st.big = None
    ev.cycle(2)
    kept = keep_alive()
    ev.cycle(3)
    ev.cycle(4)
    st.bytes = None
    ev.cycle(5)
    s.snap("cycles")
    res = s.result()
    res["events"] = ev.cycles
    res["kept"] = kept
    return res


# ---------------------------------------------------------------------------
# several cleanups on one object

@scenario(tol=_without(gc_noise(), "*BySizeFrees.2", "*BySize.2"))
def fid6_cleanups_many():
    """Three cleanups on each of six objects (each int argument in its own 16-byte box),
    the middle one stopped on some (Stop twice does nothing); one object also has a
    finalizer: its weak pointer goes nil and its finalizer runs in the first cycle after
    it is dropped, its cleanups in the next."""
    T = _types()
    from scenarios_lang_port import Snaps
    ev = Events()
    objs, stops, ws = [None] * 6, [None] * 6, [None] * 6
    state = []

    def setup():
        for i in range(6):
            o = rt.new(T.cmT)
            o.id = i
            for k in range(3):
                c = rt.AddCleanup(o, ev.add, 10 * i + k)
                if k == 1:
                    stops[i] = c
            ws[i] = weak.Make(o)
            objs[i] = o
        rt.SetFinalizer(objs[4], lambda o: ev.add(500 + o.id))

    def live():
        return sum(1 << i for i in range(6) if ws[i].Value() is not None)

    s = Snaps()
    s.gcsnap("start")
    setup()
    s.snap("setup")
    stops[0].Stop()
    stops[2].Stop()
    stops[2].Stop()
    objs[0] = objs[1] = objs[2] = None
    ev.cycle(1)
    state.append(live())
    objs[4] = None
    ev.cycle(2)
    state.append(live())
    stops[5].Stop()
    objs[3] = objs[5] = None
    ev.cycle(3)
    state.append(live())
    ev.cycle(4)
    state.append(live())
    res = s.result()            # not the cycles' MemStats: Go's cleanup goroutines (timing) allocate there
    res["events"] = ev.cycles
    res["state"] = state
    return res


# ---------------------------------------------------------------------------
# weak pointers to map values

@scenario(tol=gc_noise("delete", "replace", "moved", "clear", "drop"))
def fid6_weak_map_values():
    """map[string]*wmT whose keys are concatenations (a map assignment's key escapes: a
    tiny string; a lookup's or delete's does not), a weak pointer to every value: deleted
    and replaced values go nil, a value stored again under another key stays, clear(m)
    lets all go."""
    T = _types()
    from scenarios_lang_port import Snaps
    ws = [None] * 20
    state, eq = [], [False] * 3

    def key(i):
        return WORDS[i % 8] + NAMES[i % 10]                         # not escaping: no allocation

    words, names = _global_strings(WORDS), _global_strings(NAMES)
    s = Snaps()
    s.gcsnap("start")
    m = rt.make(rt.Map(rt.String, rt.Ptr(T.wmT)))
    for i in range(20):
        v = rt.new(T.wmT)
        v.id, v.name = i, NAMES[i % 10]
        m[rt.concat(words[i % 8], names[i % 10])] = v
        ws[i] = weak.Make(v)
    v = None

    def live():
        return sum(1 << i for i in range(20) if ws[i].Value() is not None)

    s.snap("setup")
    eq[0] = weak.Make(m[key(5)]) == ws[5]
    eq[1] = weak.Make(m[key(6)]) == ws[5]
    s.snap("remake")
    for i in range(0, 20, 3):
        del m[key(i)]
    s.gcsnap("delete")
    state.append(live())
    for i in range(1, 20, 3):
        v = rt.new(T.wmT)
        v.id = 100 + i
        m[rt.concat(words[i % 8], names[i % 10])] = v
    v = None
    s.gcsnap("replace")
    state.append(live())
    m["moved"] = ws[2].Value()
    del m[key(2)]
    s.gcsnap("moved")
    state.append(live())
    eq[2] = ws[2].Value() == m["moved"]
    rt.clear(m)
    s.gcsnap("clear")
    state.append(live())
    m = None
    s.gcsnap("drop")
    res = s.result()
    res["state"] = state
    res["eq"] = eq
    return res


# ---------------------------------------------------------------------------
# large objects between tiny allocations

@scenario(tol=gc_noise("drop_big", "drop_odd_tiny", "drop_half_ptrs", "drop"))
def fid6_large_tiny():
    """64 new(int32) (four to a 16-byte tiny block) with a large []byte (33..55 KB: whole
    pages) after every sixteenth: the large allocations do not reset the tiny block; a
    large []*ltT (its pointers scanned), a large [40000]byte; freeing every other tiny
    object frees no block."""
    T = _types()
    from scenarios_lang_port import Snaps
    tiny_s = [metrics.Sample("/gc/heap/tiny/allocs:objects"), metrics.Sample("/gc/heap/allocs:objects")]
    tiny, big = [None] * 64, [None] * 4
    metrics.Read(tiny_s)
    s = Snaps()
    s.gcsnap("start")
    metrics.Read(tiny_s)
    t0, a0 = (x.Value.Uint64() for x in tiny_s)
    for i in range(64):
        p = rt.new(rt.Int32)
        p.value = i
        tiny[i] = p
        if i % 16 == 7:
            big[i // 16] = rt.make(rt.Slice(rt.Byte), 33000 + i * 1000)
    p = None
    s.snap("mixed")
    metrics.Read(tiny_s)
    counts = [tiny_s[0].Value.Uint64() - t0, tiny_s[1].Value.Uint64() - a0]
    ptrs = rt.make(rt.Slice(rt.Ptr(T.ltT)), 5000)
    for i in range(100):
        q = rt.new(T.ltT)
        q.id = i
        ptrs[i * 50] = q
    q = None
    arr = rt.new(rt.Array(rt.Byte, 40000))
    s.snap("large_scan")
    big[0] = big[2] = None
    s.gcsnap("drop_big")
    for i in range(1, 64, 2):
        tiny[i] = None
    s.gcsnap("drop_odd_tiny")
    for i in range(50):
        ptrs[i * 50] = None
    s.gcsnap("drop_half_ptrs")
    tiny = big = ptrs = arr = None  # noqa: F841 (drops the roots)
    s.gcsnap("drop")
    res = s.result()
    res["tiny"] = counts
    return res


# ---------------------------------------------------------------------------
# the heap goal through runtime/metrics

GOAL_METRICS = ("/gc/heap/goal:bytes", "/gc/heap/live:bytes", "/gc/scan/stack:bytes", "/gc/scan/globals:bytes",
                "/gc/gogc:percent", "/gc/scan/heap:bytes", "/gc/heap/objects:objects",
                "/gc/cycles/total:gc-cycles")


def _int64(u):
    return u - (1 << 64) if u >= 1 << 63 else u


@scenario(tol={"rows.r9.live": Abs(16, "Go's runtime allocates one 16-byte object of its own in some GCs"),
               "rows.r9.objects": Abs(1, "Go's runtime allocates one 16-byte object of its own in some GCs")})
def fid6_goal_metrics():
    """After each runtime.GC and each debug.SetGCPercent (the goal is recomputed at once
    from the last mark) the goal is live + (live + last stack scan + globals) x GOGC/100,
    at least 4 MiB x GOGC/100, and MemStats.NextGC is the same; the live heap, the scan
    work and the object count move by what the program keeps; GOGC=off has no goal."""
    T = _types()
    samples = [metrics.Sample(n) for n in GOAL_METRICS]
    rows, base = [], []
    live_objs = [None] * 3000
    A2K = rt.Array(rt.Byte, 2048)

    def read():
        metrics.Read(samples)
        ms = rt.ReadMemStats()
        v = [x.Value.Uint64() for x in samples]
        goal, live, roots, g = v[0], v[1], v[2] + v[3], _int64(v[4])
        if not base:
            base.extend([live, v[5], v[6], v[7]])
        row = [live - base[0], v[5] - base[1], v[6] - base[2], v[7] - base[3], g]
        if g >= 0:
            row.append(goal - max(live + (live + roots) * g // 100, (4 << 20) * g // 100))
        else:
            row.append(goal >> 40)
        row.append(int(ms.NextGC == goal))
        rows.append(row)

    prevs = []
    rt.GC()
    read()
    for i in range(2000):
        live_objs[i] = rt.new(A2K)
    rt.GC()
    read()
    prevs.append(debug.SetGCPercent(50))
    read()
    head = None
    for i in range(500):
        n = rt.new(T.gmNode)
        n.next = head
        n.val[0] = i
        head = n
    n = None
    rt.GC()
    read()
    prevs.append(debug.SetGCPercent(300))
    read()
    for i in range(1000):
        live_objs[i] = None
    rt.GC()
    read()
    prevs.append(debug.SetGCPercent(-1))
    read()
    head = head.next.next
    rt.GC()
    read()
    prevs.append(debug.SetGCPercent(100))
    read()
    head = None
    live_objs = None
    rt.GC()
    read()
    keys = ("live", "scan", "objects", "cycles", "gogc", "goal_err", "next_gc")
    return {"rows": {f"r{i}": dict(zip(keys, r)) for i, r in enumerate(rows)}, "prev": prevs}


# ---------------------------------------------------------------------------
# interface values copied; a sync.Pool of []byte

@scenario(tol={**gc_noise("drop_orig", "drop_copy", "drop_map", "pool_gc1", "pool_gc2", "drop")})
def fid6_iface_pool():
    """Copying an interface copies its two words (the box is shared: nothing allocated),
    into another array of any and into a map[int]any, whose entries keep the boxes after
    both arrays are cleared; a sync.Pool of []byte: New's `return make(...)` boxes the
    slice (convTslice, 24 bytes) and every Put of a slice boxes it again, while a pool of
    pointers boxes nothing."""
    rec = rt.Struct("ipRec", a=rt.Int, b=rt.Int, name=rt.String)
    words, names = _global_strings(WORDS), _global_strings(NAMES)
    anys = rt.new(rt.Array(rt.Any, 40))                           # Go: ipAny, ipCopy: global arrays
    copies = rt.new(rt.Array(rt.Any, 40))
    news = [0, 0]

    def new_bytes():
        news[0] += 1
        return rt.make(rt.Slice(rt.Byte), 0, 200)

    def new_arr():
        news[1] += 1
        return rt.new(rt.Array(rt.Byte, 200))

    pool, ppool = rt.Pool(New=new_bytes), rt.Pool(New=new_arr)
    held, held_p = [None] * 20, [None] * 20
    got = []
    total = 0
    from scenarios_lang_port import Snaps
    s = Snaps()
    s.gcsnap("start")
    for i in range(40):
        if i % 4 == 0:
            anys[i] = 1000 + i
        elif i % 4 == 1:
            anys[i] = rt.value(rec, {"a": i, "name": names[i % 10]})
        elif i % 4 == 2:
            anys[i] = rt.value(rt.Slice(rt.String), words[:i % 8 + 1])
        else:
            anys[i] = names[i % 10]
    s.snap("box")
    for i in range(40):
        copies[i] = anys[i]
    s.snap("copy")
    m = rt.make(rt.Map(rt.Int, rt.Any), hint=64)
    for i in range(40):
        m[i] = copies[i]
    s.snap("map")
    for i in range(40):
        anys[i] = None
    s.gcsnap("drop_orig")
    for i in range(40):
        copies[i] = None
    s.gcsnap("drop_copy")
    for _, v in m.items():                                          # a type switch
        if isinstance(v, int):
            total += v
        elif isinstance(v, str):
            total += len(v)
        elif v.type == rec:
            total += v.x.a
        else:
            total += len(v.x)
    v = None
    m = None
    s.gcsnap("drop_map")

    def get(n):
        for i in range(n):
            held[i] = pool.Get().x                                  # .([]byte)
            held_p[i] = ppool.Get()                                 # .(*[200]byte)

    def put(n):
        for i in range(n):
            pool.Put(rt.value(rt.Slice(rt.Byte), held[i][:0]))
            ppool.Put(held_p[i])
            held[i] = held_p[i] = None

    get(20)
    got += news
    s.snap("pool_get")
    put(20)
    s.snap("pool_put")
    get(20)
    got += news
    s.snap("pool_get_again")
    put(20)
    s.gcsnap("pool_gc1")
    get(5)
    got += news
    s.gcsnap("pool_gc2")
    held, held_p = [None] * 20, [None] * 20
    s.gcsnap("drop")
    res = s.result()
    res["news"] = got
    res["sum"] = total
    return res


# ---------------------------------------------------------------------------
# an event log with `any` payloads

@scenario(tol=gc_noise("log_drop", "map_drop", "drop"))
def fid6_events():
    """Events {kind string; at int; data any} appended by value: each payload boxed once
    where it is made (an int over 255: 8 bytes, tiny; a string: 16; an evUser: 24; a
    pointer or nil: nothing); copying the events into per-kind slices in a map and into a
    filtered slice copies their interfaces (the boxes are shared), so the boxes live until
    the last copy goes."""
    user = rt.Struct("evUser", id=rt.Int, name=rt.String)
    ev = rt.Struct("evEvent", kind=rt.String, at=rt.Int, data=rt.Any)
    words, names = _global_strings(WORDS), _global_strings(NAMES)
    users = [None] * 8
    for i in range(8):
        u = rt.new(user)
        u.id, u.name = i, names[i]
        users[i] = u
    u = None
    sums = [0] * 5
    from scenarios_lang_port import Snaps
    s = Snaps()
    s.gcsnap("start")
    log = rt.Slice(ev)
    for i in range(200):
        d = (i * 1000, users[i % 8], names[i % 10], rt.value(user, {"id": i}), None)[i % 5]
        log = rt.append(log, {"kind": words[i % 3], "at": i, "data": d})
    d = None
    s.snap("log")
    by_kind = rt.make(rt.Map(rt.String, rt.Slice(ev)))
    for i in range(len(log)):
        e = log[i]
        k = e.kind
        by_kind[k] = rt.append(by_kind.get(k) if k in by_kind else rt.Slice(ev), e)
    e = k = None
    s.snap("by_kind")
    kept = rt.Slice(ev)
    for i in range(len(log)):
        e = log[i]
        if isinstance(e.data, str):
            kept = rt.append(kept, e)
    e = None
    s.snap("filter")
    log = None
    s.gcsnap("log_drop")
    for _, es in by_kind.items():
        for i in range(len(es)):
            x = es[i].data
            if isinstance(x, int):
                sums[0] += x
            elif isinstance(x, rt.Pointer):
                sums[1] += x.id
            elif isinstance(x, str):
                sums[2] += len(x)
            elif x is None:
                sums[4] += 1
            else:
                sums[3] += x.x.id
    es = x = None
    by_kind = None
    s.gcsnap("map_drop")
    kept = None
    s.gcsnap("drop")
    res = s.result()
    res["sums"] = sums
    return res


# ---------------------------------------------------------------------------
# finalizers that allocate

@scenario(tol=gc_noise("fin_ran", "freed", "drop"))
def fid6_fin_alloc():
    """Thirty finalizers, each appending its id to a global []int (append's growth, on the
    finalizer goroutine) and every third storing strconv.Itoa(id * 1000) in a map (the
    digits: a tiny string; "0" is static); the objects are revived for their finalizers
    and freed by the next cycle."""
    from scenarios_fidelity5 import _itoa
    from scenarios_lang_port import Snaps
    res_t = rt.Struct("fzRes", id=rt.Int, buf=rt.Array(rt.Int, 3))
    st = SimpleNamespace(log=rt.Slice(rt.Int), names=None)

    def fin(r):
        st.log = rt.append(st.log, r.id)
        if r.id % 3 == 0:
            st.names[r.id] = _itoa(r.id * 1000)

    objs = [None] * 30
    s = Snaps()
    s.gcsnap("start")
    st.names = rt.make(rt.Map(rt.Int, rt.String))
    for i in range(30):
        o = rt.new(res_t)
        o.id = i
        rt.SetFinalizer(o, fin)
        objs[i] = o
    o = None
    s.snap("setup")
    objs = [None] * 30
    rt.GC()
    wait_queues()
    s.snap("fin_ran")
    s.gcsnap("freed")
    lens = [len(st.log), st.log.cap, len(st.names), sum(st.log[i] for i in range(len(st.log))),
            sum(len(v) for _, v in st.names.items())]
    st.log = st.names = None
    s.gcsnap("drop")
    res = s.result()
    res["lens"] = lens
    return res
