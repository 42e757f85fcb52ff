"""What the runtime allocates for the program's goroutines (Go: proc.go, time.go).

Go's scheduler allocates on the garbage-collected heap, and those objects show in MemStats
(Mallocs, HeapObjects, BySize) like the program's own. This module puts them on the
emulated heap where Go 1.27 does, with Go's sizes and caches:

- ``go f(args)`` (`Proc.newproc`): a new ``g`` (456 bytes, the 480-byte class) when no dead
  G can be reused (Go: gfget, then malg). Dead Gs are never freed: ``allgs`` holds every G
  ever made, and ``allgadd`` appends to it, so the slice grows as `rt.append` does (old
  arrays become garbage). A goroutine's *wrapper closure* (Go's ``gowrap``: the funcval
  of ``go f(a, b)``) holds the arguments the caller evaluated; it is allocated when there
  are any (``8 + their size`` bytes) and is garbage once the goroutine starts running.
- blocking on a channel, in ``select`` or in ``WaitGroup.Wait`` (`Proc.acquire_sudog`,
  `Proc.release_sudog`): a ``sudog`` (104 bytes, class 112) from the P's cache of up to 128
  (Go: acquireSudog / releaseSudog); an empty cache takes up to 64 from the central list,
  else allocates one; a full one moves 64 to the central list, which every GC drops
  (Go: clearpools), so they are freed by that cycle.
- ``time.Sleep`` (`Proc.sleep_start`): the goroutine's timer (class 96), made on its
  first sleep and kept until it exits (Go: timeSleep, gp.timer; gdestroy clears it), and
  the P's timer heap (``[]timerWhen``, 16-byte entries), grown by append as timers are
  added and never shrunk.

Go's start-up state is not on the emulated heap (the heap starts empty): ``allgs`` starts
as Go's 7 goroutines in an array of 8 (`START_ALLGS`), the P's sudog cache with one
sudog, the timer heap with room for one timer. Objects of that start-up state are never
freed here; Go frees its first ``allgs`` array (64 bytes) at the first GC after ``allgs``
outgrows it -- the one known difference, stated in the oracle scenario.
Measured against Go 1.27.3 by the oracle scenario ``lang_goroutines``.
"""
from __future__ import annotations

import weakref

from . import _object, _signals, types as _t
from .slice import growslice_size

__all__ = ["Proc", "G_SIZE", "SUDOG_SIZE", "TIMER_SIZE", "START_ALLGS", "SUDOG_CACHE_CAP"]

G_SIZE = 456            # Go: unsafe.Sizeof(g{}) on linux/amd64: 448 + xRegPerG (sizeof_test.go)
SUDOG_SIZE = 104        # Go: unsafe.Sizeof(sudog{})
TIMER_SIZE = 96         # Go: new(timer) is a 96-byte object (measured: BySize[96])
START_ALLGS = (7, 8)    # Go 1.27.3 at main: len(allgs), cap(allgs)
START_SUDOGS = 1        # sudogs in the P's cache at main (measured: 99 new for 100 waiters)
START_TIMERS = (0, 1)   # the P's timer heap at main: len, cap
SUDOG_CACHE_CAP = 128   # Go: len(p.sudogbuf)

_TYPES = None


