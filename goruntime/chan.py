"""Channels, select and sync.WaitGroup on a `sched.Scheduler` (Go: chan.go, select.go,
sync/waitgroup.go).

A goroutine that blocks here is queued as a `_Sudog` (Go: sudog, runtime2.go) on the
channel's ``recvq``/``sendq`` or the WaitGroup's waiters and parked with the scheduler's
lock held (``Scheduler._park_locked``); whoever completes the wait sets ``done`` and
readies it. The scheduling guarantees (FIFO hand-off, deadlock detection, both modes) are
the scheduler's, described in `goruntime.sched`.
"""
from __future__ import annotations

import collections
import operator
import threading
import weakref

from . import _signals
from .errors import NotCopyable, Panic
from .sched import (
    Goroutine, Scheduler, current_scheduler, _funcname, _resolve,
    WAIT_CHAN_RECEIVE, WAIT_CHAN_SEND, WAIT_SELECT, WAIT_SELECT_NO_CASES, WAIT_WAITGROUP,
)

__all__ = ["Chan", "WaitGroup", "select", "HeapChan", "makechan"]


class _Sudog:
    """A goroutine waiting on a channel or WaitGroup (Go: sudog, runtime2.go)."""

    __slots__ = ("g", "elem", "ok", "done", "sel", "case")

    def __init__(self, g, elem=None, sel=None, case=-1):
        self.g = g
        self.elem = elem       # value to send, or value received
        self.ok = False        # True: completed by a partner; False: woken by close
        self.done = False      # set by whoever completes this wait
        self.sel = sel         # shared _SelectState when part of a select
        self.case = case       # index of the select case


class _SelectState:
    __slots__ = ("fired",)

    def __init__(self):
        self.fired = -1        # case index that won (Go: g.selectDone + the sudog)


# ---------------------------------------------------------------------- channels

def _dequeue(q):
    """Pop the first waiter that can still be completed (Go: waitq.dequeue, chan.go).

    A waiter that belongs to a select is claimed for its case; waiters of a select that
    another case already won are dropped.
    """
    while q:
        sg = q.popleft()
        if sg.sel is not None:
            if sg.sel.fired >= 0:
                continue
            sg.sel.fired = sg.case
        return sg
    return None


def _acquire_sudog(s):
    """The heap sudog of a goroutine about to block (Go: acquireSudog; see proc.py)."""
    p = s.proc
    return p.acquire_sudog() if p is not None else None


def _release_sudog(s, mem):
    p = s.proc
    if p is not None:
        p.release_sudog(mem)


def _unqueue(q, sg):
    try:
        q.remove(sg)
    except ValueError:
        pass


