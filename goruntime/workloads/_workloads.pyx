# cython: embedsignature=True
"""Workload kernels: Go programs whose hot loops run in C, straight on the `Heap`.

A workload here is a *Go program* (binary-trees, GCBench, a linked list, a random graph,
an allocation trace) written as typed ``nogil`` Cython that calls the allocator the way
compiled Go calls it: ``mallocgc`` for every ``new``/``&T{}``/``make``, pointer bits from
the type's GC mask (``mallocgc_typed``, Go: mallocgc with its type, heapSetType), pointer
stores as plain word writes into the arena. No Python object is touched per allocation, so a workload of 15
million objects costs Cython time, not Python time. ``goruntime.workloads`` is the
Python facade (argument checks, progress bar, summary dicts); this module only runs.

The mutator (`Mutator`, a ``mutator_t`` in C) is one goroutine:

Stack
    Go's GC scans the allocating goroutine's stack precisely: exactly the pointer slots
    that are live at the safepoint. The kernels keep an explicit *shadow stack*: a fixed
    array of root slots taken from the heap's root table once (``root_add``), one per
    stack word a Go frame would hold. A frame reserves its words (`frame_push`), writes a
    local into its word when the Go code would hold it across a call that may allocate
    (`sset`), and zeroes its words when the value dies or the frame returns
    (`frame_pop`), so a GC at any allocation sees exactly what Go's stack maps would
    show. Values that die before the next allocation are never written: Go's liveness
    analysis would not keep them either.

mallocgc's own frame
    Go checks the GC trigger inside mallocgc, after the object is allocated and before it
    is returned; the new object is then held by mallocgc's frame and so survives the cycle
    it starts. The emulator's cycle is stop-the-world, so `mutator_poll` parks the fresh
    object in one more root slot (``fresh``) for the duration of the GC.

Starting a cycle
    ``mallocgc`` sets ``heap.gc_pending`` at Go's check points (a span refill, every large
    allocation). After every allocation the kernel tests it; when set, it takes the GIL
    and calls ``runtime.collector.heap_triggered()``, which runs the cycle (Go: gcStart from
    mallocgc) and clears the flag, then carries on without the GIL. The caller holds the
    runtime's world lock for the whole run (an ``RLock``; the GC's own acquisition from
    this thread nests), as one goroutine that never yields would.

Every ``POLL_EVERY`` allocations the same slow path also checks for signals (Ctrl-C in a
notebook raises ``KeyboardInterrupt`` out of the kernel) and advances the progress bar.
When a kernel raises, nothing is left half-linked that matters: the objects it made are
garbage once `Mutator.close` has returned the shadow stack's slots.

Mapping to Go (src/runtime): new_object ~ newobject/mallocgc (malloc.go) followed by the
compiler's initialisation stores; mutator_poll ~ the ``shouldhelpgc`` tail of mallocgc
(gcTrigger.test, gcStart); the shadow stack ~ the stack maps scanstack reads (mgcmark.go).
"""
import numpy as np

from cpython.ref cimport PyObject
from cpython.exc cimport PyErr_CheckSignals
from cpython.mem cimport PyMem_Malloc, PyMem_Free
from libc.stdlib cimport abort

from goruntime._types cimport int32_t, int64_t, uint8_t, uint32_t, uint64_t, intp_t
from libc.stdint cimport INT32_MAX, INT64_MAX
from goruntime._heap cimport (
    Heap, mheap_t, mallocgc_typed, mallocgc_prefix, root_add, root_remove, addr_ptr,
    GORUNTIME_CHECKS, GR_PREFETCH, write_barrier, span_of, alloc_cache_t,
    alloc_cache_load, zero_slot, mspan_t, live_add_at, live_remove, LIVE_IDX_BITS, BITMAP_WORDS,
    TINY_SIZE,
)
from goruntime._heap cimport GR_CTZ64, GR_CLZ64, GR_POPCOUNT64

cdef enum:
    POLL_EVERY = 1 << 18        # allocations between signal checks / progress updates
    BT_MIN_DEPTH = 4            # binary-trees: minDepth
    OP_ALLOC = 0                # replay opcodes (TRACE_DTYPE.op)
    OP_STORE = 1
    OP_DROP = 2
    OP_GC = 3
    DROP_AHEAD = 32             # replay: rows ahead whose dropped slot is prefetched (then
                                # its root-table entries, DROP_AHEAD / 2 rows ahead)
    ROOT_AHEAD = 8              # replay: root_adds ahead whose reused slot is prefetched

cdef extern from *:
    # replay_objects: heap offsets whose live position (span index << 10 | slot) fits an
    # int32 slot as -2 - position: below 16 GiB less a page
    const uint64_t LIVE32_BYTES "((1ULL << 34) - 8192)"

# GC masks (Go: abi.Type.GCData), one byte per word: 1 = the word holds a pointer.
cdef uint8_t PTR_WORDS[4]
PTR_WORDS[:] = [1, 1, 1, 1]     # [n]*T, and the prefix of every mask below
cdef uint8_t GCBENCH_NODE_MASK[4]
GCBENCH_NODE_MASK[:] = [1, 1, 0, 0]   # struct { left, right *Node; i, j int }
cdef uint8_t LIST_NODE_MASK[4]
LIST_NODE_MASK[:] = [1, 0, 0, 0]      # struct { next *Node; pad [3]int }

cdef enum:
    TREE_NODE_BYTES = 16        # binary-trees Node: struct { left, right *Node }
    GCBENCH_NODE_BYTES = 32     # GCBench Node: struct { left, right *Node; i, j int }
    LIST_NODE_BYTES = 32        # struct { next *Node; pad [3]int }
    GRAPH_NODE_BYTES = 32       # struct { edges [degree]*Node; pad [4-degree]int }

NODE_SIZE = TREE_NODE_BYTES     # the facade checks its Go types against these
GCBENCH_NODE_SIZE = GCBENCH_NODE_BYTES
LIST_NODE_SIZE = LIST_NODE_BYTES
GRAPH_NODE_SIZE = GRAPH_NODE_BYTES


cdef struct node_type_t

cdef struct mutator_t:
    mheap_t* h
    int p                       # the P whose mcache the goroutine allocates from
    PyObject* rt                # the Runtime (a reference is held by the Mutator object)
    PyObject* bar               # progress bar (``update(n)``), or NULL
    int64_t* slots              # root-table slot of each shadow-stack word
    intp_t cap                  # shadow-stack words reserved
    intp_t sp                   # words in use (frames are pushed and popped LIFO)
    int64_t fresh               # root slot standing for mallocgc's frame during a GC
    uint64_t nalloc             # mallocgc calls that allocated (size > 0); the fast
                                # path's takes are added by `node_flush`
    uint64_t nbytes             # bytes requested by them
    uint64_t poll_at            # nalloc at which the slow path runs next
    uint64_t reported           # nalloc already reported to the progress bar
    uint64_t epoch              # bumped whenever code other than the allocation fast path
                                # may have allocated or collected (`mutator_other`)
    intp_t last_si              # the span index mallocgc returned for the last object
                                # (-2: zerobase or a tiny sub-allocation)
    node_type_t* types          # the node types in use (a stack): their alloc caches hold
                                # counts not yet flushed (`mutator_flush`)


# ---------------------------------------------------------------------------------------
# The shadow stack

cdef inline intp_t frame_push(mutator_t* m, intp_t nwords) except -1 nogil:
    """Reserve *nwords* zeroed stack words for a frame; returns the first one's index.

    The facade sizes the stack (`Mutator` ``nwords``) for the kernel's deepest call
    chain, so this cannot overflow; builds with GORUNTIME_CHECKS check it anyway.
    """
    cdef intp_t fr = m.sp
    if GORUNTIME_CHECKS and m.sp + nwords > m.cap:
        with gil:
            raise AssertionError("goruntime: workload shadow stack overflow")
    m.sp += nwords
    return fr


