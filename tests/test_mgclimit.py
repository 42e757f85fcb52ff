"""The GC CPU limiter's bucket (goruntime/mgclimit.py), Go's TestGCCPULimiter ported
(src/runtime/mgclimit_test.go, Go 1.27.3) with Go's own assertions, and the limiter
inside a runtime."""
import pytest

import goruntime as rt
from goruntime import metrics
from goruntime.mgclimit import CAPACITY_PER_PROC, GC_BACKGROUND_UTILIZATION, UPDATE_PERIOD, GCCPULimiter

MS = 1_000_000
US = 1_000
SECOND = 1_000_000_000
HOUR = 3600 * SECOND


def test_gc_cpu_limiter_go():
    procs = 14
    ticks = [0]

    def advance(d):
        ticks[0] += int(d)
        return ticks[0]

    def assist_time(d, frac):
        return int(frac * float(d) * procs)

    lim = GCCPULimiter(ticks[0], procs)
    base_overflow = 0
    for _ in range(2):
        assert lim.capacity == procs * CAPACITY_PER_PROC
        assert lim.fill == 0
        # filling the bucket with just mutator time
        lim.update(advance(10 * MS))
        lim.update(advance(1 * SECOND))
        lim.update(advance(1 * HOUR))
        assert lim.fill == 0
        # need_update
        assert not lim.need_update(advance(UPDATE_PERIOD / 2))
        assert lim.need_update(advance(UPDATE_PERIOD))
        lim.update(advance(0))
        assert not lim.need_update(advance(0))
        # transitioning the bucket to enable the GC
        lim.start_gc_transition(True, advance(109 * MS))
        lim.finish_gc_transition(advance(2 * MS + 1 * US))
        assert lim.fill == (2 * MS + 1 * US) * procs
        # passing time without assists during a GC: drain to exactly procs ns
        factor = 1 / (1 - 2 * GC_BACKGROUND_UTILIZATION)
        fill = (2 * MS + 1 * US) * procs
        lim.update(advance(int(factor * float(fill - procs) / procs)))
        assert lim.fill == procs
        lim.update(advance(2 * procs * CAPACITY_PER_PROC))
        assert lim.fill == 0
        # 50 % total GC work: the bucket does not move
        lim.add_assist_time(assist_time(10 * MS, 0.5 - GC_BACKGROUND_UTILIZATION))
        lim.update(advance(10 * MS))
        assert lim.fill == 0
        # 100 % GC work
        lim.add_assist_time(assist_time(MS, 1.0 - GC_BACKGROUND_UTILIZATION))
        lim.update(advance(MS))
        assert lim.fill == procs * MS
        assert not lim.limiting()
        # exactly full
        lim.add_assist_time(assist_time(CAPACITY_PER_PROC - MS, 1.0 - GC_BACKGROUND_UTILIZATION))
        lim.update(advance(CAPACITY_PER_PROC - MS))
        assert lim.fill == lim.capacity and lim.limiting()
        assert lim.overflow == base_overflow
        # a delta of exactly zero: still on, no overflow
        lim.add_assist_time(assist_time(SECOND, 0.5 - GC_BACKGROUND_UTILIZATION))
        lim.update(advance(SECOND))
        assert lim.fill == lim.capacity and lim.limiting()
        assert lim.overflow == base_overflow
        # drain by half
        lim.add_assist_time(assist_time(CAPACITY_PER_PROC, 0))
        lim.update(advance(CAPACITY_PER_PROC))
        assert lim.fill == lim.capacity // 2
        assert not lim.limiting()
        # overfill
        lim.add_assist_time(assist_time(CAPACITY_PER_PROC, 1.0 - GC_BACKGROUND_UTILIZATION))
        lim.update(advance(CAPACITY_PER_PROC))
        assert lim.fill == lim.capacity and lim.limiting()
        assert lim.overflow == CAPACITY_PER_PROC * procs // 2 + base_overflow
        # ending the cycle with assists left over
        lim.add_assist_time(assist_time(MS, 1.0 - GC_BACKGROUND_UTILIZATION))
        lim.start_gc_transition(False, advance(MS))
        assert lim.fill == lim.capacity and lim.limiting()
        assert lim.overflow == (CAPACITY_PER_PROC // 2 + MS) * procs + base_overflow
        # the STW adds to the bucket
        lim.finish_gc_transition(advance(5 * MS))
        assert lim.fill == lim.capacity and lim.limiting()
        assert lim.overflow == (CAPACITY_PER_PROC // 2 + 6 * MS) * procs + base_overflow
        # more procs: limiting stops, the fill stays
        expect_fill = lim.capacity
        lim.reset_capacity(advance(0), procs + 10)
        assert lim.fill == expect_fill and not lim.limiting()
        assert lim.overflow == (CAPACITY_PER_PROC // 2 + 6 * MS) * procs + base_overflow
        # fewer procs: limiting again, overflow unchanged
        lim.reset_capacity(advance(0), procs - 10)
        assert lim.fill == lim.capacity and lim.limiting()
        assert lim.overflow == (CAPACITY_PER_PROC // 2 + 6 * MS) * procs + base_overflow
        lim.reset_capacity(advance(CAPACITY_PER_PROC * procs), procs)
        base_overflow += (CAPACITY_PER_PROC // 2 + 6 * MS) * procs


def test_transitions_throw_as_go():
    lim = GCCPULimiter(0, 1)
    with pytest.raises(RuntimeError, match="same state as before"):
        lim.start_gc_transition(False, 0)
    with pytest.raises(RuntimeError, match="without starting one"):
        lim.finish_gc_transition(0)
    lim.start_gc_transition(True, 0)
    with pytest.raises(RuntimeError, match="update during transition"):
        lim.update(1)


def test_runtime_limiter_follows_the_cycles():
    """Two transitions per cycle: the GC is off after each cycle, STW time in the bucket."""
    with rt.Runtime() as r:
        rt.GC()
        lim = r.limiter
        assert not lim.gc_enabled and not lim.transitioning
        assert lim.fill > 0      # the pauses, and the idle mark taken out of the total (as Go does)
        s = [metrics.Sample("/gc/limiter/last-enabled:gc-cycle")]
        metrics.Read(s)
        assert s[0].Value.Uint64() == 0          # a short program never fills 1 CPU-second
