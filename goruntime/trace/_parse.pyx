# cython: embedsignature=True
"""The execution-trace parser's passes over the whole file, typed and ``nogil``.

Everything here reads a ``uint8`` buffer (the whole trace file) with explicit bounds checks
and reports malformed input as an error code plus the byte offset where it was found, so
`goruntime.trace.reader` can raise ``ValueError("... at byte offset N")``; nothing here
can read outside the buffer, whatever the bytes are. Varints are Go's unsigned LEB128
(``encoding/binary.Uvarint``: at most 10 bytes, the 10th at most 1).

Mapping to Go (src/internal/trace): `scan_batches` ~ readBatch (batch.go) over the whole
file; `stream_events` ~ batchCursor.nextEvent / readTimedBaseEvent (batchcursor.go)
merged across batches by time, timestamps converted with the generation's frequency
exactly as ``frequency.mul`` does, validating and counting each event as it decodes it
and writing it straight into its output row: no Python object, no intermediate column
per event. `count_events` (the same checks and counts, alone) sizes the outputs first
where they cannot be reserved from an upper bound. The AllocFree
experiment's span and object events are replayed against a page table to recover each
object's span class and slot (Go writes only address and type), and frees are paired
with objects by slot.
"""
import numpy as np

from libc.stdlib cimport malloc, calloc, realloc, free as cfree
from libc.string cimport memset

cdef extern from *:
    """
    #include <sys/mman.h>
    #ifdef MADV_HUGEPAGE                 /* Linux only: elsewhere no hint is given */
    #define GR_MADV_HUGEPAGE MADV_HUGEPAGE
    #else
    #define GR_MADV_HUGEPAGE 0
    #endif
    #ifndef MAP_NORESERVE
    #define MAP_NORESERVE 0
    #endif
    #ifdef __linux__                     /* Linux 5.14+; older kernels refuse it: EINVAL */
    #define GR_MADV_POPULATE_WRITE 23
    #else
    #define GR_MADV_POPULATE_WRITE 0
    #endif
    """
    void* mmap(void* addr, size_t length, int prot, int flags, int fd, long offset) nogil
    int munmap(void* addr, size_t length) nogil
    int madvise(void* addr, size_t length, int advice) nogil
    enum: PROT_READ
    enum: PROT_WRITE
    enum: MAP_PRIVATE
    enum: MAP_ANONYMOUS
    enum: MAP_NORESERVE
    enum: GR_MADV_HUGEPAGE
    enum: GR_MADV_POPULATE_WRITE
    void* MAP_FAILED

from goruntime._types cimport int64_t, uint8_t, uint32_t, uint64_t, intp_t
from goruntime.trace._deaths cimport death_interval, golden_fraction

cdef extern from *:
    """
    #include <stdint.h>
    typedef int8_t gr_int8_t;
    typedef int32_t gr_int32_t;
    #if defined(__GNUC__) || defined(__clang__)
    #define gr_prefetch_w(p) __builtin_prefetch((p), 1, 0)
    #define gr_prefetch_r(p) __builtin_prefetch((p), 0, 3)
    #else
    #define gr_prefetch_w(p) ((void)(p))
    #define gr_prefetch_r(p) ((void)(p))
    #endif
    """
    ctypedef signed char gr_int8_t
    ctypedef int gr_int32_t
    void prefetch_w "gr_prefetch_w"(const void* p) noexcept nogil
    void prefetch_r "gr_prefetch_r"(const void* p) noexcept nogil

# error codes (messages in goruntime.trace.reader.ERRORS)
cdef enum:
    E_OK = 0
    E_VARINT = 1          # truncated or overlong uvarint
    E_BATCH_TYPE = 2      # expected a batch header byte
    E_BATCH_TRUNC = 3     # batch header or data runs past the end
    E_BATCH_SIZE = 4      # batch size > MaxBatchSize
    E_EVENT_TYPE = 5      # event type that cannot appear in an event batch
    E_EVENT_TRUNC = 6     # event runs past its batch

    EV_EVENT_BATCH = 1
    EV_EXPERIMENTAL_BATCH = 49
    EV_END_OF_GENERATION = 52
    MAX_BATCH_SIZE = 64 << 10

    K_SPAN = 128
    K_SPAN_ALLOC = 129
    K_SPAN_FREE = 130
    K_OBJECT = 131
    K_OBJECT_ALLOC = 132
    K_OBJECT_FREE = 133


cdef inline intp_t uvarint(const uint8_t* p, intp_t pos, intp_t end, uint64_t* out) noexcept nogil:
    """Decode one uvarint at *pos*; the position after it, or -1 (truncated / overflow)."""
    cdef uint64_t x = 0
    cdef unsigned int s = 0
    cdef intp_t i = 0
    cdef uint8_t b
    while pos < end:
        b = p[pos]
        pos += 1
        if i == 9 and b > 1:
            return -1
        if b < 0x80:
            out[0] = x | (<uint64_t>b << s)
            return pos
        x |= <uint64_t>(b & 0x7f) << s
        s += 7
        i += 1
        if i == 10:
            return -1
    return -1


def read_uvarint(const uint8_t[::1] buf, intp_t pos, intp_t end):
    """``(value, next_pos)``; ``next_pos`` is -1 when the varint is truncated or too long."""
    cdef uint64_t v = 0
    if end > buf.shape[0]:
        end = buf.shape[0]
    if pos < 0 or pos >= end:
        return (0, -1)
    cdef intp_t n = uvarint(&buf[0], pos, end, &v)
    return (v, n)


def scan_batches(const uint8_t[::1] buf, intp_t pos):
    """Frame the file from *pos*: one row per batch.

    Returns ``(code, err_offset, rows)`` with rows a list of ``(header_offset, kind, exp,
    gen, m, time, data_offset, size)``; kind 0 = event batch, 1 = experimental batch,
    2 = end of generation. *code* is 0 or an error code (the rows before it are kept).
    """
    cdef intp_t end = buf.shape[0], hdr, q
    cdef uint64_t gen = 0, m = 0, t = 0, size = 0
    cdef int kind, exp
    cdef const uint8_t* p
    rows = []
    if end == 0:
        return (0, 0, rows)
    p = &buf[0]
    while pos < end:
        hdr = pos
        if p[pos] == EV_END_OF_GENERATION:
            rows.append((hdr, 2, 0, 0, 0, 0, pos + 1, 0))
            pos += 1
            continue
        if p[pos] == EV_EVENT_BATCH:
            kind, exp = 0, 0
            pos += 1
        elif p[pos] == EV_EXPERIMENTAL_BATCH:
            kind = 1
            if pos + 1 >= end:
                return (E_BATCH_TRUNC, hdr, rows)
            exp = p[pos + 1]
            pos += 2
        else:
            return (E_BATCH_TYPE, hdr, rows)
        q = uvarint(p, pos, end, &gen)
        if q >= 0:
            q = uvarint(p, q, end, &m)
        if q >= 0:
            q = uvarint(p, q, end, &t)
        if q >= 0:
            q = uvarint(p, q, end, &size)
        if q < 0:
            return (E_BATCH_TRUNC, hdr, rows)
        if size > MAX_BATCH_SIZE:
            return (E_BATCH_SIZE, hdr, rows)
        if q + <intp_t>size > end:
            return (E_BATCH_TRUNC, hdr, rows)
        rows.append((hdr, kind, exp, gen, m, t, q, <intp_t>size))
        pos = q + <intp_t>size
    return (0, 0, rows)


# ---------------------------------------------------------------------------------------
# Pass 1: count (and validate) every event of every event batch

cdef inline intp_t skip_args(const uint8_t* p, intp_t pos, intp_t end, int na,
                             uint64_t* first) noexcept nogil:
    """Skip *na* uvarints from *pos* (the first decoded into *first*); -1 if malformed."""
    cdef int _j
    pos = uvarint(p, pos, end, first)
    for _j in range(1, na):
        if pos < 0:
            return -1
        pos = uvarint(p, pos, end, first + 1)
    return pos


cdef check_batches(str name, const uint8_t[::1] buf, const int64_t[::1] doff,
                   const int64_t[::1] dlen, const int64_t[::1] bstart, const double[::1] freq,
                   const gr_int8_t[::1] nargs):
    """The batch columns agree in length, *nargs* covers every event type and every
    batch lies inside *buf* (ValueError naming *name* otherwise)."""
    cdef intp_t nb = doff.shape[0], i
    if dlen.shape[0] != nb or bstart.shape[0] != nb or freq.shape[0] != nb:
        raise ValueError(f"{name}: column lengths differ")
    if nargs.shape[0] != 256:
        raise ValueError(f"{name}: nargs needs 256 entries")
    for i in range(nb):
        if doff[i] < 0 or dlen[i] < 0 or doff[i] + dlen[i] > buf.shape[0]:
            raise ValueError(f"{name}: batch outside the buffer")


