package perf

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// countHook counts the commands the harness's own Redis client sends, so
// they can be taken out of the server-wide INFO deltas.
type countHook struct{ n atomic.Int64 }

func (h *countHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *countHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmd)
	}
}

func (h *countHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.n.Add(int64(len(cmds)))
		return next(ctx, cmds)
	}
}

// redisInfo is a snapshot of the server-wide Redis counters.
type redisInfo struct {
	CPU      float64          // used_cpu_user + used_cpu_sys, seconds
	Commands int64            // total_commands_processed
	Memory   int64            // used_memory, bytes
	Clients  int64            // connected_clients
	Calls    map[string]int64 // commandstats calls by command
	mine     int64            // commands the harness had sent when it was taken
}

// readInfo takes an INFO snapshot.
func readInfo(ctx context.Context, rdb *redis.Client, hook *countHook) (redisInfo, error) {
	s, err := rdb.Info(ctx, "cpu", "stats", "memory", "clients", "commandstats").Result()
	if err != nil {
		return redisInfo{}, fmt.Errorf("redis INFO: %w", err)
	}
	in := redisInfo{Calls: map[string]int64{}, mine: hook.n.Load()}
	for _, line := range strings.Split(s, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok {
			continue
		}
		switch {
		case k == "used_cpu_user" || k == "used_cpu_sys":
			f, _ := strconv.ParseFloat(v, 64)
			in.CPU += f
		case k == "total_commands_processed":
			in.Commands, _ = strconv.ParseInt(v, 10, 64)
		case k == "used_memory":
			in.Memory, _ = strconv.ParseInt(v, 10, 64)
		case k == "connected_clients":
			in.Clients, _ = strconv.ParseInt(v, 10, 64)
		case strings.HasPrefix(k, "cmdstat_"):
			for _, f := range strings.Split(v, ",") {
				if n, ok := strings.CutPrefix(f, "calls="); ok {
					in.Calls[strings.TrimPrefix(k, "cmdstat_")], _ = strconv.ParseInt(n, 10, 64)
				}
			}
		}
	}
	return in, nil
}

// redisDelta is what Redis did between two snapshots, the harness's own
// commands taken out.
type redisDelta struct {
	CPU      float64
	Commands int64
	Memory   int64
	Calls    map[string]int64
}

func (b redisInfo) since(a redisInfo) redisDelta {
	d := redisDelta{CPU: b.CPU - a.CPU, Memory: b.Memory - a.Memory, Calls: map[string]int64{}}
	// The snapshot a itself is counted by the server after it answered;
	// b is not yet. The harness's commands in between are b.mine-a.mine-1.
	d.Commands = b.Commands - a.Commands - (b.mine - a.mine - 1)
	for k, n := range b.Calls {
		if dn := n - a.Calls[k]; dn > 0 {
			d.Calls[k] = dn
		}
	}
	return d
}

// topCalls formats the largest command counts per 1000 events.
func topCalls(calls map[string]int64, events int64, n int) string {
	type kv struct {
		k string
		v int64
	}
	var all []kv
	for k, v := range calls {
		if k == "info" || k == "client|list" {
			continue
		}
		all = append(all, kv{k, v})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].v > all[j].v || all[i].v == all[j].v && all[i].k < all[j].k })
	var parts []string
	for i, e := range all {
		if i == n {
			break
		}
		parts = append(parts, fmt.Sprintf("%s %.2f", strings.ToUpper(e.k), float64(e.v)*1000/float64(max(events, 1))))
	}
	return strings.Join(parts, ", ")
}

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat:
// 100 on every Linux architecture Go supports.
const clockTicks = 100

// procCPU returns the user+system CPU time of process pid.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may contain spaces; fields after it are
	// space-separated, utime and stime being fields 14 and 15.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / clockTicks, nil
}

// procStatusKB returns a kB field of /proc/PID/status, e.g. VmHWM (peak
// resident set size).
func procStatusKB(pid int, field string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("/proc/%d/status: no %s", pid, field)
}

// selfCPU returns the harness's own user+system CPU time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// metrics is a scrape of the service's /metrics: sample line (name and
// labels as printed) → value.
type metrics map[string]float64

// scrape reads the Prometheus text exposition of url.
func scrape(ctx context.Context, url string) (metrics, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, fmt.Errorf("scrape %s: %s: %s", url, resp.Status, b)
	}
	m := metrics{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		m[line[:i]] = v
	}
	return m, sc.Err()
}

// sum adds the samples of metric name whose labels contain every one of
// the given `label="value"` pairs.
func (m metrics) sum(name string, labels ...string) float64 {
	var s float64
next:
	for k, v := range m {
		n, rest, _ := strings.Cut(k, "{")
		if n != name {
			continue
		}
		for _, l := range labels {
			if !strings.Contains(rest, l) {
				continue next
			}
		}
		s += v
	}
	return s
}
