"""The trace replay's live set (``mheap_t.live_bits``, `Heap.use_live_set`): a replayed
object with a slot of its own is held by one bit of its span, greyed span by span by
the mark, instead of a root slot each. It must hold exactly what the roots held: the
same objects survive every cycle, the same counters, checkmark finds nothing missed."""
import numpy as np
import pytest

from gocheck import check_invariants

import goruntime as rt
from goruntime.workloads import OP_ALLOC, OP_DROP, OP_GC, _Run, _workloads

# slot sizes a replay asks for: zerobase, tiny (8 noscan), the tiny block's class,
# small pointerful, a malloc header, large, large pointerful
SIZES = np.array([0, 8, 16, 24, 48, 600, 1024, 40000, 90112], dtype=np.uint64)
PTR = np.array([0, 0, 0, 1, 0, 1, 0, 0, 1], dtype=np.uint8)
ZEROBASE = 0x5e4d60             # every zero-size object's address (runtime.zerobase)


def _stream(seed, n, gc_every):
    """A random op stream: allocations of every kind, drops of random live objects
    (so spans are reused and swept), a forced GC every *gc_every* rows."""
    rng = np.random.default_rng(seed)
    op, dense, size, ptr = [], [], [], []
    live, k = [], 0
    for row in range(n):
        if row and row % gc_every == 0:
            op.append(OP_GC), dense.append(-1), size.append(0), ptr.append(0)
        elif live and rng.random() < 0.45:
            j = live.pop(int(rng.integers(len(live))))
            op.append(OP_DROP), dense.append(j), size.append(0), ptr.append(0)
        else:
            c = int(rng.integers(len(SIZES)))
            op.append(OP_ALLOC), dense.append(k), size.append(int(SIZES[c]))
            ptr.append(int(PTR[c]))
            live.append(k)
            k += 1
    return (np.array(op, np.uint8), np.array(dense, np.int64), np.array(size, np.uint64),
            np.array(ptr, np.uint8), k)


