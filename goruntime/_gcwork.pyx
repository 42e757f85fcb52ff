# cython: embedsignature=True
"""Parallel stop-the-world mark: mark workers as ``nogil`` threads (Go: gcWork, mgcwork.go).

``_mark.mark`` drains the grey objects on one thread. At GOMAXPROCS > 1 Go runs one mark
worker per P, each with its own grey buffers, and balances them through the global lists
of full and empty work buffers. `mark` here does the same for a stop-the-world mark:

- the roots (handle table, extra roots, tiny blocks) are greyed on the calling thread, as
  by the serial mark, and their objects are cut into work buffers (Go: ``workbuf``,
  ``WBUF_CAP`` objects) on the global *full* list (Go: ``work.full``);
- *nworkers* workers (the caller's thread and nworkers - 1 POSIX threads, all without the
  GIL) each drain a private grey stack (Go: ``gcWork``): pop, scan the pointer words from
  the heap bits, shade what they point to. Shading is an atomic fetch-or on the mark-bit
  word, so exactly one worker marks -- counts and greys -- each object;
- balancing (Go: ``gcWork.balance`` / ``getfull``): a worker whose stack holds more than
  two buffers while another waits for work hands a buffer to the full list; a worker that
  runs dry takes a buffer from it, else waits (Go: ``work.nwait``); the mark ends when
  every worker waits and the list is empty;
- finalizer objects (*scan_only*) are then pushed unmarked and drained the same way, as the
  serial mark does after its first drain.

Each object is marked, counted and scanned once, so the marked set, ``bytes_marked``,
``nmarked`` and ``scan_bytes`` equal the serial mark's (tests/test_gcwork.py checks every
shape and ``checkmark`` passes after it). Only the order differs. A bad pointer stops every
worker and is reported as by the serial mark, with the mark bits cleared; when a heap has
several, which one is reported may differ from the serial mark (the first one a worker
found). The scan-work rule (``scan_size``, in _heap.pxd) is the serial mark's: the
equivalence tests compare the two.

Each worker has a small prefetch ring, as the serial mark's pipelined drain: a pointer
into another page is queued until its span record, mark-bit and alloc-bit words, first
line and heap-bits word have been prefetched; a pointer into the scanned object's page is
shaded at once.
Simplified: Go's empty-buffer list is the allocator's (buffers are malloc'd and
freed); waiting workers spin with ``sched_yield`` instead of parking.
"""
import numpy as np

from libc.string cimport memcpy, memset
from libc.stdlib cimport malloc, free
from cpython.mem cimport PyMem_RawMalloc, PyMem_RawRealloc, PyMem_RawFree
from cpython.pythread cimport (
    PyThread_type_lock, PyThread_allocate_lock, PyThread_free_lock, PyThread_acquire_lock,
    PyThread_release_lock, WAIT_LOCK,
)

from goruntime._types cimport uint32_t, uint64_t, intp_t
from goruntime._heap cimport (
    Heap, mheap_t, mspan_t, span_of, obj_index, addr_ptr, span_noscan,
    BITMAP_WORDS, PAGE_SHIFT, MAX_PROCS, GR_PREFETCH, GR_CTZ64, scan_size,
)
from goruntime.errors import FatalError

cdef extern from *:
    """
    #include <pthread.h>
    #include <sched.h>
    #define GR_ATOMIC_OR(p, v) __atomic_fetch_or((p), (v), __ATOMIC_RELAXED)
    #define GR_LOAD(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
    #define GR_STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
    typedef void* (*gr_thread_fn)(void*);
    static int gr_thread_start(pthread_t* t, gr_thread_fn fn, void* arg) {
        return pthread_create(t, NULL, fn, arg);
    }
    """
    ctypedef unsigned long pthread_t
    ctypedef void* (*gr_thread_fn)(void*) noexcept nogil
    int gr_thread_start(pthread_t* t, gr_thread_fn fn, void* arg) nogil
    int pthread_join(pthread_t t, void** ret) nogil
    int sched_yield() nogil
    uint64_t GR_ATOMIC_OR(uint64_t* p, uint64_t v) nogil
    intp_t GR_LOAD(intp_t* p) nogil
    void GR_STORE(intp_t* p, intp_t v) nogil

