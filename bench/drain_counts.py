"""Every drain call's counts of a workload, hashed: a mark change that must not alter
what the pacer reads (issue #20) is checked by comparing this line with main's build.

    python3 -m bench.drain_counts binary_trees --depth 16
    python3 -m bench.drain_counts gcbench

Records, per ``Collector.drain`` call (the concurrent mark's budgeted drains), who ran
it, its budgets and what it returns, with the MarkState's cumulative counters after it
(objects, bytes marked, scan bytes, spans, links, large-object scan work, root scan);
the stop-the-world marks' results; and the workload's summary but its wall time. Prints
one JSON object: the calls, the cycles, and a sha256 over all of it. Run with another
build's goruntime on PYTHONPATH for the A/B (the virtual clock makes it deterministic).
"""
import argparse
import hashlib
import json

WALL = ("wall_seconds", "cpu_seconds", "LastGC", "PauseEnd", "_clock")  # wall-clock times


def record(kind, depth, gcbench_args):
    from goruntime import mgc, workloads
    import goruntime as rt
    calls = []
    drain = mgc.Collector.drain

    def counted(self, cyc, who, budget_ns, *, scan_budget=0):
        r = drain(self, cyc, who, budget_ns, scan_budget=scan_budget)
        m = self.mark
        calls.append((who, budget_ns, scan_budget, r, m.bytes_marked, m.nmarked,
                      m.scan_bytes, m.nspans, m.nlinks, m.scan_large, m.root_scan))
        return r

    mgc.Collector.drain = counted
    try:
        r = rt.Runtime()
        with r:
            if kind == "binary_trees":
                s = workloads.binary_trees(depth, runtime=r)
            else:
                s = workloads.gcbench(runtime=r, **gcbench_args)
            ms = r.read_mem_stats()
    finally:
        mgc.Collector.drain = drain
    summary = {k: v for k, v in s.items() if k not in WALL}
    stats = {k: v for k, v in vars(ms).items() if k not in WALL} if hasattr(ms, "__dict__") \
        else {f: getattr(ms, f) for f in ms.__slots__ if f not in WALL}
    parts = {"calls": calls, "summary": sorted(summary.items(), key=str),
             "memstats": sorted(stats.items(), key=str)}
    out = {"workload": kind, "drain_calls": len(calls), "num_gc": s.get("num_gc"),
           "mallocs": s.get("mallocs")}
    for k, v in parts.items():
        out[k] = hashlib.sha256(repr(v).encode()).hexdigest()[:16]
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m bench.drain_counts")
    ap.add_argument("workload", choices=("binary_trees", "gcbench"))
    ap.add_argument("--depth", type=int, default=16)
    ap.add_argument("--small", action="store_true",
                    help="gcbench with smaller trees (stretch 14, long-lived 12, max 12)")
    a = ap.parse_args(argv)
    g = dict(stretch_tree_depth=14, long_lived_tree_depth=12, array_size=50_000,
             max_tree_depth=12) if a.small else {}
    print(json.dumps(record(a.workload, a.depth, g)))


if __name__ == "__main__":
    main()
