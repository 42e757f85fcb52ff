"""`python -m bench --check`: issue #20's goals judged from a run's rows (no timing here)."""
from bench import run


def row(workload, metric, gr, go=None, py=None):
    return {"workload": workload, "metric": metric, "goruntime": gr, "go": go, "cpython": py,
            "ratio": gr / go if isinstance(gr, (int, float)) and go else None}


def status(goals, prefix):
    (hit,) = [(s, v) for n, s, v in goals if n.startswith(prefix)]
    return hit


def test_goals_met_missed_and_not_measured():
    rows = [
        row("list, allocation order, 1M", "mark CPU / object", 10.0, 20.0),
        row("balanced binary tree, 1M", "mark CPU / object", 9.0, 10.0),
        row("list, allocation order, 10M", "mark CPU / object", 30.0, 30.0),
        row("binary-trees depth 18", "wall", 2.0, 2.5),
        row("binary-trees depth 18", "Mallocs", 10_000, 10_001),
        row("GCBench (18/16/500000/4..16)", "wall", 3.0, 2.0),
        row("GCBench (18/16/500000/4..16)", "Mallocs", 10_000, 9_000),
        row("rt.new(T) handles, kept alive, GC on, 200k", "rt.new(T) (Go: &T{}; CPython: T())",
            4.0, 17.0, 3.5),
        row("rt.new(T) handles, kept alive, GC on, 200k",
            "rt.new(T) vs CPython T() in the same process", 4.0, None, 4.2),
        row("rt.new(T) handles, kept alive, GC on, 200k",
            "rt.new(T) + the collections after it (CPython: T())", 3.0, None, 3.1),
        row("handle field access", "p.x read (int field)", 21.0),
        row("handle field access", "p.a read (pointer field, new handle)", 59.0),
    ]
    g = run.goals(rows)
    assert status(g, "mark <= 0.8x Go: list 1M") == (run.MET, "0.50x Go")
    assert status(g, "mark <= 0.8x Go: tree 1M")[0] == run.MISSED
    assert status(g, "mark <= 0.8x Go: graph 1M")[0] == run.UNMEASURED
    # list: ours 3.0x from 1M to 10M, Go's 1.5x
    assert status(g, "mark growth 1M -> 10M <= Go's: list")[0] == run.MISSED
    assert status(g, "mark growth 1M -> 10M <= Go's: tree")[0] == run.UNMEASURED
    assert status(g, "binary-trees depth 18: wall")[0] == run.MET
    assert status(g, "binary-trees depth 18: Mallocs")[0] == run.MET
    assert status(g, "binary-trees depth 21: wall")[0] == run.UNMEASURED
    assert status(g, "GCBench (18/16/500000/4..16): wall")[0] == run.MISSED
    assert status(g, "GCBench (18/16/500000/4..16): Mallocs")[0] == run.MISSED
    assert status(g, "parallel mark at GOMAXPROCS=2: wall")[0] == run.UNMEASURED
    assert status(g, "parallel mark at GOMAXPROCS=2: >= 1.6x")[0] == run.UNMEASURED
    assert status(g, "rt.new(T) >= CPython")[0] == run.MET
    assert status(g, "rt.new(T) in one process with CPython T()") == (
        run.MISSED, "4.00 vs 4.20 M/s (0.95x)")
    assert status(g, "rt.new(T) + the collections after it >= CPython") == (
        run.MISSED, "3.00 vs 3.10 M/s (0.97x)")
    assert status(g, "rt.new(T) + the collections after it, in one process")[0] == run.UNMEASURED
    assert status(g, "p.x read (int field) <= 20 ns") == (run.MISSED, "21.0 ns")
    assert status(g, "p.a read (pointer field, new handle) <= 60 ns")[0] == run.MET


def test_no_rows_means_nothing_is_met():
    assert {s for _, s, _ in run.goals([])} == {run.UNMEASURED}


