"""goruntime side of the benchmark: one measurement per process, one JSON object on stdout.

    python3 -m bench.goruntime_side mark  --shape list --n 1000000 --runs 5
    python3 -m bench.goruntime_side mark_default --shape tree --n 1000000 --runs 5
    python3 -m bench.goruntime_side sweep --n 1000000 --runs 3
    python3 -m bench.goruntime_side alloc --n 1000000 --runs 3
    python3 -m bench.goruntime_side handles --n 200000 --runs 3
    python3 -m bench.goruntime_side rss --n 10000000
    python3 -m bench.goruntime_side binary_trees --depth 18 --runs 3
    python3 -m bench.goruntime_side gcbench --runs 3

The shapes are the ones ``bench/go/shapes`` builds in real Go (see there): N objects
``struct { a, b *T; x, y int }`` (32 bytes, two pointer words) made with the bulk API
(``Heap.alloc_many`` + ``Heap.store_pointers``) on a ``Runtime(gogc="off")`` heap, so no
cycle runs while they are built, and held by one root slot (``Heap.add_root``).

Times are wall clock (``time.perf_counter_ns``), like Go's runtime/metrics CPU classes,
which are wall time of the mark workers; the CPU time of the calling thread
(``time.thread_time_ns``) is recorded beside each for a loaded machine.
"""
import time

import numpy as np

from . import worker
from .worker import field_timings

SHAPES = ("list", "tree", "graph", "randlist")
OBJ_SIZE = 32
MASK = np.array([1, 1, 0, 0], dtype=np.uint8)     # pointer words of T: a, b


def _clock():
    return time.perf_counter_ns(), time.thread_time_ns()


def _since(t):
    w, c = _clock()
    return w - t[0], c - t[1]


def edges(shape, n, seed=1):
    """(src_index, field_offset, dst_index, root_index) of *shape* over n objects.

    Index arrays, so the same graph can be laid over any address array. ``graph``'s edge
    a follows one random cycle through all nodes (all reachable from node 0), edge b goes
    to a uniformly random node; ``randlist`` links a random permutation.
    """
    i = np.arange(n, dtype=np.int64)
    rng = np.random.Generator(np.random.PCG64(seed))
    if shape == "list":
        return i[:-1], np.zeros(n - 1, np.uint64), i[1:], 0
    if shape == "tree":
        l, r = 2 * i + 1, 2 * i + 2
        kl, kr = l < n, r < n
        src = np.concatenate([i[kl], i[kr]])
        off = np.concatenate([np.zeros(kl.sum(), np.uint64), np.full(kr.sum(), 8, np.uint64)])
        return src, off, np.concatenate([l[kl], r[kr]]), 0
    if shape == "graph":
        p = rng.permutation(n)
        src = np.concatenate([p, i])
        off = np.concatenate([np.zeros(n, np.uint64), np.full(n, 8, np.uint64)])
        dst = np.concatenate([np.roll(p, -1), rng.integers(0, n, n)])
        return src, off, dst, 0
    if shape == "randlist":
        p = rng.permutation(n)
        return p[:-1], np.zeros(n - 1, np.uint64), p[1:], int(p[0])
    raise ValueError(f"unknown shape {shape!r}")


def alloc(heap, n, chunk=1 << 22):
    """n T objects through the bulk API (chunks keep the temporary arrays small)."""
    parts, got = [], 0
    while got < n:
        a = heap.alloc_many(OBJ_SIZE, False, min(chunk, n - got), mask=MASK)
        if len(a) == 0:
            raise RuntimeError("alloc_many made no progress (gc_pending on a gogc=off heap?)")
        parts.append(a)
        got += len(a)
    return np.concatenate(parts) if len(parts) > 1 else parts[0]


def build(heap, shape, n, seed=1):
    """Build *shape* on *heap*; returns (root address, root slot, build seconds)."""
    t0 = time.perf_counter()
    a = alloc(heap, n)
    src, off, dst, root = edges(shape, n, seed)
    heap.store_pointers(np.ascontiguousarray(a[src]), off, np.ascontiguousarray(a[dst]))
    slot = heap.add_root(int(a[root]))
    return int(a[root]), slot, time.perf_counter() - t0


def _runtime(**kw):
    from goruntime.runtime import Runtime
    return Runtime(gogc=-1, **kw)


