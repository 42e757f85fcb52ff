"""goruntime: Go 1.27's memory manager, running inside Python.

This module is the face of Go's package ``runtime``: the exported names mirror Go on
purpose (``GC``, ``ReadMemStats``, ``MemStats.HeapAlloc``, ``SetFinalizer``) so that
https://pkg.go.dev/runtime reads across. Everything else in the package is snake_case.
"""
from ._version import __version__
from .errors import FatalError, Panic

__all__ = ["__version__", "FatalError", "Panic"]
