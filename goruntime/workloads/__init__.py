"""Built-in workloads: Go programs that run straight on the emulated heap.

Each workload is a small Go program -- the Benchmarks Game's binary-trees, Boehm's
GCBench, a linked list, a random graph, or a recorded allocation trace -- whose hot
loops are typed ``nogil`` Cython (`goruntime.workloads._workloads`): every ``&T{}`` is a
``mallocgc`` call, pointer fields are words written into the arena, and the program's
live locals are kept on an explicit shadow stack of root slots, so a GC at any
allocation sees exactly what Go's stack maps would show. When an allocation reaches the
pacer's trigger, the kernel takes the GIL and runs the cycle the way Go's allocating
goroutine starts one, then carries on. Millions of objects cost seconds, not hours.

They run on the current runtime (``goruntime.current()``) or on ``runtime=``. The
runtime's world lock is held for the whole run: the workload is one goroutine that never
yields (finalizers queued by its GCs run after it returns, at the next scheduling point).

Every workload returns a summary ``dict``:

=================  ==========================================================================
``workload``       the workload's name
``objects``        objects the workload allocated (mallocgc calls with size > 0)
``requested_bytes``  bytes it asked for (sum of requested sizes)
``bytes``          bytes allocated, as Go counts them (TotalAlloc delta: whole slots, pages)
``mallocs``        MemStats.Mallocs delta (= ``objects`` unless a GC callback allocated)
``frees``          MemStats.Frees delta
``total_alloc``    MemStats.TotalAlloc delta (= ``bytes``)
``heap_alloc``     MemStats.HeapAlloc afterwards
``num_gc``         NumGC delta; ``forced_gc`` (NumForcedGC delta: ``runtime.GC()`` calls)
                   and ``auto_gc`` (the rest: heap-triggered cycles)
``wall_seconds``   wall-clock time of the run
``result``         the program's own result (checksums, counts), a dict
=================  ==========================================================================

plus ``lines`` (the output lines the Go program prints) for `binary_trees` and `gcbench`,
``root`` (a handle keeping the structure alive) for `linked_list` and `random_graph`, and
``roots`` for `replay`. The MemStats deltas are read without ReadMemStats' mcache flush
(the counters are added up exactly as ReadMemStats would report them), so taking them
does not perturb the run; they equal what ``ReadMemStats`` before and after would give.

The Go programs the workloads reproduce are in ``tests/go/workloads/`` of the source
tree; ``tests/test_workloads.py`` runs them under GOMAXPROCS=1 and compares Mallocs,
TotalAlloc (exactly) and NumGC (within 10 %).

``progress=True`` shows a tqdm progress bar counting allocations (``pip install
goruntime[progress]``).
"""
import time as _time

import numpy as np

from .. import mstats
from .. import _object
from .. import types as _types
from ..runtime import Runtime, current
from . import _workloads

__all__ = [
    "binary_trees", "gcbench", "linked_list", "random_graph", "replay", "make_trace",
    "TRACE_DTYPE", "OP_ALLOC", "OP_STORE", "OP_DROP", "OP_GC", "RootSet",
    "TreeNode", "GCBenchNode", "ListNode", "graph_node_type",
]

RootSet = _workloads.RootSet

# ---------------------------------------------------------------------------------------
# The Go types of the workloads (package "workloads", so they never replace a user's
# main.Node). The kernels hard-code the same layouts; the import-time check below keeps
# the two in step.

TreeNode = _types.Struct("TreeNode", package="workloads",
                         left=_types.Ptr("workloads.TreeNode"),
                         right=_types.Ptr("workloads.TreeNode"))
"""binary-trees' ``type Node struct { left, right *Node }``: 16 bytes, two pointer words."""

GCBenchNode = _types.Struct("GCBenchNode", package="workloads",
                            left=_types.Ptr("workloads.GCBenchNode"),
                            right=_types.Ptr("workloads.GCBenchNode"),
                            i=_types.Int, j=_types.Int)
