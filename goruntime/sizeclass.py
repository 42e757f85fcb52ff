"""Where Go 1.27 puts an allocation: ``rt.sizeclass(T)`` or ``rt.sizeclass(nbytes)``.

The public face of the allocator's placement rule (``_heap.size_class``, spec 1.4; Go:
mallocgc and internal/runtime/gc/sizeclasses.go, linux/amd64 with Green Tea): zero-size
objects get ``runtime.zerobase``; pointer-free objects under 16 bytes are tiny-allocated in
16-byte blocks; pointerful objects over 512 bytes carry an 8-byte malloc header; objects over
32760 bytes are large (a span of their own). ``goruntime sizeclass N`` prints the same facts.
"""
from __future__ import annotations

import operator
from dataclasses import dataclass

__all__ = ["sizeclass", "SizeClass", "MAX_ALLOC"]

MAX_ALLOC = 1 << 48            # Go: maxAlloc on linux/amd64


@dataclass(frozen=True)
class SizeClass:
    """Where an allocation of ``bytes`` bytes goes.

    ``kind``: ``"zero"``, ``"tiny"``, ``"small"`` or ``"large"``; ``sizeclass``: Go's size
    class (0 for zero-size and large objects); ``slot``: the bytes it costs (TotalAlloc;
    the 16-byte block for tiny objects, whole pages for large ones); ``header``: an 8-byte
    malloc header precedes the object; ``spanclass``: ``sizeclass << 1 | noscan``;
    ``span_pages`` and ``per_span``: the span's size in 8 KiB pages and its object count
    (0 for zero-size objects, which have no span).
    """
    bytes: int
    pointers: bool
    kind: str
    sizeclass: int
    slot: int
    header: bool
    spanclass: int
    span_pages: int
    per_span: int


def sizeclass(x, *, pointers=None) -> SizeClass:
    """Where Go puts an allocation of *x*: a goruntime type (its size and whether it has
    pointers) or a byte count (*pointers*: whether the type has pointers, default False).

    >>> import goruntime as rt
    >>> rt.sizeclass(rt.Struct("Node", next=rt.Ptr("Node"), id=rt.Int)).sizeclass
    2
    >>> rt.sizeclass(1024, pointers=True).slot
    1152
    """
    from . import _heap
    from .types import Type
    if isinstance(x, Type):
        n = x.size
        has_pointers = x.has_pointers if pointers is None else bool(pointers)
    else:
        if isinstance(x, bool):
            raise TypeError("sizeclass: want a goruntime type or a byte count, not bool")
        try:
            n = operator.index(x)
        except TypeError:
            raise TypeError(f"sizeclass: want a goruntime type or a byte count, not "
                            f"{type(x).__name__}") from None
        has_pointers = bool(pointers)
    if n < 0:
        raise ValueError(f"sizeclass: negative size {n}")
    if n > MAX_ALLOC:
        raise ValueError(f"sizeclass: {n:,} bytes is more than Go can allocate on linux/amd64 "
                         f"(maxAlloc = 1<<48 = {MAX_ALLOC:,} bytes)")
    kind, sc, slot, header = _heap.size_class(n, not has_pointers)
    noscan = 0 if has_pointers else 1
    if kind == "zero":
        pages, per_span = 0, 0
    elif kind == "large":
        pages, per_span = slot // _heap.PAGE_BYTES, 1
    else:
        pages = _heap.SIZE_CLASS_TO_NPAGES[sc]
        per_span = (_heap.SIZE_CLASS_TO_NELEMS_NOSCAN if noscan else
                    _heap.SIZE_CLASS_TO_NELEMS_SCAN)[sc]
    return SizeClass(bytes=n, pointers=has_pointers, kind=kind, sizeclass=sc, slot=slot,
                     header=bool(header), spanclass=sc << 1 | noscan, span_pages=pages,
                     per_span=per_span)
