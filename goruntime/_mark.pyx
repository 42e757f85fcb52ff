# cython: embedsignature=True
"""Garbage collector: mark and sweep over the spans of a `Heap` (the mgc.go analogue).

The collector is precise, non-moving and non-generational, and marks concurrently with
the mutator (``MarkState``, driven by ``mgc.Collector``): the grey work lives across
calls, ``MarkState.drain`` blackens objects until a work budget is spent, Go's hybrid
write barrier feeds the heap's write barrier buffer (``_heap.pxd``: write_barrier,
bulk_barrier), which the drain shades, and new objects are allocated black. ``mark``
below is the same mark done in one call (tests, tools, the reference for MarkState).
Each call runs with the heap's world lock held (a ``threading.RLock``; the GIL is *not*
our lock), the work itself without the GIL:

1. (the caller holds the world lock)
2. Mark (``mark``): roots are greyed -- the handle table (Python handles are Go's stack
   slots), a trace replay's live set (``grey_live``: per-span live bits, greyed span by
   span in address order), the caller's extra roots (queued finalizers, cleanup boxes, weak handle cells,
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

   The drain is pipelined for memory-level parallelism (``drain_pipelined``): a pointer
   found while scanning has the cache lines that shading and scanning it will touch
   prefetched (its mark-bit word, its alloc-bit word, its first bytes, its heap-bits
   word) and waits in a small FIFO ring before it is shaded, so up to 16 misses are in
   flight rather than one. Span facts come from a compact table built at the start of
   the mark (``build_span_info``, 8 bytes per span instead of the 64-byte record); a
   span whose every slot is allocated needs no alloc-bit load. ``mark(heap, ring=0)``
   and ``checkmark`` use the plain walk (``drain_simple``), which shades each pointer as
   it is found; ``mark(heap, batched=True)`` queues the spans of far objects and scans
   each span's grey objects together (``drain_spans``, Go's Green Tea); all mark exactly
   the same objects (tests/test_mark_paths.py). ``mark``'s default is adaptive: batched
   for its first span visits, then the pipelined drain if those visits were sparse (a
   rule on counts; see ``mark``). At GOMAXPROCS > 1 ``_gcwork`` runs the pipelined drain
   on several threads (gcwork_t's parallel fields, _mark.pxd).
3. Mark termination (Python): heap_marked, the mcache flush, sweepgen += 2.
4. Sweep (``sweep``): the Python layer first handles specials of unmarked objects
   (revive finalizable objects by setting their mark bit, queue finalizers and cleanups,
   clear weak handles); then the spans are swept in Go's order (``sweep_order``: the
   mcache flush's spans, then span class by span class, full before partial, in push
   order): allocated-but-unmarked slots are freed and counted per class, ``alloc_bits``
   become the mark bits, mark bits are cleared, empty spans return their pages at once,
   partial spans go back on their mcentral list in sweep order. runtime.GC() sweeps
   everything (``sweep``); a background cycle sweeps lazily (``sweep_lazy``; the rest
   in allocation through ``sweepone``, or ``finish_sweep``).

Colours (for the step-through view): white = mark bit clear; grey = marked and on the
work stack; black = marked and scanned (pointer-free objects go straight to black).

Invariants (checked by ``checkmark`` and, in GORUNTIME_CHECKS builds, by sweep):

- no slot is marked whose alloc bit is clear (Go: "found pointer to free object");
- an independent second traversal (Go's ``GODEBUG=gccheckmark=1``) marks no object the
  mark missed;
- after sweep, HeapAlloc equals the sum over spans of ``alloc_count * elemsize``.

Mapping to Go (src/runtime): grey_object ~ greyobject, scan_object ~ scanobject,
gc_drain ~ gcDrain (mgcmark.go); sweep_order ~ nextSpanForSweep, sweep_lazy ~ gcSweep,
finish_sweep ~ finishsweep_m (mgcsweep.go; sweep_span, sweepone and the cacheSpan and
deductSweepCredit hooks are in _heap.pyx);
checkmark ~ gccheckmark (mcheckmark.go).
"""
import importlib

import numpy as np

from libc.string cimport memset, memmove
from cpython.mem cimport PyMem_RawMalloc, PyMem_RawCalloc, PyMem_RawRealloc, PyMem_RawFree
from cpython.pycapsule cimport PyCapsule_GetPointer

from goruntime._types cimport int32_t, int64_t, uint8_t, uint32_t, uint64_t, intp_t
from goruntime._heap cimport (
    Heap, mheap_t, mspan_t, span_of, obj_index, bit_get, bit_set, addr_ptr, span_noscan,
    partial_remove, sweep_span, sweepone, BITMAP_WORDS, PAGE_SHIFT, PAGE_SIZE, SPAN_IN_USE,
    NUM_SPAN_CLASSES, MAX_PROCS, MAX_SMALL_SIZE, GR_PREFETCH, GR_CTZ64, scan_size,
)
from goruntime.errors import FatalError

cdef enum:
    PREFETCH_DISTANCE = 4
    PF_DENSE = 2048             # scan_dense: bytes ahead of the words read that are fetched
    SQ_AHEAD = 4                # drain_spans: the queued span whose objects are prefetched
    POP_AHEAD = 8               # drain_pipelined: grey objects ahead whose memory is fetched
    ROOT_AHEAD = 8              # root_jobs: roots ahead whose span and bitmaps are fetched
    DECIDE_VISITS = 1024        # adaptive mark: span visits after which the drain is chosen
    SPARSE_OBJS = 4             # fewer objects scanned per span visit: the ring drain
    FLUSH_ERR = 1000            # scan_word's flush: out of memory (else objects marked, <= 64)
    SCAN_BATCH = 256            # scan_word: pointers found per batch (at most, with 64 to spare)
    GREEN_TEA_MIN = 16          # Go: gcUsesSpanInlineMarkBits (heap bits in the span, >= 16 B)
    GREEN_TEA_MAX = 512

# The mark's compact span table (span_info): one uint64 per span index, built from the
# span records and alloc bits when a pipelined mark starts, 8 bytes where an mspan_t is
# 64, so the table of a 10M-object heap (320 KB) stays in cache where the span records
# (2.5 MB) would not. 0 = use the span record (large spans, anything unusual).
# Bits 0..31: divmul.
cdef extern from *:
    """
    #if defined(__GNUC__) && !defined(__clang__)
    #pragma GCC optimize ("O3")       /* the drains' helpers inline into their loops */
    #endif
    #define GR_SI_ELEMSIZE_SHIFT 32          /* bits 32..47: elemsize (small: <= 32768) */
    #define GR_SI_NELEMS_SHIFT 48            /* bits 48..58: nelems (<= 1024) */
    #define GR_SI_NOSCAN (1ULL << 59)        /* no pointers: marked objects are black at once */
    #define GR_SI_FULL (1ULL << 60)          /* every slot's alloc bit is set: no alloc-bit load */
    #define GR_SI_SMALL (1ULL << 61)         /* a small in-use span described by this entry */
    /* the parallel mark (_gcwork): mark bits set by an atomic fetch-or, shared words read */
    #define GR_MARK_OR(p, v) __atomic_fetch_or((p), (v), __ATOMIC_RELAXED)
    #define GR_LOAD_ACQ(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
    #define GR_TOUCH_XCHG(p) __atomic_exchange_n((p), (unsigned char)1, __ATOMIC_RELAXED)
    #include "_checks.h"
    /* Bits set in x (_checks.h's GR_POPCOUNT64), with the span drain's common words first:
       it counts words of one bit (a list's) and of 64 (a tree's) at every step. */
    static inline int gr_popcount(unsigned long long x) {
    #if !defined(__POPCNT__) && !defined(__aarch64__)
        if ((x & (x - 1)) == 0)
            return x != 0;
        if (x == ~0ULL)
            return 64;
    #endif
        return GR_POPCOUNT64(x);
    }
    #if defined(__GNUC__)
    #define GR_LIKELY(x) __builtin_expect(!!(x), 1)
    #else
    #define GR_LIKELY(x) (x)
    #endif
    #if defined(__GNUC__)
    #define GR_LEN64(x) (64 - __builtin_clzll(x))   /* bits needed for x != 0 (Go: bits.Len64) */
    #else
    static inline int GR_LEN64(unsigned long long x) { int n = 0; while (x) { x >>= 1; n++; } return n; }
    #endif
    """
    int GR_LEN64(uint64_t x) nogil
    bint GR_LIKELY(bint x) nogil
    int GR_POPCNT "gr_popcount"(uint64_t x) nogil
    uint64_t GR_MARK_OR(uint64_t* p, uint64_t v) nogil
    intp_t GR_LOAD_ACQ(const intp_t* p) nogil
    uint8_t GR_TOUCH_XCHG(uint8_t* p) nogil
    const int SI_ELEMSIZE_SHIFT "GR_SI_ELEMSIZE_SHIFT"
    const int SI_NELEMS_SHIFT "GR_SI_NELEMS_SHIFT"
    const uint64_t SI_NOSCAN "GR_SI_NOSCAN"
    const uint64_t SI_FULL "GR_SI_FULL"
    const uint64_t SI_SMALL "GR_SI_SMALL"
    const uint64_t STACK_ADDR_MASK "((1ULL << 48) - 1)"  # grey stack entry: size << 48 | address


# found_t and gcwork_t (the work state) are declared in _mark.pxd.


cdef int grow(gcwork_t* w, void** buf, intp_t* cap, size_t itemsize) noexcept nogil:
    """Double a work buffer (4096 items at first); ERR_NOMEM and -1 if that fails."""
    cdef intp_t ncap = cap[0] * 2 if cap[0] else 4096
    cdef void* b = PyMem_RawRealloc(buf[0], ncap * itemsize)
    if b == NULL:
        w.err = ERR_NOMEM
        return -1
    buf[0] = b
    cap[0] = ncap
    return 0


cdef int push(gcwork_t* w, uint64_t obj) noexcept nogil:
    if w.n == w.cap and grow(w, <void**>&w.stack, &w.cap, sizeof(uint64_t)) < 0:
        return -1
    w.stack[w.n] = obj
    w.n += 1
    return 0


cdef inline void touch(gcwork_t* w, intp_t si, uint64_t es) noexcept nogil:
    """An object with pointers, *es* bytes, in span *si* was greyed: count the span the
    first time this cycle if Go's Green Tea scans its objects span by span (16..512-byte
    objects: the span is queued and its grey objects scanned together, so the cost per
    object falls with the objects marked per span, clock.COSTS["mark_span"]). One byte
    per span, set atomically by the parallel mark's workers; spans made during the mark
    (past ntouched) hold only black objects and are not counted."""
    if es < GREEN_TEA_MIN or es > GREEN_TEA_MAX or si >= w.ntouched or w.touched[si]:
        return
    if w.give_at:                               # parallel: one worker counts the span
        if GR_TOUCH_XCHG(&w.touched[si]):
            return
    else:
        w.touched[si] = 1
    w.nspans += 1
    w.extra += w.w_span


cdef inline void link(gcwork_t* w, uint32_t kp) noexcept nogil:
    """An object was scanned and *kp* of its words held pointers to other objects: one is
    a chain link (a list's node), whose successor Go's Green Tea scans in a span visit of
    its own (the span is released before its objects are scanned, and one grey object
    takes the one-mark path); an object with several pointers has its children
    accumulate in a later visit (clock.COSTS["mark_link"])."""
    if kp == 1:
        w.nlinks += 1
        w.extra += w.w_link


cdef inline uint64_t scan_large(gcwork_t* w, uint64_t sb, uint64_t es) noexcept nogil:
    """*sb* bytes of scan work in an object of *es* bytes; returned as is. Over 512 bytes
    (no Green Tea span scan: Go's scanobject reads it pointer by pointer, oblet by oblet)
    they also count as large-object scan work (clock.COSTS["mark_large_byte"])."""
    if es > GREEN_TEA_MAX:
        w.scan_large += sb
        w.extra += sb * w.w_large
    return sb


cdef inline bint one_word_object(const uint64_t* hbits, intp_t i, intp_t end, uint64_t* word,
                                 uint64_t* sb) noexcept nogil:
    """True when one heap-bits word holds the object of heap words [i, end): then *word*
    is its pointer bits, the first word to scan, and *sb* gains its scan work (up to the
    last pointer word, as scan_size). Both drains' small-object fast path."""
    if (i & 63) + (end - i) > 64:
        return False
    cdef uint64_t w = hbits[i >> 6] >> (i & 63)
    if end - i < 64:
        w &= ((<uint64_t>1) << (end - i)) - 1
    if w:
        sb[0] += (<uint64_t>GR_LEN64(w)) << 3
    word[0] = w
    return True


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
    if w.give_at:                               # parallel: one worker wins the object
        if GR_MARK_OR(&mb[idx >> 6], (<uint64_t>1) << (idx & 63)) & ((<uint64_t>1) << (idx & 63)):
            return
    else:
        bit_set(mb, idx)
    w.bytes_marked += s.elemsize
    w.nmarked += 1
    if span_noscan(s):
        return                                  # black at once: nothing to scan
    touch(w, si, s.elemsize)
    push(w, s.base + <uint64_t>idx * s.elemsize)


cdef uint64_t* build_span_info(const mheap_t* h) noexcept nogil:
    """The compact span table of the pipelined mark (NULL if out of memory)."""
    cdef intp_t p, k, nw
    cdef const mspan_t* s
    cdef const uint64_t* ab
    cdef uint64_t info, last
    cdef bint full
    cdef uint64_t* t = <uint64_t*>PyMem_RawMalloc((h.mapped_pages + 1) * sizeof(uint64_t))
    if t == NULL:
        return NULL
    for p in range(h.mapped_pages):
        t[p] = 0
        if h.page_to_span[p] != p:
            continue
        s = &h.spans[p]
        if (s.state != SPAN_IN_USE or s.divmul == 0 or s.elemsize > MAX_SMALL_SIZE
                or s.nelems == 0 or s.nelems > BITMAP_WORDS * 64
                or s.base != h.arena_start + (<uint64_t>p << PAGE_SHIFT)):
            continue
        ab = &h.alloc_bits[p * BITMAP_WORDS]
        nw = s.nelems >> 6
        full = True
        for k in range(nw):
            if ab[k] != ~(<uint64_t>0):
                full = False
        if full and s.nelems & 63:
            last = ((<uint64_t>1) << (s.nelems & 63)) - 1
            full = (ab[nw] & last) == last
        info = (SI_SMALL | (<uint64_t>s.divmul) | (s.elemsize << SI_ELEMSIZE_SHIFT)
                | ((<uint64_t>s.nelems) << SI_NELEMS_SHIFT))
        if span_noscan(s):
            info |= SI_NOSCAN
        if full:
            info |= SI_FULL
        t[p] = info
    return t


