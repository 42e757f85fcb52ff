"""Python twins of go/fidelity7.go: the fidelity audit's seventh round (tiny allocations
of mixed sizes and alignments; finalizers and cleanups on tiny objects; channels
carrying pointers; panics with allocated values recovered by deferred closures; maps
keyed by concatenated strings, deleted from during range with a GC; append of struct
slices across the 32 KiB large-object threshold; cleanups and finalizers on objects in
cycles, with weak pointers; []byte <-> string conversions that escape), written with
goruntime's public API as a Go programmer would port them.
"""
from types import SimpleNamespace

from harness import Info
from scenarios import rt, scenario, weak, metrics
from scenarios_fidelity5 import gc_noise, _itoa
from scenarios_fidelity6 import Events, _global_strings, _without


def _types():
    T = getattr(_types, "T", None)
    if T is None:
        T = SimpleNamespace()
        T.cpT = rt.Struct("cpT", id=rt.Int, next=rt.Ptr("cpT"), pad=rt.Array(rt.Int, 2))
        T.rvErr = rt.Struct("rvErr", op=rt.String, code=rt.Int)
        T.errorString = rt.Struct("errorString", s=rt.String, package="errors")
        T.ckT = rt.Struct("ckT", id=rt.Int, next=rt.Ptr("ckT"))
        T.alP = rt.Struct("alP", p=rt.Ptr(rt.Int), n=rt.Int, s=rt.String)
        T.alN = rt.Struct("alN", a=rt.Int, b=rt.Int, c=rt.Int)
        T.cyN = rt.Struct("cyN", id=rt.Int, peer=rt.Ptr("cyN"), pad=rt.Array(rt.Int, 2))
        _types.T = T
    return T


def _snaps():
    from scenarios_lang_port import Snaps
    return Snaps()


# ---------------------------------------------------------------------------
# tiny allocations of mixed sizes and alignments

@scenario(tol=gc_noise("drop_q", "drop_12", "drop_even", "drop"))
def fid7_tiny_align():
    """new(byte), new(int64), new([3]byte), new(uint16), new([12]byte), new(int32),
    new([7]byte) in turn, 32 times: malloc.go aligns the tiny offset by the size (8, 4
    or 2), opens a new 16-byte block when the object does not fit and keeps the block
    with more room; dropping every int64 frees no block, every [12]byte and then half of
    the rest free some; after a GC the tiny block starts afresh."""
    tiny_s = [metrics.Sample("/gc/heap/tiny/allocs:objects")]
    tiny = []
    lists = {k: [None] * 32 for k in ("b", "h", "3", "w", "q", "12", "7")}
    kinds = (("b", rt.Byte), ("q", rt.Int64), ("3", rt.Array(rt.Byte, 3)), ("h", rt.Uint16),
             ("12", rt.Array(rt.Byte, 12)), ("w", rt.Int32), ("7", rt.Array(rt.Byte, 7)))

    def count():
        metrics.Read(tiny_s)
        tiny.append(tiny_s[0].Value.Uint64())

    s = _snaps()
    s.gcsnap("start")
    count()
    for i in range(32):
        for k, T in kinds:
            p = rt.new(T)
            if T.kind == "array":
                p[0] = i
            else:
                p.value = i
            lists[k][i] = p
    p = None
    s.snap("mixed")
    count()
    lists["q"] = [None] * 32
    s.gcsnap("drop_q")
    lists["12"] = [None] * 32
    s.gcsnap("drop_12")
    for i in range(0, 32, 2):
        for k in ("b", "h", "3", "w", "7"):
            lists[k][i] = None
    s.gcsnap("drop_even")
    for i in range(12):
        lists["3"][i] = rt.new(rt.Array(rt.Byte, 3))
        lists["h"][i] = rt.new(rt.Uint16)
    s.snap("again")
    count()
    lists = None
    s.gcsnap("drop")
    res = s.result()
    res["tiny"] = [tiny[1] - tiny[0], tiny[2] - tiny[1]]
    return res


# ---------------------------------------------------------------------------
# finalizers and cleanups on tiny objects