class Chan(NotCopyable):
    """A Go channel, buffered (``cap > 0``) or unbuffered (Go: hchan, chan.go).

    Parameters
    ----------
    cap : int
        Buffer size. Its values are Python objects, sized as Go's ``chan any`` (16-byte
        elements) for Go's size rule (`check_size`): a negative size, one outside int64 or
        one whose buffer exceeds maxAlloc raises ``Panic("makechan: size out of range")``.
    sched : Scheduler, optional
        The scheduler whose goroutines use the channel; ``None`` means the current one,
        looked up once, here.

    Semantics are Go's: an unbuffered send and receive rendezvous; waiting senders and
    receivers are served FIFO; after `close`, receives drain the buffer and then return
    the zero value ``None`` (``recv2`` gives ``(None, False)``); sending on or closing a
    closed channel raises `Panic` with Go's text. Nil channels are modelled only in
    `select`, where a ``None`` channel is a case that is never ready.
    """

    __slots__ = ("_sched", "cap", "_buf", "_recvq", "_sendq", "_closed", "__weakref__")
    _ELEM_SIZE = 16         # Go's size rule sizes a plain Chan's elements as ``any``'s

    def __init__(self, cap: int = 0, *, sched: Scheduler | None = None):
        if isinstance(cap, bool):
            raise TypeError("make: size must be an int, not bool")
        cap = operator.index(cap)
        check_size(self._ELEM_SIZE, cap)
        self._sched = _resolve(sched)
        self.cap = cap
        self._buf = collections.deque()
        self._recvq = collections.deque()
        self._sendq = collections.deque()
        self._closed = False

    @property
    def sched(self) -> Scheduler:
        return self._sched

    @property
    def closed(self) -> bool:
        return self._closed

    def __len__(self):
        """Go's ``len(ch)``: values buffered and not yet received."""
        return len(self._buf)

    def __bool__(self):
        return True                                 # a channel is never "empty-falsy"

    def __repr__(self):
        state = " closed" if self._closed else ""
        return f"<Chan cap={self.cap} len={len(self._buf)}{state}>"

    # non-blocking halves, lock held (Go: the fast paths of chansend / chanrecv)

    def _send_nb_locked(self, v) -> bool:
        if self._closed:
            raise Panic("send on closed channel")
        sg = _dequeue(self._recvq)
        if sg is not None:                          # hand the value straight to a receiver
            sg.elem = v
            sg.ok = True
            sg.done = True
            self._sched._ready_locked(sg.g)
            return True
        if len(self._buf) < self.cap:
            self._buf.append(v)
            return True
        return False

    def _recv_nb_locked(self):
        sg = _dequeue(self._sendq)
        if sg is not None:
            if self.cap == 0:                       # rendezvous: take the sender's value
                v = sg.elem
            else:                                   # full buffer: take the head, refill tail
                v = self._buf.popleft()
                self._buf.append(sg.elem)
            sg.elem = None
            sg.ok = True
            sg.done = True
            self._sched._ready_locked(sg.g)
            return v, True
        if self._buf:
            return self._buf.popleft(), True
        if self._closed:
            return None, False
        return None

    def _wait_locked(self, g, q, sg, reason):
        q.append(sg)
        try:
            while not sg.done:
                self._sched._park_locked(g, reason)
        except BaseException:
            if not sg.done:
                _unqueue(q, sg)
            raise

    def send(self, v) -> None:
        """``ch <- v`` (Go: chansend). Blocks until a receiver takes *v* or buffer space frees."""
        s = self._sched
        g = s._current_blocking("Chan.send")
        with s._guard(), s._lock:
            s.nchanops += 1                 # the virtual clock's meter
            if self._send_nb_locked(v):
                return
        mem = _acquire_sudog(s)                     # outside the lock: it may allocate
        sg = None
        try:
            with s._lock:
                if self._send_nb_locked(v):         # threads: room was made meanwhile
                    return
                sg = _Sudog(g, v)
                self._wait_locked(g, self._sendq, sg, WAIT_CHAN_SEND)
                if not sg.ok:
                    raise Panic("send on closed channel")
        finally:
            if sg is not None:
                self._unparked()
            _release_sudog(s, mem)

    def recv2(self):
        """``v, ok := <-ch`` (Go: chanrecv2). ``ok`` is False once closed and drained."""
        s = self._sched
        g = s._current_blocking("Chan.recv")
        with s._guard(), s._lock:
            s.nchanops += 1                 # the virtual clock's meter
            r = self._recv_nb_locked()
            if r is not None:
                return r
        mem = _acquire_sudog(s)                     # outside the lock: it may allocate
        sg = None
        try:
            with s._lock:
                r = self._recv_nb_locked()          # threads: a value came meanwhile
                if r is not None:
                    return r
                sg = _Sudog(g)
                self._wait_locked(g, self._recvq, sg, WAIT_CHAN_RECEIVE)
                return sg.elem, sg.ok
        finally:
            if sg is not None:
                self._unparked()
            _release_sudog(s, mem)

    def recv(self):
        """``<-ch`` (Go: chanrecv1): the value, or ``None`` once closed and drained."""
        return self.recv2()[0]

    def _unparked(self):
        """A goroutine that blocked on this channel runs again (Go: ``mysg.c = nil``
        after gopark). A channel off the heap has nothing to do; see `HeapChan`."""

    def try_send(self, v) -> bool:
        """``select { case ch <- v: ...; default: }``: send if it would not block."""
        s = self._sched
        if s._threads:
            s._note_thread()
        with s._guard(), s._lock:
            s.nchanops += 1                 # the virtual clock's meter
            return self._send_nb_locked(v)

    def try_recv(self):
        """``select { case v, ok := <-ch: ...; default: }``: ``(v, ok)``, or ``None`` if the
        receive would block."""
        s = self._sched
        if s._threads:
            s._note_thread()
        with s._guard(), s._lock:
            s.nchanops += 1                 # the virtual clock's meter
            return self._recv_nb_locked()

    def close(self) -> None:
        """``close(ch)`` (Go: closechan): wake every receiver (zero value, ok=False) and
        every blocked sender (which then panics)."""
        s = self._sched
        if s._threads:
            s._note_thread()
        with s._guard(), s._lock:
            s.nchanops += 1                 # the virtual clock's meter
            if self._closed:
                raise Panic("close of closed channel")
            self._closed = True
            for q in (self._recvq, self._sendq):
                while True:
                    sg = _dequeue(q)
                    if sg is None:
                        break
                    sg.elem = None
                    sg.ok = False
                    sg.done = True
                    s._ready_locked(sg.g)

    def __iter__(self):
        """``for v := range ch``: receive until the channel is closed and drained."""
        while True:
            v, ok = self.recv2()
            if not ok:
                return
            yield v


