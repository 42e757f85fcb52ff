"""Goroutine stacks (stack.py, issue 15 item 2): sizes, pool spans, scan, starting size.

Go's numbers are from the oracle scenario ``goroutine_stacks`` and a plain program at
GOMAXPROCS=1: 100 goroutines blocked in ``<-ch`` in a one-frame function add 6 stack
spans and 100 x 432 scanned bytes; 10000 add 625 spans (10000 x 2 KiB); goroutines
scanning 1952 bytes each make the next starting size 4096 (TestStackGrowth's growth by
copying, expressed through the ``stack=`` argument).
"""
import pytest

import goruntime as rt
from goruntime import metrics, stack


def _blocked_runtime(n, use=None):
    r = rt.Runtime(gomaxprocs=1, scheduler="cooperative", clock="virtual")
    r.__enter__()
    ch = rt.Chan()
    for _ in range(n):
        rt.go(lambda p: ch.recv(), rt.new(rt.Int), stack=use)
    rt.Gosched()
    rt.GC()
    rt.GC()
    return r, ch


def _read(*names):
    s = [metrics.Sample(n) for n in names]
    metrics.Read(s)
    return [x.Value.Uint64() for x in s]


@pytest.mark.parametrize("n, spans", [(0, 0), (1, 0), (100, 6), (10000, 625)])
def test_stack_inuse_and_scan_match_go(n, spans):
    r, ch = _blocked_runtime(n)
    try:
        m = rt.ReadMemStats()
        assert m.StackInuse == m.StackSys == stack.BASE_STACK_INUSE + spans * 32768
        scan, start = _read("/gc/scan/stack:bytes", "/gc/stack/starting-size:bytes")
        assert scan == stack.BASE_STACK_SCAN + n * 432
        assert start == 2048
        assert m.Sys == (m.HeapSys + m.StackSys + m.MSpanSys + m.MCacheSys + m.BuckHashSys
                         + m.GCSys + m.OtherSys)
        ch.close()
    finally:
        r.__exit__(None, None, None)


def test_adaptive_starting_size_and_growth_by_copying():
    r, ch = _blocked_runtime(100, use=1952)
    try:
        assert _read("/gc/stack/starting-size:bytes") == [4096]     # roundup2(1841 + 928)
        assert all(size == 4096 for _, size, _ in r.stacks.live.values())
        ch.close()
        for _ in range(5):
            rt.Gosched()
        rt.GC()
        assert _read("/gc/stack/starting-size:bytes") == [2048]
    finally:
        r.__exit__(None, None, None)


def test_adaptivestackstart_off_keeps_2k():
    s = stack.Stacks(adaptive=False)
    s.mark_termination(10**6, 10)
    assert s.starting_size == 2048
    assert stack.Stacks().stack_size(1 << 20) == 2 << 20   # doubled until use + guard fits


def test_bad_stack_argument():
    with rt.Runtime(gomaxprocs=1, scheduler="cooperative", clock="virtual"):
        for bad in (-1, 1.5, True, "8k"):
            with pytest.raises(ValueError):
                rt.go(lambda: None, stack=bad)
        n = rt.NumGoroutine() if hasattr(rt, "NumGoroutine") else None
        assert n in (None, 1)                 # a rejected go() starts nothing


def test_exited_goroutines_keep_their_stacks_until_a_gc():
    r, ch = _blocked_runtime(200)
    try:
        before = rt.ReadMemStats().StackInuse
        ch.close()
        for _ in range(5):
            rt.Gosched()
        assert rt.ReadMemStats().StackInuse == before   # on the free-G lists
        rt.GC()
        after = rt.ReadMemStats().StackInuse
        assert stack.BASE_STACK_INUSE <= after < before  # GC frees the global list's stacks
        assert len(r.stacks.p_free) < stack.P_FREE_G_MAX
    finally:
        r.__exit__(None, None, None)
