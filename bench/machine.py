"""What the benchmark ran on, read at run time (printed in the header and kept in latest.json)."""
import os
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _read(path):
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def cpu_model():
    for line in _read("/proc/cpuinfo").splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def mem_total_gib():
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            return round(int(line.split()[1]) / (1 << 20), 1)
    return None


def loadavg():
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def thp():
    s = _read("/sys/kernel/mm/transparent_hugepage/enabled").strip()
    return s or None


def _git_rev():
    try:
        r = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                           capture_output=True, text=True, timeout=10)
        return r.stdout.strip() or None
    except (OSError, subprocess.TimeoutExpired):
        return None


def info(go_version):
    import numpy
    try:
        import Cython
        cython = Cython.__version__
    except ImportError:
        cython = None
    try:
        from goruntime import _version
        grv = getattr(_version, "__version__", None) or getattr(_version, "version", None)
    except ImportError:
        grv = None
    return {
        "nproc": os.cpu_count(),
        "affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cpu_model": cpu_model(),
        "mem_gib": mem_total_gib(),
        "kernel": platform.release(),
        "thp": thp(),
        "go": go_version,
        "python": sys.version.split()[0],
        "python_impl": platform.python_implementation(),
        "numpy": numpy.__version__,
        "cython": cython,
        "goruntime": grv,
        "git": _git_rev(),
        "loadavg_start": loadavg(),
    }


def header(m):
    return (f"machine: {m['nproc']} CPUs ({m['cpu_model']}), {m['mem_gib']} GiB, Linux {m['kernel']}, "
            f"THP {m['thp']}\n"
            f"software: {m['go'] or 'go: not found'}; Python {m['python']} ({m['python_impl']}), "
            f"numpy {m['numpy']}, Cython {m['cython']}; goruntime {m['goruntime']} @ {m['git']}\n"
            f"load average at start: {m['loadavg_start']}")
