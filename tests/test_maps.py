"""Go 1.27 Swiss-table maps (goruntime.maps): layout, growth, deletes, liveness, errors.

The oracle scenarios lang_map_* compare the same with real Go's MemStats; these check
the rules directly and the handle's contract (rooting, errors, heap unchanged on failure).
"""
import pytest

import goruntime as rt
from goruntime import maps


@pytest.fixture
def r():
    with rt.Runtime() as r:
        yield r


def mallocs():
    return rt.ReadMemStats().Mallocs


def test_small_map_is_one_group_then_a_table(r):
    M = rt.Map(rt.Int, rt.Int)
    a = mallocs()
    m = rt.make(M)
    assert mallocs() - a == 1                          # the Map header only
    m[0] = 0
    assert mallocs() - a == 2                          # growToSmall: one group
    for i in range(1, 8):
        m[i] = i
    assert mallocs() - a == 2                          # 8 entries in one group
    m[8] = 8
    assert mallocs() - a == 5                          # table, its groups, the directory
    assert [m[i] for i in range(9)] == list(range(9)) and len(m) == 9


def test_group_layout(r):
    mt = maps.MapType(rt.Map(rt.Int, rt.Int))
    assert (mt.slot_size, mt.group_size, mt.group_noscan) == (16, 136, True)
    mt = maps.MapType(rt.Map(rt.String, rt.Ptr(rt.Int)))
    assert (mt.slot_size, mt.group_size, mt.group_noscan) == (24, 200, False)
    mt = maps.MapType(rt.Map(rt.Int, rt.Array(rt.Byte, 200)))       # indirect elem
    assert mt.indirect_elem and mt.slot_size == 16
    assert maps.MapHeader.size == 48 and maps.TableStruct.size == 32


def test_growth_steps_match_go(r):
    """Table capacity doubles when 7/8 full, from 16 up to 1024, then splits (the steps
    lang_map_growth measured in Go)."""
    m = rt.make(rt.Map(rt.Int, rt.Int))
    steps = []
    for i in range(1000):
        a = mallocs()
        m[i] = i
        if mallocs() != a:
            steps.append((i + 1, mallocs() - a))
    assert steps == [(1, 1), (9, 3), (15, 2), (29, 2), (57, 2), (113, 2), (225, 2), (449, 2), (897, 5)]


def test_make_hint_sizes_the_tables(r):
    for hint, n in ((0, 1), (8, 1), (9, 4), (1000, 6), (5000, 18)):
        a = mallocs()
        m = rt.make(rt.Map(rt.Int, rt.Int), hint=hint)
        assert mallocs() - a == n, hint
        a = mallocs()
        for i in range(hint):
            m[i] = i
        assert mallocs() - a == (1 if hint and hint <= 8 else 0), hint


def test_deletes_never_shrink_and_reuse(r):
    m = rt.make(rt.Map(rt.Int, rt.Int))
    for i in range(1000):
        m[i] = i
    rt.GC()
    live = rt.ReadMemStats().HeapAlloc
    for i in range(1000):
        del m[i]
    del m[5000]                                        # absent: a no-op, as Go's delete
    rt.GC()
    assert len(m) == 0 and rt.ReadMemStats().HeapAlloc == live
    a = mallocs()
    for i in range(1000):
        m[i] = i
    assert mallocs() == a                              # the tables are reused
    rt.clear(m)
    rt.GC()
    assert len(m) == 0 and rt.ReadMemStats().HeapAlloc == live


def test_tombstones_and_overwrite(r):
    m = rt.make(rt.Map(rt.Int, rt.Int))
    for i in range(200):
        m[i] = i
    for rnd in range(5):                                # churn: deletes and new keys
        for i in range(0, 200, 2):
            del m[i + 1000 * rnd]
            m[i + 1000 * (rnd + 1)] = rnd
        assert len(m) == 200
    m[1] = 42
    assert m[1] == 42 and len(m) == 200
    assert sorted(k for k, _ in m.items()) == sorted(list(range(1, 200, 2)) + [i + 5000 for i in range(0, 200, 2)])


def test_map_of_pointers_keeps_values_alive(r):
    T = rt.Struct("mapValT", p=rt.Ptr(rt.Int), n=rt.Int)
    m = rt.make(rt.Map(rt.String, rt.Ptr(T)))
    for i in range(50):
        p = rt.new(T)
        p.n = i
        m[f"k{i}"] = p
    p = None
    rt.GC()
    assert all(m[f"k{i}"].n == i for i in range(50))
    objs = rt.ReadMemStats().HeapObjects
    for i in range(25):
        del m[f"k{i}"]
    rt.GC()
    assert rt.ReadMemStats().HeapObjects == objs - 25
    assert m["k3"] is None and "k3" not in m and "k30" in m


