package customer

import (
	"fmt"
	"testing"
	"time"

	"github.com/clvstream/clvstream/pkg/event"
)

func msg(id string, typ event.Type, channel, message string, at time.Time) event.Event {
	return event.Event{ID: id, Type: typ, CustomerID: "c1", OccurredAt: at, Channel: channel, MessageID: message}
}

// email_* events and message_* events on the e-mail channel are the same
// messages; SMS and push messages with the same id are others. Engagement
// is per channel; the e-mail counters keep their meaning.
func TestMessagesPerChannel(t *testing.T) {
	var s State
	h := time.Hour
	for _, e := range []event.Event{
		{ID: "e1", Type: event.EmailSent, CustomerID: "c1", OccurredAt: t0, MessageID: "m1"},
		msg("e2", event.MessageOpened, "email", "m1", t0.Add(h)),
		msg("e3", event.MessageSent, "sms", "m1", t0),
		msg("e4", event.MessageDelivered, "sms", "m1", t0.Add(h)),
		msg("e5", event.MessageClicked, "sms", "m1", t0.Add(2*h)),
		msg("e6", event.MessageSent, "push", "p1", t0),
		msg("e7", event.MessageSent, "push", "p2", t0),
		msg("e8", event.MessageOpened, "push", "p2", t0.Add(h)),
	} {
		if s.Apply(e, 0) != Applied {
			t.Fatalf("%s not applied", e.ID)
		}
	}
	if s.Apply(msg("dup", event.MessageSent, "email", "m1", t0.Add(h)), 0) != Duplicate {
		t.Error("a later send of a known e-mail must be a duplicate of the email_sent")
	}
	if len(s.Emails) != 4 {
		t.Fatalf("%d messages, want 4 (email m1, sms m1, push p1, push p2)", len(s.Emails))
	}
	f := s.Derive(t0.Add(2*h), 1000*24*h)
	if e := f.Channels[ChanEmail]; e.Sends < 0.99 || e.Opens < 0.99 || f.EmailSends != e.Sends || f.EmailOpens != e.Opens {
		t.Errorf("e-mail %+v vs counters %v %v", e, f.EmailSends, f.EmailOpens)
	}
	if c := f.Channels[ChanSMS]; c.Deliveries < 0.99 || c.Clicks < 0.99 || c.Engagement() < 0.99 {
		t.Errorf("sms %+v", c)
	}
	if c := f.Channels[ChanPush]; c.Sends < 1.99 || c.Engagement() < 0.49 || c.Engagement() > 0.51 {
		t.Errorf("push %+v engagement %v, want 0.5", c, c.Engagement())
	}
	stateJSON(t, s)
}

// The latest opt-out and opt-in of a channel decide, in any order; an
// opt-out is a fact of its channel only.
func TestOptOut(t *testing.T) {
	h := time.Hour
	evs := []event.Event{
		msg("o1", event.MessageOptedOut, "email", "", t0),
		msg("i1", event.MessageOptedIn, "email", "", t0.Add(h)),
		msg("o2", event.MessageOptedOut, "email", "", t0.Add(2*h)),
		msg("o3", event.MessageOptedOut, "sms", "", t0.Add(h)),
		msg("i3", event.MessageOptedIn, "sms", "", t0.Add(3*h)),
	}
	var want string
	for k := 0; k < 6; k++ {
		var s State
		for i := range evs {
			s.Apply(evs[(i+k)%len(evs)], 0)
		}
		s.Apply(evs[k%len(evs)], 0) // a redelivery
		got := stateJSON(t, s)
		if k == 0 {
			want = got
			for _, tt := range []struct {
				at         time.Duration
				email, sms bool
			}{{0, false, false}, // only the latest opt-out (at +2h) is kept: before it, none is known
				{h, false, true}, {2 * h, true, true}, {3 * h, true, false}} {
				f := s.Derive(t0.Add(tt.at), 0)
				if f.Channels[ChanEmail].OptedOut != tt.email || f.Channels[ChanSMS].OptedOut != tt.sms || f.OptedOut != (tt.email || tt.sms) || f.Channels[ChanPush].OptedOut {
					t.Errorf("at +%s: email %v sms %v any %v, want %v %v", tt.at, f.Channels[ChanEmail].OptedOut, f.Channels[ChanSMS].OptedOut, f.OptedOut, tt.email, tt.sms)
				}
			}
			if s.LatestAt() != t0.Add(3*h).UnixMilli() {
				t.Errorf("LatestAt ignores consent")
			}
		} else if got != want {
			t.Fatalf("order %d changed the state", k)
		}
	}
}

func TestMessagesBoundedPerChannel(t *testing.T) {
	var s State
	for i := 0; i < MaxEmails+30; i++ {
		at := t0.Add(time.Duration(i) * time.Minute)
		s.Apply(msg(fmt.Sprint("p", i), event.MessageSent, "push", fmt.Sprint("p", i), at), 0)
		if i < 10 {
			s.Apply(event.Event{ID: fmt.Sprint("e", i), Type: event.EmailSent, CustomerID: "c1", OccurredAt: at, MessageID: fmt.Sprint("e", i)}, 0)
		}
	}
	var n [numChannels]int
	for _, m := range s.Emails {
		n[m.Channel]++
	}
	if n[ChanPush] != MaxEmails || n[ChanEmail] != 10 {
		t.Fatalf("kept %v, want %d push and all 10 e-mails (the bound is per channel)", n, MaxEmails)
	}
	stateJSON(t, s)
}

// TestCodecSizeWithChannels prints what SMS and push messages and an
// opt-out add to the encoded states of the benchmark mix.
func TestCodecSizeWithChannels(t *testing.T) {
	sts, _ := mixCorpus(5000, 1)
	var before, after []int
	for i := range sts {
		s := &sts[i]
		b, _ := s.MarshalBinary()
		before = append(before, len(b))
		at := t0.Add(time.Duration(i%300) * 24 * time.Hour)
		for k, ch := range []string{"sms", "sms", "push"} {
			id := fmt.Sprint(i, ch, k)
			s.Apply(msg(id+"s", event.MessageSent, ch, id, at), 0)
			s.Apply(msg(id+"d", event.MessageDelivered, ch, id, at.Add(time.Minute)), 0)
			if ch == "sms" {
				s.Apply(msg(id+"c", event.MessageClicked, ch, id, at.Add(time.Hour)), 0)
			}
		}
		s.Apply(msg(fmt.Sprint(i, "o"), event.MessageOptedOut, "push", "", at.Add(48*time.Hour)), 0)
		b, err := s.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		after = append(after, len(b))
	}
	t.Logf("benchmark mix, %d customers: mean %.0f B; with 2 SMS (sent, delivered, clicked), 1 push (sent, delivered) and a push opt-out %.0f B (+%.0f B)",
		len(sts), mean(before), mean(after), mean(after)-mean(before))
}
