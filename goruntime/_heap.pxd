# _heap.pxd: declarations shared by _heap, _mark, _object and the workloads.
# See _heap.pyx for the design (the malloc.go analogue).
cimport cython
from libc.string cimport memset
from goruntime._types cimport int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t, intp_t

cdef extern from "_sizeclasses.h":          # generated; Go: internal/runtime/gc/sizeclasses.go
    enum: NUM_SIZE_CLASSES                   # 68 (class 0 = large)
    enum: NUM_SPAN_CLASSES                   # 136
    const uint32_t class_to_size[NUM_SIZE_CLASSES]
    const uint8_t class_to_npages[NUM_SIZE_CLASSES]
    const uint32_t class_to_divmagic[NUM_SIZE_CLASSES]
    const uint16_t class_to_nelems_noscan[NUM_SIZE_CLASSES]
    const uint16_t class_to_nelems_scan[NUM_SIZE_CLASSES]

cdef extern from "_checks.h":
    int GORUNTIME_CHECKS                     # 0 in release builds; the C compiler drops guarded code
    void GR_PREFETCH(const void* p) nogil
    int GR_CTZ64(unsigned long long x) nogil
    int GR_POPCOUNT64(unsigned long long x) nogil
    int GR_CLZ64(unsigned long long x) nogil

cdef enum:
    PAGE_SHIFT = 13
    PAGE_SIZE = 1 << PAGE_SHIFT              # Go: pageSize, 8 KiB
    CHUNK_PAGES = 512                        # Go: pallocChunkPages; the heap grows by 4 MiB
    MAX_SMALL_SIZE = 32768                   # Go: MaxSmallSize
    SMALL_CUTOFF = 32760                     # requests above this take the large path (spec 1.1)
    TINY_SIZE = 16                           # Go: maxTinySize
    TINY_SPAN_CLASS = 5                      # Go: tinySpanClass (class 2, noscan)
    MALLOC_HEADER_SIZE = 8                   # Go: mallocHeaderSize
    MIN_SIZE_FOR_MALLOC_HEADER = 512         # scan objects strictly larger get a header
    BITMAP_WORDS = 16                        # uint64 words of alloc/mark bits per span (1024 slots)
    MAX_PROCS = 256                          # mcaches reserved (GOMAXPROCS upper bound here)
    WBUF_ENTRIES = 512                       # Go: wbBufEntries (pointers per write barrier buffer)
    RUN_HINTS = 16                           # page runs up to this long keep a search hint

cdef enum SpanState:
    SPAN_DEAD = 0                            # record unused (its pages are free or in another span)
    SPAN_IN_USE = 1                          # Go: mSpanInUse

# One span. Indexed by its first page (span index == start page), so page -> span is one load.
# Must match SPAN_DTYPE in _heap.pyx field for field; _heap.pyx checks the size at import.
cdef struct mspan_t:
    uint64_t base              # address of the first byte (Go: s.base())
    uint64_t elemsize          # bytes per slot; npages*8192 for a large span
    uint32_t divmul            # Go's divMagic: slot = (off * divmul) >> 32; 0 for large spans
    uint32_t nelems            # slots in the span (Green Tea counts, spec 1.5)
    uint32_t alloc_count       # slots whose alloc bit is set (exact)
    uint32_t freeindex         # every slot below is allocated; next free search starts here
    uint32_t alloc_count_before_cache  # alloc_count when an mcache took the span (Go's field)
    uint32_t npages            # pages in the span
    uint32_t sweepgen          # == heap sweepgen once swept this cycle
    int32_t next               # mcentral partial list links (span index, -1 = none)
    int32_t prev
    int32_t cached_by          # P whose mcache holds the span, -1 if none
    uint8_t spanclass          # sizeclass << 1 | noscan
    uint8_t state              # SpanState
    uint8_t needzero           # slots must be zeroed when handed out (a sweep freed some)
    uint8_t in_partial         # on its mcentral's partial list
    uint32_t seq               # when it was last pushed on a swept span set (mcentral FIFO order)

cdef struct mcache_t:          # Go: mcache, one per P
    int32_t alloc[NUM_SPAN_CLASSES]   # cached span per span class, -1 = emptymspan
    uint64_t tiny              # current tiny block address, 0 = none
    uint64_t tinyoffset
    uint64_t tiny_allocs       # tiny sub-allocations not yet flushed to tiny_alloc_count