cdef inline void frame_pop(mutator_t* m, intp_t fr) noexcept nogil:
    """Return the frame starting at word *fr* (and every frame above it); zero its words."""
    cdef intp_t sp = m.sp
    cdef uint64_t* roots = m.h.roots
    cdef const int64_t* slots = m.slots
    while sp > fr:
        sp -= 1
        roots[slots[sp]] = 0
    m.sp = fr


cdef inline void sset(mutator_t* m, intp_t i, uint64_t v) noexcept nogil:
    """Stack word *i* := *v* (0 = nil). The root table may have moved: index it afresh."""
    m.h.roots[m.slots[i]] = v


cdef inline uint64_t sget(mutator_t* m, intp_t i) noexcept nogil:
    return m.h.roots[m.slots[i]]


cdef inline uint64_t load(mheap_t* h, uint64_t addr) noexcept nogil:
    return (<uint64_t*>addr_ptr(h, addr))[0]


cdef inline void store(mheap_t* h, uint64_t addr, uint64_t v) noexcept nogil:
    """A pointer store, with Go's write barrier while a mark runs (one flag test else)."""
    if h.write_barrier:
        write_barrier(h, addr, v)
    (<uint64_t*>addr_ptr(h, addr))[0] = v


cdef inline void store2(mheap_t* h, uint64_t addr, uint64_t v0, uint64_t v1) noexcept nogil:
    """`store` of *v0* and *v1* into the two words at *addr* (a node's two children)."""
    cdef uint64_t* w
    if h.write_barrier:
        store(h, addr, v0)
        store(h, addr + 8, v1)
        return
    w = <uint64_t*>addr_ptr(h, addr)
    w[0] = v0
    w[1] = v1


# ---------------------------------------------------------------------------------------
# Allocation

cdef int mutator_poll(mutator_t* m, uint64_t fresh) except -1 nogil:
    """The slow path after an allocation: start a GC if one is pending, report progress.

    *fresh* is the object mallocgc just returned; it is rooted (mallocgc's frame) while
    the cycle runs. Go: the ``shouldhelpgc`` tail of mallocgc.
    """
    mutator_other(m)
    m.h.alloc_clean = 0                 # (a replay's clean allocation is over: see replay_alloc)
    if m.h.gc_pending:
        m.h.roots[m.fresh] = fresh
        with gil:
            (<object>m.rt).collector.heap_triggered()
        m.h.roots[m.fresh] = 0
    if m.nalloc >= m.poll_at:
        with gil:
            PyErr_CheckSignals()
            if m.bar != NULL:
                (<object>m.bar).update(m.nalloc - m.reported)
                m.reported = m.nalloc
        m.poll_at = m.nalloc + POLL_EVERY
    return 0


# A small pointerful struct type the tree kernels allocate millions of: what the
# allocation fast path (`node_take`) needs, worked out once.
cdef struct node_type_t:
    uint64_t size               # bytes (a multiple of 8, at most 512: no malloc header)
    const uint8_t* mask         # its GC mask, one byte per word
    intp_t words
    uint64_t pat                # the mask as pointer bits (bit j: word j)
    uint64_t scan_bytes         # scan_alloc growth: up to the last pointer word
    int spc                     # its span class, learnt from the first allocation (-1;
                                # -2: never, the fast path is off)
    alloc_cache_t ac            # the fast path's alloc cache for spc (Go: mspan.allocCache)
    # What every take from the loaded alloc-bit word needs, worked out when it is loaded
    # (`node_load`); Go's nextFreeFast has the same in its mspan and allocCache.
    uint64_t loaded             # ac.free as loaded or last flushed: the takes since are
                                # loaded & ~ac.free (counted by `node_flush`)
    uint64_t nblack             # how many of those takes were black (`node_take_black`):
                                # all of them or none (the phase changes only after
                                # `mutator_other`), so popcount(loaded & ~ac.free) during a mark
    uint64_t* abits             # the alloc-bit word
    uint64_t* hbits             # the heap-bits word holding slot ac.base's first bit
    intp_t hb0                  # that bit's index in it
    intp_t nw                   # words per slot (elemsize / 8)
    uint64_t wmask              # nw low bits set
    uint64_t elemsize
    uint64_t a0                 # address of slot ac.base
    uint8_t needzero            # the span's slots must be cleared when handed out
    node_type_t* next           # the mutator's next type in use


cdef bint FAST_ALLOC = True     # the inline allocation fast path (tests compare both ways)


def fast_alloc(enabled=None):
    """Whether the tree kernels allocate through the inline fast path
    (`node_take`) or always through ``mallocgc_typed``; with *enabled*,
    set it. Returns the previous setting. Both give the same heap, counters and GCs: the
    switch exists so tests can check that."""
    global FAST_ALLOC
    old = FAST_ALLOC
    if enabled is not None:
        FAST_ALLOC = bool(enabled)
    return old


cdef void node_type_init(mutator_t* m, node_type_t* t, uint64_t size,
                         const uint8_t* mask) noexcept nogil:
    """Make *t* the type of *size* bytes and GC mask *mask*, in use by *m* until
    `node_type_done`."""
    cdef intp_t j
    t.next = m.types
    m.types = t
    t.loaded = 0
    t.nblack = 0
    t.size = size
    t.mask = mask
    t.words = <intp_t>(size >> 3)
    t.pat = 0
    t.scan_bytes = 0
    t.spc = -1
    t.ac.si = -1
    t.ac.base = 0
    t.ac.free = 0
    if not FAST_ALLOC:
        t.spc = -2                      # never learnt: every allocation takes new_object
    for j in range(t.words):
        if mask[j]:
            t.pat |= (<uint64_t>1) << j
            t.scan_bytes = <uint64_t>(j + 1) << 3


cdef void node_type_done(mutator_t* m, node_type_t* t) noexcept nogil:
    """*t* is no longer used (it and the types pushed after it): flush and forget them."""
    mutator_flush(m)
    m.types = t.next


cdef void node_flush(mutator_t* m, node_type_t* t) noexcept nogil:
    """Add the takes from *t*'s alloc cache since it was loaded or last flushed to the
    counters `mallocgc_typed` keeps per allocation (the span's alloc count and
    freeindex, mallocgc's calls and bytes, the cost model's meter, scanAlloc, the
    mutator's bytes): every allocation of one type adds the same, so *n* takes add *n*
    times it, as Go's mcache adds a span's allocations at its refill. Nothing else reads
    them while the fast path runs: every other piece of code runs after `mutator_other`.
    The mutator's allocation count (``nalloc``) is one of them: the poll it paces is
    tested at the word's reload (`new_node_slow`), not per take."""
    cdef uint64_t taken = t.loaded & ~t.ac.free, n
    cdef mheap_t* h = m.h
    cdef mspan_t* s
    if taken == 0:
        return
    t.loaded = t.ac.free
    t.nblack = 0
    n = <uint64_t>GR_POPCOUNT64(taken)
    s = &h.spans[t.ac.si]
    s.alloc_count += <uint32_t>n
    s.freeindex = <uint32_t>(t.ac.base + 64 - GR_CLZ64(taken))    # the last take's + 1
    h.malloc_calls += n
    h.malloc_bytes += n * t.size
    h.malloc_path_calls[2] += n                  # the virtual clock's meter: small scan
    h.malloc_path_bytes[2] += n * t.size
    h.scan_alloc += n * t.scan_bytes             # Go: mcache.scanAlloc
    m.nbytes += n * t.size
    m.nalloc += n


cdef void mutator_flush(mutator_t* m) noexcept nogil:
    """`node_flush` every node type in use."""
    cdef node_type_t* t = m.types
    while t != NULL:
        node_flush(m, t)
        t = t.next


cdef inline void mutator_other(mutator_t* m) noexcept nogil:
    """Code other than the fast path is about to run (an allocation through mallocgc, a
    GC, the runtime): flush the alloc caches' counts and empty them (the other code may
    allocate from or sweep their spans)."""
    cdef node_type_t* t = m.types
    while t != NULL:
        node_flush(m, t)
        t.ac.free = 0
        t.loaded = 0
        t.nblack = 0
        t = t.next
    m.epoch += 1


