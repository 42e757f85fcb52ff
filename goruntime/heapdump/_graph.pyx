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
from goruntime._types cimport int32_t, int64_t, uint8_t, uint32_t, uint64_t, intp_t
from goruntime._heap cimport (
    Heap, mheap_t, malloc_small, malloc_large, size_to_class, addr_ptr, bit_set, bit_clear,
    object_bounds, span_of, BITMAP_WORDS, class_to_nelems_noscan, class_to_nelems_scan,
    class_to_npages,
    class_to_size,
)


cdef extern from *:
    void __builtin_prefetch(const void* p) noexcept nogil


cdef inline int64_t find(const uint64_t* addrs, const uint64_t* sizes, int64_t n,
                         uint64_t w) noexcept nogil:
    """Index of the object whose slot holds address *w*, or -1."""
    cdef int64_t lo = 0, hi = n, mid
    if n == 0 or w < addrs[0]:
        return -1
    while hi - lo > 1:                      # invariant: addrs[lo] <= w < addrs[hi]
        mid = (lo + hi) >> 1
        if addrs[mid] <= w:
            lo = mid
        else:
            hi = mid
    if w - addrs[lo] < sizes[lo]:
        return lo
    return -1


cdef inline uint64_t load64(const uint8_t* p) noexcept nogil:
    cdef uint64_t v
    memcpy(&v, p, 8)                        # little-endian host, checked by the loader
    return v


cdef struct index_t:
    const uint64_t* addrs
    const uint64_t* sizes
    int64_t n
    const int64_t* page_first     # NULL: binary search over all objects
    uint64_t lo                   # first page's address
    int64_t npages


cdef inline int64_t lookup(const index_t* ix, uint64_t w) noexcept nogil:
    """Index of the object whose slot holds address *w*, or -1: the page table gives the
    objects that start in w's page (one span's, at most 1024), a binary search among
    them the last one at or below w; if none, the object before the page (a large one)."""
    cdef int64_t p, a, b, mid, c
    if ix.page_first == NULL:
        return find(ix.addrs, ix.sizes, ix.n, w)
    if w < ix.lo:
        return -1
    p = <int64_t>((w - ix.lo) >> 13)
    if p >= ix.npages:
        return -1
    a = ix.page_first[p]
    b = ix.page_first[p + 1]
    if a == b or w < ix.addrs[a]:
        c = a - 1
    else:
        c = a                               # invariant: addrs[c] <= w < addrs[b] (or end)
        while b - c > 1:
            mid = (c + b) >> 1
            if ix.addrs[mid] <= w:
                c = mid
            else:
                b = mid
    if c >= 0 and w - ix.addrs[c] < ix.sizes[c]:
        return c
    return -1


cdef class Index:
    """Go address -> object index, for objects sorted by address (``addrs``, slot
    ``sizes``). A page table (the first object starting in each 8 KiB page, as Go's
    spans are page aligned) makes each lookup a short search within one page; when the
    objects are spread over a range much larger than the heap, it is a binary search."""
    cdef index_t ix
    cdef object _keep

    def __init__(self, const uint64_t[::1] addrs, const uint64_t[::1] sizes):
        cdef intp_t n = addrs.shape[0], j = 0, p
        cdef int64_t npages
        cdef uint64_t lo, hi, base
        cdef int64_t[::1] pf
        self.ix.n = n
        self.ix.page_first = NULL
        self.ix.addrs = &addrs[0] if n else NULL
        self.ix.sizes = &sizes[0] if n else NULL
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
        pf = table
        with nogil:
            for p in range(npages + 1):
                base = lo + (<uint64_t>p << 13)
                while j < n and addrs[j] < base:
                    j += 1
                pf[p] = j
        self._keep = (addrs, sizes, table)
        self.ix.page_first = &pf[0]
        self.ix.lo = lo
        self.ix.npages = npages

    def resolve(self, const uint64_t[::1] values):
        """Object index holding each of *values* (int64, -1 where none)."""
        cdef intp_t i, n = values.shape[0]
        out = np.empty(n, dtype=np.int64)
        cdef int64_t[::1] o = out
        with nogil:
            for i in range(n):
                o[i] = lookup(&self.ix, values[i])
        return out


