package obstest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/clvstream/clvstream/internal/stream"
	"github.com/clvstream/clvstream/pkg/event"
)

// persona is a simulated customer.
type persona struct {
	id        string
	joinDay   int
	gapDays   float64 // mean days between purchases; 0: buys once
	stopDay   int     // no purchase after this day
	basket    int64   // mean basket, cents
	openRate  float64
	purchases int
	tickets   int
}

// traffic generates a simulated year of shop events ending now: purchases
// (some in EUR), refunds, support tickets (some reopened), weekly emails
// with opens and clicks, NPS surveys and SMS every 60 days, how each
// customer was acquired, a few
// erasures, and one record of each
// dead-letter class the decoder can be made to produce.
type traffic struct {
	topics stream.Topics
	part   stream.Partitioner
	parts  int
	rnd    *rand.Rand
	// srnd draws the survey and SMS events, apart from rnd so the other
	// records of the year stay what they were before those existed.
	srnd   *rand.Rand
	start  time.Time
	people []*persona
	seq    atomic.Int64
}

const simDays = 365

func newTraffic(topics stream.Topics, part stream.Partitioner, parts, customers int) *traffic {
	g := &traffic{topics: topics, part: part, parts: parts, rnd: rand.New(rand.NewPCG(2026, 11)), srnd: rand.New(rand.NewPCG(2026, 12)),
		start: time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -simDays)}
	for i := 0; i < customers; i++ {
		p := &persona{id: fmt.Sprintf("c-%04d", i+1), joinDay: g.rnd.IntN(300), stopDay: 1 << 30,
			basket: 2000 + g.rnd.Int64N(8000), openRate: 0.05 + 0.6*g.rnd.Float64()}
		switch r := g.rnd.Float64(); {
		case r < 0.3:
			p.gapDays = 5 + 10*g.rnd.Float64()
		case r < 0.65:
			p.gapDays = 25 + 45*g.rnd.Float64()
		}
		if p.gapDays > 0 && g.rnd.Float64() < 0.4 {
			p.stopDay = p.joinDay + 30 + g.rnd.IntN(150)
		}
		if g.rnd.Float64() < 0.12 {
			p.basket *= 10
		}
		g.people = append(g.people, p)
	}
	return g
}

func (g *traffic) msg(r event.Record) (string, kafka.Message) {
	v, _ := json.Marshal(r)
	return g.topics.For(r.Type), kafka.Message{Key: []byte(r.CustomerID), Value: v}
}

func (g *traffic) id(prefix string) string { return fmt.Sprintf("%s-%d", prefix, g.seq.Add(1)) }

// year returns the simulated year's records per topic, in time order.
func (g *traffic) year() map[string][]kafka.Message {
	out := map[string][]kafka.Message{}
	add := func(r event.Record) {
		topic, m := g.msg(r)
		out[topic] = append(out[topic], m)
	}
	for day := 0; day < simDays; day++ {
		at := g.start.AddDate(0, 0, day)
		ts := func(h int) string { return at.Add(time.Duration(h) * time.Hour).Format(time.RFC3339) }
		for _, p := range g.people {
			if day < p.joinDay {
				continue
			}
			if day == p.joinDay {
				add(g.acquired(p, ts(9)))
			}
			buy := day == p.joinDay || (p.gapDays > 0 && day <= p.stopDay && g.rnd.Float64() < 1/p.gapDays)
			if buy {
				for _, r := range g.purchase(p, ts(10), ts(20)) {
					add(r)
				}
			}
			if (day-p.joinDay)%7 == 3 {
				for _, r := range g.email(p, ts(8), ts(9), day <= p.stopDay) {
					add(r)
				}
			}
			if g.rnd.IntN(150) == 0 {
				for _, r := range g.ticket(p, ts(11), ts(13), ts(15)) {
					add(r)
				}
			}
			if (day-p.joinDay)%60 == 30 {
				for _, r := range g.survey(p, ts(16), ts(17), day > p.stopDay-45) {
					add(r)
				}
			}
			if day == simDays-20 && p.joinDay%97 == 5 {
				add(event.Record{EventID: g.id("erase"), Type: event.CustomerErased, CustomerID: p.id, OccurredAt: ts(12)})
			}
		}
	}
	return out
}