def test_parallel_mark_goals():
    t = "random graph, out-degree 2, 10M"
    g = run.goals([row(t, "mark wall / object, GOMAXPROCS=2", 90.0, 100.0),
                   row(t, "parallel mark speedup (serial wall / 2-worker wall)", 1.5)])
    assert status(g, "parallel mark at GOMAXPROCS=2: wall") == (run.MET, "0.90x Go")
    assert status(g, "parallel mark at GOMAXPROCS=2: >= 1.6x") == (run.MISSED, "1.50x")
    g = run.goals([row(t, "mark wall / object, GOMAXPROCS=2", 110.0, 100.0),
                   row(t, "parallel mark speedup (serial wall / 2-worker wall)", 1.7)])
    assert status(g, "parallel mark at GOMAXPROCS=2: wall")[0] == run.MISSED
    assert status(g, "parallel mark at GOMAXPROCS=2: >= 1.6x")[0] == run.MET


def test_heapdump_goals_and_targets():
    # issue #18: the load at each size, the dominator tree and why_alive at 10M
    rows = [dict(row("heap dump, 1M objects (75 MB)", "load: parse + graph + Runtime", 373.0),
                 note="target >= 200; 420 per CPU second (user 0.10 s, kernel 0.05 s); 2 threads"),
            row("heap dump, 1M objects (75 MB)", "dominator tree (Cython Semi-NCA; igraph in note)", 0.3),
            row("heap dump, 10M objects (733 MB)", "load: parse + graph + Runtime", 150.0),
            row("heap dump, 10M objects (733 MB)", "dominator tree (Cython Semi-NCA; igraph in note)", 3.28),
            row("heap dump, 10M objects (733 MB)", "why_alive (first call, runs the BFS)", 1.5)]
    g = run.heapdump_goals(rows)
    assert status(g, "heap dump load >= 200 MB/s: 1M") == (run.MET, "373 MB/s wall (420 per CPU second)")
    assert status(g, "heap dump load >= 200 MB/s: 10M") == (run.MISSED, "150 MB/s")
    assert status(g, "dominator tree of a 10M") == (run.MET, "3.28 s")
    assert status(g, "why_alive on a 10M") == (run.MISSED, "1.50 s")
    g = run.heapdump_goals(rows[:2])          # a default (1M) run: the 10M goals unmeasured
    assert status(g, "heap dump load >= 200 MB/s: 1M")[0] == run.MET
    assert {status(g, p)[0] for p in ("heap dump load >= 200 MB/s: 10M", "dominator tree",
                                      "why_alive")} == {run.UNMEASURED}
    # `--only heapdump`: the targets block lists the measured heap-dump goals
    b = run.Bench.__new__(run.Bench)
    b.args, b.rows = run.argparse.Namespace(full=False), rows[:2]
    assert b.targets() == [("heap dump load >= 200 MB/s: 1M", True, "373 MB/s wall (420 per CPU second)")]
    b.args, b.rows = run.argparse.Namespace(full=True), rows
    assert [(n, ok) for n, ok, _ in b.targets()] == [
        ("heap dump load >= 200 MB/s: 1M", True), ("heap dump load >= 200 MB/s: 10M", False),
        ("dominator tree of a 10M-object heap < 30 s", True), ("why_alive on a 10M-object heap < 1 s", False)]


def test_mark_rounds_spread_in_the_goal_and_the_note():
    # A mark row of several rounds (bench.run.Bench.mark): its value is the median of the
    # round medians, and the goal shows the per-round ratios' range beside the ratio.
    r = row("balanced binary tree, 1M", "mark CPU / object", 4.0, 7.0)
    r["spread"] = {"goruntime": [4.0, 4.2, 6.6], "go": [7.0, 11.0, 7.2],
                   "ratio": [4.0 / 7.0, 4.2 / 11.0, 6.6 / 7.2]}
    assert status(run.goals([r]), "mark <= 0.8x Go: tree 1M") == (
        run.MET, "0.57x Go (rounds 0.38-0.92)")
    note = run.spread_note([4.0, 6.6, 4.2], [7.0, None, 11.0], 5)
    assert note == ("3 round(s) of 5 runs, medians of the round medians; per round: "
                    "goruntime 4-6.6, Go 7-11 ns, ratio 0.38-0.57")


