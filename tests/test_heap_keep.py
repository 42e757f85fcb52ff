"""A heap on kept memory (`_heap.keep_memory`, what a sweep worker and `whatif` use between
replays) is a fresh heap: every array equal to a new one's, and runtimes built on it give
the same results and the same MemStats as runtimes on new memory, one configuration after
another and after a failed run."""
import dataclasses
import gc
from pathlib import Path

import numpy as np
import pytest

import goruntime as rt
import goruntime.trace as gtrace
from goruntime import _heap
from goruntime import workloads as wl
from goruntime.trace.simulate import _SCRATCH

CAP = 64 << 20
SMALL = Path(__file__).parent / "data" / "trace" / "steady-small.trace"


@pytest.fixture
def keep():
    prev = _heap.keep_memory(True)
    _heap.keep_memory(False)            # nothing kept from before this test
    _heap.keep_memory(True)
    yield
    _heap.keep_memory(prev)
    _SCRATCH.clear()


def _fresh_arrays(cap):
    """Copies of a new heap's arrays (its arena is checked for zeros instead)."""
    h = _heap.Heap(cap)
    m = h._memory()
    out = {k: np.array(v) for k, v in m.items() if k != "arena"}
    del m, h
    return out


def _drop():
    gc.collect()


def _assert_fresh(cap, want):
    h = _heap.Heap(cap)
    assert _heap.kept_memory() is None            # the new heap took the kept memory
    m = h._memory()
    assert not np.count_nonzero(m["arena"]), "the arena reads as zeros"
    for k, v in want.items():
        assert m[k].shape == v.shape and m[k].tobytes() == v.tobytes(), k
    del m, h
    _drop()


def _stats(r):
    """Every MemStats field; the wall-clock times (LastGC, PauseEnd) from the runtime's
    start, which is the wall clock's."""
    m = dataclasses.asdict(r.read_mem_stats())
    t0 = r.clock.start_unix_ns
    m["LastGC"] = m["LastGC"] - t0 if m["LastGC"] else 0
    m["PauseEnd"] = [t - t0 if t else 0 for t in m["PauseEnd"]]
    return m


def _trees(r, gogc):
    r.set_gc_percent(gogc)
    out = wl.binary_trees(10, runtime=r)
    out.pop("wall_seconds")
    return out, _stats(r)


def _large_and_scavenge(r, gogc):
    """Written objects, large ones, a heap grown and given back (scavenged pages)."""
    r.set_gc_percent(gogc)
    keep = [rt.make(rt.Slice(rt.Byte), 40_000 + 8192 * i) for i in range(40)]
    for i, b in enumerate(keep):
        b[len(b) - 1] = i + 1                    # the arena written
    for _ in range(3):
        junk = [rt.make(rt.Slice(rt.Byte), 300) for _ in range(3000)]
        junk[-1][0] = 7
        del junk
    del keep, b
    r.free_os_memory()
    out = wl.linked_list(20_000, keep=False, runtime=r)   # no handle left on the heap
    out.pop("wall_seconds")
    return out, _stats(r)


def _oom(r, gogc):
    """Fails: more live than the arena holds."""
    r.set_gc_percent(gogc)
    held = []
    with pytest.raises(MemoryError):
        for _ in range(1000):
            held.append(rt.make(rt.Slice(rt.Byte), 1 << 20))
            held[-1][5] = 1
    del held
    return None, _stats(r)


# (workload, GOGC, GOMAXPROCS (more Ps: more mcaches written), GODEBUG (gccheckmark: the
# checkmark bitmaps written too))
RUNS = [(_trees, 100, 1, ""), (_large_and_scavenge, 50, 4, "gccheckmark=1"), (_oom, 100, 2, ""),
        (_trees, 50, 3, ""), (_large_and_scavenge, 200, 1, ""), (_trees, 25, 1, "")]


def _run(fn, gogc, procs=1, godebug=""):
    r = rt.Runtime(arena_cap=CAP, gomaxprocs=procs, godebug=godebug)
    with r:                                       # closes r at the end
        got = fn(r, gogc)
    del r
    _drop()
    return got


def test_kept_memory_is_a_fresh_heaps(keep):
    _heap.keep_memory(False)
    want = _fresh_arrays(CAP)
    _heap.keep_memory(True)
    for fn, *run in RUNS:
        _run(fn, *run)
        assert _heap.kept_memory() == CAP, fn.__name__
        _assert_fresh(CAP, want)


