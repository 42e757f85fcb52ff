"""Strings, []byte and []rune: Go's runtime/string.go (concatstrings, slicebytetostring,
stringtoslicebyte, intstring, stringtoslicerune, slicerunetostring).

A `StringValue` is a Go string held by Python: ``(ptr, len)`` whose bytes are on the heap
(then the handle roots them, as a Go string variable does), in rodata (constants: every
Python ``str`` is one), or in ``staticuint64s`` (one-byte strings). What allocates is
Go's rule for a result that escapes:

- ``rt.concat(*parts)`` (``a + b + ...``, Go: concatstrings): no nonempty operand gives
  ``""``; exactly one nonempty operand is returned as it is (no allocation); otherwise
  one noscan object of the total length (rawstring), which is a tiny allocation below
  16 bytes. Operands that are all Python ``str`` constants fold at compile time in Go,
  so the result is a constant in rodata.
- ``rt.string(b)`` (Go: slicebytetostring): empty gives ``""``; one byte points into
  ``staticuint64s`` (no allocation); otherwise ``len(b)`` noscan bytes.
- ``rt.bytes(s)`` (Go: stringtoslicebyte, rawbyteslice): a ``[]byte`` whose capacity is
  ``len(s)`` rounded up to its size class; of a constant (a Python ``str``) Go's compiler
  allocates a ``[len]byte`` instead, so the capacity is ``len(s)``.
- ``rt.string(r)`` of an integer (Go: intstring): a 4-byte rawstring for every rune,
  ASCII too; ``rt.runes(s)`` (``[]rune(s)``, rawruneslice): ``4 * runes`` bytes rounded
  up to the size class, nothing for ``""``; ``rt.string(rs)`` of a ``[]rune``
  (slicerunetostring): the encoded length + 3 bytes, also for an empty or nil slice.
- ``s[i:j]`` shares the bytes (Go's substrings never copy), so a short substring keeps
  the whole string it came from alive.
- A string loaded from memory (a field, element, map entry, received or unboxed value) is
  a `LoadedString`: Python text that is also the string variable, so it is an operand,
  never a constant (``e.op + ": " + e.msg`` allocates in Go; ``rt.concat`` of loaded
  strings does too), and storing it copies the header.

Not modelled: the 32-byte stack ``tmpBuf`` Go uses when the result does not escape (a
Python handle always escapes).
"""
import numpy as np

from . import _object, _signals
from .errors import BoundsError
from .slice import own, roundupsize

STATICUINT64S_BASE = 0x4b0000     # Go: runtime.staticuint64s, [256]uint64 in rodata
ZEROVAL_BASE = 0x4b1000           # Go: runtime.zeroVal, [1024]byte of zeros
_STATICUINT64S = np.arange(256, dtype="<u8").tobytes()
_ZEROVAL = bytes(1024)


def static_data(rt):
    """Register ``staticuint64s`` and ``zeroVal`` in *rt*'s rodata (once); they are
    read like any constant's bytes."""
    by_addr = rt.rodata.by_addr
    if STATICUINT64S_BASE not in by_addr:
        by_addr[STATICUINT64S_BASE] = _STATICUINT64S
        by_addr[ZEROVAL_BASE] = _ZEROVAL


def read_bytes(rt, ptr, n):
    """The *n* bytes at *ptr*: heap, rodata or static data."""
    if n == 0:
        return b""
    if rt.heap.in_arena(ptr):
        return bytes(rt.heap.view(ptr, n))
    for a, b in rt.rodata.by_addr.items():
        if a <= ptr and ptr + n <= a + len(b):
            return b[ptr - a: ptr - a + n]
    raise ValueError(f"goruntime: string data at {ptr:#x} is not in this runtime")


