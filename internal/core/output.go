package core

import (
	"math"
	"slices"
	"sync"
	"time"

	"github.com/clvstream/clvstream/internal/model"
	"github.com/clvstream/clvstream/internal/scoring"
	"github.com/clvstream/clvstream/pkg/customer"
	"github.com/clvstream/clvstream/pkg/event"
	"github.com/clvstream/clvstream/pkg/segment"
)

// Scored is the outcome of scoring one customer.
type Scored struct {
	// Result is the scorer's result.
	Result scoring.Result
	// Write is set when the state changed and must be stored; Due is the
	// next due time (Unix ms, 0 for none).
	Write bool
	Due   int64
	// Outbox holds the records to publish: a segment change, a tier
	// change (not for a first tier) and the milestones crossed.
	Outbox         []OutboxRecord
	Changes        []Change
	SegmentChanged bool
}

// Score re-scores st as of now (or the customer's latest fact, if later)
// against rec. It bumps the state's version when the
// state must be written (always when facts changed, else when the segment,
// tier, scored net revenue or model version moved) and builds the records
// to publish with that version.
func (p *Processor) Score(st *customer.State, now time.Time, rec *model.Record, cause event.Cause, factsChanged bool) Scored {
	var out Scored
	p.scoreInto(&out, st, now, rec, cause, factsChanged)
	return out
}

// scoreInto is Score into out, whose Outbox and Changes slices it reuses.
func (p *Processor) scoreInto(out *Scored, st *customer.State, now time.Time, rec *model.Record, cause event.Cause, factsChanged bool) {
	if latest := st.LatestAt(); latest > now.UnixMilli() {
		now = time.UnixMilli(latest).UTC()
	}
	*out = Scored{Result: p.cfg.Scorer.Score(st, now, rec), Outbox: out.Outbox[:0], Changes: out.Changes[:0]}
	res := &out.Result
	if !res.NextDue.IsZero() && !st.Erased {
		out.Due = res.NextDue.UnixMilli()
	}
	var recVersion int64
	if rec != nil {
		recVersion = rec.Version
	}
	cfg := p.cfg.Scorer.Config()
	major := cfg.MinorPerMajor
	segChanged := res.Segment != st.Segment
	tierChanged := res.Tier != st.Tier
	out.Write = factsChanged || segChanged || tierChanged || st.ScoredNet != res.HistoricCLV || st.ModelVersion != recVersion
	if !out.Write {
		return
	}
	st.Version++
	currency := p.Currency
	if segChanged {
		fig := p.Figures(*res, rec)
		var prev *string
		if st.Segment != "" {
			prev = &st.Segment
		}
		sc := event.SegmentChange{
			EventID: event.SegmentChangeID(st.ID, st.Version), Type: event.SegmentChangeType, CustomerID: st.ID,
			Version: st.Version, PreviousSegment: prev, Segment: res.Segment, Cause: cause, OccurredAt: now,
			CLV: fig.CLV, ChurnRisk: fig.ChurnRisk, LoyaltyTier: res.Tier, ModelVersion: res.ModelVersion,
			Reason: fig.Reason,
		}
		js := appendExact(sc.AppendJSON)
		out.Changes = append(out.Changes, Change{From: st.Segment, To: res.Segment, Cause: cause})
		out.Outbox = append(out.Outbox, OutboxRecord{Key: st.ID, Value: js})
		out.SegmentChanged = true
		st.Segment, st.SegmentSince = res.Segment, now.UnixMilli()
	}
	if tierChanged {
		// A first tier is not a change; an erasure's drop to "none" is.
		if st.Tier != "" {
			tc := event.TierChange{
				EventID: event.TierChangeID(st.ID, st.Version), Type: event.TierChangeType, CustomerID: st.ID,
				Version: st.Version, PreviousTier: st.Tier, Tier: res.Tier, Cause: cause, OccurredAt: now,
				TrailingYearSpend: p.Money(res.Features.T12M), Currency: currency,
			}
			js := appendExact(tc.AppendJSON)
			out.Outbox = append(out.Outbox, OutboxRecord{Key: st.ID, Value: js})
			out.Changes = append(out.Changes, Change{Tier: [2]string{st.Tier, res.Tier}})
		}
		st.Tier = res.Tier
	}
	if !st.Erased {
		milestones := segment.CrossedMilestones(float64(st.ScoredNet)/major, float64(res.HistoricCLV)/major, cfg.Milestones)
		for _, m := range milestones {
			th := p.Money(int64(math.Round(m * major)))
			ms := event.Milestone{
				EventID: event.MilestoneID(st.ID, th, st.Version), Type: event.MilestoneType, CustomerID: st.ID, Version: st.Version,
				Threshold: th, CumulativeSpend: p.Money(res.HistoricCLV), Currency: currency, OccurredAt: now,
			}
			js := appendExact(ms.AppendJSON)
			out.Outbox = append(out.Outbox, OutboxRecord{Key: st.ID, Value: js})
		}
		if len(milestones) > 0 {
			out.Changes = append(out.Changes, Change{Milestones: len(milestones)})
		}
	}
	st.ScoredNet = res.HistoricCLV
	st.ModelVersion = recVersion
}

