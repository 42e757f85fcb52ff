"""``python -m goruntime``: demo, run, sizeclass, and one-line errors with exit status 2."""
import io
import json
import re
import subprocess
import sys

import pytest

from goruntime import cli


def run_cli(*argv):
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


# -- demo -------------------------------------------------------------------------------

def test_demo_runs_as_a_module_and_tells_the_story():
    p = subprocess.run([sys.executable, "-m", "goruntime", "demo"], capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    out = p.stdout
    # the steps, in order
    steps = ["ReadMemStats", "new(Node)", "SetFinalizer(a, fin)", "a = nil; runtime.GC()",
             "runtime.Gosched()", "resurrection", "saved = nil; GC()", "A.next = B"]
    pos = [out.index(s) for s in steps]
    assert pos == sorted(pos)
    # with the emulator's real numbers
    assert re.search(r"Alloc=0 B, Mallocs=0, NumGC=0", out)
    assert re.search(r"one object at 0xc0000[0-9a-f]+: Alloc 0 B -> 16 B, Mallocs 0 -> 1", out)
    # Go 1.27.3 with one P runs it before runtime.GC returns (its sweep yields between
    # spans): tests/oracle scenario fin_runs_before_gc_returns
    assert ("NumGC 0 -> 1: unreachable, so the finalizer is queued and the object revived: "
            "HeapObjects=2, Alloc=32 B; 1 finalizer call already") in out
    # runfinq's frame (16 B, allocated at the first finalizer call, kept): oracle fid7_fin_rearm
    assert "The other 16 B is the finalizer goroutine's call frame" in out
    assert re.search(r"the finalizer ran on goroutine \d+ \(finalizer\), after GC 1: "
                     r"fin\(&Node\{id: 7\}\)", out)
    assert "no finalizer left, so it is freed now: Alloc 32 B -> 16 B, Frees 0 -> 1" in out
    assert "finalizer calls 1 -> 1" in out             # resurrected object freed silently
    assert re.search(r"GC 5: only A's finalizer ran \(A\)", out)
    assert re.search(r"GC 6: A freed, now B is unreachable: B's finalizer ran \(B\)", out)
    assert re.search(r"GC 7: B freed, no finalizer ran \(none\): HeapObjects=1", out)
    assert re.search(r"after: +Alloc=16 B, TotalAlloc=80 B, Mallocs=5, Frees=4, NumGC=7", out)
    assert "Times are modelled, not measured: the virtual clock" in out


def test_demo_transcript_facts():
    from goruntime import tutorial
    t = tutorial.run(out=None)
    assert t.facts["runs_after_gc1"] == 1                   # ran in runtime.GC's sweep, as in Go
    assert t.facts["finalized_id"] == 7
    assert t.facts["resurrected"] is True
    assert [name for name, _gc, _g in t.finalizer_runs] == ["a", "b", "A", "B"]
    assert [gc for name, gc, _g in t.finalizer_runs if name in "AB"] == [5, 6]
    assert all("finalizer" in g for _n, _gc, g in t.finalizer_runs)
    assert t.facts["chain"] == [(5, ["A"], 3), (6, ["B"], 2), (7, [], 1)]   # with runfinq's frame


# -- sizeclass --------------------------------------------------------------------------

def test_sizeclass_1024_pointers():
    code, out, err = run_cli("sizeclass", "1024", "--pointers")
    assert code == 0 and err == ""
    assert re.search(r"size class\s+33\b", out)
    assert re.search(r"slot size\s+1,152 bytes", out)
    assert re.search(r"header\s+yes", out)
    assert re.search(r"7 objects per span", out)


@pytest.mark.parametrize("argv, expect", [
    (["sizeclass", "1024"], [r"size class\s+32\b", r"header\s+no", r"8 objects per span"]),
    (["sizeclass", "8"], [r"tiny", r"size class\s+2\b", r"504 objects per span"]),
    (["sizeclass", "16", "--pointers"], [r"size class\s+2\b", r"496 objects per span"]),
    (["sizeclass", "0"], [r"zero-size", r"zerobase"]),
    (["sizeclass", "40000", "--pointers"], [r"large", r"40,960 bytes", r"5 pages"]),
    (["sizeclass", "32760", "--pointers"], [r"size class\s+67\b", r"header\s+yes"]),
    (["sizeclass", "512", "--pointers"], [r"size class\s+26\b", r"header\s+no"]),
])
def test_sizeclass_kinds(argv, expect):
    code, out, _ = run_cli(*argv)
    assert code == 0
    for pat in expect:
        assert re.search(pat, out), (pat, out)


# -- errors: one line on stderr, exit status 2 -------------------------------------------

def test_no_arguments_print_the_usage_and_exit_2():
    code, out, err = run_cli()
    assert code == 2 and out == ""
    assert err.startswith("usage: goruntime")
    for command in ("demo", "run", "sizeclass"):
        assert re.search(rf"^\s+{command}\b", err, re.M), command


@pytest.mark.parametrize("argv, needle", [
    (["sizeclass"], "required"),
    (["sizeclass", str(2**64)], "more than Go can allocate"),
    (["sizeclass", str((1 << 48) + 1), "--pointers"], "maxAlloc = 1<<48"),
    (["run", "linked_list", str(2**63)], "more than the largest int64"),
    (["run", "binary_trees", "41"], "max_depth must be at most 40, not 41"),
    (["run", "linked_list", "10", "--gogc", str(2**31)], "more than the largest int32"),
    (["run", "linked_list", "10", "--gomaxprocs", "0"], "gomaxprocs"),
    (["run", "random_graph", "10", "--degree", "9"], "degree must be in 0..4"),
    (["run", "linked_list", "10", "--plot", "heap.txt"], ".txt is not an image format"),
    (["run", "linked_list", "10", "--plot", "heap"], "no file extension"),
    (["run", "linked_list", "10", "--plot", "no/such/dir/heap.png"], "no such directory no/such/dir"),
    (["sizeclass", "abc"], "invalid size"),
    (["sizeclass", "-5"], "invalid size"),
    (["frobnicate"], "invalid choice"),
    (["run", "nosuch"], "unknown workload 'nosuch'"),
    (["run", "linked_list", "10", "--memory-limit", "12XB"], "malformed GOMEMLIMIT"),
    (["run", "linked_list", "10", "--memory-limit", "64MB"], "malformed GOMEMLIMIT"),
    (["run", "linked_list", "10", "--memory-limit", "8MB"], "unit B, KiB, MiB, GiB or TiB, e.g. 64MiB"),
    (["run", "linked_list", "10", "--gogc", "lots"], "invalid GOGC"),
])
def test_bad_arguments_exit_2_with_one_line(argv, needle):
    if any(a.startswith("--plot") for a in argv):
        pytest.importorskip("matplotlib")
    code, out, err = run_cli(*argv)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("goruntime: error: ")
    assert needle in err


def test_bad_arguments_from_the_shell():
    p = subprocess.run([sys.executable, "-m", "goruntime", "run", "nosuch"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2
    assert p.stderr.strip().count("\n") == 0 and "unknown workload" in p.stderr
    assert p.stdout == ""


# -- run (for real, once goruntime.workloads exists) --------------------------------------

def test_run_linked_list_summary():
    pytest.importorskip("goruntime.workloads")
    code, out, err = run_cli("run", "linked_list", "300000", "--gogc", "50")
    assert code == 0, err
    for key in ("NumGC", "total pause", "max pause", "peak HeapInuse", "GC CPU fraction"):
        assert re.search(rf"^{re.escape(key)}\s+\S", out, re.M), key
    numgc = int(re.search(r"^NumGC\s+(\d+)", out, re.M).group(1))
    assert numgc >= 1
    assert re.search(r"^GOGC\s+50$", out, re.M)


def test_run_json_and_memory_limit():
    pytest.importorskip("goruntime.workloads")
    code, out, err = run_cli("run", "binary-trees", "12", "--memory-limit", "8MiB", "--json")
    assert code == 0, err
    stats = json.loads(out)
    assert stats["workload"] == "binary_trees" and stats["memory_limit"] == 8 << 20
    assert stats["num_gc"] >= 1 and stats["peak_heap_inuse"] > 0
    assert 0 < stats["gc_cpu_fraction"] < 1
    assert stats["pause_max_ns"] > 0 and stats["pause_total_ns"] >= stats["pause_max_ns"]


def test_run_gctrace_and_plot(tmp_path):
    pytest.importorskip("goruntime.workloads")
    pytest.importorskip("matplotlib")
    png = tmp_path / "heap.png"
    p = subprocess.run([sys.executable, "-m", "goruntime", "run", "random_graph", "400000",
                        "--gctrace", "--plot", str(png)], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, p.stderr
    lines = [l for l in p.stderr.splitlines() if l.startswith("gc ")]
    assert lines and re.match(r"gc 1 @\d+\.\d{3}s \d+%: ", lines[0])
    assert png.stat().st_size > 5000
    numgc = int(re.search(r"^NumGC\s+(\d+)", p.stdout, re.M).group(1))
    assert numgc == len(lines)


def test_run_every_workload_small():
    pytest.importorskip("goruntime.workloads")
    for name, n in (("binary_trees", 8), ("gcbench", 8), ("linked_list", 1000), ("random_graph", 1000)):
        code, out, err = run_cli("run", name, str(n))
        assert code == 0, (name, err)
        assert re.search(rf"^workload\s+{name}\({n:,}\)", out, re.M)


def test_plot_path_is_checked_before_the_workload_runs(monkeypatch, tmp_path):
    pytest.importorskip("matplotlib")

    def must_not_run(*a, **k):
        raise AssertionError("the workload ran before the --plot path was checked")
    monkeypatch.setattr(cli, "run_workload", must_not_run)
    for bad in (tmp_path / "nodir" / "x.png", tmp_path / "x.txt"):
        code, out, err = run_cli("run", "linked_list", "1000", "--plot", str(bad))
        assert code == 2 and out == "" and err.count("\n") == 1, err


def test_binary_trees_is_labelled_with_the_depth_it_ran():
    pytest.importorskip("goruntime.workloads")
    code, out, err = run_cli("run", "binary_trees", "0")
    assert code == 0, err
    assert re.search(r"^workload\s+binary_trees\(6\)\s+\[N = max depth; N=0 asked, Go's program "
                     r"uses at least 6\]", out, re.M)
    code, out, err = run_cli("run", "binary_trees", "7", "--json")
    stats = json.loads(out)
    assert (stats["n"], stats["n_run"]) == (7, 7)


def test_counts_are_pluralised():
    _, out, _ = run_cli("sizeclass", "8000", "--pointers")
    assert re.search(r"1 page \(8,192 bytes\), 1 object per span", out)
    _, out, _ = run_cli("sizeclass", "8193")
    assert "objects per span" in out and "1 objects" not in out
    _, out, _ = run_cli("sizeclass", "40000")
    assert "5 pages of 8 KiB" in out
    assert "1 pages" not in out


def test_run_says_its_times_are_modelled():
    pytest.importorskip("goruntime.workloads")
    code, out, err = run_cli("run", "linked_list", "200000")
    assert code == 0, err
    for key in ("total pause", "max pause", "GC CPU fraction"):
        assert re.search(rf"^{key}\s+.*, modelled$", out, re.M), key
    assert re.search(r"^note\s+Times are modelled, not measured: the virtual clock", out, re.M)
    code, out, err = run_cli("run", "linked_list", "200000", "--clock", "wall", "--json")
    assert json.loads(out)["clock"] == "wall"
    code, out, err = run_cli("run", "linked_list", "200000", "--clock", "wall")
    assert re.search(r"^GC CPU fraction\s+.*, measured on the emulator$", out, re.M)
