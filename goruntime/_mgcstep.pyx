# cython: language_level=3
"""The concurrent mark's step at an allocation check point, compiled (Go: mallocgc's
deductAssistCredit + gcAssistAlloc (mgcmark.go), the pacer's revise (mgcpacer.go), the
fractional worker's turns at sysmon's preemptions (proc.go: retake, findRunnableGCWorker)).

`mgc.Collector.mark_step` is the rule; `mark_step` here is the same arithmetic on C
doubles and 64-bit integers, in the same order, for the common case: a virtual clock that
is not a replay's recorded time and no dedicated or idle worker on another P (GOMAXPROCS=1
and the fractional worker). Anything else -- mark termination, a failed drain, a wall
clock, a replay, GOMAXPROCS > 1 -- returns to the Python rule (`NOT_HANDLED`, or the
collector's own methods for the ending). The integer inputs are nanoseconds and bytes far
below 2**53, where a C double holds them exactly: every float expression rounds as Python's
does (int/int true division is correctly rounded in both), and the results are identical
(tests/test_mgcstep.py compares the two paths step by step).
"""
from libc.stdint cimport int64_t, uint64_t

cdef int64_t RAMP[128]
cdef int NRAMP = 0
cdef int64_t SYSMON_DELAY = 0
cdef int64_t FORCE_PREEMPT_NS = 0
cdef int64_t GC_OVER_ASSIST_WORK = 0
cdef int64_t MARK_STEP_NS = 0
cdef int64_t MIN_STEP_BYTES = 0
cdef int64_t RUNWAY_STEPS = 1
cdef int64_t MIN_FINE_STEP = 0
cdef uint64_t NO_CHECK = 0xFFFFFFFFFFFFFFFF
cdef object COSTS = None
cdef object VirtualClock = None


NOT_HANDLED = object()          # the step is the Python rule's (`mgc.Collector.mark_step`)


def init(ramp, delay, force_preempt, over_assist, mark_step_ns, min_step, runway_steps,
         min_fine, costs, virtual_clock):
    """mgc.py's constants (one home: mgc.py), the cost table and the virtual clock's type."""
    global NRAMP, SYSMON_DELAY, FORCE_PREEMPT_NS, GC_OVER_ASSIST_WORK, MARK_STEP_NS
    global MIN_STEP_BYTES, RUNWAY_STEPS, MIN_FINE_STEP, COSTS, VirtualClock
    if not 0 < len(ramp) <= 128:
        raise ValueError("init: sysmon's ramp must have 1..128 wake times")
    for i, t in enumerate(ramp):
        RAMP[i] = t
    NRAMP = len(ramp)
    SYSMON_DELAY, FORCE_PREEMPT_NS = delay, force_preempt
    GC_OVER_ASSIST_WORK, MARK_STEP_NS = over_assist, mark_step_ns
    MIN_STEP_BYTES, RUNWAY_STEPS, MIN_FINE_STEP = min_step, runway_steps, min_fine
    COSTS, VirtualClock = costs, virtual_clock


# -- the virtual clock's readings ------------------------------------------------------

def meter(rt):
    """The runtime's clock meter (`runtime.Runtime._meter`): the mutator ns of the work
    done since the last call, 0 without the arithmetic when no count changed (a mark step
    reads the clock five times while the program does nothing)."""
    s, rec = rt.sched, rt.gc_record
    counts = (rt.heap.mutator_counts(), s.nswitch, s.ngo, s.nchanops,
              rec.finalizers_executed, rec.cleanups_executed)
    if counts == rt._metered:
        return 0
    rt._metered = counts
    total = rt.mutator_work_ns()
    ns = total - rt._charged_ns
    if ns <= 0:
        return 0
    rt._charged_ns = total
    return ns


cdef object sync(object clock):
    """``clock.sync()`` of a `clock.VirtualClock` (its own code, compiled): bring in the
    meters' work, return now."""
    if type(clock) is not VirtualClock:
        return clock.sync()
    ns = 0
    for m in clock._meters:
        ns += m()
    if ns > 0:
        clock._now += ns
        clock._mutator += ns
    return clock._now


