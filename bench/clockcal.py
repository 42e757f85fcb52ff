"""Calibrate the virtual clock's cost table (goruntime/clock.py, ``COSTS``) against real Go.

``python -m bench.clockcal --runs 5 --record bench/clockcal.json`` builds
``bench/go/clockcal`` with Go 1.27.3, runs it *runs* times with ``GOMAXPROCS=1`` and
``GODEBUG=gctrace=1``, and writes every run's raw figures plus the fitted table. `fit`
turns the raw runs into the table; tests/test_clock_costs.py checks that ``clock.COSTS``
is what `fit` gives for the committed record, so the table cannot drift from its
measurement.

The fit, per quantity (each figure of a run is already a median of 7 repetitions; over
the runs the median is taken: a typical run on this shared machine):

- allocation, per path (tiny, small noscan/scan, large noscan/scan): least squares
  ``ns = base + per_byte * size`` over the measured sizes (tiny: one size, base only),
  measured with the GC on (the mutator's share of a steady allocating program: zeroing,
  span refills, the proportional sweep);
- pointer store, integer store, field load (the loop's own cost subtracted), goroutine
  switch (one ``Gosched`` to another goroutine), buffered channel operation, ``go``
  statement (start and exit: the measured loop's two switches and two channel operations
  are subtracted, the emulator charges them apart), finalizer run;
- mark CPU of a forced cycle (assist + dedicated + idle workers), with
  ``GODEBUG=cpu.avx512vl=off`` so that Go's scan work is counted as the emulator counts
  it: the base is the empty heap's mark (the runtime's own roots and data, which the
  emulated heap does not hold); per object and per heap byte scanned, non-negative least
  squares over the heap shapes beyond the base; per goroutine stack, the same over the
  goroutine rows (what Go's goroutines keep on the heap included); a fresh process's first cycle (cold) costs more: its mark and pause
  beyond the warm model are two more entries, charged to a runtime's first cycle;
- the pause (both stop-the-world phases, PauseNs): non-negative least squares ``ns = base
  + per_goroutine * goroutines + per_heap_byte * heap bytes``; the base is split between
  sweep termination and mark termination in the ratio gctrace shows for the empty heap.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
RECORD = HERE / "clockcal.json"
_TRACE = re.compile(r"^gc (\d+) @\S+ \d+%: (\S+)\+(\S+)\+(\S+) ms clock")


def _nnls(cols, y):
    """Least squares on *relative* errors (each row divided by its measured value, so a
    16-byte allocation weighs as much as a 1 MiB one) with every coefficient >= 0: refit
    without the columns that came out negative until none does."""
    cols = dict(cols)
    y = np.asarray(y, dtype=float)
    w = 1.0 / np.maximum(y, 1e-9)
    while True:
        names = list(cols)
        a = np.column_stack([np.asarray(cols[n], dtype=float) for n in names]) * w[:, None]
        coef = np.linalg.lstsq(a, y * w, rcond=None)[0]
        neg = [n for n, c in zip(names, coef) if c < 0]
        if not neg:
            return dict(zip(names, coef.tolist()))
        del cols[neg[0]]
        if not cols:
            return {}


def _num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _min_rows(runs, key, fields):
    """The rows of runs[*][key], matched by *fields*, each numeric value the median over
    the runs (the name is historical: it was the minimum, which fitted Go's fastest run
    rather than a typical one)."""
    groups = {}
    for run in runs:
        for row in run[key]:
            groups.setdefault(tuple(row[f] for f in fields), []).append(row)
    out = []
    for rows in groups.values():
        r = dict(rows[0])
        for name, v in rows[0].items():
            if name not in fields and _num(v):
                r[name] = float(np.median([x[name] for x in rows]))
        out.append(r)
    return out


def fit(record: dict) -> dict:
    """The cost table (ns; floats rounded to 4 significant digits) from a record's runs."""
    runs = record["runs"]
    sig = lambda x: float(f"{x:.4g}")                    # noqa: E731
    costs = {}
    alloc = _min_rows(runs, "alloc", ("path", "size"))
    for path in ("tiny", "small_noscan", "small_scan", "large_noscan", "large_scan"):
        rows = [r for r in alloc if r["path"] == path]
        if len(rows) == 1:
            costs[f"alloc_{path}"] = sig(rows[0]["ns"])
            costs[f"alloc_{path}_byte"] = 0.0
            continue
        c = _nnls({"base": [1] * len(rows), "byte": [r["size"] for r in rows]},
                  [r["ns"] for r in rows])
        costs[f"alloc_{path}"] = sig(c.get("base", 0.0))
        costs[f"alloc_{path}_byte"] = sig(c.get("byte", 0.0))
    ops = {k: float(np.median([r["ops"][k] for r in runs])) for k in runs[0]["ops"]}
    costs["store_ptr"] = sig(max(ops["store_ptr_ns"], 0.0))
    costs["store_scalar"] = sig(max(ops["store_int_ns"], 0.0))
    costs["load"] = sig(max(ops["load_ns"], 0.0))
    costs["goroutine_switch"] = sig(ops["gosched_ns"])
    costs["chan_op"] = sig(ops["chan_buffered_ns"])
    # the measured loop (go, the new goroutine's send, the receive, exit) also makes two
    # switches and two channel operations, which the emulator counts and charges apart
    costs["go_statement"] = sig(max(ops["go_ns"] - 2 * ops["gosched_ns"]
                                    - 2 * ops["chan_buffered_ns"], 0.0))
    costs["finalizer_run"] = sig(max(float(np.median([r["finalizer_ns"] for r in runs])), 0.0))
    gc = _min_rows(runs, "gc", ("shape", "objects", "goroutines"))
    # the mark, anchored on the empty heap (the runtime's own roots and data, which the
    # emulated heap does not hold), then the heap shapes, then the goroutines (per stack,
    # with what Go's goroutines keep on the heap, which the emulator does not allocate)
    empty = next(r for r in gc if r["shape"] == "empty")
    base_m = empty["mark_ns"]
    shapes = [r for r in gc if r["shape"] not in ("empty", "goroutines")]
    m = _nnls({"object": [r["objects"] for r in shapes], "byte": [r["scan_bytes"] for r in shapes]},
              [r["mark_ns"] - base_m for r in shapes])
    gs = [r for r in gc if r["shape"] == "goroutines"]
    st = _nnls({"stack": [r["goroutines"] for r in gs]}, [r["mark_ns"] - base_m for r in gs])
    costs["mark_base"] = sig(base_m)
    costs["mark_object"] = sig(m.get("object", 0.0))
    costs["mark_byte"] = sig(m.get("byte", 0.0))
    costs["mark_stack"] = sig(st.get("stack", 0.0))
    p = _nnls({"base": [1] * len(gc), "goroutine": [r["goroutines"] for r in gc],
               "heap_byte": [r["heap_bytes"] for r in gc]}, [r["pause_ns"] for r in gc])
    share = float(np.median([_stw1_share(r["empty_trace"]) for r in runs]))
    base = p.get("base", 0.0)
    costs["stw_sweep_term"] = sig(base * share)
    costs["stw_mark_term"] = sig(base * (1 - share))
    costs["stw_goroutine"] = sig(p.get("goroutine", 0.0))
    costs["stw_heap_byte"] = sig(p.get("heap_byte", 0.0))
    # a fresh process's first cycle costs more (its mark state is set up and paged in):
    # what the cold cycle took beyond the model of a warm one with the same work
    cold = _min_rows([{"gc": [r["cold"]]} for r in runs], "gc", ("shape",))[0]
    warm_mark = base_m + max(cold["scan_bytes"] - empty["scan_bytes"], 0) * costs["mark_byte"]
    warm_pause = base + cold["heap_bytes"] * costs["stw_heap_byte"]
    costs["mark_first_cycle"] = sig(max(cold["mark_ns"] - warm_mark, 0.0))
    costs["stw_first_cycle"] = sig(max(cold["pause_ns"] - warm_pause, 0.0))
    return costs