cdef enum:
    ERR_NONE = 0
    ERR_BAD_POINTER = 1
    ERR_NOMEM = 2
    WBUF_CAP = 256              # objects per work buffer (Go: workbuf, 2 KiB of pointers)
    MAX_WORKERS = 64
    RING = 16                   # found pointers in flight per worker (a power of two)


cdef struct wbuf_t:             # Go: workbuf
    wbuf_t* next
    intp_t n
    uint64_t obj[WBUF_CAP]


cdef struct shared_t:           # Go: the work struct's full list and nwait
    mheap_t* h
    uint64_t* bits              # gcmark_bits
    PyThread_type_lock lock
    wbuf_t* full                # Go: work.full (a LIFO of full buffers)
    intp_t nfull                # buffers on it (read without the lock as a hint)
    intp_t nworkers
    intp_t nwait                # workers waiting for work (Go: work.nwait)
    intp_t done                 # every worker waits and the list is empty
    intp_t abort                # a worker found a bad pointer or ran out of memory


cdef struct worker_t:           # Go: gcWork
    shared_t* sh
    uint64_t* stack             # private grey objects (slot addresses), LIFO
    intp_t n
    intp_t cap
    uint64_t bytes_marked
    uint64_t nmarked
    uint64_t scan_bytes
    int err
    uint64_t bad_ptr
    uint64_t bad_src
    pthread_t tid
    bint started
    uint64_t ring_p[RING]       # found pointers waiting for their prefetches (FIFO)
    uint64_t ring_src[RING]
    uint32_t rhead
    uint32_t rtail


cdef int fail(worker_t* w, int err, uint64_t p, uint64_t src) noexcept nogil:
    if not w.err:
        w.err = err
        w.bad_ptr = p
        w.bad_src = src
    GR_STORE(&w.sh.abort, 1)
    return -1


cdef int push(worker_t* w, uint64_t obj) noexcept nogil:
    cdef intp_t ncap
    cdef uint64_t* s
    if w.n == w.cap:
        ncap = w.cap * 2 if w.cap else 4096
        s = <uint64_t*>PyMem_RawRealloc(w.stack, ncap * sizeof(uint64_t))
        if s == NULL:
            return fail(w, ERR_NOMEM, 0, 0)
        w.stack = s
        w.cap = ncap
    w.stack[w.n] = obj
    w.n += 1
    return 0


cdef int put_full(shared_t* sh, const uint64_t* objs, intp_t n) noexcept nogil:
    """Copy *n* grey objects into a new buffer on the full list (Go: putfull)."""
    cdef wbuf_t* b = <wbuf_t*>malloc(sizeof(wbuf_t))
    if b == NULL:
        return -1
    memcpy(b.obj, objs, n * sizeof(uint64_t))
    b.n = n
    PyThread_acquire_lock(sh.lock, WAIT_LOCK)
    b.next = sh.full
    sh.full = b
    GR_STORE(&sh.nfull, sh.nfull + 1)
    PyThread_release_lock(sh.lock)
    return 0


cdef bint get_full(worker_t* w) noexcept nogil:
    """Refill the empty private stack from the full list, waiting while another worker may
    still produce work (Go: getfull). False when the mark is over (or aborted)."""
    cdef shared_t* sh = w.sh
    cdef wbuf_t* b
    cdef bint waiting = False
    PyThread_acquire_lock(sh.lock, WAIT_LOCK)
    while True:
        if sh.full != NULL and not sh.abort:
            b = sh.full
            sh.full = b.next
            GR_STORE(&sh.nfull, sh.nfull - 1)
            if waiting:
                sh.nwait -= 1
            PyThread_release_lock(sh.lock)
            if push_many(w, b.obj, b.n) < 0:
                free(b)
                return False
            free(b)
            return True
        if sh.done or sh.abort:
            PyThread_release_lock(sh.lock)
            return False
        if not waiting:
            waiting = True
            sh.nwait += 1
            if sh.nwait == sh.nworkers:         # nobody can produce work any more
                GR_STORE(&sh.done, 1)
                PyThread_release_lock(sh.lock)
                return False
        PyThread_release_lock(sh.lock)
        while not GR_LOAD(&sh.nfull) and not GR_LOAD(&sh.done) and not GR_LOAD(&sh.abort):
            sched_yield()
        PyThread_acquire_lock(sh.lock, WAIT_LOCK)


