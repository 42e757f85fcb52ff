"""The language's handles attacked as a Go programmer (and a hostile one) would: 3-index
slices, maps changed while ranged over, NaN keys, odd hints, copies of handles, bad
arguments that must leave the heap as it was (issue 17). The allocation numbers are
compared with real Go in the oracle scenarios lang_port_* (tests/oracle)."""
import copy
import math
import pickle

import pytest

import goruntime as rt


@pytest.fixture
def r():
    with rt.Runtime() as r:
        yield r


def _heap_state():
    m = rt.ReadMemStats()
    return m.Mallocs, m.Frees, m.HeapAlloc, m.HeapObjects, m.TotalAlloc


def test_three_index_slice_sets_the_capacity(r):
    a = rt.make(rt.Slice(rt.Int), 10)
    b = a[2:5:5]                            # Go: a[2:5:5], cap 3
    assert (len(b), b.cap, b.addr) == (3, 3, a.addr + 16)
    m0 = rt.ReadMemStats().Mallocs
    b = rt.append(b, 7)                     # full: a new array, a[5] untouched
    assert rt.ReadMemStats().Mallocs == m0 + 1 and a[5] == 0 and b.cap == 6
    c = rt.append(a[2:5:8], 9)              # room: writes a[5]
    assert a[5] == 9 and c.cap == 6 and rt.ReadMemStats().Mallocs == m0 + 1
    assert a[:0:0].cap == 0 and a[:0:0].addr == a.addr      # never past the object
    assert a[10:10:10].cap == 0


@pytest.mark.parametrize("lo,hi,mx,msg", [
    (0, 1, 11, "slice bounds out of range [::11] with capacity 10"),
    (0, 1, -1, "slice bounds out of range [::-1]"),
    (0, 6, 5, "slice bounds out of range [:6:5]"),
    (0, -2, 5, "slice bounds out of range [:-2:]"),
    (4, 3, 5, "slice bounds out of range [4:3:]"),
    (-1, 3, 5, "slice bounds out of range [-1::]"),
])
def test_three_index_slice_panics_with_gos_messages(r, lo, hi, mx, msg):
    a = rt.make(rt.Slice(rt.Int), 10)
    before = _heap_state()
    with pytest.raises(IndexError, match=msg.replace("[", r"\[")):
        a[lo:hi:mx]
    assert _heap_state() == before


def test_three_index_slice_syntax_errors(r):
    a = rt.make(rt.Slice(rt.Int), 4)
    with pytest.raises(TypeError, match="middle index required"):
        a[1::3]
    with pytest.raises(TypeError, match="must be integer"):
        a[0:2:2.0]
    s = rt.string(rt.bytes("hello"))
    with pytest.raises(TypeError, match="3-index slice of string"):
        s[0:2:3]


def test_range_over_a_map_being_changed_is_gos(r):
    m = rt.make(rt.Map(rt.Int, rt.Int))
    for i in range(100):
        m[i] = i
    seen = []
    for k in m:                             # Go: deleted entries not yet reached are not produced
        seen.append(k)
        for j in range(100):
            if j != k:
                del m[j]
    assert len(seen) == 1 and len(m) == 1
    m2 = rt.make(rt.Map(rt.Int, rt.Int))
    for i in range(20):
        m2[i] = i
    vals = []
    for k, v in m2.items():                 # values are read when the entry is reached
        if not vals:
            for j in range(20):
                m2[j] = -j
        vals.append((k, v))
    assert len(vals) == 20 and vals[0][1] == vals[0][0] and all(v == -k for k, v in vals[1:])
    n = 0
    for k in m2:                            # inserted entries may be skipped: here they are
        m2[k + 1000] = 1
        n += 1
    assert n == 20 and len(m2) == 40
    for _k in m2:
        rt.clear(m2)                        # after clear nothing more is produced
    assert len(m2) == 0 and list(m2.values()) == []


def test_range_keeps_the_map_alive(r):
    it = iter(_fresh_map())
    rt.GC()
    assert sorted(it) == list(range(50))


def _fresh_map():
    m = rt.make(rt.Map(rt.Int, rt.Ptr(rt.Int)))
    for i in range(50):
        m[i] = rt.new(rt.Int)
    return m


def test_nan_keys_are_gos(r):
    m = rt.make(rt.Map(rt.Float64, rt.Int))
    for i in range(20):
        m[math.nan] = i
    assert len(m) == 20 and math.nan not in m and m[math.nan] == 0 and m.get(math.nan) is None
    del m[math.nan]                         # finds nothing
    assert len(m) == 20
    assert sorted(v for k, v in m.items() if k != k) == list(range(20))
    K = rt.Struct("nanKey", f=rt.Float64, n=rt.Int)
    mk = rt.make(rt.Map(K, rt.Int))
    mk[{"f": math.nan, "n": 1}] = 1
    mk[{"f": math.nan, "n": 1}] = 2
    assert len(mk) == 2 and {"f": math.nan, "n": 1} not in mk
    rt.clear(m)
    assert len(m) == 0