def cmd_mark(args):
    from goruntime import _gcwork, _mark
    r = _runtime()
    root, _, build_s = build(r.heap, args.shape, args.n, args.seed)
    r.heap.flush_mcaches()
    # The default mark (adaptive: span-batched, or the object-at-a-time prefetch ring
    # when span visits are sparse), each of its two drains forced, and the parallel one
    # with two workers (_gcwork, GOMAXPROCS=2), alternating, so all see the same machine.
    # The parallel runs also record the process CPU time (every thread's).
    runs, batched, objects, par = [], [], [], []
    for _ in range(args.warm + args.runs):
        for out, f, kw in ((runs, _mark.mark, {}), (batched, _mark.mark, {"batched": True}),
                           (objects, _mark.mark, {"batched": False}),
                           (par, _gcwork.mark, {"nworkers": 2})):
            p0 = time.process_time_ns()
            t = _clock()
            bm, nm, scan = f(r.heap, **kw)
            wall, cpu = _since(t)
            pcpu = time.process_time_ns() - p0
            _mark.clear_marks(r.heap)
            out.append({"mark_ns": wall, "mark_cpu_ns": cpu, "mark_process_cpu_ns": pcpu,
                        "nmarked": nm, "bytes_marked": bm})
    st = {}
    _mark.mark(r.heap, stats=st)                # which drain the default mark ran
    _mark.clear_marks(r.heap)
    runs, batched, par = runs[args.warm:], batched[args.warm:], par[args.warm:]
    objects = objects[args.warm:]
    # A whole cycle, as runtime.GC(): mark, mark termination, specials, sweep, pacer.
    gcs = []
    for _ in range(args.runs):
        t = _clock()
        r.gc()
        wall, cpu = _since(t)
        gcs.append({"wall_ns": wall, "cpu_ns": cpu})
    return {"shape": args.shape, "n": args.n, "build_s": build_s, "runs": runs,
            "runs_batched": batched, "runs_objects": objects, "mark_path": st,
            "runs_parallel2": par, "gc": gcs,
            "num_gc": r.gc_record.num_gc}


def cmd_mark_default(args):
    """The default mark only (``mark``'s first row), *runs* times after *warm*: the extra
    rounds of a mark row (bench.run), which interleave processes of this and of Go's."""
    from goruntime import _mark
    r = _runtime()
    root, _, build_s = build(r.heap, args.shape, args.n, args.seed)
    r.heap.flush_mcaches()
    runs = []
    for _ in range(args.warm + args.runs):
        t = _clock()
        bm, nm, scan = _mark.mark(r.heap)
        wall, cpu = _since(t)
        _mark.clear_marks(r.heap)
        runs.append({"mark_ns": wall, "mark_cpu_ns": cpu, "nmarked": nm, "bytes_marked": bm})
    st = {}
    _mark.mark(r.heap, stats=st)
    _mark.clear_marks(r.heap)
    return {"shape": args.shape, "n": args.n, "build_s": build_s, "runs": runs[args.warm:],
            "mark_path": st}


def cmd_sweep(args):
    """Half-garbage heap: every odd node of an allocation-order list is unlinked."""
    from goruntime import _mark
    out = []
    for _ in range(args.runs):
        r = _runtime()
        h = r.heap
        a = alloc(h, args.n)
        ev = np.ascontiguousarray(a[0::2])
        h.store_pointers(ev[:-1], np.zeros(len(ev) - 1, np.uint64), ev[1:])
        h.add_root(int(a[0]))
        del a, ev
        h.flush_mcaches(False)
        nspans = h.counters()["nspans_inuse"]
        _, nm, _ = _mark.mark(h)
        t = _clock()
        freed, bfreed = _mark.sweep(h)
        wall, cpu = _since(t)
        out.append({"sweep_ns": wall, "sweep_cpu_ns": cpu, "spans": nspans, "freed": freed,
                    "live": nm})
        del r, h
    return {"n": args.n, "runs": out}


def cmd_alloc(args):
    """Bulk API: alloc_many of n T objects on a fresh heap, one call."""
    from goruntime import _heap
    out = []
    for _ in range(args.runs):
        h = _heap.Heap()
        t = _clock()
        a = h.alloc_many(OBJ_SIZE, False, args.n, mask=MASK)
        wall, cpu = _since(t)
        assert len(a) == args.n
        # store_pointers of a list over them (what building a shape costs per edge)
        off = np.zeros(args.n - 1, np.uint64)
        src, dst = a[:-1].copy(), a[1:].copy()
        t = _clock()
        h.store_pointers(src, off, dst)
        swall, scpu = _since(t)
        out.append({"alloc_ns": wall, "alloc_cpu_ns": cpu, "store_ns": swall, "store_cpu_ns": scpu})
        del h, a
    return {"n": args.n, "runs": out}


def _minflt():
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def cmd_startup(args):
    """``rt.Runtime()`` then ``close()``, *n* times a run, on the default arena cap (half
    the RAM): the start-up and tear-down a program pays, in wall and thread-CPU ns and
    minor page faults (the kernel backing fresh pages) per runtime."""
    import goruntime as rt
    for _ in range(args.warm):
        rt.Runtime().close()
    out = []
    for _ in range(args.runs):
        f0 = _minflt()
        t = _clock()
        for _ in range(args.n):
            r = rt.Runtime()
            r.close()
        del r
        wall, cpu = _since(t)
        out.append({"wall_ns": wall, "cpu_ns": cpu, "minflt": _minflt() - f0})
    return {"n": args.n, "runs": out}


