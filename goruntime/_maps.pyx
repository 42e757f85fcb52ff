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
from libc.stdint cimport uintptr_t
from goruntime._heap cimport Heap, addr_ptr, bulk_barrier
from libc.string cimport memcpy
from cpython.bytes cimport PyBytes_FromStringAndSize, PyBytes_AS_STRING

import numpy as np

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


cdef inline uint64_t _hash(object proto, bytes kb) except? 0:
    """maps._hash in compiled code: the keyed BLAKE2b (*proto*: one keyed with the map's
    seed, copied per key) of *kb*, its 8 bytes read little-endian."""
    cdef object hasher = proto.copy()
    hasher.update(kb)
    cdef bytes d = hasher.digest()
    cdef uint64_t h
    memcpy(&h, PyBytes_AS_STRING(d), 8)
    return h


def mirror_moved(list src_slots, const int64_t[::1] moved, object a, object b, intp_t cap0):
    """The Python mirror's side of `reinsert`: each moved key's slot in its new table
    (Go has no mirror; this is goruntime's key -> slot index)."""
    cdef intp_t j, k, n = len(src_slots), na = 0, nb = 0
    cdef list sa = a.slots
    cdef dict ka = a.keys
    cdef list sb = b.slots if b is not None else None
    cdef dict kb_ = b.keys if b is not None else None
    cdef object kb
    for j in range(n):
        kb = src_slots[j]
        if kb is None:
            continue
        k = moved[j]
        if k >= cap0:
            sb[k - cap0] = kb
            kb_[kb] = k - cap0
            nb += 1
        else:
            sa[k] = kb
            ka[kb] = k
            na += 1
    a.growth_left -= na
    a.used += na
    if b is not None:
        b.growth_left -= nb
        b.used += nb


def bulk_plan(object state, const uint8_t[:, ::1] keys, object blake2b, uint64_t[::1] hashes):
    """The first pass of `MapValue.update`: each key's hash into *hashes* (for `bulk_put`,
    which then hashes nothing) and an index array of the keys the batch adds (absent
    from the map, the first of equal keys), whose growth `maps._growth_need` checks before
    the first insert. The map must not change between the two passes (the world lock)."""
    cdef intp_t n = keys.shape[0], ksize = keys.shape[1], i, nnew = 0
    cdef int depth = state.global_depth
    cdef list directory = state.directory
    cdef dict small = state.small[2] if state.small is not None else None
    cdef set seen = set()
    cdef bytes kb
    cdef uint64_t h
    cdef object proto = blake2b(digest_size=8, key=state.seed)
    cdef int64_t[::1] new = np.empty(n, dtype=np.int64)
    for i in range(n):
        kb = PyBytes_FromStringAndSize(<const char*>&keys[i, 0], ksize)
        h = _hash(proto, kb)
        hashes[i] = h
        if kb in seen:
            continue
        if directory:
            if kb in (<dict>(directory[h >> (64 - depth)] if depth else directory[0]).keys):
                continue
        elif small is not None and kb in small:
            continue
        seen.add(kb)
        new[nnew] = i
        nnew += 1
    return np.asarray(new[:nnew])


