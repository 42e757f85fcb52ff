"""goruntime.plot: the Recorder, the four pictures (rendered to PNG with Agg), gc_steps."""
import io

import numpy as np
import pytest

import goruntime as rt
from goruntime import _mark, plot

matplotlib = pytest.importorskip("matplotlib")
from matplotlib.figure import Figure  # noqa: E402


def render(draw):
    """Draw on a fresh Agg figure; return the PNG as an RGBA array (checked non-trivial)."""
    fig = Figure(figsize=(6, 3.5), dpi=80)
    ax = fig.subplots()
    assert draw(ax) is ax
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    png = buf.getvalue()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    buf.seek(0)
    img = matplotlib.image.imread(buf)
    assert img.shape[0] == 280 and img.shape[1] == 480
    non_white = np.any(img[..., :3] < 0.9, axis=-1)
    assert non_white.mean() > 0.01, "the picture is (almost) blank"
    return img


Node = rt.Struct("PlotNode", next=rt.Ptr("PlotNode"), other=rt.Ptr("PlotBig"), id=rt.Int)
Big = rt.Struct("PlotBig", p=rt.Ptr("PlotNode"), pad=rt.Array(rt.Int64, 80))


Churn = rt.Struct("PlotChurn", next=rt.Ptr("PlotChurn"), pad=rt.Array(rt.Int64, 62))   # 512 B


def churn(n=20000, keep_every=10):
    """n 512-byte objects (10 MB at the default n), every keep_every-th kept a while."""
    keep = []
    for i in range(n):
        x = rt.new(Churn)
        if i % keep_every == 0:
            keep.append(x)
        if len(keep) > 400:
            del keep[:200]
    return keep


@pytest.fixture
def recorded():
    with rt.Runtime(gogc=50) as r:
        with plot.Recorder(r) as rec:
            keep = churn()
            rec.sample("mid")
            rt.GC()
        yield r, rec
        del keep


def test_recorder_sees_every_gc(recorded):
    r, rec = recorded
    assert len(rec.gcs) == r.gc_record.num_gc >= 3
    assert [g.num_gc for g in rec.gcs] == list(range(1, r.gc_record.num_gc + 1))
    assert rec.gcs[-1].kind == "cycle" and any(g.kind == "heap" for g in rec.gcs)
    events = [s.event for s in rec.samples]
    assert events[0] == "start" and events[-1] == "end" and "sample" in events
    for g in rec.gcs:
        assert g.before.heap_live >= g.after.heap_live or g.kind == "heap"
        assert g.pause_ns > 0
    # samples are in allocation order, and the recorder restored the runtime on exit
    assert all(a.alloc_bytes <= b.alloc_bytes for a, b in zip(rec.samples, rec.samples[1:]))
    assert "gc" not in vars(r)
    assert rec.peak_heap_inuse == max(s.heap_inuse for s in rec.samples) > 0


def test_recorder_does_not_change_the_run():
    def run(record):
        with rt.Runtime() as r:
            if record:
                with plot.Recorder(r):
                    keep = churn(12000)
            else:
                keep = churn(12000)
            del keep
            return r.gc_record.num_gc, rt.ReadMemStats().TotalAlloc, r.heap.counters()["heap_live"]
    assert run(True) == run(False)


def test_plot_heap_png(recorded):
    _, rec = recorded
    render(lambda ax: plot.plot_heap(rec, ax=ax))
    render(lambda ax: plot.plot_heap(rec, ax=ax, x="time", show_inuse=True))


def test_plot_heap_with_memory_limit():
    with rt.Runtime(gogc=-1, memory_limit="8MiB") as r, plot.Recorder(r) as rec:
        keep = churn(30000, keep_every=50)
    assert rec.memory_limit == 8 << 20 and len(rec.gcs) >= 1
    render(lambda ax: plot.plot_heap(rec, ax=ax))
    del keep


def test_plot_pauses_png(recorded):
    r, rec = recorded
    for source in (rec, r, rt.ReadMemStats()):
        render(lambda ax, source=source: plot.plot_pauses(source, ax=ax))
    render(lambda ax: plot.plot_pauses([1000, 2000, 35000, 36000, 40000], ax=ax, bins=5))


def test_plot_by_size_png(recorded):
    m = rt.ReadMemStats()
    assert any(e.Mallocs for e in m.BySize)
    render(lambda ax: plot.plot_by_size(m, ax=ax))


