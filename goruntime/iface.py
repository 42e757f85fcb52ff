"""Values in interfaces: Go's iface.go (convT16, convT32, convT64, convTstring,
convTslice, convT, convTnoptr) and the compiler's dataWord (walk/convert.go).

An interface is two words: the type word (``rt.rodata.type_word(T)``) and the data word. What
the data word points at is the question of boxing, and Go answers it per type:

- pointer-shaped values (pointers, maps, chans, funcs) are the data word themselves;
- zero-size values point at ``zerobase``;
- bools and one-byte integers point into ``staticuint64s`` (no allocation);
- 2-, 4- and 8-byte pointer-free values (convT16/32/64) point into ``staticuint64s``
  when their bits, read as an unsigned integer, are below 256, else they get an object
  of their own size (a tiny allocation: they have no pointers);
- strings (convTstring) and slices (convTslice): the empty string and the nil slice
  point at ``zeroVal``; otherwise a 16- or 24-byte header object with a pointer in it;
- anything else is copied into a new object of its type (convT, convTnoptr).

Copying an interface copies its two words: the box is shared, nothing is allocated. So a
value read from an interface (a field, an element, a map entry, what ``Pool.Get`` returns)
remembers its box while it lives (``_box``: a handle, which also keeps the box alive, as
Go's interface variable does), and storing it into another interface stores the same data
word. ``int(v)``, ``str(v)``, ``v.x`` are the value taken out (Go's type assertion):
storing that boxes anew.

A Python ``int``, ``float``, ``str``, ``bool`` or ``complex`` takes Go's default type for
an untyped constant (``int``, ``float64``, ``string``, ``bool``, ``complex128``) and is
boxed as a Go *variable* of that type is. (Go's compiler puts a boxed constant in rodata
and allocates nothing; write such constants as variables in the Go twin.) ``rt.value(T,
x)`` gives a value of any other type.
"""
import struct

import numpy as np

from . import _heap, _object, _signals, types as _types
from .gostring import STATICUINT64S_BASE, ZEROVAL_BASE, StringValue, static_data


class Value:
    """A Go value of type *T* not (yet) on the heap: ``rt.value(rt.Int8, 5)``; for a
    struct or array, *x* is a handle to copy from, or None for the zero value.

    Store it in an interface field to box it as Go boxes a ``T``.
    """
    __slots__ = ("type", "x", "_box")

    def __init__(self, T, x):
        if not isinstance(T, _types.Type):
            raise TypeError(f"value: {T!r} is not a goruntime type")
        object.__setattr__(self, "type", T)
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "_box", None)

    def __setattr__(self, name, v):
        raise AttributeError("a Value is immutable")

    def __reduce__(self):
        return (Value, (self.type, self.x))     # pickle set attributes: "immutable" (B79)

    def __copy__(self):
        return self                     # immutable (copy.copy's default set attributes)

    def __deepcopy__(self, memo):
        import copy
        return Value(self.type, copy.deepcopy(self.x, memo))   # a handle's own rule applies

    def __eq__(self, other):
        return isinstance(other, Value) and other.type == self.type and other.x == self.x

    def __hash__(self):
        return hash((self.type, self.x if not isinstance(self.x, list) else tuple(self.x)))

    def __repr__(self):
        return f"{self.type.go_string()}({self.x!r})"


class _Boxed:
    """Pickles and copies as its plain value (the box belongs to one runtime)."""

    def __reduce__(self):
        base = type(self).__mro__[2]
        return (base, (base(self),))

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self


class _BoxedInt(_Boxed, int):
    """An ``int`` read from an interface: the interface value, sharing its box (`_box`)."""


class _BoxedFloat(_Boxed, float):
    """A ``float64`` read from an interface, sharing its box."""


class _BoxedComplex(_Boxed, complex):
    """A ``complex128`` read from an interface, sharing its box."""