// acquired is how the persona was acquired: one of three channels (by its
// join day, so the other records' random draws stay what they were), with
// a cost except for referrals.
func (g *traffic) acquired(p *persona, at string) event.Record {
	r := event.Record{EventID: p.id + "-acq", Type: event.CustomerAcquired, CustomerID: p.id, OccurredAt: at, Campaign: "launch"}
	switch p.joinDay % 3 {
	case 0:
		r.Channel, r.AcquisitionCost, r.Currency = "paid_search", "35.00", "USD"
	case 1:
		r.Channel, r.AcquisitionCost, r.Currency = "social", "20.00", "USD"
	default:
		r.Channel = "referral"
	}
	return r
}

func (g *traffic) purchase(p *persona, at, refundAt string) []event.Record {
	p.purchases++
	order := fmt.Sprintf("%s-o%d", p.id, p.purchases)
	cents := p.basket/2 + g.rnd.Int64N(p.basket)
	r := event.Record{EventID: order, Type: event.Purchase, CustomerID: p.id, OccurredAt: at, OrderID: order,
		Amount: fmt.Sprintf("%d.%02d", cents/100, cents%100), Currency: "USD"}
	if g.rnd.IntN(8) == 0 {
		r.Currency = "EUR"
		r.Margin = fmt.Sprintf("%d.%02d", cents/400, cents%100)
	}
	out := []event.Record{r}
	if g.rnd.IntN(25) == 0 {
		out = append(out, event.Record{EventID: order + "-r", Type: event.Refund, CustomerID: p.id, OccurredAt: refundAt,
			OrderID: order, Amount: "5.00", Currency: "USD"})
	}
	return out
}

func (g *traffic) email(p *persona, sent, opened string, engaged bool) []event.Record {
	msg := g.id(p.id + "-m")
	out := []event.Record{{EventID: msg + "-s", Type: event.EmailSent, CustomerID: p.id, OccurredAt: sent, MessageID: msg, Campaign: "weekly"}}
	if engaged && g.rnd.Float64() < p.openRate {
		out = append(out, event.Record{EventID: msg + "-o", Type: event.EmailOpened, CustomerID: p.id, OccurredAt: opened, MessageID: msg})
		if g.rnd.IntN(4) == 0 {
			out = append(out, event.Record{EventID: msg + "-c", Type: event.EmailClicked, CustomerID: p.id, OccurredAt: opened, MessageID: msg})
		}
	}
	return out
}

// survey is an NPS survey (every 60 days) answered by about half, and an
// SMS with a click now and then: detractors among those about to stop.
func (g *traffic) survey(p *persona, sent, answered string, leaving bool) []event.Record {
	id := g.id(p.id + "-nps")
	out := []event.Record{{EventID: id + "-s", Type: event.SurveySent, CustomerID: p.id, OccurredAt: sent, SurveyID: id, Kind: "nps"}}
	if g.srnd.IntN(2) == 0 {
		score := 6 + g.srnd.IntN(5)
		if leaving {
			score = g.srnd.IntN(7)
		}
		out = append(out, event.Record{EventID: id + "-r", Type: event.SurveyResponded, CustomerID: p.id, OccurredAt: answered, SurveyID: id, Kind: "nps", Score: &score})
	}
	sms := g.id(p.id + "-sms")
	out = append(out, event.Record{EventID: sms + "-s", Type: event.MessageSent, CustomerID: p.id, OccurredAt: sent, Channel: "sms", MessageID: sms, Campaign: "sms-offer"})
	if g.srnd.IntN(3) == 0 {
		out = append(out, event.Record{EventID: sms + "-c", Type: event.MessageClicked, CustomerID: p.id, OccurredAt: answered, Channel: "sms", MessageID: sms, Campaign: "sms-offer"})
	}
	return out
}

