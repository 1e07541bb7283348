package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
	"go.uber.org/zap"

	"github.com/clvstream/clvstream/internal/api"
	"github.com/clvstream/clvstream/internal/config"
	"github.com/clvstream/clvstream/internal/core"
	"github.com/clvstream/clvstream/internal/kpi"
	"github.com/clvstream/clvstream/internal/model"
	"github.com/clvstream/clvstream/internal/query"
	"github.com/clvstream/clvstream/internal/scoring"
	"github.com/clvstream/clvstream/internal/state"
	"github.com/clvstream/clvstream/internal/stream"
	"github.com/clvstream/clvstream/pkg/customer"
	"github.com/clvstream/clvstream/pkg/event"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/ and the marked example blocks of README.md and docs/*.md from the real output")

const goldenDir = "../../testdata/golden"

// The documented examples of published output (segment, tier and
// milestone records on the segment-changes topic, a dead letter as
// `clvstream tail --meta` prints it, the /v1/customers/{id} answer) are
// real output: a simulated shop of 400 customers over two years runs
// through the processing core (internal/core, the pipeline's own code,
// under the default configuration), a model is fitted from its states by
// internal/model half way and is in force for the second year, and the
// query API (internal/query behind internal/api, over an in-memory Redis
// holding the final states) answers for one customer; the dead letter is
// written by the real pipeline (internal/stream) on an in-process Kafka.
// The first record of each documented kind is the example. They are written to
// testdata/golden/ (pretty-printed one member per line; compacted, each is
// byte for byte what was published or served), so a change of the
// contract fails here; every block of README.md and docs/*.md marked
// `<!-- golden: NAME -->` must be exactly testdata/golden/NAME, and no
// unmarked block may show such a record.
//
//	go test ./cmd/clvstream -run TestGoldenOutput -update   # regenerate the files and the marked blocks
func TestGoldenOutput(t *testing.T) {
	got := goldenRecords(t)
	for name, raw := range got {
		doc, err := docJSON(raw)
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, raw)
		}
		path := filepath.Join(goldenDir, name)
		if *update {
			if err := os.MkdirAll(goldenDir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("%s: %v (run go test ./cmd/clvstream -run TestGoldenOutput -update)", name, err)
			continue
		}
		if string(want) != doc {
			t.Errorf("the real %s differs from %s: the published contract changed. If that is intended, run\n  go test ./cmd/clvstream -run TestGoldenOutput -update\nand review the diff of testdata/golden/ and the docs.\ngot:\n%s\nwant:\n%s", name, path, doc, want)
		}
	}
	checkDocBlocks(t, got)
}

// goldenRecords runs the simulation and returns the raw record of each
// golden file.
func goldenRecords(t *testing.T) map[string][]byte {
	t.Helper()
	cfg := config.Config{}.WithDefaults()
	dec, err := event.NewDecoder(cfg.DecoderConfig())
	if err != nil {
		t.Fatal(err)
	}
	sc := cfg.Scoring
	sc.MinorPerMajor = 100 // USD, as app.New derives it
	rules, err := cfg.SegmentRules()
	if err != nil {
		t.Fatal(err)
	}
	scorer, err := scoring.New(sc, rules)
	if err != nil {
		t.Fatal(err)
	}
	proc, err := core.New(core.Config{Decoder: dec, Scorer: scorer, TopicFor: cfg.Kafka.Topics.For,
		PartitionOf: func(string) int { return 0 }, Partitioner: cfg.Kafka.Partitioner,
		AllowedLateness: cfg.Kafka.AllowedLateness, ReplayThreshold: cfg.Kafka.ReplayThreshold})
	if err != nil {
		t.Fatal(err)
	}

	start := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	mid, end := start.AddDate(1, 0, 0), start.AddDate(2, 0, 0)
	recs := simulateShop(cfg, 400, start, end)
	p := &pipeline{proc: proc, states: map[string]*customer.State{}, due: map[string]int64{}, applied: map[string]int64{},
		wall: end.AddDate(0, 1, 0)}

	// Year 1 under the baseline, then a fit from the states as of the
	// partition's clock, as the fitter does.
	var first, second []core.Decoded
	for _, r := range recs {
		d := proc.Decode(r.Record)
		if r.at.Before(mid) {
			first = append(first, d)
		} else {
			second = append(second, d)
		}
	}
	out1 := p.run(t, first, nil)
	asOf := time.UnixMilli(p.clock.Now).UTC()
	in, err := model.Collect(context.Background(), statesOf(p.states), asOf, cfg.Model, sc.MinorPerMajor)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := model.Fit(context.Background(), in, cfg.Model)
	if err != nil {
		t.Fatal(err)
	}
	if !rec.Fitted() || rec.Rejected != "" {
		t.Fatalf("the simulated shop gave no usable model: kind %s, reason %q, rejected %q", rec.Kind, rec.Reason, rec.Rejected)
	}
	rec.Version, rec.FittedAt = 1, asOf // the first publication; fitted "now"
	out2 := p.run(t, second, &rec)

	got := map[string][]byte{}
	pick := func(name string, outs [][]core.OutboxRecord, what string, ok func(m map[string]any) bool) {
		for _, out := range outs {
			for _, o := range out {
				var m map[string]any
				if err := json.Unmarshal(o.Value, &m); err != nil {
					t.Fatal(err)
				}
				if ok(m) {
					got[name] = o.Value
					return
				}
			}
		}
		t.Errorf("%s: the simulated shop published no %s any more", name, what)
	}
	str := func(m map[string]any, k string) string { s, _ := m[k].(string); return s }
	pick("segment_change.json", [][]core.OutboxRecord{out1}, "scheduled move from active to at-risk under the baseline", func(m map[string]any) bool {
		return str(m, "type") == event.SegmentChangeType && str(m, "cause") == "scheduled" &&
			str(m, "previous_segment") == "active" && str(m, "segment") == "at-risk"
	})
	var reasonID string
	pick("segment_change_model.json", [][]core.OutboxRecord{out2}, "event-caused move to at-risk under the fitted model with two or more churn factors", func(m map[string]any) bool {
		cr, _ := m["churn_risk"].(map[string]any)
		f, _ := cr["factors"].([]any)
		ok := str(m, "type") == event.SegmentChangeType && str(m, "cause") == "event" && str(m, "segment") == "at-risk" &&
			m["previous_segment"] != nil && len(f) >= 2
		if ok {
			reasonID = str(m, "customer_id")
		}
		return ok
	})
	pick("tier_changed.json", [][]core.OutboxRecord{out1, out2}, "tier change up from silver", func(m map[string]any) bool {
		return str(m, "type") == event.TierChangeType && str(m, "previous_tier") == "silver" && str(m, "cause") == "event"
	})
	pick("milestone_reached.json", [][]core.OutboxRecord{out1, out2}, "milestone of 1000.00", func(m map[string]any) bool {
		return str(m, "type") == event.MilestoneType && str(m, "threshold") == "1000.00"
	})
	if reasonID != "" {
		got["api_customer.json"] = apiCustomer(t, cfg, scorer, &rec, p.states, reasonID, time.UnixMilli(p.clock.Now).UTC())
	}
	got["dead_letter.json"] = deadLetterExample(t, cfg, dec, scorer)
	return got
}

// shopRecord is a simulated input record and its event time.
type shopRecord struct {
	core.Record
	at time.Time
}

// simulateShop returns the input records of n customers between start and
// end in event-time order (deterministic): purchases at a customer's own
// rate until they drop out, some refunds, support tickets (some never
// resolved) and a monthly newsletter with opens and clicks. Customers who
// leave had more tickets, and open the newsletter less once gone, so the
// churn model has signals to fit.
func simulateShop(cfg config.Config, n int, start, end time.Time) []shopRecord {
	rng := rand.New(rand.NewPCG(11, 2026))
	var out []shopRecord
	k := 0
	add := func(id string, at time.Time, typ event.Type, extra string) {
		if !at.Before(end) {
			return
		}
		k++
		v := fmt.Sprintf(`{"event_id":"e-%d","type":%q,"customer_id":%q,"occurred_at":%q%s}`, k, typ, id, at.Format(time.RFC3339), extra)
		out = append(out, shopRecord{Record: core.Record{Topic: cfg.Kafka.Topics.For(typ), Key: []byte(id), Value: []byte(v)}, at: at})
	}
	days := end.Sub(start).Hours() / 24
	gone := map[string]time.Time{} // when a customer who dropped out lost interest
	for c := 1; c <= n; c++ {
		id := fmt.Sprintf("c-%d", c)
		at := start.Add(time.Duration(rng.Float64()*days*0.6*24) * time.Hour).Truncate(time.Hour)
		gap := 10 + rng.ExpFloat64()*50 // mean days between orders
		drop := 0.03 + rng.Float64()*0.25
		spend := 15 + rng.ExpFloat64()*90
		for o := 1; at.Before(end); o++ {
			oid := fmt.Sprintf("%s-o%d", id, o)
			amount := spend * (0.5 + rng.Float64())
			add(id, at, event.Purchase, fmt.Sprintf(`,"order_id":%q,"amount":"%.2f","currency":"USD"`, oid, amount))
			if rng.IntN(25) == 0 {
				add(id, at.Add(72*time.Hour), event.Refund, fmt.Sprintf(`,"order_id":%q,"refund_id":"%s-r","amount":"%.2f","currency":"USD"`, oid, oid, amount/2))
			}
			if rng.Float64() < drop/2 { // unhappy customers leave sooner
				tid := fmt.Sprintf("%s-t%d", id, o)
				add(id, at.Add(30*time.Hour), event.TicketOpened, fmt.Sprintf(`,"ticket_id":%q`, tid))
				if rng.Float64() > drop*2 {
					add(id, at.Add(time.Duration(40+rng.IntN(200))*time.Hour), event.TicketResolved, fmt.Sprintf(`,"ticket_id":%q,"csat":%d`, tid, 1+rng.IntN(5)))
				}
			}
			if rng.Float64() < drop {
				gone[id] = at.Add(time.Duration(gap*24) * time.Hour)
				break
			}
			at = at.Add(time.Duration((1 + rng.ExpFloat64()*gap) * 24 * float64(time.Hour))).Truncate(time.Hour)
		}
	}
	// The newsletter: the first of every month to every customer who has
	// bought by then; opens and clicks follow.
	firstBuy := map[string]time.Time{}
	for _, r := range out {
		id := string(r.Key)
		if f, ok := firstBuy[id]; !ok || r.at.Before(f) {
			firstBuy[id] = r.at
		}
	}
	ids := make([]string, 0, len(firstBuy))
	for id := range firstBuy {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for m := start.AddDate(0, 1, 0); m.Before(end); m = m.AddDate(0, 1, 0) {
		for _, id := range ids {
			if firstBuy[id].After(m) {
				continue
			}
			mid := fmt.Sprintf(`,"message_id":"%s-%s"`, m.Format("2006-01"), id)
			send := m.Add(9 * time.Hour)
			add(id, send, event.EmailSent, mid)
			open := 0.45 // customers who lost interest seldom open
			if g, ok := gone[id]; ok && send.After(g) {
				open = 0.04
			}
			if rng.Float64() < open {
				add(id, send.Add(5*time.Hour), event.EmailOpened, mid)
				if rng.IntN(4) == 0 {
					add(id, send.Add(5*time.Hour+10*time.Minute), event.EmailClicked, mid)
				}
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].at.Before(out[j].at) })
	offsets := map[string]int64{}
	for i := range out {
		out[i].Offset = offsets[out[i].Topic]
		offsets[out[i].Topic]++
	}
	return out
}

// pipeline is one partition's task around the core, with its store in
// memory: states, due times, applied offsets and clock carry over from one
// run to the next.
type pipeline struct {
	proc    *core.Processor
	states  map[string]*customer.State
	due     map[string]int64
	applied map[string]int64
	clock   core.Clock
	wall    time.Time
}

// run processes recs under rec and then an idle input, and returns the
// outbox records in order.
func (p *pipeline) run(t *testing.T, recs []core.Decoded, rec *model.Record) []core.OutboxRecord {
	t.Helper()
	timers := make([]core.Timer, 0, len(p.due))
	for id, d := range p.due {
		timers = append(timers, core.Timer{ID: id, Due: d})
	}
	out := p.proc.Process(core.Input{Records: recs, States: p.states, Timers: timers, Horizon: math.MaxInt64,
		Dues: map[string]int64{}, Applied: p.applied, Clock: p.clock, Wall: p.wall, Model: rec, Idle: true})
	if out.Consumed != len(recs) || out.Blocked {
		t.Fatalf("the core consumed %d of %d records (blocked %v)", out.Consumed, len(recs), out.Blocked)
	}
	if len(out.Dead) > 0 {
		t.Fatalf("the simulated shop has %d dead letters, first: %v", len(out.Dead), out.Dead[0].Err)
	}
	for id, d := range out.Due {
		if d == 0 {
			delete(p.due, id)
		} else {
			p.due[id] = d
		}
	}
	for topic, r := range out.Offsets {
		p.applied[topic] = r.To
	}
	p.clock = out.Clock
	return out.Outbox
}

// statesOf is a model.StateSource over states.
type statesOf map[string]*customer.State

func (s statesOf) Each(_ context.Context, fn func(p int, st *customer.State) error) error {
	ids := make([]string, 0, len(s))
	for id := range s {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if err := fn(0, s[id]); err != nil {
			return err
		}
	}
	return nil
}

type fixedModel struct{ rec *model.Record }

func (m fixedModel) Current() *model.Record { return m.rec }

type noKPIs struct{}

func (noKPIs) Latest() *kpi.Snapshot { return nil }

type readyOK struct{}

func (readyOK) Ready(context.Context) error { return nil }

// apiCustomer stores states in an in-memory Redis as the pipeline commits
// them and returns the body of GET /v1/customers/{id} from the real API
// server, scored as of now.
func apiCustomer(t *testing.T, cfg config.Config, scorer *scoring.Scorer, rec *model.Record, states map[string]*customer.State, id string, now time.Time) []byte {
	t.Helper()
	mr := miniredis.NewMiniRedis()
	t.Cleanup(mr.Close)
	rdb := redis.NewClient(&redis.Options{Dialer: func(context.Context, string, string) (net.Conn, error) { return mr.Dial() }})
	t.Cleanup(func() { _ = rdb.Close() })
	ctx := context.Background()
	store := state.New(rdb, cfg.Redis.KeyPrefix, time.Minute)
	const parts = 1
	if _, err := store.Claim(ctx, 0, 1, "golden"); err != nil {
		t.Fatal(err)
	}
	if err := store.Commit(ctx, 0, state.Batch{Gen: 1, States: []*customer.State{states[id]}}); err != nil {
		t.Fatal(err)
	}
	if err := store.SetPartitions(ctx, parts); err != nil {
		t.Fatal(err)
	}
	rules, _ := cfg.SegmentRules()
	q, err := query.New(query.Deps{Store: store, PartitionOf: func(string, int) int { return 0 }, Scorer: scorer, Rules: rules,
		Models: fixedModel{rec}, KPIs: noKPIs{}, Clock: func(context.Context) time.Time { return now },
		BaseCurrency: cfg.Input.BaseCurrency})
	if err != nil {
		t.Fatal(err)
	}
	const token = "golden-token-0123456789"
	srv, err := api.NewAPI("", prometheus.NewRegistry(), readyOK{}, q, api.Auth{Enabled: true, Tokens: []string{token}}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	ln := newPipeListener()
	sctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(sctx, ln) }()
	t.Cleanup(func() { stop(); <-done })
	client := &http.Client{Transport: &http.Transport{DialContext: ln.dial}}
	req, _ := http.NewRequest("GET", "http://clvstream/v1/customers/"+id, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /v1/customers/%s: %d %s %v", id, resp.StatusCode, body, err)
	}
	client.CloseIdleConnections()
	return bytes.TrimSpace(body)
}

// pipeListener is an in-memory net.Listener: the test's HTTP client dials
// it through net.Pipe, so the server needs no port.
type pipeListener struct {
	conns chan net.Conn
	once  sync.Once
	done  chan struct{}
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *pipeListener) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	c, s := net.Pipe()
	select {
	case l.conns <- s:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error { l.once.Do(func() { close(l.done) }); return nil }

func (l *pipeListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

// deadLetterExample is the dead letter of a purchase in a currency
// without a rate (the default input.rates has none), as `clvstream tail
// --topic dead_letter --meta` prints it: the real pipeline (internal/stream
// with the default configuration) consumes the record from an in-process
// Kafka (kfake, the default topics of 12 partitions, as `clvstream topics`
// creates them) and writes the dead letter, which is read back from the
// dead-letter topic.
func deadLetterExample(t *testing.T, cfg config.Config, dec *event.Decoder, scorer *scoring.Scorer) []byte {
	t.Helper()
	tp := cfg.Kafka.Topics
	parts := cfg.TopicCreation.Partitions
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(int32(parts), tp.Purchases, tp.Tickets, tp.Emails, tp.SegmentChanges, tp.DeadLetter))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	brokers := cluster.ListenAddrs()
	mr := miniredis.NewMiniRedis()
	defer mr.Close()
	rdb := redis.NewClient(&redis.Options{Dialer: func(context.Context, string, string) (net.Conn, error) { return mr.Dial() }})
	defer rdb.Close()

	kc := cfg.Kafka
	kc.Brokers = brokers
	kc.SessionTimeout = 6 * time.Second
	svc, err := stream.New(kc, stream.Deps{Log: zap.NewNop(), Metrics: stream.NewMetrics(prometheus.NewRegistry()),
		Store: state.New(rdb, cfg.Redis.KeyPrefix, kc.OwnerLease), Scorer: scorer, Decoder: dec, Models: fixedModel{}, InstanceID: "golden"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	defer func() { cancel(); <-done }()

	w := &kafka.Writer{Addr: kafka.TCP(brokers...), Topic: tp.Purchases, Balancer: &kafka.Murmur2Balancer{Consistent: true}, RequiredAcks: kafka.RequireAll}
	defer w.Close()
	value := `{"event_id":"e-7","type":"purchase","customer_id":"c-42","occurred_at":"2026-03-01T12:00:00Z","order_id":"o-7","amount":"5900","currency":"JPY"}`
	if err := w.WriteMessages(ctx, kafka.Message{Key: []byte("c-42"), Value: []byte(value)}); err != nil {
		t.Fatal(err)
	}
	for {
		if msgs := readTopic(ctx, t, brokers, tp.DeadLetter, parts); len(msgs) > 0 {
			var b bytes.Buffer
			if err := printRecord(&b, msgs[0], true); err != nil {
				t.Fatal(err)
			}
			return bytes.TrimSpace(b.Bytes())
		}
		select {
		case err := <-done:
			t.Fatalf("the pipeline stopped before dead-lettering the record: %v", err)
		case <-ctx.Done():
			t.Fatal("no dead letter within 2 minutes")
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// readTopic returns the records of every partition of topic.
func readTopic(ctx context.Context, t *testing.T, brokers []string, topic string, parts int) []kafka.Message {
	t.Helper()
	var out []kafka.Message
	for p := 0; p < parts; p++ {
		pc, err := kafka.DialLeader(ctx, "tcp", brokers[0], topic, p)
		if err != nil {
			t.Fatal(err)
		}
		end, err := pc.ReadLastOffset()
		pc.Close()
		if err != nil || end == 0 {
			continue
		}
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, Topic: topic, Partition: p, MaxWait: 100 * time.Millisecond})
		for i := int64(0); i < end; i++ {
			m, err := r.ReadMessage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, m)
		}
		r.Close()
	}
	return out
}

// docJSON pretty-prints a JSON object one member per line, each value
// compact as published (escapes kept), so that compacting the text gives
// the original bytes back.
func docJSON(raw []byte) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return "", fmt.Errorf("not a JSON object")
	}
	var lines []string
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return "", err
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return "", err
		}
		k, _ := json.Marshal(key)
		var c bytes.Buffer
		if err := json.Compact(&c, v); err != nil {
			return "", err
		}
		lines = append(lines, fmt.Sprintf("  %s: %s", k, c.Bytes()))
	}
	s := "{\n" + strings.Join(lines, ",\n") + "\n}\n"
	var back bytes.Buffer
	if err := json.Compact(&back, []byte(s)); err != nil || !bytes.Equal(back.Bytes(), raw) {
		return "", fmt.Errorf("pretty-printing changed the record (%v)", err)
	}
	return s, nil
}

// docFiles are the documents whose examples are checked.
func docFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("../../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	return append([]string{"../../README.md"}, files...)
}

var (
	goldenMark = regexp.MustCompile(`^<!-- golden: ([a-z0-9_]+\.json) -->$`)
	// published marks an example of published output that must be golden.
	published = regexp.MustCompile(`"type"\s*:\s*"(segment_changed|tier_changed|milestone_reached)"|"scored_at"|clv\.error\.class"\s*:`)
)

// checkDocBlocks compares every marked block with its golden record
// (rewriting it with -update) and rejects unmarked examples of published
// output.
func checkDocBlocks(t *testing.T, got map[string][]byte) {
	used := map[string]bool{}
	for _, path := range docFiles(t) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimPrefix(path, "../../")
		lines := strings.SplitAfter(string(b), "\n")
		var res strings.Builder
		changed := false
		for i := 0; i < len(lines); i++ {
			line := lines[i]
			res.WriteString(line)
			m := goldenMark.FindStringSubmatch(strings.TrimRight(line, "\n"))
			if m == nil {
				if strings.HasPrefix(line, "```") && strings.TrimSpace(line) != "```" {
					// An unmarked block: it must not show published output.
					j := i + 1
					for j < len(lines) && !strings.HasPrefix(lines[j], "```") {
						j++
					}
					block := strings.Join(lines[i+1:min(j, len(lines))], "")
					if published.MatchString(block) && !(i > 0 && goldenMark.MatchString(strings.TrimRight(lines[i-1], "\n"))) {
						t.Errorf("%s:%d: an example of published output without a <!-- golden: NAME --> marker: generate it (testdata/golden/) instead of writing it by hand", name, i+1)
					}
				}
				continue
			}
			file := m[1]
			used[file] = true
			if i+1 >= len(lines) || !strings.HasPrefix(lines[i+1], "```") {
				t.Errorf("%s:%d: the golden marker for %s is not followed by a fenced block", name, i+1, file)
				continue
			}
			j := i + 2
			for j < len(lines) && !strings.HasPrefix(lines[j], "```") {
				j++
			}
			if j >= len(lines) {
				t.Errorf("%s:%d: unterminated block", name, i+2)
				continue
			}
			block := strings.Join(lines[i+2:j], "")
			raw, ok := got[file]
			if !ok {
				t.Errorf("%s:%d: no golden record %s (known: %v)", name, i+1, file, keys(got))
				continue
			}
			want, _ := docJSON(raw)
			res.WriteString(lines[i+1])
			if block != want {
				if *update {
					changed = true
				} else {
					t.Errorf("%s:%d: the example differs from testdata/golden/%s (real output); run go test ./cmd/clvstream -run TestGoldenOutput -update\nin the doc:\n%s\nreal:\n%s", name, i+1, file, block, want)
				}
			}
			res.WriteString(want)
			res.WriteString(lines[j])
			i = j
		}
		if changed {
			if err := os.WriteFile(path, []byte(res.String()), 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("rewrote the golden examples of %s", name)
		}
	}
	for _, file := range keys(got) {
		if !used[file] {
			t.Errorf("testdata/golden/%s is shown in no document (mark a block with <!-- golden: %s -->)", file, file)
		}
	}
}

func keys(m map[string][]byte) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
