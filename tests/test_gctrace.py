"""gctrace / gcpacertrace / scavtrace formatting and parsing (spec §7, Appendix X1, X2).

Go's number formatting is checked three ways: the spec's examples, every real line of the
appendices re-formatted from its parsed fields, and (when ``go`` is on PATH) Go's own
``itoaDiv``/``fmtNSAsMS`` source and runtime ``print`` run by the real toolchain.
"""
import os
import re
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, strategies as st

from goruntime.gctrace import (
    GC_FORCED_LINE, GCTRACE_RE, fmt_ns_as_ms, format_gctrace, format_go_float,
    format_pacertrace_end, format_pacertrace_start, format_scavtrace, itoa_div, parse_gctrace,
)

US = 1000
MS = 1000 * US

X1_LINES = """\
gc 1 @0.001s 11%: 0.20+0.82+0.004 ms clock, 0.40+0.43/0.11/0.076+0.008 ms cpu, 3->4->0 MB, 4 MB goal, 0 MB stacks, 0 MB globals, 2 P
gc 2 @0.004s 7%: 0.091+2.5+0.002 ms clock, 0.18+0.37/0.022/0.093+0.005 ms cpu, 3->5->2 MB, 4 MB goal, 0 MB stacks, 0 MB globals, 2 P
gc 3 @0.008s 4%: 0.069+7.3+0.017 ms clock, 0.13+0.16/0.083/1.8+0.035 ms cpu, 5->12->8 MB, 6 MB goal, 0 MB stacks, 0 MB globals, 2 P
gc 4 @0.018s 7%: 0.076+5.6+0.19 ms clock, 0.15+0.031/2.0/1.4+0.39 ms cpu, 14->18->7 MB, 16 MB goal, 0 MB stacks, 0 MB globals, 2 P
gc 5 @0.027s 8%: 0.11+2.3+0.002 ms clock, 0.22+0/1.0/2.1+0.005 ms cpu, 12->12->3 MB, 14 MB goal, 0 MB stacks, 0 MB globals, 2 P
gc 6 @0.030s 8%: 0.22+2.1+0.003 ms clock, 0.44+0/0.72/1.3+0.006 ms cpu, 3->3->3 MB, 7 MB goal, 0 MB stacks, 0 MB globals, 2 P (forced)
gc 1 @0.013s 3%: 0.18+4.0+0.006 ms clock, 0.37+0/1.0/4.7+0.012 ms cpu, 34->34->3 MB, 8532210231536 MB goal, 0 MB stacks, 0 MB globals, 2 P (forced)
gc 1 @0.000s 32%: 1.5+0.40+0.011 ms clock, 3.1+0.23/0/0+0.022 ms cpu, 1->2->0 MB, 2 MB goal, 0 MB stacks, 0 MB globals, 2 P
gc 2 @0.003s 23%: 0.12+0.58+0.002 ms clock, 0.25+0.15/0.054/0.074+0.004 ms cpu, 1->2->0 MB, 2 MB goal, 0 MB stacks, 0 MB globals, 2 P
gc 3 @0.004s 21%: 0.16+0.60+0.002 ms clock, 0.33+0.042/0.22/0.064+0.004 ms cpu, 1->2->0 MB, 2 MB goal, 0 MB stacks, 0 MB globals, 2 P
gc 25 @0.055s 16%: 0.17+1.5+0.002 ms clock, 0.35+0.62/0.55/0+0.004 ms cpu, 4->5->3 MB, 5 MB goal, 0 MB stacks, 0 MB globals, 2 P
gc 26 @0.057s 17%: 0.071+2.0+0.001 ms clock, 0.14+0/1.3/2.1+0.003 ms cpu, 3->3->3 MB, 5 MB goal, 0 MB stacks, 0 MB globals, 2 P (forced)
gc 1 @0.000s 2%: 0.009+0.19+0.004 ms clock, 0.019+0/0.045/0.17+0.008 ms cpu, 0->0->0 MB, 4 MB goal, 0 MB stacks, 0 MB globals, 2 P (forced)
gc 2 @120.065s 0%: 1.2+0.81+0.003 ms clock, 2.5+0/1.1/0+0.006 ms cpu, 0->0->0 MB, 4 MB goal, 0 MB stacks, 0 MB globals, 2 P
""".splitlines()


@pytest.mark.parametrize("ns,want", [
    (72 * US, "0.072"), (140 * US, "0.14"), (2600 * US, "2.6"), (3 * US, "0.003"),
    (15 * MS, "15"), (120 * MS, "120"), (10 * MS, "10"), (10 * MS - 1, "9.9"),
    (999, "0"), (0, "0"), (1 * US, "0.001"), (99 * US, "0.099"), (100 * US, "0.10"),
    (999 * US, "0.99"), (1 * MS, "1.0"), (1234567, "1.2"), (9999 * US, "9.9"),
    (12_345_678_901, "12345"), (-1, "18446744073709"),       # uint64(-1) ns
])
def test_fmt_ns_as_ms(ns, want):
    assert fmt_ns_as_ms(ns) == want