def select(cases, default: bool = False):
    """Go's ``select`` statement (Go: selectgo, select.go).

    Parameters
    ----------
    cases : sequence
        Each case is ``("recv", ch)`` or ``("send", ch, value)``; *ch* may be ``None`` (a
        nil channel: the case is never ready).
    default : bool
        If true and no case is ready, return at once (``select { ...; default: }``).

    Returns
    -------
    (index, value, ok)
        The case that ran: for a receive, the value and Go's ``ok``; for a send,
        ``(index, None, True)``. ``(-1, None, False)`` for the default case.

    Among ready cases one is chosen pseudo-randomly, as in Go; the generator is the
    scheduler's own, seeded, so cooperative runs stay reproducible. A send case on a closed
    channel panics ``send on closed channel``, as in Go. With no non-nil channel and no
    default, the goroutine blocks forever (``select {}``).
    """
    parsed = []
    sched = None
    for i, c in enumerate(cases):
        if not isinstance(c, (tuple, list)) or not c or c[0] not in ("recv", "send"):
            raise ValueError(f"goruntime: select case {i} must be ('recv', ch) or "
                             f"('send', ch, v), not {c!r}")
        kind = c[0]
        if kind == "recv" and len(c) != 2 or kind == "send" and len(c) != 3:
            raise ValueError(f"goruntime: malformed select case {i}: {c!r}")
        ch = c[1]
        if ch is not None:
            if not isinstance(ch, Chan):
                raise TypeError(f"goruntime: select case {i}: not a Chan: {ch!r}")
            if sched is None:
                sched = ch._sched
            elif ch._sched is not sched:
                raise ValueError("goruntime: select over channels of different schedulers")
        parsed.append((kind, ch, c[2] if kind == "send" else None))

    if sched is None:                               # only nil channels, or no cases
        if default:
            return -1, None, False
        s = current_scheduler()
        g = s._current_blocking("select")
        reason = WAIT_SELECT_NO_CASES if not parsed else WAIT_SELECT
        with s._lock:
            while True:                             # Go: block(); nothing can wake us
                s._park_locked(g, reason)

    s = sched
    g = s._current_blocking("select") if not default else None
    if default and s._threads:
        s._note_thread()
    order = list(range(len(parsed)))
    s._rand.shuffle(order)                          # Go: pollorder

    def poll():
        for i in order:
            kind, ch, v = parsed[i]
            if ch is None:
                continue
            if kind == "send":
                if ch._send_nb_locked(v):
                    return i, None, True
            else:
                r = ch._recv_nb_locked()
                if r is not None:
                    return i, r[0], r[1]
        return None

    with s._lock:
        s.nchanops += 1                             # the virtual clock's meter
        r = poll()
        if r is not None:
            return r
        if default:
            return -1, None, False
    # one sudog per case (Go: selectgo), taken outside the lock: it may allocate
    mems = [_acquire_sudog(s) for _, ch, _ in parsed if ch is not None]
    parked = False
    try:
        with s._lock:
            r = poll()                              # threads: a case became ready meanwhile
            if r is not None:
                return r
            sel = _SelectState()
            parked = True
            waiting = []
            for i, (kind, ch, v) in enumerate(parsed):
                if ch is None:
                    continue
                q = ch._sendq if kind == "send" else ch._recvq
                sg = _Sudog(g, v if kind == "send" else None, sel, i)
                q.append(sg)
                waiting.append((q, sg))
            try:
                while sel.fired < 0:
                    s._park_locked(g, WAIT_SELECT)
            finally:
                for q, sg in waiting:               # Go: dequeueSudoG from the losers
                    if sg.case != sel.fired:
                        _unqueue(q, sg)
            i = sel.fired
            won = next(sg for _, sg in waiting if sg.case == i)
            if parsed[i][0] == "send":
                if not won.ok:
                    raise Panic("send on closed channel")
                return i, None, True
            return i, won.elem, won.ok
    finally:
        if parked:                                  # Go: pass 3 clears every case's sg.c
            for _, ch, _ in parsed:
                if ch is not None:
                    ch._unparked()
        for m in mems:
            _release_sudog(s, m)