class StringValue:
    """A Go ``string`` held by Python: ``len(s)``, ``str(s)``, ``bytes(s)``, ``s[i]`` (a
    byte), ``s[i:j]`` (a substring sharing the bytes), ``s.ptr``, ``s == "text"``.

    While it lives, heap bytes are rooted (the handle ``s.data`` points at them), so a
    substring keeps the whole allocation alive, as in Go. Store it in a ``String`` field,
    an interface, a map key or value like any Go string.
    """
    __slots__ = ("runtime", "_go_string", "_data", "__weakref__")

    def __init__(self, *args, **kwargs):
        raise TypeError("goruntime: strings come from rt.string, rt.bytes' inverse, rt.concat "
                        "or str constants")

    @classmethod
    def _make(cls, rt, ptr, n):
        self = object.__new__(cls)
        self.runtime = rt
        data = None
        if n and rt.heap.in_arena(ptr):
            data = _object.make_pointer(rt, rt.heap, ptr, None)
        elif not n:
            ptr = 0
        self._data = data
        self._go_string = (ptr, n) if data is None else _object.StringHeader(ptr, n, data)
        return self

    @property
    def ptr(self):
        """The data pointer (Go: ``unsafe.StringData(s)``), 0 for the empty string."""
        return self._go_string[0]

    @property
    def data(self):
        """The rooting handle of heap bytes (``unsafe.Pointer``), or None."""
        return self._data

    def len(self):
        return self._go_string[1]

    def __len__(self):
        return self._go_string[1]

    def __bytes__(self):
        return read_bytes(self.runtime, *self._go_string)

    def __str__(self):
        return bytes(self).decode(errors="replace")

    def str(self):
        """The Python text of this string (invalid UTF-8 replaced)."""
        return str(self)

    def __getitem__(self, i):
        n = self._go_string[1]
        if isinstance(i, slice):
            if i.step is not None:
                raise TypeError("invalid operation: 3-index slice of string")
            lo = 0 if i.start is None else i.start
            hi = n if i.stop is None else i.stop
            if isinstance(lo, bool) or isinstance(hi, bool) or not isinstance(lo, int) or not isinstance(hi, int):
                raise TypeError("invalid argument: string slice indices must be integers")
            if lo < 0 or hi < lo or hi > n:
                raise BoundsError(_object.slice_bounds_error(lo, hi, n, "length"))
            return StringValue._make(self.runtime, self._go_string[0] + lo, hi - lo)
        if isinstance(i, bool) or not isinstance(i, int):
            raise TypeError(f"invalid argument: index {i!r} must be integer")
        if i < 0 or i >= n:
            raise BoundsError(_object.index_error(i, n))
        return read_bytes(self.runtime, self._go_string[0] + i, 1)[0]

    def __iter__(self):
        """The bytes, as Go's ``for i := 0; i < len(s); i++ { s[i] }`` reads them."""
        return iter(bytes(self))

    def __eq__(self, other):
        if isinstance(other, StringValue):
            return bytes(self) == bytes(other)
        if isinstance(other, str):
            return bytes(self) == other.encode()
        return NotImplemented

    def __hash__(self):
        return hash(bytes(self))

    def __repr__(self):
        return f"<string {str(self)!r} len={len(self)} {self.ptr:#x}>"

    def __reduce__(self):
        raise TypeError("goruntime: a StringValue belongs to its runtime's heap and cannot be "
                        "pickled (str(s) gives its text)")

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self


class LoadedString(str):
    """A Go string loaded from memory (a string field, a slice or array element, a map key or
    value, a received or unboxed value): Python text that is also the Go string *variable*
    it was loaded into, ``(ptr, len)`` (``_go_string``), rooting heap bytes while it lives.

    So it is no constant: ``rt.concat`` of it allocates (Go's concatstrings of variables,
    where a Python ``str`` literal folds), ``rt.bytes`` of it rounds the capacity up to the
    size class, and storing it (a field, a map key, an interface, a cleanup's argument)
    copies the header, sharing the bytes and keeping them alive as Go's assignment does. Python's
    own operations on the text (``s[1:3]``, ``s + "x"``) give plain ``str`` constants. In
    another runtime it is a constant of its text.
    """

    @classmethod
    def _make(cls, rt, text, header):
        self = str.__new__(cls, text)
        self.runtime = rt
        self._go_string = header
        return self

    def __reduce__(self):
        return (str, (str(self),))            # pickles and copies as its text

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self


