"""``goruntime whatif TRACE``: the what-if grid from the shell (a subcommand of goruntime.cli).

    goruntime whatif app.trace --gogc 50,100,200 --memory-limit 256MiB,off
    goruntime whatif app.trace --calibrate          # recorded vs emulated, no grid

Prints one row per configuration (NumGC, peak heap, GC CPU, pauses); ``--workers N``
runs the grid on a local Dask cluster of N workers (0 = in this process), ``--plot PNG``
saves the memory / CPU trade-off, ``--json`` prints the rows as JSON.
"""
from __future__ import annotations

import json

__all__ = ["add_parser", "run"]


def _list(s):
    return [x.strip() for x in s.split(",") if x.strip()]


def add_parser(sub):
    w = sub.add_parser("whatif", help="replay a Go execution trace under other GOGC / GOMEMLIMIT",
                       description="Replay the allocations of a Go 1.27 execution trace (recorded "
                       "with GODEBUG=traceallocfree=1) under other settings.")
    w.add_argument("trace", metavar="TRACE", help="trace file (runtime/trace, go test -trace)")
    w.add_argument("--gogc", default=None, metavar="LIST", help="GOGC values, e.g. 50,100,200,off")
    w.add_argument("--memory-limit", default=None, metavar="LIST",
                   help="GOMEMLIMIT values, e.g. 256MiB,off")
    w.add_argument("--gomaxprocs", default=None, metavar="LIST", help="GOMAXPROCS values")
    w.add_argument("--recorded-gogc", default=None, metavar="N",
                   help="the GOGC the trace was recorded with (default: estimated from it)")
    w.add_argument("--death", default=None, metavar="MODEL",
                   help="how deaths are placed between the cycles the frees allow: "
                   "group, fit, spread, early, gc or free (default: replay's; see docs/trace.md)")
    w.add_argument("--workers", type=int, default=0, metavar="N",
                   help="run on a local Dask cluster of N workers (default 0: in this process)")
    w.add_argument("--calibrate", action="store_true",
                   help="compare the replay under the recorded settings with the recorded GCs")
    w.add_argument("--plot", metavar="PNG", help="save the trade-off (or calibration) plot")
    w.add_argument("--json", action="store_true", help="print the rows as JSON")
    return w


COLUMNS = (("gogc", "GOGC"), ("memory_limit", "GOMEMLIMIT"), ("gomaxprocs", "PROCS"),
           ("num_gc", "NumGC"), ("peak_heap_bytes", "peak heap"), ("gc_cpu_fraction", "GC CPU"),
           ("pause_total_ns", "pauses"))


def _fmt(key, v):
    from goruntime._display import fmt_bytes, fmt_ns
    if key == "gogc":
        return "off" if v < 0 else str(v)
    if key == "memory_limit":
        return "off" if v is None or v != v else fmt_bytes(int(v))
    if key == "peak_heap_bytes":
        return fmt_bytes(int(v))
    if key == "gc_cpu_fraction":
        return f"{100 * v:.2f} %"
    if key == "pause_total_ns":
        return fmt_ns(int(v))
    return str(v)


def run(args, out, usage_error):
    from goruntime import pacer
    from . import load
    from .calibrate import calibrate, configurations, whatif, plot_calibration, plot_tradeoff
    from .calibrate import _trace_notes
    try:
        gogc = None
        if args.recorded_gogc is not None:
            gogc = pacer.parse_gogc(args.recorded_gogc)
        tr = load(args.trace, gogc=gogc)
        from .simulate import DEATH_MODELS, replay
        death = replay.__kwdefaults__["death"] if args.death is None else args.death
        if death not in DEATH_MODELS:
            raise ValueError(f"--death must be one of {', '.join(DEATH_MODELS)}, not {death!r}")
        if args.calibrate:
            cal = calibrate(tr, death=death)
            print(json.dumps({"recorded": cal.recorded, "emulated": cal.emulated,
                              "gaps": cal.gaps}, indent=2) if args.json else str(cal), file=out)
            rows, picture = None, lambda ax: plot_calibration(cal, ax=ax)
        else:
            g = [pacer.parse_gogc(x) for x in _list(args.gogc)] if args.gogc else None
            m = _list(args.memory_limit) if args.memory_limit else None
            p = [int(x) for x in _list(args.gomaxprocs)] if args.gomaxprocs else None
            configurations(g, m, p)                  # argument errors before any work
            if args.workers > 0:
                from distributed import Client
                from .dask_sweep import local_cluster, sweep
                with local_cluster(args.workers) as cl, Client(cl) as client:
                    rows = sweep(tr, gogc=g, memory_limit=m, gomaxprocs=p, client=client,
                                 death=death, progress=False).to_dict("records")
            else:
                rows = whatif(tr, gogc=g, memory_limit=m, gomaxprocs=p, death=death)
            if args.json:
                print(json.dumps(rows, indent=2), file=out)
            else:
                print(f"{tr.path}: {len(tr.allocs):,} allocations, {len(tr.gcs)} recorded GCs, "
                      f"{tr.duration / 1e6:.1f} ms", file=out)
                table = [[h for _, h in COLUMNS]] + [[_fmt(k, r[k]) for k, _ in COLUMNS] for r in rows]
                w = [max(len(row[i]) for row in table) for i in range(len(COLUMNS))]
                for row in table:
                    print("  ".join(c.rjust(w[i]) for i, c in enumerate(row)), file=out)
                for n in _trace_notes(tr):
                    print("note: " + n, file=out)
            picture = lambda ax: plot_tradeoff(rows, ax=ax)           # noqa: E731
    except (OSError, ValueError, TypeError) as e:
        raise usage_error(str(e)) from None
    except ImportError as e:
        raise usage_error(str(e)) from None
    if args.plot:
        from matplotlib.figure import Figure
        fig = Figure(figsize=(8, 4), layout="constrained")
        picture(fig.subplots())
        try:
            fig.savefig(args.plot, dpi=110)
        except OSError as e:
            raise usage_error(f"cannot write {args.plot}: {e.strerror or e}") from None
    return 0
