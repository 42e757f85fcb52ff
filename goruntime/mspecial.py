"""Specials: finalizer, cleanup and weak-handle records attached to heap objects.

Go keeps these as ``special`` records on each span (``mspan.specials``, mheap.go:
``specialfinalizer``, ``specialCleanup``, ``specialWeakHandle``; ``addspecial``,
``getOrAddWeakHandle``) and processes them when the sweeper finds their object unmarked
(``mspan.sweep``, mgcsweep.go). `Specials` is their one owner here: `mfinal` and
`mcleanup` add and remove records through it, ``weak.Make`` gets its handle cell from
`Specials.weak_make`, and the collector calls `Specials.sweep` before sweeping the spans.

Sweep order (spec §3.7 step 1, issue 15 item 1): span by span in Go's sweep order
(`_mark.sweep_order`: the spans the mcache flush swept at mark termination, then by span
class, full before partial, in push order), and by address within a span; per object,
weak handles are cleared first, then either its finalizers are queued (the object is
revived for this cycle, so its cleanups wait) or its cleanups are queued, several at one
offset newest first. The queues are cut where Go's finalizer and cleanup goroutines run
between the sweepers' turns (`sweep_batches`).
"""
import weakref

import numpy as np

from . import _heap, _mark, _signals

__all__ = ["FinalizerSpecial", "CleanupSpecial", "WeakSpecial", "Specials",
           "IMMORTAL_WEAK_BASE", "SWEEP_BATCH", "sweep_batches"]

IMMORTAL_WEAK_BASE = 0x5f0000 # off-heap weak handles of immortal (zero-size) objects


class FinalizerSpecial:
    """Go: specialfinalizer. *slot* is the object's base, *spanclass* its span's class."""

    __slots__ = ("addr", "slot", "spanclass", "fn", "elem", "nret")

    def __init__(self, addr, slot, spanclass, fn, elem, nret=0):
        self.addr, self.slot, self.spanclass, self.fn, self.elem = addr, slot, spanclass, fn, elem
        self.nret = nret            # Go: the size of the finalizer's results (runfinq's frame)


class CleanupSpecial:
    """Go: specialCleanup: the cleanup *fn*, its *arg*, and the heap closure and box
    that root the argument (spec 6.1)."""

    __slots__ = ("id", "addr", "slot", "spanclass", "fn", "arg", "closure", "box", "roots")

    def __init__(self, id, addr, slot, spanclass, fn, arg, closure, box):
        self.id, self.addr, self.slot, self.spanclass = id, addr, slot, spanclass
        self.fn, self.arg, self.closure, self.box = fn, arg, closure, box


class WeakSpecial:
    """Go: specialWeakHandle: the handle *cell* (holding the object's address)."""

    __slots__ = ("addr", "slot", "spanclass", "cell")

    def __init__(self, addr, slot, spanclass, cell):
        self.addr, self.slot, self.spanclass, self.cell = addr, slot, spanclass, cell


