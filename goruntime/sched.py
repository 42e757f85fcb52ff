"""Goroutines: as much of Go's scheduler as the memory manager needs (channels, select
and WaitGroup, built on it, are in `goruntime.chan`).

The runtime needs goroutines for two reasons: finalizers and cleanups run on their own
goroutines (Go's ``fing`` and the cleanup goroutines, mfinal.go and mcleanup.go), and user
programs that exercise the GC (``go``, ``time.Sleep``, channels, ``sync.WaitGroup``) must
interleave with them the way they would in Go. This module is that scheduler, in two modes.

Scheduling points
-----------------
A *scheduling point* is a call where the current goroutine may stop running: `gosched`,
`sleep`, a blocking channel operation (`Chan.send`, `Chan.recv`, `select`, iteration),
`WaitGroup.Wait`, `Scheduler.park` and `Scheduler.run_until_idle`. Everything else
(`go`, `ready`, `try_send`, `try_recv`, `close`, `WaitGroup.Add`) never blocks.

Cooperative mode (the default): deterministic
---------------------------------------------
Every goroutine is a greenlet. Greenlets are stackful coroutines, so a goroutine can block
at any call depth (inside a finalizer, inside a library call) without being written as a
generator or ``async def``: that is why this module uses greenlet and not asyncio. One
extra greenlet, the *hub*, plays the part of Go's ``schedule()`` on ``g0``: a goroutine that
blocks switches to the hub, and the hub switches to the next runnable goroutine.

Guarantees:

- Only one goroutine runs at a time, and it runs until it reaches a scheduling point: no
  preemption, so code between scheduling points is atomic.
- Runnable goroutines run in FIFO order of becoming runnable (``go``, ``ready``, a channel
  hand-off, a wake-up). Go's ``runnext`` slot (a new or readied goroutine jumps the queue)
  is not modelled: FIFO keeps traces easy to read. Given the same program, the interleaving,
  goroutine ids and (with a virtual clock) every time reading are identical on every run;
  ``select`` picks among ready cases with a per-scheduler seeded PRNG, so it is fair like
  Go's and still reproducible.
- Time: when no goroutine is runnable and some are sleeping, the hub jumps the virtual clock
  to the earliest wake-up (Go's playground ``faketime``; ``testing/synctest``), or to
  ``next_tick`` if that comes first, calls ``on_tick(now)`` and wakes the sleepers that are
  due. With a wall clock it really sleeps until then instead.
- Deadlock: when no goroutine is runnable and none is sleeping, nothing can ever happen
  again, and the main goroutine (necessarily blocked) gets
  ``FatalError("all goroutines are asleep - deadlock!")`` (Go: checkdead, proc.go). The other
  blocked goroutines stay blocked and the scheduler stays usable.
- A goroutine whose function raises would crash a Go program (``panic: ...`` then
  ``goroutine N [running]:``). Here the goroutine dies and the exception is raised in the
  main goroutine before anything else runs, with ``exc.goroutine_id`` set and a note
  ``goroutine N [running]:`` added.

System goroutines (``go(..., system=True)``: the finalizer and cleanup goroutines) are left
out of ``num_goroutine()``, as in Go. Blocked in ``park`` they are just blocked goroutines,
so they never hide a deadlock. A *sleeping* goroutine, system or not, keeps the program
alive (Go: a pending timer), so periodic runtime work should not be a goroutine that
sleeps in a loop (a deadlocked program would then jump time forever): it belongs in
``on_tick``, with ``next_tick`` saying when it is next due.

The scheduler belongs to one thread: the main goroutine is the greenlet that created it
(or the first greenlet to use it while no goroutine is alive). Blocking operations from any
other context raise ``RuntimeError``; `go` and `ready` only append to the run queue and may
be called from anywhere (they are invisible to deadlock detection when they come from
another thread).

Threads mode: real concurrency
------------------------------
Every goroutine is a daemon ``threading.Thread``; channels, WaitGroup and park/ready are
guarded by one lock per scheduler, with one ``threading.Condition`` per goroutine to sleep
on. `gosched` is ``time.sleep(0)``. Nothing is deterministic except what Go guarantees
(channel FIFO hand-off, happens-before through channels and WaitGroup). ``gomaxprocs`` is
recorded (the runtime sizes the cleanup goroutines from it) but does not limit parallelism:
the GIL does that. The main goroutine is the thread that created the scheduler (or, once
that thread has exited and no goroutine is alive, the next thread to use it); any other
thread that is not a goroutine may use channels and WaitGroups too, as a *foreign* thread.

The scheduler counts *active* goroutines: those not blocked in one of its primitives.
Because every wake-up of a blocked goroutine comes from an active one (or from a timer),
"no goroutine active" is a cheap and certain test, and threads mode uses it exactly as the
cooperative hub uses "nothing runnable":

- virtual clock: ``sleep`` blocks until the shared virtual clock reaches the wake time, and
  the clock jumps (and ``on_tick`` is called, by the last thread to block) only when no
  goroutine is active. Time therefore means the same thing in both modes; a goroutine that
  spins in Python code without blocking keeps virtual time still, as it would in
  cooperative mode.
- wall clock: ``sleep`` really sleeps (on the goroutine's condition, so a crash report can
  interrupt main); a sleeping goroutine counts as "will wake by itself", never as deadlocked.
- deadlock: reported to main when no goroutine is active, no goroutine is sleeping on a wall
  clock, and no other thread has ever touched the scheduler and is still alive. A goroutine
  blocked on something the scheduler cannot see (a ``threading.Lock``, I/O, ``time.sleep``)
  counts as active, so detection can miss a deadlock but never reports a false one.
  Threads that are not goroutines are invisible until they use the scheduler; a thread
  that starts using it only later can make an earlier report premature.

In both modes ``on_tick`` with a wall clock is called at scheduling points, at most once
per millisecond of wall time (`WALL_TICK_NS`), never re-entrantly. An exception raised by
``on_tick`` is reported to the main goroutine like a goroutine crash.

park and ready
--------------
`Scheduler.park` and `Scheduler.ready` are Go's ``gopark``/``goready``, with one change that
makes check-then-park safe without an unlock callback: a ``ready(g)`` that arrives while
*g* is running or runnable is remembered (one permit, like Java's ``LockSupport.unpark``),
and *g*'s next ``park`` returns at once. Callers must therefore re-check their condition
after ``park`` returns, as with any condition variable. The finalizer goroutine's loop
("while the queue is empty: park('finalizer wait'); run one") is exactly that shape.

Mapping to Go (src/runtime unless noted): `Scheduler.go` ~ newproc, `gosched` ~ Gosched,
`park` ~ gopark, `ready` ~ goready (proc.go); `sleep` ~ timeSleep (time.go); the hub ~
schedule/findRunnable, the deadlock test ~ checkdead (proc.go); `Chan` ~ hchan with
chansend/chanrecv/closechan (chan.go); `select` ~ selectgo (select.go); `WaitGroup` ~
sync.WaitGroup (sync/waitgroup.go).
"""
from __future__ import annotations