cdef bint node_load(mutator_t* m, node_type_t* t) noexcept nogil:
    """Load *t*'s empty alloc cache from the P's cached span of its class (flushing the
    word before): the slot bits and what `node_take` needs. False if there is none (the
    slow path)."""
    cdef mheap_t* h = m.h
    cdef mspan_t* s
    cdef uint64_t w0
    node_flush(m, t)
    if not alloc_cache_load(h, m.p, t.spc, &t.ac):
        t.loaded = 0
        t.nblack = 0
        return False
    s = &h.spans[t.ac.si]
    t.loaded = t.ac.free
    t.nblack = 0
    t.abits = &h.alloc_bits[t.ac.si * BITMAP_WORDS + (t.ac.base >> 6)]
    t.elemsize = s.elemsize
    t.nw = <intp_t>(s.elemsize >> 3)
    t.wmask = (~(<uint64_t>0)) >> (64 - t.nw)
    t.a0 = s.base + <uint64_t>t.ac.base * s.elemsize
    w0 = (t.a0 - h.arena_start) >> 3
    t.hbits = &h.heap_bits[w0 >> 6]
    t.hb0 = <intp_t>(w0 & 63)
    t.needzero = s.needzero
    return True


cdef void node_take_black(mheap_t* h, node_type_t* t, intp_t k) noexcept nogil:
    """A take while a mark runs: allocate black (Go: gcmarknewobject), and spend the
    assist credit as `deduct_assist_credit` does after ``malloc_bytes`` counted it (here
    with the takes `node_flush` has not added yet, this one included)."""
    h.gcmark_bits[t.ac.si * BITMAP_WORDS + ((t.ac.base + k) >> 6)] |= (<uint64_t>1) << (k & 63)
    h.bytes_marked_black += t.elemsize
    t.nblack += 1                       # = popcount(t.loaded & ~t.ac.free), this take's included
    if GORUNTIME_CHECKS and t.nblack != <uint64_t>GR_POPCOUNT64(t.loaded & ~t.ac.free):
        abort()                         # (checked builds; a noexcept caller cannot raise)
    if h.malloc_bytes + t.nblack * t.size > h.assist_at:
        h.gc_pending = 1


cdef inline uint64_t node_take(mheap_t* h, node_type_t* t) noexcept nogil:
    """Allocate the next free slot of *t*'s non-empty alloc cache (Go: nextFreeFast, then
    heapSetTypeNoHeader and the clear): the slot and its bits as `mallocgc_typed` sets
    them; its counts wait for `node_flush`. Returns its address."""
    cdef intp_t k = GR_CTZ64(t.ac.free), pos
    cdef uint64_t a = t.a0 + <uint64_t>k * t.elemsize
    cdef uint64_t* hb
    t.ac.free &= t.ac.free - 1
    t.abits[0] |= (<uint64_t>1) << k
    if h.gcphase_mark:
        node_take_black(h, t, k)
    pos = t.hb0 + k * t.nw                       # the slot's pointer bits (writeHeapBitsSmall)
    hb = t.hbits + (pos >> 6)
    pos &= 63
    hb[0] = (hb[0] & ~(t.wmask << pos)) | (t.pat << pos)
    if pos + t.nw > 64:                          # the slot straddles two bitmap words
        hb[1] = (hb[1] & ~(t.wmask >> (64 - pos))) | (t.pat >> (64 - pos))
    if t.needzero:
        zero_slot(addr_ptr(h, a), t.elemsize)
    return a


cdef inline int node_taken(mutator_t* m, uint64_t a) except -1 nogil:
    """What follows every allocation of the fast path (Go: the tail of mallocgc): the
    per-allocation checks belong here. A pending GC runs `mutator_poll`; the count and
    the signal/progress poll wait for the word's reload (`new_node_slow`)."""
    if m.h.gc_pending:
        return mutator_poll(m, a)
    return 0


cdef inline int new_node(mutator_t* m, node_type_t* t, uint64_t* out) except -1 nogil:
    """`new_object` of one *t*: the allocation fast path inline (same slot, bits and counts
    as `mallocgc_typed`), `new_node_slow` when the alloc cache is stale or empty."""
    if t.ac.free != 0:          # nextFreeFast: a slot in a register
        out[0] = node_take(m.h, t)
        return node_taken(m, out[0])
    return new_node_slow(m, t, out)


cdef int new_node_slow(mutator_t* m, node_type_t* t, uint64_t* out) except -1 nogil:
    """`new_node` past its first test (its alloc cache is empty: used up, or emptied by
    `mutator_other`): the cache reloaded, else `new_object`."""
    if t.spc >= 0 and node_load(m, t):            # (flushes: nalloc is up to date but
        out[0] = node_take(m.h, t)                 # for this take and other types')
        if m.h.gc_pending or m.nalloc >= m.poll_at:
            return mutator_poll(m, out[0])
        return 0
    new_object(m, t.size, t.mask, t.words, out)
    if t.spc == -1:
        t.spc = m.h.spans[span_of(m.h, out[0])].spanclass
    return 0


