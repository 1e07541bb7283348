package query

import (
	"time"

	"github.com/clvstream/clvstream/pkg/customer"
)

// Surveys is the customer's survey feedback: per kind the latest score and
// the time-decayed mean (null without a response of the kind), the NPS
// class, and the response rate of the kept surveys.
type Surveys struct {
	NPS  SurveyScore `json:"nps"`
	CSAT SurveyScore `json:"csat"`
	CES  SurveyScore `json:"ces"`
	// NPSClass is promoter, passive, detractor or none; HighEffort is a
	// latest CES of 1..3 (CES 2.0 agreement scale).
	NPSClass   string `json:"nps_class"`
	HighEffort bool   `json:"high_effort"`
	// Sent and Answered count the kept surveys sent and answered;
	// ResponseRate is their ratio, null when none was sent.
	Sent         int      `json:"sent"`
	Answered     int      `json:"answered"`
	ResponseRate *float64 `json:"response_rate"`
	HalfLifeDays float64  `json:"half_life_days"`
}

// SurveyScore is one kind's figures; the fields are null without a
// response of the kind.
type SurveyScore struct {
	Latest      *int       `json:"latest"`
	LatestAt    *time.Time `json:"latest_at"`
	DecayedMean *float64   `json:"decayed_mean"`
	Responses   int        `json:"responses"`
}

func surveysView(f *customer.SurveyFeatures, halfLife time.Duration) Surveys {
	score := func(k customer.SurveyKind) SurveyScore {
		v := SurveyScore{Responses: f.Responses[k-1]}
		if n, ok := f.Score(k); ok {
			at := time.UnixMilli(f.LatestAt[k-1]).UTC()
			v.Latest, v.LatestAt, v.DecayedMean = ptr(n), &at, ptr(round4(f.DecayedMean(k)))
		}
		return v
	}
	he, _ := f.HighEffort()
	v := Surveys{NPS: score(customer.KindNPS), CSAT: score(customer.KindCSAT), CES: score(customer.KindCES),
		NPSClass: f.NPSClass(), HighEffort: he, Sent: f.Sent, Answered: f.Answered, HalfLifeDays: halfLife.Hours() / 24}
	if f.Sent > 0 {
		v.ResponseRate = ptr(round4(f.ResponseRate()))
	}
	return v
}
