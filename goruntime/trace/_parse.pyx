# cython: embedsignature=True
"""The hot loops of the execution-trace parser: batch framing, event decoding, heap resolve.

Everything here reads a ``uint8`` buffer (the whole trace file) with explicit bounds checks
and reports malformed input as an error code plus the byte offset where it was found, so
`goruntime.trace.reader` can raise ``ValueError("... at byte offset N")``; nothing here
can read outside the buffer, whatever the bytes are. Varints are Go's unsigned LEB128
(``encoding/binary.Uvarint``: at most 10 bytes, the 10th at most 1).

Mapping to Go (src/internal/trace): `scan_batches` ~ readBatch (batch.go) over the whole
file; `decode_events` ~ batchCursor.nextEvent / readTimedBaseEvent (batchcursor.go),
timestamps converted with the generation's frequency exactly as ``frequency.mul`` does;
`resolve_heap` replays the AllocFree experiment's span and object events against a page
table to recover each object's span class and slot (Go writes only address and type).
"""
import numpy as np

from goruntime._types cimport int64_t, uint8_t, uint32_t, uint64_t, intp_t

cdef extern from *:
    """
    #include <stdint.h>
    typedef int8_t gr_int8_t;
    typedef int32_t gr_int32_t;
    """
    ctypedef signed char gr_int8_t
    ctypedef int gr_int32_t

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


cdef int decode_pass(const uint8_t* p, const int64_t* doff, const int64_t* dlen,
                     const uint64_t* btime, const gr_int32_t* bgen, const double* freq,
                     intp_t nb, const gr_int8_t* nargs, const uint8_t* keep,
                     int64_t* hist, bint fill, int64_t* o_time, uint8_t* o_type,
                     uint64_t* o_a, uint64_t* o_b, uint64_t* o_c, gr_int32_t* o_gen,
                     intp_t* o_n, intp_t* err_off) noexcept nogil:
    """Walk every event batch; count (and with *fill*, write) the kept events."""
    cdef intp_t i, pos, end, q, k = 0, ev
    cdef int typ, na, j
    cdef uint64_t v
    cdef uint64_t args[6]
    cdef int64_t last
    cdef double f
    for i in range(nb):
        pos = doff[i]
        end = pos + dlen[i]
        f = freq[i]
        last = <int64_t>(<double>btime[i] * f)
        while pos < end:
            ev = pos
            typ = p[pos]
            na = nargs[typ]
            if na <= 0:
                err_off[0] = ev
                return E_EVENT_TYPE
            pos += 1
            for j in range(na):
                q = uvarint(p, pos, end, &v)
                if q < 0:
                    err_off[0] = ev
                    return E_EVENT_TRUNC
                if j < 6:
                    args[j] = v
                pos = q
            last = <int64_t>(<double>args[0] * f) + last
            if not fill:
                hist[typ] += 1
            if keep[typ]:
                if fill:
                    o_time[k] = last
                    o_type[k] = <uint8_t>typ
                    o_a[k] = args[1] if na > 1 else 0
                    o_b[k] = args[2] if na > 2 else 0
                    o_c[k] = args[3] if na > 3 else 0
                    o_gen[k] = bgen[i]
                k += 1
    o_n[0] = k
    return E_OK


