"""A SIGINT at any line of the public API leaves nothing held (issue 13, B77 onward).

B76 was a ``with lock:`` block whose exit a signal handler cut: KeyboardInterrupt before
``__exit__``, the lock held for good. This sweeps the calls other than GC (allocation,
SetFinalizer/AddCleanup, weak pointers, maps, append, strings, goroutines, channels,
sync.Pool, metrics, the debug knobs, heap dump load, trace replay, Runtime close) with a
real SIGINT sent at their k-th traced line (`gocheck.line_sweep`); after each interrupted
call: no lock goruntime takes is left held (probed from another thread), no signal
handler is left swapped and no signal blocked, the collector's flags are clear, the heap
verifies (checkmark GC, spec 2.3's invariants) and the runtime still works. ``make test``
samples ~12 lines of each call; ``-m slow`` runs every line.
"""
import gzip
import pathlib
import signal
import sys
import threading
import time

import numpy as np
import pytest

import goruntime as rt
from goruntime import _signals, debug, heapdump, metrics, weak
from goruntime import runtime as runtime_mod
from goruntime import sched as sched_mod
from goruntime import types as types_mod
from gocheck import check_invariants, line_sweep, wait_for

PKG = str(pathlib.Path(rt.__file__).parent)
DATA = pathlib.Path(__file__).parent / "data"
Node = rt.Struct("SweepNodeT", x=rt.Int, next=rt.Ptr("SweepNodeT"), v=rt.Any)


def _module_locks():
    return [("metrics._metrics_sema", metrics._metrics_sema),
            ("heapdump._PAGES_LOCK", heapdump._PAGES_LOCK),
            ("sched._graveyard_lock", sched_mod._graveyard_lock),
            ("sched._default_lock", sched_mod._default_lock),
            ("runtime._default_lock", runtime_mod._default_lock),
            ("types._registry_lock", types_mod._registry_lock),
            ("types._layout_lock", types_mod._layout_lock)]


def _runtime_locks(r):
    locks = [("Runtime.world", r.world)]
    lk = getattr(r.clock, "_lock", None)
    if lk is not None:
        locks.append(("clock._lock", lk))
    if r.sched.mode == "threads":
        locks += [("sched._lock", r.sched._lock), ("sched._tick_lock", r.sched._tick_lock)]
    return locks


def assert_nothing_held(r, where):
    """Every lock free (another thread takes each), no handler swapped, no signal blocked,
    the collector's flags clear."""
    locks = _module_locks() + ([] if r is None else _runtime_locks(r))
    got = {}

    def probe():
        for name, lk in locks:
            ok = lk.acquire(timeout=5)
            if ok:
                lk.release()
            got[name] = ok
    t = threading.Thread(target=probe, daemon=True)
    t.start()
    t.join(120)
    held = [n for n, ok in got.items() if not ok]
    assert len(got) == len(locks) and not held, f"{where}: left held: {held}"
    assert _signals._swapped is None and not _signals._held and not _signals._recorded, \
        (where, _signals._swapped, _signals._held, _signals._recorded)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler, where
    assert signal.SIGINT not in signal.pthread_sigmask(signal.SIG_BLOCK, []), where
    if r is not None and not r._closed:
        c = r.collector
        assert not c.in_gc and c.locks == 0 and c._delivering is None, \
            (where, c.in_gc, c.locks, c._delivering)


def _traced(run, call, *args):
    """Run ``call(*args)`` under the sweep's tracer; 1 if a KeyboardInterrupt left it."""
    try:
        with run.traced():
            call(*args)
    except KeyboardInterrupt:
        return 1
    return 0


def _land(r=None):
    """A signal deferred past the call lands here (or a goroutine's KeyboardInterrupt, at
    main's next scheduling point); 1 if a KeyboardInterrupt did."""
    try:
        time.sleep(0)
        if r is not None and not r._closed and r.dead is None:
            rt.Gosched()
    except KeyboardInterrupt:
        return 1
    return 0


