"""The allocating language: append/copy/clear, strings, interface boxing, array elements.

Ports of Go's own checks where they can be expressed (runtime/append_test.go's
TestAppendGrowth, runtime/string_test.go's TestStringConcatenationAllocs, the
AllocsPerRun checks on append), plus the rules of each construct. The oracle scenarios
lang_* (tests/oracle) compare the same constructs with real Go's MemStats.
"""
import pytest

import goruntime as rt
from goruntime.slice import nextslicecap, roundupsize


@pytest.fixture
def r():
    with rt.Runtime() as r:
        yield r


def allocs_per_run(n, fn):
    """Go: testing.AllocsPerRun (one warm-up call, then the average of n runs)."""
    fn()
    a = rt.ReadMemStats()
    for _ in range(n):
        fn()
    b = rt.ReadMemStats()
    return (b.Mallocs - a.Mallocs) // n


def test_append_growth(r):
    """Go: TestAppendGrowth (append_test.go): int64 capacity doubles up to 100."""
    x = rt.Slice(rt.Int64)
    want = 1
    for i in range(1, 101):
        x = rt.append(x, 1)
        assert x.cap == want, (len(x), x.cap, want)
        if i & (i - 1) == 0:
            want = 2 * i


def test_nextslicecap_and_roundupsize():
    assert nextslicecap(1, 0) == 1 and nextslicecap(5, 4) == 8 and nextslicecap(20, 4) == 20
    assert nextslicecap(513, 512) == 512 + (512 + 768) // 4
    assert [roundupsize(n, True) for n in (1, 9, 17, 33, 513, 32769)] == [8, 16, 24, 48, 576, 40960]
    assert roundupsize(513, False) == 576 - 8        # the malloc header is in the slot


def test_append_within_capacity_shares_the_array_and_does_not_allocate(r):
    s = rt.make(rt.Slice(rt.Int), 0, 10)
    assert allocs_per_run(100, lambda: rt.append(s, 1, 2, 3)) == 0
    t = rt.append(s, 7)
    assert t.addr == s.addr and t.cap == 10 and t[0] == 7
    u = rt.append(s[:0], 9)                           # aliasing, as in Go
    assert t[0] == 9 and u.addr == s.addr


def test_append_grows_once_per_call(r):
    s = rt.make(rt.Slice(rt.Int), 10)
    assert allocs_per_run(100, lambda: rt.append(s, 1)) == 1
    g = rt.append(s, 1)
    assert (len(g), g.cap) == (11, 20) and g.addr != s.addr
    assert list(g)[:10] == [0] * 10 and g[10] == 1


def test_failed_append_changes_nothing(r):
    s = rt.make(rt.Slice(rt.Int8), 2, 2)
    s[0] = 5
    before = rt.ReadMemStats()
    with pytest.raises(TypeError):
        rt.append(s, 1, "x")                          # checked before the array grows
    with pytest.raises(OverflowError):
        rt.append(s, 1, 300)
    after = rt.ReadMemStats()
    assert (after.Mallocs, after.HeapAlloc) == (before.Mallocs, before.HeapAlloc)
    assert list(s) == [5, 0]
    with pytest.raises(TypeError):
        rt.append([1, 2], 3)


def test_subslice_keeps_the_whole_backing_array_alive(r):
    big = rt.make(rt.Slice(rt.Byte), 1 << 20)
    small = big[10:20]
    big = None
    rt.GC()
    assert rt.ReadMemStats().HeapAlloc >= 1 << 20
    small = None  # noqa: F841
    rt.GC()
    assert rt.ReadMemStats().HeapAlloc < 1 << 20


def test_append_keeps_pointers_alive(r):
    s = rt.Slice(rt.Ptr(rt.Int))
    for i in range(40):
        p = rt.new(rt.Int)
        p.value = i
        s = rt.append(s, p)
    p = None
    rt.GC()
    assert [q.value for q in s] == list(range(40))


def test_copy_and_clear(r):
    d = rt.make(rt.Slice(rt.Int), 3)
    src = rt.make(rt.Slice(rt.Int), 5)
    for i in range(5):
        src[i] = i + 1
    assert rt.copy(d, src) == 3 and list(d) == [1, 2, 3]
    assert rt.copy(src[1:], src) == 4 and list(src) == [1, 1, 2, 3, 4]
    rt.clear(src[:2])
    assert list(src) == [0, 0, 2, 3, 4]
    b = rt.make(rt.Slice(rt.Byte), 4)
    assert rt.copy(b, "hello") == 4 and bytes(b.numpy()) == b"hell"
    with pytest.raises(TypeError):
        rt.copy(d, b)


