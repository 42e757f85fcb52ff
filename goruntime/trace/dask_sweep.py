"""``goruntime.sweep``: a what-if grid of replays on Dask ``distributed``.

One task per configuration; the trace is scattered to the workers once (broadcast), each
task replays it under its configuration (`goruntime.trace.calibrate.run_config`), and the
rows come back as a pandas DataFrame in the grid's order (`configurations`), whatever
order the tasks finished in. A replay is deterministic (virtual clock, recorded time), so
the frame equals a sequential run's (``pandas.DataFrame(whatif(...))``).

Without a client a ``LocalCluster`` is started for the call (one single-threaded worker
process per core: a replay holds the GIL between its Cython stretches) and closed after;
with a ``dask.distributed.Client`` the tasks go to that cluster, which must have goruntime
installed. dask, distributed and pandas are the ``sweep`` extra, imported only here.
"""
from __future__ import annotations

import os
import uuid

from .calibrate import configurations, run_config

__all__ = ["sweep"]

_HINT = "goruntime.sweep needs dask, distributed and pandas: pip install goruntime[sweep]"


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
          death="spread", progress=True):
    """Replay trace *tr* under every combination of *gogc*, *memory_limit* (bytes,
    GOMEMLIMIT strings, "off") and *gomaxprocs* (lists; None = the recorded setting) on
    Dask: a DataFrame with one row per configuration and the replay's keys as columns
    (``gogc``, ``memory_limit``, ``gomaxprocs``, ``num_gc``, ``peak_heap_bytes``,
    ``gc_cpu_fraction``, ``pause_total_ns``, ...)."""
    from .simulate import _check_trace
    _check_trace(tr)
    try:
        import pandas as pd
        from distributed import Client, LocalCluster
    except ImportError as e:
        raise ImportError(f"{_HINT} ({e})") from e
    configs = configurations(gogc, memory_limit, gomaxprocs)
    cluster = own = None
    if client is None:
        cluster = LocalCluster(n_workers=os.cpu_count() or 1, threads_per_worker=1,
                               processes=True, dashboard_address=None)
        client = own = Client(cluster)
    elif not isinstance(client, Client):
        raise TypeError(f"client must be a dask.distributed.Client, not {type(client).__name__}")
    try:
        shipped = client.scatter(tr.slim(), broadcast=True)
        tag = uuid.uuid4().hex[:8]
        futures = [client.submit(run_config, shipped, c, death, key=f"goruntime-replay-{tag}-{i}")
                   for i, c in enumerate(configs)]
        _progress(futures, progress)
        rows = client.gather(futures)
    finally:
        if own is not None:
            own.close()
            cluster.close()
    return pd.DataFrame(rows)