cdef struct mheap_t:
    # memory
    uint8_t* arena             # max_pages * PAGE_SIZE bytes, 8 KiB aligned; owned by Heap._arena_buf
    uint64_t arena_start       # Go-like address of arena[0] (0xc000000000)
    intp_t max_pages           # the arena cap, in pages
    intp_t mapped_pages        # pages the heap has grown to (HeapSys / 8192)
    int32_t* page_to_span      # page -> span index (its start page), -1 if the page is free
    mspan_t* spans             # span records, indexed by start page
    uint64_t* alloc_bits       # BITMAP_WORDS words per span index
    uint64_t* gcmark_bits
    uint64_t* check_bits       # checkmark traversal (Go: gccheckmark)
    uint64_t* heap_bits        # one bit per arena word: 1 = this word holds a pointer
    uint64_t* page_inuse       # one bit per page: 1 = in an in-use span
    uint64_t* page_scav        # one bit per page: 1 = released to the OS (scavenged)
    uint8_t* page_dirty        # per free page: 1 = may hold non-zero bytes; for an in-use
                               # span, its first page's entry: 1 = a slot of it was handed
                               # to code that may write it since its memory was zeroed (a
                               # clean span's freed slots and pages are zero: not zeroed
                               # or checked again; Go: mspan.needzero, heapArena.zeroedBase)
    intp_t search_hint         # no free page below this (Go: pageAlloc.searchAddr)
    intp_t run_hint[RUN_HINTS + 1]  # [n], n <= RUN_HINTS: no free run of n pages or more
                               # starts below this page (find_free_run starts there)
    # Go: pageAlloc's summaries (pallocSum), two levels: per 64-page word of page_inuse
    # and per 512-page chunk, the free run at its start, the longest, the one at its end
    uint32_t* word_sum
    uint32_t* chunk_sum
    # per-P caches and central lists
    mcache_t* mcaches
    int nprocs
    int32_t partial_head[NUM_SPAN_CLASSES]   # Go: mcentral.partialSwept, FIFO
    int32_t partial_tail[NUM_SPAN_CLASSES]
    # consistent stats (Go: heapStatsDelta), spec 2.1
    uint64_t small_alloc_count[NUM_SIZE_CLASSES]
    uint64_t small_free_count[NUM_SIZE_CLASSES]
    uint64_t tiny_alloc_count
    uint64_t large_alloc
    uint64_t large_alloc_count
    uint64_t large_free
    uint64_t large_free_count
    # memory classes
    uint64_t heap_inuse        # bytes in in-use spans
    uint64_t heap_released     # bytes of free pages released to the OS
    uint64_t alloc_scav_limit  # heap share of the memory limit for allocSpan's scavenge (max: off)
    uint64_t released_eager    # bytes released by allocation-time scavenging (Go: scav.releasedEager)
    intp_t nspans_inuse        # live span records (MSpanInuse = 160 bytes each)
    # pacer inputs (Go: gcController), spec 4.1
    uint64_t heap_live
    uint64_t trigger           # heap trigger: a check point with heap_live >= trigger asks for a GC
    int gc_pending             # set by a check point; the runtime starts a cycle and clears it
    uint64_t assist_at         # during a mark: malloc_bytes past which the running goroutine's
                               # assist credit is spent (Go: gcAssistBytes < 0 in
                               # deductAssistCredit): the allocation sets gc_pending. Max: off
    int gcphase_mark           # a cycle is in its mark phase: allocate black (Go: gcphase == _GCmark)
    uint64_t bytes_marked_black  # bytes allocated black during the mark phase (part of heapMarked)
    int alloc_clean            # the allocation in progress is of an object nothing will
                               # write (a trace replay's, _workloads): its span stays clean
    uint64_t malloc_calls      # mallocgc calls and bytes requested (the virtual clock's cost model)
    uint64_t malloc_bytes
    # the virtual clock's meter (clock.COSTS): mallocgc calls and bytes by path (tiny, small
    # noscan, small scan, large noscan, large scan), and the program's field accesses
    uint64_t malloc_path_calls[5]
    uint64_t malloc_path_bytes[5]
    uint64_t mut_loads         # field/element reads through handles
    uint64_t mut_stores        # scalar field/element writes
    uint64_t mut_ptr_stores    # pointer writes (Go: a store, plus the write barrier in a mark)
    uint32_t sweepgen
    uint32_t push_seq          # last `seq` given (Go's spanSet push order; renumbered each sweep)
    # lazy sweep of a background cycle (Go: sweepone, mcentral.cacheSpan, deductSweepCredit)
    int32_t* unswept           # span indices in Go's sweep order; NULL = nothing left to sweep
    intp_t unswept_n
    intp_t unswept_pos         # sweepone's cursor
    intp_t sc_start[NUM_SPAN_CLASSES * 2 + 1]   # per sweepClass (spc << 1 | partial): its range
    intp_t sc_pos[NUM_SPAN_CLASSES * 2]         # cacheSpan's cursor in that range
    double sweep_pages_per_byte                 # Go: mheap.sweepPagesPerByte (0: no proportional sweep)
    uint64_t sweep_live_basis                   # Go: sweepHeapLiveBasis
    uint64_t pages_swept                        # Go: pagesSwept (this cycle)
    uint64_t pages_swept_basis                  # Go: pagesSweptBasis
    intp_t reclaim_index                        # Go: mheap.reclaimIndex (a page index)
    # handle roots (Python handles are stack roots); slot i holds an address, 0 = empty
    uint64_t* roots
    int64_t* root_free         # per slot: ROOT_RAW / ROOT_HANDLE in use, -1 free
    intp_t roots_cap
    intp_t roots_len           # slots ever used
    intp_t* root_stack         # the free slots, the next one to reuse on top (LIFO)
    intp_t root_nfree
    intp_t nroots              # live root slots, and live-set objects (below)
    # the live set of a trace replay (Go has no such thing: a recorded trace has no
    # pointers, so each replayed object is held by the replay itself until its death):
    # BITMAP_WORDS words per span index, like alloc_bits; a set bit holds its slot
    # alive as a root would, and the mark greys them span by span (_mark.grey_live).
    # Invariant: a live bit is set only on an allocated slot.
    uint64_t* live_bits
    intp_t nlive               # live bits set (counted in nroots too: the root scan cost)
    # Go's hybrid write barrier (mbarrier.go, mwbbuf.go): while a mark runs, every pointer
    # store puts the slot's old value and the new value in wbuf; wb_flush (set by the
    # running mark, _mark.MarkState) shades them into its grey work when the buffer fills.
    uint64_t scan_alloc        # Go: mcache.scanAlloc (scannable bytes allocated, not yet flushed)
    uint64_t heap_scan_flushed # scanAlloc flushed outside a cycle: heapScan's growth (take_heap_scan)
    int write_barrier          # Go: writeBarrier.enabled (only during _GCmark)
    intp_t wbuf_n
    uint64_t wbuf[WBUF_ENTRIES]
    void* wb_ctx               # the mark's gcWork (opaque here)
    void (*wb_flush)(void* ctx) noexcept nogil

