"""runtime/debug: ReadGCStats' pure logic (spec §2.6, Appendix X12) and the wrappers
against a fake runtime (the real Runtime is tested elsewhere)."""
import sys
import types

import pytest
from hypothesis import given, strategies as st

from goruntime import debug
from goruntime.debug import GCStats, read_gc_stats

US = 1000


def rings_for(pauses, ends):
    """PauseNs/PauseEnd rings as MemStats holds them after len(pauses) cycles."""
    ns, end = [0] * 256, [0] * 256
    for k, (p, e) in enumerate(zip(pauses, ends)):    # cycle k+1 writes index k % 256
        ns[k % 256] = p
        end[k % 256] = e
    return ns, end


def test_x12_three_gcs():
    # Appendix X12: pauses 80.689, 79.546, 88.01 µs (oldest first), most recent 88010 ns.
    pauses = [80689, 79546, 88010]
    ends = [1795700095859000000, 1795700095859300000, 1795700095859588931]
    ns, end = rings_for(pauses, ends)
    st_ = GCStats(PauseQuantiles=[0] * 5)
    read_gc_stats(st_, num_gc=3, pause_total_ns=sum(pauses), pause_ns_ring=ns,
                  pause_end_ring=end, last_gc=ends[-1])
    assert st_.NumGC == 3
    assert st_.Pause == [88010, 79546, 80689]                       # most recent first
    assert st_.PauseEnd == [ends[2], ends[1], ends[0]]
    assert st_.Pause[0] == ns[(3 + 255) % 256]
    assert st_.LastGC == ends[-1] == st_.PauseEnd[0]
    assert st_.PauseTotal == sum(pauses)
    # [79.546µs 79.546µs 80.689µs 88.01µs 88.01µs]: sorted indices 0,0,1,2 and the max
    assert st_.PauseQuantiles == [79546, 79546, 80689, 88010, 88010]


def test_x12_three_hundred_gcs():
    n = 300
    pauses = [20000 + (k * 7919) % 200000 for k in range(n)]
    ends = [1795700095000000000 + k * 10**6 for k in range(n)]
    ns, end = rings_for(pauses, ends)
    total = sum(pauses)                                # > sum of the ring: older ones overwritten
    st_ = GCStats(PauseQuantiles=[0] * 5)
    read_gc_stats(st_, num_gc=n, pause_total_ns=total, pause_ns_ring=ns, pause_end_ring=end,
                  last_gc=ends[-1])
    assert len(st_.Pause) == 256 and len(st_.PauseEnd) == 256
    assert st_.NumGC == 300
    assert st_.Pause[0] == ns[(n + 255) % 256] == pauses[-1]
    assert st_.Pause == pauses[::-1][:256]
    assert st_.PauseEnd == ends[::-1][:256]
    assert st_.PauseTotal == total > sum(ns)
    s = sorted(pauses[-256:])
    assert st_.PauseQuantiles == [s[0], s[64], s[128], s[192], s[255]]


def test_no_gc_yet():
    st_ = GCStats(PauseQuantiles=[7, 7, 7])
    read_gc_stats(st_, num_gc=0, pause_total_ns=0, pause_ns_ring=[0] * 256,
                  pause_end_ring=[0] * 256, last_gc=0)
    assert (st_.NumGC, st_.LastGC, st_.PauseTotal) == (0, 0, 0)
    assert st_.Pause == [] and st_.PauseEnd == []
    assert st_.PauseQuantiles == [0, 0, 0]


def test_quantile_slice_lengths():
    ns, end = rings_for([5, 1, 3, 2, 4], [1, 2, 3, 4, 5])
    one = GCStats(PauseQuantiles=[0])
    read_gc_stats(one, num_gc=5, pause_total_ns=15, pause_ns_ring=ns, pause_end_ring=end, last_gc=5)
    assert one.PauseQuantiles == [5]                               # only the max
    none = GCStats()
    read_gc_stats(none, num_gc=5, pause_total_ns=15, pause_ns_ring=ns, pause_end_ring=end, last_gc=5)
    assert none.PauseQuantiles == []