cdef void scan_object(mheap_t* h, gcwork_t* w, uint64_t b) noexcept nogil:
    """Grey every object that slot *b*'s pointer words point to (Go: scanobject)."""
    scan_words(h, w, b, h.spans[span_of(h, b)].elemsize)


cdef void scan_words(mheap_t* h, gcwork_t* w, uint64_t b, uint64_t n) noexcept nogil:
    """scan_object of the *n*-byte slot *b*: found pointers are greyed at once."""
    cdef intp_t i = <intp_t>((b - h.arena_start) >> 3)
    cdef intp_t end = i + <intp_t>(n >> 3)
    cdef uint64_t word, obj
    cdef uint32_t kp = 0
    w.scan_bytes += scan_large(w, scan_size(h, b, n), n)
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
            kp += 1
            grey_object(h, w, obj, h.arena_start + ((<uint64_t>i) << 3))
            if w.err:
                return
        i += 1
    link(w, kp)


cdef void drain_simple(mheap_t* h, gcwork_t* w) noexcept nogil:
    """Scan grey objects until none are left, shading each pointer as it is found."""
    cdef uint64_t b
    cdef uint64_t nm0 = w.nmarked, sb0 = w.scan_bytes
    cdef double x0 = w.extra
    while w.n > 0 and not w.err:
        if w.budget > 0 and ((w.nmarked - nm0) * w.w_obj + (w.scan_bytes - sb0) * w.w_byte
                             + (w.extra - x0) >= w.budget):
            break
        w.n -= 1
        b = w.stack[w.n]
        if w.n >= PREFETCH_DISTANCE:
            GR_PREFETCH(addr_ptr(h, w.stack[w.n - PREFETCH_DISTANCE]))
        scan_object(h, w, b)


# drain_pipelined's specializations (Cython fused types: one C function each, the mode's
# tests resolved at compile time): serial or parallel (mark bits set atomically, work
# handed to other workers), budgeted or to the end. The serial drain loses the parallel
# tests and the budget-less one the budget's; fewer live values in the loop spill less.
cdef struct serial_m:
    char unused
cdef struct parallel_m:
    char unused
cdef struct to_end_m:
    char unused
cdef struct budgeted_m:
    char unused
ctypedef fused par_m:
    serial_m
    parallel_m
ctypedef fused bud_m:
    to_end_m
    budgeted_m


cdef void drain_pipelined(mheap_t* h, gcwork_t* w) noexcept nogil:
    """Scan grey objects until none are left, through the prefetch ring (see pipelined)."""
    if w.give_at:                               # (the parallel drain runs to the end)
        if w.budget > 0:
            pipelined(h, w, <parallel_m*>NULL, <budgeted_m*>NULL)
        else:
            pipelined(h, w, <parallel_m*>NULL, <to_end_m*>NULL)
    elif w.budget > 0:
        pipelined(h, w, <serial_m*>NULL, <budgeted_m*>NULL)
    else:
        pipelined(h, w, <serial_m*>NULL, <to_end_m*>NULL)


cdef void pipelined(mheap_t* h, gcwork_t* w, par_m* par, bud_m* bud) noexcept nogil:
    """Scan grey objects until none are left, through the prefetch ring (*par* and *bud*
    are NULL: their types pick the specialization, above).

    One loop, one step per turn, the state in locals:

    - the ring is full, or there is nothing else to do: shade its oldest pointer (mark
      bit test-and-set; a newly marked object with pointers goes on the grey stack);
    - the object being scanned has a pointer word left: read it; a non-nil pointer that
      is not into the object itself is *found*: its span is looked up (page_to_span and
      the compact span table), the loads shading and scanning it will need are
      prefetched -- its mark-bit word, its alloc-bit word unless the span is full, its
      first bytes and its heap-bits word -- and it joins the ring;
    - otherwise pop the next grey object and start scanning it.

    A pointer is shaded ring_size finds after it was found, when its loads have landed:
    a random graph keeps ring_size misses in flight instead of one, and a chain of
    dependent misses (a list in random address order) pays one memory latency per
    object instead of three. A pointer into the page of the object being scanned skips
    the ring and is shaded at once (that page's bitmap words and heap bits are in cache
    already; only the object's first line is prefetched), so a tree laid out depth first
    is walked in address order as by the plain walk. Every
    object is shaded exactly as by ``shade``; only the order differs, so the marked set,
    bytes and counts are those of the simple walk.

    Popping an object whose neighbour just below it in memory, of its size, is the next
    entry of the stack (two siblings allocated together and pushed together: a tree built
    top down, GCBench's Populate), the neighbour's first two words are read and what they
    point to is prefetched: its children are in cache when it is popped, instead of being
    found only then (the walk goes down the other sibling's subtree first). Its second
    child (the one scanned first when it is popped) is kept, and four such siblings later,
    its line having landed, what that child's first two words point to is prefetched too.
    Only loads and prefetches: the order of every pop, shade and budget check is
    unchanged, so a budgeted drain (``MarkState``, whose per-call counts the pacer reads)
    does the same work in every call.
    """
    cdef uint64_t* stack = w.stack
    cdef intp_t n = w.n, cap = w.cap
    cdef found_t* ring = w.ring
    cdef uint32_t head = w.rhead, tail = w.rtail
    cdef uint32_t rsize = w.ring_size, rmask = w.ring_size - 1
    cdef uint64_t* bits = w.bits
    cdef const uint64_t* abits = h.alloc_bits
    cdef const uint64_t* sinfo = w.span_info
    cdef const uint64_t* hbits = h.heap_bits
    cdef const int32_t* p2s = h.page_to_span
    cdef const uint8_t* arena = h.arena
    cdef uint64_t astart = h.arena_start
    cdef uint64_t alimit = (<uint64_t>h.mapped_pages) << PAGE_SHIFT
    cdef uint64_t bm = 0, nm = 0, sb = 0
    cdef double x0 = w.extra
    # the budget's terms (constant during the call; the counts below 2**63 convert to
    # double as signed integers, the same value in fewer instructions)
    cdef double budget = w.budget, w_obj = w.w_obj, w_byte = w.w_byte
    cdef uint32_t kp = 0                    # pointers found in the object being scanned
    # the object being scanned: address b, size bn; words i..end-1 not yet read;
    # word: heap bits of the words from wbase still to look at
    cdef uint64_t b = 0, bn = 0, word = 0, lim
    cdef intp_t i = 0, end = 0, wbase = 0, k, si
    cdef uint64_t p, src, off, info, es, base, idx, bit
    cdef found_t* f
    cdef found_t near                       # a pointer into the scanned object's page
    cdef intp_t tsi = -1                    # the span of the last object pushed
    cdef uint64_t pend[4]                   # siblings' second children, looked into later
    cdef uint64_t pw = 0
    while True:
        if tail - head != rsize:
            if word:
                k = wbase + GR_CTZ64(word)
                word &= word - 1
                p = (<const uint64_t*>(arena + ((<uint64_t>k) << 3)))[0]
                if p == 0 or p - b < bn:        # nil, or a pointer into this object: skip
                    continue
                kp += 1
                src = astart + ((<uint64_t>k) << 3)
                off = p - astart
                if p < astart or off >= alimit or p2s[off >> PAGE_SHIFT] < 0:
                    not_in_span(h, w, p, src)
                    if w.err:
                        break
                    continue
                si = p2s[off >> PAGE_SHIFT]
                info = sinfo[si]
                GR_PREFETCH(arena + off)        # the object itself
                if ((p ^ src) >> PAGE_SHIFT) == 0:
                    # Same page: its bitmap words are in cache, so shade it now, as the
                    # plain walk does (a depth-first walk keeps its locality).
                    f = &near
                    f.p = p
                    f.src = src
                    f.si = si
                    f.info = info
                else:
                    GR_PREFETCH(&bits[si * BITMAP_WORDS])
                    if not (info & SI_FULL):
                        GR_PREFETCH(&abits[si * BITMAP_WORDS])
                    if not info:
                        GR_PREFETCH(&h.spans[si])
                        GR_PREFETCH(&h.spans[si].spanclass)
                    GR_PREFETCH(&hbits[off >> 9])
                    f = &ring[tail & rmask]
                    tail += 1
                    f.p = p
                    f.src = src
                    f.si = si
                    f.info = info
                    continue
            elif i < end:
                lim = 64 - <uint64_t>(i & 63)
                word = hbits[i >> 6] >> (i & 63)
                if <uint64_t>(end - i) < lim:
                    lim = <uint64_t>(end - i)
                    word &= ((<uint64_t>1) << lim) - 1
                wbase = i
                i += <intp_t>lim
                continue
            elif n > 0 and (bud_m is to_end_m or <double><int64_t>nm * w_obj
                            + <double><int64_t>sb * w_byte + (w.extra - x0) < budget):
                link(w, kp)                     # the object scanned last is done
                kp = 0
                if par_m is parallel_m:
                    if GR_LOAD_ACQ(w.abort):
                        break
                    if n > w.give_at and GR_LOAD_ACQ(w.nfull) == 0:
                        w.stack = stack             # hand a buffer to the full list
                        w.n = n
                        if w.give(w) < 0:
                            break
                        stack = w.stack
                        n = w.n
                        continue
                n -= 1
                b = stack[n]
                if n >= POP_AHEAD:              # a grey object popped soon: its first
                    p = (stack[n - POP_AHEAD] & STACK_ADDR_MASK) - astart   # line, heap bits
                    if p < alimit:
                        GR_PREFETCH(arena + p)
                        GR_PREFETCH(&hbits[p >> 9])
                if n > 0 and stack[n - 1] + (b >> 48) == b:
                    # The object below is the one just before this one in memory, of its
                    # size (b >> 48): siblings allocated together, this one scanned first.
                    # Its line comes with this one's; what its first two words point to
                    # (its children, in a tree built top down) is fetched now.
                    p = (b & STACK_ADDR_MASK) - (b >> 48) - astart
                    if (b >> 48) >= 16:
                        src = (<const uint64_t*>(arena + p))[0] - astart
                        if src < alimit:
                            GR_PREFETCH(arena + src)
                        src = (<const uint64_t*>(arena + p))[1] - astart
                        if src < alimit:
                            GR_PREFETCH(arena + src)
                            if src + 16 <= alimit:
                                # Its second child is scanned first when it is popped: that
                                # child's line is on its way now, and four siblings later
                                # its own first two words are read in turn.
                                p = pend[pw & 3]
                                pend[pw & 3] = src & ~(<uint64_t>7)
                                pw += 1
                                if pw > 4:
                                    src = (<const uint64_t*>(arena + p))[0] - astart
                                    if src < alimit:
                                        GR_PREFETCH(arena + src)
                                    src = (<const uint64_t*>(arena + p))[1] - astart
                                    if src < alimit:
                                        GR_PREFETCH(arena + src)
                bn = b >> 48                    # the size, if shading pushed it (below)
                b &= STACK_ADDR_MASK
                if bn == 0:
                    si = p2s[(b - astart) >> PAGE_SHIFT]
                    info = sinfo[si]
                    bn = (info >> SI_ELEMSIZE_SHIFT) & 0xffff if info else h.spans[si].elemsize
                i = <intp_t>((b - astart) >> 3)
                end = i + <intp_t>(bn >> 3)
                if one_word_object(hbits, i, end, &word, &sb):
                    wbase = i
                    i = end
                else:
                    sb += scan_large(w, scan_size(h, b, bn), bn)
                continue
            elif tail == head:
                break
            else:
                f = &ring[head & rmask]         # nothing else to do: the oldest found
                head += 1
        else:
            f = &ring[head & rmask]             # the ring is full: its oldest pointer
            head += 1
        # shade *f (Go: greyobject)
        p = f.p
        si = f.si
        info = f.info
        if not info:                            # large or unusual span: the general path
            w.stack = stack
            w.n = n
            shade(h, w, p, si, f.src)
            stack = w.stack
            n = w.n
            cap = w.cap
            if w.err:
                break
            continue
        es = (info >> SI_ELEMSIZE_SHIFT) & 0xffff
        base = astart + ((<uint64_t>si) << PAGE_SHIFT)
        if p - base >= ((info >> SI_NELEMS_SHIFT) & 0x7ff) * es:  # the span's unused tail
            w.err = ERR_BAD_POINTER
            w.bad_ptr = p
            w.bad_src = f.src
            break
        idx = ((p - base) * <uint32_t>info) >> 32                  # Go: divMagic
        k = si * BITMAP_WORDS + <intp_t>(idx >> 6)
        bit = (<uint64_t>1) << (idx & 63)
        if bits[k] & bit:
            continue
        if not (info & SI_FULL) and not (abits[k] & bit):           # a free slot
            w.err = ERR_BAD_POINTER
            w.bad_ptr = p
            w.bad_src = f.src
            break
        if par_m is parallel_m:
            if GR_MARK_OR(&bits[k], bit) & bit:
                continue                        # another worker marked it first
        else:
            bits[k] |= bit
        bm += es
        nm += 1
        if info & SI_NOSCAN:
            continue                            # black at once: nothing to scan
        if si != tsi:                           # (the span just touched is counted)
            touch(w, si, es)
            tsi = si
        if n == cap:
            w.stack = stack
            w.n = n
            if push(w, (base + idx * es) | (es << 48)) < 0:
                break
            stack = w.stack
            n = w.n
            cap = w.cap
            continue
        stack[n] = (base + idx * es) | (es << 48)   # small objects carry their size
        n += 1
    link(w, kp)                                 # the last object scanned
    w.stack = stack
    w.n = n
    w.rhead = head
    w.rtail = tail
    w.bytes_marked += bm
    w.nmarked += nm
    w.scan_bytes += sb


