"""The page allocator's search (``_heap.find_free_run``) and the zeroing of reused memory.

find_free_run searches two levels of summaries (per 64-page word and per 512-page
chunk: the free runs at the start, the longest, at the end); the heap it must give is the one the page-at-a-time definition gives: every span
at the lowest run of free mapped pages that fits it (after growing the heap if none
does). A fragmented heap (holes of every length between live large objects) is checked
against that definition, computed here from ``Heap.page_to_span``. Reused memory is
zeroed only from its first nonzero line: what was written must read as zero again.
"""
import numpy as np

import goruntime as rt

PAGE = 8192


def lowest_fit(free, npages):
    """First page starting *npages* free pages in the boolean array *free*, or -1."""
    run = 0
    for p, f in enumerate(free):
        run = run + 1 if f else 0
        if run == npages:
            return p - npages + 1
    return -1


def test_large_spans_take_the_lowest_fitting_run_and_reused_pages_read_zero():
    check_lowest_fit([1, 2, 3, 4, 5, 7, 9, 16, 33, 64, 65, 70], seed=7)


def test_runs_across_words_and_chunks_take_the_lowest_fit():
    # runs longer than a 64-page word and than a 512-page chunk: found through the
    # summaries' carried runs (start and end runs of the words and chunks between)
    check_lowest_fit([1, 3, 63, 64, 65, 127, 129, 200, 511, 512, 513, 700, 1030], seed=11)


def check_lowest_fit(choices, seed):
    rng = np.random.default_rng(seed)
    with rt.Runtime(gogc="off", gomaxprocs=1, scheduler="cooperative", clock="virtual") as r:
        h = r.heap
        live = {}
        checked = grown = 0
        for _ in range(6):
            for _ in range(60):
                npages = int(rng.choice(choices))
                size = max(npages * PAGE - int(rng.integers(0, PAGE // 2)), 32769)
                npages = -(-size // PAGE)
                before = np.array(h.page_to_span)
                a = h.alloc(size, True)
                after = np.asarray(h.page_to_span)
                old = np.r_[before, np.full(len(after) - len(before), -1, before.dtype)]
                new = np.flatnonzero((old == -1) & (after != -1))
                assert len(new) == npages
                want = lowest_fit(before == -1, npages)
                if want < 0:                  # the heap grew: the lowest fit after growing
                    want = lowest_fit(old == -1, npages)
                    grown += 1
                assert int(new[0]) == want
                checked += 1
                view = h.view(a, size)
                assert not view.any(), "a new large object reads as zero"
                if rng.random() < 0.5:
                    view[::4096] = 0xAB
                    view[-1] = 1
                live[h.add_root(a)] = a
            for slot in list(live):           # free about half: holes of every length
                if rng.random() < 0.5:
                    h.remove_root(slot)
                    del live[slot]
            r.gc()
        assert checked == 360 and 0 < grown < checked


def test_reused_small_slots_read_zero():
    with rt.Runtime(gogc="off", gomaxprocs=1, scheduler="cooperative", clock="virtual") as r:
        h = r.heap
        for size in (128, 192, 256, 1024, 80):        # 80: not whole 64-byte lines
            keep = []
            for rnd in range(4):
                addrs = h.alloc_many(size, True, 500)
                for i, a in enumerate(addrs):
                    v = h.view(int(a), size)
                    assert not v.any(), (size, rnd, i)
                    if i % 3 == 0:
                        v[(i * 7) % size] = 0x5A
                        v[-1] = 0x11
                    if i % 5 == 0:                    # spans stay partly live: slots reused
                        keep.append(h.add_root(int(a)))
                r.gc()
            for slot in keep:
                h.remove_root(slot)


def test_reused_slots_of_every_zeroing_shape_read_zero():
    """Slots up to 64 bytes, sizes that are not whole 64-byte lines, whole lines, and a
    malloc header's word (not written by mallocgc: the slot is zero already, so it must
    be zero after reuse too): what was written reads as zero in the next object there."""
    with rt.Runtime(gogc="off", gomaxprocs=1, scheduler="cooperative", clock="virtual") as r:
        h = r.heap
        cases = [(s, True, 0) for s in (16, 48, 64, 144, 480, 2048, 8192)]
        cases += [(s, False, 8) for s in (1000, 3000)]   # pointerful > 512 B: a header
        for size, noscan, hdr in cases:
            keep = []
            for rnd in range(4):
                addrs = h.alloc_many(size, noscan, 300, None if noscan else [0])
                for i, a in enumerate(addrs):
                    v = h.view(int(a) - hdr, size + hdr)
                    assert not v.any(), (size, rnd, i)
                    if i % 2 == 0:                    # the header word, the last byte,
                        v[:hdr] = 0x33                # one in between
                        v[-1] = 0x11
                        v[hdr + (i * 13) % size] = 0x5A
                    if i % 7 == 0:                    # spans stay partly live: slots reused
                        keep.append(h.add_root(int(a)))
                r.gc()
            for slot in keep:
                h.remove_root(slot)