def resolve(const uint64_t[::1] addrs, const uint64_t[::1] sizes, const uint64_t[::1] values):
    """Object index holding each of *values* (int64, -1 where none); binary search."""
    cdef intp_t i, n = values.shape[0]
    out = np.empty(n, dtype=np.int64)
    cdef int64_t[::1] o = out
    if n == 0:
        return out
    with nogil:
        for i in range(n):
            o[i] = find(&addrs[0], &sizes[0], addrs.shape[0], values[i])
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
    O_REC = 0
    O_ADDR = 1
    O_SIZE = 2
    O_CONTENT = 3
    O_FSTART = 4
    O_NFIELDS = 5


def object_graph(const uint8_t[::1] buf, Index index, const uint64_t[:, ::1] objs,
                 const uint64_t[::1] fields):
    """Resolve every pointer field of every object (*objs*: the parser's object table,
    sorted by address, one row per object of *index*).

    Returns ``(target, indptr, dst)``: ``target[k]`` (int32) is the object field k points
    into (-1 if none), and the CSR graph of object -> object edges in address order.
    """
    cdef intp_t n = objs.shape[0], i, k, m = 0, nf = fields.shape[0]
    cdef int64_t t
    cdef const index_t* ix = &index.ix
    target = np.full(nf, -1, dtype=np.int32)       # -1 too for frame and segment fields
    indptr = np.empty(n + 1, dtype=np.int64)
    cdef int32_t[::1] tg = target
    cdef int64_t[::1] ip = indptr
    cdef int32_t[::1] d
    if n >= 2**31 - 1:
        raise ValueError("heap dump: more than 2**31 objects")
    if n != ix.n:
        raise ValueError("object_graph: the index is of another object table")
    with nogil:
        ip[0] = 0
        for i in range(n):
            for k in range(<intp_t>objs[i, O_FSTART], <intp_t>(objs[i, O_FSTART] + objs[i, O_NFIELDS])):
                t = lookup(ix, load64(&buf[objs[i, O_CONTENT] + fields[k]]))
                tg[k] = <int32_t>t
                if t >= 0 and t != i:
                    m += 1
            ip[i + 1] = m
    dst = np.empty(m, dtype=np.int32)
    d = dst
    m = 0
    with nogil:
        for i in range(n):
            for k in range(<intp_t>objs[i, O_FSTART], <intp_t>(objs[i, O_FSTART] + objs[i, O_NFIELDS])):
                t = tg[k]
                if t >= 0 and t != i:
                    d[m] = <int32_t>t
                    m += 1
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


def retained(const int64_t[::1] idom, const int64_t[::1] preorder, const uint64_t[::1] sizes):
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


