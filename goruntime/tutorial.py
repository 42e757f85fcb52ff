"""The seed tutorial "GC and SetFinalizer", in motion (``python -m goruntime demo``).

Each step runs on a fresh, isolated `goruntime.Runtime` (GOGC=100, GOMAXPROCS=1, virtual
clock, cooperative scheduler) and is printed as one line: the Go it stands for, then what
happened, with the numbers read back from the emulator (``ReadMemStats``, the addresses it
handed out, the goroutine the finalizer ran on). Nothing is hard-coded: if the emulator
changed its mind, the text would say so (and `tests/test_cli.py` would notice).

The story (spec §5.2, §5.3; Go's ``runtime.SetFinalizer`` documentation):

1. MemStats before anything is allocated;
2. ``new(Node)`` -- a 16-byte pointerful object in size class 2;
3. ``SetFinalizer`` -- an off-heap record, no heap allocation;
4. drop the last reference, ``GC()`` -- the object is found unreachable, its finalizer is
   *queued* and the object revived for one more cycle (HeapObjects does not drop); with
   one P the finalizer goroutine has already run it when ``GC()`` returns: runtime.GC
   sweeps span by span and yields between spans (Go 1.27.3 does: tests/oracle scenario
   ``fin_runs_before_gc_returns``);
5. ``Gosched()`` -- nothing is left to run: the finalizer ran during step 4;
6. ``GC()`` -- now it is freed (Frees + 1);
7. resurrection -- a finalizer that stores its argument makes the object reachable again;
8. ... it no longer has a finalizer, so the next GC after it is dropped frees it silently;
9-12. a chain A -> B, both with finalizers: GC 1 runs A's (B is kept alive as A's
   referent), GC 2 frees A and runs B's, GC 3 frees B.

`run` returns a `Transcript` (the lines and the facts behind them) so tests and notebooks
can check the claims rather than the wording.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field

from ._display import fmt_bytes, fmt_ns, time_note

__all__ = ["run", "Transcript", "NODE_DECL"]

NODE_DECL = "type Node struct { next *Node; id int }"


@dataclass
class Transcript:
    """What the demo printed, and the numbers it printed them from."""
    lines: list = field(default_factory=list)
    facts: dict = field(default_factory=dict)
    finalizer_runs: list = field(default_factory=list)   # (name, NumGC when it ran, goroutine)

    def text(self):
        return "\n".join(self.lines)


class _Printer:
    def __init__(self, out, transcript, width):
        self.out, self.t, self.width, self.n = out, transcript, width, 0

    def line(self, s=""):
        self.t.lines.append(s)
        if self.out is not None:
            print(s, file=self.out)

    def step(self, code, text):
        self.n += 1
        self.line(f"{self.n:>2}. {code:<{self.width}} {text}")

    def heading(self, s):
        self.line("")
        self.line(f"-- {s} --")


def run(out=sys.stdout, *, width=44) -> Transcript:
    """Run the tutorial, printing to *out* (None: silent); return the `Transcript`."""
    import goruntime as rt
    from ._version import __version__

    t = Transcript()
    p = _Printer(out, t, width)
    Node = rt.Struct("Node", next=rt.Ptr("Node"), id=rt.Int)
    info = rt.sizeclass(Node)

    with rt.Runtime(gogc=100, gomaxprocs=1) as r:
        def stats():
            return rt.ReadMemStats()

        def on_fing(name):
            g = r.sched.current()
            where = f"goroutine {g.id} ({g.name})" if g is not None else "?"
            t.finalizer_runs.append((name, r.gc_record.num_gc, where))
            return where

        p.line(f"GC and SetFinalizer: Go 1.27's memory manager, emulated (goruntime {__version__})")
        p.line(f"{NODE_DECL}: {Node.size} bytes, size class {info.sizeclass} "
               f"({info.slot}-byte slots), has pointers, so never tiny-allocated")
        p.heading("a finalizer runs after the GC that finds its object unreachable")

        m0 = stats()
        t.facts["before"] = m0
        p.step("var m MemStats; ReadMemStats(&m)",
               f"Alloc={fmt_bytes(m0.Alloc)}, Mallocs={m0.Mallocs}, NumGC={m0.NumGC}, "
               f"NextGC={fmt_bytes(m0.NextGC)}: a fresh heap.")

        a = rt.new(Node)
        a.id = 7
        addr_a = a.addr
        m1 = stats()
        t.facts.update(addr_a=addr_a, alloc_after_new=m1.Alloc)
        p.step("a := new(Node); a.id = 7",
               f"one object at {addr_a:#x}: Alloc {fmt_bytes(m0.Alloc)} -> {fmt_bytes(m1.Alloc)}, "
               f"Mallocs {m0.Mallocs} -> {m1.Mallocs}, HeapObjects={m1.HeapObjects}.")

        def fin(n):
            where = on_fing("a")
            t.facts["finalized_id"] = n.id
            t.facts["finalized_addr"] = n.addr
            t.facts["fing"] = where

        rt.SetFinalizer(a, fin)
        m2 = stats()
        p.step("SetFinalizer(a, fin)",
               f"an off-heap record: Alloc still {fmt_bytes(m2.Alloc)}, Mallocs still "
               f"{m2.Mallocs}; nothing has run.")

        a = None
        rt.GC()
        m3 = stats()
        t.facts.update(after_gc1=m3, runs_after_gc1=len(t.finalizer_runs))
        ran = len(t.finalizer_runs)
        p.step("a = nil; runtime.GC()",
               f"NumGC {m2.NumGC} -> {m3.NumGC}: unreachable, so the finalizer is queued "
               f"and the object revived: HeapObjects={m3.HeapObjects}, Alloc={fmt_bytes(m3.Alloc)}; "
               + (f"{ran} finalizer call{'s' if ran != 1 else ''} already: runtime.GC sweeps span "
                  f"by span and yields between spans, so the finalizer goroutine ran before it "
                  f"returned." if ran else "not run yet (0 calls so far).")
               + (f" The other {fmt_bytes(m3.Alloc - m2.Alloc)} is the finalizer goroutine's call frame "
                  f"(Go's runfinq allocates it at its first finalizer call and keeps it)."
                  if m3.Mallocs > m2.Mallocs else ""))

        rt.Gosched()
        fr = t.finalizer_runs[-1] if t.finalizer_runs else ("-", 0, "?")
        p.step("runtime.Gosched()",
               f"the finalizer ran on {fr[2]}, after GC {fr[1]}: "
               f"fin(&Node{{id: {t.facts.get('finalized_id')}}}) at {t.facts.get('finalized_addr', 0):#x}"
               + (" (during step 4: nothing was left for Gosched)." if ran else "."))

        rt.GC()
        m4 = stats()
        t.facts["after_gc2"] = m4
        p.step("runtime.GC()",
               f"NumGC {m3.NumGC} -> {m4.NumGC}: no finalizer left, so it is freed now: "
               f"Alloc {fmt_bytes(m3.Alloc)} -> {fmt_bytes(m4.Alloc)}, Frees {m3.Frees} -> {m4.Frees}.")

        p.heading("resurrection: the finalizer may store its argument")
        saved = []

        def save(n):
            on_fing("b")
            saved.append(n)

        b = rt.new(Node)
        b.id = 8
        addr_b = b.addr
        rt.SetFinalizer(b, save)
        b = None
        rt.GC()
        rt.Gosched()
        m5 = stats()
        t.facts.update(addr_b=addr_b, resurrected=bool(saved) and saved[0].addr == addr_b,
                       after_resurrection=m5)
        reuse = " (the slot a had: freed slots are reused)" if addr_b == addr_a else ""
        p.step("b := new(Node); SetFinalizer(b, save)",
               f"save(x) does `saved = x`; b is at {addr_b:#x}{reuse}.")
        p.step("b = nil; GC(); Gosched()",
               f"NumGC -> {m5.NumGC}: save ran and stored it, so the object is reachable "
               f"again: HeapObjects={m5.HeapObjects}, id={saved[0].id if saved else '?'}.")
        calls_b = sum(1 for x in t.finalizer_runs if x[0] == "b")
        saved.clear()
        rt.GC()
        rt.Gosched()
        m6 = stats()
        calls_b2 = sum(1 for x in t.finalizer_runs if x[0] == "b")
        t.facts.update(after_drop_resurrected=m6, resurrected_calls=calls_b2)
        p.step("saved = nil; GC()",
               f"NumGC {m5.NumGC} -> {m6.NumGC}: it has no finalizer any more, so it is freed "
               f"silently: Frees {m5.Frees} -> {m6.Frees}, finalizer calls {calls_b} -> {calls_b2}.")

        p.heading("a chain A -> B: one finalizer per cycle, A's first")
        A = rt.new(Node)
        B = rt.new(Node)
        A.id, B.id = 1, 2
        A.next = B
        rt.SetFinalizer(A, lambda n: on_fing("A"))
        rt.SetFinalizer(B, lambda n: on_fing("B"))
        A = B = None
        m7 = stats()
        p.step("A.next = B; both get finalizers; A, B = nil",
               f"two unreachable objects, A pointing to B: HeapObjects={m7.HeapObjects}, "
               f"NumGC={m7.NumGC}.")
        chain = []
        for k in range(3):
            rt.GC()
            rt.Gosched()
            m = stats()
            ran = [x[0] for x in t.finalizer_runs if x[1] == m.NumGC and x[0] in "AB"]
            chain.append((m.NumGC, ran, m.HeapObjects))
            expect = (["A"], ["B"], [])[k]
            did = ", ".join(ran) or "none"
            if ran != expect:        # say so rather than tell Go's story over other numbers
                text = (f"GC {m.NumGC}: finalizers ran: {did}; Go runs "
                        f"{', '.join(expect) or 'none'} here (spec 5.3): HeapObjects={m.HeapObjects}.")
            elif k == 0:
                text = (f"GC {m.NumGC}: only A's finalizer ran ({did}); B stays alive as A's "
                        f"referent: HeapObjects={m.HeapObjects}.")
            elif k == 1:
                text = (f"GC {m.NumGC}: A freed, now B is unreachable: B's finalizer ran ({did}): "
                        f"HeapObjects={m.HeapObjects}.")
            else:
                text = (f"GC {m.NumGC}: B freed, no finalizer ran ({did}): "
                        f"HeapObjects={m.HeapObjects}, Alloc={fmt_bytes(m.Alloc)}.")
            p.step("GC(); Gosched()", text)
        t.facts["chain"] = chain

        m8 = stats()
        t.facts["after"] = m8
        last = m8.PauseNs[(m8.NumGC + 255) % 256]
        p.heading("MemStats after")
        p.line(f"    before: Alloc={fmt_bytes(m0.Alloc)}, TotalAlloc={fmt_bytes(m0.TotalAlloc)}, "
               f"Mallocs={m0.Mallocs}, Frees={m0.Frees}, NumGC={m0.NumGC}")
        p.line(f"    after:  Alloc={fmt_bytes(m8.Alloc)}, TotalAlloc={fmt_bytes(m8.TotalAlloc)}, "
               f"Mallocs={m8.Mallocs}, Frees={m8.Frees}, NumGC={m8.NumGC} "
               f"({m8.NumForcedGC} forced), PauseTotalNs={m8.PauseTotalNs} "
               f"({fmt_ns(m8.PauseTotalNs)}, last {fmt_ns(last)})")
        p.line(f"    {time_note(r.clock, instants=False)}")
    return t
