"""The compiled per-type accessors behind handles (goruntime/_object.pyx: TypeInfo, Field).

``p.x``, ``p.x = v``, ``p.a``, ``s[i]``, ``rt.new(T)`` take inline paths for the common
kinds (int64 and pointer fields, int64 slice elements); these tests pin that the inline
paths and the general ``load``/``store`` path agree on every value and on every error,
whichever path a value takes (exact int or int subclass, in range or not, same pointer
type or an assignable one), and that they are the same in the threaded scheduler.
"""
import enum

import numpy as np
import pytest

import goruntime as rt

T = rt.Struct("AccT", a=rt.Ptr("AccT"), b=rt.Ptr("AccT"), x=rt.Int, y=rt.Int64,
              u=rt.Uint64, s8=rt.Int8)
# Fields named like the handle's own attributes: the attribute wins on reads (as before);
# the field is reached through field_ptr, and writing the name writes the field.
Shadow = rt.Struct("AccShadowT", addr=rt.Int, value=rt.Int, elem=rt.Int, z=rt.Int)
Empty = rt.Struct("AccEmptyT")
MyInt = rt.Named("AccMyInt", rt.Int)


class IntSub(int):
    pass


class Color(enum.IntEnum):
    RED = 3


@pytest.fixture(params=["cooperative", "threads"])
def r(request):
    with rt.Runtime(scheduler=request.param) as r:
        yield r


def test_int_fields_inline_and_general_paths_agree(r):
    p = r.new(T)
    for v in (0, 1, -1, 255, 1 << 40, (1 << 63) - 1, -(1 << 63), IntSub(7), Color.RED):
        p.x = v
        p.y = v
        assert p.x == p.y == int(v) and type(p.x) is int
    p.u = (1 << 64) - 1
    assert p.u == (1 << 64) - 1
    p.s8 = -128
    assert p.s8 == -128


@pytest.mark.parametrize("v, exc, msg", [
    (1 << 63, OverflowError, "cannot use 9223372036854775808 (untyped int constant) as int value"
                             " in assignment (overflows)"),
    (-(1 << 63) - 1, OverflowError, "overflows"),
    (True, TypeError, "cannot use true (untyped bool constant) as int value in assignment"),
    (1.5, TypeError, "cannot use 1.5 (untyped float constant) as int value in assignment"),
    ("7", TypeError, 'cannot use "7" (untyped string constant) as int value in assignment'),
    (None, TypeError, "as int value in assignment"),
])
def test_int_field_errors_write_nothing(r, v, exc, msg):
    p = r.new(T)
    p.x = 42
    with pytest.raises(exc, match=msg.replace("(", r"\(").replace(")", r"\)")):
        p.x = v
    assert p.x == 42


def test_pointer_fields_inline_and_general_paths_agree(r):
    p, q = r.new(T), r.new(T)
    p.a = q
    assert p.a == q and p.a is not q and p.a.elem is T
    p.a.x = 5                          # through a handle made by the inline read
    assert q.x == 5
    p.a = None
    assert p.a is None
    n = r.new(rt.Int)
    with pytest.raises(TypeError, match=r"cannot use x \(variable of type \*int\) as \*AccT value "
                                        r"in assignment"):
        p.a = n
    with pytest.raises(TypeError, match=r"cannot use 3 \(untyped int constant\) as \*AccT value "
                                        r"in assignment"):
        p.a = 3
    with rt.Runtime() as other:
        o = other.new(T)
    with pytest.raises(ValueError, match="belongs to a different Runtime"):
        p.a = o
    assert p.a is None


def test_read_pointer_roots_the_target(r):
    p = r.new(T)
    p.a = r.new(T)
    p.a.x = 9
    q = p.a                            # a handle made by the inline path
    p.a = None
    r.gc()
    r.gc()
    assert q.x == 9                    # still alive: q is a root
    p.a = q
    del q
    r.gc()
    assert p.a.x == 9


NOPE = r"AccShadowT.nope undefined \(type AccShadowT has no field or method nope\)"


def test_handle_attributes_win_over_same_named_fields(r):
    p = r.new(Shadow)
    assert isinstance(p.addr, int) and p.addr >= 0xc000000000
    assert p.elem is Shadow
    p.field_ptr("value").value = 4
    assert p.field_ptr("value").value == 4
    p.z = 11
    assert p.z == 11
    with pytest.raises(AttributeError, match=NOPE):
        p.nope
    with pytest.raises(AttributeError, match=NOPE):
        p.nope = 1