def test_map_hints(r):
    m0 = rt.ReadMemStats().Mallocs
    m = rt.make(rt.Map(rt.Int, rt.Int), -5)          # Go: makemap treats it as 0
    assert len(m) == 0 and rt.ReadMemStats().Mallocs == m0 + 1
    huge = rt.make(rt.Map(rt.Int, rt.Int), 1 << 62)  # Go: NewMap gives an empty map
    assert rt.ReadMemStats().Mallocs == m0 + 2
    huge[1] = 1
    assert huge[1] == 1
    before = _heap_state()
    with pytest.raises(OverflowError):
        rt.make(rt.Map(rt.Int, rt.Int), 1 << 64)
    with pytest.raises(TypeError):
        rt.make(rt.Map(rt.Int, rt.Int), 2.5)
    assert _heap_state() == before


def test_copies_of_the_language_handles(r):
    m = rt.make(rt.Map(rt.String, rt.Int))
    s = rt.string(rt.bytes("abc"))
    f = rt.closure(lambda x: x, 3)
    c = rt.make(rt.ChanType(rt.Int), 2)
    sl = rt.append(rt.Slice(rt.Int), 1, 2)
    assert copy.copy(m) == m                # Go: assigning a map copies the reference
    for h in (m, sl):                       # deepcopy would share the object: refused
        with pytest.raises(TypeError, match="cannot deepcopy"):
            copy.deepcopy(h)
    for how in (copy.copy, copy.deepcopy):  # a channel belongs to its runtime's scheduler (B79)
        with pytest.raises(TypeError, match="HeapChan belongs to its runtime and cannot be copied"):
            how(c)
    assert copy.deepcopy(s) is s and copy.deepcopy(f) is f      # immutable values
    for h in (m, s, f, c, sl):
        with pytest.raises(TypeError, match="pickle"):
            pickle.dumps(h)


def test_bytes_of_a_constant_has_its_exact_capacity(r):
    # walkStringToBytes: []byte("...") is a new([n]byte), not rawbyteslice
    assert [rt.bytes(x).cap for x in ("", "a", "hello", "x" * 31, "x" * 33)] == [0, 1, 5, 31, 33]
    assert [rt.bytes(rt.string(rt.bytes(x))).cap for x in ("ab", "x" * 31, "x" * 33)] == [8, 32, 48]


def test_small_struct_literals_box_as_go_does(r):
    S1 = rt.Struct("box1", a=rt.Byte)
    S8 = rt.Struct("box8", a=rt.Int64)                # align 8: convT64
    S44 = rt.Struct("box44", a=rt.Int32, b=rt.Int32)  # align 4: convTnoptr, always a copy
    hold = rt.new(rt.Array(rt.Any, 6))
    m0 = rt.ReadMemStats().Mallocs
    hold[0] = rt.value(S1, {"a": 200})      # one byte: staticuint64s
    hold[1] = rt.value(S8, {"a": 7})        # < 256: staticuint64s
    assert rt.ReadMemStats().Mallocs == m0
    hold[2] = rt.value(S8, {"a": 300})
    hold[3] = rt.value(S44, {"a": 1})
    assert rt.ReadMemStats().Mallocs == m0 + 2
    assert hold[3] == rt.value(S44, hold[3].x) and hold[0].x is not None
    before = _heap_state()
    with pytest.raises(TypeError, match="unknown field"):
        hold[4] = rt.value(S8, {"c": 1})
    assert _heap_state() == before and hold[4] is None


def test_failed_language_calls_leave_the_heap_as_it_was(r):
    m = rt.make(rt.Map(rt.String, rt.Ptr(rt.Int)))
    sl = rt.append(rt.Slice(rt.Int), 1, 2)
    s = rt.concat(rt.string(rt.bytes("ab")), "c")
    b = rt.bytes("ab")
    before = _heap_state()
    for bad in (lambda: m.__setitem__(3, None), lambda: m.__setitem__("a", 3),
                lambda: rt.append(sl, 1, "x"), lambda: rt.copy(sl, b),
                lambda: rt.concat(s, 3), lambda: rt.string(sl), lambda: rt.clear(3),
                lambda: rt.make(rt.Slice(rt.Int), -1), lambda: rt.make(rt.Slice(rt.Int), 5, 2),
                lambda: rt.make(rt.ChanType(rt.Int), -1), lambda: sl[1:5], lambda: s[2:1], lambda: s[5]):
        with pytest.raises((TypeError, IndexError, rt.Panic)):
            bad()
    assert _heap_state() == before and len(m) == 0 and list(sl) == [1, 2]