@pytest.mark.parametrize("val,dec,want", [
    (3, 3, "0.003"), (0, 3, "0.000"), (120065, 3, "120.065"), (1, 3, "0.001"),
    (72, 3, "0.072"), (14, 2, "0.14"), (26, 1, "2.6"), (15, 0, "15"), (5, 0, "05"),
    (123456789, 3, "123456.789"),
])
def test_itoa_div(val, dec, want):
    assert itoa_div(val, dec) == want


def _ns(ms_text):
    return int(Decimal(ms_text) * MS)


@pytest.mark.parametrize("line", X1_LINES)
def test_real_lines_parse_and_reformat(line):
    assert GCTRACE_RE.match(line)
    d = parse_gctrace(line)
    again = format_gctrace(
        d["n"], d["start_ms"] * MS, d["cpu_percent"],
        [_ns(x) for x in d["clock"]], [_ns(x) for x in d["cpu"]],
        d["heap0_mb"] << 20, d["heap1_mb"] << 20, d["heap2_mb"] << 20, d["goal_mb"] << 20,
        d["stacks_mb"] << 20, d["globals_mb"] << 20, d["procs"], d["forced"])
    assert again == line


def test_parse_fields():
    d = parse_gctrace(X1_LINES[2] + "\n")
    assert d["n"] == 3 and d["start_ms"] == 8 and d["cpu_percent"] == 4
    assert d["clock"] == ("0.069", "7.3", "0.017")
    assert d["clock_ms"] == (0.069, 7.3, 0.017)
    assert d["cpu"] == ("0.13", "0.16", "0.083", "1.8", "0.035")
    assert (d["heap0_mb"], d["heap1_mb"], d["heap2_mb"], d["goal_mb"]) == (5, 12, 8, 6)
    assert (d["procs"], d["forced"], d["leak_check"]) == (2, False, False)
    off = parse_gctrace(X1_LINES[6])
    assert off["goal_mb"] == 8532210231536 and off["forced"]
    periodic = parse_gctrace(X1_LINES[-1])
    assert periodic["start_ms"] == 120065 and not periodic["forced"]


def test_not_a_gctrace_line():
    for bad in (GC_FORCED_LINE, "", "gc 1 @0.001s 11%", X1_LINES[0] + " extra"):
        assert GCTRACE_RE.match(bad) is None
        with pytest.raises(ValueError):
            parse_gctrace(bad)


def test_format_from_bytes_and_ns():
    line = format_gctrace(
        n=1, start_ns=1_234_567, cpu_percent=int(0.1175 * 100),
        clock_ns=(203_456, 822_000, 4_100), cpu_ns=(406_912, 430_000, 110_000, 76_000, 8_200),
        heap0=3_997_696, heap1=4_390_000, heap2=300_000, goal=4_194_304, stacks=8_464,
        globals_=158_314, procs=2)
    assert line == X1_LINES[0]
    off_goal = 8946670875715141788 >> 20
    assert format_gctrace(1, 0, 0, (0, 0, 0), (0,) * 5, 0, 0, 0, 8946670875715141788, 0, 0, 1,
                          forced=True).endswith(f"{off_goal} MB goal, 0 MB stacks, 0 MB globals, 1 P (forced)")
    leak = format_gctrace(7, 0, 5, (0, 0, 0), (0,) * 5, 0, 0, 0, 0, 0, 0, 4, leak_check=True)
    assert leak.startswith("gc 7 @0.000s 5% (checking for goroutine leaks): ")
    assert parse_gctrace(leak)["leak_check"]