def count_events(const uint8_t[::1] buf, const int64_t[::1] doff, const int64_t[::1] dlen,
                 const int64_t[::1] bstart, const double[::1] freq,
                 const gr_int8_t[::1] nargs):
    """Walk every event batch once: validate it and count each event type.

    *bstart* is each batch's start in ns (its clock ticks times *freq*, ns per tick,
    truncated as Go's ``frequency.mul`` does). Returns ``(code, err_offset, hist,
    tmin)``: *hist* counts every event type, *tmin* is the earliest event time (ns), or
    the largest int64 when there are no events.
    """
    cdef intp_t nb = doff.shape[0], i, pos, end, ev, err = 0
    cdef int typ, na, code = E_OK
    cdef uint64_t v[2]
    check_batches("count_events", buf, doff, dlen, bstart, freq, nargs)
    hist_a = np.zeros(256, dtype=np.int64)
    cdef int64_t[::1] hist = hist_a
    cdef const uint8_t* p = &buf[0] if buf.shape[0] else NULL
    with nogil:
        for i in range(nb):
            pos = doff[i]
            end = pos + dlen[i]
            while pos < end:
                ev = pos
                typ = p[pos]
                na = nargs[typ]
                if na <= 0:
                    err = ev
                    code = E_EVENT_TYPE
                    break
                pos = skip_args(p, pos + 1, end, na, &v[0])
                if pos < 0:
                    err = ev
                    code = E_EVENT_TRUNC
                    break
                hist[typ] += 1
            if code != E_OK:
                break
    return (code, err, hist_a, first_event_time(buf, doff, dlen, bstart, freq, nargs))


def first_event_time(const uint8_t[::1] buf, const int64_t[::1] doff,
                     const int64_t[::1] dlen, const int64_t[::1] bstart,
                     const double[::1] freq, const gr_int8_t[::1] nargs):
    """The earliest event time (ns) of the event batches, as `count_events` gives it
    (each batch's first event: its timestamp deltas are unsigned), without walking the
    rest of the batches; the largest int64 when there are no events."""
    cdef intp_t nb = doff.shape[0], i, pos, end
    cdef int na
    cdef uint64_t v = 0
    cdef int64_t tmin = 0x7fffffffffffffff, t
    check_batches("first_event_time", buf, doff, dlen, bstart, freq, nargs)
    cdef const uint8_t* p = &buf[0] if buf.shape[0] else NULL
    for i in range(nb):
        pos = doff[i]
        end = pos + dlen[i]
        if pos < end:
            na = nargs[p[pos]]
            if na > 0 and uvarint(p, pos + 1, end, &v) >= 0:
                t = <int64_t>(<double>v * freq[i]) + bstart[i]
                if t < tmin:
                    tmin = t
    return tmin


# ---------------------------------------------------------------------------------------
# Matching frees to allocations: an open-addressing hash table of live slots



cdef struct slotmap_t:
    uint64_t* keys          # key + 1 (0 = empty)
    int64_t* vals
    intp_t cap              # a power of two
    intp_t n
    int bits


cdef inline intp_t sm_hash(slotmap_t* m, uint64_t k) noexcept nogil:
    return <intp_t>((k * <uint64_t>0x9E3779B97F4A7C15) >> (64 - m.bits))


cdef int sm_init(slotmap_t* m, int bits) noexcept nogil:
    m.bits = bits
    m.cap = (<intp_t>1) << bits
    m.n = 0
    m.keys = <uint64_t*>calloc(m.cap, sizeof(uint64_t))
    m.vals = <int64_t*>malloc(m.cap * sizeof(int64_t))
    return 0 if (m.keys != NULL and m.vals != NULL) else -1


cdef void sm_free(slotmap_t* m) noexcept nogil:
    cfree(m.keys)
    cfree(m.vals)
    m.keys = NULL
    m.vals = NULL


cdef intp_t sm_find(slotmap_t* m, uint64_t k) noexcept nogil:
    """Index of key *k*, or -1."""
    cdef intp_t i = sm_hash(m, k), mask = m.cap - 1
    k += 1
    while m.keys[i] != 0:
        if m.keys[i] == k:
            return i
        i = (i + 1) & mask
    return -1


cdef int sm_put(slotmap_t* m, uint64_t k, int64_t v) noexcept nogil:
    """Insert or overwrite; grows at load 1/2. -1 when out of memory."""
    cdef slotmap_t old
    cdef intp_t i, mask
    if 2 * (m.n + 1) > m.cap:
        old = m[0]
        if sm_init(m, old.bits + 1) < 0:
            sm_free(m)
            m[0] = old
            return -1
        for i in range(old.cap):
            if old.keys[i] != 0:
                sm_put(m, old.keys[i] - 1, old.vals[i])
        sm_free(&old)
    mask = m.cap - 1
    i = sm_hash(m, k)
    while m.keys[i] != 0 and m.keys[i] != k + 1:
        i = (i + 1) & mask
    if m.keys[i] == 0:
        m.n += 1
    m.keys[i] = k + 1
    m.vals[i] = v
    return 0


cdef void sm_del(slotmap_t* m, intp_t i) noexcept nogil:
    """Remove entry *i* (backward-shift deletion keeps probe chains intact)."""
    cdef intp_t mask = m.cap - 1, j = i, h
    m.n -= 1
    while True:
        j = (j + 1) & mask
        if m.keys[j] == 0:
            break
        h = sm_hash(m, m.keys[j] - 1)
        # move j back to i if its home h is not cyclically in (i, j]
        if (j > i and (h <= i or h > j)) or (j < i and (h <= i and h > j)):
            m.keys[i] = m.keys[j]
            m.vals[i] = m.vals[j]
            i = j
    m.keys[i] = 0


# ---------------------------------------------------------------------------------------
# Pass 2: every event in time order (a merge of the batches), straight into the outputs

# the rows of goruntime.trace.reader.ALLOC_DTYPE / FREE_DTYPE (numpy's packed layout)
cdef packed struct alloc_rec:
    int64_t time
    uint64_t addr
    uint64_t size
    uint8_t sizeclass
    uint8_t pointerful
    uint8_t tiny
    gr_int32_t type
    uint64_t ptrbytes
    int64_t free_time

cdef packed struct free_rec:
    int64_t time
    uint64_t addr
    uint64_t size
    int64_t alloc
    int64_t initial

ALLOC_REC_SIZE = sizeof(alloc_rec)
MAP_NORESERVE_FLAG = MAP_NORESERVE     # for goruntime.trace.reader's reservations
FREE_REC_SIZE = sizeof(free_rec)

cdef enum:
    E_HEAP_RANGE = 7      # a span or object id beyond MAX_HEAP_PAGES
    E_NOMEM = 8
    E_OVERFLOW = 9        # more events of a kind than rows for them (cannot happen)
    E_SPAN_PAGES = 10     # a heap span of a size class with other than its class's pages
    MAX_PENDING = 10000   # objects waiting for a late span event
    LATE_SPAN_WINDOW = 256
    PREFETCH_AHEAD = 16   # frees ahead whose allocation row set_free_times prefetches
    TINY_SPAN_CLASS = 5   # tinySpanClass: class 2, noscan
    MIN_SIZE_FOR_MALLOC_HEADER = 512

cdef uint64_t DROPPED = 0xffffffffffffffff       # alloc_rec.size of an object without a slot
cdef int64_t EMPTY = -0x7fffffffffffffff - 1      # a free entry of a span's slot array


cdef enum:
    # the events each cursor decodes ahead of the merge (a power of two), and how far
    # ahead of its turn an object event's lookups are fetched (`cur_next`)
    LOOKAHEAD = 16
    AHEAD_SPAN = 10       # its page-table entry is read, its span record fetched
    AHEAD_SLOT = 5        # its span record is read, its slot entry fetched


cdef struct ev_t:
    # one decoded event
    intp_t at             # offset of the event
    int64_t time          # its time (ns)
    uint64_t args[3]      # its arguments after the timestamp delta
    intp_t pg             # object events: the page of its address id (-1: none)
    gr_int32_t st         # ... the first page of the span there, when fetched (-1: none)
    int typ


cdef struct cursor_t:
    intp_t pos            # next undecoded byte of the batch
    intp_t end
    intp_t at             # offset of the current event
    int64_t time          # the current event's time (ns)
    uint64_t args[4]      # its arguments after the timestamp delta
    int typ
    double f              # ns per tick
    gr_int32_t gen
    intp_t rank           # position in the stable order (generation, batch start)
    int err               # why decoding stopped early: E_EVENT_TYPE, E_EVENT_TRUNC
    intp_t err_at         # ... and where
    int64_t dtime         # time of the last event decoded into the ring
    ev_t ring[LOOKAHEAD]  # the next events of the batch, decoded
    int rhead, rcount
    bint rdone            # the batch's bytes are all decoded (or bad)


cdef inline bint dec_one(const uint8_t* p, cursor_t* c, const gr_int8_t* nargs,
                         ev_t* e) noexcept nogil:
    """Decode the batch's next undecoded event into *e*; False at the end of its batch,
    or on bad bytes (``c.err`` then says why, ``c.err_at`` where: `count_events`'
    checks)."""
    cdef int na, j
    cdef uint64_t v, dt = 0
    cdef intp_t q
    if c.pos >= c.end:
        return False
    e.at = c.pos
    e.typ = p[c.pos]
    na = nargs[e.typ]
    if na <= 0:
        c.err = E_EVENT_TYPE
        c.err_at = c.pos
        return False
    q = c.pos + 1
    e.args[0] = 0
    e.args[1] = 0
    e.args[2] = 0
    for j in range(na):
        q = uvarint(p, q, c.end, &v)
        if q < 0:
            c.err = E_EVENT_TRUNC
            c.err_at = c.pos
            return False
        if j == 0:
            dt = v
        elif j <= 3:
            e.args[j - 1] = v
    c.pos = q
    c.dtime = <int64_t>(<double>dt * c.f) + c.dtime
    e.time = c.dtime
    e.pg = -1
    e.st = -1
    return True


cdef inline bint cur_less(const cursor_t* x, const cursor_t* y) noexcept nogil:
    return x.time < y.time or (x.time == y.time and x.rank < y.rank)


