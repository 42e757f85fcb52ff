"""Pacer: GOGC / GOMEMLIMIT parsing, heap goal, trigger, cons/mark, scavenger goals.

Numbers are the spec's measurements of real Go 1.27.3 (§4, Appendix X3, X15). The parse
tests are also checked against the real toolchain when ``go`` is on PATH.
"""
import os
import shutil
import subprocess

import pytest
from hypothesis import given, settings, strategies as st

from goruntime.errors import FatalError
from goruntime.pacer import (
    MAX_INT64, MAX_UINT64, MemoryState, Pacer, TRIGGER_TIME, gc_pace_scavenger,
    parse_byte_count, parse_gogc, parse_gomemlimit,
)

MiB = 1 << 20
NO_LIMIT_MEM = MemoryState(mapped_ready=8 * MiB, heap_free=1 * MiB, heap_alloc=2 * MiB,
                           heap_inuse=3 * MiB)


def finish_gc(p, mem, heap_marked, stack, globals_, *, heap_scan=0):
    """Run the pacer through one cycle as the runtime does, ending with heapMarked."""
    p.globals_scan = globals_
    p.start_cycle(p.heap_live, now_ns=0)
    p.end_cycle(mem, 0, heap_scan_work=heap_scan, stack_scan_work=stack, globals_scan_work=0)
    p.reset_live(heap_marked)
    p.commit(sweep_done=False, mem=mem)


def mem_with_non_heap(non_heap, heap_alloc=3 * MiB, heap_free=0, heap_inuse=None):
    return MemoryState(mapped_ready=non_heap + heap_free + heap_alloc, heap_free=heap_free,
                       heap_alloc=heap_alloc,
                       heap_inuse=heap_alloc if heap_inuse is None else heap_inuse)


# --------------------------------------------------------------------------- parsing

GOGC_CASES = {
    None: 100, "": 100, "off": -1, "100": 100, "50": 50, "0": 0, "+50": 50, "-7": -1,
    "-1": -1, "-0": 0, "2147483647": 2147483647, "2147483648": 100, "-2147483648": -1,
    "-2147483649": 100, "abc": 100, " 50": 100, "50 ": 100, "1_000": 100, "0x10": 100,
    "1e3": 100, "OFF": 100, "Off": 100, "+": 100, "-": 100, "12.5": 100, "\u0661\u0662": 100,
    "007": 7,
}


@pytest.mark.parametrize("s,want", sorted(GOGC_CASES.items(), key=str))
def test_parse_gogc(s, want):
    assert parse_gogc(s) == want


GOMEMLIMIT_CASES = {
    None: MAX_INT64, "": MAX_INT64, "off": MAX_INT64, "0": 0, "1024": 1024, "1024B": 1024,
    "1KiB": 1024, "1MiB": 1 << 20, "1GiB": 1 << 30, "2TiB": 2 << 40, "+1KiB": 1024,
    "-0": 0, "-0KiB": 0, "0B": 0, "9223372036854775807": MAX_INT64,
    "9223372036854775807B": MAX_INT64, "8388607TiB": 8388607 << 40, "64MiB": 64 << 20,
    "12XB": None, "-1": None, "-1KiB": None, "1.5GiB": None, "1 MiB": None, " 1MiB": None,
    "1KB": None, "1kiB": None, "1kB": None, "1k": None, "1M": None, "B": None, "iB": None,
    "KiB": None, "1iB": None, "1XiB": None, "8388608TiB": None, "9223372036854775808": None,
    "9223372036854775808B": None, "1PiB": None, "OFF": None, "1_000": None, "0x10": None,
    "1GiBB": None, "MiB1": None,
}


@pytest.mark.parametrize("s,want", sorted(GOMEMLIMIT_CASES.items(), key=str))
def test_parse_gomemlimit(s, want):
    if want is None:
        with pytest.raises(FatalError) as e:
            parse_gomemlimit(s)
        assert str(e.value) == "malformed GOMEMLIMIT; see `go doc runtime/debug.SetMemoryLimit`"
    else:
        assert parse_gomemlimit(s) == want


