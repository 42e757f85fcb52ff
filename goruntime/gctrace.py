"""GODEBUG trace lines: gctrace=1, gcpacertrace=1 and scavtrace=1, formatted exactly as Go.

Go prints these with the runtime's own ``print`` (no fmt), so every number has a fixed,
peculiar format: durations go through ``fmtNSAsMS`` (two significant digits, at most three
decimals, whole milliseconds from 10 ms up), the start time through ``itoaDiv(ms, 3)``,
byte counts are shifted ``>> 20`` (truncated MiB printed as "MB"), floats use
``strconv.FormatFloat(v, 'g', -1, 64)``. This module reproduces them digit for digit from
plain integers, and parses Go's real lines back (`GCTRACE_RE`, `parse_gctrace`) so tests can
compare the emulator's trace with the real toolchain's.

`Tracer` is the GC observer (``Runtime.add_gc_observer``) that prints a Runtime's
gctrace: ``Runtime(godebug="gctrace=1")`` installs one writing to ``Runtime.stderr``, and
IPython's ``%%gctrace`` installs one writing to the cell's output.

Mirrors src/runtime/mgc.go (gcMarkTermination's print, itoaDiv, fmtNSAsMS), mgcpacer.go
(startCycle/endCycle under gcpacertrace), mgcscavenge.go (printScavTrace), proc.go
(forcegchelper's "GC forced"), print.go (printfloat64). Spec §7.
"""
from __future__ import annotations

import re
from decimal import Decimal

__all__ = [
    "itoa_div", "fmt_ns_as_ms", "format_gctrace", "GC_FORCED_LINE", "GCTRACE_RE",
    "parse_gctrace", "format_go_float", "format_pacertrace_start", "format_pacertrace_end",
    "format_scavtrace", "Tracer",
]

MASK64 = (1 << 64) - 1

# Printed by the forcegc helper before a periodic (2-minute) GC starts (proc.go).
GC_FORCED_LINE = "GC forced"


def itoa_div(val: int, dec: int) -> str:
    """Go's itoaDiv: *val* in decimal with a '.' inserted *dec* digits from the right.

    ``itoa_div(3, 3) == "0.003"``, ``itoa_div(120065, 3) == "120.065"``. With ``dec == 0``
    and a one-digit value Go emits a leading zero (``"05"``); fmtNSAsMS never asks for that.
    """
    val &= MASK64
    buf = []
    i = 23                      # Go uses a [24]byte buffer, filled from the end
    idec = i - dec
    while val >= 10 or i >= idec:
        buf.append(chr(val % 10 + 48))
        i -= 1
        if i == idec:
            buf.append(".")
            i -= 1
        val //= 10
    buf.append(chr(val + 48))
    return "".join(reversed(buf))