def is_constant(rt, x):
    """Whether *x* is a string constant of *rt*'s program: a Python ``str`` that is not a
    string loaded from *rt*'s memory."""
    return isinstance(x, str) and not (isinstance(x, LoadedString) and x.runtime is rt)


_object.register_value_types(string_value=StringValue, loaded_string=LoadedString)


def operand(rt, x):
    """``(ptr, len)`` of a string operand: a ``str`` constant, a string loaded from *rt*'s
    memory, or a StringValue of *rt*."""
    if isinstance(x, str):
        if isinstance(x, LoadedString) and x.runtime is rt:
            return x._go_string
        return rt.rodata.string(x)
    if isinstance(x, StringValue):
        if x.runtime is not rt:
            raise ValueError(f"goruntime: string {x!r} belongs to a different Runtime")
        return x._go_string[0], x._go_string[1]
    raise TypeError(f"cannot use {x!r} (value of Python type {type(x).__name__}) as string value")


def constant(rt, s):
    """A string constant (Go: a literal, in rodata): no allocation."""
    p, n = rt.rodata.string(s)
    return StringValue._make(rt, p, n)


def _finish(rt, out):
    if rt.heap.gc_pending:
        rt.collector.heap_triggered()
    return out


def rawstring(rt, n):
    """Go: rawstring. One noscan object of *n* bytes (tiny below 16)."""
    return rt.heap.alloc(n, True)


def _is_bytes(x):
    return isinstance(x, _object.SliceValue) and x.elem.underlying.kind == "uint8"


def concat(rt, parts):
    """Go: concatstrings for a result that escapes. A ``[]byte`` operand is Go's
    ``string(b)`` inside the expression: with a nonempty ``str`` literal among the
    operands the compiler reads it in place (order.go: OBYTES2STRTMP; no allocation of
    its own), otherwise it is converted first (`slicebytetostring`)."""
    if any(_is_bytes(x) for x in parts):
        for x in parts:
            if not _is_bytes(x):
                operand(rt, x)                    # check every operand before allocating
            else:
                own(rt, x)
        if any(is_constant(rt, x) and x for x in parts):
            ops = [(x.addr, len(x)) if _is_bytes(x) else operand(rt, x) for x in parts]
            return _concat_ops(rt, ops)
        parts = [slicebytetostring(rt, x) if _is_bytes(x) else x for x in parts]
    ops = [operand(rt, x) for x in parts]
    if all(is_constant(rt, x) for x in parts):
        return constant(rt, "".join(parts))       # constant folding
    return _concat_ops(rt, ops)


def _concat_ops(rt, ops):
    total = 0
    count = 0
    idx = 0
    for i, (_, n) in enumerate(ops):
        if n:
            total += n
            count += 1
            idx = i
    if count == 0:
        return StringValue._make(rt, 0, 0)
    if count == 1:
        return StringValue._make(rt, *ops[idx])
    data = b"".join(read_bytes(rt, p, n) for p, n in ops)
    # allocated and rooted in one step for Python's signal handlers: a handler's GC in
    # between would free the new bytes (B32's rule)
    with rt.world, _signals.held():
        p = rawstring(rt, total)
        rt.heap.view(p, total)[:] = np.frombuffer(data, dtype=np.uint8)
        out = StringValue._make(rt, p, total)
    return _finish(rt, out)