def test_string_concatenation_allocs(r):
    """Go: TestStringConcatenationAllocs, with b on the heap: only the concatenation
    allocates (Go's string(b) of a non-escaping b uses a stack buffer; here string(b) is
    done once, outside the measured function)."""
    b = rt.make(rt.Slice(rt.Byte), 10)
    for i in range(10):
        b[i] = i + ord("0")
    sb = rt.string(b)
    out = []
    assert allocs_per_run(1000, lambda: out.append(rt.concat("foo", sb)) or out.pop()) == 1
    assert str(rt.concat("foo", sb)) == "foo0123456789"


def test_string_rules(r):
    b = rt.bytes("hello world")        # a constant: Go allocates a [11]byte (walkStringToBytes)
    assert (len(b), b.cap) == (11, 11)
    assert rt.bytes(rt.string(b)).cap == 16                           # a variable: rawbyteslice
    assert (rt.bytes("").cap, rt.bytes(b"abc").cap) == (0, 3)
    assert allocs_per_run(10, lambda: rt.string(b[:1])) == 0          # staticuint64s
    assert allocs_per_run(10, lambda: rt.string(b[:0])) == 0
    assert allocs_per_run(10, lambda: rt.concat("", rt.string(b), "")) == 1  # string(b) only
    s = rt.string(b)
    assert allocs_per_run(10, lambda: rt.concat(s, "")) == 0          # one nonempty operand
    assert rt.concat(s, "").ptr == s.ptr
    assert allocs_per_run(10, lambda: s[2:5]) == 0 and s[2:5] == "llo" and s[2:5].ptr == s.ptr + 2
    assert rt.concat("a", "b").ptr and not r.heap.in_arena(rt.concat("a", "b").ptr)  # folded
    with pytest.raises(rt.Panic):
        s[5:40]


def test_unsafe_string_shares_the_builder_bytes(r):
    """strings.Builder.String is unsafe.String(unsafe.SliceData(b.buf), len(b.buf)): no
    allocation, the string points at the builder's array and keeps all of it alive."""
    buf = rt.Slice(rt.Byte)
    for c in b"builder text":
        buf = rt.append(buf, c)
    assert buf.cap == 16
    s = rt.unsafe_string(buf)
    assert allocs_per_run(10, lambda: rt.unsafe_string(buf)) == 0
    assert s == "builder text" and s.ptr == buf.addr and len(s) == 12
    assert rt.unsafe_string(buf[:0]) == "" and rt.unsafe_string(buf[:0]).ptr == 0
    buf = None
    rt.GC()
    m = rt.ReadMemStats()
    assert (m.HeapObjects, m.HeapAlloc) == (1, 16)        # the 16-byte array, through s
    s = None
    rt.GC()
    assert rt.ReadMemStats().HeapObjects == 0
    with pytest.raises(TypeError):
        rt.unsafe_string(rt.make(rt.Slice(rt.Int), 2))
    with pytest.raises(TypeError):
        rt.unsafe_string(b"bytes")


