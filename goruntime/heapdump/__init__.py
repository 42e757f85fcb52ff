"""Real Go heaps in: load a ``runtime/debug.WriteHeapDump`` file and ask questions of it.

``d = goruntime.heapdump.load(path)`` parses the dump (Go 1.27's "go1.7 heap dump" format,
see ``_parse.pyx``) and rebuilds the heap in a goruntime ``Runtime`` (``d.runtime``): every
object the dump holds, in a slot of the size and span class Go used, with its bytes and
its pointer bits; the roots (pointer slots of every goroutine's stack frames, of the data
and bss segments, other roots; given the binary, the frames' live stack objects)
registered with the collector; finalizers as specials
(their Go functions opaque: a queued finalizer is recorded, never run).

Go's addresses are kept for display: ``d.objects["addr"]`` (sorted) is the Go address of
each object and ``d.objects["arena"]`` its slot in the emulated arena; one vectorised
translation (``to_arena``/``to_go``) maps between them.

The questions (each also in the CLI, ``goruntime heapdump FILE``):

- ``d.gc()``: what a GC would do now (Go does not collect before dumping, so the dump
  holds the garbage made since the last cycle);
- ``d.why_alive(addr)``: one shortest path from a root, each step with its offset;
- ``d.retained_size(addr)``, ``d.dominators()``, ``d.top_retainers()``;
- ``d.by_size_class()``, ``d.by_site()`` (allocation sites from the dump's memory-profile
  samples: every object when the program set ``runtime.MemProfileRate = 1``);
- ``d.without_root(i)``: what dropping a root would free; ``d.next_gc(gogc)``.

The dump has no per-object types: objects are named by allocation site and size class,
and, given the binary with its DWARF (``load(path, binary=...)``), by Go type: the globals'
types propagated along typed pointers (``d.type_name(j)``, ``d.by_type()``, ``type`` and
``field`` in why_alive steps).
"""
import bisect
import contextlib
import mmap
import os
import re
import threading

import numpy as np

from .. import _heap, _mark, _signals
from ..mstats import MemStats
from . import _graph, _parse

__all__ = ["load", "HeapDump", "OBJECT_DTYPE", "ROOT_KINDS"]

SUPPORTED_VERSION = "go1.27"

# d.objects: one record per object (addr, size, arena, content_off, field_start, nptr,
# site, sizeclass, noscan); the parser fills it in place, in address order
OBJECT_DTYPE = _graph.OBJECT_DTYPE

# Root kinds, in the order roots are searched (the first root of a tie wins why_alive).
ROOT_KINDS = ("data", "bss", "other", "queued finalizer", "finalizer", "stack", "stack object")

_SIZE_CLASS_TO_SIZE = np.array(_heap.SIZE_CLASS_TO_SIZE, dtype=np.uint64)
_SIZE_CLASS_TO_NPAGES = np.array(_heap.SIZE_CLASS_TO_NPAGES, dtype=np.int64)
_MEMSTATS_FIELDS = (
    "Alloc", "TotalAlloc", "Sys", "Lookups", "Mallocs", "Frees", "HeapAlloc", "HeapSys",
    "HeapIdle", "HeapInuse", "HeapReleased", "HeapObjects", "StackInuse", "StackSys",
    "MSpanInuse", "MSpanSys", "MCacheInuse", "MCacheSys", "BuckHashSys", "GCSys", "OtherSys",
    "NextGC", "LastGC", "PauseTotalNs")

# MemStats fields of the loaded heap that must equal the dump's (the heap's contents),
# and those that describe the Go process rather than its heap objects.
COMPARABLE_FIELDS = ("HeapAlloc", "Alloc", "HeapObjects", "HeapInuse")
PROCESS_FIELDS = ("TotalAlloc", "Sys", "Mallocs", "Frees", "HeapSys", "HeapIdle",
                  "HeapReleased", "StackInuse", "StackSys", "MSpanInuse",
                  "MSpanSys", "MCacheInuse", "MCacheSys", "BuckHashSys", "GCSys", "OtherSys",
                  "NextGC", "LastGC", "PauseTotalNs", "NumGC", "Lookups")

_SIZES = np.array(_heap.SIZE_CLASS_TO_SIZE, dtype=np.uint64)
PAGE = 8192
_LAYOUT_ERRORS = {
    1: "has a size that is neither a Go 1.27 size class nor a whole number of pages",
    2: "is not in a slot of any page-aligned span",
    3: "lies in the span of the objects before it",
    4: "overlaps the object before it",
    5: "wraps the address space",
}


def _record_view(a, columns):
    """A 2-D uint64 table as a structured (record) view with named columns (no copy)."""
    dt = np.dtype([(c, "<u8") for c in columns])
    return np.ascontiguousarray(a).view(dt).reshape(len(a))


def _table(tables, name):
    """A parser table as a structured (record) view with named uint64 columns."""
    tag = next(t for t, n in _parse.TABLE_NAMES.items() if n == name)
    return _record_view(tables[name], _parse.COLUMNS[tag])


def _map(path):
    """The file, memory-mapped read-only (an empty array for an empty file). On Linux the
    mapping is populated up front (MAP_POPULATE): the parser reads every byte, and one
    call maps the cached pages faster than a fault per few pages."""
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size == 0:
            return np.zeros(0, dtype=np.uint8)
        flags = mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0)
        mm = mmap.mmap(f.fileno(), 0, flags=flags, prot=mmap.PROT_READ)
    return np.frombuffer(mm, dtype=np.uint8)


_PAGES_LOCK = threading.Lock()
_PAGES = [0, True]          # loads inside _small_pages, numpy's setting before the first


def _hugepage_switch():
    """numpy's ``_set_madvise_hugepage`` (numpy 1.20+; sets, returns the old value), or None."""
    for core in ("_core", "core"):
        mod = getattr(getattr(np, core, None), "multiarray", None)
        if mod is not None and hasattr(mod, "_set_madvise_hugepage"):
            return mod._set_madvise_hugepage
    return None


