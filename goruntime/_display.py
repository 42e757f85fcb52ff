"""Rich display for Jupyter: the ``_repr_html_`` of MemStats, GCStats, Runtime, handles, Heap.

Built the way xarray builds its reprs (``xarray/core/formatting_html.py``):

- small functions (`_section`, `_table`, `_pause_sparkline`, `_span_grid`) compose the HTML;
- **every** value is escaped (`html.escape`, quotes too): type names, field names and field
  values come from user code and may contain ``<script>``;
- each repr embeds its text form in ``<pre class="gr-text-fallback">`` and hides the rich
  view with an inline ``display:none`` that only the stylesheet undoes, so where the CSS
  is stripped (GitHub, sanitising viewers) the text shows, and never both;
- the stylesheet is package data (``goruntime/static/goruntime.css``), read once per
  process through `importlib.resources` and `functools.lru_cache`;
- sections fold with CSS checkboxes and ids from `uuid.uuid4`: no JavaScript at all.

Options (`set_options`, also a context manager, like ``xarray.set_options``):
``display`` (``"html"`` or ``"text"``: with ``"text"`` every ``*_html`` function returns
``None``, which IPython takes as "no HTML" and falls back to the text repr),
``display_max_spans`` (cells in a span grid; the rest are counted in a note),
``display_max_items`` (slice elements and BySize rows shown) and
``display_expand_spans`` / ``display_expand_by_size`` (whether those sections start open).

Entry points: `memstats_html`, `gcstats_html`, `runtime_html`, `handle_html`, `heap_html`
(and `steps_html` for `goruntime.plot.GCStep`): the ``_repr_html_`` of the Runtime,
MemStats, handles, `goruntime.debug.GCStats` and `goruntime._heap.Heap` call them.
"""
from __future__ import annotations

import contextlib
import datetime
import html
import numbers
import uuid
from functools import lru_cache
from importlib import resources

from . import _signals
from .mstats import HeapCounters, chronological_pauses

__all__ = [
    "OPTIONS", "set_options", "memstats_html", "gcstats_html", "runtime_html", "handle_html",
    "heap_html", "steps_html", "memstats_text", "gcstats_text", "runtime_text", "heap_text",
    "handle_text", "fmt_bytes", "fmt_ns", "size_class_hue", "plural",
    "time_label", "time_note",
]

OPTIONS = {
    "display": "html",
    "display_max_spans": 512,
    "display_max_items": 32,
    "display_expand_spans": True,
    "display_expand_by_size": False,
}

_VALIDATORS = {
    "display": lambda v: v in ("html", "text"),
    "display_max_spans": lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
    "display_max_items": lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
    "display_expand_spans": lambda v: isinstance(v, bool),
    "display_expand_by_size": lambda v: isinstance(v, bool),
}


class set_options(contextlib.ContextDecorator):
    """Set display options, globally or (as a context manager) for a block.

    >>> from goruntime._display import set_options
    >>> _ = set_options(display_max_spans=64)          # from now on
    >>> with set_options(display="text"):              # only inside the block
    ...     pass
    """

    def __init__(self, **kwargs):
        self._old = {}
        for k, v in kwargs.items():
            if k not in OPTIONS:
                raise ValueError(f"unknown display option {k!r}; known: {', '.join(OPTIONS)}")
            if not _VALIDATORS[k](v):
                raise ValueError(f"invalid value {v!r} for display option {k!r}")
        for k, v in kwargs.items():
            self._old[k] = OPTIONS[k]
            OPTIONS[k] = v

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        OPTIONS.update(self._old)
        return False


def _html_enabled():
    return OPTIONS["display"] == "html"


# ---------------------------------------------------------------------------------------
# formatting helpers

def _e(x) -> str:
    """Escape anything for HTML text and attribute values (quotes included)."""
    return html.escape(str(x), quote=True)