def test_rune_conversions(r):
    """Go's string(r), []rune(s), string(rs) for results that escape (runtime/string.go
    intstring, stringtoslicerune/rawruneslice, slicerunetostring)."""
    m0 = rt.ReadMemStats()
    a = rt.string(65)                                  # intstring: rawstring(4), ASCII too
    m1 = rt.ReadMemStats()
    assert a == "A" and len(a) == 1 and r.heap.in_arena(a.ptr)
    assert (m1.Mallocs - m0.Mallocs, m1.TotalAlloc - m0.TotalAlloc) == (1, 16)   # a tiny block
    assert allocs_per_run(10, lambda: rt.string(0x65e5)) == 1
    assert rt.string(0x65e5) == "日" and len(rt.string(0x1f600)) == 4
    for bad in (-1, 0xD800, 0x110000, 1 << 40):        # not a rune: U+FFFD (int64(rune(v)) != v too)
        assert bytes(rt.string(bad)) == "\ufffd".encode()
    with pytest.raises(OverflowError):
        rt.string(1 << 64)
    with pytest.raises(TypeError):
        rt.string(True)

    rs = rt.runes("héllo")                             # 5 runes: 20 bytes -> class 24, cap 6
    assert (len(rs), rs.cap, list(rs.numpy())) == (5, 6, [104, 233, 108, 108, 111])
    assert rs.elem is rt.Int32
    assert rt.runes("").cap == 0 and allocs_per_run(10, lambda: rt.runes("")) == 0
    assert allocs_per_run(10, lambda: rt.runes("ab")) == 1        # 8 bytes: tiny
    b = rt.make(rt.Slice(rt.Byte), 4)
    b.numpy()[:] = [0xe6, 0x97, 0x41, 0xff]                       # a truncated rune, A, a bad byte
    assert list(rt.runes(rt.unsafe_string(b)).numpy()) == [0xFFFD, 0xFFFD, 0x41, 0xFFFD]

    m0 = rt.ReadMemStats()
    s = rt.string(rs)                                  # slicerunetostring: 6 bytes + 3
    m1 = rt.ReadMemStats()
    assert s == "héllo" and len(s) == 6
    assert m1.HeapAlloc - m0.HeapAlloc == 16 and m1.Mallocs - m0.Mallocs == 1
    assert allocs_per_run(10, lambda: rt.string(rs[:0])) == 1    # string([]rune{}): 3 bytes
    assert rt.string(rt.Slice(rt.Int32)) == "" and rt.string(rt.runes("日本語のテキスト")) == "日本語のテキスト"
    big = rt.runes("x" * 100)                          # 400 bytes -> class 416
    assert big.cap == 104
    with rt.Runtime():
        other = rt.runes("abc")
    ints = rt.make(rt.Slice(rt.Int64), 2)
    m0 = rt.ReadMemStats()
    for bad, exc in ((lambda: rt.runes(5), TypeError), (lambda: rt.runes(b"x"), TypeError),
                     (lambda: rt.string(other), ValueError), (lambda: rt.string(ints), TypeError),
                     (lambda: rt.string(3.5), TypeError), (lambda: rt.string(rt.Slice(rt.Int64)), TypeError)):
        with pytest.raises(exc):
            bad()
    assert rt.ReadMemStats().Mallocs == m0.Mallocs                 # a failed conversion allocates nothing


def test_string_of_a_string_is_the_same_string(r):
    """Go's string(s) of a string is s: nothing allocated; of a string loaded from memory it
    is the value whose substrings share the heap bytes (Python's own slicing of the loaded
    text gives constants)."""
    H = rt.Struct("strHolder", s=rt.String)
    h = rt.new(H)
    h.s = rt.concat(rt.string(rt.bytes("hello, ")), "world")
    loaded = h.s
    m0 = rt.ReadMemStats()
    v = rt.string(loaded)
    sub = v[7:]
    assert rt.ReadMemStats().Mallocs == m0.Mallocs
    assert (v.ptr, len(v), sub == "world", sub.ptr) == (loaded._go_string[0], 12, True, v.ptr + 7)
    assert rt.string("const").ptr and not r.heap.in_arena(rt.string("const").ptr)
    h.s = ""
    h = loaded = v = None
    rt.GC()
    assert r.heap.in_arena(sub.ptr) and rt.ReadMemStats().HeapObjects >= 1   # the substring keeps it
    assert str(sub) == "world"


def test_substring_keeps_the_string_alive(r):
    big = rt.string(rt.make(rt.Slice(rt.Byte), 1 << 20))
    sub = big[10:20]
    big = None
    rt.GC()
    assert rt.ReadMemStats().HeapAlloc >= 1 << 20
    T = rt.Struct("holdS", s=rt.String)
    h = rt.new(T)
    h.s = sub                                         # stored: the field keeps it alive
    sub = None
    rt.GC()
    assert rt.ReadMemStats().HeapAlloc >= 1 << 20
    h.s = ""
    rt.GC()
    assert rt.ReadMemStats().HeapAlloc < 1 << 20


@pytest.mark.parametrize("v, n", [
    (5, 0), (255, 0), (256, 1), (-1, 1), (0.0, 0), (1.5, 1), (True, 0), ("", 0), ("x", 1),
    (rt.value(rt.Int8, -3), 0), (rt.value(rt.Uint16, 300), 1), (rt.value(rt.Uint16, 7), 0),
    (rt.value(rt.Struct("e0"), None), 0), (None, 0),
])
def test_interface_boxing_allocations(r, v, n):
    h = rt.new(rt.Array(rt.Any, 1))

    def store():
        h[0] = v
    assert allocs_per_run(50, store) == n
    got = h[0]
    assert got == v or (isinstance(v, rt.Value) and v.type.size == 0)