cdef enum:
    ZEROBASE = 0x5e4d60               # address of runtime.zerobase (BSS): every zero-size object (spec 1.9)
    ARENA_START_HI = 0xc0             # the heap starts at 0xc000000000, Go's first arena hint

# ---- address -> span -> slot (Go: spanOf, objIndex) ----
cdef inline intp_t span_of(const mheap_t* h, uint64_t addr) noexcept nogil:
    """Span index of the in-use span holding *addr*, or -1 (not in the mapped heap or a free page)."""
    cdef uint64_t off = addr - h.arena_start
    if addr < h.arena_start or off >= <uint64_t>h.mapped_pages << PAGE_SHIFT:
        return -1
    return h.page_to_span[off >> PAGE_SHIFT]

cdef inline uint32_t obj_index(const mspan_t* s, uint64_t addr) noexcept nogil:
    """Slot index of *addr* in *s* (Go: mspan.objIndex, division by magic)."""
    if s.divmul == 0:
        return 0
    return <uint32_t>(((addr - s.base) * <uint64_t>s.divmul) >> 32)

cdef inline bint bit_get(const uint64_t* bits, intp_t i) noexcept nogil:
    return (bits[i >> 6] >> (i & 63)) & 1

cdef inline void bit_set(uint64_t* bits, intp_t i) noexcept nogil:   # bits: OUT
    bits[i >> 6] |= (<uint64_t>1) << (i & 63)