def _types():
    """The runtime's own types, laid out with their pointer words (package runtime)."""
    global _TYPES
    if _TYPES is None:
        up, w = _t.UnsafePointer, _t.Uintptr
        g = _t.Struct("g", package="runtime", stack=_t.Array(w, 2), _a=_t.Array(w, 5),
                      sched_ctxt=up, _b=_t.Array(w, 10), waiting=up, timer=up, xreg=up,
                      _c=_t.Array(w, G_SIZE // 8 - 21))
        sudog = _t.Struct("sudog", package="runtime", g=up, next=up, prev=up, elem=up,
                          elem_ext=w, acquiretime=_t.Int64, releasetime=_t.Int64, ticket=_t.Uint32,
                          isSelect=_t.Bool, success=_t.Bool, waiters=_t.Uint16, parent=up,
                          waitlink=up, waittail=up, c=up, c_ext=w)
        timer = _t.Struct("timer", package="runtime", mu=w, state=_t.Uint64, when=_t.Int64,
                          period=_t.Int64, f=up, arg=_t.Any, seq=w, ts=up, sendLock=_t.Array(w, 2),
                          isSending=_t.Int32, _pad=_t.Array(_t.Byte, 4))
        when = _t.Struct("timerWhen", package="runtime", timer=up, when=_t.Int64)
        assert (g.size, sudog.size, timer.size) == (G_SIZE, SUDOG_SIZE, TIMER_SIZE)
        _TYPES = {"g": g, "sudog": sudog, "timer": timer, "timerWhen": when,
                  "gp": _t.Ptr(g)}
    return _TYPES


class _G:
    """The emulated heap side of one goroutine: its ``g`` and timer handles."""

    __slots__ = ("g", "timer", "funcval", "timer_queued")

    def __init__(self, g):
        self.g = g                  # *g handle, None for Go's start-up goroutines (main)
        self.timer = None           # *timer once the goroutine has slept
        self.funcval = None         # the go statement's wrapper closure until it starts
        self.timer_queued = False


def _arg_layout(v):
    """(size, align, pointer word offsets) of one argument captured by a go statement's
    wrapper closure, from the Go type the Python value stands for."""
    from .gostring import StringValue
    if isinstance(v, bool):
        return 1, 1, ()
    if isinstance(v, (int, float)):
        return 8, 8, ()
    if isinstance(v, complex):
        return 16, 8, ()
    if isinstance(v, str):
        return 16, 8, (0,)                          # string: data pointer, length
    if isinstance(v, StringValue):
        return 16, 8, (0,)
    if isinstance(v, _object.SliceValue):
        return 24, 8, (0,)
    from .iface import Value
    if isinstance(v, Value):
        T = v.type
        return T.size, T.align, tuple(8 * i for i, p in enumerate(T.gc_mask()) if p)
    return 8, 8, (0,)       # a pointer, map, chan or func value (any other Python object)


def closure_layout(args):
    """(size, pointer word mask) of Go's wrapper closure ``{F uintptr; args...}``."""
    off, ptrs = 8, []
    for v in args:
        size, align, p = _arg_layout(v)
        off = (off + align - 1) & -align
        ptrs.extend(off + q for q in p)
        off += size
    size = (off + 7) & -8
    mask = bytearray(size // 8)
    for q in ptrs:
        mask[q // 8] = 1
    return size, bytes(mask)


class Proc:
    """One runtime's goroutine-side heap objects: allgs, free Gs, sudog caches, timers."""

    # The runtime, held weakly: nothing a Runtime owns may keep it alive, so that it is
    # freed (and closed) when its last user reference goes (issue 13).
    rt = property(lambda self: self._rt())

    def __init__(self, rt):
        self._rt = weakref.ref(rt)
        self.gs: dict[int, _G] = {1: _G(None)}     # goid -> live goroutine's objects
        self.allglen, self.allgcap = START_ALLGS
        self.allgs = None                          # []*g handle once it left Go's start-up array
        self.all_g = []                            # every g handle made here (allgs keeps them)
        self.gfree = []                            # dead Gs (P's and global list)
        self.sudogcache = [None] * START_SUDOGS    # P's cache; None: Go's start-up sudog
        self.sudog_central = []                    # sched.sudogcache
        self.timers_len, self.timers_cap = START_TIMERS
        self.timers = None                         # []timerWhen handle once it grew
        self.exited = []                           # Gs that exited, their timers not yet dropped

    # -- goroutines ------------------------------------------------------------------------
    def newproc(self, g, args=(), trigger=True, startup=False):
        """``go f(args)`` made goroutine *g*: its G (reused or new) and its wrapper closure.
        *trigger*: run a GC the allocation made due (False when the caller holds the world
        in the middle of its own update: the runtime's goroutines, started by SetFinalizer
        and AddCleanup; the next allocation runs it). *startup*: one of Go's start-up
        goroutines, whose g is not on the emulated heap (`START_ALLGS` counts it)."""
        rt = self.rt
        T = _types()
        heap = rt.heap
        self._reap()
        rec = _G(None)
        if startup:
            self.gs[g.id] = rec
            return rec
        with rt.world, _signals.held():
            if args:
                size, mask = closure_layout(args)
                noscan = not any(mask)
                rec.funcval = _object.new_object(rt, heap, size, noscan,
                                                 None if noscan else mask, _t.Array(_t.Uintptr, size // 8))
            if self.gfree:                               # Go: gfget
                rec.g = self.gfree.pop()
            else:                                        # Go: malg + allgadd
                rec.g = _object.new_object(rt, heap, G_SIZE, False, _mask(T["g"]), T["g"])
                self.all_g.append(rec.g)
                self._allgadd(rec.g)
            if rec.funcval is not None:
                rec.g.sched_ctxt = rec.funcval
        self.gs[g.id] = rec
        if trigger and heap.gc_pending:
            rt.collector.heap_triggered()
        return rec

    def started(self, goid):
        """The goroutine began to run: its wrapper closure is no longer referenced."""
        rec = self.gs.get(goid)
        if rec is not None and rec.funcval is not None:
            with self.rt.world, _signals.held():
                rec.g.sched_ctxt = None
                rec.funcval = None

    def _allgadd(self, gp):
        rt = self.rt
        T = _types()
        n = self.allglen
        if n < self.allgcap:
            if self.allgs is not None:
                self.allgs = _object.make_slice(rt, rt.heap, self.allgs.addr, n + 1,
                                                self.allgcap, T["gp"])
                self.allgs[n] = gp
        else:                                            # Go: growslice
            newcap, capmem = growslice_size(n + 1, self.allgcap, T["gp"])
            out = _object.new_slice_object(rt, rt.heap, capmem, False, b"\x01", newcap,
                                           n + 1, newcap, T["gp"])
            if self.allgs is not None:
                rt.heap.view(out.addr, n * 8)[:] = rt.heap.view(self.allgs.addr, n * 8)
            else:                                        # from Go's start-up array
                start = START_ALLGS[0]
                for i, h in enumerate(self.all_g[:n - start]):
                    out[start + i] = h
            out[n] = gp
            self.allgs, self.allgcap = out, newcap
        self.allglen = n + 1

    def goexit(self, g):
        """*g* exited (called from the scheduler, possibly under its lock): its G goes on
        the free list at the next go statement or GC (Go: gdestroy, gfput)."""
        rec = self.gs.pop(g.id, None)
        if rec is not None:
            self.exited.append(rec)

    def _reap(self):
        """Put exited Gs on the free list; their timers become garbage (gp.timer = nil)."""
        if not self.exited:
            return
        with self.rt.world, _signals.held():
            while self.exited:
                rec = self.exited.pop(0)
                rec.funcval = None
                if rec.g is not None:
                    rec.g.sched_ctxt = None
                    rec.g.timer = None
                    self.gfree.append(rec.g)
                rec.timer = None

    def retained(self):
        """``(objects, bytes)`` of the heap objects this module holds now (Gs, allgs, cached
        sudogs, timers, closures): what stays on the heap after the program dropped
        everything, as in Go."""
        hs = list(self.all_g) + [self.allgs, self.timers] + self.sudogcache + self.sudog_central
        for rec in list(self.gs.values()) + self.exited:
            hs += [rec.timer, rec.funcval]
        n = nbytes = 0
        for h in hs:
            if h is not None:
                info = self.rt.heap.find_object(h.addr)
                n += 1
                nbytes += info[2]
        return n, nbytes

    # -- sudogs ----------------------------------------------------------------------------
    def acquire_sudog(self):
        """Go: acquireSudog. Returns the sudog handle (None: Go's start-up sudog)."""
        rt = self.rt
        cache = self.sudogcache
        if not cache:
            while len(cache) < SUDOG_CACHE_CAP // 2 and self.sudog_central:
                cache.append(self.sudog_central.pop())
            if not cache:
                T = _types()
                with rt.world, _signals.held():
                    cache.append(_object.new_object(rt, rt.heap, SUDOG_SIZE, False,
                                                    _mask(T["sudog"]), T["sudog"]))
                if rt.heap.gc_pending:
                    rt.collector.heap_triggered()
        return cache.pop()

    def release_sudog(self, s):
        """Go: releaseSudog: back to the P's cache; a full cache moves half to the central
        list first (the central list is what the next GC drops)."""
        cache = self.sudogcache
        if len(cache) == SUDOG_CACHE_CAP:
            while len(cache) > SUDOG_CACHE_CAP // 2:
                self.sudog_central.append(cache.pop())
        cache.append(s)

    def clearpools(self):
        """At the start of every GC (Go: clearpools): drop the central sudog list; free the
        timers of goroutines that exited. The caller holds the world lock."""
        self.sudog_central.clear()
        self._reap()

    # -- timers ----------------------------------------------------------------------------
    def sleep_start(self, goid):
        """time.Sleep by goroutine *goid*: its timer (made on first use) joins the P's
        timer heap. Returns a token for `sleep_end`."""
        rt = self.rt
        rec = self.gs.get(goid)
        if rec is None:
            return False
        T = _types()
        with rt.world, _signals.held():
            if rec.timer is None:                        # Go: timeSleep, gp.timer = new(timer)
                rec.timer = _object.new_object(rt, rt.heap, TIMER_SIZE, False,
                                               _mask(T["timer"]), T["timer"])
                if rec.g is not None:
                    rec.g.timer = rec.timer
            n = self.timers_len
            if n == self.timers_cap:                     # Go: ts.heap = append(ts.heap, ...)
                W = T["timerWhen"]
                newcap, capmem = growslice_size(n + 1, n, W)
                out = _object.new_slice_object(rt, rt.heap, capmem, False, _mask(W), newcap,
                                               n + 1, newcap, W)
                if self.timers is not None and n:
                    rt.heap.view(out.addr, n * W.size)[:] = rt.heap.view(self.timers.addr, n * W.size)
                self.timers, self.timers_cap = out, newcap
            self.timers_len = n + 1
            rec.timer_queued = True
        if rt.heap.gc_pending:
            rt.collector.heap_triggered()
        return True

    def sleep_end(self, goid):
        """The timer fired (or the sleep was cut short): it leaves the timer heap."""
        rec = self.gs.get(goid)
        if rec is not None and rec.timer_queued:
            rec.timer_queued = False
            self.timers_len -= 1


def _mask(T):
    import numpy as np
    return np.ascontiguousarray(T.gc_mask(), dtype=np.uint8).tobytes()