def build_graph():
    """A small heap with a cycle, garbage, a large object, a tiny block and a finalizer."""
    a, b, c, d = (rt.new(Node) for _ in range(4))
    big = rt.new(Big)
    a.next, b.next, c.next = b, c, a          # a reachable 3-cycle
    a.other = big
    big.p = d                                  # reached only through the 16-word object
    g1, g2 = rt.new(Node), rt.new(Node)
    g1.next, g2.next = g2, g1                  # an unreachable 2-cycle
    tiny = rt.new(rt.Int8)                     # pointer-free, 1 byte: the tiny allocator
    fin = rt.new(Node)
    fin.next = rt.new(Node)                    # kept alive for fin's finalizer only
    rt.SetFinalizer(fin, lambda x: None)
    bigscan = rt.make(rt.Slice(rt.Ptr(Node)), 5000)   # a large pointerful object
    bigscan[4999] = d
    return {"a": a, "big": big, "tiny": tiny, "bigscan": bigscan}


def real_mark(r, graph):
    """What the real mark (goruntime._mark) marks, then the mark bits cleared again."""
    roots, scan_only = r.gc_roots()
    _mark.mark(r.heap, roots, scan_only)
    try:
        return {a for a, o in graph.objects.items() if r.heap.is_marked(o.slot)}
    finally:
        _mark.clear_marks(r.heap)


def test_gc_steps_final_black_set_is_what_the_real_mark_keeps():
    with rt.Runtime() as r:
        live = build_graph()
        before = r.heap.counters()
        steps = list(plot.gc_steps(r, labels=live))
        assert r.heap.counters() == before     # read only
        first, last = steps[0], steps[-1]
        g = last.graph
        assert first.phase == "roots" and last.phase == "done" and not last.grey
        assert {"mark", "finalizers"} <= {s.phase for s in steps}
        # the invariant at every step: the three sets partition the heap
        for s in steps:
            assert not (s.white & s.grey or s.grey & s.black or s.white & s.black)
            assert s.white | s.grey | s.black == set(g.objects)
        # black only grows, white only shrinks
        for p, q in zip(steps, steps[1:]):
            assert p.black <= q.black and q.white <= p.white
        assert set(last.black) == real_mark(r, g)
        assert set(last.black) == g.reachable()
        # garbage is white: the 2-cycle, and the finalizer object itself (revived by sweep)
        assert len(last.white) == 3
        assert g.label(live["a"].addr) == "a"


def test_gc_steps_black_set_survives_a_real_gc():
    with rt.Runtime() as r:
        a, b = rt.new(Node), rt.new(Node)
        a.next = b
        junk = [rt.new(Node) for _ in range(20)]
        for x, y in zip(junk, junk[1:]):
            x.next = y
        del junk, b
        steps = list(plot.gc_steps(r))
        black = steps[-1].black
        rt.GC()
        g = plot.heap_graph(r)
        assert set(g.objects) == set(black)
        del a