cdef inline int new_object(mutator_t* m, uint64_t size, const uint8_t* mask, intp_t elem_words,
                           uint64_t* out) except -1 nogil:
    """Go: newobject / makeslice -> mallocgc, then the type's pointer bits.

    *mask* is one element's GC mask (*elem_words* words), repeated over the object; NULL
    allocates a pointer-free (noscan) object. The object is zeroed (fresh or
    ``needzero`` slots are cleared by mallocgc). ``*out`` is the address; size 0 gives
    ``zerobase`` and allocates nothing.
    """
    cdef uint64_t ebytes = <uint64_t>(elem_words * 8)
    cdef intp_t count = 0
    mutator_other(m)                    # the fast path's alloc caches go stale
    if mask != NULL:                   # elements: one for a struct (no division then)
        count = 1 if size == ebytes else <intp_t>(size // ebytes)
    m.last_si = mallocgc_typed(m.h, m.p, size, mask, elem_words, count, out)
    if size == 0:
        return 0
    m.nalloc += 1
    m.nbytes += size
    if m.h.gc_pending or m.nalloc >= m.poll_at:
        return mutator_poll(m, out[0])
    return 0


cdef class Mutator:
    """Mutator(runtime, heap, nwords, bar=None)\n--

    One goroutine running a kernel: its P, its shadow stack of *nwords* root slots, the
    runtime to call back for heap-triggered GCs, and an optional progress bar.

    The caller must hold ``heap.lock`` (the runtime's world lock) from construction to
    `close`, and must call `close` (in a ``finally``): it returns the root slots.
    """
    cdef mutator_t m
    cdef readonly Heap heap
    cdef readonly object runtime
    cdef object bar
    cdef bint closed

    def __cinit__(self, runtime, Heap heap, intp_t nwords, bar=None):
        cdef intp_t i
        self.heap = heap
        self.runtime = runtime
        self.bar = bar
        self.m.h = &heap.h
        self.m.p = 0
        self.m.rt = <PyObject*>runtime
        self.m.bar = <PyObject*>bar if bar is not None else NULL
        self.m.slots = <int64_t*>PyMem_Malloc((nwords + 1) * sizeof(int64_t))
        if self.m.slots == NULL:
            raise MemoryError("goruntime: workload shadow stack")
        self.m.cap = 0
        self.m.fresh = -1
        for i in range(nwords):
            self.m.slots[i] = root_add(&heap.h, 0)
            self.m.cap += 1
        self.m.fresh = root_add(&heap.h, 0)
        self.m.sp = 0
        self.m.poll_at = POLL_EVERY
        self.m.epoch = 1
        self.m.last_si = -2
        self.m.types = NULL
        self.closed = False

    def close(self):
        """Return every root slot (idempotent); flush the progress bar."""
        if self.closed:
            return
        self.closed = True
        with self.heap.lock:
            self._release_slots()
        if self.bar is not None and self.m.nalloc > self.m.reported:
            self.bar.update(self.m.nalloc - self.m.reported)
            self.m.reported = self.m.nalloc

    cdef void _release_slots(self) noexcept:
        cdef intp_t i
        for i in range(self.m.cap):
            root_remove(self.m.h, self.m.slots[i])
        if self.m.fresh >= 0:
            root_remove(self.m.h, self.m.fresh)
        self.m.cap = 0
        self.m.fresh = -1

    def __dealloc__(self):
        # Only reached without close() if construction failed half way.
        if not self.closed and self.m.slots != NULL and self.heap is not None:
            if self.heap.threaded:             # the collector may be scanning the table
                with self.heap.lock:
                    self._release_slots()
            else:
                self._release_slots()
        PyMem_Free(self.m.slots)

    def word(self, intp_t i):
        """The value of shadow-stack word *i* (an address, 0 for nil)."""
        if i < 0 or i >= self.m.cap or self.closed:
            raise IndexError("shadow-stack word %d out of range" % i)
        return sget(&self.m, i)

    @property
    def nalloc(self):
        """Objects this goroutine allocated (mallocgc calls with size > 0)."""
        return self.m.nalloc

    @property
    def nbytes(self):
        """Bytes this goroutine asked mallocgc for (requested sizes, not slot sizes)."""
        return self.m.nbytes


# ---------------------------------------------------------------------------------------
# Trees (binary-trees and GCBench)

cdef int make_tree(mutator_t* m, int depth, node_type_t* t, uint64_t* out) except -1 nogil:
    """Go: ``bottomUpTree(depth)`` / GCBench ``MakeTree(depth)``, bottom up.

    ``return &Node{left: MakeTree(d-1), right: MakeTree(d-1)}``: both children are
    computed first and held in the frame (two stack words) across the parent's
    allocation, then stored into it. ``2**(depth+1) - 1`` objects.
    """
    cdef uint64_t c[2]
    cdef intp_t fr, k
    if depth <= 0:              # a tree of one node (the same allocation as `new_node`)
        return new_node_slow(m, t, out)
    fr = frame_push(m, 2)
    for k in range(2):          # left, then right
        if depth == 1:          # a leaf: MakeTree(0) is the allocation alone (no call
            new_node(m, t, &c[k])   # for half of the nodes)
        else:
            make_tree(m, depth - 1, t, &c[k])
        sset(m, fr + k, c[k])
    new_node(m, t, out)
    store2(m.h, out[0], c[0], c[1])
    frame_pop(m, fr)
    return 0


cdef int64_t item_check(mheap_t* h, uint64_t n) noexcept nogil:
    """Go: ``(*Node).itemCheck``: the number of nodes of the tree at *n* (reads only)."""
    cdef uint64_t* w = <uint64_t*>addr_ptr(h, n)
    if w[0] == 0:
        return 1
    return 1 + item_check(h, w[0]) + item_check(h, w[1])


cdef int populate(mutator_t* m, node_type_t* t, int depth, uint64_t node) except -1 nogil:
    """GCBench ``Populate(iDepth, thisNode)``: build a tree top down below a heap *node*.

    ``thisNode`` is live (one stack word) until ``thisNode.right`` has been read for the
    second recursive call, and dead during it, as Go's liveness analysis has it; the
    right child is then rooted by the callee's own frame. ``2**(depth+1) - 2`` objects.

    The second (tail) call is the loop's next turn, and ``Populate(0, ...)`` (which does
    nothing) is not called: the same allocations, stores and stack words in the same
    order, with one call per inner node's left child instead of two per node.
    """
    cdef uint64_t x = 0
    cdef intp_t fr
    while depth > 0:
        depth -= 1
        fr = frame_push(m, 1)
        sset(m, fr, node)
        new_node(m, t, &x)
        store(m.h, node, x)
        new_node(m, t, &x)
        store(m.h, node + 8, x)
        if depth > 0:
            populate(m, t, depth, load(m.h, node))
        x = load(m.h, node + 8)         # thisNode.right: the tail call's node
        frame_pop(m, fr)
        node = x
    return 0


cdef int populate_stack_node(mutator_t* m, node_type_t* t, int depth, intp_t obj) except -1 nogil:
    """``Populate(depth, &stackNode)`` for a Node that escape analysis kept on the stack.

    The Node's two pointer words are stack words *obj* and *obj+1* (its ints are not
    pointers), written by Populate's stores; the caller keeps the Node alive after the
    call (GCBench's long-lived tree).
    """
    cdef uint64_t x = 0
    if depth <= 0:
        return 0
    depth -= 1
    new_node(m, t, &x)
    sset(m, obj, x)
    new_node(m, t, &x)
    sset(m, obj + 1, x)
    populate(m, t, depth, sget(m, obj))
    return populate(m, t, depth, sget(m, obj + 1))


cdef int binary_trees_main(mutator_t* m, int max_depth, int64_t* checks) except -1 nogil:
    """The body of the Benchmarks Game's binary-trees ``main`` (Go version).

    ``checks`` gets the stretch tree's check, one check per depth 4, 6, ..., max_depth,
    then the long-lived tree's. Stack words: ``longLivedTree``.
    """
    cdef uint64_t t = 0, ll = 0
    cdef int64_t check
    cdef intp_t fr = frame_push(m, 1), k = 1
    cdef int d = BT_MIN_DEPTH
    cdef int64_t i, iterations
    cdef node_type_t node
    node_type_init(m, &node, TREE_NODE_BYTES, PTR_WORDS)
    make_tree(m, max_depth + 1, &node, &t)      # stretch: dead after check
    checks[0] = item_check(m.h, t)
    make_tree(m, max_depth, &node, &ll)
    sset(m, fr, ll)
    while d <= max_depth:
        iterations = (<int64_t>1) << (max_depth - d + BT_MIN_DEPTH)
        check = 0
        i = 1
        while i <= iterations:
            make_tree(m, d, &node, &t)
            check += item_check(m.h, t)
            i += 1
        checks[k] = check
        k += 1
        d += 2
    checks[k] = item_check(m.h, ll)
    frame_pop(m, fr)
    node_type_done(m, &node)
    return 0


def binary_trees_kernel(Mutator mut, int max_depth, int64_t[::1] checks):
    """Run binary-trees with ``maxDepth = max_depth`` (already >= 6) on *mut*.

    *checks* must hold ``(max_depth - 4) // 2 + 3`` entries; see `binary_trees_main`.
    Needs ``2 * (max_depth + 2) + 1`` shadow-stack words.
    """
    if checks.shape[0] < (max_depth - BT_MIN_DEPTH) // 2 + 3:
        raise ValueError("checks too short")
    try:
        with nogil:
            binary_trees_main(&mut.m, max_depth, &checks[0])
    finally:
        mut.m.types = NULL              # (raised: its node type's frame is gone, flushed)


cdef int tree_size(int i) noexcept nogil:
    return (1 << (i + 1)) - 1


cdef int gcbench_main(mutator_t* m, int stretch_depth, int long_lived_depth, int64_t array_size,
                      int min_depth, int max_depth, int64_t* iters, int64_t* results) except -1 nogil:
    """The body of GCBench's ``main`` and ``TimeConstruction`` (see gcbench/main.go).

    Stack words: ``longLivedTree`` (a stack Node: words 0-1), ``array`` (word 2),
    TimeConstruction's ``tempTree`` (word 3: a heap Node, live across ``Populate``
    because it is handed to ``sink`` afterwards). ``iters[k]`` gets NumIters of the k-th
    depth; ``results`` = (long-lived tree nodes, array[1000] == 1.0/1000).
    """
    cdef intp_t fr = frame_push(m, 4)
    cdef uint64_t t = 0, arr = 0
    cdef double* a
    cdef int64_t i, n, _it
    cdef int d = min_depth, k = 0
    cdef node_type_t node
    node_type_init(m, &node, GCBENCH_NODE_BYTES, GCBENCH_NODE_MASK)
    # Stretch the memory space quickly
    make_tree(m, stretch_depth, &node, &t)
    # Create a long lived object (a stack Node; escape analysis keeps it off the heap)
    populate_stack_node(m, &node, long_lived_depth, fr)
    # Create long-lived array, filling half of it
    new_object(m, <uint64_t>array_size * 8, NULL, 0, &arr)
    sset(m, fr + 2, arr)
    a = <double*>addr_ptr(m.h, arr)
    for i in range(array_size // 2):
        a[i] = 1.0 / <double>i
    while d <= max_depth:
        # TimeConstruction(d)
        n = 2 * tree_size(stretch_depth) // tree_size(d)
        iters[k] = n
        for _it in range(n):
            new_node(m, &node, &t)      # tempTree := &Node{}
            sset(m, fr + 3, t)
            populate(m, &node, d, t)
            sset(m, fr + 3, 0)          # sink = tempTree; sink = nil
        for _it in range(n):
            make_tree(m, d, &node, &t)
        k += 1
        d += 2
    results[0] = 1
    if sget(m, fr) != 0:
        results[0] += item_check(m.h, sget(m, fr)) + item_check(m.h, sget(m, fr + 1))
    results[1] = array_size > 1000 and a[1000] == 1.0 / 1000
    frame_pop(m, fr)
    node_type_done(m, &node)
    return 0


def gcbench_kernel(Mutator mut, int stretch_depth, int long_lived_depth, int64_t array_size,
                   int min_depth, int max_depth, int64_t[::1] iters, int64_t[::1] results):
    """Run GCBench on *mut*. Needs ``2 * (max(stretch, long_lived, max) + 2) + 4`` words."""
    if iters.shape[0] < (max_depth - min_depth) // 2 + 1 or results.shape[0] < 2:
        raise ValueError("iters/results too short")
    if array_size < 1:
        raise ValueError("array_size must be positive")
    try:
        with nogil:
            gcbench_main(&mut.m, stretch_depth, long_lived_depth, array_size, min_depth,
                         max_depth, &iters[0], &results[0])
    finally:
        mut.m.types = NULL              # (raised: its node type's frame is gone, flushed)


# ---------------------------------------------------------------------------------------
# Linked list and random graph

def linked_list_kernel(Mutator mut, int64_t n):
    """Allocate *n* list nodes linked in allocation order.

    Stack words: ``head`` (word 0, left set for the caller to pick up), ``tail`` (word 1).
    Returns the number of nodes reachable from head (walked after building).
    """
    cdef mutator_t* m = &mut.m
    cdef uint64_t x = 0, tail = 0
    cdef int64_t i, length = 0
    cdef intp_t fr
    with nogil:
        fr = frame_push(m, 2)
        for i in range(n):
            new_object(m, LIST_NODE_BYTES, LIST_NODE_MASK, 4, &x)
            if i == 0:
                sset(m, fr, x)
            else:
                store(m.h, tail, x)
            tail = x
            sset(m, fr + 1, tail)
        sset(m, fr + 1, 0)
        x = sget(m, fr)
        while x != 0:
            length += 1
            x = load(m.h, x)
    return length


def random_graph_kernel(Mutator mut, int64_t n, int degree, const int64_t[:, ::1] targets):
    """``nodes := make([]*GraphNode, n)``; one 32-byte node per entry; edges by *targets*.

    Node i's pointer word k points to ``nodes[targets[i, k]]``. Stack word 0 holds the
    ``nodes`` array (left set for the caller). Every node is stored into the array as
    soon as it is allocated, so all of them are reachable through it.
    """
    cdef mutator_t* m = &mut.m
    cdef uint64_t arr = 0, x = 0, nd
    cdef int64_t i
    cdef int k
    cdef intp_t fr
    cdef const uint8_t* gmask
    cdef uint8_t mask[4]                # struct { edges [degree]*GraphNode; pad [4-degree]int }
    if degree < 0 or degree > 4:
        raise ValueError("degree must be in 0..4")
    for k in range(4):
        mask[k] = k < degree
    gmask = &mask[0] if degree > 0 else NULL
    if n > 0 and (targets.shape[0] != n or targets.shape[1] != degree):
        raise ValueError("targets must have shape (n, degree)")
    with nogil:
        fr = frame_push(m, 1)
        new_object(m, <uint64_t>n * 8, PTR_WORDS, 1, &arr)
        sset(m, fr, arr)
        for i in range(n):
            new_object(m, GRAPH_NODE_BYTES, gmask, 4, &x)
            store(m.h, arr + 8 * i, x)
        for i in range(n):
            nd = load(m.h, arr + 8 * i)
            for k in range(degree):
                store(m.h, nd + 8 * k, load(m.h, arr + 8 * targets[i, k]))
    return arr


# ---------------------------------------------------------------------------------------
# Trace replay

cdef enum TraceError:
    TE_OK = 0
    TE_OP = 1             # unknown op
    TE_ID = 2             # id < 0
    TE_PTRFLAG = 3        # pointers not 0 or 1
    TE_PTRSIZE = 4        # pointerful object whose size is 0 or not a multiple of 8
    TE_SIZE = 5           # larger than the heap can ever hold
    TE_LIVE = 6           # alloc of an id that is live
    TE_NOTLIVE = 7        # store/drop of an id that is not live
    TE_NOSCAN = 8         # store into a pointer-free object
    TE_ALIGN = 9          # offset not a multiple of 8
    TE_BOUNDS = 10        # offset + 8 > size
    TE_TARGET = 11        # target < -1
    TE_TARGET_DEAD = 12   # target is not a live object

TRACE_ERRORS = {
    TE_OP: "unknown op {op} (0 alloc, 1 store, 2 drop, 3 gc)",
    TE_ID: "id {id} is negative",
    TE_PTRFLAG: "pointers must be 0 or 1, not {pointers}",
    TE_PTRSIZE: "a pointerful object's size must be a positive multiple of 8, not {size}",
    TE_SIZE: "size {size} is larger than the heap's arena ({cap} bytes)",
    TE_LIVE: "alloc of id {id}, which is already live (drop it first)",
    TE_NOTLIVE: "id {id} is not a live object (never allocated, or dropped)",
    TE_NOSCAN: "store into id {id}, which was allocated without pointers",
    TE_ALIGN: "store offset {offset} is not 8-byte aligned",
    TE_BOUNDS: "store offset {offset} is outside id {id} (size {osize}): a word at offset+8 > size",
    TE_TARGET: "target {target} is not an id (or -1 for nil)",
    TE_TARGET_DEAD: "target id {target} is not a live object",
}


def validate_trace(const uint8_t[::1] op, const int64_t[::1] ids, const int64_t[::1] dense,
                   const uint64_t[::1] size, const uint8_t[::1] pointers,
                   const int64_t[::1] target, const int64_t[::1] tdense,
                   const uint32_t[::1] offset, int64_t nid, uint64_t max_size):
    """Check a whole trace without touching the heap; ``(row, code, osize)`` of the first
    bad row (``code`` a key of TRACE_ERRORS, ``osize`` the size of the store's object), or
    ``(-1, 0, 0)``.

    ``dense[row]`` / ``tdense[row]`` number the ids ``0..nid-1`` (-1: no id on this row /
    nil target, -2: a target id that no row ever allocates).
    """
    cdef intp_t n = op.shape[0], row
    cdef int code = TE_OK
    cdef int64_t k, t
    cdef uint64_t osz = 0
    live_a = np.zeros(max(nid, 1), dtype=np.uint8)
    psize_a = np.zeros(max(nid, 1), dtype=np.uint64)
    pflag_a = np.zeros(max(nid, 1), dtype=np.uint8)
    cdef uint8_t[::1] live = live_a
    cdef uint64_t[::1] psize = psize_a
    cdef uint8_t[::1] pflag = pflag_a
    with nogil:
        for row in range(n):
            if op[row] > OP_GC:
                code = TE_OP
                break
            if op[row] == OP_GC:
                continue
            if ids[row] < 0:
                code = TE_ID
                break
            k = dense[row]
            if op[row] == OP_ALLOC:
                if pointers[row] > 1:
                    code = TE_PTRFLAG
                    break
                if pointers[row] and (size[row] == 0 or size[row] & 7):
                    code = TE_PTRSIZE
                    break
                if size[row] > max_size:
                    code = TE_SIZE
                    break
                if live[k]:
                    code = TE_LIVE
                    break
                live[k] = 1
                psize[k] = size[row]
                pflag[k] = pointers[row]
            elif op[row] == OP_DROP:
                if not live[k]:
                    code = TE_NOTLIVE
                    break
                live[k] = 0
            else:                                  # store
                if not live[k]:
                    code = TE_NOTLIVE
                    break
                osz = psize[k]
                if not pflag[k]:
                    code = TE_NOSCAN
                    break
                if offset[row] & 7:
                    code = TE_ALIGN
                    break
                if <uint64_t>offset[row] + 8 > psize[k]:
                    code = TE_BOUNDS
                    break
                t = target[row]
                if t < -1:
                    code = TE_TARGET
                    break
                if t >= 0 and (tdense[row] < 0 or not live[tdense[row]]):
                    code = TE_TARGET_DEAD
                    break
    if code != TE_OK:
        return (row, code, osz)
    return (-1, 0, 0)


# The prefetch helpers return addresses, fetched by the caller: a function whose only
# effect is a prefetch is "pure" to GCC, which deletes the call (it did, until the eighth
# pass: the replay's root-slot prefetch was never in the built code).

cdef inline intp_t root_reused_ahead(const mheap_t* h) noexcept nogil:
    """The root slot `root_add` reuses ROOT_AHEAD adds from now, or -1 (the free slots
    are a stack: known ahead unless drops push new ones first); its table lines are
    fetched by the caller."""
    if h.root_nfree > ROOT_AHEAD:
        return h.root_stack[h.root_nfree - 1 - ROOT_AHEAD]
    return -1


cdef inline bint own_slot(uint64_t size, bint pointerful) noexcept nogil:
    """An object of *size* bytes has a slot of its own (not zerobase, not a tiny
    sub-allocation): the replay's live set can hold it (`live_add`)."""
    return size != 0 and (pointerful or size >= TINY_SIZE)


cdef inline void hold_drop(mheap_t* h, int64_t v) noexcept nogil:
    """Release a replayed object's hold *v*: a root slot (>= 0) or a live position
    ``pos`` stored as ``-2 - pos`` (-1: none)."""
    if v >= 0:
        root_remove(h, v)
    elif v <= -2:
        live_remove(h, -2 - v)


cdef inline const void* hold_line(const mheap_t* h, int64_t v) noexcept nogil:
    """The line `hold_drop` of *v* reads first (for the caller to fetch), or NULL."""
    cdef int64_t pos
    if v >= 0:
        return &h.root_free[v] if v < h.roots_len else NULL
    if v <= -2:
        pos = -2 - v
        return &h.live_bits[(pos >> LIVE_IDX_BITS) * BITMAP_WORDS
                            + ((pos & ((1 << LIVE_IDX_BITS) - 1)) >> 6)]
    return NULL


cdef inline int replay_alloc(mutator_t* m, uint64_t size, bint ptr, const uint64_t* pw,
                             bint clean, uint64_t* out) except -1 nogil:
    """One replayed allocation of *size* bytes (pointerful: the first ``pw[0]`` words may
    hold pointers, all when *pw* is NULL). *clean*: nothing will write the object (a
    trace replay's, held by the live set), so its span stays clean (``page_dirty``): its
    slots need no zero check when reused. The flag is down again before anything else
    can allocate (`mutator_poll` clears it too, before it calls the runtime; the kernels'
    callers on an error)."""
    m.h.alloc_clean = clean
    if ptr and pw != NULL:
        new_object_prefix(m, size, pw[0], out)
    elif ptr:
        new_object(m, size, PTR_WORDS, 1, out)
    else:
        new_object(m, size, NULL, 0, out)
    m.h.alloc_clean = 0
    return 0


ctypedef fused hold_t:
    int32_t
    int64_t


def release_holds(Heap heap, const hold_t[::1] holds):
    """Release the holds a replay kernel left (``replay_kernel``'s ``slot``,
    ``replay_objects``' int32 ``slot``): root slots (>= 0) and live-set positions (<= -2);
    entries of -1 (no hold) are skipped, so a kernel's whole slot array can be passed."""
    cdef intp_t i
    with heap.lock:
        for i in range(holds.shape[0]):
            hold_drop(&heap.h, holds[i])


cdef inline int new_object_prefix(mutator_t* m, uint64_t size, uint64_t nptr,
                                  uint64_t* out) except -1 nogil:
    """`new_object` for a pointerful object of which only the first *nptr* words may hold
    pointers (a type's ptrdata, Go: abi.Type.PtrBytes): how a replay of a recorded Go
    trace, which has types but no pointer values, models the scan work."""
    m.last_si = mallocgc_prefix(m.h, m.p, size, nptr, out)
    if size == 0:
        return 0
    m.nalloc += 1
    m.nbytes += size
    if m.h.gc_pending or m.nalloc >= m.poll_at:
        return mutator_poll(m, out[0])
    return 0


def replay_kernel(Mutator mut, const uint8_t[::1] op, const int64_t[::1] dense,
                  const uint64_t[::1] size, const uint8_t[::1] pointers,
                  const int64_t[::1] tdense, const uint32_t[::1] offset,
                  uint64_t[::1] addr, int64_t[::1] slot, int64_t[::1] counts,
                  const uint64_t[::1] ptrwords=None, const int64_t[::1] idle_ns=None,
                  bint live=False):
    """Replay a trace that `validate_trace` accepted.

    ``addr[k]`` / ``slot[k]`` hold dense id k's current object and root slot (-1: not
    live); the caller initialises ``slot`` to -1 and, whatever happens, removes the root
    slots that are still ``>= 0`` afterwards (or hands them to a `RootSet`).
    ``counts`` gets the rows done per op (alloc, store, drop, gc). *ptrwords*, if given
    (one entry per row), limits a pointerful allocation's pointer words to its first
    ``ptrwords[row]`` words (`new_object_prefix`); otherwise every word may hold one.
    *idle_ns*, if given (one entry per row), is the time the program was blocked before
    the row: during a mark, the runtime's idle mark workers get it first
    (``Collector.idle_gap``; Go's idle worker marks while the program waits).
    *live* (a trace without stores: nothing but the replay holds its objects): an object
    with a slot of its own is held by the heap's live set (`Heap.use_live_set`, one bit,
    greyed span by span) instead of a root slot; ``slot[k]`` is then ``-2 - position``
    (`release_holds` releases both kinds).
    """
    cdef mutator_t* m = &mut.m
    cdef intp_t n = op.shape[0], row
    cdef int64_t k
    cdef uint64_t a = 0, v
    cdef bint prefix = ptrwords is not None, own = False
    cdef const uint64_t* pw = NULL
    cdef const int64_t* idle = NULL
    if prefix:
        if ptrwords.shape[0] != n:
            raise ValueError("replay_kernel: ptrwords must have one entry per row")
        if n:
            pw = &ptrwords[0]
    if idle_ns is not None:
        if idle_ns.shape[0] != n:
            raise ValueError("replay_kernel: idle_ns must have one entry per row")
        if n:
            idle = &idle_ns[0]
    cdef mheap_t* h = m.h
    cdef intp_t ahead, half = DROP_AHEAD // 2, s
    if live and h.live_bits == NULL:
        raise ValueError("replay_kernel: live needs the heap's live set (Heap.use_live_set)")
    try:
        with nogil:
            for row in range(n):
                # a drop's slot[k] and its root-table entries are random reads (objects die in
                # no particular order): fetched in two steps, some rows before they are used
                ahead = row + DROP_AHEAD
                if ahead < n and op[ahead] == OP_DROP:
                    GR_PREFETCH(&slot[dense[ahead]])
                ahead = row + half
                if ahead < n and op[ahead] == OP_DROP:
                    GR_PREFETCH(hold_line(h, slot[dense[ahead]]))
                k = dense[row]
                if idle != NULL and idle[row] > 0 and m.h.gcphase_mark:
                    with gil:
                        mut.runtime.collector.idle_gap(idle[row])
                if op[row] == OP_ALLOC:
                    own = live and own_slot(size[row], pointers[row])
                    replay_alloc(m, size[row], pointers[row], &pw[row] if prefix else NULL, own, &a)
                    addr[k] = a
                    if own and a - h.arena_start < LIVE32_BYTES:     # as replay_objects
                        slot[k] = -2 - live_add_at(h, m.last_si, a)
                    else:
                        slot[k] = root_add(h, a)
                        s = root_reused_ahead(h)
                        if s >= 0:
                            GR_PREFETCH(&h.root_free[s])
                            GR_PREFETCH(&h.roots[s])
                elif op[row] == OP_STORE:
                    v = addr[tdense[row]] if tdense[row] >= 0 else 0
                    store(h, addr[k] + offset[row], v)
                    h.page_dirty[span_of(h, addr[k])] = 1      # no longer clean
                elif op[row] == OP_DROP:
                    hold_drop(h, slot[k])
                    slot[k] = -1
                else:
                    with gil:
                        mut.runtime.gc(kind="cycle")       # runtime.GC()
                    h = m.h
                counts[op[row]] += 1
    finally:
        h.alloc_clean = 0               # (if an allocation raised)


def merge_op_stream(const int64_t[::1] akey, const int64_t[::1] ident,
                    const int64_t[::1] dkey, const int64_t[::1] ddense,
                    const int64_t[::1] gkey, const int64_t[::1] gtime,
                    const int64_t[::1] birth, const int64_t[::1] death,
                    const uint64_t[::1] req, const uint8_t[::1] ptr,
                    const uint64_t[::1] ptrwords, uint8_t[::1] op, int64_t[::1] dense,
                    int64_t[::1] time, uint64_t[::1] size, uint8_t[::1] pointers,
                    uint64_t[::1] pw):
    """Merge three sorted runs of replay rows into the op stream, in one linear pass.

    Allocations (``akey`` ascending, object ``ident[i]``), drops (``dkey`` ascending,
    object ``ddense[j]``) and GCs (``gkey`` ascending, at ``gtime[g]``) go out in key
    order, each row written once: ``op``, ``dense`` (-1 for a GC), ``time`` (the birth,
    the death or the GC's time), and for an allocation ``size`` / ``pointers`` / ``pw``
    from ``req`` / ``ptr`` / ``ptrwords`` (0 otherwise). Keys of different runs never tie
    (the caller's keys carry a different priority in their low bits). What
    ``goruntime.trace.simulate`` did with six ``searchsorted`` and the scatters they fed.
    """
    cdef intp_t na = akey.shape[0], nd = dkey.shape[0], ng = gkey.shape[0]
    cdef intp_t nobj = birth.shape[0], rows = na + nd + ng, r, i = 0, j = 0, g = 0
    cdef int64_t k, x
    if ident.shape[0] != na or ddense.shape[0] != nd or gtime.shape[0] != ng:
        raise ValueError("merge_op_stream: key and row columns differ in length")
    if death.shape[0] != nobj or req.shape[0] != nobj or ptr.shape[0] != nobj \
            or ptrwords.shape[0] != nobj:
        raise ValueError("merge_op_stream: object columns differ in length")
    if op.shape[0] != rows or dense.shape[0] != rows or time.shape[0] != rows \
            or size.shape[0] != rows or pointers.shape[0] != rows or pw.shape[0] != rows:
        raise ValueError("merge_op_stream: output columns need one entry per row")
    with nogil:
        for r in range(na):
            if ident[r] < 0 or ident[r] >= nobj:
                break
        else:
            r = -1
    if r >= 0:
        raise ValueError("merge_op_stream: an allocation's object is out of range")
    with nogil:
        for r in range(nd):
            if ddense[r] < 0 or ddense[r] >= nobj:
                break
        else:
            r = -1
    if r >= 0:
        raise ValueError("merge_op_stream: a drop's object is out of range")
    with nogil:
        for r in range(rows):
            if i < na and (j >= nd or akey[i] < dkey[j]) and (g >= ng or akey[i] < gkey[g]):
                k = ident[i]
                i += 1
                op[r] = OP_ALLOC
                dense[r] = k
                time[r] = birth[k]
                size[r] = req[k]
                pointers[r] = ptr[k]
                pw[r] = ptrwords[k]
                continue
            if j < nd and (g >= ng or dkey[j] < gkey[g]):
                k = ddense[j]
                j += 1
                op[r] = OP_DROP
                dense[r] = k
                time[r] = death[k]
            else:
                x = gtime[g]
                g += 1
                op[r] = OP_GC
                dense[r] = -1
                time[r] = x
            size[r] = 0
            pointers[r] = 0
            pw[r] = 0


def idle_gaps(const uint8_t[::1] op, const uint64_t[::1] size, const int64_t[::1] time,
              int64_t min_gap, int64_t[::1] out):
    """``out[row]`` := the recorded time since the previous allocation (an ``OP_ALLOC``
    row of nonzero size) for such a row whose gap is at least *min_gap*; other rows are
    left alone (the caller passes zeros). One pass; what the trace replay's idle mark
    worker is given (``goruntime.trace.simulate``)."""
    cdef intp_t n = op.shape[0], row
    cdef int64_t last = 0, gap
    cdef bint seen = False
    if size.shape[0] != n or time.shape[0] != n or out.shape[0] != n:
        raise ValueError("idle_gaps: the columns need one entry per row")
    with nogil:
        for row in range(n):
            if op[row] != OP_ALLOC or size[row] == 0:
                continue
            if seen:
                gap = time[row] - last
                if gap >= min_gap:
                    out[row] = gap
            last = time[row]
            seen = True


cdef struct replay_cursor_t:
    intp_t i                    # allocations done (objects 0 .. i-1 hold their root)
    intp_t j                    # drops done
    intp_t g                    # GCs done
    int64_t last                # the last allocation's time (of nonzero size), for idle gaps
    bint seen                   # ... once one was replayed since idle gaps were turned on


cdef int replay_objects_run(mutator_t* m, Mutator mut, replay_cursor_t* c, intp_t k0,
                            intp_t clen, const int64_t* birth, const uint64_t* req,
                            const uint8_t* ptr, const uint64_t* pw, intp_t na,
                            const int64_t* dkey, const int64_t* ddense, intp_t nd,
                            const int64_t* gkey, intp_t ng, int32_t* slot,
                            int64_t stop_key, int64_t min_gap, int64_t* now,
                            bint live) except -1 nogil:
    """The loop of `replay_objects`; *c* is kept current, so a raise leaves it exact.
    Returns 1 when the chunk is used up, 0 when the replay stopped or ended."""
    cdef mheap_t* h = m.h
    cdef intp_t ahead, half = DROP_AHEAD // 2, x
    cdef bint own
    cdef int64_t k, ak, dk, gk, gap, b
    cdef uint64_t a = 0, size
    cdef intp_t r
    while True:
        if c.i < na:
            x = c.i - k0
            if x >= clen:
                return 1
            ak = (birth[x] + 1) * 4 + 2
        else:
            ak = INT64_MAX
        dk = dkey[c.j] if c.j < nd else INT64_MAX
        gk = gkey[c.g] if c.g < ng else INT64_MAX
        if ak < dk and ak < gk:                 # an allocation (keys of two runs never tie)
            if ak >= stop_key:
                return 0
            b = birth[x]
            size = req[x]
            if size != 0:
                if min_gap > 0:                 # the idle mark worker's time (idle_gaps)
                    if c.seen:
                        gap = b - c.last
                        if gap >= min_gap and m.h.gcphase_mark:
                            with gil:
                                mut.runtime.collector.idle_gap(gap)
                    c.last = b
                    c.seen = True
                if now != NULL:                 # the clock reads the recorded time
                    now[2] = now[0]
                    now[0] = b
                    now[1] += 1
            own = live and own_slot(size, ptr[x])
            replay_alloc(m, size, ptr[x], &pw[x] if pw != NULL else NULL, own, &a)
            # a live position below LIVE32_BYTES fits the int32 slot; an object above
            # (a heap over 16 GiB) takes a root slot
            if own and a - h.arena_start < LIVE32_BYTES:
                slot[c.i] = <int32_t>(-2 - live_add_at(h, m.last_si, a))
            else:
                r = root_add(h, a)
                if r > INT32_MAX:
                    with gil:
                        raise MemoryError("replay_objects: more than 2**31 root slots")
                slot[c.i] = <int32_t>r
                r = root_reused_ahead(h)
                if r >= 0:
                    GR_PREFETCH(&h.root_free[r])
                    GR_PREFETCH(&h.roots[r])
            c.i += 1
        elif dk < gk:                           # a drop
            if dk >= stop_key:
                return 0
            # a drop's slot and its root-table entries are random reads (objects die in
            # no particular order): fetched in two steps, some drops before they are used
            ahead = c.j + DROP_AHEAD
            if ahead < nd:
                GR_PREFETCH(&slot[ddense[ahead]])
            ahead = c.j + half
            if ahead < nd:
                GR_PREFETCH(hold_line(h, slot[ddense[ahead]]))
            k = ddense[c.j]
            if k < 0 or k >= c.i:               # not allocated (yet): a malformed run
                with gil:
                    raise ValueError("replay_objects: a drop's object is not allocated")
            hold_drop(h, slot[k])
            slot[k] = -1
            c.j += 1
        elif gk != INT64_MAX:                   # runtime.GC()
            if gk >= stop_key:
                return 0
            c.g += 1
            with gil:
                mut.runtime.gc(kind="cycle")
            h = m.h
        else:
            return 0


def replay_objects(Mutator mut, intp_t k0, const int64_t[::1] birth, const uint64_t[::1] req,
                   const uint8_t[::1] ptr, const uint64_t[::1] ptrwords, intp_t na,
                   const int64_t[::1] dkey, const int64_t[::1] ddense,
                   const int64_t[::1] gkey, int32_t[::1] slot, int64_t[::1] state,
                   int64_t stop_key, int64_t min_gap=0, int64_t[::1] now=None,
                   bint live=False):
    """`replay_kernel` of the op stream `merge_op_stream` would build, without building
    it: the three sorted runs are merged as the replay goes (a recorded trace's replay,
    ``goruntime.trace.simulate``), so no row of the stream is ever written.

    Allocations: the *na* objects 0, 1, ... in order, key ``(birth + 1) * 4 + 2``; this
    call has the columns of objects ``k0 ..`` (a chunk: ``birth`` time, ``req`` size,
    ``ptr`` / ``ptrwords`` as `new_object_prefix` takes them). Drops: the objects
    ``ddense`` with keys ``dkey``; GCs: the keys ``gkey``; all ascending. The smallest
    key goes next (keys of two runs never tie), so the heap sees exactly the calls
    `replay_kernel` makes for the merged stream. ``slot[k]`` gets object k's root slot
    at its allocation (-1 after its drop).

    ``state`` (5 int64: allocations, drops, GCs done, the last allocation time, whether
    one was seen) is read at the start and written back at the end, also when the replay
    raises; the objects below ``state[0]`` whose slot is ``>= 0`` then hold a root, which
    the caller removes. Returns 1 when the next allocation is past the chunk (call again
    with the next, from ``k0 = state[0]``), 0 when the replay ended or stopped before
    the first row whose key is ``>= stop_key``. *min_gap* > 0 gives the idle mark worker
    each gap of at least *min_gap* ns between two allocations of nonzero size
    (`idle_gaps`) during a mark. *now* (3 int64), if given, follows the allocations of
    nonzero size: the time of the last one begun, how many were begun, the time of the
    one before (`goruntime.trace.simulate.TraceClock` reads it). *live*: objects with a
    slot of their own are held by the heap's live set, ``slot[k] = -2 - position``
    (`replay_kernel`'s *live*; `release_holds`).
    """
    cdef intp_t clen = birth.shape[0], nd = dkey.shape[0], ng = gkey.shape[0]
    cdef replay_cursor_t c
    cdef int rc = 0
    if req.shape[0] != clen or ptr.shape[0] != clen or ptrwords.shape[0] != clen:
        raise ValueError("replay_objects: the object columns differ in length")
    if ddense.shape[0] != nd:
        raise ValueError("replay_objects: dkey and ddense differ in length")
    if state.shape[0] != 5:
        raise ValueError("replay_objects: state needs 5 entries")
    if slot.shape[0] < na:
        raise ValueError("replay_objects: slot needs an entry per object")
    if now is not None and now.shape[0] != 3:
        raise ValueError("replay_objects: now needs 3 entries")
    if live and mut.m.h.live_bits == NULL:
        raise ValueError("replay_objects: live needs the heap's live set (Heap.use_live_set)")
    c.i, c.j, c.g, c.last, c.seen = state[0], state[1], state[2], state[3], state[4] != 0
    if c.i < 0 or c.i > na or c.j < 0 or c.j > nd or c.g < 0 or c.g > ng \
            or k0 < 0 or c.i < k0 or (c.i < na and c.i - k0 > clen):
        raise ValueError("replay_objects: state out of range")
    try:
        rc = replay_objects_run(&mut.m, mut, &c, k0, clen, &birth[0] if clen else NULL,
                                &req[0] if clen else NULL, &ptr[0] if clen else NULL,
                                &ptrwords[0] if clen else NULL, na,
                                &dkey[0] if nd else NULL, &ddense[0] if nd else NULL, nd,
                                &gkey[0] if ng else NULL, ng, &slot[0] if na else NULL,
                                stop_key, min_gap, &now[0] if now is not None else NULL,
                                live)
    finally:
        mut.m.h.alloc_clean = 0         # (if an allocation raised)
        state[0], state[1], state[2], state[3], state[4] = c.i, c.j, c.g, c.last, c.seen
    return rc

cdef class RootSet:
    """RootSet()\n--

    Objects kept alive on behalf of Python: a set of root-table slots, released when this
    object is garbage collected by Python or `release` is called (Python handles work
    the same way, one slot each). ``addrs`` lists the addresses held.
    """
    cdef Heap heap
    cdef object _slots          # np.ndarray[int64]
    cdef readonly object addrs  # np.ndarray[uint64], read-only

    @staticmethod
    def adopt(Heap heap, slots, addrs):
        """Take ownership of root *slots* (already holding *addrs*)."""
        cdef RootSet r = RootSet.__new__(RootSet)
        r.heap = heap
        r._slots = np.ascontiguousarray(slots, dtype=np.int64)
        a = np.array(addrs, dtype=np.uint64)
        a.flags.writeable = False
        r.addrs = a
        return r

    def release(self):
        """Unroot everything now (idempotent)."""
        if self._slots is None or self.heap is None:
            return
        with self.heap.lock:
            self._remove()

    def __len__(self):
        return 0 if self._slots is None else len(self._slots)

    def __repr__(self):
        return "<RootSet of %d objects>" % len(self)

    def __dealloc__(self):
        if self._slots is not None and self.heap is not None:
            if self.heap.threaded:             # the collector may be scanning the table
                with self.heap.lock:
                    self._remove()
            else:
                self._remove()

    cdef void _remove(self) noexcept:
        cdef int64_t[::1] s = self._slots
        cdef intp_t i
        for i in range(s.shape[0]):
            root_remove(&self.heap.h, s[i])
        self._slots = None
