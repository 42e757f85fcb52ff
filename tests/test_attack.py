"""The attack round of 2026-12-07 (B81 onward): bad input to the newer public surface
(strings and runes, maps, append/copy, heap channels, numpy views of the arena, the heap-dump
and trace loaders, handles across runtimes and threads) must raise a clear exception and a
failed call must leave the heap exactly as it was. One test (or more) per defect, each
failing on the main of 2026-12-07; see docs/reliability.md."""
import contextlib

import numpy as np
import pytest

import goruntime as rt
from gocheck import check_invariants

_FIELDS = ("HeapAlloc", "TotalAlloc", "Mallocs", "Frees", "HeapObjects", "HeapInuse", "HeapSys",
           "NumGC")


def _counters():
    m = rt.ReadMemStats()
    return {f: getattr(m, f) for f in _FIELDS}


@contextlib.contextmanager
def unchanged(exc, match=None):
    """The block raises *exc* and leaves MemStats' counters as they were; then the heap
    verifies (a checkmark GC: the runtimes here run with gccheckmark=1)."""
    before = _counters()
    with pytest.raises(exc, match=match):
        yield
    assert _counters() == before
    rt.GC()
    check_invariants(rt.ReadMemStats())


def _fill(keep, size):
    """Allocate ``[]int`` slices of *size* elements until the arena is full."""
    try:
        while True:
            keep.append(rt.make(rt.Slice(rt.Int), size))
    except MemoryError:
        pass


@pytest.fixture
def small():
    """A runtime with an 8 MiB arena (out of memory is cheap to reach)."""
    with rt.Runtime(godebug="gccheckmark=1", arena_cap=8 << 20) as r:
        yield r


def test_b81_make_map_with_a_hint_out_of_memory_allocates_nothing(small):
    keep = []
    _fill(keep, 8192)                   # 64 KiB objects: the arena is full
    del keep[-1]                        # room for the header and a table, not for all
    rt.GC()
    with unchanged(MemoryError, "runtime: out of memory"):
        rt.make(rt.Map(rt.Int, rt.Int), 5000)
    m = rt.make(rt.Map(rt.Int, rt.Int), 100)     # one that fits still works
    m.update(np.arange(100), np.arange(100))
    assert len(m) == 100


def test_b81_a_hint_larger_than_the_arena_fails_at_once(small):
    # 2**30 entries: ~1.2 million tables, 160 GB; a 8 MiB arena cannot hold it. It must fail
    # before allocating anything (and without building a million tables' mirrors first).
    with unchanged(MemoryError, "runtime: out of memory"):
        rt.make(rt.Map(rt.Int, rt.Int), 1 << 30)