def _usable(where):
    """The current runtime verifies and still works: two checkmark GCs, the invariants, a
    new object, a goroutine, metrics."""
    keep = rt.new(Node)
    keep.x = 7
    ran = []
    rt.go(ran.append, 1)
    for _ in range(2):
        rt.GC()
        rt.Gosched()
    wait_for(rt.current(), lambda: ran, f"a goroutine after {where}")   # threads: a moment
    assert keep.x == 7 and ran == [1], where
    check_invariants(rt.ReadMemStats())
    s = [metrics.Sample("/gc/cycles/total:gc-cycles")]
    metrics.Read(s)
    assert s[0].Value.Uint64() >= 2, where


# ---- the calls swept: name -> (setup(r) -> state, call(state)) -----------------------
def _fill(n=8):
    head = None
    for i in range(n):
        p = rt.new(Node)
        p.x = i
        p.next = head
        head = p
    return head


def _finalizer_state(r):
    return {"p": rt.new(Node), "ran": []}


def _cleanup_state(r):
    p = rt.new(Node)
    return {"p": p, "c": rt.AddCleanup(p, lambda a: None, 1)}


CALLS = {
    "new": (lambda r: {"keep": _fill()}, lambda s: s.__setitem__("n", rt.new(Node))),
    "make": (lambda r: {}, lambda s: s.__setitem__("n", rt.make(rt.Slice(rt.Ptr(Node)), 40, 64))),
    "append": (lambda r: {"s": rt.make(rt.Slice(rt.Int), 3)},
               lambda s: s.__setitem__("s", rt.append(s["s"], 1, 2, 3, 4, 5))),
    "string": (lambda r: {"b": rt.bytes("hello")},
               lambda s: s.__setitem__("x", rt.concat("abc", rt.string(s["b"]), "d"))),
    "box": (lambda r: {"p": rt.new(Node)},
            lambda s: setattr(s["p"], "v", rt.value(rt.Ptr(Node), rt.new(Node)))),
    "SetFinalizer": (_finalizer_state,
                     lambda s: rt.SetFinalizer(s["p"], lambda o, ran=s["ran"]: ran.append(1))),
    "AddCleanup": (lambda r: {"p": rt.new(Node)},
                   lambda s: s.__setitem__("c", rt.AddCleanup(s["p"], lambda a: None, 2))),
    "Cleanup.Stop": (_cleanup_state, lambda s: s["c"].Stop()),
    "weak.Make": (lambda r: {"p": rt.new(Node)},
                  lambda s: s.__setitem__("w", weak.Make(s["p"]))),
    "map": (lambda r: {"m": rt.make(rt.Map(rt.Int, rt.Int))},
            lambda s: [s["m"].__setitem__(i, i) for i in range(9)]),
    "go+Gosched": (lambda r: {"ran": []},
                   lambda s: (rt.go(s["ran"].append, 1), rt.Gosched())),
    "chan": (lambda r: {"c": rt.Chan(2)}, lambda s: (s["c"].send(1), s["c"].recv())),
    "Pool": (lambda r: {"pool": rt.Pool(New=lambda: rt.new(Node))},
             lambda s: s["pool"].Put(s["pool"].Get())),
    "ReadMemStats": (lambda r: {}, lambda s: rt.ReadMemStats()),
    "metrics.Read": (lambda r: {}, lambda s: metrics.Read(
        [metrics.Sample("/gc/heap/goal:bytes"), metrics.Sample("/gc/pauses:seconds")])),
    "debug knobs": (lambda r: {}, lambda s: (debug.SetGCPercent(150), debug.SetMemoryLimit(1 << 40),
                                              debug.FreeOSMemory())),
    "close": (lambda r: {"keep": _fill()}, lambda s: rt.current().close()),
}


