"""``python -m goruntime`` (and the ``goruntime`` script): the first five minutes.

Subcommands::

    goruntime demo                       the seed tutorial "GC and SetFinalizer", in motion
    goruntime run WORKLOAD [N] [--gogc N] [--memory-limit 64MiB] [--gctrace] [--plot out.png]
                                         a built-in workload, then a GC summary table
    goruntime sizeclass N [--pointers]   where Go 1.27 puts an N-byte allocation

Errors (an unknown workload, a malformed GOMEMLIMIT, a bad argument) are one line on stderr
and exit status 2, as argparse and Go's own runtime both use.
"""
from __future__ import annotations

import argparse
import json
import sys

from ._display import fmt_bytes, fmt_ns, plural, time_label, time_note
from .errors import FatalError

__all__ = ["main", "build_parser", "WORKLOADS", "sizeclass_report", "run_workload"]

PROG = "goruntime"

# name -> (function name in goruntime.workloads, what N means, default N)
WORKLOADS = {
    "binary_trees": ("binary_trees", "max depth", 14),
    "gcbench": ("gcbench", "stretch tree depth (long-lived and max depth: N-2)", 18),
    "linked_list": ("linked_list", "nodes", 1_000_000),
    "random_graph": ("random_graph", "nodes", 200_000),
}


class UsageError(Exception):
    """A bad command line: printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, but an error is one line (``goruntime: error: ...``), not usage + error."""

    def error(self, message):
        raise UsageError(message)