cdef int push_many(worker_t* w, const uint64_t* objs, intp_t n) noexcept nogil:
    cdef intp_t i
    for i in range(n):
        if push(w, objs[i]) < 0:
            return -1
    return 0


cdef inline void not_in_span(worker_t* w, uint64_t p, uint64_t src) noexcept nogil:
    """*p* is in no in-use span: ignored outside the heap, Go's badPointer inside it."""
    cdef mheap_t* h = w.sh.h
    if p >= h.arena_start and p - h.arena_start < (<uint64_t>h.max_pages << PAGE_SHIFT):
        fail(w, ERR_BAD_POINTER, p, src)


cdef inline void shade(worker_t* w, uint64_t p, uint64_t src) noexcept nogil:
    """Mark the object containing *p* (atomically: one worker wins); grey it if it has
    pointers (Go: greyobject)."""
    cdef mheap_t* h = w.sh.h
    cdef intp_t si = span_of(h, p)
    cdef mspan_t* s
    cdef uint32_t idx
    cdef uint64_t bit, old
    cdef intp_t k
    if si < 0:
        not_in_span(w, p, src)
        return
    s = &h.spans[si]
    if p - s.base >= <uint64_t>s.nelems * s.elemsize:   # the span's unused tail
        fail(w, ERR_BAD_POINTER, p, src)
        return
    idx = obj_index(s, p)
    k = si * BITMAP_WORDS + (idx >> 6)
    bit = (<uint64_t>1) << (idx & 63)
    if w.sh.bits[k] & bit:
        return
    if not (h.alloc_bits[k] & bit):             # a free slot
        fail(w, ERR_BAD_POINTER, p, src)
        return
    old = GR_ATOMIC_OR(&w.sh.bits[k], bit)
    if old & bit:                               # another worker marked it first
        return
    w.bytes_marked += s.elemsize
    w.nmarked += 1
    if span_noscan(s):
        return                                  # black at once: nothing to scan
    p = s.base + <uint64_t>idx * s.elemsize
    GR_PREFETCH(addr_ptr(h, p))
    push(w, p)


cdef void scan_object(worker_t* w, uint64_t b) noexcept nogil:
    """Shade every object that slot *b*'s pointer words point to (Go: scanobject)."""
    cdef mheap_t* h = w.sh.h
    cdef uint64_t n = h.spans[span_of(h, b)].elemsize
    cdef intp_t i = <intp_t>((b - h.arena_start) >> 3)
    cdef intp_t end = i + <intp_t>(n >> 3)
    cdef uint64_t word, obj
    w.scan_bytes += scan_size(h, b, n)
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
            found(w, obj, h.arena_start + ((<uint64_t>i) << 3))
            if w.err:
                return
        i += 1


