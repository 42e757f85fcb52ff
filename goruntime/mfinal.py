"""Finalizers: SetFinalizer, the finalizer queue and the finalizer goroutine (Go: mfinal.go).

``SetFinalizer(obj, fn)`` checks its arguments in Go's order (spec 5.1) and records a
finalizer special (`mspecial.FinalizerSpecial`). When the sweep finds the object
unmarked, `Specials.sweep` revives it for one more cycle and *queues* the record here
(`Finalizers.queue`, Go: queuefinalizer onto ``finq``); the collector then wakes the one
finalizer goroutine (Go: ``fing``, `Finalizers.wake`). Go's fing takes the whole queue
each time it runs and runs it newest first (runfinq); with one P it runs between the
sweepers' turns, so the queue is kept in the batches it would have taken
(`Finalizers.end_batch`, cut by `Specials.sweep`), run oldest batch first, each newest
first. A queued entry stays a GC root until its finalizer has run. Like runfinq, fing
allocates its call frame (16 bytes for the argument plus the finalizer's results, no
pointers) the first time it runs a finalizer, and again when one needs a bigger frame;
the frame stays on its stack (a root) for good.

Python callables stand in for Go funcs: `func_type` types a callable from its
annotations, and ``types.finalizer_error`` applies Go's compatibility rules to it.
"""
import inspect
import weakref

from . import _heap, _object, _signals, types as _types
from .errors import FatalError
from .mspecial import FinalizerSpecial

__all__ = ["Finalizers", "func_type", "go_type_name", "python_hint"]


def go_type_name(v):
    """The Go type a Python value stands for, in messages."""
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float64"
    if isinstance(v, str):
        return "string"
    if isinstance(v, (_object.Pointer, _object.SliceValue)):
        return str(v.type)
    return type(v).__name__


def func_type(fn, obj_type):
    """The Go func type of Python callable *fn* (annotations give parameter types)."""
    try:
        sig = inspect.signature(fn, eval_str=True)      # PEP 563 string annotations too
    except (TypeError, ValueError, NameError, SyntaxError):
        try:
            sig = inspect.signature(fn)
        except (TypeError, ValueError):
            return _types.Func((obj_type,))
    params, variadic = [], False
    for prm in sig.parameters.values():
        if prm.kind in (prm.KEYWORD_ONLY, prm.VAR_KEYWORD):
            if prm.default is prm.empty and prm.kind == prm.KEYWORD_ONLY:
                params.append(_types.Any)
            continue
        if prm.default is not prm.empty:
            continue
        ann = prm.annotation
        t = ann if isinstance(ann, _types.Type) else (obj_type if not params else _types.Any)
        if prm.kind == prm.VAR_POSITIONAL:
            variadic = True                 # Func takes the element type of ...T
            params.append(t)
        else:
            params.append(t)
    results = ()
    if isinstance(sig.return_annotation, _types.Type):
        results = (sig.return_annotation,)
    elif isinstance(sig.return_annotation, tuple) and all(isinstance(r, _types.Type) for r in sig.return_annotation):
        results = sig.return_annotation
    return _types.Func(tuple(params), results, variadic)


_EFACE_SIZE = 16                    # Go: unsafe.Sizeof((any)(nil)), runfinq's argument slot