def test_runtimes_on_kept_memory_run_as_on_new_memory(keep):
    """The same runs in sequence on new memory and on one kept heap: the same results and
    every MemStats field."""
    _heap.keep_memory(False)
    fresh = [_run(*run) for run in RUNS]
    _heap.keep_memory(True)
    kept = []
    for run in RUNS:
        kept.append(_run(*run))
        assert _heap.kept_memory() == CAP
    assert kept == fresh


def test_memory_still_viewed_is_not_kept(keep):
    r = rt.Runtime(arena_cap=CAP)
    with r:
        wl.binary_trees(8, runtime=r)
    view = r.heap.alloc_bits
    del r
    _drop()
    assert _heap.kept_memory() is None            # a view outlived the heap: not reused
    assert view.base is not None
    del view
    r = rt.Runtime(arena_cap=CAP)
    with r:
        arena = r.heap.arena
    del r
    _drop()
    assert _heap.kept_memory() is None
    del arena
    _heap.keep_memory(False)
    assert _heap.kept_memory() is None


def test_other_arena_size_takes_new_memory(keep):
    _run(_trees, 100)
    assert _heap.kept_memory() == CAP
    h = _heap.Heap(2 * CAP)                       # not this size: new memory
    assert _heap.kept_memory() == CAP
    del h
    _drop()
    _heap.keep_memory(False)
    assert _heap.kept_memory() is None


def _replays(tr, configs):
    out = []
    for g, lim in configs:
        res, detail = gtrace.replay_detail(tr, gogc=g, memory_limit=lim)
        out.append((res, detail["cycles"],
                    {k: v.tolist() if hasattr(v, "tolist") else v
                     for k, v in detail["samples"].items()}))
        gc.collect()
    return out


TRACE_CAP = 12 << 20   # the small trace's replays fit (in use <= 8.4 MB); GOGC off: 15.2


def _small_trace_mapped(monkeypatch, tmp_path):
    """The small trace in memory, and its rows saved and memory-mapped read-only (what a
    sweep worker replays); runtimes capped at TRACE_CAP."""
    import goruntime.runtime as rt_runtime

    class Capped(rt_runtime.Runtime):
        def __init__(self, *a, **k):
            super().__init__(*a, arena_cap=TRACE_CAP, **k)
    monkeypatch.setattr(rt_runtime, "Runtime", Capped)
    tr = gtrace.load(SMALL).slim()
    names = ("allocs", "initial", "gcs")
    for n in names:
        np.save(tmp_path / f"{n}.npy", getattr(tr, n))
    return tr, dataclasses.replace(tr, **{n: np.load(tmp_path / f"{n}.npy", mmap_mode="r")
                                          for n in names})


def test_trace_replays_on_kept_memory_equal_fresh_ones(keep, monkeypatch):
    """Replays of a recorded trace, several configurations in sequence (a sweep worker's
    tasks), from its op stream and from its rows, one of them failing half-way (GOGC off:
    the arena is too small): results, cycles and samples as on new memory."""
    import goruntime.runtime as rt_runtime

    class Capped(rt_runtime.Runtime):
        def __init__(self, *a, **k):
            super().__init__(*a, arena_cap=TRACE_CAP, **k)
    monkeypatch.setattr(rt_runtime, "Runtime", Capped)
    tr = gtrace.load(SMALL)
    prep = gtrace.prepare(tr)
    configs = [(50, None), (100, "6MiB"), (100, None), (25, None)]

    def runs():
        out = _replays(prep, configs[:2])
        with pytest.raises(MemoryError):            # a failed task
            gtrace.replay(prep, gogc="off")
        gc.collect()
        out += _replays(prep, configs[2:]) + _replays(tr, configs[:2])
        return out

    _heap.keep_memory(False)
    fresh = runs()
    _heap.keep_memory(True)
    assert not _SCRATCH
    kept = runs()
    assert _heap.kept_memory() == TRACE_CAP
    assert set(_SCRATCH) == {prep}            # its clock times and object arrays reused
    assert kept == fresh
    # whatif's grid keeps one heap from replay to replay, and gives it back after (a
    # plain replay keeps its memory for the next: given back first)
    _heap.keep_memory(False)
    grid = [(g, m) for g in (25, 50, 100) for m in ("off", "6MiB")]
    want = [gtrace.replay(prep, gogc=g, memory_limit=m) for g, m in grid]
    gc.collect()
    gtrace.release_memory()
    assert gtrace.whatif(tr, gogc=[25, 50, 100], memory_limit=["off", "6MiB"]) == want
    assert _heap.kept_memory() is None and not _SCRATCH