# ---------------------------------------------------------------------- WaitGroup

class WaitGroup(NotCopyable):
    """Go's ``sync.WaitGroup``: ``Add``, ``Done``, ``Wait`` and (Go 1.25) ``Go``.

    The snake_case aliases ``add``, ``done``, ``wait`` and ``go`` are the same methods.
    A negative counter raises ``Panic("sync: negative WaitGroup counter")`` and leaves the
    counter unchanged.
    """

    __slots__ = ("_sched", "_n", "_waiters")

    def __init__(self, *, sched: Scheduler | None = None):
        self._sched = _resolve(sched)
        self._n = 0
        self._waiters: list[_Sudog] = []

    @property
    def counter(self) -> int:
        """The current counter (for inspection; Go has no such accessor)."""
        return self._n

    def __repr__(self):
        return f"<WaitGroup counter={self._n} waiters={len(self._waiters)}>"

    def Add(self, delta: int) -> None:
        """Add *delta* to the counter; at zero, release every waiter (Go: WaitGroup.Add)."""
        delta = operator.index(delta)
        s = self._sched
        if s._threads:
            s._note_thread()
        with s._lock:
            n = self._n + delta
            if n < 0:
                raise Panic("sync: negative WaitGroup counter")
            self._n = n
            if n == 0 and self._waiters:
                waiters, self._waiters = self._waiters, []
                for sg in waiters:
                    sg.done = True
                    s._ready_locked(sg.g)

    def Done(self) -> None:
        """``Add(-1)`` (Go: WaitGroup.Done)."""
        self.Add(-1)

    def Wait(self) -> None:
        """Block until the counter is zero (Go: WaitGroup.Wait)."""
        s = self._sched
        g = s._current_blocking("WaitGroup.Wait")
        with s._lock:
            if self._n == 0:
                return
        mem = _acquire_sudog(s)                     # Go: semacquire's sudog
        try:
            with s._lock:
                if self._n == 0:
                    return
                sg = _Sudog(g)
                self._waiters.append(sg)
                try:
                    while not sg.done:
                        s._park_locked(g, WAIT_WAITGROUP)
                except BaseException:
                    if not sg.done and sg in self._waiters:
                        self._waiters.remove(sg)
                    raise
        finally:
            _release_sudog(s, mem)

    def Go(self, fn, *args) -> Goroutine:
        """``Add(1)`` and run ``fn(*args)`` on a new goroutine that calls ``Done`` when it
        returns (Go 1.25: WaitGroup.Go). As in Go, ``Done`` is not called if *fn* raises:
        the crash is what main sees."""
        self.Add(1)
        s = self._sched

        def run():
            if s.proc is not None:
                s.proc.started(s.current().id)
            fn(*args)
            self.Done()

        g = s.go(run, name=_funcname(fn))
        if s.proc is not None:          # Go: go func() { ...; f(); wg.Done() }(), wg and f
            s.proc.newproc(g, (self, fn))
        return g

    add = Add
    done = Done
    wait = Wait
    go = Go