def test_parse_byte_count_overflow_edges():
    assert parse_byte_count("9007199254740991KiB") == ((9007199254740991 << 10), True)
    assert parse_byte_count("9007199254740992KiB") == (0, False)     # 2^63: > MaxInt64
    assert parse_byte_count("18014398509481984KiB") == (0, False)    # > MaxUint64/1024


ORACLE_SRC = r"""
package main

import (
	"fmt"
	"runtime/debug"
)

func main() {
	fmt.Println(debug.SetGCPercent(100), debug.SetMemoryLimit(-1))
}
"""


@pytest.fixture(scope="module")
def env_oracle(tmp_path_factory):
    go = shutil.which("go")
    if go is None:
        pytest.skip("go not on PATH")
    d = tmp_path_factory.mktemp("envoracle")
    (d / "main.go").write_text(ORACLE_SRC)
    (d / "go.mod").write_text("module envoracle\n\ngo 1.27\n")
    env = {**os.environ, "GOTOOLCHAIN": "local", "GOFLAGS": "-mod=mod"}
    env.pop("GOGC", None)
    env.pop("GOMEMLIMIT", None)
    subprocess.run([go, "build", "-o", str(d / "oracle"), "."], cwd=d, env=env, check=True,
                   capture_output=True)

    def run(gogc=None, gomemlimit=None):
        e = {k: v for k, v in env.items() if k not in ("GOGC", "GOMEMLIMIT")}
        if gogc is not None:
            e["GOGC"] = gogc
        if gomemlimit is not None:
            e["GOMEMLIMIT"] = gomemlimit
        return subprocess.run([str(d / "oracle")], env=e, capture_output=True, text=True)
    return run


@pytest.mark.oracle
def test_parse_gogc_against_go(env_oracle):
    for s, want in GOGC_CASES.items():
        if s is not None and "\x00" in s:
            continue
        r = env_oracle(gogc=s)
        assert r.returncode == 0, (s, r.stderr)
        assert int(r.stdout.split()[0]) == want == parse_gogc(s), s


@pytest.mark.oracle
def test_parse_gomemlimit_against_go(env_oracle):
    for s, want in GOMEMLIMIT_CASES.items():
        r = env_oracle(gomemlimit=s)
        if want is None:
            assert r.returncode == 2, s
            assert f"GOMEMLIMIT={s}\n" in r.stderr
            assert ("fatal error: malformed GOMEMLIMIT; see `go doc runtime/debug.SetMemoryLimit`"
                    in r.stderr)
        else:
            assert r.returncode == 0, (s, r.stderr)
            assert int(r.stdout.split()[1]) == want, s


# --------------------------------------------------------------------------- heap goal

def test_initial_goal_and_first_trigger():
    p = Pacer()
    assert p.heap_goal(NO_LIMIT_MEM) == 4194304                 # NextGC before the first GC
    assert p.trigger(NO_LIMIT_MEM) == (3997696, 4194304)         # 4 MiB / 64 * 61
    assert p.trigger(NO_LIMIT_MEM)[0] == 4 * MiB * 61 // 64
    p.heap_live = 3997695
    assert not p.heap_live >= p.trigger(NO_LIMIT_MEM)[0]   # Go: gcTrigger.test (the heap's check point)
    p.heap_live = 3997696
    assert p.heap_live >= p.trigger(NO_LIMIT_MEM)[0]


# Appendix X3: (GOGC, heapMarked, stack, globals, NextGC), every row.
X3_ROWS = [
    (100, 77168, 8480, 158314, 4194304),
    (200, 86776, 8672, 158314, 8388608),
    (50, 86776, 8672, 158314, 2097152),
    (10, 86840, 8672, 158314, 1135416),
    (0, 86840, 8672, 158314, 1135416),
    (100, 24416528, 8464, 158314, 48999834),
    (200, 24417240, 8464, 158314, 73585276),
    (50, 24417240, 8464, 158314, 36709249),
    (10, 24417240, 8464, 158314, 26875641),
    (0, 24417304, 8464, 158314, 25465880),
]