def _sweep(name, mode, step):
    setup, call = CALLS[name]

    def case(run):
        where = (name, mode, run.k)
        with rt.Runtime(godebug="gccheckmark=1", arena_cap=64 << 20, scheduler=mode) as r:
            state = setup(r)
            raised = _traced(run, call, state)
            raised += _land(r)
            if run.counting:
                return
            assert raised == run.reached, (where, "a Ctrl-C was lost" if run.reached else raised)
            assert_nothing_held(r, where)
            if not r._closed:
                if name == "SetFinalizer":          # recorded: runs once; else never
                    recorded = len(r.specials.finalizers)
                    del state["p"]
                    for _ in range(3):
                        rt.GC()
                        rt.Gosched()
                    if recorded:                    # threads: its goroutine takes a moment
                        wait_for(r, lambda: state["ran"], f"the finalizer at {where}")
                    assert state["ran"] == [1] * recorded, where
                state.clear()
                _usable(where)
        assert_nothing_held(None, where)
    return line_sweep(case, where=PKG, only=_not_del, action="SIGINT", step=step, min_lines=3)


def _not_del(frame):
    """Not in a ``__del__``: CPython reports an exception raised there as unraisable and
    drops it, so a Ctrl-C whose handler runs in one is lost whatever the code does."""
    return frame.f_code.co_name != "__del__"