# ---------------------------------------------------------------------------------------
# make(chan T, n) on the heap (Go: makechan, chan.go)

HCHAN_SIZE = 112        # Go: hchanSize, unsafe.Sizeof(hchan{}) on linux/amd64
MAX_ALLOC = 1 << 48     # Go: maxAlloc on linux/amd64


def check_size(elemsize, size):
    """Go's makechan64 and makechan size rule: *size* must be an int64, not negative, and
    ``elemsize * size`` (no uintptr overflow) at most ``maxAlloc - hchanSize``; else
    ``Panic("makechan: size out of range")``."""
    if not 0 <= size < 1 << 63 or elemsize * size > MAX_ALLOC - HCHAN_SIZE:
        raise Panic("makechan: size out of range")


def _hchan_type():
    from . import types as t
    global _HCHAN
    if _HCHAN is None:
        up = t.UnsafePointer
        _HCHAN = t.Struct("hchan", package="runtime", qcount=t.Uint, dataqsiz=t.Uint, buf=up,
                          elemsize=t.Uint16, closed=t.Uint32, timer=up, elemtype=up, sendx=t.Uint,
                          recvx=t.Uint, recvq_first=up, recvq_last=up, sendq_first=up,
                          sendq_last=up, bubble=up, key=t.Uintptr)
        assert _HCHAN.size == HCHAN_SIZE
    return _HCHAN


_HCHAN = None


