# cython: embedsignature=True
"""Garbage collector: mark and sweep over the spans of a `Heap` (the mgc.go analogue).

The collector is stop-the-world, precise, non-moving and non-generational. One cycle,
driven by ``runtime.Runtime.gc``:

1. Stop the world: the caller holds the heap's world lock (a ``threading.RLock``; the
   GIL is *not* our lock). Everything below runs without the GIL.
2. Mark (``mark``): roots are greyed -- the handle table (Python handles are Go's stack
   slots), the caller's extra roots (queued finalizers, cleanup boxes, weak handle cells,
   globals) and every P's current tiny block. For each object with a finalizer the
   *referents* are scanned but the object itself is not marked (Go: markrootSpans), so it
   can be found unreachable and revived by the sweep. ``gc_drain`` pops a grey object and
   scans its pointer words (from the heap bits); each word that points into the heap
   greys the object containing it (an interior pointer marks its object). Pointers into
   the object being scanned are skipped (Go: scanobject's ``obj-b >= n``), which is why a
   self-loop with a finalizer is still finalized. The grey list is an explicit stack: a
   10-million-node list marks without recursion. A pointer into the heap's address range
   that is not an allocated object is Go's "found bad pointer in Go heap" fatal error,
   reported after the loop (nothing crashes); pointers outside the heap (globals,
   rodata, zerobase) are ignored, as in Go.
3. Mark termination (Python): heap_marked, the mcache flush, sweepgen += 2.
4. Sweep (``sweep``): the Python layer first handles specials of unmarked objects
   (revive finalizable objects by setting their mark bit, queue finalizers and cleanups,
   clear weak handles); then every in-use span is swept: allocated-but-unmarked slots are
   freed and counted per class, ``alloc_bits`` become the mark bits, mark bits are
   cleared, empty spans return their pages at once, partial spans go back on their
   mcentral list in address order.

Colours (for the step-through view): white = mark bit clear; grey = marked and on the
work stack; black = marked and scanned (pointer-free objects go straight to black).

Invariants (checked by ``checkmark`` and, in GORUNTIME_CHECKS builds, by sweep):

- no slot is marked whose alloc bit is clear (Go: "found pointer to free object");
- an independent second traversal (Go's ``GODEBUG=gccheckmark=1``) marks no object the
  mark missed;
- after sweep, HeapAlloc equals the sum over spans of ``alloc_count * elemsize``.

Mapping to Go (src/runtime): grey_object ~ greyobject, scan_object ~ scanobject,
gc_drain ~ gcDrain (mgcmark.go); sweep_span ~ (*sweepLocked).sweep (mgcsweep.go);
checkmark ~ gccheckmark (mcheckmark.go).
"""
import numpy as np

from libc.string cimport memset, memcpy
from cpython.mem cimport PyMem_RawRealloc, PyMem_RawFree

from goruntime._types cimport int32_t, int64_t, uint8_t, uint32_t, uint64_t, intp_t
from goruntime._heap cimport (
    Heap, mheap_t, mspan_t, span_of, obj_index, bit_get, bit_set, addr_ptr, span_noscan,
    free_span, partial_push, partial_remove, BITMAP_WORDS, PAGE_SHIFT, PAGE_SIZE, SPAN_IN_USE,
    NUM_SIZE_CLASSES, NUM_SPAN_CLASSES, MAX_PROCS, GR_PREFETCH, GR_CTZ64, GR_POPCOUNT64,
    GORUNTIME_CHECKS,
)
from goruntime.errors import FatalError

cdef enum:
    ERR_NONE = 0
    ERR_BAD_POINTER = 1
    ERR_NOMEM = 2
    ERR_ZOMBIE = 3
    ERR_CHECKMARK = 4
    PREFETCH_DISTANCE = 4
    RING_SIZE = 16              # found pointers in flight (a power of two)


cdef struct found_t:            # a pointer found by scan_object, not yet shaded
    uint64_t p                  # the pointer
    uint64_t src                # where it was found (for the bad-pointer report)
    intp_t si                   # the span holding it (page_to_span, already looked up)


