"""Calibration: the emulator against the program's own GCs, and what-if runs.

`calibrate` replays a trace under the settings it was recorded with and sets what the
emulated runtime did beside what Go did, cycle by cycle: the number of cycles, each
cycle's heap goal, the peak heap (heapLive, as the trace's HeapAlloc events record it).
The gap is the error of the whole model for *this* program -- the pacer's, and the
replay's guesses about what the trace does not say (death times, the pointer graph; see
``goruntime.trace.simulate``). It also replays with every cycle at its recorded time
(``cycles="recorded"``): that run's gap is the heap model's alone (sizes, lifetimes, the
marked heap the recorded frees imply, heapLive accounting), and the difference between
the two is the pacer's timing. With ``bounds=True`` it also replays with the earliest and
the latest death times the recorded frees allow, which bracket the answer.

`whatif` runs the same replay under other GOGC / GOMEMLIMIT / GOMAXPROCS values, one row
per configuration: peak heap, NumGC, GC CPU fraction, pauses -- the GC guide's memory /
CPU trade-off, for the user's own program. `plot_calibration` and `plot_tradeoff` draw
them (matplotlib, lazily, as goruntime.plot does).
"""
from __future__ import annotations

import gc
import itertools
from dataclasses import dataclass, field

import numpy as np

from goruntime import _heap

from .simulate import _SCRATCH, prepare, replay_detail, replay

__all__ = ["calibrate", "Calibration", "whatif", "configurations", "plot_calibration",
           "plot_tradeoff", "parse_limit"]


@dataclass
class Calibration:
    """What Go recorded and what the emulator did, under the recorded settings.

    ``recorded`` / ``emulated``: {"num_gc", "peak_heap_bytes", "goals" (the heap goal each
    cycle set, in order)}; ``gaps``: {"num_gc" (emulated - recorded), "num_gc_ratio",
    "peak_heap_ratio" (emulated / recorded), "goal_error_median", "goal_error_max"
    (relative error of the goals of the first min(n, m) cycles, paired in order)};
    ``at_recorded_cycles``: {"num_gc", "peak_heap_bytes", "peak_heap_ratio"} of the replay
    with every cycle at its recorded start (the heap model without the pacer's timing);
    ``bounds``: {"early": replay, "gc": replay} when asked for; ``settings`` used;
    ``result`` the full replay dict; ``notes``: where the model is approximate.
    """
    recorded: dict
    emulated: dict
    gaps: dict
    settings: dict
    result: dict
    detail: dict = field(repr=False, default_factory=dict)
    at_recorded_cycles: dict = field(default_factory=dict)
    bounds: dict = field(default_factory=dict)
    notes: tuple = ()
    trace: object = field(repr=False, default=None)

    def table(self):
        """The comparison as rows (quantity, recorded, emulated, gap)."""
        r, e, g = self.recorded, self.emulated, self.gaps
        rows = [("NumGC", r["num_gc"], e["num_gc"], f"{g['num_gc']:+d} ({g['num_gc_ratio']:.2f}x)"),
                ("peak heap (heapLive)", r["peak_heap_bytes"], e["peak_heap_bytes"],
                 f"{g['peak_heap_ratio']:.3f}x"),
                ("heap goal per cycle", f"{len(r['goals'])} cycles", f"{len(e['goals'])} cycles",
                 "median |err| %.1f %%, max %.1f %%" % (100 * g["goal_error_median"],
                                                        100 * g["goal_error_max"]))]
        a = self.at_recorded_cycles
        if a:
            rows.append(("peak heap, cycles at Go's times", r["peak_heap_bytes"],
                         a["peak_heap_bytes"], f"{a['peak_heap_ratio']:.3f}x"))
        for name, b in self.bounds.items():
            rows.append((f"bracket: deaths {name}", "", f"NumGC {b['num_gc']}, peak "
                         f"{b['peak_heap_bytes']}", ""))
        return rows

    def __str__(self):
        s = self.settings
        lines = [f"calibration of {getattr(self.trace, 'path', None) or 'trace'} "
                 f"(GOGC={s['gogc']}, GOMEMLIMIT={s['memory_limit'] or 'off'}, "
                 f"GOMAXPROCS={s['gomaxprocs']}, deaths: {self.detail.get('death')})"]
        w = max(len(r[0]) for r in self.table())
        lines.append(f"  {'':{w}}  {'recorded':>14}  {'emulated':>22}  gap")
        for q, a, b, g in self.table():
            lines.append(f"  {q:{w}}  {str(a):>14}  {str(b):>22}  {g}")
        lines += ["  note: " + n for n in self.notes]
        return "\n".join(lines)

    def plot(self, ax=None):
        return plot_calibration(self, ax=ax)