def test_interface_boxing_checks_first(r):
    h = rt.new(rt.Array(rt.Any, 1))
    before = rt.ReadMemStats().Mallocs
    with pytest.raises(TypeError):
        h[0] = object()
    with pytest.raises(OverflowError):
        h[0] = rt.value(rt.Int8, 1000)
    assert rt.ReadMemStats().Mallocs == before
    assert h[0] is None


def test_boxed_value_keeps_its_referents_alive(r):
    h = rt.new(rt.Array(rt.Any, 1))
    h[0] = rt.bytes("a string longer than sixteen bytes")
    rt.GC()
    assert bytes(h[0].x.numpy()) == b"a string longer than sixteen bytes"


def _plain(v):
    """A value read back, as comparable data (a struct box reads as a handle to it)."""
    if not isinstance(v, rt.Value):
        return v
    x = v.x
    if isinstance(x, dict):
        return (x["a"], x["s"])
    if isinstance(x, rt.Pointer):
        return (x.a, x.s)
    return x


@pytest.mark.parametrize("v", [1000, 1.5, 2 + 3j, "hello", rt.value(rt.Uint16, 300),
                               rt.value(rt.Struct("ifcRec", a=rt.Int, s=rt.String), {"a": 7, "s": "x"})])
def test_copying_an_interface_shares_its_box(r, v):
    """Go: an interface is two words; x = y copies them and allocates nothing. A value read
    from an interface is that interface value: storing it again shares the box, and it
    keeps the box alive while it lives; the value taken out (int(x), x.x) boxes anew."""
    h = rt.new(rt.Array(rt.Any, 3))
    h[0] = v
    got = h[0]

    def copy():
        h[1] = h[0]
    assert allocs_per_run(50, copy) == 0
    assert _plain(h[1]) == _plain(v)
    h[0] = h[1] = None
    before = rt.ReadMemStats().HeapObjects
    rt.GC()
    h[2] = got                                                     # `got` kept the box
    assert rt.ReadMemStats().HeapObjects == before
    taken = v.x if isinstance(v, rt.Value) else type(v).__mro__[-2](got)

    def rebox():
        h[0] = rt.value(v.type, taken) if isinstance(v, rt.Value) else taken
    assert allocs_per_run(50, rebox) == 1


def test_a_box_is_shared_only_with_its_own_type_and_runtime(r):
    h = rt.new(rt.Array(rt.Any, 2))
    h[0] = rt.value(rt.Uint64, 1000)
    u = h[0]
    with rt.Runtime(gomaxprocs=1):
        g = rt.new(rt.Array(rt.Any, 1))
        before = rt.ReadMemStats().Mallocs
        g[0] = u                                   # another runtime: boxed there
        assert rt.ReadMemStats().Mallocs == before + 1 and g[0] == u
    T = rt.Struct("ifcInt", i=rt.Int)
    h[0] = 1000
    n = h[0]
    p = rt.new(T)
    p.i = n                                        # into an int field: the value itself
    assert p.i == 1000
    import copy
    import pickle
    back = pickle.loads(pickle.dumps(n))           # the plain value: a box is one runtime's
    assert back == 1000 and type(back) is int and copy.deepcopy(n) is n


def test_array_field_elements(r):
    T = rt.Struct("tailT2", id=rt.Int, tail=rt.Array(rt.Int, 8))
    p = rt.new(T)
    p.tail[3] = 7
    q = p.tail.ptr(3)
    assert q.value == 7 and q.addr == p.addr + 8 + 3 * 8
    q.value = 9
    assert p.tail[3] == 9
    with pytest.raises(IndexError):
        p.tail.ptr(8)
    addr = p.addr
    p = None
    rt.GC()
    assert r.heap.find_object(addr) is not None       # &p.tail[3] keeps p alive
    q = None
    rt.GC()
    assert r.heap.find_object(addr) is None


def test_make_chan_allocates_hchan_and_buffer(r):
    """Go: makechan (chan.go): hchanSize 112; a pointer-free buffer shares its object."""
    C = rt.ChanType
    for T, n, mallocs, total in ((rt.Int, 0, 1, 112), (rt.Int, 10, 1, 192),
                                 (rt.Ptr(rt.Int), 10, 2, 192), (rt.Array(rt.Byte, 24), 1, 1, 144)):
        a = rt.ReadMemStats()
        c = rt.make(C(T), n)
        b = rt.ReadMemStats()
        assert (b.Mallocs - a.Mallocs, b.TotalAlloc - a.TotalAlloc) == (mallocs, total), (T, n)
        assert c.cap == n
    with pytest.raises(rt.Panic):
        rt.make(C(rt.Int), -1)
    with pytest.raises(rt.FatalError):
        rt.make(C(rt.Array(rt.Byte, 1 << 16)), 1)


