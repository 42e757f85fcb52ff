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
Threads that goruntime does not own (Jupyter's, a user's) may still take a signal while
the main thread collects: then the handler can run inside the collector.
"""
import signal

try:                        # the C function: signal.pthread_sigmask converts every
    from _signal import pthread_sigmask as _sigmask    # signal number to an enum (slow)
except ImportError:
    _sigmask = None

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


class deferred:
    """``with deferred():`` asynchronous signals are held until the block ends."""

    __slots__ = ("_old",)

    def __enter__(self):
        self._old = None
        if _ASYNC:
            self._old = _sigmask(signal.SIG_BLOCK, _ASYNC)
            try:
                _run_pending()
            except BaseException:
                _sigmask(signal.SIG_SETMASK, self._old)
                raise
        return self

    def __exit__(self, *exc):
        if self._old is not None:
            _sigmask(signal.SIG_SETMASK, self._old)
        return False