# ---------------------------------------------------------------------------------------
# Span-batched marking (Go 1.25+: "Green Tea", mgcmark_greenteagc.go): mark(heap,
# batched=True). Shading a small object far from the object being scanned sets its mark
# bit and its *grey* bit and queues its span (once while it is queued); a span taken off
# the queue has all its grey objects scanned in address order.

cdef int span_enqueue(gcwork_t* w, intp_t si) noexcept nogil:
    cdef intp_t live
    if w.sq_tail == w.sq_cap:
        live = w.sq_tail - w.sq_head
        # slide down if at least half is free, else grow first
        if (w.sq_head < live or w.sq_head == 0) and grow(
                w, <void**>&w.squeue, &w.sq_cap, sizeof(int32_t)) < 0:
            return -1
        if w.sq_head > 0:
            memmove(w.squeue, &w.squeue[w.sq_head], live * sizeof(int32_t))
        w.sq_head = 0
        w.sq_tail = live
    w.squeue[w.sq_tail] = <int32_t>si
    w.sq_tail += 1
    w.queued[si] = 1
    return 0


cdef struct dstate_t:           # drain_spans' state, shared with its helpers
    uint64_t* bits
    uint64_t* grey
    uint8_t* queued
    const uint64_t* abits
    const uint64_t* sinfo
    const uint64_t* hbits
    const int32_t* p2s
    const uint8_t* arena
    uint64_t astart
    uint64_t alimit
    found_t* ring
    uint32_t head
    uint32_t tail
    uint32_t rsize
    uint32_t rmask
    uint64_t tpage              # the page of the last pointer sent to the ring (~0: none)
    intp_t tsi                  # its span and span_info
    uint64_t tinfo
    bint tfast                  # that span is small, scan and full: the fast shade below
    uint64_t tbase              # its base, element size, nelems * elemsize
    uint64_t tes
    uint64_t tlim
    uint64_t* tbits             # its mark-bit and grey-bit rows
    uint64_t* tgrey
    uint64_t bm                 # marked by ds_shade (drain_spans counts the fast path's)
    uint64_t nm


cdef inline int ds_shade(mheap_t* h, gcwork_t* w, dstate_t* d, uint64_t p, intp_t si,
                         uint64_t info, uint64_t src, bint batch) noexcept nogil:
    """Shade *p* in span *si* (Go: greyobject / tryDeferToSpanScan): a small object gets
    its mark bit and, if it has pointers, either (*batch*) its grey bit, its span queued
    unless it is, or a place on the object stack; anything else goes through shade (the
    object stack). -1 on error."""
    cdef uint64_t es, base, idx, bit
    cdef intp_t k
    if not info:                                # large or unusual span: the object stack
        shade(h, w, p, si, src)
        return -1 if w.err else 0
    es = (info >> SI_ELEMSIZE_SHIFT) & 0xffff
    base = d.astart + ((<uint64_t>si) << PAGE_SHIFT)
    if p - base >= ((info >> SI_NELEMS_SHIFT) & 0x7ff) * es:      # the span's unused tail
        w.err = ERR_BAD_POINTER
        w.bad_ptr = p
        w.bad_src = src
        return -1
    idx = ((p - base) * <uint32_t>info) >> 32                      # Go: divMagic
    k = si * BITMAP_WORDS + <intp_t>(idx >> 6)
    bit = (<uint64_t>1) << (idx & 63)
    if d.bits[k] & bit:
        return 0
    if not (info & SI_FULL) and not (d.abits[k] & bit):           # a free slot
        w.err = ERR_BAD_POINTER
        w.bad_ptr = p
        w.bad_src = src
        return -1
    d.bits[k] |= bit
    d.bm += es
    d.nm += 1
    if info & SI_NOSCAN:
        return 0                                # black at once: nothing to scan
    touch(w, si, es)
    if not batch:
        return push(w, (base + idx * es) | (es << 48))     # small objects carry their size
    d.grey[k] |= bit
    if not d.queued[si]:
        return span_enqueue(w, si)
    return 0


cdef inline int ds_found(mheap_t* h, gcwork_t* w, dstate_t* d, uint64_t p,
                         uint64_t src) noexcept nogil:
    """A pointer found at *src*. Into the page of the last pointer sent to the ring: shaded
    at once, batched (its span's bitmap rows are in cache: a tree's next children). Into
    *src*'s own page: shaded at once onto the object stack (scanned next, depth first:
    a list in allocation order, binary-trees' left children). Anywhere else: its loads
    are prefetched and it joins the ring (the ring's oldest is shaded, batched, first if
    the ring is full). -1 on error, 1 if it was marked by the fast path (the caller
    counts it: one object of d.tes bytes), else 0."""
    cdef uint64_t off = p - d.astart, pg = off >> PAGE_SHIFT, info
    cdef intp_t si
    cdef found_t* f
    cdef uint64_t idx, bit
    if pg == d.tpage:
        if d.tfast and p - d.tbase < d.tlim:
            # ds_shade with the span's facts at hand (no free slot, has pointers)
            idx = ((p - d.tbase) * <uint32_t>d.tinfo) >> 32
            bit = (<uint64_t>1) << (idx & 63)
            if d.tbits[idx >> 6] & bit:
                return 0
            d.tbits[idx >> 6] |= bit
            d.tgrey[idx >> 6] |= bit
            touch(w, d.tsi, d.tes)
            if not d.queued[d.tsi] and span_enqueue(w, d.tsi) < 0:
                return -1
            return 1                            # the caller counts it (in registers)
        return ds_shade(h, w, d, p, d.tsi, d.tinfo, src, True)
    if p < d.astart or off >= d.alimit or d.p2s[pg] < 0:
        not_in_span(h, w, p, src)
        return -1 if w.err else 0
    si = d.p2s[pg]
    info = d.sinfo[si]
    if ((p ^ src) >> PAGE_SHIFT) == 0:
        return ds_shade(h, w, d, p, si, info, src, False)
    GR_PREFETCH(d.arena + off)                  # the object itself
    GR_PREFETCH(&d.bits[si * BITMAP_WORDS])
    GR_PREFETCH(&d.grey[si * BITMAP_WORDS])
    GR_PREFETCH(&d.queued[si])
    if not (info & SI_FULL):
        GR_PREFETCH(&d.abits[si * BITMAP_WORDS])
    if not info:
        GR_PREFETCH(&h.spans[si])
        GR_PREFETCH(&h.spans[si].spanclass)
    GR_PREFETCH(&d.hbits[off >> 9])
    d.tpage = pg
    d.tsi = si
    d.tinfo = info
    d.tfast = (info & (SI_SMALL | SI_FULL | SI_NOSCAN)) == (SI_SMALL | SI_FULL)
    d.tbase = d.astart + ((<uint64_t>si) << PAGE_SHIFT)
    d.tes = (info >> SI_ELEMSIZE_SHIFT) & 0xffff
    d.tlim = ((info >> SI_NELEMS_SHIFT) & 0x7ff) * d.tes
    d.tbits = &d.bits[si * BITMAP_WORDS]
    d.tgrey = &d.grey[si * BITMAP_WORDS]
    if d.tail - d.head == d.rsize:
        f = &d.ring[d.head & d.rmask]
        d.head += 1
        if ds_shade(h, w, d, f.p, f.si, f.info, f.src, True) < 0:
            return -1
    f = &d.ring[d.tail & d.rmask]
    d.tail += 1
    f.p = p
    f.src = src
    f.si = si
    f.info = info
    return 0


cdef inline void tload(const dstate_t* d, uint64_t* tlo, uint64_t* tlen, uint64_t* tbase,
                       uint32_t* tdiv, uint64_t* tes, intp_t* tsi, uint64_t** tbits,
                       uint64_t** tgrey) noexcept nogil:
    """scan_word's copy of d.t*: [tlo, tlo + tlen) are the addresses ds_found's fast path
    takes (in page d.tpage and in span d.tsi's objects, if it is small, full and scan)."""
    tlen[0] = 0
    if not d.tfast:
        return
    tsi[0] = d.tsi
    tbase[0] = d.tbase
    tdiv[0] = <uint32_t>d.tinfo
    tes[0] = d.tes
    tbits[0] = d.tbits
    tgrey[0] = d.tgrey
    tlo[0] = d.astart + (d.tpage << PAGE_SHIFT)
    if d.tbase + d.tlim > tlo[0]:
        tlen[0] = d.tbase + d.tlim - tlo[0]
        if tlen[0] > PAGE_SIZE:
            tlen[0] = PAGE_SIZE


cdef inline uint64_t flush(gcwork_t* w, dstate_t* d, intp_t tsi, uint64_t* tbits,
                           uint64_t* tgrey, intp_t cw, uint64_t cwm, uint64_t cw0) noexcept nogil:
    """Write scan_word's mark-bit word back: the bits it set (*cwm* less *cw0*, the word
    as it was read) become grey and the span is queued unless it is. Returns how many
    objects it marked (FLUSH_ERR: out of memory)."""
    cdef uint64_t cwg = cwm & ~cw0
    tbits[cw] = cwm
    if not cwg:
        return 0
    tgrey[cw] |= cwg
    touch(w, tsi, d.tes)                        # (counts the span once: as at the first mark)
    if not d.queued[tsi] and span_enqueue(w, tsi) < 0:
        return FLUSH_ERR
    return <uint64_t>GR_POPCNT(cwg)


cdef int shade_found(mheap_t* h, gcwork_t* w, dstate_t* d, const uint64_t* pbuf,
                     const uint64_t* sbuf, intp_t nf, uint64_t* pnfast,
                     uint64_t* pbfast) noexcept nogil:
    """scan_word's second pass: shade the *nf* pointers of *pbuf* (found at *sbuf*), in
    order, as ds_found does; adds the objects and bytes its fast path marks to *pnfast*,
    *pbfast*. -1 on error.

    Into the page of the last pointer sent to the ring (d.t*, copied to locals by
    tload: [tlo, tlo + tlen) is what ds_found's fast path takes), a pointer is marked in
    a register copy of its mark-bit word (cwm; cw0: the word as read, so the bits set
    since are the ones to grey), written back (``flush``: grey bits, counts, the span
    queued unless it is) when the word changes and before anything else can look at
    those bits or the span queue, so every object is shaded, counted and queued as by
    ds_found; anything else goes to ds_found.
    """
    cdef uint64_t tlo = 0, tlen = 0, tbase = 0, tes = 0, p, idx, bit, n
    cdef uint64_t nfast = pnfast[0], bfast = pbfast[0]
    cdef uint32_t tdiv = 0
    cdef intp_t tsi = 0, cw = -1, q
    cdef uint64_t* tbits = NULL
    cdef uint64_t* tgrey = NULL
    cdef uint64_t cwm = 0, cw0 = 0
    cdef int r, ret = 0
    tload(d, &tlo, &tlen, &tbase, &tdiv, &tes, &tsi, &tbits, &tgrey)
    for q in range(nf):
        p = pbuf[q]
        if GR_LIKELY(p - tlo < tlen):           # ds_found's fast path
            idx = ((p - tbase) * tdiv) >> 32
            if <intp_t>(idx >> 6) != cw:
                if cw >= 0:
                    n = flush(w, d, tsi, tbits, tgrey, cw, cwm, cw0)
                    if n == FLUSH_ERR:
                        ret = -1
                        break
                    nfast += n
                    bfast += n * tes
                cw = <intp_t>(idx >> 6)
                cwm = tbits[cw]
                cw0 = cwm
            bit = (<uint64_t>1) << (idx & 63)
            cwm |= bit
            continue
        if cw >= 0:
            n = flush(w, d, tsi, tbits, tgrey, cw, cwm, cw0)
            cw = -1
            if n == FLUSH_ERR:
                ret = -1
                break
            nfast += n
            bfast += n * tes
        r = ds_found(h, w, d, p, sbuf[q])
        if r:
            if r < 0:
                ret = -1
                break
            nfast += 1
            bfast += d.tes
        tload(d, &tlo, &tlen, &tbase, &tdiv, &tes, &tsi, &tbits, &tgrey)
    if cw >= 0 and ret == 0:
        n = flush(w, d, tsi, tbits, tgrey, cw, cwm, cw0)
        if n == FLUSH_ERR:
            ret = -1
        else:
            nfast += n
            bfast += n * tes
    pnfast[0] = nfast
    pbfast[0] = bfast
    return ret


cdef inline uint64_t word_scan_work(uint64_t word, intp_t cwords) noexcept nogil:
    """The scan work (bytes) of the objects of *cwords* words (a power of two <= 64) whose
    pointer bits are the heap-bits word *word*: each object's words up to its last
    pointer word, as one_word_object counts them. The objects are independent (no chain
    from one to the next), and scan_dense calls this once per distinct word."""
    cdef uint64_t s = 0, f, cmask
    cdef intp_t o = 0
    if cwords >= 64:
        return (<uint64_t>GR_LEN64(word)) << 3 if word else 0
    cmask = ((<uint64_t>1) << cwords) - 1
    while o < 64 and (word >> o):
        f = (word >> o) & cmask
        if f:
            s += <uint64_t>GR_LEN64(f)
        o += cwords
    return s << 3


cdef inline intp_t word_links(uint64_t kept, intp_t cwords, intp_t* top) noexcept nogil:
    """Of the objects of *cwords* words (a power of two <= 64) over a heap-bits word,
    those whose pointers kept (*kept*: one bit per pointer word found non-nil and not
    into its own object) are exactly one: link()'s chain links. Returns how many, *top*
    1 if the last object with a pointer is one of them (its link is counted by the
    caller later, where link() would count it), else 0."""
    cdef uint64_t f, cmask
    cdef intp_t o = 0, n = 0
    if not kept:
        top[0] = 0
        return 0
    if cwords >= 64:
        top[0] = (kept & (kept - 1)) == 0
        return top[0]
    cmask = ((<uint64_t>1) << cwords) - 1
    while o < 64 and (kept >> o):
        f = (kept >> o) & cmask
        n += (f != 0) & ((f & (f - 1)) == 0)
        o += cwords
    o = (GR_LEN64(kept) - 1) & ~(cwords - 1)
    f = (kept >> o) & cmask
    top[0] = (f & (f - 1)) == 0
    return n


