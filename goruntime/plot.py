"""Pictures of the emulated heap: Go's GC guide drawn from a real run.

Four pictures, each a function that draws on a matplotlib ``Axes`` (made for you when
*ax* is None) and returns it:

- `plot_heap`: the heap over time against the heap goal, each GC marked -- the sawtooth of
  https://go.dev/doc/gc-guide, from samples a `Recorder` took of a running `Runtime`;
- `plot_pauses`: a histogram of stop-the-world pauses;
- `plot_by_size`: ``MemStats.BySize`` as bars per size class (allocated, freed, live);
- `plot_tricolour`: a small heap at one step of a mark, objects white / grey / black,
  arrows for pointers. The steps come from `gc_steps`, a pure-Python replay of the
  collector's mark (``_mark.mark_roots`` / ``gc_drain``) over a snapshot of the real heap:
  same roots, same pointer words, same LIFO grey stack, so its final black set is the set
  the real mark keeps. It reads the heap and changes nothing.

matplotlib is imported only when a picture is drawn; without it those functions raise
``ImportError`` naming ``pip install goruntime[plot]``. `Recorder` and `gc_steps` need
nothing beyond goruntime.

How the `Recorder` sees GCs: it is a GC observer (``Runtime.add_gc_observer``). Every
cycle (``runtime.GC()``, heap-triggered cycles from allocation, the periodic GC,
FreeOSMemory) reports its sweep termination (the heap at the trigger), its mark
termination and its sweep's end, with the heap numbers of that moment; the Recorder
turns them into samples. Nothing is flushed or recomputed, so recording does not change
when the next GC happens. ``sample()`` adds a point by hand (e.g. after each allocation
batch); between cycles the heap only grows, so the GC boundaries already give the exact
sawtooth.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from . import _signals
from .mstats import HeapCounters, chronological_pauses

from ._display import plural, time_label

__all__ = [
    "Recorder", "Sample", "GCEvent", "plot_heap", "plot_heaps", "plot_pauses", "plot_by_size",
    "plot_tricolour", "tricolour_legend", "gc_steps", "GCStep", "HeapGraph", "heap_graph", "require_matplotlib",
]

_INSTALL_HINT = "goruntime.plot needs matplotlib: pip install goruntime[plot]"
ARENA_START = 0xc000000000
PAGE_SHIFT = 13
MAX_INT64 = (1 << 63) - 1


def require_matplotlib():
    """Import matplotlib (lazily); ``ImportError`` with the install command if missing."""
    try:
        import matplotlib  # noqa: F401
        import matplotlib.figure  # noqa: F401
    except ImportError as e:
        raise ImportError(f"{_INSTALL_HINT} ({e})") from e
    return matplotlib


def _axes(ax, figsize=(7, 3.6)):
    """*ax*, or a new Axes: pyplot's (shown inline in notebooks) when pyplot is usable."""
    require_matplotlib()
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt
    _fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _current_runtime(rt):
    if rt is not None:
        return rt
    from . import runtime
    return runtime.current()


# ---------------------------------------------------------------------------------------
# Recorder: heap samples over time, with every GC marked

@dataclass(frozen=True)
class Sample:
    """One observation of the heap.

    ``alloc_bytes``: bytes requested so far (the x axis, "allocation time");
    ``time_ns``: the runtime's clock; ``heap_live``: Go's heapLive, what the pacer compares
    with the goal; ``heap_inuse``: bytes in in-use spans; ``goal``: the heap goal in force;
    ``num_gc``: completed cycles; ``event``: "start", "gc-start", "gc-end", "sample", "end".
    """
    alloc_bytes: int
    time_ns: int
    heap_live: int
    heap_inuse: int
    goal: int
    num_gc: int
    event: str
    label: str | None = None


@dataclass(frozen=True)
class GCEvent:
    """One completed cycle: the samples around it, its trigger kind and its pause."""
    num_gc: int
    kind: str
    before: Sample
    after: Sample
    pause_ns: int


