"""Python twins of go/lang_port.go: the programs people port first, written with
goruntime's public API as a Go programmer would (issue 17, tried as the project owner).

Each scenario reads MemStats at the same points as its Go twin (``snap``), and the
result is the deltas between consecutive snapshots, by label.
"""
import math

import numpy as np

from harness import Abs
from scenarios import bysize_deltas, mem_deltas, rt, scenario
from scenarios_lang import NOISE_BYSIZE

NOISE = {**NOISE_BYSIZE, "*BySizeFrees.2": Abs(2, "Go's runtime allocates (and frees) a few 16-byte objects "
                                                     "of its own during some GCs (recorded: 0 or 1)")}


class Snaps:
    """MemStats read at labelled points (Go: snap/gcsnap into pms)."""

    def __init__(self):
        self.ms = []

    def snap(self, label):
        self.ms.append((label, rt.ReadMemStats()))

    def gcsnap(self, label):
        rt.GC()
        self.snap(label)

    def result(self):
        res = {}
        for (_, a), (label, b) in zip(self.ms, self.ms[1:]):
            r = mem_deltas(a, b)
            r["BySize"] = bysize_deltas(a, b)
            r["BySizeFrees"] = bysize_deltas(a, b, True)
            res[label] = r
        return res


def _types():
    T = getattr(_types, "T", None)
    if T is None:
        from types import SimpleNamespace
        T = SimpleNamespace()
        T.port24 = rt.Struct("port24", a=rt.Int, b=rt.Int, c=rt.Int)
        T.portT = rt.Struct("portT", id=rt.Int, next=rt.Ptr("portT"), buf=rt.Array(rt.Byte, 48))
        T.port200 = rt.Struct("port200", p=rt.Ptr(T.portT), b=rt.Array(rt.Byte, 192))
        _types.T = T
    return T


def _port(T, i):
    p = rt.new(T.portT)
    p.id = i
    return p


def _text(words):
    """A heap string of *words* joined by spaces, and each word as a substring of it
    (Go: string(b), then strings.Fields: substrings share the text's bytes)."""
    raw = "".join(w + " " for w in words).encode()
    b = rt.make(rt.Slice(rt.Byte), len(raw))
    b.numpy()[:] = np.frombuffer(raw, dtype=np.uint8)
    text = rt.string(b)
    subs, at = [], 0
    for w in words:
        subs.append(text[at:at + len(w)])
        at += len(w) + 1
    return text, subs


@scenario(tol=NOISE)
def lang_port_wordfreq():
    words = [f"w{(i * 7919) % 1200}" for i in range(3000)] + [f"x{i}" for i in range(600)]
    text, subs = _text(words)
    fields = rt.make(rt.Slice(rt.String), len(subs))      # Go: strings.Fields' []string
    for i, s in enumerate(subs):
        fields[i] = s
    words, new = subs[:3000], subs[3000:]
    lens = []
    s = Snaps()
    s.gcsnap("start")
    m = rt.make(rt.Map(rt.String, rt.Int))
    for w in words:
        m[w] = m.get(w, 0) + 1                           # m[w]++
    s.snap("count")
    lens.append(len(m))
    for j in range(0, 1200, 2):
        del m[words[j]]
    s.snap("delete_half")
    lens.append(len(m))
    s.gcsnap("gc_after_delete")
    for w in new:
        m[w] = 1
    s.snap("refill")
    lens.append(len(m))
    for w in new:
        m[w] = 2
    s.snap("overwrite")
    for k in m:                                          # deleting during range: Go defines it
        if k[0] == "x":
            del m[k]
    s.snap("range_delete")
    lens.append(len(m))
    text = fields = words = new = subs = k = w = None  # noqa: F841 (drops the roots)
    s.gcsnap("keys_keep_text")
    rt.clear(m)
    lens.append(len(m))
    s.gcsnap("clear")
    m = None
    s.gcsnap("drop")
    res = s.result()
    res["lens"] = lens
    return res