cdef inline void add_links(gcwork_t* w, intp_t n) noexcept nogil:
    """link() for *n* objects of one pointer: the same additions, in order."""
    w.nlinks += <uint64_t>n
    if w.w_link != 0:
        while n > 0:
            w.extra += w.w_link
            n -= 1


cdef int scan_dense(mheap_t* h, gcwork_t* w, dstate_t* d, intp_t n, uint64_t ob, uint64_t ces,
                    uint64_t* psb, uint64_t* pnfast, uint64_t* pbfast) noexcept nogil:
    """scan_word's dense case: the grey objects of the word at *ob* are its first *n*, of
    *ces* bytes, ces/8 a power of two <= 64 (so each object's heap bits are in one
    heap-bits word). Reads the set heap bits of the n * ces/8 words from *ob* a heap-bits
    word at a time, keeps the non-nil pointers not into their own object (and where they
    were found) in a buffer and has shade_found shade them, in address order, as the
    object-by-object loop does; adds the scan work to *psb* and the fast path's objects
    and bytes to *pnfast*, *pbfast*. -1 on error.

    Per pointer only the load, the nil and own-object tests and the two buffer stores;
    a heap-bits word's scan work and chain links (objects with one pointer kept) come
    from the word as a whole, computed again only when the word differs from the last
    (a span of one type repeats one word), and the links are added where link() would
    add them: the last object with pointers of a word when the next one is found."""
    cdef uint64_t pbuf[SCAN_BATCH]                # found pointers, and where
    cdef uint64_t sbuf[SCAN_BATCH]
    cdef intp_t nf = 0, hw, nhw, cwords = <intp_t>(ces >> 3), nw = n * cwords, t
    cdef intp_t ln = 0, lt = 0, kn, kt, pend = 0
    cdef uint64_t astart = d.astart
    cdef uint64_t woff = ob - astart              # byte offset of the word being read
    cdef const uint64_t* hb = &d.hbits[woff >> 9]
    cdef uint64_t span = <uint64_t>n * ces        # the grey objects: [ob, ob + span)
    cdef uint64_t omask = ~((<uint64_t>cwords) - 1)
    cdef uint64_t word, m, drop, p, lo, lastw = 0, lastsb = 0, sb = psb[0]
    cdef const uint64_t* base
    nhw = (nw + 63) >> 6
    for hw in range(nhw):
        word = hb[hw]
        if nw - hw * 64 < 64:
            word &= ((<uint64_t>1) << (nw - hw * 64)) - 1
        if word != lastw:
            lastw = word
            lastsb = word_scan_work(word, cwords)
            ln = word_links(word, cwords, &lt)
        sb += lastsb
        base = <const uint64_t*>(d.arena + woff)
        if n >= 8:                              # a run of objects (a dense span's: more
            for t in range(0, 512, 64):         # follow, the next span's too): fetch ahead
                GR_PREFETCH(d.arena + woff + PF_DENSE + t)
        lo = astart + woff
        m = word
        drop = 0
        while m:
            t = GR_CTZ64(m)
            m &= m - 1
            p = base[t]
            if p == 0 or (p - ob < span and p - (lo + ((<uint64_t>t & omask) << 3)) < ces):
                drop |= (<uint64_t>1) << t      # nil, or into its own object: skipped
                continue
            pbuf[nf] = p
            sbuf[nf] = lo + ((<uint64_t>t) << 3)
            nf += 1
        if word != drop:                        # some pointer kept: link() as it goes
            kn = ln
            kt = lt
            if drop:
                kn = word_links(word ^ drop, cwords, &kt)
            add_links(w, pend + kn - kt)        # the last object's link waits
            pend = kt
        woff += 512
        if nf > SCAN_BATCH - 64 or hw == nhw - 1:
            if hw == nhw - 1:
                add_links(w, pend)
            if nf and shade_found(h, w, d, pbuf, sbuf, nf, pnfast, pbfast) < 0:
                psb[0] = sb
                return -1
            nf = 0
    psb[0] = sb
    return 0


ctypedef int (*scan_dense_fn)(mheap_t* h, gcwork_t* w, dstate_t* d, intp_t n, uint64_t ob,
                             uint64_t ces, uint64_t* psb, uint64_t* pnfast,
                             uint64_t* pbfast) noexcept nogil
# Called through a pointer, not inlined into scan_word (whose object-by-object loop, a
# list's, ran 7 % slower with this one's state beside it).
cdef scan_dense_fn scan_dense_call = scan_dense


cdef int scan_word(mheap_t* h, gcwork_t* w, dstate_t* d, intp_t k, uint64_t ob, uint64_t ces,
                   uint64_t cwmask, double x0, uint64_t* psb, uint64_t* pnfast, uint64_t* pbfast,
                   intp_t* pnobjs) noexcept nogil:
    """drain_spans' inner loop: scan the grey objects of grey word *k* of the span being
    scanned (*ob*: the word's first object, *ces* the span's element size, *cwmask* the
    low ces/8 bits), until no bit of the word is left (objects of this word shaded
    meanwhile included) or the budget is spent (the rest stay grey). Adds the scan work,
    the fast path's objects and bytes and the objects scanned to *psb*, *pnfast*,
    *pbfast*, *pnobjs*; -1 on error.

    In two passes over a batch of objects, each a short loop with its state in
    registers: this one reads the objects' pointer words and keeps the non-nil pointers
    not into their own object (and where they were found) in a buffer, shade_found
    shades them in that order. Shading reads no object memory and scanning no mark bit,
    so the order of everything (marks, the ring, the span queue, the object stack) is
    the one-pass loop's. When the word's grey objects are its first n (all of a dense
    span's word: a level-order tree) and an object's heap bits are a power-of-two part
    of a heap-bits word, scan_dense reads the heap-bits words of the whole run of objects
    rather than object by object. A budgeted drain (its budget is checked before each
    object, with the counts so far) takes batches of one object.
    """
    cdef uint64_t pbuf[SCAN_BATCH]                # found pointers, and where
    cdef uint64_t sbuf[SCAN_BATCH]
    cdef intp_t nf
    cdef uint64_t g = d.grey[k]
    cdef uint64_t sb = psb[0]
    cdef intp_t nobjs = pnobjs[0] + GR_POPCNT(g)
    cdef intp_t cwords = <intp_t>(ces >> 3)
    cdef intp_t oi = <intp_t>((ob - d.astart) >> 3), i, j, t
    cdef intp_t kp
    cdef const uint64_t* hbits = d.hbits
    cdef const uint8_t* arena = d.arena
    cdef uint64_t astart = d.astart
    cdef bint budgeted = w.budget > 0
    cdef uint64_t b, word, p, pend
    cdef int r
    d.grey[k] = 0
    while g:
        if budgeted and ((d.nm + pnfast[0]) * w.w_obj + sb * w.w_byte + (w.extra - x0)
                         >= w.budget):
            d.grey[k] |= g                      # not scanned: grey for the next drain
            nobjs -= GR_POPCNT(g)
            break
        nf = 0
        pend = 0
        if not budgeted and (g & (g + 1)) == 0 and cwords <= 64 and not (cwords & (cwords - 1)):
            # The word's first n objects are grey, the rest not (every object of a full
            # span's word; the last word of a span holds fewer objects), and each has its
            # heap bits in one heap-bits word: scan_dense reads them a heap-bits word at
            # a time.
            r = scan_dense_call(h, w, d, GR_POPCNT(g), ob, ces, &sb, pnfast, pbfast)
            g = 0
            if r < 0:
                pnobjs[0] = nobjs
                psb[0] = sb
                return -1
        else:
            while g and nf <= SCAN_BATCH - 64:
                t = GR_CTZ64(g)
                g &= g - 1
                b = ob + (<uint64_t>t) * ces
                i = oi + t * cwords
                if (i & 63) + cwords > 64:
                    pend = b                    # heap bits in two words: the stack, in turn
                    break
                word = (hbits[i >> 6] >> (i & 63)) & cwmask
                if word:
                    sb += (<uint64_t>GR_LEN64(word)) << 3
                kp = nf
                while word:
                    j = i + GR_CTZ64(word)
                    word &= word - 1
                    p = (<const uint64_t*>(arena + ((<uint64_t>j) << 3)))[0]
                    if p != 0 and p - b >= ces:     # not nil, not into this object
                        pbuf[nf] = p
                        sbuf[nf] = astart + ((<uint64_t>j) << 3)
                        nf += 1
                link(w, <uint32_t>(nf - kp))
                if budgeted:
                    break
            if nf == 1:                         # (a list: one pointer per object)
                r = ds_found(h, w, d, pbuf[0], sbuf[0])
                if r:
                    if r < 0:
                        pnobjs[0] = nobjs
                        psb[0] = sb
                        return -1
                    pnfast[0] += 1
                    pbfast[0] += d.tes
            elif nf and shade_found(h, w, d, pbuf, sbuf, nf, pnfast, pbfast) < 0:
                pnobjs[0] = nobjs
                psb[0] = sb
                return -1
            if pend and push(w, pend | (ces << 48)) < 0:
                pnobjs[0] = nobjs
                psb[0] = sb
                return -1
        if not g:                               # objects of this word shaded meanwhile
            g = d.grey[k]
            d.grey[k] = 0
            nobjs += GR_POPCNT(g)
            # One grey object, not the word's first (that one takes scan_dense): a chain
            # (a list in allocation order) is followed by scan_chain while it stays in
            # this word; g is left set when it stopped before scanning an object.
            while chain_on and d.tfast and g > 1 and (g & (g - 1)) == 0:
                if (scan_chain_budgeted_call if budgeted else scan_chain_to_end_call)(
                        h, w, d, k, ob, ces, cwmask, x0, &g, &sb, pnfast, pbfast, &nobjs) < 0:
                    psb[0] = sb
                    pnobjs[0] = nobjs
                    return -1
                if g:
                    break
                g = d.grey[k]
                d.grey[k] = 0
                nobjs += GR_POPCNT(g)
    psb[0] = sb
    pnobjs[0] = nobjs
    return 0


cdef int scan_chain(mheap_t* h, gcwork_t* w, dstate_t* d, intp_t k, uint64_t ob, uint64_t ces,
                    uint64_t cwmask, double x0, uint64_t* pg, uint64_t* psb, uint64_t* pnfast,
                    uint64_t* pbfast, intp_t* pnobjs, bud_m* bud) noexcept nogil:
    """scan_word's loop for one grey object *pg* (a single bit of grey word *k*, its grey
    bit already cleared and the object counted in *pnobjs*) whose scan greys exactly one
    object, white, through ds_found's fast path (the page d.tpage, in the span being
    scanned, which touch() has counted), in the same grey word and not its first: that
    object is scanned next, as
    scan_word's re-read of the word would take it, without the round trip through its
    grey bit; its mark-bit word is kept in a register, the counts in locals. A list in
    allocation order walks a word's 63 successors so.

    Each object is scanned, shaded and counted exactly as by scan_word's object loop
    (the budget checked before each with the same counts; link(), touch() and ds_found's
    fast path in the same order); anything else (no pointer kept, several, another
    word, span or page, a marked successor) is shaded by ds_found / shade_found as
    scan_word does, and the chain ends with *pg* 0. It ends with *pg* still set, the
    object not scanned, when the budget is spent or the object's heap bits straddle two
    words: scan_word's loop takes it then. -1 on error."""
    cdef uint64_t pbuf[64]                        # one object's found pointers (<= 64 words)
    cdef uint64_t sbuf[64]
    cdef uint64_t g = pg[0], tlo = 0, tlen = 0, tbase = 0, tes = 0, b, word, p, idx, bit
    cdef uint64_t p1 = 0
    cdef uint32_t tdiv = 0
    cdef intp_t tsi = 0, kw = k & (BITMAP_WORDS - 1), nk, i, j, t, j1 = 0
    cdef uint64_t* tbits = NULL
    cdef uint64_t* tgrey = NULL
    tload(d, &tlo, &tlen, &tbase, &tdiv, &tes, &tsi, &tbits, &tgrey)
    if tlen == 0 or tbits + kw != d.bits + k or not d.queued[tsi]:
        return 0                                # not the fast path's span: scan_word's loop
    cdef intp_t cwords = <intp_t>(ces >> 3), oi = <intp_t>((ob - d.astart) >> 3)
    cdef const uint64_t* hbits = d.hbits
    cdef const uint8_t* arena = d.arena
    cdef uint64_t astart = d.astart
    cdef uint64_t nfast = pnfast[0], bfast = pbfast[0], sb = psb[0], nlinks = w.nlinks
    cdef uint64_t cwm = d.bits[k]                 # the word's mark bits, written back below
    cdef intp_t nobjs = pnobjs[0]
    cdef double extra = w.extra, w_link = w.w_link
    cdef int r = 0
    # touch() of the span must be a no-op (it counted the span when its first object was
    # greyed, or it does not count it): the chain's marks do not call it
    if not (tes < GREEN_TEA_MIN or tes > GREEN_TEA_MAX or tsi >= w.ntouched or w.touched[tsi]):
        return 0
    while True:
        if bud_m is budgeted_m and ((d.nm + nfast) * w.w_obj + sb * w.w_byte + (extra - x0)
                                    >= w.budget):
            break                               # not scanned: scan_word's check keeps it grey
        t = GR_CTZ64(g)
        b = ob + (<uint64_t>t) * ces
        i = oi + t * cwords
        if (i & 63) + cwords > 64:
            break                               # heap bits in two words: scan_word's path
        g = 0
        word = (hbits[i >> 6] >> (i & 63)) & cwmask
        if word:
            sb += (<uint64_t>GR_LEN64(word)) << 3
        nk = 0
        while word:
            j = i + GR_CTZ64(word)
            word &= word - 1
            p = (<const uint64_t*>(arena + ((<uint64_t>j) << 3)))[0]
            if p != 0 and p - b >= ces:         # not nil, not into this object
                if nk:
                    pbuf[nk] = p
                    sbuf[nk] = astart + ((<uint64_t>j) << 3)
                else:
                    p1 = p
                    j1 = j
                nk += 1
        if nk == 0:
            break
        pbuf[0] = p1
        sbuf[0] = astart + ((<uint64_t>j1) << 3)
        if nk == 1:
            nlinks += 1                         # link()
            extra += w_link
            p = p1
            if p - tlo < tlen:
                idx = ((p - tbase) * tdiv) >> 32
                bit = (<uint64_t>1) << (idx & 63)
                if <intp_t>(idx >> 6) == kw and (idx & 63) != 0:
                    if cwm & bit:
                        break                   # marked already: nothing to shade
                    cwm |= bit                  # ds_found's fast path, grey bit in hand
                    nfast += 1
                    bfast += tes
                    g = bit
                    nobjs += 1                  # (scan_word's re-read would count it)
                    continue
        # shaded as scan_word shades: the state written back first
        d.bits[k] = cwm
        w.extra = extra
        w.nlinks = nlinks
        if nk == 1:
            r = ds_found(h, w, d, pbuf[0], sbuf[0])
            if r > 0:
                nfast += 1
                bfast += d.tes
                r = 0
        else:
            r = shade_found(h, w, d, pbuf, sbuf, nk, &nfast, &bfast)
        cwm = d.bits[k]
        extra = w.extra
        nlinks = w.nlinks
        break
    d.bits[k] = cwm
    w.extra = extra
    w.nlinks = nlinks
    pg[0] = g
    psb[0] = sb
    pnfast[0] = nfast
    pbfast[0] = bfast
    pnobjs[0] = nobjs
    return -1 if r < 0 else 0


