"""goruntime's benchmark: goruntime vs real Go 1.27.3 vs CPython, ratios in one run.

``python3 -m bench [--full]``; see README.md beside this file. The package is kept free
of imports so the CPython worker (``bench.cpython_side``) starts with a bare interpreter.
"""
