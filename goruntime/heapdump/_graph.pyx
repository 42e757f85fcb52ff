# cython: embedsignature=True
"""The object graph of a heap dump, and the dumped objects placed in a goruntime Heap.

Objects are numbered 0..n-1 in Go address order (``addrs`` sorted, ``sizes`` their slot
sizes). A pointer word is resolved to the object whose slot contains it (an interior
pointer names its object, as Go's findObject does); a word that is 0 or points outside
every dumped object resolves to -1. The graph is kept as CSR arrays (``indptr``, ``dst``),
without self-edges (Go's scanobject skips pointers into the object being scanned).

Traversals run without the GIL over those arrays and never recurse, so a 10-million-node
list is fine:

- ``Index``: Go address -> object, through a page table (Go's spans are page aligned).
- ``Search``: multi-source breadth-first search from the roots in order, stopped as soon
  as it reaches the object asked about and resumed by the next question; each object's
  parent is the object that first reached it (or the first root holding it), which gives
  every object one shortest path from the earliest root (why_alive).
- ``dominators``: immediate dominators from a virtual root above all roots, by the
  Semi-NCA algorithm (Georgiadis; as in LLVM's GenericDomTreeConstruction: iterative DFS,
  semidominators with path-compressed eval, then the nearest-common-ancestor pass).
- ``retained``: each object's size plus that of everything it dominates.

``place`` allocates the objects in a goruntime Heap with the slot sizes and span classes
Go used, copies their contents, sets their pointer bits from the dump's field lists, and
rewrites each pointer word that resolves to a dumped object to the same offset in that
object's new slot (the one translation between Go addresses and arena addresses).
"""
import numpy as np

from libc.string cimport memcpy
from goruntime._types cimport int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t, intp_t
from goruntime._heap cimport (
    Heap, mheap_t, mspan_t, malloc_small, malloc_large, size_to_class, addr_ptr, bit_set, bit_clear,
    object_bounds, span_of, BITMAP_WORDS, class_to_nelems_noscan, class_to_nelems_scan,
    class_to_npages,
    class_to_size,
)


cdef extern from *:
    void __builtin_prefetch(const void* p) noexcept nogil


# One dumped object: a row of OBJECT_DTYPE (d.objects), checked field by field at import.
cdef struct dobj_t:
    uint64_t addr             # Go's address of the slot
    uint64_t size             # slot size
    uint64_t arena            # the slot in the Runtime's arena (place)
    uint64_t content_off      # file offset of its bytes
    uint64_t field_start      # its pointer offsets: fields[field_start:field_start + nptr]
    uint32_t nptr
    int32_t site              # allocation site, -1 if not sampled
    uint8_t sizeclass         # 0 for a large object
    uint8_t noscan

OBJECT_DTYPE = np.dtype([
    ("addr", np.uint64),        # Go's address of the slot (as dumped)
    ("size", np.uint64),        # slot size: a size class, or a large span's bytes
    ("arena", np.uint64),       # the slot in d.runtime's arena
    ("content_off", np.uint64), # where the object's bytes are in the dump file
    ("field_start", np.uint64), # its pointer offsets, a range of the dump's field list
    ("nptr", np.uint32),        # pointer words (the dump's field list)
    ("site", np.int32),         # allocation-site index into d.sites, -1 when not sampled
    ("sizeclass", np.uint8),    # Go's size class, 0 for a large object
    ("noscan", np.bool_),       # no pointer words (a noscan span)
], align=True)


cdef _check_layout():
    cdef dobj_t o
    cdef size_t b = <size_t>&o
    got = {"addr": <size_t>&o.addr - b, "size": <size_t>&o.size - b, "arena": <size_t>&o.arena - b,
           "content_off": <size_t>&o.content_off - b, "field_start": <size_t>&o.field_start - b,
           "nptr": <size_t>&o.nptr - b, "site": <size_t>&o.site - b,
           "sizeclass": <size_t>&o.sizeclass - b, "noscan": <size_t>&o.noscan - b}
    if OBJECT_DTYPE.itemsize != sizeof(dobj_t) or any(OBJECT_DTYPE.fields[k][1] != v for k, v in got.items()):
        raise ImportError("goruntime.heapdump: OBJECT_DTYPE does not match dobj_t")


_check_layout()


cdef dobj_t* rows(objects, bint write=False) except? NULL:
    """The records of *objects* (a C-contiguous OBJECT_DTYPE array); NULL if empty."""
    if not isinstance(objects, np.ndarray) or objects.dtype != OBJECT_DTYPE \
            or objects.ndim != 1 or not objects.flags.c_contiguous:
        raise TypeError("expected a C-contiguous 1-D array of OBJECT_DTYPE")
    if write and not objects.flags.writeable:
        raise ValueError("the object array is read-only")
    if len(objects) == 0:
        return NULL
    return <dobj_t*><size_t>objects.ctypes.data


cdef inline uint64_t at8(const uint8_t* base, intp_t stride, int64_t i) noexcept nogil:
    return (<const uint64_t*>(base + i * stride))[0]


cdef inline uint64_t load64(const uint8_t* p) noexcept nogil:
    cdef uint64_t v
    memcpy(&v, p, 8)                        # little-endian host, checked by the loader
    return v


cdef struct index_t:
    const uint8_t* addrs          # the i-th address at addrs + i*astride (a strided column)
    const uint8_t* sizes
    intp_t astride
    intp_t sstride
    int64_t n
    const int64_t* page_first     # NULL: binary search over all objects
    const uint32_t* page_step     # per page: the size of its objects if they sit back to
                                  # back from the first (a full span's page), else 0
    uint64_t lo                   # first page's address
    int64_t npages


cdef inline uint64_t ix_addr(const index_t* ix, int64_t i) noexcept nogil:
    return at8(ix.addrs, ix.astride, i)


cdef inline uint64_t ix_size(const index_t* ix, int64_t i) noexcept nogil:
    return at8(ix.sizes, ix.sstride, i)


cdef inline int64_t find(const index_t* ix, uint64_t w) noexcept nogil:
    """Index of the object whose slot holds address *w*, or -1 (binary search)."""
    cdef int64_t lo = 0, hi = ix.n, mid
    if ix.n == 0 or w < ix_addr(ix, 0):
        return -1
    while hi - lo > 1:                      # invariant: addrs[lo] <= w < addrs[hi]
        mid = (lo + hi) >> 1
        if ix_addr(ix, mid) <= w:
            lo = mid
        else:
            hi = mid
    if w - ix_addr(ix, lo) < ix_size(ix, lo):
        return lo
    return -1


cdef int set_columns(index_t* ix, const uint64_t[:] addrs, const uint64_t[:] sizes) except -1:
    ix.n = addrs.shape[0]
    if sizes.shape[0] != ix.n:
        raise ValueError("addresses and sizes differ in length")
    ix.page_first = NULL
    ix.addrs = <const uint8_t*>&addrs[0] if ix.n else NULL
    ix.sizes = <const uint8_t*>&sizes[0] if ix.n else NULL
    ix.astride = addrs.strides[0]
    ix.sstride = sizes.strides[0]
    return 0


cdef inline int64_t lookup(const index_t* ix, uint64_t w) noexcept nogil:
    """Index of the object whose slot holds address *w*, or -1: the page table gives the
    objects that start in w's page (one span's, at most 1024); when they sit back to back
    one division finds the last one at or below w, else a binary search among them; if
    none, the object before the page (a large one)."""
    cdef int64_t p, a, b, mid, c
    cdef uint32_t step
    if ix.page_first == NULL:
        return find(ix, w)
    if w < ix.lo:
        return -1
    p = <int64_t>((w - ix.lo) >> 13)
    if p >= ix.npages:
        return -1
    a = ix.page_first[p]
    b = ix.page_first[p + 1]
    if a == b or w < ix_addr(ix, a):
        c = a - 1
    elif ix.page_step[p]:
        step = ix.page_step[p]
        c = a + <int64_t>(<uint32_t>(w - ix_addr(ix, a)) / step)   # w is in the page: < 8192 on
        if c >= b:
            c = b - 1
    else:
        c = a                               # invariant: addrs[c] <= w < addrs[b] (or end)
        while b - c > 1:
            mid = (c + b) >> 1
            if ix_addr(ix, mid) <= w:
                c = mid
            else:
                b = mid
    if c >= 0 and w - ix_addr(ix, c) < ix_size(ix, c):
        return c
    return -1