def test_range_keeps_the_group_or_table_it_started_on(r):
    # Go's Iter keeps a small map's group (it.group) for the whole loop and the table it
    # reads (it.tab, with its groups) while it reads it, even when the map grows
    # meanwhile: a GC during the loop keeps them, the GC after it frees them.
    M = rt.Map(rt.Int, rt.Int)
    for n, extra, old_groups in ((8, 20, 136), (100, 300, 16 * 136)):
        c = rt.sizeclass(old_groups).sizeclass          # 144 B; 2176 -> 2304 B
        m = rt.make(M)
        for i in range(n):
            m[i] = i
        rt.GC()
        frees = [rt.ReadMemStats().BySize[c].Frees]
        first = True
        for _ in m:
            if first:
                first = False
                for i in range(1000, 1000 + extra):
                    m[i] = i
                rt.GC()
                frees.append(rt.ReadMemStats().BySize[c].Frees)
        rt.GC()
        frees.append(rt.ReadMemStats().BySize[c].Frees)
        assert [frees[1] - frees[0], frees[2] - frees[1]] == [0, 1], (n, frees)
        m = None


def test_range_keeps_the_current_entrys_indirect_objects(r):
    # Go's it.key and it.elem point at an indirect key's and elem's objects until the
    # next step: an entry deleted in the loop body keeps them through a GC there.
    Big = rt.Array(rt.Int, 20)                          # 160 B: stored indirectly
    for M, size in ((rt.Map(rt.Int, Big), 160), (rt.Map(Big, rt.Int), 160)):
        c = rt.sizeclass(size).sizeclass
        m = rt.make(M)
        for i in range(4):
            m[i if M.key is rt.Int else [i] * 20] = [i] * 20 if M.key is rt.Int else i
        rt.GC()
        frees = [rt.ReadMemStats().BySize[c].Frees]
        for k in m:
            del m[k]
            rt.GC()
            frees.append(rt.ReadMemStats().BySize[c].Frees)
        rt.GC()
        frees.append(rt.ReadMemStats().BySize[c].Frees)
        # each GC in the loop frees the entry deleted one step before, not the current one
        assert [b - a for a, b in zip(frees, frees[1:])] == [0, 1, 1, 1, 1], (M, frees)
        m = None


def test_map_reached_through_a_field_stays_alive(r):
    H = rt.Struct("mapHolder", m=rt.Map(rt.Int, rt.Ptr(rt.Int)))
    h = rt.new(H)
    m = rt.make(rt.Map(rt.Int, rt.Ptr(rt.Int)))
    v = rt.new(rt.Int)
    v.value = 7
    m[1] = v
    h.m = m
    m = v = None
    rt.GC()
    assert h.m[1].value == 7
    h.m = None
    before = rt.ReadMemStats().HeapObjects
    rt.GC()
    assert rt.ReadMemStats().HeapObjects == before - 3      # header, group, the int


def test_errors_change_nothing(r):
    m = rt.make(rt.Map(rt.Int8, rt.String))
    m[1] = "a"
    before = rt.ReadMemStats()
    with pytest.raises(OverflowError):
        m[300] = "x"
    with pytest.raises(TypeError):
        m[2] = 5
    with pytest.raises(TypeError):
        m["k"] = "v"
    after = rt.ReadMemStats()
    assert (after.Mallocs, after.HeapAlloc) == (before.Mallocs, before.HeapAlloc)
    assert len(m) == 1 and m[1] == "a"
    with pytest.raises(OverflowError):
        rt.make(rt.Map(rt.Int, rt.Int), hint=1 << 63)
    # a negative hint at run time is Go's makemap hint 0 (test_lang_handles.test_map_hints)
    with pytest.raises(TypeError):
        rt.make(rt.Map(rt.Complex128, rt.Int))              # complex keys: not modelled yet
    ak = rt.make(rt.Map(rt.Array(rt.Any, 2), rt.Int))       # interfaces in a composite key
    ak[(1, "x")] = 1
    assert ak[(1, "x")] == 1 and ak[(1, rt.value(rt.Int8, 1))] == 0
    with pytest.raises(TypeError):
        maps.MapValue()
    with rt.Runtime():
        other = rt.make(rt.Map(rt.Int, rt.Int))
    H = rt.Struct("mapHolder2", m=rt.Map(rt.Int, rt.Int))
    with pytest.raises(ValueError):
        rt.new(H).m = other


