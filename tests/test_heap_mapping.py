"""The heap's arrays are fresh anonymous mappings (`_heap.zeroed`): a new heap touches none
of their pages, a view outlives the heap safely, and a mapping the kernel refuses is a
MemoryError, the process going on."""
import gc
import os
import resource
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import goruntime as rt
from goruntime import _heap


def _rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _under_asan():
    try:
        with open("/proc/self/maps") as f:
            return "libasan" in f.read()
    except OSError:
        return False


def _faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def test_a_new_heap_touches_none_of_its_arrays():
    # runtimes made and closed first: with malloc's arrays, freeing them raised glibc's
    # mmap threshold, and a new 1 GiB heap's page table, summaries and metadata then cost
    # ~340 page faults (the kernel backing pages written or memset), ~800 at the default cap
    for _ in range(3):
        rt.Runtime(arena_cap=1 << 30).close()
    gc.collect()
    f0 = _faults()
    h = _heap.Heap(1 << 30)
    made = _faults() - f0
    assert made < 150, f"a new 1 GiB heap took {made} page faults"    # ~35: its mcaches
    m = h._memory()
    assert m["page_to_span"].nbytes == (1 << 30) // 8192 * 4 and not m["arena"][:1 << 20].any()
    # the page table and summaries of the pages it grows over are filled in as it grows
    a = h.alloc(100_000, True)                        # a large object: one span
    p2s = h.page_to_span
    assert len(p2s) == 512 and (p2s[:13] == 0).all() and (p2s[13:] == -1).all()
    assert h.view(a, 8).tolist() == [0] * 8


def test_views_outlive_the_heap():
    h = _heap.Heap(64 << 20)
    a = h.alloc(48, True)
    h.write_word(a, 0xfeed)
    arena, table = h.arena, h.span_table
    del h
    gc.collect()
    assert int(arena.view(np.uint64)[(a - _heap.ARENA_START) // 8]) == 0xfeed
    assert table["state"].tolist().count(1) >= 1      # the span record, still readable


@pytest.mark.skipif(_under_asan(), reason="ASan's shadow memory needs the address space")
def test_a_refused_mapping_is_a_memory_error():
    code = textwrap.dedent("""
        import resource
        import goruntime as rt
        from goruntime import _heap
        _heap.Heap(64 << 20)                          # imports and first use done
        with open("/proc/self/statm") as f:
            vm = int(f.read().split()[0]) * resource.getpagesize()
        resource.setrlimit(resource.RLIMIT_AS, (vm + (512 << 20), resource.RLIM_INFINITY))
        for make in (lambda: _heap.Heap(8 << 30), lambda: rt.Runtime(arena_cap=8 << 30)):
            try:
                make()
            except MemoryError as e:
                print("MemoryError:", e)
            else:
                print("no error")
        h = _heap.Heap(64 << 20)                      # the process goes on
        print(len(h.alloc_many(64, True, 10)))
    """)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.splitlines()
    assert lines[0].startswith("MemoryError: runtime: out of memory: cannot map"), lines
    assert lines[1].startswith("MemoryError: runtime: out of memory: cannot map"), lines
    assert lines[2] == "10", lines


def test_closed_runtime_gives_its_arena_back():
    r = rt.Runtime(arena_cap=256 << 20)
    s = r.make(rt.Slice(rt.Byte), 32 << 20)
    s.numpy()[:] = 1
    del s
    before = _rss()
    r.close()
    assert before - _rss() > 24 << 20
