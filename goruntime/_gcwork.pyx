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
- balancing (Go: ``gcWork.balance`` / ``trygetfull``): a worker whose stack holds more
  than two buffers while the full list is empty hands a buffer (its newest objects) to
  it; a worker that runs dry takes a buffer from it, else waits (Go: ``work.nwait``); the
  mark ends when every worker waits and the list is empty;
- finalizer objects (*scan_only*) are then pushed unmarked and drained the same way, as the
  serial mark does after its first drain.

Each object is marked, counted and scanned once, so the marked set, ``bytes_marked``,
``nmarked`` and ``scan_bytes`` equal the serial mark's (tests/test_gcwork.py checks every
shape and ``checkmark`` passes after it). Only the order differs. A bad pointer stops every
worker and is reported as by the serial mark, with the mark bits cleared; when a heap has
several, which one is reported may differ from the serial mark (the first one a worker
found). The scan-work rule (``scan_size``, in _heap.pxd) is the serial mark's: the
equivalence tests compare the two.

Each worker runs the serial mark's own pipelined drain (``_mark.drain_pipelined``, with its
prefetch ring and the compact span table, built once and shared), in its parallel mode
(``gcwork_t.give_at``): the mark bit is set by the atomic fetch-or, and before each pop
the worker checks the abort flag and hands a buffer out when the full list is empty.
Simplified: Go's empty-buffer list is the allocator's (buffers are malloc'd and
freed); a worker that runs dry waits for work here, yielding, then sleeping 20 us at a
time between looks at the full list, where Go 1.27's worker (``trygetfull`` finding
nothing) returns from gcDrain and parks until the scheduler gives it work again.
"""
import numpy as np

from libc.string cimport memcpy, memset
from libc.stdlib cimport malloc, free
from cpython.mem cimport PyMem_RawMalloc, PyMem_RawCalloc, PyMem_RawFree
from cpython.pythread cimport (
    PyThread_type_lock, PyThread_allocate_lock, PyThread_free_lock, PyThread_acquire_lock,
    PyThread_release_lock, WAIT_LOCK,
)

from goruntime._types cimport uint8_t, uint32_t, uint64_t, intp_t
from goruntime._heap cimport Heap, mheap_t, mspan_t, span_of, obj_index, span_noscan
from goruntime._mark cimport (
    gcwork_t, push, build_span_info, grey_roots, drain_pipelined, ERR_NOMEM, RING_DEFAULT,
)
from goruntime.errors import FatalError
from goruntime import _mark as _mark_module
from cpython.pycapsule cimport PyCapsule_New

cdef extern from *:
    """
    #include <pthread.h>
    #include <sched.h>
    #include <unistd.h>
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
    int usleep(unsigned int us) nogil
    # the same functions, callable without the GIL (as CPython allows)
    PyThread_type_lock lock_new "PyThread_allocate_lock"() nogil
    void lock_free "PyThread_free_lock"(PyThread_type_lock lock) nogil
    intp_t GR_LOAD(intp_t* p) nogil
    void GR_STORE(intp_t* p, intp_t v) nogil

cdef enum:
    WBUF_CAP = 256              # objects per work buffer (Go: workbuf, 2 KiB of pointers)
    MAX_WORKERS = 64
    YIELDS = 64                 # a worker without work yields this often, then sleeps
    WAIT_SLEEP_US = 20          # between looks at the full list


cdef struct wbuf_t:             # Go: workbuf
    wbuf_t* next
    intp_t n
    uint64_t obj[WBUF_CAP]


cdef struct shared_t:           # Go: the work struct's full list and nwait
    mheap_t* h
    PyThread_type_lock lock
    wbuf_t* full                # Go: work.full (a LIFO of full buffers)
    intp_t nfull                # buffers on it (read without the lock as a hint)
    intp_t nworkers
    intp_t nwait                # workers waiting for work (Go: work.nwait)
    intp_t done                 # every worker waits and the list is empty
    intp_t abort                # a worker found a bad pointer or ran out of memory


cdef struct worker_t:
    gcwork_t g                  # Go: gcWork (the drain's state; first, see give)
    shared_t* sh
    pthread_t tid
    bint started


cdef void fail(worker_t* w, int err) noexcept nogil:
    if not w.g.err:
        w.g.err = err
    GR_STORE(&w.sh.abort, 1)


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


cdef int give(gcwork_t* g) noexcept nogil:
    """The drain's balance hook: move the newest WBUF_CAP grey objects to the full list."""
    cdef worker_t* w = <worker_t*>g             # g is the worker's first member
    if put_full(w.sh, &g.stack[g.n - WBUF_CAP], WBUF_CAP) < 0:
        fail(w, ERR_NOMEM)
        return -1
    g.n -= WBUF_CAP
    return 0


