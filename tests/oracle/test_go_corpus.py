"""The Go half of the corpus, checked on its own (needs Go, not goruntime).

- The Go program and ``scenarios.py`` list the same scenarios.
- Every scenario runs on Go 1.27.3 and prints one JSON object, and every
  tolerance a scenario declares names fields that Go actually reports.
- Where shared/spec/go-runtime-1.27.md records numbers (Appendices A–E, X1–X15,
  the tables of §1–§8, the runtime tests of §9), Go's output reproduces them,
  within the tolerance the scenario declares. This pins the corpus to the spec:
  if a scenario measured the wrong thing, it would fail here before goruntime
  is ever compared with it. The spec's appendix runs used GOMAXPROCS=2; the
  corpus runs GOMAXPROCS=1, so gctrace's "P" is 1 here, and numbers the spec
  shows with a few runtime-internal objects added (e.g. Appendix D's 1001) are
  written as the program's own counts.
"""
import fnmatch

import pytest

import harness
import scenarios
from harness import Abs, Unordered

pytestmark = pytest.mark.oracle

MAX_INT64 = (1 << 63) - 1
MAX_UINT64 = (1 << 64) - 1


def test_go_program_lists_every_python_scenario(go_oracle):
    go_names = go_oracle.names()
    assert len(go_names) == len(set(go_names)), "duplicate scenario names in main.go"
    assert set(go_names) == set(scenarios.REGISTRY), (
        f"only in main.go: {sorted(set(go_names) - set(scenarios.REGISTRY))}; "
        f"only in scenarios.py: {sorted(set(scenarios.REGISTRY) - set(go_names))}"
    )
    assert len(go_names) >= 40


@pytest.mark.parametrize("name", list(scenarios.REGISTRY))
def test_go_scenario_runs_and_tolerances_name_its_fields(name, go_oracle):
    result = go_oracle.run(name)
    harness.REPORT.add_go_result(name, result)
    assert isinstance(result, dict) and result, f"{name}: Go printed no fields"
    # the fields of the live run or of the recorded one (a field only some runs have, as
    # fid3_cleanup_args' timer-heap array at either sleep, is named by its tolerance)
    leaves = [*harness.flatten(result)[0], *harness.recorded_flat(name)]
    # an Info pattern may name a field that only some runs have (fid_weak_cache's gc2
    # BySize: what Go's extra cleanup goroutines allocate, absent in a run where they
    # allocate nothing, seen under load): a live run cannot show it unused
    unused = [p for p, tol in scenarios.REGISTRY[name].tolerances.items()
              if not isinstance(tol, harness.Info) and not fnmatch.filter(leaves, p)]
    assert not unused, f"{name}: tolerance patterns that match no field Go reports: {unused}"


# ---------------------------------------------------------------------------
# numbers recorded in the spec

CLASS_TO_SIZE = scenarios.CLASS_TO_SIZE


def _d_row(prefix, bysize, slot, inuse, numgc):
    """Appendix D: 1000 objects of `slot` bytes in BySize[bysize]; drop; GC; GC."""
    e = {f"{prefix}.alloc.Mallocs": 1000, f"{prefix}.alloc.Frees": 0, f"{prefix}.alloc.HeapObjects": 1000,
         f"{prefix}.alloc.HeapAlloc": 1000 * slot, f"{prefix}.alloc.TotalAlloc": 1000 * slot,
         f"{prefix}.alloc.HeapInuse": inuse, f"{prefix}.alloc.NumGC": numgc}
    for k, gc in (("gc1", 1), ("gc2", 2)):
        e.update({f"{prefix}.{k}.Mallocs": 1000, f"{prefix}.{k}.Frees": 1000, f"{prefix}.{k}.HeapObjects": 0,
                  f"{prefix}.{k}.HeapAlloc": 0, f"{prefix}.{k}.TotalAlloc": 1000 * slot,
                  f"{prefix}.{k}.HeapInuse": 0, f"{prefix}.{k}.NumGC": numgc + gc,
                  f"{prefix}.{k}.NumForcedGC": gc})
    if bysize is not None:
        e[f"{prefix}.BySize.Mallocs.{bysize}"] = 1000
        e[f"{prefix}.BySize.Frees.{bysize}"] = 1000
    return e


def _tiny(mallocs, frees, objects, alloc_bytes, blocks, first6=None):
    """§1.8's table and Appendix E for 1000 allocations."""
    e = {"memstats.Mallocs": mallocs, "memstats.Frees": frees, "memstats.HeapObjects": objects,
         "memstats.HeapAlloc": alloc_bytes, "memstats.TotalAlloc": alloc_bytes,
         "metrics./gc/heap/allocs:objects": mallocs - frees,  # tiny sub-allocations are the frees
         "metrics./gc/heap/frees:objects": 0, "metrics./gc/heap/tiny/allocs:objects": frees,
         "metrics./gc/heap/objects:objects": objects, "metrics./gc/heap/allocs:bytes": alloc_bytes,
         "distinct_16B_blocks": blocks}
    if first6 is not None:
        e["first6_addr_mod16"] = first6
    return e


def _boundary(slot, bysize, lower=None, inuse=None):
    e = {"slot": slot, "bysize": bysize, "after_gc.HeapAlloc": 0}
    if lower is not None:
        e["alloc_bucket_lower"] = lower
    if inuse is not None:
        e["HeapInuse"] = inuse
    return e


def _prefixed(prefix, d):
    return {f"{prefix}.{k}": v for k, v in d.items()}


def _binary_trees(max_depth=16):
    checks = {"stretch": 2 ** (max_depth + 2) - 1, "long_lived": 2 ** (max_depth + 1) - 1}
    nodes = checks["stretch"] + checks["long_lived"]
    for d in range(4, max_depth + 1, 2):
        checks[f"depth{d}"] = 2 ** (max_depth - d + 4) * (2 ** (d + 1) - 1)
        nodes += checks[f"depth{d}"]
    return {"Mallocs": nodes, "TotalAlloc": 16 * nodes, "NumForcedGC": 0, **_prefixed("checks", checks)}