def test_language_handles_after_close(r):
    m = rt.make(rt.Map(rt.String, rt.Int))
    m["a"] = 1
    s = rt.string(rt.bytes("abc"))
    f = rt.closure(lambda x: x, 3)
    c = rt.make(rt.ChanType(rt.Int), 2)
    empty = rt.make(rt.Map(rt.Int, rt.Int))
    r.close()
    with pytest.raises(rt.FatalError, match="closed"):
        list(empty)
    for call in (lambda: m.__setitem__("q", 1), lambda: m["a"], lambda: list(m), lambda: str(s),
                 lambda: f(), lambda: c.send(1)):
        with pytest.raises(rt.FatalError, match="closed"):
            call()


def test_map_struct_values_are_copies(r):
    # Go: v := m[k] copies; m[k].a = 1 does not compile (map elements are not addressable)
    T = rt.Struct("mvCopy", a=rt.Int, p=rt.Ptr(rt.Int), arr=rt.Array(rt.Int8, 2))
    m = rt.make(rt.Map(rt.Int, T))
    q = rt.new(rt.Int)
    m[1] = {"a": 5, "p": q, "arr": [1, 2]}
    v = m[1]
    assert v == {"a": 5, "p": q, "arr": [1, 2]}
    m[1] = {"a": 6}
    assert v["a"] == 5 and m[1] == {"a": 6, "p": None, "arr": [0, 0]}
    assert m[2] == {"a": 0, "p": None, "arr": [0, 0]} and m.get(2) is None
    assert [x for _, x in m.items()] == [m[1]]
    big = rt.make(rt.Map(rt.Int, rt.Array(rt.Byte, 200)))      # indirect elements: copies too
    big[0] = [7] * 200
    w = big[0]
    big[0] = [8] * 200
    assert w[0] == 7 and big[0][0] == 8


def test_absent_slice_values_are_nil_slices_append_takes(r):
    # Go: m[k] = append(m[k], v), the commonest map-of-slices idiom; a closed channel's zero
    m = rt.make(rt.Map(rt.String, rt.Slice(rt.Int)))
    for i in range(5):
        m["a"] = rt.append(m["a"], i)
    assert list(m["a"]) == [0, 1, 2, 3, 4] and m["b"] == None and len(m["b"]) == 0  # noqa: E711
    c = rt.make(rt.ChanType(rt.Slice(rt.Int)), 1)
    c.close()
    z = c.recv()
    assert z == None and rt.append(z, 7)[0] == 7  # noqa: E711


def test_slicing_an_array_shares_its_memory(r):
    # Go: b[:] on an array, p[lo:hi] on a *[N]T, p.buf[8:16] on an array field
    H = rt.Struct("arrSlHolder", id=rt.Int, buf=rt.Array(rt.Byte, 64))
    h = rt.new(H)
    m0 = rt.ReadMemStats().Mallocs
    assert rt.copy(h.buf[:], "abcdefghijkl") == 12 and h.buf[11] == ord("l")
    s = h.buf[8:16]
    assert (len(s), s.cap, s.addr) == (8, 56, h.addr + 16) and rt.ReadMemStats().Mallocs == m0
    s = rt.append(s, ord("!"))                      # within the array: no allocation
    assert h.buf[16] == ord("!") and rt.ReadMemStats().Mallocs == m0
    assert h.buf[2:4:6].cap == 4
    p = rt.new(rt.Array(rt.Int, 4))
    assert (len(p[1:3]), p[1:3].cap, p[:].cap) == (2, 3, 4)
    h = None
    rt.GC()
    assert rt.ReadMemStats().HeapObjects == 2         # s keeps the holder alive (and p)
    i = rt.new(rt.Int)
    before = _heap_state()
    for bad, msg in ((lambda: p[:5], r"\[:5\] with length 4"), (lambda: p[3:2], r"\[3:2\]"),
                     (lambda: p[0:1:5], r"\[::5\] with length 4")):
        with pytest.raises(IndexError, match=msg):
            bad()
    with pytest.raises(TypeError, match="cannot slice"):
        i[0:1]
    assert _heap_state() == before


def test_bounds_errors_are_panics_and_index_errors(r):
    s = rt.string(rt.bytes("hello"))
    assert list(s) == list(b"hello") and bytes(s) == b"hello"      # iteration stops at len
    a = rt.make(rt.Slice(rt.Int), 3)
    for bad, msg in ((lambda: s[5], "index out of range [5] with length 5"),
                     (lambda: s[-1], "index out of range [-1]"),
                     (lambda: s[2:9], "slice bounds out of range [:9] with length 5"),
                     (lambda: s[3:2], "slice bounds out of range [3:2]"),
                     (lambda: a[3], "index out of range [3] with length 3"),
                     (lambda: a[1:9], "slice bounds out of range [:9] with capacity 3")):
        with pytest.raises(rt.BoundsError) as e:
            bad()
        assert isinstance(e.value, rt.Panic) and isinstance(e.value, IndexError)
        assert str(e.value) == "runtime error: " + msg