@scenario(tol=_without(gc_noise(), "*BySizeFrees.2"))
def fid7_fin_tiny():
    """Sixteen new(int32) (four to a tiny block) with finalizers on the first, sixth,
    tenth and fifteenth (inside a block: mfinal.go allows it for a pointer-free object
    under 16 bytes); a finalizer runs when its whole block is unreachable; cleanups on
    new(int16) with an int argument (its box side-steps the tiny allocator: 16 bytes)."""
    ev = Events()
    w, c = [None] * 16, [None] * 8

    def fin(p):
        ev.add(p.value)

    s = _snaps()
    s.gcsnap("start")
    for i in range(16):
        w[i] = rt.new(rt.Int32)
        w[i].value = 100 + i
    for i in (0, 5, 9, 14):
        rt.SetFinalizer(w[i], fin)
    for i in range(8):
        c[i] = rt.new(rt.Int16)
        c[i].value = i
    for i in range(0, 8, 3):
        rt.AddCleanup(c[i], ev.add, 200 + i)
    s.snap("setup")
    w[0] = w[9] = c[0] = None
    ev.cycle(1)
    w[1] = w[2] = w[3] = None
    w[4] = w[6] = w[7] = None
    w[8] = w[10] = w[11] = None
    c[1] = c[2] = None
    ev.cycle(2)
    w[5] = None
    c = [None] * 8
    ev.cycle(3)
    w = [None] * 16
    ev.cycle(4)
    ev.cycle(5)
    res = s.result()                        # (no MemStats across the cycles: timing in Go)
    res["events"] = ev.cycles
    return res


# ---------------------------------------------------------------------------
# channels carrying pointers

@scenario(tol=_without(gc_noise("buffered_gc", "recv_gc", "drain_gc", "drop_chan", "unbuffered_gc", "drop"), "*BySizeFrees.2"))
def fid7_chan_ptrs():
    """A chan *cpT of 16 (hchan and a separate scanned buffer): the 16 sent are live in
    the buffer through a GC; ten received (chanrecv clears their slots) die; six more
    wrap around, the channel is closed and drained; an unbuffered chan hands 16 pointers
    to a goroutine that keeps the even ones."""
    T = _types()
    P = rt.Ptr(T.cpT)
    sums = [0] * 4
    keep = [None] * 8

    def new(i):
        p = rt.new(T.cpT)
        p.id = i
        return p

    s = _snaps()
    s.gcsnap("start")
    buf = rt.make(rt.ChanType(P), 16)
    for i in range(16):
        buf.send(new(i))
    s.snap("fill")
    s.gcsnap("buffered_gc")
    for _ in range(10):
        p = buf.recv()
        sums[0] += p.id
    p = None
    s.gcsnap("recv_gc")
    for i in range(6):
        buf.send(new(100 + i))
    buf.close()
    for p in buf:
        sums[1] += p.id
    p = None
    s.gcsnap("drain_gc")
    buf = None
    s.gcsnap("drop_chan")
    st = SimpleNamespace(unbuf=rt.make(rt.ChanType(P)), done=rt.make(rt.ChanType(rt.Int)))

    def receiver():                                                 # go cpReceiver(): reads the globals
        n = 0
        for p in st.unbuf:
            if p.id % 2 == 0:
                keep[n] = p
                n += 1
            sums[2] += p.id
        p = None
        st.done.send(n)

    rt.go(receiver)
    for i in range(16):
        st.unbuf.send(new(200 + i))
    st.unbuf.close()
    sums[3] = st.done.recv()
    s.snap("unbuffered")
    s.gcsnap("unbuffered_gc")
    keep[:] = [None] * 8
    st.unbuf = st.done = None
    s.gcsnap("drop")
    res = s.result()
    res["sums"] = sums
    return res


# ---------------------------------------------------------------------------
# panics recovered by a deferred closure

@scenario(tol={**gc_noise("panics_gc", "truncate", "drop"),
                "panics.BySize.5": Info("one loaded run of 20 had one 48-byte object more in this interval "
                                        "(no GC in it; the counts' recorded ranges hold it): timing")})