cdef inline object nanotime(object clock):
    """``clock.nanotime()`` (`sync` when the clock has meters)."""
    if type(clock) is not VirtualClock:
        return clock.nanotime()
    if clock._meters:
        return sync(clock)
    return clock._now


cdef inline int64_t floordiv(int64_t a, int64_t b) noexcept nogil:
    """Python's a // b (the module compiles with C division)."""
    cdef int64_t q = a / b
    if a % b != 0 and ((a < 0) != (b < 0)):
        q -= 1
    return q


cdef int64_t c_sysmon_tick(int64_t t) noexcept nogil:
    cdef int lo = 0, hi = NRAMP, mid
    cdef int64_t base = RAMP[NRAMP - 1]
    if t <= base:
        while lo < hi:                      # bisect_left
            mid = (lo + hi) >> 1
            if RAMP[mid] < t:
                lo = mid + 1
            else:
                hi = mid
        return RAMP[lo]
    return base - floordiv(-(t - base), SYSMON_DELAY) * SYSMON_DELAY


cdef inline int64_t c_preempt_time(int64_t s) noexcept nogil:
    return c_sysmon_tick(c_sysmon_tick(s + 1) + FORCE_PREEMPT_NS)


cdef object LIMIT = 1 << 61      # C int64 arithmetic below it; Python ints beyond


