"""Goroutine stacks: their memory (StackInuse/StackSys) and their scan work (Go: stack.go).

Go 1.27 gives a new goroutine a stack of ``startingStackSize`` bytes (2 KiB, or what
``adaptivestackstart`` last chose) and grows it by copying to twice the size whenever a
call needs more than the stack minus its guard. Stacks below 32 KiB come from the stack
pool: 32 KiB spans (``_StackCacheSize``) cut into stacks of one order (2, 4, 8, 16 KiB),
handed out through each P's stack cache; larger stacks get their own span. A goroutine
that exits keeps its stack on its P's free-G list (up to 64 Gs, the rest move 32 at a
time to the global list), the next ``go`` reuses it, and a GC frees the stacks of the
global list (``markrootFreeGStacks``). The mark scans every live goroutine's stack from
its stack pointer to the top (``scanstack``: ``/gc/scan/stack:bytes``, an input of the
heap goal); at mark termination the average scanned size sets the next starting size
(``gcComputeStartingStackSize``: roundup2(average + stackGuard)).

What goruntime models, and how:

- a goroutine's stack *use* is what it has on its stack while blocked (its frames, from
  the goroutine's function down to gopark): the ``stack=`` argument of ``rt.go`` (bytes;
  default `DEFAULT_FRAME_BYTES`, what Go 1.27.3 scans for a goroutine blocked in a
  channel operation in a one-frame function). Its stack size is the starting size,
  doubled until use + guard fits (Go grows the stack by copying; the smaller stack is
  freed to the pool, which is not modelled as a separate step);
- Go's own goroutines and the main goroutine are the baseline: `BASE_STACK_INUSE` bytes of
  stack spans and `BASE_STACK_SCAN` bytes scanned (measured at GOMAXPROCS=1: a plain
  ``main`` calling ``runtime.GC()`` and Go's 6 system goroutines), `BASE_FREE_STACKS`
  order-0 stacks free in the P's stack cache;
- spans per order are counted from the stacks held (live goroutines and free Gs), never
  below what is held; StackSys equals StackInuse (no cgo: no OS-allocated stacks).

Measured against Go 1.27.3 (oracle scenario ``goroutine_stacks``): StackInuse, StackSys,
``/gc/scan/stack:bytes`` and ``/gc/stack/starting-size:bytes`` for 1, 100 and 10000
goroutines blocked on a channel with a pointer on their stacks, at two stack depths.
"""
from __future__ import annotations

__all__ = ["Stacks", "FIXED_STACK", "STACK_GUARD", "DEFAULT_FRAME_BYTES", "BASE_STACK_INUSE",
           "BASE_STACK_SCAN", "BASE_STACKS", "MAX_STACK_SIZE"]

FIXED_STACK = 2048                 # Go: fixedStack (linux/amd64), the default starting size
STACK_GUARD = 928                  # Go: stackGuard = stackNosplit + stackSystem + abi.StackSmall
STACK_CACHE_SIZE = 32 << 10        # Go: _StackCacheSize: one pool span
NUM_STACK_ORDERS = 4               # Go: _NumStackOrders: 2, 4, 8, 16 KiB from the pool
MAX_STACK_SIZE = 1_000_000_000     # Go: maxstacksize on 64-bit (1 GB; "stack exceeds" fatal)
P_FREE_G_MAX = 64                  # Go: gfput moves Gs to the global list past 64 ...
P_FREE_G_KEEP = 32                 # ... until 32 are left on the P

DEFAULT_FRAME_BYTES = 432          # scanned per goroutine blocked in <-ch in a one-frame function
BASE_STACK_INUSE = 256 << 10       # Go's runtime goroutines and main, GOMAXPROCS=1
BASE_STACK_SCAN = 1848             # their scanned bytes at idle
BASE_STACKS = 7                    # stacks BASE_STACK_SCAN counts (main + 6 system goroutines)
BASE_FREE_STACKS = 8               # order-0 stacks left in the P's stack cache (half a refill)


def _roundup2(n: int) -> int:
    return 1 << max(0, (n - 1).bit_length())