def _boxed_string_type():
    from .gostring import LoadedString
    cls = getattr(_boxed_string_type, "cls", None)
    if cls is None:
        cls = _boxed_string_type.cls = type("_BoxedString", (LoadedString,), {
            "__doc__": "A ``string`` read from an interface: the string variable, sharing its box."})
    return cls


_BOXED = {int: _BoxedInt, float: _BoxedFloat, complex: _BoxedComplex}


def _with_box(rt, T, x, h):
    """*x*, the value of the box *h* of type *T*, as the interface value sharing it."""
    box = (rt, h, T)
    if isinstance(x, str):
        if not hasattr(x, "_go_string"):
            return x
        v = _boxed_string_type()._make(rt, str(x), x._go_string)
    elif type(x) in _BOXED:
        v = _BOXED[type(x)](x)
    else:
        v = Value(T, x)
        object.__setattr__(v, "_box", box)
        return v
    v._box = box
    return v


def _shared_box(rt, v, T):
    """The data word of the box *v* shares when it is a box of *T* in *rt*, else None."""
    box = getattr(v, "_box", None)
    if box is None or box[0] is not rt or box[2] != T:
        return None
    return box[1].addr


def default_type(v):
    """Go's default type of a Python value used as an untyped constant, or None."""
    if isinstance(v, bool):
        return _types.Bool
    if isinstance(v, int):
        return _types.Int
    if isinstance(v, float):
        return _types.Float64
    if isinstance(v, complex):
        return _types.Complex128
    if isinstance(v, (str, StringValue)):
        return _types.String
    return None


def type_and_value(v):
    """``(T, x)`` of a value about to be boxed."""
    if isinstance(v, Value):
        return v.type, v.x
    if isinstance(v, _object.SliceValue) or hasattr(v, "_go_word"):    # slices, maps
        return v.type, v
    T = default_type(v)
    if T is None:
        raise TypeError(f"cannot use {v!r} (value of Python type {type(v).__name__}) as "
                        "interface value (give rt.value(T, x) for a Go type)")
    return T, v


def _direct(T):
    """Go: types.IsDirectIface. Pointer-shaped: the value is the data word."""
    u = T.underlying
    if u.kind in ("ptr", "map", "chan", "func", "unsafe.Pointer"):
        return True
    if u.kind == "array":
        return u.len == 1 and _direct(u.elem)
    if u.kind == "struct":
        fs = [f for f in u.fields]
        return len(fs) == 1 and _direct(fs[0].type)
    return False


def _sole(T):
    """Go: Type.SoleComponent: the single non-struct, non-[1] component, or T."""
    u = T.underlying
    if u.kind == "struct":
        fs = [f for f in u.fields if f.type.size or True]
        if len(fs) == 1:
            return _sole(fs[0].type)
        return T
    if u.kind == "array" and u.len == 1:
        return _sole(u.elem)
    return T


def _raw_into(T, x, buf, at):
    """Write the pointer-free value *x* of type *T* (a scalar, a dict of fields, a list of
    elements, a handle to copy from, None for zero) into *buf* at offset *at*."""
    u = T.underlying
    if isinstance(x, _object.Pointer):
        x = x.value
    if x is None:
        return
    if u.kind == "struct":
        if not isinstance(x, dict):
            raise TypeError(f"cannot use {x!r} as {T.go_string()} value")
        names = {f.name for f in u.fields}
        for name in x:
            if name not in names:
                raise TypeError(f"unknown field {name} in struct literal of type {T.go_string()}")
        for f in u.fields:
            if f.name in x:
                _raw_into(f.type, x[f.name], buf, at + f.offset)
    elif u.kind == "array":
        if not isinstance(x, (list, tuple)) or len(x) > u.len:
            raise TypeError(f"cannot use {x!r} as {T.go_string()} value")
        for i, e in enumerate(x):
            _raw_into(u.elem, e, buf, at + i * u.elem.size)
    elif u.kind == "bool":
        buf[at] = 1 if x else 0
    else:
        import numpy as np
        if u.kind.startswith("float"):
            raw = np.array(float(x), dtype=u.dtype).tobytes()
        else:
            raw = (int(x) & ((1 << (8 * T.size)) - 1)).to_bytes(T.size, "little")
        buf[at:at + T.size] = raw