class Recorder:
    """Record a Runtime's heap over time; ``with Recorder(rt) as rec: ...``.

    Parameters
    ----------
    runtime : goruntime.Runtime, optional
        The runtime to watch (default: the current one when entering).

    Attributes
    ----------
    samples : list of Sample
    gcs : list of GCEvent
    gogc, memory_limit : the settings when recording started
    """

    def __init__(self, runtime=None):
        self.runtime = runtime
        self.samples: list[Sample] = []
        self.gcs: list[GCEvent] = []
        self._active = False
        self._last_goal = 0
        self._open = None               # (gc-start sample, kind) of the cycle in progress
        self.gogc = None
        self.memory_limit = MAX_INT64

    # -- attach / detach ------------------------------------------------------------------
    def __enter__(self):
        if self._active:
            raise RuntimeError("goruntime.plot.Recorder is already recording")
        rt = self.runtime = _current_runtime(self.runtime)
        self.gogc = rt.pacer.gc_percent
        self.memory_limit = rt.pacer.memory_limit
        c = HeapCounters.read(rt.heap)
        self._anchor_state = (rt.clock.nanotime(), c.malloc_calls, c.malloc_bytes)
        self._open = None
        rt.add_gc_observer(self._observe)
        self._active = True
        self._take("start", goal=rt.heap_goal())
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def stop(self):
        """Stop recording (``__exit__`` does this); takes a last sample."""
        if not self._active:
            return
        rt = self.runtime
        rt.remove_gc_observer(self._observe)
        self._take("end", goal=rt.heap_goal())
        self._active = False

    def _observe(self, ev):
        """The GC observer: a "gc-start" sample at sweep termination (the heap at the
        trigger), a "mark-end" one when a heap-triggered cycle's mark ends, a "gc-end" one
        and a `GCEvent` when its sweep is done."""
        if ev.phase == "sweep termination":
            self._open = (self._from_event(ev, "gc-start", ev.cycle - 1), ev.kind)
        elif ev.phase == "mark termination" and ev.kind == "heap":
            self._from_event(ev, "mark-end", ev.cycle - 1)
        elif ev.phase == "sweep done":
            after = self._from_event(ev, "gc-end", ev.cycle)
            c = HeapCounters.read(self.runtime.heap)
            self._anchor_state = (ev.nanotime, c.malloc_calls, c.malloc_bytes)
            # A cycle already marking when recording began has no gc-start sample: the
            # sample before its end stands in.
            before, kind = self._open or (self.samples[-2], ev.kind)
            self.gcs.append(GCEvent(ev.cycle, kind, before, after, ev.pause_ns))
            self._open = None

    def _from_event(self, ev, event, num_gc):
        self._last_goal = ev.heap_goal
        s = Sample(alloc_bytes=ev.total_alloc, time_ns=ev.nanotime, heap_live=ev.heap_live,
                   heap_inuse=ev.heap_inuse, goal=ev.heap_goal, num_gc=num_gc, event=event)
        self.samples.append(s)
        return s

    # -- samples --------------------------------------------------------------------------
    def _take(self, event, goal=None, label=None):
        rt = self.runtime
        c = HeapCounters.read(rt.heap)
        if goal is not None:
            self._last_goal = goal
        s = Sample(alloc_bytes=int(c.malloc_bytes), time_ns=self._time(c),
                   heap_live=int(c.heap_live), heap_inuse=int(c.heap_inuse),
                   goal=int(self._last_goal), num_gc=int(rt.gc_record.num_gc),
                   event=event, label=label)
        self.samples.append(s)
        return s

    def _time(self, c):
        """The runtime's clock (on the virtual clock every reading includes the program's
        metered work, so samples between cycles sit where they happened)."""
        return int(self.runtime.clock.nanotime())

    def sample(self, label=None):
        """Add a sample now (e.g. after an allocation batch). The goal is the one in force
        since the last cycle; nothing in the runtime is flushed or recomputed."""
        if not self._active:
            raise RuntimeError("Recorder.sample() outside `with Recorder(rt)`")
        return self._take("sample", label=label)

    # -- summaries --------------------------------------------------------------------------
    @property
    def peak_heap_inuse(self) -> int:
        """The largest HeapInuse seen (exact when every cycle was recorded: in-use memory
        only shrinks in a cycle's sweep, and each cycle is sampled just before it)."""
        return max((s.heap_inuse for s in self.samples), default=0)

    @property
    def peak_heap_live(self) -> int:
        return max((s.heap_live for s in self.samples), default=0)

    def pauses(self):
        """Pause (ns) of each recorded cycle."""
        return [g.pause_ns for g in self.gcs]

    def arrays(self, x="alloc"):
        """``(x, heap_live, goal, heap_inuse)`` as numpy arrays; x in MiB or ms."""
        xs = np.array([_x_of(s, x) for s in self.samples], dtype=float)
        live = np.array([s.heap_live for s in self.samples], dtype=float) / (1 << 20)
        goal = np.array([s.goal for s in self.samples], dtype=float) / (1 << 20)
        inuse = np.array([s.heap_inuse for s in self.samples], dtype=float) / (1 << 20)
        return xs, live, goal, inuse

    def __repr__(self):
        return (f"<goruntime.plot.Recorder {plural(len(self.samples), 'sample')}, "
                f"{plural(len(self.gcs), 'GC')}, "
                f"peak HeapInuse {self.peak_heap_inuse}>")


def _x_of(s, x):
    if x == "alloc":
        return s.alloc_bytes / (1 << 20)
    if x == "time":
        return s.time_ns / 1e6
    raise ValueError(f"x must be 'alloc' or 'time', not {x!r}")


# ---------------------------------------------------------------------------------------
# pictures

