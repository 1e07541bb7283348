package perf

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/clvstream/clvstream/internal/model"
	"github.com/clvstream/clvstream/internal/refit"
	"github.com/clvstream/clvstream/internal/state"
	"github.com/clvstream/clvstream/internal/stream"
)

// buildService compiles cmd/clvstream of the module at dir into out.
func buildService(ctx context.Context, dir, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/clvstream")
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/clvstream in %s: %w\n%s", dir, err, b)
	}
	return nil
}

// moduleDir finds the clvstream module root from the working directory up.
func moduleDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.Contains(string(b), "module github.com/clvstream/clvstream\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside the clvstream module: run from the repository (or pass -bin)")
		}
		dir = parent
	}
}

// serviceConfig is the YAML config of the service under test: real Kafka,
// Redis through the counting proxy, its own key prefix and group, the
// defaults for everything else (what a new user runs).
func serviceConfig(brokers []string, topics stream.Topics, group, partitioner, redisAddr, prefix, httpAddr string, pprof bool) string {
	q := strconv.Quote
	var b strings.Builder
	fmt.Fprintf(&b, "kafka:\n  brokers: [%s]\n  group_id: %s\n  partitioner: %s\n", strings.Join(quoteAll(brokers), ", "), q(group), q(partitioner))
	fmt.Fprintf(&b, "  topics:\n    purchases: %s\n    tickets: %s\n    emails: %s\n    segment_changes: %s\n    dead_letter: %s\n",
		q(topics.Purchases), q(topics.Tickets), q(topics.Emails), q(topics.SegmentChanges), q(topics.DeadLetter))
	fmt.Fprintf(&b, "redis:\n  addr: %s\n  key_prefix: %s\n", q(redisAddr), q(prefix))
	fmt.Fprintf(&b, "http:\n  addr: %s\n  auth: none\n", q(httpAddr))
	if pprof {
		fmt.Fprintf(&b, "  pprof: true\n")
	}
	fmt.Fprintf(&b, "log:\n  level: warn\n")
	return b.String()
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strconv.Quote(s)
	}
	return out
}

// publishModel stores a fitted MBG/NBD + Gamma-Gamma model (CDNOW's
// parameters in weeks) under prefix, so the service scores against a model
// from the first record, as a production instance does, and its fitter
// does not refit during the run (the model is fresh).
func publishModel(ctx context.Context, rdb redis.UniversalClient, prefix string) error {
	models := refit.NewStore(rdb, prefix)
	if ok, err := models.Lock(ctx, "clvbench", time.Minute); err != nil || !ok {
		return fmt.Errorf("model lock: held %v: %v", ok, err)
	}
	defer func() { _ = models.Unlock(context.Background(), "clvbench") }()
	rec := benchModel()
	rec.Converged, rec.FittedAt = true, time.Now()
	_, err := models.Publish(ctx, rec, "clvbench")
	return err
}

// benchModel is the model the benchmark publishes before the run: an
// MBG/NBD with Gamma-Gamma spend, parameters of the order of CDNOW's.
func benchModel() model.Record {
	return model.Record{Kind: model.KindMBGNBD, TimeUnitDays: 7,
		Params:        model.Params{R: 0.525, Alpha: 6.183, A: 0.891, B: 1.614},
		GammaGamma:    &model.GammaGamma{P: 6.25, Q: 3.74, V: 15.44},
		HorizonMonths: 12, MonthlyDiscount: 0.01}
}

// service is the running clvstream subprocess.
type service struct {
	cmd  *exec.Cmd
	done chan error
	base string // http://addr
	log  string // its log file
}

