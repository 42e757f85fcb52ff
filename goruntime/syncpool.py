"""sync.Pool on the emulated heap (Go: sync/pool.go, sync/poolqueue.go).

A `Pool` is a package-level ``var p sync.Pool``: the Pool struct itself is a global (a
root, not a heap object), and everything it caches lives on the heap as Go lays it out,
so the collector sees the cached values exactly as Go's does:

- the first Get or Put after a GC (``pinSlow``) allocates the per-P array
  ``make([]poolLocal, GOMAXPROCS)`` (128 bytes a P: ``private any``, the ``shared``
  chain's head and tail, padding) and appends the pool to the runtime's ``allPools``
  (a ``[]*Pool`` grown by append);
- ``Put`` fills the P's ``private`` slot, then pushes onto the shared chain: a
  ``poolChainElt`` (48 bytes) whose ring ``vals`` is ``make([]eface, 8)``, each full
  ring followed by one twice its size; ``Get`` takes ``private``, then pops the chain's
  head (newest first), then steals from the other Ps' tails, then the victim cache
  (its ``private``, then its tails, oldest first), then calls ``New``;
- at the start of every GC (``poolCleanup``, world stopped) each pool's victim cache is
  dropped and its primary cache becomes the victim: a cached object survives one cycle
  and is freed by the next unless a Get took it; ``oldPools`` keeps the previous
  ``allPools`` array alive one cycle more.

Get and Put run pinned to the P (Go: runtime_procPin, which holds ``m.locks``): no GC
starts and no assist runs during them (`Collector.locks`), so the allocations a pool makes
there (its poolLocal array, allPools, a ring) cannot move its cache to the victim half way;
a trigger that fires meanwhile starts its cycle at the next allocation after. They run
under `_signals.held`, so a Ctrl-C cannot cut a cache change in two either.

Simplified: every goroutine uses P 0's ``poolLocal`` (Go: the P it runs on; the same at
GOMAXPROCS=1), so stealing from other Ps finds nothing. That is the P a goroutine would
pin, not a shortcut past Go's rules: what a program can observe of a Pool is kept (each
value Put is returned by at most one Get, a cached value lives one GC as a victim and is
freed by the next, the poolLocal array has GOMAXPROCS entries); what differs at
GOMAXPROCS > 1 is only which Get receives which cached value and the rings of the other
Ps Go would allocate (at most one 48-byte poolChainElt and its ring each). A P per thread
would not be more faithful: the emulator's goroutines are not scheduled onto Ps (under
scheduler="threads" they are OS threads, many more than Ps). Because P 0 is shared,
Get and Put hold the world lock (`Runtime.world`) under scheduler="threads": in Go the
pinned P is the goroutine's alone, here two threads would otherwise take the same
``private`` value at once. A pool belongs to the runtime
current when it is made: it allocates there, whichever runtime is current when it is
used. A Pool cannot be copied or pickled (Go: a Pool must not be copied after first use;
a copy would share the poolLocal array that only the original is registered for).
"""
import weakref

from . import _signals, types as _types

__all__ = ["Pool", "Pools"]

_INIT_SIZE = 8                          # Go: poolChain.pushHead's initSize
_DEQUEUE_LIMIT = (1 << 32) // 4         # Go: dequeueLimit
_MASK32 = (1 << 32) - 1


def _types_():
    T = getattr(_types_, "T", None)
    if T is None:
        elt = _types.Struct("poolChainElt", package="sync", headTail=_types.Uint64,
                            vals=_types.Slice(_types.Any), next=_types.Ptr("sync.poolChainElt"),
                            prev=_types.Ptr("sync.poolChainElt"))
        local = _types.Struct("poolLocal", package="sync", private=_types.Any, head=_types.Ptr(elt),
                              tail=_types.Ptr(elt), pad=_types.Array(_types.Byte, 96))
        T = _types_.T = (local, elt)
    return T


class Pools:
    """A runtime's ``allPools`` and ``oldPools`` (Go: sync's globals, cleared by
    poolCleanup from clearpools at the start of every GC)."""

    rt = property(lambda self: self._rt())

    def __init__(self, rt):
        self._rt = weakref.ref(rt)
        self.all, self.all_arr = [], None       # pools, and the []*Pool array append grew
        self.old, self.old_arr = [], None

    def register(self, pool):
        """Go: pinSlow's ``allPools = append(allPools, p)``."""
        from .slice import append
        arr = self.all_arr if self.all_arr is not None else _types.Slice(_types.UnsafePointer)
        self.all_arr = append(self.rt, arr, (None,))
        self.all.append(pool)

    def cleanup(self):
        """Go: poolCleanup. Drop every victim cache, move each primary cache to the victim;
        the world is stopped (the handles dropped here are roots no longer)."""
        for p in self.old:
            p._victim, p._victim_size = None, 0
        for p in self.all:
            p._victim, p._victim_size = p._local, p._local_size
            p._local, p._local_size = None, 0
        self.old, self.old_arr = self.all, self.all_arr
        self.all, self.all_arr = [], None

    def clear(self):
        self.all, self.all_arr, self.old, self.old_arr = [], None, [], None


