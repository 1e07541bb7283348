package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/clvstream/clvstream/internal/config"
	"github.com/clvstream/clvstream/internal/stream"
	"github.com/clvstream/clvstream/pkg/event"
)

// persona is a simulated customer's behaviour.
type persona struct {
	id        string
	joinDay   int     // first purchase day
	gapDays   float64 // mean days between purchases
	stopDay   int     // stops buying after this day (large: never)
	basket    int64   // mean basket in cents
	openRate  float64 // chance to open an email
	oneTime   bool
	purchases int
}

// generator produces synthetic events on an accelerated clock.
type generator struct {
	o       Options
	cfg     config.Config
	start   time.Time
	rnd     *rand.Rand
	people  []*persona
	mu      sync.Mutex
	day     int
	count   int
	writers map[string]*kafka.Writer
}

func newGenerator(o Options, cfg config.Config) *generator {
	g := &generator{o: o, cfg: cfg, rnd: rand.New(rand.NewPCG(42, 7)), writers: map[string]*kafka.Writer{}}
	g.start = time.Now().UTC().Truncate(24*time.Hour).AddDate(-2, 0, 0)
	part, _ := stream.NewPartitioner(cfg.Kafka.Partitioner)
	for _, topic := range cfg.Kafka.Topics.Inputs() {
		g.writers[topic] = &kafka.Writer{Addr: kafka.TCP(cfg.Kafka.Brokers...), Topic: topic, Balancer: part,
			RequiredAcks: kafka.RequireAll, BatchTimeout: 2 * time.Millisecond, BatchSize: 1000}
	}
	for i := 0; i < o.Customers; i++ {
		p := &persona{id: fmt.Sprintf("cust-%04d", i+1), joinDay: g.rnd.IntN(120), stopDay: 1 << 30,
			basket: 2000 + g.rnd.Int64N(8000), openRate: 0.1 + 0.6*g.rnd.Float64()}
		switch r := g.rnd.Float64(); {
		case r < 0.25: // frequent buyers
			p.gapDays = 6 + 8*g.rnd.Float64()
		case r < 0.6: // occasional
			p.gapDays = 30 + 40*g.rnd.Float64()
		default: // one-time
			p.oneTime = true
		}
		if !p.oneTime && g.rnd.Float64() < 0.4 { // some stop buying
			p.stopDay = p.joinDay + 40 + g.rnd.IntN(200)
		}
		if g.rnd.Float64() < 0.1 {
			p.basket *= 8 // big spenders
		}
		g.people = append(g.people, p)
	}
	return g
}

func (g *generator) simNow() time.Time {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.start.AddDate(0, 0, g.day)
}

func (g *generator) produced() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.count
}

// run emits one simulated day per DayEvery until ctx ends or the simulated
// clock reaches today.
func (g *generator) run(ctx context.Context, log *zap.Logger) {
	defer func() {
		for _, w := range g.writers {
			_ = w.Close()
		}
	}()
	tick := time.NewTicker(g.o.DayEvery)
	defer tick.Stop()
	for day := 0; ; day++ {
		at := g.start.AddDate(0, 0, day)
		if at.After(time.Now()) {
			return
		}
		batch := g.events(day, at)
		n := 0
		for topic, msgs := range batch {
			if err := g.writers[topic].WriteMessages(ctx, msgs...); err != nil {
				if ctx.Err() == nil {
					log.Warn("demo generator write", zap.Error(err))
				}
				return
			}
			n += len(msgs)
		}
		g.mu.Lock()
		g.day, g.count = day, g.count+n
		g.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (g *generator) events(day int, at time.Time) map[string][]kafka.Message {
	t := g.cfg.Kafka.Topics
	out := map[string][]kafka.Message{}
	add := func(topic string, r event.Record) {
		v, _ := json.Marshal(r)
		if g.rnd.IntN(400) == 0 {
			v = v[:len(v)/2] // a truncated record for the dead-letter path
		}
		out[topic] = append(out[topic], kafka.Message{Key: []byte(r.CustomerID), Value: v})
	}
	ts := func(h int) string { return at.Add(time.Duration(h) * time.Hour).Format(time.RFC3339) }
	for _, p := range g.people {
		if day < p.joinDay {
			continue
		}
		buy := day == p.joinDay
		if !buy && !p.oneTime && day <= p.stopDay {
			buy = g.rnd.Float64() < 1/p.gapDays
		}
		if buy {
			p.purchases++
			id := fmt.Sprintf("%s-o%d", p.id, p.purchases)
			amount := fmt.Sprintf("%d.%02d", (p.basket/2+g.rnd.Int64N(p.basket))/100, g.rnd.IntN(100))
			add(t.Purchases, event.Record{EventID: id, Type: event.Purchase, CustomerID: p.id, OccurredAt: ts(10),
				OrderID: id, Amount: amount, Currency: "USD"})
			if g.rnd.IntN(30) == 0 {
				add(t.Purchases, event.Record{EventID: id + "-r", Type: event.Refund, CustomerID: p.id, OccurredAt: ts(20),
					OrderID: id, Amount: "10.00", Currency: "USD"})
			}
		}
		if (day+p.joinDay)%7 == 0 {
			msg := fmt.Sprintf("%s-m%d", p.id, day)
			add(t.Emails, event.Record{EventID: msg + "-s", Type: event.EmailSent, CustomerID: p.id, OccurredAt: ts(8), MessageID: msg, Campaign: "weekly"})
			if day <= p.stopDay && g.rnd.Float64() < p.openRate {
				add(t.Emails, event.Record{EventID: msg + "-o", Type: event.EmailOpened, CustomerID: p.id, OccurredAt: ts(9), MessageID: msg})
			}
		}
		if g.rnd.IntN(200) == 0 {
			tk := fmt.Sprintf("%s-t%d", p.id, day)
			add(t.Tickets, event.Record{EventID: tk + "-o", Type: event.TicketOpened, CustomerID: p.id, OccurredAt: ts(11), TicketID: tk, Priority: "normal"})
			add(t.Tickets, event.Record{EventID: tk + "-r", Type: event.TicketResolved, CustomerID: p.id, OccurredAt: ts(15), TicketID: tk, CSAT: 1 + g.rnd.IntN(5)})
		}
	}
	return out
}

// deadLetters sums clvstream_dead_letter_total from the registry.
func deadLetters(reg prometheus.Gatherer) float64 {
	mfs, err := reg.Gather()
	if err != nil {
		return 0
	}
	var n float64
	for _, mf := range mfs {
		if mf.GetName() == "clvstream_dead_letter_total" {
			for _, m := range mf.GetMetric() {
				n += m.GetCounter().GetValue()
			}
		}
	}
	return n
}