# The oracle corpus's calibration shapes (tests/oracle/go/main.go, traceChild; recorded
# in tests/oracle/go1.27.3-gomaxprocs1.json, 10 quiet runs then 10 under load), as the
# emulator counts their work: `fit_oracle` turns Go's quiet medians into the mark's fixed
# part and runtime.GC's per-span sweep cost; the two mark shapes check `fit_mark`'s costs
# (tests/oracle/test_time.py).
ORACLE_RECORD = HERE.parent / "tests" / "oracle" / "go1.27.3-gomaxprocs1.json"
SHAPE_OBJECTS = 200_000           # time_mark_objects: a list of 16-byte calNodes ...
SHAPE_OBJECT_SCAN = 8             # ... each 8 bytes of scan work (its pointer is first)
SHAPE_SCAN_BYTES = 16 * 16384 * 8  # time_mark_bytes: 16 arrays of 16 384 pointers
SHAPE_SPANS = 100_000 * 64 // 8192  # time_sweep_spans: the dead 64-byte objects' spans


def _quiet_median(oracle: dict, scenario: str, field: str) -> float:
    """The median of *field* over the quiet runs of *scenario* in the oracle's record."""
    entry = oracle["scenarios"][scenario]
    values = entry["unstable"][field][:entry["quiet_runs"]]
    return float(np.median(values))