def fid7_recover():
    """rvDo(i) panics with &rvErr{...} (24 bytes), errors.New("boom") (16), i*1000 (an
    int boxed by convT64: 8 bytes, tiny) or a concatenation (boxed by convTstring: 16
    bytes), or returns; the deferred closure recovers, keeps errors in a []error and the
    rest in a [16]any; the open-coded defer and the panic record are on the stack."""
    T = _types()
    words = _global_strings(("read", "write", "seek"))
    anys = rt.new(rt.Array(rt.Any, 16))                             # Go: rvAny [16]any
    st = SimpleNamespace(n=0, sum=0)

    def do(i):
        err = None
        try:
            k = i % 5
            if k == 0:
                e = rt.new(T.rvErr)
                e.op, e.code = words[i % 3], i
                raise rt.Panic(e)
            if k == 1:
                e = rt.new(T.errorString)                           # errors.New("boom")
                e.s = "boom"
                raise rt.Panic(e)
            if k == 2:
                raise rt.Panic(rt.value(rt.Int, i * 1000))
            if k == 3:
                raise rt.Panic(rt.value(rt.String, rt.concat(words[i % 3], "!")))
            st.sum += i
        except rt.Panic as p:                                       # the deferred recover()
            r = p.value
            if isinstance(r, rt.Pointer):                           # r.(error)
                err = r
            else:
                anys[st.n] = r
                st.n += 1
        return err

    errs = rt.Slice(rt.Any)                                         # Go: rvErrs []error
    s = _snaps()
    s.gcsnap("start")
    for i in range(40):
        err = do(i)
        if err is not None:
            errs = rt.append(errs, err)
    err = None
    s.snap("panics")
    s.gcsnap("panics_gc")
    codes = 0
    for i in range(len(errs)):
        e = errs[i]
        if e.type == rt.Ptr(T.rvErr):
            codes += e.code
    e = None
    errs = errs[:0]
    s.gcsnap("truncate")
    errs = None
    for i in range(16):
        anys[i] = None
    s.gcsnap("drop")
    res = s.result()
    res["counts"] = [st.n, st.sum, codes]
    return res


# ---------------------------------------------------------------------------
# maps keyed by concatenated strings

@scenario(tol=gc_noise("delete_range", "reinsert", "clear", "drop"))
def fid7_concat_keys():
    """map[string]*ckT keyed by "user:"/"item:"/"order:" + strconv.Itoa(i): an
    assignment's key escapes (concatstrings on the heap; Itoa's digits from 100 on), a
    lookup's concatenation does not (only Itoa allocates); every key but a quarter
    deleted during range with a GC in the middle; reinsertion; clear keeps the tables."""
    T = _types()
    pre = _global_strings(("user:", "item:", "order:"))
    lens = [0] * 5

    def put(i, v):
        p = rt.new(T.ckT)
        p.id = v
        m[rt.concat(pre[i % 3], _itoa(i))] = p

    s = _snaps()
    s.gcsnap("start")
    m = rt.make(rt.Map(rt.String, rt.Ptr(T.ckT)))
    for i in range(300):
        put(i, i)
    s.snap("fill")
    hits = 0
    for i in range(0, 300, 7):
        key = pre[i % 3] + str(_itoa(i))                           # not escaping: a stack buffer
        p = m.get(key) if key in m else None
        if p is not None and p.id == i:
            hits += 1
    p = None
    lens[0] = hits
    s.snap("lookup")
    n = 0
    for k, v in m.items():
        if n == 50:
            rt.GC()
        if v.id % 4 != 0:
            del m[k]
        n += 1
    k = v = None
    lens[1], lens[2] = n, len(m)
    s.gcsnap("delete_range")
    for i in range(1, 300, 4):
        put(i, -i)
    lens[3] = len(m)
    s.gcsnap("reinsert")
    rt.clear(m)
    lens[4] = len(m)
    s.gcsnap("clear")
    m = None
    s.gcsnap("drop")
    res = s.result()
    res["lens"] = lens
    return res


# ---------------------------------------------------------------------------
# append of struct slices across the large-object threshold