cdef class _PageTable:
    """Index's page table over a part of the pages (one thread each)."""
    cdef const index_t* ix
    cdef int64_t* pf
    cdef uint32_t* ps
    cdef intp_t bound[65]               # part p: pages bound[p] .. bound[p+1]

    def run(self, intp_t p):
        """page_first of the part's pages (from a binary search for its first one), then
        page_step where the page's objects sit back to back."""
        cdef const index_t* ix = self.ix
        cdef int64_t* pf = self.pf
        cdef uint32_t* ps = self.ps
        cdef intp_t q, a, b, i, j, lo, hi, mid
        cdef uint64_t base, s0
        with nogil:
            base = ix.lo + (<uint64_t>self.bound[p] << 13)
            lo, hi = 0, <intp_t>ix.n     # the first object at or above base
            while lo < hi:
                mid = (lo + hi) >> 1
                if ix_addr(ix, mid) < base:
                    lo = mid + 1
                else:
                    hi = mid
            j = lo
            for q in range(self.bound[p], self.bound[p + 1]):
                base = ix.lo + (<uint64_t>q << 13)
                while j < ix.n and ix_addr(ix, j) < base:
                    j += 1
                pf[q] = j
            for q in range(self.bound[p], self.bound[p + 1]):
                if q == ix.npages:          # the end marker has no page
                    break
                a = pf[q]
                b = pf[q + 1] if q + 1 < self.bound[p + 1] else -1
                if b < 0:                   # the next part's first page: search it
                    base = ix.lo + (<uint64_t>(q + 1) << 13)
                    b = a
                    while b < ix.n and ix_addr(ix, b) < base:
                        b += 1
                if a == b:
                    continue
                s0 = ix_size(ix, a)
                if s0 == 0 or s0 >= (<uint64_t>1 << 31):
                    continue
                i = a + 1
                while i < b and ix_size(ix, i) == s0 and ix_addr(ix, i) - ix_addr(ix, i - 1) == s0:
                    i += 1
                if i == b:
                    ps[q] = <uint32_t>s0


cdef class Index:
    """Go address -> object index, for objects sorted by address (``addrs``, slot
    ``sizes``). A page table (the first object starting in each 8 KiB page, as Go's
    spans are page aligned; and when a page's objects sit back to back, their size) makes
    each lookup a division or a short search within one page; when the objects are
    spread over a range much larger than the heap, it is a binary search. The table is
    built on *threads* threads (parts of the pages)."""
    cdef index_t ix
    cdef object _keep

    def __init__(self, const uint64_t[:] addrs, const uint64_t[:] sizes, int threads=1):
        cdef intp_t n = addrs.shape[0], p, nparts
        cdef int64_t npages
        cdef uint64_t lo, hi
        cdef int64_t[::1] pf
        cdef _PageTable t = _PageTable()
        set_columns(&self.ix, addrs, sizes)
        self._keep = (addrs, sizes, None)
        if n == 0:
            return
        lo = addrs[0] & ~(<uint64_t>8191)
        hi = addrs[n - 1] + sizes[n - 1]
        if hi < lo:                         # wraps: layout refuses such dumps
            return
        npages = <int64_t>((hi - lo + 8191) >> 13)
        if npages > 4 * <int64_t>n + (1 << 20):
            return
        table = np.empty(npages + 1, dtype=np.int64)
        steps = np.zeros(npages, dtype=np.uint32)
        pf = table
        cdef uint32_t[::1] ps = steps
        self.ix.lo = lo
        self.ix.npages = npages
        t.ix, t.pf, t.ps = &self.ix, &pf[0], &ps[0]
        nparts = max(1, min(threads, 64, npages + 1))
        for p in range(nparts + 1):
            t.bound[p] = (npages + 1) * p // nparts
        in_threads(t.run, nparts)
        self._keep = (addrs, sizes, table, steps)
        self.ix.page_first = &pf[0]
        self.ix.page_step = &ps[0]

    def resolve(self, const uint64_t[::1] values):
        """Object index holding each of *values* (int64, -1 where none)."""
        cdef intp_t i, n = values.shape[0]
        out = np.empty(n, dtype=np.int64)
        cdef int64_t[::1] o = out
        with nogil:
            for i in range(n):
                o[i] = lookup(&self.ix, values[i])
        return out


def resolve(const uint64_t[:] addrs, const uint64_t[:] sizes, const uint64_t[::1] values):
    """Object index holding each of *values* (int64, -1 where none); binary search."""
    cdef intp_t i, n = values.shape[0]
    cdef index_t ix
    set_columns(&ix, addrs, sizes)
    out = np.empty(n, dtype=np.int64)
    cdef int64_t[::1] o = out
    if n == 0:
        return out
    with nogil:
        for i in range(n):
            o[i] = find(&ix, values[i])
    return out


def read_words(const uint8_t[::1] buf, const uint64_t[::1] offsets):
    """The little-endian words at *offsets* of *buf* (callers have bounds-checked them)."""
    cdef intp_t i, n = offsets.shape[0]
    out = np.empty(n, dtype=np.uint64)
    cdef uint64_t[::1] o = out
    with nogil:
        for i in range(n):
            o[i] = load64(&buf[offsets[i]])
    return out


# columns of the parser's object table (_parse.COLUMNS[TAG_OBJECT])
cdef enum:
    O_ADDR = 1


cdef int check_fields(const dobj_t* o, intp_t n, intp_t nf) except -1:
    """Every object's field range lies in the field list (the parser made them so)."""
    cdef intp_t i
    cdef bint bad = False
    with nogil:
        for i in range(n):
            if o[i].field_start > <uint64_t>nf or o[i].nptr > <uint64_t>nf - o[i].field_start:
                bad = True
                break
    if bad:
        raise ValueError("objects and fields disagree")
    return 0


def in_threads(fn, intp_t nparts):
    """Call ``fn(i)`` for i in range(nparts), part 0 on this thread and the others each on
    a thread of its own (*fn* runs a nogil kernel over its part), and wait for all."""
    if nparts <= 1:
        fn(0)
        return
    import threading
    ts = [threading.Thread(target=fn, args=(i,)) for i in range(1, nparts)]
    for t in ts:
        t.start()
    try:
        fn(0)
    finally:
        for t in ts:
            t.join()


