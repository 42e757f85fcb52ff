"""Cleanups: AddCleanup, the cleanup queue and the cleanup goroutines (Go: mcleanup.go).

``AddCleanup(ptr, fn, arg)`` checks its arguments with Go's panics (spec 6.1), allocates
the argument's box and the call adapter's closure on the heap (Go does both), and records
a cleanup special (`mspecial.CleanupSpecial`). When the sweep finds *ptr*'s object
unmarked, `Specials.sweep` queues its cleanups here in 20-entry blocks (Go: cleanupQueue:
the P's block, pushed on a stack of full blocks when it fills, flushed when the sweep
ends); with one P the cleanup goroutine takes the stack, newest block first, between the
sweepers' turns (`Cleanups.end_batch`), so `queue` holds the blocks in the order they
run; cleanup goroutines, created lazily by
AddCleanup (up to GOMAXPROCS/4), each take a whole block and run it in order (Go:
runCleanups). A block stays a GC root until every cleanup in it has run.
"""
import inspect
import itertools
import weakref

import numpy as np

from . import _heap, _object, _signals, types as _types
from .closure import capture_type
from .errors import Panic
from .mspecial import CleanupSpecial

__all__ = ["Cleanup", "Cleanups", "BLOCK_SIZE"]

BLOCK_SIZE = 20               # Go: cleanupBlock holds 20 entries (cleanupBlockSize)
MAX_TINY_SIZE = 16            # Go: maxTinySize (the argument box's size when S is small)


class Cleanup:
    """Go's runtime.Cleanup: the handle AddCleanup returns. ``Stop()`` cancels it."""

    __slots__ = ("_rt", "_id")

    def __init__(self, rt=None, id=0):
        self._rt, self._id = rt, id

    def Stop(self):
        """Cancel the cleanup if it has not been queued yet; idempotent (Go: Cleanup.Stop)."""
        if self._rt is not None and self._id:
            self._rt.cleanups.stop(self._id)

    stop = Stop

    def __repr__(self):
        return f"Cleanup(id={self._id})" if self._id else "Cleanup{}"


