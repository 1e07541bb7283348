package customer

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/clvstream/clvstream/pkg/event"
)

func surveyEv(id, typ, survey, kind string, at time.Time, score int) event.Event {
	return event.Event{ID: id, Type: event.Type(typ), CustomerID: "c1", OccurredAt: at, SurveyID: survey, SurveyKind: kind, Score: score}
}

// A later response to the same survey replaces the earlier one, whatever
// the arrival order: the latest occurred_at wins, then the event id (hash);
// a duplicate counts once.
func TestSurveyLaterResponseReplacesInAnyOrder(t *testing.T) {
	evs := []event.Event{
		surveyEv("sent", "survey_sent", "S1", "nps", t0, 0),
		surveyEv("r1", "survey_responded", "S1", "nps", t0.Add(time.Hour), 3),
		surveyEv("r2", "survey_responded", "S1", "nps", t0.Add(2*time.Hour), 10),
		surveyEv("r3a", "survey_responded", "S2", "ces", t0.Add(time.Hour), 2),
		surveyEv("r3b", "survey_responded", "S2", "ces", t0.Add(time.Hour), 6),
	}
	var want string
	for seed := uint64(0); seed < 50; seed++ {
		perm := append([]event.Event(nil), evs...)
		r := rand.New(rand.NewPCG(seed, 9))
		r.Shuffle(len(perm), func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
		perm = append(perm, perm[r.IntN(len(perm))]) // a redelivery
		var s State
		for _, e := range perm {
			s.Apply(e, 0)
		}
		got := stateJSON(t, s)
		if seed == 0 {
			want = got
			if len(s.Surveys) != 2 {
				t.Fatalf("%d surveys kept, want 2", len(s.Surveys))
			}
			f := s.DeriveSurveys(t0.Add(3*time.Hour), 0)
			if n, ok := f.Score(KindNPS); !ok || n != 10 || f.Responses[KindNPS-1] != 1 {
				t.Errorf("NPS latest = %d, %v, %d responses; want 10 from the later response, counted once", n, ok, f.Responses[KindNPS-1])
			}
			if f.NPSClass() != Promoter {
				t.Errorf("NPS class %s, want promoter", f.NPSClass())
			}
			// Equal times: the larger event id hash wins.
			wantCES := 2
			if HashID("r3b") > HashID("r3a") {
				wantCES = 6
			}
			if n, _ := f.Score(KindCES); n != wantCES {
				t.Errorf("CES %d, want %d (tie broken by event id hash)", n, wantCES)
			}
			if f.Sent != 1 || f.Answered != 1 || f.ResponseRate() != 1 {
				t.Errorf("sent %d answered %d rate %v, want 1 1 1", f.Sent, f.Answered, f.ResponseRate())
			}
		} else if got != want {
			t.Fatalf("seed %d: order changed the state", seed)
		}
	}
}

func TestSurveyFeatures(t *testing.T) {
	var s State
	day := 24 * time.Hour
	for _, e := range []event.Event{
		surveyEv("a", "survey_sent", "N1", "nps", t0, 0),
		surveyEv("b", "survey_responded", "N1", "nps", t0.Add(day), 4),
		surveyEv("c", "survey_sent", "N2", "nps", t0.Add(180*day), 0),
		surveyEv("d", "survey_responded", "N2", "nps", t0.Add(181*day), 8),
		surveyEv("e", "survey_sent", "N3", "csat", t0.Add(200*day), 0),
		surveyEv("f", "survey_responded", "E1", "ces", t0.Add(10*day), 3),
	} {
		if s.Apply(e, 0) != Applied {
			t.Fatalf("%s not applied", e.ID)
		}
	}
	now := t0.Add(181 * day)
	f := s.DeriveSurveys(now, 180*day)
	// Half-life 180 days: the first NPS is exactly one half-life older.
	wantDecayed := (4*0.5 + 8*1) / 1.5
	if got := f.DecayedMean(KindNPS); math.Abs(got-wantDecayed) > 1e-9 {
		t.Errorf("decayed NPS mean %v, want %v", got, wantDecayed)
	}
	if f.NPSClass() != Passive {
		t.Errorf("class %s, want passive (latest 8)", f.NPSClass())
	}
	if he, ok := f.HighEffort(); !he || !ok {
		t.Errorf("high effort %v %v, want true (CES 3)", he, ok)
	}
	if !math.IsNaN(f.DecayedMean(KindCSAT)) {
		t.Errorf("CSAT mean without a response must be NaN")
	}
	// The csat survey was sent after now: not counted yet.
	if f.Sent != 2 || f.Answered != 2 {
		t.Errorf("sent %d answered %d, want 2 2", f.Sent, f.Answered)
	}
	later := s.DeriveSurveys(t0.Add(300*day), 0)
	if later.Sent != 3 || later.Answered != 2 || math.Abs(later.ResponseRate()-2.0/3) > 1e-12 {
		t.Errorf("later: sent %d answered %d rate %v", later.Sent, later.Answered, later.ResponseRate())
	}
	// Before the first response: no NPS yet.
	if early := s.DeriveSurveys(t0.Add(time.Hour), 0); early.NPSClass() != NoNPS {
		t.Errorf("class before any response %s", early.NPSClass())
	}
	// Derive carries the same survey features.
	if g := s.Derive(now, 0); g.Surveys.NPSClass() != Passive || g.Surveys.Sent != 2 {
		t.Errorf("Derive surveys %+v", g.Surveys)
	}
	if s.LatestAt() != t0.Add(200*day).UnixMilli() {
		t.Errorf("LatestAt does not see the last survey")
	}
}

func TestSurveysBounded(t *testing.T) {
	var s State
	for i := 0; i < MaxSurveys+20; i++ {
		s.Apply(surveyEv(fmt.Sprint("e", i), "survey_responded", fmt.Sprint("S", i), "csat", t0.Add(time.Duration(i)*time.Hour), 1+i%5), 0)
	}
	if len(s.Surveys) != MaxSurveys {
		t.Fatalf("%d surveys kept, want %d", len(s.Surveys), MaxSurveys)
	}
	if s.Surveys[0].Responded != t0.Add(20*time.Hour).UnixMilli() {
		t.Errorf("the oldest surveys must leave first")
	}
	stateJSON(t, s)
}

// States encoded before the extension sections existed (the fixture was
// written by the release before them) still decode, and re-encode to the
// same bytes: a state without surveys encodes exactly as before.
func TestCodecDecodesEncodingsBeforeSections(t *testing.T) {
	f, err := os.Open("testdata/state_v1_before_sections.hex")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := mixStates(200, 11)
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	n := 0
	for ; sc.Scan(); n++ {
		b, err := hex.DecodeString(sc.Text())
		if err != nil {
			t.Fatal(err)
		}
		var s State
		if err := s.UnmarshalBinary(b); err != nil {
			t.Fatalf("state %d: %v", n, err)
		}
		if !equalState(s, want[n]) {
			t.Fatalf("state %d decodes differently from the state it was written from", n)
		}
		again, _ := s.MarshalBinary()
		if !bytes.Equal(again, b) {
			t.Fatalf("state %d re-encodes differently", n)
		}
	}
	if n == 0 {
		t.Fatal("empty fixture")
	}
}

func TestCodecSurveySection(t *testing.T) {
	var s State
	s.ID = "c-s"
	s.Apply(purchase("o1", 1, 10, 2500), 0.3)
	s.Apply(surveyEv("a", "survey_sent", "N1", "nps", t0.Add(3*time.Hour), 0), 0)
	e := surveyEv("b", "survey_responded", "N1", "nps", t0.Add(5*time.Hour+17*time.Millisecond), 0)
	e.CommentLength = 300
	s.Apply(e, 0)
	s.Apply(surveyEv("c", "survey_sent", "C1", "csat", t0.Add(7*time.Hour), 0), 0)
	b, err := s.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var back State
	if err := back.UnmarshalBinary(b); err != nil || !equalState(s, back) {
		t.Fatalf("round trip: %v\n%+v\n%+v", err, s, back)
	}
	// Without its survey section the same state is a valid older encoding.
	plain := s
	plain.Surveys = nil
	pb, _ := plain.MarshalBinary()
	if len(b) <= len(pb) || pb[1]&flagSections != 0 {
		t.Fatalf("survey section not announced or empty")
	}
	// An unknown section tag, a bad kind and truncations are malformed.
	bad := append([]byte(nil), pb...)
	bad[1] |= flagSections
	bad = append(bad, 1, 9, 0) // one section, tag 9, empty
	if err := back.UnmarshalBinary(bad); !errors.Is(err, ErrMalformed) {
		t.Errorf("unknown section: %v, want ErrMalformed", err)
	}
	for cut := len(pb); cut < len(b); cut++ {
		if err := back.UnmarshalBinary(b[:cut]); !errors.Is(err, ErrMalformed) {
			t.Fatalf("truncated at %d of %d: %v, want ErrMalformed", cut, len(b), err)
		}
	}
}

// TestCodecSizeWithSurveys prints what surveys add to the encoded state of
// the benchmark mix: each customer with one answered NPS survey (with a
// comment length) and one unanswered CSAT survey, a typical year of a
// survey programme.
func TestCodecSizeWithSurveys(t *testing.T) {
	sts, _ := mixCorpus(5000, 1)
	var before, after []int
	for i := range sts {
		s := &sts[i]
		b, _ := s.MarshalBinary()
		before = append(before, len(b))
		at := t0.Add(time.Duration(i%300) * 24 * time.Hour)
		s.Apply(surveyEv(fmt.Sprint(i, "-ns"), "survey_sent", fmt.Sprint("nps-", i), "nps", at, 0), 0)
		r := surveyEv(fmt.Sprint(i, "-nr"), "survey_responded", fmt.Sprint("nps-", i), "nps", at.Add(3*time.Hour), i%11)
		r.CommentLength = 80
		s.Apply(r, 0)
		s.Apply(surveyEv(fmt.Sprint(i, "-cs"), "survey_sent", fmt.Sprint("csat-", i), "csat", at.Add(40*24*time.Hour), 0), 0)
		b, err := s.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		after = append(after, len(b))
	}
	t.Logf("benchmark mix, %d customers: mean %.0f B without surveys, %.0f B with two surveys (+%.0f B); max %d B with MaxSurveys=%d full",
		len(sts), mean(before), mean(after), mean(after)-mean(before), maxSurveyBytes(t), MaxSurveys)
}

// maxSurveyBytes is the size of a full survey section.
func maxSurveyBytes(t *testing.T) int {
	var s State
	for i := 0; i < MaxSurveys; i++ {
		at := t0.Add(time.Duration(i) * 37 * 24 * time.Hour)
		s.Apply(surveyEv(fmt.Sprint("s", i), "survey_sent", fmt.Sprint("S", i), "nps", at, 0), 0)
		r := surveyEv(fmt.Sprint("r", i), "survey_responded", fmt.Sprint("S", i), "nps", at.Add(time.Hour), i%11)
		r.CommentLength = 500
		s.Apply(r, 0)
	}
	b, err := s.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return len(b)
}