cdef inline void found(worker_t* w, uint64_t p, uint64_t src) noexcept nogil:
    """A pointer found by scanning: shade it now if it is in *src*'s page (its bitmap
    words are in cache), else prefetch what shading it will load and queue it in the
    ring, shading the oldest queued pointer when the ring is full (as the serial mark's
    pipelined drain)."""
    cdef mheap_t* h = w.sh.h
    cdef intp_t si
    cdef uint64_t off
    if ((p ^ src) >> PAGE_SHIFT) == 0:
        shade(w, p, src)
        return
    off = p - h.arena_start
    if p >= h.arena_start and off < (<uint64_t>h.mapped_pages) << PAGE_SHIFT:
        si = h.page_to_span[off >> PAGE_SHIFT]
        if si >= 0:
            GR_PREFETCH(&h.spans[si])
            GR_PREFETCH(&w.sh.bits[si * BITMAP_WORDS])
            GR_PREFETCH(&h.alloc_bits[si * BITMAP_WORDS])
            GR_PREFETCH(h.arena + off)
            GR_PREFETCH(&h.heap_bits[off >> 9])
    if w.rtail - w.rhead == RING:
        shade(w, w.ring_p[w.rhead & (RING - 1)], w.ring_src[w.rhead & (RING - 1)])
        w.rhead += 1
    w.ring_p[w.rtail & (RING - 1)] = p
    w.ring_src[w.rtail & (RING - 1)] = src
    w.rtail += 1


cdef void flush_ring(worker_t* w) noexcept nogil:
    """Shade every queued pointer (the private stack ran dry)."""
    while w.rhead != w.rtail and not w.err:
        shade(w, w.ring_p[w.rhead & (RING - 1)], w.ring_src[w.rhead & (RING - 1)])
        w.rhead += 1


cdef void drain(worker_t* w) noexcept nogil:
    """Go: gcDrain for one worker: pop and scan until the private stack and the full list
    are empty everywhere; hand a buffer out while another worker waits (Go: balance)."""
    cdef shared_t* sh = w.sh
    cdef uint64_t b
    while True:
        while w.n > 0:
            if GR_LOAD(&sh.abort):
                return
            if w.n > 2 * WBUF_CAP and GR_LOAD(&sh.nwait) > 0 and not GR_LOAD(&sh.nfull):
                w.n -= WBUF_CAP
                if put_full(sh, &w.stack[w.n], WBUF_CAP) < 0:
                    w.n += WBUF_CAP
                    fail(w, ERR_NOMEM, 0, 0)
                    return
            w.n -= 1
            b = w.stack[w.n]
            scan_object(w, b)
            if w.err:
                return
            if w.n == 0:
                flush_ring(w)
                if w.err:
                    return
        if not get_full(w):
            return


cdef void* worker_main(void* arg) noexcept nogil:
    drain(<worker_t*>arg)
    return NULL


cdef void run_workers(shared_t* sh, worker_t* ws, intp_t nw) noexcept nogil:
    """Reset the termination state, start workers 1..nw-1 as threads, run worker 0 here,
    join. A thread that cannot start leaves its share to the others."""
    cdef intp_t i
    sh.nwait = 0
    sh.done = 0
    sh.nworkers = nw
    for i in range(1, nw):
        ws[i].started = gr_thread_start(&ws[i].tid, worker_main, &ws[i]) == 0
        if not ws[i].started:
            PyThread_acquire_lock(sh.lock, WAIT_LOCK)
            sh.nworkers -= 1
            PyThread_release_lock(sh.lock)
    drain(&ws[0])
    for i in range(1, nw):
        if ws[i].started:
            pthread_join(ws[i].tid, NULL)
            ws[i].started = False


cdef int publish(shared_t* sh, worker_t* w) noexcept nogil:
    """Move worker *w*'s private stack onto the full list, a buffer at a time."""
    cdef intp_t k
    while w.n > 0:
        k = w.n if w.n < WBUF_CAP else WBUF_CAP
        w.n -= k
        if put_full(sh, &w.stack[w.n], k) < 0:
            return fail(w, ERR_NOMEM, 0, 0)
    return 0


def _as_addrs(a):
    if a is None:
        return np.zeros(0, dtype=np.uint64)
    return np.ascontiguousarray(a, dtype=np.uint64)