cdef inline void bit_clear(uint64_t* bits, intp_t i) noexcept nogil:  # bits: OUT
    bits[i >> 6] &= ~((<uint64_t>1) << (i & 63))

cdef inline uint8_t* addr_ptr(const mheap_t* h, uint64_t addr) noexcept nogil:
    return h.arena + (addr - h.arena_start)

cdef inline bint object_bounds(const mheap_t* h, uint64_t addr, uint64_t* slot,
                               uint64_t* size) noexcept nogil:
    """True if *addr* is inside an allocated object; then *slot*/*size* get its slot (OUT).

    The slot includes a malloc header when the object has one (Go: findObject).
    """
    cdef intp_t si = span_of(h, addr)
    cdef const mspan_t* s
    cdef uint32_t idx
    if si < 0:
        return False
    s = &h.spans[si]
    if addr >= s.base + <uint64_t>s.nelems * s.elemsize:
        return False
    idx = obj_index(s, addr)
    if not bit_get(&h.alloc_bits[si * BITMAP_WORDS], idx):
        return False
    slot[0] = s.base + <uint64_t>idx * s.elemsize
    size[0] = s.elemsize
    return True

cdef inline bint span_noscan(const mspan_t* s) noexcept nogil:
    return s.spanclass & 1

cdef inline bint span_has_header(const mspan_t* s) noexcept nogil:
    """Small pointerful spans with elemsize > 512 carry an 8-byte malloc header per slot."""
    return (s.spanclass & 1) == 0 and s.divmul != 0 and s.elemsize > MIN_SIZE_FOR_MALLOC_HEADER

# ---- the allocation fast path (Go: nextFreeFast, mallocgcSmallScanNoHeader) ----
cdef inline uint64_t take_slot(mheap_t* h, mspan_t* s, intp_t si, intp_t idx) noexcept nogil:
    """Allocate free slot *idx* of the cached span *si*: its alloc bit, its mark bit while
    a mark runs (allocate black, Go: gcmarknewobject), freeindex and the count; returns
    its address (not zeroed: the caller does that)."""
    bit_set(&h.alloc_bits[si * BITMAP_WORDS], idx)
    if h.gcphase_mark:
        bit_set(&h.gcmark_bits[si * BITMAP_WORDS], idx)
        h.bytes_marked_black += s.elemsize
    s.freeindex = <uint32_t>(idx + 1)
    s.alloc_count += 1
    return s.base + <uint64_t>idx * s.elemsize

cdef inline void write_small_bits(mheap_t* h, uint64_t a, intp_t nw, uint64_t pat) noexcept nogil:
    """The pointer bits of a small slot of *nw* <= 64 words at *a* := *pat* (bit j: word j),
    in one or two word stores (Go: heapSetTypeNoHeader / writeHeapBitsSmall)."""
    cdef intp_t w0 = <intp_t>((a - h.arena_start) >> 3), b = w0 & 63
    cdef uint64_t* hb = &h.heap_bits[w0 >> 6]
    cdef uint64_t m = (~(<uint64_t>0)) >> (64 - nw)
    hb[0] = (hb[0] & ~(m << b)) | (pat << b)
    if b + nw > 64:                              # the slot straddles two bitmap words
        hb[1] = (hb[1] & ~(m >> (64 - b))) | (pat >> (64 - b))

cdef struct alloc_cache_t:
    # Go: mspan.allocCache, kept by the workload kernels' fast path (`node_load`) for one span
    # class: the free slots of the cached span's current alloc-bit word, so consecutive
    # allocations find their slot in a register instead of reloading the word they just
    # wrote. Valid only while nothing else allocates from or sweeps that span: the caller
    # empties it (free = 0) whenever other code may have run.
    intp_t si                   # the span the bits are of
    intp_t base                 # slot index of bit 0
    uint64_t free               # free slots at or past freeindex (and below nelems)