"""GCBench's ``type Node struct { left, right *Node; i, j int }``: 32 bytes."""

ListNode = _types.Struct("ListNode", package="workloads",
                         next=_types.Ptr("workloads.ListNode"),
                         pad=_types.Array(_types.Int, 3))
"""`linked_list`'s ``struct { next *ListNode; pad [3]int }``: 32 bytes, one pointer word."""


def graph_node_type(degree):
    """`random_graph`'s node: ``struct { edges [degree]*GraphNodeD; pad [4-degree]int }``.

    Always 32 bytes (size class 3) so that graphs of different degree differ only in how
    many words the GC must scan; degree 0 is pointer-free (noscan).
    """
    if isinstance(degree, bool) or not isinstance(degree, int) or not 0 <= degree <= 4:
        raise ValueError(f"degree must be an int in 0..4, not {degree!r}")
    name = f"GraphNode{degree}"
    fields = {}
    if degree:
        fields["edges"] = _types.Array(_types.Ptr(f"workloads.{name}"), degree)
    if degree < 4:
        fields["pad"] = _types.Array(_types.Int, 4 - degree)
    return _types.Struct(name, package="workloads", **fields)


def _check_layouts():
    expect = [(TreeNode, _workloads.NODE_SIZE, (0, 1)),
              (GCBenchNode, _workloads.GCBENCH_NODE_SIZE, (0, 1)),
              (ListNode, _workloads.LIST_NODE_SIZE, (0,))]
    expect += [(graph_node_type(d), _workloads.GRAPH_NODE_SIZE, tuple(range(d))) for d in range(5)]
    for t, size, words in expect:
        if t.size != size or tuple(t.ptr_words) != words:
            raise ImportError(f"goruntime.workloads: {t} is laid out as {t.size} bytes with "
                              f"pointer words {t.ptr_words}, the kernels expect {size} / {words}")


_check_layouts()

# ---------------------------------------------------------------------------------------
# Trace format

OP_ALLOC, OP_STORE, OP_DROP, OP_GC = 0, 1, 2, 3
_OP_NAMES = {"alloc": OP_ALLOC, "store": OP_STORE, "drop": OP_DROP, "gc": OP_GC}

TRACE_DTYPE = np.dtype([
    ("op", np.uint8),        # 0 alloc, 1 store, 2 drop, 3 gc
    ("id", np.int64),        # object id (alloc, store, drop); ids are >= 0
    ("size", np.uint64),     # alloc: bytes
    ("pointers", np.uint8),  # alloc: 1 = pointerful (every word a pointer slot), 0 = noscan
    ("target", np.int64),    # store: id of the object stored, -1 = nil
    ("offset", np.uint32),   # store: byte offset of the pointer word in object `id`
])
"""The dtype of an allocation trace for `replay`, one row per event.

- ``alloc`` (0): allocate ``size`` bytes as object ``id`` and root it (a Go local holding
  it). ``pointers=1`` means every word of the object is a pointer slot (Go's ``[n]*T`` or
  ``[n]unsafe.Pointer``), so the size must be a positive multiple of 8; ``pointers=0``
  is a pointer-free object of any size (under 16 bytes it uses the tiny allocator, size
  0 returns ``zerobase``). An id may be allocated again once dropped (a new object).
- ``store`` (1): write the address of object ``target`` (``-1`` = nil) into the pointer
  word at ``offset`` of object ``id``. Both must be live (allocated and not dropped);
  ``offset`` is 8-aligned and ``offset + 8 <= size``.
- ``drop`` (2): unroot object ``id`` (the local goes out of scope). The object stays
  allocated while other objects point to it, and it can no longer be named by the trace.
- ``gc`` (3): ``runtime.GC()``; the other fields are ignored.
"""


