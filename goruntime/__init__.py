"""goruntime: Go 1.27's memory manager, running inside Python.

This module is the face of Go's package ``runtime``: the exported names mirror Go on
purpose (``GC``, ``ReadMemStats``, ``MemStats.HeapAlloc``, ``SetFinalizer``) so that
https://pkg.go.dev/runtime reads across. It holds no logic, only re-exports:
``goruntime.runtime`` (the Runtime; its GC cycle is ``goruntime.mgc``),
``goruntime.types`` (Go type layouts), ``goruntime.sched`` (goroutines),
``goruntime.chan`` (channels), and the packages ``debug``, ``weak`` and ``metrics``
named after Go's.
"""
from ._version import __version__

try:
    from . import _heap, _mark, _object  # noqa: F401  (compiled extensions)
except ImportError as e:  # pragma: no cover - exercised by hand
    raise ImportError(
        f"goruntime's compiled extensions are missing or stale ({e}); run `make build` "
        "in the source tree (or `pip install .`)") from e

from .errors import BoundsError, FatalError, Panic
from .types import (
    Type, Field, Bool, Int, Int8, Int16, Int32, Int64, Uint, Uint8, Uint16, Uint32, Uint64,
    Byte, Uintptr, Float32, Float64, Complex64, Complex128, String, UnsafePointer, Any, Error,
    Ptr, Slice, Array, Struct, Map, Chan as ChanType, Func, Interface, Named,
)
from .runtime import (
    Runtime, current, GC, ReadMemStats, MemStats, SetFinalizer, KeepAlive, AddCleanup,
    Cleanup, GOMAXPROCS, NumGoroutine, Gosched, go, Sleep, new, make, Pointer, SliceValue,
    Chan, WaitGroup,
)
from .mstats import BySizeEntry
from .sizeclass import sizeclass, SizeClass
from .chan import select
from .syncpool import Pool
from .builtin import (append, copy, clear, string, runes, unsafe_string, bytes, concat, value, StringValue, Value,
                      MapValue, closure, FuncValue)
from . import debug, weak, metrics  # noqa: E402
from .trace.dask_sweep import sweep  # noqa: E402  (dask itself is imported only when called)

__all__ = [
    "__version__", "FatalError", "Panic", "BoundsError",
    "Type", "Field", "Bool", "Int", "Int8", "Int16", "Int32", "Int64", "Uint", "Uint8",
    "Uint16", "Uint32", "Uint64", "Byte", "Uintptr", "Float32", "Float64", "Complex64",
    "Complex128", "String", "UnsafePointer", "Any", "Error", "Ptr", "Slice", "Array", "Struct",
    "Map", "ChanType", "Func", "Interface", "Named",
    "Runtime", "current", "GC", "ReadMemStats", "MemStats", "BySizeEntry", "SetFinalizer",
    "KeepAlive", "AddCleanup", "Cleanup", "GOMAXPROCS", "NumGoroutine", "Gosched", "go",
    "Sleep", "new", "make", "Pointer", "SliceValue", "Chan", "WaitGroup", "Pool", "select",
    "debug", "weak", "metrics", "sizeclass", "SizeClass", "sweep",
    "append", "copy", "clear", "string", "runes", "unsafe_string", "bytes", "concat", "value", "StringValue", "Value",
    "MapValue", "closure", "FuncValue",
]


def load_ipython_extension(ip):
    """``%load_ext goruntime``: the %%gctrace magic and draining goroutines after each cell."""
    from ._ipython import load_ipython_extension as load
    load(ip)
