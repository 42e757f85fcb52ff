"""Go's predeclared functions that allocate (package builtin): ``append``, ``copy``,
``clear``, and the conversions ``string(b)``, ``string(r)``, ``string(rs)``, ``[]byte(s)``,
``[]rune(s)``, ``a + b``, on the current runtime.

Each one is Go's runtime routine of the same job, in the module named after Go's file:
`slice` (growslice), `gostring` (runtime/string.go: concatstrings, slicebytetostring, stringtoslicebyte,
intstring, stringtoslicerune, slicerunetostring),
`iface` (convT*: ``rt.value``). See those modules for what allocates.
"""
from . import slice as _slice, gostring as _string, iface as _iface, maps as _maps  # noqa: F401
from . import closure as _closure, types as _types, _object
from .runtime import current
from .gostring import StringValue
from .iface import Value
from .maps import MapValue
from .closure import FuncValue

__all__ = ["append", "copy", "clear", "string", "runes", "unsafe_string", "bytes", "concat", "value", "StringValue",
           "Value", "MapValue", "closure", "FuncValue"]


def append(s, *values):
    """Go's ``append(s, values...)``; *s* is a SliceValue, or ``rt.Slice(T)`` for a nil
    slice. Returns the new SliceValue (sharing *s*'s array while the capacity allows)."""
    return _slice.append(current(), s, values)


def copy(dst, src):
    """Go's ``copy(dst, src)``: the number of elements copied."""
    return _slice.copy(current(), dst, src)


def clear(x):
    """Go's ``clear(x)``: a map loses every entry (its memory stays, as in Go); a slice's
    elements are zeroed."""
    rt = current()
    if isinstance(x, _slice._object.SliceValue):
        return _slice.clear_slice(rt, x)
    clear_map = getattr(x, "_go_clear", None)
    if clear_map is None:
        raise TypeError(f"invalid argument: clear expects a map or slice, not {x!r}")
    return clear_map()


def string(x):
    """Go's conversion ``string(x)``, the result escaping: *x* a ``[]byte`` SliceValue
    (slicebytetostring), a ``[]rune`` one (``rt.Slice(rt.Int32)``: slicerunetostring) or
    an integer, a rune (intstring). A `StringValue`.

    Of a string (a ``str`` constant, a string loaded from memory, a `StringValue`) it is
    the same string, nothing allocated, as Go's ``string(s)``: the way to slice a loaded
    string as Go does, ``rt.string(e.msg)[4:]``, a substring sharing (and keeping alive)
    its bytes, where Python's ``e.msg[4:]`` is new text (a constant)."""
    rt = current()
    if isinstance(x, (str, StringValue)):
        return StringValue._make(rt, *_string.operand(rt, x))
    if isinstance(x, int) and not isinstance(x, bool):
        return _string.intstring(rt, x)
    if isinstance(x, _types.Type) and x.underlying.kind == "slice":   # a nil slice
        x = _object.make_slice(rt, rt.heap, 0, 0, 0, x.underlying.elem)
    if _string._is_runes(x):
        return _string.slicerunetostring(rt, x)
    return _string.slicebytetostring(rt, x)


def runes(s):
    """Go's ``[]rune(s)`` whose result escapes (stringtoslicerune): a ``[]rune``
    (``rt.Slice(rt.Int32)``) of *s*'s runes, a ``str`` constant or a string value."""
    return _string.stringtoslicerune(current(), s)


def unsafe_string(b):
    """Go's ``unsafe.String(unsafe.SliceData(b), len(b))`` for a ``[]byte`` SliceValue (what
    ``strings.Builder.String`` does): a `StringValue` sharing b's bytes, no allocation."""
    return _string.unsafestring(current(), b)


def bytes(s):
    """Go's ``[]byte(s)`` for a ``str`` constant (capacity ``len(s)``: Go allocates a
    ``[len]byte``) or a `StringValue` (capacity rounded up to the size class)."""
    return _string.stringtoslicebyte(current(), s)


def concat(*parts):
    """Go's ``a + b + ...`` on strings (``str`` constants and `StringValue`)."""
    return _string.concat(current(), parts)


def value(T, x):
    """A Go value of type *T*, to store in an interface (boxed as Go boxes a ``T``)."""
    return Value(T, x)


def closure(fn, *captured, type=None):
    """A Go func literal that captures *captured* and escapes: a `FuncValue` whose closure
    object ``{F; captured...}`` is on the heap (nothing is allocated when nothing is
    captured). Calling it runs ``fn(*captured, *args)``, the captured values read from the
    heap. *type*: its Go ``Func`` type (``func()`` in an interface when not given). See
    `goruntime.closure`."""
    return _closure.closure(current(), fn, captured, type)