def _results_size(ftype):
    """Go's nret in SetFinalizer: the finalizer's results laid out in order, each at its
    alignment, rounded up to a word."""
    nret = 0
    for t in ftype.underlying.results:
        nret = -(-nret // t.align) * t.align + t.size
    return -(-nret // 8) * 8


def python_hint(ftype):
    """A hint for Python users, for a callable whose Go func type cannot be a finalizer."""
    ft = ftype.underlying
    if ft.variadic:
        return ("hint: a Python function with *args (print is one) is variadic in Go, which a "
                "finalizer may not be; pass a function of one argument, e.g. lambda p: print(p)")
    if len(ft.params) != 1:
        return (f"hint: a finalizer takes exactly one argument, the pointer; this function takes "
                f"{len(ft.params)} (parameters with defaults do not count), e.g. lambda p: ...")
    return ("hint: the finalizer's parameter annotation must be a type the pointer can be "
            "passed as (its own pointer type or an interface); leave it unannotated to accept it")


class Finalizers:
    """The Runtime's finalizer queue (``finq``) and its goroutine (``fing``)."""

    # The runtime, held weakly: nothing a Runtime owns may keep it alive, so that it is
    # freed (and closed) when its last user reference goes (issue 13).
    rt = property(lambda self: self._rt())

    def __init__(self, rt):
        self._rt = weakref.ref(rt)
        self.finq = []                # queued FinalizerSpecials, in queue order
        self.batches = []             # lengths of the closed batches at the front of finq
        self.closed = 0               # sum(batches)
        self.fing = None              # the finalizer goroutine, made by the first SetFinalizer
        self.frame = 0                # fing's call frame's address (Go: runfinq's frame, on
        self.frame_cap = 0            # fing's stack: a root, `mgc.special_roots`), framecap

    def set_finalizer(self, obj, finalizer):
        """Go: runtime.SetFinalizer, with Go's checks in Go's order (spec 5.1)."""
        rt = self.rt
        rt.heap.check_thread()
        if obj is None:
            raise FatalError("runtime.SetFinalizer: first argument is nil")
        if not isinstance(obj, _object.Pointer):
            raise FatalError(f"runtime.SetFinalizer: first argument is {go_type_name(obj)}, not pointer")
        rt._own(obj)
        if rt.godebug.get("sbrk"):
            return
        info = rt.heap.find_object(obj.addr)
        if info is None:
            if obj.addr == _heap.ZERO_BASE or not rt.heap.in_arena(obj.addr):
                return                                   # zerobase / globals: silently ignored
            raise FatalError("runtime.SetFinalizer: pointer not in allocated block")
        base, slot, elemsize, spanclass = info
        if obj.addr != base:
            e = obj.elem
            if e is None or e.has_pointers or e.size >= 16:
                raise FatalError("runtime.SetFinalizer: pointer not at beginning of allocated block")
        specials = rt.specials.finalizers
        if finalizer is None:
            with rt.world, _signals.held():
                specials.pop(obj.addr, None)
            return
        if not callable(finalizer):
            raise FatalError(f"runtime.SetFinalizer: second argument is {go_type_name(finalizer)}, not a function")
        ftype = func_type(finalizer, obj.type)
        err = _types.finalizer_error(obj.type, ftype)
        if err is not None:
            e = FatalError(err)             # Go's text; the hint is a note (shown below it)
            e.add_note(python_hint(ftype))
            raise e
        # held: a Ctrl-C between the record and the finalizer goroutine's creation left a
        # finalizer that never ran (no goroutine to run it)
        with rt.world, _signals.held():
            if obj.addr in specials:
                raise FatalError("runtime.SetFinalizer: finalizer already set")
            specials[obj.addr] = FinalizerSpecial(obj.addr, slot, spanclass, finalizer, obj.elem,
                                                  _results_size(ftype))
            rt.collector.finalizer_added(obj.addr)       # Go: addfinalizer during a mark
            if self.fing is None:
                self.fing = rt._go_system(_fing_loop, "finalizer", weakref.ref(self))

    def take(self, specials, addr):
        """The sweep found the object of finalizer *addr* of dict *specials* dead: queue
        it. The move is one statement (C calls only), so a sweep run again after an
        exception (mgc.Collector.complete) finds the record either here or there."""
        self.finq.append(specials.pop(addr))
        self.rt.gc_record.finalizers_queued += 1

    def end_batch(self):
        """Close the batch of finalizers queued so far: Go's finalizer goroutine took the
        whole queue here (runfinq: ``fb := finq; finq = nil``), before the sweep queued
        more. The caller holds the world lock."""
        n = len(self.finq) - self.closed
        if n > 0:
            self.batches.append(n); self.closed += n  # noqa: E702 - one line: one step

    def clear(self):
        """Drop every queued finalizer (the runtime is closing)."""
        self.finq.clear()
        self.batches.clear()
        self.closed = 0

    def _next(self):
        """The finalizer fing runs next: the newest of the oldest batch (Go runs a batch's
        finq blocks newest first, each block from its last entry down)."""
        n = self.batches[0] if self.batches else len(self.finq)
        return self.finq[n - 1]

    def _done(self, f):
        """*f* has run: off the queue (it was a root until now)."""
        i = self.batches[0] - 1 if self.batches else len(self.finq) - 1
        if not (0 <= i < len(self.finq) and self.finq[i] is f):
            i = self.finq.index(f)
        del self.finq[i]
        if self.batches and i < self.closed:
            k, acc = 0, self.batches[0]
            while acc <= i:
                k += 1
                acc += self.batches[k]
            self.batches[k] -= 1
            self.closed -= 1
            if not self.batches[k]:
                del self.batches[k]

    def queue(self, f):
        """Go: queuefinalizer. The sweep found *f*'s object dead; the caller holds the
        world lock."""
        self.rt._check_world("Finalizers.queue")
        self.finq.append(f)
        self.rt.gc_record.finalizers_queued += 1

    def wake(self):
        """After a GC: wake the finalizer goroutine if anything is queued.

        A wake-up that reaches the goroutine before it parks is remembered by the
        scheduler, so none is lost in threads mode.
        """
        if self.finq and self.fing is not None:
            self.rt.sched.ready(self.fing)

    def run_one(self):
        """Run the next finalizer (Go: runfinq's loop body): the newest of the oldest batch.
        The entry stays a root until its finalizer has run (Go: fb.cnt)."""
        rt = self.rt
        f = self._next()
        framesz = _EFACE_SIZE + f.nret
        if self.frame_cap < framesz:        # Go: frame = mallocgc(framesz, nil, true)
            heap = rt.heap
            with rt.world, _signals.held():
                heap.need((framesz,), (True,), framesz)
                self.frame = heap.alloc(framesz, True)
                self.frame_cap = framesz
            if heap.gc_pending:
                rt._heap_triggered_gc()
        arg = _object.make_pointer(rt, rt.heap, f.addr, f.elem)
        try:
            f.fn(arg)
        finally:
            with rt.world, _signals.held():
                self._done(f)
                rt.gc_record.finalizers_executed += 1


def _fing_loop(ref):
    """Go: runfinq. One goroutine runs every finalizer: batch by batch, oldest batch
    first, each newest queued first.

    It holds its `Finalizers` (and so the runtime) only weakly while parked: a suspended
    greenlet's frame is invisible to Python's cycle collector and a parked thread's frame
    is a root, so a strong reference here (or a finalizer left in a local, closing over
    its runtime) would keep the runtime alive for good (issue 13). When the runtime is
    gone the goroutine ends.
    """
    while True:
        fz = ref()
        if fz is None or fz.rt is None:
            return
        if fz.finq:
            fz.run_one()
            del fz
            continue
        sched = fz.rt.sched
        del fz
        sched.park("finalizer wait")
        del sched
