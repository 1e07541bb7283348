//go:build unix

package customer

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time (user + system) the process has used: the
// benchmarks report it per operation because the shared test machine gives
// a benchmark only part of a core, which inflates wall-clock ns/op.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
