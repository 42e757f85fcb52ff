"""The op stream of a trace replay (`goruntime.trace.prepare`): the linear merge of the
allocation, drop and GC runs (``_workloads.merge_op_stream``) and the packed stable sort
of the deaths give the rows a stable sort of every row by (time, priority) gives."""
import numpy as np
import pytest

from goruntime.trace import simulate
from goruntime.workloads import _workloads


def test_stable_argsort_equals_numpy_stable():
    rng = np.random.default_rng(5)
    for n in (0, 1, 2, 7, 1000, 50_000):
        for hi in (3, 1 << 20, 1 << 40):
            keys = rng.integers(0, hi, n).astype(np.int64)
            assert np.array_equal(simulate._stable_argsort(keys),
                                  np.argsort(keys, kind="stable"))
    big = np.array([1 << 62, 5, 1 << 62, 0], dtype=np.int64)      # no room: the fallback
    assert np.array_equal(simulate._stable_argsort(big), [3, 1, 0, 2])


def test_sorted_deaths_equal_the_numpy_stable_sort():
    """The typed radix sort of the deaths (``_parse.sorted_deaths``) against its numpy
    definition: the objects with a death, stably sorted by (death + 1) * 4 + priority;
    None where the packed key would not fit (the caller falls back to numpy)."""
    from goruntime.trace._parse import sorted_deaths
    rng = np.random.default_rng(7)
    for n in (0, 1, 2, 3, 100, 5000, 200_000):
        for hi in (3, 50, 1 << 20, 1 << 40):
            birth = rng.integers(0, hi, n).astype(np.int64)
            later = rng.integers(0, 3, n) * rng.integers(0, hi, n)   # a third die at birth
            death = np.where(rng.random(n) < 0.3, -1, birth + later).astype(np.int64)
            di = np.flatnonzero(death >= 0)
            dkey = (death[di] + 1) * 4 + np.where(death[di] == birth[di], 3, 0)
            o = np.argsort(dkey, kind="stable")
            got = sorted_deaths(birth, death)
            assert got is not None
            assert np.array_equal(got[0], dkey[o]) and np.array_equal(got[1], di[o])
    # skewed: most deaths at a few times (one bucket of the first, MSD pass far over its
    # average size: sorted there by its own LSD passes), the rest spread wide
    n = 300_000
    birth = np.sort(rng.integers(0, 1 << 36, n)).astype(np.int64)
    death = np.where(rng.random(n) < 0.6, (1 << 36) + rng.integers(0, 4, n) * 977,
                     birth + rng.integers(0, 1 << 30, n)).astype(np.int64)
    death[rng.random(n) < 0.1] = -1
    di = np.flatnonzero(death >= 0)
    dkey = (death[di] + 1) * 4 + np.where(death[di] == birth[di], 3, 0)
    o = np.argsort(dkey, kind="stable")
    got = sorted_deaths(birth, death)
    assert np.array_equal(got[0], dkey[o]) and np.array_equal(got[1], di[o])
    assert sorted_deaths(np.zeros(2, np.int64), np.array([1 << 61, 0], np.int64)) is None
    with pytest.raises(ValueError, match="length"):
        sorted_deaths(np.zeros(3, np.int64), np.zeros(2, np.int64))


def _reference(akey, ident, dkey, ddense, gkey, gtime, birth, death, req, ptr, pw):
    key = np.concatenate([akey, dkey, gkey])
    kind = np.concatenate([np.zeros(len(akey), int), np.full(len(dkey), 2), np.full(len(gkey), 3)])
    idx = np.concatenate([np.arange(len(akey)), np.arange(len(dkey)), np.arange(len(gkey))])
    o = np.argsort(key, kind="stable")
    rows = []
    for k, i in zip(kind[o], idx[o]):
        if k == 0:
            x = ident[i]
            rows.append((0, x, birth[x], req[x], ptr[x], pw[x]))
        elif k == 2:
            x = ddense[i]
            rows.append((2, x, death[x], 0, 0, 0))
        else:
            rows.append((3, -1, gtime[i], 0, 0, 0))
    return rows


def test_merge_op_stream_matches_a_stable_sort_and_rejects_bad_rows():
    rng = np.random.default_rng(11)
    n = 400
    birth = np.sort(rng.integers(0, 10_000, n)).astype(np.int64)
    death = birth + rng.integers(0, 3_000, n)
    ident = np.arange(n, dtype=np.int64)
    akey = (birth + 1) * 4 + 2
    dd = np.flatnonzero(rng.random(n) < 0.7).astype(np.int64)
    dkey = (death[dd] + 1) * 4 + np.where(death[dd] == birth[dd], 3, 0)
    o = np.argsort(dkey, kind="stable")
    dd, dkey = dd[o], dkey[o]
    gtime = np.sort(rng.integers(0, 13_000, 9)).astype(np.int64)
    gkey = (gtime + 1) * 4 + 1
    req = rng.integers(1, 5000, n).astype(np.uint64)
    ptr = (rng.random(n) < 0.5).astype(np.uint8)
    pw = rng.integers(0, 20, n).astype(np.uint64)
    rows = n + len(dd) + len(gkey)
    out = [np.empty(rows, t) for t in (np.uint8, np.int64, np.int64, np.uint64, np.uint8, np.uint64)]
    _workloads.merge_op_stream(akey, ident, dkey, dd, gkey, gtime, birth, death, req, ptr, pw,
                               *out)
    op, dense, time, size, pointers, pws = out
    got = list(zip(op, dense, time, size, pointers, pws))
    assert got == _reference(akey, ident, dkey, dd, gkey, gtime, birth, death, req, ptr, pw)
    bad = ident.copy()
    bad[3] = n
    with pytest.raises(ValueError, match="out of range"):
        _workloads.merge_op_stream(akey, bad, dkey, dd, gkey, gtime, birth, death, req, ptr, pw,
                                   *out)
    with pytest.raises(ValueError, match="one entry per row"):
        _workloads.merge_op_stream(akey, ident, dkey, dd, gkey, gtime, birth, death, req, ptr,
                                   pw, *[x[:-1] for x in out])


