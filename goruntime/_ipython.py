"""IPython integration: ``%load_ext goruntime``.

What loading the extension does:

- registers the ``%%gctrace`` cell magic: the cell runs with ``GODEBUG=gctrace=1`` in
  effect, and every GC it runs prints Go's one-line trace (``gc 1 @0.000s 0%: ...``,
  formatted by `goruntime.gctrace`). It covers the current runtime, every `Runtime` bound
  to a name in the user namespace, and every runtime created or entered inside the cell
  (``with rt.Runtime(gogc=50) as r:``). Lines go to the cell's stdout (``--stderr``: to
  stderr, where Go writes them). Afterwards each runtime's GODEBUG and trace stream are
  restored.
- after every cell, lets the cooperative scheduler run what is pending -- the finalizer
  goroutine, cleanups, goroutines started with ``rt.go`` -- through
  ``sched.run_until_idle()`` on the current runtime (and on runtimes in the user
  namespace), as a Go program would between statements. Turn it off with
  ``%goruntime drain off`` (or ``configure(drain=False)``) to step with ``rt.Gosched()``.
- ``%goruntime`` (line magic): ``status``, ``drain on|off``, ``forget`` (drop the output
  history's references, see below).

A word on ``Out``: IPython keeps every cell's result in ``Out[n]`` (and ``_``, ``__``,
``___``). A handle that was a cell's result is therefore still a live Python object, i.e.
a *root*, and the object it points to is never collected. ``%reset -f out`` empties the
output history (IPython >= 8.15; older versions keep a second reference in
``user_ns_hidden``, which ``%goruntime forget`` also drops; docs/notebooks.md). Ending a
cell with ``;``, or showing a value with ``display()``, keeps it out of the history.

IPython is imported lazily, inside `load_ipython_extension` (as memray does), so importing
goruntime never needs it.
"""
from __future__ import annotations

import sys

__all__ = ["load_ipython_extension", "unload_ipython_extension", "configure", "state",
           "last_gctrace", "traced", "forget_outputs"]

_STATE = {"drain": True, "ip": None, "last_gctrace": [], "pinned": [], "depth": 0}


def state():
    """The extension's settings (a copy): ``{"drain": bool, "loaded": bool}``."""
    return {"drain": _STATE["drain"], "loaded": _STATE["ip"] is not None}


def configure(*, drain=None):
    """Change settings: ``drain`` -- run pending goroutines after every cell."""
    if drain is not None:
        if not isinstance(drain, bool):
            raise TypeError("drain must be a bool")
        _STATE["drain"] = drain
    return state()


def last_gctrace():
    """The gctrace lines the last ``%%gctrace`` cell printed."""
    return list(_STATE["last_gctrace"])


class _Sink:
    """A file-like object that forwards to the cell's stdout/stderr *at write time*."""

    def __init__(self, to_stderr, lines):
        self.to_stderr = to_stderr
        self.lines = lines

    def write(self, s):
        for line in s.splitlines():
            if line:
                self.lines.append(line)
        return (sys.stderr if self.to_stderr else sys.stdout).write(s)

    def flush(self):
        (sys.stderr if self.to_stderr else sys.stdout).flush()


class traced:
    """``with traced(runtimes, to_stderr=False) as lines:``: gctrace on for a block.

    Adds a gctrace GC observer (`goruntime.gctrace.Tracer`, writing to stdout or stderr)
    to *runtimes* (an iterable of `Runtime`) and to every runtime created or entered
    inside the block, and removes each on exit. A runtime already tracing
    (``godebug="gctrace=1"``) gets no second tracer: its lines go to the block's stream
    until the block ends. This is what ``%%gctrace`` runs the cell in; it works outside
    IPython too.
    """

    def __init__(self, runtimes=(), *, to_stderr=False):
        self.lines = []
        self._sink = _Sink(to_stderr, self.lines)
        self._saved = {}            # id(rt) -> (rt, our tracer or None, old stderr)
        self._initial = list(runtimes)
        self._patched = None
        self.clocks = []            # the traced runtimes' clocks (how to read the times)

    def _enable(self, rt):
        if id(rt) in self._saved:
            return
        self.clocks.append(getattr(rt, "clock", None))
        if rt.godebug.get("gctrace"):           # its own tracer writes to rt.stderr
            self._saved[id(rt)] = (rt, None, rt.stderr)
            rt.stderr = self._sink
            return
        sink = self._sink
        tracer = rt.add_gc_observer(rt.gctracer(lambda line: sink.write(line + "\n")))
        self._saved[id(rt)] = (rt, tracer, None)

    def __enter__(self):
        from .runtime import Runtime
        for rt in self._initial:
            self._enable(rt)
        # Runtimes made or entered in the block: Runtime has no creation hook, so its
        # __init__/__enter__ are wrapped for the block's duration (class attributes,
        # restored on exit; a runtime's cycles are observed through add_gc_observer).
        init, enter = Runtime.__init__, Runtime.__enter__
        me = self

        def __init__(self, *args, **kwargs):
            init(self, *args, **kwargs)
            me._enable(self)

        def __enter__(self):
            me._enable(self)
            return enter(self)

        __init__.__wrapped__, __enter__.__wrapped__ = init, enter
        Runtime.__init__, Runtime.__enter__ = __init__, __enter__
        self._patched = (Runtime, init, enter)
        return self.lines

    def __exit__(self, *exc):
        if self._patched is not None:
            cls, init, enter = self._patched
            cls.__init__, cls.__enter__ = init, enter
            self._patched = None
        for rt, tracer, stderr in self._saved.values():
            if tracer is not None:
                rt.remove_gc_observer(tracer)
            else:
                rt.stderr = stderr
        self._saved.clear()
        return False