def _gcbench():
    size = lambda i: (1 << (i + 1)) - 1  # noqa: E731 - GCBench's TreeSize
    trees = sum(2 * (2 * size(18) // size(d)) * size(d) for d in range(4, 17, 2))
    nodes = size(18) + size(16) + trees  # stretch, long-lived, top-down + bottom-up trees
    array = -(-500000 * 8 // 8192) * 8192  # one large object of 500 000 float64
    return {"Mallocs": nodes + 1, "TotalAlloc": 32 * nodes + array, "NumForcedGC": 0,
            "checks.tree_nodes": trees, "checks.long_lived_and_array_ok": True}


def _sweep_order(cleanup):
    """The order Go's rules give for sweep_order (issue 15 item 1), derived here from
    mgcsweep.go, mcache.go, mfinal.go and mcleanup.go alone. 300 objects round-robin
    (i % 10): tiny 0,5; 16 B 1,6; large 2,7; 48 B 3,8; 64 B noscan 4; 256 B 9. The last
    tiny block (290, 295) is the P's current tiny block, a root until cycle 2.

    Batches: the mcache flush sweeps the cached spans in span class order (16 B scan,
    tiny, 48 B, 64 B noscan, 256 B); then runtime.GC's sweepone (1 span, Gosched) and
    bgsweep (10 spans, yield) take turns over span class 0, whose first span is main.go's
    `events` buffer, then the 60 large spans in allocation order. Finalizers: each batch
    newest first. Cleanups: 20-entry blocks, pushed on a stack when full; the cleanup
    goroutine first runs after batch 2, then after every batch, taking the stack newest
    block first; the partly filled block last."""
    ids = lambda ks: [i for i in range(300) if i % 10 in ks and i not in (290, 295)]  # noqa: E731
    batches = [ids((1, 6)) + ids((0, 5)) + ids((3, 8)) + ids((4,)) + ids((9,))]
    spans = [[]] + [[i] for i in ids((2, 7))]        # the events buffer, then the large spans
    k = 0
    while k < len(spans):
        n = 1 if len(batches) % 2 else 10            # batch 1: sweepone; 2: bgsweep; ...
        batches.append([i for sp in spans[k:k + n] for i in sp])
        k += n
    if not cleanup:
        return [i for b in batches for i in reversed(b)]
    out, full, filling = [], [], []
    for n, b in enumerate(batches):
        for i in b:
            filling.append(i)
            if len(filling) == 20:
                full.append(filling)
                filling = []
        if n >= 2:
            while full:
                out.extend(full.pop())
    return out + filling


def _misuse(first_line, exit_code=2, recoverable=False):
    return {"exit": exit_code, "first_line": first_line, "recoverable": None if exit_code == 0 else recoverable}


_FIN = "fatal error: runtime.SetFinalizer: "
_CL = "panic: runtime.AddCleanup: "
_OK = _misuse("ok", exit_code=0)

# scenario -> (where the spec records it, expected fields, extra tolerances)
SPEC: dict[str, tuple[str, dict, dict]] = {
    "memstats_invariants": ("X13, TestMemStats", {
        **{f"{w}.{k}": True for w in ("start", "after_gc") for k in (
            "Sys_eq_sum_of_XSys", "HeapIdle_plus_HeapInuse", "HeapObjects_eq_M_minus_F", "Alloc_eq_HeapAlloc",
            "HeapReleased_le_HeapIdle", "LastGC_eq_PauseEnd_last", "PauseTotalNs_eq_sum", "EnableGC")},
        **{f"{w}.{k}": v for w in ("start", "after_gc") for k, v in (
            ("Lookups", 0), ("DebugGC", False), ("NextGC", 4194304), ("len_BySize", 61))},
        "start.NumGC": 0, "start.LastGC_is_zero": True, "start.GCCPUFraction_is_zero": True,
        "after_gc.NumGC": 1, "after_gc.NumForcedGC": 1, "after_gc.LastGC_is_zero": False,
        "after_gc.GCCPUFraction_is_zero": False,
    }, {}),
    "bysize_table": ("§1.3, §2.5", {"len": 61, "Size": CLASS_TO_SIZE[:61]}, {}),
    "second_gc_no_change": ("§2.4", {"Mallocs": 0, "Frees": 0, "HeapObjects": 0, "HeapAlloc": 0, "TotalAlloc": 0,
                                     "HeapInuse": 0, "NumGC": 1, "NumForcedGC": 1}, {}),
    "objects_per_span": ("X4, §1.5", {
        "scan8.max_per_span": 1008, "scan8.max_offset": 8056, "noscan16.max_per_span": 504,
        "noscan16.max_offset": 8048, "scan16.max_per_span": 496, "scan16.max_offset": 7920,
        "noscan24.max_per_span": 336, "noscan24.max_offset": 8040, "scan24.max_per_span": 330,
        "scan24.max_offset": 7896, "noscan512.max_per_span": 15, "noscan512.max_offset": 7168,
        "scan512.max_per_span": 15, "scan512.max_offset": 7168, "noscan520.max_per_span": 14,
        "noscan520.max_offset": 7488, "scan520.max_per_span": 14, "scan520.max_offset": 7496,
        "noscan1024.max_per_span": 8, "noscan1024.max_offset": 7168}, {}),
    "size_classes_noscan": ("§1.3, §1.4 (request -> class)", {
        **{f"{c}.slot": c for c in CLASS_TO_SIZE[2:]},
        **{f"{c}.bysize": (i + 2 if i + 2 <= 60 else -1) for i, c in enumerate(CLASS_TO_SIZE[2:])},
        **{f"{c + 1}.slot": CLASS_TO_SIZE[i + 3] for i, c in enumerate(CLASS_TO_SIZE[2:-1])},
        "32769.slot": 40960, "32769.bysize": -1}, {}),
    "size_classes_scan": ("§1.4, §1.6 (header above 512 B)", {
        "8.slot": 8, "8.bysize": 1, "512.slot": 512, "512.bysize": 26, "520.slot": 576, "520.bysize": 27,
        "1016.slot": 1024, "1016.bysize": 32, "1024.slot": 1152, "1024.bysize": 33,
        "18424.slot": 18432, "18424.bysize": 60, "18432.slot": 19072, "18432.bysize": -1,
        "32760.slot": 32768, "32760.bysize": -1, "32768.slot": 32768, "32768.bysize": -1}, {}),
    "header_boundary": ("§1.4 table, §1.6, X10", {
        **_prefixed("noscan512", _boundary(512, 26)), **_prefixed("noscan513", _boundary(576, 27)),
        **_prefixed("noscan1024", _boundary(1024, 32)), **_prefixed("noscan18432", _boundary(18432, 60)),
        **_prefixed("scan512", _boundary(512, 26)), **_prefixed("scan520", _boundary(576, 27)),
        **_prefixed("scan1024", _boundary(1152, 33)), **_prefixed("scan18432", _boundary(19072, -1))}, {}),
    "large_boundary": ("§1.4 table, §1.7, X10", {
        **_prefixed("noscan32760", _boundary(32768, -1, 28673, 64 * 32768)),
        **_prefixed("noscan32761", _boundary(32768, -1, 32769, 64 * 32768)),
        **_prefixed("noscan32768", _boundary(32768, -1, 32769, 64 * 32768)),
        **_prefixed("noscan40000", _boundary(40960, -1, 32769, 64 * 40960)),
        **_prefixed("scan32752", _boundary(32768, -1, 28673)),
        **_prefixed("scan32760", _boundary(32768, -1, 28673)),
        **_prefixed("scan32768", _boundary(32768, -1, 32769, 64 * 32768)),
        **_prefixed("scan40000", _boundary(40960, -1, 32769, 64 * 40960))}, {}),
    "memstats_deltas_noscan": ("Appendix D", {
        **{k: v for k, v in _d_row("8", 2, 16, 0, 0).items() if ".alloc." not in k},
        "8.alloc.Mallocs": 1000, "8.alloc.Frees": 500, "8.alloc.HeapObjects": 500, "8.alloc.HeapAlloc": 8000,
        "8.alloc.TotalAlloc": 8000, "8.BySize.Mallocs.2": 500, "8.BySize.Frees.2": 500,
        "8.gc1.Mallocs": 1000, "8.gc1.TotalAlloc": 8000, "8.gc2.Mallocs": 1000, "8.gc2.TotalAlloc": 8000,
        **_d_row("24", 3, 24, 16384, 0), **_d_row("48", 5, 48, 40960, 0), **_d_row("100", 9, 112, 106496, 0),
        **_d_row("1024", 32, 1024, 1024000, 0), **_d_row("40000", None, 40960, 40960000, 3)}, {}),
    "memstats_deltas_scan": ("Appendix D", {
        **_d_row("8", 1, 8, 0, 0), **_d_row("24", 3, 24, 16384, 0), **_d_row("48", 5, 48, 49152, 0),
        **_d_row("104", 9, 112, 114688, 0), **_d_row("1024", 33, 1152, 1163264, 0),
        **_d_row("40000", None, 40960, 40960000, 1)}, {}),
    "tiny_int64": ("Appendix E, §1.8", {**_tiny(1000, 500, 500, 8000, 500, [0, 8, 0, 8, 0, 8]),
                                        "BySize2.Mallocs": 500}, {}),
    "tiny_byte": ("Appendix E, §1.8 (the recorded run had 6 runtime objects more)",
                  {**_tiny(1000, 937, 63, 1008, 63, [0, 1, 2, 3, 4, 5]), "BySize2.Mallocs": 63}, {}),
    "tiny_int32": ("Appendix E, §1.8", {**_tiny(1000, 750, 250, 4000, 250, [0, 4, 8, 12, 0, 4]),
                                        "BySize2.Mallocs": 250}, {}),
    "tiny_12byte": ("Appendix E, §1.8", {**_tiny(1000, 0, 1000, 16000, 1000, [0] * 6),
                                         "BySize2.Mallocs": 1000}, {}),
    "tiny_16byte": ("Appendix E, §1.8", {**_tiny(1000, 0, 1000, 16000, 1000, [0] * 6),
                                         "BySize2.Mallocs": 1000}, {}),
    "tiny_ptr": ("Appendix E, §1.8", {**_tiny(1000, 0, 1000, 8000, 501), "BySize2.Mallocs": 0}, {}),
    "zero_size": ("§1.9, X10", {"struct0.Mallocs": 0, "struct0.HeapAlloc": 0, "struct0.distinct": 1,
                                "array0.Mallocs": 0, "array0.distinct": 1, "slice0.Mallocs": 0}, {}),
    "special_allocs": ("X14, §6.1", {
        "SetFinalizer.Mallocs": 0, "SetFinalizer.HeapAlloc": 0, "SetFinalizer.BySize2.Mallocs": 0,
        "AddCleanup_int.Mallocs": 2000, "AddCleanup_int.HeapAlloc": 32000, "AddCleanup_int.BySize2.Mallocs": 2000,
        "AddCleanup_string.Mallocs": 2000, "AddCleanup_string.HeapAlloc": 32000,
        "AddCleanup_string.BySize2.Mallocs": 2000, "weak.Make.Mallocs": 1000, "weak.Make.HeapAlloc": 16000,
        "weak.Make.BySize2.Mallocs": 1000, "weak.Make_twice.Mallocs": 1000,
        "weak.Make_twice.BySize2.Mallocs": 1000}, {}),
    "fin_chain": ("Appendix A, §5.3", {"cycle1": ["A (a.b intact)"], "cycle2": ["B"], "cycle3": []}, {}),
    "fin_sweep_order": ("issue 15 item 1, Go 1.27.3 mgcsweep.go/mfinal.go: mcache flush, then sweepone "
                        "and bgsweep in turns; fing runs each batch newest first",
                        {"cycle1": _sweep_order(False), "cycle2": [295, 290]}, {}),
    "cleanup_sweep_order": ("issue 15 item 1, Go 1.27.3 mgcsweep.go/mcleanup.go: 20-entry blocks on a "
                            "stack, the cleanup goroutine behind both sweepers at first",
                            {"cycle1": _sweep_order(True), "cycle2": [290, 295]}, {}),
    "lazy_sweep_frees": ("issue 15 item 1, Go 1.27.3 mgcsweep.go: a background cycle's spans are swept "
                         "lazily (cacheSpan, deductSweepCredit, in sweep class order); runtime.GC() "
                         "sweeps all", {"cycles": 1, "after_cycle.frees256": 0, "after_gc.frees256": 1000,
                                        "after_cycle.dead_still_counted256": 1000}, {}),
    "fin_order": ("X8, §5.2", {"cycle1": [str(i) for i in range(9, -1, -1)], "cycle2": []}, {}),
    "fin_weak_cleanup_timing": ("X8", {
        "gc1.weak_nil_before_drain": True, "gc1.events": ["finalizer (weak nil)"],
        "gc2.events": ["cleanup (weak nil)"], "gc3.events": []}, {}),
    "fin_resurrect": ("Appendix B, §5.3", {
        **_prefixed("gc1", {"events": ["finalizer"], "saved": True, "fin_count": 1, "w_before_is_nil": True}),
        "w_after_eq_w_before": False,
        **_prefixed("gc2", {"events": ["cleanup"], "saved": False, "fin_count": 1, "w_before_is_nil": True}),
        "gc2.w_after_is_nil": True,
        **_prefixed("gc3", {"events": ["finalizer"], "saved": True, "fin_count": 1}),
        **_prefixed("gc4", {"events": ["finalizer"], "saved": True, "fin_count": 2}),
        **_prefixed("gc5", {"events": ["finalizer"], "saved": True, "fin_count": 3}),
        **_prefixed("gc6", {"events": ["cleanup"], "saved": False, "fin_count": 3})}, {}),
    "fin_cycles": ("Appendix C, §5.3", {
        "cycle1": Unordered(["finalizer S", "cleanup E", "cleanup F"]), "cycle2": [], "cycle5": [],
        "weak_nil.two_cycle_both_fin": False, "weak_nil.self_cycle_fin": True,
        "weak_nil.two_cycle_one_fin": False, "weak_nil.two_cycle_cleanups": True}, {}),
    "fin_tiny": ("X6, §1.8", {"same_block": True, "cycle1": [], "cycle2": [], "cycle3": [],
                              "cycle4": ["finalizer(b)"], "cycle5": []}, {}),
    "fin_interior_pointer": ("§5.1 step 6, §5.2", {"cycle1": ["finalizer(&t.v)"], "arg_offsets": [8]}, {}),
    "fin_clear_nil": ("§5.1 step 7, X5 fin-reset-after-nil", {"cycle1": ["t2 (re-set)"], "cycle2": [],
                                                               "gc1.t1_weak_nil": True}, {}),
    "fin_metrics": ("TestReadMetricsFinalizers, §5.3", {
        "gc1.queued": 10, "gc1.executed": 10, "gc2.queued": 10, "gc2.executed": 10, "gc1.Frees": 0,
        "gc2.Frees": 10}, {}),
    "fin_closure_leak": ("§5.3", {"cycle1": [], "cycle3": [], "weak_nil": False}, {}),
    "cleanup_order": ("X8 (clorder)", {"cycle1": [str(i) for i in range(10)], "cycle2": []}, {}),
    "cleanup_after_finalizer": ("TestCleanupAfterFinalizer", {"cycle1": ["finalizer"], "cycle2": ["cleanup"],
                                                              "cycle3": []}, {}),
    "cleanup_stop": ("TestCleanupStopinterleavedMultiple, TestCleanupStopAfterCleanupRuns", {
        "cycle1": Unordered(["0", "2", "4"]), "cycle2": [], "stop_after_run": "ok"}, {}),
    "cleanup_multiple": ("TestCleanup, TestCleanupMultiple", {"cycle1": Unordered(["97531", "2", "3"])}, {}),
    "cleanup_interior": ("TestCleanupInteriorPointer", {"cycle1": Unordered(["0", "1", "2"])}, {}),
    "cleanup_metrics": ("TestReadMetricsCleanups", {"gc1.queued": 10, "gc1.executed": 10}, {}),
    "weak_equality": ("TestPointerEquality, §6.4", {
        "same_object_equal": True, "same_field_equal": True, "field_vs_object_equal": False,
        "b_vs_c_equal": False, "other_object_equal": False, "value_is_object": True, "value_is_field": True,
        "nil_eq_zero": True, "nil_value_is_nil": True, "after_gc.object_nil": True, "after_gc.field_nil": True,
        "after_gc.other_nil": True}, {}),
    "weak_finalizer": ("TestPointerFinalizer, §6.4", {
        "before_gc.nil": False, "gc1.nil_before_drain": True, "gc1.events": ["finalizer (weak nil)"],
        "gc1.nil_after_drain": True, "gc2.nil_after_drain": True}, {}),
    "weak_cleanup": ("TestPointerCleanup", {"gc1.events": ["cleanup (weak nil)"]}, {}),
    "weak_tiny": ("TestPointerTiny", {"value_is_pointer": 1000, "nil_after_gc1": 1000},
                  {"nil_after_gc1": Abs(250, "TestPointerTiny tolerates up to 25 % non-nil")}),
    "weak_zero_size": ("TestImmortalPointer, §1.9", {"nil_after_2_gcs": False}, {}),
    "gogc_goal_small": ("X3, §4.2", {
        **{f"gogc{g}.formula_match": True for g in (100, 200, 50, 10, 0)},
        **{f"gogc{g}.goal_metric_eq": True for g in (100, 200, 50, 10, 0)},
        "gogc100.NextGC": 4194304, "gogc200.NextGC": 8388608, "gogc50.NextGC": 2097152,
        "gogc100.regime": "heap_minimum", "gogc200.regime": "heap_minimum", "gogc50.regime": "heap_minimum",
        "gogc10.regime": "sweep_floor", "gogc0.regime": "sweep_floor"}, {}),
    "gogc_goal_20mib": ("X3, §4.2", {
        **{f"gogc{g}.formula_match": True for g in (100, 200, 50, 10, 0)},
        **{f"gogc{g}.regime": "formula" for g in (100, 200, 50, 10)}, "gogc0.regime": "sweep_floor"}, {}),
    "gogc_off_goal": ("§4.3, X3", {"prev_percent": 100, "ratio_to_MaxInt64": "0.970000", "formula_match": True,
                                   "gogc_metric": MAX_UINT64, "goal_metric_eq": True}, {}),
    "memlimit_goal_40mib": ("X3 last row, §4.4", {"prev_limit": MAX_INT64, "formula_match": True, "limited": True,
                                                  "gomemlimit_metric": 40 << 20}, {}),
    "gogc_env_off": ("§4.3, TestUserForcedGC", {
        "gogc_metric": MAX_UINT64, "start.ratio_NextGC_to_MaxInt64": "0.970000", "after_garbage.NumGC": 0,
        "after_gc.NumGC": 1, "after_gc.NumForcedGC": 1}, {}),
    "gogc_env_200": ("§4.2 heapMinimum", {"gogc_metric": 200, "start.NextGC": 8388608, "after_gc.NextGC": 8388608,
                                          "SetGCPercent(100)_prev": 200}, {}),
    "gogc_env_invalid": ("X15 (GOGC=abc)", {"gogc_metric": 100, "start.NextGC": 4194304,
                                            "gomemlimit_metric": MAX_INT64}, {}),
    "gomemlimit_env_1gib": ("X15 (GOMEMLIMIT=1GiB)", {"gomemlimit_metric": 1 << 30, "SetMemoryLimit(-1)": 1 << 30,
                                                      "start.NextGC": 4194304}, {}),
    "setgcpercent_api": ("X15", {
        "initial.gogc": 100, "initial.gomemlimit": MAX_INT64, "initial.goal": 4194304, "SetGCPercent(-1)": 100,
        "off.gogc": MAX_UINT64, "off.goal_ratio": "0.970000", "SetGCPercent(-7)": -1, "SetGCPercent(100)": -1,
        "SetMemoryLimit(-1)": MAX_INT64}, {}),
    "setgcpercent_zero_after_gc": ("§4.2", {"NextGC_minus_heapMarked": 0, "gc_after_large_alloc": True}, {}),
    "free_os_memory": ("X9, §4.8", {
        "retain.HeapInuse": 64 << 20, "retain.NumGC": 4, "drop_gc.HeapInuse": 0, "drop_gc.NumForcedGC": 1,
        "free.NumGC": 1, "free.NumForcedGC": 1, "free.HeapIdle_minus_HeapReleased": 0, "free.HeapSys": 0,
        "free.HeapIdle": 0, "free.HeapInuse": 0, "free.released_grew": True}, {}),
    "gcstats_ring": ("X12, §2.6", {
        **_prefixed("gc3", {"NumGC": 3, "NumForcedGC": 3, "last_index": 2, "Pause0_eq_PauseNs_last": True,
                            "LastGC_eq_PauseEnd_last": True, "GCStats.LastGC_eq_LastGC": True, "len_Pause": 3,
                            "len_PauseEnd": 3, "GCStats.NumGC": 3, "PauseTotal_eq_PauseTotalNs": True,
                            "sum_PauseNs_eq_PauseTotalNs": True, "nonzero_PauseNs": 3,
                            "len_PauseQuantiles": 5, "quantiles_match_rank_formula": True}),
        **_prefixed("gc300", {"NumGC": 300, "NumForcedGC": 300, "last_index": 43, "Pause0_eq_PauseNs_last": True,
                              "LastGC_eq_PauseEnd_last": True, "GCStats.LastGC_eq_LastGC": True,
                              "len_Pause": 256, "len_PauseEnd": 256, "GCStats.NumGC": 300,
                              "PauseTotal_eq_PauseTotalNs": True, "sum_PauseNs_eq_PauseTotalNs": False,
                              "nonzero_PauseNs": 256})}, {}),
    "metrics_pauses_lag": ("X11 (100 allocations; the recorded +107 had 7 runtime objects at GOMAXPROCS=2)", {
        "cycles": 10, "gc_pauses_samples": 20, "sched_pauses_gc_samples": 20, "buckets": 162,
        "allocs_objects_no_flush": 0, "allocs_objects_after_flush": 100}, {}),
    "metrics_consistency": ("TestReadMetrics, §8", {
        **{k: True for k in (
            "allocs_bytes_eq_TotalAlloc", "allocs_objects_plus_tiny_eq_Mallocs",
            "frees_bytes_eq_TotalAlloc_minus_HeapAlloc", "frees_objects_plus_tiny_eq_Frees",
            "objects_eq_HeapObjects", "goal_eq_NextGC", "cycles_total_eq_NumGC", "cycles_forced_eq_NumForcedGC",
            "cycles_automatic_eq_difference", "heap_objects_bytes_eq_HeapAlloc",
            "heap_unused_eq_HeapInuse_minus_HeapAlloc", "heap_free_eq_HeapIdle_minus_HeapReleased",
            "heap_released_eq_HeapReleased", "total_eq_Sys", "by_size_buckets_eq_BySize")},
        "alloc_buckets": 68, "gomaxprocs": 1, "stack_starting_size": 2048, "gogc": 100,
        "gomemlimit": MAX_INT64}, {}),
    "gctrace_default": ("X1, §7 (1 P: the corpus runs GOMAXPROCS=1)", {
        "first.N": 1, "first.H0": 3, "first.H2": 0, "first.goal": 4, "first.forced": False, "last.forced": True,
        "forced_lines": 1, "periodic": 0, "P": [1], "NumForcedGC": 1}, {}),
    "gctrace_gogc50": ("X1 GOGC=50", {"first.N": 1, "first.H0": 1, "first.H2": 0, "first.goal": 2,
                                      "last.forced": True, "forced_lines": 1, "NumForcedGC": 1}, {}),
    "gctrace_gogc_off": ("X1 GOGC=off, §4.3", {"count": 1, "first.goal": 8532210231536, "first.forced": True,
                                               "NumGC": 1}, {}),
    "gctrace_forced_idle": ("X2 first line", {
        "count": 3, "forced_lines": 3, "first.H0": 0, "first.H1": 0, "first.H2": 0, "first.goal": 4,
        "last.N": 3, "last.H2": 0, "last.goal": 4}, {}),
    "scan_heap_work": ("Go 1.27.3 mgcmark.go scanObject / mgcmark_greenteagc.go scanObjectSmall: up to the "
                       "last pointer word, element type repeated to the slot's end, per 128 KiB oblet", {
        "p24": 100 * 8, "ptrs3": 100 * 24, "h600first": 100 * 616, "h600last": 100 * 608,
        "l40008first": 10 * 40016, "l40008last": 10 * 40008, "ptrs20000": 4 * 20 * 8192, "noscan": 0}, {}),
    "goroutine_stacks": ("issue 15 item 2, Go 1.27.3 stack.go: 2 KiB stacks, 16 to a 32 KiB pool span; "
                         "scanned bytes per blocked goroutine; roundup2(avg scan + 928)", {
        "g1.StackInuse": 0, "g1.scan_stack": 384, "g1.starting_size": 2048,
        "g100.StackInuse": 6 * 32768, "g100.scan_stack": 100 * 384, "g100.starting_size": 2048,
        "g10000.StackInuse": 621 * 32768, "g10000.scan_stack": 10000 * 384, "g10000.starting_size": 2048,
        "g100deep.scan_stack": 100 * (384 + 10 * 104), "g100deep.starting_size": 4096,
        "g100deep.after.starting_size": 2048}, {}),
    "nonheap_memory": ("issue 15 item 5, Go 1.27.3: sysAlloc'd metadata is never unmapped; buckHashSize*8", {
        "Sys_never_shrinks": True, "GCSys_never_shrinks": True, "BuckHashSys_same": True,
        "start.BuckHashSys": 179999 * 8 + 160 + 2371}, {}),
    "nonheap_memory_profile_off": ("issue 15 item 5, GODEBUG=memprofilerate=0: no bucket hash table", {
        "Sys_never_shrinks": True, "GCSys_never_shrinks": True, "BuckHashSys_same": True,
        "start.BuckHashSys": 2371}, {}),
    "process_state_metrics": ("issue 15 item 9, measured on Go 1.27.3: forcegc, bgsweep, bgscavenge, fing, one "
                              "cleanup goroutine and main at start, one mark worker per P after a GC", {
        "goroutines_start": 6, "goroutines_idle": 7, "goroutines_100": 107, "cgo_calls": 0, "godebug_metrics": 42,
        "godebug_events": 0, "kinds": [1, 1, 1, 2, 3]}, {}),
    "binary_trees_16": ("binary-trees closed form (depth 16)", _binary_trees(), {}),
    "gcbench": ("GCBench closed form", _gcbench(), {}),
    "misuse_fin_nil_obj": ("X5", _misuse(_FIN + "first argument is nil"), {}),
    "misuse_fin_non_pointer": ("X5", _misuse(_FIN + "first argument is int, not pointer"), {}),
    "misuse_fin_interior": ("X5", _misuse(_FIN + "pointer not at beginning of allocated block"), {}),
    "misuse_fin_interior_small_noscan": ("X5", _OK, {}),
    "misuse_fin_tiny_interior": ("X5", _OK, {}),
    "misuse_fin_zero_size_bad_func": ("X5", _OK, {}),
    "misuse_fin_not_func": ("X5", _misuse(_FIN + "second argument is int, not a function"), {}),
    "misuse_fin_wrong_type": ("X5", _misuse(_FIN + "cannot pass *main.mT to finalizer func(*main.mU)"), {}),
    "misuse_fin_two_args": ("X5", _misuse(_FIN + "cannot pass *main.mT to finalizer func(*main.mT, int)"), {}),
    "misuse_fin_variadic": ("X5", _misuse(
        _FIN + "cannot pass *main.mT to finalizer func(...*main.mT) because dotdotdot"), {}),
    "misuse_fin_already_set": ("X5", _misuse(_FIN + "finalizer already set"), {}),
    "misuse_fin_reset_after_nil": ("X5", _OK, {}),
    "misuse_cleanup_nil": ("X5, §6.1", _misuse(_CL + "ptr is nil", recoverable=True), {}),
    "misuse_cleanup_equal": ("X5, §6.1", _misuse(_CL + "ptr is equal to arg, cleanup will never run",
                                                 recoverable=True), {}),
    "misuse_cleanup_within": ("X5, §6.1", _misuse(_CL + "ptr is within arg, cleanup will never run",
                                                  recoverable=True), {}),
    "misuse_cleanup_closure": ("X5, §6.1", _misuse(
        _CL + "cleanup function closes over ptr, cleanup will never run", recoverable=True), {}),
    "misuse_cleanup_zero_size": ("X5", _OK, {}),
    "misuse_gomemlimit_malformed": ("X15, §4.4", _misuse(
        "fatal error: malformed GOMEMLIMIT; see `go doc runtime/debug.SetMemoryLimit`"), {}),
    "misuse_chan_send_closed": ("Go spec: send on a closed channel panics",
                                _misuse("panic: send on closed channel", recoverable=True), {}),
    "misuse_chan_close_closed": ("Go spec: closing a closed channel panics",
                                 _misuse("panic: close of closed channel", recoverable=True), {}),
    "misuse_deadlock": ("Go runtime; goruntime/errors.py names it",
                        _misuse("fatal error: all goroutines are asleep - deadlock!"), {}),
    # The allocating language (issue 17): numbers that follow from Go's source.
    "lang_append_growth": ("runtime/slice.go growslice, nextslicecap; msize.go roundupsize", {
        "int.caps": [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 848, 1280, 1792, 2560, 3408, 5120],
        "byte.caps": [8, 16, 32, 64, 128, 256, 512, 896, 1408, 2048, 3072, 4096, 5376],
        "arr24.caps": [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 853, 1365, 2048],
        "int.alloc.Mallocs": 16, "byte.alloc.Mallocs": 13, "arr24.alloc.Mallocs": 13}, {}),
    "lang_slice_liveness": ("Go GC marks objects: a sub-slice or &p.f[i] keeps the whole object", {
        "kept.HeapAlloc": 1 << 20, "kept.Mallocs": 1, "append_in_cap.Mallocs": 0, "len": 13,
        "cap": (1 << 20) - 10, "freed.HeapAlloc": -(1 << 20), "elem_value": 9, "elem_freed.Frees": 1,
        "copy.n": 5, "copy.m": 6, "copy.Mallocs": 0, "copy.src": [0, 0, 0, 2, 3, 4, 5, 6]}, {}),
    "lang_strings": ("runtime/string.go concatstrings, slicebytetostring, rawbyteslice", {
        "caps": [0, 8, 16, 112], "concat_one_nonempty.d.Mallocs": 0, "concat_none.d.Mallocs": 0,
        "string_0.d.Mallocs": 0, "string_1.d.Mallocs": 0, "concat_16.d.TotalAlloc": 16,
        "concat_3.d.TotalAlloc": 128, "string_100.d.TotalAlloc": 112, "static_one_byte": True,
        "big.d.HeapAlloc": 1 << 20, "substring_kept.Frees": 0, "substring_kept.HeapAlloc": 0,
        "substring_freed.Frees": 1, "substring_freed.HeapAlloc": -(1 << 20)}, {}),
    "lang_iface_boxing": ("runtime/iface.go convT16/32/64, convTstring, convTslice; walk/convert.go", {
        **{f"{k}.alloc.Mallocs": 0 for k in ("int_small", "float_zero", "bool", "string_empty", "int8",
                                              "uint16_small", "slice_nil", "pointer")},
        "int_big.alloc.Mallocs": 100, "int_big.alloc.TotalAlloc": 800, "float.alloc.Mallocs": 100,
        "string.alloc.TotalAlloc": 1600, "slice.alloc.TotalAlloc": 2400,
        "uint16_big.alloc.Mallocs": 100, "struct8.alloc.Mallocs": 100}, {}),
    "lang_map_sizes": ("internal/runtime/maps NewMap, growToSmall, growToTable", {
        "ii_0.make.Mallocs": 1, "ii_0.make.TotalAlloc": 48, "ii_8.fill.Mallocs": 1, "ii_8.fill.TotalAlloc": 144,
        "ii_9.fill.Mallocs": 4, "ii_9.fill.TotalAlloc": 472, "hint_8.make.Mallocs": 1, "hint_9.make.Mallocs": 4,
        "hint_1000.make.Mallocs": 6, "hint_5000.make.Mallocs": 18, "ii_1000.fill.Mallocs": 21,
        "ii_1000_hint1000.fill.Mallocs": 0, "indirect_100.fill.Mallocs": 111}, {}),
    "lang_map_growth": ("internal/runtime/maps table.rehash, grow, split (7/8 load, 1024 slots)", {
        "steps": [[1, 1, 144], [9, 3, 328], [15, 2, 608], [29, 2, 1184], [57, 2, 2336], [113, 2, 4896],
                  [225, 2, 9504], [449, 2, 18464], [897, 5, 36944]],
        "refill.Mallocs": 0, "len_after_clear": 0, "after_delete.HeapObjects": 6}, {}),
    "lang_map_liveness": ("a map's groups hold its values' pointers; delete/clear drop them", {
        "filled.Mallocs": 111, "filled.HeapObjects": 104, "deleted.Frees": 50, "cleared.Frees": 50,
        "dropped.Frees": 4, "len": 0}, {}),
    "lang_chan_make": ("runtime/chan.go makechan: hchanSize 112; buffer in the same object unless pointerful", {
        "unbuffered.make.TotalAlloc": 112, "int10.make.Mallocs": 1, "int10.make.TotalAlloc": 192,
        "ptr10.make.Mallocs": 2, "ptr10.make.TotalAlloc": 192, "empty5.make.TotalAlloc": 112,
        "b24x1.make.TotalAlloc": 144, "b64x100.make.TotalAlloc": 6528, "big_ptr.make.Mallocs": 2,
        "big_ptr.make.TotalAlloc": 112 + 40960, "received_frees": 1}, {}),
    "lang_closures": ("cmd/compile typecheck.ClosureType: new(struct{F uintptr; X0...}) when it escapes", {
        "literal_no_capture.alloc.Mallocs": 0, "top_level.alloc.Mallocs": 0, "var_func.alloc.Mallocs": 0,
        "int.alloc.TotalAlloc": 1600, "int32.alloc.TotalAlloc": 1600, "string.BySize.3": 100,
        "three.BySize.4": 100, "ptr.alloc.Mallocs": 200, "big_array.BySize.15": 100,
        "by_ref.alloc.Mallocs": 200, "method_value.alloc.Mallocs": 200, "kept_finalized": 0,
        "kept_call": 42, "dropped_finalized": 1, "string.sum": 100}, {}),
    "lang_chan_values": ("runtime/chan.go chansend/chanrecv: typedmemmove into chanbuf, typedmemclr after a receive", {
        "ptr_buffered_fin": 0, "ptr_received_fin": 1, "ptr_closed_fin": 1, "ptr_dropped_fin": 3,
        "ptr_send.Mallocs": 5, "ptr_send.TotalAlloc": 112 + 32 + 3 * 64, "ptr_dropped.Frees": 4,
        "struct_fill.Mallocs": 10, "struct_len": 4, "struct_kept_fin": 0, "struct_received_fin": 4,
        "struct_dropped_fin": 8, "struct_dropped.Frees": 10, "int_roundtrips.Mallocs": 0,
        "str_send.Mallocs": 16, "str_kept.Frees": 0, "str_received.Frees": 8, "str_dropped.Frees": 10}, {}),
    "lang_allocs_per_run": ("Go's own AllocsPerRun checks (malloc_test, string_test, map_test, iface_test, "
                            "slice_test), escaping: order.go OBYTES2STRTMP for m[string(b)] and literal concats", {
        "concat_foo_bytes10": 1, "concat_prefix_bytes10_suffix": 1, "concat_foo_bytes40": 1,
        "map_lookup_string_bytes": 0, "map_lookup2_string_bytes": 0, "map_delete_string_bytes": 0,
        "map_insert_string_bytes": 1, "map_make_insert": 2, "map_make9": 4,
        **{f"conv_{k}": 0 for k in ("E8", "E16_zero", "E32_zero", "E64_zero", "Estr_zero", "Eslice_zero",
                                     "E16_one", "E32_one", "E64_one")},
        **{f"conv_{k}": 1 for k in ("E16_thousand", "E32_thousand", "E64_thousand", "Estr_nonzero",
                                     "Eslice_nonzero", "Ebig_nonzero")},
        "append_bytes_1_cap": 8, "append_bytes_9": 2, "append_bytes_65": 5, "append_bytes_65_cap": 128,
        "append_ptrs_3_cap": 4, "append_ptrs_9": 5}, {}),
    "lang_map_composite": ("internal/runtime/maps: slot struct{key K; elem V} for struct and array keys; "
                           "keys over 128 bytes indirect", {
        "A_8.fill.TotalAlloc": 352, "A_9.fill.Mallocs": 4, "arr_8.fill.TotalAlloc": 352,
        "big_8.fill.Mallocs": 9, "big_8.BySize.13": 8, "A_hint100.fill.Mallocs": 0,
        "ptr_kept_fin": 0, "ptr_deleted": 5, "ptr_deleted_fin": 5, "ptr_dropped_fin": 10}, {}),
    "lang_map_100000": ("internal/runtime/maps: tables split at maxTableCapacity=1024", {
        "ii.fill.Mallocs": 531, "ii.fill.TotalAlloc": 4729480, "hint.make.Mallocs": 258,
        "hint.fill.Mallocs": 0}, {}),
    # Time (issue 15, items 10 and 8): the counts the times are taken over.
    "time_forced_idle": ("§3.1: runtime.GC runs one whole cycle", {"cycles": 3}, {}),
    "time_goroutines": ("§3.1: runtime.GC runs one whole cycle", {"cycles": 2}, {}),
    "time_retain": ("Appendix X1 scaled: gctrace_default's program, 7 cycles in the spec's runs",
                    {"cycles": 7}, {}),
    "fin_runs_before_gc_returns": ("mgc.go GC: `for sweepone() != ^uintptr(0) { Gosched() }` after "
                                   "mark termination; proc.go findRunnable wakes the finalizer "
                                   "goroutine", {"calls_after_gc": 1, "order_after_gc": [2, 1, 0],
                                                 "other_ran_in_gc": True}, {}),
    "fin_set_during_mark": ("mgcmark.go markroot / markrootSpans: the specials are read by the "
                            "root job; mheap.go addfinalizer scans the object during a mark",
                            {"y_value": 42}, {}),
    "time_mark_objects": ("§3.1: runtime.GC runs one whole cycle", {"cycles": 3}, {}),
    "time_mark_bytes": ("§3.1: runtime.GC runs one whole cycle", {"cycles": 3}, {}),
    "time_sweep_spans": ("mgc.go GC: the caller sweeps every span (sweepone) before it returns; "
                         "6.4 MB of garbage per call starts two heap-triggered cycles beside the "
                         "forced one", {"cycles": 9}, {}),
    "limiter_below_live": ("mgclimit.go: the bucket holds 1 CPU-second per P, which a program of "
                           "~0.2 s cannot fill (a loaded machine stretches it)",
                           {"limiter_last_enabled": 0}, {}),
    "gc_lets_runnable_run": ("mgc.go GC: gcWaitOnMark parks the caller while the mark runs; "
                             "proc.go findRunnable runs the woken goroutine, whose frame is gone "
                             "before markroot scans stacks", {"weak_nil_after_gc": True, "gcs": 1,
                                                             "goroutines": 1}, {}),
    "read_mem_stats_mid_cycle": ("mstats.go ReadMemStats stops the world without waiting for a "
                                 "running mark; mgc.go counts numgc at mark termination; "
                                 "mgcpacer.go revise lets a mark run past the goal",
                                 {"in_progress_seen": True}, {}),
    # The programs people port first (issue 17): each number follows from the Go routine named.
    "lang_port_wordfreq": ("internal/runtime/maps: deletes never shrink and a refill reuses the tables "
                           "(tombstones); deleting during range is defined; map keys are string headers "
                           "sharing the text's bytes", {
        "lens": [1200, 600, 1200, 600, 0], "delete_half.Mallocs": 0, "refill.Mallocs": 0,
        "overwrite.Mallocs": 0, "range_delete.Mallocs": 0, "keys_keep_text.Frees": 1}, {}),
    "lang_port_map_values": ("internal/runtime/maps: elems over 128 bytes are separate objects, reused "
                             "by an overwrite, dropped by delete; NaN != NaN; makemap: hint < 0 is 0; "
                             "tiny blocks of two 8-byte keys", {
        "ib_fill.BySize.9": 100, "ib_delete_half.Frees": 50, "sp_keys.Mallocs": 100,
        "sp_map_keeps_keys.Frees": 0, "sp_delete_first_50.Frees": 50 + 25, "v24_overwrite.Mallocs": 0,
        "v200_fill.BySize.15": 20, "v200_overwrite.Mallocs": 20, "v200_delete_10.Frees": 20,
        "negative_hint.Mallocs": 1, "negative_hint.TotalAlloc": 48, "group_append.Mallocs": 5 + 10 * 6,
        "vals": [50, -7, -15, 0, 20, 0, 20, 190]}, {}),
    "lang_port_slices": ("runtime/slice.go growslice/nextslicecap/roundupsize; a 3-index slice's cap "
                         "is max - lo; a sub-slice (of a slice or an array) keeps the whole object", {
        "caps": [128, 11, 118, 6, 0, 6, 9, 336, 672, 8, 5, 607, 8, 56, 33, 4], "append_100.Mallocs": 8,
        "three_index_full.TotalAlloc": 48, "three_index_room.Mallocs": 0, "append_slice.TotalAlloc": 2688,
        "append_self.TotalAlloc": 5376, "reslice_keeps_all.Frees": 0, "clear_half.Frees": 5,
        "copied": [3, 4, 5, 6, 7, 3, 4, 5, 6, 7], "array_slice_keeps_struct.Frees": 0,
        "array_slice_append.Mallocs": 0, "array_slice_dropped.Frees": 1, "head": "ijkl"}, {}),
    "lang_port_strings": ("runtime/string.go concatstrings/slicebytetostring/stringtoslicebyte; "
                          "walk/convert.go walkStringToBytes: []byte(constant) is a new([n]byte)", {
        "caps": [1408, 32, 48, 1024, 0, 1, 5, 31, 33, 2], "concat4.TotalAlloc": 32,
        "concat6_60.TotalAlloc": 64, "concat_empty_lit.Mallocs": 0, "bytes_of_var.TotalAlloc": 1104,
        "sub_keeps_big_2.Frees": 0, "subsub_keeps_big.Frees": 0, "big_freed.Frees": 1}, {}),
    "lang_port_iface": ("walk/convert.go dataWord, runtime/iface.go convT*: staticuint64s below 256 "
                        "and for one-byte sole components, convT64 needs 8-byte alignment", {
        "int_0_255.Mallocs": 0, "int_256_up.Mallocs": 100, "int_neg.Mallocs": 100, "float.Mallocs": 99,
        "bool.Mallocs": 0, "s1.Mallocs": 0, "s3.TotalAlloc": 320, "s12.BySize.2": 100,
        "s16.BySize.2": 100, "s24p.BySize.3": 100, "s40.BySize.5": 100, "heap_string.TotalAlloc": 1600,
        "slice.TotalAlloc": 2400, "pointer.Mallocs": 0}, {}),
    "lang_port_funcs_chans": ("typecheck.ClosureType new(struct{F; captured}); runtime/chan.go: buffered "
                              "values in the heap buffer; interior pointers keep their objects", {
        "out": [51, 3, 12, 10, 20, 34, 22], "field_int.TotalAlloc": 32, "funcs_keep_captured.Frees": 0,
        "chan_keeps_ptrs.Frees": 0, "chan_one_received.Frees": 1, "chan_keeps_struct.Frees": 0,
        "elem_keeps_struct.Frees": 0, "elem_dropped.Frees": 1, "field_dropped.Frees": 2,
        "go_stmt.BySize.25": 1}, {}),
    # The fidelity audit's programs: each number follows from the Go routine named.
    "fid_lru": ("an LRU's eviction unlinks and deletes from the map: nothing is freed before a GC, "
                "nothing allocated", {"len_shrunk": 100, "shrink.Mallocs": 0, "shrink.Frees": 0}, {}),
    "fid_tree_phases": ("malloc.go: a depth-17 tree is 2^18-1 48-byte nodes (class 5); mgcpacer.go: "
                        "goal = marked + (marked + stacks + globals) x GOGC/100, so at GOGC=100 the goal "
                        "moves by twice the marked change", {
        "build.Mallocs": 262143, "build.BySize.5": 262143, "drop_left.Frees": 131071,
        "drop_right_right.Frees": 65535, "NextGC.drop_left": -2 * 131071 * 48,
        "NextGC.drop_right_right": -2 * 65535 * 48, "NextGC.gc_gogc50": 0}, {}),
    "fid_tree_stw": ("as fid_tree_phases, every cycle stop-the-world (GODEBUG=gcstoptheworld=1)", {
        "build.Mallocs": 262143, "drop_left.Frees": 131071, "NextGC.drop_left": -2 * 131071 * 48}, {}),
    "fid_weak_cache": ("weak.go/mheap.go: a dead object's weak pointers are nil before its cleanups run; "
                       "a live one's Make returns the same pointer", {
        "len": [60, 15, 0], "again": 15, "lookup_kept.Mallocs": 0,
        "events2": [0, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48, 52, 56]}, {}),
    "fid_fin_list": ("mfinal.go/mgcmark.go: an object with a finalizer keeps what it points to, so a "
                     "dropped list is finalized one finalizable node per cycle; SetFinalizer(nil) clears", {
        "events.cycle1": [0], "events.cycle2": [1], "events.cycle3": [2], "events.cycle4": [3],
        "events.cycle5": [7], "events.cycle6": [9], "setup.Mallocs": 10, "setup.BySize.6": 10}, {}),
    "fid_large_release": ("malloc.go: an object over 32 KiB takes whole pages; mgcscavenge.go: "
                          "FreeOSMemory releases every free page", {
        "alloc.Mallocs": 8, "alloc.HeapAlloc": 4710400, "drop_half.Frees": 4, "realloc.Mallocs": 4,
        "free_os.NumForcedGC": 1, "pages.free_os.HeapIdle": 0}, {}),
    "fid_workers": ("chan.go: the pool's results and the kept structs; the arithmetic", {
        "total": 174360, "kept": 12}, {}),
    "fid_strings": ("slice.go growslice/nextslicecap/roundupsize for a []byte; strings.Builder.String "
                    "copies nothing; string.go concatstrings: \"\" + \"ab\" allocates nothing", {
        "caps": [8, 16, 32, 64, 128, 256, 512, 896, 1408, 2048, 3072, 4096, 5376, 6912, 9472, 12288, 16384],
        "acc_len": 400, "string.Mallocs": 0, "sub_to_string.TotalAlloc": 112, "concat_loop.Mallocs": 199}, {}),
    "fid_map_churn": ("internal/runtime/maps: deletes never shrink; inserts reuse tombstones; clear "
                      "keeps the groups", {
        "lens": [190, 890], "delete.Mallocs": 0, "insert_new.Mallocs": 90, "insert_old.Mallocs": 700,
        "clear.Frees": 890}, {}),
    "fid_hist": ("metrics.go: allocs-by-size counts each allocation in its size class's bucket", {
        "allocs.33": 100}, {}),
    "fid_churn": ("malloc.go: 24000 8 KiB objects (class 51), all garbage by the closing GC", {
        "churn_and_gc.Mallocs": 24000, "churn_and_gc.Frees": 24000, "churn_and_gc.BySize.51": 24000}, {}),
    "fid_churn_stw": ("as fid_churn, every cycle stop-the-world", {
        "churn_and_gc.Mallocs": 24000, "churn_and_gc.Frees": 24000, "churn_and_gc.BySize.51": 24000}, {}),
    # The audit's second round.
    "fid2_append_elems": ("slice.go growslice: nextslicecap doubles below 256 elements, then grows by "
                          "(cap + 3x256)/4; roundupsize rounds the bytes up to the size class, so the "
                          "capacity depends on the element size; append(s, b...) past twice the capacity "
                          "takes the new length", {
        "e12.caps": [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 853, 1365, 2048, 3413],
        "e48.caps": [1, 2, 4, 8, 18, 37, 85, 170, 341, 682, 1194, 1706, 2389],
        "e72.caps": [1, 2, 4, 8, 16, 32, 67, 135, 284, 568, 910, 1365, 1934],
        "e136.caps": [1, 2, 4, 8, 16, 35, 71, 150, 301, 602, 963, 1445],
        "str.caps": [1, 2, 4, 8, 16, 32, 71, 143, 303, 591, 1023, 1535, 2560, 3584],
        "batch.caps": [1, 3, 6, 12, 24, 55, 111, 255, 511, 847, 1279, 1791, 2560],
        "str.alloc.Mallocs": 14, "e136.alloc.Mallocs": 12}, {}),
    "fid2_records": ("a slice's backing array keeps every element alive past s = s[:0]; string(b) "
                     "under 16 bytes is a tiny allocation", {"unlink.Frees": 0, "len": 23}, {}),
    "fid2_cycles": ("mgcmark.go gcScanFinalizer/scanObject: an object with a finalizer has its "
                    "referents marked, but scanObject skips pointers into the object itself, so a "
                    "self-loop is finalized and a two-object cycle never is; a tiny block is freed "
                    "(and its finalizers queued) when all its objects are dead", {
        "events.cycle1": [6, 3], "events.cycle2": [7], "events.cycle3": [101, 100],
        "events.cycle4": [103, 102], "events.cycle5": [], "events.cycle6": []}, {}),
    "fid2_big_maps": ("internal/runtime/maps: keys and values over 128 bytes are stored indirectly "
                      "(one object each, freed by the GC after delete); overwriting reuses the object", {
        "lens": [300, 80, 300, 20], "bigv_fill.BySize.15": 300, "bigv_reinsert.BySize.15": 150,
        "bigv_overwrite.Mallocs": 0, "bigk_fill.BySize.11": 120, "bigk_delete.BySizeFrees.11": 40,
        "bigk_clear.BySizeFrees.11": 80, "pval_fill.BySize.12": 300}, {}),
    "fid2_cleanup_wait": ("mcleanup.go: the sweep's last sweeper flushes the cleanup blocks; proc.go "
                          "findRunnable wakes the cleanup goroutine onto the run queue behind "
                          "runtime.GC's caller", {
        "events_at_gc_return": [], "events": [204, 205]}, {}),
    "fid2_cleanup_turns": ("as fid2_cleanup_wait; a finalizer queued by the mcache flush's sweep puts "
                           "the finalizer goroutine in runnext, so the caller sweeps before the "
                           "background sweeper, which then flushes", {
        "round1.cleanups_pending": 1, "round0.cleanups_pending": 0, "round4.cleanups_pending": 0}, {}),
    "fid2_tiny_mix": ("malloc.go mallocgcTiny: pointer-free objects under 16 bytes share 16-byte blocks "
                      "(one malloc each, a block counted once in BySize and HeapObjects, the rest as "
                      "tiny allocs); a block is freed when all its objects are", {
        "alloc.Mallocs": 6253, "tiny_allocs": 3688, "alloc.BySize.2": 2565, "alloc.HeapObjects": 2565,
        "keep_third.Frees": 1537}, {}),
    "fid2_json_docs": ("runtime/iface.go convT64 (ints under 256 and 0.0 from staticuint64s), convTstring "
                       "(a 16-byte header: 100 ints and 100 string variables boxed); internal/runtime/maps: delete and nil-assignment free what they "
                       "referenced", {"trim.BySizeFrees.19": 100, "retype.Mallocs": 200}, {}),
    "fid2_pool": ("sync/pool.go: pinSlow allocates make([]poolLocal, 1) (128 B) and grows allPools; "
                  "poolChain rings of 8 then 16 interfaces in 48-byte elements; poolCleanup: primary to "
                  "victim, victim dropped", {
        "get10.Mallocs": 12, "put10.Mallocs": 4, "get4.Mallocs": 0, "gc1.Frees": 0,
        "get3_victim.Mallocs": 2, "gc2.Frees": 13, "news": [10, 10, 10, 12, 13]}, {}),
    # The audit's third round.
    "fid3_line_counts": ("internal/runtime/maps runtime_faststr.go: an assignment to a present string key "
                         "stores the new key (\"the backing storage may differ\"), so the map keeps the last "
                         "line holding each word: dropping the first half of the lines frees all of them", {
        "lens": [16, 16], "lines.Mallocs": 300,
        # the 150 lines, and the map's outgrown 16-slot table (its 32-byte struct and groups)
        "drop_first_half.Frees": 153, "drop_first_half.BySizeFrees.23": 1}, {}),
    "fid3_any_keys": ("iface.go convT64 (ints under 256 from staticuint64s, an 8-byte tiny box from 256), "
                      "convTstring (16 bytes), convTnoptr (the 16-byte struct); escape analysis: a map "
                      "assignment's key escapes, a lookup's and a delete's do not (no box); NeedKeyUpdate: "
                      "the new box replaces the old", {
        "lens": [700, 450], "sum": 104650, "lookup.Mallocs": 0, "update_ints.Mallocs": 144,
        "strs.BySize.2": 200, "delete.Mallocs": 0}, {}),
    "fid3_gc_percent": ("mgcpacer.go setGCPercent returns the previous GOGC; GOGC=off starts no cycle", {
        "prev": [100, 50, 200, 25, -1, 400]}, {}),
    "fid3_memlimit": ("mgcpacer.go setMemoryLimit returns the previous limit; a limit above the GOGC "
                      "goal leaves the GOGC goal", {
        "prev": [MAX_INT64, MAX_INT64, 14 << 20, 11 << 20, 24 << 20], "limit24.formula_match": False}, {}),
    "fid3_buffers": ("bytes/buffer.go: 64 bytes first, then growSlice's 2 cap + n rounded up to the size "
                     "class by append; strings/builder.go Grow: MakeNoZero(2 cap + n), rounded; "
                     "Builder.String copies nothing", {"builder_string.Mallocs": 0, "buffer_reuse.Mallocs": 0}, {}),
    "fid3_requests": ("proc.go gfget reuses dead goroutines' g; the go statement's wrapper closure "
                      "captures the request; the arithmetic", {"sum": 118800}, {}),
    "fid3_recycle": ("mfinal.go: a finalizer that stores its object and sets a finalizer again revives it; "
                     "the others are freed the cycle after their finalizer ran", {
        "events.cycle2": [], "events.cycle4": []}, {}),
    "fid3_pipeline": ("chan.go: buffered channels of pointers; the arithmetic", {
        "sum": sum(i * i for i in range(300)) + sum(16 + i % 100 for i in range(300) if i % 3)}, {}),
    "fid3_cleanup_args": ("mcleanup.go AddCleanup: argv := new(S) (16 bytes pointer-free when S is smaller "
                          "and pointer-free) holds the argument, so a heap string or array lives until its "
                          "cleanup has run", {"gc_args_kept.Frees": 0,
                                              "events_even": Unordered(
                                                  [20 + i if i % 3 == 0 else 1040 + i if i % 3 == 1 else 2001 + i
                                                   for i in range(0, 36, 2)])}, {}),
    # The audit's fourth round.
    "fid4_loopvar": ("cmd/compile loopvar (Go 1.22: a variable per iteration) and escape analysis: a variable "
                     "never assigned after the capture is captured by value ({F; i; v} 24 B, {F; i} 16 B), one "
                     "the body assigns moves to the heap (new(int): a tiny allocation) and is captured by "
                     "reference; the arithmetic", {
        "range.BySize.3": 100, "three_clause.BySize.2": 100, "range_int.BySize.2": 100,
        "assigned.Mallocs": 200, "shared.Mallocs": 101, "shared.BySize.3": 100, "sum": 236050}, {}),
    "fid4_chan_maps": ("internal/runtime/maps: make(map) is a 48-byte Map, the first insert adds a group of 8 "
                       "slots (8 + 8 x 24 bytes, class 208); delete during range is allowed; the arithmetic", {
        "received.BySize.5": 30, "received.BySize.15": 30, "lens": [120, 80, 120], "sum": 624}, {}),
    "fid4_sort_ptrs": ("sort/slice.go: x any is boxed (iface.go convTslice, 24 B) and reflectlite.Swapper "
                       "returns a closure over the slice (32 B); sort.Sort boxes the slice into sort.Interface; "
                       "slices.SortFunc allocates nothing", {
        "sort_slice.Mallocs": 2, "sort_slice.BySize.3": 1, "sort_slice.BySize.4": 1, "sort_sort.Mallocs": 1,
        "slices_sortfunc.Mallocs": 0, "order": [199, 199000, 199, 199]}, {}),
    "fid4_errors": ("errors/errors.go New: a new *errorString per call; errors/join.go Join: a joinError and "
                    "make([]error, 0, n); errors.Is walks Unwrap; the arithmetic", {
        "join.Mallocs": 2, "join.BySize.3": 1, "counts": [50, 1, 589]}, {}),
    "fid4_wg_results": ("sync/waitgroup.go Go: the go statement's closure captures wg and f, so wg escapes; "
                        "the worker literal {F; w; results; workers} is 48 bytes, as is each 40-byte result", {
        "run2.BySize.5": 64, "sum": 30078}, {}),
    "fid4_builders": ("strings/builder.go: WriteString appends to a nil buffer (append's growth); "
                      "bytes/buffer.go: a first write of at most 64 bytes allocates smallBufferSize", {
        "buffers.Mallocs": 80, "buffers.BySize.6": 80, "caps": [16, 64, 4230]}, {}),
    "fid5_sets": ("cmd/compile reflectdata.MapGroupType: the slot is struct{key; elem}, and CalcStructSize pads a "
                  "trailing zero-size field (map[int]struct{}: 16-byte slots, a group of 8 + 8 x 16 = 136 bytes, "
                  "class 144; map[[2]int32]struct{}: 8 + 8 x 12 = 104, class 112); internal/runtime/maps: clear "
                  "keeps every table and reinsertion reuses the deleted slots; the arithmetic", {
        "lens": [500, 1000, 100, 120, 90, 300], "ints_fill.BySize.11": 1, "pair_fill.BySize.9": 1,
        "ints_reinsert.Mallocs": 0, "ints_refill.Mallocs": 0}, {}),
    "fid5_runes": ("runtime/string.go: intstring is rawstring(4) for every rune when the result escapes (60 of them, "
                   "4 to a 16-byte tiny block), rawruneslice rounds 4 x runes up to the size class (70 runes: "
                   "280 -> 288), slicerunetostring allocates the encoded length + 3 (70 + 3 -> 80); ranging over a "
                   "string allocates nothing; strconv.Itoa: 0..99 are static; the arithmetic", {
        "string_rune.Mallocs": 60, "string_rune.BySize.2": 15, "to_runes.BySize.19": 1, "from_runes.BySize.7": 1,
        "range_string.Mallocs": 0, "itoa.Mallocs": 38, "sums": [124, 102106, 126, 10359, 38, 127]}, {}),
    "fid5_slices": ("slices/slices.go: Grow is append(s[:cap(s)], make([]E, n)...) (growslice from cap 5 to 25 "
                    "pointers: 200 -> 208 bytes, cap 26), Insert past cap appends make(n+m-i) to s[:i], Clone is "
                    "append(S{}, s...), Concat Grow(nil, total), Compact and Delete clear the tail in place; "
                    "runtime/slice.go nextslicecap doubles below 256", {
        "caps": [26, 52, 52, 8, 55, 55, 20, 30, 18, 26, 16], "grow.BySize.15": 1, "grow_fits.Mallocs": 0,
        "insert_fits.Mallocs": 2, "clone.BySize.6": 1, "compact.Mallocs": 0}, {}),
    "fid5_fin_holders": ("mfinal.go/mgcmark.go markrootSpans: a finalizer's object marks what it points to (its map, "
                         "and through it a peer: finalized a cycle later; itself: never); a slice's array waits for "
                         "its last sub-slice; mcleanup.go: a tiny block's cleanups wait for every object in it "
                         "(new(int64): two to a block)", {
        "events.cycle1": [0, 3, 6, 9, 2001, 2003, 3002, 3003],
        "events.cycle2": [1007, 2002, 3004, 3005, 3006, 3007, 3008, 3009, 3010, 3011],
        "events.cycle3": [1, 2, 4, 5, 7, 8, 10, 11, 3000, 3001], "events.cycle4": [], "events.cycle5": []}, {}),
    "fid5_weak_fields": ("mheap.go getOrAddWeakHandle: a 16-byte weakHandleBox per (object, offset), found again by "
                         "the same address (&o.id and o share offset 0); every handle into an object goes nil "
                         "when the object dies, and an interior pointer keeps the whole object", {
        "setup.BySize.2": 18, "remake.Mallocs": 1, "eq": [True, False, True, True, True],
        "state.r0": [1] * 10 + [31, 15], "state.r1": [1] * 10 + [31, 15],
        "state.r2": [1, 0, 1, 1, 1, 1, 1, 1, 0, 1, 29, 13], "state.r3": [1, 0, 0, 1, 1, 1, 1, 1, 0, 1, 25, 9],
        "state.r4": [0] * 12}, {}),
    "fid5_chan_fields": ("runtime/chan.go makechan: hchan (112 B) and a pointer-free buffer in one object (chan int, "
                         "1: 120 -> class 128); a channel value in memory is the hchan's address; a receiver woken by "
                         "close clears its sudog's c when it runs (the write barrier keeps the hchan for that cycle, "
                         "freed the next); the arithmetic", {
        "req_reply.BySize.10": 20, "req_reply.BySize.2": 20, "req_reply_gc.Frees": 40, "sum": 650,
        "lens": [0, 1, 2, 3, 4, 4]}, {}),
    "fid5_zero_size": ("malloc.go: zero-size allocations are zerobase; slice.go growslice: et.size == 0 gives cap = "
                       "len without allocating; cmd/compile: a struct ending in a zero-size field is padded "
                       "(zsTail: 16 bytes); chan.go: a chan struct{} is its hchan alone; iface.go convTnoptr for a "
                       "16-byte run-time value", {
        "caps": [1000, 40, 6, 63], "new_empty.Mallocs": 0, "append_empty.Mallocs": 0, "chan_empty.BySize.9": 1,
        "boxed.Mallocs": 1, "new_zero_array.Mallocs": 0}, {}),
    "fid5_worker_select": ("runtime/select.go selectgo: a sudog per case, each pointing at its channel until the "
                           "woken goroutine's pass 3 clears it (sg.c = nil, under the write barrier when a mark "
                           "runs): four jobs channels (112 + 2 x 8 -> class 128) and quit (112) woken by close "
                           "just before runtime.GC are freed by the cycle after; the arithmetic", {
        "quit_closed.Frees": 0, "after.BySizeFrees.10": 4, "after.BySizeFrees.9": 1, "sum": 2000}, {}),
    "fid5_log_pipeline": ("runtime/string.go: substrings share their string's bytes (the map keys and last messages "
                          "keep three lines alive past the slice's drop); chan.go: a buffered chan of structs with "
                          "strings has a separate scanned buffer (16 x 40 = 640 B); proc.go: two goroutines (480 B "
                          "g each); strconv.Itoa allocates its digits; the arithmetic", {
        "pipeline.BySize.25": 2, "pipeline.BySize.29": 1, "report.Mallocs": 8, "sums": [600, 600768, 66]}, {}),
    # The audit's sixth round.
    "fid6_map_structs": ("internal/runtime/maps: a group of 8 slots of {key int; elem msVal} (8 + 8 x 40 = 328 B), "
                         "1500 entries in two 1024-slot tables (large objects); delete clears the slot, so the "
                         "pointer's object dies, the tables never shrink and reinsertion fills the deleted slots; "
                         "a GC during a range; the arithmetic", {
        "lens": [150, 750, 750, 335250, 64], "fill.BySize.3": 1500, "shrink.BySizeFrees.3": 1350,
        "reinsert.Mallocs": 0, "overwrite.BySize.3": 192, "map_drop.BySizeFrees.3": 150}, {}),
    "fid6_append_ptrs": ("runtime/slice.go growslice: nextslicecap doubles below 256 then grows by (n + 3 x 256)/4, "
                         "roundupsize to the class, and a pointerful array over 512 bytes carries an 8-byte malloc "
                         "header (128 pointers: 1032 -> class 1152, cap 143); a re-slice keeps its whole array and "
                         "every pointer in it; append(nil, s...) copies", {
        "caps": [1, 2, 4, 8, 16, 32, 64, 143, 287, 607, 507, 511, 50, 1, 2, 4, 8, 16, 32, 71, 143, 303, 591, 1023,
                 1151, 20],
        "ptrs_grow.BySize.2": 600, "reslice.BySizeFrees.2": 0, "copied.BySizeFrees.2": 100, "truncate.Frees": 0,
        "overwrite.Frees": 10}, {}),
    "fid6_strings_pkg": ("strings/strings.go: genSplit make([]string, Count+1); Join and Repeat one Builder.Grow "
                         "(bytealg.MakeNoZero: cap rounded up to the class); Repeat of '-' slices repeatedDashes; "
                         "Fields make([]string, n); ToUpper returns s when nothing changes; append from cap 112 "
                         "doubles to 224", {
        "lens": [45, 45, 268, 200, 3000, 60, 30, 30, 180, 144, 224], "split.BySize.30": 1, "join.BySize.19": 1,
        "join_one.Mallocs": 0, "repeat_const.Mallocs": 0, "upper.Mallocs": 1, "builder.BySize.9": 1,
        "builder.BySize.16": 1}, {}),
    "fid6_fin_arrays": ("mfinal.go: a finalizer on an array (new([4]*T) or &s[0]) marks what it points to (an element "
                        "with its own finalizer runs a cycle later); a sub-slice keeps the array; s[len:] with cap 0 "
                        "keeps its base pointer (cmd/compile: no pointer past the end); runtime.KeepAlive", {
        "events.cycle1": [102], "events.cycle2": [11, 250, 309], "events.cycle3": [77], "events.cycle4": [],
        "events.cycle5": [400], "kept": 0, "setup.Mallocs": 8}, {}),
    "fid6_cleanups_many": ("mcleanup.go AddCleanup: each cleanup its own special and argument box; Cleanup.Stop "
                           "removes one (twice: nothing); mheap.go: a weak handle goes nil when its object is first "
                           "found unreachable, even with a finalizer, whose cleanups wait for the next cycle", {
        "events.cycle1": [0, 2, 10, 11, 12, 20, 22], "events.cycle2": [504],
        "events.cycle3": [30, 31, 32, 40, 41, 42, 50, 52], "events.cycle4": [], "state": [56, 40, 0, 0],
        "setup.Mallocs": 49}, {}),
    "fid6_weak_map_values": ("weak.Make on a map value: the same pointer gives an equal weak pointer; deleted and "
                             "replaced values go nil, a value stored under a second key stays; a map assignment's "
                             "concatenated key escapes (tiny), a lookup's does not", {
        "state": [748982, 149796, 149796, 0], "eq": [True, False, True], "remake.Mallocs": 0,
        "setup.BySize.3": 20}, {}),
    "fid6_large_tiny": ("malloc.go: a large allocation (> 32 KiB, whole pages) does not reset the mcache's tiny "
                        "block; 64 new(int32) take 16 blocks (48 combined: /gc/heap/tiny/allocs); a tiny block "
                        "lives while any object in it does", {
        "tiny": [48, 20], "mixed.Mallocs": 68, "mixed.HeapObjects": 20, "mixed.BySize.2": 16,
        "drop_big.Frees": 2, "drop_big.HeapAlloc": -114688, "drop_odd_tiny.Frees": 0}, {}),
    "fid6_goal_metrics": ("mgcpacer.go commit: goal = heapMarked + (heapMarked + lastStackScan + globalsScan) x "
                          "GOGC/100, at least heapMinimum (4 MiB x GOGC/100), recomputed by SetGCPercent at once; "
                          "GOGC=off: the memory limit's goal (97 % of MaxInt64); /gc/scan/heap counts a 48-byte "
                          "node with one leading pointer as 8 bytes", {
        "prev": [100, 50, 300, -1], "rows.r1.live": 4096000, "rows.r3.scan": 4000, "rows.r1.goal_err": 0,
        "rows.r3.goal_err": 0, "rows.r5.goal_err": 0, "rows.r6.goal_err": 8136949, "rows.r8.next_gc": 1}, {}),
    "fid6_iface_pool": ("runtime/iface.go: copying an interface copies two words (no allocation), the box shared by "
                        "every copy; sync/pool.go: New's func() any boxes a slice (convTslice, 24 B), a Put of a "
                        "slice boxes it again, a pointer is never boxed; the victim cache", {
        "copy.Mallocs": 0, "drop_orig.Frees": 0, "box.Mallocs": 40, "pool_get.BySize.3": 20,
        "pool_get_again.Mallocs": 0, "pool_put.BySize.3": 20, "news": [20, 20, 20, 20, 20, 20], "sum": 10462}, {}),
    "fid6_events": ("runtime/iface.go: a payload is boxed once where it is made (convT64 8 B tiny, convTstring 16 B, "
                    "convT 24 B; a pointer or nil: nothing); copying a struct with an interface field copies its "
                    "words, so per-kind slices and a filtered slice share the boxes; the arithmetic", {
        "log.BySize.3": 40, "filter.Mallocs": 7, "by_kind.Mallocs": 23, "sums": [3900000, 140, 160, 4020, 40],
        "drop.BySizeFrees.2": 40}, {}),
    "fid6_fin_alloc": ("mfinal.go: a finalizer's object is revived for it and freed by the next cycle; what the "
                       "finalizer goroutine allocates (append's growth to cap 32, map growth, strconv.Itoa's digits; "
                       "0 is static) counts as the program's; the arithmetic", {
        "lens": [30, 32, 10, 435, 43], "setup.BySize.4": 30, "freed.BySizeFrees.4": 31}, {}),
    # The audit's seventh round.
    "fid7_tiny_align": ("malloc.go mallocgcTiny: the offset aligned to 8, 4 or 2 by the size, a new 16-byte block "
                        "when the object does not fit, the block with more room kept; a block is freed only when "
                        "every object in it is dead; a GC drops the mcache's block", {
        "tiny": [127, 19], "mixed.Mallocs": 224, "mixed.BySize.2": 97, "drop_q.Frees": 0, "again.Mallocs": 24}, {}),
    "fid7_fin_tiny": ("mfinal.go SetFinalizer: allowed inside a tiny block for a pointer-free object under 16 bytes; "
                      "it runs when the whole block is unreachable; mcleanup.go AddCleanup boxes a small "
                      "pointer-free argument outside the tiny allocator (new([2]uintptr))", {
        "events.cycle1": [], "events.cycle2": [100, 109], "events.cycle3": [105, 200, 203, 206],
        "events.cycle4": [114], "events.cycle5": []}, {}),
    "fid7_chan_ptrs": ("runtime/chan.go makechan: a chan of pointers is an hchan (96 B) and a separate scanned "
                       "buffer (16 x 8 = 128 B); values in the buffer are live; chanrecv clears the slot it takes; "
                       "the arithmetic", {
        "fill.BySize.9": 1, "fill.BySize.10": 1, "buffered_gc.Frees": 0, "recv_gc.BySizeFrees.4": 10,
        "drain_gc.BySizeFrees.4": 12, "unbuffered_gc.BySizeFrees.4": 8, "sums": [45, 690, 3320, 8]}, {}),
    "fid7_recover": ("runtime/panic.go: a recovered panic's value is the program's allocation (&rvErr 24 B, "
                     "errors.New 16 B, convT64 8 B tiny, convTstring 16 B), the open-coded defer and the panic "
                     "record on the stack; []error grows 1, 2, 4, 8, 16; the arithmetic", {
        "counts": [16, 172, 140], "panics.BySize.3": 8, "panics.BySize.18": 1, "drop.BySizeFrees.3": 8}, {}),
    "fid7_concat_keys": ("runtime/string.go concatstrings: a map assignment's key escapes (heap), a lookup's does "
                         "not (a stack buffer); strconv.Itoa allocates its digits from 100 on; deleting during "
                         "range; clear keeps the tables", {
        "lens": [43, 300, 75, 150, 0], "lookup.Mallocs": 28, "reinsert.Mallocs": 200, "clear.BySizeFrees.2": 288}, {}),
    "fid7_append_large": ("runtime/slice.go growslice: roundupsize to the class (a pointerful array over 512 bytes "
                          "has an 8-byte malloc header) and to whole pages past 32 KiB; a truncated slice keeps its "
                          "array, a full slice expression's append copies", {
        "caps": [1, 2, 4, 8, 16, 35, 71, 151, 303, 575, 1023, 1536, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 853,
                 1365, 2048, 21, 405],
        "scan_grow.Mallocs": 12, "noscan_grow.Mallocs": 13, "truncate.Frees": 23}, {}),
    "fid7_cycles": ("mcleanup.go: a cleanup keeps nothing reachable (a ring with cleanups is collected); "
                    "mgcmark.go markrootSpans: a finalizer's object's referents are marked, so a cycle through it "
                    "stays until broken, but scanobject skips pointers into the object (a self-cycle is "
                    "finalized); weak pointers go nil as their objects die", {
        "events.cycle1": [10, 11, 12, 26, 28, 30], "events.cycle2": [27], "events.cycle3": [23],
        "live": [511, 152, 24, 0, 0, 0]}, {}),
    "fid7_byte_string": ("runtime/string.go stringtoslicebyte/rawbyteslice: the capacity is the size class (8 below "
                         "16 bytes: tiny), so an append that fits allocates nothing; slicebytetostring: a one-byte "
                         "string is static, an empty one nothing; a substring allocates nothing", {
        "caps": [0, 8, 8, 16, 16, 24, 48, 48, 64, 8, 8, 8, 32, 32, 24, 48, 48, 128], "to_bytes.Mallocs": 8,
        "append.Mallocs": 4, "short.Mallocs": 0}, {}),
    "fid7_weak_tiny": ("mheap.go getOrAddWeakHandle: a handle per object address (16-byte boxes padded off the "
                       "tiny allocator), the same pointer gives an equal weak pointer; a handle goes nil only when "
                       "its tiny block is unreachable", {
        "live": [4095, 4095, 3840, 3840, 0], "eq": [True, False, True], "remake.Mallocs": 0,
        "drop_some.Frees": 0}, {}),
    "fid7_map_big_values": ("internal/runtime/maps: keys and values over 128 bytes are stored indirectly (an object "
                            "each); an assignment to an existing key writes into its object, a delete frees it; a "
                            "range's it.elem keeps the current entry's object through a GC after its delete", {
        "overwrite.Mallocs": 40, "delete.BySizeFrees.12": 28, "range_gc.Frees": 0,
        "big_keys_delete.BySizeFrees.12": 2, "sums": [0, 26507, 1090, 15]}, {}),
    "fid7_map_grow_range": ("internal/runtime/maps/table.go Iter: Init keeps a small map's group, Next the table "
                            "it reads, even when the map grows during the range; the GC after the loop frees them", {
        "small_grow_gc.Frees": 2, "small_after.BySizeFrees.11": 1, "big_grow_gc.Frees": 9,
        "big_after.BySizeFrees.39": 1, "lens": [28, 400]}, {}),
    "fid7_fin_rearm": ("mgcsweep.go: reviving an object for its finalizer unlinks its weak handles (nil for good); "
                       "weak.Make on the revived object makes a new handle; SetFinalizer in the finalizer re-arms "
                       "it; mfinal.go runfinq allocates its 16-byte frame at the first finalizer run", {
        "events.cycle1": [100, 101, 102, 103], "events.cycle2": [201, 202, 203], "events.cycle3": [301, 302, 303],
        "events.cycle4": [200], "events.cycle5": [300], "live": [15, 0, 16, 16, 16, 0, 0, 0], "eq": False,
        "remake.BySize.2": 2}, {}),
    "read_mem_stats_goroutine_mid_cycle": ("as read_mem_stats_mid_cycle, read by a second goroutine "
                                           "between the allocations (chan.go: an unbuffered send "
                                           "hands the P to the receiver)",
                                           {"in_progress_seen": True, "reads": 300}, {}),
    "gctrace_large_scan": ("mgc.go gctrace: heap0->heap1->heap2 MB, goal; mgcpacer.go revise lets a mark "
                           "run past the goal (heap1 above it)", {"P": [1], "forced_lines": 1}, {}),
    "lang_goroutines": ("runtime/proc.go newproc1/gfget/allgadd, acquireSudog/releaseSudog, clearpools; "
                        "time.go timeSleep: g 456 B (class 480), sudog 104 B (class 112), timer class 96", {
        "g100.run.Mallocs": 100 + 99 + 4, "g100.BySize.25": 100, "g100.BySize.9": 99,
        "g100_again.run.Mallocs": 0, "g200.run.Mallocs": 201, "g200.gc2.Frees": 128,
        "ptr_arg.run.Mallocs": 10, "ptr_arg.gc1.BySizeFrees.2": 10,
        "int_args.BySize.3": 10, "int_args.gc1.Frees": 10,
        "select.run.Mallocs": 128, "sleep.BySize.8": 10, "sleep.gc2.Frees": 10,
        "sleep_again.run.Mallocs": 10, "main_sleep.first.Mallocs": 1, "main_sleep.second.Mallocs": 0}, {}),
}


def test_spec_covers_every_scenario():
    assert set(SPEC) == set(scenarios.REGISTRY), (
        f"scenarios without spec numbers: {sorted(set(scenarios.REGISTRY) - set(SPEC))}; "
        f"spec entries without a scenario: {sorted(set(SPEC) - set(scenarios.REGISTRY))}"
    )


@pytest.mark.parametrize("name", sorted(SPEC))
def test_go_reproduces_the_spec(name, go_oracle):
    source, expected, extra = SPEC[name]
    tolerances = {**extra, **scenarios.REGISTRY[name].tolerances}
    rows = harness.check_expected(name, go_oracle.run(name), expected, tolerances, source,
                                  harness.recorded_ranges(name), harness.recorded_flat(name))
    harness.REPORT.add_spec(name, rows)
    assert not any(r.failed for r in rows), (
        f"Go's output for {name} differs from the spec ({source}):\n{harness.describe_failures(rows)}"
    )