@contextlib.contextmanager
def _small_pages():
    """numpy's allocations without MADV_HUGEPAGE (numpy asks for transparent huge pages on
    every array of 4 MiB or more). The load's tables are written once, right after they
    are made, and on this VM a fresh huge page costs the kernel far more to clear than
    the 512 small pages it replaces when the memory was not in use just before (a 10M
    load: 1.4-1.9 s of kernel time with huge pages, 0.8-0.9 s without; the walks over
    the tables are no slower). The Runtime's arena keeps them (its mark is faster with
    them). numpy's switch is per process: nested or concurrent loads restore it once."""
    sh = _hugepage_switch()
    if sh is None:
        yield
        return
    with _signals.held(), _PAGES_LOCK:
        if _PAGES[0] == 0:
            _PAGES[1] = sh(False)
        _PAGES[0] += 1
    try:
        yield
    finally:
        with _signals.held(), _PAGES_LOCK:
            _PAGES[0] -= 1
            if _PAGES[0] == 0:
                sh(_PAGES[1])


def _auto_threads(nbytes):
    """Threads for the parallel passes: the CPUs this process may run on (at most 4), for
    a dump of 16 MiB or more; 1 below (a thread costs more than it saves there)."""
    if nbytes < 16 << 20:
        return 1
    try:
        ncpu = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        ncpu = os.cpu_count() or 1
    return max(1, min(4, ncpu))


def load(path, *, binary=None, build_runtime=True, arena_cap=None, threads=None):
    """Parse the heap dump at *path* and rebuild its heap; returns a `HeapDump`.

    Raises ValueError for a malformed or truncated file (naming the offset), or one written
    by another Go version or for another architecture (saying which).
    ``build_runtime=False`` skips placing the objects in a Runtime (the graph questions
    still work; ``d.runtime`` and ``d.gc()`` are then unavailable). *binary*: the
    program that wrote the dump (not stripped); its symbol table names global roots,
    its pclntab names the frames' stack objects (address-taken locals: roots the dump's
    frames do not list, `_pclntab`), and its DWARF (when kept: ``go build``'s default)
    types the objects (`type_objects`).
    *threads*: how many threads the parser's filling pass, the pointer resolution and the
    copying into the arena use (None: the CPUs available, at most 4, for a dump of 16 MiB
    or more); the result is the same for any number.
    """
    buf = _map(path)
    d = HeapDump(buf, path=os.fspath(path), build_runtime=build_runtime, arena_cap=arena_cap,
                 threads=threads, binary=binary)
    if binary is not None:
        from ._elf import Symbols
        from . import _dwarf
        d.symbols = Symbols(binary)
        try:
            prog = _dwarf.Program(binary)
        except _dwarf.NoDwarf:
            prog = None
        if prog is not None:
            d.type_objects(prog)
    return d


