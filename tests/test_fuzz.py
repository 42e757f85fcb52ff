"""API fuzzing: every public call, with random and malformed arguments (docs/reliability.md).

Hypothesis draws *programs*: lists of calls into goruntime's public API (``rt.new``,
``rt.make``, field and index access on handles, slicing, ``SetFinalizer``, ``AddCleanup``,
``Cleanup.Stop``, ``weak.Make``/``Value``, ``ReadMemStats``, ``GC``, ``runtime/debug``,
``runtime/metrics``, ``GOMAXPROCS``, channels (heap channels too) and WaitGroups, closures,
maps (``update`` too), and the bulk ``Heap`` API).
Arguments are drawn from a zoo that mixes well-formed values (live handles, Go types,
in-range integers, valid field values) with malformed ones (wrong types, huge and negative
sizes, None, NaN, floats, strings, objects of other types, handles of foreign runtimes and of
runtimes whose ``with`` block has ended). Finalizers and cleanups replay parts of the
program from inside the finalizer/cleanup goroutine (re-entrant calls).

The oracle, for every call:

- it returns, or raises one of the documented exceptions (``ALLOWED``); where the right
  exception is known from the arguments (``expect=``), it must be that one;
- a call that raised changed nothing: the heap counters, the runtime's specials and knobs,
  the bytes of every object it was given, and (every ``RMS_EVERY`` calls) the whole
  ``ReadMemStats`` result are the same as before the call;
- after a call that raised, the heap verifies: an independent mark + checkmark traversal
  (Go's ``GODEBUG=gccheckmark=1``) finds no bad pointer and no unmarked reachable object,
  and every ``FULL_EVERY`` failures a real ``rt.GC()`` (which runs checkmark, since the
  runtime has ``godebug="gccheckmark=1"``), spec 2.3's invariants and sentinel objects
  are checked;
- no finalizer runs twice, runs while its object is reachable or runs after being cleared,
  and no stopped cleanup runs.

``make test`` runs a fixed (derandomized) set of programs of at least ``MIN_CALLS`` calls;
``make test-slow`` runs more, with fresh randomness each time.

Each bug the fuzzer found has a regression test at the bottom of this file
(docs/reliability.md, "Bugs found"); all are fixed. While a new one is open, keep it out of
the random programs with a guard in its ``op_*`` naming the regression test, mark that test
``xfail(strict=True)``, and delete both with the fix.
"""
from __future__ import annotations

import cmath
import gc
import importlib.util
import inspect
import math
import pathlib
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, note, settings, strategies as st

import goruntime as rt
from goruntime import _mark, debug, metrics, weak
from goruntime import iface as _iface
from goruntime.sched import select as go_select

REPO = pathlib.Path(__file__).resolve().parents[1]