def forget_outputs(ip):
    """Drop IPython's references to cell results: ``%reset -f out`` and, for IPython older
    than 8.15 (ipython/ipython#14129), the copies it keeps in ``user_ns_hidden``.
    Returns how many results were dropped."""
    import gc
    n = len(ip.user_ns.get("_oh", {}) or {})
    ip.run_line_magic("reset", "-f out")
    hidden = getattr(ip, "user_ns_hidden", {})
    for k in [k for k in hidden if k[:1] == "_" and k[1:].isdigit()]:
        del hidden[k]
    for k in ("_", "__", "___"):
        if k in hidden:
            hidden[k] = ""
    gc.collect()
    return n


def _runtime_arg(ip, expr):
    """The Runtime ``%%gctrace -r EXPR`` names, or IPython's one-line ``UsageError``."""
    from IPython.core.error import UsageError
    from .runtime import Runtime
    try:
        rt = ip.ev(expr)
    except Exception as e:
        raise UsageError(f"%%gctrace -r {expr}: {type(e).__name__}: {e}") from None
    if not isinstance(rt, Runtime):
        shown = repr(rt) if len(repr(rt)) <= 40 else repr(rt)[:39] + "…"
        raise UsageError(f"%%gctrace -r {expr}: want an expression naming a goruntime.Runtime, "
                         f"not {shown} ({type(rt).__name__})")
    return rt


def _gctrace_note(clocks):
    """The line after a traced cell: how to read the times in the gctrace lines."""
    from ._display import time_label
    how = {time_label(c) for c in clocks} or {"modelled"}
    if how == {"modelled"}:
        return ("gctrace: the times and CPU % above are modelled by the virtual clock's cost "
                "model (goruntime.runtime.COSTS), not measured; docs/emulation.md, \"Time\"")
    return ("gctrace: the times and CPU % above are " + " or ".join(sorted(how))
            + " (clock=\"wall\": the emulator's own phases, not Go's)")


def _user_runtimes(ip):
    from .runtime import Runtime
    seen, out = set(), []
    for v in list(getattr(ip, "user_ns", {}).values()):
        if isinstance(v, Runtime) and id(v) not in seen:
            seen.add(id(v))
            out.append(v)
    return out


def _target_runtimes(ip):
    from .runtime import current
    out = [current()]
    for rt in _user_runtimes(ip):
        if all(rt is not o for o in out):
            out.append(rt)
    return out


def _drain(ip=None, **_kwargs):
    """post_run_cell: let pending goroutines (finalizers, cleanups) run."""
    if not _STATE["drain"]:
        return
    ip = ip or _STATE["ip"]
    try:
        runtimes = _target_runtimes(ip) if ip is not None else []
    except Exception:            # a half-initialised runtime module: nothing to drain
        return
    for rt in runtimes:
        sched = getattr(rt, "sched", None)
        if sched is None or getattr(sched, "mode", "cooperative") != "cooperative":
            continue
        try:
            sched.run_until_idle()
        except Exception as e:   # a crashed goroutine (Go would have died): show it, go on
            print(f"goruntime: after the cell, a goroutine failed: {type(e).__name__}: {e}",
                  file=sys.stderr)


class _PinnedStream:
    """ipykernel's stdout/stderr, with every write attributed to the running cell.

    ipykernel (>= 6) finds the cell a write belongs to in a ContextVar. A goroutine runs in
    a copy of the context it was *created* in (the finalizer goroutine: the cell that first
    called SetFinalizer), so without this a finalizer's ``print`` would land under that
    old cell. While a cell runs (and the after-cell drain), writes go to it.
    """

    def __init__(self, stream, parent):
        self._stream = stream
        self._parent = parent

    def write(self, s):
        token = self._stream.set_thread_parent(self._parent)
        try:
            return self._stream.write(s)
        finally:
            self._stream.reset_thread_parent(token)

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def __getattr__(self, name):
        return getattr(self._stream, name)