class Cleanups:
    """The Runtime's cleanup queue and cleanup goroutines."""

    # The runtime, held weakly: nothing a Runtime owns may keep it alive, so that it is
    # freed (and closed) when its last user reference goes (issue 13).
    rt = property(lambda self: self._rt())

    def __init__(self, rt):
        self._rt = weakref.ref(rt)
        self.ids = itertools.count(1)
        self.queue = []               # published blocks (lists of CleanupSpecial)
        self.filling = []             # the P's block the running sweep fills (`take`)
        self.full = []                # full blocks the goroutine has not taken (Go: q.full, a stack)
        self.running = []             # blocks taken by a cleanup goroutine, not yet drained
        self.held = []                # blocks flushed at runtime.GC's sweep end, woken after it returns
        self.hold_flush = False       # the sweep's end flush goes to `held` (`Specials.sweep`)
        self.hold_full = False        # so do the full blocks left at the sweep's end
        self.bg_first = False         # this sweep's turns start with the background sweeper
        self.goroutines = []
        self.idle = []                # cleanup goroutines parked for want of a block
        self.need = 0                 # blocks no idle goroutine could take (Go: needG)

    def add_cleanup(self, ptr, cleanup, arg):
        """Go: runtime.AddCleanup, with Go's panics (spec 6.1); returns a Cleanup."""
        rt = self.rt
        rt.heap.check_thread()
        Pointer, SliceValue = _object.Pointer, _object.SliceValue
        if ptr is None:
            raise Panic("runtime.AddCleanup: ptr is nil")
        if not isinstance(ptr, Pointer):
            raise TypeError(f"AddCleanup: ptr must be a pointer handle, not {type(ptr).__name__}")
        rt._own(ptr)
        if isinstance(arg, (Pointer, SliceValue)):
            rt._own(arg)                    # a foreign handle's address means nothing here
        if isinstance(arg, Pointer) and arg.addr == ptr.addr:
            raise Panic("runtime.AddCleanup: ptr is equal to arg, cleanup will never run")
        if not callable(cleanup):
            raise TypeError(f"AddCleanup: cleanup must be callable, not {type(cleanup).__name__}")
        try:                                # Go: cleanup is a func(S) (a compile-time check)
            sig = inspect.signature(cleanup)
        except (TypeError, ValueError):
            sig = None                      # a builtin without a signature: trust it
        if sig is not None:
            try:
                sig.bind(arg)
            except TypeError:
                raise TypeError(f"cannot use cleanup (func{sig}) as func(S) value in argument "
                                f"to runtime.AddCleanup: it must take one argument") from None
        if rt.godebug.get("sbrk"):
            return Cleanup()
        info = rt.heap.find_object(ptr.addr)
        if info is None:
            if ptr.addr == _heap.ZERO_BASE or not rt.heap.in_arena(ptr.addr):
                return Cleanup()
            raise Panic("runtime.AddCleanup: ptr not in allocated block")
        base, slot, elemsize, spanclass = info
        tiny = spanclass == 5 and elemsize == 16
        if isinstance(arg, (Pointer, SliceValue)) and not tiny and slot <= arg.addr < slot + elemsize:
            raise Panic("runtime.AddCleanup: ptr is within arg, cleanup will never run")
        for cell in (getattr(cleanup, "__closure__", None) or ()):
            try:
                v = cell.cell_contents
            except ValueError:
                continue
            if isinstance(v, (Pointer, SliceValue)) and slot <= v.addr < slot + elemsize:
                raise Panic("runtime.AddCleanup: cleanup function closes over ptr, cleanup will never run")
        heap = rt.heap
        # held: the box, the closure, the record and the cleanup goroutines at once (a
        # Ctrl-C before the goroutines left a cleanup that never ran)
        with rt.world, _signals.held():
            # Go allocates the argument's box and the call adapter's closure (spec 6.1):
            # both or neither (out of memory after the box would leave it allocated).
            # Go: argv := new(S), or a 16-byte pointer-free box ([2]uintptr) when S is
            # smaller than 16 bytes and pointer-free; *argv = arg.
            try:
                S, x = capture_type(arg)
            except TypeError:             # a Python value with no Go type: a pointer-free word
                S, x = _types.Uintptr, 0
            if S.size:                    # Go's checks of the store first: a failed call allocates nothing
                _object.check_store(_object.make_slice(rt, heap, 0, 0, 0, _types.Byte), S, x)
            small = S.size < MAX_TINY_SIZE and not S.has_pointers
            box_size, box_noscan = (MAX_TINY_SIZE, True) if small else (S.size, not S.has_pointers)
            heap.need((box_size, 16), (box_noscan, False), box_size)
            box = heap.alloc(box_size, box_noscan, None if box_noscan else S.gc_mask())
            if S.size:
                _object.make_pointer(rt, heap, box, S).value = x
            closure = heap.alloc(16, False, np.array([0, 1], np.uint8))
            heap.write_word(closure + 8, box)
            cid = next(self.ids)
            rt.specials.cleanups[cid] = CleanupSpecial(cid, ptr.addr, slot, spanclass, cleanup,
                                                       arg, closure, box)
            self._spawn_goroutines()
        if heap.gc_pending:
            rt._heap_triggered_gc()
        return Cleanup(rt, cid)

    def stop(self, cid):
        """Go: Cleanup.Stop: remove the special if it is still attached."""
        rt = self.rt
        with rt.world, _signals.held():
            rt.specials.cleanups.pop(cid, None)

    def queue_blocks(self, cleanups):
        """Queue *cleanups* (sweep order) in Go's 20-entry blocks; the caller holds the
        world lock."""
        self.rt._check_world("Cleanups.queue_blocks")
        self.rt.gc_record.cleanups_queued += len(cleanups)
        for i in range(0, len(cleanups), BLOCK_SIZE):
            self.queue.append(cleanups[i:i + BLOCK_SIZE])

    def take(self, specials, cid):
        """The sweep found cleanup *cid* of dict *specials* dead: move it to the blocks
        being filled. One statement (C calls only), so a sweep run again after an exception
        (mgc.Collector.complete) finds the record either here or there."""
        self.filling.append(specials.pop(cid))
        while len(self.filling) >= BLOCK_SIZE:     # Go: a full block is pushed on q.full
            self.full.append(self.filling[:BLOCK_SIZE]); del self.filling[:BLOCK_SIZE]  # noqa: E702 - one line: one step

    def end_batch(self, ended=None, next_batch=None):
        """The cleanup goroutine runs here, between two sweepers' turns (Go, one P): it
        takes the full blocks newest first (q.full is a stack), each run in order.

        *ended* is the sweep batch that just ended, *next_batch* the next one holding a
        cleanup (`mspecial.sweep_batches`). Woken at mark termination, the goroutine is
        queued behind runtime.GC's caller and the background sweeper, so it first runs
        after batch 2 (Go: cleanupQueue.wake puts it on the run queue, where the finalizer
        goroutine gets the runnext slot). When the background sweeper went first
        (`bg_first`), the caller is back on the P's queue after each of its turns, ahead
        of the cleanup goroutine, which runs only after a turn of the caller (an even
        batch). With no *ended* (the sweep is over) the full blocks left go to `held`
        when `hold_full` says no caller's turn followed them."""
        if ended is not None:
            if self.bg_first:
                lo, hi = max(ended, 2), (ended if next_batch is None else next_batch - 1)
                if not (lo <= hi and (lo % 2 == 0 or lo + 1 <= hi)):
                    return
            elif ended < 2:
                return
        dest = self.held if ended is None and self.hold_full else self.queue
        while self.full:
            dest.append(self.full[-1]); del self.full[-1]  # noqa: E702 - one line: one step
            self.rt.gc_record.cleanups_queued += len(dest[-1])

    def publish_filling(self):
        """The sweep is done: full blocks first (`end_batch`), then the P's partly filled
        block (Go: gcCleanups.flush at the end of the sweep). Safe to run again.

        With `hold_flush` the flushed block waits in `held` until runtime.GC has returned
        (`release_held`): Go wakes the cleanup goroutine in findRunnable after the flush,
        into the run queue behind runtime.GC's caller, unless the caller is then in the
        global queue (see `mspecial.Specials.sweep`)."""
        while len(self.filling) >= BLOCK_SIZE:
            self.full.append(self.filling[:BLOCK_SIZE]); del self.filling[:BLOCK_SIZE]  # noqa: E702 - one line: one step
        self.end_batch()
        dest = self.held if self.hold_flush else self.queue
        while self.filling:
            dest.append(self.filling[:BLOCK_SIZE]); del self.filling[:BLOCK_SIZE]  # noqa: E702 - one line: one step
            self.rt.gc_record.cleanups_queued += len(dest[-1])

    def release_held(self):
        """runtime.GC has returned: the blocks its sweep's end flushed join the queue and
        the cleanup goroutines are woken; they run at the caller's next scheduling point."""
        rt = self.rt
        with rt.world, _signals.held():
            self.hold_flush = self.hold_full = self.bg_first = False
            if not self.held:
                return
            self.queue.extend(self.held)
            self.held.clear()
        self.wake()

    def _spawn_goroutines(self):
        """Cleanup goroutines are created lazily by AddCleanup (Go: cleanupQueue.needG)."""
        rt = self.rt
        limit = max(rt._gomaxprocs // 4, 1)
        if not self.goroutines:
            self.goroutines.append(rt._go_system(_cleanup_loop, "cleanup", weakref.ref(self)))
        while self.need > 0 and len(self.goroutines) < limit:
            self.goroutines.append(rt._go_system(_cleanup_loop, "cleanup", weakref.ref(self)))
            self.need -= 1

    def take_block(self, g):
        """A cleanup goroutine's next block (now running), or None: *g* is then idle."""
        with self.rt.world, _signals.held():
            block = self.queue.pop(0) if self.queue else None
            if block is None:
                self.idle.append(g)
            else:
                self.running.append(block)
        return block

    def run_block(self, block):
        """Go: runCleanups. Run *block*'s cleanups in order; the block stays a root until
        each of them has run (Go's cleanupQueue keeps the block until it is drained)."""
        rt = self.rt
        try:
            while block:
                c = block[0]
                try:
                    c.fn(c.arg)
                finally:
                    with rt.world, _signals.held():
                        block.pop(0)
                        rt.gc_record.cleanups_executed += 1
        finally:
            with rt.world, _signals.held():
                self.running.remove(block)

    def wake(self):
        """After a GC: wake idle cleanup goroutines, one per queued block.

        A wake-up that reaches a goroutine before it parks is remembered by the scheduler,
        so none is lost in threads mode. More blocks than idle cleanup goroutines record a
        need that later AddCleanup calls meet (Go: cleanupQueue.needG).
        """
        rt = self.rt
        with rt.world, _signals.held():
            n = len(self.queue)
            wake = []
            while self.idle and n:
                wake.append(self.idle.pop(0))
                n -= 1
            self.need = max(0, n)
        for g in wake:
            rt.sched.ready(g)


def _cleanup_loop(ref):
    """A cleanup goroutine: take a whole block off the queue, run its cleanups in order.
    Like the finalizer goroutine it holds its `Cleanups` (and the runtime) only weakly
    while parked, and ends when the runtime is gone (see `mfinal._fing_loop`)."""
    while True:
        cl = ref()
        if cl is None or cl.rt is None:
            return
        sched = cl.rt.sched
        block = cl.take_block(sched.current())
        if block is not None:
            cl.run_block(block)
            del cl, block, sched
            continue
        del cl
        sched.park("cleanup wait")
        del sched
