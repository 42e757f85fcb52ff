"""Build goruntime's Cython extensions. Metadata lives in pyproject.toml.

Environment
-----------
GORUNTIME_DEBUG=1     boundscheck/initializedcheck on, -O0 -g, GORUNTIME_CHECKS=1
GORUNTIME_SANITIZE=1  ASan+UBSan (implies GORUNTIME_DEBUG)
GORUNTIME_TRACE=1     line tracing for Cython.Coverage
GORUNTIME_ANNOTATE=1  write goruntime/*.html (cython -a)
"""
import os

from Cython.Build import cythonize
from setuptools import Extension, setup


def _flag(name):
    return os.environ.get(name, "0") not in ("", "0")


SANITIZE = _flag("GORUNTIME_SANITIZE")
DEBUG = _flag("GORUNTIME_DEBUG") or SANITIZE
TRACE = _flag("GORUNTIME_TRACE")

directives = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "initializedcheck": DEBUG,
    "wraparound": False,
    "cdivision": True,
    "nonecheck": False,
    "embedsignature": True,
    "linetrace": TRACE,
}
macros = [("GORUNTIME_CHECKS", "1" if DEBUG else "0")]
cflags, lflags = (["-O0", "-g", "-UNDEBUG"] if DEBUG else ["-O2"]), []
if TRACE:
    macros.append(("CYTHON_TRACE_NOGIL", "1"))
if SANITIZE:
    # -O1: ASan's recommended level (about twice as fast as -O0, stack traces intact).
    # -fno-sanitize-recover=all: any UBSan report is fatal, whatever UBSAN_OPTIONS says.
    cflags = ["-O1", "-g", "-UNDEBUG", "-fno-omit-frame-pointer",
              "-fsanitize=address,undefined", "-fno-sanitize-recover=all"]
    lflags += ["-fsanitize=address,undefined"]

MODULES = ["goruntime._heap", "goruntime._mark", "goruntime._gcwork", "goruntime._object",
           "goruntime.workloads._workloads", "goruntime.heapdump._parse",
           "goruntime.heapdump._graph", "goruntime.trace._parse", "goruntime._maps",
           "goruntime.trace._lifetimes", "goruntime._mgcstep"]

# The workload kernels' `cdef inline` helpers (the allocation fast path, the shadow stack)
# are inlined always: GCC, left to itself, kept the fast path's take out of line in the
# recursive tree kernels (a call per allocation). Release builds only.
INLINE_ALWAYS = {"goruntime.workloads._workloads"}
always_inline = [("CYTHON_INLINE", "__inline__ __attribute__((always_inline))")]
extensions = [
    Extension(name, [name.replace(".", "/") + ".pyx"],
              include_dirs=["goruntime"],
              define_macros=macros + (always_inline if name in INLINE_ALWAYS and not DEBUG
                                      and not SANITIZE else []),
              extra_compile_args=cflags, extra_link_args=lflags)
    for name in MODULES
    if os.path.exists(name.replace(".", "/") + ".pyx")
]
# The in-place .c/.so files are shared by `make build`, `make debug`, `make annotate`: when the
# build mode changes, regenerate the C (its new mtime makes build_ext recompile), otherwise a
# release build after `make debug` would silently keep bounds checks or -O0 objects.
# (`make sanitize` never builds here: it uses its own copy of the tree, see tools/sanitize.py.)
MODE_STAMP = ".stamp-build-mode"
mode = repr((sorted(directives.items()), macros, cflags, lflags))
try:
    with open(MODE_STAMP) as f:
        mode_changed = f.read() != mode
except OSError:
    mode_changed = any(os.path.exists(name.replace(".", "/") + ".c") for name in MODULES)
ext_modules = cythonize(extensions, compiler_directives=directives,
                        annotate=_flag("GORUNTIME_ANNOTATE"), include_path=["."],
                        force=mode_changed or None)
with open(MODE_STAMP, "w") as f:
    f.write(mode)
# Compile the extensions side by side (one per core): a fresh `make demo` waits for this.
setup(ext_modules=ext_modules, options={"build_ext": {"parallel": os.cpu_count() or 1}})