def test_plot_tricolour_png():
    with rt.Runtime() as r:
        live = build_graph()
        del live["bigscan"]                    # keep the picture small
        steps = list(plot.gc_steps(r, labels=live))
        for step in (steps[0], steps[len(steps) // 2], steps[-1]):
            render(lambda ax, step=step: plot.plot_tricolour(step, ax=ax))
        h = steps[1]._repr_html_()
        assert "gr-obj gr-black" in h and "<script" not in h


def test_gc_steps_refuses_big_heaps():
    with rt.Runtime() as r:
        keep = [rt.new(Node) for _ in range(50)]
        with pytest.raises(ValueError, match="small heaps"):
            list(plot.gc_steps(r, max_objects=10))
        del keep


def test_missing_matplotlib_names_the_extra(monkeypatch):
    import builtins
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ImportError("No module named 'matplotlib'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ImportError, match=r"pip install goruntime\[plot\]"):
        plot.plot_pauses([1, 2, 3])


def test_recorder_sees_the_gcs_of_a_cython_workload():
    workloads = pytest.importorskip("goruntime.workloads")
    with rt.Runtime(gogc=50) as r, plot.Recorder(r) as rec:
        out = workloads.binary_trees(12)
    assert out["num_gc"] >= 3
    assert len(rec.gcs) == r.gc_record.num_gc == out["num_gc"]
    assert rec.peak_heap_inuse >= max(g.before.heap_inuse for g in rec.gcs)
    render(lambda ax: plot.plot_heap(rec, ax=ax))


# -- what the pictures say (issue 21, item 7) ---------------------------------------------

def _texts(ax):
    return [t.get_text() for t in ax.texts]


def test_heap_plot_explains_why_each_gc_sits_left_of_the_drop(recorded):
    r, rec = recorded
    ax = Figure().subplots()
    plot.plot_heap(rec, ax=ax)
    labels = ax.get_legend_handles_labels()[1]
    assert "a GC starts (trigger)" in labels
    runway = [g for g in rec.gcs if g.after.alloc_bytes > g.before.alloc_bytes]
    assert runway, "a heap-triggered GC of this workload has a mark runway"
    assert any(l.startswith("GC marking; the program still") for l in labels)
    assert ax.get_title().endswith(f"{len(rec.gcs)} GCs")
    ax = Figure().subplots()
    plot.plot_heap(rec, ax=ax, x="time")
    assert ax.get_xlabel() == "time (ms, runtime clock: modelled)"


def test_heap_panels_share_axes_and_one_legend():
    recs = []
    for gogc in (50, 400):
        with rt.Runtime(gogc=gogc) as r, plot.Recorder(r) as rec:
            keep = churn(12000)
        recs.append(rec)
        del keep
    fig = plot.plot_heaps(recs, titles=["GOGC=50", "GOGC=400"])
    axes = fig.axes
    assert len(axes) == 2 and axes[0].get_ylim() == axes[1].get_ylim()
    top = max(max(s.heap_live, s.goal) for rec in recs for s in rec.samples) / 2**20
    assert axes[0].get_ylim()[1] >= top                 # the taller run fits
    assert all(ax.get_legend() is None for ax in axes) and len(fig.legends) == 1
    assert [ax.get_title() for ax in axes] == [f"GOGC=50: {len(recs[0].gcs)} GCs",
                                               f"GOGC=400: {len(recs[1].gcs)} GCs"]
    with pytest.raises(ValueError, match="1 titles for 2 recorders"):
        plot.plot_heaps(recs, titles=["x"])


def test_pause_histogram_counts_whole_cycles(recorded):
    r, rec = recorded
    ax = Figure().subplots()
    plot.plot_pauses(rec, ax=ax)
    assert ax.get_xlabel() == "pause (µs, modelled)"
    assert all(float(t).is_integer() for t in ax.get_yticks())
    heights = [p.get_height() for p in ax.patches]
    assert sum(heights) == len(rec.gcs)                 # every cycle once
    pauses = [g.pause_ns for g in rec.gcs]
    assert len(set(pauses)) > 1                         # a pause costs its work: they differ
    ax = Figure().subplots()
    plot.plot_pauses([1000, 2000, 2500, 35000, 36000, 40000], ax=ax, bins=20)
    assert ax.get_xlabel() == "pause (µs)"              # plain numbers: no claim either way
    assert 1 < len(ax.patches) <= 4 and sum(p.get_height() for p in ax.patches) == 6
    assert all(float(t).is_integer() for t in ax.get_yticks())
    ax = Figure().subplots()
    plot.plot_pauses([5000], ax=ax)
    assert ax.get_title() == "GC pauses (1 cycle)"
    with rt.Runtime(clock="wall") as w:
        rt.GC()
        rt.GC()
        ax = Figure().subplots()
        plot.plot_pauses(w, ax=ax)
        assert ax.get_xlabel() == "pause (µs, measured on the emulator)"


def test_by_size_uses_a_log_scale_when_one_class_dominates():
    with rt.Runtime():
        many = [rt.new(rt.Struct("BS1", p=rt.Ptr(rt.Int))) for _ in range(20000)]
        few = [rt.new(rt.Array(rt.Int64, 100)) for _ in range(12)]
        m = rt.ReadMemStats()
    ax = Figure().subplots()
    plot.plot_by_size(m, ax=ax)
    assert ax.get_yscale() == "log" and ax.get_ylabel() == "objects (log scale)"
    labels = {t.get_text() for t in ax.texts}
    assert {"20,000", "12"} <= labels                    # every bar says its count
    ax = Figure().subplots()
    plot.plot_by_size(m, ax=ax, log=False)
    assert ax.get_yscale() == "linear" and ax.get_ylabel() == "objects"
    with rt.Runtime():
        even = [rt.new(rt.Struct("BS2", p=rt.Ptr(rt.Int))) for _ in range(50)]
        m2 = rt.ReadMemStats()
    ax = Figure().subplots()
    plot.plot_by_size(m2, ax=ax)
    assert ax.get_yscale() == "linear"
    del many, few, even


def test_tricolour_has_a_legend_and_a_finalizer_ring():
    with rt.Runtime() as r:
        live = build_graph()
        del live["bigscan"]
        steps = list(plot.gc_steps(r, labels=live))
        assert steps[0].graph.scan_only, "build_graph has an object with a finalizer"
        ax = Figure().subplots()
        plot.plot_tricolour(steps[0], ax=ax)
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert labels[:3] == ["white: not reached", "grey: reached, to scan", "black: scanned"]
        assert "has a finalizer (dashed ring)" in labels
        assert not any("ƒ" in t for t in _texts(ax))     # no glyph that reads as "ff"
        fig = Figure()
        for ax in fig.subplots(1, 2):
            plot.plot_tricolour(steps[-1], ax=ax, legend=False)
            assert ax.get_legend() is None
        leg = plot.tricolour_legend(fig)
        assert len(leg.get_texts()) == 6