def _slots_new(n):
    """Thread-CPU ns of n times CPython's ``Node()`` (bench.cpython_side's ``__slots__``
    class) kept in a list, automatic collection on: the same loop as ``cpython_side new``,
    run here beside rt.new so both pay the same process's cycle collector (numpy and
    goruntime loaded: every full collection walks their objects too); and of the
    collections that follow (`cpython_side.settle`)."""
    import gc
    from .cpython_side import Node, settle
    s = [None] * n
    t = time.thread_time_ns()
    for i in range(n):
        s[i] = Node()
    dt = time.thread_time_ns() - t
    st = settle()
    del s
    gc.collect()
    return dt, st


def cmd_handles(args):
    """rt.new(T) handles/s (default GOGC: heap-triggered cycles included), field access ns.

    Each run also times CPython's ``Node()`` in this process (``slots_new_cpu_ns``), before
    rt.new on even runs and after it on odd ones. ``*_settle_cpu_ns``: the collections
    that walk what each loop made, generation by generation (`cpython_side.settle`):
    handles are tracked by CPython's collector at its next full collection, not when
    made (goruntime/_object.pyx `pending_alloc`), so the loop alone would leave that
    work out."""
    from .cpython_side import settle
    import goruntime as rt
    T = rt.Struct("BenchT", a=rt.Ptr("BenchT"), b=rt.Ptr("BenchT"), x=rt.Int, y=rt.Int)
    n = args.n
    out = []
    for run in range(args.runs):
        slots = _slots_new(n) if run % 2 == 0 else None
        r = rt.Runtime()
        with r:
            new = r.new
            hs = [None] * n
            t = _clock()
            for i in range(n):
                hs[i] = new(T)
            wall, cpu = _since(t)
            st = settle()
            p, q = hs[0], hs[1]
            p.a = q
            res = {"new_ns": wall, "new_cpu_ns": cpu, "new_settle_cpu_ns": st,
                   "num_gc": r.gc_record.num_gc}
            del hs
            res.update(field_timings(p, q, n, r.make(rt.Slice(rt.Int), 8)))
        res["slots_new_cpu_ns"], res["slots_settle_cpu_ns"] = \
            slots if slots is not None else _slots_new(n)
        out.append(res)
        del p, q, r
    return {"n": n, "runs": out}


def _status():
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                out[k] = int(v.split()[0]) * 1024
    return out


def cmd_rss(args):
    """RSS of this process holding n live objects vs the emulated HeapSys."""
    import gc
    import goruntime as rt
    base = _status()["VmRSS"]
    r = _runtime()
    build(r.heap, "list", args.n, args.seed)
    gc.collect()
    r.gc()
    r.gc()
    with r:
        m = rt.ReadMemStats()
    st = _status()
    return {"n": args.n, "rss_bytes": st["VmRSS"], "hwm_bytes": st["VmHWM"],
            "rss_before_bytes": base, "heap_sys": m.HeapSys, "heap_inuse": m.HeapInuse,
            "heap_alloc": m.HeapAlloc, "sys": m.Sys, "gc_sys": m.GCSys}


def _workload(args, fn):
    import goruntime as rt
    out = []
    for _ in range(args.runs):
        r = rt.Runtime()
        c0 = time.process_time_ns()
        with r:
            s = fn(r)
        res = {k: s[k] for k in ("wall_seconds", "num_gc", "mallocs", "frees",
                                 "total_alloc", "objects")}
        res["cpu_seconds"] = (time.process_time_ns() - c0) / 1e9
        out.append(res)
        del r, s
    return {"runs": out}


def cmd_binary_trees(args):
    try:
        from goruntime import workloads
    except ImportError as e:
        return {"skipped": f"goruntime.workloads not built ({e})"}
    return dict(_workload(args, lambda r: workloads.binary_trees(args.depth, runtime=r)),
                depth=args.depth)


def cmd_gcbench(args):
    try:
        from goruntime import workloads
    except ImportError as e:
        return {"skipped": f"goruntime.workloads not built ({e})"}
    return _workload(args, lambda r: workloads.gcbench(runtime=r))


def main(argv=None):
    worker.main("python3 -m bench.goruntime_side",
                ["mark", "mark_default", "sweep", "alloc", "handles", "rss", "binary_trees",
                 "gcbench", "startup"],
                globals(), argv, warm=1, shapes=SHAPES, depth=True)


if __name__ == "__main__":
    main()