func (g *traffic) ticket(p *persona, opened, reopened, resolved string) []event.Record {
	p.tickets++
	tk := fmt.Sprintf("%s-t%d", p.id, p.tickets)
	prio := []string{"low", "normal", "high", "urgent"}[g.rnd.IntN(4)]
	out := []event.Record{{EventID: tk + "-o", Type: event.TicketOpened, CustomerID: p.id, OccurredAt: opened, TicketID: tk, Priority: prio}}
	if g.rnd.IntN(4) == 0 {
		out = append(out, event.Record{EventID: tk + "-u", Type: event.TicketUpdated, CustomerID: p.id, OccurredAt: reopened, TicketID: tk})
	}
	if g.rnd.IntN(6) == 0 {
		out = append(out,
			event.Record{EventID: tk + "-r1", Type: event.TicketResolved, CustomerID: p.id, OccurredAt: opened, TicketID: tk},
			event.Record{EventID: tk + "-re", Type: event.TicketReopened, CustomerID: p.id, OccurredAt: reopened, TicketID: tk})
	}
	if g.rnd.IntN(5) != 0 { // some stay open
		out = append(out, event.Record{EventID: tk + "-r", Type: event.TicketResolved, CustomerID: p.id, OccurredAt: resolved, TicketID: tk, CSAT: 1 + g.rnd.IntN(5)})
	}
	return out
}

// partitionHeader makes routeBalancer write a record to the given
// partition instead of its key's.
const partitionHeader = "obstest-partition"

type routeBalancer struct{ inner kafka.Balancer }

func (b routeBalancer) Balance(m kafka.Message, partitions ...int) int {
	for _, h := range m.Headers {
		if h.Key == partitionHeader {
			n, _ := strconv.Atoi(string(h.Value))
			return n
		}
	}
	return b.inner.Balance(m, partitions...)
}

// bad returns records that must be dead-lettered, one per class the
// generator can produce, keyed by existing customers.
func (g *traffic) bad(now time.Time) map[string][]kafka.Message {
	out := map[string][]kafka.Message{}
	p := g.people[g.rnd.IntN(len(g.people))]
	at := now.UTC().Format(time.RFC3339)
	add := func(topic string, v []byte, headers ...kafka.Header) {
		out[topic] = append(out[topic], kafka.Message{Key: []byte(p.id), Value: v, Headers: headers})
	}
	good := func(r event.Record) []byte { b, _ := json.Marshal(r); return b }
	purchase := event.Record{EventID: g.id("bad"), Type: event.Purchase, CustomerID: p.id, OccurredAt: at, OrderID: g.id("bad-o"), Amount: "10.00", Currency: "USD"}
	v := good(purchase)
	add(g.topics.Purchases, v[:len(v)/2]) // malformed_json
	add(g.topics.Purchases, []byte(strings.Replace(string(good(purchase)), `"purchase"`, `"coupon_used"`, 1)))
	noOrder := purchase
	noOrder.EventID, noOrder.OrderID = g.id("bad"), ""
	add(g.topics.Purchases, good(noOrder)) // missing_field
	yen := purchase
	yen.EventID, yen.OrderID, yen.Currency = g.id("bad"), g.id("bad-o"), "JPY"
	add(g.topics.Purchases, good(yen)) // unknown_currency
	future := purchase
	future.EventID, future.OrderID, future.OccurredAt = g.id("bad"), g.id("bad-o"), now.Add(48*time.Hour).UTC().Format(time.RFC3339)
	add(g.topics.Purchases, good(future)) // clock_skew
	wrong := (stream.PartitionOf(g.part, p.id, g.parts) + 1) % g.parts
	sent := event.Record{EventID: g.id("bad"), Type: event.EmailSent, CustomerID: p.id, OccurredAt: at, MessageID: g.id("bad-m")}
	add(g.topics.Emails, good(sent), kafka.Header{Key: partitionHeader, Value: []byte(strconv.Itoa(wrong))}) // misrouted
	return out
}