def fmt_bytes(n) -> str:
    """``4194304`` -> ``"4.0 MiB"``: binary units, as Go's docs speak of memory."""
    if not isinstance(n, numbers.Real):
        return str(n)
    n = int(n)
    if abs(n) < 1024:
        return f"{n} B"
    for unit in ("KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        n /= 1024
        if abs(n) < 1024 or unit == "EiB":
            return f"{n:.1f} {unit}"
    raise AssertionError("unreachable")


def fmt_ns(ns) -> str:
    """A duration in nanoseconds, in the largest unit that keeps it >= 1 (``35 µs``)."""
    if not isinstance(ns, numbers.Real):
        return str(ns)
    ns = int(ns)
    if abs(ns) < 1000:
        return f"{ns} ns"
    for unit, d in (("µs", 1e3), ("ms", 1e6), ("s", 1e9)):
        v = ns / d
        if abs(v) < 1000 or unit == "s":
            return f"{v:.3g} {unit}"
    raise AssertionError("unreachable")


def _fmt_unix_ns(ns) -> str:
    if not ns:
        return "never"
    try:
        t = datetime.datetime.fromtimestamp(ns / 1e9, tz=datetime.timezone.utc)
    except (OverflowError, OSError, ValueError):
        return str(ns)
    return t.strftime("%Y-%m-%d %H:%M:%S.%f UTC")


def plural(n, word, words=None) -> str:
    """``plural(1, "GC")`` -> ``"1 GC"``, ``plural(3, "GC")`` -> ``"3 GCs"`` (*words*: the
    irregular plural). Counts are printed with thousands separators."""
    one = n == 1
    return f"{n:,} {word if one else (words or word + 's')}" if isinstance(n, int) else f"{n} {words or word + 's'}"


def _clock_is_wall(clock) -> bool:
    return clock is not None and getattr(clock, "virtual", True) is False


def time_label(clock) -> str:
    """How to read a time from *clock*: ``"modelled"`` (the virtual clock, and when the
    clock is unknown) or ``"measured on the emulator"`` (``clock="wall"``)."""
    return "measured on the emulator" if _clock_is_wall(clock) else "modelled"


def time_note(clock=None, *, instants=True) -> str:
    """One sentence saying where a display's times (pauses, GCCPUFraction, LastGC, gctrace)
    come from; *instants*: also say what LastGC/PauseEnd count from. See docs/emulation.md,
    "Time"."""
    if _clock_is_wall(clock):
        return ("Times are measured (clock=\"wall\"): the emulator's own phases in Python and "
                "Cython, not Go's.")
    start = getattr(clock, "start_unix_ns", None) if instants else None
    since = (f"; LastGC and PauseEnd are the wall time at which the runtime was made "
             f"({_fmt_unix_ns(start)[:19]}) plus the virtual time since" if start else "")
    return ("Times are modelled, not measured: the virtual clock advances by a cost table "
            "calibrated against Go 1.27.3 (goruntime.runtime.COSTS), so pauses, GCCPUFraction "
            f"and gctrace times are reproducible estimates of Go's{since}. See docs/emulation.md, "
            "\"Time\".")


def _fmt_time_of(ns, clock) -> str:
    """A Unix-ns instant (LastGC, PauseEnd); on a virtual clock, with the virtual time
    since its start."""
    start = getattr(clock, "start_unix_ns", None)
    if ns and start is not None and not _clock_is_wall(clock) and ns >= start:
        return f"{_fmt_unix_ns(ns)} ({fmt_ns(ns - start)} after the start, virtual clock)"
    return _fmt_unix_ns(ns)


def _fmt_limit(limit) -> str:
    return "off (math.MaxInt64)" if limit >= (1 << 63) - 1 else fmt_bytes(limit)


def _fmt_gogc(p) -> str:
    return "off" if p < 0 else str(p)


def size_class_hue(sizeclass: int) -> int:
    """A stable hue per size class (golden-angle steps, so neighbours differ); 0 = large."""
    if sizeclass == 0:
        return 0
    return int((sizeclass * 137.508) % 360)


@lru_cache(maxsize=None)
def _load_css() -> str:
    """The stylesheet, read from package data once per process."""
    return resources.files("goruntime").joinpath("static", "goruntime.css").read_text("utf-8")


def _uid() -> str:
    return "gr-" + uuid.uuid4().hex


# ---------------------------------------------------------------------------------------
# building blocks

def _wrap(kind: str, name: str, sections, text: str) -> str:
    """The outer frame: CSS, the text fallback, and the rich view (hidden without CSS)."""
    return "".join([
        "<div>",
        f"<style>{_load_css()}</style>",
        f"<pre class='gr-text-fallback'>{_e(text)}</pre>",
        "<div class='gr-wrap' style='display:none'>",
        "<div class='gr-header'>",
        f"<div class='gr-obj-type'>{_e(kind)}</div>",
        f"<div class='gr-obj-name'>{_e(name)}</div>",
        "</div>",
        "<ul class='gr-sections'>",
        "".join(sections),
        "</ul></div></div>",
    ])


def _section(title: str, details: str, *, count=None, inline: str = "",
             expanded: bool = True, enabled: bool = True) -> str:
    """One foldable section: a hidden checkbox, its label, an inline summary, the details."""
    uid = _uid()
    checked = " checked" if expanded and enabled else ""
    disabled = "" if enabled else " disabled"
    n = "" if count is None else f"<span>({_e(count)})</span>"
    return "".join([
        "<li class='gr-section-item'>",
        f"<input id='{uid}' class='gr-section-toggle' type='checkbox'{checked}{disabled}>",
        f"<label for='{uid}' class='gr-section-summary' title='Expand/collapse section'>"
        f"{_e(title)}{n}</label>",
        f"<div class='gr-section-inline'>{inline}</div>",
        f"<div class='gr-section-details'>{details}</div>",
        "</li>",
    ])


def _table(rows, header=None, classes=None) -> str:
    """A table; every cell is escaped here unless it is a `_Raw` (HTML made by this module)."""
    out = ["<table class='gr-table'>"]
    if header:
        out.append("<tr>" + "".join(f"<th>{_e(h)}</th>" for h in header) + "</tr>")
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            cls = classes[i] if classes and i < len(classes) else ""
            body = cell.html if isinstance(cell, _Raw) else _e(cell)
            cells.append(f"<td class='{cls}'>{body}</td>" if cls else f"<td>{body}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return "".join(out)


class _Raw:
    """HTML built (and escaped) by this module, to be inserted as is."""
    __slots__ = ("html",)

    def __init__(self, s):
        self.html = s


def _note(text: str) -> str:
    return f"<div class='gr-note'>{_e(text)}</div>"


def _pause_sparkline(pauses, *, first_gc: int = 1, width: int = 256, height: int = 24) -> str:
    """An inline SVG bar chart of pauses (oldest first); each bar's <title> is a tooltip."""
    pauses = [int(p) for p in pauses]
    if not pauses:
        return "<span class='gr-human'>no GC yet</span>"
    n = len(pauses)
    bw = max(1.0, min(6.0, width / n))
    w = bw * n
    top = max(pauses) or 1
    bars = []
    for i, p in enumerate(pauses):
        h = max(1.0, (height - 1) * p / top) if p else 0.0
        tip = f"GC {first_gc + i}: {fmt_ns(p)}"
        bars.append(f"<rect x='{i * bw:.2f}' y='{height - 1 - h:.2f}' width='{max(bw - 0.5, 0.5):.2f}' "
                    f"height='{h:.2f}'><title>{_e(tip)}</title></rect>")
    return (f"<svg class='gr-sparkline' width='{w:.0f}' height='{height}' "
            f"viewBox='0 0 {w:.2f} {height}' role='img' "
            f"aria-label='{_e(plural(n, 'GC pause') + ', max ' + fmt_ns(top))}'>"
            f"<line class='gr-spark-base' x1='0' y1='{height - 0.5}' x2='{w:.2f}' y2='{height - 0.5}'/>"
            + "".join(bars) + "</svg>")


def _text_sparkline(pauses) -> str:
    blocks = "▁▂▃▄▅▆▇█"
    pauses = [int(p) for p in pauses][-64:]
    if not pauses:
        return ""
    top = max(pauses) or 1
    return "".join(blocks[min(7, p * 8 // (top + 1))] if p else " " for p in pauses)


# ---------------------------------------------------------------------------------------
# MemStats (Go: runtime.MemStats), grouped as Go's documentation groups the fields

# (field, unit, one-line meaning from Go's field comments)
MEMSTATS_GROUPS = (
    ("General statistics", (
        ("Alloc", "bytes", "bytes of allocated heap objects (= HeapAlloc)"),
        ("TotalAlloc", "bytes", "cumulative bytes allocated for heap objects"),
        ("Sys", "bytes", "total bytes of memory obtained from the OS"),
        ("Lookups", "count", "pointer lookups performed by the runtime (always 0)"),
        ("Mallocs", "count", "cumulative count of heap objects allocated"),
        ("Frees", "count", "cumulative count of heap objects freed"),
    )),
    ("Heap memory", (
        ("HeapAlloc", "bytes", "bytes of allocated heap objects, reachable or not yet swept"),
        ("HeapSys", "bytes", "bytes of heap memory obtained from the OS"),
        ("HeapIdle", "bytes", "bytes in idle (unused) spans"),
        ("HeapInuse", "bytes", "bytes in in-use spans"),
        ("HeapReleased", "bytes", "bytes of physical memory returned to the OS"),
        ("HeapObjects", "count", "number of allocated heap objects"),
    )),
    ("Stack memory", (
        ("StackInuse", "bytes", "bytes in stack spans"),
        ("StackSys", "bytes", "stack memory obtained from the OS"),
    )),
    ("Off-heap memory", (
        ("MSpanInuse", "bytes", "bytes of allocated mspan structures"),
        ("MSpanSys", "bytes", "bytes obtained from the OS for mspan structures"),
        ("MCacheInuse", "bytes", "bytes of allocated mcache structures"),
        ("MCacheSys", "bytes", "bytes obtained from the OS for mcache structures"),
        ("BuckHashSys", "bytes", "profiling bucket hash tables"),
        ("GCSys", "bytes", "garbage collection metadata"),
        ("OtherSys", "bytes", "miscellaneous off-heap runtime allocations"),
    )),
    ("Garbage collector", (
        ("NextGC", "bytes", "target heap size of the next GC cycle (the heap goal)"),
        ("LastGC", "time", "when the last GC finished (Unix ns)"),
        ("PauseTotalNs", "ns", "cumulative stop-the-world pause time"),
        ("NumGC", "count", "completed GC cycles"),
        ("NumForcedGC", "count", "GC cycles forced by calling GC"),
        ("GCCPUFraction", "fraction", "fraction of CPU time used by the GC since start"),
        ("EnableGC", "bool", "GC is enabled (always true)"),
        ("DebugGC", "bool", "currently unused"),
    )),
)


def _human(value, unit, clock=None) -> str:
    """The human column; times (units ns, time, fraction) say how they were obtained."""
    if not isinstance(value, numbers.Real):
        return ""
    if unit == "bytes":
        return fmt_bytes(value)
    if unit == "ns":
        return f"{fmt_ns(value)}, {time_label(clock)}"
    if unit == "time":
        return _fmt_time_of(value, clock)
    if unit == "fraction":
        return f"{float(value) * 100:.2f} %, {time_label(clock)}"
    return ""


def _fmt_value(value, unit) -> str:
    if not isinstance(value, numbers.Real):
        return str(value)
    if unit == "fraction":
        return f"{float(value):.6f}"
    if unit == "bool":
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def memstats_text(m) -> str:
    """Every field of a MemStats, grouped as Go documents them: ``str(m)``, ``print(m)``
    and the HTML display's text fallback. The arrays are summarised (and named)."""
    clock = getattr(m, "_clock", None)
    numgc = getattr(m, "NumGC", 0)
    lines = [f"MemStats(NumGC={numgc}, HeapAlloc={fmt_bytes(getattr(m, 'HeapAlloc', 0))}): "
             f"every field, grouped as in Go's documentation"]
    for title, fields in MEMSTATS_GROUPS:
        lines.append(f"{title}:")
        for name, unit, _doc in fields:
            v = getattr(m, name, None)
            h = _human(v, unit, clock) if v is not None else ""
            lines.append(f"  {name:<14} {_fmt_value(v, unit):>25}  {h}".rstrip())
    pauses = chronological_pauses(getattr(m, "PauseNs", []) or [], numgc)
    if pauses:
        lines.append(f"  PauseNs        last {len(pauses)}, oldest first: {_text_sparkline(pauses)}"
                     f"  max {fmt_ns(max(pauses))}, {time_label(clock)}")
    lines.append(f"  (PauseNs, PauseEnd: rings of {len(getattr(m, 'PauseNs', []) or [])}; "
                 f"most recent at [(NumGC+255)%256])")
    by = [e for e in (getattr(m, "BySize", None) or []) if getattr(e, "Mallocs", 0)]
    lines.append(f"BySize: {plural(len(getattr(m, 'BySize', None) or []), 'size class', 'size classes')}, "
                 f"{len(by)} used (m.BySize[i].Size, .Mallocs, .Frees)")
    lines.append(time_note(clock))
    return "\n".join(lines)


def _by_size_table(by_size, limit):
    rows = []
    for i, e in enumerate(by_size or []):
        mallocs, frees = int(getattr(e, "Mallocs", 0)), int(getattr(e, "Frees", 0))
        if mallocs or frees:
            rows.append((i, f"{int(e.Size):,}", f"{mallocs:,}", f"{frees:,}", f"{mallocs - frees:,}"))
    shown = rows[:limit]
    body = _table(shown, header=("class", "Size", "Mallocs", "Frees", "live"),
                  classes=("gr-value",) * 5) if shown else _note("no small objects allocated")
    if len(rows) > len(shown):
        body += _note(f"{len(rows) - len(shown)} more classes not shown (display_max_items)")
    return body, len(rows)


def memstats_html(m):
    """HTML for a `goruntime.mstats.MemStats` (or anything with its fields); None if off."""
    if not _html_enabled():
        return None
    clock = getattr(m, "_clock", None)
    sections = []
    for title, fields in MEMSTATS_GROUPS:
        rows = []
        for name, unit, doc in fields:
            v = getattr(m, name, None)
            if v is None:
                continue
            rows.append((name, _fmt_value(v, unit), _human(v, unit, clock), doc))
        details = _table(rows, classes=("gr-name", "gr-value", "gr-human", "gr-doc"))
        inline = ""
        if title == "Garbage collector":
            numgc = int(getattr(m, "NumGC", 0))
            pauses = chronological_pauses(getattr(m, "PauseNs", []) or [], numgc)
            spark = _pause_sparkline(pauses, first_gc=numgc - len(pauses) + 1)
            details += (f"<div class='gr-note'>PauseNs, last {_e(plural(len(pauses), 'cycle'))}, "
                        f"oldest first{_e(', max ' + fmt_ns(max(pauses))) if pauses else ''}:</div>"
                        f"{spark}" + _note(time_note(clock)))
            inline = _e(f"NumGC={numgc}, NextGC={fmt_bytes(getattr(m, 'NextGC', 0))}")
        elif title == "General statistics":
            inline = _e(f"Alloc={fmt_bytes(getattr(m, 'Alloc', 0))}, Sys={fmt_bytes(getattr(m, 'Sys', 0))}")
        sections.append(_section(title, details, count=len(rows), inline=inline,
                                 expanded=title in ("General statistics", "Heap memory",
                                                    "Garbage collector")))
    table, n = _by_size_table(getattr(m, "BySize", None), OPTIONS["display_max_items"])
    sections.append(_section("BySize (small objects per size class)", table, count=n,
                             expanded=OPTIONS["display_expand_by_size"]))
    return _wrap("runtime.MemStats", f"NumGC={getattr(m, 'NumGC', 0)}", sections, memstats_text(m))


# ---------------------------------------------------------------------------------------
# GCStats (Go: runtime/debug.GCStats)

def gcstats_text(s) -> str:
    clock = getattr(s, "_clock", None)
    lines = [repr(s)] if len(repr(s)) < 400 else [f"GCStats(NumGC={s.NumGC}, ...)"]
    lines.append(f"  LastGC      {_fmt_time_of(s.LastGC, clock)}")
    lines.append(f"  NumGC       {s.NumGC}")
    lines.append(f"  PauseTotal  {fmt_ns(s.PauseTotal)}, {time_label(clock)}")
    if s.Pause:
        lines.append(f"  Pause       {len(s.Pause)} recorded, newest first: "
                     + ", ".join(fmt_ns(p) for p in s.Pause[:8]) + (" ..." if len(s.Pause) > 8 else ""))
    if s.PauseQuantiles:
        lines.append("  Quantiles   " + ", ".join(fmt_ns(q) for q in s.PauseQuantiles))
    lines.append(time_note(clock))
    return "\n".join(lines)


def gcstats_html(s):
    """HTML for a `goruntime.debug.GCStats`; None if HTML display is off."""
    if not _html_enabled():
        return None
    clock = getattr(s, "_clock", None)
    rows = [
        ("LastGC", _fmt_value(s.LastGC, "time"), _fmt_time_of(s.LastGC, clock), "time of the last collection"),
        ("NumGC", f"{s.NumGC:,}", "", "number of garbage collections"),
        ("PauseTotal", f"{s.PauseTotal:,}", f"{fmt_ns(s.PauseTotal)}, {time_label(clock)}",
         "total pause for all collections"),
    ]
    sections = [_section("Summary", _table(rows, classes=("gr-name", "gr-value", "gr-human", "gr-doc"))
                         + _note(time_note(clock)), count=len(rows))]
    pauses = list(reversed(s.Pause))            # Pause is newest first; draw oldest first
    lim = OPTIONS["display_max_items"]
    prow = [(f"GC {s.NumGC - i}", f"{p:,}", fmt_ns(p), _fmt_time_of(e, clock))
            for i, (p, e) in enumerate(zip(s.Pause, s.PauseEnd or [0] * len(s.Pause)))][:lim]
    details = (_pause_sparkline(pauses, first_gc=s.NumGC - len(pauses) + 1)
               + (_table(prow, header=("cycle", "Pause (ns)", "", "PauseEnd"),
                         classes=("gr-name", "gr-value", "gr-human", "gr-human")) if prow else ""))
    if len(s.Pause) > len(prow):
        details += _note(f"{len(s.Pause) - len(prow)} older pauses not listed (display_max_items)")
    sections.append(_section("Pause (newest first in the list)", details, count=len(s.Pause),
                             inline=_pause_sparkline(pauses, first_gc=s.NumGC - len(pauses) + 1)))
    if s.PauseQuantiles:
        q = s.PauseQuantiles
        nq = len(q) - 1
        qrows = [("min" if i == 0 else "max" if i == nq else f"q{i}/{nq}", f"{v:,}", fmt_ns(v))
                 for i, v in enumerate(q)]
        sections.append(_section("PauseQuantiles", _table(qrows, classes=("gr-name", "gr-value", "gr-human")),
                                 count=len(q)))
    return _wrap("debug.GCStats", f"NumGC={s.NumGC}", sections, gcstats_text(s))


# ---------------------------------------------------------------------------------------
# the heap: spans as a grid of cells (hue = size class, fill = alloc_count / nelems)

def _span_rows(heap):
    """The in-use spans as plain dicts (from the read-only ``Heap.spans`` view)."""
    spans = heap.spans
    out = []
    for s in spans:
        spc = int(s["spanclass"])
        out.append({
            "base": int(s["base"]), "elemsize": int(s["elemsize"]), "nelems": int(s["nelems"]),
            "alloc_count": int(s["alloc_count"]), "npages": int(s["npages"]),
            "sizeclass": spc >> 1, "noscan": bool(spc & 1),
        })
    return out


def _span_title(s) -> str:
    kind = "large object" if s["sizeclass"] == 0 else f"class {s['sizeclass']} ({s['elemsize']} B)"
    return (f"span {s['base']:#x}: {kind}, {'noscan' if s['noscan'] else 'scan'}, "
            f"{s['alloc_count']}/{s['nelems']} objects, {s['npages']} page"
            f"{'s' if s['npages'] != 1 else ''}")


def _span_cell(s, legend=False) -> str:
    """One grid cell; a large span is wider (up to 8 cells), a legend swatch is inline."""
    occ = s["alloc_count"] / s["nelems"] if s["nelems"] else 0.0
    cls = "gr-span" + (" gr-noscan" if s["noscan"] else "") + (" gr-large" if s["sizeclass"] == 0 else "")
    hue = size_class_hue(s["sizeclass"])
    if legend:
        return f"<span class='{cls}' style='--gr-h:{hue};--gr-occ:{occ * 100:.0f}%'></span>"
    width = ""
    if s["sizeclass"] == 0:
        k = min(max(s["npages"], 1), 8)
        width = f"width:{14 * k + 2 * (k - 1)}px;"
    return (f"<div class='{cls}' style='--gr-h:{hue};--gr-occ:{occ * 100:.0f}%;{width}' "
            f"title='{_e(_span_title(s))}'></div>")


def _span_grid(spans, max_spans) -> str:
    shown = spans[:max_spans]
    out = ["<div class='gr-span-grid'>"]
    out.extend(_span_cell(s) for s in shown)
    out.append("</div>")
    if len(spans) > len(shown):
        out.append(_note(f"showing {len(shown)} of {len(spans)} spans; "
                         f"goruntime._display.set_options(display_max_spans=...) shows more"))
    classes = {}
    for s in spans:
        k = (s["sizeclass"], s["noscan"])
        c = classes.setdefault(k, {"spans": 0, "objects": 0, "slots": 0, "elemsize": s["elemsize"]})
        c["spans"] += 1
        c["objects"] += s["alloc_count"]
        c["slots"] += s["nelems"]
    legend = ["<div class='gr-legend'>"]
    for (sc, noscan), c in sorted(classes.items()):
        label = "large" if sc == 0 else f"class {sc} · {c['elemsize']} B"
        sample = {"sizeclass": sc, "noscan": noscan, "alloc_count": 1, "nelems": 1, "npages": 1,
                  "elemsize": c["elemsize"], "base": 0}
        legend.append(f"<span>{_span_cell(sample, legend=True)}"
                      f"{_e(label)}{' noscan' if noscan else ''}: {_e(c['spans'])} span"
                      f"{'s' if c['spans'] != 1 else ''}, {_e(c['objects'])}/{_e(c['slots'])}</span>")
    legend.append("</div>")
    out.extend(legend)
    out.append(_note("one cell per in-use span in address order; hue = size class, "
                     "fill = allocated slots / slots, dashed = noscan, rounded = large object"))
    return "".join(out)


def _heap_summary(heap, spans):
    c = HeapCounters.read(heap)
    objects = sum(s["alloc_count"] for s in spans)
    slot_bytes = sum(s["alloc_count"] * s["elemsize"] for s in spans)
    return c, objects, slot_bytes


def heap_text(heap, spans=None) -> str:
    spans = _span_rows(heap) if spans is None else spans
    c, objects, slot_bytes = _heap_summary(heap, spans)
    lines = [f"<goruntime Heap: {plural(len(spans), 'span')} in use, {plural(objects, 'object')} in "
             f"{fmt_bytes(slot_bytes)} of slots, HeapInuse {fmt_bytes(c.heap_inuse)}, "
             f"HeapSys {fmt_bytes(c.heap_sys)}, HeapReleased {fmt_bytes(c.heap_released)}>"]
    by = {}
    for s in spans:
        k = (s["sizeclass"], s["noscan"], s["elemsize"] if s["sizeclass"] else 0)
        b = by.setdefault(k, [0, 0, 0])
        b[0] += 1
        b[1] += s["alloc_count"]
        b[2] += s["nelems"]
    for (sc, noscan, size), (n, a, t) in sorted(by.items()):
        name = "large" if sc == 0 else f"class {sc:>2} ({size} B)"
        lines.append(f"  {name:<18} {'noscan' if noscan else 'scan  '} {n:>5} span{'s' if n != 1 else ' '}"
                     f"  {a}/{t} objects")
    return "\n".join(lines)


def _heap_sections(heap, spans):
    c, objects, slot_bytes = _heap_summary(heap, spans)
    rows = [
        ("spans in use", f"{len(spans):,}", "", "in-use spans (MSpanInuse / 160)"),
        ("objects", f"{objects:,}", "", "allocated slots (a tiny block counts once)"),
        ("slot bytes", f"{slot_bytes:,}", fmt_bytes(slot_bytes), "bytes in allocated slots"),
        ("heap_live", f"{c.heap_live:,}", fmt_bytes(c.heap_live),
         "the pacer's heapLive (cached spans count as full)"),
        ("HeapInuse", f"{c.heap_inuse:,}", fmt_bytes(c.heap_inuse), "bytes in in-use spans"),
        ("HeapSys", f"{c.heap_sys:,}", fmt_bytes(c.heap_sys), "heap mapped (4 MiB steps)"),
        ("HeapReleased", f"{c.heap_released:,}", fmt_bytes(c.heap_released),
         "free pages returned to the OS"),
        ("roots", f"{heap.nroots:,}", "", "live handles (Python variables = goroutine stack slots)"),
    ]
    summary = _table(rows, classes=("gr-name", "gr-value", "gr-human", "gr-doc"))
    grid = _span_grid(spans, OPTIONS["display_max_spans"])
    inline = _e(f"{plural(len(spans), 'span')}, {plural(objects, 'object')}, HeapInuse={fmt_bytes(c.heap_inuse)}")
    return [
        _section("Heap", summary, count=len(rows), inline=inline),
        _section("Spans", grid, count=len(spans), expanded=OPTIONS["display_expand_spans"],
                 enabled=bool(spans)),
    ]


def heap_html(heap):
    """HTML for a `goruntime._heap.Heap`: a summary and the span grid; None if off."""
    if not _html_enabled():
        return None
    with heap.lock, _signals.held():
        spans = _span_rows(heap)
        sections = _heap_sections(heap, spans)
        text = heap_text(heap, spans)
    return _wrap("goruntime.Heap", f"{fmt_bytes(heap.mapped_bytes)} mapped", sections, text)


# ---------------------------------------------------------------------------------------
# Runtime

def _runtime_settings(rt):
    pacer = rt.pacer
    godebug = ",".join(f"{k}={v}" for k, v in sorted(getattr(rt, "godebug", {}).items()))
    sched = getattr(rt, "sched", None)
    clock = getattr(rt, "clock", None)
    return [
        ("GOGC", _fmt_gogc(pacer.gc_percent), "", "heap growth percent (debug.SetGCPercent)"),
        ("GOMEMLIMIT", f"{pacer.memory_limit:,}", _fmt_limit(pacer.memory_limit),
         "soft memory limit (debug.SetMemoryLimit)"),
        ("GOMAXPROCS", str(getattr(rt, "_gomaxprocs", rt.heap.nprocs)), "", "Ps (mcaches)"),
        ("GODEBUG", godebug or "(none)", "", "debug settings"),
        ("scheduler", getattr(sched, "mode", "?"), "", "how goroutines (finalizers) run"),
        ("clock", "virtual" if getattr(clock, "virtual", False) else "wall", time_label(clock),
         "time source for pauses and GCCPUFraction"),
    ]


def _runtime_gc_rows(rt, goal):
    r = rt.gc_record
    last = r.pauses.latest()[0]
    how = time_label(getattr(rt, "clock", None))
    return [
        ("NumGC", f"{r.num_gc:,}", "", "completed cycles"),
        ("NumForcedGC", f"{r.num_forced_gc:,}", "", "cycles from runtime.GC()"),
        ("NextGC", f"{goal:,}", fmt_bytes(goal), "heap goal now"),
        ("PauseTotalNs", f"{r.pause_total_ns:,}", f"{fmt_ns(r.pause_total_ns)}, {how}",
         "stop-the-world time"),
        ("last pause", f"{last:,}", f"{fmt_ns(last)}, {how}", "PauseNs[(NumGC+255)%256]"),
        ("GCCPUFraction", f"{r.gc_cpu_fraction:.6f}", f"{r.gc_cpu_fraction * 100:.2f} %, {how}",
         "since start"),
        ("finalizers", f"{r.finalizers_queued:,} queued / {r.finalizers_executed:,} run", "",
         "cumulative (/gc/finalizers/...)"),
        ("cleanups", f"{r.cleanups_queued:,} queued / {r.cleanups_executed:,} run", "",
         "cumulative (/gc/cleanups/...)"),
    ]


def runtime_text(rt) -> str:
    r = rt.gc_record
    lines = [repr(rt)]
    for name, value, human, _doc in _runtime_settings(rt):
        lines.append(f"  {name:<12} {value}{'  (' + human + ')' if human else ''}")
    pauses = r.pauses.chronological()
    how = time_label(getattr(rt, "clock", None))
    lines.append(f"  NumGC        {r.num_gc}  pauses {_text_sparkline(pauses)} ({how})")
    lines.append(heap_text(rt.heap))
    return "\n".join(lines)


def runtime_html(rt):
    """HTML for a `goruntime.Runtime`: settings, GC record, heap summary, span grid."""
    if not _html_enabled():
        return None
    with rt.heap.lock, _signals.held():
        goal = rt.heap_goal()
        r = rt.gc_record
        cls = ("gr-name", "gr-value", "gr-human", "gr-doc")
        settings = _runtime_settings(rt)
        gc_rows = _runtime_gc_rows(rt, goal)
        pauses = r.pauses.chronological()
        spark = _pause_sparkline(pauses, first_gc=r.num_gc - len(pauses) + 1)
        spans = _span_rows(rt.heap)
        sections = [
            _section("Settings", _table(settings, classes=cls), count=len(settings),
                     inline=_e(f"GOGC={_fmt_gogc(rt.pacer.gc_percent)}, "
                               f"GOMEMLIMIT={_fmt_limit(rt.pacer.memory_limit)}"),
                     expanded=False),
            _section("GC", _table(gc_rows, classes=cls) + spark + _note(time_note(getattr(rt, "clock", None))),
                     count=len(gc_rows),
                     inline=_e(f"NumGC={r.num_gc}, NextGC={fmt_bytes(goal)}")),
        ] + _heap_sections(rt.heap, spans)
        text = runtime_text(rt)
        dead = getattr(rt, "dead", None)
        if dead:                     # a finalizer or cleanup raised: every call now raises
            sections.insert(0, _section("DEAD", _note(dead), inline=_e("this Runtime is dead")))
    return _wrap("goruntime.Runtime", ("DEAD " if dead else "")
                 + f"GOGC={_fmt_gogc(rt.pacer.gc_percent)} NumGC={r.num_gc}", sections, text)


# ---------------------------------------------------------------------------------------
# handles (Pointer, SliceValue)

def _value_text(v, maxlen=80) -> str:
    if v is None:
        return "nil"
    s = repr(v)
    return s if len(s) <= maxlen else s[: maxlen - 1] + "…"


def _field_value(h, f):
    """The value of field *f* of the struct *h* points to, as display text."""
    try:
        kind = f.type.underlying.kind
        if kind == "array":
            arr = h.field_ptr(f.name)
            n = len(arr)
            lim = OPTIONS["display_max_items"]
            items = [_value_text(arr[i], 24) for i in range(min(n, lim))]
            return "[" + ", ".join(items) + (", …" if n > lim else "") + "]"
        if kind == "struct":
            return _value_text(h.field_ptr(f.name))
        return _value_text(h.field_ptr(f.name).value)
    except Exception as exc:     # a display must never raise; show why instead
        return f"<unreadable: {type(exc).__name__}: {exc}>"


def _object_rows(h):
    heap = h.runtime.heap
    info = heap.find_object(h.addr)
    if info is None:
        return [("address", f"{h.addr:#x}", "", "not in a heap object (zero-size or global)")]
    base, slot, elemsize, spanclass = info
    sc, noscan = spanclass >> 1, bool(spanclass & 1)
    rows = [
        ("address", f"{h.addr:#x}", "", "what the program holds"),
        ("object", f"{base:#x}", "" if base == h.addr else f"interior +{h.addr - base}",
         "start of the allocated object"),
        ("slot", f"{slot:#x}", f"{elemsize} B", "with the 8-byte malloc header" if base != slot
         else "the allocator's slot"),
        ("size class", "large" if sc == 0 else str(sc), "noscan" if noscan else "scan",
         "span class " + str(spanclass)),
    ]
    if sc == 2 and noscan and elemsize == 16:
        rows.append(("tiny", "yes", "", "shares a 16-byte block with other tiny objects"))
    return rows


def handle_text(h) -> str:
    lines = [repr(h)]
    try:
        for name, value, human, _doc in _object_rows(h):
            lines.append(f"  {name:<10} {value} {human}".rstrip())
        for name, t, _off, value in _fields(h):
            lines.append(f"  .{name} {t} = {value}")
    except Exception as exc:  # pragma: no cover - defensive
        lines.append(f"  <{type(exc).__name__}: {exc}>")
    return "\n".join(lines)


def _fields(h):
    """(name, type string, offset, value text) for a struct pointee or slice elements."""
    elem = getattr(h, "elem", None)
    if elem is None:
        return []
    if hasattr(h, "capacity"):                 # a slice: its first elements
        lim = OPTIONS["display_max_items"]
        return [(f"[{i}]", str(elem), i * elem.size, _value_text(h[i]))
                for i in range(min(len(h), lim))]
    u = elem.underlying
    if u.kind == "struct":
        return [(f.name, str(f.type), f.offset, _field_value(h, f)) for f in elem.fields]
    if u.kind == "array":
        lim = OPTIONS["display_max_items"]
        return [(f"[{i}]", str(u.elem), i * u.elem.size, _value_text(h[i]))
                for i in range(min(u.len, lim))]
    try:
        return [("*", str(elem), 0, _value_text(h.value))]
    except Exception as exc:
        return [("*", str(elem), 0, f"<unreadable: {exc}>")]


def handle_html(h):
    """HTML for a handle (`goruntime.Pointer` or `goruntime.SliceValue`); None if off."""
    if not _html_enabled():
        return None
    heap = h.runtime.heap
    with heap.lock, _signals.held():
        cls = ("gr-name", "gr-value", "gr-human", "gr-doc")
        obj = _object_rows(h)
        fields = _fields(h)
        text = handle_text(h)
    kind = "goruntime.SliceValue" if hasattr(h, "capacity") else "goruntime.Pointer"
    name = str(h.type)
    sections = [_section("Object", _table(obj, classes=cls), count=len(obj),
                         inline=_e(f"{h.addr:#x}"))]
    if hasattr(h, "capacity"):
        meta = [("len", f"{len(h):,}", "", ""), ("cap", f"{h.cap:,}", "", ""),
                ("elem", str(h.elem), f"{h.elem.size} B", "element type")]
        sections.append(_section("Slice header", _table(meta, classes=cls), count=3,
                                 inline=_e(f"len={len(h)} cap={h.cap}")))
        title = "Elements"
    else:
        title = "Fields" if h.elem is not None and h.elem.underlying.kind == "struct" else "Value"
    if fields:
        body = _table(fields, header=("name", "type", "offset", "value"),
                      classes=("gr-name", "gr-human", "gr-value", "gr-name"))
        total = len(h) if hasattr(h, "capacity") else None
        if total is not None and total > len(fields):
            body += _note(f"{total - len(fields)} more elements not shown (display_max_items)")
        sections.append(_section(title, body, count=len(fields)))
    return _wrap(kind, name, sections, text)


# ---------------------------------------------------------------------------------------
# a step of the tri-colour mark (goruntime.plot.GCStep)

def steps_html(step):
    """HTML for one `goruntime.plot.GCStep`: the objects as white / grey / black cells."""
    if not _html_enabled():
        return None
    graph = step.graph
    colour = {}
    for a in step.white:
        colour[a] = "white"
    for a in step.grey:
        colour[a] = "grey"
    for a in step.black:
        colour[a] = "black"
    cells = ["<div>"]
    for a in sorted(graph.objects):
        label = graph.label(a)
        c = colour.get(a, "white")
        cur = (" style='outline:2px solid var(--gr-accent)'" if a == step.scanned else
               " style='outline:2px solid #d32f2f'" if a in getattr(step, "shaded", ()) else
               " style='outline:2px dashed #ff6f00'" if a in getattr(step, "lost", ()) else "")
        cells.append(f"<span class='gr-obj gr-{c}'{cur} title='{_e(f'{a:#x} {label} ({c})')}'>"
                     f"{_e(label)}</span>")
    cells.append("</div>")
    rows = [("step", str(step.index), step.phase), ("scanned", f"{step.scanned:#x}" if step.scanned else "-",
                                                    graph.label(step.scanned) if step.scanned else ""),
            ("white", str(len(step.white)), "not (yet) reached"),
            ("grey", str(len(step.grey)), "reached, pointers not scanned"),
            ("black", str(len(step.black)), "reached and scanned")]
    sections = [_section("Step", _table(rows, classes=("gr-name", "gr-value", "gr-human")), count=len(rows)),
                _section("Objects", "".join(cells), count=len(graph.objects))]
    return _wrap("goruntime GC step", f"{step.index}: {step.phase}", sections, repr(step))