def plot_heap(rec, ax=None, *, x="alloc", title=None, show_inuse=False, annotate=True,
              legend=True):
    """The heap over time against the heap goal, each GC marked (Go's GC guide picture).

    *rec* is a `Recorder`. *x*: ``"alloc"`` (MiB allocated so far, the guide's "time" when
    the allocation rate is steady) or ``"time"`` (the runtime's clock, ms: modelled on the
    virtual clock). The solid line is heapLive, the dashed step line the goal, a dotted
    vertical where each cycle started (numbered on top, ``F`` for forced ones), a dot the
    live heap after it. Why each dotted line sits left of the heap's drop: the GC starts at
    the trigger, and while it marks (shaded) the program keeps allocating -- Go's mark is
    concurrent, which the emulator models as such a runway -- so the heap drops only when
    the mark ends and the sweep frees the garbage. A memory limit, if any, is the red line.
    *legend*: draw the legend (`plot_heaps` draws one for all panels instead).
    """
    ax = _axes(ax)
    if not rec.samples:
        raise ValueError("the recorder has no samples: record inside `with Recorder(rt):`")
    xs, live, goal, inuse = rec.arrays(x)
    ax.plot(xs, live, color="#007d9c", lw=1.6, label="heap (heapLive)")
    ax.plot(xs, goal, color="#ce3262", lw=1.2, ls="--", drawstyle="steps-post", label="heap goal")
    if show_inuse:
        ax.plot(xs, inuse, color="#8e8e8e", lw=1.0, label="HeapInuse")
    limit = getattr(rec, "memory_limit", MAX_INT64)
    if limit < MAX_INT64:
        ax.axhline(limit / (1 << 20), color="red", lw=1.0, label="memory limit")
    if rec.gcs:
        gx = [_x_of(g.before, x) for g in rec.gcs]
        ax.vlines(gx, 0, 1, transform=ax.get_xaxis_transform(), colors="#555555", lw=0.6,
                  linestyles=":", zorder=0, label="a GC starts (trigger)")
        marking = False
        for g in rec.gcs:
            x0, x1 = _x_of(g.before, x), _x_of(g.after, x)
            if x1 > x0:
                ax.axvspan(x0, x1, color="#f2c14e", alpha=0.3, lw=0, zorder=0,
                           label=None if marking else "GC marking; the program still\n"
                                                      "allocates; the heap drops at its end")
                marking = True
        ax.plot([_x_of(g.after, x) for g in rec.gcs], [g.after.heap_live / (1 << 20) for g in rec.gcs],
                "o", ms=3, color="#007d9c", label="live after GC")
    top = max(float(np.max(goal)), float(np.max(live)), 1e-3)
    if limit < MAX_INT64:
        top = max(top, limit / (1 << 20))
    if annotate and 0 < len(rec.gcs) <= 24:
        for g in rec.gcs:
            ax.text(_x_of(g.before, x), top * 1.04, f"{g.num_gc}{'F' if g.kind == 'cycle' else ''}",
                    fontsize=7, ha="center", va="bottom", color="#555555")
    if x == "alloc":
        ax.set_xlabel("allocated (MiB)")
    else:
        clock = getattr(getattr(rec, "runtime", None), "clock", None)
        ax.set_xlabel(f"time (ms, runtime clock: {time_label(clock)})")
    ax.set_ylabel("MiB")
    gogc = getattr(rec, "gogc", None)
    if title is None:
        title = (f"Heap vs goal: GOGC={'off' if gogc is not None and gogc < 0 else gogc}"
                 + (f", GOMEMLIMIT={limit / (1 << 20):.0f} MiB" if limit < MAX_INT64 else "")
                 + f", {plural(len(rec.gcs), 'GC')}")
    ax.set_title(title, fontsize=10)
    ax.set_ylim(0, top * 1.15)
    if legend:
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return ax


def plot_heaps(recs, titles=None, *, x="alloc", figsize=None, annotate=False):
    """Several `plot_heap` panels, one per recorder, stacked on shared x and y axes (so the
    heights compare) with one legend for all; returns the matplotlib ``Figure``.

    *titles*: one per recorder (default: each panel's own GOGC/limit title).
    """
    require_matplotlib()
    recs = list(recs)
    if not recs:
        raise ValueError("plot_heaps needs at least one Recorder")
    if titles is not None and len(titles) != len(recs):
        raise ValueError(f"plot_heaps: {len(titles)} titles for {len(recs)} recorders")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(len(recs), 1, figsize=figsize or (8, 1.9 * len(recs) + 0.8),
                             layout="constrained", sharex=True, sharey=True, squeeze=False)
    axes = axes[:, 0]
    handles = {}
    top = 0.0
    for i, (ax, rec) in enumerate(zip(axes, recs)):
        t = None if titles is None else f"{titles[i]}: {plural(len(rec.gcs), 'GC')}"
        plot_heap(rec, ax=ax, x=x, title=t, annotate=annotate, legend=False)
        top = max(top, ax.get_ylim()[1])       # the axes are shared: read it before the next
        for h, lab in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(lab, h)
        if i < len(recs) - 1:
            ax.set_xlabel("")
    axes[0].set_ylim(0, top)
    fig.legend(list(handles.values()), list(handles.keys()), loc="outside upper center",
               ncols=min(len(handles), 3), fontsize=8, frameon=False)
    return fig


