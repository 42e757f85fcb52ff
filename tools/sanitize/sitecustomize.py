"""Loaded by every Python process of a `make sanitize` run (tools/sanitize.py puts this
directory on PYTHONPATH): installs the mmap-backed NumPy allocator for big buffers, see
numpy_mmap_alloc.c for why and what ASan still catches there."""
import numpy_mmap_alloc  # noqa: F401  (installs the handler on import)
