package customer

import (
	"math"
	"slices"
	"time"

	"github.com/clvstream/clvstream/pkg/event"
)

// MaxSurveys is the number of most recent surveys kept per customer (sends
// and responses together, by survey id). 50 surveys is years of a
// customer's feedback at any sensible survey cadence (a few a year), and
// the response rate and decayed scores are dominated by the recent ones.
const MaxSurveys = 50

// DefaultSurveyHalfLife is the half-life of the time-decayed mean survey
// scores when none is configured: 180 days, so a score keeps half its
// weight for about two survey cycles of a quarterly programme.
const DefaultSurveyHalfLife = 180 * 24 * time.Hour

// SurveyKind is the kind of a survey, as stored.
type SurveyKind uint8

// The survey kinds; KindNone only for an unset value.
const (
	KindNone SurveyKind = iota
	KindNPS
	KindCSAT
	KindCES
)

// surveyKinds is the number of kinds (the length of the per-kind arrays).
const surveyKinds = 3

// KindOf maps an event's survey kind string to a SurveyKind.
func KindOf(kind string) SurveyKind {
	switch kind {
	case event.SurveyNPS:
		return KindNPS
	case event.SurveyCSAT:
		return KindCSAT
	case event.SurveyCES:
		return KindCES
	}
	return KindNone
}

// String is the kind's name in events ("nps", "csat", "ces").
func (k SurveyKind) String() string {
	switch k {
	case KindNPS:
		return event.SurveyNPS
	case KindCSAT:
		return event.SurveyCSAT
	case KindCES:
		return event.SurveyCES
	}
	return "none"
}

// Survey is one survey of the customer (hash of its survey_id): the
// earliest send and the kept response. Of several responses to the same
// survey the latest wins (occurred_at, then the event id hash, then kind,
// score and comment length, so equal times never depend on arrival order);
// Kind is the kept response's kind, or the earliest send's while there is
// no response. Times are Unix ms, 0 when not seen.
type Survey struct {
	ID        uint64
	Kind      SurveyKind
	Sent      int64
	Responded int64
	// Event is the hash of the kept response's event id.
	Event uint64
	// Score is the kept response's score (0..10 for NPS); CommentLength
	// its comment length in characters.
	Score         int8
	CommentLength uint32
}

// key is the earliest known time of the survey.
func (v *Survey) key() int64 {
	switch {
	case v.Sent == 0:
		return v.Responded
	case v.Responded == 0 || v.Sent < v.Responded:
		return v.Sent
	}
	return v.Responded
}

// laterResponse reports whether response b wins over the kept response of
// a (a total order on the response's fields).
func laterResponse(a *Survey, b *Survey) bool {
	switch {
	case b.Responded != a.Responded:
		return b.Responded > a.Responded
	case b.Event != a.Event:
		return b.Event > a.Event
	case b.Kind != a.Kind:
		return b.Kind > a.Kind
	case b.Score != a.Score:
		return b.Score > a.Score
	}
	return b.CommentLength > a.CommentLength
}

// addSurvey applies a survey_sent or survey_responded event; false when it
// changed nothing (a duplicate, or an earlier response than the kept one).
func (s *State) addSurvey(e event.Event, at int64) bool {
	kind := KindOf(e.SurveyKind)
	if kind == KindNone {
		return false
	}
	id := HashID(e.SurveyID)
	idx := slices.IndexFunc(s.Surveys, func(v Survey) bool { return v.ID == id })
	if idx < 0 {
		s.Surveys = append(s.Surveys, Survey{ID: id})
		idx = len(s.Surveys) - 1
	}
	v := &s.Surveys[idx]
	changed := false
	if e.Type == event.SurveySent {
		switch {
		case v.Responded != 0:
			// The response's kind decides; only the send time matters.
			if v.Sent == 0 || at < v.Sent {
				v.Sent, changed = at, true
			}
		case v.Sent == 0 || at < v.Sent || (at == v.Sent && kind < v.Kind):
			v.Sent, v.Kind, changed = at, kind, true
		}
	} else {
		r := Survey{Kind: kind, Responded: at, Event: HashID(e.ID), Score: int8(e.Score), CommentLength: uint32(e.CommentLength)}
		if v.Responded == 0 || laterResponse(v, &r) {
			v.Kind, v.Responded, v.Event, v.Score, v.CommentLength = r.Kind, r.Responded, r.Event, r.Score, r.CommentLength
			changed = true
		}
	}
	if !changed {
		return false
	}
	s.sortSurveys()
	trim(&s.Surveys, MaxSurveys)
	return true
}

// sortSurveys sorts surveys by (earliest time, id).
func (s *State) sortSurveys() {
	slices.SortFunc(s.Surveys, func(a, b Survey) int {
		if c := cmpInt(a.key(), b.key()); c != 0 {
			return c
		}
		return cmpUint(a.ID, b.ID)
	})
}

