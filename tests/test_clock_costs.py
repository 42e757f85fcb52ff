"""The virtual clock's cost table is the fit of its recorded calibration against Go.

bench/clockcal.json holds the raw figures of bench/go/clockcal (real Go 1.27.3,
GOMAXPROCS=1, several runs); bench/clockcal.py's `fit` turns them into the table. This
test refits the committed record (no Go needed) and requires ``clock.COSTS`` to be that
fit, so a number cannot be edited by hand, and checks the fit against the raw figures.
"""
import json
import sys
from pathlib import Path

import pytest

import goruntime as rt
from goruntime import clock

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
import clockcal  # noqa: E402


@pytest.fixture(scope="module")
def record():
    return json.loads((ROOT / "bench" / "clockcal.json").read_text())


@pytest.fixture(scope="module")
def mark_record():
    return json.loads(clockcal.MARK_RECORD.read_text())


def test_costs_are_the_fit_of_the_recorded_calibration(record, mark_record):
    assert record["fit"] == clockcal.fit(record)
    assert record["go_version"].startswith("go version go1.27.3")
    assert len(record["runs"]) >= 5
    assert mark_record["fit"] == clockcal.fit_mark(mark_record)
    assert mark_record["go_version"].startswith("go version go1.27.3")
    assert len(mark_record["runs"]) >= 5
    oracle = json.loads(clockcal.ORACLE_RECORD.read_text())
    fitted = clockcal.table(record, oracle, mark_record)
    for k, v in fitted.items():
        assert clock.COSTS[k] == v, k
    assert set(clock.COSTS) - set(fitted) == {"mark_utilization", "scavenge_bytes_per_ns"}


def test_mark_fit_follows_span_density_and_chains(mark_record):
    """The fitted mark against Go's measured shapes: a dense tree (the workloads' long-lived
    trees) marks several times cheaper per object than a list or a sparse tree, as in Go,
    and the model is within 2x of Go for the dense and half-dense trees and lists of
    16-byte objects (the shapes the workloads and the oracle's time_mark_objects build)."""
    c = clock.COSTS
    rows = {(r["shape"], r["size"], r["k"], r["objects"]): r for r in clockcal.mark_rows(mark_record)}

    def model(r):
        return (r["objects"] * c["mark_object"] + r["spans"] * c["mark_span"]
                + r["links"] * c["mark_link"] + r["scan_bytes"] * c["mark_byte"]
                + r["scan_large"] * c["mark_large_byte"])
    n = 2 ** 17 - 1
    for shape in ("tree_level", "tree_bottomup", "list_back", "list_fwd"):
        for k in (1, 2):
            r = rows[(shape, 16, k, n)]
            assert 0.5 <= model(r) / r["go_ns"] <= 2, (shape, k, model(r) / r["go_ns"])
    dense, listed = rows[("tree_bottomup", 16, 1, n)], rows[("list_back", 16, 1, n)]
    sparse = rows[("tree_level", 16, 32, n)]
    assert model(listed) > 2 * model(dense) and listed["go_ns"] > 2 * dense["go_ns"]
    assert model(sparse) > 2 * model(dense) and sparse["go_ns"] > 2 * dense["go_ns"]


def test_the_mark_shapes_are_what_the_fit_assumes():
    """mark_counts' objects, Green Tea spans, chain links and scan bytes are what the
    emulator's mark counts for bench/go/markcal's shapes (built the same way, smaller)."""
    from goruntime import _mark
    n = 2 ** 11 - 1

    def build(shape, size, k):
        pad = (size - 16) // 8
        T = rt.Struct(f"MC{size}", a=rt.Ptr(f"MC{size}"), b=rt.Ptr(f"MC{size}"),
                      **({"pad": rt.Array(rt.Int, pad)} if pad else {}))
        pool = [rt.new(T) for _ in range(k * n)]
        node = pool[::k]
        if shape == "tree_level":
            for j in range(n):
                if 2 * j + 2 < n:
                    node[j].a, node[j].b = node[2 * j + 1], node[2 * j + 2]
            return node[0]
        for j in range(1, n):                       # list_back: head = &T{next: head}
            node[j].a = node[j - 1]
        return node[n - 1]

    for shape, size, k in (("tree_level", 16, 1), ("tree_level", 64, 4), ("list_back", 16, 2),
                           ("list_back", 256, 1)):
        with rt.Runtime(gogc="off") as r:
            root = build(shape, size, k)
            rt.GC()                                 # the pool's other objects are freed
            st = {}
            out = _mark.mark(r.heap, stats=st)      # the root's handle is the only root
            _mark.clear_marks(r.heap)
            del root
        want = clockcal.mark_counts({"shape": shape, "size": size, "k": k, "objects": n})
        got = {"objects": out[1], "spans": st["spans"], "links": st["links"], "scan_bytes": out[2],
               "scan_large": st["scan_large"]}
        assert got == want, (shape, size, k, got, want)