cdef bint get_full(worker_t* w) noexcept nogil:
    """Refill the empty private stack from the full list, waiting while another worker may
    still produce work (Go: trygetfull, and a parked worker's wait). False when the mark
    is over (or aborted)."""
    cdef shared_t* sh = w.sh
    cdef wbuf_t* b
    cdef bint waiting = False
    cdef intp_t i, spins
    PyThread_acquire_lock(sh.lock, WAIT_LOCK)
    while True:
        if sh.full != NULL and not sh.abort:
            b = sh.full
            sh.full = b.next
            GR_STORE(&sh.nfull, sh.nfull - 1)
            if waiting:
                sh.nwait -= 1
            PyThread_release_lock(sh.lock)
            for i in range(b.n):
                if push(&w.g, b.obj[i]) < 0:
                    free(b)
                    fail(w, ERR_NOMEM)
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
        spins = 0
        while not GR_LOAD(&sh.nfull) and not GR_LOAD(&sh.done) and not GR_LOAD(&sh.abort):
            if spins < YIELDS:
                sched_yield()
                spins += 1
            else:
                usleep(WAIT_SLEEP_US)
        PyThread_acquire_lock(sh.lock, WAIT_LOCK)


cdef void drain(worker_t* w) noexcept nogil:
    """Go: gcDrain for one worker: drain the private stack (handing buffers out on the
    way), refill it from the full list, until the mark is over everywhere."""
    while True:
        drain_pipelined(w.sh.h, &w.g)
        if w.g.err:
            fail(w, w.g.err)
            return
        if GR_LOAD(&w.sh.abort) or not get_full(w):
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
    while w.g.n > 0:
        k = w.g.n if w.g.n < WBUF_CAP else WBUF_CAP
        w.g.n -= k
        if put_full(sh, &w.g.stack[w.g.n], k) < 0:
            fail(w, ERR_NOMEM)
            return -1
    return 0


cdef void init_worker(worker_t* w, shared_t* sh, mheap_t* h, uint64_t* sinfo,
                      uint32_t ring_size) noexcept nogil:
    w.sh = sh
    w.g.bits = h.gcmark_bits
    w.g.pipelined = True
    w.g.ring_size = ring_size
    w.g.cs = -1
    w.g.span_info = sinfo
    w.g.give_at = 2 * WBUF_CAP
    w.g.nfull = &sh.nfull
    w.g.abort = &sh.abort
    w.g.par = w
    w.g.give = give


cdef int drain_state(mheap_t* h, gcwork_t* g, intp_t nworkers) noexcept nogil:
    """A MarkState's drain to the end on *nworkers* threads (``MarkState.drain(...,
    nworkers=n)``): worker 0 takes over its grey stack, prefetch ring and counters, the
    others start empty and get buffers from it; the counters of all of them are summed
    back into *g*. -1 (nothing done) if the workers cannot be set up."""
    cdef shared_t sh
    cdef worker_t* ws
    cdef wbuf_t* b
    cdef intp_t i
    if nworkers > MAX_WORKERS:
        nworkers = MAX_WORKERS
    memset(&sh, 0, sizeof(sh))
    sh.h = h
    sh.lock = lock_new()
    if sh.lock == NULL:
        return -1
    ws = <worker_t*>PyMem_RawMalloc(nworkers * sizeof(worker_t))
    if ws == NULL:
        lock_free(sh.lock)
        return -1
    memset(ws, 0, nworkers * sizeof(worker_t))
    for i in range(nworkers):
        init_worker(&ws[i], &sh, h, g.span_info, g.ring_size)
        ws[i].g.touched = g.touched             # shared: set atomically (_mark.touch)
        ws[i].g.ntouched = g.ntouched
    ws[0].g = g[0]                              # its stack, ring and counters
    init_worker(&ws[0], &sh, h, g.span_info, g.ring_size)
    ws[0].g.bits = g.bits
    run_workers(&sh, ws, nworkers)
    g.stack = ws[0].g.stack
    g.n = ws[0].g.n
    g.cap = ws[0].g.cap
    g.rhead = ws[0].g.rhead
    g.rtail = ws[0].g.rtail
    g.bytes_marked = ws[0].g.bytes_marked
    g.nmarked = ws[0].g.nmarked
    g.scan_bytes = ws[0].g.scan_bytes
    g.nspans = ws[0].g.nspans
    g.nlinks = ws[0].g.nlinks
    g.scan_large = ws[0].g.scan_large
    g.err = ws[0].g.err
    g.bad_ptr = ws[0].g.bad_ptr
    g.bad_src = ws[0].g.bad_src
    for i in range(1, nworkers):
        g.bytes_marked += ws[i].g.bytes_marked
        g.nmarked += ws[i].g.nmarked
        g.scan_bytes += ws[i].g.scan_bytes
        g.nspans += ws[i].g.nspans
        g.nlinks += ws[i].g.nlinks
        g.scan_large += ws[i].g.scan_large
        if ws[i].g.err and not g.err:
            g.err = ws[i].g.err
            g.bad_ptr = ws[i].g.bad_ptr
            g.bad_src = ws[i].g.bad_src
        PyMem_RawFree(ws[i].g.stack)
    if sh.abort and not g.err:
        g.err = ERR_NOMEM
    while sh.full != NULL:                      # left over only after an abort
        b = sh.full
        sh.full = b.next
        free(b)
    PyMem_RawFree(ws)
    lock_free(sh.lock)
    return 0