def test_pointer_keys_and_string_values(r):
    a, b = rt.new(rt.Int), rt.new(rt.Int)
    m = rt.make(rt.Map(rt.Ptr(rt.Int), rt.String))
    m[a] = "a"
    m[b] = rt.concat(rt.string(rt.bytes("heap ")), "b")
    rt.GC()
    assert m[a] == "a" and m[b] == "heap b" and len(m) == 2 and a in m
    keys = [k for k, _ in m.items()]
    assert a in keys and b in keys


def test_a_runtime_with_maps_is_freed_when_dropped():
    """The map mirror lives on its runtime: a dropped runtime that made maps is reclaimed
    (a weak-keyed table whose values referred back to the runtime kept every one alive)."""
    import gc
    import weakref

    def make():
        r = rt.Runtime(arena_cap=8 << 20)
        with r:
            m = rt.make(rt.Map(rt.Int, rt.Int))
            for i in range(100):
                m[i] = i
        return weakref.ref(r)

    refs = [make() for _ in range(3)]
    gc.collect()
    assert [w() for w in refs] == [None, None, None]


KeyA = rt.Struct("KeyA", a=rt.Int32, s=rt.String, b=rt.Array(rt.Uint16, 3))


def test_composite_key_layout_and_identity(r):
    """Struct and array keys: Go's slot struct{key K; elem V}; equality by the fields'
    values (strings by content, -0.0 == +0.0), blank fields aside."""
    mt = maps.MapType(rt.Map(KeyA, rt.Int))
    assert (mt.slot_size, mt.group_size, mt.indirect_key) == (40, 328, False)
    big = rt.Struct("KeyBig", a=rt.Array(rt.Int, 20), s=rt.String)
    assert maps.MapType(rt.Map(big, rt.Int)).indirect_key
    m = rt.make(rt.Map(KeyA, rt.Int))
    for i in range(50):
        m[{"a": i, "s": f"k{i}", "b": [i, 0, 1]}] = i
    assert len(m) == 50
    assert m[{"a": 7, "s": "k7", "b": (7, 0, 1)}] == 7
    assert m[{"a": 7, "s": "k7"}] == 0 and {"a": 7, "s": "k7"} not in m   # b is zero there
    m[{"a": 7, "s": rt.concat("k", "7"), "b": [7, 0, 1]}] = 70             # same key by content
    assert len(m) == 50 and m[{"a": 7, "s": "k7", "b": [7, 0, 1]}] == 70
    p = rt.new(KeyA)
    p.a, p.s, p.b = 3, "k3", [3, 0, 1]
    assert m[p] == 3                                                     # a handle: its value
    keys = sorted(k["a"] for k in m.keys())
    assert keys == list(range(50))
    k0 = next(k for k in m.keys() if k["a"] == 0)
    assert k0 == {"a": 0, "s": "k0", "b": [0, 0, 1]}
    del m[k0]
    assert len(m) == 49 and k0 not in m
    F = rt.Struct("KeyF", x=rt.Float64, _=rt.Int, y=rt.Array(rt.String, 2))
    mf = rt.make(rt.Map(F, rt.Int))
    mf[{"x": -0.0, "y": ["ab", "c"]}] = 1
    assert mf[{"x": 0.0, "y": ["ab", "c"]}] == 1
    assert mf[{"x": 0.0, "y": ["a", "bc"]}] == 0                     # strings length-prefixed
    m2 = rt.make(rt.Map(rt.Array(rt.String, 2), rt.Int))
    m2[["ab", "c"]] = 1
    m2[["a", "bc"]] = 2
    assert (len(m2), m2[("ab", "c")], m2[["a", "bc"]]) == (2, 1, 2)


def test_composite_key_errors_change_nothing(r):
    m = rt.make(rt.Map(KeyA, rt.Int))
    m[{"a": 1}] = 1
    other = rt.new(rt.Int)
    before = rt.ReadMemStats()
    with pytest.raises(TypeError, match="unknown field z in struct literal of type KeyA"):
        m[{"z": 1}] = 2
    with pytest.raises(OverflowError):
        m[{"a": 1 << 40}] = 2
    with pytest.raises(TypeError):
        m[{"b": [1, 2]}] = 2                       # wrong array length
    with pytest.raises(TypeError):
        m[5]                                       # not a KeyA
    with pytest.raises(TypeError):
        m[other]
    with pytest.raises(TypeError, match="not modelled"):
        rt.make(rt.Map(rt.Struct("KeyC", x=rt.Complex64), rt.Int))
    after = rt.ReadMemStats()
    assert len(m) == 1 and after.Mallocs == before.Mallocs