def fit_oracle(oracle: dict, record: dict) -> dict:
    """``mark_base`` and ``sweep_span`` (ns) from the oracle's recorded
    calibration shapes, each the typical (median) quiet run of Go at its defaults (the
    packed span scan on: what programs run with; bench/go/clockcal turns it off):

    - mark_base: time_forced_idle's mark CPU per cycle (an empty heap's three forced
      cycles, a fresh process's first: the runtime's own roots and data), less `fit`'s
      first-cycle extra spread over them (bench/go/clockcal measured warm cycles, after
      many, which cost about a third);
    - sweep_span: what a runtime.GC() call of time_sweep_spans took beyond its cycle's
      pauses and mark, per span of dead objects swept (Go's caller sweeps them one
      sweepone at a time; the rest also holds any heap-triggered cycle the call waited for).

    The per-object and per-byte costs are `fit_mark`'s (bench/go/markcal's shapes);
    the oracle's time_mark_objects and time_mark_bytes check them (tests/oracle/test_time.py).
    """
    sig = lambda x: float(f"{x:.4g}")                    # noqa: E731
    idle = _quiet_median(oracle, "time_forced_idle", "trace.cpu_mark_ms") * 1e6
    sweep = _quiet_median(oracle, "time_sweep_spans", "sweep_ns_mean") / SHAPE_SPANS
    # the empty heap's mark in a fresh process's first cycles (the cycles a program's
    # oracle run has), beyond the first cycle's extra that `fit` measured apart
    base = idle - fit(record)["mark_first_cycle"] / 3
    return {"mark_base": sig(max(base, 0.0)), "sweep_span": sig(max(sweep, 0.0))}


# bench/go/markcal's shapes as the emulator counts their mark work (tests/test_clock_costs.py
# builds them in goruntime and checks these counts): objects marked, Green Tea spans touched
# (16..512-byte objects with pointers: objects per span by size, Go 1.27's Green Tea
# columns), chain links (objects scanned with exactly one pointer) and scan bytes.
MARK_RECORD = HERE / "markcal.json"
MARK_SPAN_OBJECTS = {16: 496, 64: 124, 256: 31}
WIDE_WORDS = 16384                # "wide": large arrays of 16384 pointers to one object
MARK_MODEL_EXCLUDED = ("list_random",)   # memory latency: not a term of the model (docs)