cdef void heap_down(intp_t* hp, intp_t n, cursor_t* cur, intp_t i) noexcept nogil:
    cdef intp_t l, r, m, tmp
    while True:
        l = 2 * i + 1
        r = l + 1
        m = i
        if l < n and cur_less(&cur[hp[l]], &cur[hp[m]]):
            m = l
        if r < n and cur_less(&cur[hp[r]], &cur[hp[m]]):
            m = r
        if m == i:
            return
        tmp = hp[i]
        hp[i] = hp[m]
        hp[m] = tmp
        i = m


cdef void heap_up(intp_t* hp, cursor_t* cur, intp_t i) noexcept nogil:
    cdef intp_t parent, tmp
    while i > 0:
        parent = (i - 1) // 2
        if not cur_less(&cur[hp[i]], &cur[hp[parent]]):
            return
        tmp = hp[i]
        hp[i] = hp[parent]
        hp[parent] = tmp
        i = parent


cdef struct pending_t:
    int64_t ref           # >= 0: allocs row; < 0: initial row -ref-1
    uint64_t id
    int left              # heap span allocations still to look at
    bint misaligned       # why it waits: no span (False) or not at a slot boundary


cdef struct span_t:
    # a span, at its first page: everything a lookup reads in one cache line
    int64_t* slots        # its slots' refs (pending_t.ref; EMPTY: free), NULL until used
    uint64_t elem         # slot bytes: the class size, or the whole span (large, odd class)
    uint32_t npages
    gr_int32_t nslots     # entries of slots
    gr_int32_t nlive      # live entries of slots
    unsigned short kc     # kindclass: spanclass << 1, or 1 = not a heap span


cdef struct heapstate_t:
    # the page table: first page of the span holding each page (-1: none); the spans,
    # by first page
    gr_int32_t* start
    span_t* spans
    intp_t cap
    intp_t max_pages
    uint64_t max_id       # the largest address id inside max_pages
    int page_shift        # log2(page) when the page size is a power of two, else -1
    uint32_t div_mul[256] # per size class: Go's divMul, off * divMul >> 32 == off / size
    uint64_t page, align, base
    const uint32_t* class_size
    const uint32_t* class_npages  # Go's class_to_npages: a span of class c has that many
    intp_t nclass
    # types
    const int64_t* tlut
    const int64_t* tlut_off
    const int64_t* tlut_len
    const uint64_t* type_size
    const uint64_t* type_ptr
    # outputs
    alloc_rec* allocs
    alloc_rec* initial
    free_rec* frees
    intp_t n_alloc, n_init, n_free, cap_alloc, cap_init, cap_free
    # rows below these are populated (`populate_rows`); the cap when not asked to
    intp_t pop_alloc, pop_init, pop_free
    intp_t popb_alloc, popb_init, popb_free   # ... the bytes populated
    # the live objects, by slot: per span (span_t.slots) an array of its slots' refs,
    # filled in address order as Go allocates and sweeps, so the lookups stay in cache;
    # a slot the current page table cannot place (an object left over in a span that
    # was remapped) is in the address-keyed table
    slotmap_t fb
    pool_t* pool          # the slot arrays' memory
    bint oom
    pending_t* pending
    intp_t n_pending
    # anomalies
    int64_t nospan, misaligned, unmatched, realloc, span_bad, unknown_types