def _gogc(s):
    if s == "off":
        return -1
    try:
        n = int(s, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid GOGC {s!r}: want an integer or 'off'") from None
    if n > (1 << 31) - 1:            # Go reads GOGC as an int32
        raise argparse.ArgumentTypeError(f"invalid GOGC {s!r}: more than the largest int32, "
                                         f"{(1 << 31) - 1:,}")
    return -1 if n < 0 else n


MAX_INT64 = (1 << 63) - 1
MAX_ALLOC = 1 << 48          # Go: maxAlloc on linux/amd64, the largest allocation there is


def _size(s, *, limit=MAX_INT64, why=f"the largest int64, {MAX_INT64:,}"):
    try:
        n = int(s, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid size {s!r}: want a non-negative integer") from None
    if n < 0:
        raise argparse.ArgumentTypeError(f"invalid size {s!r}: want a non-negative integer")
    if n > limit:
        raise argparse.ArgumentTypeError(f"invalid size {s!r}: more than {why}")
    return n


def _bytes(s):
    return _size(s, limit=MAX_ALLOC, why=f"Go can allocate on linux/amd64 (maxAlloc = 1<<48 = "
                                         f"{MAX_ALLOC:,} bytes)")


def build_parser():
    p = _Parser(prog=PROG, description="Go 1.27's memory manager, emulated: try it from the shell.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    d = sub.add_parser("demo", help='the tutorial "GC and SetFinalizer", with real numbers')
    d.add_argument("--quiet", action="store_true", help=argparse.SUPPRESS)

    r = sub.add_parser("run", help="run a built-in workload and summarise its GCs",
                       description="Run a built-in workload (" + ", ".join(WORKLOADS) + ") on a "
                       "fresh runtime and print NumGC, pauses, peak HeapInuse, GC CPU fraction.")
    r.add_argument("workload", metavar="WORKLOAD", help="one of: " + ", ".join(WORKLOADS))
    r.add_argument("n", metavar="N", nargs="?", type=_size,
                   help="size: " + "; ".join(f"{k}: {v[1]} (default {v[2]:,})" for k, v in WORKLOADS.items()))
    r.add_argument("--gogc", type=_gogc, default=100, metavar="N",
                   help="GOGC: heap growth percent, or 'off' (default 100)")
    r.add_argument("--memory-limit", metavar="LIMIT", default=None,
                   help="GOMEMLIMIT, e.g. 64MiB (Go's syntax: B, KiB, MiB, GiB, TiB)")
    r.add_argument("--gomaxprocs", type=int, default=1, metavar="N", help="GOMAXPROCS (default 1)")
    r.add_argument("--degree", type=int, default=2, help="random_graph: out-edges per node (0..4)")
    r.add_argument("--clock", choices=("virtual", "wall"), default="virtual",
                   help="virtual: deterministic cost model (default); wall: measured")
    r.add_argument("--gctrace", action="store_true", help="print GODEBUG=gctrace=1 lines (stderr)")
    r.add_argument("--plot", metavar="PNG", help="save heap-vs-goal over the run (needs matplotlib)")
    r.add_argument("--json", action="store_true", help="print the summary as JSON")

    s = sub.add_parser("sizeclass", help="where Go puts an N-byte allocation",
                       description="Size class, slot size, malloc header, objects per span of an "
                       "N-byte allocation (linux/amd64, Go 1.27 with Green Tea).")
    s.add_argument("n", metavar="N", type=_bytes, help="bytes requested")
    s.add_argument("--pointers", action="store_true",
                   help="the type contains pointers (scan); default: pointer-free (noscan)")

    h = sub.add_parser("heapdump", help="load a Go heap dump (debug.WriteHeapDump) and report",
                       description="Load a Go 1.27 heap dump into goruntime: what a GC would "
                       "free, the top retainers, allocation sites, size classes, why objects live.")
    h.add_argument("file", metavar="FILE", help="the dump written by runtime/debug.WriteHeapDump")
    h.add_argument("--why", metavar="ADDR", action="append", default=[],
                   type=lambda s: int(s, 0), help="print a shortest path from a root (repeatable)")
    h.add_argument("--top", type=int, default=10, metavar="N", help="rows per table (default 10)")
    h.add_argument("--no-gc", action="store_true", help="skip the GC of the loaded heap")
    from .trace import cli as _trace_cli
    _trace_cli.add_parser(sub)
    return p


def _cmd_heapdump(args, out):
    from . import heapdump
    try:
        d = heapdump.load(args.file, build_runtime=not args.no_gc)
        print(d.report(top=args.top, gc=not args.no_gc, why=args.why), file=out)
    except (ValueError, OSError) as e:
        raise UsageError(str(e)) from None
    return 0


# ---------------------------------------------------------------------------------------
# sizeclass

def sizeclass_report(n, pointers):
    """The lines ``goruntime sizeclass N [--pointers]`` prints, and the facts as a dict."""
    from . import _heap
    kind, sc, slot, header = _heap.size_class(n, not pointers)
    facts = {"bytes": n, "pointers": pointers, "kind": kind, "class": sc, "slot": slot,
             "header": bool(header)}
    scan = "pointers (scan)" if pointers else "no pointers (noscan)"
    lines = [f"request       {n:,} bytes, {scan}"]
    if kind == "zero":
        lines += ["kind          zero-size: returns &runtime.zerobase (0x5e4d60); no span, "
                  "no bytes, Mallocs +0",
                  "header        no"]
        return lines, facts
    if kind == "large":
        pages = slot // _heap.PAGE_BYTES
        facts.update(span_pages=pages, per_span=1)
        lines += [f"kind          large (> 32760 bytes): a span of its own, span class "
                  f"{0 if pointers else 1}",
                  f"slot size     {slot:,} bytes ({plural(pages, 'page')} of 8 KiB; "
                  f"{slot - n:,} bytes of the last page unused)",
                  "header        no (large objects keep their type in the span)",
                  f"span          {plural(pages, 'page')}, 1 object per span"]
        return lines, facts
    npages = _heap.SIZE_CLASS_TO_NPAGES[sc]
    tiny = kind == "tiny"
    nelems = (_heap.SIZE_CLASS_TO_NELEMS_SCAN if pointers else _heap.SIZE_CLASS_TO_NELEMS_NOSCAN)[sc]
    spanclass = sc << 1 | (0 if pointers else 1)
    facts.update(span_pages=npages, per_span=nelems, spanclass=spanclass)
    if tiny:
        lines.append("kind          tiny (pointer-free, < 16 bytes): packed with others into "
                     "16-byte blocks of class 2 (span class 5)")
    else:
        lines.append(f"kind          small (<= 32760 bytes), span class {spanclass}")
    lines.append(f"size class    {sc}")
    need = n + 8 if header else n
    waste = slot - need if not tiny else 16 - n
    lines.append(f"slot size     {slot:,} bytes" + (
        f" (shares its 16-byte block; {waste} bytes left for neighbours)" if tiny else
        f" ({waste:,} bytes of internal fragmentation)"))
    if header:
        lines.append(f"header        yes: an 8-byte malloc header (type pointer) at the start of "
                     f"the slot; the object starts at slot+8, the class is chosen for {n:,}+8 = "
                     f"{need:,} bytes")
    else:
        why = ("pointer-free objects never have one" if not pointers else
               "pointerful objects <= 512 bytes use the span's heap bitmap")
        lines.append(f"header        no ({why})")
    reserved = npages * _heap.PAGE_BYTES - nelems * slot
    lines.append(f"span          {plural(npages, 'page')} "
                 f"({npages * _heap.PAGE_BYTES:,} bytes), {plural(nelems, 'object')} per span"
                 + (f" ({reserved:,} bytes for Green Tea metadata and tail)" if reserved else ""))
    return lines, facts


# ---------------------------------------------------------------------------------------
# run

def _workloads_module():
    try:
        from . import workloads
    except ImportError as e:
        raise UsageError(f"the built-in workloads are not available ({e}); "
                         "rebuild with `make build`") from e
    return workloads


def run_workload(name, n=None, *, gogc=100, memory_limit=None, gomaxprocs=1, degree=2,
                 clock="virtual", gctrace=False, stderr=None):
    """Run workload *name* on a fresh runtime; returns ``(summary, recorder, runtime stats)``."""
    from . import pacer, runtime
    from .plot import Recorder
    key = name.replace("-", "_").lower()
    if key not in WORKLOADS:
        raise UsageError(f"unknown workload {name!r}; choose one of: {', '.join(WORKLOADS)}")
    limit = None
    if memory_limit is not None:
        try:
            limit = pacer.parse_gomemlimit(memory_limit)
        except FatalError as e:
            raise UsageError(f"{e} (GOMEMLIMIT={memory_limit}: want a number of bytes with an "
                             "optional unit B, KiB, MiB, GiB or TiB, e.g. 64MiB, or off)") from None
    wl = _workloads_module()
    fname, _what, default = WORKLOADS[key]
    fn = getattr(wl, fname, None)
    if fn is None:
        raise UsageError(f"goruntime.workloads has no {fname}() yet")
    n = default if n is None else n
    if key == "binary_trees":
        call = lambda: fn(n)                                             # noqa: E731
    elif key == "gcbench":
        if n < 6:
            raise UsageError("gcbench: N (the stretch tree depth) must be at least 6")
        call = lambda: fn(stretch_tree_depth=n, long_lived_tree_depth=n - 2,   # noqa: E731
                          max_tree_depth=n - 2)
    elif key == "random_graph":
        call = lambda: fn(n, degree)                                     # noqa: E731
    else:
        call = lambda: fn(n)                                             # noqa: E731
    try:
        r = runtime.Runtime(gogc=gogc, memory_limit=limit, gomaxprocs=gomaxprocs, clock=clock,
                            godebug="gctrace=1" if gctrace else "", stderr=stderr)
    except (TypeError, ValueError) as e:
        raise UsageError(str(e)) from None
    with r, Recorder(r) as rec:
        before = r.read_mem_stats()
        try:
            summary = call()
        except (TypeError, ValueError) as e:
            raise UsageError(f"{key}: {e}") from None
        after = r.read_mem_stats()
    pauses = [g.pause_ns for g in rec.gcs]
    stats = {
        "workload": key, "n": n, "n_run": summary.get("max_depth", n),
        "clock": "wall" if r.clock.virtual is False else "virtual",
        "gogc": r.pacer.gc_percent, "memory_limit": r.pacer.memory_limit,
        "num_gc": after.NumGC - before.NumGC,
        "forced_gc": after.NumForcedGC - before.NumForcedGC,
        "objects": summary.get("objects"),
        "total_alloc": after.TotalAlloc - before.TotalAlloc,
        "pause_total_ns": after.PauseTotalNs - before.PauseTotalNs,
        "pause_max_ns": max(pauses, default=0),
        "peak_heap_inuse": rec.peak_heap_inuse,
        "heap_inuse_end": after.HeapInuse,
        "next_gc": after.NextGC,
        "gc_cpu_fraction": after.GCCPUFraction,
        "wall_seconds": summary.get("wall_seconds"),
    }
    return summary, rec, stats


def _summary_lines(stats, summary, clock=None):
    limit = stats["memory_limit"]
    size_desc = WORKLOADS[stats["workload"]][1]
    n, n_run = stats["n"], stats.get("n_run", stats["n"])
    clamp = (f"; N={n:,} asked, Go's program uses at least {n_run}" if n_run != n else "")
    how = time_label(clock)
    rows = [
        ("workload", f"{stats['workload']}({n_run:,})  [N = {size_desc}{clamp}]"),
        ("GOGC", "off" if stats["gogc"] < 0 else str(stats["gogc"])),
        ("GOMEMLIMIT", "off" if limit >= (1 << 63) - 1 else f"{fmt_bytes(limit)} ({limit:,} bytes)"),
        ("objects", f"{stats['objects']:,}" if stats["objects"] is not None else "?"),
        ("TotalAlloc", f"{fmt_bytes(stats['total_alloc'])} ({stats['total_alloc']:,} bytes)"),
        ("NumGC", f"{stats['num_gc']} ({stats['forced_gc']} forced)"),
        ("total pause", fmt_ns(stats["pause_total_ns"])
         + (f" ({stats['pause_total_ns']:,} ns)" if stats["pause_total_ns"] >= 1000 else "")
         + f", {how}"),
        ("max pause", f"{fmt_ns(stats['pause_max_ns'])}, {how}"),
        ("peak HeapInuse", f"{fmt_bytes(stats['peak_heap_inuse'])} ({stats['peak_heap_inuse']:,} bytes)"),
        ("NextGC at end", fmt_bytes(stats["next_gc"])),
        ("GC CPU fraction", f"{stats['gc_cpu_fraction'] * 100:.2f} %, {how}"),
        ("emulator time", f"{stats['wall_seconds']:.2f} s wall" if stats["wall_seconds"] else "?"),
    ]
    return [f"{k:<16} {v}" for k, v in rows] + [f"{'note':<16} {time_note(clock, instants=False)}"]


def _require_matplotlib():
    try:
        from .plot import require_matplotlib
        require_matplotlib()
    except ImportError as e:
        raise UsageError(str(e).split(" (")[0]) from None


def _check_plot_path(path):
    """Before the workload runs: *path* must name a format matplotlib writes, in a
    directory that exists and is writable (else one line, exit 2)."""
    import os
    from matplotlib.figure import Figure
    formats = Figure().canvas.get_supported_filetypes()
    ext = os.path.splitext(path)[1][1:].lower()
    if ext not in formats:
        raise UsageError(f"--plot {path}: {'no file extension' if not ext else f'.{ext} is not an image format'}; "
                         f"use one of: {', '.join('.' + f for f in sorted(formats))}")
    d = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(d):
        raise UsageError(f"--plot {path}: no such directory {os.path.dirname(path) or '.'}")
    if not os.access(d, os.W_OK):
        raise UsageError(f"--plot {path}: cannot write to directory {os.path.dirname(path) or '.'}")


def _cmd_run(args, out):
    if args.plot:
        _require_matplotlib()
        _check_plot_path(args.plot)
    summary, rec, stats = run_workload(
        args.workload, args.n, gogc=args.gogc, memory_limit=args.memory_limit,
        gomaxprocs=args.gomaxprocs, degree=args.degree, clock=args.clock, gctrace=args.gctrace)
    if args.json:
        print(json.dumps(stats, indent=2), file=out)
    else:
        for line in _summary_lines(stats, summary, rec.runtime.clock):
            print(line, file=out)
    if args.plot:
        from matplotlib.figure import Figure
        from .plot import plot_heap
        fig = Figure(figsize=(8, 4), layout="constrained")
        ax = fig.subplots()
        plot_heap(rec, ax=ax, title=f"{stats['workload']}({stats['n_run']:,}): heap vs goal, "
                  f"GOGC={'off' if stats['gogc'] < 0 else stats['gogc']}, "
                  f"{plural(stats['num_gc'], 'GC')}")
        try:
            fig.savefig(args.plot, dpi=110)
        except (OSError, ValueError) as e:
            raise UsageError(f"cannot write {args.plot}: {getattr(e, 'strerror', None) or e}") from None
        if not args.json:
            print(f"{'plot':<16} {args.plot}", file=out)
    return 0


def _cmd_sizeclass(args, out):
    lines, _facts = sizeclass_report(args.n, args.pointers)
    for line in lines:
        print(line, file=out)
    return 0


def _cmd_demo(args, out):
    from . import tutorial
    tutorial.run(None if args.quiet else out)
    return 0


def main(argv=None, out=None, err=None) -> int:
    """Entry point of ``python -m goruntime`` / the ``goruntime`` script; returns the exit code."""
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv:                     # like `go` with no arguments: the usage, exit status 2
        parser.print_help(err)
        return 2
    try:
        args = parser.parse_args(argv)
        if args.command == "whatif":
            from .trace import cli as _trace_cli
            return _trace_cli.run(args, out, UsageError)
        return {"demo": _cmd_demo, "run": _cmd_run, "sizeclass": _cmd_sizeclass,
                "heapdump": _cmd_heapdump}[args.command](args, out)
    except UsageError as e:
        print(f"{PROG}: error: {e}", file=err)
        return 2
    except (FatalError, MemoryError) as e:      # Go: fatal error, exit status 2
        print(f"{PROG}: fatal error: {e}", file=err)
        return 2
    except BrokenPipeError:          # `goruntime demo | head`
        return 0