def bulk_put(object state, Heap heap, const uint8_t[:, ::1] keys, const uint8_t[:, ::1] vals,
             object key_objs, object val_objs, const uint64_t[::1] hashes):
    """``m[k] = v`` for each row of *keys* and *vals* (the key's identity bytes, which are
    also its memory, and the value's memory), in order: Go's Map.PutSlot, table.PutSlot
    and uncheckedPutSlot as `maps.MapState.put` runs them, in compiled code.

    The rare steps stay with `maps.MapState`: while the map is small (no table yet) the
    entry goes through ``state.put`` (*key_objs*/*val_objs* give its Python values), and
    a full table is pruned or grown by ``state._prune_tombstones``/``state._rehash``;
    everything else (lookup in the table's mirror, probe, control byte, the key and
    value copied into the slot) is this loop, which keeps the current table's counters
    in C and writes them back before any of those steps. The caller holds the world
    lock; *hashes* are `bulk_plan`'s. Returns ``(new entries, overwritten)``.
    """
    cdef intp_t n = keys.shape[0], ksize = keys.shape[1], vsize = vals.shape[1]
    cdef intp_t i = 0, j, k, first_deleted, gsize, ssize, eoff
    cdef intp_t added = 0, overwritten = 0, growth_left = 0, used_t = 0, used_m = 0
    cdef uint64_t h, mask = 0, off, idx
    cdef uint8_t* base = NULL
    cdef uint8_t* slotp
    cdef bytes kb
    cdef object t, s, last_t = None, hold
    cdef list directory = None, slots_l = None
    cdef dict keys_d = None
    cdef uint64_t* hv = NULL
    cdef int depth = 0
    cdef bint fresh = True
    mt = state.mt
    gsize = mt.group_size
    ssize = mt.slot_size
    eoff = mt.elem_off
    while i < n:
        kb = PyBytes_FromStringAndSize(<const char*>&keys[i, 0], ksize)
        if fresh:                                      # (re)read the map after a Python step
            directory = state.directory
            depth = state.global_depth
            fresh = False
        if not directory:                              # small: Go's putSlotSmall / growToTable
            state.put(kb, key_objs[i].item(), val_objs[i].item())
            i += 1
            fresh = True
            continue
        h = hashes[i]                                  # bulk_plan's, with the map's seed
        if len(directory) == 1:
            t = directory[0]
        else:
            t = directory[h >> (64 - depth)]
        if t is not last_t:
            if last_t is not None:                     # write the last table's counters back
                last_t.growth_left = growth_left
                last_t.used = used_t
            last_t = t
            base = addr_ptr(&heap.h, <uint64_t>t.groups)
            mask = <uint64_t>(t.capacity // SLOTS - 1)
            keys_d = t.keys
            slots_l = t.slots
            hv = <uint64_t*><uintptr_t>t.hashes_addr
            growth_left = t.growth_left
            used_t = t.used
        s = keys_d.get(kb)
        if s is not None:                              # overwrite the value (typedmemmove)
            j = s
            memcpy(base + (j >> 3) * gsize + 8 + (j & 7) * ssize + eoff, &vals[i, 0], vsize)
            heap.h.mut_stores += 1
            overwritten += 1
            i += 1
            continue
        off = (h >> 7) & mask
        idx = 0
        first_deleted = -1
        while True:                                    # put_probe
            k = first_free_in(base + off * gsize)
            if k >= 0:
                if base[off * gsize + k] == CTRL_DELETED:
                    if first_deleted < 0:
                        first_deleted = <intp_t>(off * SLOTS) + k
                else:
                    break
            idx += 1
            off = (off + idx) & mask
        j = <intp_t>(off * SLOTS) + k
        if first_deleted >= 0:
            j = first_deleted
            growth_left += 1
        if growth_left == 0:                           # full: prune, else grow or split
            t.growth_left = growth_left
            t.used = used_t
            state.used += used_m
            used_m = 0
            state._prune_tombstones(t)
            growth_left = t.growth_left
            if growth_left == 0:
                last_t = None
                hold = []
                state._rehash(t, hold)
                hold = None
                fresh = True
                continue
            # pruning turned tombstones into empty slots only: insert at j, as Go does
        base[(j >> 3) * gsize + (j & 7)] = <uint8_t>(h & 0x7F)
        hv[j] = h
        slots_l[j] = kb
        keys_d[kb] = j
        growth_left -= 1
        used_t += 1
        used_m += 1
        slotp = base + (j >> 3) * gsize + 8 + (j & 7) * ssize
        if ksize:
            memcpy(slotp, &keys[i, 0], ksize)
        if vsize:
            memcpy(slotp + eoff, &vals[i, 0], vsize)
        heap.h.mut_stores += 2
        added += 1
        i += 1
    if last_t is not None:
        last_t.growth_left = growth_left
        last_t.used = used_t
    state.used += used_m
    return added, overwritten
