package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/clvstream/clvstream/internal/app"
	"github.com/clvstream/clvstream/internal/config"
	"github.com/clvstream/clvstream/internal/connect"
	"github.com/clvstream/clvstream/internal/obs"
	"github.com/clvstream/clvstream/internal/stream"
)

// logSink keeps every JSON log line written to it; safe for concurrent use.
type logSink struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *logSink) Sync() error { return nil }

// lines returns the lines written so far, each decoded.
func (s *logSink) lines(t *testing.T) []map[string]any {
	t.Helper()
	s.mu.Lock()
	raw := s.buf.String()
	s.mu.Unlock()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(raw), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line is not JSON: %q: %v", l, err)
		}
		m["_raw"] = l
		out = append(out, m)
	}
	return out
}

// newSinkLogger returns a JSON logger at debug level (the most a user can
// switch on) writing to a new sink, and sends go-redis's lines to it too
// for the rest of the test.
func newSinkLogger(t *testing.T) (*zap.Logger, *logSink) {
	sink := &logSink{}
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	log := zap.New(zapcore.NewCore(enc, sink, zapcore.DebugLevel))
	t.Cleanup(connect.SetRedisLogger(log))
	return log, sink
}

// startLogged runs an instance in-process with log, like env.start; reg
// nil means a fresh registry.
func (e *env) startLogged(cfg config.Config, log *zap.Logger, reg *prometheus.Registry) (stop func()) {
	e.t.Helper()
	if err := cfg.Validate(); err != nil {
		e.t.Fatal(err)
	}
	if reg == nil {
		reg = obs.NewRegistry()
	}
	a, err := app.New(cfg, log, reg)
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := a.Run(ctx); err != nil {
			e.t.Errorf("run: %v", err)
		}
	}()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	e.t.Cleanup(stop)
	return stop
}

// emailID turns a workload customer label (cust-0007) into an e-mail
// address, the kind of id that must never reach a log.
func emailID(label string) string {
	first := []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"}
	var n int
	fmt.Sscanf(label, "cust-%d", &n)
	return fmt.Sprintf("%s.smith+%04d@example.com", first[n%len(first)], n)
}

