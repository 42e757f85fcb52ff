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
    with pytest.raises(rt.Panic):
        rt.make(rt.Map(rt.Int, rt.Int), hint=-1)
    with pytest.raises(TypeError):
        rt.make(rt.Map(rt.Array(rt.Int, 2), rt.Int))        # key kinds not modelled yet
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
