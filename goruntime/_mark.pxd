"""The mark's work state and drain, shared with the parallel mark (``_gcwork``)."""
from goruntime._types cimport int32_t, uint8_t, uint32_t, uint64_t, intp_t
from goruntime._heap cimport mheap_t

cdef enum:
    ERR_NONE = 0
    ERR_BAD_POINTER = 1
    ERR_NOMEM = 2
    ERR_ZOMBIE = 3
    ERR_CHECKMARK = 4
    RING_MAX = 64               # the largest prefetch ring (a power of two)
    RING_DEFAULT = 16           # found pointers in flight by default


cdef struct found_t:            # a pointer found by scan_object, not yet shaded
    uint64_t p                  # the pointer
    uint64_t src                # where it was found (for the bad-pointer report)
    intp_t si                   # the span holding it (page_to_span, already looked up)
    uint64_t info               # span_info[si]


cdef struct gcwork_t:           # Go: gcWork (one per mark worker)
    uint64_t* stack             # grey objects (slot addresses), LIFO
    intp_t n
    intp_t cap
    bint pipelined              # found pointers go through the prefetch ring (see gc_drain)
    uint32_t ring_size          # entries of ring in use: a power of two <= RING_MAX
    found_t ring[RING_MAX]      # FIFO: ring[rhead & (ring_size-1)] is the oldest
    uint32_t rhead
    uint32_t rtail
    uint64_t* span_info         # pipelined or batched: the compact span table (see SI_*)
    bint batched                # span-batched ("Green Tea") drain (see drain_spans)
    bint adaptive               # batched until the rule in drain_spans picks the ring drain
    intp_t span_visits          # batched: spans taken off the queue, objects scanned from
    intp_t span_objs            #   them (the adaptive rule's counters)
    uint64_t* grey              # batched: per slot, marked, not yet scanned (mark bits' layout)
    uint8_t* queued             # batched: per span index, on the span queue
    int32_t* squeue             # batched: FIFO of span indices squeue[sq_head:sq_tail]
    intp_t sq_head
    intp_t sq_tail
    intp_t sq_cap
    intp_t cs                   # batched: the span being scanned when a budget stopped it (-1)
    uint64_t bytes_marked       # Go: work.bytesMarked -> heapMarked
    uint64_t nmarked
    uint64_t scan_bytes         # Go: heapScanWork (bytes of pointerful objects scanned)
    uint64_t* bits              # which mark bitmap: gcmark_bits, or check_bits for checkmark
    double budget               # a budgeted drain stops after this much work (0: no limit);
    double w_obj                # work = w_obj * objects marked + w_byte * bytes scanned
    double w_byte
    double w_span               # ... + w_span * scan spans touched (see touch, _mark.pyx)
    double w_link               # ... + w_link * chain links scanned (see link, _mark.pyx)
    double w_large              # ... + w_large * bytes scanned in large objects (scan_large)
    uint64_t scan_large         # scan_bytes of objects > 512 bytes (cumulative)
    double extra                # the span and link work so far (cumulative)
    uint64_t nlinks             # objects scanned with exactly one pointer (cumulative)
    uint8_t* touched            # per span index < ntouched: the mark greyed an object in it
    intp_t ntouched             #   this cycle (Go: the span was queued for a Green Tea scan)
    uint64_t nspans             # spans so touched (cumulative)
    mheap_t* heap               # a MarkState's heap (the write barrier's flush hook)
    int err
    uint64_t bad_ptr            # the offending pointer, and where it was found
    uint64_t bad_src
    # Parallel mark (_gcwork; all 0 for the serial mark): mark bits are set atomically, and
    # drain_pipelined calls give(w) before a pop while the stack holds more than give_at
    # objects and the shared full list (*nfull) is empty (Go: gcDrain's balance), and
    # stops when *abort is set (another worker failed).
    intp_t give_at
    const intp_t* nfull
    const intp_t* abort
    void* par                   # the worker's own state, for give
    int (*give)(gcwork_t* w) noexcept nogil


cdef int push(gcwork_t* w, uint64_t obj) noexcept nogil
cdef uint64_t* build_span_info(const mheap_t* h) noexcept nogil
cdef void grey_roots(mheap_t* h, gcwork_t* w, const uint64_t* roots, intp_t nroots) noexcept nogil
cdef void drain_pipelined(mheap_t* h, gcwork_t* w) noexcept nogil
