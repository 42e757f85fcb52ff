"""Asynchronous signals wait while the collector runs (Go's GC is not interrupted either).

Python runs a signal handler (SIGINT's raises ``KeyboardInterrupt``) between any two
bytecodes, so a Ctrl-C in the middle of ``rt.GC()`` could stop a cycle half way: marks set
but not swept, specials half queued. ``deferred()`` blocks the asynchronous signals for the
calling thread around a stop-the-world section; the kernel keeps them pending and delivers
them when the section ends, so the handler runs just after the cycle, on a consistent heap.
Synchronous signals (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS, SIGABRT) are never
blocked. Where ``signal.pthread_sigmask`` does not exist (Windows) this does nothing.

A signal sent to the process goes to any thread that does not block it, and CPython then
runs the Python handler in the main thread at its next bytecode, wherever that is. So
goroutine threads block the asynchronous signals for their whole life (``block_thread``):
with ``scheduler="threads"`` a Ctrl-C still reaches the main thread, after the cycle.
Threads that goruntime does not own (OpenBLAS's worker threads, Jupyter's, a user's) do
not block them: the kernel delivers the signal there and CPython would run the Python
handler inside the collector's code in the main thread. So in the main thread
``deferred()`` also swaps every Python-level handler for one that only records the signal,
and on exit puts the handlers back and calls each recorded one, in order, right after the
section (its exception, e.g. KeyboardInterrupt, is raised there).
"""
import functools
import signal
import sys
import threading
from itertools import compress as _compress
from queue import Empty as _Empty, SimpleQueue as _SimpleQueue

try:                        # the C function: signal.pthread_sigmask converts every
    from _signal import pthread_sigmask as _sigmask    # signal number to an enum (slow)
except ImportError:
    _sigmask = None
try:                        # signal.getsignal converts the result to an enum (slow): the
    from _signal import getsignal as _getsignal         # handlers are only tested here
except ImportError:
    _getsignal = signal.getsignal

_SYNCHRONOUS = {getattr(signal, n) for n in
                ("SIGSEGV", "SIGBUS", "SIGFPE", "SIGILL", "SIGTRAP", "SIGSYS", "SIGABRT",
                 "SIGKILL", "SIGSTOP") if hasattr(signal, n)}
_ASYNC = (frozenset(signal.valid_signals()) - _SYNCHRONOUS
          if _sigmask is not None else frozenset())


def _run_pending():
    """A Python call: a handler that is already due runs here, before the section starts."""


def block_thread():
    """Block the asynchronous signals in the calling thread for good (goroutine threads)."""
    if _ASYNC:
        _sigmask(signal.SIG_BLOCK, _ASYNC)