def decode_events(const uint8_t[::1] buf, const int64_t[::1] doff, const int64_t[::1] dlen,
                  const uint64_t[::1] btime, const gr_int32_t[::1] bgen,
                  const double[::1] freq, const gr_int8_t[::1] nargs,
                  const uint8_t[::1] keep):
    """Decode the event batches (rows of the arrays) into columns of the kept event types.

    *freq* is each batch's ns per clock tick; *nargs[t]* the number of varints of timed
    event type t (-1: not allowed in an event batch); *keep[t]* whether to output it.
    Returns ``(code, err_offset, hist, cols)``: *hist* counts every event type, *cols* is
    ``(time, type, a, b, c, gen)`` (a, b, c: the arguments after the timestamp delta).
    """
    cdef intp_t nb = doff.shape[0], n = 0, err = 0
    cdef int code
    if dlen.shape[0] != nb or btime.shape[0] != nb or bgen.shape[0] != nb or freq.shape[0] != nb:
        raise ValueError("decode_events: column lengths differ")
    if nargs.shape[0] != 256 or keep.shape[0] != 256:
        raise ValueError("decode_events: nargs and keep need 256 entries")
    cdef intp_t i
    for i in range(nb):
        if doff[i] < 0 or dlen[i] < 0 or doff[i] + dlen[i] > buf.shape[0]:
            raise ValueError("decode_events: batch outside the buffer")
    hist_a = np.zeros(256, dtype=np.int64)
    cdef int64_t[::1] hist = hist_a
    cdef const uint8_t* p = &buf[0] if buf.shape[0] else NULL
    if nb == 0:
        code = E_OK
    else:
        with nogil:
            code = decode_pass(p, &doff[0], &dlen[0], &btime[0], &bgen[0], &freq[0], nb,
                               &nargs[0], &keep[0], &hist[0], False,
                               NULL, NULL, NULL, NULL, NULL, NULL, &n, &err)
    if code != E_OK:
        return (code, err, hist_a, None)
    t_a = np.empty(n, dtype=np.int64)
    ty_a = np.empty(n, dtype=np.uint8)
    a_a = np.empty(n, dtype=np.uint64)
    b_a = np.empty(n, dtype=np.uint64)
    c_a = np.empty(n, dtype=np.uint64)
    g_a = np.empty(n, dtype=np.int32)
    cdef int64_t[::1] t = t_a
    cdef uint8_t[::1] ty = ty_a
    cdef uint64_t[::1] a = a_a, b = b_a, c = c_a
    cdef gr_int32_t[::1] g = g_a
    if n:
        with nogil:
            decode_pass(p, &doff[0], &dlen[0], &btime[0], &bgen[0], &freq[0], nb,
                        &nargs[0], &keep[0], NULL, True,
                        &t[0], &ty[0], &a[0], &b[0], &c[0], &g[0], &n, &err)
    return (E_OK, 0, hist_a, (t_a, ty_a, a_a, b_a, c_a, g_a))


# object flags (resolve_heap's output)
cdef enum:
    F_EXISTS = 1          # HeapObject (in the snapshot at the start of the trace)
    F_TINY = 2            # a tiny sub-allocation inside an existing 16-byte block
    F_NOSPAN = 4          # no in-use heap span covers the address
    F_MISALIGNED = 8      # not at a slot boundary of its span (and not tiny)
    F_HEADER = 16         # 8 bytes into its slot: a scan object with a malloc header

OBJ_EXISTS = F_EXISTS
OBJ_TINY = F_TINY
OBJ_NOSPAN = F_NOSPAN
OBJ_MISALIGNED = F_MISALIGNED
OBJ_HEADER = F_HEADER