def test_the_oracle_calibration_shapes_are_what_the_fit_assumes():
    """The oracle's calibration shapes (fit_oracle's time_forced_idle and time_sweep_spans;
    time_mark_objects and time_mark_bytes, which check fit_mark's costs in test_time) as
    goruntime counts their work: per object of time_mark_objects 8 bytes of scan work,
    time_mark_bytes' arrays' pointer words; the quiet runs compared with are recorded."""
    oracle = json.loads(clockcal.ORACLE_RECORD.read_text())
    for name in ("time_forced_idle", "time_mark_objects", "time_mark_bytes", "time_sweep_spans"):
        e = oracle["scenarios"][name]
        assert e["quiet_runs"] == 10 and len(e["seconds"]) == 20, name
    node = rt.Struct("CalNodeCheck", next=rt.Ptr("CalNodeCheck"), v=rt.Int)
    wide = rt.Array(rt.Ptr(rt.Int), 16384)
    for T, n, want in ((node, 1000, 1000 * clockcal.SHAPE_OBJECT_SCAN),
                       (wide, 16, clockcal.SHAPE_SCAN_BYTES)):
        with rt.Runtime(gogc="off") as r:
            keep = [rt.new(T) for _ in range(n)]
            rt.GC()
            s0 = r.gc_record.last_heap_scan
            del keep
            rt.GC()
            assert s0 - r.gc_record.last_heap_scan == want


def test_fit_reproduces_the_measured_allocations(record):
    """Each allocation path's line (a cost per call and per byte: what the heap's C
    counters can meter) against the measured sizes: within a factor of 2 at the small
    sizes most programs allocate (<= 64 B) and for large objects; between, Go's cost
    grows faster than a line and the model is low by up to 4x (docs/emulation.md)."""
    rows = clockcal._min_rows(record["runs"], "alloc", ("path", "size"))
    c = clock.COSTS
    for r in rows:
        ratio = (c[f"alloc_{r['path']}"] + c[f"alloc_{r['path']}_byte"] * r["size"]) / r["ns"]
        if r["size"] <= 64 or r["path"].startswith("large"):
            assert 0.5 <= ratio <= 2, r
        else:
            assert 0.25 <= ratio <= 2, r


def test_metered_mutator_time_follows_the_table():
    """The clock moves by the table's cost of what the program did, nothing else."""
    with rt.Runtime() as r:
        T = rt.Struct("CostNode", next=rt.Ptr(rt.Int), n=rt.Int)
        t0, m0 = r.clock.nanotime(), r.clock.mutator_ns()
        ps = [rt.new(T) for _ in range(100)]          # 100 small scan objects of 16 bytes
        for p in ps:
            p.next = None                              # 100 pointer stores
        big = rt.make(rt.Slice(rt.Byte), 1 << 20)     # one large noscan allocation
        c = clock.COSTS
        want = (100 * (c["alloc_small_scan"] + 16 * c["alloc_small_scan_byte"])
                + 100 * c["store_ptr"]
                + c["alloc_large_noscan"] + (1 << 20) * c["alloc_large_noscan_byte"])
        assert r.clock.nanotime() - t0 == pytest.approx(want, abs=2)
        assert r.clock.mutator_ns() - m0 == r.clock.nanotime() - t0
        del ps, big


def test_pauses_cost_their_work():
    """A pause grows with the goroutines and the heap; the mark with the scan work."""
    def cycle(ngoroutines, live_bytes):
        with rt.Runtime(gogc="off") as r:           # the forced cycle is the only one
            ch = rt.Chan(0)
            for _ in range(ngoroutines):
                r.go(ch.recv)
            rt.Gosched()
            keep = [rt.new(rt.Array(rt.Ptr(rt.Int), 128)) for _ in range(live_bytes // 1024)]
            heap = rt.ReadMemStats().HeapAlloc
            rt.GC()
            m = rt.ReadMemStats()
            mark = r.gc_record.cpu.GCTotalTime - m.PauseNs[0]
            for _ in range(ngoroutines):
                ch.send(None)
            del keep
            return m.PauseNs[0], mark, heap, r.gc_record.last_heap_scan
    p0, k0, h0, s0 = cycle(0, 0)
    p1, _, h1, _ = cycle(1000, 0)          # each goroutine's g is on the heap too (proc.py)
    p2, k2, h2, s2 = cycle(0, 8 << 20)
    c = clock.COSTS
    assert c["stw_sweep_term"] + c["stw_mark_term"] <= p0 < 3 * (c["stw_sweep_term"] + c["stw_mark_term"])
    assert h1 > h0
    assert p1 - p0 == pytest.approx(1000 * c["stw_goroutine"] + (h1 - h0) * c["stw_heap_byte"], rel=0.05, abs=2)
    assert p2 - p0 == pytest.approx((h2 - h0) * c["stw_heap_byte"], rel=0.05, abs=2)
    assert s2 - s0 >= 8 << 20
    # each of the 8192 handles is a pointer slot the mark scans (8 bytes, pointer by pointer),
    # each object one marked; the 1024-byte arrays are large objects (no Green Tea span,
    # nil pointers: no link)
    assert k2 - k0 == pytest.approx((s2 - s0 + 8192 * 8) * (c["mark_byte"] + c["mark_large_byte"])
                                    + 8192 * c["mark_object"], rel=0.001)
