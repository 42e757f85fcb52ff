"""`python3 -m bench.markfit`: one mark shape at several heap sizes, real Go and goruntime
interleaved, and a fit of each side's mark time as ``fixed + per_object * n``.

    python3 -m bench.markfit --shape list --sizes 0.25,0.5,1,2,5,10 --rounds 3 [--perf]

Why: issue #20's growth goal compares the per-object mark cost at 10M with that at 1M. A
fixed cost per cycle would make a side's per-object cost fall with n; the fit shows whether
either side has one, and the rounds show how far one size's cost moves from process to
process (bench/README.md, "The list mark's growth"). Each process is the mark row's own:
``bench/go/shapes -mode mark`` (5 measured cycles after 2 warm ones, GOMAXPROCS=1) and
``bench.goruntime_side mark_default`` (5 marks after 1 warm one); sizes alternate their
order round by round, the two sides alternate within a size.

Go's mark CPU is the mark row's ``mark_cpu_adj_ns`` (the workers' wall time times the
process's CPU share); with ``--perf`` it is also counted from ``perf record -e task-clock``
samples whose stack holds ``runtime.gcBgMarkWorker`` (CPU time however loaded the machine
is), each assigned to its cycle by time (the cycles' CLOCK_MONOTONIC bounds in the row). goruntime's is
``_mark.mark``'s thread CPU time. Prints a table and writes JSON lines (``--out``).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from . import go_side

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PERF_PERIOD = 50_000            # task-clock ns per sample
RUNS, WARM = 5, 2


def go_perf_cycles(shape, n):
    """Go's mark row under ``perf record -k CLOCK_MONOTONIC``: (the row's JSON, mark CPU ns
    of each measured cycle from task-clock samples)."""
    env = {k: v for k, v in os.environ.items() if k not in ("GOGC", "GOMEMLIMIT", "GODEBUG")}
    env.update(GOMAXPROCS="1", GOGC="100")
    with tempfile.TemporaryDirectory() as d:
        data = os.path.join(d, "perf.data")
        r = subprocess.run(["perf", "record", "-q", "-k", "CLOCK_MONOTONIC", "-e", "task-clock",
                            "-c", str(PERF_PERIOD), "-g", "-o", data,
                            str(go_side.CACHE / "shapes"), "-mode", "mark", "-shape", shape,
                            "-n", str(n), "-runs", str(RUNS), "-warm", str(WARM)],
                           env=env, capture_output=True, text=True)
        if r.returncode:
            raise RuntimeError(f"perf record failed: {r.stderr[-2000:]}")
        out = json.loads(r.stdout.strip().splitlines()[-1])
        script = subprocess.run(["perf", "script", "-i", data, "-F", "time,ip,sym", "--ns"],
                                capture_output=True, text=True, check=True).stdout
    windows = [(c["t0_mono_ns"], c["t1_mono_ns"]) for c in out["cycles"]]
    return out, [k * PERF_PERIOD for k in mark_samples(script, windows)]


def mark_samples(script, windows):
    """Samples under ``runtime.gcBgMarkWorker`` in each [t0, t1] window (CLOCK_MONOTONIC
    ns; a measured cycle's, from bench/go/shapes) of ``perf script -F time,ip,sym --ns``
    output: one blank-line-separated sample each, its first line the time in seconds."""
    counts = [0] * len(windows)
    for blk in script.split("\n\n"):
        lines = blk.strip().splitlines()
        if not lines or "runtime.gcBgMarkWorker" not in blk:
            continue
        sec, _, frac = lines[0].strip().rstrip(":").partition(".")
        t = int(sec) * 1_000_000_000 + int(frac.ljust(9, "0")[:9])
        for i, (t0, t1) in enumerate(windows):
            if t0 <= t <= t1:
                counts[i] += 1
                break
    return counts


def measure(side, shape, n, perf):
    if side == "go":
        if perf:
            out, cyc = go_perf_cycles(shape, n)
            rec = {"perf": [x / n for x in cyc]}
        else:
            out, rec = go_side.mark(shape, n, RUNS, WARM), {}
        rec["per"] = [c["mark_cpu_adj_ns"] / n for c in out["cycles"]]
        return rec
    env = {k: v for k, v in os.environ.items() if k not in ("GOGC", "GOMEMLIMIT", "GODEBUG")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    r = subprocess.run([sys.executable, "-m", "bench.goruntime_side", "mark_default",
                        "--shape", shape, "--n", str(n), "--runs", str(RUNS)], cwd=ROOT,
                       env=env, capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError(f"goruntime_side failed: {r.stderr[-2000:]}")
    d = json.loads(r.stdout.strip().splitlines()[-1])
    return {"per": [x["mark_cpu_ns"] / n for x in d["runs"]]}


def fit(points):
    """Least squares of total mark time (ns) on n: (fixed ms, per-object ns)."""
    ns = np.array([n for n, _ in points], float)
    c, f = np.polyfit(ns, np.array([n * t for n, t in points]), 1)
    return f / 1e6, c


def report(recs, sizes, key):
    """Per side: each size's median per round, the fit of every round's medians, and the
    growth from 1M to 10M per round (when both sizes ran)."""
    for side in ("go", "goruntime"):
        rs = [r for r in recs if r["side"] == side and key in r]
        if not rs:
            continue
        rounds = sorted({r["round"] for r in rs})
        med = {(r["round"], r["n"]): statistics.median(r[key]) for r in rs}
        print(f"\n{side} ({key}), ns per object; rows are rounds")
        print("       " + " ".join(f"{n / 1e6:>7g}M" for n in sizes))
        for k in rounds:
            print(f"  r{k:<3} " + " ".join(f"{med[(k, n)]:8.1f}" if (k, n) in med else
                                          "       -" for n in sizes))
        pts = [(n, t) for (_, n), t in med.items()]
        if len({n for n, _ in pts}) > 1:
            f, c = fit(pts)
            print(f"  fit over all rounds: fixed {f:.2f} ms per cycle, {c:.2f} ns per object")
        g = [med[(k, 10**7)] / med[(k, 10**6)] for k in rounds
             if (k, 10**7) in med and (k, 10**6) in med]
        if g:
            print("  growth 1M -> 10M by round: " + ", ".join(f"{x:.2f}" for x in g))


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m bench.markfit", description=__doc__.split("\n")[0])
    ap.add_argument("--shape", default="list", choices=("list", "tree", "graph", "randlist"))
    ap.add_argument("--sizes", default="0.25,0.5,1,2,5,10", help="millions of objects")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--perf", action="store_true",
                    help="also count Go's mark CPU from perf task-clock samples")
    ap.add_argument("--out", default=str(HERE / ".cache" / "markfit.jsonl"),
                    help="JSON lines, appended (default bench/.cache/markfit.jsonl)")
    a = ap.parse_args(argv)
    sizes = [int(round(float(x) * 1e6)) for x in a.sizes.split(",")]
    err = go_side.build(lambda m: print(m, file=sys.stderr))
    if err:
        ap.error(err)
    recs = []
    with open(a.out, "a") as f:
        for k in range(a.rounds):
            for i, n in enumerate(sizes if k % 2 == 0 else sizes[::-1]):
                for side in (("go", "goruntime") if (k + i) % 2 == 0 else ("goruntime", "go")):
                    t0, load = time.time(), os.getloadavg()[0]
                    rec = measure(side, a.shape, n, a.perf)
                    rec.update(side=side, shape=a.shape, n=n, round=k, time=t0, load=load)
                    recs.append(rec)
                    f.write(json.dumps(rec) + "\n")
                    f.flush()
                    print(f"round {k} {side:9} {n / 1e6:g}M: "
                          f"{statistics.median(rec['per']):.1f} ns/object (load {load:.1f})",
                          file=sys.stderr, flush=True)
    report(recs, sizes, "per")
    if a.perf:
        report(recs, sizes, "perf")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
