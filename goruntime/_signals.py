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
import signal
import sys
import threading

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


def _record(signum, frame):
    _recorded.append(signum)


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
        first = None
        for sig in pending:
            h = old.get(sig)
            if h is None:
                if sig in _held:            # an enclosing `held` block raises it
                    _recorded.append(sig)
                continue
            try:
                h(sig, sys._getframe(1))
            except BaseException as e:  # noqa: BLE001 - re-raised below
                if first is None:
                    first = e
        if first is not None:
            raise first


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


class held:
    """``with held():`` a short multi-step update (a map insert, delete or clear) that
    Ctrl-C must not cut in two: in the main thread, the only one where Python signal
    handlers run, a Python-level SIGINT handler (KeyboardInterrupt) is swapped for the
    recorder and called right after the block. Cheaper than `deferred` (one handler, no
    signal mask: a few microseconds); handlers of other signals are not held."""

    __slots__ = ("_handlers",)

    def __enter__(self):
        self._handlers = None
        try:
            if _swapped is None and threading.get_ident() == _MAIN:
                h = _getsignal(signal.SIGINT)
                if callable(h) and h is not _record:
                    self._handlers = {signal.SIGINT: h}
                    _setsignal(signal.SIGINT, _record)
                    _held[signal.SIGINT] = h
            return self
        except BaseException:
            # another signal's handler raised part way (``with`` never calls __exit__):
            # put SIGINT's handler back, or Ctrl-C would be recorded and lost for good
            self._release()
            raise

    def __exit__(self, *exc):
        old = self._handlers
        if old is None:
            return False
        h = self._release()
        if _recorded:                       # Ctrl-C came during the block: raise it now
            n = len(_recorded)
            del _recorded[:n]
            h(signal.SIGINT, sys._getframe(1))
        return False

    def _release(self):
        """SIGINT's own handler back (if this block swapped it); returns it."""
        old = self._handlers
        if old is None:
            return None
        h = old[signal.SIGINT]
        _held.clear()
        _setsignal(signal.SIGINT, h)
        return h
