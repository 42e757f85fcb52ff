"""Func values and closures (Go: the funcval of runtime2.go; cmd/compile's closure
conversion, walk/closure.go, and capture analysis, escape/ and ir.CaptureVars).

A Go func value is one word: a pointer to a *funcval*, ``struct{ F uintptr; captured... }``,
whose ``F`` is the code's entry. What that costs is Go's rule:

- a function that captures nothing (a top-level function, a literal without free
  variables) has a static funcval in the binary: taking it as a value allocates nothing.
  Here: a Python callable stored in a ``Func`` field or slot (``p.cb = f``), or
  ``rt.closure(f)`` with nothing captured (`Rodata.function`: an address outside the heap);
- a func literal that captures variables and escapes (stored in the heap, returned,
  passed on) is ``new(struct{F uintptr; captured...})``: 8 bytes plus the captured
  values laid out as a struct in the order the body first mentions them (Go:
  typecheck.ClosureType; so ``{F; int32}`` is 16 bytes, ``{F; bool; *int; int32}`` 32), in
  its size class, scanned where the captured values have pointers: the closure keeps what
  it captured alive. Pass the captured values in that order;
- Go captures a variable *by value* when it is never assigned after the capture and is at
  most 128 bytes, else *by reference*: the variable moves to the heap (``new(T)``, "moved
  to heap: x", allocated before the closure) and the closure holds its address. Spell a
  by-reference capture as the pointer it is: ``x = rt.new(rt.Int); rt.closure(body, x)``;
- a method value ``r.M`` is a closure capturing the receiver: ``rt.closure(M, r)``.

``f = rt.closure(fn, *captured)`` returns a `FuncValue`; ``f(*args)`` runs
``fn(*captured, *args)`` with the captured values read back from the closure object (Go's
closure body reads them through the closure context), so it sees what the heap holds.
Captured values take the Go types of `capture_type` (Python ``int`` is ``int``, a handle
its pointer or slice type, ``rt.value(T, x)`` any other type). A closure that does not
escape lives on the goroutine's stack in Go and allocates nothing: call the Python
function directly then. Closures are measured against Go 1.27.3 by the oracle scenario
``lang_closures``.

The Python function is kept for the runtime's life (as a binary keeps its code); one code
address serves every function object with the same code, globals, defaults and closure
cells, so ``rt.closure(lambda p: ..., x)`` in a loop registers its lambda once. Capture
heap values as arguments, never in Python closure cells: a cell is a root that Go's
closure would not have.
"""
from __future__ import annotations

import types as _pytypes

from . import _object, types as _t
from .rodata import FUNCVAL_BASE, TEXT_BASE

__all__ = ["FuncValue", "closure", "capture_type", "func_of_word", "func_word"]

_STRUCTS = {}           # captured types -> the closure's struct type (one per layout)


def _struct_of(ctypes):
    S = _STRUCTS.get(ctypes)
    if S is None:
        fields = {"F": _t.Uintptr}
        for i, T in enumerate(ctypes):
            fields[f"x{i}"] = T
        S = _STRUCTS[ctypes] = _t.Struct(None, **fields)
    return S


def capture_type(v):
    """The Go type of a captured Python value, and the value to store: ``(T, x)``."""
    from .gostring import StringValue
    from .iface import Value, default_type
    if isinstance(v, Value):
        return v.type, v.x
    T = default_type(v)
    if T is not None:
        return T, v
    if isinstance(v, (_object.Pointer, _object.SliceValue)):
        return v.type, v
    if isinstance(v, FuncValue) or hasattr(v, "_go_word"):   # func values, maps
        return v.type, v
    if isinstance(v, StringValue):
        return _t.String, v
    from .weak import Pointer as WeakPointer
    if isinstance(v, WeakPointer):
        # Go's weak.Pointer[T] is struct{ _ [0]*T; u unsafe.Pointer }: one pointer word,
        # the address of its handle (so a copy in memory keeps the handle alive)
        return _t.UnsafePointer, v._cell
    raise TypeError(f"goruntime: cannot capture {v!r} (value of Python type {type(v).__name__}); "
                    "give rt.value(T, x) for a Go type")


def _code_key(fn):
    """What makes two Python callables the same code (see the module docstring)."""
    if type(fn) is _pytypes.FunctionType:
        cells = fn.__closure__
        return (fn.__code__, id(fn.__globals__), id(fn.__defaults__), id(fn.__kwdefaults__),
                None if cells is None else tuple(id(c) for c in cells))
    if type(fn) is _pytypes.MethodType:
        return ("method", id(fn.__func__), id(fn.__self__))
    return ("callable", id(fn))


def _check_func_type(T):
    if T is None:
        return
    if not isinstance(T, _t.Type) or T.underlying.kind != "func":
        raise TypeError(f"goruntime: closure type must be a func type, not {T!r}")