import atexit
import collections
import contextvars
import heapq
import itertools
import operator
import random
import threading
import time
import traceback

import greenlet as _greenlet

from . import _signals
from .clock import Clock, VirtualClock, make_clock
from .errors import FatalError, NotCopyable
from .metrics import TimeHistogram

__all__ = [
    "Scheduler", "Goroutine",
    "set_current_scheduler_getter", "current_scheduler", "default_scheduler",
    "RUNNABLE", "RUNNING", "WAITING", "DEAD", "WALL_TICK_NS",
]

# Goroutine status (Go: _Grunnable, _Grunning, _Gwaiting, _Gdead in runtime2.go).
RUNNABLE = "runnable"
RUNNING = "running"
WAITING = "waiting"
DEAD = "dead"

# Wait reasons: Go's exact strings (waitReasonStrings, runtime2.go), as shown in tracebacks.
WAIT_CHAN_RECEIVE = "chan receive"
WAIT_CHAN_SEND = "chan send"
WAIT_SELECT = "select"
WAIT_SELECT_NO_CASES = "select (no cases)"
WAIT_SLEEP = "sleep"
WAIT_WAITGROUP = "sync.WaitGroup.Wait"
WAIT_IDLE = "run_until_idle"          # ours: main waiting for the others to block

MAX_WHEN = (1 << 63) - 1         # Go: maxWhen, the latest a timer can fire (time.go)

DEADLOCK = "all goroutines are asleep - deadlock!"

#: Go: gTrackingPeriod -- one goroutine transition in this many is timed.
G_TRACKING_PERIOD = 8

#: With a wall clock, ``on_tick`` is called at scheduling points at most this often.
WALL_TICK_NS = 1_000_000


def _funcname(fn):
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)
    return name.replace("<locals>.", "")


class _NoLock:
    """The cooperative scheduler's lock: one goroutine runs at a time, so it does nothing."""

    __slots__ = ()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def acquire(self, blocking=True, timeout=-1):
        return True

    def release(self):
        pass


class _Closed(BaseException):
    """Raised in a parked goroutine thread when its scheduler is closed: it unwinds and ends."""


class _GoGreenlet(_greenlet.greenlet):
    """A goroutine's greenlet (cooperative mode); ``goroutine`` points back to its G."""


class Goroutine(NotCopyable):
    """A goroutine (Go: the ``g`` struct, runtime2.go).

    Attributes
    ----------
    id : int
        Go's goid: 1 is the main goroutine, the others count up from 2 in creation order.
    name : str
        The function's qualified name (or the ``name=`` given to `Scheduler.go`).
    system : bool
        A runtime goroutine (the finalizer goroutine, cleanup goroutines): not counted by
        ``num_goroutine()`` (Go: isSystemGoroutine).
    status : str
        ``"runnable"``, ``"running"``, ``"waiting"`` or ``"dead"``.
    wait_reason : str
        Go's wait reason while waiting (``"chan receive"``, ``"sleep"``, ``"finalizer wait"``,
        ...), ``""`` otherwise.
    exception : BaseException or None
        What the goroutine's function raised, if it crashed.
    """

    __slots__ = ("sched", "id", "name", "system", "fn", "args", "_status", "wait_reason",
                 "exception", "_gr", "_cond", "_thread", "_permit", "_raise", "_sleep_seq",
                 "_idle_wait", "_wall_sleep", "_foreign",
                 "_tracking", "_tracking_seq", "_tracking_stamp")

    def __init__(self, sched, goid, fn, args, system, name):
        self.sched = sched
        self.id = goid
        self.name = name
        self.system = system
        self.fn = fn
        self.args = args
        # Go: newproc1 samples one transition in G_TRACKING_PERIOD from a random start
        # (cheaprand); here the start is the goroutine id, so runs are reproducible.
        self._tracking_seq = goid % 256
        self._tracking = self._tracking_seq % G_TRACKING_PERIOD == 0
        self._tracking_stamp = 0
        self._status = None
        self.status = RUNNABLE
        self.wait_reason = ""
        self.exception = None
        self._gr = None            # cooperative: the greenlet, made when first scheduled
        self._cond = None          # threads: Condition on the scheduler lock
        self._thread = None        # threads: the Thread
        self._permit = False       # a ready() that arrived while not waiting
        self._raise = None         # threads: exception to raise when woken (main only)
        self._sleep_seq = 0        # != 0 while in the sleepers heap (entry's seq)
        self._idle_wait = False    # main inside run_until_idle
        self._wall_sleep = False   # threads + wall clock: sleeping on its own timer
        self._foreign = False      # threads: a non-goroutine thread using the scheduler

    @property
    def status(self) -> str:
        return self._status

    @status.setter
    def status(self, new: str) -> None:
        """Go: casgstatus's scheduling-latency tracking. Every G_TRACKING_PERIOD-th move out
        of running is tracked: the time from runnable to running is recorded in the
        scheduler's ``time_to_run`` (/sched/latencies:seconds)."""
        old = self._status
        self._status = new
        if new == DEAD and old != DEAD and self.sched.on_exit is not None:
            self.sched.on_exit(self)             # the runtime frees its stack (gfput)
        if old == RUNNING and new != RUNNING:
            if self._tracking_seq % G_TRACKING_PERIOD == 0:
                self._tracking = True
            self._tracking_seq = (self._tracking_seq + 1) & 0xff
        if not self._tracking or old == new:
            return
        if new == RUNNABLE:
            self._tracking_stamp = self.sched.clock.nanotime()
        elif new == RUNNING:
            self._tracking = False
            runnable = self.sched.clock.nanotime() - self._tracking_stamp if old == RUNNABLE else 0
            self.sched.time_to_run.record(max(runnable, 0))

    @property
    def done(self) -> bool:
        """True once the goroutine's function has returned or raised."""
        return self.status == DEAD

    def __repr__(self):
        state = self.wait_reason if self.status == WAITING else self.status
        sys_ = " system" if self.system else ""
        return f"<Goroutine {self.id} [{state}]{sys_} {self.name}>"