ctypedef int (*scan_chain_fn)(mheap_t* h, gcwork_t* w, dstate_t* d, intp_t k, uint64_t ob,
                             uint64_t ces, uint64_t cwmask, double x0, uint64_t* pg,
                             uint64_t* psb, uint64_t* pnfast, uint64_t* pbfast,
                             intp_t* pnobjs) noexcept nogil
# Called through pointers (below), not inlined into scan_word: the chain's loop keeps its
# state in registers (inlined, gcc spilled a dozen of its values to the stack).
cdef int scan_chain_to_end(mheap_t* h, gcwork_t* w, dstate_t* d, intp_t k, uint64_t ob,
                           uint64_t ces, uint64_t cwmask, double x0, uint64_t* pg,
                           uint64_t* psb, uint64_t* pnfast, uint64_t* pbfast,
                           intp_t* pnobjs) noexcept nogil:
    return scan_chain(h, w, d, k, ob, ces, cwmask, x0, pg, psb, pnfast, pbfast, pnobjs,
                      <to_end_m*>NULL)


cdef int scan_chain_budgeted(mheap_t* h, gcwork_t* w, dstate_t* d, intp_t k, uint64_t ob,
                             uint64_t ces, uint64_t cwmask, double x0, uint64_t* pg,
                             uint64_t* psb, uint64_t* pnfast, uint64_t* pbfast,
                             intp_t* pnobjs) noexcept nogil:
    return scan_chain(h, w, d, k, ob, ces, cwmask, x0, pg, psb, pnfast, pbfast, pnobjs,
                      <budgeted_m*>NULL)


cdef scan_chain_fn scan_chain_to_end_call = scan_chain_to_end
cdef scan_chain_fn scan_chain_budgeted_call = scan_chain_budgeted
cdef bint chain_on = True


def _set_chain(bint on):
    """Turn scan_chain on or off (tests: every count of every drain call is the same
    either way); returns the old setting."""
    global chain_on
    cdef bint old = chain_on
    chain_on = on
    return old


ctypedef int (*scan_word_fn)(mheap_t* h, gcwork_t* w, dstate_t* d, intp_t k, uint64_t ob,
                            uint64_t ces, uint64_t cwmask, double x0, uint64_t* psb, uint64_t* pnfast,
                            uint64_t* pbfast, intp_t* pnobjs) noexcept nogil
# drain_spans calls scan_word through this pointer, so the C compiler does not inline it
# into drain_spans' loop, whose other paths' state would push the scan's onto the stack
# (the one-pass loop inlined so: 117 instructions per object on the 1M level-order tree;
# scan_word on its own: 80).
cdef scan_word_fn scan_word_call = scan_word


cdef void drain_spans(mheap_t* h, gcwork_t* w) noexcept nogil:
    """Span-batched drain (Go: Green Tea, mgcmark_greenteagc.go), with drain_pipelined's
    prefetch ring.

    A pointer found far from the object being scanned (another page) goes through the
    prefetch ring as in drain_pipelined (its mark-bit, grey-bit and alloc-bit words, its
    span's queued flag, its first bytes and heap-bits word prefetched, shaded ring_size
    finds later), or is shaded at once if it is into the page of the last pointer sent
    to the ring (ds_found). Shaded so, a small object (a span described by span_info)
    gets its mark bit and, if it has pointers, its *grey* bit, and its span is queued
    (FIFO) unless it is queued or being scanned. Taking a span off the queue scans its
    grey objects in address order, a grey-bit word at a time (the objects' lines
    prefetched together when the word is sparse), until none is left (objects greyed
    meanwhile included); then it leaves the queue. A dense span (a level-order tree's
    level) is so scanned once for many objects, from close memory, the bitmap rows of
    its children's spans in cache. A pointer into the scanned object's own page, and any
    large or unusual object (and the roots, as mark_roots greys them), go on the object
    stack and are scanned depth first, as in drain_pipelined.

    Every object is scanned once, so the marked set and the counts are the other
    drains'. A budgeted drain (a MarkState's) checks its budget before each object; when
    it is spent the span being scanned is kept (``w.cs``: its grey bits say what is
    left), the ring is emptied and the drain returns.
    """
    cdef dstate_t d
    cdef intp_t nspan_objs = 0
    cdef intp_t cs = -1, ckw = 0, cnw = 0, kk, k, si
    cdef uint64_t cbase = 0, ces = 0, g, any_grey, info, b, bn, word, p, cwmask = 0
    cdef intp_t i, j, end, wbase, cwords = 0
    cdef uint64_t lim, sb = 0, nfast = 0, bfast = 0
    cdef bint over = False                  # the budget is spent: only the ring is emptied
    cdef int r
    cdef found_t* f
    cdef double x0 = w.extra
    cdef uint32_t kp
    d.bits = w.bits
    d.grey = w.grey
    d.queued = w.queued
    d.abits = h.alloc_bits
    d.sinfo = w.span_info
    d.hbits = h.heap_bits
    d.p2s = h.page_to_span
    d.arena = h.arena
    d.astart = h.arena_start
    d.alimit = (<uint64_t>h.mapped_pages) << PAGE_SHIFT
    d.ring = w.ring
    d.head = w.rhead
    d.tail = w.rtail
    d.rsize = w.ring_size
    d.rmask = w.ring_size - 1
    d.tpage = ~(<uint64_t>0)
    d.tsi = -1
    d.tinfo = 0
    d.tfast = False
    d.tbase = d.tes = d.tlim = 0
    d.tbits = d.tgrey = NULL
    d.bm = 0
    d.nm = 0
    if w.cs >= 0:                               # a budget stopped the last drain here
        cs = w.cs
        w.cs = -1
        info = d.sinfo[cs]
        ces = (info >> SI_ELEMSIZE_SHIFT) & 0xffff
        cbase = d.astart + ((<uint64_t>cs) << PAGE_SHIFT)
        cnw = <intp_t>((((info >> SI_NELEMS_SHIFT) & 0x7ff) + 63) >> 6)
        cwords = <intp_t>(ces >> 3)
        cwmask = ((<uint64_t>1) << cwords) - 1 if cwords < 64 else ~(<uint64_t>0)
        ckw = -1
    while not w.err:
        if w.budget > 0 and not over and ((d.nm + nfast) * w.w_obj + sb * w.w_byte
                                          + (w.extra - x0) >= w.budget):
            # The budget is spent (Go: gcDrainN): the span being scanned is kept for the
            # next drain (its grey bits are the truth), the ring is emptied (its pointers
            # shaded), and the drain stops.
            over = True
            if cs >= 0:
                w.cs = cs
                cs = -1
        if cs >= 0:
            # the next grey word of the span being scanned; objects of this span shaded
            # while it was scanned set grey bits again: look until none is set
            ckw += 1
            if ckw >= cnw:
                any_grey = 0
                for kk in range(cnw):
                    any_grey |= d.grey[cs * BITMAP_WORDS + kk]
                if any_grey:
                    ckw = -1
                    continue
                d.queued[cs] = 0
                cs = -1
                continue
            k = cs * BITMAP_WORDS + ckw
            g = d.grey[k]
            if not g:
                continue
            if GR_POPCNT(g) <= 24:
                # scattered grey objects (a random graph): their lines are fetched
                # together; a dense word is left to the hardware prefetcher
                any_grey = g
                while any_grey:
                    GR_PREFETCH(d.arena + (cbase - d.astart)
                                + (<uint64_t>(ckw * 64 + GR_CTZ64(any_grey))) * ces)
                    any_grey &= any_grey - 1
            if scan_word_call(h, w, &d, k, cbase + (<uint64_t>(ckw * 64)) * ces, ces, cwmask,
                              x0, &sb, &nfast, &bfast, &nspan_objs) < 0:
                break
        elif w.n > 0 and not over:              # roots, large objects, finalizer referents
            w.n -= 1
            b = w.stack[w.n]
            bn = b >> 48                        # the size, if ds_shade pushed it
            b &= STACK_ADDR_MASK
            if bn == 0:
                si = d.p2s[(b - d.astart) >> PAGE_SHIFT]
                info = d.sinfo[si]
                bn = (info >> SI_ELEMSIZE_SHIFT) & 0xffff if info else h.spans[si].elemsize
            i = <intp_t>((b - d.astart) >> 3)
            end = i + <intp_t>(bn >> 3)
            if one_word_object(d.hbits, i, end, &word, &sb):
                wbase = i
                i = end
            else:
                sb += scan_large(w, scan_size(h, b, bn), bn)
                word = 0
                wbase = i
            kp = 0
            while True:
                while word:
                    j = wbase + GR_CTZ64(word)
                    word &= word - 1
                    p = (<const uint64_t*>(d.arena + ((<uint64_t>j) << 3)))[0]
                    if p == 0 or p - b < bn:    # nil, or a pointer into this object: skip
                        continue
                    kp += 1
                    r = ds_found(h, w, &d, p, d.astart + ((<uint64_t>j) << 3))
                    if r:
                        if r < 0:
                            break
                        nfast += 1
                        bfast += d.tes
                if w.err or i >= end:
                    break
                lim = 64 - <uint64_t>(i & 63)
                word = d.hbits[i >> 6] >> (i & 63)
                if <uint64_t>(end - i) < lim:
                    lim = <uint64_t>(end - i)
                    word &= ((<uint64_t>1) << lim) - 1
                wbase = i
                i += <intp_t>lim
            link(w, kp)
        elif w.sq_head < w.sq_tail and not over:
            if w.adaptive and w.span_visits == DECIDE_VISITS:
                w.adaptive = False
                if w.span_objs + nspan_objs < SPARSE_OBJS * DECIDE_VISITS:
                    # Sparse: a span visit scans about one object (a random graph, a list
                    # in random order), so the span queue only adds a step to each
                    # object; the rest of the mark is drain_pipelined's.
                    spans_to_stack(w, &d)
                    w.batched = False
                    w.pipelined = True
                    break
            cs = w.squeue[w.sq_head]
            w.sq_head += 1
            w.span_visits += 1
            # The queue ahead, in two stages: the span 2 * SQ_AHEAD ahead has its grey
            # row fetched, the one SQ_AHEAD ahead the lines of its grey objects (sparse
            # words only), so a span's objects are in cache when it is scanned (a random
            # graph's spans are dequeued long after their objects were found).
            if w.sq_head + 2 * SQ_AHEAD < w.sq_tail:
                GR_PREFETCH(&d.grey[w.squeue[w.sq_head + 2 * SQ_AHEAD] * BITMAP_WORDS])
            if w.sq_head + SQ_AHEAD < w.sq_tail:
                si = w.squeue[w.sq_head + SQ_AHEAD]
                info = d.sinfo[si]
                bn = (info >> SI_ELEMSIZE_SHIFT) & 0xffff
                for kk in range(<intp_t>((((info >> SI_NELEMS_SHIFT) & 0x7ff) + 63) >> 6)):
                    any_grey = d.grey[si * BITMAP_WORDS + kk]
                    if GR_POPCNT(any_grey) <= 24:
                        while any_grey:
                            GR_PREFETCH(d.arena + ((<uint64_t>si) << PAGE_SHIFT)
                                        + (<uint64_t>(kk * 64 + GR_CTZ64(any_grey))) * bn)
                            any_grey &= any_grey - 1
            info = d.sinfo[cs]
            ces = (info >> SI_ELEMSIZE_SHIFT) & 0xffff
            cbase = d.astart + ((<uint64_t>cs) << PAGE_SHIFT)
            cnw = <intp_t>((((info >> SI_NELEMS_SHIFT) & 0x7ff) + 63) >> 6)
            cwords = <intp_t>(ces >> 3)
            cwmask = ((<uint64_t>1) << cwords) - 1 if cwords < 64 else ~(<uint64_t>0)
            ckw = -1
        elif d.tail != d.head:                  # nothing else to do: the oldest found
            f = &d.ring[d.head & d.rmask]
            d.head += 1
            ds_shade(h, w, &d, f.p, f.si, f.info, f.src, True)
        else:
            break
    w.rhead = d.head
    w.rtail = d.tail
    w.bytes_marked += d.bm + bfast
    w.nmarked += d.nm + nfast
    w.scan_bytes += sb
    w.span_objs += nspan_objs


