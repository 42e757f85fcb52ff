"""Model-based test: random programs against a small pure-Python model of Go's GC rules.

Each step is one Go statement (allocate, store a pointer, drop a local, SetFinalizer,
AddCleanup, weak.Make, runtime.GC, runtime.Gosched), or a step of a concurrent mark
(a heap-triggered cycle starts, workers drain some of its work, it terminates); the other
steps run while such a cycle is open, so stores go through the write barrier and new
objects are allocated black. The reference model knows only
reachability and the finalizer/cleanup/weak rules of spec 3.4, 3.7, 5 and 6:

- at a GC, objects reachable from the locals and from queued finalizers survive; for
  every unreachable object with a finalizer, what it points to is kept (not itself);
- an unreachable object with a finalizer is revived, its finalizer queued and its weak
  pointers cleared; one without is freed: weak pointers cleared, cleanups queued;
- queued finalizers and cleanups run at the next scheduling point.

After every step the emulator must agree with the model: no reachable object is ever
freed or altered (every object carries a value written at allocation), weak pointers
are nil exactly when the model says the object is gone, the same finalizers and
cleanups ran, the counters satisfy spec 2.3, and checkmark agrees (gccheckmark=1).
"""
from collections import Counter

import pytest
from hypothesis import settings, strategies as st, HealthCheck
from hypothesis.stateful import RuleBasedStateMachine, rule, invariant, precondition

import goruntime as rt
from goruntime import weak
from gocheck import check_invariants

# Pointerful types only: tiny objects share 16-byte blocks, a rule the model leaves out.
T1 = rt.Struct("MNode1", a=rt.Ptr("MNode1"), v=rt.Int)
T2 = rt.Struct("MNode2", a=rt.Ptr("MNode1"), b=rt.Ptr("MNode1"), v=rt.Int, pad=rt.Array(rt.Int64, 3))
TYPES = [T1, T2]