@pytest.mark.parametrize("gogc,marked,stack,globals_,next_gc", X3_ROWS)
def test_x3_next_gc(gogc, marked, stack, globals_, next_gc):
    # debug.SetGCPercent(gogc) (sweep done), then runtime.GC() commits at mark termination
    # with the sweep still to do: the heapLive+1MiB floor applies.
    p = Pacer()
    assert p.set_gc_percent(gogc, sweep_done=True) == 100
    finish_gc(p, NO_LIMIT_MEM, marked, stack, globals_)
    assert p.heap_goal(NO_LIMIT_MEM) == next_gc
    formula = marked + (marked + stack + globals_) * gogc // 100
    assert next_gc == max(formula, 4 * MiB * gogc // 100, marked + MiB)


def test_x3_sequence_in_one_runtime():
    """The appendix ran all rows in one process: the state carries over correctly."""
    p = Pacer()
    for gogc, marked, stack, globals_, next_gc in X3_ROWS:
        p.set_gc_percent(gogc)
        finish_gc(p, NO_LIMIT_MEM, marked, stack, globals_)
        assert p.heap_goal(NO_LIMIT_MEM) == next_gc


def test_gogc_off_goal_is_memory_limit_goal():
    # Appendix X3: SetGCPercent(-1) after the GOGC=0 row; NextGC = 8946670875744364768.
    # Its formula g = MaxInt64 - nonHeap; g -= g/100*3 has the single solution
    # nonHeap = 4915224 (97*q + r = NextGC with 0 <= r < 100).
    non_heap = 4915224
    p = Pacer()
    p.set_gc_percent(0)
    finish_gc(p, NO_LIMIT_MEM, 24417304, 8464, 158314)
    assert p.set_gc_percent(-1) == 0
    assert p.gc_percent_heap_goal == MAX_UINT64
    mem = mem_with_non_heap(non_heap, heap_alloc=24417304, heap_free=2 * MiB)
    assert p.heap_goal(mem) == 8946670875744364768
    g = MAX_INT64 - non_heap
    assert p.heap_goal(mem) == g - g // 100 * 3
    assert round(p.heap_goal(mem) / MAX_INT64, 6) == 0.97


def test_x15_set_gc_percent_and_memory_limit():
    p = Pacer()
    mem = mem_with_non_heap(4012424)   # derived from X15's goal 8946670875745240484
    assert p.heap_goal(mem) == 4194304
    assert p.set_gc_percent(-1) == 100
    assert p.gc_percent == -1
    assert p.gc_percent & MAX_UINT64 == 18446744073709551615    # /gc/gogc:percent
    assert p.heap_goal(mem) == 8946670875745240484
    assert p.set_gc_percent(-7) == -1
    assert p.set_gc_percent(100) == -1
    assert p.set_memory_limit(-1) == MAX_INT64
    assert p.memory_limit == MAX_INT64
    assert p.set_memory_limit(1 << 30) == MAX_INT64
    assert p.set_memory_limit(-5) == 1 << 30
    assert p.memory_limit == 1 << 30


def test_set_gc_percent_int32_truncation():
    p = Pacer()
    p.set_gc_percent((1 << 32) + 50)
    assert p.gc_percent == 50
    p.set_gc_percent(1 << 31)           # int32(2^31) = -2^31 -> off
    assert p.gc_percent == -1


def test_memory_limit_40mib_row():
    # Appendix X3: GOGC=100, GOMEMLIMIT=40MiB, ~20 MiB live: NextGC 35899607. With
    # g = 40MiB - nonHeap and g - max(g/100*3, 1MiB) = 35899607, nonHeap = 4933136.
    p = Pacer()
    p.set_memory_limit(40 * MiB)
    marked = 24417304
    mem = mem_with_non_heap(4933136, heap_alloc=marked, heap_free=512 * 1024)
    finish_gc(p, mem, marked, 8464, 158314)
    assert p.gc_percent_heap_goal == marked + (marked + 8464 + 158314)   # ~48.8 MB
    assert p.heap_goal(mem) == 35899607
    assert p.memory_limit_heap_goal(mem) == 35899607
    # In the memory-limited regime the trigger ignores the sweep-distance floor.
    trig, goal = p.trigger(mem)
    assert goal == 35899607 and marked <= trig <= goal


def test_set_gc_percent_zero_after_gc_gives_heap_marked():
    p = Pacer()
    finish_gc(p, NO_LIMIT_MEM, 24416528, 8464, 158314)
    assert p.heap_goal(NO_LIMIT_MEM) == 48999834
    p.set_gc_percent(0, sweep_done=True)
    assert p.heap_goal(NO_LIMIT_MEM) == 24416528
    assert p.trigger(NO_LIMIT_MEM) == (24416528, 24416528)
    assert p.heap_live >= p.trigger(NO_LIMIT_MEM)[0]  # heapLive == heapMarked >= trigger


def test_set_gc_percent_zero_with_sweep_pending_keeps_floor():
    p = Pacer()
    finish_gc(p, NO_LIMIT_MEM, 24416528, 8464, 158314)
    p.set_gc_percent(0, sweep_done=False)
    assert p.heap_goal(NO_LIMIT_MEM) == 24416528 + MiB


def test_memory_limit_edge_cases():
    p = Pacer()
    finish_gc(p, NO_LIMIT_MEM, 10 * MiB, 0, 0)
    p.set_memory_limit(8 * MiB)
    # non-heap memory alone exceeds the limit: the goal is heapMarked
    assert p.memory_limit_heap_goal(mem_with_non_heap(9 * MiB)) == 10 * MiB
    # overage: 52 MiB mapped over a 40 MiB limit takes 12 MiB more off the goal:
    # 40 - (2 + 12) = 26 MiB, minus max(3 %, 1 MiB) headroom
    p.set_memory_limit(40 * MiB)
    mem = mem_with_non_heap(2 * MiB, heap_alloc=50 * MiB)
    assert p.memory_limit_heap_goal(mem) == 25 * MiB
    # small limit: headroom floor of 1 MiB; goal never below heapMarked
    p2 = Pacer()
    p2.set_memory_limit(3 * MiB)
    assert p2.memory_limit_heap_goal(mem_with_non_heap(MiB, heap_alloc=0)) == 1 * MiB
    assert p2.memory_limit_heap_goal(mem_with_non_heap(int(1.5 * MiB), heap_alloc=0)) == MiB
    with pytest.raises(ValueError):
        p2.memory_limit_heap_goal(MemoryState(mapped_ready=10, heap_free=6, heap_alloc=6))


def test_min_runway_during_cycle():
    p = Pacer()
    finish_gc(p, NO_LIMIT_MEM, 3 * MiB, 0, 0)
    p.set_gc_percent(0, sweep_done=True)          # goal = heapMarked = 3 MiB
    p.start_cycle(5 * MiB, now_ns=1)              # triggered late, far above the goal
    assert p.heap_goal(NO_LIMIT_MEM) == 5 * MiB + 64 * 1024
    p.reset_live(3 * MiB)
    assert p.heap_goal(NO_LIMIT_MEM) == 3 * MiB


def test_large_heap_max_trigger_is_goal_minus_4mib():
    p = Pacer()
    p.set_gc_percent(1000)
    finish_gc(p, NO_LIMIT_MEM, 100 * MiB, 0, 0)
    p.commit(sweep_done=True)
    goal = p.heap_goal(NO_LIMIT_MEM)
    assert goal == 1100 * MiB
    lo, hi, g = p.trigger_bounds(NO_LIMIT_MEM)
    assert hi == goal - 4 * MiB
    assert lo == 100 * MiB + (goal - 100 * MiB) // 64 * 45
    assert p.trigger(NO_LIMIT_MEM)[0] == goal - 4 * MiB      # consMark 0: no runway


def test_heap_minimum_uint64_wrap():
    p = Pacer(gc_percent=-1)
    assert p.heap_minimum == ((4 * MiB * MAX_UINT64) & MAX_UINT64) // 100
    assert p.gc_percent_heap_goal == MAX_UINT64
    assert Pacer(gc_percent=200).heap_minimum == 8 * MiB
    assert Pacer(gc_percent=0).heap_minimum == 0


# --------------------------------------------------------------------------- cons/mark

def test_go_model_stw_mark_measures_nothing():
    p = Pacer()
    mem = NO_LIMIT_MEM
    p.start_cycle(3997696, now_ns=1000)
    r = p.end_cycle(mem, 2000, heap_scan_work=1 * MiB, stack_scan_work=8000,
                    globals_scan_work=150000, mutator_ns=10**6, mark_cpu_ns=10**5)
    assert r is None and p.cons_mark == 0.0
    p.reset_live(2 * MiB)
    p.commit(sweep_done=False)
    assert p.runway == 0
    lo, hi, goal = p.trigger_bounds(mem)
    assert p.trigger(mem) == (hi, goal)


def test_go_model_concurrent_measurement_matches_go_formula():
    p = Pacer()
    p.start_cycle(4 * MiB, now_ns=0)
    r = p.end_cycle(NO_LIMIT_MEM, 1_000_000, 2, heap_scan_work=600_000, stack_scan_work=0,
                    globals_scan_work=0, assist_ns=100_000, idle_mark_ns=200_000,
                    heap_live=4 * MiB + 300_000)
    u = 0.25 + 100_000 / (1_000_000 * 2)
    idle = 200_000 / (1_000_000 * 2)
    assert r == pytest.approx(300_000 * (u + idle) / (600_000 * (1 - u)))
    assert p.last_utilization == pytest.approx(u)


def test_virtual_cost_model_and_history():
    p = Pacer(cons_mark_model="virtual-cost")
    mem = NO_LIMIT_MEM
    # 4 MiB allocated in 4 ms of mutator CPU; 1 MiB scan work in 1 ms of mark CPU -> 1.0
    p.start_cycle(4 * MiB, now_ns=0)
    r = p.end_cycle(mem, 0, heap_scan_work=MiB, stack_scan_work=0, globals_scan_work=0,
                    mutator_ns=4_000_000, mark_cpu_ns=1_000_000)
    assert r == pytest.approx(1.0)
    p.reset_live(2 * MiB)
    p.commit(sweep_done=False)
    assert p.runway == 3 * MiB                     # consMark * 0.75/0.25 * lastHeapScan
    trig, goal = p.trigger(mem)
    lo, hi, _ = p.trigger_bounds(mem)
    assert trig == max(lo, min(hi, goal - 3 * MiB))
    # A slower allocation rate is measured, but consMark keeps the max of the last 4.
    for _ in range(4):
        p.start_cycle(p.heap_live + MiB, now_ns=0)
        assert p.end_cycle(mem, 0, heap_scan_work=MiB, stack_scan_work=0, globals_scan_work=0,
                           mutator_ns=10_000_000, mark_cpu_ns=1_000_000) == pytest.approx(0.1)
        assert p.cons_mark == pytest.approx(1.0)
        p.reset_live(2 * MiB)
    # A mark that ran with the world stopped (runtime.GC, gcstoptheworld) measures
    # nothing, in this model as in Go's (endCycle returns early: heapLive cannot grow).
    p.start_cycle(p.heap_live + MiB, now_ns=0)
    assert p.end_cycle(mem, 0, heap_scan_work=MiB, stack_scan_work=0, globals_scan_work=0,
                       mutator_ns=10_000_000, mark_cpu_ns=1_000_000, world_stopped=True) is None
    assert p.cons_mark == pytest.approx(1.0) and p.last_cons_mark[-1] == pytest.approx(0.1)
    p.reset_live(2 * MiB)
    p.start_cycle(p.heap_live + MiB, now_ns=0)
    p.end_cycle(mem, 0, heap_scan_work=MiB, stack_scan_work=0, globals_scan_work=0,
                mutator_ns=10_000_000, mark_cpu_ns=1_000_000)
    assert p.cons_mark == pytest.approx(0.1)       # the 1.0 has aged out


def test_bad_cons_mark_model():
    with pytest.raises(ValueError):
        Pacer(cons_mark_model="psychic")


@settings(max_examples=400, deadline=None)
@given(
    gogc=st.one_of(st.integers(-5, 1000), st.just(-1)),
    marked=st.integers(0, 1 << 40),
    stack=st.integers(0, 1 << 24), globals_=st.integers(0, 1 << 24),
    cons_mark=st.floats(0, 1e6, allow_nan=False),
    limit=st.one_of(st.just(MAX_INT64), st.integers(0, 1 << 42)),
    non_heap=st.integers(0, 1 << 30), heap_alloc=st.integers(0, 1 << 41),
    heap_free=st.integers(0, 1 << 30),
    sweep_done=st.booleans(),
    live_extra=st.integers(0, 1 << 30),
    triggered=st.one_of(st.none(), st.integers(0, 1 << 41)),
)
def test_trigger_always_in_legal_band(gogc, marked, stack, globals_, cons_mark, limit, non_heap,
                                      heap_alloc, heap_free, sweep_done, live_extra, triggered):
    p = Pacer(gc_percent=gogc, memory_limit=limit)
    p.globals_scan = globals_
    p.last_stack_scan = stack
    p.last_heap_scan = marked // 2
    p.heap_marked = marked
    p.heap_live = marked + live_extra
    p.cons_mark = cons_mark
    p.commit(sweep_done=sweep_done)
    if triggered is not None:
        p.triggered = triggered
    mem = MemoryState(non_heap + heap_free + heap_alloc, heap_free, heap_alloc)
    trig, goal = p.trigger(mem)
    lo, hi, g = p.trigger_bounds(mem)
    assert g == goal == p.heap_goal(mem)
    assert trig <= goal
    if marked < goal:
        assert lo <= trig <= hi
        assert trig >= marked + (goal - marked) // 64 * 45
        assert trig >= marked
    else:
        assert trig == goal


# --------------------------------------------------------------------------- misc policy

@pytest.mark.parametrize("procs,dedicated,fractional", [
    (1, 0, 0.25), (2, 0, 0.25), (3, 0, 0.25), (4, 1, 0.0), (5, 1, 0.0), (6, 1, (1.5 - 1) / 6),
    (8, 2, 0.0), (16, 4, 0.0),
])
def test_mark_worker_split(procs, dedicated, fractional):
    p = Pacer()
    p.start_cycle(0, now_ns=0, procs=procs)
    assert p.dedicated_mark_workers_needed == dedicated
    assert p.fractional_utilization_goal == pytest.approx(fractional)


def test_periodic_trigger():
    p = Pacer()
    period = 120 * 10**9
    assert not p.time_trigger_test(now_ns=10**15, last_gc_nanotime=0)   # no GC yet
    assert not p.time_trigger_test(now_ns=5 + period, last_gc_nanotime=5)
    assert p.time_trigger_test(now_ns=6 + period, last_gc_nanotime=5)
    p.set_gc_percent(-1)
    assert not p.time_trigger_test(now_ns=10**15, last_gc_nanotime=5)
    p.start_cycle(0, 0, 2, kind=TRIGGER_TIME)
    assert p.max_idle_mark_workers == 1       # no dedicated worker at 2 Ps


def test_update_heap_scan_fixed_during_cycle():
    p = Pacer()
    p.update(1000, 400)
    assert (p.heap_live, p.heap_scan) == (1000, 400)
    p.start_cycle(p.heap_live, now_ns=0)
    p.update(1000, 400)
    assert (p.heap_live, p.heap_scan) == (2000, 400)


def test_sweep_pacing():
    p = Pacer()
    finish_gc(p, NO_LIMIT_MEM, 2 * MiB, 0, 0)
    trig, _ = p.trigger(NO_LIMIT_MEM)
    assert p.sweep_pages_per_byte(NO_LIMIT_MEM, 100, 0, sweep_done=True) == 0.0
    assert p.sweep_pages_per_byte(NO_LIMIT_MEM, 100, 100, sweep_done=False) == 0.0
    rate = p.sweep_pages_per_byte(NO_LIMIT_MEM, 100, 20, sweep_done=False)
    assert rate == pytest.approx(80 / (trig - 2 * MiB - MiB))


# --------------------------------------------------------------------------- scavenger

def test_scavenger_disabled_before_first_gc():
    gp, ml = gc_pace_scavenger(MAX_INT64, 4 * MiB, 0, 8 * MiB, 6 * MiB, 0)
    assert gp == MAX_UINT64 and ml == MAX_UINT64
    p = Pacer()
    p.pace_scavenger(NO_LIMIT_MEM)
    assert p.background_scavenge_bytes(NO_LIMIT_MEM) == 0


def test_scavenger_gc_percent_goal():
    # retain (1 + 10%) * lastHeapInUse * goal/lastGoal, rounded up to a 4 KiB page
    gp, _ = gc_pace_scavenger(MAX_INT64, 8 * MiB, 4 * MiB, 100 * MiB, 70 * MiB, 3 * MiB)
    want = 6 * MiB + 6 * MiB // 10
    want = (want + 4095) & ~4095
    assert gp == want
    # already within one physical page of the goal: no background work
    gp2, _ = gc_pace_scavenger(MAX_INT64, 8 * MiB, 4 * MiB, 100 * MiB, want + 4095, 3 * MiB)
    assert gp2 == MAX_UINT64


def test_scavenger_memory_limit_goal():
    limit = 100 * MiB
    _, ml = gc_pace_scavenger(limit, 4 * MiB, 4 * MiB, 96 * MiB, 0, 0)
    assert ml == int(float(limit) * 0.95)
    _, ml2 = gc_pace_scavenger(limit, 4 * MiB, 4 * MiB, 95 * MiB, 0, 0)
    assert ml2 == MAX_UINT64


def test_scavenge_byte_answers():
    p = Pacer()
    finish_gc(p, NO_LIMIT_MEM, 2 * MiB, 0, 0)
    p.last_heap_in_use = 3 * MiB
    p.last_heap_goal = 4 * MiB
    mem = MemoryState(mapped_ready=80 * MiB, heap_free=60 * MiB, heap_alloc=2 * MiB,
                      heap_inuse=3 * MiB)
    p.pace_scavenger(mem)
    goal = p.scav_gc_percent_goal
    assert goal != MAX_UINT64
    assert p.background_scavenge_bytes(mem) == mem.heap_retained - goal
    # heap growth while above the goal: scavenge min(growth, overage)
    assert p.alloc_scavenge_bytes(mem, scav=0, growth=MiB) == (MiB, False)
    # memory limit exceeded by paging in released memory: forced scavenge of the excess
    p.set_memory_limit(80 * MiB)
    assert p.alloc_scavenge_bytes(mem, scav=2 * MiB, growth=0) == (2 * MiB, True)
    assert p.alloc_scavenge_bytes(mem, scav=2 * MiB, growth=0, limiter_active=True) == (0, False)
    assert Pacer.free_os_memory_bytes(mem) == 60 * MiB


def test_from_env():
    from goruntime.runtime import Runtime          # Go: gcinit reads GOGC and GOMEMLIMIT
    p = Runtime.from_env({"GOGC": "50", "GOMEMLIMIT": "1GiB"}, arena_cap=64 << 20).pacer
    assert (p.gc_percent, p.memory_limit) == (50, 1 << 30)
    assert p.heap_goal(NO_LIMIT_MEM) == 2 * MiB
    with pytest.raises(FatalError):
        Runtime.from_env({"GOMEMLIMIT": "12XB"}, arena_cap=64 << 20)
