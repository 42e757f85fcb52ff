"""What the Python benchmark workers (goruntime_side, cpython_side) share."""
import argparse
import json
import os
import sys
import time


FIELD_PASSES = 5


def field_timings(p, q, n, s=None, passes=FIELD_PASSES):
    """Thread-CPU ns of *n* int reads, int writes, pointer reads, pointer stores on *p* (``x`` an
    int field, ``a`` a pointer field; *q* the pointee), of *n* element reads and writes of
    the int sequence *s* (a ``[]int`` slice; CPython: a list), and of the empty loop: each
    the least of *passes* passes (timeit's rule: a loop of a few ms is only ever slowed by
    what else the machine does, so the fastest pass is its cost), the same on every side."""
    res = {}
    for _ in range(passes):
        for k, v in _field_pass(p, q, n, s).items():
            res[k] = min(v, res.get(k, v))
    return res


def _field_pass(p, q, n, s):
    res = {}
    if s is not None:
        t = time.thread_time_ns()
        for _ in range(n):
            s[3]
        res["read_elem_ns"] = time.thread_time_ns() - t
        t = time.thread_time_ns()
        for i in range(n):
            s[3] = i
        res["write_elem_ns"] = time.thread_time_ns() - t
    t = time.thread_time_ns()
    for _ in range(n):
        p.x
    res["read_int_ns"] = time.thread_time_ns() - t
    t = time.thread_time_ns()
    for i in range(n):
        p.x = i
    res["write_int_ns"] = time.thread_time_ns() - t
    t = time.thread_time_ns()
    for _ in range(n):
        p.a
    res["read_ptr_ns"] = time.thread_time_ns() - t
    t = time.thread_time_ns()
    for _ in range(n):
        p.a = q
    res["write_ptr_ns"] = time.thread_time_ns() - t
    t = time.thread_time_ns()
    for _ in range(n):
        pass
    res["loop_ns"] = time.thread_time_ns() - t
    return res


def main(prog, commands, namespace, argv=None, warm=1, shapes=None, depth=False):
    """Parse the worker's arguments, run ``cmd_<name>`` from *namespace*, print its JSON."""
    ap = argparse.ArgumentParser(prog=prog)
    ap.add_argument("cmd", choices=commands)
    ap.add_argument("--shape", choices=shapes, default="list")
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--warm", type=int, default=warm)
    ap.add_argument("--seed", type=int, default=1)
    if depth:
        ap.add_argument("--depth", type=int, default=18)
    args = ap.parse_args(argv)
    res = namespace["cmd_" + args.cmd](args)
    sys.stdout.write(json.dumps(res) + "\n")
    sys.stdout.flush()
    os._exit(0)          # skip tearing down millions of objects
