"""Jupyter display (goruntime/_display.py): escaped HTML, a text fallback, CSS from package data.

The reprs get user-controlled strings -- type names, package paths, field names, string
field values -- so every test plants ``<script>`` in them and checks it never reaches the
HTML unescaped.
"""
import html
import re
import time

import pytest

import goruntime as rt
from goruntime import _display, debug

EVIL = "<script>alert(1)</script>"


@pytest.fixture
def r():
    with rt.Runtime() as r:
        yield r


@pytest.fixture
def evil_type():
    # Type and package names are checked as identifiers, but the package path and field
    # names are free text: both end up in the HTML.
    return rt.Struct("T", package="<script>x", **{EVIL: rt.Int, "p": rt.Ptr(rt.Int), "s": rt.String})


def assert_safe(h):
    """No live <script> tag; the payload is present only escaped."""
    assert h is not None
    assert "<script" not in h.lower()
    assert html.escape(EVIL) in h or "&lt;script&gt;" in h


def text_fallback(h):
    m = re.search(r"<pre class='gr-text-fallback'>(.*?)</pre>", h, re.S)
    assert m, "no <pre> text fallback"
    return html.unescape(m.group(1))


def test_handle_html_escapes_type_and_field_names(r, evil_type):
    p = rt.new(evil_type)
    setattr(p, EVIL, 42)
    p.s = EVIL                                   # a string field's value, too
    h = p._repr_html_()
    assert_safe(h)
    assert "42" in h
    fallback = text_fallback(h)
    assert "<script>x.T" in fallback             # the text repr, unescaped after parsing
    assert f"{p.addr:#x}" in fallback


def test_slice_handle_html(r):
    s = rt.make(rt.Slice(rt.Int64), 100)
    s[3] = 77
    h = s._repr_html_()
    assert "len=100" in text_fallback(h)
    assert "77" in h
    assert "more elements not shown" in h


def test_memstats_html_groups_and_fallback(r, evil_type):
    rt.new(evil_type)
    rt.GC()
    m = rt.ReadMemStats()
    h = m._repr_html_()
    for group in ("General statistics", "Heap memory", "Off-heap memory", "Garbage collector", "BySize"):
        assert group in h
    for name in ("HeapAlloc", "NextGC", "PauseTotalNs", "GCCPUFraction", "MSpanSys"):
        assert name in h
    assert "<svg class='gr-sparkline'" in h     # the pause sparkline
    assert "<title>GC 1:" in h
    fb = text_fallback(h)
    assert fb.startswith("MemStats(")
    assert re.search(r"NumGC\s+1\b", fb)
    assert "<script" not in h.lower()


def test_memstats_html_escapes_values():
    # A MemStats-like object whose values are hostile strings: nothing may pass unescaped.
    class Fake:
        def __getattr__(self, name):
            if name in ("PauseNs", "BySize"):
                return []
            if name == "NumGC":
                return 0
            return EVIL

        def __repr__(self):
            return EVIL
    h = _display.memstats_html(Fake())
    assert_safe(h)
    assert EVIL in text_fallback(h)


def test_runtime_html_has_settings_and_span_grid(r):
    keep = [rt.new(rt.Struct("Pair", a=rt.Ptr(rt.Int), b=rt.Int)) for _ in range(300)]
    buf = rt.make(rt.Slice(rt.Byte), 40000)     # a large object
    rt.GC()
    h = r._repr_html_()
    assert "GOGC" in h and "GOMEMLIMIT" in h and "NumGC" in h
    assert h.count("class='gr-span") >= len(r.heap.spans)
    assert "gr-large" in h                      # the large span is drawn as such
    assert "alloc" in text_fallback(h) or "spans" in text_fallback(h)
    del keep, buf


def test_heap_html_caps_spans_with_a_note(r):
    big = [rt.make(rt.Slice(rt.Byte), 40000) for _ in range(12)]    # large: one span each
    n = len(r.heap.spans)
    assert n >= 12
    with _display.set_options(display_max_spans=5):
        h = _display.heap_html(r.heap)
    cells = re.compile(r"<div class='gr-span[ ']")
    assert len(cells.findall(h)) == 5
    assert f"showing 5 of {n} spans" in h
    full = _display.heap_html(r.heap)
    assert len(cells.findall(full)) == n
    del big


def test_gcstats_html(r):
    for _ in range(3):
        rt.GC()
    s = debug.GCStats(PauseQuantiles=[0] * 5)
    debug.ReadGCStats(s)
    h = _display.gcstats_html(s)
    assert "debug.GCStats" in h and "PauseQuantiles" in h and "NumGC=3" in h
    assert "NumGC" in text_fallback(h)


def test_css_loaded_once_from_package_data():
    _display._load_css.cache_clear()
    css = _display._load_css()
    assert ".gr-text-fallback" in css and ".gr-span" in css
    _display._load_css()
    assert _display._load_css.cache_info().misses == 1
    assert "<script" not in css.lower()