def slicebytetostring(rt, b):
    """Go: slicebytetostring (``string(b)``), b a ``[]byte``."""
    if not isinstance(b, _object.SliceValue) or b.elem.underlying.kind != "uint8":
        if isinstance(b, (bytes, bytearray)):
            raise TypeError("string: give a []byte SliceValue (rt.bytes(...)); Python bytes "
                            "are not on the heap")
        raise TypeError(f"cannot convert {b!r} to type string (want []byte, []rune or a rune)")
    own(rt, b)
    n = len(b)
    if n == 0:
        return StringValue._make(rt, 0, 0)
    data = bytes(rt.heap.view(b.addr, n))
    if n == 1:
        static_data(rt)
        return StringValue._make(rt, STATICUINT64S_BASE + 8 * data[0], 1)
    with rt.world, _signals.held():          # allocated and rooted at once (as concat)
        p = rt.heap.alloc(n, True)
        rt.heap.view(p, n)[:] = np.frombuffer(data, dtype=np.uint8)
        out = StringValue._make(rt, p, n)
    return _finish(rt, out)


def unsafestring(rt, b):
    """Go: ``unsafe.String(unsafe.SliceData(b), len(b))``, what ``strings.Builder.String``
    returns: a string sharing *b*'s bytes (the program must not change them afterwards, as
    Go requires). Allocates nothing; the string keeps *b*'s whole array alive."""
    if not isinstance(b, _object.SliceValue) or b.elem.underlying.kind != "uint8":
        raise TypeError(f"unsafe.String: give a []byte SliceValue, not {b!r}")
    own(rt, b)
    n = len(b)
    return StringValue._make(rt, b.addr if n else 0, n)


def stringtoslicebyte(rt, s):
    """Go's ``[]byte(s)``. Of a string value (a `StringValue`): stringtoslicebyte's
    rawbyteslice, the capacity rounded up to the size class. Of a constant (a Python
    ``str`` or ``bytes``): the compiler allocates a ``[n]byte`` and slices it
    (walk/convert.go, walkStringToBytes), so the capacity is exactly ``n`` (a tiny object
    below 16 bytes, nothing for ``""``)."""
    from .types import Byte
    if isinstance(s, (bytes, bytearray)) or is_constant(rt, s):
        if isinstance(s, str):
            operand(rt, s)
        data = s.encode() if isinstance(s, str) else bytes(s)
        cap = len(data)
    else:
        data = read_bytes(rt, *operand(rt, s))
        cap = roundupsize(len(data), True)
    n = len(data)
    with rt.world, _signals.held():          # allocated and rooted at once (as concat)
        p = rt.heap.alloc(cap, True)
        if n:
            rt.heap.view(p, n)[:] = np.frombuffer(data, dtype=np.uint8)
        out = _object.make_slice(rt, rt.heap, p, n, cap, Byte)
    return _finish(rt, out)


# ---------------------------------------------------------------------------
# runes (Go: intstring, stringtoslicerune, slicerunetostring, encoderune)

RUNE_ERROR = "\ufffd"


def _encoderune(r):
    """Go: encoderune. The UTF-8 bytes of rune *r*; a value that is not a valid rune
    (negative, a surrogate, past U+10FFFF) encodes as U+FFFD."""
    if r < 0 or r > 0x10FFFF or 0xD800 <= r <= 0xDFFF:
        return RUNE_ERROR.encode()
    return chr(r).encode()


def _new_string(rt, data, size):
    """A rawstring of *size* bytes (>= len(data)) holding *data*: the string of len(data)."""
    with rt.world, _signals.held():          # allocated and rooted at once (as concat)
        p = rawstring(rt, size)
        if data:
            rt.heap.view(p, len(data))[:] = np.frombuffer(data, dtype=np.uint8)
        out = StringValue._make(rt, p, len(data))
    return _finish(rt, out)