// startService execs bin run with the config file and --set overrides,
// logging to logFile.
func startService(ctx context.Context, bin, cfgFile, logFile, httpAddr string, sets []string) (*service, error) {
	lf, err := os.Create(logFile)
	if err != nil {
		return nil, err
	}
	args := []string{"run", "--config", cfgFile}
	for _, s := range sets {
		args = append(args, "--set", s)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = lf, lf
	if err := cmd.Start(); err != nil {
		_ = lf.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	s := &service{cmd: cmd, done: make(chan error, 1), base: "http://" + httpAddr, log: logFile}
	go func() {
		s.done <- cmd.Wait()
		_ = lf.Close()
	}()
	return s, nil
}

// pid is the subprocess's process id.
func (s *service) pid() int { return s.cmd.Process.Pid }

// exited returns the exit error once the process has ended.
func (s *service) exited() (error, bool) {
	select {
	case err := <-s.done:
		s.done <- err
		if err == nil {
			err = errors.New("exited with status 0")
		}
		return err, true
	default:
		return nil, false
	}
}

// waitReady polls /readyz until it answers 200 (partitions assigned and
// Redis answering).
func (s *service) waitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if err, ok := s.exited(); ok {
			return fmt.Errorf("clvstream run %v before it was ready; its log: %s\n%s", err, s.log, tail(s.log, 2000))
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.base+"/readyz", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("clvstream run not ready after %s; its log: %s", timeout, s.log)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// stop sends SIGTERM and waits for a clean shutdown, killing the process
// after timeout.
func (s *service) stop(timeout time.Duration) error {
	if _, ok := s.exited(); ok {
		return nil
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		s.done <- err
		return err
	case <-time.After(timeout):
		_ = s.cmd.Process.Kill()
		return fmt.Errorf("clvstream run did not stop within %s after SIGTERM; killed", timeout)
	}
}

func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// progress is the service's progress read from Redis (docs/state.md): the
// records applied (stored next offsets, up to the end of each partition),
// the records in the outboxes, and the customers due by the given instant.
type progress struct {
	Applied int64
	Outbox  int64
	Due     int64
}

// readProgress reads the progress with pipelined round trips. dueBy is the
// instant (Unix ms) up to which nothing may be due, capped per partition by
// the task's own stored clock with capByClock (an idle replay's clock stops
// at the partition's latest event); 0 skips the count.
func readProgress(ctx context.Context, rdb *redis.Client, st *state.Store, ends map[string][]int64, partitions int, dueBy int64, capByClock bool) (progress, error) {
	pipe := rdb.Pipeline()
	topics := make([]string, 0, len(ends))
	fields := make([]string, 0, len(ends))
	for t := range ends {
		topics = append(topics, t)
		fields = append(fields, "off:"+t)
	}
	offs := make([]*redis.SliceCmd, partitions)
	outs := make([]*redis.IntCmd, partitions)
	dues := make([]*redis.IntCmd, partitions)
	for p := 0; p < partitions; p++ {
		k := st.Keys(p)
		offs[p] = pipe.HMGet(ctx, k.Meta, append(fields, "clk")...)
		outs[p] = pipe.XLen(ctx, k.Outbox)
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return progress{}, fmt.Errorf("read progress: %w", err)
	}
	if dueBy > 0 {
		for p := 0; p < partitions; p++ {
			by := dueBy
			vals := offs[p].Val()
			if s, _ := vals[len(vals)-1].(string); s != "" {
				if clk, err := strconv.ParseInt(s, 10, 64); err == nil && clk > 0 && capByClock {
					by = min(by, clk)
				}
			}
			dues[p] = pipe.ZCount(ctx, st.Keys(p).Due, "1", strconv.FormatInt(by, 10))
		}
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return progress{}, fmt.Errorf("read progress: %w", err)
	}
	var pr progress
	for p := 0; p < partitions; p++ {
		for i, v := range offs[p].Val()[:len(topics)] {
			s, _ := v.(string)
			n, _ := strconv.ParseInt(s, 10, 64)
			pr.Applied += min(n, ends[topics[i]][p])
		}
		pr.Outbox += outs[p].Val()
		if dues[p] != nil {
			pr.Due += dues[p].Val()
		}
	}
	return pr, nil
}

// keyMemory sums MEMORY USAGE (all elements sampled) of every key under
// prefix, by kind: the last ":"-separated part of the key (customers,
// due, meta, outbox, ...).
func keyMemory(ctx context.Context, rdb *redis.Client, prefix string) (map[string]int64, error) {
	out := map[string]int64{}
	iter := rdb.Scan(ctx, 0, "{"+prefix+":*", 1000).Iterator()
	for iter.Next(ctx) {
		k := iter.Val()
		n, err := rdb.MemoryUsage(ctx, k, 0).Result()
		if err != nil {
			if errors.Is(err, redis.Nil) {
				continue // deleted meanwhile
			}
			return nil, fmt.Errorf("MEMORY USAGE: %w", err)
		}
		out[k[strings.LastIndexByte(k, ':')+1:]] += n
	}
	return out, iter.Err()
}

// fetchProfile writes the service's profile of the given kind to path:
// "profile?seconds=N" (CPU over the next N s) or "heap" (live heap now).
func fetchProfile(ctx context.Context, base, path, kind string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/debug/pprof/"+kind, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s profile: %w", kind, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s profile: %s: %s", kind, resp.Status, b)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		_ = f.Close()
		return fmt.Errorf("%s profile: %w", kind, err)
	}
	return f.Close()
}