def _replay(stream, live, gogc, godebug=""):
    op, dense, size, ptr, nobj = stream
    n = len(op)
    addr = np.zeros(nobj, np.uint64)
    slot = np.full(nobj, -1, np.int64)
    counts = np.zeros(4, np.int64)
    pw = np.where(ptr == 1, size // 16, 0).astype(np.uint64)   # half of each is pointers
    states = []
    with rt.Runtime(gogc=gogc, godebug=godebug, arena_cap=1 << 30) as r:
        if live:
            r.heap.use_live_set()
        with _Run(r, "live-test", 0) as run:
            _workloads.replay_kernel(run.mut, op, dense, size, ptr, np.zeros(n, np.int64),
                                     np.zeros(n, np.uint32), addr, slot, counts, pw,
                                     live=live)
        held = slot != -1
        # every held object (not zerobase) is still allocated; the heap's numbers
        assert all(r.heap.find_object(int(a)) is not None
                   for a in addr[held] if a != ZEROBASE)
        m = r.read_mem_stats()
        check_invariants(m)
        states.append((m.NumGC, m.HeapAlloc, m.Mallocs, m.Frees, m.HeapObjects,
                       r.heap.nroots))
        nlive = r.heap.nlive
        r.gc()                                      # gccheckmark: nothing missed
        states.append((r.read_mem_stats().HeapObjects, r.heap.nroots))
        _workloads.release_holds(r.heap, np.ascontiguousarray(slot[held]))
        assert r.heap.nroots == 0 and r.heap.nlive == 0
        r.gc()
        m = r.read_mem_stats()
        states.append((m.HeapObjects, m.HeapAlloc))
    return addr, slot, states, nlive


def test_live_set_holds_what_roots_hold_under_forced_cycles():
    """Only forced (stop-the-world) cycles: everything, addresses included, is equal."""
    s = _stream(1, 6000, 700)
    a0, s0, st0, _ = _replay(s, False, -1, "gccheckmark=1")
    a1, s1, st1, nlive = _replay(s, True, -1, "gccheckmark=1")
    assert np.array_equal(a0, a1)
    assert st0 == st1
    assert st1[-1] == (0, 0)                        # released: all of it swept
    held = s1 != -1
    sizes = np.zeros(len(s1), np.uint64)
    ptrs = np.zeros(len(s1), np.uint8)
    alloc = s[0] == OP_ALLOC
    sizes[s[1][alloc]] = s[2][alloc]
    ptrs[s[1][alloc]] = s[3][alloc]
    own = (sizes != 0) & ((ptrs == 1) | (sizes >= 16))
    # own-slot objects held by live bits (-2 - position), the others by root slots
    assert np.all(s1[held & own] <= -2) and np.all(s1[held & ~own] >= 0)
    assert np.all(s0[held] >= 0)
    assert nlive == int(np.count_nonzero(held & own)) > 0


@pytest.mark.parametrize("seed", [2, 3])
def test_live_set_survives_concurrent_cycles_with_checkmark(seed):
    """Heap-triggered cycles (concurrent marks, lazy sweeps): every held object survives,
    checkmark passes at every cycle, and the live set empties cleanly."""
    s = _stream(seed, 20000, 10 ** 9)
    _, slot, st, nlive = _replay(s, True, 25, "gccheckmark=1")
    assert st[0][0] > 3                             # cycles ran during the replay
    assert nlive > 0 and st[-1] == (0, 0)


def test_live_needs_the_live_set():
    s = _stream(4, 10, 100)
    op, dense, size, ptr, nobj = s
    with rt.Runtime(arena_cap=1 << 30) as r:
        with _Run(r, "live-test", 0) as run:
            with pytest.raises(ValueError, match="use_live_set"):
                _workloads.replay_kernel(run.mut, op, dense, size, ptr,
                                         np.zeros(len(op), np.int64),
                                         np.zeros(len(op), np.uint32),
                                         np.zeros(nobj, np.uint64), np.full(nobj, -1, np.int64),
                                         np.zeros(4, np.int64), live=True)
        assert r.heap.nroots == 0


def _replay_objects(r, sizes, ptrs):
    """Allocate one replayed object per size, held by the live set (clean allocations);
    returns (addrs, holds)."""
    n = len(sizes)
    op = np.full(n, OP_ALLOC, np.uint8)
    addr = np.zeros(n, np.uint64)
    slot = np.full(n, -1, np.int64)
    with _Run(r, "live-test", 0) as run:
        _workloads.replay_kernel(run.mut, op, np.arange(n, dtype=np.int64),
                                 np.asarray(sizes, np.uint64), np.asarray(ptrs, np.uint8),
                                 np.zeros(n, np.int64), np.zeros(n, np.uint32), addr, slot,
                                 np.zeros(4, np.int64), live=True)
    return addr, slot


@pytest.mark.parametrize("size,ptr", [(48, 0), (24, 1), (1024, 1), (40000, 0)])
def test_a_written_clean_object_is_cleared_when_its_slot_is_reused(size, ptr):
    """A replayed object is allocated clean (its span is not marked as written, so its
    slot is not zero-checked when reused); a write to it through the heap's own store
    paths (`Heap.view`, `Heap.write_word`) marks the span, and the slot a later
    allocation gets is zero again."""
    with rt.Runtime(gogc=-1, arena_cap=1 << 30) as r:
        r.heap.use_live_set()
        addr, slot = _replay_objects(r, [size] * 64, [ptr] * 64)
        base = [r.heap.find_object(int(a))[1] for a in addr]
        for i in range(0, 64, 2):                     # write every other object
            r.heap.view(int(addr[i]), 16)[:] = 0xAB
            r.heap.write_word(int(addr[i]) + 16, 0x1234)
        _workloads.release_holds(r.heap, slot)
        r.gc()
        again, slot2 = _replay_objects(r, [size] * 64, [ptr] * 64)
        assert sorted(r.heap.find_object(int(a))[1] for a in again) == sorted(base)
        for a in again:                               # every slot handed out zero
            f = r.heap.find_object(int(a))
            assert not r.heap.view(f[1], f[2]).any()
        _workloads.release_holds(r.heap, slot2)


def test_clean_spans_are_reused_without_clearing_and_stay_zero():
    """Replayed objects die and their spans are reused (partly and whole) by replayed
    and ordinary objects; every slot an ordinary allocation gets is zero, and the
    ordinary object's span is no longer clean (its freed slot is cleared)."""
    with rt.Runtime(gogc=-1, arena_cap=1 << 30) as r:
        r.heap.use_live_set()
        addr, slot = _replay_objects(r, [64] * 400 + [40000] * 4, [0] * 404)
        _workloads.release_holds(r.heap, slot[::3].copy())
        r.gc()
        got = [r.heap.alloc(64, True) for _ in range(200)]
        for a in got:
            assert not r.heap.view(a, 64).any()
            r.heap.view(a, 64)[:] = 0xFF              # an ordinary object is written
        big = r.heap.alloc(40000, True)
        assert not r.heap.view(big, 40000).any()
        r.heap.view(big, 40000)[:] = 1
        _workloads.release_holds(r.heap, slot[np.arange(404) % 3 != 0].copy())
        r.gc()                                        # nothing holds anything now
        again = [r.heap.alloc(64, True) for _ in range(400)] + [r.heap.alloc(40000, True)]
        for a in again:
            f = r.heap.find_object(a)
            assert not r.heap.view(f[1], f[2]).any()