def place(Heap heap, const uint8_t[::1] buf, const uint64_t[::1] addrs,
          const uint64_t[::1] sizes, const uint64_t[:, ::1] objs,
          const uint64_t[::1] fields, const int32_t[::1] target,
          const int64_t[::1] span_first, const uint64_t[::1] slot_index,
          const uint8_t[::1] span_noscan):
    """Allocate every object in *heap* in a span of the class Go used, at the slot index it
    had in its Go span, copy its bytes, set its pointer bits and translate its pointers.

    *span_first* gives the first object of each Go span (and len(addrs) last), *slot_index*
    each object's slot in its span, *span_noscan* each span's class. Every slot of each Go
    span is allocated in a fresh goruntime span; the object slots get their mark bit, so the
    caller's sweep (``_mark.sweep``) frees the others and the spans hold what Go's held.
    Returns ``(slots, cleared)``: the arena slot of each object, and the number of pointer
    words cleared because they pointed into the arena's address range but at no dumped
    object (a stale word would be a bad pointer to the collector; one outside that range
    keeps its value and bit, and the collector ignores it, as Go ignores pointers to
    globals). Small objects over 512 bytes in scan spans keep Go's header word as bytes.
    Caller holds the world lock on a fresh Runtime's heap (out of memory raises; the
    Runtime is then discarded).
    """
    cdef intp_t n = addrs.shape[0], nspans = span_first.shape[0] - 1, g, i, k, j, idx, nel
    cdef mheap_t* h = &heap.h
    cdef uint64_t size, out = 0, w, slot, base, lo = h.arena_start, hi = h.arena_start + heap.arena_cap
    cdef intp_t si
    cdef int c, spc
    cdef intp_t cleared = 0
    slots = np.zeros(n, dtype=np.uint64)
    cdef uint64_t[::1] sl = slots
    with nogil:
        for g in range(nspans):
            i = span_first[g]
            size = sizes[i]
            if size > 32768:
                malloc_large(h, size, span_noscan[g], &out)
                sl[i] = out
                bit_set(&h.gcmark_bits[span_of(h, out) * BITMAP_WORDS], 0)
                h.malloc_calls += 1
                h.malloc_bytes += size
                continue
            c = size_to_class(size)
            spc = (c << 1) | (1 if span_noscan[g] else 0)
            nel = class_to_nelems_noscan[c] if span_noscan[g] else class_to_nelems_scan[c]
            base = 0
            for idx in range(nel):
                malloc_small(h, 0, spc, &out)
                if idx == 0:
                    base = out
            h.malloc_calls += nel
            h.malloc_bytes += <uint64_t>nel * size
            si = span_of(h, base)
            for i in range(span_first[g], span_first[g + 1]):
                sl[i] = base + slot_index[i] * size
                bit_set(&h.gcmark_bits[si * BITMAP_WORDS], <intp_t>slot_index[i])
        h.gc_pending = 0
        for i in range(n):
            slot = sl[i]
            size = sizes[i]
            memcpy(addr_ptr(h, slot), &buf[objs[i, O_CONTENT]], size)
            j = <intp_t>((slot - lo) >> 3)
            for k in range(<intp_t>(size >> 3)):
                bit_clear(h.heap_bits, j + k)
            for k in range(<intp_t>objs[i, O_FSTART], <intp_t>(objs[i, O_FSTART] + objs[i, O_NFIELDS])):
                w = load64(&buf[objs[i, O_CONTENT] + fields[k]])
                if target[k] >= 0:
                    w = sl[target[k]] + (w - addrs[target[k]])
                    memcpy(addr_ptr(h, slot + fields[k]), &w, 8)
                    bit_set(h.heap_bits, j + <intp_t>(fields[k] >> 3))
                elif w >= lo and w < hi:
                    cleared += 1
                else:
                    bit_set(h.heap_bits, j + <intp_t>(fields[k] >> 3))
    return slots, cleared


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


