"""``goruntime.sweep``: a what-if grid of replays on Dask ``distributed``.

One task per configuration; the rows come back as a pandas DataFrame in the grid's order
(`configurations`), whatever order the tasks finished in. A replay is deterministic
(virtual clock, recorded time), so the frame equals a sequential run's
(``pandas.DataFrame(whatif(...))``).

What is shipped, and how often. The client builds the replay input once
(`goruntime.trace.prepare`: the op stream, numpy columns, ~35 bytes per allocation) and
every worker gets it once, never per task:

- workers on this machine (a ``LocalCluster``, or any worker that can see the client's
  files) share it: the columns are written once to a directory (``/dev/shm`` when it has
  room) and each worker process memory-maps them read-only, so the bytes are neither
  pickled nor copied, and the page cache holds one copy for all of them;
- other workers get it scattered (``client.scatter(..., broadcast=True)``).

A worker keeps what it opened for the next task of the same sweep (`_open`), so a task
costs one replay and nothing else. Without a client a ``LocalCluster`` is started for
the call (one single-threaded worker process per core: a replay holds the GIL between
its Cython stretches, so threads would serialise) and closed after; with a
``dask.distributed.Client`` the tasks go to that cluster, which must have goruntime
installed. dask, distributed and pandas are the ``sweep`` extra, imported only here.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import uuid

import numpy as np

from .calibrate import configurations, run_config
from .simulate import Prepared, prepare

__all__ = ["sweep"]

_HINT = "goruntime.sweep needs dask, distributed and pandas: pip install goruntime[sweep]"


class SharedPrepared:
    """A `Prepared` replay input written to a directory: what is pickled to a worker is
    this small handle; `open` memory-maps the columns (read-only)."""

    def __init__(self, directory, prep):
        self.directory = os.fspath(directory)
        self.token = os.path.basename(self.directory)
        self.meta = {k: getattr(prep, k) for k in ("nobj", "n_init", "n_allocs", "tiny",
                                                  "duration", "settings", "death", "cycles")}
        for name in Prepared.COLUMNS:
            np.save(os.path.join(self.directory, name + ".npy"), getattr(prep, name))

    def visible(self):
        """True in a process that sees the directory (runs on the worker)."""
        return os.path.isfile(os.path.join(self.directory, Prepared.COLUMNS[-1] + ".npy"))

    def open(self):
        cols = {name: np.load(os.path.join(self.directory, name + ".npy"), mmap_mode="r")
                for name in Prepared.COLUMNS}
        return Prepared(**cols, **self.meta)


_OPENED = {}        # per worker process: token -> Prepared (the last sweep's only)


def _open(shipped):
    if isinstance(shipped, Prepared):
        return shipped
    prep = _OPENED.get(shipped.token)
    if prep is None:
        _OPENED.clear()
        prep = _OPENED[shipped.token] = shipped.open()
    return prep


def _run(shipped, config, death):
    """The task: one configuration's replay row."""
    return run_config(_open(shipped), config, death)


def _visible(handle):
    return handle.visible()


def _scratch(nbytes):
    """A fresh directory for the shared columns: in /dev/shm (memory, no disk) when it
    has room for them twice over, else the temporary directory."""
    base = None
    try:
        st = os.statvfs("/dev/shm")
        if st.f_bavail * st.f_frsize > 2 * nbytes:
            base = "/dev/shm"
    except OSError:
        pass
    return tempfile.mkdtemp(prefix="goruntime-sweep-" + uuid.uuid4().hex[:8] + "-", dir=base)


def _progress(futures, show):
    """Wait for *futures*, with a tqdm bar (or Dask's progress bar without tqdm)."""
    from distributed import as_completed, wait
    if not show:
        wait(futures)
        return
    try:
        from tqdm.auto import tqdm
    except ImportError:
        from distributed import progress
        progress(futures)
        wait(futures)
        return
    with tqdm(total=len(futures), desc="sweep", unit="config") as bar:
        for _ in as_completed(futures):
            bar.update(1)


def sweep(tr, *, gogc=None, memory_limit=None, gomaxprocs=None, client=None,
          death="spread", progress=True, share="auto"):
    """Replay trace *tr* under every combination of *gogc*, *memory_limit* (bytes,
    GOMEMLIMIT strings, "off") and *gomaxprocs* (lists; None = the recorded setting) on
    Dask: a DataFrame with one row per configuration and the replay's keys as columns
    (``gogc``, ``memory_limit``, ``gomaxprocs``, ``num_gc``, ``peak_heap_bytes``,
    ``gc_cpu_fraction``, ``pause_total_ns``, ...).

    *share*: ``"auto"`` memory-maps the replay input on workers that can see this
    machine's files and scatters it otherwise; ``"scatter"`` always scatters."""
    from .simulate import _check_trace
    if not isinstance(tr, Prepared):
        _check_trace(tr)
    if share not in ("auto", "scatter"):
        raise ValueError(f"share must be 'auto' or 'scatter', not {share!r}")
    try:
        import pandas as pd
        from distributed import Client, LocalCluster
    except ImportError as e:
        raise ImportError(f"{_HINT} ({e})") from e
    configs = configurations(gogc, memory_limit, gomaxprocs)
    prep = prepare(tr, death)
    cluster = own = None
    if client is None:
        cluster = LocalCluster(n_workers=os.cpu_count() or 1, threads_per_worker=1,
                               processes=True, dashboard_address=None)
        client = own = Client(cluster)
    elif not isinstance(client, Client):
        raise TypeError(f"client must be a dask.distributed.Client, not {type(client).__name__}")
    scratch = None
    try:
        shipped = None
        if share == "auto":
            nbytes = sum(getattr(prep, c).nbytes for c in Prepared.COLUMNS)
            scratch = _scratch(nbytes)
            handle = SharedPrepared(scratch, prep)
            seen = client.run(_visible, handle)
            if seen and all(seen.values()):
                shipped = handle
        if shipped is None:
            shipped = client.scatter(prep, broadcast=True)
        tag = uuid.uuid4().hex[:8]
        futures = [client.submit(_run, shipped, c, death, key=f"goruntime-replay-{tag}-{i}",
                                 pure=False)
                   for i, c in enumerate(configs)]
        _progress(futures, progress)
        rows = client.gather(futures)
    finally:
        if own is not None:
            own.close()
            cluster.close()
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    return pd.DataFrame(rows)