def _pauses_of(source):
    """Pauses in ns from a Recorder, Runtime, MemStats, GCStats or a sequence."""
    if isinstance(source, Recorder):
        return list(source.pauses())
    if hasattr(source, "gc_record"):                     # a Runtime
        return source.gc_record.pauses.chronological()
    if hasattr(source, "PauseNs") and hasattr(source, "NumGC"):   # MemStats
        return chronological_pauses(source.PauseNs, source.NumGC)
    if hasattr(source, "Pause"):                          # debug.GCStats
        return list(source.Pause)
    return [int(p) for p in source]


_UNKNOWN = object()


def _clock_of(source):
    """The clock behind *source*'s times, None if unknown, `_UNKNOWN` for plain numbers."""
    if isinstance(source, Recorder):
        return getattr(source.runtime, "clock", None)
    if hasattr(source, "gc_record"):
        return getattr(source, "clock", None)
    if hasattr(source, "PauseNs") or hasattr(source, "Pause"):
        return getattr(source, "_clock", None)
    return _UNKNOWN


def plot_pauses(source, ax=None, *, bins=20, title=None):
    """A histogram of stop-the-world pauses (µs) of a Recorder, Runtime, MemStats, GCStats
    or a list of nanoseconds; the y axis counts cycles (whole numbers). With the virtual
    clock a pause costs what its work costs by the calibrated cost table (a fixed part,
    the goroutines, the heap: clock.COSTS); ``clock="wall"`` measures them. At most *bins*
    bins, fewer when there are few pauses."""
    ax = _axes(ax)
    from matplotlib.ticker import MaxNLocator
    pauses = np.array(_pauses_of(source), dtype=float) / 1e3
    clock = _clock_of(source)
    how = "" if clock is _UNKNOWN else f", {time_label(clock)}"
    if len(pauses) == 0:
        ax.text(0.5, 0.5, "no GC pauses yet", ha="center", va="center", transform=ax.transAxes)
    else:
        lo, hi = float(pauses.min()), float(pauses.max())
        if lo == hi:                          # one value: one bar, centred, a sensible width
            half = max(abs(lo) * 0.05, 0.5)
            ax.hist(pauses, bins=1, range=(lo - half, lo + half), color="#007d9c",
                    edgecolor="white")
            ax.set_xlim(lo - 8 * half, lo + 8 * half)
            same = f"all {plural(len(pauses), 'pause')} are {lo:.3g} µs"
            ax.text(0.02, 0.95, same, transform=ax.transAxes, va="top", ha="left", fontsize=8)
        else:
            n = max(1, min(int(bins), int(np.ceil(np.sqrt(len(pauses)))) + 1))
            ax.hist(pauses, bins=np.linspace(lo, hi, n + 1), color="#007d9c", edgecolor="white")
            ax.axvline(float(np.median(pauses)), color="#ce3262", lw=1, ls="--",
                       label=f"median {np.median(pauses):.3g} µs")
            ax.legend(fontsize=8)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(f"pause (µs{how})")
    ax.set_ylabel("cycles")
    ax.set_title(title or f"GC pauses ({plural(len(pauses), 'cycle')})", fontsize=10)
    return ax


def plot_by_size(m, ax=None, *, title=None, log="auto"):
    """``MemStats.BySize`` as bars: Mallocs, Frees and live (Mallocs - Frees) per size class
    that has any, each bar labelled with its count when there are few classes. *log*:
    True, False or ``"auto"`` (a log scale when the counts span more than two decades, so
    one busy class does not flatten the others; the axis label says so). Tiny allocations
    are not in BySize (Go counts them only in Mallocs)."""
    ax = _axes(ax, figsize=(8, 3.6))
    rows = [(i, e.Size, e.Mallocs, e.Frees) for i, e in enumerate(m.BySize) if e.Mallocs or e.Frees]
    use_log = False
    if not rows:
        ax.text(0.5, 0.5, "no small objects allocated", ha="center", va="center",
                transform=ax.transAxes)
    else:
        idx = np.arange(len(rows))
        mallocs = np.array([r[2] for r in rows], dtype=float)
        frees = np.array([r[3] for r in rows], dtype=float)
        live = mallocs - frees
        counts = np.concatenate([mallocs, frees, live])
        nonzero = counts[counts > 0]
        use_log = bool(log) if log != "auto" else (
            len(nonzero) > 0 and float(nonzero.max()) > 100 * float(nonzero.min()))
        w = 0.27
        bars = [ax.bar(idx - w, mallocs, w, color="#007d9c", label="Mallocs"),
                ax.bar(idx, frees, w, color="#ce3262", label="Frees"),
                ax.bar(idx + w, live, w, color="#555555", label="live (Mallocs - Frees)")]
        if len(rows) <= 8:
            for b in bars:
                ax.bar_label(b, labels=[f"{int(v):,}" for v in b.datavalues], fontsize=6,
                             padding=1)
        ax.set_xticks(idx, [f"{r[1]} B\n#{r[0]}" for r in rows], fontsize=7)
        if use_log:
            ax.set_yscale("log")
        ax.margins(y=0.12)
        ax.legend(fontsize=8)
    ax.set_xlabel("size class: slot bytes / class number (tiny allocations not included)")
    ax.set_ylabel("objects (log scale)" if use_log else "objects")
    ax.set_title(title or "MemStats.BySize", fontsize=10)
    return ax