cdef struct gcwork_t:           # Go: gcWork (one, since the mark is stop-the-world)
    uint64_t* stack             # grey objects (slot addresses), LIFO
    intp_t n
    intp_t cap
    bint pipelined              # found pointers go through the prefetch ring (see gc_drain)
    found_t ring[RING_SIZE]     # FIFO: ring[rhead & (RING_SIZE-1)] is the oldest
    uint32_t rhead
    uint32_t rtail
    uint64_t bytes_marked       # Go: work.bytesMarked -> heapMarked
    uint64_t nmarked
    uint64_t scan_bytes         # Go: heapScanWork (bytes of pointerful objects scanned)
    uint64_t* bits              # which mark bitmap: gcmark_bits, or check_bits for checkmark
    int err
    uint64_t bad_ptr            # the offending pointer, and where it was found
    uint64_t bad_src


cdef int push(gcwork_t* w, uint64_t obj) noexcept nogil:
    cdef intp_t ncap
    cdef uint64_t* s
    if w.n == w.cap:
        ncap = w.cap * 2 if w.cap else 4096
        s = <uint64_t*>PyMem_RawRealloc(w.stack, ncap * sizeof(uint64_t))
        if s == NULL:
            w.err = ERR_NOMEM
            return -1
        w.stack = s
        w.cap = ncap
    w.stack[w.n] = obj
    w.n += 1
    return 0


cdef inline void not_in_span(mheap_t* h, gcwork_t* w, uint64_t p, uint64_t src) noexcept nogil:
    """*p* is in no in-use span: ignored outside the heap, Go's badPointer inside it."""
    # Outside the heap: a global, rodata or zerobase -- not ours, ignored as in Go.
    # Inside the heap's range but on a free page: Go's badPointer.
    if p >= h.arena_start and p - h.arena_start < (<uint64_t>h.max_pages << PAGE_SHIFT):
        w.err = ERR_BAD_POINTER
        w.bad_ptr = p
        w.bad_src = src


cdef inline void grey_object(mheap_t* h, gcwork_t* w, uint64_t p, uint64_t src) noexcept nogil:
    """Shade the object containing *p* (Go: greyobject via findObject)."""
    cdef intp_t si = span_of(h, p)
    if si < 0:
        not_in_span(h, w, p, src)
        return
    shade(h, w, p, si, src)


cdef inline void shade(mheap_t* h, gcwork_t* w, uint64_t p, intp_t si, uint64_t src) noexcept nogil:
    """Mark the object containing *p*, in span *si*; grey it if it has pointers (Go: greyobject)."""
    cdef mspan_t* s = &h.spans[si]
    cdef uint32_t idx
    cdef uint64_t* mb
    if p - s.base >= <uint64_t>s.nelems * s.elemsize:   # the span's unused tail
        w.err = ERR_BAD_POINTER
        w.bad_ptr = p
        w.bad_src = src
        return
    idx = obj_index(s, p)
    mb = &w.bits[si * BITMAP_WORDS]
    if bit_get(mb, idx):
        return
    if not bit_get(&h.alloc_bits[si * BITMAP_WORDS], idx):      # a free slot
        w.err = ERR_BAD_POINTER
        w.bad_ptr = p
        w.bad_src = src
        return
    bit_set(mb, idx)
    w.bytes_marked += s.elemsize
    w.nmarked += 1
    if span_noscan(s):
        return                                  # black at once: nothing to scan
    push(w, s.base + <uint64_t>idx * s.elemsize)


cdef inline void shade_oldest(mheap_t* h, gcwork_t* w) noexcept nogil:
    cdef found_t* f = &w.ring[w.rhead & (RING_SIZE - 1)]
    w.rhead += 1
    shade(h, w, f.p, f.si, f.src)