def make_trace(rows):
    """Build a `TRACE_DTYPE` array from readable rows.

    Each row is a tuple whose first item is the op (a name or its number)::

        ("alloc", id, size)                 # pointer-free
        ("alloc", id, size, True)           # pointerful: every word a pointer slot
        ("store", id, offset, target)       # target None (or -1) for nil
        ("drop", id)
        ("gc",)

    Raises ValueError naming the first malformed row.
    """
    out = np.zeros(len(rows), dtype=TRACE_DTYPE)
    for i, row in enumerate(rows):
        try:
            if not isinstance(row, (tuple, list)) or not row:
                raise ValueError("expected a non-empty tuple")
            op = _OP_NAMES.get(row[0], row[0])
            if op not in (0, 1, 2, 3) or isinstance(op, bool):
                raise ValueError(f"unknown op {row[0]!r}")
            args = row[1:]
            if op == OP_ALLOC:
                if len(args) not in (2, 3):
                    raise ValueError("alloc takes (id, size[, pointers])")
                out[i] = (op, args[0], args[1], int(bool(args[2])) if len(args) == 3 else 0, -1, 0)
            elif op == OP_STORE:
                if len(args) != 3:
                    raise ValueError("store takes (id, offset, target)")
                tgt = -1 if args[2] is None else args[2]
                out[i] = (op, args[0], 0, 0, tgt, args[1])
            elif op == OP_DROP:
                if len(args) != 1:
                    raise ValueError("drop takes (id,)")
                out[i] = (op, args[0], 0, 0, -1, 0)
            else:
                if args:
                    raise ValueError("gc takes no arguments")
                out[i] = (op, -1, 0, 0, -1, 0)
        except (ValueError, TypeError, OverflowError) as e:
            raise ValueError(f"make_trace: row {i} {row!r}: {e}") from None
    return out


# ---------------------------------------------------------------------------------------
# Running a kernel

def _runtime(runtime):
    rt = current() if runtime is None else runtime
    if not isinstance(rt, Runtime):
        raise TypeError(f"runtime must be a goruntime Runtime, not {type(rt).__name__}")
    return rt


def _progress_bar(progress, total, desc):
    """A tqdm bar (lazily imported), or None."""
    if not progress:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError as e:
        raise ImportError("progress=True needs tqdm: pip install goruntime[progress]") from e
    return tqdm(total=total, desc=desc, unit="obj", unit_scale=True)


def _peek(rt):
    """MemStats' counting fields as ReadMemStats would report them, without its flush.

    ReadMemStats first flushes every mcache (which also lowers heapLive and makes the
    next allocation of each class refill); here the slots used in cached spans are added
    in instead, so the numbers are the same and the heap is left exactly as it was.
    """
    c = mstats.HeapCounters.read(rt.heap, unflushed=True)
    rec = rt.gc_record
    return {
        "mallocs": c.mallocs,
        "frees": c.frees,
        "total_alloc": c.total_alloc,
        "heap_alloc": c.heap_alloc,
        "num_gc": rec.num_gc,
        "num_forced_gc": rec.num_forced_gc,
    }


class _Run:
    """One kernel run: the world lock, a Mutator with *nwords* stack words, the numbers.

    ``with _Run(...) as run:`` takes the lock and the "before" numbers; the block runs the
    kernel on ``run.mut`` and may read its stack words (to make handles) before the end;
    leaving it returns the stack's root slots, then takes the "after" numbers.
    """

    def __init__(self, rt, name, nwords, bar=None):
        self.rt, self.name, self.nwords, self.bar = rt, name, nwords, bar
        self.mut = None

    def __enter__(self):
        self.rt.world.acquire()
        try:
            self.before = _peek(self.rt)
            self.mut = _workloads.Mutator(self.rt, self.rt.heap, self.nwords, self.bar)
            self.t0 = _time.perf_counter()
        except BaseException:
            self.rt.world.release()
            raise
        return self

    def __exit__(self, *exc):
        try:
            self.wall = _time.perf_counter() - self.t0
            self.mut.close()
            self.after = _peek(self.rt)
        finally:
            self.rt.world.release()
            if self.bar is not None:
                self.bar.close()
        return False

    def summary(self, result, **extra):
        b, a = self.before, self.after
        forced = a["num_forced_gc"] - b["num_forced_gc"]
        ngc = a["num_gc"] - b["num_gc"]
        out = {
            "workload": self.name,
            "objects": self.mut.nalloc,
            "requested_bytes": self.mut.nbytes,
            "bytes": a["total_alloc"] - b["total_alloc"],
            "mallocs": a["mallocs"] - b["mallocs"],
            "frees": a["frees"] - b["frees"],
            "total_alloc": a["total_alloc"] - b["total_alloc"],
            "heap_alloc": a["heap_alloc"],
            "num_gc": ngc,
            "forced_gc": forced,
            "auto_gc": ngc - forced,
            "wall_seconds": self.wall,
            "result": result,
        }
        out.update(extra)
        return out