cdef void spans_to_stack(gcwork_t* w, dstate_t* d) noexcept nogil:
    """Move the grey objects of every queued span onto the object stack (with their
    sizes) and empty the queue: the adaptive mark leaves the batched drain."""
    cdef intp_t q, kk, si, nw
    cdef uint64_t g, es, base, info
    for q in range(w.sq_head, w.sq_tail):
        si = w.squeue[q]
        info = d.sinfo[si]
        es = (info >> SI_ELEMSIZE_SHIFT) & 0xffff
        base = d.astart + ((<uint64_t>si) << PAGE_SHIFT)
        nw = <intp_t>((((info >> SI_NELEMS_SHIFT) & 0x7ff) + 63) >> 6)
        for kk in range(nw):
            g = d.grey[si * BITMAP_WORDS + kk]
            d.grey[si * BITMAP_WORDS + kk] = 0
            while g:
                if push(w, (base + (<uint64_t>(kk * 64 + GR_CTZ64(g))) * es) | (es << 48)) < 0:
                    return
                g &= g - 1
        d.queued[si] = 0
    w.sq_head = w.sq_tail = 0


cdef void gc_drain(mheap_t* h, gcwork_t* w) noexcept nogil:
    """Scan grey objects until none are left (Go: gcDrain).

    ``mark`` drains through the prefetch ring (drain_pipelined); ``checkmark`` and
    ``mark(..., ring=0)`` shade each pointer as it is found (drain_simple), a plain
    depth-first walk that shares no queueing code with the pipelined one.
    """
    if w.batched:
        drain_spans(h, w)
        if w.batched or w.err:
            return
    if w.pipelined:                             # (also when the adaptive rule chose it)
        drain_pipelined(h, w)
    else:
        drain_simple(h, w)


cdef void grey_live(mheap_t* h, gcwork_t* w) noexcept nogil:
    """Grey the live set (``mheap_t.live_bits``: a trace replay's objects, each held as
    by a root of its own) span by span in address order: a walk over the span starts
    and their live-bit words, where one root per object was a random span record and
    bitmap line each. Stops once every live bit was seen.

    A noscan span's live objects are marked a bitmap word at a time (its mark bits OR its
    live bits; `shade` would mark each black at once, nothing to scan), counted as
    `shade` counts them; a word with a bit on a free slot or past the span's last object
    goes bit by bit through `shade`, which reports the first such bit as before."""
    cdef intp_t p = 0, k, nw, idx, left = h.nlive, n
    cdef uint64_t word, old, tail
    cdef const uint64_t* lb
    cdef const uint64_t* ab
    cdef uint64_t* mb
    cdef const mspan_t* s
    cdef bint noscan
    if h.live_bits == NULL:
        return
    while left > 0 and p < h.mapped_pages:
        if h.page_to_span[p] != p:              # a free page (or inside a span)
            p += 1
            continue
        s = &h.spans[p]
        nw = (s.nelems + 63) >> 6
        lb = &h.live_bits[p * BITMAP_WORDS]
        noscan = span_noscan(s)
        ab = &h.alloc_bits[p * BITMAP_WORDS]
        mb = &w.bits[p * BITMAP_WORDS]
        # the bits of the last word past the span's last object
        tail = ~((<uint64_t>1 << (s.nelems & 63)) - 1) if s.nelems & 63 else 0
        for k in range(nw):
            word = lb[k]
            if word == 0:
                continue
            if noscan and (word & ~ab[k]) == 0 and (k < nw - 1 or (word & tail) == 0):
                left -= GR_POPCNT(word)
                if w.give_at:                   # parallel: as shade's
                    old = GR_MARK_OR(&mb[k], word)
                else:
                    old = mb[k]
                    mb[k] = old | word
                n = GR_POPCNT(word & ~old)
                w.bytes_marked += <uint64_t>n * s.elemsize
                w.nmarked += n
                continue
            while word:
                idx = (k << 6) + GR_CTZ64(word)
                word &= word - 1
                left -= 1
                shade(h, w, s.base + <uint64_t>idx * s.elemsize, p, 0)
                if w.err:
                    return
        p += s.npages if s.npages > 0 else 1


cdef void grey_roots(mheap_t* h, gcwork_t* w, const uint64_t* roots, intp_t nroots) noexcept nogil:
    """Grey the handle table, the live set, *roots* and every P's tiny block."""
    cdef intp_t i
    cdef uint64_t a
    for i in range(h.roots_len):
        a = h.roots[i]
        if a != 0:
            grey_object(h, w, a, 0)
            if w.err:
                return
    grey_live(h, w)
    if w.err:
        return
    for i in range(nroots):
        if roots[i] != 0:
            grey_object(h, w, roots[i], 0)
            if w.err:
                return
    for i in range(MAX_PROCS):
        if h.mcaches[i].tiny != 0 and not w.err:
            grey_object(h, w, h.mcaches[i].tiny, 0)


cdef void mark_roots(mheap_t* h, gcwork_t* w, const uint64_t* roots, intp_t nroots,
                     const uint64_t* scan_only, intp_t nscan) noexcept nogil:
    """Grey the handle table, *roots* and tiny blocks; scan (not mark) *scan_only* objects."""
    cdef intp_t i, si
    cdef uint64_t a, slot
    cdef mspan_t* s
    grey_roots(h, w, roots, nroots)
    if w.err:
        return
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
        if push(w, slot) < 0:                   # scanned when popped, never marked here
            return
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


def mark(Heap heap, roots=None, scan_only=None, *, int ring=RING_DEFAULT, batched=None,
         dict stats=None):
    """Mark everything reachable from the roots; returns ``(bytes_marked, nmarked, scan_bytes)``.

    The mark bits must be clear (a swept heap). On error (a bad pointer) the mark bits are
    cleared again before raising, so the heap is exactly as it was.

    *ring* is the number of found pointers kept in flight by the prefetch ring (a power
    of two up to 64; see gc_drain); 0 shades each pointer as it is found, as checkmark
    does. *batched* True selects span-batched ("Green Tea") marking (drain_spans,
    through a ring of *ring* entries, at least 1): faster on dense spans (a level-order
    tree: 7 against 12.7 ns per object, a list in allocation order), slower where a span
    visit finds one object (a random graph: 51 against 37; a list in random order).
    False: the object-at-a-time pipelined drain. None (the default, with ring > 0): the
    adaptive mark, batched for its first DECIDE_VISITS span visits, then the pipelined
    drain for the rest if those visits scanned fewer than SPARSE_OBJS objects each on
    average. The rule reads counts, not clocks, so the same heap always takes the same
    path. Every setting marks the same objects and returns the same counts; only the
    speed differs. A *stats* dict gets the span visits and the objects they scanned, and
    which drain ran (``"batched"``, ``"pipelined"``, ``"simple"``, or ``"switched"``:
    the adaptive rule left the batched drain), ``"spans"``: the spans with pointers in
    which it marked an object (``touch``), ``"links"``: the objects it scanned that held
    exactly one pointer (``link``), and ``"scan_large"``: the scan work in objects over
    512 bytes (``scan_large``); the mark's modelled cost reads them.
    """
    finish_sweep(heap)              # a mark needs a swept heap (Go: finishsweep_m first)
    if ring < 0 or ring > RING_MAX or ring & (ring - 1):
        raise ValueError(f"ring must be 0 or a power of two up to {RING_MAX}, not {ring}")
    cdef const uint64_t[::1] r = _as_addrs(roots)
    cdef const uint64_t[::1] so = _as_addrs(scan_only)
    cdef gcwork_t w
    memset(&w, 0, sizeof(w))
    w.cs = -1
    w.bits = heap.h.gcmark_bits
    cdef bint started_batched
    if batched is None:
        w.adaptive = ring > 0
        batched = ring > 0
    started_batched = bool(batched)
    w.pipelined = ring > 0 and not batched
    w.ring_size = ring if ring > 0 or not batched else 1
    w.batched = bool(batched)
    cdef const uint64_t* rp = &r[0] if r.shape[0] else NULL
    cdef const uint64_t* sp = &so[0] if so.shape[0] else NULL
    cdef intp_t npages = heap.h.mapped_pages
    with nogil:
        w.touched = <uint8_t*>PyMem_RawCalloc(npages + 1, 1)
        w.ntouched = npages
        if w.touched == NULL:
            w.err = ERR_NOMEM
        if (w.pipelined or w.batched) and not w.err:
            w.span_info = build_span_info(&heap.h)
            if w.span_info == NULL:
                w.err = ERR_NOMEM
        if w.batched and not w.err:
            w.grey = <uint64_t*>PyMem_RawCalloc(npages * BITMAP_WORDS + 1, sizeof(uint64_t))
            w.queued = <uint8_t*>PyMem_RawCalloc(npages + 1, 1)
            if w.grey == NULL or w.queued == NULL:
                w.err = ERR_NOMEM
        if not w.err:
            mark_roots(&heap.h, &w, rp, r.shape[0], sp, so.shape[0])
    PyMem_RawFree(w.stack)
    PyMem_RawFree(w.span_info)
    PyMem_RawFree(w.grey)
    PyMem_RawFree(w.queued)
    PyMem_RawFree(w.squeue)
    PyMem_RawFree(w.touched)
    if w.err:
        clear_bits(heap, heap.h.gcmark_bits)
        raise_work_error(&w)
    if stats is not None:
        stats["spans"] = w.nspans
        stats["links"] = w.nlinks
        stats["scan_large"] = w.scan_large
        stats["span_visits"] = w.span_visits
        stats["span_objs"] = w.span_objs
        stats["drain"] = ("switched" if started_batched and not w.batched else "batched"
                          if w.batched else "pipelined" if w.pipelined else "simple")
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
    finish_sweep(heap)              # unswept spans' mark bits are their liveness
    clear_bits(heap, heap.h.gcmark_bits)


# ---------------------------------------------------------------------------------------
# The concurrent mark (Go: gcWork + gcDrain/gcDrainN, wbBufFlush, markroot)

cdef void flush_wbuf(mheap_t* h, gcwork_t* w) noexcept nogil:
    """Shade every pointer in the write barrier buffer (Go: wbBufFlush1): grey work.

    Most entries are objects allocated during the mark (black already) and consecutive
    ones mostly in one span (a new node's children): the last span's base, bounds, divisor
    and mark-bit row are kept, so an entry already marked there costs a multiply and a bit
    test; anything else goes through grey_object, which decides as before."""
    cdef intp_t i, n = h.wbuf_n, si, lsi = -1
    cdef uint64_t p, off, idx, lbase = 0, llim = 0
    cdef uint64_t astart = h.arena_start
    cdef uint64_t alimit = (<uint64_t>h.mapped_pages) << PAGE_SHIFT
    cdef uint32_t ldiv = 0
    cdef const uint64_t* lbits = NULL
    cdef const mspan_t* s
    h.wbuf_n = 0
    for i in range(n):
        p = h.wbuf[i]
        off = p - astart
        if p >= astart and off < alimit:
            si = h.page_to_span[off >> PAGE_SHIFT]
            if si >= 0 and si != lsi:
                s = &h.spans[si]
                lsi = si
                lbase = s.base
                llim = <uint64_t>s.nelems * s.elemsize
                ldiv = s.divmul
                lbits = &w.bits[si * BITMAP_WORDS]
            if si >= 0 and ldiv != 0 and p - lbase < llim:
                idx = ((p - lbase) * <uint64_t>ldiv) >> 32        # obj_index
                if (lbits[idx >> 6] >> (idx & 63)) & 1:
                    continue                    # marked: grey_object would do nothing
        grey_object(h, w, p, 0)


cdef void wb_flush_cb(void* ctx) noexcept nogil:
    """The heap's wb_flush hook while a MarkState runs: a full buffer is shaded."""
    cdef gcwork_t* w = <gcwork_t*>ctx
    flush_wbuf(w.heap, w)


cdef int extend_span_info(const mheap_t* h, gcwork_t* w, intp_t* npages) noexcept nogil:
    """The heap grew during the mark: new pages get span_info 0 (the general path)."""
    cdef intp_t p
    cdef uint64_t* t
    if h.mapped_pages <= npages[0]:
        return 0
    t = <uint64_t*>PyMem_RawRealloc(w.span_info, (h.mapped_pages + 1) * sizeof(uint64_t))
    if t == NULL:
        w.err = ERR_NOMEM
        return -1
    for p in range(npages[0], h.mapped_pages + 1):
        t[p] = 0
    w.span_info = t
    npages[0] = h.mapped_pages
    return 0


cdef int extend_touched(const mheap_t* h, gcwork_t* w) noexcept nogil:
    """The heap grew during the mark: the touched flags cover the new pages (cleared)."""
    cdef uint8_t* t
    if h.mapped_pages <= w.ntouched:
        return 0
    t = <uint8_t*>PyMem_RawRealloc(w.touched, h.mapped_pages + 1)
    if t == NULL:
        w.err = ERR_NOMEM
        return -1
    memset(&t[w.ntouched], 0, h.mapped_pages + 1 - w.ntouched)
    w.touched = t
    w.ntouched = h.mapped_pages
    return 0


ctypedef int (*parallel_drain_fn)(mheap_t* h, gcwork_t* w, intp_t nworkers) noexcept nogil
# _gcwork's drain_state (registered by _gcwork when it is imported): a MarkState's drain
# to the end on several worker threads. _gcwork cimports this module, so the pointer
# comes back through a capsule rather than a cimport.
cdef parallel_drain_fn parallel_drain = NULL


def _register_parallel_drain(capsule):
    global parallel_drain
    parallel_drain = <parallel_drain_fn>PyCapsule_GetPointer(capsule, "goruntime._gcwork.drain_state")


