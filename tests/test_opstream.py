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
