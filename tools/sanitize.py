#!/usr/bin/env python3
"""Run the test suite against goruntime built with AddressSanitizer + UndefinedBehaviorSanitizer.

``make sanitize`` calls this. The sanitized extensions never touch the normal build: the
source tree is mirrored into ``build/sanitize/tree`` (the files git tracks plus untracked,
not-ignored ones, so new tests are included; never generated .c/.so), the extensions are
built in place *there* with ``GORUNTIME_SANITIZE=1`` (ASan + UBSan, boundscheck and
``GORUNTIME_CHECKS=1``), and pytest runs from the mirror with ``PYTHONPATH`` pointing at it,
so this process and every Python child (CLI subprocesses, Jupyter kernels) import the
sanitized goruntime. The mirror is updated incrementally: a second run recompiles only
what changed.

The interpreter is a normal (non-ASan) CPython, so the ASan runtime is ``LD_PRELOAD``-ed
(it must come first in the library list) together with the UBSan runtime. Every report,
from this process or any child, goes to a file under ``build/sanitize/reports``; the run
fails if pytest fails *or* any report file exists, and the reports are printed.

Options (environment of the run; see HACKING.md "Sanitizers"):

- ASan: ``detect_leaks=0`` (CPython's interned objects and caches are never freed; leak
  checking a non-ASan interpreter is noise), ``allocator_may_return_null=1`` (a huge
  ``np.empty`` must fail with MemoryError as with glibc malloc, not abort: the resource
  limit tests rely on it), ``halt_on_error=1``, ``abort_on_error=1``, suppressions in
  ``tools/sanitize/asan.supp``.
- UBSan: ``halt_on_error=1``, ``print_stacktrace=1``, suppressions in
  ``tools/sanitize/ubsan.supp``; the extensions are also compiled with
  ``-fno-sanitize-recover=all``, so a UB report is fatal whatever the options say.

Usage: ``python tools/sanitize.py [--no-build] [--dest DIR] [-- PYTEST_ARGS...]``
"""
from __future__ import annotations

import argparse
import filecmp
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SUPP = ROOT / "tools" / "sanitize"
# Never mirrored: what the build or a run generates in the tree.
GENERATED_SUFFIXES = (".so", ".c", ".html", ".pyc")
# Lines that only a sanitizer prints.
REPORT_MARKERS = ("runtime error: ", "ERROR: AddressSanitizer", "SUMMARY: AddressSanitizer",
                  "SUMMARY: UndefinedBehaviorSanitizer", "ERROR: LeakSanitizer",
                  "AddressSanitizer:DEADLYSIGNAL")


def log(msg: str) -> None:
    print(f"sanitize: {msg}", flush=True)


def source_files() -> list[str]:
    """Tracked files plus untracked, not-ignored ones (relative paths)."""
    try:
        out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                             cwd=ROOT, check=True, capture_output=True).stdout
        files = [f for f in out.decode().split("\0") if f]
    except (OSError, subprocess.CalledProcessError):
        files = [str(p.relative_to(ROOT)) for p in ROOT.rglob("*")
                 if p.is_file() and not {"build", ".git", "__pycache__"} & set(p.relative_to(ROOT).parts)]
    keep = []
    for f in files:
        if f.startswith("goruntime/") and f.endswith(GENERATED_SUFFIXES):
            continue  # a generated file that happens to be tracked: never take the release one
        if (ROOT / f).is_file():
            keep.append(f)
    return keep


def mirror(dest: Path) -> None:
    files = source_files()
    copied = 0
    for rel in files:
        src, dst = ROOT / rel, dest / rel
        if dst.is_file() and filecmp.cmp(src, dst, shallow=False):
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dst)
        copied += 1
    # Drop mirrored sources that are gone from the tree (keep build products and caches).
    wanted = set(files)
    removed = 0
    for p in list(dest.rglob("*")):
        rel = p.relative_to(dest)
        if (not p.is_file() or str(rel) in wanted or p.name.endswith(GENERATED_SUFFIXES)
                or rel.parts[0] in ("build", ".hypothesis", ".pytest_cache", ".cache")
                or "__pycache__" in rel.parts or rel.name.startswith(".stamp-")):
            continue
        p.unlink()
        removed += 1
    log(f"mirrored {len(files)} files into {dest} ({copied} copied, {removed} removed)")


def runtime_lib(name: str) -> str:
    cc = os.environ.get("CC", "gcc")
    path = subprocess.run([cc, f"-print-file-name={name}"], check=True, capture_output=True,
                          text=True).stdout.strip()
    if not os.path.isabs(path) or not os.path.exists(path):
        sys.exit(f"sanitize: {cc} does not know {name} (got {path!r}); install gcc's sanitizer runtimes")
    return os.path.realpath(path)


