"""Python twins of go/fidelity5.go: the fidelity audit's fifth round (sets, map[K]struct{},
grown, deleted from during range, cleared and refilled; rune conversions, WriteRune and
strconv.Itoa; the slices package and a grid of rows; finalizers and cleanups on map
values, a slice's backing array, tiny objects and objects their own map points back at;
weak pointers to fields and elements inside larger objects), written with goruntime's
public API as a Go programmer would port them.
"""
from types import SimpleNamespace

from harness import Abs
from scenarios import rt, scenario, weak
from scenarios_fidelity import wait_queues
from scenarios_fidelity3 import ALLGS, _bytes_of, _nil_bytes
from scenarios_lang_port import NOISE, Snaps


def gc_noise(*labels):
    """NOISE where Go's runtime makes it: its own 16-byte object comes and goes during some
    GCs (recorded: at runtime.GC snapshots only, never between two plain reads), so the
    counts are compared exactly at every snapshot but those taken after GCs (*labels*);
    HeapInuse everywhere (Go's start-up spans), BySize[2] within 2 everywhere (the Mallocs
    beside it are exact)."""
    counts = ("Mallocs", "Frees", "HeapObjects", "HeapAlloc", "TotalAlloc")
    tol = {f"{label}.{f}": NOISE[f"*{f}"] for label in labels for f in counts}
    tol.update({k: NOISE[k] for k in ("*HeapInuse", "*BySize.2", "*BySizeFrees.2")})
    return tol


def _types():
    T = getattr(_types, "T", None)
    if T is None:
        T = SimpleNamespace()
        T.empty = rt.Struct(None)
        T.slItem = rt.Struct("slItem", id=rt.Int, name=rt.String, tags=rt.Slice(rt.String))
        T.fhRes = rt.Struct("fhRes", id=rt.Int, data=rt.Array(rt.Int, 6))
        T.fhOwner = rt.Struct("fhOwner", id=rt.Int, byName=rt.Map(rt.String, rt.Ptr("fhOwner")))
        T.zsEmpty = rt.Struct("zsEmpty")
        T.zsTail = rt.Struct("zsTail", n=rt.Int, z=rt.Struct(None))
        T.wsWorker = rt.Struct("wsWorker", id=rt.Int, buf=rt.Array(rt.Int, 4))
        T.lpEntry = rt.Struct("lpEntry", level=rt.String, code=rt.Int, msg=rt.String)
        T.lpStats = rt.Struct("lpStats", count=rt.Int, codes=rt.Slice(rt.Int), last=rt.String)
        T.cfReq = rt.Struct("cfReq", n=rt.Int, reply=rt.ChanType(rt.Int))
        T.wfBig = rt.Struct("wfBig", id=rt.Int, a=rt.Array(rt.Int, 8), name=rt.String, b=rt.Array(rt.Int64, 4))
        _types.T = T
    return T


# ---------------------------------------------------------------------------
# sets: map[K]struct{}