cdef inline void found_pointer(mheap_t* h, gcwork_t* w, uint64_t p, uint64_t src) noexcept nogil:
    """A pointer *p* found at *src*: start loading what shading and scanning it will read,
    and queue it; shade the oldest queued pointer if the ring is full.

    Everything the object will cost is requested at once -- its mark-bit and alloc-bit
    words, its span record, its first bytes and its heap-bits word -- so the misses
    overlap with each other and with the RING_SIZE - 1 pointers queued before it, instead
    of following one another (the mark bit, then the object, then its heap bits).
    """
    cdef uint64_t off = p - h.arena_start
    cdef intp_t si
    cdef found_t* f
    if p < h.arena_start or off >= <uint64_t>h.mapped_pages << PAGE_SHIFT:
        not_in_span(h, w, p, src)
        return
    si = h.page_to_span[off >> PAGE_SHIFT]
    if si < 0:
        not_in_span(h, w, p, src)
        return
    if ((p ^ src) >> PAGE_SHIFT) != 0:
        # Not on the page of the object being scanned (whose bitmap words, span record
        # and heap bits are in cache already).
        GR_PREFETCH(&w.bits[si * BITMAP_WORDS])
        GR_PREFETCH(&h.alloc_bits[si * BITMAP_WORDS])
        GR_PREFETCH(&h.spans[si])
        GR_PREFETCH(&h.spans[si].spanclass)
        GR_PREFETCH(h.arena + off)
        GR_PREFETCH(&h.heap_bits[off >> 9])
    if w.rtail - w.rhead == RING_SIZE:
        shade_oldest(h, w)
    f = &w.ring[w.rtail & (RING_SIZE - 1)]
    w.rtail += 1
    f.p = p
    f.src = src
    f.si = si


cdef void scan_object(mheap_t* h, gcwork_t* w, uint64_t b) noexcept nogil:
    """Grey every object that slot *b*'s pointer words point to (Go: scanobject)."""
    cdef intp_t si = span_of(h, b)
    cdef uint64_t n = h.spans[si].elemsize
    cdef intp_t i = <intp_t>((b - h.arena_start) >> 3)
    cdef intp_t end = i + <intp_t>(n >> 3)
    cdef uint64_t word, obj
    w.scan_bytes += n
    while i < end:
        word = h.heap_bits[i >> 6] >> (i & 63)
        if word == 0:
            i = ((i >> 6) + 1) << 6
            continue
        i += GR_CTZ64(word)
        if i >= end:
            break
        obj = (<uint64_t*>(h.arena + ((<uint64_t>i) << 3)))[0]
        if obj != 0 and obj - b >= n:           # nil, or a pointer into this object: skip
            if w.pipelined:
                found_pointer(h, w, obj, h.arena_start + ((<uint64_t>i) << 3))
            else:
                grey_object(h, w, obj, h.arena_start + ((<uint64_t>i) << 3))
            if w.err:
                return
        i += 1


cdef void gc_drain(mheap_t* h, gcwork_t* w) noexcept nogil:
    """Scan grey objects until none are left (Go: gcDrain).

    Pipelined (``mark``): a pointer found by scan_object is not shaded at once; its
    loads are prefetched and it waits in a FIFO ring of RING_SIZE entries
    (found_pointer), and is shaded when the ring is full or there is nothing left to
    scan. By then its mark-bit word, span record and the object itself are in cache: a
    random graph keeps RING_SIZE misses in flight instead of one, and a chain of
    dependent misses (a list in random address order) pays one memory latency per
    object instead of three. The set of marked objects is the same; only the order of
    shading differs.

    Not pipelined (``checkmark``): each found pointer is shaded at once, a plain LIFO
    traversal sharing no queueing code with the pipelined one.
    """
    cdef uint64_t b
    while not w.err:
        if w.n > 0:
            w.n -= 1
            b = w.stack[w.n]
            if w.n >= PREFETCH_DISTANCE and not w.pipelined:
                GR_PREFETCH(addr_ptr(h, w.stack[w.n - PREFETCH_DISTANCE]))
            scan_object(h, w, b)
        elif w.rtail != w.rhead:
            shade_oldest(h, w)
        else:
            break