class Scheduler(NotCopyable):
    """Goroutines, timers and the park/ready protocol behind channels and finalizers.

    Parameters
    ----------
    mode : {"cooperative", "threads"}
        See the module docstring. Anything else raises ``ValueError``.
    clock : None, "virtual", "wall" or a clock object
        ``None`` means a fresh `VirtualClock`.
    gomaxprocs : int
        Recorded (Go's GOMAXPROCS); must be >= 1.

    Attributes
    ----------
    on_tick : callable or None
        ``on_tick(nanotime)``, set by the runtime (periodic GC). Virtual clock: called each
        time the scheduler jumps time forward because every goroutine was blocked, with the
        new time, from the scheduler's own context (cooperative: the hub, where
        ``current()`` is ``None``; threads: the last thread to block) and never from inside
        a goroutine switch. Wall clock: called at scheduling points (cooperative: in the
        hub; threads: by the goroutine reaching the scheduling point, before it blocks), at
        most once per `WALL_TICK_NS`. It may call ``go``, ``ready`` and the non-blocking channel
        operations, not blocking ones.
    next_tick : int or None
        A time (``nanotime``) at which ``on_tick`` wants to be called even if no goroutine
        wakes then, e.g. the runtime's next periodic GC (Go: forcegcperiod, checked by
        sysmon). When every goroutine is blocked and the earliest sleeper wakes later than
        ``next_tick``, time stops at ``next_tick`` first (wall clock: the real sleep is cut
        there) and ``on_tick(next_tick)`` is called. It never keeps a program alive: with no
        sleeper at all, the deadlock is reported as in Go. ``on_tick`` usually moves it on.
    """

    def __init__(self, mode: str = "cooperative", clock=None, gomaxprocs: int = 1):
        if mode not in ("cooperative", "threads"):
            raise ValueError(
                f"goruntime: unknown scheduler mode {mode!r} (want 'cooperative' or 'threads')")
        self.mode = mode
        self._threads = mode == "threads"
        self.clock: Clock = VirtualClock() if clock is None else make_clock(clock)
        self._virtual = bool(getattr(self.clock, "virtual", False))
        self._gomaxprocs = 1
        self.gomaxprocs = gomaxprocs
        self.on_tick = None
        self.next_tick = None
        # on_idle(): cooperative mode, nothing is runnable (Go: findRunnable gives an idle P
        # to an idle GC mark worker); returns True if it did something (then look again)
        self.on_idle = None
        # the virtual clock's meter (clock.COSTS; the runtime reads them): goroutine
        # switches (cooperative mode), go statements, channel operations
        self.nswitch = 0
        # nanotime when the hub last gave a goroutine the CPU (Go: schedule(); sysmon's
        # retake preempts a goroutine forcePreemptNS after it, mgc.Collector.preempt_time)
        self.last_run_ns = 0
        self.ngo = 0
        self.nchanops = 0

        self._lock = threading.Lock() if self._threads else _NoLock()
        # threads: a block that takes the lock and does not wait holds the Python signal
        # handlers too (`_signals.held`): a KeyboardInterrupt at the block's exit, before
        # the release, left the lock held and main's next channel operation waited forever
        self._guard = _signals.held if self._threads else _NoLock
        self.time_to_run = TimeHistogram()          # Go: sched.timeToRun
        self.on_exit = None                         # called with each goroutine that exits
        self.proc = None                            # the Runtime's proc.Proc (sudogs), if any
        self._goids = itertools.count(2)
        self._allgs: dict[int, Goroutine] = {}     # live goroutines except main
        self._main = Goroutine(self, 1, None, (), False, "main")
        self._main.status = RUNNING
        self._pending: list[BaseException] = []    # to raise in main at its next sched point
        self._sleepers: list = []                  # heap of (wake, seq, g)
        self._seq = itertools.count(1)
        self._rand = random.Random(0x60)           # select's pollorder; seeded: reproducible
        self._tick_lock = threading.Lock()
        self._last_wall_tick = None

        # cooperative mode
        self._runq: collections.deque[Goroutine] = collections.deque()
        self._hub = None
        self._main_gr = None if self._threads else _greenlet.getcurrent()

        # threads mode
        self._main_thread = threading.current_thread()
        self._main_ident = threading.get_ident()
        self._nactive = 1                           # main counts as active
        self._nwallsleep = 0
        self._tls = threading.local()
        self._foreign_threads: list[threading.Thread] = []
        self.on_crash = None                # on_crash(g, exc): a goroutine's function raised
        self._closed = False
        if self._threads:
            self._main._cond = threading.Condition(self._lock)

    def __repr__(self):
        return (f"<Scheduler {self.mode} goroutines={self.num_goroutine()} "
                f"clock={self.clock!r}>")

    # ------------------------------------------------------------------ properties

    @property
    def gomaxprocs(self) -> int:
        """Go's GOMAXPROCS as recorded by this scheduler (>= 1)."""
        return self._gomaxprocs

    @gomaxprocs.setter
    def gomaxprocs(self, n):
        n = operator.index(n)
        if n < 1:
            raise ValueError(f"goruntime: gomaxprocs must be >= 1, not {n}")
        self._gomaxprocs = n

    @property
    def main(self) -> Goroutine:
        """The main goroutine (id 1)."""
        return self._main

    # ------------------------------------------------------------------ introspection

    def runnable_count(self) -> int:
        """Goroutines waiting in the run queue (cooperative mode; 0 with threads)."""
        return len(self._runq)

    def num_goroutine(self) -> int:
        """Live goroutines, main included, system goroutines excluded (Go: NumGoroutine)."""
        return 1 + sum(1 for g in list(self._allgs.values()) if not g.system)

    def goroutines(self, system: bool = True) -> list[Goroutine]:
        """All live goroutines, main first, in id order (Go: allgs)."""
        gs = sorted(list(self._allgs.values()), key=lambda g: g.id)
        return [self._main] + [g for g in gs if system or not g.system]

    def current(self) -> Goroutine | None:
        """The running goroutine (Go: getg().m.curg), or None outside any goroutine.

        ``None`` means the scheduler's own context (``on_tick`` in cooperative mode) or a
        thread/greenlet that is not one of this scheduler's goroutines. A pure query: the
        main goroutine moves to another thread only when that thread blocks (see
        ``_maybe_rebind_main``).
        """
        if self._threads:
            g = getattr(self._tls, "g", None)
            if g is not None:
                return g
            return self._main if threading.get_ident() == self._main_ident else None
        gr = _greenlet.getcurrent()
        if gr is self._main_gr:
            return self._main
        g = getattr(gr, "goroutine", None)
        if g is not None and g.sched is self:
            return g
        return None

    def _maybe_rebind_main(self) -> bool:
        """Make the caller the main goroutine if no goroutine is alive (see module doc).

        Threads mode also requires the old main thread to have exited: threads run
        concurrently, so a live main thread may be about to use the scheduler.
        """
        if self._allgs or self._main.status != RUNNING or self._pending:
            return False
        if self._threads:
            if self._main_thread.is_alive():
                return False
            self._main_thread = threading.current_thread()
            self._main_ident = threading.get_ident()
        else:
            self._main_gr = _greenlet.getcurrent()
            self._hub = None
        return True

    def _current_blocking(self, what: str) -> Goroutine:
        """The goroutine about to block in *what*; raise what main owes; wall tick."""
        g = self.current()
        if g is None and (self._threads or _greenlet.getcurrent() is not self._hub):
            if self._maybe_rebind_main():
                g = self._main
        if g is None:
            if not self._threads:
                where = ("the scheduler's own context (on_tick)"
                         if _greenlet.getcurrent() is self._hub else
                         "outside this scheduler's goroutines")
                raise RuntimeError(f"goruntime: {what} called from {where}; "
                                   "the cooperative scheduler can block only its goroutines")
            g = self._foreign_g()
        if g is self._main and self._pending:
            with self._guard(), self._lock:
                if self._pending:
                    raise self._pending.pop(0)
        if self._threads and not self._virtual:
            self._wall_tick()
        return g

    def _foreign_g(self) -> Goroutine:
        """Threads mode: a stand-in G for a thread that is not a goroutine (never counted)."""
        fg = getattr(self._tls, "foreign", None)
        if fg is None:
            t = threading.current_thread()
            fg = Goroutine(self, 0, None, (), True, f"thread {t.name}")
            fg.status = RUNNING
            fg._foreign = True
            fg._cond = threading.Condition(self._lock)
            self._tls.foreign = fg
            with self._guard(), self._lock:
                self._foreign_threads.append(t)
        return fg

    def _note_thread(self):
        """Threads mode: remember a non-goroutine thread that can wake goroutines."""
        if (getattr(self._tls, "g", None) is None
                and threading.get_ident() != self._main_ident
                and getattr(self._tls, "foreign", None) is None):
            self._foreign_g()

    # ------------------------------------------------------------------ go, exit, crash

    def go(self, fn, *args, system: bool = False, name: str | None = None) -> Goroutine:
        """Start ``fn(*args)`` on a new goroutine and return it (Go: ``go fn(args)``, newproc).

        Cooperative: the goroutine is appended to the run queue and first runs at a
        scheduling point. Threads: a daemon thread starts now. ``system=True`` marks a
        runtime goroutine (not counted by `num_goroutine`).
        """
        if not callable(fn):
            raise TypeError(f"goruntime: go of non-function {fn!r}")
        if name is None:
            name = _funcname(fn)
        # The goroutine runs in a copy of its creator's context (contextvars): it sees the
        # same current Runtime, whether it is a thread or a greenlet.
        fn, args = contextvars.copy_context().run, (fn, *args)
        if self._threads:
            self._note_thread()
        # a Ctrl-C between listing the goroutine and queueing it left one that never ran
        with _signals.held(), self._lock:
            g = Goroutine(self, next(self._goids), fn, args, bool(system), name)
            self._allgs[g.id] = g
            self.ngo += 1
            if self._threads:
                g._cond = threading.Condition(self._lock)
                self._nactive += 1
            else:
                self._runq.append(g)
        if self._threads:
            t = threading.Thread(target=self._thread_main, args=(g,),
                                 name=f"goroutine {g.id}", daemon=True)
            g._thread = t
            try:
                t.start()
            except BaseException:
                with self._guard(), self._lock:
                    g.status = DEAD
                    self._allgs.pop(g.id, None)
                    self._nactive -= 1
                raise
        return g

    def _crash(self, g: Goroutine, exc: BaseException):
        """A goroutine's function raised: Go would print ``panic:`` and die; tell main."""
        g.exception = exc
        try:
            exc.goroutine_id = g.id
        except AttributeError:
            pass
        try:
            exc.add_note(f"goroutine {g.id} [running]:\n{g.name}(...)")
        except Exception:
            pass
        # The traceback keeps its lines, not the finished frames' locals: the exception
        # waits here (reachable from every goroutine's frame, which the cycle collector
        # cannot see or which are roots) and a local such as a handle would keep the
        # runtime alive until main takes it (issue 13).
        traceback.clear_frames(exc.__traceback__)
        self._deliver(exc)
        if self.on_crash is not None:       # after the delivery: main sees the crash first
            self.on_crash(g, exc)

    def _deliver(self, exc: BaseException):
        """Arrange for *exc* to be raised in the main goroutine as soon as possible."""
        if not self._threads:
            self._pending.append(exc)        # the hub hands it to main before anything else
            return
        with self._guard(), self._lock:
            self._deliver_locked(exc)

    def _deliver_locked(self, exc):
        m = self._main
        if m._raise is not None:
            self._pending.append(exc)
        elif m._wall_sleep:
            m._raise = exc
            m._cond.notify()
        elif m.status == WAITING:
            m._sleep_seq = 0
            m._idle_wait = False
            m._raise = exc
            self._ready_locked(m)
        elif m.status == RUNNABLE:
            m._raise = exc
        else:
            self._pending.append(exc)

    def _coop_main(self, g: Goroutine):
        try:
            g.fn(*g.args)
        except _greenlet.GreenletExit:
            raise                                  # the scheduler is being torn down
        except BaseException as exc:
            self._crash(g, exc)
        finally:
            g.status = DEAD
            g.wait_reason = ""
            g.fn = g.args = None          # its frames are gone: its arguments root nothing
            self._allgs.pop(g.id, None)

    def _thread_main(self, g: Goroutine):
        _signals.block_thread()          # signals go to the main thread (see _signals)
        self._tls.g = g
        with self._guard(), self._lock:
            if g.status == RUNNABLE:
                g.status = RUNNING
        try:
            g.fn(*g.args)
        except _Closed:
            pass                         # the scheduler was closed (Scheduler.close)
        except BaseException as exc:
            self._crash(g, exc)
        finally:
            with self._lock:
                g.status = DEAD
                g.wait_reason = ""
                g.fn = g.args = None      # its frames are gone: its arguments root nothing
                self._allgs.pop(g.id, None)
                self._nactive -= 1
                if self._nactive == 0:
                    self._became_idle_locked()

    # ------------------------------------------------------------------ ticks

    def _call_on_tick(self, now):
        cb = self.on_tick
        if cb is None or not self._tick_lock.acquire(blocking=False):
            return
        try:
            cb(now)
        except BaseException as exc:
            try:
                exc.add_note("goruntime: raised by the scheduler's on_tick callback")
            except Exception:
                pass
            self._deliver(exc)
        finally:
            self._tick_lock.release()

    def _wall_tick(self):
        if self.on_tick is None:
            return
        now = self.clock.nanotime()
        last = self._last_wall_tick
        if last is not None and now - last < WALL_TICK_NS:
            return
        self._last_wall_tick = now
        self._call_on_tick(now)

    # ------------------------------------------------------------------ sleepers

    def _push_sleeper(self, g, wake):
        seq = next(self._seq)
        g._sleep_seq = seq
        heapq.heappush(self._sleepers, (wake, seq, g))
        return seq

    def _earliest_sleeper(self):
        h = self._sleepers
        while h and h[0][2]._sleep_seq != h[0][1]:
            heapq.heappop(h)                       # stale: woken early or cancelled
        return h[0][0] if h else None

    def _jump_target(self):
        """Where time goes when every goroutine is blocked: the earliest sleeper's wake
        time, or ``next_tick`` if that comes first. None: nobody sleeps (deadlock)."""
        t = self._earliest_sleeper()
        nt = self.next_tick
        if t is not None and nt is not None and self.clock.nanotime() < nt < t:
            return nt
        return t

    def _wake_due_locked(self, now) -> int:
        """Ready every sleeper whose wake time is <= *now*, in (time, sleep order)."""
        h = self._sleepers
        n = 0
        while h and h[0][0] <= now:
            _, seq, g = heapq.heappop(h)
            if g._sleep_seq == seq:
                g._sleep_seq = 0
                self._ready_locked(g)
                n += 1
        return n

    # ------------------------------------------------------------------ park / ready

    def park(self, reason: str) -> None:
        """Block the current goroutine until ``ready`` is called for it (Go: gopark, proc.go).

        *reason* is shown as the goroutine's ``wait_reason`` (use Go's strings, e.g.
        ``"finalizer wait"``). If ``ready`` was called while this goroutine was running, the
        call returns at once (see the module doc): re-check your condition afterwards.
        """
        g = self._current_blocking("park")
        with self._lock:
            self._park_locked(g, str(reason))

    def ready(self, g: Goroutine) -> None:
        """Make *g* runnable if it is parked (Go: goready, proc.go).

        A waiting goroutine goes to the back of the run queue (threads: its thread is
        woken). A running or runnable one gets a permit that its next `park` consumes. A
        dead one is ignored. Never blocks; may be called from any goroutine, from
        ``on_tick`` and (both modes) from other threads.
        """
        if not isinstance(g, Goroutine) or g.sched is not self:
            raise ValueError(f"goruntime: ready of a goroutine of another scheduler: {g!r}")
        if self._threads:
            self._note_thread()
        with self._guard(), self._lock:
            self._ready_locked(g)

    def _ready_locked(self, g):
        if g.status == WAITING and not g._wall_sleep:
            g.status = RUNNABLE
            if self._threads:
                if not g._foreign:
                    self._nactive += 1
                g._cond.notify()
            else:
                self._runq.append(g)
        elif g.status != DEAD:
            g._permit = True

    def _park_locked(self, g, reason):
        """Block *g* (the caller) until readied. Called and returns with the lock held."""
        if g._permit:
            g._permit = False
            return
        if self._closed and g is not self._main:
            raise _Closed() if self._threads else _greenlet.GreenletExit()
        if self._threads:
            self._park_threads_locked(g, reason)
            return
        g.status = WAITING
        g.wait_reason = reason
        self._coop_switch(g)

    # ------------------------------------------------------------------ cooperative core

    def _ensure_hub(self):
        hub = self._hub
        if hub is None or hub.dead:
            hub = _greenlet.greenlet(self._hub_loop, parent=self._main_gr)
            for g in list(self._allgs.values()):     # a hub died (KeyboardInterrupt, bug)
                if g._gr is not None and not g._gr.dead:
                    g._gr.parent = hub
            self._hub = hub
        return hub

    def _coop_switch(self, g):
        """Give control to the hub; return when the hub resumes *g* (raise if told to).

        If the switch raises instead (the hub died: a KeyboardInterrupt during a real
        sleep, or a GreenletExit at teardown), *g* is running again: cancel its wait.
        """
        try:
            self._ensure_hub().switch()
        except BaseException:
            self._cancel_wait(g)
            raise
        if g._raise is not None:
            exc, g._raise = g._raise, None
            raise exc

    def _cancel_wait(self, g):
        """Cooperative: *g* stops waiting (sleep, run queue, idle) and is running."""
        g._sleep_seq = 0
        g._idle_wait = False
        if g.status == RUNNABLE:
            try:
                self._runq.remove(g)
            except ValueError:
                pass
        g.status = RUNNING
        g.wait_reason = ""

    def _run_g(self, g, msg=None):
        """Hub: switch to *g* until it blocks, yields or finishes."""
        self.nswitch += 1
        self.last_run_ns = self.clock.nanotime()
        g.status = RUNNING
        g.wait_reason = ""
        if g is self._main:
            self._main_gr.switch(msg)
        elif g._gr is None:
            gr = _GoGreenlet(self._coop_main, parent=self._hub)
            gr.goroutine = g
            g._gr = gr
            gr.switch(g)
        else:
            g._gr.switch(msg)

    def _hub_loop(self):
        """The cooperative scheduler loop (Go: schedule + findRunnable + checkdead)."""
        main = self._main
        while True:
            if self._pending:                       # a crash (or on_tick error): main first
                # handed over in main._raise, never in a local: this frame is suspended
                # and invisible to the cycle collector, and the exception's traceback
                # may reach the runtime (issue 13)
                self._cancel_wait(main)
                main._raise = self._pending.pop(0)
                self._run_g(main)
                continue
            self._wake_due_locked(self.clock.nanotime())
            if not self._virtual:
                self._wall_tick()
                if self._pending:
                    continue
            if self._runq:
                self._run_g(self._runq.popleft())
                continue
            if self.on_idle is not None and self.on_idle():
                continue                            # the runtime used the idle time
            if main._idle_wait:                     # run_until_idle: nothing left to run
                main._idle_wait = False
                self._run_g(main)
                continue
            t = self._jump_target()
            if t is not None:
                self.clock.sleep_until(t)           # virtual: jump; wall: really sleep
                if self._virtual:
                    now = self.clock.nanotime()
                    self._wake_due_locked(now)
                    self._call_on_tick(now)
                continue
            # never in a local of this frame: it stays suspended while main raises the
            # exception, whose traceback reaches main's frames and so the runtime (a
            # suspended greenlet's frame is invisible to the cycle collector; issue 13)
            self._pending.append(self._deadlock())

    def _deadlock(self):
        """Go's checkdead: "all goroutines are asleep - deadlock!", with each user
        goroutine's state as a note."""
        exc = FatalError(DEADLOCK)
        self._add_deadlock_notes(exc)
        return exc

    def _add_deadlock_notes(self, exc):
        for g in self.goroutines(system=False):
            state = g.wait_reason if g.status == WAITING else g.status
            exc.add_note(f"goroutine {g.id} [{state}]:\n{g.name}(...)")

    # ------------------------------------------------------------------ threads core

    def _park_threads_locked(self, g, reason):
        if g is self._main and self._pending:
            raise self._pending.pop(0)
        self._wake_due_locked(self.clock.nanotime())
        if g._permit:                               # woken by a due sleeper just now
            g._permit = False
            return
        g.status = WAITING
        g.wait_reason = reason
        with _signals.interruptible_wait() as w:    # main: Ctrl-C ends the wait (B89)
            if not g._foreign:
                self._nactive -= 1
                if self._nactive == 0:
                    self._became_idle_locked()
            try:
                while g.status == WAITING and not w.signalled:
                    w.wait(g._cond)
            finally:
                if g.status == WAITING and not g._foreign:
                    self._nactive += 1          # not readied: running again, counted again
                g.status = RUNNING
                g.wait_reason = ""
        if g._raise is not None:
            exc, g._raise = g._raise, None
            raise exc

    def _became_idle_locked(self):
        """Threads: no goroutine is active. Wake main, jump time, or report deadlock.

        Called with the lock held by the last goroutine to block (or exit). ``on_tick`` is
        called with the lock released, while this thread counts as active (so time cannot
        jump again underneath it).
        """
        while self._nactive == 0:
            tick = self._idle_locked()
            if tick is None:
                return
            if self.on_tick is None:
                continue
            self._nactive += 1
            self._lock.release()
            try:
                self._call_on_tick(tick)
            finally:
                self._lock.acquire()
                self._nactive -= 1

    def _idle_locked(self):
        if self._wake_due_locked(self.clock.nanotime()):
            return None
        main = self._main
        if main._idle_wait:
            main._idle_wait = False
            self._ready_locked(main)
            return None
        if self._foreign_threads:
            self._foreign_threads = [t for t in self._foreign_threads if t.is_alive()]
            if self._foreign_threads:
                return None                         # an outside thread may still act
        if self._nwallsleep:
            return None                             # they will wake by themselves
        if self._virtual:
            t = self._jump_target()
            if t is not None:
                now = self.clock.advance_to(t)
                self._wake_due_locked(now)
                return now
        if main.status == WAITING:
            self._deliver_locked(self._deadlock())
        return None

    # ------------------------------------------------------------------ gosched, sleep

    def close(self, timeout: float | None = 10.0, defer: bool = False) -> None:
        """End every goroutine and the hub: nothing can run on this scheduler again (a
        closed Runtime). Cooperative: each suspended greenlet gets GreenletExit and
        unwinds (from another thread, its references are dropped and greenlet ends it
        in its own thread); *defer* (from ``__del__``, which may run inside the cycle
        collector or deep in C code, where a stack switch is unsafe): the greenlets are
        handed to `reap` instead, which ends them at the next safe point. Threads: each
        parked goroutine thread is woken to unwind and is joined (at most *timeout* s in
        all; ``None``: not waited for); a goroutine running Python code ends when it
        next parks."""
        if self._threads:
            # from __del__ this thread may already hold the lock (not reentrant): then
            # the threads are left parked rather than deadlocking
            if not self._lock.acquire(timeout=10.0 if timeout is not None else 1.0):
                return
            try:
                self._closed = True
                threads = []
                for g in list(self._allgs.values()):
                    if g is self._main:
                        continue
                    if g._thread is not None:
                        threads.append(g._thread)
                    if g.status == WAITING:
                        g._raise = _Closed()
                        self._ready_locked(g)
            finally:
                self._lock.release()
            if timeout is None:
                return
            deadline = time.monotonic() + timeout
            for t in threads:
                if t is not threading.current_thread():
                    t.join(max(0.0, deadline - time.monotonic()))
            return
        self._closed = True
        if defer:
            with _signals.held(), _graveyard_lock:
                _graveyard.extend(g._gr for g in self._allgs.values() if g._gr is not None)
                if self._hub is not None:
                    _graveyard.append(self._hub)
            for g in self._allgs.values():
                g.status = DEAD
            self._allgs.clear()
            self._runq.clear()
            self._hub = None
            return
        cur = _greenlet.getcurrent()
        for g in list(self._allgs.values()):
            gr = g._gr
            if gr is not None and not gr.dead and gr is not cur:
                try:
                    gr.parent = cur
                    gr.throw(_greenlet.GreenletExit)
                except (ValueError, _greenlet.error):
                    g._gr = None             # another thread's: greenlet ends it there
            g.status = DEAD
        self._allgs.clear()
        self._runq.clear()
        hub = self._hub
        if hub is not None and not hub.dead and hub is not cur:
            try:
                hub.parent = cur
                hub.throw(_greenlet.GreenletExit)
            except (ValueError, _greenlet.error):
                pass
        self._hub = None

    def raise_pending(self) -> None:
        """In main: raise a goroutine's crash that waits for main's next scheduling point."""
        if self.current() is not self._main:
            return
        with self._guard(), self._lock:
            m = self._main
            if m._raise is not None:
                exc, m._raise = m._raise, None
                raise exc
            if self._pending:
                raise self._pending.pop(0)

    def gosched(self) -> None:
        """Yield: let other runnable goroutines run first (Go: runtime.Gosched, proc.go).

        Cooperative: the caller goes to the back of the run queue. Threads: ``time.sleep(0)``.
        """
        g = self._current_blocking("gosched")
        if self._threads:
            with self._guard(), self._lock:
                self._wake_due_locked(self.clock.nanotime())
            time.sleep(0)
            return
        g.status = RUNNABLE
        self._runq.append(g)
        self._coop_switch(g)

    def sleep(self, ns: int) -> None:
        """Block the current goroutine for *ns* nanoseconds (Go: time.Sleep; timeSleep, time.go).

        ``ns <= 0`` only yields (`gosched`). Virtual clock: the goroutine wakes when the clock
        reaches now + ns, which happens when every goroutine is blocked (then the clock jumps)
        or when the runtime charges enough time. Wall clock: really sleeps.
        """
        ns = int(ns)
        if ns <= 0:
            self.gosched()
            return
        g = self._current_blocking("sleep")
        wake = min(self.clock.nanotime() + ns, MAX_WHEN)   # Go: timeSleep, when < 0 -> maxWhen
        if self._threads and not self._virtual:
            self._wall_sleep(g, wake)
            return
        with self._lock:
            seq = self._push_sleeper(g, wake)
            try:
                while g._sleep_seq == seq:
                    self._park_locked(g, WAIT_SLEEP)
            finally:
                if g._sleep_seq == seq:
                    g._sleep_seq = 0                # cancelled: leave a stale heap entry

    def _wall_sleep(self, g, wake):
        with self._lock:
            if g is self._main and self._pending:
                raise self._pending.pop(0)
            with _signals.interruptible_wait() as w:    # main: Ctrl-C ends the sleep (B89)
                g.status = WAITING
                g.wait_reason = WAIT_SLEEP
                g._wall_sleep = True
                if not g._foreign:
                    self._nwallsleep += 1
                    self._nactive -= 1
                try:
                    if not g._foreign and self._nactive == 0:
                        self._became_idle_locked()
                    while g._raise is None and not w.signalled:
                        rem = wake - self.clock.nanotime()
                        if rem <= 0:
                            break
                        w.wait(g._cond, rem / 1e9)
                finally:
                    g._wall_sleep = False
                    g.status = RUNNING
                    g.wait_reason = ""
                    if not g._foreign:
                        self._nwallsleep -= 1
                        self._nactive += 1
            if g._raise is not None:
                exc, g._raise = g._raise, None
                raise exc

    def run_until_idle(self) -> None:
        """From the main goroutine: let the others run until none of them can.

        Returns when no goroutine other than main is runnable (threads: active). Sleepers
        whose wake time has already come run too, but virtual time is **not** advanced:
        a goroutine sleeping into the future stays asleep (call `sleep` in main to let time
        pass). With a wall clock, sleepers are not waited for either. A crash in a goroutine
        is raised here. Used between notebook cells and by tests ("let the finalizer
        goroutine drain").
        """
        g = self._current_blocking("run_until_idle")
        if g is not self._main:
            raise RuntimeError("goruntime: run_until_idle must be called from the main goroutine")
        with self._lock:
            g._idle_wait = True
            try:
                while g._idle_wait:
                    self._park_locked(g, WAIT_IDLE)
            finally:
                g._idle_wait = False