def _check_int(name, v, lo=None, hi=None):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise TypeError(f"{name} must be an int, not {type(v).__name__}")
    v = int(v)
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        want = (f"in {lo}..{hi}" if lo is not None and hi is not None else
                f"at least {lo}" if lo is not None else f"at most {hi}")
        raise ValueError(f"{name} must be {want}, not {v}")
    return v


def _tree_size(d):
    return (1 << (d + 1)) - 1


def _heap_triggered(rt):
    # Go's allocating goroutine starts a pending cycle before it allocates again.
    if rt.heap.gc_pending:
        rt.collector.heap_triggered()


# ---------------------------------------------------------------------------------------
# The workloads

def binary_trees(max_depth, *, progress=False, runtime=None):
    """The Benchmarks Game's binary-trees (the Go program, one goroutine).

    ``maxDepth = max(max_depth, 6)``. A stretch tree of depth maxDepth+1 is built bottom
    up, checked and dropped; a long-lived tree of depth maxDepth is built; then for
    d = 4, 6, ..., maxDepth, ``2**(maxDepth-d+4)`` trees of depth d are built and checked
    (``check`` = nodes in the tree); last the long-lived tree is checked. A node is
    ``struct { left, right *Node }`` (`TreeNode`: 16 bytes, size class 2, scan).

    Returns the summary dict (see the module docs) with ``max_depth`` (the depth run, at
    least 6), ``lines``, the lines the Go program prints (``"stretch tree of depth 17\\t
    check: 262143"``, ...), and
    ``result = {"stretch_check", "checks": {d: (iterations, check)}, "long_lived_check"}``.
    ``binary_trees(16)`` allocates 14 985 902 objects (239 774 432 bytes), as Go does.
    """
    n = _check_int("max_depth", max_depth, hi=40)
    rt = _runtime(runtime)
    md = max(n, 4 + 2)
    depths = list(range(4, md + 1, 2))
    iters = [1 << (md - d + 4) for d in depths]
    total = _tree_size(md + 1) + _tree_size(md) + sum(i * _tree_size(d) for i, d in zip(iters, depths))
    checks = np.zeros(len(depths) + 2, dtype=np.int64)
    bar = _progress_bar(progress, total, "binary-trees")
    _heap_triggered(rt)
    with _Run(rt, "binary_trees", 2 * (md + 2) + 1, bar) as run:
        _workloads.binary_trees_kernel(run.mut, md, checks)
    checks = [int(c) for c in checks]
    lines = [f"stretch tree of depth {md + 1}\t check: {checks[0]}"]
    lines += [f"{i}\t trees of depth {d}\t check: {c}" for i, d, c in zip(iters, depths, checks[1:])]
    lines.append(f"long lived tree of depth {md}\t check: {checks[-1]}")
    result = {"stretch_check": checks[0],
              "checks": {d: (i, c) for i, d, c in zip(iters, depths, checks[1:])},
              "long_lived_check": checks[-1]}
    return run.summary(result, lines=lines, max_depth=md)