// SurveyFeatures are the survey figures of a customer as of an instant;
// only sends and responses at or before it count. The per-kind arrays are
// indexed by kind − 1 (NPS, CSAT, CES): use the accessors.
type SurveyFeatures struct {
	// Has says whether a response of the kind was given; Latest is the
	// score of the latest one (by occurred_at, then event id hash),
	// LatestAt its time (Unix ms).
	Has      [surveyKinds]bool
	Latest   [surveyKinds]int
	LatestAt [surveyKinds]int64
	// Decayed is the exponentially time-decayed mean score of the kind's
	// responses (each weighted 2^(−age/half-life)); Responses counts them.
	Decayed   [surveyKinds]float64
	Responses [surveyKinds]int
	// Sent is the number of kept surveys sent; Answered how many of those
	// have a response.
	Sent, Answered int
}

// Score returns the latest score of kind k and whether there is one.
func (f *SurveyFeatures) Score(k SurveyKind) (int, bool) {
	if k == KindNone || k > KindCES {
		return 0, false
	}
	return f.Latest[k-1], f.Has[k-1]
}

// DecayedMean returns the time-decayed mean score of kind k, NaN without a
// response of that kind.
func (f *SurveyFeatures) DecayedMean(k SurveyKind) float64 {
	if k == KindNone || k > KindCES || !f.Has[k-1] {
		return math.NaN()
	}
	return f.Decayed[k-1]
}

// NPS classes.
const (
	Promoter  = "promoter"
	Passive   = "passive"
	Detractor = "detractor"
	// NoNPS is the class of a customer without an NPS response.
	NoNPS = "none"
)

// NPSClass returns the class of the latest NPS score: promoter (9-10),
// passive (7-8), detractor (0-6), or NoNPS.
func (f *SurveyFeatures) NPSClass() string {
	n, ok := f.Score(KindNPS)
	switch {
	case !ok:
		return NoNPS
	case n >= 9:
		return Promoter
	case n >= 7:
		return Passive
	}
	return Detractor
}

// HighEffortMax is the largest CES score (CES 2.0 agreement scale, 1-7)
// that counts as high effort: 1-3 disagree that it was easy.
const HighEffortMax = 3

// HighEffort reports whether the latest CES response says the customer had
// to make a high effort (score ≤ HighEffortMax), and whether there is one.
func (f *SurveyFeatures) HighEffort() (bool, bool) {
	n, ok := f.Score(KindCES)
	return ok && n <= HighEffortMax, ok
}

// ResponseRate is Answered ÷ Sent, NaN when no survey was sent.
func (f *SurveyFeatures) ResponseRate() float64 {
	if f.Sent == 0 {
		return math.NaN()
	}
	return float64(f.Answered) / float64(f.Sent)
}

// DeriveSurveys computes the survey features as of now with the given
// half-life of the decayed means (DefaultSurveyHalfLife when ≤ 0).
func (s *State) DeriveSurveys(now time.Time, halfLife time.Duration) SurveyFeatures {
	var f SurveyFeatures
	s.deriveSurveys(&f, now.UnixMilli(), halfLife)
	return f
}

func (s *State) deriveSurveys(f *SurveyFeatures, nowMs int64, halfLife time.Duration) {
	if len(s.Surveys) == 0 {
		return
	}
	if halfLife <= 0 {
		halfLife = DefaultSurveyHalfLife
	}
	lambda := math.Ln2 / float64(halfLife.Milliseconds())
	var wsum [surveyKinds]float64
	var latestEv [surveyKinds]uint64
	for i := range s.Surveys {
		v := &s.Surveys[i]
		sent := v.Sent != 0 && v.Sent <= nowMs
		answered := v.Responded != 0 && v.Responded <= nowMs
		if sent {
			f.Sent++
			if answered {
				f.Answered++
			}
		}
		if !answered || v.Kind == KindNone {
			continue
		}
		k := v.Kind - 1
		w := math.Exp(-lambda * float64(nowMs-v.Responded))
		f.Decayed[k] += w * float64(v.Score)
		wsum[k] += w
		f.Responses[k]++
		if !f.Has[k] || v.Responded > f.LatestAt[k] || (v.Responded == f.LatestAt[k] && v.Event > latestEv[k]) {
			f.Has[k], f.Latest[k], f.LatestAt[k], latestEv[k] = true, int(v.Score), v.Responded, v.Event
		}
	}
	for k := range f.Decayed {
		switch {
		case wsum[k] > 0:
			f.Decayed[k] /= wsum[k]
		case f.Has[k]:
			// Every weight underflowed (responses centuries old): the
			// plain mean is the limit.
			f.Decayed[k] = float64(f.Latest[k])
		}
	}
}