# ---------------------------------------------------------------------- current scheduler

# Greenlets of runtimes dropped without close(): Runtime.__del__ runs wherever the last
# reference goes (inside the cycle collector, under C frames), where switching stacks to
# unwind them is unsafe (AddressSanitizer aborts on it), and letting them be deallocated
# there makes greenlet switch into them just the same. They wait here, holding nothing of
# their runtime but weak references, until `reap` ends them from plain Python code.
_graveyard: list = []
# reentrant: close(defer) runs in __del__, which a garbage collection may run inside
# reap's own block (a Lock deadlocked there, B77)
_graveyard_lock = threading.RLock()


def reap() -> None:
    """End the goroutines of runtimes dropped without close() (GreenletExit into each,
    from this point: a Runtime's creation or close, or interpreter exit). A greenlet of
    another thread is let go: greenlet ends it in its own thread at that thread's next
    switch."""
    with _signals.held(), _graveyard_lock:
        if not _graveyard:
            return
        doomed = _graveyard[:]
        del _graveyard[:len(doomed)]        # not clear(): a __del__ may have added more
    cur = _greenlet.getcurrent()
    for gr in doomed:
        if gr.dead or gr is cur:
            continue
        try:
            gr.parent = cur
            gr.throw(_greenlet.GreenletExit)
        except (ValueError, _greenlet.error):
            pass


