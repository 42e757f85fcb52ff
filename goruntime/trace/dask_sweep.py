"""``goruntime.sweep``: a what-if grid of replays on Dask ``distributed``.

One task per configuration; the rows come back as a pandas DataFrame in the grid's order
(`configurations`), whatever order the tasks finished in. A replay is deterministic
(virtual clock, recorded time), so the frame equals a sequential run's
(``pandas.DataFrame(whatif(...))``).

What is shipped, and how often. A trace is shipped as its own rows (`Trace.slim`: the
allocations, the snapshot and the cycles, 47 bytes per allocation), not an op stream:
the client builds nothing before the first task, and each worker places and sorts the
deaths once for all its replays (`simulate._RunSource`). A `Prepared` input (or a trace
whose allocations are out of time order, which only the op stream replays) is shipped
as its columns. Every worker gets the input once, never per task:

- workers on this machine (a ``LocalCluster``, or any worker that can see the client's
  files) share it: the arrays are written once to a directory (``/dev/shm`` when it has
  room) and each worker process memory-maps them read-only, so the bytes are neither
  pickled nor copied, and the page cache holds one copy for all of them. Memory so
  mapped cannot change, so a worker checks a `Prepared` input's rows once
  (`simulate._check_prepared`) and keeps a trace's sorted deaths, not per task;
- other workers get it scattered (``client.scatter(..., broadcast=True)``), and check
  or sort per task.

A worker keeps what it opened for the next task of the same sweep (`_open`), so a task
costs one replay and nothing else, and keeps the last replay's heap memory (reset to a
fresh heap's) for the next (`goruntime._heap.keep_memory`): the kernel does not fault a
new heap's metadata in for every task. Both are given back when the sweep ends.

The tasks go longest first (`estimate_costs`), one per worker thread at a time
(`_longest_first`): the worker that comes free takes the longest replay left.

Without a client a ``LocalCluster`` is started for the call (`local_cluster`: one
single-threaded worker process per core, since a replay holds the GIL between its Cython
stretches and threads would serialise; Dask's profiler and monitors turned down) and
closed after; with a ``dask.distributed.Client`` the tasks go to that cluster, which must
have goruntime installed. dask, distributed and pandas are the ``sweep`` extra, imported
only here.
"""
from __future__ import annotations

import contextlib
import dataclasses
import gc
import os
import shutil
import tempfile
import types
import uuid

import numpy as np

from .calibrate import configurations, parse_limit, run_config
from .simulate import Prepared, prepare

__all__ = ["sweep"]

_HINT = "goruntime.sweep needs dask, distributed and pandas: pip install goruntime[sweep]"


class SharedInput:
    """A replay input (a `Trace`'s rows, or a `Prepared` op stream) written to a
    directory: what is pickled to a worker is this small handle (the input without its
    big arrays); `open` memory-maps the arrays read-only. Arrays so mapped cannot change
    (`simulate._immutable`): a worker checks a `Prepared` one once and keeps a trace's
    sorted deaths from replay to replay."""

    def __init__(self, directory, inp):
        self.directory = os.fspath(directory)
        self.token = os.path.basename(self.directory)
        if isinstance(inp, Prepared):
            self.columns = Prepared.COLUMNS
        else:
            inp = inp.slim()                      # only what a replay reads
            self.columns = TRACE_COLUMNS
        for name in self.columns:
            np.save(os.path.join(self.directory, name + ".npy"), getattr(inp, name))
        self.meta = dataclasses.replace(inp, **{name: getattr(inp, name)[:0]
                                                for name in self.columns})

    def visible(self):
        """True in a process that sees the directory (runs on the worker)."""
        return os.path.isfile(os.path.join(self.directory, self.columns[-1] + ".npy"))

    def open(self):
        return dataclasses.replace(self.meta, **{
            name: np.load(os.path.join(self.directory, name + ".npy"), mmap_mode="r")
            for name in self.columns})


TRACE_COLUMNS = ("allocs", "initial", "gcs")      # a Trace's arrays that a replay reads
_OPENED = {}        # per worker process: token -> opened input (the last sweep's only)


def _open(shipped):
    if not isinstance(shipped, SharedInput):      # scattered: the input itself
        return shipped
    inp = _OPENED.get(shipped.token)
    if inp is None:
        _OPENED.clear()
        inp = _OPENED[shipped.token] = shipped.open()
    return inp


def _run(shipped, config, death):
    """The task: one configuration's replay row. The worker keeps the replay's heap memory
    (its metadata, reset) for its next replay (`goruntime._heap.keep_memory`): a fresh
    heap's pages cost the kernel more than the reset does."""
    from goruntime import _heap
    _heap.keep_memory(True)
    try:
        return run_config(_open(shipped), config, death)
    finally:
        gc.collect()            # the replay's runtime (a reference cycle) gives its heap back