class HeapChan(Chan):
    """A channel made by ``rt.make(rt.ChanType(T), n)``: a `Chan` whose ``hchan`` and
    buffer are on the emulated heap as Go allocates them; the handle ``hchan`` roots them
    while the channel lives.

    Buffered values are *in the heap buffer* (`_HeapRing`), copied in by a send and out by
    a receive, which then clears the slot (Go: chansend's and chanrecv's typedmemmove and
    typedmemclr): a pointerful buffer is scanned, so a value waiting in it keeps its
    referents alive, and nothing else does. A value handed straight to a waiting
    receiver, or held by a blocked sender, is the goroutine's own (Go: it is on that
    goroutine's stack). Sends are checked as Go's compiler checks them (``cannot use ...
    as T value in send``). Struct and array elements are received as Go copies them: a
    dict of the fields (a list of the elements), nested; a send takes a handle to copy
    from, such a dict or list, or None for the zero value."""

    __slots__ = ("hchan", "type", "elem")
    _ELEM_SIZE = 0          # `makechan` checked the size with the element type's

    def _send_nb_locked(self, v):
        return Chan._send_nb_locked(self, check_send(self.hchan.runtime, self.elem, v))

    def try_send(self, v) -> bool:
        return Chan.try_send(self, check_send(self.hchan.runtime, self.elem, v))

    def send(self, v) -> None:
        Chan.send(self, check_send(self.hchan.runtime, self.elem, v))

    def try_recv(self):
        self.hchan.runtime.heap.check_thread()
        return Chan.try_recv(self)

    def _recv_nb_locked(self):
        self.hchan.runtime.heap.check_thread()      # select's cases come here
        r = Chan._recv_nb_locked(self)
        if r is not None and not r[1]:
            return zero_value(self.elem, self.hchan.runtime), False   # closed, drained: T's zero
        return r

    def recv2(self):
        self.hchan.runtime.heap.check_thread()
        v, ok = Chan.recv2(self)
        return (v, True) if ok else (zero_value(self.elem, self.hchan.runtime), False)

    def close(self) -> None:
        # closed, dead or not this thread's runtime: raise before the channel changes
        self.hchan.runtime.heap.check_thread()
        with _signals.held():               # the Python side and hchan.closed together
            Chan.close(self)
            self.hchan.closed = 1

    def buffered(self):
        """The values in the buffer, oldest first (for inspection; Go has none)."""
        return self._buf.values() if self.cap else []

    @classmethod
    def _of_hchan(cls, rt, h, T):
        """The channel of hchan handle *h* rebuilt from the heap: its size, closed flag and
        buffer ring (qcount, sendx, recvx) are all in the hchan."""
        self = cls(h.dataqsiz, sched=rt.sched)
        self.hchan, self.type, self.elem = h, T, T.underlying.elem
        self._closed = bool(h.closed)
        if self.cap:
            ring = _HeapRing(rt, h, self.elem, rt.heap.read_word(h.addr + 16), self.cap)
            ring.n, ring.sendx, ring.recvx = h.qcount, h.sendx, h.recvx
            self._buf = ring
        return self

    def _unparked(self):
        """Go: a goroutine woken from a wait on this channel clears its sudog's ``c``
        when it runs again (chanrecv, chansend, selectgo's pass 3). Until then the sudog
        (reachable from its g, from allgs) kept the hchan alive; during a mark that
        store's deletion barrier shades the hchan, so a channel whose last waiter was
        woken just before a runtime.GC (by a close or a send) survives that cycle even
        when the waiter runs, drops it and exits during the mark, before its stack was
        scanned (measured: a request server ranging over a closed channel)."""
        rt = self.hchan.runtime
        if rt.gc_running:
            with rt.world:
                rt.collector.shade(self.hchan.addr)

    # a channel value stored in heap memory (a chan field, element, map key or value, a
    # channel's own buffer, an interface) is its hchan's address, as in Go

    def _go_word(self, rt, T):
        if rt is not self.hchan.runtime:
            raise ValueError(f"goruntime: channel {self!r} belongs to a different Runtime")
        if T.underlying.kind != "interface":        # a chan field (or a map/func one: an error)
            from .types import assign_error
            err = assign_error(self.type, T, "x", "variable")
            if err is not None:
                raise TypeError(err)
        return self.hchan.addr

    def __eq__(self, other):
        """Go's ``==`` on channels: the same hchan."""
        if not isinstance(other, HeapChan):
            return NotImplemented
        return self.hchan == other.hchan

    def __hash__(self):
        return hash(self.hchan.addr)

    def __repr__(self):
        state = " closed" if self._closed else ""
        return f"<chan {self.elem} cap={self.cap} len={len(self._buf)}{state} {self.hchan.addr:#x}>"


def _chans(rt):
    """The runtime's channels by hchan address (weak: a channel's Python object goes when
    the program drops it; a word in the heap can still reach its hchan)."""
    return rt.map_states.setdefault("chans", {})


# One channel, one Python object: threads that load the same channel word at once must
# agree on the object they park on and send to. The lock guards only the registry's dict
# (nothing inside it takes another lock); an RLock because a weak reference's callback
# can run in the thread that holds it.
_REGISTRY_LOCK = threading.RLock()


def _register(rt, ch):
    """Record *ch* for its hchan, or return the channel another thread recorded first."""
    chans = _chans(rt)
    addr = ch.hchan.addr

    def forget(ref, chans=chans, addr=addr):
        with _REGISTRY_LOCK:
            if chans.get(addr) is ref:
                del chans[addr]
    with _REGISTRY_LOCK:
        ref = chans.get(addr)
        old = ref() if ref is not None else None
        if old is not None and old is not ch:
            return old
        chans[addr] = weakref.ref(ch, forget)
    return ch


