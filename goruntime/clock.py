"""Clocks: where goruntime's time comes from.

Go reads two clocks: ``nanotime()`` (monotonic, used for GC pacing, pauses and timers) and
``walltime()`` (Unix time, for ``MemStats.LastGC`` and ``PauseEnd``). goruntime gives every
Runtime one clock object with both readings, in one of two kinds:

- `VirtualClock` (the default): time is a number that moves only when goruntime moves it, so
  a run is reproducible bit for bit. It moves in two ways:

  * the scheduler *advances* it when every goroutine is blocked and some are sleeping: it
    jumps to the earliest wake-up time, the way Go's playground ``faketime`` and
    ``testing/synctest`` bubbles do (Go: checkdead's faketime branch, proc.go);
  * the runtime *charges* it for modelled CPU work (`VirtualClock.charge`): a GC pause of
    so many nanoseconds according to the cost model moves the clock by that much.

- `WallClock`: real time. ``nanotime()`` is ``time.monotonic_ns()`` since the clock was
  made, ``unix_nano()`` is ``time.time_ns()``. `advance`/`charge` do nothing (real time
  cannot be pushed), and `sleep_until` really sleeps.

Both kinds have the same interface (the `Clock` protocol), so the scheduler and the runtime
never ask which one they have, except through the ``virtual`` attribute when they must
(the scheduler only jumps time forward on a virtual clock).
"""
from __future__ import annotations

import operator
import threading
import time
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "VirtualClock", "WallClock", "make_clock", "DEFAULT_START_UNIX_NS"]

#: Unix time (ns) at which a `VirtualClock` starts by default: 2023-11-14T22:13:20Z.
DEFAULT_START_UNIX_NS = 1_700_000_000_000_000_000


@runtime_checkable
class Clock(Protocol):
    """What the scheduler and the runtime need from a clock."""

    virtual: bool

    def nanotime(self) -> int: ...          # Go: nanotime, monotonic ns
    def unix_nano(self) -> int: ...         # Go: time.Now().UnixNano()
    def advance(self, ns: int) -> int: ...
    def advance_to(self, t: int) -> int: ...
    def charge(self, ns: int) -> int: ...
    def sleep_until(self, t: int) -> None: ...


def _nonnegative(ns, what):
    ns = operator.index(ns)
    if ns < 0:
        raise ValueError(f"goruntime: {what} of negative duration {ns}ns")
    return ns


class VirtualClock:
    """A deterministic clock: time moves only through `advance`, `advance_to` and `charge`.

    Parameters
    ----------
    start_unix_ns : int, optional
        ``unix_nano()`` when ``nanotime()`` is 0. The default is a fixed instant
        (`DEFAULT_START_UNIX_NS`) so that ``LastGC``/``PauseEnd`` are reproducible too.

    ``nanotime()`` starts at 0 and never goes backwards. The clock is safe to share between
    threads (the threads scheduler does): updates take an internal lock.
    """

    virtual = True

    def __init__(self, start_unix_ns: int = DEFAULT_START_UNIX_NS):
        self.start_unix_ns = operator.index(start_unix_ns)
        self._now = 0
        self._lock = threading.Lock()

    def nanotime(self) -> int:
        """Monotonic nanoseconds since the clock was made (Go: nanotime)."""
        return self._now

    def unix_nano(self) -> int:
        """Unix time in nanoseconds: ``start_unix_ns + nanotime()`` (Go: walltime)."""
        return self.start_unix_ns + self._now

    def advance(self, ns: int) -> int:
        """Move time forward by *ns* >= 0 nanoseconds; return the new ``nanotime()``."""
        ns = _nonnegative(ns, "advance")
        with self._lock:
            self._now += ns
            return self._now

    def advance_to(self, t: int) -> int:
        """Move time forward to *t* if it is later than now (never backwards); return now."""
        t = operator.index(t)
        with self._lock:
            if t > self._now:
                self._now = t
            return self._now

    def charge(self, ns: int) -> int:
        """Account *ns* nanoseconds of modelled CPU work: the same as ``advance(ns)``.

        The runtime calls this for the cost model (mark, sweep, pause time), so that on a
        virtual clock a GC "takes" time and ``PauseNs``/``LastGC`` move deterministically.
        Sleepers whose wake time has passed run at the next scheduling point; charging does
        not call the scheduler's ``on_tick`` (only sleeping-forward does).
        """
        return self.advance(ns)

    def sleep_until(self, t: int) -> None:
        """What "wait until *t*" means for virtual time: jump there (``advance_to``)."""
        self.advance_to(t)

    def __repr__(self):
        return f"VirtualClock(nanotime={self._now}, start_unix_ns={self.start_unix_ns})"


class WallClock:
    """Real time: ``time.monotonic_ns()`` since creation and ``time.time_ns()``.

    `advance`, `advance_to` and `charge` are accepted and do nothing (real time passes by
    itself); they return the current ``nanotime()``. `sleep_until` blocks the calling thread.
    """

    virtual = False

    def __init__(self):
        self._base = time.monotonic_ns()

    def nanotime(self) -> int:
        """Monotonic nanoseconds since the clock was made (Go: nanotime)."""
        return time.monotonic_ns() - self._base

    def unix_nano(self) -> int:
        """Unix time in nanoseconds (Go: walltime)."""
        return time.time_ns()

    def advance(self, ns: int) -> int:
        """No-op on a wall clock (the argument is still checked); returns ``nanotime()``."""
        _nonnegative(ns, "advance")
        return self.nanotime()

    def advance_to(self, t: int) -> int:
        """No-op on a wall clock; returns ``nanotime()``."""
        operator.index(t)
        return self.nanotime()

    def charge(self, ns: int) -> int:
        """No-op on a wall clock: the work being modelled really took its time."""
        return self.advance(ns)

    def sleep_until(self, t: int) -> None:
        """Really sleep until ``nanotime() >= t``."""
        while True:
            d = t - self.nanotime()
            if d <= 0:
                return
            time.sleep(d / 1e9)

    def __repr__(self):
        return f"WallClock(nanotime={self.nanotime()})"


def make_clock(spec) -> Clock:
    """Return a clock for *spec*: ``"virtual"``, ``"wall"`` or an object with the `Clock` interface.

    A clock object is returned as is (so several runtimes can share one). Anything else
    raises ``ValueError``.
    """
    if isinstance(spec, str):
        if spec == "virtual":
            return VirtualClock()
        if spec == "wall":
            return WallClock()
        raise ValueError(f"goruntime: unknown clock {spec!r} (want 'virtual' or 'wall')")
    if isinstance(spec, Clock):
        return spec
    raise ValueError(
        f"goruntime: clock must be 'virtual', 'wall' or a clock object, not {spec!r}")