def _step(full):
    return 1 if full else (lambda n: max(1, n // 12))


@pytest.mark.parametrize("name", sorted(CALLS))
def test_b77_sigint_at_any_line_of_an_api_call_leaves_nothing_held(name):
    _sweep(name, "cooperative", _step(False))


@pytest.mark.threads
@pytest.mark.parametrize("name", ["new", "go+Gosched", "chan", "SetFinalizer", "close"])
def test_b77_sigint_at_any_line_of_an_api_call_threads(name):
    _sweep(name, "threads", _step(False))


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["cooperative"])
@pytest.mark.parametrize("name", sorted(CALLS))
def test_b77_sigint_at_every_line_of_an_api_call(name, mode):
    _sweep(name, mode, _step(True))


# ---- loaders and the runtime's life: no runtime to enter around the call -------------
def _loader_sweep(call, check, step):
    def case(run):
        raised = _traced(run, call) + _land()
        if run.counting:
            return
        assert raised == run.reached, (run.k, "a Ctrl-C was lost" if run.reached else raised)
        assert_nothing_held(None, run.k)
        check()
    return line_sweep(case, where=PKG, only=_not_del, action="SIGINT", step=step, min_lines=3)


@pytest.mark.parametrize("full", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_b77_sigint_in_a_heap_dump_load_leaves_nothing_held(full):
    raw = np.frombuffer(gzip.decompress((DATA / "heapdump_list20.dump.gz").read_bytes()),
                        np.uint8)
    want = heapdump.HeapDump(raw, build_runtime=False)
    n = len(want.roots)

    def check():
        d = heapdump.HeapDump(raw)              # a later load works, whole
        assert len(d.roots) == n
        d.runtime.close()
    _loader_sweep(lambda: heapdump.HeapDump(raw).runtime.close(), check,
                  1 if full else (lambda n: max(1, n // 15)))


@pytest.mark.parametrize("full", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_b77_sigint_in_a_trace_replay_leaves_nothing_held(full):
    from goruntime import trace
    tr = trace.load(DATA / "trace" / "short.trace")
    want = trace.replay(tr)

    def check():
        assert trace.replay(tr) == want
    _loader_sweep(lambda: trace.replay(tr), check, 1 if full else (lambda n: max(1, n // 15)))


@pytest.mark.parametrize("full", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_b77_sigint_in_a_runtime_s_creation_leaves_nothing_held(full):
    made = []

    def make():
        made.append(rt.Runtime(godebug="gccheckmark=1", arena_cap=64 << 20))

    def check():
        while made:
            made.pop().close()
        with rt.Runtime(arena_cap=64 << 20):
            _usable("after")
    _loader_sweep(make, check, 1 if full else (lambda n: max(1, n // 15)))


# ---- loaders: truncated and mutated inputs raise ValueError naming the offset ----------
def _dump_bytes():
    return gzip.decompress((DATA / "heapdump_list20.dump.gz").read_bytes())


def _expect_value_error(fn, data, what):
    try:
        fn(data)
    except ValueError as e:
        assert what in str(e), (len(data), str(e))
        return False
    return True


@pytest.mark.parametrize("which", ["dump", "trace"])
def test_every_truncation_of_a_dump_or_trace_is_a_value_error(which):
    """Every prefix of a real file (every byte of the first 256, every 7th after) is a
    ValueError naming the offset, or loads; never another exception."""
    from goruntime import trace
    if which == "dump":
        raw = _dump_bytes()

        def load(b):
            return heapdump.HeapDump(np.frombuffer(b, np.uint8), build_runtime=False)
        what = "offset"
    else:
        raw = (DATA / "trace" / "short.trace").read_bytes()
        load, what = trace.parse, "offset"
    cuts = sorted(set(range(0, min(256, len(raw)))) | set(range(256, len(raw), 7)))
    for n in cuts:
        _expect_value_error(load, raw[:n], what if n >= 16 else "")


# ---- copies and pickles of every public object -----------------------------------------
def _public_objects(r):
    """(name, object) for every kind of object the public API hands out."""
    from goruntime import trace
    p = rt.new(Node)
    p.x = 5
    s = rt.make(rt.Slice(rt.Int), 3, 8)
    m = rt.make(rt.Map(rt.Int, rt.Int))
    m[1] = 2
    ch = rt.Chan(2)
    hch = rt.make(rt.ChanType(rt.Int), 2)
    wg = rt.WaitGroup()
    pool = rt.Pool()
    c = rt.AddCleanup(p, lambda a: None, 1)
    stats = [metrics.Sample("/gc/heap/goal:bytes")]
    metrics.Read(stats)
    tr = trace.load(DATA / "trace" / "short.trace")
    d = heapdump.HeapDump(np.frombuffer(_dump_bytes(), np.uint8), build_runtime=False)
    out = [("Pointer", p), ("SliceValue", s), ("MapValue", m), ("Chan", ch), ("heap chan", hch),
           ("WaitGroup", wg), ("Pool", pool), ("Cleanup", c), ("weak.Pointer", weak.Make(p)),
           ("StringValue", rt.string(rt.bytes("xy"))), ("Value", rt.value(rt.Int, 3)),
           ("FuncValue", rt.closure(lambda a: a, 1)), ("MemStats", rt.ReadMemStats()),
           ("metrics.Sample", stats[0]), ("GCStats", debug.GCStats()), ("Heap", r.heap),
           ("Scheduler", r.sched), ("Goroutine", rt.go(lambda: None)), ("Trace", tr),
           ("Prepared", trace.prepare(tr)), ("HeapDump", d), ("Runtime", r),
           ("clock", r.clock), ("Collector", r.collector), ("Type", Node)]
    return out


@pytest.mark.parametrize("how", ["copy", "deepcopy", "pickle"])
def test_b79_copies_and_pickles_of_every_public_object(how):
    """Each copy, deep copy or pickle round trip gives an object that works on its own or
    raises TypeError; never a crash, never a second owner of one heap's memory or roots:
    after the copies are dropped the runtime verifies and its objects are intact."""
    import copy
    import pickle
    fn = {"copy": copy.copy, "deepcopy": copy.deepcopy,
          "pickle": lambda o: pickle.loads(pickle.dumps(o))}[how]
    with rt.Runtime(godebug="gccheckmark=1", arena_cap=64 << 20) as r:
        objs = _public_objects(r)
        got = []
        for name, o in objs:
            try:
                got.append((name, fn(o)))
            except TypeError:
                continue
            except Exception as e:          # noqa: BLE001 - what the test is about
                pytest.fail(f"{how} of {name} raised {type(e).__name__}: {e}")
        for _name, c in got:
            repr(c)
        del got
        import gc as pygc
        pygc.collect()
        for _ in range(2):
            rt.GC()
            rt.Gosched()
        check_invariants(rt.ReadMemStats())
        p = objs[0][1]
        assert p.x == 5
        assert_nothing_held(r, how)
    import gc as pygc
    pygc.collect()


# ---- the binary's readers: crafted section tables ---------------------------------------
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

_WORDS = st.one_of(st.integers(0, 300), st.sampled_from([2 ** 16 - 1, 2 ** 31, 2 ** 32 - 1,
                                                         2 ** 63, 2 ** 64 - 1]))


def _binary_readers(path):
    from goruntime.heapdump import _dwarf, _elf, _pclntab
    for fn in (_dwarf.elf_sections, _elf.Symbols, _dwarf.Program, _pclntab.Pclntab):
        try:
            fn(path)
        except ValueError:
            pass


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(edits=st.lists(st.tuples(st.sampled_from(["shoff", "shnum", "shstrndx", "sec"]),
                                st.integers(0, 5), st.integers(0, 9), _WORDS), max_size=4),
       cut=st.one_of(st.none(), st.integers(0, 600)))
def test_b78_crafted_section_tables_are_value_errors(tmp_path_factory, edits, cut):
    """ELF headers and section tables with any field at its edge (no section headers, a
    name table out of range, offsets and sizes near 2**64, links past the table), and any
    truncation: each of the binary's readers returns or raises ValueError."""
    import struct
    from test_safety import _elf
    raw = bytearray(_elf([(".symtab", 2, 0, bytes(48)), (".strtab", 3, 0, b"\0x\0"),
                          (".debug_info", 1, 0, bytes(16)), (".gopclntab", 1, 0, bytes(64))]))
    shoff = int.from_bytes(raw[0x28:0x30], "little")
    fields = [(0, "<I"), (4, "<I"), (8, "<Q"), (24, "<Q"), (32, "<Q"), (40, "<I"), (44, "<I"),
              (48, "<Q"), (56, "<Q"), (4, "<I")]
    for what, sec, field, v in edits:
        if what == "shoff":
            struct.pack_into("<Q", raw, 0x28, v)
        elif what == "shnum":
            struct.pack_into("<H", raw, 0x3C, v & 0xFFFF)
        elif what == "shstrndx":
            struct.pack_into("<H", raw, 0x3E, v & 0xFFFF)
        elif shoff + 64 * (sec + 1) <= len(raw):
            at, fmt = fields[field]
            struct.pack_into(fmt, raw, shoff + 64 * sec + at, v & ((1 << (8 * struct.calcsize(fmt))) - 1))
    if cut is not None:
        del raw[cut:]
    f = tmp_path_factory.mktemp("elf") / "bin"
    f.write_bytes(bytes(raw))
    _binary_readers(f)


def test_b78_an_elf_with_no_section_headers():
    """`elf_sections` indexed the name table of an empty section table: IndexError."""
    import struct
    from test_safety import _elf
    from goruntime.heapdump import _dwarf
    raw = bytearray(_elf([(".strtab", 3, 0, b"\0x\0")]))
    struct.pack_into("<HH", raw, 0x3C, 0, 0)                # e_shnum = e_shstrndx = 0
    raw[0x28:0x30] = bytes(8)                               # e_shoff = 0
    f = pathlib.Path(__import__("tempfile").mkdtemp()) / "bin"
    f.write_bytes(bytes(raw))
    assert _dwarf.elf_sections(f) == ({}, {})               # Go: a file with no sections
    with pytest.raises(_dwarf.NoDwarf):
        _dwarf.Program(f)
    _binary_readers(f)


# ---- traces: batch headers and sync values at their edges --------------------------------
def _uv(v):
    from test_safety import _uleb                # a uvarint is a ULEB128
    return _uleb(v)


def _reframe(raw, edit):
    """*raw* (a trace) with every batch header re-encoded, its values passed through
    ``edit(i, kind, exp, gen, m, time, data) -> (gen, m, time, data)``."""
    from goruntime.trace import _parse, spec
    buf = np.frombuffer(raw, np.uint8)
    code, _, rows = _parse.scan_batches(buf, len(spec.HEADER))
    assert code == 0
    out = bytearray(spec.HEADER)
    for i, (hoff, kind, exp, gen, m, t, doff, size) in enumerate(rows):
        if kind == 2:
            out += raw[hoff:hoff + 1]
            continue
        gen, m, t, data = edit(i, kind, exp, gen, m, t, bytes(raw[doff:doff + size]))
        out += raw[hoff:hoff + (2 if kind == 1 else 1)] + _uv(gen) + _uv(m) + _uv(t) \
            + _uv(len(data)) + data
    return bytes(out)


_BIG = st.sampled_from([0, 1, 2 ** 32, 2 ** 53 + 1, 2 ** 62, 2 ** 63 - 1, 2 ** 63, 2 ** 64 - 1])


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(which=st.integers(0, 200), gen=st.one_of(st.none(), _BIG), m=st.one_of(st.none(), _BIG),
       t=st.one_of(st.none(), _BIG), freq=st.one_of(st.none(), _BIG))
def test_b78_batch_headers_at_their_edges_are_value_errors(which, gen, m, t, freq):
    """A batch's generation, M and time and the generation's frequency anywhere in uint64
    (a time of 2**63 ticks at 1 ns each, a frequency of one tick per second): the trace
    parses or raises ValueError naming the offset."""
    from goruntime import trace
    from goruntime.trace import reader
    raw = (DATA / "trace" / "steady-small.trace").read_bytes()

    def edit(i, kind, exp, g, mm, tt, data):
        if i == which % 40 or which >= 100:
            g = g if gen is None else gen
            mm = mm if m is None else m
            tt = tt if t is None else t
        if freq is not None and data[:2] == bytes([reader.EV_SYNC, reader.EV_FREQUENCY]):
            end = 2
            while data[end] & 0x80:
                end += 1
            data = data[:2] + _uv(freq) + data[end + 1:]
        return g, mm, tt, data
    data = _reframe(raw, edit)
    try:
        tr = trace.parse(data)
    except ValueError as e:
        assert "offset" in str(e), str(e)
        return
    assert isinstance(tr, trace.Trace)


# ---- re-entrancy: the runtime's own callbacks call back into it -------------------------
def _reenter(what, r, log):
    if what == "close":
        r.close()
    elif what == "GC":
        rt.GC()
    elif what == "alloc":
        log.append(rt.new(Node))
    elif what == "raise":
        raise ValueError("from a callback")
    elif what == "ReadMemStats":
        rt.ReadMemStats()


@pytest.mark.parametrize("what", ["close", "GC", "alloc", "raise", "ReadMemStats"])
@pytest.mark.parametrize("where", ["finalizer", "cleanup", "observer"])
def test_callbacks_that_call_back_into_the_runtime(where, what):
    """A finalizer, cleanup or GC observer that closes its runtime, runs a GC, allocates,
    raises or reads MemStats: a clear outcome (the call works, or the runtime is dead or
    closed and says so), no lock left held, no hang."""
    log = []
    with rt.Runtime(godebug="gccheckmark=1", arena_cap=64 << 20) as r:
        p = rt.new(Node)
        if where == "finalizer":
            rt.SetFinalizer(p, lambda o: _reenter(what, r, log))
        elif where == "cleanup":
            rt.AddCleanup(p, lambda a: _reenter(what, r, log), 0)
        else:
            calls = []

            def observer(ev):
                calls.append(ev.phase)
                if len(calls) <= 4:                 # each phase of the first cycle
                    _reenter(what, r, log)
            r.add_gc_observer(observer)
        del p
        # an observer's exception is reported as unraisable, as gc.callbacks' are: caught here
        reports, hook = [], sys.unraisablehook
        if where == "observer":
            sys.unraisablehook = reports.append
        try:
            for _ in range(4):
                rt.GC()
                rt.Gosched()
        except (rt.FatalError, ValueError, RuntimeError) as e:
            # close() from the runtime's own goroutine is refused (RuntimeError); the
            # goroutine's exception then kills the runtime, as any finalizer's would
            assert r._closed or r.dead or what == "raise" or "inside a GC" in str(e) \
                or "from inside one of its goroutines" in str(e), repr(e)
        finally:
            sys.unraisablehook = hook
        if where == "observer" and what == "raise":   # each phase of the first cycle
            assert len(reports) == 4 and all("from a callback" in str(u.exc_value) for u in reports), reports
        else:
            assert not reports, reports
        assert_nothing_held(r, (where, what))
        if not r._closed and r.dead is None:
            _usable((where, what))
    assert_nothing_held(None, (where, what))


# ---- other threads, closed runtimes, numpy views ---------------------------------------
def test_close_and_drop_from_another_thread():
    """A runtime closed by another thread, or whose last reference dies there: every later
    call on it or its handles raises FatalError("... closed"), views of its memory stay
    readable and writable (no crash), no lock is left held."""
    import gc as pygc
    r = rt.Runtime(godebug="gccheckmark=1", arena_cap=64 << 20)
    with r:
        p = rt.new(Node)
        p.x = 3
        s = rt.make(rt.Slice(rt.Int), 4)
        s[1] = 9
        a = s.numpy()
        w = weak.Make(p)
    t = threading.Thread(target=r.close)
    t.start()
    t.join(30)
    assert r._closed
    for f in (lambda: p.x, lambda: setattr(p, "x", 1), lambda: s[0], lambda: s.numpy(),
              lambda: w.Value(), lambda: r.gc(), lambda: r.read_mem_stats()):
        with pytest.raises(rt.FatalError, match="closed"):
            f()
    a[0] = 5                                    # the view is memory of its own: no crash
    int(a.sum())
    assert_nothing_held(None, "closed elsewhere")
    # dropped in another thread
    box = [rt.Runtime(arena_cap=64 << 20)]
    with box[0]:
        keep = rt.make(rt.Slice(rt.Int), 4)
        v = keep.numpy()
    ref = __import__("weakref").ref(box[0])
    del keep
    t = threading.Thread(target=box.clear)
    t.start()
    t.join(30)
    pygc.collect()
    v[:] = 1                                    # outlives its runtime: still its own memory
    assert int(v.sum()) == 4
    del v
    pygc.collect()
    assert ref() is None


def test_arrays_aliasing_the_heap_passed_back_in():
    """A numpy view of heap memory given back to the API that writes that memory
    (`rt.bytes`, `rt.string`, slice stores, `rt.copy`): the result is as if the input
    were copied first."""
    with rt.Runtime(godebug="gccheckmark=1", arena_cap=64 << 20):
        b = rt.bytes(b"abcdefgh")
        v = b.numpy()
        with pytest.raises(TypeError):
            rt.bytes(v)                             # not a string: Go's compile error
        assert str(rt.string(b[2:5])) == "cde"
        assert rt.copy(b[1:], b) == 7               # overlapping: memmove
        assert bytes(v) == b"aabcdefg"
        s = rt.make(rt.Slice(rt.Int), 6)
        for i in range(6):
            s[i] = i
        sv = s.numpy()
        assert rt.copy(s[1:], s) == 5
        assert list(sv) == [0, 0, 1, 2, 3, 4]
        rt.GC()
        check_invariants(rt.ReadMemStats())


def test_b77_a_runtime_collected_inside_reap_does_not_deadlock(monkeypatch):
    """`sched.reap` held the graveyard's (non-reentrant) lock while it allocated; a
    garbage collection there ran a dropped runtime's `__del__`, whose close takes the
    same lock: the thread waited for itself forever (the fuzzer hung in
    `Runtime.__init__`). Here the collection comes inside reap's block, when it looks
    at the graveyard."""
    import gc as pygc
    from goruntime import sched

    class Graveyard(list):
        def __len__(self):                  # reap's `if not _graveyard`, under the lock
            pygc.collect()
            return list.__len__(self)

    def scenario():
        pygc.disable()
        try:
            r2 = rt.Runtime(arena_cap=64 << 20)     # dropped unclosed: __del__ closes it
            r2.cycle = r2                   # freed only by the cycle collector
            del r2
            monkeypatch.setattr(sched, "_graveyard", Graveyard(sched._graveyard))
            sched.reap()
        finally:
            pygc.enable()
    t = threading.Thread(target=scenario, daemon=True)
    t.start()
    t.join(60)
    assert not t.is_alive(), "reap deadlocked on its own lock"
