"""CPython side of the benchmark: the same shapes as ``__slots__`` objects, timed gc.collect().

    python3 -m bench.cpython_side mark --shape list --n 1000000 --runs 5
    python3 -m bench.cpython_side alloc --n 1000000 --runs 3
    python3 -m bench.cpython_side new --n 200000 --runs 3
    python3 -m bench.cpython_side fields --n 200000 --runs 3

Standard library only (no numpy), so the interpreter's own tracked objects are few; their
cost is measured first (``baseline``: gc.collect() with no graph, median of 5) and
subtracted. Automatic collection is disabled while the graph is built (``gc.disable()``;
explicit ``gc.collect()`` still runs); nothing is frozen (no ``gc.freeze()``), and the
worker checks that the nodes are tracked (``gc.is_tracked``). Each measured
``gc.collect()`` is a full collection that traverses every tracked object: the analogue of
a mark over the live heap.

Times: CPU time of the calling thread (``time.thread_time_ns``) and wall
(``time.perf_counter_ns``).
"""
import gc
import random
import statistics
import time

from . import worker
from .worker import field_timings


class Node:
    __slots__ = ("a", "b", "x", "y")

    def __init__(self):
        self.a = None
        self.b = None
        self.x = 0
        self.y = 0


def build(shape, n, seed=1):
    """Build *shape* (see bench/go/shapes) over n Nodes; returns the root."""
    nodes = [Node() for _ in range(n)]
    rng = random.Random(seed)
    if shape == "list":
        for i in range(n - 1):
            nodes[i].a = nodes[i + 1]
        return nodes[0]
    if shape == "tree":
        for i in range(n):
            if 2 * i + 1 < n:
                nodes[i].a = nodes[2 * i + 1]
            if 2 * i + 2 < n:
                nodes[i].b = nodes[2 * i + 2]
        return nodes[0]
    if shape == "graph":
        p = list(range(n))
        rng.shuffle(p)
        for i in range(n):
            nodes[p[i]].a = nodes[p[(i + 1) % n]]
        rand = rng.randrange
        for x in nodes:
            x.b = nodes[rand(n)]
        return nodes[0]
    if shape == "randlist":
        p = list(range(n))
        rng.shuffle(p)
        for i in range(n - 1):
            nodes[p[i]].a = nodes[p[i + 1]]
        return nodes[p[0]]
    raise ValueError(f"unknown shape {shape!r}")


def timed_collect():
    w0, c0 = time.perf_counter_ns(), time.thread_time_ns()
    gc.collect()
    return time.perf_counter_ns() - w0, time.thread_time_ns() - c0


def cmd_mark(args):
    gc.disable()
    gc.collect()
    base = [timed_collect() for _ in range(5)]
    base_wall = statistics.median(b[0] for b in base)
    base_cpu = statistics.median(b[1] for b in base)
    base_objects = len(gc.get_objects())
    t0 = time.perf_counter()
    root = build(args.shape, args.n, args.seed)
    build_s = time.perf_counter() - t0
    if not gc.is_tracked(root):
        raise SystemExit("cpython_side: nodes are not tracked by the collector")
    for _ in range(args.warm):
        gc.collect()
    runs = []
    for _ in range(args.runs):
        wall, cpu = timed_collect()
        runs.append({"wall_ns": wall, "cpu_ns": cpu})
    tracked = len(gc.get_objects()) - base_objects
    return {"shape": args.shape, "n": args.n, "build_s": build_s, "runs": runs,
            "baseline_wall_ns": base_wall, "baseline_cpu_ns": base_cpu,
            "baseline_objects": base_objects, "tracked_nodes": tracked, "keep": id(root) != 0}


def cmd_alloc(args, collector_on=False):
    """n times Node() into a preallocated list; automatic collection off (``new``: on)."""
    gc.enable() if collector_on else gc.disable()
    out = []
    for _ in range(args.runs):
        s = [None] * args.n
        g0 = sum(x["collections"] for x in gc.get_stats())
        w0, c0 = time.perf_counter_ns(), time.thread_time_ns()
        for i in range(args.n):
            s[i] = Node()
        out.append({"alloc_ns": time.perf_counter_ns() - w0, "alloc_cpu_ns": time.thread_time_ns() - c0,
                    "collections": sum(x["collections"] for x in gc.get_stats()) - g0})
        if collector_on:
            out[-1]["settle_cpu_ns"] = settle()
        del s
        gc.collect()
    return {"n": args.n, "runs": out}


def settle():
    """Thread-CPU ns of ``gc.collect(0)``, ``gc.collect(1)``, ``gc.collect(2)``: the
    collections that walk what an allocation loop just made, each generation in turn (what
    the program's next collections would do), so a loop whose objects are walked later
    (goruntime's handles are tracked at the next full collection) is charged for it too."""
    t = time.thread_time_ns()
    gc.collect(0)
    gc.collect(1)
    gc.collect(2)
    return time.thread_time_ns() - t


def cmd_new(args):
    """As ``alloc`` with CPython's automatic collection on (the counterpart of rt.new)."""
    return cmd_alloc(args, collector_on=True)


def cmd_fields(args):
    n = args.n
    out = []
    p, q = Node(), Node()
    p.a = q
    for _ in range(args.runs):
        res = field_timings(p, q, n, [0] * 8)
        out.append(res)
    return {"n": n, "runs": out}


def cmd_startup(args):
    """A sub-interpreter created and destroyed, *n* times a run: CPython's fresh isolated
    runtime (its own modules, objects and cycle collector), the counterpart of
    ``rt.Runtime()`` + ``close()``."""
    import resource
    try:
        import _interpreters as interp            # 3.13+
    except ImportError:
        try:
            import _xxsubinterpreters as interp   # 3.8-3.12
        except ImportError:
            return {"skipped": "no sub-interpreters in this CPython"}
    for _ in range(args.warm):
        interp.destroy(interp.create())
    out = []
    for _ in range(args.runs):
        f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        w0, c0 = time.perf_counter_ns(), time.thread_time_ns()
        for _ in range(args.n):
            interp.destroy(interp.create())
        out.append({"wall_ns": time.perf_counter_ns() - w0, "cpu_ns": time.thread_time_ns() - c0,
                    "minflt": resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0})
    return {"n": args.n, "runs": out}


def main(argv=None):
    worker.main("python3 -m bench.cpython_side", ["mark", "alloc", "new", "fields", "startup"],
                globals(), argv, warm=2)


if __name__ == "__main__":
    main()
