# cython: embedsignature=True
"""Memory allocator: Go 1.27.3's heap (linux/amd64, Green Tea on), over a numpy arena.

This is the ``malloc.go`` / ``mheap.go`` / ``mcache.go`` / ``mcentral.go`` analogue.

The arena
    One numpy array reserved up front (``arena_cap`` bytes, lazily backed by the OS) and
    never moved or resized, so every view handed out stays valid. It and the metadata
    sized for the whole reservation (span records, bitmaps, page table) are fresh
    anonymous mappings (`zeroed`): no page is touched until the heap uses it, and each is
    unmapped when the heap is freed. Address ``a`` of the
    emulated Go heap is byte ``a - 0xc000000000`` of the arena, so a pointer word stored in
    the arena is a real, Go-looking address. The heap *grows* (HeapSys) in Go's 4 MiB
    chunks inside that reservation; newly grown memory starts out released, as in Go.

Pages and spans
    The arena is cut into 8 KiB pages. A span is a run of pages holding objects of one span
    class (``sizeclass << 1 | noscan``). The span record lives at the index of its first
    page, so ``page_to_span[page]`` is both the page -> span map and the span's index.
    Free pages are found lowest address first (Go's page allocator), with a search hint.

Size classes
    The 68 classes come from Go's generated table (``_sizeclasses.h``). Objects per span
    follow the Green Tea columns: spans of 16..512-byte objects lose 128 bytes to inline
    mark bits, pointerful spans of <= 512-byte objects another 128 to heap bits (spec 1.5).
    Pointerful objects over 512 bytes carry an 8-byte malloc header at the start of their
    slot, and the address handed out is ``slot + 8`` (spec 1.6). Requests over 32760 bytes
    get a large span of their own (spec 1.7). Pointer-free requests under 16 bytes use the
    tiny allocator (spec 1.8). Size 0 returns ``ZEROBASE`` and allocates nothing (spec 1.9).

mcache, mcentral, stats
    Each P has an mcache: one cached span per span class and the tiny block. Slots are
    handed out in ascending address order from the alloc bits. When the cached span is
    full it is *refilled*: the outgoing span's used slots are added to
    ``small_alloc_count`` (the only moment small allocations are counted, besides a full
    flush), the incoming span comes from the mcentral's partial list (FIFO) or from fresh
    pages, its free bytes are added to ``heap_live`` (Go's deliberate overestimate), and
    the GC trigger is checked. ``release_all`` (ReadMemStats, each GC's mark termination)
    uncaches everything and drops the tiny block. The counters are Go's consistent
    ``heapStatsDelta`` (spec 2.1) and update at the moments Go updates them.

Pointer bits
    One bit per arena word says "this word holds a pointer" (Go keeps the same bits in the
    span for small objects and behind the type for the others). They are written at
    allocation from the type's GC mask, so marking is precise.

Zeroing
    Memory is zeroed when it is handed out, and only if it may hold data: a fresh span's
    pages if a freed span left them dirty (``page_dirty``), a reused slot if its span's
    ``needzero`` says a sweep freed slots that may have been written. Whether a span was
    written is its first page's ``page_dirty`` while it is in use, set by every
    allocation path but a trace replay's (``alloc_clean``: nothing writes those objects)
    and by the heap's raw stores; a clean span's freed slots and pages are zero still,
    so they are neither cleared nor checked (Go: mspan.needzero, heapArena.zeroedBase).
    A check reads before it writes, so a page never written stays the OS's zero page.

Roots
    A Python handle is a stack root for as long as it lives: it owns one slot of the root
    table (O(1) add/remove through a free list). The collector scans the table. A slot in
    use is tagged with its owner: the bulk API's ``remove_root`` gives back only the slots
    ``add_root`` (or Cython code) took, never a handle's (``ROOT_HANDLE``). A trace
    replay holds its objects in the live set instead (``use_live_set``: a bit per slot,
    like the alloc bits, set and cleared by the replay kernel, greyed span by span by the
    mark); they count in ``nroots`` as the roots they stand for.

Deliberate simplifications (the docs list them): one heap arena reservation instead of
64 MiB arenas; Go's per-P page cache and the randomised heap base are not modelled;
sweeping is done eagerly at the end of each cycle (Go sweeps lazily, so frees trickle in
after a heap-triggered GC; after ``runtime.GC()`` both agree).

Mapping to Go (src/runtime): mallocgc ~ mallocgc (malloc.go); malloc_tiny ~ mallocgcTiny;
malloc_small ~ mallocgcSmall*; malloc_large ~ mallocgcLarge / mheap.allocLarge;
refill ~ mcache.refill; release_all ~ mcache.releaseAll; cache_span ~ mcentral.cacheSpan;
page_alloc ~ pageAlloc.alloc; heap_grow ~ mheap.grow.
"""
import os
import threading

cimport cython

import numpy as np

from libc.string cimport memset, memcpy, memcmp
from cpython.mem cimport PyMem_RawRealloc, PyMem_RawFree
from cpython.number cimport PyNumber_Index
from cpython.pythread cimport PyThread_get_thread_ident
from cpython.object cimport PyObject
from cpython.buffer cimport PyBuffer_FillInfo

cdef extern from *:
    """
    #if defined(__GLIBC__)
    #include <malloc.h>
    static void gr_malloc_trim(void) { malloc_trim(0); }
    #else
    static void gr_malloc_trim(void) {}
    #endif
    """
    void gr_malloc_trim() nogil


cdef extern from "sys/mman.h" nogil:
    int madvise(void* addr, size_t length, int advice)
    int munmap(void* addr, size_t length)
    enum: MADV_DONTNEED

cdef extern from *:
    """
    #include <sys/mman.h>
    /* Fresh private anonymous memory: every page reads as zeros and is backed only when
       first touched. *huge*: ask for transparent huge pages past the first 2 MiB (a small
       heap touches only the start of each array: a huge page there would clear 2 MiB for
       a few words). NULL when the kernel refuses. */
    #define GR_HUGE_PAGE ((size_t)2 << 20)
    static void* gr_map_zeroed(size_t n, int huge) {
        void* p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            return NULL;
    #ifdef MADV_HUGEPAGE
        if (huge && n > GR_HUGE_PAGE)
            madvise((char*)p + GR_HUGE_PAGE, n - GR_HUGE_PAGE, MADV_HUGEPAGE);
    #else
        (void)huge;
    #endif
        return p;
    }
    """
    void* gr_map_zeroed(size_t n, int huge) nogil


cdef void zero_memory(void* p, size_t n) noexcept nogil:
    """Make *n* bytes at *p* (private anonymous memory: numpy's or the arena's) read as
    zeros: its whole pages given back (``MADV_DONTNEED``: untouched ones cost nothing,
    where a memset faulted them in), the partial pages at either end cleared."""
    cdef size_t a = <size_t>p, lo = (a + 4095) & ~(<size_t>4095), hi = (a + n) & ~(<size_t>4095)
    if hi <= lo or madvise(<void*>lo, hi - lo, MADV_DONTNEED) != 0:
        memset(p, 0, n)
        return
    memset(p, 0, lo - a)
    memset(<void*>hi, 0, a + n - hi)

@cython.final
cdef class _Mapping:
    """A fresh anonymous mapping of *n* bytes (``mmap``), unmapped when the last numpy array
    over it is freed. Its pages read as zeros and cost nothing until first touched: a new
    heap's arrays need no zero-filling (Go: sysReserve; the heap's metadata is sized for the
    whole reservation, and a small program touches a few pages of it)."""
    cdef void* p
    cdef size_t n

    def __cinit__(self, size_t n, bint huge):
        if n == 0:
            n = 1
        self.p = gr_map_zeroed(n, huge)
        if self.p == NULL:
            raise MemoryError("runtime: out of memory: cannot map %d bytes of heap memory" % n)
        self.n = n

    def __dealloc__(self):
        if self.p != NULL:
            munmap(self.p, self.n)
            self.p = NULL

    def __getbuffer__(self, Py_buffer* buf, int flags):
        PyBuffer_FillInfo(buf, self, self.p, <Py_ssize_t>self.n, 0, flags)

    def __releasebuffer__(self, Py_buffer* buf):
        pass


cdef size_t HUGE_MIN = 4 << 20      # numpy asks for huge pages for arrays this large
cdef size_t HUGE_PAGE = 2 << 20     # the arena starts on a huge page (x86-64's 2 MiB)


cdef object zeroed(intp_t count, dtype):
    """A numpy array of *count* zero items of *dtype* on its own fresh mapping
    (`_Mapping`, the array's base), with huge pages asked for as numpy asks for them for
    its own arrays (4 MiB or more, unless numpy's hint is off)."""
    dt = np.dtype(dtype)
    cdef size_t nbytes = <size_t>count * dt.itemsize
    return np.frombuffer(_Mapping(nbytes, nbytes >= HUGE_MIN and _numpy_hugepage()),
                         dtype=dt, count=count)


def _numpy_hugepage():
    """numpy's transparent-huge-page setting (``NUMPY_MADVISE_HUGEPAGE``)."""
    try:
        from numpy._core.multiarray import _get_madvise_hugepage
    except ImportError:                  # numpy 1.x
        from numpy.core.multiarray import _get_madvise_hugepage
    return bool(_get_madvise_hugepage())


SPAN_DTYPE = np.dtype([
    ("base", np.uint64), ("elemsize", np.uint64), ("divmul", np.uint32),
    ("nelems", np.uint32), ("alloc_count", np.uint32), ("freeindex", np.uint32),
    ("alloc_count_before_cache", np.uint32), ("npages", np.uint32), ("sweepgen", np.uint32),
    ("next", np.int32), ("prev", np.int32), ("cached_by", np.int32),
    ("spanclass", np.uint8), ("state", np.uint8), ("needzero", np.uint8), ("in_partial", np.uint8),
    ("seq", np.uint32),
], align=True)
if SPAN_DTYPE.itemsize != sizeof(mspan_t):       # fail at import, not in a notebook later
    raise ImportError("goruntime: SPAN_DTYPE does not match mspan_t in _heap.pxd; run `make build`")

MCACHE_DTYPE = np.dtype([("alloc", np.int32, NUM_SPAN_CLASSES), ("tiny", np.uint64),
                         ("tinyoffset", np.uint64), ("tiny_allocs", np.uint64)], align=True)
if MCACHE_DTYPE.itemsize != sizeof(mcache_t):
    raise ImportError("goruntime: MCACHE_DTYPE does not match mcache_t in _heap.pxd; run `make build`")

ARENA_START = 0xc000000000
ZERO_BASE = ZEROBASE
PAGE_BYTES = PAGE_SIZE
CHECKS = bool(GORUNTIME_CHECKS)

SIZE_CLASS_TO_SIZE = tuple(class_to_size[i] for i in range(NUM_SIZE_CLASSES))
SIZE_CLASS_TO_NPAGES = tuple(class_to_npages[i] for i in range(NUM_SIZE_CLASSES))
SIZE_CLASS_TO_NELEMS_NOSCAN = tuple(class_to_nelems_noscan[i] for i in range(NUM_SIZE_CLASSES))
SIZE_CLASS_TO_NELEMS_SCAN = tuple(class_to_nelems_scan[i] for i in range(NUM_SIZE_CLASSES))