# ---------------------------------------------------------------------------------------
# the mark, step by step

@dataclass(frozen=True)
class ObjectInfo:
    """One allocated object of the snapshot: ``addr`` is what the program holds (slot + 8
    for objects with a malloc header)."""
    addr: int
    slot: int
    size: int
    sizeclass: int
    noscan: bool


@dataclass
class HeapGraph:
    """A snapshot of a heap's object graph: objects, pointer edges, roots.

    ``edges[a]`` lists, in word order, the objects a's pointer words point to (pointers
    into a itself left out, as the collector skips them); ``roots`` the objects the mark
    greys first, in its order (handles, then queued finalizers / cleanup closures / weak
    cells, then tiny blocks); ``scan_only`` the objects with finalizers, whose referents
    are marked but which are not marked themselves.
    """
    objects: dict = field(default_factory=dict)
    edges: dict = field(default_factory=dict)
    roots: tuple = ()
    scan_only: tuple = ()
    labels: dict = field(default_factory=dict)

    def label(self, a):
        if a is None:
            return ""
        if a in self.labels:
            return self.labels[a]
        return f"…{a & 0xffff:04x}"

    def reachable(self):
        """Objects reachable from the roots (finalizer referents included): a plain BFS,
        independent of the mark replay, for cross-checking."""
        seen = set()
        todo = list(self.roots)
        for f in self.scan_only:
            todo.extend(self.edges.get(f, ()))
        while todo:
            a = todo.pop()
            if a in seen:
                continue
            seen.add(a)
            todo.extend(self.edges.get(a, ()))
        return seen


@dataclass(frozen=True)
class GCStep:
    """The tri-colour sets after one step of the mark.

    ``phase``: "roots" (roots greyed), "mark" (``scanned`` was scanned and is black now),
    "finalizers" (the referents of finalizer object ``scanned`` were scanned; the object
    itself stays white unless something else reaches it), "mutator" (the program ran a
    pointer store while the mark runs: ``store`` is ``(src, old, new)``, and ``shaded``
    are the objects Go's write barrier greyed for it), "done" (no grey objects left:
    ``black`` is what survives, white is garbage -- except finalizer objects, which the
    sweep revives once to run their finalizers). ``lost``: objects reachable now but
    white at "done" -- freed while reachable, what the barrier exists to prevent (only
    with ``write_barrier=False``).
    """
    index: int
    phase: str
    scanned: int | None
    white: frozenset
    grey: frozenset
    black: frozenset
    graph: HeapGraph = field(repr=False, compare=False)
    shaded: frozenset = frozenset()
    store: tuple | None = None
    lost: frozenset = frozenset()

    def colour(self, addr):
        return "black" if addr in self.black else "grey" if addr in self.grey else "white"

    def __repr__(self):
        s = f" scanned {self.graph.label(self.scanned)}" if self.scanned else ""
        return (f"<GCStep {self.index} {self.phase}{s}: {len(self.white)} white, "
                f"{len(self.grey)} grey, {len(self.black)} black>")

    def _repr_html_(self):
        from ._display import steps_html
        return steps_html(self)


def _walk_objects(heap, max_objects):
    """Every allocated object of *heap*, from ``Heap.spans`` and ``Heap.alloc_bits``."""
    spans = heap.spans
    bits = heap.alloc_bits
    out = {}
    for s in spans:
        base, elemsize, nelems = int(s["base"]), int(s["elemsize"]), int(s["nelems"])
        spc = int(s["spanclass"])
        sc, noscan = spc >> 1, bool(spc & 1)
        si = (base - ARENA_START) >> PAGE_SHIFT
        row = np.unpackbits(bits[si].view(np.uint8), bitorder="little")[:nelems]
        header = (not noscan) and sc != 0 and elemsize > 512
        for idx in np.flatnonzero(row):
            slot = base + int(idx) * elemsize
            addr = slot + 8 if header else slot
            out[addr] = ObjectInfo(addr, slot, elemsize, sc, noscan)
            if len(out) > max_objects:
                raise ValueError(f"gc_steps is for small heaps: more than {max_objects} objects "
                                 f"(pass max_objects=... to go on anyway)")
    return out