NOTES = (
    "pointers are not in a trace: each object is kept alive by a root of its own for its "
    "recorded lifetime; scan work is modelled from its type's pointer bytes",
    "Go reports an object's free when the sweeper reclaims it, after the cycle that found "
    "it dead: its true death time is earlier, somewhere after the cycle before; the replay "
    "guesses it (see the deaths setting, and bounds=True for both extremes)",
    "the mutator's time is the recorded time; GC work is the emulator's cost model, so GC "
    "CPU and pauses are modelled, not measured",
    "with every cycle at its recorded time, any death time the frees allow gives the same "
    "marked heaps; the rest of the peak-heap gap is when the emulated pacer starts its "
    "cycles, which for a program whose live heap jumps (bursts) moves the peak as much as "
    "Go's own run-to-run variation does",
)


def _goal_errors(rec_goals, emu_goals):
    n = min(len(rec_goals), len(emu_goals))
    if n == 0:
        return 0.0, 0.0
    r = np.asarray(rec_goals[:n], dtype=float)
    e = np.asarray(emu_goals[:n], dtype=float)
    err = np.abs(e - r) / np.maximum(r, 1.0)
    return float(np.median(err)), float(err.max())


def calibrate(tr, *, death="spread", bounds=False):
    """Replay *tr* under its recorded settings; a `Calibration` (print it, or ``.plot()``)."""
    result, detail = replay_detail(tr, death=death)
    timed = replay(tr, death=death, cycles="recorded")
    gcs = tr.gcs
    rec_goals = [int(x) for x in gcs["next_goal"] if x > 0]
    emu_goals = [int(c["next_goal"]) for c in detail["cycles"]]
    rec_peak = int(tr.heap_alloc["value"].max()) if len(tr.heap_alloc) else 0
    recorded = {"num_gc": int(len(gcs)), "peak_heap_bytes": rec_peak, "goals": rec_goals}
    emulated = {"num_gc": result["num_gc"], "peak_heap_bytes": result["peak_heap_bytes"],
                "goals": emu_goals}
    med, mx = _goal_errors(rec_goals, emu_goals)
    gaps = {"num_gc": emulated["num_gc"] - recorded["num_gc"],
            "num_gc_ratio": emulated["num_gc"] / max(recorded["num_gc"], 1),
            "peak_heap_ratio": emulated["peak_heap_bytes"] / max(rec_peak, 1),
            "goal_error_median": med, "goal_error_max": mx}
    at = {"num_gc": timed["num_gc"], "peak_heap_bytes": timed["peak_heap_bytes"],
          "peak_heap_ratio": timed["peak_heap_bytes"] / max(rec_peak, 1)}
    br = {}
    if bounds:
        for d in ("early", "gc"):
            br[d] = replay(tr, death=d)
    settings = {k: result[k] for k in ("gogc", "memory_limit", "gomaxprocs")}
    return Calibration(recorded=recorded, emulated=emulated, gaps=gaps, settings=settings,
                       result=result, detail=detail, at_recorded_cycles=at, bounds=br,
                       notes=NOTES + _trace_notes(tr), trace=tr)


def _trace_notes(tr):
    """Notes on what this recording does that one replay cannot: goals that fit no single
    GOGC (a setting changed mid-run), and goroutines on more than one P."""
    out = []
    st = tr.settings
    if not st.get("gogc_consistent", True):
        lo, hi = st["gogc_range"]
        out.append(f"the recorded heap goals fit no single GOGC (per cycle {lo} to {hi}): the "
                   "program changed GOGC or GOMEMLIMIT during the trace (debug.SetGCPercent, "
                   "debug.SetMemoryLimit) or a memory limit bound the goal; the replay runs "
                   f"the whole trace under one setting (GOGC={st['gogc']}; state it with "
                   "load(path, gogc=..., memory_limit=...)), so its cycles differ where the "
                   "program's setting did")
    procs = tr.procs["value"] if len(tr.procs) else np.zeros(0)
    if len(procs) and int(procs.max()) > 1:
        out.append(f"the program ran on up to {int(procs.max())} Ps; the replay runs its "
                   "allocations as one goroutine in their recorded time order (goroutines "
                   "interleaved by timestamp), so GOMAXPROCS changes the GC's CPU (workers, "
                   "assists, pauses), not the mutator's parallelism")
    return tuple(out)


def parse_limit(v):
    """A GOMEMLIMIT value: None / "off" (no limit), an int (bytes) or "256MiB"."""
    if v is None:
        return None
    if isinstance(v, str):
        if v.strip().lower() in ("off", "none", ""):
            return None
        from goruntime import pacer
        return int(pacer.parse_gomemlimit(v.strip()))
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise TypeError(f"memory limit must be bytes, a GOMEMLIMIT string or 'off', not {v!r}")
    from goruntime import pacer
    return int(pacer.memory_limit_arg(int(v), "memory_limit"))     # 0..MaxInt64, as Runtime