def default_arena_cap():
    """Half the machine's RAM, in whole 64 MiB heap arenas (at least 256 MiB).

    Test-only: ``GORUNTIME_TEST_ARENA_CAP`` (bytes, set by the test suite's conftest.py)
    replaces it, so the suite's many runtimes, in-process and in the CLI, notebook and
    Dask subprocesses, need not each map and page-table half the RAM (HACKING.md, "Tests
    on a loaded machine"). Not a user knob: pass ``arena_cap`` instead."""
    test_cap = os.environ.get("GORUNTIME_TEST_ARENA_CAP")
    if test_cap:
        try:
            return int(test_cap, 0)
        except ValueError:
            raise ValueError("GORUNTIME_TEST_ARENA_CAP must be an int (bytes), not %r"
                             % test_cap) from None
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        ram = 8 << 30
    return max(256 << 20, (ram // 2) // (64 << 20) * (64 << 20))


# ---------------------------------------------------------------------------------------
# Size classes (Go: internal/runtime/gc SizeToSizeClass8/128)

cdef int size_to_class_search(uint64_t size) noexcept nogil:
    """Smallest size class whose size is >= *size* (1 <= size <= 32768), by bisection."""
    cdef int lo = 1, hi = NUM_SIZE_CLASSES - 1, mid
    while lo < hi:
        mid = (lo + hi) >> 1
        if class_to_size[mid] >= size:
            hi = mid
        else:
            lo = mid + 1
    return lo


# Go's lookup tables (sizeclasses.go: size_to_class8 up to smallSizeMax = 1024 in steps of
# 8, size_to_class128 above it in steps of 128), filled from class_to_size by the search
# above: every class size <= 1024 is a multiple of 8 and every larger one of 128, so the
# class of size s is the class of s rounded up to the step.
cdef enum:
    SMALL_SIZE_MAX = 1024
    LARGE_SIZE_DIV = 128
    N_CLASS8 = 129              # SMALL_SIZE_MAX / 8 + 1
    N_CLASS128 = 249            # (32768 - SMALL_SIZE_MAX) / LARGE_SIZE_DIV + 1
cdef uint8_t size_to_class8[N_CLASS8]
cdef uint8_t size_to_class128[N_CLASS128]


cdef void init_size_tables() noexcept nogil:
    cdef intp_t i
    for i in range(N_CLASS8):
        size_to_class8[i] = <uint8_t>size_to_class_search(<uint64_t>(i * 8 if i else 1))
    for i in range(N_CLASS128):
        size_to_class128[i] = <uint8_t>size_to_class_search(<uint64_t>(SMALL_SIZE_MAX + i * LARGE_SIZE_DIV))


init_size_tables()


cdef int size_to_class(uint64_t size) noexcept nogil:
    """Smallest size class whose size is >= *size* (1 <= size <= 32768). Go: the
    size_to_class8 / size_to_class128 lookups of mallocgc."""
    if size <= SMALL_SIZE_MAX:
        return size_to_class8[(size + 7) >> 3]
    if size <= 32768:
        return size_to_class128[(size - SMALL_SIZE_MAX + LARGE_SIZE_DIV - 1) // LARGE_SIZE_DIV]
    return size_to_class_search(size)


def size_class(uint64_t size, bint noscan):
    """How Go places a request (spec 1.4).

    Returns ``(kind, sizeclass, slot_bytes, header)`` where kind is one of ``"zero"``,
    ``"tiny"``, ``"small"`` and ``"large"``; ``slot_bytes`` is what the allocation costs in
    TotalAlloc/HeapAlloc (the 16-byte block for tiny, header included for small, whole
    pages for large).
    """
    cdef uint64_t n = size
    if size == 0:
        return ("zero", 0, 0, False)
    if size > SMALL_CUTOFF:
        return ("large", 0, (size + PAGE_SIZE - 1) // PAGE_SIZE * PAGE_SIZE, False)
    if noscan and size < TINY_SIZE:
        return ("tiny", 2, TINY_SIZE, False)
    header = (not noscan) and size > MIN_SIZE_FOR_MALLOC_HEADER
    if header:
        n += MALLOC_HEADER_SIZE
    c = size_to_class(n)
    return ("small", c, class_to_size[c], header)


cdef inline uint32_t nelems_for(int spc) noexcept nogil:
    cdef int c = spc >> 1
    if spc & 1:
        return class_to_nelems_noscan[c]
    return class_to_nelems_scan[c]


# ---------------------------------------------------------------------------------------
# Page allocator (Go: mpagealloc.go), heap growth (mheap.grow)

cdef int throw_oom(mheap_t* h, uint64_t nbytes) except -1 with gil:
    raise MemoryError("runtime: out of memory: cannot allocate %d-byte block (%d in use)"
                      % (nbytes, h.heap_inuse))


cdef enum:
    SUM_BITS = 10                                # a run of up to 1023 pages (a chunk: 512)
    SUM_MASK = (1 << SUM_BITS) - 1
    CHUNK_WORDS = CHUNK_PAGES // 64              # page_inuse words per chunk


cdef inline uint32_t sum_pack(intp_t start, intp_t most, intp_t end) noexcept nogil:
    """A summary (Go: packPallocSum): the free run at the start, the longest, at the end."""
    return <uint32_t>(start | (most << SUM_BITS) | (end << (2 * SUM_BITS)))


cdef inline uint32_t word_summary(uint64_t free) noexcept nogil:
    """The summary of 64 pages whose free ones are the 1 bits of *free*."""
    cdef intp_t most = 0
    cdef uint64_t x = free
    if free == 0:
        return 0
    if free == <uint64_t>0xFFFFFFFFFFFFFFFF:
        return sum_pack(64, 64, 64)
    while x:                                      # each step shortens every run by one
        x &= x >> 1
        most += 1
    return sum_pack(GR_CTZ64(~free), most, GR_CLZ64(~free))


cdef void summarize(mheap_t* h, intp_t p0, intp_t p1) noexcept nogil:
    """Recompute the summaries of the words and chunks holding pages [p0, p1) after
    their in-use bits changed (Go: pageAlloc.update)."""
    cdef intp_t w, c, k, st, most, en, a, b, e
    cdef uint32_t x
    if p1 <= p0:
        return
    for w in range(p0 >> 6, ((p1 - 1) >> 6) + 1):
        h.word_sum[w] = word_summary(~h.page_inuse[w])
    for c in range((p0 >> 9), ((p1 - 1) >> 9) + 1):
        st = most = en = 0
        for k in range(CHUNK_WORDS):              # merge the words left to right
            x = h.word_sum[c * CHUNK_WORDS + k]
            a = x & SUM_MASK
            b = (x >> SUM_BITS) & SUM_MASK
            e = x >> (2 * SUM_BITS)
            if st == k * 64:                      # free from the chunk's first page so far
                st += a
            if en + a > most:
                most = en + a
            if b > most:
                most = b
            en = en + 64 if a == 64 else e
        h.chunk_sum[c] = sum_pack(st, most, en)


cdef intp_t find_free_run(mheap_t* h, intp_t npages) noexcept nogil:
    """Lowest page index starting a run of *npages* free mapped pages, or -1 (Go:
    pageAlloc.find over its summaries). From the chunk of ``search_hint`` (no free page
    lies below it), a chunk at a time: the run carried in from below either reaches
    *npages* with the chunk's start run, or the chunk's longest run fits (then its words
    are searched the same way, and inside one word the windows of *npages* free pages
    are found by and-ing the free bits with themselves shifted), or the carried run
    becomes the chunk's end run (the whole chunk, if it is all free)."""
    cdef intp_t c, nc = h.mapped_pages >> 9, carry = 0, cstart = 0, st, en, w, k, sh
    cdef intp_t lo = h.search_hint
    cdef uint32_t x
    cdef uint64_t y
    if npages <= 0:
        return -1
    # no run this long starts below run_hint (`note_free_pages`): a run carried into its
    # chunk from below is shorter, so the search starts there with nothing carried
    if npages <= RUN_HINTS and h.run_hint[npages] > lo:
        lo = h.run_hint[npages]
    for c in range(lo >> 9, nc):
        x = h.chunk_sum[c]
        st = x & SUM_MASK
        if carry + st >= npages:
            return cstart if carry else c << 9
        if <intp_t>((x >> SUM_BITS) & SUM_MASK) >= npages:
            break                                 # the run is inside this chunk
        en = x >> (2 * SUM_BITS)
        if st == CHUNK_PAGES:
            if carry == 0:
                cstart = c << 9
            carry += CHUNK_PAGES
        else:
            carry = en
            cstart = (c << 9) + CHUNK_PAGES - en
    else:
        return -1
    carry = 0                                     # it could not reach this chunk's run
    for w in range(c * CHUNK_WORDS, (c + 1) * CHUNK_WORDS):
        x = h.word_sum[w]
        st = x & SUM_MASK
        if carry + st >= npages:
            return cstart if carry else w << 6
        if <intp_t>((x >> SUM_BITS) & SUM_MASK) >= npages:   # inside the word (<= 64)
            y = ~h.page_inuse[w]                  # bit i: pages i .. i+npages-1 are free
            k = 1
            while k < npages:
                sh = npages - k if npages - k < k else k
                y &= y >> sh
                k += sh
            return (w << 6) + GR_CTZ64(y)
        if st == 64:
            if carry == 0:
                cstart = w << 6
            carry += 64
        else:
            carry = x >> (2 * SUM_BITS)
            cstart = (w << 6) + 64 - carry
    return -1                                     # not reached: the chunk's summary fits


cdef inline void note_free_pages(mheap_t* h, intp_t p) noexcept nogil:
    """Pages from *p* up became free (a freed span, the heap's growth): lower the run
    hints. A run of n pages or more that takes them in starts at p - n + 1 or above, or
    the free pages below p were such a run already (at or above the hint)."""
    cdef intp_t n, lo
    for n in range(1, RUN_HINTS + 1):
        lo = p - n + 1 if p >= n - 1 else 0
        if lo < h.run_hint[n]:
            h.run_hint[n] = lo


cdef int heap_grow(mheap_t* h, intp_t npages) except -1 nogil:
    """Map more of the arena: whole 4 MiB chunks, new pages counted as released (spec 1.11)."""
    cdef intp_t ask = (npages + CHUNK_PAGES - 1) // CHUNK_PAGES * CHUNK_PAGES
    cdef intp_t p
    if h.mapped_pages + ask > h.max_pages:
        # Go maps what the OS gives; here the reservation is the hard cap.
        return throw_oom(h, <uint64_t>npages << PAGE_SHIFT)
    note_free_pages(h, h.mapped_pages)
    for p in range(h.mapped_pages, h.mapped_pages + ask):
        bit_set(h.page_scav, p)
        h.page_to_span[p] = -1                    # a free page
    # the new chunks' summaries: all free (beyond mapped_pages they are never read)
    for p in range(h.mapped_pages >> 6, (h.mapped_pages + ask) >> 6):
        h.word_sum[p] = sum_pack(64, 64, 64)
    for p in range(h.mapped_pages // CHUNK_PAGES, (h.mapped_pages + ask) // CHUNK_PAGES):
        h.chunk_sum[p] = sum_pack(CHUNK_PAGES, CHUNK_PAGES, CHUNK_PAGES)
    h.heap_released += <uint64_t>ask << PAGE_SHIFT
    h.mapped_pages += ask
    return 0


cdef intp_t page_alloc(mheap_t* h, intp_t npages) except -1 nogil:
    """Take the lowest run of *npages* free pages, growing the heap if needed."""
    cdef intp_t start = find_free_run(h, npages)
    cdef intp_t p
    if start < 0 and h.unswept != NULL \
            and h.mapped_pages + (npages + CHUNK_PAGES - 1) // CHUNK_PAGES * CHUNK_PAGES > h.max_pages:
        # the arena cannot grow: the last cycle's garbage must go first
        while sweepone(h) >= 0:
            pass
        start = find_free_run(h, npages)
    if start < 0:
        heap_grow(h, npages)
        start = find_free_run(h, npages)
        if start < 0:
            return throw_oom(h, <uint64_t>npages << PAGE_SHIFT)
    for p in range(start, start + npages):
        bit_set(h.page_inuse, p)
        if bit_get(h.page_scav, p):
            bit_clear(h.page_scav, p)
            h.heap_released -= PAGE_SIZE
    summarize(h, start, start + npages)
    if start == h.search_hint:
        h.search_hint = start + npages
    if npages <= RUN_HINTS:             # the lowest run this long started here
        h.run_hint[npages] = start
    h.heap_inuse += <uint64_t>npages << PAGE_SHIFT
    return start


cdef inline void zero_lines(uint8_t* p, intp_t nbytes) noexcept nogil:
    """Zero *nbytes* (a multiple of 8) at *p*, writing only from the first 64 bytes
    holding a nonzero byte: memory that was never written (a large object or a slot of a
    trace replay, whose contents no one stores to) is only read, and a page the OS never
    backed reads as its shared zero page, instead of being faulted in and cleared twice
    (by the kernel, then by memset)."""
    cdef const uint64_t* w = <const uint64_t*>p
    cdef uint64_t acc
    cdef intp_t i = 0, j, nw = nbytes >> 3, full = nw & ~(<intp_t>7)
    if full >= 16:
        # a zero first line, and each line equal to the one before (libc's vectorised
        # memcmp): all zero, without a loop over the words
        acc = 0
        for j in range(8):
            acc |= w[j]
        if acc == 0 and memcmp(p, p + 64, (full - 8) * 8) == 0:
            i = full
    while i < full:                                   # 64 bytes at a time
        acc = 0
        for j in range(8):
            acc |= w[i + j]
        if acc:
            memset(p + i * 8, 0, nbytes - i * 8)
            return
        i += 8
    acc = 0
    for j in range(full, nw):                         # the last words (< 64 bytes)
        acc |= w[j]
    if acc:
        memset(p + full * 8, 0, nbytes - full * 8)


cdef intp_t alloc_span(mheap_t* h, int spc, intp_t npages, uint64_t elemsize,
                       uint32_t nelems) except -1 nogil:
    """A fresh in-use span (Go: mheap.alloc + initSpan); zeroes reused dirty pages. While
    a background cycle's sweep is pending, whole dead spans are reclaimed first."""
    cdef intp_t start
    if h.unswept != NULL:
        reclaim(h, npages)
    start = page_alloc(h, npages)
    cdef intp_t p
    cdef bint dirty = False
    cdef mspan_t* s = &h.spans[start]
    for p in range(start, start + npages):
        h.page_to_span[p] = <int32_t>start
        if h.page_dirty[p]:
            dirty = True
            h.page_dirty[p] = 0
    if dirty:
        for p in range(start, start + npages):
            zero_lines(h.arena + (p << PAGE_SHIFT), PAGE_SIZE)
    s.base = h.arena_start + (<uint64_t>start << PAGE_SHIFT)
    s.elemsize = elemsize
    s.divmul = class_to_divmagic[spc >> 1]
    s.nelems = nelems
    s.alloc_count = 0
    s.freeindex = 0
    s.alloc_count_before_cache = 0
    s.npages = <uint32_t>npages
    s.sweepgen = h.sweepgen
    s.next = -1
    s.prev = -1
    s.cached_by = -1
    s.spanclass = <uint8_t>spc
    s.state = SPAN_IN_USE
    s.needzero = 0
    s.in_partial = 0
    s.seq = 0
    memset(&h.alloc_bits[start * BITMAP_WORDS], 0, BITMAP_WORDS * 8)
    memset(&h.gcmark_bits[start * BITMAP_WORDS], 0, BITMAP_WORDS * 8)
    h.nspans_inuse += 1
    if h.alloc_scav_limit != ~(<uint64_t>0):
        alloc_scavenge(h)
    return start


cdef void alloc_scavenge(mheap_t* h) noexcept nogil:
    """Go: mheap.allocSpan's memory-limit scavenge: when mappedReady plus the span's
    released pages (already paged in here) passes the limit, release the excess of free
    pages at once. *alloc_scav_limit* is the limit less the non-heap mapped memory, set
    by the runtime (max while no limit is set or the GC CPU limiter is limiting)."""
    cdef uint64_t ready = (<uint64_t>h.mapped_pages << PAGE_SHIFT) - h.heap_released
    if ready > h.alloc_scav_limit:
        h.released_eager += scavenge_pages(h, ready - h.alloc_scav_limit)


cdef void free_span(mheap_t* h, intp_t si) noexcept nogil:
    """Return a span's pages to the page heap (Go: mheap.freeSpan): HeapInuse drops at once.
    The pages are dirty if the span was (page_dirty): a clean span's pages are zero still."""
    cdef mspan_t* s = &h.spans[si]
    cdef intp_t p
    cdef uint8_t dirty = h.page_dirty[si]
    if s.in_partial:
        partial_remove(h, si)
    for p in range(si, si + s.npages):
        h.page_to_span[p] = -1
        bit_clear(h.page_inuse, p)
        h.page_dirty[p] = dirty
    summarize(h, si, si + s.npages)
    h.heap_inuse -= <uint64_t>s.npages << PAGE_SHIFT
    if si < h.search_hint:
        h.search_hint = si
    note_free_pages(h, si)
    s.state = SPAN_DEAD
    h.nspans_inuse -= 1


def _scavenge(Heap heap, uint64_t nbytes):
    """Release up to *nbytes* of free, unreleased pages, highest address first.

    Returns the bytes released. The pages are really given back (``madvise``), as Go's
    scavenger does, so they read as zero afterwards. Go: mheap.pages.scavenge.
    """
    cdef uint64_t done
    with nogil:
        done = scavenge_pages(&heap.h, nbytes)
    return done


cdef uint64_t scavenge_pages(mheap_t* h, uint64_t nbytes) noexcept nogil:
    """Release free, unreleased pages, highest address first, until *nbytes* are done."""
    cdef intp_t p = h.mapped_pages - 1, lo = 0, hi = 0     # [lo, hi): pages to madvise
    cdef uint64_t done = 0
    while p >= 0 and done < nbytes:
        if not bit_get(h.page_inuse, p) and not bit_get(h.page_scav, p):
            bit_set(h.page_scav, p)
            h.heap_released += PAGE_SIZE
            done += PAGE_SIZE
            if p + 1 != lo:                      # not next to the run: give that back first
                release_run(h, lo, hi)
                hi = p + 1
            lo = p
            h.page_dirty[p] = 0
        p -= 1
    release_run(h, lo, hi)
    return done


cdef inline void release_run(mheap_t* h, intp_t lo, intp_t hi) noexcept nogil:
    """Give pages [lo, hi) of the arena back to the OS (they read as zeros after): one
    ``madvise`` per run of pages the scavenger released, not one per page."""
    if hi > lo:
        madvise(h.arena + (lo << PAGE_SHIFT), <size_t>(hi - lo) << PAGE_SHIFT, MADV_DONTNEED)


# ---------------------------------------------------------------------------------------
# mcentral: partial lists (Go: mcentral.partialSwept, a FIFO spanSet)

cdef void partial_push(mheap_t* h, intp_t si) noexcept nogil:
    cdef mspan_t* s = &h.spans[si]
    cdef int spc = s.spanclass
    if s.in_partial:
        return
    s.in_partial = 1
    s.next = -1
    s.prev = h.partial_tail[spc]
    if h.partial_tail[spc] >= 0:
        h.spans[h.partial_tail[spc]].next = <int32_t>si
    else:
        h.partial_head[spc] = <int32_t>si
    h.partial_tail[spc] = <int32_t>si


cdef void partial_remove(mheap_t* h, intp_t si) noexcept nogil:
    cdef mspan_t* s = &h.spans[si]
    cdef int spc = s.spanclass
    if not s.in_partial:
        return
    if s.prev >= 0:
        h.spans[s.prev].next = s.next
    else:
        h.partial_head[spc] = s.next
    if s.next >= 0:
        h.spans[s.next].prev = s.prev
    else:
        h.partial_tail[spc] = s.prev
    s.next = -1
    s.prev = -1
    s.in_partial = 0


cdef intp_t cache_span(mheap_t* h, int spc) except -1 nogil:
    """A span with a free slot for *spc* (Go: mcentral.cacheSpan): the oldest swept partial
    span; while a background cycle's sweep is pending, first the proportional sweep
    (deductSweepCredit), then this class's unswept spans, partial before full, each
    swept and taken if it has a free slot (at most 100 tried: spanBudget); else fresh
    pages."""
    cdef intp_t si = h.partial_head[spc]
    cdef int c = spc >> 1
    if h.unswept != NULL:
        deduct_sweep_credit(h, <uint64_t>class_to_npages[c] << PAGE_SHIFT)
        si = h.partial_head[spc]
    if si >= 0:
        partial_remove(h, si)
        return si
    if h.unswept != NULL:
        si = cache_unswept(h, spc)
        if si >= 0:
            return si
    return alloc_span(h, spc, class_to_npages[c], class_to_size[c], nelems_for(spc))


cdef enum:
    SWEEP_AHEAD = 8             # unswept entries whose span record is fetched ahead


cdef intp_t cache_unswept(mheap_t* h, int spc) noexcept nogil:
    """cacheSpan's partialUnswept then fullUnswept pass; -1 if no span was found."""
    cdef int budget = 100, k, sc
    cdef intp_t si, ahead
    cdef mspan_t* s
    for k in range(2):
        sc = (spc << 1) | (1 - k)
        # the list is sweepone's order too, and every entry below its cursor was swept
        # or is gone (a span made later in that place is born swept): nothing to visit
        if h.sc_pos[sc] < h.unswept_pos:
            h.sc_pos[sc] = h.unswept_pos if h.unswept_pos < h.sc_start[sc + 1] \
                else h.sc_start[sc + 1]
        while h.sc_pos[sc] < h.sc_start[sc + 1] and budget > 0:
            # most entries were swept already (by sweepone): the walk waits on span
            # records in no address order, so it fetches some entries ahead
            if h.sc_pos[sc] + SWEEP_AHEAD < h.sc_start[sc + 1]:
                ahead = h.unswept[h.sc_pos[sc] + SWEEP_AHEAD]
                GR_PREFETCH(&h.spans[ahead])
                GR_PREFETCH(&h.page_to_span[ahead])
            si = h.unswept[h.sc_pos[sc]]
            h.sc_pos[sc] += 1
            s = &h.spans[si]
            if h.page_to_span[si] != si or s.state != SPAN_IN_USE or s.sweepgen == h.sweepgen:
                continue                         # swept already (by sweepone), or gone
            budget -= 1
            h.pages_swept += s.npages
            sweep_span(h, si, True)
            if s.alloc_count < s.nelems:
                return si
            h.push_seq += 1                      # full: pushed on the full swept set
            s.seq = h.push_seq
    return -1


cdef void reclaim(mheap_t* h, intp_t npages) noexcept nogil:
    """Sweep unswept spans with no object marked (all dead: the sweep frees them), in
    address order from where the last call stopped, until *npages* pages are freed (Go:
    mheap.reclaim, before mheap.alloc takes pages while the sweep is not done)."""
    cdef intp_t p = h.reclaim_index, got = 0, n, k
    cdef mspan_t* s
    cdef bint marked
    while got < npages and p < h.mapped_pages:
        if h.page_to_span[p] != p:
            p += 1
            continue
        s = &h.spans[p]
        n = s.npages
        if s.state == SPAN_IN_USE and s.sweepgen != h.sweepgen and s.cached_by < 0:
            marked = False
            for k in range(BITMAP_WORDS):
                if h.gcmark_bits[p * BITMAP_WORDS + k]:
                    marked = True
                    break
            if not marked:
                h.pages_swept += n
                sweep_span(h, p, False)
                got += n
        p += n if n > 0 else 1
    h.reclaim_index = p


cdef intp_t sweepone(mheap_t* h) noexcept nogil:
    """Sweep the next unswept span in Go's order; its pages, or -1 when none is left
    (then the sweep is done: the list is freed). Go: sweepone."""
    cdef intp_t si, ahead
    cdef mspan_t* s
    while h.unswept != NULL and h.unswept_pos < h.unswept_n:
        if h.unswept_pos + SWEEP_AHEAD < h.unswept_n:
            ahead = h.unswept[h.unswept_pos + SWEEP_AHEAD]
            GR_PREFETCH(&h.spans[ahead])
            GR_PREFETCH(&h.page_to_span[ahead])
        si = h.unswept[h.unswept_pos]
        h.unswept_pos += 1
        s = &h.spans[si]
        if h.page_to_span[si] != si or s.state != SPAN_IN_USE or s.sweepgen == h.sweepgen:
            continue
        h.pages_swept += s.npages
        sweep_span(h, si, False)
        if h.page_to_span[si] == si and s.state == SPAN_IN_USE:
            h.push_seq += 1
            s.seq = h.push_seq
        return s.npages
    PyMem_RawFree(h.unswept)
    h.unswept = NULL
    h.unswept_n = h.unswept_pos = 0
    h.sweep_pages_per_byte = 0
    return -1


cdef void deduct_sweep_credit(mheap_t* h, uint64_t span_bytes) noexcept nogil:
    """Sweep in proportion to allocation so the sweep ends before the next trigger (Go:
    deductSweepCredit, with the pacing gcPaceSweeper set at mark termination)."""
    cdef uint64_t live = h.heap_live, new_live = span_bytes
    cdef int64_t target
    if h.sweep_pages_per_byte == 0:
        return
    if h.sweep_live_basis < live:
        new_live += live - h.sweep_live_basis
    target = <int64_t>(h.sweep_pages_per_byte * <double>new_live)
    while target > <int64_t>(h.pages_swept - h.pages_swept_basis):
        if sweepone(h) < 0:
            break


cdef intp_t sweep_span(mheap_t* h, intp_t si, bint preserve) noexcept nogil:
    """Free every allocated-but-unmarked slot of span *si*; return how many, or -1 (zombie).

    Afterwards ``alloc_bits`` equal the mark bits, the mark bits are zero, ``alloc_count``
    is exact and ``freeindex`` is 0. Empty spans give their pages back; partially free
    small spans go on their mcentral's partial list -- unless *preserve* (cacheSpan
    sweeping a span it is about to cache). Go: (*sweepLocked).sweep.
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
        if h.page_dirty[si]:                     # a clean span's freed slots are zero
            s.needzero = 1
        h.small_free_count[s.spanclass >> 1] += nfreed
    if preserve:
        return nfreed
    if nalloc == 0:
        free_span(h, si)
    elif nalloc < s.nelems and s.cached_by < 0:
        partial_push(h, si)
    return nfreed


cdef void uncache_span(mheap_t* h, intp_t si) noexcept nogil:
    """Give a span back to its mcentral (Go: mcentral.uncacheSpan): pushed on its partial
    or full swept set, whose FIFO order `seq` records (the next sweep's order)."""
    cdef mspan_t* s = &h.spans[si]
    s.cached_by = -1
    h.push_seq += 1
    s.seq = h.push_seq
    if s.alloc_count < s.nelems:
        partial_push(h, si)


cdef int refill(mheap_t* h, int p, int spc) except -1 nogil:
    """Go: mcache.refill. Count the outgoing span, cache a new one, check the trigger."""
    cdef mcache_t* c = &h.mcaches[p]
    cdef intp_t old = c.alloc[spc], si
    cdef mspan_t* s
    cdef int64_t used
    si = cache_span(h, spc)                  # may fail (out of memory): nothing changed yet
    if old >= 0:
        s = &h.spans[old]
        used = <int64_t>s.alloc_count - <int64_t>s.alloc_count_before_cache
        h.small_alloc_count[spc >> 1] += used
        if spc == TINY_SPAN_CLASS:
            h.tiny_alloc_count += c.tiny_allocs
            c.tiny_allocs = 0
        s.alloc_count_before_cache = 0
        uncache_span(h, old)
    s = &h.spans[si]
    s.cached_by = p
    s.alloc_count_before_cache = s.alloc_count
    h.heap_live += (<uint64_t>s.npages << PAGE_SHIFT) - <uint64_t>s.alloc_count * s.elemsize
    flush_scan_alloc(h)
    c.alloc[spc] = <int32_t>si
    if h.heap_live >= h.trigger:
        h.gc_pending = 1
    return 0


cdef void release_all(mheap_t* h, int p, bint adjust_heap_live) noexcept nogil:
    """Go: mcache.releaseAll. Uncache every span, count used slots, drop the tiny block.

    ``adjust_heap_live`` is False at mark termination: heap_live was just recomputed from
    the mark, so the refill overestimate must not be undone (Go's stale-span rule).
    """
    cdef mcache_t* c = &h.mcaches[p]
    cdef int spc
    cdef intp_t si
    cdef mspan_t* s
    for spc in range(NUM_SPAN_CLASSES):
        si = c.alloc[spc]
        if si < 0:
            continue
        s = &h.spans[si]
        h.small_alloc_count[spc >> 1] += <int64_t>s.alloc_count - <int64_t>s.alloc_count_before_cache
        s.alloc_count_before_cache = 0
        if adjust_heap_live:
            h.heap_live -= <uint64_t>(s.nelems - s.alloc_count) * s.elemsize
        uncache_span(h, si)
        c.alloc[spc] = -1
    c.tiny = 0
    c.tinyoffset = 0
    h.tiny_alloc_count += c.tiny_allocs
    c.tiny_allocs = 0
    flush_scan_alloc(h)


cdef inline void flush_scan_alloc(mheap_t* h) noexcept nogil:
    """Go: gcController.update(..., c.scanAlloc) at a refill or releaseAll: scannable
    bytes allocated count into heapScan only outside a cycle (during one they are
    dropped: heapScan is fixed for the cycle)."""
    if not h.gcphase_mark:
        h.heap_scan_flushed += h.scan_alloc
    h.scan_alloc = 0


# ---------------------------------------------------------------------------------------
# Allocation (Go: mallocgc)

cdef inline intp_t next_free_index(const mheap_t* h, const mspan_t* s, intp_t si) noexcept nogil:
    """First slot at or above freeindex whose alloc bit is clear, or nelems."""
    cdef const uint64_t* bits = &h.alloc_bits[si * BITMAP_WORDS]
    cdef intp_t i = s.freeindex, w
    cdef uint64_t word
    while i < s.nelems:
        w = i >> 6
        word = ~bits[w] >> (i & 63)
        if word:
            i += GR_CTZ64(word)
            return i if i < s.nelems else s.nelems
        i = (w + 1) << 6
    return s.nelems


cdef int throw_not_zero(uint64_t a) except -1 with gil:
    raise SystemError("goruntime: slot %#x was handed out without a clear but holds data "
                      "(a store its span's page_dirty flag missed)" % a)


cdef bint is_zero(const uint8_t* p, uint64_t n) noexcept nogil:
    cdef uint64_t i
    for i in range(n):
        if p[i]:
            return False
    return True


cdef inline intp_t next_slot(mheap_t* h, int p, int spc, uint64_t* out) except -1 nogil:
    """One slot of span class *spc* from P *p*'s mcache (ascending address order); returns
    the span index, ``*out`` the slot's address, zeroed. Go: nextFreeFast (the next clear
    alloc bit by count-trailing-zeros on the bitmap word at freeindex), else
    mcache.refill and nextFreeIndex."""
    cdef mcache_t* c = &h.mcaches[p]
    cdef intp_t si = c.alloc[spc], idx = 0
    cdef mspan_t* s
    cdef uint64_t word, a
    if si >= 0:
        s = &h.spans[si]
        idx = s.freeindex
        if idx < s.nelems:
            word = ~h.alloc_bits[si * BITMAP_WORDS + (idx >> 6)] >> (idx & 63)
            if word:                             # Go: nextFreeFast
                idx += GR_CTZ64(word)
            else:
                idx = next_free_index(h, s, si)
        if idx >= s.nelems:
            si = -1
    if si < 0:
        refill(h, p, spc)
        si = c.alloc[spc]
        s = &h.spans[si]
        idx = next_free_index(h, s, si)
    a = take_slot(h, s, si, idx)
    out[0] = a
    if not h.alloc_clean:                    # the caller may write it (page_dirty)
        h.page_dirty[si] = 1
    if s.needzero:                           # written only where not zero already
        zero_lines(<uint8_t*>addr_ptr(h, a), <intp_t>s.elemsize)
    elif GORUNTIME_CHECKS and not is_zero(addr_ptr(h, a), s.elemsize):
        throw_not_zero(a)                        # (checked builds: a clean slot is zero)
    return si


cdef int malloc_small(mheap_t* h, int p, int spc, uint64_t* out) except -1 nogil:
    """One slot of span class *spc* from P *p*'s mcache (ascending address order); returns
    the slot's span index."""
    return <int>next_slot(h, p, spc, out)


cdef int malloc_tiny(mheap_t* h, int p, uint64_t size, uint64_t* out) except -1 nogil:
    """Go: mallocgcTiny. Pack pointer-free objects under 16 bytes into 16-byte blocks."""
    cdef mcache_t* c = &h.mcaches[p]
    cdef uint64_t off = c.tinyoffset, x
    if size & 7 == 0:
        off = (off + 7) & ~(<uint64_t>7)
    elif size & 3 == 0:
        off = (off + 3) & ~(<uint64_t>3)
    elif size & 1 == 0:
        off = (off + 1) & ~(<uint64_t>1)
    if off + size <= TINY_SIZE and c.tiny != 0:
        out[0] = c.tiny + off
        c.tinyoffset = off + size
        c.tiny_allocs += 1
        return -2
    h.page_dirty[malloc_small(h, p, TINY_SPAN_CLASS, &x)] = 1   # shared: written
    memset(addr_ptr(h, x), 0, TINY_SIZE)
    if size < c.tinyoffset or c.tiny == 0:    # keep the block with more room left
        c.tiny = x
        c.tinyoffset = size
    out[0] = x
    return -2


cdef int malloc_large(mheap_t* h, uint64_t size, bint noscan, uint64_t* out) except -1 nogil:
    """Go: mallocgcLarge. A span of its own, counted at once, trigger checked every time."""
    cdef intp_t npages
    cdef intp_t si
    cdef uint64_t nbytes
    if size > (<uint64_t>h.max_pages << PAGE_SHIFT):    # also keeps size + PAGE_SIZE from wrapping
        return throw_oom(h, size)
    npages = <intp_t>((size + PAGE_SIZE - 1) >> PAGE_SHIFT)
    nbytes = <uint64_t>npages << PAGE_SHIFT
    if h.unswept != NULL:                        # Go: deductSweepCredit (mallocgcLarge)
        deduct_sweep_credit(h, nbytes)
    si = alloc_span(h, 1 if noscan else 0, npages, nbytes, 1)
    if not h.alloc_clean:                        # the caller may write it (page_dirty)
        h.page_dirty[si] = 1
    bit_set(&h.alloc_bits[si * BITMAP_WORDS], 0)
    if h.gcphase_mark:
        bit_set(&h.gcmark_bits[si * BITMAP_WORDS], 0)
        h.bytes_marked_black += nbytes
    h.spans[si].alloc_count = 1
    h.spans[si].freeindex = 1
    h.push_seq += 1                              # Go: fullSwept(sg).push(s)
    h.spans[si].seq = h.push_seq
    h.large_alloc += nbytes
    h.large_alloc_count += 1
    h.heap_live += nbytes
    if h.heap_live >= h.trigger:
        h.gc_pending = 1
    out[0] = h.spans[si].base
    return <int>si


cdef int mallocgc(mheap_t* h, int p, uint64_t size, bint noscan, uint64_t* out) except -1 nogil:
    """Go: mallocgc for *size* bytes; *out* gets the address the program sees (spec 1.4).
    Returns the span index of an object with a slot of its own, -2 for zerobase and a
    tiny sub-allocation (its caller need not look the span up again)."""
    cdef int k
    cdef int si = malloc_dispatch(h, p, size, noscan, out)   # raises (out of memory) first
    h.malloc_calls += 1
    h.malloc_bytes += size
    deduct_assist_credit(h)
    if size != 0:                                 # zerobase costs nothing to speak of
        if size > SMALL_CUTOFF:
            k = 3 if noscan else 4
        elif noscan:
            k = 0 if size < TINY_SIZE else 1
        else:
            k = 2
        h.malloc_path_calls[k] += 1
        h.malloc_path_bytes[k] += size
    return si


cdef inline int malloc_small_scan(mheap_t* h, int p, int c, uint64_t size, uint64_t pat,
                                  intp_t last, uint64_t* out) except -1 nogil:
    """Go: mallocgcSmallScanNoHeader for *size* bytes of size class *c* (at most 512:
    no malloc header), its pointer bits *pat* (bit j: word j; *last* the highest set,
    or -1): the slot, `mallocgc`'s counters, and the slot's bits written with one or two
    word stores (heapSetTypeNoHeader), the span already in hand. Returns the span index."""
    cdef intp_t si = next_slot(h, p, c << 1, out)
    h.malloc_calls += 1
    h.malloc_bytes += size
    deduct_assist_credit(h)
    h.malloc_path_calls[2] += 1                  # the virtual clock's meter: small scan
    h.malloc_path_bytes[2] += size
    if last >= 0:                                # Go: mcache.scanAlloc (up to the last pointer)
        h.scan_alloc += <uint64_t>(last + 1) << 3
    write_small_bits(h, out[0], <intp_t>(class_to_size[c] >> 3), pat)
    return <int>si


cdef int mallocgc_typed(mheap_t* h, int p, uint64_t size, const uint8_t* mask,
                        intp_t elem_words, intp_t count, uint64_t* out) except -1 nogil:
    """`mallocgc` followed by `set_heap_bits` (for *mask* NULL: a noscan object, no bits), in one
    call: Go's mallocgc with its type. Same results; a small pointerful object without a
    malloc header takes the fast path (`malloc_small_scan`)."""
    cdef intp_t nw, j, ndata, mj, last
    cdef uint64_t pat
    cdef int r, c
    if mask == NULL or size == 0 or size > MIN_SIZE_FOR_MALLOC_HEADER or elem_words <= 0:
        r = mallocgc(h, p, size, mask == NULL, out)
        if size != 0 and mask != NULL:
            set_heap_bits(h, out[0], mask, elem_words, count)
        return r
    c = size_to_class8[(size + 7) >> 3]
    nw = <intp_t>(class_to_size[c] >> 3)         # <= 64: no header below 512 bytes
    ndata = elem_words * count
    if ndata > nw:
        ndata = nw
    pat = 0
    mj = 0                                       # j % elem_words, without a division
    last = -1
    for j in range(ndata):
        if mask[mj]:
            pat |= (<uint64_t>1) << j
            last = j
        mj += 1
        if mj == elem_words:
            mj = 0
    return malloc_small_scan(h, p, c, size, pat, last, out)


cdef int mallocgc_prefix(mheap_t* h, int p, uint64_t size, uint64_t nptr,
                         uint64_t* out) except -1 nogil:
    """`mallocgc` of a pointerful object followed by `set_heap_bits_ptrdata` (its first
    *nptr* words may hold pointers, the rest none: a recorded trace's type), in one call;
    a small object without a malloc header takes `malloc_small_scan`. Same results."""
    cdef int r
    cdef intp_t n
    if size == 0 or size > MIN_SIZE_FOR_MALLOC_HEADER:
        r = mallocgc(h, p, size, False, out)
        if size != 0:
            set_heap_bits_ptrdata(h, out[0], <intp_t>(size >> 3), <intp_t>nptr)
        return r
    n = <intp_t>(nptr if nptr < (size >> 3) else (size >> 3))      # <= 64
    return malloc_small_scan(h, p, size_to_class8[(size + 7) >> 3], size,
                             ((<uint64_t>1) << n) - 1 if n < 64 else ~(<uint64_t>0), n - 1, out)


cdef int malloc_dispatch(mheap_t* h, int p, uint64_t size, bint noscan, uint64_t* out) except -1 nogil:
    """Pick the path of spec 1.4: zerobase, large, tiny, small with or without header.
    Returns the object's span index, -2 for zerobase and a tiny sub-allocation."""
    cdef int c, si
    if size == 0:
        out[0] = ZEROBASE
        return -2
    if size > SMALL_CUTOFF:
        return malloc_large(h, size, noscan, out)
    if noscan and size < TINY_SIZE:
        return malloc_tiny(h, p, size, out)
    if not noscan and size > MIN_SIZE_FOR_MALLOC_HEADER:
        c = size_to_class(size + MALLOC_HEADER_SIZE)
        si = malloc_small(h, p, c << 1, out)
        # the header (Go keeps the type there; here 0): the slot is zeroed already, so it
        # is not written, and a replayed object's page stays unbacked (the zero page)
        out[0] += MALLOC_HEADER_SIZE
        return si
    c = size_to_class(size)
    return malloc_small(h, p, (c << 1) | noscan, out)


cdef inline void bits_clear_range(uint64_t* bits, intp_t start, intp_t n) noexcept nogil:
    """Clear bits [start, start + n) a word at a time."""
    cdef intp_t w = start >> 6, end = start + n, b = start & 63
    if n <= 0:
        return
    if b + n <= 64:
        bits[w] &= ~(((~(<uint64_t>0)) >> (64 - n)) << b)
        return
    bits[w] &= ~((~(<uint64_t>0)) << b)
    w += 1
    while (w + 1) << 6 <= end:
        bits[w] = 0
        w += 1
    if end & 63:
        bits[w] &= (~(<uint64_t>0)) << (end & 63)


cdef inline void bits_set_range(uint64_t* bits, intp_t start, intp_t n) noexcept nogil:
    """Set bits [start, start + n) a word at a time."""
    cdef intp_t w = start >> 6, end = start + n, b = start & 63
    if n <= 0:
        return
    if b + n <= 64:
        bits[w] |= ((~(<uint64_t>0)) >> (64 - n)) << b
        return
    bits[w] |= (~(<uint64_t>0)) << b
    w += 1
    while (w + 1) << 6 <= end:
        bits[w] = ~(<uint64_t>0)
        w += 1
    if end & 63:
        bits[w] |= ~((~(<uint64_t>0)) << (end & 63))


cdef void set_heap_bits(mheap_t* h, uint64_t addr, const uint8_t* mask, intp_t elem_words,
                        intp_t count) noexcept nogil:
    """Write pointer bits for *count* elements of *elem_words* words at *addr*.

    ``mask[i]`` is 1 if word i of an element holds a pointer. The words from *addr* to the
    end of its slot are cleared first, so stale bits never survive. Objects with a malloc
    header and large objects repeat the element's pattern to the end of the slot, as Go's
    typePointers do (mbitmap.go: the header / largeType names the element type, and the
    scan walks it up to the slot's end); small objects without a header have bits for
    their *count* elements only (Go: writeHeapBitsSmall covers dataSize).
    """
    write_heap_bits(h, addr, mask, 0, elem_words, count)


cdef void set_heap_bits_ptrdata(mheap_t* h, uint64_t addr, intp_t elem_words,
                                intp_t ptr_words) noexcept nogil:
    """`set_heap_bits` for one element of a type of *elem_words* words whose first
    *ptr_words* words may hold pointers (Go: abi.Type.PtrBytes), the rest none: how an
    object is typed when only its type's ptrdata is known (a recorded trace)."""
    write_heap_bits(h, addr, NULL, ptr_words, elem_words, 1)


cdef inline void write_heap_bits(mheap_t* h, uint64_t addr, const uint8_t* mask,
                                 intp_t prefix, intp_t elem_words, intp_t count) noexcept nogil:
    """Word i of an element is a pointer if ``mask[i]`` (mask given) or ``i < prefix``."""
    cdef intp_t w0 = <intp_t>((addr - h.arena_start) >> 3), i, _elem, k, end, last, n
    cdef intp_t si = span_of(h, addr)
    cdef const mspan_t* s = &h.spans[si]
    end = <intp_t>((s.base - h.arena_start + <uint64_t>obj_index(s, addr) * s.elemsize
                    + s.elemsize) >> 3)
    bits_clear_range(h.heap_bits, w0, end - w0)
    if (mask == NULL and prefix == 0) or elem_words == 0:
        return
    if s.divmul == 0 or span_has_header(s):
        count = (end - w0 + elem_words - 1) // elem_words
    k = w0
    last = -1
    if mask == NULL:                         # a prefix: each element's first words, a range
        if prefix > elem_words:
            prefix = elem_words
        for _elem in range(count):
            if k >= end:
                break
            n = prefix if k + prefix <= end else end - k
            bits_set_range(h.heap_bits, k, n)
            last = k + n - 1
            k += elem_words
    for _elem in range(count if mask != NULL else 0):
        if k >= end:
            break
        for i in range(elem_words):
            if k + i >= end:
                break
            if mask[i] != 0:
                bit_set(h.heap_bits, k + i)
                last = k + i
        k += elem_words
    if last >= 0:                            # Go: mcache.scanAlloc (up to the last pointer)
        h.scan_alloc += <uint64_t>(last - w0 + 1) << 3


# ---------------------------------------------------------------------------------------
# Roots (Python handles are stack roots)

cdef int grow_roots(mheap_t* h) except -1 with gil:
    cdef intp_t ncap = h.roots_cap * 2 if h.roots_cap else 1024
    cdef uint64_t* r = <uint64_t*>PyMem_RawRealloc(h.roots, ncap * sizeof(uint64_t))
    if r == NULL:
        raise MemoryError("runtime: out of memory: root table")
    h.roots = r
    cdef int64_t* f = <int64_t*>PyMem_RawRealloc(h.root_free, ncap * sizeof(int64_t))
    if f == NULL:
        raise MemoryError("runtime: out of memory: root table")
    h.root_free = f
    cdef intp_t* st = <intp_t*>PyMem_RawRealloc(h.root_stack, ncap * sizeof(intp_t))
    if st == NULL:
        raise MemoryError("runtime: out of memory: root table")
    h.root_stack = st
    h.roots_cap = ncap
    return 0


cdef intp_t root_add(mheap_t* h, uint64_t addr) except -1 nogil:
    """Register *addr* as a root; returns its slot (the last one freed, else a new one).
    O(1). The free slots are a stack, not a list linked through the table: the next
    slots to be reused are known ahead (a caller may fetch their lines early)."""
    cdef intp_t slot
    if h.root_nfree > 0:
        h.root_nfree -= 1
        slot = h.root_stack[h.root_nfree]
    else:
        if h.roots_len == h.roots_cap:
            grow_roots(h)
        slot = h.roots_len
        h.roots_len += 1
    h.roots[slot] = addr
    h.root_free[slot] = ROOT_RAW             # in use
    h.nroots += 1
    return slot


cdef void root_remove(mheap_t* h, intp_t slot) noexcept nogil:
    if slot < 0 or slot >= h.roots_len or h.root_free[slot] >= -1:     # not in use
        return
    h.roots[slot] = 0
    h.root_free[slot] = -1
    h.root_stack[h.root_nfree] = slot           # root_nfree < roots_len <= roots_cap
    h.root_nfree += 1
    h.nroots -= 1


# ---------------------------------------------------------------------------------------

cdef extern from *:
    """
    static inline Py_ssize_t gr_refs(PyObject* o) { return Py_REFCNT(o); }
    """
    Py_ssize_t gr_refs(PyObject* o) noexcept     # a borrowed reference's count (no temp)


# A process's kept heap memory (`keep_memory`): at most one dropped heap's arrays, reset.
cdef bint _keep = False
cdef list _kept = []
cdef list _kept_live = []       # (arena_cap, live_bits): a dropped heap's live set, reset


def keep_memory(on=None):
    """Keep a dropped heap's memory for the next heap of the same ``arena_cap`` in this
    process (*on* true), or stop and free what is kept (false). Returns the previous
    setting (*on* None: only that).

    For a process that runs many runtimes one after another (a sweep worker's replays):
    a fresh heap's metadata (span records, bitmaps, page tables: ~300 MB for a 2 GB
    emulated heap) is new memory that the kernel faults in and zeroes page by page, each
    time. A kept one is reset to a fresh heap's contents where it was written
    (`Heap._keep_memory`) and taken by the next `Heap`, so a runtime built on it behaves
    as one on new memory. Off by default: kept memory stays with the process. A heap
    whose ``recycle`` is set (a trace replay's) is kept when freed even while this is
    off; turning it off frees whatever is kept."""
    global _keep
    prev = _keep
    if on is None:
        return prev
    _keep = bool(on)
    if not _keep:
        _kept.clear()
        _kept_live.clear()
    return prev


def kept_memory():
    """The ``arena_cap`` of the heap memory kept for reuse (`keep_memory`), or None."""
    return _kept[0][0] if _kept else None


cdef _take_kept(uint64_t arena_cap):
    if _kept and _kept[0][0] == arena_cap:
        return _kept.pop()[1]
    return None


@cython.no_gc_clear
cdef class Heap:
    """Heap(arena_cap=None, nprocs=1)\n--

    Go's heap: pages, spans, size classes, mcaches, the tiny allocator and the counters.

    Parameters
    ----------
    arena_cap : int, optional
        Bytes of address space reserved for the heap (default: half the machine's RAM).
        Growing past it raises ``MemoryError("runtime: out of memory: ...")`` and leaves
        the heap as it was.
    nprocs : int
        Number of Ps (mcaches) in use; at most 256.
    """

    def __cinit__(self, arena_cap=None, int nprocs=1):
        cdef intp_t max_pages, off
        cdef uint8_t[::1] arena
        cdef mspan_t[::1] spans
        cdef int32_t[::1] p2s
        cdef uint64_t[::1] ab, mb, cb, hb, pi, ps
        cdef uint8_t[::1] pd
        cdef uint32_t[::1] wsum, csum
        cdef mcache_t[::1] mc
        if arena_cap is None:
            arena_cap = default_arena_cap()
        if not isinstance(arena_cap, int) or isinstance(arena_cap, bool):
            raise TypeError("arena_cap must be an int, not %s" % type(arena_cap).__name__)
        if arena_cap < CHUNK_PAGES * PAGE_SIZE or arena_cap > (1 << 40):
            raise ValueError("arena_cap must be between 4 MiB and 1 TiB, not %d" % arena_cap)
        if nprocs < 1 or nprocs > MAX_PROCS:
            raise ValueError("nprocs must be in 1..%d, not %d" % (MAX_PROCS, nprocs))
        max_pages = arena_cap // PAGE_SIZE // CHUNK_PAGES * CHUNK_PAGES
        self.arena_cap = <uint64_t>max_pages * PAGE_SIZE
        kept = _take_kept(self.arena_cap)
        if kept is not None:                 # a dropped heap's memory, reset (`keep_memory`)
            (self._arena_buf, self._spans, self._page_to_span, self._alloc_bits,
             self._gcmark_bits, self._check_bits, self._heap_bits, self._page_inuse,
             self._word_sum, self._chunk_sum, self._page_scav, self._page_dirty,
             self._mcaches) = kept
        else:
            # Every array on fresh mappings (`zeroed`): nothing is written here, so no page
            # is touched until the heap uses it. The page table (-1: a free page) and the
            # page summaries are filled in as the heap grows over them (`heap_grow`).
            self._arena_buf = zeroed(self.arena_cap + HUGE_PAGE, np.uint8)
            self._spans = zeroed(max_pages, SPAN_DTYPE)
            self._page_to_span = zeroed(max_pages, np.int32)
            self._alloc_bits = zeroed(max_pages * BITMAP_WORDS, np.uint64)
            self._gcmark_bits = zeroed(max_pages * BITMAP_WORDS, np.uint64)
            self._check_bits = zeroed(max_pages * BITMAP_WORDS, np.uint64)
            self._heap_bits = zeroed(self.arena_cap // 512, np.uint64)
            self._page_inuse = zeroed(max_pages // 64, np.uint64)
            self._word_sum = zeroed(max_pages // 64, np.uint32)
            self._chunk_sum = zeroed(max_pages // CHUNK_PAGES, np.uint32)
            self._page_scav = zeroed(max_pages // 64, np.uint64)
            self._page_dirty = zeroed(max_pages, np.uint8)
            self._mcaches = np.zeros(MAX_PROCS, dtype=MCACHE_DTYPE)
            self._mcaches["alloc"] = -1
        off = (-self._arena_buf.ctypes.data) % HUGE_PAGE
        self.arena = self._arena_buf[off:off + self.arena_cap]
        arena = self.arena
        spans = self._spans
        p2s = self._page_to_span
        ab = self._alloc_bits
        mb = self._gcmark_bits
        cb = self._check_bits
        hb = self._heap_bits
        pi = self._page_inuse
        wsum = self._word_sum
        csum = self._chunk_sum
        ps = self._page_scav
        pd = self._page_dirty
        mc = self._mcaches
        self.h.arena = &arena[0]
        self.h.arena_start = ARENA_START
        self.h.max_pages = max_pages
        self.h.mapped_pages = 0
        self.h.page_to_span = &p2s[0]
        self.h.spans = &spans[0]
        self.h.alloc_bits = &ab[0]
        self.h.gcmark_bits = &mb[0]
        self.h.check_bits = &cb[0]
        self.h.heap_bits = &hb[0]
        self.h.page_inuse = &pi[0]
        self.h.page_scav = &ps[0]
        self.h.page_dirty = &pd[0]
        self.h.search_hint = 0
        for i in range(RUN_HINTS + 1):
            self.h.run_hint[i] = 0
        self.h.word_sum = &wsum[0]
        self.h.chunk_sum = &csum[0]
        self.h.mcaches = &mc[0]
        self.h.nprocs = nprocs
        for i in range(NUM_SPAN_CLASSES):
            self.h.partial_head[i] = -1
            self.h.partial_tail[i] = -1
        self.h.trigger = 0xFFFFFFFFFFFFFFFF
        self.h.assist_at = 0xFFFFFFFFFFFFFFFF
        self.h.alloc_scav_limit = 0xFFFFFFFFFFFFFFFF
        self.h.root_nfree = 0
        self.lock = threading.RLock()
        self.owner = PyThread_get_thread_ident()

    # -- threads -------------------------------------------------------------------------
    # A cooperative runtime is single-threaded (its goroutines are greenlets of one thread):
    # only its owner thread may allocate, store, create handles or collect. A call from any
    # other thread raises RuntimeError before it changes anything -- otherwise it could
    # allocate or root while the owner's collector marks without the GIL and so free a live
    # object. When the owner thread has ended, the next thread to call takes the runtime
    # over. With scheduler="threads" every thread may call (everything takes the world lock).
    cdef int check_owner(self) except -1:
        if self.dead is not None:
            return self._foreign_call()
        if self.threaded or PyThread_get_thread_ident() == self.owner:
            return 0
        return self._foreign_call()

    cdef int _foreign_call(self) except -1:
        cdef unsigned long me = PyThread_get_thread_ident()
        if self.dead is not None:              # Go: the program died (see Runtime._die)
            from goruntime.errors import FatalError
            raise FatalError(self.dead[0]) from self.dead[1]
        owner = self.owner
        if not any(t.ident == owner for t in threading.enumerate()):
            self.owner = me
            return 0
        raise RuntimeError(
            "goruntime: this Runtime (scheduler='cooperative') belongs to thread %d; it was "
            "called from thread %d. A cooperative runtime is single-threaded: use "
            "scheduler='threads' to share one between threads, or a Runtime per thread"
            % (owner, me))

    def check_thread(self):
        """Raise RuntimeError if the calling thread may not use this heap (see above), or
        `FatalError` if its runtime is dead."""
        self.check_owner()

    def release_memory(self):
        """A closed runtime's heap: give the whole mapped arena back to the OS (``madvise``;
        the mapping stays, reading zeros) and clear the mark bits. The metadata stays
        consistent; the caller has made every later use raise (``dead``)."""
        cdef mheap_t* h = &self.h
        cdef uint64_t n = <uint64_t>h.mapped_pages << PAGE_SHIFT
        with nogil:
            if n:
                madvise(h.arena, n, MADV_DONTNEED)
            # Only the mapped pages' rows can hold bits: clearing the whole reservation
            # (two 1/64-of-arena_cap arrays) would fault in ~400 MB of zero pages at every
            # close. Their whole pages are given back rather than written: the check bits
            # of a run without checkmark were never touched, and writing zeros faulted
            # them in (a fresh huge page cleared by the kernel, then cleared again).
            zero_memory(h.gcmark_bits, <size_t>h.mapped_pages * BITMAP_WORDS * 8)
            zero_memory(h.check_bits, <size_t>h.mapped_pages * BITMAP_WORDS * 8)

    def check_alive(self):
        """Raise `FatalError` if the runtime died (a finalizer or cleanup raised)."""
        if self.dead is not None:
            self._foreign_call()

    def __dealloc__(self):
        if (_keep or self.recycle) and self._spans is not None:
            try:
                self._keep_memory()
            except Exception:            # nothing kept: the arrays are freed below
                pass
        if (_keep or self.recycle) and self._live_bits is not None and not _kept_live \
                and gr_refs(<PyObject*>self._live_bits) == 1:
            memset(self.h.live_bits, 0, <size_t>self.h.mapped_pages * BITMAP_WORDS * 8)
            _kept_live.append((self.arena_cap, self._live_bits))
        PyMem_RawFree(self.h.unswept)
        self.h.unswept = NULL
        PyMem_RawFree(self.h.roots)
        PyMem_RawFree(self.h.root_free)
        PyMem_RawFree(self.h.root_stack)
        # Free the arrays now (not after this body): each is its own mapping (`zeroed`),
        # unmapped when its last reference goes, so the memory is back with the OS at once.
        # The rest of a runtime's memory is malloc's (mark buffers, root table, greenlet
        # stacks, numpy temporaries), and without a trim a process that creates and drops
        # many runtimes kept ~130 KiB of each in glibc's brk heap (measured: 56 MiB after
        # 450 runtimes of tests/test_safety.py's B37 churn, 4 MiB with it; issue 13).
        self._spans = self._page_to_span = self._alloc_bits = self._gcmark_bits = None
        self._check_bits = self._heap_bits = self._page_inuse = self._page_scav = None
        self._word_sum = self._chunk_sum = None
        self._page_dirty = self._mcaches = self._live_bits = None
        self.h.live_bits = NULL
        self.arena = self._arena_buf = None
        gr_malloc_trim()

    cdef _keep_memory(self):
        """`keep_memory`: reset this dying heap's arrays to a fresh heap's contents and
        keep them for the next heap of its size, unless something else still holds one of
        them (a view taken from the heap must not come to show another heap's data).

        Only the mapped pages' parts were ever written (every write is to a page, span or
        address below ``mapped_pages``, which never shrinks), so only they are reset: the
        memory stays mapped, and the next heap does not fault it in again. The arena's
        mapped part is given back (``MADV_DONTNEED``: it reads as zeros again)."""
        cdef mheap_t* h = &self.h
        cdef intp_t mp = h.mapped_pages
        # each held by its attribute only (the arena buffer also by the arena view)
        if _kept or gr_refs(<PyObject*>self._arena_buf) != 2 \
                or gr_refs(<PyObject*>self.arena) != 1 \
                or gr_refs(<PyObject*>self._spans) != 1 \
                or gr_refs(<PyObject*>self._page_to_span) != 1 \
                or gr_refs(<PyObject*>self._alloc_bits) != 1 \
                or gr_refs(<PyObject*>self._gcmark_bits) != 1 \
                or gr_refs(<PyObject*>self._check_bits) != 1 \
                or gr_refs(<PyObject*>self._heap_bits) != 1 \
                or gr_refs(<PyObject*>self._page_inuse) != 1 \
                or gr_refs(<PyObject*>self._word_sum) != 1 \
                or gr_refs(<PyObject*>self._chunk_sum) != 1 \
                or gr_refs(<PyObject*>self._page_scav) != 1 \
                or gr_refs(<PyObject*>self._page_dirty) != 1 \
                or gr_refs(<PyObject*>self._mcaches) != 1:
            return
        with nogil:
            if mp:
                madvise(h.arena, <size_t>mp << PAGE_SHIFT, MADV_DONTNEED)
            memset(h.spans, 0, <size_t>mp * sizeof(mspan_t))
            memset(h.page_to_span, 0, <size_t>mp * sizeof(int32_t))   # `heap_grow` fills it
            memset(h.alloc_bits, 0, <size_t>mp * BITMAP_WORDS * 8)
            memset(h.gcmark_bits, 0, <size_t>mp * BITMAP_WORDS * 8)
            memset(h.check_bits, 0, <size_t>mp * BITMAP_WORDS * 8)
            memset(h.heap_bits, 0, (<size_t>mp << PAGE_SHIFT) // 64)   # a bit per word
            memset(h.page_inuse, 0, <size_t>(mp >> 6) * 8)
            memset(h.page_scav, 0, <size_t>(mp >> 6) * 8)
            memset(h.word_sum, 0, <size_t>(mp >> 6) * sizeof(uint32_t))
            memset(h.chunk_sum, 0, <size_t>(mp // CHUNK_PAGES) * sizeof(uint32_t))
            memset(h.page_dirty, 0, <size_t>mp)
            memset(h.mcaches, 0, MAX_PROCS * sizeof(mcache_t))
        self._mcaches["alloc"] = -1
        _kept.append((self.arena_cap, (
            self._arena_buf, self._spans, self._page_to_span, self._alloc_bits,
            self._gcmark_bits, self._check_bits, self._heap_bits, self._page_inuse,
            self._word_sum, self._chunk_sum, self._page_scav, self._page_dirty,
            self._mcaches)))

    def _memory(self):
        """Every array of the heap whole, read-only (tests: a heap on kept memory is a
        fresh one's)."""
        names = ("arena", "spans", "page_to_span", "alloc_bits", "gcmark_bits", "check_bits",
                 "heap_bits", "page_inuse", "word_sum", "chunk_sum", "page_scav",
                 "page_dirty", "mcaches")
        arrays = (self.arena, self._spans, self._page_to_span, self._alloc_bits,
                  self._gcmark_bits, self._check_bits, self._heap_bits, self._page_inuse,
                  self._word_sum, self._chunk_sum, self._page_scav, self._page_dirty,
                  self._mcaches)
        return {k: self._ro(a) for k, a in zip(names, arrays)}

    def _repr_html_(self):
        """The spans as a grid coloured by size class and shaded by occupancy (Jupyter)."""
        from goruntime._display import heap_html
        return heap_html(self)

    # -- read-only views for notebooks and tests --------------------------------------
    def _ro(self, a):
        v = a.view()
        v.flags.writeable = False
        return v

    @property
    def spans(self):
        """Read-only numpy view of the span records of in-use spans (SPAN_DTYPE)."""
        recs = self._spans[: self.h.mapped_pages]
        return self._ro(recs[recs["state"] == SPAN_IN_USE])

    @property
    def span_table(self):
        """Read-only view of every span record slot up to the mapped heap (by start page)."""
        return self._ro(self._spans[: self.h.mapped_pages])

    @property
    def alloc_bits(self):
        """Read-only view of the alloc bitmaps: row = span index, 1024 bits per row."""
        return self._ro(self._alloc_bits[: self.h.mapped_pages * BITMAP_WORDS].reshape(-1, BITMAP_WORDS))

    @property
    def gcmark_bits(self):
        """Read-only view of the mark bitmaps (zero between cycles: sweep clears them)."""
        return self._ro(self._gcmark_bits[: self.h.mapped_pages * BITMAP_WORDS].reshape(-1, BITMAP_WORDS))

    @property
    def page_to_span(self):
        """Read-only view: page index -> span index (its start page), -1 for free pages."""
        return self._ro(self._page_to_span[: self.h.mapped_pages])

    @property
    def nprocs(self):
        return self.h.nprocs

    @nprocs.setter
    def nprocs(self, int n):
        if n < 1 or n > MAX_PROCS:
            raise ValueError("GOMAXPROCS must be in 1..%d here, not %d" % (MAX_PROCS, n))
        with nogil:
            for p in range(n, self.h.nprocs):
                release_all(&self.h, p, True)
        self.h.nprocs = n

    @property
    def heap_live(self):
        return self.h.heap_live

    @heap_live.setter
    def heap_live(self, uint64_t v):
        self.h.heap_live = v

    @property
    def malloc_bytes(self):
        """Bytes requested by mallocgc so far (``counters()["malloc_bytes"]``, without
        building the whole snapshot: the concurrent mark reads it at every step)."""
        return self.h.malloc_bytes

    @property
    def trigger(self):
        return self.h.trigger

    @trigger.setter
    def trigger(self, uint64_t v):
        self.h.trigger = v

    @property
    def assist_at(self):
        """During a mark: the ``malloc_bytes`` past which an allocation asks for the running
        goroutine's assist (Go: deductAssistCredit); the maximum outside a mark."""
        return self.h.assist_at

    @assist_at.setter
    def assist_at(self, uint64_t v):
        self.h.assist_at = v

    @property
    def gc_pending(self):
        """True when an allocation check point found heap_live >= trigger (Go: gcTrigger.test)."""
        return bool(self.h.gc_pending)

    @gc_pending.setter
    def gc_pending(self, bint v):
        self.h.gc_pending = v

    @property
    def alloc_scav_limit(self):
        """Heap bytes (mapped, not released) above which a span allocation scavenges the
        excess at once (Go: allocSpan vs gcController.memoryLimit); 2**64-1: off."""
        return self.h.alloc_scav_limit

    @alloc_scav_limit.setter
    def alloc_scav_limit(self, uint64_t v):
        self.h.alloc_scav_limit = v

    @property
    def released_eager(self):
        """Bytes released by allocation-time scavenging (Go: mheap_.pages.scav.releasedEager)."""
        return self.h.released_eager

    @property
    def gcphase_mark(self):
        """True while a cycle is in its mark phase: new objects are allocated black."""
        return bool(self.h.gcphase_mark)

    @gcphase_mark.setter
    def gcphase_mark(self, bint v):
        self.h.gcphase_mark = v
        if v:
            self.h.bytes_marked_black = 0

    def take_heap_scan(self):
        """Scannable bytes allocated and flushed since the last call (Go: the heapScan
        growth gcController.update accumulated); the counter restarts at 0."""
        cdef uint64_t v = self.h.heap_scan_flushed
        self.h.heap_scan_flushed = 0
        return v

    @property
    def write_barrier(self):
        """Go: writeBarrier.enabled -- set by the collector for the mark phase only."""
        return bool(self.h.write_barrier)

    @write_barrier.setter
    def write_barrier(self, bint v):
        if v and self.h.wb_flush == NULL:
            raise ValueError("goruntime: the write barrier needs a running mark (_mark.MarkState)")
        self.h.write_barrier = v

    @property
    def wbuf_len(self):
        """Pointers in the write barrier buffer, not yet shaded."""
        return self.h.wbuf_n

    @property
    def bytes_marked_black(self):
        return self.h.bytes_marked_black

    @property
    def sweepgen(self):
        return self.h.sweepgen

    @property
    def push_seq(self):
        """The last swept-set push stamp (spans' ``seq``): `_mark.sweep_order` sweeps the
        spans pushed after a value read before the mark termination flush first."""
        return self.h.push_seq

    @property
    def mapped_bytes(self):
        return <uint64_t>self.h.mapped_pages << PAGE_SHIFT

    @property
    def nroots(self):
        return self.h.nroots

    def counters(self):
        """The consistent heap statistics (spec 2.1) and memory classes, as a dict of ints
        (`goruntime.mstats.HeapCounters.read` makes the typed snapshot)."""
        cdef int i, p
        cdef uint64_t tiny = 0
        for p in range(MAX_PROCS):             # a C loop: a generator here cost microseconds
            tiny += self.h.mcaches[p].tiny_allocs
        return {
            "small_alloc_count": [self.h.small_alloc_count[i] for i in range(NUM_SIZE_CLASSES)],
            "small_free_count": [self.h.small_free_count[i] for i in range(NUM_SIZE_CLASSES)],
            "tiny_alloc_count": self.h.tiny_alloc_count,
            "large_alloc": self.h.large_alloc,
            "large_alloc_count": self.h.large_alloc_count,
            "large_free": self.h.large_free,
            "large_free_count": self.h.large_free_count,
            "heap_inuse": self.h.heap_inuse,
            "heap_released": self.h.heap_released,
            "heap_sys": <uint64_t>self.h.mapped_pages << PAGE_SHIFT,
            "nspans_inuse": self.h.nspans_inuse,
            "heap_live": self.h.heap_live,
            "malloc_calls": self.h.malloc_calls,
            "malloc_bytes": self.h.malloc_bytes,
            "unflushed_tiny": tiny,
        }

    def mem_counters(self):
        """``(heap_alloc, heap_inuse, heap_sys, heap_released, nspans_inuse)``: what the
        pacer's memory state reads of `counters` (HeapAlloc as `mstats.HeapCounters`
        derives it: bytes allocated less bytes freed), summed here in C, as the collector
        reads them several times per cycle."""
        cdef int i
        cdef uint64_t alloc = self.h.large_alloc, freed = self.h.large_free
        for i in range(NUM_SIZE_CLASSES):
            alloc += self.h.small_alloc_count[i] * class_to_size[i]
            freed += self.h.small_free_count[i] * class_to_size[i]
        return (alloc - freed, self.h.heap_inuse, <uint64_t>self.h.mapped_pages << PAGE_SHIFT,
                self.h.heap_released, self.h.nspans_inuse)

    def mutator_counts(self):
        """What the virtual clock's meter charges (the runtime's clock meter), one
        flat tuple: mallocgc calls and bytes for each path (tiny, small noscan, small scan,
        large noscan, large scan: 10 numbers), then loads, scalar stores, pointer stores."""
        cdef const uint64_t* c = self.h.malloc_path_calls
        cdef const uint64_t* b = self.h.malloc_path_bytes
        return (c[0], b[0], c[1], b[1], c[2], b[2], c[3], b[3], c[4], b[4],
                self.h.mut_loads, self.h.mut_stores, self.h.mut_ptr_stores)

    def unflushed_small(self):
        """Slots used in cached spans but not yet counted (what ReadMemStats' flush adds)."""
        cdef int p, spc
        cdef intp_t si
        out = [0] * NUM_SIZE_CLASSES
        for p in range(MAX_PROCS):
            for spc in range(NUM_SPAN_CLASSES):
                si = self.h.mcaches[p].alloc[spc]
                if si >= 0:
                    out[spc >> 1] += self.h.spans[si].alloc_count - self.h.spans[si].alloc_count_before_cache
        return out

    def flush_mcaches(self, bint adjust_heap_live=True):
        """Go: releaseAll on every P's mcache (ReadMemStats; GC mark termination)."""
        cdef int p
        with nogil:
            for p in range(MAX_PROCS):
                release_all(&self.h, p, adjust_heap_live)

    def tiny_blocks(self):
        """Current tiny block of each P (marked at every GC start), as a uint64 array."""
        return np.array([self.h.mcaches[p].tiny for p in range(MAX_PROCS) if self.h.mcaches[p].tiny],
                        dtype=np.uint64)

    def scavenge(self, nbytes):
        """Release up to *nbytes* of free pages to the OS; returns the bytes released."""
        return _scavenge(self, PyNumber_Index(nbytes))

    # -- allocation ---------------------------------------------------------------------
    # The Python-facing calls take integers as Go does: anything without ``__index__`` (a
    # float, a str) is a TypeError, never truncated. Validation lives here, in the entry
    # points; the nogil allocation paths trust their arguments.
    def alloc(self, size, bint noscan, mask=None, count=1, p=0):
        """Allocate one object of *size* bytes (= count elements); returns its address.

        *mask* is the GC mask of one element (a bool/uint8 array, one entry per word) for
        pointerful objects; ``count`` elements of ``size // count`` bytes each repeat it.
        """
        cdef uint64_t usize = PyNumber_Index(size), ucount = PyNumber_Index(count)
        cdef int ip = PyNumber_Index(p)
        cdef uint64_t out = 0
        cdef const uint8_t[::1] m
        cdef intp_t ew = 0
        self.check_owner()
        if ip < 0 or ip >= self.h.nprocs:
            raise ValueError("P %d out of range (GOMAXPROCS=%d)" % (ip, self.h.nprocs))
        if not noscan and mask is not None:
            m = np.array(mask, dtype=np.uint8, copy=True, order="C", ndmin=1)   # private: may alias the arena
            ew = m.shape[0]
            if ucount == 0 or ucount > usize or <uint64_t>ew * 8 > usize // ucount:   # no overflow
                raise ValueError("mask of %d words x %d elements does not fit %d bytes" % (ew, ucount, usize))
        with nogil:
            mallocgc(&self.h, ip, usize, noscan, &out)
            if not noscan and out != ZEROBASE:
                if ew:
                    set_heap_bits(&self.h, out, &m[0], ew, <intp_t>ucount)
                else:
                    set_heap_bits(&self.h, out, NULL, 0, 0)
        return out

    def alloc_many(self, size, bint noscan, n, mask=None, p=0):
        """Allocate *n* objects of *size* bytes; returns a numpy uint64 array of addresses.

        The bulk API: one call into nogil code, no Python per object. Stops early (the
        array is shorter) if an allocation check point asks for a GC, so the caller can
        run one and continue, as Go's allocating goroutine would. Running out of memory
        part way also stops early: the objects already allocated are returned (the next
        call raises); if not even the first fits, ``MemoryError`` and nothing changed.
        """
        cdef uint64_t usize = PyNumber_Index(size)
        cdef intp_t un = PyNumber_Index(n)
        cdef int ip = PyNumber_Index(p)
        cdef const uint8_t[::1] m
        cdef intp_t ew = 0, i = 0
        self.check_owner()
        if un < 0:
            raise ValueError("negative count %d" % un)
        if ip < 0 or ip >= self.h.nprocs:
            raise ValueError("P %d out of range (GOMAXPROCS=%d)" % (ip, self.h.nprocs))
        if not noscan and mask is not None:
            m = np.array(mask, dtype=np.uint8, copy=True, order="C", ndmin=1)   # private: may alias the arena
            ew = m.shape[0]
            if <uint64_t>ew * 8 > usize:
                raise ValueError("mask of %d words does not fit %d bytes" % (ew, usize))
        out = np.zeros(un, dtype=np.uint64)
        cdef uint64_t[::1] o = out
        try:
            with nogil:
                while i < un:
                    mallocgc(&self.h, ip, usize, noscan, &o[i])    # raises before any change
                    if not noscan and o[i] != ZEROBASE:
                        if ew:
                            set_heap_bits(&self.h, o[i], &m[0], ew, 1)
                        else:
                            set_heap_bits(&self.h, o[i], NULL, 0, 0)
                    i += 1
                    if self.h.gc_pending:
                        break
        except MemoryError:
            if i == 0:
                raise
        return out[:i]

    def fits(self, sizes, noscan, int p=0):
        """True if objects of *sizes* bytes (``noscan[i]`` for each), allocated in order on
        P *p*, would all fit without running out of memory. Changes nothing.

        A call that needs several objects (AddCleanup: the argument box and the closure)
        asks first, so that running out of memory part way never leaves some allocated.
        Exact for small objects in one-page spans (every class up to 1024 bytes); for
        multi-page spans and large objects it may answer False when they would just fit.
        """
        cdef dict need = {}
        cdef list runs = []
        cdef intp_t pages1 = 0, m, nspans, npages, si
        cdef uint64_t sz
        cdef int spc, c
        cdef mspan_t* s
        if p < 0 or p >= self.h.nprocs:
            raise ValueError("P %d out of range (GOMAXPROCS=%d)" % (p, self.h.nprocs))
        for size, ns in zip(sizes, noscan):
            sz = PyNumber_Index(size)
            if sz == 0:
                continue
            if sz > SMALL_CUTOFF:
                if sz > (<uint64_t>self.h.max_pages << PAGE_SHIFT):
                    return False
                runs.append(<intp_t>((sz + PAGE_SIZE - 1) >> PAGE_SHIFT))
                continue
            if ns and sz < TINY_SIZE:
                spc = TINY_SPAN_CLASS              # a new tiny block at most
            elif not ns and sz > MIN_SIZE_FOR_MALLOC_HEADER:
                spc = size_to_class(sz + MALLOC_HEADER_SIZE) << 1
            else:
                spc = (size_to_class(sz) << 1) | (1 if ns else 0)
            need[spc] = need.get(spc, 0) + 1
        for spc, m in need.items():
            si = self.h.mcaches[p].alloc[spc]      # the cached span, then the partial list
            if si >= 0:
                m -= self.h.spans[si].nelems - self.h.spans[si].alloc_count
            si = self.h.partial_head[spc]
            while m > 0 and si >= 0:
                s = &self.h.spans[si]
                m -= s.nelems - s.alloc_count
                si = s.next
            if m > 0:
                c = spc >> 1
                nspans = (m + nelems_for(spc) - 1) // nelems_for(spc)
                if class_to_npages[c] == 1:
                    pages1 += nspans
                else:
                    runs += [<intp_t>class_to_npages[c]] * nspans
        if pages1 == 0 and not runs:
            return True
        cdef intp_t free = self.h.mapped_pages, room, w, total = 0
        for w in range(self.h.mapped_pages >> 6):
            free -= GR_POPCOUNT64(self.h.page_inuse[w])
        room = (self.h.max_pages - self.h.mapped_pages) // CHUNK_PAGES * CHUNK_PAGES
        if not runs:
            return pages1 <= free + room
        if len(runs) == 1 and find_free_run(&self.h, runs[0]) >= 0:
            return pages1 <= free - runs[0] + room
        for npages in runs:
            total += (npages + CHUNK_PAGES - 1) // CHUNK_PAGES * CHUNK_PAGES
        if total <= room and pages1 <= free + room - total:
            return True
        # Many runs (a map's growth, B88): each growth maps whole chunks past the arena's
        # free tail and the lowest free run is taken, so what a growth maps beyond its run
        # stays in the tail for the next. Counting the holes below the tail as unusable
        # for runs, and the one-page spans as taking the tail once the holes are full,
        # the chunks mapped exceed the runs' pages (less the tail) by less than one
        # largest run's chunks, in any order.
        cdef intp_t tail = 0, pmax = 1, rsum = 0, q = self.h.mapped_pages - 1
        while q >= 0 and not bit_get(self.h.page_inuse, q):
            tail += 1
            q -= 1
        for npages in runs:
            rsum += npages
            pmax = max(pmax, npages)
        rsum += max(0, pages1 - (free - tail))
        total = max(0, rsum - tail)
        total = ((total + CHUNK_PAGES - 1) // CHUNK_PAGES
                 + (pmax + CHUNK_PAGES - 1) // CHUNK_PAGES) * CHUNK_PAGES
        return total <= room

    def need(self, sizes, noscan, uint64_t block, int p=0, total=0):
        """`fits`, or Go's out-of-memory MemoryError naming the *block* bytes that would not
        fit: what a call that allocates several objects checks before the first, so that it
        allocates all of them or none. *total* (their bytes summed, when known): larger than
        the arena, it fails before the (maybe long) *sizes* are read."""
        if total > self.arena_cap or not self.fits(sizes, noscan, p):
            throw_oom(&self.h, block)

    # -- memory access -------------------------------------------------------------------
    def find_object(self, addr):
        """Go: findObject. ``(base, slot, elemsize, spanclass)`` of the object holding *addr*.

        ``base`` is the address the program was given (``slot + 8`` for header objects).
        Returns None if *addr* is not inside an allocated object.
        """
        cdef uint64_t a = PyNumber_Index(addr), slot = 0, size = 0
        cdef mspan_t* s
        if not object_bounds(&self.h, a, &slot, &size):
            return None
        s = &self.h.spans[span_of(&self.h, a)]
        base = slot + MALLOC_HEADER_SIZE if span_has_header(s) else slot
        return (base, slot, size, s.spanclass)

    def in_arena(self, addr):
        """True if *addr* lies in the mapped heap (even in a free page)."""
        cdef uint64_t a = PyNumber_Index(addr)
        return self.h.arena_start <= a < self.h.arena_start + (<uint64_t>self.h.mapped_pages << PAGE_SHIFT)

    def is_marked(self, addr):
        """Mark bit of the object holding *addr* (valid between mark and sweep)."""
        cdef uint64_t a = PyNumber_Index(addr)
        cdef intp_t si = span_of(&self.h, a)
        if self.dead is not None:
            self._foreign_call()
        if si < 0:
            return False
        return bool(bit_get(&self.h.gcmark_bits[si * BITMAP_WORDS], obj_index(&self.h.spans[si], a)))

    def marked_many(self, const uint64_t[::1] addrs):
        """Mark bits for many addresses at once (uint8 array)."""
        cdef intp_t i, si, n = addrs.shape[0]
        out = np.zeros(n, dtype=np.uint8)
        cdef uint8_t[::1] o = out
        with nogil:
            for i in range(n):
                si = span_of(&self.h, addrs[i])
                if si >= 0:
                    o[i] = bit_get(&self.h.gcmark_bits[si * BITMAP_WORDS], obj_index(&self.h.spans[si], addrs[i]))
        return out

    def set_marked(self, addr):
        """Set the mark bit of the object holding *addr* (sweep's finalizer revival)."""
        cdef uint64_t a = PyNumber_Index(addr)
        cdef intp_t si = span_of(&self.h, a)
        if self.dead is not None:
            self._foreign_call()
        if si < 0:
            raise ValueError("address %#x is not in the heap" % a)
        bit_set(&self.h.gcmark_bits[si * BITMAP_WORDS], obj_index(&self.h.spans[si], a))

    cdef int _check_range(self, uint64_t addr, uint64_t n) except -1:
        if addr < self.h.arena_start or addr + n > self.h.arena_start + (<uint64_t>self.h.mapped_pages << PAGE_SHIFT) or addr + n < addr:
            raise ValueError("address range %#x+%d is outside the heap" % (addr, n))
        return 0

    cdef void _written(self, uint64_t addr) noexcept:
        """The object at *addr* (in an in-use span) is written: its span is dirty."""
        self.h.page_dirty[span_of(&self.h, addr)] = 1

    cdef int _check_object_range(self, uint64_t addr, uint64_t n) except -1:
        """[addr, addr+n) must lie in the slot of one allocated object (free memory and
        the gaps between objects belong to the allocator: writing there would hand out
        dirty memory later)."""
        cdef uint64_t slot = 0, size = 0
        self._check_range(addr, n)
        if n and not (object_bounds(&self.h, addr, &slot, &size) and addr + n <= slot + size):
            raise ValueError("goruntime: %#x+%d is not inside an allocated object" % (addr, n))
        return 0

    def read_word(self, addr):
        """The 8-byte word at *addr* (8-byte aligned, inside an allocated object)."""
        cdef uint64_t a = PyNumber_Index(addr)
        if self.dead is not None:               # closed: the arena reads zeros (B87)
            self._foreign_call()
        if a & 7:
            raise ValueError("goruntime: word address %#x is not 8-byte aligned" % a)
        self._check_object_range(a, 8)
        return (<uint64_t*>addr_ptr(&self.h, a))[0]

    def write_word(self, addr, value):
        """Store *value* in the word at *addr* (8-byte aligned, inside an allocated object).

        Unsafe like Go's ``unsafe.Pointer`` stores: no pointer bit changes, and a pointer
        word given a bad address makes the next GC fail with "found bad pointer".
        """
        cdef uint64_t a = PyNumber_Index(addr), v = PyNumber_Index(value)
        self.check_owner()
        if a & 7:
            raise ValueError("goruntime: word address %#x is not 8-byte aligned" % a)
        self._check_object_range(a, 8)
        self._written(a)
        if self.h.write_barrier and bit_get(self.h.heap_bits, <intp_t>((a - self.h.arena_start) >> 3)):
            write_barrier(&self.h, a, v)             # a pointer word during a mark
        (<uint64_t*>addr_ptr(&self.h, a))[0] = v

    def bulk_barrier(self, dst, src, nbytes):
        """Go: bulkBarrierPreWrite, before copying *nbytes* from heap address *src* (0:
        the range is being cleared) to heap address *dst*: during a mark, the write
        barrier for every pointer word of the destination. Nothing outside a mark."""
        cdef uint64_t d = PyNumber_Index(dst), sa = PyNumber_Index(src), n = PyNumber_Index(nbytes)
        if not self.h.write_barrier or n == 0 or d & 7:
            return
        self._check_object_range(d, n)
        if sa:
            self._check_object_range(sa, n)
        bulk_barrier(&self.h, d, addr_ptr(&self.h, sa) if sa else NULL, n)

    def view(self, addr, nbytes):
        """A writable numpy uint8 view of heap bytes [addr, addr+nbytes): they must lie
        inside one allocated object."""
        cdef uint64_t a = PyNumber_Index(addr), n = PyNumber_Index(nbytes)
        self.check_owner()
        self._check_object_range(a, n)
        if n:
            self._written(a)
        off = a - self.h.arena_start
        return self.arena[off:off + n]

    def is_pointer_word(self, addr):
        """The pointer bit of the word at *addr*."""
        cdef uint64_t a = PyNumber_Index(addr)
        self._check_range(a, 8)
        return bool(bit_get(self.h.heap_bits, <intp_t>((a - self.h.arena_start) >> 3)))

    def store_pointers(self, const uint64_t[::1] src, const uint64_t[::1] offsets,
                       const uint64_t[::1] dst):
        """Bulk pointer store: ``*(src[i] + offsets[i]) = dst[i]`` for every i.

        Every target word must be a pointer word of an allocated object; the whole batch is
        validated before anything is written, so a bad batch changes nothing. The targets
        and values are computed into private arrays first: an input that aliases the arena
        (a ``view`` of heap memory) cannot be rewritten by an earlier store of the batch
        after it was validated.
        """
        self.check_owner()
        if offsets.shape[0] != src.shape[0] or dst.shape[0] != src.shape[0]:
            raise ValueError("src, offsets and dst must have the same length")
        tgt_a = np.array(src, dtype=np.uint64, copy=True)
        off_a = np.array(offsets, dtype=np.uint64, copy=True)
        val_a = np.array(dst, dtype=np.uint64, copy=True)
        cdef uint64_t[::1] t = tgt_a
        cdef const uint64_t[::1] o = off_a
        cdef const uint64_t[::1] v = val_a
        cdef intp_t n = t.shape[0], i, si
        cdef uint64_t a
        for i in range(n):
            a = t[i] + o[i]
            t[i] = a
            si = span_of(&self.h, a)
            if si < 0 or a & 7 or not bit_get(self.h.heap_bits, <intp_t>((a - self.h.arena_start) >> 3)):
                raise ValueError("store %d: %#x is not a pointer word of a heap object" % (i, a))
            if not bit_get(&self.h.alloc_bits[si * BITMAP_WORDS], obj_index(&self.h.spans[si], a)):
                raise ValueError("store %d: %#x is in a free slot" % (i, a))
        with self.lock:
            with nogil:
                for i in range(n):
                    if self.h.write_barrier:
                        write_barrier(&self.h, t[i], v[i])
                    (<uint64_t*>addr_ptr(&self.h, t[i]))[0] = v[i]
                    self.h.page_dirty[span_of(&self.h, t[i])] = 1

    # -- roots ---------------------------------------------------------------------------
    cdef int _check_root(self, uint64_t addr) except -1:
        """A root in the heap's address range must be inside an allocated object (it may be
        an interior pointer); one outside it (0, zerobase, a global) is ignored by the
        collector, as Go's is."""
        cdef uint64_t slot = 0, size = 0
        if addr >= self.h.arena_start and addr - self.h.arena_start < self.arena_cap \
                and not object_bounds(&self.h, addr, &slot, &size):
            raise ValueError("goruntime: root %#x is not inside an allocated object "
                             "(the next GC would find a bad pointer)" % addr)
        return 0

    def add_root(self, addr):
        """Register a stack root; returns its slot (pass it to remove_root).

        *addr* is inside an allocated object, or outside the heap (ignored by the GC).
        """
        cdef uint64_t a = PyNumber_Index(addr)
        self.check_owner()
        with self.lock:
            self._check_root(a)
            return root_add(&self.h, a)

    def remove_root(self, slot):
        """Unregister a root that add_root (or add_roots) handed out."""
        cdef intp_t s = PyNumber_Index(slot)
        with self.lock:
            if s < 0 or s >= self.h.roots_len or self.h.root_free[s] != ROOT_RAW:
                raise ValueError("goruntime: root slot %d was not handed out by add_root "
                                 "(or was removed already)" % s)
            root_remove(&self.h, s)

    def add_roots(self, const uint64_t[::1] addrs):
        """Register many roots; returns their slots as an int64 array (all or nothing)."""
        cdef intp_t i = 0, j, n = addrs.shape[0]
        out = np.empty(n, dtype=np.int64)
        cdef int64_t[::1] o = out
        self.check_owner()
        with self.lock:
            for j in range(n):
                self._check_root(addrs[j])
            try:
                while i < n:
                    o[i] = root_add(&self.h, addrs[i])
                    i += 1
            except MemoryError:
                for j in range(i):
                    root_remove(&self.h, o[j])
                raise
        return out

    def use_live_set(self):
        """Make the live set (``mheap_t.live_bits``: a trace replay's objects held span by
        span instead of one root each) usable; idempotent. Its bitmap is made on first use
        (lazily backed: the pages of spans never used cost nothing)."""
        cdef uint64_t[::1] lb
        if self._live_bits is None:
            if _kept_live and _kept_live[0][0] == self.arena_cap:     # (keep_memory)
                self._live_bits = _kept_live.pop()[1]
            else:
                self._live_bits = zeroed(self.h.max_pages * BITMAP_WORDS, np.uint64)
            lb = self._live_bits
            self.h.live_bits = &lb[0]

    @property
    def nlive(self):
        """Objects held by the live set (`use_live_set`; part of `nroots`)."""
        return self.h.nlive

    def remove_roots(self, const int64_t[::1] slots):
        """Unregister many roots (slots from add_roots or Cython code); all or nothing."""
        cdef intp_t i, j, s, n = slots.shape[0]
        with self.lock:
            for i in range(n):                   # validate: in use, not a handle's, no repeats
                s = slots[i]
                if s < 0 or s >= self.h.roots_len or self.h.root_free[s] != ROOT_RAW:
                    for j in range(i):
                        self.h.root_free[slots[j]] = ROOT_RAW
                    raise ValueError("goruntime: root slot %d was not handed out by add_root "
                                     "(or was removed already, or is repeated)" % s)
                self.h.root_free[s] = ROOT_RAW - 10          # seen (a repeat fails above)
            with nogil:
                for i in range(n):
                    self.h.root_free[slots[i]] = ROOT_RAW
                    root_remove(&self.h, slots[i])

    def roots(self):
        """The live root addresses (a copy)."""
        a = np.asarray(<uint64_t[:self.h.roots_len]>self.h.roots) if self.h.roots_len else np.zeros(0, np.uint64)
        return a[a != 0].copy()
