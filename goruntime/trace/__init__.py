"""Real Go allocation traces: load a Go 1.27 execution trace, replay its allocations.

``tr = goruntime.trace.load(path)`` reads a trace recorded with ``runtime/trace`` (or
``go test -trace``) under ``GODEBUG=traceallocfree=1``; ``replay(tr, gogc=..., ...)``
runs the same allocations on an emulated runtime; ``calibrate(tr)`` compares the replay
under the recorded settings with the recorded GCs; ``goruntime.sweep`` runs many
configurations (on Dask). See docs/trace.md for what is modelled and what is not.
"""
from .reader import (ALLOC_DTYPE, FREE_DTYPE, GC_DTYPE, TYPE_DTYPE, Trace, load, parse)
from .simulate import Prepared, prepare, release_memory, replay, replay_detail
from .calibrate import (Calibration, calibrate, configurations, plot_calibration,
                        plot_tradeoff, whatif)
from .dask_sweep import sweep

__all__ = ["load", "parse", "Trace", "replay", "replay_detail", "prepare", "Prepared", "release_memory", "calibrate", "Calibration",
           "whatif", "configurations", "sweep", "plot_calibration", "plot_tradeoff",
           "ALLOC_DTYPE", "FREE_DTYPE", "GC_DTYPE", "TYPE_DTYPE"]