def test_pointers_in_keys_keep_referents_alive(r):
    KP = rt.Struct("KP", p=rt.Ptr(rt.Int), n=rt.Int)
    m = rt.make(rt.Map(KP, rt.Bool))
    q = rt.new(rt.Int)
    q.value = 9
    addr = q.addr
    m[{"p": q, "n": 100}] = True
    m[{"p": None, "n": 100}] = False               # another key: nil pointer
    q = None
    rt.GC()
    assert r.heap.find_object(addr) is not None     # the key's pointer keeps it
    (k,) = [k for k in m.keys() if k["p"] is not None]
    assert k["p"].value == 9 and len(m) == 2
    del m[k]
    k = None
    rt.GC()
    assert r.heap.find_object(addr) is None and len(m) == 1


def _fingerprint(m):
    """Everything of a map that Go would see or goruntime mirrors: MemStats, each table's
    control bytes, slots and counters, the entries."""
    st = m._state
    ms = rt.ReadMemStats()
    tables = []
    if st.small is not None:
        g = st.small[0]
        tables.append(bytes(m.runtime.heap.view(g, st.mt.group_size)))
    seen = set()
    for t in st.directory:
        if id(t) in seen:
            continue
        seen.add(id(t))
        n = t.capacity // 8
        tables.append((bytes(m.runtime.heap.view(t.groups, n * st.mt.group_size)), t.used,
                       t.growth_left, t.hashes.tobytes(), dict(t.keys)))
    return ((ms.Mallocs, ms.TotalAlloc, ms.HeapInuse, ms.HeapObjects), tables, st.used,
            sorted(m.items()))


@pytest.mark.parametrize("K, V, keys, values, deletes", [
    (rt.Int, rt.Int, list(range(3000)), list(range(3000)), True),
    (rt.Int, rt.Int, [5, 5, 7, 5, 9, 1, 2, 3, 4, 5, 6, 8, 10], list(range(13)), False),
    (rt.Uint16, rt.Float64, list(range(0, 60000, 7)), [i * 0.5 for i in range(0, 60000, 7)], True),
    (rt.Float64, rt.Bool, [0.0, -0.0, 1.5, -2.25] + [float(i) for i in range(2000)],
     [True, False] * 1002, False),
    (rt.Int8, rt.Int32, list(range(-128, 128)), [i * 1000 for i in range(256)], True),
    (rt.Bool, rt.Int, [True, False, True], [1, 2, 3], False),
])
def test_bulk_update_is_the_loop(K, V, keys, values, deletes):
    """MapValue.update (compiled) leaves exactly the heap, mirror and MemStats the
    per-entry loop leaves, through growth, splits, overwrites and tombstones."""
    import numpy as np
    prints = []
    for bulk in (False, True):
        with rt.Runtime():
            rt.debug.SetGCPercent(-1)
            m = rt.make(rt.Map(K, V))
            if bulk:
                m.update(np.array(keys), np.array(values))
            else:
                for k, v in zip(keys, values):
                    m[k] = v
            if deletes:
                for k in keys[::3]:
                    del m[k]
                if bulk:
                    m.update(np.array(keys[1::2]), np.array(values[::-1][1::2]))
                else:
                    for k, v in zip(keys[1::2], values[::-1][1::2]):
                        m[k] = v
            prints.append(_fingerprint(m))
    assert prints[0] == prints[1]


def test_bulk_update_checks_first_and_falls_back(r):
    import numpy as np
    m = rt.make(rt.Map(rt.Int8, rt.Int))
    m[1] = 1
    before = (rt.ReadMemStats().Mallocs, _fingerprint(m))
    with pytest.raises(OverflowError, match="int8"):
        m.update(np.arange(200), np.arange(200))
    with pytest.raises(TypeError):
        m.update(np.array([1.5, 2.5]), np.array([1, 2]))
    with pytest.raises(ValueError, match="keys but"):
        m.update(np.arange(3), np.arange(4))
    with pytest.raises(ValueError, match="one-dimensional"):
        m.update(np.zeros((2, 2), dtype=np.int64), np.zeros(4, dtype=np.int64))
    mf = rt.make(rt.Map(rt.Float64, rt.Int))
    assert (rt.ReadMemStats().Mallocs - 1, _fingerprint(m)[1:]) == (before[0], before[1][1:])
    mf.update(np.array([1.0, np.nan, np.nan]), np.array([1, 2, 3]))   # NaN: the Python loop
    assert len(mf) == 3 and mf[1.0] == 1
    m.update([], [])
    assert len(m) == 1
    ms = rt.make(rt.Map(rt.String, rt.Ptr(rt.Int)))     # not compiled: the loop, checked first
    p = rt.new(rt.Int)
    with pytest.raises(TypeError):
        ms.update(["a", "b"], [p, 5])
    assert len(ms) == 0
    ms.update(["a", "b"], [p, None])
    assert ms["a"] == p and ms["b"] is None and len(ms) == 2


