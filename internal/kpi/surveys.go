package kpi

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/clvstream/clvstream/internal/scoring"
	"github.com/clvstream/clvstream/pkg/customer"
)

// SurveyKPIs are the survey figures of a group of customers. Every
// customer counts once, with their latest score of each kind (their
// current opinion), so a customer surveyed every month weighs as much as
// one surveyed once:
//
//	nps           = 100 · (promoters − detractors) / NPS respondents   (−100..100)
//	csat, ces     = mean latest score of the customers with one
//	response_rate = Σ answered sent surveys / Σ sent surveys (kept surveys)
//
// A figure without respondents (or without sent surveys) is 0 with a
// count of 0.
type SurveyKPIs struct {
	// Respondents answered at least one survey.
	Respondents int `json:"respondents"`
	// NPS is the Net Promoter Score of the NPSRespondents.
	NPS            float64 `json:"nps"`
	NPSRespondents int     `json:"nps_respondents"`
	Promoters      int     `json:"promoters"`
	Passives       int     `json:"passives"`
	Detractors     int     `json:"detractors"`
	// CSAT is the mean latest CSAT score (1..5).
	CSAT            float64 `json:"csat"`
	CSATRespondents int     `json:"csat_respondents"`
	// CES is the mean latest CES score (1..7, CES 2.0: higher is less
	// effort); HighEffort counts the CES respondents at 1..3.
	CES            float64 `json:"ces"`
	CESRespondents int     `json:"ces_respondents"`
	HighEffort     int     `json:"high_effort"`
	// SurveysSent and SurveysAnswered count the surveys sent and, of
	// those, answered; ResponseRate is their ratio.
	SurveysSent     int     `json:"surveys_sent"`
	SurveysAnswered int     `json:"surveys_answered"`
	ResponseRate    float64 `json:"response_rate"`

	csatSum, cesSum float64
}

// SurveySnapshot is the survey KPIs of the population, per segment and per
// first-purchase-month cohort (the cohorts of Snapshot.Cohorts; customers
// who never bought are in no cohort).
type SurveySnapshot struct {
	SurveyKPIs
	BySegment map[string]*SurveyKPIs `json:"by_segment"`
	ByCohort  map[string]*SurveyKPIs `json:"by_cohort"`
}

// surveyAcc accumulates a SurveySnapshot.
type surveyAcc struct{ s SurveySnapshot }

func newSurveyAcc() *surveyAcc {
	return &surveyAcc{s: SurveySnapshot{BySegment: map[string]*SurveyKPIs{}, ByCohort: map[string]*SurveyKPIs{}}}
}

// add counts one scored customer; cohort is "" when they are in none.
func (a *surveyAcc) add(r *scoring.Result, cohort string) {
	f := &r.Features.Surveys
	if f.Sent == 0 && f.Responses == [3]int{} {
		return
	}
	groups := [3]*SurveyKPIs{&a.s.SurveyKPIs, group(a.s.BySegment, r.Segment), nil}
	if cohort != "" {
		groups[2] = group(a.s.ByCohort, cohort)
	}
	for _, g := range groups {
		if g != nil {
			g.add(f)
		}
	}
}

func group(m map[string]*SurveyKPIs, key string) *SurveyKPIs {
	g := m[key]
	if g == nil {
		g = &SurveyKPIs{}
		m[key] = g
	}
	return g
}

func (g *SurveyKPIs) add(f *customer.SurveyFeatures) {
	g.SurveysSent += f.Sent
	g.SurveysAnswered += f.Answered
	any := false
	if _, ok := f.Score(customer.KindNPS); ok {
		any = true
		g.NPSRespondents++
		switch f.NPSClass() {
		case customer.Promoter:
			g.Promoters++
		case customer.Passive:
			g.Passives++
		default:
			g.Detractors++
		}
	}
	if n, ok := f.Score(customer.KindCSAT); ok {
		any = true
		g.CSATRespondents++
		g.csatSum += float64(n)
	}
	if n, ok := f.Score(customer.KindCES); ok {
		any = true
		g.CESRespondents++
		g.cesSum += float64(n)
		if he, _ := f.HighEffort(); he {
			g.HighEffort++
		}
	}
	if any {
		g.Respondents++
	}
}

func (g *SurveyKPIs) finish() {
	if g.NPSRespondents > 0 {
		g.NPS = 100 * float64(g.Promoters-g.Detractors) / float64(g.NPSRespondents)
	}
	if g.CSATRespondents > 0 {
		g.CSAT = g.csatSum / float64(g.CSATRespondents)
	}
	if g.CESRespondents > 0 {
		g.CES = g.cesSum / float64(g.CESRespondents)
	}
	if g.SurveysSent > 0 {
		g.ResponseRate = float64(g.SurveysAnswered) / float64(g.SurveysSent)
	}
}

// finish computes the ratios and returns the snapshot.
func (a *surveyAcc) finish() SurveySnapshot {
	a.s.finish()
	for _, g := range a.s.BySegment {
		g.finish()
	}
	for _, g := range a.s.ByCohort {
		g.finish()
	}
	return a.s
}

// scale applies n to every count (a sampled snapshot's estimate for the
// population; the ratios are the sample's).
func (s *SurveySnapshot) scale(n func(*int)) {
	groups := []*SurveyKPIs{&s.SurveyKPIs}
	for _, g := range s.BySegment {
		groups = append(groups, g)
	}
	for _, g := range s.ByCohort {
		groups = append(groups, g)
	}
	for _, g := range groups {
		for _, v := range []*int{&g.Respondents, &g.NPSRespondents, &g.Promoters, &g.Passives, &g.Detractors,
			&g.CSATRespondents, &g.CESRespondents, &g.HighEffort, &g.SurveysSent, &g.SurveysAnswered} {
			n(v)
		}
	}
}

// surveyGauges export the survey KPIs.
type surveyGauges struct {
	nps, csat, ces, rate prometheus.Gauge
	npsBySegment         *prometheus.GaugeVec
}

func newSurveyGauges(reg prometheus.Registerer) *surveyGauges {
	g := func(name, help string) prometheus.Gauge {
		x := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
		reg.MustRegister(x)
		return x
	}
	v := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "clvstream_survey_nps_by_segment", Help: "Net Promoter Score (-100..100) of the customers of a segment who answered an NPS survey (latest KPI snapshot)."}, []string{"segment"})
	reg.MustRegister(v)
	return &surveyGauges{
		nps:          g("clvstream_survey_nps", "Net Promoter Score (-100..100): % promoters - % detractors among customers who answered an NPS survey, latest score each."),
		csat:         g("clvstream_survey_csat_average", "Mean latest CSAT survey score (1-5) of the customers who answered one."),
		ces:          g("clvstream_survey_ces_average", "Mean latest Customer Effort Score (1-7, CES 2.0: higher is less effort) of the customers who answered one."),
		rate:         g("clvstream_survey_response_ratio", "Surveys answered / surveys sent."),
		npsBySegment: v,
	}
}

func (g *surveyGauges) set(s *SurveySnapshot) {
	g.nps.Set(s.NPS)
	g.csat.Set(s.CSAT)
	g.ces.Set(s.CES)
	g.rate.Set(s.ResponseRate)
	g.npsBySegment.Reset()
	for seg, k := range s.BySegment {
		if k.NPSRespondents > 0 {
			g.npsBySegment.WithLabelValues(seg).Set(k.NPS)
		}
	}
}