def mark(Heap heap, roots=None, scan_only=None, *, int nworkers=2):
    """Mark everything reachable from the roots with *nworkers* threads; returns
    ``(bytes_marked, nmarked, scan_bytes)``, the serial ``_mark.mark``'s result.

    Same contract as ``_mark.mark``: the mark bits must be clear; on a bad pointer they
    are cleared again and Go's fatal error is raised. The caller holds the world lock.
    """
    if nworkers < 1 or nworkers > MAX_WORKERS:
        raise ValueError(f"nworkers must be 1..{MAX_WORKERS}, not {nworkers}")
    cdef const uint64_t[::1] r = _as_addrs(roots)
    cdef const uint64_t[::1] so = _as_addrs(scan_only)
    cdef const uint64_t* rp = &r[0] if r.shape[0] else NULL
    cdef const uint64_t* sp = &so[0] if so.shape[0] else NULL
    cdef intp_t nr = r.shape[0], ns = so.shape[0]
    cdef mheap_t* h = &heap.h
    cdef shared_t sh
    cdef worker_t* ws
    cdef worker_t* w0
    cdef intp_t i, si
    cdef uint64_t a, bm = 0, nm = 0, sb = 0
    cdef mspan_t* s
    cdef wbuf_t* b
    cdef int err = ERR_NONE
    cdef uint64_t bad_ptr = 0, bad_src = 0
    memset(&sh, 0, sizeof(sh))
    sh.h = h
    sh.bits = h.gcmark_bits
    sh.lock = PyThread_allocate_lock()
    if sh.lock == NULL:
        raise MemoryError("runtime: out of memory: mark worker lock")
    ws = <worker_t*>PyMem_RawMalloc(nworkers * sizeof(worker_t))
    if ws == NULL:
        PyThread_free_lock(sh.lock)
        raise MemoryError("runtime: out of memory: mark workers")
    memset(ws, 0, nworkers * sizeof(worker_t))
    for i in range(nworkers):
        ws[i].sh = &sh
    w0 = &ws[0]
    with nogil:
        # Roots, greyed on this thread as by the serial mark (mark_roots), then shared out.
        for i in range(h.roots_len):
            if h.roots[i] != 0 and not w0.err:
                shade(w0, h.roots[i], 0)
        for i in range(nr):
            if rp[i] != 0 and not w0.err:
                shade(w0, rp[i], 0)
        for i in range(MAX_PROCS):
            if h.mcaches[i].tiny != 0 and not w0.err:
                shade(w0, h.mcaches[i].tiny, 0)
        if not w0.err:
            publish(&sh, w0)
        if not w0.err:
            run_workers(&sh, ws, nworkers)
        # Objects with finalizers: scan (never mark here) what they point to.
        if not sh.abort:
            for i in range(ns):
                a = sp[i]
                si = span_of(h, a)
                if si < 0:
                    continue
                s = &h.spans[si]
                if span_noscan(s):
                    continue
                if push(w0, s.base + <uint64_t>obj_index(s, a) * s.elemsize) < 0:
                    break
            if not sh.abort and w0.n:
                publish(&sh, w0)
                if not sh.abort:
                    run_workers(&sh, ws, nworkers)
        for i in range(nworkers):
            bm += ws[i].bytes_marked
            nm += ws[i].nmarked
            sb += ws[i].scan_bytes
            if ws[i].err and not err:
                err = ws[i].err
                bad_ptr = ws[i].bad_ptr
                bad_src = ws[i].bad_src
            PyMem_RawFree(ws[i].stack)
        while sh.full != NULL:
            b = sh.full
            sh.full = b.next
            free(b)
    PyMem_RawFree(ws)
    PyThread_free_lock(sh.lock)
    if err:
        _clear_marks(heap)
        if err == ERR_NOMEM:
            raise MemoryError("runtime: out of memory: grey object work list")
        exc = FatalError("found bad pointer in Go heap (incorrect use of unsafe or cgo?)")
        exc.pointer = bad_ptr
        exc.found_in = bad_src
        where = ("found in object at *(%#x)" % bad_src) if bad_src else "found in a root"
        exc.add_note("runtime: pointer %#x to unallocated span or free object; %s" % (bad_ptr, where))
        raise exc
    return (bm, nm, sb)


def _clear_marks(Heap heap):
    from goruntime import _mark
    _mark.clear_marks(heap)