def _pointer_targets(heap, o, bad):
    """Objects that *o*'s pointer words point to, in word order (Go: scanobject)."""
    if o.noscan:
        return ()
    words = np.asarray(heap.view(o.slot, o.size)).view(np.uint64)
    out = []
    for i in np.flatnonzero(words):
        a = o.slot + 8 * int(i)
        if not heap.is_pointer_word(a):
            continue
        v = int(words[i])
        if o.slot <= v < o.slot + o.size:          # into itself: skipped, as scanobject does
            continue
        t = _object_of(heap, v, bad, a)
        if t is not None:
            out.append(t)
    return tuple(out)


def _object_of(heap, p, bad=None, src=0):
    """The object (its program address) holding *p*, None outside the heap (globals,
    rodata, zerobase). A pointer into the heap that is not an object is Go's bad pointer."""
    info = heap.find_object(p)
    if info is None:
        if heap.in_arena(p) and bad is not None:
            bad.append((p, src))
        return None
    return int(info[0])


def _as_label_map(heap, labels):
    out = {}
    for k, v in (labels or {}).items():
        name, target = (k, v) if isinstance(k, str) else (v, k)
        addr = getattr(target, "addr", target)
        if not isinstance(addr, (int, np.integer)):
            raise TypeError(f"labels: {target!r} is not a handle or an address")
        a = _object_of(heap, int(addr))
        if a is not None:
            out[a] = str(name)
    return out


def heap_graph(rt=None, *, labels=None, max_objects=5000):
    """Snapshot the object graph of *rt*'s heap (the current runtime by default).

    *labels* names objects for the pictures: ``{"a": a, "b": b}`` (names to handles), or
    handles / addresses to names. Raises ``ValueError`` past *max_objects* objects.
    """
    rt = _current_runtime(rt)
    heap = rt.heap
    with heap.lock, _signals.held():
        objects = _walk_objects(heap, max_objects)
        bad = []
        edges = {a: _pointer_targets(heap, o, bad) for a, o in objects.items()}
        if bad:
            from .errors import FatalError
            p, src = bad[0]
            raise FatalError("found bad pointer in Go heap (incorrect use of unsafe or cgo?)"
                             f" -- pointer {p:#x} found in object at *({src:#x})")
        roots = [int(a) for a in heap.roots()]
        extra, scan_only = _special_roots(rt)
        roots.extend(int(a) for a in extra)
        roots.extend(int(a) for a in heap.tiny_blocks())
        root_objs = tuple(o for o in (_object_of(heap, a) for a in roots if a) if o is not None)
        fin_objs = tuple(o for o in (_object_of(heap, int(a)) for a in scan_only) if o is not None)
        names = _as_label_map(heap, labels)
    return HeapGraph(objects, edges, root_objs, fin_objs, names)


def _special_roots(rt):
    """(extra roots, finalizer objects) the runtime passes to the mark: ``rt.gc_roots()``
    (queued finalizers, cleanup closures, weak handle cells; objects with finalizers)."""
    roots, scan_only = rt.gc_roots()
    return [int(a) for a in roots], [int(a) for a in scan_only]