def test_unknown_field_and_non_struct_messages(r):
    p = r.new(T)
    with pytest.raises(AttributeError, match=r"AccT.zz undefined \(type AccT has no "
                                             r"field or method zz\)"):
        p.zz
    n = r.new(rt.Int)
    with pytest.raises(AttributeError, match="is not a struct type"):
        n.x
    e = r.new(Empty)
    with pytest.raises(AttributeError):
        e.x


def test_slice_elements_inline_and_general_paths_agree(r):
    s = r.make(rt.Slice(rt.Int), 5)
    for i, v in enumerate((0, -1, (1 << 63) - 1, IntSub(3), Color.RED)):
        s[i] = v
    assert list(s) == [0, -1, (1 << 63) - 1, 3, 3]
    assert [s[i] for i in range(5)] == list(s)
    assert np.array_equal(s.numpy(), np.array(list(s)))
    with pytest.raises(IndexError, match=r"index out of range \[5\] with length 5"):
        s[5]
    with pytest.raises(IndexError, match=r"index out of range \[-1\]"):
        s[-1]
    with pytest.raises(IndexError, match="index out of range"):
        s[1 << 70] = 1
    with pytest.raises(TypeError, match="must be integer"):
        s[True]
    with pytest.raises(OverflowError, match="overflows"):
        s[0] = 1 << 63
    with pytest.raises(TypeError, match="untyped float constant"):
        s[0] = 0.5
    assert s[0] == 0
    ps = r.make(rt.Slice(rt.Ptr(T)), 2)
    ps[0] = r.new(T)
    ps[0].x = 8
    assert ps[0].x == 8 and ps[1] is None
    b = r.make(rt.Slice(rt.Uint8), 3)
    b[2] = 255
    assert b[2] == 255
    with pytest.raises(OverflowError):
        b[2] = 256


def test_new_checks_its_type_and_caches_per_type(r):
    with pytest.raises(TypeError, match=r"new: 3 is not a goruntime type"):
        r.new(3)
    with pytest.raises(TypeError, match=r"new: None is not a goruntime type"):
        r.new(None)
    a, b, c = r.new(T), r.new(MyInt), r.new(T)      # alternate types: the caches switch
    assert (a.elem, b.elem, c.elem) == (T, MyInt, T)
    assert b.value == 0 and a.addr != c.addr
    assert r.new(Empty).addr == r.new(rt.Struct("AccEmpty2T")).addr   # zerobase
    before = r.read_mem_stats().Mallocs
    hs = [r.new(T) for _ in range(100)]
    assert r.read_mem_stats().Mallocs == before + 100
    del hs


def test_new_on_two_runtimes_uses_each_ones_heap():
    with rt.Runtime() as r1, rt.Runtime() as r2:
        for _ in range(3):
            p1, p2 = r1.new(T), r2.new(T)
            assert p1.runtime is r1 and p2.runtime is r2
            m1, m2 = r1.read_mem_stats().Mallocs, r2.read_mem_stats().Mallocs
            p1.a = r1.new(T)
            assert (r1.read_mem_stats().Mallocs, r2.read_mem_stats().Mallocs) == (m1 + 1, m2)



def test_recycled_handles_start_clean(r):
    """Pointers come from a freelist shared with no other kind: a handle dropped and made
    again (``p.a`` read and dropped, interleaved with slices and unsafe.Pointers of other
    sizes) carries nothing over -- its own address, type, root -- and the root table
    balances."""
    U = rt.Struct("AccRecycleU", n=rt.Int)
    p, q = r.new(T), r.new(T)
    p.a = q
    q.x = 5
    base = r.heap.nroots
    for i in range(300):
        assert p.a.x == 5 and p.a.elem is T and p.a.addr == q.addr
        u = r.new(U)                               # another type, same handle size
        u.n = i
        s = r.make(rt.Slice(rt.Int), 3)            # a slice handle (larger, no freelist)
        s[1] = i
        assert (u.elem, u.n, s.elem, s[1], len(s), s.cap) == (U, i, rt.Int, i, 3, 3)
        assert q.field_ptr("x").elem == rt.Int and q.field_ptr("x").value == 5
        assert r.heap.nroots == base + 2
        del u, s
    assert r.heap.nroots == base
    assert p.a.type == rt.Ptr(T) and p.a.gotype is p.a.gotype     # *T made once per type
    assert s_type(r) == rt.Slice(rt.Int)


def s_type(r):
    return r.make(rt.Slice(rt.Int), 1).type