@scenario(tol=_without(gc_noise("truncate", "clip_append", "copy_part", "drop"), "*BySizeFrees.2"))
def fid7_append_large():
    """[]alP ({*int; int; string}: 32 bytes, pointers) appended to 1500 and []alN (24
    bytes, none) to 2000: growslice's capacities rounded to the class (a malloc header
    over 512 bytes for alP) and to whole pages past 32 KiB; a truncated slice keeps its
    array, a full-slice-expression append copies, append(nil, s[a:b]...) copies a part."""
    T = _types()
    caps = []

    def note(c):
        if not caps or caps[-1] != c:
            caps.append(c)

    s = _snaps()
    s.gcsnap("start")
    ps = rt.Slice(T.alP)
    for i in range(1500):
        ps = rt.append(ps, {"n": i})
        note(ps.cap)
    s.snap("scan_grow")
    ns = rt.Slice(T.alN)
    for i in range(2000):
        ns = rt.append(ns, {"a": i})
        note(ns.cap)
    s.snap("noscan_grow")
    ps = ps[:10]
    s.gcsnap("truncate")
    ps = rt.append(ps[:10:10], {"n": -1})
    note(ps.cap)
    s.gcsnap("clip_append")
    ns = rt.append(rt.Slice(T.alN), *[ns[i] for i in range(1000, 1400)])
    note(ns.cap)
    s.gcsnap("copy_part")
    ps = ns = None
    s.gcsnap("drop")
    res = s.result()
    res["caps"] = caps
    return res


# ---------------------------------------------------------------------------
# cycles with cleanups, finalizers and weak pointers

@scenario(tol=_without(gc_noise(), "*BySizeFrees.2"))
def fid7_cycles():
    """A ring of three with a cleanup each is collected (a cleanup keeps nothing); a pair
    in a cycle with a finalizer on one is kept until the program breaks the cycle through
    a weak pointer; a self-cycle with a cleanup is collected, and one with a finalizer
    is finalized (scanobject skips pointers into the object being scanned); a chain of
    two with finalizers runs them a cycle apart. Weak pointers go nil as their objects die."""
    T = _types()
    ev = Events()
    ring = [None] * 3
    ws = [None] * 9
    live = []

    def fin(n):
        ev.add(20 + n.id)

    def new(i):
        p = rt.new(T.cyN)
        p.id = i
        return p

    def mask():
        return sum(1 << i for i, w in enumerate(ws) if w.Value() is not None)

    def setup():                                                    # a, b, c, d, e: locals
        for i in range(3):
            ring[i] = new(i)
        for i in range(3):
            ring[i].peer = ring[(i + 1) % 3]
            rt.AddCleanup(ring[i], ev.add, 10 + i)
            ws[i] = weak.Make(ring[i])
        a, b = new(3), new(4)
        a.peer, b.peer = b, a
        rt.SetFinalizer(a, fin)
        ws[3], ws[4] = weak.Make(a), weak.Make(b)
        c = new(5)
        c.peer = c
        rt.AddCleanup(c, ev.add, 30)
        ws[5] = weak.Make(c)
        d, e = new(6), new(7)
        d.peer = e
        rt.SetFinalizer(d, fin)
        rt.SetFinalizer(e, fin)
        ws[6], ws[7] = weak.Make(d), weak.Make(e)
        f = new(8)
        f.peer = f
        rt.SetFinalizer(f, fin)
        ws[8] = weak.Make(f)

    s = _snaps()
    s.gcsnap("start")
    setup()
    s.snap("setup")
    live.append(mask())
    ring[:] = [None] * 3
    ev.cycle(1)
    live.append(mask())
    ev.cycle(2)
    live.append(mask())
    p = ws[3].Value()
    if p is not None:
        p.peer = None
    p = None
    ev.cycle(3)
    live.append(mask())
    ev.cycle(4)
    live.append(mask())
    p = ws[8].Value()
    if p is not None:
        p.peer = None
    p = None
    ev.cycle(5)
    live.append(mask())
    res = s.result()                        # (no MemStats across the cycles: timing in Go)
    res["events"] = ev.cycles
    res["live"] = live
    return res


# ---------------------------------------------------------------------------
# []byte <-> string conversions that escape

TEXT = "the quick brown fox jumps over the lazy dog and keeps running far away"