@scenario(tol=NOISE)
def lang_port_map_values():
    T = _types()
    key_bytes = rt.make(rt.Slice(rt.Byte), 800)
    key_bytes.numpy()[:] = np.frombuffer(b"".join(b"key%05d" % i for i in range(100)), dtype=np.uint8)
    vals = []
    s = Snaps()
    s.gcsnap("start")
    m = rt.make(rt.Map(rt.Int, rt.Slice(rt.Byte)))
    for i in range(100):
        m[i] = rt.make(rt.Slice(rt.Byte), 100)
    s.snap("ib_fill")
    s.gcsnap("ib_gc")
    for i in range(0, 100, 2):
        del m[i]
    s.gcsnap("ib_delete_half")
    m = None
    s.gcsnap("ib_drop")

    keys = [rt.string(key_bytes[i * 8:i * 8 + 8]) for i in range(100)]
    s.snap("sp_keys")
    m = rt.make(rt.Map(rt.String, rt.Ptr(T.portT)), 100)
    for i in range(100):
        m[keys[i]] = _port(T, i)
    s.snap("sp_fill")
    keys = None
    s.gcsnap("sp_map_keeps_keys")
    for i in range(50):
        del m[key_bytes[i * 8:i * 8 + 8]]               # delete(m, string(b)): no allocation
    s.gcsnap("sp_delete_first_50")
    vals.append(len(m))
    m = None
    s.gcsnap("sp_drop")

    m = rt.make(rt.Map(rt.Int, T.port24))
    for i in range(100):
        m[i] = {"a": i, "b": i, "c": i}
    s.snap("v24_fill")
    for i in range(100):
        m[i] = {"a": -i}
    s.snap("v24_overwrite")
    vals.append(m[7]["a"])
    for i in range(100):
        del m[i]
    s.gcsnap("v24_delete_all")
    m = None
    s.gcsnap("v24_drop")

    m = rt.make(rt.Map(rt.Int, T.port200))
    for i in range(20):
        m[i] = {"p": _port(T, i)}
    s.snap("v200_fill")
    for i in range(20):
        m[i] = {"p": _port(T, -i)}
    s.snap("v200_overwrite")
    s.gcsnap("v200_gc")
    for i in range(10):
        del m[i]
    s.gcsnap("v200_delete_10")
    vals.append(m[15]["p"].id)
    rt.clear(m)
    s.gcsnap("v200_clear")
    vals.append(len(m))
    m = None
    s.gcsnap("v200_drop")

    m = rt.make(rt.Map(rt.Int, rt.Slice(rt.Int)))
    for i in range(300):                                 # m[k] = append(m[k], v)
        m[i % 10] = rt.append(m[i % 10], i)
    s.snap("group_append")
    s.gcsnap("group_gc")
    m = None
    s.gcsnap("group_drop")

    m = rt.make(rt.Map(rt.Float64, rt.Int), -1)         # a negative hint at run time: empty
    s.snap("negative_hint")
    for i in range(20):                                  # NaN != NaN: each insert a new entry
        m[math.nan] = i
    s.snap("nan_20")
    vals.append(len(m))
    vals.append(1 if math.nan in m else 0)
    del m[math.nan]
    vals.append(len(m))
    vals.append(sum(v for k, v in m.items() if k != k))
    rt.clear(m)
    s.gcsnap("nan_clear")
    m = None
    s.gcsnap("nan_drop")
    res = s.result()
    res["vals"] = vals
    return res