class Specials:
    """The Runtime's special records, keyed by the registered address (finalizers, weak
    handles) or by cleanup id. Mutated under the world lock."""

    # The runtime, held weakly: nothing a Runtime owns may keep it alive, so that it is
    # freed (and closed) when its last user reference goes (issue 13).
    rt = property(lambda self: self._rt())

    def __init__(self, rt):
        self._rt = weakref.ref(rt)
        self.finalizers = {}          # address -> FinalizerSpecial
        self.cleanups = {}            # cleanup id -> CleanupSpecial
        self.weak = {}                # address -> WeakSpecial
        self.immortal_weak = {}       # address -> off-heap handle, for zerobase pointers

    def counts(self):
        """``(finalizers, cleanups, weak handles)``: the records alive (MemStats' specials)."""
        return (len(self.finalizers), len(self.cleanups), len(self.weak))

    def weak_make(self, p):
        """Go: weak.Make. Returns ``(cell address, immortal)``.

        A heap object gets a canonical handle cell per (object, offset): one 16-byte
        allocation the first time. A pointer outside the heap (zero-size objects at
        zerobase) gets an immortal handle, off-heap and canonical too, that never goes nil
        (Go: getOrAddWeakHandle's immortal handles; nothing is allocated).
        """
        rt = self.rt
        rt.heap.check_thread()
        rt._own(p)
        # the cell is allocated and recorded in one step for Python's signal handlers (a
        # handler's GC in between freed it; B32's rule)
        with rt.world, _signals.held():
            rec = self.weak.get(p.addr)
            if rec is not None:
                return rec.cell, False
            info = rt.heap.find_object(p.addr)
            if info is None:
                cell = self.immortal_weak.get(p.addr)
                if cell is None:
                    cell = IMMORTAL_WEAK_BASE + 8 * len(self.immortal_weak)
                    self.immortal_weak[p.addr] = cell
                return cell, True
            cell = rt.heap.alloc(16, True)
            rt.heap.write_word(cell, p.addr)
            base, slot, elemsize, spanclass = info
            self.weak[p.addr] = WeakSpecial(p.addr, slot, spanclass, cell)
        if rt.heap.gc_pending:
            rt._heap_triggered_gc()
        return cell, False

    def sweep(self, order=None, nstale=0, kind="cycle"):
        """Spec 3.7 step 1, span by span in Go's sweep order; the caller (mark termination)
        holds the world lock.

        *order* is `_mark.sweep_order`'s span order (default: computed here), its first
        *nstale* spans the mcaches flushed at mark termination. Within a span, dead objects
        go by address (Go's specials list is sorted by offset). The finalizer and cleanup
        queues are cut into the batches their goroutines would have taken between spans
        (`sweep_batches`). Returns the spans holding the dead objects it processed
        (a lazy sweep sweeps those at once).
        """
        rt = self.rt
        rt._check_world("Specials.sweep")
        heap = rt.heap
        by_slot = {}
        for f in self.finalizers.values():
            by_slot.setdefault(f.slot, [f.spanclass, [], [], []])[1].append(f)
        for w in self.weak.values():
            by_slot.setdefault(w.slot, [w.spanclass, [], [], []])[2].append(w)
        for c in self.cleanups.values():
            by_slot.setdefault(c.slot, [c.spanclass, [], [], []])[3].append(c)
        if not by_slot:
            self.end_sweep()                     # what an interrupted run left
            return np.zeros(0, dtype=np.int64)
        slots = np.fromiter(by_slot.keys(), dtype=np.uint64, count=len(by_slot))
        marked = heap.marked_many(slots)
        dead = slots[~np.asarray(marked, dtype=bool)]
        if order is None:
            order, nstale = _mark.sweep_order(heap)
        # each dead object's span, its place in the sweep order, and so its batch
        page_to_span = heap.page_to_span
        spans = page_to_span[((dead - np.uint64(_heap.ARENA_START)) >> np.uint64(13)).astype(np.int64)]
        rank = np.full(len(page_to_span), len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        pos = rank[spans]
        batch = sweep_batches(pos, nstale, kind)
        # Which goroutine runs first after mark termination decides the cleanup
        # goroutine's turns (`flush_runs_in_gc`): the finalizer goroutine, when the
        # mcache flush queued finalizers, else the background sweeper.
        has_fin = np.fromiter((bool(by_slot[int(s)][1]) for s in dead), dtype=bool, count=len(dead))
        fing_first = bool(np.any(has_fin & (batch == 0)))
        bg_first = kind == "cycle" and not fing_first
        cbatch = sweep_batches(pos, nstale, kind, bg_first=True) if bg_first else batch
        rt.cleanups.bg_first = bg_first
        seq = np.lexsort((dead, pos))
        prev = cprev = None
        for j in seq:
            s = int(dead[j])
            b, cb = int(batch[j]), int(cbatch[j])
            if prev is not None and b != prev:
                rt.finalizers.end_batch()        # fing ran between these spans (Go)
            if cprev is not None and cb != cprev:
                rt.cleanups.end_batch(cprev, cb)
            prev, cprev = b, cb
            _, fins, weaks, cleanups = by_slot[s]
            # each record moves in one statement: a sweep that is run again after an
            # exception (mgc.Collector.complete) finds it either here or there
            for w in weaks:
                heap.write_word(w.cell, 0)
                self.weak.pop(w.addr, None)
            if fins:
                heap.set_marked(s)                       # revive for this cycle
                for f in sorted(fins, key=lambda f: f.addr):
                    rt.finalizers.take(self.finalizers, f.addr)
            else:
                # Go's specials list keeps several cleanups at one offset newest first
                # (addspecial(force=true) splices before the existing record).
                for c in sorted(cleanups, key=lambda c: (c.addr, -c.id)):
                    rt.cleanups.take(self.cleanups, c.id)
        if kind == "cycle":
            nspans = len(order) - nstale
            rt.cleanups.hold_flush = not flush_runs_in_gc(fing_first, nspans)
            if bg_first and cprev is not None:
                # the sweep's last turn: the runtime's own span after the program's
                last = int(sweep_batches(np.array([nstale + max(nspans, 0)]), nstale, kind, bg_first=True)[0])
                rt.cleanups.hold_full = not _caller_turn_between(cprev, last + 1)
        self.end_sweep()
        return np.unique(spans).astype(np.int64)

    def end_sweep(self):
        """The sweep is done: the last batch ends, and the partly filled cleanup block is
        flushed (Go: gcCleanups.flush in activeSweep.end). Safe to run again."""
        self.rt.finalizers.end_batch()
        self.rt.cleanups.end_batch()
        self.rt.cleanups.publish_filling()


# Go's runtime.GC() with one P, after mark termination: the mcache flush sweeps the stale
# spans, then the caller sweeps one span and yields (sweepone; Gosched), the background
# sweeper sweeps ten and yields (bgsweep: goschedIfBusy every sweepBatchSize spans), in
# turn; at each yield the finalizer goroutine runs what was queued (it is woken into the
# P's runnext slot). The cleanup goroutine, woken into the run queue, runs at each yield
# too, except that at mark termination it queues behind both sweepers: it first runs
# after batch 2 (`Cleanups.end_batch`).
SWEEP_BATCH = 10              # Go: sweepBatchSize (mgcsweep.go)


def _caller_turn_between(ended, next_batch):
    """With the background sweeper first: whether runtime.GC's caller took a turn (an even
    batch) from batch *ended* up to before *next_batch*, after which the cleanup goroutine,
    woken by the full blocks queued so far, runs (Go: the caller's Gosched puts it in the
    global queue, behind the cleanup goroutine on the P's)."""
    lo, hi = max(ended, 2), next_batch - 1
    return lo <= hi and (lo % 2 == 0 or lo + 1 <= hi)


def flush_runs_in_gc(fing_first, nspans):
    """Whether the cleanups flushed at the end of runtime.GC's sweep run before it returns
    (Go 1.27, one P). The flush (gcCleanups.flush) is done by the last sweeper; the cleanup
    goroutine is woken at the next findRunnable, onto the tail of the P's run queue.

    Mark termination puts runtime.GC's caller on the P's run queue and the background
    sweeper in runnext. Unless the finalizer goroutine takes runnext (*fing_first*: the
    mcache flush queued finalizers), bgsweep sweeps first; after each of its yields the
    caller comes back to the local queue (globrunqgetbatch), ahead of the cleanup goroutine,
    so the caller returns first. With the finalizer goroutine first, the caller sweeps one
    span and yields to the global queue, bgsweep ten, in turn (`sweep_batches`): the cleanup
    goroutine runs first when bgsweep ends the sweep, i.e. unless the last span is the
    tenth of a bgsweep batch (bgsweep yields and the caller finds the end). The spans are
    the program's *nspans* after the mcache flush's and, as in `Collector.sweep_yields`,
    one of the runtime's own objects, which Go's heap always holds.
    Measured: oracle ``fid2_cleanup_wait`` (no finalizer: never), ``fid2_cleanup_turns``."""
    if not fing_first:
        return False
    last = max(nspans, 0)                  # 0-based position of the last span swept
    return last % (SWEEP_BATCH + 1) != SWEEP_BATCH


def sweep_batches(pos, nstale, kind, bg_first=False):
    """The batch of each span at sweep position *pos* (an int array): 0 for the *nstale*
    spans the mcache flush swept, then the turns of the sweepers (see above). A cycle
    that runtime.GC() did not start has no caller sweeping: the background sweeper's
    batches of ten (its turns against an allocating goroutine depend on timing in Go).
    *bg_first*: the background sweeper takes the first turn (no finalizer goroutine in
    runnext at mark termination, see `flush_runs_in_gc`): its batches are odd, the
    caller's single spans even."""
    j = np.asarray(pos, dtype=np.int64) - nstale
    if kind == "cycle":
        q, r = np.divmod(np.maximum(j, 0), SWEEP_BATCH + 1)
        b = 1 + 2 * q + ((r == SWEEP_BATCH) if bg_first else (r > 0))
    else:
        b = 1 + np.maximum(j, 0) // SWEEP_BATCH
    return np.where(j < 0, 0, b)