class Pool:
    """Go's ``sync.Pool``: ``p = rt.Pool(New=lambda: rt.new(T))``; ``x = p.Get()``,
    ``p.Put(x)``. Values are stored as Go's ``any`` (a pointer as itself, other values
    boxed as Go boxes them); Get returns what was stored, or ``New()``, or None."""

    def __init__(self, New=None):
        from .runtime import current
        self._rtref = weakref.ref(current())
        self.New = New
        self._local, self._local_size = None, 0      # Go: local, localSize
        self._victim, self._victim_size = None, 0    # Go: victim, victimSize

    @property
    def _rt(self):
        rt = self._rtref()
        if rt is None:
            raise RuntimeError("sync.Pool: its runtime is gone")
        return rt

    def __reduce__(self):
        raise TypeError("a sync.Pool cannot be copied or pickled (Go: a Pool must not be "
                        "copied after first use); make a new rt.Pool")

    def __copy__(self):
        self.__reduce__()

    def __deepcopy__(self, memo):
        self.__reduce__()

    # -- Go's methods -----------------------------------------------------------------
    def Put(self, x):
        """Go: Pool.Put. A nil x is ignored."""
        if x is None:
            return
        rt = self._rt
        with rt.world, _signals.held():     # P 0 is every goroutine's: one at a time
            c = rt.collector
            c.locks += 1                    # Go: pin (runtime_procPin)
            try:
                lo = self._pin(rt)
                if lo.private is None:
                    lo.private = x
                else:
                    self._push_head(rt, lo, x)
                lo = None
            finally:
                c.locks -= 1                # Go: runtime_procUnpin
        if rt.heap.gc_pending:              # a trigger that fired while pinned
            rt.collector.heap_triggered()

    def Get(self):
        """Go: Pool.Get."""
        rt = self._rt
        with rt.world, _signals.held():
            c = rt.collector
            c.locks += 1
            try:
                lo = self._pin(rt)
                x = lo.private
                lo.private = None
                if x is None:
                    x = self._pop_head(lo)
                    if x is None:
                        x = self._get_slow()
                lo = None
            finally:
                c.locks -= 1
        if rt.heap.gc_pending:
            rt.collector.heap_triggered()
        if x is None and self.New is not None:
            from .iface import as_interface
            x = as_interface(rt, self.New())     # Go: New is func() any (boxed at its return)
        return x

    put, get = Put, Get

    # -- the per-P caches ---------------------------------------------------------------
    def _pin(self, rt):
        """Go: pin / pinSlow. P 0's poolLocal, allocating the array after a GC."""
        if self._local_size > 0:
            return self._local[0]
        if self._local is None:
            rt.pools.register(self)
        local_t, _ = _types_()
        size = rt.gomaxprocs(0)                       # Go: runtime.GOMAXPROCS(0)
        self._local = rt.make(_types.Slice(local_t), size)
        self._local_size = size
        return self._local[0]

    def _get_slow(self):
        """Go: getSlow. Steal from the other Ps (none here: P 0 only), then the victim
        cache's private slot, then its chains' tails; an empty victim is marked so."""
        if self._victim_size == 0:
            return None
        lo = self._victim[0]
        x = lo.private
        if x is not None:
            lo.private = None
            return x
        for i in range(self._victim_size):
            x = self._pop_tail(self._victim[i])
            if x is not None:
                return x
        self._victim_size = 0
        return None

    # -- poolChain / poolDequeue ------------------------------------------------------
    @staticmethod
    def _new_elt(rt, size, prev=None):
        _, elt_t = _types_()
        d = rt.new(elt_t)
        d.vals = rt.make(_types.Slice(_types.Any), size)
        if prev is not None:
            d.prev = prev
        return d

    def _push_head(self, rt, lo, x):
        """Go: poolChain.pushHead: the head ring, a new ring of twice the size when full."""
        d = lo.head
        if d is None:
            d = self._new_elt(rt, _INIT_SIZE)
            lo.head = d
            lo.tail = d
        if _dq_push_head(d, x):
            return
        d2 = self._new_elt(rt, min(len(d.vals) * 2, _DEQUEUE_LIMIT), prev=d)
        lo.head = d2
        d.next = d2
        _dq_push_head(d2, x)

    @staticmethod
    def _pop_head(lo):
        """Go: poolChain.popHead: newest first, backing up through earlier rings."""
        d = lo.head
        while d is not None:
            x = _dq_pop_head(d)
            if x is not None:
                return x
            d = d.prev
        return None

    @staticmethod
    def _pop_tail(lo):
        """Go: poolChain.popTail: oldest first; a drained tail ring is unlinked."""
        d = lo.tail
        if d is None:
            return None
        while True:
            d2 = d.next
            x = _dq_pop_tail(d)
            if x is not None:
                return x
            if d2 is None:
                return None
            lo.tail = d2
            d2.prev = None
            d = d2


def _unpack(d):
    ht = d.headTail
    return (ht >> 32) & _MASK32, ht & _MASK32


def _dq_push_head(d, x):
    """Go: poolDequeue.pushHead; False when the ring is full."""
    head, tail = _unpack(d)
    vals = d.vals
    n = len(vals)
    if (tail + n) & _MASK32 == head:
        return False
    vals[head & (n - 1)] = x
    d.headTail = (((head + 1) & _MASK32) << 32) | tail
    return True


def _dq_pop_head(d):
    head, tail = _unpack(d)
    if tail == head:
        return None
    head = (head - 1) & _MASK32
    vals = d.vals
    i = head & (len(vals) - 1)
    x = vals[i]
    vals[i] = None
    d.headTail = (head << 32) | tail
    return x


def _dq_pop_tail(d):
    head, tail = _unpack(d)
    if tail == head:
        return None
    vals = d.vals
    i = tail & (len(vals) - 1)
    x = vals[i]
    vals[i] = None
    d.headTail = (head << 32) | ((tail + 1) & _MASK32)
    return x