cdef inline void zero_slot(uint8_t* a, uint64_t n) noexcept nogil:
    """Clear a small slot of *n* bytes. The tree kernels' sizes get constant-size clears
    (a store or two, inline) instead of a call to libc's memset."""
    if n == 16:
        memset(a, 0, 16)
    elif n == 32:
        memset(a, 0, 32)
    else:
        memset(a, 0, n)

cdef inline bint alloc_cache_load(mheap_t* h, int p, int spc, alloc_cache_t* ac) noexcept nogil:
    """Fill the empty alloc cache *ac* from P *p*'s cached span of class *spc*: the free
    slots of the alloc-bit word at its freeindex (Go: refill of mspan.allocCache). False,
    having changed nothing, when there is none (the slow path: the next word, a refill)."""
    cdef intp_t si, idx, w, tail
    cdef mspan_t* s
    cdef uint64_t free
    si = h.mcaches[p].alloc[spc]
    if si < 0:
        return False
    s = &h.spans[si]
    idx = s.freeindex
    if idx >= s.nelems:
        return False
    w = idx >> 6
    free = ~h.alloc_bits[si * BITMAP_WORDS + w] & ((~(<uint64_t>0)) << (idx & 63))
    tail = s.nelems - (w << 6)
    if tail < 64:
        free &= ((<uint64_t>1) << tail) - 1
    if free == 0:
        return False
    h.page_dirty[si] = 1                         # its slots will be written (page_dirty)
    ac.si = si
    ac.base = w << 6
    ac.free = free
    # Go keeps a small object's pointer bits in its span; here they are an array of their
    # own, whose line for the next word's 64 slots is fetched now, 64 allocations before
    # the first of them writes it (and the mark bits, which a mark's black allocation sets)
    GR_PREFETCH(&h.heap_bits[(s.base + (<uint64_t>(w + 1) << 6) * s.elemsize
                              - h.arena_start) >> 9])
    if h.gcphase_mark:
        GR_PREFETCH(&h.gcmark_bits[si * BITMAP_WORDS + w + 1])
    return True

cdef inline void deduct_assist_credit(mheap_t* h) noexcept nogil:
    """Go: deductAssistCredit, after ``malloc_bytes`` counted the allocation: the running
    goroutine's assist credit is spent, so the allocation asks for a mark step (its
    assist, `mgc.Collector.assist`). One compare and a branch; ``assist_at`` is the
    maximum outside a mark."""
    if h.malloc_bytes > h.assist_at:
        h.gc_pending = 1

# ---- the write barrier (Go: gcWriteBarrier, wbBuf.putFast; bulkBarrierPreWrite) ----
cdef inline void wb_put(mheap_t* h, uint64_t p) noexcept nogil:
    """Queue *p* to be shaded (Go: wbBuf.putFast; a full buffer is flushed first)."""
    if p == 0:
        return
    if h.wbuf_n == WBUF_ENTRIES:
        h.wb_flush(h.wb_ctx)
    h.wbuf[h.wbuf_n] = p
    h.wbuf_n += 1

cdef inline void write_barrier(mheap_t* h, uint64_t slot, uint64_t new) noexcept nogil:
    """Go's hybrid barrier for the pointer word at *slot* about to receive *new*:
    shade(*slot) (Yuasa: the deleted pointer) and shade(new) (Dijkstra). Call it only
    when ``h.write_barrier`` is set: outside a mark a store costs that one flag test."""
    wb_put(h, (<uint64_t*>addr_ptr(h, slot))[0])
    wb_put(h, new)

cdef inline void bulk_barrier(mheap_t* h, uint64_t dst, const uint8_t* src, uint64_t n) noexcept nogil:
    """Go: bulkBarrierPreWrite for a copy of *n* bytes to heap address *dst* (8-byte
    aligned) from *src* (NULL: the range is being cleared): the barrier for every
    pointer word of the destination, from the heap bitmap."""
    cdef intp_t i = <intp_t>((dst - h.arena_start) >> 3), k
    cdef intp_t nw = <intp_t>(n >> 3)
    cdef uint64_t* d = <uint64_t*>addr_ptr(h, dst)
    if dst < h.arena_start or dst - h.arena_start >= <uint64_t>h.mapped_pages << PAGE_SHIFT:
        return
    for k in range(nw):
        if (h.heap_bits[(i + k) >> 6] >> ((i + k) & 63)) & 1:
            wb_put(h, d[k])
            if src != NULL:
                wb_put(h, (<const uint64_t*>src)[k])