def sysmon_tick(t):
    """The first time >= *t* (ns after the runtime starts) at which sysmon wakes."""
    if -LIMIT < t < LIMIT:
        return c_sysmon_tick(t)
    if t <= RAMP[NRAMP - 1]:
        return RAMP[0]
    base = RAMP[NRAMP - 1]          # a saturated clock: Python's ints, unbounded
    return base - (-(t - base) // SYSMON_DELAY) * SYSMON_DELAY


def preempt_time(s):
    """When sysmon preempts a goroutine given the CPU at *s* (ns after the runtime starts)
    that runs on without a scheduling point (`mgc.preempt_time`)."""
    if -LIMIT < s < LIMIT:
        return c_preempt_time(s)
    return sysmon_tick(sysmon_tick(s + 1) + FORCE_PREEMPT_NS)


# what drained: the Cycle counter the ns go to
cdef enum:
    ASSIST = 0
    FRACTIONAL = 1


cdef tuple drain(object rt, object cyc, object m, int who, double budget_ns,
                 int64_t scan_budget, int procs):
    """`mgc.Collector.drain` on a virtual clock, budgeted (an assist's scan work or a
    fractional turn's ns): returns (ns, scan bytes)."""
    cdef double mo = COSTS["mark_object"], mb = COSTS["mark_byte"]
    cdef double ms = COSTS["mark_span"], ml = COSTS["mark_link"]
    cdef double mlb = COSTS["mark_large_byte"]
    cdef object root_ns_o = cyc.root_ns
    cdef object root_work_o = cyc.root_work
    cdef double w_root = (<double>root_ns_o / <double>root_work_o) if root_work_o else 0.0
    cdef double r0 = m.root_scan, rw
    cdef uint64_t s0 = m.nspans, l0 = m.nlinks, g0 = m.scan_large
    cdef uint64_t n, sb
    cdef int64_t ns
    if scan_budget:
        _, n, sb = m.drain(scan_budget, 0.0, 1.0, 1.0)
    else:
        _, n, sb = m.drain(budget_ns, mo, mb, w_root, w_span=ms, w_link=ml, w_large=mlb,
                           nworkers=1)
    rw = <double>m.root_scan - r0
    ns = <int64_t>(<double>n * mo + <double>sb * mb + <double>(<uint64_t>m.nspans - s0) * ms
                   + <double>(<uint64_t>m.nlinks - l0) * ml
                   + <double>(<uint64_t>m.scan_large - g0) * mlb + rw * w_root)
    if not root_work_o and root_ns_o and m.roots_done:      # no root scan work
        ns += <int64_t><double>root_ns_o
        cyc.root_ns = 0
    if who == ASSIST or procs == 1 or who == FRACTIONAL:
        rt.clock.charge_gc(ns)
        cyc.gc_charged += ns
    if who == ASSIST:
        rt.limiter.add_assist_time(ns)          # Go: the assist's limiter event
        cyc.assist_ns += ns
    else:
        cyc.fractional_ns += ns
    cyc.mark_ns += ns
    cyc.bytes_marked = m.bytes_marked
    cyc.scan_bytes = m.scan_bytes
    return ns, <int64_t>sb + <int64_t>rw


cdef int preemptions(object rt, object cyc, object m, object p, int64_t now, double f,
                     int procs) except -1:
    """`mgc.Collector.preemptions`: the fractional worker's turns at sysmon's preemptions
    since the last step."""
    cdef int64_t base = rt._start_ns
    cdef int64_t s = max(<int64_t>cyc.sched_ns, <int64_t>getattr(rt.sched, "last_run_ns", 0))
    cdef int64_t tp, since, run, ns, sb, frac
    cdef int64_t mark_start = p.mark_start_time
    while not m.empty:
        tp = c_preempt_time(s - base) + base
        if tp > now:
            break
        since = tp - mark_start
        ns = 0
        frac = <int64_t>cyc.fractional_ns
        if since <= 0 or <double>frac <= f * <double>since:
            run = <int64_t>((1.2 * f * <double>since - <double>frac) / (1 - 1.2 * f))
            if run > 0:
                ns, sb = drain(rt, cyc, m, FRACTIONAL, <double>run, 0, procs)
                cyc.bg_credit += sb
        s = tp + ns
    cyc.sched_ns = s
    return 0


cdef int revise(object collector, object rt, object cyc, object p, object pacer_mod) except -1:
    """`mgc.Collector.revise`: the pacer's assist ratio from the work done so far."""
    cdef int64_t done, gs
    p.heap_live = rt.heap.heap_live
    p.heap_scan_work = cyc.scan_bytes
    mark = collector.mark
    if mark is not None:                    # root jobs: data/bss first, then stacks
        done = <int64_t><double>mark.root_scan
        gs = min(done, <int64_t>rt.globals_scan)
        p.globals_scan_work = gs
        p.stack_scan_work = done - gs
    if p.memory_limit != pacer_mod.MAX_INT64 or cyc.mem is None:
        cyc.mem = rt._mem_state(record_peak=False)   # the limit's goal moves with memory
    p.revise(cyc.mem)
    return 0


cdef int assist(object collector, object rt, object cyc, object m, object p, int64_t allocated,
                object pacer_mod, int procs) except -1:
    """`mgc.Collector.assist`: deductAssistCredit + gcAssistAlloc for the running goroutine."""
    cdef int64_t credit, debt, scan_work, stolen, bg, done
    cdef double awpb, abpw
    if rt.limiter.limiting():
        return 0                    # Go: no assists while the GC CPU limiter is on
    sched = rt.sched
    g = sched.current() if sched is not None else None
    key = id(g) if g is not None else 0
    ab = cyc.assist_bytes
    credit = <int64_t>ab.get(key, 0) - allocated
    if credit < 0:
        revise(collector, rt, cyc, p, pacer_mod)
        awpb = p.assist_work_per_byte
        abpw = p.assist_bytes_per_work
        debt = -credit
        scan_work = <int64_t>(awpb * <double>debt)
        if scan_work < GC_OVER_ASSIST_WORK:
            scan_work = GC_OVER_ASSIST_WORK
            debt = <int64_t>(abpw * <double>scan_work)
        bg = cyc.bg_credit
        if bg > 0:
            if bg < scan_work:
                stolen = bg
                credit += 1 + <int64_t>(abpw * <double>stolen)
            else:
                stolen = scan_work
                credit += debt
            cyc.bg_credit = bg - stolen
            scan_work -= stolen
        if scan_work > 0:
            _, done = drain(rt, cyc, m, ASSIST, 0.0, scan_work, procs)
            credit += 1 + <int64_t>(abpw * <double>done)
    ab[key] = credit
    return 0


cdef int set_check_point(object rt, object cyc, object p, uint64_t malloc_bytes) except -1:
    """`mgc.Collector.set_check_point` on a virtual clock that is not a replay's, with no
    dedicated or idle worker: the assist's check point and the fractional worker's."""
    cdef int64_t credit, now, s, wait, quantum = 0, mut_ns, allocated, floor
    sched = rt.sched
    g = sched.current() if sched is not None else None
    credit = max(<int64_t>cyc.assist_bytes.get(id(g) if g is not None else 0, 0), 0)
    heap = rt.heap
    heap.assist_at = NO_CHECK if rt.limiter.limiting() else malloc_bytes + <uint64_t>credit
    clock = rt.clock
    now = nanotime(clock)
    if not (<double>p.fractional_utilization_goal > 0):
        heap.trigger = NO_CHECK
        return 0
    s = max(<int64_t>cyc.sched_ns, <int64_t>getattr(sched, "last_run_ns", 0)) - <int64_t>rt._start_ns
    wait = max(0, c_preempt_time(s) + <int64_t>rt._start_ns - now)
    if type(clock) is VirtualClock:
        sync(clock)                     # clock.mutator_ns()
        mut_ns = <int64_t>clock._mutator - <int64_t>cyc.mut_start
    else:
        mut_ns = <int64_t>clock.mutator_ns() - <int64_t>cyc.mut_start   # the program's metered work
    allocated = <int64_t>malloc_bytes - <int64_t>cyc.alloc_start
    if mut_ns > 0 and allocated > 0:
        quantum = <int64_t>(<double>allocated / <double>mut_ns * <double>wait)
    # (Python ints: `triggered` is MAX_UINT64 outside a cycle's mark)
    runway_o = (cyc.goal - p.triggered) // RUNWAY_STEPS
    floor = MIN_STEP_BYTES if runway_o >= MIN_STEP_BYTES else max(MIN_FINE_STEP, runway_o)
    heap.trigger = <uint64_t>heap.heap_live + <uint64_t>max(quantum, floor)
    return 0


def mark_step(collector, rt, cyc, m, pacer_mod):
    """One non-idle step of the running concurrent mark (`mgc.Collector.mark_step` with
    ``idle=False``), or `NOT_HANDLED` (nothing changed) when the step is not the common
    case. Returns True when the mark work ran out (the caller terminates the cycle), else
    None. The caller holds the world lock and handles a failed drain (abandon)."""
    cdef int procs = rt._gomaxprocs
    cdef int64_t ded, idle_ps, now, allocated
    cdef uint64_t malloc_bytes
    cdef double f
    clock = rt.clock
    if type(clock) is not VirtualClock or not clock._now < LIMIT or m.empty:
        return NOT_HANDLED              # (a replay's TraceClock, a saturated clock: Python)
    p = rt.pacer
    ded = p.dedicated_mark_workers_needed
    idle_ps = max(0, min(<int64_t>p.max_idle_mark_workers, procs - ded - 1))
    if ded or idle_ps:
        return NOT_HANDLED                  # workers on other Ps: the Python rule
    if rt._meter_fn is not None:        # rt._charge_mutator()
        sync(clock)
    else:
        rt._charge_mutator()
    now = nanotime(clock)
    heap = rt.heap
    malloc_bytes = heap.malloc_bytes
    allocated = max(0, <int64_t>malloc_bytes - <int64_t>cyc.alloc_mark)
    cyc.alloc_mark = malloc_bytes
    cyc.steps += 1
    f = p.fractional_utilization_goal
    if f > 0:
        preemptions(rt, cyc, m, p, now, f, procs)
    if allocated and not m.empty:
        assist(collector, rt, cyc, m, p, allocated, pacer_mod, procs)
    cyc.step_ns = nanotime(clock)
    if m.empty:
        return True
    set_check_point(rt, cyc, p, malloc_bytes)
    return None