@scenario(tol=gc_noise("ints_delete", "ints_clear", "ints_drop", "strs_delete", "strs_drop", "drop"))
def fid5_sets():
    """map[int]struct{} (16-byte slots: a trailing zero-size field is padded), grown to
    1000 keys (two 1024-slot tables), half deleted during range, 500 reinserted, cleared
    and refilled without allocating; map[string]struct{} with a hint of 16;
    map[[2]int32]struct{} (12-byte slots)."""
    T = _types()
    E = T.empty
    keys = [rt.unsafe_string(_bytes_of(bytes([ord("k"), ord("a") + i % 26, ord("a") + i // 26])))
            for i in range(120)]                                    # Go: stKeys, a global array
    lens = [0] * 6
    s = Snaps()
    s.gcsnap("start")
    ints = rt.make(rt.Map(rt.Int, E))
    for i in range(1000):
        ints[i * 7] = {}
    s.snap("ints_fill")
    n = 0
    for k in ints:                                                  # delete during range
        if k % 2 == 0:
            del ints[k]
        n += 1
    lens[0], lens[1] = len(ints), n
    s.gcsnap("ints_delete")
    for i in range(500):
        ints[i * 14 + 1] = {}
    s.snap("ints_reinsert")
    rt.clear(ints)
    s.gcsnap("ints_clear")
    for i in range(100):
        ints[i] = {}
    s.snap("ints_refill")
    lens[2] = len(ints)
    ints = None
    s.gcsnap("ints_drop")

    strs = rt.make(rt.Map(rt.String, E), hint=16)
    for r in range(3):
        for i in range(120):
            if (i + r) % 3 != 0:
                strs[keys[i]] = {}
    s.snap("strs_fill")
    lens[3] = len(strs)
    for i in range(0, 120, 4):
        del strs[keys[i]]
    lens[4] = len(strs)
    s.gcsnap("strs_delete")
    strs = None
    s.gcsnap("strs_drop")

    pair = rt.make(rt.Map(rt.Array(rt.Int32, 2), E))
    for i in range(300):
        pair[[i % 17, i % 23]] = {}
    s.snap("pair_fill")
    lens[5] = len(pair)
    pair = keys = None
    s.gcsnap("drop")
    res = s.result()
    res["lens"] = lens
    return res


# ---------------------------------------------------------------------------
# runes

SRC = ("gopher", "héllo, wörld", "日本語のテキスト", "", "a🙂b🙃c", "x",
       "the quick brown fox jumps over the lazy dog, again and again and again")


def _rune(i):
    if i % 11 == 5:
        return -1
    if i % 7 == 3:
        return 0x1f600 + i % 50
    if i % 5 == 2:
        return 0x65e5 + i
    if i % 3 == 1:
        return 0xe0 + i
    return ord("A") + i % 26


def _itoa(v):
    """strconv.Itoa: 0..99 are substrings of a constant (no allocation); others are the
    digits formatted into a stack array and converted (string(a[i:]): len bytes)."""
    if 0 <= v < 100:
        return str(v)
    return rt.unsafe_string(_bytes_of(str(v).encode()))


@scenario(tol=gc_noise("string_rune_gc", "drop"))
def fid5_runes():
    """string(r): intstring, a 4-byte rawstring (tiny) for every rune, ASCII too;
    []rune(s): rawruneslice, 4 bytes a rune rounded up to the size class (nothing for
    ""); string(rs): slicerunetostring, the encoded length + 3 bytes; ranging over a
    string allocates nothing; Builder.WriteRune appends the rune's UTF-8 bytes at once;
    strconv.Itoa allocates the digits (not below 100)."""
    src = rt.new(rt.Array(rt.String, len(SRC)))                    # Go: rnSrc, a global array
    for i, t in enumerate(SRC):
        src[i] = t
    sums = [0] * 6
    s = Snaps()
    s.gcsnap("start")
    strs = [rt.string(_rune(i)) for i in range(60)]                 # string(rnRune(i))
    s.snap("string_rune")
    sums[0] = sum(len(x) for x in strs)
    s.gcsnap("string_rune_gc")
    runes = rt.Slice(rt.Slice(rt.Int32))                            # Go: rnRunes [][]rune
    for i in range(len(SRC)):
        runes = rt.append(runes, rt.runes(src[i]))
    s.snap("to_runes")
    back = []
    for i in range(len(runes)):
        rs = runes[i]
        sums[1] += len(rs) * 1000 + rs.cap
        back.append(rt.string(rs))
    rs = None
    s.snap("from_runes")
    for b in back:
        sums[2] += len(b)
        sums[3] += sum(ord(c) & 0xff for c in str(b))
    b = None
    s.snap("range_string")
    text = rt.concat(src[1], src[2])                               # rnSrc[1] + rnSrc[2]
    buf = _nil_bytes()                                             # var b strings.Builder
    for c in str(text):
        buf = rt.append(buf, *c.upper().encode())                  # b.WriteRune(unicode.ToUpper(r))
    text = None
    upper = rt.unsafe_string(buf)
    buf = None
    s.snap("write_rune")
    sums[4] = len(upper)
    nums = [_itoa(i * 37 - 300) for i in range(40)]
    s.snap("itoa")
    sums[5] = sum(len(x) for x in nums)
    strs = runes = back = upper = nums = None
    s.gcsnap("drop")
    res = s.result()
    res["sums"] = sums
    return res


# ---------------------------------------------------------------------------
# the slices package

WORDS = ("red", "red", "green", "blue", "blue", "blue", "cyan", "red", "red", "teal")


def _grow(s, n, zero):
    """slices.Grow: append(s[:cap(s)], make([]E, n)...)[:len(s)] when n exceeds the room."""
    n -= s.cap - len(s)
    if n > 0:
        s = rt.append(s[:s.cap], *[zero] * n)[:len(s)]
    return s


def _insert(s, i, vs, zero):
    """slices.Insert (v is the caller's variadic array, on its stack)."""
    n, m = len(s), len(vs)
    if i == n:
        return rt.append(s, *vs)
    if n + m > s.cap:
        s2 = rt.append(s[:i], *[zero] * (n + m - i))
        for k, v in enumerate(vs):
            s2[i + k] = v
        rt.copy(s2[i + m:], s[i:])
        return s2
    s = s[:n + m]
    rt.copy(s[i + m:], s[i:])
    for k, v in enumerate(vs):
        s[i + k] = v
    return s


def _delete(s, i, j):
    """slices.Delete: append(s[:i], s[j:]...) in place, then clear(s[len(s):oldlen])."""
    old = len(s)
    rt.copy(s[i:], s[j:])
    s = s[:old - (j - i)]
    rt.clear(s[len(s):old])
    return s


def _clip(s):
    return s[:len(s):len(s)]


def _compact(s):
    """slices.Compact on comparable (string) elements."""
    if len(s) < 2:
        return s
    for k in range(1, len(s)):
        if s[k] == s[k - 1]:
            s2 = s[k:]
            for k2 in range(1, len(s2)):
                if s2[k2] != s2[k2 - 1]:
                    s[k] = s2[k2]
                    k += 1
            rt.clear(s[k:])
            return s[:k]
    return s


@scenario(tol=gc_noise("delete_gc", "clone_keeps_seven", "ptrs_drop", "vals_delete", "vals_drop", "strs_drop",
                       "grid_truncate", "drop"))
def fid5_slices():
    """slices.Grow is growslice from the capacity (append(s[:cap], make(n)...)); Insert
    past the capacity is append(s[:i], make(n+m-i)...); Delete and Compact clear the
    tail (the dropped pointers' objects die); Clip then append copies; Clone is
    append(S{}, s...); Concat is Grow(nil, total) then appends; Repeat is one make; a
    grid's rows each grow from nil; truncating the grid keeps the dropped rows (the
    array is scanned to its capacity)."""
    T = _types()
    P = rt.Ptr(T.slItem)
    caps = [0] * 11

    def new(i):
        p = rt.new(T.slItem)
        p.id = i
        return p

    s = Snaps()
    s.gcsnap("start")
    ptrs = rt.make(rt.Slice(P), 0, 5)
    for i in range(5):
        ptrs = rt.append(ptrs, new(i))
    s.snap("ptrs_make")
    ptrs = _grow(ptrs, 20, None)
    caps[0] = ptrs.cap
    s.snap("grow")
    ptrs = _grow(ptrs, 10, None)
    s.snap("grow_fits")
    ptrs = _insert(ptrs, 2, [new(100), new(101)], None)
    s.snap("insert_fits")
    while len(ptrs) < ptrs.cap:
        ptrs = rt.append(ptrs, new(len(ptrs)))
    s.snap("fill_cap")
    ptrs = _insert(ptrs, 1, [new(200), new(201), new(202)], None)
    caps[1] = ptrs.cap
    s.snap("insert_grow")
    ptrs = _delete(ptrs, 0, 4)
    s.gcsnap("delete_gc")
    ptrs = rt.append(_clip(ptrs), new(300))
    caps[2] = ptrs.cap
    s.snap("clip_append")
    clone = rt.append(rt.make(rt.Slice(P), 0), *[ptrs[i] for i in range(7)])   # slices.Clone(ptrs[:7])
    caps[3] = clone.cap
    s.snap("clone")
    ptrs = None
    s.gcsnap("clone_keeps_seven")
    clone = None
    s.gcsnap("ptrs_drop")

    vals = rt.make(rt.Slice(T.slItem), 3)
    for i in range(40):
        vals = rt.append(vals, {"id": i, "name": WORDS[i % 10]})
    caps[4] = vals.cap
    s.snap("vals_append")
    vals = _insert(vals, 10, [{"id": 900}, {"id": 901}], None)
    caps[5] = vals.cap
    s.snap("vals_insert")
    vals = _delete(vals, 5, 30)
    caps[6] = len(vals)
    s.gcsnap("vals_delete")
    vals = None
    s.gcsnap("vals_drop")

    strs = rt.make(rt.Slice(rt.String), 30)                        # slices.Repeat(slWords[:], 3)
    for i in range(30):
        strs[i] = WORDS[i % 10]
    caps[7] = strs.cap
    s.snap("repeat")
    strs = _compact(strs)
    caps[8] = len(strs)
    s.snap("compact")
    parts = [[strs[i] for i in range(len(strs))], list(WORDS[:4]), [], list(WORDS[6:])]
    cat = _grow(rt.append(rt.Slice(rt.String)), sum(map(len, parts)), "")    # slices.Concat: Grow[S](nil, size)
    for p in parts:
        cat = rt.append(cat, *p)
    caps[9] = cat.cap
    s.snap("concat")
    strs = cat = None
    s.gcsnap("strs_drop")

    grid = rt.Slice(rt.Slice(rt.String))
    for r in range(12):
        row = rt.Slice(rt.String)
        for c in range(3 + r):
            row = rt.append(row, WORDS[(r + c) % 10])
        grid = rt.append(grid, row)
    row = None
    caps[10] = grid.cap
    s.snap("grid")
    for r in range(len(grid)):
        grid[r] = rt.append(_clip(grid[r]), "end")
    s.snap("grid_rows_grow")
    grid = grid[:4]
    s.gcsnap("grid_truncate")
    grid = None
    s.gcsnap("drop")
    res = s.result()
    res["caps"] = caps
    return res


# ---------------------------------------------------------------------------
# finalizers and cleanups where programs put them

@scenario(tol={**gc_noise("cycles"), "cycles.BySize.4": Abs(1, "a waitQueues sleep grows the P's timer heap to two entries "
                                                  "(a 32-byte array) when the background scavenger's timer is "
                                                  "pending too: timing (recorded: 10 of 20 runs)")})
def fid5_fin_holders():
    """Finalizers on a map's values (deleting the key drops the only reference), on a
    slice's backing array (&s[0]; a sub-slice keeps it waiting), cleanups on new(int64)
    (tiny: a block's cleanups wait for both its objects), and owners holding a map:
    one pointing back at itself (a cycle through its map: never finalized), one at a
    peer with a finalizer (finalized a cycle after it)."""
    T = _types()
    events = []
    st = SimpleNamespace(map=None, slice=None, tiny=[None] * 12, owners=[None] * 4)

    def fin(r):
        events.append(r.id)

    def arr_fin(r):
        events.append(1000 + r.id)

    def owner_fin(o):
        events.append(2000 + o.id)

    def tiny_cleanup(i):
        events.append(3000 + i)

    def setup():
        st.map = rt.make(rt.Map(rt.Int, rt.Ptr(T.fhRes)))
        for i in range(12):
            r = rt.new(T.fhRes)
            r.id = i
            rt.SetFinalizer(r, fin)
            st.map[i] = r
        st.slice = rt.make(rt.Slice(T.fhRes), 10)
        st.slice[0].id = 7
        rt.SetFinalizer(st.slice.ptr(0), arr_fin)
        for i in range(12):
            p = rt.new(rt.Int64)
            p.value = i
            st.tiny[i] = p
            rt.AddCleanup(p, tiny_cleanup, i)
        for i in range(4):
            o = rt.new(T.fhOwner)
            o.id = i
            o.byName = rt.make(rt.Map(rt.String, rt.Ptr(T.fhOwner)))
            rt.SetFinalizer(o, owner_fin)
            st.owners[i] = o
        st.owners[0].byName["self"] = st.owners[0]
        st.owners[1].byName["peer"] = st.owners[2]
        st.owners[3].byName["none"] = None

    cycles = {}

    def cycle(i):
        rt.GC()
        wait_queues()
        cycles[f"cycle{i}"] = sorted(events)
        events.clear()

    s = Snaps()
    s.gcsnap("start")
    setup()
    s.snap("setup")
    for k in range(0, 12, 3):
        del st.map[k]
    st.slice = st.slice[2:5]
    st.tiny[1] = st.tiny[2] = st.tiny[3] = None
    st.owners = [None] * 4
    cycle(1)
    st.slice = None
    for i in range(4, 12):
        st.tiny[i] = None
    cycle(2)
    st.map = None
    st.tiny[0] = None
    cycle(3)
    cycle(4)
    cycle(5)
    s.snap("cycles")
    res = s.result()
    res["events"] = cycles
    return res


# ---------------------------------------------------------------------------
# weak pointers to fields and elements

@scenario(tol=gc_noise("all_live", "drop_some", "inner_dropped", "drop_all"))
def fid5_weak_fields():
    """weak.Make of &obj.a[3], &obj.b[i], &arr[4].a[0], &m[k].a[7]: a 16-byte handle per
    (object, offset) (weakHandleBox), shared by Make of the same address (&obj.id and obj
    are one); every weak pointer into an object goes nil when the object dies, and a
    strong interior pointer (&obj.b[1]) or a sub-slice keeps it whole."""
    T = _types()
    st = SimpleNamespace(objs=[None] * 4, arr=None, map=None, inner=None)
    w, w64, wb = [weak.Pointer()] * 12, [weak.Pointer()] * 6, [weak.Pointer()] * 4
    state = []
    eq = [False] * 5

    def setup():
        for i in range(4):
            o = rt.new(T.wfBig)
            o.id = i
            st.objs[i] = o
        st.arr = rt.make(rt.Slice(T.wfBig), 6)
        st.map = rt.make(rt.Map(rt.Int, rt.Ptr(T.wfBig)))
        for i in range(3):
            o = rt.new(T.wfBig)
            o.id = 10 + i
            st.map[i] = o
        for i in range(4):
            w[i] = weak.Make(st.objs[i].a.ptr(3))
            wb[i] = weak.Make(st.objs[i])
        w[4] = weak.Make(st.objs[0].field_ptr("id"))
        w[5] = weak.Make(st.arr[4].a.ptr(0))
        w[6] = weak.Make(st.arr[0].field_ptr("id"))
        for i in range(3):
            w[7 + i] = weak.Make(st.map[i].a.ptr(7))
        for i in range(4):
            w64[i] = weak.Make(st.objs[i].b.ptr(i))
        w64[4] = weak.Make(st.arr[5].b.ptr(3))
        st.inner = st.objs[2].b.ptr(1)

    def record():
        row = [0] * 12
        for i in range(10):
            row[i] = int(w[i].Value() is not None)
        for i in range(5):
            row[10] |= (w64[i].Value() is not None) << i
        for i in range(4):
            row[11] |= (wb[i].Value() is not None) << i
        state.append(row)

    s = Snaps()
    s.gcsnap("start")
    setup()
    s.snap("setup")
    eq[0] = weak.Make(st.objs[1].a.ptr(3)) == w[1]
    eq[1] = weak.Make(st.objs[1].a.ptr(4)) == w[1]
    eq[2] = weak.Make(st.arr[4].a.ptr(0)) == w[5]
    eq[3] = w[4].Value() == st.objs[0].field_ptr("id")
    s.snap("remake")
    record()
    s.gcsnap("all_live")
    record()
    st.objs[1] = st.objs[2] = None
    del st.map[1]
    s.gcsnap("drop_some")
    record()
    st.arr = st.arr[4:5]
    st.inner = None
    s.gcsnap("inner_dropped")
    record()
    st.arr = st.map = None
    st.objs = [None] * 4
    s.gcsnap("drop_all")
    record()
    eq[4] = w[0].Value() is None and weak.Make(None) == weak.Pointer()
    s.snap("end")
    res = s.result()
    res["state"] = {f"r{r}": row for r, row in enumerate(state)}
    res["eq"] = eq
    return res


# ---------------------------------------------------------------------------
# channels stored in heap memory

KEYS = ("a", "bb", "ccc", "dddd", "eeeee", "ffffff", "g", "hh", "iii", "jjjj")


@scenario(tol=gc_noise("req_reply_gc", "fan_out_sub", "fan_out_drop", "map_half", "chan_any", "drop"))
def fid5_chan_fields():
    """A channel in a struct field (a request's reply channel), in a slice (fan-out), as
    a map value, in a channel's buffer and in an interface is its hchan's address: the
    word keeps the hchan and its buffer alive, and reading it gives the channel back."""
    T = _types()
    CI = rt.ChanType(rt.Int)
    st = SimpleNamespace(reqs=None)
    total, lens = 0, [0] * 6
    box = rt.new(rt.Any)                                            # Go: cfAny, a global (not measured)

    def server():                                                   # reads cfReqs, a global
        for r in st.reqs:
            r.reply.send(r.n * 2)

    s = Snaps()
    s.gcsnap("start")
    st.reqs = rt.make(rt.ChanType(rt.Ptr(T.cfReq)), 8)
    rt.go(server)
    for i in range(20):
        r = rt.new(T.cfReq)
        r.n = i
        r.reply = rt.make(CI, 1)
        st.reqs.send(r)
        total += r.reply.recv()
    r = None
    s.snap("req_reply")
    st.reqs.close()
    st.reqs = None
    s.gcsnap("req_reply_gc")
    outs = rt.make(rt.Slice(CI), 6)
    for i in range(6):
        outs[i] = rt.make(CI, i)
    for i in range(1, 6):
        for k in range(i):
            outs[i].send(i * 10 + k)
    s.snap("fan_out")
    for i in range(1, 6):
        total += outs[i].recv()
        lens[i - 1] = len(outs[i])
    outs = outs[3:]
    s.gcsnap("fan_out_sub")
    outs = None
    s.gcsnap("fan_out_drop")
    CB = rt.ChanType(rt.Slice(rt.Byte))
    by_name = rt.make(rt.Map(rt.String, CB))
    for i, k in enumerate(KEYS):
        c = rt.make(CB, 2)
        c.send(rt.make(rt.Slice(rt.Byte), 8 + 8 * i))
        by_name[k] = c
    c = None
    s.snap("map_of_chans")
    for k in KEYS[:5]:
        b = by_name[k].recv()
        total += len(b)
        del by_name[k]
    b = None
    s.gcsnap("map_half")
    cc = rt.make(rt.ChanType(CI), 3)
    for i in range(3):
        c = rt.make(CI, 4)
        c.send(i)
        cc.send(c)
    s.snap("chan_of_chans")
    c = cc.recv()
    total += c.recv()
    box.value = c
    c = None
    s.gcsnap("chan_any")
    lens[5] = box.value.cap
    by_name = cc = None
    box.value = None
    s.gcsnap("drop")
    res = s.result()
    res["sum"] = total
    res["lens"] = lens
    return res


# ---------------------------------------------------------------------------
# zero-size values

@scenario(tol=gc_noise("drop"))
def fid5_zero_size():
    """new(struct{}) and new([0]int) are zerobase (nothing allocated); append to a
    []struct{} never allocates (cap = len); a struct whose last field has size zero is
    padded (zsTail: 16 bytes), as is a map slot with a zero-size element; a struct{} key
    or channel element takes no room (a chan struct{} is its hchan alone); boxing a
    zero-size value is zerobase, a 16-byte struct a 16-byte copy (of a run-time value: Go
    boxes a constant composite literal from static data)."""
    T = _types()
    E = rt.Struct(None)
    anys = rt.new(rt.Array(rt.Any, 10))                             # Go: zsAny, a global array
    caps = [0] * 4
    s = Snaps()
    s.gcsnap("start")
    ptrs = [rt.new(T.zsEmpty) for _ in range(50)]
    s.snap("new_empty")
    sl = rt.Slice(E)
    for _ in range(1000):
        sl = rt.append(sl, {})
    caps[0] = sl.cap
    s.snap("append_empty")
    tails = rt.make(rt.Slice(T.zsTail), 10)
    for i in range(20):
        tails = rt.append(tails, {"n": i})
    caps[1] = tails.cap
    s.snap("tail_padding")
    m = rt.make(rt.Map(T.zsEmpty, rt.Int))
    m[{}] = 5
    m[{}] += 1
    caps[2] = m[{}]
    s.snap("map_empty_key")
    m2 = rt.make(rt.Map(rt.Int, rt.Array(rt.Int, 0)))
    for i in range(20):
        m2[i] = []
    s.snap("map_zero_elem")
    ch = rt.make(rt.ChanType(E), 64)
    for _ in range(64):
        ch.send({})
    ch.recv()
    caps[3] = len(ch)
    s.snap("chan_empty")
    for i in range(10):
        anys[i] = rt.value(T.zsEmpty, {})
    anys[1] = rt.value(rt.Array(rt.Int, 0), [])
    anys[2] = rt.value(T.zsTail, {"n": len(ch)})
    s.snap("boxed")
    arr0 = rt.new(rt.Array(rt.Int, 0))
    s.snap("new_zero_array")
    ptrs = sl = tails = m = m2 = ch = arr0 = None  # noqa: F841 (drops the roots)
    for i in range(10):
        anys[i] = None
    s.gcsnap("drop")
    res = s.result()
    res["caps"] = caps
    return res


# ---------------------------------------------------------------------------
# workers selecting on channels given to them

@scenario(tol={**gc_noise("slice_dropped", "quit_closed", "after", "drop"),
               "slice_dropped.BySizeFrees.6": ALLGS["gc_kept.BySizeFrees.6"]})
def fid5_worker_select():
    """Four workers select on their own jobs channel and a shared quit channel, given as
    arguments. Once the slice of jobs channels is dropped the parked goroutines alone
    keep them; a close(quit) just before runtime.GC wakes them all, they exit during the
    mark, and the channels are freed only by the next cycle (each select case's sudog
    points at its channel until selectgo's pass 3 clears it under the write barrier)."""
    T = _types()
    st = SimpleNamespace(workers=None, jobs=None, results=None, quit=None)
    total = 0

    def run(w, jobs, quit):
        while True:
            i, n, _ = rt.select([("recv", jobs), ("recv", quit)])
            if i == 1:
                return
            w.buf[n % 4] += n
            st.results.send(n * w.id)

    CI = rt.ChanType(rt.Int)
    s = Snaps()
    s.gcsnap("start")
    st.results = rt.make(CI, 64)
    st.quit = rt.make(rt.ChanType(rt.Struct(None)), 0)
    st.workers, st.jobs = rt.Slice(rt.Ptr(T.wsWorker)), rt.Slice(CI)
    for i in range(4):
        w = rt.new(T.wsWorker)
        w.id = i + 1
        st.workers = rt.append(st.workers, w)
        st.jobs = rt.append(st.jobs, rt.make(CI, 2))
        rt.go(run, w, st.jobs[i], st.quit)
    w = None
    rt.Gosched()
    s.snap("workers_parked")
    for k in range(40):
        st.jobs[k % 4].send(k)
        if k % 8 == 7:
            rt.Gosched()
    for _ in range(40):
        total += st.results.recv()
    s.snap("jobs")
    st.jobs = None
    s.gcsnap("slice_dropped")
    st.quit.close()
    st.quit = None
    s.gcsnap("quit_closed")
    s.gcsnap("after")
    st.results = st.workers = None
    s.gcsnap("drop")
    res = s.result()
    res["sum"] = total
    return res


# ---------------------------------------------------------------------------
# a log pipeline

LEVELS = ("INFO", "WARN", "ERROR")
MSGS = ("request ok", "moved permanently", "upstream failed", "cache miss", "slow query")


def _lp_parse(line):
    """lpParse: the level and message are substrings of the line (Go's line[:i],
    line[j+1:]: rt.string(line) is the line's value, whose slices share its bytes);
    strconv.Atoi of a short field allocates nothing."""
    i = line.index(" ")
    j = line.index(" ", i + 1)
    v = rt.string(line)
    return {"level": v[:i], "code": int(line[i + 1:j]), "msg": v[j + 1:]}


@scenario(tol={**gc_noise("pipeline_gc", "lines_dropped", "stats_dropped", "drop"),
               "pipeline_gc.BySizeFrees.6": ALLGS["gc_kept.BySizeFrees.6"]})
def fid5_log_pipeline():
    """Lines parsed into struct values (substrings of the line) sent over a buffered
    channel of structs (a separate scanned buffer) to a consumer keeping per-level stats in
    a map whose keys and last messages are substrings, so they keep their lines alive
    until the stats go; then a report from a strings.Builder and strconv.Itoa."""
    T = _types()
    lines = rt.make(rt.Slice(rt.String), 600)                       # lpMakeLines, before the start
    for i in range(600):
        lines[i] = rt.concat(LEVELS[(i * i + i // 5) % 3], " ", _itoa(100 + i * 7 % 400), " ", MSGS[i % 5])
    st = SimpleNamespace(lines=lines, ch=None, done=None, by_lvl=None)
    lines = None
    sums = [0, 0, 0]

    def producer():
        for k in range(len(st.lines)):
            st.ch.send(_lp_parse(st.lines[k]))
        st.ch.close()

    def consumer():
        for e in st.ch:
            s_ = st.by_lvl.get(e["level"])
            if s_ is None:
                s_ = rt.new(T.lpStats)
                st.by_lvl[e["level"]] = s_
            s_.count += 1
            s_.codes = rt.append(s_.codes, e["code"])
            s_.last = e["msg"]
        st.done.send({})

    s = Snaps()
    s.gcsnap("start")
    st.ch = rt.make(rt.ChanType(T.lpEntry), 16)
    st.done = rt.make(rt.ChanType(rt.Struct(None)), 0)
    st.by_lvl = rt.make(rt.Map(rt.String, rt.Ptr(T.lpStats)))
    rt.go(producer)
    rt.go(consumer)
    st.done.recv()
    s.snap("pipeline")
    st.ch = st.done = None
    s.gcsnap("pipeline_gc")
    buf = _nil_bytes()                                              # var b strings.Builder
    for lvl in LEVELS:
        x = st.by_lvl[lvl]
        for part in (lvl, "=", _itoa(x.count), " ", x.last, "\n"):
            buf = rt.append(buf, *bytes(rt.string(part)))
        sums[0] += x.count
        sums[1] += len(x.codes) * 1000 + x.codes.cap
    x = part = None
    report = rt.unsafe_string(buf)
    buf = None
    sums[2] = len(report)
    s.snap("report")
    st.lines = None
    s.gcsnap("lines_dropped")
    st.by_lvl = None
    s.gcsnap("stats_dropped")
    report = None
    s.gcsnap("drop")
    res = s.result()
    res["sums"] = sums
    return res