def layout(const uint64_t[:, ::1] objs):
    """Size classes, Go's spans and slot indices of the objects (sorted by address).

    *objs* is the parser's object table, sorted by address.
    Go 1.27's dumpobjs writes ``npages*8192/size`` slots per span, so a one-page Green Tea
    span also yields its tail (the inline mark bits, and the heap bits of a scan span) as
    objects; those are dropped: a slot at or past the span's element count (scan spans have
    fewer elements; a span is scan if one of its real objects has pointer fields).
    A span's base is page aligned and its objects sit at ``base + k*size``; for every Go
    1.27 class the k that puts an object on a page boundary is unique below the span's slot
    count. Returns ``(err, at, cls, keep, k, span_first, span_noscan)``; ``err`` is 0, or a
    code for the object at index *at*: 1 bad size, 2 in no page-aligned span, 3 inside the
    span of the objects before it, 4 overlaps the object before it, 5 wraps the address
    space. The span arrays cover the kept objects only.
    """
    cdef intp_t n = objs.shape[0], i, j, g, nk, kk, nsp = 0
    cdef uint64_t s, a, base, np_, nslots, prev_end = 0, span_end = 0, cur_base
    cdef const uint64_t[:] addr = objs[:, O_ADDR]
    cdef const uint64_t[:] size = objs[:, O_SIZE]
    cdef const uint64_t[:] nfields = objs[:, O_NFIELDS]
    cdef int c, err = 0
    cdef intp_t at = -1
    cdef bint scan
    cls = np.zeros(n, dtype=np.uint8)
    keep = np.ones(n, dtype=np.uint8)
    kidx = np.zeros(n, dtype=np.int64)
    cdef uint8_t[::1] cl = cls
    cdef uint8_t[::1] kp = keep
    cdef int64_t[::1] kx = kidx
    with nogil:
        # classes and one-page slot indices
        for i in range(n):
            s = size[i]
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
            if addr[i] + s < addr[i]:
                err = 5
                at = i
                break
        # drop the tails of one-page spans, page by page (pages are contiguous: sorted)
        i = 0
        while err == 0 and i < n:
            c = <int>cl[i]
            if c == 0 or class_to_npages[c] != 1:
                i += 1
                continue
            base = addr[i] & ~(<uint64_t>8191)
            j = i
            scan = False
            while j < n and (addr[j] & ~(<uint64_t>8191)) == base and cl[j] == c:
                kx[j] = <int64_t>((addr[j] - base) // size[j])
                if kx[j] < class_to_nelems_scan[c] and nfields[j] > 0:
                    scan = True
                j += 1
            for g in range(i, j):
                if kx[g] >= (class_to_nelems_scan[c] if scan else class_to_nelems_noscan[c]):
                    kp[g] = 0
            i = j
    if err:
        return err, at, cls, keep, kidx, None, None
    cdef intp_t m = 0
    for i in range(n):
        m += kp[i]
    sel = np.nonzero(keep)[0]
    cdef int64_t[::1] sv = sel
    span_first = np.zeros(m + 1, dtype=np.int64)
    span_noscan = np.zeros(m, dtype=np.uint8)
    cdef int64_t[::1] sf = span_first
    cdef uint8_t[::1] sn = span_noscan
    cdef int64_t[::1] ko = np.zeros(m, dtype=np.int64)
    with nogil:
        cur_base = 0
        for j in range(m):
            i = sv[j]
            a = addr[i]
            s = size[i]
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
            if nsp and a >= cur_base and a < span_end and s == size[sv[sf[nsp - 1]]] \
                    and (a - cur_base) % s == 0:
                ko[j] = <int64_t>((a - cur_base) // s)
                if nfields[i] > 0:
                    sn[nsp - 1] = 0
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
            sn[nsp] = 0 if nfields[i] > 0 else 1
            nsp += 1
            ko[j] = kk
        sf[nsp] = m
    if err:
        return err, at, cls, keep, kidx, None, None
    return 0, -1, cls, keep, np.asarray(ko), span_first[:nsp + 1], span_noscan[:nsp]


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


def compact(uint64_t[:, ::1] objs, const uint8_t[::1] keep, uint8_t[::1] cls,
            object out, intp_t off_addr, intp_t off_size, intp_t off_cls,
            intp_t off_noscan, intp_t off_nptr, intp_t off_site):
    """Drop the rows of *objs* (and *cls*) where *keep* is 0, in place, and fill the
    structured array *out* (``OBJECT_DTYPE``, one row per kept object, zeroed; the byte
    offsets of its fields given) in the same pass. Returns ``(m, addrs, sizes)``: the
    kept count and contiguous copies of their addresses and sizes."""
    cdef intp_t n = objs.shape[0], i, m = 0, c
    cdef intp_t item = out.dtype.itemsize
    cdef uint8_t[::1] ob = out.view(np.uint8) if len(out) else np.zeros(1, np.uint8)
    cdef uint8_t* rec
    cdef uint32_t nptr
    cdef int32_t site = -1
    cdef uint8_t cl, ns
    addrs = np.empty(len(out), dtype=np.uint64)
    sizes = np.empty(len(out), dtype=np.uint64)
    cdef uint64_t[::1] a = addrs
    cdef uint64_t[::1] z = sizes
    with nogil:
        for i in range(n):
            if not keep[i]:
                continue
            if m != i:
                for c in range(6):
                    objs[m, c] = objs[i, c]
                cls[m] = cls[i]
            a[m] = objs[m, O_ADDR]
            z[m] = objs[m, O_SIZE]
            rec = &ob[m * item]
            memcpy(rec + off_addr, &a[m], 8)
            memcpy(rec + off_size, &z[m], 8)
            cl = cls[m]
            rec[off_cls] = cl
            nptr = <uint32_t>objs[m, O_NFIELDS]
            ns = 1 if nptr == 0 else 0
            rec[off_noscan] = ns
            memcpy(rec + off_nptr, &nptr, 4)
            memcpy(rec + off_site, &site, 4)
            m += 1
    return m, addrs, sizes


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


def edge_offsets(const int64_t[::1] chain, const uint64_t[:, ::1] objs,
                 const uint64_t[::1] fields, const int32_t[::1] target):
    """For each step a -> b of *chain*, the offset in a of its first pointer field into b."""
    cdef intp_t i, k, n = chain.shape[0]
    out = np.zeros(max(n - 1, 0), dtype=np.uint64)
    cdef uint64_t[::1] o = out
    cdef int64_t a, b
    with nogil:
        for i in range(n - 1):
            a = chain[i]
            b = chain[i + 1]
            for k in range(<intp_t>objs[a, O_FSTART], <intp_t>(objs[a, O_FSTART] + objs[a, O_NFIELDS])):
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
    const uint64_t* objs            # the object table, 6 columns


cdef inline uint64_t header(const typer_t* c, int64_t j) noexcept nogil:
    """8 if object j starts with Go's malloc header (a small object over 512 bytes in a
    scan span: the word is its type's ``*_type``), else 0; the value follows it."""
    cdef uint64_t size = c.ix.sizes[j]
    if size > 512 and size <= 32768 and c.objs[j * 6 + O_NFIELDS] > 0:
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
    if w - c.ix.addrs[j] != h:
        return                                  # an interior pointer: its type is not the object's
    if count > (c.ix.sizes[j] - h) // c.tsize[t]:
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


def propagate(const uint8_t[::1] buf, Index index, const uint64_t[:, ::1] objs,
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
    cdef intp_t n = objs.shape[0], i, j, e, s, ntypes = tsize.shape[0]
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
    if fields.shape[0] != target.shape[0] or _max_id(target) >= n or (n and (
            np.asarray(objs[:, O_FSTART]) + np.asarray(objs[:, O_NFIELDS]) > fields.shape[0]).any()):
        raise ValueError("propagate: fields, targets and objects disagree")
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
    c.objs = &objs[0, 0]
    cdef intp_t pending = 0, kp, kend
    cdef int32_t d
    cdef uint64_t h, pos, fo
    with nogil:
        for i in range(seed_pos.shape[0]):
            visit(&c, seed_pos[i], seed_lim[i], seed_kind[i], seed_t1[i], seed_t2[i])
        i = 0
        while True:
            while i < c.tail:
                j = c.queue[i]
                i += 1
                t = ot[j]
                h = header(&c, j)
                base = objs[j, O_CONTENT]
                lim = base + objs[j, O_SIZE]
                kp = <intp_t>objs[j, O_FSTART]
                kend = kp + <intp_t>objs[j, O_NFIELDS]
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
                d = find_type(c.rt_addr, c.rt_type, c.nrt, load64(c.buf + objs[j, O_CONTENT]))
                if d >= 0 and tsize[d] > 0:
                    give(&c, objs[j, O_ADDR] + 8, d, (objs[j, O_SIZE] - 8) // tsize[d])
                    if c.tail > i:
                        break
            if i >= c.tail and pending >= n:
                break
    return otype, ocount