def chan_of_word(rt, w, T):
    """The channel whose hchan is at *w*, read from memory of chan type *T* (a field, an
    element, a map entry, an interface, a received value). Its Python object when the
    program still holds it; else one rebuilt from the hchan (Go's state is all there: the
    buffer, qcount, sendx, recvx, closed; nobody can be waiting on a channel nothing
    in Python holds)."""
    with _REGISTRY_LOCK:
        ref = _chans(rt).get(w)
        ch = ref() if ref is not None else None
    if ch is not None:
        return ch
    from . import _object
    h = _object.make_pointer(rt, rt.heap, w, _hchan_type())
    if h.elemsize != T.underlying.elem.size:
        raise ValueError(f"goruntime: {w:#x} is not a {T} of this runtime")
    return _register(rt, HeapChan._of_hchan(rt, h, T))


def check_send(rt, elem, v):
    """Go's compile-time check of ``ch <- v`` (an error changes nothing); the value the
    receiver will get (a struct or array sent as a handle is copied now, as in Go)."""
    from . import _object, types as t
    aggregate = elem.underlying.kind in ("struct", "array")
    if v is None and aggregate:
        return v                            # the zero value
    try:
        _object.check_store(_object.make_slice(rt, rt.heap, 0, 0, 0, t.Byte), elem, v)
    except TypeError as e:
        raise TypeError(str(e).replace(" in assignment", " in send")) from None
    except OverflowError as e:
        raise OverflowError(str(e).replace(" in assignment", " in send")) from None
    if aggregate and isinstance(v, _object.Pointer):
        v = snapshot(v, elem)               # Go copies the value at the send
    return v


def zero_value(T, rt=None):
    """The Python value of T's zero value as a receive gives it (``None`` for a nil
    pointer, map, func; with *rt*, a nil slice is a nil `SliceValue` of T, as a field
    read gives it, so ``append`` takes it)."""
    from .maps import _zero_value
    u = T.underlying
    if u.kind == "struct":
        return {f.name: zero_value(f.type, rt) for f in u.fields if f.name != "_"}
    if u.kind == "array":
        return [zero_value(u.elem, rt) for _ in range(u.len)]
    if u.kind == "slice" and rt is not None:
        from . import _object
        return _object.make_slice(rt, rt.heap, 0, 0, 0, u.elem)
    return _zero_value(T)


def snapshot(v, T):
    """A Go value of type *T* read from the heap, as a receiver's copy: a struct is a dict
    of its fields, an array a list (nested); any other value is as loaded."""
    u = T.underlying
    if u.kind == "struct":
        return {f.name: snapshot(getattr(v, f.name), f.type) for f in u.fields if f.name != "_"}
    if u.kind == "array":
        return [snapshot(v[i], u.elem) for i in range(u.len)]
    return v


