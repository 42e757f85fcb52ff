"""Python twins of go/fidelity4.go: the fidelity audit's fourth round (closures over
Go 1.22's per-iteration loop variables, a channel of maps and a map with pointer keys,
sort.Slice / sort.Sort / slices.SortFunc over a slice of pointers, errors made, wrapped
and joined in a loop, a worker pool started with WaitGroup.Go writing a results slice, a
strings.Builder and a bytes.Buffer made fresh per record), written with goruntime's
public API as a Go programmer would port them.

Not portable (reported, not faked): a struct or map value holding a ``weak.Pointer[T]``
(goruntime's ``weak.Pointer`` is a Python object, no heap word) and ``fmt.Errorf`` (no
``fmt``: its pooled printer and buffer growth are not modelled). (A channel stored in heap
memory was not portable either in this round; it is since the fifth: ``fid5_chan_fields``.)
"""
from types import SimpleNamespace

from scenarios import rt, scenario
from scenarios_fidelity import noise_without
from scenarios_fidelity3 import ALLGS, Buffer, _nil_bytes
from scenarios_lang_port import NOISE, Snaps

KEYS = ("a", "bb", "ccc", "dddd", "eeeee", "ffffff", "g", "hh", "iii", "jjjj")


def _types():
    T = getattr(_types, "T", None)
    if T is None:
        T = SimpleNamespace()
        T.cmNode = rt.Struct("cmNode", id=rt.Int, pad=rt.Array(rt.Int, 5))
        T.spItem = rt.Struct("spItem", key=rt.Int, name=rt.String)
        T.errorString = rt.Struct("errorString", package="errors", s=rt.String)
        T.opError = rt.Struct("opError", op=rt.String, n=rt.Int, err=rt.Any)       # err: error (2 words)
        T.joinError = rt.Struct("joinError", package="errors", errs=rt.Slice(rt.Any))
        T.wgResult = rt.Struct("wgResult", id=rt.Int, sum=rt.Int, tag=rt.Slice(rt.Byte))
        T.WaitGroup = rt.Struct("WaitGroup", package="sync", state=rt.Uint64, sema=rt.Uint32)
        _types.T = T
    return T


# ---------------------------------------------------------------------------
# closures capturing loop variables (Go 1.22: a variable per iteration)

def _lv_sum(i, v):
    return i + v


def _lv_twice(i):
    return i * 2


def _lv_thrice(i):
    return i * 3


def _lv_incr(c):
    c.value += 1
    return c.value


def _lv_shared(c, i):
    c.value += i
    return c.value


@scenario(tol=NOISE)
def fid4_loopvar():
    """A range loop's i, v and a three-clause loop's i are each iteration's own and never
    assigned after the capture: captured by value (Go's closure {F; i; v}, {F; i}); a
    variable the body assigns after the capture moves to the heap per iteration (new(int),
    a tiny allocation) and the closure holds its address; one variable declared before
    the loop is one new(int) shared by every closure ({F; &c; i}: first mention order)."""
    F = rt.Func(results=[rt.Int])
    fns = rt.new(rt.Array(F, 100))                                  # Go: lvFns, a global
    ints = [i * 7 for i in range(100)]                              # Go: lvInts [100]int
    total = 0

    def call():
        nonlocal total
        for i in range(100):
            total += fns[i]()
        for i in range(100):
            fns[i] = None

    s = Snaps()
    s.gcsnap("start")
    for i, v in enumerate(ints):                                    # for i, v := range s
        fns[i] = rt.closure(_lv_sum, i, v)
    s.snap("range")
    call()
    s.gcsnap("range_gc")
    for i in range(100):                                            # for i := 0; i < n; i++
        fns[i] = rt.closure(_lv_twice, i)
    s.snap("three_clause")
    call()
    s.gcsnap("three_clause_gc")
    for i in range(100):                                            # for i := range n
        fns[i] = rt.closure(_lv_thrice, i)
    s.snap("range_int")
    call()
    s.gcsnap("range_int_gc")
    for i in range(100):
        c = rt.new(rt.Int)                                          # c := i; moved to heap: c
        c.value = i
        fns[i] = rt.closure(_lv_incr, c)
    c = None
    s.snap("assigned")
    call()
    s.gcsnap("assigned_gc")
    c = rt.new(rt.Int)                                              # c := 0 before the loop
    for i in range(100):
        fns[i] = rt.closure(_lv_shared, c, i)
    c = None
    s.snap("shared")
    call()
    s.gcsnap("shared_gc")
    res = s.result()
    res["sum"] = total
    return res