// live returns a few events happening now (the steady state after the
// backfilled year): purchases and emails of random customers.
func (g *traffic) live(now time.Time) map[string][]kafka.Message {
	out := map[string][]kafka.Message{}
	at := now.UTC().Format(time.RFC3339)
	for i := 0; i < 5; i++ {
		p := g.people[g.rnd.IntN(len(g.people))]
		var recs []event.Record
		if g.rnd.IntN(2) == 0 {
			recs = g.purchase(p, at, at)
		} else {
			recs = g.email(p, at, at, true)
		}
		for _, r := range recs {
			topic, m := g.msg(r)
			out[topic] = append(out[topic], m)
		}
	}
	return out
}

// producer writes to the test topics with the murmur2 partitioner.
type producer struct {
	mu      sync.Mutex
	brokers []string
	bal     kafka.Balancer
	writers map[string]*kafka.Writer
}

func newProducer(t testing.TB, brokers []string, part stream.Partitioner) *producer {
	p := &producer{brokers: brokers, bal: routeBalancer{inner: part}, writers: map[string]*kafka.Writer{}}
	t.Cleanup(func() {
		for _, w := range p.writers {
			_ = w.Close()
		}
	})
	return p
}

func (p *producer) write(ctx context.Context, byTopic map[string][]kafka.Message) error {
	var wg sync.WaitGroup
	errs := make(chan error, len(byTopic))
	for topic, msgs := range byTopic {
		p.mu.Lock()
		w, ok := p.writers[topic]
		if !ok {
			w = &kafka.Writer{Addr: kafka.TCP(p.brokers...), Topic: topic, Balancer: p.bal, RequiredAcks: kafka.RequireAll,
				BatchTimeout: 2 * time.Millisecond, BatchSize: 1000, BatchBytes: 4 << 20}
			p.writers[topic] = w
		}
		p.mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for len(msgs) > 0 {
				n := min(len(msgs), 2000)
				if err := w.WriteMessages(ctx, msgs[:n]...); err != nil {
					errs <- fmt.Errorf("produce to %s: %w", topic, err)
					return
				}
				msgs = msgs[n:]
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// flakyProxy forwards TCP connections to a Redis server and can simulate
// an outage. During an outage it refuses new connections and drops an
// existing one as soon as the client sends a new command, without
// forwarding it: every command either reaches Redis whole before the
// outage or not at all, so no commit is left in doubt (a commit applied by
// Redis whose reply was lost would be retried into an offset conflict).
type flakyProxy struct {
	ln     net.Listener
	target string
	down   atomic.Bool
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
}

func newFlakyProxy(t testing.TB, target string) *flakyProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &flakyProxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *flakyProxy) addr() string { return p.ln.Addr().String() }

func (p *flakyProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if p.down.Load() {
			_ = c.Close()
			continue
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = c.Close()
			continue
		}
		p.track(c, s)
		p.wg.Add(2)
		go func() { defer p.wg.Done(); _, _ = io.Copy(c, s); p.drop(c, s) }()
		go func() { defer p.wg.Done(); p.forward(c, s); p.drop(c, s) }()
	}
}

// forward copies client bytes to the server unless the proxy is down.
func (p *flakyProxy) forward(c, s net.Conn) {
	buf := make([]byte, 64<<10)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if p.down.Load() {
				return
			}
			if _, werr := s.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *flakyProxy) track(c, s net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.conns[c], p.conns[s] = struct{}{}, struct{}{}
}

func (p *flakyProxy) drop(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		_ = c.Close()
		delete(p.conns, c)
	}
}

// outage makes Redis unreachable through the proxy for d.
func (p *flakyProxy) outage(d time.Duration) {
	p.down.Store(true)
	time.Sleep(d)
	p.down.Store(false)
}

func (p *flakyProxy) close() {
	_ = p.ln.Close()
	p.mu.Lock()
	for c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}
