package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/clvstream/clvstream/internal/testkit"
)

const readmeSection = "## Running against your own Kafka and Redis"

// readmeBlock returns the first ```sh block of the README section
// readmeSection: the commands a new user runs.
func readmeBlock(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, "\n"+readmeSection+"\n")
	if i < 0 {
		t.Fatalf("README.md has no section %q", readmeSection)
	}
	s = s[i+len(readmeSection)+2:]
	if j := strings.Index(s, "\n## "); j >= 0 {
		s = s[:j]
	}
	m := regexp.MustCompile("(?s)\n```sh\n(.*?)\n```\n").FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("README section %q has no ```sh block", readmeSection)
	}
	return m[1]
}

// The README's "Running against your own Kafka and Redis" commands, run as
// written (one bash script, in order, from the repository root) against
// the real Redis and Kafka: they end with a segment change consumed from
// the topic and the customer served by the API. The test changes only
// what isolates it on the shared services, through the environment the
// commands already read (unique topic names, key prefix, group, HTTP port),
// so the README cannot drift from what works.
func TestReadmeOwnKafkaSection(t *testing.T) {
	brokers, real := testkit.Kafka(t)
	if !real {
		t.Skip("the README section runs against the real broker of scripts/services.sh (CLV_TEST_KAFKA_BROKERS)")
	}
	_, prefix := testkit.Redis(t) // deletes the prefix's keys at the end
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl is not installed (the README generates the API token with it)")
	}
	script := readmeBlock(t)
	for _, want := range []string{"scripts/services.sh up", "bin/clvstream topics", "bin/clvstream run", "CLVSTREAM_HTTP_API_TOKENS", "bin/clvstream tail"} {
		if !strings.Contains(script, want) {
			t.Fatalf("the README block lost %q:\n%s", want, script)
		}
	}
	// Our HTTP port instead of :8080, which another process may hold
	// (CLV_TEST_README_HTTP_ADDR picks another, e.g. on a shared machine).
	httpAddr := "127.0.0.1:21110"
	if a := os.Getenv("CLV_TEST_README_HTTP_ADDR"); a != "" {
		httpAddr = a
	}
	script = strings.ReplaceAll(script, "localhost:8080", httpAddr)
	// The shared services, wherever the suite found them.
	script = strings.ReplaceAll(script, "127.0.0.1:19092", strings.Join(brokers, ","))
	if addr := os.Getenv("CLV_TEST_REDIS_ADDR"); addr != "" {
		script = strings.ReplaceAll(script, "127.0.0.1:6390", addr)
	}

	topics := testkit.Unique("readme")
	env := append(os.Environ(),
		"CLVSTREAM_KAFKA_TOPICS_PURCHASES="+topics+".purchases",
		"CLVSTREAM_KAFKA_TOPICS_TICKETS="+topics+".tickets",
		"CLVSTREAM_KAFKA_TOPICS_EMAILS="+topics+".emails",
		"CLVSTREAM_KAFKA_TOPICS_SEGMENT_CHANGES="+topics+".segment-changes",
		"CLVSTREAM_KAFKA_TOPICS_DEAD_LETTER="+topics+".dead-letter",
		"CLVSTREAM_TOPIC_CREATION_PARTITIONS=3", // fewer partitions: quicker on the shared broker
		"CLVSTREAM_KAFKA_GROUP_ID="+topics,
		"CLVSTREAM_REDIS_KEY_PREFIX="+prefix,
		"CLVSTREAM_HTTP_ADDR="+httpAddr,
	)
	root, _ := filepath.Abs("../..")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// Each command is echoed with the seconds since the start (bash
	// ignores PS4 from the environment when run as root, so it is set in
	// the script): where the time goes.
	cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", "PS4='+ [${SECONDS}s] '; set -x\n"+script)
	cmd.Dir = root
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	t.Logf("the README block took %s:\n%s", took.Round(time.Millisecond), out.String())
	if err != nil {
		t.Fatalf("the README block failed: %v", err)
	}
	s := out.String()
	for _, want := range []string{
		`"type":"segment_changed"`, `"customer_id":"c-42"`, `"segment":"new"`, // the change, from the topic
		`topics OK`, // clvstream topics
	} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %s", want)
		}
	}
	if !regexp.MustCompile(`"customer_id"\s*:\s*"c-42"[^\n]*"segment"`).MatchString(s) && strings.Count(s, `"c-42"`) < 2 {
		t.Errorf("the API did not return customer c-42")
	}
}