@given(st.integers(0, 1 << 40), st.integers(0, 1 << 64 - 1), st.booleans())
def test_format_parse_roundtrip(ns, heap, forced):
    line = format_gctrace(3, ns, 12, (ns, ns // 7, ns // 3), (ns,) * 5, heap, heap, heap, heap,
                          heap, heap, 8, forced)
    d = parse_gctrace(line)
    assert d["start_ms"] == ns // MS and d["heap2_mb"] == heap >> 20 and d["forced"] == forced
    assert d["clock"][0] == fmt_ns_as_ms(ns)


# ----------------------------------------------------------------------------- Go oracle

def _go():
    go = shutil.which("go")
    if go is None:
        pytest.skip("go not on PATH")
    return go


def _go_run(tmp_path, src):
    go = _go()
    (tmp_path / "main.go").write_text(src)
    (tmp_path / "go.mod").write_text("module oracle\n\ngo 1.27\n")
    env = {**os.environ, "GOTOOLCHAIN": "local"}
    r = subprocess.run([go, "run", "."], cwd=tmp_path, env=env, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    return r.stdout, r.stderr


@pytest.mark.oracle
def test_fmt_functions_against_go_source(tmp_path):
    go = _go()
    goroot = subprocess.run([go, "env", "GOROOT"], capture_output=True, text=True,
                            env={**os.environ, "GOTOOLCHAIN": "local"}).stdout.strip()
    src = (Path(goroot) / "src/runtime/mgc.go").read_text()
    funcs = []
    for name in ("itoaDiv", "fmtNSAsMS"):
        m = re.search(r"^func %s\(.*?^}\n" % name, src, re.S | re.M)
        funcs.append(m.group(0))
    values = [0, 1, 999, 1000, 3000, 72000, 99999, 100000, 140000, 999999, 1000000, 2600000,
              9999999, 10000000, 10000001, 123456789, 120065000000, 5, 77777777777]
    values += [7 ** k for k in range(1, 22)]
    prog = "package main\n\nimport \"fmt\"\n\n" + "\n".join(funcs) + """
func main() {
	var buf, buf2 [24]byte
	for _, v := range []uint64{%s} {
		fmt.Println(string(fmtNSAsMS(buf[:], v)), string(itoaDiv(buf2[:], v/1000000, 3)))
	}
}
""" % ", ".join(map(str, values))
    out, _ = _go_run(tmp_path, prog)
    want = out.splitlines()
    got = [f"{fmt_ns_as_ms(v)} {itoa_div(v // 1000000, 3)}" for v in values]
    assert got == want


@pytest.mark.oracle
def test_pacertrace_and_floats_against_go_print(tmp_path):
    floats = [0.0, 1.0, 0.25, 0.1, 1.5e-05, 0.0001, 0.00012345, 123456.0, 1234567.0, 1e21,
              1e-07, 3.0000000000000004, 2.5e300, -7.25, 100.0, 1e6, 999999.5,
              0.3333333333333333, 5e-324, 1.7976931348623157e308, 12345.678, 0.0625,
              0.7214335476, 2.220446049250313e-16]
    fl = ", ".join(repr(f) for f in floats)
    prog = """package main

func main() {
	for _, v := range []float64{%s} {
		println(v)
	}
	var assistRatio = 0.7214335476
	var heapScan, initialHeapLive, heapGoal uint64 = 5 << 20, 3997696, 4194304
	var dedicated int64 = 0
	var fractional = 0.25
	print("pacer: assist ratio=", assistRatio,
		" (scan ", heapScan>>20, " MB in ",
		initialHeapLive>>20, "->",
		heapGoal>>20, " MB)",
		" workers=", dedicated,
		"+", fractional, "\\n")
	utilization := 0.3125
	goal := 0.25 * 100
	var hw, sw, gw int64 = 1234567, 8464, 158314
	var exp uint64 = 1300000
	var triggered, live, lastHeapGoal uint64 = 3997696, 4390000, 4194304
	oldConsMark := 0.0
	print("pacer: ", int(utilization*100), "%% CPU (", int(goal), " exp.) for ")
	print(hw, "+", sw, "+", gw, " B work (", exp, " B exp.) ")
	print("in ", triggered, " B -> ", live, " B (∆goal ", int64(live)-int64(lastHeapGoal), ", cons/mark ", oldConsMark, ")")
	println()
}
""" % fl
    _, err = _go_run(tmp_path, prog)
    lines = err.splitlines()
    assert lines[:len(floats)] == [format_go_float(f) for f in floats]
    assert lines[len(floats)] == format_pacertrace_start(0.7214335476, 5 << 20, 3997696, 4194304, 0, 0.25)
    assert lines[len(floats) + 1] == format_pacertrace_end(0.3125, 1234567, 8464, 158314, 1300000,
                                                           3997696, 4390000, 4194304, 0.0)


def test_format_go_float_specials():
    assert format_go_float(float("nan")) == "NaN"
    assert format_go_float(float("inf")) == "+Inf"
    assert format_go_float(float("-inf")) == "-Inf"
    assert format_go_float(-0.0) == "-0"
    assert format_go_float(1234567.0) == "1.234567e+06"
    assert format_go_float(1e-5) == "1e-05"
    assert format_go_float(1e100) == "1e+100"


def test_pacertrace_negative_delta():
    line = format_pacertrace_end(0.25, 1, 2, 3, 6, 100, 200, 300, 1.5)
    assert line == "pacer: 25% CPU (25 exp.) for 1+2+3 B work (6 B exp.) in 100 B -> 200 B (∆goal -100, cons/mark 1.5)"


def test_scavtrace():
    assert format_scavtrace(64 << 10, 0, 3596288, 303104, 303104 + 32768) == \
        "scav 64 KiB work (bg), 0 KiB work (eager), 3512 KiB now, 90% util"
    assert format_scavtrace(0, 0, 70705152, 303104, 303104, forced=True).endswith(
        "69048 KiB now, 100% util (forced)")
    assert format_scavtrace(0, 0, 0, 1, 2, controller_reset=True).endswith(" [controller reset]")