@scenario(tol=NOISE)
def lang_port_slices():
    T = _types()
    caps = [0] * 12
    s = Snaps()
    s.gcsnap("start")
    a = rt.Slice(rt.Int)
    for i in range(100):
        a = rt.append(a, i)
    s.snap("append_100")
    caps[0] = a.cap
    b = a[10:20]
    a = None
    s.gcsnap("subslice_keeps_array")
    b = rt.append(b, -1)
    s.snap("append_in_cap")
    caps[1], caps[2] = len(b), b.cap
    b = None
    s.gcsnap("subslice_dropped")

    a = rt.make(rt.Slice(rt.Int), 10)
    s.snap("make10")
    b = a[2:5:5]
    b = rt.append(b, 7)
    s.snap("three_index_full")
    caps[3], caps[4] = b.cap, a[5]
    c = a[2:5:8]
    c = rt.append(c, 9)
    s.snap("three_index_room")
    caps[5], caps[6] = c.cap, a[5]
    b = c = None
    s.gcsnap("three_index_gc")

    a = rt.make(rt.Slice(rt.Int), 5)
    b = rt.make(rt.Slice(rt.Int), 300)
    s.snap("make_two")
    a = rt.append(a, *b)
    s.snap("append_slice")
    caps[7] = a.cap
    a = rt.append(a, *a)
    s.snap("append_self")
    caps[8] = a.cap
    a = b = None
    s.gcsnap("append_gc")

    a = rt.make(rt.Slice(rt.Int), 10)
    for i in range(10):
        a[i] = i
    caps[9] = rt.copy(a[2:], a)
    caps[10] = rt.copy(a, a[5:])
    copied = list(a)
    s.snap("copy_overlap")

    p = rt.make(rt.Slice(rt.Ptr(T.portT)), 10)
    for i in range(10):
        p[i] = _port(T, i)
    s.snap("ptrs")
    rt.clear(p[:5])
    s.gcsnap("clear_half")
    p = p[8:]
    s.gcsnap("reslice_keeps_all")
    p = None
    s.gcsnap("ptrs_dropped")
    q = rt.Slice(rt.Ptr(T.portT))
    for _ in range(300):
        q = rt.append(q, None)
    s.snap("append_ptrs_300")
    caps[11] = q.cap
    q = None
    s.gcsnap("ptrs_300_dropped")

    holder_t = rt.Struct("arrHolder", id=rt.Int, buf=rt.Array(rt.Byte, 64))
    h = rt.new(holder_t)
    h.id = 1
    s.snap("array_holder")
    hs = h.buf[8:16]                                     # a slice of an array field
    rt.copy(h.buf[:], "abcdefghijkl")
    h = None
    s.gcsnap("array_slice_keeps_struct")
    caps += [len(hs), hs.cap]
    hs = rt.append(hs, ord("!"))                         # within the array: writes buf[16]
    s.snap("array_slice_append")
    caps.append(hs[8])
    head = bytes(hs[:4])
    hs = hs[2:4:6]
    caps.append(hs.cap)
    hs = None
    s.gcsnap("array_slice_dropped")
    res = s.result()
    res["caps"] = caps
    res["copied"] = copied
    res["head"] = head.decode()
    return res


