package event

import (
	"fmt"
	"time"
)

// SegmentChangeType is the "type" of a segment-change record.
const SegmentChangeType = "segment_changed"

// Cause says what made a customer change segment.
type Cause string

// The causes of a segment change.
const (
	// CauseEvent: an input event for the customer.
	CauseEvent Cause = "event"
	// CauseScheduled: time passed (the customer was due for re-scoring).
	CauseScheduled Cause = "scheduled"
	// CauseModel: a new model version re-scored the customer.
	CauseModel Cause = "model"
	// CauseErasure: the customer was erased.
	CauseErasure Cause = "erasure"
)

// SegmentChange is the record published on the segment-changes topic, keyed
// by customer id, whenever a customer moves between segments.
// PreviousSegment is null for a customer's first segment. EventID is
// deterministic (customer id and state version), so a consumer drops
// duplicates by keeping the highest Version per customer. Money is a decimal
// string in the base currency.
type SegmentChange struct {
	EventID         string        `json:"event_id"`
	Type            string        `json:"type"`
	CustomerID      string        `json:"customer_id"`
	Version         uint64        `json:"version"`
	PreviousSegment *string       `json:"previous_segment"`
	Segment         string        `json:"segment"`
	Cause           Cause         `json:"cause"`
	OccurredAt      time.Time     `json:"occurred_at"`
	CLV             CLVFigures    `json:"clv"`
	ChurnRisk       ChurnRisk     `json:"churn_risk"`
	LoyaltyTier     string        `json:"loyalty_tier"`
	ModelVersion    string        `json:"model_version"`
	Reason          SegmentReason `json:"reason"`
}

// CLVFigures are the lifetime values carried by a segment change.
type CLVFigures struct {
	// Historic is net revenue (purchases minus refunds).
	Historic string `json:"historic"`
	// HistoricMargin is net gross margin.
	HistoricMargin string `json:"historic_margin"`
	// Predicted is the forward-looking CLV of the current model.
	Predicted string `json:"predicted"`
	// Currency is the base currency of the three figures.
	Currency string `json:"currency"`
}

// ChurnRisk is a churn probability, its level (low, medium, high) and every
// factor that contributed to it, largest upward contribution first (the
// same list the query API shows).
type ChurnRisk struct {
	Probability float64       `json:"probability"`
	Level       string        `json:"level"`
	Factors     []ChurnFactor `json:"factors"`
}

// ChurnFactor is one churn signal: its value and its contribution to the
// churn probability in log-odds.
type ChurnFactor struct {
	Name         string  `json:"name"`
	Contribution float64 `json:"contribution"`
	Value        float64 `json:"value"`
}

// SegmentReason is the rule that decided the new segment and the values it
// looked at.
type SegmentReason struct {
	Rule   string             `json:"rule"`
	Values map[string]float64 `json:"values"`
}

// SegmentChangeID returns the deterministic event id of the change that
// brought customerID to state version.
func SegmentChangeID(customerID string, version uint64) string {
	return fmt.Sprintf("%s/v%d", customerID, version)
}

// The types of the other records on the segment-changes topic. Consumers
// that only want segment changes filter on Type.
const (
	// TierChangeType is a loyalty-tier change (TierChange).
	TierChangeType = "tier_changed"
	// MilestoneType is a cumulative-spend milestone (Milestone).
	MilestoneType = "milestone_reached"
)

// TierChange is published when a customer's loyalty tier changes, keyed by
// customer id, at least once, with a deterministic EventID.
type TierChange struct {
	EventID      string    `json:"event_id"`
	Type         string    `json:"type"`
	CustomerID   string    `json:"customer_id"`
	Version      uint64    `json:"version"`
	PreviousTier string    `json:"previous_tier"`
	Tier         string    `json:"tier"`
	Cause        Cause     `json:"cause"`
	OccurredAt   time.Time `json:"occurred_at"`
	// TrailingYearSpend is the gross spend of the last 365 days that
	// decided the tier, a decimal string in Currency.
	TrailingYearSpend string `json:"trailing_year_spend"`
	Currency          string `json:"currency"`
}

// Milestone is published when a customer's cumulative net spend crosses a
// configured threshold upward, keyed by customer id, at least once, with a
// deterministic EventID (customer, state version and threshold: a threshold
// crossed again after a refund took spend below it is a new milestone).
type Milestone struct {
	EventID         string    `json:"event_id"`
	Type            string    `json:"type"`
	CustomerID      string    `json:"customer_id"`
	Version         uint64    `json:"version"`
	Threshold       string    `json:"threshold"`
	CumulativeSpend string    `json:"cumulative_spend"`
	Currency        string    `json:"currency"`
	OccurredAt      time.Time `json:"occurred_at"`
}

// TierChangeID is the deterministic id of the tier change at a version.
func TierChangeID(customerID string, version uint64) string {
	return fmt.Sprintf("%s/v%d/tier", customerID, version)
}

// MilestoneID is the deterministic id of the milestone threshold reached
// by a customer at a state version; each id names exactly one body.
func MilestoneID(customerID, threshold string, version uint64) string {
	return fmt.Sprintf("%s/v%d/milestone/%s", customerID, version, threshold)
}

// From is the previous segment, "" for a customer's first segment.
func (c SegmentChange) From() string {
	if c.PreviousSegment == nil {
		return ""
	}
	return *c.PreviousSegment
}