def test_trace_rows_that_cannot_change_keep_their_deaths(keep, monkeypatch, tmp_path):
    """A sweep worker replays a trace's rows memory-mapped read-only: the deaths are
    placed and sorted by its first replay and kept, with the slot array, for the next
    ones of the same rows and models (`_Scratch.rows`); replays, one failing half-way,
    in two death models, give what replays of the trace in memory give. A trace whose
    rows can be written keeps nothing."""
    from goruntime.trace import _parse

    tr, mapped = _small_trace_mapped(monkeypatch, tmp_path)
    configs = [(50, None), (100, "6MiB"), (25, None)]
    made = []
    real = _parse.trace_deaths
    monkeypatch.setattr(_parse, "trace_deaths", lambda *a: made.append(1) or real(*a))

    def runs(t):
        out = []
        for death in ("spread", "early"):
            for g, lim in configs[:2]:
                out.append(gtrace.replay(t, gogc=g, memory_limit=lim, death=death))
                gc.collect()
            with pytest.raises(MemoryError):        # a failed task
                gtrace.replay(t, gogc="off", death=death)
            gc.collect()
            out.append(gtrace.replay(t, gogc=configs[2][0], death=death))
            gc.collect()
        return out

    want = runs(tr)
    assert len(made) == 8 and not _SCRATCH.rows     # writable rows: sorted every replay
    made.clear()
    assert runs(mapped) == want
    assert len(made) == 2                           # once per death model
    assert len(_SCRATCH.rows) == 1 and _SCRATCH.rows[0]["models"] == ("early", "pacer")
    kept = _SCRATCH.rows[0]
    assert not kept["args"][4][0].flags.writeable   # the deaths: read only
    other = dataclasses.replace(mapped, allocs=np.load(tmp_path / "allocs.npy", mmap_mode="r"))
    assert gtrace.replay(other, gogc=50, death="early") == want[3]
    assert len(made) == 3                           # other arrays: sorted again
    _SCRATCH.clear()
    assert not _SCRATCH.rows


def test_kept_deaths_whose_slot_array_is_in_use_are_placed_again(keep, monkeypatch, tmp_path):
    """Two threads replaying the same read-only rows: the first takes the kept slot array,
    and the second, finding the kept entry without one, places its own deaths (no
    KeyError between the test and the take) and gives the same result."""
    _, mapped = _small_trace_mapped(monkeypatch, tmp_path)
    want = gtrace.replay(mapped, gogc=50)
    gc.collect()
    assert len(_SCRATCH.rows) == 1 and "slot" in _SCRATCH.rows[0]
    held = _SCRATCH.rows[0].pop("slot")         # another replay of these rows holds it
    assert gtrace.replay(mapped, gogc=50) == want
    gc.collect()
    taken = []

    class Racing(dict):
        """The other thread takes the slot array while this one compares the rows."""
        def __getitem__(self, k):
            if k == "rows" and "slot" in self:
                taken.append(self.pop("slot"))
            return super().__getitem__(k)
    _SCRATCH.rows[:] = [Racing(_SCRATCH.rows[0])]
    assert gtrace.replay(mapped, gogc=50) == want
    assert taken
    del held


def test_a_replay_keeps_its_memory_for_the_next_and_gives_it_back():
    """A replay from a trace's rows hands its emulated heap's memory (reset) and its sort
    buffers and slot array to the next replay in the process, without `keep_memory`:
    the next replays give the results of a replay on new memory, and
    `goruntime.trace.release_memory` gives everything back."""
    from goruntime.trace import simulate
    prev = _heap.keep_memory()
    _heap.keep_memory(False)                    # nothing kept from before this test
    try:
        gtrace.release_memory()
        tr = gtrace.load(SMALL)
        configs = [{}, {"gogc": 50}, {"death": "early"}, {}]
        fresh = []
        for c in configs:
            fresh.append(gtrace.replay_detail(tr, **c))
            gtrace.release_memory()             # each on new memory
            _drop()
            gtrace.release_memory()
            assert _heap.kept_memory() is None and not simulate._WORK
        for c, want in zip(configs, fresh):
            got = gtrace.replay_detail(tr, **c)
            _drop()                             # the runtime's heap is kept when freed
            assert _heap.kept_memory() is not None and len(simulate._WORK) == 1
            assert got[0] == want[0] and got[1]["cycles"] == want[1]["cycles"]
            for k in ("time", "heap_live", "goal"):
                assert np.array_equal(got[1]["samples"][k], want[1]["samples"][k]), k
        gtrace.release_memory()
        assert _heap.kept_memory() is None and not simulate._WORK
    finally:
        _heap.keep_memory(prev)