@scenario(tol=NOISE)
def lang_port_strings():
    caps = [0] * 10
    src = rt.make(rt.Slice(rt.Byte), 2048)
    src.numpy()[:] = [ord("a") + i % 26 for i in range(2048)]
    s = Snaps()
    s.gcsnap("start")
    buf = rt.Slice(rt.Byte)                              # strings.Builder: append(b.buf, s...)
    for _ in range(100):
        buf = rt.append(buf, *b"0123456789")
    s.snap("builder_100x10")
    caps[0] = buf.cap
    buf = None
    s.gcsnap("builder_dropped")

    a = rt.string(src[:5])
    b = rt.string(src[5:10])
    c = rt.string(src[10:20])
    s.snap("operands")
    g = [None] * 12
    g[0] = rt.concat(a, b)
    s.snap("concat2")
    g[1] = rt.concat(a, "-", b)
    s.snap("concat3_lit")
    g[2] = rt.concat(a, b, c, a)
    s.snap("concat4")
    g[3] = rt.concat("<", a, b, c, ">")
    s.snap("concat5_lits")
    g[4] = rt.concat(a, b, c, a, b, c)
    s.snap("concat6")
    g[5] = rt.concat(c, c, c, c, c, c)
    s.snap("concat6_60")
    g[6] = rt.concat("", a)
    s.snap("concat_empty_lit")
    g = [None] * 12
    s.gcsnap("concat_dropped")

    for i, n in enumerate((0, 1, 31, 32, 33, 1024)):
        g[i] = rt.string(src[:n])
    s.snap("string_of_bytes")
    g = [None] * 12
    conv = [None] * 16
    s.gcsnap("conv_dropped")
    g[6] = rt.string(src[:31])
    g[7] = rt.string(src[:33])
    g[8] = rt.string(src[:1024])
    s.snap("strings_31_33_1024")
    conv[0] = rt.bytes(g[6])
    conv[1] = rt.bytes(g[7])
    conv[2] = rt.bytes(g[8])
    s.snap("bytes_of_var")
    conv[3] = rt.bytes("")
    conv[4] = rt.bytes("a")
    conv[5] = rt.bytes("hello")
    conv[6] = rt.bytes("0123456789012345678901234567890")
    conv[7] = rt.bytes("012345678901234567890123456789012")
    s.snap("bytes_of_literal")
    for i in range(8):
        caps[1 + i] = conv[i].cap
    g = [None] * 12
    conv = [None] * 16
    s.gcsnap("bytes_dropped")

    big = rt.string(rt.make(rt.Slice(rt.Byte), 100000))
    s.snap("big")
    sub = big[500:510]
    big = None
    s.gcsnap("sub_keeps_big")
    s.gcsnap("sub_keeps_big_2")
    sub = sub[2:4]
    s.gcsnap("subsub_keeps_big")
    caps[9] = len(sub)
    sub = None
    s.gcsnap("big_freed")
    res = s.result()
    res["caps"] = caps
    return res


@scenario(tol=NOISE)
def lang_port_iface():
    T = _types()
    S = rt.Struct
    s1 = S("s1", a=rt.Byte)
    s3 = S("s3", a=rt.Byte, b=rt.Byte, c=rt.Byte)
    s12 = S("s12", a=rt.Int32, b=rt.Int32, c=rt.Int32)
    s16 = S("s16", a=rt.Int64, b=rt.Int64)
    s24p = S("s24p", p=rt.Ptr(T.portT), a=rt.Array(rt.Int64, 2))
    s40 = S("s40", a=rt.Array(rt.Int64, 5))
    hold = rt.new(rt.Array(rt.Any, 300))
    ptr = _port(T, 1)
    hs = rt.string(rt.make(rt.Slice(rt.Byte), 40))
    sl = rt.make(rt.Slice(rt.Int), 3)
    s = Snaps()
    s.gcsnap("start")

    def step(name, f, n):
        s.gcsnap(name + "_before")
        for i in range(n):
            hold[i] = f(i)
        s.snap(name)
        for i in range(300):
            hold[i] = None
        s.gcsnap(name + "_freed")

    step("int_0_255", lambda i: i, 256)
    step("int_256_up", lambda i: 256 + i, 100)
    step("int_neg", lambda i: -1 - i, 100)
    step("float", lambda i: float(i) * 1.5, 100)
    step("bool", lambda i: i % 3 == 0, 100)
    step("heap_string", lambda i: hs, 100)
    step("slice", lambda i: sl, 100)
    step("s1", lambda i: rt.value(s1, {"a": i}), 100)
    step("s3", lambda i: rt.value(s3, {"a": i, "b": 1, "c": 2}), 100)
    step("s12", lambda i: rt.value(s12, {"a": i, "b": 1, "c": 2}), 100)
    step("s16", lambda i: rt.value(s16, {"a": i, "b": 1}), 100)
    step("s24p", lambda i: rt.value(s24p, {"p": ptr, "a": [i, 0]}), 100)
    step("s40", lambda i: rt.value(s40, {"a": [i, 0, 0, 0, 0]}), 100)
    step("pointer", lambda i: ptr, 100)
    hold[0] = rt.value(s24p, {"p": _port(T, 5)})
    hold[1] = hs
    hold[2] = sl
    ptr = hs = sl = None
    s.gcsnap("boxes_keep")
    for i in range(300):
        hold[i] = None
    s.gcsnap("boxes_freed")
    return s.result()