def decode_runes(data):
    """The runes of *data* as Go's ``for _, r := range s`` reads them (decoderune), a
    uint32 array: each byte that does not start a valid UTF-8 sequence is one U+FFFD.

    Decoded by the codec, no Python step per rune (B86): "surrogateescape" makes each byte
    of an invalid range one lone surrogate U+DC80+byte, which valid UTF-8 never decodes
    to. Its ranges are maximal subparts (a lead byte and the continuation bytes that
    followed it): Go also takes each of those bytes as one U+FFFD, since a continuation
    byte never starts a sequence, and both resume after the range."""
    text = data.decode("utf-8", "surrogateescape")
    if not text:
        return np.zeros(0, dtype="<u4")
    # the code points as numpy's UCS-4 holds them (encoding lone surrogates with
    # "surrogatepass" takes the codec's slow path: 5 s for 0.9 million)
    a = np.array([text], dtype=f"<U{len(text)}").view("<u4")
    a[(a >= 0xDC80) & (a <= 0xDCFF)] = 0xFFFD
    return a


def encode_runes(a):
    """Go's encoderune over an int32 array: the UTF-8 bytes, a value that is not a rune
    (negative, a surrogate, past U+10FFFF) as U+FFFD; vectorised (B86)."""
    a = np.asarray(a, dtype="<i4")
    bad = (a < 0) | (a > 0x10FFFF) | ((a >= 0xD800) & (a <= 0xDFFF))
    return np.where(bad, 0xFFFD, a).astype("<u4").tobytes().decode("utf-32-le").encode()


def intstring(rt, v):
    """Go's ``string(r)`` for an integer *r* whose result escapes (walkRuneToString:
    intstring with no stack buffer): a 4-byte rawstring for every value, ASCII too (a
    tiny object; unlike ``string(b)`` of one byte, never ``staticuint64s``), holding its
    1..4 UTF-8 bytes; a value that is not a rune gives "\\uFFFD". A Python int is a
    run-time value: Go folds ``string(rune(65))`` of a constant at compile time."""
    if not -(1 << 63) <= v < 1 << 63:
        raise OverflowError(f"cannot convert {v} (untyped int constant) to type int64")
    if int((v + (1 << 31)) % (1 << 32) - (1 << 31)) != v:     # int64(rune(v)) != v
        v = 0xFFFD
    return _new_string(rt, _encoderune(v), 4)


def _is_runes(x):
    return isinstance(x, _object.SliceValue) and x.elem.underlying.kind == "int32"


def slicerunetostring(rt, a):
    """Go: slicerunetostring (``string(rs)``, rs a ``[]rune``, the result escaping): the
    encoded length summed, then a rawstring of that length **+ 3** (Go's slack for a
    rune that changes under it; ``string([]rune{})`` and of a nil slice allocate 3
    bytes), the string its first bytes."""
    own(rt, a)
    n = len(a)
    data = encode_runes(rt.heap.view(a.addr, 4 * n).view("<i4")) if n else b""
    return _new_string(rt, data, len(data) + 3)


def stringtoslicerune(rt, s):
    """Go's ``[]rune(s)`` whose result escapes (stringtoslicerune, rawruneslice): one
    noscan object of ``4 * runes`` bytes rounded up to the size class, whose capacity is
    that size / 4 (tiny below 16 bytes; nothing for ``""``: zerobase). Invalid UTF-8
    bytes are U+FFFD each, as Go's range over a string reads them."""
    from .types import Int32
    from . import _heap
    runes = decode_runes(read_bytes(rt, *operand(rt, s)))
    n = len(runes)
    if n == 0:
        return _object.make_slice(rt, rt.heap, _heap.ZERO_BASE, 0, 0, Int32)
    mem = roundupsize(4 * n, True)
    with rt.world, _signals.held():
        p = rt.heap.alloc(mem, True)
        rt.heap.view(p, 4 * n)[:] = runes.view(np.uint8)
        out = _object.make_slice(rt, rt.heap, p, n, mem // 4, Int32)
    return _finish(rt, out)