cdef void mark_roots(mheap_t* h, gcwork_t* w, const uint64_t* roots, intp_t nroots,
                     const uint64_t* scan_only, intp_t nscan) noexcept nogil:
    """Grey the handle table, *roots* and tiny blocks; scan (not mark) *scan_only* objects."""
    cdef intp_t i, si
    cdef uint64_t a, slot
    cdef mspan_t* s
    for i in range(h.roots_len):
        a = h.roots[i]
        if a != 0:
            grey_object(h, w, a, 0)
            if w.err:
                return
    for i in range(nroots):
        if roots[i] != 0:
            grey_object(h, w, roots[i], 0)
            if w.err:
                return
    for i in range(MAX_PROCS):
        if h.mcaches[i].tiny != 0:
            grey_object(h, w, h.mcaches[i].tiny, 0)
    gc_drain(h, w)
    # Objects with finalizers: mark what they point to, but not the objects themselves.
    for i in range(nscan):
        a = scan_only[i]
        si = span_of(h, a)
        if si < 0:
            continue
        s = &h.spans[si]
        if span_noscan(s):
            continue
        slot = s.base + <uint64_t>obj_index(s, a) * s.elemsize
        scan_object(h, w, slot)
        gc_drain(h, w)
        if w.err:
            return


cdef object raise_work_error(gcwork_t* w):
    if w.err == ERR_NOMEM:
        raise MemoryError("runtime: out of memory: grey object work list")
    if w.err == ERR_BAD_POINTER:
        exc = FatalError("found bad pointer in Go heap (incorrect use of unsafe or cgo?)")
        exc.pointer = w.bad_ptr
        exc.found_in = w.bad_src
        where = ("found in object at *(%#x)" % w.bad_src) if w.bad_src else "found in a root"
        exc.add_note("runtime: pointer %#x to unallocated span or free object; %s" % (w.bad_ptr, where))
        raise exc


def _as_addrs(a):
    if a is None:
        return np.zeros(0, dtype=np.uint64)
    return np.ascontiguousarray(a, dtype=np.uint64)


def mark(Heap heap, roots=None, scan_only=None):
    """Mark everything reachable from the roots; returns ``(bytes_marked, nmarked, scan_bytes)``.

    The mark bits must be clear (a swept heap). On error (a bad pointer) the mark bits are
    cleared again before raising, so the heap is exactly as it was.
    """
    cdef const uint64_t[::1] r = _as_addrs(roots)
    cdef const uint64_t[::1] so = _as_addrs(scan_only)
    cdef gcwork_t w
    memset(&w, 0, sizeof(w))
    w.bits = heap.h.gcmark_bits
    w.pipelined = True
    cdef const uint64_t* rp = &r[0] if r.shape[0] else NULL
    cdef const uint64_t* sp = &so[0] if so.shape[0] else NULL
    with nogil:
        mark_roots(&heap.h, &w, rp, r.shape[0], sp, so.shape[0])
    PyMem_RawFree(w.stack)
    if w.err:
        clear_bits(heap, heap.h.gcmark_bits)
        raise_work_error(&w)
    return (w.bytes_marked, w.nmarked, w.scan_bytes)


cdef void clear_bits(Heap heap, uint64_t* bits) noexcept:
    cdef intp_t p
    cdef mheap_t* h = &heap.h
    with nogil:
        for p in range(h.mapped_pages):
            if h.page_to_span[p] == p:
                memset(&bits[p * BITMAP_WORDS], 0, BITMAP_WORDS * 8)


def clear_marks(Heap heap):
    """Clear every mark bit (abandon a cycle)."""
    clear_bits(heap, heap.h.gcmark_bits)


# ---------------------------------------------------------------------------------------
# Checkmark: an independent second traversal (Go: GODEBUG=gccheckmark=1)

def checkmark(Heap heap, roots=None, scan_only=None):
    """Re-mark from the same roots into separate bits and compare with the mark bits.

    Must run between ``mark`` and ``sweep``. Raises ``FatalError("checkmark found
    unmarked object")`` if the traversal reaches an object the mark missed. Returns the
    number of objects it reached. The traversal shades each pointer the moment it is found
    (a plain depth-first walk, no prefetch ring), so it shares none of the mark's
    queueing code (found_pointer, shade_oldest).
    """
    cdef const uint64_t[::1] r = _as_addrs(roots)
    cdef const uint64_t[::1] so = _as_addrs(scan_only)
    cdef gcwork_t w
    cdef mheap_t* h = &heap.h
    cdef intp_t p, k
    cdef uint64_t missing = 0
    memset(&w, 0, sizeof(w))
    w.bits = h.check_bits
    clear_bits(heap, h.check_bits)
    cdef const uint64_t* rp = &r[0] if r.shape[0] else NULL
    cdef const uint64_t* sp = &so[0] if so.shape[0] else NULL
    with nogil:
        mark_roots(h, &w, rp, r.shape[0], sp, so.shape[0])
        if not w.err:
            for p in range(h.mapped_pages):
                if h.page_to_span[p] == p:
                    for k in range(BITMAP_WORDS):
                        if h.check_bits[p * BITMAP_WORDS + k] & ~h.gcmark_bits[p * BITMAP_WORDS + k]:
                            missing += 1
    PyMem_RawFree(w.stack)
    if w.err:
        raise_work_error(&w)
    if missing:
        raise FatalError("checkmark found unmarked object")
    return w.nmarked