cdef class MarkState:
    """One cycle's mark work, done a budget at a time while the mutator runs (Go: the
    gcWork queues, the root jobs and gcDrain/gcDrainN of mgcmark.go).

    Made at mark start (the world stopped): it shades each P's tiny block (Go:
    gcMarkTinyAllocs) and installs itself as the heap's write barrier sink. The roots --
    the handle table, i.e. every goroutine stack, and the collector's extra roots -- are
    *root jobs* (``set_roots``), done by the first `drain` (Go: markroot), so stacks are
    scanned once per cycle, when the first worker or assist gets to them. `drain` then
    blackens grey objects until a work budget is spent (``w_obj`` per object marked plus
    ``w_byte`` per byte scanned; 0 = until none is left), shading the write barrier buffer
    first and whenever the grey work runs out. `stop` uninstalls it (mark termination or
    an abandoned cycle; `abort` also clears the mark bits). A bad pointer found anywhere
    aborts the mark and raises Go's fatal error, leaving no mark bit set.

    Counters (``bytes_marked``, ``nmarked``, ``scan_bytes``) are cumulative over the cycle.
    """
    cdef Heap heap
    cdef gcwork_t w
    cdef intp_t si_pages
    cdef object roots_arr
    cdef object scan_only_arr
    cdef object special_fn          # () -> (roots, scan_only), read when the root jobs run
    cdef bint roots_pending
    cdef double root_work           # modelled root scan work left (globals, stacks: bytes)
    cdef readonly double root_scan  # root scan work done so far this cycle
    cdef readonly bint active

    def __cinit__(self, Heap heap, int ring=RING_DEFAULT, bint batched=False):
        if ring < 0 or ring > RING_MAX or ring & (ring - 1):
            raise ValueError(f"ring must be 0 or a power of two up to {RING_MAX}, not {ring}")
        if heap.h.wb_flush != NULL:
            raise ValueError("goruntime: a mark is already running on this heap")
        self.heap = heap
        memset(&self.w, 0, sizeof(gcwork_t))
        self.w.bits = heap.h.gcmark_bits
        self.w.pipelined = ring > 0 and not batched
        self.w.ring_size = ring if ring > 0 or not batched else 1
        self.w.batched = batched
        self.w.cs = -1
        self.w.w_byte = 1.0
        self.roots_arr = _as_addrs(None)
        self.scan_only_arr = _as_addrs(None)
        self.w.touched = <uint8_t*>PyMem_RawCalloc(heap.h.mapped_pages + 1, 1)
        if self.w.touched == NULL:
            raise MemoryError("runtime: out of memory: mark span table")
        self.w.ntouched = heap.h.mapped_pages
        if self.w.pipelined or batched:
            with nogil:
                self.w.span_info = build_span_info(&heap.h)
            if self.w.span_info == NULL:
                PyMem_RawFree(self.w.touched)
                self.w.touched = NULL
                raise MemoryError("runtime: out of memory: mark span table")
            self.si_pages = heap.h.mapped_pages
        if batched:
            # grey bits and queued flags for the spans in use now: spans made during the
            # mark have span_info 0 and go through the object stack
            self.w.grey = <uint64_t*>PyMem_RawCalloc(self.si_pages * BITMAP_WORDS + 1,
                                                     sizeof(uint64_t))
            self.w.queued = <uint8_t*>PyMem_RawCalloc(self.si_pages + 1, 1)
            if self.w.grey == NULL or self.w.queued == NULL:
                PyMem_RawFree(self.w.span_info)
                PyMem_RawFree(self.w.grey)
                PyMem_RawFree(self.w.queued)
                PyMem_RawFree(self.w.touched)
                self.w.touched = NULL
                self.w.span_info = NULL
                self.w.grey = NULL
                self.w.queued = NULL
                raise MemoryError("runtime: out of memory: mark span queue")
        heap.h.wbuf_n = 0
        self.w.heap = &heap.h
        heap.h.wb_ctx = <void*>&self.w
        heap.h.wb_flush = wb_flush_cb
        self.active = True

    def __dealloc__(self):
        self._release()

    cdef void _release(self) noexcept:
        if self.heap is not None and self.heap.h.wb_ctx == <void*>&self.w:
            self.heap.h.write_barrier = 0
            self.heap.h.wbuf_n = 0
            self.heap.h.wb_flush = NULL
            self.heap.h.wb_ctx = NULL
        PyMem_RawFree(self.w.stack)
        PyMem_RawFree(self.w.span_info)
        PyMem_RawFree(self.w.grey)
        PyMem_RawFree(self.w.queued)
        PyMem_RawFree(self.w.squeue)
        PyMem_RawFree(self.w.touched)
        self.w.touched = NULL
        self.w.ntouched = 0
        self.w.stack = NULL
        self.w.span_info = NULL
        self.w.grey = NULL
        self.w.queued = NULL
        self.w.squeue = NULL
        self.w.n = 0
        self.w.cap = 0
        self.w.sq_head = self.w.sq_tail = self.w.sq_cap = 0
        self.w.cs = -1
        self.active = False

    def stop(self):
        """The mark is over (mark termination): the barrier is off, buffers freed."""
        self._release()

    def abort(self):
        """Abandon the cycle: `stop`, and clear every mark bit (black allocations too)."""
        self._release()
        clear_bits(self.heap, self.heap.h.gcmark_bits)

    cdef int _check(self) except -1:
        if not self.active:
            raise ValueError("goruntime: this mark has ended")
        return 0

    cdef int _fail(self) except -1:
        cdef gcwork_t w = self.w
        self.abort()
        raise_work_error(&w)
        return -1

    def grey_tiny_blocks(self):
        """Shade every P's current tiny block (Go: gcMarkTinyAllocs, at mark start)."""
        cdef intp_t i
        self._check()
        for i in range(MAX_PROCS):
            if self.heap.h.mcaches[i].tiny != 0:
                grey_object(&self.heap.h, &self.w, self.heap.h.mcaches[i].tiny, 0)
        if self.w.err:
            self._fail()

    def set_roots(self, roots=None, scan_only=None, double root_work=0, special=None):
        """The root jobs: *roots* are greyed, *scan_only* objects (finalizer referents)
        scanned without being marked, and the handle table greyed, by the next `drain`.
        *special*, if given, is called when the root jobs run and returns more
        ``(roots, scan_only)``: the special roots, which Go's markroot reads when a worker
        or assist does its jobs, not at mark start (fixedRootFinalizers, markrootSpans).
        *root_work* is the roots' modelled scan work in bytes (Go: markroot's return, the
        data/bss blocks and the goroutine stacks scanned): `drain` pays it from its budget
        before any heap work, and the mark is not `empty` until it is paid."""
        self._check()
        if root_work < 0:
            raise ValueError("set_roots: root_work must be >= 0")
        if special is not None and not callable(special):
            raise TypeError("set_roots: special must be callable")
        self.roots_arr = _as_addrs(roots)
        self.scan_only_arr = _as_addrs(scan_only)
        self.special_fn = special
        self.roots_pending = True
        self.root_work = root_work
        self.root_scan = 0

    cdef void root_jobs(self):
        cdef mheap_t* h = &self.heap.h
        cdef gcwork_t* w = &self.w
        cdef const uint64_t[::1] r = self.roots_arr
        cdef const uint64_t[::1] so = self.scan_only_arr
        cdef intp_t i, si
        cdef uint64_t a, slot
        cdef mspan_t* s
        cdef intp_t nr = h.roots_len, ahead
        cdef uint64_t off, alimit = (<uint64_t>h.mapped_pages) << PAGE_SHIFT
        cdef const uint64_t* ab
        self.roots_pending = False
        for i in range(nr):                    # every goroutine stack (Go: markrootStack)
            # the roots point anywhere (a trace replay holds every object by a root of
            # its own): each one's page-table entry, then its span record and bitmap
            # words, are fetched some roots before they are shaded
            ahead = i + 2 * ROOT_AHEAD
            if ahead < nr:
                off = h.roots[ahead] - h.arena_start
                if off < alimit:
                    GR_PREFETCH(&h.page_to_span[off >> PAGE_SHIFT])
            ahead = i + ROOT_AHEAD
            if ahead < nr:
                off = h.roots[ahead] - h.arena_start
                if off < alimit:
                    si = h.page_to_span[off >> PAGE_SHIFT]
                    if si >= 0:
                        GR_PREFETCH(&h.spans[si])
                        GR_PREFETCH(&h.spans[si].spanclass)
                        ab = &w.bits[si * BITMAP_WORDS]
                        GR_PREFETCH(ab)
                        GR_PREFETCH(ab + 8)
                        ab = &h.alloc_bits[si * BITMAP_WORDS]
                        GR_PREFETCH(ab)
                        GR_PREFETCH(ab + 8)
            a = h.roots[i]
            if a != 0:
                grey_object(h, w, a, 0)
        grey_live(h, w)                         # a trace replay's objects (held as its stack)
        for i in range(r.shape[0]):
            if r[i] != 0:
                grey_object(h, w, r[i], 0)
        for i in range(so.shape[0]):           # Go: markrootSpans (objects with finalizers)
            si = span_of(h, so[i])
            if si < 0:
                continue
            s = &h.spans[si]
            if span_noscan(s):
                continue
            slot = s.base + <uint64_t>obj_index(s, so[i]) * s.elemsize
            push(w, slot)

    @property
    def roots_done(self):
        """The root jobs (stacks included) have been done this cycle."""
        return not self.roots_pending

    @property
    def empty(self):
        """No mark work is left: roots done, no grey object, write barrier buffer empty."""
        return (not self.active) or (not self.roots_pending and self.root_work <= 0
                                     and self.w.n == 0 and self.heap.h.wbuf_n == 0
                                     and self.w.sq_head == self.w.sq_tail and self.w.cs < 0)

    @property
    def bytes_marked(self):
        return self.w.bytes_marked

    @property
    def nmarked(self):
        return self.w.nmarked

    @property
    def scan_bytes(self):
        return self.w.scan_bytes

    @property
    def scan_large(self):
        """Scan work this cycle in objects over 512 bytes (part of ``scan_bytes``)."""
        return self.w.scan_large

    @property
    def nlinks(self):
        """Objects scanned this cycle with exactly one pointer to another object (``link``)."""
        return self.w.nlinks

    @property
    def nspans(self):
        """Spans with pointers in which the mark greyed an object this cycle (``touch``)."""
        return self.w.nspans

    @property
    def grey(self):
        """Grey objects waiting to be scanned (batched: on the object stack, plus the
        queued spans, each counted once)."""
        return self.w.n + (self.w.sq_tail - self.w.sq_head) + (self.w.cs >= 0)

    def drain(self, double budget=0, double w_obj=0, double w_byte=1, double w_root=1,
              *, int nworkers=1, double w_span=0, double w_link=0, double w_large=0):
        """Mark until *budget* units of work are done or no work is left (Go: gcDrainN /
        gcDrain); returns ``(bytes_marked, nmarked, scan_bytes)`` done by this call (the
        work: ``w_obj`` per object, ``w_byte`` per byte scanned, ``w_span`` per span first
        touched (``nspans``), ``w_link`` per chain link scanned (``nlinks``), ``w_large``
        more per byte scanned in objects over 512 bytes (``scan_large``)). The
        roots' modelled scan work left (``set_roots``) is paid first, ``w_root`` units per
        byte (``root_scan`` counts it).

        A drain to the end (*budget* 0) of a pipelined mark runs on *nworkers* threads
        (``_gcwork``): it marks the same objects with the same counts, in another order.
        A budgeted drain always runs on this thread: where it stops depends on the order."""
        cdef mheap_t* h = &self.heap.h
        cdef gcwork_t* w = &self.w
        cdef uint64_t bm0 = w.bytes_marked, nm0 = w.nmarked, sb0 = w.scan_bytes
        cdef double x0 = w.extra
        cdef double done, take
        cdef bint par
        self._check()
        if budget < 0 or w_root < 0 or w_span < 0 or w_link < 0 or w_large < 0:
            raise ValueError("drain: budget and the work weights must be >= 0")
        if nworkers < 1:
            raise ValueError("drain: nworkers must be >= 1")
        par = nworkers > 1 and budget == 0 and w.pipelined and not w.batched
        if par and parallel_drain == NULL:
            importlib.import_module("goruntime._gcwork")    # registers parallel_drain
        if self.roots_pending:
            if self.special_fn is not None:     # read now (Go: markroot's jobs)
                more, so = self.special_fn()
                more, so = _as_addrs(more), _as_addrs(so)
                if len(more):
                    self.roots_arr = np.concatenate((self.roots_arr, more))
                if len(so):
                    self.scan_only_arr = np.concatenate((self.scan_only_arr, so))
                self.special_fn = None
            self.root_jobs()
        if self.root_work > 0:                  # Go: markroot's work (globals, stacks)
            take = self.root_work
            if budget > 0 and w_root > 0 and budget < take * w_root:
                take = budget / w_root
            self.root_work -= take
            if self.root_work < 1e-6:
                self.root_work = 0
            self.root_scan += take
            if budget > 0:
                budget -= take * w_root
                if budget <= 0:                 # the budget went to the roots (the
                    return (w.bytes_marked - bm0, w.nmarked - nm0,   # objects they
                            w.scan_bytes - sb0)                      # greyed count)
        with nogil:
            w.w_obj = w_obj
            w.w_byte = w_byte
            w.w_span = w_span
            w.w_link = w_link
            w.w_large = w_large
            extend_touched(h, w)
            if (w.pipelined or w.batched) and not w.err:
                extend_span_info(h, w, &self.si_pages)
            if not w.err:
                flush_wbuf(h, w)
            while not w.err:
                w.budget = 0
                if budget > 0:
                    done = ((w.nmarked - nm0) * w_obj + (w.scan_bytes - sb0) * w_byte
                            + (w.extra - x0))
                    if done >= budget:
                        break
                    w.budget = budget - done
                if not par or parallel_drain(h, w, nworkers) < 0:
                    gc_drain(h, w)              # (also if the workers could not start)
                if w.err:
                    break
                if w.n > 0 or w.sq_head < w.sq_tail or w.cs >= 0:
                    continue                    # stopped on its budget: ends at the top
                if h.wbuf_n == 0:
                    break
                flush_wbuf(h, w)
            w.budget = 0
        if w.err:
            self._fail()
        return (w.bytes_marked - bm0, w.nmarked - nm0, w.scan_bytes - sb0)

    def scan_object(self, addr):
        """Queue the object containing *addr* to be scanned without marking it (Go:
        addfinalizer during a mark: ``scanobject`` of an object given a finalizer after
        markrootSpans may have run, so its referents are marked and it is not)."""
        cdef mheap_t* h = &self.heap.h
        cdef intp_t si
        cdef mspan_t* s
        self._check()
        si = span_of(h, <uint64_t>addr)
        if si < 0:
            return
        s = &h.spans[si]
        if span_noscan(s):
            return
        if push(&self.w, s.base + <uint64_t>obj_index(s, <uint64_t>addr) * s.elemsize) < 0:
            self._fail()

    def shade(self, addr):
        """Grey the object containing *addr* now (Go: shade); no scanning."""
        self._check()
        grey_object(&self.heap.h, &self.w, <uint64_t>addr, 0)
        if self.w.err:
            self._fail()