cdef class _Graph:
    """object_graph's two passes over parts of the objects (one thread each)."""
    cdef const uint8_t* buf
    cdef const index_t* ix
    cdef const dobj_t* o
    cdef const uint64_t* fields
    cdef int32_t* tg
    cdef int64_t* ip
    cdef int32_t* d
    cdef intp_t bound[65]               # part p: objects bound[p] .. bound[p+1]
    cdef int64_t base[65]               # part p's first edge
    cdef intp_t nf, nparts

    def unresolved(self, intp_t p):
        """target = -1 over part p of the field list (frame and segment fields stay so)."""
        cdef intp_t k
        with nogil:
            for k in range(self.nf * p // self.nparts, self.nf * (p + 1) // self.nparts):
                self.tg[k] = -1

    def count(self, intp_t p):
        """Resolve the fields of part p's objects; ip[i+1] = edges of the part up to i."""
        cdef intp_t i, k, m = 0
        cdef int64_t t
        with nogil:
            for i in range(self.bound[p], self.bound[p + 1]):
                for k in range(<intp_t>self.o[i].field_start, <intp_t>(self.o[i].field_start + self.o[i].nptr)):
                    t = lookup(self.ix, load64(self.buf + self.o[i].content_off + self.fields[k]))
                    self.tg[k] = <int32_t>t
                    if t >= 0 and t != i:
                        m += 1
                self.ip[i + 1] = m

    def fill(self, intp_t p):
        """Part p's edges from base[p] on; ip made absolute."""
        cdef intp_t i, k
        cdef int64_t t, m = self.base[p]
        with nogil:
            for i in range(self.bound[p], self.bound[p + 1]):
                for k in range(<intp_t>self.o[i].field_start, <intp_t>(self.o[i].field_start + self.o[i].nptr)):
                    t = self.tg[k]
                    if t >= 0 and t != i:
                        self.d[m] = <int32_t>t
                        m += 1
                self.ip[i + 1] = m


def object_graph(const uint8_t[::1] buf, Index index, objects, const uint64_t[::1] fields,
                 int threads=1):
    """Resolve every pointer field of every object (*objects*: OBJECT_DTYPE records,
    sorted by address, one per object of *index*), on *threads* threads (parts of the
    objects; the result does not depend on it).

    Returns ``(target, indptr, dst)``: ``target[k]`` (int32) is the object field k points
    into (-1 if none), and the CSR graph of object -> object edges in address order.
    """
    cdef intp_t n = len(objects), nf = fields.shape[0], p, nparts
    cdef const dobj_t* o = rows(objects)
    cdef _Graph g = _Graph()
    check_fields(o, n, nf)
    if n >= 2**31 - 1:
        raise ValueError("heap dump: more than 2**31 objects")
    if n != index.ix.n:
        raise ValueError("object_graph: the index is of another object table")
    target = np.empty(nf, dtype=np.int32)          # -1 too for frame and segment fields
    indptr = np.empty(n + 1, dtype=np.int64)
    cdef int32_t[::1] tg = target
    cdef int64_t[::1] ip = indptr
    cdef int32_t[::1] d
    ip[0] = 0
    nparts = max(1, min(threads, 64, max(n, 1)))
    g.nf, g.nparts = nf, nparts
    g.tg = &tg[0] if nf else NULL
    in_threads(g.unresolved, nparts)
    if n == 0:
        return target, indptr, np.zeros(0, dtype=np.int32)
    g.buf, g.ix, g.o = &buf[0], &index.ix, o
    g.fields = &fields[0] if nf else NULL
    g.ip = &ip[0]
    for p in range(nparts + 1):
        g.bound[p] = n * p // nparts
    in_threads(g.count, nparts)
    g.base[0] = 0
    for p in range(nparts):
        g.base[p + 1] = g.base[p] + ip[g.bound[p + 1]]
    dst = np.empty(g.base[nparts], dtype=np.int32)
    if g.base[nparts]:
        d = dst
        g.d = &d[0]
        in_threads(g.fill, nparts)
    else:
        ip[1:] = 0
    return target, indptr, dst


def dominators(const int64_t[::1] indptr, const int32_t[::1] dst, const int64_t[::1] roots):
    """Immediate dominator of every object under a virtual root above *roots*.

    Returns ``(idom, preorder)``: ``idom[v]`` is an object index, -1 when only the virtual
    root dominates v (several roots reach it, or a root holds it), -2 when v is
    unreachable; ``preorder`` lists the reachable objects in DFS preorder (each after
    its dominator). Semi-NCA; no recursion.
    """
    cdef intp_t n = indptr.shape[0] - 1, i, e, top, num, v, w, u, x, sp, p
    cdef int64_t r
    # node numbers: object i is node i+1, the virtual root is node 0
    pre = np.full(n + 1, -1, dtype=np.int64)     # node -> DFS number
    vert = np.empty(n + 1, dtype=np.int64)       # DFS number -> node
    cdef int64_t[::1] dfn = pre
    cdef int64_t[::1] vx = vert
    cdef int64_t[::1] rl = np.asarray(roots, dtype=np.int64).copy()
    cdef int64_t[::1] parent = np.zeros(n + 1, dtype=np.int64)
    cdef int64_t[::1] stack_v = np.empty(n + 1, dtype=np.int64)
    cdef int64_t[::1] stack_e = np.empty(n + 1, dtype=np.int64)
    with nogil:
        # iterative DFS from the virtual root, whose children are the roots in order
        dfn[0] = 0
        vx[0] = 0
        num = 1
        for i in range(rl.shape[0]):
            r = rl[i]
            if r < 0 or r >= n or dfn[r + 1] >= 0:
                continue
            dfn[r + 1] = num
            vx[num] = r + 1
            parent[num] = 0
            num += 1
            top = 0
            stack_v[0] = r
            stack_e[0] = indptr[r]
            while top >= 0:
                v = stack_v[top]
                if stack_e[top] >= indptr[v + 1]:
                    top -= 1
                    continue
                w = dst[stack_e[top]]
                stack_e[top] += 1
                if dfn[w + 1] >= 0:
                    continue
                dfn[w + 1] = num
                vx[num] = w + 1
                parent[num] = dfn[v + 1]
                num += 1
                top += 1
                stack_v[top] = w
                stack_e[top] = indptr[w]
    # predecessors by DFS number (reachable nodes only), CSR
    cdef int64_t[::1] pcount = np.zeros(num + 1, dtype=np.int64)
    cdef intp_t dv, dw
    with nogil:
        for i in range(rl.shape[0]):
            r = rl[i]
            if r >= 0 and r < n:
                pcount[dfn[r + 1] + 1] += 1
        for v in range(n):
            dv = dfn[v + 1]
            if dv < 0:
                continue
            for e in range(indptr[v], indptr[v + 1]):
                dw = dfn[dst[e] + 1]
                pcount[dw + 1] += 1
        for i in range(num):
            pcount[i + 1] += pcount[i]
    cdef int64_t[::1] preds = np.empty(pcount[num], dtype=np.int64)
    cdef int64_t[::1] fill = np.asarray(pcount[:num]).copy() if num else np.zeros(0, np.int64)
    with nogil:
        for i in range(rl.shape[0]):
            r = rl[i]
            if r >= 0 and r < n:
                dw = dfn[r + 1]
                preds[fill[dw]] = 0
                fill[dw] += 1
        for v in range(n):
            dv = dfn[v + 1]
            if dv < 0:
                continue
            for e in range(indptr[v], indptr[v + 1]):
                dw = dfn[dst[e] + 1]
                preds[fill[dw]] = dv
                fill[dw] += 1
    # Semi-NCA over DFS numbers
    cdef int64_t[::1] semi = np.arange(num, dtype=np.int64)
    cdef int64_t[::1] label = np.arange(num, dtype=np.int64)
    cdef int64_t[::1] anc = np.asarray(parent[:num]).copy() if num else np.zeros(0, np.int64)
    cdef int64_t[::1] idomn = np.asarray(parent[:num]).copy() if num else np.zeros(0, np.int64)
    cdef int64_t last, best
    if num:
        anc[0] = -1
    with nogil:
        for w in range(num - 1, 0, -1):
            semi[w] = parent[w]
            last = w + 1
            for e in range(pcount[w], pcount[w + 1]):
                v = preds[e]
                # eval(v, last): the label with the least semi on v's compressed path
                if anc[v] < last:
                    u = label[v]
                else:
                    sp = 0
                    x = v
                    while True:
                        stack_v[sp] = x
                        sp += 1
                        x = anc[x]
                        if anc[x] < last:
                            break
                    p = x
                    while sp > 0:
                        sp -= 1
                        x = stack_v[sp]
                        anc[x] = anc[p]
                        if semi[label[p]] < semi[label[x]]:
                            label[x] = label[p]
                        p = x
                    u = label[v]
                if semi[u] < semi[w]:
                    semi[w] = semi[u]
        for w in range(1, num):
            best = idomn[w]
            while best > semi[w]:
                best = idomn[best]
            idomn[w] = best
    idom = np.full(n, -2, dtype=np.int64)
    cdef int64_t[::1] out = idom
    with nogil:
        for w in range(1, num):
            out[vx[w] - 1] = vx[idomn[w]] - 1        # the virtual root (node 0) -> -1
    return idom, np.asarray(vert[1:num]) - 1


def retained(const int64_t[::1] idom, const int64_t[::1] preorder, const uint64_t[:] sizes):
    """Retained size of every object: its size plus the retained sizes of the objects it
    immediately dominates (0 for unreachable objects)."""
    cdef intp_t n = idom.shape[0], i, v
    out = np.zeros(n, dtype=np.uint64)
    cdef uint64_t[::1] o = out
    with nogil:
        for i in range(preorder.shape[0]):
            v = preorder[i]
            o[v] = sizes[v]
        for i in range(preorder.shape[0] - 1, -1, -1):   # children before their dominator
            v = preorder[i]
            if idom[v] >= 0:
                o[idom[v]] += o[v]
    return out


def reach(const int64_t[::1] indptr, const int32_t[::1] dst, const int64_t[::1] roots):
    """uint8 mask of the objects reachable from *roots* (indices; negative ones skipped)."""
    cdef intp_t n = indptr.shape[0] - 1, i, head = 0, tail = 0, v, e
    cdef int64_t w
    seen = np.zeros(n, dtype=np.uint8)
    cdef uint8_t[::1] s = seen
    cdef int64_t[::1] q = np.empty(n, dtype=np.int64)
    with nogil:
        for i in range(roots.shape[0]):
            w = roots[i]
            if w >= 0 and w < n and not s[w]:
                s[w] = 1
                q[tail] = w
                tail += 1
        while head < tail:
            v = q[head]
            head += 1
            for e in range(indptr[v], indptr[v + 1]):
                w = dst[e]
                if not s[w]:
                    s[w] = 1
                    q[tail] = w
                    tail += 1
    return seen


def place(Heap heap, const uint8_t[::1] buf, objects, const uint64_t[::1] fields,
          const int32_t[::1] target, const int64_t[::1] span_first,
          const uint16_t[::1] slot_index, const uint8_t[::1] span_noscan, int threads=1):
    """Allocate every object in *heap* in a span of the class Go used, at the slot index it
    had in its Go span, copy its bytes, set its pointer bits and translate its pointers.

    *objects*: OBJECT_DTYPE records in address order. *span_first* gives the first object
    of each Go span (and len(objects) last), *slot_index* each object's slot in its span,
    *span_noscan* each span's class. Every slot of each Go span is allocated in a fresh
    goruntime span (in order, on this thread: a span at a time, its slot bits set at
    once, as that many single allocations would); then on *threads* threads, each over
    whole spans, the object slots get their mark bit (so the caller's sweep,
    ``_mark.sweep``, frees the others and the spans hold what Go's held), and the bytes
    are copied.
    Sets each object's ``arena`` (its slot) and returns the number of pointer words
    cleared because they pointed into the arena's address range but at no dumped
    object (a stale word would be a bad pointer to the collector; one outside that range
    keeps its value and bit, and the collector ignores it, as Go ignores pointers to
    globals). Small objects over 512 bytes in scan spans keep Go's header word as bytes.
    Caller holds the world lock on a fresh Runtime's heap (out of memory raises; the
    Runtime is then discarded).
    """
    cdef intp_t n = len(objects), nspans = span_first.shape[0] - 1, g, i, _idx, nel
    cdef mheap_t* h = &heap.h
    cdef mspan_t* sp
    cdef uint64_t size, out = 0, base, lo = h.arena_start, hi = h.arena_start + heap.arena_cap
    cdef intp_t si
    cdef int c, spc
    cdef intp_t cleared = 0
    cdef dobj_t* o = rows(objects, True)
    check_fields(o, n, fields.shape[0])
    if target.shape[0] != fields.shape[0] or slot_index.shape[0] != n \
            or (nspans >= 0 and (span_noscan.shape[0] != nspans or span_first[nspans] != n)):
        raise ValueError("place: inconsistent tables")
    bases = np.empty(max(nspans, 0), dtype=np.uint64)
    cdef uint64_t[::1] sb = bases
    with nogil:
        for g in range(nspans):
            i = span_first[g]
            size = o[i].size
            if size > 32768:
                malloc_large(h, size, span_noscan[g], &out)
                sb[g] = out
                h.malloc_calls += 1
                h.malloc_bytes += size
                continue
            c = size_to_class(size)
            spc = (c << 1) | (1 if span_noscan[g] else 0)
            nel = class_to_nelems_noscan[c] if span_noscan[g] else class_to_nelems_scan[c]
            malloc_small(h, 0, spc, &base)
            si = span_of(h, base)
            sp = &h.spans[si]
            if sp.base == base and sp.nelems == <uint32_t>nel and sp.freeindex == 1 \
                    and sp.alloc_count == 1 and not sp.needzero and not h.gcphase_mark:
                # a fresh span, its slot 0 taken: the other nel-1 malloc_small calls would
                # set alloc bits 1..nel-1 and count them; do that at once
                fill_bits(&h.alloc_bits[si * BITMAP_WORDS], nel)
                sp.freeindex = <uint32_t>nel
                sp.alloc_count = <uint32_t>nel
            else:
                for _idx in range(1, nel):
                    malloc_small(h, 0, spc, &out)
            sb[g] = base
            h.malloc_calls += nel
            h.malloc_bytes += <uint64_t>nel * size
        h.gc_pending = 0
    # then, in parts of whole spans (one thread each: spans are page aligned, so no two
    # parts share a word of the heap bitmap or a span's mark bits): each object's slot
    # and mark bit; and once every slot is known, the bytes, pointer bits and pointers
    cdef _Place pl = _Place()
    cdef intp_t nparts = max(1, min(threads, 64, nspans)), p
    pl.h, pl.o = h, o
    pl.buf = &buf[0] if buf.shape[0] else NULL
    pl.fields = &fields[0] if fields.shape[0] else NULL
    pl.target = &target[0] if target.shape[0] else NULL
    pl.span_first = &span_first[0]
    pl.slot_index = &slot_index[0] if n else NULL
    pl.span_base = &sb[0] if nspans > 0 else NULL
    pl.lo, pl.hi = lo, hi
    cut = np.searchsorted(np.asarray(span_first), np.arange(nparts + 1) * n // max(nparts, 1))
    for p in range(nparts + 1):
        pl.gbound[p] = min(int(cut[p]), max(nspans, 0))
        pl.bound[p] = span_first[pl.gbound[p]] if nspans > 0 else 0
        pl.cleared[p] = 0
    pl.gbound[nparts] = max(nspans, 0)
    pl.bound[nparts] = n
    in_threads(pl.slots, nparts)
    in_threads(pl.run, nparts)
    for p in range(nparts):
        cleared += pl.cleared[p]
    return cleared


cdef inline void fill_bits(uint64_t* words, intp_t count) noexcept nogil:
    """Set bits 0 .. count-1."""
    cdef intp_t w
    for w in range(count >> 6):
        words[w] = ~(<uint64_t>0)
    if count & 63:
        words[count >> 6] |= (<uint64_t>1 << (count & 63)) - 1


cdef inline void clear_bits(uint64_t* words, intp_t j, intp_t count) noexcept nogil:
    """Clear bits j .. j+count-1."""
    cdef intp_t e = j + count
    while j < e and (j & 63):
        bit_clear(words, j)
        j += 1
    while e - j >= 64:
        words[j >> 6] = 0
        j += 64
    while j < e:
        bit_clear(words, j)
        j += 1


cdef class _Place:
    """place's passes over a part of the objects (whole spans)."""
    cdef mheap_t* h
    cdef dobj_t* o
    cdef const uint8_t* buf
    cdef const uint64_t* fields
    cdef const int32_t* target
    cdef const int64_t* span_first
    cdef const uint16_t* slot_index
    cdef const uint64_t* span_base
    cdef uint64_t lo, hi
    cdef intp_t gbound[65]              # part p: spans gbound[p] .. gbound[p+1]
    cdef intp_t bound[65]               # and their objects bound[p] .. bound[p+1]
    cdef intp_t cleared[65]

    def slots(self, intp_t p):
        """Each object's slot (its Go span's new base + its slot index times its size)
        and mark bit, so the caller's sweep keeps exactly the dumped objects."""
        cdef intp_t g, i, si
        cdef uint64_t base, size
        cdef mheap_t* h = self.h
        cdef dobj_t* o = self.o
        with nogil:
            for g in range(self.gbound[p], self.gbound[p + 1]):
                base = self.span_base[g]
                si = span_of(h, base)
                size = o[self.span_first[g]].size
                for i in range(self.span_first[g], self.span_first[g + 1]):
                    o[i].arena = base + self.slot_index[i] * size
                    bit_set(&h.gcmark_bits[si * BITMAP_WORDS], <intp_t>self.slot_index[i])

    def run(self, intp_t p):
        cdef intp_t i, j, k, cleared = 0
        cdef uint64_t slot, size, w
        cdef mheap_t* h = self.h
        cdef dobj_t* o = self.o
        cdef const uint8_t* buf = self.buf
        cdef const uint64_t* fields = self.fields
        cdef const int32_t* target = self.target
        with nogil:
            for i in range(self.bound[p], self.bound[p + 1]):
                slot = o[i].arena
                size = o[i].size
                memcpy(addr_ptr(h, slot), buf + o[i].content_off, size)
                j = <intp_t>((slot - self.lo) >> 3)
                clear_bits(h.heap_bits, j, <intp_t>(size >> 3))
                for k in range(<intp_t>o[i].field_start, <intp_t>(o[i].field_start + o[i].nptr)):
                    w = load64(buf + o[i].content_off + fields[k])
                    if target[k] >= 0:
                        w = o[target[k]].arena + (w - o[target[k]].addr)
                        memcpy(addr_ptr(h, slot + fields[k]), &w, 8)
                        bit_set(h.heap_bits, j + <intp_t>(fields[k] >> 3))
                    elif w >= self.lo and w < self.hi:
                        cleared += 1
                    else:
                        bit_set(h.heap_bits, j + <intp_t>(fields[k] >> 3))
        self.cleared[p] = cleared


def allocated(Heap heap, const uint64_t[::1] slots):
    """uint8 mask: 1 where the slot at each arena address is allocated in *heap*."""
    cdef intp_t i, n = slots.shape[0]
    cdef uint64_t slot = 0, size = 0
    out = np.zeros(n, dtype=np.uint8)
    cdef uint8_t[::1] o = out
    with nogil:
        for i in range(n):
            o[i] = object_bounds(&heap.h, slots[i], &slot, &size) and slot == slots[i]
    return out


def tree_order(const int64_t[::1] idom):
    """The reachable objects ordered so that each comes after its immediate dominator
    (breadth-first over the dominator tree; -1 = child of the virtual root, -2 = absent)."""
    cdef intp_t n = idom.shape[0], i, head = 0, tail = 0, v, e
    cdef int64_t[::1] start = np.zeros(n + 2, dtype=np.int64)
    cdef int64_t[::1] kids = np.empty(n, dtype=np.int64)
    out = np.empty(n, dtype=np.int64)
    cdef int64_t[::1] q = out
    with nogil:
        for i in range(n):                       # children counts; slot 0 = virtual root
            if idom[i] >= -1:
                start[idom[i] + 2] += 1
        for i in range(n + 1):
            start[i + 1] += start[i]
        for i in range(n):
            if idom[i] >= -1:
                kids[start[idom[i] + 1]] = i
                start[idom[i] + 1] += 1
        # start[k] is now the end of node k-1's children; their beginning is start[k-1]
        for e in range(0, start[0]):
            q[tail] = kids[e]
            tail += 1
        while head < tail:
            v = q[head]
            head += 1
            for e in range(start[v], start[v + 1]):
                q[tail] = kids[e]
                tail += 1
    return out[:tail]


cdef inline bint has_prefix(const uint8_t* s, uint64_t n, const char* pre) noexcept nogil:
    cdef uint64_t i = 0
    while pre[i] != 0:
        if i >= n or s[i] != <uint8_t>pre[i]:
            return False
        i += 1
    return True


cdef inline bint runtime_frame(const uint8_t* buf, const uint64_t* row) noexcept nogil:
    """A memory-profile frame inside the runtime (its function or, when inlined, its file)."""
    cdef const uint8_t* name = buf + row[1]
    cdef const uint8_t* file = buf + row[3]
    return (has_prefix(name, row[2], "runtime.") or has_prefix(name, row[2], "internal/")
            or has_prefix(file, row[4], "runtime/") or has_prefix(file, row[4], "internal/"))


def site_frames(const uint8_t[::1] buf, const uint64_t[::1] stk_start,
                const uint64_t[::1] nstk, const uint64_t[:, ::1] stacks):
    """For each memory-profile bucket, the stack row of its allocation site (the first
    frame outside the runtime, else the first frame; -1 for an empty stack) and a 64-bit
    FNV-1a hash of that frame's function, file and line (buckets with one site share it)."""
    cdef intp_t nb = stk_start.shape[0], b, k, i, pick
    cdef uint64_t h
    cdef const uint64_t* row
    rows = np.full(nb, -1, dtype=np.int64)
    keys = np.zeros(nb, dtype=np.uint64)
    cdef int64_t[::1] r = rows
    cdef uint64_t[::1] kv = keys
    with nogil:
        for b in range(nb):
            if nstk[b] == 0:
                continue
            pick = <intp_t>stk_start[b]
            for k in range(<intp_t>stk_start[b], <intp_t>(stk_start[b] + nstk[b])):
                if not runtime_frame(&buf[0], &stacks[k, 0]):
                    pick = k
                    break
            r[b] = pick
            row = &stacks[pick, 0]
            h = 14695981039346656037ULL
            for i in range(<intp_t>row[2]):
                h = (h ^ buf[row[1] + i]) * 1099511628211ULL
            h = (h ^ 0xff) * 1099511628211ULL
            for i in range(<intp_t>row[4]):
                h = (h ^ buf[row[3] + i]) * 1099511628211ULL
            h = (h ^ row[5]) * 1099511628211ULL
            kv[b] = h
    return rows, keys


cdef class _Layout:
    """layout's first passes over a part of the objects (whole pages: a page's objects
    are in one part), one thread each."""
    cdef dobj_t* o
    cdef uint8_t* cl
    cdef uint8_t* kp
    cdef uint16_t* kx
    cdef intp_t bound[65]
    cdef int err[64]
    cdef intp_t at[64]

    def run(self, intp_t p):
        """Size classes (err 1: a size no class or large span has; 5: wraps), then the
        one-page spans' slot indices and the tail slots to drop, page by page."""
        cdef intp_t i, j, g, lo = self.bound[p], hi = self.bound[p + 1]
        cdef const dobj_t* o = self.o
        cdef uint8_t* cl = self.cl
        cdef uint8_t* kp = self.kp
        cdef uint16_t* kx = self.kx
        cdef uint64_t s, base
        cdef int c, err = 0
        cdef intp_t at = -1
        cdef bint scan
        with nogil:
            for i in range(lo, hi):
                s = o[i].size
                kp[i] = 1
                if s <= 32768:
                    c = size_to_class(s)
                    if class_to_size[c] != s:
                        err = 1
                        at = i
                        break
                    cl[i] = <uint8_t>c
                elif s & 8191:
                    err = 1
                    at = i
                    break
                if o[i].addr + s < o[i].addr:
                    err = 5
                    at = i
                    break
            i = lo
            while err == 0 and i < hi:
                c = <int>cl[i]
                if c == 0 or class_to_npages[c] != 1:
                    i += 1
                    continue
                base = o[i].addr & ~(<uint64_t>8191)
                j = i
                scan = False
                while j < hi and (o[j].addr & ~(<uint64_t>8191)) == base and cl[j] == c:
                    kx[j] = <uint16_t>((o[j].addr - base) // o[j].size)
                    if kx[j] < class_to_nelems_scan[c] and o[j].nptr > 0:
                        scan = True
                    j += 1
                for g in range(i, j):
                    if kx[g] >= (class_to_nelems_scan[c] if scan else class_to_nelems_noscan[c]):
                        kp[g] = 0
                i = j
        self.err[p] = err
        self.at[p] = at


cdef inline void put(dobj_t* o, intp_t j, intp_t i, uint8_t c) noexcept nogil:
    """The j-th kept object is object i: move it down, set its class, noscan and site."""
    if j != i:
        o[j] = o[i]
    o[j].sizeclass = c
    o[j].noscan = 1 if o[j].nptr == 0 else 0
    o[j].site = -1


def layout(objects, int threads=1):
    """Size classes, Go's spans and slot indices of the objects (sorted by address), and
    the objects compacted to those kept.

    *objects*: OBJECT_DTYPE records, sorted by address.
    Go 1.27's dumpobjs writes ``npages*8192/size`` slots per span, so a one-page Green Tea
    span also yields its tail (the inline mark bits, and the heap bits of a scan span) as
    objects; those are dropped: a slot at or past the span's element count (scan spans have
    fewer elements; a span is scan if one of its real objects has pointer fields).
    A span's base is page aligned and its objects sit at ``base + k*size``; for every Go
    1.27 class the k that puts an object on a page boundary is unique below the span's slot
    count. Returns ``(err, at, m, k, span_first, span_noscan)``; ``err`` is 0, or a
    code for the object at index *at*: 1 bad size, 2 in no page-aligned span, 3 inside the
    span of the objects before it, 4 overlaps the object before it, 5 wraps the address
    space. Without an error the kept objects are moved down to ``objects[:m]`` (in
    order, each with its ``sizeclass``, ``noscan`` and ``site`` -1) and ``k`` (slot
    indices) and the span arrays are of those; with one, the objects before *at* may
    have been moved (the record at *at* is intact).
    The classes and one-page spans are found on *threads* threads (parts of whole
    pages), the spans in order on this thread.
    """
    cdef intp_t n = len(objects), i, j, nk, kk, nsp = 0, p, nparts, b
    cdef uint64_t s, a, base, np_, nslots, prev_end = 0, span_end = 0, cur_base
    cdef dobj_t* o = rows(objects, True)
    cdef int c, err = 0
    cdef intp_t at = -1
    cls = np.zeros(n, dtype=np.uint8)
    keep = np.empty(n, dtype=np.uint8)
    kidx = np.zeros(n, dtype=np.uint16)     # a slot index: below 1024
    cdef uint8_t[::1] cl = cls
    cdef uint8_t[::1] kp = keep
    cdef uint16_t[::1] kx = kidx
    cdef _Layout L = _Layout()
    if n:
        nparts = max(1, min(threads, 64, n))
        L.o, L.cl, L.kp, L.kx = o, &cl[0], &kp[0], &kx[0]
        L.bound[0] = 0
        for p in range(1, nparts):
            b = max(n * p // nparts, L.bound[p - 1])
            while 0 < b < n and (o[b].addr >> 13) == (o[b - 1].addr >> 13):
                b += 1                      # a part starts on a new page
            L.bound[p] = b
        L.bound[nparts] = n
        in_threads(L.run, nparts)
        for p in range(nparts):             # the first error in object order
            if L.err[p]:
                err, at = L.err[p], L.at[p]
                break
    if err:
        return err, at, 0, None, None, None
    cdef intp_t m = 0
    with nogil:
        for i in range(n):
            m += kp[i]
    span_first = np.zeros(m + 1, dtype=np.int64)
    span_noscan = np.zeros(m, dtype=np.uint8)
    ko_arr = np.zeros(m, dtype=np.uint16)
    cdef int64_t[::1] sf = span_first
    cdef uint8_t[::1] sn = span_noscan
    cdef uint16_t[::1] ko = ko_arr
    cdef uint64_t cur_size = 0
    with nogil:
        cur_base = 0
        i = -1
        for j in range(m):
            i += 1                          # the j-th kept object
            while not kp[i]:
                i += 1
            a = o[i].addr
            s = o[i].size
            c = <int>cl[i]
            if j and a < prev_end:
                err = 4
                at = i
                break
            prev_end = a + s
            if c == 0:
                np_ = s >> 13
                nslots = 1
            else:
                np_ = class_to_npages[c]
                nslots = (np_ << 13) // s
            # is it in the current span?
            if nsp and a >= cur_base and a < span_end and s == cur_size \
                    and (a - cur_base) % s == 0:
                ko[j] = <uint16_t>((a - cur_base) // s)
                if o[i].nptr > 0:
                    sn[nsp - 1] = 0
                put(o, j, i, cl[i])
                continue
            # a new span: find its base
            kk = -1
            if c != 0 and np_ == 1:
                kk = <intp_t>((a & 8191) // s)
            elif c == 0:
                kk = 0 if (a & 8191) == 0 else -1
            else:
                for nk in range(<intp_t>nslots):
                    if a >= <uint64_t>nk * s and (a - <uint64_t>nk * s) & 8191 == 0:
                        kk = nk
                        break
            if kk < 0:
                err = 2
                at = i
                break
            base = a - <uint64_t>kk * s
            if nsp and base < span_end:
                err = 3
                at = i
                break
            cur_base = base
            span_end = base + (np_ << 13)
            sf[nsp] = j
            sn[nsp] = 0 if o[i].nptr > 0 else 1
            nsp += 1
            ko[j] = <uint16_t>kk
            cur_size = s
            put(o, j, i, cl[i])
        sf[nsp] = m
    if err:
        return err, at, 0, None, None, None
    return 0, -1, m, ko_arr, span_first[:nsp + 1], span_noscan[:nsp]


def is_sorted(const uint64_t[:, ::1] objs):
    """Whether the object table is in address order (Go writes it span by span, in the
    order of mheap_.allspans: usually, not always, ascending)."""
    cdef intp_t i, n = objs.shape[0]
    cdef bint ok = True
    with nogil:
        for i in range(1, n):
            if objs[i, O_ADDR] < objs[i - 1, O_ADDR]:
                ok = False
                break
    return ok


cdef class Search:
    """Breadth-first search from the roots in order, run only as far as a question needs
    and resumed by the next one (a FIFO search is deterministic, so stopping early
    changes nothing: each object gets the parent the whole search would give it, the
    object that first reached it, or the first root that holds it).

    ``enc[v]``: 0 not reached (yet), ``u + 1`` reached from object u, ``-1 - r`` held by
    root r (its index in *roots*). int32: at most 2**31 - 2 objects and roots.
    """
    cdef object indptr, dst, _enc, _queue
    cdef const int64_t[::1] ip
    cdef const int32_t[::1] ds
    cdef int32_t[::1] enc
    cdef int32_t[::1] q
    cdef intp_t head, tail
    cdef object _seen
    cdef uint64_t* seen_p
    cdef readonly bint done

    def __init__(self, const int64_t[::1] indptr, const int32_t[::1] dst, const int64_t[::1] roots):
        cdef intp_t n = indptr.shape[0] - 1, i
        cdef int64_t w
        if n >= 2**31 - 1 or roots.shape[0] >= 2**31 - 1:
            raise ValueError("heap dump: more than 2**31 objects or roots")
        self.indptr, self.dst = indptr, dst
        self.ip, self.ds = indptr, dst
        self._enc = np.zeros(n, dtype=np.int32)
        self._queue = np.empty(n, dtype=np.int32)
        self.enc, self.q = self._enc, self._queue
        self.head = self.tail = 0
        self._seen = np.zeros(n // 64 + 1, dtype=np.uint64)
        cdef uint64_t[::1] sv = self._seen
        self.seen_p = &sv[0]
        with nogil:
            for i in range(roots.shape[0]):
                w = roots[i]
                if w >= 0 and w < n and self.enc[w] == 0:
                    self.seen_p[w >> 6] |= (<uint64_t>1) << (w & 63)
                    self.enc[w] = <int32_t>(-1 - i)
                    self.q[self.tail] = <int32_t>w
                    self.tail += 1
        self.done = self.head == self.tail

    cdef void _run(self, intp_t target) noexcept nogil:
        # The seen bitset (n/8 bytes: cache-resident where enc is not) answers the test
        # for every edge; enc is written once per object. Prefetching the edge lists of
        # the objects 8 and 16 places ahead in the queue overlaps their cache misses.
        cdef intp_t v, e, w, h
        cdef uint64_t* seen = self.seen_p
        cdef const int64_t* ip = &self.ip[0]
        cdef const int32_t* ds = &self.ds[0] if self.ds.shape[0] else NULL
        cdef int32_t* q = &self.q[0] if self.q.shape[0] else NULL
        cdef int32_t* enc = &self.enc[0] if self.enc.shape[0] else NULL
        while self.head < self.tail:
            if target >= 0 and enc[target] != 0:
                return
            h = self.head
            if h + 16 < self.tail:
                __builtin_prefetch(&ip[q[h + 16]])
            if h + 8 < self.tail:
                __builtin_prefetch(&ds[ip[q[h + 8]]])
            v = q[h]
            self.head = h + 1
            for e in range(ip[v], ip[v + 1]):
                w = ds[e]
                if not (seen[w >> 6] >> (w & 63)) & 1:
                    seen[w >> 6] |= (<uint64_t>1) << (w & 63)
                    enc[w] = <int32_t>(v + 1)
                    q[self.tail] = <int32_t>w
                    self.tail += 1
        self.done = True

    def reached(self):
        """bool mask of the objects reachable from the roots (runs the search to the end)."""
        with nogil:
            self._run(-1)
        return self._enc != 0

    def path(self, intp_t j):
        """``(chain, root)``: the objects from the one a root holds down to *j* (int64,
        in order) and that root's index; ``(None, -1)`` when *j* is unreachable."""
        cdef intp_t n = self.enc.shape[0], k = 0, v
        if j < 0 or j >= n:
            raise IndexError(j)
        with nogil:
            self._run(j)
        if self.enc[j] == 0:
            return None, -1
        v = j
        while self.enc[v] > 0:
            k += 1
            v = self.enc[v] - 1
        chain = np.empty(k + 1, dtype=np.int64)
        cdef int64_t[::1] c = chain
        v = j
        for i in range(k, -1, -1):
            c[i] = v
            if i:
                v = self.enc[v] - 1
        return chain, <intp_t>(-1 - self.enc[v])


def edge_offsets(const int64_t[::1] chain, objects, const uint64_t[::1] fields,
                 const int32_t[::1] target):
    """For each step a -> b of *chain*, the offset in a of its first pointer field into b."""
    cdef intp_t i, k, n = chain.shape[0], nobj = len(objects)
    out = np.zeros(max(n - 1, 0), dtype=np.uint64)
    cdef uint64_t[::1] o = out
    cdef int64_t a, b
    cdef const dobj_t* ob = rows(objects)
    for i in range(n):
        if chain[i] < 0 or chain[i] >= nobj:
            raise IndexError(chain[i])
        if ob[chain[i]].field_start + ob[chain[i]].nptr > <uint64_t>fields.shape[0] \
                or target.shape[0] != fields.shape[0]:
            raise ValueError("objects and fields disagree")
    with nogil:
        for i in range(n - 1):
            a = chain[i]
            b = chain[i + 1]
            for k in range(<intp_t>ob[a].field_start, <intp_t>(ob[a].field_start + ob[a].nptr)):
                if target[k] == b:
                    o[i] = fields[k]
                    break
    return out


# slot kinds of a flattened DWARF type (_dwarf.S_*)
cdef enum:
    S_PTR = 1
    S_SLICE = 2
    S_EFACE = 3
    S_IFACE = 4
    S_MAPDIR = 5
    S_GROUPS = 6


cdef struct typer_t:
    const uint8_t* buf
    const index_t* ix
    const uint64_t* tsize
    const int32_t* direct
    const uint64_t* rt_addr
    const int32_t* rt_type
    intp_t nrt
    const uint64_t* itab_addr
    const int32_t* itab_type
    intp_t nitab
    int32_t* otype
    uint64_t* ocount
    int32_t* queue
    intp_t tail
    const dobj_t* objs


cdef inline uint64_t header(const typer_t* c, int64_t j) noexcept nogil:
    """8 if object j starts with Go's malloc header (a small object over 512 bytes in a
    scan span: the word is its type's ``*_type``), else 0; the value follows it."""
    cdef uint64_t size = c.objs[j].size
    if size > 512 and size <= 32768 and c.objs[j].nptr > 0:
        return 8
    return 0


cdef inline int32_t find_type(const uint64_t* keys, const int32_t* vals, intp_t n, uint64_t k) noexcept nogil:
    cdef intp_t lo = 0, hi = n, mid
    while lo < hi:
        mid = (lo + hi) >> 1
        if keys[mid] < k:
            lo = mid + 1
        else:
            hi = mid
    if lo < n and keys[lo] == k:
        return vals[lo]
    return -1


cdef inline void give(typer_t* c, uint64_t w, int32_t t, uint64_t count) noexcept nogil:
    """Type the object that starts at Go address *w* as *count* values of type *t*, if it
    has no type yet and they fit in its slot; queue it to type what it points to."""
    if t < 0 or count == 0 or c.tsize[t] == 0:
        return
    give_to(c, lookup(c.ix, w), w, t, count)


cdef inline void give_to(typer_t* c, int64_t j, uint64_t w, int32_t t, uint64_t count) noexcept nogil:
    """`give`, the object holding *w* known: *j* (-1: none)."""
    cdef uint64_t h
    if j < 0 or t < 0 or count == 0 or c.tsize[t] == 0 or c.otype[j] >= 0:
        return
    h = header(c, j)
    if w - c.objs[j].addr != h:
        return                                  # an interior pointer: its type is not the object's
    if count > (c.objs[j].size - h) // c.tsize[t]:
        return                                  # does not fit: a wrong guess, leave it
    c.otype[j] = t
    c.ocount[j] = count
    c.queue[c.tail] = <int32_t>j
    c.tail += 1


cdef inline void visit(typer_t* c, uint64_t pos, uint64_t lim, uint8_t kind, int32_t t1,
                       int32_t t2) noexcept nogil:
    """Follow the slot of kind *kind* at file offset *pos* (its memory ends at *lim*)."""
    cdef uint64_t w, x
    cdef int32_t d
    if lim < 16 or pos > lim - 8:               # (no overflow: lim is at most the file size)
        return
    w = load64(c.buf + pos)
    if kind == S_PTR:
        give(c, w, t1, 1)
        return
    if pos > lim - 16:
        return
    x = load64(c.buf + pos + 8)
    if kind == S_EFACE or kind == S_IFACE:
        if w == 0:
            return
        if kind == S_IFACE:
            d = find_type(c.itab_addr, c.itab_type, c.nitab, w)
        else:
            d = find_type(c.rt_addr, c.rt_type, c.nrt, w)
        if d < 0 or c.direct[d] == -2:
            return
        if c.direct[d] >= 0:
            give(c, x, c.direct[d], 1)          # a pointer-shaped value is the data word
        else:
            give(c, x, d, 1)
    elif kind == S_SLICE:
        if lim >= 24 and pos <= lim - 24:
            give(c, w, t1, load64(c.buf + pos + 16))
    elif kind == S_MAPDIR:                      # Swiss map: one group, or a directory
        if x == 0:
            give(c, w, t1, 1)
        else:
            give(c, w, t2, x)
    elif kind == S_GROUPS:
        give(c, w, t1, x + 1)


cdef int64_t _max_id(const int32_t[::1] a):
    return int(np.asarray(a).max()) if a.shape[0] else -1


cdef uint64_t _max_u(const uint64_t[::1] a):
    return int(np.asarray(a).max()) if a.shape[0] else 0


def propagate(const uint8_t[::1] buf, Index index, objects,
              const uint64_t[::1] fields, const int32_t[::1] target, const uint64_t[::1] tsize, const int64_t[::1] sstart, const uint64_t[::1] soff,
              const uint8_t[::1] skind, const int32_t[::1] st1, const int32_t[::1] st2,
              const int32_t[::1] direct, const uint64_t[::1] rt_addr, const int32_t[::1] rt_type,
              const uint64_t[::1] itab_addr, const int32_t[::1] itab_type,
              const uint64_t[::1] seed_pos, const uint64_t[::1] seed_lim,
              const uint8_t[::1] seed_kind, const int32_t[::1] seed_t1, const int32_t[::1] seed_t2):
    """Types of the objects, from typed roots along typed pointers (as viewcore does).

    Each seed is a pointer slot of a typed root (file offset *seed_pos* of its first
    word, the end of its memory *seed_lim*, its kind and types); the object a slot points
    to at its start gets the slot's target type (count values of it for a slice, a map
    directory or group array), unless typed already or too small; then its own slots are
    followed, breadth first. Returns ``(otype, ocount)``: a type id per object (-1 none)
    and how many values of it the object holds.
    """
    cdef intp_t n = len(objects), i, j, e, s, ntypes = tsize.shape[0]
    cdef const dobj_t* objs = rows(objects)
    cdef uint64_t base, lim, eb
    cdef int32_t t
    cdef typer_t c
    otype = np.full(n, -1, dtype=np.int32)
    ocount = np.zeros(n, dtype=np.uint64)
    queue = np.empty(max(n, 1), dtype=np.int32)
    cdef int32_t[::1] ot = otype
    cdef uint64_t[::1] oc = ocount
    cdef int32_t[::1] q = queue
    if n != index.ix.n:
        raise ValueError("propagate: the index is of another object table")
    if fields.shape[0] != target.shape[0] or _max_id(target) >= n:
        raise ValueError("propagate: fields, targets and objects disagree")
    check_fields(objs, n, fields.shape[0])
    if sstart.shape[0] != ntypes + 1 or direct.shape[0] != ntypes:
        raise ValueError("propagate: inconsistent type tables")
    if _max_id(st1) >= ntypes or _max_id(st2) >= ntypes or _max_id(seed_t1) >= ntypes \
            or _max_id(seed_t2) >= ntypes or _max_id(rt_type) >= ntypes \
            or _max_id(itab_type) >= ntypes or _max_id(direct) >= ntypes:
        raise ValueError("propagate: a type id out of range")
    if ntypes and soff.shape[0] and _max_u(soff) > (<uint64_t>1 << 40):
        raise ValueError("propagate: a slot offset out of range")
    if ntypes and (sstart[0] != 0 or sstart[ntypes] != soff.shape[0]
                   or skind.shape[0] != soff.shape[0] or st1.shape[0] != soff.shape[0]
                   or st2.shape[0] != soff.shape[0] or (np.diff(np.asarray(sstart)) < 0).any()):
        raise ValueError("propagate: inconsistent slot tables")
    if seed_lim.shape[0] != seed_pos.shape[0] or seed_kind.shape[0] != seed_pos.shape[0] \
            or seed_t1.shape[0] != seed_pos.shape[0] or seed_t2.shape[0] != seed_pos.shape[0] \
            or _max_u(seed_lim) > <uint64_t>buf.shape[0] or rt_type.shape[0] != rt_addr.shape[0] \
            or itab_type.shape[0] != itab_addr.shape[0]:
        raise ValueError("propagate: inconsistent seeds")
    c.buf = &buf[0]
    c.ix = &index.ix
    c.tsize = &tsize[0] if ntypes else NULL
    c.direct = &direct[0] if ntypes else NULL
    c.rt_addr = &rt_addr[0] if rt_addr.shape[0] else NULL
    c.rt_type = &rt_type[0] if rt_type.shape[0] else NULL
    c.nrt = rt_addr.shape[0]
    c.itab_addr = &itab_addr[0] if itab_addr.shape[0] else NULL
    c.itab_type = &itab_type[0] if itab_type.shape[0] else NULL
    c.nitab = itab_addr.shape[0]
    c.otype = &ot[0] if n else NULL
    c.ocount = &oc[0] if n else NULL
    c.queue = &q[0]
    c.tail = 0
    if n == 0 or ntypes == 0:
        return otype, ocount
    c.objs = objs
    cdef intp_t pending = 0, kp, kend
    cdef int32_t d
    cdef uint64_t h, pos, fo
    with nogil:
        for i in range(seed_pos.shape[0]):
            visit(&c, seed_pos[i], seed_lim[i], seed_kind[i], seed_t1[i], seed_t2[i])
        i = 0
        while True:
            while i < c.tail:
                # the queue is known ahead: fetch the row of the object 16 places on, and
                # the fields, targets and bytes of the one 8 places on (its row is in)
                if i + 16 < c.tail:
                    __builtin_prefetch(&objs[c.queue[i + 16]])
                if i + 8 < c.tail:
                    j = c.queue[i + 8]
                    __builtin_prefetch(c.buf + objs[j].content_off)
                    if objs[j].nptr:
                        __builtin_prefetch(&fields[objs[j].field_start])
                        __builtin_prefetch(&target[objs[j].field_start])
                if i + 4 < c.tail:            # and the objects the one 4 places on points to
                    j = c.queue[i + 4]
                    kp = <intp_t>objs[j].field_start
                    for e in range(kp, kp + min(<intp_t>objs[j].nptr, 8)):
                        if target[e] >= 0:
                            __builtin_prefetch(&ot[target[e]])
                            __builtin_prefetch(&objs[target[e]])
                j = c.queue[i]
                i += 1
                t = ot[j]
                h = header(&c, j)
                base = objs[j].content_off
                lim = base + objs[j].size
                kp = <intp_t>objs[j].field_start
                kend = kp + <intp_t>objs[j].nptr
                for e in range(<intp_t>oc[j]):
                    eb = base + h + <uint64_t>e * tsize[t]
                    for s in range(sstart[t], sstart[t + 1]):
                        pos = eb + soff[s]
                        if skind[s] == S_PTR and pos <= lim - 8:
                            # the object graph resolved this word already: its field
                            # (the lists are in offset order; a miss looks it up)
                            fo = pos - base
                            while kp < kend and fields[kp] < fo:
                                kp += 1
                            if kp < kend and fields[kp] == fo:
                                give_to(&c, target[kp], load64(c.buf + pos), st1[s], 1)
                                continue
                        visit(&c, pos, lim, skind[s], st1[s], st2[s])
            # then the objects no typed pointer reached that carry their type in a
            # malloc header: as many values as fit after it (an array's length is not
            # recorded; its capacity is at most that)
            while pending < n:
                j = pending
                pending += 1
                if ot[j] >= 0 or header(&c, j) == 0:
                    continue
                d = find_type(c.rt_addr, c.rt_type, c.nrt, load64(c.buf + objs[j].content_off))
                if d >= 0 and tsize[d] > 0:
                    give(&c, objs[j].addr + 8, d, (objs[j].size - 8) // tsize[d])
                    if c.tail > i:
                        break
            if i >= c.tail and pending >= n:
                break
    return otype, ocount