def _release():
    """After a sweep, on each worker: free the kept heap memory and the opened input."""
    from goruntime import _heap

    from .simulate import _SCRATCH
    _heap.keep_memory(False)
    _SCRATCH.clear()
    _OPENED.clear()
    gc.collect()


def _visible(handle):
    return handle.visible()


_PREFIX = "goruntime-sweep-"


def _scratch(nbytes):
    """A fresh directory for the shared columns: in /dev/shm (memory, no disk) when it
    has room for them twice over, else the temporary directory. Its name carries this
    process's id, so a later sweep can give back what a killed one left (`_reap`)."""
    base = None
    try:
        st = os.statvfs("/dev/shm")
        if st.f_bavail * st.f_frsize > 2 * nbytes:
            base = "/dev/shm"
    except OSError:
        pass
    _reap(base if base is not None else tempfile.gettempdir())
    return tempfile.mkdtemp(prefix=f"{_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}-", dir=base)


def _reap(base):
    """Remove the scratch directories in *base* whose sweep process is gone.

    A sweep removes its directory when it ends, but a process that is killed (SIGKILL, the
    OOM killer, a CI timeout) cannot, and in /dev/shm the columns hold memory until the
    machine restarts. The creator's pid is in the name: a directory whose pid no longer
    runs is removed. One whose pid is alive, or whose name has no pid, is left alone (a
    reused pid only keeps a directory longer)."""
    try:
        names = os.listdir(base)
    except OSError:
        return
    for name in names:
        if not name.startswith(_PREFIX):
            continue
        pid = name[len(_PREFIX):].split("-", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(os.path.join(base, name), ignore_errors=True)
        except (OSError, OverflowError):
            pass                    # alive under another user, or not a pid: keep it


# estimate_costs' weights, in live objects marked (measured on the 10M-allocation steady
# trace: a row of the op stream ~80 ns, a live object marked by a cycle ~60 ns)
ROW_OBJECTS = 1            # one op-stream row (allocation or death)
CYCLE_OBJECTS = 20_000     # a cycle's fixed work
TRIGGER = 0.8              # the pacer starts a cycle about this far into the runway
MIN_RUNWAY_SHIFT = 7       # a cycle lets the program allocate at least marked / 128 (it
                           # runs concurrently), and at least 1 MiB


def _live_profile(prep):
    """From the op stream (after the heap snapshot): bytes allocated so far, live bytes
    and live objects after each row (int64 arrays)."""
    from .simulate import OP_ALLOC, OP_DROP
    op, dense = prep.op, prep.dense
    size = prep.size.view(np.int64)             # 0 on every row but an allocation's
    alloc = op == OP_ALLOC
    drop = op == OP_DROP
    objsize = np.zeros(max(prep.nobj, 1), dtype=np.int64)
    objsize[dense[alloc]] = size[alloc]
    delta = size.copy()
    delta[drop] -= objsize[dense[drop]]
    count = alloc.view(np.int8) - drop.view(np.int8)
    return np.cumsum(size), np.cumsum(delta), np.cumsum(count, dtype=np.int64)


def _trace_profile(tr, death, sample=1 << 18):
    """`_live_profile` from a trace's rows, without an op stream: at most *sample* of its
    allocations (every k-th, each standing for k; the snapshot's objects all counted),
    their deaths placed as the replay places them (`simulate._objects`). Bytes allocated
    so far, live bytes and live objects after each sampled allocation, and the rows a
    replay runs (allocations and deaths, estimated)."""
    import types

    from .simulate import _objects
    k = max(1, -(-len(tr.allocs) // sample))
    part = types.SimpleNamespace(initial=tr.initial, allocs=np.ascontiguousarray(tr.allocs[::k]),
                                 gcs=tr.gcs)
    birth, dt, req, _ptr, _pw, n_init = _objects(part, death)
    req = req.view(np.int64)
    w = np.full(len(birth), k, dtype=np.int64)
    w[:n_init] = 1
    dead = np.flatnonzero(dt >= 0)
    o = np.argsort(dt[dead], kind="stable")
    dead = dead[o]
    freed_b = np.concatenate(([0], np.cumsum(req[dead] * w[dead])))
    freed_n = np.concatenate(([0], np.cumsum(w[dead])))
    at = np.searchsorted(dt[dead], birth[n_init:], side="right")   # deaths up to each birth
    allocated = np.cumsum(req[n_init:] * k)
    live_b = int(req[:n_init].sum()) + allocated - freed_b[at]
    live_n = n_init + k * np.arange(1, len(allocated) + 1, dtype=np.int64) - freed_n[at]
    rows = n_init + len(allocated) * k + int(freed_n[-1])
    return allocated, live_b, live_n, rows


def estimate_costs(inp, configs, death="spread", sample=1 << 18):
    """A relative cost per configuration: the replay's work, estimated from the cycles a
    simple pacer would run on the trace's own live heap, each weighted by the objects it
    marks, plus the rows replayed. Used to start the longest replays first; only the order
    matters. A configuration whose GOGC or memory limit leaves little room between cycles
    runs many more of them. *inp*: a `Prepared` input (its op stream) or a `Trace` (at
    most *sample* of its allocations, `_trace_profile`, deaths placed under *death*).

    The walk: a cycle marks the live heap; the next begins when the bytes allocated since
    reach ``TRIGGER`` x the runway, min(max(marked, 4 MiB) x GOGC/100 (Go's heap
    minimum), 97 % of the limit - marked), at least marked / 128 and 1 MiB. On the
    10M-allocation steady trace this gives 93-103 cycles where the replays ran 97-111
    (GOGC 25, limits off to 0.9 x the peak) and 49-53 for 46-53 (GOGC 50)."""
    if isinstance(inp, Prepared):
        if not len(inp.op):
            return [1.0] * len(configs)
        allocated, live_b, live_n = _live_profile(inp)
        nrows = len(allocated)
        start = int(np.searchsorted(inp.time, 0, side="left")) if inp.n_init else 0
    else:
        allocated, live_b, live_n, nrows = _trace_profile(inp, death, sample)
        start = 0
        if not len(allocated):
            return [1.0] * len(configs)
    rows = len(allocated)
    out = []
    for gogc, limit, _procs in configs:
        from goruntime import pacer
        # the GOGC the replay will run with (a string as the GOGC variable reads it)
        g = pacer.gogc_arg(inp.settings.get("gogc", 100) if gogc is None else gogc)
        lim = parse_limit(inp.settings.get("memory_limit") if limit is None else limit)
        r, work = start, 0
        while r < rows:
            marked = int(live_b[r])
            runway = max(marked, 4 << 20) * g // 100 if g >= 0 else 1 << 62
            if lim is not None:
                runway = min(runway, int(lim) * 97 // 100 - marked)
            runway = max(int(runway * TRIGGER), marked >> MIN_RUNWAY_SHIFT, 1 << 20)
            r = int(np.searchsorted(allocated, allocated[r] + runway, side="left"))
            if r >= rows:
                break
            work += int(live_n[r]) + CYCLE_OBJECTS
        out.append(float(nrows * ROW_OBJECTS + work))
    return out


# Dask's periodic work that a sweep's long CPU-bound tasks do not need, which on a
# machine with a core per worker takes its CPU from the replays: each worker's
# statistical profiler (a stack sample every 10 ms), the event-loop health tick (every
# 20 ms in the scheduler, each nanny and each worker), the system monitor's psutil reads
# (every 0.5 s in each: ~0.8 ms a read) and the memory monitor (every 0.1 s in each nanny
# and worker). Measured with 2 local workers each running a 15 s CPU-bound task (load
# 9): each worker's other threads took 2.8-3.2 % of a core and the client process (the
# scheduler and the nannies) 3.8-4.3 %, 10 % of a core in all; with these, 0.4-1 % and
# 1 %. (docs/trace.md, "The sweep's cluster")
SWEEP_CLUSTER_CONFIG = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "5s",
    "distributed.worker.memory.monitor-interval": "500ms",
}


def local_cluster(n_workers=None, **kwargs):
    """The ``distributed.LocalCluster`` that `sweep` starts when given no client: one
    single-threaded worker process per core (*n_workers*: that many; a replay holds the
    GIL between its Cython stretches, so threads would serialise), no dashboard, and
    Dask's periodic monitoring that replays do not need turned down
    (`SWEEP_CLUSTER_CONFIG`, passed on to the worker processes). *kwargs* go to
    ``LocalCluster``. Close it after use (a context manager)."""
    import dask
    from distributed import LocalCluster
    opts = dict(n_workers=n_workers or os.cpu_count() or 1, threads_per_worker=1,
                processes=True, dashboard_address=None)
    opts.update(kwargs)
    with dask.config.set(SWEEP_CLUSTER_CONFIG):
        return LocalCluster(**opts)


class _TextBar:
    """The progress bar without tqdm: one line on stderr, rewritten."""

    def __init__(self, total):
        self.total, self.n = total, 0

    def update(self, k):
        import sys
        self.n += k
        sys.stderr.write(f"\rsweep: {self.n}/{self.total} configurations")
        if self.n >= self.total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _bar(show, total):
    if not show:
        return contextlib.nullcontext(types.SimpleNamespace(update=lambda k: None))
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return _TextBar(total)
    return tqdm(total=total, desc="sweep", unit="config")


def _slots(client):
    """How many tasks the cluster runs at once: its workers' threads (at least 1)."""
    return max(sum(client.nthreads().values()), 1)


def _longest_first(client, submit, order, show):
    """``submit(i)`` (a future) for each *i* of *order*, longest replay first, and wait
    for them all: only as many tasks at a time as the cluster has worker threads
    (`_slots`, read again as each ends), the next submitted when one ends. So the worker
    that comes free takes the longest replay left: list scheduling in LPT order.
    Submitted all at once, Dask's scheduler queues them but hands each single-threaded
    worker two (``worker-saturation`` 1.1 rounds up to 2 slots), so a worker's next
    replay is fixed a whole replay early, and near the end one worker can sit idle
    while a replay waits behind a running one on the other (work stealing moves it only
    after a second or more, if at all). A failed task raises here, as ``gather`` would."""
    from distributed import as_completed
    pending = list(order)
    running = as_completed()
    with _bar(show, len(pending)) as bar:
        while pending and running.count() < _slots(client):
            running.add(submit(pending.pop(0)))
        for f in running:
            if f.status == "error":
                f.result()                    # raises the task's exception
            bar.update(1)
            slots = _slots(client) if pending else 0
            while pending and running.count() < slots:
                running.add(submit(pending.pop(0)))


def sweep(tr, *, gogc=None, memory_limit=None, gomaxprocs=None, client=None,
          death="spread", progress=True, share="auto"):
    """Replay trace *tr* under every combination of *gogc*, *memory_limit* (bytes,
    GOMEMLIMIT strings, "off") and *gomaxprocs* (lists; None = the recorded setting) on
    Dask: a DataFrame with one row per configuration and the replay's keys as columns
    (``gogc``, ``memory_limit``, ``gomaxprocs``, ``num_gc``, ``peak_heap_bytes``,
    ``gc_cpu_fraction``, ``pause_total_ns``, ...).

    *share*: ``"auto"`` memory-maps the replay input on workers that can see this
    machine's files and scatters it otherwise; ``"scatter"`` always scatters."""
    from .simulate import _is_sorted, _meta
    if not isinstance(tr, Prepared):
        _meta(tr, death, "pacer")                 # the trace and the death model, checked
    if share not in ("auto", "scatter"):
        raise ValueError(f"share must be 'auto' or 'scatter', not {share!r}")
    configs = configurations(gogc, memory_limit, gomaxprocs)     # checked before Dask starts
    try:
        import pandas as pd
        from distributed import Client
    except ImportError as e:
        raise ImportError(f"{_HINT} ({e})") from e
    # what the tasks replay: a trace's own rows (no op stream to build here first: each
    # worker places and sorts the deaths once, `simulate._RunSource`), or a Prepared input
    # (checked here, and once by each worker that maps it)
    if isinstance(tr, Prepared) or not _is_sorted(tr.allocs["time"]):
        inp = prepare(tr, death)
    else:
        inp = tr.slim()
    cluster = own = None
    if client is None:
        cluster = local_cluster()
        client = own = Client(cluster)
    elif not isinstance(client, Client):
        raise TypeError(f"client must be a dask.distributed.Client, not {type(client).__name__}")
    scratch = None
    try:
        shipped = None
        if share == "auto":
            cols = Prepared.COLUMNS if isinstance(inp, Prepared) else TRACE_COLUMNS
            scratch = _scratch(sum(getattr(inp, c).nbytes for c in cols))
            handle = SharedInput(scratch, inp)
            seen = client.run(_visible, handle)
            if seen and all(seen.values()):
                shipped = handle
        if shipped is None:
            shipped = client.scatter(inp, broadcast=True)
        tag = uuid.uuid4().hex[:8]
        # the longest replays first (LPT), one per worker thread at a time
        # (`_longest_first`), so the workers finish together instead of one running the
        # grid's last heavy configuration alone; results keep the grid's order
        cost = estimate_costs(inp, configs, death)
        rank = sorted(range(len(configs)), key=lambda i: (-cost[i], i))
        futures = [None] * len(configs)
        pos = {i: p for p, i in enumerate(rank)}

        def submit(i):
            futures[i] = client.submit(_run, shipped, configs[i], death,
                                       key=f"goruntime-replay-{tag}-{i}", pure=False,
                                       priority=len(configs) - pos[i])
            return futures[i]
        _longest_first(client, submit, rank, progress)
        rows = client.gather(futures)
        if own is None:                  # a cluster that lives on: give the memory back
            client.run(_release)
    finally:
        if own is not None:
            own.close()
            cluster.close()
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    return pd.DataFrame(rows)
