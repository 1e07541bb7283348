package kpi

import (
	"context"
	"math"
	"testing"

	"github.com/clvstream/clvstream/internal/scoring"
	"github.com/clvstream/clvstream/pkg/customer"
	"github.com/clvstream/clvstream/pkg/event"
	"github.com/clvstream/clvstream/pkg/segment"
)

func answer(st *customer.State, survey, kind string, daysBefore, score int, sent bool) {
	at := asOf.AddDate(0, 0, -daysBefore)
	if sent {
		st.Apply(event.Event{ID: survey + "-s", Type: event.SurveySent, CustomerID: st.ID, SurveyID: survey, SurveyKind: kind, OccurredAt: at.Add(-3600e9)}, 0)
	}
	if score >= 0 {
		st.Apply(event.Event{ID: survey + "-r", Type: event.SurveyResponded, CustomerID: st.ID, SurveyID: survey, SurveyKind: kind, Score: score, OccurredAt: at}, 0)
	}
}

// NPS = % promoters − % detractors over the customers' latest NPS scores;
// CSAT and CES are means of latest scores; the response rate is answered ÷
// sent surveys; all per segment and per cohort too.
func TestSurveyKPIs(t *testing.T) {
	a, b, c, d := buyer("a", 20), buyer("b", 40), buyer("c", 60), buyer("d", 10)
	answer(a, "a1", "nps", 50, 2, true)  // superseded by a's later response
	answer(a, "a2", "nps", 5, 10, true)  // promoter
	answer(b, "b1", "nps", 5, 8, true)   // passive
	answer(c, "c1", "nps", 5, 3, true)   // detractor
	answer(c, "c2", "csat", 4, 2, true)  // csat 2
	answer(d, "d1", "csat", 4, 5, false) // csat 5, never sent
	answer(d, "d2", "ces", 3, 2, true)   // ces 2: high effort
	answer(d, "d3", "nps", 2, -1, true)  // sent, unanswered
	prospect := &customer.State{ID: "p"}
	answer(prospect, "p1", "nps", 1, 9, true) // promoter without purchases: in no cohort
	sc, err := scoring.New(scoring.Config{}, segment.DefaultRuleSet())
	if err != nil {
		t.Fatal(err)
	}
	s, err := Compute(context.Background(), states{a, b, c, d, prospect}, sc, nil, asOf, Config{})
	if err != nil {
		t.Fatal(err)
	}
	p := s.Surveys.SurveyKPIs
	if p.NPSRespondents != 4 || p.Promoters != 2 || p.Passives != 1 || p.Detractors != 1 || p.NPS != 25 {
		t.Errorf("NPS %+v, want 4 respondents, 2 promoters, 1 passive, 1 detractor, NPS 25", p)
	}
	if p.CSATRespondents != 2 || p.CSAT != 3.5 || p.CESRespondents != 1 || p.CES != 2 || p.HighEffort != 1 {
		t.Errorf("CSAT/CES %+v", p)
	}
	// Sent: a1 a2 b1 c1 c2 d2 d3 p1 = 8; answered among them: all but d3 = 7.
	if p.SurveysSent != 8 || p.SurveysAnswered != 7 || math.Abs(p.ResponseRate-7.0/8) > 1e-12 || p.Respondents != 5 {
		t.Errorf("response rate %+v", p)
	}
	total := 0
	for _, g := range s.Surveys.BySegment {
		total += g.NPSRespondents
	}
	if total != 4 {
		t.Errorf("segments hold %d NPS respondents, want 4: %v", total, s.Surveys.BySegment)
	}
	month := asOf.AddDate(0, 0, -20).Format("2006-01")
	if g := s.Surveys.ByCohort[month]; g == nil || g.Promoters < 1 {
		t.Errorf("cohort %s: %+v", month, g)
	}
	cohortResp := 0
	for _, g := range s.Surveys.ByCohort {
		cohortResp += g.NPSRespondents
	}
	if cohortResp != 3 {
		t.Errorf("cohorts hold %d NPS respondents, want 3 (the prospect is in none)", cohortResp)
	}
}
