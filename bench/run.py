"""`python3 -m bench`: goruntime vs real Go 1.27.3 vs CPython, one table, ratios per row.

Every measurement runs in a fresh process (``bench/go_side.py`` runs the Go programs:
``bench/go/shapes`` and the workloads in ``tests/go/workloads``; ``bench.goruntime_side``
and ``bench.cpython_side`` are the Python workers), one side after the other for each row, so the three numbers of a row are taken
minutes apart at most. Each number is the median over the runs of its row. See
bench/README.md for what every row measures.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

from . import go_side, machine

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SHAPES = ("list", "tree", "graph", "randlist")
SHAPE_TITLE = {"list": "list, allocation order", "tree": "balanced binary tree",
               "graph": "random graph, out-degree 2", "randlist": "list, random address order"}
SKIP_WORKLOADS = "skipped: goruntime.workloads not built"
MiB = 1 << 20


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def spread_note(gr, go, runs):
    """A mark row's rounds: each side's per-round medians, lowest to highest, and the
    per-round ratios (each round's two processes ran one after the other)."""
    def rng(xs, f="{:.3g}"):
        xs = sorted(x for x in xs if x is not None)
        return "-" if not xs else f.format(xs[0]) if len(xs) == 1 else \
            f"{f.format(xs[0])}-{f.format(xs[-1])}"
    ratios = [x / y for x, y in zip(gr, go) if x and y]
    return (f"{len(gr)} round(s) of {runs} runs, medians of the round medians; per round: "
            f"goruntime {rng(gr)}, Go {rng(go)} ns, ratio {rng(ratios, '{:.2f}')}")


def size_name(n):
    return f"{n // 1_000_000}M" if n % 1_000_000 == 0 else str(n)


class Bench:
    def __init__(self, args):
        self.args = args
        self.rows = []
        self.raw = {}
        self.t0 = time.monotonic()

    # -- plumbing ------------------------------------------------------------------------
    def log(self, msg):
        print(f"[{time.monotonic() - self.t0:6.0f}s] {msg}", file=sys.stderr, flush=True)

    def worker(self, module, *args):
        env = {k: v for k, v in os.environ.items() if k not in ("GOGC", "GOMEMLIMIT", "GODEBUG",
                                                            "GORUNTIME_TEST_ARENA_CAP")}
        env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        r = subprocess.run([sys.executable, "-m", f"bench.{module}", *map(str, args)], cwd=ROOT,
                           env=env, capture_output=True, text=True)
        if r.returncode:
            raise RuntimeError(f"{module} {' '.join(map(str, args))} failed ({r.returncode}):\n"
                               f"{r.stderr[-3000:]}")
        return json.loads(r.stdout.strip().splitlines()[-1])

    def go(self, fn, *args):
        if self.go_error:
            return None
        try:
            return fn(*args)
        except Exception as e:          # a failing Go run leaves its cells empty, not the table
            self.log(f"go: {e}")
            return None

    def row(self, workload, metric, gr, go, py, better="lower", unit="", note=None, spread=None):
        ratio = None
        if isinstance(gr, (int, float)) and isinstance(go, (int, float)) and go:
            ratio = gr / go
        self.rows.append({"workload": workload, "metric": metric, "unit": unit, "better": better,
                          "goruntime": gr, "go": go, "cpython": py, "ratio": ratio,
                          **({"note": note} if note else {}),
                          **({"spread": spread} if spread else {})})

    # -- sections ------------------------------------------------------------------------
    def mark(self, n):
        a = self.args
        runs = a.runs if n <= 1_000_000 else 3       # 10M rows: 3 runs (CPython: ~20 s each)
        for shape in SHAPES:
            key = f"mark/{shape}/{size_name(n)}"
            self.log(f"{key}: go")
            g = self.go(go_side.mark, shape, n, runs, 2)
            self.log(f"{key}: goruntime")
            r = self.worker("goruntime_side", "mark", "--shape", shape, "--n", n, "--runs", runs)
            self.log(f"{key}: cpython")
            p = self.worker("cpython_side", "mark", "--shape", shape, "--n", n, "--runs", runs)
            # More rounds of the default mark, Go's and goruntime's processes interleaved
            # (their order alternating): a slow spell of the shared machine lasts seconds
            # and slows whichever side is running (bench/README.md, "Noise").
            rounds = [(g, r)]
            for k in range(1, a.rounds):
                pair = {}
                for side in (("go", "goruntime") if k % 2 == 0 else ("goruntime", "go")):
                    self.log(f"{key}: {side}, round {k + 1} of {a.rounds}")
                    pair[side] = (self.go(go_side.mark, shape, n, runs, 2) if side == "go" else
                                  self.worker("goruntime_side", "mark_default", "--shape", shape,
                                              "--n", n, "--runs", runs))
                rounds.append((pair["go"], pair["goruntime"]))
            self.raw[key] = {"go": g, "goruntime": r, "cpython": p,
                             "rounds": [{"go": x, "goruntime": y} for x, y in rounds[1:]]}
            gr_r = [med(x["mark_cpu_ns"] / n for x in y["runs"]) for _, y in rounds]
            go_r = [med(x["mark_cpu_adj_ns"] / n for x in gx["cycles"]) if gx else None
                    for gx, _ in rounds]
            gc_ = g["cycles"] if g else []
            go_mark = med(go_r)
            # each side's fastest measured cycle over all rounds: the least disturbed one
            # (the growth goal prints their ratio beside the medians', see growth_spread)
            fast = {"goruntime": min(x["mark_cpu_ns"] / n for _, y in rounds for x in y["runs"]),
                    "go": min((x["mark_cpu_adj_ns"] / n for gx, _ in rounds if gx
                               for x in gx["cycles"]), default=None)}
            title = f"{SHAPE_TITLE[shape]}, {size_name(n)}"
            self.row(title, "mark CPU / object", med(gr_r), go_mark,
                     med((x["cpu_ns"] - p["baseline_cpu_ns"]) / n for x in p["runs"]), unit="ns",
                     note=spread_note(gr_r, go_r, runs),
                     spread={"goruntime": gr_r, "go": go_r,
                             "ratio": [x / y if x and y else None for x, y in zip(gr_r, go_r)],
                             "fastest": fast})
            self.row(title, "mark CPU / object, span-batched", med(
                         x["mark_cpu_ns"] / n for x in r["runs_batched"]),
                     go_mark, None, unit="ns",
                     note="goruntime: mark(batched=True), Green Tea to the end (first round "
                          "only); Go: its default (Green Tea) mark, as in the row above")
            self.row(title, "mark CPU / object, object at a time", med(
                         x["mark_cpu_ns"] / n for x in r["runs_objects"]),
                     go_mark, None, unit="ns",
                     note="goruntime: mark(batched=False), the prefetch-ring drain to the end "
                          f"(first round only); the default mark ran: {r['mark_path'].get('drain')}")
            if shape == "graph":
                self.log(f"{key}: go, GOMAXPROCS=2")
                g2 = self.go(go_side.mark, shape, n, runs, 2, 2)
                self.raw[key]["go_procs2"] = g2
                par = med(x["mark_ns"] / n for x in r["runs_parallel2"])
                self.row(title, "mark wall / object, GOMAXPROCS=2", par,
                         med(x["gctrace_mark_wall_ns"] / n for x in g2["cycles"]
                             if "gctrace_mark_wall_ns" in x) if g2 else None, None, unit="ns",
                         note="goruntime: _gcwork.mark, 2 worker threads; Go: gctrace's "
                              "concurrent-mark wall clock at GOMAXPROCS=2")
                self.row(title, "parallel mark speedup (serial wall / 2-worker wall)",
                         med(x["mark_ns"] / n for x in r["runs"]) / par, None, None,
                         better="higher", unit="x")
                self.row(title, "parallel mark CPU / object, both workers", med(
                             x["mark_process_cpu_ns"] / n for x in r["runs_parallel2"]),
                         None, None, unit="ns",
                         note="process CPU of the 2-worker mark (waiting spins included): "
                              "the serial mark's CPU over half this is the speedup two idle "
                              "CPUs would give")
            self.row(title, "GC() wall / object", med(x["wall_ns"] / n for x in r["gc"]),
                     med(x["wall_ns"] / n for x in gc_) if g else None,
                     med((x["wall_ns"] - p["baseline_wall_ns"]) / n for x in p["runs"]), unit="ns")

    def startup(self, n):
        """Runtime() + close() on the default arena cap, n per run (bench/goruntime_side.py
        startup); CPython: a sub-interpreter created and destroyed (cpython_side startup),
        fewer per run (each costs ~50x more)."""
        a = self.args
        self.log("startup: goruntime")
        r = self.worker("goruntime_side", "startup", "--n", n, "--runs", a.runs_slow)
        self.log("startup: cpython")
        np_ = max(1, n // 40)
        p = self.worker("cpython_side", "startup", "--n", np_, "--runs", a.runs_slow)
        self.raw["startup"] = {"goruntime": r, "cpython": p}
        py = p.get("runs")
        title = f"Runtime() + close(), default arena cap, {n} in a loop"
        self.row(title, "CPU / runtime", med(x["cpu_ns"] / n / 1e3 for x in r["runs"]), None,
                 med(x["cpu_ns"] / np_ / 1e3 for x in py) if py else None, unit="us",
                 note="thread CPU (user + system); CPython: a sub-interpreter created and "
                      "destroyed (its own modules, objects and collector)")
        self.row(title, "wall / runtime", med(x["wall_ns"] / n / 1e3 for x in r["runs"]), None,
                 None, unit="us")
        self.row(title, "page faults / runtime", med(x["minflt"] / n for x in r["runs"]), None,
                 med(x["minflt"] / np_ for x in py) if py else None, unit="faults",
                 note="minor faults: fresh pages the kernel backed")

    def sweep(self, n):
        key = f"sweep/{size_name(n)}"
        self.log(f"{key}: go")
        g = self.go(go_side.sweep, n, self.args.runs_slow)
        self.log(f"{key}: goruntime")
        r = self.worker("goruntime_side", "sweep", "--n", n, "--runs", self.args.runs_slow)
        self.raw[key] = {"go": g, "goruntime": r}
        self.row(f"sweep, half-garbage heap, {size_name(n)}", "sweep CPU / span",
                 med(x["sweep_cpu_ns"] / x["spans"] for x in r["runs"]),
                 med(x["sweep_est_adj_ns"] / x["spans"] for x in g["cycles"]) if g else None,
                 None, unit="ns", note="Go: estimate (runtime.GC() CPU minus mark and pause)")

    def alloc(self, n, nh):
        a = self.args
        self.log("alloc: go")
        g = self.go(go_side.alloc, n, a.runs_slow)
        self.log("alloc: goruntime bulk")
        r = self.worker("goruntime_side", "alloc", "--n", n, "--runs", a.runs_slow)
        self.log("alloc: goruntime handles")
        h = self.worker("goruntime_side", "handles", "--n", nh, "--runs", a.runs_slow)
        self.log("alloc: go new")
        gn = self.go(go_side.new, nh, a.runs_slow)
        self.log("alloc: cpython")
        p = self.worker("cpython_side", "alloc", "--n", n, "--runs", a.runs_slow)
        pn = self.worker("cpython_side", "new", "--n", nh, "--runs", a.runs_slow)
        pf = self.worker("cpython_side", "fields", "--n", nh, "--runs", a.runs_slow)
        self.raw["alloc"] = {"go": g, "goruntime": r, "goruntime_handles": h, "cpython": p,
                             "go_new": gn, "cpython_new": pn, "cpython_fields": pf}
        go_rate = med(n / x * 1e3 for x in g["alloc_cpu_ns"]) if g else None       # M objects/s
        py_rate = med(n / x["alloc_cpu_ns"] * 1e3 for x in p["runs"])
        self.row(f"allocation, 32-byte objects, {size_name(n)}", "bulk alloc_many (Go: &T{})",
                 med(n / x["alloc_cpu_ns"] * 1e3 for x in r["runs"]), go_rate, py_rate,
                 better="higher", unit="M objects/s")
        self.row(f"allocation, 32-byte objects, {size_name(n)}", "bulk store_pointers",
                 med((n - 1) / x["store_cpu_ns"] * 1e3 for x in r["runs"]), None, None,
                 better="higher", unit="M stores/s")
        # One by one, each kept alive, collector on (GOGC=100; CPython's default thresholds):
        # the same measurement on all three sides, in objects per second.
        self.row(f"rt.new(T) handles, kept alive, GC on, {nh // 1000}k",
                 "rt.new(T) (Go: &T{}; CPython: T())",
                 med(nh / x["new_cpu_ns"] * 1e3 for x in h["runs"]),
                 med(nh / x * 1e3 for x in gn["alloc_cpu_ns"]) if gn else None,
                 med(nh / x["alloc_cpu_ns"] * 1e3 for x in pn["runs"]),
                 better="higher", unit="M objects/s")
        # The same comparison in one process: CPython's Node() timed in the goruntime
        # worker, run by run beside rt.new (the cycle collector walks numpy's and
        # goruntime's objects on both sides; the cpython worker above has neither).
        if "slots_new_cpu_ns" in h["runs"][0]:
            self.row(f"rt.new(T) handles, kept alive, GC on, {nh // 1000}k",
                     "rt.new(T) vs CPython T() in the same process",
                     med(nh / x["new_cpu_ns"] * 1e3 for x in h["runs"]), None,
                     med(nh / x["slots_new_cpu_ns"] * 1e3 for x in h["runs"]),
                     better="higher", unit="M objects/s",
                     note="CPython column: Node() in the goruntime worker, alternating with "
                          "rt.new run by run")
        # The same, each side charged with the collections that walk what its loop made
        # (`cpython_side.settle`): a handle is tracked by CPython's collector at its next
        # full collection, so the loop alone leaves that work out of rt.new's time.
        if "new_settle_cpu_ns" in h["runs"][0] and "settle_cpu_ns" in pn["runs"][0]:
            self.row(f"rt.new(T) handles, kept alive, GC on, {nh // 1000}k",
                     "rt.new(T) + the collections after it (CPython: T())",
                     med(nh / (x["new_cpu_ns"] + x["new_settle_cpu_ns"]) * 1e3 for x in h["runs"]),
                     None,
                     med(nh / (x["alloc_cpu_ns"] + x["settle_cpu_ns"]) * 1e3 for x in pn["runs"]),
                     better="higher", unit="M objects/s",
                     note="after each loop, gc.collect(0), (1), (2) timed with it")
            self.row(f"rt.new(T) handles, kept alive, GC on, {nh // 1000}k",
                     "rt.new(T) + the collections after it, vs T() in the same process",
                     med(nh / (x["new_cpu_ns"] + x["new_settle_cpu_ns"]) * 1e3 for x in h["runs"]),
                     None,
                     med(nh / (x["slots_new_cpu_ns"] + x["slots_settle_cpu_ns"]) * 1e3
                         for x in h["runs"]),
                     better="higher", unit="M objects/s",
                     note="after each loop, gc.collect(0), (1), (2) timed with it")
        for f, label in (("read_int", "p.x read (int field)"), ("write_int", "p.x = i"),
                         ("read_ptr", "p.a read (pointer field, new handle)"),
                         ("write_ptr", "p.a = q (pointer field)"),
                         ("read_elem", "s[3] read ([]int element)"),
                         ("write_elem", "s[3] = i ([]int element)")):
            if f + "_ns" not in h["runs"][0]:
                continue
            self.row("handle field access", label,
                     med((x[f + "_ns"] - x["loop_ns"]) / nh for x in h["runs"]), None,
                     med((x[f + "_ns"] - x["loop_ns"]) / nh for x in pf["runs"]), unit="ns",
                     note="thread CPU, net of the empty for-loop; CPython: __slots__ "
                          "attribute, list element")

    def workload(self, name, go_fn, gr_args, title):
        a = self.args
        self.log(f"{name}: go x{a.runs_slow}")
        gs = [self.go(go_fn) for _ in range(a.runs_slow)]
        gs = [g for g in gs if g]
        self.log(f"{name}: goruntime x{a.runs_slow}")
        r = self.worker("goruntime_side", *gr_args, "--runs", a.runs_slow)
        self.raw[name] = {"go": gs, "goruntime": r}
        skipped = r.get("skipped")
        if skipped:
            self.log(f"{name}: {skipped}")
        rr = [] if skipped else r["runs"]

        def gr(f):
            return SKIP_WORKLOADS if skipped else med(f(x) for x in rr)

        def go(f):
            return med(f(x) for x in gs) if gs else None
        self.row(title, "wall", gr(lambda x: x["wall_seconds"]), go(lambda x: x["wall_ns"] / 1e9),
                 None, unit="s")
        self.row(title, "CPU", gr(lambda x: x["cpu_seconds"]), go(lambda x: x["cpu_ns"] / 1e9),
                 None, unit="s")
        self.row(title, "NumGC", gr(lambda x: x["num_gc"]), go(lambda x: x["NumGC"]), None,
                 better="equal")
        self.row(title, "Mallocs", gr(lambda x: x["mallocs"]), go(lambda x: x["Mallocs"]), None,
                 better="equal")

    def rss(self, n):
        self.log(f"rss/{size_name(n)}: go")
        g = self.go(go_side.rss, n)
        self.log(f"rss/{size_name(n)}: goruntime")
        r = self.worker("goruntime_side", "rss", "--n", n)
        self.raw[f"rss/{size_name(n)}"] = {"go": g, "goruntime": r}
        title = f"{size_name(n)} live objects (list)"
        self.row(title, "RSS", r["rss_bytes"] / MiB, g["rss_bytes"] / MiB if g else None, None,
                 unit="MiB")
        self.row(title, "HeapSys", r["heap_sys"] / MiB, g["heap_sys"] / MiB if g else None, None,
                 unit="MiB", better="equal")
        self.row(title, "RSS / (1.3 HeapSys + 64 MiB)",
                 r["rss_bytes"] / (1.3 * r["heap_sys"] + 64 * MiB),
                 g["rss_bytes"] / (1.3 * g["heap_sys"] + 64 * MiB) if g else None, None,
                 unit="x", note="target <= 1")

    def heapdump(self, n):
        """Rows for goruntime.heapdump on a real Go heap of *n* objects (tests/go/heapdump)."""
        import tempfile
        src = go_side.ROOT / "tests" / "go" / "heapdump"
        env = dict(os.environ, GOTOOLCHAIN="local", GOMAXPROCS="1", CGO_ENABLED="0")
        go = go_side.go_exe()
        if self.go_error or go is None:
            self.log("heapdump: no Go toolchain, rows skipped")
            return
        with tempfile.TemporaryDirectory() as tmp:
            exe, dump = os.path.join(tmp, "prog"), os.path.join(tmp, "heap.dump")
            subprocess.run([go, "build", "-trimpath", "-o", exe, "."], cwd=src, env=env, check=True)
            subprocess.run([exe, "big", str(n), dump], env=env, check=True, capture_output=True)
            runs = [self.worker("heapdump_side", n, dump, exe) for _ in range(self.args.runs_slow)]
        self.raw[f"heapdump/{n}"] = runs
        title = f"heap dump, {size_name(n)} objects ({runs[0]['bytes'] / 1e6:.0f} MB)"
        cpu = lambda k: med([r[k + "_cpu"] for r in runs])
        self.row(title, "parse (Cython)", med([r["parse_mb_s"] for r in runs]), None, None,
                 better="higher", unit="MB/s", note=f"target >= 200; {cpu('parse_mb_s'):.0f} per CPU second")
        self.row(title, "load: parse + graph" + (" + Runtime" if runs[0]["runtime_built"] else ""),
                 med([r["load_mb_s"] for r in runs]), None, None, better="higher", unit="MB/s",
                 note=f"target >= 200; {cpu('load_mb_s'):.0f} per CPU second"
                      + (f" (user {med([r['load_user_s'] for r in runs]):.2f} s, kernel "
                         f"{med([r['load_sys_s'] for r in runs]):.2f} s)" if "load_sys_s" in runs[0] else "")
                      + f"; {runs[0].get('threads', 1)} threads")
        ig = [r["igraph_dominators_s"] for r in runs if r["igraph_dominators_s"] is not None]
        self.row(title, "dominator tree (Cython Semi-NCA; igraph in note)",
                 med([r["dominators_s"] for r in runs]), None, None, unit="s",
                 note=(f"igraph {med(ig):.2f} s; " if ig else "") + f"CPU {cpu('dominators_s'):.2f} s; target < 30 s at 10M")
        self.row(title, "why_alive (first call, runs the BFS)",
                 med([r["why_alive_first_s"] for r in runs]), None, None, unit="s",
                 note=f"CPU {cpu('why_alive_first_s'):.2f} s; later calls "
                      f"{med([r['why_alive_s'] for r in runs]) * 1e3:.1f} ms; target < 1 s")
        if runs[0].get("types_s") is not None:
            self.row(title, "Go types from DWARF (read + propagate)",
                     med([r["types_s"] for r in runs]), None, None, unit="s",
                     note=f"CPU {cpu('types_s'):.2f} s; {runs[0]['typed_fraction']:.1%} of objects typed")

    def trace(self):
        """goruntime.trace rows: parse MB/s, replay allocations/s, a 16-point Dask sweep of
        a 10M-allocation trace on 1 and 2 local workers (bench/trace_side.py)."""
        a = self.args
        path = HERE / ".cache" / "trace" / "steady-10M.trace"
        if not path.exists():
            self.log("trace: recording tests/go/tracer steady at scale 0.05 (~10M allocations)")
            m = self.worker("trace_side", "make", "--out", path, "--scale", 0.05)
            if m.get("skipped"):
                self.log(f"trace: {m['skipped']}")
                return
        title = "Go trace, steady state, 10M allocations"
        self.log(f"trace: parse x{a.runs_slow}")
        p = self.worker("trace_side", "parse", "--trace", path, "--runs", a.runs_slow)
        self.log(f"trace: replay x{a.runs_slow}")
        r = self.worker("trace_side", "replay", "--trace", path, "--runs", a.runs_slow)
        self.log("trace: 16-point sweep on 1 worker, then on 2")
        s1 = self.worker("trace_side", "sweep", "--trace", path, "--workers", 1, "--points", 16)
        s2 = self.worker("trace_side", "sweep", "--trace", path, "--workers", 2, "--points", 16)
        self.raw["trace"] = {"parse": p, "replay": r, "sweep1": s1, "sweep2": s2}
        self.row(title, "parse (goruntime.trace.parse)",
                 med(x["bytes"] / x["seconds"] / 1e6 for x in p["runs"]), None, None,
                 better="higher", unit="MB/s", note="target >= 100")
        self.row(title, "parse, process CPU time",
                 med(x["bytes"] / x["cpu_seconds"] / 1e6 for x in p["runs"]), None, None,
                 better="higher", unit="MB/s", note="wall time above; the machine is shared")
        self.row(title, "replay (goruntime.trace.replay)",
                 med(x["allocs"] / x["seconds"] / 1e6 for x in r["runs"]), None, None,
                 better="higher", unit="M allocs/s", note="target >= 5; end to end")
        self.row(title, "replay of a prepared trace (a sweep task)",
                 med(x["allocs"] / x["prepared_seconds"] / 1e6 for x in r["runs"]), None, None,
                 better="higher", unit="M allocs/s", note="the emulated runtime alone")
        self.row(title, "16-point sweep, 1 local Dask worker", s1["seconds"], None, None, unit="s")
        self.row(title, "16-point sweep, 2 local Dask workers", s2["seconds"], None, None, unit="s")
        self.row(title, "sweep speed-up, 2 workers vs 1", s1["seconds"] / s2["seconds"], None,
                 None, better="higher", unit="x", note="target about 2; 2-core shared machine")
        if "cpu_balance" in s2:
            self.row(title, "sweep CPU balance, 2 workers (sum / max worker CPU)",
                     s2["cpu_balance"], None, None, better="higher", unit="x",
                     note="the speed-up with a core per worker")

    # -- the run -------------------------------------------------------------------------
    def run(self):
        a = self.args
        gv = go_side.go_version()
        self.machine = machine.info(gv)
        print(machine.header(self.machine), flush=True)
        mode = "full" if a.full else "default"
        sizes = [1_000_000, 10_000_000] if a.full else [1_000_000]
        print(f"mode: {mode} (sizes {', '.join(map(size_name, sizes))}; "
              f"binary-trees depth {', '.join(map(str, self.depths()))}; "
              f"{a.runs} runs per 1M mark row, 3 per 10M mark row, in {a.rounds} rounds; "
              f"{a.runs_slow} per other row; "
              f"Go with GOMAXPROCS=1)\n", flush=True)
        self.log("building the Go programs")
        self.go_error = go_side.build(self.log)
        if self.go_error:
            self.log(f"go side skipped: {self.go_error}")
        for n in sizes:
            if self.want("mark"):
                self.mark(n)
            if self.want("sweep"):
                self.sweep(n)
        if self.want("alloc"):
            self.alloc(1_000_000, 200_000)
        if self.want("startup"):
            self.startup(200)
        if self.want("rss"):
            self.rss(10_000_000)
        if self.want("heapdump"):
            for n in ([1_000_000, 10_000_000] if a.full else [1_000_000]):
                self.heapdump(n)
        if self.want("workloads"):
            for d in self.depths():
                self.workload(f"binary_trees/{d}", lambda d=d: go_side.binary_trees(d),
                              ["binary_trees", "--depth", d], f"binary-trees depth {d}")
            self.workload("gcbench", go_side.gcbench, ["gcbench"], "GCBench (18/16/500000/4..16)")
        if self.want("trace"):
            self.trace()
        self.machine["loadavg_end"] = machine.loadavg()
        self.machine["seconds"] = round(time.monotonic() - self.t0, 1)
        self.machine["mode"] = mode
        self.report()

    def depths(self):
        return [18, 21] if self.args.full else [18]

    def want(self, section):
        return not self.args.only or section in self.args.only

    # -- output --------------------------------------------------------------------------
    def targets(self):
        out = []
        rows = {(r["workload"], r["metric"]): r for r in self.rows}
        for n in ([1_000_000, 10_000_000] if self.args.full else [1_000_000]):
            for shape in SHAPES:
                r = rows.get((f"{SHAPE_TITLE[shape]}, {size_name(n)}", "mark CPU / object"))
                if not r:
                    continue
                if shape != "randlist" and r["ratio"] is not None:
                    out.append((f"mark <= 1.0x Go: {shape} {size_name(n)}", r["ratio"] <= 1.0,
                                f"{r['ratio']:.3f}x Go"))
                if r["cpython"] and r["goruntime"]:
                    need = 2 if shape in ("list", "tree") else 5
                    sp = r["cpython"] / r["goruntime"]
                    out.append((f">= {need}x faster than CPython: {shape} {size_name(n)}",
                                sp >= need, f"{sp:.1f}x"))
        r = rows.get(("allocation, 32-byte objects, 1M", "bulk alloc_many (Go: &T{})"))
        if r:
            out.append(("bulk allocation >= 20 M objects/s", r["goruntime"] >= 20,
                        f"{r['goruntime']:.1f} M/s"))
        r = rows.get(("10M live objects (list)", "RSS / (1.3 HeapSys + 64 MiB)"))
        if r:
            out.append(("RSS <= 1.3x HeapSys + 64 MiB at 10M", r["goruntime"] <= 1.0,
                        f"{r['goruntime']:.2f} of the allowance"))
        out += [(n, st == MET, v) for n, st, v in heapdump_goals(self.rows) if st != UNMEASURED]
        return out

    def report(self):
        print(format_table(self.rows))
        tg = self.targets()
        print("\ntargets:")
        for name, ok, val in tg:
            print(f"  [{'met' if ok else 'MISSED'}] {name}: {val}")
        m = self.machine
        print(f"\nload average at end: {m['loadavg_end']}; {m['seconds']} s in all")
        out = {"machine": m, "rows": self.rows,
               "targets": [{"target": n, "met": ok, "value": v} for n, ok, v in tg],
               "raw": self.raw}
        if self.args.check:
            out["goals"] = print_goals(self.rows, m)
        path = Path(self.args.json)
        path.write_text(json.dumps(out, indent=1, default=str) + "\n")
        print(f"wrote {path}")


# -- issue #20's goals (`--check`) ---------------------------------------------------------
MET, MISSED, UNMEASURED = "met", "MISSED", "not measured"


def goals(rows):
    """Issue #20's goals against the rows of one run: ``[(goal, status, value)]``.

    A goal whose rows this run did not produce (a section left out with ``--only``, the
    10M rows without ``--full``) is "not measured", never "met".
    """
    by = {(r["workload"], r["metric"]): r for r in rows}
    out = []

    def num(r, k):
        return r[k] if r and isinstance(r.get(k), (int, float)) else None

    # Mark at most 0.8x Go on every shape at 1M and 10M; no worse growth from 1M to 10M.
    for n in ("1M", "10M"):
        for shape in SHAPES:
            r = by.get((f"{SHAPE_TITLE[shape]}, {n}", "mark CPU / object"))
            ratio = num(r, "ratio")
            rr = sorted(x for x in (r or {}).get("spread", {}).get("ratio", []) if x)
            out.append((f"mark <= 0.8x Go: {shape} {n}",
                        UNMEASURED if ratio is None else MET if ratio <= 0.8 else MISSED,
                        "-" if ratio is None else f"{ratio:.2f}x Go" + (
                            f" (rounds {rr[0]:.2f}-{rr[-1]:.2f})" if len(rr) > 1 else "")))
    for shape in SHAPES:
        a = by.get((f"{SHAPE_TITLE[shape]}, 1M", "mark CPU / object"))
        b = by.get((f"{SHAPE_TITLE[shape]}, 10M", "mark CPU / object"))
        g = [num(x, k) for x in (a, b) for k in ("goruntime", "go")]
        if None in g or not g[0] or not g[1]:
            out.append((f"mark growth 1M -> 10M <= Go's: {shape}", UNMEASURED, "-"))
            continue
        ours, go = g[2] / g[0], g[3] / g[1]
        out.append((f"mark growth 1M -> 10M <= Go's: {shape}", MET if ours <= go else MISSED,
                    f"{ours:.2f}x vs Go {go:.2f}x" + growth_spread(a, b)))
    # Whole programs at GOMAXPROCS=1: at most 1.0x Go's wall time, identical Mallocs.
    for title in ("binary-trees depth 18", "binary-trees depth 21",
                  "GCBench (18/16/500000/4..16)"):
        w, m = by.get((title, "wall")), by.get((title, "Mallocs"))
        ratio = num(w, "ratio")
        out.append((f"{title}: wall <= 1.0x Go",
                    UNMEASURED if ratio is None else MET if ratio <= 1.0 else MISSED,
                    "-" if ratio is None else f"{ratio:.2f}x Go"))
        gm, om = num(m, "goruntime"), num(m, "go")
        if gm is None or om is None:
            out.append((f"{title}: Mallocs as Go's", UNMEASURED, "-"))
        else:
            # Go counts a few runtime-internal objects of its own (tests/test_workloads.py)
            out.append((f"{title}: Mallocs as Go's", MET if 0 <= om - gm <= 4 else MISSED,
                        f"{gm:,} vs Go {om:,}"))
    # Parallel mark at GOMAXPROCS=2 on the 10M random graph.
    title = f"{SHAPE_TITLE['graph']}, 10M"
    ratio = num(by.get((title, "mark wall / object, GOMAXPROCS=2")), "ratio")
    out.append(("parallel mark at GOMAXPROCS=2: wall <= 1.0x Go's (10M graph)",
                UNMEASURED if ratio is None else MET if ratio <= 1.0 else MISSED,
                "-" if ratio is None else f"{ratio:.2f}x Go"))
    sp = num(by.get((title, "parallel mark speedup (serial wall / 2-worker wall)")), "goruntime")
    out.append(("parallel mark at GOMAXPROCS=2: >= 1.6x faster than the serial mark (10M graph)",
                UNMEASURED if sp is None else MET if sp >= 1.6 else MISSED,
                "-" if sp is None else f"{sp:.2f}x"))
    # Handles as cheap as Python objects.
    r = by.get(("rt.new(T) handles, kept alive, GC on, 200k",
                "rt.new(T) (Go: &T{}; CPython: T())"))
    gr, py = num(r, "goruntime"), num(r, "cpython")
    out.append(("rt.new(T) >= CPython T() (objects/s)",
                UNMEASURED if gr is None or py is None else MET if gr >= py else MISSED,
                "-" if gr is None or py is None else f"{gr:.2f} vs {py:.2f} M/s ({gr / py:.2f}x)"))
    for metric, goal in (
            ("rt.new(T) vs CPython T() in the same process",
             "rt.new(T) in one process with CPython T(): >= its rate (objects/s)"),
            ("rt.new(T) + the collections after it (CPython: T())",
             "rt.new(T) + the collections after it >= CPython T()'s (objects/s)"),
            ("rt.new(T) + the collections after it, vs T() in the same process",
             "rt.new(T) + the collections after it, in one process with T(): >= its rate")):
        r = by.get(("rt.new(T) handles, kept alive, GC on, 200k", metric))
        gr, py = num(r, "goruntime"), num(r, "cpython")
        out.append((goal,
                    UNMEASURED if gr is None or py is None else MET if gr >= py else MISSED,
                    "-" if gr is None or py is None else f"{gr:.2f} vs {py:.2f} M/s ({gr / py:.2f}x)"))
    for metric, limit in (("p.x read (int field)", 20),
                          ("p.a read (pointer field, new handle)", 60)):
        v = num(by.get(("handle field access", metric)), "goruntime")
        out.append((f"{metric} <= {limit} ns",
                    UNMEASURED if v is None else MET if v <= limit else MISSED,
                    "-" if v is None else f"{v:.1f} ns"))
    return out


def growth_spread(a, b):
    """The growth goal's noise: each side's growth over every pair of a 1M round and a 10M
    round (the rows' ``spread``), lowest to highest, and the growth of each side's fastest
    cycle; "" when the rows have no rounds.

    The 1M and 10M rows run minutes apart, and one size's per-object cost moves from round
    to round (Go's list mark by up to 2x under load, bench/README.md "The list mark's
    growth"), so a ratio of two medians near 1.0 is decided inside this range; the fastest
    cycles (the least disturbed) move least."""
    sa, sb = (a or {}).get("spread", {}), (b or {}).get("spread", {})
    parts, fast = [], []
    for side, name in (("goruntime", "ours"), ("go", "Go")):
        g = sorted(y / x for x in sa.get(side, []) for y in sb.get(side, []) if x and y)
        if len(g) > 1:
            parts.append(f"{name} {g[0]:.2f}-{g[-1]:.2f}x")
        x, y = sa.get("fastest", {}).get(side), sb.get("fastest", {}).get(side)
        if x and y:
            fast.append(f"{name} {y / x:.2f}x")
    out = [f"1M round x 10M round: {', '.join(parts)}"] if parts else []
    if fast:
        out.append("fastest cycles: " + " vs ".join(fast))
    return f" ({', '.join(out)})" if out else ""


def heapdump_goals(rows):
    """Issue #18's goals (real Go heap dumps) against the ``make bench`` heapdump rows:
    ``[(goal, status, value)]``; the load at every size measured, the dominator tree and
    why_alive on the 10M-object heap (``--full``); "not measured" when a row is missing."""
    out = []

    def find(n, metric, full=False):
        head = f"heap dump, {n} objects"
        for r in rows:
            if r["workload"].startswith(head) and r["metric"].startswith(metric) \
                    and isinstance(r.get("goruntime"), (int, float)):
                return r if full else r["goruntime"]
        return None

    for n in ("1M", "10M"):
        r = find(n, "load: parse + graph", full=True)
        v = r and r["goruntime"]
        cpu = re.search(r"(\d+) per CPU second", (r or {}).get("note", ""))
        out.append((f"heap dump load >= 200 MB/s: {n}",
                    UNMEASURED if v is None else MET if v >= 200 else MISSED,
                    "-" if v is None else f"{v:.0f} MB/s" + (f" wall ({cpu.group(1)} per CPU second)" if cpu else "")))
    v = find("10M", "dominator tree")
    out.append(("dominator tree of a 10M-object heap < 30 s",
                UNMEASURED if v is None else MET if v < 30 else MISSED,
                "-" if v is None else f"{v:.2f} s"))
    v = find("10M", "why_alive")
    out.append(("why_alive on a 10M-object heap < 1 s",
                UNMEASURED if v is None else MET if v < 1 else MISSED,
                "-" if v is None else f"{v:.2f} s"))
    return out


def print_goals(rows, machine=None):
    gs = goals(rows)
    load = ""
    if machine:
        load = f" (load average {machine.get('loadavg_start')} -> {machine.get('loadavg_end')})"
    print(f"\nissue #20 goals{load}:")
    for name, status, val in gs:
        print(f"  [{status}] {name}: {val}")
    hd = heapdump_goals(rows)
    print("\nissue #18 goals (heap dumps; the 10M rows need --full):")
    for name, status, val in hd:
        print(f"  [{status}] {name}: {val}")
    return [{"goal": n, "status": st, "value": v, **({"issue": 18} if (n, st, v) in hd else {})}
            for n, st, v in gs + hd]


def fmt(v, unit=""):
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    if isinstance(v, int) or (isinstance(v, float) and v.is_integer() and abs(v) >= 1000):
        return f"{int(v):,}"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}" if abs(v) >= 0.1 else f"{v:.3f}"


def format_table(rows):
    head = ["workload", "metric", "unit", "goruntime", "go", "cpython", "gr/go"]
    body = []
    for r in rows:
        unit = r["unit"] + ("" if r["better"] in ("lower", "equal") else " (higher better)")
        body.append([r["workload"], r["metric"], unit, fmt(r["goruntime"]), fmt(r["go"]),
                     fmt(r["cpython"]), "-" if r["ratio"] is None else f"{r['ratio']:.2f}"])
    w = [max(len(x[i]) for x in [head] + body) for i in range(len(head))]
    # a skipped cell's message may be long: let it overflow rather than widen the column
    w[3] = min(w[3], 12)
    line = lambda cells: "  ".join(c.ljust(w[i]) if i < 3 else c.rjust(w[i]) for i, c in enumerate(cells))
    out = [line(head), line(["-" * x for x in w])]
    out += [line(b) for b in body]
    return "\n".join(out)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m bench", description=__doc__.split("\n")[0])
    ap.add_argument("--full", action="store_true",
                    help="add the 10M-object rows and binary-trees depth 21 (~15 min)")
    ap.add_argument("--runs", type=int, default=5, help="measured runs per mark row (default 5)")
    ap.add_argument("--rounds", type=int, default=3,
                    help="rounds per mark row, Go and goruntime interleaved (default 3)")
    ap.add_argument("--runs-slow", type=int, default=3,
                    help="runs per sweep/alloc/workload row (default 3)")
    ap.add_argument("--only", action="append",
                    choices=["mark", "sweep", "alloc", "startup", "rss", "workloads", "heapdump",
                             "trace"],
                    help="run only these sections (repeatable)")
    ap.add_argument("--json", default=str(HERE / "latest.json"), help="output path")
    ap.add_argument("--check", action="store_true",
                    help="also print which of issue #20's and #18's goals this run met")
    ap.add_argument("--from", dest="from_json", metavar="JSON",
                    help="with --check: judge a saved run (e.g. bench/latest.json), run nothing")
    args = ap.parse_args(argv)
    if args.from_json:
        saved = json.loads(Path(args.from_json).read_text())
        print(format_table(saved["rows"]))
        print_goals(saved["rows"], saved.get("machine"))
        return 0
    if args.runs < 3 or args.runs_slow < 3:
        ap.error("medians need at least 3 runs")
    if args.rounds < 1:
        ap.error("--rounds must be at least 1")
    Bench(args).run()
    return 0