def test_growth_goal_shows_the_rounds_range():
    # The growth goal's status is the ratio of the rows' medians, as before; beside it each
    # side's growth over every (1M round, 10M round) pair, the range its noise spans.
    def mark_row(n, gr, go, sgr, sgo):
        r = row(f"list, allocation order, {n}", "mark CPU / object", gr, go)
        r["spread"] = {"goruntime": sgr, "go": sgo}
        return r
    rows = [mark_row("1M", 13.0, 50.0, [13.0, 12.0, 14.0], [50.0, 30.0, 40.0]),
            mark_row("10M", 13.0, 35.0, [13.0, 13.0, 12.0], [35.0, 36.0, 30.0])]
    assert status(run.goals(rows), "mark growth 1M -> 10M <= Go's: list") == (
        run.MISSED, "1.00x vs Go 0.70x (1M round x 10M round: ours 0.86-1.08x, Go 0.60-1.20x)")
    rows[0]["spread"]["fastest"] = {"goruntime": 11.8, "go": 23.0}
    rows[1]["spread"]["fastest"] = {"goruntime": 11.8, "go": 23.1}
    assert status(run.goals(rows), "mark growth 1M -> 10M <= Go's: list")[1].endswith(
        "Go 0.60-1.20x, fastest cycles: ours 1.00x vs Go 1.00x)")
    for r in rows:                          # one round each: the fastest cycles alone
        r["spread"].update(goruntime=r["spread"]["goruntime"][:1], go=r["spread"]["go"][:1])
    assert status(run.goals(rows), "mark growth 1M -> 10M <= Go's: list") == (
        run.MISSED, "1.00x vs Go 0.70x (fastest cycles: ours 1.00x vs Go 1.00x)")
    rows[1]["goruntime"] = 9.0
    assert status(run.goals(rows), "mark growth 1M -> 10M <= Go's: list")[0] == run.MET
    for r in rows:                          # a saved run without rounds: the ratio alone
        del r["spread"]
    assert status(run.goals(rows), "mark growth 1M -> 10M <= Go's: list") == (
        run.MET, "0.69x vs Go 0.70x")


def test_markfit_samples_and_fit():
    # bench.markfit: Go's mark samples by cycle window, and the fixed + per-object fit.
    from bench import markfit

    def sample(t, *frames):
        return f"{t}: \n" + "\n".join(f"\t4a{i} {f}" for i, f in enumerate(frames))
    mark = ("runtime.scanSpan", "runtime.gcDrain", "runtime.gcBgMarkWorker")
    script = "\n\n".join([
        sample("10.000000100", *mark),                      # before the first window
        sample("10.000001000", *mark), sample("10.000001500", *mark),
        sample("10.000001600", "runtime.sweepone", "runtime.GC"),     # not the mark
        sample("10.000002000", *mark),                      # between the windows
        sample("10.000003", *mark),                         # perf's shorter fraction
        sample("10.000003999", "runtime.schedule")]) + "\n"
    w = [(10_000_000_900, 10_000_001_900), (10_000_002_500, 10_000_004_000)]
    assert markfit.mark_samples(script, w) == [2, 1]
    assert markfit.mark_samples("", w) == [0, 0]
    f, c = markfit.fit([(1_000_000, 12.0 + 5e6 / 1e6), (10_000_000, 12.0 + 5e6 / 1e7)])
    assert abs(f - 5.0) < 1e-6 and abs(c - 12.0) < 1e-9