# ---------------------------------------------------------------------------
# a channel of maps; a map with pointer keys

@scenario(tol=NOISE)
def fid4_chan_maps():
    T = _types()
    M = rt.Map(rt.String, rt.Int)
    s = Snaps()
    s.gcsnap("start")
    ch = rt.make(rt.ChanType(M), 4)

    def produce():                                                  # reads ch as Go reads the global cmCh
        for b in range(30):
            m = rt.make(M)
            for k in range(3 + b % 8):
                m[KEYS[k]] = b * k
            ch.send(m)
        m = None
        ch.close()

    rt.go(produce)                                                  # go cmProduce(): no arguments
    total, keep = 0, rt.Slice(M)
    for i, m in enumerate(ch):
        total += len(m) + m["bb"]
        if i % 5 == 0:
            keep = rt.append(keep, m)
    m = None
    s.snap("received")
    s.gcsnap("received_gc")
    keep = ch = None
    s.gcsnap("maps_dropped")
    by_ptr = rt.make(rt.Map(rt.Ptr(T.cmNode), rt.Int))
    nodes = [None] * 120                                            # Go: cmNodes [120]*cmNode
    for i in range(120):
        p = rt.new(T.cmNode)
        p.id = i
        nodes[i] = p
        by_ptr[p] = i
    p = None
    s.snap("ptr_keys")
    nodes = [None] * 120
    s.gcsnap("keys_keep_nodes")
    lens = [len(by_ptr)]
    n = 0
    for p in by_ptr:                                                # delete during range
        if p.id % 3 == 0:
            del by_ptr[p]
        n += 1
    p = None
    lens += [len(by_ptr), n]
    s.gcsnap("deleted_gc")
    by_ptr = None
    s.gcsnap("drop")
    res = s.result()
    res["sum"] = total
    res["lens"] = lens
    return res


# ---------------------------------------------------------------------------
# sorting a slice of pointers

def _sort_by(items, key, reverse=False):
    """The sort itself (pdqsort, insertion sort, stable merge: Go's allocate nothing): the
    pointers read out and written back in *key* order (the keys are distinct or the sort
    stable, so the order is Go's)."""
    ptrs = [items[i] for i in range(len(items))]
    ptrs.sort(key=key, reverse=reverse)
    for i, p in enumerate(ptrs):
        items[i] = p


def _swap_ptrs(ps, i, j):
    ps[i], ps[j] = ps[j], ps[i]


@scenario(tol=noise_without("*BySize.2", "*BySizeFrees.2"))
def fid4_sort_ptrs():
    """sort.Slice(x any, less): x is boxed (convTslice: a 24-byte header object) and
    reflectlite.Swapper returns a closure over the slice ({F; ps []unsafe.Pointer}, 32
    bytes); the less closure does not escape. sort.Sort(spByKey(s)) boxes the slice into
    a sort.Interface (24 bytes); slices.SortFunc allocates nothing."""
    T = _types()
    items = rt.make(rt.Slice(rt.Ptr(T.spItem)), 200)                # Go: spItems, a global
    for i in range(200):
        p = rt.new(T.spItem)
        p.key, p.name = (i * 73) % 200, KEYS[i % 10]
        items[i] = p
    p = None
    box = rt.new(rt.Any)                                            # the argument slot x (not measured)
    order = []

    def first():
        return items[0].key * 1000 + items[len(items) - 1].key

    def sort_slice(key, reverse=False):
        box.value = items                                           # sort.Slice(ps, ...): x any
        swap = rt.closure(_swap_ptrs, items)                        # reflectlite.Swapper(x)
        _sort_by(items, key, reverse)
        box.value = None                                            # both garbage once sort returns
        return swap

    s = Snaps()
    s.gcsnap("start")
    sort_slice(lambda p: p.key)
    s.snap("sort_slice")
    order.append(first())
    sort_slice(lambda p: p.key, reverse=True)
    s.snap("sort_slice_desc")
    order.append(first())
    box.value = items                                               # sort.Sort(spByKey(s)): the Interface box
    _sort_by(items, lambda p: p.key)
    box.value = None
    s.snap("sort_sort")
    order.append(first())
    sort_slice(lambda p: p.key % 10)                                # sort.SliceStable
    s.snap("slice_stable")
    order.append(first())
    _sort_by(items, lambda p: p.key)                                # slices.SortFunc
    s.snap("slices_sortfunc")
    items = None
    s.gcsnap("drop")
    res = s.result()
    res["order"] = order
    return res