class HeapDump:
    """A parsed heap dump and the Runtime holding its heap. Use `load` to make one."""

    def __init__(self, buf, *, path="<bytes>", build_runtime=True, arena_cap=None, threads=None,
                 binary=None):
        buf = np.frombuffer(buf, dtype=np.uint8) if not isinstance(buf, np.ndarray) else buf
        self.path = path
        self._buf = buf
        self._threads = _auto_threads(len(buf)) if threads is None else max(1, int(threads))
        with _small_pages():
            self._load(buf)
        self.stack_objects_read = binary is not None
        if binary is not None:        # the frames' stack objects, from the binary's pclntab
            from ._pclntab import Pclntab
            self._stack_object_roots(Pclntab(binary))
        self._bfs = None
        self._dom = None
        self._gc_result = None
        self.symbols = None           # _elf.Symbols of the binary, when given
        self.program = None           # _dwarf.Program of the binary (its DWARF), when given
        self.object_type = None       # per object: a type id into program.types, -1 untyped
        self.object_count = None      # per object: how many values of that type it holds
        self.runtime = None
        if build_runtime:
            self._build_runtime(arena_cap)

    def _load(self, buf):
        """Parse, lay out the objects and resolve the graph and the roots."""
        t = _parse.parse(buf, sort_objects=True, object_dtype=OBJECT_DTYPE, threads=self._threads)
        self._tables = t
        self._fields = t["fields"]
        self.params = self._read_params(_table(t, "params")[0])
        self._check_params()
        self.memstats = self._read_memstats(t["memstats"][0])
        self.types = {int(r["addr"]): (self._str(r["name_off"], r["name_len"]), int(r["size"]))
                      for r in _table(t, "types")}
        self.goroutines = _table(t, "goroutines")
        self.frames = _table(t, "frames")
        self.segments = {"data": _table(t, "data"), "bss": _table(t, "bss")}
        self.other_roots = _table(t, "other_roots")
        self.finalizers = _table(t, "finalizers")
        self.queued_finalizers = _table(t, "queued_finalizers")
        self.defers = _table(t, "defers")
        self.panics = _table(t, "panics")
        self.os_threads = _table(t, "os_threads")
        self._objects_from(t["objects"])
        self._sites_from(_table(t, "memprof"), t["stacks"], _table(t, "alloc_samples"))
        self._graph()
        self._roots()
        # frame slots pointing into their goroutine's stack: stack objects may be there
        # (followed only with the binary: _stack_object_roots)
        self.stack_pointers = int(self._stack_pointers()[-1].sum())

    # -- parsing helpers ---------------------------------------------------------------
    def _str(self, off, n):
        return bytes(self._buf[int(off):int(off) + int(n)]).decode("utf-8", "replace")

    def _read_params(self, p):
        return {"big_endian": bool(p["big_endian"]), "ptrsize": int(p["ptrsize"]),
                "arena_start": int(p["arena_start"]), "arena_end": int(p["arena_end"]),
                "arch": self._str(p["arch_off"], p["arch_len"]),
                "version": self._str(p["version_off"], p["version_len"]),
                "ncpu": int(p["ncpu"])}

    def _check_params(self):
        p = self.params
        if p["big_endian"] or p["ptrsize"] != 8 or p["arch"] != "amd64":
            raise ValueError(
                "heap dump written for %s (%d-byte %s-endian pointers); goruntime models "
                "linux/amd64 (8-byte little-endian pointers)"
                % (p["arch"] or "an unnamed architecture", p["ptrsize"],
                   "big" if p["big_endian"] else "little"))
        v = p["version"]
        if not re.fullmatch(r"go1\.27(\D.*)?", v):
            raise ValueError("heap dump written by %s; goruntime reads Go 1.27 dumps only "
                             "(object layout and size classes are Go 1.27's)" % (v or "an unnamed Go version"))

    def _read_memstats(self, row):
        m = MemStats()
        w = [int(x) for x in row[1:]]
        for name, v in zip(_MEMSTATS_FIELDS, w):
            setattr(m, name, v)
        m.PauseNs = w[24:280]
        m.NumGC = w[280]
        return m

    def _objects_from(self, objs):
        """The parser filled *objs* (OBJECT_DTYPE records, in address order); in Cython
        (``_graph.layout``): validate the slot sizes, drop the slots Go 1.27's dumpobjs
        writes past a span's last element (it counts npages*8192/size slots, ignoring the
        inline mark bits of Green Tea spans), rebuild Go's spans (base, slot index, scan or
        noscan), check overlaps, and move the kept objects down in place, each with its
        size class: ``d.objects`` is the kept prefix of *objs*."""
        n = len(objs)
        lo, hi = self.params["arena_start"], self.params["arena_end"]
        if n and (int(objs["addr"][0]) < lo or int(objs["addr"][n - 1]) + int(objs["size"][n - 1]) > hi):
            # Go's dumpparams: the lowest and highest address of its heap arenas
            at = 0 if int(objs["addr"][0]) < lo else n - 1
            off = int(_parse.parse(self._buf, sort_objects=True)["objects"][at, 0])
            raise ValueError("malformed heap dump: object at offset %d (address %#x, size %d) is "
                             "outside the heap arenas of the params record [%#x, %#x)"
                             % (off, int(objs["addr"][at]), int(objs["size"][at]), lo, hi))
        err, at, m, k, span_first, span_noscan = _graph.layout(objs, self._threads)
        if err:
            # the record offset is not kept: the plain table, sorted the same way, has it
            off = int(_parse.parse(self._buf, sort_objects=True)["objects"][at, 0])
            raise ValueError("malformed heap dump: object at offset %d (address %#x, size %d) %s"
                             % (off, int(objs["addr"][at]), int(objs["size"][at]), _LAYOUT_ERRORS[err]))
        self._check_span_bytes(objs["size"][span_first[:-1]])
        self.dropped_tail_slots = len(objs) - m
        self.objects = objs[:m]
        self._addr, self._size = self.objects["addr"], self.objects["size"]
        self._span_first, self._slot_index = span_first, k
        self._span_noscan = span_noscan
        self._index = _graph.Index(self._addr, self._size, self._threads)

    def _check_span_bytes(self, slot_sizes):
        """Go's spans holding the objects (one slot size each, in *slot_sizes*) were in use
        when the dump was written: their bytes are at most the MemStats record's HeapInuse
        (B82: 18 bytes of records per 8 KiB span made a 2 MB file claim a gigabyte)."""
        sizes = np.asarray(slot_sizes, dtype=np.uint64)
        large = sizes > 32768                  # Go: maxSmallSize
        cls = np.searchsorted(_SIZE_CLASS_TO_SIZE, sizes[~large])
        need = int(_SIZE_CLASS_TO_NPAGES[cls].sum()) * _heap.PAGE_BYTES
        need += int(((sizes[large] + _heap.PAGE_BYTES - 1) // _heap.PAGE_BYTES).sum()) * _heap.PAGE_BYTES
        if need > self.memstats.HeapInuse:
            raise ValueError("malformed heap dump: its objects fill %d bytes of spans, more than "
                             "the HeapInuse (%d) of the MemStats record at offset %d"
                             % (need, self.memstats.HeapInuse, int(self._tables["memstats"][0][0])))

    def _sites_from(self, memprof, stacks, samples):
        """Allocation sites: the memory-profile buckets grouped by their first frame
        outside the runtime (``func file:line``; inlined code names its own line).
        Grouping is by a 64-bit hash of that frame, in Cython: a program with deep
        recursion has a bucket per distinct stack (hundreds of thousands)."""
        self.sites = []
        nb = len(memprof)
        if nb == 0:
            return
        rows, keys = _graph.site_frames(
            self._buf, np.ascontiguousarray(memprof["stk_start"]),
            np.ascontiguousarray(memprof["nstk"]), np.ascontiguousarray(stacks))
        uniq, first, bucket_site = np.unique(keys, return_index=True, return_inverse=True)
        allocs = np.bincount(bucket_site, weights=memprof["allocs"].astype(np.float64), minlength=len(uniq))
        frees = np.bincount(bucket_site, weights=memprof["frees"].astype(np.float64), minlength=len(uniq))
        nbk = np.bincount(bucket_site, minlength=len(uniq))
        for s, b in enumerate(first):
            st = stacks[int(memprof["stk_start"][b]):int(memprof["stk_start"][b] + memprof["nstk"][b])]
            frames = [(self._str(x[1], x[2]), self._str(x[3], x[4]), int(x[5])) for x in st]
            if rows[b] >= 0:
                x = stacks[rows[b]]
                name = "%s %s:%d" % (self._str(x[1], x[2]), os.path.basename(self._str(x[3], x[4])), int(x[5]))
            else:
                name = "?"
            self.sites.append({"name": name, "stack": frames, "buckets": int(nbk[s]),
                               "allocs": int(allocs[s]), "frees": int(frees[s])})
        if len(samples):
            baddr = memprof["bucket"]
            order = np.argsort(baddr, kind="stable")
            pos = np.searchsorted(baddr[order], samples["bucket"])
            pos = np.minimum(pos, nb - 1)
            found = baddr[order][pos] == samples["bucket"]
            sidx = np.where(found, bucket_site[order][pos], -1).astype(np.int32)
            obj = self.index_of(samples["addr"], strict=False)
            ok = (obj >= 0) & (sidx >= 0)
            self.objects["site"][obj[ok]] = sidx[ok]

    def _graph(self):
        self._target, self._indptr, self._dst = _graph.object_graph(
            self._buf, self._index, self.objects, self._fields, self._threads)

    def _roots(self):
        """Every root slot: kind, owning record, offset, the Go address it holds, target."""
        kinds, owners, offs, vals = [], [], [], []
        fields = self._fields
        buf = self._buf

        def add_fields(kind, table):
            for i, rec in enumerate(table):
                n = int(rec["nfields"])
                if n == 0:
                    continue
                fs = fields[int(rec["field_start"]):int(rec["field_start"]) + n]
                clen = int(rec["content_len"])
                fs = fs[(fs <= clen - 8) if clen >= 8 else np.zeros(len(fs), bool)]
                kinds.append(np.full(len(fs), kind, np.int8))
                owners.append(np.full(len(fs), i, np.int64))
                offs.append(fs.astype(np.uint64))
                vals.append(_graph.read_words(buf, (fs + rec["content_off"]).astype(np.uint64)))

        add_fields(0, self.segments["data"])
        add_fields(1, self.segments["bss"])
        if len(self.other_roots):
            n = len(self.other_roots)
            kinds.append(np.full(n, 2, np.int8))
            owners.append(np.arange(n, dtype=np.int64))
            offs.append(np.zeros(n, np.uint64))
            vals.append(self.other_roots["to"].astype(np.uint64))
        q = self.queued_finalizers
        if len(q):      # Go's finq is a root: the object and the function value
            kinds.append(np.full(2 * len(q), 3, np.int8))
            owners.append(np.repeat(np.arange(len(q), dtype=np.int64), 2))
            offs.append(np.tile(np.array([0, 1], np.uint64), len(q)))
            vals.append(np.stack([q["obj"], q["fn"]], axis=1).reshape(-1).astype(np.uint64))
        f = self.finalizers
        if len(f):      # Go's markrootSpans: the function value, and the object's referents
            fobj = self.index_of(f["obj"], strict=False)
            for i in range(len(f)):
                kinds.append(np.array([4], np.int8))
                owners.append(np.array([i], np.int64))
                offs.append(np.array([1], np.uint64))      # 1 = the function value
                vals.append(np.array([f["fn"][i]], np.uint64))
                j = fobj[i]
                if j >= 0:
                    ks = self._obj_field_slice(j)
                    ok = self._target[ks] >= 0
                    tk = self._target[ks][ok]
                    fo = self._fields[ks][ok]
                    kinds.append(np.full(len(tk), 4, np.int8))
                    owners.append(np.full(len(tk), i, np.int64))
                    offs.append((fo + 16).astype(np.uint64))  # >= 16: field offset + 16
                    words = _graph.read_words(buf, (self.objects["content_off"][j] + fo).astype(np.uint64))
                    vals.append(words)
        add_fields(5, self.frames)
        cat = (lambda xs, dt: np.concatenate(xs).astype(dt) if xs else np.zeros(0, dt))
        self.roots = np.zeros(sum(len(k) for k in kinds), dtype=[
            ("kind", np.int8), ("owner", np.int64), ("offset", np.uint64),
            ("value", np.uint64), ("target", np.int64)])
        self.roots["kind"] = cat(kinds, np.int8)
        self.roots["owner"] = cat(owners, np.int64)
        self.roots["offset"] = cat(offs, np.uint64)
        self.roots["value"] = cat(vals, np.uint64)
        self.roots["target"] = self._index.resolve(self.roots["value"].copy())
        self._root_targets = np.ascontiguousarray(self.roots["target"])

    def _stack_pointers(self):
        """Frame pointer slots that point into their own goroutine's stack (to a stack
        object, or to a frame's pointer-mapped slots): per frame sp, fp and goroutine; per
        goroutine its lowest sp and highest fp; the stack roots, their goroutines and the
        mask of those pointing inside."""
        fr = self.frames
        sp = fr["sp"].astype(np.uint64)
        fp = sp + fr["content_len"].astype(np.uint64)
        gor = fr["goroutine"].astype(np.int64)
        ng = int(gor.max()) + 1 if len(gor) else 0
        lo = np.full(ng, np.iinfo(np.uint64).max, np.uint64)
        hi = np.zeros(ng, np.uint64)
        np.minimum.at(lo, gor, sp)
        np.maximum.at(hi, gor, fp)
        st = self.roots[self.roots["kind"] == 5]
        g_of = gor[st["owner"]]
        inside = (st["value"] >= lo[g_of]) & (st["value"] < hi[g_of])
        return sp, fp, gor, lo, hi, st, g_of, inside

    def _stack_object_roots(self, tab):
        """Roots of kind "stack object": the pointer words of the stack objects Go's
        scanstack would scan. A frame's stack objects (from the binary: `_pclntab`) are
        at its varp (negative offsets: fp less the return address and the saved frame
        pointer, on amd64) or argp (= fp); one is live once a pointer into it is found in
        a live frame slot or in another live stack object of the same goroutine, and then
        each word its pointer mask names is read from the frame memory holding it."""
        fr = self.frames
        if not len(fr):
            return
        sp, fp, gor, lo, hi, st, g_of, inside = self._stack_pointers()
        buf = self._buf
        owners, offs, vals = [], [], []
        by_g = np.argsort(gor, kind="stable")          # frames grouped by goroutine
        fg = gor[by_g]
        sel = np.nonzero(inside)[0]                    # the pointers, grouped too
        sel = sel[np.argsort(g_of[sel], kind="stable")]
        sg = g_of[sel]
        for g in np.unique(sg):
            frames = by_g[np.searchsorted(fg, g):np.searchsorted(fg, g, side="right")]
            order = frames[np.argsort(sp[frames], kind="stable")]
            fsp = [int(sp[i]) for i in order]

            def word(a, fsp=fsp, order=order):  # (frame index, offset, value) of the word at a
                k = bisect.bisect_right(fsp, a) - 1
                if k < 0:
                    return None
                i = int(order[k])
                off = a - fsp[k]
                if off + 8 > int(fr["content_len"][i]):
                    return None
                c = int(fr["content_off"][i]) + off
                return i, off, int.from_bytes(bytes(buf[c:c + 8]), "little")

            objs = []         # (start, size, ptr_bytes, mask) of the goroutine's stack objects
            for i in frames:
                recs = tab.stack_objects(int(fr["entry"][i]))
                if not recs:
                    continue
                varp = int(fp[i]) - 8
                if varp > int(sp[i]):
                    varp -= 8
                for off, size, nb, mask in recs:
                    a = (varp if off < 0 else int(fp[i])) + off
                    if a >= int(sp[i]):
                        objs.append((a, size, nb, mask))
            if not objs:
                continue
            objs.sort()
            starts = [o[0] for o in objs]
            done = [False] * len(objs)
            work = [int(v) for v in st["value"][sel[np.searchsorted(sg, g):np.searchsorted(sg, g, side="right")]]]
            glo, ghi = int(lo[g]), int(hi[g])
            while work:
                p = work.pop()
                k = bisect.bisect_right(starts, p) - 1
                if k < 0 or done[k] or p >= objs[k][0] + objs[k][1]:
                    continue
                done[k] = True
                a, _size, nb, mask = objs[k]
                # only the words inside the goroutine's frames can be read: a crafted
                # binary's mask of millions of words is not walked word by word past them
                for w in range(min(nb // 8, max(0, (ghi - a + 7) // 8))):
                    if not mask[w // 8] >> (w % 8) & 1:
                        continue
                    hit = word(a + 8 * w)
                    if hit is None:
                        continue
                    i, off, v = hit
                    if glo <= v < ghi:
                        work.append(v)
                    elif v:
                        owners.append(i)
                        offs.append(off)
                        vals.append(v)
        if not vals:
            return
        add = np.zeros(len(vals), dtype=self.roots.dtype)
        add["kind"] = 6
        add["owner"], add["offset"] = owners, offs
        add["value"] = np.array(vals, np.uint64)
        add["target"] = self._index.resolve(add["value"].copy())
        self.roots = np.concatenate([self.roots, add])
        self._root_targets = np.ascontiguousarray(self.roots["target"])

    def _obj_field_slice(self, j):
        s = int(self.objects["field_start"][j])
        return slice(s, s + int(self.objects["nptr"][j]))

    # -- the Runtime -----------------------------------------------------------------------
    def _build_runtime(self, arena_cap):
        from ..runtime import Runtime
        from ..mspecial import FinalizerSpecial
        from ..errors import FatalError
        rt = Runtime(gogc=100, arena_cap=arena_cap)
        heap = rt.heap
        with heap.lock, _signals.held():
            self.cleared_pointers = _graph.place(
                heap, self._buf, self.objects, self._fields, self._target,
                self._span_first, self._slot_index, self._span_noscan, self._threads)
            heap.flush_mcaches(True)
            try:
                _mark.sweep(heap)     # frees the slots that were free in Go's spans
            except FatalError as e:   # two objects of the dump claim one slot
                rt.close()
                raise ValueError("malformed heap dump: objects of the dump overlap in a "
                                 f"span ({e}; {' '.join(getattr(e, '__notes__', []))})") from None
        live = self.roots["target"] >= 0
        kinds = self.roots["kind"]
        # stack, global and other roots go in the root table; finalizer referents are
        # found by the collector itself from the finalizer specials
        tab = live & (kinds != 4) & (kinds != 3)
        self._root_slots = heap.add_roots(self.to_arena(self.roots["value"][tab]))
        fins = self.finalizers
        fidx = self.index_of(fins["obj"], strict=False)
        for i in range(len(fins)):
            j = fidx[i]
            if j < 0:
                continue
            a = int(self.to_arena(fins["obj"][i:i + 1])[0])
            info = heap.find_object(a)
            rt.specials.finalizers[a] = FinalizerSpecial(a, info[1], info[3], GoFunc(int(fins["fn_pc"][i]), int(fins["fn"][i])), None)
        q = self.queued_finalizers
        qidx = self.index_of(q["obj"], strict=False)
        for i in range(len(q)):
            if qidx[i] < 0:
                continue
            a = int(self.to_arena(q["obj"][i:i + 1])[0])
            info = heap.find_object(a)
            rt.finalizers.finq.append(FinalizerSpecial(a, info[1], info[3], GoFunc(int(q["fn_pc"][i]), int(q["fn"][i])), None))
        fn_roots = self.roots["value"][live & ((kinds == 3) | (kinds == 4)) & (self.roots["offset"] < 16)]
        if len(fn_roots):   # finalizer function values that are heap closures
            heap.add_roots(self.to_arena(fn_roots))
        rt.collector.update_trigger()
        self.runtime = rt

    # -- address translation ---------------------------------------------------------------
    def index_of(self, addrs, strict=True):
        """Object index holding each Go address (-1 where none; ValueError if *strict*)."""
        a = np.atleast_1d(np.asarray(addrs, dtype=np.uint64))
        idx = self._index.resolve(np.ascontiguousarray(a))
        if strict and (idx < 0).any():
            bad = int(a[np.argmax(idx < 0)])
            raise ValueError("%#x is not inside an object of the dump" % bad)
        return idx

    def to_arena(self, addrs):
        """Go addresses -> the same bytes in d.runtime's arena (vectorised; interior ok)."""
        a = np.atleast_1d(np.asarray(addrs, dtype=np.uint64))
        idx = self.index_of(a)
        return self.objects["arena"][idx] + (a - self._addr[idx])

    def to_go(self, arena_addrs):
        """Arena addresses -> Go addresses (vectorised)."""
        a = np.atleast_1d(np.asarray(arena_addrs, dtype=np.uint64))
        ar = self.objects["arena"]
        order = self._arena_order()
        idx = _graph.resolve(np.ascontiguousarray(ar[order]), np.ascontiguousarray(self._size[order]), a)
        if (idx < 0).any():
            raise ValueError("%#x is not inside a loaded object" % int(a[np.argmax(idx < 0)]))
        j = order[idx]
        return self._addr[j] + (a - ar[j])

    def _arena_order(self):
        if getattr(self, "_ar_order", None) is None:
            self._ar_order = np.argsort(self.objects["arena"], kind="stable")
        return self._ar_order

    def __len__(self):
        return len(self.objects)

    # -- questions ---------------------------------------------------------------------------
    def gc(self):
        """Run a full GC on the loaded heap from the restored roots (Go's runtime.GC).

        Returns a dict: ``live_objects``, ``live_bytes`` (what survives, including objects
        kept for their finalizers), ``garbage_objects``, ``garbage_bytes`` (what the dump
        held that a GC frees), ``finalizers_queued``, ``next_gc`` (NextGC afterwards).
        A second call collects nothing more (except what queued finalizers let go).
        """
        if self.runtime is None:
            raise ValueError("this HeapDump was loaded with build_runtime=False")
        rt = self.runtime
        before = self.allocated()
        q0 = rt.gc_record.finalizers_queued
        rt.gc()
        after = self.allocated()
        freed = before & ~after
        m = rt.read_mem_stats()
        res = {"live_objects": int(after.sum()), "live_bytes": int(self._size[after].sum()),
               "garbage_objects": int(freed.sum()), "garbage_bytes": int(self._size[freed].sum()),
               "finalizers_queued": rt.gc_record.finalizers_queued - q0,
               "next_gc": m.NextGC}
        self._gc_result = res
        return res

    def allocated(self):
        """bool mask: which dumped objects are still allocated in d.runtime's heap."""
        return _graph.allocated(self.runtime.heap, np.ascontiguousarray(self.objects["arena"])).astype(bool)

    def reachable(self):
        """bool mask of the objects reachable from the roots in the dump's own graph
        (finalizer specials count as roots of their referents, as in Go's mark)."""
        return self._search().reached()

    def _search(self):
        if self._bfs is None:
            self._bfs = _graph.Search(self._indptr, self._dst, self._root_targets)
        return self._bfs

    def why_alive(self, addr):
        """Shortest path from a root to the object holding Go address *addr*.

        A list of steps; each has ``addr`` (the object's Go address) and ``offset`` (where,
        in the previous object or root, the pointer is; 0 for the root step's offset within
        the root's memory); the first step also has ``root``, described as Go would. Empty
        when the object is unreachable. The breadth-first search from all roots runs only
        until it reaches the object, and the next call resumes it.
        """
        j = int(self.index_of([addr])[0])
        chain, r = self._search().path(j)
        if chain is None:
            return []
        offs = _graph.edge_offsets(chain, self.objects, self._fields, self._target)
        addrs, sizes, sites = self._addr[chain], self._size[chain], self.objects["site"][chain]
        steps = [{"addr": int(addrs[0]), "offset": self._root_offset(r),
                  "root": self.describe_root(r), "size": int(sizes[0]),
                  "site": self._site_name_of(sites[0])}]
        for i in range(1, len(chain)):
            steps.append({"addr": int(addrs[i]), "offset": int(offs[i - 1]),
                          "size": int(sizes[i]), "site": self._site_name_of(sites[i])})
        if self.object_type is not None:      # Go types and field names, from DWARF
            steps[0]["field"] = self._root_field(r)
            for i, s in enumerate(steps):
                s["type"] = self.type_name(chain[i])
                if i:
                    s["field"] = self.field_name(chain[i - 1], s["offset"])
        return steps

    def _root_field(self, r):
        """The global variable and field a data/bss root slot is (``main.gB[2]``), or None."""
        rec = self.roots[r]
        kind = int(rec["kind"])
        if kind not in (0, 1) or self.program is None:
            return None
        seg = self.segments[ROOT_KINDS[kind]][int(rec["owner"])]
        g = self.program.global_at(int(seg["addr"]) + int(rec["offset"]))
        if g is None:
            return None
        name, off, t = g
        f = t.field_at(off)
        return name + ("" if not f else f if f.startswith("[") else "." + f)

    def _root_offset(self, r):
        """Offset of root *r*'s slot in its memory (frame, segment, finalized object)."""
        kind, off = int(self.roots["kind"][r]), int(self.roots["offset"][r])
        if kind in (3, 4):
            return off - 16 if off >= 16 else 0
        return off

    def _root_index(self, r):
        """*r* as an index into ``d.roots`` (an int in 0..len-1: numpy would take -1 as the
        last root and answer for it)."""
        if isinstance(r, bool) or not isinstance(r, (int, np.integer)):
            raise TypeError(f"a root index must be an int, not {type(r).__name__}")
        if not 0 <= r < len(self.roots):
            raise IndexError(f"root index {int(r)} out of range: the dump has {len(self.roots)} "
                             f"roots (0..{len(self.roots) - 1})")
        return int(r)

    def describe_root(self, r):
        """A root as Go would name it: a global in data/bss, goroutine N's frame, ..."""
        r = self._root_index(r)
        rec = self.roots[r]
        kind, owner, off = int(rec["kind"]), int(rec["owner"]), int(rec["offset"])
        if kind in (0, 1):
            seg = self.segments[ROOT_KINDS[kind]][owner]
            a = int(seg["addr"]) + off
            name = self._root_field(r)
            if name is None and self.symbols is not None:
                name = self.symbols.lookup(a)
            if name:
                return "global %s at %#x (%s)" % (name, a, ROOT_KINDS[kind])
            return "global at %#x (%s+%#x)" % (a, ROOT_KINDS[kind], off)
        if kind == 2:
            o = self.other_roots[owner]
            return "other root %r" % self._str(o["desc_off"], o["desc_len"])
        if kind == 3:
            o = self.queued_finalizers[owner]
            return "queued finalizer of %#x (%s)" % (int(o["obj"]), "object" if off == 0 else "function value")
        if kind == 4:
            o = self.finalizers[owner]
            if off < 16:
                return "finalizer function of %#x" % int(o["obj"])
            return "object %#x with a finalizer (field +%#x)" % (int(o["obj"]), off - 16)
        f = self.frames[owner]
        g = self.goroutines[int(f["goroutine"])]
        return "goroutine %d, frame %s (depth %d), %ssp+%#x" % (
            int(g["goid"]), self._str(f["name_off"], f["name_len"]), int(f["depth"]),
            "stack object, " if kind == 6 else "", off)

    def _dominator_result(self, engine="cython"):
        if self._dom is None or engine != "cython":
            if engine == "cython":
                idom, pre = _graph.dominators(self._indptr, self._dst, self._root_targets)
            elif engine == "igraph":
                idom = self._igraph_idom()
                pre = _graph.tree_order(idom)
            else:
                raise ValueError("engine must be 'cython' or 'igraph', not %r" % (engine,))
            res = (idom, pre, _graph.retained(idom, pre, self._size))
            if engine != "cython":
                return res
            self._dom = res
        return self._dom

    def _igraph_idom(self):
        """Immediate dominators by igraph (the ``heapdump`` extra): Lengauer-Tarjan in C
        over a copy of the graph with a virtual root (node n) above the roots."""
        import igraph
        n = len(self)
        src = np.repeat(np.arange(n, dtype=np.int64), np.diff(self._indptr))
        rt = np.unique(self._root_targets[self._root_targets >= 0])
        edges = np.concatenate([np.stack([src, self._dst.astype(np.int64)], axis=1),
                                np.stack([np.full(len(rt), n, np.int64), rt], axis=1)])
        g = igraph.Graph(n=n + 1, edges=edges, directed=True)
        dom = np.array(g.dominator(n, mode="out")[:n], dtype=np.float64)
        idom = np.where(np.isnan(dom), -2, dom).astype(np.int64)
        idom[idom == n] = -1
        return idom

    def dominators(self, engine="cython"):
        """The dominator tree: a structured array, one row per object, with ``addr``,
        ``idom`` (Go address of the immediate dominator; 0 when only the roots dominate it,
        and for unreachable objects), ``reachable`` and ``retained`` (bytes freed if this
        object alone became unreachable).

        *engine*: "cython" (Semi-NCA over the CSR arrays, the default) or "igraph"
        (``pip install goruntime[heapdump]``); both give the same tree (tested), the Cython
        pass is the faster (``make bench``)."""
        idom, pre, ret = self._dominator_result(engine)
        out = np.zeros(len(idom), dtype=[("addr", np.uint64), ("idom", np.uint64),
                                         ("reachable", np.bool_), ("retained", np.uint64)])
        out["addr"] = self._addr
        has = idom >= 0
        out["idom"][has] = self._addr[idom[has]]
        out["reachable"] = idom != -2
        out["retained"] = ret
        return out

    def retained_size(self, addr):
        """Bytes that would be freed if the object holding *addr* became unreachable
        (its size plus everything it dominates; 0 if it is unreachable already)."""
        j = int(self.index_of([addr])[0])
        return int(self._dominator_result()[2][j])

    def top_retainers(self, n=10):
        """The *n* objects with the largest retained sizes (a structured array)."""
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"top_retainers: n must be an int >= 0, not {n!r}")
        d = self.dominators()
        order = np.argsort(-d["retained"].astype(np.int64), kind="stable")[:n]
        out = np.zeros(len(order), dtype=[("addr", np.uint64), ("size", np.uint64),
                                          ("retained", np.uint64), ("site", np.int32)])
        out["addr"], out["size"] = d["addr"][order], self._size[order]
        out["retained"], out["site"] = d["retained"][order], self.objects["site"][order]
        return out

    def site_name(self, j):
        return self._site_name_of(self.objects["site"][j])

    # -- types (from the binary's DWARF) ------------------------------------------------------
    def type_objects(self, program):
        """Type the objects from *program* (`_dwarf.Program`, the binary's DWARF), as
        viewcore does: each global variable's pointer slots (read from the dump's data
        and bss segments) give the objects they point to the pointer's element type; the
        types then propagate along the typed pointers of those objects, breadth first
        (a slice's data gets ``cap`` elements, an interface its dynamic type, named by
        its type word or, through the dump's itab records, its itab; a Swiss map its
        groups or directory). Objects reached only from stacks, through untyped words
        (unsafe.Pointer, a map's internals we do not model) or at an interior offset stay
        untyped (-1). Sets ``object_type``, ``object_count`` and ``program``."""
        size, start, soff, skind, st1, st2, direct, rt_addr, rt_type = program.tables()
        pos, lim, kind, t1, t2 = [], [], [], [], []
        for seg in self.segments.values():
            for rec in seg:
                a0, c0, ln = int(rec["addr"]), int(rec["content_off"]), int(rec["content_len"])
                for _name, ga, t in program.globals_in(a0, a0 + ln):
                    k = slice(int(start[t.id]), int(start[t.id + 1]))
                    if k.start == k.stop:
                        continue
                    p = soff[k] + np.uint64(ga - a0 + c0)
                    pos.append(p)
                    lim.append(np.full(len(p), c0 + ln, np.uint64))
                    kind.append(skind[k])
                    t1.append(st1[k])
                    t2.append(st2[k])
        cat = (lambda xs, dt: np.ascontiguousarray(np.concatenate(xs).astype(dt)) if xs else np.zeros(0, dt))
        itabs = _table(self._tables, "itabs")
        ia = np.ascontiguousarray(itabs["addr"])
        it = np.full(len(ia), -1, np.int32)
        if len(rt_addr) and len(ia):
            k = np.minimum(np.searchsorted(rt_addr, itabs["type"]), len(rt_addr) - 1)
            it = np.where(rt_addr[k] == itabs["type"], rt_type[k], -1).astype(np.int32)
        o = np.argsort(ia, kind="stable")
        self.object_type, self.object_count = _graph.propagate(
            self._buf, self._index, self.objects, self._fields, self._target, size, start, soff, skind, st1, st2, direct,
            rt_addr, rt_type, np.ascontiguousarray(ia[o]), np.ascontiguousarray(it[o]),
            cat(pos, np.uint64), cat(lim, np.uint64), cat(kind, np.uint8), cat(t1, np.int32),
            cat(t2, np.int32))
        self.program = program

    def type_name(self, j):
        """The Go type of object *j* (``main.Node``, ``[8]*main.Node``), or None."""
        if self.object_type is None or self.object_type[j] < 0:
            return None
        t = self.program.types[int(self.object_type[j])]
        c = int(self.object_count[j])
        return t.name if c == 1 else f"[{c}]{t.name}"

    def _header(self, j):
        """8 where object *j* starts with Go's malloc header (its value follows), else 0."""
        size = int(self._size[j])
        return 8 if 512 < size <= 32768 and int(self.objects["nptr"][j]) > 0 else 0

    def field_name(self, j, off):
        """The field of object *j* at byte *off* of its slot (``Left``, ``[3].Key.str``;
        ``malloc header`` for Go's type word), or None."""
        if self.object_type is None or self.object_type[j] < 0:
            return None
        t = self.program.types[int(self.object_type[j])]
        c = int(self.object_count[j])
        h = self._header(j)
        if off < h:
            return "malloc header"
        off -= h
        if c > 1 and t.size:
            i = off // t.size
            rest = t.field_at(off - i * t.size)
            return f"[{i}]" + ("." + rest if rest and not rest.startswith("[") else rest)
        return t.field_at(off) or None

    def by_type(self):
        """Objects, bytes and retained bytes per Go type (needs the binary's DWARF;
        ``type`` None gathers the untyped objects), largest retained first."""
        if self.object_type is None:
            raise ValueError("no types: load the dump with binary= (a Go binary with DWARF)")
        idom, pre, ret = self._dominator_result()
        ty = self.object_type.astype(np.int64) + 1
        k = len(self.program.types) + 1
        n = np.bincount(ty, minlength=k)
        b = np.bincount(ty, weights=self._size.astype(np.float64), minlength=k)
        top = np.ones(len(ty), bool)
        has = idom >= 0
        top[has] = ty[idom[has]] != ty[has]
        r = np.bincount(ty[top], weights=ret[top].astype(np.float64), minlength=k)
        rows = [{"type": self.program.types[t - 1].name if t else None,
                 "objects": int(n[t]), "bytes": int(b[t]), "retained": int(r[t])}
                for t in np.nonzero(n)[0]]
        rows.sort(key=lambda x: -x["retained"])
        return rows

    def _site_name_of(self, s):
        s = int(s)
        return self.sites[s]["name"] if s >= 0 else "?"

    def by_size_class(self):
        """Objects and bytes per size class (0 = large), all and reachable: dict rows."""
        reach = self.reachable()
        cls = self.objects["sizeclass"].astype(np.int64)
        n = np.bincount(cls, minlength=68)
        b = np.bincount(cls, weights=self._size.astype(np.float64), minlength=68)
        nr = np.bincount(cls[reach], minlength=68)
        br = np.bincount(cls[reach], weights=self._size[reach].astype(np.float64), minlength=68)
        return [{"sizeclass": c, "size": int(_SIZES[c]) if c else 0, "objects": int(n[c]),
                 "bytes": int(b[c]), "reachable_objects": int(nr[c]), "reachable_bytes": int(br[c])}
                for c in range(len(n)) if n[c]]

    def by_site(self):
        """Objects, bytes and retained bytes per allocation site (the memory profile's
        sampled objects; ``site`` -1 gathers the unsampled ones), largest retained first;
        with types (the binary's DWARF), also ``type``: the site's most common Go type."""
        idom, pre, ret = self._dominator_result()
        site = self.objects["site"].astype(np.int64) + 1
        k = len(self.sites) + 1
        n = np.bincount(site, minlength=k)
        b = np.bincount(site, weights=self._size.astype(np.float64), minlength=k)
        # retained by a site: objects of the site whose dominator is not of the same site
        top = np.ones(len(site), bool)
        has = idom >= 0
        top[has] = site[idom[has]] != site[has]
        r = np.bincount(site[top], weights=ret[top].astype(np.float64), minlength=k)
        rows = [{"site": s - 1, "name": self.sites[s - 1]["name"] if s else "(not sampled)",
                 "objects": int(n[s]), "bytes": int(b[s]), "retained": int(r[s])}
                for s in range(k) if n[s]]
        if self.object_type is not None:      # each site's most common Go type (DWARF)
            ty = self.object_type.astype(np.int64)
            pairs, cnt = np.unique(np.stack([site, ty]), axis=1, return_counts=True)
            best = {}
            for (si, ti), c in zip(pairs.T.tolist(), cnt.tolist()):
                if ti >= 0 and c > best.get(si, (0, -1))[0]:
                    best[si] = (c, ti)
            for row in rows:
                c_t = best.get(row["site"] + 1)
                row["type"] = self.program.types[c_t[1]].name if c_t else None
        rows.sort(key=lambda x: -x["retained"])
        return rows

    def garbage(self):
        """bool mask of the objects the dump holds that no root reaches (before any GC;
        objects kept only by a finalizer's special count as reachable)."""
        return ~self.reachable()

    def without_root(self, r):
        """What dropping root *r* (an index into ``d.roots``) would free:
        ``(objects, bytes)`` reachable now and unreachable without it."""
        r = self._root_index(r)
        now = self.reachable()
        keep = self._root_targets.copy()
        keep[r] = -1
        after = _graph.reach(self._indptr, self._dst, keep).astype(bool)
        freed = now & ~after
        return int(freed.sum()), int(self._size[freed].sum())

    def next_gc(self, gogc=100):
        """NextGC after a GC of this heap with GOGC=*gogc* (Go's heap goal:
        ``live + (live + stack scan + globals scan) * GOGC/100``, at least 4 MiB*GOGC/100).
        *gogc* is checked as Runtime's is; GOGC off (negative, ``"off"``) has no goal:
        Go's ``^uint64(0)``."""
        from .. import pacer
        gogc = pacer.gogc_arg(gogc, "gogc")
        if gogc < 0:
            return (1 << 64) - 1
        if self._gc_result is None:
            live = int(self._size[self.reachable()].sum())
        else:
            live = self._gc_result["live_bytes"]
        stacks = int(self.frames["content_len"].sum()) if len(self.frames) else 0
        globs = sum(int(s["content_len"].sum()) for s in self.segments.values() if len(s))
        goal = live + (live + stacks + globs) * gogc // 100
        return max(goal, (4 << 20) * gogc // 100)

    def crosscheck(self):
        """The dump's MemStats against goruntime's for the loaded heap, before any GC.

        Returns ``{field: (dump, loaded)}`` for `COMPARABLE_FIELDS` (they must agree: they
        describe the objects) and ``by_class`` rows; `PROCESS_FIELDS` describe the Go
        process (its history, stacks, OS memory) and are not compared.
        """
        m = self.runtime.read_mem_stats()
        out = {f: (getattr(self.memstats, f), getattr(m, f)) for f in COMPARABLE_FIELDS}
        counts = self.runtime.heap.counters()
        sac, sfc = counts["small_alloc_count"], counts["small_free_count"]
        rows = []
        for row in self.by_size_class():
            c = row["sizeclass"]
            loaded = (sac[c] - sfc[c]) if c else counts["large_alloc_count"] - counts["large_free_count"]
            rows.append((c, row["objects"], loaded))
        out["by_class"] = rows
        return out

    def report(self, *, top=10, gc=False, why=()):
        """The text report the CLI prints (summary, top retainers, sites, size classes,
        and a why_alive path for each Go address in *why*)."""
        from ._report import text
        return text(self, top=top, gc=gc, why=why)

    def _repr_html_(self):
        from ._report import html_report
        return html_report(self, gc=False)

    def __repr__(self):
        return ("<HeapDump %s: %s, %d objects, %d bytes, %d goroutines, %d roots>"
                % (self.path, self.params["version"], len(self), int(self._size.sum()),
                   len(self.goroutines), len(self.roots)))


class GoFunc:
    """A Go function value from the dump (a finalizer's): opaque, never run here."""

    __slots__ = ("pc", "funcval")

    def __init__(self, pc, funcval):
        self.pc, self.funcval = pc, funcval

    def __call__(self, *args):
        return None

    def __repr__(self):
        return "GoFunc(pc=%#x)" % self.pc