def gc_steps(rt=None, *, labels=None, max_objects=5000, graph=None, mutator=None,
             write_barrier=True):
    """Replay the mark of the next GC on a snapshot of *rt*'s heap, one step at a time.

    Yields `GCStep` objects: first the roots greyed, then one step per grey object scanned
    (it turns black, the white objects it points to turn grey; pointer-free objects go
    straight to black, as in the real ``grey_object``), then one step per object with a
    finalizer whose referents are scanned, and a final "done" step. The order is the real
    mark's: roots in the order ``mark_roots`` greys them, a LIFO grey stack, pointer words
    in address order. The heap is read once, under the world lock, and never changed.

    *mutator* interleaves the program with the mark, as Go's concurrent mark does: a dict
    ``{k: [(src, old, new), ...]}`` of pointer stores run after mark step *k* (0: right
    after the roots), each ``src``'s pointer to ``old`` (None: a nil field) made to point
    to ``new`` (None: nil), addresses of objects in the snapshot. Each store is a
    "mutator" step; with *write_barrier* (Go's hybrid barrier) it shades ``old`` and
    ``new`` first (``GCStep.shaded``). Without it (not Go: the ``no_write_barrier``
    experiment), "done" may leave reachable objects white (``GCStep.lost``).

    >>> steps = list(gc_steps(r))                 # doctest: +SKIP
    >>> steps[-1].black                           # what the next GC keeps   # doctest: +SKIP
    """
    g = graph if graph is not None else heap_graph(rt, labels=labels, max_objects=max_objects)
    objects = g.objects
    marked = set()
    black = set()
    stack = []
    pending = {int(k): list(v) for k, v in (mutator or {}).items()}
    for ops in pending.values():
        for op in ops:
            if len(op) != 3 or any(a is not None and a not in objects for a in op) \
                    or op[0] is None:
                raise ValueError(f"gc_steps: a store is (src, old, new) of snapshot objects, not {op!r}")
    if pending:
        g = dataclasses.replace(g, edges={a: list(t) for a, t in g.edges.items()})

    def grey(a):
        if a in marked:
            return
        marked.add(a)
        if objects[a].noscan:
            black.add(a)               # nothing to scan: black at once
        else:
            stack.append(a)

    def snap(i, phase, scanned, **kw):
        grey_set = frozenset(stack)
        b = frozenset(black)
        white = frozenset(a for a in objects if a not in marked)
        return GCStep(i, phase, scanned, white, grey_set, b, g, **kw)

    def run_mutator(k):
        nonlocal i
        for src, old, new in pending.pop(k, ()):
            before = set(marked)
            if write_barrier:                 # Go: shade(*slot); shade(ptr)
                for a in (old, new):
                    if a is not None:
                        grey(a)
            targets = g.edges.setdefault(src, [])
            if old is not None and old in targets:
                targets.remove(old)
            if new is not None:
                targets.append(new)
            i += 1
            yield snap(i, "mutator", None, shaded=frozenset(marked - before),
                       store=(src, old, new))

    i = 0
    for a in g.roots:
        grey(a)
    yield snap(i, "roots", None)
    yield from run_mutator(0)

    def drain():
        nonlocal i
        while stack:
            a = stack.pop()
            for t in g.edges.get(a, ()):
                grey(t)
            black.add(a)
            i += 1
            yield snap(i, "mark", a)
            yield from run_mutator(i)

    yield from drain()
    for f in g.scan_only:
        if objects[f].noscan:
            continue
        for t in g.edges.get(f, ()):
            grey(t)
        i += 1
        yield snap(i, "finalizers", f)
        yield from drain()
    while pending:                            # stores after the last mark step
        yield from run_mutator(min(pending))
        yield from drain()
    reach, todo = set(), list(g.roots)
    while todo:
        a = todo.pop()
        if a not in reach:
            reach.add(a)
            todo.extend(g.edges.get(a, ()))
    i += 1
    yield snap(i, "done", None, lost=frozenset(a for a in reach if a not in marked))


def _layout(graph, max_nodes):
    """Layered positions: roots on top, then by BFS depth from the roots; then objects with
    finalizers that the roots do not reach (with what only they reach); garbage last.
    Returns ``(pos, rows)`` with ``rows`` = {row: caption} for the captioned rows."""
    objs = sorted(graph.objects)
    if len(objs) > max_nodes:
        raise ValueError(f"plot_tricolour draws at most {max_nodes} objects; this heap has "
                         f"{len(objs)} (pass max_nodes=...)")
    depth = {}

    def bfs(frontier, d):
        frontier = list(dict.fromkeys(a for a in frontier if a not in depth))
        while frontier:
            nxt = []
            for a in frontier:
                if a in depth:
                    continue
                depth[a] = d
                nxt.extend(t for t in graph.edges.get(a, ()) if t not in depth)
            frontier = list(dict.fromkeys(nxt))
            d += 1
        return d

    captions = {}
    d = bfs(graph.roots, 0)
    fins = [f for f in graph.scan_only if f not in depth]
    if fins:
        captions[d] = "finalizer"
        d = bfs(fins, d)
    rest = [a for a in objs if a not in depth]
    if rest:
        captions[d] = "unreachable"
        for a in rest:
            depth[a] = d
    layers = {}
    for a in objs:
        layers.setdefault(depth[a], []).append(a)
    pos = {}
    for dd, items in layers.items():
        n = len(items)
        for k, a in enumerate(items):
            pos[a] = ((k + 1) / (n + 1), -dd)
    return pos, captions


_FIN_COLOUR = "#8e44ad"


_FILL = {"white": "#ffffff", "grey": "#9e9e9e", "black": "#212121"}


def tricolour_legend(fig, *, finalizers=True):
    """One legend for several `plot_tricolour` panels (drawn with ``legend=False``) below
    the figure *fig*: the three colours, the scan ring, roots and (*finalizers*) the
    finalizer ring. Returns the legend."""
    require_matplotlib()
    return fig.legend(handles=_tricolour_handles(finalizers), loc="outside lower center",
                      ncols=6 if finalizers else 5, fontsize=8, frameon=False)