def build_numpy_alloc(site: Path) -> None:
    """Compile tools/sanitize/numpy_mmap_alloc.c (no sanitizer flags) and its sitecustomize."""
    import sysconfig

    import numpy as np
    site.mkdir(parents=True, exist_ok=True)
    src = SUPP / "numpy_mmap_alloc.c"
    out = site / ("numpy_mmap_alloc" + sysconfig.get_config_var("EXT_SUFFIX"))
    cc = os.environ.get("CC", "gcc")
    subprocess.run([cc, "-O2", "-g", "-Wall", "-shared", "-fPIC",
                    "-I" + sysconfig.get_paths()["include"], "-I" + np.get_include(),
                    str(src), "-o", str(out)], check=True)
    shutil.copy2(SUPP / "sitecustomize.py", site / "sitecustomize.py")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dest", default=str(ROOT / "build" / "sanitize"))
    ap.add_argument("--no-build", action="store_true", help="reuse the sanitized build as it is")
    ap.add_argument("pytest_args", nargs="*")
    args = ap.parse_args()

    dest = Path(args.dest).resolve()
    tree = dest / "tree"
    reports = dest / "reports"
    t0 = time.monotonic()
    if not args.no_build:
        tree.mkdir(parents=True, exist_ok=True)
        mirror(tree)
        env = dict(os.environ, GORUNTIME_SANITIZE="1")
        build_log = dest / "build.log"
        log(f"building the extensions with ASan+UBSan (output in {build_log})")
        with open(build_log, "w") as out:
            b = subprocess.run([sys.executable, "setup.py", "build_ext", "--inplace",
                                "-j", str(os.cpu_count() or 1)],
                               cwd=tree, env=env, stdout=out, stderr=subprocess.STDOUT)
        if b.returncode != 0:
            sys.stderr.write("".join(build_log.read_text(errors="replace").splitlines(True)[-60:]))
            log(f"build FAILED (exit {b.returncode}); full output in {build_log}")
            return b.returncode
        log(f"built in {time.monotonic() - t0:.0f}s")

    site = dest / "site"
    if not args.no_build:
        build_numpy_alloc(site)

    shutil.rmtree(reports, ignore_errors=True)
    reports.mkdir(parents=True)
    asan = ":".join([
        "detect_leaks=0", "allocator_may_return_null=1", "halt_on_error=1", "abort_on_error=1",
        f"suppressions={SUPP / 'asan.supp'}", f"log_path={reports / 'asan'}",
    ])
    ubsan = ":".join([
        "halt_on_error=1", "print_stacktrace=1",
        f"suppressions={SUPP / 'ubsan.supp'}", f"log_path={reports / 'ubsan'}",
    ])
    preload = [runtime_lib("libasan.so"), runtime_lib("libubsan.so")]
    old_preload = os.environ.get("LD_PRELOAD", "")
    pythonpath = [str(tree), str(site)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    env = dict(os.environ, ASAN_OPTIONS=asan, UBSAN_OPTIONS=ubsan,
               LD_PRELOAD=" ".join(preload + ([old_preload] if old_preload else [])),
               PYTHONPATH=os.pathsep.join(pythonpath))
    env.pop("GORUNTIME_SANITIZE", None)

    # Prove that the run really imports the sanitized extensions, not the release build.
    probe = subprocess.run(
        [sys.executable, "-c",
         "from numpy._core.multiarray import get_handler_name as g; assert g() == 'goruntime_sanitize_mmap', "
         "g();"
         "import goruntime._heap as h, goruntime._mark as m, goruntime._object as o;"
         "print(h.__file__); print(m.__file__); print(o.__file__)"],
        cwd=tree, env=env, capture_output=True, text=True)
    if probe.returncode != 0:
        sys.stderr.write(probe.stdout + probe.stderr)
        return probe.returncode or 1
    for f in probe.stdout.split():
        if not Path(f).resolve().is_relative_to(tree):
            sys.exit(f"sanitize: imported {f}, not the sanitized build under {tree}")
        ldd = subprocess.run(["ldd", f], capture_output=True, text=True).stdout
        if "libasan" not in ldd or "libubsan" not in ldd:
            sys.exit(f"sanitize: {f} is not linked against libasan/libubsan")

    # --capture=sys: pytest's default fd-level capture would swallow a report written to fd 2
    # by a test that then dies (UBSan ignores log_path when ASan is preloaded, as seen with
    # gcc 12), so C-level stderr goes straight to the terminal and to pytest.log, scanned below.
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--capture=sys",
           *args.pytest_args]
    log("running " + " ".join(cmd[1:]) + f" in {tree}")
    t1 = time.monotonic()
    out_log = dest / "pytest.log"
    with open(out_log, "wb") as out:
        p = subprocess.Popen(cmd, cwd=tree, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        while chunk := os.read(p.stdout.fileno(), 65536):
            sys.stdout.buffer.write(chunk)
            sys.stdout.buffer.flush()
            out.write(chunk)
        rc = p.wait()
    log(f"pytest exited {rc} after {time.monotonic() - t1:.0f}s (output in {out_log})")

    found = sorted(reports.iterdir())
    for f in found:
        sys.stderr.write(f"\n===== sanitizer report {f.name} =====\n")
        sys.stderr.write(f.read_text(errors="replace"))
    text = out_log.read_text(errors="replace")
    inline = [line for line in text.splitlines() if any(m in line for m in REPORT_MARKERS)]
    if found or inline:
        for line in inline:
            sys.stderr.write(f"sanitizer report in pytest output: {line}\n")
        log(f"FAILED: {len(found)} sanitizer report file(s) in {reports}, "
            f"{len(inline)} report line(s) in {out_log}")
        return 1
    log(f"no sanitizer reports ({time.monotonic() - t0:.0f}s in all)")
    return rc


if __name__ == "__main__":
    sys.exit(main())
