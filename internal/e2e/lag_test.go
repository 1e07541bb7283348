package e2e

import (
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/clvstream/clvstream/internal/obs"
	"github.com/clvstream/clvstream/internal/testkit"
)

// tcpProxy forwards a local port to a target; cut closes every connection
// and refuses new ones (the target looks down), restore listens again.
type tcpProxy struct {
	t      *testing.T
	addr   string
	target string
	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]bool
}

func newTCPProxy(t *testing.T, addr, target string) *tcpProxy {
	p := &tcpProxy{t: t, addr: addr, target: target, conns: map[net.Conn]bool{}}
	p.restore()
	t.Cleanup(p.cut)
	return p
}

func (p *tcpProxy) restore() {
	p.t.Helper()
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Fatalf("proxy listen %s: %v", p.addr, err)
	}
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				_ = c.Close()
				continue
			}
			p.mu.Lock()
			p.conns[c], p.conns[up] = true, true
			p.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); _ = up.Close() }()
			go func() { _, _ = io.Copy(c, up); _ = c.Close() }()
		}
	}()
}

func (p *tcpProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		_ = p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		_ = c.Close()
	}
	p.conns = map[net.Conn]bool{}
}

// lagSum returns the sum of clvstream_consumer_lag_records over its series.
func lagSum(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() == "clvstream_consumer_lag_records" {
			for _, m := range mf.GetMetric() {
				sum += m.GetGauge().GetValue()
			}
		}
	}
	return sum
}

// While Redis is unreachable nothing is applied, and the lag gauge follows
// the backlog as it grows (it is computed from the broker's end offsets,
// not from the stalled readers); once Redis is back the backlog is applied
// and the lag returns to 0.
func TestLagFollowsTheBacklogDuringARedisOutage(t *testing.T) {
	e := newEnv(t, 2)
	proxy := newTCPProxy(t, "127.0.0.1:21410", e.rdb.Options().Addr)
	cfg := e.config()
	cfg.Redis.Addr = proxy.addr
	reg := obs.NewRegistry()
	log, _ := newSinkLogger(t)
	e.produceRecords(purchases("before", 50, 500)...)
	stop := e.startLogged(cfg, log, reg)
	defer stop()
	e.waitApplied(60 * time.Second)
	testkit.Eventually(t, 15*time.Second, "lag 0 once everything is applied", func() bool { return lagSum(t, reg) == 0 })

	proxy.cut()
	const backlog = 3000
	e.produceRecords(purchases("during", 50, backlog)...)
	var seen float64
	testkit.Eventually(t, 30*time.Second, "lag reaching the backlog while Redis is down", func() bool {
		seen = lagSum(t, reg)
		return seen == backlog
	})
	e.produceRecords(purchases("during2", 50, backlog)...)
	testkit.Eventually(t, 30*time.Second, "lag following the growing backlog", func() bool {
		seen = lagSum(t, reg)
		return seen == 2*backlog
	})
	t.Logf("lag with Redis down: %.0f records (backlog %d)", seen, 2*backlog)

	proxy.restore()
	e.waitApplied(90 * time.Second)
	testkit.Eventually(t, 20*time.Second, "lag back to 0 after Redis returns", func() bool { return lagSum(t, reg) == 0 })
}