_mark_module._register_parallel_drain(
    PyCapsule_New(<void*>drain_state, "goruntime._gcwork.drain_state", NULL))


def _as_addrs(a):
    if a is None:
        return np.zeros(0, dtype=np.uint64)
    return np.ascontiguousarray(a, dtype=np.uint64)


def mark(Heap heap, roots=None, scan_only=None, *, int nworkers=2, dict stats=None):
    """Mark everything reachable from the roots with *nworkers* threads; returns
    ``(bytes_marked, nmarked, scan_bytes)``, the serial ``_mark.mark``'s result; a
    *stats* dict gets ``"spans"``, ``"links"`` and ``"scan_large"`` as from ``_mark.mark``.

    Same contract as ``_mark.mark``: the mark bits must be clear; on a bad pointer they
    are cleared again and Go's fatal error is raised. The caller holds the world lock.
    """
    if nworkers < 1 or nworkers > MAX_WORKERS:
        raise ValueError(f"nworkers must be 1..{MAX_WORKERS}, not {nworkers}")
    from goruntime import _mark
    _mark.finish_sweep(heap)        # a mark needs a swept heap (as _mark.mark)
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
    cdef uint64_t a, bm = 0, nm = 0, sb = 0, nsp = 0, nln = 0, sbl = 0
    cdef uint64_t* sinfo
    cdef uint8_t* touched
    cdef mspan_t* s
    cdef wbuf_t* b
    cdef int err = 0
    cdef uint64_t bad_ptr = 0, bad_src = 0
    memset(&sh, 0, sizeof(sh))
    sh.h = h
    sh.lock = PyThread_allocate_lock()
    if sh.lock == NULL:
        raise MemoryError("runtime: out of memory: mark worker lock")
    ws = <worker_t*>PyMem_RawMalloc(nworkers * sizeof(worker_t))
    if ws == NULL:
        PyThread_free_lock(sh.lock)
        raise MemoryError("runtime: out of memory: mark workers")
    memset(ws, 0, nworkers * sizeof(worker_t))
    w0 = &ws[0]
    with nogil:
        sinfo = build_span_info(h)              # read-only, shared by every worker
        touched = <uint8_t*>PyMem_RawCalloc(h.mapped_pages + 1, 1)   # shared (_mark.touch)
        for i in range(nworkers):
            init_worker(&ws[i], &sh, h, sinfo, RING_DEFAULT)
            ws[i].g.touched = touched
            ws[i].g.ntouched = h.mapped_pages if touched != NULL else 0
        if sinfo == NULL or touched == NULL:
            fail(w0, ERR_NOMEM)
        else:
            # Roots, greyed on this thread as by the serial mark, then shared out.
            grey_roots(h, &w0.g, rp, nr)
            if w0.g.err:
                fail(w0, w0.g.err)
            elif publish(&sh, w0) == 0:
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
                if push(&w0.g, s.base + <uint64_t>obj_index(s, a) * s.elemsize) < 0:
                    fail(w0, ERR_NOMEM)
                    break
            if not sh.abort and w0.g.n and publish(&sh, w0) == 0:
                run_workers(&sh, ws, nworkers)
        for i in range(nworkers):
            bm += ws[i].g.bytes_marked
            nm += ws[i].g.nmarked
            sb += ws[i].g.scan_bytes
            nsp += ws[i].g.nspans
            nln += ws[i].g.nlinks
            sbl += ws[i].g.scan_large
            if ws[i].g.err and not err:
                err = ws[i].g.err
                bad_ptr = ws[i].g.bad_ptr
                bad_src = ws[i].g.bad_src
            PyMem_RawFree(ws[i].g.stack)
        PyMem_RawFree(sinfo)
        PyMem_RawFree(touched)
        while sh.full != NULL:
            b = sh.full
            sh.full = b.next
            free(b)
    PyMem_RawFree(ws)
    PyThread_free_lock(sh.lock)
    if stats is not None:
        stats["spans"] = nsp
        stats["links"] = nln
        stats["scan_large"] = sbl
    if err:
        _mark.clear_marks(heap)
        if err == ERR_NOMEM:
            raise MemoryError("runtime: out of memory: grey object work list")
        exc = FatalError("found bad pointer in Go heap (incorrect use of unsafe or cgo?)")
        exc.pointer = bad_ptr
        exc.found_in = bad_src
        where = ("found in object at *(%#x)" % bad_src) if bad_src else "found in a root"
        exc.add_note("runtime: pointer %#x to unallocated span or free object; %s" % (bad_ptr, where))
        raise exc
    return (bm, nm, sb)