atexit.register(reap)


_scheduler_getter = None
_default_scheduler = None
_default_lock = threading.Lock()


def set_current_scheduler_getter(fn) -> None:
    """Install ``fn() -> Scheduler`` used when ``sched=None`` (the runtime installs one
    returning the current Runtime's scheduler). ``None`` removes it. If *fn* returns
    ``None``, the module default scheduler is used."""
    global _scheduler_getter
    if fn is not None and not callable(fn):
        raise TypeError("goruntime: scheduler getter must be callable or None")
    _scheduler_getter = fn


def default_scheduler() -> Scheduler:
    """The module default ``Scheduler()`` (cooperative, virtual clock), made on first use."""
    global _default_scheduler
    if _default_scheduler is None:
        with _signals.held(), _default_lock:
            if _default_scheduler is None:
                _default_scheduler = Scheduler()
    return _default_scheduler


def current_scheduler() -> Scheduler:
    """The scheduler that ``sched=None`` means: the installed getter's, else the default."""
    getter = _scheduler_getter
    if getter is not None:
        s = getter()
        if s is not None:
            return s
    return default_scheduler()


def _resolve(sched):
    if sched is None:
        return current_scheduler()
    if not isinstance(sched, Scheduler):
        raise TypeError(f"goruntime: sched must be a Scheduler, not {sched!r}")
    return sched


# Channels, select and WaitGroup live in chan.py; their names stay importable from here.
_CHAN_NAMES = frozenset(("Chan", "WaitGroup", "select"))


def __getattr__(name):
    """``sched.Chan``, ``sched.WaitGroup``, ``sched.select``: moved to `goruntime.chan`
    (imported lazily: chan.py imports this module)."""
    if name in _CHAN_NAMES:
        from . import chan
        return getattr(chan, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
