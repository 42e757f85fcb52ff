"""What `make` needs from the Python it is given, checked before it makes the venv.

goruntime compiles Cython extensions, so besides Python 3.11+ it needs that Python's C
headers (Python.h) and a C compiler; a Debian/Ubuntu system Python ships the headers
separately (python3-dev). Run with the Python to check (`$(PYTHON) tools/check_prereqs.py`);
stdlib only. Exits non-zero with one line per missing piece, naming the package that brings it.
"""
import os
import shlex
import shutil
import sys
import sysconfig


def missing():
    """The prerequisites this Python lacks, as messages (empty: all there)."""
    if sys.version_info < (3, 11):
        return [f"goruntime needs Python 3.11 or newer ({sys.executable} is "
                f"{sys.version.split()[0]}): run make with PYTHON=python3.11 or newer"]
    out = []
    include = sysconfig.get_paths()["include"]
    if not os.path.exists(os.path.join(include, "Python.h")):
        v = "%d.%d" % sys.version_info[:2]
        out.append(f"{sys.executable} has no C headers ({include}/Python.h), which compiling "
                   f"the extensions needs: install them (Debian/Ubuntu: apt-get install "
                   f"python{v}-dev, or python3-dev)")
    cc = os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc"
    cc = shlex.split(cc)[0] if cc.strip() else "cc"
    if shutil.which(cc) is None:
        out.append(f"no C compiler ({cc!r}, the one {sys.executable} was built with; or set CC): "
                   f"install one (Debian/Ubuntu: apt-get install gcc)")
    return out


if __name__ == "__main__":
    problems = missing()
    for p in problems:
        print("make: " + p, file=sys.stderr)
    sys.exit(1 if problems else 0)