def test_lists_reused_in_place():
    ns, end = rings_for([1, 2], [10, 20])
    st_ = GCStats(PauseQuantiles=[0, 0])
    q, p, e = st_.PauseQuantiles, st_.Pause, st_.PauseEnd
    read_gc_stats(st_, num_gc=2, pause_total_ns=3, pause_ns_ring=ns, pause_end_ring=end, last_gc=20)
    assert st_.PauseQuantiles is q and st_.Pause is p and st_.PauseEnd is e
    assert q == [1, 2]


def test_bad_ring_length():
    with pytest.raises(ValueError):
        read_gc_stats(GCStats(), num_gc=1, pause_total_ns=1, pause_ns_ring=[0] * 10,
                      pause_end_ring=[0] * 10, last_gc=0)


@given(st.lists(st.integers(1, 10**9), min_size=1, max_size=600), st.integers(1, 12))
def test_quantiles_property(pauses, q):
    ns, end = rings_for(pauses, range(1, len(pauses) + 1))
    st_ = GCStats(PauseQuantiles=[0] * (q + 1))
    read_gc_stats(st_, num_gc=len(pauses), pause_total_ns=sum(pauses), pause_ns_ring=ns,
                  pause_end_ring=end, last_gc=len(pauses))
    n = min(len(pauses), 256)
    s = sorted(pauses[-n:])
    assert st_.PauseQuantiles == [s[n * i // q] for i in range(q)] + [s[-1]]
    assert st_.PauseQuantiles == sorted(st_.PauseQuantiles)
    assert st_.Pause[0] == pauses[-1]


# ------------------------------------------------------------------------ wrappers

class FakeRuntime:
    def __init__(self):
        self.gc_percent = 100
        self.limit = (1 << 63) - 1
        self.calls = []
        self.num_gc = 0
        self.ns = [0] * 256
        self.end = [0] * 256
        self.total = 0
        self.clock = None        # ReadGCStats hands it to the displays

    def set_gc_percent(self, p):
        self.calls.append(("gogc", p))
        old, self.gc_percent = self.gc_percent, (-1 if p < 0 else p)
        return old

    def set_memory_limit(self, x):
        self.calls.append(("limit", x))
        old = self.limit
        if x >= 0:
            self.limit = x
        return old

    def free_os_memory(self):
        self.calls.append(("free",))
        self.gc(90 * US)

    def gc(self, pause):
        self.ns[self.num_gc % 256] = pause
        self.end[self.num_gc % 256] = 10**18 + self.num_gc
        self.total += pause
        self.num_gc += 1

    def pause_ring(self):
        last = self.end[(self.num_gc + 255) % 256] if self.num_gc else 0
        return self.num_gc, self.total, list(self.ns), list(self.end), last


@pytest.fixture
def fake(monkeypatch):
    rt = FakeRuntime()
    mod = types.ModuleType("goruntime.runtime")
    mod.current = lambda: rt
    monkeypatch.setitem(sys.modules, "goruntime.runtime", mod)
    import goruntime
    monkeypatch.setattr(goruntime, "runtime", mod, raising=False)
    return rt


def test_wrappers_x15(fake):
    assert debug.SetGCPercent(-1) == 100
    assert debug.SetGCPercent(-7) == -1
    assert debug.SetGCPercent(100) == -1
    assert debug.SetMemoryLimit(-1) == (1 << 63) - 1
    assert debug.SetMemoryLimit(64 << 20) == (1 << 63) - 1
    assert debug.SetMemoryLimit(-1) == 64 << 20
    assert fake.calls[:3] == [("gogc", -1), ("gogc", -7), ("gogc", 100)]


def test_set_gc_percent_truncates_to_int32(fake):
    debug.SetGCPercent((1 << 32) + 50)
    assert fake.calls[-1] == ("gogc", 50)
    debug.SetGCPercent(1 << 31)
    assert fake.calls[-1] == ("gogc", -(1 << 31))


def test_free_os_memory_and_read_gc_stats(fake):
    fake.gc(80 * US)
    debug.FreeOSMemory()
    assert fake.calls == [("free",)]
    s = GCStats(PauseQuantiles=[0] * 3)
    debug.ReadGCStats(s)
    assert s.NumGC == 2 and s.Pause == [90 * US, 80 * US] and s.PauseTotal == 170 * US
    assert s.LastGC == s.PauseEnd[0] == 10**18 + 1
    assert s.PauseQuantiles == [80 * US, 90 * US, 90 * US]