class GCModel(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.rt = rt.Runtime(godebug="gccheckmark=1", arena_cap=512 << 20)
        self.rt.__enter__()
        self.next_id = 0
        self.objs = {}          # id -> model record
        self.locals = {}        # id -> handle (Python locals = Go stack roots)
        self.weaks = {}         # id -> weak.Pointer made at allocation
        self.finq = []          # ids whose finalizer is queued, not run
        self.ran_fin = []       # emulator: finalizers that ran (ids)
        self.ran_cleanup = []   # emulator: cleanups that ran (ids)
        self.model_fin = []     # model: finalizers that must have run
        self.model_cleanup = []
        self.cleanupq = []      # model: queued cleanups
        self.cleanup_late = []  # model: queued by runtime.GC's sweep; may run after it returns
        self.open = None        # an open concurrent cycle: what it must keep (see _observe)

    def teardown(self):
        self.locals.clear()
        self.rt.__exit__(None, None, None)
        self.rt.close()

    # -- the model ---------------------------------------------------------------------
    def _closure(self, start, skip_self=None):
        seen = set()
        stack = list(start)
        while stack:
            i = stack.pop()
            if i is None or i in seen or i not in self.objs or self.objs[i]["freed"]:
                continue
            seen.add(i)
            stack.extend(self.objs[i]["ptrs"].values())
        return seen

    def _model_gc(self, keep=None, extra=()):
        """One cycle. *keep*: the ids a concurrent cycle marked whatever the roots are now
        (`_observe`); None: a forced cycle, from the locals, the finalizer queue and
        *extra* roots."""
        roots = set(self.locals) | set(self.finq) | set(extra) if keep is None else keep
        reach = self._closure(roots)
        for i, o in self.objs.items():          # finalizer objects: keep their referents
            if not o["freed"] and o["fin"] and i not in reach:
                reach |= self._closure([t for t in o["ptrs"].values() if t != i])
        for i, o in sorted(self.objs.items()):
            if o["freed"] or i in reach:
                continue
            o["weak_nil"] = True
            if o["fin"]:
                o["fin"] = False
                self.finq.append(i)
            else:
                o["freed"] = True
                self.cleanupq.extend(o["cleanups"])
                o["cleanups"] = []

    def _ran_queued(self):
        """The finalizer goroutine ran every queued finalizer, the cleanup goroutine every
        cleanup (a scheduling point)."""
        self.model_fin.extend(reversed(self.finq))
        self.finq = []
        self.model_cleanup.extend(self.cleanup_late + self.cleanupq)
        self.cleanup_late = []
        self.cleanupq = []

    # -- an open concurrent cycle: what Go's hybrid barrier makes it keep ----------------
    def _observe(self):
        """After a step of an open cycle: the stacks (locals), the finalizer queue and the
        finalizer objects' referents are marked when the first drain scans the roots; a
        cycle marks what was reachable then, everything allocated since, what the write
        barrier shaded and what weak.Value handed out (it shades)."""
        r = rt.current()
        if self.open is None or not r.gc_running:
            return
        m = r.collector.mark
        if not self.open["roots"] and m is not None and m.roots_done:
            self._snapshot_roots()

    def _snapshot_roots(self):
        keep = self.open["keep"]
        self.open["roots"] = True
        keep |= self._closure(set(self.locals) | set(self.finq))
        for i, o in self.objs.items():          # markrootSpans: finalizer objects' referents
            if not o["freed"] and o["fin"]:
                keep |= self._closure([t for t in o["ptrs"].values() if t != i])

    def _shade(self, *ids):
        """Marked by the open cycle (allocated black, shaded by the barrier or weak.Value);
        also when the step's own assist just ended the cycle: the object is not freed."""
        if self.open is not None:
            self.open["keep"].update(i for i in ids if i is not None)

    def _cycle_ended(self):
        """If the open concurrent cycle terminated (its work ran out at an allocation or
        a scheduling point, or runtime.GC finished it), apply its outcome to the model."""
        if self.open is None or rt.current().gc_running:
            return False
        if not self.open["roots"]:
            self._snapshot_roots()              # the roots were scanned by the last drain
        keep, self.open = self.open["keep"], None
        self._model_gc(keep=keep)
        return True

    # -- rules -------------------------------------------------------------------------
    @rule(t=st.integers(0, len(TYPES) - 1))
    def allocate(self, t):
        i = self.next_id
        self.next_id += 1
        p = rt.new(TYPES[t])
        p.v = 1000 + i
        self.objs[i] = {"type": TYPES[t], "ptrs": {}, "fin": False, "cleanups": [],
                        "freed": False, "weak_nil": False}
        self.locals[i] = p
        self.weaks[i] = weak.Make(p)
        self._shade(i)                          # allocated black

    @precondition(lambda self: self.locals)
    @rule(data=st.data())
    def store(self, data):
        src = data.draw(st.sampled_from(sorted(self.locals)))
        fields = ["a"] if self.objs[src]["type"] is T1 else ["a", "b"]
        f = data.draw(st.sampled_from(fields))
        dst = data.draw(st.sampled_from([None] + sorted(self.locals)))
        if dst is not None and self.objs[dst]["type"] is not T1:
            # A *MNode2 is not a *MNode1: Go's compiler refuses; the field stays as it was.
            with pytest.raises(TypeError, match=r"cannot use x \(variable of type \*MNode2\) as \*MNode1"):
                setattr(self.locals[src], f, self.locals[dst])
            return
        setattr(self.locals[src], f, None if dst is None else self.locals[dst])
        self._shade(self.objs[src]["ptrs"].get(f), dst)     # the hybrid barrier
        self.objs[src]["ptrs"][f] = dst

    @precondition(lambda self: self.locals)
    @rule(data=st.data())
    def drop(self, data):
        i = data.draw(st.sampled_from(sorted(self.locals)))
        del self.locals[i]

    @precondition(lambda self: self.locals)
    @rule()
    def return_from_function(self):
        """All locals go out of scope at once (the common way objects become garbage)."""
        self.locals.clear()

    @precondition(lambda self: self.locals)
    @rule(data=st.data(), fin=st.booleans())
    def allocate_linked(self, data, fin):
        """q := &MNode1{a: p}, maybe with a finalizer: builds chains and finalizer graphs."""
        j = data.draw(st.sampled_from(sorted(k for k in self.locals)))
        self.allocate(0)
        i = self.next_id - 1
        if self.objs[j]["type"] is T1:
            self.locals[i].a = self.locals[j]
            self._shade(j)
            self.objs[i]["ptrs"]["a"] = j
        if fin:
            ran = self.ran_fin
            rt.SetFinalizer(self.locals[i], lambda p, i=i: ran.append(i))
            self.objs[i]["fin"] = True

    @precondition(lambda self: self.locals)
    @rule(data=st.data())
    def load(self, data):
        """Read a pointer field into a new local (Go: q := p.a)."""
        i = data.draw(st.sampled_from(sorted(self.locals)))
        q = self.locals[i].a
        j = self.objs[i]["ptrs"].get("a")
        assert (q is None) == (j is None)
        if q is not None:
            assert q.v == 1000 + j
            self.locals[j] = q

    @precondition(lambda self: any(not self.objs[i]["fin"] for i in self.locals))
    @rule(data=st.data())
    def set_finalizer(self, data):
        i = data.draw(st.sampled_from(sorted(k for k in self.locals if not self.objs[k]["fin"])))
        ran = self.ran_fin
        rt.SetFinalizer(self.locals[i], lambda p, i=i: ran.append(i))
        self.objs[i]["fin"] = True

    @precondition(lambda self: self.locals)
    @rule(data=st.data())
    def add_cleanup(self, data):
        i = data.draw(st.sampled_from(sorted(self.locals)))
        ran = self.ran_cleanup
        rt.AddCleanup(self.locals[i], ran.append, i)
        self.objs[i]["cleanups"].append(i)

    @rule()
    def gc(self):
        """runtime.GC: an open cycle is finished first; the caller parks while the forced
        cycle's mark runs, so runnable finalizer and cleanup goroutines run before its
        roots are read (the first drain); then its caller yields between swept spans
        (sweepone; Gosched), so what its own sweep queues runs before it returns."""
        pre = rt.current().sched.runnable_count() > 0
        queued = list(self.finq)
        rt.GC()
        self._cycle_ended()
        if pre:
            self._ran_queued()
        # the finalizer queue is a root as the first drain finds it (Go: markroot job 0)
        before = len(self.cleanupq)
        self._model_gc(extra=[] if pre else queued)
        swept = self.cleanupq[before:]
        self._ran_queued()
        # the cleanups this cycle's sweep queued may run only after runtime.GC returns
        # (Go wakes the cleanup goroutine behind its caller: mspecial.flush_runs_in_gc,
        # measured in tests/test_cleanups.py); they run at the next scheduling point
        for i in swept:
            self.model_cleanup.remove(i)
        self.cleanup_late = swept

    # -- the concurrent mark (issue 16): a cycle open across the steps above ------------
    @precondition(lambda self: not rt.current().gc_running)
    @rule()
    def start_concurrent_cycle(self):
        """A heap-triggered cycle starts: its mark runs while the next steps allocate
        (black), store pointers (through the write barrier), drop locals and Gosched."""
        rt.current().gc(kind="heap")
        # the special roots (the finalizer queue) are read by the first drain; nothing
        # runs the finalizer goroutine before it in these steps (a Gosched ends the cycle
        # or drains first), so the queue at mark start is what it reads
        self.open = {"keep": self._closure(self.finq), "roots": False}
        self._observe()

    @precondition(lambda self: rt.current().gc_running)
    @rule(budget=st.sampled_from([1, 64, 4096, 1 << 20]))
    def mark_work(self, budget):
        """A worker or an assist drains *budget* bytes of scan work."""
        r = rt.current()
        with r.world:
            r.collector.mark.drain(budget, 0, 1)
        self._observe()

    @precondition(lambda self: rt.current().gc_running)
    @rule()
    def finish_concurrent_cycle(self):
        """Mark termination (checkmark: everything reachable is marked), then a forced
        cycle, which collects the concurrent cycle's floating garbage."""
        rt.current().finish_cycle()
        self._cycle_ended()
        self.gc()

    @rule()
    def gosched(self):
        rt.Gosched()
        # a scheduling point during a mark: the fractional worker may end the cycle first
        self._cycle_ended()
        self._ran_queued()

    # -- checks --------------------------------------------------------------------------
    @invariant()
    def agrees_with_model(self):
        self._observe()
        self._cycle_ended()                     # an allocation's assist may have ended it
        for i, p in self.locals.items():
            assert p.v == 1000 + i, "a reachable object was altered or freed"
        for i, w in self.weaks.items():
            assert (w.Value() is None) == self.objs[i]["weak_nil"], f"weak pointer of object {i}"
            if not self.objs[i]["weak_nil"]:
                self._shade(i)                  # weak.Value shades during a mark
        assert sorted(self.ran_fin) == sorted(self.model_fin)
        ran, must = Counter(self.ran_cleanup), Counter(self.model_cleanup)
        assert not must - ran, "a cleanup the model ran did not run"
        assert not ran - must - Counter(self.cleanup_late), "a cleanup ran that the model did not queue"
        check_invariants(rt.ReadMemStats())


GCModel.TestCase.settings = settings(
    max_examples=200, stateful_step_count=25, deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
test_gc_model = GCModel.TestCase


@pytest.mark.slow
def test_gc_model_long():
    """More and longer programs (make test-slow)."""
    from hypothesis.stateful import run_state_machine_as_test
    run_state_machine_as_test(GCModel, settings=settings(
        max_examples=2000, stateful_step_count=60, deadline=None, database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))