def _pin_streams(info=None):
    """pre_run_cell: attribute goroutines' output to this cell (see `_PinnedStream`).
    A cell run inside a cell (``%%gctrace`` runs its body so) keeps the outer pinning."""
    _STATE["depth"] = _STATE.get("depth", 0) + 1
    if _STATE["depth"] > 1:
        return
    pinned = []
    for name in ("stdout", "stderr"):
        s = getattr(sys, name)
        if isinstance(s, _PinnedStream):
            s = s._stream
        if hasattr(s, "set_thread_parent") and hasattr(s, "reset_thread_parent"):
            p = _PinnedStream(s, s.parent_header)
            setattr(sys, name, p)
            pinned.append((name, s, p))
    _STATE["pinned"] = pinned


def _unpin_streams():
    for name, orig, p in _STATE.get("pinned", ()):
        if getattr(sys, name) is p:
            setattr(sys, name, orig)
    _STATE["pinned"] = []


def load_ipython_extension(ip):
    """``%load_ext goruntime``: register ``%%gctrace``, ``%goruntime`` and the after-cell
    drain (every goruntime object shows itself with its own ``_repr_html_``). Loading
    twice is harmless."""
    from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
    from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

    @magics_class
    class GoRuntimeMagics(Magics):
        @magic_arguments()
        @argument("-r", "--runtime", default=None,
                  help="an expression naming the Runtime to trace (default: the current one, "
                       "those in the namespace and those made in the cell)")
        @argument("--stderr", action="store_true", help="write the lines to stderr, as Go does")
        @argument("-q", "--quiet", action="store_true",
                  help="do not say so when the cell ran no GC")
        @cell_magic
        def gctrace(self, line, cell):
            """Run the cell with GODEBUG=gctrace=1: one line per GC, as Go prints it."""
            args = parse_argstring(self.gctrace, line)
            if args.runtime:
                targets = [_runtime_arg(self.shell, args.runtime)]
            else:
                targets = _target_runtimes(self.shell)
            tracer = traced(targets, to_stderr=args.stderr)
            with tracer as lines:
                self.shell.run_cell(cell, store_history=False)
            _STATE["last_gctrace"] = list(lines)
            if not args.quiet:
                print(_gctrace_note(tracer.clocks) if lines else "gctrace: no GC ran in this cell")

        @line_magic
        def goruntime(self, line):
            """``%goruntime status`` | ``%goruntime drain on|off`` | ``%goruntime forget``."""
            words = line.split()
            if words == ["forget"]:
                n = forget_outputs(self.shell)
                print(f"goruntime: dropped {n} cell result{'s' if n != 1 else ''} from the output history")
                return
            if not words or words[0] == "status":
                s = state()
                print(f"goruntime extension: drain after each cell: {'on' if s['drain'] else 'off'}")
                from .runtime import current
                dead = current().dead
                if dead:
                    print(f"goruntime: the current Runtime is DEAD: {dead}")
                return
            if words[0] == "drain" and len(words) == 2 and words[1] in ("on", "off"):
                configure(drain=words[1] == "on")
                print(f"goruntime: drain after each cell: {words[1]}")
                return
            print("usage: %goruntime status | %goruntime drain on|off | %goruntime forget",
                  file=sys.stderr)

    if _STATE["ip"] is ip:
        return
    if _STATE["ip"] is not None:
        unload_ipython_extension(_STATE["ip"])
    ip.register_magics(GoRuntimeMagics)
    ip.events.register("pre_run_cell", _pin_streams)
    ip.events.register("post_run_cell", _post_run_cell)
    _STATE["ip"] = ip


def _post_run_cell(result=None):
    try:
        _drain(_STATE["ip"])
    finally:
        _STATE["depth"] = max(0, _STATE.get("depth", 0) - 1)
        if _STATE["depth"] == 0:
            _unpin_streams()


def unload_ipython_extension(ip):
    """``%unload_ext goruntime``: stop draining (magics stay, as IPython has no way to
    unregister them)."""
    for event, fn in (("pre_run_cell", _pin_streams), ("post_run_cell", _post_run_cell)):
        try:
            ip.events.unregister(event, fn)
        except ValueError:
            pass
    _unpin_streams()
    _STATE["depth"] = 0
    if _STATE["ip"] is ip:
        _STATE["ip"] = None