class FuncValue:
    """A Go func value held by Python: a static funcval, or a closure object on the heap
    (rooted while this handle lives). Call it to run the function; store it in a ``Func``
    field, slot or interface. ``type`` is its Go type (``func()`` unless given)."""

    __slots__ = ("_fn", "_ctypes", "_h", "_addr", "_rt", "_typed", "type", "__weakref__")

    def __init__(self, *a, **k):
        raise TypeError("goruntime: create func values with rt.closure(fn, *captured)")

    @classmethod
    def _make(cls, rt, fn, ctypes, h, addr, T):
        self = object.__new__(cls)
        self._rt, self._fn, self._ctypes, self._h, self._addr = rt, fn, ctypes, h, addr
        self._typed = T is not None
        self.type = T if T is not None else _t.Func()
        return self

    @property
    def addr(self):
        """The func value's word: the funcval's address (static ones are outside the heap)."""
        return self._addr

    @property
    def runtime(self):
        return self._rt

    @property
    def captured(self):
        """The captured values, as the closure object holds them now."""
        h = self._h
        if h is None:
            return ()
        return tuple(getattr(h, f"x{i}") for i in range(len(self._ctypes)))

    def __call__(self, *args, **kwargs):
        return self._fn(*self.captured, *args, **kwargs)

    def _go_word(self, rt, T):
        if rt is not self._rt:
            raise ValueError(f"goruntime: handle {self!r} belongs to a different Runtime")
        k = T.underlying.kind
        if k != "interface" and (k != "func" or self._typed):
            err = _t.assign_error(self.type, T, "x", "variable")
            if err is not None:
                raise TypeError(err)
        return self._addr

    def __eq__(self, other):
        # Go: func values compare only with nil
        if other is None:
            return False
        return self is other

    def __hash__(self):
        return id(self)

    def __repr__(self):
        where = "heap" if self._h is not None else "static"
        name = getattr(self._fn, "__qualname__", repr(self._fn))
        return f"<{self.type.go_string()} {name} {where} {self._addr:#x}>"

    def __reduce__(self):
        raise TypeError("goruntime: a func value belongs to its runtime and cannot be pickled")

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self


def closure(rt, fn, captured, T=None):
    """``func(...) { ... captured ... }`` evaluated where it escapes: a `FuncValue`.

    Checks everything first (the captured values' types and ranges), then allocates the
    closure object (nothing when nothing is captured) and stores the captured values.
    """
    if not callable(fn):
        raise TypeError(f"goruntime: closure needs a callable, not {fn!r}")
    _check_func_type(T)
    pairs = [capture_type(v) for v in captured]
    ctypes = tuple(p[0] for p in pairs)
    k = rt.rodata.function((_code_key(fn), ctypes), fn, ctypes)
    if not ctypes:
        return FuncValue._make(rt, fn, (), None, FUNCVAL_BASE + 8 * k, T)
    holder = _object.make_slice(rt, rt.heap, 0, 0, 0, _t.Byte)        # checks only
    for ct, x in pairs:
        if x is not None or ct.underlying.kind not in ("struct", "array"):
            _object.check_store(holder, ct, x)
    S = _struct_of(ctypes)
    h = rt.new(S)
    h.F = TEXT_BASE + 16 * k
    for i, (ct, x) in enumerate(pairs):
        if x is not None or ct.underlying.kind not in ("struct", "array"):
            setattr(h, f"x{i}", x)
    return FuncValue._make(rt, fn, ctypes, h, h.addr, T)


def func_word(rt, fn, T):
    """The word of Python function *fn* stored in a field of func type *T*: its static
    funcval (a function value that captures nothing; nothing is allocated)."""
    k = rt.rodata.function((_code_key(fn), ()), fn, ())
    return FUNCVAL_BASE + 8 * k


def func_of_word(rt, w, T):
    """The `FuncValue` of the func word *w* read from a field of type *T*."""
    heap = rt.heap
    if heap.in_arena(w):
        code = heap.read_word(w)
        found = rt.rodata.function_at(code)
        if found is None or code >= FUNCVAL_BASE:
            raise ValueError(f"goruntime: {w:#x} is not a funcval of this runtime")
        _, fn, ctypes = found
        h = _object.make_pointer(rt, heap, w, _struct_of(ctypes))
        return FuncValue._make(rt, fn, ctypes, h, w, T)
    found = rt.rodata.function_at(w)
    if found is None or w < FUNCVAL_BASE:
        raise ValueError(f"goruntime: {w:#x} is not a func value of this runtime")
    return FuncValue._make(rt, found[1], (), None, w, T)


_object.register_value_types(word_value=FuncValue, func_of_word=func_of_word, func_word=func_word)
