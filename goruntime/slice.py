"""Slices that grow: Go's ``append``, ``copy`` and ``clear`` (Go: runtime/slice.go).

``rt.append(s, *values)`` writes into the backing array while the capacity allows (no
allocation: the result shares the array with *s*, as in Go), and otherwise calls
`growslice`: a new backing array of ``nextslicecap(newLen, oldCap)`` elements, rounded
up to the size class (`roundupsize`), the old elements moved, then the new ones stored.
The old array stays on the heap for as long as anything (the old slice, a sub-slice of
it) points into it: a sub-slice ``s[a:b]`` keeps the *whole* backing array alive,
because Go's GC marks objects, not byte ranges.

Modelled: the escaping case, where the backing array lives on the heap. Go's compiler
also places non-escaping appends of up to 32 bytes in a stack buffer (growsliceBuf) and
non-escaping ``make`` results on the stack; a Python handle always escapes, so these
allocate here as they do in Go whenever the slice escapes (stored in a global, a heap
object, or returned).
"""
import bisect

import numpy as np

from . import _heap, _object, _signals, types as _types
from .errors import Panic

MAX_ALLOC = 1 << 48                        # Go: maxAlloc on linux/amd64
_SMALL_SIZE_MAX = 1024                     # Go: smallSizeMax
_MAX_SMALL_SIZE = 32768                    # Go: maxSmallSize
_MALLOC_HEADER_SIZE = 8                    # Go: gc.MallocHeaderSize
_MIN_SIZE_FOR_MALLOC_HEADER = 512          # Go: gc.MinSizeForMallocHeader
_PAGE_SIZE = 8192


def roundupsize(size, noscan):
    """The bytes mallocgc really gives a request of *size* (Go: roundupsize, msize.go).

    For pointerful objects above 512 bytes the 8-byte malloc header is in the slot, so
    the usable size is the class size minus the header.
    """
    req = size
    if req <= _MAX_SMALL_SIZE - _MALLOC_HEADER_SIZE:
        if not noscan and req > _MIN_SIZE_FOR_MALLOC_HEADER:
            req += _MALLOC_HEADER_SIZE
        if req == 0:
            return 0
        c = bisect.bisect_left(_heap.SIZE_CLASS_TO_SIZE, req, 1)
        return _heap.SIZE_CLASS_TO_SIZE[c] - (req - size)
    return (req + _PAGE_SIZE - 1) & ~(_PAGE_SIZE - 1)


def nextslicecap(new_len, old_cap):
    """Go: nextslicecap. Double below 256 elements, then grow by ~1.25x plus 192."""
    newcap = old_cap
    doublecap = newcap + newcap
    if new_len > doublecap:
        return new_len
    threshold = 256
    if old_cap < threshold:
        return doublecap
    while True:
        newcap += (newcap + 3 * threshold) >> 2
        if newcap >= new_len:
            break
    return newcap


def growslice_size(new_len, old_cap, elem):
    """``(newcap, capmem)`` of Go's growslice for element type *elem* (nonzero size)."""
    es = elem.size
    noscan = not elem.has_pointers
    newcap = nextslicecap(new_len, old_cap)
    if newcap * es > MAX_ALLOC or newcap > MAX_ALLOC:
        raise Panic("runtime error: growslice: len out of range")
    capmem = roundupsize(newcap * es, noscan)
    newcap = capmem // es
    capmem = newcap * es
    if capmem > MAX_ALLOC:
        raise Panic("runtime error: growslice: len out of range")
    return newcap, capmem


def own(rt, h):
    """*h* must be a handle of runtime *rt* (a ValueError otherwise, as for any handle)."""
    if _object.handle_heap(h) is not rt.heap:
        raise ValueError(f"goruntime: handle {h!r} belongs to a different Runtime")


def _gc_mask_bytes(elem):
    """One byte per word of *elem* (1 = pointer), as `_object.new_slice_object` takes it."""
    return np.ascontiguousarray(elem.gc_mask(), dtype=np.uint8).tobytes()