@scenario(tol=gc_noise("drop_bytes", "drop"))
def fid7_byte_string():
    """[]byte(s) of 0..64 bytes (rawbyteslice: the capacity is the size class, so
    appending three bytes that fit allocates nothing; an empty one nothing at all);
    string(b) of a prefix (a one-byte string is static, an empty one nothing); a
    substring of a string allocates nothing."""
    text = rt.string(_global_strings((TEXT,))[0])                   # Go: bsText, a string variable
    bs, ss = [None] * 12, [None] * 12
    caps = []
    s = _snaps()
    s.gcsnap("start")
    for i, n in enumerate((0, 1, 5, 15, 16, 20, 33, 40, 64)):
        bs[i] = rt.bytes(text[i % 4:i % 4 + n])
        caps.append(bs[i].cap)
    s.snap("to_bytes")
    for i in range(9):
        bs[i] = rt.append(bs[i], *b"xyz")
        caps.append(bs[i].cap)
    s.snap("append")
    for i in range(9):
        ss[i] = rt.string(bs[i][:i * i // 2])
    s.snap("to_string")
    ss[9] = rt.string(bs[8][3:4])
    ss[10] = rt.string(bs[8][:0])
    ss[11] = text[10:30]
    s.snap("short")
    bs[0] = rt.bytes(ss[8])
    ss[0] = rt.string(bs[8])
    bs = [None] * 12
    s.gcsnap("drop_bytes")
    ss = [None] * 12
    s.gcsnap("drop")
    res = s.result()
    res["caps"] = caps
    return res


# ---------------------------------------------------------------------------
# weak pointers to tiny objects

@scenario(tol=gc_noise("drop_some", "drop_blocks", "value_kept", "drop"))
def fid7_weak_tiny():
    """Twelve new(int32) (three tiny blocks) with a weak pointer each (a 16-byte handle
    box per object, padded off the tiny allocator): weak.Make of the same pointer is
    equal, of a neighbour in the block is not; a handle goes nil only when its whole
    block is unreachable; a strong pointer from Value keeps its block."""
    objs, ws = [None] * 12, [None] * 12
    live, eq = [], [False] * 3

    def mask():
        return sum(1 << i for i, w in enumerate(ws) if w.Value() is not None)

    s = _snaps()
    s.gcsnap("start")
    for i in range(12):
        objs[i] = rt.new(rt.Int32)
        objs[i].value = i
    for i in range(12):
        ws[i] = weak.Make(objs[i])
    s.snap("setup")
    eq[0] = weak.Make(objs[1]) == ws[1]
    eq[1] = ws[0] == ws[1]
    s.snap("remake")
    live.append(mask())
    objs[0] = objs[5] = objs[6] = None
    s.gcsnap("drop_some")
    live.append(mask())
    objs[1] = objs[2] = objs[3] = None
    objs[4] = objs[7] = None
    s.gcsnap("drop_blocks")
    live.append(mask())
    p = ws[9].Value()
    objs = [None] * 12
    s.gcsnap("value_kept")
    live.append(mask())
    eq[2] = p == ws[9].Value()
    rt.KeepAlive(p)
    p = None
    s.gcsnap("drop")
    live.append(mask())
    res = s.result()
    res["live"] = live
    res["eq"] = eq
    return res


# ---------------------------------------------------------------------------
# maps with values and keys over 128 bytes

@scenario(tol=_without(gc_noise("delete", "range_gc", "big_keys_delete", "drop"), "*BySizeFrees.2"))
def fid7_map_big_values():
    """map[int]mbVal (160 bytes: stored indirectly, each value its own object) filled,
    overwritten (the value's object is written in place; the new pointer's object is
    the only allocation), deleted from (the objects die), ranged over deleting the
    current entry before a GC (Go's it.elem keeps its object through that GC);
    map[mbKey]int with 136-byte keys (indirect too): m[k] += 100 reuses the entry."""
    mbVal = rt.Struct("mbVal", id=rt.Int, p=rt.Ptr("mbVal"), buf=rt.Array(rt.Int, 18))
    mbKey = rt.Struct("mbKey", a=rt.Array(rt.Int, 17))
    sums = [0] * 4

    def key(i):
        k = [0] * 17
        k[0], k[16] = i, i * i
        return {"a": k}

    s = _snaps()
    s.gcsnap("start")
    m = rt.make(rt.Map(rt.Int, mbVal))
    for i in range(40):
        m[i] = {"id": i}
    s.snap("fill")
    for i in range(40):                     # every value a pointer (Go deletes a random entry below)
        p = rt.new(mbVal)
        p.id = 1000 + i
        m[i] = {"id": -i, "p": p}
    p = None
    s.snap("overwrite")
    for i in range(0, 40, 3):
        del m[i]
    s.gcsnap("delete")
    n = 0
    for k, v in m.items():
        if n == 5:                                                  # the entry deleted
            del m[k]
            rt.GC()
        sums[0] += k + v["id"]
        if v["p"] is not None:
            sums[1] += v["p"].id
        n += 1
    k = v = None
    s.snap("range_gc")
    mk = rt.make(rt.Map(mbKey, rt.Int))
    for i in range(20):
        mk[key(i)] = i
    for i in range(0, 20, 2):
        mk[key(i)] += 100
        sums[2] += mk[key(i)]
    s.snap("big_keys")
    for i in range(0, 20, 4):
        del mk[key(i)]
    sums[3] = len(mk)
    s.gcsnap("big_keys_delete")
    m = mk = None
    s.gcsnap("drop")
    res = s.result()
    res["sums"] = sums
    return res


# ---------------------------------------------------------------------------
# a map grown while it is ranged over

@scenario(tol=gc_noise("small_grow_gc", "small_after", "big_grow_gc", "big_after", "drop"))
def fid7_map_grow_range():
    """A small map[int]*mgT (one group) and a 100-entry one (one table), each grown by
    inserts at the first step of a range over it, with a GC there: the iterator keeps
    the group or table it started on (Go's Iter reads the old one and looks entries up
    in the new), so the GC frees nothing of them; the GC after the range does."""
    mgT = rt.Struct("mgT", id=rt.Int, nxt=rt.Ptr("mgT"))

    def put(m, i):
        p = rt.new(mgT)
        p.id = i
        m[i] = p

    s = _snaps()
    s.gcsnap("start")
    small = rt.make(rt.Map(rt.Int, rt.Ptr(mgT)))
    for i in range(8):
        put(small, i)
    s.snap("small_fill")
    first = True
    for _ in small:
        if first:
            first = False
            for i in range(100, 120):
                put(small, i)
            s.gcsnap("small_grow_gc")
    s.gcsnap("small_after")
    big = rt.make(rt.Map(rt.Int, rt.Ptr(mgT)))
    for i in range(100):
        put(big, i)
    s.snap("big_fill")
    first = True
    for _ in big:
        if first:
            first = False
            for i in range(1000, 1300):
                put(big, i)
            s.gcsnap("big_grow_gc")
    s.gcsnap("big_after")
    lens = [len(small), len(big)]
    small = big = None
    s.gcsnap("drop")
    res = s.result()
    res["lens"] = lens
    return res


# ---------------------------------------------------------------------------
# finalizers that re-arm themselves and revive their object

@scenario(tol=_without(gc_noise("remake", "end"), "*BySizeFrees.2"))
def fid7_fin_rearm():
    """Four objects whose finalizer counts its runs and sets itself again (up to three
    runs), the first revived for good by its first run: every weak pointer goes nil at
    the first cycle (the sweep unlinks the weak handles of an object it revives), weak.Make
    on the revived object gives a new handle (not equal to the old); each re-armed
    finalizer runs a cycle after the last, the revived object's once it is dropped."""
    frT = rt.Struct("frT", id=rt.Int, runs=rt.Int, pad=rt.Array(rt.Int, 2))
    ev = Events()
    st = SimpleNamespace(keep=None, w2=None)
    ws = [None] * 4
    live = []

    def fin(p):
        p.runs += 1
        ev.add(100 * p.runs + p.id)
        if p.runs < 3:
            rt.SetFinalizer(p, fin)
        if p.id == 0 and p.runs == 1:
            st.keep = p

    def mask():
        m = sum(1 << i for i, w in enumerate(ws) if w.Value() is not None)
        return m | (16 if st.w2 is not None and st.w2.Value() is not None else 0)

    def setup():
        for i in range(4):
            p = rt.new(frT)
            p.id = i
            rt.SetFinalizer(p, fin)
            ws[i] = weak.Make(p)

    s = _snaps()
    s.gcsnap("start")
    setup()
    s.snap("setup")
    live.append(mask())
    ev.cycle(1)
    live.append(mask())
    st.w2 = weak.Make(st.keep)
    eq = st.w2 == ws[0]
    s.snap("remake")
    live.append(mask())
    ev.cycle(2)
    live.append(mask())
    ev.cycle(3)
    live.append(mask())
    st.keep = None
    for i in range(4, 7):
        ev.cycle(i)
        live.append(mask())
    s.snap("end")
    res = s.result()
    res["events"] = ev.cycles
    res["live"] = live
    res["eq"] = eq
    return res