def test_string_key_update_keeps_the_new_bytes(r):
    """Go's NeedKeyUpdate (runtime_faststr.go: "Key needs update, as the backing storage may
    differ"): m[k] = v on a present string key stores the new header, so the map keeps the
    newest string's array and the first one can be freed."""
    m = rt.make(rt.Map(rt.String, rt.Int))
    a = rt.string(rt.bytes("some key, forty bytes long for a span..."))
    b = rt.string(rt.bytes("some key, forty bytes long for a span..."))
    m[a[0:8]] = 1                                       # the key shares a's bytes
    rt.GC()                                             # (rt.bytes' arrays are garbage)
    objs = rt.ReadMemStats().HeapObjects
    a = None
    rt.GC()
    assert rt.ReadMemStats().HeapObjects == objs        # a lives: the key points into it
    m[b[0:8]] = m[b[0:8]] + 1                            # m[k]++ with k from b
    b = None
    rt.GC()
    assert rt.ReadMemStats().HeapObjects == objs - 1    # a is freed; b lives as the key
    assert m["some key"] == 2 and len(m) == 1


def test_need_key_update_rule():
    """reflectdata.needkeyupdate: floats, strings, interfaces and composites holding them."""
    S = rt.Struct("nkuS", a=rt.Int, s=rt.String)
    for K, want in ((rt.Int, False), (rt.Ptr(rt.Int), False), (rt.Bool, False), (rt.Float64, True),
                    (rt.String, True), (rt.Any, True), (S, True), (rt.Array(rt.Int32, 3), False),
                    (rt.Array(rt.Float32, 2), True)):
        assert maps.MapType(rt.Map(K, rt.Int)).need_key_update is want, K


def test_interface_keys_box_on_store_only(r):
    """map[any]int: a stored key is boxed as Go's convT* boxes it (ints 0..255 from
    staticuint64s, larger ints an 8-byte tiny box, a string variable a 16-byte header);
    lookups and deletes box nothing; identity is the dynamic type and value."""
    P = rt.Struct("akP", x=rt.Int, y=rt.Int)
    m = rt.make(rt.Map(rt.Any, rt.Int))
    m[0] = 0                                            # the first group
    s = rt.string(rt.bytes("key"))
    a = mallocs()
    for i in range(1, 7):
        m[i] = i                                        # static boxes
    assert mallocs() == a
    rt.GC()
    a = mallocs()
    m[300] = 1                                          # the 8th entry, a small map still: one box
    assert mallocs() - a == 1
    del m[300]
    a = mallocs()
    assert m[5] == 5 and m[300] == 0 and 5 in m and 300 not in m
    assert m[rt.value(rt.Int32, 5)] == 0                # another dynamic type: another key
    assert mallocs() == a
    m[s] = 7
    m[rt.value(P, {"x": 1, "y": 2})] = 9
    assert m["key"] == 7 and m[rt.value(P, {"x": 1, "y": 2})] == 9
    assert sorted(v for _, v in m.items()) == [0, 1, 2, 3, 4, 5, 6, 7, 9]
    with pytest.raises(rt.Panic, match=r"runtime error: hash of unhashable type \[\]int"):
        m[rt.make(rt.Slice(rt.Int), 1)] = 1
    with pytest.raises(rt.Panic, match="unhashable"):
        m.get(rt.make(rt.Slice(rt.Int), 1))


def test_interface_key_update_frees_the_old_box(r):
    m = rt.make(rt.Map(rt.Any, rt.Int))
    for i in range(1000, 1016):
        m[i] = i                                        # 16 boxes of 8 bytes: 8 tiny blocks
    rt.GC()
    objs = rt.ReadMemStats().HeapObjects
    for i in range(1000, 1016):
        m[i] = -i                                       # a new box each (Go boxes before mapassign)
    rt.GC()
    assert rt.ReadMemStats().HeapObjects == objs        # the old blocks freed, new ones kept
    assert [m[i] for i in range(1000, 1016)] == [-i for i in range(1000, 1016)]