def resolve_heap(const uint8_t[::1] kind, const uint64_t[::1] a, const uint64_t[::1] b,
                 const uint64_t[::1] c, const uint32_t[::1] class_size,
                 int64_t npages_total, uint64_t page_size, uint64_t align,
                 uint64_t[::1] o_size, uint8_t[::1] o_spc, uint8_t[::1] o_flags):
    """Walk the AllocFree span/object events in time order with a page table.

    Span events (kind 128/129: id = page index, b = npages, c = (spanclass << 1) or 1 for
    a non-heap span) map their pages to the span; object events (131/132: a = id, the
    address offset / *align*) get their slot size (class size, or the whole span for a
    large object), span class and flags. Span frees (130) are not unmapped: objects only
    ever come from a live span, and a stale mapping is overwritten by the next span.
    Returns the number of span events whose pages fall outside *npages_total*.
    """
    cdef intp_t n = kind.shape[0], i, pg, s, j
    cdef int64_t bad = 0
    cdef uint64_t off, elem, np_, spc, r
    if a.shape[0] != n or b.shape[0] != n or c.shape[0] != n or o_size.shape[0] != n \
            or o_spc.shape[0] != n or o_flags.shape[0] != n:
        raise ValueError("resolve_heap: column lengths differ")
    if npages_total < 0 or page_size == 0 or align == 0 or class_size.shape[0] < 68:
        raise ValueError("resolve_heap: bad geometry")
    if npages_total >= (1 << 31):
        raise ValueError("resolve_heap: page range too large")
    start_a = np.full(max(npages_total, 1), -1, dtype=np.int32)
    snp_a = np.zeros(max(npages_total, 1), dtype=np.uint64)
    sspc_a = np.zeros(max(npages_total, 1), dtype=np.uint16)   # spanclass*2, or 1 = not heap
    cdef gr_int32_t[::1] start = start_a
    cdef uint64_t[::1] snp = snp_a
    cdef unsigned short[::1] sspc = sspc_a
    with nogil:
        for i in range(n):
            o_flags[i] = 0
            o_size[i] = 0
            o_spc[i] = 0
            if kind[i] == K_SPAN or kind[i] == K_SPAN_ALLOC:
                if a[i] >= <uint64_t>npages_total or b[i] == 0 \
                        or b[i] > <uint64_t>npages_total - a[i]:
                    bad += 1
                    continue
                s = <intp_t>a[i]
                for j in range(s, s + <intp_t>b[i]):
                    start[j] = <gr_int32_t>s
                snp[s] = b[i]
                sspc[s] = <unsigned short>(c[i] if c[i] < 512 else 1)   # > 255 classes: not heap
            elif kind[i] == K_OBJECT or kind[i] == K_OBJECT_ALLOC:
                if kind[i] == K_OBJECT:
                    o_flags[i] = F_EXISTS
                if a[i] > (<uint64_t>npages_total * page_size) // align:
                    o_flags[i] |= F_NOSPAN
                    continue
                off = a[i] * align
                pg = <intp_t>(off // page_size)
                if pg >= npages_total or start[pg] < 0 or (sspc[start[pg]] & 1):
                    o_flags[i] |= F_NOSPAN
                    continue
                s = start[pg]
                spc = sspc[s] >> 1
                np_ = snp[s]
                off -= <uint64_t>s * page_size
                o_spc[i] = <uint8_t>(spc & 0xff)
                if (spc >> 1) == 0 or (spc >> 1) >= <uint64_t>class_size.shape[0]:
                    o_size[i] = np_ * page_size
                    if off != 0:
                        o_flags[i] |= F_MISALIGNED
                else:
                    elem = class_size[spc >> 1]
                    o_size[i] = elem
                    r = off % elem
                    if r != 0:
                        if spc == 5:          # tinySpanClass: class 2, noscan
                            o_flags[i] |= F_TINY
                        elif (spc & 1) == 0 and elem > 512 and r == 8:
                            o_flags[i] |= F_HEADER    # after its 8-byte malloc header
                        else:
                            o_flags[i] |= F_MISALIGNED
    return bad


# ---------------------------------------------------------------------------------------
# Matching frees to allocations: an open-addressing hash table of live slots

from libc.stdlib cimport malloc, calloc, free as cfree


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


def match_frees(const uint8_t[::1] kind, const uint64_t[::1] key, const int64_t[::1] time,
                const uint8_t[::1] spc, uint8_t[::1] flags, int64_t[::1] o_free_time,
                int64_t[::1] o_target):
    """Pair each HeapObjectFree with the object it frees, in time order.

    *key* is each event's slot (address id; for an object with a malloc header, its
    slot's). An allocation in the tiny span class at a slot that is still live is the
    tiny allocator reporting offset 0 of its block again: it is flagged tiny. Any other
    allocation at a live slot ends the previous object there (its free event came late or
    never). ``o_free_time[i]`` gets object event i's free time (-1: never), ``o_target[i]``
    free event i's object event (-1: none). Returns ``(unmatched_frees, realloc)``.
    """
    cdef intp_t n = kind.shape[0], i, h
    cdef int64_t j, unmatched = 0, realloc = 0
    cdef slotmap_t m
    cdef int err = 0
    if key.shape[0] != n or time.shape[0] != n or spc.shape[0] != n or flags.shape[0] != n \
            or o_free_time.shape[0] != n or o_target.shape[0] != n:
        raise ValueError("match_frees: column lengths differ")
    if sm_init(&m, 16) < 0:
        raise MemoryError("match_frees: slot table")
    with nogil:
        for i in range(n):
            o_free_time[i] = -1
            o_target[i] = -1
            if kind[i] == K_OBJECT or kind[i] == K_OBJECT_ALLOC:
                if flags[i] & (F_NOSPAN | F_MISALIGNED | F_TINY):
                    continue
                h = sm_find(&m, key[i])
                if h >= 0:
                    if spc[i] == 5:
                        flags[i] |= F_TINY
                        continue
                    realloc += 1
                    o_free_time[m.vals[h]] = time[i]
                    m.vals[h] = i
                elif sm_put(&m, key[i], i) < 0:
                    err = 1
                    break
            elif kind[i] == K_OBJECT_FREE:
                h = sm_find(&m, key[i])
                if h < 0:
                    unmatched += 1
                    continue
                j = m.vals[h]
                o_free_time[j] = time[i]
                o_target[i] = j
                sm_del(&m, h)
    sm_free(&m)
    if err:
        raise MemoryError("match_frees: slot table")
    return (unmatched, realloc)
