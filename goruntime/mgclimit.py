"""The GC CPU limiter (Go: gcCPULimiter, src/runtime/mgclimit.go).

A leaky bucket that fills with GC CPU time and drains with mutator time. Its capacity is
one CPU-second per P (``capacityPerProc``); when it is full the limiter is *enabled*:
Go then stops mark assists (and allocation-time scavenging), so that GC CPU stays at
about 50 % at most when the memory limit cannot be met (a death spiral otherwise). The
bucket never goes negative, so idle time builds no credit. ``/gc/limiter/last-enabled:
gc-cycle`` is the cycle during which it last turned on (``NumGC + 1`` at that moment).

This is Go's state machine on plain integers, driven by the runtime's clock:

- ``start_gc_transition(enable_gc, now)`` / ``finish_gc_transition(now)`` bracket each
  stop-the-world phase (Go: gcStart with ``true``, gcMarkTermination with ``false``):
  the window up to the STW is flushed, the STW itself counts as GC time on every P;
- ``add_assist_time`` / ``add_idle_time`` feed the pools (mark assists; idle Ps and idle
  mark workers, which are taken out of the total);
- ``update(now)`` (Go: from the pacer's revise and from assists, at most every 10 ms:
  ``need_update``) drains the pools: GC time is the assist time plus, while the GC is
  marking, ``gcBackgroundUtilization`` (25 %) of the window; the rest, minus idle time,
  is mutator time; ``accumulate`` moves the bucket;
- ``reset_capacity(now, nprocs)`` when GOMAXPROCS changes (Go: procresize).

Go's per-P in-flight limiter events (an assist still running when the window closes) do
not exist here: the emulator reports assist and idle time when they are over.
"""
from __future__ import annotations

__all__ = ["GCCPULimiter", "CAPACITY_PER_PROC", "UPDATE_PERIOD"]

CAPACITY_PER_PROC = 1_000_000_000    # capacityPerProc: 1 CPU-second per P
UPDATE_PERIOD = 10_000_000           # gcCPULimiterUpdatePeriod: 10 ms
GC_BACKGROUND_UTILIZATION = 0.25     # gcBackgroundUtilization (mgcpacer.go)


class GCCPULimiter:
    """Go's gcCPULimiterState: the bucket, the enabled flag and the time pools.

    Raises ``RuntimeError`` with Go's throw message where Go throws (a transition to the
    state the GC is already in, finishing a transition never started, an update during a
    transition).
    """

    def __init__(self, now: int = 0, nprocs: int = 1):
        self.enabled = False
        self.gc_enabled = False           # Go: gcEnabled, the copy of gcBlackenEnabled
        self.transitioning = False
        self.fill = 0
        self.capacity = 0
        self.overflow = 0                 # GC time that found the bucket full
        self.assist_time_pool = 0
        self.idle_time_pool = 0
        self.last_update = now
        self.last_enabled_cycle = 0       # /gc/limiter/last-enabled:gc-cycle
        self.nprocs = 0
        self.num_gc = 0                   # memstats.numgc, kept current by the runtime
        self.reset_capacity(now, nprocs)

    def limiting(self) -> bool:
        """True while the limiter is enabled: the GC should not assist (Go: limiting)."""
        return self.enabled

    def start_gc_transition(self, enable_gc: bool, now: int) -> None:
        """A stop-the-world GC transition begins (Go: startGCTransition)."""
        if self.transitioning:
            raise RuntimeError("failed to acquire lock to start a GC transition")
        if self.gc_enabled == enable_gc:
            raise RuntimeError("transitioning GC to the same state as before?")
        self._update_locked(now)
        self.gc_enabled = enable_gc
        self.transitioning = True

    def finish_gc_transition(self, now: int) -> None:
        """The transition's STW is over: it counts as GC time on every P (Go:
        finishGCTransition; *now* is the end of the pause)."""
        if not self.transitioning:
            raise RuntimeError("finishGCTransition called without starting one?")
        if now >= self.last_update:
            self.accumulate(0, (now - self.last_update) * self.nprocs)
        self.last_update = now
        self.transitioning = False

    def need_update(self, now: int) -> bool:
        """More than 10 ms since the last update (Go: needUpdate)."""
        return now - self.last_update > UPDATE_PERIOD

    def add_assist_time(self, t: int) -> None:
        """Mark assist time, counted as GC time at the next update (Go: addAssistTime)."""
        self.assist_time_pool += int(t)

    def add_idle_time(self, t: int) -> None:
        """Idle P or idle mark worker time, taken out of the total at the next update."""
        self.idle_time_pool += int(t)

    def update(self, now: int) -> None:
        """Bring the bucket up to *now* (Go: update)."""
        if self.transitioning:
            raise RuntimeError("update during transition")
        self._update_locked(now)

    def _update_locked(self, now: int) -> None:
        if now < self.last_update:
            return
        window_total = (now - self.last_update) * self.nprocs
        self.last_update = now
        assist, self.assist_time_pool = self.assist_time_pool, 0
        idle, self.idle_time_pool = self.idle_time_pool, 0
        window_gc = assist
        if self.gc_enabled:
            window_gc += int(float(window_total) * GC_BACKGROUND_UTILIZATION)
        window_total -= idle
        self.accumulate(window_total - window_gc, window_gc)

    def accumulate(self, mutator_time: int, gc_time: int) -> None:
        """Fill the bucket with GC time and drain it with mutator time (Go: accumulate)."""
        headroom = self.capacity - self.fill
        enabled = headroom == 0
        change = gc_time - mutator_time
        if change > 0 and headroom <= change:
            self.overflow += change - headroom
            self.fill = self.capacity
            if not enabled:
                self.enabled = True
                self.last_enabled_cycle = self.num_gc + 1
            return
        if change < 0 and self.fill <= -change:
            self.fill = 0
        else:
            self.fill -= -change
        if change != 0 and enabled:
            self.enabled = False

    def reset_capacity(self, now: int, nprocs: int) -> None:
        """GOMAXPROCS changed: capacity = nprocs CPU-seconds (Go: resetCapacity)."""
        self._update_locked(now)
        self.nprocs = nprocs
        self.capacity = nprocs * CAPACITY_PER_PROC
        if self.fill > self.capacity:
            self.fill = self.capacity
            self.enabled = True
            self.last_enabled_cycle = self.num_gc + 1
        elif self.fill < self.capacity:
            self.enabled = False

    def __repr__(self):
        return (f"GCCPULimiter(fill={self.fill}, capacity={self.capacity}, "
                f"enabled={self.enabled}, last_enabled_cycle={self.last_enabled_cycle})")