cdef void* big_table(size_t nbytes) noexcept nogil:
    """*nbytes* of zeroed memory, mapped straight from the kernel (pages cost nothing
    until touched) and marked for transparent huge pages: the merge's page table, span
    records and slot arrays are read at random, and with 4 KiB pages nearly every
    lookup also missed the TLB (a nested page walk on a virtual machine). NULL if the
    mapping fails."""
    cdef void* m = mmap(NULL, nbytes, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
    if m == MAP_FAILED:
        return NULL
    if GR_MADV_HUGEPAGE:
        madvise(m, nbytes, GR_MADV_HUGEPAGE)   # a hint: ignored where THP is off
    return m


cdef enum:
    POOL_CHUNK = 32 << 20  # bytes per chunk of the slot-array pool
    POOL_MAX_N = 4096      # slot arrays up to this many entries come from the pool
    POOL_MAX_CHUNKS = 4096


cdef struct pool_t:
    # the spans' slot arrays, carved from big_table chunks; a freed array goes on the
    # free list of its length (a span class has one length: reuse is exact)
    void* chunks[POOL_MAX_CHUNKS]
    intp_t nchunks
    char* next            # free bytes of the current chunk
    size_t left
    void* free[POOL_MAX_N + 1]


cdef int64_t* pool_get(pool_t* pl, size_t n) noexcept nogil:
    """An array of *n* int64 (uninitialised), or NULL when out of memory."""
    cdef void* r
    cdef size_t nbytes = n * sizeof(int64_t)
    if n > POOL_MAX_N:
        return <int64_t*>malloc(nbytes)
    r = pl.free[n]
    if r != NULL:
        pl.free[n] = (<void**>r)[0]
        return <int64_t*>r
    if nbytes > pl.left:
        if pl.nchunks >= POOL_MAX_CHUNKS:
            return <int64_t*>malloc(nbytes)   # (not reached: 128 GiB of slot arrays)
        r = big_table(POOL_CHUNK)
        if r == NULL:
            return NULL
        pl.chunks[pl.nchunks] = r
        pl.nchunks += 1
        pl.next = <char*>r
        pl.left = POOL_CHUNK
    r = pl.next
    pl.next += nbytes
    pl.left -= nbytes
    return <int64_t*>r


cdef void pool_put(pool_t* pl, int64_t* arr, size_t n) noexcept nogil:
    """Give back an array `pool_get` made with the same *n*."""
    if arr == NULL:
        return
    if n > POOL_MAX_N or not pool_owns(pl, arr):
        cfree(arr)
        return
    (<void**>arr)[0] = pl.free[n]
    pl.free[n] = arr


cdef bint pool_owns(pool_t* pl, void* p) noexcept nogil:
    cdef intp_t i
    cdef char* c
    for i in range(pl.nchunks - 1, -1, -1):
        c = <char*>pl.chunks[i]
        if <char*>p >= c and <char*>p < c + POOL_CHUNK:
            return True
    return False


cdef void pool_release(pool_t* pl) noexcept nogil:
    cdef intp_t i
    for i in range(pl.nchunks):
        munmap(pl.chunks[i], POOL_CHUNK)
    pl.nchunks = 0


cdef int grow_pages(heapstate_t* s, intp_t need) noexcept nogil:
    """Make pages below *need* usable: the span records and the page table are mapped
    for `max_pages` at the first call (`big_table`: untouched pages cost nothing, the
    span records start zeroed); growing sets the new pages' entries to -1."""
    cdef intp_t cap = s.cap if s.cap else 1024, i
    while cap < need:
        cap *= 2
    if cap > s.max_pages:
        cap = s.max_pages
    if s.spans == NULL:
        s.spans = <span_t*>big_table(<size_t>s.max_pages * sizeof(span_t))
        s.start = <gr_int32_t*>big_table(<size_t>s.max_pages * sizeof(gr_int32_t))
        if s.spans == NULL or s.start == NULL:
            return -1
    for i in range(s.cap, cap):
        s.start[i] = -1
    s.cap = cap
    return 0


cdef enum:
    POPULATE_CHUNK = 2 << 20   # bytes of output populated at a time


cdef intp_t populate_rows(char* base, intp_t rowsize, intp_t cap_rows,
                          intp_t* pop_bytes) noexcept nogil:
    """Populate the next POPULATE_CHUNK bytes of an output reserved larger than its rows
    will be (``madvise(MADV_POPULATE_WRITE)``: its pages made in one kernel call, as
    ``MAP_POPULATE`` does for a mapping of the exact size, instead of a fault per page);
    returns the rows now populated. Chunks start at multiples of POPULATE_CHUNK from the
    page-aligned mapping. Where the kernel refuses, the pages fault in as written."""
    cdef intp_t cap_bytes = cap_rows * rowsize, start = pop_bytes[0], n, rows
    if start < cap_bytes:
        n = POPULATE_CHUNK if start + POPULATE_CHUNK <= cap_bytes else cap_bytes - start
        if GR_MADV_POPULATE_WRITE:
            madvise(base + start, <size_t>n, GR_MADV_POPULATE_WRITE)
    pop_bytes[0] = start + POPULATE_CHUNK
    rows = pop_bytes[0] // rowsize
    return rows if rows < cap_rows else cap_rows


cdef inline alloc_rec* rec_of(heapstate_t* s, int64_t ref) noexcept nogil:
    return &s.allocs[ref] if ref >= 0 else &s.initial[-ref - 1]


cdef inline uint64_t ptrbytes_of(heapstate_t* s, uint64_t size, uint64_t sclass,
                                 bint pointerful, gr_int32_t gt) noexcept nogil:
    """Bytes from the object's start that may hold pointers, from its type.

    Go writes the element type: an object of slot size S holding n = S // type.size
    elements has ptrdata (n-1)*type.size + type.ptrbytes (Go: heapSetType for arrays).
    Objects over 512 bytes in small scan classes carry an 8-byte malloc header. Without
    a type, a pointerful object is taken as pointers throughout (conservative).
    """
    cdef int64_t usable, ts, tp, n, pb
    if not pointerful:
        return 0
    usable = <int64_t>size
    if sclass > 0 and size > MIN_SIZE_FOR_MALLOC_HEADER:
        usable -= 8
    if usable < 0:
        return 0
    if gt < 0:
        return <uint64_t>usable
    ts = <int64_t>s.type_size[gt]
    tp = <int64_t>s.type_ptr[gt]
    if tp <= 0:
        return 0
    n = usable // ts if ts > 0 else 1
    if n < 1:
        n = 1
    pb = (n - 1) * ts + tp
    if pb < 0:
        return 0
    return <uint64_t>(pb if pb < usable else usable)


cdef int place(heapstate_t* s, int64_t ref, uint64_t id, uint64_t size, unsigned int spc,
               bint header, int64_t t) noexcept nogil:
    """An object found its slot: pair it with the live-slot table (the tiny allocator's
    re-reports, allocations over a slot whose free came late), then fill its row."""
    cdef uint64_t key = id - (1 if header else 0) * (8 // s.align if 8 // s.align else 1)
    cdef uint64_t slot_size
    cdef intp_t st = -1
    cdef int64_t* e = slot_entry(s, key, True, &st, &slot_size)
    return place_entry(s, ref, key, e, st, size, spc, t)


cdef int place_entry(heapstate_t* s, int64_t ref, uint64_t key, int64_t* e, intp_t st,
                     uint64_t size, unsigned int spc, int64_t t) noexcept nogil:
    """`place` with the slot looked up: *e* its live-table entry in span *st* (NULL:
    none, the address-keyed table holds it)."""
    cdef alloc_rec* r = rec_of(s, ref)
    cdef intp_t h = -1
    cdef bint tiny = False
    if s.oom:
        return E_NOMEM
    if e == NULL or e[0] == EMPTY:
        if s.fb.n:
            h = sm_find(&s.fb, key)
        if h < 0:                                  # a free slot: the object takes it
            if e != NULL:
                e[0] = ref
                s.spans[st].nlive += 1
            elif sm_put(&s.fb, key, ref) < 0:
                return E_NOMEM
        elif spc == TINY_SPAN_CLASS:
            tiny = True
        else:
            s.realloc += 1
            rec_of(s, s.fb.vals[h])[0].free_time = t
            s.fb.vals[h] = ref
    elif spc == TINY_SPAN_CLASS:
        # the tiny allocator reports offset 0 of its live block again: a tiny allocation
        tiny = True
    else:
        # an allocation over a live slot: the free of the object there came late or never
        s.realloc += 1
        rec_of(s, e[0])[0].free_time = t
        e[0] = ref
    r.size = 0 if tiny else size
    r.sizeclass = <uint8_t>(spc >> 1)
    r.pointerful = (spc & 1) == 0
    r.tiny = tiny
    r.ptrbytes = ptrbytes_of(s, size, spc >> 1, (spc & 1) == 0 and not tiny, r.type)
    return 0


cdef int late_span(heapstate_t* s, uint64_t a, uint64_t b, uint64_t kc, int64_t t) noexcept nogil:
    """A heap span allocation: objects waiting for their span may find it here (an event
    ordered late: equal timestamps on two Ms). Each looks at the next LATE_SPAN_WINDOW
    heap span allocations and takes the first that covers its page, if it fits there."""
    cdef intp_t i = 0, k = 0
    cdef pending_t* pd
    cdef uint64_t off, pg, sz, rel, r
    cdef unsigned int sc, cls
    cdef bint ok, header
    while i < s.n_pending:
        pd = &s.pending[i]
        off = pd.id * s.align
        pg = off // s.page
        pd.left -= 1
        if a <= pg < a + b:
            sc = <unsigned int>(kc >> 1)
            cls = sc >> 1
            rel = off - a * s.page
            ok = False
            header = False
            if cls == 0:
                ok = rel == 0
                sz = b * s.page
            elif cls < s.nclass:
                sz = s.class_size[cls]
                r = rel % sz
                ok = r == 0 or (r == 8 and (sc & 1) == 0 and sz > MIN_SIZE_FOR_MALLOC_HEADER)
                header = r != 0
            if ok:
                if place(s, pd.ref, pd.id, sz, sc & 0xff, header, t) != E_OK:
                    return -1
            else:
                drop(s, pd)
            i += 1
            continue                               # done with it either way
        if pd.left <= 0:
            drop(s, pd)
            i += 1
            continue
        s.pending[k] = pd[0]
        k += 1
        i += 1
    s.n_pending = k
    return 0


cdef inline void fetch_page(heapstate_t* s, ev_t* e) noexcept nogil:
    """Lookahead, first stage (an event just decoded): an object event's page-table
    entry is fetched."""
    cdef uint64_t id
    if e.typ < K_OBJECT or e.typ > K_OBJECT_FREE or s.page_shift < 0:
        return
    id = e.args[0]
    if id > s.max_id:
        return
    e.pg = <intp_t>((id * s.align) >> s.page_shift)
    if e.pg < s.cap:
        prefetch_r(&s.start[e.pg])


cdef inline void fetch_span(heapstate_t* s, ev_t* e) noexcept nogil:
    """Second stage: its page-table entry is read, its span record fetched."""
    cdef gr_int32_t st
    if e.pg < 0 or e.pg >= s.cap:
        return
    st = s.start[e.pg]
    e.st = st
    if st >= 0:
        prefetch_r(&s.spans[st])


cdef inline void fetch_slot(heapstate_t* s, ev_t* e) noexcept nogil:
    """Third stage: its span record is read, its slot entry fetched (the slot of the
    address, or of the address less a malloc header: the same index)."""
    cdef span_t* sp
    cdef uint64_t rel, idx
    cdef unsigned int cls
    if e.st < 0:
        return
    sp = &s.spans[e.st]
    if sp.slots == NULL or (sp.kc & 1):
        return
    cls = sp.kc >> 2
    rel = e.args[0] * s.align - <uint64_t>e.st * s.page
    if cls == 0 or cls >= <unsigned int>s.nclass or rel >= <uint64_t>0xffffffff:
        idx = 0
    else:
        idx = (rel * <uint64_t>s.div_mul[cls]) >> 32
    if idx < <uint64_t>sp.nslots:
        prefetch_w(&sp.slots[idx])


cdef inline void ring_push(const uint8_t* p, cursor_t* c, const gr_int8_t* nargs,
                           heapstate_t* s) noexcept nogil:
    """Decode the batch's next event onto the ring's tail and start its page-table fetch;
    at the batch's end or bad bytes mark the cursor done."""
    cdef ev_t* e = &c.ring[(c.rhead + c.rcount) & (LOOKAHEAD - 1)]
    if dec_one(p, c, nargs, e):
        fetch_page(s, e)
        c.rcount += 1
    else:
        c.rdone = True


cdef inline bint cur_next(const uint8_t* p, cursor_t* c, const gr_int8_t* nargs,
                          heapstate_t* s) noexcept nogil:
    """Make the batch's next event the cursor's current one; False at the end of its
    batch, or at bad bytes (``c.err``, ``c.at``). Events are decoded LOOKAHEAD ahead into
    the cursor's ring, and an object event's three dependent lookups (page table, span
    record, slot entry: random reads of large tables) are fetched in stages as it comes
    nearer, so that they are in cache by its turn. The fetches are only hints: the event
    is handled from the tables as they are then."""
    cdef ev_t* e
    cdef int k
    if c.rcount == 0:
        while c.rcount < LOOKAHEAD and not c.rdone:
            ring_push(p, c, nargs, s)
        if c.rcount == 0:
            c.at = c.err_at
            return False
    e = &c.ring[c.rhead]
    c.at = e.at
    c.time = e.time
    c.typ = e.typ
    c.args[0] = e.args[0]
    c.args[1] = e.args[1]
    c.args[2] = e.args[2]
    c.rhead = (c.rhead + 1) & (LOOKAHEAD - 1)
    c.rcount -= 1
    if not c.rdone:
        ring_push(p, c, nargs, s)
    k = AHEAD_SPAN - 1
    if k < c.rcount:
        fetch_span(s, &c.ring[(c.rhead + k) & (LOOKAHEAD - 1)])
    k = AHEAD_SLOT - 1
    if k < c.rcount:
        fetch_slot(s, &c.ring[(c.rhead + k) & (LOOKAHEAD - 1)])
    return True


cdef int on_object(heapstate_t* s, cursor_t* c, int64_t t) noexcept nogil:
    """HeapObject (the snapshot) or HeapObjectAlloc: resolve its slot from the page table."""
    cdef uint64_t id = c.args[0], traw = c.args[1], off, elem, r, spc, idx
    cdef intp_t pg, st
    cdef int64_t ref, lut
    cdef alloc_rec* rec
    cdef span_t* sp
    cdef gr_int32_t gt = -1
    if c.typ == K_OBJECT:
        if s.n_init >= s.pop_init:
            if s.n_init >= s.cap_init:
                return E_OVERFLOW
            s.pop_init = populate_rows(<char*>s.initial, sizeof(alloc_rec), s.cap_init,
                                       &s.popb_init)
        ref = -s.n_init - 1
        rec = &s.initial[s.n_init]
        s.n_init += 1
        rec.time = 0
    else:
        if s.n_alloc >= s.pop_alloc:
            if s.n_alloc >= s.cap_alloc:
                return E_OVERFLOW
            s.pop_alloc = populate_rows(<char*>s.allocs, sizeof(alloc_rec), s.cap_alloc,
                                        &s.popb_alloc)
        ref = s.n_alloc
        rec = &s.allocs[s.n_alloc]
        s.n_alloc += 1
        rec.time = t
    if id > s.max_id:
        return E_HEAP_RANGE
    rec.addr = id * s.align + s.base
    rec.free_time = -1
    rec.size = 0
    rec.sizeclass = 0
    rec.pointerful = True
    rec.tiny = False
    rec.ptrbytes = 0
    if traw > 0:
        if c.gen >= 0 and <int64_t>traw < s.tlut_len[c.gen]:
            lut = s.tlut[s.tlut_off[c.gen] + <int64_t>traw]
            if lut >= 0:
                gt = <gr_int32_t>lut
        if gt < 0:
            s.unknown_types += 1
    rec.type = gt
    off = id * s.align
    pg = <intp_t>(off >> s.page_shift) if s.page_shift >= 0 else <intp_t>(off // s.page)
    if pg >= s.cap or s.start[pg] < 0:
        return pend(s, ref, id, False)
    st = s.start[pg]
    sp = &s.spans[st]
    if sp.kc & 1:
        return pend(s, ref, id, False)
    spc = sp.kc >> 1
    off -= <uint64_t>st * s.page
    elem = sp.elem
    if (spc >> 1) == 0 or (spc >> 1) >= <uint64_t>s.nclass:
        if off != 0:
            return pend(s, ref, id, True)
        return place_entry(s, ref, id, span_entry(s, st, 0), st, elem,
                           <unsigned int>(spc & 0xff), t)
    idx = slot_index(s, off, elem, <unsigned int>(spc >> 1))
    r = off - idx * elem
    if r == 0:
        return place_entry(s, ref, id, span_entry(s, st, idx), st, elem,
                           <unsigned int>(spc & 0xff), t)
    if spc == TINY_SPAN_CLASS:           # a sub-allocation inside a 16-byte tiny block
        rec.size = 0
        rec.sizeclass = <uint8_t>(spc >> 1)
        rec.pointerful = False
        rec.tiny = True
        return E_OK
    if (spc & 1) == 0 and elem > MIN_SIZE_FOR_MALLOC_HEADER and r == 8:
        return place(s, ref, id, elem, <unsigned int>(spc & 0xff), True, t)
    return pend(s, ref, id, True)


cdef int pend(heapstate_t* s, int64_t ref, uint64_t id, bint misaligned) noexcept nogil:
    """Park an object that has no fitting span (yet); see `late_span`."""
    cdef alloc_rec* rec = rec_of(s, ref)
    cdef pending_t pd
    rec.size = DROPPED                            # until placed
    pd.ref = ref
    pd.id = id
    pd.left = LATE_SPAN_WINDOW
    pd.misaligned = misaligned
    if s.n_pending >= MAX_PENDING:
        drop(s, &pd)
        return E_OK
    s.pending[s.n_pending] = pd
    s.n_pending += 1
    return E_OK


cdef void drop(heapstate_t* s, pending_t* pd) noexcept nogil:
    """An object that found no fitting span: counted; its row stays marked DROPPED."""
    if pd.misaligned:
        s.misaligned += 1
    else:
        s.nospan += 1


cdef int on_free(heapstate_t* s, cursor_t* c, int64_t t) noexcept nogil:
    cdef intp_t h
    cdef int64_t ref
    cdef free_rec* f
    if s.n_free >= s.pop_free:
        if s.n_free >= s.cap_free:
            return E_OVERFLOW
        s.pop_free = populate_rows(<char*>s.frees, sizeof(free_rec), s.cap_free, &s.popb_free)
    f = &s.frees[s.n_free]
    s.n_free += 1
    f.time = t
    f.addr = c.args[0] * s.align + s.base
    f.size = 0
    f.alloc = -1
    f.initial = -1
    cdef intp_t st = -1
    cdef uint64_t slot_size = 0
    cdef int64_t* e = slot_entry(s, c.args[0], False, &st, &slot_size)
    if e != NULL and e[0] != EMPTY:
        ref = e[0]
        e[0] = EMPTY
        s.spans[st].nlive -= 1
        f.size = slot_size                        # free_time: see set_free_times
    else:
        h = sm_find(&s.fb, c.args[0]) if s.fb.n else -1
        if h < 0:
            s.unmatched += 1
            return E_OK
        ref = s.fb.vals[h]
        sm_del(&s.fb, h)
        f.size = rec_of(s, ref)[0].size
    if ref >= 0:
        f.alloc = ref
    else:
        f.initial = -ref - 1
    return E_OK


cdef void set_free_times(heapstate_t* s) noexcept nogil:
    """Each freed object's ``free_time``, from the free rows, after the merge: a free
    reaches an object allocated anywhere before (a random row of a large table), so the
    stores are done here, in one loop with the rows prefetched a few frees ahead, rather
    than one cache miss per free inside the merge. Exact: an object has at most one free
    (its slot entry is emptied by it) and a realloc's early ``free_time`` is of an
    object no free reaches."""
    cdef intp_t i, j, n = s.n_free
    cdef free_rec* f
    for i in range(n):
        j = i + PREFETCH_AHEAD
        if j < n:
            f = &s.frees[j]
            if f.alloc >= 0:
                prefetch_w(&s.allocs[f.alloc].free_time)
            elif f.initial >= 0:
                prefetch_w(&s.initial[f.initial].free_time)
        f = &s.frees[i]
        if f.alloc >= 0:
            s.allocs[f.alloc].free_time = f.time
        elif f.initial >= 0:
            s.initial[f.initial].free_time = f.time


cdef int64_t* slot_entry(heapstate_t* s, uint64_t key, bint create, intp_t* o_st,
                        uint64_t* o_size) noexcept nogil:
    """The live-table entry of slot *key* (an address id) in its span's slot array, made
    when *create*; NULL when the page table places no slot there (or the array is not
    made yet, or out of memory: ``s.oom``)."""
    cdef uint64_t off = key * s.align, rel, elem, idx
    cdef intp_t pg, st
    cdef unsigned int cls
    cdef span_t* sp
    cdef int64_t* e
    if key > s.max_id:
        return NULL
    pg = <intp_t>(off >> s.page_shift) if s.page_shift >= 0 else <intp_t>(off // s.page)
    if pg >= s.cap:
        return NULL
    st = s.start[pg]
    if st < 0:
        return NULL
    sp = &s.spans[st]
    if sp.kc & 1:
        return NULL
    cls = sp.kc >> 2
    rel = off - <uint64_t>st * s.page
    elem = sp.elem
    if cls == 0 or cls >= <unsigned int>s.nclass:
        if rel != 0:
            return NULL
        idx = 0
    else:
        idx = slot_index(s, rel, elem, cls)
        if idx * elem != rel:
            return NULL
    if sp.slots == NULL and not create:
        return NULL
    e = span_entry(s, st, idx)
    if e != NULL:
        o_st[0] = st
        o_size[0] = elem
    return e


cdef inline uint64_t slot_index(heapstate_t* s, uint64_t rel, uint64_t elem,
                                unsigned int cls) noexcept nogil:
    """rel // elem, by Go's mspan.divideByElemSize (a multiply and a shift) when that is
    exact: inside a span it always is; checked anyway, so odd spans divide for real."""
    cdef uint64_t idx
    if rel < <uint64_t>0xffffffff:
        idx = (rel * <uint64_t>s.div_mul[cls]) >> 32
        if idx * elem <= rel and rel - idx * elem < elem:
            return idx
    return rel // elem


cdef inline int64_t* span_entry(heapstate_t* s, intp_t st, uint64_t idx) noexcept nogil:
    """Entry *idx* of span *st*'s slot array, the array made on first use; NULL past
    its last slot (a tail too short for a slot), or when out of memory (``s.oom``)."""
    cdef span_t* sp = &s.spans[st]
    cdef uint64_t n
    cdef intp_t i
    cdef int64_t* arr = sp.slots
    if arr != NULL:                  # its span record is unchanged since: remaps retire
        return &arr[idx] if idx < <uint64_t>sp.nslots else NULL
    n = (<uint64_t>sp.npages * s.page) // sp.elem if sp.elem else 0
    if idx >= n or n > 0x7fffffff:
        return NULL
    arr = pool_get(s.pool, n)
    if arr == NULL:
        s.oom = True
        return NULL
    for i in range(<intp_t>n):
        arr[i] = EMPTY
    sp.slots = arr
    sp.nslots = <gr_int32_t>n
    sp.nlive = 0
    return &arr[idx]


cdef int retire(heapstate_t* s, intp_t st) noexcept nogil:
    """Move span *st*'s live slots to the address-keyed table and drop its array (its
    pages or header are about to change)."""
    cdef span_t* sp = &s.spans[st]
    cdef int64_t* arr = sp.slots
    cdef intp_t i, n = sp.nslots
    cdef uint64_t elem = sp.elem
    if sp.nlive:
        for i in range(n):
            if arr[i] != EMPTY:
                if sm_put(&s.fb, (<uint64_t>st * s.page + <uint64_t>i * elem) // s.align,
                          arr[i]) < 0:
                    s.oom = True
    pool_put(s.pool, arr, <size_t>n)
    sp.slots = NULL
    sp.nslots = 0
    sp.nlive = 0
    return 0


cdef int on_span(heapstate_t* s, cursor_t* c, int64_t t) noexcept nogil:
    cdef uint64_t a = c.args[0], b = c.args[1], kc = c.args[2], cls
    cdef intp_t j, first
    cdef span_t* sp
    if b == 0:
        s.span_bad += 1
        return E_OK
    if a >= <uint64_t>s.max_pages or b > <uint64_t>s.max_pages - a:
        return E_HEAP_RANGE
    if <intp_t>(a + b) > s.cap and grow_pages(s, <intp_t>(a + b)) < 0:
        return E_NOMEM
    first = <intp_t>a
    # the spans whose pages (or header) this one takes over hand their live slots to
    # the address-keyed table first (normally none: Go frees a span once it is empty)
    if s.spans[first].slots != NULL:
        retire(s, first)
    for j in range(first, first + <intp_t>b):
        if s.start[j] >= 0 and s.spans[s.start[j]].slots != NULL:
            retire(s, s.start[j])
        s.start[j] = <gr_int32_t>first
    cls = kc >> 2
    if (kc & 1) == 0 and kc < 512 and 0 < cls < <uint64_t>s.nclass and b != s.class_npages[cls]:
        return E_SPAN_PAGES          # (its slot array would be sized by the pages: B83)
    sp = &s.spans[first]
    sp.npages = <uint32_t>b
    sp.kc = <unsigned short>(kc if kc < 512 else 1)             # > 255 classes: not heap
    cls = sp.kc >> 2
    sp.elem = b * s.page if (cls == 0 or cls >= <uint64_t>s.nclass) else s.class_size[cls]
    if s.n_pending and c.typ == K_SPAN_ALLOC and (kc & 1) == 0 and kc < 512:
        if late_span(s, a, b, kc, t) < 0:
            return E_NOMEM
    return E_NOMEM if s.oom else E_OK


cdef int on_span_free(heapstate_t* s, cursor_t* c) noexcept nogil:
    """SpanFree: the span's pages hold no heap objects any more. Its live slots (normally
    none) go to the address-keyed table, so a late free still finds them; an allocation
    seen on its pages before the next SpanAlloc (a span event ordered late: batches of one
    M can overlap in time) waits for that span, instead of taking the freed span's class."""
    cdef uint64_t a = c.args[0]
    cdef intp_t first
    if a >= <uint64_t>s.cap:
        return E_OK
    first = <intp_t>a
    if s.start[first] != first:
        return E_OK
    if s.spans[first].slots != NULL:
        retire(s, first)
    s.spans[first].kc = 1
    return E_NOMEM if s.oom else E_OK


cdef struct misc_t:
    int64_t time
    uint64_t a, b
    gr_int32_t gen
    uint8_t typ


def stream_events(const uint8_t[::1] buf, const int64_t[::1] doff, const int64_t[::1] dlen,
                  const int64_t[::1] bstart, const gr_int32_t[::1] bgen,
                  const double[::1] freq, const int64_t[::1] order,
                  const gr_int8_t[::1] nargs, const uint8_t[::1] misc_keep, int64_t t0,
                  const uint32_t[::1] class_size, intp_t max_pages, uint64_t page_size,
                  uint64_t align, uint64_t base,
                  const int64_t[::1] tlut, const int64_t[::1] tlut_off,
                  const int64_t[::1] tlut_len, const uint64_t[::1] type_size,
                  const uint64_t[::1] type_ptr,
                  uint8_t[::1] allocs, uint8_t[::1] initial, uint8_t[::1] frees,
                  bint populate=False):
    """Every event of the event batches in time order, in one nogil pass, validated as
    it is decoded (the checks of `count_events`) and counted by type.

    The batches (rows of *doff* ... *freq*, in the stable order: generation, then batch
    start) are merged by event time with a heap of cursors, ties going to the earlier
    batch, then the earlier event: the order a stable sort of all events by time gives.
    *order* lists the batches by start time (ties by row): a batch joins the merge when
    the merge reaches its start. Each event is handled as it comes:

    - span events (Span, SpanAlloc) map their pages in a growing page table;
    - HeapObject / HeapObjectAlloc get their slot size and span class from it (Go writes
      only address and type), are paired with the live-slot table, and are written as a
      row of *allocs* / *initial* (``ALLOC_DTYPE`` bytes, one row per event: room for at
      least as many rows as there are such events, e.g. counted by `count_events`, or
      an upper bound: with *populate* the outputs are mappings reserved larger than
      that, populated a chunk at a time as rows are written, `populate_rows`); an
      object with no fitting span waits for the next
      LATE_SPAN_WINDOW heap span allocations (its span's event came late) and is marked
      ``size == 2**64 - 1`` if none fits;
    - HeapObjectFree ends the object in its slot: a row of *frees* (``FREE_DTYPE``);
    - the event types with ``misc_keep[t]`` (GC, STW, metrics, GOMAXPROCS; few) go to
      rows of columns (time, type, a, b, gen).

    Times are ns minus *t0*. Returns ``(code, err_offset, misc, anomalies, counts,
    last_time, hist)``: *counts* the rows written (allocs, initial, frees, misc), *hist*
    the events of each type (those before an error, if *code* is not 0).
    """
    cdef intp_t nb = doff.shape[0], i, nh = 0, na_ = 0, nm = 0, j, cap_m = 256
    cdef int code = E_OK
    cdef intp_t err = 0
    cdef int64_t t, last_time = 0
    cdef cursor_t* cur
    cdef cursor_t* c
    cdef intp_t* hp
    cdef heapstate_t s
    if dlen.shape[0] != nb or bstart.shape[0] != nb or bgen.shape[0] != nb \
            or freq.shape[0] != nb or order.shape[0] != nb:
        raise ValueError("stream_events: column lengths differ")
    if nargs.shape[0] != 256 or misc_keep.shape[0] != 256:
        raise ValueError("stream_events: nargs and misc_keep need 256 entries")
    if page_size == 0 or align == 0 or class_size.shape[0] < 2 * 68 or class_size.shape[0] % 2 \
            or max_pages <= 0 \
            or max_pages >= (1 << 31):
        raise ValueError("stream_events: bad heap geometry")
    if tlut_off.shape[0] != tlut_len.shape[0] or type_size.shape[0] != type_ptr.shape[0]:
        raise ValueError("stream_events: bad type tables")
    for i in range(tlut_off.shape[0]):
        if tlut_off[i] < 0 or tlut_len[i] < 0 or tlut_off[i] + tlut_len[i] > tlut.shape[0]:
            raise ValueError("stream_events: bad type tables")
    for i in range(tlut.shape[0]):
        if tlut[i] >= type_size.shape[0]:
            raise ValueError("stream_events: bad type tables")
    for i in range(nb):
        if doff[i] < 0 or dlen[i] < 0 or doff[i] + dlen[i] > buf.shape[0] \
                or order[i] < 0 or order[i] >= nb or bgen[i] < 0 \
                or bgen[i] >= tlut_off.shape[0]:
            raise ValueError("stream_events: bad batch table")
    if allocs.shape[0] % sizeof(alloc_rec) or initial.shape[0] % sizeof(alloc_rec) \
            or frees.shape[0] % sizeof(free_rec):
        raise ValueError("stream_events: output sizes are not whole rows")
    # the few misc rows, in memory that grows (copied out after)
    cdef misc_t* m = <misc_t*>malloc(cap_m * sizeof(misc_t))
    cdef misc_t* m2
    hist_a = np.zeros(256, dtype=np.int64)
    cdef int64_t[::1] hist = hist_a
    cdef const uint8_t* p = &buf[0] if buf.shape[0] else NULL

    memset(&s, 0, sizeof(s))
    s.max_pages = max_pages
    s.page, s.align, s.base = page_size, align, base
    s.max_id = (<uint64_t>max_pages * page_size) // align
    s.page_shift = -1
    for i in range(63):
        if (<uint64_t>1 << i) == page_size:
            s.page_shift = <int>i
    s.nclass = class_size.shape[0] // 2
    for i in range(min(s.nclass, 256)):
        s.div_mul[i] = <uint32_t>(0xffffffff // class_size[i] + 1) if class_size[i] else 0
    s.class_size = &class_size[0]
    s.class_npages = &class_size[s.nclass]
    s.tlut = &tlut[0] if tlut.shape[0] else NULL
    s.tlut_off = &tlut_off[0] if tlut_off.shape[0] else NULL
    s.tlut_len = &tlut_len[0] if tlut_len.shape[0] else NULL
    s.type_size = &type_size[0] if type_size.shape[0] else NULL
    s.type_ptr = &type_ptr[0] if type_ptr.shape[0] else NULL
    s.cap_alloc = allocs.shape[0] // sizeof(alloc_rec)
    s.cap_init = initial.shape[0] // sizeof(alloc_rec)
    s.cap_free = frees.shape[0] // sizeof(free_rec)
    s.allocs = <alloc_rec*>&allocs[0] if s.cap_alloc else NULL
    s.initial = <alloc_rec*>&initial[0] if s.cap_init else NULL
    s.frees = <free_rec*>&frees[0] if s.cap_free else NULL
    if populate:
        s.pop_alloc, s.pop_init, s.pop_free = 0, 0, 0
    else:
        s.pop_alloc, s.pop_init, s.pop_free = s.cap_alloc, s.cap_init, s.cap_free
    cur = <cursor_t*>malloc((nb if nb else 1) * sizeof(cursor_t))
    hp = <intp_t*>malloc((nb if nb else 1) * sizeof(intp_t))
    s.pending = <pending_t*>malloc(MAX_PENDING * sizeof(pending_t))
    s.pool = <pool_t*>calloc(1, sizeof(pool_t))
    if cur == NULL or hp == NULL or s.pending == NULL or s.pool == NULL or m == NULL \
            or sm_init(&s.fb, 8) < 0:
        cfree(m)
        cfree(cur)
        cfree(hp)
        cfree(s.pending)
        cfree(s.pool)
        sm_free(&s.fb)
        raise MemoryError("stream_events: merge state")
    with nogil:
        for i in range(nb):
            c = &cur[i]
            c.pos = doff[i]
            c.end = doff[i] + dlen[i]
            c.time = bstart[i]
            c.f = freq[i]
            c.gen = bgen[i]
            c.rank = i
            c.err = E_OK
            c.err_at = 0
            c.dtime = bstart[i]
            c.rhead = 0
            c.rcount = 0
            c.rdone = False
        while True:
            # batches join when the merge reaches their start (an event's time is never
            # before its batch's start)
            while na_ < nb and (nh == 0 or bstart[order[na_]] <= cur[hp[0]].time):
                j = order[na_]
                na_ += 1
                if cur_next(p, &cur[j], &nargs[0], &s):
                    hp[nh] = j
                    nh += 1
                    heap_up(hp, cur, nh - 1)
                elif cur[j].err != E_OK:
                    code = cur[j].err
                    err = cur[j].at
                    break
            if nh == 0 or code != E_OK:
                break
            c = &cur[hp[0]]
            t = c.time - t0
            hist[c.typ] += 1
            if c.typ >= K_SPAN and c.typ <= K_OBJECT_FREE:
                last_time = t
                if c.typ == K_OBJECT or c.typ == K_OBJECT_ALLOC:
                    code = on_object(&s, c, t)
                elif c.typ == K_OBJECT_FREE:
                    code = on_free(&s, c, t)
                elif c.typ != K_SPAN_FREE:
                    code = on_span(&s, c, t)
                else:
                    code = on_span_free(&s, c)
                if code != E_OK:
                    err = c.at
                    break
            elif misc_keep[c.typ]:
                last_time = t
                if nm >= cap_m:
                    m2 = <misc_t*>realloc(m, 2 * cap_m * sizeof(misc_t))
                    if m2 == NULL:
                        code = E_NOMEM
                        err = c.at
                        break
                    m = m2
                    cap_m *= 2
                m[nm].time = t
                m[nm].typ = <uint8_t>c.typ
                m[nm].a = c.args[0]
                m[nm].b = c.args[1]
                m[nm].gen = c.gen
                nm += 1
            if cur_next(p, c, &nargs[0], &s):
                # the batch usually stays first (one M at a time): sift only when a
                # child now comes before it (what heap_down would test first)
                if nh > 1 and (cur_less(&cur[hp[1]], c)
                               or (nh > 2 and cur_less(&cur[hp[2]], c))):
                    heap_down(hp, nh, cur, 0)
            elif c.err != E_OK:
                code = c.err
                err = c.at
                break
            else:
                nh -= 1
                hp[0] = hp[nh]
                heap_down(hp, nh, cur, 0)
        for i in range(s.n_pending):
            drop(&s, &s.pending[i])
        if code == E_OK:
            set_free_times(&s)
    cfree(cur)
    cfree(hp)
    cfree(s.pending)
    for i in range(s.cap):
        if s.spans[i].slots != NULL:
            pool_put(s.pool, s.spans[i].slots, <size_t>s.spans[i].nslots)
    pool_release(s.pool)
    cfree(s.pool)
    if s.spans != NULL:
        munmap(s.spans, <size_t>s.max_pages * sizeof(span_t))
    if s.start != NULL:
        munmap(s.start, <size_t>s.max_pages * sizeof(gr_int32_t))
    sm_free(&s.fb)
    anomalies = {"objects_without_span": s.nospan, "misaligned_objects": s.misaligned,
                 "unmatched_frees": s.unmatched, "realloc_without_free": s.realloc,
                 "spans_out_of_range": s.span_bad, "unknown_type_ids": s.unknown_types}
    counts = (s.n_alloc, s.n_init, s.n_free, nm)
    m_time_a = np.empty(nm, dtype=np.int64)
    m_type_a = np.empty(nm, dtype=np.uint8)
    m_a_a = np.empty(nm, dtype=np.uint64)
    m_b_a = np.empty(nm, dtype=np.uint64)
    m_gen_a = np.empty(nm, dtype=np.int32)
    cdef int64_t[::1] m_time = m_time_a
    cdef uint8_t[::1] m_type = m_type_a
    cdef uint64_t[::1] m_a = m_a_a, m_b = m_b_a
    cdef gr_int32_t[::1] m_gen = m_gen_a
    for i in range(nm):
        m_time[i] = m[i].time
        m_type[i] = m[i].typ
        m_a[i] = m[i].a
        m_b[i] = m[i].b
        m_gen[i] = m[i].gen
    cfree(m)
    misc = (m_time_a, m_type_a, m_a_a, m_b_a, m_gen_a)
    return (code, err, misc, anomalies, counts, last_time, hist_a)


# ---------------------------------------------------------------------------------------
# The replay's objects (goruntime.trace.simulate._objects), in one pass over the rows

cdef enum:
    DEATH_FREE = 0        # simulate.DEATH_MODELS, by number
    DEATH_GC = 1
    DEATH_EARLY = 2
    DEATH_SPREAD = 3

cdef inline int64_t place_death(int64_t f, int64_t b, intp_t k, const int64_t* starts,
                                const int64_t* prevs, intp_t ns, int death) noexcept nogil:
    """The death time of object *k* (born at *b*, freed at *f*; -1: never) under model
    *death* (`object_columns`): a point of `_deaths.death_interval`."""
    cdef int64_t latest, earliest, sp
    if f < 0:
        return -1
    if death == DEATH_FREE:
        return f
    death_interval(f, b, starts, prevs, ns, &earliest, &latest)
    if death == DEATH_GC:
        return latest
    if death != DEATH_SPREAD:
        return earliest
    sp = earliest + <int64_t>(<double>(latest - earliest) * golden_fraction(k))
    return sp if sp > b else b


cdef inline uint64_t requested_size(const alloc_rec* r) noexcept nogil:
    """The size a replay asks mallocgc for: the slot, less the malloc header if any."""
    cdef uint64_t size = r.size
    if r.pointerful and r.sizeclass > 0 and size > MIN_SIZE_FOR_MALLOC_HEADER:
        return size - 8
    return size


def object_columns(const uint8_t[::1] initial, const uint8_t[::1] allocs,
                   const int64_t[::1] starts, const int64_t[::1] prevs, int death,
                   int64_t[::1] birth, int64_t[::1] dt, uint64_t[::1] req,
                   uint8_t[::1] ptr, uint64_t[::1] ptrwords):
    """The slot objects of a replay (the rows of *initial*, then of *allocs*, tiny ones
    left out: ALLOC_DTYPE rows as bytes) into the output columns, one row each: birth
    (-1 for the snapshot), death time (-1: never), requested size (the slot less a malloc
    header), pointer flag and pointer words. Returns the number of rows written.

    *death* (0 free, 1 gc, 2 early, 3 spread) and the cycles (*starts* ascending; the
    earliest death after cycle i-1 is ``prevs[i-1]``: its start, or its end + 1) place
    each recorded free as `goruntime.trace.simulate` documents; the same arithmetic as its
    numpy form, row by row (the spread's fraction is that of the object's row number
    times the golden ratio, in doubles)."""
    cdef intp_t ni = initial.shape[0] // sizeof(alloc_rec)
    cdef intp_t na = allocs.shape[0] // sizeof(alloc_rec)
    cdef intp_t ns = starts.shape[0], n = birth.shape[0], k = 0, j
    cdef const alloc_rec* r
    cdef int64_t b
    if initial.shape[0] % sizeof(alloc_rec) or allocs.shape[0] % sizeof(alloc_rec):
        raise ValueError("object_columns: the inputs are not whole rows")
    if prevs.shape[0] != ns:
        raise ValueError("object_columns: starts and prevs differ in length")
    if death < DEATH_FREE or death > DEATH_SPREAD:
        raise ValueError("object_columns: unknown death model")
    if dt.shape[0] != n or req.shape[0] != n or ptr.shape[0] != n or ptrwords.shape[0] != n:
        raise ValueError("object_columns: output columns differ in length")
    with nogil:
        for j in range(ni + na):
            if j < ni:
                r = <const alloc_rec*>&initial[0] + j
            else:
                r = <const alloc_rec*>&allocs[0] + (j - ni)
            if r.tiny:
                continue
            if k >= n:
                break
            b = -1 if j < ni else r.time
            birth[k] = b
            dt[k] = place_death(r.free_time, b, k, &starts[0] if ns else NULL,
                                &prevs[0] if ns else NULL, ns, death)
            req[k] = requested_size(r)
            ptr[k] = r.pointerful
            ptrwords[k] = (r.ptrbytes + 7) // 8
            k += 1
    if k != n:
        raise ValueError("object_columns: the outputs need one row per slot object")
    return k


# ---------------------------------------------------------------------------------------
# The replay's deaths in (time, priority, object) order: an LSD radix sort

cdef enum:
    RADIX_BITS = 11
    RADIX = 1 << RADIX_BITS


def sorted_deaths(const int64_t[::1] birth, const int64_t[::1] death):
    """The objects with a death (``death[i] >= 0``) in replay order: ``(dkey, di)``,
    int64 arrays sorted by key ``(death + 1) * 4 + (3 if death == birth else 0)`` (a drop
    at its object's own birth time follows the allocation), equal keys by object index
    ``di``: the order ``np.argsort(dkey, kind="stable")`` gives, from three typed passes
    and an LSD radix sort (11-bit digits) of ``key << bits | index`` instead of numpy
    masks, gathers and a comparison sort. None when a key or the packed value does not
    fit in 63 bits (the caller sorts with numpy then)."""
    cdef intp_t n = death.shape[0], nd = 0, i, j
    cdef int nb = 1
    cdef int64_t d, key, kmax = 0
    cdef uint64_t v, vmax = 0
    cdef intp_t* hist
    cdef bint fits = True, swapped
    if birth.shape[0] != n:
        raise ValueError("sorted_deaths: birth and death differ in length")
    while ((<intp_t>1) << nb) < n:
        nb += 1
    with nogil:
        for i in range(n):
            d = death[i]
            if d >= 0:
                nd += 1
                if d >= (<int64_t>1 << 60):
                    fits = False
                elif d + 1 > kmax:
                    kmax = d + 1
    if not fits or nb >= 62 or (kmax * 4 + 3) >= ((<int64_t>1) << (63 - nb)):
        return None
    packed_a = np.empty(nd, dtype=np.int64)
    tmp_a = np.empty(nd, dtype=np.int64)
    cdef int64_t[::1] packed = packed_a, tmp = tmp_a
    hist = <intp_t*>calloc(6 * RADIX, sizeof(intp_t))
    if hist == NULL:
        raise MemoryError("sorted_deaths")
    with nogil:
        j = 0
        for i in range(n):
            d = death[i]
            if d >= 0:
                key = (d + 1) * 4 + (3 if d == birth[i] else 0)
                v = (<uint64_t>key << nb) | <uint64_t>i
                if v > vmax:
                    vmax = v
                packed[j] = <int64_t>v
                j += 1
        swapped = radix_split(<uint64_t*>&packed[0] if nd else NULL,
                              <uint64_t*>&tmp[0] if nd else NULL, nd, nb, vmax, hist)
    cfree(hist)
    if swapped:
        return tmp_a, packed_a
    return packed_a, tmp_a


cdef bint radix_split(uint64_t* src, uint64_t* dst, intp_t nd, int nb, uint64_t vmax,
                      intp_t* hist) noexcept nogil:
    """Sort the *nd* packed values ``key << nb | index`` in *src*, which come in index
    order, by key (LSD radix, 11-bit digits of the key; digits all values share are
    skipped; *dst* the same size as scratch, *hist* 6 * RADIX zeros): a stable sort by
    key of values in index order leaves equal keys in index order, so the index bits
    need no pass. Then split them: True when the keys ended in *dst* and the indices in
    *src*, False for the other way round."""
    cdef uint64_t* src0 = src
    cdef uint64_t* t
    cdef uint64_t v, mask
    cdef intp_t i, j, acc, c, p, npass
    cdef int bits = 0, shift
    while bits < 64 and (vmax >> bits) != 0:
        bits += 1
    npass = (bits - nb + RADIX_BITS - 1) // RADIX_BITS if bits > nb else 0
    for i in range(nd):
        v = src[i]
        for p in range(npass):
            hist[p * RADIX + ((v >> (nb + p * RADIX_BITS)) & (RADIX - 1))] += 1
    for p in range(npass):
        shift = <int>(nb + p * RADIX_BITS)
        if nd == 0 or hist[p * RADIX + ((src[0] >> shift) & (RADIX - 1))] == nd:
            continue                       # every value has this digit: nothing moves
        acc = 0
        for j in range(RADIX):
            c = hist[p * RADIX + j]
            hist[p * RADIX + j] = acc
            acc += c
        for i in range(nd):
            v = src[i]
            j = <intp_t>((v >> shift) & (RADIX - 1))
            dst[hist[p * RADIX + j]] = v
            hist[p * RADIX + j] += 1
        t = src
        src = dst
        dst = t
    # split: keys into one buffer, object indices into the other
    mask = ((<uint64_t>1) << nb) - 1
    for i in range(nd):
        v = src[i]
        dst[i] = v & mask
        src[i] = v >> nb
    return nd > 0 and src != src0


def trace_deaths(const uint8_t[::1] initial, const uint8_t[::1] allocs,
                 const int64_t[::1] starts, const int64_t[::1] prevs, int death, intp_t n,
                 work=None):
    """`sorted_deaths` of the `object_columns` of a trace, straight from its rows: the
    deaths are placed and packed in one pass (no object column is built), then sorted.
    *n* is the number of slot objects. ``(dkey, di)``, or None as `sorted_deaths`, and
    None when *allocs* are not in time order (not from our reader: the same pass checks
    it, where a numpy check of the strided time column cost as much again).

    *work*, if given, is two writable int64 arrays of at least *n* entries each, used
    as the sort's memory instead of fresh arrays (a replay's pages kept for the next:
    every entry read is written first, so what they held does not matter); ``dkey`` and
    ``di`` are then views of them."""
    cdef intp_t ni = initial.shape[0] // sizeof(alloc_rec)
    cdef intp_t na = allocs.shape[0] // sizeof(alloc_rec)
    cdef intp_t ns = starts.shape[0], nd = 0, k = 0, j
    cdef const alloc_rec* r
    cdef int64_t b, d, key, kmax = 0
    cdef uint64_t v, vmax = 0
    cdef int nb = 1
    cdef bint fits = True, swapped, ordered = True
    cdef intp_t* hist
    if initial.shape[0] % sizeof(alloc_rec) or allocs.shape[0] % sizeof(alloc_rec):
        raise ValueError("trace_deaths: the inputs are not whole rows")
    if prevs.shape[0] != ns:
        raise ValueError("trace_deaths: starts and prevs differ in length")
    if death < DEATH_FREE or death > DEATH_SPREAD:
        raise ValueError("trace_deaths: unknown death model")
    while ((<intp_t>1) << nb) < n:
        nb += 1
    if nb >= 62:
        return None
    # at most n deaths, in small pages (reader._rows: a fresh huge page costs this
    # machine's kernel far more than its 512 small ones)
    if work is not None:
        packed_a, tmp_a = work
        if (not isinstance(packed_a, np.ndarray) or not isinstance(tmp_a, np.ndarray)
                or packed_a.dtype != np.int64 or tmp_a.dtype != np.int64
                or packed_a.ndim != 1 or tmp_a.ndim != 1
                or packed_a.shape[0] < n or tmp_a.shape[0] < n):
            raise ValueError("trace_deaths: work must be two int64 arrays of n entries or more")
        packed_a = packed_a[:n]
        tmp_a = tmp_a[:n]
    else:
        from goruntime.trace.reader import _rows
        packed_a = _rows(n, np.int64)
        tmp_a = _rows(n, np.int64)
    cdef int64_t[::1] packed = packed_a, tmp = tmp_a
    with nogil:
        for j in range(ni + na):
            r = (<const alloc_rec*>&initial[0] + j) if j < ni else \
                (<const alloc_rec*>&allocs[0] + (j - ni))
            if j > ni and r.time < (r - 1).time:     # the allocations' time order, tiny too
                ordered = False
                break
            if r.tiny:
                continue
            if k >= n:
                break
            b = -1 if j < ni else r.time
            d = place_death(r.free_time, b, k, &starts[0] if ns else NULL,
                            &prevs[0] if ns else NULL, ns, death)
            if d >= 0:
                if d >= (<int64_t>1 << 60):
                    fits = False
                    break
                if d + 1 > kmax:
                    kmax = d + 1
                key = (d + 1) * 4 + (3 if d == b else 0)
                v = (<uint64_t>key << nb) | <uint64_t>k
                if v > vmax:
                    vmax = v
                packed[nd] = <int64_t>v
                nd += 1
            k += 1
    if not ordered or not fits or (kmax * 4 + 3) >= ((<int64_t>1) << (63 - nb)):
        return None
    if k != n:
        raise ValueError("trace_deaths: n is not the number of slot objects")
    hist = <intp_t*>calloc(6 * RADIX, sizeof(intp_t))
    if hist == NULL:
        raise MemoryError("trace_deaths")
    with nogil:
        swapped = radix_split(<uint64_t*>&packed[0] if nd else NULL,
                              <uint64_t*>&tmp[0] if nd else NULL, nd, nb, vmax, hist)
    cfree(hist)
    if swapped:
        return tmp_a[:nd], packed_a[:nd]
    return packed_a[:nd], tmp_a[:nd]


def slot_object_chunk(const uint8_t[::1] initial, const uint8_t[::1] allocs, intp_t row0,
                      int64_t[::1] birth, uint64_t[::1] req, uint8_t[::1] ptr,
                      uint64_t[::1] ptrwords):
    """The next `object_columns` rows a replay allocates (birth, requested size, pointer
    flag and words; no death), from the trace's row *row0* (rows of *initial*, then of
    *allocs*) until the outputs are full or the rows end: ``(next_row, objects)``. A
    replay fills a small chunk again and again instead of a column per object."""
    cdef intp_t ni = initial.shape[0] // sizeof(alloc_rec)
    cdef intp_t na = allocs.shape[0] // sizeof(alloc_rec)
    cdef intp_t n = birth.shape[0], k = 0, j = row0
    cdef const alloc_rec* r
    if initial.shape[0] % sizeof(alloc_rec) or allocs.shape[0] % sizeof(alloc_rec):
        raise ValueError("slot_object_chunk: the inputs are not whole rows")
    if req.shape[0] != n or ptr.shape[0] != n or ptrwords.shape[0] != n:
        raise ValueError("slot_object_chunk: output columns differ in length")
    if row0 < 0 or row0 > ni + na:
        raise ValueError("slot_object_chunk: row0 out of range")
    with nogil:
        while j < ni + na and k < n:
            r = (<const alloc_rec*>&initial[0] + j) if j < ni else \
                (<const alloc_rec*>&allocs[0] + (j - ni))
            j += 1
            if r.tiny:
                continue
            birth[k] = -1 if j <= ni else r.time
            req[k] = requested_size(r)
            ptr[k] = r.pointerful
            ptrwords[k] = (r.ptrbytes + 7) // 8
            k += 1
    return j, k