def release_heap(Heap heap):
    """Detach whatever mark is installed on *heap* (a cycle rolled back before it kept
    its MarkState): the write barrier off, its buffer dropped. The MarkState itself, if
    still alive, only frees its own buffers later."""
    heap.h.write_barrier = 0
    heap.h.wbuf_n = 0
    heap.h.wb_flush = NULL
    heap.h.wb_ctx = NULL


# ---------------------------------------------------------------------------------------
# Checkmark: an independent second traversal (Go: GODEBUG=gccheckmark=1)

def checkmark(Heap heap, roots=None, scan_only=None):
    """Re-mark from the same roots into separate bits and compare with the mark bits.

    Must run between ``mark`` and ``sweep``. Raises ``FatalError("checkmark found
    unmarked object")`` if the traversal reaches an object the mark missed. Returns the
    number of objects it reached. The traversal shades each pointer the moment it is found
    (a plain depth-first walk, no prefetch ring), so it shares none of the mark's
    queueing code (drain_pipelined).
    """
    finish_sweep(heap)
    cdef const uint64_t[::1] r = _as_addrs(roots)
    cdef const uint64_t[::1] so = _as_addrs(scan_only)
    cdef gcwork_t w
    cdef mheap_t* h = &heap.h
    cdef intp_t p, k
    cdef uint64_t missing = 0, first = 0, extra
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
                        extra = h.check_bits[p * BITMAP_WORDS + k] & ~h.gcmark_bits[p * BITMAP_WORDS + k]
                        if extra:
                            if missing == 0:
                                first = h.spans[p].base + <uint64_t>(
                                    k * 64 + GR_CTZ64(extra)) * h.spans[p].elemsize
                            missing += 1
    PyMem_RawFree(w.stack)
    if w.err:
        raise_work_error(&w)
    if missing:
        exc = FatalError("checkmark found unmarked object")
        exc.pointer = first
        exc.add_note("runtime: checkmarks found unexpected unmarked object obj=%#x" % first)
        raise exc
    return w.nmarked


# ---------------------------------------------------------------------------------------
# Sweep (Go: mgcsweep.go)

def sweep_order(Heap heap, uint32_t seq0=0xffffffff):
    """Go's sweep order: the in-use span indices (``int64`` array) and how many lead it.

    Spans pushed after ``seq0`` (the mcaches flushed at mark termination: Go's stale
    cached spans, swept by ``uncacheSpan`` as each P flushes) come first, in flush order;
    then every other span as ``sweepone`` pops them: by span class, each class's full set
    before its partial set (Go: ``nextSpanForSweep`` over sweepClass = spc << 1 | partial),
    each set in push order (``spanSet`` is FIFO; ``seq`` records the pushes). Large spans
    are in their class's full set.
    """
    cdef mheap_t* h = &heap.h
    cdef intp_t p, n = 0, nstale = 0
    cdef const mspan_t* s
    idx = np.empty(h.nspans_inuse, dtype=np.int64)
    key = np.empty(h.nspans_inuse, dtype=np.int64)
    seq = np.empty(h.nspans_inuse, dtype=np.int64)
    cdef int64_t[::1] vi = idx, vk = key, vs = seq
    with nogil:
        for p in range(h.mapped_pages):
            if h.page_to_span[p] != p or h.spans[p].state != SPAN_IN_USE or n >= vi.shape[0]:
                continue
            s = &h.spans[p]
            vi[n] = p
            vs[n] = s.seq
            if s.seq > seq0:
                vk[n] = -1                      # stale: swept by the mcache flush
                nstale += 1
            else:
                vk[n] = (<int64_t>s.spanclass << 1) | (s.divmul != 0 and s.alloc_count < s.nelems)
            n += 1
    if n < (1 << 21):
        # one sort of (key + 1) << 53 | seq << 21 | position (key: 10 bits, seq: 32):
        # the same order as the stable lexsort, a merge sort's time saved every cycle
        packed = ((key[:n] + 1) << 53) | (seq[:n] << 21) | np.arange(n, dtype=np.int64)
        packed.sort()
        order = packed & ((1 << 21) - 1)
    else:
        order = np.lexsort((seq[:n], key[:n]))
    return idx[:n][order], int(nstale)


def sweep(Heap heap, order=None):
    """Sweep the in-use spans, in *order* (span indices, Go's sweep order from
    `sweep_order`) or every span in that order; returns ``(objects_freed, bytes_freed)``.

    The mcaches must have been flushed (mark termination does), and a pending lazy sweep
    is finished first. The partial lists are rebuilt in sweep order and each surviving
    span gets a new push stamp in that order, as Go's sweep pushes each span on its swept
    set (``spanSet`` FIFO).
    """
    cdef mheap_t* h = &heap.h
    cdef intp_t i, p, n
    cdef uint64_t nfreed = 0, bfreed = 0, es
    finish_sweep(heap)
    if order is None:
        order = sweep_order(heap)[0]
    cdef const int64_t[::1] o = np.ascontiguousarray(order, dtype=np.int64)
    zombie_check(heap, o)
    with nogil:
        start_sweep(h)
        for i in range(o.shape[0]):
            p = o[i]
            if p < 0 or p >= h.mapped_pages or h.page_to_span[p] != p \
                    or h.spans[p].state != SPAN_IN_USE:
                continue
            es = h.spans[p].elemsize
            n = sweep_pushed(h, p)
            if n > 0:                        # -1 (zombie) cannot happen: checked above
                nfreed += n
                bfreed += <uint64_t>n * es
    return (nfreed, bfreed)


cdef void start_sweep(mheap_t* h) noexcept nogil:
    """Go: gcSweep: sweepgen += 2 (every span is now unswept), the swept sets emptied."""
    cdef int c
    h.sweepgen += 2
    for c in range(NUM_SPAN_CLASSES):
        while h.partial_head[c] >= 0:
            partial_remove(h, h.partial_head[c])
    h.push_seq = 0
    h.pages_swept = 0
    h.reclaim_index = 0


cdef intp_t sweep_pushed(mheap_t* h, intp_t p) noexcept nogil:
    """Sweep span *p*; a span that stays is pushed on its swept set (a new stamp)."""
    cdef intp_t n
    h.pages_swept += h.spans[p].npages
    n = sweep_span(h, p, False)
    if h.page_to_span[p] == p and h.spans[p].state == SPAN_IN_USE:
        h.push_seq += 1
        h.spans[p].seq = h.push_seq
    return n


cdef enum:
    ZOMBIE_AHEAD = 8            # zombie_check: spans of the order ahead whose lines are fetched


cdef int zombie_check(Heap heap, const int64_t[::1] o) except -1:
    """Go's "found pointer to free object": a marked slot whose alloc bit is clear, in
    any span of *o*. Checked before anything is swept, so a failure changes nothing."""
    cdef mheap_t* h = &heap.h
    cdef intp_t i, p, k, zombie = -1, n = o.shape[0]
    with nogil:
        for i in range(n):
            if i + ZOMBIE_AHEAD < n:             # the order is not by address: the span
                p = o[i + ZOMBIE_AHEAD]          # record and bitmaps are fetched ahead
                if p >= 0 and p < h.mapped_pages:
                    GR_PREFETCH(&h.page_to_span[p])
                    GR_PREFETCH(&h.spans[p].state)
                    GR_PREFETCH(&h.gcmark_bits[p * BITMAP_WORDS])
                    GR_PREFETCH(&h.gcmark_bits[p * BITMAP_WORDS + 8])
                    GR_PREFETCH(&h.alloc_bits[p * BITMAP_WORDS])
                    GR_PREFETCH(&h.alloc_bits[p * BITMAP_WORDS + 8])
            p = o[i]
            if p < 0 or p >= h.mapped_pages or h.page_to_span[p] != p \
                    or h.spans[p].state != SPAN_IN_USE:
                continue
            for k in range((h.spans[p].nelems + 63) >> 6):   # the words of its slots
                if h.gcmark_bits[p * BITMAP_WORDS + k] & ~h.alloc_bits[p * BITMAP_WORDS + k]:
                    zombie = p
            if zombie >= 0:
                break
    if zombie >= 0:
        exc = FatalError("found pointer to free object")
        exc.add_note("runtime: marked free object in span %#x" % h.spans[zombie].base)
        raise exc
    return 0


def sweep_lazy(Heap heap, order, intp_t nstale, eager=None):
    """Start a background cycle's sweep (Go: gcSweep, concurrent mode): sweep the first
    *nstale* spans of *order* (the mcache flush) and the spans in *eager* (those holding
    objects whose specials the sweep just processed), and leave the rest unswept, in
    Go's order, for `sweepone` (the proportional sweep in allocation, `finish_sweep`)
    and for ``cacheSpan`` (each class's unswept spans, partial before full). Returns
    ``(objects_freed, bytes_freed)`` of the spans swept now. The mcaches must have been
    flushed."""
    cdef mheap_t* h = &heap.h
    cdef intp_t i, p, n, nl = 0, nsc = NUM_SPAN_CLASSES * 2, sc
    cdef uint64_t nfreed = 0, bfreed = 0, es
    cdef int32_t* lst
    finish_sweep(heap)
    cdef const int64_t[::1] o = np.ascontiguousarray(order, dtype=np.int64)
    cdef const int64_t[::1] e = np.unique(np.ascontiguousarray(
        eager if eager is not None else [], dtype=np.int64))
    zombie_check(heap, o)
    if nstale > o.shape[0] or nstale < 0:
        raise ValueError("nstale out of range")
    lst = <int32_t*>PyMem_RawMalloc((o.shape[0] - nstale + 1) * sizeof(int32_t))
    if lst == NULL:
        raise MemoryError("runtime: out of memory: cannot allocate the sweep list")
    with nogil:
        # the unswept sets: order[nstale:] is sorted by sweepClass, then push order
        for sc in range(nsc + 1):
            h.sc_start[sc] = 0
        for i in range(nstale, o.shape[0]):
            p = o[i]
            lst[nl] = <int32_t>p
            nl += 1
            sc = (h.spans[p].spanclass << 1) | (h.spans[p].divmul != 0
                                               and h.spans[p].alloc_count < h.spans[p].nelems)
            h.sc_start[sc + 1] = nl
        for sc in range(1, nsc + 1):         # classes with no span start where the last ended
            if h.sc_start[sc] < h.sc_start[sc - 1]:
                h.sc_start[sc] = h.sc_start[sc - 1]
        for sc in range(nsc):
            h.sc_pos[sc] = h.sc_start[sc]
        start_sweep(h)
        for i in range(o.shape[0]):
            p = o[i]
            if i >= nstale and not sorted_has(e, p):
                continue                        # left for sweepone (its record not read)
            if p < 0 or p >= h.mapped_pages or h.page_to_span[p] != p \
                    or h.spans[p].state != SPAN_IN_USE:
                continue
            es = h.spans[p].elemsize
            n = sweep_pushed(h, p)
            if n > 0:
                nfreed += n
                bfreed += <uint64_t>n * es
        PyMem_RawFree(h.unswept)
        h.unswept = lst
        h.unswept_n = nl
        h.unswept_pos = 0
        h.sweep_pages_per_byte = 0
    return (nfreed, bfreed)


cdef bint sorted_has(const int64_t[::1] e, int64_t p) noexcept nogil:
    cdef intp_t lo = 0, hi = e.shape[0], mid
    while lo < hi:
        mid = (lo + hi) >> 1
        if e[mid] < p:
            lo = mid + 1
        else:
            hi = mid
    return lo < e.shape[0] and e[lo] == p


def pace_sweeper(Heap heap, uint64_t trigger):
    """Go: gcPaceSweeper(trigger): sweep the unswept pages in proportion to allocation,
    so the sweep is done when the heap reaches *trigger* (less 1 MiB of slack)."""
    cdef mheap_t* h = &heap.h
    cdef int64_t distance = <int64_t>trigger - <int64_t>h.heap_live - (1 << 20)
    cdef int64_t pages = <int64_t>(h.heap_inuse >> PAGE_SHIFT) - <int64_t>h.pages_swept
    if distance < PAGE_SIZE:
        distance = PAGE_SIZE
    if h.unswept == NULL or pages <= 0:
        h.sweep_pages_per_byte = 0
        return
    h.sweep_pages_per_byte = <double>pages / <double>distance
    h.sweep_live_basis = h.heap_live
    h.pages_swept_basis = h.pages_swept


def finish_sweep(Heap heap):
    """Sweep every span still unswept (Go: finishsweep_m, at the next cycle's sweep
    termination; runtime.GC). Returns the spans swept."""
    cdef mheap_t* h = &heap.h
    cdef intp_t n = 0
    with nogil:
        while sweepone(h) >= 0:
            n += 1
    return n


def sweep_pending(Heap heap):
    """Spans of the last background cycle not swept yet (Go: !isSweepDone)."""
    cdef mheap_t* h = &heap.h
    cdef intp_t i, n = 0
    if h.unswept == NULL:
        return 0
    for i in range(h.unswept_pos, h.unswept_n):
        p = h.unswept[i]
        if h.page_to_span[p] == p and h.spans[p].state == SPAN_IN_USE \
                and h.spans[p].sweepgen != h.sweepgen:
            n += 1
    return n