// jsonScratch are the buffers records are encoded in before they are
// copied to their exact size.
var jsonScratch = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// appendExact is what appendJSON writes, in a slice of exactly its size:
// the outbox keeps it.
func appendExact(appendJSON func([]byte) []byte) []byte {
	buf := jsonScratch.Get().(*[]byte)
	*buf = appendJSON((*buf)[:0])
	js := slices.Clone(*buf)
	jsonScratch.Put(buf)
	return js
}

// Figures are the published figures of one scoring, rounded and formatted
// exactly as the segment-changes topic and the query API show them.
type Figures struct {
	CLV       event.CLVFigures
	ChurnRisk event.ChurnRisk
	Reason    event.SegmentReason
	// CLVPercentile and ExpectedPurchases are nil while no model is
	// fitted.
	CLVPercentile     *float64
	ExpectedPurchases *float64
}

// modelOnly are the rule values that only exist under a fitted model; they
// are left out of a reason (rather than shown as 0) while there is none.
var modelOnly = map[string]bool{"clv_percentile": true, "rfm": true, "r": true, "f": true, "m": true}

// Format formats published figures: money in the base currency with its
// number of decimals.
type Format struct {
	Digits   int
	Currency string
}

// NewFormat returns the format of a base currency with minorPerMajor minor
// units per major unit.
func NewFormat(minorPerMajor float64, currency string) Format {
	return Format{Digits: exponent(minorPerMajor), Currency: currency}
}

// Figures builds the published figures of res under rec.
func (p Format) Figures(res scoring.Result, rec *model.Record) Figures {
	fitted := rec.Fitted()
	f := Figures{
		CLV: event.CLVFigures{Historic: p.Money(res.HistoricCLV), HistoricMargin: p.Money(res.HistoricMargin),
			Predicted: p.Money(roundMinor(res.PredictedCLV)), Currency: p.Currency},
		ChurnRisk: event.ChurnRisk{Probability: Round4(res.ChurnRisk), Level: res.ChurnLevel, Factors: []event.ChurnFactor{}},
		Reason:    event.SegmentReason{Rule: res.Reason.Rule, Values: map[string]float64{}},
	}
	for _, fc := range res.Factors {
		f.ChurnRisk.Factors = append(f.ChurnRisk.Factors, event.ChurnFactor{Name: fc.Name, Contribution: Round4(fc.Contribution), Value: Round4(fc.Value)})
	}
	for k, v := range res.Reason.Values {
		if !fitted && modelOnly[k] {
			continue
		}
		f.Reason.Values[k] = Round4(v)
	}
	if fitted {
		f.CLVPercentile = ptr(Round4(res.CLVPercentile))
		f.ExpectedPurchases = ptr(Round4(res.ExpectedPurchases))
	}
	return f
}

// Money formats an amount in minor units of the base currency.
func (p Format) Money(minor int64) string { return event.FormatMinor(minor, p.Digits) }

// Round4 rounds to 4 decimals (half away from zero); NaN and ±Inf become 0
// so no non-finite number is ever published.
func Round4(x float64) float64 {
	v := math.Round(x*1e4) / 1e4
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}

// roundMinor rounds a float amount of minor units, saturating instead of
// wrapping and mapping NaN to 0.
func roundMinor(v float64) int64 {
	switch {
	case math.IsNaN(v):
		return 0
	case v >= math.MaxInt64:
		return math.MaxInt64
	case v <= math.MinInt64:
		return math.MinInt64
	}
	return int64(math.Round(v))
}

func ptr[T any](v T) *T { return &v }
