// Package report is the instrumentation the workload programs share: the process CPU
// clock and the one JSON line that tests/test_workloads.py and bench/ (`python3 -m
// bench`) read after the programs' own output lines.
package report

import (
	"encoding/json"
	"fmt"
	"runtime"
	"syscall"
	"time"
)

// CPUTime is the process's user+system CPU time (getrusage), in ns: every thread, so the
// GC's background workers count. The Rusage stays on the stack, so calling it inside a
// measured window allocates nothing.
func CPUTime() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// Print writes the MemStats deltas from before to after, the wall time and the CPU time
// of the workload as one JSON object on its own line.
func Print(before, after *runtime.MemStats, wall time.Duration, cpuNs int64) {
	out, _ := json.Marshal(map[string]any{
		"Mallocs":      after.Mallocs - before.Mallocs,
		"Frees":        after.Frees - before.Frees,
		"TotalAlloc":   after.TotalAlloc - before.TotalAlloc,
		"NumGC":        after.NumGC - before.NumGC,
		"NumForcedGC":  after.NumForcedGC - before.NumForcedGC,
		"PauseTotalNs": after.PauseTotalNs - before.PauseTotalNs,
		"wall_ns":      wall.Nanoseconds(),
		"cpu_ns":       cpuNs,
	})
	fmt.Println(string(out))
}