def test_idle_gaps_equal_their_numpy_definition():
    """The replay's idle-gap column (one typed pass) against its definition: per
    allocation row of nonzero size, the time since the previous such row, where at
    least IDLE_GAP_NS; zero elsewhere (the first allocation has no gap)."""
    rng = np.random.default_rng(11)
    for n in (0, 1, 2, 50, 20_000):
        op = rng.choice([0, 2, 3], n, p=[0.6, 0.35, 0.05]).astype(np.uint8)
        size = np.where(op == 0, rng.choice([0, 16, 4096], n, p=[0.1, 0.6, 0.3]),
                        0).astype(np.uint64)
        time = np.cumsum(rng.choice([0, 50, 150_000], n, p=[0.3, 0.6, 0.1])).astype(np.int64)
        alloc = (op == 0) & (size > 0)
        want = np.zeros(n, dtype=np.int64)
        rows = np.flatnonzero(alloc)
        if len(rows) > 1:
            gap = np.diff(time[rows])
            big = gap >= simulate.IDLE_GAP_NS
            want[rows[1:][big]] = gap[big]
        got = simulate._idle_gaps(op, size, time)
        assert np.array_equal(got, want)
        if n == 20_000:
            assert (got > 0).sum() > 100              # the test sees gaps
    with pytest.raises(ValueError):
        _workloads.idle_gaps(np.zeros(3, np.uint8), np.zeros(2, np.uint64),
                             np.zeros(3, np.int64), 1, np.zeros(3, np.int64))


def _reference_objects(tr, death, cycles):
    """simulate._objects in numpy (what it was before the typed pass)."""
    mi, ma = ~tr.initial["tiny"], ~tr.allocs["tiny"]
    n_init = int(mi.sum())

    def col(name):          # one column of the slot objects: snapshot first, then allocs
        return np.concatenate([tr.initial[name][mi], tr.allocs[name][ma]])
    objs = {k: col(k) for k in ("time", "free_time", "size", "pointerful", "sizeclass",
                                "ptrbytes")}
    birth = objs["time"]
    birth[:n_init] = -1                           # the snapshot exists before everything
    free = objs["free_time"]
    dies = free >= 0
    dt = np.where(dies, free, -1)
    if death in ("gc", "spread", "early"):
        starts, ends = simulate._cycle_times(tr)
        i = np.searchsorted(starts, free, side="left") - 1      # last cycle begun before
        at = np.where(i >= 0, starts[np.maximum(i, 0)], -1)
        latest = np.maximum(np.maximum(at, birth), 0)   # a freed snapshot object dies
        dt = np.where(dies, latest, -1)
        # the cycle before that one had still found it alive (or it was not yet born);
        # with the cycles replayed at their recorded ends (stop-the-world), an object
        # that cycle marked must outlive its end: Go marked it at some point of the mark
        # phase, or allocated it black during it
        rec = cycles == "recorded"
        prev = np.where(i >= 1, (ends if rec else starts)[np.maximum(i - 1, 0)] + int(rec), -1)
        earliest = np.minimum(np.maximum(np.maximum(prev, birth), 0), latest)
        if death == "early":
            dt = np.where(dies, earliest, -1)
        elif death == "spread":
            # spread evenly over that interval (a fixed low-discrepancy sequence)
            frac = np.arange(len(birth), dtype=np.float64) * 0.6180339887498949
            frac -= np.floor(frac)                # == frac % 1.0, exactly; faster
            spread = earliest + ((latest - earliest) * frac).astype(np.int64)
            dt = np.where(dies, np.maximum(spread, birth), -1)
    size = objs["size"].astype(np.uint64)
    ptr = objs["pointerful"]
    header = ptr & (objs["sizeclass"] > 0) & (size > simulate.MIN_SIZE_FOR_MALLOC_HEADER)
    req = size - np.where(header, simulate.MALLOC_HEADER_SIZE, 0).astype(np.uint64)
    ptrwords = (objs["ptrbytes"] + np.uint64(7)) // np.uint64(8)
    return birth, dt, req, ptr, ptrwords, n_init


def test_objects_equal_their_numpy_form():
    """The replay's object columns (``_parse.object_columns``, one typed pass) equal the
    numpy form of the same rules, column for column and dtype for dtype, under every
    death and cycle model (the committed trace: snapshot objects, tiny ones, frees
    before, between and after cycles)."""
    from pathlib import Path
    import goruntime.trace as gtrace
    tr = gtrace.load(Path(__file__).parent / "data" / "trace" / "steady-small.trace")
    assert len(tr.initial) and tr.allocs["tiny"].any() and (tr.allocs["free_time"] >= 0).any()
    for death in simulate.DEATH_MODELS_CODE:     # "fit": tests/test_trace_lifetimes.py
        for cycles in simulate.CYCLE_MODELS:
            want = _reference_objects(tr, death, cycles)
            got = simulate._objects(tr, death, cycles)
            assert got[-1] == want[-1]
            for g, w in zip(got[:-1], want[:-1]):
                assert g.dtype == w.dtype and np.array_equal(g, w), (death, cycles)
