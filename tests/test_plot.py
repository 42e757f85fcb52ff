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
                with plot.Recorder(r, sample_every=100):
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
        render(lambda ax: plot.plot_pauses(source, ax=ax))
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
            render(lambda ax: plot.plot_tricolour(step, ax=ax))
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