# ---- allocation (Go: mallocgc and friends) ----
cdef int size_to_class(uint64_t size) noexcept nogil
cdef int malloc_small(mheap_t* h, int p, int spc, uint64_t* out) except -1 nogil
cdef int malloc_tiny(mheap_t* h, int p, uint64_t size, uint64_t* out) except -1 nogil
cdef int malloc_large(mheap_t* h, uint64_t size, bint noscan, uint64_t* out) except -1 nogil
cdef int mallocgc(mheap_t* h, int p, uint64_t size, bint noscan, uint64_t* out) except -1 nogil
# (mallocgc, mallocgc_typed and malloc_small/large return the object's span index; -2 for
# zerobase and a tiny sub-allocation)
cdef void set_heap_bits(mheap_t* h, uint64_t addr, const uint8_t* mask, intp_t elem_words,
                        intp_t count) noexcept nogil
cdef int mallocgc_typed(mheap_t* h, int p, uint64_t size, const uint8_t* mask,
                        intp_t elem_words, intp_t count, uint64_t* out) except -1 nogil
cdef void set_heap_bits_ptrdata(mheap_t* h, uint64_t addr, intp_t elem_words,
                                intp_t ptr_words) noexcept nogil
cdef int mallocgc_prefix(mheap_t* h, int p, uint64_t size, uint64_t nptr,
                         uint64_t* out) except -1 nogil
cdef void release_all(mheap_t* h, int p, bint adjust_heap_live) noexcept nogil
cdef void free_span(mheap_t* h, intp_t si) noexcept nogil
cdef intp_t sweep_span(mheap_t* h, intp_t si, bint preserve) noexcept nogil
cdef intp_t sweepone(mheap_t* h) noexcept nogil
cdef void partial_push(mheap_t* h, intp_t si) noexcept nogil
cdef void partial_remove(mheap_t* h, intp_t si) noexcept nogil
cdef intp_t root_add(mheap_t* h, uint64_t addr) except -1 nogil     # tag ROOT_RAW
cdef void root_remove(mheap_t* h, intp_t slot) noexcept nogil        # any slot in use

cdef enum:
    # root_free[slot] of a slot in use (a free slot holds -1)
    ROOT_RAW = -2               # added by the bulk API or Cython code: remove_root may free it
    ROOT_HANDLE = -3            # owned by a Python handle: only the handle frees it

cdef enum:
    LIVE_IDX_BITS = 10                       # a live position: span index << 10 | slot (< 1024)

cdef inline int64_t live_add(mheap_t* h, uint64_t addr) noexcept nogil:
    """Hold the allocated object at *addr* alive (a root of the replay's live set, set in
    its span's live bits); returns its position ``span index << 10 | slot``. The object
    must be in a span (not zerobase) and own its slot (not a tiny sub-allocation)."""
    return live_add_at(h, span_of(h, addr), addr)

cdef inline int64_t live_add_at(mheap_t* h, intp_t si, uint64_t addr) noexcept nogil:
    """`live_add` of *addr* in span *si* (the index `mallocgc` returned: no page-table
    load)."""
    cdef uint32_t idx = obj_index(&h.spans[si], addr)
    bit_set(&h.live_bits[si * BITMAP_WORDS], idx)
    h.nlive += 1
    h.nroots += 1
    return (<int64_t>si << LIVE_IDX_BITS) | idx

cdef inline void live_remove(mheap_t* h, int64_t pos) noexcept nogil:
    """Drop the object at live position *pos* (`live_add`) from the live set."""
    cdef uint64_t* w = &h.live_bits[(pos >> LIVE_IDX_BITS) * BITMAP_WORDS]
    cdef intp_t idx = pos & ((1 << LIVE_IDX_BITS) - 1)
    if bit_get(w, idx):
        bit_clear(w, idx)
        h.nlive -= 1
        h.nroots -= 1

