package customer

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/clvstream/clvstream/pkg/event"
)

// scriptEvents turns fuzz bytes into the events of one customer, 6 bytes
// per event, with few distinct ids so that duplicates, competing claims,
// refunds before, after and without their order, over-refunds and amounts
// at the int64 limit all occur. It stays within the set bounds, where the
// state is exactly order independent.
func scriptEvents(data []byte) []event.Event {
	var evs []event.Event
	for i := 0; i+6 <= len(data) && len(evs) < 150; i += 6 {
		op, a, b, c, d, x := data[i], data[i+1], data[i+2], data[i+3], data[i+4], data[i+5]
		e := event.Event{ID: fmt.Sprintf("e%d", len(evs)), CustomerID: "c1",
			OccurredAt: t0.Add(time.Duration(c)*3*time.Hour + time.Duration(d%4)*time.Minute)}
		amount := int64(x) * 100
		if x >= 250 {
			amount = []int64{math.MaxInt64, 9e18, math.MaxInt64 - 1, 1, 0, 4.6e18}[x-250]
		}
		switch {
		case op == 0xff:
			e.Type = event.CustomerErased
		case op == 0xfe:
			e.Type, e.Referred = event.ReferralCredited, uint64(a%12)+1
		case op%8 < 3:
			e.Type, e.OrderID, e.Amount = event.Purchase, fmt.Sprint("o", a%16), amount
		case op%8 == 3:
			e.Type, e.OrderID, e.Amount = event.Refund, fmt.Sprint("o", b%20), amount
			if a%17 != 16 {
				e.RefundID = fmt.Sprint("r", a%17)
			}
		case op%8 == 4:
			types := []event.Type{event.TicketOpened, event.TicketUpdated, event.TicketResolved, event.TicketReopened}
			e.Type, e.TicketID = types[b%4], fmt.Sprint("t", a%4)
			if e.Type == event.TicketResolved {
				e.CSAT = int(x % 6)
			}
			e.Priority = []string{"", "low", "normal", "high", "urgent", "p" + strconv.Itoa(int(x%3))}[int(x)%6]
		case op%8 == 7:
			e.Type, e.SurveyID = []event.Type{event.SurveySent, event.SurveyResponded}[b%2], fmt.Sprint("s", a%5)
			e.SurveyKind = []string{event.SurveyNPS, event.SurveyCSAT, event.SurveyCES}[(b/2)%3]
			if e.Type == event.SurveyResponded {
				lo, hi, _ := event.ScoreRange(e.SurveyKind)
				e.Score, e.CommentLength = lo+int(x)%(hi-lo+1), int(d)
			}
		case op%8 == 6:
			types := []event.Type{event.MessageSent, event.MessageDelivered, event.MessageOpened, event.MessageClicked, event.MessageOptedOut, event.MessageOptedIn}
			e.Type, e.Channel, e.MessageID = types[b%6], event.Channels[(b/6)%3], fmt.Sprint("m", a%8)
			if !event.ChannelHas(e.Channel, e.Type) {
				e.Type = event.MessageSent
			}
			if e.Type == event.MessageOptedOut || e.Type == event.MessageOptedIn {
				e.MessageID = ""
			}
			if x%3 == 0 {
				e.Campaign = fmt.Sprint("camp", x%7)
			}
		default:
			types := []event.Type{event.EmailSent, event.EmailOpened, event.EmailClicked}
			e.Type, e.MessageID = types[b%3], fmt.Sprint("m", a%8)
		}
		if op&8 != 0 && (e.Type == event.Purchase || e.Type == event.Refund) {
			e.Margin, e.HasMargin = e.Amount/int64(1+a%4), true
		}
		evs = append(evs, e)
	}
	return evs
}

