"""Specials: finalizer, cleanup and weak-handle records attached to heap objects.

Go keeps these as ``special`` records on each span (``mspan.specials``, mheap.go:
``specialfinalizer``, ``specialCleanup``, ``specialWeakHandle``; ``addspecial``,
``getOrAddWeakHandle``) and processes them when the sweeper finds their object unmarked
(``mspan.sweep``, mgcsweep.go). `Specials` is their one owner here: `mfinal` and
`mcleanup` add and remove records through it, ``weak.Make`` gets its handle cell from
`Specials.weak_make`, and the collector calls `Specials.sweep` before sweeping the spans.

Sweep order (spec §3.7 step 1): dead objects in (span class, address) order; per object,
weak handles are cleared first, then either its finalizers are queued (the object is
revived for this cycle, so its cleanups wait) or its cleanups are queued, several at one
offset newest first.
"""
import weakref

import numpy as np

__all__ = ["FinalizerSpecial", "CleanupSpecial", "WeakSpecial", "Specials",
           "IMMORTAL_WEAK_BASE"]

IMMORTAL_WEAK_BASE = 0x5f0000 # off-heap weak handles of immortal (zero-size) objects


class FinalizerSpecial:
    """Go: specialfinalizer. *slot* is the object's base, *spanclass* its span's class."""

    __slots__ = ("addr", "slot", "spanclass", "fn", "elem")

    def __init__(self, addr, slot, spanclass, fn, elem):
        self.addr, self.slot, self.spanclass, self.fn, self.elem = addr, slot, spanclass, fn, elem


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
        with rt.world:
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

    def sweep(self):
        """Spec 3.7 step 1, in sweep order: (span class, address, special kind). The
        caller (mark termination) holds the world lock."""
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
            rt.cleanups.publish_filling()        # what an interrupted run left
            return
        slots = np.fromiter(by_slot.keys(), dtype=np.uint64, count=len(by_slot))
        marked = heap.marked_many(slots)
        dead = [int(s) for s, m in zip(slots, marked) if not m]
        dead.sort(key=lambda s: (by_slot[s][0], s))
        for s in dead:
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
        rt.cleanups.publish_filling()
