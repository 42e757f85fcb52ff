"""make bench worker: goruntime.heapdump on a real Go heap of N objects.

``python -m bench.heapdump_side N DUMP [BINARY]`` expects DUMP written by tests/go/heapdump
(``big N``: a binary tree of about N/2 nodes and a ring with chords of the rest) and prints
one JSON line: parse MB/s (the Cython parser alone, as load calls it: objects sorted into
their records, its filling pass on load's threads), load MB/s (parse, graph, placing every
object in a Runtime; ``threads``: how many threads load used), dominator-tree seconds (Cython Semi-NCA; igraph too when installed
and N <= 2M), why_alive seconds (first call, which runs the breadth-first search as far
as the object, and a second call), and with BINARY (the program, with its DWARF) the
seconds to read its DWARF and type the objects.
Each time is wall clock, and also this process's CPU time (``*_cpu``, all its threads): on
a shared machine the process may get a fraction of a core; ``loadavg`` is the machine's
1-minute load average before and after. The load's CPU time is also split into user and
kernel time (``load_user_s``, ``load_sys_s``): the kernel's part is mostly clearing the
fresh pages the load writes (its tables and the arena), which on this VM costs from
about 0.1 to 2.5 s per GiB depending on what the machine did just before.
"""
import json
import os
import sys
import time


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    n, path = int(argv[0]), argv[1]
    from goruntime import heapdump
    from goruntime.heapdump import _parse
    size = os.path.getsize(path)
    buf = heapdump._map(path)
    cpu = {}

    def timed(name, fn):
        t, c, o = time.perf_counter(), time.process_time(), os.times()
        r = fn()
        cpu[name] = time.process_time() - c
        e = os.times()
        cpu[name + "_user"], cpu[name + "_sys"] = e.user - o.user, e.system - o.system
        return r, time.perf_counter() - t

    threads = heapdump._auto_threads(size)
    load0 = os.getloadavg()[0]
    _, parse_s = timed("parse", lambda: _parse.parse(buf, sort_objects=True,
                                                     object_dtype=heapdump.OBJECT_DTYPE,
                                                     threads=threads))
    d, load_s = timed("load", lambda: heapdump.load(path))
    _, dom_s = timed("dominators", d.dominators)
    ig = None
    if n <= 2_000_000:
        try:
            import igraph  # noqa: F401
            t = time.perf_counter()
            d.dominators(engine="igraph")
            ig = time.perf_counter() - t
        except ImportError:
            pass
    far = int(d.objects["addr"][len(d) // 2])
    _, why1 = timed("why_alive_first", lambda: d.why_alive(far))
    t = time.perf_counter()
    d.why_alive(int(d.objects["addr"][len(d) // 3]))
    why2 = time.perf_counter() - t
    types_s = typed = None
    if len(argv) > 2:
        from goruntime.heapdump import _dwarf
        _, types_s = timed("types", lambda: d.type_objects(_dwarf.Program(argv[2])))
        typed = float((d.object_type >= 0).mean())
    print(json.dumps({"objects": len(d), "bytes": size, "parse_mb_s": size / parse_s / 1e6,
                      "load_mb_s": size / load_s / 1e6, "runtime_built": d.runtime is not None,
                      "dominators_s": dom_s, "igraph_dominators_s": ig,
                      "why_alive_first_s": why1, "why_alive_s": why2,
                      "parse_mb_s_cpu": size / cpu["parse"] / 1e6,
                      "load_mb_s_cpu": size / cpu["load"] / 1e6,
                      "load_s": load_s, "load_user_s": cpu["load_user"], "load_sys_s": cpu["load_sys"],
                      "dominators_s_cpu": cpu["dominators"],
                      "why_alive_first_s_cpu": cpu["why_alive_first"],
                      "types_s": types_s, "types_s_cpu": cpu.get("types"),
                      "typed_fraction": typed, "threads": threads,
                      "loadavg": [load0, os.getloadavg()[0]]}))


if __name__ == "__main__":
    main()