def fmt_ns_as_ms(ns: int) -> str:
    """Go's fmtNSAsMS: nanoseconds as milliseconds for gctrace.

    From 10 ms up: whole milliseconds (``15``). Below: two significant digits of the
    microsecond count with at most three decimals (72 µs → ``0.072``, 140 µs → ``0.14``,
    2 600 µs → ``2.6``); under 1 µs → ``0``. *ns* is taken as a uint64, as in Go.
    """
    ns &= MASK64
    if ns >= 10_000_000:
        return itoa_div(ns // 1_000_000, 0)
    x = ns // 1000
    if x == 0:
        return "0"
    dec = 3
    while x >= 100:
        x //= 10
        dec -= 1
    return itoa_div(x, dec)


def format_gctrace(n: int, start_ns: int, cpu_percent: int, clock_ns, cpu_ns,
                   heap0: int, heap1: int, heap2: int, goal: int, stacks: int,
                   globals_: int, procs: int, forced: bool = False,
                   leak_check: bool = False) -> str:
    """The ``gc N @Ts U%: ...`` line Go prints at the end of mark termination (no newline).

    - *n*: NumGC after the increment; *start_ns*: sweep-termination start minus process
      start (Go: ``tSweepTerm - runtimeInitTime``); *cpu_percent*: ``int(GCCPUFraction*100)``.
    - *clock_ns*: ``(sweep termination, concurrent mark, mark termination)`` wall ns.
    - *cpu_ns*: ``(stwprocs*sweep term, assist, dedicated+fractional, idle,
      stwprocs*mark term)`` CPU ns.
    - *heap0/heap1/heap2*: heapLive at cycle start, heapLive at mark termination, bytes
      marked; *goal*: the pacer's ``last_heap_goal``; *stacks*: last stack scan bytes;
      *globals_*: scannable globals bytes. All bytes; shifted ``>> 20`` here.
    - *forced*: the cycle came from runtime.GC / debug.FreeOSMemory; *leak_check*: a
      goroutine leak detection cycle.
    """
    c1, c2, c3 = clock_ns
    p1, assist, dedicated, idle, p2 = cpu_ns
    ms = (start_ns & MASK64) // 1_000_000
    parts = [f"gc {n} @{itoa_div(ms, 3)}s {cpu_percent}%"]
    if leak_check:
        parts.append(" (checking for goroutine leaks)")
    parts.append(": ")
    parts.append("+".join(fmt_ns_as_ms(x) for x in (c1, c2, c3)))
    parts.append(" ms clock, ")
    parts.append(f"{fmt_ns_as_ms(p1)}+{fmt_ns_as_ms(assist)}/{fmt_ns_as_ms(dedicated)}/"
                 f"{fmt_ns_as_ms(idle)}+{fmt_ns_as_ms(p2)}")
    parts.append(f" ms cpu, {(heap0 & MASK64) >> 20}->{(heap1 & MASK64) >> 20}->"
                 f"{(heap2 & MASK64) >> 20} MB, {(goal & MASK64) >> 20} MB goal, "
                 f"{(stacks & MASK64) >> 20} MB stacks, {(globals_ & MASK64) >> 20} MB globals, "
                 f"{procs} P")
    if forced:
        parts.append(" (forced)")
    return "".join(parts)


_MS = r"\d+(?:\.\d+)?"
GCTRACE_RE = re.compile(
    r"^gc (?P<n>\d+) @(?P<start>\d+\.\d{3})s (?P<cpu_percent>\d+)%"
    r"(?P<leak_check> \(checking for goroutine leaks\))?: "
    rf"(?P<c1>{_MS})\+(?P<c2>{_MS})\+(?P<c3>{_MS}) ms clock, "
    rf"(?P<p1>{_MS})\+(?P<assist>{_MS})/(?P<dedicated>{_MS})/(?P<idle>{_MS})\+(?P<p2>{_MS}) ms cpu, "
    r"(?P<heap0>\d+)->(?P<heap1>\d+)->(?P<heap2>\d+) MB, (?P<goal>\d+) MB goal, "
    r"(?P<stacks>\d+) MB stacks, (?P<globals>\d+) MB globals, (?P<procs>\d+) P"
    r"(?P<forced> \(forced\))?$")


def parse_gctrace(line: str) -> dict:
    """Parse one gctrace line (Go's or ours) into a dict; `ValueError` if it is not one.

    Keys: ``n``, ``start_ms`` (int), ``cpu_percent``, ``clock`` (3 strings as printed),
    ``clock_ms`` (3 floats), ``cpu`` / ``cpu_ms`` (5: p1, assist, dedicated, idle, p2),
    ``heap0_mb``, ``heap1_mb``, ``heap2_mb``, ``goal_mb``, ``stacks_mb``, ``globals_mb``,
    ``procs``, ``forced``, ``leak_check``.
    """
    m = GCTRACE_RE.match(line.rstrip("\n"))
    if m is None:
        raise ValueError(f"not a gctrace line: {line!r}")
    g = m.groupdict()
    clock = (g["c1"], g["c2"], g["c3"])
    cpu = (g["p1"], g["assist"], g["dedicated"], g["idle"], g["p2"])
    return {
        "n": int(g["n"]),
        "start_ms": int(g["start"].replace(".", "")),
        "cpu_percent": int(g["cpu_percent"]),
        "clock": clock,
        "clock_ms": tuple(float(x) for x in clock),
        "cpu": cpu,
        "cpu_ms": tuple(float(x) for x in cpu),
        "heap0_mb": int(g["heap0"]),
        "heap1_mb": int(g["heap1"]),
        "heap2_mb": int(g["heap2"]),
        "goal_mb": int(g["goal"]),
        "stacks_mb": int(g["stacks"]),
        "globals_mb": int(g["globals"]),
        "procs": int(g["procs"]),
        "forced": g["forced"] is not None,
        "leak_check": g["leak_check"] is not None,
    }


def format_go_float(v: float) -> str:
    """A float64 as the runtime's print prints it: ``strconv.FormatFloat(v, 'g', -1, 64)``.

    Shortest round-trip digits; exponent form (``1.234567e+06``, two-digit exponent at
    least) when the decimal exponent is < -4 or >= 6; ``NaN``, ``+Inf``, ``-Inf``.
    """
    v = float(v)
    if v != v:
        return "NaN"
    if v in (float("inf"), float("-inf")):
        return "+Inf" if v > 0 else "-Inf"
    sign, digits, exponent = Decimal(repr(v)).as_tuple()
    neg = "-" if sign else ""
    ds = "".join(map(str, digits)).lstrip("0")
    if ds == "":                               # zero (Go prints "0" / "-0")
        return neg + "0"
    dp = len(ds) + exponent                    # decimal point position, Go's digs.dp
    stripped = ds.rstrip("0")                  # repr may carry trailing zeros ("100.0")
    nd = len(stripped)                         # Go's digs.nd
    exp = dp - 1
    if exp < -4 or exp >= 6:
        out = neg + stripped[0]
        if nd > 1:
            out += "." + stripped[1:]
        e = exp
        esign = "-" if e < 0 else "+"
        e = abs(e)
        return out + "e" + esign + (f"{e:02d}" if e < 100 else str(e))
    prec = max(nd - dp, 0)
    if dp > 0:
        intpart = stripped[:dp] + "0" * max(0, dp - nd)
    else:
        intpart = "0"
    if prec > 0:
        lz = min(prec, max(0, -dp))
        off = dp + lz
        m = min(prec - lz, max(0, nd - off))
        frac = "0" * lz + stripped[off:off + m] + "0" * max(0, prec - lz - m)
        return neg + intpart + "." + frac
    return neg + intpart


def format_pacertrace_start(assist_ratio: float, heap_scan: int, initial_heap_live: int,
                            heap_goal: int, dedicated_workers: int,
                            fractional_goal: float) -> str:
    """The ``pacer: assist ratio=...`` line of gcpacertrace=1 (Go: startCycle), no newline."""
    return (f"pacer: assist ratio={format_go_float(assist_ratio)} (scan {heap_scan >> 20} MB in "
            f"{initial_heap_live >> 20}->{heap_goal >> 20} MB) workers={dedicated_workers}"
            f"+{format_go_float(fractional_goal)}")


def format_pacertrace_end(utilization: float, heap_scan_work: int, stack_scan_work: int,
                          globals_scan_work: int, expected_scan: int, triggered: int,
                          heap_live: int, last_heap_goal: int, old_cons_mark: float,
                          goal_utilization: float = 0.25) -> str:
    """The ``pacer: N% CPU (25 exp.) for ...`` line of gcpacertrace=1 (Go: endCycle)."""
    delta = ((heap_live - last_heap_goal) + (1 << 63)) % (1 << 64) - (1 << 63)   # int64
    return (f"pacer: {int(utilization * 100)}% CPU ({int(goal_utilization * 100)} exp.) for "
            f"{heap_scan_work}+{stack_scan_work}+{globals_scan_work} B work ({expected_scan} B exp.) "
            f"in {triggered} B -> {heap_live} B (∆goal {delta}, cons/mark "
            f"{format_go_float(old_cons_mark)})")


def format_scavtrace(released_bg: int, released_eager: int, heap_released: int,
                     heap_inuse: int, heap_retained: int, forced: bool = False,
                     controller_reset: bool = False) -> str:
    """The scavtrace=1 line (Go: printScavTrace, mgcscavenge.go), no newline.

    ``scav <bg> KiB work (bg), <eager> KiB work (eager), <released> KiB now, <u>% util``
    with ``u = heapInUse*100/heapRetained``; `` (forced)`` after debug.FreeOSMemory.
    """
    util = (heap_inuse * 100) // heap_retained if heap_retained else 0
    line = (f"scav {released_bg >> 10} KiB work (bg), {released_eager >> 10} KiB work (eager), "
            f"{heap_released >> 10} KiB now, {util}% util")
    if forced:
        line += " (forced)"
    elif controller_reset:
        line += " [controller reset]"
    return line


def _mark_split(ev):
    """(assist, background, idle) mark CPU of a mark-termination event; events without
    the split (made by hand) count all mark CPU but ``mark_idle_ns`` as background."""
    a, b, i = (getattr(ev, k, 0) for k in ("assist_ns", "background_ns", "idle_ns"))
    if a + b + i == 0:
        idle = getattr(ev, "mark_idle_ns", 0)
        return 0, ev.mark_cpu_ns - idle, idle
    return a, b, i


def _value(x):
    """An int, or a callable giving it (the runtime's scan work as of this cycle)."""
    return x() if callable(x) else x


class Tracer:
    """A GC observer that writes Go's gctrace line of every cycle (GODEBUG=gctrace=1).

    *write* takes one line (no newline). *start_ns* is the runtime's start on its clock
    (Go: runtimeInitTime); *stacks* and *globals_* the stack and globals scan work Go
    prints (ints, or callables read when the line is written). The line is written at mark termination, as Go prints it, from what the
    cycle's sweep-termination and mark-termination events carry; a periodic cycle is
    preceded by ``GC forced`` (Go: forcegchelper). A tracer added while a cycle is in its
    mark phase starts with the next cycle.
    """

    def __init__(self, write, start_ns, stacks, globals_):
        self.write = write
        self.start_ns = start_ns
        self.stacks = stacks
        self.globals_ = globals_
        self._start = None          # the open cycle's sweep-termination event

    def __call__(self, ev):
        if ev.phase == "sweep termination":
            self._start = ev
            if ev.kind == "time":
                self.write(GC_FORCED_LINE)
        elif ev.phase == "mark termination":
            st, self._start = self._start, None
            if st is None or st.cycle != ev.cycle:
                return
            t_start = st.nanotime - st.pause_ns
            stw1, stw2, procs = st.pause_ns, ev.pause_ns, ev.gomaxprocs
            t_mark_term = ev.nanotime - stw2
            self.write(format_gctrace(
                n=ev.cycle, start_ns=t_start - self.start_ns,
                cpu_percent=int(ev.gc_cpu_fraction * 100),
                clock_ns=(stw1, t_mark_term - t_start - stw1, stw2),
                cpu_ns=(stw1 * procs, *_mark_split(ev), stw2 * procs),
                heap0=st.heap_live, heap1=ev.heap_live, heap2=ev.heap_marked,
                goal=st.heap_goal, stacks=_value(self.stacks), globals_=_value(self.globals_),
                procs=procs,
                forced=(ev.kind == "cycle")))