# ---------------------------------------------------------------------------------------
# Sweep (Go: mgcsweep.go)

cdef intp_t sweep_span(mheap_t* h, intp_t si) noexcept nogil:
    """Free every allocated-but-unmarked slot of span *si*; return how many, or -1 (zombie).

    Afterwards ``alloc_bits`` equal the mark bits, the mark bits are zero, ``alloc_count``
    is exact and ``freeindex`` is 0. Empty spans give their pages back; partially free
    small spans go on their mcentral's partial list. Go: (*sweepLocked).sweep.
    """
    cdef mspan_t* s = &h.spans[si]
    cdef uint64_t* alloc = &h.alloc_bits[si * BITMAP_WORDS]
    cdef uint64_t* mark = &h.gcmark_bits[si * BITMAP_WORDS]
    cdef intp_t k, nwords = (s.nelems + 63) >> 6
    cdef uint32_t nalloc = 0, nfreed
    for k in range(nwords):
        if mark[k] & ~alloc[k]:
            return -1
        nalloc += GR_POPCOUNT64(mark[k])
    nfreed = s.alloc_count - nalloc
    memcpy(alloc, mark, BITMAP_WORDS * 8)
    memset(mark, 0, BITMAP_WORDS * 8)
    s.alloc_count = nalloc
    s.freeindex = 0
    s.sweepgen = h.sweepgen
    if s.divmul == 0:                            # a large object's span
        if nfreed:
            h.large_free += s.elemsize
            h.large_free_count += 1
            free_span(h, si)
        return nfreed
    if nfreed:
        s.needzero = 1
        h.small_free_count[s.spanclass >> 1] += nfreed
    if nalloc == 0:
        free_span(h, si)
    elif nalloc < s.nelems and s.cached_by < 0:
        partial_push(h, si)
    return nfreed


def sweep(Heap heap):
    """Sweep every in-use span; returns ``(objects_freed, bytes_freed)``.

    The mcaches must have been flushed (mark termination does). Partial lists are rebuilt
    in address order, which is the deterministic stand-in for Go's sweep order.
    """
    cdef mheap_t* h = &heap.h
    cdef intp_t p, n, k, zombie = -1
    cdef uint64_t nfreed = 0, bfreed = 0, es
    cdef int c
    with nogil:
        # Zombie check first (Go: a marked slot that was free), so a failure changes nothing.
        for p in range(h.mapped_pages):
            if h.page_to_span[p] == p and h.spans[p].state == SPAN_IN_USE:
                for k in range(BITMAP_WORDS):
                    if h.gcmark_bits[p * BITMAP_WORDS + k] & ~h.alloc_bits[p * BITMAP_WORDS + k]:
                        zombie = p
                if zombie >= 0:
                    break
    if zombie >= 0:
        exc = FatalError("found pointer to free object")
        exc.add_note("runtime: marked free object in span %#x" % h.spans[zombie].base)
        raise exc
    with nogil:
        for c in range(NUM_SPAN_CLASSES):
            while h.partial_head[c] >= 0:
                partial_remove(h, h.partial_head[c])
        for p in range(h.mapped_pages):
            if h.page_to_span[p] == p and h.spans[p].state == SPAN_IN_USE:
                es = h.spans[p].elemsize
                n = sweep_span(h, p)
                nfreed += n
                bfreed += <uint64_t>n * es
    return (nfreed, bfreed)