def test_buffered_pointer_keeps_its_referent_alive(r):
    c = rt.make(rt.ChanType(rt.Ptr(rt.Int)), 2)
    p = rt.new(rt.Int)
    p.value = 5
    addr = p.addr
    c.send(p)
    p = None
    rt.GC()
    assert r.heap.find_object(addr) is not None
    assert c.recv().value == 5
    rt.GC()
    assert r.heap.find_object(addr) is None
    c = None
    before = rt.ReadMemStats().HeapObjects
    rt.GC()
    assert rt.ReadMemStats().HeapObjects == before - 2      # hchan and its buffer


def test_bytes_operands_and_map_keys(r):
    """Go's compiler temporaries (order.go OBYTES2STRTMP): string(b) beside a nonempty
    literal in a concatenation, and m[string(b)] lookups and deletes, allocate nothing;
    measured against Go by the oracle scenario lang_allocs_per_run."""
    b = rt.bytes("0123456789")
    keep = []
    assert allocs_per_run(50, lambda: keep.append(rt.concat("foo", b))) == 1
    assert str(keep[-1]) == "foo0123456789"
    assert allocs_per_run(50, lambda: keep.append(rt.concat(b, b))) == 3   # no literal
    assert str(keep[-1]) == "01234567890123456789"
    assert allocs_per_run(50, lambda: keep.append(rt.concat("", b))) == 1
    m = rt.make(rt.Map(rt.String, rt.Int))
    m["0123456789"] = 4
    assert allocs_per_run(50, lambda: m[b]) == 0 and m[b] == 4 and b in m
    assert allocs_per_run(50, lambda: m.__setitem__(b, 5)) == 1 and m["0123456789"] == 5
    del m[b]
    assert len(m) == 0 and m[b] == 0
    m[b[2:4]] = 7                           # a sub-slice's bytes
    assert m["23"] == 7
    with pytest.raises(TypeError):
        m[rt.make(rt.Slice(rt.Int), 2)]     # not a []byte
    with pytest.raises(TypeError):
        rt.concat("x", rt.make(rt.Slice(rt.Int), 2))
    with rt.Runtime():
        foreign = rt.bytes("ab")
    before = rt.ReadMemStats().Mallocs
    with pytest.raises(ValueError):
        rt.concat("x", foreign)
    with pytest.raises(ValueError):
        m[foreign] = 1
    with pytest.raises(TypeError):
        m[b] = "not an int"                 # checked before the key is converted
    assert rt.ReadMemStats().Mallocs == before and len(m) == 1


def test_loaded_string_is_a_variable(r):
    """A string read from memory is the Go string variable, not a constant: concatenating
    fields allocates (concatstrings; constants fold), []byte of it rounds the capacity up,
    storing it shares the bytes, and it keeps heap bytes alive while Python holds it."""
    S = rt.Struct("lsT", a=rt.String, b=rt.String)
    p = rt.new(S)
    p.a, p.b = "write", "not found"                               # constants
    m0 = rt.ReadMemStats()
    s = rt.concat(p.a, ": ", p.b)                                  # e.op + ": " + e.msg
    m1 = rt.ReadMemStats()
    assert str(s) == "write: not found" and m1.Mallocs - m0.Mallocs == 1
    assert rt.concat("write", ": ", "x").ptr < 0xc000000000         # constants still fold
    q = rt.new(S)
    q.a = s
    q.b = q.a                                                      # shares the heap bytes
    assert q.a == "write: not found" and type(q.a).__name__ == "LoadedString"
    assert q.a._go_string[0] == q.b._go_string[0] == s.ptr
    kept = q.a
    s = None
    q.a = q.b = ""
    rt.GC()
    before = rt.ReadMemStats()
    assert kept._go_string[0] >= 0xc000000000 and kept == "write: not found"
    kept = None
    rt.GC()
    after = rt.ReadMemStats()
    assert (after.Frees - before.Frees, before.HeapAlloc - after.HeapAlloc) == (1, 16)   # unrooted
    with pytest.raises(TypeError, match="variable of type string"):
        rt.new(rt.Struct("lsI", n=rt.Int)).n = p.a
    caps = (rt.bytes(p.b).cap, rt.bytes("not found").cap)
    assert caps == (16, 9)                  # rawbyteslice: roundupsize(9); a constant: [9]byte