def _bits(T, x):
    """The value's bits as an unsigned integer (what convT16/32/64 compare with 256)."""
    if T.underlying.kind in ("struct", "array") or isinstance(x, _object.Pointer):
        buf = bytearray(T.size)
        _raw_into(T, x, buf, 0)
        return int.from_bytes(buf, "little")
    k = _sole(T).underlying.kind
    size = T.size
    if k in ("float32", "float64"):
        return int.from_bytes(struct.pack("<f" if size == 4 else "<d", float(x)), "little")
    if k == "bool":
        return 1 if x else 0
    return int(x) & ((1 << (8 * size)) - 1)


def box(rt, v, iface_t, dry):
    """``(type word, data word)`` of *v* stored in an interface of type *iface_t*.

    Checks first (assignability, the value's range), allocates last, so a failed store
    changes nothing.
    """
    if isinstance(v, _object.Pointer):
        raise AssertionError("pointers are stored by _object.store")
    T, x = type_and_value(v)
    err = _types.assign_error(T, iface_t, "x", "variable")
    if err is not None:
        raise TypeError(err)
    _check_value(rt, T, x)
    if dry:
        return 0, 0
    tw = rt.rodata.type_word(T)
    shared = _shared_box(rt, v, T)
    if shared is not None:                      # an interface copied: its words, no box
        return tw, shared
    # the new box's rooted handle stays in `keep` until this returns to the store (C code:
    # no Python signal handler, so no GC, between the return and the stored word)
    keep = []
    return tw, data_word(rt, T, x, keep)


def _check_value(rt, T, x):
    """Go's checks of a value about to be boxed as a *T* (its range; a pointer's type and
    runtime, B43), before anything is allocated."""
    holder = _object.make_slice(rt, rt.heap, 0, 0, 0, _types.Byte)   # checks only
    zero = x is None and T.underlying.kind in ("struct", "array")     # T{}: the zero value
    if not zero and (x is not None or not _direct(T)):
        _object.check_store(holder, T, x)


def data_word(rt, T, x, keep=None):
    """Go: dataWord and the convT* functions (iface.go). A box allocated is rooted by a
    handle appended to *keep* (the caller holds it until the word is stored)."""
    if _direct(T):
        return _direct_word(rt, T, x)
    size = T.size
    if size == 0:
        return _heap.ZERO_BASE
    sole = _sole(T).underlying.kind
    if sole == "bool" or (size == 1 and sole in ("int8", "uint8")):
        static_data(rt)
        return STATICUINT64S_BASE + 8 * _bits(T, x)
    has_ptr = T.has_pointers
    if (size == 2 and T.align == 2) or (size == 4 and T.align == 4 and not has_ptr) or \
            (size == 8 and T.align == 8 and not has_ptr):        # convT16 / 32 / 64
        b = _bits(T, x)
        if b < 256:
            static_data(rt)
            return STATICUINT64S_BASE + 8 * b
        return _copy_in(rt, T, x, size, True, keep)
    if sole == "string":                                          # convTstring
        if isinstance(x, StringValue):
            empty = len(x) == 0
        else:
            empty = x == "" or x is None
        if empty:
            static_data(rt)
            return ZEROVAL_BASE
        return _copy_in(rt, T, x, 16, False, keep)
    if sole == "slice":                                           # convTslice
        if x is None or (isinstance(x, _object.SliceValue) and x.addr == 0):
            static_data(rt)
            return ZEROVAL_BASE
        return _copy_in(rt, T, x, 24, False, keep)
    return _copy_in(rt, T, x, size, not has_ptr, keep)            # convT / convTnoptr