cdef inline intp_t root_add_handle(mheap_t* h, uint64_t addr) except -1 nogil:
    """`root_add` for a Python handle: the bulk API's remove_root refuses the slot."""
    cdef intp_t slot = root_add(h, addr)
    h.root_free[slot] = ROOT_HANDLE
    return slot

@cython.final
cdef class Heap:
    cdef mheap_t h
    cdef object _arena_buf      # np.ndarray[uint8]: the memory itself (8 KiB aligned view inside)
    cdef readonly object arena  # np.ndarray[uint8] view of the usable arena
    cdef object _spans          # np.ndarray[SPAN_DTYPE]
    cdef object _page_to_span
    cdef object _alloc_bits
    cdef object _gcmark_bits
    cdef object _check_bits
    cdef object _heap_bits
    cdef object _page_inuse
    cdef object _word_sum
    cdef object _chunk_sum
    cdef object _page_scav
    cdef object _page_dirty
    cdef object _live_bits
    cdef object _mcaches
    cdef readonly uint64_t arena_cap
    cdef readonly object lock   # threading.RLock: the world lock (never the GIL)
    cdef public bint threaded   # goroutines are threads: root-table updates take the lock
    cdef public bint recycle    # when freed, keep its memory for the next Heap (`keep_memory`)
    cdef public unsigned long owner   # cooperative: the one thread allowed to use the heap
    cdef public object dead     # None, or (message, exception): a finalizer/cleanup crashed
    cdef void* handle_runtime   # the Runtime of this heap's handles (borrowed: each handle
                                # holds a reference; _object.bind_handle)
    cdef int check_owner(self) except -1
    cdef int _foreign_call(self) except -1
    cdef int _check_range(self, uint64_t addr, uint64_t n) except -1
    cdef int _check_object_range(self, uint64_t addr, uint64_t n) except -1
    cdef void _written(self, uint64_t addr) noexcept
    cdef int _check_root(self, uint64_t addr) except -1
    cdef _keep_memory(self)


# The heap-bits view of an object, shared by the serial (_mark) and parallel (_gcwork) marks.
cdef extern from *:
    const uint64_t HEAP_OBLET_BYTES "(128ULL << 10)"  # Go: maxObletBytes


cdef inline uint64_t ptr_extent(const mheap_t* h, uint64_t b, uint64_t n) noexcept nogil:
    """Bytes from *b* to the end of the last pointer word in [b, b+n); 0 if none."""
    cdef intp_t i0 = <intp_t>((b - h.arena_start) >> 3)
    cdef intp_t i = i0 + <intp_t>(n >> 3), wi, lo, last
    cdef uint64_t word
    while i > i0:
        wi = (i - 1) >> 6
        word = h.heap_bits[wi]
        if i - (wi << 6) < 64:
            word &= ((<uint64_t>1) << (i - (wi << 6))) - 1
        lo = wi << 6
        if i0 > lo:
            word &= ~(((<uint64_t>1) << (i0 - lo)) - 1)
        if word:
            last = 0
            while word:
                last = GR_CTZ64(word)
                word &= word - 1
            return <uint64_t>(lo + last - i0 + 1) << 3
        i = lo
    return 0


cdef inline uint64_t scan_size(const mheap_t* h, uint64_t b, uint64_t n) noexcept nogil:
    """Go 1.27's heap scan work for scanning the *n*-byte slot *b* (heapScanWork).

    Go counts up to the last pointer word, not the slot: scanObject's ``scanSize`` for
    objects with a malloc header and large objects (over the element type repeated to the
    slot's end, per 128 KiB oblet: maxObletBytes), and ``Len64(ptrBits) * 8`` for small
    objects scanned one at a time from a span with inline mark bits
    (mgcmark_greenteagc.go: scanObjectSmall / scanObjectsSmall). Go's dense span scan
    (ScanSpanPacked, which counts whole slots) needs AVX-512 and a span with at least
    nelems/8 objects marked at once; it is not modelled: goruntime counts as Go does on
    a CPU without it (arm64; amd64 with GODEBUG=cpu.avx512=off).
    """
    cdef uint64_t total = 0, off = 0, m
    while off < n:
        m = n - off
        if m > HEAP_OBLET_BYTES:
            m = HEAP_OBLET_BYTES
        total += ptr_extent(h, b + off, m)
        off += m
    return total