def configurations(gogc=None, memory_limit=None, gomaxprocs=None):
    """The grid, in a fixed order: a list of (gogc, memory_limit, gomaxprocs) tuples
    (None in a position = the recorded setting; a memory limit is bytes or "off")."""
    def seq(v):
        if v is None:
            return [None]
        if isinstance(v, (str, int, np.integer)) and not isinstance(v, bool):
            return [v]
        v = list(v)
        if not v:
            raise ValueError("an empty list of settings")
        return v
    from goruntime import pacer
    # every setting is checked as Runtime checks it, before the first replay runs (a bad
    # one at the end of a grid failed after the others, on Dask after a cluster started)
    gl = seq(gogc)
    for g in gl:
        if g is not None:
            pacer.gogc_arg(g, "gogc")
    # "off" stays "off" (no limit); None alone means the recorded setting
    limits = [(x, parse_limit(x)) for x in seq(memory_limit)]
    ml = [lim if lim is not None or x is None else "off" for x, lim in limits]
    pl = seq(gomaxprocs)
    for p in pl:
        if p is None:
            continue
        if isinstance(p, bool) or not isinstance(p, (int, np.integer)):
            raise TypeError(f"gomaxprocs must be an int, not {type(p).__name__}")
        if not 1 <= p <= 256:
            raise ValueError(f"gomaxprocs must be in 1..256, not {p}")
    return list(itertools.product(gl, ml, pl))


def run_config(tr, config, death="spread"):
    """One row: the replay dict under *config* (see `configurations`); *tr* a trace or
    its `Prepared` input."""
    g, m, p = config
    return replay(tr, gogc=g, memory_limit=m, gomaxprocs=p, death=death)


def whatif(tr, *, gogc=None, memory_limit=None, gomaxprocs=None, death="spread"):
    """Replay *tr* under every combination of the settings given (one row each, in the
    order of `configurations`), sequentially in this process: a list of dicts. See
    ``goruntime.sweep`` for the same grid on Dask (as a DataFrame)."""
    configs = configurations(gogc, memory_limit, gomaxprocs)
    if len(configs) == 1:
        return [run_config(tr, configs[0], death)]   # from the trace's rows
    tr = prepare(tr, death)                       # the op stream once for the whole grid
    # one heap's memory from replay to replay (reset to a fresh heap's: the kernel does
    # not fault new metadata in for each), given back after the grid
    prev = _heap.keep_memory(True)
    try:
        rows = []
        for c in configs:
            rows.append(run_config(tr, c, death))
            gc.collect()                          # the replay's runtime gives its heap back
        return rows
    finally:
        if not prev:
            _heap.keep_memory(False)
            _SCRATCH.clear()


# ---------------------------------------------------------------------------------------
# pictures

def plot_calibration(cal, ax=None):
    """Recorded heapLive and goal against the emulated ones, on the trace's time axis."""
    from goruntime.plot import _axes
    ax = _axes(ax, figsize=(8, 3.8))
    tr = cal.trace
    mib = float(1 << 20)
    if tr is not None and len(tr.heap_alloc):
        ax.plot(tr.heap_alloc["time"] / 1e6, tr.heap_alloc["value"] / mib, color="0.55",
                lw=1, label="Go: heapLive")
        if len(tr.heap_goal):
            ax.step(tr.heap_goal["time"] / 1e6, tr.heap_goal["value"] / mib, where="post",
                    color="0.35", ls="--", lw=1, label="Go: heap goal")
    s = cal.detail.get("samples")
    if s is not None and len(s["time"]):
        ax.plot(s["time"] / 1e6, s["heap_live"] / mib, color="tab:blue", lw=1,
                label="emulated: heapLive")
        ax.step(s["time"] / 1e6, s["goal"] / mib, where="post", color="tab:blue", ls="--",
                lw=1, label="emulated: heap goal")
    g = cal.gaps
    ax.set_title(f"NumGC {cal.recorded['num_gc']} recorded / {cal.emulated['num_gc']} emulated; "
                 f"peak heap x{g['peak_heap_ratio']:.2f}", fontsize=10)
    ax.set_xlabel("time (ms, recorded; emulated GC time added)")
    ax.set_ylabel("MiB")
    ax.legend(fontsize=8, loc="upper left")
    return ax


def plot_tradeoff(rows, ax=None, *, label=None):
    """The memory / CPU trade-off: peak heap against GC CPU fraction, one point per row
    (a list of replay dicts or a DataFrame), labelled with its GOGC / limit."""
    from goruntime.plot import _axes
    ax = _axes(ax)
    if hasattr(rows, "to_dict"):
        rows = rows.to_dict("records")
    rows = sorted(rows, key=lambda r: (r["peak_heap_bytes"], r["gc_cpu_fraction"]))
    x = [r["peak_heap_bytes"] / float(1 << 20) for r in rows]
    y = [100 * r["gc_cpu_fraction"] for r in rows]
    ax.plot(x, y, "o-", color="tab:blue", label=label)
    for r, xi, yi in zip(rows, x, y):
        lim = r.get("memory_limit")
        txt = f"GOGC={r['gogc'] if r['gogc'] >= 0 else 'off'}"
        if lim:
            txt += f", limit {lim / float(1 << 20):.0f}MiB"
        ax.annotate(txt, (xi, yi), textcoords="offset points", xytext=(4, 4), fontsize=8)
    ax.set_xlabel("peak heap (MiB)")
    ax.set_ylabel("GC CPU (%)")
    ax.set_title("memory / CPU trade-off of the replayed program", fontsize=10)
    return ax