def _slice_arg(s, what):
    """A SliceValue, or a nil slice given as its type (``rt.Slice(T)``)."""
    if isinstance(s, _object.SliceValue):
        return s
    if isinstance(s, _types.Type) and s.underlying.kind == "slice":
        return None
    raise TypeError(f"invalid argument: {what} {s!r} is not a slice "
                    "(a SliceValue, or rt.Slice(T) for a nil slice)")


def append(rt, s, values):
    """Go's ``append(s, values...)`` on runtime *rt*; returns the new SliceValue."""
    sv = _slice_arg(s, "append")
    if sv is None:
        elem, addr, n, c = s.underlying.elem, 0, 0, 0
    else:
        own(rt, sv)
        elem, addr, n, c = sv.elem, sv.addr, len(sv), sv.cap
    owner = sv
    if not values:
        return s if sv is not None else _object.make_slice(rt, rt.heap, 0, 0, 0, elem)
    holder = sv
    if holder is None:                      # a handle of this runtime for the checks
        holder = _object.make_slice(rt, rt.heap, 0, 0, 0, elem)
    for v in values:                        # every value checked before anything changes
        _object.check_store(holder, elem, v)
    new_len = n + len(values)
    with rt.world, _signals.held():
        if new_len <= c:                    # room in the backing array: no allocation
            out = _object.make_slice(rt, rt.heap, addr, new_len, c, elem)
        elif elem.size == 0:
            out = _object.make_slice(rt, rt.heap, _heap.ZERO_BASE, new_len, new_len, elem)
        else:
            newcap, capmem = growslice_size(new_len, c, elem)
            noscan = not elem.has_pointers
            mask = None if noscan else _gc_mask_bytes(elem)
            # allocation and rooting in one C call (no GC can come between them)
            out = _object.new_slice_object(rt, rt.heap, capmem, noscan, mask, newcap, new_len,
                                           newcap, elem)
            if n:
                lenmem = n * elem.size
                if not noscan:
                    rt.heap.bulk_barrier(out.addr, addr, lenmem)   # Go: typedslicecopy
                rt.heap.view(out.addr, lenmem)[:] = rt.heap.view(addr, lenmem)
        for i, v in enumerate(values):
            out[n + i] = v
    del owner
    if rt.heap.gc_pending:
        rt.collector.heap_triggered()
    return out


def copy(rt, dst, src):
    """Go's ``copy(dst, src)``: moves min(len(dst), len(src)) elements; returns the count.

    *src* may be a string (a ``str`` or `StringValue`) when *dst* is a ``[]byte``.
    """
    d = _slice_arg(dst, "copy")
    if d is None:
        return 0
    own(rt, d)
    from .gostring import StringValue, operand, read_bytes
    if isinstance(src, (str, StringValue)):
        if d.elem.underlying.kind != "uint8":
            raise TypeError(f"invalid argument: arguments to copy dst ({d.type.go_string()}) "
                            "and src (string) have different element types")
        a, n = operand(rt, src)
        n = min(n, len(d))
        if n:
            rt.heap.view(d.addr, n)[:] = np.frombuffer(read_bytes(rt, a, n), dtype=np.uint8)
        return n
    sv = _slice_arg(src, "copy")
    if sv is None:
        return 0
    own(rt, sv)
    if d.elem != sv.elem:
        raise TypeError(f"invalid argument: arguments to copy dst ({d.type.go_string()}) and "
                        f"src ({sv.type.go_string()}) have different element types")
    n = min(len(d), len(sv))
    nbytes = n * d.elem.size
    if nbytes:
        with rt.world, _signals.held():                     # memmove: overlapping ranges are fine
            if d.elem.has_pointers:
                rt.heap.bulk_barrier(d.addr, sv.addr, nbytes)      # Go: typedslicecopy
            rt.heap.view(d.addr, nbytes)[:] = rt.heap.view(sv.addr, nbytes).copy()
    return n


def clear_slice(rt, s):
    """Go's ``clear(s)`` for a slice: zero its len elements (the capacity beyond stays)."""
    own(rt, s)
    nbytes = len(s) * s.elem.size
    if nbytes:
        with rt.world, _signals.held():
            if s.elem.has_pointers:
                rt.heap.bulk_barrier(s.addr, 0, nbytes)            # Go: typedmemclr
            rt.heap.view(s.addr, nbytes)[:] = 0
