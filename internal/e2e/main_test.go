package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// binary is the clvstream command built for the tests that run it as a
// user would (backfill, export, and the process killed with SIGKILL).
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "clvstream-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "clvstream")
	build := exec.Command("go", "build", "-o", binary, "github.com/clvstream/clvstream/cmd/clvstream")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build clvstream:", err)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// cli runs the clvstream binary and returns its standard output.
func cli(t *testing.T, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "CLVSTREAM_LOG_LEVEL=warn")
	out, err := cmd.Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("clvstream %v: %v\n%s", args, err, ee.Stderr)
		}
		t.Fatalf("clvstream %v: %v", args, err)
	}
	return out
}

// sets returns the --set flags that point the CLI at this env.
func (e *env) sets() []string {
	var out []string
	for _, kv := range []string{
		"kafka.brokers=" + joinComma(e.brokers),
		"kafka.topics.purchases=" + e.topics.Purchases,
		"kafka.topics.tickets=" + e.topics.Tickets,
		"kafka.topics.emails=" + e.topics.Emails,
		"kafka.topics.segment_changes=" + e.topics.SegmentChanges,
		"kafka.topics.dead_letter=" + e.topics.DeadLetter,
		"kafka.group_id=" + e.group,
		"redis.addr=" + e.rdb.Options().Addr,
		"redis.key_prefix=" + e.prefix,
	} {
		out = append(out, "--set", kv)
	}
	if e.topics.Referrals != "" {
		out = append(out, "--set", "kafka.topics.referrals="+e.topics.Referrals)
	}
	return out
}

func joinComma(s []string) string {
	out := ""
	for i, v := range s {
		if i > 0 {
			out += ","
		}
		out += v
	}
	return out
}