# ---------------------------------------------------------------------------
# errors made, wrapped and joined in a loop

NAMES = ("not found", "timeout", "closed", "denied")


def _error_text(e):
    """(*opError).Error: e.op + ": " + e.err.Error() (one concatstrings; the cause's Error
    returns its string)."""
    return rt.concat(e.op, ": ", e.err.s)


@scenario(tol=NOISE)
def fid4_errors():
    """errors.New is a new *errorString (16 bytes) per call; the wrapper &opError{...}
    (40 bytes, class 48) holds it in an interface; errors.Is walks Unwrap (no allocation);
    errors.Join makes a joinError and a []error of exactly n; (*joinError).Error makes
    []byte of the first text and appends the others."""
    T = _types()
    timeout = rt.new(T.errorString)                                 # var erTimeout = errors.New("timeout")
    timeout.s = "timeout"

    def do(i):
        e = rt.new(T.opError)
        e.n = i
        if i % 4 == 1:
            e.op, e.err = "read", timeout
        else:
            base = rt.new(T.errorString)                            # errors.New(erNames[i%4])
            base.s = NAMES[i % 4]
            e.op, e.err = "write", base
        return e

    def is_(e, target):                                             # errors.Is (no allocation)
        while e is not None:
            if e == target:
                return True
            e = e.err if e.type == rt.Ptr(T.opError) else None
        return False

    keep = rt.Slice(rt.Any)                                         # Go: erKeep []error
    counts = [0, 0, 0]
    s = Snaps()
    s.gcsnap("start")
    for i in range(200):
        err = do(i)
        if is_(err, timeout):
            counts[0] += 1
        if i % 5 == 1:
            keep = rt.append(keep, err)
    err = None
    s.snap("loop")
    s.gcsnap("loop_gc")
    joined = rt.new(T.joinError)                                    # errors.Join(erKeep...)
    joined.errs = rt.make(rt.Slice(rt.Any), 0, len(keep))
    for i in range(len(keep)):
        joined.errs = rt.append(joined.errs, keep[i])
    s.snap("join")
    errs = joined.errs
    counts[1] = int(any(is_(errs[i], timeout) for i in range(len(errs))))
    b = rt.bytes(_error_text(errs[0]))                              # (*joinError).Error
    for i in range(1, len(errs)):
        b = rt.append(b, ord("\n"))
        t = _error_text(errs[i])
        b = rt.append(b, *bytes(t))                                 # append(b, err.Error()...)
    t = errs = None
    counts[2] = len(rt.unsafe_string(b))
    b = None
    s.snap("join_error_string")
    keep = None
    s.gcsnap("keep_dropped")
    joined = None
    s.gcsnap("drop")
    res = s.result()
    res["counts"] = counts
    return res


# ---------------------------------------------------------------------------
# a worker pool started with WaitGroup.Go, writing a results slice

def _wg_body(w, results, workers, inp, T):
    """The worker's func literal: captures w, results and workers (first mention order);
    wgInput is a global in Go (*inp* and *T* are Python's, not captured)."""
    for i in range(w, len(results), workers):
        row = inp[i]
        r = rt.new(T.wgResult)
        r.id, r.sum = i, int(row.numpy().sum())
        r.tag = rt.make(rt.Slice(rt.Byte), 8 + i % 24)
        results[i] = r