class Stacks:
    """The stacks of one runtime's goroutines (Go: stackpool, stackcache, gFree)."""

    def __init__(self, adaptive: bool = True):
        self.adaptive = adaptive                 # GODEBUG=adaptivestackstart (default 1)
        self.starting_size = FIXED_STACK         # Go: startingStackSize
        self.live: dict[int, tuple[object, int, int]] = {}   # goid -> (goroutine, size, use)
        self.p_free: list[int] = []              # sizes of stacks on the P's free-G list
        self.global_free: list[int] = []         # ... on the global free-G list (freed at GC)
        self.held_spans = [0] * NUM_STACK_ORDERS # pool spans in use per order (high water)
        self.large_bytes = 0                     # stacks >= 32 KiB (own spans)
        self.last_scan = BASE_STACK_SCAN         # bytes scanned by the last mark
        self.counts = [0] * NUM_STACK_ORDERS     # pool stacks held per order
        self.large = 0                           # bytes of held stacks >= 32 KiB

    # -- goroutine lifetime --------------------------------------------------------------
    def stack_size(self, use: int) -> int:
        """The stack a goroutine using *use* bytes ends up with (starting size, doubled)."""
        size = self.starting_size
        while use + STACK_GUARD > size:
            size *= 2
        return size

    def check_use(self, use: int | None) -> tuple[int, int]:
        """``(use, size)`` of a goroutine using *use* bytes of stack (None: the default);
        ValueError past Go's limit. `Runtime.go` calls it before anything is queued."""
        use = DEFAULT_FRAME_BYTES if use is None else int(use)
        if use < 0:
            raise ValueError(f"go: stack use must be >= 0 bytes, not {use}")
        size = self.stack_size(use) if use <= MAX_STACK_SIZE else MAX_STACK_SIZE + 1
        if size > MAX_STACK_SIZE:
            raise ValueError(f"go: stack of {use} bytes exceeds the {MAX_STACK_SIZE}-byte limit")
        return use, size

    def newproc(self, g, use: int | None = None) -> None:
        """``go f()``: a new goroutine reuses a free G's stack or takes one from the pool."""
        use, size = self.check_use(use)
        if not self.p_free and self.global_free:            # Go: gfget refills from global
            take = min(P_FREE_G_KEEP, len(self.global_free))
            self.p_free.extend(self.global_free[-take:])
            del self.global_free[-take:]
        if self.p_free:
            self._hold(self.p_free.pop(), -1)    # its stack is reused, or freed as it grows
        self.live[g.id] = (g, size, use)
        self._hold(size, 1)
        self._account()

    def reap(self) -> None:
        """Free the stacks of goroutines that have exited (normally done by `exit`)."""
        for g in [g for g, _, _ in self.live.values() if getattr(g, "done", False)]:
            self.exit(g)

    def exit(self, g) -> None:
        """A goroutine exited: its G and stack go on the P's free-G list (Go: gfput)."""
        entry = self.live.pop(g.id, None)
        if entry is None or entry[0] is not g:
            return
        size = entry[1]
        if size == self.starting_size:           # Go keeps only starting-size stacks
            self.p_free.append(size)
        else:
            self._hold(size, -1)                 # Go: stackfree
        if len(self.p_free) >= P_FREE_G_MAX:
            while len(self.p_free) >= P_FREE_G_KEEP:
                self.global_free.append(self.p_free.pop())

    def _hold(self, size: int, k: int) -> None:
        """Count *k* (+1/-1) stacks of *size* bytes as held (live or on a free-G list)."""
        order = (size // FIXED_STACK).bit_length() - 1
        if order < NUM_STACK_ORDERS:
            self.counts[order] += k
        else:
            self.large += k * size

    def _held_by_order(self):
        return list(self.counts), self.large

    def _account(self) -> None:
        counts, large = self._held_by_order()
        for order, n in enumerate(counts):
            per_span = STACK_CACHE_SIZE // (FIXED_STACK << order)
            if order == 0:
                n = max(0, n - BASE_FREE_STACKS)
            self.held_spans[order] = max(self.held_spans[order], -(-n // per_span))
        self.large_bytes = large

    # -- the GC ----------------------------------------------------------------------------
    def scan(self) -> tuple[int, int]:
        """The mark's stack scan: ``(bytes, stacks)`` of every live goroutine (Go: scanstack)."""
        use = sum(u for _, _, u in self.live.values())
        return BASE_STACK_SCAN + use, BASE_STACKS + len(self.live)

    def scan_jobs(self) -> list[int]:
        """The stack scan as Go's markroot jobs: one per goroutine, in allgs order (main and
        the runtime's goroutines first, sharing `BASE_STACK_SCAN`, then the program's in
        the order they were made); sums to ``scan()[0]``."""
        base = [BASE_STACK_SCAN // BASE_STACKS] * BASE_STACKS
        base[0] += BASE_STACK_SCAN - sum(base)
        return base + [u for _, _, u in self.live.values()]

    def mark_termination(self, scanned: int, nstacks: int) -> None:
        """Record the scan; free the global free-G stacks (markrootFreeGStacks) and the pool
        spans no stack holds any more; pick the next starting size (adaptivestackstart)."""
        self.last_scan = scanned
        for size in self.global_free:            # Go: markrootFreeGStacks
            self._hold(size, -1)
        self.global_free.clear()
        counts, large = self._held_by_order()
        for order, n in enumerate(counts):
            per_span = STACK_CACHE_SIZE // (FIXED_STACK << order)
            if order == 0:
                n = max(0, n - BASE_FREE_STACKS)
            self.held_spans[order] = -(-n // per_span)
        self.large_bytes = large
        if self.adaptive and nstacks:
            avg = scanned // nstacks
            self.starting_size = min(max(_roundup2(avg + STACK_GUARD), FIXED_STACK), MAX_STACK_SIZE)

    # -- statistics ------------------------------------------------------------------------
    def inuse(self) -> int:
        """StackInuse: bytes in stack spans (Go: memstats inStacks)."""
        self._account()
        return BASE_STACK_INUSE + sum(self.held_spans) * STACK_CACHE_SIZE + self.large_bytes

    def scannable(self) -> int:
        """Go: gcController.maxStackScan -- allocated stack bytes of live goroutines."""
        return BASE_STACKS * FIXED_STACK + sum(s for _, s, _ in self.live.values())