_MAIN = threading.main_thread().ident
_PY_SIGNALS = tuple(sorted(_ASYNC)) if _ASYNC else tuple(
    getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGBREAK") if hasattr(signal, n))
_swapped = None             # {signum: original handler} while the main thread defers
_held = {}                  # {signum: original handler} while a `held` block holds it
_recorded = []              # signals that arrived meanwhile, in order


_waker = None               # a callable `_record` calls: wakes main's interruptible wait


def _record(signum, frame):
    _recorded.append(signum)
    w = _waker
    if w is not None:
        w()


class interruptible_wait:
    """``with interruptible_wait() as w:`` in main, around a wait on a `threading.Condition`
    whose lock the caller holds (the threads scheduler's park and wall-clock sleep):
    ``w.wait(cond, timeout)`` returns when notified, at the timeout, or when a signal
    arrives (``w.signalled``), always with the lock held again. CPython's
    ``Condition.wait`` is cut by a raising handler twice over: in the wait (the caller then
    runs on with its state still waiting) and in taking the lock back (a second Ctrl-C:
    the lock is not taken, and the caller's ``with lock`` releases it while another thread
    holds it). Here the handlers are held (`held`) for the whole block: the recorder wakes
    the wait, the caller undoes its waiting state, and the handlers run (KeyboardInterrupt
    raised) at the block's exit (B89). Elsewhere (a goroutine thread, or inside another
    `held` block, where Ctrl-C waits anyway) it is ``cond.wait``."""

    __slots__ = ("_held", "_active", "signalled")

    def __enter__(self):
        self.signalled = False
        self._held = held()
        self._held.__enter__()
        self._active = self._held._handlers is not None
        return self

    def __exit__(self, *exc):
        self._held.__exit__(*exc)
        return False

    def wait(self, cond, timeout=None):
        global _waker
        if not self._active:
            return cond.wait(timeout)
        q = _SimpleQueue()
        w = _QueueWaiter(q)
        cond._waiters.append(w)             # what Condition.notify releases
        cond._lock.release()                # the scheduler's plain Lock, held once
        try:
            _waker = w.release
            if _recorded:
                self.signalled = True
                return False
            try:
                q.get(True, timeout)        # the handlers are the recorder: never cut
            except _Empty:
                return False
            return True
        finally:
            _waker = None
            if _recorded:
                self.signalled = True
            cond._lock.acquire()
            try:
                cond._waiters.remove(w)
            except ValueError:
                pass


class _QueueWaiter:
    """A Condition waiter that may be released any number of times (by `notify` and by the
    recorder): `put` on a SimpleQueue never raises, where a Lock released twice does."""

    __slots__ = ("release",)

    def __init__(self, q):
        self.release = functools.partial(q.put, None)


def _swap_handlers(old):
    """Main thread: every Python-level handler -> `_record`, the originals into *old*
    (filled as it goes: a handler that runs part way leaves *old* exact)."""
    for sig in _PY_SIGNALS:
        h = _getsignal(sig)
        if callable(h) and h is not _record:
            old[sig] = h
            _setsignal(sig, _record)


def _restore_handlers(old):
    """Put the handlers back, then run the recorded signals' handlers, in order (the
    first exception is raised). A real handler may run as soon as its own is back (a
    signal just delivered elsewhere): the bookkeeping is reset first, and the rest of
    the handlers are put back and the recorded ones run even then."""
    global _swapped
    _swapped = None
    pending = _recorded[:]
    del _recorded[:len(pending)]            # not [:]: one recorded in between must stay
    try:
        for sig, h in old.items():
            _setsignal(sig, h)
    finally:
        for sig, h in old.items():
            if _getsignal(sig) is _record:
                _setsignal(sig, h)
        n = len(_recorded)
        pending += _recorded[:n]            # recorded while the handlers were put back
        del _recorded[:n]
        _call_handlers(pending, old, 2)


class deferred:
    """``with deferred():`` asynchronous signals are held until the block ends."""

    __slots__ = ("_old", "_handlers")

    def __enter__(self):
        global _swapped
        self._old = None
        self._handlers = None
        # A due Python handler runs right after any C call returns (CPython checks for
        # signals there), so it may raise between a call and the statement that keeps its
        # result. Hence: the mask to restore is read first (an interruption changes
        # nothing), and everything that changes state is undone in ``finally`` blocks.
        if _ASYNC:
            self._old = _sigmask(signal.SIG_BLOCK, ())
        try:
            if _ASYNC:
                _sigmask(signal.SIG_BLOCK, _ASYNC)
            _run_pending()
            if _swapped is None and threading.get_ident() == _MAIN:
                _swapped = self._handlers = {}
                _swap_handlers(self._handlers)
            return self             # in the try: nothing may leak if __enter__ raises
        except BaseException:
            self._undo()
            raise

    def __exit__(self, *exc):
        self._undo()
        return False

    def _undo(self):
        """The mask back first (a signal then arrives while the recorder is still in
        place), then the handlers, each even if the other step raised."""
        try:
            if self._old is not None:
                _sigmask(signal.SIG_SETMASK, self._old)
        finally:
            if self._handlers is not None:
                _restore_handlers(self._handlers)


try:
    from _signal import getsignal as _getsignal, signal as _setsignal   # the C functions
except ImportError:
    _getsignal, _setsignal = signal.getsignal, signal.signal


_last_handlers = ()         # `held`: the handlers last seen, and the signals among them
_last_sigs = ()             # with a Python handler


class held:
    """``with held():`` a short multi-step update (a map insert, delete or clear, a heap
    channel's buffer slot and counts) that no Python-level signal handler may cut in two:
    any handler can raise (Ctrl-C's KeyboardInterrupt, a SIGTERM or SIGALRM handler that
    raises to stop the program). In the main thread, the only one where Python signal
    handlers run, every signal with a Python handler installed is swapped for the
    recorder, and the recorded ones' handlers are called right after the block, in order
    (the first exception is raised). Cheaper than `deferred` (no signal mask; one C-level
    pass over the handlers, about a microsecond, plus two `sigaction` calls per signal held)."""

    __slots__ = ("_handlers",)

    def __enter__(self):
        self._handlers = None
        try:
            # Inside an enclosing block (`_held` names what it holds) this one is inert:
            # the enclosing block runs the handlers. A nested block that finished on its
            # own cleared `_held` and dropped the signals recorded meanwhile (B77).
            if _swapped is None and not _held and threading.get_ident() == _MAIN:
                # which signals have a Python handler: one C-level pass over the handlers
                # (map), their selection recomputed only when a handler changed
                global _last_handlers, _last_sigs
                hs = tuple(map(_getsignal, _PY_SIGNALS))
                if hs != _last_handlers:
                    _last_sigs = tuple(_compress(_PY_SIGNALS, map(callable, hs)))
                    _last_handlers = hs
                sigs = _last_sigs
                if sigs:
                    self._handlers = old = {}
                    for sig in sigs:
                        h = _getsignal(sig)
                        if callable(h) and h is not _record:    # not an enclosing block's
                            old[sig] = h        # kept before the swap: nothing is lost
                            _held[sig] = h
                            _setsignal(sig, _record)
            return self
        except BaseException:
            # another signal's handler raised part way (``with`` never calls __exit__):
            # put the handlers back (or that signal would be recorded and lost for good)
            # and run the ones recorded meanwhile
            self._finish()
            raise

    def __exit__(self, *exc):
        if self._handlers is not None:
            self._finish()
        return False

    def _finish(self):
        """The swapped handlers back (each, even if one raised), then the handlers of the
        signals recorded meanwhile, in order; the first exception is raised."""
        old = self._handlers
        if old is None:
            return
        self._handlers = None
        _held.clear()       # first, while the recorder is in place: a stale entry would
        try:                # make every later block inert
            for sig, h in old.items():
                _setsignal(sig, h)
        except BaseException:
            for sig, h in old.items():          # again: a handler raised part way
                if _getsignal(sig) is _record:
                    _setsignal(sig, h)
            raise
        finally:
            if _recorded:
                _run_recorded(old)


def _run_recorded(old):
    """Call the handlers in *old* of the signals recorded so far, in order (one recorded
    meanwhile stays for the next block); the first exception is raised."""
    n = len(_recorded)
    pending = _recorded[:n]
    del _recorded[:n]
    _call_handlers(pending, old, 3)


def _call_handlers(pending, old, depth):
    """Call the handlers in *old* of the *pending* signals, in order, each given the
    frame *depth* levels up; the first exception is raised. A signal with none there that
    an enclosing `held` block holds is recorded again: that block raises it."""
    first = None
    for sig in pending:
        h = old.get(sig)
        if h is None:
            if sig in _held:
                _recorded.append(sig)
            continue
        try:
            h(sig, sys._getframe(depth))
        except BaseException as e:  # noqa: BLE001 - re-raised below
            if first is None:
                first = e
    if first is not None:
        # raised with the local cleared: a local naming the exception closes the cycle
        # exception -> traceback -> this frame -> exception, and the frames in the
        # traceback keep the interrupted caller's locals (handles, roots) alive until
        # Python's cycle collector runs (an interrupted SetFinalizer's object was never
        # finalized)
        try:
            raise first
        finally:
            first = None
