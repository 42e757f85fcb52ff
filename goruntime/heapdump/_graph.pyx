# cython: embedsignature=True
"""The object graph of a heap dump, and the dumped objects placed in a goruntime Heap.

Objects are numbered 0..n-1 in Go address order (``addrs`` sorted, ``sizes`` their slot
sizes). A pointer word is resolved to the object whose slot contains it (an interior
pointer names its object, as Go's findObject does); a word that is 0 or points outside
every dumped object resolves to -1. The graph is kept as CSR arrays (``indptr``, ``dst``),
without self-edges (Go's scanobject skips pointers into the object being scanned).

Traversals run without the GIL over those arrays and never recurse, so a 10-million-node
list is fine:

- ``bfs``: multi-source breadth-first search from the roots in order; ``parent[v]`` is the
  object that first reached v (``-2 - r`` when root r reached it, -1 when unreachable),
  which gives every object one shortest path from the earliest root (why_alive).
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
from goruntime._types cimport int32_t, int64_t, uint8_t, uint64_t, intp_t
from goruntime._heap cimport (
    Heap, mheap_t, malloc_small, malloc_large, size_to_class, addr_ptr, bit_set, bit_clear,
    object_bounds, span_of, BITMAP_WORDS, class_to_nelems_noscan, class_to_nelems_scan,
    MALLOC_HEADER_SIZE, MIN_SIZE_FOR_MALLOC_HEADER, SMALL_CUTOFF, class_to_size,
)


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


def resolve(const uint64_t[::1] addrs, const uint64_t[::1] sizes, const uint64_t[::1] values):
    """Object index holding each of *values* (int64, -1 where none)."""
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


def object_graph(const uint8_t[::1] buf, const uint64_t[::1] addrs, const uint64_t[::1] sizes,
                 const uint64_t[::1] content_off, const uint64_t[::1] field_start,
                 const uint64_t[::1] nfields, const uint64_t[::1] fields):
    """Resolve every pointer field of every object.

    Returns ``(target, indptr, dst)``: ``target[k]`` is the object field k points into
    (-1 if none), and the CSR graph of object -> object edges in address order.
    """
    cdef intp_t n = addrs.shape[0], i, k, m = 0
    cdef int64_t t
    target = np.full(fields.shape[0], -1, dtype=np.int64)
    indptr = np.zeros(n + 1, dtype=np.int64)
    cdef int64_t[::1] tg = target
    cdef int64_t[::1] ip = indptr
    cdef int32_t[::1] d
    if n >= 2**31 - 1:
        raise ValueError("heap dump: more than 2**31 objects")
    with nogil:
        for i in range(n):
            for k in range(<intp_t>field_start[i], <intp_t>(field_start[i] + nfields[i])):
                t = find(&addrs[0], &sizes[0], n,
                         load64(&buf[content_off[i] + fields[k]]))
                tg[k] = t
                if t >= 0 and t != i:
                    m += 1
            ip[i + 1] = m
    dst = np.empty(m, dtype=np.int32)
    d = dst
    m = 0
    with nogil:
        for i in range(n):
            for k in range(<intp_t>field_start[i], <intp_t>(field_start[i] + nfields[i])):
                t = tg[k]
                if t >= 0 and t != i:
                    d[m] = <int32_t>t
                    m += 1
    return target, indptr, dst


def bfs(const int64_t[::1] indptr, const int32_t[::1] dst, const int64_t[::1] roots):
    """Multi-source BFS. ``parent[v]``: predecessor object, ``-2 - r`` if root r (its
    index in *roots*) reached v first, -1 if unreachable. Also returns the visit order."""
    cdef intp_t n = indptr.shape[0] - 1, i, head = 0, tail = 0, v, e
    cdef int64_t w
    parent = np.full(n, -1, dtype=np.int64)
    order = np.empty(n, dtype=np.int64)
    cdef int64_t[::1] par = parent
    cdef int64_t[::1] q = order
    with nogil:
        for i in range(roots.shape[0]):
            w = roots[i]
            if w >= 0 and w < n and par[w] == -1:
                par[w] = -2 - i
                q[tail] = w
                tail += 1
        while head < tail:
            v = q[head]
            head += 1
            for e in range(indptr[v], indptr[v + 1]):
                w = dst[e]
                if par[w] == -1:
                    par[w] = v
                    q[tail] = w
                    tail += 1
    return parent, order[:tail]


def dominators(const int64_t[::1] indptr, const int32_t[::1] dst, const int64_t[::1] roots):
    """Immediate dominator of every object under a virtual root above *roots*.

    Returns ``(idom, preorder)``: ``idom[v]`` is an object index, -1 when only the virtual
    root dominates v (several roots reach it, or a root holds it), -2 when v is
    unreachable; ``preorder`` lists the reachable objects in DFS preorder (each after
    its dominator). Semi-NCA; no recursion.
    """
    cdef intp_t n = indptr.shape[0] - 1, i, e, nr = 0, top, num, v, w, u, x, sp, p
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
          const uint64_t[::1] sizes, const uint64_t[::1] content_off,
          const uint64_t[::1] field_start, const uint64_t[::1] nfields,
          const uint64_t[::1] fields, const int64_t[::1] target,
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
            memcpy(addr_ptr(h, slot), &buf[content_off[i]], size)
            j = <intp_t>((slot - lo) >> 3)
            for k in range(<intp_t>(size >> 3)):
                bit_clear(h.heap_bits, j + k)
            for k in range(<intp_t>field_start[i], <intp_t>(field_start[i] + nfields[i])):
                w = load64(&buf[content_off[i] + fields[k]])
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