def _cap_int(x):
    return x


def _cap_ptr(p):
    return p.id


def _cap_slice(sl):
    return len(sl)




@scenario(tol=NOISE)
def lang_port_funcs_chans():
    T = _types()
    F = rt.Func(results=[rt.Int])
    cb_holder = rt.Struct("cbHolder", id=rt.Int, cb=F)
    out = [0] * 7
    ptr = _port(T, 3)
    sl = rt.make(rt.Slice(rt.Int), 7)
    done = rt.make(rt.ChanType(rt.Bool), 0)
    s = Snaps()
    s.gcsnap("start")
    h = rt.new(cb_holder)
    h.id = 1
    h.cb = rt.closure(_cap_int, 41)
    s.snap("field_int")
    m = rt.make(rt.Map(rt.Int, F))
    m[1] = rt.closure(_cap_ptr, ptr)
    m[2] = rt.closure(_cap_slice, sl)
    s.snap("map_ptr_slice")
    ch = rt.make(rt.ChanType(F), 2)
    ch.send(rt.closure(_cap_ptr, ptr))
    s.snap("chan_func")
    ptr = sl = None
    s.gcsnap("funcs_keep_captured")
    out[0] = h.cb() + m[1]() + m[2]()
    out[1] = ch.recv()()
    s.gcsnap("chan_func_received")
    del m[1]
    s.gcsnap("map_func_deleted")
    m = h = None
    s.gcsnap("funcs_dropped")

    x = rt.new(rt.Int)
    x.value = 7
    s.snap("go_before")
    def go_body(x):                                      # fcOut, fcN, fcDone: globals
        out[2] = x.value + 5
        done.send(True)

    rt.go(rt.closure(go_body, x))                        # go func(){ ... *x ... }()
    s.snap("go_stmt")
    x = None
    done.recv()
    s.gcsnap("go_done")

    cp = rt.make(rt.ChanType(rt.Ptr(T.portT)), 3)
    cp.send(_port(T, 10))
    cp.send(_port(T, 11))
    s.snap("chan_ptrs")
    s.gcsnap("chan_keeps_ptrs")
    out[3] = cp.recv().id
    s.gcsnap("chan_one_received")
    cs = rt.make(rt.ChanType(T.port200), 2)
    cs.send({"p": _port(T, 20)})
    s.snap("chan_struct")
    s.gcsnap("chan_keeps_struct")
    cs.close()
    out[4] = cs.recv()["p"].id
    s.gcsnap("chan_struct_received")
    cp = cs = None
    s.gcsnap("chans_dropped")

    arr = rt.new(rt.Struct("fcArrT", id=rt.Int, arr=rt.Array(rt.Int64, 16)))
    arr.id = 1
    arr.arr[3] = 33
    elem = arr.arr.ptr(3)
    arr = None
    s.snap("interior_before")
    s.gcsnap("elem_keeps_struct")
    elem.value = 34
    out[5] = elem.value
    elem = None
    s.gcsnap("elem_dropped")
    ps = rt.make(rt.Slice(T.portT), 4)
    ps.ptr(2).next = _port(T, 22)
    field = ps.ptr(2).field_ptr("next")
    ps = None
    s.gcsnap("field_keeps_slice")
    out[6] = field.value.id
    field = None
    s.gcsnap("field_dropped")
    res = s.result()
    res["out"] = out
    return res