def _direct_word(rt, T, x):
    """The one word of a pointer-shaped value: the pointer itself, or, for a struct or
    array of one pointer-shaped component (Go: IsDirectIface), that component's word, read
    from a handle to copy from or taken from the literal (dict of fields, list)."""
    u = T.underlying
    if x is None:
        return 0
    if u.kind in ("struct", "array"):
        if isinstance(x, _object.Pointer):               # checked: a *T of this runtime
            return rt.heap.read_word(x.addr)
        if u.kind == "struct":
            f = u.fields[0]
            return _direct_word(rt, f.type, x.get(f.name)) if isinstance(x, dict) else 0
        return _direct_word(rt, u.elem, x[0])
    if hasattr(x, "_go_word"):
        return x._go_word(rt, T)
    return x.addr


def _copy_in(rt, T, x, size, noscan, keep=None):
    mask = None if noscan else np.ascontiguousarray(T.gc_mask(), dtype=np.uint8).tobytes()
    with rt.world, _signals.held():
        # allocated and rooted in one C call: a signal handler's GC cannot free the box
        # before it is stored (B32's rule)
        h = _object.new_object(rt, rt.heap, size, noscan, mask, T)
        if x is not None or T.underlying.kind not in ("struct", "array"):
            h.value = x
    if keep is not None:
        keep.append(h)
    return h.addr


def unbox(rt, T, w):
    """The Python value of an interface holding a *T* at data word *w*.

    Go's default types come back as Python values (int, float, str, bool, complex);
    other types as ``rt.value(T, x)``; maps as map handles, other pointer-shaped
    values as their word.
    """
    u = T.underlying
    if _direct(T):
        if u.kind == "map":
            from .maps import map_of_word
            return map_of_word(rt, w, T)
        if u.kind == "func":
            from .closure import func_of_word
            return func_of_word(rt, w, T)
        if u.kind == "chan":
            from .chan import chan_of_word
            return chan_of_word(rt, w, T)
        return w
    if w == _heap.ZERO_BASE or T.size == 0:
        x = None
    elif rt.heap.in_arena(w):
        h = _object.make_pointer(rt, rt.heap, w, T)
        x = h.value
        if T in (_types.Int, _types.Float64, _types.String, _types.Complex128):
            return _with_box(rt, T, x, h)
        v = Value(T, x)
        object.__setattr__(v, "_box", (rt, h, T))
        return v
    else:
        from .gostring import read_bytes
        raw = read_bytes(rt, w, T.size) if w != ZEROVAL_BASE or T.size <= 1024 else bytes(T.size)
        x = _decode(rt, T, raw)
    if T in (_types.Int, _types.Float64, _types.String, _types.Bool, _types.Complex128):
        return x
    return Value(T, x)


def _decode(rt, T, raw):
    k = _sole(T).underlying.kind
    if k == "string":
        return ""
    if k == "slice":
        return None
    if k == "bool":
        return raw[0] != 0
    dt = T.underlying.dtype if T.underlying.kind not in ("struct", "array") else None
    if dt is not None:
        import numpy as np
        return np.frombuffer(raw, dtype=dt)[0].item()
    return raw


def as_interface(rt, v):
    """*v* converted to ``any`` where Go's code returns it as one (``Pool.New``'s
    ``func() any``): boxed now, as Go's convT* at the return, and returned as the
    interface value (sharing that box); handles and nil as they are. Checked as a store
    is first (B90: a constant out of range, a pointer of another runtime)."""
    if v is None:
        return v
    box = getattr(v, "_box", None)
    if box is not None and box[0] is rt:
        return v
    if isinstance(v, _object.Pointer):
        _check_value(rt, v.type, v)
        return v
    T, x = type_and_value(v)
    _check_value(rt, T, x)
    if _direct(T):
        return v
    keep = []
    w = data_word(rt, T, x, keep)
    return unbox(rt, T, w)


_object.register_value_types(box=box, unbox=unbox)