class _HeapRing:
    """A buffered channel's queue in its heap buffer (Go: hchan.buf, qcount, sendx,
    recvx, chanbuf), with the deque interface `Chan` uses. The hchan's words follow."""

    __slots__ = ("rt", "hchan", "elem", "esize", "base", "cap", "n", "sendx", "recvx",
                 "aggregate")

    def __init__(self, rt, hchan, elem, base, cap):
        self.rt, self.hchan, self.elem, self.base, self.cap = rt, hchan, elem, base, cap
        self.esize = elem.size
        if not self.esize:
            from ._heap import ZERO_BASE
            self.base = ZERO_BASE               # zero-size elements: nothing is stored
        self.n = self.sendx = self.recvx = 0
        self.aggregate = elem.underlying.kind in ("struct", "array")

    def __len__(self):
        return self.n

    def __bool__(self):
        return self.n > 0

    def _slot(self, i):
        from . import _object
        return _object.make_pointer(self.rt, self.rt.heap, self.base + i * self.esize, self.elem)

    def _sync(self):
        h = self.hchan
        h.qcount, h.sendx, h.recvx = self.n, self.sendx, self.recvx

    def append(self, v):
        """chansend into the buffer: typedmemmove(c.elemtype, chanbuf(c, c.sendx), ep).
        The slot and the counts change together: a Ctrl-C waits (`_signals.held`)."""
        with _signals.held():
            if self.esize and not (v is None and self.aggregate):
                self._slot(self.sendx).value = v
            self.sendx = (self.sendx + 1) % self.cap
            self.n += 1
            self._sync()

    def popleft(self):
        """chanrecv from the buffer: copy out, then typedmemclr the slot (a Ctrl-C waits
        until the counts agree with the cleared slot)."""
        with _signals.held():
            p = self._slot(self.recvx)
            v = snapshot(p.value, self.elem) if self.aggregate else p.value
            if self.esize:              # typedmemclr: the deletion barrier first, as Go's
                self.rt.heap.bulk_barrier(p.addr, 0, self.esize)
                self.rt.heap.view(p.addr, self.esize)[:] = 0
            self.recvx = (self.recvx + 1) % self.cap
            self.n -= 1
            self._sync()
        return v

    def values(self):
        """The buffered values, oldest first (for inspection; Go has no such accessor)."""
        return [snapshot(p.value, self.elem) if self.aggregate else p.value
                for p in (self._slot((self.recvx + i) % self.cap) for i in range(self.n))]


def makechan(rt, T, size):
    """Go: makechan. Unbuffered or zero-size elements: one 112-byte noscan hchan;
    pointer-free elements: hchan and buffer in one noscan object of ``112 + n*size``
    bytes; elements with pointers: a scanned hchan (``new(hchan)``) and a separate
    buffer of n elements."""
    import numpy as np
    from . import _object
    from .errors import FatalError
    if isinstance(size, bool) or not isinstance(size, int):
        raise TypeError(f"make: size must be an int, not {type(size).__name__}")
    elem = T.underlying.elem
    if not -(1 << 63) <= size < 1 << 63:        # Go: makechan64
        raise Panic("makechan: size out of range")
    if elem.size >= 1 << 16:
        raise FatalError("makechan: invalid channel element type")
    check_size(elem.size, size)
    mem = elem.size * size
    H = _hchan_type()
    heap = rt.heap
    with rt.world, _signals.held():
        if mem == 0:
            h = _object.new_object(rt, heap, HCHAN_SIZE, True, None, H)
        elif not elem.has_pointers:
            h = _object.new_object(rt, heap, HCHAN_SIZE + mem, True, None, H)
        else:
            hmask = np.ascontiguousarray(H.gc_mask(), dtype=np.uint8).tobytes()
            h = _object.new_object(rt, heap, HCHAN_SIZE, False, hmask, H)
            emask = np.ascontiguousarray(elem.gc_mask(), dtype=np.uint8).tobytes()
            buf = _object.new_slice_object(rt, heap, mem, False, emask, size, size, size, elem)
            heap.write_word(h.addr + 16, buf.addr)          # hchan.buf keeps it alive
        ch = HeapChan(size, sched=rt.sched)
        ch.hchan = h
        ch.type = T
        ch.elem = elem
        h.dataqsiz, h.elemsize = size, elem.size
        if size:
            if mem and not elem.has_pointers:
                heap.write_word(h.addr + 16, h.addr + HCHAN_SIZE)   # c.buf = add(c, hchanSize)
            ch._buf = _HeapRing(rt, h, elem, heap.read_word(h.addr + 16), size)
        _register(rt, ch)
    if heap.gc_pending:
        rt.collector.heap_triggered()
    return ch


def _register_word_type():
    from . import _object
    _object.register_value_types(word_value=HeapChan, chan_of_word=chan_of_word)


_register_word_type()
