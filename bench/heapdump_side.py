"""make bench worker: goruntime.heapdump on a real Go heap of N objects.

``python -m bench.heapdump_side N DUMP`` expects DUMP written by tests/go/heapdump
(``big N``: a binary tree of about N/2 nodes and a ring with chords of the rest) and prints
one JSON line: parse MB/s (the Cython parser alone), load MB/s (parse, graph, placing every
object in a Runtime), dominator-tree seconds (Cython Semi-NCA; igraph too when installed
and N <= 2M), why_alive seconds (first call, which runs the BFS, and a second call).
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
    t = time.perf_counter()
    _parse.parse(buf)
    parse_s = time.perf_counter() - t
    t = time.perf_counter()
    d = heapdump.load(path, build_runtime=n <= 2_000_000)
    load_s = time.perf_counter() - t
    t = time.perf_counter()
    d.dominators()
    dom_s = time.perf_counter() - t
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
    t = time.perf_counter()
    d.why_alive(far)
    why1 = time.perf_counter() - t
    t = time.perf_counter()
    d.why_alive(int(d.objects["addr"][len(d) // 3]))
    why2 = time.perf_counter() - t
    print(json.dumps({"objects": len(d), "bytes": size, "parse_mb_s": size / parse_s / 1e6,
                      "load_mb_s": size / load_s / 1e6, "runtime_built": d.runtime is not None,
                      "dominators_s": dom_s, "igraph_dominators_s": ig,
                      "why_alive_first_s": why1, "why_alive_s": why2}))


if __name__ == "__main__":
    main()
