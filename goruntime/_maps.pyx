# cython: embedsignature=True, boundscheck=False, wraparound=False
"""The hot loops of Go's Swiss-table maps (internal/runtime/maps, group.go/table.go).

The control bytes live where Go keeps them, in the first word of each group in the
emulated heap; these functions scan them there. `maps.py` holds the policy (when to
grow, split, prune) and calls in here for the probe of one insertion and for moving
every entry of a table into its successor(s) on growth or split.

Probe sequence (Go: probeSeq): group ``H1 & mask``, then ``+1``, ``+2``, ... (quadratic,
visits every group of a power-of-two table). A control byte is ``0x80`` (empty),
``0xFE`` (deleted, a tombstone) or the 7-bit H2 of a full slot.
"""
from goruntime._types cimport uint8_t, uint64_t, int64_t, intp_t
from goruntime._heap cimport Heap, addr_ptr, bulk_barrier
from libc.string cimport memcpy

cdef enum:
    CTRL_EMPTY = 0x80
    CTRL_DELETED = 0xFE
    SLOTS = 8


cdef inline intp_t first_free_in(const uint8_t* c) noexcept nogil:
    """Go: matchEmptyOrDeleted().first(): the first slot whose byte has the high bit."""
    cdef intp_t i
    for i in range(SLOTS):
        if c[i] & CTRL_EMPTY:
            return i
    return -1


cdef intp_t unchecked_slot(uint8_t* base, intp_t gsize, uint64_t mask, uint64_t h) noexcept nogil:
    """Go: uncheckedPutSlot's probe: the first empty-or-deleted slot along the sequence."""
    cdef uint64_t off = (h >> 7) & mask, idx = 0
    cdef intp_t i
    while True:
        i = first_free_in(base + off * gsize)
        if i >= 0:
            return <intp_t>(off * SLOTS) + i
        idx += 1
        off = (off + idx) & mask


def put_probe(Heap heap, uint64_t groups, intp_t gsize, uint64_t mask, uint64_t h):
    """Go: table.PutSlot's probe for an absent key: ``(slot, first_deleted)``.

    *slot* is the first empty slot found where the sequence ends; *first_deleted* the
    first tombstone met before it (-1 if none), which Go reuses instead.
    """
    cdef uint8_t* base = addr_ptr(&heap.h, groups)
    cdef uint64_t off = (h >> 7) & mask, idx = 0
    cdef intp_t i, first_deleted = -1
    with nogil:
        while True:
            i = first_free_in(base + off * gsize)
            if i >= 0:
                if base[off * gsize + i] == CTRL_DELETED:
                    if first_deleted < 0:
                        first_deleted = <intp_t>(off * SLOTS) + i
                else:
                    break
            idx += 1
            off = (off + idx) & mask
    return <intp_t>(off * SLOTS) + i, first_deleted


def unchecked_put(Heap heap, uint64_t groups, intp_t gsize, uint64_t mask, uint64_t h):
    """Go: uncheckedPutSlot: take the first free slot along H1's sequence; its index."""
    cdef uint8_t* base = addr_ptr(&heap.h, groups)
    cdef intp_t s
    with nogil:
        s = unchecked_slot(base, gsize, mask, h)
        base[(s >> 3) * gsize + (s & 7)] = <uint8_t>(h & 0x7F)
    return s


def reinsert(Heap heap, uint64_t src, intp_t src_ngroups, const uint64_t[::1] src_hash,
             uint64_t dst0, uint64_t[::1] hash0, uint64_t dst1, uint64_t[::1] hash1,
             uint64_t split_mask, intp_t gsize, intp_t ssize, int64_t[::1] moved):
    """Move every full slot of table *src* into *dst0* (or *dst1* when ``hash &
    split_mask``: Go's split), as Go's grow/split do with uncheckedPutSlot and
    typedmemmove. ``moved[j]`` gets the new slot of old slot j (+ capacity of dst0 when
    it went to dst1), -1 for slots that were not full. Returns the count moved to dst1.
    """
    cdef uint8_t* s = addr_ptr(&heap.h, src)
    cdef uint8_t* d0 = addr_ptr(&heap.h, dst0)
    cdef uint8_t* d1 = addr_ptr(&heap.h, dst1) if dst1 else NULL
    cdef uint64_t mask0 = hash0.shape[0] // SLOTS - 1
    cdef uint64_t mask1 = (hash1.shape[0] // SLOTS - 1) if dst1 else 0
    cdef intp_t g, i, j, k, n1 = 0
    cdef uint64_t h
    cdef uint8_t* d
    cdef uint8_t c
    with nogil:
        for g in range(src_ngroups):
            for i in range(SLOTS):
                j = g * SLOTS + i
                c = s[g * gsize + i]
                if c & CTRL_EMPTY:
                    moved[j] = -1
                    continue
                h = src_hash[j]
                if d1 != NULL and (h & split_mask):
                    k = unchecked_slot(d1, gsize, mask1, h)
                    d = d1
                    hash1[k] = h
                    moved[j] = k + <intp_t>hash0.shape[0]
                    n1 += 1
                else:
                    k = unchecked_slot(d0, gsize, mask0, h)
                    d = d0
                    hash0[k] = h
                    moved[j] = k
                d[(k >> 3) * gsize + (k & 7)] = <uint8_t>(h & 0x7F)
                if ssize and heap.h.write_barrier:      # Go: typedmemmove's barrier
                    bulk_barrier(&heap.h, (dst0 if d == d0 else dst1) + <uint64_t>(
                        (k >> 3) * gsize + 8 + (k & 7) * ssize),
                        s + g * gsize + 8 + i * ssize, <uint64_t>ssize)
                if ssize:
                    memcpy(d + (k >> 3) * gsize + 8 + (k & 7) * ssize,
                           s + g * gsize + 8 + i * ssize, ssize)
    return n1


def group_has_empty(Heap heap, uint64_t groups, intp_t gsize, intp_t slot):
    """Go: g.ctrls().matchEmpty() != 0 for the group of *slot*."""
    cdef const uint8_t* c = addr_ptr(&heap.h, groups + <uint64_t>((slot >> 3) * gsize))
    cdef intp_t i
    for i in range(SLOTS):
        if c[i] == CTRL_EMPTY:
            return True
    return False


def set_ctrl(Heap heap, uint64_t groups, intp_t gsize, intp_t slot, uint8_t c):
    addr_ptr(&heap.h, groups + <uint64_t>((slot >> 3) * gsize))[slot & 7] = c