// With log.hash_customer_ids on (the default), no log line of a full run
// (valid traffic of every event type with erasures and duplicates, a
// corpus of bad records of every rejection class, the query API asked
// about customers, at debug level, go-redis and kafka-go lines included)
// carries a customer id, a record key or a payload fragment; dead letters
// are logged with their reason, field, coordinates and the hashed key,
// never with the rejection message. With the option off, the same line
// carries the key in clear.
func TestLogsCarryNoCustomerIDs(t *testing.T) {
	e := newEnv(t, 2)
	log, sink := newSinkLogger(t)

	// Valid traffic: the recovery workload with e-mail ids everywhere an
	// id or a payload value goes (event, order, refund, ticket, message
	// ids embed the customer id) and a campaign name.
	var secrets []string
	seen := map[string]bool{}
	addSecret := func(s string) {
		if s != "" && !seen[s] {
			seen[s] = true
			secrets = append(secrets, s)
		}
	}
	const campaign = "campaign-7c1f-secret"
	addSecret(campaign)
	recs := workload(11, 40, 10)
	for i := range recs {
		r := &recs[i]
		label := r.CustomerID
		id := emailID(label)
		r.CustomerID = id
		r.EventID = strings.Replace(r.EventID, label, id, 1)
		if r.OrderID != "" {
			r.OrderID = "o-" + id + "-" + r.OrderID
		}
		if r.RefundID != "" {
			r.RefundID = strings.Replace(r.RefundID, label, id, 1)
		}
		if r.TicketID != "" {
			r.TicketID = id + "-" + r.TicketID
		}
		if r.MessageID != "" {
			r.MessageID = id + "-" + r.MessageID
			r.Campaign = campaign
		}
		addSecret(id)
		addSecret(strings.TrimSuffix(id, "@example.com")) // the local part alone
	}
	e.produceRecords(recs...)

	// Bad input: one record of every rejection class, each with its own
	// e-mail id in the key and the payload.
	bad := func(id, body string) kafka.Message {
		addSecret(id)
		return kafka.Message{Key: []byte(id), Value: []byte(body)}
	}
	at := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	purchase := func(id, extra string) string {
		return `{"event_id":"ev-` + id + `","type":"purchase","customer_id":"` + id + `","occurred_at":"` + at + `"` + extra + `}`
	}
	msgs := []kafka.Message{
		bad("dave.malformed@example.com", `{"type":"purchase","customer_id":"dave.malformed@example.com",`),
		bad("heidi.type@example.com", `{"event_id":"x1","type":"wishlist_added","customer_id":"heidi.type@example.com","occurred_at":"`+at+`"}`),
		bad("ivan.missing@example.com", purchase("ivan.missing@example.com", `,"amount":"1.00","currency":"USD"`)),
		bad("erin.invalid@example.com", purchase("erin.invalid@example.com", `,"order_id":"ord-erin-secret","amount":12.5,"currency":"USD"`)),
		bad("frank.currency@example.com", purchase("frank.currency@example.com", `,"order_id":"ord-frank-secret","amount":"1.00","currency":"GBP"`)),
		bad("grace.skew@example.com", `{"event_id":"x5","type":"purchase","customer_id":"grace.skew@example.com","occurred_at":"2099-01-01T00:00:00Z","order_id":"o","amount":"1.00","currency":"USD"}`),
		bad("oscar.oversize@example.com", `{"customer_id":"oscar.oversize@example.com","pad":"`+strings.Repeat("x", 70<<10)+`"}`),
		bad("mallory@example.com", purchase("mallory\\u0007@example.com", `,"order_id":"o","amount":"1.00","currency":"USD"`)),
	}
	addSecret("mallory")
	addSecret("ord-erin-secret")
	addSecret("ord-frank-secret")
	// The key is not the customer id: the message quotes both.
	addSecret("bob@example.com")
	addSecret("bob.jones@example.com")
	msgs = append(msgs, kafka.Message{Key: []byte("bob@example.com"), Value: []byte(purchase("bob.jones@example.com", `,"order_id":"o-bob","amount":"5.00","currency":"USD"`))})
	e.produce(e.topics.Purchases, msgs...)
	// A record on the wrong partition.
	addSecret("carol.white@example.com")
	wrong := 1 - stream.PartitionOf(e.part, "carol.white@example.com", 2)
	w := &kafka.Writer{Addr: kafka.TCP(e.brokers...), Topic: e.topics.Purchases, Balancer: fixedPartition(wrong), RequiredAcks: kafka.RequireAll}
	defer w.Close()
	if err := w.WriteMessages(t.Context(), kafka.Message{Key: []byte("carol.white@example.com"),
		Value: []byte(purchase("carol.white@example.com", `,"order_id":"o-carol","amount":"5.00","currency":"USD"`))}); err != nil {
		t.Fatal(err)
	}

	cfg := e.config()
	cfg.Log.Level = "debug"
	stop := e.startLogged(cfg, log, nil)
	e.waitApplied(90 * time.Second)

	// Ask the query API about customers, known, unknown and invalid.
	addr := ""
	for _, l := range sink.lines(t) {
		if l["msg"] == "http listening" {
			addr, _ = l["addr"].(string)
		}
	}
	if addr == "" {
		t.Fatal("no http listening line")
	}
	for _, id := range []string{emailID("cust-0001"), emailID("cust-0002"), "nobody.known@example.com", "ctl\x01char@example.com"} {
		addSecret(id)
		resp, err := http.Get("http://" + addr + "/v1/customers/" + url.PathEscape(id))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	stop()

	lines := sink.lines(t)
	var deadLines []map[string]any
	for _, l := range lines {
		raw := l["_raw"].(string)
		for _, s := range secrets {
			// JSON escapes some characters; look for the id as it would
			// appear inside a JSON string too.
			js, _ := json.Marshal(s)
			if strings.Contains(raw, s) || strings.Contains(raw, strings.Trim(string(js), `"`)) {
				t.Errorf("log line carries %q: %s", s, raw)
			}
		}
		if l["msg"] == "dead-lettered record" {
			deadLines = append(deadLines, l)
		}
	}
	dead := e.deadLetters()
	if len(deadLines) != len(dead) || len(dead) < len(msgs)+1 {
		t.Fatalf("%d dead-letter log lines for %d dead letters (%d bad records produced)", len(deadLines), len(dead), len(msgs)+1)
	}
	hashes := map[string]bool{}
	for _, l := range deadLines {
		for _, f := range []string{"reason", "field", "topic", "source_partition", "offset", "customer"} {
			if _, ok := l[f]; !ok {
				t.Errorf("dead-letter line without %q: %s", f, l["_raw"])
			}
		}
		if _, ok := l["error"]; ok {
			t.Errorf("dead-letter line carries the message text with hashing on: %s", l["_raw"])
		}
		hashes[fmt.Sprint(l["customer"])] = true
	}
	if !hashes[connect.HashCustomer("bob@example.com")] {
		t.Errorf("no dead-letter line names the mismatched key by its hash %s", connect.HashCustomer("bob@example.com"))
	}
	t.Logf("%d log lines (%d dead-letter lines), %d ids, keys and payload fragments looked for: none present", len(lines), len(deadLines), len(secrets))

	// The option off: the same rejection is logged with the key in clear,
	// so the option is what decides.
	t.Run("hashing off", func(t *testing.T) {
		e := newEnv(t, 1)
		log, sink := newSinkLogger(t)
		e.produce(e.topics.Purchases, kafka.Message{Key: []byte("bob@example.com"), Value: []byte(purchase("bob.jones@example.com", `,"order_id":"o-bob","amount":"5.00","currency":"USD"`))})
		cfg := e.config()
		off := false
		cfg.Log.HashCustomerIDs = &off
		stop := e.startLogged(cfg, log, nil)
		e.waitApplied(60 * time.Second)
		stop()
		for _, l := range sink.lines(t) {
			if l["msg"] == "dead-lettered record" {
				if l["customer"] != "bob@example.com" {
					t.Fatalf("with hash_customer_ids false: %s", l["_raw"])
				}
				return
			}
		}
		t.Fatal("no dead-letter line")
	})
}
