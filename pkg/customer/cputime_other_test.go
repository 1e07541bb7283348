//go:build !unix

package customer

import "time"

func processCPU() time.Duration { return 0 }