def mark_counts(row: dict) -> dict:
    """The emulator's counts for one bench/go/markcal row: ``objects``, ``spans``,
    ``links``, ``scan_bytes`` (each node's two pointer words lead: 16 bytes of scan work;
    a list node has one pointer but for its list's last; a complete tree none) and
    ``scan_large`` (the part of it in objects over 512 bytes)."""
    n, k, shape = row["objects"], row["k"], row["shape"]
    if shape == "wide":
        sb = n * WIDE_WORDS * 8
        return {"objects": n, "spans": 0, "links": 0, "scan_bytes": sb, "scan_large": sb}
    if shape == "noscan":             # the slice holding them: one large object
        return {"objects": n + 1, "spans": 0, "links": 0, "scan_bytes": 8 * n,
                "scan_large": 8 * n}
    per = MARK_SPAN_OBJECTS[row["size"]]
    return {"objects": n, "spans": -(-n * k // per),
            "links": n - 1 if shape.startswith("list") else 0, "scan_bytes": 16 * n,
            "scan_large": 0}


def mark_rows(mark_record: dict) -> list:
    """Each shape's Go mark CPU beyond the empty heap's (ns: per run, the fastest of its
    repetitions, the one least disturbed on a shared machine; then the median over the
    runs) with the emulator's counts (`mark_counts`)."""
    runs = mark_record["runs"]
    out = []
    for row in runs[0]["rows"]:
        if row["shape"] == "empty":
            continue
        key = (row["shape"], row["size"], row["k"], row["objects"])
        ys = []
        for run in runs:
            empty = next(r for r in run["rows"] if r["shape"] == "empty")
            r = next(r for r in run["rows"]
                     if (r["shape"], r["size"], r["k"], r["objects"]) == key)
            ys.append(r["mark_ns_min"] - empty["mark_ns_min"])
        out.append({"shape": row["shape"], "size": row["size"], "k": row["k"],
                    "go_ns": float(np.median(ys)), **mark_counts(row)})
    return out


def fit_mark(mark_record: dict) -> dict:
    """``mark_object``, ``mark_span``, ``mark_link``, ``mark_byte`` and
    ``mark_large_byte`` (ns): non-negative least squares (relative errors) of Go's mark
    CPU over bench/go/markcal's shapes -- trees and lists of 16-, 64- and 256-byte
    objects at span densities 1 down to 1/32, pointer-free objects, large pointer arrays
    -- as ``objects * mark_object + spans * mark_span + links * mark_link + scan_bytes *
    mark_byte + scan_large * mark_large_byte``. Green Tea's cost per object falls with
    the objects it scans per span visit: more per touched span when the spans are dense
    (``spans``), one per visit along a list (``links``); a large object is scanned
    pointer by pointer (``scan_large``: its bytes cost more than a dense span's). Lists in
    random address order are left out: their cost is memory latency, which the model has
    no term for (docs/emulation.md)."""
    sig = lambda x: float(f"{x:.4g}")                    # noqa: E731
    rows = [r for r in mark_rows(mark_record) if r["shape"] not in MARK_MODEL_EXCLUDED]
    cols = {"object": "objects", "span": "spans", "link": "links", "byte": "scan_bytes",
            "large_byte": "scan_large"}
    c = _nnls({k: [r[v] for r in rows] for k, v in cols.items()}, [r["go_ns"] for r in rows])
    return {f"mark_{k}": sig(c.get(k, 0.0)) for k in cols}


def table(record: dict, oracle: dict, mark_record: dict) -> dict:
    """The cost table: `fit` of bench/clockcal.json, the mark's fixed part and the sweep
    from `fit_oracle` (the oracle's shapes at Go's defaults), the mark's per-object,
    per-span, per-link and per-byte costs from `fit_mark` (bench/markcal.json)."""
    return {**fit(record), **fit_oracle(oracle, record), **fit_mark(mark_record)}


def _empty_trace(run: dict, stderr: str) -> list:
    """gctrace's (sweep termination, mark termination) clock fields, as printed, of the
    empty-heap cycles (kept in the record)."""
    empty = next(r for r in run["gc"] if r["shape"] == "empty")
    want = set(empty["gcs"])
    out = []
    for line in stderr.splitlines():
        mt = _TRACE.match(line)
        if mt and int(mt.group(1)) in want:
            out.append([mt.group(2), mt.group(4)])
    return out


def _stw1_share(pairs: list) -> float:
    """Sweep termination's share of the two pauses (median over the cycles); gctrace
    prints a pause under 1 µs as 0: the middle of that interval, 0.5 µs, is taken."""
    shares = []
    for a, c in pairs:
        a, c = (float(x) or 0.0005 for x in (a, c))
        shares.append(a / (a + c))
    return float(np.median(shares)) if shares else 0.5


def measure(runs: int) -> dict:
    sys.path.insert(0, str(HERE.parent / "tests" / "oracle"))
    import harness                                   # the oracle's toolchain finder

    go = harness.find_go()
    exe = HERE / ".cache" / "go" / "clockcal"
    exe.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([go.path, "build", "-trimpath", "-o", str(exe), "./clockcal"], cwd=HERE / "go",
                   env=dict(go.env), check=True, timeout=600)
    env = {k: v for k, v in os.environ.items() if k not in ("GOGC", "GOMEMLIMIT", "GODEBUG")}
    # cpu.avx512vl=off: Go counts heap scan work as the emulator does (up to the last
    # pointer word), not by whole slots (the AVX-512 packed span scan, docs/emulation.md)
    env.update(GOMAXPROCS="1", GODEBUG="gctrace=1,cpu.avx512vl=off")
    out = []
    for i in range(runs):
        p = subprocess.run([str(exe)], env=env, capture_output=True, text=True, check=True, timeout=900)
        run = json.loads(p.stdout)
        run["empty_trace"] = _empty_trace(run, p.stderr)
        out.append(run)
        print(f"run {i + 1}/{runs} done", file=sys.stderr)
    return {"go_version": go.version, "how": (
        f"python -m bench.clockcal --runs {runs}: bench/go/clockcal run {runs} times with "
        f"GOMAXPROCS=1 on this machine ({os.cpu_count()} cores, shared with other work), "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; each figure is the median of "
        f"7 repetitions, the fit takes the median over runs"), "runs": out}


def measure_mark(runs: int) -> dict:
    """Run bench/go/markcal *runs* times (GOMAXPROCS=1, Go's defaults: Green Tea and its
    packed span scan on, as programs run) and keep every run's rows."""
    sys.path.insert(0, str(HERE.parent / "tests" / "oracle"))
    import harness                                   # the oracle's toolchain finder

    go = harness.find_go()
    exe = HERE / ".cache" / "go" / "markcal"
    exe.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([go.path, "build", "-trimpath", "-o", str(exe), "./markcal"], cwd=HERE / "go",
                   env=dict(go.env), check=True, timeout=600)
    env = {k: v for k, v in os.environ.items() if k not in ("GOGC", "GOMEMLIMIT", "GODEBUG")}
    env.update(GOMAXPROCS="1")
    out = []
    for i in range(runs):
        load = os.getloadavg()[0]
        p = subprocess.run([str(exe)], env=env, capture_output=True, text=True, check=True,
                           timeout=1800)
        run = json.loads(p.stdout)
        run["load1"] = round(load, 2)
        out.append(run)
        print(f"run {i + 1}/{runs} done", file=sys.stderr)
    return {"go_version": go.version, "how": (
        f"python -m bench.clockcal --mark --runs {runs}: bench/go/markcal run {runs} times "
        f"with GOMAXPROCS=1 at Go's defaults on this machine ({os.cpu_count()} cores, shared "
        f"with other work: each run's 1-minute load average at its start is its load1), "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; each row holds the median "
        f"and the fastest of its repetitions (mark CPU from runtime/metrics, wall time of "
        f"the mark workers: a loaded machine inflates it, the fastest is the least "
        f"disturbed); fit_mark takes the fastest, then the median over runs"), "runs": out}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--record", type=Path, help="write the runs and the fitted table here")
    ap.add_argument("--mark", action="store_true",
                    help="measure bench/go/markcal instead (the mark's per-object, per-span, "
                         "per-link and per-byte costs; --record defaults to bench/markcal.json)")
    args = ap.parse_args(argv)
    oracle = json.loads(ORACLE_RECORD.read_text())
    if args.mark:
        mrec = measure_mark(args.runs)
        mrec["fit"] = fit_mark(mrec)
        for k, v in mrec["fit"].items():
            print(f"{k:24s} {v:g}")
        (args.record or MARK_RECORD).write_text(json.dumps(mrec, indent=1, sort_keys=True) + "\n")
        return 0
    rec = measure(args.runs)
    rec["fit"] = fit(rec)
    for k, v in table(rec, oracle, json.loads(MARK_RECORD.read_text())).items():
        print(f"{k:24s} {v:g}")
    if args.record:
        args.record.write_text(json.dumps(rec, indent=1, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