// FuzzStateCodec checks the state codec two ways on every input: the bytes
// as a stored value (never a panic; what decodes re-encodes to the same
// state), and the bytes as a script of events (decode(encode(s)) == s, and
// the events in reverse order give byte-identical encodings). Run:
//
//	go test ./pkg/customer -run '^$' -fuzz FuzzStateCodec -fuzztime 10m -parallel 1
func FuzzStateCodec(f *testing.F) {
	for _, s := range mixStates(5, 21) {
		b, _ := s.MarshalBinary()
		f.Add(b)
	}
	f.Add([]byte(`{"id":"c","v":3,"days":[{"d":19000,"n":1,"a":100,"m":30}],"orders":[{"id":"o","at":1641600000000,"e":"e","a":100,"m":30}]}`))
	f.Add([]byte{0, 1, 2, 3, 250, 9, 3, 1, 2, 3, 4, 255, 4, 0, 2, 9, 9, 3, 5, 1, 1, 7, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		var s State
		if s.UnmarshalBinary(data) == nil {
			b, err := s.MarshalBinary()
			if err != nil {
				t.Fatalf("a decoded state does not encode: %v", err)
			}
			var back State
			if err := back.UnmarshalBinary(b); err != nil || !equalState(s, back) {
				t.Fatalf("a decoded state does not round-trip: %v", err)
			}
		}
		evs := scriptEvents(data)
		st := build(evs)
		b, err := st.MarshalBinary()
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		var back State
		if err := back.UnmarshalBinary(b); err != nil || !equalState(st, back) {
			t.Fatalf("round trip: %v\nwant %+v\ngot  %+v", err, st, back)
		}
		slices.Reverse(evs)
		rs := build(evs)
		rb, _ := rs.MarshalBinary()
		if !bytes.Equal(b, rb) {
			t.Fatalf("reversed events give a different state")
		}
		for _, now := range []time.Time{t0.AddDate(0, 0, 20), t0.AddDate(1, 0, 0)} {
			f := st.Derive(now, 0)
			if f.Gross < 0 || f.Net < 0 || f.Margin < 0 || f.Net > f.Gross || f.Refunded > f.Gross {
				t.Fatalf("money invariant broken: %+v", f)
			}
		}
	})
}

// TestWriteFuzzCorpus regenerates the committed seed corpus
// (testdata/fuzz/FuzzStateCodec) when WRITE_FUZZ_CORPUS is set.
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("WRITE_FUZZ_CORPUS") == "" {
		t.Skip("set WRITE_FUZZ_CORPUS=1 to regenerate the seed corpus")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzStateCodec")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var seeds [][]byte
	for _, s := range mixStates(6, 31) {
		b, _ := s.MarshalBinary()
		seeds = append(seeds, b)
	}
	raw, err := os.ReadFile("testdata/state_v0.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range bytes.Split(raw, []byte("\n")) {
		if i%2 == 0 && len(line) > 0 && len(line) < 1500 && len(seeds) < 10 {
			seeds = append(seeds, line)
		}
	}
	script := func(ops ...byte) []byte { return ops }
	seeds = append(seeds,
		// refund before its order, over-refund, unknown order
		script(3, 1, 2, 10, 0, 50, 0, 2, 0, 5, 0, 20, 3, 2, 2, 11, 0, 200, 3, 3, 19, 12, 0, 9),
		// competing claims of one order id and one refund id, huge amounts
		script(0, 1, 0, 40, 1, 250, 0, 1, 0, 30, 2, 251, 3, 4, 1, 41, 0, 250, 3, 4, 1, 40, 0, 252, 11, 1, 0, 30, 2, 251),
		// tickets, emails, erasure
		script(4, 0, 0, 1, 0, 5, 4, 0, 2, 3, 0, 4, 4, 0, 3, 5, 0, 0, 5, 1, 0, 2, 0, 0, 5, 1, 1, 3, 0, 0, 0xff, 0, 0, 9, 0, 0),
	)
	for i, s := range seeds {
		body := "go test fuzz v1\n[]byte(" + strconv.Quote(string(s)) + ")\n"
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%02d", i)), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