def _conftest():
    # Load tests/conftest.py by path: `from gocheck import ...` is ambiguous as soon as a
    # subdirectory (tests/oracle) has a conftest.py of its own.
    spec = importlib.util.spec_from_file_location("_goruntime_tests_conftest",
                                                  pathlib.Path(__file__).with_name("conftest.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


check_invariants = _conftest().check_invariants

#: What a public call may raise (HACKING.md, "Error classes").
ALLOWED = (TypeError, ValueError, OverflowError, IndexError, AttributeError,
           rt.Panic, rt.FatalError, MemoryError)

MIN_CALLS = 100_000        # make test: at least this many fuzzed calls
RMS_EVERY = 16             # a ReadMemStats snapshot before every 16th call
FULL_EVERY = 32            # a full rt.GC() + invariants after every 32nd failing call
POOL = 40                  # handles kept per pool (older ones are dropped: garbage)
ARENA = 16 << 20

# ---------------------------------------------------------------------------------------
# Go types the programs use

Node = rt.Struct("FzNode", next=rt.Ptr("FzNode"), id=rt.Int, f=rt.Float64, f32=rt.Float32,
                 b=rt.Bool, u8=rt.Uint8, i16=rt.Int16, u32=rt.Uint32, s=rt.String,
                 arr=rt.Array(rt.Int, 3), parr=rt.Array(rt.Ptr("FzNode"), 2),
                 sl=rt.Slice(rt.Int), ps=rt.Slice(rt.Ptr("FzNode")), i=rt.Any,
                 up=rt.UnsafePointer, c=rt.Complex128, c64=rt.Complex64, m=rt.Map(rt.Int, rt.Int))
Leaf = rt.Struct("FzLeaf", a=rt.Int64, b=rt.Uint64)              # pointer-free, 16 bytes
Tiny = rt.Struct("FzTiny", a=rt.Int32)                            # tiny allocator
Empty = rt.Struct("FzEmpty")                                       # zero-size: zerobase
Wrap = rt.Struct("FzWrap", n=Node, p=rt.Ptr(Node), lp=rt.Ptr(Leaf))
Big = rt.Array(rt.Int, 5000)                                       # large object (40000 B)
BigP = rt.Array(rt.Ptr(Node), 80)                                  # 640 B: malloc header
MyInt = rt.Named("FzMyInt", rt.Int)

TYPES = [Node, Leaf, Tiny, Empty, Wrap, Big, BigP, rt.Int, rt.Int8, rt.Uint16, rt.Float32,
         rt.Float64, rt.Bool, rt.String, rt.Complex64, rt.Ptr(Node), rt.Ptr(rt.Int),
         rt.Array(rt.Int, 3), rt.Array(rt.Ptr(Node), 4), rt.Array(rt.Byte, 7), rt.Any,
         rt.UnsafePointer, rt.Slice(rt.Int), rt.Slice(Node), MyInt, rt.Array(Empty, 3)]
SLICE_TYPES = [rt.Slice(t) for t in (rt.Int, rt.Byte, Node, rt.Ptr(Node), Leaf, Empty,
                                     rt.String, rt.Float32, rt.Any, rt.Array(rt.Int, 2))]
FIELD_NAMES = sorted({f.name for t in (Node, Leaf, Tiny, Wrap) for f in t.underlying.fields}
                     | {"nope", "", "addr", "value", "runtime", "elem", "__class__", "_x"})
METRIC_NAMES = [d.Name for d in metrics.All()][:12] + ["/nope:bytes", "", "gc"]


class Ref:
    """A reference to something that exists only at run time (a handle, a type, ...)."""

    __slots__ = ("kind", "k")

    def __init__(self, kind, k):
        self.kind, self.k = kind, k

    def __repr__(self):
        return f"Ref({self.kind!r}, {self.k})"


REF_KINDS = ["ptr", "ptr", "ptr", "slice", "slice", "type", "type", "stype", "field", "field",
             "val", "val", "val", "fin", "clfn", "weak", "cleanup", "chan", "wg", "raw",
             "slot", "foreign", "stale", "junk", "memstats", "gcstats", "samples", "mask"]

EDGE_INTS = [0, 1, -1, 2, 3, 7, 8, 15, 16, 17, 24, 511, 512, 513, 4096, 8192, 32760, 32761,
             32768, 40000, 2**20, 2**31 - 1, 2**31, 2**32, 2**48, 2**53 + 1, 2**62,
             2**63 - 1, 2**63, 2**64 - 1, 2**64, -2**31, -2**63, -2**63 - 1, 10**30]
EDGE_FLOATS = [math.nan, math.inf, -math.inf, -0.0, 0.5, 1.0, 2.5, 1e300, -1e-300]


def _tables(seed=0x60C0):
    """Fixed tables of random values the arguments are picked from (reproducible)."""
    import random
    rnd = random.Random(seed)
    ints = [rnd.choice([rnd.randrange(-2**70, 2**70), rnd.randrange(-2**20, 2**20),
                        rnd.randrange(0, 2**64), 0xc000000000 + rnd.randrange(0, 1 << 25),
                        -rnd.randrange(0, 2**64)]) for _ in range(1024)]
    floats = [rnd.choice([rnd.uniform(-1e6, 1e6), rnd.expovariate(1e-3), 10.0 ** rnd.randrange(-320, 309),
                          float(rnd.randrange(0, 100)), math.nan]) for _ in range(1024)]
    alphabet = "ab\x00é\u4e16\U0001f600 _-/:"
    texts = ["".join(rnd.choice(alphabet) for _ in range(rnd.randrange(0, 6))) for _ in range(256)]
    tuples = [(rnd.choice([0, 1, 0xc000000000 + 8 * rnd.randrange(0, 1 << 20), 2**64 - 1, -1, "x"]),
               rnd.choice([0, 1, 5, 40, -1, 2**63])) for _ in range(256)]
    lists = [[rnd.randrange(-300, 300) for _ in range(rnd.randrange(0, 6))] for _ in range(256)]
    return ints, floats, texts, tuples, lists


RANDOM_INTS, RANDOM_FLOATS, TEXTS, TUPLES, LISTS = _tables()
SIZES = [0, 1, 3, 8, 12, 16, 24, 100, 200, 512, 513, 640, 4096, 8192, 32760, 32761, 40000,
         70000, 1 << 20]
MISC = [b"xy", 1j, (), [], {}, slice(1, 2), ..., object, True, False, None]


def decode_arg(x, prefer=()):
    """14 bits -> an argument: 4 bits say which zoo, 10 bits pick in it (0 = simplest).

    With *prefer* (the kinds of Ref this argument of this call normally is), 12 times in 16
    the argument is one of those (well-formed, mostly); otherwise it comes from the whole
    zoo: any Ref, edge and random integers, floats, NaN, None, text, tuples, lists, junk.
    """
    sel, v = x & 15, x >> 4
    if prefer and sel <= 11:
        return Ref(prefer[v % len(prefer)], v // len(prefer))
    if sel <= 5:
        return Ref(REF_KINDS[v % len(REF_KINDS)], v // len(REF_KINDS))
    if sel == 6:
        return v % 74 - 3
    if sel == 7:
        return EDGE_INTS[v % len(EDGE_INTS)]
    if sel == 8:
        return RANDOM_INTS[v]
    if sel == 9:
        return EDGE_FLOATS[v % len(EDGE_FLOATS)] if v < 64 else RANDOM_FLOATS[v]
    if sel == 10:
        return MISC[v % len(MISC)]
    if sel == 11:
        return TEXTS[v % len(TEXTS)]
    if sel == 12:
        return TUPLES[v % len(TUPLES)]
    if sel == 13:
        return LISTS[v % len(LISTS)]
    return Ref(REF_KINDS[v % len(REF_KINDS)], v // len(REF_KINDS))     # 14, 15


#: The usual kinds of each argument of each call (see decode_arg).
PROFILE = {
    "new": [["type"]], "make": [["stype"], ["small"], ["small", "none"], ["small"]],
    "getfield": [["sptr", "sptr", "ptr"], ["field"]],
    "setfield": [["sptr", "sptr", "ptr"], ["field"], ["val"]],
    "getindex": [["aptr", "slice"], ["small"]], "setindex": [["aptr", "slice"], ["small"], ["val"]],
    "reslice": [["slice"], ["small", "none"], ["small", "none"], ["none"]],
    "value": [["ptr"]], "setvalue": [["ptr"], ["val"]], "field_ptr": [["sptr"], ["field"]],
    "len": [["ptr", "slice", "chan"]], "slice_ptr": [["slice"], ["small"]],
    "numpy": [["slice"]], "iterate": [["slice", "ptr"]],
    "eq": [["ptr", "slice", "weak"], ["ptr", "slice", "weak", "none"]],
    "set_finalizer": [["ptr"], ["fin"]], "add_cleanup": [["ptr"], ["clfn"], ["small", "ptr", "slice", "text"]],
    "cleanup_stop": [["cleanup"]], "weak_make": [["ptr"]], "weak_value": [["weak"]],
    "read_mem_stats": [["memstats", "none"]], "gc": [["small"]], "free_os_memory": [["small"]],
    "set_gc_percent": [["small", "bigint"]], "set_memory_limit": [["bigint"]],
    "read_gc_stats": [["gcstats"], ["small"]], "metrics_read": [["samples"]],
    "gomaxprocs": [["small"]], "sleep": [["small", "bigint"]], "go": [["fin"]],
    "keepalive": [["ptr", "slice"]], "chan_new": [["small"]],
    "chan_try_send": [["chan"], ["small", "ptr"]], "chan_try_recv": [["chan"]],
    "chan_close": [["chan"]], "chan_send": [["chan"], ["small"]], "chan_recv": [["chan"]],
    "chan_len": [["chan"]], "select": [["chan", "none"], ["chan", "none"], ["chan"], ["bool"]],
    "wg_add": [["wg"], ["small"]], "wg_wait": [["wg"]],
    "heap_alloc": [["size"], ["bool"], ["mask", "none"], ["small"]],
    "heap_alloc_many": [["size"], ["small"], ["bool"], ["mask"]],
    "heap_store_pointers": [["raw"], ["ptr", "raw"], ["ptr", "raw"], ["raw", "none"]],
    "heap_read_word": [["raw"]], "heap_write_word": [["raw"], ["small", "bigint"]],
    "heap_view": [["raw"], ["small"]], "heap_find_object": [["raw", "ptr"]],
    "heap_add_root": [["raw"]], "heap_remove_root": [["slot"]], "heap_query": [["raw"], ["small"]],
    "runtime_new": [["small"], ["bigint", "text"], ["small"], ["text"]],
    "append": [["slice"], ["val"], ["val", "none"], ["small"]],
    "go_copy": [["slice"], ["slice", "text"]], "concat": [["text"], ["small"], ["text", "small"]],
    "bytes_string": [["text", "slice"], ["small"]], "box": [["small"], ["val", "ptr", "text"]],
    "map_set": [["small"], ["small", "text"], ["small", "val", "ptr"]], "map_get": [["small"], ["small", "text"]],
    "map_del": [["small"], ["small", "text"]], "map_clear": [["small"]],
    "copy": [["ptr", "slice", "weak"], ["small"]], "alias_store": [["raw"], ["raw"], ["small"]],
    "knob": [["small", "bigint", "text"], ["small"]], "foreign_thread": [["small"], ["ptr"]],
    "drop": [["small"], ["small"]],
    "closure": [["small"], ["small", "val", "ptr", "text", "slice", "junk"],
                ["small", "ptr", "text", "foreign", "none"]],
    "heap_chan_new": [["type"], ["small"]], "map_update": [["small"], ["small"], ["small", "val"]],
    "map_range": [["small"], ["small"]],
}


def _is_nan(x):
    return isinstance(x, float) and x != x


class _NanKey:
    """The map model's key for one NaN entry (each NaN insert is its own entry in Go)."""


def decode(word, ops=None):
    """One 64-bit word of a program -> (op, a, b, c, d)."""
    ops = ops or OPS
    op = ops[(word & 127) % len(ops)]
    prof = PROFILE.get(op, ())
    return (op, *(decode_arg((word >> (7 + 14 * i)) & 0x3FFF, prof[i] if i < len(prof) else ())
                  for i in range(4)))


OPS = [
    "new", "new", "new", "make", "make", "getfield", "getfield", "getfield", "setfield",
    "setfield", "setfield", "setfield", "getindex", "getindex", "setindex", "setindex",
    "reslice", "reslice", "value", "setvalue", "field_ptr", "len", "slice_ptr", "numpy",
    "iterate", "eq", "set_finalizer", "set_finalizer", "set_finalizer", "add_cleanup",
    "add_cleanup", "add_cleanup", "cleanup_stop", "weak_make", "weak_make", "weak_value",
    "weak_value", "read_mem_stats", "gc", "set_gc_percent", "set_memory_limit",
    "free_os_memory", "read_gc_stats", "metrics_read", "gomaxprocs", "gosched", "sleep",
    "go", "keepalive", "num_goroutine", "chan_new", "chan_try_send", "chan_try_recv",
    "chan_close", "chan_send", "chan_recv", "chan_len", "select", "wg_new", "wg_add",
    "wg_wait", "heap_alloc", "heap_alloc", "heap_alloc_many", "heap_store_pointers",
    "heap_store_pointers", "heap_read_word", "heap_write_word", "heap_view",
    "heap_find_object", "heap_add_root", "heap_remove_root", "heap_query", "runtime_new",
    "drop", "drop", "copy", "copy", "alias_store", "knob", "knob", "foreign_thread",
    "append", "append", "go_copy", "concat", "bytes_string", "box", "box",
    "map_set", "map_set", "map_get", "map_del", "map_clear", "alias_store",
    "closure", "closure", "heap_chan_new", "map_update", "map_range",
]
#: Calls that are scheduling points: other goroutines (finalizers!) may run inside them,
#: so a failure there need not leave the heap as it was.
SCHED_OPS = {"gosched", "sleep", "chan_send", "chan_recv", "select", "wg_wait"}
#: Not allowed inside a finalizer or cleanup: they would block the finalizer goroutine
#: forever (Go's TestFinalizerOrCleanupDeadlock) or re-enter the scheduler from it.
NOT_NESTED = SCHED_OPS | {"go", "runtime_new", "foreign_thread"}
#: Exceptions a call may raise besides ALLOWED, by label.
EXTRA_ALLOWED = {"foreign_thread": (RuntimeError,)}

#: A program is a list of 64-bit words, one per call (see `decode`). Hypothesis draws and
#: shrinks plain integers (fast), and a word of 0 decodes to the simplest call.
PROGRAM = st.lists(st.integers(0, 2**63 - 1), min_size=50, max_size=80)


class FuzzFailure(AssertionError):
    pass


GO_OBJECTS = (rt.Pointer, rt.SliceValue, rt.Chan, rt.WaitGroup, weak.Pointer, rt.Cleanup)


# ---------------------------------------------------------------------------------------
# Runtimes whose handles are "foreign" to every fuzzed runtime

_FOREIGN = None


def _foreign():
    """Handles of another, live runtime and of a runtime whose `with` block has ended."""
    global _FOREIGN
    if _FOREIGN is None:
        out = []
        for _ in range(2):
            with rt.Runtime(arena_cap=8 << 20):
                out += [rt.new(Node), rt.new(Leaf), rt.make(rt.Slice(rt.Int), 3),
                        rt.make(rt.Slice(rt.Ptr(Node)), 2), rt.new(rt.Array(rt.Int, 3))]
                out[-1][0] = 5
        _FOREIGN = (out[:5], out[5:])
    return _FOREIGN


class _Junk:
    def __repr__(self):
        return "<junk>"


def _gen():
    yield 1


JUNK = [object(), _Junk(), [], {}, set(), np.zeros(3), np.uint64(7), np.float32(1.5),
        np.array([1, 2], dtype=np.uint64), rt.Int, rt.Ptr, Node, rt.MemStats,
        debug.GCStats, metrics.Sample(), weak.Pointer(), rt.Cleanup(), b"x",
        bytearray(b"ab"), memoryview(b"cd"), 1j, slice(0, 2), Ellipsis, NotImplemented,
        print, len, lambda: None, _gen(), type, Exception("x"), rt.FatalError("x"),
        (lambda x: x), float("nan"), -0.0, True, "FzNode", ("a", "b"), (1, 2, 3)]


# ---------------------------------------------------------------------------------------

class Fuzzer:
    """Runs one program on a fresh runtime and checks every call (see the module doc)."""

    def __init__(self, program, arena_cap=ARENA):
        self.program = [decode(w) if isinstance(w, int) else w for w in program]
        self.r = rt.Runtime(godebug="gccheckmark=1", arena_cap=arena_cap)
        self.heap = self.r.heap
        self.calls = 0
        self.failures = 0
        self.outcomes = {}
        self.depth = 0
        self.ptrs, self.slices, self.weaks, self.cleanups = [], [], [], [rt.Cleanup()]
        self.chans, self.wgs, self.raw, self.slots = [], [], [], []
        self.resurrected = []
        self.fin_state = {}         # token -> "armed" | "ran" | "cleared"
        self.fin_addr = {}          # token -> the pointer it was set on
        self.cl_state = {}          # token -> "armed" | "ran" | "stopped"
        self.cl_ids = {}            # token -> cleanup id
        self.tokens = 0
        self.errors = []            # failures seen inside finalizers/cleanups/goroutines
        self.memstats = rt.MemStats()
        self.gcstats = debug.GCStats()

    # -- the driver ---------------------------------------------------------------------
    drop = False                # end without closing: the runtime is dropped (issue 13)

    def run(self):
        self._watch_sweep()
        if self.drop:               # entered in a context of its own, never left
            import contextvars
            contextvars.copy_context().run(self._run_entered)
        else:
            with self.r:            # leaving the block closes the runtime
                self._body()
        return self.calls

    def _run_entered(self):
        self.r.__enter__()
        self._body()

    def _body(self):
        self._make_sentinels()
        for i, (op, *args) in enumerate(self.program):
            self.step(op, args, i)
            if self.errors:
                raise FuzzFailure(self.errors[0])
        self.finish()

    def step(self, op, args, i):
        if self.depth and op in NOT_NESTED:
            return
        getattr(self, "op_" + op)(*args)

    def finish(self):
        """Drop everything, collect, let finalizers and cleanups run; verify it all."""
        self.verify(full=True)
        self.ptrs.clear(), self.slices.clear(), self.resurrected.clear()
        for _ in range(4):
            self.r.gc()
            self.r.sched.run_until_idle()
        if self.errors:
            raise FuzzFailure(self.errors[0])
        self.verify(full=True)

    # -- resolving arguments ------------------------------------------------------------
    def res(self, a, want=None):
        """The run-time value of argument *a* (a Ref is looked up; anything else is itself)."""
        if not isinstance(a, Ref):
            return a
        k, kind = a.k, a.kind
        pools = {"ptr": self.ptrs, "slice": self.slices, "weak": self.weaks,
                 "cleanup": self.cleanups, "chan": self.chans, "wg": self.wgs,
                 "foreign": _foreign()[0], "stale": _foreign()[1], "junk": JUNK}
        if kind in ("sptr", "aptr"):          # pointers to structs / to arrays
            want = "struct" if kind == "sptr" else "array"
            pools["sptr"] = [p for p in self.ptrs if p.elem is not None
                             and p.elem.underlying.kind == want] or self.ptrs
            kind = "sptr"
        if kind in pools:
            pool = pools[kind]
            return pool[k % len(pool)] if pool else None
        if kind == "type":
            return TYPES[k % len(TYPES)]
        if kind == "stype":
            return SLICE_TYPES[k % len(SLICE_TYPES)]
        if kind == "field":
            t = want.elem if isinstance(want, rt.Pointer) else None
            if t is not None and t.underlying.kind == "struct" and t.underlying.fields and k % 6 != 5:
                fields = t.underlying.fields     # a field of the receiver, mostly
                return fields[k % len(fields)].name
            return FIELD_NAMES[k % len(FIELD_NAMES)]
        if kind == "val":
            return self.valid_value(want, k) if isinstance(want, rt.Type) else k
        if kind == "fin":
            return self.finalizer(k)
        if kind == "clfn":
            return self.cleanup_fn(k)
        if kind == "raw":
            if not self.raw:
                return k
            addr, size, noscan = self.raw[k % len(self.raw)]
            variant = (k // 7) % 16
            if variant == 13:       # pages away: free pages, other spans, unmapped memory
                return addr + 8192 * (8 + (k // 112) % 64)
            if variant == 15:       # just past the object: a free slot, a gap or a neighbour
                return addr + ((max(size, 1) + 7) & ~7) + 8 * ((k // 112) % 4)
            if variant == 14:       # unaligned
                return addr + 1 + (k // 112) % 7
            return addr + 8 * ((k // 7) % max(size // 8, 1))
        if kind == "slot":
            return self.slots[k % len(self.slots)][0] if self.slots else k
        if kind == "small":
            if isinstance(want, int):        # an index: in range mostly, 0 first
                return k % (want + 2) - (k % (want + 2) == want + 1) * (want + 2)
            return k % 24 if k % 25 != 24 else -(k // 25) % 3 - 1
        if kind == "none":
            return None
        if kind == "bool":
            return bool(k & 1)
        if kind == "size":
            return SIZES[k % len(SIZES)]
        if kind == "text":
            return TEXTS[k % len(TEXTS)]
        if kind == "bigint":
            return (k + 1) << (20 + k % 40)
        if kind == "memstats":
            return self.memstats
        if kind == "gcstats":
            return self.gcstats
        if kind == "samples":
            return [metrics.Sample(METRIC_NAMES[(k + j) % len(METRIC_NAMES)]) for j in range(k % 4)]
        if kind == "mask":
            return np.array([(k >> j) & 1 for j in range(k % 5)], dtype=np.uint8)
        raise AssertionError(kind)

    def valid_value(self, t, k):
        """A value that a field of Go type *t* accepts (or a plausible one)."""
        u = t.underlying
        kind = u.kind
        if kind == "bool":
            return bool(k & 1)
        if kind in ("int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16",
                    "uint32", "uint64", "uintptr"):
            bits = t.size * 8
            signed = not kind.startswith("u")
            lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
            return (lo, hi, 0, k, -k if signed else k)[k % 5]
        if kind in ("float32", "float64"):
            return (1.5, -0.0, math.inf, float(k), math.nan)[k % 5]
        if kind in ("complex64", "complex128"):
            return complex(k, -k)
        if kind == "string":
            if k % 6 == 4:                # (ptr, len) pairs, mostly not a string Go could make
                return TUPLES[k % len(TUPLES)]
            if k % 6 == 5:                # a substring of a heap string, or a bit past it
                h = self.r.string("heap%d" % k)
                return (h[0] + k % 3, h[1] - k % 3 + (k // 6) % 3 * 9)
            return ("", "héllo", "x" * (k % 40), self.r.string("heap%d" % k))[k % 6 % 4]
        if kind in ("ptr", "unsafe.Pointer", "interface", "map", "chan", "func"):
            cand = [p for p in self.ptrs if kind != "ptr" or p.elem == u.elem]
            return cand[k % len(cand)] if cand and k % 4 else None
        if kind == "slice":
            cand = [s for s in self.slices if s.elem == u.elem]
            return cand[k % len(cand)] if cand and k % 4 else None
        if kind == "array":
            return [self.valid_value(u.elem, k + j) for j in range(u.len)] if k % 3 else \
                self._ptr_of(t, k)
        if kind == "struct":
            return self._ptr_of(t, k)
        return None

    def _ptr_of(self, t, k):
        cand = [p for p in self.ptrs if p.elem == t]
        return cand[k % len(cand)] if cand else None

    def keep(self, pool, v):
        pool.append(v)
        if len(pool) > POOL:
            del pool[(len(pool) * 7919) % (POOL // 2)]

    def keep_handle(self, v):
        """Keep a returned handle for later calls (pointers and slices have their pools)."""
        if isinstance(v, (rt.Pointer, rt.SliceValue)):
            self.keep(self.ptrs if isinstance(v, rt.Pointer) else self.slices, v)

    # -- the per-call oracle --------------------------------------------------------------
    def snapshot(self, touched):
        r, h = self.r, self.heap
        rec = r.gc_record
        objs = []
        for x in touched:
            for a in _addrs(x):
                info = h.find_object(a) if h.in_arena(a) else None
                if info is not None and info[2] <= 65536:
                    objs.append((a, h.view(info[1], info[2]).copy()))
        return (h.counters(), r._gomaxprocs, h.nprocs, r.sched.gomaxprocs, r.pacer.gc_percent,
                r.pacer.memory_limit, len(r.specials.finalizers), len(r.specials.cleanups), len(r.specials.weak),
                len(r.finalizers.finq), sum(map(len, r.cleanups.queue)), rec.num_gc, rec.num_forced_gc,
                rec.finalizers_queued, rec.cleanups_queued, h.gc_pending, r.gc_running,
                h.gcphase_mark), objs

    def call(self, label, fn, *args, expect=None, touched=(), sched=False):
        """Make one fuzzed call and check it (see the module doc). Returns (ok, result)."""
        self.calls += 1
        rms = None
        if not sched:
            if self.calls % RMS_EVERY == 0:
                rms = _ms_dict(self.r.read_mem_stats())
            before = self.snapshot(touched + args)
        try:
            result = fn(*args)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as e:  # noqa: BLE001 - the point of the fuzzer
            exc_type, msg = type(e), str(e)
            del e
        else:
            if expect is not None:
                self.fail(label, args, f"returned {result!r} but should raise {_names(expect)}")
            self.outcomes[label, "ok"] = self.outcomes.get((label, "ok"), 0) + 1
            return True, result
        self.failures += 1
        self.outcomes[label, exc_type.__name__] = self.outcomes.get((label, exc_type.__name__), 0) + 1
        if not issubclass(exc_type, ALLOWED + EXTRA_ALLOWED.get(label, ())):
            self.fail(label, args, f"raised undocumented {exc_type.__name__}: {msg}")
        if expect is not None and not issubclass(exc_type, expect) \
                and not (exc_type is rt.FatalError and msg == CLOSED and any(map(_of_closed, args))):
            self.fail(label, args, f"raised {exc_type.__name__}({msg!r}), want {_names(expect)}")
        if not sched:
            after = self.snapshot(touched + args)
            if after[0] != before[0]:
                self.fail(label, args, f"{exc_type.__name__}({msg!r}) but changed the runtime:\n"
                          f"{_diff(before[0], after[0])}")
            for (a, b0), (_, b1) in zip(before[1], after[1]):
                if not np.array_equal(b0, b1):
                    self.fail(label, args, f"{exc_type.__name__}({msg!r}) but wrote object {a:#x}: "
                              f"{b0.tobytes().hex()} -> {b1.tobytes().hex()}")
            if rms is not None:
                rms2 = _ms_dict(self.r.read_mem_stats())
                if rms2 != rms:
                    self.fail(label, args, f"{exc_type.__name__}({msg!r}) but changed MemStats: "
                              f"{_diff(rms, rms2)}")
        self.verify(full=self.failures % FULL_EVERY == 0)
        return False, None

    def fail(self, label, args, what):
        raise FuzzFailure(f"{label}{_short(args)}: {what}")

    def verify(self, full=False):
        """The heap verifies: checkmark traversal; with *full*, a GC, invariants, sentinels."""
        r, h = self.r, self.heap
        if r.collector.in_gc:
            return
        roots, scan_only = r.gc_roots()
        if r.gc_running:           # an open cycle: once its grey work (roots, grey objects,
            with r.world:          # the write barrier's buffer) is drained, as the workers
                r.collector.mark.drain()    # would, everything reachable must be marked
            _mark.checkmark(h, roots, scan_only)
        else:                      # a dry-run mark: no bad pointer, checkmark agrees
            try:
                _mark.mark(h, roots, scan_only)
                _mark.checkmark(h, roots, scan_only)
            finally:
                _mark.clear_marks(h)
        if full:
            r.gc()                 # runs checkmark too (godebug gccheckmark=1)
            m = r.read_mem_stats()
            check_invariants(m)
            assert not h.gcmark_bits.any(), "mark bits left set between cycles"
            self._check_sentinels()

    # -- sentinels: objects no program touches; they must never change ---------------------
    def _make_sentinels(self):
        self._sentinel = head = rt.new(Node)
        head.id = -1
        p = head
        for i in range(6):
            q = rt.new(Node)
            q.id, q.s, q.f = 1000 + i, f"sentinel{i}", i / 3
            q.arr = [i, -i, i * i]
            q.sl = rt.make(rt.Slice(rt.Int), 4)
            q.sl[3] = i
            p.next = q
            p = q
        self._sentinel_bytes = None

    def _check_sentinels(self):
        p, i = self._sentinel.next, 0
        while p is not None:
            assert (p.id, p.s, p.f, [p.arr[j] for j in range(3)], p.sl[3]) == \
                (1000 + i, f"sentinel{i}", i / 3, [i, -i, i * i], i), f"sentinel {i} changed"
            p, i = p.next, i + 1
        assert i == 6

    # -- finalizers and cleanups ----------------------------------------------------------
    def finalizer(self, k):
        kind = k % 12
        if kind <= 5:                       # records; some replay part of the program
            return self._recording_finalizer(reentrant=kind >= 3, k=k)
        return [None, 5, "f", lambda: None, lambda a, b: None, _annotated_wrong][kind - 6]

    def _recording_finalizer(self, reentrant, k):
        self.tokens += 1
        token = self.tokens

        def fin(p):
            self._ran_finalizer(token, p)
            if reentrant and k % 2:
                self.resurrected.append(p)                      # resurrect
            if reentrant:
                self.replay(k, p)
        fin.token, fin.kind = token, "finalizer"
        return fin

    def _ran_finalizer(self, token, p):
        st_ = self.fin_state.get(token)
        if st_ != "armed":
            self.errors.append(f"finalizer {token} ran in state {st_}")
            return
        self.fin_state[token] = "ran"
        if self.heap.find_object(p.addr) is None:
            self.errors.append(f"finalizer {token} got a pointer to a free object {p.addr:#x}")

    def _watch_sweep(self):
        """Check, as the sweep queues them, that no finalizer or cleanup is queued for an
        object a handle still holds (checked then: a finalizer that runs later may already
        have resurrected it, legitimately)."""
        r, orig = self.r, self.r.specials.sweep

        def sweep_specials(*args, **kw):
            nf, nc = len(r.finalizers.finq), len(r.cleanups.queue)
            out = orig(*args, **kw)
            held = {}
            for h in self._held():
                info = self.heap.find_object(h.addr) if self.heap.in_arena(h.addr) else None
                if info is not None:
                    held[info[1]] = h
            for f in r.finalizers.finq[nf:]:
                if f.slot in held:
                    self.errors.append(f"finalizer queued for {f.addr:#x} while {held[f.slot]!r} holds it")
            for block in r.cleanups.queue[nc:]:
                for c in block:
                    if c.slot in held:
                        self.errors.append(f"cleanup queued for {c.addr:#x} while {held[c.slot]!r} holds it")
            return out
        r.specials.sweep = sweep_specials

    def _held(self):
        # Reslicing or indexing a foreign handle gives a foreign handle: its address means
        # nothing in this heap.
        return [h for h in (*self.ptrs, *self.slices, *self.resurrected) if h.runtime is self.r]

    def cleanup_fn(self, k):
        kind = k % 10
        if kind <= 5:
            self.tokens += 1
            token = self.tokens
            reentrant = kind >= 3

            def cl(arg):
                st_ = self.cl_state.get(token)
                if st_ != "armed":
                    self.errors.append(f"cleanup {token} ran in state {st_}")
                self.cl_state[token] = "ran"
                if reentrant:
                    self.replay(k, arg if isinstance(arg, rt.Pointer) else None)
            cl.token, cl.kind = token, "cleanup"
            return cl
        return [None, 7, "c", lambda: None][kind - 6]

    def replay(self, k, p):
        """Re-entrant calls from a finalizer/cleanup: run a few calls of the program."""
        if self.depth >= 2:
            return
        self.depth += 1
        try:
            if p is not None and k % 3 == 0:
                self.keep(self.ptrs, p)
            n = len(self.program)
            for j in range(3):
                op, *args = self.program[(k * 31 + j) % n]
                self.step(op, args, -1)
        except FuzzFailure as e:
            self.errors.append(f"inside a finalizer/cleanup: {e}")
        except BaseException as e:  # noqa: BLE001
            self.errors.append(f"inside a finalizer/cleanup: {type(e).__name__}: {e}")
        finally:
            self.depth -= 1

    # ===================================================================================
    # The operations. Each resolves its arguments, works out what must be raised where
    # that is known, and goes through self.call.

    def op_new(self, a, b, c, d):
        T = self.res(a)
        expect = None if isinstance(T, rt.Type) else TypeError
        ok, p = self.call("new", rt.new, T, expect=expect)
        if ok:
            assert isinstance(p, rt.Pointer) and p.elem == T
            if T.size and T.size <= 4096:
                assert not self.heap.view(p.addr, T.size).any(), "new object not zeroed"
            self.keep(self.ptrs, p)

    def op_make(self, a, b, c, d):
        T, n = self.res(a), self.res(b)
        cap = None if isinstance(c, Ref) and c.k % 2 else self.res(c)
        if isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= 1 << 40:
            n %= 300
        if isinstance(cap, int) and not isinstance(cap, bool) and 0 <= cap <= 1 << 40:
            cap = (cap % 300) + (n if isinstance(n, int) and n > 0 else 0)
        ok, s = self.call("make", rt.make, T, n, cap, expect=_make_expect(T, n, cap))
        if ok:
            assert isinstance(s, rt.SliceValue) and len(s) == n
            self.keep(self.slices, s)

    def _receiver(self, a):
        """The object a method-like call acts on; None when it is not a goruntime object
        (then the call would test Python's dict or list, not goruntime: skipped)."""
        x = self.res(a)
        return x if isinstance(x, GO_OBJECTS) else None

    def op_getfield(self, a, b, c, d):
        p = self._receiver(a)
        if p is None:
            return
        name = self.res(b, want=p)
        expect = None
        if isinstance(p, rt.Pointer) and isinstance(name, str) and not _has_attr_name(p, name):
            expect = AttributeError
        ok, v = self.call("getfield", getattr, p, name, expect=expect)
        if ok:
            self.keep_handle(v)

    def op_setfield(self, a, b, c, d):
        p = self._receiver(a)
        if p is None:
            return
        name = self.res(b, want=p)
        t = _field_type(p, name)
        v = self.res(c, want=t)
        expect = _store_expect(p, t, v) if t is not None else None
        if t is None and isinstance(p, (rt.Pointer, rt.SliceValue)) and isinstance(name, str) \
                and name not in ("addr", "elem", "runtime", "__class__", "value"):
            expect = AttributeError
        ok, _ = self.call("setfield", setattr, p, name, v, expect=expect, touched=(p,))
        if ok and t is not None:
            _check_readback(self, getattr(p, name), v, t)

    def op_getindex(self, a, b, c, d):
        p = self._receiver(a)
        if p is None:
            return
        i = self.res(b, want=_length(p))
        ok, v = self.call("getindex", _getitem, p, i, expect=_index_expect(p, i))
        if ok:
            self.keep_handle(v)

    def op_setindex(self, a, b, c, d):
        p = self._receiver(a)
        if p is None:
            return
        i = self.res(b, want=_length(p))
        t = _elem_type(p)
        v = self.res(c, want=t)
        expect = _index_expect(p, i)
        if expect is None and t is not None:
            expect = _store_expect(p, t, v)
        ok, _ = self.call("setindex", _setitem, p, i, v, expect=expect, touched=(p,))
        if ok and t is not None:
            _check_readback(self, p[i], v, t)

    def op_reslice(self, a, b, c, d):
        s = self._receiver(a)
        if s is None:
            return
        lo, hi = self.res(b), self.res(c)
        step = self.res(d) if isinstance(d, (bool, type(None))) or (isinstance(d, int) and d % 5 == 0) else None
        if isinstance(lo, int) and 0 <= lo < 1 << 20:
            lo %= 8
        if isinstance(hi, int) and 0 <= hi < 1 << 20:
            hi %= 12
        ok, v = self.call("reslice", _getitem, s, slice(lo, hi, step))
        if ok and isinstance(v, rt.SliceValue):
            assert v.cap <= (s.cap if isinstance(s, rt.SliceValue) else len(s))   # or an array's length
            if isinstance(step, int) and not isinstance(step, bool):     # Go's s[lo:hi:max]
                assert (len(v), v.cap) == (hi - (lo or 0), step - (lo or 0)), (lo, hi, step, v)
            self.keep(self.slices, v)

    def op_value(self, a, b, c, d):
        p = self._receiver(a)
        if p is None:
            return
        ok, v = self.call("value", _get_value, p)
        if ok:
            self.keep_handle(v)

    def op_setvalue(self, a, b, c, d):
        p = self._receiver(a)
        if p is None:
            return
        t = p.elem if isinstance(p, rt.Pointer) else None
        v = self.res(b, want=t)
        expect = _store_expect(p, t, v) if t is not None else None
        self.call("setvalue", _set_value, p, v, expect=expect, touched=(p,))

    def op_field_ptr(self, a, b, c, d):
        p = self._receiver(a)
        if p is None:
            return
        name = self.res(b, want=p)
        ok, v = self.call("field_ptr", lambda p, n: p.field_ptr(n), p, name)
        if ok:
            self.keep(self.ptrs, v)

    def op_len(self, a, b, c, d):
        x = self._receiver(a)
        if x is not None:
            self.call("len", len, x)

    def op_slice_ptr(self, a, b, c, d):
        s, i = self._receiver(a), self.res(b)
        if s is None:
            return
        ok, v = self.call("slice_ptr", lambda s, i: s.ptr(i), s, i)
        if ok:
            self.keep(self.ptrs, v)

    def op_numpy(self, a, b, c, d):
        s = self._receiver(a)
        if s is not None:
            self.call("numpy", lambda s: s.numpy(), s)

    def op_iterate(self, a, b, c, d):
        s = self._receiver(a)
        if s is None or isinstance(s, rt.Chan) or isinstance(s, rt.SliceValue) and len(s) > 64:
            return
        self.call("iterate", list, s)

    def op_eq(self, a, b, c, d):
        x = self._receiver(a)
        if x is not None:
            self.call("eq", lambda x, y: (x == y, x != y), x, self.res(b))

    def op_set_finalizer(self, a, b, c, d):
        obj, fn = self.res(a), self.res(b)
        expect = _finalizer_expect(self, obj, fn)
        if expect is None and fn is not None and getattr(fn, "kind", None) != "finalizer":
            return     # an arbitrary callable would run on the finalizer goroutine: not here
        ok, _ = self.call("set_finalizer", rt.SetFinalizer, obj, fn, expect=expect)
        if ok and isinstance(obj, rt.Pointer):
            info = self.heap.find_object(obj.addr)
            for tok, addr in list(self.fin_addr.items()):     # SetFinalizer(x, None) clears
                if fn is None and addr == obj.addr and self.fin_state[tok] == "armed":
                    self.fin_state[tok] = "cleared"
            if fn is not None and info is not None and hasattr(fn, "token"):
                self.fin_state[fn.token] = "armed"
                self.fin_addr[fn.token] = obj.addr

    def op_add_cleanup(self, a, b, c, d):
        ptr, fn, arg = self.res(a), self.res(b), self.res(c)
        expect = _cleanup_expect(self, ptr, fn, arg)
        if expect is None and callable(fn) and getattr(fn, "kind", None) != "cleanup":
            return     # an arbitrary callable would run on a cleanup goroutine: not here
        ok, cl = self.call("add_cleanup", rt.AddCleanup, ptr, fn, arg, expect=expect)
        if ok:
            assert isinstance(cl, rt.Cleanup)
            if hasattr(fn, "token") and cl._id:
                self.cl_state[fn.token] = "armed"
                self.cl_ids[fn.token] = cl._id
            self.keep(self.cleanups, cl)

    def op_cleanup_stop(self, a, b, c, d):
        cl = self.res(a)
        if not isinstance(cl, rt.Cleanup):
            return
        expect = None
        pending = isinstance(cl, rt.Cleanup) and cl._id in self.r.specials.cleanups
        ok, _ = self.call("cleanup_stop", lambda c: c.Stop(), cl, expect=expect)
        if ok and pending:
            for tok, cid in self.cl_ids.items():
                if cid == cl._id and self.cl_state[tok] == "armed":
                    self.cl_state[tok] = "stopped"

    def op_weak_make(self, a, b, c, d):
        p = self.res(a)
        expect = None
        if p is not None and not isinstance(p, rt.Pointer):
            expect = TypeError
        ok, w = self.call("weak_make", weak.Make, p, expect=expect)
        if ok:
            assert isinstance(w, weak.Pointer)
            if p is not None and p.runtime is self.r:
                assert w.Value() == p
                assert weak.Make(p) == w      # canonical, also for zero-size (immortal)
                self.keep(self.weaks, w)

    def op_weak_value(self, a, b, c, d):
        w = self.res(a)
        if not isinstance(w, weak.Pointer):
            return
        ok, v = self.call("weak_value", lambda w: w.Value(), w)
        if ok and v is not None:
            if self.heap.in_arena(v.addr) and self.heap.find_object(v.addr) is None:
                self.fail("weak_value", (w,), f"Value() gave {v!r}, a free object")
            self.keep(self.ptrs, v)

    def op_read_mem_stats(self, a, b, c, d):
        m = self.res(a) if isinstance(a, Ref) else (self.memstats if a else None)
        expect = None if m is None or isinstance(m, rt.MemStats) else TypeError
        ok, got = self.call("read_mem_stats", rt.ReadMemStats, m, expect=expect)
        if ok:
            check_invariants(got)

    def op_gc(self, a, b, c, d):
        if isinstance(a, int) and a % 3:           # a GC costs a millisecond: not too often
            return
        self.call("gc", rt.GC)

    def op_set_gc_percent(self, a, b, c, d):
        x = self.res(a)
        if isinstance(x, int) and not isinstance(x, bool) and x < 0 and x != -1:
            x = x % 300
        ok, old = self.call("set_gc_percent", debug.SetGCPercent, x, expect=_gc_percent_expect(x))
        if ok:
            assert isinstance(old, int) and -1 <= old < 1 << 31

    def op_set_memory_limit(self, a, b, c, d):
        x = self.res(a)
        ok, old = self.call("set_memory_limit", debug.SetMemoryLimit, x,
                            expect=_memory_limit_expect(x, query_ok=True))
        if ok:
            assert isinstance(old, int) and 0 <= old < 1 << 63

    def op_knob(self, a, b, c, d):
        """Out-of-range knobs: constructor keywords, SetMemoryLimit, SetGCPercent, GODEBUG,
        each with the exact exception the value calls for (never a wrap-around)."""
        x = self.res(a)
        which = (b if isinstance(b, int) and not isinstance(b, bool) else 0) % 5
        if which == 0:
            self.call("knob", lambda v: rt.Runtime(gogc=v, arena_cap=8 << 20), x,
                      expect=_gogc_expect(x))
        elif which == 1:
            self.call("knob", lambda v: rt.Runtime(memory_limit=v, arena_cap=8 << 20), x,
                      expect=_memory_limit_expect(x, query_ok=False, malformed=rt.FatalError))
        elif which == 2:
            self.call("knob", lambda v: rt.Runtime(godebug=v, arena_cap=8 << 20), x,
                      expect=None if x is None or isinstance(x, str) else TypeError)
        elif which == 3:
            e = _memory_limit_expect(x, query_ok=True)
            if e is None:
                x = -1                      # a query: keep this program's own limit
            self.call("knob", debug.SetMemoryLimit, x, expect=e)
        else:
            e = _gc_percent_expect(x)
            if e is None:
                x = -1 if self.r.pacer.gc_percent < 0 else self.r.pacer.gc_percent
            self.call("knob", debug.SetGCPercent, x, expect=e)

    def op_copy(self, a, b, c, d):
        """copy.copy gives an independently rooted handle; deepcopy and pickle refuse."""
        import copy as _copy
        import pickle as _pickle
        h = self.res(a)
        if not isinstance(h, (rt.Pointer, rt.SliceValue, weak.Pointer)):
            self.call("copy", _copy.copy, h)
            return
        ok, c2 = self.call("copy", _copy.copy, h)
        if ok and isinstance(h, rt.Pointer):
            assert c2 == h and c2 is not h and c2.elem is h.elem
        elif ok and isinstance(h, rt.SliceValue):
            assert (c2.addr, len(c2), c2.cap) == (h.addr, len(h), h.cap) and c2 is not h
        elif ok:
            assert c2 == h
        if ok:
            self.keep_handle(c2)
        if isinstance(b, int) and b % 2:
            self.call("copy", _copy.deepcopy, h,
                      expect=None if isinstance(h, weak.Pointer) else TypeError)
        else:
            self.call("copy", _pickle.dumps, h, expect=TypeError)

    def op_alias_store(self, a, b, c, d):
        """store_pointers whose src (and offsets) are views of the arena: the batch is
        validated and written as the arrays were at the call, whatever it overwrites."""
        ptr_objs = [x for x in self.raw if not x[2] and x[1] >= 16]
        if not ptr_objs and len(self.raw) < POOL:    # one of its own: 4 pointer words
            ok, addr = self.call("alias_store", self.heap.alloc, 32, False, np.ones(4, np.uint8))
            if ok:
                self.slots.append((self.heap.add_root(addr), addr))
                self.raw.append((addr, 32, False))
                ptr_objs = [(addr, 32, False)]
        if not ptr_objs:
            return
        k = a.k if isinstance(a, Ref) else 0
        addr, size, _ = ptr_objs[k % len(ptr_objs)]
        n = min(size // 8, 4)
        try:
            src = self.heap.view(addr, 8 * n).view(np.uint64)
        except ValueError:
            return                          # freed meanwhile
        targets = [a2 + 8 * w for a2, size2, ns2 in ptr_objs for w in range(min(size2 // 8, 4))
                   if self.heap.is_pointer_word(a2 + 8 * w)]          # pointer words to store to
        if not targets:
            return
        j = b.k if isinstance(b, Ref) else 0
        targets = targets[j % len(targets):] + targets[:j % len(targets)]
        offs = np.zeros(n, np.uint64)
        dst = np.array([self._valid_target(Ref("ptr", i)) for i in range(n)], np.uint64)
        if not (isinstance(c, int) and c % 5 == 4):    # mostly: make src[i] name real targets
            for i in range(n):
                self.heap.write_word(addr + 8 * i, targets[i % len(targets)])
        expect = None if _batch_ok(self.heap, src.copy(), offs) else ValueError
        self.call("alias_store", self.heap.store_pointers, src, offs, dst, expect=expect,
                  touched=(addr, *(int(x) for x in src)))

    def op_foreign_thread(self, a, b, c, d):
        """A plain Python thread calling into this cooperative runtime: RuntimeError, and
        nothing changed (the owner might be collecting)."""
        import threading
        r = self.r
        p = self.res(b)
        acts = [lambda: r.new(Leaf), lambda: r.make(rt.Slice(rt.Int), 3), lambda: r.gc(),
                lambda: r.heap.alloc(16, True), lambda: weak.Make(p),
                lambda: setattr(p, "value", p.value) if isinstance(p, rt.Pointer) else r.new(Node)]
        act = acts[(a if isinstance(a, int) and not isinstance(a, bool) else 0) % len(acts)]
        if act is acts[4] and not isinstance(p, rt.Pointer):
            act = acts[0]

        def in_thread():
            box = []

            def run():
                try:
                    act()
                except BaseException as e:  # noqa: BLE001
                    box.append(e)
            t = threading.Thread(target=run)
            t.start()
            t.join(60)
            if box:
                raise box[0]
        self.call("foreign_thread", in_thread, expect=RuntimeError)

    def op_free_os_memory(self, a, b, c, d):
        if isinstance(a, int) and a % 4:
            return
        self.call("free_os_memory", debug.FreeOSMemory)

    def op_read_gc_stats(self, a, b, c, d):
        s = self.res(a)
        expect = None
        if isinstance(s, debug.GCStats):
            s.PauseQuantiles = [0] * ((b if isinstance(b, int) and 0 <= b < 9 else 0))
        ok, _ = self.call("read_gc_stats", debug.ReadGCStats, s, expect=expect)

    def op_metrics_read(self, a, b, c, d):
        s = self.res(a)
        self.call("metrics_read", metrics.Read, s)

    def op_gomaxprocs(self, a, b, c, d):
        n = self.res(a)
        if isinstance(n, int) and not isinstance(n, bool) and 0 < n <= 1 << 20:
            n = n % 12
        expect = _int_expect(n)
        if expect is None and _is_int(n) and n > 256:
            expect = ValueError
        self.call("gomaxprocs", rt.GOMAXPROCS, n, expect=expect)

    def op_gosched(self, a, b, c, d):
        self.call("gosched", rt.Gosched, sched=True)

    def op_sleep(self, a, b, c, d):
        ns = self.res(a)
        if isinstance(ns, int) and not isinstance(ns, bool) and ns > 600 * 10**9:
            ns %= 600 * 10**9          # docs/reliability.md: Sleep replays every periodic GC
        expect = None if isinstance(ns, int) and not isinstance(ns, bool) else TypeError
        self.call("sleep", rt.Sleep, ns, expect=expect, sched=True)

    def op_go(self, a, b, c, d):
        fn = self.res(a)
        if callable(fn) or isinstance(a, Ref) and a.kind == "fin":
            k = a.k if isinstance(a, Ref) else 0
            fn = lambda: self.replay(k, None)  # noqa: E731
        self.call("go", rt.go, fn, expect=None if callable(fn) else TypeError)

    def op_keepalive(self, a, b, c, d):
        self.call("keepalive", rt.KeepAlive, self.res(a))

    def op_num_goroutine(self, a, b, c, d):
        ok, n = self.call("num_goroutine", rt.NumGoroutine)
        assert ok and n >= 1

    def op_chan_new(self, a, b, c, d):
        n = self.res(a)
        if isinstance(n, int) and not isinstance(n, bool) and n > 8:
            n %= 9
        expect = _index_like_expect(n)
        if isinstance(n, (rt.Type, str)):
            expect = None                 # rt.Chan(T) is the channel *type* chan T
        elif isinstance(n, (int, np.integer)) and n < 0:
            expect = rt.Panic
        ok, ch = self.call("chan_new", rt.Chan, n, expect=expect)
        if ok and isinstance(ch, rt.Chan):
            self.keep(self.chans, ch)

    def op_heap_chan_new(self, a, b, c, d):
        """``make(chan T, n)`` on the heap: its values live in the heap buffer."""
        T, n = self.res(a), self.res(b)
        if isinstance(n, int) and not isinstance(n, bool):
            n %= 5
        if not isinstance(T, rt.Type):
            return
        ok, ch = self.call("heap_chan_new", lambda T, n: rt.make(rt.ChanType(T), n), T, n)
        if ok:
            self.keep(self.chans, ch)

    def op_chan_try_send(self, a, b, c, d):
        ch = self.res(a)
        if not isinstance(ch, rt.Chan):
            return
        expect = _send_expect(ch)
        self.call("chan_try_send", lambda ch, v: ch.try_send(v), ch, self.res(b), expect=expect)

    def op_chan_try_recv(self, a, b, c, d):
        ch = self.res(a)
        if isinstance(ch, rt.Chan):
            self.call("chan_try_recv", lambda ch: ch.try_recv(), ch)

    def op_chan_close(self, a, b, c, d):
        ch = self.res(a)
        if not isinstance(ch, rt.Chan):
            return
        expect = rt.Panic if ch.closed else None
        self.call("chan_close", lambda ch: ch.close(), ch, expect=expect)

    def op_chan_len(self, a, b, c, d):
        ch = self.res(a)
        if isinstance(ch, rt.Chan):
            self.call("chan_len", len, ch)

    def op_chan_send(self, a, b, c, d):
        ch = self.res(a)
        if not isinstance(ch, rt.Chan):
            return
        self.call("chan_send", lambda ch, v: ch.send(v), ch, self.res(b), sched=True,
                  expect=_send_expect(ch))

    def op_chan_recv(self, a, b, c, d):
        ch = self.res(a)
        if not isinstance(ch, rt.Chan):
            return
        self.call("chan_recv", lambda ch: ch.recv2(), ch, sched=True)

    def op_select(self, a, b, c, d):
        cases = []
        for x in (a, b, c):
            v = self.res(x)
            if isinstance(v, rt.Chan) or v is None:
                cases.append(("recv", v) if isinstance(x, Ref) and x.k % 2 else ("send", v, 1))
            else:
                cases.append(v)
        self.call("select", go_select, cases, bool(d) if not isinstance(d, Ref) else True,
                  sched=True)

    def op_wg_new(self, a, b, c, d):
        ok, wg = self.call("wg_new", rt.WaitGroup)
        if ok:
            self.keep(self.wgs, wg)

    def op_wg_add(self, a, b, c, d):
        wg, n = self.res(a), self.res(b)
        if not isinstance(wg, rt.WaitGroup):
            return
        expect = _index_like_expect(n)
        if isinstance(n, (int, np.integer)) and wg.counter + n < 0:
            expect = rt.Panic
        self.call("wg_add", lambda wg, n: wg.Add(n), wg, n, expect=expect)

    def op_wg_wait(self, a, b, c, d):
        wg = self.res(a)
        if isinstance(wg, rt.WaitGroup):
            self.call("wg_wait", lambda wg: wg.Wait(), wg, sched=True)

    # -- the bulk Heap API (raw addresses: the caller is trusted to store valid pointers) --
    def op_heap_alloc(self, a, b, c, d):
        size = self.res(a)
        if isinstance(size, int) and not isinstance(size, bool) and 0 <= size <= 1 << 20:
            size %= 50000
        noscan = self.res(b) if not isinstance(b, Ref) else bool(b.k & 1)
        mask = self.res(c) if isinstance(c, Ref) and c.kind in ("mask", "junk") else (
            np.array([1, 0], np.uint8) if c else None)
        count = self.res(d) if not isinstance(d, Ref) else 1
        p = [0, 0, 0, 0, 0, -1, 1, 300][d.k % 8] if isinstance(d, Ref) else 0     # the P
        expect = _index_expect_u64(size) or _index_expect_u64(count) or (
            ValueError if not 0 <= p < self.heap.nprocs else None)
        ok, addr = self.call("heap_alloc", lambda *a: self.heap.alloc(*a, p=p), size, noscan,
                             mask, count, expect=expect)
        if ok and isinstance(size, int) and addr != rt.runtime._heap.ZERO_BASE and len(self.raw) < POOL:
            self.slots.append((self.heap.add_root(addr), addr))
            self.raw.append((addr, size, bool(noscan) or mask is None))

    def op_heap_alloc_many(self, a, b, c, d):
        size, n = self.res(a), self.res(b)
        if isinstance(size, int) and not isinstance(size, bool) and 0 <= size <= 1 << 20:
            size %= 50000
        if isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= 1 << 40:
            n %= 64
        noscan = bool(c) if not isinstance(c, Ref) else bool(c.k & 1)
        mask = self.res(d) if isinstance(d, Ref) and d.kind == "mask" else None
        expect = TypeError if not _is_index(size) or not _is_index(n) else None
        ok, out = self.call("heap_alloc_many", self.heap.alloc_many, size, noscan, n, mask,
                            expect=expect)
        if ok:       # shorter when a GC is due or the heap ran out part way (then not empty)
            assert out.dtype == np.uint64 and (len(out) == n or 0 < len(out) < n)

    def op_heap_store_pointers(self, a, b, c, d):
        src = self._raw_words(a, pointer=True)
        dst = [self._valid_target(x) for x in (b, c, d)][:len(src)]
        while len(dst) < len(src):
            dst.append(0)
        offs = np.zeros(len(src), np.uint64)
        bad = self.res(d)
        if isinstance(bad, int) and not isinstance(bad, bool) and 0 <= bad < 1 << 64 and src:
            # a malformed batch: one target that is not a pointer word of a live object
            src.append(bad)
            dst.append(0)
            offs = np.append(offs, np.uint64(0))
        s, dd = np.array(src, np.uint64), np.array(dst, np.uint64)
        expect = None if _batch_ok(self.heap, s, offs) else ValueError
        self.call("heap_store_pointers", self.heap.store_pointers, s, offs, dd, expect=expect,
                  touched=tuple(int(x) for x in s))

    def _raw_words(self, a, pointer):
        out = []
        for addr, _size, noscan in self.raw:
            if noscan is (not pointer):
                out.append(addr)
        k = a.k if isinstance(a, Ref) else 0
        return out[k % 3: k % 3 + 3] if out else []

    def _valid_target(self, x):
        v = self.res(x)
        if isinstance(v, rt.Pointer) and v.runtime is self.r:
            return v.addr
        if self.raw and isinstance(x, Ref):
            return self.raw[x.k % len(self.raw)][0]
        return 0

    def op_heap_read_word(self, a, b, c, d):
        addr = self.res(a)
        self.call("heap_read_word", self.heap.read_word, addr,
                  expect=_addr_expect(self.heap, addr, 8, word=True))

    def op_heap_write_word(self, a, b, c, d):
        addr, value = self.res(a), self.res(b)
        if isinstance(a, Ref) and a.kind == "raw":
            # writes that succeed only go to pointer-free words of objects the program owns
            words = [x for x, size, noscan in self.raw if noscan and size >= 8]
            if not words:
                return
            addr = words[a.k % len(words)]
            if (a.k // 7) % 16 >= 13:     # near a raw object: maybe free or unaligned
                addr = self.res(a)
                if _addr_expect(self.heap, addr, 8, word=True) is None:
                    return
        elif _addr_expect(self.heap, addr, 8, word=True) is None:
            return                    # an arbitrary word of an object: unsafe by design
        expect = _u64_expect(addr) or _u64_expect(value) or _addr_expect(self.heap, addr, 8, word=True)
        self.call("heap_write_word", self.heap.write_word, addr, value, expect=expect,
                  touched=(addr,) if isinstance(addr, int) else ())

    def op_heap_view(self, a, b, c, d):
        addr, n = self.res(a), self.res(b)
        expect = _u64_expect(addr) or _u64_expect(n) or _addr_expect(self.heap, addr, n)
        ok, v = self.call("heap_view", self.heap.view, addr, n, expect=expect)
        if ok:
            assert len(v) == n
            v.sum()                      # read it (ASan: no out-of-bounds view)

    def op_heap_find_object(self, a, b, c, d):
        addr = self.res(a)
        ok, info = self.call("heap_find_object", self.heap.find_object, addr,
                             expect=_u64_expect(addr))
        if ok and info is not None:
            base, slot, size, spc = info
            assert slot <= addr < slot + size and slot <= base

    def op_heap_add_root(self, a, b, c, d):
        addr = self.res(a)
        expect = _u64_expect(addr)
        if expect is None and 0xc000000000 <= addr < 0xc000000000 + self.heap.arena_cap \
                and self.heap.find_object(addr) is None:
            expect = ValueError           # would be a bad pointer at every GC
        ok, slot = self.call("heap_add_root", self.heap.add_root, addr, expect=expect)
        if ok:
            self.slots.append((slot, addr))

    def op_heap_remove_root(self, a, b, c, d):
        slot = self.res(a)
        if isinstance(a, Ref) and a.kind == "slot" and self.slots:
            slot = self.slots[a.k % len(self.slots)][0]
        expect = _int_expect(slot)
        if expect is None and _is_index(slot):
            if not -(1 << 63) <= slot < 1 << 63:
                expect = OverflowError
            elif int(slot) not in {s for s, _ in self.slots}:
                expect = ValueError       # not handed out by add_root: a handle's, or free
        ok, _ = self.call("heap_remove_root", self.heap.remove_root, slot, expect=expect)
        if ok:
            self.slots = [x for x in self.slots if x[0] != int(slot)]
            self.raw = [x for x in self.raw if any(x[0] == s[1] for s in self.slots)]

    def op_heap_query(self, a, b, c, d):
        addr = self.res(a)
        fn = [self.heap.in_arena, self.heap.is_marked][b.k % 2 if isinstance(b, Ref) else 0]
        self.call("heap_query", fn, addr, expect=_u64_expect(addr))

    # -- the allocating language (rt.append, copy, strings, interface boxing) --------------
    # Rules: a failed call changes nothing (self.call checks); a successful one returns
    # what Go's builtin returns, and the heap stays consistent (self.verify).
    def op_append(self, a, b, c, d):
        s = self.res(a)
        vals = [self.res(b)] + ([] if c is None else [self.res(c)])
        n0 = len(s) if isinstance(s, rt.SliceValue) else 0
        ok, out = self.call("append", rt.append, s, *vals, touched=(s,) if isinstance(s, rt.SliceValue) else ())
        if ok:
            assert isinstance(out, rt.SliceValue) and len(out) == n0 + len(vals) and out.cap >= len(out)
            if isinstance(s, rt.SliceValue) and s.cap >= len(out):
                assert out.addr == s.addr, "append within capacity moved the array"
            self.keep(self.slices, out)

    def op_go_copy(self, a, b, c, d):
        dst, src = self.res(a), self.res(b)
        ok, n = self.call("go_copy", rt.copy, dst, src, touched=tuple(x for x in (dst, src) if isinstance(x, rt.SliceValue)))
        if ok:
            assert 0 <= n <= (len(dst) if isinstance(dst, rt.SliceValue) else 0)

    def _strings(self):
        return self.__dict__.setdefault("strs", [])

    def op_concat(self, a, b, c, d):
        pool = self._strings()
        parts = [self.res(a)]
        for x in (b, c):
            x = self.res(x)
            parts.append(pool[x % len(pool)] if isinstance(x, int) and not isinstance(x, bool) and x >= 0 and pool else x)
        ok, v = self.call("concat", rt.concat, *parts)
        if ok:   # a []byte operand is Go's string(b) inside the expression
            assert bytes(v) == b"".join(x.encode() if isinstance(x, str) else
                                        (bytes(self.heap.view(x.addr, len(x))) if len(x) else b"") if isinstance(x, rt.SliceValue)
                                        else bytes(x) for x in parts)
            self.keep(pool, v)

    def op_bytes_string(self, a, b, c, d):
        x = self.res(a)
        if isinstance(x, rt.SliceValue):
            ok, v = self.call("bytes_string", rt.string, x)
            if ok:
                assert bytes(v) == bytes(self.heap.view(x.addr, len(x))) if len(x) else len(v) == 0
                self.keep(self._strings(), v)
        else:
            ok, v = self.call("bytes_string", rt.bytes, x)
            if ok:
                assert isinstance(v, rt.SliceValue) and v.cap >= len(v)
                self.keep(self.slices, v)

    def op_box(self, a, b, c, d):
        hold = self.__dict__.get("iface_hold")
        if hold is None:
            hold = self.iface_hold = rt.new(rt.Array(rt.Any, 4))
        i, v = self.res(a), self.res(b)
        i = i % 4 if isinstance(i, int) and not isinstance(i, bool) else 0
        ok, _ = self.call("box", _setitem, hold, i, v, touched=(hold,))
        if ok and isinstance(v, (bool, int, float, str)) and not (isinstance(v, float) and v != v):
            assert hold[i] == v, (hold[i], v)

    # -- maps: each map has a Python dict model beside it (keys normalized as Go compares)
    _MAP_TYPES = None

    def _map(self, a):
        if Fuzzer._MAP_TYPES is None:
            Fuzzer._MAP_TYPES = [rt.Map(rt.Int, rt.Int), rt.Map(rt.String, rt.Ptr(rt.Int)),
                                 rt.Map(rt.Int8, rt.String), rt.Map(rt.Int, rt.Array(rt.Byte, 200)),
                                 rt.Map(rt.Float64, rt.Int)]
        pool = self.__dict__.setdefault("maps", {})
        k = a % 5 if isinstance(a, int) and not isinstance(a, bool) else 0
        if k not in pool:
            hint = a % 20 if isinstance(a, int) and not isinstance(a, bool) else 0
            ok, m = self.call("map_make", lambda T, h: rt.make(T, hint=h), Fuzzer._MAP_TYPES[k], hint)
            if not ok:
                return None, None
            pool[k] = (m, {})
        return pool[k]

    def op_map_set(self, a, b, c, d):
        m, model = self._map(self.res(a))
        if m is None:
            return
        k, v = self.res(b), self.res(c)
        n0 = len(m)
        ok, _ = self.call("map_set", _setitem, m, k, v)
        if ok:
            key = str(k) if m.type.key == rt.String else (k.addr if isinstance(k, rt.Pointer) else k)
            if _is_nan(key):
                key = _NanKey()                 # Go: every NaN insert is a new entry
            model[key] = v
            assert len(m) == len(model), (len(m), len(model))
            got = m[k]
            if isinstance(v, (int, str)) and not isinstance(v, bool):
                assert got == v, (got, v)
        else:
            assert len(m) == n0

    def op_map_update(self, a, b, c, d):
        """``MapValue.update``: the compiled path for the int->int map, the checked loop
        for the others; the model follows."""
        m, model = self._map(self.res(a))
        if m is None:
            return
        n, v = self.res(b), self.res(c)
        n = n % 40 if isinstance(n, int) and not isinstance(n, bool) else 0
        if m.type.key == rt.Int and m.type.elem == rt.Int:
            keys = (np.arange(n) * 7 % 23).tolist()
            vals = [v] * n
        else:
            keys, vals = [n, n + 1], [v, v]
        n0 = len(m)
        ok, _ = self.call("map_update", lambda m, k, x: m.update(k, x), m, keys, vals)
        if ok:
            for k, x in zip(keys, vals):
                key = str(k) if m.type.key == rt.String else k
                model[key] = x
            assert len(m) == len(model), (len(m), len(model))
        else:
            assert len(m) == n0

    def op_closure(self, a, b, c, d):
        """``rt.closure`` with captured values from the zoo; stored in a func slot and
        called, it gives back what it captured."""
        hold = self.__dict__.get("func_hold")
        if hold is None:
            hold = self.func_hold = rt.new(rt.Array(rt.Func(), 2))
        n = 1 + (a % 2 if isinstance(a, int) and not isinstance(a, bool) else 0)
        caps = [self.res(x) for x in (b, c)][:n] if a != 23 else []    # 23: nothing captured
        ok, f = self.call("closure", rt.closure, _captured, *caps)
        if not ok:
            return
        ok, _ = self.call("func_store", _setitem, hold, n % 2, f, touched=(hold,))
        if ok:
            got = hold[n % 2]()
            assert len(got) == len(caps)
            for g, x in zip(got, caps):
                if isinstance(x, (int, str)) and not isinstance(x, bool):
                    assert g == x, (g, x)
                elif isinstance(x, rt.Pointer):
                    assert g == x, (g, x)

    def op_map_get(self, a, b, c, d):
        m, model = self._map(self.res(a))
        if m is None:
            return
        self.call("map_get", _getitem, m, self.res(b))

    def op_map_del(self, a, b, c, d):
        m, model = self._map(self.res(a))
        if m is None:
            return
        k = self.res(b)
        ok, _ = self.call("map_del", lambda m, k: m.__delitem__(k), m, k)
        if ok:
            key = str(k) if m.type.key == rt.String else (k.addr if isinstance(k, rt.Pointer) else k)
            if not _is_nan(key):                # Go: delete finds no NaN key
                model.pop(key, None)
            assert len(m) == len(model) and k not in m

    def op_map_range(self, a, b, c, d):
        """``for k := range m`` deleting entries not yet reached and inserting new ones:
        Go's rules (each entry at most once, a deleted one not produced, the model's
        length after)."""
        m, model = self._map(self.res(a))
        if m is None:
            return
        mode = b if isinstance(b, int) and not isinstance(b, bool) else 0

        def loop(m):
            produced, deleted = [], set()
            for k in m:
                produced.append(k)
                if mode % 3 == 1:               # delete every other entry not reached yet
                    for j, other in enumerate(list(model)):
                        if j % 2 == 0 and not isinstance(other, _NanKey) and other not in produced:
                            del m[other]
                            deleted.add(other)
                elif mode % 3 == 2 and len(produced) == 1:
                    rt.clear(m)
            return produced, deleted

        n0 = len(m)
        ok, out = self.call("map_range", loop, m)
        if not ok:
            assert len(m) == n0
            return
        produced, deleted = out
        nan = [k for k in produced if _is_nan(k)]
        plain = [k for k in produced if not _is_nan(k)]
        assert len(set(plain)) == len(plain), produced
        assert not (set(plain) & deleted), (produced, deleted)   # deleted before reached
        assert len(nan) <= sum(isinstance(x, _NanKey) for x in model)
        for x in deleted:
            model.pop(x, None)
        if mode % 3 == 2:
            model.clear()
        assert len(m) == len(model), (len(m), len(model))

    def op_map_clear(self, a, b, c, d):
        m, model = self._map(self.res(a))
        if m is None:
            return
        ok, _ = self.call("map_clear", rt.clear, m)
        if ok:
            model.clear()
            assert len(m) == 0

    def op_runtime_new(self, a, b, c, d):
        kw = {}
        for name, x in zip(("gogc", "memory_limit", "gomaxprocs", "scheduler"), (a, b, c, d)):
            if not isinstance(x, Ref) or x.k % 3 == 0:
                kw[name] = self.res(x)
        cap = self.res(a) if isinstance(b, int) and b % 7 == 0 else 8 << 20
        if cap is None or isinstance(cap, int) and cap > 64 << 20:
            cap = 64 << 20               # not the default: half the machine's RAM
        kw["arena_cap"] = cap
        self.call("runtime_new", lambda kw: rt.Runtime(**kw), kw, expect=_runtime_expect(kw))

    def op_drop(self, a, b, c, d):
        pool = [self.ptrs, self.slices, self.weaks, self.resurrected, self.chans][
            a.k % 5 if isinstance(a, Ref) else 0]
        if pool:
            del pool[(b if isinstance(b, int) else 0) % len(pool)]


# ---------------------------------------------------------------------------------------
# Expectations: the exception a call must raise, when the arguments decide it

def _captured(*xs):
    return xs


def _send_expect(ch):
    """A send on a closed channel panics; on a heap channel a value of the wrong type is
    the compiler's error first (TypeError, OverflowError, ValueError for a foreign handle)."""
    if not ch.closed:
        return None
    if isinstance(ch, rt.Chan) and hasattr(ch, "hchan"):
        return (rt.Panic, TypeError, OverflowError, ValueError)
    return rt.Panic


def _names(e):
    return e.__name__ if isinstance(e, type) else "/".join(x.__name__ for x in e)


def _short(args):
    s = ", ".join(_repr(a) for a in args)
    return f"({s[:300]})"


def _repr(a):
    try:
        return repr(a)
    except Exception:  # noqa: BLE001
        return f"<{type(a).__name__}>"


def _diff(a, b):
    if isinstance(a, dict):
        return {k: (a.get(k), b.get(k)) for k in set(a) | set(b) if a.get(k) != b.get(k)}
    return [(i, x, y) for i, (x, y) in enumerate(zip(a, b)) if x != y]


def _ms_dict(m):
    d = m.fields()
    d["BySize"] = [(e.Size, e.Mallocs, e.Frees) for e in m.BySize]
    d["PauseNs"], d["PauseEnd"] = list(m.PauseNs), list(m.PauseEnd)
    return d


def _addrs(x):
    if isinstance(x, (rt.Pointer, rt.SliceValue)):
        return [x.addr]
    if isinstance(x, int) and not isinstance(x, bool) and 0 <= x < 1 << 64:
        return [x]
    return []


def _is_int(x):
    return isinstance(x, (int, np.integer)) and not isinstance(x, bool)


#: Plain Python values that are not integers: passing one where Go takes an int must be a
#: TypeError. (Exotic objects, e.g. numpy arrays, may fail with any documented exception.)
NOT_INTS = (type(None), str, bytes, float, complex, list, tuple, dict, set, slice)


def _go_int_expect(x):
    """TypeError unless *x* is an integer (``__index__``) and not a bool."""
    if isinstance(x, (bool, np.bool_)):
        return TypeError
    return None if isinstance(x, (int, np.integer)) else TypeError


def _gogc_expect(x):
    if isinstance(x, str):
        return None
    e = _go_int_expect(x)
    return e or (None if -(1 << 31) <= int(x) < 1 << 31 else OverflowError)


def _gc_percent_expect(x):
    e = _go_int_expect(x)
    return e or (None if -(1 << 63) <= int(x) < 1 << 63 else OverflowError)


def _memory_limit_expect(x, query_ok, malformed=ValueError):
    from goruntime.pacer import parse_byte_count
    if x is None:
        return None
    if isinstance(x, str):
        return None if x in ("", "off") or parse_byte_count(x)[1] else malformed
    e = _go_int_expect(x)
    if e:
        return e
    if not -(1 << 63) <= int(x) < 1 << 63:
        return OverflowError
    return ValueError if int(x) < 0 and not query_ok else None


def _runtime_expect(kw):
    """The first exception Runtime(**kw) must raise, in its order of checks, or None."""
    if "gogc" in kw and _gogc_expect(kw["gogc"]):
        return _gogc_expect(kw["gogc"])
    if "memory_limit" in kw and _memory_limit_expect(kw["memory_limit"], False, rt.FatalError):
        return _memory_limit_expect(kw["memory_limit"], False, rt.FatalError)
    if "gomaxprocs" in kw:
        g = kw["gomaxprocs"]
        if isinstance(g, bool) or not isinstance(g, int):
            return TypeError
        if not 1 <= g <= 256:
            return ValueError
    cap = kw["arena_cap"]
    if isinstance(cap, bool) or not isinstance(cap, int):
        return TypeError
    if not 4 << 20 <= cap <= 1 << 40:
        return ValueError
    if "scheduler" in kw and kw["scheduler"] not in ("cooperative", "threads"):
        return ValueError
    return None


def _int_expect(x):
    if isinstance(x, (bool, np.bool_)):
        return None                       # Python's bool is an int: either way is fine
    return TypeError if isinstance(x, NOT_INTS) else None


def _index_like_expect(x):
    """operator.index(x) semantics (bools are ints there)."""
    return TypeError if isinstance(x, NOT_INTS) else None


def _float_ok(v):
    try:
        complex(v)
        return True
    except OverflowError:
        return False


def _u64_expect(x):
    if not isinstance(x, (int, np.integer)) or isinstance(x, (bool, np.bool_)):
        return None if isinstance(x, (bool, np.bool_)) else TypeError
    return None if 0 <= x < 1 << 64 else OverflowError


def _is_index(x):
    """What the bulk Heap API takes as an integer (operator.index; bools included)."""
    return isinstance(x, (int, np.integer))


def _index_expect_u64(x):
    if not _is_index(x):
        return TypeError
    return None if 0 <= x < 1 << 64 else OverflowError


def _addr_expect(heap, addr, n, word=False):
    """read_word/write_word/view: aligned words; bytes inside one allocated object."""
    e = _u64_expect(addr)
    if e is not None:
        return e
    if not isinstance(n, int) or isinstance(n, bool):
        return None
    if word and addr & 7:
        return ValueError
    start = 0xc000000000
    end = start + heap.mapped_bytes
    if not (start <= addr and addr + n <= end):
        return ValueError
    if n == 0:
        return None
    info = heap.find_object(addr)
    return None if info is not None and addr + n <= info[1] + info[2] else ValueError


def _make_expect(T, n, cap):
    if not isinstance(T, rt.Type) or T.underlying.kind != "slice":
        return TypeError
    def pyint(x):                        # make takes Python ints only (not numpy's)
        return isinstance(x, int) and not isinstance(x, bool)
    if not pyint(n) or (cap is not None and not pyint(cap)):
        return TypeError
    c = n if cap is None else cap
    if n < 0 or c < n:
        return rt.Panic
    if T.underlying.elem.size * c > 1 << 48:
        return rt.Panic
    if T.underlying.elem.size == 0 and c >= 1 << 63:
        return OverflowError
    if T.underlying.elem.size * c > ARENA:
        return MemoryError
    return None


def _has_attr_name(p, name):
    if name in ("addr", "value", "runtime", "elem", "type", "gotype", "field_ptr", "__class__"):
        return True
    if name.startswith("__") or name.startswith("_"):
        return hasattr(type(p), name)
    return _field_type(p, name) is not None


def _field_type(p, name):
    if not isinstance(p, rt.Pointer) or not isinstance(name, str) or p.elem is None:
        return None
    u = p.elem.underlying
    if u.kind != "struct":
        return None
    for f in u.fields:
        if f.name == name:
            return f.type
    return None


def _length(p):
    if isinstance(p, rt.SliceValue):
        return len(p)
    if isinstance(p, rt.Pointer) and p.elem is not None and p.elem.underlying.kind == "array":
        return p.elem.underlying.len
    return None


def _elem_type(p):
    if isinstance(p, rt.SliceValue):
        return p.elem
    if isinstance(p, rt.Pointer) and p.elem is not None and p.elem.underlying.kind == "array":
        return p.elem.underlying.elem
    return None


def _index_expect(p, i):
    if isinstance(p, rt.SliceValue):
        if isinstance(i, slice):
            return None
        n = len(p)
    elif isinstance(p, rt.Pointer):
        if p.elem is None or p.elem.underlying.kind != "array":
            return TypeError
        n = p.elem.underlying.len
    else:
        return None
    if isinstance(i, bool) or not isinstance(i, int):
        return TypeError
    if not 0 <= i < n:
        return IndexError
    return None


CLOSED = "goruntime: this Runtime is closed"


def _of_closed(x):
    """A handle of a closed runtime: any call through it (or storing it) raises
    FatalError(CLOSED) before looking at the other arguments (docs/api.md)."""
    r = getattr(x, "runtime", None) if isinstance(x, GO_OBJECTS) else None
    return isinstance(r, rt.Runtime) and r.dead == CLOSED


def _store_expect(owner, t, v):
    """What storing Python value *v* into a Go *t* through handle *owner* must raise, if
    anything (None: it must work, or the outcome is not decided here)."""
    kind = t.underlying.kind
    if isinstance(v, (rt.Pointer, rt.SliceValue)) and v.runtime is not owner.runtime:
        # foreign, and of a shape the field takes (else Go's compile error comes first)
        ptr = isinstance(v, rt.Pointer)
        if kind in ("ptr", "unsafe.Pointer", "interface") and ptr or kind == "slice" and not ptr \
                or kind in ("map", "chan", "func") \
                or kind in ("array", "struct") and ptr and v.elem == t:
            return ValueError
    if kind in ("int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32",
                "uint64", "uintptr"):
        if not isinstance(v, int) or isinstance(v, bool):
            return TypeError
        bits, signed = t.size * 8, not kind.startswith("u")
        lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
        return None if lo <= v <= hi else OverflowError
    if kind == "bool":
        return None if isinstance(v, bool) else TypeError
    if kind in ("float32", "float64"):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            return TypeError
        return None if _float_ok(v) else OverflowError
    if kind in ("complex64", "complex128"):
        if isinstance(v, bool) or not isinstance(v, (int, float, complex)):
            return TypeError
        return None if _float_ok(v) else OverflowError
    if kind == "ptr" or kind == "unsafe.Pointer":
        if v is None:
            return None
        if not isinstance(v, rt.Pointer):
            return TypeError
        return None if kind != "ptr" or v.elem == t.underlying.elem else TypeError
    if kind == "slice":
        if v is None:
            return None
        return None if isinstance(v, rt.SliceValue) and v.elem == t.underlying.elem else TypeError
    if kind == "string":
        return _string_expect(owner, v)
    if kind == "interface":                # boxed as Go boxes it (goruntime.iface)
        if v is None or isinstance(v, rt.Pointer):
            return None
        if isinstance(v, rt.SliceValue) or hasattr(v, "_go_word"):      # slices, maps
            return ValueError if v.runtime is not owner.runtime else None
        if isinstance(v, _iface.Value) or _iface.default_type(v) is not None:
            return None                      # assignability and range: decided by the call
        return TypeError
    if kind in ("array", "struct"):
        if isinstance(v, rt.Pointer) and v.elem == t:
            return None
        if kind == "array" and isinstance(v, (list, tuple)):
            return TypeError if len(v) != t.underlying.len else None
        return TypeError
    if kind in ("map", "chan", "func"):
        return None if v is None or isinstance(v, (rt.Pointer, rt.SliceValue)) else TypeError
    return None


def _string_expect(owner, v):
    """A str is a literal; a (ptr, len) pair must be a string Go could have made (Go's
    unsafe.String panics) whose bytes are in an allocated object or in rodata."""
    if isinstance(v, str):
        return None
    if not isinstance(v, tuple) or len(v) != 2 or \
            not all(isinstance(x, int) and not isinstance(x, bool) for x in v):
        return TypeError
    ptr, n = v
    if not 0 <= n <= 1 << 48:
        return rt.Panic                  # unsafe.String: len out of range
    if ptr == 0:
        return rt.Panic if n else None   # unsafe.String: ptr is nil and len is not zero
    if not 0 < ptr < 1 << 64:
        return ValueError
    if n > (1 << 64) - 1 - ptr:
        return rt.Panic
    data = getattr(v, "_data", None)
    if data is not None and data.runtime is not owner.runtime:
        return ValueError                # r.string() of another runtime
    heap = owner.runtime.heap
    if 0xc000000000 <= ptr < 0xc000000000 + heap.arena_cap:
        info = heap.find_object(ptr)
        return None if info is not None and ptr + n <= info[1] + info[2] else ValueError
    if n == 0:
        return None
    rodata = owner.runtime.rodata.by_addr
    return None if any(a <= ptr and ptr + n <= a + len(b) for a, b in rodata.items()) else ValueError


def _check_readback(fz, got, v, t):
    kind = t.underlying.kind
    if kind in ("float32",):
        want = float(np.float32(v))
    elif kind == "complex64":
        want = complex(np.complex64(v))
    elif kind in ("float64", "complex128"):
        want = complex(v) if kind == "complex128" else float(v)
    elif kind == "string" and isinstance(v, str):
        want = v
    elif kind in ("ptr", "unsafe.Pointer", "interface") or isinstance(v, bool) or \
            (isinstance(v, int) and kind not in ("map", "chan", "func")):
        want = v
    else:
        return
    if isinstance(want, (float, complex)) and cmath.isnan(want):
        assert cmath.isnan(got), (got, v)
    elif kind == "interface" and want is not None and not isinstance(want, rt.Pointer):
        # a boxed value (goruntime.iface) reads back as its value, or a slice/map handle
        # of the same backing store
        # (typed as its default type, else as an rt.value(T, x))
        g = got.x if isinstance(got, _iface.Value) else got
        w = want.x if isinstance(want, _iface.Value) else want
        if isinstance(w, rt.SliceValue) or hasattr(w, "_go_word"):
            assert g.addr == w.addr, (got, want)
        elif isinstance(w, (bool, int, float, complex, str)):
            assert g == w and type(g) is type(w), (t, got, want)
    elif kind in ("ptr", "unsafe.Pointer", "interface"):
        assert (got is None and want is None) or (got is not None and want is not None
                                                  and got.addr == want.addr), (got, want)
    else:
        assert got == want, (t, got, want)


def _finalizer_expect(fz, obj, fn):
    if obj is None or not isinstance(obj, rt.Pointer):
        return rt.FatalError
    if obj.runtime is not fz.r:
        return ValueError
    info = fz.heap.find_object(obj.addr)
    if info is None:
        return None
    if obj.addr != info[0]:
        e = obj.elem
        if e is None or e.has_pointers or e.size >= 16:
            return rt.FatalError
    if fn is None:
        return None
    if not callable(fn):
        return rt.FatalError
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return None
    if any(p.kind == p.VAR_POSITIONAL for p in params):
        return rt.FatalError             # "... because dotdotdot"
    n = len([p for p in params if p.default is p.empty and p.kind != p.VAR_KEYWORD])
    if n != 1 or fn is _annotated_wrong and obj.elem != Leaf:
        return rt.FatalError
    return rt.FatalError if obj.addr in fz.r.specials.finalizers else None


def _annotated_wrong(x):   # a finalizer for *FzLeaf only
    pass


# A real annotation object: this module uses PEP 563 string annotations (B18).
_annotated_wrong.__annotations__ = {"x": rt.Ptr(Leaf)}


def _cleanup_expect(fz, ptr, fn, arg):
    if ptr is None:
        return rt.Panic
    if not isinstance(ptr, rt.Pointer):
        return TypeError
    if ptr.runtime is not fz.r:
        return ValueError
    if isinstance(arg, (rt.Pointer, rt.SliceValue)) and arg.runtime is not fz.r:
        return ValueError
    if isinstance(arg, rt.Pointer) and arg.addr == ptr.addr:
        return rt.Panic
    if not callable(fn) or not _takes_one_arg(fn):
        return TypeError
    return None


def _batch_ok(heap, src, offs):
    for s, o in zip(src, offs):
        a = (int(s) + int(o)) & ((1 << 64) - 1)
        info = heap.find_object(a) if heap.in_arena(a) else None
        if info is None or a & 7 or not heap.is_pointer_word(a):
            return False
    return True


def _getitem(x, i):
    return x[i]


def _setitem(x, i, v):
    x[i] = v


def _get_value(p):
    return p.value


def _set_value(p, v):
    p.value = v


def _takes_one_arg(fn):
    try:
        inspect.signature(fn).bind(None)
        return True
    except TypeError:
        return False
    except ValueError:
        return True


# ---------------------------------------------------------------------------------------
# The tests

_TOTAL = {"calls": 0, "failures": 0, "programs": 0, "outcomes": {}}


def _reclaimed(ref, parked):
    """Two programs in 64 (one ended by its `with` block, i.e. closed, one dropped):
    its runtime, released once the program is over
    (handles, finalizers replaying the program and all), is freed by the next cycle
    collection, with its parked finalizer and cleanup goroutines (issue 13; before, a
    `_release` here had to throw GreenletExit into them, or 20000 programs kept tens of
    GiB alive). *parked*: a goroutine of the program (or a finalizer or cleanup) is still
    parked, its frame holding the fuzzer and so the runtime (a leaked goroutine; docs/reliability.md): not checked."""
    if _TOTAL["programs"] % 64 in (1, 2) and not parked:
        import gc
        gc.collect()
        assert ref() is None, "a released Runtime was not reclaimed"
        _TOTAL["reclaimed"] = _TOTAL.get("reclaimed", 0) + 1
        if _TOTAL["programs"] % 2 == 0:
            _TOTAL["reclaimed_dropped"] = _TOTAL.get("reclaimed_dropped", 0) + 1


def _run_program(program):
    import weakref
    fz = Fuzzer(program)
    fz.drop = _TOTAL["programs"] % 2 == 1
    ref = weakref.ref(fz.r)
    ok = False
    try:
        fz.run()
        ok = True
    except BaseException:
        note("decoded program:\n" + "\n".join(f"  {op}{_short(args)}" for op, *args in fz.program))
        raise
    finally:
        _TOTAL["calls"] += fz.calls
        _TOTAL["failures"] += fz.failures
        _TOTAL["programs"] += 1
        for k, v in fz.outcomes.items():
            _TOTAL["outcomes"][k] = _TOTAL["outcomes"].get(k, 0) + v
    if ok:
        closed = not fz.drop
        assert bool(fz.r.dead) == closed
        _TOTAL["closed" if closed else "dropped"] = _TOTAL.get("closed" if closed else "dropped", 0) + 1
        parked = fz.drop and any(g.wait_reason not in ("finalizer wait", "cleanup wait")
                                 for g in fz.r.sched.goroutines()[1:])
        del fz
        _reclaimed(ref, parked)


def _fuzz(max_examples, derandomize, phases=None):
    _TOTAL.update(calls=0, failures=0, programs=0, outcomes={}, closed=0, dropped=0, reclaimed=0,
                  reclaimed_dropped=0)
    extra = {} if phases is None else {"phases": phases}
    test = settings(max_examples=max_examples, deadline=None, derandomize=derandomize, **extra,
                    database=None if derandomize else settings().database,
                    suppress_health_check=list(HealthCheck),
                    print_blob=True)(given(PROGRAM)(_run_program))
    test()
    gc.collect()
    return dict(_TOTAL)


# ~75 s of CPU quietly; at load ~20 (seven test suites on 2 cores) it took over the suite's
# 900 s per-test limit, which is a hang guard, not a time budget: this test's own is 45 min.
@pytest.mark.timeout(2700)
def test_fuzz_public_api():
    """At least MIN_CALLS fuzzed calls, a fixed set (derandomized: reproducible in CI)."""
    # No shrinking here: a failing program is reported decoded (see _run_program), and
    # shrinking 50-80-call programs would take many minutes of `make test`.
    tot = _fuzz(max_examples=2000, derandomize=True, phases=(Phase.explicit, Phase.generate))
    print(f"\nfuzz: {tot['calls']} calls in {tot['programs']} programs, "
          f"{tot['failures']} raised (all checked)")
    assert tot["calls"] >= MIN_CALLS, tot["calls"]
    ops = {op for op, _ in tot["outcomes"]}
    assert ops >= {op for op in OPS if op != "drop"}, set(OPS) - ops - {"drop"}
    # both paths of the main calls were taken
    for op in ("new", "make", "setfield", "getindex", "set_finalizer", "add_cleanup",
               "heap_alloc", "heap_store_pointers", "gomaxprocs", "weak_make", "closure",
               "map_update", "heap_chan_new"):
        kinds = {k for o, k in tot["outcomes"] if o == op}
        assert "ok" in kinds and len(kinds) >= 2, (op, kinds)
    # issue 13's paths: copies and refusals, knobs out of range, arena-aliasing batches,
    # foreign threads refused
    want = {"copy": {"ok", "TypeError"}, "knob": {"ok", "OverflowError", "TypeError"},
            "alias_store": {"ok"}, "foreign_thread": {"RuntimeError"},
            "set_memory_limit": {"ok", "OverflowError"}}
    for op, need in want.items():
        kinds = {k for o, k in tot["outcomes"] if o == op}
        assert kinds >= need, (op, kinds)
    print("issue 13 ops:", {k: v for k, v in sorted(tot["outcomes"].items()) if k[0] in want})
    # half the programs end with their `with` block (closed), half drop their runtime
    # unclosed; each 64th is checked to be freed
    print(f"runtimes: {tot['closed']} closed by `with`, {tot['dropped']} dropped, "
          f"{tot['reclaimed']} checked freed")
    assert tot["closed"] >= 900 and tot["dropped"] >= 900, tot
    assert tot["reclaimed"] >= 40 and tot["reclaimed_dropped"] >= 15, tot


@pytest.mark.slow
def test_fuzz_public_api_long():
    """The same oracle, fresh randomness, ten times the programs."""
    tot = _fuzz(max_examples=20000, derandomize=False)
    print(f"\nfuzz (slow): {tot['calls']} calls in {tot['programs']} programs")
    assert tot["calls"] >= 10 * MIN_CALLS


@pytest.mark.parametrize("arena_cap", [4 << 20, 6 << 20])
def test_fuzz_near_out_of_memory(arena_cap):
    """Programs on an arena that fills up: MemoryError paths must leave the heap as it was."""
    calls = 0

    oom_ops = ["new", "new", "make", "setfield", "gc", "add_cleanup", "weak_make", "drop",
               "set_finalizer", "heap_alloc", "getfield", "value"]

    @settings(max_examples=150, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(st.lists(st.integers(0, 2**63 - 1), min_size=30, max_size=60))
    def run(words):
        nonlocal calls
        program = [decode(w, oom_ops) for w in words]
        fz = Fuzzer(program, arena_cap=arena_cap)
        fz._watch_sweep()
        with fz.r:
            fz._make_sentinels()
            filler = []
            try:                       # leave the arena nearly full
                while True:
                    filler.append(rt.new(rt.Array(rt.Byte, 1 << 16)))
            except MemoryError:
                pass
            del filler[:2]
            for op, *args in program:
                fz.step(op, args, 0)
                if fz.errors:
                    raise FuzzFailure(fz.errors[0])
            fz.finish()
        fz.r.close()
        calls += fz.calls

    run()
    assert calls > 3000


# ---------------------------------------------------------------------------------------
# Regression tests for the bugs the fuzzer found (docs/reliability.md, "Bugs found").
# Each asserts the right behaviour (all fixed).

def _run_isolated(src):
    """Run *src* in a fresh interpreter (a crash must not take the test run with it)."""
    code = "import numpy as np, goruntime as rt\nfrom goruntime import _heap\n" + textwrap.dedent(src)
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                          text=True, timeout=120)


def test_b1_alloc_mask_count_overflow_is_rejected():
    p = _run_isolated("""
        h = _heap.Heap(arena_cap=8 << 20)
        try:
            h.alloc(64, False, np.array([1], np.uint8), 2**61)
        except ValueError:
            print("ValueError")
    """)
    assert p.returncode == 0 and p.stdout.strip() == "ValueError", (p.returncode, p.stderr[-500:])


def test_b2_gomaxprocs_rejects_non_int_and_changes_nothing(runtime):
    for bad in (2.5, math.nan, 3.0):
        with pytest.raises(TypeError):
            rt.GOMAXPROCS(bad)
        assert rt.GOMAXPROCS(0) == 1 and runtime.heap.nprocs == 1
        check_invariants(rt.ReadMemStats())


def test_b3_failed_store_writes_nothing(runtime):
    T = rt.Struct("B3", a=rt.Array(rt.Int, 3), s=rt.String)
    p = rt.new(T)
    with pytest.raises(TypeError):
        p.a = [1, 2, "x"]
    assert [p.a[i] for i in range(3)] == [0, 0, 0]
    with pytest.raises(TypeError):
        p.s = (0xc000001000, "x")
    assert p.s == ""
    with pytest.raises((TypeError, ValueError)):
        p.s = (0xc000fff000, 5)           # not a string: would be a bad pointer at the next GC
    rt.GC()


def test_b4_add_cleanup_rejects_foreign_arg(runtime):
    with rt.Runtime(arena_cap=8 << 20) as r2:
        f = r2.new(Node)
    p = rt.new(Node)
    with pytest.raises(ValueError):
        rt.AddCleanup(p, lambda a: None, f)
    del f
    rt.GC()


def test_b5_add_cleanup_rejects_uncallable_signature(runtime):
    p = rt.new(Node)
    with pytest.raises(TypeError):
        rt.AddCleanup(p, lambda: None, 5)
    del p
    rt.GC()
    rt.Gosched()


def test_b6_out_of_memory_in_a_multi_object_call_changes_nothing():
    with rt.Runtime(godebug="gccheckmark=1", arena_cap=4 << 20) as r:
        keep = []
        try:
            while True:
                keep.append(rt.new(rt.Array(rt.Byte, 1 << 16)))
        except MemoryError:
            pass
        del keep[-2:]
        rt.GC()
        m0 = _ms_dict(rt.ReadMemStats())
        try:
            out = r.heap.alloc_many(8192, True, 10**6)
        except MemoryError:
            assert _ms_dict(rt.ReadMemStats()) == m0     # raised: nothing allocated
        else:                                            # or: returned what it allocated
            assert rt.ReadMemStats().Mallocs - m0["Mallocs"] == len(out) > 0


def test_b7_make_empty_pointer_slice(runtime):
    s = rt.make(rt.Slice(rt.Ptr(rt.Int)), 0)
    assert len(s) == 0 and s.cap == 0
    s = rt.make(rt.Slice(rt.String), 0, 0)
    assert len(s) == 0


def test_b8_unaligned_word_access_is_rejected(runtime):
    a = runtime.heap.alloc(16, True)
    with pytest.raises(ValueError):
        runtime.heap.read_word(a + 3)
    with pytest.raises(ValueError):
        runtime.heap.write_word(a + 3, 1)


def test_b9_raw_roots_are_validated(runtime):
    h = runtime.heap
    a = h.alloc(64, False, np.array([1], np.uint8))
    with pytest.raises(ValueError):
        h.add_root(a + 64 * 5)            # a free slot: every later GC would be fatal
    p = rt.new(Node)
    p.id = 7
    with pytest.raises(ValueError):
        for slot in range(h.nroots + 8):  # slots add_root did not hand out
            h.remove_root(slot)
    rt.GC()
    assert p.id == 7


def test_b10_raw_writes_outside_objects_are_rejected(runtime):
    h = runtime.heap
    a = h.alloc(16, True)
    with pytest.raises(ValueError):
        h.write_word(a + 4 * 8192, 0x1234)   # a page no object has used yet
    ps = [rt.new(rt.Array(rt.Int, 1000)) for _ in range(10)]
    assert not any(p[j] for p in ps for j in range(1000)), "rt.new returned a dirty object"


def test_b11_makeslice_cap_out_of_range_message(runtime):
    with pytest.raises(rt.Panic, match="makeslice: cap out of range"):
        rt.make(rt.Slice(rt.Int), 1, 2**50)


def test_b12_heap_string_survives_a_heap_triggered_gc(runtime):
    T = rt.Struct("B12", s=rt.String)
    p = rt.new(T)
    rt.GC()
    junk = [rt.new(rt.Array(rt.Byte, 64)) for _ in range(50)]
    del junk
    runtime.heap.trigger = runtime.heap.heap_live      # the string's allocation triggers
    p.s = runtime.string("y" * 40000)
    rt.GC()                                            # checkmark: the string must be marked
    assert p.s == "y" * 40000


def test_b13_huge_allocation_message(runtime):
    with pytest.raises(MemoryError, match=r"cannot allocate 18446744073709551615-byte block"):
        runtime.heap.alloc(2**64 - 1, True)


def test_b14_weak_make_is_canonical_for_zero_size_objects(runtime):
    z = rt.new(Empty)
    assert weak.Make(z) == weak.Make(z)
    assert weak.Make(z).Value() == z


def test_b26_weak_pointer_to_zero_size_object_survives_a_gc(runtime):
    z = rt.new(Empty)
    rt.GC()
    runtime.heap.trigger = runtime.heap.heap_live    # an allocation here would trigger a GC
    m0 = rt.ReadMemStats()
    w = weak.Make(z)          # Go (spec 1.9): an immortal handle, nothing allocated
    assert rt.ReadMemStats().Mallocs == m0.Mallocs and w._cell is None
    junk = [rt.new(Leaf) for _ in range(2000)]       # reuse the cell's slot if it is free
    for j in junk:
        j.a = -1
    rt.GC()
    assert w.Value() == z


def test_b15_zero_size_values_read_and_write(runtime):
    z = rt.new(Empty)
    assert z.value == z or z.value is not None      # Go: *z is struct{}{}
    z.value = rt.new(Empty)                          # Go: *z = struct{}{} is a no-op
    a = rt.new(rt.Array(Empty, 3))
    a[1]
    s = rt.make(rt.Slice(Empty), 3)
    s[0]
    assert len(list(s)) == 3


def test_b16_go_rejects_non_callable(runtime):
    with pytest.raises(TypeError):
        rt.go(float("nan"))
    rt.Gosched()                                     # nothing was started: nothing to raise


def test_b17_heap_api_rejects_floats(runtime):
    h = runtime.heap
    a = h.alloc(16, True)
    for call in (lambda: h.alloc(16.9, True), lambda: h.read_word(float(a)),
                 lambda: h.find_object(float(a)), lambda: h.in_arena(0.5),
                 lambda: h.alloc_many(16, True, 2.5), lambda: h.add_root(float(a))):
        with pytest.raises(TypeError):
            call()


def test_b18_finalizer_string_annotations_are_checked(runtime, tmp_path):
    mod = tmp_path / "b18_mod.py"
    mod.write_text("from __future__ import annotations\nimport goruntime as rt\n"
                   "U = rt.Struct('B18U', y=rt.Int)\n"
                   "def fin(p: rt.Ptr(U)):\n    pass\n")
    spec = importlib.util.spec_from_file_location("b18_mod", mod)
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    p = rt.new(rt.Struct("B18T", x=rt.Int))
    with pytest.raises(rt.FatalError, match="cannot pass"):
        rt.SetFinalizer(p, m.fin)


def test_failed_gc_on_a_bad_pointer_leaves_the_heap_usable(runtime):
    """Go's "found bad pointer in Go heap": raised, marks cleared, usable after repair."""
    T = rt.Struct("BadPtr", x=rt.Int, p=rt.Ptr(rt.Int))
    q = rt.new(T)
    rt.GC()
    m0 = _ms_dict(rt.ReadMemStats())
    runtime.heap.write_word(q.addr + 8, 0xc000fff000)   # unsafe: a pointer to nowhere
    with pytest.raises(rt.FatalError, match="found bad pointer in Go heap"):
        rt.GC()
    assert not runtime.heap.gcmark_bits.any() and not runtime.gc_running
    assert _ms_dict(rt.ReadMemStats()) == m0
    runtime.heap.write_word(q.addr + 8, 0)
    rt.GC()
    check_invariants(rt.ReadMemStats())