def gcbench(*, progress=False, runtime=None, stretch_tree_depth=18, long_lived_tree_depth=16,
            array_size=500_000, min_tree_depth=4, max_tree_depth=16):
    """Hans Boehm's GCBench, as the Go port in ``tests/go/workloads/gcbench`` runs it.

    1. Stretch: ``MakeTree(kStretchTreeDepth)`` bottom up, dropped at once.
    2. A long-lived tree: ``Populate(kLongLivedTreeDepth, &Node{})`` top down.
    3. A long-lived ``[]float64`` of kArraySize (a large object), half filled with 1/i.
    4. For d = kMinTreeDepth, +2, ..., kMaxTreeDepth, ``NumIters(d) = 2 *
       TreeSize(kStretchTreeDepth) / TreeSize(d)`` trees built top down
       (``Populate``) and as many bottom up (``MakeTree``), each dropped at once.

    A node is ``struct { left, right *Node; i, j int }`` (`GCBenchNode`, 32 bytes). As in
    Java, every node of the temporary trees is a heap object: the Go port hands each of
    TimeConstruction's roots to a global sink (and clears it at once), so escape analysis
    cannot keep them on the stack. ``main``'s long-lived root does stay on the stack
    (Populate only writes through it), so the long-lived tree has TreeSize(d) - 1 heap
    nodes. The defaults are the classic constants (18, 16, 500000, 4, 16); smaller ones
    make quick runs. ``gcbench()`` allocates 15 333 862 objects (494 689 440 bytes).

    Returns the summary dict with ``lines`` (the benchmark's deterministic output lines,
    ``"Creating 33824 trees of depth 4"``, ...) and ``result = {"iterations": {d: n},
    "long_lived_nodes", "array_ok"}``.
    """
    sd = _check_int("stretch_tree_depth", stretch_tree_depth, 0, 30)
    ld = _check_int("long_lived_tree_depth", long_lived_tree_depth, 0, 30)
    asize = _check_int("array_size", array_size, 1, 1 << 36)
    lo = _check_int("min_tree_depth", min_tree_depth, 0, 30)
    hi = _check_int("max_tree_depth", max_tree_depth, lo, 30)
    rt = _runtime(runtime)
    depths = list(range(lo, hi + 1, 2))
    iters_expect = [2 * _tree_size(sd) // _tree_size(d) for d in depths]
    total = (_tree_size(sd) + _tree_size(ld) - 1 + 1
             + sum(n * 2 * _tree_size(d) for n, d in zip(iters_expect, depths)))
    iters = np.zeros(len(depths), dtype=np.int64)
    results = np.zeros(2, dtype=np.int64)
    bar = _progress_bar(progress, total, "GCBench")
    _heap_triggered(rt)
    with _Run(rt, "gcbench", 2 * (max(sd, ld, hi) + 2) + 4, bar) as run:
        _workloads.gcbench_kernel(run.mut, sd, ld, asize, lo, hi, iters, results)
    lines = ["Garbage Collector Test",
             f" Stretching memory with a binary tree of depth {sd}",
             f" Creating a long-lived binary tree of depth {ld}",
             f" Creating a long-lived array of {asize} doubles"]
    lines += [f"Creating {int(n)} trees of depth {d}" for n, d in zip(iters, depths)]
    if not results[1]:
        lines.append("Failed")
    result = {"iterations": {d: int(n) for d, n in zip(depths, iters)},
              "long_lived_nodes": int(results[0]), "array_ok": bool(results[1])}
    return run.summary(result, lines=lines)


def linked_list(n, *, keep=True, progress=False, runtime=None):
    """*n* `ListNode` objects (``struct { next *Node; pad [3]int }``, 32 bytes) linked in
    allocation order: node i's ``next`` is node i+1.

    The Go program: ``for i := 0; i < n; i++ { x := &Node{}; if head == nil { head = x }
    else { tail.next = x }; tail = x }`` with ``head`` and ``tail`` live throughout.
    With *keep*, ``summary["root"]`` is a ``*ListNode`` handle on the head that keeps the
    list alive for as long as it is referenced; otherwise ``root`` is None and the list is
    garbage as soon as the call returns. ``result = {"length": nodes reachable from head}``.
    """
    n = _check_int("n", n, 0, 1 << 40)
    rt = _runtime(runtime)
    bar = _progress_bar(progress, n, "linked list")
    _heap_triggered(rt)
    with _Run(rt, "linked_list", 2, bar) as run:
        length = _workloads.linked_list_kernel(run.mut, n)
        head = run.mut.word(0)
        root = _object.make_pointer(rt, rt.heap, head, ListNode) if keep and head else None
    return run.summary({"length": int(length)}, root=root)


def random_graph(n, degree=2, seed=0, *, progress=False, runtime=None):
    """*n* nodes with *degree* out-edges each, to uniformly random nodes.

    The Go program: ``nodes := make([]*GraphNode, n)`` (one pointerful array, a large
    object past 4096 nodes), then ``nodes[i] = &GraphNode{}`` for every i, then
    ``nodes[i].edges[k] = nodes[targets[i][k]]``. Targets come from
    ``numpy.random.Generator(PCG64(seed)).integers(0, n, size=(n, degree))``. A node is
    `graph_node_type` (degree): always 32 bytes, *degree* pointer words (0..4) then
    padding, so the node count and size class do not depend on the degree.

    ``summary["root"]`` is the ``[]*GraphNodeD`` slice handle: it keeps every node alive
    while referenced. ``summary["nodes"]`` are the node addresses (uint64 array) and
    ``summary["edges"]`` the targets (int64, shape (n, degree)).
    ``result = {"n", "degree", "edges", "reachable_from_0"}`` (nodes reachable from node 0
    along edges, computed with numpy).
    """
    n = _check_int("n", n, 0, 1 << 36)
    degree = _check_int("degree", degree, 0, 4)
    rt = _runtime(runtime)
    T = graph_node_type(degree)
    rng = np.random.Generator(np.random.PCG64(seed))
    targets = np.ascontiguousarray(rng.integers(0, max(n, 1), size=(n, degree), dtype=np.int64))
    bar = _progress_bar(progress, n + (1 if n else 0), "random graph")
    _heap_triggered(rt)
    with _Run(rt, "random_graph", 1, bar) as run:
        arr = _workloads.random_graph_kernel(run.mut, n, degree, targets)
        root = _object.make_slice(rt, rt.heap, arr, n, n, _types.Ptr(T))
        nodes = (rt.heap.view(arr, 8 * n).view(np.uint64).copy() if n
                 else np.zeros(0, dtype=np.uint64))
    result = {"n": n, "degree": degree, "edges": n * degree,
              "reachable_from_0": _reachable_from_0(targets, n)}
    return run.summary(result, root=root, nodes=nodes, edges=targets)


def _reachable_from_0(targets, n):
    if n == 0:
        return 0
    seen = np.zeros(n, dtype=bool)
    seen[0] = True
    frontier = np.array([0])
    while frontier.size:
        nxt = np.unique(targets[frontier].ravel())
        nxt = nxt[~seen[nxt]]
        seen[nxt] = True
        frontier = nxt
    return int(seen.sum())


def _trace_columns(trace):
    """Contiguous arrays of the trace's fields, in TRACE_DTYPE's types; ValueError if the
    dtype does not fit (a missing field, or one that does not cast safely)."""
    if not isinstance(trace, np.ndarray) or trace.dtype.names is None:
        raise ValueError("replay: trace must be a numpy structured array of TRACE_DTYPE "
                         "(see goruntime.workloads.make_trace)")
    if trace.ndim != 1:
        raise ValueError(f"replay: trace must be 1-dimensional, not {trace.ndim}-dimensional")
    cols = {}
    for name in TRACE_DTYPE.names:
        want = TRACE_DTYPE.fields[name][0]
        if name not in trace.dtype.names:
            raise ValueError(f"replay: trace has no field {name!r} (TRACE_DTYPE: {TRACE_DTYPE})")
        have = trace.dtype.fields[name][0]
        if have.shape or not np.can_cast(have, want, "safe"):
            raise ValueError(f"replay: trace field {name!r} has dtype {have}, which does not "
                             f"cast safely to {want}")
        # A private copy, contiguous and aligned: TRACE_DTYPE is packed (a one-row column is
        # "contiguous" at an odd offset, and a misaligned int64 load in the Cython loop is
        # undefined behaviour), and a trace that aliases the arena (a heap view) must not be
        # rewritten by its own stores after validation.
        cols[name] = np.array(trace[name], dtype=want, copy=True, order="C")
    return cols


def replay(trace, *, keep=False, progress=False, runtime=None):
    """Replay an allocation trace (a `TRACE_DTYPE` array; see `make_trace`).

    The whole trace is validated first -- dtype, ops, ids live when used, pointer stores
    only into pointerful objects at 8-aligned offsets inside them, targets live -- and a
    bad trace raises ValueError naming the first bad row, with the heap untouched. Then
    the rows run in order in the kernel: each live id is one root (a Go local), so an
    object survives a GC exactly while it is rooted or reachable from a rooted object.

    At the end the objects still rooted are unrooted (the trace's frame returns) unless
    *keep*, in which case ``summary["roots"]`` is a `RootSet` holding them (released when
    it is dropped or ``release()``-d). ``result = {"allocs", "stores", "drops", "gcs"
    (rows of each op), "live_ids" (ids still rooted at the end), "ids", "addrs" (every id
    of the trace, sorted, and the address its last object got: look it up with
    ``heap.find_object`` to see whether it survived)}``.
    """
    cols = _trace_columns(trace)
    rt = _runtime(runtime)
    op, ids, target = cols["op"], cols["id"], cols["target"]
    n = len(op)
    has_id = (op <= OP_DROP) & (ids >= 0)
    uniq = np.unique(ids[has_id])
    dense = np.full(n, -1, dtype=np.int64)
    dense[has_id] = np.searchsorted(uniq, ids[has_id])
    tdense = np.full(n, -1, dtype=np.int64)
    is_store = (op == OP_STORE) & (target >= 0)
    if uniq.size:
        pos = np.minimum(np.searchsorted(uniq, target[is_store]), uniq.size - 1)
        tdense[is_store] = np.where(uniq[pos] == target[is_store], pos, -2)
    else:
        tdense[is_store] = -2
    row, code, osize = _workloads.validate_trace(
        op, ids, dense, cols["size"], cols["pointers"], target, tdense, cols["offset"],
        uniq.size, rt.heap.arena_cap)
    if row >= 0:
        fields = {k: int(cols[k][row]) for k in TRACE_DTYPE.names}
        msg = _workloads.TRACE_ERRORS[code].format(osize=int(osize), cap=rt.heap.arena_cap, **fields)
        raise ValueError(f"replay: trace row {row}: {msg}")

    addr = np.zeros(max(uniq.size, 1), dtype=np.uint64)
    slot = np.full(max(uniq.size, 1), -1, dtype=np.int64)
    counts = np.zeros(4, dtype=np.int64)
    bar = _progress_bar(progress, int(np.count_nonzero((op == OP_ALLOC) & (cols["size"] > 0))), "replay")
    roots = None
    _heap_triggered(rt)
    with _Run(rt, "replay", 0, bar) as run:
        ok = False
        try:
            _workloads.replay_kernel(run.mut, op, dense, cols["size"], cols["pointers"], tdense,
                                     cols["offset"], addr, slot, counts)
            ok = True
        finally:
            live = slot >= 0
            if ok and keep:
                roots = RootSet.adopt(rt.heap, slot[live], addr[live])
            else:
                rt.heap.remove_roots(np.ascontiguousarray(slot[live]))
    result = {"allocs": int(counts[OP_ALLOC]), "stores": int(counts[OP_STORE]),
              "drops": int(counts[OP_DROP]), "gcs": int(counts[OP_GC]),
              "live_ids": uniq[live[:uniq.size]].copy(),
              "ids": uniq, "addrs": addr[:uniq.size].copy()}
    return run.summary(result, roots=roots)
