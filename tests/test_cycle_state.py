"""The collector's per-cycle bookkeeping read the same numbers as before it was made cheaper.

`Heap.mem_counters` sums in C what `mstats.HeapCounters` derives in Python (the pacer's
memory state reads it several times a cycle), and `mgc._save` (the rollback snapshot, taken
at every stage of a cycle) reads all attributes in one pass: both must give exactly what
the one-by-one versions give, at any point of a run.
"""
import goruntime as rt
from goruntime import mgc, mstats
from goruntime import workloads as wl


def _mem_counters_match(r):
    c = mstats.HeapCounters.read(r.heap)
    assert r.heap.mem_counters() == (c.heap_alloc, c.heap_inuse, c.heap_sys,
                                     c.heap_released, c.nspans_inuse)


def test_mem_counters_are_heap_counters_at_every_phase():
    seen = []

    def obs(ev):
        seen.append(ev.phase)

    with rt.Runtime(gogc=50) as r:
        _mem_counters_match(r)
        r.add_gc_observer(obs)
        # checked inside the cycle too: at every mark step and at each cycle's end
        step, nsteps = r.collector.mark_step, []

        def checked_step(*a, **k):
            _mem_counters_match(r)
            nsteps.append(1)
            return step(*a, **k)
        r.collector.mark_step = checked_step
        wl.gcbench(runtime=r, stretch_tree_depth=12, long_lived_tree_depth=10,
                   array_size=3000, min_tree_depth=4, max_tree_depth=10)
        _mem_counters_match(r)
        r.gc()
        _mem_counters_match(r)
    assert "mark termination" in seen and len(nsteps) > 3


def _slow_save(obj, depth=2):
    return mgc._save_each(obj, list(getattr(obj, "__dict__", ())) + list(mgc._slot_names(type(obj))),
                          depth)


class _Slots:
    __slots__ = ("a", "b", "c")


def test_save_is_the_one_by_one_snapshot():
    with rt.Runtime() as r:
        wl.binary_trees(8, runtime=r)
        for obj in (r.pacer, r.gc_record, r.limiter, r.gc_record.pauses, r.gc_record.cpu):
            assert mgc._save(obj) == _slow_save(obj)
        saved = mgc._save(r.gc_record)
        assert saved["pauses"][0] == 1 and saved["pauses"][1] is r.gc_record.pauses
        assert saved["pauses"][2]["ns"][1] is not r.gc_record.pauses.ns     # a copy
    s = _Slots()
    s.a, s.c = [1, 2], 3                  # b never set: skipped, as one by one
    assert mgc._save(s) == _slow_save(s) == {"a": (0, [1, 2]), "c": (2, 3)}
