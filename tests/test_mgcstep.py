"""The compiled mark step (`_mgcstep.mark_step`) against the Python rule
(`mgc.Collector.mark_step` with ``mgc.STEP_COMPILED`` off): the same cycles, the same
numbers -- gctrace lines, every phase event, MemStats, the virtual clock -- step for step."""
import re

import pytest

import goruntime as rt
from goruntime import _mgcstep, mgc
from goruntime import workloads

Node = rt.Struct("StepNodeT", next=rt.Ptr("StepNodeT"), other=rt.Ptr("StepNodeT"), id=rt.Int)


def _memstats(m):
    d = {k: getattr(m, k) for k in dir(m) if not k.startswith("_") and not callable(getattr(m, k))}
    d.pop("LastGC", None)               # wall-clock times
    d.pop("PauseEnd", None)
    return d


def _run(compiled, program, **kw):
    saved = mgc.STEP_COMPILED
    mgc.STEP_COMPILED = compiled
    lines, events = [], []
    try:
        r = rt.Runtime(**kw)
        with r:
            r.add_gc_observer(r.gctracer(lines.append))
            r.add_gc_observer(lambda ev: events.append(re.sub(r"wall_ns=\d+, ", "", repr(ev))))
            out = program(r)
            m = r.read_mem_stats()
        return dict(out=out, lines=lines, events=events, mem=_memstats(m),
                    clock=(r.clock.nanotime(), r.clock.gc_ns(), r.clock.mutator_ns()))
    finally:
        mgc.STEP_COMPILED = saved


def _same(program, **kw):
    a = _run(False, program, **kw)
    b = _run(True, program, **kw)
    assert a["events"], "no GC ran: the comparison is empty"
    assert any("mark start" in e for e in a["events"])
    for k in a:
        assert a[k] == b[k], k
    return a


def _binary_trees(r):
    s = workloads.binary_trees(13, runtime=r)
    s.pop("wall_seconds")
    return s


def _churn(r):
    """Handles, a long-lived list, a finalizer, a pointer store per object: the facade's
    allocation path and the write barrier during the marks."""
    keep = None
    fin = []
    for i in range(250000):
        x = r.new(Node)
        x.id = i
        if i % 7 == 0:
            x.next = keep
            keep = x
        if i % 20000 == 0:
            r.set_finalizer(x, lambda p, i=i: fin.append(i))
    return {"num_gc": r.gc_record.num_gc, "fin": fin}


def test_binary_trees_steps_are_identical():
    a = _same(_binary_trees)
    assert any("(forced)" not in line for line in a["lines"])


@pytest.mark.parametrize("kw", [dict(), dict(gogc=50), dict(memory_limit="8MiB"),
                                dict(godebug="gccheckmark=1")])
def test_facade_steps_are_identical(kw):
    _same(_churn, **kw)


def test_more_procs_and_replays_take_the_python_rule():
    """GOMAXPROCS > 1 (dedicated or idle workers on other Ps): NOT_HANDLED, nothing changed."""
    a = _same(_churn, gomaxprocs=4)
    assert a["events"]


def test_the_compiled_step_runs():
    seen = []
    orig = _mgcstep.mark_step

    def spy(*a):
        r = orig(*a)
        seen.append(r is not _mgcstep.NOT_HANDLED)
        return r
    _mgcstep.mark_step = spy
    try:
        _run(True, _churn)
    finally:
        _mgcstep.mark_step = orig
    assert seen and all(seen)


@pytest.mark.parametrize("s", [-5, 0, 1, 69_999, 70_000, 3_000_000, 40_000_000, 10**12])
def test_preempt_time_is_sysmons(s):
    """The compiled sysmon wake times against their definition: the ramp, then 10 ms sleeps."""
    ramp, delay = mgc.SYSMON_RAMP, mgc.SYSMON_DELAY

    def tick(t):
        for w in ramp:
            if w >= t:
                return w
        return ramp[-1] - (-(t - ramp[-1]) // delay) * delay
    assert mgc.sysmon_tick(s) == tick(s)
    assert mgc.preempt_time(s) == tick(tick(s + 1) + mgc.FORCE_PREEMPT_NS)