def _tricolour_handles(with_finalizers):
    """Legend handles for `plot_tricolour`: the three colours, the scan ring, roots,
    finalizers."""
    from matplotlib.lines import Line2D
    fill = _FILL
    dot = dict(marker="o", ls="none", ms=9, markeredgecolor="#212121", markeredgewidth=1)
    out = [Line2D([], [], markerfacecolor=fill["white"], label="white: not reached", **dot),
           Line2D([], [], markerfacecolor=fill["grey"], label="grey: reached, to scan", **dot),
           Line2D([], [], markerfacecolor=fill["black"], label="black: scanned", **dot),
           Line2D([], [], marker="o", ls="none", ms=9, markerfacecolor="white",
                  markeredgecolor="#00add8", markeredgewidth=2.5, label="scanned in this step"),
           Line2D([], [], marker="v", ls="none", ms=7, color="#007d9c", label="root")]
    if with_finalizers:
        out.append(Line2D([], [], marker="o", ls="none", ms=12, markerfacecolor="none",
                          markeredgecolor=_FIN_COLOUR, markeredgewidth=1.3,
                          label="has a finalizer (dashed ring)"))
    return out


def plot_tricolour(step, ax=None, *, max_nodes=60, title=None, legend=True):
    """Draw a `GCStep`: each object a circle (white / grey / black), each pointer an arrow,
    roots marked by arrows from above, the object just scanned ringed in blue, objects with
    a finalizer in a dashed purple ring. *legend*: explain the marks below the picture."""
    ax = _axes(ax, figsize=(7, 4.5))
    g = step.graph
    pos, captions = _layout(g, max_nodes)
    fill = _FILL
    ink = {"white": "#212121", "grey": "#212121", "black": "#ffffff"}
    for a, targets in g.edges.items():
        for t in targets:
            if a in pos and t in pos:
                same_row = pos[a][1] == pos[t][1]
                ax.annotate("", xy=pos[t], xytext=pos[a],
                            arrowprops=dict(arrowstyle="-|>", color="#777777", lw=0.8,
                                            shrinkA=13, shrinkB=13,
                                            connectionstyle="arc3,rad=0.35" if same_row
                                            else "arc3,rad=0.08"))
    for r in dict.fromkeys(g.roots):
        x, y = pos[r]
        ax.annotate("", xy=(x, y), xytext=(x, y + 0.6),
                    arrowprops=dict(arrowstyle="-|>", color="#007d9c", lw=1.2, shrinkB=11))
    fin = set(g.scan_only)
    for a, (x, y) in pos.items():
        c = step.colour(a)
        hot = a == step.scanned or a in step.shaded or a in step.lost
        ring = ("#00add8" if a == step.scanned else "#d32f2f" if a in step.shaded
                else "#ff6f00" if a in step.lost else "#212121")
        ax.scatter([x], [y], s=700, c=fill[c], edgecolors=ring,
                   linewidths=3 if hot else 1.2, zorder=3)
        if a in fin:
            ax.scatter([x], [y], s=1250, facecolors="none", edgecolors=_FIN_COLOUR,
                       linewidths=1.3, linestyles="--", zorder=2)
        ax.text(x, y, g.label(a), ha="center", va="center", fontsize=6.5, color=ink[c],
                zorder=4)
    for row, caption in captions.items():
        ax.text(-0.11, -row, caption, fontsize=7, color="#999999", va="center", ha="left")
    ax.set_xlim(-0.12, 1.05)
    ys = [y for _, y in pos.values()] or [0]
    ax.set_ylim(min(ys) - 0.6, 0.9)
    ax.set_axis_off()
    if legend:
        handles = _tricolour_handles(bool(fin))
        if step.shaded or step.lost:
            from matplotlib.lines import Line2D
            handles.append(Line2D([], [], marker="o", ls="none", ms=9, markerfacecolor="white",
                                  markeredgecolor="#d32f2f" if step.shaded else "#ff6f00",
                                  markeredgewidth=2.5,
                                  label="shaded by the write barrier" if step.shaded
                                  else "reachable but white: freed"))
        ax.legend(handles=handles, loc="upper center",
                  bbox_to_anchor=(0.5, 0.0), ncols=3, fontsize=7, frameon=False,
                  handletextpad=0.3, columnspacing=1.0)
    if step.store is not None and title is None:
        src, old, new = step.store
        title = (f"step {step.index} (mutator): {g.label(src)}.ptr = "
                 f"{g.label(new) if new is not None else 'nil'} (was "
                 f"{g.label(old) if old is not None else 'nil'}); barrier shaded "
                 f"{', '.join(g.label(a) for a in sorted(step.shaded)) or 'nothing'}")
    ax.set_title(title or (f"step {step.index} ({step.phase}): {len(step.white)} white, "
                           f"{len(step.grey)} grey, {len(step.black)} black"), fontsize=10)
    return ax
