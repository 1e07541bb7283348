package demo

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/clvstream/clvstream/internal/config"
)

// LoadOptions configure Load.
type LoadOptions struct {
	// Customers is the number of simulated customers.
	Customers int
	// DayEvery is the wall time per simulated day.
	DayEvery time.Duration
	// Seed makes the simulated shop (default 1, as the demo).
	Seed uint64
	// Transport carries TLS and SASL to the brokers (nil: plaintext).
	Transport kafka.RoundTripper
}

// Load produces the demo's synthetic traffic (two simulated years ending
// yesterday, one day every DayEvery) to the Kafka topics of cfg, for load tests
// and dashboards against a real deployment. It returns when the simulated
// clock reaches today or ctx ends, and reports what it produced to out.
func Load(ctx context.Context, cfg config.Config, o LoadOptions, log *zap.Logger, out io.Writer) error {
	g := newGenerator(Options{Customers: o.Customers, DayEvery: o.DayEvery, Seed: o.Seed}.withDefaults(), cfg)
	for _, w := range g.writers {
		w.Transport = o.Transport
	}
	start := time.Now()
	done := make(chan struct{})
	go func() { defer close(done); _ = g.run(ctx, log) }()
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-done:
			pr := g.progress()
			fmt.Fprintf(out, "produced %d events up to %s in %s\n", pr.produced, pr.sim.Format("2006-01-02"), time.Since(start).Round(time.Second))
			return ctx.Err()
		case <-tick.C:
			pr := g.progress()
			fmt.Fprintf(out, "[%s] %d events\n", pr.sim.Format("2006-01-02"), pr.produced)
		}
	}
}