def test_no_javascript_anywhere(r):
    p = rt.new(rt.Struct("Q", x=rt.Int))
    rt.GC()
    for h in (p._repr_html_(), r._repr_html_(), rt.ReadMemStats()._repr_html_(),
              _display.heap_html(r.heap)):
        low = h.lower()
        assert "<script" not in low and "javascript:" not in low and " onclick" not in low


def test_text_option_turns_html_off(r):
    p = rt.new(rt.Struct("Q", x=rt.Int))
    with _display.set_options(display="text"):
        assert _display.handle_html(p) is None
        assert _display.memstats_html(rt.ReadMemStats()) is None
        assert _display.runtime_html(r) is None
    assert _display.handle_html(p) is not None
    with pytest.raises(ValueError):
        _display.set_options(display="svg")
    with pytest.raises(ValueError):
        _display.set_options(no_such_option=1)


def test_display_does_not_change_the_heap(r):
    keep = [rt.new(rt.Struct("Q", x=rt.Int, p=rt.Ptr("Q"))) for _ in range(50)]
    before = r.heap.counters()
    roots = r.heap.nroots
    r._repr_html_()
    keep[0]._repr_html_()
    assert r.heap.counters() == before
    assert r.heap.nroots == roots
    del keep


def test_formatting_helpers():
    assert _display.fmt_bytes(0) == "0 B"
    assert _display.fmt_bytes(4 << 20) == "4.0 MiB"
    assert _display.fmt_ns(35000) == "35 µs"
    assert _display.fmt_ns(999) == "999 ns"
    assert {_display.size_class_hue(c) for c in range(1, 68)} != {0}



# -- every time says how it was obtained (issue 21, item 3) -------------------------------

def test_memstats_times_say_they_are_modelled(r):
    rt.GC()
    m = rt.ReadMemStats()
    h = m._repr_html_()
    for text in (h, str(m)):
        assert "Times are modelled, not measured" in text
        assert "goruntime.runtime.COSTS" in text
        assert re.search(r"PauseTotalNs.*modelled", text)
        assert re.search(r"GCCPUFraction.*%, modelled", text, re.S)
    # LastGC on the virtual clock: today's date (the clock starts at the runtime's
    # creation) and the virtual time since the start
    today = time.strftime("%Y-%m-%d", time.gmtime(r.clock.start_unix_ns / 1e9))
    assert "after the start, virtual clock)" in str(m)
    assert "2023-11-14 22:13" not in str(m)
    assert f"runtime was made ({today}" in str(m)
    assert abs(r.clock.start_unix_ns - time.time_ns()) < 3600 * 10**9


def test_wall_clock_times_say_they_are_measured():
    with rt.Runtime(clock="wall") as w:
        rt.GC()
        m = rt.ReadMemStats()
        s = debug.GCStats()
        debug.ReadGCStats(s)
        rh = w._repr_html_()
    for text in (str(m), m._repr_html_(), _display.gcstats_text(s), _display.gcstats_html(s), rh):
        assert "Times are measured" in text and "modelled" not in text
    assert "after the start" not in str(m)                 # a real date on a real clock


def test_gcstats_and_runtime_times_say_they_are_modelled(r):
    rt.GC()
    s = debug.GCStats()
    debug.ReadGCStats(s)
    for text in (_display.gcstats_text(s), _display.gcstats_html(s), r._repr_html_(),
                 _display.runtime_text(r)):
        assert "modelled" in text
    assert "after the start, virtual clock)" in _display.gcstats_text(s)
    assert "2023-11-14 22:13" not in _display.gcstats_html(s)


def test_print_memstats_shows_every_field(r):
    rt.new(rt.Struct("PF", p=rt.Ptr(rt.Int)))
    rt.GC()
    m = rt.ReadMemStats()
    text, one_line = str(m), repr(m)
    names = list(m.fields())
    assert len(names) == 29 and names[0] == "Alloc"            # + 3 arrays = Go's 32 and names[-1] == "DebugGC"
    for name in names:
        assert re.search(rf"^\s+{name}\s", text, re.M), name         # print(m): grouped
        assert f"{name}={getattr(m, name)!r}" in one_line, name      # repr(m): every field
    for name in ("PauseNs", "PauseEnd", "BySize"):
        assert name in text and name in one_line
    assert "[256 ns values]" in one_line and "[61 size classes]" in one_line
    assert "..." not in one_line


def test_counts_are_pluralised(r):
    assert [_display.plural(n, "GC") for n in (0, 1, 2)] == ["0 GCs", "1 GC", "2 GCs"]
    assert _display.plural(1000, "object") == "1,000 objects"
    assert _display.plural(1, "size class", "size classes") == "1 size class"
    assert _display.plural(3, "size class", "size classes") == "3 size classes"
    keep = rt.new(rt.Struct("PL", p=rt.Ptr(rt.Int)))
    rt.GC()
    h = r._repr_html_()
    assert "aria-label='1 GC pause, max" in h and "1 GC pauses" not in h
    assert "1 span in use, 1 object in" in _display.heap_text(r.heap)
    del keep
