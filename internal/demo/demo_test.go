package demo

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The one-command try-out: within 20 seconds customers change segment, the
// dead-letter path shows, and the demo stops cleanly when its context ends
// (what Ctrl-C does).
func TestDemoShowsSegmentChangesAndStopsCleanly(t *testing.T) {
	var out bytes.Buffer
	start := time.Now()
	err := Run(context.Background(), Options{HTTPAddr: "127.0.0.1:0", Customers: 150, DayEvery: 50 * time.Millisecond, Duration: 20 * time.Second}, &out)
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	if time.Since(start) > 45*time.Second {
		t.Fatalf("demo took %s to stop", time.Since(start))
	}
	s := out.String()
	if !strings.HasSuffix(strings.TrimSpace(s), "stopped cleanly") {
		t.Fatalf("demo did not stop cleanly:\n%s", s)
	}
	m := regexp.MustCompile(`segment changes (\d+)`).FindAllStringSubmatch(s, -1)
	if len(m) == 0 {
		t.Fatalf("no summary printed:\n%s", s)
	}
	n, _ := strconv.Atoi(m[len(m)-1][1])
	if n < 50 {
		t.Fatalf("only %d segment changes in 20s:\n%s", n, s)
	}
	for _, seg := range []string{"new", "active", "at-risk", "lapsed"} {
		if !strings.Contains(s, " "+seg+" ") {
			t.Errorf("segment %q never shown", seg)
		}
	}
	if !regexp.MustCompile(`dead-lettered [1-9]`).MatchString(s) {
		t.Errorf("no dead-lettered records shown")
	}
}