@scenario(tol={**NOISE, "run1_gc.BySizeFrees.6": ALLGS["gc_kept.BySizeFrees.6"]})
def fid4_wg_results():
    """results := make([]*wgResult, n); var wg sync.WaitGroup (moved to heap: WaitGroup.Go's
    go statement captures &wg); each wg.Go(func(){...}) escapes a closure {F; w; results;
    workers} (48 bytes) and starts a goroutine through Go's {F; wg; f} wrapper."""
    T = _types()
    inp = rt.make(rt.Slice(rt.Slice(rt.Int)), 60)                   # Go: wgInput, a global
    for i in range(60):
        row = rt.make(rt.Slice(rt.Int), 4 + i % 5)
        row.numpy()[:] = [i * k for k in range(len(row))]
        inp[i] = row
    row = None
    keep = [None]                                                   # Go: wgResults, a global

    def run(workers):
        results = rt.make(rt.Slice(rt.Ptr(T.wgResult)), len(inp))
        wg_box = rt.new(T.WaitGroup)                                # moved to heap: wg
        wg = rt.WaitGroup()
        for w in range(workers):
            f = rt.closure(lambda w, results, workers: _wg_body(w, results, workers, inp, T), w, results, workers)
            wg.Go(f)
        f = None
        wg.Wait()
        wg_box = None  # noqa: F841 (dead after Wait)
        keep[0] = results

    total = 0
    s = Snaps()
    s.gcsnap("start")
    run(4)
    s.snap("run1")
    res1 = keep[0]
    for i in range(len(res1)):
        r = res1[i]
        total += r.sum + len(r.tag)
    r = res1 = None
    s.gcsnap("run1_gc")
    run(4)
    s.snap("run2")
    s.gcsnap("run2_gc")
    keep[0] = inp = None
    s.gcsnap("drop")
    res = s.result()
    res["sum"] = total
    return res


# ---------------------------------------------------------------------------
# a strings.Builder and a bytes.Buffer made fresh per record

FIELDS = ("id=", "name=", "size=", "tags=")


class _Builder:
    """strings.Builder (strings/builder.go) in a local variable: WriteString and WriteByte
    are append(b.buf, ...); String shares the bytes."""

    def __init__(self):
        self.buf = _nil_bytes()

    def WriteString(self, s):
        self.buf = rt.append(self.buf, *s.encode())

    def WriteByte(self, c):
        self.buf = rt.append(self.buf, c)


@scenario(tol=NOISE)
def fid4_builders():
    """var b strings.Builder per record: its buffer grows by append from nil (8, 16, 32, 48,
    64 ... bytes) and String() shares the last array; var buf bytes.Buffer per record: the
    first write allocates smallBufferSize (64 bytes), Bytes() shares it."""
    recs, outs, caps = [None] * 80, [None] * 80, [0, 0, 0]
    s = Snaps()
    s.gcsnap("start")
    for i in range(80):
        b = _Builder()
        for k in range(1 + i % 6):
            b.WriteString(FIELDS[k % 4])
            b.WriteString(KEYS[(i + k) % 10])
            b.WriteByte(ord(";"))
        if i == 79:
            caps[0] = b.buf.cap
        recs[i] = rt.unsafe_string(b.buf)
    b = None
    s.snap("builders")
    s.gcsnap("builders_gc")
    for i in range(80):
        buf = Buffer(SimpleNamespace(buf=_nil_bytes(), off=0))
        for k in range(2 + i % 9):
            buf.WriteString(KEYS[(i * 3 + k) % 10].encode())
            buf.WriteByte(ord(","))
        if i == 79:
            caps[1] = buf.Cap()
        outs[i] = buf.b.buf[buf.b.off:]                             # buf.Bytes()
    buf = None
    s.snap("buffers")
    s.gcsnap("buffers_gc")
    caps[2] = sum(len(recs[i]) + len(outs[i]) for i in range(80))
    recs = outs = None
    s.gcsnap("drop")
    res = s.result()
    res["caps"] = caps
    return res
